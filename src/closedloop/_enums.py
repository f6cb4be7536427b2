"""An Enum base for the enumerations that key hot dictionaries."""

from __future__ import annotations

import enum

__all__ = ["FastEnum"]


class FastEnum(enum.Enum):
    """An ``Enum`` whose members hash by identity.

    ``Enum`` hashes a member through a Python-level ``__hash__`` (the hash of its name),
    which shows up in every dictionary lookup keyed by a member on a hot path (the
    transition table, access grants, deadline limits). Members are singletons, so
    identity hashing is exact and runs in C.
    """

    __hash__ = object.__hash__
