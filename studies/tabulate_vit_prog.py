#!/usr/bin/env python3
"""Tabulates a studies/vit_prog.sh directory: one row per arm from each run's metrics.jsonl
(final results logged by scripts/vit_pretrain.lua, the evaluation right after the first
growth, each stage's measured step time)."""
import json, pathlib, sys

root, arms = pathlib.Path(sys.argv[1]), sys.argv[2:]

def records(arm):
    runs = sorted((root / arm).glob("*/metrics.jsonl"))
    if not runs:
        return None
    return [json.loads(line) for line in runs[-1].read_text().splitlines() if line.strip()]

rows, base = [], None
for arm in arms:
    r = records(arm)
    if r is None:
        print(f"(no run for {arm})", file=sys.stderr)
        continue
    final = next((x for x in reversed(r) if "final_top1" in x), None)
    if final is None:
        print(f"(run for {arm} did not finish)", file=sys.stderr)
        continue
    starts = [x["step"] for x in r if x.get("event") == "stage_start"]
    after_growth = next((x["eval_top1"] for x in r if len(starts) > 1 and x["step"] == starts[1] and "eval_top1" in x), None)
    step_ms = [x["stage_step_ms"] for x in r if x.get("event") == "stage_step_time"]
    seconds = final["train_seconds"]
    if arm == "original":
        base = seconds
    rows.append((arm, seconds, final["final_top1"], final["final_top1_larger"], int(final["larger_size"]), after_growth, step_ms))

print("| schedule | training wall-clock | speedup | top-1 (28 px) | top-1 (36 px) | top-1 after 1st growth | measured step ms per stage |")
print("|---|---|---|---|---|---|---|")
for arm, seconds, top1, larger, size, after, step_ms in rows:
    name = "Original" if arm == "original" else f"Prog + {arm}"
    speedup = f"{base / seconds:.2f}×" if base else "–"
    after_text = f"{after:.2f}%" if after is not None else "–"
    print(f"| {name} | {seconds / 60:.1f} min | {speedup} | {top1:.2f}% | {larger:.2f}% | {after_text} | {' / '.join(f'{m:.0f}' for m in step_ms) or '–'} |")
