"""The contract every event store keeps, as a test base class.

Subclass :class:`EventStoreContract` and implement :meth:`~EventStoreContract.make_store`;
pytest then runs every test below against that backend (``test_store_contract.py``
does so for the in-memory store, SQLite in memory and a SQLite file).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar, cast

import attrs
import pytest

from closedloop.errors import (
    ConcurrencyError,
    ConfigurationError,
    DuplicateEventError,
    StoreClosedError,
)
from closedloop.ids import DepartmentId, EventId, IssueId
from closedloop.lifecycle.events import IssueAssigned
from closedloop.store import EventStore, ExpectedVersion, Recorded
from closedloop.store.base import Batch
from tests.store_strategies import lifecycle, notes, versions

ANY = ExpectedVersion.ANY
NO_STREAM = ExpectedVersion.NO_STREAM
STREAM_EXISTS = ExpectedVersion.STREAM_EXISTS


@attrs.frozen(kw_only=True)
class Unregistered:
    """An event class no codec of the tests knows."""

    KIND: ClassVar[str] = "Unregistered"
    event_id: str
    stream_id: str
    version: int
    occurred_at: datetime


def _nothing_stored(store: EventStore) -> None:
    assert store.last_position() == 0
    assert list(store.read_all()) == []
    assert list(store.stream_ids()) == []


class EventStoreContract(ABC):
    """Tests of the guarantees of :class:`~closedloop.store.EventStore`."""

    @abstractmethod
    def make_store(self) -> EventStore:
        """A new, empty store (closed by the fixture after the test)."""

    @pytest.fixture
    def store(self) -> Iterator[EventStore]:
        store = self.make_store()
        yield store
        store.close()

    # -- append and read ----------------------------------------------------------------

    def test_append_then_read_the_stream(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        result = store.append("I-1", events, expected_version=NO_STREAM)
        assert result.stream_id == "I-1"
        assert result.version == 6
        assert (result.first_position, result.last_position) == (1, 6)
        assert not result.duplicate
        assert store.read_stream("I-1") == events
        assert store.stream_version("I-1") == 6

    def test_every_field_comes_back_equal(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events, expected_version=0)
        for stored, given in zip(store.read_stream("I-1"), events, strict=True):
            assert type(stored) is type(given)
            assert stored == given
            assert stored.occurred_at == given.occurred_at

    def test_appends_continue_a_stream(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events[:2], expected_version=0)
        result = store.append("I-1", events[2:], expected_version=2)
        assert result.version == 6
        assert (result.first_position, result.last_position) == (3, 6)
        assert store.read_stream("I-1") == events

    def test_read_after_a_version(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events, expected_version=0)
        assert store.read_stream("I-1", after_version=4) == events[4:]
        assert store.read_stream("I-1", after_version=6) == []
        assert store.read_stream("I-1", after_version=99) == []

    def test_an_unknown_stream_is_empty(self, store: EventStore) -> None:
        assert store.read_stream("nobody") == []
        assert store.stream_version("nobody") == 0
        assert store.last_position() == 0
        assert list(store.read_all()) == []
        assert list(store.stream_ids()) == []

    @pytest.mark.parametrize("after", [-1, True, 1.0, "1"])
    def test_bad_after_version_is_refused(self, store: EventStore, after: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.read_stream("I-1", after_version=after)

    @pytest.mark.parametrize("stream", [7, None, ["I-1"]])
    def test_reading_a_stream_id_that_is_not_text_is_refused(
        self, store: EventStore, stream: Any
    ) -> None:
        with pytest.raises(ConfigurationError):
            store.read_stream(stream)
        with pytest.raises(ConfigurationError):
            store.stream_version(stream)

    def test_a_huge_after_version_reads_nothing(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        assert store.read_stream("I-1", after_version=2**80) == []

    # -- expected versions ------------------------------------------------------------

    def test_a_stale_exact_version_conflicts(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events[:3], expected_version=0)
        stale = notes("I-1", 3, 1, salt="stale")
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", stale, expected_version=2)
        assert (caught.value.stream_id, caught.value.expected, caught.value.actual) == ("I-1", 2, 3)
        assert store.read_stream("I-1") == events[:3]

    def test_no_stream(self, store: EventStore) -> None:
        store.append("I-1", lifecycle("I-1")[:1], expected_version=NO_STREAM)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", notes("I-1", 1, 1, salt="x"), expected_version=NO_STREAM)
        assert caught.value.expected is NO_STREAM
        assert caught.value.actual == 1

    def test_exact_zero_means_no_stream(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", notes("I-1", 1, 1, salt="x"), expected_version=0)
        assert (caught.value.expected, caught.value.actual) == (0, 1)

    def test_stream_exists(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", notes("I-1", 1, 1), expected_version=STREAM_EXISTS)
        assert caught.value.expected is STREAM_EXISTS
        assert caught.value.actual == 0
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        result = store.append("I-1", notes("I-1", 2, 2), expected_version=STREAM_EXISTS)
        assert result.version == 3

    def test_any_still_needs_the_next_version(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 2), expected_version=ANY)
        assert store.append("I-1", notes("I-1", 3, 1), expected_version=ANY).version == 3
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", notes("I-1", 3, 1, salt="again"), expected_version=ANY)
        assert (caught.value.expected, caught.value.actual) == (2, 3)
        with pytest.raises(ConcurrencyError) as caught:
            store.append("I-1", notes("I-1", 5, 1), expected_version=ANY)
        assert (caught.value.expected, caught.value.actual) == (4, 3)
        assert versions(store.read_stream("I-1")) == [1, 2, 3]

    def test_an_empty_append_checks_the_expectation(self, store: EventStore) -> None:
        assert store.append("I-1", [], expected_version=NO_STREAM).version == 0
        store.append("I-1", notes("I-1", 1, 2), expected_version=0)
        result = store.append("I-1", [], expected_version=2)
        assert (result.version, result.first_position, result.last_position) == (2, 0, 0)
        with pytest.raises(ConcurrencyError):
            store.append("I-1", [], expected_version=1)
        assert store.last_position() == 2

    # -- malformed requests -------------------------------------------------------------

    def test_events_of_another_stream_are_refused(self, store: EventStore) -> None:
        with pytest.raises(ConfigurationError, match="belongs to stream"):
            store.append("I-2", lifecycle("I-1"), expected_version=0)

    def test_versions_with_a_gap_are_refused(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        with pytest.raises(ConfigurationError, match="consecutive"):
            store.append("I-1", [events[0], events[2]], expected_version=0)

    def test_an_expectation_the_versions_contradict_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ConfigurationError, match="expected_version 3"):
            store.append("I-1", notes("I-1", 1, 1), expected_version=3)
        with pytest.raises(ConfigurationError, match="NO_STREAM"):
            store.append("I-1", notes("I-1", 2, 1), expected_version=NO_STREAM)

    def test_version_zero_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ConfigurationError):
            store.append("I-1", notes("I-1", 0, 1), expected_version=ANY)

    def test_a_repeated_event_id_in_a_batch_is_refused(self, store: EventStore) -> None:
        first, second = notes("I-1", 1, 2)
        twin = attrs.evolve(second, event_id=first.event_id)
        with pytest.raises(ConfigurationError, match="repeats"):
            store.append("I-1", [first, twin], expected_version=0)

    @pytest.mark.parametrize("expected", [-1, True, 1.5, "0", None])
    def test_bad_expected_versions_are_refused(self, store: EventStore, expected: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.append("I-1", notes("I-1", 1, 1), expected_version=expected)

    @pytest.mark.parametrize("stream", ["", 7, None])
    def test_bad_stream_ids_are_refused(self, store: EventStore, stream: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.append(stream, [], expected_version=ANY)

    def test_things_that_are_not_events_are_refused(self, store: EventStore) -> None:
        with pytest.raises(ConfigurationError):
            store.append("I-1", iter(notes("I-1", 1, 1)), expected_version=0)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError):
            store.append("I-1", ["not an event"], expected_version=0)  # type: ignore[list-item]
        with pytest.raises(ConfigurationError):
            store.append_many([("I-1", notes("I-1", 1, 1))])  # type: ignore[list-item]
        assert store.last_position() == 0

    # -- atomicity --------------------------------------------------------------------

    def test_append_many_writes_every_batch(self, store: EventStore) -> None:
        results = store.append_many(
            [("I-1", lifecycle("I-1"), 0), ("I-2", lifecycle("I-2")[:2], NO_STREAM)]
        )
        assert [(r.stream_id, r.version, r.first_position, r.last_position) for r in results] == [
            ("I-1", 6, 1, 6),
            ("I-2", 2, 7, 8),
        ]
        assert [r.event.stream_id for r in store.read_all()] == ["I-1"] * 6 + ["I-2"] * 2

    def test_a_batch_with_one_conflict_writes_nothing(self, store: EventStore) -> None:
        store.append("I-2", notes("I-2", 1, 1), expected_version=0)
        with pytest.raises(ConcurrencyError) as caught:
            store.append_many(
                [
                    ("I-1", lifecycle("I-1"), 0),
                    ("I-2", notes("I-2", 1, 1, salt="stale"), 0),
                    ("I-3", lifecycle("I-3"), 0),
                ]
            )
        assert caught.value.stream_id == "I-2"
        assert store.last_position() == 1
        assert store.read_stream("I-1") == []
        assert store.read_stream("I-3") == []
        assert list(store.stream_ids()) == ["I-2"]

    def test_a_later_batch_may_continue_an_earlier_one(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        results = store.append_many([("I-1", events[:2], 0), ("I-1", events[2:], 2)])
        assert [r.version for r in results] == [2, 6]
        assert store.read_stream("I-1") == events

    def test_an_event_id_in_two_batches_is_refused(self, store: EventStore) -> None:
        with pytest.raises(ConfigurationError):
            store.append_many([("I-1", notes("I-1", 1, 1), 0), ("I-1", notes("I-1", 1, 1), 0)])

    def test_append_many_of_nothing(self, store: EventStore) -> None:
        assert store.append_many([]) == []

    # -- idempotency ------------------------------------------------------------------

    def test_a_retry_of_stored_events_is_a_no_op(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        first = store.append("I-1", events[:3], expected_version=0)
        again = store.append("I-1", events[:3], expected_version=0)
        assert again.duplicate
        assert (again.version, again.first_position, again.last_position) == (3, 1, 3)
        assert first._replace(duplicate=True) == again
        assert store.last_position() == 3
        # Still recognised after the stream moved on.
        store.append("I-1", events[3:], expected_version=3)
        late = store.append("I-1", events[1:3], expected_version=1)
        assert late.duplicate
        assert (late.version, late.first_position, late.last_position) == (3, 2, 3)
        assert store.read_stream("I-1") == events

    def test_a_retry_inside_append_many_is_a_no_op(self, store: EventStore) -> None:
        store.append("I-1", lifecycle("I-1"), expected_version=0)
        results = store.append_many([("I-1", lifecycle("I-1"), 0), ("I-2", lifecycle("I-2"), 0)])
        assert [r.duplicate for r in results] == [True, False]
        assert store.last_position() == 12

    def test_a_partial_overlap_conflicts(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events[:3], expected_version=0)
        with pytest.raises(ConcurrencyError):
            store.append("I-1", events[2:5], expected_version=2)
        assert versions(store.read_stream("I-1")) == [1, 2, 3]

    def test_a_different_event_under_a_stored_id_is_refused(self, store: EventStore) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events[:2], expected_version=0)
        changed = attrs.evolve(cast(IssueAssigned, events[1]), policy="other@2")
        message = (
            "event_id 'I-1/2' is already stored, in stream 'I-1' at version 2, with other "
            "values: appending it to stream 'I-1' again is no retry of the stored event; "
            "a new event needs a new event_id"
        )
        with pytest.raises(DuplicateEventError) as caught:
            store.append("I-1", [changed], expected_version=1)
        assert str(caught.value) == message
        # Also when it comes with the stored events before it, or after the stream moved.
        with pytest.raises(DuplicateEventError, match="'I-1/2' is already stored"):
            store.append("I-1", [events[0], changed], expected_version=0)
        store.append("I-1", events[2:], expected_version=2)
        with pytest.raises(DuplicateEventError, match="'I-1/2' is already stored"):
            store.append("I-1", [changed], expected_version=ANY)
        assert store.read_stream("I-1") == events
        assert store.last_position() == 6

    def test_an_event_id_stored_in_another_stream_is_refused(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        borrowed = attrs.evolve(notes("I-2", 1, 1)[0], event_id=EventId("I-1/1"))
        message = (
            "event_id 'I-1/1' is already stored, in stream 'I-1' at version 1, so it cannot "
            "be appended to stream 'I-2' at version 1: event ids are unique in the whole "
            "store; a new event needs a new event_id"
        )
        with pytest.raises(DuplicateEventError) as caught:
            store.append("I-2", [borrowed], expected_version=0)
        assert str(caught.value) == message
        assert not isinstance(caught.value, ConcurrencyError)
        assert (caught.value.event_id, caught.value.stream_id) == ("I-1/1", "I-2")
        assert (caught.value.stored_stream_id, caught.value.stored_version) == ("I-1", 1)
        with pytest.raises(DuplicateEventError) as caught:
            store.append_many([("I-3", notes("I-3", 1, 1), 0), ("I-2", [borrowed], 0)])
        assert str(caught.value) == message
        assert store.last_position() == 1
        assert store.read_stream("I-2") == []
        assert store.read_stream("I-3") == []
        assert list(store.stream_ids()) == ["I-1"]

    def test_a_reused_event_id_is_reported_before_the_versions(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 2), expected_version=0)
        store.append("I-2", notes("I-2", 1, 1), expected_version=0)
        reused = attrs.evolve(notes("I-2", 2, 1)[0], event_id=EventId("I-1/2"))
        where = "'I-1/2' is already stored, in stream 'I-1' at version 2"
        for stream, version, expected in (
            ("I-2", 2, 1),  # the versions fit
            ("I-3", 1, STREAM_EXISTS),  # the expectation does not hold
            ("I-2", 1, ANY),  # the version is taken
            ("I-2", 3, ANY),  # the version leaves a gap
        ):
            event = attrs.evolve(reused, issue_id=IssueId(stream), version=version)
            with pytest.raises(DuplicateEventError, match=f"{where}, so it cannot be appended"):
                store.append(stream, [event], expected_version=expected)
        # The same id in the same stream at another version.
        moved = attrs.evolve(notes("I-1", 3, 1)[0], event_id=EventId("I-1/1"))
        with pytest.raises(
            DuplicateEventError, match="cannot be appended to stream 'I-1' at version 3"
        ):
            store.append("I-1", [moved], expected_version=2)
        assert store.last_position() == 3

    def test_a_retry_is_still_recognised_beside_the_reused_id_checks(
        self, store: EventStore
    ) -> None:
        events = lifecycle("I-1")
        store.append("I-1", events, expected_version=0)
        store.append("I-2", lifecycle("I-2"), expected_version=0)
        again = store.append("I-1", events[2:4], expected_version=ANY)
        assert again.duplicate
        assert (again.first_position, again.last_position) == (3, 4)
        # A partial overlap is a conflict, not a reused id: the stored part is identical.
        with pytest.raises(ConcurrencyError):
            store.append("I-1", [*events[4:], *notes("I-1", 7, 1)], expected_version=4)
        assert store.last_position() == 12

    # -- events the codec cannot write -------------------------------------------------

    def test_a_naive_datetime_is_refused(self, store: EventStore) -> None:
        naive = attrs.evolve(notes("I-1", 1, 1)[0], occurred_at=datetime(2025, 3, 3, 9))
        with pytest.raises(ConfigurationError) as caught:
            store.append("I-1", [naive], expected_version=0)
        assert str(caught.value) == (
            "cannot encode IssueSuspended: field 'occurred_at' must be an ISO 8601 "
            "date-time with a UTC offset, got a datetime"
        )
        _nothing_stored(store)

    def test_an_offset_with_a_fraction_of_a_second_is_refused(self, store: EventStore) -> None:
        odd = timezone(timedelta(hours=8, microseconds=1))
        event = attrs.evolve(notes("I-1", 1, 1)[0], occurred_at=datetime(2025, 3, 3, 9, tzinfo=odd))
        with pytest.raises(ConfigurationError, match="'occurred_at'"):
            store.append("I-1", [event], expected_version=0)
        _nothing_stored(store)

    @pytest.mark.parametrize(
        ("change", "message"),
        [
            ({"reason": 5}, "field 'reason' must be a string, got 5"),
            ({"reason": None}, "field 'reason' must be a string, got None"),
            ({"actor": b"a"}, "field 'actor' must be a string, got a bytes"),
            ({"actor": ["a"]}, "field 'actor' must be a string, got a list of 1 items"),
        ],
    )
    def test_a_value_of_the_wrong_type_is_refused(
        self, store: EventStore, change: dict[str, Any], message: str
    ) -> None:
        event = attrs.evolve(notes("I-1", 1, 1)[0], **change)
        with pytest.raises(ConfigurationError) as caught:
            store.append("I-1", [event], expected_version=0)
        assert str(caught.value) == f"cannot encode IssueSuspended: {message}"
        _nothing_stored(store)

    def test_a_wrong_type_in_a_nested_value_or_a_tuple_is_refused(self, store: EventStore) -> None:
        assigned = cast(IssueAssigned, lifecycle("I-1")[1])
        for change, field in (
            ({"co_handlers": ("water", 3)}, "co_handlers"),
            ({"co_handlers": ["water"]}, "co_handlers"),
            ({"limit": "3 days"}, "limit"),
            ({"due_date": assigned.due_at}, "due_date"),
            ({"provisional": 1}, "provisional"),
        ):
            event = attrs.evolve(assigned, version=1, **change)
            with pytest.raises(ConfigurationError, match=f"field '{field}'"):
                store.append("I-1", [event], expected_version=0)
        _nothing_stored(store)

    @pytest.mark.parametrize("field", ["reason", "actor", "event_id"])
    def test_a_lone_surrogate_is_refused(self, store: EventStore, field: str) -> None:
        change: dict[str, Any] = {field: "bad \ud800 text"}
        event = attrs.evolve(notes("I-1", 1, 1)[0], **change)
        with pytest.raises(ConfigurationError) as caught:
            store.append("I-1", [event], expected_version=0)
        assert str(caught.value) == (
            f"cannot encode IssueSuspended: field {field!r} holds a lone surrogate "
            f"('\\ud800'), which is not valid Unicode text; got 'bad \\ud800 text'"
        )
        _nothing_stored(store)

    def test_a_lone_surrogate_in_a_nested_text_is_refused(self, store: EventStore) -> None:
        assigned = cast(IssueAssigned, lifecycle("I-1")[1])
        event = attrs.evolve(
            assigned, version=1, co_handlers=(DepartmentId("water"), DepartmentId("\udfff"))
        )
        with pytest.raises(ConfigurationError, match="field 'co_handlers' holds a lone surrogate"):
            store.append("I-1", [event], expected_version=0)
        _nothing_stored(store)

    def test_a_stream_id_with_a_lone_surrogate_is_refused(self, store: EventStore) -> None:
        stream = "I-\ud800"
        with pytest.raises(ConfigurationError, match="valid Unicode"):
            store.append(stream, notes(stream, 1, 1), expected_version=0)
        with pytest.raises(ConfigurationError, match="valid Unicode"):
            store.read_stream(stream)
        with pytest.raises(ConfigurationError, match="valid Unicode"):
            store.stream_version(stream)
        _nothing_stored(store)

    def test_an_event_of_an_unregistered_class_is_refused(self, store: EventStore) -> None:
        event = Unregistered(
            event_id="u-1", stream_id="U", version=1, occurred_at=datetime.now(UTC)
        )
        with pytest.raises(ConfigurationError) as caught:
            store.append("U", [event], expected_version=0)
        assert str(caught.value) == (
            "Unregistered is not registered with this codec; "
            "register it with codec.register(Unregistered)"
        )
        _nothing_stored(store)

    def test_a_bad_event_in_any_batch_writes_nothing(self, store: EventStore) -> None:
        store.append("I-9", notes("I-9", 1, 1), expected_version=0)
        bad = attrs.evolve(notes("I-2", 1, 1)[0], occurred_at=datetime(2025, 3, 3))
        good = lifecycle("I-1")
        calls: list[list[Batch]] = [
            [("I-1", good, 0), ("I-2", [bad], 0)],
            [("I-1", good[:2], 0), ("I-1", good[2:], 2), ("I-2", [bad], 0)],
            # Refused before the store is consulted: even beside a batch that conflicts.
            [("I-9", notes("I-9", 1, 1, salt="x"), 0), ("I-2", [bad], 0)],
        ]
        for batches in calls:
            with pytest.raises(ConfigurationError, match="'occurred_at'"):
                store.append_many(batches)
        assert store.last_position() == 1
        assert list(store.stream_ids()) == ["I-9"]
        # The store still works, and a retry of a bad event is no retry.
        store.append("I-1", good, expected_version=0)
        with pytest.raises(ConfigurationError):
            store.append(
                "I-1", [attrs.evolve(good[0], occurred_at=datetime(2025, 3, 3))], expected_version=0
            )
        assert store.read_stream("I-1") == good

    # -- the global log ----------------------------------------------------------------

    def test_read_all_is_in_commit_order_with_contiguous_positions(self, store: EventStore) -> None:
        a, b = lifecycle("A"), lifecycle("B")
        store.append("A", a[:2], expected_version=0)
        store.append("B", b[:3], expected_version=0)
        store.append("A", a[2:], expected_version=2)
        recorded = list(store.read_all())
        assert [r.position for r in recorded] == list(range(1, 10))
        assert [r.event for r in recorded] == a[:2] + b[:3] + a[2:]
        assert all(isinstance(r, Recorded) for r in recorded)
        assert store.last_position() == 9
        assert list(store.stream_ids()) == ["A", "B"]

    def test_read_all_pages(self, store: EventStore) -> None:
        for i in range(7):
            store.append(f"S{i}", notes(f"S{i}", 1, 3), expected_version=0)
        everything = list(store.read_all())
        assert len(everything) == 21
        assert list(store.read_all(after_position=5)) == everything[5:]
        assert list(store.read_all(after_position=5, limit=4)) == everything[5:9]
        assert list(store.read_all(limit=0)) == []
        assert list(store.read_all(after_position=21)) == []
        assert list(store.read_all(after_position=100, limit=3)) == []
        # Paging by the last position seen visits every event once.
        seen: list[Recorded] = []
        while page := list(store.read_all(after_position=len(seen), limit=4)):
            seen.extend(page)
        assert seen == everything
        # A pair unpacks as (position, event).
        position, event = everything[0]
        assert (position, event) == (1, everything[0].event)

    def test_read_all_over_many_pages(self, store: EventStore) -> None:
        batches = [(f"S{i}", notes(f"S{i}", 1, 3), 0) for i in range(700)]
        store.append_many(batches)
        positions = [r.position for r in store.read_all()]
        assert positions == list(range(1, 2101))
        assert [r.position for r in store.read_all(after_position=1000, limit=1050)] == list(
            range(1001, 2051)
        )

    @pytest.mark.parametrize(
        ("after", "limit"), [(-1, None), (True, None), (0, -1), (0, 1.5), ("0", None)]
    )
    def test_bad_paging_is_refused(self, store: EventStore, after: Any, limit: Any) -> None:
        with pytest.raises(ConfigurationError):
            store.read_all(after_position=after, limit=limit)

    # -- closing ----------------------------------------------------------------------

    def test_a_closed_store_refuses_every_call(self, store: EventStore) -> None:
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        pending = store.read_all()
        store.close()
        assert store.closed
        store.close()  # again: nothing happens
        calls: list[Callable[[], object]] = [
            lambda: store.append("I-1", notes("I-1", 2, 1), expected_version=1),
            lambda: store.append_many([]),
            lambda: store.read_stream("I-1"),
            lambda: store.stream_version("I-1"),
            lambda: list(store.read_all()),
            lambda: store.last_position(),
            lambda: list(store.stream_ids()),
            lambda: next(pending),
            lambda: store.__enter__(),
        ]
        for call in calls:
            with pytest.raises(StoreClosedError):
                call()

    def test_a_with_block_closes_the_store(self) -> None:
        with self.make_store() as store:
            store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        assert store.closed

    # -- threads ----------------------------------------------------------------------

    def test_threads_appending_keep_streams_and_positions_gap_free(self, store: EventStore) -> None:
        errors: list[BaseException] = []
        wins = {"shared": 0}
        lock = threading.Lock()

        def work(n: int) -> None:
            try:
                for i in range(40):
                    stream = f"T{n}-{i}"
                    store.append(stream, notes(stream, 1, 2), expected_version=0)
                    version = store.stream_version("shared")
                    try:
                        store.append(
                            "shared",
                            notes("shared", version + 1, 1, salt=f"-{n}-{i}"),
                            expected_version=version,
                        )
                    except ConcurrencyError:
                        continue
                    with lock:
                        wins["shared"] += 1
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        recorded = list(store.read_all())
        assert [r.position for r in recorded] == list(range(1, len(recorded) + 1))
        assert versions(store.read_stream("shared")) == list(range(1, wins["shared"] + 1))
        assert len(recorded) == 4 * 40 * 2 + wins["shared"]
