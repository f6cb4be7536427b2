"""The ``closedloop`` command line.

Subcommands:

* ``deadlines``: deadlines of a few sample issues assigned around a public holiday,
  under Yiwu's policy on China's calendar (or a date you choose).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import date, datetime, time

from closedloop.china import china_calendar
from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.errors import ClosedLoopError
from closedloop.workdays import WorkCalendar


def _describe(calendar: WorkCalendar, day: date) -> str:
    name = calendar.day_name(day)
    return calendar.kind(day).value.replace("_", " ") + (f" ({name})" if name else "")


def _deadlines(args: argparse.Namespace) -> int:
    calendar = china_calendar(unannounced="provisional" if args.provisional else "raise")
    policy = DeadlinePolicy.yiwu()
    start = date.fromisoformat(args.date)
    print(f"Deadlines under policy {policy.label} on the calendar {calendar.name!r}")
    print("Each issue is assigned at 10:00 Asia/Shanghai; the day of assignment is never counted.")
    for offset in range(args.days):
        day = date.fromordinal(start.toordinal() + offset)
        assigned = datetime.combine(day, time(10, 0), tzinfo=calendar.zone)
        print(f"\nassigned {day:%a %Y-%m-%d}, a {_describe(calendar, day)}")
        for difficulty in Difficulty:
            deadline = policy.deadline(difficulty, assigned, calendar)
            limit = str(policy.limit_for(difficulty))
            flag = "  [provisional]" if deadline.provisional else ""
            print(
                f"  {difficulty.value:<10} {limit:<16} due {deadline.due_date:%a %Y-%m-%d}, "
                f"a {_describe(calendar, deadline.due_date)}{flag}"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``closedloop`` command."""
    parser = argparse.ArgumentParser(
        prog="closedloop",
        description="Model how a local government finds, assigns, chases and closes problems.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    deadlines = sub.add_parser(
        "deadlines", help="deadlines of sample issues assigned around a public holiday"
    )
    deadlines.add_argument(
        "--date", default="2025-09-29", help="first day of assignment (default: 2025-09-29)"
    )
    deadlines.add_argument("--days", type=int, default=4, help="number of days to show")
    deadlines.add_argument(
        "--provisional",
        action="store_true",
        help="estimate years after the published data instead of refusing them",
    )
    deadlines.set_defaults(handler=_deadlines)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args)
    except ClosedLoopError as exc:
        print(f"closedloop: error: {exc}", file=sys.stderr)
        return 2
    return status
