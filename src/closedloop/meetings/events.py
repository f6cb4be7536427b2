"""The events of downward meetings and whistle calls, each in a stream of its own.

A meeting's stream id is its meeting id; so is a whistle call's (a call is a small
meeting the lower unit convenes). Every event carries the same base fields as an
issue event, with ``meeting_id`` in place of ``issue_id``: ``event_id`` (a UUID string
from the caller), ``meeting_id``, ``version`` (1, 2, ... without gaps in the stream),
``occurred_at`` (aware, from the clock passed in) and ``actor``. ``KIND`` is the stable
type name codecs write.

Field names and types are part of the stored format: values are ids (strings),
dates, aware datetimes, enums, tuples, :class:`~closedloop.TimeLimit`, and the two
small values :class:`MeetingDecision` and :class:`Summons`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import date, datetime
from typing import ClassVar

import attrs

from closedloop.deadlines import TimeLimit
from closedloop.errors import CommandError
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, MeetingId, TaskForceId, UnitId

__all__ = [
    "DecisionKind",
    "DepartmentReported",
    "MeetingCancelled",
    "MeetingDecision",
    "MeetingEvent",
    "MeetingHeld",
    "MeetingScheduled",
    "Summons",
    "WhistleBlown",
]


class DecisionKind(enum.Enum):
    """What a meeting decided about one agenda issue."""

    ASSIGN = "assign"
    """交办 on the spot: a lead department and co-handlers, with the policy's deadline."""
    RESOLVED_ON_SITE = "resolved_on_site"
    """Solved at the meeting itself: assigned to the lead and resolved at once."""
    ESCALATE = "escalate"
    """Beyond the convener's level too: sent up to the convener's parent."""
    DEFER = "defer"
    """Not settled: stays open for a later meeting."""
    TASK_FORCE = "task_force"
    """Referred to a task force (工作专班) for problems shared by many units."""


def _department_tuple(value: Iterable[str]) -> tuple[DepartmentId, ...]:
    if isinstance(value, str):
        raise CommandError("co_handlers is a list of department ids, not one string")
    return tuple(dict.fromkeys(DepartmentId(v) for v in value))


def _optional_department(value: str | None) -> DepartmentId | None:
    return None if value is None else DepartmentId(value)


def _optional_task_force(value: str | None) -> TaskForceId | None:
    return None if value is None else TaskForceId(value)


@attrs.frozen
class MeetingDecision:
    """The meeting's decision on one agenda issue.

    ``ASSIGN`` and ``RESOLVED_ON_SITE`` need a ``lead`` (co-handlers optional, never the
    lead itself); the other kinds name no departments. ``TASK_FORCE`` may name the task
    force it refers the issue to. ``note`` is the minute of the decision.
    ``red_warning`` records that the meeting flagged the issue red (红色预警), whatever
    it decided: :meth:`closedloop.supervision.RedWarningRule.from_meetings` proposes
    supervision for such issues from the meeting record.

    Raises:
        CommandError: for a decision whose departments do not fit its kind.
    """

    issue_id: IssueId = attrs.field(converter=IssueId)
    kind: DecisionKind = attrs.field(converter=DecisionKind)
    lead: DepartmentId | None = attrs.field(default=None, converter=_optional_department)
    co_handlers: tuple[DepartmentId, ...] = attrs.field(default=(), converter=_department_tuple)
    note: str = ""
    task_force: TaskForceId | None = attrs.field(default=None, converter=_optional_task_force)
    red_warning: bool = False

    def __attrs_post_init__(self) -> None:
        needs_lead = self.kind in (DecisionKind.ASSIGN, DecisionKind.RESOLVED_ON_SITE)
        if needs_lead and not self.lead:
            raise CommandError(
                f"issue {self.issue_id!r}: a {self.kind.value} decision needs a lead"
            )
        if not needs_lead and (self.lead is not None or self.co_handlers):
            raise CommandError(
                f"issue {self.issue_id!r}: a {self.kind.value} decision names no departments"
            )
        if self.lead is not None and self.lead in self.co_handlers:
            raise CommandError(
                f"issue {self.issue_id!r}: the lead {self.lead!r} is also listed as co-handler"
            )
        if self.task_force is not None and self.kind is not DecisionKind.TASK_FORCE:
            raise CommandError(f"issue {self.issue_id!r}: only a task_force decision names one")
        if type(self.red_warning) is not bool:
            raise CommandError(
                f"issue {self.issue_id!r}: red_warning is True or False, got {self.red_warning!r}"
            )

    @property
    def departments(self) -> tuple[DepartmentId, ...]:
        """The lead, then the co-handlers (empty for kinds without departments)."""
        return (self.lead, *self.co_handlers) if self.lead is not None else ()

    @classmethod
    def assign(
        cls, issue_id: str, lead: str, co_handlers: tuple[str, ...] = (), note: str = ""
    ) -> MeetingDecision:
        """An ``ASSIGN`` decision."""
        return cls(issue_id, DecisionKind.ASSIGN, lead, co_handlers, note)


@attrs.frozen
class Summons:
    """A department summoned by a whistle call, and by when it must report."""

    department: DepartmentId
    limit: TimeLimit
    due_at: datetime


@attrs.frozen(kw_only=True)
class MeetingEvent:
    """Base of meeting and whistle-call events: identity, position, time and actor."""

    KIND: ClassVar[str] = "MeetingEvent"
    """The stable type name written by codecs."""

    event_id: EventId
    meeting_id: MeetingId
    version: int
    occurred_at: datetime
    actor: ActorId

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: its meeting (or whistle call)."""
        return self.meeting_id


@attrs.frozen(kw_only=True)
class MeetingScheduled(MeetingEvent):
    """A downward meeting was put in the diary, with its agenda and planned attendees."""

    KIND: ClassVar[str] = "MeetingScheduled"
    convener_unit: UnitId
    convener: ActorId
    """The leader who convenes and chairs it."""
    host_unit: UnitId
    day: date
    starts_at: datetime | None = None
    cadence: str = ""
    """The cadence's name, or '' for a meeting called for the occasion."""
    agenda: tuple[IssueId, ...] = ()
    planned_attendees: tuple[DepartmentId, ...] = ()
    venue: str = ""
    """Where in the host unit, e.g. the enterprise visited."""


@attrs.frozen(kw_only=True)
class MeetingHeld(MeetingEvent):
    """下沉一级开会: the meeting took place; who came, what was on it, what was decided."""

    KIND: ClassVar[str] = "MeetingHeld"
    convener_unit: UnitId
    convener: ActorId
    host_unit: UnitId
    day: date
    attendees: tuple[DepartmentId, ...]
    agenda: tuple[IssueId, ...]
    decisions: tuple[MeetingDecision, ...] = ()
    duration_minutes: int | None = None
    venue: str = ""


@attrs.frozen(kw_only=True)
class MeetingCancelled(MeetingEvent):
    """A scheduled meeting was called off."""

    KIND: ClassVar[str] = "MeetingCancelled"
    reason: str = ""


@attrs.frozen(kw_only=True)
class WhistleBlown(MeetingEvent):
    """村社一吹哨: a unit summoned departments, each to report within its limit."""

    KIND: ClassVar[str] = "WhistleBlown"
    unit: UnitId
    summons: tuple[Summons, ...]
    issue_id: IssueId | None = None
    reason: str = ""


@attrs.frozen(kw_only=True)
class DepartmentReported(MeetingEvent):
    """科室来报到: a summoned department reported; ``on_time`` against its due instant."""

    KIND: ClassVar[str] = "DepartmentReported"
    department: DepartmentId
    due_at: datetime
    on_time: bool
    response_minutes: int | None = None
    """Working minutes from the call to the report; None when the calendar has no hours."""
