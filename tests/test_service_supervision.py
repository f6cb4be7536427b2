"""Supervision orders (督办) through the service, as an embedder runs them.

The rules pinned here:

* ``ClosedLoop(supervision=True)`` knows the open orders from the log, whoever wrote
  them, and a reopened service rebuilds them;
* ``propose_supervision`` leaves out issues with an open order from the same rule;
  ``order_supervision`` decides and authorizes as the pure decider does and stores the
  order only if the issue is still at the version it was decided on;
* an order closes in the same atomic append as the issue event that moves its issue
  (``execute``, ``hold_meeting``, ``observe``): both are stored or neither, and never
  twice; an order whose issue moved under a writer that did not close it closes with
  the next append to the issue or the next ``observe_orders``;
* ``observe_orders`` records an overdue order once, all or nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.departments import yiwu_departments
from closedloop.hierarchy import yiwu_hierarchy
from closedloop.ids import EventId, UnitId
from closedloop.store.base import AppendResult, Batch
from closedloop.supervision import (
    CloseReason,
    OverdueRule,
    RedWarningRule,
    SupervisionContext,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderOverdue,
    SupervisionOrderState,
    evolve_order,
    move_of,
    order_supervision,
)
from tests import world

YIWU = yiwu_hierarchy(villages_per_town=3)
DEPARTMENTS = yiwu_departments()
CITY = "330782"
FOTANG = "330782100000"  # 佛堂镇
VILLAGE = "330782100201"
ECONOMY = "330782/economy"
TRANSPORT = "330782/transport"
LEADER = cl.Actor("city-leader", cl.ActorKind.OFFICIAL, unit=CITY)
TOWN_LEADER = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
SUPERVISOR = cl.Actor("team", cl.ActorKind.SUPERVISOR, unit=CITY, name="联合督查组")
TOWN_SUPERVISOR = cl.Actor("town-team", cl.ActorKind.SUPERVISOR, unit=FOTANG)
SURVEY = cl.Actor("survey", cl.ActorKind.THIRD_PARTY_EVALUATOR)
MONDAY = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)
OVERDUE = OverdueRule(min_working_days=2)


def staff(department: str) -> cl.Actor:
    return cl.Actor(f"staff:{department}", cl.ActorKind.DEPARTMENT_STAFF, department=department)


class RecordingStore(cl.MemoryEventStore):
    """A memory store that remembers which streams and events each append wrote.

    ``before_append`` (when set) runs once, just before the next append: a concurrent
    writer getting in between the service's read and its write.
    """

    def __init__(self) -> None:
        super().__init__()
        self.appends: list[dict[str, list[str]]] = []
        self.before_append: Any = None

    def _hook(self) -> None:
        hook, self.before_append = self.before_append, None
        if hook is not None:
            hook()

    def append(self, stream_id: str, events: Sequence[Any], **options: Any) -> AppendResult:
        self._hook()
        result = super().append(stream_id, events, **options)
        self.appends.append({stream_id: [e.event_id for e in events]})
        return result

    def append_many(self, batches: Iterable[Batch]) -> list[AppendResult]:
        self._hook()
        listed = list(batches)
        results = super().append_many(listed)
        self.appends.append({s: [e.event_id for e in events] for s, events, _ in listed if events})
        return results


def service(store: cl.EventStore | None = None, **options: Any) -> cl.ClosedLoop:
    options.setdefault("clock", cl.FixedClock(MONDAY))
    options.setdefault("supervision", True)
    return cl.ClosedLoop(hierarchy=YIWU, store=store, departments=DEPARTMENTS, **options)


def overdue_issue(loop: cl.ClosedLoop, issue_id: str = "q1") -> str:
    """An issue assigned to the city's economy bureau on Monday, overdue a week later."""
    loop.register(
        LEADER,
        unit=VILLAGE,
        category="housing",
        difficulty="complex",
        title="a leaking roof",
        issue_id=issue_id,
        at=MONDAY,
    )
    loop.assign(LEADER, issue_id, lead=ECONOMY, at=MONDAY)
    return issue_id


def order(loop: cl.ClosedLoop, *, at: datetime, order_id: str = "o-1") -> SupervisionOrdered:
    (proposal,) = loop.propose_supervision([OVERDUE], at=at)
    return loop.order_supervision(SUPERVISOR, proposal, order_id=order_id, team="联合督查组", at=at)


NEXT_MONDAY = MONDAY + timedelta(days=7)


# -- propose, order, close ----------------------------------------------------------------


def test_an_order_closes_in_the_same_append_as_the_resolution() -> None:
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    (proposal,) = loop.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    assert "overdue_working_days=2" in proposal.explain()
    ordered = loop.order_supervision(SUPERVISOR, proposal, order_id="o-1", at=NEXT_MONDAY)
    assert (ordered.departments, ordered.due_date.isoformat()) == ((ECONOMY,), "2025-03-13")
    assert [o.order_id for o in loop.supervision_orders()] == ["o-1"]
    assert loop.propose_supervision([OVERDUE], at=NEXT_MONDAY) == []  # one order per rule

    (resolved,) = loop.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY + timedelta(days=1))

    assert store.appends[-1] == {issue: [resolved.event_id], "o-1": [store.appends[-1]["o-1"][0]]}
    closed = store.read_stream("o-1")[-1]
    assert isinstance(closed, SupervisionOrderClosed)
    assert (closed.version, closed.reason, closed.trigger_event_id) == (
        2,
        CloseReason.RESOLVED,
        resolved.event_id,
    )
    positions = {r.event.event_id: r.position for r in store.read_all()}
    assert positions[closed.event_id] == positions[resolved.event_id] + 1
    assert loop.supervision_orders() == []
    (state,) = loop.supervision_orders(issue_id=issue, open_only=False)
    assert state.met
    assert state.close_reason is CloseReason.RESOLVED
    loop.evaluate(
        SURVEY, issue, satisfied=True, evaluator_kind="third_party", at=resolved.occurred_at
    )
    assert len(store.read_stream("o-1")) == 2  # never closed twice


def test_moves_that_do_not_settle_keep_the_order_running() -> None:
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    order(loop, at=NEXT_MONDAY)
    loop.accept(staff(ECONOMY), issue, at=NEXT_MONDAY)
    loop.suspend(LEADER, issue, reason="waiting for a survey", at=NEXT_MONDAY)
    loop.resume(LEADER, issue, at=NEXT_MONDAY)
    assert [o.order_id for o in loop.supervision_orders(issue_id=issue)] == ["o-1"]
    assert store.stream_version("o-1") == 1
    loop.transfer(LEADER, issue, to=TRANSPORT, reason="a road", at=NEXT_MONDAY)
    (state,) = loop.supervision_orders(issue_id=issue, open_only=False)
    assert state.close_reason is CloseReason.TRANSFERRED


def test_a_refused_issue_command_stores_neither_issue_nor_order_events() -> None:
    loop = service()
    issue = overdue_issue(loop)
    order(loop, at=NEXT_MONDAY)
    before = loop.store.last_position()
    with pytest.raises(cl.PermissionDeniedError):
        loop.resolve(staff(TRANSPORT), issue, at=NEXT_MONDAY)  # not the lead
    with pytest.raises(cl.TransitionError):
        loop.archive(LEADER, issue, at=NEXT_MONDAY)  # not resolved
    assert loop.store.last_position() == before
    assert [o.order_id for o in loop.supervision_orders()] == ["o-1"]


def test_a_conflict_on_the_order_stores_the_issue_events_neither() -> None:
    store = RecordingStore()
    loop = service(store)
    other = service(store)
    issue = overdue_issue(loop)
    ordered = order(loop, at=NEXT_MONDAY)
    late = ordered.due_at + timedelta(hours=1)
    # another writer records the order overdue between this service's read and write
    store.before_append = lambda: other.observe_orders(late)
    with pytest.raises(cl.ConcurrencyError) as caught:
        loop.resolve(staff(ECONOMY), issue, at=late)
    assert caught.value.stream_id == "o-1"
    assert loop.issue(issue).status is cl.Status.ASSIGNED  # the resolution is not stored
    assert store.stream_version("o-1") == 2  # the overdue fact only
    loop.resolve(staff(ECONOMY), issue, at=late)  # the retry reads again and succeeds
    (state,) = loop.supervision_orders(issue_id=issue, open_only=False)
    assert (state.version, state.overdue_recorded, state.met) == (3, True, False)


def test_an_order_is_stored_only_on_the_issue_version_it_was_decided_on() -> None:
    store = RecordingStore()
    loop = service(store)
    other = service(store)
    issue = overdue_issue(loop)
    (proposal,) = loop.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    store.before_append = lambda: other.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY)
    with pytest.raises(cl.ConcurrencyError):
        loop.order_supervision(SUPERVISOR, proposal, order_id="o-1", at=NEXT_MONDAY)
    assert store.stream_version("o-1") == 0
    with pytest.raises(cl.TransitionError):  # read again: resolved, nothing to supervise
        loop.order_supervision(SUPERVISOR, proposal, order_id="o-1", at=NEXT_MONDAY)


def test_ordering_is_checked_as_the_decider_checks_it() -> None:
    access = cl.AccessPolicy(
        YIWU,
        [
            *cl.AccessPolicy.standard_grants(LEADER),
            *cl.AccessPolicy.standard_grants(SUPERVISOR),
            *cl.AccessPolicy.standard_grants(TOWN_SUPERVISOR),
            *cl.AccessPolicy.standard_grants(staff(ECONOMY), scope_unit=CITY),
        ],
    )
    loop = service(access=access)
    issue = overdue_issue(loop)
    (proposal,) = loop.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    with pytest.raises(cl.PermissionDeniedError, match="strictly higher"):
        loop.order_supervision(TOWN_SUPERVISOR, proposal, at=NEXT_MONDAY)
    # the city's own team supervises a city bureau: the registry says where it belongs
    loop.order_supervision(SUPERVISOR, proposal, order_id="o-1", at=NEXT_MONDAY)
    with pytest.raises(cl.CommandError, match="already has open order"):
        loop.order_supervision(SUPERVISOR, proposal, order_id="o-2", at=NEXT_MONDAY)
    with pytest.raises(cl.CommandError, match="exists already"):
        loop.order_supervision(SUPERVISOR, proposal, order_id=issue, at=NEXT_MONDAY)
    # without the registry a city bureau is taken to belong to the handling unit (a
    # village), and the city team is strictly above it
    bare = cl.ClosedLoop(hierarchy=YIWU, clock=cl.FixedClock(MONDAY), supervision=True)
    overdue_issue(bare)
    (proposal,) = bare.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    assert bare.order_supervision(SUPERVISOR, proposal, at=NEXT_MONDAY).order_id


def test_unknown_ids_and_a_service_without_supervision_are_refused() -> None:
    loop = service()
    with pytest.raises(cl.IssueNotFoundError):
        loop.supervision_orders(issue_id="nope")
    issue = overdue_issue(loop)
    (proposal,) = loop.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    stranger = service()
    with pytest.raises(cl.IssueNotFoundError):
        stranger.order_supervision(SUPERVISOR, proposal, at=NEXT_MONDAY)
    with pytest.raises(cl.ConfigurationError, match="SupervisionProposal"):
        loop.order_supervision(SUPERVISOR, issue, at=NEXT_MONDAY)  # type: ignore[arg-type]
    plain = cl.ClosedLoop(hierarchy=YIWU, supervision=False)
    for call in (
        lambda: plain.propose_supervision([OVERDUE]),
        lambda: plain.order_supervision(SUPERVISOR, proposal),
        lambda: plain.observe_orders(),
        lambda: plain.supervision_orders(),
    ):
        with pytest.raises(cl.ConfigurationError, match="supervision=True"):
            call()
    with pytest.raises(cl.ConfigurationError):
        cl.ClosedLoop(hierarchy=YIWU, supervision="yes")  # type: ignore[arg-type]


# -- several writers, restarts --------------------------------------------------------------


def test_two_services_on_one_sqlite_file_see_each_others_orders(tmp_path: Path) -> None:
    path = tmp_path / "loop.db"
    with (
        service(cl.SQLiteEventStore(str(path))) as first,
        service(cl.SQLiteEventStore(str(path))) as second,
    ):
        issue = overdue_issue(first)
        order(first, at=NEXT_MONDAY)
        assert [o.order_id for o in second.supervision_orders()] == ["o-1"]
        assert second.propose_supervision([OVERDUE], at=NEXT_MONDAY) == []
        (resolved,) = second.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY)  # second closes it
        assert first.supervision_orders() == []
        (state,) = first.supervision_orders(open_only=False)
        assert state.close_reason is CloseReason.RESOLVED
        closed = first.store.read_stream("o-1")[-1]
        assert isinstance(closed, SupervisionOrderClosed)
        assert closed.trigger_event_id == resolved.event_id


def test_a_reopened_service_rebuilds_its_open_orders(tmp_path: Path) -> None:
    path = tmp_path / "loop.db"
    with cl.ClosedLoop.open(
        path, hierarchy=YIWU, departments=DEPARTMENTS, supervision=True
    ) as loop:
        issue = overdue_issue(loop)
        order(loop, at=NEXT_MONDAY)
        loop.register(
            LEADER, unit=VILLAGE, category="roads", difficulty="simple", title="t", at=MONDAY
        )
    with cl.ClosedLoop.open(
        path, hierarchy=YIWU, departments=DEPARTMENTS, supervision=True
    ) as loop:
        (state,) = loop.supervision_orders()
        assert (state.order_id, state.issue_id, state.is_open) == ("o-1", issue, True)
        loop.withdraw(LEADER, issue, reason="duplicate", at=NEXT_MONDAY)
        assert loop.supervision_orders() == []
        assert loop.store.stream_version("o-1") == 2


def test_an_order_settled_by_a_writer_that_does_not_close_it_closes_later() -> None:
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    order(loop, at=NEXT_MONDAY)
    unaware = service(store, supervision=False)
    (resolved,) = unaware.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY)
    assert store.stream_version("o-1") == 1
    # still open in the log: listed, but never recorded overdue
    assert [o.order_id for o in loop.supervision_orders()] == ["o-1"]
    (closed,) = loop.observe_orders(NEXT_MONDAY + timedelta(days=30))
    assert isinstance(closed, SupervisionOrderClosed)
    assert (closed.trigger_event_id, closed.occurred_at) == (resolved.event_id, NEXT_MONDAY)
    assert loop.supervision_orders() == []
    assert loop.observe_orders(NEXT_MONDAY + timedelta(days=31)) == []


def test_a_settled_order_closes_with_the_next_append_to_its_issue() -> None:
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    order(loop, at=NEXT_MONDAY)
    unaware = service(store, supervision=False)
    (resolved,) = unaware.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY)
    (evaluated,) = loop.evaluate(
        SURVEY, issue, satisfied=True, evaluator_kind="third_party", at=NEXT_MONDAY
    )
    assert set(store.appends[-1]) == {issue, "o-1"}
    closed = store.read_stream("o-1")[-1]
    assert isinstance(closed, SupervisionOrderClosed)
    assert closed.trigger_event_id == resolved.event_id != evaluated.event_id


def test_a_settled_order_does_not_block_a_new_one_and_closes_with_it() -> None:
    """Transferred away by a writer that does not close orders: the bureau's order is
    settled; the new lead may be ordered at once, and the old order closes in the
    same append as the new one."""
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    order(loop, at=NEXT_MONDAY)
    unaware = service(store, supervision=False)
    (moved,) = unaware.transfer(staff(ECONOMY), issue, to=TRANSPORT, at=NEXT_MONDAY)
    later = NEXT_MONDAY + timedelta(days=7)
    (proposal,) = loop.propose_supervision([OVERDUE], at=later)
    ordered = loop.order_supervision(SUPERVISOR, proposal, at=later)
    assert ordered.departments == (TRANSPORT,)
    assert set(store.appends[-1]) == {"o-1", ordered.order_id}
    closed = store.read_stream("o-1")[-1]
    assert isinstance(closed, SupervisionOrderClosed)
    assert closed.trigger_event_id == moved.event_id
    assert [o.order_id for o in loop.supervision_orders()] == [ordered.order_id]


def test_an_order_recorded_after_its_issue_moved_closes_on_that_move() -> None:
    """An order decided on one version of the issue but stored (with ``record``) after
    the issue moved on: the move settles it, as the pure ``close_orders`` would."""
    store = RecordingStore()
    loop = service(store)
    issue = overdue_issue(loop)
    (proposal,) = loop.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    context = SupervisionContext(
        SUPERVISOR,
        NEXT_MONDAY,
        loop.calendar,
        loop.access,
        lambda: EventId("late-1"),
        {ECONOMY: UnitId(CITY)},
    )
    (late,) = order_supervision(proposal, loop.issue(issue), context, order_id="o-late")
    (resolved,) = loop.resolve(staff(ECONOMY), issue, at=NEXT_MONDAY)
    loop.record([late])
    (closed,) = loop.observe_orders(NEXT_MONDAY + timedelta(days=30))
    assert isinstance(closed, SupervisionOrderClosed)
    assert closed.reason is CloseReason.RESOLVED
    assert closed.trigger_event_id == resolved.event_id
    assert loop.supervision_orders() == []


def test_two_writers_giving_the_same_order_at_once_store_one() -> None:
    """With the default order ids, the second writer's order is the same new stream."""
    store = RecordingStore()
    first, second = service(store), service(store)
    overdue_issue(first)
    (mine,) = first.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    (theirs,) = second.propose_supervision([OVERDUE], at=NEXT_MONDAY)
    store.before_append = lambda: second.order_supervision(SUPERVISOR, theirs, at=NEXT_MONDAY)
    with pytest.raises(cl.ConcurrencyError):
        first.order_supervision(SUPERVISOR, mine, at=NEXT_MONDAY)
    assert [o.rule for o in first.supervision_orders()] == ["overdue"]
    assert [o.rule for o in second.supervision_orders()] == ["overdue"]


def test_record_refuses_an_issues_events() -> None:
    loop = service()
    issue = overdue_issue(loop)
    before = loop.store.last_position()
    with pytest.raises(cl.ConfigurationError, match="execute"):
        loop.record(loop.history(issue)[-1:])
    assert loop.store.last_position() == before


# -- meetings and observation ---------------------------------------------------------------


def test_a_meeting_that_moves_an_issue_closes_its_order_in_the_meeting_append() -> None:
    store = RecordingStore()
    loop = service(store)
    (registered,) = loop.register(
        TOWN_LEADER,
        unit=FOTANG,
        category="enterprise_finance",
        difficulty="complex",
        title="credit cut",
        at=MONDAY,
    )
    issue = registered.issue_id
    # nobody leads it: the order is addressed to the town itself
    (proposal,) = loop.propose_supervision([RedWarningRule({issue})], at=MONDAY)
    ordered = loop.order_supervision(SUPERVISOR, proposal, order_id="o-1", at=MONDAY)
    assert (ordered.unit, ordered.departments) == (FOTANG, ())
    decision = cl.MeetingDecision(issue, cl.DecisionKind.ASSIGN, lead=ECONOMY)
    held, events = loop.hold_meeting(
        LEADER,
        host=FOTANG,
        agenda=loop.demand_list(FOTANG, flagged=[issue]),  # the meeting takes it up a level
        attendees=[ECONOMY],
        decisions=[decision],
        accept_on_site=False,
    )
    assert type(events[0]).__name__ == "IssueEscalated"
    assert set(store.appends[-1]) == {held.meeting_id, issue, "o-1"}
    (state,) = loop.supervision_orders(open_only=False)
    assert state.close_reason is CloseReason.ESCALATED
    assert store.read_stream("o-1")[-1].trigger_event_id == events[0].event_id  # type: ignore[attr-defined]


def test_observe_orders_records_an_overdue_order_once() -> None:
    loop = service()
    issue = overdue_issue(loop)
    ordered = order(loop, at=NEXT_MONDAY)
    assert loop.observe_orders(ordered.due_at) == []  # not past its deadline yet
    later = ordered.due_at + timedelta(minutes=1)
    (overdue,) = loop.observe_orders(later)
    assert isinstance(overdue, SupervisionOrderOverdue)
    assert (overdue.order_id, overdue.version, overdue.actor) == ("o-1", 2, cl.SYSTEM_ACTOR.id)
    assert loop.observe_orders(later + timedelta(days=1)) == []
    (state,) = loop.supervision_orders()
    assert state.overdue_recorded
    assert state.unmet_at(later)
    loop.resolve(staff(ECONOMY), issue, at=later)
    (state,) = loop.supervision_orders(open_only=False)
    assert (state.version, state.is_open, state.met) == (3, False, False)


def test_observe_orders_needs_the_observe_grant_and_stores_nothing_without_it() -> None:
    access = cl.AccessPolicy(
        YIWU,
        [
            *cl.AccessPolicy.standard_grants(LEADER),
            *cl.AccessPolicy.standard_grants(SUPERVISOR),
            *cl.AccessPolicy.standard_grants(staff(ECONOMY), scope_unit=CITY),
        ],
    )
    loop = service(access=access)
    overdue_issue(loop)
    ordered = order(loop, at=NEXT_MONDAY)
    before = loop.store.last_position()
    with pytest.raises(cl.PermissionDeniedError, match="standard_grants"):
        loop.observe_orders(ordered.due_at + timedelta(days=1))
    assert loop.store.last_position() == before


# -- the property: every order closes exactly when its issue moved, once --------------------

ISSUES = ("a", "b", "c")
LEADS = (ECONOMY, TRANSPORT, "330782100000/economy")
step = st.one_of(
    st.tuples(st.just("assign"), st.sampled_from(ISSUES), st.sampled_from(LEADS)),
    st.tuples(st.just("transfer"), st.sampled_from(ISSUES), st.sampled_from(LEADS)),
    st.tuples(
        st.sampled_from(
            [
                "accept",
                "return",
                "resolve",
                "suspend",
                "resume",
                "escalate",
                "withdraw",
                "evaluate",
                "reopen",
                "archive",
            ]
        ),
        st.sampled_from(ISSUES),
        st.just(""),
    ),
    st.tuples(st.just("order"), st.sampled_from(ISSUES), st.sampled_from(["red", "amber"])),
    st.tuples(st.just("observe"), st.just(""), st.just("")),
)


def _run(loop: cl.ClosedLoop, action: str, issue: str, arg: str, at: datetime) -> None:
    if action == "observe":
        loop.observe_orders(at)
        return
    lead = loop.issue(issue).lead or ECONOMY
    if action == "assign":
        loop.assign(LEADER, issue, lead=arg, at=at)
    elif action == "transfer":
        loop.transfer(LEADER, issue, to=arg, at=at)
    elif action in ("accept", "resolve"):
        getattr(loop, action)(staff(lead), issue, at=at)
    elif action == "return":
        loop.return_assignment(staff(lead), issue, reason="not ours", at=at)
    elif action == "evaluate":
        loop.evaluate(SURVEY, issue, satisfied=True, evaluator_kind="third_party", at=at)
    elif action == "withdraw":
        loop.withdraw(LEADER, issue, reason="duplicate", at=at)
    elif action == "order":
        rule = RedWarningRule(set(ISSUES), name=arg)
        proposals = [p for p in loop.propose_supervision([rule], at=at) if p.issue_id == issue]
        if proposals:
            loop.order_supervision(SUPERVISOR, proposals[0], at=at)
    else:
        getattr(loop, action)(LEADER, issue, at=at)


@given(st.lists(step, max_size=30))
def test_every_order_closes_exactly_when_its_issue_moved_and_never_twice(
    steps: list[tuple[str, str, str]],
) -> None:
    store = RecordingStore()
    loop = service(store)
    for issue in ISSUES:
        loop.register(
            LEADER,
            unit=VILLAGE,
            category="housing",
            difficulty="complex",
            title=issue,
            issue_id=issue,
            at=MONDAY,
        )
    at = MONDAY
    for action, issue, arg in steps:
        at += timedelta(days=2) if action == "observe" else timedelta(hours=7)
        before = store.last_position()
        try:
            _run(loop, action, issue, arg, at)
        except cl.ClosedLoopError:
            assert store.last_position() == before  # a refusal stores nothing
    log = [r.event for r in store.read_all()]
    append_of = {
        event_id: n
        for n, append in enumerate(store.appends)
        for ids in append.values()
        for event_id in ids
    }
    orders: dict[str, SupervisionOrderState] = {}
    closings: dict[str, SupervisionOrderClosed] = {}
    for event in log:
        if isinstance(event, SupervisionOrdered | SupervisionOrderOverdue):
            known = orders.get(event.order_id)
            assert known is None or not known.overdue_recorded  # overdue once
            orders[event.order_id] = evolve_order(known, event)
        elif isinstance(event, SupervisionOrderClosed):
            assert event.order_id not in closings  # never twice
            closings[event.order_id] = event
    issue_events = [e for e in log if isinstance(e, cl.IssueEvent)]
    for order_id, state in orders.items():
        moves = [e for e in issue_events if move_of(state, e) is not None]
        if not moves:
            assert order_id not in closings
            continue
        closed = closings[order_id]
        assert closed.trigger_event_id == moves[0].event_id
        assert closed.reason is move_of(state, moves[0])
        assert append_of[closed.event_id] == append_of[moves[0].event_id]  # one append
    assert {o.order_id for o in loop.supervision_orders()} == set(orders) - set(closings)
