"""What an event log is made of: events that know their stream, and their positions.

These two shapes are shared by the stores (which write and read them) and by the
domain modules that fold logs (metrics, supervision), so they live below both: a
domain module can accept a store's ``read_all()`` without importing the store.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

__all__ = ["Recorded", "StreamEvent"]


class StreamEvent(Protocol):
    """What a store needs of an event: its identity and its place in a stream.

    Every issue event (:class:`~closedloop.lifecycle.IssueEvent`) qualifies; events of
    other aggregates only need the same three read-only attributes.
    """

    @property
    def event_id(self) -> str:
        """A client-made unique id (a UUID string), the key for idempotent retries."""
        ...

    @property
    def stream_id(self) -> str:
        """The stream (aggregate) the event belongs to."""
        ...

    @property
    def version(self) -> int:
        """The event's place in its stream: 1, 2, 3 ..."""
        ...


class Recorded(NamedTuple):
    """An event with its position in the global log (1, 2, 3 ...).

    A pair, so ``for position, event in store.read_all()`` works.
    """

    position: int
    event: StreamEvent
