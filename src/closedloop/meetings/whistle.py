"""Whistle calls (村社一吹哨、科室来报到): a lower unit summons departments, who report.

A village, community or town *blows the whistle* (``WhistleBlown``): it summons
sections or departments, each to report within a limit, typically a few working
minutes or hours (Pinggu, where the practice began, asked for 30 minutes). Each
summoned department then *reports* (``DepartmentReported``), on time or late against
its due instant. The call is a stream of its own, like a meeting.

Limits are :class:`~closedloop.TimeLimit` values; their due instants are computed with
:func:`closedloop.deadlines.due` on the context's calendar when the whistle is blown and
recorded in the event, so folding the log never needs the calendar. A limit in working
minutes or hours needs a calendar with working hours; outside working hours the clock
does not run, so a call at 17:20 with 30 working minutes is due at 08:50 the next
working day with 08:30-17:30 hours. Response times are measured the same way, in
working minutes.

Being late is a derived fact: a department that has not reported is late at an
instant past its due instant, which :meth:`WhistleState.overdue` answers; nothing is
stored until it reports.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

import attrs

from closedloop.access import Action, ActorKind
from closedloop.deadlines import TimeLimit, due
from closedloop.errors import (
    CommandError,
    ConfigurationError,
    InvariantError,
    PermissionDeniedError,
)
from closedloop.ids import ActorId, DepartmentId, IssueId, MeetingId, UnitId
from closedloop.meetings.events import DepartmentReported, MeetingEvent, Summons, WhistleBlown
from closedloop.meetings.record import (
    MeetingContext,
    _authorize,
    _check_at,
    _check_departments,
    _meeting_id,
)
from closedloop.workdays import WorkCalendar

__all__ = [
    "DEFAULT_WHISTLE_LIMIT",
    "ResponseTime",
    "WhistleReport",
    "WhistleState",
    "WhistleStats",
    "blow_whistle",
    "evolve_whistle",
    "replay_whistle",
    "report_to_whistle",
    "response_times",
    "whistle_stats",
]

DEFAULT_WHISTLE_LIMIT = TimeLimit.working_minutes(30)
"""Thirty working minutes, the limit of the original whistle-and-report practice."""


@attrs.frozen
class WhistleReport:
    """A department's report to a whistle call."""

    department: DepartmentId
    reported_at: datetime
    on_time: bool
    response_minutes: int | None


@attrs.frozen
class WhistleState:
    """Everything recorded about one whistle call, as of its latest event."""

    call_id: MeetingId
    version: int
    unit: UnitId
    blown_at: datetime
    blown_by: ActorId
    summons: tuple[Summons, ...]
    updated_at: datetime
    issue_id: IssueId | None = None
    reason: str = ""
    reports: tuple[WhistleReport, ...] = ()

    @property
    def summoned(self) -> tuple[DepartmentId, ...]:
        """The departments summoned, in the order of the call."""
        return tuple(s.department for s in self.summons)

    @property
    def reported(self) -> tuple[DepartmentId, ...]:
        """The departments that reported, in the order they did."""
        return tuple(r.department for r in self.reports)

    @property
    def pending(self) -> tuple[DepartmentId, ...]:
        """The departments summoned that have not reported yet."""
        done = set(self.reported)
        return tuple(d for d in self.summoned if d not in done)

    @property
    def is_complete(self) -> bool:
        """Whether every summoned department has reported."""
        return not self.pending

    def summons_for(self, department: str) -> Summons:
        """The summons of one department.

        Raises:
            CommandError: when the department was not summoned.
        """
        for s in self.summons:
            if s.department == department:
                return s
        raise CommandError(f"whistle call {self.call_id!r} did not summon {department!r}")

    def overdue(self, at: datetime) -> tuple[DepartmentId, ...]:
        """The departments that have not reported and are past their due instant at ``at``."""
        done = set(self.reported)
        return tuple(
            s.department for s in self.summons if s.department not in done and at > s.due_at
        )

    def late(self, at: datetime | None = None) -> tuple[DepartmentId, ...]:
        """Departments that reported late, and (given ``at``) those overdue at ``at``."""
        out = [r.department for r in self.reports if not r.on_time]
        if at is not None:
            out += self.overdue(at)
        return tuple(out)


def _fail(state: WhistleState | None, event: MeetingEvent, why: str) -> InvariantError:
    where = f"whistle call {event.meeting_id!r}"
    if state is not None:
        where += f" (version {state.version})"
    return InvariantError(f"{where}: {type(event).__name__} version {event.version}: {why}")


def evolve_whistle(state: WhistleState | None, event: MeetingEvent) -> WhistleState:
    """The call's state after ``event``: a pure function of the state and the event.

    Raises:
        InvariantError: when the event does not follow (wrong version or stream, time
            going backwards, a report from a department not summoned or reporting twice,
            or a meeting event).
    """
    if state is None:
        if not isinstance(event, WhistleBlown) or event.version != 1:
            raise _fail(state, event, "a whistle call starts with WhistleBlown, version 1")
        return WhistleState(
            call_id=event.meeting_id,
            version=1,
            unit=event.unit,
            blown_at=event.occurred_at,
            blown_by=event.actor,
            summons=event.summons,
            updated_at=event.occurred_at,
            issue_id=event.issue_id,
            reason=event.reason,
        )
    if event.meeting_id != state.call_id:
        raise _fail(state, event, f"the event belongs to {event.meeting_id!r}")
    if event.version != state.version + 1:
        raise _fail(state, event, f"expected version {state.version + 1}")
    if event.occurred_at < state.updated_at:
        raise _fail(state, event, "it is earlier than the previous event")
    if not isinstance(event, DepartmentReported):
        raise _fail(state, event, "only DepartmentReported follows a whistle")
    if event.department not in state.pending:
        raise _fail(state, event, f"{event.department!r} was not summoned or already reported")
    report = WhistleReport(
        event.department, event.occurred_at, event.on_time, event.response_minutes
    )
    return attrs.evolve(
        state,
        version=event.version,
        updated_at=event.occurred_at,
        reports=(*state.reports, report),
    )


def replay_whistle(events: Iterable[MeetingEvent]) -> WhistleState:
    """The state of a whistle call from its whole stream.

    Raises:
        InvariantError: for an empty stream or one that does not fold.
    """
    state: WhistleState | None = None
    for event in events:
        state = evolve_whistle(state, event)
    if state is None:
        raise InvariantError("a whistle call needs its WhistleBlown event")
    return state


def _calendar(context: MeetingContext) -> WorkCalendar:
    if context.calendar is None:
        raise ConfigurationError("whistle calls need a calendar in the context for their limits")
    return context.calendar


def _working_minutes(calendar: WorkCalendar, start: datetime, end: datetime) -> int | None:
    if calendar.working_hours is None:
        return None
    return int(calendar.working_time_between(start, end) // timedelta(minutes=1))


def blow_whistle(
    call_id: str,
    state: WhistleState | None,
    *,
    summoned: Iterable[str],
    context: MeetingContext,
    limit: TimeLimit = DEFAULT_WHISTLE_LIMIT,
    limits: Mapping[str, TimeLimit] | None = None,
    issue_id: str | None = None,
    reason: str = "",
    unit: str | None = None,
) -> WhistleBlown:
    """吹哨: summon departments to report within ``limit`` (or their own in ``limits``).

    The unit defaults to ``context.actor``'s unit; an actor of another unit may not
    blow its whistle. With an authorizer the actor needs ``Action.SUMMON`` over it.

    Raises:
        CommandError: the call exists already, nobody summoned, a limit that is not a
            TimeLimit, unknown departments.
        PermissionDeniedError: the actor belongs to another unit or may not summon.
        ConfigurationError: no calendar in the context, or a limit in working hours on
            a calendar without working hours.
    """
    at = _check_at(context)
    cid = _meeting_id(call_id)
    if state is not None:
        raise CommandError(f"whistle call {cid!r} already exists")
    actor = context.actor
    where = unit if unit is not None else actor.unit
    if where is None:
        raise CommandError(f"actor {actor.id!r} belongs to no unit: name the unit that summons")
    if actor.unit is not None and actor.unit != where:
        raise PermissionDeniedError(
            actor.id, Action.SUMMON.value, f"{actor.id!r} belongs to {actor.unit!r}, not {where!r}"
        )
    departments = tuple(dict.fromkeys(DepartmentId(d) for d in summoned))
    if not departments:
        raise CommandError(f"whistle call {cid!r} summons nobody")
    own = dict(limits or {})
    extra = sorted(set(own) - set(departments))
    if extra:
        raise CommandError(f"whistle call {cid!r}: limits for departments not summoned: {extra}")
    _check_departments(context, cid, departments)
    _authorize(context, Action.SUMMON, UnitId(where))
    calendar = _calendar(context)
    summons = []
    for department in departments:
        chosen = own.get(department, limit)
        if not isinstance(chosen, TimeLimit):
            raise CommandError(f"whistle call {cid!r}: {chosen!r} is not a TimeLimit")
        summons.append(Summons(department, chosen, due(calendar, chosen, at).due_at))
    return WhistleBlown(
        event_id=context.new_event_id(),
        meeting_id=cid,
        version=1,
        occurred_at=at,
        actor=actor.id,
        unit=UnitId(where),
        summons=tuple(summons),
        issue_id=None if issue_id is None else IssueId(issue_id),
        reason=reason,
    )


def report_to_whistle(
    state: WhistleState | None, department: str, *, context: MeetingContext
) -> DepartmentReported:
    """报到: a summoned department reports; on time when at or before its due instant.

    Staff of a department report only for their own department; an official (the
    summoning unit's cadre recording arrivals) may record any.

    Raises:
        CommandError: no such call, the department was not summoned or has reported,
            the clock went backwards.
        PermissionDeniedError: staff reporting for another department.
    """
    at = _check_at(context)
    if state is None:
        raise CommandError("no such whistle call")
    summons = state.summons_for(department)
    if summons.department in state.reported:
        raise CommandError(f"{department!r} has already reported to {state.call_id!r}")
    if at < state.updated_at:
        raise CommandError(
            f"whistle call {state.call_id!r}: {at.isoformat()} is before its last event"
        )
    actor = context.actor
    if actor.kind is ActorKind.DEPARTMENT_STAFF and actor.department != summons.department:
        raise PermissionDeniedError(
            actor.id,
            "report",
            f"staff of {actor.department!r} report only for their own department",
        )
    calendar = _calendar(context)
    return DepartmentReported(
        event_id=context.new_event_id(),
        meeting_id=state.call_id,
        version=state.version + 1,
        occurred_at=at,
        actor=actor.id,
        department=summons.department,
        due_at=summons.due_at,
        on_time=at <= summons.due_at,
        response_minutes=_working_minutes(calendar, state.blown_at, at),
    )


# -- measures ----------------------------------------------------------------------------


@attrs.frozen
class ResponseTime:
    """How long one department took to report to one call."""

    call_id: MeetingId
    unit: UnitId
    department: DepartmentId
    blown_at: datetime
    reported_at: datetime
    due_at: datetime
    on_time: bool
    minutes: int | None
    """Working minutes, or None when the calendar had no working hours."""


def response_times(states: Iterable[WhistleState]) -> list[ResponseTime]:
    """Every report to the calls, sorted by call time, call id, then report order."""
    return [
        ResponseTime(
            state.call_id,
            state.unit,
            report.department,
            state.blown_at,
            report.reported_at,
            state.summons_for(report.department).due_at,
            report.on_time,
            report.response_minutes,
        )
        for state in sorted(states, key=lambda s: (s.blown_at, s.call_id))
        for report in state.reports
    ]


@attrs.frozen
class WhistleStats:
    """One department's record in answering whistle calls.

    ``late`` counts late reports, plus the summons still unanswered past their due
    instant when the figures were taken at an instant; ``outstanding`` counts the
    unanswered summons not yet due (or all unanswered ones without an instant).
    ``on_time_share`` is on-time reports over reports plus overdue summons (``None``
    when there is nothing to judge). Minutes are working minutes of the reports that
    have them.
    """

    department: DepartmentId
    summoned: int
    reported: int
    on_time: int
    late: int
    outstanding: int
    on_time_share: float | None
    mean_minutes: float | None
    median_minutes: float | None
    max_minutes: int | None


def whistle_stats(
    states: Iterable[WhistleState], *, at: datetime | None = None
) -> dict[DepartmentId, WhistleStats]:
    """Per department: summons, reports, on-time share and response times, sorted by id."""
    counts: dict[DepartmentId, list[int]] = {}
    minutes: dict[DepartmentId, list[int]] = {}
    for state in states:
        overdue = set(state.overdue(at)) if at is not None else set()
        reports = {r.department: r for r in state.reports}
        for s in state.summons:
            c = counts.setdefault(s.department, [0, 0, 0, 0, 0])
            c[0] += 1
            report = reports.get(s.department)
            if report is None:
                if s.department in overdue:
                    c[3] += 1
                else:
                    c[4] += 1
                continue
            c[1] += 1
            if report.on_time:
                c[2] += 1
            else:
                c[3] += 1
            if report.response_minutes is not None:
                minutes.setdefault(s.department, []).append(report.response_minutes)
    out: dict[DepartmentId, WhistleStats] = {}
    for department in sorted(counts):
        summoned, reported, on_time, late, outstanding = counts[department]
        judged = on_time + late
        values = minutes.get(department, [])
        out[department] = WhistleStats(
            department=department,
            summoned=summoned,
            reported=reported,
            on_time=on_time,
            late=late,
            outstanding=outstanding,
            on_time_share=on_time / judged if judged else None,
            mean_minutes=statistics.fmean(values) if values else None,
            median_minutes=float(statistics.median(values)) if values else None,
            max_minutes=max(values) if values else None,
        )
    return out
