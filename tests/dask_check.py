"""Optional CI check: a sweep on a local Dask cluster equals the same sweep on threads.

Run: ``python tests/dask_check.py`` with the ``dask`` extra installed. Exits non-zero
on any difference. Not collected by pytest (the file name does not start with test_).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

from closedloop.simulation import Scenario, run_sweep, yiwu_variant
from closedloop.simulation.policies import Policy


def short_variant(params: Mapping[str, Any]) -> tuple[Scenario, Policy]:
    """The Yiwu variant over one month, so the check runs in seconds."""
    scenario, policy = yiwu_variant(params)
    return scenario.with_changes(end=date(2019, 6, 30)), policy


def main() -> int:
    from dask.distributed import Client, LocalCluster

    grid: dict[str, list[Any]] = {
        "policy": ["baseline", "downward_meetings"],
        "supervision": [0.0, 0.8],
    }
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster,  # type: ignore[no-untyped-call]
        Client(cluster) as client,  # type: ignore[no-untyped-call]
    ):
        on_dask = run_sweep(
            grid, seeds=[1, 2], builder=short_variant, executor=client.get_executor()
        )
    with ThreadPoolExecutor(max_workers=2) as pool:
        on_threads = run_sweep(grid, seeds=[1, 2], builder=short_variant, executor=pool)
    if on_dask.rows != on_threads.rows:
        print("dask check: the sweep on Dask differs from the sweep on threads")
        return 1
    print(f"dask check: {len(on_dask.rows)} runs on a 2-worker local cluster, identical to threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
