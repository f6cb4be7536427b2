"""The event-store port: what every backend promises, and the checks they share.

An event store keeps one *stream* of events per aggregate (per issue) and one global
log of every event in the order it was committed. It promises:

* **Optimistic concurrency.** Each append states what it expects of the stream: an
  exact version (an ``int``; ``0`` means "no stream yet"),
  :attr:`ExpectedVersion.NO_STREAM`, :attr:`ExpectedVersion.STREAM_EXISTS` or
  :attr:`ExpectedVersion.ANY`. If the stream is not in that state the append raises
  :class:`~closedloop.errors.ConcurrencyError` and writes nothing. Whatever the mode,
  the events must continue the stream: their versions are ``current + 1``,
  ``current + 2`` ... with no gap.
* **Atomicity.** An append, and a whole :meth:`EventStore.append_many` of many streams,
  is all or nothing.
* **Idempotency.** Events carry a client-made ``event_id``, unique in the whole store.
  Appending events that are already stored, identical and at the same versions (a
  retry after a timeout or a crash whose outcome was unknown) succeeds without writing
  anything and says so in :attr:`AppendResult.duplicate`. A retry that only partly
  overlaps what is stored raises ``ConcurrencyError``. An ``event_id`` that is stored
  with a different event (in another stream, at another version, or with other
  values) is no retry and no race, and retrying cannot help: it raises
  :class:`~closedloop.errors.DuplicateEventError` naming the id, the stream that holds
  it and the stream appended to, whatever the versions, and nothing is written.
* **Global order.** Every stored event has a position in the global log: 1, 2, 3 ...
  with no gap, in commit order, so projections can follow the log with
  :meth:`EventStore.read_all` and resume from the last position they saw.

Malformed requests (events of another stream, versions with holes, an expected version
that contradicts the events' own versions) are the caller's bug and raise
:class:`~closedloop.errors.ConfigurationError` before anything is looked up. So do
events the store's :class:`~closedloop.store.codec.EventCodec` cannot write (a class
it does not know, a value that does not fit its field's type such as a naive
datetime, text with a lone surrogate): every backend checks each event the same way,
with :meth:`~closedloop.store.codec.EventCodec.check` or by encoding it, before the
store is consulted.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import TracebackType
from typing import NamedTuple, Self, TypeAlias

from closedloop._checks import utf8_text
from closedloop.errors import (
    ConcurrencyError,
    ConfigurationError,
    DuplicateEventError,
    StoreClosedError,
)
from closedloop.eventlog import Recorded, StreamEvent

__all__ = [
    "AppendResult",
    "Batch",
    "EventStore",
    "ExpectedVersion",
    "Recorded",
    "StreamEvent",
]


class ExpectedVersion(enum.Enum):
    """What an append expects of a stream, besides an exact version given as an ``int``."""

    __hash__ = object.__hash__

    ANY = "any"
    """Whatever the stream's version (the events must still continue it)."""
    NO_STREAM = "no_stream"
    """The stream has no event yet (the same as the exact version ``0``)."""
    STREAM_EXISTS = "stream_exists"
    """The stream has at least one event."""

    def __str__(self) -> str:
        return self.value


Batch: TypeAlias = "tuple[str, Sequence[StreamEvent], int | ExpectedVersion]"
"""One stream's part of :meth:`EventStore.append_many`: ``(stream_id, events, expected)``."""


class AppendResult(NamedTuple):
    """What an append did to one stream.

    ``first_position`` and ``last_position`` are the global positions of the first and
    last event appended (for a duplicate, of the events already stored). Both are 0
    when no event was given.
    """

    stream_id: str
    version: int
    """The stream's version after the append (for a duplicate: the last event's version)."""
    first_position: int
    last_position: int
    duplicate: bool = False
    """Whether every event was already stored (a retry): nothing was written."""


class EventStore(ABC):
    """The port every event store implements; see the module docs for the guarantees.

    Stores are context managers: leaving the ``with`` block closes them, and a closed
    store raises :class:`~closedloop.errors.StoreClosedError` on every use except
    :meth:`close`, which may be called again.
    """

    __slots__ = ()

    def append(
        self,
        stream_id: str,
        events: Sequence[StreamEvent],
        *,
        expected_version: int | ExpectedVersion,
    ) -> AppendResult:
        """Append ``events`` to one stream, all or nothing.

        Raises:
            ConcurrencyError: the stream is not as expected, or the events do not
                continue it (and are not a retry of stored events).
            ConfigurationError: a malformed request, or an event the store cannot write.
            DuplicateEventError: an ``event_id`` already stored with a different event
                (see the module docs).
            StoreClosedError: the store was closed.
        """
        return self.append_many([(stream_id, events, expected_version)])[0]

    @abstractmethod
    def append_many(self, batches: Iterable[Batch]) -> list[AppendResult]:
        """Append to many streams in one atomic step; one result per batch, in order.

        Batches are applied in order, so a later batch may continue a stream an earlier
        one wrote. If any batch fails, none is written.
        """

    @abstractmethod
    def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StreamEvent]:
        """The stream's events with a version above ``after_version``, oldest first.

        An unknown stream reads as empty.
        """

    @abstractmethod
    def stream_version(self, stream_id: str) -> int:
        """The version of the stream's last event (0 when the stream does not exist)."""

    @abstractmethod
    def read_all(self, *, after_position: int = 0, limit: int | None = None) -> Iterator[Recorded]:
        """Events in global order, from the one after ``after_position``, at most ``limit``.

        The iterator reads lazily, in pages; events committed while it runs may or may
        not be included. Arguments are checked when it is created.
        """

    @abstractmethod
    def last_position(self) -> int:
        """The global position of the last stored event (0 when the store is empty)."""

    @abstractmethod
    def stream_ids(self) -> Iterator[str]:
        """Every stream id, in the order the streams were created."""

    @abstractmethod
    def close(self) -> None:
        """Release the store's resources; calling it again does nothing."""

    @property
    @abstractmethod
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""

    def __enter__(self) -> Self:
        if self.closed:
            raise StoreClosedError(f"{type(self).__name__} is closed")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# -- checks shared by the backends ----------------------------------------------------


def closed_error(store: object) -> StoreClosedError:
    """The error for using ``store`` after close()."""
    return StoreClosedError(f"{type(store).__name__} is closed; open a new one")


def check_events(
    stream_id: str, events: Sequence[StreamEvent], expected: int | ExpectedVersion
) -> int:
    """Check that a batch is well formed on its own, before the store is consulted.

    Returns the first event's version (0 for an empty batch).

    Raises:
        ConfigurationError: a bad stream id (not a non-empty string, or holding a lone
            surrogate) or expected version, events of another stream, versions that
            are not consecutive positive ints, event ids that are not unique non-empty
            strings, or an expected version that the events' own versions contradict.
    """
    if type(stream_id) is not str or not stream_id or not utf8_text(stream_id):
        raise ConfigurationError(
            f"a stream id must be a non-empty string of valid Unicode text, got {stream_id!r}"
        )
    if type(expected) is int:
        if expected < 0:
            raise ConfigurationError(
                f"stream {stream_id!r}: expected_version must be >= 0, got {expected}"
            )
    elif not isinstance(expected, ExpectedVersion):
        raise ConfigurationError(
            f"stream {stream_id!r}: expected_version must be an int or an ExpectedVersion, "
            f"got {expected!r}"
        )
    if not isinstance(events, list | tuple | Sequence):
        raise ConfigurationError(
            f"stream {stream_id!r}: events must be a sequence (a list or a tuple), "
            f"got {type(events).__name__}"
        )
    if not events:
        return 0
    try:
        first = events[0].version
        ids = set()
        for i, event in enumerate(events):
            version = event.version
            eid = event.event_id
            sid = event.stream_id
            if sid != stream_id:
                raise ConfigurationError(
                    f"event {i} (version {version!r}) belongs to stream {sid!r}, "
                    f"not to {stream_id!r}"
                )
            if type(version) is not int or version != first + i or version < 1:
                raise ConfigurationError(
                    f"stream {stream_id!r}: event versions must be consecutive positive "
                    f"ints; event {i} has version {version!r} after {first!r}"
                )
            if type(eid) is not str or not eid:
                raise ConfigurationError(
                    f"stream {stream_id!r}: event {i} has event_id {eid!r}; "
                    f"it must be a non-empty string"
                )
            ids.add(eid)
    except AttributeError as exc:
        raise ConfigurationError(
            f"stream {stream_id!r}: not an event (it needs event_id, stream_id and version): {exc}"
        ) from None
    if len(ids) != len(events):
        raise ConfigurationError(f"stream {stream_id!r}: the batch repeats an event_id")
    if type(expected) is int and first != expected + 1:
        raise ConfigurationError(
            f"stream {stream_id!r}: expected_version {expected} means the first event has "
            f"version {expected + 1}, but it has {first}"
        )
    if expected is ExpectedVersion.NO_STREAM and first != 1:
        raise ConfigurationError(
            f"stream {stream_id!r}: NO_STREAM means the first event has version 1, "
            f"but it has {first}"
        )
    return first


def check_batches(
    batches: Iterable[Batch],
) -> list[tuple[str, Sequence[StreamEvent], int | ExpectedVersion, int]]:
    """Check every batch of an ``append_many`` on its own and across the call.

    Returns ``(stream_id, events, expected, first_version)`` per batch.

    Raises:
        ConfigurationError: a batch that is not a ``(stream_id, events, expected)``
            tuple or is malformed (see :func:`check_events`), or an event id that
            appears in two batches.
    """
    checked = []
    seen: set[str] = set()
    total = 0
    for batch in batches:
        if not isinstance(batch, tuple) or len(batch) != 3:
            raise ConfigurationError(
                f"a batch is a (stream_id, events, expected_version) tuple, got {type(batch)}"
            )
        stream_id, events, expected = batch
        first = check_events(stream_id, events, expected)
        checked.append((stream_id, events, expected, first))
        seen.update(e.event_id for e in events)
        total += len(events)
        if len(seen) != total:
            raise ConfigurationError(
                f"stream {stream_id!r}: an event_id of this batch is in an earlier batch too"
            )
    return checked


def check_reading(stream_id: object, after_version: object) -> None:
    """Refuse a stream id that is not a string (of valid Unicode) or a bad ``after_version``."""
    if type(stream_id) is not str or not utf8_text(stream_id):
        raise ConfigurationError(
            f"a stream id must be a string of valid Unicode text, got {stream_id!r}"
        )
    if type(after_version) is not int or after_version < 0:
        raise ConfigurationError(f"after_version must be an int >= 0, got {after_version!r}")


def check_paging(after_position: object, limit: object) -> None:
    """Refuse a bad ``after_position`` or ``limit`` of ``read_all``."""
    if type(after_position) is not int or after_position < 0:
        raise ConfigurationError(f"after_position must be an int >= 0, got {after_position!r}")
    if limit is not None and (type(limit) is not int or limit < 0):
        raise ConfigurationError(f"limit must be None or an int >= 0, got {limit!r}")


def expectation_holds(expected: int | ExpectedVersion, current: int) -> bool:
    """Whether a stream at version ``current`` is what ``expected`` asks for."""
    if type(expected) is int:
        return expected == current
    if expected is ExpectedVersion.ANY:
        return True
    if expected is ExpectedVersion.NO_STREAM:
        return current == 0
    return current > 0


def conflict(
    stream_id: str,
    expected: int | ExpectedVersion,
    first: int,
    current: int,
    events: Sequence[StreamEvent] = (),
    stored: Callable[[str], StreamEvent | None] | None = None,
) -> ConcurrencyError | DuplicateEventError:
    """The error for events that do not fit the stream as it is.

    An event id the store holds (``stored(event_id)``) with another event is the reason
    to report, whatever the versions. Otherwise ``expected`` is reported as given when
    it is the reason; when the mode allowed the stream's state but the events start
    elsewhere, what they imply (``first - 1``) is.
    """
    if stored is not None:
        reused = reused_id_among(stream_id, events, stored)
        if reused is not None:
            return reused
    if expectation_holds(expected, current):
        return ConcurrencyError(stream_id, first - 1, current)
    return ConcurrencyError(stream_id, expected, current)


def reused_id_among(
    stream_id: str,
    events: Sequence[StreamEvent],
    stored: Callable[[str], StreamEvent | None],
) -> DuplicateEventError | None:
    """The error for the first event whose ``event_id`` is stored with a different event.

    ``stored(event_id)`` is the stored event with that id, or None. An event stored
    identically (same stream, version and values) is a retry and passes.
    """
    for event in events:
        found = stored(event.event_id)
        if found is None:
            continue
        if found.stream_id == stream_id and found.version == event.version and found == event:
            continue
        return reused_id(stream_id, event, found)
    return None


def reused_id(stream_id: str, event: StreamEvent, stored: StreamEvent) -> DuplicateEventError:
    """The error for appending ``event`` to ``stream_id`` when ``stored`` has its id."""
    where = f"event_id {event.event_id!r} is already stored, in stream {stored.stream_id!r} "
    where += f"at version {stored.version}"
    if stored.stream_id == stream_id and stored.version == event.version:
        message = (
            f"{where}, with other values: appending it to stream {stream_id!r} again is "
            f"no retry of the stored event; a new event needs a new event_id"
        )
    else:
        message = (
            f"{where}, so it cannot be appended to stream {stream_id!r} at version "
            f"{event.version}: event ids are unique in the whole store; a new event needs a "
            f"new event_id"
        )
    return DuplicateEventError(
        message,
        event_id=event.event_id,
        stream_id=stream_id,
        stored_stream_id=stored.stream_id,
        stored_version=stored.version,
    )
