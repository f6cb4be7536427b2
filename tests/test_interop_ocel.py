"""OCEL 2.0: JSON and SQLite exports read back to the same log, which matches the events."""

from __future__ import annotations

import io
import json
import random
import sqlite3
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings

import closedloop as cl
from closedloop.interop import (
    ACTIVITIES,
    OcelLog,
    closedloop_id,
    read_ocel_json,
    read_ocel_sqlite,
    to_ocel_json,
    write_ocel_json,
    write_ocel_sqlite,
)
from tests import logs, world


@cache
def scenario() -> cl.Scenario:
    return attrs.evolve(cl.yiwu_scenario(villages_per_town=4), end=date(2019, 6, 30))


@cache
def simulated_events() -> tuple[Any, ...]:
    events = cl.simulate(scenario(), cl.DownwardMeetings(), keep_events=True).events
    assert events is not None
    return events


@cache
def exported() -> dict[str, Any]:
    s = scenario()
    return to_ocel_json(simulated_events(), hierarchy=s.hierarchy, departments=s.departments)


def test_every_event_is_exported_with_its_activity_and_time() -> None:
    events = simulated_events()
    log = read_ocel_json(exported())
    assert [e.id for e in log.events] == [e.event_id for e in events]
    for read, event in zip(log.events, events, strict=True):
        assert read.type == ACTIVITIES[event.KIND]
        assert read.time == event.occurred_at
        assert read.time.utcoffset() == event.occurred_at.utcoffset()


def test_issue_events_relate_to_their_issue_and_actor() -> None:
    events = simulated_events()
    log = read_ocel_json(exported())
    for read, event in zip(log.events, events, strict=True):
        related = dict(read.relationships)
        issue = getattr(event, "issue_id", None)
        if isinstance(issue, str):
            assert related[f"issue:{issue}"] == "issue"
        actor = f"actor:{event.actor}"
        assert actor in related
        if event.KIND == "ResolutionEvaluated":
            assert related[actor] == "evaluator"
        if event.KIND == "IssueAssigned":
            assert related[f"department:{event.lead}"] == "lead"
            assert "handled-at" in related.values()
        if event.KIND == "MeetingHeld":
            assert related[f"meeting:{event.meeting_id}"] == "meeting"
            assert related[f"unit:{event.host_unit}"] == "host"
            assert related[f"unit:{event.convener_unit}"] == "convener"
            assert {f"issue:{i}" for i in event.agenda} <= set(related)
        # one relationship per object and event
        assert len(related) == len(read.relationships)


def test_objects_and_their_links() -> None:
    s = scenario()
    log = read_ocel_json(exported())
    types = Counter(o.type for o in log.objects)
    assert {"issue", "unit", "department", "actor", "meeting"} <= set(types)
    assert len({o.id for o in log.objects}) == len(log.objects)
    for issue in log.objects_of("issue"):
        qualifiers = [q for _, q in issue.relationships]
        assert qualifiers.count("raised-at") == 1
        assert issue.value("category")
        assert issue.value("status") in {st.value for st in cl.Status}
    for unit in log.objects_of("unit"):
        raw = closedloop_id(unit.id)
        parent = s.hierarchy.parent(raw)
        links = dict(unit.relationships)
        if parent is None:
            assert links == {}
        else:
            assert links == {f"unit:{parent.id}": "part-of"}
        assert unit.value("name") == s.hierarchy.unit(raw).name
    registered = 0
    for department in log.objects_of("department"):
        raw = closedloop_id(department.id)
        if raw in s.departments:  # village committees are not in the registry
            registered += 1
            d = s.departments.get(raw)
            assert dict(department.relationships) == {f"unit:{d.unit}": "belongs-to"}
            assert department.value("function") == d.function
        else:
            assert department.relationships == ()
    assert registered
    ids = {o.id for o in log.objects}
    for obj in log.objects:
        assert all(target in ids for target, _ in obj.relationships)
    for event in log.events:
        assert all(target in ids for target, _ in event.relationships)


def test_issue_status_follows_the_lifecycle() -> None:
    events = simulated_events()
    final: dict[str, cl.IssueState] = {}
    for event in events:
        if isinstance(event, cl.IssueEvent):
            final[event.issue_id] = cl.evolve(final.get(event.issue_id), event)
    log = read_ocel_json(exported())
    for issue_id, state in final.items():
        assert log.object(f"issue:{issue_id}").value("status") == state.status.value


def test_json_and_sqlite_read_back_the_same_log(tmp_path: Path) -> None:
    s = scenario()
    write_ocel_json(
        tmp_path / "log.json", simulated_events(), hierarchy=s.hierarchy, departments=s.departments
    )
    write_ocel_sqlite(
        tmp_path / "log.sqlite",
        simulated_events(),
        hierarchy=s.hierarchy,
        departments=s.departments,
    )
    from_json = read_ocel_json(tmp_path / "log.json")
    from_sqlite = read_ocel_sqlite(tmp_path / "log.sqlite")
    assert from_json == from_sqlite
    assert from_json == read_ocel_json(exported())


def test_sqlite_has_the_standard_layout(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    write_ocel_sqlite(path, simulated_events())
    write_ocel_sqlite(path, simulated_events())  # an existing file is replaced
    db = sqlite3.connect(path)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {
            "event",
            "object",
            "event_object",
            "object_object",
            "event_map_type",
            "object_map_type",
            "event_Register",
            "event_Assign",
            "event_HoldMeeting",
            "object_Issue",
            "object_Unit",
        } <= tables
        (events,) = db.execute("SELECT count(*) FROM event").fetchone()
        assert events == len(simulated_events())
        maps = dict(db.execute("SELECT ocel_type, ocel_type_map FROM event_map_type"))
        assert maps["miss deadline"] == "MissDeadline"
        columns = [row[1] for row in db.execute('PRAGMA table_info("object_Issue")')]
        assert columns[:3] == ["ocel_id", "ocel_time", "ocel_changed_field"]
        changed = {row[0] for row in db.execute("SELECT ocel_changed_field FROM object_Issue")}
        assert changed == {None, "status"}
        orphans = db.execute(
            "SELECT count(*) FROM event_object WHERE ocel_object_id NOT IN "
            "(SELECT ocel_id FROM object)"
        ).fetchone()
        assert orphans == (0,)
    finally:
        db.close()


def test_sqlite_has_the_standard_keys(tmp_path: Path) -> None:
    """The OCEL 2.0 relational keys, read with PRAGMAs, and rows that satisfy them."""
    s = scenario()
    path = tmp_path / "log.sqlite"
    write_ocel_sqlite(path, simulated_events(), hierarchy=s.hierarchy, departments=s.departments)
    db = sqlite3.connect(path)
    try:

        def primary_key(table: str) -> list[str]:
            info = db.execute(f'PRAGMA table_info("{table}")').fetchall()
            return [row[1] for row in sorted(info, key=lambda row: row[5]) if row[5] > 0]

        def foreign_keys(table: str) -> set[tuple[str, str, str]]:
            # (referenced table, from column, to column)
            rows = db.execute(f'PRAGMA foreign_key_list("{table}")').fetchall()
            return {(row[2], row[3], row[4]) for row in rows}

        for kind in ("event", "object"):
            assert primary_key(f"{kind}_map_type") == ["ocel_type"]
            assert primary_key(kind) == ["ocel_id"]
            assert foreign_keys(kind) == {(f"{kind}_map_type", "ocel_type", "ocel_type")}
        assert primary_key("event_object") == ["ocel_event_id", "ocel_object_id", "ocel_qualifier"]
        assert foreign_keys("event_object") == {
            ("event", "ocel_event_id", "ocel_id"),
            ("object", "ocel_object_id", "ocel_id"),
        }
        assert primary_key("object_object") == [
            "ocel_source_id",
            "ocel_target_id",
            "ocel_qualifier",
        ]
        assert foreign_keys("object_object") == {
            ("object", "ocel_source_id", "ocel_id"),
            ("object", "ocel_target_id", "ocel_id"),
        }
        event_tables = [
            f"event_{m}" for (m,) in db.execute("SELECT ocel_type_map FROM event_map_type")
        ]
        object_tables = [
            f"object_{m}" for (m,) in db.execute("SELECT ocel_type_map FROM object_map_type")
        ]
        assert "event_HoldMeeting" in event_tables
        assert "object_Issue" in object_tables
        for table in event_tables:
            assert primary_key(table) == ["ocel_id"], table
            assert foreign_keys(table) == {("event", "ocel_id", "ocel_id")}, table
        for table in object_tables:
            assert primary_key(table) == [], table  # one row per change of an object
            assert foreign_keys(table) == {("object", "ocel_id", "ocel_id")}, table
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        db.close()
    assert read_ocel_sqlite(path) == read_ocel_json(exported())


def test_positions_from_a_store_are_attributes() -> None:
    log = logs.random_log(random.Random(5), issues=5, steps=40)
    recorded = [(i + 1, e) for i, e in enumerate(log.events)]
    read = read_ocel_json(to_ocel_json(recorded))
    assert [e.attributes["position"] for e in read.events] == list(range(1, len(log.events) + 1))


def test_writing_to_open_files() -> None:
    log = logs.random_log(random.Random(1), issues=3, steps=20)
    text = io.StringIO()
    write_ocel_json(text, log.events, indent=2)
    binary = io.BytesIO()
    write_ocel_json(binary, log.events)
    assert json.loads(text.getvalue()) == json.loads(binary.getvalue().decode("utf-8"))
    text.seek(0)
    assert len(read_ocel_json(text).events) == len(log.events)


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(logs.issue_logs(max_issues=8, max_steps=60))
def test_generated_logs_round_trip_through_both_formats(tmp_path: Path, log: logs.Log) -> None:
    path = tmp_path / "log.sqlite"
    document = to_ocel_json(log.events, hierarchy=world.HIERARCHY)
    from_json = read_ocel_json(json.loads(json.dumps(document)))
    write_ocel_sqlite(path, log.events, hierarchy=world.HIERARCHY)
    assert read_ocel_sqlite(path) == from_json
    assert [e.id for e in from_json.events] == [e.event_id for e in log.events]
    assert [e.time for e in from_json.events] == [e.occurred_at for e in log.events]
    for issue_id, state in log.states.items():
        assert from_json.object(f"issue:{issue_id}").value("status") == state.status.value


def test_repeated_event_ids_are_refused() -> None:
    log = logs.random_log(random.Random(2), issues=2, steps=10)
    with pytest.raises(cl.ConfigurationError, match="repeated"):
        to_ocel_json([*log.events, log.events[0]])


def _valid() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        json.dumps(to_ocel_json(logs.random_log(random.Random(4), issues=2, steps=8).events))
    )
    return document


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(events=7),
        lambda d: d["events"][0].update(type="no such type"),
        lambda d: d["events"][0].update(time="yesterday"),
        lambda d: d["events"][0].update(time="2025-03-03T09:00:00"),
        lambda d: d["events"][0]["attributes"].append({"name": "undeclared", "value": 1}),
        lambda d: d["events"][0]["relationships"].append({"objectId": 3, "qualifier": "x"}),
        lambda d: d["objects"][0].update(type="nothing"),
        lambda d: d["eventTypes"][0]["attributes"].append({"name": "x", "type": "blob"}),
        lambda d: d["events"][1]["attributes"][0].update(value={"nested": True}),
    ],
)
def test_malformed_documents_raise_decode_errors(damage: Any) -> None:
    document = _valid()
    damage(document)
    with pytest.raises(cl.DecodeError):
        read_ocel_json(document)


def test_unreadable_files_raise_decode_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[" * 100_000, encoding="utf-8")
    with pytest.raises(cl.DecodeError):
        read_ocel_json(bad)
    with pytest.raises(cl.DecodeError):
        read_ocel_sqlite(tmp_path / "missing.sqlite")
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()
    with pytest.raises(cl.DecodeError):
        read_ocel_sqlite(empty)


def test_the_log_value_answers_lookups() -> None:
    log: OcelLog = read_ocel_json(exported())
    with pytest.raises(cl.ConfigurationError):
        log.object("issue:nothing")
    assert closedloop_id("department:330782/economy") == "330782/economy"
    assert closedloop_id("plain") == "plain"


def test_an_issue_flagged_red_at_a_meeting_relates_as_red_warning() -> None:
    events = list(simulated_events())
    index, held = next((i, e) for i, e in enumerate(events) if e.KIND == "MeetingHeld")
    flagged = held.decisions[0]
    events[index] = attrs.evolve(
        held, decisions=(attrs.evolve(flagged, red_warning=True), *held.decisions[1:])
    )
    log = read_ocel_json(to_ocel_json(events))
    related = dict(next(e for e in log.events if e.id == held.event_id).relationships)
    assert related[f"issue:{flagged.issue_id}"] == "red-warning"
    others = set(held.agenda) - {flagged.issue_id}
    assert all(related[f"issue:{issue}"] == "agenda" for issue in others)
