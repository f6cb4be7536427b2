"""The events of an issue's life: immutable facts, named in the past tense.

Every event carries ``event_id`` (a client-generated UUID string, so a retried write is
recognised), ``issue_id``, ``version`` (1, 2, 3 ... with no gaps within the issue),
``occurred_at`` (an aware datetime from the clock passed in, never the wall clock),
``actor`` (who did it) and its own payload. An issue's state is the fold of its events
(:func:`closedloop.lifecycle.evolve`).

Events that set a deadline carry the deadline itself (``due_at``/``due_date``) and
what it was computed from, so folding the log never needs the calendar and a later
change of policy never rewrites history.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import ClassVar

import attrs

from closedloop.deadlines import Difficulty, TimeLimit
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId

__all__ = [
    "AssignmentAccepted",
    "AssignmentReturned",
    "DeadlineExtended",
    "DeadlineMissed",
    "EvaluatorKind",
    "IssueArchived",
    "IssueAssigned",
    "IssueEscalated",
    "IssueEvent",
    "IssueRegistered",
    "IssueReopened",
    "IssueResolved",
    "IssueResumed",
    "IssueSuspended",
    "IssueTransferred",
    "IssueWithdrawn",
    "ResolutionEvaluated",
    "WithdrawalReason",
]


class EvaluatorKind(enum.Enum):
    """Who evaluates a resolution."""

    REPORTER = "reporter"
    """The citizen or enterprise that raised the problem."""
    THIRD_PARTY = "third_party"
    """A third-party satisfaction survey (第三方满意度评价)."""
    EXPERIENCE_OFFICER = "experience_officer"
    """A citizen reform experience officer (改革体验官)."""


class WithdrawalReason(enum.Enum):
    """Why an issue left the loop without being resolved."""

    DUPLICATE = "duplicate"
    OUT_OF_SCOPE = "out_of_scope"
    MERGED = "merged"
    """Merged into another issue or a task force."""


@attrs.frozen(kw_only=True)
class IssueEvent:
    """Base of every issue event: identity, position in the stream, time and actor."""

    KIND: ClassVar[str] = "IssueEvent"
    """The stable type name written by codecs."""

    event_id: EventId
    issue_id: IssueId
    version: int
    occurred_at: datetime
    actor: ActorId

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: its issue."""
        return self.issue_id


@attrs.frozen(kw_only=True)
class IssueRegistered(IssueEvent):
    """登记: a problem was registered at a unit."""

    KIND: ClassVar[str] = "IssueRegistered"
    unit: UnitId
    category: str
    difficulty: Difficulty
    title: str
    description: str = ""
    reporter: ActorId | None = None


@attrs.frozen(kw_only=True)
class IssueEscalated(IssueEvent):
    """The issue went up from a unit to its parent, which now handles it."""

    KIND: ClassVar[str] = "IssueEscalated"
    from_unit: UnitId
    to_unit: UnitId
    reason: str = ""


@attrs.frozen(kw_only=True)
class IssueAssigned(IssueEvent):
    """交办: the handling unit assigned the issue to a lead department, with a deadline."""

    KIND: ClassVar[str] = "IssueAssigned"
    lead: DepartmentId
    co_handlers: tuple[DepartmentId, ...] = ()
    limit: TimeLimit
    due_at: datetime
    due_date: date
    policy: str
    """The deadline policy in force, as ``name@version``."""
    provisional: bool = False
    """Whether the deadline rests on estimated calendar data."""


@attrs.frozen(kw_only=True)
class AssignmentAccepted(IssueEvent):
    """签收: the lead department accepted the assignment."""

    KIND: ClassVar[str] = "AssignmentAccepted"
    department: DepartmentId


@attrs.frozen(kw_only=True)
class AssignmentReturned(IssueEvent):
    """退回: the lead department returned a misrouted assignment, with a reason."""

    KIND: ClassVar[str] = "AssignmentReturned"
    department: DepartmentId
    reason: str


@attrs.frozen(kw_only=True)
class IssueTransferred(IssueEvent):
    """转办: the lead moved from one department to another; the deadline keeps running."""

    KIND: ClassVar[str] = "IssueTransferred"
    from_department: DepartmentId
    to_department: DepartmentId
    co_handlers: tuple[DepartmentId, ...] = ()
    reason: str = ""


@attrs.frozen(kw_only=True)
class IssueSuspended(IssueEvent):
    """挂起: handling stopped; the deadline clock stops with it."""

    KIND: ClassVar[str] = "IssueSuspended"
    reason: str = ""


@attrs.frozen(kw_only=True)
class IssueResumed(IssueEvent):
    """恢复: handling resumed; the deadline moved by the working time paused."""

    KIND: ClassVar[str] = "IssueResumed"
    paused_units: int
    """Working time paused, in the limit's units (days or minutes)."""
    due_at: datetime
    due_date: date
    provisional: bool = False


@attrs.frozen(kw_only=True)
class DeadlineExtended(IssueEvent):
    """延期: an approved extension of the deadline."""

    KIND: ClassVar[str] = "DeadlineExtended"
    approved_by: ActorId
    amount: int
    """In the limit's units (working days, calendar days or working minutes)."""
    due_at: datetime
    due_date: date
    reason: str = ""
    provisional: bool = False


@attrs.frozen(kw_only=True)
class IssueResolved(IssueEvent):
    """办结: the lead department reported the problem solved."""

    KIND: ClassVar[str] = "IssueResolved"
    department: DepartmentId
    summary: str = ""
    on_time: bool


@attrs.frozen(kw_only=True)
class ResolutionEvaluated(IssueEvent):
    """评价: someone other than the resolver judged the resolution."""

    KIND: ClassVar[str] = "ResolutionEvaluated"
    evaluator_kind: EvaluatorKind
    satisfied: bool
    score: float | None = None
    comment: str = ""


@attrs.frozen(kw_only=True)
class IssueReopened(IssueEvent):
    """重办: the resolution was not accepted; a new handling cycle with a new deadline."""

    KIND: ClassVar[str] = "IssueReopened"
    cycle: int
    lead: DepartmentId
    limit: TimeLimit
    due_at: datetime
    due_date: date
    policy: str
    reason: str = ""
    provisional: bool = False


@attrs.frozen(kw_only=True)
class IssueArchived(IssueEvent):
    """归档 / 销号: the issue left the loop resolved and evaluated."""

    KIND: ClassVar[str] = "IssueArchived"


@attrs.frozen(kw_only=True)
class IssueWithdrawn(IssueEvent):
    """The issue left the loop unresolved: a duplicate, out of scope, or merged."""

    KIND: ClassVar[str] = "IssueWithdrawn"
    reason: WithdrawalReason
    merged_into: str | None = None
    """The issue or task force it was merged into."""
    note: str = ""


@attrs.frozen(kw_only=True)
class DeadlineMissed(IssueEvent):
    """A breach was observed: a domain fact, recorded once per deadline, never raised."""

    KIND: ClassVar[str] = "DeadlineMissed"
    due_at: datetime
    cycle: int
    lead: DepartmentId
