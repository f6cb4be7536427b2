"""Cadences: on which days downward meetings are held, and who hosts each one.

A cadence names regular days ("the second Tuesday of every month", "every Saturday",
"every other Wednesday"). Those are the *nominal* days. The calendar then decides what
happens to a nominal day that is off:

* :class:`OffDays` says which days count as off for the cadence: only public
  holidays (``HOLIDAYS``, the default), or every day that is not a working day
  (``NON_WORKING``). With the default, a cadence on Saturday ("周六解难题") meets on
  ordinary Saturdays and only a Saturday inside a public holiday is off; with
  ``NON_WORKING`` every ordinary Saturday is off too. For a cadence on a weekday the
  two are the same, since a weekday that is not worked is a holiday.
* :class:`HolidayRule` says what happens to an off day: ``SKIP`` it, move it to the
  ``NEXT_WORKDAY`` or the ``PREVIOUS_WORKDAY`` on the calendar, or ``KEEP`` it.

A moved meeting never reaches its neighbour: a meeting that would move onto or past
the next nominal day (or, moving back, onto or before the previous one) is skipped
instead. So the dates come out strictly increasing, without duplicates, and whether a
meeting is held depends only on its own nominal day and its neighbours: splitting a
period in two and asking for each half gives the same dates as asking for the whole.
The period selects *nominal* days; a moved date may therefore lie just outside it.

Who hosts each meeting:

* :func:`plan_monthly_visits` ("市会镇开"): every month the convener visits each of
  its children once. The month's meeting days (its working days, or the days of a
  cadence) are shared out evenly: with ``n`` hosts and ``m`` days, the ``k``-th host
  of the month's order meets on day ``floor(k * m / n)``. The order rotates by one
  place each month (by the month's absolute number, so a plan does not depend on where
  the period starts), so no town is always first or always last.
* :func:`plan_weekly_visits` ("镇会村开"): on each date of a cadence the convener goes
  to one child. Hosts take turns by *smooth weighted round robin*: each host gains its
  weight every turn, the host with the most credit hosts (ties go to the earlier host
  in the given order) and pays back the total weight. Equal weights give a plain
  rotation; weights such as the number of open problems per village send the leader
  more often where the demand is, while still spreading the visits out.

Everything is deterministic: the same cadence, calendar and period give the same dates.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final, Protocol, runtime_checkable

import attrs

from closedloop._checks import member, whole, whole_at_least
from closedloop.errors import ConfigurationError, NotOneLevelDownError
from closedloop.hierarchy import Hierarchy
from closedloop.ids import UnitId
from closedloop.workdays import DayKind, WorkCalendar

__all__ = [
    "Cadence",
    "HolidayRule",
    "MonthlyCadence",
    "OffDays",
    "PlannedMeeting",
    "WeeklyCadence",
    "parse_weekday",
    "plan_monthly_visits",
    "plan_weekly_visits",
    "rotation",
]

_WEEKDAYS: Final = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_FULL_NAMES: Final = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
_CHINESE: Final = ("一", "二", "三", "四", "五", "六", "日")
_ORDINALS: Final = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_DEFAULT_ANCHOR: Final = date(2001, 1, 1)  # a Monday


class HolidayRule(enum.Enum):
    """What happens to a meeting whose nominal day is off (see :class:`OffDays`)."""

    SKIP = "skip"
    """No meeting that time."""
    NEXT_WORKDAY = "next_workday"
    """Held on the next working day of the calendar (the default)."""
    PREVIOUS_WORKDAY = "previous_workday"
    """Held on the last working day before the nominal day."""
    KEEP = "keep"
    """Held on the nominal day all the same."""


class OffDays(enum.Enum):
    """Which nominal days the holiday rule applies to."""

    HOLIDAYS = "holidays"
    """Public holidays only: a cadence on Saturday meets on ordinary Saturdays (default)."""
    NON_WORKING = "non_working"
    """Every day that is not a working day: holidays and ordinary rest days."""


def parse_weekday(value: int | str) -> int:
    """A weekday as ``0`` (Monday) to ``6`` (Sunday), like ``date.weekday()``.

    Accepts the number, an English name or its first three letters (``"Sat"``,
    ``"saturday"``), or a Chinese name (``"周六"``, ``"星期六"``, ``"周日"``, ``"星期天"``).

    Raises:
        ConfigurationError: for anything else.
    """
    if isinstance(value, bool):
        raise ConfigurationError(f"not a weekday: {value!r}")
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise ConfigurationError(f"a weekday number lies in 0 (Monday) to 6 (Sunday), got {value}")
    if isinstance(value, str):
        text = value.strip()
        lower = text.lower()
        for index, full in enumerate(_FULL_NAMES):
            if lower in (full, full[:3]):
                return index
        for prefix in ("星期", "礼拜", "周"):
            if text.startswith(prefix):
                rest = text[len(prefix) :].replace("天", "日")
                if rest in _CHINESE:
                    return _CHINESE.index(rest)
    raise ConfigurationError(
        f"not a weekday: {value!r} (use 0-6 with Monday 0, 'Sat', 'saturday' or '周六')"
    )


def _check_day(value: object, what: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise ConfigurationError(f"{what} must be a date (not a datetime), got {value!r}")
    return value


def _check_period(start: object, end: object) -> tuple[date, date]:
    a = _check_day(start, "start")
    b = _check_day(end, "end")
    if b < a:
        raise ConfigurationError(f"the period ends ({b}) before it starts ({a})")
    return a, b


@runtime_checkable
class Cadence(Protocol):
    """A rule for regular meeting days; :class:`MonthlyCadence` and :class:`WeeklyCadence`."""

    @property
    def name(self) -> str:
        """A short stable label, recorded with each scheduled meeting (``"monthly:2:Tue"``)."""
        ...

    def nominal_dates(self, start: date, end: date) -> list[date]:
        """The regular days from ``start`` to ``end`` (both included), before the calendar."""
        ...

    def dates(self, calendar: WorkCalendar, start: date, end: date) -> list[date]:
        """The meeting dates for the nominal days from ``start`` to ``end``."""
        ...


class _RuleMixin:
    """Applies the holiday rule to nominal days; subclasses say where nominal days fall."""

    __slots__ = ()
    rule: HolidayRule
    off_days: OffDays

    def _following(self, day: date) -> date:
        raise NotImplementedError

    def _preceding(self, day: date) -> date:
        raise NotImplementedError

    def nominal_dates(self, start: date, end: date) -> list[date]:
        raise NotImplementedError

    def _is_off(self, calendar: WorkCalendar, day: date) -> bool:
        if self.off_days is OffDays.HOLIDAYS:
            return calendar.kind(day) is DayKind.HOLIDAY
        return not calendar.is_workday(day)

    def dates(self, calendar: WorkCalendar, start: date, end: date) -> list[date]:
        """The meeting dates for the nominal days from ``start`` to ``end`` (both included).

        Each nominal day that is off (per ``off_days``) is skipped, moved or kept per
        ``rule``; a move that would reach a neighbouring nominal day is a skip. The
        result is strictly increasing; a moved date may lie just outside the period.

        Raises:
            ConfigurationError: for a period that ends before it starts, or datetimes.
            CoverageError: from the calendar, for days outside its data.
        """
        start, end = _check_period(start, end)
        out: list[date] = []
        rule = self.rule
        for day in self.nominal_dates(start, end):
            if rule is HolidayRule.KEEP or not self._is_off(calendar, day):
                out.append(day)
            elif rule is HolidayRule.NEXT_WORKDAY:
                moved = calendar.add_workdays(day, 1)
                if moved < self._following(day):
                    out.append(moved)
            elif rule is HolidayRule.PREVIOUS_WORKDAY:
                moved = calendar.add_workdays(day, -1)
                if moved > self._preceding(day):
                    out.append(moved)
        return out


def _rule(value: Any) -> HolidayRule:
    return member(HolidayRule, value, "holiday rule")


def _off_days(value: Any) -> OffDays:
    return member(OffDays, value, "off-days setting")


def _nth(_instance: object, _attribute: object, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value == 0 or not -5 <= value <= 5:
        raise ConfigurationError(
            f"nth is 1 to 5 (first to fifth) or -1 to -5 (last to fifth from last), got {value!r}"
        )


def _month_index(day: date) -> int:
    return day.year * 12 + day.month - 1


def _month_start(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


def _month_end(index: int) -> date:
    return _month_start(index + 1) - timedelta(days=1)


@attrs.frozen
class MonthlyCadence(_RuleMixin):
    """Once a month on the n-th weekday, e.g. the second Tuesday or the last Friday.

    ``nth`` is 1 to 5, or -1 (last) to -5. A month without that weekday (a fifth
    Monday) has no meeting. ``weekday`` is 0 (Monday) to 6 or a name (``"Tue"``,
    ``"周二"``).

    Example: ``MonthlyCadence(2, "Tue")`` meets on the second Tuesday of each month,
    on the next working day when that Tuesday is a public holiday.
    """

    nth: int = attrs.field(validator=_nth)
    weekday: int = attrs.field(converter=parse_weekday)
    rule: HolidayRule = attrs.field(default=HolidayRule.NEXT_WORKDAY, converter=_rule, kw_only=True)
    off_days: OffDays = attrs.field(default=OffDays.HOLIDAYS, converter=_off_days, kw_only=True)

    @property
    def name(self) -> str:
        """``"monthly:<nth>:<weekday>"``, e.g. ``"monthly:-1:Fri"``."""
        return f"monthly:{self.nth}:{_WEEKDAYS[self.weekday]}"

    def describe(self) -> str:
        """The cadence in words."""
        which = "last" if self.nth == -1 else _ORDINALS.get(abs(self.nth), "")
        if self.nth < -1:
            which = f"{_ORDINALS[-self.nth]} from last"
        return f"the {which} {_FULL_NAMES[self.weekday].capitalize()} of every month"

    def _in_month(self, index: int) -> date | None:
        first = _month_start(index)
        if self.nth > 0:
            day = first + timedelta(days=(self.weekday - first.weekday()) % 7 + 7 * (self.nth - 1))
            return day if day.month == first.month else None
        last = _month_end(index)
        day = last - timedelta(days=(last.weekday() - self.weekday) % 7 + 7 * (-self.nth - 1))
        return day if day.month == last.month else None

    def _occurrences(self, index: int, step: int) -> Iterator[date]:
        # Every 12 months contain each n-th weekday at least once, so this ends.
        while True:
            day = self._in_month(index)
            if day is not None:
                yield day
            index += step

    def _following(self, day: date) -> date:
        for found in self._occurrences(_month_index(day), 1):
            if found > day:
                return found
        raise AssertionError("unreachable")  # pragma: no cover

    def _preceding(self, day: date) -> date:
        for found in self._occurrences(_month_index(day), -1):
            if found < day:
                return found
        raise AssertionError("unreachable")  # pragma: no cover

    def nominal_dates(self, start: date, end: date) -> list[date]:
        """The n-th weekdays of the months from ``start`` to ``end`` that fall in the period."""
        start, end = _check_period(start, end)
        out = []
        for index in range(_month_index(start), _month_index(end) + 1):
            day = self._in_month(index)
            if day is not None and start <= day <= end:
                out.append(day)
        return out


def _anchor(value: object) -> date:
    return _check_day(value, "anchor")


@attrs.frozen
class WeeklyCadence(_RuleMixin):
    """On one fixed weekday every week, or every ``every`` weeks.

    Saturdays and Sundays are allowed ("周六解难题"): with the default ``off_days``
    (public holidays only) an ordinary Saturday is a meeting day. With ``every > 1`` the
    meeting weeks are those a whole number of ``every`` weeks from the week (Monday to
    Sunday) that contains ``anchor``.

    Example: ``WeeklyCadence("周六")`` meets every Saturday except public holidays,
    which move to the next working day; ``WeeklyCadence("Wed", every=2)`` every other
    Wednesday.
    """

    weekday: int = attrs.field(converter=parse_weekday)
    every: int = attrs.field(default=1, validator=whole_at_least(1), kw_only=True)
    anchor: date = attrs.field(default=_DEFAULT_ANCHOR, converter=_anchor, kw_only=True)
    rule: HolidayRule = attrs.field(default=HolidayRule.NEXT_WORKDAY, converter=_rule, kw_only=True)
    off_days: OffDays = attrs.field(default=OffDays.HOLIDAYS, converter=_off_days, kw_only=True)

    @property
    def name(self) -> str:
        """``"weekly:<weekday>"``, or ``"every-<n>-weeks:<weekday>@<anchor>"``."""
        if self.every == 1:
            return f"weekly:{_WEEKDAYS[self.weekday]}"
        return f"every-{self.every}-weeks:{_WEEKDAYS[self.weekday]}@{self.anchor.isoformat()}"

    def describe(self) -> str:
        """The cadence in words."""
        day = _FULL_NAMES[self.weekday].capitalize()
        if self.every == 1:
            return f"every {day}"
        return f"every {self.every} weeks on {day} (weeks counted from {self.anchor.isoformat()})"

    @property
    def _first(self) -> date:
        """A meeting day of the anchor's week."""
        monday = self.anchor - timedelta(days=self.anchor.weekday())
        return monday + timedelta(days=self.weekday)

    def _following(self, day: date) -> date:
        step = 7 * self.every
        offset = (day - self._first).days
        return self._first + timedelta(days=(offset // step + 1) * step)

    def _preceding(self, day: date) -> date:
        step = 7 * self.every
        offset = (day - self._first).days
        return self._first + timedelta(days=(-(-offset // step) - 1) * step)

    def nominal_dates(self, start: date, end: date) -> list[date]:
        """The regular days from ``start`` to ``end`` (both included)."""
        start, end = _check_period(start, end)
        day = self._following(start - timedelta(days=1))
        out = []
        step = timedelta(days=7 * self.every)
        while day <= end:
            out.append(day)
            day += step
        return out


# -- who hosts --------------------------------------------------------------------------


@attrs.frozen
class PlannedMeeting:
    """A meeting in a plan: who convenes, where, on which day, under which cadence."""

    convener_unit: UnitId
    host_unit: UnitId
    day: date
    cadence: str


def _hosts(hierarchy: Hierarchy, convener: str, hosts: Iterable[str] | None) -> list[UnitId]:
    if hosts is None:
        return [u.id for u in hierarchy.children(convener)]
    chosen = [UnitId(h) for h in dict.fromkeys(hosts)]
    for host in chosen:
        if not hierarchy.is_one_level_down(convener, host):
            raise NotOneLevelDownError(
                convener,
                host,
                "a downward meeting is held at a child of the convening unit (下沉一级)",
            )
    return chosen


def plan_monthly_visits(
    hierarchy: Hierarchy,
    convener_unit: str,
    calendar: WorkCalendar,
    start: date,
    end: date,
    *,
    hosts: Iterable[str] | None = None,
    days: Cadence | None = None,
) -> list[PlannedMeeting]:
    """Each month, one visit of the convener to each host, spread over the month.

    The month's meeting days are its working days on ``calendar`` (or the dates of
    ``days`` in that month). With ``n`` hosts and ``m`` meeting days, the ``k``-th host
    in the month's order meets on meeting day ``floor(k * m / n)``; when there are more
    hosts than days several visits share a day (different leaders of the convening
    unit). The order is ``hosts`` (default: the convener's children in the hierarchy's
    order) rotated by the month's absolute number, so each host moves one place each
    month. Visits on days outside ``start`` to ``end`` are left out.

    Returns the visits sorted by day, then by host order.

    Raises:
        NotOneLevelDownError: for a host that is not a child of the convener.
        UnknownUnitError: for a unit the hierarchy does not have.
        ConfigurationError: for a period that ends before it starts.
    """
    start, end = _check_period(start, end)
    order = _hosts(hierarchy, convener_unit, hosts)
    if not order:
        return []
    label = f"monthly-round:{days.name}" if days is not None else "monthly-round"
    n = len(order)
    out: list[tuple[date, int, PlannedMeeting]] = []
    for index in range(_month_index(start), _month_index(end) + 1):
        first, last = _month_start(index), _month_end(index)
        meeting_days = (
            list(calendar.workdays_in(first, last))
            if days is None
            else [d for d in days.dates(calendar, first, last) if d.month == first.month]
        )
        if not meeting_days:
            continue
        m = len(meeting_days)
        shift = index % n
        for k in range(n):
            host = order[(k + shift) % n]
            day = meeting_days[k * m // n]
            if start <= day <= end:
                out.append((day, k, PlannedMeeting(UnitId(convener_unit), host, day, label)))
    out.sort(key=lambda t: (t[0], t[1]))
    return [t[2] for t in out]


def rotation(
    hosts: Sequence[str], count: int, *, weights: Mapping[str, float] | None = None
) -> list[UnitId]:
    """The next ``count`` hosts in turn, by smooth weighted round robin.

    Each turn every host gains its weight in credit; the host with the most credit
    (ties: the earlier in ``hosts``) is chosen and pays back the sum of the weights.
    Over any stretch, each host's share of turns follows its share of the weight, and a
    heavy host's turns are spread out rather than bunched. Without weights (or when
    every weight is zero) it is a plain rotation in the given order. Hosts missing from
    ``weights`` have weight zero and are never chosen.

    Raises:
        ConfigurationError: for a negative or non-finite weight or a negative count.
    """
    whole(count, "count")
    order = [UnitId(h) for h in dict.fromkeys(hosts)]
    if not order or count == 0:
        return []
    if weights is None:
        w = [1.0] * len(order)
    else:
        w = []
        for h in order:
            value = float(weights.get(h, 0.0))
            if not value >= 0.0 or value == float("inf"):
                raise ConfigurationError(f"weight of host {h!r} must be finite and >= 0: {value}")
            w.append(value)
        if not any(w):
            w = [1.0] * len(order)
    total = sum(w)
    credit = [0.0] * len(order)
    out: list[UnitId] = []
    for _ in range(count):
        for i, value in enumerate(w):
            credit[i] += value
        best = max(range(len(order)), key=lambda i: (credit[i], -i))
        credit[best] -= total
        out.append(order[best])
    return out


def plan_weekly_visits(
    hierarchy: Hierarchy,
    convener_unit: str,
    cadence: Cadence,
    calendar: WorkCalendar,
    start: date,
    end: date,
    *,
    hosts: Iterable[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> list[PlannedMeeting]:
    """One visit per date of ``cadence``: the convener goes to one child each time.

    Hosts take turns by :func:`rotation` (smooth weighted round robin; a plain rotation
    without ``weights``), starting afresh at the first date of the period with the
    first host. ``hosts`` defaults to the convener's children in the hierarchy's order.

    Raises:
        NotOneLevelDownError: for a host that is not a child of the convener.
        UnknownUnitError: for a unit the hierarchy does not have.
        ConfigurationError: for a period that ends before it starts, or a bad weight.
    """
    order = _hosts(hierarchy, convener_unit, hosts)
    if not order:
        return []
    days = cadence.dates(calendar, start, end)
    turns = rotation(order, len(days), weights=weights)
    return [
        PlannedMeeting(UnitId(convener_unit), host, day, cadence.name)
        for day, host in zip(days, turns, strict=True)
    ]
