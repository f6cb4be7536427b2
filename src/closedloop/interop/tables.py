"""Tables: events, issue states, metrics and simulation results as columns and data frames.

:func:`to_columns` needs nothing beyond the standard library: it returns a dict of
equal-length lists, one list per column. :func:`to_pandas`, :func:`to_polars` and
:func:`to_arrow` build on it, each importing its library only when called and raising
:class:`~closedloop.MissingExtraError` naming the extra (``pandas``, ``polars``,
``arrow``) when it is not installed.

Events
    One row per event, in the order given. The columns ``position`` (the global
    position when the events came from a store's ``read_all()``, else empty),
    ``event_id``, ``event_type`` (the ``KIND``), ``activity`` (the human-readable name,
    :data:`~closedloop.ACTIVITIES`), ``stream_id``, ``version``, ``issue_id`` (when the
    event is about exactly one issue), ``occurred_at`` and ``actor``; then every payload
    field of every event type present, empty where an event has no such field.
    Payloads are flattened: enums by their value; a nested record becomes one column
    per field (``limit`` → ``limit_unit``, ``limit_amount``, ``limit_cutoff``); a tuple of
    ids stays a list (``co_handlers``, ``agenda``, ``attendees``); a tuple of records
    (``decisions``, ``summons``, ``facts``) becomes its JSON text.

Issue states
    One row per :class:`~closedloop.IssueState`, one column per field, flattened the
    same way.

Time zones
    Datetimes stay aware, in the zone they were recorded in. In data frames a datetime
    column takes the zone its values share (Asia/Shanghai for the Chinese calendar), or
    UTC when they differ; the instants never change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from closedloop.errors import ConfigurationError, MissingExtraError
from closedloop.interop._common import (
    Entry,
    activity_of,
    common_zone,
    entries,
    flatten,
    issue_of,
    kind_of,
    payload,
    stream_of,
)
from closedloop.lifecycle.state import IssueState

__all__ = ["event_table", "issue_table", "to_arrow", "to_columns", "to_pandas", "to_polars"]

Columns = dict[str, list[Any]]

EVENT_COLUMNS = (
    "position",
    "event_id",
    "event_type",
    "activity",
    "stream_id",
    "version",
    "issue_id",
    "occurred_at",
    "actor",
)
"""The leading columns of an event table, before the payload fields."""


def _event_rows(log: list[Entry]) -> Columns:
    rows: list[dict[str, Any]] = []
    names: dict[str, None] = dict.fromkeys(EVENT_COLUMNS)
    for position, event in log:
        row: dict[str, Any] = {
            "position": position,
            "event_id": getattr(event, "event_id", None),
            "event_type": kind_of(event),
            "activity": activity_of(event),
            "stream_id": stream_of(event),
            "version": getattr(event, "version", None),
            "issue_id": issue_of(event),
            "occurred_at": event.occurred_at,
            "actor": getattr(event, "actor", None),
        }
        for name, value in payload(event).items():
            if name in row:  # a payload field that shadows a leading column
                name = f"payload_{name}"
            row[name] = value
            names.setdefault(name)
        rows.append(row)
    return {name: [row.get(name) for row in rows] for name in names}


def event_table(events: Iterable[Any]) -> Columns:
    """Columns of an event log: one row per event (see the module docs).

    ``events`` are events or ``Recorded(position, event)`` pairs, in any mix.

    Raises:
        ConfigurationError: naming the first item that is not an event.
    """
    return _event_rows(entries(events, "event_table"))


def issue_table(states: Iterable[IssueState]) -> Columns:
    """Columns of issue states: one row per state, one column per field, flattened.

    Raises:
        ConfigurationError: naming the first item that is not an ``IssueState``.
    """
    rows: list[dict[str, Any]] = []
    for index, state in enumerate(states):
        if not isinstance(state, IssueState):
            raise ConfigurationError(
                f"issue_table: item {index} is not an IssueState: {type(state).__name__}"
            )
        row: dict[str, Any] = {}
        for name in IssueState._fields:
            value = getattr(state, name)
            if name == "limit" and value is None:
                row.update(limit_unit=None, limit_amount=None, limit_cutoff=None)
            else:
                flatten(name, value, row)
        rows.append(row)
    names = list(rows[0]) if rows else _empty_issue_columns()
    return {name: [row.get(name) for row in rows] for name in names}


def _empty_issue_columns() -> list[str]:
    names: list[str] = []
    for name in IssueState._fields:
        names.extend(("limit_unit", "limit_amount", "limit_cutoff") if name == "limit" else (name,))
    return names


def to_columns(data: Any) -> Columns:
    """Columns (a dict of equal-length lists) of events, issue states, metrics or results.

    Accepts: an iterable of events or ``Recorded`` pairs (:func:`event_table`); an
    iterable of :class:`~closedloop.IssueState` (:func:`issue_table`); anything with its
    own ``to_columns()`` (:class:`~closedloop.Metrics` and its tables,
    :class:`~closedloop.SimulationResult`, :class:`~closedloop.Comparison`, a
    conformance report); or a mapping of columns, returned as a dict of lists after
    checking that the lengths agree. An empty iterable gives the event table's
    columns with no rows.

    Raises:
        ConfigurationError: for anything else, or columns of different lengths.
    """
    if isinstance(data, Mapping):
        return _checked_columns(data)
    method = getattr(data, "to_columns", None)
    if callable(method):
        return _checked_columns(method())
    if isinstance(data, str | bytes) or not isinstance(data, Iterable):
        raise ConfigurationError(
            f"to_columns takes events, issue states, metrics or a mapping of columns, "
            f"not {type(data).__name__}"
        )
    items = list(data)
    if items and isinstance(items[0], IssueState):
        return issue_table(items)
    return event_table(items)


def _checked_columns(data: Mapping[Any, Any]) -> Columns:
    out: Columns = {}
    lengths: dict[str, int] = {}
    for name, values in data.items():
        if not isinstance(name, str):
            raise ConfigurationError(f"column names are text, got {name!r}")
        if isinstance(values, str | bytes) or not isinstance(values, Iterable):
            raise ConfigurationError(f"column {name!r} is not a sequence of values")
        out[name] = list(values)
        lengths[name] = len(out[name])
    if len(set(lengths.values())) > 1:
        raise ConfigurationError(f"columns of different lengths: {lengths}")
    return out


# -- data frames --------------------------------------------------------------------------


def _datetime_kind(values: list[Any]) -> str | None:
    """``"aware"`` or ``"naive"`` when every value is a datetime (or None), else None."""
    present = [v for v in values if v is not None]
    if not present or not all(isinstance(v, datetime) for v in present):
        return None
    aware = {v.utcoffset() is not None for v in present}
    if aware == {True}:
        return "aware"
    return "naive" if aware == {False} else None


def _utc(values: list[Any]) -> list[datetime | None]:
    return [None if v is None else v.astimezone(UTC) for v in values]


def _require(module: str, extra: str, feature: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(extra, feature) from None


def to_pandas(data: Any) -> Any:
    """A pandas ``DataFrame`` of :func:`to_columns` (extra ``pandas``).

    Aware datetime columns become ``datetime64[us, <zone>]`` in the zone their values
    share (else UTC); lists stay Python lists in object columns.

    Raises:
        MissingExtraError: when pandas is not installed.
    """
    pd = _require("pandas", "pandas", "to_pandas")
    columns = to_columns(data)
    frame: dict[str, Any] = {}
    for name, values in columns.items():
        kind = _datetime_kind(values)
        if kind == "aware":
            zone = common_zone(v for v in values if v is not None)
            frame[name] = pd.Series(
                pd.to_datetime(_utc(values), utc=True).tz_convert(zone).as_unit("us")
            )
        elif kind == "naive":
            frame[name] = pd.Series(pd.to_datetime(values).as_unit("us"))
        else:
            frame[name] = pd.Series(values, dtype=object if _has_lists(values) else None)
    return pd.DataFrame(frame, columns=list(columns))


def _has_lists(values: list[Any]) -> bool:
    return any(isinstance(v, list) for v in values)


def _fallback_text(values: list[Any]) -> list[Any]:
    return [None if v is None else str(v) for v in values]


def _build(values: list[Any], make: Callable[[list[Any]], Any]) -> Any:
    """``make(values)``, or of their text when the library cannot type the mix."""
    try:
        return make(values)
    except (TypeError, ValueError, OverflowError):
        return make(_fallback_text(values))


def to_arrow(data: Any) -> Any:
    """A pyarrow ``Table`` of :func:`to_columns` (extra ``arrow``).

    Aware datetime columns become ``timestamp("us", tz=<zone>)`` in the zone their
    values share (else UTC); lists become list arrays; a column whose values arrow
    cannot type together becomes text.

    Raises:
        MissingExtraError: when pyarrow is not installed.
    """
    pa = _require("pyarrow", "arrow", "to_arrow")
    columns = to_columns(data)
    arrays: dict[str, Any] = {}
    for name, values in columns.items():
        kind = _datetime_kind(values)
        if kind == "aware":
            zone = common_zone(v for v in values if v is not None)
            arrays[name] = pa.array(_utc(values), type=pa.timestamp("us", tz=zone))
        elif kind == "naive":
            arrays[name] = pa.array(values, type=pa.timestamp("us"))
        else:
            arrays[name] = _build(values, _arrow_array(pa))
    return pa.table(arrays) if arrays else pa.table({})


def _arrow_array(pa: Any) -> Callable[[list[Any]], Any]:
    def make(values: list[Any]) -> Any:
        try:
            return pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise TypeError(str(exc)) from exc

    return make


def to_polars(data: Any) -> Any:
    """A polars ``DataFrame`` of :func:`to_columns` (extra ``polars``).

    Aware datetime columns become ``Datetime("us", <zone>)`` in the zone their values
    share (else UTC); lists become list columns; a column whose values polars cannot
    type together becomes text.

    Raises:
        MissingExtraError: when polars is not installed.
    """
    pl = _require("polars", "polars", "to_polars")
    columns = to_columns(data)
    series = []
    for name, values in columns.items():
        kind = _datetime_kind(values)
        if kind == "aware":
            zone = common_zone(v for v in values if v is not None)
            utc = pl.Series(name, _utc(values), dtype=pl.Datetime("us", "UTC"))
            series.append(utc.dt.convert_time_zone(zone))
        elif kind == "naive":
            series.append(pl.Series(name, values, dtype=pl.Datetime("us")))
        else:
            series.append(_build(values, _polars_series(pl, name)))
    return pl.DataFrame(series)


def _polars_series(pl: Any, name: str) -> Callable[[list[Any]], Any]:
    def make(values: list[Any]) -> Any:
        try:
            return pl.Series(name, values, strict=True)
        except Exception as exc:  # polars raises its own exception classes
            raise TypeError(str(exc)) from exc

    return make
