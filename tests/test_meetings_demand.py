"""The demand list: which issues, in which order, with routes and notes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.departments import Router, yiwu_departments, yiwu_responsibility_matrix
from closedloop.errors import ConfigurationError, NaiveDatetimeError, NotOneLevelDownError
from closedloop.hierarchy import yiwu_hierarchy
from closedloop.ids import IssueId, UnitId
from closedloop.lifecycle import IssueState, Status
from closedloop.meetings import (
    DemandItem,
    UncoveredReason,
    compile_demand_list,
    plan_attendees,
    priority_key,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = cl.china_calendar()
POLICY = DeadlinePolicy.yiwu()
HIERARCHY = yiwu_hierarchy(villages_per_town=3)
ROUTER = Router(yiwu_responsibility_matrix(), HIERARCHY, yiwu_departments())
YIWU = UnitId("330782")
FOTANG = UnitId("330782100000")  # 佛堂镇
CHIAN = UnitId("330782101000")  # 赤岸镇
FOTANG_VILLAGE = HIERARCHY.children(FOTANG)[0].id
CHIAN_VILLAGE = HIERARCHY.children(CHIAN)[0].id
AT = datetime(2020, 3, 16, 9, 0, tzinfo=SHANGHAI)  # a Monday


def issue(
    issue_id: str,
    *,
    unit: str = YIWU,
    origin: str = FOTANG,
    category: str = "enterprise_finance",
    difficulty: Difficulty = Difficulty.COMPLEX,
    registered: datetime = AT - timedelta(days=7),
    status: Status = Status.REGISTERED,
) -> IssueState:
    """An issue state as the lifecycle would fold it (escalated when unit != origin)."""
    escalations = 0 if unit == origin else HIERARCHY.depth(origin) - HIERARCHY.depth(unit)
    return IssueState(
        issue_id=IssueId(issue_id),
        version=1 + escalations,
        status=status,
        unit=UnitId(unit),
        origin_unit=UnitId(origin),
        category=category,
        difficulty=difficulty,
        title=f"problem {issue_id}",
        description="",
        reporter=None,
        registered_at=registered,
        updated_at=registered,
        escalation_count=escalations,
    )


def compile_(issues: list[IssueState], **options: object) -> list[str]:
    options.setdefault("at", AT)
    demand = compile_demand_list(
        FOTANG,
        YIWU,
        issues,
        calendar=CALENDAR,
        hierarchy=HIERARCHY,
        **options,  # type: ignore[arg-type]
    )
    return list(demand.issue_ids)


def test_which_issues_are_on_the_list() -> None:
    issues = [
        issue("escalated-from-town"),
        issue("escalated-from-village", origin=FOTANG_VILLAGE),
        issue("other-town", origin=CHIAN),
        issue("other-village", origin=CHIAN_VILLAGE),
        issue("city-own", origin=YIWU),
        issue("assigned", status=Status.ASSIGNED),
        issue("resolved", status=Status.RESOLVED),
        issue("at-town", unit=FOTANG, origin=FOTANG),
        issue("at-town-flagged", unit=FOTANG, origin=FOTANG_VILLAGE),
        issue("at-village-flagged", unit=FOTANG_VILLAGE, origin=FOTANG_VILLAGE),
        issue("flagged-elsewhere", unit=CHIAN, origin=CHIAN),
        issue("scheduled"),
        issue("future", registered=AT + timedelta(hours=1)),
    ]
    listed = compile_(
        issues,
        flagged={"at-town-flagged", "at-village-flagged", "flagged-elsewhere"},
        already_scheduled={"scheduled"},
    )
    assert sorted(listed) == [
        "at-town-flagged",
        "at-village-flagged",
        "escalated-from-town",
        "escalated-from-village",
    ]


def test_the_priority_order() -> None:
    old = AT - timedelta(days=40)
    issues = [
        issue("simple-new", difficulty=Difficulty.SIMPLE, registered=AT - timedelta(hours=1)),
        issue("complex-old", registered=old),
        issue("complex-new", category="environment", registered=AT - timedelta(days=1)),
        issue("difficult-new", difficulty=Difficulty.DIFFICULT, registered=AT - timedelta(days=1)),
        issue("complex-new-land", category="land_certificate", registered=AT - timedelta(days=1)),
    ]
    # Without a policy nothing is overdue: difficulty, then age, then departments.
    assert compile_(issues, router=ROUTER) == [
        "difficult-new",
        "complex-old",
        "complex-new-land",  # three departments, against two for the environment
        "complex-new",
        "simple-new",
    ]
    # Under Yiwu's policy the old complex issue has waited past its 3 working days, and
    # the simple one registered on the same day is within its limit.
    demand = compile_demand_list(
        FOTANG, YIWU, issues, at=AT, calendar=CALENDAR, hierarchy=HIERARCHY, policy=POLICY
    )
    assert demand.issue_ids[0] == "complex-old"
    first = demand.items[0]
    assert first.overdue
    assert first.age_workdays == CALENDAR.workdays_between(old, AT)
    assert not demand.item("simple-new").overdue
    assert [priority_key(i) for i in demand.items] == sorted(priority_key(i) for i in demand.items)


def test_routes_notes_and_limits() -> None:
    issues = [
        issue("credit", difficulty=Difficulty.DIFFICULT),
        issue("land", category="land_certificate"),
        issue("weather", category="weather"),
    ]
    demand = compile_demand_list(
        FOTANG,
        YIWU,
        issues,
        at=AT,
        calendar=CALENDAR,
        hierarchy=HIERARCHY,
        router=ROUTER,
        notes={
            "credit": {"330782/icbc": "can extend the existing loan", "330782/economy": "agrees"},
            "land": "all three bureaus consulted",
        },
    )
    credit = demand.item("credit")
    assert credit.escalated
    assert credit.route is not None
    assert credit.route.lead.id == "330782/economy"
    assert credit.departments[0] == "330782/economy"
    assert credit.department_count == 4
    assert credit.notes == (
        ("330782/economy", "agrees"),
        ("330782/icbc", "can extend the existing loan"),
    )
    assert demand.item("land").notes == (("", "all three bureaus consulted"),)
    weather = demand.item("weather")
    assert weather.route is None
    assert "weather" in weather.route_problem
    assert demand.handling_units() == {"credit": YIWU, "land": YIWU, "weather": YIWU}
    plan = plan_attendees(demand)
    assert plan.covered == ("credit", "land")
    (unrouted,) = plan.uncovered
    assert unrouted.issue_id == "weather"
    assert unrouted.reason is UncoveredReason.NO_ROUTE
    needs, _ = demand.agenda_needs(weighting="priority")
    assert [n.weight for n in needs] == [3.0, 2.0]
    with pytest.raises(ConfigurationError):
        demand.agenda_needs(weighting="loudest")
    with pytest.raises(ConfigurationError):
        demand.item("nothing")
    short = compile_demand_list(
        FOTANG, YIWU, issues, at=AT, calendar=CALENDAR, hierarchy=HIERARCHY, max_items=1
    )
    assert short.issue_ids == ("credit",)
    assert short.omitted == ("land", "weather")
    assert len(short) == 1
    assert isinstance(next(iter(short)), DemandItem)


def test_bad_requests() -> None:
    village = FOTANG_VILLAGE
    with pytest.raises(NotOneLevelDownError):
        compile_demand_list(village, YIWU, [], at=AT, calendar=CALENDAR, hierarchy=HIERARCHY)
    with pytest.raises(NaiveDatetimeError):
        compile_demand_list(
            FOTANG, YIWU, [], at=AT.replace(tzinfo=None), calendar=CALENDAR, hierarchy=HIERARCHY
        )
    with pytest.raises(ConfigurationError):
        compile_demand_list(
            FOTANG, YIWU, [], at=AT, calendar=CALENDAR, hierarchy=HIERARCHY, max_items=-1
        )
    with pytest.raises(ConfigurationError):
        compile_demand_list(
            FOTANG, YIWU, [issue("a"), issue("a")], at=AT, calendar=CALENDAR, hierarchy=HIERARCHY
        )


UNITS = [YIWU, FOTANG, CHIAN, FOTANG_VILLAGE, CHIAN_VILLAGE]


@given(
    st.lists(
        st.builds(
            lambda k, unit, origin, difficulty, days, status: issue(
                f"i{k}",
                unit=unit,
                origin=origin,
                difficulty=difficulty,
                registered=AT - timedelta(days=days),
                status=status,
            ),
            st.integers(0, 10**6),
            st.sampled_from(UNITS),
            st.sampled_from(UNITS),
            st.sampled_from(Difficulty),
            st.integers(0, 60),
            st.sampled_from(Status),
        ),
        max_size=12,
        unique_by=lambda s: s.issue_id,
    ),
    st.sets(st.sampled_from([f"i{k}" for k in range(5)])),
)
def test_the_list_follows_its_rule(issues: list[IssueState], flagged: set[str]) -> None:
    demand = compile_demand_list(
        FOTANG,
        YIWU,
        issues,
        at=AT,
        calendar=CALENDAR,
        hierarchy=HIERARCHY,
        policy=POLICY,
        flagged=flagged,
    )
    listed = set(demand.issue_ids)
    for s in issues:
        expected = s.status is Status.REGISTERED and (
            (s.unit == YIWU and HIERARCHY.is_within(s.origin_unit, FOTANG))
            or (s.issue_id in flagged and HIERARCHY.is_within(s.unit, FOTANG))
        )
        assert (s.issue_id in listed) == expected
    keys = [priority_key(i) for i in demand.items]
    assert keys == sorted(keys)
    # The list does not depend on the order the issues come in.
    again = compile_demand_list(
        FOTANG,
        YIWU,
        list(reversed(issues)),
        at=AT,
        calendar=CALENDAR,
        hierarchy=HIERARCHY,
        policy=POLICY,
        flagged=flagged,
    )
    assert again == demand
