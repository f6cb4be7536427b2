"""Model comparison: the in-memory and the SQLite store against a plain dict model.

Random appends (with right and wrong expected versions in every mode), retries of
earlier appends, retries with a changed event, stored event ids reused in any stream,
multi-stream batches that may carry one bad batch, and closing and reopening the
SQLite file. After every step both stores
must hold exactly what the model holds: the same streams, gap-free versions, the same
global log with positions 1, 2, 3 ...
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from closedloop.errors import ConcurrencyError, ConfigurationError, DuplicateEventError
from closedloop.ids import ActorId, EventId, IssueId
from closedloop.lifecycle.events import IssueEvent
from closedloop.store import (
    AppendResult,
    EventStore,
    ExpectedVersion,
    MemoryEventStore,
    SQLiteEventStore,
)
from tests.store_strategies import events as any_events

STREAMS = st.sampled_from(["A", "B", "C", "D"])
MODES = st.sampled_from(["exact", "exact", "any", "no_stream", "stream_exists"])
SHIFTS = st.sampled_from([0, 0, 0, 0, -1, 1, -2])
"""How far the drawn events start from the next version (0: where they should)."""

Outcome = tuple[str, Any]


def _expected(mode: str, first: int) -> int | ExpectedVersion:
    if mode == "exact":
        return first - 1
    return {
        "any": ExpectedVersion.ANY,
        "no_stream": ExpectedVersion.NO_STREAM,
        "stream_exists": ExpectedVersion.STREAM_EXISTS,
    }[mode]


def _holds(expected: int | ExpectedVersion, current: int) -> bool:
    """The model's own reading of the modes (not the stores' code)."""
    if isinstance(expected, int):
        return expected == current
    return {
        ExpectedVersion.ANY: True,
        ExpectedVersion.NO_STREAM: current == 0,
        ExpectedVersion.STREAM_EXISTS: current > 0,
    }[expected]


def _outcome(call: Any) -> Outcome:
    try:
        return ("ok", call())
    except ConcurrencyError as exc:
        return ("conflict", (exc.stream_id, exc.actual))
    except (ConfigurationError, DuplicateEventError):
        return ("refused", None)


class StoreComparison(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="closedloop-store-"))
        self.path = self.directory / "events.db"
        self.memory = MemoryEventStore()
        self.sqlite = SQLiteEventStore(self.path, synchronous="OFF")
        self.model: dict[str, list[IssueEvent]] = {}
        self.log: list[IssueEvent] = []
        self.positions: dict[str, int] = {}
        self.appended: list[tuple[str, list[IssueEvent], int | ExpectedVersion]] = []
        self.serial = 0

    def teardown(self) -> None:
        self.memory.close()
        self.sqlite.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    # -- helpers ------------------------------------------------------------------------

    def _events(self, stream: str, first: int, payloads: Sequence[IssueEvent]) -> list[IssueEvent]:
        made = []
        for i, payload in enumerate(payloads):
            self.serial += 1
            made.append(
                attrs.evolve(
                    payload,
                    event_id=EventId(f"e{self.serial}"),
                    issue_id=IssueId(stream),
                    version=first + i,
                )
            )
        return made

    def _both(self, call: Any) -> Outcome:
        """Run ``call`` on both stores; they must agree; return the outcome."""
        mine = _outcome(lambda: call(self.memory))
        theirs = _outcome(lambda: call(self.sqlite))
        assert mine == theirs
        return mine

    def _model_append(
        self,
        stream: str,
        events: list[IssueEvent],
        expected: int | ExpectedVersion,
        model: dict[str, list[IssueEvent]],
    ) -> str:
        """What the model says an append does: "ok", "conflict" (model unchanged)."""
        current = len(model.get(stream, []))
        if not events:
            return "ok" if _holds(expected, current) else "conflict"
        first = events[0].version
        if _holds(expected, current) and first == current + 1:
            model.setdefault(stream, []).extend(events)
            return "ok"
        return "conflict"

    def _commit(self, written: Sequence[Sequence[IssueEvent]]) -> None:
        for events in written:
            for event in events:
                self.model.setdefault(event.stream_id, []).append(event)
                self.log.append(event)
                self.positions[event.event_id] = len(self.log)

    # -- rules --------------------------------------------------------------------------

    @rule(
        stream=STREAMS,
        payloads=st.lists(any_events, max_size=3),
        shift=SHIFTS,
        mode=MODES,
    )
    def append(self, stream: str, payloads: list[IssueEvent], shift: int, mode: str) -> None:
        first = len(self.model.get(stream, [])) + 1 + shift
        if first < 1:
            first = 1
        events = self._events(stream, first, payloads)
        expected = _expected(mode, first)
        outcome = self._both(lambda s: s.append(stream, events, expected_version=expected))
        malformed = mode == "no_stream" and first != 1 and events
        if malformed:
            assert outcome[0] == "refused"
            return
        scratch = {k: list(v) for k, v in self.model.items()}
        said = self._model_append(stream, events, expected, scratch)
        assert outcome[0] == said
        if said == "ok":
            result: AppendResult = outcome[1]
            assert not result.duplicate
            self._commit([events])
            if events:
                self.appended.append((stream, events, expected))
                assert result.first_position == self.positions[events[0].event_id]
                assert result.last_position == len(self.log)
        else:
            assert outcome[1] == (stream, len(self.model.get(stream, [])))

    @precondition(lambda self: self.appended)
    @rule(data=st.data())
    def retry(self, data: Any) -> None:
        stream, events, expected = data.draw(st.sampled_from(self.appended))
        cut = data.draw(st.integers(0, len(events) - 1))
        part = events[cut:]
        outcome = self._both(lambda s: s.append(stream, part, expected_version=expected))
        if cut and isinstance(expected, int):
            assert outcome[0] == "refused"  # the expectation contradicts the versions
            return
        if cut and expected is ExpectedVersion.NO_STREAM:
            assert outcome[0] == "refused"
            return
        assert outcome[0] == "ok"
        result: AppendResult = outcome[1]
        assert result.duplicate
        assert result.version == part[-1].version
        assert result.first_position == self.positions[part[0].event_id]
        assert result.last_position == self.positions[part[-1].event_id]

    @precondition(lambda self: self.appended)
    @rule(data=st.data())
    def retry_with_a_changed_event(self, data: Any) -> None:
        stream, events, expected = data.draw(st.sampled_from(self.appended))
        changed = [*events[:-1], attrs.evolve(events[-1], actor=events[-1].actor + "!")]
        outcome = self._both(lambda s: s.append(stream, changed, expected_version=expected))
        # A stored id with other values is no retry: refused, whatever the versions.
        assert outcome == ("refused", None)

    @precondition(lambda self: self.appended)
    @rule(data=st.data(), stream=STREAMS, shift=SHIFTS, mode=MODES)
    def reuse_a_stored_event_id(self, data: Any, stream: str, shift: int, mode: str) -> None:
        _, events, _ = data.draw(st.sampled_from(self.appended))
        taken = data.draw(st.sampled_from(events)).event_id
        first = max(1, len(self.model.get(stream, [])) + 1 + shift)
        (fresh,) = self._events(stream, first, [events[0]])
        # Never identical to the stored event (that would be a retry).
        reused = attrs.evolve(fresh, event_id=taken, actor=ActorId(fresh.actor + "~"))
        expected = _expected(mode, first)
        outcome = self._both(lambda s: s.append(stream, [reused], expected_version=expected))
        assert outcome == ("refused", None)

    @rule(
        batches=st.lists(
            st.tuples(STREAMS, st.lists(any_events, min_size=1, max_size=2), SHIFTS),
            min_size=1,
            max_size=3,
        )
    )
    def append_many(self, batches: list[tuple[str, list[IssueEvent], int]]) -> None:
        scratch = {k: list(v) for k, v in self.model.items()}
        requests = []
        said = "ok"
        for stream, payloads, shift in batches:
            first = max(1, len(scratch.get(stream, [])) + 1 + shift)
            events = self._events(stream, first, payloads)
            requests.append((stream, events, first - 1))
            if said == "ok":
                said = self._model_append(stream, events, first - 1, scratch)
        outcome = self._both(lambda s: s.append_many(requests))
        assert outcome[0] == said
        if said == "ok":
            results: list[AppendResult] = outcome[1]
            before = len(self.log)
            self._commit([events for _, events, _ in requests])
            assert [r.version for r in results] == [events[-1].version for _, events, _ in requests]
            assert results[0].first_position == before + 1
            assert results[-1].last_position == len(self.log)
            for stream, events, expected in requests:
                self.appended.append((stream, events, expected))

    @rule()
    def reopen(self) -> None:
        self.sqlite.close()
        self.sqlite = SQLiteEventStore(self.path, synchronous="OFF")

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def both_stores_hold_what_the_model_holds(self) -> None:
        for store in (self.memory, self.sqlite):
            check_store(store, self.model, self.log)


def check_store(
    store: EventStore, model: dict[str, list[IssueEvent]], log: list[IssueEvent]
) -> None:
    """The store equals the model: streams, versions, the global log and positions."""
    for stream, events in model.items():
        stored = store.read_stream(stream)
        assert stored == events
        assert [e.version for e in stored] == list(range(1, len(stored) + 1))
        assert store.stream_version(stream) == len(events)
    recorded = list(store.read_all())
    assert [r.position for r in recorded] == list(range(1, len(log) + 1))
    assert [r.event for r in recorded] == log
    assert store.last_position() == len(log)
    assert list(store.stream_ids()) == list(dict.fromkeys(e.stream_id for e in log))


StoreComparison.TestCase.settings = settings(stateful_step_count=30, deadline=None)
TestStoreComparison = StoreComparison.TestCase
