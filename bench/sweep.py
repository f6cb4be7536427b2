"""Benchmark: sweep throughput on one worker process against two.

Run: ``python bench/sweep.py`` (``--quick`` for fewer jobs). The same grid of
simulations (the Yiwu scenario over two months, both policies, two supervision
strengths, several seeds) runs on a process pool of one worker and of two; rows must
be identical, and the ratio of throughputs is printed (goal: two workers at least 1.8×
one).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _util import environment

from closedloop.simulation import Scenario, run_sweep, yiwu_variant
from closedloop.simulation.policies import Policy


def two_months(params: Mapping[str, Any]) -> tuple[Scenario, Policy]:
    """The Yiwu variant over June and July 2019."""
    scenario, policy = yiwu_variant(params)
    return scenario.with_changes(end=date(2019, 7, 31)), policy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = 3 if args.quick else 6
    grid: dict[str, list[Any]] = {
        "policy": ["baseline", "downward_meetings"],
        "supervision": [0.0, 0.8],
    }
    jobs = 4 * seeds
    print(f"sweep throughput: {jobs} simulations of two months each")
    print(environment("closedloop"))
    timings = {}
    rows = {}
    for workers in (1, 2):
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pool.submit(int).result()  # start the workers before timing
            started = time.perf_counter()
            result = run_sweep(grid, seeds=seeds, builder=two_months, executor=pool)
            timings[workers] = time.perf_counter() - started
        rows[workers] = result.rows
        rate = jobs / timings[workers]
        print(f"  {workers} worker(s): {timings[workers]:6.2f} s, {rate:.2f} runs/s")
    assert rows[1] == rows[2], "the rows differ between one and two workers"
    print(f"two workers / one worker throughput: {timings[1] / timings[2]:.2f}x (rows identical)")


if __name__ == "__main__":
    main()
