"""Benchmark: event-store writes and replays, beside raw sqlite3 and eventsourcing, in one process.

Run: ``python bench/store.py`` (``--quick`` for a smaller run, ``--issues N`` to choose
the size). eventsourcing is optional; without it its rows are skipped.

Every issue has the six events of the happy path (registered, assigned, accepted,
resolved, evaluated, archived), built directly as lifecycle event objects. Writes go
to a fresh file per repetition, 100 issues per call (``append_many``) or transaction,
in write-ahead-log mode. The raw sqlite3 rows insert exactly the rows closedloop
writes (already encoded) into the same table, so the difference is closedloop's own
cost: checking, encoding, expected versions. A second raw row uses the minimal table
of the published anchor (no event-id index). Ids are random UUIDs, as the service
makes them, or time-ordered UUIDs (version 7 layout), which keep index inserts at the
end of the B-trees.

Replays read one issue's six events back from the file and fold them into its state,
for a random sample of issues, with a warm page cache.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))

from _util import environment, print_table

from closedloop.deadlines import Difficulty, TimeLimit
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle.events import (
    AssignmentAccepted,
    EvaluatorKind,
    IssueArchived,
    IssueAssigned,
    IssueEvent,
    IssueRegistered,
    IssueResolved,
    ResolutionEvaluated,
)
from closedloop.lifecycle.state import replay
from closedloop.store import EventStore, MemoryEventStore, SQLiteEventStore, default_codec

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)
PER_CALL = 100
"""Issues per append_many call / per transaction."""


# -- inputs ---------------------------------------------------------------------------------


def random_ids() -> Callable[[], str]:
    """Random UUIDs (version 4), as the service makes them."""
    return lambda: str(uuid.uuid4())


def ordered_ids(seed: int = 7) -> Callable[[], str]:
    """Time-ordered UUIDs in the version 7 layout: 48 bits of milliseconds first."""
    rng = random.Random(seed)
    clock = [int(T0.timestamp() * 1000)]

    def make() -> str:
        clock[0] += 1
        value = (clock[0] << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64)
        value |= (0b10 << 62) | rng.getrandbits(62)
        return str(uuid.UUID(int=value))

    return make


def issue_events(issue_id: str, new_id: Callable[[], str], n: int) -> list[IssueEvent]:
    """The six events of one issue's happy path."""
    at = T0 + timedelta(minutes=n)
    due = at + timedelta(days=3)
    iid = IssueId(issue_id)
    officer, staff, citizen = ActorId("officer-17"), ActorId("staff-3"), ActorId("citizen-9")
    lead = DepartmentId(f"dept-{n % 40}")
    return [
        IssueRegistered(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=1,
            occurred_at=at,
            actor=officer,
            unit=UnitId(f"3307821{n % 100:03d}00"),
            category="road_damage",
            difficulty=Difficulty.COMPLEX,
            title="村口道路坑洼",
            description="村口道路破损严重，雨天积水，群众出行不便。",
            reporter=citizen,
        ),
        IssueAssigned(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=2,
            occurred_at=at + timedelta(hours=1),
            actor=officer,
            lead=lead,
            limit=TimeLimit.working_days(3),
            due_at=due,
            due_date=due.date(),
            policy="yiwu@1",
        ),
        AssignmentAccepted(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=3,
            occurred_at=at + timedelta(hours=2),
            actor=staff,
            department=lead,
        ),
        IssueResolved(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=4,
            occurred_at=at + timedelta(days=1),
            actor=staff,
            department=lead,
            summary="已修补路面",
            on_time=True,
        ),
        ResolutionEvaluated(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=5,
            occurred_at=at + timedelta(days=2),
            actor=citizen,
            evaluator_kind=EvaluatorKind.REPORTER,
            satisfied=True,
            score=5.0,
        ),
        IssueArchived(
            event_id=EventId(new_id()),
            issue_id=iid,
            version=6,
            occurred_at=at + timedelta(days=2, hours=1),
            actor=officer,
        ),
    ]


def make_issues(count: int, new_id: Callable[[], str]) -> list[list[IssueEvent]]:
    return [issue_events(new_id(), new_id, n) for n in range(count)]


# -- helpers --------------------------------------------------------------------------------


class Files:
    """Fresh database paths in one temporary directory."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="closedloop-bench-"))
        self.count = 0

    def new(self) -> Path:
        self.count += 1
        return self.root / f"db{self.count}.sqlite"

    def clean(self) -> None:
        for path in self.root.iterdir():
            path.unlink()
        self.root.rmdir()


def timed_writes(write: Callable[[Path], None], files: Files, reps: int) -> float:
    """Median seconds of ``write`` into a fresh file, over ``reps`` runs."""
    times = []
    for _ in range(reps):
        path = files.new()
        started = time.perf_counter()
        write(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def issue_stream(store: EventStore, issue_id: str) -> list[IssueEvent]:
    """An issue's events, typed as what they are."""
    return cast("list[IssueEvent]", store.read_stream(issue_id))


def per_item(fn: Callable[[Any], object], items: Sequence[Any], reps: int) -> float:
    """Median seconds per item of calling ``fn`` on each item, over ``reps`` passes."""
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        for item in items:
            fn(item)
        times.append((time.perf_counter() - started) / len(items))
    return statistics.median(times)


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- closedloop ---------------------------------------------------------------------------


def closedloop_writer(issues: list[list[IssueEvent]], synchronous: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        with SQLiteEventStore(path, synchronous=synchronous) as store:
            for group in chunks(issues, PER_CALL):
                store.append_many([(events[0].stream_id, events, 0) for events in group])

    return write


def memory_append(issues: list[list[IssueEvent]]) -> float:
    store = MemoryEventStore()
    started = time.perf_counter()
    for group in chunks(issues, PER_CALL):
        store.append_many([(events[0].stream_id, events, 0) for events in group])
    return time.perf_counter() - started


def encoded_rows(issues: list[list[IssueEvent]], path: Path) -> list[list[list[Any]]]:
    """The exact rows closedloop writes, per transaction, read back from a store file."""
    closedloop_writer(issues, "OFF")(path)
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT stream_id, version, event_id, type, schema, occurred_at, data, position "
            "FROM events ORDER BY position"
        ).fetchall()
    finally:
        con.close()
    per_txn = PER_CALL * 6
    return [list(map(list, rows[i : i + per_txn])) for i in range(0, len(rows), per_txn)]


def raw_writer(batches: list[list[list[Any]]], minimal: bool) -> Callable[[Path], None]:
    """Plain sqlite3: executemany of pre-encoded rows, one transaction per batch."""

    def write(path: Path) -> None:
        if not minimal:
            SQLiteEventStore(path).close()  # the same schema, created by a store
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
        if minimal:
            con.execute(
                "CREATE TABLE events (stream_id TEXT, version INTEGER, type TEXT, "
                "data TEXT, PRIMARY KEY (stream_id, version)) WITHOUT ROWID"
            )
            insert = "INSERT INTO events VALUES (?, ?, ?, ?)"
            prepared = [[(r[0], r[1], r[3], r[6]) for r in batch] for batch in batches]
        else:
            insert = (
                "INSERT INTO events (stream_id, version, event_id, type, schema, occurred_at,"
                " data, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            )
            prepared = [[tuple(r) for r in batch] for batch in batches]
        for batch in prepared:
            con.execute("BEGIN IMMEDIATE")
            con.executemany(insert, batch)
            con.execute("COMMIT")
        con.close()

    return write


# -- eventsourcing ------------------------------------------------------------------------


def eventsourcing_bench(
    count: int, reps: int, files: Files, sample: int
) -> tuple[float, float] | None:
    """(seconds to save ``count`` issues, seconds per replay) or None if not installed."""
    try:
        application = importlib.import_module("eventsourcing.application")
        domain = importlib.import_module("eventsourcing.domain")
    except ImportError:
        return None
    event = domain.event

    # The aggregate is built with type() so that the optional import stays untyped.
    def registered(
        self: Any, unit: str, category: str, difficulty: str, title: str, text: str
    ) -> None:
        self.unit, self.status = unit, "registered"
        self.title, self.text, self.category, self.difficulty = title, text, category, difficulty

    def assign(self: Any, lead: str, limit: str, due_at: str, due_date: str, policy: str) -> None:
        self.lead, self.status, self.due_at = lead, "assigned", due_at

    def accept(self: Any, department: str) -> None:
        self.status = "in_progress"

    def resolve(self: Any, department: str, summary: str, on_time: bool) -> None:
        self.status = "resolved"

    def evaluate(self: Any, evaluator: str, satisfied: bool, score: float) -> None:
        self.status = "evaluated"

    def archive(self: Any) -> None:
        self.status = "archived"

    registered.__name__ = registered.__qualname__ = "__init__"
    issue_class: Any = type(
        "ESIssue",
        (domain.Aggregate,),
        {
            "__init__": event("Registered")(registered),
            "assign": event("Assigned")(assign),
            "accept": event("Accepted")(accept),
            "resolve": event("Resolved")(resolve),
            "evaluate": event("Evaluated")(evaluate),
            "archive": event("Archived")(archive),
            "__module__": __name__,
            "__qualname__": "ESIssue",
        },
    )
    app_class: Any = type("IssueApp", (application.Application,), {"__module__": __name__})

    def build() -> list[Any]:
        issues = []
        for n in range(count):
            issue = issue_class(
                f"3307821{n % 100:03d}00",
                "road_damage",
                "complex",
                "村口道路坑洼",
                "村口道路破损严重",
            )
            issue.assign(f"dept-{n % 40}", "3 working days", T0.isoformat(), "2025-03-06", "yiwu@1")
            issue.accept(f"dept-{n % 40}")
            issue.resolve(f"dept-{n % 40}", "已修补路面", True)
            issue.evaluate("reporter", True, 5.0)
            issue.archive()
            issues.append(issue)
        return issues

    times = []
    app = None
    for _ in range(reps):
        path = files.new()
        issues = build()
        app = app_class(
            env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
        )
        started = time.perf_counter()
        for group in chunks(issues, PER_CALL):
            app.save(*group)
        times.append(time.perf_counter() - started)
    assert app is not None
    ids = [issue.id for issue in random.Random(1).sample(issues, min(sample, count))]
    replay_seconds = per_item(app.repository.get, ids, 3)
    app.close()
    return statistics.median(times), replay_seconds


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issues", type=int, default=5000, help="issues written per run")
    parser.add_argument("--reps", type=int, default=3, help="repetitions (median)")
    parser.add_argument("--quick", action="store_true", help="1,000 issues, 2 repetitions")
    args = parser.parse_args()
    count, reps = (1000, 2) if args.quick else (args.issues, args.reps)
    events_count = count * 6
    sample = min(2000, count)
    print(environment("eventsourcing"))
    print(
        f"{count:,} issues x 6 events = {events_count:,} events per run, "
        f"{PER_CALL} issues per call; median of {reps}"
    )
    files = Files()
    try:
        codec = default_codec()
        by_ids = {
            "random": make_issues(count, random_ids()),
            "ordered": make_issues(count, ordered_ids()),
        }
        issues = by_ids["random"]
        flat = [e for events in issues for e in events]

        # Encoding alone.
        pack = codec.pack
        encode_s = per_item(pack, flat, reps)

        rows: list[list[object]] = []

        def add(label: str, seconds: float, note: str = "") -> float:
            us = seconds / events_count * 1e6
            rows.append([label, us, events_count / seconds, note])
            return us

        results: dict[str, float] = {}
        for scheme, its in by_ids.items():
            for sync in ("FULL", "NORMAL"):
                label = f"closedloop SQLite file, {sync}, {scheme} ids"
                results[label] = add(
                    label, timed_writes(closedloop_writer(its, sync), files, reps), "append_many"
                )
            raw = encoded_rows(its, files.new())
            label = f"raw sqlite3, same rows and table, FULL, {scheme} ids"
            results[label] = add(label, timed_writes(raw_writer(raw, False), files, reps))
            label = f"raw sqlite3, minimal table (anchor), FULL, {scheme} ids"
            results[label] = add(label, timed_writes(raw_writer(raw, True), files, reps))
        es = eventsourcing_bench(count, reps, files, sample)
        if es is not None:
            results["es"] = add("eventsourcing SQLite file, random ids", es[0], "save(100)")
        results["memory"] = add(
            "closedloop MemoryEventStore, random ids",
            statistics.median(memory_append(issues) for _ in range(reps)),
            "append_many",
        )
        rows.append(["closedloop codec.pack alone (encoding)", encode_s * 1e6, 1 / encode_s, ""])
        print("\nBatched appends")
        print_table(["writer", "µs/event", "events/s", "how"], rows)

        # Replays.
        path = files.new()
        closedloop_writer(issues, "FULL")(path)
        ids = [events[0].stream_id for events in random.Random(1).sample(issues, sample)]
        replay_rows: list[list[object]] = []
        with SQLiteEventStore(path) as store:
            for _ in range(2):  # warm the page cache
                for issue_id in ids:
                    store.read_stream(issue_id)
            assert replay(issue_stream(store, ids[0])).status.value == "archived"
            read_fold = per_item(lambda i: replay(issue_stream(store, i)), ids, reps)
            read_only = per_item(store.read_stream, ids, reps)
        con = sqlite3.connect(path)
        query = "SELECT data FROM events WHERE stream_id = ? AND version > ? ORDER BY version"
        raw_read = per_item(lambda i: con.execute(query, (i, 0)).fetchall(), ids, reps)
        con.close()
        memory = MemoryEventStore()
        memory.append_many([(events[0].stream_id, events, 0) for events in issues])
        memory_read = per_item(lambda i: replay(issue_stream(memory, i)), ids, reps)
        replay_rows.append(["closedloop SQLite file: read_stream + replay", read_fold * 1e6, ""])
        replay_rows.append(["closedloop SQLite file: read_stream only", read_only * 1e6, ""])
        replay_rows.append(
            ["raw sqlite3 SELECT of the same rows (no decoding)", raw_read * 1e6, ""]
        )
        if es is not None:
            replay_rows.append(["eventsourcing SQLite file: repository.get", es[1] * 1e6, ""])
            for row in replay_rows[:2]:
                row[2] = f"{es[1] / (cast(float, row[1]) / 1e6):.1f}x faster than eventsourcing"
        replay_rows.append(
            ["closedloop MemoryEventStore: read_stream + replay", memory_read * 1e6, ""]
        )
        print(f"\nReplay of one issue (6 events), {len(ids):,} random issues, warm cache")
        print_table(["reader", "µs/issue", "ratio"], replay_rows)

        print("\nRatios (same run)")
        full = results["closedloop SQLite file, FULL, random ids"]
        full_o = results["closedloop SQLite file, FULL, ordered ids"]
        same = results["raw sqlite3, same rows and table, FULL, random ids"]
        same_o = results["raw sqlite3, same rows and table, FULL, ordered ids"]
        print(f"  closedloop FULL / raw sqlite3 of the same rows: {full / same:.2f}x the time")
        print(f"  ... with ordered ids: {full_o / same_o:.2f}x the time")
        if "es" in results:
            print(f"  eventsourcing / closedloop FULL: {results['es'] / full:.2f}x the time")
        print(f"  random / ordered ids, closedloop FULL: {full / full_o:.2f}x the time")
        best = min(v for k, v in results.items() if k.startswith("closedloop SQLite"))
        print(
            f"  targets: batched append >= 200,000 events/s to a file (best here "
            f"{1e6 / best:,.0f}/s); replay <= 20 µs (here {read_fold * 1e6:.1f} µs with "
            f"the fold, {read_only * 1e6:.1f} µs reading alone)"
        )
    finally:
        files.clean()


if __name__ == "__main__":
    main()
