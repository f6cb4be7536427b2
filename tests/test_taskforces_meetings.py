"""Task forces take their issues from the meeting record; an empty task force cannot close."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.ids import ActorId, EventId, TaskForceId
from closedloop.meetings import (
    DecisionKind,
    MeetingContext,
    MeetingDecision,
    MeetingHeld,
    MeetingState,
    cancel_meeting,
    evolve_meeting,
    hold_meeting,
    schedule_meeting,
)
from closedloop.taskforces import (
    CloseTaskForce,
    CreateTaskForce,
    IssueLinked,
    LinkIssue,
    RecordPlan,
    ReferralProblemKind,
    ResolvePlan,
    TaskForceClosed,
    TaskForceCommand,
    TaskForceContext,
    TaskForceState,
    decide_task_force,
    evolve_task_force,
    links_from_meetings,
    replay_task_force,
)
from tests import world

T0 = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)


def tf_context(actor: cl.Actor = world.CITY_LEADER, when: datetime = T0) -> TaskForceContext:
    return TaskForceContext(actor, when, world.ACCESS, world.id_maker("tf"))


def run(
    state: TaskForceState | None, command: TaskForceCommand, actor: cl.Actor = world.CITY_LEADER
) -> TaskForceState:
    for event in decide_task_force(command, state, tf_context(actor)):
        state = evolve_task_force(state, event)
    assert state is not None
    return state


def open_task_force(task_force_id: str = "tf-land", issues: Sequence[str] = ()) -> TaskForceState:
    return run(
        None,
        CreateTaskForce(
            task_force_id,
            "工业用地办证工作专班",
            world.CITY,
            world.CITY_LEADER.id,
            "land",
            (),
            issues,
        ),
    )


def closed_task_force(task_force_id: str = "tf-done") -> TaskForceState:
    state = open_task_force(task_force_id, ["old"])
    state = run(state, RecordPlan(task_force_id, "old", world.VILLAGE_A1, "一企一策"))
    state = run(state, ResolvePlan(task_force_id, "old"))
    return run(state, CloseTaskForce(task_force_id, "done"))


def held(
    meeting_id: str,
    decisions: Iterable[MeetingDecision],
    *,
    host: str = world.TOWN_A,
    at: datetime = T0,
) -> MeetingHeld:
    context = MeetingContext(
        world.CITY_LEADER, at, world.HIERARCHY, world.id_maker(meeting_id), world.ACCESS
    )
    return hold_meeting(
        meeting_id,
        None,
        attendees=world.DEPARTMENTS,
        context=context,
        decisions=decisions,
        host_unit=host,
    ).event


def refer(issue: str, task_force: str | None, note: str = "") -> MeetingDecision:
    return MeetingDecision(issue, DecisionKind.TASK_FORCE, note=note, task_force=task_force)


def apply(
    states: dict[TaskForceId, TaskForceState], links: Iterable[LinkIssue]
) -> dict[TaskForceId, TaskForceState]:
    out = dict(states)
    for link in links:
        out[link.task_force_id] = run(out[link.task_force_id], link)
    return out


def test_meeting_referrals_become_links_and_bad_ones_are_reported() -> None:
    land = open_task_force("tf-land", ["b"])
    done = closed_task_force("tf-done")
    first = held(
        "m-1",
        [
            refer("a", "tf-land", "93 firms, one certificate problem"),
            refer("b", "tf-land"),  # already linked at creation
            refer("c", "tf-nowhere"),
            refer("d", None),
            refer("e", "tf-done"),
            refer("old", "tf-done"),  # already linked to the closed one: nothing to do
            MeetingDecision.assign("f", "city-economy"),
            MeetingDecision("g", DecisionKind.DEFER),
        ],
    )
    second = held("m-2", [refer("a", "tf-land"), refer("h", "tf-land")], host=world.TOWN_B, at=T0)
    result = links_from_meetings([second, first], [land, done])

    assert [(c.task_force_id, c.issue_id) for c in result.links] == [
        ("tf-land", "a"),
        ("tf-land", "h"),
    ]
    assert result.links[0].note == (
        "referred by meeting m-1 on 2025-03-03: 93 firms, one certificate problem"
    )
    assert result.links[1].note == "referred by meeting m-2 on 2025-03-03"
    assert [(p.meeting_id, p.issue_id, p.task_force_id, p.kind) for p in result.problems] == [
        ("m-1", "c", "tf-nowhere", ReferralProblemKind.UNKNOWN_TASK_FORCE),
        ("m-1", "d", None, ReferralProblemKind.NO_TASK_FORCE_NAMED),
        ("m-1", "e", "tf-done", ReferralProblemKind.CLOSED_TASK_FORCE),
    ]
    unknown, unnamed, closed = result.problems
    assert "'tf-nowhere', which is unknown" in unknown.detail
    assert "CreateTaskForce" in unknown.detail
    assert "without naming it" in unnamed.detail
    assert "'tf-done', which is closed" in closed.detail

    # the links go through the decider: real IssueLinked events, carrying the note
    (event,) = decide_task_force(result.links[0], land, tf_context())
    assert isinstance(event, IssueLinked)
    assert event.note.startswith("referred by meeting m-1")

    states = apply({land.task_force_id: land, done.task_force_id: done}, result.links)
    assert states[TaskForceId("tf-land")].issue_ids == ("b", "a", "h")
    again = links_from_meetings([first, second], states.values())
    assert again.links == ()
    assert again.problems == result.problems  # the record still says so


def test_meeting_states_and_held_events_read_alike() -> None:
    land = open_task_force()
    event = held("m-1", [refer("a", "tf-land"), refer("b", "tf-land")])
    state = evolve_meeting(None, event)
    assert isinstance(state, MeetingState)
    from_events = links_from_meetings([event], [land])
    assert links_from_meetings([state], [land]) == from_events
    # the same meeting given twice (state and event) links once
    assert links_from_meetings([state, event], [land]) == from_events

    # a meeting not held decided nothing
    context = MeetingContext(world.CITY_LEADER, T0, world.HIERARCHY, world.id_maker("s"))
    scheduled = evolve_meeting(
        None,
        schedule_meeting(
            "m-2", None, host_unit=world.TOWN_A, day=T0.date() + timedelta(days=7), context=context
        ),
    )
    cancelled = evolve_meeting(scheduled, cancel_meeting(scheduled, context=context))
    assert links_from_meetings([scheduled, cancelled], [land]) == ((), ())


def test_bad_arguments_are_refused() -> None:
    land = open_task_force()
    with pytest.raises(cl.CommandError, match="meeting states or MeetingHeld"):
        links_from_meetings(["m-1"], [land])  # type: ignore[list-item]
    later = run(land, LinkIssue("tf-land", "x"))
    with pytest.raises(cl.CommandError, match=r"two different states.*'tf-land'"):
        links_from_meetings([], [land, later])
    assert links_from_meetings([], [land, land]) == ((), ())


def test_links_from_meetings_obey_the_access_rules() -> None:
    land = open_task_force()
    (link,) = links_from_meetings([held("m-1", [refer("a", "tf-land")])], [land]).links
    with pytest.raises(cl.PermissionDeniedError):  # a town cannot act for the city's task force
        run(land, link, actor=world.TOWN_A_LEADER)
    with pytest.raises(cl.PermissionDeniedError):
        run(land, link, actor=world.CITIZEN)


OPEN = ("tf-1", "tf-2")
NAMES = (*OPEN, "tf-closed", "tf-unknown", None)


@given(
    meetings=st.lists(
        st.lists(
            st.tuples(st.sampled_from("abcdef"), st.sampled_from(NAMES)),
            max_size=6,
            unique_by=lambda pair: pair[0],
        ),
        max_size=4,
    ),
    already=st.sets(st.tuples(st.sampled_from(OPEN), st.sampled_from("abcdef"))),
)
def test_linking_from_meeting_records_twice_adds_nothing(
    meetings: list[list[tuple[str, str | None]]], already: set[tuple[str, str]]
) -> None:
    states = {
        TaskForceId(tf): open_task_force(tf, sorted(i for t, i in already if t == tf))
        for tf in OPEN
    }
    states[TaskForceId("tf-closed")] = closed_task_force("tf-closed")
    records = [
        held(f"m-{n}", [refer(i, tf) for i, tf in decisions], at=T0 + timedelta(hours=n))
        for n, decisions in enumerate(meetings)
    ]
    first = links_from_meetings(records, states.values())
    wanted = {(tf, i) for m in meetings for i, tf in m if tf in OPEN} - already
    assert len(first.links) == len(wanted)
    assert {(c.task_force_id, c.issue_id) for c in first.links} == wanted
    bad = [(i, tf) for m in meetings for i, tf in m if tf not in OPEN and tf != "tf-closed"]
    assert len(first.problems) == len(bad) + sum(
        1 for m in meetings for i, tf in m if tf == "tf-closed"
    )

    after = apply(states, first.links)
    second = links_from_meetings(reversed(records), after.values())
    assert second.links == ()
    assert second.problems == first.problems
    for tf, issue in wanted:
        assert issue in after[TaskForceId(tf)].issue_ids


def test_an_empty_task_force_cannot_close() -> None:
    empty = open_task_force("tf-empty")
    assert not empty.can_close
    with pytest.raises(
        cl.CommandError, match=r"task force 'tf-empty': cannot CloseTaskForce: it has no linked"
    ) as refused:
        run(empty, CloseTaskForce("tf-empty"))
    assert "LinkIssue" in str(refused.value)
    state = run(empty, LinkIssue("tf-empty", "a"))
    assert not state.can_close  # a linked issue without a plan
    state = run(state, RecordPlan("tf-empty", "a", world.VILLAGE_A1, "一企一策"))
    state = run(state, ResolvePlan("tf-empty", "a"))
    assert state.can_close
    assert not run(state, CloseTaskForce("tf-empty")).is_open


def test_a_stored_close_of_an_empty_task_force_still_replays() -> None:
    """Older versions let an empty task force close; their streams must fold."""
    create = CreateTaskForce("tf-old", "专班", world.CITY, world.CITY_LEADER.id)
    (created,) = decide_task_force(create, None, tf_context())
    stored_close = TaskForceClosed(
        event_id=EventId("old-close"),
        task_force_id=TaskForceId("tf-old"),
        version=2,
        occurred_at=T0,
        actor=ActorId("city-leader"),
    )
    state = replay_task_force([created, stored_close])
    assert not state.is_open
    assert state.issue_ids == ()
