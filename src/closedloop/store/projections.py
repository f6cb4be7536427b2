"""Read models built from the event log: the current state of every issue, and queries.

An :class:`IssueProjection` folds issue events into the current :class:`IssueState` of
every issue and keeps the indexes an application asks about: open issues by unit and
by department, overdue issues at an instant with their warning levels, backlog counts.
It is rebuilt from the log alone (:meth:`IssueProjection.rebuild`), and the rebuild
equals what incremental updates produced.

Events of other aggregates (meetings, supervision, ...) are skipped, so a projection can
follow the whole global feed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from closedloop.deadlines import (
    ClockReading,
    Deadline,
    DeadlineClock,
    WarningLevel,
    WarningThresholds,
)
from closedloop.errors import ConfigurationError, IssueNotFoundError
from closedloop.ids import DepartmentId, IssueId, UnitId
from closedloop.lifecycle.events import IssueEvent
from closedloop.lifecycle.state import IssueState, Status, evolve
from closedloop.workdays import WorkCalendar

if TYPE_CHECKING:
    from closedloop.hierarchy import Hierarchy

__all__ = ["IssueProjection", "OverdueIssue", "deadline_reading"]


class OverdueIssue(NamedTuple):
    """An issue whose running deadline is breached or close to it."""

    state: IssueState
    reading: ClockReading


def deadline_reading(
    state: IssueState,
    at: datetime,
    calendar: WorkCalendar,
    warnings: WarningThresholds | None = None,
) -> ClockReading | None:
    """The issue's deadline clock read at ``at``, or None when no deadline runs.

    A deadline runs while the issue is assigned, in progress or suspended (a suspended
    clock is read as paused). The deadline is the one stored with the issue; the
    calendar only counts the time elapsed and remaining.
    """
    if (
        state.limit is None
        or state.assigned_at is None
        or state.due_at is None
        or state.due_date is None
    ):
        return None
    if state.status not in (Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED):
        return None
    clock = DeadlineClock.running(
        calendar,
        state.limit,
        state.assigned_at,
        extension=state.extension,
        paused_units=state.paused_units,
        paused_since=state.paused_since,
        cycle=state.cycle,
        warnings=warnings,
        deadline=Deadline(state.due_date, state.due_at, state.provisional),
    )
    return clock.read(max(at, state.assigned_at))


class IssueProjection:
    """The current state of every issue, with indexes for the usual questions."""

    __slots__ = ("_by_department", "_by_unit", "_position", "_states")

    def __init__(self) -> None:
        self._states: dict[IssueId, IssueState] = {}
        self._by_unit: dict[UnitId, set[IssueId]] = {}
        self._by_department: dict[DepartmentId, set[IssueId]] = {}
        self._position = 0

    # -- updating -------------------------------------------------------------------

    @property
    def position(self) -> int:
        """The global position of the last event applied (0 before any)."""
        return self._position

    def apply(self, event: object, position: int | None = None) -> None:
        """Fold one event in (other aggregates' events are ignored).

        ``position`` is the event's global position in the store, when known.
        """
        if position is not None:
            self._position = position
        if not isinstance(event, IssueEvent):
            return
        before = self._states.get(event.issue_id)
        after = evolve(before, event)
        self._states[event.issue_id] = after
        self._reindex(before, after)

    def evict(self, issue_id: str) -> None:
        """Forget a closed (archived or withdrawn) issue; the log still has it.

        For long runs that only keep metrics: the read model then holds open issues
        and recently closed ones, not the whole history.

        Raises:
            IssueNotFoundError: for an unknown issue.
            ConfigurationError: for an issue that is still open.
        """
        state = self.state(issue_id)
        if not state.status.is_terminal:
            raise ConfigurationError(
                f"issue {issue_id!r} is {state.status.value}; only closed issues are evicted"
            )
        del self._states[state.issue_id]

    def skip_to(self, position: int) -> None:
        """Note that events up to ``position`` were seen and hold nothing for this model."""
        self._position = position

    def put(self, state: IssueState, position: int | None = None) -> None:
        """Record a state computed elsewhere (the service, right after its own append).

        ``position`` is the global position of the last event that state includes.
        """
        if position is not None:
            self._position = position
        before = self._states.get(state.issue_id)
        self._states[state.issue_id] = state
        self._reindex(before, state)

    def _reindex(self, before: IssueState | None, after: IssueState) -> None:
        issue = after.issue_id
        was_open = before is not None and before.status.is_open
        if was_open and before is not None:
            self._by_unit.get(before.unit, set()).discard(issue)
            if before.lead is not None:
                self._by_department.get(before.lead, set()).discard(issue)
        if after.status.is_open:
            self._by_unit.setdefault(after.unit, set()).add(issue)
            if after.lead is not None:
                self._by_department.setdefault(after.lead, set()).add(issue)

    @classmethod
    def rebuild(cls, feed: Iterable[tuple[int, object]]) -> IssueProjection:
        """A projection folded from ``(position, event)`` pairs in global order."""
        projection = cls()
        for position, event in feed:
            projection.apply(event, position)
        return projection

    # -- queries --------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, issue_id: object) -> bool:
        return issue_id in self._states

    def __iter__(self) -> Iterator[IssueState]:
        return iter(self._states.values())

    def get(self, issue_id: str) -> IssueState | None:
        """The issue's state, or None."""
        return self._states.get(IssueId(issue_id))

    def state(self, issue_id: str) -> IssueState:
        """The issue's state; raises :class:`IssueNotFoundError` for an unknown id."""
        try:
            return self._states[IssueId(issue_id)]
        except KeyError:
            raise IssueNotFoundError(f"no issue with id {issue_id!r}") from None

    def open_issues(
        self,
        *,
        unit: str | None = None,
        within: str | None = None,
        department: str | None = None,
        hierarchy: Hierarchy | None = None,
    ) -> list[IssueState]:
        """Open issues (not yet resolved or closed), oldest registration first.

        Args:
            unit: only issues handled at exactly this unit.
            within: only issues handled at this unit or below it (needs ``hierarchy``).
            department: only issues whose lead department is this one.
            hierarchy: the tree used by ``within``.
        """
        if department is not None:
            ids: Iterable[IssueId] = self._by_department.get(DepartmentId(department), set())
        elif unit is not None:
            ids = self._by_unit.get(UnitId(unit), set())
        else:
            ids = (i for units in self._by_unit.values() for i in units)
        states = [self._states[i] for i in ids]
        if unit is not None:
            states = [s for s in states if s.unit == unit]
        if within is not None:
            if hierarchy is None:
                raise ConfigurationError("open_issues(within=...) needs the hierarchy")
            states = [s for s in states if hierarchy.is_within(s.unit, within)]
        states.sort(key=lambda s: (s.registered_at, s.issue_id))
        return states

    def overdue(
        self,
        at: datetime,
        calendar: WorkCalendar,
        *,
        warnings: WarningThresholds | None = None,
        minimum: WarningLevel = WarningLevel.RED,
    ) -> list[OverdueIssue]:
        """Issues whose deadline reading at ``at`` is at ``minimum`` level or worse.

        With the default ``minimum=RED`` these are the breached ones; pass
        ``WarningLevel.YELLOW`` for the early-warning list. Most urgent first.
        """
        found: list[OverdueIssue] = []
        for ids in self._by_unit.values():
            for issue_id in ids:
                state = self._states[issue_id]
                reading = deadline_reading(state, at, calendar, warnings)
                if reading is not None and reading.level >= minimum:
                    found.append(OverdueIssue(state, reading))
        found.sort(key=lambda o: (-o.reading.level, o.reading.deadline.due_at, o.state.issue_id))
        return found

    def backlog(self, *, by: str = "status") -> dict[str, int]:
        """Counts of issues by ``"status"``, or open issues by ``"unit"`` or ``"department"``."""
        if by == "status":
            return dict(Counter(s.status.value for s in self._states.values()))
        if by == "unit":
            return {u: len(ids) for u, ids in self._by_unit.items() if ids}
        if by == "department":
            return {d: len(ids) for d, ids in self._by_department.items() if ids}
        raise ConfigurationError(f"backlog(by={by!r}): use 'status', 'unit' or 'department'")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IssueProjection):
            return NotImplemented
        return self._states == other._states and self._index() == other._index()

    def _index(self) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
        return (
            {k: frozenset(v) for k, v in self._by_unit.items() if v},
            {k: frozenset(v) for k, v in self._by_department.items() if v},
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        open_count = sum(len(v) for v in self._by_unit.values())
        return (
            f"<IssueProjection {len(self._states)} issues, {open_count} open, "
            f"at position {self._position}>"
        )
