"""Downward meetings as an event-sourced stream: state, fold, and the deciders.

A meeting's life: scheduled (``MeetingScheduled``), then held (``MeetingHeld``) or
cancelled (``MeetingCancelled``). A meeting called for the occasion starts directly
with ``MeetingHeld``. :func:`evolve_meeting` folds the events into a
:class:`MeetingState`; :func:`schedule_meeting`, :func:`hold_meeting` and
:func:`cancel_meeting` check a request against the state and the rules and return the
event, changing nothing.

The rules:

* the host is exactly one level below the convener (下沉一级), otherwise
  :class:`~closedloop.NotOneLevelDownError`;
* the convening leader belongs to the convening unit, and holds ``Action.CONVENE``
  over the host when an authorizer is given (:class:`~closedloop.PermissionDeniedError`);
* every decision is about an agenda issue, at most one per issue, and the departments
  it names were at the table (unless ``require_present=False``).

Holding a meeting also returns the lifecycle commands its decisions imply, for the
application service to execute through ``decide`` (so deadlines come from the policy
in force when they are decided):

=====================  =========================================================
decision               commands, in order
=====================  =========================================================
``ASSIGN``             escalations up to the convener's unit (for an issue the
                       host flagged without escalating), then ``AssignIssue``
``RESOLVED_ON_SITE``   the same, then ``ResolveIssue`` by the lead department
``ESCALATE``           escalations up to the convener's parent
``DEFER``              none: the issue stays open for a later meeting
``TASK_FORCE``         none here: ``taskforces.links_from_meetings`` turns it into
                       a ``LinkIssue`` from the meeting record
=====================  =========================================================

Escalations and the assignment are issued by the convening leader; the resolution by
staff of the lead department, which :class:`MeetingCommand` names.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import NamedTuple, Protocol

import attrs

from closedloop._checks import aware
from closedloop.access import Action, Actor, Authorizer, Target, require_permission
from closedloop.errors import (
    ClosedLoopError,
    CommandError,
    ConfigurationError,
    InvariantError,
    NotOneLevelDownError,
    PermissionDeniedError,
)
from closedloop.hierarchy import Hierarchy
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, MeetingId, UnitId
from closedloop.lifecycle.commands import AssignIssue, Command, EscalateIssue, ResolveIssue
from closedloop.meetings.events import (
    DecisionKind,
    MeetingCancelled,
    MeetingDecision,
    MeetingEvent,
    MeetingHeld,
    MeetingScheduled,
)
from closedloop.meetings.planner import AttendeePlan
from closedloop.workdays import WorkCalendar

__all__ = [
    "MeetingCommand",
    "MeetingContext",
    "MeetingOutcome",
    "MeetingState",
    "MeetingStatus",
    "cancel_meeting",
    "decisions_as_planned",
    "evolve_meeting",
    "hold_meeting",
    "replay_meeting",
    "schedule_meeting",
]


class MeetingStatus(enum.Enum):
    """Where a meeting stands."""

    SCHEDULED = "scheduled"
    HELD = "held"
    """Terminal."""
    CANCELLED = "cancelled"
    """Terminal."""


@attrs.frozen
class MeetingState:
    """Everything recorded about one meeting, as of its latest event."""

    meeting_id: MeetingId
    version: int
    status: MeetingStatus
    convener_unit: UnitId
    convener: ActorId
    host_unit: UnitId
    day: date
    updated_at: datetime
    starts_at: datetime | None = None
    cadence: str = ""
    venue: str = ""
    agenda: tuple[IssueId, ...] = ()
    planned_attendees: tuple[DepartmentId, ...] = ()
    attendees: tuple[DepartmentId, ...] = ()
    decisions: tuple[MeetingDecision, ...] = ()
    duration_minutes: int | None = None
    scheduled_at: datetime | None = None
    held_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""

    @property
    def decided_issues(self) -> tuple[IssueId, ...]:
        """Issues with a decision other than ``DEFER``."""
        return tuple(d.issue_id for d in self.decisions if d.kind is not DecisionKind.DEFER)


def _fail(state: MeetingState | None, event: MeetingEvent, why: str) -> InvariantError:
    where = f"meeting {event.meeting_id!r}"
    if state is not None:
        where += f" ({state.status.value}, version {state.version})"
    return InvariantError(f"{where}: {type(event).__name__} version {event.version}: {why}")


def _held(state: MeetingState | None, e: MeetingHeld) -> MeetingState:
    return MeetingState(
        meeting_id=e.meeting_id,
        version=e.version,
        status=MeetingStatus.HELD,
        convener_unit=e.convener_unit,
        convener=e.convener,
        host_unit=e.host_unit,
        day=e.day,
        updated_at=e.occurred_at,
        starts_at=state.starts_at if state is not None else None,
        cadence=state.cadence if state is not None else "",
        venue=e.venue,
        agenda=e.agenda,
        planned_attendees=state.planned_attendees if state is not None else (),
        attendees=e.attendees,
        decisions=e.decisions,
        duration_minutes=e.duration_minutes,
        scheduled_at=state.scheduled_at if state is not None else None,
        held_at=e.occurred_at,
    )


def evolve_meeting(state: MeetingState | None, event: MeetingEvent) -> MeetingState:
    """The meeting's state after ``event``: a pure function of the state and the event.

    Raises:
        InvariantError: when the event does not follow (wrong version or stream, time
            going backwards, a held or cancelled meeting changing, a held meeting at
            other units than scheduled, or a whistle-call event).
    """
    if state is None:
        if event.version != 1:
            raise _fail(state, event, "the first event has version 1")
        if isinstance(event, MeetingScheduled):
            return MeetingState(
                meeting_id=event.meeting_id,
                version=1,
                status=MeetingStatus.SCHEDULED,
                convener_unit=event.convener_unit,
                convener=event.convener,
                host_unit=event.host_unit,
                day=event.day,
                updated_at=event.occurred_at,
                starts_at=event.starts_at,
                cadence=event.cadence,
                venue=event.venue,
                agenda=event.agenda,
                planned_attendees=event.planned_attendees,
                scheduled_at=event.occurred_at,
            )
        if isinstance(event, MeetingHeld):
            return _held(None, event)
        raise _fail(state, event, "a meeting starts with MeetingScheduled or MeetingHeld")
    if event.meeting_id != state.meeting_id:
        raise _fail(state, event, f"the event belongs to meeting {event.meeting_id!r}")
    if event.version != state.version + 1:
        raise _fail(state, event, f"expected version {state.version + 1}")
    if event.occurred_at < state.updated_at:
        raise _fail(state, event, "it is earlier than the previous event")
    if state.status is not MeetingStatus.SCHEDULED:
        raise _fail(state, event, "the meeting is over")
    if isinstance(event, MeetingHeld):
        if (event.convener_unit, event.host_unit) != (state.convener_unit, state.host_unit):
            raise _fail(state, event, "held by or at other units than scheduled")
        return _held(state, event)
    if isinstance(event, MeetingCancelled):
        return attrs.evolve(
            state,
            version=event.version,
            status=MeetingStatus.CANCELLED,
            updated_at=event.occurred_at,
            cancelled_at=event.occurred_at,
            cancel_reason=event.reason,
        )
    raise _fail(state, event, "not allowed for a scheduled meeting")


def replay_meeting(events: Iterable[MeetingEvent]) -> MeetingState:
    """The state of a meeting from its whole stream (a left fold of :func:`evolve_meeting`).

    Raises:
        InvariantError: for an empty stream or one that does not fold.
    """
    state: MeetingState | None = None
    for event in events:
        state = evolve_meeting(state, event)
    if state is None:
        raise InvariantError("a meeting needs at least one event")
    return state


def _held_in_order(
    meetings: Iterable[MeetingState | MeetingHeld],
    *,
    caller: str,
    error: type[ClosedLoopError] = ConfigurationError,
) -> list[MeetingState | MeetingHeld]:
    """The held meetings among ``meetings`` (states or ``MeetingHeld`` events), in the
    order they were held (then by id); meetings not held are passed over.

    Raises:
        error: naming ``caller``, for anything that is neither.
    """
    held: list[tuple[datetime, str, MeetingState | MeetingHeld]] = []
    for meeting in meetings:
        if isinstance(meeting, MeetingHeld):
            held.append((meeting.occurred_at, meeting.meeting_id, meeting))
        elif isinstance(meeting, MeetingState):
            if meeting.status is MeetingStatus.HELD and meeting.held_at is not None:
                held.append((meeting.held_at, meeting.meeting_id, meeting))
        else:
            raise error(
                f"{caller} takes meeting states or MeetingHeld events, "
                f"not {type(meeting).__name__}: {meeting!r}"
            )
    held.sort(key=lambda item: (item[0], item[1]))
    return [meeting for _, _, meeting in held]


# -- deciding -------------------------------------------------------------------------


class _DepartmentDirectory(Protocol):
    def __contains__(self, department_id: object, /) -> bool: ...


class MeetingContext(NamedTuple):
    """Everything the meeting deciders need besides the request and the state.

    Attributes:
        actor: who acts: the convening leader, or the official who blows a whistle
            (or a department's staff reporting to one).
        at: when (aware, from the clock passed in).
        hierarchy: the administrative tree (one level down).
        new_event_id: gives a fresh event id each call.
        access: when given, checks ``CONVENE`` (meetings) and ``SUMMON`` (whistles).
        calendar: the working-day calendar; whistle calls need it for their limits.
        departments: when given, department ids are checked against it.
    """

    actor: Actor
    at: datetime
    hierarchy: Hierarchy
    new_event_id: Callable[[], EventId]
    access: Authorizer | None = None
    calendar: WorkCalendar | None = None
    departments: _DepartmentDirectory | None = None


def _check_at(context: MeetingContext) -> datetime:
    return aware(context.at, "the decision time")


def _authorize(context: MeetingContext, action: Action, unit: UnitId) -> None:
    if context.access is None:
        return
    require_permission(context.access, context.actor, action, Target(unit), context.at)


def _convener_unit(context: MeetingContext, given: str | None) -> UnitId:
    actor = context.actor
    unit = given if given is not None else actor.unit
    if unit is None:
        raise CommandError(
            f"actor {actor.id!r} belongs to no unit: name the convening unit explicitly"
        )
    if actor.unit is not None and actor.unit != unit:
        raise PermissionDeniedError(
            actor.id,
            Action.CONVENE.value,
            f"a meeting of unit {unit!r} is convened by its own leader; "
            f"{actor.id!r} belongs to {actor.unit!r}",
        )
    return UnitId(unit)


def _one_level_down(hierarchy: Hierarchy, convener: UnitId, host: UnitId) -> None:
    if not hierarchy.is_one_level_down(convener, host):
        parent = hierarchy.parent(host)
        where = f"its parent is {parent.id!r}" if parent is not None else "it is the root"
        raise NotOneLevelDownError(
            convener,
            host,
            f"a downward meeting is held exactly one level below the convener; {where}",
        )


def _day_of(context: MeetingContext, at: datetime) -> date:
    if context.calendar is not None:
        return context.calendar.day_of(at)
    return at.date()


def _check_departments(context: MeetingContext, meeting_id: str, ids: Iterable[str]) -> None:
    directory = context.departments
    if directory is None:
        return
    unknown = [d for d in ids if d not in directory]
    if unknown:
        raise CommandError(f"meeting {meeting_id!r}: unknown department(s) {unknown}")


def _meeting_id(value: str) -> MeetingId:
    if not isinstance(value, str) or not value:
        raise CommandError(f"a meeting needs a non-empty string id, got {value!r}")
    return MeetingId(value)


def schedule_meeting(
    meeting_id: str,
    state: MeetingState | None,
    *,
    host_unit: str,
    day: date,
    context: MeetingContext,
    convener_unit: str | None = None,
    starts_at: datetime | None = None,
    agenda: Iterable[str] = (),
    planned_attendees: Iterable[str] = (),
    cadence: str = "",
    venue: str = "",
) -> MeetingScheduled:
    """Put a downward meeting in the diary: the event to record, or an error.

    The convener is ``context.actor``; the convening unit defaults to the actor's unit.
    ``agenda`` is typically a demand list's ``issue_ids`` and ``planned_attendees`` an
    attendee plan's ``departments``.

    Raises:
        NotOneLevelDownError: the host is not a child of the convening unit.
        PermissionDeniedError: the actor belongs to another unit, or may not convene
            at the host.
        CommandError: the meeting exists already, bad dates, unknown departments.
        UnknownUnitError: a unit the hierarchy does not have.
    """
    at = _check_at(context)
    mid = _meeting_id(meeting_id)
    if state is not None:
        raise CommandError(f"meeting {mid!r} already exists ({state.status.value})")
    if isinstance(day, datetime) or not isinstance(day, date):
        raise CommandError(f"meeting {mid!r}: day must be a date, got {day!r}")
    if starts_at is not None:
        if not isinstance(starts_at, datetime) or starts_at.utcoffset() is None:
            raise CommandError(f"meeting {mid!r}: starts_at must be an aware datetime")
        if _day_of(context, starts_at) != day:
            raise CommandError(
                f"meeting {mid!r}: starts_at {starts_at.isoformat()} is not on {day}"
            )
    convener = _convener_unit(context, convener_unit)
    host = UnitId(host_unit)
    _one_level_down(context.hierarchy, convener, host)
    attendees = tuple(dict.fromkeys(DepartmentId(d) for d in planned_attendees))
    _check_departments(context, mid, attendees)
    _authorize(context, Action.CONVENE, host)
    return MeetingScheduled(
        event_id=context.new_event_id(),
        meeting_id=mid,
        version=1,
        occurred_at=at,
        actor=context.actor.id,
        convener_unit=convener,
        convener=context.actor.id,
        host_unit=host,
        day=day,
        starts_at=starts_at,
        cadence=cadence,
        agenda=tuple(dict.fromkeys(IssueId(i) for i in agenda)),
        planned_attendees=attendees,
        venue=venue,
    )


class MeetingCommand(NamedTuple):
    """A lifecycle command a meeting decision implies, and who issues it.

    ``acting_department`` is ``None`` when the convening leader issues the command, or
    the department whose staff must (the lead, for a resolution on site).
    """

    command: Command
    acting_department: DepartmentId | None = None


class MeetingOutcome(NamedTuple):
    """What holding a meeting yields: the event to record and the commands to execute."""

    event: MeetingHeld
    commands: tuple[MeetingCommand, ...]


def _climb(
    hierarchy: Hierarchy, issue_id: IssueId, start: UnitId, target: UnitId, reason: str
) -> list[MeetingCommand]:
    """Escalations that take an issue handled at ``start`` up to ``target``."""
    out: list[MeetingCommand] = []
    if start == target:
        return out
    for unit in hierarchy.ancestors(start):
        out.append(MeetingCommand(EscalateIssue(issue_id, reason=reason, to_unit=unit.id)))
        if unit.id == target:
            return out
    raise CommandError(f"issue {issue_id!r}: {target!r} is not above {start!r}")  # pragma: no cover


def hold_meeting(
    meeting_id: str,
    state: MeetingState | None,
    *,
    attendees: Iterable[str],
    context: MeetingContext,
    decisions: Iterable[MeetingDecision] = (),
    agenda: Iterable[str] | None = None,
    host_unit: str | None = None,
    convener_unit: str | None = None,
    duration_minutes: int | None = None,
    handling_units: Mapping[IssueId, UnitId] | Mapping[str, str] | None = None,
    venue: str | None = None,
    require_present: bool = True,
) -> MeetingOutcome:
    """Record a meeting as held, with its decisions, and the commands they imply.

    For a scheduled meeting the units come from the state (``host_unit`` and
    ``convener_unit``, when given, must agree) and the agenda defaults to the scheduled
    one. Without a state the meeting is one called for the occasion: ``host_unit`` is
    required and the agenda defaults to the decided issues. The day is the day of
    ``context.at`` (in the calendar's zone when the context has a calendar).

    ``handling_units`` says where each agenda issue is handled now (a demand list's
    :meth:`~closedloop.meetings.DemandList.handling_units`); an issue not named is taken
    to be handled at the convening unit. An issue handled within the host is escalated
    up to the convening unit before it is assigned.

    Raises:
        NotOneLevelDownError: the host is not a child of the convening unit.
        PermissionDeniedError: the actor belongs to another unit or may not convene.
        CommandError: the meeting is over or differs from the schedule; a decision
            about an issue not on the agenda, two decisions on one issue, a decided
            department not present, an issue handled outside the host, an escalation
            from the root, a bad duration, unknown departments.
    """
    at = _check_at(context)
    mid = _meeting_id(meeting_id)
    hierarchy = context.hierarchy
    if state is not None:
        if state.meeting_id != mid:
            raise CommandError(f"meeting {mid!r} given the state of {state.meeting_id!r}")
        if state.status is not MeetingStatus.SCHEDULED:
            raise CommandError(f"meeting {mid!r} is {state.status.value}; it cannot be held")
        for given, recorded, what in (
            (host_unit, state.host_unit, "host"),
            (convener_unit, state.convener_unit, "convening unit"),
        ):
            if given is not None and given != recorded:
                raise CommandError(
                    f"meeting {mid!r} was scheduled with {what} {recorded!r}, not {given!r}"
                )
        if at < state.updated_at:
            raise CommandError(f"meeting {mid!r}: {at.isoformat()} is before its last event")
        convener = _convener_unit(context, state.convener_unit)
        host = state.host_unit
    else:
        if host_unit is None:
            raise CommandError(f"meeting {mid!r} was not scheduled: name its host unit")
        convener = _convener_unit(context, convener_unit)
        host = UnitId(host_unit)
    _one_level_down(hierarchy, convener, host)
    if duration_minutes is not None and (
        isinstance(duration_minutes, bool)
        or not isinstance(duration_minutes, int)
        or duration_minutes <= 0
    ):
        raise CommandError(
            f"meeting {mid!r}: duration_minutes is a whole number > 0, got {duration_minutes!r}"
        )
    present = tuple(dict.fromkeys(DepartmentId(d) for d in attendees))
    chosen = tuple(decisions)
    for decision in chosen:
        if not isinstance(decision, MeetingDecision):
            raise CommandError(
                f"meeting {mid!r}: expected MeetingDecision values, got {decision!r}"
            )
    if agenda is not None:
        items = tuple(dict.fromkeys(IssueId(i) for i in agenda))
    elif state is not None:
        items = state.agenda
    else:
        items = tuple(dict.fromkeys(d.issue_id for d in chosen))
    on_agenda = set(items)
    decided: set[IssueId] = set()
    for decision in chosen:
        if decision.issue_id not in on_agenda:
            raise CommandError(
                f"meeting {mid!r}: a decision on issue {decision.issue_id!r}, not on the agenda"
            )
        if decision.issue_id in decided:
            raise CommandError(f"meeting {mid!r}: two decisions on issue {decision.issue_id!r}")
        decided.add(decision.issue_id)
        if require_present:
            absent = [d for d in decision.departments if d not in present]
            if absent:
                raise CommandError(
                    f"meeting {mid!r}: issue {decision.issue_id!r} is given to {absent}, "
                    "who did not attend"
                )
    _check_departments(context, mid, present)
    _check_departments(context, mid, [d for x in chosen for d in x.departments])
    _authorize(context, Action.CONVENE, host)

    units = {str(k): str(v) for k, v in (handling_units or {}).items()}
    reason = f"decided at meeting {mid}"
    commands: list[MeetingCommand] = []
    for decision in chosen:
        issue = decision.issue_id
        where = UnitId(units.get(issue, convener))
        if where != convener and not hierarchy.is_within(where, host):
            raise CommandError(
                f"meeting {mid!r}: issue {issue!r} is handled at {where!r}, outside the "
                f"host {host!r} and the convening unit {convener!r}"
            )
        kind = decision.kind
        if kind in (DecisionKind.ASSIGN, DecisionKind.RESOLVED_ON_SITE):
            assert decision.lead is not None
            commands += _climb(hierarchy, issue, where, convener, reason)
            commands.append(MeetingCommand(AssignIssue(issue, decision.lead, decision.co_handlers)))
            if kind is DecisionKind.RESOLVED_ON_SITE:
                summary = decision.note or reason
                commands.append(MeetingCommand(ResolveIssue(issue, summary), decision.lead))
        elif kind is DecisionKind.ESCALATE:
            parent = hierarchy.parent(convener)
            if parent is None:
                raise CommandError(
                    f"meeting {mid!r}: issue {issue!r} cannot go above {convener!r}, the root"
                )
            commands += _climb(hierarchy, issue, where, parent.id, decision.note or reason)
    event = MeetingHeld(
        event_id=context.new_event_id(),
        meeting_id=mid,
        version=1 if state is None else state.version + 1,
        occurred_at=at,
        actor=context.actor.id,
        convener_unit=convener,
        convener=context.actor.id,
        host_unit=host,
        day=_day_of(context, at),
        attendees=present,
        agenda=items,
        decisions=chosen,
        duration_minutes=duration_minutes,
        venue=venue if venue is not None else (state.venue if state is not None else ""),
    )
    return MeetingOutcome(event, tuple(commands))


def cancel_meeting(
    state: MeetingState | None, *, context: MeetingContext, reason: str = ""
) -> MeetingCancelled:
    """Call off a scheduled meeting.

    Raises:
        CommandError: no such meeting, or it is already held or cancelled.
        PermissionDeniedError: the actor belongs to another unit or may not convene.
    """
    at = _check_at(context)
    if state is None:
        raise CommandError("no such meeting to cancel")
    if state.status is not MeetingStatus.SCHEDULED:
        raise CommandError(f"meeting {state.meeting_id!r} is {state.status.value}")
    if at < state.updated_at:
        raise CommandError(
            f"meeting {state.meeting_id!r}: {at.isoformat()} is before its last event"
        )
    _convener_unit(context, state.convener_unit)
    _authorize(context, Action.CONVENE, state.host_unit)
    return MeetingCancelled(
        event_id=context.new_event_id(),
        meeting_id=state.meeting_id,
        version=state.version + 1,
        occurred_at=at,
        actor=context.actor.id,
        reason=reason,
    )


def decisions_as_planned(
    plan: AttendeePlan, *, note: str = "", defer_uncovered: bool = True
) -> list[MeetingDecision]:
    """The decisions that assign every covered issue to the departments seated for it.

    Each covered issue with a lead seat gets an ``ASSIGN`` decision to the department in
    that seat, with the others seated for it as co-handlers. With ``defer_uncovered``
    every uncovered issue gets a ``DEFER`` decision whose note says why.
    """
    out = [
        MeetingDecision(s.issue_id, DecisionKind.ASSIGN, s.lead, s.co_handlers, note)
        for s in plan.seating
        if s.lead is not None
    ]
    if defer_uncovered:
        out += [
            MeetingDecision(u.issue_id, DecisionKind.DEFER, note=u.detail or u.reason.value)
            for u in plan.uncovered
        ]
    return out
