"""Working-day calendars: which days are worked, and arithmetic on them.

A :class:`WorkCalendar` says which days are working days in one time zone. A day is a
working day when its weekday is in the *weekmask* and it is not a *holiday*, or when
it is a *make-up workday* (调休: a weekend day worked in exchange for a longer
holiday), which overrides the weekmask. The calendar also knows which years its data
officially covers: asking about a day outside them raises :class:`CoverageError`
unless the calendar was built in provisional mode, where an *estimator* fills the
missing years and every answer that used estimated data can be told apart.

Counting rule. ``add_workdays(day, n)`` with ``n >= 1`` is the n-th working day
*strictly after* ``day``: the start day is never counted, as periods are counted in
the Civil Code (《民法典》第二百零一条). ``n = 0`` gives ``day`` itself when it is a
working day, else the next one; negative ``n`` counts back symmetrically. The other
common convention, "roll forward to a working day, then add n" (what
``numpy.busday_offset(roll="forward")`` and ``chinese_calendar.find_workday`` do), is
available as ``counting=Counting.ROLL_FORWARD``. The two differ only when ``day`` is
not a working day.

Instants. Every method accepts a ``datetime.date``, an aware ``datetime.datetime``, or
their pendulum subclasses. An aware datetime is converted to the calendar's zone before
its date is taken; a naive datetime is refused with :class:`NaiveDatetimeError`, because
guessing its zone is how deadlines end up a day off.

The arithmetic runs on a table computed once per calendar (the number of working days
before each day of the covered range), so a call costs a few list lookups.
"""

from __future__ import annotations

import enum
import functools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, TypeAlias, overload

import attrs
import pendulum

from closedloop.errors import (
    CalendarFormatError,
    ConfigurationError,
    CoverageError,
    MissingExtraError,
    NaiveDatetimeError,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "Counting",
    "DayKind",
    "DayLike",
    "InstantLike",
    "Unannounced",
    "WorkCalendar",
    "WorkingHours",
    "YearData",
]

DayLike: TypeAlias = date | datetime
"""A calendar day or an aware instant (stdlib or pendulum)."""

InstantLike: TypeAlias = datetime
"""An aware instant (stdlib or pendulum ``DateTime``)."""

WEEKDAY_NAMES: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_SECONDS_PER_DAY: Final = 86_400
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_END_OF_DAY: Final = time(23, 59, 59, 999_999)


class Counting(enum.Enum):
    """How ``add_workdays`` counts from a day that is not a working day."""

    STRICTLY_AFTER = "strictly_after"
    """The n-th working day strictly after the day (the default; Civil Code counting)."""

    ROLL_FORWARD = "roll_forward"
    """Roll forward to a working day first, then move n working days."""


# Module-level aliases: reading ``Counting.STRICTLY_AFTER`` goes through the enum's
# metaclass and costs more than the rest of a table lookup.
_STRICTLY_AFTER: Final = Counting.STRICTLY_AFTER
_ROLL_FORWARD: Final = Counting.ROLL_FORWARD


class Unannounced(enum.Enum):
    """What a calendar does with a year its data does not cover."""

    RAISE = "raise"
    """Raise :class:`CoverageError` naming the year (the default)."""

    PROVISIONAL = "provisional"
    """Estimate the year with the calendar's estimator and mark results provisional."""


def _unannounced_converter(value: Any) -> Unannounced:
    try:
        return Unannounced(value)
    except ValueError:
        raise ConfigurationError(
            f"unannounced must be 'raise' or 'provisional' (or an Unannounced member), "
            f"got {value!r}"
        ) from None


def _whole_number(value: object) -> int | None:
    """``value`` as an int if it is an integer (Python or numpy) and not a bool, else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        return None


def _steps(value: object) -> int:
    """A step count for ``add_workdays``: a whole number of working days.

    Raises:
        ConfigurationError: for a bool, a float (even 2.0), a string or anything else
            that is not an integer.
    """
    whole = _whole_number(value)
    if whole is None:
        raise ConfigurationError(
            f"a number of working days must be an int (not a bool), "
            f"got {type(value).__name__} {value!r}"
        )
    return whole


def _year(value: object, what: str) -> int:
    whole = _whole_number(value)
    if whole is None:
        raise ConfigurationError(f"{what} must be a year (an int), got {value!r}")
    if not 1 <= whole <= 9998:
        raise ConfigurationError(f"{what} {whole} is outside the supported years 1-9998")
    return whole


class DayKind(enum.Enum):
    """Why a day is or is not a working day."""

    WORKDAY = "workday"
    REST_DAY = "rest_day"
    """Outside the weekmask (a weekend), with no special status."""
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"
    """A rest day worked in exchange for a holiday (调休)."""


def _parse_clock(text: str) -> time:
    try:
        return time.fromisoformat(text.strip())
    except ValueError:
        raise ConfigurationError(f"not a time of day: {text!r} (expected HH:MM)") from None


def _periods_converter(value: Any) -> tuple[tuple[time, time], ...]:
    if isinstance(value, str):
        pairs = []
        for chunk in re.split(r"[,\s]+", value.strip()):
            if not chunk:
                continue
            start, sep, end = chunk.partition("-")
            if not sep:
                raise ConfigurationError(
                    f"working-hours period {chunk!r} is not of the form HH:MM-HH:MM"
                )
            pairs.append((_parse_clock(start), _parse_clock(end)))
        return tuple(pairs)
    try:
        given = [tuple(pair) for pair in value]
    except TypeError:
        given = []
    if not given or any(len(pair) != 2 for pair in given):
        raise ConfigurationError(
            f"working hours are text like '08:30-12:00, 13:30-17:30' or (start, end) pairs "
            f"of datetime.time, got {value!r}"
        )
    return tuple((_clock(a), _clock(b)) for a, b in given)


def _clock(value: object) -> time:
    if isinstance(value, str):
        return _parse_clock(value)
    if isinstance(value, time):
        return value
    raise ConfigurationError(f"not a time of day: {value!r} (expected datetime.time or HH:MM)")


def _clock_text(t: time) -> str:
    """``HH:MM``, with seconds and microseconds only when there are any."""
    return t.isoformat("minutes") if not (t.second or t.microsecond) else t.isoformat()


def _validate_periods(
    _instance: object, _attribute: object, periods: tuple[tuple[time, time], ...]
) -> None:
    if not periods:
        raise ConfigurationError("working hours need at least one period")
    previous_end: time | None = None
    for start, end in periods:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigurationError("working-hours periods are local times, without a zone")
        if not start < end:
            raise ConfigurationError(
                f"working-hours period {start}-{end} does not end after it starts"
            )
        if previous_end is not None and start < previous_end:
            raise ConfigurationError(
                f"working-hours periods must be sorted and must not overlap (at {start})"
            )
        previous_end = end


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


@attrs.frozen
class WorkingHours:
    """The hours worked on each working day, e.g. 08:30-12:00 and 13:30-17:30.

    Construct from pairs of ``datetime.time`` or from text:
    ``WorkingHours("08:30-12:00, 13:30-17:30")``.
    """

    periods: tuple[tuple[time, time], ...] = attrs.field(
        converter=_periods_converter, validator=_validate_periods
    )

    @property
    def seconds_per_day(self) -> int:
        """Working seconds in one working day."""
        return sum(_seconds(b) - _seconds(a) for a, b in self.periods)

    def worked_before(self, seconds_of_day: float) -> float:
        """Working seconds of one working day that lie before the given second of the day."""
        total = 0.0
        for start, end in self.periods:
            a, b = _seconds(start), _seconds(end)
            if seconds_of_day <= a:
                break
            total += min(seconds_of_day, b) - a
        return total

    def second_of_day_after(self, worked: float) -> float:
        """The second of the day at which ``worked`` working seconds have elapsed.

        ``worked`` must lie in ``(0, seconds_per_day]``; the answer is the end of a
        period when the budget runs out exactly there.
        """
        remaining = worked
        for start, end in self.periods:
            a, b = _seconds(start), _seconds(end)
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise ConfigurationError(
            f"{worked} s is more than a working day ({self.seconds_per_day} s)"
        )

    def __str__(self) -> str:
        return ", ".join(f"{_clock_text(a)}-{_clock_text(b)}" for a, b in self.periods)


def _weekmask_converter(value: Any) -> tuple[bool, ...]:
    if isinstance(value, str):
        text = value.strip()
        names = [n.capitalize()[:3] for n in re.split(r"[,\s]+", text) if n]
        unknown = [n for n in names if n not in WEEKDAY_NAMES]
        repeated = sorted({n for n in names if names.count(n) > 1}, key=WEEKDAY_NAMES.index)
        if re.fullmatch(r"[01]{7}", text):
            mask = tuple(c == "1" for c in text)
        elif unknown:
            raise ConfigurationError(
                f"unknown weekday name(s) {unknown} in weekmask {value!r}; "
                f"use {' '.join(WEEKDAY_NAMES)} or seven 0/1 digits"
            )
        elif repeated:
            raise ConfigurationError(
                f"weekmask {value!r} names {', '.join(repeated)} more than once "
                f"({len(names)} names); name each worked weekday once, e.g. 'Mon Tue Wed Thu Fri'"
            )
        else:
            mask = tuple(name in names for name in WEEKDAY_NAMES)
    else:
        try:
            mask = tuple(bool(x) for x in value)
        except TypeError:
            raise ConfigurationError(
                f"a weekmask is text such as 'Mon Tue Wed Thu Fri' or '1111100', "
                f"or 7 booleans; got {value!r}"
            ) from None
        if len(mask) != 7:
            raise ConfigurationError(f"a weekmask has 7 entries (Monday first), got {len(mask)}")
    if not any(mask):
        # Counting working days on a calendar without any would never end.
        raise ConfigurationError(f"weekmask {value!r} works no weekday; name at least one")
    return mask


def _day_mapping(value: Mapping[date, str] | Iterable[date]) -> Mapping[date, str]:
    given: object = value  # checked at run time: callers pass anything
    if isinstance(given, Mapping):
        items = list(given.items())
    elif isinstance(given, Iterable) and not isinstance(given, str | bytes):
        items = [(d, "") for d in given]
    else:
        raise ConfigurationError(
            f"holidays and make-up workdays are a mapping of dates to names or an "
            f"iterable of dates, got {value!r}"
        )
    result: dict[date, str] = {}
    for day, label in items:
        if isinstance(day, datetime) or not isinstance(day, date):
            raise ConfigurationError(f"holidays and make-up workdays are dates, got {day!r}")
        result[date.fromordinal(day.toordinal())] = str(label)
    return MappingProxyType(dict(sorted(result.items())))


@attrs.frozen
class YearData:
    """One year's holidays and make-up workdays, each mapped to a name."""

    holidays: Mapping[date, str] = attrs.field(factory=dict, converter=_day_mapping)
    workdays: Mapping[date, str] = attrs.field(factory=dict, converter=_day_mapping)


Estimator: TypeAlias = Callable[[int], YearData]
"""Estimates a year the calendar's data does not cover."""


def _coverage_converter(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    try:
        first_given, last_given = value
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"coverage is a pair (first_year, last_year), got {value!r}"
        ) from None
    first = _year(first_given, "coverage")
    last = _year(last_given, "coverage")
    if first > last:
        raise ConfigurationError(f"coverage {first}-{last} ends before it starts")
    return (first, last)


def _optional_year_converter(value: Any) -> int | None:
    return None if value is None else _year(value, "provisional_until")


def _sources_converter(value: Mapping[int, str]) -> Mapping[int, str]:
    sources = {_year(year, "a source's year"): str(text) for year, text in dict(value).items()}
    return MappingProxyType(dict(sorted(sources.items())))


def _years_text(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _joined_coverage(
    name: str, old: tuple[int, int] | None, new: tuple[int, int] | None
) -> tuple[int, int] | None:
    """The coverage of an extension: the union of the old and the new covered years.

    Raises:
        ConfigurationError: when the union would include years between the two
            ranges that neither covers (they would count as plain weeks).
    """
    if new is None:
        return old
    if old is None:
        return new
    if new[0] > old[1] + 1:
        gap = (old[1] + 1, new[0] - 1)
    elif new[1] < old[0] - 1:
        gap = (new[1] + 1, old[0] - 1)
    else:
        return (min(old[0], new[0]), max(old[1], new[1]))
    missing = _years_text(*gap)
    wanted = (min(new[0], gap[0]), max(new[1], gap[1]))
    raise ConfigurationError(
        f"calendar {name!r} covers {_years_text(*old)}; adding coverage "
        f"{_years_text(*new)} would leave {missing} in between with no holidays or make-up "
        f"workdays, counted as plain weeks. Supply {missing} as well and give coverage "
        f"({wanted[0]}, {wanted[1]}), or extend one year at a time."
    )


def _zone(name: str) -> tzinfo:
    try:
        return pendulum.timezone(name)
    except Exception:
        raise ConfigurationError(f"unknown time zone {name!r}") from None


class _Table:
    """Precomputed working-day counts for the days a calendar can answer about."""

    __slots__ = ("_numpy", "cum", "estimated_from", "hi", "lo", "work")

    def __init__(self, lo: int, hi: int, is_work: Sequence[bool], estimated_from: int) -> None:
        self.lo = lo
        self.hi = hi
        cum = [0] * (hi - lo + 1)
        work: list[int] = []
        count = 0
        for i, flag in enumerate(is_work):
            cum[i] = count
            if flag:
                count += 1
                work.append(lo + i)
        cum[hi - lo] = count
        self.cum = cum
        self.work = work
        self.estimated_from = estimated_from
        self._numpy: tuple[Any, Any] | None = None

    def as_numpy(self) -> tuple[Any, Any]:
        """The count and working-day tables as int64 arrays (built once, on demand)."""
        if self._numpy is None:
            import numpy as np

            self._numpy = (
                np.asarray(self.cum, dtype=np.int64),
                np.asarray(self.work, dtype=np.int64),
            )
        return self._numpy


@attrs.frozen(eq=False, repr=False)
class WorkCalendar:
    """Working days in one time zone: a weekmask, holidays and make-up workdays.

    Args:
        name: what the calendar is called in messages and reprs.
        timezone: an IANA zone name; instants are converted to it before the day is taken.
        weekmask: the weekdays that are normally worked, Monday first: seven booleans,
            seven ``0``/``1`` digits, or names such as ``"Mon Tue Wed Thu Fri"``.
        holidays: dates that are not worked (a mapping to names, or an iterable of dates).
        workdays: make-up workdays (调休) that are worked although outside the weekmask.
        coverage: ``(first_year, last_year)`` that the data officially covers, or ``None``
            when the rules above hold for every year.
        sources: for each covered year, where its data comes from (e.g. a notice).
        unannounced: what to do for a year outside ``coverage``.
        estimator: in provisional mode, estimates an uncovered year.
        provisional_until: last year to estimate in provisional mode.
        working_hours: the hours worked on a working day, for limits stated in hours.

    Raises:
        ConfigurationError: for an unknown zone, a malformed weekmask (a name that is
            not a weekday, a weekday named twice, no weekday at all), a day that is both
            a holiday and a make-up workday, a coverage that is not a pair of years,
            or provisional mode without estimator.
    """

    name: str = attrs.field(converter=str)
    timezone: str = attrs.field(default="UTC")
    weekmask: tuple[bool, ...] = attrs.field(
        default="Mon Tue Wed Thu Fri", converter=_weekmask_converter
    )
    holidays: Mapping[date, str] = attrs.field(factory=dict, converter=_day_mapping)
    workdays: Mapping[date, str] = attrs.field(factory=dict, converter=_day_mapping)
    coverage: tuple[int, int] | None = attrs.field(
        default=None, converter=_coverage_converter, kw_only=True
    )
    sources: Mapping[int, str] = attrs.field(
        factory=dict, converter=_sources_converter, kw_only=True
    )
    unannounced: Unannounced = attrs.field(
        default=Unannounced.RAISE, converter=_unannounced_converter, kw_only=True
    )
    estimator: Estimator | None = attrs.field(default=None, kw_only=True)
    provisional_until: int | None = attrs.field(
        default=None, converter=_optional_year_converter, kw_only=True
    )
    working_hours: WorkingHours | None = attrs.field(default=None, kw_only=True)

    _zone: tzinfo = attrs.field(init=False)
    _fixed_offset: timedelta | None = attrs.field(init=False)
    _same_day_zones: dict[tzinfo | None, bool] = attrs.field(init=False)
    _ends_of_day: dict[int, datetime] = attrs.field(init=False)
    _estimated: Mapping[int, YearData] = attrs.field(init=False)
    _all_holidays: dict[date, str] = attrs.field(init=False)
    _all_workdays: dict[date, str] = attrs.field(init=False)
    _table: _Table = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        both = sorted(set(self.holidays) & set(self.workdays))
        if both:
            raise ConfigurationError(
                f"calendar {self.name!r}: {both[0].isoformat()} is listed both as a holiday "
                f"and as a make-up workday ({len(both)} such day(s))"
            )
        if self.unannounced is Unannounced.PROVISIONAL:
            if self.estimator is None:
                raise ConfigurationError(
                    f"calendar {self.name!r}: provisional mode needs an estimator"
                )
            if self.coverage is None:
                raise ConfigurationError(
                    f"calendar {self.name!r}: provisional mode needs a coverage range"
                )
        elif self.provisional_until is not None:
            raise ConfigurationError(
                f"calendar {self.name!r}: provisional_until only applies with "
                "unannounced='provisional'"
            )
        zone = _zone(self.timezone)
        object.__setattr__(self, "_zone", zone)
        lo_year, hi_year, est_from_year = self._table_years()
        estimated: dict[int, YearData] = {}
        if self.estimator is not None and est_from_year <= hi_year:
            for year in range(est_from_year, hi_year + 1):
                estimated[year] = self.estimator(year)
        object.__setattr__(self, "_estimated", MappingProxyType(estimated))
        # Published data wins over an estimate for the same day.
        all_holidays: dict[date, str] = {}
        all_workdays: dict[date, str] = {}
        for data in estimated.values():
            all_holidays.update(data.holidays)
            all_workdays.update(data.workdays)
        for day in (*self.holidays, *self.workdays):
            all_holidays.pop(day, None)
            all_workdays.pop(day, None)
        all_holidays.update(self.holidays)
        all_workdays.update(self.workdays)
        object.__setattr__(self, "_all_holidays", all_holidays)
        object.__setattr__(self, "_all_workdays", all_workdays)
        object.__setattr__(self, "_fixed_offset", _constant_offset(zone, lo_year, hi_year))
        object.__setattr__(self, "_same_day_zones", {})
        object.__setattr__(self, "_ends_of_day", {})
        object.__setattr__(self, "_table", self._build_table(lo_year, hi_year, est_from_year))

    # -- construction helpers -------------------------------------------------------

    def _table_years(self) -> tuple[int, int, int]:
        """First and last year of the table, and the first estimated year."""
        if self.coverage is None:
            specials = [*self.holidays, *self.workdays]
            lo = min((d.year for d in specials), default=2000)
            hi = max((d.year for d in specials), default=2000)
            # An unbounded calendar answers for any year; the table spans a wide window
            # and days beyond it are computed from the weekmask alone.
            return min(lo, 1970), max(hi, 2100), 10_000
        first, last = self.coverage
        if self.unannounced is Unannounced.PROVISIONAL:
            until = self.provisional_until if self.provisional_until is not None else last + 10
            if until < last:
                raise ConfigurationError(
                    f"calendar {self.name!r}: provisional_until {until} is before the "
                    f"last covered year {last}"
                )
            return first, until, last + 1
        return first, last, last + 1

    def _build_table(self, lo_year: int, hi_year: int, est_from_year: int) -> _Table:
        lo = date(lo_year, 1, 1).toordinal()
        hi = date(hi_year + 1, 1, 1).toordinal()
        mask = self.weekmask
        flags = [mask[(o - 1) % 7] for o in range(lo, hi)]  # ordinal 1 was a Monday
        for day in self._all_holidays:
            if lo <= day.toordinal() < hi:
                flags[day.toordinal() - lo] = False
        for day in self._all_workdays:
            if lo <= day.toordinal() < hi:
                flags[day.toordinal() - lo] = True
        est_from = date(est_from_year, 1, 1).toordinal() if est_from_year <= hi_year else hi
        return _Table(lo, hi, flags, est_from)

    # -- dunder ---------------------------------------------------------------------

    def _definition(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.timezone,
            self.weekmask,
            tuple(self.holidays.items()),
            tuple(self.workdays.items()),
            self.coverage,
            tuple(self.sources.items()),
            self.unannounced,
            self.estimator,
            self.provisional_until,
            self.working_hours,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WorkCalendar):
            return NotImplemented
        return self._definition() == other._definition()

    def __hash__(self) -> int:
        return hash(self._definition())

    def __repr__(self) -> str:
        covered = "all years" if self.coverage is None else f"{self.coverage[0]}-{self.coverage[1]}"
        mode = "" if self.unannounced is Unannounced.RAISE else ", provisional beyond coverage"
        days = " ".join(n for n, on in zip(WEEKDAY_NAMES, self.weekmask, strict=True) if on)
        return (
            f"<WorkCalendar {self.name!r} {self.timezone} [{days}] "
            f"{len(self.holidays)} holidays, {len(self.workdays)} make-up workdays, "
            f"covers {covered}{mode}>"
        )

    # -- conversion of inputs --------------------------------------------------------

    def _ordinal(self, day: DayLike) -> int:
        """The ordinal of the calendar day on which ``day`` falls in this calendar's zone."""
        if isinstance(day, datetime):
            if self._same_day_zones.get(day.tzinfo):
                o = day.toordinal()
                # The zones were compared over the table's years only.
                if self._table.lo <= o < self._table.hi:
                    return o
            return self._ordinal_of_instant(day)
        if isinstance(day, date):
            return day.toordinal()
        raise ConfigurationError(
            f"expected a date or an aware datetime, got {type(day).__name__}: {day!r}"
        )

    def _ordinal_of_instant(self, instant: datetime) -> int:
        offset = instant.utcoffset()
        if offset is None:
            raise NaiveDatetimeError(
                f"naive datetime {instant.isoformat()} given to calendar {self.name!r}: "
                f"attach a time zone (e.g. {self.timezone}) so the day is unambiguous"
            )
        fixed = self._fixed_offset
        if fixed is None:
            return instant.astimezone(self._zone).toordinal()
        tz = instant.tzinfo
        if tz is not None and tz not in self._same_day_zones and len(self._same_day_zones) < 32:
            # Remember which zones share the calendar's constant offset over the table:
            # their local date *is* the calendar's date, so later calls skip the math.
            years = self.covered_years
            self._same_day_zones[tz] = _constant_offset(tz, years[0], years[-1]) == fixed
        if offset == fixed:
            o = instant.toordinal()
        else:
            shift = fixed - offset
            local = (
                instant.hour * 3600
                + instant.minute * 60
                + instant.second
                + shift.days * _SECONDS_PER_DAY
                + shift.seconds
            )
            o = instant.toordinal() + local // _SECONDS_PER_DAY
        if self._table.lo <= o < self._table.hi:
            return o
        # The calendar's zone keeps its offset over the table's years only.
        return instant.astimezone(self._zone).toordinal()

    def local(self, instant: InstantLike) -> datetime:
        """``instant`` expressed in the calendar's zone (naive datetimes are refused)."""
        if not isinstance(instant, datetime):
            raise ConfigurationError(f"expected an aware datetime, got {instant!r}")
        if instant.utcoffset() is None:
            raise NaiveDatetimeError(
                f"naive datetime {instant.isoformat()} given to calendar {self.name!r}: "
                f"attach a time zone"
            )
        return instant.astimezone(self._zone)

    def day_of(self, instant: DayLike) -> date:
        """The calendar day on which ``instant`` falls in the calendar's zone."""
        return date.fromordinal(self._ordinal(instant))

    def end_of_day(self, day: DayLike) -> datetime:
        """The last instant (23:59:59.999999) of ``day`` in the calendar's zone."""
        o = self._ordinal(day)
        cached = self._ends_of_day.get(o)
        if cached is None:
            if len(self._ends_of_day) > 100_000:
                self._ends_of_day.clear()
            cached = self._ends_of_day[o] = datetime.combine(
                date.fromordinal(o), _END_OF_DAY, tzinfo=self._zone
            )
        return cached

    def start_of_day(self, day: DayLike) -> datetime:
        """The first instant of ``day`` in the calendar's zone."""
        local_day = self.day_of(day)
        return datetime.combine(local_day, time(0), tzinfo=self._zone)

    @property
    def zone(self) -> tzinfo:
        """The calendar's time zone as a ``tzinfo``."""
        return self._zone

    # -- coverage -------------------------------------------------------------------

    def _outside(self, ordinal: int) -> CoverageError:
        year = date.fromordinal(max(1, min(ordinal, date.max.toordinal()))).year
        table = self._table
        covered = self.coverage or (
            date.fromordinal(table.lo).year,
            date.fromordinal(table.hi - 1).year,
        )
        if self.unannounced is Unannounced.PROVISIONAL and year > covered[1]:
            hint = (
                f"Provisional estimates reach {date.fromordinal(table.hi - 1).year}; "
                f"raise provisional_until to estimate further."
            )
        elif year > covered[1]:
            missing = _years_text(covered[1] + 1, year)
            hint = (
                f"Supply the holidays and make-up workdays of {missing} with "
                f"WorkCalendar.extended_with(holidays=..., workdays=..., "
                f"coverage=({covered[1] + 1}, {year})) or extended_with_text, or opt in to "
                f"statutory estimates with unannounced='provisional'."
            )
        else:
            missing = _years_text(year, covered[0] - 1)
            hint = (
                f"Supply the holidays and make-up workdays of {missing} with "
                f"WorkCalendar.extended_with(holidays=..., workdays=..., "
                f"coverage=({year}, {covered[0] - 1}))."
            )
        return CoverageError(self.name, year, covered, hint)

    def _index(self, ordinal: int) -> int:
        i = ordinal - self._table.lo
        if i < 0 or ordinal >= self._table.hi:
            if self.coverage is None:
                # An unbounded calendar: days beyond the table follow the weekmask alone.
                raise _BeyondTable(ordinal)
            raise self._outside(ordinal)
        return i

    @property
    def covered_years(self) -> range:
        """The years this calendar can answer about (covered or estimated)."""
        return range(
            date.fromordinal(self._table.lo).year, date.fromordinal(self._table.hi - 1).year + 1
        )

    @property
    def estimated_years(self) -> frozenset[int]:
        """Years whose data was estimated rather than published."""
        return frozenset(self._estimated)

    def is_estimated(self, day: DayLike) -> bool:
        """Whether ``day`` lies in a year whose data was estimated (provisional)."""
        o = self._ordinal(day)
        return self._table.estimated_from <= o < self._table.hi

    def uses_estimates(self, start: DayLike, end: DayLike) -> bool:
        """Whether any day from ``start`` to ``end`` (either order) lies in an estimated year.

        A result computed over that span (a deadline, a count of working days) is
        provisional exactly when this is true.
        """
        a, b = sorted((self._ordinal(start), self._ordinal(end)))  # also checks the inputs
        table = self._table
        if table.estimated_from >= table.hi:
            return False
        return b >= table.estimated_from and a < table.hi

    # -- day queries ----------------------------------------------------------------

    def is_workday(self, day: DayLike) -> bool:
        """Whether ``day`` is a working day: a weekmask day not on holiday, or a make-up workday."""
        o = self._ordinal(day)
        try:
            i = self._index(o)
        except _BeyondTable:
            return self.weekmask[(o - 1) % 7]
        cum = self._table.cum
        return cum[i + 1] != cum[i]

    def kind(self, day: DayLike) -> DayKind:
        """Why ``day`` is or is not a working day (holiday, make-up workday, ...)."""
        worked = self.is_workday(day)  # also checks coverage
        d = self.day_of(day)
        if d in self._all_holidays:
            return DayKind.HOLIDAY
        if d in self._all_workdays:
            return DayKind.MAKEUP_WORKDAY
        return DayKind.WORKDAY if worked else DayKind.REST_DAY

    def day_name(self, day: DayLike) -> str:
        """The holiday's or make-up workday's name for ``day`` ('' for an ordinary day)."""
        d = self.day_of(day)
        return self._all_holidays.get(d) or self._all_workdays.get(d, "")

    # -- arithmetic ------------------------------------------------------------------

    def add_workdays(
        self, day: DayLike, n: int, *, counting: Counting = Counting.STRICTLY_AFTER
    ) -> date:
        """Move ``n`` working days from ``day``.

        With the default counting, ``n >= 1`` gives the n-th working day strictly
        after ``day`` (the start day is never counted); ``n = 0`` gives ``day`` if it is
        a working day, else the next working day; ``n <= -1`` gives the ``|n|``-th
        working day strictly before ``day``. With ``Counting.ROLL_FORWARD`` the day is
        first rolled forward to a working day, then moved ``n`` working days.

        Example: on China's calendar, 2025-09-30 plus 3 working days is 2025-10-11
        (1-8 October are a holiday and Saturday 11 October is a make-up workday).

        Raises:
            CoverageError: when the start or the result lies outside the calendar's data.
            NaiveDatetimeError: for a datetime without a zone.
            ConfigurationError: when ``day`` is not a date or datetime, ``n`` is not an
                int (a bool, a float such as 1.5 or 2.0, a string), or ``counting`` is
                not a :class:`Counting` member.
        """
        if type(n) is not int:
            n = _steps(n)  # numpy integers pass; bools, floats and strings do not
        o = self._ordinal(day)
        table = self._table
        i = o - table.lo
        if i < 0 or o >= table.hi:
            return self._add_beyond_table(o, n, counting)
        cum = table.cum
        if counting is _STRICTLY_AFTER:
            k = cum[i + 1] + n - 1 if n > 0 else cum[i] + n
        elif counting is _ROLL_FORWARD:
            k = cum[i] + n
        else:
            raise ConfigurationError(f"counting must be a Counting member, got {counting!r}")
        work = table.work
        if k < 0 or k >= len(work):
            return self._add_beyond_table(o, n, counting)
        return date.fromordinal(work[k])

    def _add_beyond_table(self, o: int, n: int, counting: Counting) -> date:
        if not isinstance(counting, Counting):
            raise ConfigurationError(f"counting must be a Counting member, got {counting!r}")
        if self.coverage is not None:
            if self._table.lo <= o < self._table.hi:
                raise self._outside(self._table.hi if n >= 0 else self._table.lo - 1)
            raise self._outside(o)
        # Unbounded calendar outside its table: walk the weekmask (rare, far-off dates).
        return _walk(lambda x: self.is_workday(date.fromordinal(x)), o, n, counting)

    def workdays_between(self, start: DayLike, end: DayLike) -> int:
        """Working days passed going from ``start`` to ``end``.

        For ``end >= start`` it counts working days in ``(start, end]``; for
        ``end < start`` it is minus the count in ``[end, start)``. So
        ``workdays_between(d, add_workdays(d, n)) == n`` for every ``n != 0``, and for
        ``n = 0`` when ``d`` is a working day.

        Raises:
            CoverageError: when either day lies outside the calendar's data.
            NaiveDatetimeError: for a datetime without a zone.
            ConfigurationError: for a value that is not a date or datetime.
        """
        a = self._ordinal(start)
        b = self._ordinal(end)
        table = self._table
        lo, hi = table.lo, table.hi
        if lo <= a < hi and lo <= b < hi:
            cum = table.cum  # cum[i]: working days in the table before day lo + i
            if b >= a:
                return cum[b - lo + 1] - cum[a - lo + 1]
            return cum[b - lo] - cum[a - lo]
        if b >= a:
            return self._count_upto(b) - self._count_upto(a)
        return -(self._count_before(a) - self._count_before(b))

    def _count_before(self, o: int) -> int:
        """Working days before ordinal ``o`` counted from the table's start."""
        try:
            i = self._index(o)
        except _BeyondTable:
            return _weekmask_count_before(self, o)
        return self._table.cum[i]

    def _count_upto(self, o: int) -> int:
        return self._count_before(o + 1) if o + 1 != self._table.hi else self._table.cum[-1]

    def next_workday(self, day: DayLike) -> date:
        """The first working day strictly after ``day``."""
        return self.add_workdays(day, 1)

    def previous_workday(self, day: DayLike) -> date:
        """The last working day strictly before ``day``."""
        return self.add_workdays(day, -1)

    def workdays_in(self, start: DayLike, end: DayLike) -> Iterator[date]:
        """The working days from ``start`` to ``end``, both included, in order."""
        a = self._ordinal(start)
        b = self._ordinal(end)
        for o in range(a, b + 1):
            if self.is_workday(date.fromordinal(o)):
                yield date.fromordinal(o)

    # -- working hours ----------------------------------------------------------------

    def _hours(self) -> WorkingHours:
        if self.working_hours is None:
            raise ConfigurationError(
                f"calendar {self.name!r} has no working hours; build it with "
                f"working_hours=WorkingHours('08:30-12:00, 13:30-17:30') or similar"
            )
        return self.working_hours

    def _worked_position(self, instant: datetime) -> tuple[int, float]:
        """(ordinal, working seconds elapsed that day) for an aware instant."""
        local = self.local(instant)
        o = local.toordinal()
        if not self.is_workday(local):
            return o, 0.0
        sod = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        return o, self._hours().worked_before(sod)

    def working_time_between(self, start: InstantLike, end: InstantLike) -> timedelta:
        """Working time elapsed from ``start`` to ``end`` (negative if ``end`` is earlier).

        Raises:
            ConfigurationError: when the calendar has no working hours, or ``start`` or
                ``end`` is not a datetime.
            NaiveDatetimeError: for a datetime without a zone.
            CoverageError: when the span leaves the calendar's data.
        """
        hours = self._hours()
        # Checked before comparing: naive against aware would be a bare TypeError.
        start, end = self.local(start), self.local(end)
        if end < start:
            return -self.working_time_between(end, start)
        oa, wa = self._worked_position(start)
        ob, wb = self._worked_position(end)
        if oa == ob:
            return timedelta(seconds=wb - wa)
        day = hours.seconds_per_day
        first = (day - wa) if self.is_workday(date.fromordinal(oa)) else 0.0
        middle = self.workdays_between(date.fromordinal(oa), date.fromordinal(ob - 1))
        return timedelta(seconds=first + middle * day + wb)

    def add_working_time(self, start: InstantLike, amount: timedelta) -> datetime:
        """The instant at which ``amount`` of working time has elapsed after ``start``.

        The answer is in the calendar's zone. When the budget runs out exactly at the end
        of a working period the answer is that end (17:30, not 08:30 the next day).

        Raises:
            ConfigurationError: when the calendar has no working hours, ``start`` is not
                a datetime, or ``amount`` is not a ``timedelta`` or is negative.
            NaiveDatetimeError: for a datetime without a zone.
            CoverageError: when the result leaves the calendar's data.
        """
        hours = self._hours()
        if not isinstance(amount, timedelta):
            raise ConfigurationError(
                f"working time to add is a datetime.timedelta, got {type(amount).__name__} "
                f"{amount!r}"
            )
        if amount < timedelta(0):
            raise ConfigurationError(f"working time to add must not be negative, got {amount}")
        o, worked = self._worked_position(start)
        if amount == timedelta(0):
            return self.local(start)
        day = hours.seconds_per_day
        remaining = amount.total_seconds()
        if self.is_workday(date.fromordinal(o)):
            left_today = day - worked
            if remaining <= left_today:
                return self._at(o, hours.second_of_day_after(worked + remaining))
            remaining -= left_today
        full_days, rest = divmod(remaining, day)
        if rest == 0:
            # Ends exactly at the close of a working day.
            target = self.add_workdays(date.fromordinal(o), int(full_days))
            return self._at(target.toordinal(), hours.second_of_day_after(day))
        target = self.add_workdays(date.fromordinal(o), int(full_days) + 1)
        return self._at(target.toordinal(), hours.second_of_day_after(rest))

    def _at(self, ordinal: int, second_of_day: float) -> datetime:
        whole = int(second_of_day)
        micro = round((second_of_day - whole) * 1e6)
        clock = time(whole // 3600, whole % 3600 // 60, whole % 60, micro)
        return datetime.combine(date.fromordinal(ordinal), clock, tzinfo=self._zone)

    # -- batch ----------------------------------------------------------------------

    @overload
    def add_workdays_many(
        self,
        days: npt.NDArray[np.datetime64],
        n: int | Sequence[int] | npt.NDArray[np.integer[Any]],
        *,
        counting: Counting = ...,
    ) -> npt.NDArray[np.datetime64]: ...

    @overload
    def add_workdays_many(
        self,
        days: Iterable[DayLike],
        n: int | Sequence[int],
        *,
        counting: Counting = ...,
    ) -> list[date]: ...

    def add_workdays_many(
        self,
        days: Any,
        n: Any,
        *,
        counting: Counting = Counting.STRICTLY_AFTER,
    ) -> Any:
        """``add_workdays`` over many days at once, agreeing exactly with the scalar form.

        ``days`` is either a numpy ``datetime64`` array (``[D]`` values are local
        dates; finer units are UTC instants, converted to the calendar's zone), in which
        case the answer is a ``datetime64[D]`` array computed without a Python loop; or
        any iterable of dates and aware datetimes, in which case the answer is a list of
        dates. ``n`` is one whole number or one per day: ints, or a numpy integer array
        (checked by dtype, without a loop).

        Raises:
            ConfigurationError: when a step count is not a whole number (a float such as
                1.7, a bool, a float array), the numbers of days and step counts differ,
                or a value is not a date, an aware datetime or a datetime64.
            CoverageError: when a start or a result lies outside the calendar's data.
            NaiveDatetimeError: for a datetime without a zone.
        """
        if type(days).__module__ == "numpy" and type(days).__name__ == "ndarray":
            return self._add_many_numpy(days, n, counting)
        items = list(days)
        # One count per day: any iterable but text and 0-d arrays (which are one number).
        if (
            isinstance(n, Iterable)
            and not isinstance(n, str | bytes)
            and getattr(n, "ndim", 1) != 0
        ):
            steps = [_steps(x) for x in n]
        else:
            steps = [_steps(n)] * len(items)
        if len(steps) != len(items):
            raise ConfigurationError(f"{len(items)} days but {len(steps)} step counts")
        add = self.add_workdays
        return [add(d, k, counting=counting) for d, k in zip(items, steps, strict=True)]

    def _add_many_numpy(self, days: Any, n: Any, counting: Counting) -> Any:
        try:
            import numpy as np
        except ImportError:  # pragma: no cover - days is a numpy array, so numpy exists
            raise MissingExtraError("numpy", "add_workdays_many on arrays") from None
        if not np.issubdtype(days.dtype, np.datetime64):
            raise ConfigurationError(f"expected a datetime64 array, got dtype {days.dtype}")
        unit = np.datetime_data(days.dtype)[0]
        if unit in ("Y", "M", "W"):
            raise ConfigurationError(f"datetime64[{unit}] values are not days")
        if unit == "D":
            ordinals = days.astype(np.int64) + _EPOCH_ORDINAL
        elif self._fixed_offset is not None:
            seconds = days.astype("datetime64[s]").astype(np.int64)
            offset = int(self._fixed_offset.total_seconds())
            ordinals = (seconds + offset) // _SECONDS_PER_DAY + _EPOCH_ORDINAL
        else:
            seconds = days.astype("datetime64[s]").astype(np.int64).tolist()
            ordinals = np.array(
                [datetime.fromtimestamp(s, self._zone).toordinal() for s in seconds],
                dtype=np.int64,
            )
        given = np.asarray(n)
        if given.dtype.kind not in "iu" and given.size:
            raise ConfigurationError(
                f"step counts must be whole numbers (ints or an integer array), got "
                f"{given.dtype} values such as {given.ravel()[:1].tolist()[0]!r}"
            )
        try:
            steps = np.broadcast_to(given.astype(np.int64, copy=False), ordinals.shape)
        except ValueError:
            raise ConfigurationError(f"{ordinals.size} days but {given.size} step counts") from None
        table = self._table
        cum, work = table.as_numpy()
        idx = ordinals - table.lo
        size = table.hi - table.lo
        bad = (idx < 0) | (idx >= size)
        if bad.any():
            if self.coverage is None:
                flat = [
                    self.add_workdays(date.fromordinal(int(o)), int(k), counting=counting)
                    for o, k in zip(ordinals.ravel().tolist(), steps.ravel().tolist(), strict=True)
                ]
                return np.array(flat, dtype="datetime64[D]").reshape(ordinals.shape)
            raise self._outside(int(ordinals[bad].flat[0]))
        if counting is Counting.STRICTLY_AFTER:
            k = np.where(steps > 0, cum[idx + 1] + steps - 1, cum[idx] + steps)
        elif counting is Counting.ROLL_FORWARD:
            k = cum[idx] + steps
        else:
            raise ConfigurationError(f"counting must be a Counting member, got {counting!r}")
        out = (k < 0) | (k >= work.shape[0])
        if out.any():
            first = int(np.argmax(out.ravel()))
            o = int(ordinals.ravel()[first])
            step = int(steps.ravel()[first])
            self._add_beyond_table(o, step, counting)  # raises the coverage error
        result = work[k] - _EPOCH_ORDINAL
        return result.astype("datetime64[D]")

    # -- derived calendars ------------------------------------------------------------

    def extended_with(
        self,
        *,
        holidays: Mapping[date, str] | Iterable[date] = (),
        workdays: Mapping[date, str] | Iterable[date] = (),
        coverage: tuple[int, int] | None = None,
        sources: Mapping[int, str] | None = None,
        name: str | None = None,
    ) -> WorkCalendar:
        """A copy with more holidays and make-up workdays (e.g. a newly announced year).

        A day given here replaces what the calendar said about it. ``coverage`` names
        the years the new data covers: the copy covers those *and* the years already
        covered (a calendar without coverage gets exactly the given one). ``sources``
        adds notes per year.

        Raises:
            ConfigurationError: when ``coverage`` would leave years between the old and
                the new covered years without data (extending 2004-2026 by 2028 alone
                would make 2027 a plain Monday-Friday year): supply those years too.
                Also for malformed days or coverage.
        """
        coverage = _joined_coverage(self.name, self.coverage, _coverage_converter(coverage))
        new_holidays = dict(self.holidays)
        new_workdays = dict(self.workdays)
        for day, label in _day_mapping(holidays).items():
            new_workdays.pop(day, None)
            new_holidays[day] = label
        for day, label in _day_mapping(workdays).items():
            new_holidays.pop(day, None)
            new_workdays[day] = label
        return attrs.evolve(
            self,
            name=name if name is not None else self.name,
            holidays=new_holidays,
            workdays=new_workdays,
            coverage=coverage,
            sources={**self.sources, **(sources or {})},
        )

    def with_working_hours(self, hours: WorkingHours | str) -> WorkCalendar:
        """A copy with the given working hours."""
        value = hours if isinstance(hours, WorkingHours) else WorkingHours(hours)
        return attrs.evolve(self, working_hours=value)

    def combined_with(self, *others: WorkCalendar, name: str | None = None) -> WorkCalendar:
        """A calendar whose working days are those worked in this one *and* all ``others``.

        Use it to lay an agency's own closures over a national calendar. All calendars
        must share a time zone; the coverage is the years every one of them covers (a
        calendar without coverage covers every year), so the result has data for every
        year it covers and never leaves a gap. Only published data is combined: the
        result is not provisional, and a year some input would only estimate raises
        :class:`CoverageError`, as on that input's official calendar.

        Raises:
            ConfigurationError: when the zones differ, the covered years do not overlap,
                or no weekday is worked in all of the calendars.
        """
        calendars = (self, *others)
        zones = {c.timezone for c in calendars}
        if len(zones) != 1:
            raise ConfigurationError(
                f"cannot combine calendars in different zones: {sorted(zones)}"
            )
        weekmask = tuple(all(c.weekmask[i] for c in calendars) for i in range(7))
        if not any(weekmask):
            raise ConfigurationError(
                f"no weekday is worked in all of {[c.name for c in calendars]}, so the "
                f"combined calendar would have no working days"
            )
        coverages = [c.coverage for c in calendars if c.coverage is not None]
        coverage: tuple[int, int] | None = None
        if coverages:
            coverage = (max(c[0] for c in coverages), min(c[1] for c in coverages))
            if coverage[0] > coverage[1]:
                raise ConfigurationError("the calendars' covered years do not overlap")
        special: set[date] = set()
        for c in calendars:
            special.update(c.holidays)
            special.update(c.workdays)
        holidays: dict[date, str] = {}
        workdays: dict[date, str] = {}
        for day in sorted(special):
            if coverage is not None and not coverage[0] <= day.year <= coverage[1]:
                continue
            worked = all(c.is_workday(day) for c in calendars)
            label = next((c.day_name(day) for c in calendars if c.day_name(day)), "")
            if worked and not weekmask[day.weekday()]:
                workdays[day] = label
            elif not worked and weekmask[day.weekday()]:
                holidays[day] = label
        sources: dict[int, str] = {}
        for c in calendars:
            for year, text in c.sources.items():
                sources[year] = f"{sources[year]}; {text}" if year in sources else text
        return WorkCalendar(
            name if name is not None else " + ".join(c.name for c in calendars),
            timezone=self.timezone,
            weekmask=weekmask,
            holidays=holidays,
            workdays=workdays,
            coverage=coverage,
            sources=sources,
            working_hours=self.working_hours,
        )

    def provisional(self, *, until: int | None = None) -> WorkCalendar:
        """A copy that estimates years after its coverage instead of raising.

        Needs an estimator (China's calendar has one: the statutory rules).
        """
        return attrs.evolve(self, unannounced=Unannounced.PROVISIONAL, provisional_until=until)

    # -- text format ------------------------------------------------------------------

    @classmethod
    def from_text(cls, text: str, **overrides: Any) -> WorkCalendar:
        r"""Build a calendar from the closedloop calendar text format.

        The format, one statement per line, ``#`` starting a comment::

            name: Example agency
            timezone: Asia/Shanghai
            weekmask: Mon Tue Wed Thu Fri
            coverage: 2025-2026
            hours: 08:30-12:00, 13:30-17:30
            source 2025: notice of 2024-11-12
            2025-01-01 holiday New Year's Day
            2025-01-28..2025-02-04 holiday Spring Festival
            2025-01-26 workday Spring Festival make-up day

        Values are taken with surrounding spaces removed. A backslash escapes: ``\#``
        is a ``#`` that does not start a comment, ``\\`` a backslash, ``\n``, ``\r``
        and ``\t`` a line feed, carriage return and tab, and ``\uXXXX`` the character
        with that hexadecimal code (``to_text`` writes it for other line breaks and
        for a space at either end of a value). Any other backslash is an error.

        Keyword ``overrides`` replace header values (e.g. ``unannounced=...``).

        Raises:
            CalendarFormatError: naming the line that does not parse (or line 0 when the
                lines parse but do not make a valid calendar).
        """
        parsed = _parse_text(text)
        parsed.update(overrides)
        if "name" not in parsed:
            raise CalendarFormatError("a calendar text needs a 'name:' line")
        try:
            return cls(**parsed)
        except ConfigurationError as exc:
            raise CalendarFormatError(str(exc)) from None

    def extended_with_text(self, text: str) -> WorkCalendar:
        """A copy extended with the day lines (and coverage/source lines) of ``text``.

        Works as :meth:`extended_with`: the copy covers the years it covered and those
        of the ``coverage:`` line.

        Raises:
            CalendarFormatError: for a line that does not parse, a header other than
                coverage and source, or a coverage that would leave years between the
                old and the new covered years without data.
        """
        parsed = _parse_text(text)
        unknown = set(parsed) - {"holidays", "workdays", "coverage", "sources"}
        if unknown:
            raise CalendarFormatError(
                f"an extension may only carry days, coverage and sources, not {sorted(unknown)}"
            )
        try:
            return self.extended_with(
                holidays=parsed.get("holidays", {}),
                workdays=parsed.get("workdays", {}),
                coverage=parsed.get("coverage"),
                sources=parsed.get("sources"),
            )
        except ConfigurationError as exc:
            raise CalendarFormatError(str(exc)) from None

    def to_text(self) -> str:
        """The calendar in the text format; ``from_text(to_text())`` gives it back exactly.

        Names, sources and day names are escaped where needed (see :meth:`from_text`),
        so any text survives the round trip. Estimators are code, not data, and the
        provisional mode goes with them: neither is written, so pass ``estimator=``
        and ``unannounced=`` to :meth:`from_text` to restore them.
        """
        lines = [f"name: {_escape(self.name)}", f"timezone: {_escape(self.timezone)}"]
        lines.append(
            "weekmask: "
            + " ".join(n for n, on in zip(WEEKDAY_NAMES, self.weekmask, strict=True) if on)
        )
        if self.coverage is not None:
            lines.append(f"coverage: {self.coverage[0]:04d}-{self.coverage[1]:04d}")
        if self.working_hours is not None:
            lines.append(f"hours: {self.working_hours}")
        lines.extend(f"source {year:04d}: {_escape(text)}" for year, text in self.sources.items())
        for kind, days in (("holiday", self.holidays), ("workday", self.workdays)):
            lines.extend(_ranges_to_lines(kind, days))
        return "\n".join(lines) + "\n"


class _BeyondTable(Exception):
    """Internal: an unbounded calendar was asked about a day outside its table."""

    def __init__(self, ordinal: int) -> None:
        self.ordinal = ordinal


def _weekmask_count_before(cal: WorkCalendar, o: int) -> int:
    """Working days before ordinal ``o``, relative to the table start, beyond the table."""
    table = cal._table
    mask = cal.weekmask
    per_week = sum(mask)

    def plain(a: int, b: int) -> int:
        """Weekmask days in [a, b)."""
        weeks, rest = divmod(b - a, 7)
        return weeks * per_week + sum(mask[(x - 1) % 7] for x in range(a, a + rest))

    if o >= table.hi:
        return table.cum[-1] + plain(table.hi, o)
    return -plain(o, table.lo)


def _walk(is_work: Callable[[int], bool], o: int, n: int, counting: Counting) -> date:
    if counting is Counting.ROLL_FORWARD or n == 0:
        while not is_work(o):
            o += 1
    step = 1 if n > 0 else -1
    for _ in range(abs(n)):
        o += step
        while not is_work(o):
            o += step
    return date.fromordinal(o)


@functools.lru_cache(maxsize=64)
def _constant_offset(zone: tzinfo, first_year: int, last_year: int) -> timedelta | None:
    """The zone's UTC offset if it is the same throughout the years, else None.

    Offset changes (daylight saving, a new standard offset) last weeks or months, so
    probing every three days finds any of them.
    """
    start = datetime(first_year, 1, 1, tzinfo=zone)
    offset = start.utcoffset()
    probe = start
    end = datetime(last_year + 1, 1, 1, tzinfo=zone)
    step = timedelta(days=3, hours=7)
    while probe < end:
        if probe.utcoffset() != offset:
            return None
        probe += step
    return offset


_DAY_LINE = re.compile(
    r"^(?P<first>\d{4}-\d{2}-\d{2})(?:\.\.(?P<last>\d{4}-\d{2}-\d{2}))?\s+"
    r"(?P<kind>holiday|workday)\b\s*(?P<label>.*)$"
)
_HEADER = re.compile(r"^(?P<key>[a-z]+)(?:\s+(?P<year>\d{4}))?\s*:\s*(?P<value>.*)$")

# The escaping rule of the text format (documented in WorkCalendar.from_text).
_CONTENT = re.compile(r"(?:[^#\\]|\\.?)*", re.DOTALL)
"""A line up to its first unescaped ``#``."""
_MUST_ESCAPE = re.compile(r"[\\#\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
"""A backslash, a ``#``, a tab, and every character ``str.splitlines`` breaks at."""
_ESCAPES: Final = {"\\": "\\\\", "#": "\\#", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_UNESCAPES: Final = {"\\": "\\", "#": "#", "n": "\n", "r": "\r", "t": "\t"}
_ESCAPE_SEQUENCE = re.compile(r"\\(u[0-9a-fA-F]{4}|.?)", re.DOTALL)


def _code_escape(char: str) -> str:
    return _ESCAPES.get(char) or f"\\u{ord(char):04x}"


def _escape(value: str) -> str:
    """``value`` written so that reading the line gives it back exactly."""
    text = _MUST_ESCAPE.sub(lambda m: _code_escape(m.group()), value)
    # Reading strips whitespace around a value, so whitespace at either end is escaped.
    if text[:1].isspace():
        text = _code_escape(text[0]) + text[1:]
    if text[-1:].isspace():
        text = text[:-1] + _code_escape(text[-1])
    return text


def _unescape(value: str, number: int, raw: str) -> str:
    """The text a value of line ``number`` stands for (see the escaping rule)."""
    if "\\" not in value:
        return value

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        if code in _UNESCAPES:
            return _UNESCAPES[code]
        raise CalendarFormatError(
            f"unknown escape {match.group()!r}: write \\\\ for a backslash, \\# for '#', "
            f"\\n for a line break, \\uXXXX for any character",
            number,
            raw,
        )

    return _ESCAPE_SEQUENCE.sub(one, value)


def _parse_text(text: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    sources: dict[int, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if "\\" in raw:
            content = _CONTENT.match(raw)
            line = (content.group() if content else "").strip()
        else:
            line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        day_match = _DAY_LINE.match(line)
        if day_match:
            try:
                first = date.fromisoformat(day_match["first"])
                last = date.fromisoformat(day_match["last"]) if day_match["last"] else first
            except ValueError:
                raise CalendarFormatError("not a valid date", number, raw) from None
            if last < first:
                raise CalendarFormatError("a range must not end before it starts", number, raw)
            target, other = (
                (holidays, workdays) if day_match["kind"] == "holiday" else (workdays, holidays)
            )
            label = _unescape(day_match["label"].strip(), number, raw)
            for o in range(first.toordinal(), last.toordinal() + 1):
                day = date.fromordinal(o)
                if day in other or day in target:
                    raise CalendarFormatError(f"{day} is listed twice", number, raw)
                target[day] = label
            continue
        header = _HEADER.match(line)
        if not header:
            raise CalendarFormatError(
                "expected 'key: value' or 'YYYY-MM-DD[..YYYY-MM-DD] holiday|workday [name]'",
                number,
                raw,
            )
        key, value = header["key"], _unescape(header["value"].strip(), number, raw)
        if key == "source":
            if header["year"] is None:
                raise CalendarFormatError(
                    "a source line names its year: 'source 2025: ...'", number, raw
                )
            sources[int(header["year"])] = value
        elif header["year"] is not None:
            raise CalendarFormatError(f"'{key}' takes no year", number, raw)
        elif key in ("name", "timezone"):
            result[key] = value
        elif key == "weekmask":
            try:
                result["weekmask"] = _weekmask_converter(value)
            except ConfigurationError as exc:
                raise CalendarFormatError(str(exc), number, raw) from None
        elif key == "coverage":
            match = re.fullmatch(r"(\d{4})\s*-\s*(\d{4})", value)
            if not match:
                raise CalendarFormatError("coverage is 'YYYY-YYYY'", number, raw)
            result["coverage"] = (int(match[1]), int(match[2]))
        elif key == "hours":
            try:
                result["working_hours"] = WorkingHours(value)
            except ConfigurationError as exc:
                raise CalendarFormatError(str(exc), number, raw) from None
        else:
            raise CalendarFormatError(
                f"unknown key {key!r} (known: name, timezone, weekmask, coverage, hours, source)",
                number,
                raw,
            )
    if holidays:
        result["holidays"] = holidays
    if workdays:
        result["workdays"] = workdays
    if sources:
        result["sources"] = sources
    return result


def _ranges_to_lines(kind: str, days: Mapping[date, str]) -> list[str]:
    lines: list[str] = []
    run: list[date] = []
    label = ""

    def flush() -> None:
        if not run:
            return
        span = run[0].isoformat() if len(run) == 1 else f"{run[0]}..{run[-1]}"
        lines.append(f"{span} {kind} {_escape(label)}".rstrip())

    for day, name in days.items():
        if run and name == label and day.toordinal() == run[-1].toordinal() + 1:
            run.append(day)
            continue
        flush()
        run = [day]
        label = name
    flush()
    return lines
