"""The ``closedloop`` command line.

Subcommands:

* ``simulate``: the Yiwu scenario under both policies (or one), with a readable report
  and the difference between them; can write the event log to SQLite and a plot;
* ``compare``: several seeds per policy, means with 95 % confidence intervals;
* ``sweep``: a grid of parameters times seeds, on a process pool;
* ``deadlines``: deadlines of sample issues assigned around a public holiday.

Progress goes to stderr; results to stdout. A user error (a bad option value, a grid
the sweep cannot build, a file that cannot be written) ends with
``closedloop: error: <message>`` on stderr and exit status 2, as argparse reports a
bad option; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time as clock
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, Final, NoReturn, TextIO

from closedloop.china import china_calendar
from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.errors import ClosedLoopError, ConfigurationError, CoverageError
from closedloop.workdays import WorkCalendar


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors end ``closedloop: error: ...`` (status 2)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"closedloop: error: {message}\n")


def _whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def _iso_date(text: str) -> date:
    """An argparse type: a date written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a date written YYYY-MM-DD, got {text!r}"
        ) from None


def _add_months(start: date, months: int) -> date:
    """The day ``months`` whole months after ``start``: the same day of the month, or the
    first day of the following month when that month is too short.

    A run of ``months`` months from ``start`` covers ``start`` up to the day before
    (2019-06-20 and 1 month: through 2019-07-19; 2019-01-31 and 1 month: through
    2019-02-28).

    Raises:
        ConfigurationError: when the day would fall after the year 9999.
    """
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    if year > 9999:
        raise ConfigurationError(f"{months} months from {start} ends after the year 9999")
    try:
        return date(year, month, start.day)
    except ValueError:  # the month is too short: the first of the next one
        return date(year + month // 12, month % 12 + 1, 1)


class _Bar:
    """A small progress bar on stderr (silent when stderr is not a terminal, unless forced)."""

    def __init__(self, label: str, *, enabled: bool, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.enabled = enabled
        self.stream = stream
        self.started = clock.perf_counter()

    def __call__(self, done: float, total: float = 1.0) -> None:
        if not self.enabled:
            return
        share = 0.0 if total <= 0 else min(1.0, done / total)
        filled = int(30 * share)
        elapsed = clock.perf_counter() - self.started
        self.stream.write(
            f"\r{self.label:<28} [{'#' * filled}{'.' * (30 - filled)}] {100 * share:5.1f}% "
            f"{elapsed:6.1f}s"
        )
        if share >= 1.0:
            self.stream.write("\n")
        self.stream.flush()


def _describe(calendar: WorkCalendar, day: date) -> str:
    name = calendar.day_name(day)
    return calendar.kind(day).value.replace("_", " ") + (f" ({name})" if name else "")


def _deadlines(args: argparse.Namespace) -> int:
    calendar = china_calendar(unannounced="provisional" if args.provisional else "raise")
    policy = DeadlinePolicy.yiwu()
    start: date = args.date
    print(f"Deadlines under policy {policy.label} on the calendar {calendar.name!r}")
    print("Each issue is assigned at 10:00 Asia/Shanghai; the day of assignment is never counted.")
    for offset in range(args.days):
        day = date.fromordinal(start.toordinal() + offset)
        assigned = datetime.combine(day, time(10, 0), tzinfo=calendar.zone)
        print(f"\nassigned {day:%a %Y-%m-%d}, a {_describe(calendar, day)}")
        for difficulty in Difficulty:
            try:
                deadline = policy.deadline(difficulty, assigned, calendar)
            except CoverageError as exc:
                raise CoverageError(
                    exc.calendar,
                    exc.year,
                    exc.covered,
                    "Pass --provisional to estimate it from the statutory rules "
                    "(such deadlines are marked provisional).",
                ) from None
            limit = str(policy.limit_for(difficulty))
            flag = "  [provisional]" if deadline.provisional else ""
            print(
                f"  {difficulty.value:<10} {limit:<16} due {deadline.due_date:%a %Y-%m-%d}, "
                f"a {_describe(calendar, deadline.due_date)}{flag}"
            )
    return 0


def _scenario_and_policies(args: argparse.Namespace) -> tuple[Any, list[Any]]:
    from closedloop.simulation import yiwu_policies, yiwu_scenario

    if args.scenario != "yiwu":
        raise ConfigurationError(f"unknown scenario {args.scenario!r}; built in: yiwu")
    scenario = yiwu_scenario()
    start: date = args.start if args.start is not None else scenario.start
    end = _add_months(start, args.months) - timedelta(days=1)
    if (start, end) != (scenario.start, scenario.end):
        scenario = scenario.with_changes(start=start, end=end)
    baseline, meetings = yiwu_policies()
    chosen: dict[str, list[Any]] = {
        "both": [baseline, meetings],
        "baseline": [baseline],
        "downward_meetings": [meetings],
    }
    return scenario, chosen[args.policy]


def _simulate(args: argparse.Namespace) -> int:
    from closedloop.simulation import Simulation

    scenario, policies = _scenario_and_policies(args)
    if args.sqlite:
        for policy in policies:
            path = args.sqlite if len(policies) == 1 else _suffixed(args.sqlite, policy.name)
            if os.path.exists(path):
                raise ConfigurationError(
                    f"--sqlite {path}: the file exists; a run's event log goes into a new "
                    "file (remove it or choose another name)"
                )
    show = args.progress or sys.stderr.isatty()
    results = []
    for policy in policies:
        bar = _Bar(f"{policy.name} (seed {args.seed})", enabled=show)
        keep = bool(args.sqlite) or bool(args.plot)
        simulation = Simulation(scenario, policy, seed=args.seed, keep_events=keep)
        result = simulation.run(progress=bar)
        results.append(result)
        print(result.report())
        print()
        if args.sqlite:
            path = args.sqlite if len(policies) == 1 else _suffixed(args.sqlite, policy.name)
            _write_sqlite(result, path)
            print(f"  event log written to {path}\n")
    if len(results) == 2:
        print(_difference_report(results[0], results[1]))
    if args.plot and _plot(results, args.plot):
        print(f"plot written to {args.plot}")
    return 0


def _suffixed(path: str, suffix: str) -> str:
    stem, dot, ext = path.rpartition(".")
    return f"{stem}-{suffix}.{ext}" if dot else f"{path}-{suffix}"


def _write_sqlite(result: Any, path: str) -> None:
    from closedloop.store import SQLiteEventStore

    with SQLiteEventStore(path, synchronous="NORMAL") as store:
        streams: dict[str, list[Any]] = {}
        for event in result.events or ():
            streams.setdefault(event.stream_id, []).append(event)
        batches = [
            (stream, events, store.stream_version(stream)) for stream, events in streams.items()
        ]
        store.append_many(batches)


def _plot(results: Sequence[Any], path: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print('plotting needs the extra "plot": pip install "closedloop[plot]"', file=sys.stderr)
        return False
    figure, ax = plt.subplots(figsize=(7, 4))
    names = [r.policy for r in results]
    p50 = [r.time_to_solve.p50 or 0 for r in results]
    p90 = [r.time_to_solve.p90 or 0 for r in results]
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="median")
    ax.bar([x + 0.2 for x in xs], p90, width=0.4, label="90th percentile")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("working days to solve (town/city problems)")
    ax.legend()
    figure.tight_layout()
    try:
        figure.savefig(path)
    except (OSError, ValueError) as exc:  # a folder missing, or a format unknown
        raise ConfigurationError(f"cannot write the plot to {path!r}: {exc}") from None
    finally:
        plt.close(figure)
    return True


def _difference_report(baseline: Any, meetings: Any) -> str:
    a, b = baseline.summary(), meetings.summary()
    rows = [
        ("problems needing the town or city solved", "problems_solved", "{:.0f}"),
        ("median working days to solve them", "time_to_solve_p50", "{:.1f}"),
        ("90th percentile working days", "time_to_solve_p90", "{:.1f}"),
        ("share of them solved on time", "problems_on_time", "{:.1%}"),
        ("grassroots visits to departments", "visits", "{:.0f}"),
        ("cadre-days spent on visits", "cadre_days", "{:.0f}"),
        ("downward meetings held", "meetings", "{:.0f}"),
        ("leader hours in meetings", "leader_hours", "{:.0f}"),
        ("department hours in meetings", "department_hours", "{:.0f}"),
        ("response rate", "response_rate", "{:.1%}"),
        ("resolution rate", "resolution_rate", "{:.1%}"),
        ("satisfaction rate", "satisfaction_rate", "{:.1%}"),
        ("on-time rate (all problems)", "on_time_rate", "{:.1%}"),
        ("supervision orders", "supervision_orders", "{:.0f}"),
        ("people or departments held accountable", "accountability", "{:.0f}"),
    ]
    lines = [
        f"{'difference':<40}{baseline.policy:>14}{meetings.policy:>20}{'change':>12}",
        "-" * 86,
    ]
    for label, key, fmt in rows:
        left, right = a.get(key), b.get(key)
        if left is None or right is None:
            continue
        change = "" if not left else f"{(right - left) / abs(left):+.0%}"
        lines.append(f"{label:<40}{fmt.format(left):>14}{fmt.format(right):>20}{change:>12}")
    return "\n".join(lines)


def _compare(args: argparse.Namespace) -> int:
    from closedloop.simulation import compare, simulate

    scenario, policies = _scenario_and_policies(args)
    seeds = list(range(args.seed, args.seed + args.seeds))
    total = len(seeds) * len(policies)
    bar = _Bar("compare", enabled=args.progress or sys.stderr.isatty())
    results = []
    for policy in policies:
        for seed in seeds:
            results.append(simulate(scenario, policy, seed=seed).summary())
            bar(len(results), total)
    print(f"{scenario.name}: {len(seeds)} seeds per policy, means with 95% confidence intervals\n")
    print(compare(results).table())
    return 0


_GRID_HELP = """\
grid entries:
  Each entry is name=values. Values are separated by commas (a semicolon works too);
  parentheses group a tuple, so commas inside them do not separate values. Each value
  is read as a Python literal (a number, a tuple, True, False, None) or else as text.
  Quote entries with parentheses for the shell. Without entries, one point (the
  downward-meetings policy on the Yiwu scenario) is run.

  policy=baseline,downward_meetings   two values
  supervision=0,0.5,0.8               three values
  'deadlines=(1,3,15)'                one value, the tuple (1, 3, 15)
  'deadlines=(1,3,15),(1,5,30)'       two tuples

  The parameters are those of closedloop.simulation.yiwu_variant: policy, deadlines
  (simple, complex, difficult working days), the Knobs fields (supervision,
  deterrence, ...), town_every_weeks, town_weekday, city_meetings_per_month,
  max_agenda, max_attendees, arrival_rate, solved_locally, needs_city, capacity and
  buck_passing.
"""

_OPENING: Final = {"(": ")", "[": "]", "{": "}"}


def _split_values(text: str, entry: str) -> list[str]:
    """``text`` cut at the commas and semicolons outside brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    closing: list[str] = []
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in _OPENING:
            closing.append(_OPENING[char])
        elif char in ")]}":
            if not closing or closing.pop() != char:
                raise ConfigurationError(f"grid entry {entry!r}: unmatched {char!r}")
        elif char in ",;" and not closing:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if quote:
        raise ConfigurationError(f"grid entry {entry!r}: unclosed quote {quote}")
    if closing:
        raise ConfigurationError(f"grid entry {entry!r}: {closing[-1]!r} missing")
    parts.append("".join(current).strip())
    return parts


def _grid_value(text: str, entry: str) -> Any:
    """One value: a Python literal, or else the text itself."""
    if not text:
        raise ConfigurationError(f"grid entry {entry!r} has an empty value")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        if text[0] in "([{'\"":
            raise ConfigurationError(
                f"grid entry {entry!r}: cannot read {text!r} (tuples hold literals, e.g. (1,3,15))"
            ) from None
        return text


def _parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """The sweep grid of ``name=values`` entries (the syntax is in ``_GRID_HELP``).

    Raises:
        ConfigurationError: for an entry without ``=``, a repeated name, an empty
            value, unbalanced brackets or quotes, or a bracketed value that is not a
            literal.
    """
    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, values = item.partition("=")
        name = name.strip()
        if not sep or not name or not values.strip():
            raise ConfigurationError(f"grid entries look like name=v1,v2,...; got {item!r}")
        if name in grid:
            raise ConfigurationError(f"grid parameter {name!r} is given twice")
        grid[name] = [_grid_value(text, item) for text in _split_values(values, item)]
    return grid


def _sweep(args: argparse.Namespace) -> int:
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    from closedloop.simulation import run_sweep

    grid = _parse_grid(args.grid)
    bar = _Bar("sweep", enabled=args.progress or sys.stderr.isatty())
    executor = (
        ThreadPoolExecutor(max_workers=args.workers)
        if args.threads
        else ProcessPoolExecutor(max_workers=args.workers)
    )
    with executor:
        result = run_sweep(grid, seeds=args.seeds, executor=executor, progress=bar)
    print(result.compare().table())
    if args.csv:
        import csv

        columns = result.to_columns()
        try:
            with open(args.csv, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                writer.writerows(zip(*columns.values(), strict=True))
        except OSError as exc:
            raise ConfigurationError(f"cannot write the rows to {args.csv!r}: {exc}") from None
        print(f"\nrows written to {args.csv}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``closedloop`` command."""
    parser = _Parser(
        prog="closedloop",
        description="Model how a local government finds, assigns, chases and closes problems.",
    )
    from closedloop import __version__

    parser.add_argument("--version", action="version", version=f"closedloop {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def scenario_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--scenario", default="yiwu", help="built-in scenario (default: yiwu)")
        p.add_argument(
            "--policy",
            choices=("both", "baseline", "downward_meetings"),
            default="both",
            help="which policy variant(s) to run",
        )
        p.add_argument(
            "--start",
            type=_iso_date,
            metavar="YYYY-MM-DD",
            help="first day of the run (default: the scenario's, 2019-06-01)",
        )
        p.add_argument(
            "--months",
            type=_whole_number(1),
            default=15,
            metavar="N",
            help="length of the run in whole months from the first day, at least 1: "
            "--start 2019-06-20 --months 1 runs through 2019-07-19 (default: 15)",
        )
        p.add_argument("--seed", type=int, default=0, help="seed of the (first) run")
        p.add_argument("--progress", action="store_true", help="show progress on stderr")

    simulate = sub.add_parser("simulate", help="simulate the Yiwu scenario and report")
    scenario_options(simulate)
    simulate.add_argument("--sqlite", help="write the event log to this SQLite file")
    simulate.add_argument("--plot", help="write a PNG plot here (needs the plot extra)")
    simulate.set_defaults(handler=_simulate)

    comparison = sub.add_parser("compare", help="several seeds per policy, with intervals")
    scenario_options(comparison)
    comparison.add_argument(
        "--seeds", type=_whole_number(1), default=5, metavar="N", help="seeds per policy"
    )
    comparison.set_defaults(handler=_compare)

    sweep = sub.add_parser(
        "sweep",
        help="a grid of parameters times seeds on a process pool",
        epilog=_GRID_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument(
        "grid",
        nargs="*",
        metavar="name=values",
        help="grid entries, e.g. policy=baseline,downward_meetings supervision=0,0.8 (see below)",
    )
    sweep.add_argument(
        "--seeds", type=_whole_number(1), default=3, metavar="N", help="seeds per grid point"
    )
    sweep.add_argument(
        "--workers",
        type=_whole_number(1),
        default=None,
        metavar="N",
        help="worker processes or threads (default: one per CPU)",
    )
    sweep.add_argument("--threads", action="store_true", help="use threads instead")
    sweep.add_argument("--csv", help="write every row to this CSV file")
    sweep.add_argument("--progress", action="store_true", help="show progress on stderr")
    sweep.set_defaults(handler=_sweep)

    deadlines = sub.add_parser(
        "deadlines", help="deadlines of sample issues assigned around a public holiday"
    )
    deadlines.add_argument(
        "--date",
        type=_iso_date,
        default=date(2025, 9, 29),
        metavar="YYYY-MM-DD",
        help="first day of assignment (default: 2025-09-29)",
    )
    deadlines.add_argument(
        "--days", type=_whole_number(1), default=4, metavar="N", help="number of days to show"
    )
    deadlines.add_argument(
        "--provisional",
        action="store_true",
        help="estimate years after the published data instead of refusing them",
    )
    deadlines.set_defaults(handler=_deadlines)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    0 on success; 2 for a user error, reported as ``closedloop: error: <message>`` on
    stderr (a bad option or value, including any :class:`ClosedLoopError`); ``--help``
    prints the help and returns 0.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or an error argparse reported
        return exc.code if isinstance(exc.code, int) else 2 if exc.code else 0
    try:
        status: int = args.handler(args)
    except ClosedLoopError as exc:
        print(f"closedloop: error: {exc}", file=sys.stderr)
        return 2
    return status
