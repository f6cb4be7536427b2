"""Metrics: batch equals incremental, definitions checked against naive counts, examples."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import closedloop as cl
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    EvaluateResolution,
    IssueEvent,
    IssueRegistered,
    IssueResolved,
    RegisterIssue,
    ReopenIssue,
    ResolutionEvaluated,
    ResolveIssue,
    Status,
    TransferIssue,
    decide,
    evolve,
)
from closedloop.metrics import (
    DIMENSIONS,
    Distribution,
    IssueMetrics,
    Metrics,
    MetricsProjection,
    Period,
    VisitRecorded,
    compute_metrics,
    rank,
)
from closedloop.store import EventStore, MemoryEventStore, SQLiteEventStore
from closedloop.supervision import (
    AccountabilityOutcome,
    CloseReason,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderOverdue,
)
from tests import world
from tests.logs import Log, issue_logs, random_log

CAL = world.CALENDAR
GROUPINGS = [(), ("unit",), ("department",), ("level",), ("category",), ("department", "unit")]
PERIODS = [None, "day", "week", "month", "quarter", "year"]
RATES = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "reopen_rate",
)


def both(
    events: Sequence[object], split: int | None = None, **options: Any
) -> tuple[Metrics, Metrics, Metrics]:
    """Batch over the whole log; incremental, applied one event at a time with positions;
    and the log cut in two at ``split`` (default: the middle), each half applied at once."""
    options = {"calendar": CAL, "hierarchy": world.HIERARCHY, **options}
    batch = compute_metrics(events, **options)
    one_by_one = MetricsProjection()
    for position, event in enumerate(events, 1):
        one_by_one.apply(event, position)
    cut = len(events) // 2 if split is None else split
    halves = MetricsProjection()
    halves.apply_all(events[:cut])
    halves.apply_all(events[cut:])
    return batch, one_by_one.metrics(**options), halves.metrics(**options)


def period_labels(period: Period, first: date, last: date) -> list[str]:
    """The labels of the periods from the one containing ``first`` to the one of ``last``."""
    out = []
    day = period.start(first)
    while day <= last:
        out.append(period.label(day))
        day = period.next_start(day)
    return out


def at(d: int, h: int = 10, m: int = 0) -> datetime:
    return datetime(2025, 3, d, h, m, tzinfo=world.SHANGHAI)


# -- properties over random lifecycle logs --------------------------------------------------


@given(
    log=issue_logs(),
    by=st.sampled_from(GROUPINGS),
    period=st.sampled_from(PERIODS),
    split=st.integers(0, 400),
)
def test_batch_equals_incremental(
    log: Log, by: tuple[str, ...], period: str | None, split: int
) -> None:
    split %= len(log.events) + 1
    batch, incremental, halves = both(log.events, split, by=by, period=period)
    assert batch == incremental
    assert batch == halves


@given(log=issue_logs(), cuts=st.lists(st.integers(0, 400), max_size=4), data=st.data())
def test_incremental_in_chunks_queried_between(
    log: Log, cuts: list[int], data: st.DataObject
) -> None:
    """Asking for metrics between chunks changes nothing; each prefix equals its batch."""
    projection = MetricsProjection()
    events = list(log.events)
    start = 0
    for cut in [*sorted(c for c in cuts if c < len(events)), len(events)]:
        projection.apply_all(events[start:cut])
        start = max(start, cut)
        by = data.draw(st.sampled_from(GROUPINGS))
        period = data.draw(st.sampled_from(PERIODS))
        options: dict[str, Any] = {
            "calendar": CAL,
            "hierarchy": world.HIERARCHY,
            "by": by,
            "period": period,
        }
        assert projection.metrics(**options) == compute_metrics(events[:start], **options)


@given(log=issue_logs(), by=st.sampled_from(GROUPINGS), period=st.sampled_from(PERIODS))
def test_rates_and_identities(log: Log, by: tuple[str, ...], period: str | None) -> None:
    metrics = compute_metrics(
        log.events, calendar=CAL, hierarchy=world.HIERARCHY, by=by, period=period
    )
    for row in (*metrics.issues.rows, metrics.total):
        for rate in RATES:
            value = getattr(row, rate)
            assert value is None or 0.0 <= value <= 1.0, (rate, row)
        assert row.on_time + row.late == row.resolutions
        assert row.responded_in_time <= row.response_due <= row.registered
        assert row.resolved <= row.due <= row.registered
        assert row.archived <= row.resolved
        assert row.open + row.resolved + row.withdrawn == row.registered
        assert row.overdue <= row.open
        assert row.suspended <= row.open
        assert row.satisfied_cycles <= row.evaluated_cycles <= row.evaluations
        assert row.satisfied_evaluations <= row.evaluations
        assert row.reopened_issues <= row.ever_resolved <= row.registered
        assert row.handling_days.count <= row.resolved == row.resolution_days.count
        assert row.open_age_days.count == row.open
        for dist in (row.handling_days, row.resolution_days, row.open_age_days):
            if dist.count:
                assert dist.p50 is not None
                assert dist.p90 is not None
                assert dist.p95 is not None
                assert dist.max is not None
                assert dist.mean is not None
                assert 0 <= dist.p50 <= dist.p90 <= dist.p95 <= dist.max
                assert dist.mean <= dist.max


@given(log=issue_logs(), by=st.sampled_from(GROUPINGS[1:]), period=st.sampled_from(PERIODS))
def test_counts_add_up_by_group(log: Log, by: tuple[str, ...], period: str | None) -> None:
    metrics = compute_metrics(
        log.events, calendar=CAL, hierarchy=world.HIERARCHY, by=by, period=period
    )
    columns = metrics.issues.to_columns()
    for name in (
        "registered",
        "resolutions",
        "on_time",
        "open",
        "resolved",
        "due",
        "evaluated_cycles",
        "transfers",
        "returns",
        "escalations",
    ):
        assert sum(columns[name]) == getattr(metrics.total, name), name
    totals = [
        ("handling_days", metrics.total.handling_days),
        ("open_age_days", metrics.total.open_age_days),
    ]
    for name, dist in totals:
        assert sum(getattr(r, name).count for r in metrics.issues.rows) == dist.count
    keys = [(r.key, r.period) for r in metrics.issues.rows]
    assert keys == sorted(set(keys), key=lambda k: (k[0], k[1] or ""))
    if period is not None and metrics.at is not None:
        last = Period(period).label(CAL.day_of(metrics.at))
        assert sum(p.open for p in metrics.backlog.rows if p.period == last) == metrics.total.open
        assert all(p.open == p.age_days.count >= 0 for p in metrics.backlog.rows)
        # a group with a backlog has a point at every period end from its first
        # registration on; a group that never had one has none
        first: dict[tuple[str, ...], str] = {}
        for row in metrics.issues.rows:
            assert row.period is not None
            first[row.key] = min(first.get(row.key, row.period), row.period)
        series: dict[tuple[str, ...], list[str]] = {}
        for point in metrics.backlog.rows:
            series.setdefault(point.key, []).append(point.period)
        assert set(series) <= set(first)
        assert all(any(p.open for p in metrics.backlog.rows if p.key == key) for key in series)
        registered = [e.occurred_at for e in log.events if isinstance(e, IssueRegistered)]
        labels = period_labels(Period(period), CAL.day_of(min(registered)), CAL.day_of(metrics.at))
        for key, periods in series.items():
            assert periods == labels[labels.index(first[key]) :]


@given(log=issue_logs())
def test_definitions_against_naive_counts(log: Log) -> None:
    """The totals agree with counts taken straight from the events and final states."""
    metrics = compute_metrics(log.events, calendar=CAL)
    total = metrics.total
    kinds = Counter(type(e).__name__ for e in log.events)
    states = list(log.states.values())
    assert total.registered == kinds["IssueRegistered"] == len(states)
    assert total.resolutions == kinds["IssueResolved"]
    assert total.on_time == sum(1 for e in log.events if isinstance(e, IssueResolved) and e.on_time)
    assert total.transfers == kinds["IssueTransferred"]
    assert total.returns == kinds["AssignmentReturned"]
    assert total.escalations == kinds["IssueEscalated"]
    assert total.reopens == kinds["IssueReopened"]
    assert total.evaluations == kinds["ResolutionEvaluated"]
    assert total.deadline_misses == kinds["DeadlineMissed"]
    assert total.open == sum(1 for s in states if s.status.is_open)
    assert total.suspended == sum(1 for s in states if s.status is Status.SUSPENDED)
    assert total.archived == sum(1 for s in states if s.status is Status.ARCHIVED)
    assert total.withdrawn == sum(1 for s in states if s.status is Status.WITHDRAWN)
    assert total.resolved == sum(
        1 for s in states if s.status in (Status.RESOLVED, Status.ARCHIVED)
    )
    assert total.overdue == sum(1 for s in states if s.is_overdue(metrics.at or world.START))
    assert total.ever_resolved == len(
        {e.issue_id for e in log.events if isinstance(e, IssueResolved)}
    )
    # satisfaction: the last evaluation of each handling cycle
    finals: dict[tuple[str, int], bool] = {}
    cycle: dict[str, int] = {}
    for e in log.events:
        if isinstance(e, IssueRegistered):
            cycle[e.issue_id] = 1
        elif type(e).__name__ == "IssueReopened":
            cycle[e.issue_id] += 1
        elif isinstance(e, ResolutionEvaluated):
            finals[(e.issue_id, cycle[e.issue_id])] = e.satisfied
    assert total.evaluated_cycles == len(finals)
    assert total.satisfied_cycles == sum(finals.values())
    # handling time: first assignment to latest resolution, in working days
    expected = []
    for state in states:
        if state.status in (Status.RESOLVED, Status.ARCHIVED):
            history = log.history(state.issue_id)
            first = next(e for e in history if type(e).__name__ == "IssueAssigned")
            assert state.resolved_at is not None
            expected.append(CAL.workdays_between(first.occurred_at, state.resolved_at))
    assert total.handling_days == Distribution.of(expected)


def test_same_seed_same_metrics() -> None:
    one = random_log(random.Random(7), issues=30, steps=300)
    two = random_log(random.Random(7), issues=30, steps=300)
    assert one.events == two.events
    options: dict[str, Any] = {"calendar": CAL, "by": ("department",), "period": "week"}
    assert compute_metrics(one.events, **options) == compute_metrics(two.events, **options)


# -- a hand-made log ------------------------------------------------------------------------


class Script:
    """Drive one or more issues through decide/evolve at chosen times."""

    def __init__(self) -> None:
        self.new_id = world.id_maker()
        self.states: dict[str, cl.IssueState] = {}
        self.events: list[IssueEvent] = []

    def do(self, command: Command, actor: cl.Actor, when: datetime) -> None:
        before = self.states.get(command.issue_id)
        new = decide(command, before, world.context(actor, when, self.new_id))
        state = before
        for event in new:
            state = evolve(state, event)
        assert state is not None
        self.states[command.issue_id] = state
        self.events.extend(new)


def happy(script: Script, issue: str, unit: str, lead: str, start: datetime, days: int) -> None:
    leader = world.CITY_LEADER
    script.do(RegisterIssue(issue, unit, "housing", "complex", "道路积水"), leader, start)
    script.do(AssignIssue(issue, lead), leader, start + timedelta(hours=1))
    staff = world.STAFF[lead]
    script.do(AcceptAssignment(issue), staff, start + timedelta(hours=2))
    script.do(ResolveIssue(issue), staff, start + timedelta(days=days))
    done = start + timedelta(days=days, hours=1)
    script.do(EvaluateResolution(issue, "third_party", True, 95.0), world.SURVEY, done)
    script.do(ArchiveIssue(issue), leader, done + timedelta(hours=1))


def test_a_small_log_by_hand() -> None:
    script = Script()
    # Monday 3 March 2025: two issues, one resolved in time (2 working days), one late.
    happy(script, "a", world.VILLAGE_A1, "city-economy", at(3), 2)
    happy(script, "b", world.VILLAGE_A2, "city-economy", at(3), 7)
    # A third issue: transferred, resolved, evaluated unsatisfied, reopened; still open.
    leader = world.CITY_LEADER
    script.do(
        RegisterIssue("c", world.TOWN_A, "land_certificate", "difficult", "办证"), leader, at(4)
    )
    script.do(AssignIssue("c", "city-resources"), leader, at(4, 11))
    script.do(TransferIssue("c", "city-construction", reason="theirs"), leader, at(5))
    staff = world.STAFF["city-construction"]
    script.do(ResolveIssue("c"), staff, at(6))
    script.do(EvaluateResolution("c", "third_party", False, 30.0), world.SURVEY, at(6, 12))
    script.do(ReopenIssue("c", "not solved"), leader, at(7))
    end = at(14, 12)
    metrics = compute_metrics(
        script.events, calendar=CAL, by="department", at=end, hierarchy=world.HIERARCHY
    )
    total = metrics.total
    assert (total.registered, total.resolutions, total.on_time, total.late) == (3, 3, 2, 1)
    assert total.on_time_rate == pytest.approx(2 / 3)
    assert (total.resolved, total.archived, total.open) == (2, 2, 1)
    # c's new deadline (15 working days from 7 March) is not due at 14 March
    assert total.due == 2
    assert total.resolution_rate == 1.0
    # a and b were accepted within a working day of assignment; c never accepted but
    # resolved on 6 March, after its 1-working-day response window closed on 5 March
    assert (total.response_due, total.responded_in_time) == (3, 2)
    assert (total.evaluated_cycles, total.satisfied_cycles) == (3, 2)
    assert total.satisfaction_rate == pytest.approx(2 / 3)
    assert (total.ever_resolved, total.reopened_issues, total.reopen_rate) == (3, 1, 1 / 3)
    assert total.transfers == 1
    assert total.transfers_per_issue == pytest.approx(1 / 3)
    # handling: a 3 Mar -> 5 Mar = 2 working days; b 3 Mar -> 10 Mar = 5
    assert total.handling_days == Distribution(2, 3.5, 2.0, 5.0, 5.0, 5.0)
    # c has been open since 4 March: 8 working days by Friday 14 March
    assert total.open_age_days == Distribution(1, 8.0, 8.0, 8.0, 8.0, 8.0)
    economy = metrics.issues.row("city-economy")
    assert (economy.registered, economy.on_time, economy.late) == (2, 1, 1)
    # c is attributed to the department that leads it now
    assert metrics.issues.row("city-construction").registered == 1
    ranking = metrics.ranking("on_time_rate")
    assert [(r.position, r.key, r.value) for r in ranking] == [
        (1, ("city-construction",), 1.0),
        (2, ("city-economy",), 0.5),
    ]
    assert metrics.ranking("on_time_rate", min_count=2)[0].key == ("city-economy",)
    by_level = compute_metrics(script.events, calendar=CAL, by="level", hierarchy=world.HIERARCHY)
    assert by_level.issues.row("village").registered == 2
    assert by_level.issues.row("town").registered == 1


def test_row_needs_the_period_and_one_value_per_dimension() -> None:
    script = Script()
    happy(script, "a", world.VILLAGE_A1, "city-economy", at(3), 2)
    happy(script, "b", world.VILLAGE_A2, "city-economy", at(3), 7)
    monthly = compute_metrics(script.events, calendar=CAL, by="department", period="month")
    assert monthly.issues.row("city-economy", period="2025-03").registered == 2
    # an unknown group or period is an empty row
    assert monthly.issues.row("city-economy", period="2025-04") == IssueMetrics(
        ("city-economy",), "2025-04"
    )
    assert monthly.issues.row("nobody", period="2025-03").registered == 0
    with pytest.raises(cl.ConfigurationError, match="name the period"):
        monthly.issues.row("city-economy")
    with pytest.raises(cl.ConfigurationError, match="1 value"):
        monthly.issues.row("city-economy", "village", period="2025-03")
    with pytest.raises(cl.ConfigurationError, match="1 value"):
        monthly.issues.row(period="2025-03")
    overall = compute_metrics(script.events, calendar=CAL, by="department")
    assert overall.issues.row("city-economy").registered == 2
    with pytest.raises(cl.ConfigurationError, match="no period"):
        overall.issues.row("city-economy", period="2025-03")
    ungrouped = compute_metrics(script.events, calendar=CAL)
    assert ungrouped.issues.row().registered == 2


def test_backlog_has_a_point_at_every_period_end() -> None:
    """Zero points too, from each group's first registration on: a series without gaps
    for every group with a backlog at one period end at least."""
    script = Script()
    happy(script, "a", world.VILLAGE_A1, "city-economy", at(3), 2)  # open 3-5 March
    happy(script, "b", world.VILLAGE_A2, "city-resources", at(6), 1)  # open 6-7 March
    # c is resolved the day it came in: never open at a day's end, so no series at all
    leader, staff = world.CITY_LEADER, world.STAFF["city-construction"]
    script.do(RegisterIssue("c", world.VILLAGE_A1, "housing", "simple", "积水"), leader, at(4, 9))
    script.do(AssignIssue("c", "city-construction"), leader, at(4, 10))
    script.do(AcceptAssignment("c"), staff, at(4, 11))
    script.do(ResolveIssue("c"), staff, at(4, 15))
    metrics = compute_metrics(
        script.events, calendar=CAL, by="department", period="day", at=at(10, 9)
    )
    series = {(p.key[0], p.period): (p.open, p.age_days.count) for p in metrics.backlog.rows}
    assert series == {
        ("city-economy", "2025-03-03"): (1, 1),
        ("city-economy", "2025-03-04"): (1, 1),
        ("city-economy", "2025-03-05"): (0, 0),  # resolved on the 5th at 10:00
        ("city-economy", "2025-03-06"): (0, 0),
        ("city-economy", "2025-03-07"): (0, 0),
        ("city-economy", "2025-03-08"): (0, 0),
        ("city-economy", "2025-03-09"): (0, 0),
        ("city-economy", "2025-03-10"): (0, 0),
        # nothing before its first registration on the 6th
        ("city-resources", "2025-03-06"): (1, 1),
        ("city-resources", "2025-03-07"): (0, 0),
        ("city-resources", "2025-03-08"): (0, 0),
        ("city-resources", "2025-03-09"): (0, 0),
        ("city-resources", "2025-03-10"): (0, 0),
    }
    columns = metrics.backlog.to_columns()
    assert columns["open"] == [p.open for p in metrics.backlog.rows]
    assert columns["age_days_max"][2] is None  # an empty distribution
    assert metrics.backlog.rows[-1].at == at(10, 9)


def fill(store: EventStore, events: Sequence[Any]) -> EventStore:
    """``store`` holding ``events`` in the same global order."""
    for event in events:
        store.append(event.stream_id, [event], expected_version=event.version - 1)
    return store


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("which", ["random", "activity"])
def test_metrics_from_read_all_equal_metrics_from_events(
    kind: str, which: str, tmp_path: Path
) -> None:
    """A store's ``Recorded`` pairs give the same metrics as the events, in any mix."""
    if which == "random":
        events: list[Any] = list(random_log(random.Random(5), issues=15, steps=150).events)
    else:
        events = activity_log()
    store = MemoryEventStore() if kind == "memory" else SQLiteEventStore(tmp_path / "log.db")
    with fill(store, events):
        recorded = list(store.read_all())
        assert [r.event for r in recorded] == events
        options: dict[str, Any] = {
            "calendar": CAL,
            "by": ("department",),
            "period": "day",
            "hierarchy": world.HIERARCHY,
        }
        expected = compute_metrics(events, **options)
        assert expected.total.registered > 0
        assert compute_metrics(recorded, **options) == expected
        assert compute_metrics(store.read_all(), **options) == expected
        half = len(events) // 2
        assert compute_metrics([*events[:half], *recorded[half:]], **options) == expected
        assert compute_metrics([*recorded[:half], *events[half:]], **options) == expected
        last = store.last_position()
        for log, position in (
            (store.read_all(), last),
            (recorded, last),
            ([*events[:half], *recorded[half:]], last),
            ([*recorded[:half], *events[half:]], recorded[half - 1].position),
        ):
            projection = MetricsProjection()
            projection.apply_all(log)
            assert projection.metrics(**options) == expected
            assert projection.position == position  # the last pair's
        one_by_one = MetricsProjection()
        for pair in store.read_all():
            one_by_one.apply(pair)
        assert one_by_one.metrics(**options) == expected
        assert one_by_one.position == store.last_position()
        explicit = MetricsProjection()
        explicit.apply(recorded[0], position=99)  # an explicit position wins
        assert explicit.position == 99


def test_backlog_at_period_ends() -> None:
    script = Script()
    happy(script, "a", world.VILLAGE_A1, "city-economy", at(3), 2)  # open 3-5 March
    leader = world.CITY_LEADER
    script.do(RegisterIssue("b", world.VILLAGE_A2, "housing", "simple", "积水"), leader, at(4))
    metrics = compute_metrics(script.events, calendar=CAL, period="day", at=at(6, 9))
    points = {p.period: (p.open, p.age_days.max) for p in metrics.backlog.rows}
    assert points == {
        "2025-03-03": (1, 0.0),
        "2025-03-04": (2, 1.0),
        "2025-03-05": (1, 1.0),  # a resolved on the 5th at 10:00: only b is open
        "2025-03-06": (1, 2.0),  # the snapshot of the running day is ``at``
    }
    assert metrics.backlog.rows[-1].at == at(6, 9)


def test_period_labels_and_bounds() -> None:
    d = date(2025, 1, 1)  # a Wednesday in ISO week 1
    assert [p.label(d) for p in Period] == ["2025-01-01", "2025-W01", "2025-01", "2025-Q1", "2025"]
    assert Period.WEEK.start(d) == date(2024, 12, 30)
    assert Period.QUARTER.start(date(2025, 8, 9)) == date(2025, 7, 1)
    assert Period.QUARTER.next_start(date(2025, 10, 1)) == date(2026, 1, 1)
    assert Period.MONTH.next_start(date(2025, 12, 1)) == date(2026, 1, 1)
    assert Period.YEAR.next_start(date(2025, 1, 1)) == date(2026, 1, 1)


@given(st.dates(date(2004, 1, 1), date(2026, 12, 1)), st.sampled_from(list(Period)))
def test_periods_tile_the_calendar(day: date, period: Period) -> None:
    start = period.start(day)
    following = period.next_start(start)
    assert start <= day < following
    assert period.start(following - timedelta(days=1)) == start
    assert period.label(start) == period.label(day) != period.label(following)


def test_distribution_nearest_rank() -> None:
    assert Distribution.of(range(1, 11)) == Distribution(10, 5.5, 5.0, 9.0, 10.0, 10.0)
    assert Distribution.of([]) == Distribution()
    assert Distribution.of([3]) == Distribution(1, 3.0, 3.0, 3.0, 3.0, 3.0)


def test_to_columns_are_plain_and_aligned() -> None:
    log = random_log(random.Random(3), issues=20, steps=200)
    metrics = compute_metrics(
        log.events, calendar=CAL, by=("unit", "category"), period="week", hierarchy=world.HIERARCHY
    )
    for table in (metrics.issues, metrics.backlog, metrics.activity):
        columns = table.to_columns()
        assert len({len(v) for v in columns.values()}) <= 1
        assert list(columns)[:3] == ["unit", "category", "period"]
    columns = metrics.to_columns()
    assert len(columns["unit"]) == len(metrics.issues.rows)
    assert "handling_days_p90" in columns
    assert "on_time_rate" in columns


def test_ranking_rules() -> None:
    rows = [
        IssueMetrics(("a",), None, resolutions=4, on_time=3),
        IssueMetrics(("b",), None, resolutions=8, on_time=6),
        IssueMetrics(("c",), None, resolutions=1, on_time=1),
        IssueMetrics(("d",), None),
    ]
    ranked = rank(rows, "on_time_rate")
    assert [(r.position, r.key[0], r.count) for r in ranked] == [
        (1, "c", 1),
        (2, "a", 4),
        (2, "b", 8),
    ]
    assert [r.key[0] for r in rank(rows, "on_time_rate", min_count=2)] == ["a", "b"]
    assert [r.key[0] for r in rank(rows, "on_time_rate", descending=False)] == ["a", "b", "c"]
    with pytest.raises(cl.ConfigurationError, match="cannot rank by"):
        rank(rows, "registered")


def test_bad_queries() -> None:
    log = random_log(random.Random(1), issues=5, steps=40)
    with pytest.raises(cl.ConfigurationError, match="dimensions are"):
        compute_metrics(log.events, calendar=CAL, by="colour")
    with pytest.raises(cl.ConfigurationError, match="needs the hierarchy"):
        compute_metrics(log.events, calendar=CAL, by="level")
    with pytest.raises(cl.ConfigurationError, match="unknown period"):
        compute_metrics(log.events, calendar=CAL, period="fortnight")
    with pytest.raises(cl.ConfigurationError, match="latest event"):
        compute_metrics(log.events, calendar=CAL, at=world.START - timedelta(days=1))
    with pytest.raises(cl.NaiveDatetimeError):
        compute_metrics(log.events, calendar=CAL, at=datetime(2025, 3, 3))
    assert set(DIMENSIONS) == {"unit", "department", "level", "category"}


def test_events_out_of_order_are_refused_by_both_paths() -> None:
    log = random_log(random.Random(2), issues=3, steps=30)
    events = list(log.events)
    second = next(i for i, e in enumerate(events) if e.version == 2)
    swapped = [events[second], *events[:second], *events[second + 1 :]]
    with pytest.raises(cl.InvariantError):
        compute_metrics(swapped, calendar=CAL)
    with pytest.raises(cl.InvariantError):
        MetricsProjection().apply_all(swapped)
    twice = [*events[: second + 1], events[second]]
    with pytest.raises(cl.InvariantError):
        compute_metrics(twice, calendar=CAL)
    with pytest.raises(cl.InvariantError):
        MetricsProjection().apply_all(twice)


def test_empty_log() -> None:
    metrics = compute_metrics([], calendar=CAL, by="unit", period="month")
    assert metrics.at is None
    assert metrics.issues.rows == ()
    assert metrics.total.registered == 0
    assert MetricsProjection().metrics(calendar=CAL, by="unit", period="month") == metrics


# -- activity: supervision, accountability, visits -------------------------------------------


def activity_log() -> list[object]:
    """Issue "a" (3-5 March), two supervision orders of it (one met, one overdue), a visit."""
    script = Script()
    happy(script, "a", world.VILLAGE_A1, "city-economy", at(3), 2)
    new_id = world.id_maker("x")
    common: dict[str, Any] = {"actor": ActorId("supervisor")}
    order = SupervisionOrdered(
        event_id=new_id(),
        order_id="o-1",
        version=1,
        occurred_at=at(3, 12),
        issue_id=IssueId("a"),
        issue_version=3,
        unit=world.CITY,
        category="housing",
        departments=(DepartmentId("city-economy"),),
        rule="overdue",
        reason="test",
        due_at=at(6, 23),
        due_date=date(2025, 3, 6),
        **common,
    )
    closed = SupervisionOrderClosed(
        event_id=new_id(),
        order_id="o-1",
        version=2,
        occurred_at=at(5, 10),
        issue_id=IssueId("a"),
        reason=CloseReason.RESOLVED,
        **common,
    )
    late = attrs.evolve(order, event_id=new_id(), order_id="o-2", due_at=at(4, 9))
    overdue = SupervisionOrderOverdue(
        event_id=new_id(),
        order_id="o-2",
        version=2,
        occurred_at=at(4, 10),
        issue_id=IssueId("a"),
        due_at=at(4, 9),
        **common,
    )
    visit = VisitRecorded(
        event_id=EventId("v"),
        visit_id="v-1",
        occurred_at=at(3, 15),
        actor=ActorId("village-a1-cadre"),
        from_unit=world.VILLAGE_A1,
        to_unit=world.CITY,
        to_department=DepartmentId("city-resources"),
    )
    return [*script.events, order, late, overdue, closed, visit]


def test_activity_counts() -> None:
    events = activity_log()
    batch, incremental, halves = both(events, by="unit")
    assert batch == incremental
    assert batch == halves
    total = batch.activity_total
    assert (total.supervision_orders, total.orders_met, total.orders_closed) == (2, 1, 1)
    assert (total.orders_overdue, total.visits) == (1, 1)
    (row,) = batch.activity.rows
    assert row.key == (world.VILLAGE_A1,)
    assert row.supervision_orders == 2
    by_department = compute_metrics(events, calendar=CAL, by="department")
    visited = [r for r in by_department.activity.rows if r.visits]
    assert [r.key for r in visited] == [("city-resources",)]
    assert AccountabilityOutcome.ADMONISHMENT not in dict(total.by_outcome)


@settings(max_examples=20)
@given(log=issue_logs(max_issues=10, max_steps=80))
def test_non_issue_events_do_not_disturb_issue_metrics(log: Log) -> None:
    visits = [
        VisitRecorded(
            event_id=EventId(f"v{k}"),
            visit_id=f"v{k}",
            occurred_at=world.START,
            actor=ActorId("cadre"),
            from_unit=UnitId(world.VILLAGE_A1),
            to_unit=UnitId(world.CITY),
        )
        for k in range(3)
    ]
    plain = compute_metrics(log.events, calendar=CAL, by="unit")
    mixed = compute_metrics([*visits, *log.events], calendar=CAL, by="unit")
    assert plain.issues == mixed.issues
    assert mixed.activity_total.visits == 3
