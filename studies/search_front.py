#!/usr/bin/env python3
"""Which α could have chosen what, in AutoProg-One searches: for each searched stage of a
run's schedule.json, the candidates on the (step time T, loss L) Pareto front and the range
of α ≥ 0 over which each one minimises the search's score L·T^α. A candidate off the front
(another has both lower L and lower T) is chosen by no α; so when no candidate with a larger
patch grid is on the front, no choice of α would have grown the grid at that stage.

    studies/search_front.py studies/runs/vit_prog-<time>/autoprog*/*/schedule.json"""
import json, math, pathlib, sys

def alpha_range(c, others):
    """[lo, hi] of α ≥ 0 where c scores no worse than every other candidate, or None."""
    lo, hi = 0.0, math.inf
    for o in others:
        dt = math.log(c["step_ms"]) - math.log(o["step_ms"])
        dl = math.log(o["loss"]) - math.log(c["loss"])   # > 0: o has the higher loss
        if dt > 0:      # o is faster: c wins while α·dt ≤ dl
            hi = min(hi, dl / dt)
        elif dt < 0:    # o is slower: c wins once α·(−dt) ≥ −dl
            lo = max(lo, -dl / -dt)
        elif dl < 0:    # as fast, lower loss
            return None
    return (lo, hi) if lo <= hi else None

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
        front = []
        for c in candidates:
            r = alpha_range(c, [o for o in candidates if o is not c])
            if r is not None:
                front.append((c, r))
        for c, (lo, hi) in sorted(front, key=lambda x: x[1][0]):
            print(f'  {describe(c):>5}  L {c["loss"]:.4f}  T {c["step_ms"]:6.1f} ms  chosen for α in [{lo:.3f}, {hi:.3f}]')
        if any(c["grid"] > start_grid for c, _ in front):
            grown += 1
        else:
            print(f'  no α ≥ 0 chooses a grid larger than {start_grid}: each such candidate has a higher L and a higher T than another')
    return grown, searches

if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    totals = [report(p) for p in sys.argv[1:]]
    grown, searches = sum(g for g, _ in totals), sum(s for _, s in totals)
    print(f"{searches} searches; in {grown}, a candidate with a larger grid than the smallest was on the front")
