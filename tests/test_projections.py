"""Read models: a projection rebuilt from the log equals the one kept up to date."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import closedloop as cl
from closedloop.store.projections import IssueProjection
from tests import world
from tests.logs import Log, issue_logs


def _append_all(store: cl.EventStore, log: Log) -> None:
    streams: dict[str, list[cl.IssueEvent]] = {}
    for event in log.events:
        streams.setdefault(event.issue_id, []).append(event)
    store.append_many([(s, events, 0) for s, events in streams.items()])


@given(log=issue_logs(max_issues=12, max_steps=80))
def test_a_rebuild_equals_the_incremental_projection(log: Log) -> None:
    incremental = IssueProjection()
    for event in log.events:
        incremental.apply(event)
    store = cl.MemoryEventStore()
    _append_all(store, log)
    rebuilt = IssueProjection.rebuild(store.read_all())
    assert rebuilt == incremental
    assert {s.issue_id: s for s in rebuilt} == log.states
    assert rebuilt.position == store.last_position()


@settings(max_examples=20)
@given(log=issue_logs(max_issues=8, max_steps=50), hours=st.integers(0, 24 * 40))
def test_queries_on_a_rebuild_from_sqlite_match(
    tmp_path_factory: pytest.TempPathFactory, log: Log, hours: int
) -> None:
    path = tmp_path_factory.mktemp("projection") / "log.db"
    with cl.SQLiteEventStore(str(path), synchronous="OFF") as store:
        _append_all(store, log)
        rebuilt = IssueProjection.rebuild(store.read_all())
    incremental = IssueProjection()
    for event in log.events:
        incremental.apply(event)
    at = world.START + timedelta(hours=hours)
    assert rebuilt.backlog() == incremental.backlog()
    assert rebuilt.backlog(by="department") == incremental.backlog(by="department")
    assert [s.issue_id for s in rebuilt.open_issues()] == [
        s.issue_id for s in incremental.open_issues()
    ]
    later = max([at, *(e.occurred_at for e in log.events)])
    assert [o.state.issue_id for o in rebuilt.overdue(later, world.CALENDAR)] == [
        o.state.issue_id for o in incremental.overdue(later, world.CALENDAR)
    ]
