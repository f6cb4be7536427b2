"""Benchmark: the simulation beside an equivalent plain SimPy model and a raw heapq loop.

Run: ``python bench/simulation.py`` (``--quick`` for a smaller run; ``--issues N`` to
choose the size). SimPy comes from the ``bench`` extra; it is skipped when missing.

The same model in all three, on the Yiwu hierarchy (14 towns, their villages):
problems arise at villages as Poisson processes; 70 % are handled by the village
committee; the rest wait for their town's weekly meeting, which sends them to a
department (a queue with capacity 4) for a gamma-distributed handling time; 12 % are
reopened once after an evaluation. closedloop runs its full domain model (every
lifecycle command decided and folded, access rules, working-day deadlines, meeting
planning, metrics) through the application service; SimPy and heapq only move
numbers around. Sizes are scaled by the arrival rate; per-issue cost does not depend
on size (checked by running two sizes for closedloop).
"""

from __future__ import annotations

import argparse
import heapq
import random
import sys
import time
import tracemalloc
from collections import deque
from datetime import date
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).parent))

from _util import environment, print_table

from closedloop.simulation import DownwardMeetings, Simulation, yiwu_scenario

LOCAL_SHARE = 0.7
REOPEN = 0.12
CAPACITY = 4
MINUTES_PER_DAY = 1440


def scenario_for(issues: int) -> Any:
    """The Yiwu scenario over about three months, with a rate that gives ``issues``.

    Departments' capacity (and, in ``policy_for``, meetings' agenda) grow with the rate,
    so the load stays what it is in the calibrated scenario and problems flow through
    rather than pile up in queues.
    """
    base = yiwu_scenario()
    days_worked = 61  # working days from June to August 2019
    villages = sum(1 for u in base.hierarchy if not base.hierarchy.children(u.id))
    rate = issues / (villages * days_worked)
    arrivals = attrs.evolve(base.arrivals, rate=rate, seasonality=(1.0,) * 12)
    capacity = max(
        base.handling.capacity, round(base.handling.capacity * rate / base.arrivals.rate)
    )
    handling = attrs.evolve(base.handling, capacity=capacity)
    return base.with_changes(
        arrivals=arrivals, handling=handling, end=date(2019, 8, 31), meeting_pauses=()
    )


def policy_for(issues: int) -> DownwardMeetings:
    """Downward meetings whose agendas grow with the number of problems."""
    base = DownwardMeetings()
    agenda = base.max_agenda
    assert agenda is not None  # the default policy caps its agendas
    return attrs.evolve(base, max_agenda=max(agenda, round(agenda * issues / 3000)))


def run_closedloop(issues: int, *, keep_events: bool) -> tuple[float, int, int]:
    """Seconds, issues simulated and events produced."""
    scenario = scenario_for(issues)
    simulation = Simulation(scenario, policy_for(issues), seed=1, keep_events=keep_events)
    started = time.perf_counter()
    result = simulation.run()
    seconds = time.perf_counter() - started
    return seconds, result.arrived, simulation.store.last_position()


def closedloop_memory(issues: int) -> float:
    """Peak traced MiB of a metrics-only run."""
    scenario = scenario_for(issues)
    tracemalloc.start()
    Simulation(scenario, policy_for(issues), seed=1, keep_events=False).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def _arrival_times(rng: random.Random, rate_per_minute: float, horizon: float) -> list[float]:
    out = []
    t = rng.expovariate(rate_per_minute)
    while t < horizon:
        out.append(t)
        t += rng.expovariate(rate_per_minute)
    return out


def run_heapq(issues: int, towns: int = 14, departments: int = 60) -> tuple[float, int]:
    """The same model on a plain heap of (time, sequence, kind, issue) entries."""
    rng = random.Random(1)
    horizon = 92 * MINUTES_PER_DAY
    arrivals = _arrival_times(rng, issues / horizon, horizon)
    started = time.perf_counter()
    heap: list[tuple[float, int, int, int]] = []
    seq = 0
    for issue, t in enumerate(arrivals):
        heapq.heappush(heap, (t, seq, 0, issue))
        seq += 1
    for week in range(1, 14):
        for town in range(towns):
            heapq.heappush(heap, (week * 7 * MINUTES_PER_DAY + town, seq, 1, town))
            seq += 1
    waiting: list[list[int]] = [[] for _ in range(towns)]
    queues = [deque[int]() for _ in range(departments)]
    busy = [0] * departments
    department_of: dict[int, int] = {}
    reopened: set[int] = set()
    done = 0
    while heap:
        now, _, kind, who = heapq.heappop(heap)
        if kind == 0:  # arrival
            if rng.random() < LOCAL_SHARE:
                heapq.heappush(
                    heap, (now + rng.gammavariate(2, 0.25) * MINUTES_PER_DAY, seq, 3, who)
                )
                seq += 1
            else:
                waiting[who % towns].append(who)
        elif kind == 1:  # weekly town meeting: assign everything waiting
            for issue in waiting[who]:
                d = rng.randrange(departments)
                department_of[issue] = d
                queues[d].append(issue)
            waiting[who] = []
            for d in range(departments):
                while queues[d] and busy[d] < CAPACITY:
                    issue = queues[d].popleft()
                    busy[d] += 1
                    heapq.heappush(
                        heap, (now + rng.gammavariate(2, 1.2) * MINUTES_PER_DAY, seq, 2, issue)
                    )
                    seq += 1
        elif kind == 2:  # department finishes
            d = department_of[who]
            busy[d] -= 1
            if queues[d]:
                issue = queues[d].popleft()
                busy[d] += 1
                heapq.heappush(
                    heap, (now + rng.gammavariate(2, 1.2) * MINUTES_PER_DAY, seq, 2, issue)
                )
                seq += 1
            heapq.heappush(heap, (now + 2 * MINUTES_PER_DAY, seq, 3, who))
            seq += 1
        else:  # evaluation
            if who not in reopened and rng.random() < REOPEN:
                reopened.add(who)
                heapq.heappush(
                    heap, (now + rng.gammavariate(2, 0.5) * MINUTES_PER_DAY, seq, 3, who)
                )
                seq += 1
            else:
                done += 1
    return time.perf_counter() - started, len(arrivals)


def run_simpy(issues: int, towns: int = 14, departments: int = 60) -> tuple[float, int] | None:
    """The same model with SimPy processes and resources."""
    try:
        import simpy
    except ImportError:
        return None
    rng = random.Random(1)
    horizon = 92 * MINUTES_PER_DAY
    arrivals = _arrival_times(rng, issues / horizon, horizon)
    env = simpy.Environment()
    desks = [simpy.Resource(env, capacity=CAPACITY) for _ in range(departments)]
    meetings = [env.event() for _ in range(towns)]

    def weekly(town: int) -> Any:
        while True:
            yield env.timeout(7 * MINUTES_PER_DAY)
            meeting, meetings[town] = meetings[town], env.event()
            meeting.succeed()

    def issue(issue_id: int, at: float) -> Any:
        yield env.timeout(at - env.now)
        if rng.random() < LOCAL_SHARE:
            yield env.timeout(rng.gammavariate(2, 0.25) * MINUTES_PER_DAY)
            return
        yield meetings[issue_id % towns]
        desk = desks[rng.randrange(departments)]
        with desk.request() as slot:
            yield slot
            yield env.timeout(rng.gammavariate(2, 1.2) * MINUTES_PER_DAY)
        yield env.timeout(2 * MINUTES_PER_DAY)
        if rng.random() < REOPEN:
            yield env.timeout(rng.gammavariate(2, 0.5) * MINUTES_PER_DAY)

    for town in range(towns):
        env.process(weekly(town))
    for issue_id, at in enumerate(arrivals):
        env.process(issue(issue_id, at))
    started = time.perf_counter()
    env.run(until=horizon + 60 * MINUTES_PER_DAY)
    return time.perf_counter() - started, len(arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--issues", type=int, default=None)
    args = parser.parse_args()
    issues = args.issues or (5_000 if args.quick else 40_000)
    print("simulation: problems through villages, weekly town meetings and department queues")
    print(environment("closedloop", "simpy"))
    rows: list[list[object]] = []
    per_issue: dict[str, float] = {}
    for keep in (False, True):
        seconds, n, events = run_closedloop(issues, keep_events=keep)
        name = f"closedloop, full domain ({'event log kept' if keep else 'metrics only'})"
        per_issue[name] = seconds / n * 1e6
        rows.append([name, n, seconds, per_issue[name], events / n])
    small_seconds, small_n, _ = run_closedloop(issues // 4, keep_events=False)
    rows.append(
        [
            "closedloop, metrics only, a quarter of the size",
            small_n,
            small_seconds,
            small_seconds / small_n * 1e6,
            "",
        ]
    )
    simpy_run = run_simpy(issues)
    if simpy_run is None:
        print("simpy not installed: skipped")
    else:
        seconds, n = simpy_run
        per_issue["plain SimPy model"] = seconds / n * 1e6
        rows.append(
            ["plain SimPy model (no domain)", n, seconds, per_issue["plain SimPy model"], ""]
        )
    seconds, n = run_heapq(issues)
    per_issue["raw heapq loop"] = seconds / n * 1e6
    rows.append(["raw heapq loop (no domain)", n, seconds, per_issue["raw heapq loop"], ""])
    print()
    print_table(["model", "issues", "seconds", "µs/issue", "events/issue"], rows)
    ours = per_issue["closedloop, full domain (metrics only)"]
    print()
    print("ratios (closedloop metrics-only time / other, same run):")
    for name, micro in per_issue.items():
        if name != "closedloop, full domain (metrics only)":
            print(f"  vs {name:<44} {ours / micro:8.1f}x")
    print(f"  1,000,000 issues would take about {ours:.0f} s on one core (linear extrapolation)")
    small, large = issues // 8, issues // 2
    low, high = closedloop_memory(small), closedloop_memory(large)
    slope = (high - low) / (large - small) * 1_000_000
    print(
        f"peak traced memory, metrics only: {low:.1f} MiB at {small:,} issues, {high:.1f} MiB "
        f"at {large:,}; growth {slope:.0f} MiB per million issues"
    )


if __name__ == "__main__":
    main()
