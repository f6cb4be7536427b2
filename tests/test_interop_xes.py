"""XES: one trace per issue, read back as written; the designed loop's Petri net."""

from __future__ import annotations

import io
import random
import xml.etree.ElementTree as ET
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
    activity_of,
    designed_loop_net,
    designed_loop_pnml,
    read_xes,
    write_xes,
    xes_columns,
)
from closedloop.lifecycle import IssueEvent, IssueRegistered
from tests import logs


@cache
def simulated_events() -> tuple[Any, ...]:
    scenario = attrs.evolve(cl.yiwu_scenario(villages_per_town=4), end=date(2019, 6, 30))
    knobs = cl.Knobs(supervision=1.0)
    events = cl.simulate(scenario, cl.Baseline(knobs=knobs), keep_events=True).events
    assert events is not None
    return events


def traces_of(events: Any) -> dict[str, list[IssueEvent]]:
    out: dict[str, list[IssueEvent]] = {}
    for event in events:
        if isinstance(event, IssueEvent):
            out.setdefault(event.issue_id, []).append(event)
    return out


def xes_text(events: Any, **options: Any) -> str:
    buffer = io.StringIO()
    write_xes(buffer, events, **options)
    return buffer.getvalue()


def test_one_trace_per_issue_with_its_events_in_order() -> None:
    events = simulated_events()
    expected = traces_of(events)
    traces = read_xes(io.StringIO(xes_text(events)))
    assert [t.name for t in traces] == list(expected)
    for trace in traces:
        issue_events = expected[trace.name or ""]
        assert trace.activities == tuple(activity_of(e) for e in issue_events)
        assert [e["time:timestamp"] for e in trace.events] == [e.occurred_at for e in issue_events]
        assert [e["org:resource"] for e in trace.events] == [e.actor for e in issue_events]
        assert [e["identity:id"] for e in trace.events] == [e.event_id for e in issue_events]
        assert {e["lifecycle:transition"] for e in trace.events} == {"complete"}
        assert all(e["org:group"] for e in trace.events)
        first = issue_events[0]
        assert isinstance(first, IssueRegistered)
        assert trace.attributes["category"] == first.category
        assert trace.attributes["unit"] == first.unit


def test_groups_name_the_lead_department_or_the_unit() -> None:
    events = simulated_events()
    traces = {t.name: t for t in read_xes(io.StringIO(xes_text(events)))}
    for issue_id, issue_events in traces_of(events).items():
        for event, written in zip(issue_events, traces[issue_id].events, strict=True):
            if isinstance(event, IssueRegistered):
                assert written["org:group"] == event.unit
            elif isinstance(event, cl.IssueAssigned):
                assert written["org:group"] == event.lead
            elif isinstance(event, cl.IssueResolved):
                assert written["org:group"] == event.department


def test_only_lifecycle_events_unless_asked() -> None:
    events = simulated_events()
    designed = {ACTIVITIES[kind.KIND] for _, kind in cl.TRANSITIONS}
    lifecycle = {a for t in read_xes(io.StringIO(xes_text(events))) for a in t.activities}
    everything = {
        a
        for t in read_xes(io.StringIO(xes_text(events, lifecycle_only=False)))
        for a in t.activities
    }
    assert lifecycle <= designed
    assert {"order supervision", "visit upper department"} <= everything - lifecycle


def test_columns_match_the_file() -> None:
    events = simulated_events()
    columns = xes_columns(events)
    traces = read_xes(io.StringIO(xes_text(events)))
    assert columns["case:concept:name"] == [t.name for t in traces for _ in t.events]
    assert columns["concept:name"] == [a for t in traces for a in t.activities]
    assert columns["time:timestamp"] == [e["time:timestamp"] for t in traces for e in t.events]


def test_files_paths_and_binary_handles(tmp_path: Path) -> None:
    log = logs.random_log(random.Random(1), issues=4, steps=30)
    write_xes(tmp_path / "log.xes", log.events)
    binary = io.BytesIO()
    write_xes(binary, log.events)
    assert binary.getvalue().decode("utf-8") == (tmp_path / "log.xes").read_text(encoding="utf-8")
    assert len(read_xes(tmp_path / "log.xes")) == len(log.states)
    root = ET.parse(tmp_path / "log.xes").getroot()
    assert root.tag == "{http://www.xes-standard.org/}log"


def test_text_xml_cannot_hold_is_replaced() -> None:
    log = logs.random_log(random.Random(1), issues=1, steps=1)
    first = log.events[0]
    assert isinstance(first, IssueRegistered)
    odd = attrs.evolve(first, title="a\x00b\ud800c\x1f <&>\"'")
    (trace,) = read_xes(io.StringIO(xes_text([odd])))
    assert trace.attributes["title"] == "a\ufffdb\ufffdc\ufffd <&>\"'"


@pytest.mark.parametrize(
    "text",
    [
        "not xml",
        "<other/>",
        '<log><trace><int key="n" value="x"/></trace></log>',
        '<log><trace><date key="t" value="2025-01-01T00:00:00"/></trace></log>',
        '<log><trace><boolean key="b" value="yes"/></trace></log>',
        '<log><trace><string key="s"/></trace></log>',
    ],
)
def test_unreadable_xes_raises_decode_errors(text: str) -> None:
    with pytest.raises(cl.DecodeError):
        read_xes(io.StringIO(text))


@settings(max_examples=25)
@given(logs.issue_logs(max_issues=8, max_steps=80))
def test_generated_logs_round_trip(log: logs.Log) -> None:
    traces = read_xes(io.StringIO(xes_text(log.events)))
    expected = traces_of(log.events)
    assert {t.name: t.activities for t in traces} == {
        k: tuple(activity_of(e) for e in v) for k, v in expected.items()
    }


# -- the designed loop ----------------------------------------------------------------------


def test_the_net_has_one_visible_transition_per_lifecycle_event() -> None:
    net = designed_loop_net()
    lifecycle = {ACTIVITIES[kind.KIND] for _, kind in cl.TRANSITIONS}
    assert sorted(net.activities) == sorted(lifecycle)
    ids = [t.id for t in net.transitions]
    assert len(ids) == len(set(ids))
    places = set(net.places)
    assert len(places) == len(net.places)
    for t in net.transitions:
        assert set(t.inputs) <= places
        assert set(t.outputs) <= places


def test_the_pnml_is_well_formed_and_complete() -> None:
    text = designed_loop_pnml()
    root = ET.fromstring(text)
    ns = {"p": "http://www.pnml.org/version-2009/grammar/pnml"}
    nodes = {e.get("id") for e in root.iter() if e.tag.endswith(("place", "transition"))}
    arcs = list(root.iter("{http://www.pnml.org/version-2009/grammar/pnml}arc"))
    assert arcs
    assert all(a.get("source") in nodes and a.get("target") in nodes for a in arcs)
    assert root.find(".//p:finalmarkings/p:marking/p:place", ns) is not None
    silent = root.findall(".//p:transition/p:toolspecific", ns)
    assert len(silent) == sum(t.label is None for t in designed_loop_net().transitions)


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(logs.issue_logs(max_issues=8, max_steps=120))
def test_the_net_accepts_every_history_the_lifecycle_allows(log: logs.Log) -> None:
    partial = designed_loop_net(partial=True)
    complete = designed_loop_net()
    for issue_id, events in traces_of(log.events).items():
        activities = [activity_of(e) for e in events]
        assert partial.accepts(activities), activities
        closed = log.states[issue_id].status.is_terminal
        assert complete.accepts(activities) == closed, activities


def test_the_net_refuses_departures_from_the_loop() -> None:
    net = designed_loop_net()
    ok = ["register", "assign", "accept", "resolve", "evaluate", "archive"]
    assert net.accepts(ok)
    assert net.first_deviation(["register", "assign", "accept", "resolve", "archive"]) == 4
    assert net.first_deviation(["register", "resolve"]) == 1
    assert net.first_deviation([*ok, "reopen"]) == 6
    assert net.first_deviation(["register", "assign", "accept"]) == 3
    # suspension resumes to the status it interrupted
    assert net.accepts(
        ["register", "assign", "suspend", "resume", "accept", "resolve", "evaluate", "archive"]
    )
    assert not net.accepts(["register", "assign", "accept", "suspend", "resume", "accept"])


def test_a_simulated_log_fits_the_net() -> None:
    partial = designed_loop_net(partial=True)
    for events in traces_of(simulated_events()).values():
        assert partial.accepts([activity_of(e) for e in events])
