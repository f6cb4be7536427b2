"""Pictures of the loop: backlog, handling time, on-time rates, coordination, policy variants.

Every function takes what it draws from (a log of events, a simulation result, the
service, metrics or a comparison), draws on the matplotlib ``Axes`` passed as ``ax``
(a new figure when ``ax`` is None), and returns that ``Axes`` so it can be styled
further. The figures are computed with the library's own functions
(:func:`~closedloop.compute_metrics`, :func:`~closedloop.compare`, the coordination
graph), so a picture always agrees with the tables.

* :func:`backlog`: open issues at the end of each period, overall or per group;
* :func:`handling_time`: the distribution of handling (or resolution) time in
  working days;
* :func:`on_time_by_department`: the on-time rate of each lead department;
* :func:`coordination_graph`: departments linked by co-handling, sized by centrality;
* :func:`compare_variants`: policy variants with their 95 % confidence intervals.

Logs come as an iterable of events (or of the ``Recorded`` pairs a store reads), a
:class:`~closedloop.SimulationResult` run with ``keep_events=True``, a
:class:`~closedloop.ClosedLoop` service or an :class:`~closedloop.EventStore`. Working
days are counted on ``calendar``: the service's own when a service is given, China's
official calendar otherwise.

matplotlib is the optional extra ``plot``; without it every function raises
:class:`~closedloop.MissingExtraError`. The lifecycle diagram is text, not a plot:
see :func:`closedloop.lifecycle_diagram` (Mermaid or Graphviz).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from closedloop.china import china_calendar
from closedloop.departments import CoordinationGraph, Departments, HandlingRecord
from closedloop.errors import ConfigurationError, MissingExtraError
from closedloop.lifecycle.events import IssueEvent, IssueRegistered
from closedloop.metrics import (
    BacklogTable,
    Metrics,
    MetricsProjection,
    Period,
    _resolutions,
    compute_metrics,
    rank,
)
from closedloop.service import ClosedLoop
from closedloop.simulation.results import Comparison, SimulationResult, compare
from closedloop.simulation.sweep import SweepResult
from closedloop.store.base import EventStore, Recorded
from closedloop.supervision import handling_records
from closedloop.workdays import WorkCalendar

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "backlog",
    "compare_variants",
    "coordination_graph",
    "handling_time",
    "on_time_by_department",
]

_TOTAL = "all issues"


# -- plumbing ------------------------------------------------------------------------


def _require(feature: str) -> None:
    """Raise MissingExtraError unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingExtraError("plot", feature) from None


def _axes(ax: Axes | None, feature: str, size: tuple[float, float] = (7.0, 4.0)) -> Axes:
    """``ax``, or the axes of a new figure."""
    _require(feature)
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _figure, new = plt.subplots(figsize=size, layout="constrained")
    return new


def _events(source: object, feature: str) -> list[object]:
    """The events of a log given in any of the accepted forms."""
    if isinstance(source, SimulationResult):
        if source.events is None:
            raise ConfigurationError(
                f"{feature} needs the run's events: simulate(..., keep_events=True)"
            )
        return list(source.events)
    if isinstance(source, ClosedLoop):
        source = source.store
    if isinstance(source, EventStore):
        source = source.read_all()
    if isinstance(source, str | bytes) or not isinstance(source, Iterable):
        raise TypeError(
            f"{feature} draws from events, a SimulationResult, a ClosedLoop or an "
            f"EventStore, not {type(source).__name__}"
        )
    return [item.event if isinstance(item, Recorded) else item for item in source]


def _calendar(source: object, calendar: WorkCalendar | None) -> WorkCalendar:
    if calendar is not None:
        return calendar
    if isinstance(source, ClosedLoop):
        return source.calendar
    return china_calendar()


def _department_label(
    department: str, departments: Departments | None, fallback: object = None
) -> str:
    if departments is not None and department in departments:
        return departments.get(department).name
    return str(fallback or department)


def _local(instant: datetime, zone: ZoneInfo) -> datetime:
    """The wall-clock time of ``instant`` in ``zone``, naive (matplotlib's date axis)."""
    return instant.astimezone(zone).replace(tzinfo=None)


# -- backlog -------------------------------------------------------------------------


def backlog(
    source: object,
    *,
    period: Period | str = "week",
    by: str | None = None,
    top: int = 8,
    calendar: WorkCalendar | None = None,
    hierarchy: Any = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the backlog over time: the issues open at the end of each period.

    Args:
        source: a log (see the module docs), a :class:`~closedloop.Metrics` or
            :class:`~closedloop.BacklogTable` computed with a period, or a
            :class:`~closedloop.MetricsProjection`.
        period: ``"day"``, ``"week"``, ``"month"``, ``"quarter"`` or ``"year"`` (used
            when the metrics are computed here).
        by: a dimension (``"department"``, ``"unit"``, ``"category"``, ``"level"``) for
            one line per group, or None for one line over all issues.
        top: with ``by``, how many groups to draw: those with the highest peak backlog.
        calendar: the working-day calendar (see the module docs).
        hierarchy: needed only for ``by="level"``.
        ax: the axes to draw on (None: a new figure).

    Returns:
        The axes, with one line per group, labelled by the group value.

    Raises:
        ConfigurationError: for metrics without a period, or ``by`` that the given
            metrics are not grouped by.
    """
    feature = "closedloop.plot.backlog"
    _require(feature)
    dims = () if by is None else (by,)
    table: BacklogTable
    if isinstance(source, BacklogTable):
        table = source
    elif isinstance(source, Metrics):
        table = source.backlog
    else:
        cal = _calendar(source, calendar)
        if isinstance(source, MetricsProjection):
            metrics = source.metrics(calendar=cal, by=dims, period=period, hierarchy=hierarchy)
        else:
            metrics = compute_metrics(
                _events(source, feature), calendar=cal, by=dims, period=period, hierarchy=hierarchy
            )
        table = metrics.backlog
    if table.period is None:
        raise ConfigurationError(
            "the backlog needs metrics computed with a period, e.g. compute_metrics(..., "
            "period='week')"
        )
    if tuple(table.by) != dims:
        grouped = table.by[0] if table.by else None
        raise ConfigurationError(
            f"the metrics are grouped by {table.by!r}; pass by={grouped!r} or metrics "
            "grouped as asked"
        )
    zone = ZoneInfo(_calendar(source, calendar).timezone)
    snapshots = sorted({row.at for row in table.rows})
    series: dict[tuple[str, ...], dict[datetime, int]] = {}
    for row in table.rows:
        series.setdefault(row.key, {})[row.at] = row.open
    keys = sorted(series, key=lambda k: (-max(series[k].values()), k))[: max(top, 0)]
    axes = _axes(ax, feature)
    from matplotlib import dates

    date2num: Any = dates.date2num  # untyped in matplotlib
    x = date2num([_local(at, zone) for at in snapshots])
    for key in keys:
        counts = series[key]
        label = "/".join(key) if key else _TOTAL
        label = "not assigned" if label == "-" else label
        axes.plot(x, [counts.get(at, 0) for at in snapshots], marker="o", markersize=3, label=label)
    axes.set_ylabel("open issues")
    axes.set_xlabel(f"end of {table.period.value}")
    axes.set_title("Backlog" if by is None else f"Backlog by {by}")
    axes.set_ylim(bottom=0)
    if by is not None and keys:
        axes.legend(fontsize="small")
    axes.xaxis_date()
    for tick in axes.get_xticklabels():
        tick.set_rotation(30)
        tick.set_horizontalalignment("right")
    return axes


# -- handling time -------------------------------------------------------------------


_MEASURES = ("handling", "resolution")
_GROUPS = ("difficulty", "category", "department", "unit")


def _resolved_days(
    events: Sequence[object],
    *,
    calendar: WorkCalendar,
    measure: str = "handling",
    by: str | None = None,
) -> dict[str, list[int]]:
    """Working days each resolved issue took, per group (``{"all issues": [...]}`` without ``by``).

    ``measure="handling"`` counts from the first assignment to the latest resolution,
    ``"resolution"`` from the registration; only issues whose latest resolution stands
    (resolved or archived) count, so the values are exactly those behind
    :attr:`~closedloop.IssueMetrics.handling_days` and ``resolution_days``.
    ``by`` is ``"difficulty"``, ``"category"``, ``"department"`` (the last lead) or
    ``"unit"`` (where the issue was registered).

    Raises:
        ConfigurationError: for an unknown measure or group.
        InvariantError: for issue events out of order (as the metrics refuse them).
    """
    if measure not in _MEASURES:
        raise ConfigurationError(f"measure is one of {', '.join(_MEASURES)}, got {measure!r}")
    if by is not None and by not in _GROUPS:
        raise ConfigurationError(f"by is None or one of {', '.join(_GROUPS)}, got {by!r}")
    difficulty: dict[object, str] = {}
    if by == "difficulty":
        difficulty = {
            e.issue_id: e.difficulty.value for e in events if isinstance(e, IssueRegistered)
        }
    between = calendar.workdays_between
    out: dict[str, list[int]] = {}
    for issue in _resolutions(events):
        start = issue.registered_at if measure == "resolution" else issue.assigned_at
        if start is None:
            continue
        if by is None:
            key = _TOTAL
        else:
            key = difficulty[issue.issue] if by == "difficulty" else str(getattr(issue, by))
        out.setdefault(key, []).append(between(start, issue.resolved_at))
    return dict(sorted(out.items()))


def handling_time(
    source: object,
    *,
    measure: str = "handling",
    by: str | None = None,
    calendar: WorkCalendar | None = None,
    max_days: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the distribution of the working days resolved issues took, as a histogram.

    Args:
        source: a log (see the module docs), or the values themselves: whole working
            days as a sequence of numbers, or a mapping of group → such a sequence.
        measure: ``"handling"`` (first assignment to latest resolution) or
            ``"resolution"`` (registration to latest resolution).
        by: ``"difficulty"``, ``"category"``, ``"department"`` or ``"unit"`` to stack
            one colour per group, or None.
        calendar: the working-day calendar (see the module docs).
        max_days: the last bin; longer times are counted in it (None: the longest time).
        ax: the axes to draw on (None: a new figure).

    Returns:
        The axes: one bar per working day (stacked per group), and a dashed vertical
        line at the median over all issues.
    """
    feature = "closedloop.plot.handling_time"
    _require(feature)
    values: dict[str, list[int]]
    if isinstance(source, Mapping):
        values = {str(k): [int(v) for v in vs] for k, vs in source.items()}
    elif (
        isinstance(source, Sequence)
        and not isinstance(source, str | bytes)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in source)
        and len(source) > 0
    ):
        values = {_TOTAL: [int(v) for v in source]}
    else:
        values = _resolved_days(
            _events(source, feature),
            calendar=_calendar(source, calendar),
            measure=measure,
            by=by,
        )
    everything = [v for vs in values.values() for v in vs]
    axes = _axes(ax, feature)
    what = "handling" if measure == "handling" else "registration to resolution"
    axes.set_title(f"Working days, {what}")
    axes.set_xlabel("working days")
    axes.set_ylabel("issues")
    if not everything:
        axes.text(0.5, 0.5, "no resolved issue", ha="center", va="center", transform=axes.transAxes)
        return axes
    last = max(everything) if max_days is None else max(0, max_days)
    edges = [d - 0.5 for d in range(last + 2)]
    labels = list(values)
    data = [[min(v, last) for v in values[k]] for k in labels]
    axes.hist(data, bins=edges, stacked=True, label=labels, edgecolor="white", linewidth=0.5)
    median = statistics.median_low(sorted(everything))
    axes.axvline(median, color="black", linestyle="--", linewidth=1, label=f"median {median}")
    axes.set_xlim(-0.5, last + 0.5)
    axes.legend(fontsize="small")
    return axes


# -- on-time rate by department -----------------------------------------------------


def on_time_by_department(
    source: object,
    *,
    min_count: int = 5,
    top: int | None = None,
    descending: bool = True,
    include: Callable[[str], bool] | None = None,
    departments: Departments | None = None,
    calendar: WorkCalendar | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw the on-time rate (按时办结率) of each lead department as horizontal bars.

    Args:
        source: a log (see the module docs), or :class:`~closedloop.Metrics` grouped
            by department alone, without a period.
        min_count: leave out departments with fewer resolutions than this (a
            department with two resolutions, both on time, should not top the chart).
        top: draw only the first ``top`` departments of the ranking (None: all).
        descending: best first (True) or worst first (False); with ``top``, this picks
            the best or the worst.
        include: keep only the departments for which ``include(id)`` is true (e.g.
            ``lambda d: not d.endswith("/committee")`` leaves out village committees).
        departments: a registry to label bars with department names instead of ids.
        calendar: the working-day calendar (see the module docs).
        ax: the axes to draw on (None: a new figure).

    Returns:
        The axes: one bar per department (first in the ranking at the top), each
        annotated with its number of resolutions, and a dotted line at the rate over
        all issues.

    Raises:
        ConfigurationError: for metrics not grouped by department alone, or with a period.
    """
    feature = "closedloop.plot.on_time_by_department"
    _require(feature)
    if isinstance(source, Metrics):
        metrics = source
        if tuple(metrics.by) != ("department",) or metrics.period is not None:
            raise ConfigurationError(
                "on_time_by_department needs metrics grouped by=('department',) without a "
                f"period; these are grouped by {metrics.by!r}, period {metrics.period}"
            )
    else:
        metrics = compute_metrics(
            _events(source, feature), calendar=_calendar(source, calendar), by="department"
        )
    ranked = rank(metrics.issues.rows, "on_time_rate", min_count=min_count, descending=descending)
    ranked = [r for r in ranked if r.key != ("-",) and (include is None or include(r.key[0]))]
    if top is not None:
        ranked = ranked[: max(top, 0)]
    height = max(3.0, 0.3 * len(ranked) + 1.2)
    axes = _axes(ax, feature, size=(7.0, height))

    names = [_department_label(r.key[0], departments) for r in reversed(ranked)]
    rates = [r.value for r in reversed(ranked)]
    counts = [r.count for r in reversed(ranked)]
    bars = axes.barh(names, rates, color="tab:blue")
    for bar, count in zip(bars, counts, strict=True):
        axes.text(
            bar.get_width() + 0.01,
            bar.get_y() + bar.get_height() / 2,
            f"n={count}",
            va="center",
            fontsize="small",
        )
    overall = metrics.total.on_time_rate
    if overall is not None:
        axes.axvline(
            overall, color="black", linestyle=":", linewidth=1, label=f"all: {overall:.0%}"
        )
        axes.legend(fontsize="small", loc="lower right")
    axes.set_xlim(0, 1.15)
    axes.xaxis.set_major_formatter(_percent())
    axes.set_xlabel(f"resolutions on time (departments with at least {min_count})")
    axes.set_title("On-time rate by lead department")
    return axes


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0)


# -- the coordination graph ----------------------------------------------------------

_SIZES = ("degree", "strength", "betweenness")


def coordination_graph(
    source: object,
    *,
    departments: Departments | None = None,
    size_by: str = "degree",
    min_weight: int = 1,
    layout: str | Mapping[str, tuple[float, float]] = "spring",
    labels: bool | int = 12,
    seed: int = 0,
    ax: Axes | None = None,
) -> Axes:
    """Draw the departments' coordination graph: who co-handles with whom, and how often.

    Args:
        source: a :class:`~closedloop.CoordinationGraph`, a ``networkx.Graph`` (edge
            attribute ``weight``), :class:`~closedloop.HandlingRecord` values, or a log
            (see the module docs) whose assignments and transfers are read with
            :func:`~closedloop.handling_records`.
        departments: a registry to label nodes with department names instead of ids
            (departments it does not know keep their ids).
        size_by: node size by ``"degree"`` (partners), ``"strength"`` (summed weights)
            or ``"betweenness"`` (weighted betweenness centrality: the brokers).
        min_weight: leave out edges lighter than this; departments left without an
            edge are not drawn.
        layout: ``"spring"``, ``"circular"``, ``"kamada_kawai"`` or positions by node.
        labels: how many nodes to label, the largest first (True: every node, False:
            none). A label is the department's name in ``departments``, else the
            ``name`` node attribute, else its id.
        seed: fixes the spring layout.
        ax: the axes to draw on (None: a new figure).

    Returns:
        The axes: the nodes are the first collection (sizes in ``get_sizes()``, in
        sorted node order), the edges (widths by weight) the second.

    Raises:
        ConfigurationError: for an unknown ``size_by`` or ``layout``.
    """
    feature = "closedloop.plot.coordination_graph"
    _require(feature)
    import networkx as nx

    if size_by not in _SIZES:
        raise ConfigurationError(f"size_by is one of {', '.join(_SIZES)}, got {size_by!r}")
    graph: Any
    if isinstance(source, CoordinationGraph):
        graph = source.to_networkx()
    elif isinstance(source, nx.Graph):
        graph = source.copy()
    else:
        items = (
            list(source)
            if isinstance(source, Iterable) and not isinstance(source, str | bytes)
            else None
        )
        if items is not None and items and all(isinstance(i, HandlingRecord) for i in items):
            records: list[HandlingRecord] = [i for i in items if isinstance(i, HandlingRecord)]
        else:
            events = _events(source if items is None else items, feature)
            records = handling_records(e for e in events if isinstance(e, IssueEvent))
        graph = CoordinationGraph.from_records(records).to_networkx()
    light = [(a, b) for a, b, w in graph.edges(data="weight", default=1) if w < min_weight]
    graph.remove_edges_from(light)
    graph.remove_nodes_from([n for n in list(graph.nodes) if graph.degree(n) == 0])
    nodes = sorted(graph.nodes)
    axes = _axes(ax, feature, size=(8.0, 6.0))
    axes.set_axis_off()
    axes.set_title(f"Coordination graph (node size: {size_by})")
    if not nodes:
        axes.text(0.5, 0.5, "no co-handling", ha="center", va="center", transform=axes.transAxes)
        return axes
    if isinstance(layout, Mapping):
        positions = dict(layout)
    elif layout == "spring":
        positions = nx.spring_layout(graph, weight="weight", seed=seed)
    elif layout == "circular":
        positions = nx.circular_layout(sorted(graph.nodes))
    elif layout == "kamada_kawai":
        positions = nx.kamada_kawai_layout(graph, weight="distance")
    else:
        raise ConfigurationError(
            f"layout is 'spring', 'circular', 'kamada_kawai' or a mapping, got {layout!r}"
        )
    if size_by == "betweenness":
        for a, b, w in graph.edges(data="weight", default=1):
            graph.edges[a, b]["distance"] = 1.0 / w
        score = nx.betweenness_centrality(graph, weight="distance", normalized=True)
    elif size_by == "strength":
        score = dict(graph.degree(weight="weight"))
    else:
        score = dict(graph.degree())
    top = max(score.values()) or 1
    sizes = [100 + 900 * score[n] / top for n in nodes]
    edges = sorted(graph.edges(data="weight", default=1), key=lambda e: (e[0], e[1]))
    heaviest = max(w for _, _, w in edges)
    widths = [0.5 + 3.5 * w / heaviest for _, _, w in edges]
    nx.draw_networkx_nodes(
        graph, positions, nodelist=nodes, node_size=sizes, node_color="tab:orange", ax=axes
    )
    nx.draw_networkx_edges(
        graph,
        positions,
        edgelist=[(a, b) for a, b, _ in edges],
        width=widths,
        alpha=0.5,
        ax=axes,
    )
    count = len(nodes) if labels is True else int(labels)
    labelled = sorted(nodes, key=lambda n: (-score[n], n))[: max(count, 0)]
    if labelled:
        names = {n: _department_label(n, departments, graph.nodes[n].get("name")) for n in labelled}
        nx.draw_networkx_labels(graph, positions, labels=names, font_size=7, ax=axes)
    return axes


# -- policy variants -----------------------------------------------------------------


def compare_variants(
    source: object,
    figure: str = "time_to_solve_p50",
    *,
    reference: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Draw one figure of several policy variants: means with 95 % confidence intervals.

    Args:
        source: a :class:`~closedloop.Comparison`, a :class:`~closedloop.SweepResult`
            (each grid point a variant), or :class:`~closedloop.SimulationResult`
            values or their summaries (grouped by policy; see :func:`~closedloop.compare`).
        figure: a figure of :meth:`~closedloop.SimulationResult.summary`, e.g.
            ``"time_to_solve_p50"``, ``"problems_on_time"``, ``"visits"``, ``"meetings"``.
        reference: the reference variant, drawn first (default: as :func:`compare` picks).
        ax: the axes to draw on (None: a new figure).

    Returns:
        The axes: one bar per variant (height the mean across replications) with an
        error bar from the interval's low to high end (none with a single replication).

    Raises:
        ConfigurationError: when no variant has the figure.
    """
    feature = "closedloop.plot.compare_variants"
    _require(feature)
    comparison: Comparison
    if isinstance(source, Comparison):
        comparison = source
    elif isinstance(source, SweepResult):
        comparison = source.compare(figures=(figure,), reference=reference)
    else:
        if isinstance(source, str | bytes) or not isinstance(source, Iterable):
            raise TypeError(
                f"{feature} draws from a Comparison, a SweepResult or simulation results, "
                f"not {type(source).__name__}"
            )
        comparison = compare(source, figures=(figure,), reference=reference)
    order = [comparison.reference] + [v for v in comparison.variants if v != comparison.reference]
    variants = [v for v in order if figure in comparison.estimates[v]]
    if not variants:
        known = sorted({f for e in comparison.estimates.values() for f in e})
        raise ConfigurationError(
            f"no variant has the figure {figure!r}; the comparison has {', '.join(known)}"
        )
    estimates = [comparison.estimates[v][figure] for v in variants]
    means = [e.mean for e in estimates]
    below = [0.0 if math.isnan(e.low) else e.mean - e.low for e in estimates]
    above = [0.0 if math.isnan(e.high) else e.high - e.mean for e in estimates]
    axes = _axes(ax, feature, size=(max(5.0, 1.6 * len(variants) + 2), 4.0))
    colours = ["tab:gray" if v == comparison.reference else "tab:blue" for v in variants]
    axes.bar(variants, means, yerr=[below, above], capsize=6, color=colours)
    axes.set_title(figure)
    axes.set_ylabel(f"mean of {estimates[0].n} replication(s), 95% interval")
    if len(variants) > 3 or max(len(v) for v in variants) > 20:
        for tick in axes.get_xticklabels():
            tick.set_rotation(20)
            tick.set_horizontalalignment("right")
    return axes
