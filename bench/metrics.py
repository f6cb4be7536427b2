"""Benchmark: metrics over a million events, batch and incremental, beside plain reading.

Run: ``python bench/metrics.py`` (``--quick`` for a smaller run, ``--issues N`` to
choose the size).

Workload: N issues (default 166,667, so 1,000,002 events), each with the six events of
the happy path (register, assign, accept, resolve, evaluate, archive) at seeded random
times over ten months of 2025, registered at the 14 towns and subdistricts of the
Yiwu example and led by one of 12 departments; deadlines from Yiwu's policy, about one
resolution in six late and one evaluation in eight dissatisfied (those issues are reopened
instead of archived). The events are built
directly as event objects and merged into one log in time order, then appended to a
``MemoryEventStore`` in that order.

Rows (events per second, and the ratios to merely reading the memory store and the
SQLite store):

- read: iterating the list; iterating ``MemoryEventStore.read_all()``; the same while
  looking at each event's stream id, version and time (the least any consumer does:
  the store itself hands out references without touching the events);
- batch: ``compute_metrics`` over the list, and over ``read_all()``;
- incremental: ``MetricsProjection.apply`` for every event, then ``metrics()``, from the
  list and from ``read_all()``; and the two halves alone (apply; ``metrics()``);
- the same reading, batch and incremental from a ``SQLiteEventStore`` (in memory, so
  no disk is involved; reading decodes each event).

Every metrics run groups by department and month and includes the backlog at each
month's end. The batch and incremental results are checked to be equal.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))

from _util import best_of, environment, print_table

import closedloop as cl
from closedloop.deadlines import due
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle import (
    AssignmentAccepted,
    EvaluatorKind,
    IssueArchived,
    IssueAssigned,
    IssueEvent,
    IssueRegistered,
    IssueReopened,
    IssueResolved,
    ResolutionEvaluated,
)
from closedloop.metrics import MetricsProjection, compute_metrics
from closedloop.store import EventStore, MemoryEventStore, SQLiteEventStore

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2025, 1, 2, 8, 0, tzinfo=SHANGHAI)
CATEGORIES = ("land_certificate", "enterprise_finance", "housing", "roads", "water", "permits")
DEPARTMENTS = tuple(DepartmentId(f"330782/dept-{k:02d}") for k in range(12))


def generate(issues: int, seed: int = 2019) -> list[IssueEvent]:
    """The happy-path log of ``issues`` issues, merged in time order (see the module docs)."""
    rnd = random.Random(seed)
    calendar = cl.china_calendar()
    policy = cl.DeadlinePolicy.yiwu()
    towns = [u.id for u in cl.yiwu_hierarchy().units_at_level("town")]
    difficulties = list(cl.Difficulty)
    keyed: list[tuple[float, int, IssueEvent]] = []
    seq = 0
    for i in range(issues):
        issue = IssueId(f"issue-{i:06d}")
        registered = START + timedelta(minutes=rnd.randint(0, 300 * 24 * 60))
        assigned = registered + timedelta(minutes=rnd.randint(5, 180))
        accepted = assigned + timedelta(minutes=rnd.randint(5, 24 * 60))
        resolved = accepted + timedelta(minutes=rnd.randint(30, 10 * 24 * 60))
        evaluated = resolved + timedelta(minutes=rnd.randint(30, 2 * 24 * 60))
        archived = evaluated + timedelta(minutes=rnd.randint(1, 60))
        difficulty = rnd.choice(difficulties)
        limit = policy.limit_for(difficulty)
        deadline = due(calendar, limit, assigned)
        lead = rnd.choice(DEPARTMENTS)
        satisfied = rnd.random() < 7 / 8

        def ids(k: int, issue: str = issue) -> dict[str, Any]:
            return {"event_id": EventId(f"{issue}/{k}"), "issue_id": issue, "version": k}

        events: list[IssueEvent] = [
            IssueRegistered(
                **ids(1),
                occurred_at=registered,
                actor=ActorId("town-office"),
                unit=UnitId(rnd.choice(towns)),
                category=rnd.choice(CATEGORIES),
                difficulty=difficulty,
                title="问题",
            ),
            IssueAssigned(
                **ids(2),
                occurred_at=assigned,
                actor=ActorId("city-office"),
                lead=lead,
                limit=limit,
                due_at=deadline.due_at,
                due_date=deadline.due_date,
                policy=policy.label,
            ),
            AssignmentAccepted(
                **ids(3), occurred_at=accepted, actor=ActorId("staff"), department=lead
            ),
            IssueResolved(
                **ids(4),
                occurred_at=resolved,
                actor=ActorId("staff"),
                department=lead,
                on_time=resolved <= deadline.due_at,
            ),
            ResolutionEvaluated(
                **ids(5),
                occurred_at=evaluated,
                actor=ActorId("survey"),
                evaluator_kind=EvaluatorKind.THIRD_PARTY,
                satisfied=satisfied,
                score=95.0 if satisfied else 40.0,
            ),
            IssueArchived(**ids(6), occurred_at=archived, actor=ActorId("city-office")),
        ]
        if not satisfied:
            again = due(calendar, limit, archived)
            events[5] = IssueReopened(
                **ids(6),
                occurred_at=archived,
                actor=ActorId("city-office"),
                cycle=2,
                lead=lead,
                limit=limit,
                due_at=again.due_at,
                due_date=again.due_date,
                policy=policy.label,
                reason="evaluation not satisfied",
            )
        for event in events:
            keyed.append((event.occurred_at.timestamp(), seq, event))
            seq += 1
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [event for _, _, event in keyed]


def fill(events: list[IssueEvent], store: EventStore) -> EventStore:
    """``store`` holding ``events`` in the same global order."""
    window = 10_000
    for start in range(0, len(events), window):
        store.append_many((e.issue_id, [e], e.version - 1) for e in events[start : start + window])
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 issues, 3 repetitions")
    parser.add_argument("--issues", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args()
    issues = args.issues or (20_000 if args.quick else 166_667)
    reps = args.reps or (3 if args.quick else 5)
    calendar = cl.china_calendar()
    options: dict[str, Any] = {"calendar": calendar, "by": ("department",), "period": "month"}

    print(environment("closedloop", "attrs"))
    events = generate(issues)
    store = fill(events, MemoryEventStore())
    database = fill(events, SQLiteEventStore(":memory:", synchronous="OFF"))
    n = len(events)
    print(f"{issues:,} issues, {n:,} events; grouped by department and month; {reps} reps\n")

    def read_list() -> None:
        for _ in events:
            pass

    def read_store() -> None:
        for _ in store.read_all():
            pass

    def look_store() -> None:
        for _, stored in store.read_all():
            event: Any = stored
            event.stream_id  # noqa: B018 (the point is to touch the event)
            event.version  # noqa: B018
            event.occurred_at  # noqa: B018

    def read_database() -> None:
        for _ in database.read_all():
            pass

    def batch_database() -> None:
        compute_metrics((e for _, e in database.read_all()), **options)

    def incremental_database() -> None:
        projection = MetricsProjection()
        apply = projection.apply
        for position, event in database.read_all():
            apply(event, position)
        projection.metrics(**options)

    def batch_list() -> None:
        compute_metrics(events, **options)

    def batch_store() -> None:
        compute_metrics((e for _, e in store.read_all()), **options)

    def incremental_list() -> None:
        projection = MetricsProjection()
        projection.apply_all(events)
        projection.metrics(**options)

    def incremental_store() -> None:
        projection = MetricsProjection()
        apply = projection.apply
        for position, event in store.read_all():
            apply(event, position)
        projection.metrics(**options)

    def apply_only() -> None:
        MetricsProjection().apply_all(events)

    ready = MetricsProjection()
    ready.apply_all(events)

    def metrics_only() -> None:
        ready.metrics(**options)

    batch = compute_metrics(events, **options)
    incremental = ready.metrics(**options)
    assert batch == incremental, "batch and incremental metrics differ"

    variants: list[tuple[str, Callable[[], None]]] = [
        ("read: iterate the list", read_list),
        ("read: MemoryEventStore.read_all()", read_store),
        ("read: read_all() + each event's stream, version, time", look_store),
        ("batch compute_metrics, from the list", batch_list),
        ("batch compute_metrics, from read_all()", batch_store),
        ("incremental apply + metrics(), from the list", incremental_list),
        ("incremental apply + metrics(), from read_all()", incremental_store),
        ("  incremental apply only (list)", apply_only),
        ("  metrics() only, on a filled projection", metrics_only),
        ("read: SQLiteEventStore.read_all() (decoding)", read_database),
        ("batch compute_metrics, from SQLite read_all()", batch_database),
        ("incremental, from SQLite read_all()", incremental_database),
    ]
    timings = {name: best_of(fn, reps=reps) for name, fn in variants}
    memory = timings["read: MemoryEventStore.read_all()"]
    sqlite = timings["read: SQLiteEventStore.read_all() (decoding)"]
    rows = [
        (name, seconds, n / seconds / 1e6, seconds / memory, seconds / sqlite)
        for name, seconds in timings.items()
    ]
    print_table(("variant", "seconds", "M events/s", "x memory read", "x SQLite read"), rows)
    total = batch.total
    print(
        f"\nchecked: batch == incremental; {total.registered:,} issues, on-time rate "
        f"{total.on_time_rate:.3f}, satisfaction rate {total.satisfaction_rate:.3f}, "
        f"handling days p50/p90/p95 {total.handling_days.p50:g}/"
        f"{total.handling_days.p90:g}/{total.handling_days.p95:g}"
    )


if __name__ == "__main__":
    main()
