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
    ├── HierarchyError
    │   ├── InvalidHierarchyError (ValueError) rows that do not form a valid tree
    │   ├── InvalidAdminCodeError (ValueError) a malformed administrative code
    │   ├── UnknownUnitError (LookupError)     no unit with that id, code or path
    │   └── NotOneLevelDownError (ValueError)  a meeting or escalation that skips a level
    └── DepartmentError
        ├── UnknownDepartmentError (LookupError) no department with that id
        └── NoRouteError (LookupError)         no responsibility entry for a category here
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
    "DepartmentError",
    "HierarchyError",
    "InvalidAdminCodeError",
    "InvalidHierarchyError",
    "MissingExtraError",
    "NaiveDatetimeError",
    "NoRouteError",
    "NotOneLevelDownError",
    "UnknownDepartmentError",
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


class NotOneLevelDownError(HierarchyError, ValueError):
    """Two units that should be exactly one level apart (parent and child) are not.

    Attributes:
        upper: the unit that convenes or receives.
        lower: the unit that hosts or escalates.
    """

    def __init__(self, upper: str, lower: str, detail: str) -> None:
        self.upper = upper
        self.lower = lower
        super().__init__(f"{lower!r} is not one level below {upper!r}: {detail}")


class DepartmentError(ClosedLoopError):
    """Base for errors about departments and the responsibility matrix."""


class UnknownDepartmentError(DepartmentError, LookupError):
    """No department has the given id."""


class NoRouteError(DepartmentError, LookupError):
    """The responsibility matrix has no lead department for a category at a unit.

    Attributes:
        category: the issue category.
        unit: the handling unit's id.
        reason: why no route exists (no entry for the level, no department with the
            function at or above the unit, entry not in force at that time).
    """

    def __init__(self, category: str, unit: str, reason: str) -> None:
        self.category = category
        self.unit = unit
        self.reason = reason
        super().__init__(f"no route for category {category!r} at unit {unit!r}: {reason}")
