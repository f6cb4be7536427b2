"""Deadline policies and the deadline clock.

A :class:`DeadlinePolicy` maps an issue's :class:`Difficulty` (简单 / 复杂 / 疑难) to a
:class:`TimeLimit`; the default is Yiwu's rule, "simple problems the same day, complex
ones in 3 days, difficult ones struck off in 15 days", counted in working days from
assignment. Policies are named, versioned values, so a record can say which version
set its deadline.

A :class:`DeadlineClock` is the pure arithmetic of one issue's deadline: it starts at
the assignment instant and takes clock events (pause while suspended, resume, an
approved extension, a restart for a reopened cycle). From those it gives the due date,
and for any instant the elapsed and remaining time, whether the deadline is breached
and a warning level. Nothing is stored about being overdue: it is computed for the
instant asked about.

Counting, per unit of the limit:

* working days: the due date is the n-th working day strictly after the day of
  assignment (:meth:`WorkCalendar.add_workdays`); a limit of 0 working days is due the
  day of assignment, or the next working day if that day is not worked;
* same day: due the day of assignment when assigned on a working day before the
  cut-off hour, else the next working day;
* calendar days: due n days after the day of assignment; when that day is not a
  working day the period ends on the next working day, as the Civil Code counts periods
  (《民法典》第二百零三条);
* working hours (or minutes): due when that much working time has elapsed on the
  calendar's working hours.

On time means resolved on or before the due date in the calendar's zone (for limits in
hours: at or before the due instant). A paused clock shifts the due date by exactly
the working time it was paused; an extension adds exactly its amount. A result is
*provisional* when any day it used lies in a year the calendar had to estimate.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any, NamedTuple

import attrs

from closedloop._checks import aware, member, whole_at_least
from closedloop._enums import FastEnum
from closedloop.errors import ConfigurationError, DeadlineClockError
from closedloop.workdays import WorkCalendar

__all__ = [
    "ClockReading",
    "Deadline",
    "DeadlineClock",
    "DeadlinePolicy",
    "Difficulty",
    "LimitUnit",
    "TimeLimit",
    "WarningLevel",
    "WarningThresholds",
]


class Difficulty(FastEnum):
    """How hard an issue is, which sets its time limit."""

    SIMPLE = "simple"
    """简单: solved the same day under Yiwu's rule."""
    COMPLEX = "complex"
    """复杂: 3 working days under Yiwu's rule."""
    DIFFICULT = "difficult"
    """疑难: struck off (销号) in 15 working days under Yiwu's rule."""

    @property
    def chinese(self) -> str:
        """The Chinese term."""
        return {"simple": "简单", "complex": "复杂", "difficult": "疑难"}[self.value]


class LimitUnit(FastEnum):
    """The unit a time limit is counted in."""

    SAME_DAY = "same_day"
    WORKING_DAYS = "working_days"
    CALENDAR_DAYS = "calendar_days"
    WORKING_MINUTES = "working_minutes"

    @property
    def is_days(self) -> bool:
        """Whether the limit is counted in whole days (due at the end of a day)."""
        return self is not LimitUnit.WORKING_MINUTES

    def between(self, calendar: WorkCalendar, start: datetime, end: datetime) -> int:
        """Time from ``start`` to ``end`` in this unit: working minutes, calendar days,
        or working days (negative when ``end`` comes first)."""
        if self is LimitUnit.WORKING_MINUTES:
            return int(calendar.working_time_between(start, end) // timedelta(minutes=1))
        if self is LimitUnit.CALENDAR_DAYS:
            return (calendar.day_of(end) - calendar.day_of(start)).days
        return calendar.workdays_between(start, end)


def _limit_unit(value: object) -> LimitUnit:
    return member(LimitUnit, value, "limit unit")


@attrs.frozen
class TimeLimit:
    """How long a difficulty may take.

    Build with the class methods, e.g. ``TimeLimit.working_days(3)``.
    """

    unit: LimitUnit = attrs.field(converter=_limit_unit)
    amount: int = attrs.field(default=0, validator=whole_at_least(0))
    cutoff: time | None = attrs.field(default=None)

    def __attrs_post_init__(self) -> None:
        if self.unit is LimitUnit.SAME_DAY and self.amount != 0:
            raise ConfigurationError("a same-day limit has no amount")
        if self.cutoff is not None and self.unit is not LimitUnit.SAME_DAY:
            raise ConfigurationError("only a same-day limit has a cut-off hour")
        if self.unit is LimitUnit.WORKING_MINUTES and self.amount == 0:
            raise ConfigurationError("a limit in working hours must be longer than zero")

    @classmethod
    def same_day(cls, cutoff: time | None = None) -> TimeLimit:
        """Due the day of assignment, or the next working day after ``cutoff`` or on a day off."""
        return cls(LimitUnit.SAME_DAY, 0, cutoff)

    @classmethod
    def working_days(cls, n: int) -> TimeLimit:
        """Due on the n-th working day after the day of assignment."""
        return cls(LimitUnit.WORKING_DAYS, n)

    @classmethod
    def calendar_days(cls, n: int) -> TimeLimit:
        """Due n calendar days after the day of assignment (rolled to a working day)."""
        return cls(LimitUnit.CALENDAR_DAYS, n)

    @classmethod
    def working_hours(cls, hours: float) -> TimeLimit:
        """Due after ``hours`` hours of working time (needs a calendar with working hours).

        Fractions that come to whole minutes are fine (``1.5`` is 90 minutes).

        Raises:
            ConfigurationError: for a negative amount, or one that is not whole minutes.
        """
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise ConfigurationError(f"working_hours takes a number of hours, got {hours!r}")
        minutes = hours * 60
        if not (isinstance(minutes, int) or float(minutes).is_integer()) or minutes < 0:
            raise ConfigurationError(
                f"working_hours needs hours >= 0 that come to whole minutes, got {hours!r} "
                "(use TimeLimit.working_minutes for other amounts)"
            )
        return cls(LimitUnit.WORKING_MINUTES, int(minutes))

    @classmethod
    def working_minutes(cls, minutes: int) -> TimeLimit:
        """Due after ``minutes`` minutes of working time."""
        return cls(LimitUnit.WORKING_MINUTES, minutes)

    def __str__(self) -> str:
        if self.unit is LimitUnit.SAME_DAY:
            return "same day" + (f" (cut-off {self.cutoff:%H:%M})" if self.cutoff else "")
        if self.unit is LimitUnit.WORKING_MINUTES:
            hours, minutes = divmod(self.amount, 60)
            return f"{hours} working hours" if not minutes else f"{self.amount} working minutes"
        noun = "working" if self.unit is LimitUnit.WORKING_DAYS else "calendar"
        return f"{self.amount} {noun} day{'s' if self.amount != 1 else ''}"


class WarningLevel(enum.IntEnum):
    """How close a deadline is; ordered, so ``level >= WarningLevel.YELLOW`` works."""

    NORMAL = 0
    YELLOW = 1
    ORANGE = 2
    RED = 3
    """The deadline is breached."""


def _fraction(_instance: object, attribute: Any, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ConfigurationError(f"{attribute.name} must lie in [0, 1], got {value}")


@attrs.frozen
class WarningThresholds:
    """Share of the allowed time after which a running deadline turns yellow or orange.

    Red always means breached. ``None`` switches a level off.
    """

    yellow: float | None = attrs.field(default=0.75, validator=_fraction)
    orange: float | None = attrs.field(default=None, validator=_fraction)

    def __attrs_post_init__(self) -> None:
        if self.yellow is not None and self.orange is not None and self.orange < self.yellow:
            raise ConfigurationError("the orange threshold must not come before the yellow one")

    def level(self, fraction: float, *, breached: bool) -> WarningLevel:
        """The level for a share of the allowed time used."""
        if breached:
            return WarningLevel.RED
        if self.orange is not None and fraction >= self.orange:
            return WarningLevel.ORANGE
        if self.yellow is not None and fraction >= self.yellow:
            return WarningLevel.YELLOW
        return WarningLevel.NORMAL


def _limits(value: Any) -> Mapping[Difficulty, TimeLimit]:
    result = {Difficulty(k): v for k, v in dict(value).items()}
    missing = [d.value for d in Difficulty if d not in result]
    if missing:
        raise ConfigurationError(
            f"a deadline policy needs a limit for every difficulty; missing {missing}"
        )
    bad = [k.value for k, v in result.items() if not isinstance(v, TimeLimit)]
    if bad:
        raise ConfigurationError(f"limits must be TimeLimit values; not for {bad}")
    return MappingProxyType({d: result[d] for d in Difficulty})


@attrs.frozen
class DeadlinePolicy:
    """A named, versioned rule from difficulty to time limit.

    Example::

        policy = DeadlinePolicy(
            "county-2026", "1",
            {Difficulty.SIMPLE: TimeLimit.working_days(1),
             Difficulty.COMPLEX: TimeLimit.working_days(5),
             Difficulty.DIFFICULT: TimeLimit.working_days(30)},
        )
    """

    name: str
    version: str = attrs.field(converter=str)
    limits: Mapping[Difficulty, TimeLimit] = attrs.field(converter=_limits, eq=False)
    warnings: WarningThresholds = attrs.field(factory=WarningThresholds, kw_only=True)
    _limits_key: tuple[tuple[Difficulty, TimeLimit], ...] = attrs.field(init=False, repr=False)
    label: str = attrs.field(init=False, repr=False, eq=False)
    """``name@version``, as recorded with each deadline the policy sets."""

    def __attrs_post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("a deadline policy needs a name")
        object.__setattr__(self, "_limits_key", tuple(self.limits.items()))
        object.__setattr__(self, "label", f"{self.name}@{self.version}")

    @classmethod
    def yiwu(cls) -> DeadlinePolicy:
        """Yiwu's rule: simple the same day, complex 3 working days, difficult 15 working days."""
        return cls(
            "yiwu",
            "2019",
            {
                Difficulty.SIMPLE: TimeLimit.same_day(),
                Difficulty.COMPLEX: TimeLimit.working_days(3),
                Difficulty.DIFFICULT: TimeLimit.working_days(15),
            },
        )

    def limit_for(self, difficulty: Difficulty) -> TimeLimit:
        """The time limit for a difficulty."""
        try:
            return self.limits[difficulty]
        except KeyError:
            return self.limits[Difficulty(difficulty)]

    def start_clock(
        self, difficulty: Difficulty, assigned_at: datetime, calendar: WorkCalendar
    ) -> DeadlineClock:
        """A running clock for an issue of ``difficulty`` assigned at ``assigned_at``."""
        return DeadlineClock(
            calendar, self.limit_for(difficulty), assigned_at, warnings=self.warnings
        )

    def deadline(
        self, difficulty: Difficulty, assigned_at: datetime, calendar: WorkCalendar
    ) -> Deadline:
        """The deadline of an issue of ``difficulty`` assigned at ``assigned_at``."""
        return due(calendar, self.limit_for(difficulty), assigned_at)


class Deadline(NamedTuple):
    """When something is due.

    Attributes:
        due_date: the last day that counts as on time, in the calendar's zone.
        due_at: the last instant that counts as on time (for day limits, the end of
            ``due_date``).
        provisional: whether it rests on estimated calendar data.
    """

    due_date: date
    due_at: datetime
    provisional: bool = False

    def is_breached(self, at: datetime) -> bool:
        """Whether ``at`` is past the deadline."""
        return _aware(at) > self.due_at

    def is_on_time(self, resolved_at: datetime) -> bool:
        """Whether something resolved at ``resolved_at`` met the deadline."""
        return _aware(resolved_at) <= self.due_at


def _aware(at: datetime) -> datetime:
    return aware(at, "the instant")


def due(calendar: WorkCalendar, limit: TimeLimit, start: datetime, extra: int = 0) -> Deadline:
    """The deadline of ``limit`` plus ``extra`` units (extensions, paused time) from ``start``.

    ``extra`` is additive: the result equals moving the plain deadline ``extra`` units
    further (working days, calendar days or working minutes).
    """
    start = _aware(start)
    unit = limit.unit
    amount = limit.amount + extra
    if unit is LimitUnit.WORKING_MINUTES:
        due_at = calendar.add_working_time(start, timedelta(minutes=amount))
        due_date = due_at.date()
    else:
        if unit is LimitUnit.WORKING_DAYS and limit.amount > 0:
            due_date = calendar.add_workdays(start, amount)
        elif unit is LimitUnit.WORKING_DAYS:
            first = calendar.add_workdays(start, 0)
            due_date = calendar.add_workdays(first, extra) if extra else first
        elif unit is LimitUnit.SAME_DAY:
            local = calendar.local(start)
            late = limit.cutoff is not None and local.time() >= limit.cutoff
            first = calendar.add_workdays(local, 1 if late and calendar.is_workday(local) else 0)
            due_date = calendar.add_workdays(first, extra) if extra else first
        else:
            day = calendar.day_of(start) + timedelta(days=amount)
            due_date = calendar.add_workdays(day, 0)
        due_at = calendar.end_of_day(due_date)
    return Deadline(due_date, due_at, calendar.uses_estimates(start, due_date))


@attrs.frozen
class ClockReading:
    """A deadline clock read at one instant.

    ``elapsed`` and ``remaining`` are in the limit's unit: whole days for day limits
    (working days, or calendar days for calendar-day limits), minutes of working time
    for limits in hours. ``remaining`` is negative once the deadline is breached.
    ``fraction`` is the share of the allowed time used: ``elapsed / allowed``, or, for
    a same-day limit, the share of the time from the start to the deadline.
    """

    at: datetime
    deadline: Deadline
    elapsed: int
    remaining: int
    allowed: int
    fraction: float
    level: WarningLevel
    breached: bool
    paused: bool
    cycle: int
    estimated: bool = False
    """Whether counting up to ``at`` crossed a year whose calendar data was estimated."""

    @property
    def provisional(self) -> bool:
        """Whether the reading rests on estimated calendar data (its deadline or its counts)."""
        return self.deadline.provisional or self.estimated


@attrs.frozen
class _Cycle:
    start: datetime
    limit: TimeLimit
    extension: int = 0
    paused_units: int = 0
    paused_since: datetime | None = None
    recorded: Deadline | None = None
    """The deadline as recorded when it was last set, if known: it stands even if the
    calendar has changed since (a holiday notice published later)."""


@attrs.frozen
class DeadlineClock:
    """The deadline of one issue as a pure value: start, pauses, extensions, restarts.

    Every operation returns a new clock. Events must come in time order, a pause only
    while running, a resume only while paused.

    Example::

        clock = policy.start_clock(Difficulty.COMPLEX, assigned_at, calendar)
        clock = clock.pause(suspended_at).resume(resumed_at).extend(2, approved_at)
        clock.read(now).level
    """

    calendar: WorkCalendar = attrs.field(repr=False)
    limit: TimeLimit
    started_at: datetime = attrs.field(converter=_aware)
    warnings: WarningThresholds = attrs.field(factory=WarningThresholds, kw_only=True)
    _cycles: tuple[_Cycle, ...] = attrs.field(default=(), kw_only=True, alias="_cycles", repr=False)
    last_event_at: datetime | None = attrs.field(default=None, kw_only=True, repr=False)

    def __attrs_post_init__(self) -> None:
        if not self._cycles:
            object.__setattr__(self, "_cycles", (_Cycle(self.started_at, self.limit),))
        if self.last_event_at is None:
            object.__setattr__(self, "last_event_at", self.started_at)

    @classmethod
    def running(
        cls,
        calendar: WorkCalendar,
        limit: TimeLimit,
        started_at: datetime,
        *,
        extension: int = 0,
        paused_units: int = 0,
        paused_since: datetime | None = None,
        cycle: int = 1,
        warnings: WarningThresholds | None = None,
        deadline: Deadline | None = None,
    ) -> DeadlineClock:
        """A clock rebuilt from the totals an issue's state keeps.

        ``extension`` and ``paused_units`` are the totals so far in the limit's units;
        ``paused_since`` is set while the clock is paused; ``cycle`` is the handling
        cycle the clock belongs to. ``deadline`` is the deadline as recorded (an issue's
        ``due_at``): when given it is the clock's deadline, even if the calendar now
        counts differently, until a resume or an extension sets a new one.
        """
        current = _Cycle(_aware(started_at), limit, extension, paused_units, paused_since, deadline)
        filler = tuple(_Cycle(current.start, limit) for _ in range(cycle - 1))
        return cls(
            calendar,
            limit,
            started_at,
            warnings=warnings if warnings is not None else WarningThresholds(),
            _cycles=(*filler, current),
            last_event_at=paused_since if paused_since is not None else started_at,
        )

    # -- events ---------------------------------------------------------------------

    @property
    def cycle(self) -> int:
        """The current handling cycle, 1 for the first assignment."""
        return len(self._cycles)

    @property
    def current(self) -> _Cycle:
        return self._cycles[-1]

    @property
    def is_paused(self) -> bool:
        """Whether the clock is stopped (the issue is suspended)."""
        return self.current.paused_since is not None

    def _check_time(self, at: datetime, action: str) -> datetime:
        at = _aware(at)
        assert self.last_event_at is not None
        if at < self.last_event_at:
            raise DeadlineClockError(
                f"cannot {action} at {at.isoformat()}: the clock's last event was at "
                f"{self.last_event_at.isoformat()}; events must come in time order"
            )
        return at

    def _with_current(self, cycle: _Cycle, at: datetime) -> DeadlineClock:
        return attrs.evolve(self, _cycles=(*self._cycles[:-1], cycle), last_event_at=at)

    def pause(self, at: datetime) -> DeadlineClock:
        """Stop the clock (挂起); the paused working time is added back on resume."""
        at = self._check_time(at, "pause")
        if self.is_paused:
            raise DeadlineClockError("the clock is already paused")
        return self._with_current(attrs.evolve(self.current, paused_since=at), at)

    def resume(self, at: datetime) -> DeadlineClock:
        """Restart a paused clock (恢复), moving the due date by the time it was paused."""
        at = self._check_time(at, "resume")
        since = self.current.paused_since
        if since is None:
            raise DeadlineClockError("the clock is not paused")
        units = self._units_between(since, at)
        cycle = attrs.evolve(
            self.current,
            paused_units=self.current.paused_units + units,
            paused_since=None,
            recorded=None,
        )
        return self._with_current(cycle, at)

    def extend(self, amount: int, at: datetime) -> DeadlineClock:
        """Add an approved extension (延期) of ``amount`` units of the limit (days or minutes)."""
        at = self._check_time(at, "extend")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise DeadlineClockError(f"an extension must be a whole number > 0, got {amount!r}")
        cycle = attrs.evolve(self.current, extension=self.current.extension + amount, recorded=None)
        return self._with_current(cycle, at)

    def restart(self, at: datetime, limit: TimeLimit | None = None) -> DeadlineClock:
        """Start a new cycle (重办: a reopened issue) at ``at``, by default with the same limit."""
        at = self._check_time(at, "restart")
        new = _Cycle(at, limit if limit is not None else self.current.limit)
        return attrs.evolve(self, _cycles=(*self._cycles, new), last_event_at=at)

    # -- arithmetic -----------------------------------------------------------------

    def _units_between(self, a: datetime, b: datetime) -> int:
        """Time from ``a`` to ``b`` in the current limit's units."""
        return self.current.limit.unit.between(self.calendar, a, b)

    @property
    def deadline(self) -> Deadline:
        """The deadline given the events so far (an open pause counts as not yet resumed)."""
        cycle = self.current
        if cycle.recorded is not None:
            return cycle.recorded
        return due(self.calendar, cycle.limit, cycle.start, cycle.extension + cycle.paused_units)

    def read(self, at: datetime) -> ClockReading:
        """Everything about the deadline at instant ``at``."""
        at = _aware(at)
        cycle = self.current
        if at < cycle.start:
            raise DeadlineClockError(
                f"cannot read the clock at {at.isoformat()}, before its cycle started "
                f"at {cycle.start.isoformat()}"
            )
        paused = cycle.paused_since is not None and at >= cycle.paused_since
        effective = cycle.paused_since if paused and cycle.paused_since is not None else at
        deadline = running = self.deadline
        if paused:
            # Report the deadline as it would be if the clock resumed now.
            deadline = due(
                self.calendar,
                cycle.limit,
                cycle.start,
                cycle.extension + cycle.paused_units + self._units_between(effective, at),
            )
        allowed = cycle.limit.amount + cycle.extension
        elapsed = self._units_between(cycle.start, effective) - cycle.paused_units
        breached = effective > running.due_at if paused else at > deadline.due_at
        remaining = self._units_between(at, deadline.due_at)
        if breached:
            remaining = min(remaining, -1) if cycle.limit.unit.is_days else min(remaining, 0)
        if allowed:
            fraction = elapsed / allowed
        else:  # a same-day limit: the share of the time from the start to the deadline
            span = (deadline.due_at - cycle.start).total_seconds()
            fraction = (effective - cycle.start).total_seconds() / span if span > 0 else 1.0
        fraction = max(0.0, fraction)
        level = self.warnings.level(fraction, breached=breached)
        return ClockReading(
            at=at,
            deadline=deadline,
            elapsed=elapsed,
            remaining=remaining,
            allowed=allowed,
            fraction=fraction,
            level=level,
            breached=breached,
            paused=paused,
            cycle=self.cycle,
            estimated=self.calendar.uses_estimates(cycle.start, at),
        )

    def is_breached(self, at: datetime) -> bool:
        """Whether the deadline is breached at ``at`` (a paused clock does not run out)."""
        return self.read(at).breached

    def is_on_time(self, resolved_at: datetime) -> bool:
        """Whether resolving at ``resolved_at`` meets the current cycle's deadline."""
        return self.deadline.is_on_time(resolved_at)
