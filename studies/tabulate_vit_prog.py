#!/usr/bin/env python3
"""Tabulates a studies/vit_prog.sh directory: one row per arm from each run's metrics.jsonl
(final results logged by scripts/vit_pretrain.lua, the evaluation right after the first
growth, the stages trained, each stage's measured step time, the searches' measuring time).

    studies/tabulate_vit_prog.py studies/runs/vit_prog-<time> original mogrow autoprog ..."""
import json, pathlib, sys

NAMES = {"original": "Original", "autoprog": "AutoProg-One 0.5Ω", "autoprog-0.4": "AutoProg-One 0.4Ω",
         "autoprog-interpolation": "AutoProg-One w/o MoGrow", "autoprog-norecycle": "AutoProg-One w/o recycling",
         "supernet": "Supernet only"}

def latest_run(root, arm):
    runs = sorted((root / arm).glob("*/metrics.jsonl"))
    return runs[-1].parent if runs else None

def records(root, arm):
    run = latest_run(root, arm)
    if run is None:
        return None
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]

def arm_name(root, arm):
    """The arm's row name; a manual schedule is named by the spec its run recorded."""
    if arm in NAMES:
        return NAMES[arm]
    options = json.loads((latest_run(root, arm) / "config.json").read_text()).get("options", {})
    if options.get("schedule") == "manual":
        return f"Prog + {options['operator']}, manual {options['manual']}"
    return f"Prog + {arm}"

def flops_per_step(r, total):
    """Average forward GFLOPs per image over the run's steps: each trained stage's FLOPs for
    its steps; a search's (or the supernet-only run's) steps at the sub-network each ran."""
    per_step = [None] * total
    candidate_flops, current = {}, None
    for x in r:
        if x.get("event") == "stage_start":
            if x.get("search"):
                candidate_flops = dict(zip(x["candidates"], x.get("candidate_gflops_per_image", [])))
                current = None
            else:
                current = x["gflops_per_image"]
        elif "loss" in x and "step" in x and 1 <= x["step"] <= total:
            sub = x.get("sub_network")
            per_step[x["step"] - 1] = candidate_flops.get(sub) if sub else current
    known = [f for f in per_step if f is not None]
    return sum(known) / len(known) if known else None

def schedule(r):
    stages, seen = [], set()
    for x in r:
        if x.get("event") == "stage_start" and not x.get("search") and x["stage"] not in seen:
            seen.add(x["stage"])
            stages.append(f'{x["grid"]}x{x["depth"]}')
    return "→".join(stages) if len(stages) > 1 else (stages[0] if stages else "full")

root, arms = pathlib.Path(sys.argv[1]), sys.argv[2:]
rows, base_seconds, base_flops = [], None, None
for arm in arms:
    r = records(root, arm)
    if r is None:
        print(f"(no run for {arm})", file=sys.stderr)
        continue
    final = next((x for x in reversed(r) if "final_top1" in x), None)
    if final is None:
        print(f"(run for {arm} did not finish)", file=sys.stderr)
        continue
    total = max(x["step"] for x in r if "loss" in x)
    starts = [x["step"] for x in r if x.get("event") == "stage_start" and not x.get("search")]
    after_growth = next((x["eval_top1"] for x in r if len(starts) > 1 and x["step"] == starts[1] and "eval_top1" in x), None)
    step_ms = [x["stage_step_ms"] for x in r if x.get("event") == "stage_step_time"]
    measuring = sum(x["measure_seconds"] for x in r if x.get("event") == "search_result")
    seconds = final["train_seconds"]
    flops = flops_per_step(r, total)
    if arm == "original":
        base_seconds, base_flops = seconds, flops
    rows.append((arm, seconds, final["final_top1"], final["final_top1_larger"], int(final["larger_size"]),
                 after_growth, schedule(r), flops, measuring, step_ms))

# Original logs no stages: its FLOPs are those of every other arm's last stage, the full model.
if base_flops is None:
    for arm in arms:
        full = [x["gflops_per_image"] for x in records(root, arm) or [] if x.get("event") == "stage_start" and "gflops_per_image" in x]
        if full:
            base_flops = full[-1]
            break
rows = [row if row[0] != "original" else row[:7] + (base_flops,) + row[8:] for row in rows]
size = rows[0][4] if rows else 36
print(f"| schedule | training wall-clock | speedup | top-1 (28 px) | top-1 ({size} px) | top-1 after 1st growth "
      "| stages (grid×depth) | FLOPs/step vs Original | measuring candidates | measured step ms per stage |")
print("|---|---|---|---|---|---|---|---|---|---|")
for arm, seconds, top1, larger, _, after, stages, flops, measuring, step_ms in rows:
    name = arm_name(root, arm)
    speedup = f"{base_seconds / seconds:.2f}×" if base_seconds else "–"
    after_text = f"{after:.2f}%" if after is not None else "–"
    flops_text = f"{flops / base_flops:.2f} ({base_flops / flops:.2f}×)" if flops and base_flops else "–"
    measuring_text = f"{measuring:.1f} s ({100 * measuring / seconds:.1f}%)" if measuring else "–"
    print(f"| {name} | {seconds / 60:.1f} min | {speedup} | {top1:.2f}% | {larger:.2f}% | {after_text} | {stages} "
          f"| {flops_text} | {measuring_text} | {' / '.join(f'{m:.0f}' for m in step_ms) or '–'} |")
