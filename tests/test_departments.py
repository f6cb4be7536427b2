"""Departments, the responsibility matrix and routing, the coordination graph, buck-passing."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from closedloop.departments import (
    CHINA_STANDARD_TIME,
    CoordinationGraph,
    Department,
    DepartmentKind,
    Departments,
    HandlingRecord,
    HandlingRole,
    ResponsibilityEntry,
    ResponsibilityMatrix,
    Route,
    Router,
    buck_passing,
    handling_cycles,
    handling_paths,
    yiwu_departments,
    yiwu_responsibility_matrix,
)
from closedloop.errors import (
    ConfigurationError,
    NaiveDatetimeError,
    NoRouteError,
    UnknownDepartmentError,
    UnknownUnitError,
)
from closedloop.hierarchy import Hierarchy, Levels, yiwu_hierarchy
from closedloop.ids import DepartmentId, IssueId, UnitId

YIWU = UnitId("330782")
FOTANG = UnitId("330782100000")  # 佛堂镇
SHANGXI = UnitId("330782104000")  # 上溪镇
CHOUCHENG = UnitId("330782001000")  # 稠城街道, a central subdistrict
TOWNS = (
    "330782001000",
    "330782002000",
    "330782003000",
    "330782004000",
    "330782005000",
    "330782006000",
    "330782007000",
    "330782008000",
    "330782100000",
    "330782101000",
    "330782102000",
    "330782104000",
    "330782105000",
    "330782106000",
)
IN_2020 = datetime(2020, 5, 20, 10, 0, tzinfo=CHINA_STANDARD_TIME)

HIERARCHY = yiwu_hierarchy(villages_per_town=3)
DEPARTMENTS = yiwu_departments()
MATRIX = yiwu_responsibility_matrix()
ROUTER = Router(MATRIX, HIERARCHY, DEPARTMENTS)


def dept(department_id: str) -> Department:
    return DEPARTMENTS.get(department_id)


# -- the article's cases ---------------------------------------------------------------


def test_credit_problem_of_a_firm_is_led_by_economy_bureau_with_the_banks() -> None:
    # 红雨医药 in 佛堂镇: the town put it on its demand list, the city handled it.
    route = ROUTER.route("enterprise_finance", YIWU, IN_2020)
    assert route.lead.aliases[0] == "经信局"
    assert route.lead.unit == YIWU
    assert {d.function for d in route.co_handlers} == {"banking"}
    assert {d.kind for d in route.co_handlers} == {DepartmentKind.EXTERNAL}
    assert len(route.co_handlers) == 3
    assert route.entry_version == "2019-06"
    assert route.level == "county"


def test_industrial_land_certificate_is_led_by_natural_resources() -> None:
    route = ROUTER.route("land_certificate", YIWU, IN_2020)
    assert route.lead == dept("330782/natural-resources")
    assert route.department_ids == (
        "330782/natural-resources",
        "330782/economy",
        "330782/construction",
    )


def test_village_housing_stuck_at_fire_acceptance_goes_to_construction_and_fire() -> None:
    # 上溪镇溪华村: a farmers' apartment block that could not pass fire acceptance.
    housing = ROUTER.route("housing", YIWU, IN_2020)
    assert housing.lead == dept("330782/construction")
    assert dept("330782/fire") in housing.co_handlers
    acceptance = ROUTER.route("fire_acceptance", YIWU, IN_2020)
    assert (acceptance.lead.function, [d.function for d in acceptance.co_handlers]) == (
        "construction",
        ["fire"],
    )


def test_the_village_itself_has_no_entry_its_problem_goes_up() -> None:
    village = HIERARCHY.children(SHANGXI)[0].id
    with pytest.raises(NoRouteError, match="no entry for level 'village'") as info:
        ROUTER.route("housing", village, IN_2020)
    assert info.value.category == "housing"
    assert info.value.unit == village
    assert ROUTER.find_route("housing", village, IN_2020) is None


# -- routing rule ----------------------------------------------------------------------


def test_a_town_entry_reaches_the_city_banks_through_the_nearest_ancestor() -> None:
    route = ROUTER.route("enterprise_finance", FOTANG, IN_2020)
    assert route.lead == dept(f"{FOTANG}/economy")
    assert [d.id for d in route.co_handlers] == [
        "330782/abc",
        "330782/icbc",
        "330782/rural-commercial-bank",
    ]


def test_a_subdistrict_without_an_agriculture_section_uses_the_city_bureau() -> None:
    assert ROUTER.route("agriculture", CHOUCHENG, IN_2020).lead == dept("330782/agriculture")
    assert ROUTER.route("agriculture", FOTANG, IN_2020).lead == dept(f"{FOTANG}/agriculture")


def test_fire_acceptance_changed_lead_with_the_2019_07_revision() -> None:
    before = ROUTER.route("fire_acceptance", YIWU, date(2019, 6, 30))
    after = ROUTER.route("fire_acceptance", YIWU, date(2019, 7, 1))
    assert (before.lead.function, before.entry_version) == ("fire", "2019-06")
    assert (after.lead.function, after.entry_version) == ("construction", "2019-07")
    # valid_until is exclusive, read at midnight in China Standard Time:
    last_instant = datetime(2019, 6, 30, 15, 59, 59, tzinfo=UTC)
    first_instant = datetime(2019, 6, 30, 16, 0, tzinfo=UTC)
    assert ROUTER.route("fire_acceptance", YIWU, last_instant).entry_version == "2019-06"
    assert ROUTER.route("fire_acceptance", YIWU, first_instant).entry_version == "2019-07"


def test_matrix_route_matches_router() -> None:
    route = MATRIX.route("roads", FOTANG, IN_2020, hierarchy=HIERARCHY, departments=DEPARTMENTS)
    assert route == ROUTER.route("roads", FOTANG, IN_2020)
    assert (
        MATRIX.find_route(
            "roads", FOTANG, date(2000, 1, 1), hierarchy=HIERARCHY, departments=DEPARTMENTS
        )
        is None
    )


def test_every_category_routes_at_the_city_and_every_town() -> None:
    for category, unit in itertools.product(MATRIX.categories, (YIWU, *TOWNS)):
        route = ROUTER.route(category, unit, IN_2020)
        assert route.lead not in route.co_handlers
        assert len(set(route.department_ids)) == len(route.department_ids)
        for d in route.departments:
            assert d.unit in {unit, YIWU}


def test_no_route_reasons_are_specific() -> None:
    with pytest.raises(NoRouteError, match=r"no category 'housng' \(close matches: 'housing'\)"):
        ROUTER.route("housng", YIWU, IN_2020)
    with pytest.raises(NoRouteError, match="in force at 2019-01-01") as info:
        ROUTER.route("housing", YIWU, date(2019, 1, 1))
    assert "[2019-06-01, open)" in info.value.reason
    missing = ResponsibilityMatrix([ResponsibilityEntry("space", "county", "astronautics")])
    with pytest.raises(NoRouteError, match="no department with function 'astronautics'"):
        missing.route("space", YIWU, IN_2020, hierarchy=HIERARCHY, departments=DEPARTMENTS)
    missing_town = ResponsibilityMatrix([ResponsibilityEntry("space", "town", "astronautics")])
    with pytest.raises(NoRouteError, match="330782100000' or its ancestors \\(330782\\)"):
        missing_town.route("space", FOTANG, IN_2020, hierarchy=HIERARCHY, departments=DEPARTMENTS)
    banks_lead = ResponsibilityMatrix([ResponsibilityEntry("loans", "county", "banking")])
    with pytest.raises(NoRouteError, match="held by 3 departments"):
        banks_lead.route("loans", YIWU, IN_2020, hierarchy=HIERARCHY, departments=DEPARTMENTS)


def test_bad_routing_input_raises_library_errors() -> None:
    with pytest.raises(UnknownUnitError):
        ROUTER.route("housing", "999999", IN_2020)
    with pytest.raises(NaiveDatetimeError):
        ROUTER.route("housing", YIWU, datetime(2020, 5, 20, 10, 0))
    with pytest.raises(ConfigurationError):
        ROUTER.route("housing", YIWU, "2020-05-20")  # type: ignore[arg-type]


def _small_tree() -> Hierarchy:
    rows = [
        {"id": "C", "name": "City", "level": "city", "parent": ""},
        {"id": "T1", "name": "Town 1", "level": "town", "parent": "C"},
        {"id": "T2", "name": "Town 2", "level": "subdistrict", "parent": "C"},
        {"id": "V1", "name": "Village 1", "level": "village", "parent": "T1"},
    ]
    levels = Levels(("city", "town", "village"), aliases={"subdistrict": "town"})
    return Hierarchy.from_rows(rows, levels=levels, check_codes=False)


def test_route_uses_the_canonical_level_and_the_nearest_holder() -> None:
    tree = _small_tree()
    departments = Departments(
        [
            Department(DepartmentId("c-build"), "City build", UnitId("C"), "bureau", "build"),
            Department(DepartmentId("c-money"), "City money", UnitId("C"), "bureau", "money"),
            Department(DepartmentId("t1-build"), "T1 build", UnitId("T1"), "section", "build"),
        ]
    )
    matrix = ResponsibilityMatrix(
        [
            ResponsibilityEntry("repair", "town", "build", ["money"]),
            ResponsibilityEntry("repair", "village", "build", "money"),
        ]
    )
    router = Router(matrix, tree, departments)
    assert router.route("repair", "T1", IN_2020).department_ids == ("t1-build", "c-money")
    # T2 is a subdistrict, an alias of town; it has no section, so the city's leads.
    assert router.route("repair", "T2", IN_2020).department_ids == ("c-build", "c-money")
    assert router.route("repair", "V1", IN_2020).lead.id == "t1-build"
    with pytest.raises(NoRouteError, match="no entry for level 'city'"):
        router.route("repair", "C", IN_2020)


# -- determinism -----------------------------------------------------------------------

ROUTABLE_UNITS = (YIWU, *TOWNS, *(u.id for u in HIERARCHY.children(FOTANG)))


@given(
    category=st.sampled_from((*MATRIX.categories, "unknown")),
    unit=st.sampled_from(ROUTABLE_UNITS),
    at=st.datetimes(
        min_value=datetime(2019, 1, 1),
        max_value=datetime(2022, 1, 1),
        timezones=st.just(UTC),
    ),
    seed=st.integers(0, 2**16),
)
def test_route_answers_do_not_depend_on_input_order(
    category: str, unit: UnitId, at: datetime, seed: int
) -> None:
    rnd = random.Random(seed)
    entries = list(MATRIX.entries)
    rnd.shuffle(entries)
    departments = list(DEPARTMENTS)
    rnd.shuffle(departments)
    shuffled = Router(ResponsibilityMatrix(entries), HIERARCHY, Departments(departments))
    first = ROUTER.find_route(category, unit, at)
    assert first == ROUTER.find_route(category, unit, at)
    assert first == shuffled.find_route(category, unit, at)
    if first is None:
        with pytest.raises(NoRouteError):
            ROUTER.route(category, unit, at)
    else:
        assert isinstance(first, Route)
        assert first.entry.in_force(at)


# -- effective dating ------------------------------------------------------------------

DAY0 = date(2020, 1, 1)


def _day(n: int | None) -> date | None:
    return None if n is None else DAY0 + timedelta(days=n)


def _overlap(a: tuple[int | None, int | None], b: tuple[int | None, int | None]) -> bool:
    inf = float("inf")
    a0, a1 = (-inf if a[0] is None else a[0]), (inf if a[1] is None else a[1])
    b0, b1 = (-inf if b[0] is None else b[0]), (inf if b[1] is None else b[1])
    return a0 < b1 and b0 < a1


bounds = st.one_of(st.none(), st.integers(0, 12))


@given(st.lists(st.tuples(bounds, bounds), min_size=1, max_size=5))
def test_at_most_one_entry_in_force_per_key_at_any_instant(
    spans: list[tuple[int | None, int | None]],
) -> None:
    def make() -> ResponsibilityMatrix:
        return ResponsibilityMatrix(
            ResponsibilityEntry(
                "c", "town", "lead", version=f"v{i}", valid_from=_day(s), valid_until=_day(e)
            )
            for i, (s, e) in enumerate(spans)
        )

    empty = any(s is not None and e is not None and s >= e for s, e in spans)
    overlapping = any(_overlap(a, b) for a, b in itertools.combinations(spans, 2))
    if empty or overlapping:
        with pytest.raises(ConfigurationError):
            make()
        return
    matrix = make()
    for n in range(-2, 16):
        day = DAY0 + timedelta(days=n)
        for at in (
            day,
            datetime.combine(day, datetime.min.time(), CHINA_STANDARD_TIME)
            - timedelta(microseconds=1),
        ):
            in_force = [e for e in matrix.entries if e.in_force(at)]
            assert len(in_force) <= 1
            assert matrix.entry_at("c", "town", at) == (in_force[0] if in_force else None)


def test_overlaps_and_empty_intervals_are_listed_together() -> None:
    with pytest.raises(ConfigurationError) as info:
        ResponsibilityMatrix(
            [
                ResponsibilityEntry("c", "town", "a", version="1", valid_from=date(2020, 1, 1)),
                ResponsibilityEntry("c", "town", "b", version="2", valid_from=date(2021, 1, 1)),
                ResponsibilityEntry(
                    "d",
                    "town",
                    "a",
                    valid_from=datetime(2020, 1, 2, tzinfo=CHINA_STANDARD_TIME),
                    valid_until=date(2020, 1, 2),
                ),
            ]
        )
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "entries 1 and 2 for ('c', 'town') overlap" in message
    assert "entry 3 ('d', 'town') version '1': empty interval" in message


def test_date_bounds_are_read_in_the_matrix_zone() -> None:
    entry = ResponsibilityEntry("c", "town", "a", valid_from=date(2020, 1, 1))
    start = datetime(2020, 1, 1, tzinfo=CHINA_STANDARD_TIME)
    assert entry.in_force(start)
    assert not entry.in_force(start - timedelta(microseconds=1))
    utc = ResponsibilityMatrix([entry], zone=UTC)
    assert utc.entry_at("c", "town", start) is None
    assert utc.entry_at("c", "town", datetime(2020, 1, 1, tzinfo=UTC)) == entry
    # a date bound and the equal instant meet without overlapping
    ResponsibilityMatrix(
        [
            ResponsibilityEntry("c", "town", "a", valid_until=date(2020, 1, 1)),
            ResponsibilityEntry("c", "town", "b", valid_from=start),
        ]
    )


def test_entries_are_validated() -> None:
    with pytest.raises(ConfigurationError, match="lower-case identifier"):
        ResponsibilityEntry("c", "town", "Natural Resources")
    with pytest.raises(ConfigurationError, match="also a co-handler"):
        ResponsibilityEntry("c", "town", "a", "b;a")
    with pytest.raises(ConfigurationError, match="named twice"):
        ResponsibilityEntry("c", "town", "a", ["b", "b"])
    with pytest.raises(NaiveDatetimeError):
        ResponsibilityEntry("c", "town", "a", valid_from=datetime(2020, 1, 1))
    with pytest.raises(ConfigurationError, match="not before"):
        ResponsibilityEntry("c", "town", "a", valid_from=DAY0, valid_until=DAY0)


# -- rows ------------------------------------------------------------------------------


def test_matrix_rows_round_trip() -> None:
    assert ResponsibilityMatrix.from_rows(MATRIX.to_rows(), name="yiwu") == MATRIX
    with_instants = ResponsibilityMatrix(
        [
            ResponsibilityEntry(
                "c",
                "county",
                "a",
                ("b", "c"),
                version="2024-2",
                valid_from=datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))),
                valid_until=date(2025, 1, 1),
                description="测试",
            )
        ]
    )
    rows = with_instants.to_rows()
    assert rows[0]["valid_from"] == "2024-03-01T09:30:00+08:00"
    assert ResponsibilityMatrix.from_rows(rows) == with_instants


def test_matrix_rows_report_every_bad_row() -> None:
    rows = [
        {"category": "a", "level": "town", "lead": "x"},
        {"category": "b", "level": "town"},
        {"category": "c", "level": "town", "lead": "x", "valid_from": "next week"},
        {"category": "d", "level": "town", "lead": "x", "valid_from": "2020-01-01T08:00"},
        {"category": "e", "level": "town", "lead": "x", "colour": "red"},
        {"category": "a", "level": "town", "lead": "y"},
    ]
    with pytest.raises(ConfigurationError) as info:
        ResponsibilityMatrix.from_rows(rows)
    message = str(info.value)
    assert "row 2: missing lead" in message
    assert "row 3: valid_from 'next week' is neither" in message
    assert "row 4:" in message
    assert "has no time zone" in message
    assert "row 5: unknown column(s) colour" in message
    overlap_only = [rows[0], rows[5]]
    with pytest.raises(ConfigurationError, match="rows 1 and 2 for \\('a', 'town'\\) overlap"):
        ResponsibilityMatrix.from_rows(overlap_only)


def test_department_rows_round_trip_and_errors() -> None:
    assert Departments.from_rows(DEPARTMENTS.to_rows()) == DEPARTMENTS
    rows = [
        {"id": "x", "name": "X", "unit": "C", "kind": "bureau", "function": "build"},
        {"id": "x", "name": "X2", "unit": "C", "kind": "bureau", "function": "build"},
        {"id": "y", "name": "Y", "unit": "C", "kind": "agency", "function": "build"},
        {"id": "z", "name": "Z", "unit": "C", "kind": "bureau"},
    ]
    with pytest.raises(ConfigurationError) as info:
        Departments.from_rows(rows)
    message = str(info.value)
    assert "row 3: unknown department kind 'agency'" in message
    assert "row 4: missing function" in message
    with pytest.raises(
        ConfigurationError, match="row 2: duplicate id 'x' \\(first used by row 1\\)"
    ):
        Departments.from_rows(rows[:2])


# -- the registry ----------------------------------------------------------------------


def test_registry_reports_all_duplicates_at_once() -> None:
    a = Department(DepartmentId("a"), "Build", UnitId("C"), "bureau", "build", aliases="B")
    with pytest.raises(ConfigurationError) as info:
        Departments(
            [
                a,
                attrs.evolve(a, name="Other"),
                Department(DepartmentId("b"), "Money", UnitId("C"), "bureau", "money", aliases="B"),
                Department(DepartmentId("c"), "Build", UnitId("T"), "section", "build"),
            ]
        )
    message = str(info.value)
    assert "2 problem(s)" in message
    assert "entry 2: duplicate id 'a'" in message
    assert "entry 3: name 'B' of 'b' is already used in unit 'C' by entry 1" in message


def test_unknown_department_names_close_matches_and_is_not_a_key_error() -> None:
    with pytest.raises(UnknownDepartmentError, match="close matches: '330782/economy'") as info:
        DEPARTMENTS.get("330782/econmy")
    assert not isinstance(info.value, KeyError)
    assert isinstance(info.value, LookupError)
    with pytest.raises(UnknownDepartmentError):
        DEPARTMENTS["nope"]


def test_registry_lookups() -> None:
    assert "330782/fire" in DEPARTMENTS
    assert [d.id for d in DEPARTMENTS.with_function(YIWU, "banking")] == [
        "330782/abc",
        "330782/icbc",
        "330782/rural-commercial-bank",
    ]
    assert DEPARTMENTS.with_function(FOTANG, "banking") == ()
    assert DEPARTMENTS.nearest(FOTANG, "banking", hierarchy=HIERARCHY) == (
        DEPARTMENTS.with_function(YIWU, "banking")
    )
    assert DEPARTMENTS.nearest(FOTANG, "astronautics", hierarchy=HIERARCHY) == ()
    assert list(DEPARTMENTS.at_unit(FOTANG)) == sorted(
        DEPARTMENTS.at_unit(FOTANG), key=lambda d: d.id
    )


def test_yiwu_departments_fit_the_hierarchy() -> None:
    DEPARTMENTS.check_units(HIERARCHY)
    assert DEPARTMENTS.units == {YIWU, *TOWNS}
    assert MATRIX.functions <= DEPARTMENTS.functions
    for town in TOWNS:
        sections = DEPARTMENTS.at_unit(town)
        assert {d.kind for d in sections} == {DepartmentKind.SECTION}
        assert len(sections) == (7 if town <= "330782004000" else 8)
    kinds = Counter(d.kind for d in DEPARTMENTS.at_unit(YIWU))
    assert kinds[DepartmentKind.OFFICE] == 1
    assert kinds[DepartmentKind.EXTERNAL] == 4


def test_check_units_lists_unknown_units() -> None:
    stray = Departments(
        [
            Department(DepartmentId("a"), "A", UnitId("999"), "bureau", "x"),
            Department(DepartmentId("b"), "B", UnitId("998"), "bureau", "x"),
        ]
    )
    with pytest.raises(ConfigurationError, match="2 problem") as info:
        stray.check_units(HIERARCHY)
    assert "'b' belongs to unknown unit '998'" in str(info.value)


# -- handling records: a model of issues moving between departments --------------------

NAMES = tuple(DepartmentId(f"d{i}") for i in range(5))
T0 = datetime(2020, 6, 1, 9, 0, tzinfo=CHINA_STANDARD_TIME)

Move = tuple[str, DepartmentId]


@attrs.frozen
class _Expected:
    path: list[DepartmentId]
    handovers: list[tuple[DepartmentId, DepartmentId, str]]
    teams: list[set[DepartmentId]]


moves = st.tuples(
    st.sampled_from(("co", "transfer", "return_to", "return_reassign")), st.sampled_from(NAMES)
)
issue_plans = st.tuples(st.sampled_from(NAMES), st.lists(moves, max_size=8), st.booleans())


def _simulate(
    issue: IssueId, first: DepartmentId, plan: Sequence[Move], dangling: bool, start: int
) -> tuple[list[HandlingRecord], _Expected]:
    """Records for one issue and what the analysis must find, from a plan of moves."""
    clock = itertools.count(start)

    def at() -> datetime:
        return T0 + timedelta(minutes=next(clock))

    records = [HandlingRecord(issue, first, HandlingRole.LEAD, at())]
    expected = _Expected([first], [], [{first}])
    holder = first
    for kind, target in plan:
        if kind == "co":
            records.append(HandlingRecord(issue, target, HandlingRole.CO_HANDLER, at()))
            expected.teams[-1].add(target)
            continue
        if kind in ("transfer", "return_to") and target == holder:
            continue  # nobody passes an issue to itself
        if kind == "transfer":
            records.append(HandlingRecord(issue, holder, HandlingRole.TRANSFERRED, at(), target))
            expected.handovers.append((holder, target, "transfer"))
        elif kind == "return_to":
            records.append(HandlingRecord(issue, holder, HandlingRole.RETURNED, at(), target))
            expected.handovers.append((holder, target, "return"))
        else:
            records.append(HandlingRecord(issue, holder, HandlingRole.RETURNED, at()))
            records.append(HandlingRecord(issue, target, HandlingRole.LEAD, at()))
            expected.handovers.append((holder, target, "return"))
        expected.path.append(target)
        expected.teams.append({target})
        holder = target
    if dangling:  # returned to the assigner and never reassigned
        records.append(HandlingRecord(issue, holder, HandlingRole.RETURNED, at()))
    return records, expected


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[HandlingRecord], dict[IssueId, _Expected]]:
    plans = draw(st.lists(issue_plans, max_size=6))
    records: list[HandlingRecord] = []
    expected: dict[IssueId, _Expected] = {}
    for n, (first, plan, dangling) in enumerate(plans):
        issue = IssueId(f"i{n:02d}")
        recs, exp = _simulate(issue, first, plan, dangling, start=n * 3)
        records.extend(recs)
        expected[issue] = exp
    return records, expected


@given(histories())
def test_paths_follow_the_handovers(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]],
) -> None:
    records, expected = history
    assert handling_paths(records) == {i: tuple(e.path) for i, e in expected.items()}


@given(histories())
def test_buck_passing_counts_equal_the_handovers_between_each_pair(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]],
) -> None:
    records, expected = history
    counts: Counter[tuple[DepartmentId, DepartmentId, str]] = Counter()
    issues: dict[frozenset[DepartmentId], set[IssueId]] = {}
    for issue, exp in expected.items():
        for giver, receiver, kind in exp.handovers:
            if giver != receiver:
                counts[(giver, receiver, kind)] += 1
                issues.setdefault(frozenset((giver, receiver)), set()).add(issue)
    pairs = buck_passing(records)
    assert sum(p.total for p in pairs) == sum(counts.values())
    for p in pairs:
        assert p.a < p.b
        assert p.returns_a_to_b == counts[(p.a, p.b, "return")]
        assert p.transfers_a_to_b == counts[(p.a, p.b, "transfer")]
        assert p.returns_b_to_a == counts[(p.b, p.a, "return")]
        assert p.transfers_b_to_a == counts[(p.b, p.a, "transfer")]
        assert set(p.issues) == issues[frozenset((p.a, p.b))]
    ranks = [(-p.total, -p.back_and_forth, p.a, p.b) for p in pairs]
    assert ranks == sorted(ranks)


@given(histories())
def test_each_pair_counts_the_cycles_that_passed_an_issue_between_them(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]],
) -> None:
    records, expected = history
    cycles: Counter[frozenset[DepartmentId]] = Counter()
    for exp in expected.values():
        for end, department in enumerate(exp.path):
            earlier = [i for i in range(end) if exp.path[i] == department]
            if earlier:
                stretch = exp.path[earlier[-1] : end + 1]
                cycles.update({frozenset(step) for step in itertools.pairwise(stretch)})
    for p in buck_passing(records):
        assert p.cycles == cycles[frozenset((p.a, p.b))]


@given(histories())
def test_cycles_are_found_exactly_when_a_department_repeats(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]],
) -> None:
    records, expected = history
    cycles = handling_cycles(records)
    per_issue = Counter(c.issue_id for c in cycles)
    for issue, exp in expected.items():
        repeats = len(exp.path) - len(set(exp.path))
        assert per_issue[issue] == repeats
    for c in cycles:
        path = expected[c.issue_id].path
        assert c.departments[0] == c.departments[-1]
        assert tuple(path[c.start : c.start + len(c.departments)]) == c.departments
        assert c.department not in c.departments[1:-1]
    assert cycles == sorted(cycles, key=lambda c: (c.issue_id, c.start + c.length))


@given(histories(), st.lists(st.tuples(st.sampled_from(NAMES), st.sampled_from(NAMES))))
def test_graph_weights_equal_declared_plus_co_handling_counts(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]],
    declared: list[tuple[DepartmentId, DepartmentId]],
) -> None:
    records, expected = history
    declared = [(a, b) for a, b in declared if a != b]
    graph = CoordinationGraph.from_records(records, declared=declared)
    for a, b in itertools.combinations(NAMES, 2):
        learnt = sum(1 for e in expected.values() if any({a, b} <= team for team in e.teams))
        declared_count = sum(1 for pair in declared if set(pair) == {a, b})
        edge = graph.edge(a, b)
        assert (edge.declared, edge.learnt) == (declared_count, learnt)
        assert graph.weight(b, a) == declared_count + learnt
    nx_graph = graph.to_networkx()
    for edge in graph.edges():
        data = nx_graph.edges[edge.a, edge.b]
        assert (data["declared"], data["learnt"], data["weight"]) == (
            edge.declared,
            edge.learnt,
            edge.weight,
        )
        assert data["distance"] == pytest.approx(1 / edge.weight)


@given(histories(), st.integers(0, 2**16), st.integers(0, 60))
def test_graph_is_the_same_built_at_once_shuffled_or_in_batches(
    history: tuple[list[HandlingRecord], dict[IssueId, _Expected]], seed: int, cut: int
) -> None:
    records, _ = history
    whole = CoordinationGraph.from_records(records)
    shuffled = list(records)
    random.Random(seed).shuffle(shuffled)
    in_batches = CoordinationGraph()
    cut_at = T0 + timedelta(minutes=cut)
    in_batches.add_records([r for r in shuffled if r.at < cut_at])
    in_batches.add_records([r for r in shuffled if r.at >= cut_at])
    for other in (CoordinationGraph.from_records(shuffled), in_batches):
        assert other.edges() == whole.edges()
        assert other.departments == whole.departments
        assert other.buck_passing() == whole.buck_passing() == buck_passing(records)
        assert other.handling_cycles() == whole.handling_cycles() == handling_cycles(records)
        assert other.clusters() == whole.clusters()
        assert other.central_departments(3) == whole.central_departments(3)


# -- records and graph: bad input ------------------------------------------------------


def test_handling_records_are_validated() -> None:
    issue, a, b = IssueId("i"), DepartmentId("a"), DepartmentId("b")
    with pytest.raises(ConfigurationError, match="needs to_department"):
        HandlingRecord(issue, a, HandlingRole.TRANSFERRED, T0)
    with pytest.raises(ConfigurationError, match="to itself"):
        HandlingRecord(issue, a, HandlingRole.RETURNED, T0, a)
    with pytest.raises(ConfigurationError, match="only goes with a return or a transfer"):
        HandlingRecord(issue, a, HandlingRole.LEAD, T0, b)
    with pytest.raises(ConfigurationError, match="unknown handling role"):
        HandlingRecord(issue, a, "escalated", T0)
    with pytest.raises(NaiveDatetimeError):
        HandlingRecord(issue, a, "lead", datetime(2020, 1, 1))
    assert HandlingRecord(issue, a, "co_handler", T0).role is HandlingRole.CO_HANDLER


def test_graph_refuses_unknown_departments_and_going_back_in_time() -> None:
    graph = CoordinationGraph(departments=DEPARTMENTS)
    assert len(graph.departments) == len(DEPARTMENTS)
    with pytest.raises(UnknownDepartmentError, match="close matches: '330782/fire'"):
        graph.add_records([HandlingRecord(IssueId("i"), DepartmentId("330782/fir"), "lead", T0)])
    with pytest.raises(UnknownDepartmentError, match="declared pair 1"):
        graph.declare([("330782/fire", "nope")])
    with pytest.raises(ConfigurationError, match="links '330782/fire' to itself"):
        graph.declare([("330782/fire", "330782/fire")])
    assert graph.issue_count == 0
    graph.add_records([HandlingRecord(IssueId("i"), DepartmentId("330782/fire"), "lead", T0)])
    with pytest.raises(ConfigurationError, match="go back in time"):
        graph.add_records(
            [
                HandlingRecord(
                    IssueId("i"), DepartmentId("330782/economy"), "co_handler", T0 - timedelta(1)
                )
            ]
        )
    with pytest.raises(ConfigurationError, match="not a HandlingRecord"):
        graph.add_records([("i", "a", "lead", T0)])  # type: ignore[list-item]
    with pytest.raises(ConfigurationError):
        graph.central_departments(-1)


def test_graph_nodes_carry_department_attributes_and_export_is_a_copy() -> None:
    graph = CoordinationGraph(departments=DEPARTMENTS, declared=[("330782/economy", "330782/abc")])
    exported = graph.to_networkx()
    assert exported.nodes["330782/abc"]["kind"] == "external"
    exported.add_edge("330782/abc", "330782/fire", weight=100)
    exported.remove_node("330782/economy")
    assert graph.weight("330782/abc", "330782/fire") == 0
    assert graph.neighbours("330782/abc") == ("330782/economy",)


# -- analyses --------------------------------------------------------------------------


def _co_handled(lead: str, *others: str, issue: str) -> list[HandlingRecord]:
    at = T0
    records = [HandlingRecord(IssueId(issue), DepartmentId(lead), HandlingRole.LEAD, at)]
    records.extend(
        HandlingRecord(IssueId(issue), DepartmentId(other), HandlingRole.CO_HANDLER, at)
        for other in others
    )
    return records


def _two_groups() -> list[HandlingRecord]:
    records: list[HandlingRecord] = []
    for n in range(4):
        records += _co_handled("a1", "a2", "a3", issue=f"a{n}")
        records += _co_handled("b1", "b2", "b3", issue=f"b{n}")
    records += _co_handled("a1", "hub", issue="x1")
    records += _co_handled("b1", "hub", issue="x2")
    return records


def test_a_broker_between_two_groups_is_the_most_central() -> None:
    graph = CoordinationGraph.from_records(_two_groups())
    top = graph.central_departments(3)
    # every path between the groups crosses the hub, and a1 or b1 on either side
    assert [c.department for c in top] == ["hub", "a1", "b1"]
    assert top[0].betweenness > top[1].betweenness == top[2].betweenness > 0
    assert (top[0].strength, top[0].degree) == (2, 2)
    assert top[1].strength == 4 + 4 + 1
    assert graph.central_departments(0) == []
    everyone = graph.centrality()
    assert [c.department for c in everyone[3:]] == ["a2", "a3", "b2", "b3"]


def test_clusters_find_the_groups_deterministically() -> None:
    records = _two_groups()
    graph = CoordinationGraph.from_records(records)
    clusters = graph.clusters()
    assert ("a1", "a2", "a3") in {c[:3] for c in clusters}
    assert sorted(len(c) for c in clusters) in ([3, 4], [3, 3])
    assert set(itertools.chain(*clusters)) <= set(graph.departments)
    assert CoordinationGraph.from_records(reversed(records)).clusters() == clusters
    assert graph.clusters(min_size=1, seed=1) == graph.clusters(min_size=1, seed=1)
    assert CoordinationGraph().clusters() == []
    with pytest.raises(ConfigurationError):
        graph.clusters(min_size=0)


def test_ping_pong_between_two_departments_ranks_first() -> None:
    i, j = IssueId("land-1"), IssueId("land-2")
    nr, ec, co = (
        DepartmentId("330782/natural-resources"),
        DepartmentId("330782/economy"),
        DepartmentId("330782/construction"),
    )
    t = [T0 + timedelta(hours=h) for h in range(8)]
    records = [
        HandlingRecord(i, nr, "lead", t[0]),
        HandlingRecord(i, nr, "transferred", t[1], ec),
        HandlingRecord(i, ec, "returned", t[2], nr),
        HandlingRecord(i, nr, "returned", t[3]),
        HandlingRecord(i, ec, "lead", t[4]),
        HandlingRecord(j, co, "lead", t[0]),
        HandlingRecord(j, co, "transferred", t[1], nr),
        HandlingRecord(j, nr, "transferred", t[2], ec),
    ]
    pairs = buck_passing(records)
    first = pairs[0]
    assert (first.a, first.b) == (ec, nr)
    assert (first.a_to_b, first.b_to_a, first.total) == (1, 3, 4)
    assert (first.returns_a_to_b, first.transfers_a_to_b) == (1, 0)
    assert (first.returns_b_to_a, first.transfers_b_to_a) == (1, 2)
    assert first.issues == (i, j)
    assert handling_paths(records)[i] == (nr, ec, nr, ec)
    cycles = handling_cycles(records)
    assert [c.departments for c in cycles] == [(nr, ec, nr), (ec, nr, ec)]
    assert cycles[0].length == 2
    graph = CoordinationGraph.from_records(records, departments=DEPARTMENTS)
    assert graph.buck_passing() == pairs
