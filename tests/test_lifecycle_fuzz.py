"""Fuzzed command arguments reach only documented errors, and store nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    EscalateIssue,
    EvaluateResolution,
    ExtendDeadline,
    ObserveDeadline,
    RegisterIssue,
    ReopenIssue,
    ResolveIssue,
    ResumeIssue,
    ReturnAssignment,
    SuspendIssue,
    TransferIssue,
    WithdrawIssue,
    decide,
    evolve,
)
from tests import world

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", world.CITY, world.VILLAGE_A1, "city-economy", "simple", "merged"]),
    st.lists(st.text(max_size=5), max_size=3),
    st.binary(max_size=4),
)

BUILDERS: list[tuple[Any, int]] = [
    (RegisterIssue, 6),
    (EscalateIssue, 2),
    (AssignIssue, 2),
    (AcceptAssignment, 0),
    (ReturnAssignment, 1),
    (TransferIssue, 3),
    (SuspendIssue, 1),
    (ExtendDeadline, 2),
    (ResolveIssue, 1),
    (EvaluateResolution, 4),
    (ReopenIssue, 2),
    (ArchiveIssue, 0),
    (WithdrawIssue, 3),
    (ResumeIssue, 0),
    (ObserveDeadline, 0),
]


def _states() -> list[cl.IssueState]:
    """One issue's state after each step of a loop: every status a command may meet."""
    new_id = world.id_maker()
    staff = world.STAFF["city-economy"]
    state = None
    states = []
    for command, actor in (
        (RegisterIssue("q", world.VILLAGE_A1, "housing", "complex", "t"), world.CITIZEN),
        (AssignIssue("q", "city-economy"), world.CITY_LEADER),
        (AcceptAssignment("q"), staff),
        (SuspendIssue("q", "waiting"), world.CITY_LEADER),
        (ResumeIssue("q"), world.CITY_LEADER),
        (ResolveIssue("q"), staff),
        (EvaluateResolution("q", None, True), world.CITIZEN),
        (ArchiveIssue("q"), world.CITY_LEADER),
    ):
        for event in decide(command, state, world.context(actor, world.START, new_id)):
            state = evolve(state, event)
        assert state is not None
        states.append(state)
    return states


STATES = _states()


@given(
    which=st.integers(0, len(BUILDERS) - 1),
    issue_id=st.one_of(st.just("q"), junk),
    args=st.lists(junk, min_size=6, max_size=6),
    actor=st.sampled_from(world.ACTORS),
    state=st.sampled_from(STATES),
    later=st.sampled_from([timedelta(hours=1), timedelta(days=400), timedelta(days=5000)]),
)
def test_any_arguments_give_events_or_a_closedloop_error(
    which: int,
    issue_id: object,
    args: list[object],
    actor: cl.Actor,
    state: cl.IssueState,
    later: timedelta,
) -> None:
    """Whatever the status the issue is in, and however far ahead (past the calendar)."""
    build, arity = BUILDERS[which]
    try:
        command = build(issue_id, *args[:arity])
    except cl.ClosedLoopError:
        return
    current = None if build is RegisterIssue else state
    context = world.context(actor, world.START + later)
    try:
        events = decide(command, current, context)
    except cl.ClosedLoopError:
        return
    for event in events:
        current = evolve(current, event)
