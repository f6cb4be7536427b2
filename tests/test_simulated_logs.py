"""Simulated logs through the codec and the SQLite store: every event kind survives."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from closedloop.simulation import Baseline, DownwardMeetings, Knobs, simulate, yiwu_scenario
from closedloop.store import SQLiteEventStore, default_codec


def test_every_simulated_event_round_trips_through_the_codec_and_sqlite(tmp_path: Path) -> None:
    scenario = yiwu_scenario(villages_per_town=4).with_changes(end=date(2019, 8, 31))
    knobs = Knobs(supervision=1.0, accountability=1.0, task_force_threshold=3)
    events = [
        *(simulate(scenario, Baseline(knobs=knobs), seed=4, keep_events=True).events or ()),
        *(simulate(scenario, DownwardMeetings(knobs=knobs), seed=4, keep_events=True).events or ()),
    ]
    kinds = {type(e).__name__ for e in events}
    assert {
        "MeetingHeld",
        "VisitRecorded",
        "SupervisionOrdered",
        "SupervisionOrderClosed",
        "SupervisionOrderOverdue",
        "AccountabilityRecorded",
        "TaskForceCreated",
        "PlanRecorded",
        "PlanResolved",
        "TaskForceClosed",
    } <= kinds
    codec = default_codec()
    for event in events:
        assert codec.loads(codec.dumps(event)) == event
    # Write one policy's log to SQLite and read it back in the same global order.
    meetings = simulate(scenario, DownwardMeetings(knobs=knobs), seed=4, keep_events=True)
    assert meetings.events is not None
    streams: dict[str, list[object]] = {}
    for event in meetings.events:
        streams.setdefault(event.stream_id, []).append(event)
    with SQLiteEventStore(str(tmp_path / "log.db"), synchronous="OFF") as store:
        store.append_many([(s, evs, 0) for s, evs in streams.items()])  # type: ignore[misc]
        read = [recorded.event for recorded in store.read_all()]

    def key(event: object) -> tuple[str, int]:
        return (event.stream_id, event.version)  # type: ignore[attr-defined]

    assert sorted(read, key=key) == sorted(meetings.events, key=key)
