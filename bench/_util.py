"""Small helpers shared by the benchmark scripts: timing, environment line, tables."""

from __future__ import annotations

import gc
import importlib.metadata
import os
import platform
import statistics
import time
from collections.abc import Callable, Sequence


def best_of(fn: Callable[[], object], *, reps: int = 5, gc_enabled: bool = False) -> float:
    """Median wall time of ``fn()`` over ``reps`` runs, in seconds.

    As ``timeit`` does, the garbage collector is collected before each run and switched
    off during it (unless ``gc_enabled``), so every variant is timed without the
    collector's pauses, which depend on everything else alive in the process.
    """
    times = []
    for _ in range(reps):
        gc.collect()
        if not gc_enabled:
            gc.disable()
        try:
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        finally:
            gc.enable()
    return statistics.median(times)


def environment(*distributions: str) -> str:
    """One line naming the interpreter, the machine and the versions of ``distributions``."""
    parts = []
    for name in distributions:
        try:
            parts.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            parts.append(f"{name} (not installed)")
    return (
        f"python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cpus; " + ", ".join(parts)
    )


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows as an aligned plain-text table (first column left-aligned)."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 1:
            return f"{value:.2f}"
        return f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
