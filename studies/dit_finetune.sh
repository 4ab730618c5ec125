#!/usr/bin/env bash
# Study of DiT fine-tuning (AutoProg §4, Tables 6/12), a benchmark, not a test: the base DiT
# (scripts/dit_pretrain.lua, source classes 1-5) fine-tuned on the target classes 6-10 (or,
# with --data=emoji and an emoji --base, the target emoji categories) by
# every method for the same number of steps. Arms:
#   full bitfit difffit lora                   the baselines
#   prog autoprog-one autoprog-zero            progressive (SID on, interleaved unfreezing)
#   autoprog-zero-nosid                        AutoProg-Zero without stage identifiers
#   autoprog-zero-output-first / -input-first  the unfreezing-order ablation
#   autoprog-zero-output-first-nosid           the SID ablation in output-first order
#   ARM+shift                                  ARM with --shift=true (the resolution shift)
# Prints a markdown table (FID and class accuracy of the final EMA model's samples, training
# time relative to full fine-tuning, the schedule trained) and writes fid_vs_runtime.png.
#
#   studies/dit_finetune.sh --steps=2000 --seed=0
#   studies/dit_finetune.sh --arms="full autoprog-zero autoprog-zero-nosid" --steps=500
#
# Needs a release build and the base model. Runs go to studies/runs/ (not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=2000 seed=0 base=models/dit-s4-fmnist-source-v1.safetensors extra=()
arms="full bitfit difffit lora prog autoprog-one autoprog-zero autoprog-zero-nosid autoprog-zero-output-first autoprog-zero-input-first"
for a in "$@"; do
  case $a in
    --steps=*) steps=${a#*=} ;; --seed=*) seed=${a#*=} ;; --arms=*) arms=${a#*=} ;; --base=*) base=${a#*=} ;;
    --*=*) extra+=("$a") ;;   # passed to every run (e.g. --fid_per_class=100)
    *) echo "unknown option $a (--steps --seed --arms --base, or recipe options)" >&2; exit 2 ;;
  esac
done
bin=${AUTOPROG_RUN:-$(swift build -c release --show-bin-path)/autoprog-run}
[ -x "$bin" ] || { echo "build first: swift build -c release" >&2; exit 1; }
[ -f "$base" ] || { echo "no base model at $base: autoprog-run scripts/dit_pretrain.lua makes it" >&2; exit 1; }
. studies/study_start.sh
start_study dit_finetune "$steps steps, seed=$seed, base $base"
for arm in $arms; do
  method=${arm%+shift} shift_args=()
  [ "$method" = "$arm" ] || shift_args=(--shift=true)
  case $method in
    full|bitfit|difffit|lora|prog|autoprog-one|autoprog-zero) args=("--method=$method") ;;
    autoprog-zero-nosid) args=(--method=autoprog-zero --sid=false) ;;
    autoprog-zero-output-first) args=(--method=autoprog-zero --order=output-first) ;;
    autoprog-zero-output-first-nosid) args=(--method=autoprog-zero --order=output-first --sid=false) ;;
    autoprog-zero-input-first) args=(--method=autoprog-zero --order=input-first) ;;
    *) echo "unknown arm $arm" >&2; exit 2 ;;
  esac
  echo "== $arm" >&2
  "$bin" "$root/scripts/dit_finetune.lua" "${args[@]}" "${shift_args[@]}" "--base=$base" "--steps=$steps" "--seed=$seed" "${extra[@]}" \
    --runs "$root/$arm" | tee "$root/$arm.log" >&2
done
# Debian's python3 (where apt's python3-matplotlib goes) before any other on PATH.
python=$([ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
"$python" studies/tabulate_dit_finetune.py "$root" $arms | tee "$root/table.md"
