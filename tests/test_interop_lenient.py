"""Following an issue's status through a log that breaks the rules: one way, everywhere.

The OCEL export (an issue's ``status`` over time) and the conformance check (which
names the status an illegal event met) follow issues with the same helper, so on a
damaged log they agree after every event.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

import closedloop as cl
from closedloop.ids import EventId
from closedloop.interop import ViolationKind, check_conformance, read_ocel_json, to_ocel_json
from closedloop.interop._common import FALLBACK, LIFECYCLE_KINDS, LenientStep, lenient_step
from closedloop.lifecycle import (
    TRANSITIONS,
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    AssignmentAccepted,
    EvaluateResolution,
    EvaluatorKind,
    IssueEvent,
    IssueResolved,
    IssueResumed,
    IssueSuspended,
    RegisterIssue,
    ResolutionEvaluated,
    ResolveIssue,
    ResumeIssue,
    Status,
    SuspendIssue,
)
from tests import logs, world

K = ViolationKind
ISSUE = "issue-0001"


def _history() -> list[IssueEvent]:
    """A legal history: registered, assigned, accepted, suspended, resumed, resolved,
    evaluated, archived; an hour between commands."""
    game = logs._Game(random.Random(0), world.START, world.id_maker())
    lead = world.DEPARTMENTS[0]
    leader, staff = world.CITY_LEADER, world.STAFF[lead]
    script: list[tuple[Any, Any]] = [
        (
            RegisterIssue(ISSUE, world.VILLAGE_A1, "housing", cl.Difficulty.COMPLEX, "道路 积水"),
            leader,
        ),
        (AssignIssue(ISSUE, lead, ()), leader),
        (AcceptAssignment(ISSUE), staff),
        (SuspendIssue(ISSUE, "waiting for a survey"), leader),
        (ResumeIssue(ISSUE), leader),
        (ResolveIssue(ISSUE, "done"), staff),
        (EvaluateResolution(ISSUE, EvaluatorKind.THIRD_PARTY, True, 95.0), world.SURVEY),
        (ArchiveIssue(ISSUE), leader),
    ]
    for command, actor in script:
        game.now += timedelta(hours=1)
        assert game.run(ISSUE, command, actor), command
    return game.events


def _damaged() -> list[Any]:
    """The history without its suspension (so the resumption is illegal in progress)
    and its resolution (so the evaluation is illegal in progress), and with an
    acceptance after the archive."""
    history = _history()
    accepted = next(e for e in history if isinstance(e, AssignmentAccepted))
    late = attrs.evolve(
        accepted,
        event_id=EventId("after-close"),
        occurred_at=history[-1].occurred_at + timedelta(hours=1),
    )
    dropped = (IssueSuspended, IssueResolved)
    return [e for e in history if not isinstance(e, dropped)] + [late]


_NAMED = re.compile(r"in status '(\w+)'|after the issue was (\w+)")


def _conformance_status(prefix: list[Any]) -> str:
    """The status the conformance check has the issue in after ``prefix``: a second
    registration appended to it is illegal, and the report names the status it met."""
    probe = attrs.evolve(
        prefix[0],
        event_id=EventId("probe"),
        occurred_at=prefix[-1].occurred_at + timedelta(minutes=1),
    )
    report = check_conformance([*prefix, probe], policy_max_reopens=None)
    (found,) = [v for v in report.violations if v.event_id == "probe"]
    match = _NAMED.search(found.explanation)
    assert match is not None, found.explanation
    return match.group(1) or match.group(2)


def test_ocel_and_conformance_agree_on_a_damaged_log() -> None:
    log = _damaged()
    times = [e.occurred_at for e in log]
    assert times == sorted(times)
    assert len(set(times)) == len(times)

    report = check_conformance(log, policy_max_reopens=None)
    illegal = [v.event_id for v in report.of_kind(K.ILLEGAL_TRANSITION)]
    resumed, evaluated = (
        next(e.event_id for e in log if isinstance(e, kind))
        for kind in (IssueResumed, ResolutionEvaluated)
    )
    assert illegal == [resumed, evaluated]
    assert [v.event_id for v in report.of_kind(K.EVENT_AFTER_CLOSE)] == ["after-close"]

    issue = read_ocel_json(to_ocel_json(log)).object(f"issue:{ISSUE}")
    exported = [issue.value("status", at=e.occurred_at) for e in log]
    checked = [_conformance_status(log[: n + 1]) for n in range(len(log))]
    assert exported == checked
    assert exported == [
        "registered",
        "assigned",
        "in_progress",
        "in_progress",  # an illegal resumption leaves the status as it was
        "resolved",  # an illegal evaluation: evaluations only ever leave it resolved
        "archived",
        "archived",  # nothing follows an archive
    ]


# -- the helper itself -------------------------------------------------------------------


def test_legal_steps_go_where_the_table_says() -> None:
    for (before, kind), after in TRANSITIONS.items():
        step = lenient_step(before, kind.KIND, Status.IN_PROGRESS)
        assert step.legal
        assert step.status is (after if isinstance(after, Status) else Status.IN_PROGRESS)


def test_suspension_is_remembered_for_the_resumption() -> None:
    for status in (Status.ASSIGNED, Status.IN_PROGRESS):
        suspended = lenient_step(status, "IssueSuspended", None)
        assert suspended == LenientStep(Status.SUSPENDED, True, status)
        extended = lenient_step(Status.SUSPENDED, "DeadlineExtended", status)
        assert extended == LenientStep(Status.SUSPENDED, True, status)
        resumed = lenient_step(Status.SUSPENDED, "IssueResumed", status)
        assert resumed == LenientStep(status, True, status)


@pytest.mark.parametrize(
    "status", [s for s in Status if s is not Status.SUSPENDED and not s.is_terminal]
)
def test_an_illegal_resumption_leaves_the_status_as_it_was(status: Status) -> None:
    for resume in (None, Status.ASSIGNED, Status.IN_PROGRESS):
        assert lenient_step(status, "IssueResumed", resume) == (status, False, resume)


@pytest.mark.parametrize("status", [s for s in Status if s.is_terminal])
def test_nothing_leaves_a_terminal_status(status: Status) -> None:
    for kind in sorted(LIFECYCLE_KINDS):
        assert lenient_step(status, kind, None) == (status, False, None)


def test_other_illegal_steps_go_to_their_only_target() -> None:
    assert lenient_step(Status.IN_PROGRESS, "ResolutionEvaluated", None) == (
        Status.RESOLVED,
        False,
        None,
    )
    assert lenient_step(None, "IssueAssigned", None) == (Status.ASSIGNED, False, None)
    assert lenient_step(Status.RESOLVED, "DeadlineMissed", None) == (Status.RESOLVED, False, None)
    assert set(FALLBACK) | {"IssueResumed", "DeadlineExtended", "DeadlineMissed"} == set(
        LIFECYCLE_KINDS
    )


@settings(max_examples=30, deadline=None)
@given(logs.issue_logs())
def test_on_legal_logs_it_follows_evolve(log: logs.Log) -> None:
    status: dict[str, Status | None] = {}
    resume: dict[str, Status | None] = {}
    for event in log.events:
        step = lenient_step(status.get(event.issue_id), event.KIND, resume.get(event.issue_id))
        assert step.legal
        status[event.issue_id], resume[event.issue_id] = step.status, step.resume
    assert status == {i: s.status for i, s in log.states.items()}
