#!/usr/bin/env python3
"""Which α could have chosen what, in AutoProg-One searches. The search chooses the candidate
with the lowest L·T^α (L its measured loss, T its step time). For each searched stage of a
run's schedule.json this lists the candidates on the (T, L) Pareto front and the range of
α ≥ 0 over which each one is chosen. A candidate off the front (another one has both a lower
L and a lower T) is chosen by no α; so when no candidate with a larger patch grid than the
smallest is on the front, no α, fitted or fixed, would have grown the grid at that stage.

    studies/search_front.py studies/runs/vit_prog-<time>/autoprog*/*/schedule.json"""
import json, math, pathlib, sys

def alpha_range(c, others):
    """[lo, hi] of α ≥ 0 where c scores no worse than every other candidate, or None."""
    lo, hi = 0.0, math.inf
    for o in others:
        # c scores no worse than o iff α·dt ≤ dl.
        dt = math.log(c["step_ms"]) - math.log(o["step_ms"])
        dl = math.log(o["loss"]) - math.log(c["loss"])
        if dt > 0:
            hi = min(hi, dl / dt)
        elif dt < 0:
            lo = max(lo, dl / dt)
        elif dl < 0:
            return None
    return (lo, hi) if lo <= hi else None

def dominated(c, others):
    return any(o["loss"] <= c["loss"] and o["step_ms"] <= c["step_ms"]
               and (o["loss"] < c["loss"] or o["step_ms"] < c["step_ms"]) for o in others)

def describe(c):
    return f'{c["grid"]}x{c["depth"]}'

def report(path):
    record = json.loads(pathlib.Path(path).read_text())
    grown, searches = 0, 0
    for stage in record.get("stage_records", []):
        candidates = [c for c in stage.get("candidates", [])
                      if all(isinstance(c.get(k), (int, float)) and c[k] > 0 for k in ("loss", "step_ms"))]
        if not candidates:
            continue
        searches += 1
        start_grid = min(c["grid"] for c in candidates)
        fit, chosen = stage.get("fit", {}), stage.get("chosen", {})
        print(f'{path}: stage {stage["stage"]}, b = {fit.get("b", math.nan):.3f}, α = {stage.get("alpha", math.nan):.3f}, '
              f'chose {chosen.get("grid")}x{chosen.get("depth")}')
        others = {id(c): [o for o in candidates if o is not c] for c in candidates}
        front = [c for c in candidates if not dominated(c, others[id(c)])]
        ranges = {id(c): alpha_range(c, others[id(c)]) for c in front}
        for c in sorted(front, key=lambda c: c["step_ms"]):
            r = ranges[id(c)]
            when = f"chosen for α in [{r[0]:.3f}, {r[1]:.3f}]" if r else "chosen by no α (above the front's lower hull)"
            print(f'  {describe(c):>5}  L {c["loss"]:.4f}  T {c["step_ms"]:6.1f} ms  {when}')
        if any(c["grid"] > start_grid and ranges[id(c)] for c in front):
            grown += 1
        elif not any(c["grid"] > start_grid for c in front):
            print(f'  no α ≥ 0 chooses a grid larger than {start_grid}: each such candidate has a higher L and a higher T than another')
        else:
            print(f'  no α ≥ 0 chooses a grid larger than {start_grid}')
    return grown, searches

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    totals = [report(p) for p in sys.argv[1:]]
    grown, searches = sum(g for g, _ in totals), sum(s for _, s in totals)
    print(f"{searches} searches; in {grown}, some α ≥ 0 chooses a candidate with a larger grid than the smallest")
