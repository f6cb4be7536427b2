"""Tests of the administrative hierarchy: properties against naive walks, corruption
reports, round trips, admin codes, levels, the Yiwu data and the generator."""

from __future__ import annotations

import contextlib
import itertools
import json
import pickle
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from closedloop.errors import (
    ConfigurationError,
    InvalidAdminCodeError,
    InvalidHierarchyError,
    UnknownUnitError,
)
from closedloop.hierarchy import (
    NATIONAL_SHAPE,
    AdminUnit,
    Hierarchy,
    Levels,
    _diagnose,
    admin_code_extends,
    generate_hierarchy,
    significant_code,
    validate_admin_code,
    yiwu_hierarchy,
)
from closedloop.ids import UnitId
from tests.strategies import Table, hierarchies, hierarchy_tables, level_sets, preorder

YIWU_TOWNS = {
    "330782001000": "稠城街道",
    "330782002000": "江东街道",
    "330782003000": "稠江街道",
    "330782004000": "北苑街道",
    "330782005000": "后宅街道",
    "330782006000": "城西街道",
    "330782007000": "廿三里街道",
    "330782008000": "福田街道",
    "330782100000": "佛堂镇",
    "330782101000": "赤岸镇",
    "330782102000": "义亭镇",
    "330782104000": "上溪镇",
    "330782105000": "苏溪镇",
    "330782106000": "大陈镇",
}


# --------------------------------------------------------------------------- naive model


class Naive:
    """The same tree, answered by walking parent links."""

    def __init__(self, rows: tuple[AdminUnit, ...]) -> None:
        self.by_id: dict[str, AdminUnit] = {row.id: row for row in rows}
        self.rows = rows

    def chain(self, unit_id: str) -> list[str]:
        """The unit and its ancestors, nearest first."""
        out = [unit_id]
        while (parent := self.by_id[out[-1]].parent) is not None:
            out.append(parent)
        return out

    def within(self, unit_id: str, area_id: str) -> bool:
        return area_id in self.chain(unit_id)

    def lca(self, a: str, b: str) -> str:
        above_b = set(self.chain(b))
        return next(x for x in self.chain(a) if x in above_b)

    def children(self, unit_id: str) -> list[str]:
        return [row.id for row in self.rows if row.parent == unit_id]

    def descendants(self, unit_id: str) -> list[str]:
        out: list[str] = []
        for child in self.children(unit_id):
            out.append(child)
            out.extend(self.descendants(child))
        return out


# --------------------------------------------------------------------------- properties


@given(hierarchy_tables())
def test_valid_tables_build_and_have_no_problems(table: Table) -> None:
    hierarchy = table.build()
    assert len(hierarchy) == len(table.rows)
    assert _diagnose(table.rows, table.levels, True) == []
    assert sorted(u.id for u in hierarchy) == sorted(r.id for r in table.rows)


@given(hierarchy_tables())
def test_iteration_is_preorder_with_children_in_input_order(table: Table) -> None:
    hierarchy = table.build()
    assert list(hierarchy) == preorder(table.rows)
    assert hierarchy.root.parent is None
    assert [hierarchy.index_of(u.id) for u in hierarchy] == list(range(len(hierarchy)))


@given(hierarchy_tables(max_units=20))
def test_is_within_agrees_with_walking_parents(table: Table) -> None:
    hierarchy, naive = table.build(), Naive(table.rows)
    for unit in table.rows:
        for area in table.rows:
            expected = naive.within(unit.id, area.id)
            assert hierarchy.is_within(unit.id, area.id) is expected
            assert (
                hierarchy.is_within_index(hierarchy.index_of(unit.id), hierarchy.index_of(area.id))
                is expected
            )


@given(hierarchy_tables(max_units=20))
def test_lowest_common_ancestor_agrees_with_a_naive_walk(table: Table) -> None:
    hierarchy, naive = table.build(), Naive(table.rows)
    for a in table.rows:
        for b in table.rows:
            expected = naive.lca(a.id, b.id)
            assert hierarchy.lowest_common_ancestor(a.id, b.id).id == expected
            i, j = hierarchy.index_of(a.id), hierarchy.index_of(b.id)
            assert hierarchy.unit_at(hierarchy.lowest_common_ancestor_index(i, j)).id == expected


@given(hierarchy_tables())
def test_relations_agree_with_naive_computations(table: Table) -> None:
    hierarchy, naive = table.build(), Naive(table.rows)
    levels = table.levels
    for row in table.rows:
        chain = naive.chain(row.id)
        assert [u.id for u in hierarchy.ancestors(row.id)] == chain[1:]
        assert [u.id for u in hierarchy.ancestors(row.id, include_self=True)] == chain
        index = hierarchy.index_of(row.id)
        assert [hierarchy.unit_at(i).id for i in hierarchy.ancestor_indices(index)] == chain[1:]
        assert hierarchy.depth(row.id) == len(chain) - 1
        assert [u.id for u in hierarchy.descendants(row.id)] == naive.descendants(row.id)
        assert [u.id for u in hierarchy.descendants(row.id, include_self=True)] == [
            row.id,
            *naive.descendants(row.id),
        ]
        assert hierarchy.subtree_size(row.id) == 1 + len(naive.descendants(row.id))
        assert [u.id for u in hierarchy.children(row.id)] == naive.children(row.id)
        parent = hierarchy.parent(row.id)
        assert (parent.id if parent else None) == row.parent
        assert hierarchy.parent_index(index) == (
            hierarchy.index_of(row.parent) if row.parent else -1
        )
        assert hierarchy.unit(row.id) == row
        assert hierarchy.rank(row.id) == levels.rank(row.level)
        for child in naive.children(row.id):
            assert hierarchy.is_one_level_down(row.id, child)
            assert not hierarchy.is_one_level_down(child, row.id)
        for grandchild in naive.descendants(row.id):
            if grandchild not in naive.children(row.id):
                assert not hierarchy.is_one_level_down(row.id, grandchild)
        for name in levels.names:
            wanted = levels.rank(name)
            expected = [x for x in chain if levels.rank(naive.by_id[x].level) == wanted]
            found = hierarchy.ancestor_at_level(row.id, name)
            assert (found.id if found else None) == (expected[0] if expected else None)


@given(hierarchy_tables())
def test_paths_resolve_back_unless_sibling_names_clash(table: Table) -> None:
    hierarchy, naive = table.build(), Naive(table.rows)
    for row in table.rows:
        path = hierarchy.path(row.id)
        assert path.split("/") == [naive.by_id[x].name for x in reversed(naive.chain(row.id))]
        chain = list(reversed(naive.chain(row.id)))
        ambiguous = any(
            [naive.by_id[c].name for c in naive.children(upper)].count(naive.by_id[lower].name) > 1
            for upper, lower in itertools.pairwise(chain)
        )
        if ambiguous:
            with pytest.raises(UnknownUnitError, match="units named"):
                hierarchy.by_path(path)
        else:
            assert hierarchy.by_path(path) == row


@given(hierarchy_tables())
def test_codes_are_found_in_both_forms(table: Table) -> None:
    hierarchy = table.build()
    for row in table.rows:
        if row.code is None:
            continue
        assert hierarchy.by_code(row.code) == row
        assert hierarchy.by_code(significant_code(row.code).ljust(12, "0")) == row
        if len(significant_code(row.code)) <= 6:
            assert hierarchy.by_code(significant_code(row.code).ljust(6, "0")) == row


@given(hierarchies())
def test_levels_summary_and_units_at_level(hierarchy: Hierarchy) -> None:
    levels = hierarchy.levels
    summary = hierarchy.summary()
    assert list(summary) == list(levels.names)
    assert sum(summary.values()) == len(hierarchy)
    for name in levels.names:
        at = hierarchy.units_at_level(name)
        assert len(at) == summary[name]
        assert all(levels.canonical(u.level) == name for u in at)


@given(hierarchy_tables())
def test_csv_round_trip_is_lossless(table: Table) -> None:
    hierarchy = table.build()
    text = hierarchy.to_csv()
    again = Hierarchy.from_csv(text, levels=table.levels)
    assert again == hierarchy
    assert again.to_csv() == text
    assert again.to_rows() == hierarchy.to_rows()


@given(hierarchy_tables())
def test_json_round_trip_is_lossless_and_keeps_the_levels(table: Table) -> None:
    hierarchy = table.build()
    again = Hierarchy.from_json(hierarchy.to_json())
    assert again == hierarchy
    assert again.levels == table.levels
    assert Hierarchy.from_json(hierarchy.to_json(indent=2)) == hierarchy
    bare = json.dumps(hierarchy.to_rows())
    assert Hierarchy.from_json(bare, levels=table.levels) == hierarchy


@given(hierarchy_tables())
def test_rows_mappings_and_pickles_round_trip(table: Table) -> None:
    hierarchy = table.build()
    assert Hierarchy.from_rows(hierarchy.to_rows(), levels=table.levels) == hierarchy
    assert Hierarchy.from_rows(list(hierarchy), levels=table.levels) == hierarchy
    copy = pickle.loads(pickle.dumps(hierarchy))
    assert copy == hierarchy
    assert [copy.index_of(u.id) for u in copy] == list(range(len(copy)))


@given(hierarchy_tables())
def test_networkx_export_has_the_same_tree(table: Table) -> None:
    hierarchy = table.build()
    graph = hierarchy.to_networkx()
    assert graph.graph["root"] == hierarchy.root.id
    assert set(graph.nodes) == {u.id for u in hierarchy}
    assert {(p, c) for p, c in graph.edges} == {
        (u.parent, u.id) for u in hierarchy if u.parent is not None
    }
    for unit in hierarchy:
        assert graph.nodes[unit.id]["name"] == unit.name
        assert graph.nodes[unit.id]["code"] == unit.code


# --------------------------------------------------------------------------- corruption

Rows = list[dict[str, Any]]


def _children_rows(rows: Rows, unit_id: str) -> list[int]:
    return [k for k, row in enumerate(rows) if row["parent"] == unit_id]


def _row_of(rows: Rows, unit_id: str | None) -> int | None:
    return next((k for k, row in enumerate(rows) if row["id"] == unit_id), None)


def _source(rows: Rows, candidates: list[int], draw: st.DrawFn) -> int | None:
    """A row another corruption relies on: drawn, then kept out of other corruptions."""
    if not candidates:
        return None
    j = draw(st.sampled_from(candidates))
    rows[j]["_keep"] = True
    return j


Corruption = Callable[[Rows, int, set[int], st.DrawFn], set[str] | None]
"""Corrupts row k in place without touching the rows to avoid (other targets, dropped
rows); returns the ids that must be reported, or None when it does not apply."""


def drop_parent_row(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    kids = _children_rows(rows, rows[k]["id"])
    if not kids or rows[k]["parent"] is None or rows[k].get("_keep"):
        return None  # dropping the root is an example test of its own
    rows[k]["_drop"] = True
    return {rows[c]["id"] for c in kids}


def duplicate_code(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    others = [j for j, row in enumerate(rows) if j != k and j not in avoid and row["code"]]
    j = _source(rows, others, draw)
    if j is None:
        return None
    rows[k]["code"] = rows[j]["code"]
    return {rows[k]["id"]}


def break_code_prefix(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    code, p = rows[k]["code"], _row_of(rows, rows[k]["parent"])
    if code is None or p is None or p in avoid or rows[p]["code"] is None:
        return None
    rows[p]["_keep"] = True
    digit = draw(st.sampled_from([d for d in "123456789" if d != code[0]]))
    rows[k]["code"] = digit + code[1:]
    return {rows[k]["id"]}


def introduce_cycle(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    if rows[k]["parent"] is None:
        return None
    kids = [c for c in _children_rows(rows, rows[k]["id"]) if c not in avoid]
    to_child = bool(kids) and draw(st.booleans())
    c = _source(rows, kids, draw) if to_child else None
    rows[k]["parent"] = rows[k]["id"] if c is None else rows[c]["id"]
    return {rows[k]["id"]}


def level_not_below_parent(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    p = _row_of(rows, rows[k]["parent"])
    if p is None or p in avoid:
        return None
    rows[p]["_keep"] = True
    rows[k]["level"] = rows[p]["level"]
    return {rows[k]["id"]}


def unknown_level(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    rows[k]["level"] = "no such level"
    return {rows[k]["id"]}


def malformed_code(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    rows[k]["code"] = draw(st.sampled_from(["12345", "33078210000X", "003307", "３３０７８２"]))
    return {rows[k]["id"]}


def second_root(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    if rows[k]["parent"] is None:
        return None
    rows[k]["parent"] = None
    return {rows[k]["id"]}


def duplicate_id(rows: Rows, k: int, avoid: set[int], draw: st.DrawFn) -> set[str] | None:
    j = _source(rows, [j for j in range(len(rows)) if j != k and j not in avoid], draw)
    if j is None:
        return None
    rows[k]["id"] = rows[j]["id"]
    rows[k]["_check_by_row"] = True
    return {rows[k]["id"]}


CORRUPTIONS: tuple[Corruption, ...] = (
    drop_parent_row,
    duplicate_code,
    break_code_prefix,
    introduce_cycle,
    level_not_below_parent,
    unknown_level,
    malformed_code,
    second_root,
    duplicate_id,
)


@st.composite
def corrupted(draw: st.DrawFn, *, count: int) -> tuple[Table, Rows, list[int]]:
    """A valid table, its rows after up to ``count`` corruptions of distinct rows, and
    the row numbers (1-based, after dropping rows) that must be reported."""
    table = draw(hierarchy_tables(min_units=count + 1, max_units=25))
    rows: Rows = [dict(unit.as_row()) for unit in table.rows]
    assume(len(rows) >= count + 1)
    targets = draw(
        st.lists(st.sampled_from(range(len(rows))), min_size=1, max_size=count, unique=True)
    )
    must: list[int] = []  # row positions before the drops
    for k in targets:
        if rows[k].get("_keep"):
            continue  # another corruption relies on this row as it is
        avoid = {j for j in targets if j != k} | {j for j, r in enumerate(rows) if r.get("_drop")}
        corruption = draw(st.sampled_from(CORRUPTIONS))
        flagged = corruption(rows, k, avoid, draw)
        if flagged is None:
            continue
        if rows[k].get("_check_by_row"):
            must.append(k)
        else:
            must.extend(j for j, row in enumerate(rows) if row["id"] in flagged)
    assume(must)
    kept = [j for j, row in enumerate(rows) if not row.get("_drop")]
    number = {j: n for n, j in enumerate(kept, 1)}
    expected = sorted({number[j] for j in must if j in number})
    out = [{c: v for c, v in rows[j].items() if not c.startswith("_")} for j in kept]
    return table, out, expected


@given(corrupted(count=1))
def test_a_corruption_is_reported_with_its_row(case: tuple[Table, Rows, list[int]]) -> None:
    table, rows, expected = case
    with pytest.raises(InvalidHierarchyError) as caught:
        Hierarchy.from_rows(rows, levels=table.levels)
    reported = {row for row, _ in caught.value.problems}
    assert set(expected) <= reported, caught.value


@given(corrupted(count=3))
def test_every_corruption_is_reported_in_one_error(case: tuple[Table, Rows, list[int]]) -> None:
    table, rows, expected = case
    with pytest.raises(InvalidHierarchyError) as caught:
        Hierarchy.from_rows(rows, levels=table.levels)
    problems = caught.value.problems
    assert set(expected) <= {row for row, _ in problems}, caught.value
    assert [row for row, _ in problems] == sorted(row for row, _ in problems)
    # The CSV form of the same rows gives the same report.
    text = "id,name,level,parent,code,kind\n" + "".join(
        _csv_line([r.get(c) for c in ("id", "name", "level", "parent", "code", "kind")])
        for r in rows
    )
    with pytest.raises(InvalidHierarchyError) as from_text:
        Hierarchy.from_csv(text, levels=table.levels)
    assert from_text.value.problems == problems


def _csv_line(values: list[str | None]) -> str:
    def quote(value: str | None) -> str:
        text = value or ""
        return '"' + text.replace('"', '""') + '"'

    return ",".join(quote(v) for v in values) + "\n"


@given(corrupted(count=3), st.booleans())
def test_fast_and_thorough_checks_agree(case: tuple[Table, Rows, list[int]], codes: bool) -> None:
    table, rows, _ = case
    units = [AdminUnit(**{**row, "id": UnitId(row["id"])}) for row in rows]
    problems = _diagnose(units, table.levels, codes)
    if not problems:
        Hierarchy.from_rows(units, levels=table.levels, check_codes=codes)
        return
    with pytest.raises(InvalidHierarchyError) as caught:
        Hierarchy.from_rows(units, levels=table.levels, check_codes=codes)
    assert sorted(caught.value.problems) == sorted(problems)


def test_dropping_the_root_orphans_its_children() -> None:
    rows = yiwu_hierarchy(villages_per_town=1).to_rows()
    with pytest.raises(InvalidHierarchyError) as caught:
        Hierarchy.from_rows(rows[1:])
    problems = caught.value.problems
    assert (0, "no root: every unit names a parent") in problems
    town_rows = [k for k, row in enumerate(rows[1:], 1) if row["parent"] == "330782"]
    assert len(town_rows) == 14
    assert {row for row, message in problems if "'330782'" in message} == set(town_rows)


def test_a_hand_made_table_reports_each_problem() -> None:
    rows: list[dict[str, str | None]] = [
        {"id": "330782", "name": "义乌市", "level": "county", "parent": None, "code": "330782"},
        {"id": "a", "name": "佛堂镇", "level": "town", "parent": "330782", "code": "330782100000"},
        {"id": "b", "name": "赤岸镇", "level": "town", "parent": "330782", "code": "330782100000"},
        {"id": "c", "name": "孤村", "level": "village", "parent": "gone", "code": "330782101201"},
        {"id": "d", "name": "甲村", "level": "village", "parent": "e", "code": "330782102201"},
        {"id": "e", "name": "乙村", "level": "village", "parent": "d", "code": "330782102202"},
        {"id": "f", "name": "外村", "level": "village", "parent": "a", "code": "330783100201"},
        {"id": "g", "name": "县", "level": "county", "parent": "a", "code": "330782100202"},
        {"id": "h", "name": "怪", "level": "city", "parent": "a", "code": "33078210020"},
        {"id": "i", "name": "无", "level": "town", "parent": None},
    ]
    with pytest.raises(InvalidHierarchyError) as caught:
        Hierarchy.from_rows(rows)
    by_row: dict[int, list[str]] = {}
    for row, message in caught.value.problems:
        by_row.setdefault(row, []).append(message)
    assert any("also the code of row 3" in m for m in by_row[2])
    assert any("also the code of row 2" in m for m in by_row[3])
    assert any("parent 'gone'" in m for m in by_row[4])
    assert any("parent cycle" in m for m in by_row[5])
    assert any("parent cycle" in m for m in by_row[6])
    assert any("does not extend" in m and "'330782100'" in m for m in by_row[7])
    assert any("is not below level 'town'" in m for m in by_row[8])
    assert any("unknown level 'city'" in m and "prefecture" in m for m in by_row[9])
    assert any("11 characters" in m for m in by_row[9])
    assert any("no parent" in m for m in by_row[1])
    assert any("no parent" in m for m in by_row[10])
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ([], "no rows"),
        ([{"name": "x", "level": "town", "parent": None}], "missing id (or code)"),
        ([{"id": "x", "level": "town", "parent": None}], "missing name"),
        ([{"id": "x", "name": "x", "level": "town", "parent": 5}], "parent must be text"),
        ([{"id": "x", "name": "x", "level": "town", "parnet": None}], "unknown column"),
        ([("x", "x", "town", None)], "AdminUnit or a mapping"),
        ([{"id": "x", "name": "x", "level": "town", "parent": "x"}], "parent cycle"),
        ([{"code": "330782", "name": "x", "level": "county"}], None),
    ],
)
def test_bad_rows_are_reported_never_raised_raw(rows: list[Any], fragment: str | None) -> None:
    if fragment is None:
        assert Hierarchy.from_rows(rows).root.id == "330782"  # a missing id uses the code
        return
    with pytest.raises(InvalidHierarchyError, match=re.escape(fragment)):
        Hierarchy.from_rows(rows)


@pytest.mark.parametrize("rows", ["abc", {"id": "x"}, 5, None])
def test_rows_must_be_an_iterable_of_rows(rows: Any) -> None:
    with pytest.raises(InvalidHierarchyError, match="iterable"):
        Hierarchy.from_rows(rows)


def test_codes_can_be_left_unchecked() -> None:
    rows = [
        AdminUnit(UnitId("r"), "root", "county", None, "not a code"),
        AdminUnit(UnitId("t"), "town", "town", UnitId("r"), "330782100000"),
    ]
    with pytest.raises(InvalidHierarchyError, match="not a code"):
        Hierarchy.from_rows(rows)
    hierarchy = Hierarchy.from_rows(rows, check_codes=False)
    assert hierarchy.by_code("330782100000").id == "t"


# --------------------------------------------------------------------------- text formats


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no header"),
        ("# only a comment\n", "no header"),
        ("id,name\n", "lacks the column"),
        ("id,name,level,parent,colour\n", "unknown column"),
        ("id,name,level,level\n", "more than once"),
        ("id,name,level,parent\nx,y\n", "2 field"),
        ('id,name,level,parent\n"x,y,town,\n', "field"),
        ("id,name,level,parent\nx,y,town,z\n", "parent 'z'"),
    ],
)
def test_bad_csv_is_reported(text: str, fragment: str) -> None:
    with pytest.raises(InvalidHierarchyError, match=fragment):
        Hierarchy.from_csv(text)


def test_csv_comments_blank_lines_and_code_only_ids() -> None:
    text = (
        "# a comment\n\n# another\n"
        "code,name,level,parent\n"
        "330782,义乌市,county,\n"
        "\n"
        "330782100000,佛堂镇,town,330782\n"
    )
    hierarchy = Hierarchy.from_csv(text)
    assert Hierarchy.from_csv("\ufeff" + text) == hierarchy
    assert [u.id for u in hierarchy] == ["330782", "330782100000"]
    assert hierarchy.unit("330782100000").kind is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ("5", "expected a list"),
        ('{"units": 5}', "expected a list"),
        ('{"units": [], "extra": 1}', "unknown key"),
        ("[5]", "JSON object"),
        ('[{"id": 330782, "name": "x", "level": "county", "parent": null}]', "id must be text"),
        ('{"levels": {"names": "ab"}, "units": []}', "levels"),
        ('{"levels": {"names": ["a", "a"]}, "units": []}', "distinct"),
        ('{"levels": {"names": ["a"], "aliases": {"b": "c"}}, "units": []}', "unknown level"),
    ],
)
def test_bad_json_is_reported(text: str, fragment: str) -> None:
    with pytest.raises(InvalidHierarchyError, match=fragment):
        Hierarchy.from_json(text)


@given(st.text(',\n"#abc义乌 ', max_size=60))
def test_arbitrary_csv_text_never_raises_raw(text: str) -> None:
    with contextlib.suppress(InvalidHierarchyError):
        Hierarchy.from_csv("id,name,level,parent\n" + text, check_codes=False)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=4),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["id", "name", "level", "parent", "code", "kind", "x"]),
            st.none() | st.integers() | st.sampled_from(["", "a", "town", "330782"]),
        ),
        max_size=4,
    )
    | JSON_VALUES
)
def test_arbitrary_json_never_raises_raw(document: Any) -> None:
    with contextlib.suppress(InvalidHierarchyError):
        Hierarchy.from_json(json.dumps(document))


# --------------------------------------------------------------------------- lookups


def test_unknown_ids_codes_and_paths_are_named() -> None:
    hierarchy = yiwu_hierarchy(villages_per_town=2)
    with pytest.raises(UnknownUnitError, match="'nowhere'"):
        hierarchy.unit("nowhere")
    with pytest.raises(UnknownUnitError, match="'nowhere'"):
        hierarchy.is_within("nowhere", "330782")
    with pytest.raises(UnknownUnitError, match="'nowhere'"):
        hierarchy.is_within("330782", "nowhere")
    with pytest.raises(UnknownUnitError, match="'nowhere'"):
        hierarchy.lowest_common_ancestor("330782", "nowhere")
    with pytest.raises(UnknownUnitError, match="'nowhere'"):
        hierarchy.ancestors("nowhere")
    for query in (
        hierarchy.children,
        hierarchy.parent,
        hierarchy.path,
        hierarchy.depth,
        hierarchy.subtree_size,
        hierarchy.descendants,
        hierarchy.rank,
        hierarchy.index_of,
    ):
        with pytest.raises(UnknownUnitError, match="'nowhere'"):
            query("nowhere")
    with pytest.raises(UnknownUnitError, match=r"'330782100' in the hierarchy of '义乌市'$"):
        hierarchy.unit("330782100")  # neither an id nor a code: no hint
    with pytest.raises(UnknownUnitError, match="330782999000"):
        hierarchy.by_code("330782999000")
    with pytest.raises(InvalidAdminCodeError, match="characters"):
        hierarchy.by_code("3307")
    with pytest.raises(UnknownUnitError, match=r"'佛'.*under '义乌市'"):
        hierarchy.by_path("义乌市/佛/佛堂镇 village 001")
    with pytest.raises(UnknownUnitError, match="must start at the root"):
        hierarchy.by_path("佛堂镇")
    with pytest.raises(UnknownUnitError):
        hierarchy.by_path("")
    assert "nowhere" not in hierarchy
    assert 5 not in hierarchy
    assert [] not in hierarchy


def test_unknown_unit_error_hints_at_codes() -> None:
    hierarchy = Hierarchy.from_rows(
        [
            {"id": "yiwu", "name": "义乌市", "level": "county", "parent": None, "code": "330782"},
            {
                "id": "fotang",
                "name": "佛堂镇",
                "level": "town",
                "parent": "yiwu",
                "code": "330782100000",
            },
        ]
    )
    with pytest.raises(UnknownUnitError, match=r"'fotang'.*by_code"):
        hierarchy.unit("330782100000")
    assert hierarchy.by_code("330782100000").id == "fotang"
    assert hierarchy.by_code("330782000000").id == "yiwu"


def test_a_hierarchy_is_immutable_and_unhashable() -> None:
    hierarchy = yiwu_hierarchy(villages_per_town=1)
    with pytest.raises(AttributeError):
        hierarchy._units = ()
    with pytest.raises(AttributeError):
        del hierarchy._units
    with pytest.raises(TypeError):
        hash(hierarchy)
    assert hierarchy != "a hierarchy"


def test_levels_for_queries_must_be_known() -> None:
    hierarchy = yiwu_hierarchy(villages_per_town=1)
    with pytest.raises(ConfigurationError, match="unknown level 'city'"):
        hierarchy.units_at_level("city")
    with pytest.raises(ConfigurationError, match="unknown level 'city'"):
        hierarchy.ancestor_at_level("330782", "city")
    with pytest.raises(ConfigurationError, match="must be a Levels"):
        Hierarchy.from_rows([], levels=("a", "b"))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Yiwu


def test_yiwu_has_its_fourteen_township_level_units() -> None:
    yiwu = yiwu_hierarchy()
    root = yiwu.root
    assert (root.id, root.name, root.level, root.code) == ("330782", "义乌市", "county", "330782")
    towns = yiwu.children("330782")
    assert {t.code: t.name for t in towns} == YIWU_TOWNS
    assert [t.id for t in towns] == list(YIWU_TOWNS)
    assert all(t.code == t.id for t in towns)
    assert {t.level for t in towns} == {"subdistrict", "town"}
    assert [t.name for t in towns if t.kind == "街道"] == [
        n for n in YIWU_TOWNS.values() if n.endswith("街道")
    ]
    assert yiwu.summary()["town"] == 14
    assert yiwu.summary()["county"] == 1
    assert yiwu.units_at_level("subdistrict") == towns  # an alias selects its rank


def test_yiwu_villages_are_generated_and_marked() -> None:
    yiwu = yiwu_hierarchy(villages_per_town=(3, 5), seed=4)
    villages = yiwu.units_at_level("village")
    assert villages
    for village in villages:
        assert village.kind in ("村 (generated)", "社区 (generated)")
        assert village.code is not None
        assert village.parent is not None
        assert village.code.startswith(village.parent[:9])
        number = int(village.code[9:])
        assert (1 <= number <= 199) if village.level == "community" else (201 <= number <= 399)
    for town in yiwu.children("330782"):
        assert 3 <= len(yiwu.children(town.id)) <= 5
    assert Hierarchy.from_rows(list(yiwu)) == yiwu  # codes valid


def test_yiwu_paths_and_codes_in_chinese() -> None:
    yiwu = yiwu_hierarchy(villages_per_town=2)
    fotang = yiwu.by_path("义乌市/佛堂镇")
    assert fotang.code == "330782100000"
    village = yiwu.children(fotang.id)[-1]
    assert yiwu.path(village.id) == f"义乌市/佛堂镇/{village.name}"
    assert yiwu.by_path(f"义乌市/佛堂镇/{village.name}") == village
    assert yiwu.by_code("330782") == yiwu.root
    assert yiwu.by_code("330782000000") == yiwu.root
    assert yiwu.by_path("义乌市") == yiwu.root
    assert yiwu.is_within(village.id, "330782100000")
    assert not yiwu.is_within(village.id, "330782101000")
    assert yiwu.is_one_level_down("330782", "330782100000")
    assert not yiwu.is_one_level_down("330782", village.id)
    assert yiwu.lowest_common_ancestor(village.id, "330782101000") == yiwu.root
    assert yiwu.ancestor_at_level(village.id, "county") == yiwu.root
    assert yiwu.ancestor_at_level(village.id, "town") == fotang
    assert yiwu.ancestor_at_level(village.id, "province") is None
    assert "义乌市" in repr(yiwu)


def test_yiwu_is_deterministic_per_seed() -> None:
    assert yiwu_hierarchy(seed=1) == yiwu_hierarchy(seed=1)
    assert yiwu_hierarchy(seed=1) != yiwu_hierarchy(seed=2)
    assert len(yiwu_hierarchy(villages_per_town=0)) == 15
    assert len(yiwu_hierarchy(villages_per_town=199)) == 15 + 14 * 199


@pytest.mark.parametrize("count", [-1, 200, (5, 3), (0, 200), "7"])
def test_yiwu_village_counts_are_checked(count: Any) -> None:
    with pytest.raises(ConfigurationError, match="villages_per_town"):
        yiwu_hierarchy(villages_per_town=count)


# --------------------------------------------------------------------------- levels


def test_china_levels() -> None:
    china = Levels.china()
    assert china.names == ("nation", "province", "prefecture", "county", "town", "village")
    assert [china.rank(n) for n in china.names] == list(range(6))
    assert china.rank("subdistrict") == china.rank("township") == china.rank("town") == 4
    assert china.rank("community") == china.rank("enterprise") == china.rank("village") == 5
    assert china.canonical("subdistrict") == "town"
    assert "city" not in china
    assert "community" in china
    assert 5 not in china
    with pytest.raises(ConfigurationError, match=r"unknown level 'city'.*county"):
        china.rank("city")
    assert china.digits("town") == 9
    assert china.digits("nation") == 0
    assert list(china) == list(china.names)
    assert len(china) == 6
    assert Levels.china() is china


def test_custom_levels() -> None:
    levels = Levels(("city", "town", "village"), aliases={"community": "village"})
    assert levels.rank("community") == 2
    assert levels.code_digits is None
    assert levels.digits("town") is None
    assert pickle.loads(pickle.dumps(levels)) == levels
    assert hash(levels) == hash(
        Levels(("city", "town", "village"), aliases={"community": "village"})
    )
    assert levels != Levels(("city", "town", "village"))


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"names": "abc"}, "not the string"),
        ({"names": ()}, "at least one level"),
        ({"names": ("a", "")}, "non-empty"),
        ({"names": ("a", "a")}, "distinct"),
        ({"names": ("a", "b"), "aliases": {"b": "a"}}, "already a level name"),
        ({"names": ("a", "b"), "aliases": {"c": "d"}}, "unknown level 'd'"),
        ({"names": ("a", "b"), "aliases": {"": "a"}}, "alias"),
        ({"names": ("a", "b"), "code_digits": (2,)}, "1 entries for 2 levels"),
        ({"names": ("a", "b"), "code_digits": (2, 5)}, "segment end"),
        ({"names": ("a", "b"), "code_digits": (4, 2)}, "increase"),
    ],
)
def test_bad_levels(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        Levels(**kwargs)


@given(level_sets())
def test_level_aliases_share_their_level_rank(levels: Levels) -> None:
    for alias, target in levels.aliases.items():
        assert levels.rank(alias) == levels.rank(target)
        assert levels.canonical(alias) == target


# --------------------------------------------------------------------------- admin codes


@pytest.mark.parametrize(
    ("code", "significant"),
    [
        ("330782", "330782"),
        ("330782000000", "330782"),
        ("330000", "33"),
        ("330700", "3307"),
        ("330782100000", "330782100"),
        ("330782100270", "330782100270"),
        ("330782100200", "330782100200"),
        ("441900003000", "441900003"),
        ("110101001001", "110101001001"),
    ],
)
def test_significant_code(code: str, significant: str) -> None:
    assert validate_admin_code(code) == code
    assert significant_code(code) == significant


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("33078", "5 characters"),
        ("3307821000000", "13 characters"),
        ("33078a", "'a'"),
        ("３３０７８２", "only the digits"),
        ("003307", "starts with 00"),
        (330782, "string of digits"),
        (None, "string of digits"),
    ],
)
def test_malformed_codes(code: Any, fragment: str) -> None:
    with pytest.raises(InvalidAdminCodeError, match=fragment):
        validate_admin_code(code)
    with pytest.raises(InvalidAdminCodeError):
        significant_code(code)


def test_code_extension() -> None:
    assert admin_code_extends("330782100000", "330782")
    assert admin_code_extends("330782100201", "330782100000")
    assert admin_code_extends("330782", "330000")
    assert admin_code_extends("441900003000", "441900")
    assert not admin_code_extends("330782", "330782000000")
    assert not admin_code_extends("330783100000", "330782")
    assert not admin_code_extends("330782", "330782100000")


# --------------------------------------------------------------------------- units


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "", "name": "x", "level": "town", "parent": None},
        {"id": "x", "name": "", "level": "town", "parent": None},
        {"id": "x", "name": "x", "level": None, "parent": None},
        {"id": "x", "name": "x", "level": "town", "parent": ""},
        {"id": "x", "name": "x", "level": "town", "parent": None, "code": 330782},
        {"id": "x", "name": "x", "level": "town", "parent": None, "kind": ""},
    ],
)
def test_units_reject_bad_fields(fields: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="invalid unit"):
        AdminUnit(**fields)


# --------------------------------------------------------------------------- generator


@given(
    st.lists(st.integers(1, 4), min_size=0, max_size=4).map(
        lambda steps: [1, *[1 + sum(steps[: k + 1]) * 2 for k in range(len(steps))]]
    ),
    st.integers(0, 3),
)
def test_generated_shapes(shape: list[int], seed: int) -> None:
    hierarchy = generate_hierarchy(shape, seed=seed, top="province")
    counts = list(hierarchy.summary().values())[1 : 1 + len(shape)]
    assert counts == shape
    for unit in hierarchy:
        if hierarchy.rank(unit.id) < len(shape):  # province is rank 1
            assert hierarchy.children(unit.id)
    assert Hierarchy.from_rows(list(hierarchy)) == hierarchy  # codes valid
    assert generate_hierarchy(shape, seed=seed, top="province") == hierarchy


def test_generated_without_codes_and_with_custom_levels() -> None:
    levels = Levels(("city", "town", "village"))
    hierarchy = generate_hierarchy((1, 3, 10), levels=levels, seed=2)
    assert hierarchy.summary() == {"city": 1, "town": 3, "village": 10}
    assert all(u.code is None and u.id.startswith("u") for u in hierarchy)
    plain = generate_hierarchy((1, 3, 10), codes=False)
    assert all(u.code is None for u in plain)
    assert plain.root.level == "nation"


def test_generated_codes_under_a_county() -> None:
    hierarchy = generate_hierarchy((1, 14, 300), top="county", seed=3)
    assert hierarchy.root.code == "110101"
    assert all(len(u.code or "") == 12 for u in hierarchy if u is not hierarchy.root)
    assert Hierarchy.from_rows(list(hierarchy)) == hierarchy


@pytest.mark.parametrize(
    ("shape", "kwargs", "fragment"),
    [
        ((), {}, "must start with 1"),
        ((2, 3), {}, "must start with 1"),
        ((1, 3, 2), {}, "non-decreasing"),
        ((1, 0), {}, "positive"),
        ((1, 2, 3), {"top": "town"}, "only 2 are available"),
        ((1, 90), {}, "do not fit"),
        ((1, 100), {"top": "province"}, "do not fit"),
        ((1, 2), {"top": "city"}, "unknown level"),
        ((1, 2), {"levels": Levels(("a", "b"), code_digits=(2, 6))}, "one segment apart"),
    ],
)
def test_bad_shapes(shape: tuple[int, ...], kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        generate_hierarchy(shape, **kwargs)


def test_a_crowded_segment_is_spread_over_the_parents() -> None:
    hierarchy = generate_hierarchy((1, 2, 198), top="province", seed=1)
    assert [len(hierarchy.children(p.id)) for p in hierarchy.children(hierarchy.root.id)] == [
        99,
        99,
    ]


@pytest.mark.slow
def test_national_scale_generation() -> None:
    hierarchy = generate_hierarchy(NATIONAL_SHAPE, seed=0)
    assert list(hierarchy.summary().values()) == list(NATIONAL_SHAPE)
    again = Hierarchy.from_rows(list(hierarchy))  # codes checked this time
    assert len(again) == sum(NATIONAL_SHAPE)
    village = hierarchy.unit_at(len(hierarchy) - 1)
    assert [u.level for u in hierarchy.ancestors(village.id)] == [
        "town",
        "county",
        "prefecture",
        "province",
        "nation",
    ]
