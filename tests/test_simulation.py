"""The simulation: determinism, conservation, lifecycle invariants, calibration, sweeps."""

from __future__ import annotations

import functools
import json
import math
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import closedloop as cl
from closedloop.access import Target
from closedloop.lifecycle import IssueEvent, IssueRegistered, check_invariants, evolve, replay
from closedloop.simulation import (
    YIWU_TARGETS,
    Baseline,
    DownwardMeetings,
    EventLoop,
    Knobs,
    Scenario,
    Simulation,
    compare,
    derive_seed,
    run_sweep,
    simulate,
    yiwu_scenario,
)
from closedloop.supervision import (
    CloseReason,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderOverdue,
)
from closedloop.taskforces import (
    PlanRecorded,
    PlanResolved,
    TaskForceClosed,
    TaskForceCreated,
    TaskForceEvent,
    replay_task_force,
)
from tests.world import ACTION_OF_EVENT


@cache
def short() -> Scenario:
    """Yiwu over two months, with fewer villages: quick enough for many tests."""
    return yiwu_scenario(villages_per_town=4).with_changes(end=date(2019, 7, 31))


# -- the engine ---------------------------------------------------------------------------


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3)), max_size=40))
def test_the_event_loop_runs_in_time_then_priority_then_scheduling_order(
    entries: list[tuple[int, int]],
) -> None:
    loop = EventLoop()
    ran: list[int] = []
    for index, (at, priority) in enumerate(entries):
        loop.schedule(at, functools.partial(ran.append, index), priority)
    loop.run()
    expected = sorted(range(len(entries)), key=lambda i: (entries[i][0], entries[i][1], i))
    assert ran == expected
    assert loop.steps == len(entries)


def test_the_event_loop_refuses_the_past_and_stops_at_until() -> None:
    loop = EventLoop()
    loop.schedule(10, lambda: None)
    loop.schedule(20, lambda: None)
    loop.run(until=15)
    assert (loop.now, len(loop)) == (15, 1)
    with pytest.raises(cl.ConfigurationError, match="before the current time"):
        loop.schedule(5, lambda: None)


def test_seeds_are_derived_with_a_stable_hash_not_pythons() -> None:
    here = derive_seed(7, 1, "arrivals")
    code = "from closedloop.simulation import derive_seed; print(derive_seed(7, 1, 'arrivals'))"
    for hash_seed in ("0", "12345"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": hash_seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert int(out) == here
    assert derive_seed(7, 1, "arrivals") != derive_seed(7, 2, "arrivals")
    assert derive_seed(7, 1, "arrivals") != derive_seed(7, 1, "handling")


# -- runs -----------------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_result_and_log() -> None:
    first = simulate(short(), DownwardMeetings(), seed=3, keep_events=True)
    again = simulate(short(), DownwardMeetings(), seed=3, keep_events=True)
    assert first.summary() == again.summary()
    assert first.events == again.events
    other = simulate(short(), DownwardMeetings(), seed=4)
    assert other.summary() != first.summary()


def test_the_same_seed_gives_the_same_result_in_another_process() -> None:
    code = (
        "import json; from datetime import date; from closedloop.simulation import *;"
        "s = yiwu_scenario(villages_per_town=4).with_changes(end=date(2019, 7, 31));"
        "print(json.dumps(simulate(s, Baseline(), seed=5).summary(), default=str))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONHASHSEED": "99", "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    here = json.loads(json.dumps(simulate(short(), Baseline(), seed=5).summary(), default=str))
    assert json.loads(out) == here


@pytest.mark.parametrize("policy", [Baseline(), DownwardMeetings()], ids=lambda p: p.name)
def test_every_stream_folds_keeps_the_invariants_and_was_authorized(
    policy: Baseline | DownwardMeetings,
) -> None:
    simulation = Simulation(short(), policy, seed=11, keep_events=True)
    result = simulation.run()
    assert result.events is not None
    streams: dict[str, list[IssueEvent]] = defaultdict(list)
    for event in result.events:
        if isinstance(event, IssueEvent):
            streams[event.issue_id].append(event)
    assert len(streams) == result.arrived
    access = simulation.access
    for events in streams.values():
        check_invariants(replay(events))
        state: Any = None
        for event in events:
            actor = access.actor(event.actor)
            target: Any = (
                Target(event.unit, event.category) if isinstance(event, IssueRegistered) else state
            )
            action = ACTION_OF_EVENT[type(event).__name__]
            decision = access.authorize(actor, action, target, event.occurred_at)
            assert decision.allowed, decision.reason
            state = evolve(state, event)


@pytest.mark.parametrize("policy", [Baseline(), DownwardMeetings()], ids=lambda p: p.name)
def test_issues_are_conserved(policy: Baseline | DownwardMeetings) -> None:
    result = simulate(short(), policy, seed=2)
    assert result.arrived == result.solved + result.open + result.withdrawn
    assert result.arrived == result.metrics.total.registered
    assert result.problems_solved <= result.solved


def test_only_metrics_mode_gives_the_same_figures_as_keeping_the_log() -> None:
    kept = simulate(short(), DownwardMeetings(), seed=8, keep_events=True)
    lean = simulate(short(), DownwardMeetings(), seed=8, keep_events=False)
    assert lean.events is None
    assert kept.summary() == lean.summary()
    from closedloop.metrics import compute_metrics

    replayed = compute_metrics(kept.events or (), calendar=short().calendar, at=kept.metrics.at)
    assert replayed.total == kept.metrics.total


@pytest.mark.parametrize("policy", [Baseline(), DownwardMeetings()], ids=lambda p: p.name)
def test_a_metrics_only_run_tracks_only_the_streams_still_written_to(
    policy: Baseline | DownwardMeetings,
) -> None:
    """Visits, meetings, accountability records, closed orders and task forces, and
    archived problems are forgotten: what is tracked is what is still open."""
    knobs = Knobs(supervision=1.0, accountability=1.0, task_force_threshold=3)
    scenario = short().with_changes(end=date(2019, 9, 30))
    simulation = Simulation(scenario, attrs.evolve(policy, knobs=knobs), seed=5)
    result = simulation.run()
    assert result.supervision_orders > 0
    assert result.accountability > 0
    assert result.visits > 0 or result.meetings > 0
    open_orders = {case.order for case in simulation.cases.values() if case.order is not None}
    # Closed orders are dropped, except one that closed after its deadline before the
    # check at that deadline.
    assert {o.order_id for o in simulation._orders.values() if o.is_open} == open_orders
    assert all(
        o.closed_at is not None and o.closed_at > o.due_at
        for o in simulation._orders.values()
        if not o.is_open
    )
    streams = set(simulation.store.stream_ids())
    assert streams == set(simulation.cases) | open_orders | set(simulation._task_forces)
    assert len(simulation.cases) < result.arrived / 10


def test_the_mechanism_removes_grassroots_visits_and_holds_meetings() -> None:
    baseline = simulate(short(), Baseline(), seed=1)
    meetings = simulate(short(), DownwardMeetings(), seed=1)
    assert baseline.meetings == 0
    assert baseline.visits > 0
    assert meetings.visits == 0
    assert meetings.meetings_town > 0
    assert meetings.meetings_city > 0
    assert meetings.leader_hours > 0


def test_knobs_change_the_outcome_in_the_expected_direction() -> None:
    strict = simulate(short(), Baseline(knobs=Knobs(supervision=1.0)), seed=6)
    lax = simulate(short(), Baseline(knobs=Knobs(supervision=0.0)), seed=6)
    assert lax.supervision_orders == 0
    assert strict.supervision_orders > 0
    deterred = simulate(short(), Baseline(knobs=Knobs(deterrence=1.0)), seed=6)
    assert deterred.returns == 0
    assert deterred.visits <= lax.visits


def test_comparisons_give_intervals_and_differences() -> None:
    results = [
        simulate(short(), p, seed=s) for p in (Baseline(), DownwardMeetings()) for s in (1, 2, 3)
    ]
    comparison = compare(results)
    assert comparison.reference == "baseline"
    visits = comparison.estimates["baseline"]["visits"]
    assert visits.low <= visits.mean <= visits.high
    difference = comparison.differences["downward_meetings"]["visits"]
    assert difference.mean < 0
    assert "visits" in comparison.table()
    with pytest.raises(cl.ConfigurationError):
        compare([])


# -- supervision: orders speed the department up, close when the issue moves ---------------


class _FinishSpy(Simulation):
    """Records every change supervision or a task force makes to a scheduled finish."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.moves: list[tuple[float, float, float, float]] = []

    def _speed_up(self, case: Any, factor: float) -> None:
        before = case.finish_at
        super()._speed_up(case, factor)
        if before is not None:
            now = self.loop.now
            left = self._work.between(now, before)
            self.moves.append((left, self._work.between(now, case.finish_at), factor, before))


@pytest.mark.parametrize("speedup", [0.0, 0.5, 1.0])
def test_a_supervision_order_never_delays_a_finish_and_cuts_the_work_left(speedup: float) -> None:
    knobs = Knobs(supervision=1.0, supervision_speedup=speedup)
    simulation = _FinishSpy(short(), Baseline(knobs=knobs), seed=0)
    simulation.run()
    assert simulation.moves, "some orders come while the work is in progress"
    for left, after, factor, _ in simulation.moves:
        assert after <= left + 1e-9
        # What is left after the order is the speedup's share of what was left before.
        assert after == pytest.approx(left * factor, abs=1e-3)
    if speedup > 0:
        assert any(after < left for left, after, _, _ in simulation.moves)


def test_a_stronger_supervision_speedup_solves_more_and_meets_more_orders() -> None:
    """Over a few seeds, the speedup moves the figures the right way (cheap: 6 runs)."""

    def totals(speedup: float) -> tuple[int, int, int]:
        knobs = Knobs(supervision=1.0, supervision_speedup=speedup)
        runs = [simulate(short(), Baseline(knobs=knobs), seed=s) for s in (1, 2, 3)]
        return (
            sum(r.problems_solved for r in runs),
            sum(r.metrics.activity_total.orders_met for r in runs),
            sum(r.metrics.activity_total.orders_overdue for r in runs),
        )

    slow, fast = totals(0.0), totals(0.9)
    assert fast[0] > slow[0]  # more problems solved
    assert fast[1] > slow[1]  # more orders met
    assert fast[2] < slow[2]  # fewer orders overdue


def _moves(order: SupervisionOrdered, events: list[Any]) -> list[Any]:
    """By hand: the issue events after the order that move its issue (see supervision.md)."""
    out = []
    for event in events:
        if event.version <= order.issue_version:
            continue
        kind = type(event).__name__
        addressed = order.departments
        if (
            kind in ("IssueResolved", "IssueWithdrawn", "IssueEscalated")
            or (kind == "AssignmentReturned" and event.department in addressed)
            or (kind == "IssueTransferred" and event.to_department not in addressed)
            or (kind == "IssueAssigned" and not addressed)
        ):
            out.append(event)
    return out


@pytest.mark.parametrize("policy", [Baseline(), DownwardMeetings()], ids=lambda p: p.name)
def test_orders_close_when_the_issue_moves_and_are_recorded_overdue_otherwise(
    policy: Baseline | DownwardMeetings,
) -> None:
    knobs = Knobs(supervision=1.0, supervision_speedup=0.3)
    scenario = short().with_changes(end=date(2019, 9, 30))
    result = simulate(scenario, attrs.evolve(policy, knobs=knobs), seed=5, keep_events=True)
    assert result.events is not None
    by_issue: dict[str, list[Any]] = defaultdict(list)
    for event in result.events:
        if isinstance(event, IssueEvent):
            by_issue[event.issue_id].append(event)
    closes = {e.order_id: e for e in result.events if isinstance(e, SupervisionOrderClosed)}
    overdue = {e.order_id: e for e in result.events if isinstance(e, SupervisionOrderOverdue)}
    orders = [e for e in result.events if isinstance(e, SupervisionOrdered)]
    assert len(orders) == result.supervision_orders > 5
    end = datetime.combine(scenario.end, time(23, 59), tzinfo=scenario.calendar.zone)
    met = closed = late = 0
    for order in orders:
        moves = _moves(order, by_issue[order.issue_id])
        observed = order.due_at + timedelta(minutes=1)
        if moves:
            closed += 1
            close = closes[order.order_id]
            assert close.trigger_event_id == moves[0].event_id
            assert close.occurred_at == moves[0].occurred_at
            resolved = type(moves[0]).__name__ == "IssueResolved"
            assert (close.reason is CloseReason.RESOLVED) == resolved
            met += resolved and moves[0].occurred_at <= order.due_at
        else:
            assert order.order_id not in closes
        if (not moves or moves[0].occurred_at > observed) and observed <= end:
            late += 1
            assert overdue[order.order_id].occurred_at == observed
        else:
            assert order.order_id not in overdue
    activity = result.metrics.activity_total
    assert (activity.orders_met, activity.orders_closed, activity.orders_overdue) == (
        met,
        closed,
        late,
    )
    assert met > 0
    assert closed > 0
    # Accountability rests only on orders that were unmet at their deadline.
    for record in (e for e in result.events if type(e).__name__ == "AccountabilityRecorded"):
        assert all(order_id in overdue for order_id in record.order_ids)


# -- task forces ------------------------------------------------------------------------------


def _task_force_streams(events: tuple[Any, ...]) -> dict[str, list[TaskForceEvent]]:
    streams: dict[str, list[TaskForceEvent]] = defaultdict(list)
    for event in events:
        if isinstance(event, TaskForceEvent):
            streams[event.task_force_id].append(event)
    return streams


@pytest.mark.parametrize("policy", [Baseline(), DownwardMeetings()], ids=lambda p: p.name)
def test_a_threshold_sets_up_task_forces_that_close_when_every_plan_is_resolved(
    policy: Baseline | DownwardMeetings,
) -> None:
    knobs = Knobs(task_force_threshold=3, task_force_window_days=10)
    result = simulate(short(), attrs.evolve(policy, knobs=knobs), seed=1, keep_events=True)
    assert result.events is not None
    streams = _task_force_streams(result.events)
    assert streams, "recurring problems get task forces"
    states = {i: replay_task_force(events) for i, events in streams.items()}
    closed = [s for s in states.values() if not s.is_open]
    assert closed, "task forces close"
    archived = {e.issue_id for e in result.events if type(e).__name__ == "IssueArchived"}
    registered = {e.issue_id: e for e in result.events if isinstance(e, IssueRegistered)}
    for state in states.values():
        created = streams[state.task_force_id][0]
        assert isinstance(created, TaskForceCreated)
        assert len({registered[i].unit for i in state.issue_ids}) >= 3
        assert {registered[i].category for i in state.issue_ids} == {state.category}
        assert set(state.plans) == set(state.issue_ids)  # one plan per problem
        for issue_id, plan in state.plans.items():
            assert plan.resolved == (issue_id in archived)
        assert state.is_open == (not state.can_close)
    kinds = {type(e) for events in streams.values() for e in events}
    assert {TaskForceCreated, PlanRecorded, PlanResolved, TaskForceClosed} <= kinds
    activity = result.metrics.activity_total
    assert activity.task_forces_created == len(states)
    assert activity.task_forces_closed == len(closed)
    # A metrics-only run gives the same figures.
    lean = simulate(short(), attrs.evolve(policy, knobs=knobs), seed=1)
    assert lean.summary() == result.summary()


class _HandlingSpy(Simulation):
    """Every problem takes five working days of work; records the work each one got."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.worked: list[tuple[bool, float]] = []

    def _handling_days(self, case: Any, state: Any) -> float:
        return 5.0

    def _start_handling(self, case: Any, state: Any) -> None:
        super()._start_handling(case, state)
        assert case.finish_at is not None
        work = self._work.between(self.loop.now, case.finish_at)
        self.worked.append((case.task_force is not None, work))


def test_task_force_problems_are_handled_faster() -> None:
    knobs = Knobs(supervision=0.0, task_force_threshold=3, task_force_speedup=0.9)
    simulation = _HandlingSpy(short(), DownwardMeetings(knobs=knobs), seed=2)
    simulation.run()
    linked = [w for grouped, w in simulation.worked if grouped]
    alone = [w for grouped, w in simulation.worked if not grouped]
    assert linked
    assert alone
    assert all(w == pytest.approx(0.5, abs=1e-3) for w in linked)
    assert all(w == pytest.approx(5.0, abs=1e-3) for w in alone)
    # Work in progress when the task force is set up is sped up too.
    spy = _FinishSpy(short(), DownwardMeetings(knobs=knobs), seed=2)
    spy.run()
    assert any(after < left for left, after, _, _ in spy.moves)


def test_without_a_threshold_the_task_force_knobs_change_nothing() -> None:
    plain = simulate(short(), DownwardMeetings(), seed=3, keep_events=True)
    idle = Knobs(task_force_speedup=0.95, task_force_window_days=3)
    assert idle.task_force_threshold is None
    other = simulate(short(), DownwardMeetings(knobs=idle), seed=3, keep_events=True)
    assert other.events == plain.events
    differs = {"configuration"}
    assert {k: v for k, v in other.summary().items() if k not in differs} == {
        k: v for k, v in plain.summary().items() if k not in differs
    }
    assert plain.metrics.activity_total.task_forces_created == 0


# -- naming variants, refusing to pool ------------------------------------------------------


def test_variants_are_named_and_compare_refuses_to_pool_different_configurations() -> None:
    weekly = DownwardMeetings()
    monthly = DownwardMeetings(town_cadence=cl.WeeklyCadence("Sat", every=4))
    results = [simulate(short(), p, seed=s) for p in (weekly, monthly) for s in (1, 2)]
    with pytest.raises(cl.ConfigurationError, match="name='monthly'"):
        compare(results)
    named = attrs.evolve(monthly, name="monthly")
    assert named.name == "monthly"
    results[2:] = [simulate(short(), named, seed=s) for s in (1, 2)]
    assert results[2].policy == "monthly"
    assert results[2].summary()["policy"] == "monthly"
    comparison = compare(results, figures=["meetings"])
    assert comparison.variants == ("downward_meetings", "monthly")
    assert comparison.differences["monthly"]["meetings"].mean < 0
    # The same configuration gives the same fingerprint; another scenario another one.
    assert results[0].configuration == simulate(short(), weekly, seed=9).configuration
    longer = short().with_changes(end=date(2019, 8, 31))
    assert simulate(longer, weekly, seed=9).configuration != results[0].configuration
    with pytest.raises(cl.ConfigurationError, match="different configurations"):
        compare([results[0], simulate(longer, weekly, seed=9)])


def test_replications_must_be_independent() -> None:
    once = simulate(short(), Baseline(), seed=1)
    with pytest.raises(cl.ConfigurationError, match="more than once"):
        compare([once, once, simulate(short(), Baseline(), seed=2)])
    with pytest.raises(cl.ConfigurationError, match="more than once"):
        run_sweep({}, seeds=[1, 1], builder=_short_builder)
    with pytest.raises(cl.ConfigurationError, match="more than once"):
        cl.simulation.grid_points({"supervision": [0.5, 0.5]})


def test_the_defaults_keep_only_metrics_in_both_entry_points() -> None:
    assert Simulation(short(), Baseline(), seed=1).run().events is None
    assert simulate(short(), Baseline(), seed=1).events is None
    assert simulate(short(), Baseline(), seed=1, keep_events=True).events


def test_no_limit_on_rounds_lets_departments_send_cadres_away_until_they_take_part() -> None:
    behaviour = attrs.evolve(short().behaviour, buck_passing=0.6)
    scenario = short().with_changes(behaviour=behaviour)
    capped = simulate(scenario, Baseline(max_rounds=1), seed=4)
    unlimited = simulate(scenario, Baseline(max_rounds=None), seed=4)
    assert capped.visits < unlimited.visits
    assert unlimited.arrived == unlimited.solved + unlimited.open + unlimited.withdrawn


# -- values are checked when they are given --------------------------------------------------


def _arrivals(**changes: Any) -> Any:
    return lambda: attrs.evolve(short().arrivals, **changes)


def _handling(**changes: Any) -> Any:
    return lambda: attrs.evolve(short().handling, **changes)


def _behaviour(**changes: Any) -> Any:
    return lambda: attrs.evolve(short().behaviour, **changes)


def _needs(**changes: Any) -> Any:
    return lambda: attrs.evolve(short().needs, **changes)


# Untyped handles, so the table can give values the annotations forbid.
_Knobs: Any = Knobs
_Baseline: Any = Baseline
_Meetings: Any = DownwardMeetings
_simulate: Any = simulate
_Simulation: Any = Simulation
_run_sweep: Any = run_sweep
_grid_points: Any = cl.simulation.grid_points
_yiwu_variant: Any = cl.simulation.yiwu_variant

BAD_VALUES: list[tuple[str, Any]] = [
    ("rate", _arrivals(rate=math.inf)),
    ("rate", _arrivals(rate="0.2")),
    ("rate", _arrivals(rate=0)),
    ("seasonality", _arrivals(seasonality=[1.0] * 11 + [math.inf])),
    ("seasonality", _arrivals(seasonality="abc")),
    ("on_holidays", _arrivals(on_holidays="no")),
    ("solved_locally", _needs(solved_locally="0.5")),
    ("needs_city", _needs(needs_city=1.5)),
    ("categories", _needs(categories={"roads": "1"})),
    ("difficulties", _needs(difficulties={"impossible": 1})),
    ("capacity", _handling(capacity=2.5)),
    ("capacity", _handling(capacity=0)),
    ("shape", _handling(shape=math.inf)),
    ("shape", _handling(shape=math.nan)),
    ("mean_days", _handling(mean_days={"simple": math.inf, "complex": 1, "difficult": 1})),
    ("mean_days", _handling(mean_days={"simple": "1", "complex": 1, "difficult": 1})),
    ("visit_days", _behaviour(visit_days=math.inf)),
    ("buck_passing", _behaviour(buck_passing=True)),
    ("supervision_after_days", lambda: _Knobs(supervision_after_days=1.5)),
    ("supervision", lambda: _Knobs(supervision="high")),
    ("supervision", lambda: _Knobs(supervision=math.nan)),
    ("task_force_threshold", lambda: _Knobs(task_force_threshold=1)),
    ("task_force_window_days", lambda: _Knobs(task_force_window_days=0)),
    ("deadline_policy", lambda: _Knobs(deadline_policy="yiwu")),
    ("max_rounds", lambda: _Baseline(max_rounds=0)),
    ("knobs", lambda: _Baseline(knobs={"supervision": 0.5})),
    ("name", lambda: _Baseline(name="")),
    ("city_rounds_per_month", lambda: _Meetings(city_rounds_per_month=None)),
    ("handling_factor", lambda: _Meetings(handling_factor=0)),
    ("meeting_hours", lambda: _Meetings(meeting_hours=math.inf)),
    ("max_agenda", lambda: _Meetings(max_agenda=2.5)),
    ("town_cadence", lambda: _Meetings(town_cadence="Sat")),
    ("skip_empty", lambda: _Meetings(skip_empty=1)),
    ("end", lambda: short().with_changes(end=date(2030, 1, 1))),
    ("start", lambda: short().with_changes(start="2019-06-01")),
    ("meeting_pauses", lambda: short().with_changes(meeting_pauses=[(date(2019, 7, 2),)])),
    ("colour", lambda: short().with_changes(colour="blue")),
    ("policy", lambda: _simulate(short(), "baseline")),
    ("seed", lambda: _simulate(short(), Baseline(), seed="a")),
    ("keep_events", lambda: _Simulation(short(), Baseline(), keep_events="yes")),
    ("supervision", lambda: _grid_points({"supervision": 0.5})),
    ("supervision", lambda: _yiwu_variant({"supervision": "high"})),
    ("capacity", lambda: _yiwu_variant({"capacity": "abc"})),
    ("arrival_rate", lambda: _yiwu_variant({"arrival_rate": "0.2"})),
    ("deadlines", lambda: _yiwu_variant({"deadlines": (1, 3)})),
    ("policy", lambda: _yiwu_variant({"policy": "meetings"})),
    ("seeds", lambda: _run_sweep({}, seeds=[1.5], builder=_short_builder)),
]


@pytest.mark.parametrize(("field", "make"), BAD_VALUES, ids=[f for f, _ in BAD_VALUES])
def test_bad_values_are_refused_with_a_configuration_error_naming_them(
    field: str, make: Any
) -> None:
    with pytest.raises(cl.ConfigurationError, match=field):
        make()


def _tiny() -> Scenario:
    return yiwu_scenario(villages_per_town=1).with_changes(end=date(2019, 6, 21))


_odd = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([None, "0.5", True, 2.5, -1, 0, 10**6]),
)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Usually a plausible value, sometimes anything: refused, or the run must work."""
    return st.one_of(valid, valid, valid, _odd)


_share = _mostly(st.floats(0, 1))
_count = _mostly(st.integers(1, 5))
_amount = _mostly(st.floats(0.05, 5))


@settings(max_examples=40)
@given(
    knobs=st.fixed_dictionaries(
        {},
        optional={
            "supervision": _share,
            "supervision_after_days": _mostly(st.integers(0, 3)),
            "supervision_speedup": _share,
            "accountability": _share,
            "deterrence": _share,
            "task_force_threshold": _mostly(st.one_of(st.none(), st.integers(2, 4))),
            "task_force_window_days": _count,
            "task_force_speedup": _share,
        },
    ),
    meetings=st.fixed_dictionaries(
        {},
        optional={
            "city_rounds_per_month": _count,
            "max_agenda": _mostly(st.one_of(st.none(), st.integers(1, 5))),
            "max_attendees": _mostly(st.one_of(st.none(), st.integers(1, 5))),
            "buck_passing_factor": _share,
            "handling_factor": _amount,
            "meeting_hours": _amount,
        },
    ),
    rounds=_mostly(st.one_of(st.none(), st.integers(1, 5))),
    handling=st.fixed_dictionaries(
        {},
        optional={
            "shape": _amount,
            "capacity": _count,
            "co_share": _amount,
            "reopened_factor": _amount,
        },
    ),
    baseline=st.booleans(),
)
@example(  # so much sequential work that counting it in minutes overflowed
    knobs={},
    meetings={},
    rounds=None,
    handling={"capacity": 2, "co_share": 5.64798757752983e304},
    baseline=True,
)
def test_whatever_is_accepted_runs_without_foreign_exceptions(
    knobs: dict[str, Any],
    meetings: dict[str, Any],
    rounds: Any,
    handling: dict[str, Any],
    baseline: bool,
) -> None:
    """A value is either refused with ConfigurationError when given, or the run works."""
    try:
        scenario = _tiny().with_changes(handling=attrs.evolve(_tiny().handling, **handling))
        shared = Knobs(**knobs)
        policy: Baseline | DownwardMeetings = (
            Baseline(knobs=shared, max_rounds=rounds)
            if baseline
            else DownwardMeetings(knobs=shared, **meetings)
        )
    except cl.ConfigurationError:
        return
    result = simulate(scenario, policy, seed=1)
    assert result.arrived == result.solved + result.open + result.withdrawn


# -- confidence intervals ----------------------------------------------------------------------


def _t_density(t: float, df: float) -> float:
    log = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log - (df + 1) / 2 * math.log1p(t * t / df))


def _central_mass(t: float, df: float, steps: int = 20_000) -> float:
    """P(-t < T < t) by Simpson's rule on the density (independent of the library)."""
    h = t / steps
    total = _t_density(0, df) + _t_density(t, df)
    total += sum((4 if i % 2 else 2) * _t_density(i * h, df) for i in range(1, steps))
    return 2 * total * h / 3


@pytest.mark.parametrize(
    ("df", "known"),
    [
        (1, 12.706204736),  # tan(0.475 pi), exact
        (2, 4.302652730),  # 0.95 / sqrt(2 * 0.975 * 0.025), exact
        (3, 3.182446305),
        (10, 2.228138852),
        (30, 2.042272456),
        (1.5, None),
        (2.7, None),
        (7.3, None),
        (123.4, None),
    ],
)
def test_t_quantiles_are_right_for_fractional_degrees_of_freedom(
    df: float, known: float | None
) -> None:
    from closedloop.simulation.results import _t95

    quantile = _t95(df)
    if known is not None:
        assert quantile == pytest.approx(known, abs=1e-8)
    assert _central_mass(quantile, df) == pytest.approx(0.95, abs=1e-9)
    assert _t95(1.5) == pytest.approx(6.0167, abs=1e-4)
    assert _t95(math.inf) == pytest.approx(1.959964, abs=1e-6)


# -- calibration --------------------------------------------------------------------------------


def test_the_yiwu_scenario_reproduces_the_published_figures() -> None:
    """A few seeds here; ``bench/calibration.py`` checks the median over 20.

    The calibrated policy, as the main command and the calibration page run it.
    """
    _, calibrated = cl.simulation.yiwu_policies()
    results = [simulate(yiwu_scenario(), calibrated, seed=seed) for seed in (0, 1, 2)]
    for figure in ("meetings", "problems_solved"):
        median = statistics.median(getattr(r, figure) for r in results)
        target = YIWU_TARGETS[figure]
        assert abs(median - target) <= 0.10 * target, (figure, median, target)


# -- sweeps ----------------------------------------------------------------------------------


def _short_builder(params: Mapping[str, Any]) -> tuple[Scenario, Baseline | DownwardMeetings]:
    scenario, policy = cl.simulation.yiwu_variant(params)
    return scenario.with_changes(hierarchy=short().hierarchy, end=date(2019, 6, 30)), policy


def test_sweeps_give_identical_results_on_processes_and_threads() -> None:
    grid: dict[str, list[Any]] = {
        "policy": ["baseline", "downward_meetings"],
        "supervision": [0.0, 0.9],
    }
    progress: list[tuple[int, int]] = []
    with ProcessPoolExecutor(max_workers=2) as pool:
        on_processes = run_sweep(
            grid,
            seeds=[1, 2],
            builder=_short_builder,
            executor=pool,
            progress=lambda d, t: progress.append((d, t)),
        )
    with ThreadPoolExecutor(max_workers=3) as pool:
        on_threads = run_sweep(grid, seeds=[1, 2], builder=_short_builder, executor=pool)
    assert on_processes.rows == on_threads.rows
    assert len(on_processes.rows) == 8
    assert progress[-1] == (8, 8)
    assert [r["param_policy"] for r in on_processes.rows[:2]] == ["baseline", "baseline"]
    assert on_processes.to_columns()["seed"] == [1, 2] * 4


class _RecordingExecutor(Executor):
    """An executor that records what is submitted and runs nothing."""

    def __init__(self) -> None:
        self.submitted: list[tuple[Any, ...]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted.append(args)
        raise AssertionError("a job was submitted")


@pytest.mark.parametrize(
    ("refusal", "message"),
    [
        (cl.ConfigurationError("supervision must be a probability"), "supervision"),
        (ValueError("not a value"), "not a value"),
        (TypeError("not a type"), "not a type"),
    ],
)
def test_a_sweep_refuses_a_bad_point_before_running_anything(
    refusal: Exception, message: str
) -> None:
    built: list[dict[str, Any]] = []

    def builder(point: Mapping[str, Any]) -> Any:
        built.append(dict(point))
        if point["supervision"] == 2.0:
            raise refusal
        return _short_builder(point)

    executor = _RecordingExecutor()
    grid = {"supervision": [0.5, 2.0, 0.8]}
    with pytest.raises(cl.ConfigurationError, match=rf"^sweep point supervision=2\.0: {message}"):
        run_sweep(grid, seeds=3, builder=builder, executor=executor)
    assert executor.submitted == []
    assert built == [{"supervision": 0.5}, {"supervision": 2.0}]


def test_a_builder_that_fails_otherwise_is_a_bug_and_keeps_its_exception() -> None:
    def broken(point: Mapping[str, Any]) -> Any:
        raise KeyError("no such thing")

    executor = _RecordingExecutor()
    with pytest.raises(KeyError):
        run_sweep({"supervision": [0.5]}, seeds=1, builder=broken, executor=executor)
    assert executor.submitted == []


def test_sweep_parameters_are_checked() -> None:
    with pytest.raises(cl.ConfigurationError, match="unknown sweep parameter"):
        cl.simulation.yiwu_variant({"colour": "blue"})
    with pytest.raises(cl.ConfigurationError, match="non-empty list"):
        cl.simulation.grid_points({"policy": []})


# -- the command line ----------------------------------------------------------------------------


def test_the_main_command_prints_both_policies_and_their_difference(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from closedloop.cli import main

    assert main(["simulate", "--months", "1"]) == 0
    out = capsys.readouterr().out
    assert "yiwu under baseline" in out
    assert "yiwu under downward_meetings" in out
    assert "grassroots visits to departments" in out
    assert main(["simulate", "--scenario", "mars"]) == 2


@given(
    minutes=st.floats(0, 400 * 1440, allow_nan=False),
    days=st.one_of(st.just(0.0), st.just(1.0), st.floats(0.001, 30, allow_nan=False)),
)
def test_the_simulations_working_clock_agrees_with_the_calendar(
    minutes: float, days: float
) -> None:
    from datetime import datetime, time, timedelta

    from closedloop.simulation.model import _WorkClock

    scenario = short()
    calendar = scenario.calendar
    hours = calendar.working_hours
    assert hours is not None
    clock = _WorkClock(calendar, scenario.start, scenario.end)
    start = datetime.combine(scenario.start, time(0), tzinfo=calendar.zone)
    expected = calendar.add_working_time(
        start + timedelta(minutes=minutes), timedelta(seconds=days * hours.seconds_per_day)
    )
    assert clock.add(minutes, days) == pytest.approx(
        (expected - start).total_seconds() / 60, abs=1e-6
    )


def test_numpy_whole_numbers_reach_the_domain_as_ints() -> None:
    np = pytest.importorskip("numpy")
    knobs = Knobs(task_force_threshold=np.int64(3), supervision_after_days=np.int16(2))
    policy = DownwardMeetings(max_attendees=np.int64(5), knobs=knobs)
    assert type(policy.max_attendees) is int
    assert type(knobs.task_force_threshold) is int
    assert type(knobs.supervision_after_days) is int
    scenario = short().with_changes(end=date(2019, 6, 30))
    assert simulate(scenario, policy, seed=1).arrived > 0
