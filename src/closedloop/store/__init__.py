"""Event stores: the port, an in-memory and a SQLite backend, and the JSON codec.

See :mod:`closedloop.store.base` for what every store guarantees (expected versions,
atomic appends, idempotent retries, a gap-free global order).
"""

from closedloop.store.base import (
    AppendResult,
    EventStore,
    ExpectedVersion,
    Recorded,
    StreamEvent,
)
from closedloop.store.codec import EventCodec, default_codec
from closedloop.store.memory import MemoryEventStore
from closedloop.store.sqlite import SQLiteEventStore

__all__ = [
    "AppendResult",
    "EventCodec",
    "EventStore",
    "ExpectedVersion",
    "MemoryEventStore",
    "Recorded",
    "SQLiteEventStore",
    "StreamEvent",
    "default_codec",
]
