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
    ├── DepartmentError
    │   ├── UnknownDepartmentError (LookupError) no department with that id
    │   └── NoRouteError (LookupError)         no responsibility entry for a category here
    ├── PermissionDeniedError (PermissionError) an actor may not do that, there, then
    ├── UnknownActorError (LookupError)        no actor with that id
    ├── IssueError
    │   ├── IssueNotFoundError (LookupError)   no issue with that id
    │   ├── TransitionError (ValueError)       a command the issue's status does not allow
    │   │   └── IssueExistsError               an issue with that id is already registered
    │   ├── CommandError (ValueError)          a command with bad arguments
    │   └── InvariantError (AssertionError)    an issue state that breaks a lifecycle rule
    └── StoreError
        ├── ConcurrencyError                   the stream moved on since it was read
        ├── DuplicateEventError (ValueError)   an event id already stored with another event
        ├── DecodeError (ValueError)           a stored or received record that does not decode
        │   └── ImportValidationError          an import batch with problems (all listed)
        └── StoreClosedError                   the store was used after close()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CalendarError",
    "CalendarFormatError",
    "ClosedLoopError",
    "CommandError",
    "ConcurrencyError",
    "ConfigurationError",
    "CoverageError",
    "DeadlineClockError",
    "DecodeError",
    "DepartmentError",
    "DuplicateEventError",
    "HierarchyError",
    "ImportValidationError",
    "InvalidAdminCodeError",
    "InvalidHierarchyError",
    "InvariantError",
    "IssueError",
    "IssueExistsError",
    "IssueNotFoundError",
    "MissingExtraError",
    "NaiveDatetimeError",
    "NoRouteError",
    "NotOneLevelDownError",
    "PermissionDeniedError",
    "StoreClosedError",
    "StoreError",
    "TransitionError",
    "UnknownActorError",
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


class PermissionDeniedError(ClosedLoopError, PermissionError):
    """An actor may not perform an action on a target at that time.

    Attributes:
        actor: the actor's id.
        action: the action refused.
        reason: why (which rule or missing grant).
    """

    def __init__(self, actor: str, action: str, reason: str) -> None:
        self.actor = actor
        self.action = action
        self.reason = reason
        super().__init__(f"{actor!r} may not {action}: {reason}")


class UnknownActorError(ClosedLoopError, LookupError):
    """No actor has the given id."""


class IssueError(ClosedLoopError):
    """Base for errors about issues and their lifecycle."""


class IssueNotFoundError(IssueError, LookupError):
    """No issue has the given id."""


class TransitionError(IssueError, ValueError):
    """A command that the issue's current status does not allow.

    Attributes:
        issue_id: the issue.
        status: its status when the command came (``None`` before registration).
        action: what was attempted.
        allowed: the actions the status would have allowed.
        reason: why, when the status allowed the action but a rule did not.
    """

    def __init__(
        self,
        issue_id: str,
        status: str | None,
        action: str,
        allowed: tuple[str, ...],
        reason: str = "",
    ) -> None:
        self.issue_id = issue_id
        self.status = status
        self.action = action
        self.allowed = allowed
        self.reason = reason
        state = f"in status {status!r}" if status is not None else "before it is registered"
        why = f": {reason}" if reason else ""
        super().__init__(
            f"cannot {action} issue {issue_id!r} {state}{why}; "
            f"allowed: {', '.join(allowed) if allowed else 'nothing (terminal)'}"
        )


class IssueExistsError(TransitionError):
    """Registering an id that is already registered (a transition that is never allowed)."""


class CommandError(IssueError, ValueError):
    """A command whose arguments are unusable (unknown department, bad score, ...)."""


class InvariantError(IssueError, AssertionError):
    """An issue state breaks a lifecycle invariant (a bug, or a corrupted log)."""


class StoreError(ClosedLoopError):
    """Base for errors of event stores."""


class ConcurrencyError(StoreError):
    """An append expected a stream version that is no longer current.

    Attributes:
        stream_id: the stream.
        expected: what the writer expected (a version, or a mode name).
        actual: the stream's current version (0 for no stream).
    """

    def __init__(self, stream_id: str, expected: object, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r}: expected version {expected}, but it is at {actual}; "
            f"read it again and retry the command"
        )


class DuplicateEventError(StoreError, ValueError):
    """An event id is already stored with a different event; ids are unique store-wide.

    Attributes:
        event_id: the reused id.
        stream_id: the stream the event was being appended to.
        stored_stream_id: the stream that holds the stored event.
        stored_version: the stored event's version.
    """

    def __init__(
        self,
        message: str,
        *,
        event_id: str,
        stream_id: str,
        stored_stream_id: str,
        stored_version: int,
    ) -> None:
        self.event_id = event_id
        self.stream_id = stream_id
        self.stored_stream_id = stored_stream_id
        self.stored_version = stored_version
        super().__init__(message)


class DecodeError(StoreError, ValueError):
    """A record (stored, or received from outside) is not a valid event."""


class StoreClosedError(StoreError):
    """The store was used after it was closed."""


class ImportValidationError(DecodeError):
    """A batch of outside records (e.g. Open311 requests) failed validation; nothing was imported.

    Attributes:
        problems: every problem found, in record order; each names the record and field.
    """

    def __init__(self, message: str, problems: Sequence[Any]) -> None:
        self.problems: tuple[Any, ...] = tuple(problems)
        super().__init__(message)
