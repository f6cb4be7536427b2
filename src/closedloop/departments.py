"""Departments, the responsibility matrix, routing, and the coordination graph.

A :class:`Department` (部门 / 科室) belongs to one administrative unit and has a
*function*, a short name for what it does (``"economy"``, ``"natural_resources"``,
``"banking"``). Functions are how the rest of the library talks about departments
without naming them: the same catalogue entry works in every town, because each town
has its own section for ``"construction"``. :class:`Departments` is the immutable
registry of them.

The :class:`ResponsibilityMatrix` (派单目录, the dispatch catalogue) says, for an issue
category at a level of the hierarchy, which function leads (牵头) and which co-handle
(协办). Entries are effective-dated and carry a version label, because catalogues are
revised. Routing an issue of a category at a unit:

1. the handling level is the unit's canonical level;
2. the entry for (category, level) in force at the given instant is chosen;
3. each function of the entry is resolved to the departments with that function at the
   unit itself, else at the nearest ancestor that has one (a town-level entry naming
   ``"banking"`` reaches the city's banks).

The :class:`CoordinationGraph` links departments that work together: cooperation that
was declared, and co-handling learnt from handling records (:class:`HandlingRecord`).
It ranks central departments (bottlenecks), finds clusters of departments that work
together, and, with :func:`buck_passing` and :func:`handling_cycles`, shows buck-passing (推诿扯皮):
issues returned or transferred back and forth between departments.

Everything here is pure: no clock, no I/O except reading the bundled example data, no
randomness except the seeded community detection. Every listing is sorted, with ties
broken by ids, so results do not depend on input order.
"""

from __future__ import annotations

import csv
import difflib
import enum
import functools
import io
import itertools
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from importlib import resources
from types import MappingProxyType
from typing import Any, Final, Protocol, TypeAlias, TypeVar

import attrs
import networkx as nx  # type: ignore[import-untyped,unused-ignore]

from closedloop._checks import aware, member, whole
from closedloop.errors import (
    ConfigurationError,
    NaiveDatetimeError,
    NoRouteError,
    UnknownDepartmentError,
)
from closedloop.ids import DepartmentId, IssueId, UnitId

__all__ = [
    "CHINA_STANDARD_TIME",
    "BuckPassingPair",
    "CoordinationEdge",
    "CoordinationGraph",
    "Department",
    "DepartmentCentrality",
    "DepartmentKind",
    "Departments",
    "HandlingCycle",
    "HandlingRecord",
    "HandlingRole",
    "HierarchyView",
    "ResponsibilityEntry",
    "ResponsibilityMatrix",
    "Route",
    "Router",
    "buck_passing",
    "handling_cycles",
    "handling_paths",
    "yiwu_departments",
    "yiwu_responsibility_matrix",
]

CHINA_STANDARD_TIME: Final[tzinfo] = timezone(timedelta(hours=8))
"""UTC+08:00, the zone of mainland China (no daylight saving since 1991).

The default zone in which the responsibility matrix reads plain dates.
"""

Bound: TypeAlias = date | datetime
"""An end of an effective interval: a day (its start, in the matrix's zone) or an aware instant."""

_T = TypeVar("_T")
_FUNCTION_RE: Final = re.compile(r"[a-z][a-z0-9_]*\Z")
_LIST_SEPARATORS: Final = re.compile(r"[;,\s]+")


# -- the hierarchy, as far as this module needs it -----------------------------------


class _UnitView(Protocol):
    @property
    def id(self) -> UnitId: ...

    @property
    def level(self) -> str: ...


class _LevelsView(Protocol):
    def canonical(self, name: str, /) -> str: ...


class HierarchyView(Protocol):
    """What routing needs from an administrative hierarchy.

    :class:`closedloop.hierarchy.Hierarchy` provides it; any object with these members
    works, which keeps this module independent of how the tree is stored.
    """

    @property
    def levels(self) -> _LevelsView: ...

    def unit(self, unit_id: UnitId, /) -> _UnitView: ...

    def ancestors(self, unit_id: UnitId, /, *, include_self: bool = ...) -> Iterable[_UnitView]: ...

    def __contains__(self, unit_id: object, /) -> bool: ...


# -- small helpers -------------------------------------------------------------------


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise ConfigurationError(
            f"{what} must be a non-empty string without surrounding spaces, got {value!r}"
        )
    return value


def _function_name(value: object, what: str = "function") -> str:
    if not isinstance(value, str) or not _FUNCTION_RE.match(value):
        raise ConfigurationError(
            f"{what} must be a lower-case identifier such as 'natural_resources', got {value!r}"
        )
    return value


def _name_list(value: object) -> tuple[str, ...]:
    """A tuple of names from a tuple/list or a string separated by ``;``, ``,`` or spaces."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part for part in _LIST_SEPARATORS.split(value) if part)
    if isinstance(value, Iterable):
        return tuple(value)
    raise ConfigurationError(f"expected a list of names, got {value!r}")


def _bound(value: object, what: str) -> Bound | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return aware(value, what)
    if isinstance(value, date):
        return value
    raise ConfigurationError(f"{what} must be a date, an aware datetime or None, got {value!r}")


def _instant(value: Bound, zone: tzinfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=zone)


def _close_matches(word: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(word, sorted(candidates), n=3, cutoff=0.6)
    return f" (close matches: {', '.join(map(repr, matches))})" if matches else ""


def _checked_tuple(value: Iterable[_T], what: str) -> tuple[_T, ...]:
    """``tuple(value)``, refusing a string or a non-iterable with a clear error."""
    checked: object = value
    if isinstance(checked, str | bytes) or not isinstance(checked, Iterable):
        raise ConfigurationError(f"expected an iterable of {what}, got {value!r}")
    return tuple(value)


def _problems(what: str, problems: Sequence[str]) -> ConfigurationError:
    lines = "\n".join(f"  {p}" for p in problems)
    return ConfigurationError(f"{len(problems)} problem(s) in {what}:\n{lines}")


def _read_table(filename: str) -> list[dict[str, str]]:
    """The rows of a bundled CSV file; lines starting with ``#`` are comments."""
    text = resources.files("closedloop.data").joinpath(filename).read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


# -- departments ---------------------------------------------------------------------


class DepartmentKind(enum.Enum):
    """What sort of body a department is."""

    BUREAU = "bureau"
    """局: a bureau of a city or county government, or a body at that level (fire brigade)."""
    SECTION = "section"
    """科室 / 办: a section of a town or subdistrict government."""
    OFFICE = "office"
    """办公室: a coordinating office, such as the 三服务办 that collects demand lists."""
    EXTERNAL = "external"
    """An outside body drawn in to solve problems: a bank, a utility, a state enterprise."""


def _kind(value: object) -> DepartmentKind:
    return member(DepartmentKind, value, "department kind")


def _validate_text(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _text(value, attribute.name)


def _validate_function(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _function_name(value, attribute.name)


def _validate_aliases(_instance: object, _attribute: object, value: tuple[str, ...]) -> None:
    for alias in value:
        _text(alias, "an alias")


@attrs.frozen
class Department:
    """A department, section or outside body that handles issues for one unit.

    Attributes:
        id: unique among all departments.
        name: the display name.
        unit: the administrative unit the department belongs to.
        kind: bureau, section, office or external body.
        function: what it does, as a lower-case identifier (``"economy"``); the
            responsibility matrix names functions, not departments.
        name_zh: the Chinese name, if different from ``name``.
        aliases: other names it goes by (short forms such as 经信局).
    """

    id: DepartmentId = attrs.field(validator=_validate_text)
    name: str = attrs.field(validator=_validate_text)
    unit: UnitId = attrs.field(validator=_validate_text)
    kind: DepartmentKind = attrs.field(converter=_kind)
    function: str = attrs.field(validator=_validate_function)
    name_zh: str = attrs.field(default="", kw_only=True)
    aliases: tuple[str, ...] = attrs.field(
        default=(), converter=_name_list, validator=_validate_aliases, kw_only=True
    )

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the department goes by: name, Chinese name, aliases."""
        return tuple(n for n in (self.name, self.name_zh, *self.aliases) if n)

    def __str__(self) -> str:
        return f"{self.name_zh or self.name} ({self.id})"


def _department_tuple(value: Iterable[Department]) -> tuple[Department, ...]:
    return _checked_tuple(value, "Department")


_DepartmentIndex: TypeAlias = tuple[
    Mapping[DepartmentId, Department],
    Mapping[UnitId, tuple[Department, ...]],
    Mapping[tuple[UnitId, str], tuple[Department, ...]],
]


def _index_departments(departments: Sequence[object], noun: str) -> _DepartmentIndex:
    """Index departments by id, unit and (unit, function), or raise listing every problem.

    ``noun`` names the items in messages (``"entry"``, or ``"row"`` for rows).
    """
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    names_seen: dict[tuple[str, str], int] = {}
    by_id: dict[DepartmentId, Department] = {}
    by_unit: dict[UnitId, list[Department]] = {}
    by_function: dict[tuple[UnitId, str], list[Department]] = {}
    for number, dept in enumerate(departments, start=1):
        if not isinstance(dept, Department):
            problems.append(f"{noun} {number}: not a Department: {dept!r}")
            continue
        if dept.id in first_seen:
            problems.append(
                f"{noun} {number}: duplicate id {dept.id!r} "
                f"(first used by {noun} {first_seen[dept.id]})"
            )
            continue
        first_seen[dept.id] = number
        for name in dict.fromkeys(dept.names):
            key = (dept.unit, name)
            if key in names_seen:
                problems.append(
                    f"{noun} {number}: name {name!r} of {dept.id!r} is already used in "
                    f"unit {dept.unit!r} by {noun} {names_seen[key]}"
                )
            else:
                names_seen[key] = number
        by_id[dept.id] = dept
        by_unit.setdefault(dept.unit, []).append(dept)
        by_function.setdefault((dept.unit, dept.function), []).append(dept)
    if problems:
        raise _problems("the departments", problems)

    def sorted_by_id(group: list[Department]) -> tuple[Department, ...]:
        return tuple(sorted(group, key=lambda d: d.id))

    return (
        MappingProxyType(by_id),
        MappingProxyType({k: sorted_by_id(v) for k, v in by_unit.items()}),
        MappingProxyType({k: sorted_by_id(v) for k, v in by_function.items()}),
    )


_DEPARTMENT_COLUMNS: Final = ("id", "name", "unit", "kind", "function", "name_zh", "aliases")


@attrs.frozen
class Departments:
    """An immutable registry of departments, indexed by id, by unit and by function.

    Construction checks the whole collection and raises one
    :class:`~closedloop.ConfigurationError` listing every problem: duplicate ids, and
    a name used by two departments of the same unit. Entries are numbered from 1 in
    the messages (the row numbers when built with :meth:`from_rows`).

    Several departments of one unit may share a function (a city's three banks all do
    ``"banking"``); :meth:`with_function` returns them all.
    """

    _departments: tuple[Department, ...] = attrs.field(
        alias="departments", converter=_department_tuple, repr=False
    )
    _by_id: Mapping[DepartmentId, Department] = attrs.field(init=False, repr=False, eq=False)
    _by_unit: Mapping[UnitId, tuple[Department, ...]] = attrs.field(
        init=False, repr=False, eq=False
    )
    _by_function: Mapping[tuple[UnitId, str], tuple[Department, ...]] = attrs.field(
        init=False, repr=False, eq=False
    )

    def __attrs_post_init__(self) -> None:
        by_id, by_unit, by_function = _index_departments(self._departments, "entry")
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_unit", by_unit)
        object.__setattr__(self, "_by_function", by_function)

    # -- building ----------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> Departments:
        """Build from plain rows with the columns ``id, name, unit, kind, function``.

        Optional columns: ``name_zh`` and ``aliases`` (a list, or a string separated by
        ``;``). Empty cells count as missing. Every bad row is reported in one
        :class:`~closedloop.ConfigurationError`, rows numbered from 1.
        """
        departments: list[Department] = []
        problems: list[str] = []
        for number, given in enumerate(rows, start=1):
            row: object = given
            if not isinstance(row, Mapping):
                problems.append(f"row {number}: not a mapping: {row!r}")
                continue
            missing = [c for c in _DEPARTMENT_COLUMNS[:5] if row.get(c) in (None, "")]
            if missing:
                problems.append(f"row {number}: missing {', '.join(missing)}")
                continue
            unknown = sorted(set(row) - set(_DEPARTMENT_COLUMNS))
            if unknown:
                problems.append(f"row {number}: unknown column(s) {', '.join(unknown)}")
                continue
            try:
                departments.append(
                    Department(
                        DepartmentId(row["id"]),
                        row["name"],
                        UnitId(row["unit"]),
                        row["kind"],
                        row["function"],
                        name_zh=row.get("name_zh") or "",
                        aliases=row.get("aliases"),
                    )
                )
            except (ConfigurationError, NaiveDatetimeError) as exc:
                problems.append(f"row {number}: {exc}")
        if problems:
            raise _problems("the department rows", problems)
        _index_departments(departments, "row")  # duplicates, reported by row
        return cls(departments)

    def to_rows(self) -> list[dict[str, str]]:
        """Plain rows (strings only) that :meth:`from_rows` reads back to an equal registry."""
        return [
            {
                "id": d.id,
                "name": d.name,
                "unit": d.unit,
                "kind": d.kind.value,
                "function": d.function,
                "name_zh": d.name_zh,
                "aliases": ";".join(d.aliases),
            }
            for d in self._departments
        ]

    # -- lookups -----------------------------------------------------------------------

    def get(self, department_id: str) -> Department:
        """The department with this id.

        Raises:
            UnknownDepartmentError: naming the id and the closest known ids.
        """
        try:
            return self._by_id[DepartmentId(department_id)]
        except (KeyError, TypeError):
            raise self._unknown(department_id) from None

    def _unknown(self, department_id: object, where: str = "") -> UnknownDepartmentError:
        prefix = f"{where}: " if where else ""
        return UnknownDepartmentError(
            f"{prefix}no department with id {department_id!r}"
            + _close_matches(str(department_id), self._by_id)
        )

    __getitem__ = get

    def __contains__(self, department_id: object) -> bool:
        return department_id in self._by_id

    def __iter__(self) -> Iterator[Department]:
        """The departments in the order they were given."""
        return iter(self._departments)

    def __len__(self) -> int:
        return len(self._departments)

    def __repr__(self) -> str:
        return f"<Departments: {len(self)} in {len(self._by_unit)} unit(s)>"

    @property
    def ids(self) -> tuple[DepartmentId, ...]:
        """Every department id, sorted."""
        return tuple(sorted(self._by_id))

    @property
    def units(self) -> frozenset[UnitId]:
        """The units that have at least one department."""
        return frozenset(self._by_unit)

    @property
    def functions(self) -> frozenset[str]:
        """Every function some department has."""
        return frozenset(f for _unit, f in self._by_function)

    def at_unit(self, unit: str) -> tuple[Department, ...]:
        """The departments of ``unit`` (by id; empty when it has none)."""
        return self._by_unit.get(UnitId(unit), ())

    def with_function(self, unit: str, function: str) -> tuple[Department, ...]:
        """The departments of ``unit`` that have ``function`` (by id; possibly empty)."""
        return self._by_function.get((UnitId(unit), function), ())

    def nearest(
        self, unit: str, function: str, *, hierarchy: HierarchyView
    ) -> tuple[Department, ...]:
        """The departments with ``function`` at ``unit``, else at its nearest ancestor that has one.

        Returns an empty tuple when neither the unit nor any ancestor has the function.

        Raises:
            UnknownUnitError: from the hierarchy, for a unit it does not have.
        """
        for holder in hierarchy.ancestors(UnitId(unit), include_self=True):
            found = self._by_function.get((holder.id, function))
            if found:
                return found
        return ()

    def check_units(self, hierarchy: HierarchyView) -> None:
        """Check that every department's unit exists in ``hierarchy``.

        Raises:
            ConfigurationError: listing every department whose unit is unknown.
        """
        problems = [
            f"department {d.id!r} belongs to unknown unit {d.unit!r}"
            for d in self._departments
            if d.unit not in hierarchy
        ]
        if problems:
            raise _problems("the departments' units", problems)


# -- the responsibility matrix -------------------------------------------------------


def _co_handlers(value: object) -> tuple[str, ...]:
    return _name_list(value)


def _validate_co_handlers(
    instance: ResponsibilityEntry, _attribute: object, value: tuple[str, ...]
) -> None:
    for function in value:
        _function_name(function, "a co-handling function")
    repeated = sorted(f for f, n in Counter(value).items() if n > 1)
    if repeated:
        raise ConfigurationError(f"co-handling function(s) named twice: {', '.join(repeated)}")
    if instance.lead in value:
        raise ConfigurationError(f"the lead function {instance.lead!r} is also a co-handler")


def _validate_bound(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _bound(value, attribute.name)


def _format_bound(value: Bound | None) -> str:
    return "open" if value is None else value.isoformat()


@attrs.frozen
class ResponsibilityEntry:
    """One line of the dispatch catalogue (派单目录): who leads a category at a level.

    The entry is in force from ``valid_from`` (inclusive) until ``valid_until``
    (exclusive); ``None`` leaves that end open. A bound is either an aware datetime,
    taken as that instant, or a date, taken as the start (00:00) of that day in the
    matrix's zone (China Standard Time by default). So an entry valid until
    2020-01-01 is no longer in force at 2020-01-01 00:00 Beijing time.

    Attributes:
        category: the issue category (``"land_certificate"``).
        level: the level of the handling unit (``"county"``, ``"town"``).
        lead: the function that leads (牵头).
        co_handlers: the functions that co-handle (协办), in the order given; none of
            them repeats or equals the lead.
        version: the catalogue revision that introduced this entry (``"2019-06"``).
        valid_from: first instant in force, or ``None`` for "always before".
        valid_until: first instant no longer in force, or ``None`` for "still in force".
        description: free text, e.g. the Chinese name of the category.
    """

    category: str = attrs.field(validator=_validate_text)
    level: str = attrs.field(validator=_validate_text)
    lead: str = attrs.field(validator=_validate_function)
    co_handlers: tuple[str, ...] = attrs.field(
        default=(), converter=_co_handlers, validator=_validate_co_handlers
    )
    version: str = attrs.field(default="1", kw_only=True, validator=_validate_text)
    valid_from: Bound | None = attrs.field(default=None, kw_only=True, validator=_validate_bound)
    valid_until: Bound | None = attrs.field(default=None, kw_only=True, validator=_validate_bound)
    description: str = attrs.field(default="", kw_only=True)

    def __attrs_post_init__(self) -> None:
        start, end = self.valid_from, self.valid_until
        if start is not None and end is not None:
            # Same kinds compare directly; a date against a datetime needs the matrix's
            # zone, so that pair is checked by the matrix.
            same_kind = isinstance(start, datetime) == isinstance(end, datetime)
            if same_kind and not start < end:
                raise ConfigurationError(
                    f"entry ({self.category!r}, {self.level!r}) version {self.version!r}: "
                    f"valid_from {start.isoformat()} is not before valid_until {end.isoformat()}"
                )

    @property
    def functions(self) -> tuple[str, ...]:
        """The lead function, then the co-handling functions."""
        return (self.lead, *self.co_handlers)

    @property
    def interval(self) -> str:
        """The effective interval as text, ``[from, until)``."""
        return f"[{_format_bound(self.valid_from)}, {_format_bound(self.valid_until)})"

    def span(self, zone: tzinfo = CHINA_STANDARD_TIME) -> tuple[datetime | None, datetime | None]:
        """The effective interval as instants, with dates read in ``zone``."""
        start = None if self.valid_from is None else _instant(self.valid_from, zone)
        end = None if self.valid_until is None else _instant(self.valid_until, zone)
        return start, end

    def in_force(self, at: Bound, zone: tzinfo = CHINA_STANDARD_TIME) -> bool:
        """Whether the entry is in force at ``at`` (a date means its start in ``zone``)."""
        instant = _instant(_checked_at(at), zone)
        start, end = self.span(zone)
        return (start is None or start <= instant) and (end is None or instant < end)


def _checked_at(at: object) -> Bound:
    if isinstance(at, datetime):
        return aware(at, "the instant")
    if isinstance(at, date):
        return at
    raise ConfigurationError(f"expected an aware datetime or a date, got {at!r}")


def _entry_tuple(value: Iterable[ResponsibilityEntry]) -> tuple[ResponsibilityEntry, ...]:
    return _checked_tuple(value, "ResponsibilityEntry")


def _validate_zone(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, tzinfo):
        raise ConfigurationError(f"zone must be a tzinfo, got {value!r}")


_MATRIX_COLUMNS: Final = (
    "category",
    "level",
    "lead",
    "co_handlers",
    "version",
    "valid_from",
    "valid_until",
    "description",
)


def _parse_bound(value: object, column: str) -> Bound | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):  # dates and datetimes
        return _bound(value, column)
    if not isinstance(value, str):
        raise ConfigurationError(f"{column} must be a date or datetime, got {value!r}")
    text = value.strip()
    try:
        parsed = date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{column} {value!r} is neither an ISO date (2020-01-01) "
            "nor an ISO datetime with an offset (2020-01-01T08:00+08:00)"
        ) from None
    return _bound(parsed, column)


_EntryIndex: TypeAlias = Mapping[str, Mapping[str, tuple[ResponsibilityEntry, ...]]]


def _index_entries(
    entries: Sequence[object], zone: tzinfo, *, noun: str, title: str
) -> _EntryIndex:
    """Index entries by category then level, oldest first; raise listing every problem.

    Problems: an item that is not an entry, an empty interval, two entries for the same
    (category, level) whose intervals overlap.
    """
    plural = {"entry": "entries"}.get(noun, noun + "s")
    problems: list[str] = []
    grouped: dict[str, dict[str, list[tuple[int, ResponsibilityEntry]]]] = {}
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, ResponsibilityEntry):
            problems.append(f"{noun} {number}: not a ResponsibilityEntry: {entry!r}")
            continue
        start, end = entry.span(zone)
        if start is not None and end is not None and not start < end:
            problems.append(
                f"{noun} {number} ({entry.category!r}, {entry.level!r}) version "
                f"{entry.version!r}: empty interval {entry.interval}"
            )
            continue
        grouped.setdefault(entry.category, {}).setdefault(entry.level, []).append((number, entry))

    def start_of(item: tuple[int, ResponsibilityEntry]) -> tuple[bool, datetime | None, int]:
        start = item[1].span(zone)[0]
        return (start is not None, start, item[0])

    index: dict[str, Mapping[str, tuple[ResponsibilityEntry, ...]]] = {}
    for category, by_level in grouped.items():
        levels: dict[str, tuple[ResponsibilityEntry, ...]] = {}
        for level, group in by_level.items():
            group.sort(key=start_of)
            for (n1, before), (n2, after) in itertools.pairwise(group):
                end = before.span(zone)[1]
                start = after.span(zone)[0]
                if end is None or start is None or start < end:
                    problems.append(
                        f"{plural} {n1} and {n2} for ({category!r}, {level!r}) overlap: "
                        f"version {before.version!r} {before.interval} and "
                        f"version {after.version!r} {after.interval}"
                    )
            levels[level] = tuple(entry for _n, entry in group)
        index[category] = MappingProxyType(levels)
    if problems:
        raise _problems(title, problems)
    return MappingProxyType(index)


@attrs.frozen
class ResponsibilityMatrix:
    """The dispatch catalogue: effective-dated, versioned entries keyed by (category, level).

    For each (category, level) the entries' effective intervals must not overlap, so
    at any instant at most one entry is in force; construction checks this, along with
    date/datetime bounds that are out of order, and raises one
    :class:`~closedloop.ConfigurationError` listing every problem.

    Args:
        entries: the catalogue's lines, any order.
        zone: where plain dates are read (default: China Standard Time, UTC+08:00).
        name: a name for the catalogue, for messages.
    """

    entries: tuple[ResponsibilityEntry, ...] = attrs.field(converter=_entry_tuple)
    zone: tzinfo = attrs.field(default=CHINA_STANDARD_TIME, kw_only=True, validator=_validate_zone)
    name: str = attrs.field(default="", kw_only=True)
    _index: _EntryIndex = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        title = "the responsibility matrix" + (f" {self.name!r}" if self.name else "")
        index = _index_entries(self.entries, self.zone, noun="entry", title=title)
        object.__setattr__(self, "_index", index)

    # -- rows --------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Mapping[str, Any]],
        *,
        zone: tzinfo = CHINA_STANDARD_TIME,
        name: str = "",
    ) -> ResponsibilityMatrix:
        """Build from plain rows (e.g. read from CSV or JSON).

        Columns: ``category, level, lead`` (required); ``co_handlers`` (a list, or a
        string separated by ``;``), ``version`` (default ``"1"``), ``valid_from``,
        ``valid_until`` (ISO dates ``2020-01-01`` or ISO datetimes with an offset, or
        date/datetime objects; empty for open), ``description``. Every bad row is
        reported in one :class:`~closedloop.ConfigurationError`, rows numbered from 1.
        """
        entries: list[ResponsibilityEntry] = []
        problems: list[str] = []
        for number, given in enumerate(rows, start=1):
            row: object = given
            if not isinstance(row, Mapping):
                problems.append(f"row {number}: not a mapping: {row!r}")
                continue
            missing = [c for c in _MATRIX_COLUMNS[:3] if row.get(c) in (None, "")]
            if missing:
                problems.append(f"row {number}: missing {', '.join(missing)}")
                continue
            unknown = sorted(set(row) - set(_MATRIX_COLUMNS))
            if unknown:
                problems.append(f"row {number}: unknown column(s) {', '.join(unknown)}")
                continue
            try:
                entries.append(
                    ResponsibilityEntry(
                        row["category"],
                        row["level"],
                        row["lead"],
                        row.get("co_handlers"),
                        version=row.get("version") or "1",
                        valid_from=_parse_bound(row.get("valid_from"), "valid_from"),
                        valid_until=_parse_bound(row.get("valid_until"), "valid_until"),
                        description=row.get("description") or "",
                    )
                )
            except (ConfigurationError, NaiveDatetimeError) as exc:
                problems.append(f"row {number}: {exc}")
        if problems:
            raise _problems("the responsibility rows", problems)
        _index_entries(entries, zone, noun="row", title="the responsibility rows")
        return cls(entries, zone=zone, name=name)

    def to_rows(self) -> list[dict[str, str]]:
        """Plain rows (strings only) that :meth:`from_rows` reads back to an equal matrix."""
        return [
            {
                "category": e.category,
                "level": e.level,
                "lead": e.lead,
                "co_handlers": ";".join(e.co_handlers),
                "version": e.version,
                "valid_from": "" if e.valid_from is None else e.valid_from.isoformat(),
                "valid_until": "" if e.valid_until is None else e.valid_until.isoformat(),
                "description": e.description,
            }
            for e in self.entries
        ]

    # -- queries -----------------------------------------------------------------------

    @property
    def categories(self) -> tuple[str, ...]:
        """Every category, sorted."""
        return tuple(sorted(self._index))

    @property
    def versions(self) -> tuple[str, ...]:
        """Every version label used, sorted."""
        return tuple(sorted({e.version for e in self.entries}))

    @property
    def functions(self) -> frozenset[str]:
        """Every function the matrix names (leads and co-handlers)."""
        return frozenset(f for e in self.entries for f in e.functions)

    def levels_of(self, category: str) -> tuple[str, ...]:
        """The levels that have entries for ``category``, sorted (empty when unknown)."""
        return tuple(sorted(self._index.get(category, {})))

    def entries_for(self, category: str, level: str) -> tuple[ResponsibilityEntry, ...]:
        """The entries for (category, level), oldest first (empty when none)."""
        return self._index.get(category, {}).get(level, ())

    def entry_at(self, category: str, level: str, at: Bound) -> ResponsibilityEntry | None:
        """The entry for (category, level) in force at ``at``, or ``None``.

        ``level`` is matched as written; :meth:`route` matches canonical levels.
        """
        at = _checked_at(at)
        for entry in self.entries_for(category, level):
            if entry.in_force(at, self.zone):
                return entry
        return None

    def route(
        self,
        category: str,
        unit: str,
        at: Bound,
        *,
        hierarchy: HierarchyView,
        departments: Departments,
    ) -> Route:
        """Route an issue of ``category`` handled at ``unit`` at instant ``at``.

        Same as ``Router(self, hierarchy, departments).route(category, unit, at)``.
        """
        return Router(self, hierarchy, departments).route(category, unit, at)

    def find_route(
        self,
        category: str,
        unit: str,
        at: Bound,
        *,
        hierarchy: HierarchyView,
        departments: Departments,
    ) -> Route | None:
        """Like :meth:`route`, but ``None`` where :meth:`route` raises :class:`NoRouteError`."""
        return Router(self, hierarchy, departments).find_route(category, unit, at)


@attrs.frozen
class Route:
    """Where an issue goes: the lead department and the co-handling departments.

    Attributes:
        category: the issue category.
        unit: the handling unit.
        level: the unit's canonical level, which chose the entry.
        lead: the lead department (牵头部门).
        co_handlers: the co-handling departments (协办部门), in the entry's function
            order, each function's departments by id, without repeats.
        entry: the catalogue entry that was applied.
    """

    category: str
    unit: UnitId
    level: str
    lead: Department
    co_handlers: tuple[Department, ...]
    entry: ResponsibilityEntry

    @property
    def entry_version(self) -> str:
        """The version label of the catalogue entry applied."""
        return self.entry.version

    @property
    def departments(self) -> tuple[Department, ...]:
        """The lead, then the co-handlers."""
        return (self.lead, *self.co_handlers)

    @property
    def department_ids(self) -> tuple[DepartmentId, ...]:
        """The ids of :attr:`departments`."""
        return tuple(d.id for d in self.departments)


@attrs.frozen(eq=False)
class Router:
    """Routes issues with one matrix over one hierarchy and one set of departments.

    The routing rule: the handling level is the canonical level of the unit; the entry
    for (category, level) in force at the instant is applied; each of its functions
    resolves to the departments with that function at the unit, else at the nearest
    ancestor that has any. The lead function must resolve to exactly one department.

    Attributes:
        matrix: the dispatch catalogue.
        hierarchy: the administrative tree (levels and ancestors).
        departments: the registry the functions resolve in.
    """

    matrix: ResponsibilityMatrix
    hierarchy: HierarchyView = attrs.field(repr=False)
    departments: Departments = attrs.field(repr=False)

    def route(self, category: str, unit: str, at: Bound) -> Route:
        """The route for an issue of ``category`` handled at ``unit`` at ``at``.

        ``at`` is an aware datetime, or a date meaning its start in the matrix's zone.

        Raises:
            NoRouteError: no entry for the category at the unit's level; no entry in
                force at ``at``; no department with a needed function at or above the
                unit; or a lead function held by several departments.
            UnknownUnitError: from the hierarchy, for an unknown unit.
            NaiveDatetimeError: for a datetime without a time zone.
        """
        result = self._route(category, unit, at)
        if isinstance(result, str):
            raise NoRouteError(category, unit, result)
        return result

    def find_route(self, category: str, unit: str, at: Bound) -> Route | None:
        """Like :meth:`route`, but ``None`` instead of :class:`NoRouteError`."""
        result = self._route(category, unit, at)
        return None if isinstance(result, str) else result

    def _route(self, category: str, unit: str, at: Bound) -> Route | str:
        at = _checked_at(at)
        matrix = self.matrix
        unit_id = UnitId(unit)
        level = self._canonical(self.hierarchy.unit(unit_id).level)
        by_level = matrix._index.get(category)
        if by_level is None:
            return f"the matrix has no category {category!r}" + _close_matches(
                category, matrix._index
            )
        candidates = [
            entry
            for raw, group in sorted(by_level.items())
            if self._canonical(raw) == level
            for entry in group
        ]
        if not candidates:
            known = ", ".join(sorted(by_level))
            return f"no entry for level {level!r} (the category has entries at: {known})"
        in_force = [e for e in candidates if e.in_force(at, matrix.zone)]
        when = at.isoformat()
        if not in_force:
            spans = "; ".join(f"version {e.version!r} {e.interval}" for e in candidates)
            return f"no entry for level {level!r} is in force at {when} (entries: {spans})"
        if len(in_force) > 1:
            versions = ", ".join(repr(e.version) for e in in_force)
            return (
                f"several entries for level {level!r} are in force at {when} (versions "
                f"{versions}), written with different names of the same level"
            )
        entry = in_force[0]
        leads = self.departments.nearest(unit_id, entry.lead, hierarchy=self.hierarchy)
        if not leads:
            return self._missing(entry.lead, unit_id)
        if len(leads) > 1:
            ids = ", ".join(d.id for d in leads)
            return (
                f"the lead function {entry.lead!r} is held by {len(leads)} departments of "
                f"unit {leads[0].unit!r} ({ids}); a lead must be a single department"
            )
        lead = leads[0]
        co_handlers: dict[DepartmentId, Department] = {}
        for function in entry.co_handlers:
            found = self.departments.nearest(unit_id, function, hierarchy=self.hierarchy)
            if not found:
                return self._missing(function, unit_id)
            for dept in found:
                if dept.id != lead.id:
                    co_handlers.setdefault(dept.id, dept)
        return Route(category, unit_id, level, lead, tuple(co_handlers.values()), entry)

    def _canonical(self, level: str) -> str:
        try:
            return self.hierarchy.levels.canonical(level)
        except (LookupError, ValueError):
            return level

    def _missing(self, function: str, unit: UnitId) -> str:
        chain = [u.id for u in self.hierarchy.ancestors(unit, include_self=True)]
        return (
            f"no department with function {function!r} at unit {unit!r} or its ancestors "
            f"({' > '.join(chain[1:]) or 'none'})"
        )


# -- handling records and paths ------------------------------------------------------


class HandlingRole(enum.Enum):
    """What a department did with an issue, as recorded for coordination analysis."""

    LEAD = "lead"
    """It became the issue's lead handler (assigned, or reassigned)."""
    CO_HANDLER = "co_handler"
    """It co-handled the issue alongside the current lead."""
    RETURNED = "returned"
    """It sent the issue back (退回), to the assigner or to ``to_department``."""
    TRANSFERRED = "transferred"
    """It passed the issue on to ``to_department`` (转办)."""


def _validate_record(instance: HandlingRecord) -> None:
    role = instance.role
    target = instance.to_department
    if role is HandlingRole.TRANSFERRED and target is None:
        raise ConfigurationError(
            f"issue {instance.issue_id!r}: a transfer by {instance.department!r} "
            "needs to_department"
        )
    if role in (HandlingRole.LEAD, HandlingRole.CO_HANDLER) and target is not None:
        raise ConfigurationError(
            f"issue {instance.issue_id!r}: to_department only goes with a return or a transfer"
        )
    if target is not None:
        _text(target, "to_department")
        if target == instance.department:
            raise ConfigurationError(
                f"issue {instance.issue_id!r}: {instance.department!r} "
                "cannot pass an issue to itself"
            )


def _role(value: object) -> HandlingRole:
    return member(HandlingRole, value, "handling role")


def _record_instant(value: object) -> datetime:
    return aware(value, "a handling record's time")


@attrs.frozen
class HandlingRecord:
    """One department's part in one issue, as the coordination analysis reads it.

    Until the issue lifecycle's event log exists, these plain records are the input;
    later they are derived from its events.

    Attributes:
        issue_id: the issue.
        department: the department that acted.
        role: lead, co-handler, returned or transferred.
        at: when (an aware datetime).
        to_department: for a transfer, the department it went to (required); for a
            return, the department it went back to, if it went to one rather than to
            the assigner.
    """

    issue_id: IssueId = attrs.field(validator=_validate_text)
    department: DepartmentId = attrs.field(validator=_validate_text)
    role: HandlingRole = attrs.field(converter=_role)
    at: datetime = attrs.field(converter=_record_instant)
    to_department: DepartmentId | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        _validate_record(self)


@attrs.frozen
class _Handover:
    giver: DepartmentId
    receiver: DepartmentId
    role: HandlingRole
    """RETURNED or TRANSFERRED."""


class _IssueTrack:
    """The handling of one issue, folded from its records in time order.

    The *path* is the sequence of departments that held the issue. A department is
    appended when it becomes the holder: by a LEAD record (unless it already holds
    the issue), as the target of a transfer, or as the target of a return. A return
    without a target leaves the issue with nobody; the next holder is then the
    counterpart of that return. A return or transfer by a department that does not
    hold the issue (the record that made it holder is missing) first makes it the
    holder.

    A *team* is the lead with its co-handlers while one holder has the issue; two
    departments co-handle the issue when they were ever in one team.
    """

    __slots__ = ("handovers", "holder", "last_at", "pairs", "path", "pending", "team")

    def __init__(self) -> None:
        self.path: list[DepartmentId] = []
        self.handovers: list[_Handover] = []
        self.holder: DepartmentId | None = None
        self.pending: DepartmentId | None = None
        self.team: set[DepartmentId] = set()
        self.pairs: set[tuple[DepartmentId, DepartmentId]] = set()
        self.last_at: datetime | None = None

    def _join(self, dept: DepartmentId, new_pairs: list[tuple[DepartmentId, DepartmentId]]) -> None:
        for other in sorted(self.team):
            pair = (other, dept) if other < dept else (dept, other)
            if other != dept and pair not in self.pairs:
                self.pairs.add(pair)
                new_pairs.append(pair)
        self.team.add(dept)

    def _receive(
        self, dept: DepartmentId, new_pairs: list[tuple[DepartmentId, DepartmentId]]
    ) -> None:
        if self.pending is None and self.holder == dept:
            return
        if self.pending is not None:
            # The team was dissolved by the return; co-handlers named since then stay.
            self.handovers.append(_Handover(self.pending, dept, HandlingRole.RETURNED))
            self.pending = None
        elif self.holder is not None:
            self.team = set()
        self.path.append(dept)
        self.holder = dept
        self._join(dept, new_pairs)

    def _pass(
        self,
        giver: DepartmentId,
        receiver: DepartmentId,
        role: HandlingRole,
        new_pairs: list[tuple[DepartmentId, DepartmentId]],
    ) -> None:
        self.handovers.append(_Handover(giver, receiver, role))
        self.team = set()
        self.path.append(receiver)
        self.holder = receiver
        self._join(receiver, new_pairs)

    def apply(self, record: HandlingRecord) -> list[tuple[DepartmentId, DepartmentId]]:
        """Fold one record in; returns the co-handling pairs it created (sorted ids)."""
        new_pairs: list[tuple[DepartmentId, DepartmentId]] = []
        self.last_at = record.at
        dept = record.department
        role = record.role
        if role is HandlingRole.LEAD:
            self._receive(dept, new_pairs)
        elif role is HandlingRole.CO_HANDLER:
            self._join(dept, new_pairs)
        else:
            self._receive(dept, new_pairs)
            target = record.to_department
            if target is not None:
                self._pass(dept, target, role, new_pairs)
            else:  # a return to the assigner: nobody holds the issue until reassigned
                self.holder = None
                self.pending = dept
                self.team = set()
        return new_pairs

    def cycles(self, issue_id: IssueId) -> list[HandlingCycle]:
        last_seen: dict[DepartmentId, int] = {}
        found: list[HandlingCycle] = []
        for position, dept in enumerate(self.path):
            if dept in last_seen:
                start = last_seen[dept]
                found.append(HandlingCycle(issue_id, tuple(self.path[start : position + 1]), start))
            last_seen[dept] = position
        return found


def _group_records(
    records: Iterable[HandlingRecord],
) -> dict[IssueId, list[HandlingRecord]]:
    grouped: dict[IssueId, list[HandlingRecord]] = {}
    for number, record in enumerate(records, start=1):
        if not isinstance(record, HandlingRecord):
            raise ConfigurationError(f"record {number} is not a HandlingRecord: {record!r}")
        grouped.setdefault(record.issue_id, []).append(record)
    for group in grouped.values():
        group.sort(key=lambda r: r.at)  # stable: equal times keep their input order
    return grouped


def _tracks(records: Iterable[HandlingRecord]) -> dict[IssueId, _IssueTrack]:
    tracks: dict[IssueId, _IssueTrack] = {}
    for issue_id, group in sorted(_group_records(records).items()):
        track = tracks[issue_id] = _IssueTrack()
        for record in group:
            track.apply(record)
    return tracks


@attrs.frozen
class HandlingCycle:
    """An issue came back to a department that had already held it (A → B → A).

    Attributes:
        issue_id: the issue.
        departments: the stretch of the handling path from the earlier holding to the
            return, both included: ``(A, B, A)``; ``(A, A)`` when A returned the issue
            and was given it again.
        start: the position in the issue's path where the stretch begins.
    """

    issue_id: IssueId
    departments: tuple[DepartmentId, ...]
    start: int

    @property
    def department(self) -> DepartmentId:
        """The department the issue came back to."""
        return self.departments[0]

    @property
    def length(self) -> int:
        """How many handovers the cycle took."""
        return len(self.departments) - 1


@attrs.frozen
class BuckPassingPair:
    """Returns and transfers between two departments, in both directions.

    ``a`` sorts before ``b``. "a to b" means ``a`` returned or transferred an issue and
    ``b`` received it next.

    Attributes:
        a, b: the two departments.
        returns_a_to_b, transfers_a_to_b: handovers from ``a`` to ``b``.
        returns_b_to_a, transfers_b_to_a: handovers from ``b`` to ``a``.
        issues: the issues involved, sorted.
        cycles: handling cycles (see :func:`handling_cycles`) in which the issue passed
            directly between the two: the buck-passing that brought an issue back to
            where it had been.
    """

    a: DepartmentId
    b: DepartmentId
    returns_a_to_b: int
    transfers_a_to_b: int
    returns_b_to_a: int
    transfers_b_to_a: int
    issues: tuple[IssueId, ...]
    cycles: int = 0

    @property
    def a_to_b(self) -> int:
        """Handovers from ``a`` to ``b``."""
        return self.returns_a_to_b + self.transfers_a_to_b

    @property
    def b_to_a(self) -> int:
        """Handovers from ``b`` to ``a``."""
        return self.returns_b_to_a + self.transfers_b_to_a

    @property
    def total(self) -> int:
        """Handovers between the two, both directions."""
        return self.a_to_b + self.b_to_a

    @property
    def back_and_forth(self) -> int:
        """The smaller direction: how many times the issue went there *and* back."""
        return min(self.a_to_b, self.b_to_a)


def _buck_passing(tracks: Mapping[IssueId, _IssueTrack]) -> list[BuckPassingPair]:
    counts: dict[tuple[DepartmentId, DepartmentId], list[int]] = {}
    issues: dict[tuple[DepartmentId, DepartmentId], set[IssueId]] = {}
    for issue_id, track in tracks.items():
        for h in track.handovers:
            if h.giver == h.receiver:
                continue
            forward = h.giver < h.receiver
            key = (h.giver, h.receiver) if forward else (h.receiver, h.giver)
            slot = (0 if forward else 2) + (0 if h.role is HandlingRole.RETURNED else 1)
            counts.setdefault(key, [0, 0, 0, 0])[slot] += 1
            issues.setdefault(key, set()).add(issue_id)
    cycles: dict[tuple[DepartmentId, DepartmentId], int] = {}
    for issue_id, track in tracks.items():
        for cycle in track.cycles(issue_id):
            passed = {(x, y) if x < y else (y, x) for x, y in itertools.pairwise(cycle.departments)}
            for key in passed & counts.keys():
                cycles[key] = cycles.get(key, 0) + 1
    pairs = [
        BuckPassingPair(
            a, b, c[0], c[1], c[2], c[3], tuple(sorted(issues[(a, b)])), cycles.get((a, b), 0)
        )
        for (a, b), c in counts.items()
    ]
    pairs.sort(key=lambda p: (-p.total, -p.back_and_forth, p.a, p.b))
    return pairs


def buck_passing(records: Iterable[HandlingRecord]) -> list[BuckPassingPair]:
    """Department pairs ranked by the returns and transfers between them (推诿扯皮).

    Each return or transfer is a handover from the department that let the issue go
    to the one that received it next (see :func:`handling_paths`); a return to the
    assigner followed by reassignment to the same department, or never followed by a
    reassignment, is not between two departments and is not counted; neither is a
    reassignment that no return or transfer record explains. Pairs are ranked
    by total handovers, then by handovers in the weaker direction (back-and-forth
    traffic ranks above one-way traffic), then by ids. Each pair also counts the
    handling cycles it took part in (``cycles``).
    """
    return _buck_passing(_tracks(records))


def handling_paths(records: Iterable[HandlingRecord]) -> dict[IssueId, tuple[DepartmentId, ...]]:
    """Each issue's handling path: the departments that held it, in order.

    Records are taken per issue in time order (equal times keep their input order).
    A department joins the path when it becomes the holder: as lead (unless it already
    holds the issue) or as the target of a transfer or return. Co-handlers are not
    holders. Issues are in id order.
    """
    return {issue_id: tuple(t.path) for issue_id, t in _tracks(records).items()}


def handling_cycles(records: Iterable[HandlingRecord]) -> list[HandlingCycle]:
    """Every return of an issue to a department that held it before, by issue then position.

    An issue has a cycle exactly when a department repeats in its handling path; each
    repeat gives one cycle, from the department's previous place in the path.
    """
    return [c for issue_id, t in _tracks(records).items() for c in t.cycles(issue_id)]


# -- the coordination graph ----------------------------------------------------------


@attrs.frozen
class CoordinationEdge:
    """How much two departments work together.

    Attributes:
        a, b: the departments (``a`` sorts before ``b``).
        declared: how many times cooperation between them was declared.
        learnt: on how many issues they co-handled (were in one team).
        weight: ``declared + learnt``.
    """

    a: DepartmentId
    b: DepartmentId
    declared: int
    learnt: int

    @property
    def weight(self) -> int:
        """``declared + learnt``."""
        return self.declared + self.learnt


@attrs.frozen
class DepartmentCentrality:
    """How central a department is in the coordination graph.

    Attributes:
        department: the department.
        betweenness: normalised weighted betweenness centrality, with distance
            ``1 / weight`` on each edge.
        strength: the sum of the weights of its edges (weighted degree).
        degree: how many departments it is linked to.
    """

    department: DepartmentId
    betweenness: float
    strength: int
    degree: int


def _pair(a: str, b: str) -> tuple[DepartmentId, DepartmentId]:
    return (DepartmentId(a), DepartmentId(b)) if a < b else (DepartmentId(b), DepartmentId(a))


class CoordinationGraph:
    """Departments as nodes, linked by declared cooperation and learnt co-handling.

    Each edge counts, separately, how many times cooperation between the two was
    *declared* and on how many issues they were *learnt* to co-handle (both in the
    lead's team while one holder had the issue; see :func:`handling_paths`). Its
    ``weight`` is the sum. The graph grows with :meth:`add_records` and
    :meth:`declare`; records of one issue may come in several batches, as long as no
    batch goes back in time for an issue already seen. Every analysis reads the graph
    in a canonical order, so results depend only on its content.

    With a :class:`Departments` registry, every department is a node from the start
    (with its name, unit, kind and function as node attributes) and records naming an
    unknown department are refused.
    """

    __slots__ = ("_declared", "_departments", "_learnt", "_nodes", "_tracks")

    def __init__(
        self,
        *,
        departments: Departments | None = None,
        declared: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._departments = departments
        self._nodes: set[DepartmentId] = set(departments.ids) if departments else set()
        self._declared: Counter[tuple[DepartmentId, DepartmentId]] = Counter()
        self._learnt: Counter[tuple[DepartmentId, DepartmentId]] = Counter()
        self._tracks: dict[IssueId, _IssueTrack] = {}
        self.declare(declared)

    @classmethod
    def from_records(
        cls,
        records: Iterable[HandlingRecord],
        *,
        declared: Iterable[tuple[str, str]] = (),
        departments: Departments | None = None,
    ) -> CoordinationGraph:
        """A graph learnt from ``records``, plus the ``declared`` cooperation pairs."""
        graph = cls(departments=departments, declared=declared)
        graph.add_records(records)
        return graph

    def _check_known(self, department: str, where: str) -> None:
        if self._departments is not None and department not in self._departments:
            raise self._departments._unknown(department, where)

    def declare(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Add declared cooperation, one count per pair given (in either order)."""
        checked: list[tuple[DepartmentId, DepartmentId]] = []
        for number, item in enumerate(pairs, start=1):
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise ConfigurationError(f"declared pair {number} is not a pair: {item!r}")
            a, b = (_text(x, f"a department in declared pair {number}") for x in item)
            if a == b:
                raise ConfigurationError(f"declared pair {number} links {a!r} to itself")
            self._check_known(a, f"declared pair {number}")
            self._check_known(b, f"declared pair {number}")
            checked.append(_pair(a, b))
        for pair in checked:
            self._nodes.update(pair)
            self._declared[pair] += 1

    def add_records(self, records: Iterable[HandlingRecord]) -> None:
        """Learn from more handling records (all are checked before any is applied)."""
        grouped = _group_records(records)
        for issue_id, group in grouped.items():
            track = self._tracks.get(issue_id)
            if track is not None and track.last_at is not None and group[0].at < track.last_at:
                raise ConfigurationError(
                    f"records of issue {issue_id!r} go back in time: {group[0].at.isoformat()} "
                    f"is before {track.last_at.isoformat()}, already added"
                )
            for record in group:
                where = f"record of issue {issue_id!r}"
                self._check_known(record.department, where)
                if record.to_department is not None:
                    self._check_known(record.to_department, where)
        for issue_id in sorted(grouped):
            track = self._tracks.setdefault(issue_id, _IssueTrack())
            for record in grouped[issue_id]:
                self._nodes.add(record.department)
                if record.to_department is not None:
                    self._nodes.add(record.to_department)
                for pair in track.apply(record):
                    self._learnt[pair] += 1

    # -- reading -----------------------------------------------------------------------

    @property
    def departments(self) -> tuple[DepartmentId, ...]:
        """Every node, sorted."""
        return tuple(sorted(self._nodes))

    @property
    def issue_count(self) -> int:
        """How many issues the graph has learnt from."""
        return len(self._tracks)

    def edges(self) -> list[CoordinationEdge]:
        """Every edge, sorted by weight (heaviest first), then by ids."""
        pairs = set(self._declared) | set(self._learnt)
        edges = [
            CoordinationEdge(a, b, self._declared[(a, b)], self._learnt[(a, b)]) for a, b in pairs
        ]
        edges.sort(key=lambda e: (-e.weight, e.a, e.b))
        return edges

    def edge(self, a: str, b: str) -> CoordinationEdge:
        """The edge between ``a`` and ``b`` (zero counts when they are not linked)."""
        x, y = _pair(a, b)
        return CoordinationEdge(x, y, self._declared[(x, y)], self._learnt[(x, y)])

    def weight(self, a: str, b: str) -> int:
        """Declared plus learnt count between ``a`` and ``b`` (0 when not linked)."""
        return self.edge(a, b).weight

    def neighbours(self, department: str) -> tuple[DepartmentId, ...]:
        """The departments linked to ``department``, sorted."""
        linked = {
            b if a == department else a
            for a, b in (*self._declared, *self._learnt)
            if department in (a, b)
        }
        return tuple(sorted(linked))

    def to_networkx(self) -> Any:
        """A fresh ``networkx.Graph`` of the departments and edges.

        Nodes (sorted) carry ``name``, ``unit``, ``kind`` and ``function`` when a
        registry is known; edges (sorted) carry ``declared``, ``learnt``, ``weight``
        and ``distance`` (``1 / weight``). Changing it does not change this graph.
        """
        graph = nx.Graph()
        for node in sorted(self._nodes):
            attributes: dict[str, str] = {}
            if self._departments is not None and node in self._departments:
                dept = self._departments.get(node)
                attributes = {
                    "name": dept.name,
                    "unit": dept.unit,
                    "kind": dept.kind.value,
                    "function": dept.function,
                }
            graph.add_node(node, **attributes)
        for edge in sorted(self.edges(), key=lambda e: (e.a, e.b)):
            graph.add_edge(
                edge.a,
                edge.b,
                declared=edge.declared,
                learnt=edge.learnt,
                weight=edge.weight,
                distance=1.0 / edge.weight,
            )
        return graph

    # -- analyses ----------------------------------------------------------------------

    def centrality(self) -> list[DepartmentCentrality]:
        """Every department's centrality, most central first (see :meth:`central_departments`)."""
        graph = self.to_networkx()
        betweenness: Mapping[str, float] = nx.betweenness_centrality(
            graph, weight="distance", normalized=True
        )
        strength: Mapping[str, int] = dict(graph.degree(weight="weight"))
        scores = [
            DepartmentCentrality(
                DepartmentId(node),
                float(betweenness[node]),
                int(strength[node]),
                int(graph.degree(node)),
            )
            for node in graph.nodes
        ]
        # Round for ranking so that equal scores summed in different orders still tie.
        scores.sort(key=lambda s: (-round(s.betweenness, 9), -s.strength, s.department))
        return scores

    def central_departments(self, k: int = 5) -> list[DepartmentCentrality]:
        """The ``k`` most central departments: the coordination bottlenecks.

        Ranked by weighted betweenness centrality, then strength (weighted degree),
        then id. Betweenness counts the shortest coordination paths between other
        departments that pass through a department; with edge distance ``1 / weight``,
        a path over frequent partners is short. A department with high betweenness is
        a broker: when it is slow, coordination between many others waits.
        """
        whole(k, "k")
        return self.centrality()[:k]

    def clusters(
        self, *, seed: int = 0, resolution: float = 1.0, min_size: int = 2
    ) -> list[tuple[DepartmentId, ...]]:
        """Groups of departments that work together, by Louvain community detection.

        Louvain (Blondel et al., 2008) greedily moves departments between groups to
        raise the weighted modularity, with the given ``resolution`` (above 1 favours
        smaller groups). ``seed`` fixes its random order, so the result is
        reproducible. Groups smaller than ``min_size`` are left out (a lone department
        is not a group). Each group is sorted by id; groups come largest first, then
        by their first id.
        """
        if not isinstance(min_size, int) or min_size < 1:
            raise ConfigurationError(f"min_size must be a whole number >= 1, got {min_size!r}")
        if not resolution > 0:
            raise ConfigurationError(f"resolution must be > 0, got {resolution!r}")
        graph = self.to_networkx()
        if graph.number_of_nodes() == 0:
            return []
        communities: list[set[str]] = nx.community.louvain_communities(
            graph, weight="weight", resolution=resolution, seed=seed
        )
        groups = [tuple(sorted(DepartmentId(d) for d in c)) for c in communities]
        groups = [g for g in groups if len(g) >= min_size]
        groups.sort(key=lambda g: (-len(g), g))
        return groups

    def buck_passing(self) -> list[BuckPassingPair]:
        """:func:`buck_passing` over every record added so far."""
        return _buck_passing(dict(sorted(self._tracks.items())))

    def handling_cycles(self) -> list[HandlingCycle]:
        """:func:`handling_cycles` over every record added so far."""
        return [c for i, t in sorted(self._tracks.items()) for c in t.cycles(i)]

    def __repr__(self) -> str:
        return (
            f"<CoordinationGraph: {len(self._nodes)} departments, "
            f"{len(set(self._declared) | set(self._learnt))} edges, {len(self._tracks)} issues>"
        )


# -- the Yiwu example ----------------------------------------------------------------


@functools.cache
def yiwu_departments() -> Departments:
    """Departments for the Yiwu example hierarchy (illustrative, not an official list).

    The city (330782) has its bureaus, the 三服务办 coordination office and outside
    bodies (three banks, the power utility); each of the 14 towns and subdistricts has
    its sections, whose functions mirror the bureaus'. The four central subdistricts
    have no agriculture section, so their agriculture issues reach the city bureau.
    Read from the bundled file ``data/yiwu_departments.csv``.
    """
    return Departments.from_rows(_read_table("yiwu_departments.csv"))


@functools.cache
def yiwu_responsibility_matrix() -> ResponsibilityMatrix:
    """A dispatch catalogue for the Yiwu example at county and town level (illustrative).

    A plausible model written for the examples, not an official catalogue. Entries are
    in force from 2019-06-01, when the downward meetings began; the ``"2019-07"``
    revision moves the lead for fire acceptance (消防验收) of building projects from the
    fire brigade to the construction bureau, as the national reform of 2019 did. Read
    from the bundled file ``data/yiwu_responsibility.csv``.
    """
    return ResponsibilityMatrix.from_rows(_read_table("yiwu_responsibility.csv"), name="yiwu")
