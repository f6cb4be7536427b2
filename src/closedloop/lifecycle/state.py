"""An issue's state, the transition table, and the pure fold ``evolve``.

The loop: 登记 register → 交办 assign → 签收 accept and 落实 carry out → 办结 resolve →
评价 evaluate → 归档 archive, with escalation one level up, returns, transfers,
suspension and resumption, extensions, reopening for a new cycle, and withdrawal.

:data:`TRANSITIONS` is the one table of (status, event type) → status. ``evolve``
applies it while folding the log, and ``decide`` (in ``commands``) consults the same
table before checking anything else, so the two can never disagree about what a status
allows.

:class:`IssueState` is an immutable record (a ``NamedTuple``): folding builds a new one
per event by copying a flat tuple, which is several times cheaper than rebuilding an
attrs instance with this many fields.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, Final, NamedTuple

from closedloop._enums import FastEnum
from closedloop.deadlines import Difficulty, TimeLimit
from closedloop.errors import InvariantError
from closedloop.ids import ActorId, DepartmentId, IssueId, UnitId
from closedloop.lifecycle.events import (
    AssignmentAccepted,
    AssignmentReturned,
    DeadlineExtended,
    DeadlineMissed,
    IssueArchived,
    IssueAssigned,
    IssueEscalated,
    IssueEvent,
    IssueRegistered,
    IssueReopened,
    IssueResolved,
    IssueResumed,
    IssueSuspended,
    IssueTransferred,
    IssueWithdrawn,
    ResolutionEvaluated,
    WithdrawalReason,
)

__all__ = [
    "TRANSITIONS",
    "IssueState",
    "Status",
    "check_invariants",
    "evolve",
    "replay",
]


class Status(FastEnum):
    """Where an issue stands in the loop."""

    REGISTERED = "registered"
    """登记: waiting to be assigned by its handling unit."""
    ASSIGNED = "assigned"
    """交办: assigned to a lead department, not yet accepted."""
    IN_PROGRESS = "in_progress"
    """落实: accepted and being carried out."""
    SUSPENDED = "suspended"
    """挂起: handling and the deadline clock are stopped."""
    RESOLVED = "resolved"
    """办结: reported solved, waiting for evaluation."""
    ARCHIVED = "archived"
    """归档: evaluated as satisfactory and closed out (terminal)."""
    WITHDRAWN = "withdrawn"
    """Left the loop unresolved: duplicate, out of scope or merged (terminal)."""

    @property
    def is_terminal(self) -> bool:
        """Whether the issue accepts no further event."""
        return self in (Status.ARCHIVED, Status.WITHDRAWN)

    @property
    def is_open(self) -> bool:
        """Whether the problem still waits for a solution (not resolved, not closed)."""
        return self in _OPEN


_OPEN = frozenset({Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED})


class IssueState(NamedTuple):
    """Everything the loop knows about one issue, as of its latest event.

    Deadlines are stored as they were decided (``due_at``); whether the issue is
    overdue is not stored, because it depends on the instant you ask about.
    """

    issue_id: IssueId
    version: int
    status: Status
    unit: UnitId
    """The unit now handling the issue (changes on escalation)."""
    origin_unit: UnitId
    """The unit where the issue was registered."""
    category: str
    difficulty: Difficulty
    title: str
    description: str
    reporter: ActorId | None
    registered_at: datetime
    updated_at: datetime
    lead: DepartmentId | None = None
    co_handlers: tuple[DepartmentId, ...] = ()
    accepted: bool = False
    assigned_at: datetime | None = None
    """When the running deadline clock started (assignment or reopening)."""
    limit: TimeLimit | None = None
    policy: str | None = None
    due_at: datetime | None = None
    due_date: date | None = None
    provisional: bool = False
    extension: int = 0
    paused_units: int = 0
    paused_since: datetime | None = None
    resume_status: Status | None = None
    cycle: int = 1
    resolved_at: datetime | None = None
    resolved_by: ActorId | None = None
    resolving_department: DepartmentId | None = None
    resolved_on_time: bool | None = None
    evaluations: int = 0
    last_satisfied: bool | None = None
    reopen_count: int = 0
    return_count: int = 0
    transfer_count: int = 0
    escalation_count: int = 0
    missed_due_at: datetime | None = None
    """The deadline for which a DeadlineMissed fact was recorded."""
    withdrawn: WithdrawalReason | None = None
    closed_at: datetime | None = None

    def _repr_html_(self) -> str:
        """The issue as a small table, for notebooks."""
        shown = (
            ("status", self.status.value),
            ("unit (origin)", f"{self.unit} ({self.origin_unit})"),
            ("category / difficulty", f"{self.category} / {self.difficulty.value}"),
            ("lead / co-handlers", f"{self.lead or '-'} / {', '.join(self.co_handlers) or '-'}"),
            ("due", f"{self.due_at.isoformat() if self.due_at else '-'} ({self.policy or '-'})"),
            ("cycle / version", f"{self.cycle} / {self.version}"),
            (
                "registered / updated",
                f"{self.registered_at.isoformat()} / {self.updated_at.isoformat()}",
            ),
        )
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
            for k, v in shown
        )
        caption = f"{html.escape(self.title)} ({html.escape(self.issue_id)})"
        return f"<table><caption>{caption}</caption>{rows}</table>"

    def is_overdue(self, at: datetime) -> bool:
        """Whether a running deadline is breached at ``at`` (a suspended issue is not)."""
        return (
            self.due_at is not None
            and self.status in (Status.ASSIGNED, Status.IN_PROGRESS)
            and at > self.due_at
        )

    def has_unrecorded_breach(self, at: datetime) -> bool:
        """Whether a running deadline is breached at ``at`` and no ``DeadlineMissed``
        records that deadline yet (what observing the deadline would record)."""
        return self.is_overdue(at) and self.missed_due_at != self.due_at

    def check_invariants(self) -> None:
        """Raise :class:`~closedloop.InvariantError` if the state breaks a rule of the
        loop (see :func:`check_invariants`)."""
        check_invariants(self)


_FIELDS: Final = IssueState._fields
_I = {name: index for index, name in enumerate(_FIELDS)}
VERSION = _I["version"]
STATUS = _I["status"]
UNIT = _I["unit"]
UPDATED_AT = _I["updated_at"]
LEAD = _I["lead"]
CO_HANDLERS = _I["co_handlers"]
ACCEPTED = _I["accepted"]
ASSIGNED_AT = _I["assigned_at"]
LIMIT = _I["limit"]
POLICY = _I["policy"]
DUE_AT = _I["due_at"]
DUE_DATE = _I["due_date"]
PROVISIONAL = _I["provisional"]
EXTENSION = _I["extension"]
PAUSED_UNITS = _I["paused_units"]
PAUSED_SINCE = _I["paused_since"]
RESUME_STATUS = _I["resume_status"]
CYCLE = _I["cycle"]
RESOLVED_AT = _I["resolved_at"]
RESOLVED_BY = _I["resolved_by"]
RESOLVING_DEPARTMENT = _I["resolving_department"]
RESOLVED_ON_TIME = _I["resolved_on_time"]
EVALUATIONS = _I["evaluations"]
LAST_SATISFIED = _I["last_satisfied"]
REOPEN_COUNT = _I["reopen_count"]
RETURN_COUNT = _I["return_count"]
TRANSFER_COUNT = _I["transfer_count"]
ESCALATION_COUNT = _I["escalation_count"]
MISSED_DUE_AT = _I["missed_due_at"]
WITHDRAWN = _I["withdrawn"]
CLOSED_AT = _I["closed_at"]

_RESUME: Final = "the status before suspension"

_S = Status
TRANSITIONS: Final[dict[tuple[Status | None, type[IssueEvent]], Status | str]] = {
    (None, IssueRegistered): _S.REGISTERED,
    (_S.REGISTERED, IssueEscalated): _S.REGISTERED,
    (_S.REGISTERED, IssueAssigned): _S.ASSIGNED,
    (_S.REGISTERED, IssueWithdrawn): _S.WITHDRAWN,
    (_S.ASSIGNED, AssignmentAccepted): _S.IN_PROGRESS,
    (_S.ASSIGNED, AssignmentReturned): _S.REGISTERED,
    (_S.ASSIGNED, IssueTransferred): _S.ASSIGNED,
    (_S.ASSIGNED, IssueEscalated): _S.REGISTERED,
    (_S.ASSIGNED, IssueSuspended): _S.SUSPENDED,
    (_S.ASSIGNED, DeadlineExtended): _S.ASSIGNED,
    (_S.ASSIGNED, IssueResolved): _S.RESOLVED,
    (_S.ASSIGNED, DeadlineMissed): _S.ASSIGNED,
    (_S.ASSIGNED, IssueWithdrawn): _S.WITHDRAWN,
    (_S.IN_PROGRESS, IssueTransferred): _S.ASSIGNED,
    (_S.IN_PROGRESS, IssueEscalated): _S.REGISTERED,
    (_S.IN_PROGRESS, IssueSuspended): _S.SUSPENDED,
    (_S.IN_PROGRESS, DeadlineExtended): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, IssueResolved): _S.RESOLVED,
    (_S.IN_PROGRESS, DeadlineMissed): _S.IN_PROGRESS,
    (_S.IN_PROGRESS, IssueWithdrawn): _S.WITHDRAWN,
    (_S.SUSPENDED, IssueResumed): _RESUME,
    (_S.SUSPENDED, DeadlineExtended): _S.SUSPENDED,
    (_S.SUSPENDED, IssueWithdrawn): _S.WITHDRAWN,
    (_S.RESOLVED, ResolutionEvaluated): _S.RESOLVED,
    (_S.RESOLVED, IssueReopened): _S.ASSIGNED,
    (_S.RESOLVED, IssueArchived): _S.ARCHIVED,
}
"""(status before, event type) → status after. Absent pairs are not allowed.

Suspension returns to the status the issue had before it (assigned or in progress).
Archiving additionally needs a satisfactory last evaluation (a guard checked by
``decide`` and by :func:`check_invariants`).
"""


_new = tuple.__new__
_Fields = list[Any]
"""An issue state's fields as a mutable list, while folding."""


_REGISTERED_TEMPLATE: Final[list[Any]] = [IssueState._field_defaults.get(name) for name in _FIELDS]


def _registered(e: IssueRegistered) -> IssueState:
    # Positional, from a list of defaults: several times cheaper than keywords.
    f = _REGISTERED_TEMPLATE.copy()
    f[0] = e.issue_id
    f[VERSION] = 1
    f[STATUS] = Status.REGISTERED
    f[UNIT] = e.unit
    f[_I["origin_unit"]] = e.unit
    f[_I["category"]] = e.category
    f[_I["difficulty"]] = e.difficulty
    f[_I["title"]] = e.title
    f[_I["description"]] = e.description
    f[_I["reporter"]] = e.reporter
    f[_I["registered_at"]] = e.occurred_at
    f[UPDATED_AT] = e.occurred_at
    return _new(IssueState, f)


def _clear_assignment(f: _Fields) -> None:
    f[LEAD] = None
    f[CO_HANDLERS] = ()
    f[ACCEPTED] = False
    f[ASSIGNED_AT] = None
    f[DUE_AT] = None
    f[DUE_DATE] = None
    f[PROVISIONAL] = False
    f[EXTENSION] = 0
    f[PAUSED_UNITS] = 0


def _escalated(f: _Fields, e: Any) -> None:
    f[UNIT] = e.to_unit
    f[ESCALATION_COUNT] += 1
    _clear_assignment(f)


def _assigned(f: _Fields, e: Any) -> None:
    f[LEAD] = e.lead
    f[CO_HANDLERS] = e.co_handlers
    f[ACCEPTED] = False
    f[ASSIGNED_AT] = e.occurred_at
    f[LIMIT] = e.limit
    f[POLICY] = e.policy
    f[DUE_AT] = e.due_at
    f[DUE_DATE] = e.due_date
    f[PROVISIONAL] = e.provisional
    f[EXTENSION] = 0
    f[PAUSED_UNITS] = 0


def _accepted(f: _Fields, e: Any) -> None:
    f[ACCEPTED] = True


def _returned(f: _Fields, e: Any) -> None:
    f[RETURN_COUNT] += 1
    _clear_assignment(f)


def _transferred(f: _Fields, e: Any) -> None:
    f[LEAD] = e.to_department
    f[CO_HANDLERS] = e.co_handlers
    f[ACCEPTED] = False
    f[TRANSFER_COUNT] += 1


def _suspended(f: _Fields, e: Any) -> None:
    f[PAUSED_SINCE] = e.occurred_at


def _resumed(f: _Fields, e: Any) -> None:
    f[PAUSED_SINCE] = None
    f[RESUME_STATUS] = None
    f[PAUSED_UNITS] += e.paused_units
    f[DUE_AT] = e.due_at
    f[DUE_DATE] = e.due_date
    f[PROVISIONAL] = e.provisional


def _extended(f: _Fields, e: Any) -> None:
    f[EXTENSION] += e.amount
    f[DUE_AT] = e.due_at
    f[DUE_DATE] = e.due_date
    f[PROVISIONAL] = e.provisional


def _resolved(f: _Fields, e: Any) -> None:
    f[ACCEPTED] = True
    f[RESOLVED_AT] = e.occurred_at
    f[RESOLVED_BY] = e.actor
    f[RESOLVING_DEPARTMENT] = e.department
    f[RESOLVED_ON_TIME] = e.on_time
    f[LAST_SATISFIED] = None


def _evaluated(f: _Fields, e: Any) -> None:
    f[EVALUATIONS] += 1
    f[LAST_SATISFIED] = e.satisfied


def _reopened(f: _Fields, e: Any) -> None:
    f[CYCLE] = e.cycle
    f[REOPEN_COUNT] += 1
    f[LEAD] = e.lead
    f[ACCEPTED] = False
    f[ASSIGNED_AT] = e.occurred_at
    f[LIMIT] = e.limit
    f[POLICY] = e.policy
    f[DUE_AT] = e.due_at
    f[DUE_DATE] = e.due_date
    f[PROVISIONAL] = e.provisional
    f[EXTENSION] = 0
    f[PAUSED_UNITS] = 0
    if e.lead in f[CO_HANDLERS]:
        f[CO_HANDLERS] = tuple(d for d in f[CO_HANDLERS] if d != e.lead)
    f[RESOLVED_AT] = None
    f[RESOLVED_BY] = None
    f[RESOLVING_DEPARTMENT] = None
    f[RESOLVED_ON_TIME] = None
    f[LAST_SATISFIED] = None


def _archived(f: _Fields, e: Any) -> None:
    f[CLOSED_AT] = e.occurred_at


def _withdrawn(f: _Fields, e: Any) -> None:
    f[CLOSED_AT] = e.occurred_at
    f[WITHDRAWN] = e.reason
    f[PAUSED_SINCE] = None
    f[RESUME_STATUS] = None


def _missed(f: _Fields, e: Any) -> None:
    f[MISSED_DUE_AT] = e.due_at


_Apply = Callable[[_Fields, Any], None]
_APPLY: Final[dict[type[IssueEvent], _Apply]] = {
    IssueEscalated: _escalated,
    IssueAssigned: _assigned,
    AssignmentAccepted: _accepted,
    AssignmentReturned: _returned,
    IssueTransferred: _transferred,
    IssueSuspended: _suspended,
    IssueResumed: _resumed,
    DeadlineExtended: _extended,
    IssueResolved: _resolved,
    ResolutionEvaluated: _evaluated,
    IssueReopened: _reopened,
    IssueArchived: _archived,
    IssueWithdrawn: _withdrawn,
    DeadlineMissed: _missed,
}

# One lookup per event: (status, event type) -> (status after, how to apply).
_PLAN: Final[dict[tuple[Status, type[IssueEvent]], tuple[Status | str, _Apply]]] = {
    (status, kind): (to, _APPLY[kind])
    for (status, kind), to in TRANSITIONS.items()
    if status is not None
}


def _first(event: IssueEvent) -> IssueState:
    if not isinstance(event, IssueRegistered):
        raise InvariantError(
            f"issue {event.issue_id!r}: the first event must be IssueRegistered, "
            f"not {type(event).__name__}"
        )
    if event.version != 1:
        raise InvariantError(
            f"issue {event.issue_id!r}: the first event has version {event.version}"
        )
    return _registered(event)


def _refusal(f: _Fields, event: IssueEvent) -> InvariantError:
    """Why ``event`` cannot follow the state whose fields are ``f``."""
    name = type(event).__name__
    if (f[STATUS], type(event)) not in _PLAN:
        return InvariantError(
            f"issue {f[0]!r}: {name} is not allowed in status {f[STATUS].value!r} "
            f"(event version {event.version})"
        )
    if event.version != f[VERSION] + 1 or event.issue_id != f[0]:
        return InvariantError(
            f"issue {f[0]!r} is at version {f[VERSION]}; event {name} for "
            f"{event.issue_id!r} has version {event.version}"
        )
    return InvariantError(
        f"issue {f[0]!r}: {name} at {event.occurred_at.isoformat()} is earlier than the "
        f"previous event at {f[UPDATED_AT].isoformat()}"
    )


def _apply(f: _Fields, event: IssueEvent) -> None:
    """Advance the fields ``f`` of a state by ``event`` in place, checking it follows."""
    status = f[STATUS]
    plan = _PLAN.get((status, type(event)))
    if (
        plan is None
        or event.version != f[VERSION] + 1
        or event.issue_id != f[0]
        or event.occurred_at < f[UPDATED_AT]
    ):
        raise _refusal(f, event)
    to, apply = plan
    if to is _RESUME:
        to = f[RESUME_STATUS]
    elif to is Status.SUSPENDED and status is not Status.SUSPENDED:
        f[RESUME_STATUS] = status
    apply(f, event)
    f[VERSION] = event.version
    f[STATUS] = to
    f[UPDATED_AT] = event.occurred_at


def evolve(state: IssueState | None, event: IssueEvent) -> IssueState:
    """The state after ``event``: a pure function of the state before and the event.

    Raises:
        InvariantError: when the event does not follow from the state (a wrong
            version, time going backwards, a transition the table does not allow).
            Folding a log written by closedloop never raises; a corrupted or forged
            log does.
    """
    if state is None:
        return _first(event)
    fields = list(state)
    _apply(fields, event)
    return _new(IssueState, fields)


def replay(events: Iterable[IssueEvent]) -> IssueState:
    """The state of an issue from its whole event stream: a left fold of :func:`evolve`.

    Equal to folding ``evolve`` event by event, but builds the state record only once.

    Raises:
        InvariantError: for an empty stream or one that does not fold (see ``evolve``).
    """
    iterator = iter(events)
    first = next(iterator, None)
    if first is None:
        raise InvariantError("an issue needs at least its IssueRegistered event")
    fields = list(_first(first))
    for event in iterator:
        _apply(fields, event)
    return _new(IssueState, fields)


def check_invariants(state: IssueState) -> None:
    """Assert every rule an issue state must satisfy; raise :class:`InvariantError` if not.

    An "expensive no-op" when everything is right: property tests call it after every
    step.
    """
    problems: list[str] = []

    def need(condition: bool, message: str) -> None:
        if not condition:
            problems.append(message)

    s = state.status
    need(state.version >= 1, "version must be at least 1")
    need(state.registered_at <= state.updated_at, "updated before registered")
    need(state.cycle == state.reopen_count + 1, "cycle must be reopen count + 1")
    for name in ("return_count", "transfer_count", "escalation_count", "evaluations", "extension"):
        need(getattr(state, name) >= 0, f"{name} is negative")
    need(
        state.escalation_count > 0 or state.unit == state.origin_unit,
        "the handling unit changed without an escalation",
    )
    handled = s in (Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED, Status.RESOLVED)
    if handled:
        need(state.lead is not None, f"a {s.value} issue needs a lead department")
        need(
            state.due_at is not None and state.assigned_at is not None,
            f"a {s.value} issue needs a deadline",
        )
        if state.due_at is not None and state.assigned_at is not None:
            need(state.due_at >= state.assigned_at, "the deadline is before its assignment")
        need(state.lead not in state.co_handlers, "the lead is also listed as co-handler")
    if s is Status.REGISTERED:
        need(state.lead is None and state.due_at is None, "an unassigned issue has a lead")
    if s is Status.IN_PROGRESS:
        need(state.accepted, "an issue in progress must have been accepted")
    if s is Status.SUSPENDED:
        need(state.paused_since is not None, "a suspended issue needs a pause start")
        need(
            state.resume_status in (Status.ASSIGNED, Status.IN_PROGRESS),
            "a suspended issue must resume to assigned or in progress",
        )
    else:
        need(state.paused_since is None, "only a suspended issue has a pause start")
    if s is Status.RESOLVED:
        need(
            state.resolved_at is not None and state.resolving_department is not None,
            "a resolved issue needs its resolution",
        )
    if s is Status.ARCHIVED:
        need(state.last_satisfied is True, "archived without a satisfactory evaluation")
        need(state.resolving_department is not None, "archived without a resolution")
    if s is Status.WITHDRAWN:
        need(state.withdrawn is not None, "withdrawn without a reason")
    need(
        (state.closed_at is not None) == s.is_terminal, "closed_at must be set exactly when closed"
    )
    if problems:
        raise InvariantError(f"issue {state.issue_id!r} ({s.value}): " + "; ".join(problems))
