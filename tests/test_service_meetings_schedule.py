"""Scheduled meetings through the service: schedule, hold as scheduled, demand lists.

The rules pinned here:

* ``ClosedLoop.schedule_meeting`` checks and authorizes as the pure decider does and
  stores ``MeetingScheduled`` in the meeting's new stream;
* ``ClosedLoop.hold_meeting(meeting_id=...)`` holds a scheduled meeting (however it
  was stored) from its state in the log;
* ``ClosedLoop.demand_list`` leaves out issues on the agenda of a meeting scheduled
  and not yet held or cancelled, whoever wrote it, and ids the caller names;
* with the default decisions every agenda item of a held meeting has exactly one
  decision: unrouted items and items no longer waiting are deferred, with the reason.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.departments import yiwu_departments, yiwu_responsibility_matrix
from closedloop.hierarchy import yiwu_hierarchy
from closedloop.ids import EventId
from tests import world

YIWU = yiwu_hierarchy(villages_per_town=3)
DEPARTMENTS = yiwu_departments()
MATRIX = yiwu_responsibility_matrix()
CITY = "330782"
FOTANG = "330782100000"  # 佛堂镇
OTHER_TOWN = YIWU.children(CITY)[1].id
VILLAGE = YIWU.children(FOTANG)[0].id
CITY_LEADER = cl.Actor("city-leader", cl.ActorKind.OFFICIAL, unit=CITY)
TOWN_LEADER = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
START = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)
DAY = date(2025, 3, 4)


def service(
    store: cl.EventStore | None = None,
    *,
    routed: bool = True,
    access: cl.Authorizer | None = None,
    clock: cl.FixedClock | None = None,
) -> cl.ClosedLoop:
    return cl.ClosedLoop(
        hierarchy=YIWU,
        store=store,
        departments=DEPARTMENTS if routed else None,
        matrix=MATRIX if routed else None,
        clock=clock if clock is not None else cl.FixedClock(START),
        access=access,
    )


def escalated(loop: cl.ClosedLoop, category: str = "enterprise_finance") -> str:
    """A problem of 佛堂镇 escalated to the city: on the town's demand list."""
    (registered,) = loop.register(
        TOWN_LEADER, unit=FOTANG, category=category, difficulty="complex", title=category
    )
    loop.escalate(TOWN_LEADER, registered.issue_id, reason="needs the city")
    return registered.issue_id


def kinds(events: list[cl.IssueEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


# -- scheduling ---------------------------------------------------------------------------


def test_scheduling_stores_the_meeting_and_takes_its_agenda_off_the_demand_list() -> None:
    loop = service()
    credit = escalated(loop)
    land = escalated(loop, "land_certificate")
    demand = loop.demand_list(FOTANG)
    assert set(demand.issue_ids) == {credit, land}
    scheduled = loop.schedule_meeting(
        CITY_LEADER, host=FOTANG, day=DAY, agenda=demand, meeting_id="m-1", cadence="monthly"
    )
    assert isinstance(scheduled, cl.MeetingScheduled)
    assert (scheduled.version, scheduled.convener_unit, scheduled.host_unit) == (1, CITY, FOTANG)
    assert scheduled.agenda == demand.issue_ids
    assert loop.store.read_stream("m-1") == [scheduled]
    state = loop.meeting("m-1")
    assert state.status is cl.MeetingStatus.SCHEDULED
    assert state.agenda == demand.issue_ids
    assert loop.demand_list(FOTANG).issue_ids == ()
    # a newly escalated problem is on the list; the scheduled ones are not
    fresh = escalated(loop, "roads")
    assert loop.demand_list(FOTANG).issue_ids == (fresh,)


def test_an_issue_is_on_one_scheduled_agenda_at_a_time() -> None:
    loop = service()
    credit = escalated(loop)
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-1")
    before = loop.store.last_position()
    with pytest.raises(cl.CommandError, match="'m-1', scheduled and not yet held"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-2")
    assert loop.store.last_position() == before
    loop.cancel_meeting(CITY_LEADER, "m-1")
    again = loop.schedule_meeting(
        CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-2"
    )
    assert again.agenda == (credit,)


def test_the_agenda_may_be_items_or_ids_and_the_id_is_made_up_unless_given() -> None:
    loop = service()
    credit = escalated(loop)
    by_items = loop.schedule_meeting(
        CITY_LEADER, host=FOTANG, day=DAY, agenda=list(loop.demand_list(FOTANG))
    )
    assert by_items.agenda == (credit,)
    assert by_items.meeting_id.startswith("meeting-")
    loop.cancel_meeting(CITY_LEADER, by_items.meeting_id)
    by_ids = loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit, credit])
    assert by_ids.agenda == (credit,)
    with pytest.raises(cl.CommandError, match="not one string"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=credit)


def test_scheduling_is_refused_as_the_decider_refuses_it_and_stores_nothing() -> None:
    loop = service()
    credit = escalated(loop)
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, meeting_id="m-1")
    before = loop.store.last_position()
    with pytest.raises(cl.NotOneLevelDownError):
        loop.schedule_meeting(CITY_LEADER, host=VILLAGE, day=DAY, agenda=[credit])
    with pytest.raises(cl.PermissionDeniedError, match="convened by its own leader"):
        loop.schedule_meeting(TOWN_LEADER, host=FOTANG, day=DAY, convener=CITY)
    with pytest.raises(cl.CommandError, match="already exists"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, meeting_id="m-1")
    with pytest.raises(cl.CommandError, match="day must be a date"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=START)
    with pytest.raises(cl.CommandError, match="not a meeting's"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, meeting_id=credit)
    with pytest.raises(cl.CommandError, match="unknown department"):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, planned_attendees=["ghost"])
    assert loop.store.last_position() == before
    assert loop.demand_list(FOTANG).issue_ids == (credit,)


def test_scheduling_needs_convene_over_the_host_under_an_access_policy() -> None:
    standard = cl.AccessPolicy.standard_grants
    no_grants = cl.AccessPolicy(YIWU, [*standard(TOWN_LEADER)], [CITY_LEADER, TOWN_LEADER])
    loop = service(access=no_grants)
    with pytest.raises(cl.PermissionDeniedError):
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY)
    assert loop.store.last_position() == 0
    loop.access = no_grants.with_grants(*standard(CITY_LEADER))
    assert loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY).version == 1


# -- holding what was scheduled -----------------------------------------------------------


def test_a_meeting_scheduled_with_the_pure_decider_and_recorded_can_be_held() -> None:
    clock = cl.FixedClock(START)
    loop = service(clock=clock)
    credit = escalated(loop)
    ids = (EventId(f"e-{k}") for k in itertools.count())
    context = cl.MeetingContext(CITY_LEADER, START, YIWU, lambda: next(ids))
    event = cl.schedule_meeting(
        "m-1", None, host_unit=FOTANG, day=DAY, context=context, agenda=[credit]
    )
    loop.record([event])
    clock.set(datetime(2025, 3, 4, 9, tzinfo=world.SHANGHAI))
    held, events = loop.hold_meeting(CITY_LEADER, host=FOTANG, meeting_id="m-1")
    assert (held.meeting_id, held.version, held.agenda) == ("m-1", 2, (credit,))
    assert held.day == DAY
    assert kinds(events) == ["IssueAssigned", "AssignmentAccepted"]
    assert loop.issue(credit).status is cl.Status.IN_PROGRESS
    state = loop.meeting("m-1")
    assert state.status is cl.MeetingStatus.HELD
    assert state.scheduled_at == START
    assert [type(e).__name__ for e in loop.store.read_stream("m-1")] == [
        "MeetingScheduled",
        "MeetingHeld",
    ]


def test_holding_by_id_needs_no_host_and_refuses_another_one() -> None:
    loop = service()
    credit = escalated(loop)
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-1")
    before = loop.store.last_position()
    with pytest.raises(cl.CommandError, match="scheduled with host"):
        loop.hold_meeting(CITY_LEADER, host=OTHER_TOWN, meeting_id="m-1")
    with pytest.raises(cl.PermissionDeniedError):
        loop.hold_meeting(TOWN_LEADER, meeting_id="m-1")
    assert loop.store.last_position() == before
    held, _ = loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert held.host_unit == FOTANG
    with pytest.raises(cl.CommandError, match="is held; it cannot be held"):
        loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    with pytest.raises(cl.CommandError, match="was not scheduled: name its host"):
        loop.hold_meeting(CITY_LEADER, meeting_id="m-2")


def test_a_cancelled_meeting_cannot_be_held_and_its_agenda_returns_to_the_list() -> None:
    loop = service()
    credit = escalated(loop)
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-1")
    assert loop.demand_list(FOTANG).issue_ids == ()
    cancelled = loop.cancel_meeting(CITY_LEADER, "m-1", reason="typhoon warning")
    assert (cancelled.version, cancelled.reason) == (2, "typhoon warning")
    assert loop.demand_list(FOTANG).issue_ids == (credit,)
    with pytest.raises(cl.CommandError, match="is cancelled"):
        loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    with pytest.raises(cl.CommandError, match="is cancelled"):
        loop.cancel_meeting(CITY_LEADER, "m-1")
    with pytest.raises(cl.CommandError, match="no meeting with id 'm-9'"):
        loop.cancel_meeting(CITY_LEADER, "m-9")
    with pytest.raises(cl.CommandError, match="no meeting with id 'm-9'"):
        loop.meeting("m-9")


def test_a_meeting_scheduled_without_an_agenda_takes_the_demand_list_when_held() -> None:
    loop = service()
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, meeting_id="m-1")
    credit = escalated(loop)
    assert loop.demand_list(FOTANG).issue_ids == (credit,)
    held, events = loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert held.agenda == (credit,)
    assert kinds(events) == ["IssueAssigned", "AssignmentAccepted"]


def test_a_flagged_issue_on_the_schedule_is_escalated_and_assigned_when_held() -> None:
    loop = service()
    (registered,) = loop.register(
        TOWN_LEADER, unit=FOTANG, category="land_certificate", difficulty="difficult", title="x"
    )
    flagged = registered.issue_id
    assert loop.demand_list(FOTANG).issue_ids == ()
    demand = loop.demand_list(FOTANG, flagged=[flagged])
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=demand, meeting_id="m-1")
    held, events = loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert held.agenda == (flagged,)
    assert kinds(events) == ["IssueEscalated", "IssueAssigned", "AssignmentAccepted"]
    assert loop.issue(flagged).unit == CITY


def test_an_agenda_issue_settled_before_the_meeting_is_deferred_with_the_reason() -> None:
    loop = service()
    credit = escalated(loop)
    land = escalated(loop, "land_certificate")
    loop.schedule_meeting(
        CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit, land], meeting_id="m-1"
    )
    loop.assign(CITY_LEADER, land)  # assigned in the office before the meeting
    held, events = loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert held.agenda == (credit, land)
    by_issue: dict[str, cl.MeetingDecision] = {d.issue_id: d for d in held.decisions}
    assert by_issue[credit].kind is cl.DecisionKind.ASSIGN
    assert by_issue[land].kind is cl.DecisionKind.DEFER
    assert by_issue[land].note == f"not on the demand list any more: assigned at {CITY}"
    assert {e.issue_id for e in events} == {credit}


def test_holding_a_scheduled_meeting_that_another_writer_changed_records_nothing() -> None:
    class RacedStore(cl.MemoryEventStore):
        """Another writer cancels the meeting just before it is stored as held."""

        rival: cl.ClosedLoop | None = None

        def append_many(self, batches: Any) -> list[cl.AppendResult]:
            if self.rival is not None:
                rival, self.rival = self.rival, None
                rival.cancel_meeting(CITY_LEADER, "m-1", reason="called off elsewhere")
            return super().append_many(batches)

    store = RacedStore()
    loop = service(store)
    credit = escalated(loop)
    loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-1")
    store.rival = service(store)
    with pytest.raises(cl.ConcurrencyError):
        loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert [type(e).__name__ for e in store.read_stream("m-1")] == [
        "MeetingScheduled",
        "MeetingCancelled",
    ]
    assert loop.issue(credit).status is cl.Status.REGISTERED
    assert loop.demand_list(FOTANG).issue_ids == (credit,)


def test_a_whistle_call_is_not_a_meeting_to_hold() -> None:
    loop = service()
    ids = (EventId(f"w-{k}") for k in itertools.count())
    context = cl.MeetingContext(
        TOWN_LEADER, START, YIWU, lambda: next(ids), calendar=cl.china_calendar()
    )
    call = cl.blow_whistle(
        "call-1",
        None,
        summoned=["330782/economy"],
        context=context,
        limit=cl.TimeLimit.working_days(1),
    )
    loop.record([call])
    with pytest.raises(cl.CommandError, match="not a meeting's: it starts with WhistleBlown"):
        loop.hold_meeting(CITY_LEADER, meeting_id="call-1")


# -- the demand list knows what is scheduled ---------------------------------------------


def test_the_demand_list_leaves_out_ids_the_caller_names() -> None:
    loop = service()
    credit = escalated(loop)
    land = escalated(loop, "land_certificate")
    assert set(loop.demand_list(FOTANG).issue_ids) == {credit, land}
    assert loop.demand_list(FOTANG, already_scheduled=[land]).issue_ids == (credit,)
    with pytest.raises(cl.ConfigurationError, match="not one string"):
        loop.demand_list(FOTANG, already_scheduled=land)


def test_the_demand_list_sees_meetings_other_writers_scheduled_and_held() -> None:
    store = cl.MemoryEventStore()
    ours, theirs = service(store), service(store)
    credit = escalated(ours)
    land = escalated(ours, "land_certificate")
    theirs.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[land], meeting_id="m-1")
    assert ours.demand_list(FOTANG).issue_ids == (credit,)
    held, _ = ours.hold_meeting(CITY_LEADER, host=FOTANG)  # called for the occasion
    assert held.agenda == (credit,)
    assert theirs.demand_list(FOTANG).issue_ids == ()
    theirs.hold_meeting(CITY_LEADER, meeting_id="m-1")
    assert ours.issue(land).status is cl.Status.IN_PROGRESS
    assert ours.demand_list(FOTANG).issue_ids == ()


def test_a_reopened_service_knows_the_meetings_still_scheduled(tmp_path: Path) -> None:
    path = tmp_path / "meetings.db"
    options: dict[str, Any] = {
        "hierarchy": YIWU,
        "departments": DEPARTMENTS,
        "matrix": MATRIX,
        "clock": cl.FixedClock(START),
    }
    with cl.ClosedLoop.open(path, **options) as loop:
        credit = escalated(loop)
        land = escalated(loop, "land_certificate")
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[land], meeting_id="m-1")
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=[credit], meeting_id="m-2")
        loop.cancel_meeting(CITY_LEADER, "m-2")
    with cl.ClosedLoop.open(path, **options) as loop:
        assert loop.demand_list(FOTANG).issue_ids == (credit,)
        held, _ = loop.hold_meeting(CITY_LEADER, meeting_id="m-1")
        assert held.agenda == (land,)


# -- every agenda item is accounted for ---------------------------------------------------


def test_an_unrouted_agenda_item_is_deferred_with_no_route_as_the_reason() -> None:
    loop = service()
    credit = escalated(loop)
    odd = escalated(loop, "ghost_category")  # the matrix has no such category
    held, events = loop.hold_meeting(CITY_LEADER, host=FOTANG)
    assert set(held.agenda) == {credit, odd}
    by_issue: dict[str, cl.MeetingDecision] = {d.issue_id: d for d in held.decisions}
    assert by_issue[credit].kind is cl.DecisionKind.ASSIGN
    assert by_issue[odd].kind is cl.DecisionKind.DEFER
    assert by_issue[odd].note == "no route: the matrix has no category 'ghost_category'"
    assert {e.issue_id for e in events} == {credit}
    assert loop.issue(odd).status is cl.Status.REGISTERED


def test_without_a_matrix_every_item_is_deferred_for_want_of_a_route() -> None:
    loop = service(routed=False)
    credit = escalated(loop)
    held, events = loop.hold_meeting(CITY_LEADER, host=FOTANG, must_bring=["office"])
    assert held.attendees == ("office",)
    assert held.decisions == (
        cl.MeetingDecision(
            credit, cl.DecisionKind.DEFER, note="no route: not routed (no router was given)"
        ),
    )
    assert events == []


def test_decisions_the_caller_gives_are_kept_as_given() -> None:
    loop = service()
    credit = escalated(loop)
    odd = escalated(loop, "ghost_category")
    decision = cl.MeetingDecision.assign(credit, "330782/economy")
    held, _ = loop.hold_meeting(
        CITY_LEADER, host=FOTANG, attendees=["330782/economy"], decisions=[decision]
    )
    assert set(held.agenda) == {credit, odd}
    assert held.decisions == (decision,)


CATEGORIES = ("enterprise_finance", "land_certificate", "roads", "housing", "ghost_category")
UNITS = (FOTANG, VILLAGE, YIWU.children(FOTANG)[1].id)


@st.composite
def problems(draw: st.DrawFn) -> list[tuple[str, str, str, str]]:
    """(category, difficulty, registering unit, what happens: escalated/flagged/scheduled)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(CATEGORIES),
                st.sampled_from(("simple", "complex", "difficult")),
                st.sampled_from(UNITS),
                st.sampled_from(("escalated", "flagged", "scheduled", "left")),
            ),
            max_size=8,
        )
    )


@given(
    problems(),
    st.sampled_from((None, 1, 3)),
    st.booleans(),
    st.booleans(),
)
def test_every_agenda_item_of_a_held_meeting_has_exactly_one_decision(
    issues: list[tuple[str, str, str, str]],
    max_attendees: int | None,
    scheduled: bool,
    assign_one_first: bool,
) -> None:
    clock = cl.FixedClock(START)
    loop = service(clock=clock)
    flagged: list[str] = []
    elsewhere: list[str] = []
    for category, difficulty, unit, fate in issues:
        (registered,) = loop.register(
            CITY_LEADER, unit=unit, category=category, difficulty=difficulty, title=category
        )
        issue = registered.issue_id
        if fate == "flagged":
            flagged.append(issue)
            continue
        if fate != "left":
            if unit != FOTANG:
                loop.escalate(CITY_LEADER, issue)  # village -> town
            loop.escalate(CITY_LEADER, issue)  # town -> city
        if fate == "scheduled":
            elsewhere.append(issue)
    if elsewhere:
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=elsewhere)
    demand = loop.demand_list(FOTANG, flagged=flagged)
    assert not set(demand.issue_ids) & set(elsewhere)
    clock.advance(timedelta(hours=1))
    if scheduled:
        loop.schedule_meeting(CITY_LEADER, host=FOTANG, day=DAY, agenda=demand, meeting_id="m")
        first = demand.items[0] if demand.items else None
        if assign_one_first and first is not None and first.escalated and first.route:
            loop.assign(CITY_LEADER, first.issue_id)
        held, events = loop.hold_meeting(CITY_LEADER, meeting_id="m", max_attendees=max_attendees)
    else:
        held, events = loop.hold_meeting(
            CITY_LEADER, host=FOTANG, agenda=demand, max_attendees=max_attendees
        )
    assert held.agenda == demand.issue_ids
    decided = [d.issue_id for d in held.decisions]
    assert sorted(decided) == sorted(held.agenda)
    for decision in held.decisions:
        state = loop.issue(decision.issue_id)
        if decision.kind is cl.DecisionKind.ASSIGN:
            assert state.status is cl.Status.IN_PROGRESS
            assert state.lead in held.attendees
        else:
            assert decision.kind is cl.DecisionKind.DEFER
            assert decision.note
        if state.category == "ghost_category":
            assert decision.note.startswith("no route: ")
    assert {e.issue_id for e in events} <= set(held.agenda)
    # the meeting is over: what it deferred and is still waiting is back on the list
    waiting = {
        d.issue_id for d in held.decisions if loop.issue(d.issue_id).status is cl.Status.REGISTERED
    }
    assert set(loop.demand_list(FOTANG, flagged=flagged).issue_ids) == waiting
