"""The lifecycle as a state machine: random histories keep every invariant.

Rules issue commands through ``decide`` with a real access policy and a clock that only
moves forward. Rules with a ``@precondition`` pick an issue in a status that allows the
command; ``any_command`` throws any command at any issue and checks that a refusal
changes nothing. Invariants after every step: the state equals the fold of its events,
versions are contiguous, time never goes backwards, escalations go to the parent unit
only, every event was authorized for its actor at its time, and ``check_invariants``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)

import closedloop as cl
from closedloop.access import Actor
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    EscalateIssue,
    EvaluateResolution,
    ExtendDeadline,
    IssueEscalated,
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
    check_invariants,
    decide,
    evolve,
    replay,
)
from tests import world

UNITS = [world.VILLAGE_A1, world.VILLAGE_A2, world.VILLAGE_B1, world.TOWN_A, world.CITY]
CATEGORIES = ["housing", "enterprise_finance", "land_certificate"]
OFFICIALS = [world.CITY_LEADER, world.TOWN_A_LEADER, world.VILLAGE_A1_CADRE]
ANYONE = list(world.ACTORS)


class Lifecycle(RuleBasedStateMachine):
    issues = Bundle("issues")

    def __init__(self) -> None:
        super().__init__()
        self.now = world.START
        self.new_id = world.id_maker()
        self.states: dict[str, IssueState] = {}
        self.logs: dict[str, list[IssueEvent]] = {}
        self.counter = 0

    # -- helpers --------------------------------------------------------------------

    def _run(self, issue_id: str, command: Command, actor: Actor) -> list[IssueEvent] | None:
        """Decide and apply; None when refused (and then nothing may have changed)."""
        before = self.states.get(issue_id)
        try:
            events = decide(command, before, world.context(actor, self.now, self.new_id))
        except cl.ClosedLoopError:
            assert self.states.get(issue_id) is before
            return None
        state = before
        for event in events:
            state = evolve(state, event)
        if state is not None:
            self.states[issue_id] = state
            self.logs.setdefault(issue_id, []).extend(events)
        return events

    def _ids(self, *statuses: Status) -> list[str]:
        return sorted(i for i, s in self.states.items() if s.status in statuses)

    def _staff(self, state: IssueState) -> Actor:
        assert state.lead is not None
        return world.STAFF[state.lead]

    # -- rules ----------------------------------------------------------------------

    @rule(
        target=issues,
        unit=st.sampled_from(UNITS),
        category=st.sampled_from(CATEGORIES),
        difficulty=st.sampled_from(cl.Difficulty),
        reporter=st.sampled_from([*OFFICIALS, world.CITIZEN]),
    )
    def register(self, unit: str, category: str, difficulty: cl.Difficulty, reporter: Actor) -> str:
        self.counter += 1
        issue_id = f"issue-{self.counter}"
        command = RegisterIssue(issue_id, unit, category, difficulty, f"problem {self.counter}")
        events = self._run(issue_id, command, reporter)
        if events is None:
            # Only jurisdiction can refuse a registration here.
            assert reporter.unit is not None
            assert not world.HIERARCHY.is_within(unit, reporter.unit)
        return issue_id

    @rule(minutes=st.integers(0, 60 * 24 * 12))
    def advance_clock(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self._ids(Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS))
    @rule(data=st.data())
    def escalate(self, data: st.DataObject) -> None:
        issue_id = data.draw(
            st.sampled_from(self._ids(Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS))
        )
        state = self.states[issue_id]
        events = self._run(
            issue_id, EscalateIssue(issue_id, "needs the level above"), world.CITY_LEADER
        )
        if state.unit == world.CITY:
            assert events is None  # the root has nowhere to go
        else:
            assert events is not None

    @precondition(lambda self: self._ids(Status.REGISTERED))
    @rule(
        data=st.data(),
        lead=st.sampled_from(world.DEPARTMENTS),
        co=st.sets(st.sampled_from(world.DEPARTMENTS), max_size=2),
    )
    def assign(self, data: st.DataObject, lead: str, co: set[str]) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.REGISTERED)))
        events = self._run(
            issue_id, AssignIssue(issue_id, lead, tuple(sorted(co))), world.CITY_LEADER
        )
        assert events is not None
        assert self.states[issue_id].due_at is not None

    @precondition(lambda self: self._ids(Status.ASSIGNED))
    @rule(data=st.data(), right_department=st.booleans())
    def accept(self, data: st.DataObject, right_department: bool) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.ASSIGNED)))
        state = self.states[issue_id]
        actor = (
            self._staff(state)
            if right_department
            else world.STAFF[next(d for d in world.DEPARTMENTS if d != state.lead)]
        )
        events = self._run(issue_id, AcceptAssignment(issue_id), actor)
        assert (events is not None) == right_department

    @precondition(lambda self: self._ids(Status.ASSIGNED))
    @rule(data=st.data())
    def return_assignment(self, data: st.DataObject) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.ASSIGNED)))
        events = self._run(
            issue_id, ReturnAssignment(issue_id, "not ours"), self._staff(self.states[issue_id])
        )
        assert events is not None
        assert self.states[issue_id].lead is None

    @precondition(lambda self: self._ids(Status.ASSIGNED, Status.IN_PROGRESS))
    @rule(data=st.data(), to=st.sampled_from(world.DEPARTMENTS))
    def transfer(self, data: st.DataObject, to: str) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.ASSIGNED, Status.IN_PROGRESS)))
        due_before = self.states[issue_id].due_at
        events = self._run(
            issue_id, TransferIssue(issue_id, to, reason="belongs there"), world.CITY_LEADER
        )
        if to == self.states[issue_id].lead and events is None:
            return
        assert events is not None
        assert self.states[issue_id].due_at == due_before  # the deadline keeps running

    @precondition(lambda self: self._ids(Status.ASSIGNED, Status.IN_PROGRESS))
    @rule(data=st.data())
    def suspend(self, data: st.DataObject) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.ASSIGNED, Status.IN_PROGRESS)))
        assert self._run(
            issue_id, SuspendIssue(issue_id, "waiting for a survey"), world.CITY_LEADER
        )

    @precondition(lambda self: self._ids(Status.SUSPENDED))
    @rule(data=st.data())
    def resume(self, data: st.DataObject) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.SUSPENDED)))
        before = self.states[issue_id]
        assert self._run(issue_id, ResumeIssue(issue_id), world.CITY_LEADER)
        after = self.states[issue_id]
        assert after.status is before.resume_status
        assert after.due_at is not None
        assert before.due_at is not None
        assert after.due_at >= before.due_at  # a pause only ever moves the deadline later

    @precondition(lambda self: self._ids(Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED))
    @rule(data=st.data(), amount=st.integers(1, 10))
    def extend(self, data: st.DataObject, amount: int) -> None:
        issue_id = data.draw(
            st.sampled_from(self._ids(Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED))
        )
        before = self.states[issue_id]
        assert self._run(issue_id, ExtendDeadline(issue_id, amount, "approved"), world.CITY_LEADER)
        after = self.states[issue_id]
        assert after.extension == before.extension + amount
        assert after.due_at is not None
        assert before.due_at is not None
        assert after.due_at > before.due_at

    @precondition(lambda self: self._ids(Status.ASSIGNED, Status.IN_PROGRESS))
    @rule(data=st.data())
    def resolve(self, data: st.DataObject) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.ASSIGNED, Status.IN_PROGRESS)))
        state = self.states[issue_id]
        assert self._run(issue_id, ResolveIssue(issue_id, "done"), self._staff(state))
        resolved = self.states[issue_id]
        assert resolved.resolved_on_time == (self.now <= state.due_at)  # type: ignore[operator]

    @precondition(lambda self: self._ids(Status.RESOLVED))
    @rule(
        data=st.data(),
        satisfied=st.booleans(),
        evaluator=st.sampled_from(["survey", "officer", "resolver", "reporter"]),
    )
    def evaluate(self, data: st.DataObject, satisfied: bool, evaluator: str) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.RESOLVED)))
        state = self.states[issue_id]
        actors = {
            "survey": (world.SURVEY, cl.EvaluatorKind.THIRD_PARTY),
            "officer": (world.OFFICER, cl.EvaluatorKind.EXPERIENCE_OFFICER),
            "resolver": (self._staff(state), cl.EvaluatorKind.THIRD_PARTY),
            "reporter": (world.CITIZEN, cl.EvaluatorKind.REPORTER),
        }
        actor, kind = actors[evaluator]
        events = self._run(issue_id, EvaluateResolution(issue_id, kind, satisfied, 80.0), actor)
        if evaluator == "resolver":
            assert events is None  # the evaluator is never the resolver
        elif evaluator == "reporter":
            assert (events is not None) == (state.reporter == world.CITIZEN.id)
        else:
            assert events is not None

    @precondition(lambda self: self._ids(Status.RESOLVED))
    @rule(data=st.data())
    def archive_or_reopen(self, data: st.DataObject) -> None:
        issue_id = data.draw(st.sampled_from(self._ids(Status.RESOLVED)))
        state = self.states[issue_id]
        if state.last_satisfied is True:
            assert self._run(issue_id, ArchiveIssue(issue_id), world.CITY_LEADER)
        elif state.last_satisfied is False:
            assert self._run(issue_id, ArchiveIssue(issue_id), world.CITY_LEADER) is None
            assert self._run(issue_id, ReopenIssue(issue_id, "not fixed"), world.CITY_LEADER)
            assert self.states[issue_id].cycle == state.cycle + 1
        else:
            # Not evaluated in this cycle: neither closed out nor reopened.
            assert self._run(issue_id, ArchiveIssue(issue_id), world.CITY_LEADER) is None
            assert self._run(issue_id, ReopenIssue(issue_id), world.CITY_LEADER) is None

    @precondition(
        lambda self: self._ids(
            Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED
        )
    )
    @rule(data=st.data(), reason=st.sampled_from(cl.WithdrawalReason))
    def withdraw(self, data: st.DataObject, reason: cl.WithdrawalReason) -> None:
        issue_id = data.draw(
            st.sampled_from(
                self._ids(Status.REGISTERED, Status.ASSIGNED, Status.IN_PROGRESS, Status.SUSPENDED)
            )
        )
        merged = "issue-0" if reason is cl.WithdrawalReason.MERGED else None
        assert self._run(issue_id, WithdrawIssue(issue_id, reason, merged), world.CITY_LEADER)

    @precondition(lambda self: self.states)
    @rule()
    def observe(self) -> None:
        for issue_id in sorted(self.states):
            state = self.states[issue_id]
            events = self._run(issue_id, ObserveDeadline(issue_id), world.SYSTEM)
            assert events is not None
            should = state.is_overdue(self.now) and state.missed_due_at != state.due_at
            assert len(events) == (1 if should else 0)

    @rule(issue_id=issues, data=st.data())
    def any_command(self, issue_id: str, data: st.DataObject) -> None:
        """Any command by anyone: either it is allowed, or nothing changes."""
        command: Command = data.draw(
            st.sampled_from(
                [
                    EscalateIssue(issue_id),
                    AssignIssue(issue_id, world.DEPARTMENTS[0]),
                    AcceptAssignment(issue_id),
                    ReturnAssignment(issue_id, "no"),
                    TransferIssue(issue_id, world.DEPARTMENTS[1]),
                    SuspendIssue(issue_id),
                    ResumeIssue(issue_id),
                    ExtendDeadline(issue_id, 1),
                    ResolveIssue(issue_id),
                    EvaluateResolution(issue_id, cl.EvaluatorKind.THIRD_PARTY, True),
                    ReopenIssue(issue_id),
                    ArchiveIssue(issue_id),
                    WithdrawIssue(issue_id, cl.WithdrawalReason.DUPLICATE),
                ]
            )
        )
        actor = data.draw(st.sampled_from(ANYONE))
        before = self.states.get(issue_id)
        events = self._run(issue_id, command, actor)
        if before is not None and before.status.is_terminal:
            assert events is None  # a closed issue accepts no further command

    # -- invariants -----------------------------------------------------------------

    @invariant()
    def state_is_the_fold_of_its_events(self) -> None:
        for issue_id, state in self.states.items():
            assert replay(self.logs[issue_id]) == state
            check_invariants(state)

    @invariant()
    def versions_are_contiguous_and_time_moves_forward(self) -> None:
        for log in self.logs.values():
            assert [e.version for e in log] == list(range(1, len(log) + 1))
            times = [e.occurred_at for e in log]
            assert times == sorted(times)
            assert len({e.event_id for e in log}) == len(log)

    @invariant()
    def escalation_goes_to_the_parent_only(self) -> None:
        for log in self.logs.values():
            for event in log:
                if isinstance(event, IssueEscalated):
                    parent = world.HIERARCHY.parent(event.from_unit)
                    assert parent is not None
                    assert parent.id == event.to_unit

    @invariant()
    def every_event_was_authorized_for_its_actor_at_its_time(self) -> None:
        for log in self.logs.values():
            state: IssueState | None = None
            for event in log:
                actor = world.ACCESS.actor(event.actor)
                action = world.ACTION_OF_EVENT[type(event).__name__]
                if state is None:
                    assert isinstance(event, cl.lifecycle.IssueRegistered)
                    target: object = cl.access.Target(event.unit, event.category)
                else:
                    target = state
                decision = world.ACCESS.authorize(actor, action, target, event.occurred_at)  # type: ignore[arg-type]
                assert decision.allowed, decision.reason
                state = evolve(state, event)

    @invariant()
    def resolved_issues_had_an_assignee_and_deadlines_follow_assignment(self) -> None:
        for state in self.states.values():
            if state.resolving_department is not None:
                assert state.assigned_at is not None
            if state.due_at is not None and state.assigned_at is not None:
                assert state.due_at >= state.assigned_at


Lifecycle.TestCase.settings = settings(
    Lifecycle.TestCase.settings, stateful_step_count=40, deadline=None
)
TestLifecycle = Lifecycle.TestCase


def test_clock_never_read_inside_decide() -> None:
    """Same command, same state, same context: same events (no hidden clock or ids)."""
    at = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)
    command = RegisterIssue("x", world.VILLAGE_A1, "housing", cl.Difficulty.SIMPLE, "t")
    first = decide(command, None, world.context(world.CITIZEN, at, world.id_maker()))
    second = decide(command, None, world.context(world.CITIZEN, at, world.id_maker()))
    assert first == second
