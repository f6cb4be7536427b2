"""Seeded random streams, derived with a stable hash.

Each replication of a run, and each named stream within it (arrivals, handling times,
evaluations, ...), gets its own ``random.Random`` seeded from
``blake2b(seed, replication, name)``. The derivation never uses Python's ``hash()``,
which changes between processes, so a run gives the same numbers in any process, on any
executor, in any completion order; and adding a new stream never shifts the numbers of
the others.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["RandomStreams", "derive_seed"]


def derive_seed(seed: int, *parts: object) -> int:
    """A 64-bit seed derived from ``seed`` and ``parts`` (stable across processes)."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update(str(int(seed)).encode())
    for part in parts:
        digest.update(b"\x1f")
        digest.update(str(part).encode("utf-8"))
    return int.from_bytes(digest.digest(), "big")


class RandomStreams:
    """Independent named random streams for one replication of one run."""

    __slots__ = ("_streams", "replication", "seed")

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = int(seed)
        self.replication = int(replication)
        self._streams: dict[str, random.Random] = {}

    def __getitem__(self, name: str) -> random.Random:
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = random.Random(
                derive_seed(self.seed, self.replication, name)
            )
        return stream
