"""Random, valid issue event logs, made by driving the lifecycle itself.

:func:`random_log` plays a seeded game on the small world of ``tests.world``: at each
step the clock moves forward a little and either a new issue is registered or an
existing issue gets a command its status allows, issued by an actor who may issue it
(the lead's staff accept and resolve, the city leader assigns and transfers, evaluators
evaluate). Every command goes through ``decide`` with the world's real access policy and
every event through ``evolve``, so the log is one the library could have written.
Refused commands are simply skipped.

The same seed always gives the same log. :func:`issue_logs` wraps it as a hypothesis
strategy.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs
from hypothesis import strategies as st

import closedloop as cl
from closedloop.access import Actor
from closedloop.ids import EventId
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    EscalateIssue,
    EvaluateResolution,
    EvaluatorKind,
    ExtendDeadline,
    IssueEvent,
    IssueState,
    ObserveDeadline,
    RegisterIssue,
    ReopenIssue,
    ResolveIssue,
    ResumeIssue,
    ReturnAssignment,
    Status,
    SuspendIssue,
    TransferIssue,
    WithdrawIssue,
    decide,
    evolve,
)
from tests import world

UNITS = (world.VILLAGE_A1, world.VILLAGE_A2, world.VILLAGE_B1, world.TOWN_A, world.TOWN_B)
CATEGORIES = ("housing", "enterprise_finance", "land_certificate")
TITLES = (
    "工业用地 办证 历史遗留",
    "工业用地 办证 遗留 问题",
    "企业 融资 贷款 困难",
    "农民 公寓 消防 验收",
    "道路 积水 排水",
)


@attrs.frozen(repr=False)
class Log:
    """A generated log: the events in global order and the final states."""

    events: tuple[IssueEvent, ...]
    states: dict[str, IssueState] = attrs.field(eq=False)
    end: datetime
    """The clock when the game stopped (at or after the last event)."""
    recipe: str = attrs.field(default="", eq=False)
    """How to make it again, e.g. ``random_log(random.Random(7), issues=20, steps=150)``."""

    def __repr__(self) -> str:
        return self.recipe or f"<Log of {len(self.events)} events>"

    def history(self, issue_id: str) -> list[IssueEvent]:
        """One issue's events, in order."""
        return [e for e in self.events if e.issue_id == issue_id]


class _Game:
    def __init__(self, rnd: random.Random, start: datetime, new_id: Callable[[], EventId]):
        self.rnd = rnd
        self.now = start
        self.new_id = new_id
        self.states: dict[str, IssueState] = {}
        self.events: list[IssueEvent] = []
        self.counter = 0

    def run(self, issue_id: str, command: Command, actor: Actor) -> bool:
        before = self.states.get(issue_id)
        try:
            new = decide(command, before, world.context(actor, self.now, self.new_id))
        except cl.ClosedLoopError:
            return False
        state = before
        for event in new:
            state = evolve(state, event)
        if state is not None:
            self.states[issue_id] = state
        self.events.extend(new)
        return True

    def register(self) -> None:
        self.counter += 1
        issue_id = f"issue-{self.counter:04d}"
        rnd = self.rnd
        unit = rnd.choice(UNITS)
        reporter = world.CITIZEN if unit == world.VILLAGE_A1 and rnd.random() < 0.5 else None
        actor = reporter if reporter is not None else world.CITY_LEADER
        command = RegisterIssue(
            issue_id,
            unit,
            rnd.choice(CATEGORIES),
            rnd.choice(list(cl.Difficulty)),
            rnd.choice(TITLES),
        )
        self.run(issue_id, command, actor)

    def step(self, state: IssueState) -> None:
        rnd = self.rnd
        i = state.issue_id
        s = state.status
        leader = world.CITY_LEADER
        staff = world.STAFF[state.lead] if state.lead is not None else leader
        options: list[tuple[int, Command, Actor]] = []
        if s is Status.REGISTERED:
            lead = rnd.choice(world.DEPARTMENTS)
            co = tuple(d for d in world.DEPARTMENTS if d != lead and rnd.random() < 0.2)
            options += [
                (12, AssignIssue(i, lead, co), leader),
                (2, EscalateIssue(i, "needs the level above"), leader),
                (1, WithdrawIssue(i, "duplicate"), leader),
            ]
        elif s in (Status.ASSIGNED, Status.IN_PROGRESS):
            other = rnd.choice([d for d in world.DEPARTMENTS if d != state.lead])
            options += [
                (3, TransferIssue(i, other, reason="belongs there"), leader),
                (1, SuspendIssue(i, "waiting for a survey"), leader),
                (1, ExtendDeadline(i, rnd.randint(1, 3), "more time"), leader),
                (8, ResolveIssue(i, "done"), staff),
                (2, ObserveDeadline(i), world.SYSTEM),
                (1, EscalateIssue(i, "needs the level above"), leader),
                (1, WithdrawIssue(i, "out_of_scope"), leader),
            ]
            if s is Status.ASSIGNED:
                options += [
                    (10, AcceptAssignment(i), staff),
                    (3, ReturnAssignment(i, "not ours"), staff),
                ]
        elif s is Status.SUSPENDED:
            options += [
                (6, ResumeIssue(i), leader),
                (1, ExtendDeadline(i, 1), leader),
                (1, WithdrawIssue(i, "out_of_scope"), leader),
            ]
        elif s is Status.RESOLVED:
            evaluators = [(world.SURVEY, EvaluatorKind.THIRD_PARTY)]
            evaluators.append((world.OFFICER, EvaluatorKind.EXPERIENCE_OFFICER))
            if state.reporter == world.CITIZEN.id:
                evaluators.append((world.CITIZEN, EvaluatorKind.REPORTER))
            evaluator, kind = rnd.choice(evaluators)
            satisfied = rnd.random() < 0.8
            score = rnd.choice([None, 95.0 if satisfied else 30.0, 75.0 if satisfied else 55.0])
            options += [(10, EvaluateResolution(i, kind, satisfied, score), evaluator)]
            if state.last_satisfied is not None:  # evaluated in this cycle
                options += [(3, ReopenIssue(i, "not satisfied"), leader)]
                if state.last_satisfied:
                    options += [(8, ArchiveIssue(i), leader)]
        if not options:
            return
        weights = [w for w, _, _ in options]
        _, command, actor = rnd.choices(options, weights)[0]
        self.run(i, command, actor)


def random_log(
    rnd: random.Random,
    *,
    issues: int = 20,
    steps: int = 150,
    start: datetime = world.START,
    max_gap_minutes: int = 60 * 30,
    new_id: Callable[[], EventId] | None = None,
    seed: int | None = None,
) -> Log:
    """A valid log of up to ``issues`` issues after ``steps`` moves (see the module docs).

    ``seed``, when given, only names the log in its repr (the randomness is ``rnd``).
    """
    game = _Game(rnd, start, new_id if new_id is not None else world.id_maker())
    for _ in range(steps):
        game.now += timedelta(minutes=rnd.randint(0, max_gap_minutes))
        live = sorted(k for k, v in game.states.items() if not v.status.is_terminal)
        if game.counter < issues and (not live or rnd.random() < 0.3):
            game.register()
        elif live:
            game.step(game.states[rnd.choice(live)])
    recipe = f"random_log(random.Random({seed}), issues={issues}, steps={steps})"
    return Log(tuple(game.events), game.states, game.now, recipe if seed is not None else "")


def issue_logs(*, max_issues: int = 25, max_steps: int = 200) -> st.SearchStrategy[Log]:
    """Hypothesis strategy: random lifecycle-driven logs (see :func:`random_log`)."""

    @st.composite
    def build(draw: st.DrawFn) -> Log:
        seed = draw(st.integers(0, 2**32 - 1))
        # Mostly long games: hypothesis favours small integers, and the interesting
        # histories (reopenings, returns, escalations, many issues) need many steps.
        if draw(st.sampled_from([True, True, True, False])):
            issues = draw(st.integers(max(1, max_issues // 2), max_issues))
            steps = draw(st.integers(max_steps // 2, max_steps))
        else:
            issues = draw(st.integers(1, 3))
            steps = draw(st.integers(0, 10))
        return random_log(random.Random(seed), issues=issues, steps=steps, seed=seed)

    return build()
