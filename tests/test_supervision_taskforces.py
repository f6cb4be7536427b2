"""Task forces: detecting common problems, plans per unit, closing only when all are done."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import closedloop as cl
from closedloop.deadlines import Difficulty
from closedloop.ids import ActorId, EventId, IssueId, TaskForceId, UnitId
from closedloop.lifecycle import IssueState, Status
from closedloop.metrics import compute_metrics
from closedloop.taskforces import (
    CloseTaskForce,
    CommonProblemRule,
    CreateTaskForce,
    IssueLinked,
    LinkIssue,
    PlanRecorded,
    RecordPlan,
    ResolvePlan,
    TaskForceClosed,
    TaskForceContext,
    TaskForceEvent,
    TaskForceState,
    decide_task_force,
    evolve_task_force,
    replay_task_force,
    title_similarity,
    title_tokens,
)
from tests import world
from tests.logs import Log, issue_logs

T0 = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)


def facts_of(proposal: Any) -> dict[str, str]:
    """A proposal's facts by name."""
    return {fact.name: fact.value for fact in proposal.facts}


def issue(
    n: int,
    unit: str,
    *,
    category: str = "land_certificate",
    title: str = "工业用地办证历史遗留问题",
    days_ago: float = 1,
    status: Status = Status.REGISTERED,
) -> IssueState:
    registered = T0 - timedelta(days=days_ago)
    return IssueState(
        issue_id=IssueId(f"i-{n:03d}"),
        version=1,
        status=status,
        unit=UnitId(unit),
        origin_unit=UnitId(unit),
        category=category,
        difficulty=Difficulty.DIFFICULT,
        title=title,
        description="",
        reporter=None,
        registered_at=registered,
        updated_at=registered,
    )


def context(actor: cl.Actor = world.CITY_LEADER, when: datetime = T0) -> TaskForceContext:
    return TaskForceContext(actor, when, world.ACCESS, world.id_maker("tf"))


def test_title_tokens_and_similarity() -> None:
    assert title_tokens("工业用地") == {"工业", "业用", "用地"}
    assert title_tokens("Land title, 2019!") == {"land", "title", "2019"}
    assert title_tokens("村 A") == {"村", "a"}
    assert title_similarity("工业用地办证", "工业用地办证") == 1.0
    assert title_similarity("", "…") == 0.0
    assert 0 < title_similarity("工业用地办证历史遗留", "工业用地办证问题") < 1
    assert title_similarity("道路积水", "企业融资") == 0.0


def test_the_articles_93_firms_become_one_task_force() -> None:
    """93 firms across the city with the same industrial-land certificate problem."""
    firms = [issue(n, f"firm-{n:03d}", days_ago=n % 20) for n in range(93)]
    noise = [
        issue(200, "firm-000", category="roads", title="道路积水"),
        issue(201, "firm-001", category="roads", title="路灯不亮"),
        issue(202, "firm-002", days_ago=60),  # outside the window
        issue(203, "firm-003", status=Status.ARCHIVED),  # already solved
    ]
    rule = CommonProblemRule(min_units=3, window=timedelta(days=30))
    (proposal,) = rule.detect([*noise, *firms], T0)
    assert proposal.category == "land_certificate"
    assert len(proposal.issue_ids) == 93
    assert len(proposal.units) == 93
    facts = facts_of(proposal)
    assert facts["issues"] == "93"
    assert facts["units"] == "93"
    assert "93 open issue(s)" in proposal.explain()
    assert proposal.window_end - proposal.window_start == timedelta(days=30)
    # deterministic, whatever the order of the input
    assert rule.detect(list(reversed([*firms, *noise])), T0) == [proposal]
    # already linked issues are left out
    assert rule.detect(firms, T0, linked=proposal.issue_ids) == []
    with pytest.raises(cl.ConfigurationError):
        CommonProblemRule(min_units=1)
    with pytest.raises(cl.ConfigurationError):
        CommonProblemRule(similarity=1.5)


def test_similar_titles_split_a_category() -> None:
    land = [issue(n, f"u{n}", title="工业用地办证历史遗留") for n in range(3)]
    fire = [issue(10 + n, f"v{n}", title="农民公寓消防验收遗留") for n in range(3)]
    lonely = [issue(20, "w", title="厂房租金纠纷")]
    plain = CommonProblemRule(min_units=3).detect([*land, *fire, *lonely], T0)
    assert len(plain) == 1
    assert len(plain[0].issue_ids) == 7
    alike = CommonProblemRule(min_units=3, similarity=0.5).detect([*land, *fire, *lonely], T0)
    assert [p.issue_ids for p in alike] == [
        tuple(s.issue_id for s in land),
        tuple(s.issue_id for s in fire),
    ]
    assert all(facts_of(p)["similarity_threshold"] == "0.5" for p in alike)


def run(state: TaskForceState | None, command: object, **kw: object) -> TaskForceState:
    events = decide_task_force(command, state, context(**kw))  # type: ignore[arg-type]
    for event in events:
        state = evolve_task_force(state, event)
    assert state is not None
    return state


def test_a_task_force_closes_only_when_every_plan_is_resolved() -> None:
    firms = [issue(n, f"firm-{n}") for n in range(3)]
    (proposal,) = CommonProblemRule(min_units=3).detect(firms, T0)
    create = proposal.create(
        "tf-land",
        name="工业用地办证历史遗留问题工作专班",
        unit=world.CITY,
        leader=world.CITY_LEADER.id,
        departments=["city-resources", "city-economy", "city-construction"],
    )
    tf = run(None, create)
    assert tf.issue_ids == proposal.issue_ids
    assert tf.leader == "city-leader"
    assert tf.without_plan == proposal.issue_ids
    assert not tf.can_close
    with pytest.raises(cl.CommandError, match="no plan for i-000, i-001, i-002"):
        run(tf, CloseTaskForce("tf-land"))
    for k, s in enumerate(firms):
        tf = run(
            tf,
            RecordPlan(
                "tf-land",
                s.issue_id,
                s.origin_unit,
                f"一企一策 {k}",
                ["city-resources"],
                date(2025, 4, 1),
            ),
        )
    tf = run(tf, RecordPlan("tf-land", "i-000", "firm-0", "revised plan"))
    assert tf.plans[IssueId("i-000")].revision == 2
    tf = run(tf, ResolvePlan("tf-land", "i-000", "certificate issued"))
    tf = run(tf, ResolvePlan("tf-land", "i-001", "certificate issued"))
    with pytest.raises(cl.CommandError, match="plan not resolved for i-002"):
        run(tf, CloseTaskForce("tf-land"))
    with pytest.raises(cl.CommandError, match="already resolved"):
        run(tf, RecordPlan("tf-land", "i-000", "firm-0", "again"))
    with pytest.raises(cl.CommandError, match="already resolved"):
        run(tf, ResolvePlan("tf-land", "i-000"))
    tf = run(tf, LinkIssue("tf-land", "i-099"))
    with pytest.raises(cl.CommandError, match="already linked"):
        run(tf, LinkIssue("tf-land", "i-099"))
    with pytest.raises(cl.CommandError, match="not linked"):
        run(tf, RecordPlan("tf-land", "i-100", "firm", "plan"))
    tf = run(tf, RecordPlan("tf-land", "i-099", "firm-99", "plan"))
    tf = run(tf, ResolvePlan("tf-land", "i-099"))
    tf = run(tf, ResolvePlan("tf-land", "i-002"))
    tf = run(tf, CloseTaskForce("tf-land", "all firms done"))
    assert not tf.is_open
    assert tf.closed_at == T0
    with pytest.raises(cl.CommandError, match="closed"):
        run(tf, LinkIssue("tf-land", "i-200"))


def test_task_force_commands_are_authorized_and_checked() -> None:
    create = CreateTaskForce("tf", "专班", world.CITY, world.CITY_LEADER.id, "housing")
    with pytest.raises(cl.PermissionDeniedError):
        run(None, create, actor=world.CITIZEN)
    with pytest.raises(cl.PermissionDeniedError):  # a town cannot set one up for the city
        run(None, create, actor=world.TOWN_A_LEADER)
    tf = run(None, create)
    with pytest.raises(cl.CommandError, match="already exists"):
        run(tf, create)
    with pytest.raises(cl.CommandError, match="no such task force"):
        run(None, LinkIssue("tf", "i"))
    with pytest.raises(cl.CommandError, match="needs a name"):
        run(None, CreateTaskForce("tf2", " ", world.CITY, world.CITY_LEADER.id))
    with pytest.raises(cl.CommandError, match="backwards"):
        run(tf, LinkIssue("tf", "i"), when=T0 - timedelta(days=1))
    with pytest.raises(cl.NaiveDatetimeError):
        run(tf, LinkIssue("tf", "i"), when=datetime(2025, 3, 3))
    with pytest.raises(cl.CommandError, match="list of ids"):
        CreateTaskForce("tf", "专班", world.CITY, world.CITY_LEADER.id, issue_ids="i-1")


def test_the_stream_folds_and_refuses_what_does_not_follow() -> None:
    events: list[TaskForceEvent] = []
    state: TaskForceState | None = None
    for command in (
        CreateTaskForce("tf", "专班", world.CITY, world.CITY_LEADER.id, issue_ids=["a"]),
        RecordPlan("tf", "a", "firm", "plan"),
        ResolvePlan("tf", "a"),
        CloseTaskForce("tf"),
    ):
        new = decide_task_force(command, state, context())
        events += new
        for event in new:
            state = evolve_task_force(state, event)
    assert replay_task_force(events) == state
    assert [type(e).__name__ for e in events] == [
        "TaskForceCreated",
        "PlanRecorded",
        "PlanResolved",
        "TaskForceClosed",
    ]
    assert all(e.stream_id == "tf" for e in events)
    forged = TaskForceClosed(
        event_id=EventId("x"),
        task_force_id=TaskForceId("tf"),
        version=3,
        occurred_at=T0,
        actor=ActorId("a"),
    )
    with pytest.raises(cl.InvariantError, match="unresolved"):
        replay_task_force([*events[:2], forged])
    with pytest.raises(cl.InvariantError):
        replay_task_force(events[1:])
    with pytest.raises(cl.InvariantError):
        replay_task_force([])
    # task forces are counted in the activity metrics
    metrics = compute_metrics(events, calendar=world.CALENDAR, by="unit")
    assert (
        metrics.activity_total.task_forces_created,
        metrics.activity_total.task_forces_closed,
    ) == (1, 1)


class TaskForceMachine(RuleBasedStateMachine):
    """Random task force commands: the task force closes exactly when every plan is done."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.state = run(None, CreateTaskForce("tf", "专班", world.CITY, world.CITY_LEADER.id))
        self.model: dict[str, str] = {}  # issue -> "none" | "open" | "done"

    def _run(self, command: object) -> bool:
        self.now += timedelta(minutes=1)
        try:
            self.state = run(self.state, command, when=self.now)
        except cl.CommandError:
            return False
        return True

    @rule(n=st.integers(0, 5))
    def link(self, n: int) -> None:
        expected = self.state.is_open and f"i{n}" not in self.model
        assert self._run(LinkIssue("tf", f"i{n}")) == expected
        if expected:
            self.model[f"i{n}"] = "none"

    @rule(n=st.integers(0, 5))
    def plan(self, n: int) -> None:
        expected = self.state.is_open and self.model.get(f"i{n}") in ("none", "open")
        assert self._run(RecordPlan("tf", f"i{n}", f"u{n}", "plan")) == expected
        if expected:
            self.model[f"i{n}"] = "open"

    @rule(n=st.integers(0, 5))
    def resolve(self, n: int) -> None:
        expected = self.state.is_open and self.model.get(f"i{n}") == "open"
        assert self._run(ResolvePlan("tf", f"i{n}")) == expected
        if expected:
            self.model[f"i{n}"] = "done"

    @rule()
    def close(self) -> None:
        done = all(v == "done" for v in self.model.values())
        expected = self.state.is_open and bool(self.model) and done
        assert self._run(CloseTaskForce("tf")) == expected

    @invariant()
    def agrees(self) -> None:
        assert set(self.state.issue_ids) == set(self.model)
        done = {i for i, v in self.model.items() if v == "done"}
        assert {i for i, p in self.state.plans.items() if p.resolved} == done
        if not self.state.is_open:
            assert self.state.can_close


TestTaskForceMachine = TaskForceMachine.TestCase


@given(log=issue_logs(), n=st.integers(2, 4), similarity=st.sampled_from([None, 0.3, 0.6]))
def test_detection_on_random_logs(log: Log, n: int, similarity: float | None) -> None:
    rule = CommonProblemRule(min_units=n, window=timedelta(days=20), similarity=similarity)
    when = log.end
    proposals = rule.detect(log.states.values(), when)
    assert proposals == rule.detect(reversed(list(log.states.values())), when)
    seen: set[str] = set()
    for proposal in proposals:
        states = [log.states[i] for i in proposal.issue_ids]
        assert len({s.origin_unit for s in states}) == len(proposal.units) >= n
        assert {s.category for s in states} == {proposal.category}
        assert all(s.status.is_open for s in states)
        assert all(when - timedelta(days=20) <= s.registered_at <= when for s in states)
        assert not seen & set(proposal.issue_ids)
        seen |= set(proposal.issue_ids)
        assert proposal.issue_ids[0] in proposal.explain()
    if similarity is None:
        assert len(proposals) <= 3  # one per category at most


def test_linked_event_names_its_issue() -> None:
    tf = run(None, CreateTaskForce("tf", "专班", world.CITY, world.CITY_LEADER.id))
    (event,) = decide_task_force(LinkIssue("tf", "i-1", "also this"), tf, context())
    assert isinstance(event, IssueLinked)
    assert event.issue_id == "i-1"
    assert event.version == 2
    (plan,) = decide_task_force(
        RecordPlan("tf", "x", "u", "p"), run(tf, LinkIssue("tf", "x")), context()
    )
    assert isinstance(plan, PlanRecorded)
    assert plan.revision == 1
