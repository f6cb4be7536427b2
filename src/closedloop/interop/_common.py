"""What every exporter shares: reading events, activity names, flattening payloads, files.

An *event* here is any attrs instance with ``occurred_at`` (an aware datetime),
``actor``, ``event_id``, ``version``, a ``stream_id`` property and a ``KIND`` name: every
event closedloop defines qualifies. A log may also hold ``Recorded(position, event)``
pairs as an event store's ``read_all()`` yields them; their positions are kept.
"""

from __future__ import annotations

import enum
import io
import json
import os
import typing
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path
from typing import IO, Any, Final, NamedTuple, TypeAlias, cast

import attrs

from closedloop.errors import ConfigurationError
from closedloop.lifecycle.state import TRANSITIONS, Status

__all__ = ["ACTIVITIES", "activity_of"]

Target: TypeAlias = str | os.PathLike[str] | IO[str] | IO[bytes]
"""Where a writer writes: a path, or an open text or binary file."""

ACTIVITIES: Final[Mapping[str, str]] = {
    # the issue lifecycle
    "IssueRegistered": "register",
    "IssueEscalated": "escalate",
    "IssueAssigned": "assign",
    "AssignmentAccepted": "accept",
    "AssignmentReturned": "return",
    "IssueTransferred": "transfer",
    "IssueSuspended": "suspend",
    "IssueResumed": "resume",
    "DeadlineExtended": "extend deadline",
    "IssueResolved": "resolve",
    "ResolutionEvaluated": "evaluate",
    "IssueReopened": "reopen",
    "IssueArchived": "archive",
    "IssueWithdrawn": "withdraw",
    "DeadlineMissed": "miss deadline",
    # downward meetings and whistle calls
    "MeetingScheduled": "schedule meeting",
    "MeetingHeld": "hold meeting",
    "MeetingCancelled": "cancel meeting",
    "WhistleBlown": "blow whistle",
    "DepartmentReported": "report to whistle",
    # supervision and accountability
    "SupervisionOrdered": "order supervision",
    "SupervisionOrderOverdue": "supervision order overdue",
    "SupervisionOrderClosed": "close supervision order",
    "AccountabilityRecorded": "hold accountable",
    # task forces
    "TaskForceCreated": "create task force",
    "IssueLinked": "link to task force",
    "PlanRecorded": "record plan",
    "PlanResolved": "resolve plan",
    "TaskForceClosed": "close task force",
    # grassroots burden
    "VisitRecorded": "visit upper department",
}
"""The human-readable activity name of every event type closedloop defines, by ``KIND``.

Exports name activities this way (OCEL event types, XES ``concept:name``, the
``activity`` column of tables). An event type not listed keeps its ``KIND``.
"""

LIFECYCLE_KINDS: Final = frozenset(kind.KIND for _status, kind in TRANSITIONS)
"""The ``KIND`` of every issue lifecycle event."""

BASE_FIELDS: Final = frozenset(
    {
        "event_id",
        "version",
        "occurred_at",
        "actor",
        "issue_id",
        "meeting_id",
        "order_id",
        "record_id",
        "task_force_id",
        "visit_id",
    }
)
"""Fields every table shows in its own columns (identity, stream, time, actor)."""

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def kind_of(event: Any) -> str:
    """The event's stable type name (its ``KIND``, else its class name)."""
    kind = getattr(type(event), "KIND", None)
    return kind if isinstance(kind, str) else type(event).__name__


def activity_of(event: Any) -> str:
    """The activity name of an event (see :data:`ACTIVITIES`)."""
    kind = kind_of(event)
    return ACTIVITIES.get(kind, kind)


class Entry(NamedTuple):
    """One event of a log, with its global position when the log came from a store."""

    position: int | None
    event: Any


def entries(log: Iterable[Any], what: str = "the log") -> list[Entry]:
    """The events of ``log`` (events or ``Recorded`` pairs), checked to be events.

    Raises:
        ConfigurationError: naming the first item that is not an event.
    """
    if isinstance(log, str | bytes | Mapping):
        raise ConfigurationError(f"{what} must be an iterable of events, not {type(log).__name__}")
    out: list[Entry] = []
    for index, item in enumerate(log):
        position = None
        event = item
        if (
            isinstance(item, tuple)
            and len(item) == 2
            and isinstance(item[0], int)
            and not isinstance(item[0], bool)
        ):
            position, event = item
        if not is_event(event):
            raise ConfigurationError(
                f"{what}: item {index} is not an event (an attrs value with occurred_at, "
                f"actor and event_id): {type(event).__name__}"
            )
        out.append(Entry(position, event))
    return out


def is_event(value: object) -> bool:
    """Whether ``value`` looks like a closedloop event."""
    return (
        attrs.has(type(value))
        and isinstance(getattr(value, "occurred_at", None), datetime)
        and hasattr(value, "event_id")
        and hasattr(value, "actor")
    )


def issue_of(event: Any) -> str | None:
    """The issue an event is about, when it names exactly one."""
    value = getattr(event, "issue_id", None)
    return value if isinstance(value, str) else None


def stream_of(event: Any) -> str | None:
    """The stream the event belongs to."""
    value = getattr(event, "stream_id", None)
    return value if isinstance(value, str) else None


_PAYLOAD_FIELDS: dict[type, tuple[str, ...]] = {}


def payload_fields(cls: type) -> tuple[str, ...]:
    """The names of an event class's own fields, beyond identity, stream, time and actor."""
    known = _PAYLOAD_FIELDS.get(cls)
    if known is None:
        fields = attrs.fields(cast(Any, cls))
        known = _PAYLOAD_FIELDS[cls] = tuple(a.name for a in fields if a.name not in BASE_FIELDS)
    return known


def is_scalar(value: object) -> bool:
    """Whether ``value`` is a plain value a table cell holds as is."""
    return value is None or isinstance(
        value, str | bool | int | float | enum.Enum | datetime | date | time
    )


def plain(value: object) -> Any:
    """A scalar as a table cell: enums by their value, everything else unchanged."""
    if isinstance(value, enum.Enum):
        return plain(value.value)
    return value


def _fields(value: object) -> tuple[attrs.Attribute[Any], ...]:
    """The attrs fields of an attrs instance."""
    return tuple(attrs.fields(cast(Any, type(value))))


def jsonable(value: object) -> Any:
    """``value`` as plain JSON data: records as objects, instants as ISO 8601 text."""
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if attrs.has(type(value)):
        return {a.name: jsonable(getattr(value, a.name)) for a in _fields(value)}
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, frozenset | set) else items
    return str(value)


def json_text(value: object) -> str:
    """Compact, key-sorted JSON text of ``value`` (see :func:`jsonable`)."""
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


_PLAIN: Final = (str, bool, int, float, datetime, date, time)


def flatten(name: str, value: object, out: dict[str, Any]) -> None:
    """Put ``value`` into ``out`` under ``name`` the way tables hold payloads.

    Scalars stay (enums by value); a nested record (an attrs value such as a
    ``TimeLimit``) becomes one column per field, ``<name>_<field>``; a sequence of
    scalars becomes a list; a sequence of records (decisions, summons, facts) or a
    mapping becomes its JSON text.
    """
    if value is None or isinstance(value, _PLAIN):
        out[name] = value
    elif isinstance(value, enum.Enum):
        out[name] = plain(value)
    elif attrs.has(type(value)):
        for a in _fields(value):
            flatten(f"{name}_{a.name}", getattr(value, a.name), out)
    elif isinstance(value, tuple | list) and all(is_scalar(v) for v in value):
        out[name] = [plain(v) for v in value]
    else:
        out[name] = json_text(value)


_RECORD_SEQUENCES: dict[type, frozenset[str]] = {}


def record_sequences(cls: type) -> frozenset[str]:
    """The fields of an attrs class declared as sequences of records (``tuple[Fact, ...]``).

    Their values flatten to JSON text even when empty, so a column never mixes lists
    and text.
    """
    known = _RECORD_SEQUENCES.get(cls)
    if known is not None:
        return known
    try:
        hints = typing.get_type_hints(cls)
    except Exception:  # an annotation that does not resolve: judge by the values
        hints = {}
    out = set()
    for a in attrs.fields(cast(Any, cls)):
        hint = hints.get(a.name)
        if typing.get_origin(hint) in (tuple, list):
            arguments = [t for t in typing.get_args(hint) if t is not Ellipsis]
            if arguments and all(isinstance(t, type) and attrs.has(t) for t in arguments):
                out.add(a.name)
    _RECORD_SEQUENCES[cls] = frozenset(out)
    return _RECORD_SEQUENCES[cls]


def payload(event: Any) -> dict[str, Any]:
    """The event's own fields, flattened (see :func:`flatten`)."""
    out: dict[str, Any] = {}
    records = record_sequences(type(event))
    for name in payload_fields(type(event)):
        value = getattr(event, name)
        if name in records:
            out[name] = json_text(value)
        else:
            flatten(name, value, out)
    return out


def zone_name(zone: tzinfo | None) -> str | None:
    """An IANA name for a time zone (``"UTC"`` for UTC), or None when it has none."""
    if zone is None:
        return None
    if zone is UTC:
        return "UTC"
    for attribute in ("key", "name"):
        name = getattr(zone, attribute, None)
        if isinstance(name, str) and name:
            return name
    return None


def common_zone(values: Iterable[datetime]) -> str:
    """The zone all aware datetimes share, by name, or ``"UTC"`` when they differ."""
    names = {zone_name(v.tzinfo) for v in values}
    if len(names) == 1:
        (name,) = names
        if name is not None:
            return name
    return "UTC"


def iso(at: datetime) -> str:
    """ISO 8601 text of an aware instant, with its UTC offset."""
    return at.isoformat()


# -- following an issue's status through a log that may break the rules -----------------

_STEPS: Final[dict[tuple[Status | None, str], Status | str]] = {
    (before, kind.KIND): after for (before, kind), after in TRANSITIONS.items()
}
""":data:`~closedloop.TRANSITIONS` keyed by the event's ``KIND``."""


def _fallbacks() -> dict[str, Status]:
    found: dict[str, set[Status | str]] = {}
    for (_before, kind), after in TRANSITIONS.items():
        found.setdefault(kind.KIND, set()).add(after)
    return {
        kind: target
        for kind, targets in found.items()
        for target in targets
        if len(targets) == 1 and isinstance(target, Status)
    }


FALLBACK: Final[Mapping[str, Status]] = _fallbacks()
"""Where an illegal event leads: for each ``KIND`` that leads to one status wherever the
table allows it, that status. The others (a resumption, a deadline extended or missed)
leave the status as it was."""


class LenientStep(NamedTuple):
    """What :func:`lenient_step` makes of one event."""

    status: Status | None
    """The status after the event."""
    legal: bool
    """Whether the transition table allows the event in the status before it."""
    resume: Status | None
    """The status a later resumption returns to (None: none remembered yet)."""


def lenient_step(before: Status | None, kind: str, resume: Status | None) -> LenientStep:
    """Follow an issue's status by one event, leniently: the log may break the table.

    ``kind`` is the event's ``KIND``; ``resume`` is what the previous step remembered.
    The OCEL export (the issue's ``status`` over time) and the conformance check (which
    reports each illegal step) both follow issues this way, so they always agree.

    * A step the table allows goes where :func:`~closedloop.evolve` goes; a resumption
      returns to the status the issue had before its suspension (``resume``; assigned
      when none is remembered, which only an issue suspended before its registration
      lacks).
    * After an archive or a withdrawal nothing changes the status: a terminal status
      accepts no further event, so every later event is illegal and leaves it as is.
    * Any other illegal step goes to :data:`FALLBACK` for its kind, else leaves the status
      as it was: when the log lost one event, the next one puts the issue back on track
      and only the first is illegal.
    * In particular a resumption of an issue that was not suspended leaves its status as
      it was. ``evolve`` resumes to the status handling stopped in; an issue that was
      never suspended never stopped, so the status it has is the one handling carries on
      in (when the suspension went missing from the log, exactly the one it would resume
      to), whereas jumping to *assigned* would drop an acceptance, or pull a resolved
      issue back into handling, which no legal resumption does.
    * Entering *suspended* from another status remembers that status for the resumption.
    """
    if before is not None and before.is_terminal:
        return LenientStep(before, False, resume)
    target = _STEPS.get((before, kind))
    after: Status | None
    if target is None:
        after = FALLBACK.get(kind, before)
    elif isinstance(target, Status):
        after = target
    else:  # resuming: back to the status before the suspension
        after = resume if resume is not None else Status.ASSIGNED
    if after is Status.SUSPENDED and before is not None and before is not Status.SUSPENDED:
        resume = before
    return LenientStep(after, target is not None, resume)


# -- files ------------------------------------------------------------------------------


def write_text(target: Target, text: str) -> None:
    """Write ``text`` (UTF-8) to a path or an open text or binary file."""
    if isinstance(target, str | os.PathLike):
        Path(target).write_text(text, encoding="utf-8")
        return
    if isinstance(target, io.TextIOBase):
        target.write(text)
        return
    if isinstance(target, io.BufferedIOBase | io.RawIOBase):
        target.write(text.encode("utf-8"))
        return
    write = getattr(target, "write", None)
    if write is None:
        raise ConfigurationError(
            f"cannot write to {type(target).__name__}: give a path or an open file"
        )
    try:
        write(text)
    except TypeError:
        write(text.encode("utf-8"))


def read_text(source: Target) -> str:
    """Read UTF-8 text from a path or an open text or binary file."""
    if isinstance(source, str | os.PathLike):
        return Path(source).read_text(encoding="utf-8")
    read = getattr(source, "read", None)
    if read is None:
        raise ConfigurationError(
            f"cannot read from {type(source).__name__}: give a path or an open file"
        )
    data = read()
    if isinstance(data, bytes):
        return data.decode("utf-8")
    if not isinstance(data, str):
        raise ConfigurationError(f"reading {type(source).__name__} gave {type(data).__name__}")
    return data
