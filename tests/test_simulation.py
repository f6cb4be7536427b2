"""The simulation: determinism, conservation, lifecycle invariants, calibration, sweeps."""

from __future__ import annotations

import functools
import json
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import date
from functools import cache
from typing import Any

import pytest
from hypothesis import given
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


# -- calibration --------------------------------------------------------------------------------


def test_the_yiwu_scenario_reproduces_the_published_figures() -> None:
    """A few seeds here; ``bench/calibration.py`` checks the median over 20."""
    results = [simulate(yiwu_scenario(), DownwardMeetings(), seed=seed) for seed in (0, 1, 2)]
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
