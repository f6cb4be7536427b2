"""What a simulation run yields, and comparisons of policy variants across seeds.

A :class:`SimulationResult` carries the run's identity, the conservation counts
(issues arrived = solved + open + withdrawn), the article's headline figures (meetings
held, problems solved through the mechanism, people held accountable), grassroots
burden, time spent in meetings, the full metrics of the metrics module, and, when the
run kept it, the event log. :meth:`SimulationResult.summary` flattens the figures into
one dictionary, which is what sweeps and comparisons work with.

:func:`compare` summarises several replications of each variant: the mean of each
figure with a 95 % confidence interval (Student's t across replications), and the
difference between two variants with Welch's interval. Variants are told apart by the
policy's ``name``; every result also carries a fingerprint of its configuration (the
scenario and the policy's settings), so results that share a name but not a
configuration, or the same seed twice, are refused rather than pooled.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
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
    from closedloop.lifecycle.state import IssueState
    from closedloop.simulation.model import Simulation
    from closedloop.simulation.policies import Policy
    from closedloop.simulation.scenario import Scenario
    from closedloop.workdays import WorkCalendar

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

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def configuration_fingerprint(scenario: Scenario, policy: Policy) -> str:
    """A short stable digest of a run's configuration: the scenario and the policy.

    Two runs have the same fingerprint when their scenarios (name, period, hierarchy,
    departments, matrix, calendar, deadline policy, models, pauses) and policies
    (every setting and knob, and the name) print the same. Seeds are not part of it.
    The digest is the same in every process (no ``hash()``).
    """
    parts = [
        repr(policy),
        scenario.name,
        scenario.start.isoformat(),
        scenario.end.isoformat(),
        repr(scenario.arrivals),
        repr(scenario.needs),
        repr(scenario.handling),
        repr(scenario.behaviour),
        repr(scenario.deadline_policy),
        repr(scenario.meeting_pauses),
        repr(scenario.calendar),
        repr(scenario.calendar.working_hours),
        repr(scenario.matrix),
        *(repr(sorted(unit.as_row().items(), key=str)) for unit in scenario.hierarchy),
        *(repr(department) for department in scenario.departments),
    ]
    text = _ADDRESS.sub("", "\n".join(parts))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


@attrs.define
class SolvedTally:
    """Problems solved, counted one at a time.

    A metrics-only run counts each problem as it archives and forgets it;
    :meth:`SimulationResult.collect` counts, on a copy, those still in the read model.
    """

    solved: int = 0
    """Problems resolved (or archived), all levels."""
    problems: int = 0
    """Of those, the problems that needed the town or the city."""
    on_time: int = 0
    """Of ``problems``, those whose resolution met its deadline."""
    days: list[int] = attrs.Factory(list)
    """Of ``problems``, the working days from registration to resolution."""

    def add(self, state: IssueState, need: str, calendar: WorkCalendar) -> None:
        """Count a resolved problem (``need``: "village", "town" or "city")."""
        self.solved += 1
        if need != "village":
            self.problems += 1
            assert state.resolved_at is not None
            self.days.append(calendar.workdays_between(state.registered_at, state.resolved_at))
            self.on_time += bool(state.resolved_on_time)

    def copy(self) -> SolvedTally:
        """An independent copy, to count more on."""
        return SolvedTally(self.solved, self.problems, self.on_time, list(self.days))


@attrs.frozen(eq=False)
class SimulationResult:
    """One replication's outcome.

    Attributes:
        scenario, policy: names (the policy's ``name``: the variant).
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
        configuration: the fingerprint of the scenario and policy
            (the same in every process); :func:`compare` refuses to pool results
            of one name with different fingerprints.
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
    configuration: str = ""

    @classmethod
    def collect(cls, simulation: Simulation) -> SimulationResult:
        """Gather the result of a finished simulation."""
        states = simulation.service.projection
        tally = simulation.retired.copy()
        arrived = tally.solved
        open_ = withdrawn = 0
        for state in states:
            arrived += 1
            if state.status in (Status.RESOLVED, Status.ARCHIVED):
                tally.add(state, simulation.cases[state.issue_id].need, simulation.calendar)
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
            solved=tally.solved,
            open=open_,
            withdrawn=withdrawn,
            problems_solved=tally.problems,
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
            time_to_solve=Distribution.of(tally.days),
            on_time_share=tally.on_time / tally.problems if tally.problems else None,
            metrics=metrics,
            events=events,
            steps=simulation.loop.steps,
            configuration=configuration_fingerprint(simulation.scenario, simulation.policy),
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
            "configuration": self.configuration,
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

_Z975 = 1.959963984540054
"""The 97.5 % quantile of the standard normal distribution."""


def _incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c = 1.0
    d = 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1.0) < 1e-15:
            break
    return h


def _t_tail(t: float, df: float) -> float:
    """P(|T| > t) for Student's t with ``df`` degrees of freedom (t >= 0)."""
    return _incomplete_beta(df / 2, 0.5, df / (df + t * t))


@functools.lru_cache(maxsize=4096)
def _t95(df: float) -> float:
    """The two-sided 95 % quantile of Student's t, for any df > 0 (fractional too).

    Solves P(|T| > t) = 0.05 by Newton's method on the t density, kept inside a
    bracket (bisection when a step leaves it), from a Cornish-Fisher start.
    """
    if not df > 0:
        return math.inf
    if df == math.inf:
        return _Z975
    z = _Z975
    start = (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )
    low, high = z, max(start, z * 2)
    while _t_tail(high, df) > 0.05:
        low, high = high, high * 2
        if high > 1e300:
            return math.inf
    log_density = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    t = min(max(start, low), high)
    for _ in range(200):
        excess = _t_tail(t, df) - 0.05
        if excess == 0:
            return t
        if excess > 0:
            low = t
        else:
            high = t
        density = math.exp(log_density - (df + 1) / 2 * math.log1p(t * t / df))
        step = t + excess / (2 * density) if density > 0 else math.nan
        following = step if low < step < high else (low + high) / 2
        if abs(following - t) <= 1e-14 * t or high - low <= 1e-14 * high:
            return following
        t = following
    return t


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

    ``results`` are :class:`SimulationResult` values or their :meth:`summary` dicts,
    grouped by their ``policy`` (the policy's ``name``). ``reference`` is the variant
    differences are taken against (default: ``"baseline"`` if present, else the first
    variant). Each variant's results must be independent replications of one
    configuration.

    Raises:
        ConfigurationError: for no results, an unknown reference, results of one name
            whose configurations differ (name the variants apart, e.g.
            ``DownwardMeetings(..., name="monthly")``), or the same seed and
            replication twice in one variant.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for result in results:
        summary = result.summary() if isinstance(result, SimulationResult) else result
        groups.setdefault(str(summary["policy"]), []).append(summary)
    if not groups:
        raise ConfigurationError("compare() needs at least one result")
    for variant, summaries in groups.items():
        _check_replications(variant, summaries)
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


def _check_replications(variant: str, summaries: Sequence[Mapping[str, Any]]) -> None:
    """Refuse to pool different configurations, or one replication twice, as one variant."""
    configurations = {s.get("configuration") for s in summaries} - {None, ""}
    if len(configurations) > 1:
        scenarios = sorted({str(s.get("scenario")) for s in summaries})
        raise ConfigurationError(
            f"the results named {variant!r} come from {len(configurations)} different "
            f"configurations (scenario {', '.join(scenarios)}; the scenario or the policy's "
            f"settings differ), and pooling them would mix variants. Give each variant its "
            f"own name, e.g. DownwardMeetings(..., name='monthly'), or run them as a sweep "
            f"(SweepResult.compare names each grid point by its parameters)"
        )
    seen: set[tuple[Any, ...]] = set()
    for summary in summaries:
        key = (summary.get("configuration"), summary.get("seed"), summary.get("replication"))
        if key[1] is None:
            continue
        if key in seen:
            raise ConfigurationError(
                f"the results named {variant!r} hold seed {key[1]} (replication {key[2]}) "
                f"more than once; replications must be independent runs, so give each a "
                f"different seed or replication"
            )
        seen.add(key)
