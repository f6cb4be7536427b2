"""XES export with the issue as the case, a canonical-column table, and a minimal reader.

XES (IEEE 1849) is the case-centric exchange format of process-mining tools: a log of
traces, a trace of events. closedloop writes one trace per issue, in the order issues
were registered, with the issue's events in log order:

============================  ===========================================================
trace ``concept:name``        the issue id
trace attributes              ``category``, ``difficulty``, ``unit`` (where it was
                              raised) and ``title``, from its registration
event ``concept:name``        the activity (``register``, ``assign`` ...; see
                              :data:`~closedloop.ACTIVITIES`)
event ``time:timestamp``      ``occurred_at``, ISO 8601 with its UTC offset (PM4Py reads
                              it as the same instant, in UTC)
event ``org:resource``        the actor
event ``org:group``           the department leading the issue at that event (the one
                              the event names, else the current lead), else the unit
                              handling it
event ``lifecycle:transition`` ``complete``: closedloop records facts that happened
event ``identity:id``         the event id
other event attributes        the payload's plain fields (text, numbers, booleans,
                              instants); lists and records are left out
============================  ===========================================================

By default only lifecycle events are written (``lifecycle_only=True``): the traces
are then sequences of the designed loop's activities, which is what conformance
checking against :func:`~closedloop.designed_loop_pnml` needs. With
``lifecycle_only=False`` supervision orders, task-force steps, visits and whistle calls
about one issue join its trace too. Meetings, which settle many issues at once, belong
in the OCEL export.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

import attrs

from closedloop.errors import DecodeError
from closedloop.interop._common import (
    LIFECYCLE_KINDS,
    Target,
    activity_of,
    entries,
    iso,
    issue_of,
    kind_of,
    payload,
    read_text,
    write_text,
)

__all__ = ["XesTrace", "read_xes", "write_xes", "xes_columns"]

_NS: Final = "http://www.xes-standard.org/"
_EXTENSIONS: Final = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Identity", "identity", "http://www.xes-standard.org/identity.xesext"),
)
_GROUP_FIELDS: Final = ("lead", "to_department", "department")
_UNIT_FIELDS: Final = ("to_unit", "unit")
_NOT_ATTRIBUTES: Final = frozenset({"lead", "department", "to_department", "reporter"})


def _cases(events: Iterable[Any], lifecycle_only: bool) -> dict[str, list[dict[str, Any]]]:
    """Issue id → its events as XES attribute dicts, in log order."""
    cases: dict[str, list[dict[str, Any]]] = {}
    lead: dict[str, str] = {}
    unit: dict[str, str] = {}
    for _position, event in entries(events, "the XES export"):
        kind = kind_of(event)
        issue = issue_of(event)
        if issue is None or (lifecycle_only and kind not in LIFECYCLE_KINDS):
            continue
        for field in _UNIT_FIELDS:
            value = getattr(event, field, None)
            if kind in LIFECYCLE_KINDS and isinstance(value, str):
                unit[issue] = value
                break
        named = next(
            (v for f in _GROUP_FIELDS if isinstance(v := getattr(event, f, None), str)), None
        )
        if kind in ("IssueAssigned", "IssueTransferred", "IssueReopened") and named:
            lead[issue] = named
        elif kind in ("IssueEscalated", "AssignmentReturned"):
            lead.pop(issue, None)
        group = named or lead.get(issue) or unit.get(issue)
        attributes: dict[str, Any] = {
            "concept:name": activity_of(event),
            "time:timestamp": event.occurred_at,
            "org:resource": getattr(event, "actor", None),
            "org:group": group,
            "lifecycle:transition": "complete",
            "identity:id": getattr(event, "event_id", None),
        }
        for name, value in payload(event).items():
            if name not in _NOT_ATTRIBUTES and isinstance(value, str | int | float | datetime):
                attributes.setdefault(name, value)
        cases.setdefault(issue, []).append(attributes)
    return cases


def _trace_attributes(case: str, first: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"concept:name": case}
    if first.get("concept:name") == "register":
        for name in ("category", "difficulty", "unit", "title"):
            if isinstance(first.get(name), str):
                out[name] = first[name]
    return out


def _element(key: str, value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        tag, text = "boolean", "true" if value else "false"
    elif isinstance(value, int):
        tag, text = "int", str(value)
    elif isinstance(value, float):
        tag, text = "float", repr(value)
    elif isinstance(value, datetime):
        tag, text = "date", iso(value)
    else:
        tag, text = "string", str(value)
    return f"<{tag} key={_attribute(key)} value={_attribute(text)}/>"


_NOT_XML: Final = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ESCAPES: Final = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def _attribute(text: str) -> str:
    """``text`` as a quoted XML attribute value; characters XML 1.0 forbids become U+FFFD."""
    return '"' + _NOT_XML.sub("\ufffd", text).translate(_ESCAPES) + '"'


def write_xes(target: Target, events: Iterable[Any], *, lifecycle_only: bool = True) -> None:
    """Write the log as XES: one trace per issue (see the module docs).

    ``events`` are events or ``Recorded`` pairs in log order; events about no single
    issue are left out, and with ``lifecycle_only`` (the default) so is everything but
    the issue lifecycle.

    Raises:
        ConfigurationError: for an item that is not an event.
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<log xes.version="1849-2016" xes.features="" xmlns="{_NS}">',
    ]
    lines.extend(
        f"  <extension name={_attribute(n)} prefix={_attribute(p)} uri={_attribute(u)}/>"
        for n, p, u in _EXTENSIONS
    )
    lines.append('  <classifier name="Activity" keys="concept:name"/>')
    lines.append('  <string key="concept:name" value="closedloop"/>')
    for case, trace in _cases(events, lifecycle_only).items():
        lines.append("  <trace>")
        for key, value in _trace_attributes(case, trace[0]).items():
            element = _element(key, value)
            if element is not None:
                lines.append("    " + element)
        for attributes in trace:
            lines.append("    <event>")
            for key, value in attributes.items():
                element = _element(key, value)
                if element is not None:
                    lines.append("      " + element)
            lines.append("    </event>")
        lines.append("  </trace>")
    lines.append("</log>")
    write_text(target, "\n".join(lines) + "\n")


def xes_columns(events: Iterable[Any], *, lifecycle_only: bool = True) -> dict[str, list[Any]]:
    """The XES view of the log as columns, one row per event, in trace order.

    The columns carry PM4Py's canonical names: ``case:concept:name`` (the issue),
    ``concept:name`` (the activity), ``time:timestamp`` (aware), ``org:resource``,
    ``org:group``, ``lifecycle:transition``, ``identity:id``. Give them to
    :func:`~closedloop.to_pandas` for a data frame PM4Py takes as it is.
    """
    names = (
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "org:resource",
        "org:group",
        "lifecycle:transition",
        "identity:id",
    )
    out: dict[str, list[Any]] = {name: [] for name in names}
    for case, trace in _cases(events, lifecycle_only).items():
        for attributes in trace:
            out["case:concept:name"].append(case)
            for name in names[1:]:
                out[name].append(attributes.get(name))
    return out


# -- reading back ----------------------------------------------------------------------


@attrs.frozen
class XesTrace:
    """One trace of an XES log, as read back: its attributes and its events' attributes."""

    attributes: dict[str, Any]
    events: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str | None:
        """The trace's ``concept:name`` (the issue id for closedloop's traces)."""
        value = self.attributes.get("concept:name")
        return value if isinstance(value, str) else None

    @property
    def activities(self) -> tuple[str, ...]:
        """The events' ``concept:name``, in order."""
        return tuple(str(e.get("concept:name")) for e in self.events)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _value(element: ET.Element) -> tuple[str, Any]:
    tag = _local(element.tag)
    key = element.get("key")
    text = element.get("value")
    if key is None or text is None:
        raise DecodeError(f"XES log: a <{tag}> attribute needs key and value")
    try:
        if tag == "int":
            return key, int(text)
        if tag == "float":
            return key, float(text)
        if tag == "boolean":
            if text not in ("true", "false"):
                raise ValueError(text)
            return key, text == "true"
        if tag == "date":
            at = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
            if at.utcoffset() is None:
                raise ValueError(text)
            return key, at
    except ValueError:
        raise DecodeError(f"XES log: {key!r}: {text!r} is not a valid {tag}") from None
    return key, text


_VALUE_TAGS: Final = frozenset({"string", "int", "float", "boolean", "date", "id"})


def _attributes(parent: ET.Element) -> dict[str, Any]:
    return dict(_value(child) for child in parent if _local(child.tag) in _VALUE_TAGS)


def read_xes(source: Target) -> list[XesTrace]:
    """Read the traces of an XES file: enough to read back what :func:`write_xes` writes.

    Plain attributes (string, int, float, boolean, date, id) of traces and events;
    nested attributes, lists and globals are skipped.

    Raises:
        DecodeError: for text that is not XML, or an attribute whose value does not fit
            its type.
    """
    try:
        root = ET.fromstring(read_text(source))
    except ET.ParseError as exc:
        raise DecodeError(f"XES log: not XML: {exc}") from None
    if _local(root.tag) != "log":
        raise DecodeError(f"XES log: the root element is <{_local(root.tag)}>, not <log>")
    traces = []
    for trace in root:
        if _local(trace.tag) != "trace":
            continue
        events = tuple(_attributes(e) for e in trace if _local(e.tag) == "event")
        traces.append(XesTrace(_attributes(trace), events))
    return traces
