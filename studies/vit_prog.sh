#!/usr/bin/env bash
# Study for manual progressive pre-training (AutoProg §3.1, Table 9), a benchmark, not a test:
# Original vs Prog on Fashion-MNIST with the same epochs, and Prog under every growth
# operator (RandInit, Stacking, Interpolation, Identity, MoGrow). Prints a markdown table:
# training wall-clock, speedup over Original, top-1 at 28 px and at 36 px, and top-1
# right after the first growth.
#
#   studies/vit_prog.sh                               # vit-micro, 30 epochs, all 60k images
#   studies/vit_prog.sh --model=vit-micro --epochs=30 --train_subset=6000 --arms="original mogrow"
#
# Needs a release build (swift build -c release). Runs go to studies/runs/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
model=vit-micro epochs=30 train_subset=0 monitor_subset=1000 seed=0
arms="original randinit stacking interpolation identity mogrow"
for a in "$@"; do
  case $a in
    --model=*) model=${a#*=} ;; --epochs=*) epochs=${a#*=} ;; --train_subset=*) train_subset=${a#*=} ;;
    --monitor_subset=*) monitor_subset=${a#*=} ;; --seed=*) seed=${a#*=} ;; --arms=*) arms=${a#*=} ;;
    *) echo "unknown option $a (--model --epochs --train_subset --monitor_subset --seed --arms)" >&2; exit 2 ;;
  esac
done
# AUTOPROG_RUN: a copy of the binary, so rebuilding during a long study changes nothing.
bin=${AUTOPROG_RUN:-$(swift build -c release --show-bin-path)/autoprog-run}
[ -x "$bin" ] || { echo "build first: swift build -c release" >&2; exit 1; }
root=studies/runs/vit_prog-$(date +%Y%m%d-%H%M%S)
mkdir -p "$root"
echo "study in $root: $model, $epochs epochs, train_subset=$train_subset, seed=$seed, $(git rev-parse --short HEAD)" >&2
for arm in $arms; do
  if [ "$arm" = original ]; then schedule=(--schedule=original); else schedule=(--schedule=prog "--operator=$arm"); fi
  echo "== $arm" >&2
  "$bin" scripts/vit_pretrain.lua "${schedule[@]}" "--model=$model" "--epochs=$epochs" "--seed=$seed" \
    "--train_subset=$train_subset" "--monitor_subset=$monitor_subset" --runs "$root/$arm" | tee "$root/$arm.log" >&2
done
python3 studies/tabulate_vit_prog.py "$root" $arms | tee "$root/table.md"
