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

import math
import numbers
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

import attrs

from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.departments import Departments, ResponsibilityMatrix
from closedloop.errors import ConfigurationError, CoverageError
from closedloop.hierarchy import Hierarchy
from closedloop.workdays import WorkCalendar

__all__ = [
    "ArrivalModel",
    "BehaviourModel",
    "HandlingModel",
    "NeedModel",
    "Scenario",
]


def _is_real(value: object) -> bool:
    """A real number (int or float, numpy's too), not a bool and not a string."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_whole(value: object, minimum: int | None = None) -> bool:
    """A whole number (int, numpy's too), not a bool; at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return False
    return minimum is None or int(value) >= minimum


def _refuse(name: str, value: object, allowed: str) -> ConfigurationError:
    return ConfigurationError(f"{name} must be {allowed}, got {value!r}")


def probability(_instance: object, attribute: Any, value: float) -> None:
    """attrs validator: a probability, a number in [0, 1]."""
    if not (_is_real(value) and 0.0 <= value <= 1.0):
        raise _refuse(attribute.name, value, "a probability (a number in [0, 1])")


def positive(_instance: object, attribute: Any, value: float) -> None:
    """attrs validator: a finite number > 0."""
    if not (_is_real(value) and 0 < value < math.inf):
        raise _refuse(attribute.name, value, "a finite number > 0")


def non_negative(_instance: object, attribute: Any, value: float) -> None:
    """attrs validator: a finite number >= 0."""
    if not (_is_real(value) and 0 <= value < math.inf):
        raise _refuse(attribute.name, value, "a finite number >= 0")


def integral(value: Any) -> Any:
    """attrs converter: a numpy integer becomes an ``int`` (the domain takes plain ints);
    anything else is left for the validator to judge."""
    return int(value) if type(value) is not int and _is_whole(value) else value


def whole(minimum: int, *, optional: bool = False, none_means: str = "") -> Any:
    """attrs validator: a whole number >= ``minimum`` (or None, when ``optional``)."""
    allowed = f"a whole number >= {minimum}" + (f" or None ({none_means})" if optional else "")

    def check(_instance: object, attribute: Any, value: int | None) -> None:
        if value is None and optional:
            return
        if not _is_whole(value, minimum):
            raise _refuse(attribute.name, value, allowed)

    return check


def flag(_instance: object, attribute: Any, value: bool) -> None:
    """attrs validator: True or False."""
    if not isinstance(value, bool):
        raise _refuse(attribute.name, value, "True or False")


def _weights(value: Mapping[Any, float], what: str = "weights") -> Mapping[Any, float]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"{what} must be a mapping of key to weight, got {value!r}")
    items = dict(value)
    if (
        not items
        or not all(_is_real(w) and 0 <= w < math.inf for w in items.values())
        or sum(items.values()) <= 0
    ):
        raise ConfigurationError(
            f"{what} must be finite non-negative numbers with a positive sum, got {items}"
        )
    return MappingProxyType(items)


def _category_weights(value: Mapping[Any, float]) -> Mapping[str, float]:
    weights = _weights(value, "categories")
    bad = [k for k in weights if not isinstance(k, str) or not k]
    if bad:
        raise ConfigurationError(f"categories are named by non-empty strings, got {bad!r}")
    return weights


def _difficulty(key: object, what: str) -> Difficulty:
    try:
        return Difficulty(key)
    except ValueError:
        known = ", ".join(d.value for d in Difficulty)
        raise ConfigurationError(f"{what}: {key!r} is not a difficulty ({known})") from None


def _difficulty_weights(value: Mapping[Any, float]) -> Mapping[Difficulty, float]:
    if not isinstance(value, Mapping):
        raise _refuse("difficulties", value, "a mapping of difficulty to weight")
    return _weights({_difficulty(k, "difficulties"): v for k, v in value.items()}, "difficulties")


def _seasonality(value: Any) -> tuple[float, ...]:
    allowed = "twelve finite non-negative monthly factors"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _refuse("seasonality", value, allowed)
    factors = tuple(value)
    if len(factors) != 12 or not all(_is_real(f) and 0 <= f < math.inf for f in factors):
        raise _refuse("seasonality", value, allowed)
    return tuple(float(f) for f in factors)


@attrs.frozen
class ArrivalModel:
    """Problems arising at village-level units.

    Attributes:
        rate: mean problems per village-level unit per working day.
        seasonality: a factor per calendar month (January first) multiplying ``rate``.
        on_holidays: whether problems are also reported on days off (at the day rate).

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range (naming the
            field, the value and what is allowed).
    """

    rate: float = attrs.field(validator=positive)
    seasonality: tuple[float, ...] = attrs.field(default=(1.0,) * 12, converter=_seasonality)
    on_holidays: bool = attrs.field(default=False, validator=flag)


@attrs.frozen
class NeedModel:
    """What problems are about and how far up they must go.

    Attributes:
        categories: weights of issue categories (keys of the responsibility matrix).
        difficulties: weights of difficulties.
        solved_locally: chance a problem is solved at its own (village) level.
        needs_city: chance a problem the village cannot solve also needs the city
            (otherwise the town can solve it with its sections).

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range (naming the
            field, the value and what is allowed).
    """

    categories: Mapping[str, float] = attrs.field(converter=_category_weights)
    difficulties: Mapping[Difficulty, float] = attrs.field(converter=_difficulty_weights)
    solved_locally: float = attrs.field(default=0.6, validator=probability)
    needs_city: float = attrs.field(default=0.3, validator=probability)


def _mean_days(value: Mapping[Any, float]) -> Mapping[Difficulty, float]:
    if not isinstance(value, Mapping):
        raise _refuse("mean_days", value, "a mapping of difficulty to mean working days")
    days = {_difficulty(k, "mean_days"): v for k, v in value.items()}
    missing = [d.value for d in Difficulty if d not in days]
    bad = {d.value: v for d, v in days.items() if not (_is_real(v) and 0 < v < math.inf)}
    if missing or bad:
        raise ConfigurationError(
            f"mean_days needs a finite mean > 0 for every difficulty; missing {missing}, "
            f"unusable {bad}"
        )
    return MappingProxyType({d: float(v) for d, v in days.items()})


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

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range (naming the
            field, the value and what is allowed).
    """

    mean_days: Mapping[Difficulty, float] = attrs.field(converter=_mean_days)
    shape: float = attrs.field(default=2.0, validator=positive)
    capacity: int = attrs.field(default=4, converter=integral, validator=whole(1))
    per_extra_department: float = attrs.field(default=1.15, validator=positive)
    co_share: float = attrs.field(default=0.5, validator=positive)
    reopened_factor: float = attrs.field(default=0.6, validator=positive)
    local_mean_days: float = attrs.field(default=0.5, validator=positive)


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

    Raises:
        ConfigurationError: for a value of the wrong kind or out of range (naming the
            field, the value and what is allowed).
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


def _check_day(name: str, value: object) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _refuse(name, value, "a date (not a datetime)")


def _pauses(value: Any) -> tuple[tuple[date, date], ...]:
    allowed = "a list of (first day, last day) pairs of dates, first <= last"
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise _refuse("meeting_pauses", value, allowed)
    out = []
    for pair in value:
        if isinstance(pair, str | bytes) or not isinstance(pair, Iterable):
            raise _refuse("meeting_pauses", value, allowed)
        days = tuple(pair)
        if len(days) != 2:
            raise _refuse("meeting_pauses", value, allowed)
        for day in days:
            _check_day("meeting_pauses", day)
        if days[1] < days[0]:
            raise _refuse("meeting_pauses", value, allowed)
        out.append((days[0], days[1]))
    return tuple(out)


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

    Raises:
        ConfigurationError: for a value of the wrong kind, a period that ends before
            it starts, a calendar without working hours, or categories the
            responsibility matrix does not know.
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
    meeting_pauses: tuple[tuple[date, date], ...] = attrs.field(default=(), converter=_pauses)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise _refuse("name", self.name, "a non-empty string")
        for field, kind in (
            ("hierarchy", Hierarchy),
            ("departments", Departments),
            ("matrix", ResponsibilityMatrix),
            ("calendar", WorkCalendar),
            ("deadline_policy", DeadlinePolicy),
            ("arrivals", ArrivalModel),
            ("needs", NeedModel),
            ("handling", HandlingModel),
            ("behaviour", BehaviourModel),
        ):
            value = getattr(self, field)
            if not isinstance(value, kind):
                raise _refuse(f"scenario {self.name!r}: {field}", value, f"a {kind.__name__}")
        for field in ("start", "end"):
            _check_day(f"scenario {self.name!r}: {field}", getattr(self, field))
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
        try:
            self.calendar.is_workday(self.start)
            self.calendar.is_workday(self.end)
        except CoverageError as error:
            raise ConfigurationError(f"scenario {self.name!r}: {error}") from None

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with some attributes replaced (for sweeps).

        Raises:
            ConfigurationError: for an unknown attribute or a value the scenario refuses.
        """
        unknown = sorted(set(changes) - {f.name for f in attrs.fields(Scenario)})
        if unknown:
            raise ConfigurationError(
                f"scenario {self.name!r} has no attribute(s) {unknown}; known: "
                f"{', '.join(f.name for f in attrs.fields(Scenario))}"
            )
        return attrs.evolve(self, **changes)
