"""Sweeps: a grid of parameters times seeds, run on any ``concurrent.futures.Executor``.

:func:`run_sweep` expands a grid (parameter name → values) into every combination,
runs each combination once per seed, and gathers one row per run: the parameters, the
seed and the run's :meth:`~closedloop.simulation.SimulationResult.summary`. Jobs only
carry plain values and a top-level builder function, so they travel to any executor:
a process pool (the default), a thread pool, or a Dask cluster's
``client.get_executor()``. Every job's randomness is fixed by its seed before it is
submitted, and rows are put back in grid order, so the result is the same whatever
the executor and whatever order the jobs finish in.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any

import attrs

from closedloop import _html
from closedloop.deadlines import DeadlinePolicy, Difficulty, TimeLimit
from closedloop.errors import ClosedLoopError, ConfigurationError, MissingExtraError
from closedloop.meetings import HolidayRule, OffDays, WeeklyCadence
from closedloop.simulation.model import simulate
from closedloop.simulation.policies import Baseline, DownwardMeetings, Knobs, Policy
from closedloop.simulation.results import HEADLINE, Comparison, compare
from closedloop.simulation.scenario import Scenario, _is_whole

__all__ = ["SweepResult", "grid_points", "run_sweep", "yiwu_variant"]

Builder = Callable[[Mapping[str, Any]], tuple[Scenario, Policy]]
"""Makes the scenario and policy of one grid point (a top-level function, so it pickles)."""

Progress = Callable[[int, int], None]
"""Called with (jobs done, jobs in all) as jobs finish."""


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in a stable order (the last name fastest).

    Raises:
        ConfigurationError: when the grid is not a mapping of parameter names to
            non-empty lists of distinct values (a single value goes in a list too:
            ``{"supervision": [0.5]}``).
    """
    if not isinstance(grid, Mapping):
        raise ConfigurationError(f"a grid maps parameter names to lists of values, got {grid!r}")
    names = list(grid)
    columns: list[list[Any]] = []
    for name in names:
        values = grid[name]
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"grid parameters are named by strings, got {name!r}")
        if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
            raise ConfigurationError(
                f"grid parameter {name!r} needs a non-empty list of values, got {values!r} "
                f"(write [{values!r}] for a single value)"
            )
        column = list(values)
        if not column:
            raise ConfigurationError(f"grid parameter {name!r} needs a non-empty list of values")
        for index, value in enumerate(column):
            if any(_same(value, other) for other in column[:index]):
                raise ConfigurationError(
                    f"grid parameter {name!r} lists {value!r} more than once; each grid "
                    f"point must be a different variant"
                )
        columns.append(column)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*columns)]


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # values that cannot be compared (arrays): not the same
        return False


_KNOB_NAMES = {f.name for f in attrs.fields(Knobs)} - {"deadline_policy"}
_SCENARIO_KNOBS = {"arrival_rate", "solved_locally", "needs_city", "capacity", "buck_passing"}


def yiwu_variant(params: Mapping[str, Any]) -> tuple[Scenario, Policy]:
    """The Yiwu scenario and a policy, changed by ``params``.

    Recognised parameters:

    * ``policy``: ``"baseline"`` or ``"downward_meetings"`` (default);
    * every field of :class:`~closedloop.simulation.Knobs` except the deadline policy
      (``supervision``, ``deterrence``, ``task_force_threshold``, ...);
    * ``deadlines``: ``(simple, complex, difficult)`` limits in working days (0 means
      the same day), e.g. ``(1, 5, 30)``;
    * ``town_every_weeks``: town meetings every n weeks; ``town_weekday``;
      ``city_meetings_per_month`` (rounds of visits to each town a month);
      ``max_agenda``; ``max_attendees`` (these shape the downward-meetings policy
      only; a baseline point ignores them);
    * scenario knobs: ``arrival_rate``, ``solved_locally``, ``needs_city``,
      ``capacity``, ``buck_passing``.

    Values are checked, not coerced: a number given as a string, a fractional
    capacity or an unknown policy is refused.

    Raises:
        ConfigurationError: for an unknown parameter or a value of the wrong kind or
            out of range (naming the parameter, the value and what is allowed).
    """
    from closedloop.simulation.yiwu import YIWU_KNOBS, yiwu_scenario

    if not isinstance(params, Mapping):
        raise ConfigurationError(f"sweep parameters come as a mapping, got {params!r}")

    unknown = (
        set(params)
        - _KNOB_NAMES
        - _SCENARIO_KNOBS
        - {
            "policy",
            "deadlines",
            "town_every_weeks",
            "town_weekday",
            "city_meetings_per_month",
            "max_agenda",
            "max_attendees",
        }
    )
    if unknown:
        raise ConfigurationError(f"unknown sweep parameter(s) {sorted(unknown)}")
    name = params.get("policy", "downward_meetings")
    if name not in ("baseline", "downward_meetings"):
        raise ConfigurationError(f"policy is 'baseline' or 'downward_meetings', got {name!r}")
    scenario = yiwu_scenario()
    changes: dict[str, Any] = {}
    if "arrival_rate" in params:
        rate = params["arrival_rate"]
        changes["arrivals"] = _evolve("arrival_rate", scenario.arrivals, rate=rate)
    needs = {k: params[k] for k in ("solved_locally", "needs_city") if k in params}
    if needs:
        changes["needs"] = _evolve(", ".join(needs), scenario.needs, **needs)
    if "capacity" in params:
        changes["handling"] = _evolve("capacity", scenario.handling, capacity=params["capacity"])
    if "buck_passing" in params:
        changes["behaviour"] = _evolve(
            "buck_passing", scenario.behaviour, buck_passing=params["buck_passing"]
        )
    if changes:
        scenario = scenario.with_changes(**changes)
    knob_values = {k: params[k] for k in _KNOB_NAMES if k in params}
    if "deadlines" in params:
        simple, complex_, difficult = _deadlines(params["deadlines"])
        knob_values["deadline_policy"] = DeadlinePolicy(
            "sweep",
            f"{simple}/{complex_}/{difficult}",
            {
                Difficulty.SIMPLE: _limit(simple),
                Difficulty.COMPLEX: _limit(complex_),
                Difficulty.DIFFICULT: _limit(difficult),
            },
        )
    knobs = attrs.evolve(YIWU_KNOBS, **knob_values)
    if name == "baseline":
        return scenario, Baseline(knobs=knobs)
    meeting: dict[str, Any] = {}
    if "town_every_weeks" in params or "town_weekday" in params:
        meeting["town_cadence"] = WeeklyCadence(
            params.get("town_weekday", "Sat"),
            every=params.get("town_every_weeks", 1),
            rule=HolidayRule.SKIP,
            off_days=OffDays.HOLIDAYS,
        )
    if "city_meetings_per_month" in params:
        meeting["city_rounds_per_month"] = params["city_meetings_per_month"]
    for key in ("max_agenda", "max_attendees"):
        if key in params:
            meeting[key] = params[key]
    return scenario, DownwardMeetings(knobs=knobs, **meeting)


def _evolve(parameter: str, model: Any, **changes: Any) -> Any:
    """``attrs.evolve``, with the sweep parameter named in a refusal."""
    try:
        return attrs.evolve(model, **changes)
    except ConfigurationError as error:
        raise ConfigurationError(f"sweep parameter {parameter}: {error}") from None


def _deadlines(value: object) -> tuple[int, int, int]:
    allowed = "three whole numbers of working days >= 0 (simple, complex, difficult)"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(f"deadlines must be {allowed}, got {value!r}")
    days = tuple(value)
    if len(days) != 3 or not all(_is_whole(d, 0) for d in days):
        raise ConfigurationError(f"deadlines must be {allowed}, got {value!r}")
    return int(days[0]), int(days[1]), int(days[2])


def _limit(days: int) -> TimeLimit:
    return TimeLimit.same_day() if days == 0 else TimeLimit.working_days(days)


def _as_whole(value: object) -> int | None:
    return int(value) if _is_whole(value) else None  # type: ignore[call-overload]


def _describe_point(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{name}={value!r}" for name, value in point.items()) or "the default"


def _check_points(builder: Builder, points: Sequence[dict[str, Any]]) -> None:
    """Build every grid point once, so that a bad one is refused before any job runs.

    Raises:
        ConfigurationError: naming the first point the builder refuses, with its
            message (a ``ClosedLoopError``, ``ValueError`` or ``TypeError`` from the
            builder is the caller's error; anything else is a bug and propagates).
    """
    for point in points:
        try:
            builder(point)
        except (ClosedLoopError, ValueError, TypeError) as exc:
            raise ConfigurationError(f"sweep point {_describe_point(point)}: {exc}") from None


def _run_job(builder: Builder, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One sweep job: build, simulate, summarise (runs in the worker)."""
    scenario, policy = builder(params)
    summary = simulate(scenario, policy, seed=seed).summary()
    return {**{f"param_{k}": v for k, v in params.items()}, **summary}


@attrs.frozen
class SweepResult:
    """The rows of a sweep, one per (grid point, seed), in grid order then seed order."""

    grid: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    rows: tuple[dict[str, Any], ...]

    def to_columns(self) -> dict[str, list[Any]]:
        """Columns of the rows (no dependencies)."""
        keys: list[str] = []
        for row in self.rows:
            keys.extend(k for k in row if k not in keys)
        return {k: [row.get(k) for row in self.rows] for k in keys}

    def _repr_html_(self) -> str:
        points, seeds = len(self.grid), len(self.seeds)
        return _html.table(
            self.to_columns(),
            caption=(
                f"Sweep: {points} grid point{'s' if points != 1 else ''} × {seeds} "
                f"seed{'s' if seeds != 1 else ''}, {len(self.rows):,} rows"
            ),
        )

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame (extra ``pandas``)."""
        try:
            import pandas
        except ImportError:
            raise MissingExtraError("pandas", "SweepResult.to_pandas") from None
        return pandas.DataFrame(self.to_columns())

    def compare(
        self, *, figures: Sequence[str] = HEADLINE, reference: str | None = None
    ) -> Comparison:
        """Grid points compared across seeds (each point named by its parameters).

        Raises:
            ConfigurationError: for an unknown reference (see :func:`compare`).
        """
        labelled = []
        for row in self.rows:
            label = ", ".join(
                f"{k[len('param_') :]}={row[k]}" for k in row if k.startswith("param_")
            )
            labelled.append({**row, "policy": label or row["policy"]})
        return compare(labelled, figures=figures, reference=reference)


def run_sweep(
    grid: Mapping[str, Sequence[Any]],
    *,
    seeds: int | Iterable[int] = 5,
    builder: Builder = yiwu_variant,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Run every grid point once per seed and gather the results.

    Args:
        grid: parameter name → values to try (see :func:`yiwu_variant` for the default
            builder's parameters). ``{}`` runs one point.
        seeds: a number of seeds (``0 .. n-1``) or the seeds themselves.
        builder: makes (scenario, policy) from a grid point; a top-level function.
        executor: any ``concurrent.futures.Executor`` (default: a process pool with one
            worker per CPU, shut down afterwards). Only ``submit`` is used.
        progress: called with (jobs done, jobs in all) as jobs finish.

    Returns rows in grid order, then seed order, whatever the completion order.

    Every grid point is built once before any job is submitted, so a point the
    builder refuses stops the sweep before anything runs.

    Raises:
        ConfigurationError: for a malformed grid (see :func:`grid_points`), no seeds,
            a seed that is not a whole number, the same seed twice (replications
            must be independent), or a grid point the builder refuses (naming the
            point, with the builder's message).
    """
    points = grid_points(grid) if grid else [{}]
    count = _as_whole(seeds)
    if count is not None:
        seed_list: tuple[int, ...] = tuple(range(count))
    elif isinstance(seeds, str | bytes) or not isinstance(seeds, Iterable):
        raise ConfigurationError(
            f"seeds is a number of seeds or a list of whole-number seeds, got {seeds!r}"
        )
    else:
        seed_list = tuple(seeds)
        bad = [s for s in seed_list if not _is_whole(s)]
        if bad:
            raise ConfigurationError(f"seeds must be whole numbers, got {bad!r}")
        repeated = sorted({s for s in seed_list if seed_list.count(s) > 1})
        if repeated:
            raise ConfigurationError(
                f"seeds {repeated} appear more than once: a repeated seed repeats the run, "
                f"and comparisons would count it as an independent replication"
            )
    if not seed_list:
        raise ConfigurationError("a sweep needs at least one seed")
    if not callable(builder):
        raise ConfigurationError(f"builder must be a function of a grid point, got {builder!r}")
    _check_points(builder, points)
    jobs = [(i, s, point) for i, point in enumerate(points) for s in seed_list]
    own = executor is None
    pool: Executor = (
        ProcessPoolExecutor(max_workers=os.cpu_count() or 1) if executor is None else executor
    )
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    try:
        futures: dict[Future[dict[str, Any]], tuple[int, int]] = {
            pool.submit(_run_job, builder, point, seed): (index, seed)
            for index, seed, point in jobs
        }
        for done, future in enumerate(as_completed(futures), start=1):
            rows[futures[future]] = future.result()
            if progress is not None:
                progress(done, len(jobs))
    finally:
        if own:
            pool.shutdown()
    ordered = tuple(rows[(index, seed)] for index, seed, _ in jobs)
    return SweepResult(tuple(points), seed_list, ordered)
