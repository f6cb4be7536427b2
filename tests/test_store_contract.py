"""The store contract run against every backend, and what only SQLite promises."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import attrs
import pytest

from closedloop.errors import (
    ConcurrencyError,
    ConfigurationError,
    DecodeError,
    StoreError,
)
from closedloop.lifecycle.events import IssueEvent, IssueResolved
from closedloop.store import (
    EventCodec,
    EventStore,
    MemoryEventStore,
    SQLiteEventStore,
    default_codec,
)
from closedloop.store.sqlite import SCHEMA_VERSION
from tests.store_contract import EventStoreContract, Unregistered
from tests.store_strategies import lifecycle, notes


@attrs.frozen(kw_only=True)
class IssueSuspendedCopy(IssueEvent):
    """An issue event of a kind no default codec has."""

    KIND: ClassVar[str] = "IssueSuspendedCopy"
    reason: str = ""


class TestMemoryStore(EventStoreContract):
    def make_store(self) -> EventStore:
        return MemoryEventStore()

    def test_len_and_repr(self) -> None:
        store = MemoryEventStore()
        store.append("I-1", notes("I-1", 1, 2), expected_version=0)
        assert len(store) == 2
        assert "1 streams, 2 events" in repr(store)
        store.close()
        assert "closed" in repr(store)

    def test_it_checks_events_with_the_codec_it_is_given(self) -> None:
        with pytest.raises(ConfigurationError, match="EventCodec"):
            MemoryEventStore(codec="default")  # type: ignore[arg-type]
        event = Unregistered(
            event_id="u-1", stream_id="U", version=1, occurred_at=lifecycle("I-1")[0].occurred_at
        )
        codec = EventCodec()
        codec.register(Unregistered)
        store = MemoryEventStore(codec=codec)
        assert store.codec is codec
        store.append("U", [event], expected_version=0)
        assert store.read_stream("U") == [event]
        # A class registered with the codec after the store was made is taken too.
        with pytest.raises(ConfigurationError, match="not registered"):
            store.append("I-1", notes("I-1", 1, 1), expected_version=0)
        codec.register(IssueSuspendedCopy)
        store.append(
            "I-1", [IssueSuspendedCopy(**attrs.asdict(notes("I-1", 1, 1)[0]))], expected_version=0
        )
        assert store.last_position() == 2


class TestSQLiteInMemory(EventStoreContract):
    def make_store(self) -> EventStore:
        return SQLiteEventStore(":memory:")


class TestSQLiteFile(EventStoreContract):
    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.path = tmp_path / "events.db"

    def make_store(self) -> EventStore:
        return SQLiteEventStore(self.path, synchronous="NORMAL")


# -- SQLite only -------------------------------------------------------------------------


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteEventStore]:
    with SQLiteEventStore(path) as opened:
        assert isinstance(opened, SQLiteEventStore)
        yield opened


def test_events_survive_closing_and_reopening(path: Path) -> None:
    events = lifecycle("I-1")
    with SQLiteEventStore(path) as store:
        store.append("I-1", events[:4], expected_version=0)
    with SQLiteEventStore(path) as store:
        assert store.read_stream("I-1") == events[:4]
        store.append("I-1", events[4:], expected_version=4)
        assert [r.position for r in store.read_all()] == [1, 2, 3, 4, 5, 6]


def test_a_file_uses_wal_and_the_durability_asked_for(path: Path) -> None:
    for mode, number in (("FULL", 2), ("normal", 1), ("OFF", 0)):
        with SQLiteEventStore(path, synchronous=mode) as store:
            con = store._con
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert con.execute("PRAGMA synchronous").fetchone()[0] == number


def test_the_table_keeps_readable_columns(store: SQLiteEventStore, path: Path) -> None:
    store.append("I-1", lifecycle("I-1")[:2], expected_version=0)
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT stream_id, version, position, event_id, type, schema, occurred_at "
            "FROM events ORDER BY position"
        ).fetchall()
        layouts = con.execute("SELECT type, schema, fields FROM layouts").fetchall()
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        con.close()
    assert rows == [
        ("I-1", 1, 1, "I-1/1", "IssueRegistered", 1, "2025-03-03T10:00:00+08:00"),
        ("I-1", 2, 2, "I-1/2", "IssueAssigned", 1, "2025-03-03T11:00:00+08:00"),
    ]
    assert {kind for kind, _, _ in layouts} == {"IssueRegistered", "IssueAssigned"}
    fields = {kind: json.loads(f) for kind, _, f in layouts}
    assert fields["IssueRegistered"][:5] == [
        "event_id",
        "issue_id",
        "version",
        "occurred_at",
        "actor",
    ]


def test_two_stores_on_one_file_see_each_other(path: Path) -> None:
    with SQLiteEventStore(path) as one, SQLiteEventStore(path) as two:
        one.append("I-1", notes("I-1", 1, 2), expected_version=0)
        assert two.stream_version("I-1") == 2
        two.append("I-1", notes("I-1", 3, 1), expected_version=2)
        with pytest.raises(ConcurrencyError) as caught:
            one.append("I-1", notes("I-1", 3, 1, salt="late"), expected_version=2)
        assert caught.value.actual == 3
        assert [r.position for r in one.read_all()] == [1, 2, 3]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"synchronous": "EXTRA"}, "synchronous"),
        ({"synchronous": 2}, "synchronous"),
        ({"busy_timeout": -1}, "busy_timeout"),
        ({"busy_timeout": True}, "busy_timeout"),
        ({"busy_timeout": "5"}, "busy_timeout"),
        ({"codec": object()}, "codec"),
    ],
)
def test_bad_options_are_refused(path: Path, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        SQLiteEventStore(path, **options)


@pytest.mark.parametrize("bad", ["", 3, None])
def test_bad_paths_are_refused(bad: Any) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteEventStore(bad)


def test_a_newer_schema_is_refused(path: Path) -> None:
    SQLiteEventStore(path).close()
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer than this closedloop"):
        SQLiteEventStore(path)


def test_a_database_of_something_else_is_refused(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE other (x)")
    con.close()
    with pytest.raises(StoreError, match="something else"):
        SQLiteEventStore(path)
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version = 1")
    con.close()
    with pytest.raises(StoreError, match="not a closedloop event store"):
        SQLiteEventStore(path)


def test_a_file_that_is_not_a_database_is_refused(path: Path) -> None:
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open"):
        SQLiteEventStore(path)


def test_a_missing_directory_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        SQLiteEventStore(tmp_path / "no" / "such" / "dir.db")


def test_text_sqlite_cannot_hold_is_refused_and_nothing_is_written(
    store: SQLiteEventStore,
) -> None:
    bad = attrs.evolve(notes("I-2", 1, 1)[0], reason="\ud800")
    with pytest.raises(ConfigurationError, match="Unicode"):
        store.append_many([("I-1", notes("I-1", 1, 1), 0), ("I-2", [bad], 0)])
    assert store.last_position() == 0


def test_an_unregistered_event_class_is_refused(path: Path) -> None:
    with (
        SQLiteEventStore(path, codec=EventCodec()) as store,
        pytest.raises(ConfigurationError, match="not registered"),
    ):
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)


def test_a_corrupt_row_reads_as_a_decode_error(store: SQLiteEventStore, path: Path) -> None:
    store.append("I-1", notes("I-1", 1, 3), expected_version=0)
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE events SET data = '[1, \"x\"' WHERE version = 2")
    con.close()
    with pytest.raises(DecodeError):
        store.read_stream("I-1")
    with pytest.raises(DecodeError):
        list(store.read_all())
    assert store.read_stream("I-1", after_version=2) == notes("I-1", 3, 1)


def test_a_row_whose_data_disagrees_with_its_columns_is_caught(
    store: SQLiteEventStore, path: Path
) -> None:
    store.append("I-1", notes("I-1", 1, 2), expected_version=0)
    store.append("I-2", notes("I-2", 1, 2), expected_version=0)
    con = sqlite3.connect(path)
    with con:
        data = con.execute("SELECT data FROM events WHERE position = 3").fetchone()[0]
        con.execute("UPDATE events SET data = ? WHERE position = 1", (data,))
    con.close()
    with pytest.raises(DecodeError, match="I-1"):
        store.read_stream("I-1")


def test_rows_of_an_unknown_type_are_a_decode_error_on_read(path: Path) -> None:
    with SQLiteEventStore(path) as store:
        store.append("I-1", notes("I-1", 1, 1), expected_version=0)
    codec = EventCodec()  # knows nothing
    with SQLiteEventStore(path, codec=codec) as store:
        assert store.stream_version("I-1") == 1
        with pytest.raises(DecodeError, match="unknown event type"):
            store.read_stream("I-1")


# -- schema evolution through the store ----------------------------------------------------


@attrs.frozen(kw_only=True)
class Noted(IssueEvent):
    """A test event whose shape changes between schema 1 and 2."""

    KIND: ClassVar[str] = "Noted"
    text: str


@attrs.frozen(kw_only=True)
class NotedV2(IssueEvent):
    """Schema 2 of Noted: ``text`` was renamed ``body`` and ``words`` was added."""

    KIND: ClassVar[str] = "Noted"
    body: str
    words: int


@attrs.frozen(kw_only=True)
class NotedWithTag(IssueEvent):
    """Noted with a new defaulted field and no new schema."""

    KIND: ClassVar[str] = "Noted"
    text: str
    tag: str = "none"


def _noted(cls: type[Any], version: int, **fields: Any) -> Any:
    base = notes("N", version, 1)[0]
    return cls(
        event_id=f"N/{version}",
        issue_id="N",
        version=version,
        occurred_at=base.occurred_at,
        actor="a",
        **fields,
    )


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["body"] = data.pop("text")
    data["words"] = len(data["body"].split())
    return data


def test_rows_of_an_older_schema_are_upcast_when_read(path: Path) -> None:
    old = EventCodec()
    old.register(Noted)
    with SQLiteEventStore(path, codec=old) as store:
        store.append("N", [_noted(Noted, 1, text="two words")], expected_version=0)
    new = EventCodec()
    new.register(NotedV2, schema=2, upcasters={1: _upgrade})
    with SQLiteEventStore(path, codec=new) as store:
        assert store.read_stream("N") == [_noted(NotedV2, 1, body="two words", words=2)]
        store.append("N", [_noted(NotedV2, 2, body="b", words=1)], expected_version=1)
        assert [type(r.event) for r in store.read_all()] == [NotedV2, NotedV2]
        # A retry of an upcast event compares against the upgraded form.
        again = store.append(
            "N", [_noted(NotedV2, 1, body="two words", words=2)], expected_version=0
        )
        assert again.duplicate


def test_a_new_defaulted_field_needs_no_new_schema(path: Path) -> None:
    old = EventCodec()
    old.register(Noted)
    with SQLiteEventStore(path, codec=old) as store:
        store.append("N", [_noted(Noted, 1, text="x")], expected_version=0)
    new = EventCodec()
    new.register(NotedWithTag)
    with SQLiteEventStore(path, codec=new) as store:
        store.append("N", [_noted(NotedWithTag, 2, text="y", tag="t")], expected_version=1)
        assert store.read_stream("N") == [
            _noted(NotedWithTag, 1, text="x"),
            _noted(NotedWithTag, 2, text="y", tag="t"),
        ]
    # And the older reader still reads what it wrote, but refuses the new shape.
    with SQLiteEventStore(path, codec=old) as store:
        assert [r.event for r in store.read_all(limit=1)] == [_noted(Noted, 1, text="x")]
        with pytest.raises(DecodeError, match="tag"):
            store.read_stream("N")


def test_a_schema_newer_than_the_codec_is_a_decode_error(path: Path) -> None:
    new = EventCodec()
    new.register(NotedV2, schema=2, upcasters={1: _upgrade})
    with SQLiteEventStore(path, codec=new) as store:
        store.append("N", [_noted(NotedV2, 1, body="b", words=1)], expected_version=0)
    old = EventCodec()
    old.register(Noted)
    with SQLiteEventStore(path, codec=old) as store, pytest.raises(DecodeError, match="newer"):
        store.read_stream("N")


def test_a_layout_added_by_another_store_is_found(path: Path) -> None:
    with SQLiteEventStore(path) as reader, SQLiteEventStore(path) as writer:
        reader.append("I-0", notes("I-0", 1, 1), expected_version=0)
        writer.append("I-1", lifecycle("I-1"), expected_version=0)
        assert reader.read_stream("I-1") == lifecycle("I-1")


def test_the_default_codec_knows_every_lifecycle_event() -> None:
    codec = default_codec()
    assert "IssueResolved" in codec
    assert IssueResolved in codec
    assert codec.schema_of(IssueResolved) == 1
    assert codec.event_class("IssueResolved") is IssueResolved
