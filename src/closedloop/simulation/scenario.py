"""What a simulation runs on: the world, the demand for coordination, and behaviour.

A :class:`Scenario` is a plain value. It names the hierarchy, departments and
responsibility matrix (the same objects an embedder uses), the period, and the models
that draw the random parts of the world:

* :class:`ArrivalModel`: problems arise at village-level units as Poisson processes
  during working hours (or every day, if reporting on holidays is allowed), with a
  monthly seasonality;
* :class:`NeedModel`: the mix of categories and difficulties, and how far up a problem
  must go before it can be solved (village, town or city);
* :class:`HandlingModel`: department capacity and handling times in working days;
* :class:`BehaviourModel`: how departments pass the buck, how long grassroots visits
  take, and how evaluators judge.

Rates are per unit and per *working day*, times in *working days*: the simulation
turns them into instants on the scenario's working-day calendar and its working hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import Any

import attrs

from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.departments import Departments, ResponsibilityMatrix
from closedloop.errors import ConfigurationError
from closedloop.hierarchy import Hierarchy
from closedloop.workdays import WorkCalendar

__all__ = [
    "ArrivalModel",
    "BehaviourModel",
    "HandlingModel",
    "NeedModel",
    "Scenario",
]


def probability(_instance: object, attribute: Any, value: float) -> None:
    """attrs validator: a probability in [0, 1]."""
    if not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{attribute.name} is a probability in [0, 1], got {value}")


def _positive(_instance: object, attribute: Any, value: float) -> None:
    if not value > 0:
        raise ConfigurationError(f"{attribute.name} must be > 0, got {value}")


def non_negative(_instance: object, attribute: Any, value: float) -> None:
    """attrs validator: a number >= 0."""
    if not value >= 0:
        raise ConfigurationError(f"{attribute.name} must be >= 0, got {value}")


def _weights(value: Mapping[Any, float]) -> Mapping[Any, float]:
    items = dict(value)
    if not items or any(w < 0 for w in items.values()) or sum(items.values()) <= 0:
        raise ConfigurationError(f"weights must be non-negative with a positive sum, got {items}")
    return MappingProxyType(items)


def _difficulty_weights(value: Mapping[Any, float]) -> Mapping[Difficulty, float]:
    return _weights({Difficulty(k): v for k, v in dict(value).items()})


def _seasonality(value: Any) -> tuple[float, ...]:
    factors = tuple(float(v) for v in value)
    if len(factors) != 12 or any(f < 0 for f in factors):
        raise ConfigurationError("seasonality is twelve non-negative monthly factors")
    return factors


@attrs.frozen
class ArrivalModel:
    """Problems arising at village-level units.

    Attributes:
        rate: mean problems per village-level unit per working day.
        seasonality: a factor per calendar month (January first) multiplying ``rate``.
        on_holidays: whether problems are also reported on days off (at the day rate).
    """

    rate: float = attrs.field(validator=_positive)
    seasonality: tuple[float, ...] = attrs.field(default=(1.0,) * 12, converter=_seasonality)
    on_holidays: bool = False


@attrs.frozen
class NeedModel:
    """What problems are about and how far up they must go.

    Attributes:
        categories: weights of issue categories (keys of the responsibility matrix).
        difficulties: weights of difficulties.
        solved_locally: chance a problem is solved at its own (village) level.
        needs_city: chance a problem the village cannot solve also needs the city
            (otherwise the town can solve it with its sections).
    """

    categories: Mapping[str, float] = attrs.field(converter=_weights)
    difficulties: Mapping[Difficulty, float] = attrs.field(converter=_difficulty_weights)
    solved_locally: float = attrs.field(default=0.6, validator=probability)
    needs_city: float = attrs.field(default=0.3, validator=probability)


def _mean_days(value: Mapping[Any, float]) -> Mapping[Difficulty, float]:
    days = {Difficulty(k): float(v) for k, v in dict(value).items()}
    missing = [d.value for d in Difficulty if d not in days]
    if missing or any(v <= 0 for v in days.values()):
        raise ConfigurationError(
            f"handling days need a positive mean per difficulty; missing {missing}"
        )
    return MappingProxyType(days)


@attrs.frozen
class HandlingModel:
    """How long departments take and how many cases they carry at once.

    Handling time in working days is drawn from a gamma distribution with the mean for
    the issue's difficulty and shape ``shape`` (larger is less spread), and times
    ``reopened_factor`` in a reopened cycle. Co-handling departments add to it in one
    of two ways. When they coordinated at a meeting they work in parallel, and each
    multiplies the time by ``per_extra_department``. Otherwise (the baseline) each does
    its part after the previous one, a part drawn with mean ``co_share`` times the
    lead's mean: multi-department problems need sequential rounds.

    Attributes:
        mean_days: mean handling time per difficulty, in working days.
        shape: gamma shape.
        capacity: cases a department works on at once; more wait in its queue.
        per_extra_department: multiplier per co-handler coordinated at a meeting.
        co_share: a co-handler's sequential part, relative to the lead's mean.
        reopened_factor: multiplier for a reopened cycle.
        local_mean_days: mean time a village committee takes for a local problem.
    """

    mean_days: Mapping[Difficulty, float] = attrs.field(converter=_mean_days)
    shape: float = attrs.field(default=2.0, validator=_positive)
    capacity: int = attrs.field(default=4, validator=_positive)
    per_extra_department: float = attrs.field(default=1.15, validator=_positive)
    co_share: float = attrs.field(default=0.5, validator=_positive)
    reopened_factor: float = attrs.field(default=0.6, validator=_positive)
    local_mean_days: float = attrs.field(default=0.5, validator=_positive)


@attrs.frozen
class BehaviourModel:
    """How people behave: buck-passing, visits, evaluation.

    Attributes:
        buck_passing: chance a department visited by a grassroots cadre sends them away
            (to come back later or see another department) instead of taking its part.
        return_rate: chance the lead department returns an assignment as misrouted.
        visit_days: working days a cadre spends on one visit to a department of the town.
        city_visit_days: the same for a department of the city (a trip to the city).
        revisit_days: working days before a cadre sent away can come back.
        satisfied_on_time: chance an evaluator is satisfied with an on-time resolution.
        satisfied_late: the same for a late one.
        evaluation_delay_days: working days between resolution and evaluation.
        third_party_share: share of evaluations made by the third-party survey (the
            rest by the reporter, or by a reform experience officer for a tenth of them).
    """

    buck_passing: float = attrs.field(default=0.25, validator=probability)
    return_rate: float = attrs.field(default=0.08, validator=probability)
    visit_days: float = attrs.field(default=0.5, validator=non_negative)
    city_visit_days: float = attrs.field(default=1.0, validator=non_negative)
    revisit_days: float = attrs.field(default=2.0, validator=non_negative)
    satisfied_on_time: float = attrs.field(default=0.93, validator=probability)
    satisfied_late: float = attrs.field(default=0.7, validator=probability)
    evaluation_delay_days: float = attrs.field(default=2.0, validator=non_negative)
    third_party_share: float = attrs.field(default=0.5, validator=probability)


@attrs.frozen(eq=False)
class Scenario:
    """The world a simulation runs in.

    Attributes:
        name: what the scenario is called in results.
        hierarchy: the administrative tree; problems arise at its leaves.
        departments: departments (town sections, city bureaus, outside bodies).
        matrix: the responsibility matrix that routes problems to departments.
        calendar: the working-day calendar (with working hours) time runs on.
        deadline_policy: the deadline policy in force.
        start: first day simulated.
        end: last day simulated (inclusive).
        arrivals, needs, handling, behaviour: the models above.
        meeting_pauses: periods (first day, last day) in which no downward meeting is
            held, e.g. an epidemic lockdown.
    """

    name: str
    hierarchy: Hierarchy
    departments: Departments
    matrix: ResponsibilityMatrix
    calendar: WorkCalendar
    deadline_policy: DeadlinePolicy
    start: date
    end: date
    arrivals: ArrivalModel
    needs: NeedModel
    handling: HandlingModel
    behaviour: BehaviourModel = attrs.field(factory=BehaviourModel)
    meeting_pauses: tuple[tuple[date, date], ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ConfigurationError(f"scenario {self.name!r} ends before it starts")
        if self.calendar.working_hours is None:
            raise ConfigurationError(
                f"scenario {self.name!r}: the calendar needs working hours "
                f"(calendar.with_working_hours('08:30-12:00, 13:30-17:30'))"
            )
        unknown = sorted(set(self.needs.categories) - set(self.matrix.categories))
        if unknown:
            raise ConfigurationError(
                f"scenario {self.name!r}: categories {unknown} are not in the responsibility matrix"
            )

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with some attributes replaced (for sweeps)."""
        return attrs.evolve(self, **changes)
