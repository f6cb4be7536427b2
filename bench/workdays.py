"""Benchmark: "add n working days" on China's calendar, beside peers, in one process.

Run: ``python bench/workdays.py`` (``--quick`` for a smaller run). Needs the ``bench``
extra for the peers (numpy, chinese_calendar, holidays); a missing peer is skipped.

Inputs: random aware datetimes in Asia/Shanghai from 2024-01-01 to 2026-11-30 (so that
every result stays inside published data) and n in {0, 3, 15}. Every implementation
is checked against closedloop's answer under its own counting rule before it is timed.
"""

from __future__ import annotations

import argparse
import bisect
import random
import sys
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from _util import best_of, environment, print_table

import closedloop
from closedloop import Counting

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = closedloop.china_calendar()


def make_inputs(count: int, seed: int = 2026) -> tuple[list[datetime], list[int]]:
    rng = random.Random(seed)
    first = datetime(2024, 1, 1, tzinfo=SHANGHAI)
    span = int((datetime(2026, 11, 30, tzinfo=SHANGHAI) - first).total_seconds())
    instants = [first + timedelta(seconds=rng.randrange(span)) for _ in range(count)]
    steps = [rng.choice((0, 3, 15)) for _ in range(count)]
    return instants, steps


def raw_bisect_baseline() -> Callable[[datetime, int], date]:
    """Sorted working-day ordinals and bisect: the plain-Python floor."""
    work = [
        o
        for o in range(date(2023, 12, 1).toordinal(), date(2027, 1, 1).toordinal())
        if CAL.is_workday(date.fromordinal(o))
    ]

    def add(at: datetime, n: int) -> date:
        o = at.astimezone(SHANGHAI).toordinal()
        if n > 0:
            return date.fromordinal(work[bisect.bisect_right(work, o) + n - 1])
        return date.fromordinal(work[bisect.bisect_left(work, o)])

    return add


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer calls, for a smoke run")
    args = parser.parse_args()
    count = 20_000 if args.quick else 100_000
    slow_count = 2_000 if args.quick else 10_000
    warnings.simplefilter("ignore")
    instants, steps = make_inputs(count)
    pairs = list(zip(instants, steps, strict=True))
    expected = [CAL.add_workdays(at, n) for at, n in pairs]
    expected_roll = [CAL.add_workdays(at, n, counting=Counting.ROLL_FORWARD) for at, n in pairs]

    print("add n working days on China's calendar (Asia/Shanghai), aware datetimes in")
    print(environment("closedloop", "numpy", "holidays", "chinese_calendar"))
    rows: list[list[object]] = []
    results: dict[str, float] = {}

    def measure(
        name: str, fn: Callable[[datetime, int], date], truth: list[date], size: int, rule: str
    ) -> None:
        sample = pairs[:size]
        wrong = sum(fn(at, n) != truth[i] for i, (at, n) in enumerate(sample))
        seconds = best_of(lambda: [fn(at, n) for at, n in sample], reps=5 if size >= count else 3)
        micro = seconds / size * 1e6
        results[name] = micro
        rows.append([name, rule, size, micro, 1 / micro * 1e6, wrong])

    measure("closedloop add_workdays", CAL.add_workdays, expected, count, "after")
    measure("raw bisect baseline", raw_bisect_baseline(), expected, count, "after")

    try:
        import holidays
    except ImportError:
        print("holidays not installed: skipped")
    else:
        china = holidays.country_holidays("CN", years=range(2023, 2028))

        def holidays_add(at: datetime, n: int) -> date:
            result: date = china.get_nth_working_day(at.astimezone(SHANGHAI).date(), n)
            return result

        measure("holidays get_nth_working_day", holidays_add, expected, slow_count, "after")

    try:
        import chinese_calendar
    except ImportError:
        print("chinese_calendar not installed: skipped")
    else:

        def cc_add(at: datetime, n: int) -> date:
            result: date = chinese_calendar.find_workday(n, at.astimezone(SHANGHAI).date())
            return result

        measure("chinese_calendar find_workday", cc_add, expected_roll, slow_count // 5, "roll")

    batch_micro: dict[str, float] = {}
    try:
        import numpy as np
    except ImportError:
        print("numpy not installed: batch rows skipped")
    else:
        # numpy can only express make-up workdays by listing every non-working day as a
        # holiday of a seven-day weekmask.
        days_off = [
            date.fromordinal(o)
            for o in range(date(2023, 1, 1).toordinal(), date(2027, 1, 1).toordinal())
            if not CAL.is_workday(date.fromordinal(o))
        ]
        bus = np.busdaycalendar(weekmask="1111111", holidays=np.array(days_off, "datetime64[D]"))
        local_days = np.array(
            [at.astimezone(SHANGHAI).date() for at in instants], dtype="datetime64[D]"
        )
        n_array = np.array(steps, dtype=np.int64)

        def numpy_scalar(at: datetime, n: int) -> date:
            day = np.datetime64(at.astimezone(SHANGHAI).date(), "D")
            result: date = np.busday_offset(day, n, roll="forward", busdaycal=bus).astype(date)
            return result

        measure("numpy busday_offset per call", numpy_scalar, expected_roll, slow_count, "roll")

        utc_seconds = np.array([int(at.timestamp()) for at in instants], dtype="datetime64[s]")
        batch_result = CAL.add_workdays_many(utc_seconds, n_array)
        roll = np.busday_offset(local_days, n_array, roll="forward", busdaycal=bus)
        ours_roll = CAL.add_workdays_many(local_days, n_array, counting=Counting.ROLL_FORWARD)
        assert [d.astype(date) for d in batch_result] == expected
        assert (roll == ours_roll).all()
        seconds = best_of(lambda: CAL.add_workdays_many(utc_seconds, n_array), reps=10)
        batch_micro["closedloop add_workdays_many (UTC instants)"] = seconds / count * 1e6
        seconds = best_of(lambda: CAL.add_workdays_many(local_days, n_array), reps=10)
        batch_micro["closedloop add_workdays_many (local dates)"] = seconds / count * 1e6
        seconds = best_of(
            lambda: np.busday_offset(local_days, n_array, roll="forward", busdaycal=bus), reps=10
        )
        batch_micro["numpy busday_offset (local dates)"] = seconds / count * 1e6
        for name, micro in batch_micro.items():
            rows.append([name, "batch", count, micro, 1 / micro * 1e6, 0])

    print()
    print_table(["implementation", "rule", "calls", "µs/call", "calls/s", "wrong"], rows)
    ours = results["closedloop add_workdays"]
    print()
    print("ratios (peer time / closedloop time, same run):")
    for name, micro in results.items():
        if name != "closedloop add_workdays":
            print(f"  {name:<34} {micro / ours:8.1f}x")
    if batch_micro:
        batch = batch_micro["closedloop add_workdays_many (UTC instants)"]
        print(f"  batch throughput: {1 / batch:,.1f} M dates/s (UTC instants)")
        numpy_batch = batch_micro["numpy busday_offset (local dates)"]
        print(f"  numpy busday_offset / closedloop batch: {numpy_batch / batch:.2f}x")


if __name__ == "__main__":
    main()
