"""OCEL 2.0 export (JSON and SQLite) and a reader for what it writes; standard library only.

An object-centric event log keeps what a case-centric log must flatten: one meeting
settles many issues, one assignment involves a lead, co-handlers and the unit that
assigns. Every event of the log becomes an OCEL event whose type is its activity
(:data:`~closedloop.ACTIVITIES`: ``register``, ``assign``, ``hold meeting`` ...), related
to the objects it touches with a qualifier.

Object types and ids
    ``issue``, ``unit``, ``department``, ``actor``, ``meeting``, ``whistle call``,
    ``task force`` and ``supervision order``. An object's id is its closedloop id behind
    a short prefix naming its type (``issue:…``, ``unit:…``, ``department:…``,
    ``actor:…``, ``meeting:…``, ``whistle:…``, ``taskforce:…``, ``order:…``), so a unit and
    a department can never share an id; :func:`closedloop_id` strips it.

Event-to-object qualifiers
    every event: the issue it is about as ``issue``; its actor as ``actor``
    (``evaluator`` on ``evaluate``) unless a more specific role already names the same
    actor (``reporter``, ``chair``, ``approved-by``, ``leader``): an event relates to an
    object once, in its most specific role. ``register``: the unit as ``raised-at``,
    the reporter as ``reporter``. ``escalate``: ``escalated-from`` and ``handled-at``
    (the unit above).
    ``assign`` and ``reopen``: ``lead``, ``co-handler`` and the handling unit as
    ``handled-at``. ``accept``, ``resolve``, ``miss deadline``: the lead department as
    ``lead``. ``return``: ``returned-by``. ``transfer``: ``transferred-from``, ``lead``,
    ``co-handler``. ``extend deadline``: ``approved-by``. Meetings: the meeting as
    ``meeting``, the convening unit as ``convener``, the unit visited as ``host``, the
    leader as ``chair``, departments as ``attendee`` (``planned-attendee`` when
    scheduled), issues as ``agenda`` (``red-warning`` when the meeting flagged them
    red). Whistle calls: ``whistle call``, the calling unit
    as ``convener``, departments as ``summoned`` and ``reported``. Supervision: the
    order as ``order``, the handling unit as ``handled-at``, departments as
    ``addressed``. Accountability: ``subject``, ``unit``, ``department``, ``issue``,
    ``order``. Task forces: ``task force``, ``set-up-at``, ``leader``, ``member``,
    ``issue``, ``plan-unit``. Visits: ``from-unit``, ``to-unit``, ``visited``.
    Events of other types relate to their issue and actor only.

Object-to-object relationships
    issue ``raised-at`` unit; unit ``part-of`` its parent (with a hierarchy, up to the
    root); department ``belongs-to`` unit (with departments); meeting ``hosted-at`` and
    ``convened-by`` units; whistle call ``called-by`` unit; supervision order
    ``concerns`` issue; task force ``set-up-at`` unit; issue ``linked-to`` task force.

Attributes
    Event attributes are the payload fields that are not relationships, flattened as
    in tables, with sequences as JSON text; ``position`` when the log came from a store.
    Object attributes: issues have ``category``, ``difficulty``, ``title`` and a
    ``status`` that changes over time (the status the lifecycle table gives after each
    event; a log that breaks the table is followed leniently, exactly as
    :func:`~closedloop.interop.check_conformance` follows it); units ``name``,
    ``level``, ``code``, ``kind`` (with a hierarchy); departments ``name``, ``name_zh``,
    ``function``, ``kind`` (with departments); meetings ``day``, ``cadence``, ``venue``
    and a ``status``; task forces ``name``, ``category``, ``status``; supervision orders
    ``rule``, ``team``, ``due_at``, ``status``. Values that hold from the start carry
    the time 1970-01-01T00:00:00Z, as the standard's examples do. Times are ISO 8601
    with the event's UTC offset.

SQLite
    The standard layout: ``event``, ``object``, ``event_object``, ``object_object``,
    ``event_map_type``, ``object_map_type``, and one ``event_<Type>`` and
    ``object_<Type>`` table per type, where ``<Type>`` is the type name in CamelCase
    (``extend deadline`` → ``ExtendDeadline``). An object's first row holds its
    lasting attributes (``ocel_changed_field`` empty); each later row one change.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Final

import attrs

from closedloop.errors import ConfigurationError, DecodeError
from closedloop.interop._common import (
    EPOCH,
    LIFECYCLE_KINDS,
    Entry,
    Target,
    activity_of,
    entries,
    iso,
    issue_of,
    json_text,
    kind_of,
    lenient_step,
    payload,
    read_text,
    write_text,
)
from closedloop.lifecycle.state import Status

__all__ = [
    "OCEL_OBJECT_TYPES",
    "OcelEvent",
    "OcelLog",
    "OcelObject",
    "closedloop_id",
    "read_ocel_json",
    "read_ocel_sqlite",
    "to_ocel_json",
    "write_ocel_json",
    "write_ocel_sqlite",
]

OCEL_OBJECT_TYPES: Final[Mapping[str, str]] = {
    "issue": "issue",
    "unit": "unit",
    "department": "department",
    "actor": "actor",
    "meeting": "meeting",
    "whistle call": "whistle",
    "task force": "taskforce",
    "supervision order": "order",
}
"""The OCEL object types closedloop writes, with the prefix of their object ids."""

_ATTRIBUTE_TYPES: Final = ("string", "time", "integer", "float", "boolean")

_MEETING: Final = ("meeting_id", "meeting", "meeting")
_WHISTLE: Final = ("meeting_id", "whistle call", "whistle call")
_ORDER: Final = ("order_id", "supervision order", "order")
_TASK_FORCE: Final = ("task_force_id", "task force", "task force")
_STREAM_OBJECT: Final[Mapping[str, tuple[str, str, str]]] = {
    # KIND: (field, object type, qualifier) of the object whose stream the event is in
    "MeetingScheduled": _MEETING,
    "MeetingHeld": _MEETING,
    "MeetingCancelled": _MEETING,
    "WhistleBlown": _WHISTLE,
    "DepartmentReported": _WHISTLE,
    "SupervisionOrdered": _ORDER,
    "SupervisionOrderOverdue": _ORDER,
    "SupervisionOrderClosed": _ORDER,
    "TaskForceCreated": _TASK_FORCE,
    "IssueLinked": _TASK_FORCE,
    "PlanRecorded": _TASK_FORCE,
    "PlanResolved": _TASK_FORCE,
    "TaskForceClosed": _TASK_FORCE,
}

_RELATIONS: Final[Mapping[str, tuple[tuple[str, str, str], ...]]] = {
    # KIND: (field, object type, qualifier) for each field that names objects
    "IssueRegistered": (("unit", "unit", "raised-at"), ("reporter", "actor", "reporter")),
    "IssueEscalated": (("from_unit", "unit", "escalated-from"), ("to_unit", "unit", "handled-at")),
    "IssueAssigned": (("lead", "department", "lead"), ("co_handlers", "department", "co-handler")),
    "AssignmentAccepted": (("department", "department", "lead"),),
    "AssignmentReturned": (("department", "department", "returned-by"),),
    "IssueTransferred": (
        ("from_department", "department", "transferred-from"),
        ("to_department", "department", "lead"),
        ("co_handlers", "department", "co-handler"),
    ),
    "DeadlineExtended": (("approved_by", "actor", "approved-by"),),
    "IssueResolved": (("department", "department", "lead"),),
    "IssueReopened": (("lead", "department", "lead"),),
    "DeadlineMissed": (("lead", "department", "lead"),),
    "MeetingScheduled": (
        ("convener_unit", "unit", "convener"),
        ("host_unit", "unit", "host"),
        ("convener", "actor", "chair"),
        ("planned_attendees", "department", "planned-attendee"),
        ("agenda", "issue", "agenda"),
    ),
    "MeetingHeld": (
        ("convener_unit", "unit", "convener"),
        ("host_unit", "unit", "host"),
        ("convener", "actor", "chair"),
        ("attendees", "department", "attendee"),
        ("agenda", "issue", "agenda"),
    ),
    "WhistleBlown": (("unit", "unit", "convener"),),
    "DepartmentReported": (("department", "department", "reported"),),
    "SupervisionOrdered": (
        ("unit", "unit", "handled-at"),
        ("departments", "department", "addressed"),
    ),
    "AccountabilityRecorded": (
        ("unit", "unit", "unit"),
        ("department", "department", "department"),
        ("issue_ids", "issue", "issue"),
        ("order_ids", "supervision order", "order"),
    ),
    "TaskForceCreated": (
        ("unit", "unit", "set-up-at"),
        ("leader", "actor", "leader"),
        ("departments", "department", "member"),
        ("issue_ids", "issue", "issue"),
    ),
    "PlanRecorded": (("unit", "unit", "plan-unit"), ("departments", "department", "member")),
    "VisitRecorded": (
        ("from_unit", "unit", "from-unit"),
        ("to_unit", "unit", "to-unit"),
        ("to_department", "department", "visited"),
    ),
}

_SUBJECT_TYPES: Final = {"department": "department", "unit": "unit", "person": "actor"}


def closedloop_id(object_id: str) -> str:
    """The closedloop id behind an OCEL object id (``"unit:330782"`` → ``"330782"``)."""
    return object_id.split(":", 1)[1] if ":" in object_id else object_id


def _object_id(object_type: str, raw: str) -> str:
    return f"{OCEL_OBJECT_TYPES[object_type]}:{raw}"


# -- the values a reader returns ---------------------------------------------------------


@attrs.frozen
class OcelEvent:
    """One event of an OCEL 2.0 log, as read back.

    Attributes:
        id: the event id (closedloop's ``event_id``).
        type: the event type (the activity).
        time: when it happened (aware).
        attributes: name → value (text, int, float, bool or an aware datetime).
        relationships: (object id, qualifier) pairs, in file order.
    """

    id: str
    type: str
    time: datetime
    attributes: dict[str, Any]
    relationships: tuple[tuple[str, str], ...]


@attrs.frozen
class OcelObject:
    """One object of an OCEL 2.0 log, as read back.

    Attributes:
        id: the object id (with its type prefix, see :func:`closedloop_id`).
        type: the object type.
        attributes: (name, time, value) triples: lasting values at 1970-01-01 UTC first,
            then each change at its time.
        relationships: (object id, qualifier) pairs to other objects.
    """

    id: str
    type: str
    attributes: tuple[tuple[str, datetime, Any], ...]
    relationships: tuple[tuple[str, str], ...]

    def value(self, name: str, at: datetime | None = None) -> Any:
        """The attribute's value at ``at`` (the latest when None), or None when unset."""
        found = None
        for attribute, when, value in self.attributes:
            if attribute == name and (at is None or when <= at):
                found = value
        return found


@attrs.frozen
class OcelLog:
    """An OCEL 2.0 log as read back: typed attribute declarations, events and objects."""

    event_types: dict[str, dict[str, str]]
    """Event type → attribute name → OCEL attribute type."""
    object_types: dict[str, dict[str, str]]
    """Object type → attribute name → OCEL attribute type."""
    events: tuple[OcelEvent, ...]
    objects: tuple[OcelObject, ...]

    def object(self, object_id: str) -> OcelObject:
        """The object with this id.

        Raises:
            ConfigurationError: when there is none.
        """
        for obj in self.objects:
            if obj.id == object_id:
                return obj
        raise ConfigurationError(f"the log has no object {object_id!r}")

    def objects_of(self, object_type: str) -> tuple[OcelObject, ...]:
        """The objects of one type, in file order."""
        return tuple(o for o in self.objects if o.type == object_type)


# -- building the log ----------------------------------------------------------------------


def _ocel_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, datetime):
        return "time"
    return "string"


def _merge_type(known: str | None, new: str) -> str:
    if known is None or known == new:
        return new
    if {known, new} == {"integer", "float"}:
        return "float"
    return "string"


def _attribute_value(value: object) -> object:
    """An attribute value OCEL can hold: scalars as is, dates and lists as text."""
    if isinstance(value, datetime | bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, list):
        return json_text(value)
    return str(value)


def _encode(value: object, ocel_type: str) -> object:
    """A value as the JSON file holds it, given its declared type."""
    if ocel_type == "time":
        assert isinstance(value, datetime)
        return iso(value)
    if ocel_type == "float":
        assert isinstance(value, int | float)
        return float(value)
    if ocel_type == "string" and not isinstance(value, str):
        return iso(value) if isinstance(value, datetime) else str(value)
    return value


class _Object:
    __slots__ = ("changes", "lasting", "links", "type")

    def __init__(self, object_type: str) -> None:
        self.type = object_type
        self.lasting: dict[str, object] = {}
        self.changes: list[tuple[str, datetime, object]] = []
        self.links: dict[tuple[str, str], None] = {}


class _Builder:
    """Collects OCEL events and objects from a log, in one pass."""

    def __init__(self, hierarchy: Any, departments: Any) -> None:
        self.hierarchy = hierarchy
        self.departments = departments
        self.objects: dict[str, _Object] = {}
        self.events: list[dict[str, Any]] = []
        self.event_types: dict[str, dict[str, str]] = {}
        self.event_ids: set[str] = set()
        self.status: dict[str, Status] = {}
        self.resume: dict[str, Status] = {}
        self.handling: dict[str, str] = {}

    # objects

    def obj(self, object_type: str, raw: object) -> str | None:
        if not isinstance(raw, str) or not raw:
            return None
        oid = _object_id(object_type, raw)
        if oid not in self.objects:
            self.objects[oid] = _Object(object_type)
            if object_type == "unit":
                self._describe_unit(oid, raw)
            elif object_type == "department":
                self._describe_department(oid, raw)
        return oid

    def _describe_unit(self, oid: str, raw: str) -> None:
        if self.hierarchy is None or raw not in self.hierarchy:
            return
        unit = self.hierarchy.unit(raw)
        lasting = self.objects[oid].lasting
        for name in ("name", "level", "code", "kind"):
            value = getattr(unit, name, None)
            if isinstance(value, str) and value:
                lasting[name] = value
        if unit.parent is not None:
            parent = self.obj("unit", unit.parent)
            if parent is not None:
                self.link(oid, parent, "part-of")

    def _describe_department(self, oid: str, raw: str) -> None:
        if self.departments is None or raw not in self.departments:
            return
        department = self.departments.get(raw)
        lasting = self.objects[oid].lasting
        for name in ("name", "name_zh", "function"):
            value = getattr(department, name, "")
            if isinstance(value, str) and value:
                lasting[name] = value
        lasting["kind"] = department.kind.value
        unit = self.obj("unit", department.unit)
        if unit is not None:
            self.link(oid, unit, "belongs-to")

    def link(self, source: str, target: str, qualifier: str) -> None:
        self.objects[source].links[(target, qualifier)] = None

    def lasting(self, oid: str | None, values: Mapping[str, object]) -> None:
        if oid is None:
            return
        target = self.objects[oid].lasting
        for name, value in values.items():
            if value is not None and value != "" and name not in target:
                target[name] = _attribute_value(value)

    def change(self, oid: str | None, name: str, at: datetime, value: object) -> None:
        if oid is not None and value is not None:
            self.objects[oid].changes.append((name, at, _attribute_value(value)))

    # events

    def add(self, index: int, entry: Entry) -> None:
        position, event = entry
        kind = kind_of(event)
        activity = activity_of(event)
        event_id = getattr(event, "event_id", None)
        if not isinstance(event_id, str) or not event_id:
            raise ConfigurationError(f"event {index} ({kind}) has no event_id")
        if event_id in self.event_ids:
            raise ConfigurationError(f"event {index} ({kind}): event_id {event_id!r} is repeated")
        self.event_ids.add(event_id)
        at: datetime = event.occurred_at
        relations: dict[str, str] = {}

        def relate(object_type: str, raw: object, qualifier: str) -> str | None:
            # One relationship per object and event: the first, most specific role wins.
            oid = self.obj(object_type, raw)
            if oid is not None:
                relations.setdefault(oid, qualifier)
            return oid

        consumed: set[str] = set()
        stream = _STREAM_OBJECT.get(kind)
        stream_oid = None
        if stream is not None:
            field, object_type, qualifier = stream
            stream_oid = relate(object_type, getattr(event, field, None), qualifier)
        issue = issue_of(event)
        issue_oid = relate("issue", issue, "issue")
        if kind == "AccountabilityRecorded":
            subject_type = _SUBJECT_TYPES.get(str(getattr(event.subject_kind, "value", "")))
            if subject_type is not None:
                relate(subject_type, event.subject, "subject")
                consumed.update(("subject", "subject_kind"))
        if kind == "MeetingHeld":  # before "agenda": the more specific role
            for decision in event.decisions:
                if decision.red_warning:
                    relate("issue", decision.issue_id, "red-warning")
        for field, object_type, qualifier in _RELATIONS.get(kind, ()):
            value = getattr(event, field, None)
            consumed.add(field)
            for raw in value if isinstance(value, tuple | list) else (value,):
                relate(object_type, raw, qualifier)
        if kind == "WhistleBlown":
            for summons in event.summons:
                relate("department", summons.department, "summoned")
            consumed.add("summons")
        self._objects_of(kind, event, at, issue, issue_oid, stream_oid, relate)
        actor_qualifier = "evaluator" if kind == "ResolutionEvaluated" else "actor"
        relate("actor", getattr(event, "actor", None), actor_qualifier)
        attributes = {
            name: _attribute_value(value)
            for name, value in payload(event).items()
            if name not in consumed and value is not None
        }
        if position is not None:
            attributes["position"] = position
        declared = self.event_types.setdefault(activity, {})
        for name, value in attributes.items():
            declared[name] = _merge_type(declared.get(name), _ocel_type(value))
        self.events.append(
            {
                "id": event_id,
                "type": activity,
                "time": at,
                "attributes": attributes,
                "relationships": list(relations.items()),
            }
        )

    def _objects_of(
        self,
        kind: str,
        event: Any,
        at: datetime,
        issue: str | None,
        issue_oid: str | None,
        stream_oid: str | None,
        relate: Any,
    ) -> None:
        """Object attributes and object-to-object links the event tells about."""
        if kind == "IssueRegistered" and issue_oid is not None and issue is not None:
            self.lasting(
                issue_oid,
                {
                    "category": event.category,
                    "difficulty": event.difficulty.value,
                    "title": event.title,
                },
            )
            unit = self.obj("unit", event.unit)
            if unit is not None:
                self.link(issue_oid, unit, "raised-at")
            self.handling[issue] = event.unit
        if issue is not None and issue_oid is not None and kind in LIFECYCLE_KINDS:
            self._issue_status(kind, event, at, issue, issue_oid, relate)
        if kind in ("MeetingScheduled", "MeetingHeld") and stream_oid is not None:
            self.lasting(
                stream_oid,
                {"day": event.day, "cadence": getattr(event, "cadence", ""), "venue": event.venue},
            )
            for field, qualifier in (("host_unit", "hosted-at"), ("convener_unit", "convened-by")):
                unit = self.obj("unit", getattr(event, field))
                if unit is not None:
                    self.link(stream_oid, unit, qualifier)
        if kind in _MEETING_STATUS:
            self.change(stream_oid, "status", at, _MEETING_STATUS[kind])
        if kind == "WhistleBlown" and stream_oid is not None:
            unit = self.obj("unit", event.unit)
            if unit is not None:
                self.link(stream_oid, unit, "called-by")
        if kind == "SupervisionOrdered" and stream_oid is not None:
            self.lasting(
                stream_oid, {"rule": event.rule, "team": event.team, "due_at": event.due_at}
            )
            if issue_oid is not None:
                self.link(stream_oid, issue_oid, "concerns")
        if kind in _ORDER_STATUS:
            self.change(stream_oid, "status", at, _ORDER_STATUS[kind])
        if kind == "TaskForceCreated" and stream_oid is not None:
            self.lasting(stream_oid, {"name": event.name, "category": event.category})
            unit = self.obj("unit", event.unit)
            if unit is not None:
                self.link(stream_oid, unit, "set-up-at")
            for linked in event.issue_ids:
                oid = self.obj("issue", linked)
                if oid is not None:
                    self.link(oid, stream_oid, "linked-to")
        if kind == "IssueLinked" and stream_oid is not None and issue_oid is not None:
            self.link(issue_oid, stream_oid, "linked-to")
        if kind in _TASK_FORCE_STATUS:
            self.change(stream_oid, "status", at, _TASK_FORCE_STATUS[kind])

    def _issue_status(
        self, kind: str, event: Any, at: datetime, issue: str, issue_oid: str, relate: Any
    ) -> None:
        """Follow the issue's status, leniently (see ``_common.lenient_step``)."""
        before = self.status.get(issue)
        after, _legal, resume = lenient_step(before, kind, self.resume.get(issue))
        if resume is not None:
            self.resume[issue] = resume
        if kind == "IssueEscalated":
            self.handling[issue] = event.to_unit
        if kind in ("IssueAssigned", "IssueReopened") and issue in self.handling:
            relate("unit", self.handling[issue], "handled-at")
        if after is not None and after is not before:
            self.status[issue] = after
            self.change(issue_oid, "status", at, after.value)

    def result(self) -> dict[str, Any]:
        object_types: dict[str, dict[str, str]] = {name: {} for name in OCEL_OBJECT_TYPES}
        for item in self.objects.values():
            declared = object_types[item.type]
            for name, value in item.lasting.items():
                declared[name] = _merge_type(declared.get(name), _ocel_type(value))
            for name, _at, value in item.changes:
                declared[name] = _merge_type(declared.get(name), _ocel_type(value))
        events = [
            {
                "id": e["id"],
                "type": e["type"],
                "time": iso(e["time"]),
                "attributes": [
                    {"name": n, "value": _encode(v, self.event_types[e["type"]][n])}
                    for n, v in e["attributes"].items()
                ],
                "relationships": [{"objectId": o, "qualifier": q} for o, q in e["relationships"]],
            }
            for e in self.events
        ]
        objects = []
        for oid, item in self.objects.items():
            declared = object_types[item.type]
            attributes = [
                {"name": n, "time": iso(EPOCH), "value": _encode(item.lasting[n], declared[n])}
                for n in declared
                if n in item.lasting
            ]
            attributes.extend(
                {"name": n, "time": iso(at), "value": _encode(v, declared[n])}
                for n, at, v in item.changes
            )
            objects.append(
                {
                    "id": oid,
                    "type": item.type,
                    "attributes": attributes,
                    "relationships": [{"objectId": o, "qualifier": q} for o, q in item.links],
                }
            )
        used = {o["type"] for o in objects}
        return {
            "eventTypes": [
                {"name": name, "attributes": [{"name": n, "type": t} for n, t in declared.items()]}
                for name, declared in self.event_types.items()
            ],
            "objectTypes": [
                {"name": name, "attributes": [{"name": n, "type": t} for n, t in declared.items()]}
                for name, declared in object_types.items()
                if name in used
            ],
            "events": events,
            "objects": objects,
        }


_MEETING_STATUS: Final = {
    "MeetingScheduled": "scheduled",
    "MeetingHeld": "held",
    "MeetingCancelled": "cancelled",
}
_ORDER_STATUS: Final = {
    "SupervisionOrdered": "open",
    "SupervisionOrderOverdue": "overdue",
    "SupervisionOrderClosed": "closed",
}
_TASK_FORCE_STATUS: Final = {"TaskForceCreated": "open", "TaskForceClosed": "closed"}


def to_ocel_json(
    events: Iterable[Any], *, hierarchy: Any = None, departments: Any = None
) -> dict[str, Any]:
    """The log as an OCEL 2.0 JSON document (a dict ready for ``json.dump``).

    ``events`` are events or ``Recorded`` pairs in log order, of any kind closedloop
    defines (other event classes become events of their ``KIND`` with their issue and
    actor). With ``hierarchy`` units get their names and levels and ``part-of`` links up
    to the root; with ``departments`` departments get their names and ``belongs-to``
    links. See the module docs for the mapping.

    Raises:
        ConfigurationError: for an item that is not an event, or an event id that is
            missing or repeated.
    """
    builder = _Builder(hierarchy, departments)
    for index, entry in enumerate(entries(events, "to_ocel_json")):
        builder.add(index, entry)
    return builder.result()


def write_ocel_json(
    target: Target,
    events: Iterable[Any],
    *,
    hierarchy: Any = None,
    departments: Any = None,
    indent: int | None = None,
) -> None:
    """Write :func:`to_ocel_json` of the log to a path or an open file (UTF-8 JSON)."""
    document = to_ocel_json(events, hierarchy=hierarchy, departments=departments)
    write_text(target, json.dumps(document, ensure_ascii=False, indent=indent))


# -- SQLite ------------------------------------------------------------------------------

_SQL_TYPES: Final = {
    "string": "TEXT",
    "time": "TIMESTAMP",
    "integer": "INTEGER",
    "float": "REAL",
    "boolean": "BOOLEAN",
}
_FROM_SQL: Final = {v: k for k, v in _SQL_TYPES.items()}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_names(names: Iterable[str]) -> dict[str, str]:
    """Type name → CamelCase table suffix, unique."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for number, name in enumerate(names, start=1):
        words = [w for w in re.split(r"[^0-9A-Za-z\u00c0-\uffff]+", name) if w]
        base = "".join(w[:1].upper() + w[1:] for w in words) or f"Type{number}"
        candidate, n = base, 1
        while candidate.lower() in used:
            n += 1
            candidate = f"{base}{n}"
        used.add(candidate.lower())
        out[name] = candidate
    return out


def _sql_value(value: object) -> object:
    if isinstance(value, bool):
        return int(value)
    return value


def write_ocel_sqlite(
    path: str | os.PathLike[str],
    events: Iterable[Any],
    *,
    hierarchy: Any = None,
    departments: Any = None,
) -> None:
    """Write the log as an OCEL 2.0 SQLite database (the standard table layout).

    The same content as :func:`to_ocel_json`. An existing file at ``path`` is replaced.

    Raises:
        ConfigurationError: as :func:`to_ocel_json`.
    """
    document = to_ocel_json(events, hierarchy=hierarchy, departments=departments)
    target = Path(path)
    if target.exists():
        target.unlink()
    connection = sqlite3.connect(target)
    try:
        with connection:
            _write_tables(connection, document)
    finally:
        connection.close()


def _write_tables(db: sqlite3.Connection, document: Mapping[str, Any]) -> None:
    """The OCEL 2.0 relational schema, with its primary and foreign keys, and the rows.

    Keys as the standard lays them down: ``ocel_type`` of ``event``/``object`` refers to
    the map tables; ``event_object`` and ``object_object`` refer to ``event``/``object``;
    each ``event_<Type>`` table has ``ocel_id`` as its primary key, referring to
    ``event``; each ``object_<Type>`` table's ``ocel_id`` refers to ``object`` (an
    object has one row there per change, so no primary key). SQLite does not enforce
    foreign keys unless asked; the rows satisfy them all the same.
    """
    for kind in ("event", "object"):
        db.execute(f"CREATE TABLE {kind}_map_type (ocel_type TEXT PRIMARY KEY, ocel_type_map TEXT)")
        db.execute(
            f"CREATE TABLE {kind} (ocel_id TEXT PRIMARY KEY, ocel_type TEXT NOT NULL, "
            f"FOREIGN KEY (ocel_type) REFERENCES {kind}_map_type (ocel_type))"
        )
    db.execute(
        "CREATE TABLE event_object (ocel_event_id TEXT, ocel_object_id TEXT, "
        "ocel_qualifier TEXT, "
        "PRIMARY KEY (ocel_event_id, ocel_object_id, ocel_qualifier), "
        "FOREIGN KEY (ocel_event_id) REFERENCES event (ocel_id), "
        "FOREIGN KEY (ocel_object_id) REFERENCES object (ocel_id))"
    )
    db.execute(
        "CREATE TABLE object_object (ocel_source_id TEXT, ocel_target_id TEXT, "
        "ocel_qualifier TEXT, "
        "PRIMARY KEY (ocel_source_id, ocel_target_id, ocel_qualifier), "
        "FOREIGN KEY (ocel_source_id) REFERENCES object (ocel_id), "
        "FOREIGN KEY (ocel_target_id) REFERENCES object (ocel_id))"
    )
    for kind, key in (("event", "eventTypes"), ("object", "objectTypes")):
        types = {t["name"]: {a["name"]: a["type"] for a in t["attributes"]} for t in document[key]}
        maps = _table_names(types)
        db.executemany(f"INSERT INTO {kind}_map_type VALUES (?, ?)", list(maps.items()))
        for name, declared in types.items():
            if kind == "event":
                fixed = ["ocel_id TEXT PRIMARY KEY", "ocel_time TIMESTAMP"]
            else:
                fixed = ["ocel_id TEXT", "ocel_time TIMESTAMP", "ocel_changed_field TEXT"]
            columns = fixed + [f"{_quote(n)} {_SQL_TYPES[t]}" for n, t in declared.items()]
            columns.append(f"FOREIGN KEY (ocel_id) REFERENCES {kind} (ocel_id)")
            db.execute(f"CREATE TABLE {_quote(kind + '_' + maps[name])} ({', '.join(columns)})")
        if kind == "event":
            _write_events(db, document["events"], types, maps)
        else:
            _write_objects(db, document["objects"], types, maps)


def _write_events(
    db: sqlite3.Connection,
    events: list[dict[str, Any]],
    types: dict[str, dict[str, str]],
    maps: dict[str, str],
) -> None:
    db.executemany("INSERT INTO event VALUES (?, ?)", [(e["id"], e["type"]) for e in events])
    db.executemany(
        "INSERT INTO event_object VALUES (?, ?, ?)",
        [(e["id"], r["objectId"], r["qualifier"]) for e in events for r in e["relationships"]],
    )
    for name, declared in types.items():
        names = list(declared)
        marks = ", ".join("?" * (len(names) + 2))
        rows = []
        for e in events:
            if e["type"] != name:
                continue
            values = {a["name"]: a["value"] for a in e["attributes"]}
            rows.append([e["id"], e["time"], *(_sql_value(values.get(n)) for n in names)])
        db.executemany(f"INSERT INTO {_quote('event_' + maps[name])} VALUES ({marks})", rows)


def _write_objects(
    db: sqlite3.Connection,
    objects: list[dict[str, Any]],
    types: dict[str, dict[str, str]],
    maps: dict[str, str],
) -> None:
    db.executemany("INSERT INTO object VALUES (?, ?)", [(o["id"], o["type"]) for o in objects])
    db.executemany(
        "INSERT INTO object_object VALUES (?, ?, ?)",
        [(o["id"], r["objectId"], r["qualifier"]) for o in objects for r in o["relationships"]],
    )
    epoch = iso(EPOCH)
    for name, declared in types.items():
        names = list(declared)
        marks = ", ".join("?" * (len(names) + 3))
        rows: list[list[object]] = []
        for o in objects:
            if o["type"] != name:
                continue
            lasting = {a["name"]: a["value"] for a in o["attributes"] if a["time"] == epoch}
            rows.append([o["id"], epoch, None, *(_sql_value(lasting.get(n)) for n in names)])
            for a in o["attributes"]:
                if a["time"] != epoch:
                    change = [_sql_value(a["value"]) if n == a["name"] else None for n in names]
                    rows.append([o["id"], a["time"], a["name"], *change])
        db.executemany(f"INSERT INTO {_quote('object_' + maps[name])} VALUES ({marks})", rows)


# -- reading back ------------------------------------------------------------------------


def _bad(where: str, message: str) -> DecodeError:
    return DecodeError(f"OCEL log: {where}: {message}")


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise _bad(where, f"a time is ISO 8601 text, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _bad(where, f"{value!r} is not an ISO 8601 time") from None
    if at.utcoffset() is None:
        raise _bad(where, f"{value!r} has no UTC offset")
    return at


def _typed(value: object, ocel_type: str, where: str) -> object:
    """A value read from a file, checked against (and converted to) its declared type."""
    if value is None:
        return None
    if ocel_type == "time":
        return _time(value, where)
    if ocel_type == "boolean":
        if isinstance(value, bool):
            return value
        if value in (0, 1) and isinstance(value, int):
            return bool(value)
    elif ocel_type == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif ocel_type == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif ocel_type == "string":
        if isinstance(value, str):
            return value
    else:
        raise _bad(where, f"unknown attribute type {ocel_type!r}")
    raise _bad(where, f"{value!r} is not a valid {ocel_type}")


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise _bad(where, f"{key!r} must be a list")
    return value


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise _bad(where, f"{key!r} must be text")
    return value


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, f"expected an object, got {type(value).__name__}")
    return value


def _declarations(data: Mapping[str, Any], key: str) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for i, item in enumerate(_list(data, key, "top level")):
        where = f"{key}[{i}]"
        entry = _mapping(item, where)
        name = _text(entry, "name", where)
        declared: dict[str, str] = {}
        for j, attribute in enumerate(_list(entry, "attributes", where)):
            a = _mapping(attribute, f"{where}.attributes[{j}]")
            kind = _text(a, "type", f"{where}.attributes[{j}]")
            if kind not in _ATTRIBUTE_TYPES:
                raise _bad(f"{where}.attributes[{j}]", f"unknown attribute type {kind!r}")
            declared[_text(a, "name", f"{where}.attributes[{j}]")] = kind
        out[name] = declared
    return out


def _relationships(entry: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    out = []
    for k, item in enumerate(_list(entry, "relationships", where)):
        r = _mapping(item, f"{where}.relationships[{k}]")
        out.append(
            (
                _text(r, "objectId", f"{where}.relationships[{k}]"),
                _text(r, "qualifier", f"{where}.relationships[{k}]"),
            )
        )
    return tuple(out)


def read_ocel_json(source: Target | Mapping[str, Any]) -> OcelLog:
    """Read an OCEL 2.0 JSON log: a path, an open file, or an already parsed document.

    Enough of the standard to read back what :func:`write_ocel_json` writes (and other
    files of the same shape): typed attributes, events, objects and both kinds of
    relationships. Times must carry a UTC offset (or ``Z``).

    Raises:
        DecodeError: naming the first thing that does not fit the standard.
    """
    if isinstance(source, Mapping):
        data: object = source
    else:
        try:
            data = json.loads(read_text(source))
        except (ValueError, RecursionError) as exc:
            raise DecodeError(f"OCEL log: not JSON: {exc}") from None
    document = _mapping(data, "top level")
    event_types = _declarations(document, "eventTypes")
    object_types = _declarations(document, "objectTypes")
    events = []
    for i, item in enumerate(_list(document, "events", "top level")):
        where = f"events[{i}]"
        e = _mapping(item, where)
        kind = _text(e, "type", where)
        if kind not in event_types:
            raise _bad(where, f"event type {kind!r} is not declared")
        attributes: dict[str, Any] = {}
        for j, attribute in enumerate(_list(e, "attributes", where)):
            a = _mapping(attribute, f"{where}.attributes[{j}]")
            name = _text(a, "name", f"{where}.attributes[{j}]")
            if name not in event_types[kind]:
                raise _bad(f"{where}.attributes[{j}]", f"attribute {name!r} is not declared")
            attributes[name] = _typed(a.get("value"), event_types[kind][name], f"{where}.{name}")
        events.append(
            OcelEvent(
                _text(e, "id", where),
                kind,
                _time(e.get("time"), f"{where}.time"),
                attributes,
                _relationships(e, where),
            )
        )
    objects = []
    for i, item in enumerate(_list(document, "objects", "top level")):
        where = f"objects[{i}]"
        o = _mapping(item, where)
        kind = _text(o, "type", where)
        if kind not in object_types:
            raise _bad(where, f"object type {kind!r} is not declared")
        values = []
        for j, attribute in enumerate(_list(o, "attributes", where)):
            a = _mapping(attribute, f"{where}.attributes[{j}]")
            name = _text(a, "name", f"{where}.attributes[{j}]")
            if name not in object_types[kind]:
                raise _bad(f"{where}.attributes[{j}]", f"attribute {name!r} is not declared")
            at = _time(a.get("time"), f"{where}.attributes[{j}].time")
            values.append((name, at, _typed(a.get("value"), object_types[kind][name], where)))
        objects.append(
            OcelObject(_text(o, "id", where), kind, tuple(values), _relationships(o, where))
        )
    return OcelLog(event_types, object_types, tuple(events), tuple(objects))


def read_ocel_sqlite(path: str | os.PathLike[str]) -> OcelLog:
    """Read an OCEL 2.0 SQLite log in the standard layout (as :func:`write_ocel_sqlite` writes).

    Raises:
        DecodeError: when a table of the layout is missing or a value does not fit its
            declared type.
    """
    if not Path(path).is_file():
        raise DecodeError(f"OCEL log: no file at {os.fspath(path)!r}")
    db = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro", uri=True)
    try:
        return _read_tables(db)
    except sqlite3.DatabaseError as exc:
        raise DecodeError(f"OCEL log: {exc}") from None
    finally:
        db.close()


def _columns(db: sqlite3.Connection, table: str) -> list[tuple[str, str]]:
    return [
        (row[1], str(row[2]).upper()) for row in db.execute(f"PRAGMA table_info({_quote(table)})")
    ]


def _read_tables(db: sqlite3.Connection) -> OcelLog:
    declared: dict[str, dict[str, dict[str, str]]] = {}
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for kind in ("event", "object"):
        fixed = {"ocel_id", "ocel_time", "ocel_changed_field"}
        declared[kind] = {}
        rows[kind] = {}
        for name, table in db.execute(
            f"SELECT ocel_type, ocel_type_map FROM {kind}_map_type ORDER BY rowid"
        ):
            columns = _columns(db, f"{kind}_{table}")
            if not columns:
                raise _bad(f"{kind}_map_type", f"table {kind}_{table} is missing")
            types: dict[str, str] = {}
            for column, sql_type in columns:
                if column not in fixed:
                    if sql_type not in _FROM_SQL:
                        raise _bad(f"{kind}_{table}.{column}", f"unknown column type {sql_type!r}")
                    types[column] = _FROM_SQL[sql_type]
            declared[kind][name] = types
            select = ", ".join(_quote(c) for c, _ in columns)
            rows[kind][name] = [
                dict(zip([c for c, _ in columns], row, strict=True))
                for row in db.execute(
                    f"SELECT {select} FROM {_quote(kind + '_' + table)} ORDER BY rowid"
                )
            ]
    e2o: dict[str, list[tuple[str, str]]] = {}
    for event_id, object_id, qualifier in db.execute(
        "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object ORDER BY rowid"
    ):
        e2o.setdefault(event_id, []).append((object_id, qualifier))
    o2o: dict[str, list[tuple[str, str]]] = {}
    for source, target, qualifier in db.execute(
        "SELECT ocel_source_id, ocel_target_id, ocel_qualifier FROM object_object ORDER BY rowid"
    ):
        o2o.setdefault(source, []).append((target, qualifier))
    by_event: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind, table_rows in rows["event"].items():
        for row in table_rows:
            by_event[row["ocel_id"]] = (kind, row)
    events = []
    for event_id, kind in db.execute("SELECT ocel_id, ocel_type FROM event ORDER BY rowid"):
        if event_id not in by_event:
            raise _bad("event", f"event {event_id!r} has no row in its type's table")
        _, row = by_event[event_id]
        types = declared["event"][kind]
        attributes: dict[str, Any] = {
            n: _typed(row[n], t, f"event {event_id}.{n}")
            for n, t in types.items()
            if row[n] is not None
        }
        events.append(
            OcelEvent(
                event_id,
                kind,
                _time(row["ocel_time"], f"event {event_id}"),
                attributes,
                tuple(e2o.get(event_id, ())),
            )
        )
    by_object: dict[str, list[dict[str, Any]]] = {}
    for table_rows in rows["object"].values():
        for row in table_rows:
            by_object.setdefault(row["ocel_id"], []).append(row)
    objects = []
    for object_id, kind in db.execute("SELECT ocel_id, ocel_type FROM object ORDER BY rowid"):
        types = declared["object"][kind]
        values: list[tuple[str, datetime, Any]] = []
        for row in by_object.get(object_id, []):
            at = _time(row["ocel_time"], f"object {object_id}")
            changed = row.get("ocel_changed_field")
            names = [changed] if changed else list(types)
            for n in names:
                if n not in types:
                    raise _bad(f"object {object_id}", f"changed field {n!r} is not a column")
                if row[n] is not None:
                    values.append((n, at, _typed(row[n], types[n], f"object {object_id}.{n}")))
        objects.append(OcelObject(object_id, kind, tuple(values), tuple(o2o.get(object_id, ()))))
    return OcelLog(declared["event"], declared["object"], tuple(events), tuple(objects))
