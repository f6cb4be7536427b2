"""The exceptions closedloop raises.

Every error the library raises on purpose derives from :class:`ClosedLoopError`, and
most also derive from the builtin that fits (``ValueError`` for bad values,
``LookupError`` for something missing), so ``except ValueError`` keeps working for
callers who do not know closedloop. Errors carry their context as attributes
(which issue, which year, which rows) as well as in the message.

A missed deadline is *not* an error: it is a domain fact, recorded as an event.

The tree::

    ClosedLoopError
    ├── ConfigurationError (ValueError)        a value the library was given is unusable
    ├── MissingExtraError (ImportError)        an optional extra is not installed
    ├── CalendarError
    │   ├── CoverageError (LookupError)        a date outside the calendar's data
    │   ├── NaiveDatetimeError (ValueError)    a datetime without a time zone
    │   └── CalendarFormatError (ValueError)   a calendar text that does not parse
    ├── DeadlineClockError (ValueError)        clock events out of order or out of place
    └── HierarchyError
        ├── InvalidHierarchyError (ValueError) rows that do not form a valid tree
        ├── InvalidAdminCodeError (ValueError) a malformed administrative code
        └── UnknownUnitError (LookupError)     no unit with that id, code or path
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "CalendarError",
    "CalendarFormatError",
    "ClosedLoopError",
    "ConfigurationError",
    "CoverageError",
    "DeadlineClockError",
    "HierarchyError",
    "InvalidAdminCodeError",
    "InvalidHierarchyError",
    "MissingExtraError",
    "NaiveDatetimeError",
    "UnknownUnitError",
]


class ClosedLoopError(Exception):
    """Root of every error closedloop raises on purpose."""


class ConfigurationError(ClosedLoopError, ValueError):
    """A value given to the library (an option, a policy, a table) cannot be used."""


class MissingExtraError(ClosedLoopError, ImportError):
    """A feature needs an optional dependency that is not installed.

    The message names the extra to install, e.g. ``pip install "closedloop[numpy]"``.
    """

    def __init__(self, extra: str, feature: str) -> None:
        self.extra = extra
        self.feature = feature
        super().__init__(
            f"{feature} needs the optional extra {extra!r}: "
            f'install it with: pip install "closedloop[{extra}]"'
        )


class CalendarError(ClosedLoopError):
    """Base for errors about working-day calendars."""


class CoverageError(CalendarError, LookupError):
    """A date falls in a year for which the calendar has no data.

    Attributes:
        calendar: the calendar's name.
        year: the year that was needed.
        covered: the first and last year the calendar's data covers.
    """

    def __init__(self, calendar: str, year: int, covered: tuple[int, int], hint: str) -> None:
        self.calendar = calendar
        self.year = year
        self.covered = covered
        super().__init__(
            f"calendar {calendar!r} has no data for {year} "
            f"(its data covers {covered[0]}-{covered[1]}). {hint}"
        )


class NaiveDatetimeError(CalendarError, ValueError):
    """A datetime without a time zone was given where an instant is needed."""


class CalendarFormatError(CalendarError, ValueError):
    """A calendar in the text format could not be parsed.

    Attributes:
        line_number: the 1-based line that is wrong (0 when the whole text is).
        line: the offending line.
    """

    def __init__(self, message: str, line_number: int = 0, line: str = "") -> None:
        self.line_number = line_number
        self.line = line
        where = f"line {line_number}: {line.strip()!r}: " if line_number else ""
        super().__init__(where + message)


class DeadlineClockError(ClosedLoopError, ValueError):
    """A deadline clock was given an event it cannot take (out of order, resume while running)."""


class HierarchyError(ClosedLoopError):
    """Base for errors about the administrative hierarchy."""


class InvalidHierarchyError(HierarchyError, ValueError):
    """Rows that do not form a valid hierarchy; lists every offending row.

    Attributes:
        problems: one ``(row, message)`` pair per problem found, in input order,
            where ``row`` is the 1-based row number (0 for problems not tied to a row).
    """

    def __init__(self, problems: Sequence[tuple[int, str]]) -> None:
        self.problems = tuple(problems)
        lines = [f"  row {row}: {msg}" if row else f"  {msg}" for row, msg in self.problems]
        super().__init__(
            f"{len(self.problems)} problem(s) in the hierarchy rows:\n" + "\n".join(lines)
        )


class InvalidAdminCodeError(HierarchyError, ValueError):
    """An administrative code is malformed (wrong length, not digits, bad prefix)."""


class UnknownUnitError(HierarchyError, LookupError):
    """No administrative unit matches the given id, code or name path."""
