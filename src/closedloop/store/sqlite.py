"""An event store in a SQLite file (or in memory), safe to share between processes.

The database has two tables::

    events(position, stream_id, version, event_id, type, schema, occurred_at, data)
        position INTEGER PRIMARY KEY        the global order: 1, 2, 3 ... with no gap
        UNIQUE (stream_id, version)         the key of a stream: one event per place
        event_id UNIQUE                     what makes a retried append recognisable
    layouts(layout, type, schema, fields)   the field order of each kind of row written

``(stream_id, version)`` is the stream key. It is declared ``UNIQUE`` rather than
``PRIMARY KEY`` only so that the global position can be the table's own row id: SQLite
enforces either declaration with the same index, and making the position the row id
saves a second index on every insert and stores rows in global order.

``data`` is a compact JSON array: the row's layout number, then every field's value
(:meth:`~closedloop.store.codec.EventCodec.pack`). ``type``, ``schema`` and
``occurred_at`` are repeated in columns so the log can be queried with plain SQL.
``PRAGMA user_version`` holds the schema version of the database itself; a database
written by a newer closedloop is refused instead of being misread.

Writes run in ``BEGIN IMMEDIATE`` transactions, so a writer takes the write lock
before it reads the stream's version, and a second writer waits (up to
``busy_timeout``) instead of failing. Global positions are assigned inside that
transaction, which is why they never have gaps or interleave. Files use write-ahead
logging (WAL): readers never block the writer nor each other.

Durability (``synchronous``):

* ``"FULL"`` (the default): every committed append survives a crash of the process,
  of the operating system and a power cut.
* ``"NORMAL"``: committed appends survive a crash of the process; an operating-system
  crash or power cut may lose the last ones (never corrupt the file). Good for
  simulation and scratch stores; appends are faster.
* ``"OFF"``: no syncing at all; a power cut can corrupt the file. Only for throwaway
  data.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

from closedloop.errors import (
    ConcurrencyError,
    ConfigurationError,
    DecodeError,
    DuplicateEventError,
    StoreClosedError,
    StoreError,
)
from closedloop.store.base import (
    AppendResult,
    Batch,
    EventStore,
    ExpectedVersion,
    Recorded,
    StreamEvent,
    check_batches,
    check_paging,
    check_reading,
    closed_error,
    conflict,
    expectation_holds,
    reused_id_among,
)
from closedloop.store.codec import EventCodec, RowDecoder, default_codec

__all__ = ["SQLiteEventStore"]

SCHEMA_VERSION: Final = 1
"""The version of the database layout this module writes (``PRAGMA user_version``)."""

APPLICATION_ID: Final = 0x436C4C70
"""Marks a SQLite file as a closedloop event store (``PRAGMA application_id``)."""

_PAGE: Final = 500
_MAX_VERSION: Final = 2**63 - 1
_SYNCHRONOUS: Final = ("FULL", "NORMAL", "OFF")

_CREATE: Final = (
    """
    CREATE TABLE events (
        position    INTEGER PRIMARY KEY CHECK (position >= 1),
        stream_id   TEXT    NOT NULL,
        version     INTEGER NOT NULL CHECK (version >= 1),
        event_id    TEXT    NOT NULL UNIQUE,
        type        TEXT    NOT NULL,
        schema      INTEGER NOT NULL,
        occurred_at TEXT    NOT NULL,
        data        TEXT    NOT NULL,
        UNIQUE (stream_id, version)
    )
    """,
    """
    CREATE TABLE layouts (
        layout INTEGER PRIMARY KEY,
        type   TEXT    NOT NULL,
        schema INTEGER NOT NULL,
        fields TEXT    NOT NULL,
        UNIQUE (type, schema, fields)
    )
    """,
    f"PRAGMA application_id = {APPLICATION_ID}",
    f"PRAGMA user_version = {SCHEMA_VERSION}",
)

_INSERT: Final = (
    "INSERT INTO events (stream_id, version, event_id, type, schema, occurred_at, data, position)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_VERSION: Final = "SELECT max(version) FROM events WHERE stream_id = ?"
_IN_SIZES: Final = (1, 4, 16, 64, 256)
_VERSIONS: Final = {
    n: "SELECT stream_id, max(version) FROM events WHERE stream_id IN "
    f"({', '.join('?' * n)}) GROUP BY stream_id"
    for n in _IN_SIZES
}
_LAST: Final = "SELECT max(position) FROM events"
_STREAM: Final = "SELECT data FROM events WHERE stream_id = ? AND version > ? ORDER BY version"
_RANGE: Final = (
    "SELECT data, position FROM events WHERE stream_id = ? AND version BETWEEN ? AND ?"
    " ORDER BY version"
)
_ALL: Final = "SELECT position, data FROM events WHERE position > ? ORDER BY position LIMIT ?"
_BY_IDS: Final = {
    n: "SELECT event_id, data FROM events WHERE position <= ? AND event_id IN "
    f"({', '.join('?' * n)})"
    for n in _IN_SIZES
}


class SQLiteEventStore(EventStore):
    """An :class:`~closedloop.store.base.EventStore` in a SQLite database.

    Args:
        path: a file (created when missing) or ``":memory:"`` for a private,
            temporary database.
        synchronous: ``"FULL"`` (default), ``"NORMAL"`` or ``"OFF"``; see the module
            docs for what each keeps after a crash.
        busy_timeout: how long, in seconds, to wait for another connection's write
            lock before giving up with :class:`~closedloop.errors.StoreError`.
        codec: the event codec (default: :func:`~closedloop.store.codec.default_codec`);
            pass one with your own event classes registered to store them too.

    Raises:
        ConfigurationError: for a bad option.
        StoreError: when the file cannot be opened, is not a closedloop event store,
            or was written by a newer version of closedloop.

    The store may be shared by threads (one lock serialises its calls) and the same
    file may be opened by many stores and processes at once.
    """

    __slots__ = (
        "_closed",
        "_codec",
        "_con",
        "_decoders",
        "_lock",
        "_packers",
        "_path",
        "_synchronous",
    )

    def __init__(
        self,
        path: str | os.PathLike[str] = ":memory:",
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 5.0,
        codec: EventCodec | None = None,
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            raise ConfigurationError(f"path must be a str or a path, got {path!r}")
        self._path = os.fspath(path)
        if not isinstance(self._path, str) or not self._path:
            raise ConfigurationError(f"path must be a non-empty text path, got {path!r}")
        mode = synchronous.upper() if isinstance(synchronous, str) else synchronous
        if mode not in _SYNCHRONOUS:
            raise ConfigurationError(
                f"synchronous must be one of {', '.join(_SYNCHRONOUS)}, got {synchronous!r}"
            )
        if (
            isinstance(busy_timeout, bool)
            or not isinstance(busy_timeout, int | float)
            or not 0 <= busy_timeout < 1e6
        ):
            raise ConfigurationError(
                f"busy_timeout must be a number of seconds >= 0, got {busy_timeout!r}"
            )
        if codec is not None and not isinstance(codec, EventCodec):
            raise ConfigurationError(f"codec must be an EventCodec, got {codec!r}")
        self._synchronous = mode
        self._codec = codec if codec is not None else default_codec()
        self._lock = threading.Lock()
        self._decoders: dict[int, RowDecoder] = {}
        self._packers: dict[type, Callable[[Any], list[Any]]] = {}
        self._closed = True
        self._con = self._connect(float(busy_timeout))
        self._closed = False

    # -- opening ------------------------------------------------------------------------

    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(
                self._path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the event store {self._path!r}: {exc}") from exc
        try:
            if self._path != ":memory:":
                mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(
                        f"the event store {self._path!r} cannot use write-ahead logging "
                        f"(journal mode stays {mode!r})"
                    )
            con.execute(f"PRAGMA synchronous = {self._synchronous}")
            self._check_schema(con)
            self._load_layouts(con)
        except StoreError:
            con.close()
            raise
        except sqlite3.Error as exc:
            con.close()
            raise StoreError(f"cannot open the event store {self._path!r}: {exc}") from exc
        return con

    def _check_schema(self, con: sqlite3.Connection) -> None:
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            con.execute("BEGIN IMMEDIATE")
            try:
                version = con.execute("PRAGMA user_version").fetchone()[0]
                if version == 0:
                    tables = con.execute(
                        "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    ).fetchone()[0]
                    if tables:
                        raise StoreError(
                            f"{self._path!r} is a SQLite database of something else "
                            f"(it has tables but no closedloop schema version)"
                        )
                    for statement in _CREATE:
                        con.execute(statement)
                    version = SCHEMA_VERSION
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the event store {self._path!r} has schema version {version}, newer than "
                f"this closedloop understands ({SCHEMA_VERSION}); upgrade closedloop to open it"
            )
        application = con.execute("PRAGMA application_id").fetchone()[0]
        if application != APPLICATION_ID:
            raise StoreError(
                f"{self._path!r} is not a closedloop event store (application id {application:#x})"
            )

    def _load_layouts(self, con: sqlite3.Connection) -> None:
        """Read the layouts table: a decoder per layout, a row packer per current class."""
        codec = self._codec
        for layout, kind, schema, fields in con.execute(
            "SELECT layout, type, schema, fields FROM layouts"
        ):
            if layout in self._decoders:
                continue
            try:
                names = json.loads(fields)
                if type(names) is not list or not all(type(n) is str for n in names):
                    raise ValueError("not a list of names")
            except ValueError as exc:
                raise DecodeError(f"layout {layout} of the event store is corrupt: {exc}") from None
            self._decoders[layout] = codec.row_decoder(kind, schema, names)
            if kind in codec and codec.layout(kind) == (schema, tuple(names)):
                cls = codec.event_class(kind)
                if cls not in self._packers:
                    self._packers[cls] = codec.row_packer(cls, layout)

    def _resolve(self, layout: int) -> RowDecoder:
        """The decoder of a layout another writer may have added since we last looked."""
        self._load_layouts(self._con)
        decoder = self._decoders.get(layout)
        if decoder is None:
            raise DecodeError(f"a stored row names layout {layout}, which the store does not have")
        return decoder

    def _add_layouts(self, classes: Iterable[type]) -> None:
        """Record the layouts of ``classes`` (in their own transaction) and load them."""
        codec = self._codec
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            for cls in classes:
                schema, names = codec.layout(cls)
                con.execute(
                    "INSERT OR IGNORE INTO layouts (type, schema, fields) VALUES (?, ?, ?)",
                    (codec.kind_of(cls), schema, json.dumps(list(names))),
                )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._load_layouts(con)

    def _pack(
        self, checked: list[tuple[str, Sequence[StreamEvent], int | ExpectedVersion, int]]
    ) -> list[list[list[Any]]]:
        """The rows to insert, per batch; ConfigurationError for an event that cannot be.

        The codec refuses what it cannot write (see
        :meth:`~closedloop.store.codec.EventCodec.check`), text with a lone surrogate
        included, so every row is known to fit before the transaction starts.
        """
        packers = self._packers
        try:
            return [[packers[e.__class__](e) for e in events] for _, events, _, _ in checked]
        except Exception:
            pass
        # Slowly: the codec names what does not fit, and new classes get their layouts.
        for _, events, _, _ in checked:
            for event in events:
                self._codec.pack(event)
        missing = {e.__class__ for _, events, _, _ in checked for e in events} - set(packers)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                self._add_layouts(missing)
            except sqlite3.Error as exc:
                raise self._failure("append", exc) from exc
        return [[packers[e.__class__](e) for e in events] for _, events, _, _ in checked]

    # -- writing ----------------------------------------------------------------------

    def append_many(self, batches: Iterable[Batch]) -> list[AppendResult]:
        """Append to many streams in one transaction, all or nothing (see :class:`EventStore`)."""
        checked = check_batches(batches)
        if self._closed:
            raise closed_error(self)
        if not checked:
            return []
        rows = self._pack(checked)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                return self._append_rows(checked, rows)
            except sqlite3.Error as exc:
                raise self._failure("append", exc) from exc

    def _versions(self, streams: list[str]) -> dict[str, int]:
        """The current version of each of ``streams`` that exists, in few queries."""
        con = self._con
        found: dict[str, int] = {}
        start = 0
        while start < len(streams):
            chunk = streams[start : start + _IN_SIZES[-1]]
            start += len(chunk)
            size = next(n for n in _IN_SIZES if n >= len(chunk))
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            found.update(con.execute(_VERSIONS[size], padded).fetchall())
        return found

    def _stored_by_id(self, events: Sequence[StreamEvent], before: int) -> dict[str, StreamEvent]:
        """The stored events, at positions up to ``before``, that have the ids of ``events``."""
        ids = [e.event_id for e in events]
        found: dict[str, StreamEvent] = {}
        start = 0
        while start < len(ids):
            chunk = ids[start : start + _IN_SIZES[-1]]
            start += len(chunk)
            size = next(n for n in _IN_SIZES if n >= len(chunk))
            padded = chunk + [chunk[-1]] * (size - len(chunk))
            rows = self._con.execute(_BY_IDS[size], [before, *padded]).fetchall()
            stored = self._codec.decode_rows(rows, 1, self._decoders, self._resolve)
            found.update((row[0], event) for row, event in zip(rows, stored, strict=True))
        return found

    def _conflict(
        self,
        stream_id: str,
        expected: int | ExpectedVersion,
        first: int,
        current: int,
        events: Sequence[StreamEvent],
        before: int,
    ) -> ConcurrencyError | DuplicateEventError:
        """:func:`conflict`, looking ids up among the events stored up to ``before``."""
        stored = self._stored_by_id(events, before).get
        return conflict(stream_id, expected, first, current, events, stored)

    def _append_rows(
        self,
        checked: list[tuple[str, Sequence[StreamEvent], int | ExpectedVersion, int]],
        rows: list[list[list[Any]]],
    ) -> list[AppendResult]:
        con = self._con
        con.execute("BEGIN IMMEDIATE")
        try:
            position = before = con.execute(_LAST).fetchone()[0] or 0
            versions = self._versions(list(dict.fromkeys(batch[0] for batch in checked)))
            results = []
            for (stream_id, events, expected, first), batch in zip(checked, rows, strict=True):
                current = versions.get(stream_id, 0)
                if not events:
                    if not expectation_holds(expected, current):
                        raise conflict(stream_id, expected, 1, current)
                    results.append(AppendResult(stream_id, current, 0, 0))
                    continue
                if first <= current:
                    results.append(
                        self._duplicate(stream_id, events, expected, first, current, before)
                    )
                    continue
                if not expectation_holds(expected, current) or first != current + 1:
                    raise self._conflict(stream_id, expected, first, current, events, before)
                start = position + 1
                for row in batch:
                    position += 1
                    row[7] = position
                try:
                    con.executemany(_INSERT, batch)
                except sqlite3.IntegrityError as exc:
                    # The versions were free, so an event_id is already stored elsewhere.
                    stored = self._stored_by_id(events, before).get
                    reused = reused_id_among(stream_id, events, stored)
                    raise (reused or self._failure("append", exc)) from exc
                versions[stream_id] = current = first + len(events) - 1
                results.append(AppendResult(stream_id, current, start, position))
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return results

    def _duplicate(
        self,
        stream_id: str,
        events: Sequence[StreamEvent],
        expected: int | ExpectedVersion,
        first: int,
        current: int,
        before: int,
    ) -> AppendResult:
        """The result of re-appending stored events, or the error if they differ.

        ``before`` is the last position stored before this call.
        """
        last = first + len(events) - 1
        if last <= current:
            rows = self._con.execute(_RANGE, (stream_id, first, last)).fetchall()
            stored = self._codec.decode_rows(rows, 0, self._decoders, self._resolve)
            if len(stored) == len(events) and all(
                s.event_id == e.event_id and s == e for s, e in zip(stored, events, strict=True)
            ):
                return AppendResult(stream_id, last, rows[0][1], rows[-1][1], True)
        raise self._conflict(stream_id, expected, first, current, events, before)

    # -- reading ----------------------------------------------------------------------

    def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StreamEvent]:
        """The stream's events with a version above ``after_version``, oldest first."""
        check_reading(stream_id, after_version)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                rows = self._con.execute(
                    _STREAM, (stream_id, min(after_version, _MAX_VERSION))
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from exc
            events: list[StreamEvent] = self._codec.decode_rows(
                rows, 0, self._decoders, self._resolve
            )
        if events:
            # The rows are ordered by their unique version column; their own versions
            # must run from after_version + 1 without a gap, in this stream.
            first, last = events[0], events[-1]
            if (
                first.version != after_version + 1
                or last.version != after_version + len(events)
                or first.stream_id != stream_id
                or last.stream_id != stream_id
            ):
                raise DecodeError(
                    f"stream {stream_id!r}: the stored events after version {after_version} "
                    f"run from version {first.version} of {first.stream_id!r} to "
                    f"{last.version} of {last.stream_id!r} ({len(events)} events)"
                )
        return events

    def stream_version(self, stream_id: str) -> int:
        """The version of the stream's last event (0 when it does not exist)."""
        check_reading(stream_id, 0)
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                found = self._con.execute(_VERSION, (stream_id,)).fetchone()[0]
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from exc
        return int(found or 0)

    def read_all(self, *, after_position: int = 0, limit: int | None = None) -> Iterator[Recorded]:
        """Events in global order after ``after_position``, at most ``limit`` of them."""
        check_paging(after_position, limit)
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
                try:
                    rows = self._con.execute(_ALL, (after, size)).fetchall()
                except sqlite3.Error as exc:
                    raise self._failure("read", exc) from exc
                events = self._codec.decode_rows(rows, 1, self._decoders, self._resolve)
            if not rows:
                return
            for (position, _), event in zip(rows, events, strict=True):
                after += 1
                if position != after:
                    raise DecodeError(
                        f"the global log has position {position} where {after} should be"
                    )
                yield Recorded(position, event)
            if remaining > 0:
                remaining -= len(rows)

    def last_position(self) -> int:
        """The global position of the last event (0 when empty)."""
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                found = self._con.execute(_LAST).fetchone()[0]
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from exc
        return int(found or 0)

    def stream_ids(self) -> Iterator[str]:
        """Every stream id, in the order the streams were created."""
        with self._lock:
            if self._closed:
                raise closed_error(self)
            try:
                rows = self._con.execute(
                    "SELECT stream_id FROM events WHERE version = 1 ORDER BY position"
                ).fetchall()
            except sqlite3.Error as exc:
                raise self._failure("read", exc) from exc
        return iter([row[0] for row in rows])

    # -- life cycle ---------------------------------------------------------------------

    @property
    def path(self) -> str:
        """The database file (or ``":memory:"``)."""
        return self._path

    @property
    def codec(self) -> EventCodec:
        """The codec events are written and read with."""
        return self._codec

    def close(self) -> None:
        """Close the connection; later calls raise StoreClosedError."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._con.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def _failure(self, action: str, exc: sqlite3.Error) -> StoreError:
        if isinstance(exc, sqlite3.ProgrammingError) and self._closed:
            return StoreClosedError(f"{type(self).__name__} is closed")
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"cannot {action} {self._path!r}: another connection held the write lock "
                f"longer than busy_timeout ({text})"
            )
        return StoreError(f"cannot {action} {self._path!r}: {text}")

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._synchronous
        return f"<SQLiteEventStore {self._path!r} ({state})>"
