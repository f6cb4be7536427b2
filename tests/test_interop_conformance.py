"""The built-in conformance check: compliant logs pass, injected departures are found."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

import closedloop as cl
from closedloop.ids import EventId
from closedloop.interop import ConformanceReport, ViolationKind, check_conformance
from closedloop.lifecycle import (
    AssignmentAccepted,
    IssueArchived,
    IssueAssigned,
    IssueEscalated,
    IssueReopened,
    IssueResolved,
    ResolutionEvaluated,
)
from tests import logs

K = ViolationKind


@cache
def scenario() -> cl.Scenario:
    return attrs.evolve(cl.yiwu_scenario(villages_per_town=4), end=date(2019, 7, 31))


@cache
def compliant() -> tuple[Any, ...]:
    """Two months of a small Yiwu in which every late issue is supervised."""
    knobs = cl.Knobs(supervision=1.0)
    events = cl.simulate(scenario(), cl.Baseline(knobs=knobs), keep_events=True).events
    assert events is not None
    return events


def check(events: Any, **options: Any) -> ConformanceReport:
    s = scenario()
    options.setdefault("policy_max_reopens", None)
    return check_conformance(events, hierarchy=s.hierarchy, calendar=s.calendar, **options)


def archived_issues() -> list[str]:
    return [e.issue_id for e in compliant() if isinstance(e, IssueArchived)]


def test_a_compliant_simulated_log_has_no_violations() -> None:
    report = check(compliant())
    assert report.ok, report.summary()
    assert report.issues == len({e.issue_id for e in compliant() if isinstance(e, cl.IssueEvent)})
    assert report.events == sum(isinstance(e, cl.IssueEvent) for e in compliant())
    assert report.conforming == report.issues
    assert set(report.counts.values()) == {0}


def test_dropping_evaluations_before_archives_is_found() -> None:
    chosen = set(archived_issues()[:5])
    log = [
        e for e in compliant() if not (isinstance(e, ResolutionEvaluated) and e.issue_id in chosen)
    ]
    report = check(log)
    assert report.issue_ids(K.ARCHIVED_WITHOUT_EVALUATION) == tuple(sorted(chosen))
    assert report.issue_ids() == tuple(sorted(chosen))
    assert len(report.of_kind("archived_without_evaluation")) == len(chosen)


def test_archiving_after_an_unsatisfied_evaluation_is_found() -> None:
    chosen = set(archived_issues()[:3])
    last: dict[str, int] = {}
    events = list(compliant())
    for index, event in enumerate(events):
        if isinstance(event, ResolutionEvaluated) and event.issue_id in chosen:
            last[event.issue_id] = index
    for index in last.values():
        events[index] = attrs.evolve(events[index], satisfied=False)
    report = check(events)
    assert report.issue_ids(K.ARCHIVED_UNSATISFIED) == tuple(sorted(chosen))
    assert report.issue_ids() == tuple(sorted(chosen))


def test_events_after_an_archive_are_found() -> None:
    issue = archived_issues()[0]
    accepted = next(
        e for e in compliant() if isinstance(e, AssignmentAccepted) and e.issue_id == issue
    )
    late = attrs.evolve(
        accepted,
        event_id=EventId("injected"),
        occurred_at=compliant()[-1].occurred_at + timedelta(days=1),
    )
    report = check([*compliant(), late, attrs.evolve(late, event_id=EventId("injected-2"))])
    found = report.of_kind(K.EVENT_AFTER_CLOSE)
    assert [v.issue_id for v in found] == [issue, issue]
    assert [v.event_id for v in found] == ["injected", "injected-2"]
    assert "archived" in found[0].explanation


def test_escalations_that_skip_a_level_are_found() -> None:
    s = scenario()
    events = list(compliant())
    index, event = next(
        (i, e)
        for i, e in enumerate(events)
        if isinstance(e, IssueEscalated) and s.hierarchy.unit(e.from_unit).level == "village"
    )
    assert isinstance(event, IssueEscalated)
    events[index] = attrs.evolve(event, to_unit=s.hierarchy.root.id)
    report = check(events)
    assert report.issue_ids(K.ESCALATION_SKIPPED_LEVEL) == (event.issue_id,)
    assert "one level up" in report.of_kind(K.ESCALATION_SKIPPED_LEVEL)[0].explanation


def test_deadlines_before_their_assignment_are_found() -> None:
    events = list(compliant())
    index, event = next((i, e) for i, e in enumerate(events) if isinstance(e, IssueAssigned))
    assert isinstance(event, IssueAssigned)
    events[index] = attrs.evolve(event, due_at=event.occurred_at - timedelta(hours=1))
    report = check(events, supervision_grace_days=10_000)
    assert report.issue_ids() == (event.issue_id,)
    assert report.issue_ids(K.DEADLINE_BEFORE_ASSIGNMENT) == (event.issue_id,)


def test_late_resolutions_need_a_supervision_order() -> None:
    supervised = {e.issue_id for e in compliant() if isinstance(e, cl.SupervisionOrdered)}
    assert supervised
    log = [e for e in compliant() if not isinstance(e, cl.SupervisionOrdered)]
    report = check(log)
    late = report.issue_ids(K.LATE_WITHOUT_SUPERVISION)
    assert late
    assert set(late) <= supervised
    assert report.issue_ids() == late
    # with a grace long enough, nothing is late
    assert check(log, supervision_grace_days=10_000).ok


def test_reopening_beyond_the_policy_is_found() -> None:
    reopened = sorted({e.issue_id for e in compliant() if isinstance(e, IssueReopened)})
    assert reopened
    report = check(compliant(), policy_max_reopens=0)
    assert report.issue_ids(K.REOPENED_TOO_OFTEN) == tuple(reopened)
    assert report.counts[K.REOPENED_TOO_OFTEN] == sum(
        isinstance(e, IssueReopened) for e in compliant()
    )


def test_a_missing_resolution_is_an_illegal_transition_reported_once() -> None:
    issue = archived_issues()[0]
    log = [e for e in compliant() if not (isinstance(e, IssueResolved) and e.issue_id == issue)]
    report = check(log)
    assert report.issue_ids() == (issue,)
    first = report.of_kind(K.ILLEGAL_TRANSITION)[0]
    assert (
        "in status 'in_progress'" in first.explanation
        or "in status 'assigned'" in first.explanation
    )


def test_an_event_before_registration_is_illegal() -> None:
    issue = archived_issues()[0]
    history = [e for e in compliant() if isinstance(e, cl.IssueEvent) and e.issue_id == issue]
    report = check(history[1:])
    assert report.issue_ids() == (issue,)
    (violation,) = report.violations
    assert violation.kind is K.ILLEGAL_TRANSITION
    assert violation.event_id == history[1].event_id
    assert "before the issue was registered" in violation.explanation


def test_reports_are_sorted_and_deterministic() -> None:
    dropped = (ResolutionEvaluated, cl.SupervisionOrdered)
    log = [e for e in compliant() if not isinstance(e, dropped)]
    first = check(log, policy_max_reopens=0)
    again = check(list(log), policy_max_reopens=0)
    assert first == again
    order = {kind: i for i, kind in enumerate(ViolationKind)}
    keys = [(order[v.kind], v.issue_id) for v in first.violations]
    assert keys == sorted(keys)
    assert len(first.to_columns()["kind"]) == len(first.violations)
    summary = first.summary(examples=2)
    assert "archived_without_evaluation" in summary
    assert summary.count("\n") <= 1 + 3 * len(ViolationKind)


@settings(max_examples=40)
@given(logs.issue_logs())
def test_logs_the_lifecycle_wrote_keep_every_structural_rule(log: logs.Log) -> None:
    from tests import world

    report = check_conformance(
        log.events,
        hierarchy=world.HIERARCHY,
        calendar=world.CALENDAR,
        policy_max_reopens=None,
        supervision_grace_days=10_000,
    )
    assert report.ok, report.summary()
    assert report.issues == len(log.states)


@pytest.mark.parametrize(
    "options",
    [
        {"policy_max_reopens": -1},
        {"policy_max_reopens": True},
        {"supervision_grace_days": -1},
        {"supervision_grace_days": 1.5},
        {"calendar": "china"},
    ],
)
def test_unusable_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(cl.ConfigurationError):
        check_conformance([], **options)


def test_other_events_are_ignored_and_bad_items_refused() -> None:
    meetings = [e for e in compliant() if not isinstance(e, cl.IssueEvent)]
    report = check_conformance(meetings)
    assert report.issues == 0
    assert report.ok
    with pytest.raises(cl.ConfigurationError):
        check_conformance([object()])
