"""closedloop.plot draws what the metrics say: checked on the axes' contents, not on images."""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import closedloop as cl  # noqa: E402
from closedloop import plot  # noqa: E402
from closedloop.ids import DepartmentId, IssueId  # noqa: E402
from tests.world import (  # noqa: E402
    ACCESS,
    CITY_LEADER,
    HIERARCHY,
    STAFF,
    SURVEY,
    VILLAGE_A1,
    VILLAGE_B1,
)
from tests.world import SHANGHAI as ZONE  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    yield
    plt.close("all")


def heights(ax: Any) -> list[float]:
    return [float(p.get_height()) for p in ax.patches]


def widths(ax: Any) -> list[float]:
    return [float(p.get_width()) for p in ax.patches]


def values(data: Any) -> list[float]:
    return [float(v) for v in data]


def nodes_of(ax: Any) -> Any:
    return ax.collections[0]


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2025, 3, day, hour, tzinfo=ZONE)


@pytest.fixture(scope="module")
def loop() -> cl.ClosedLoop:
    """Four complex issues registered on Monday 3 March 2025 (ISO week 10).

    i1: city-economy, resolved Wednesday 5 March (2 working days, on time);
    i2: city-economy, resolved Tuesday 11 March (6 working days, late);
    i3: city-construction with city-economy co-handling, resolved Thursday 6 March
    (3 working days, on time, archived after a satisfied evaluation);
    i4: never assigned.
    """
    service = cl.ClosedLoop(
        hierarchy=HIERARCHY,
        clock=cl.FixedClock(at(3, 9)),
        access=ACCESS,
        calendar=cl.china_calendar(),
    )
    leader = CITY_LEADER
    for issue, unit in (
        ("i1", VILLAGE_A1),
        ("i2", VILLAGE_A1),
        ("i3", VILLAGE_B1),
        ("i4", VILLAGE_B1),
    ):
        service.register(
            leader,
            unit=unit,
            category="roads",
            difficulty="complex",
            title=issue,
            issue_id=issue,
            at=at(3),
        )
    economy, construction = STAFF["city-economy"], STAFF["city-construction"]
    service.assign(leader, "i1", lead="city-economy", at=at(3, 11))
    service.assign(leader, "i2", lead="city-economy", at=at(3, 11))
    service.assign(
        leader, "i3", lead="city-construction", co_handlers=["city-economy"], at=at(3, 11)
    )
    service.accept(economy, "i1", at=at(3, 12))
    service.resolve(economy, "i1", at=at(5))
    service.resolve(construction, "i3", at=at(6))
    service.evaluate(SURVEY, "i3", satisfied=True, evaluator_kind="third_party", at=at(7))
    service.archive(leader, "i3", at=at(7, 11))
    service.resolve(economy, "i2", at=at(11))
    return service


# -- backlog ---------------------------------------------------------------------------


def test_backlog_counts_open_issues_at_each_week_end(loop: cl.ClosedLoop) -> None:
    ax = plot.backlog(loop, period="week")
    (line,) = ax.lines
    assert line.get_label() == "all issues"
    # end of week 10: i2 and i4 open; week 11 (up to the last event): i4 only
    assert values(line.get_ydata()) == [2, 1]
    assert ax.get_ylabel() == "open issues"


def test_backlog_accepts_metrics_and_groups(loop: cl.ClosedLoop) -> None:
    events = [r.event for r in loop.store.read_all()]
    metrics = cl.compute_metrics(events, calendar=loop.calendar, by="department", period="week")
    ax = plot.backlog(metrics, by="department")
    labels = {line.get_label(): values(line.get_ydata()) for line in ax.lines}
    assert labels == {"not assigned": [1, 1], "city-economy": [1, 0]}
    ax = plot.backlog(events, by="department", top=1)
    assert [line.get_label() for line in ax.lines] == ["not assigned"]  # ties: by key


def test_backlog_refuses_metrics_without_period_or_other_grouping(loop: cl.ClosedLoop) -> None:
    events = list(loop.store.read_all())
    with pytest.raises(cl.ConfigurationError, match="period"):
        plot.backlog(cl.compute_metrics(events, calendar=loop.calendar))
    weekly = cl.compute_metrics(events, calendar=loop.calendar, by="unit", period="week")
    with pytest.raises(cl.ConfigurationError, match="grouped by"):
        plot.backlog(weekly)


def test_backlog_from_a_metrics_projection(loop: cl.ClosedLoop) -> None:
    projection = cl.MetricsProjection()
    projection.apply_all(r.event for r in loop.store.read_all())
    ax = plot.backlog(projection, calendar=loop.calendar, period="week")
    assert values(ax.lines[0].get_ydata()) == [2, 1]


# -- handling time ---------------------------------------------------------------------


def test_handling_time_histogram_has_one_bar_per_working_day(loop: cl.ClosedLoop) -> None:
    ax = plot.handling_time(loop)
    bars = heights(ax)
    assert len(bars) == 7  # 0 .. 6 working days
    assert bars == [0, 0, 1, 1, 0, 0, 1]
    (median,) = ax.lines
    assert values(median.get_xdata()) == [3, 3]
    metrics = cl.compute_metrics([r.event for r in loop.store.read_all()], calendar=loop.calendar)
    assert metrics.total.handling_days.count == sum(bars)
    assert metrics.total.handling_days.mean == pytest.approx((2 + 3 + 6) / 3)


def test_handling_time_stacks_groups_and_caps_the_last_bin(loop: cl.ClosedLoop) -> None:
    ax = plot.handling_time(loop, by="department", max_days=4)
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [
        "city-construction",
        "city-economy",
        "median 3",
    ]
    assert len(ax.patches) == 2 * 5
    assert sum(heights(ax)) == 3
    assert ax.get_xlim() == (-0.5, 4.5)


def test_handling_time_from_registration_and_from_values(loop: cl.ClosedLoop) -> None:
    ax = plot.handling_time(loop, measure="resolution")
    assert sum(heights(ax)) == 3
    ax = plot.handling_time([0, 1, 1, 4])
    assert heights(ax) == [1, 2, 0, 0, 1]
    ax = plot.handling_time({"simple": [0, 0], "complex": [2]})
    assert len(ax.patches) == 2 * 3
    with pytest.raises(cl.ConfigurationError, match="measure"):
        plot.handling_time(loop, measure="waiting")
    with pytest.raises(cl.ConfigurationError, match="by is"):
        plot.handling_time(loop, by="colour")


def test_handling_time_without_resolved_issues_says_so() -> None:
    ax = plot.handling_time([])
    assert [t.get_text() for t in ax.texts] == ["no resolved issue"]


# -- on-time rate by department -------------------------------------------------------


def test_on_time_by_department_bars_are_the_ranked_rates(loop: cl.ClosedLoop) -> None:
    ax = plot.on_time_by_department(loop, min_count=1)
    # barh draws bottom-up: the best department ends up at the top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["city-economy", "city-construction"]
    assert widths(ax) == [0.5, 1.0]
    assert [t.get_text() for t in ax.texts] == ["n=2", "n=1"]
    (overall,) = ax.lines
    assert values(overall.get_xdata()) == [2 / 3, 2 / 3]


def test_on_time_by_department_filters_and_labels(loop: cl.ClosedLoop) -> None:
    ax = plot.on_time_by_department(loop, min_count=2)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["city-economy"]
    ax = plot.on_time_by_department(loop, min_count=1, top=1, descending=False)
    assert widths(ax) == [0.5]
    ax = plot.on_time_by_department(loop, min_count=1, include=lambda d: "economy" not in d)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["city-construction"]
    departments = cl.Departments.from_rows(
        [
            {
                "id": "city-economy",
                "name": "Economy Bureau",
                "unit": "330782",
                "kind": "bureau",
                "function": "economy",
            }
        ]
    )
    ax = plot.on_time_by_department(loop, min_count=1, departments=departments)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Economy Bureau", "city-construction"]


def test_on_time_by_department_takes_department_metrics_only(loop: cl.ClosedLoop) -> None:
    events = [r.event for r in loop.store.read_all()]
    by_department = cl.compute_metrics(events, calendar=loop.calendar, by="department")
    ax = plot.on_time_by_department(by_department, min_count=1)
    assert len(ax.patches) == 2
    with pytest.raises(cl.ConfigurationError, match="department"):
        plot.on_time_by_department(cl.compute_metrics(events, calendar=loop.calendar))


# -- coordination graph -----------------------------------------------------------------


def test_coordination_graph_from_the_log(loop: cl.ClosedLoop) -> None:
    ax = plot.coordination_graph(loop, labels=True)
    nodes, edges = nodes_of(ax), ax.collections[1]
    assert len(values(nodes.get_offsets()[:, 0])) == 2  # construction and economy co-handled i3
    assert len(edges.get_paths()) == 1
    assert sorted(t.get_text() for t in ax.texts) == ["city-construction", "city-economy"]


def test_coordination_graph_sizes_nodes_by_degree() -> None:
    when = at(3)
    records = [
        cl.HandlingRecord(IssueId("a"), DepartmentId("hub"), "lead", when),
        cl.HandlingRecord(IssueId("a"), DepartmentId("x"), "co_handler", when),
        cl.HandlingRecord(IssueId("a"), DepartmentId("y"), "co_handler", when),
        cl.HandlingRecord(IssueId("b"), DepartmentId("hub"), "lead", when),
        cl.HandlingRecord(IssueId("b"), DepartmentId("z"), "co_handler", when),
        cl.HandlingRecord(IssueId("c"), DepartmentId("lone"), "lead", when),
    ]
    graph = cl.CoordinationGraph.from_records(records)
    ax = plot.coordination_graph(graph, labels=1, layout="circular")
    nodes: Any = ax.collections[0]
    sizes = dict(zip(["hub", "x", "y", "z"], nodes.get_sizes(), strict=True))
    assert sizes["hub"] == max(sizes.values())  # three partners
    assert sizes["z"] < sizes["x"] == sizes["y"]  # one partner against two
    assert [t.get_text() for t in ax.texts] == ["hub"]  # the lone department is left out
    ax = plot.coordination_graph(records, size_by="betweenness", min_weight=1)
    assert len(values(nodes_of(ax).get_offsets()[:, 0])) == 4
    ax = plot.coordination_graph(graph, min_weight=2)
    assert [t.get_text() for t in ax.texts] == ["no co-handling"]
    with pytest.raises(cl.ConfigurationError, match="size_by"):
        plot.coordination_graph(graph, size_by="colour")
    with pytest.raises(cl.ConfigurationError, match="layout"):
        plot.coordination_graph(graph, layout="random")


def test_coordination_graph_takes_networkx_graphs() -> None:
    import networkx as nx

    graph = nx.Graph()
    graph.add_edge("a", "b", weight=3)
    graph.add_edge("b", "c", weight=1)
    ax = plot.coordination_graph(graph, size_by="strength", labels=False)
    assert values(nodes_of(ax).get_sizes()) == [100 + 900 * 3 / 4, 1000.0, 100 + 900 / 4]
    assert len(ax.texts) == 0


# -- policy variants --------------------------------------------------------------------


def summaries() -> list[dict[str, Any]]:
    rows = []
    for policy, values in (("baseline", (6, 7, 8)), ("downward_meetings", (3, 4, 5))):
        for seed, value in enumerate(values):
            rows.append({"policy": policy, "seed": seed, "time_to_solve_p50": value})
    return rows


def test_compare_variants_draws_means_with_confidence_intervals() -> None:
    ax = plot.compare_variants(summaries())
    assert heights(ax) == [7.0, 4.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["baseline", "downward_meetings"]
    comparison = cl.compare(summaries(), figures=["time_to_solve_p50"])
    estimate = comparison.estimates["downward_meetings"]["time_to_solve_p50"]
    errorbars: Any = ax.containers[0]
    _, _, (segments,) = errorbars.lines
    low, high = segments.get_segments()[1][:, 1]
    assert (low, high) == pytest.approx((estimate.low, estimate.high))


def test_compare_variants_reference_first_and_single_replications() -> None:
    comparison = cl.compare(
        summaries(), figures=["time_to_solve_p50"], reference="downward_meetings"
    )
    ax = plot.compare_variants(comparison)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["downward_meetings", "baseline"]
    one = [row for row in summaries() if row["seed"] == 0]
    ax = plot.compare_variants(one)
    assert heights(ax) == [6.0, 3.0]
    with pytest.raises(cl.ConfigurationError, match="visits"):
        plot.compare_variants(comparison, "visits")


# -- simulation results -----------------------------------------------------------------


@pytest.fixture(scope="module")
def run() -> cl.SimulationResult:
    scenario = cl.yiwu_scenario(villages_per_town=2).with_changes(
        start=date(2019, 6, 3), end=date(2019, 6, 28)
    )
    _, meetings = cl.yiwu_policies()
    return cl.simulate(scenario, meetings, seed=3, keep_events=True)


def test_every_plot_draws_a_simulated_run(run: cl.SimulationResult) -> None:
    assert run.events is not None
    handling = plot.handling_time(run)
    assert sum(heights(handling)) == run.totals.handling_days.count
    assert plot.backlog(run).lines
    ranked = run.metrics.ranking("on_time_rate")  # total only: no department rows
    assert ranked
    assert plot.on_time_by_department(run, min_count=1).patches
    assert plot.coordination_graph(run).collections
    assert plot.compare_variants([run]).patches


def test_a_run_without_events_cannot_be_drawn_from_its_log(run: cl.SimulationResult) -> None:
    bare = cl.simulate(
        cl.yiwu_scenario(villages_per_town=1).with_changes(
            start=date(2019, 6, 3), end=date(2019, 6, 7)
        ),
        cl.Baseline(),
    )
    with pytest.raises(cl.ConfigurationError, match="keep_events=True"):
        plot.backlog(bare)
    assert math.isnan(cl.compare([bare]).estimates["baseline"]["arrived"].low)


def test_given_axes_are_drawn_on_and_returned(loop: cl.ClosedLoop) -> None:
    _figure, (left, right) = plt.subplots(1, 2)
    assert plot.backlog(loop, ax=left) is left
    assert plot.handling_time(loop, ax=right) is right
    assert len(plt.get_fignums()) == 1


def test_unusable_sources_are_refused() -> None:
    with pytest.raises(TypeError, match="int"):
        plot.backlog(42)
    with pytest.raises(TypeError, match="str"):
        plot.compare_variants("baseline")


def test_without_matplotlib_the_error_names_the_extra(
    loop: cl.ClosedLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(cl.MissingExtraError, match=r"closedloop\[plot\]") as error:
        plot.backlog(loop)
    assert error.value.extra == "plot"
    assert error.value.feature == "closedloop.plot.backlog"
