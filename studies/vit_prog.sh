#!/usr/bin/env bash
# Study of progressive ViT pre-training on Fashion-MNIST, a benchmark, not a test; every arm
# trains the same epochs. Arms:
#   original                         the full model throughout
#   randinit stacking interpolation identity mogrow
#                                    Prog under that growth operator (§3.1, Table 9)
#   autoprog autoprog-0.4            AutoProg-One, growth space 0.5Ω / 0.4Ω (§3.2, Tables 3/10)
#   autoprog-interpolation           AutoProg-One without MoGrow (Table 11)
#   autoprog-norecycle               AutoProg-One without weight recycling (Table 11)
#   supernet                         the supernet-only baseline (Table 20)
#   manual:SPEC                      Prog + MoGrow on a manual schedule, SPEC as vit_pretrain.lua's
#                                    --manual (e.g. manual:4x4,5x5,6x7,7x8:2, a last stage twice as long);
#                                    its runs go to the arm directory manual-SPEC, with , as _ and : as +
#                                    (the table names the arm by the spec its run recorded)
# Prints a markdown table: training wall-clock, speedup over Original, top-1 at 28 px and
# 36 px, top-1 right after the first growth, the schedule trained (searched, for AutoProg),
# the average FLOPs per step relative to Original (theoretical speedup, Table 15), the time
# spent measuring candidates, and the measured step time per stage.
#
#   studies/vit_prog.sh                               # vit-micro, 30 epochs, all 60k images
#   studies/vit_prog.sh --model=vit-micro --epochs=30 --train_subset=6000 --arms="original mogrow"
#   studies/vit_prog.sh --arms="original mogrow autoprog autoprog-0.4 autoprog-interpolation autoprog-norecycle supernet"
#   studies/vit_prog.sh --epochs=5 --search_steps=80 --arms="original mogrow autoprog"
#                                    # all 60k images seen 5 times: each search trains its supernet
#                                    # 80 steps, not 2 epochs (each would be 40% of this run)
#
# Needs a release build (swift build -c release). Runs go to studies/runs/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
model=vit-micro epochs=30 train_subset=0 monitor_subset=1000 seed=0 search_steps=0
arms="original randinit stacking interpolation identity mogrow"
for a in "$@"; do
  case $a in
    --model=*) model=${a#*=} ;; --epochs=*) epochs=${a#*=} ;; --train_subset=*) train_subset=${a#*=} ;;
    --monitor_subset=*) monitor_subset=${a#*=} ;; --seed=*) seed=${a#*=} ;; --arms=*) arms=${a#*=} ;;
    --search_steps=*) search_steps=${a#*=} ;;
    *) echo "unknown option $a (--model --epochs --train_subset --monitor_subset --seed --search_steps --arms)" >&2; exit 2 ;;
  esac
done
# AUTOPROG_RUN: a copy of the binary, so rebuilding during a long study changes nothing.
bin=${AUTOPROG_RUN:-$(swift build -c release --show-bin-path)/autoprog-run}
[ -x "$bin" ] || { echo "build first: swift build -c release" >&2; exit 1; }
. studies/study_start.sh
start_study vit_prog "$model, $epochs epochs, train_subset=$train_subset, search_steps=$search_steps, seed=$seed"
dirs=()
for arm in $arms; do
  dir=$arm
  case $arm in
    original) schedule=(--schedule=original) ;;
    randinit|stacking|interpolation|identity|mogrow) schedule=(--schedule=prog "--operator=$arm") ;;
    autoprog) schedule=(--schedule=autoprog) ;;
    autoprog-0.4) schedule=(--schedule=autoprog --space=0.4) ;;
    autoprog-interpolation) schedule=(--schedule=autoprog --operator=interpolation) ;;
    autoprog-norecycle) schedule=(--schedule=autoprog --recycle=false) ;;
    supernet) schedule=(--schedule=supernet) ;;
    manual:*) schedule=(--schedule=manual "--manual=${arm#manual:}" --operator=mogrow); dir=$(echo "manual-${arm#manual:}" | tr ',:' '_+') ;;
    *) echo "unknown arm $arm" >&2; exit 2 ;;
  esac
  echo "== $arm" >&2
  "$bin" "$root/scripts/vit_pretrain.lua" "${schedule[@]}" "--model=$model" "--epochs=$epochs" "--seed=$seed" \
    "--train_subset=$train_subset" "--monitor_subset=$monitor_subset" "--search_steps=$search_steps" --runs "$root/$dir" | tee "$root/$dir.log" >&2
  dirs+=("$dir")
done
python3 studies/tabulate_vit_prog.py "$root" "${dirs[@]}" | tee "$root/table.md"
