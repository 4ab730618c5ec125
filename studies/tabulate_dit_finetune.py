#!/usr/bin/env python3
"""Tabulates a studies/dit_finetune.sh directory: one row per arm from each run's
metrics.jsonl (the final FID and class accuracy, training time, the stages trained with
each one's measured step time, the learnable parameters) and,
if matplotlib is importable, fid_vs_runtime.png (FID of the EMA model's samples along each
run against its training time so far).

    studies/tabulate_dit_finetune.py studies/runs/dit_finetune-<time> full autoprog-zero ..."""
import json, pathlib, re, sys

root, arms = pathlib.Path(sys.argv[1]), sys.argv[2:]

def last_run(arm):
    """The arm's newest run directory with metrics (None if it has none)."""
    runs = sorted(p.parent for p in (root / arm).glob("*/metrics.jsonl"))
    return runs[-1] if runs else None

def records(arm):
    run = last_run(arm)
    if run is None:
        return None
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]

def options(arm):
    """The recipe options the arm's run resolved, from its config.json ({} if none)."""
    run = last_run(arm)
    config = run / "config.json" if run else None
    return json.loads(config.read_text()).get("options", {}) if config and config.exists() else {}

def stage_step_ms(r, final, first, next_start):
    """Median step time (ms) of the steps logged after `first` up to the next stage's start,
    from their images per second and the run's batch (None when either is missing)."""
    last = next_start["step"] if next_start else float("inf")
    rates = sorted(x["imgs_per_s"] for x in r if "imgs_per_s" in x and "event" not in x and first < x["step"] <= last)
    if not rates or "batch" not in final:
        return None
    return 1000 * final["batch"] / rates[len(rates) // 2]

rows, curves, base = [], {}, None
for arm in arms:
    r = records(arm)
    final = next((x for x in reversed(r or []) if x.get("event") == "final"), None)
    if final is None:
        print(f"(no finished run for {arm})", file=sys.stderr)
        continue
    starts = [x for x in r if x.get("event") == "stage_start" and not x.get("search")]
    stages = [f'{x["resolution"]}px·{x["fraction"]:g}' for x in starts]
    # Each stage's typical step time: the median over the whole stage of the step times
    # logged every few steps (a stage's first steps, where the controller's one-off
    # stage_step_time falls, can run slower than the rest).
    step_ms = [stage_step_ms(r, final, x["step"], (starts + [None])[i + 1]) for i, x in enumerate(starts)]
    if stages and None not in step_ms:
        stages = [f"{s} ({ms:.0f} ms)" for s, ms in zip(stages, step_ms)]
    elif not stages and (ms := stage_step_ms(r, final, 0, None)):
        stages.append(f"({ms:.0f} ms a step)")
    # Learnable parameters: the last stage's, else the recipe's opening line in the arm's log.
    learnable = starts[-1]["learnable_parameters"] if starts else None
    log = root / f"{arm}.log"
    if learnable is None and log.exists():
        m = re.search(r"(\d+) learnable", log.read_text())
        learnable = int(m.group(1)) if m else None
    measuring = sum(x.get("measure_seconds", 0) for x in r if x.get("event") in ("zero_shot_result",))
    if arm == "full":
        base = final["train_seconds"]
    rows.append((arm, final, " → ".join(stages) or "–", measuring, learnable))
    # The curve's points all use the same (smaller) number of samples; the table's final FID more.
    curves[arm] = [(x["eval_train_seconds"], x["fid"]) for x in r if x.get("event") == "fid_eval"]

print("| method | FID | class accuracy | training time | vs full | learnable parameters | stages (resolution·learnable fraction, median step time) | measuring candidates |")
print("|---|---|---|---|---|---|---|---|")
for arm, f, stages, measuring, learnable in rows:
    ratio = f"{f['train_seconds'] / base:.2f}×" if base else "–"
    print(f"| {arm} | {f['fid']:.2f} | {100 * f['class_accuracy']:.1f}% | {f['train_seconds'] / 60:.1f} min | {ratio} "
          f"| {f'{learnable / 1e6:.2f} M' if learnable else '–'} | {stages} | {f'{measuring:.1f} s' if measuring else '–'} |")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("(matplotlib not importable: no plot; e.g. apt install python3-matplotlib)", file=sys.stderr)
    sys.exit(0)
fig, ax = plt.subplots(figsize=(6, 4))
for arm, points in curves.items():
    ax.plot([t / 60 for t, _ in points], [f for _, f in points], marker="o", label=arm)
ax.set_xlabel("training time (min)")
# The task as the runs resolved it (the arms share these options in a study); runs before
# the recipe's --data logged no data or classes in their final record.
task = next((o for o in map(options, arms) if o), {})
final = rows[0][1] if rows else {}
data = "emoji" if final.get("data") == "emoji" else "Fashion-MNIST"
ax.set_ylabel("FID (feature network, " + ("the target images themselves)" if data == "emoji" else "held-out target images)"))
title = f"DiT fine-tuning on {data} classes {final.get('classes') or task.get('classes') or '?'}"
if task.get("subset"):
    title += f", first {task['subset']:g} images"
ax.set_title(title, fontsize=9)
ax.legend(fontsize=7)
fig.tight_layout()
fig.savefig(root / "fid_vs_runtime.png", dpi=120)
print(f"wrote {root / 'fid_vs_runtime.png'}", file=sys.stderr)
