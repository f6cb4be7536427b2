"""Supervision orders and accountability: rules, explanations, authorization, closing."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.access import AccessPolicy, Actor, ActorKind
from closedloop.ids import ActorId, DepartmentId, IssueId, UnitId
from closedloop.lifecycle import (
    AcceptAssignment,
    AssignIssue,
    Command,
    EvaluateResolution,
    IssueEvent,
    IssueState,
    RegisterIssue,
    ReopenIssue,
    ResolveIssue,
    ReturnAssignment,
    Status,
    SuspendIssue,
    TransferIssue,
    decide,
    evolve,
)
from closedloop.metrics import compute_metrics
from closedloop.supervision import (
    AccountabilityCause,
    AccountabilityOutcome,
    AccountabilityProposal,
    AccountabilityRecorded,
    AccountabilityRule,
    BuckPassingRule,
    CloseReason,
    Evidence,
    HandoverRule,
    OverdueRule,
    RedWarningRule,
    RepeatedReopenRule,
    SubjectKind,
    SupervisionContext,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderOverdue,
    SupervisionOrderState,
    SupervisionRule,
    UnmetOrdersRule,
    close_orders,
    evolve_order,
    handling_records,
    move_of,
    observe_orders,
    order_supervision,
    propose_accountability,
    propose_supervision,
    record_accountability,
    replay_order,
)
from tests import world
from tests.logs import Log, issue_logs, random_log

CAL = world.CALENDAR
TOWN_SUPERVISOR = Actor(ActorId("town-supervisor"), ActorKind.SUPERVISOR, unit=world.TOWN_A)
ACCESS = world.ACCESS.with_grants(
    *AccessPolicy.standard_grants(TOWN_SUPERVISOR), actors=[TOWN_SUPERVISOR]
)


def facts_of(proposal: Any) -> dict[str, str]:
    """A proposal's facts by name."""
    return {fact.name: fact.value for fact in proposal.facts}


def at(d: int, h: int = 10) -> datetime:
    return datetime(2025, 3, d, h, tzinfo=world.SHANGHAI)


def ctx(actor: Actor, when: datetime, prefix: str = "s") -> SupervisionContext:
    return SupervisionContext(
        actor, when, CAL, ACCESS, world.id_maker(prefix), world.DEPARTMENT_UNIT
    )


class Script:
    """Issues driven through decide/evolve; their events in one log."""

    def __init__(self) -> None:
        self.new_id = world.id_maker()
        self.states: dict[str, IssueState] = {}
        self.events: list[IssueEvent] = []

    def do(self, command: Command, actor: Actor, when: datetime) -> list[IssueEvent]:
        before = self.states.get(command.issue_id)
        new = decide(command, before, world.context(actor, when, self.new_id))
        state = before
        for event in new:
            state = evolve(state, event)
        assert state is not None
        self.states[command.issue_id] = state
        self.events.extend(new)
        return new

    def open(self, issue: str, lead: str, when: datetime, difficulty: str = "complex") -> None:
        leader = world.CITY_LEADER
        self.do(RegisterIssue(issue, world.VILLAGE_A1, "housing", difficulty, "积水"), leader, when)
        self.do(AssignIssue(issue, lead), leader, when + timedelta(minutes=5))


# -- supervision rules ------------------------------------------------------------------------


def test_overdue_rule_counts_working_days_after_the_due_date() -> None:
    script = Script()
    script.open("i", "city-economy", at(3))  # Monday; complex: due Thursday 6 March
    state = script.states["i"]
    assert state.due_date == date(2025, 3, 6)
    rule = OverdueRule(min_working_days=2)
    assert rule.propose([state], at(6, 23), CAL) == []
    assert rule.propose([state], at(7), CAL) == []  # 1 working day late
    assert rule.propose([state], at(9), CAL) == []  # Sunday: still 1
    (proposal,) = rule.propose([state], at(10), CAL)  # Monday: 2
    facts = facts_of(proposal)
    assert facts["overdue_working_days"] == "2"
    assert facts["due_date"] == "2025-03-06"
    assert proposal.departments == ("city-economy",)
    assert proposal.issue_version == state.version
    assert "overdue by 2 working day(s)" in proposal.explain()
    assert "due_date=2025-03-06" in proposal.explain()
    # a suspended issue's clock is stopped: not overdue
    script.do(SuspendIssue("i", "waiting"), world.CITY_LEADER, at(10, 11))
    assert rule.propose([script.states["i"]], at(20), CAL) == []


def test_handover_and_red_warning_rules() -> None:
    script = Script()
    leader = world.CITY_LEADER
    script.open("i", "city-economy", at(3))
    script.do(TransferIssue("i", "city-resources", reason="theirs"), leader, at(3, 12))
    script.do(ReturnAssignment("i", "not ours"), world.STAFF["city-resources"], at(4))
    script.open("j", "city-economy", at(4))
    states = [script.states["i"], script.states["j"]]
    (proposal,) = HandoverRule(min_handovers=2).propose(states, at(5), CAL)
    assert proposal.issue_id == "i"
    assert proposal.departments == ()
    assert facts_of(proposal)["returns"] == "1"
    assert facts_of(proposal)["transfers"] == "1"
    assert HandoverRule(min_handovers=2, count_returns=False).propose(states, at(5), CAL) == []
    red = RedWarningRule(flagged={"j", "unknown"}, meeting="2025-03 city meeting")
    (flagged,) = red.propose(states, at(5), CAL)
    assert flagged.issue_id == "j"
    assert "2025-03 city meeting" in flagged.explain()
    with pytest.raises(cl.ConfigurationError):
        HandoverRule(count_returns=False, count_transfers=False)
    with pytest.raises(cl.ConfigurationError):
        OverdueRule(min_working_days=-1)
    with pytest.raises(cl.ConfigurationError):
        RedWarningRule(flagged="issue-1")


@given(log=issue_logs(), seed=st.integers(0, 1000), k=st.integers(0, 3))
def test_proposals_are_deterministic_and_explained(log: Log, seed: int, k: int) -> None:
    rules: list[SupervisionRule] = [
        OverdueRule(k),
        HandoverRule(1),
        RedWarningRule(set(list(log.states)[:2])),
    ]
    states = list(log.states.values())
    when = log.end + timedelta(days=3)
    first = propose_supervision(rules, states, when, CAL)
    random.Random(seed).shuffle(states)
    assert propose_supervision(rules[::-1], states, when, CAL) == first
    assert [(p.issue_id, p.rule) for p in first] == sorted((p.issue_id, p.rule) for p in first)
    for proposal in first:
        state = log.states[proposal.issue_id]
        assert state.status.is_open
        assert proposal.issue_id in proposal.explain()
        assert proposal.rule in proposal.explain()
        assert proposal.facts
        assert all(f"{n}={v}" in proposal.explain() for n, v in proposal.facts)
        if proposal.rule == "overdue":
            assert state.is_overdue(when)
            assert int(facts_of(proposal)["overdue_working_days"]) >= k


def test_an_open_order_of_the_same_rule_is_not_proposed_again() -> None:
    script = Script()
    script.open("i", "city-economy", at(3))
    state = script.states["i"]
    (proposal,) = propose_supervision([OverdueRule()], [state], at(10), CAL)
    (ordered,) = order_supervision(proposal, state, ctx(world.SUPERVISOR, at(10)), order_id="o-1")
    order = evolve_order(None, ordered)
    assert propose_supervision([OverdueRule()], [state], at(11), CAL, orders=[order]) == []
    assert propose_supervision([HandoverRule(1), OverdueRule()], [state], at(11), CAL) != []
    with pytest.raises(cl.ConfigurationError, match="distinct names"):
        propose_supervision([OverdueRule(), OverdueRule(3)], [state], at(11), CAL)


# -- ordering ---------------------------------------------------------------------------------


def test_ordering_checks_level_and_sets_its_own_deadline() -> None:
    script = Script()
    script.open("i", "city-economy", at(3))
    script.open("t", "town-a-office", at(3))
    (proposal,) = propose_supervision([OverdueRule()], [script.states["i"]], at(7), CAL)
    (ordered,) = order_supervision(
        proposal,
        script.states["i"],
        ctx(world.SUPERVISOR, at(7)),
        order_id="o-1",
        team="联合督查组",
    )
    assert ordered.departments == ("city-economy",)
    assert ordered.team == "联合督查组"
    assert ordered.due_date == date(2025, 3, 12)  # 3 working days after Friday 7 March
    assert ordered.facts == proposal.facts
    assert ordered.rule == "overdue"
    assert ordered.stream_id == "o-1"
    assert ordered.version == 1
    # co-handlers can be addressed too; a transfer to one of them does not close the order
    leader = world.CITY_LEADER
    script.do(RegisterIssue("c", world.VILLAGE_A1, "housing", "complex", "积水"), leader, at(3))
    script.do(AssignIssue("c", "city-economy", ["city-resources"]), leader, at(3, 11))
    (red,) = RedWarningRule({"c"}).propose([script.states["c"]], at(7), CAL)
    (both,) = order_supervision(
        red,
        script.states["c"],
        ctx(world.SUPERVISOR, at(7)),
        order_id="o-c",
        include_co_handlers=True,
    )
    assert both.departments == ("city-economy", "city-resources")
    moved = script.do(TransferIssue("c", "city-resources", reason="theirs"), leader, at(7, 12))
    assert move_of(evolve_order(None, both), moved[0]) is None
    # a town's supervisor may supervise its own sections, never a city bureau
    (town_proposal,) = propose_supervision([OverdueRule()], [script.states["t"]], at(7), CAL)
    order_supervision(
        town_proposal, script.states["t"], ctx(TOWN_SUPERVISOR, at(7)), order_id="o-2"
    )
    with pytest.raises(cl.PermissionDeniedError, match="strictly higher"):
        order_supervision(proposal, script.states["i"], ctx(TOWN_SUPERVISOR, at(7)), order_id="o-3")
    with pytest.raises(cl.PermissionDeniedError):
        order_supervision(
            proposal, script.states["i"], ctx(world.TOWN_A_LEADER, at(7)), order_id="o-4"
        )
    with pytest.raises(cl.CommandError, match="state of"):
        order_supervision(proposal, script.states["t"], ctx(world.SUPERVISOR, at(7)), order_id="x")
    with pytest.raises(cl.CommandError, match="backwards"):
        order_supervision(proposal, script.states["i"], ctx(world.SUPERVISOR, at(6)), order_id="x")
    script.do(ResolveIssue("i"), world.STAFF["city-economy"], at(8))
    with pytest.raises(cl.TransitionError, match="only an open issue"):
        order_supervision(
            proposal, script.states["i"], ctx(world.SUPERVISOR, at(8, 12)), order_id="x"
        )


def test_orders_close_when_the_issue_moves_and_not_otherwise() -> None:
    script = Script()
    leader = world.CITY_LEADER
    for issue in "abcd":
        script.open(issue, "city-economy", at(3))
    orders = {}
    for issue in "abcd":
        state = script.states[issue]
        (proposal,) = RedWarningRule({issue}).propose([state], at(4), CAL)
        (ordered,) = order_supervision(
            proposal, state, ctx(world.SUPERVISOR, at(4)), order_id=f"o-{issue}"
        )
        orders[issue] = evolve_order(None, ordered)
    start = len(script.events)
    staff = world.STAFF["city-economy"]
    script.do(AcceptAssignment("a"), staff, at(5))  # not a move
    script.do(SuspendIssue("a", "survey"), leader, at(5, 11))  # not a move
    script.do(ResolveIssue("b"), staff, at(5))
    script.do(TransferIssue("c", "city-resources", reason="theirs"), leader, at(5))
    script.do(ReturnAssignment("d", "not ours"), staff, at(5))
    closed = close_orders(
        orders.values(), script.events, actor=ActorId("system"), new_event_id=world.id_maker("c")
    )
    reasons = {c.order_id: c.reason for c in closed}
    assert reasons == {
        "o-b": CloseReason.RESOLVED,
        "o-c": CloseReason.TRANSFERRED,
        "o-d": CloseReason.RETURNED,
    }
    for event in closed:
        trigger = next(e for e in script.events[start:] if e.event_id == event.trigger_event_id)
        assert trigger.issue_id == event.issue_id
        assert event.occurred_at == trigger.occurred_at
        folded = evolve_order(orders[event.issue_id], event)
        assert not folded.is_open
        assert folded.close_reason is event.reason
        orders[event.issue_id] = folded
    # feeding the same events again closes nothing more
    again = close_orders(
        orders.values(), script.events, actor=ActorId("system"), new_event_id=world.id_maker("c")
    )
    assert again == []


@given(log=issue_logs(), cut=st.floats(0, 1))
def test_orders_close_exactly_when_the_issue_moves(log: Log, cut: float) -> None:
    """Order every open issue at some point of a random log, then replay the rest."""
    k = int(cut * len(log.events))
    states: dict[str, IssueState] = {}
    for event in log.events[:k]:
        states[event.issue_id] = evolve(states.get(event.issue_id), event)
    when = log.events[k - 1].occurred_at if k else world.START
    orders = {}
    for state in states.values():
        if not state.status.is_open:
            continue
        (proposal,) = RedWarningRule({state.issue_id}).propose([state], when, CAL)
        if state.lead is None and state.unit == world.CITY:
            # handled by the city itself, unassigned: nobody above the city supervises it
            with pytest.raises(cl.PermissionDeniedError, match="strictly higher"):
                order_supervision(proposal, state, ctx(world.SUPERVISOR, when), order_id="x")
            continue
        (ordered,) = order_supervision(
            proposal, state, ctx(world.SUPERVISOR, when), order_id=f"o-{state.issue_id}"
        )
        orders[state.issue_id] = evolve_order(None, ordered)
    # everything, from the beginning: events the orders were based on never close them
    closed = close_orders(
        orders.values(), log.events, actor=ActorId("system"), new_event_id=world.id_maker("c")
    )
    assert len({c.order_id for c in closed}) == len(closed)
    by_issue = {c.issue_id: c for c in closed}
    for issue, order in orders.items():
        later = [e for e in log.events[k:] if e.issue_id == issue]
        moves = [(e, move_of(order, e)) for e in later if move_of(order, e) is not None]
        end = log.states[issue]
        if not moves:
            assert issue not in by_issue
            # the issue is still open, still at the same unit, not led by someone else
            assert end.status.is_open
            assert end.unit == order.unit
            assert end.lead is None or not order.departments or end.lead in order.departments
            continue
        event, reason = moves[0]
        assert by_issue[issue].trigger_event_id == event.event_id
        assert by_issue[issue].reason is reason
        expected = {
            "IssueResolved": CloseReason.RESOLVED,
            "IssueWithdrawn": CloseReason.WITHDRAWN,
            "IssueEscalated": CloseReason.ESCALATED,
            "IssueTransferred": CloseReason.TRANSFERRED,
            "AssignmentReturned": CloseReason.RETURNED,
            "IssueAssigned": CloseReason.ASSIGNED,
        }
        assert expected[type(event).__name__] is reason
    for issue in orders:
        if log.states[issue].status in (Status.RESOLVED, Status.ARCHIVED, Status.WITHDRAWN):
            assert issue in by_issue


def test_overdue_orders_are_observed_once_and_the_stream_folds() -> None:
    script = Script()
    script.open("i", "city-economy", at(3))
    state = script.states["i"]
    (proposal,) = RedWarningRule({"i"}).propose([state], at(3, 12), CAL)
    (ordered,) = order_supervision(proposal, state, ctx(world.SUPERVISOR, at(3, 12)), order_id="o")
    order = evolve_order(None, ordered)
    assert (
        observe_orders([order], at(6, 23), actor=ActorId("system"), new_event_id=world.id_maker())
        == []
    )
    (overdue,) = observe_orders(
        [order], at(7), actor=ActorId("system"), new_event_id=world.id_maker()
    )
    assert isinstance(overdue, SupervisionOrderOverdue)
    assert overdue.version == 2
    order = evolve_order(order, overdue)
    assert order.overdue_recorded
    assert order.unmet_at(at(7))
    assert not order.met
    assert (
        observe_orders([order], at(8), actor=ActorId("system"), new_event_id=world.id_maker()) == []
    )
    assert replay_order([ordered, overdue]) == order
    with pytest.raises(cl.InvariantError):
        evolve_order(None, overdue)
    with pytest.raises(cl.InvariantError):
        evolve_order(order, overdue)  # wrong version
    with pytest.raises(cl.InvariantError):
        replay_order([])


# -- accountability ------------------------------------------------------------------------------


def order_state(
    order_id: str, department: str, due: datetime, **changes: Any
) -> SupervisionOrderState:
    base = SupervisionOrderState(
        order_id,
        1,
        IssueId(f"issue-{order_id}"),
        2,
        world.CITY,
        "housing",
        (DepartmentId(department),),
        "",
        "overdue",
        "late",
        (),
        due - timedelta(days=3),
        ActorId("supervisor"),
        due,
        due.date(),
    )
    return attrs.evolve(base, **changes)


def test_unmet_orders_rule() -> None:
    orders = [
        order_state("o1", "city-economy", at(5)),
        order_state(
            "o2",
            "city-economy",
            at(6),
            status=cl.supervision.OrderStatus.CLOSED,
            closed_at=at(7),
            close_reason=CloseReason.RESOLVED,
        ),  # met late: unmet
        order_state(
            "o3",
            "city-economy",
            at(6),
            status=cl.supervision.OrderStatus.CLOSED,
            closed_at=at(5),
            close_reason=CloseReason.RESOLVED,
        ),  # met in time
        order_state("o4", "city-resources", at(5)),
    ]
    rule = UnmetOrdersRule(min_orders=2)
    (proposal,) = rule.propose(Evidence(at(10), orders, (), world.DEPARTMENT_UNIT))
    assert proposal.subject == "city-economy"
    assert proposal.subject_kind is SubjectKind.DEPARTMENT
    assert proposal.order_ids == ("o1", "o2")
    assert proposal.unit == world.CITY
    assert proposal.cause is AccountabilityCause.POOR_EXECUTION
    explained = proposal.explain()
    assert "o1" in explained
    assert "o2" in explained
    assert "o3" not in explained
    assert "执行不力" in explained
    assert "2025-03-05" in explained
    assert rule.propose(Evidence(at(5, 9), orders)) == []  # no deadline has passed yet


def test_buck_passing_rule_over_lifecycle_events() -> None:
    script = Script()
    leader = world.CITY_LEADER
    script.open("i", "city-economy", at(3))
    script.do(TransferIssue("i", "city-resources", reason="theirs"), leader, at(3, 12))
    script.do(TransferIssue("i", "city-economy", reason="no, theirs"), leader, at(4))
    script.do(ReturnAssignment("i", "not ours"), world.STAFF["city-economy"], at(4, 12))
    script.do(AssignIssue("i", "city-resources"), leader, at(5))
    records = handling_records(script.events)
    assert [r.role.value for r in records] == [
        "lead",
        "transferred",
        "transferred",
        "returned",
        "lead",
    ]
    # A store's read_all() pairs give the same records.
    store = cl.MemoryEventStore()
    for event in script.events:
        store.append(event.stream_id, [event], expected_version=event.version - 1)
    assert handling_records(store.read_all()) == records
    evidence = Evidence(at(6), (), script.events, world.DEPARTMENT_UNIT)
    proposals = BuckPassingRule(min_handovers=3).propose(evidence)
    assert [p.subject for p in proposals] == ["city-economy", "city-resources"]
    facts = facts_of(proposals[0])
    assert facts["pair"] == "city-economy <-> city-resources"
    assert facts["city-economy -> city-resources"] == "1 returns, 1 transfers"
    assert all(p.cause is AccountabilityCause.BUCK_PASSING for p in proposals)
    assert BuckPassingRule(min_handovers=4).propose(evidence) == []


def test_repeated_reopen_rule_and_dedupe() -> None:
    script = Script()
    leader = world.CITY_LEADER
    script.open("i", "city-economy", at(3), difficulty="simple")
    staff = world.STAFF["city-economy"]
    for day in (4, 6):
        script.do(ResolveIssue("i"), staff, at(day))
        script.do(EvaluateResolution("i", "third_party", False, 20.0), world.SURVEY, at(day, 12))
        script.do(ReopenIssue("i", "again"), leader, at(day, 14))
    evidence = Evidence(at(8), (), script.events, world.DEPARTMENT_UNIT)
    rules: list[AccountabilityRule] = [RepeatedReopenRule(min_rejected=2), BuckPassingRule()]
    (proposal,) = propose_accountability(rules, evidence)
    assert proposal.cause is AccountabilityCause.PERFUNCTORY
    assert proposal.outcome is AccountabilityOutcome.ADMONISHMENT
    assert len(proposal.evidence) == 2
    assert "敷衍应付" in proposal.explain()
    (record,) = record_accountability(proposal, ctx(world.SUPERVISOR, at(8)), record_id="r-1")
    assert record.stream_id == "r-1"
    assert record.evidence == proposal.evidence
    assert propose_accountability(rules, evidence, existing=[record]) == []
    # a new rejection is new evidence
    script.do(ResolveIssue("i"), staff, at(10))
    script.do(EvaluateResolution("i", "third_party", False, 20.0), world.SURVEY, at(10, 12))
    script.do(ReopenIssue("i", "again"), leader, at(10, 14))
    later = Evidence(at(11), (), script.events, world.DEPARTMENT_UNIT)
    (again,) = propose_accountability(rules, later, existing=[record])
    assert len(again.evidence) == 3


def test_recording_accountability_comes_from_a_strictly_higher_level() -> None:
    proposal = AccountabilityProposal(
        "department",
        "city-economy",
        world.CITY,
        "city-economy",
        "poor_execution",
        "circulated_criticism",
        "manual",
        "did not deliver",
    )
    (record,) = record_accountability(
        proposal, ctx(world.SUPERVISOR, at(5)), record_id="r", outcome="disciplinary_sanction"
    )
    assert record.outcome is AccountabilityOutcome.DISCIPLINARY_SANCTION
    with pytest.raises(cl.PermissionDeniedError, match="strictly higher"):
        record_accountability(proposal, ctx(TOWN_SUPERVISOR, at(5)), record_id="r")
    with pytest.raises(cl.PermissionDeniedError):
        record_accountability(proposal, ctx(world.CITY_LEADER, at(5)), record_id="r")
    town_section = attrs.evolve(
        proposal, subject="town-a-office", unit=world.TOWN_A, department="town-a-office"
    )
    record_accountability(town_section, ctx(TOWN_SUPERVISOR, at(5)), record_id="r2")
    village = AccountabilityProposal(
        "unit", world.VILLAGE_A1, world.VILLAGE_A1, None, "inaction", "criticism", "manual", ""
    )
    record_accountability(village, ctx(TOWN_SUPERVISOR, at(5)), record_id="r3")
    with pytest.raises(cl.CommandError):
        record_accountability(proposal, ctx(world.SUPERVISOR, at(5)), record_id="")
    with pytest.raises(cl.ConfigurationError, match="unknown cause"):
        attrs.evolve(proposal, cause="laziness")


@given(log=issue_logs(), seed=st.integers(0, 100))
def test_accountability_rules_are_deterministic(log: Log, seed: int) -> None:
    rules: list[AccountabilityRule] = [
        RepeatedReopenRule(1),
        BuckPassingRule(1),
        UnmetOrdersRule(1),
    ]
    evidence = Evidence(log.end, (), log.events, world.DEPARTMENT_UNIT)
    first = propose_accountability(rules, evidence)
    shuffled = list(rules)
    random.Random(seed).shuffle(shuffled)
    assert propose_accountability(shuffled, evidence) == first
    for proposal in first:
        assert proposal.rule in proposal.explain()
        assert proposal.subject in proposal.explain()
        assert proposal.evidence
        assert proposal.issue_ids
        assert set(proposal.issue_ids) <= set(log.states)


def test_the_articles_accountability_figures() -> None:
    """53 people held accountable, 23 of them with disciplinary sanctions."""
    outcomes = (
        [AccountabilityOutcome.DISCIPLINARY_SANCTION] * 23
        + [AccountabilityOutcome.ADMONISHMENT] * 14
        + [AccountabilityOutcome.CIRCULATED_CRITICISM] * 12
        + [AccountabilityOutcome.ORGANISATIONAL_HANDLING] * 4
    )
    causes = [
        AccountabilityCause.PERFUNCTORY,
        AccountabilityCause.BUCK_PASSING,
        AccountabilityCause.POOR_EXECUTION,
    ]
    units = [world.TOWN_A, world.TOWN_B, world.VILLAGE_A1]
    events: list[AccountabilityRecorded] = []
    for k, outcome in enumerate(outcomes):
        proposal = AccountabilityProposal(
            "person",
            f"cadre-{k:02d}",
            units[k % 3],
            None,
            causes[k % 3],
            outcome,
            "manual",
            "交办问题" + causes[k % 3].chinese,
        )
        events += record_accountability(
            proposal, ctx(world.SUPERVISOR, at(1) + timedelta(days=k)), record_id=f"r-{k}"
        )
    metrics = compute_metrics(events, calendar=CAL, by="unit", period="quarter")
    total = metrics.activity_total
    assert (total.people_held_accountable, total.disciplinary_sanctions) == (53, 23)
    assert total.outcome_count("admonishment") == 14
    assert sum(n for _, n in total.by_outcome) == 53
    assert dict(metrics.accountability_by_cause)[AccountabilityCause.BUCK_PASSING] == 18
    assert sum(r.people_held_accountable for r in metrics.activity.rows) == 53
    columns = metrics.activity.to_columns()
    assert sum(columns["accountability_disciplinary_sanction"]) == 23


def test_events_carry_their_streams() -> None:
    log = random_log(random.Random(5), issues=3, steps=20)
    assert all(e.stream_id == e.issue_id for e in log.events)
    assert SupervisionOrdered.KIND == "SupervisionOrdered"
    assert SupervisionOrderClosed.KIND == "SupervisionOrderClosed"
    assert AccountabilityRecorded.KIND == "AccountabilityRecorded"
    assert UnitId("x") == "x"
