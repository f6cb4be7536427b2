"""Tables: events, states, metrics and results as columns and data frames, zones kept."""

from __future__ import annotations

import json
import random
import sys
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import attrs
import pytest
from hypothesis import given, settings

import closedloop as cl
from closedloop.interop import (
    event_table,
    issue_table,
    to_arrow,
    to_columns,
    to_pandas,
    to_polars,
)
from closedloop.lifecycle import IssueAssigned, IssueEvent
from closedloop.store import MemoryEventStore
from closedloop.store.base import ExpectedVersion
from tests import logs, world


@cache
def simulated() -> cl.SimulationResult:
    """A month of a small Yiwu under downward meetings, with its events."""
    scenario = attrs.evolve(cl.yiwu_scenario(villages_per_town=4), end=date(2019, 6, 30))
    return cl.simulate(scenario, cl.DownwardMeetings(), keep_events=True)


def sample_log() -> logs.Log:
    return logs.random_log(random.Random(3), issues=12, steps=120)


def stored(events: tuple[IssueEvent, ...]) -> list[Any]:
    store = MemoryEventStore()
    for event in events:
        store.append(event.stream_id, [event], expected_version=ExpectedVersion.ANY)
    return list(store.read_all())


def test_one_row_per_event_with_the_leading_columns() -> None:
    log = sample_log()
    columns = event_table(log.events)
    assert list(columns)[:9] == [
        "position",
        "event_id",
        "event_type",
        "activity",
        "stream_id",
        "version",
        "issue_id",
        "occurred_at",
        "actor",
    ]
    assert all(len(v) == len(log.events) for v in columns.values())
    assert columns["event_id"] == [e.event_id for e in log.events]
    assert columns["event_type"] == [e.KIND for e in log.events]
    assert columns["activity"][0] == "register"
    assert columns["position"] == [None] * len(log.events)
    assert columns["issue_id"] == [e.issue_id for e in log.events]


def test_positions_come_from_a_store() -> None:
    log = sample_log()
    recorded = stored(log.events)
    columns = to_columns(recorded)
    assert columns["position"] == [r.position for r in recorded]
    assert columns["event_id"] == [r.event.event_id for r in recorded]


def test_times_keep_their_instant_and_zone() -> None:
    log = sample_log()
    columns = event_table(log.events)
    for value, event in zip(columns["occurred_at"], log.events, strict=True):
        assert value == event.occurred_at
        assert value.tzinfo is event.occurred_at.tzinfo
        assert value.utcoffset() == timedelta(hours=8)


def test_payloads_are_flattened() -> None:
    log = sample_log()
    columns = event_table(log.events)
    row = next(i for i, e in enumerate(log.events) if isinstance(e, IssueAssigned))
    event = log.events[row]
    assert isinstance(event, IssueAssigned)
    assert columns["lead"][row] == event.lead
    assert columns["co_handlers"][row] == list(event.co_handlers)
    assert columns["limit_unit"][row] == event.limit.unit.value
    assert columns["limit_amount"][row] == event.limit.amount
    assert columns["due_at"][row] == event.due_at
    assert columns["difficulty"][0] == log.events[0].difficulty.value  # type: ignore[attr-defined]


def test_records_inside_events_become_json_text() -> None:
    events = simulated().events
    assert events is not None
    columns = event_table(events)
    kinds = columns["event_type"]
    held = [i for i, k in enumerate(kinds) if k == "MeetingHeld"]
    assert held
    for i in held:
        decisions = json.loads(columns["decisions"][i])
        assert isinstance(decisions, list)
        assert isinstance(columns["agenda"][i], list)
    ordered = [i for i, k in enumerate(kinds) if k == "SupervisionOrdered"]
    for i in ordered:
        assert all({"name", "value"} <= set(f) for f in json.loads(columns["facts"][i]))


def test_issue_states_as_columns() -> None:
    log = sample_log()
    states = list(log.states.values())
    columns = to_columns(states)
    assert columns == issue_table(states)
    assert columns["issue_id"] == [s.issue_id for s in states]
    assert columns["status"] == [s.status.value for s in states]
    assert columns["registered_at"] == [s.registered_at for s in states]
    assert {"limit_unit", "limit_amount", "limit_cutoff"} <= set(columns)
    assert "limit" not in columns
    assert set(issue_table([])) == set(columns)


def test_metrics_results_and_mappings_pass_through() -> None:
    result = simulated()
    assert to_columns(result) == result.to_columns()
    assert to_columns(result.metrics) == result.metrics.to_columns()
    assert to_columns({"a": (1, 2), "b": [3, 4]}) == {"a": [1, 2], "b": [3, 4]}


def test_empty_logs_have_the_leading_columns() -> None:
    assert list(to_columns([])) == list(event_table([]))
    assert all(v == [] for v in to_columns([]).values())


@pytest.mark.parametrize(
    "bad",
    ["text", 42, {"a": [1], "b": [1, 2]}, {"a": 1}, {1: [1]}, [object()], [1, 2]],
)
def test_unusable_input_is_refused(bad: object) -> None:
    with pytest.raises(cl.ConfigurationError):
        to_columns(bad)


@settings(max_examples=30)
@given(logs.issue_logs(max_issues=10, max_steps=80))
def test_every_generated_log_makes_a_rectangular_table(log: logs.Log) -> None:
    columns = event_table(log.events)
    assert all(len(v) == len(log.events) for v in columns.values())
    assert columns["occurred_at"] == [e.occurred_at for e in log.events]
    assert issue_table(log.states.values())["version"] == [s.version for s in log.states.values()]


# -- data frames ------------------------------------------------------------------------


def test_pandas_keeps_the_calendar_zone() -> None:
    pd = pytest.importorskip("pandas")
    log = sample_log()
    frame = to_pandas(log.events)
    assert isinstance(frame, pd.DataFrame)
    assert str(frame["occurred_at"].dt.tz) == "Asia/Shanghai"
    assert str(frame["due_at"].dt.tz) == "Asia/Shanghai"
    assert [t.to_pydatetime() for t in frame["occurred_at"]] == [e.occurred_at for e in log.events]
    states = to_pandas(list(log.states.values()))
    assert str(states["registered_at"].dt.tz) == "Asia/Shanghai"


def test_pandas_falls_back_to_utc_for_mixed_zones() -> None:
    pytest.importorskip("pandas")
    at = datetime(2025, 3, 3, 9, tzinfo=world.SHANGHAI)
    frame = to_pandas({"at": [at, at.astimezone(UTC)], "n": [1, 2]})
    assert str(frame["at"].dt.tz) == "UTC"
    assert frame["at"][0].to_pydatetime() == at


def test_arrow_keeps_the_calendar_zone() -> None:
    pa = pytest.importorskip("pyarrow")
    log = sample_log()
    table = to_arrow(log.events)
    assert table.schema.field("occurred_at").type == pa.timestamp("us", tz="Asia/Shanghai")
    assert table.column("occurred_at").to_pylist() == [e.occurred_at for e in log.events]
    assert table.schema.field("co_handlers").type == pa.list_(pa.string())
    assert table.num_rows == len(log.events)


def test_arrow_types_every_column_of_a_simulated_log() -> None:
    pa = pytest.importorskip("pyarrow")
    events = simulated().events
    assert events is not None
    table = to_arrow(events)
    assert table.num_rows == len(events)
    assert table.schema.field("day").type == pa.date32()
    assert table.schema.field("decisions").type == pa.string()


def test_polars_keeps_the_calendar_zone() -> None:
    pl = pytest.importorskip("polars")
    log = sample_log()
    frame = to_polars(log.events)
    assert frame.schema["occurred_at"] == pl.Datetime("us", "Asia/Shanghai")
    assert frame["occurred_at"].to_list() == [e.occurred_at for e in log.events]
    assert frame.height == len(log.events)
    events = simulated().events
    assert events is not None
    assert to_polars(events).height == len(events)


@pytest.mark.parametrize(
    ("function", "module", "extra"),
    [
        (to_pandas, "pandas", "pandas"),
        (to_polars, "polars", "polars"),
        (to_arrow, "pyarrow", "arrow"),
    ],
)
def test_a_missing_library_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, function: Any, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(cl.MissingExtraError) as caught:
        function(sample_log().events)
    assert caught.value.extra == extra
    assert f"closedloop[{extra}]" in str(caught.value)
