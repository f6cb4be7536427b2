"""The administrative hierarchy: levels, units, admin codes and jurisdiction.

China is governed through a tree of administrative units (行政区划): the nation (国家),
provinces (省级), prefectures (地级), counties (县级), towns (乡级) and villages (村级).
A :class:`Hierarchy` is one such tree, rooted anywhere: the whole country, or a single
county-level city such as Yiwu (义乌市) with its towns and villages.

Levels (层级). :class:`Levels` is an ordered set of level names, top first. Kinds of unit
that share a rank are *aliases* of one level: a subdistrict (街道) and a township (乡) sit
at town rank next to the town (镇); a community (社区) and an enterprise (企业) sit at
village rank next to the village (村). A child's level must be strictly below its
parent's, but levels may be skipped (Dongguan's towns sit directly under a prefecture).
"City" (市) is deliberately *not* a level: a county-level city such as Yiwu is at level
``county`` and a prefecture-level city such as Jinhua (金华市) at level ``prefecture``.

Admin codes (行政区划代码). Units may carry a code: the 6-digit GB/T 2260 code of a
county or above (``330782``), or the statistics bureau's 12-digit code, segmented
2+2+2+3+3 (province, prefecture, county, town, village: ``330782100201``). Trailing
segments that are all zeros are padding, so ``330782`` and ``330782000000`` are the same
code and its *significant part* is ``330782``; a town code ends in ``000`` and has 9
significant digits. A child's significant part must strictly extend its parent's
(``330782`` -> ``330782100000`` -> ``330782100201``). With levels that state how many
digits each level takes (China's: 0, 2, 4, 6, 9, 12), a code must also fit its unit's
level.

Jurisdiction (辖区). An area's jurisdiction is the area itself and every unit below it;
:meth:`Hierarchy.is_within` answers membership in constant time.

One level down (下沉一级). Yiwu's meetings are convened by a unit and held at one of its
direct children ("市会镇开、镇会村开"), so :meth:`Hierarchy.children` and
:meth:`Hierarchy.is_one_level_down` are first-class queries.

Storage. Units are numbered in preorder (a unit, then each child's subtree in input
order), so a unit's jurisdiction is the contiguous index range ``[i, end[i])``. The tree
itself is three compact arrays (parent index, end of subtree, level rank): 9 bytes per
unit, plus a dict from id to index and the :class:`AdminUnit` records themselves.
Methods named ``*_index`` work on those indices for hot loops.
"""

from __future__ import annotations

import csv
import functools
import html
import io
import json
import operator
import random
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from importlib import resources
from itertools import compress, pairwise, repeat
from types import MappingProxyType
from typing import Any, Final, TypeAlias, cast

import attrs

from closedloop.errors import (
    ConfigurationError,
    InvalidAdminCodeError,
    InvalidHierarchyError,
    UnknownUnitError,
)
from closedloop.ids import UnitId

__all__ = [
    "COLUMNS",
    "NATIONAL_SHAPE",
    "AdminUnit",
    "Hierarchy",
    "Levels",
    "Row",
    "admin_code_extends",
    "generate_hierarchy",
    "significant_code",
    "validate_admin_code",
    "yiwu_hierarchy",
]

COLUMNS: Final = ("id", "name", "level", "parent", "code", "kind")
"""The columns of a hierarchy table, in the order :meth:`Hierarchy.to_csv` writes them."""

NATIONAL_SHAPE: Final = (1, 31, 333, 2_850, 38_600, 600_000)
"""Rounded unit counts per level of mainland China, nation to village (about 642,000)."""

_SEGMENT_ENDS: Final = (0, 2, 4, 6, 9, 12)
"""Where the segments of a 12-digit code end (province 2, ..., village 12)."""

_SIGNIFICANT_LENGTH: Final = (0, 2, 2, 4, 4, 6, 6, 9, 9, 9, 12, 12, 12)
"""Length of a code without trailing zeros -> length of its significant part."""


# --------------------------------------------------------------------------- levels


def _names_converter(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigurationError(f"level names are a sequence of names, not the string {value!r}")
    try:
        names = tuple(value)
    except TypeError:
        raise ConfigurationError(f"level names are a sequence of names, got {value!r}") from None
    if not names:
        raise ConfigurationError("a hierarchy needs at least one level")
    for name in names:
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"a level name is a non-empty string, got {name!r}")
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ConfigurationError(f"level names must be distinct; repeated: {', '.join(twice)}")
    return names


def _aliases_converter(value: Mapping[str, str]) -> Mapping[str, str]:
    try:
        aliases = dict(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"aliases map names to level names, got {value!r}") from None
    for alias, target in aliases.items():
        if not isinstance(alias, str) or not alias or not isinstance(target, str):
            raise ConfigurationError(
                f"an alias maps a name to a level name, got {alias!r} -> {target!r}"
            )
    return MappingProxyType(aliases)


def _digits_converter(value: Iterable[int] | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(value)
    except TypeError:
        raise ConfigurationError(f"code_digits is a sequence of numbers, got {value!r}") from None


@attrs.frozen
class Levels:
    """The ordered levels of a hierarchy, top first, with aliases for kinds sharing a rank.

    ``rank(name)`` is 0 for the top level and grows downwards; an alias has the rank of
    the level it names. :meth:`china` gives mainland China's six levels. Build your own
    for other trees: ``Levels(("city", "town", "village"), aliases={"community":
    "village"})``.

    Args:
        names: the canonical level names, top first.
        aliases: other names for a level, e.g. ``{"subdistrict": "town"}``.
        code_digits: optional, for each level the number of significant digits its
            admin codes have (a segment end: 0, 2, 4, 6, 9 or 12, strictly increasing).
            When given, a unit's code must have more significant digits than the level
            above takes and at most as many as its own level takes; 0 means the level
            has no code.

    Raises:
        ConfigurationError: for repeated or empty names, an alias that shadows a level or
            names an unknown one, or code digits that do not fit the levels.
    """

    names: tuple[str, ...] = attrs.field(converter=_names_converter)
    aliases: Mapping[str, str] = attrs.field(
        factory=dict, converter=_aliases_converter, kw_only=True, hash=False
    )
    code_digits: tuple[int, ...] | None = attrs.field(
        default=None, converter=_digits_converter, kw_only=True
    )
    _rank_of: Mapping[str, int] = attrs.field(init=False, repr=False, eq=False, hash=False)

    def __attrs_post_init__(self) -> None:
        rank_of = {name: r for r, name in enumerate(self.names)}
        for alias, target in self.aliases.items():
            if target not in self.names:
                raise ConfigurationError(
                    f"alias {alias!r} names the unknown level {target!r}; "
                    f"the levels are {', '.join(self.names)}"
                )
            if alias in self.names:
                raise ConfigurationError(f"alias {alias!r} is already a level name")
            rank_of[alias] = rank_of[target]
        digits = self.code_digits
        if digits is not None:
            if len(digits) != len(self.names):
                raise ConfigurationError(
                    f"code_digits has {len(digits)} entries for {len(self.names)} levels"
                )
            for d in digits:
                if type(d) is not int or d not in _SEGMENT_ENDS:
                    raise ConfigurationError(
                        f"code_digits entry {d!r} is not a segment end of an admin code "
                        f"(one of {', '.join(map(str, _SEGMENT_ENDS))})"
                    )
            if any(a >= b for a, b in pairwise(digits)):
                raise ConfigurationError(f"code_digits {digits} must increase strictly")
        object.__setattr__(self, "_rank_of", MappingProxyType(rank_of))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_levels, (self.names, dict(self.aliases), self.code_digits))

    @classmethod
    def china(cls) -> Levels:
        """Mainland China: nation > province > prefecture > county > town > village.

        Aliases: ``subdistrict`` (街道) and ``township`` (乡) are at town rank;
        ``community`` (社区) and ``enterprise`` (企业) at village rank. There is no
        ``city``: a county-level city (县级市, e.g. 义乌市) is at ``county``, a
        prefecture-level city (地级市) at ``prefecture``. Code digits: none for the
        nation, then 2, 4, 6, 9 and 12.
        """
        return _china_levels()

    def rank(self, name: str) -> int:
        """The rank of a level or alias: 0 for the top, one more for each level down.

        Raises:
            ConfigurationError: for an unknown name; the message lists the allowed ones.
        """
        try:
            return self._rank_of[name]
        except (KeyError, TypeError):
            raise ConfigurationError(f"unknown level {name!r}; {self.describe()}") from None

    def canonical(self, name: str) -> str:
        """The level name for a level or alias (``"subdistrict"`` -> ``"town"``)."""
        return self.names[self.rank(name)]

    def digits(self, name: str) -> int | None:
        """How many significant code digits the level takes, or None if not stated."""
        rank = self.rank(name)
        return None if self.code_digits is None else self.code_digits[rank]

    def describe(self) -> str:
        """The levels and aliases in words, for messages."""
        text = "the levels are " + ", ".join(self.names)
        if self.aliases:
            pairs = ", ".join(f"{a} = {t}" for a, t in sorted(self.aliases.items()))
            text += f" (aliases: {pairs})"
        return text

    def __contains__(self, name: object) -> bool:
        try:
            return name in self._rank_of
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)


def _rebuild_levels(
    names: tuple[str, ...], aliases: dict[str, str], code_digits: tuple[int, ...] | None
) -> Levels:
    return Levels(names, aliases=aliases, code_digits=code_digits)


@functools.cache
def _china_levels() -> Levels:
    return Levels(
        ("nation", "province", "prefecture", "county", "town", "village"),
        aliases={
            "subdistrict": "town",
            "township": "town",
            "community": "village",
            "enterprise": "village",
        },
        code_digits=(0, 2, 4, 6, 9, 12),
    )


# --------------------------------------------------------------------------- admin codes


def _code_problem(code: object) -> str:
    """Why ``code`` is not a well-formed admin code (assumes it is not)."""
    if not isinstance(code, str):
        return f"an admin code is a string of digits, got {type(code).__name__} {code!r}"
    if len(code) not in (6, 12):
        return (
            f"admin code {code!r} has {len(code)} characters; expected 6 digits (GB/T 2260) "
            "or 12 digits (statistics bureau, segments 2+2+2+3+3)"
        )
    bad = next((c for c in code if c not in "0123456789"), None)
    if bad is not None:
        return f"admin code {code!r} contains {bad!r}; only the digits 0-9 are allowed"
    return f"admin code {code!r} starts with 00, but its first two digits name the province"


def _code_ok(code: object) -> bool:
    return (
        isinstance(code, str)
        and len(code) in (6, 12)
        and code.isascii()
        and code.isdigit()
        and not code.startswith("00")
    )


def validate_admin_code(code: str) -> str:
    """Check an administrative code and return it unchanged.

    Accepted: 6 ASCII digits (GB/T 2260, county level and above) or 12 (the statistics
    bureau's division codes, down to villages), whose first two digits, the province,
    are not ``00``.

    Raises:
        InvalidAdminCodeError: saying what is wrong (type, length, a non-digit, ``00``).
    """
    if _code_ok(code):
        return code
    raise InvalidAdminCodeError(_code_problem(code))


def significant_code(code: str) -> str:
    """The significant part of a code: the code without its trailing all-zero segments.

    Segments are 2+2+2+3+3 digits, so ``"330782"`` and ``"330782000000"`` both give
    ``"330782"``, the town ``"330782100000"`` gives ``"330782100"``, and a province
    ``"330000"`` gives ``"33"``. Zero segments in the middle stay (``"441900003000"``,
    a town directly under Dongguan, gives ``"441900003"``).

    Raises:
        InvalidAdminCodeError: for a malformed code.
    """
    if not _code_ok(code):
        raise InvalidAdminCodeError(_code_problem(code))
    return code[: _SIGNIFICANT_LENGTH[len(code.rstrip("0"))]]


def admin_code_extends(child: str, parent: str) -> bool:
    """Whether ``child``'s significant part strictly extends ``parent``'s.

    ``admin_code_extends("330782100000", "330782")`` is true; a code never extends
    itself, and the 6- and 12-digit forms of one code count as the same code.

    Raises:
        InvalidAdminCodeError: for a malformed code.
    """
    c, p = significant_code(child), significant_code(parent)
    return len(c) > len(p) and c.startswith(p)


# --------------------------------------------------------------------------- units


def _unit_field_problems(unit: AdminUnit) -> list[str]:
    out = []
    for field in ("id", "name", "level"):
        value = getattr(unit, field)
        if not isinstance(value, str) or not value:
            out.append(f"{field} must be a non-empty string, got {value!r}")
    for field in ("parent", "code", "kind"):
        value = getattr(unit, field)
        if value is not None and (not isinstance(value, str) or not value):
            out.append(f"{field} must be None or a non-empty string, got {value!r}")
    return out


@attrs.frozen
class AdminUnit:
    """One administrative unit: a town, a village, a county-level city...

    Attributes:
        id: the unit's id; by convention its admin code when it has one.
        name: its name, e.g. ``"佛堂镇"``; must not contain ``/`` (paths use it).
        level: its level as given, which may be an alias (``"subdistrict"``).
        parent: the parent's id, or None for the root.
        code: its admin code (6 or 12 digits), if any.
        kind: what kind of unit it is in words, e.g. ``"镇"`` or ``"街道"``, if known.

    Raises:
        ConfigurationError: when a field is not a string, or is an empty string (use
            None for "no parent", "no code", "no kind").
    """

    id: UnitId
    name: str
    level: str
    parent: UnitId | None
    code: str | None = None
    kind: str | None = None

    def __attrs_post_init__(self) -> None:
        # Plain strings pass the quick test; anything else gets the thorough one, which
        # also accepts str subclasses.
        if (
            self.id.__class__ is str
            and self.name.__class__ is str
            and self.level.__class__ is str
            and self.id
            and self.name
            and self.level
            and (self.parent is None or (self.parent.__class__ is str and self.parent))
            and (self.code is None or (self.code.__class__ is str and self.code))
            and (self.kind is None or (self.kind.__class__ is str and self.kind))
        ):
            return
        problems = _unit_field_problems(self)
        if problems:
            raise ConfigurationError(f"invalid unit {self.id!r}: " + "; ".join(problems))

    def as_row(self) -> dict[str, str | None]:
        """The unit as a mapping with the table's columns."""
        return {
            "id": self.id,
            "name": self.name,
            "level": self.level,
            "parent": self.parent,
            "code": self.code,
            "kind": self.kind,
        }


Row: TypeAlias = AdminUnit | Mapping[str, Any]
"""One row of a hierarchy table: an :class:`AdminUnit`, or a mapping with its columns."""

_ID = operator.attrgetter("id")
_PARENT = operator.attrgetter("parent")
_LEVEL = operator.attrgetter("level")
_CODE = operator.attrgetter("code")
_NAME = operator.attrgetter("name")

Problems: TypeAlias = list[tuple[int, str]]


def _uid(unit: AdminUnit | None) -> str:
    return "?" if unit is None else unit.id


def _code_of(unit: AdminUnit | None) -> str | None:
    return None if unit is None else unit.code


def _rows_text(rows: Sequence[int]) -> str:
    shown = ", ".join(str(r + 1) for r in rows[:6])
    return shown + (f" and {len(rows) - 6} more" if len(rows) > 6 else "")


def _unit_from_mapping(row: Mapping[Any, Any], number: int, problems: Problems) -> AdminUnit | None:
    """Build a unit from a mapping row, or record why it cannot be built."""
    unknown = [k for k in row if k not in COLUMNS]
    if unknown:
        problems.append(
            (
                number,
                (
                    f"unknown column(s) {', '.join(map(repr, unknown))}; "
                    f"the columns are {', '.join(COLUMNS)}"
                ),
            )
        )
        return None
    values: dict[str, str | None] = {}
    ok = True
    for column in COLUMNS:
        value = row.get(column)
        if value is None or value == "":
            values[column] = None
        elif isinstance(value, str):
            values[column] = value
        else:
            problems.append(
                (number, f"{column} must be text, got {type(value).__name__} {value!r}")
            )
            ok = False
    if not ok:
        return None
    unit_id = values["id"] or values["code"]
    missing = [c for c in ("name", "level") if values[c] is None]
    if unit_id is None:
        missing.insert(0, "id (or code)")
    if missing:
        problems.append((number, f"missing {', '.join(missing)}"))
        return None
    name, level = values["name"], values["level"]
    assert unit_id is not None
    assert name is not None
    assert level is not None
    return AdminUnit(
        UnitId(unit_id),
        name,
        level,
        UnitId(values["parent"]) if values["parent"] is not None else None,
        values["code"],
        values["kind"],
    )


def _coerce_rows(rows: Iterable[Row]) -> tuple[list[AdminUnit | None], Problems]:
    """Turn rows into units; a row that cannot become a unit is None, with its problem."""
    if isinstance(rows, str | bytes | Mapping):
        raise InvalidHierarchyError(
            [(0, f"rows must be an iterable of units or mappings, not a {type(rows).__name__}")]
        )
    try:
        items: list[Any] = list(rows)
    except TypeError:
        raise InvalidHierarchyError(
            [(0, f"rows must be an iterable of units or mappings, not a {type(rows).__name__}")]
        ) from None
    if set(map(type, items)) <= {AdminUnit}:
        return items, []
    problems: Problems = []
    units: list[AdminUnit | None] = []
    for number, item in enumerate(items, 1):
        if isinstance(item, AdminUnit):
            units.append(item)
        elif isinstance(item, Mapping):
            try:
                units.append(_unit_from_mapping(item, number, problems))
            except ConfigurationError as error:
                problems.append((number, str(error)))
                units.append(None)
        else:
            problems.append(
                (number, f"a row is an AdminUnit or a mapping, got {type(item).__name__}")
            )
            units.append(None)
    return units, problems


# --------------------------------------------------------------------------- validation


def _code_problems(
    units: Sequence[AdminUnit | None],
    par: Sequence[int],
    ranks: Sequence[int | None],
    include: Sequence[bool],
    levels: Levels,
) -> Problems:
    """Every problem with the codes: format, duplicates, level fit, parent's prefix."""
    problems: Problems = []
    n = len(units)
    sig: list[str | None] = [None] * n
    rows_of: dict[str, list[int]] = {}
    for k in range(n):
        unit = units[k]
        if unit is None or not include[k] or unit.code is None:
            continue
        if not _code_ok(unit.code):
            problems.append((k + 1, _code_problem(unit.code)))
            continue
        s = unit.code[: _SIGNIFICANT_LENGTH[len(unit.code.rstrip("0"))]]
        sig[k] = s
        rows_of.setdefault(s, []).append(k)
    for shared, ks in rows_of.items():
        if len(ks) > 1:
            for k in ks:
                others = [j for j in ks if j != k]
                problems.append(
                    (
                        k + 1,
                        (
                            f"code {_code_of(units[k])!r} (significant part {shared!r}) "
                            f"is also the code of row {_rows_text(others)}; codes must be unique"
                        ),
                    )
                )
    digits = levels.code_digits
    for k in range(n):
        own = sig[k]
        unit = units[k]
        if own is None or unit is None:
            continue
        rank = ranks[k]
        if digits is not None and rank is not None:
            lo = digits[rank - 1] if rank else -1
            hi = digits[rank]
            if not lo < len(own) <= hi:
                canonical = levels.names[rank]
                allowed = [str(e) for e in _SEGMENT_ENDS if lo < e <= hi and e]
                takes = f"{' or '.join(allowed)} significant digits" if allowed else "no code"
                problems.append(
                    (
                        k + 1,
                        (
                            f"code {unit.code!r} has {len(own)} significant digits, but level "
                            f"{unit.level!r} ({canonical}) takes {takes}"
                        ),
                    )
                )
        p = par[k]
        if p >= 0 and include[p]:
            ps = sig[p]
            if ps is not None and not (len(own) > len(ps) and own.startswith(ps)):
                parent = units[p]
                assert parent is not None
                problems.append(
                    (
                        k + 1,
                        (
                            f"code {unit.code!r} does not extend the code {parent.code!r} of its "
                            f"parent {parent.id!r} (row {p + 1}): it must start with {ps!r} "
                            "and have more significant digits"
                        ),
                    )
                )
    return problems


def _diagnose(units: Sequence[AdminUnit | None], levels: Levels, check_codes: bool) -> Problems:
    """Every problem in the rows, unsorted; an empty list means they form a valid tree."""
    n = len(units)
    if n == 0:
        return [(0, "no rows: a hierarchy needs at least its root")]
    problems: Problems = []
    rows_of: dict[str, list[int]] = {}
    for k, unit in enumerate(units):
        if unit is not None:
            rows_of.setdefault(unit.id, []).append(k)
    include = [u is not None for u in units]
    for unit_id, ks in rows_of.items():
        if len(ks) > 1:
            for k in ks:
                others = [j for j in ks if j != k]
                problems.append((k + 1, f"id {unit_id!r} is also used by row {_rows_text(others)}"))
    # Each row is checked on its own; for its children, a repeated id means its first row.
    index = {unit_id: ks[0] for unit_id, ks in rows_of.items()}

    rank_of = levels._rank_of
    ranks: list[int | None] = [None] * n
    for k, unit in enumerate(units):
        if unit is None or not include[k]:
            continue
        ranks[k] = rank_of.get(unit.level)
        if ranks[k] is None:
            problems.append((k + 1, f"unknown level {unit.level!r}; {levels.describe()}"))
        if "/" in unit.name:
            problems.append(
                (k + 1, f"name {unit.name!r} contains '/', which separates names in a path")
            )

    par = [-1] * n
    roots: list[int] = []
    for k, unit in enumerate(units):
        if unit is None or not include[k]:
            continue
        if unit.parent is None:
            roots.append(k)
            continue
        p = index.get(unit.parent)
        if p is None:
            problems.append((k + 1, f"parent {unit.parent!r} of {unit.id!r} is not in the table"))
            continue
        par[k] = p
        parent = units[p]
        rk, rp = ranks[k], ranks[p]
        if rk is not None and rp is not None and rk <= rp and parent is not None and p != k:
            problems.append(
                (
                    k + 1,
                    (
                        f"level {unit.level!r} of {unit.id!r} is not below level {parent.level!r} "
                        f"of its parent {parent.id!r} (row {p + 1})"
                    ),
                )
            )
    if not roots and None not in units:  # a rejected row may have been the root
        problems.append((0, "no root: every unit names a parent"))
    elif len(roots) > 1:
        for k in roots:
            others = [j for j in roots if j != k]
            problems.append(
                (
                    k + 1,
                    (
                        f"{_uid(units[k])!r} has no parent, and neither has row "
                        f"{_rows_text(others)}; a hierarchy has exactly one root"
                    ),
                )
            )

    # Parent cycles: follow parent links; a walk that meets its own path closed a cycle.
    state = [0] * n  # 0 unseen, 1 on the current walk, 2 finished
    for start in range(n):
        if state[start] or not include[start]:
            continue
        walk: list[int] = []
        x = start
        while x >= 0 and state[x] == 0:
            state[x] = 1
            walk.append(x)
            x = par[x]
        if x >= 0 and state[x] == 1:
            cycle = walk[walk.index(x) :]
            ids = [repr(_uid(units[c])) for c in (*cycle, x)]
            text = " -> ".join(ids if len(ids) <= 9 else [*ids[:8], "...", ids[-1]])
            for c in cycle:
                problems.append((c + 1, f"{_uid(units[c])!r} is in a parent cycle: {text}"))
        for y in walk:
            state[y] = 2

    if check_codes:
        problems.extend(_code_problems(units, par, ranks, include, levels))
    return problems


# --------------------------------------------------------------------------- building


class _Layout:
    """The arrays of a built tree, in preorder."""

    __slots__ = ("end", "index", "parent", "rank", "units")

    def __init__(
        self,
        units: tuple[AdminUnit, ...],
        index: dict[str, int],
        parent: array[int],
        end: array[int],
        rank: array[int],
    ) -> None:
        self.units = units
        self.index = index
        self.parent = parent
        self.end = end
        self.rank = rank


def _codes_fit(
    units: Sequence[AdminUnit],
    ids: list[str],
    par: list[int],
    ranks: list[int],
    root: int,
    levels: Levels,
) -> bool | None:
    """Vectorised code check: True if fine, False if not, None when it cannot decide.

    Equivalent to :func:`_code_problems` finding nothing, for tables where every unit
    has a code except perhaps the root.
    """
    n = len(units)
    codes: list[Any] = list(map(_CODE, units))
    missing = codes.count(None)
    if missing == n:
        return True
    if missing > 1 or (missing == 1 and codes[root] is not None):
        return None
    coded = codes
    if missing:
        coded = codes[:root] + codes[root + 1 :]
        codes[root] = ids[root]  # a stand-in that every check below excuses (it is
        # distinct from the other codes whenever the ids are)
    # Format: 6 or 12 ASCII digits, province not 00.
    if not (set(map(len, coded)) <= {6, 12}):
        return False
    joined = "".join(coded)
    if not (joined.isascii() and joined.isdigit()) or min(coded) < "01":
        return False
    # Unique significant parts. Distinct 12-digit codes differ there, so only a repeated
    # string or a code given both as 6 and as 12 digits can clash. When every id is its
    # unit's code, the ids are already known to be distinct.
    if codes != ids and len(set(coded)) != len(coded):
        return False
    lengths = list(
        map(_SIGNIFICANT_LENGTH.__getitem__, map(len, map(str.rstrip, codes, repeat("0"))))
    )
    short = {
        codes[k][:6]
        for k in compress(range(n), map(operator.ge, repeat(6), lengths))
        if k != root and len(codes[k]) == 12
    }
    if short and not short.isdisjoint(c for c in coded if len(c) == 6):
        return False
    # Every code extends its parent's significant part...
    parent_sig = [""] * (n + 1)  # parent_sig[-1] is the root's parent's: nothing
    for p in set(par):
        if p >= 0:
            parent_sig[p] = codes[p][: lengths[p]]
    if missing:
        parent_sig[root] = ""
    if not all(map(str.startswith, codes, map(parent_sig.__getitem__, par))):
        return False
    # ... and is longer. With level digits, fitting every level implies it, since each
    # child's rank is below its parent's (checked before).
    digits = levels.code_digits
    if digits is None:
        if missing:
            lengths[root] = 0
        lengths.append(-1)
        return all(map(operator.lt, map(lengths.__getitem__, par), lengths))
    lo = [digits[r - 1] if r else -1 for r in range(len(digits))]
    if missing:
        lengths[root] = digits[ranks[root]]
    return all(map(operator.lt, map(lo.__getitem__, ranks), lengths)) and all(
        map(operator.le, lengths, map(digits.__getitem__, ranks))
    )


def _fast_layout(units: list[AdminUnit], levels: Levels, check_codes: bool) -> _Layout | None:
    """Check and lay out valid rows quickly; None when anything is wrong (or unsure).

    Accepts exactly the rows :func:`_diagnose` finds no problem with, using whole-list
    operations instead of a loop per row where it can.
    """
    n = len(units)
    ids: list[str] = list(map(_ID, units))
    index = dict(zip(ids, range(n), strict=True))
    if len(index) != n:
        return None
    pids = list(map(_PARENT, units))
    if pids.count(None) != 1:
        return None
    root = pids.index(None)
    par_or_none = list(map(index.get, pids))
    if par_or_none.count(None) != 1:
        return None
    par = cast(list[int], par_or_none)
    par[root] = -1
    ranks_or_none = list(map(levels._rank_of.get, map(_LEVEL, units)))
    if None in ranks_or_none:
        return None
    ranks = cast(list[int], ranks_or_none)
    ranks.append(-1)  # ranks[-1] is the root's "parent": above every level
    if not all(map(operator.lt, map(ranks.__getitem__, par), ranks)):
        return None  # a child not below its parent (this also rules out cycles)
    ranks.pop()
    if any(map(operator.contains, map(_NAME, units), repeat("/"))):
        return None
    if check_codes:
        fit = _codes_fit(units, ids, par, ranks, root, levels)
        if fit is None:
            if _code_problems(units, par, list(ranks), [True] * n, levels):
                return None
        elif not fit:
            return None

    # Subtree sizes, children after parents. Ranks grow strictly downwards, so a stable
    # sort by rank puts parents first and keeps siblings in input order.
    parents_first = all(map(operator.lt, par, range(n)))
    topo: Sequence[int] = range(n) if parents_first else sorted(range(n), key=ranks.__getitem__)
    size = [1] * (n + 1)  # size[-1] absorbs the root's contribution
    for v in reversed(topo):
        size[par[v]] += size[v]
    size.pop()
    if parents_first:
        # Rows already in preorder need no reordering: that is the case exactly when
        # every subtree [v, v + size) nests in its parent's (each subtree is then a
        # contiguous block starting at its root, siblings in input order).
        end = list(map(operator.add, range(n), size))
        end.append(n)
        if all(map(operator.le, end, map(end.__getitem__, par))):
            end.pop()
            rank_code = "B" if len(levels) <= 256 else "I"
            return _Layout(
                tuple(units), index, array("i", par), array("i", end), array(rank_code, ranks)
            )
    # Place each unit in preorder: after its parent and its earlier siblings' subtrees.
    pos = [0] * (n + 1)
    if parents_first:
        nxt = [0] * (n + 1)  # nxt[p]: where p's next child goes; nxt[-1] = 0: the root
        for v in topo:
            p = par[v]
            q = nxt[p]
            pos[v] = q
            nxt[p] = q + size[v]
            nxt[v] = q + 1
        del nxt
    else:
        # Siblings may have different ranks, so the rank order can disagree with the
        # input order among them: offsets within the parent come from the input order.
        taken = [0] * (n + 1)
        offset = [0] * n
        for v in range(n):
            p = par[v]
            offset[v] = taken[p]
            taken[p] += size[v]
        del taken
        pos[n] = -1
        for v in topo:
            pos[v] = pos[par[v]] + 1 + offset[v]
    pos[n] = -1
    order = [0] * n
    for v in range(n):
        order[pos[v]] = v
    index.update(zip(ids, pos, strict=False))
    out_size = list(map(size.__getitem__, order))
    rank_code = "B" if len(levels) <= 256 else "I"
    return _Layout(
        tuple(map(units.__getitem__, order)),
        index,
        array("i", map(pos.__getitem__, map(par.__getitem__, order))),
        array("i", map(operator.add, range(n), out_size)),
        array(rank_code, map(ranks.__getitem__, order)),
    )


# --------------------------------------------------------------------------- hierarchy


def _unknown(unit_id: object, hierarchy: Hierarchy) -> UnknownUnitError:
    hint = ""
    if isinstance(unit_id, str) and _code_ok(unit_id):
        try:
            found = hierarchy.by_code(unit_id)
        except UnknownUnitError:
            pass
        else:
            hint = f"; unit {found.id!r} ({found.name}) has that code: use by_code()"
    return UnknownUnitError(
        f"no unit with id {unit_id!r} in the hierarchy of {hierarchy.root.name!r}{hint}"
    )


class Hierarchy:
    """An immutable rooted tree of administrative units.

    Build it with :meth:`from_rows` (or :meth:`from_csv`, :meth:`from_json`); the
    constructor takes the same arguments. Rows are checked as a whole and every problem
    is reported at once in one :class:`~closedloop.InvalidHierarchyError`: repeated ids
    or codes, unknown parents, no root or several, parent cycles, a child whose level is
    not below its parent's, unknown levels, malformed codes, and codes that do not
    extend their parent's code.

    Iteration is in preorder: a unit, then its children's subtrees, children in input
    order. Ids are looked up exactly; codes through :meth:`by_code`; name paths through
    :meth:`by_path`. Every query that takes an id raises
    :class:`~closedloop.UnknownUnitError` naming it when it is not in the tree.

    Args:
        rows: :class:`AdminUnit` records or mappings with the columns ``id, name, level,
            parent, code, kind`` (a missing or empty id falls back to the code; empty
            parent, code and kind mean none).
        levels: the level set (default: :meth:`Levels.china`).
        check_codes: check admin codes (format, uniqueness, prefix, level fit). Turn it
            off only for trusted data: it is the costlier part of a build.
    """

    __slots__ = ("_by_code", "_end", "_index", "_levels", "_parent", "_rank", "_units")

    _units: tuple[AdminUnit, ...]
    _index: dict[str, int]
    _parent: array[int]
    _end: array[int]
    _rank: array[int]
    _levels: Levels
    _by_code: dict[str, int] | None

    def __init__(
        self, rows: Iterable[Row], *, levels: Levels | None = None, check_codes: bool = True
    ) -> None:
        levels = Levels.china() if levels is None else levels
        if not isinstance(levels, Levels):
            raise ConfigurationError(f"levels must be a Levels, got {type(levels).__name__}")
        units, problems = _coerce_rows(rows)
        layout = None
        if not problems and units:
            layout = _fast_layout(cast(list[AdminUnit], units), levels, check_codes)
        if layout is None:
            problems.extend(_diagnose(units, levels, check_codes))
            if not problems:  # pragma: no cover - the two checks must agree
                raise RuntimeError("closedloop bug: rows rejected without a reason")
            problems.sort(key=operator.itemgetter(0))
            raise InvalidHierarchyError(problems)
        self._set(
            units=layout.units,
            index=layout.index,
            parent=layout.parent,
            end=layout.end,
            rank=layout.rank,
            levels=levels,
            by_code=None,
        )

    def _set(self, **state: Any) -> None:
        for name, value in state.items():
            object.__setattr__(self, "_" + name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Hierarchy is immutable (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Hierarchy is immutable (cannot delete {name!r})")

    def __getstate__(self) -> dict[str, Any]:
        return {
            "units": self._units,
            "parent": self._parent,
            "end": self._end,
            "rank": self._rank,
            "levels": self._levels,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        units = state["units"]
        self._set(
            units=units,
            index=dict(zip(map(_ID, units), range(len(units)), strict=True)),
            parent=state["parent"],
            end=state["end"],
            rank=state["rank"],
            levels=state["levels"],
            by_code=None,
        )

    # -- construction ------------------------------------------------------------

    @classmethod
    def from_rows(
        cls, rows: Iterable[Row], *, levels: Levels | None = None, check_codes: bool = True
    ) -> Hierarchy:
        """Build a hierarchy from rows (see the class docs).

        Raises:
            InvalidHierarchyError: listing every problem as ``(row, message)``, rows
                numbered from 1 in input order (0 for problems of the whole table).
        """
        return cls(rows, levels=levels, check_codes=check_codes)

    @classmethod
    def from_csv(
        cls, text: str, *, levels: Levels | None = None, check_codes: bool = True
    ) -> Hierarchy:
        """Build a hierarchy from CSV text with a header of the table's columns.

        Lines starting with ``#`` (and blank lines) before the header are comments. The
        header names some of ``id, name, level, parent, code, kind`` (``name``,
        ``level`` and one of ``id``/``code`` are required); empty fields mean none.
        Row numbers in errors count data rows, the first one after the header being 1.

        Raises:
            InvalidHierarchyError: for a malformed table or rows that are not a tree.
        """
        return cls(_parse_csv(text), levels=levels, check_codes=check_codes)

    @classmethod
    def from_json(
        cls, text: str, *, levels: Levels | None = None, check_codes: bool = True
    ) -> Hierarchy:
        """Build a hierarchy from JSON: what :meth:`to_json` writes, or a list of rows.

        The document is either ``{"levels": {...}, "units": [...]}`` or just the list of
        unit objects. ``levels`` given here wins over the document's; without either,
        China's levels are used.

        Raises:
            InvalidHierarchyError: for malformed JSON or rows that are not a tree.
        """
        rows, found = _parse_json(text)
        return cls(rows, levels=found if levels is None else levels, check_codes=check_codes)

    # -- basics ------------------------------------------------------------------

    @property
    def levels(self) -> Levels:
        """The level set the hierarchy was built with."""
        return self._levels

    @property
    def root(self) -> AdminUnit:
        """The unit at the top."""
        return self._units[0]

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self) -> Iterator[AdminUnit]:
        return iter(self._units)

    def __contains__(self, unit_id: object) -> bool:
        try:
            return unit_id in self._index
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hierarchy):
            return NotImplemented
        return self._levels == other._levels and self._units == other._units

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        counts = " ".join(f"{name}={count}" for name, count in self.summary().items() if count)
        return f"<Hierarchy {self.root.name!r} ({self.root.id}), {len(self)} units: {counts}>"

    def _repr_html_(self) -> str:
        """A summary table for notebooks: the root, then units per level."""
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td style='text-align:right'>{count:,}</td></tr>"
            for name, count in self.summary().items()
        )
        root = html.escape(f"{self.root.name} ({self.root.id})")
        return (
            f"<table><caption>Hierarchy {root}: {len(self):,} units</caption>"
            f"<tr><th>level</th><th>units</th></tr>{rows}</table>"
        )

    # -- index-level access (for hot loops) --------------------------------------

    def index_of(self, unit_id: str) -> int:
        """The unit's position in preorder, for the ``*_index`` methods.

        Raises:
            UnknownUnitError: naming the id.
        """
        try:
            return self._index[unit_id]
        except (KeyError, TypeError):
            raise _unknown(unit_id, self) from None

    def unit_at(self, index: int) -> AdminUnit:
        """The unit at a preorder position (as given by :meth:`index_of`)."""
        return self._units[index]

    def parent_index(self, index: int) -> int:
        """The parent's position, or -1 for the root."""
        return self._parent[index]

    def is_within_index(self, index: int, area: int) -> bool:
        """Whether position ``index`` is ``area`` or below it (constant time)."""
        return area <= index < self._end[area]

    def lowest_common_ancestor_index(self, a: int, b: int) -> int:
        """The position of the lowest unit that has both positions in its jurisdiction."""
        if a > b:
            a, b = b, a
        end = self._end
        parent = self._parent
        while b >= end[a]:  # an ancestor precedes its descendants in preorder
            a = parent[a]
        return a

    def ancestor_indices(self, index: int, *, include_self: bool = False) -> list[int]:
        """Positions of the ancestors, nearest first."""
        parent = self._parent
        out = [index] if include_self else []
        x = parent[index]
        while x >= 0:
            out.append(x)
            x = parent[x]
        return out

    # -- units and relations -----------------------------------------------------

    def unit(self, unit_id: str) -> AdminUnit:
        """The unit with this id.

        Raises:
            UnknownUnitError: naming the id (and hinting at :meth:`by_code` when the
                id is some unit's code).
        """
        try:
            return self._units[self._index[unit_id]]
        except (KeyError, TypeError):
            raise _unknown(unit_id, self) from None

    def by_code(self, code: str) -> AdminUnit:
        """The unit with this admin code, in either its 6- or 12-digit form.

        Raises:
            InvalidAdminCodeError: for a malformed code.
            UnknownUnitError: when no unit has the code.
        """
        key = significant_code(code)
        table = self._by_code
        if table is None:
            table = {}
            for i, unit in enumerate(self._units):
                if unit.code is not None and _code_ok(unit.code):
                    table.setdefault(significant_code(unit.code), i)
            object.__setattr__(self, "_by_code", table)
        try:
            return self._units[table[key]]
        except KeyError:
            raise UnknownUnitError(
                f"no unit with admin code {code!r} (significant part {key!r}) "
                f"in the hierarchy of {self.root.name!r}"
            ) from None

    def by_path(self, path: str) -> AdminUnit:
        """The unit at a name path such as ``"义乌市/佛堂镇"``, as :meth:`path` writes it.

        The path starts at the root's name and names one unit per level below it,
        separated by ``/``.

        Raises:
            UnknownUnitError: naming the segment that matches no unit, or matches
                several siblings of the same name.
        """
        if not isinstance(path, str) or not path:
            raise UnknownUnitError(f"a name path is a non-empty string, got {path!r}")
        segments = path.split("/")
        if segments[0] != self.root.name:
            raise UnknownUnitError(
                f"path {path!r} must start at the root {self.root.name!r}, not {segments[0]!r}"
            )
        units = self._units
        at = 0
        for depth, segment in enumerate(segments[1:], 1):
            found = [c for c in self._child_indices(at) if units[c].name == segment]
            if len(found) != 1:
                where = "/".join(segments[:depth])
                if not found:
                    names = [units[c].name for c in self._child_indices(at)]
                    shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
                    raise UnknownUnitError(
                        f"no unit named {segment!r} under {where!r} (in path {path!r}); "
                        f"its children are: {shown or 'none'}"
                    )
                ids = ", ".join(repr(units[c].id) for c in found)
                raise UnknownUnitError(
                    f"{len(found)} units named {segment!r} under {where!r} (ids {ids}); "
                    "look them up by id"
                )
            at = found[0]
        return units[at]

    def path(self, unit_id: str) -> str:
        """The unit's name path from the root, e.g. ``"义乌市/佛堂镇"``."""
        units = self._units
        chain = self.ancestor_indices(self.index_of(unit_id), include_self=True)
        return "/".join(units[i].name for i in reversed(chain))

    def parent(self, unit_id: str) -> AdminUnit | None:
        """The unit's parent, or None for the root."""
        p = self._parent[self.index_of(unit_id)]
        return self._units[p] if p >= 0 else None

    def _child_indices(self, index: int) -> Iterator[int]:
        end = self._end
        stop = end[index]
        c = index + 1
        while c < stop:
            yield c
            c = end[c]

    def children(self, unit_id: str) -> tuple[AdminUnit, ...]:
        """The units one level down (下沉一级) from this one, in input order."""
        units = self._units
        return tuple(units[c] for c in self._child_indices(self.index_of(unit_id)))

    def is_one_level_down(self, upper_id: str, lower_id: str) -> bool:
        """Whether ``lower_id`` is a direct child of ``upper_id`` (where a downward
        meeting convened by the upper unit may be held)."""
        return self._parent[self.index_of(lower_id)] == self.index_of(upper_id)

    def ancestors(self, unit_id: str, *, include_self: bool = False) -> tuple[AdminUnit, ...]:
        """The unit's ancestors, nearest first, ending with the root."""
        try:
            i = self._index[unit_id]
        except (KeyError, TypeError):
            raise _unknown(unit_id, self) from None
        units = self._units
        parent = self._parent
        out = [units[i]] if include_self else []
        i = parent[i]
        while i >= 0:
            out.append(units[i])
            i = parent[i]
        return tuple(out)

    def ancestor_at_level(self, unit_id: str, level: str) -> AdminUnit | None:
        """The unit itself or its ancestor at ``level`` (a level name or alias).

        Returns None when the chain to the root has no unit of that rank (the level is
        below the unit, or was skipped).

        Raises:
            ConfigurationError: for an unknown level name.
        """
        wanted = self._levels.rank(level)
        rank = self._rank
        parent = self._parent
        i = self.index_of(unit_id)
        while i >= 0 and rank[i] > wanted:
            i = parent[i]
        return self._units[i] if i >= 0 and rank[i] == wanted else None

    def descendants(self, unit_id: str, *, include_self: bool = False) -> Iterator[AdminUnit]:
        """The units below this one, in preorder (the whole jurisdiction with
        ``include_self=True``)."""
        i = self.index_of(unit_id)
        start = i if include_self else i + 1
        return iter(self._units[start : self._end[i]])

    def subtree_size(self, unit_id: str) -> int:
        """How many units the jurisdiction holds, the unit itself included."""
        i = self.index_of(unit_id)
        return self._end[i] - i

    def depth(self, unit_id: str) -> int:
        """The number of steps from the root (the root has depth 0)."""
        return len(self.ancestor_indices(self.index_of(unit_id)))

    def rank(self, unit_id: str) -> int:
        """The rank of the unit's level (0 for the top level of :attr:`levels`)."""
        return self._rank[self.index_of(unit_id)]

    def is_within(self, unit_id: str, area_id: str) -> bool:
        """Whether the unit is the area or below it: in the area's jurisdiction (辖区内).

        Constant time.
        """
        index = self._index
        try:
            i = index[unit_id]
            a = index[area_id]
        except (KeyError, TypeError):
            bad = unit_id if unit_id not in self else area_id
            raise _unknown(bad, self) from None
        return a <= i < self._end[a]

    def lowest_common_ancestor(self, a: str, b: str) -> AdminUnit:
        """The lowest unit whose jurisdiction holds both units (a unit, if the other is
        within it)."""
        index = self._index
        try:
            i = index[a]
            j = index[b]
        except (KeyError, TypeError):
            raise _unknown(a if a not in self else b, self) from None
        if i > j:
            i, j = j, i
        end = self._end
        parent = self._parent
        while j >= end[i]:
            i = parent[i]
        return self._units[i]

    def units_at_level(self, level: str) -> tuple[AdminUnit, ...]:
        """The units at the rank of ``level``, in preorder.

        An alias selects its whole rank (``"subdistrict"`` gives towns too); filter on
        :attr:`AdminUnit.level` to tell them apart.

        Raises:
            ConfigurationError: for an unknown level name.
        """
        wanted = self._levels.rank(level)
        units = self._units
        return tuple(units[i] for i, r in enumerate(self._rank) if r == wanted)

    def summary(self) -> dict[str, int]:
        """How many units each level has, every level listed top first."""
        counts = Counter(self._rank)
        return {name: counts.get(r, 0) for r, name in enumerate(self._levels.names)}

    # -- export ------------------------------------------------------------------

    def to_networkx(self) -> Any:
        """A ``networkx.DiGraph`` with an edge from each parent to each child.

        Nodes are unit ids with the attributes ``name``, ``level``, ``code``, ``kind``
        and ``rank``; the graph attribute ``root`` is the root's id. Built on demand:
        the hierarchy never keeps it.
        """
        import networkx as nx

        graph = nx.DiGraph(root=self.root.id)
        units = self._units
        rank = self._rank
        graph.add_nodes_from(
            (u.id, {"name": u.name, "level": u.level, "code": u.code, "kind": u.kind, "rank": r})
            for u, r in zip(units, rank, strict=True)
        )
        graph.add_edges_from(
            (units[p].id, u.id) for u, p in zip(units, self._parent, strict=True) if p >= 0
        )
        return graph

    def to_rows(self) -> list[dict[str, str | None]]:
        """The table, one mapping per unit in preorder (parents before children)."""
        return [unit.as_row() for unit in self._units]

    def to_csv(self) -> str:
        """The table as CSV with a header; :meth:`from_csv` reads it back unchanged."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        # With "\n" line ends the writer would leave a lone "\r" unquoted, which a reader
        # takes for a line break: rows holding one are written fully quoted.
        quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(COLUMNS)
        for u in self._units:
            row = (u.id, u.name, u.level, u.parent or "", u.code or "", u.kind or "")
            (quoted if "\r" in "".join(row) else writer).writerow(row)
        return out.getvalue()

    def to_json(self, *, indent: int | None = None) -> str:
        """The levels and the table as JSON; :meth:`from_json` reads it back unchanged."""
        levels = self._levels
        document = {
            "levels": {
                "names": list(levels.names),
                "aliases": dict(levels.aliases),
                "code_digits": None if levels.code_digits is None else list(levels.code_digits),
            },
            "units": self.to_rows(),
        }
        return json.dumps(document, ensure_ascii=False, indent=indent)


# --------------------------------------------------------------------------- text formats


def _strip_preamble(text: str) -> str:
    """Drop comment lines (``#``) and blank lines before the header."""
    at = 0
    while at < len(text):
        stop = text.find("\n", at)
        stop = len(text) if stop < 0 else stop + 1
        line = text[at:stop].strip()
        if line and not line.startswith("#"):
            break
        at = stop
    return text[at:]


def _parse_csv(text: str) -> list[Row]:
    if not isinstance(text, str):
        raise InvalidHierarchyError([(0, f"CSV text must be a str, got {type(text).__name__}")])
    body = _strip_preamble(text.removeprefix("\ufeff"))  # a byte-order mark, as Excel writes
    if not body:
        raise InvalidHierarchyError([(0, "the CSV text has no header")])
    try:
        records = list(csv.reader(io.StringIO(body)))
    except csv.Error as error:
        raise InvalidHierarchyError([(0, f"the CSV text does not parse: {error}")]) from None
    header = [h.strip() for h in records[0]]
    problems: Problems = []
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        problems.append(
            (0, f"unknown column(s) {', '.join(map(repr, unknown))}; use {', '.join(COLUMNS)}")
        )
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        problems.append((0, f"column(s) {', '.join(map(repr, repeated))} appear more than once"))
    missing = [c for c in ("name", "level") if c not in header]
    if "id" not in header and "code" not in header:
        missing.insert(0, "id (or code)")
    if missing:
        problems.append((0, f"the header lacks the column(s) {', '.join(missing)}"))
    if problems:
        raise InvalidHierarchyError(problems)
    rows: list[Row] = []
    number = 0
    for record in records[1:]:
        if not record:
            continue
        number += 1
        if len(record) != len(header):
            problems.append((number, f"{len(record)} field(s) where the header has {len(header)}"))
            rows.append({})
            continue
        rows.append(dict(zip(header, record, strict=True)))
    if problems:
        # Report field-count problems together with whatever else is wrong.
        _units, more = _coerce_rows(rows)
        bad = {row for row, _ in problems}
        problems.extend((row, msg) for row, msg in more if row not in bad)
        problems.sort(key=operator.itemgetter(0))
        raise InvalidHierarchyError(problems)
    return rows


def _levels_from_json(data: object) -> Levels:
    if not isinstance(data, dict) or not isinstance(data.get("names"), list):
        raise InvalidHierarchyError(
            [(0, "'levels' must be an object with a list of 'names' (and optional 'aliases')")]
        )
    try:
        return Levels(
            data["names"],
            aliases=data.get("aliases") or {},
            code_digits=data.get("code_digits"),
        )
    except (ConfigurationError, TypeError, ValueError) as error:
        raise InvalidHierarchyError([(0, f"bad 'levels': {error}")]) from None


def _parse_json(text: str) -> tuple[list[Row], Levels | None]:
    if not isinstance(text, str | bytes):
        raise InvalidHierarchyError([(0, f"JSON text must be a str, got {type(text).__name__}")])
    try:
        data = json.loads(text)
    except ValueError as error:
        raise InvalidHierarchyError([(0, f"not valid JSON: {error}")]) from None
    levels: Levels | None = None
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"levels", "units"})
        if unknown:
            raise InvalidHierarchyError(
                [(0, f"unknown key(s) {', '.join(map(repr, unknown))}; use 'levels' and 'units'")]
            )
        if data.get("levels") is not None:
            levels = _levels_from_json(data["levels"])
        data = data.get("units")
    if not isinstance(data, list):
        raise InvalidHierarchyError([(0, "expected a list of units, or an object with 'units'")])
    problems: Problems = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict):
            problems.append((number, f"a unit is a JSON object, got {type(item).__name__}"))
    if problems:
        raise InvalidHierarchyError(problems)
    return data, levels


# --------------------------------------------------------------------------- Yiwu


@functools.cache
def _yiwu_base() -> tuple[AdminUnit, ...]:
    text = resources.files("closedloop.data").joinpath("yiwu.csv").read_text("utf-8")
    units, problems = _coerce_rows(_parse_csv(text))
    assert not problems
    return tuple(u for u in units if u is not None)


def yiwu_hierarchy(
    *, villages_per_town: int | tuple[int, int] = (8, 24), seed: int = 0
) -> Hierarchy:
    """Yiwu (义乌市), a county-level city in Zhejiang, with its 14 township-level units.

    The root (id and code ``330782``, level ``county``) and its 8 subdistricts (街道)
    and 6 towns (镇) come from the statistics bureau's division codes (2023 release).
    Below them, villages (村) and communities (社区) are *generated*: their names
    (``"佛堂镇 village 001"``), codes and counts are illustrative, and their ``kind``
    says so (``"村 (generated)"``, ``"社区 (generated)"``). Codes follow the bureau's
    scheme: communities ``001``-``199`` and villages ``201``-``399`` after the town's
    9 digits. Subdistricts get mostly communities, towns mostly villages.

    Args:
        villages_per_town: village-level units under each township-level unit: a
            number, or an inclusive ``(low, high)`` range drawn per town; 0 to 199.
        seed: seeds the draws; the same seed always gives the same hierarchy.

    Raises:
        ConfigurationError: for a count outside 0-199 or an empty range.
    """
    counts: object = villages_per_town
    if isinstance(counts, int):
        counts = (counts, counts)
    low, high = counts if isinstance(counts, tuple) and len(counts) == 2 else (-1, -1)
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low <= high <= 199):
        raise ConfigurationError(
            f"villages_per_town must be a count or a range within 0-199, got {villages_per_town!r}"
        )
    rnd = random.Random(seed)
    base = _yiwu_base()
    rows: list[AdminUnit] = [base[0]]
    for town in base[1:]:
        rows.append(town)
        count = rnd.randint(low, high)
        if town.level == "subdistrict":
            communities = rnd.randint((count + 1) // 2, count)
        else:
            communities = rnd.randint(min(1, count), min(3, count))
        prefix = (town.code or "")[:9]
        for k in range(1, communities + 1):
            code = f"{prefix}{k:03d}"
            rows.append(
                AdminUnit(
                    UnitId(code),
                    f"{town.name} community {k:03d}",
                    "community",
                    town.id,
                    code,
                    "社区 (generated)",
                )
            )
        for k in range(1, count - communities + 1):
            code = f"{prefix}{200 + k:03d}"
            rows.append(
                AdminUnit(
                    UnitId(code),
                    f"{town.name} village {k:03d}",
                    "village",
                    town.id,
                    code,
                    "村 (generated)",
                )
            )
    return Hierarchy.from_rows(rows)


# --------------------------------------------------------------------------- generator


def _spread(parents: int, children: int, cap: int | None, rnd: random.Random) -> list[int]:
    """Children per parent: at least one each, the rest at random, at most ``cap`` each."""
    counts = [1] * parents
    extra = rnd.choices(range(parents), k=children - parents)
    for p, c in Counter(extra).items():
        counts[p] += c
    if cap is not None:
        over = sum(c - cap for c in counts if c > cap)
        if over:
            counts = [min(c, cap) for c in counts]
            room = [p for p, c in enumerate(counts) if c < cap]
            while over:
                k = rnd.randrange(len(room))
                p = room[k]
                counts[p] += 1
                over -= 1
                if counts[p] == cap:
                    room[k] = room[-1]
                    room.pop()
    return counts


def generate_hierarchy(
    shape: Sequence[int],
    *,
    seed: int = 0,
    levels: Levels | None = None,
    top: str | None = None,
    codes: bool = True,
) -> Hierarchy:
    """A synthetic hierarchy with ``shape[k]`` units at the k-th level from the top.

    ``generate_hierarchy(NATIONAL_SHAPE)`` is a country-sized tree (about 642,000
    units). Every unit above the bottom level gets at least one child; the other
    children are spread at random. The result depends on ``seed`` only. Units are named
    ``"<level> <number>"`` (``"town 00017"``); rows come in code order (preorder).

    Codes, when the levels state their digits (China's do) and ``codes`` is true, follow
    the segment scheme: the first province is ``11``, and below it children are
    numbered from ``01`` (or ``001``); units get 6-digit codes down to county level and
    12-digit codes below, and the ids are the codes. Otherwise units have no code and
    ids ``"u<number>"``.

    Args:
        shape: units per level, starting with 1 (the root); counts must not decrease.
        seed: seeds the random spread.
        levels: the level set (default: China's).
        top: the root's level (default: the top level).
        codes: give the units codes (needs levels with code digits, one segment per
            level below the root).

    Raises:
        ConfigurationError: for a shape that does not fit the levels or the code
            segments (at most 89 provinces, 99 children per 2-digit segment and 999 per
            3-digit one).
    """
    levels = Levels.china() if levels is None else levels
    shape = tuple(shape)
    top_rank = 0 if top is None else levels.rank(top)
    if (
        not shape
        or not all(isinstance(c, int) and c >= 1 for c in shape)
        or shape[0] != 1
        or any(a > b for a, b in pairwise(shape))
    ):
        raise ConfigurationError(
            f"shape {shape!r} must start with 1 and list non-decreasing positive counts"
        )
    if top_rank + len(shape) > len(levels):
        raise ConfigurationError(
            f"shape has {len(shape)} levels but only {len(levels) - top_rank} are available "
            f"from {levels.names[top_rank]!r} down"
        )
    names = levels.names[top_rank : top_rank + len(shape)]
    digits = None
    if codes and levels.code_digits is not None:
        digits = levels.code_digits[top_rank : top_rank + len(shape)]
        for a, b in pairwise(digits):
            if _SEGMENT_ENDS.index(b) != _SEGMENT_ENDS.index(a) + 1:
                raise ConfigurationError(
                    f"cannot number codes: level digits {a} -> {b} are not one segment apart"
                )
    rnd = random.Random(seed)
    widths = [0] + [b - a for a, b in pairwise(digits)] if digits else []
    spreads: list[list[int]] = []
    for k in range(1, len(shape)):
        cap = None
        if digits:
            cap = 89 if digits[k - 1] == 0 else 10 ** widths[k] - 1
            if shape[k] > cap * shape[k - 1]:
                raise ConfigurationError(
                    f"{shape[k]} units at level {names[k]!r} do not fit the code segment "
                    f"under {shape[k - 1]} parent(s) ({cap} each at most)"
                )
        spreads.append(_spread(shape[k - 1], shape[k], cap, rnd))

    # Level by level: children are grouped by parent, parents in the previous level's
    # order, which numbers each level's units as a preorder walk would.
    rows: list[AdminUnit] = []
    root_code = None
    if digits and digits[0]:
        root_code = "110101001001"[: digits[0]].ljust(6 if digits[0] <= 6 else 12, "0")
    root_id = UnitId(root_code if root_code is not None else "u0")
    rows.append(AdminUnit(root_id, f"{names[0]} 1", names[0], None, root_code))
    parent_ids: list[UnitId] = [root_id]
    parent_sigs = ["" if root_code is None or not digits else root_code[: digits[0]]]
    for k in range(1, len(shape)):
        spread = spreads[k - 1]
        owner = [p for p, count in enumerate(spread) for _ in range(count)]
        parents = list(map(parent_ids.__getitem__, owner))
        pad = len(str(shape[k]))
        label = names[k]
        unit_names = [f"{label} {j:0{pad}d}" for j in range(1, shape[k] + 1)]
        level_codes: list[str] | list[None]
        ids: list[UnitId]
        if digits:
            first = 11 if digits[k - 1] == 0 else 1
            template = f"{{}}{{:0{widths[k]}d}}"
            sigs = [
                template.format(parent_sigs[p], j)
                for p, count in enumerate(spread)
                for j in range(first, first + count)
            ]
            full = 6 if digits[k] <= 6 else 12
            level_codes = [sig.ljust(full, "0") for sig in sigs]
            ids = cast(list[UnitId], level_codes)  # the codes are the ids
            parent_sigs = sigs
        else:
            level_codes = [None] * shape[k]
            ids = [UnitId(f"u{j}") for j in range(len(rows), len(rows) + shape[k])]
        rows.extend(map(AdminUnit, ids, unit_names, repeat(label), parents, level_codes))
        parent_ids = ids
    # The codes are valid by construction (the tests check it), so only the tree is
    # checked here.
    return Hierarchy.from_rows(rows, levels=levels, check_codes=False)
