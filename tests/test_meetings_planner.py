"""The attendee planner: coverage, optimality against brute force, the greedy bound."""

from __future__ import annotations

import itertools
import math
from collections.abc import Set as AbstractSet
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from closedloop.departments import Router, yiwu_departments, yiwu_responsibility_matrix
from closedloop.errors import ConfigurationError
from closedloop.hierarchy import yiwu_hierarchy
from closedloop.meetings import (
    AgendaNeed,
    AttendeePlan,
    Seat,
    UncoveredReason,
    harmonic_number,
    plan_attendees,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2020, 3, 2, 9, 0, tzinfo=SHANGHAI)
YIWU = "330782"
HIERARCHY = yiwu_hierarchy(villages_per_town=2)
ROUTER = Router(yiwu_responsibility_matrix(), HIERARCHY, yiwu_departments())
BANKS = {"330782/abc", "330782/icbc", "330782/rural-commercial-bank"}


def test_the_firms_credit_problem_brings_the_economy_bureau_and_a_bank() -> None:
    """浙江红雨医药: the city leader brought 经信 and the banks to the firm."""
    route = ROUTER.route("enterprise_finance", YIWU, AT)
    need = AgendaNeed.from_route("credit", route)
    plan = plan_attendees([need])
    assert plan.optimal
    assert plan.method == "exact"
    assert plan.size == 2
    assert "330782/economy" in plan.departments
    assert len(set(plan.departments) & BANKS) == 1
    seating = plan.seating_for("credit")
    assert seating.lead == "330782/economy"
    assert set(seating.co_handlers) <= BANKS
    # Without substitution every bank needs its own seat.
    strict = plan_attendees([AgendaNeed.from_route("credit", route, substitutable=False)])
    assert set(strict.departments) == {"330782/economy", *BANKS}


def test_the_land_certificate_problem_brings_three_bureaus() -> None:
    """工业用地办证: natural resources and planning, economy and information, construction."""
    route = ROUTER.route("land_certificate", YIWU, AT)
    plan = plan_attendees([AgendaNeed.from_route(f"firm-{k}", route) for k in range(93)])
    assert set(plan.departments) == {
        "330782/natural-resources",
        "330782/economy",
        "330782/construction",
    }
    assert len(plan.covered) == 93
    assert plan.seating_for("firm-7").lead == "330782/natural-resources"


def test_both_cases_share_the_economy_bureau() -> None:
    needs = [
        AgendaNeed.from_route("credit", ROUTER.route("enterprise_finance", YIWU, AT)),
        AgendaNeed.from_route("land", ROUTER.route("land_certificate", YIWU, AT)),
    ]
    plan = plan_attendees(needs)
    assert plan.size == 4
    assert plan.lower_bound == 4
    assert plan.covered == ("credit", "land")


def test_candidates_must_bring_and_max_size() -> None:
    agenda: dict[str, list[str | list[str]]] = {
        "a": ["econ", ["bank1", "bank2"]],
        "b": ["land", "econ", "build"],
        "c": ["fire", "build"],
    }
    plan = plan_attendees(agenda, must_bring=["office"])
    assert plan.departments == ("bank1", "build", "econ", "fire", "land", "office")
    assert plan.seating_for("a").co_handlers == ("bank1",)
    only_bank2 = plan_attendees(agenda, candidates=["econ", "bank2", "land", "build"])
    assert "bank2" in only_bank2.departments
    assert only_bank2.covered == ("a", "b")
    (missing,) = only_bank2.uncovered
    assert missing.issue_id == "c"
    assert missing.reason is UncoveredReason.NO_CANDIDATE
    assert [s.candidates for s in missing.seats] == [frozenset({"fire"})]
    # Any two issues need four departments: with three, one issue, with as few as
    # possible (two: "a" or "c"; ties go to the departments first by id).
    small = plan_attendees(agenda, max_size=3)
    assert small.optimal
    assert small.size == 2
    assert len(small.covered) == 1
    assert small.covered == ("a",)
    assert all(u.reason is UncoveredReason.OVER_BUDGET for u in small.uncovered)
    assert {u.issue_id for u in small.uncovered} == {"b", "c"}
    weighted = plan_attendees(
        [
            AgendaNeed.of("a", ["econ", ["bank1", "bank2"]]),
            AgendaNeed.of("b", ["land", "econ", "build"], weight=3),
            AgendaNeed.of("c", ["fire", "build"]),
        ],
        max_size=3,
    )
    assert weighted.covered == ("b",)
    assert weighted.size == 3
    with pytest.raises(ConfigurationError):
        plan_attendees(agenda, must_bring=["x", "y"], max_size=1)
    with pytest.raises(ConfigurationError):
        plan_attendees([AgendaNeed.of("a", ["x"]), AgendaNeed.of("a", ["y"])])
    with pytest.raises(ConfigurationError):
        plan_attendees(agenda, method="clever")
    with pytest.raises(ConfigurationError):
        plan_attendees(agenda, max_size=-1)


def test_values_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        Seat(set())
    with pytest.raises(ConfigurationError):
        AgendaNeed("a", [Seat({"x"}, lead=True), Seat({"y"}, lead=True)])
    with pytest.raises(ConfigurationError):
        AgendaNeed.of("a", ["x"], weight=0)
    assert str(Seat({"b", "a"}, "banking")) == "banking (a | b)"
    assert harmonic_number(0) == 0
    assert harmonic_number(3) == pytest.approx(1 + 1 / 2 + 1 / 3)


def test_an_issue_with_no_seats_is_always_covered() -> None:
    plan = plan_attendees([AgendaNeed("talk", [])], max_size=0)
    assert plan.covered == ("talk",)
    assert plan.departments == ()


# -- random instances -------------------------------------------------------------------

DEPARTMENTS = [f"d{k:02d}" for k in range(12)]


@st.composite
def instances(
    draw: st.DrawFn, *, departments: int = 8, issues: int = 6, budget: bool = True
) -> tuple[list[AgendaNeed], list[str], list[str] | None, int | None]:
    pool = DEPARTMENTS[:departments]
    needs = []
    for k in range(draw(st.integers(0, issues))):
        seats = draw(
            st.lists(
                st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True),
                min_size=0,
                max_size=4,
            )
        )
        weight = draw(st.integers(1, 5))
        needs.append(AgendaNeed.of(f"i{k}", seats, weight=weight))
    must = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
    candidates = draw(st.none() | st.lists(st.sampled_from(pool), unique=True))
    max_size = draw(st.none() | st.integers(len(must), departments)) if budget else None
    return needs, must, candidates, max_size


def _covers(need: AgendaNeed, chosen: AbstractSet[str], allowed: AbstractSet[str] | None) -> bool:
    return all(
        any(d in chosen and (allowed is None or d in allowed) for d in seat.candidates)
        for seat in need.seats
    )


def _brute_force(
    needs: list[AgendaNeed], must: list[str], candidates: list[str] | None, max_size: int | None
) -> tuple[float, int]:
    """Best (covered weight, -size) over every subset of the departments."""
    allowed = None if candidates is None else set(candidates) | set(must)
    pool = sorted({d for n in needs for s in n.seats for d in s.candidates} - set(must))
    if allowed is not None:
        pool = [d for d in pool if d in allowed]
    best = (-1.0, 0)
    for r in range(len(pool) + 1):
        if max_size is not None and len(must) + r > max_size:
            break
        for extra in itertools.combinations(pool, r):
            chosen = set(must) | set(extra)
            weight = sum(n.weight for n in needs if _covers(n, chosen, allowed))
            best = max(best, (weight, -len(chosen)))
    return best[0], -best[1]


def _check_plan(
    plan: AttendeePlan,
    needs: list[AgendaNeed],
    must: list[str],
    candidates: list[str] | None,
    max_size: int | None,
) -> None:
    chosen = set(plan.departments)
    allowed = None if candidates is None else set(candidates) | set(must)
    assert set(must) <= chosen
    if allowed is not None:
        assert chosen <= allowed
    if max_size is not None:
        assert plan.size <= max_size
    assert list(plan.departments) == sorted(chosen)
    covered = set(plan.covered)
    assert covered | {u.issue_id for u in plan.uncovered} == {n.issue_id for n in needs}
    assert not covered & {u.issue_id for u in plan.uncovered}
    for need in needs:
        assert (need.issue_id in covered) == _covers(need, chosen, allowed)
    for seating in plan.seating:
        assert {seating.lead} - {None} | set(seating.co_handlers) <= chosen
    assert plan.lower_bound <= plan.size
    assert plan.covered_weight == pytest.approx(
        sum(n.weight for n in needs if n.issue_id in covered)
    )


@given(instances(budget=False), st.sampled_from(["exact", "greedy"]))
def test_every_coverable_issue_is_covered(
    instance: tuple[list[AgendaNeed], list[str], list[str] | None, int | None], method: str
) -> None:
    needs, must, candidates, _ = instance
    plan = plan_attendees(needs, must_bring=must, candidates=candidates, method=method)
    _check_plan(plan, needs, must, candidates, None)
    allowed = None if candidates is None else set(candidates) | set(must)
    for u in plan.uncovered:
        assert u.reason is UncoveredReason.NO_CANDIDATE
        need = next(n for n in needs if n.issue_id == u.issue_id)
        assert not _covers(need, {d for n in needs for s in n.seats for d in s.candidates}, allowed)


@given(instances())
def test_the_exact_plan_is_optimal(
    instance: tuple[list[AgendaNeed], list[str], list[str] | None, int | None],
) -> None:
    needs, must, candidates, max_size = instance
    plan = plan_attendees(
        needs, must_bring=must, candidates=candidates, max_size=max_size, method="exact"
    )
    _check_plan(plan, needs, must, candidates, max_size)
    assert plan.optimal
    assert plan.method == "exact"
    weight, size = _brute_force(needs, must, candidates, max_size)
    assert plan.covered_weight == pytest.approx(weight)
    assert plan.size == size
    assert plan.lower_bound == size


@given(instances(departments=12, issues=10, budget=False))
def test_the_greedy_plan_stays_within_its_bound(
    instance: tuple[list[AgendaNeed], list[str], list[str] | None, int | None],
) -> None:
    needs, must, candidates, _ = instance
    exact = plan_attendees(needs, must_bring=must, candidates=candidates, method="exact")
    greedy = plan_attendees(needs, must_bring=must, candidates=candidates, method="greedy")
    _check_plan(greedy, needs, must, candidates, None)
    assert greedy.covered == exact.covered
    assert greedy.lower_bound <= exact.size <= greedy.size
    if greedy.optimal:  # it met its lower bound
        assert greedy.approximation is None
        assert greedy.size == exact.size
    else:
        assert greedy.approximation is not None
        seats = sum(len(n.seats) for n in needs)
        assert greedy.approximation <= math.log(max(1, seats)) + 1
        assert greedy.size <= greedy.approximation * exact.size + 1e-9


@given(instances(departments=10, issues=8))
def test_greedy_with_a_size_limit_is_feasible(
    instance: tuple[list[AgendaNeed], list[str], list[str] | None, int | None],
) -> None:
    needs, must, candidates, max_size = instance
    greedy = plan_attendees(
        needs, must_bring=must, candidates=candidates, max_size=max_size, method="greedy"
    )
    _check_plan(greedy, needs, must, candidates, max_size)
    exact = plan_attendees(
        needs, must_bring=must, candidates=candidates, max_size=max_size, method="exact"
    )
    assert greedy.covered_weight <= exact.covered_weight + 1e-9
    assert greedy.lower_bound <= exact.size or greedy.covered != exact.covered


def test_input_order_does_not_matter() -> None:
    needs = [
        AgendaNeed.of("a", ["x", ["p", "q"]]),
        AgendaNeed.of("b", ["y", ["q", "r"]]),
        AgendaNeed.of("c", ["x", ["p", "r"]]),
    ]
    forward = plan_attendees(needs)
    backward = plan_attendees(list(reversed(needs)))
    assert forward.departments == backward.departments
    assert forward.size == 4  # x and y, and two of p, q, r for the three pairs


def test_the_node_budget_stops_the_search_honestly() -> None:
    # The textbook case that fools greedy set cover: two rows of 14 seats; each seat can
    # be filled by its row's department, by its column block's (blocks of 2, 4 and 8
    # columns) or by a department of its own. Two departments (the rows) suffice;
    # greedy takes the three blocks.
    blocks = [0] * 2 + [1] * 4 + [2] * 8
    seats = [
        [f"row{r}", f"block{b}", f"solo{r}-{c}"] for r in range(2) for c, b in enumerate(blocks)
    ]
    needs = [AgendaNeed.of(f"i{k}", [seat]) for k, seat in enumerate(seats)]
    greedy = plan_attendees(needs, method="greedy")
    assert greedy.departments == ("block0", "block1", "block2")
    assert not greedy.optimal
    assert greedy.lower_bound == 2
    full = plan_attendees(needs, method="exact")
    assert full.optimal
    assert full.nodes > 1
    assert full.departments == ("row0", "row1")
    cut = plan_attendees(needs, method="exact", max_nodes=1)
    assert not cut.optimal
    assert cut.method == "exact"
    assert cut.departments == greedy.departments
    assert cut.lower_bound == 2
    assert len(cut.covered) == len(needs)
    # "auto" is exact for so few departments, greedy beyond the limit.
    assert plan_attendees(needs).departments == ("row0", "row1")
    assert plan_attendees(needs, exact_limit=3).method == "greedy"
