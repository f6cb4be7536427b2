"""The SQLite store under process crashes and concurrent writers, in real processes.

1. A child appends batches in a loop and prints each batch's number only after
   ``append_many`` returned; the parent kills it with SIGKILL at a random moment,
   reopens the file and checks that every reported batch is there, whole, that no
   batch is there in part, that versions and positions have no gap, that SQLite's
   integrity check passes, and that at most one batch per kill was committed without
   being reported (killed between the commit and the print).
2. Two processes append to the same stream, each reading the version just before its
   append: losers get ConcurrencyError and retry; in the end every successful append
   is in the stream exactly once and the stream has no gap.
3. Two processes run commands on the same issue, each through its own ``ClosedLoop``:
   the loser of a race decides again on the latest state, and the issue's stream folds.

What this proves: atomicity and durability against a crash of the *process* (the
operating system keeps what was written). It does not prove durability against a power
cut or an operating-system crash, which needs a file system that can be made to lose
unsynced writes.
"""

from __future__ import annotations

import collections
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

import closedloop as cl
from closedloop.store import SQLiteEventStore

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL"),
]

ROUNDS = int(os.environ.get("CLOSEDLOOP_CRASH_ROUNDS", "10"))
STREAMS_PER_BATCH = 4
EVENTS_PER_STREAM = 3

_PRELUDE = """
import sys
from datetime import datetime, timedelta, timezone
from closedloop.errors import ConcurrencyError
from closedloop.lifecycle.events import IssueSuspended
from closedloop.store import SQLiteEventStore

T0 = datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=8)))

def event(stream, version, actor, event_id=None, reason=""):
    return IssueSuspended(
        event_id=event_id or f"{stream}/{version}",
        issue_id=stream,
        version=version,
        occurred_at=T0 + timedelta(seconds=version),
        actor=actor,
        reason=reason,
    )
"""

CRASHING_WRITER = _PRELUDE + textwrap.dedent(
    f"""
    path, batch = sys.argv[1], int(sys.argv[2])
    store = SQLiteEventStore(path)  # synchronous=FULL
    log = store.stream_version("log")
    pad = "x" * 4000
    print("ready", flush=True)
    sys.stdin.readline()  # nothing more on stdout before the parent has read "ready"
    while True:
        requests = [
            (
                f"b{{batch}}-{{j}}",
                [event(f"b{{batch}}-{{j}}", v, f"batch-{{batch}}", reason=pad)
                 for v in range(1, {EVENTS_PER_STREAM} + 1)],
                0,
            )
            for j in range({STREAMS_PER_BATCH})
        ]
        requests.append(("log", [event("log", log + 1, f"batch-{{batch}}")], log))
        store.append_many(requests)
        log += 1
        print(batch, flush=True)
        batch += 1
    """
)


def _start(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(process: subprocess.Popen[str]) -> None:
    """Read the child's "ready" line.

    The child must print nothing more until it is told to go (see :func:`_go`): what
    ``readline`` buffers beyond the line would be lost to ``communicate``, which reads
    the pipe itself.
    """
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != "ready":
        _, err = process.communicate(timeout=30)
        pytest.fail(f"the child did not start: {line!r} {err}")


def _go(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.write("go\n")
    process.stdin.flush()


def _batches_in(path: Path) -> set[int]:
    """Check the file after a crash; return the batch numbers it holds."""
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    with SQLiteEventStore(path) as store:
        recorded = list(store.read_all())
        assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
        per_batch: collections.Counter[int] = collections.Counter()
        streams: dict[str, list[int]] = collections.defaultdict(list)
        for r in recorded:
            per_batch[int(r.event.actor.removeprefix("batch-"))] += 1  # type: ignore[attr-defined]
            streams[r.event.stream_id].append(r.event.version)
        # All or nothing: a batch is its streams' events plus one event of the log.
        whole = STREAMS_PER_BATCH * EVENTS_PER_STREAM + 1
        assert all(n == whole for n in per_batch.values()), per_batch
        # No gap in any stream.
        for stream, versions in streams.items():
            assert versions == list(range(1, len(versions) + 1)), stream
            assert store.stream_version(stream) == len(versions)
        assert len(streams.get("log", [])) == len(per_batch)
    return set(per_batch)


def test_a_killed_writer_loses_no_reported_append_and_leaves_no_partial_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    rng = random.Random(20251204)
    stored: set[int] = set()
    reported: set[int] = set()
    busy_rounds = 0
    for _ in range(ROUNDS):
        child = _start(CRASHING_WRITER, str(path), str(max(stored, default=0) + 1))
        _wait_ready(child)
        _go(child)
        time.sleep(rng.uniform(0.02, 0.25))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL, err
        this_round = {int(line) for line in out.split()}
        busy_rounds += bool(this_round)
        reported |= this_round
        now = _batches_in(path)
        assert stored <= now
        assert reported <= now, "a batch reported as appended was lost"
        assert len(now - stored - this_round) <= 1, "more than one unreported batch"
        stored = now
    # The kills landed while the child was writing, not before it began.
    assert busy_rounds >= ROUNDS // 2


RACING_WRITER = _PRELUDE + textwrap.dedent(
    """
    import random, time
    path, name, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = SQLiteEventStore(path, busy_timeout=30)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    rng = random.Random(name)
    for i in range(count):
        while True:
            version = store.stream_version("shared")
            time.sleep(rng.random() / 1000)  # widen the window between read and write
            try:
                store.append(
                    "shared",
                    [event("shared", version + 1, name, event_id=f"{name}-{i}")],
                    expected_version=version,
                )
            except ConcurrencyError as exc:
                assert exc.actual > version, exc
                print("conflict", flush=True)
                continue
            print("ok", f"{name}-{i}", flush=True)
            break
    """
)


def test_two_processes_appending_to_one_stream_lose_and_double_nothing(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    SQLiteEventStore(path).close()
    count = 150
    children = [_start(RACING_WRITER, str(path), name, str(count)) for name in ("p", "q")]
    for child in children:
        _wait_ready(child)
    for child in children:
        _go(child)
    outputs = []
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        outputs.append(out.split("\n"))
    succeeded = [line.split()[1] for out in outputs for line in out if line.startswith("ok ")]
    conflicts = sum(line == "conflict" for out in outputs for line in out)
    assert len(succeeded) == 2 * count
    with SQLiteEventStore(path) as store:
        stream = store.read_stream("shared")
        assert [e.version for e in stream] == list(range(1, 2 * count + 1))
        stored_ids = [e.event_id for e in stream]
        assert sorted(stored_ids) == sorted(succeeded)
        assert len(set(stored_ids)) == len(stored_ids)
        assert [r.position for r in store.read_all()] == list(range(1, 2 * count + 1))
    # Each process's own events are in its order.
    for name in ("p", "q"):
        mine = [int(i.split("-")[1]) for i in stored_ids if i.startswith(f"{name}-")]
        assert mine == list(range(count))
    assert conflicts > 0, "the two writers never raced; the test proved nothing"


RACING_SERVICE = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timedelta, timezone
    import closedloop as cl
    from closedloop.store import SQLiteEventStore

    path, issue, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    at = datetime(2025, 3, 3, 10, tzinfo=timezone(timedelta(hours=8)))
    service = cl.ClosedLoop(
        hierarchy=cl.yiwu_hierarchy(villages_per_town=1),
        store=SQLiteEventStore(path, busy_timeout=30),
        clock=cl.FixedClock(at),
    )
    leader = cl.Actor(f"leader-{name}", cl.ActorKind.OFFICIAL, unit="330782")
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    for i in range(count):
        while True:
            try:
                service.extend(leader, issue, amount=1, reason=f"{name}-{i}")
            except cl.ConcurrencyError:
                print("conflict", flush=True)  # the next command catches up first
                continue
            print("ok", flush=True)
            break
    """
)


def test_two_services_on_one_issue_decide_on_the_latest_state(tmp_path: Path) -> None:
    """Two processes run commands on the same issue through their own ``ClosedLoop``:
    a writer that lost the race decides again on the state the other left, and the
    issue's stream ends up gap-free, folding to what both services say it is."""
    path = tmp_path / "events.db"
    at = datetime(2025, 3, 3, 9, tzinfo=cl.china_calendar().zone)
    leader = cl.Actor("leader", cl.ActorKind.OFFICIAL, unit="330782")
    hierarchy = cl.yiwu_hierarchy(villages_per_town=1)
    with cl.ClosedLoop.open(path, hierarchy=hierarchy, clock=cl.FixedClock(at)) as service:
        (registered,) = service.register(
            leader, unit="330782", category="roads", difficulty="difficult", title="a bridge"
        )
        issue = registered.issue_id
        service.assign(leader, issue, lead="330782/transport")
        before = service.issue(issue)
    count = 60
    children = [_start(RACING_SERVICE, str(path), issue, name, str(count)) for name in "pq"]
    for child in children:
        _wait_ready(child)
    for child in children:
        _go(child)
    conflicts = 0
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        assert out.split().count("ok") == count
        conflicts += out.split().count("conflict")
    with cl.ClosedLoop.open(path, hierarchy=hierarchy) as reopened:
        history = reopened.history(issue)
        after = reopened.issue(issue)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert cl.replay(history) == after
    assert after.extension == before.extension + 2 * count
    reasons = [e.reason for e in history if isinstance(e, cl.DeadlineExtended)]
    for name in "pq":
        assert [r for r in reasons if r.startswith(f"{name}-")] == [
            f"{name}-{i}" for i in range(count)
        ]
    assert conflicts > 0, "the two services never raced; the test proved nothing"
