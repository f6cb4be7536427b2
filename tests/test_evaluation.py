"""Evaluation: scales, requirements, and decisions that the lifecycle accepts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.access import Actor, Authorizer, Unrestricted
from closedloop.deadlines import Difficulty
from closedloop.evaluation import (
    EvaluationOutcome,
    EvaluationRule,
    Requirement,
    Scale,
    Verdict,
    current_evaluations,
)
from closedloop.ids import EventId, IssueId
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    Context,
    EvaluateResolution,
    EvaluatorKind,
    IssueEvent,
    IssueState,
    RegisterIssue,
    ReopenIssue,
    ResolutionEvaluated,
    ResolveIssue,
    Status,
    decide,
    evolve,
)
from tests import world
from tests.logs import Log, issue_logs

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=world.SHANGHAI)
ORDER = [Verdict.DISSATISFIED, Verdict.BASICALLY_SATISFIED, Verdict.SATISFIED]


class Case:
    """One issue driven to resolution; then evaluations and decisions."""

    def __init__(self, difficulty: str = "simple", *, access: Authorizer | None = None) -> None:
        self.new_id = world.id_maker()
        self.history: list[IssueEvent] = []
        self.state: IssueState | None = None
        self.now = T0
        self.access = access
        leader = world.CITY_LEADER
        self.do(
            RegisterIssue("i", world.VILLAGE_A1, "housing", difficulty, "漏水", reporter="citizen"),
            world.CITIZEN,
        )
        self.do(AssignIssue("i", "city-economy"), leader)
        self.do(AcceptAssignment("i"), world.STAFF["city-economy"])
        self.do(ResolveIssue("i", "fixed"), world.STAFF["city-economy"])

    def context(self, actor: Actor) -> Context:
        ctx = world.context(actor, self.now, self.new_id)
        if self.access is not None:
            ctx = ctx._replace(access=self.access)
        return ctx

    def do(self, command: Command, actor: Actor) -> list[IssueEvent]:
        self.now += timedelta(minutes=30)
        events = decide(command, self.state, self.context(actor))
        for event in events:
            self.state = evolve(self.state, event)
        self.history += events
        return events

    @property
    def current(self) -> IssueState:
        assert self.state is not None
        return self.state


def test_scale_thresholds_and_round_trip() -> None:
    scale = Scale()
    assert [scale.verdict(s) for s in (0, 59.9, 60, 89.99, 90, 100)] == [
        Verdict.DISSATISFIED,
        Verdict.DISSATISFIED,
        Verdict.BASICALLY_SATISFIED,
        Verdict.BASICALLY_SATISFIED,
        Verdict.SATISFIED,
        Verdict.SATISFIED,
    ]
    for verdict in Verdict:
        assert scale.verdict(scale.score(verdict)) is verdict
    assert [v.chinese for v in ORDER] == ["不满意", "基本满意", "满意"]


@given(st.floats(0, 100), st.floats(0, 100))
def test_scale_is_monotone(a: float, b: float) -> None:
    scale = Scale()
    low, high = sorted((a, b))
    assert ORDER.index(scale.verdict(low)) <= ORDER.index(scale.verdict(high))


@given(st.floats(1, 100), st.floats(0.01, 0.99))
def test_any_thresholds_give_default_points_that_round_trip(
    satisfied_from: float, share: float
) -> None:
    """Only the thresholds given: the default points follow them."""
    scale = Scale(satisfied_from=satisfied_from, basic_from=satisfied_from * share)
    for verdict in ORDER:
        assert scale.verdict(scale.score(verdict)) is verdict
    assert Scale().score(Verdict.BASICALLY_SATISFIED) == 80.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"satisfied_from": 50, "basic_from": 60}, "must be below"),
        ({"satisfied_from": 120}, r"\[0, 100\]"),
        ({"basic_from": 0}, "above 0"),
        ({"points": {"satisfied": 100, "basically_satisfied": 95, "dissatisfied": 0}}, "band"),
        ({"points": {"satisfied": 100}}, "missing"),
    ],
)
def test_scale_refuses_bad_settings(options: dict[str, object], message: str) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        Scale(**options)  # type: ignore[arg-type]


def test_requirements() -> None:
    either = Requirement(any_of={"reporter", "third_party"})
    assert either.is_met([EvaluatorKind.REPORTER])
    assert not either.is_met([])
    assert either.missing([]) == (EvaluatorKind.REPORTER, EvaluatorKind.THIRD_PARTY)
    both = Requirement(required={"third_party"}, any_of={"reporter", "experience_officer"})
    assert not both.is_met([EvaluatorKind.THIRD_PARTY])
    assert both.is_met([EvaluatorKind.THIRD_PARTY, EvaluatorKind.EXPERIENCE_OFFICER])
    assert both.describe() == "all of third_party and one of experience_officer, reporter"
    with pytest.raises(cl.ConfigurationError, match="at least one"):
        Requirement()
    with pytest.raises(cl.ConfigurationError, match="unknown evaluator kind"):
        Requirement(any_of={"neighbour"})
    with pytest.raises(cl.ConfigurationError, match="needs a requirement"):
        EvaluationRule(requirements={"simple": either})


def test_evaluation_commands_record_the_rules_reading() -> None:
    lenient = EvaluationRule()
    strict = EvaluationRule(name="strict", basic_counts_as_satisfied=False)
    basic = lenient.evaluation("i", "reporter", verdict="basically_satisfied")
    assert basic == EvaluateResolution("i", EvaluatorKind.REPORTER, True, 80.0)
    assert not strict.evaluation("i", "reporter", verdict="basically_satisfied").satisfied
    assert strict.evaluation("i", "third_party", score=75).satisfied is False
    assert strict.evaluation("i", "third_party", score=95).satisfied is True
    assert lenient.evaluation("i", "third_party", score=59).satisfied is False
    with pytest.raises(cl.CommandError, match="not both"):
        lenient.evaluation("i", "reporter", verdict="satisfied", score=90)
    with pytest.raises(cl.CommandError, match="neither"):
        lenient.evaluation("i", "reporter")
    with pytest.raises(cl.CommandError, match="unknown verdict"):
        lenient.evaluation("i", "reporter", verdict="delighted")


def test_simple_issue_archives_on_the_reporters_word() -> None:
    case = Case("simple")
    rule = EvaluationRule()
    waiting = rule.decide(case.current, case.history)
    assert waiting.outcome is EvaluationOutcome.WAIT
    assert waiting.command is None
    assert "still needed" in waiting.explain()
    (event,) = case.do(rule.evaluation("i", "reporter", verdict="satisfied"), world.CITIZEN)
    decision = rule.decide(case.current, case.history)
    assert decision.outcome is EvaluationOutcome.ARCHIVE
    assert decision.counted == (event.event_id,)
    assert event.event_id in decision.explain()
    assert "满意" in decision.explain()
    assert decision.command == ArchiveIssue("i")
    case.do(decision.command, world.CITY_LEADER)
    assert case.current.status is Status.ARCHIVED


def test_difficult_issue_needs_the_third_party_survey() -> None:
    case = Case("difficult")
    rule = EvaluationRule()
    case.do(rule.evaluation("i", "reporter", verdict="satisfied"), world.CITIZEN)
    decision = rule.decide(case.current, case.history)
    assert decision.outcome is EvaluationOutcome.WAIT
    assert decision.missing == (EvaluatorKind.THIRD_PARTY,)
    case.do(rule.evaluation("i", "third_party", score=92), world.SURVEY)
    assert rule.decide(case.current, case.history).outcome is EvaluationOutcome.ARCHIVE


def test_dissatisfaction_reopens_and_the_next_cycle_starts_afresh() -> None:
    case = Case("difficult")
    rule = EvaluationRule()
    (bad,) = case.do(rule.evaluation("i", "reporter", score=30), world.CITIZEN)
    decision = rule.decide(case.current, case.history)
    assert decision.outcome is EvaluationOutcome.REOPEN
    assert decision.dissatisfied == (bad.event_id,)
    assert isinstance(decision.command, ReopenIssue)
    assert bad.event_id in decision.command.reason
    case.do(decision.command, world.CITY_LEADER)
    assert case.current.cycle == 2
    case.do(ResolveIssue("i", "fixed again"), world.STAFF["city-economy"])
    assert current_evaluations(case.history) == ()
    case.do(rule.evaluation("i", "third_party", verdict="satisfied"), world.SURVEY)
    final = rule.decide(case.current, case.history)
    assert final.outcome is EvaluationOutcome.ARCHIVE
    assert final.cycle == 2


def test_waiting_for_the_requirement_before_reopening() -> None:
    case = Case("difficult")
    patient = EvaluationRule(name="patient", reopen_on_first_dissatisfied=False)
    case.do(patient.evaluation("i", "reporter", score=10), world.CITIZEN)
    assert patient.decide(case.current, case.history).outcome is EvaluationOutcome.WAIT
    case.do(patient.evaluation("i", "third_party", score=95), world.SURVEY)
    decision = patient.decide(case.current, case.history)
    assert decision.outcome is EvaluationOutcome.REOPEN  # one counted evaluation was not satisfied


def test_basically_satisfied_is_a_knob() -> None:
    for counts, expected in ((True, EvaluationOutcome.ARCHIVE), (False, EvaluationOutcome.REOPEN)):
        case = Case("simple")
        rule = EvaluationRule(basic_counts_as_satisfied=counts)
        case.do(rule.evaluation("i", "third_party", verdict="basically_satisfied"), world.SURVEY)
        assert rule.decide(case.current, case.history).outcome is expected


def test_the_evaluator_is_never_the_resolver() -> None:
    # With the access rules, the resolver cannot even record an evaluation.
    case = Case("simple")
    rule = EvaluationRule()
    resolver = world.STAFF["city-economy"]
    with pytest.raises(cl.PermissionDeniedError, match="never"):
        case.do(rule.evaluation("i", "third_party", verdict="satisfied"), resolver)
    # Not even without access rules: the lifecycle itself refuses.
    loose = Case("simple", access=Unrestricted())
    with pytest.raises(cl.PermissionDeniedError, match="never the resolver"):
        loose.do(rule.evaluation("i", "third_party", verdict="satisfied"), resolver)
    # A log from elsewhere may still hold one (folding does not judge rights): the
    # rule leaves it out.
    own = ResolutionEvaluated(
        event_id=EventId("forged"),
        issue_id=IssueId("i"),
        version=loose.current.version + 1,
        occurred_at=loose.now + timedelta(minutes=30),
        actor=resolver.id,
        evaluator_kind=EvaluatorKind.THIRD_PARTY,
        satisfied=True,
    )
    loose.state = evolve(loose.state, own)
    loose.history.append(own)
    decision = rule.decide(loose.current, loose.history)
    assert decision.outcome is EvaluationOutcome.WAIT
    assert decision.ignored == (own.event_id,)
    assert decision.counted == ()
    assert "never the resolver" in decision.explain()


def test_decide_refuses_what_it_cannot_judge() -> None:
    case = Case("simple")
    rule = EvaluationRule()
    with pytest.raises(cl.CommandError, match="history"):
        rule.decide(case.current, case.history[:-1])
    case.do(rule.evaluation("i", "reporter", verdict="satisfied"), world.CITIZEN)
    case.do(ArchiveIssue("i"), world.CITY_LEADER)
    with pytest.raises(cl.TransitionError, match="only a resolved issue"):
        rule.decide(case.current, case.history)


@given(log=issue_logs(), strict=st.booleans(), patient=st.booleans())
def test_decisions_on_random_logs_are_deterministic_and_accepted(
    log: Log, strict: bool, patient: bool
) -> None:
    """Whatever the rule decides, the lifecycle accepts the command it returns."""
    rule = EvaluationRule(
        basic_counts_as_satisfied=not strict, reopen_on_first_dissatisfied=not patient
    )
    for state in log.states.values():
        if state.status is not Status.RESOLVED:
            continue
        history = log.history(state.issue_id)
        decision = rule.decide(state, history)
        assert decision == rule.decide(state, tuple(history))
        for event_id in decision.counted:
            assert event_id in decision.explain()
        if decision.command is None:
            assert decision.outcome is EvaluationOutcome.WAIT
            continue
        ctx = world.context(world.CITY_LEADER, log.end + timedelta(hours=1), world.id_maker("z"))
        events = decide(decision.command, state, ctx)
        after = evolve(state, events[0])
        expected = (
            Status.ARCHIVED if decision.outcome is EvaluationOutcome.ARCHIVE else Status.ASSIGNED
        )
        assert after.status is expected
        if decision.outcome is EvaluationOutcome.ARCHIVE:
            assert Difficulty(state.difficulty) is not Difficulty.DIFFICULT or any(
                e.evaluator_kind is EvaluatorKind.THIRD_PARTY for e in current_evaluations(history)
            )
