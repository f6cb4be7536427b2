"""Checks on values users hand in, shared by every layer (they depend on errors only).

Each gives back the value in the form the library works with, or raises the library's
error naming what was given and what is allowed.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

from closedloop.errors import ClosedLoopError, ConfigurationError, NaiveDatetimeError

__all__ = ["aware", "member", "utf8_text", "whole", "whole_at_least"]

E = TypeVar("E", bound=enum.Enum)


def aware(at: object, what: str) -> datetime:
    """``at`` if it is an aware datetime.

    Raises:
        ConfigurationError: ``at`` is not a datetime.
        NaiveDatetimeError: ``at`` has no time zone.
    """
    if not isinstance(at, datetime):
        raise ConfigurationError(f"{what} must be an aware datetime, got {at!r}")
    if at.utcoffset() is None:
        raise NaiveDatetimeError(f"{what} {at.isoformat()} has no time zone: attach one")
    return at


def member(
    kind: type[E],
    value: object,
    what: str,
    error: type[ClosedLoopError] = ConfigurationError,
) -> E:
    """The member of ``kind`` that ``value`` is, or whose value it is.

    Raises:
        ``error`` (ConfigurationError by default): naming ``what``, the value and every
        allowed value.
    """
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise error(f"unknown {what} {value!r}; allowed: {allowed}") from None


def utf8_text(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def whole(
    value: object, what: str, minimum: int = 0, error: type[ClosedLoopError] = ConfigurationError
) -> int:
    """``value`` if it is a whole number (an ``int``, not a bool) of at least ``minimum``.

    Raises:
        ``error`` (ConfigurationError by default): naming ``what`` and the value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return value


def whole_at_least(minimum: int) -> Any:
    """An attrs validator: the field is a whole number of at least ``minimum``."""

    def check(_instance: object, attribute: Any, value: object) -> None:
        whole(value, attribute.name, minimum)

    return check
