"""The closed loop, rule by rule: examples pinned to the mechanism's rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

import closedloop as cl
from closedloop.access import Actor
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    Context,
    DeadlineMissed,
    EscalateIssue,
    EvaluateResolution,
    ExtendDeadline,
    Issue,
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
    allowed_actions,
    decide,
    evolve,
    replay,
)
from tests import world


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=world.SHANGHAI)


class Loop:
    """A tiny driver: one issue, commands applied through decide and evolve."""

    def __init__(self) -> None:
        self.issue = Issue()
        self.new_id = world.id_maker()

    def do(self, command: Command, actor: Actor, when: datetime) -> list[cl.IssueEvent]:
        return self.issue.execute(command, world.context(actor, when, self.new_id))

    @property
    def state(self) -> IssueState:
        return self.issue.state


def status(loop: Loop) -> Status:
    return loop.state.status


def registered(
    unit: str = world.VILLAGE_A1, difficulty: str = "complex", when: datetime | None = None
) -> Loop:
    loop = Loop()
    loop.do(
        RegisterIssue("q1", unit, "housing", difficulty, "fire acceptance blocks the flats"),
        world.CITIZEN if unit == world.VILLAGE_A1 else world.CITY_LEADER,
        when or at(2025, 9, 29, 9),
    )
    return loop


def in_progress(lead: str = "city-construction", when: datetime | None = None) -> Loop:
    start = when or at(2025, 9, 29)
    loop = registered(when=start - timedelta(hours=1))
    loop.do(AssignIssue("q1", lead, ("city-resources",)), world.CITY_LEADER, start)
    loop.do(AcceptAssignment("q1"), world.STAFF[lead], start + timedelta(hours=1))
    return loop


def test_the_happy_path_closes_the_loop() -> None:
    loop = in_progress()
    assert status(loop) is Status.IN_PROGRESS
    assert loop.state.policy == "yiwu@2019"
    assert loop.state.due_date == date(2025, 10, 10)  # 3 working days over National Day
    loop.do(
        ResolveIssue("q1", "certificate issued"), world.STAFF["city-construction"], at(2025, 10, 9)
    )
    assert loop.state.resolved_on_time is True
    loop.do(EvaluateResolution("q1", "reporter", True, 95), world.CITIZEN, at(2025, 10, 10))
    loop.do(ArchiveIssue("q1"), world.CITY_LEADER, at(2025, 10, 10))
    assert status(loop) is Status.ARCHIVED
    assert loop.state.closed_at == at(2025, 10, 10)
    assert replay(loop.issue.pending_events) == loop.state
    assert [type(e).__name__ for e in loop.issue.collect_events()] == [
        "IssueRegistered",
        "IssueAssigned",
        "AssignmentAccepted",
        "IssueResolved",
        "ResolutionEvaluated",
        "IssueArchived",
    ]
    assert loop.issue.pending_events == ()


def test_the_aggregates_methods_are_its_commands() -> None:
    """Each action method builds the command the functional API would take."""
    by_methods, by_commands = Issue(), Loop()
    ids = world.id_maker()

    def ctx(actor: Actor, when: datetime) -> Context:
        return world.context(actor, when, ids)

    city, staff = world.CITY_LEADER, world.STAFF["city-construction"]
    t0 = at(2025, 9, 29, 9)
    plan: list[tuple[Callable[[Context], list[cl.IssueEvent]], Command, Actor, datetime]] = [
        (
            lambda c: by_methods.register(
                c,
                issue_id="q1",
                unit=world.VILLAGE_A1,
                category="housing",
                difficulty="complex",
                title="fire acceptance",
            ),
            RegisterIssue("q1", world.VILLAGE_A1, "housing", "complex", "fire acceptance"),
            world.CITIZEN,
            t0,
        ),
        (
            lambda c: by_methods.escalate(c, reason="needs the town"),
            EscalateIssue("q1", "needs the town"),
            world.VILLAGE_A1_CADRE,
            t0,
        ),
        (
            lambda c: by_methods.escalate(c, to_unit=world.CITY),
            EscalateIssue("q1", to_unit=world.CITY),
            world.TOWN_A_LEADER,
            t0,
        ),
        (
            lambda c: by_methods.assign(c, "city-economy"),
            AssignIssue("q1", "city-economy"),
            city,
            t0,
        ),
        (
            lambda c: by_methods.return_assignment(c, reason="not ours"),
            ReturnAssignment("q1", "not ours"),
            world.STAFF["city-economy"],
            t0,
        ),
        (
            lambda c: by_methods.assign(c, "city-resources"),
            AssignIssue("q1", "city-resources"),
            city,
            t0,
        ),
        (
            lambda c: by_methods.transfer(c, "city-construction", co_handlers=["city-resources"]),
            TransferIssue("q1", "city-construction", ("city-resources",)),
            world.STAFF["city-resources"],
            t0,
        ),
        (lambda c: by_methods.accept(c), AcceptAssignment("q1"), staff, t0),
        (
            lambda c: by_methods.suspend(c, reason="waiting"),
            SuspendIssue("q1", "waiting"),
            city,
            t0,
        ),
        (lambda c: by_methods.resume(c), ResumeIssue("q1"), city, t0),
        (
            lambda c: by_methods.extend(c, 2, reason="survey"),
            ExtendDeadline("q1", 2, "survey"),
            city,
            t0,
        ),
        (lambda c: by_methods.resolve(c, summary="done"), ResolveIssue("q1", "done"), staff, t0),
        (
            lambda c: by_methods.evaluate(c, False, score=40),
            EvaluateResolution("q1", None, False, 40),
            world.CITIZEN,
            t0,
        ),
        (
            lambda c: by_methods.reopen(c, reason="not fixed"),
            ReopenIssue("q1", "not fixed"),
            city,
            t0,
        ),
        (lambda c: by_methods.observe(c), ObserveDeadline("q1"), world.SYSTEM, at(2025, 12, 1)),
        (
            lambda c: by_methods.withdraw(c, "duplicate", note="see q2"),
            WithdrawIssue("q1", "duplicate", note="see q2"),
            city,
            at(2025, 12, 1),
        ),
    ]
    for method, command, actor, when in plan:
        expected = by_commands.do(command, actor, when)
        assert method(ctx(actor, when)) == expected, command
    assert by_methods.state == by_commands.state
    assert by_methods.state.status is Status.WITHDRAWN


def test_escalation_goes_one_level_up_at_a_time() -> None:
    loop = registered()
    loop.do(EscalateIssue("q1", "needs the town"), world.VILLAGE_A1_CADRE, at(2025, 9, 29, 11))
    assert loop.state.unit == world.TOWN_A
    with pytest.raises(cl.NotOneLevelDownError):
        loop.do(EscalateIssue("q1", to_unit=world.TOWN_B), world.TOWN_A_LEADER, at(2025, 9, 29, 12))
    loop.do(EscalateIssue("q1", to_unit=world.CITY), world.TOWN_A_LEADER, at(2025, 9, 29, 12))
    assert loop.state.unit == world.CITY
    assert loop.state.origin_unit == world.VILLAGE_A1
    with pytest.raises(cl.TransitionError, match="root"):
        loop.do(EscalateIssue("q1"), world.CITY_LEADER, at(2025, 9, 29, 13))


def test_a_unit_acts_only_within_its_jurisdiction() -> None:
    loop = registered(unit=world.VILLAGE_B1)
    with pytest.raises(cl.PermissionDeniedError, match="outside the jurisdiction"):
        loop.do(AssignIssue("q1", "town-a-office"), world.TOWN_A_LEADER, at(2025, 9, 29))
    loop.do(AssignIssue("q1", "city-economy"), world.CITY_LEADER, at(2025, 9, 29))


def test_a_department_acts_only_while_the_issue_is_assigned_to_it() -> None:
    loop = registered()
    loop.do(AssignIssue("q1", "city-construction"), world.CITY_LEADER, at(2025, 9, 29))
    with pytest.raises(cl.PermissionDeniedError, match="assigned to 'city-construction'"):
        loop.do(AcceptAssignment("q1"), world.STAFF["city-economy"], at(2025, 9, 29, 11))
    with pytest.raises(cl.PermissionDeniedError, match="only staff"):
        loop.do(ResolveIssue("q1"), world.CITY_LEADER, at(2025, 9, 29, 11))
    loop.do(AcceptAssignment("q1"), world.STAFF["city-construction"], at(2025, 9, 29, 11))


def test_returning_a_misrouted_assignment_needs_a_reason_and_clears_the_deadline() -> None:
    loop = registered()
    loop.do(AssignIssue("q1", "city-economy"), world.CITY_LEADER, at(2025, 9, 29))
    with pytest.raises(cl.CommandError, match="reason"):
        loop.do(ReturnAssignment("q1", " "), world.STAFF["city-economy"], at(2025, 9, 29, 11))
    loop.do(
        ReturnAssignment("q1", "housing is not ours"),
        world.STAFF["city-economy"],
        at(2025, 9, 29, 11),
    )
    assert status(loop) is Status.REGISTERED
    assert (loop.state.lead, loop.state.due_at, loop.state.return_count) == (None, None, 1)


def test_a_transfer_moves_the_lead_but_not_the_deadline() -> None:
    loop = in_progress("city-economy")
    due = loop.state.due_at
    loop.do(
        TransferIssue("q1", "city-construction", reason="wrong bureau"),
        world.CITY_LEADER,
        at(2025, 9, 30),
    )
    assert (loop.state.lead, loop.state.due_at, loop.state.status) == (
        "city-construction",
        due,
        Status.ASSIGNED,
    )
    with pytest.raises(cl.CommandError, match="already led"):
        loop.do(TransferIssue("q1", "city-construction"), world.CITY_LEADER, at(2025, 9, 30))


def test_suspension_stops_the_clock_and_moves_the_deadline_by_the_working_days_paused() -> None:
    loop = in_progress(when=at(2025, 9, 26))  # due 2025-09-30
    assert loop.state.due_date == date(2025, 9, 30)
    loop.do(SuspendIssue("q1", "waiting for the survey"), world.CITY_LEADER, at(2025, 9, 29, 9))
    assert not loop.state.is_overdue(at(2025, 10, 20))
    loop.do(ResumeIssue("q1"), world.CITY_LEADER, at(2025, 10, 10, 9))
    # 30 Sep, 9 Oct and 10 Oct were worked while suspended.
    assert loop.state.due_date == date(2025, 10, 11)
    assert status(loop) is Status.IN_PROGRESS
    assert loop.state.paused_units == 3


def test_an_approved_extension_moves_the_deadline_by_its_amount() -> None:
    loop = in_progress(when=at(2025, 9, 26))
    loop.do(ExtendDeadline("q1", 2, "survey needed"), world.CITY_LEADER, at(2025, 9, 29))
    assert loop.state.due_date == date(2025, 10, 10)
    with pytest.raises(cl.CommandError, match="whole number"):
        loop.do(ExtendDeadline("q1", 0), world.CITY_LEADER, at(2025, 9, 29))


def test_the_evaluator_is_never_the_resolver() -> None:
    loop = in_progress()
    resolver = world.STAFF["city-construction"]
    loop.do(ResolveIssue("q1"), resolver, at(2025, 10, 9))
    with pytest.raises(cl.PermissionDeniedError, match="never"):
        loop.do(EvaluateResolution("q1", "third_party", True), resolver, at(2025, 10, 9))


def test_archive_needs_a_satisfied_evaluation_and_reopen_starts_a_new_cycle() -> None:
    loop = in_progress()
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    with pytest.raises(cl.TransitionError, match="not been evaluated"):
        loop.do(ArchiveIssue("q1"), world.CITY_LEADER, at(2025, 10, 9))
    loop.do(
        EvaluateResolution("q1", "experience_officer", False, 40), world.OFFICER, at(2025, 10, 10)
    )
    with pytest.raises(cl.TransitionError, match="not satisfied"):
        loop.do(ArchiveIssue("q1"), world.CITY_LEADER, at(2025, 10, 10))
    loop.do(ReopenIssue("q1", "still leaking"), world.CITY_LEADER, at(2025, 10, 13))
    assert (loop.state.cycle, loop.state.status, loop.state.lead) == (
        2,
        Status.ASSIGNED,
        "city-construction",
    )
    assert loop.state.due_date == date(2025, 10, 16)
    assert loop.state.resolved_at is None


def test_withdrawing_as_merged_names_the_target() -> None:
    loop = registered()
    with pytest.raises(cl.CommandError, match="merged into"):
        loop.do(WithdrawIssue("q1", "merged"), world.CITY_LEADER, at(2025, 9, 29, 11))
    loop.do(
        WithdrawIssue("q1", "merged", "task-force-land"), world.CITY_LEADER, at(2025, 9, 29, 11)
    )
    assert status(loop) is Status.WITHDRAWN


def test_a_closed_issue_accepts_no_command_and_says_so() -> None:
    loop = registered()
    loop.do(WithdrawIssue("q1", "duplicate"), world.CITY_LEADER, at(2025, 9, 29, 11))
    assert allowed_actions(Status.WITHDRAWN) == ()
    with pytest.raises(cl.TransitionError, match="nothing") as caught:
        loop.do(AssignIssue("q1", "city-economy"), world.CITY_LEADER, at(2025, 9, 29, 12))
    error = caught.value
    assert (error.issue_id, error.status, error.action, error.allowed) == (
        "q1",
        "withdrawn",
        "assign",
        (),
    )


def test_transition_errors_say_what_would_have_been_allowed() -> None:
    loop = registered()
    with pytest.raises(cl.TransitionError) as caught:
        loop.do(ResolveIssue("q1"), world.STAFF["city-economy"], at(2025, 9, 29, 11))
    assert caught.value.allowed == ("assign", "escalate", "withdraw")
    assert "allowed: assign, escalate, withdraw" in str(caught.value)


def test_a_missed_deadline_is_recorded_once_as_a_fact() -> None:
    loop = in_progress(when=at(2025, 9, 26))
    assert loop.do(ObserveDeadline("q1"), world.SYSTEM, at(2025, 9, 30, 18)) == []
    events = loop.do(ObserveDeadline("q1"), world.SYSTEM, at(2025, 10, 1, 0))
    assert len(events) == 1
    assert isinstance(events[0], DeadlineMissed)
    assert loop.do(ObserveDeadline("q1"), world.SYSTEM, at(2025, 10, 2)) == []
    # The issue is still open and can be resolved, late.
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    assert loop.state.resolved_on_time is False


def test_the_clock_must_not_go_backwards() -> None:
    loop = registered()
    with pytest.raises(cl.CommandError, match="backwards"):
        loop.do(AssignIssue("q1", "city-economy"), world.CITY_LEADER, at(2025, 9, 28))


def test_registering_twice_or_at_an_unknown_unit_is_refused() -> None:
    loop = registered()
    with pytest.raises(cl.IssueExistsError, match="already registered"):
        loop.do(
            RegisterIssue("q1", world.VILLAGE_A1, "housing", "simple", "again"),
            world.CITIZEN,
            at(2025, 9, 30),
        )
    with pytest.raises(cl.CommandError, match="unknown unit"):
        Loop().do(
            RegisterIssue("q2", "999999", "housing", "simple", "x"),
            world.CITY_LEADER,
            at(2025, 9, 30),
        )
    with pytest.raises(cl.CommandError, match="unknown difficulty"):
        RegisterIssue("q3", world.CITY, "housing", "impossible", "x")
    with pytest.raises(cl.CommandError, match="unknown lead"):
        loop.do(AssignIssue("q1", "no-such-bureau"), world.CITY_LEADER, at(2025, 9, 30))


def test_evaluation_scores_are_checked() -> None:
    loop = in_progress()
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    for bad in (-1, 101, float("nan"), True):
        with pytest.raises(cl.CommandError, match="score"):
            loop.do(
                EvaluateResolution("q1", "third_party", True, bad), world.SURVEY, at(2025, 10, 9)
            )


def test_folding_a_forged_log_raises_an_invariant_error() -> None:
    loop = in_progress()
    events = loop.issue.collect_events()
    with pytest.raises(cl.InvariantError, match="version"):
        replay([events[0], events[2]])
    with pytest.raises(cl.InvariantError, match="first event"):
        replay(events[1:])
    with pytest.raises(cl.InvariantError):
        evolve(loop.state, events[1])


def test_a_state_that_breaks_the_loops_rules_fails_its_invariant_check() -> None:
    state = in_progress().state
    state.check_invariants()  # a state folded from a real log passes
    broken = state._replace(lead=None, paused_since=state.updated_at)
    with pytest.raises(cl.InvariantError, match="needs a lead") as caught:
        broken.check_invariants()
    assert "only a suspended issue has a pause start" in str(caught.value)


def test_decide_with_no_state_refuses_anything_but_registration() -> None:
    with pytest.raises(cl.TransitionError, match="before it is registered"):
        decide(
            AssignIssue("nope", "city-economy"),
            None,
            world.context(world.CITY_LEADER, at(2025, 9, 29)),
        )


def test_the_documented_diagram_is_the_generated_one() -> None:
    from pathlib import Path

    page = (Path(__file__).parents[1] / "docs" / "lifecycle.md").read_text(encoding="utf-8")
    assert cl.lifecycle_diagram().rstrip() in page
    dot = cl.lifecycle_diagram("dot")
    assert dot.startswith("digraph lifecycle {")
    assert "archived [shape=doublecircle]" in dot
    assert cl.lifecycle_diagram("graphviz") == dot
    with pytest.raises(cl.ConfigurationError):
        cl.lifecycle_diagram("svg")


def test_the_evaluator_is_never_the_resolver_even_without_access_rules() -> None:
    loop = in_progress()
    resolver = world.STAFF["city-construction"]
    loop.do(ResolveIssue("q1"), resolver, at(2025, 10, 9))
    context = world.context(resolver, at(2025, 10, 9))._replace(access=cl.Unrestricted())
    with pytest.raises(cl.PermissionDeniedError, match="never the resolver"):
        decide(EvaluateResolution("q1", "third_party", True), loop.state, context)


def test_notebook_views_escape_and_show_the_essentials() -> None:
    loop = in_progress()
    page = loop.issue._repr_html_()
    assert "in_progress" in page
    assert "city-construction" in page
    hostile = Loop()
    hostile.do(
        RegisterIssue("q9", world.VILLAGE_A1, "housing", "simple", "<script>alert(1)</script>"),
        world.CITIZEN,
        at(2025, 9, 29),
    )
    shown = hostile.issue._repr_html_()
    assert "<script>" not in shown
    assert "&lt;script&gt;" in shown
    assert "not registered" in Issue()._repr_html_()
    assert "<table>" in world.HIERARCHY._repr_html_()


def test_reopening_follows_an_evaluation_of_this_cycle() -> None:
    loop = in_progress()
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    with pytest.raises(cl.TransitionError, match="this cycle has none"):
        loop.do(ReopenIssue("q1"), world.CITY_LEADER, at(2025, 10, 9))
    loop.do(EvaluateResolution("q1", None, False), world.SURVEY, at(2025, 10, 10))
    loop.do(ReopenIssue("q1"), world.CITY_LEADER, at(2025, 10, 10))
    loop.do(AcceptAssignment("q1"), world.STAFF["city-construction"], at(2025, 10, 10))
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 13))
    # The first cycle's evaluation does not count for the second.
    with pytest.raises(cl.TransitionError, match="this cycle has none"):
        loop.do(ReopenIssue("q1"), world.CITY_LEADER, at(2025, 10, 13))


def test_whose_judgement_an_evaluation_records_follows_the_evaluator() -> None:
    loop = in_progress()
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    with pytest.raises(cl.PermissionDeniedError, match="gives a reporter judgement"):
        loop.do(EvaluateResolution("q1", "third_party", True), world.CITIZEN, at(2025, 10, 9))
    with pytest.raises(cl.PermissionDeniedError, match="gives a third_party judgement"):
        loop.do(EvaluateResolution("q1", "reporter", True), world.SURVEY, at(2025, 10, 9))
    (survey,) = loop.do(EvaluateResolution("q1", None, True), world.SURVEY, at(2025, 10, 9))
    assert isinstance(survey, cl.ResolutionEvaluated)
    assert survey.evaluator_kind is cl.EvaluatorKind.THIRD_PARTY
    (citizen,) = loop.do(EvaluateResolution("q1", None, True), world.CITIZEN, at(2025, 10, 9))
    assert isinstance(citizen, cl.ResolutionEvaluated)
    assert citizen.evaluator_kind is cl.EvaluatorKind.REPORTER


def test_an_operator_records_a_judgement_only_by_naming_whose_it_is() -> None:
    loop = in_progress()
    loop.do(ResolveIssue("q1"), world.STAFF["city-construction"], at(2025, 10, 9))
    operator = world.STAFF["city-economy"]  # a hotline operator calling the reporter back
    context = world.context(operator, at(2025, 10, 9))._replace(
        access=cl.Unrestricted(world.HIERARCHY)
    )
    with pytest.raises(cl.CommandError, match="must say whose judgement"):
        decide(EvaluateResolution("q1", None, True), loop.state, context)
    (event,) = decide(EvaluateResolution("q1", "reporter", True), loop.state, context)
    assert isinstance(event, cl.ResolutionEvaluated)
    assert event.evaluator_kind is cl.EvaluatorKind.REPORTER


def test_an_issue_is_not_merged_into_itself() -> None:
    loop = registered()
    with pytest.raises(cl.CommandError, match="merged into itself"):
        loop.do(WithdrawIssue("q1", "merged", "q1"), world.CITY_LEADER, at(2025, 9, 29))


def test_only_the_lead_department_accepts_and_resolves_even_without_access_rules() -> None:
    start = at(2025, 9, 29)
    loop = registered(when=start - timedelta(hours=1))
    loop.do(AssignIssue("q1", "city-construction"), world.CITY_LEADER, start)
    free = cl.Unrestricted(world.HIERARCHY)
    state = loop.state
    for actor in (world.STAFF["city-economy"], world.CITY_LEADER):
        context = world.context(actor, start)._replace(access=free)
        with pytest.raises(cl.PermissionDeniedError, match="assigned"):
            decide(AcceptAssignment("q1"), state, context)
    context = world.context(world.STAFF["city-construction"], start)._replace(access=free)
    assert decide(AcceptAssignment("q1"), state, context)
