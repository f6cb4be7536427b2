"""An event store in process memory: fast, thread-safe, gone when the process ends.

Events are kept as the objects given (they are immutable), in one list per stream and
one global list, so an append costs a few dictionary and list operations. It is the
default store of the service and the store the simulation appends millions of events
to; use :class:`~closedloop.store.sqlite.SQLiteEventStore` to keep them.

It takes exactly the events the SQLite store takes: each appended event is checked by
the store's :class:`~closedloop.store.codec.EventCodec`
(:meth:`~closedloop.store.codec.EventCodec.check`, the encoder's own rules without
the encoding), so an event of an unregistered class, a naive datetime, a value of the
wrong type or text with a lone surrogate raises the same
:class:`~closedloop.errors.ConfigurationError`, with the same message, here as there,
and nothing is stored. Tests that run on this store therefore hold for SQLite too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from closedloop.errors import ConfigurationError
from closedloop.store.base import (
    AppendResult,
    Batch,
    EventStore,
    ExpectedVersion,
    Recorded,
    StreamEvent,
    check_batches,
    check_events,
    check_paging,
    check_reading,
    closed_error,
    conflict,
    expectation_holds,
)
from closedloop.store.codec import EventCodec, default_codec

__all__ = ["MemoryEventStore"]

_PAGE = 1024


class MemoryEventStore(EventStore):
    """An in-memory :class:`~closedloop.store.base.EventStore`; one lock guards every call.

    Args:
        codec: the event codec whose rules appended events must meet (default:
            :func:`~closedloop.store.codec.default_codec`, every event class closedloop
            defines); pass the codec you give ``SQLiteEventStore``, with your own event
            classes registered, to store them too.

    Raises:
        ConfigurationError: ``codec`` is not an EventCodec.
    """

    __slots__ = ("_checks", "_closed", "_codec", "_ids", "_lock", "_log", "_streams")

    def __init__(self, *, codec: EventCodec | None = None) -> None:
        if codec is not None and not isinstance(codec, EventCodec):
            raise ConfigurationError(f"codec must be an EventCodec, got {codec!r}")
        self._codec = codec if codec is not None else default_codec()
        self._checks: dict[type, Callable[[Any], None]] = {}
        """Event class -> the codec's fast check (see _validate)."""
        self._lock = threading.Lock()
        self._streams: dict[str, list[StreamEvent]] = {}
        self._log: list[StreamEvent] = []
        self._ids: dict[str, int] = {}
        """event_id -> global position."""
        self._closed = False

    # -- writing ----------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[StreamEvent],
        *,
        expected_version: int | ExpectedVersion,
    ) -> AppendResult:
        """Append ``events`` to one stream, all or nothing (see :class:`EventStore`)."""
        first = check_events(stream_id, events, expected_version)
        if self._closed:
            raise closed_error(self)
        self._validate((events,))
        with self._lock:
            if self._closed:
                raise closed_error(self)
            stream = self._streams.get(stream_id)
            current = len(stream) if stream is not None else 0
            result = self._check(stream_id, events, expected_version, first, current)
            if result is not None:
                return result
            return self._write(stream_id, stream, events)

    def append_many(self, batches: Iterable[Batch]) -> list[AppendResult]:
        """Append to many streams in one atomic step (see :class:`EventStore`)."""
        checked = check_batches(batches)
        if self._closed:
            raise closed_error(self)
        self._validate([events for _, events, _, _ in checked])
        with self._lock:
            if self._closed:
                raise closed_error(self)
            # Check every batch against the store as the earlier batches will leave it,
            # then write them all: nothing is written unless everything fits.
            pending: dict[str, int] = {}
            outcomes: list[AppendResult | None] = []
            for stream_id, events, expected, first in checked:
                stream = self._streams.get(stream_id)
                stored = len(stream) if stream is not None else 0
                current = stored + pending.get(stream_id, 0)
                result = self._check(stream_id, events, expected, first, current, stored)
                outcomes.append(result)
                if result is None and events:
                    pending[stream_id] = pending.get(stream_id, 0) + len(events)
            results = []
            for (stream_id, events, _, _), outcome in zip(checked, outcomes, strict=True):
                if outcome is None:
                    outcome = self._write(stream_id, self._streams.get(stream_id), events)
                results.append(outcome)
            return results

    def _validate(self, groups: Iterable[Sequence[StreamEvent]]) -> None:
        """Refuse, as the codec does, an event a store that encodes it would refuse.

        The fast path calls each class's compiled check; when one raises (or a class
        is new to this store), every event is checked again through the codec, which
        raises the precise ConfigurationError for the first bad one, in order.
        """
        checks = self._checks
        try:
            for events in groups:
                for event in events:
                    checks[event.__class__](event)
            return
        except Exception:
            pass
        codec = self._codec
        for events in groups:
            for event in events:
                codec.check(event)
                if event.__class__ not in checks:
                    checks[event.__class__] = codec.checker(event.__class__)

    def _stored(self, event_id: str) -> StreamEvent | None:
        """The stored event with this id, or None."""
        position = self._ids.get(event_id)
        return None if position is None else self._log[position - 1]

    def _check(
        self,
        stream_id: str,
        events: Sequence[StreamEvent],
        expected: int | ExpectedVersion,
        first: int,
        current: int,
        stored: int | None = None,
    ) -> AppendResult | None:
        """None when the events may be written; the result of a duplicate; else raise.

        ``current`` is the stream's version as earlier batches of the same call leave
        it, ``stored`` (when different) its version in the store.
        """
        if not events:
            if not expectation_holds(expected, current):
                raise conflict(stream_id, expected, 1, current)
            return AppendResult(stream_id, current, 0, 0)
        ids = self._ids
        if first <= current:
            # The versions are taken: fine only if by exactly these events (a retry).
            limit = current if stored is None else stored
            stream = self._streams.get(stream_id, [])
            last = events[-1].version
            if last > limit or any(
                stream[e.version - 1].event_id != e.event_id or stream[e.version - 1] != e
                for e in events
            ):
                raise conflict(stream_id, expected, first, current, events, self._stored)
            return AppendResult(
                stream_id, last, ids[events[0].event_id], ids[events[-1].event_id], True
            )
        if not expectation_holds(expected, current) or first != current + 1:
            raise conflict(stream_id, expected, first, current, events, self._stored)
        for event in events:
            if event.event_id in ids:
                # These versions are free, so the stored id belongs to another event.
                raise conflict(stream_id, expected, first, current, events, self._stored)
        return None

    def _write(
        self, stream_id: str, stream: list[StreamEvent] | None, events: Sequence[StreamEvent]
    ) -> AppendResult:
        if stream is None:
            stream = self._streams[stream_id] = []
        log = self._log
        ids = self._ids
        start = len(log) + 1
        stream.extend(events)
        log.extend(events)
        for position, event in enumerate(events, start):
            ids[event.event_id] = position
        return AppendResult(stream_id, len(stream), start, len(log))

    # -- reading ----------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StreamEvent]:
        """The stream's events with a version above ``after_version``, oldest first."""
        check_reading(stream_id, after_version)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            stream = self._streams.get(stream_id)
            return stream[after_version:] if stream is not None else []

    def stream_version(self, stream_id: str) -> int:
        """The version of the stream's last event (0 when it does not exist)."""
        check_reading(stream_id, 0)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            stream = self._streams.get(stream_id)
            return len(stream) if stream is not None else 0

    def read_all(self, *, after_position: int = 0, limit: int | None = None) -> Iterator[Recorded]:
        """Events in global order after ``after_position``, at most ``limit`` of them."""
        check_paging(after_position, limit)
        with self._lock:
            if self._closed:
                raise closed_error(self)
        return self._pages(after_position, limit)

    def _pages(self, after: int, limit: int | None) -> Iterator[Recorded]:
        remaining = limit if limit is not None else -1
        while remaining:
            size = _PAGE if remaining < 0 else min(_PAGE, remaining)
            with self._lock:
                if self._closed:
                    raise closed_error(self)
                page = self._log[after : after + size]
            if not page:
                return
            for position, event in enumerate(page, after + 1):
                yield Recorded(position, event)
            after += len(page)
            if remaining > 0:
                remaining -= len(page)

    def last_position(self) -> int:
        """The global position of the last event (0 when empty)."""
        with self._lock:
            if self._closed:
                raise closed_error(self)
            return len(self._log)

    def stream_ids(self) -> Iterator[str]:
        """Every stream id, in the order the streams were created."""
        with self._lock:
            if self._closed:
                raise closed_error(self)
            return iter(list(self._streams))

    # -- life cycle ---------------------------------------------------------------------

    @property
    def codec(self) -> EventCodec:
        """The codec whose rules appended events are checked against."""
        return self._codec

    def close(self) -> None:
        """Drop every event; later calls raise StoreClosedError."""
        with self._lock:
            self._closed = True
            self._streams = {}
            self._log = []
            self._ids = {}

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __len__(self) -> int:
        """The number of stored events."""
        return len(self._log)

    def __repr__(self) -> str:
        if self._closed:
            return "<MemoryEventStore closed>"
        return f"<MemoryEventStore {len(self._streams)} streams, {len(self._log)} events>"
