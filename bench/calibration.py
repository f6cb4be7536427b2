"""The Yiwu calibration check: the median over 20 seeds against the article's figures.

Run: ``python bench/calibration.py`` (``--seeds N`` to change the number of seeds).
Prints the median and range of each calibrated figure under ``downward_meetings`` and
whether it lies within 10 % of the published value; exits with status 1 if not.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor

from closedloop.simulation import YIWU_TARGETS, run_sweep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        sweep = run_sweep({"policy": ["downward_meetings"]}, seeds=args.seeds, executor=pool)
    ok = True
    print(f"Yiwu scenario, downward_meetings, {args.seeds} seeds")
    print(f"{'figure':<18}{'target':>8}{'median':>10}{'min':>8}{'max':>8}{'off by':>9}  within 10%")
    for figure, target in YIWU_TARGETS.items():
        values = [row[figure] for row in sweep.rows]
        median = statistics.median(values)
        off = (median - target) / target
        inside = abs(off) <= 0.10
        calibrated = figure in ("meetings", "problems_solved")
        ok &= inside or not calibrated
        mark = ("yes" if inside else "NO") + ("" if calibrated else " (not a calibration target)")
        print(
            f"{figure:<18}{target:>8}{median:>10.1f}{min(values):>8}{max(values):>8}"
            f"{off:>+9.1%}  {mark}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
