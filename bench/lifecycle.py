"""Benchmark: the issue lifecycle beside state-machine and event-sourcing peers.

Run: ``python bench/lifecycle.py`` (``--quick`` for a smaller run). Peers come from
the ``bench`` extra (eventsourcing, transitions, python-statemachine); a missing peer
is skipped.

Workload: the happy path, 6 events per issue (register, assign, accept, resolve,
evaluate, archive), applied event-major (every issue registers, then every issue is
assigned, ...). Every variant refuses illegal transitions.

Rows:
- closedloop fold: ``replay`` of stored 6-event streams (µs per event);
- closedloop command path: ``decide`` + ``evolve`` per command, no store, with real
  access rules (µs per command); also with the command objects built in the loop;
- raw baseline: a slotted object, a dict table (status, event) -> status, and an event
  tuple appended to a log;
- eventsourcing ``Aggregate`` with ``@event`` methods; transitions with a shared
  machine; python-statemachine.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tracemalloc
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from _util import best_of, environment, print_table

import closedloop as cl
from closedloop.access import AccessPolicy, Actor, ActorKind
from closedloop.hierarchy import Hierarchy
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    Context,
    EvaluateResolution,
    IssueEvent,
    IssueState,
    RegisterIssue,
    ResolveIssue,
    decide,
    evolve,
    replay,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITY, TOWN = "330782", "330782100000"
HIERARCHY = Hierarchy.from_rows(
    [
        {"id": CITY, "name": "义乌市", "level": "county", "parent": None, "code": CITY},
        {"id": TOWN, "name": "佛堂镇", "level": "town", "parent": CITY, "code": TOWN},
    ]
)
LEADER = Actor("leader", ActorKind.OFFICIAL, unit=CITY)
STAFF = Actor("staff", ActorKind.DEPARTMENT_STAFF, unit=CITY, department="economy")
SURVEY = Actor("survey", ActorKind.THIRD_PARTY_EVALUATOR)
ACCESS = AccessPolicy(
    HIERARCHY,
    [
        *AccessPolicy.standard_grants(LEADER),
        *AccessPolicy.standard_grants(STAFF),
        *AccessPolicy.standard_grants(SURVEY, scope_unit=CITY),
    ],
    [LEADER, STAFF, SURVEY],
)
CALENDAR = cl.china_calendar()
POLICY = cl.DeadlinePolicy.yiwu()
START = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)


def contexts() -> list[Context]:
    ids = itertools.count()

    def new_id() -> str:
        return f"e{next(ids)}"

    steps = [LEADER, LEADER, STAFF, STAFF, SURVEY, LEADER]
    return [
        Context(actor, START + timedelta(hours=k), CALENDAR, POLICY, HIERARCHY, ACCESS, new_id)  # type: ignore[arg-type]
        for k, actor in enumerate(steps)
    ]


def commands_for(issue_id: str) -> list[Command]:
    return [
        RegisterIssue(issue_id, TOWN, "enterprise_finance", "complex", "credit line"),
        AssignIssue(issue_id, "economy"),
        AcceptAssignment(issue_id),
        ResolveIssue(issue_id),
        EvaluateResolution(issue_id, "third_party", True),
        ArchiveIssue(issue_id),
    ]


def closedloop_commands(n: int) -> tuple[float, list[list[IssueEvent]]]:
    """Seconds for the command path over n issues (prebuilt commands), and the logs."""
    ctxs = contexts()
    plans = [commands_for(f"i{k}") for k in range(n)]
    logs: list[list[IssueEvent]] = [[] for _ in range(n)]

    def run() -> None:
        states: list[IssueState | None] = [None] * n
        for step in range(6):
            ctx = ctxs[step]
            for k in range(n):
                state = states[k]
                for event in decide(plans[k][step], state, ctx):
                    state = evolve(state, event)
                    logs[k].append(event)
                states[k] = state

    def timed() -> None:
        for log in logs:
            log.clear()
        run()

    seconds = best_of(timed, reps=3)
    return seconds, logs


def closedloop_service(n: int, *, supervision: bool) -> float:
    """Seconds for the same commands through ``ClosedLoop.execute`` on a memory store:
    decided, authorized, checked by the codec, stored and folded into the read model."""
    plans = [commands_for(f"i{k}") for k in range(n)]
    actors = [LEADER, LEADER, STAFF, STAFF, SURVEY, LEADER]

    def run() -> None:
        ids = itertools.count()
        service = cl.ClosedLoop(
            hierarchy=HIERARCHY,
            calendar=CALENDAR,
            policy=POLICY,
            access=ACCESS,
            clock=cl.FixedClock(START),
            new_id=lambda: f"s{next(ids)}",
            supervision=supervision,
        )
        for step in range(6):
            at = START + timedelta(hours=step)
            for plan in plans:
                service.execute(plan[step], actors[step], at=at)

    return best_of(run, reps=3)


def closedloop_commands_built(n: int) -> float:
    """Seconds for the command path when each command object is built in the loop."""
    ctxs = contexts()

    def run() -> None:
        states: list[IssueState | None] = [None] * n
        builders: list[Callable[[str], Command]] = [
            lambda i: RegisterIssue(i, TOWN, "enterprise_finance", "complex", "credit line"),
            lambda i: AssignIssue(i, "economy"),
            AcceptAssignment,
            ResolveIssue,
            lambda i: EvaluateResolution(i, "third_party", True),
            ArchiveIssue,
        ]
        ids = [f"i{k}" for k in range(n)]
        for step in range(6):
            ctx, build = ctxs[step], builders[step]
            for k in range(n):
                state = states[k]
                for event in decide(build(ids[k]), state, ctx):
                    state = evolve(state, event)
                states[k] = state

    return best_of(run, reps=3)


def state_bytes(n: int) -> float:
    """tracemalloc bytes per live issue state (events excluded: they already exist)."""
    _, logs = closedloop_commands(n)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    states = [replay(log) for log in logs]
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(states) == n
    return (after - before) / n


def raw_baseline(n: int) -> float:
    table = {
        (None, "register"): "registered",
        ("registered", "assign"): "assigned",
        ("assigned", "accept"): "in_progress",
        ("in_progress", "resolve"): "resolved",
        ("resolved", "evaluate"): "evaluated",
        ("evaluated", "archive"): "archived",
    }

    class Raw:
        __slots__ = ("id", "status", "version")

        def __init__(self, issue_id: str) -> None:
            self.id = issue_id
            self.status: str | None = None
            self.version = 0

    def run() -> None:
        issues = [Raw(f"i{k}") for k in range(n)]
        log: list[tuple[str, int, str, datetime]] = []
        for kind in ("register", "assign", "accept", "resolve", "evaluate", "archive"):
            for issue in issues:
                target = table.get((issue.status, kind))
                if target is None:
                    raise ValueError(kind)
                issue.status = target
                issue.version += 1
                log.append((issue.id, issue.version, kind, START))

    return best_of(run, reps=3)


def eventsourcing_peer(n: int) -> float | None:
    try:
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return None

    class ESIssue(Aggregate):
        @event("Registered")
        def __init__(self, unit: str) -> None:
            self.unit = unit
            self.status = "registered"

        def _go(self, before: str, after: str) -> None:
            if self.status != before:
                raise ValueError(after)
            self.status = after

        @event("Assigned")
        def assign(self) -> None:
            self._go("registered", "assigned")

        @event("Accepted")
        def accept(self) -> None:
            self._go("assigned", "in_progress")

        @event("Resolved")
        def resolve(self) -> None:
            self._go("in_progress", "resolved")

        @event("Evaluated")
        def evaluate(self) -> None:
            self._go("resolved", "evaluated")

        @event("Archived")
        def archive(self) -> None:
            self._go("evaluated", "archived")

    def run() -> None:
        issues = [ESIssue(TOWN) for _ in range(n)]
        for name in ("assign", "accept", "resolve", "evaluate", "archive"):
            for issue in issues:
                getattr(issue, name)()

    return best_of(run, reps=3)


def transitions_peer(n: int) -> float | None:
    try:
        from transitions import Machine
    except ImportError:
        return None
    states = ["new", "registered", "assigned", "in_progress", "resolved", "evaluated", "archived"]
    moves = [
        ["register", "new", "registered"],
        ["assign", "registered", "assigned"],
        ["accept", "assigned", "in_progress"],
        ["resolve", "in_progress", "resolved"],
        ["evaluate", "resolved", "evaluated"],
        ["archive", "evaluated", "archived"],
    ]

    def run() -> None:
        machine = Machine(
            model=None, states=states, transitions=moves, initial="new", auto_transitions=False
        )

        class Model:
            pass

        models = [Model() for _ in range(n)]
        for model in models:
            machine.add_model(model)
        for name, *_ in moves:
            trigger = machine.events[name].trigger
            for model in models:
                trigger(model)

    return best_of(run, reps=3)


def statemachine_peer(n: int) -> float | None:
    try:
        from statemachine import State, StateMachine
    except ImportError:
        return None

    class IssueMachine(StateMachine):
        new = State(initial=True)
        registered = State()
        assigned = State()
        in_progress = State()
        resolved = State()
        evaluated = State()
        archived = State(final=True)
        register = new.to(registered)
        assign = registered.to(assigned)
        accept = assigned.to(in_progress)
        resolve = in_progress.to(resolved)
        evaluate = resolved.to(evaluated)
        archive = evaluated.to(archived)

    def run() -> None:
        machines = [IssueMachine() for _ in range(n)]
        for name in ("register", "assign", "accept", "resolve", "evaluate", "archive"):
            for machine in machines:
                machine.send(name)

    return best_of(run, reps=3)


def transitions_registration_scaling(sizes: list[int]) -> list[tuple[int, float]] | None:
    """µs per ``Machine.add_model`` on a shared machine at several sizes (it grows with
    the number of models already registered: each addition scans the list of models)."""
    try:
        from transitions import Machine
    except ImportError:
        return None
    out = []
    for n in sizes:

        class Model:
            pass

        def run(count: int = n) -> None:
            machine = Machine(
                model=None, states=["new", "registered"], initial="new", auto_transitions=False
            )
            for _ in range(count):
                machine.add_model(Model())

        out.append((n, best_of(run, reps=1) / n * 1e6))
    return out


def creation_scaling(sizes: list[int]) -> list[tuple[int, float]]:
    """µs per registration at several sizes: flat means creating N issues is O(N)."""
    out = []
    for n in sizes:
        ctx = contexts()[0]
        commands = [RegisterIssue(f"i{k}", TOWN, "x", "simple", "t") for k in range(n)]

        def run(cmds: list[RegisterIssue] = commands, c: Context = ctx) -> None:
            states = {}
            for command in cmds:
                (event,) = decide(command, None, c)
                states[command.issue_id] = evolve(None, event)

        out.append((n, best_of(run, reps=3) / n * 1e6))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 10_000 if args.quick else 50_000
    slow = 1_000 if args.quick else 3_000
    print("issue lifecycle, happy path of 6 events per issue")
    print(environment("closedloop", "attrs", "eventsourcing", "transitions", "python-statemachine"))

    command_seconds, logs = closedloop_commands(n)
    per_command = command_seconds / (6 * n) * 1e6
    built = closedloop_commands_built(n) / (6 * n) * 1e6
    all_events = [e for log in logs for e in log]
    fold = best_of(lambda: [replay(log) for log in logs], reps=5) / len(all_events) * 1e6

    def step_fold() -> None:
        for log in logs:
            state = None
            for event in log:
                state = evolve(state, event)

    step = best_of(step_fold, reps=3) / len(all_events) * 1e6
    raw = raw_baseline(n) / (6 * n) * 1e6
    bytes_per_state = state_bytes(min(n, 20_000))
    service = closedloop_service(n // 5, supervision=True) / (6 * (n // 5)) * 1e6
    service_off = closedloop_service(n // 5, supervision=False) / (6 * (n // 5)) * 1e6

    rows: list[list[Any]] = [
        ["closedloop fold: replay of 6-event streams", n, fold, "per event"],
        ["closedloop fold: evolve event by event", n, step, "per event"],
        ["closedloop decide + evolve (prebuilt commands)", n, per_command, "per command"],
        ["closedloop decide + evolve (commands built)", n, built, "per command"],
        ["raw slots + dict table + event tuple", n, raw, "per event"],
        ["ClosedLoop.execute, memory store", n // 5, service, "per command"],
        ["ClosedLoop.execute, supervision off", n // 5, service_off, "per command"],
    ]
    peers: dict[str, float] = {}
    for name, peer, size in (
        ("eventsourcing Aggregate @event", eventsourcing_peer, slow),
        ("transitions shared machine", transitions_peer, slow),
        ("python-statemachine", statemachine_peer, max(slow // 2, 500)),
    ):
        seconds = peer(size)
        if seconds is None:
            print(f"{name}: not installed, skipped")
            continue
        peers[name] = seconds / (6 * size) * 1e6
        rows.append([name, size, peers[name], "per event"])
    print()
    print_table(["variant", "issues", "µs", "unit"], rows)
    print()
    print(f"live issue state: {bytes_per_state:.0f} bytes (tracemalloc, events excluded)")
    print("registration cost by size (O(N) creation: flat per issue):")
    sizes = [slow // 3, slow, slow * 3]
    theirs = dict(transitions_registration_scaling(sizes) or [])
    for size, micro in creation_scaling(sorted({*sizes, n // 10, n // 2, n})):
        beside = f"; transitions add_model {theirs[size]:.1f} µs" if size in theirs else ""
        print(f"  {size:>8,} issues: closedloop {micro:.2f} µs per issue{beside}")
    print()
    print("ratios (peer / closedloop, same run):")
    for name, micro in peers.items():
        print(f"  {name:<34} {micro / per_command:7.1f}x the command path,", end="")
        print(f" {micro / fold:7.1f}x the fold")
    print(f"  {'raw baseline':<34} {raw / per_command:7.2f}x the command path,", end="")
    print(f" {raw / fold:7.2f}x the fold")


if __name__ == "__main__":
    main()
