"""Whistle calls (村社一吹哨、科室来报到) and the figures about meetings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closedloop.access import Actor, ActorKind
from closedloop.deadlines import TimeLimit
from closedloop.errors import (
    CommandError,
    ConfigurationError,
    InvariantError,
    PermissionDeniedError,
)
from closedloop.ids import ActorId, DepartmentId, MeetingId
from closedloop.meetings import (
    DEFAULT_WHISTLE_LIMIT,
    DecisionKind,
    DepartmentReported,
    MeetingContext,
    MeetingDecision,
    MeetingEvent,
    MeetingState,
    MeetingStatus,
    WhistleState,
    blow_whistle,
    cancel_meeting,
    evolve_meeting,
    evolve_whistle,
    fold_meeting_streams,
    hold_meeting,
    issues_decided,
    meeting_counts,
    replay_whistle,
    report_to_whistle,
    response_times,
    schedule_meeting,
    summarize_meetings,
    time_in_meetings,
    whistle_stats,
)
from tests import world

HOURS = world.CALENDAR.with_working_hours("08:30-12:00, 13:30-17:30")
SHANGHAI = world.SHANGHAI
SECTIONS = ("town-a-office", "city-economy")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=SHANGHAI)


def ctx(actor: Actor, when: datetime, **options: object) -> MeetingContext:
    return MeetingContext(
        actor,
        when,
        world.HIERARCHY,
        world.id_maker("w"),
        access=world.ACCESS,
        calendar=HOURS,
        **options,  # type: ignore[arg-type]
    )


def test_a_village_blows_the_whistle_and_the_sections_report() -> None:
    cadre = world.VILLAGE_A1_CADRE
    blown = blow_whistle(
        "w-1", None, summoned=SECTIONS, context=ctx(cadre, at(3, 17, 20)), issue_id="credit"
    )
    assert blown.unit == world.VILLAGE_A1
    assert blown.stream_id == "w-1"
    assert [s.limit for s in blown.summons] == [DEFAULT_WHISTLE_LIMIT] * 2
    # 10 working minutes are left on Monday; the other 20 run from 08:30 on Tuesday.
    assert blown.summons[0].due_at == at(4, 8, 50)
    state = evolve_whistle(None, blown)
    assert state.pending == SECTIONS
    assert not state.is_complete
    assert state.overdue(at(4, 8, 55)) == SECTIONS

    office = world.STAFF["town-a-office"]
    first = report_to_whistle(state, "town-a-office", context=ctx(office, at(4, 8, 45)))
    assert first.on_time
    assert first.response_minutes == 25
    state = evolve_whistle(state, first)
    late = report_to_whistle(state, "city-economy", context=ctx(cadre, at(4, 10, 0)))
    assert not late.on_time
    assert late.response_minutes == 100
    state = evolve_whistle(state, late)
    assert state.is_complete
    assert state.late() == ("city-economy",)
    assert replay_whistle([blown, first, late]) == state

    times = response_times([state])
    assert [(t.department, t.minutes, t.on_time) for t in times] == [
        ("town-a-office", 25, True),
        ("city-economy", 100, False),
    ]
    stats = whistle_stats([state])
    assert stats[DepartmentId("town-a-office")].on_time_share == 1.0
    economy = stats[DepartmentId("city-economy")]
    assert (economy.summoned, economy.reported, economy.on_time, economy.late) == (1, 1, 0, 1)
    assert economy.on_time_share == 0.0
    assert economy.median_minutes == 100.0


def test_limits_per_department_and_outstanding_summons() -> None:
    cadre = world.VILLAGE_A1_CADRE
    blown = blow_whistle(
        "w-2",
        None,
        summoned=SECTIONS,
        limits={"city-economy": TimeLimit.working_hours(2)},
        context=ctx(cadre, at(3, 9, 0)),
        reason="a blocked road",
    )
    dues = {s.department: s.due_at for s in blown.summons}
    assert dues == {"town-a-office": at(3, 9, 30), "city-economy": at(3, 11, 0)}
    state = evolve_whistle(None, blown)
    assert whistle_stats([state])[DepartmentId("city-economy")].outstanding == 1
    stats = whistle_stats([state], at=at(3, 10, 0))
    assert stats[DepartmentId("town-a-office")].late == 1
    assert stats[DepartmentId("town-a-office")].on_time_share == 0.0
    assert stats[DepartmentId("city-economy")].outstanding == 1
    assert stats[DepartmentId("city-economy")].on_time_share is None
    assert state.late(at(3, 12, 0)) == SECTIONS


def test_whistle_rules() -> None:
    cadre = world.VILLAGE_A1_CADRE
    when = at(3, 9, 0)
    with pytest.raises(CommandError, match="nobody"):
        blow_whistle("w", None, summoned=[], context=ctx(cadre, when))
    with pytest.raises(CommandError, match="not summoned"):
        blow_whistle(
            "w",
            None,
            summoned=["town-a-office"],
            limits={"x": DEFAULT_WHISTLE_LIMIT},
            context=ctx(cadre, when),
        )
    with pytest.raises(PermissionDeniedError):
        blow_whistle("w", None, summoned=SECTIONS, unit=world.VILLAGE_A2, context=ctx(cadre, when))
    outsider = Actor(ActorId("outsider"), ActorKind.OFFICIAL, unit=world.VILLAGE_B1)
    with pytest.raises(PermissionDeniedError):
        blow_whistle("w", None, summoned=SECTIONS, context=ctx(outsider, when))
    with pytest.raises(ConfigurationError, match="calendar"):
        blow_whistle("w", None, summoned=SECTIONS, context=ctx(cadre, when)._replace(calendar=None))
    with pytest.raises(ConfigurationError, match="working hours"):
        blow_whistle(
            "w", None, summoned=SECTIONS, context=ctx(cadre, when)._replace(calendar=world.CALENDAR)
        )
    with pytest.raises(CommandError, match="unknown"):
        blow_whistle(
            "w",
            None,
            summoned=["nobody"],
            context=ctx(cadre, when, departments=frozenset(world.DEPARTMENTS)),
        )
    blown = blow_whistle("w", None, summoned=SECTIONS, context=ctx(cadre, when))
    state = evolve_whistle(None, blown)
    with pytest.raises(CommandError, match="already exists"):
        blow_whistle("w", state, summoned=SECTIONS, context=ctx(cadre, when))
    with pytest.raises(CommandError, match="did not summon"):
        report_to_whistle(state, "city-resources", context=ctx(cadre, when))
    with pytest.raises(PermissionDeniedError):
        report_to_whistle(state, "city-economy", context=ctx(world.STAFF["town-a-office"], when))
    with pytest.raises(CommandError, match="before"):
        report_to_whistle(state, "city-economy", context=ctx(cadre, when - timedelta(minutes=1)))
    with pytest.raises(CommandError):
        report_to_whistle(None, "city-economy", context=ctx(cadre, when))
    report = report_to_whistle(state, "city-economy", context=ctx(cadre, when))
    reported = evolve_whistle(state, report)
    with pytest.raises(CommandError, match="already reported"):
        report_to_whistle(reported, "city-economy", context=ctx(cadre, when))
    with pytest.raises(InvariantError):
        evolve_whistle(reported, attrs.evolve(report, version=3))
    with pytest.raises(InvariantError):
        evolve_whistle(state, attrs.evolve(report, version=3))
    with pytest.raises(InvariantError):
        evolve_whistle(None, report)
    with pytest.raises(InvariantError):
        evolve_whistle(state, attrs.evolve(blown, version=2))
    with pytest.raises(InvariantError):
        evolve_whistle(state, attrs.evolve(report, meeting_id=MeetingId("x")))
    with pytest.raises(InvariantError):
        evolve_whistle(state, attrs.evolve(report, occurred_at=when - timedelta(hours=1)))
    with pytest.raises(InvariantError):
        replay_whistle([])
    no_hours = ctx(cadre, when)._replace(calendar=world.CALENDAR)
    day_limit = blow_whistle(
        "d", None, summoned=["city-economy"], limit=TimeLimit.working_days(1), context=no_hours
    )
    unmeasured = report_to_whistle(
        evolve_whistle(None, day_limit), "city-economy", context=no_hours
    )
    assert unmeasured.response_minutes is None
    assert unmeasured.on_time


@given(st.lists(st.integers(0, 600), min_size=1, max_size=2), st.integers(0, 1000))
def test_on_time_means_within_the_limit(delays: list[int], limit: int) -> None:
    """A report is on time exactly when the working time taken is within the limit."""
    cadre = world.VILLAGE_A1_CADRE
    start = at(3, 9, 0)
    blown = blow_whistle(
        "w",
        None,
        summoned=SECTIONS[: len(delays)],
        limit=TimeLimit.working_minutes(limit + 1),
        context=ctx(cadre, start),
    )
    state = evolve_whistle(None, blown)
    when = start
    for department, delay in zip(SECTIONS, sorted(delays), strict=False):
        when = HOURS.add_working_time(start, timedelta(minutes=delay))
        event = report_to_whistle(state, department, context=ctx(cadre, when))
        assert isinstance(event, DepartmentReported)
        assert event.response_minutes == delay
        assert event.on_time == (delay <= limit + 1)
        state = evolve_whistle(state, event)
    assert state.is_complete


def _meetings() -> tuple[list[MeetingState], list[WhistleState]]:
    leader = world.CITY_LEADER
    events: list[MeetingEvent] = []
    c = ctx(leader, at(3, 9))
    first = schedule_meeting("m1", None, host_unit=world.TOWN_A, day=date(2025, 3, 4), context=c)
    events.append(first)
    held = hold_meeting(
        "m1",
        evolve_meeting(None, first),
        attendees=["city-economy", "city-resources"],
        decisions=[
            MeetingDecision.assign("a", "city-economy"),
            MeetingDecision("b", DecisionKind.DEFER),
        ],
        agenda=["a", "b"],
        duration_minutes=60,
        context=ctx(leader, at(4, 9)),
    ).event
    events.append(held)
    blown = blow_whistle(
        "w1", None, summoned=SECTIONS, context=ctx(world.VILLAGE_A1_CADRE, at(4, 10))
    )
    events.append(blown)
    second = schedule_meeting("m2", None, host_unit=world.TOWN_B, day=date(2025, 4, 8), context=c)
    events.append(second)
    events.append(
        hold_meeting(
            "m3",
            None,
            host_unit=world.TOWN_B,
            attendees=["city-economy"],
            context=ctx(leader, datetime(2025, 4, 1, 9, tzinfo=SHANGHAI)),
        ).event
    )
    events.append(cancel_meeting(evolve_meeting(None, second), context=c, reason="flood"))
    meetings, whistles = fold_meeting_streams(events)
    return list(meetings.values()), list(whistles.values())


def test_meeting_figures() -> None:
    meetings, whistles = _meetings()
    assert [w.call_id for w in whistles] == ["w1"]
    assert meeting_counts(meetings) == {world.TOWN_A: 1, world.TOWN_B: 1}
    assert meeting_counts(meetings, by="month") == {"2025-03": 1, "2025-04": 1}
    assert meeting_counts(meetings, by="convener") == {"city-leader": 2}
    assert meeting_counts(meetings, by="pair", start=date(2025, 4, 1)) == {
        f"{world.CITY}>{world.TOWN_B}": 1
    }
    assert meeting_counts(meetings, by="week") == {"2025-W10": 1, "2025-W14": 1}
    assert meeting_counts(meetings, by="host_unit", status=MeetingStatus.CANCELLED) == {
        world.TOWN_B: 1
    }
    with pytest.raises(ConfigurationError):
        meeting_counts(meetings, by="weather")
    assert issues_decided(meetings) == {"m1": 1, "m3": 0}
    summary = summarize_meetings(meetings)
    assert (summary.held, summary.cancelled, summary.scheduled) == (2, 1, 0)
    assert summary.decisions[DecisionKind.ASSIGN] == 1
    assert summary.decisions[DecisionKind.DEFER] == 1
    assert summary.issues_decided == 1
    assert summary.decided_per_meeting == 0.5
    assert summary.attendees_per_meeting == 1.5
    spent = time_in_meetings(meetings, default_minutes=120)
    assert spent.meetings == 2
    assert spent.departments == {"city-economy": 180, "city-resources": 60}
    assert spent.leaders == {"city-leader": 180}
    assert time_in_meetings(meetings, end=date(2025, 3, 31)).departments == {
        "city-economy": 60,
        "city-resources": 60,
    }
    with pytest.raises(ConfigurationError):
        time_in_meetings(meetings, default_minutes=0)
    empty = summarize_meetings([])
    assert empty.decided_per_meeting is None
    assert empty.attendees_per_meeting is None
