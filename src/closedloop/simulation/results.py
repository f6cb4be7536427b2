"""What a simulation run yields, and comparisons of policy variants across seeds.

A :class:`SimulationResult` carries the run's identity, the conservation counts
(issues arrived = solved + open + withdrawn), the article's headline figures (meetings
held, problems solved through the mechanism, people held accountable), grassroots
burden, time spent in meetings, the full metrics of the metrics module, and, when the
run kept it, the event log. :meth:`SimulationResult.summary` flattens the figures into
one dictionary, which is what sweeps and comparisons work with.

:func:`compare` summarises several replications of each variant: the mean of each
figure with a 95 % confidence interval (Student's t across replications), and the
difference between two variants with Welch's interval.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import attrs

from closedloop import _html
from closedloop.errors import ConfigurationError, MissingExtraError
from closedloop.lifecycle.state import Status
from closedloop.metrics import Distribution, IssueMetrics, Metrics

if TYPE_CHECKING:
    from closedloop.simulation.model import Simulation

__all__ = ["Comparison", "Estimate", "SimulationResult", "compare"]

HEADLINE = (
    "arrived",
    "problems_solved",
    "time_to_solve_p50",
    "time_to_solve_p90",
    "problems_on_time",
    "meetings",
    "visits",
    "cadre_days",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "reopen_rate",
    "handling_days_p50",
    "handling_days_p90",
    "resolution_days_p50",
    "resolution_days_p90",
    "accountability",
)
"""The figures reports show first."""


@attrs.frozen(eq=False)
class SimulationResult:
    """One replication's outcome.

    Attributes:
        scenario, policy: names.
        seed, replication: what fixed the random draws.
        start, end: the period simulated (inclusive).
        arrived: problems registered.
        solved: problems resolved by the end (resolved or archived), all levels.
        open: problems still waiting for a solution at the end.
        withdrawn: problems withdrawn.
        problems_solved: problems that needed the town or the city and were resolved
            (the article's "问题3227个" counts these).
        meetings_town, meetings_city: downward meetings held (镇会村开 / 市会镇开).
        visits, cadre_days: grassroots trips to upper departments, and the cadres'
            working days they cost (来回跑、多头跑、反复跑).
        leader_hours, department_hours: time spent in meetings by convening leaders
            and by the departments brought along.
        supervision_orders, accountability, sanctions, returns: counts.
        metrics: the metrics module's figures over the whole run.
        events: the event log, when the run kept it.
        steps: actions the event loop ran.
    """

    scenario: str
    policy: str
    seed: int
    replication: int
    start: date
    end: date
    arrived: int
    solved: int
    open: int
    withdrawn: int
    problems_solved: int
    meetings_town: int
    meetings_city: int
    visits: int
    cadre_days: float
    leader_hours: float
    department_hours: float
    supervision_orders: int
    accountability: int
    sanctions: int
    returns: int
    time_to_solve: Distribution
    """Working days from registration to resolution of the problems that needed the
    town or the city (the ones the mechanism is about)."""
    on_time_share: float | None
    """Share of those problems whose resolution met its deadline."""
    metrics: Metrics = attrs.field(repr=False)
    events: tuple[Any, ...] | None = attrs.field(default=None, repr=False)
    steps: int = 0

    @classmethod
    def collect(cls, simulation: Simulation) -> SimulationResult:
        """Gather the result of a finished simulation."""
        states = simulation.service.projection
        retired = simulation.retired
        arrived = solved = retired["solved"]
        problems = retired["problems_solved"]
        on_time = retired["problems_on_time"]
        open_ = withdrawn = 0
        days: list[int] = list(simulation.retired_days)
        between = simulation.calendar.workdays_between
        for state in states:
            arrived += 1
            if state.status in (Status.RESOLVED, Status.ARCHIVED):
                solved += 1
                if simulation.cases[state.issue_id].need != "village":
                    problems += 1
                    assert state.resolved_at is not None
                    days.append(between(state.registered_at, state.resolved_at))
                    on_time += bool(state.resolved_on_time)
            elif state.status is Status.WITHDRAWN:
                withdrawn += 1
            else:
                open_ += 1
        counters = simulation.counters
        metrics = simulation.metrics.metrics(calendar=simulation.calendar, at=simulation.end)
        events = None
        if simulation.keep_events:
            events = tuple(recorded.event for recorded in simulation.store.read_all())
        return cls(
            scenario=simulation.scenario.name,
            policy=simulation.policy.name,
            seed=simulation.seed,
            replication=simulation.replication,
            start=simulation.scenario.start,
            end=simulation.scenario.end,
            arrived=arrived,
            solved=solved,
            open=open_,
            withdrawn=withdrawn,
            problems_solved=problems,
            meetings_town=int(counters["meetings_town"]),
            meetings_city=int(counters["meetings_city"]),
            visits=int(counters["visits"]),
            cadre_days=float(counters["cadre_days"]),
            leader_hours=float(counters["leader_hours"]),
            department_hours=float(counters["department_hours"]),
            supervision_orders=int(counters["supervision_orders"]),
            accountability=int(counters["accountability"]),
            sanctions=int(counters["sanctions"]),
            returns=int(counters["returns"]),
            time_to_solve=Distribution.of(days),
            on_time_share=on_time / problems if problems else None,
            metrics=metrics,
            events=events,
            steps=simulation.loop.steps,
        )

    @property
    def meetings(self) -> int:
        """Downward meetings held, both levels."""
        return self.meetings_town + self.meetings_city

    @property
    def totals(self) -> IssueMetrics:
        """The metrics of all issues together."""
        return self.metrics.total

    def summary(self) -> dict[str, Any]:
        """The run's figures as one flat dictionary (names as in :data:`HEADLINE`, and more)."""
        total = self.metrics.total
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "policy": self.policy,
            "seed": self.seed,
            "replication": self.replication,
            "arrived": self.arrived,
            "solved": self.solved,
            "open": self.open,
            "withdrawn": self.withdrawn,
            "problems_solved": self.problems_solved,
            "meetings": self.meetings,
            "meetings_town": self.meetings_town,
            "meetings_city": self.meetings_city,
            "visits": self.visits,
            "cadre_days": self.cadre_days,
            "leader_hours": self.leader_hours,
            "department_hours": self.department_hours,
            "supervision_orders": self.supervision_orders,
            "accountability": self.accountability,
            "sanctions": self.sanctions,
            "returns": self.returns,
            "response_rate": total.response_rate,
            "resolution_rate": total.resolution_rate,
            "satisfaction_rate": total.satisfaction_rate,
            "on_time_rate": total.on_time_rate,
            "reopen_rate": total.reopen_rate,
            "deadline_misses": total.deadline_misses,
            "problems_on_time": self.on_time_share,
        }
        for stat in ("mean", "p50", "p90", "p95"):
            out[f"time_to_solve_{stat}"] = getattr(self.time_to_solve, stat)
        for name in ("handling_days", "resolution_days"):
            distribution = getattr(total, name)
            for stat in ("mean", "p50", "p90", "p95"):
                out[f"{name}_{stat}"] = getattr(distribution, stat)
        return out

    def to_columns(self) -> dict[str, list[Any]]:
        """The summary as columns of one row (no dependencies)."""
        return {key: [value] for key, value in self.summary().items()}

    def to_pandas(self) -> Any:
        """The summary as a one-row pandas DataFrame (extra ``pandas``)."""
        try:
            import pandas
        except ImportError:
            raise MissingExtraError("pandas", "SimulationResult.to_pandas") from None
        return pandas.DataFrame(self.to_columns())

    def report(self) -> str:
        """A readable summary of the run."""
        s = self.summary()
        lines = [
            (
                f"{self.scenario} under {self.policy} (seed {self.seed}, replication "
                f"{self.replication}), {self.start} to {self.end}"
            ),
            (
                f"  problems: {self.arrived} arrived, {self.solved} solved, {self.open} open, "
                f"{self.withdrawn} withdrawn; {self.problems_solved} needed the town or city and "
                f"were solved"
            ),
            (
                f"  meetings: {self.meetings} ({self.meetings_town} town→village, "
                f"{self.meetings_city} city→town); grassroots visits: {self.visits} "
                f"({self.cadre_days:.0f} cadre-days)"
            ),
            (
                f"  rates: response {_pct(s['response_rate'])}, resolution "
                f"{_pct(s['resolution_rate'])}, satisfaction {_pct(s['satisfaction_rate'])}, "
                f"on time {_pct(s['on_time_rate'])}, reopened {_pct(s['reopen_rate'])}"
            ),
            (
                f"  problems needing the town or city: solved in a median "
                f"{_num(s['time_to_solve_p50'])} working days (90th percentile "
                f"{_num(s['time_to_solve_p90'])}), {_pct(self.on_time_share)} on time"
            ),
            (
                f"  handling time of all problems (working days): median "
                f"{_num(s['handling_days_p50'])}, 90th percentile {_num(s['handling_days_p90'])}"
            ),
            (
                f"  supervision orders {self.supervision_orders}, accountability "
                f"{self.accountability} ({self.sanctions} with a disciplinary sanction)"
            ),
        ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        summary = self.summary()
        return _html.table(
            {"figure": list(summary), "value": list(summary.values())},
            caption=f"{self.scenario} / {self.policy}",
            max_rows=len(summary),
        )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


# -- comparisons -----------------------------------------------------------------------

# Two-sided 95 % Student t quantiles for 1..30 degrees of freedom.
_T95 = (
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
    2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
    2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
)  # fmt: skip


def _t95(df: float) -> float:
    if df < 1:
        return math.inf
    if df >= 30:
        return 1.96 + 2.4 / df  # close to the t quantile beyond 30 degrees of freedom
    low = int(df)
    high = min(low + 1, 30)
    frac = df - low
    return _T95[low - 1] * (1 - frac) + _T95[high - 1] * frac


@attrs.frozen
class Estimate:
    """A mean across replications with its 95 % confidence interval."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if math.isnan(self.low):
            return f"{self.mean:.4g}"
        return f"{self.mean:.4g} [{self.low:.4g}, {self.high:.4g}]"


def _estimate(values: Sequence[float]) -> Estimate:
    n = len(values)
    mean = statistics.fmean(values)
    if n < 2:
        return Estimate(mean, math.nan, math.nan, n)
    half = _t95(n - 1) * statistics.stdev(values) / math.sqrt(n)
    return Estimate(mean, mean - half, mean + half, n)


def _difference(a: Sequence[float], b: Sequence[float]) -> Estimate:
    """Mean of ``b`` minus mean of ``a`` with Welch's 95 % interval."""
    mean = statistics.fmean(b) - statistics.fmean(a)
    if len(a) < 2 or len(b) < 2:
        return Estimate(mean, math.nan, math.nan, min(len(a), len(b)))
    va = statistics.variance(a) / len(a)
    vb = statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return Estimate(mean, mean, mean, min(len(a), len(b)))
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = _t95(df) * se
    return Estimate(mean, mean - half, mean + half, min(len(a), len(b)))


@attrs.frozen
class Comparison:
    """Policy variants side by side: estimates per figure, and differences to a reference."""

    figures: tuple[str, ...]
    variants: tuple[str, ...]
    estimates: Mapping[str, Mapping[str, Estimate]]
    """variant → figure → estimate."""
    reference: str
    differences: Mapping[str, Mapping[str, Estimate]]
    """variant → figure → (variant − reference) estimate."""

    def table(self) -> str:
        """A plain-text table of the estimates and the differences to the reference.

        Cells read ``mean [low, high]`` (95 % interval); a single replication has no
        interval.
        """
        headers, rows = self._cells()
        widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

        def line(cells: list[str]) -> str:
            return "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )

        lines = [line(headers), "  ".join("-" * w for w in widths), *map(line, rows)]
        return "\n".join(lines)

    def _cells(self) -> tuple[list[str], list[list[str]]]:
        """Headers and rows of :meth:`table`, as text."""
        others = [v for v in self.variants if v != self.reference]
        headers = ["figure", *self.variants, *(f"{v} - {self.reference}" for v in others)]
        rows = []
        for figure in self.figures:
            cells = [figure]
            for variant in self.variants:
                estimate = self.estimates[variant].get(figure)
                cells.append(str(estimate) if estimate else "n/a")
            for variant in others:
                difference = self.differences[variant].get(figure)
                cells.append(str(difference) if difference else "n/a")
            rows.append(cells)
        return headers, rows

    def _repr_html_(self) -> str:
        headers, rows = self._cells()
        columns = {name: [row[i] for row in rows] for i, name in enumerate(headers)}
        return _html.table(
            columns,
            caption="Means with 95 % intervals, and differences to the reference",
            max_rows=len(rows),
        )

    def to_columns(self) -> dict[str, list[Any]]:
        """Long format: one row per variant and figure."""
        out: dict[str, list[Any]] = {
            k: [] for k in ("variant", "figure", "mean", "low", "high", "n")
        }
        for variant in self.variants:
            for figure, estimate in self.estimates[variant].items():
                for key, value in zip(
                    out,
                    (variant, figure, estimate.mean, estimate.low, estimate.high, estimate.n),
                    strict=True,
                ):
                    out[key].append(value)
        return out


def compare(
    results: Iterable[SimulationResult] | Iterable[Mapping[str, Any]],
    *,
    figures: Sequence[str] = HEADLINE,
    reference: str | None = None,
) -> Comparison:
    """Compare policy variants across replications.

    ``results`` are :class:`SimulationResult` values or their :meth:`summary` dicts
    (grouped by their ``policy``). ``reference`` is the variant differences are taken
    against (default: ``"baseline"`` if present, else the first variant).
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        summary = result.summary() if isinstance(result, SimulationResult) else result
        groups.setdefault(str(summary["policy"]), []).append(summary)
    if not groups:
        raise ConfigurationError("compare() needs at least one result")
    variants = tuple(groups)
    if reference is None:
        reference = "baseline" if "baseline" in groups else variants[0]
    if reference not in groups:
        raise ConfigurationError(f"no results for the reference variant {reference!r}")

    def values(variant: str, figure: str) -> list[float]:
        return [float(s[figure]) for s in groups[variant] if s.get(figure) is not None]

    estimates = {v: {f: _estimate(values(v, f)) for f in figures if values(v, f)} for v in variants}
    differences = {
        v: {
            f: _difference(values(reference, f), values(v, f))
            for f in figures
            if values(v, f) and values(reference, f)
        }
        for v in variants
        if v != reference
    }
    return Comparison(tuple(figures), variants, estimates, reference, differences)
