"""Hypothesis strategies shared by the test modules.

Hierarchies are drawn as *tables* (a level set and the rows) so that tests can corrupt
the rows before building; :func:`hierarchies` builds them. Trees have random shapes
(levels may be skipped), random level sets with aliases, codes that follow the prefix
rule in both their 6- and 12-digit forms, awkward names (commas, quotes, newlines,
Chinese) and rows in one of three orders: as drawn (parents first), preorder, or
shuffled.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
from hypothesis import strategies as st

from closedloop.hierarchy import AdminUnit, Hierarchy, Levels
from closedloop.ids import UnitId

SEGMENT_ENDS = (0, 2, 4, 6, 9, 12)

NAME_CHARACTERS = "abcxyz 村镇街道社区义乌,\"'\n\r\t\x00#-_."
"""Characters for unit names: CSV-awkward ones included, never ``/``."""


@attrs.frozen
class Table:
    """A level set and rows that form a valid hierarchy under it."""

    levels: Levels
    rows: tuple[AdminUnit, ...]

    def build(self) -> Hierarchy:
        """The hierarchy the rows describe."""
        return Hierarchy.from_rows(self.rows, levels=self.levels)


@st.composite
def level_sets(draw: st.DrawFn, *, min_size: int = 2, max_size: int = 6) -> Levels:
    """Random level sets: 2-6 names, some with aliases, with or without code digits."""
    size = draw(st.integers(min_size, max_size))
    names = tuple(f"L{k}" for k in range(size))
    aliases = {f"L{k}alt": names[k] for k in draw(st.sets(st.integers(0, size - 1), max_size=size))}
    digits = None
    if draw(st.booleans()):
        chosen = draw(
            st.lists(st.sampled_from(SEGMENT_ENDS), min_size=size, max_size=size, unique=True)
        )
        digits = tuple(sorted(chosen))
    return Levels(names, aliases=aliases, code_digits=digits)


def _segment(value: int, width: int) -> str:
    return f"{value:0{width}d}"


def _fill(draw: st.DrawFn, prefix: str, length: int) -> str:
    """Intermediate segments from the end of ``prefix`` up to ``length`` digits."""
    out = prefix
    for end in SEGMENT_ENDS:
        if len(out) < end <= length:
            width = end - len(out)
            if out == "":  # the province segment may not be 00
                out += draw(st.sampled_from(["11", "33", "44"]))
            else:
                out += _segment(draw(st.sampled_from([0, 1, 7])), width)
    return out


@st.composite
def hierarchy_tables(
    draw: st.DrawFn, *, levels: Levels | None = None, min_units: int = 1, max_units: int = 30
) -> Table:
    """Valid hierarchy tables (see the module docs).

    ``min_units`` is a target: a tree whose units all reach the bottom level stops
    early.
    """
    levels = levels if levels is not None else draw(level_sets())
    depth = len(levels)
    digits = levels.code_digits
    with_codes = digits is not None or draw(st.booleans())
    n = draw(st.integers(min_units, max_units))
    by_rank = {
        r: [name, *(a for a, target in levels.aliases.items() if target == name)]
        for r, name in enumerate(levels.names)
    }

    ranks: list[int] = []
    parents: list[int] = []
    sigs: list[str] = []  # the nearest coded ancestor-or-self's significant part
    codes: list[str | None] = []
    used: dict[str, int] = {}  # prefix before the last segment -> last number used

    def new_code(base: str, rank: int) -> tuple[str | None, str]:
        """A fresh code for a unit at ``rank`` below a code with significant part ``base``."""
        if digits is not None:
            lo = digits[rank - 1] if rank else -1
            hi = digits[rank]
            ends = [e for e in SEGMENT_ENDS if lo < e <= hi and e > len(base) and e]
        else:
            ends = [e for e in SEGMENT_ENDS if e > len(base)]
        if not ends:
            return None, base
        length = draw(st.sampled_from(ends))
        last_start = max(e for e in SEGMENT_ENDS if e < length)
        stem = _fill(draw, base, last_start)
        number = used.get(stem, 10 if stem == "" else 0) + 1
        used[stem] = number
        sig = stem + _segment(number, length - last_start)
        width = 6 if length <= 6 and draw(st.booleans()) else 12
        return sig.ljust(width, "0"), sig

    root_rank = draw(st.integers(0, depth - 1 if min_units <= 1 else max(depth - 2, 0)))
    ranks.append(root_rank)
    parents.append(-1)
    root_code: str | None = None
    root_sig = ""
    if with_codes and (digits is None or digits[root_rank]) and draw(st.booleans()):
        root_code, root_sig = new_code("", root_rank)
    codes.append(root_code)
    sigs.append(root_sig)
    for _ in range(1, n):
        open_parents = [k for k, r in enumerate(ranks) if r < depth - 1]
        if not open_parents:
            break
        parent = draw(st.sampled_from(open_parents))
        rank = draw(st.integers(ranks[parent] + 1, depth - 1))
        code: str | None = None
        sig = sigs[parent]
        if with_codes and draw(st.integers(0, 9)) > 0:
            code, sig = new_code(sigs[parent], rank)
        ranks.append(rank)
        parents.append(parent)
        codes.append(code)
        sigs.append(sig)

    count = len(ranks)
    ids: list[str] = []
    for k in range(count):
        code = codes[k]
        ids.append(code if code is not None and draw(st.booleans()) else f"u{k}")
    rows = [
        AdminUnit(
            UnitId(ids[k]),
            draw(st.text(NAME_CHARACTERS, min_size=1, max_size=6)),
            draw(st.sampled_from(by_rank[ranks[k]])),
            UnitId(ids[parents[k]]) if parents[k] >= 0 else None,
            codes[k],
            draw(st.none() | st.sampled_from(["镇", "街道", "村", "社区 (generated)"])),
        )
        for k in range(count)
    ]
    order = draw(st.sampled_from(["drawn", "preorder", "shuffled"]))
    if order == "preorder":
        rows = preorder(rows)
    elif order == "shuffled":
        rows = list(draw(st.permutations(rows)))
    return Table(levels, tuple(rows))


def hierarchies(
    *, levels: Levels | None = None, max_units: int = 30
) -> st.SearchStrategy[Hierarchy]:
    """Valid hierarchies built from :func:`hierarchy_tables`."""
    return hierarchy_tables(levels=levels, max_units=max_units).map(Table.build)


def preorder(rows: Sequence[AdminUnit]) -> list[AdminUnit]:
    """The rows of a valid table in preorder, children in input order (a naive walk)."""
    children: dict[str | None, list[AdminUnit]] = {}
    for row in rows:
        children.setdefault(row.parent, []).append(row)
    out: list[AdminUnit] = []
    stack = list(reversed(children[None]))
    while stack:
        row = stack.pop()
        out.append(row)
        stack.extend(reversed(children.get(row.id, [])))
    return out
