"""Meetings as event streams: the deciders, the fold, and the lifecycle commands."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closedloop.access import AccessPolicy, Actor, ActorKind, Unrestricted
from closedloop.deadlines import Difficulty
from closedloop.departments import Router, yiwu_departments, yiwu_responsibility_matrix
from closedloop.errors import (
    CommandError,
    InvariantError,
    NaiveDatetimeError,
    NotOneLevelDownError,
    PermissionDeniedError,
)
from closedloop.hierarchy import generate_hierarchy, yiwu_hierarchy
from closedloop.ids import ActorId, EventId, IssueId, MeetingId, UnitId
from closedloop.lifecycle import (
    AssignIssue,
    EscalateIssue,
    IssueEvent,
    IssueState,
    RegisterIssue,
    ResolveIssue,
    Status,
    decide,
    evolve,
)
from closedloop.meetings import (
    DecisionKind,
    MeetingCancelled,
    MeetingContext,
    MeetingDecision,
    MeetingHeld,
    MeetingStatus,
    MonthlyCadence,
    WeeklyCadence,
    WhistleBlown,
    cancel_meeting,
    compile_demand_list,
    decisions_as_planned,
    evolve_meeting,
    hold_meeting,
    plan_attendees,
    plan_weekly_visits,
    replay_meeting,
    schedule_meeting,
)
from tests import world

CITY, TOWN_A, TOWN_B = world.CITY, world.TOWN_A, world.TOWN_B
START = world.START


def meeting_context(actor: Actor, at: datetime, **options: object) -> MeetingContext:
    return MeetingContext(
        actor,
        at,
        world.HIERARCHY,
        world.id_maker("m"),
        access=world.ACCESS,
        calendar=world.CALENDAR,
        **options,  # type: ignore[arg-type]
    )


def run(state: IssueState | None, command: object, actor: Actor, at: datetime) -> IssueState:
    """Decide a lifecycle command in the test world and fold its events."""
    assert isinstance(command, RegisterIssue | EscalateIssue | AssignIssue | ResolveIssue)
    events: list[IssueEvent] = decide(command, state, world.context(actor, at))
    for event in events:
        state = evolve(state, event)
    assert state is not None
    return state


def registered(issue_id: str, unit: str, escalate_to: str | None = None) -> IssueState:
    actor = world.VILLAGE_A1_CADRE if unit == world.VILLAGE_A1 else world.TOWN_A_LEADER
    state = run(
        None,
        RegisterIssue(issue_id, unit, "enterprise_finance", "complex", f"problem {issue_id}"),
        actor,
        START,
    )
    while escalate_to is not None and state.unit != escalate_to:
        leader = world.TOWN_A_LEADER if state.unit == TOWN_A else actor
        state = run(state, EscalateIssue(issue_id), leader, START + timedelta(minutes=5))
    return state


def test_a_city_meeting_in_a_town_assigns_on_the_spot() -> None:
    escalated = registered("credit", world.VILLAGE_A1, escalate_to=CITY)
    flagged = registered("road", TOWN_A)
    at = START + timedelta(days=1)
    demand = compile_demand_list(
        TOWN_A,
        CITY,
        [escalated, flagged],
        at=at,
        calendar=world.CALENDAR,
        hierarchy=world.HIERARCHY,
        flagged={"road"},
    )
    assert demand.issue_ids == ("credit", "road")
    plan = plan_attendees(
        {"credit": ["city-economy"], "road": ["city-construction", "city-resources"]},
        must_bring=["town-a-office"],
    )
    assert plan.size == 4
    ctx = meeting_context(world.CITY_LEADER, at)
    scheduled = schedule_meeting(
        "m-1",
        None,
        host_unit=TOWN_A,
        day=date(2025, 3, 11),
        context=ctx,
        agenda=demand.issue_ids,
        planned_attendees=plan.departments,
        cadence=MonthlyCadence(2, "Tue").name,
    )
    assert scheduled.convener_unit == CITY
    assert scheduled.convener == world.CITY_LEADER.id
    assert scheduled.stream_id == "m-1"
    assert scheduled.version == 1
    state = evolve_meeting(None, scheduled)
    assert state.status is MeetingStatus.SCHEDULED

    held_at = datetime(2025, 3, 11, 9, 30, tzinfo=world.SHANGHAI)
    decisions = decisions_as_planned(plan, note="on site")
    decisions[1] = attrs.evolve(decisions[1], kind=DecisionKind.RESOLVED_ON_SITE)
    outcome = hold_meeting(
        "m-1",
        state,
        attendees=plan.departments,
        decisions=decisions,
        context=meeting_context(world.CITY_LEADER, held_at),
        duration_minutes=90,
        handling_units=demand.handling_units(),
    )
    event, commands = outcome
    assert isinstance(event, MeetingHeld)
    assert event.version == 2
    assert event.day == date(2025, 3, 11)
    assert event.agenda == ("credit", "road")
    kinds = [type(c.command).__name__ for c in commands]
    assert kinds == ["AssignIssue", "EscalateIssue", "AssignIssue", "ResolveIssue"]
    assert commands[1].command.to_unit == CITY  # type: ignore[attr-defined]
    assert commands[3].acting_department == "city-construction"
    held = evolve_meeting(state, event)
    assert held.status is MeetingStatus.HELD
    assert held.planned_attendees == plan.departments
    assert held.decided_issues == ("credit", "road")

    # The service executes the commands through the lifecycle.
    states = {"credit": escalated, "road": flagged}
    for item in commands:
        issue_id = item.command.issue_id
        actor = world.CITY_LEADER
        if item.acting_department is not None:
            actor = world.STAFF[item.acting_department]
        states[issue_id] = run(states[issue_id], item.command, actor, held_at)
    credit, road = states["credit"], states["road"]
    assert credit.status is Status.ASSIGNED
    assert credit.lead == "city-economy"
    assert credit.due_date == world.CALENDAR.add_workdays(held_at, 3)  # complex: 3 days
    assert credit.policy == world.POLICY.label
    assert road.status is Status.RESOLVED
    assert road.unit == CITY
    assert road.co_handlers == ("city-resources",)


def test_the_host_must_be_one_level_below() -> None:
    """A city meeting at a village skips the town: NotOneLevelDownError."""
    ctx = meeting_context(world.CITY_LEADER, START)
    with pytest.raises(NotOneLevelDownError) as caught:
        schedule_meeting("m", None, host_unit=world.VILLAGE_A1, day=date(2025, 3, 4), context=ctx)
    assert caught.value.upper == CITY
    assert caught.value.lower == world.VILLAGE_A1
    with pytest.raises(NotOneLevelDownError):
        hold_meeting("m", None, host_unit=world.VILLAGE_A1, attendees=[], context=ctx)
    with pytest.raises(NotOneLevelDownError):
        schedule_meeting("m", None, host_unit=CITY, day=date(2025, 3, 4), context=ctx)
    town = meeting_context(world.TOWN_A_LEADER, START)
    with pytest.raises(NotOneLevelDownError):
        schedule_meeting("m", None, host_unit=world.VILLAGE_B1, day=date(2025, 3, 4), context=town)


def test_who_may_convene() -> None:
    day = date(2025, 3, 4)
    town = meeting_context(world.TOWN_A_LEADER, START)
    with pytest.raises(PermissionDeniedError):
        schedule_meeting(
            "m", None, convener_unit=TOWN_B, host_unit=world.VILLAGE_B1, day=day, context=town
        )
    clerk = Actor(ActorId("clerk"), ActorKind.OFFICIAL, unit=CITY)
    with pytest.raises(PermissionDeniedError, match="no grant"):
        schedule_meeting(
            "m", None, host_unit=TOWN_A, day=day, context=meeting_context(clerk, START)
        )
    # Without an authorizer only the one-level-down and own-unit rules apply.
    open_ctx = meeting_context(clerk, START)._replace(access=None)
    assert (
        schedule_meeting("m", None, host_unit=TOWN_A, day=day, context=open_ctx).host_unit == TOWN_A
    )
    system = Actor(ActorId("system"), ActorKind.SYSTEM)
    with pytest.raises(CommandError, match="no unit"):
        schedule_meeting(
            "m", None, host_unit=TOWN_A, day=day, context=meeting_context(system, START)
        )


def test_a_town_meets_in_a_village_on_saturdays() -> None:
    """镇会村开 / 周六解难题: the town leader's Saturday meetings in its villages."""
    plan = plan_weekly_visits(
        world.HIERARCHY,
        TOWN_A,
        WeeklyCadence("周六"),
        world.CALENDAR,
        date(2025, 3, 1),
        date(2025, 3, 31),
    )
    assert [p.host_unit for p in plan] == [world.VILLAGE_A1, world.VILLAGE_A2] * 2 + [
        world.VILLAGE_A1
    ]
    first = plan[0]
    ctx = meeting_context(world.TOWN_A_LEADER, START - timedelta(days=3))
    event = schedule_meeting(
        "sat-1",
        None,
        host_unit=first.host_unit,
        day=first.day,
        starts_at=datetime(2025, 3, 1, 9, tzinfo=world.SHANGHAI),
        context=ctx,
        cadence=first.cadence,
        venue="village hall",
    )
    assert event.day == date(2025, 3, 1)
    assert event.cadence == "weekly:Sat"
    state = replay_meeting([event])
    outcome = hold_meeting(
        "sat-1",
        state,
        attendees=["town-a-office"],
        context=meeting_context(
            world.TOWN_A_LEADER, datetime(2025, 3, 1, 9, tzinfo=world.SHANGHAI)
        ),
    )
    assert outcome.commands == ()
    held = evolve_meeting(state, outcome.event)
    assert held.venue == "village hall"
    assert held.attendees == ("town-a-office",)


def test_decisions_are_checked() -> None:
    ctx = meeting_context(world.CITY_LEADER, START)
    state = evolve_meeting(
        None,
        schedule_meeting(
            "m", None, host_unit=TOWN_A, day=date(2025, 3, 4), context=ctx, agenda=["a", "b"]
        ),
    )
    later = meeting_context(world.CITY_LEADER, START + timedelta(hours=1))

    def hold(*decisions: MeetingDecision, **options: object) -> object:
        return hold_meeting(
            "m",
            state,
            attendees=["city-economy"],
            decisions=decisions,
            context=later,
            **options,  # type: ignore[arg-type]
        )

    with pytest.raises(CommandError, match="not on the agenda"):
        hold(MeetingDecision.assign("z", "city-economy"))
    with pytest.raises(CommandError, match="two decisions"):
        hold(MeetingDecision("a", "defer"), MeetingDecision("a", "defer"))
    with pytest.raises(CommandError, match="did not attend"):
        hold(MeetingDecision.assign("a", "city-economy", ("city-resources",)))
    assert hold(
        MeetingDecision.assign("a", "city-economy", ("city-resources",)), require_present=False
    )
    with pytest.raises(CommandError, match="unknown department"):
        hold_meeting(
            "m",
            state,
            attendees=["nobody"],
            context=later._replace(departments=frozenset(world.DEPARTMENTS)),
        )
    with pytest.raises(CommandError, match="host"):
        hold(host_unit=TOWN_B)
    with pytest.raises(CommandError, match="outside"):
        hold(MeetingDecision.assign("a", "city-economy"), handling_units={"a": TOWN_B})
    with pytest.raises(CommandError, match="root"):
        hold(MeetingDecision("a", DecisionKind.ESCALATE))
    with pytest.raises(CommandError, match="duration"):
        hold(duration_minutes=0)
    with pytest.raises(CommandError, match="state of"):
        hold_meeting("other", state, attendees=[], context=later)
    with pytest.raises(NaiveDatetimeError):
        hold_meeting(
            "m", state, attendees=[], context=later._replace(at=START.replace(tzinfo=None))
        )
    outcome = hold(
        MeetingDecision("a", "task_force", task_force="land-93"), MeetingDecision("b", "defer")
    )
    assert outcome.commands == ()  # type: ignore[attr-defined]
    held = evolve_meeting(state, outcome.event)  # type: ignore[attr-defined]
    assert held.decided_issues == ("a",)
    with pytest.raises(CommandError, match="held"):
        hold_meeting("m", held, attendees=[], context=later)
    with pytest.raises(CommandError, match="held"):
        cancel_meeting(held, context=later)
    with pytest.raises(CommandError, match="already exists"):
        schedule_meeting("m", held, host_unit=TOWN_A, day=date(2025, 3, 4), context=ctx)


def test_decision_values() -> None:
    with pytest.raises(CommandError):
        MeetingDecision("a", DecisionKind.ASSIGN)
    with pytest.raises(CommandError):
        MeetingDecision("a", DecisionKind.DEFER, lead="x")
    with pytest.raises(CommandError):
        MeetingDecision("a", DecisionKind.ASSIGN, lead="x", co_handlers=("x",))
    with pytest.raises(CommandError):
        MeetingDecision("a", DecisionKind.ASSIGN, lead="x", co_handlers="y")
    with pytest.raises(CommandError):
        MeetingDecision("a", DecisionKind.DEFER, task_force="tf")
    assert MeetingDecision.assign("a", "x", ("y", "y")).departments == ("x", "y")


def test_escalation_beyond_the_convener() -> None:
    hierarchy = yiwu_hierarchy(villages_per_town=2)
    fotang = UnitId("330782100000")
    village = hierarchy.children(fotang)[0].id
    leader = Actor(ActorId("fotang-leader"), ActorKind.OFFICIAL, unit=fotang)
    ctx = MeetingContext(leader, START, hierarchy, world.id_maker())
    outcome = hold_meeting(
        "v-1",
        None,
        host_unit=village,
        attendees=[],
        decisions=[MeetingDecision("x", DecisionKind.ESCALATE, note="needs the city")],
        handling_units={"x": village},
        context=ctx,
    )
    assert [c.command for c in outcome.commands] == [
        EscalateIssue("x", "needs the city", fotang),
        EscalateIssue("x", "needs the city", UnitId("330782")),
    ]
    assert outcome.event.agenda == ("x",)


def test_cancel_and_fold_rules() -> None:
    ctx = meeting_context(world.CITY_LEADER, START)
    scheduled = schedule_meeting("m", None, host_unit=TOWN_A, day=date(2025, 3, 4), context=ctx)
    state = evolve_meeting(None, scheduled)
    cancelled = cancel_meeting(state, context=ctx, reason="typhoon")
    assert isinstance(cancelled, MeetingCancelled)
    final = replay_meeting([scheduled, cancelled])
    assert final.status is MeetingStatus.CANCELLED
    assert final.cancel_reason == "typhoon"
    with pytest.raises(CommandError):
        cancel_meeting(None, context=ctx)
    with pytest.raises(CommandError):
        cancel_meeting(state, context=ctx._replace(at=START - timedelta(days=1)))
    with pytest.raises(InvariantError):
        evolve_meeting(final, attrs.evolve(cancelled, version=3))
    with pytest.raises(InvariantError):
        evolve_meeting(state, attrs.evolve(cancelled, version=5))
    with pytest.raises(InvariantError):
        evolve_meeting(state, attrs.evolve(cancelled, meeting_id=MeetingId("other")))
    with pytest.raises(InvariantError):
        evolve_meeting(state, attrs.evolve(cancelled, occurred_at=START - timedelta(days=1)))
    with pytest.raises(InvariantError):
        evolve_meeting(None, cancelled)
    with pytest.raises(InvariantError):
        evolve_meeting(None, attrs.evolve(scheduled, version=2))
    with pytest.raises(InvariantError):
        evolve_meeting(state, attrs.evolve(scheduled, version=2))
    whistle = WhistleBlown(
        event_id=EventId("w"),
        meeting_id=MeetingId("m"),
        version=2,
        occurred_at=START,
        actor=ActorId("x"),
        unit=TOWN_A,
        summons=(),
    )
    with pytest.raises(InvariantError):
        evolve_meeting(state, whistle)
    held = MeetingHeld(
        event_id=EventId("h"),
        meeting_id=MeetingId("m"),
        version=2,
        occurred_at=START,
        actor=ActorId("x"),
        convener_unit=CITY,
        convener=ActorId("x"),
        host_unit=TOWN_B,
        day=date(2025, 3, 4),
        attendees=(),
        agenda=(),
    )
    with pytest.raises(InvariantError, match="other units"):
        evolve_meeting(state, held)
    with pytest.raises(InvariantError):
        replay_meeting([])
    ad_hoc = evolve_meeting(None, attrs.evolve(held, version=1))
    assert ad_hoc.status is MeetingStatus.HELD
    assert ad_hoc.scheduled_at is None


def test_schedule_checks_dates() -> None:
    ctx = meeting_context(world.CITY_LEADER, START)
    with pytest.raises(CommandError):
        schedule_meeting("m", None, host_unit=TOWN_A, day=START, context=ctx)
    with pytest.raises(CommandError):
        schedule_meeting(
            "m",
            None,
            host_unit=TOWN_A,
            day=date(2025, 3, 4),
            starts_at=datetime(2025, 3, 5, 9, tzinfo=world.SHANGHAI),
            context=ctx,
        )
    with pytest.raises(CommandError):
        schedule_meeting("", None, host_unit=TOWN_A, day=date(2025, 3, 4), context=ctx)


def test_the_article_meeting_at_fotang() -> None:
    """市会镇开 at 佛堂镇: the firm's credit and a land certificate, with Yiwu's catalogue."""
    hierarchy = yiwu_hierarchy(villages_per_town=3)
    router = Router(yiwu_responsibility_matrix(), hierarchy, yiwu_departments())
    yiwu, fotang = UnitId("330782"), UnitId("330782100000")
    enterprise = hierarchy.children(fotang)[0].id
    at = datetime(2020, 3, 16, 9, tzinfo=world.SHANGHAI)

    def waiting(issue_id: str, category: str) -> IssueState:
        return IssueState(
            issue_id=IssueId(issue_id),
            version=3,
            status=Status.REGISTERED,
            unit=yiwu,
            origin_unit=enterprise,
            category=category,
            difficulty=Difficulty.DIFFICULT,
            title=issue_id,
            description="",
            reporter=None,
            registered_at=at - timedelta(days=10),
            updated_at=at - timedelta(days=9),
            escalation_count=2,
        )

    demand = compile_demand_list(
        fotang,
        yiwu,
        [waiting("credit", "enterprise_finance"), waiting("land", "land_certificate")],
        at=at,
        calendar=world.CALENDAR,
        hierarchy=hierarchy,
        router=router,
        policy=world.POLICY,
    )
    plan = plan_attendees(demand, must_bring=["330782/three-services-office"])
    banks = {"330782/abc", "330782/icbc", "330782/rural-commercial-bank"}
    assert set(plan.departments) - banks == {
        "330782/economy",
        "330782/natural-resources",
        "330782/construction",
        "330782/three-services-office",
    }
    assert len(set(plan.departments) & banks) == 1
    leader = Actor(ActorId("city-leader"), ActorKind.OFFICIAL, unit=yiwu)
    access = AccessPolicy(hierarchy, AccessPolicy.standard_grants(leader), [leader])
    ctx = MeetingContext(
        leader, at, hierarchy, world.id_maker(), access=access, calendar=world.CALENDAR
    )
    outcome = hold_meeting(
        "fotang-2020-03",
        None,
        host_unit=fotang,
        attendees=plan.departments,
        decisions=decisions_as_planned(plan),
        handling_units=demand.handling_units(),
        context=ctx,
        venue="the firm",
    )
    assigned = {c.command.issue_id: c.command for c in outcome.commands}
    assert assigned[IssueId("credit")] == AssignIssue(
        "credit", "330782/economy", (plan.seating_for("credit").co_handlers)
    )
    assert assigned[IssueId("land")] == AssignIssue(
        "land", "330782/natural-resources", ("330782/economy", "330782/construction")
    )
    with pytest.raises(NotOneLevelDownError):
        hold_meeting("x", None, host_unit=enterprise, attendees=[], context=ctx)


@given(st.integers(0, 10_000), st.data())
def test_meetings_are_always_one_level_down(seed: int, data: st.DataObject) -> None:
    hierarchy = generate_hierarchy((1, 2, 4, 8), seed=seed)
    units = [u.id for u in hierarchy]
    convener = data.draw(st.sampled_from(units), label="convener")
    host = data.draw(st.sampled_from(units), label="host")
    leader = Actor(ActorId("leader"), ActorKind.OFFICIAL, unit=convener)
    ctx = MeetingContext(leader, START, hierarchy, world.id_maker(), access=Unrestricted())
    below = hierarchy.is_one_level_down(convener, host)
    if not below:
        with pytest.raises(NotOneLevelDownError) as caught:
            schedule_meeting("m", None, host_unit=host, day=date(2025, 3, 4), context=ctx)
        assert (caught.value.upper, caught.value.lower) == (convener, host)
        with pytest.raises(NotOneLevelDownError):
            hold_meeting("n", None, host_unit=host, attendees=[], context=ctx)
        return
    event = schedule_meeting("m", None, host_unit=host, day=date(2025, 3, 4), context=ctx)
    parent = hierarchy.parent(event.host_unit)
    assert parent is not None
    assert parent.id == event.convener_unit
    held = hold_meeting("n", None, host_unit=host, attendees=[], context=ctx).event
    assert hierarchy.is_one_level_down(held.convener_unit, held.host_unit)


def test_a_calendar_sets_the_day_of_a_meeting() -> None:
    # 23:30 UTC on 3 March is 07:30 on 4 March in Shanghai.
    at = datetime(2025, 3, 3, 23, 30, tzinfo=UTC)
    ctx = meeting_context(world.CITY_LEADER, at)
    outcome = hold_meeting("m", None, host_unit=TOWN_A, attendees=[], context=ctx)
    assert outcome.event.day == date(2025, 3, 4)
    bare = ctx._replace(calendar=None)
    assert hold_meeting("m", None, host_unit=TOWN_A, attendees=[], context=bare).event.day == date(
        2025, 3, 3
    )


def test_decisions_as_planned_defer_what_the_plan_leaves_out() -> None:
    plan = plan_attendees(
        {"a": ["city-economy"], "b": ["city-resources", "city-construction"]}, max_size=1
    )
    decisions = decisions_as_planned(plan, note="as planned")
    assert [(d.issue_id, d.kind) for d in decisions] == [
        ("a", DecisionKind.ASSIGN),
        ("b", DecisionKind.DEFER),
    ]
    assert decisions[0].note == "as planned"
    assert "at most 1" in decisions[1].note
    assert decisions_as_planned(plan, note="as planned", defer_uncovered=False) == decisions[:1]
