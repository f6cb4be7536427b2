"""Cadences, the holiday rule, and who hosts each meeting."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.errors import ConfigurationError, NotOneLevelDownError
from closedloop.hierarchy import generate_hierarchy, yiwu_hierarchy
from closedloop.meetings import (
    HolidayRule,
    MonthlyCadence,
    OffDays,
    WeeklyCadence,
    parse_weekday,
    plan_monthly_visits,
    plan_weekly_visits,
    rotation,
)
from closedloop.workdays import DayKind, WorkCalendar

CHINA = cl.china_calendar()
SIX_DAY_WEEK = WorkCalendar(
    "six-day week",
    weekmask="Mon Tue Wed Thu Fri Sat",
    holidays=[date(2021, 1, 1), date(2021, 1, 2), date(2021, 5, 1), date(2021, 5, 8)],
)
YIWU = "330782"
FOTANG = "330782100000"  # 佛堂镇


def test_weekday_names() -> None:
    assert parse_weekday(5) == parse_weekday("Sat") == parse_weekday("saturday") == 5
    assert parse_weekday("周六") == parse_weekday("星期六") == 5
    assert parse_weekday("周日") == parse_weekday("星期天") == 6
    for bad in (7, -1, "Satur", "周八", True, 2.0):
        with pytest.raises(ConfigurationError):
            parse_weekday(bad)  # type: ignore[arg-type]


def test_monthly_on_the_nth_weekday() -> None:
    second_tuesday = MonthlyCadence(2, "Tue")
    assert second_tuesday.name == "monthly:2:Tue"
    assert second_tuesday.describe() == "the second Tuesday of every month"
    assert second_tuesday.nominal_dates(date(2025, 1, 1), date(2025, 3, 31)) == [
        date(2025, 1, 14),
        date(2025, 2, 11),
        date(2025, 3, 11),
    ]
    last_friday = MonthlyCadence(-1, "Fri")
    assert last_friday.describe() == "the last Friday of every month"
    assert last_friday.nominal_dates(date(2025, 1, 1), date(2025, 2, 28)) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
    ]
    # A fifth Monday exists only in some months.
    fifth = MonthlyCadence(5, "Mon").nominal_dates(date(2025, 1, 1), date(2025, 12, 31))
    assert fifth == [date(2025, 3, 31), date(2025, 6, 30), date(2025, 9, 29), date(2025, 12, 29)]
    for bad in (0, 6, -6, True):
        with pytest.raises(ConfigurationError):
            MonthlyCadence(bad, "Mon")


def test_holiday_rule_on_chinas_calendar() -> None:
    first_wednesday = MonthlyCadence(1, "Wed")
    # 1 January and 1 October 2025 are public holidays: moved to the next working day.
    dates = first_wednesday.dates(CHINA, date(2025, 1, 1), date(2025, 12, 31))
    assert dates[0] == date(2025, 1, 2)
    assert date(2025, 10, 9) in dates
    skipped = MonthlyCadence(1, "Wed", rule="skip").dates(
        CHINA, date(2025, 1, 1), date(2025, 12, 31)
    )
    assert len(skipped) == 10
    kept = MonthlyCadence(1, "Wed", rule=HolidayRule.KEEP).dates(
        CHINA, date(2025, 1, 1), date(2025, 12, 31)
    )
    assert kept[0] == date(2025, 1, 1)
    earlier = MonthlyCadence(1, "Wed", rule="previous_workday").dates(
        CHINA, date(2025, 10, 1), date(2025, 10, 31)
    )
    assert earlier == [date(2025, 9, 30)]
    # The last Friday of January 2025 lies in the Spring Festival holiday.
    assert date(2025, 1, 31) not in MonthlyCadence(-1, "Fri", rule="skip").dates(
        CHINA, date(2025, 1, 1), date(2025, 1, 31)
    )


def test_saturday_problem_solving() -> None:
    """周六解难题: ordinary Saturdays are meeting days; Saturdays in a holiday are not."""
    saturdays = WeeklyCadence("周六")
    assert saturdays.name == "weekly:Sat"
    dates = saturdays.dates(CHINA, date(2025, 9, 20), date(2025, 10, 18))
    # 4 October is in the National Day holiday: the next working day is Thursday 9
    # October; 11 October is a make-up workday and a Saturday anyway.
    assert dates == [
        date(2025, 9, 20),
        date(2025, 9, 27),
        date(2025, 10, 9),
        date(2025, 10, 11),
        date(2025, 10, 18),
    ]
    assert CHINA.kind(date(2025, 9, 20)) is DayKind.REST_DAY
    # If every rest day is "off", a Saturday meeting moves to the next working day.
    strict = WeeklyCadence("Sat", off_days=OffDays.NON_WORKING)
    assert strict.dates(CHINA, date(2025, 9, 20), date(2025, 9, 20)) == [date(2025, 9, 22)]


def test_every_other_week() -> None:
    cadence = WeeklyCadence("Wed", every=2, anchor=date(2025, 3, 3))
    assert cadence.name == "every-2-weeks:Wed@2025-03-03"
    assert cadence.nominal_dates(date(2025, 3, 1), date(2025, 4, 5)) == [
        date(2025, 3, 5),
        date(2025, 3, 19),
        date(2025, 4, 2),
    ]
    assert "every 2 weeks on Wednesday" in cadence.describe()
    with pytest.raises(ConfigurationError):
        WeeklyCadence("Wed", every=0)


def test_a_move_never_reaches_the_next_meeting() -> None:
    # Holidays from Monday 3 to Monday 10 March: the meeting of 3 March would move to
    # 11 March, past the next nominal day (10 March), so it is skipped; the meeting of
    # 10 March moves to 11 March.
    holidays = [date(2025, 3, 3) + timedelta(days=k) for k in range(8)]
    calendar = WorkCalendar("closed week", holidays=holidays)
    monday = WeeklyCadence("Mon")
    assert monday.dates(calendar, date(2025, 3, 1), date(2025, 3, 20)) == [
        date(2025, 3, 11),
        date(2025, 3, 17),
    ]


def test_bad_periods() -> None:
    with pytest.raises(ConfigurationError):
        WeeklyCadence("Mon").dates(CHINA, date(2025, 3, 2), date(2025, 3, 1))
    with pytest.raises(ConfigurationError):
        WeeklyCadence("Mon").nominal_dates(date(2025, 3, 2), "2025-04-01")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        WeeklyCadence("Mon", rule="sometimes")


CADENCES = st.one_of(
    st.builds(
        MonthlyCadence,
        st.sampled_from([1, 2, 3, 4, 5, -1, -2, -5]),
        st.integers(0, 6),
        rule=st.sampled_from(HolidayRule),
        off_days=st.sampled_from(OffDays),
    ),
    st.builds(
        WeeklyCadence,
        st.integers(0, 6),
        every=st.integers(1, 3),
        anchor=st.dates(date(2004, 1, 1), date(2026, 1, 1)),
        rule=st.sampled_from(HolidayRule),
        off_days=st.sampled_from(OffDays),
    ),
)


@st.composite
def periods(draw: st.DrawFn) -> tuple[WorkCalendar, date, date]:
    calendar = draw(st.sampled_from([CHINA, SIX_DAY_WEEK]))
    if calendar is CHINA:
        start = draw(st.dates(date(2005, 1, 1), date(2025, 6, 30)))
    else:
        start = draw(st.dates(date(2020, 6, 1), date(2022, 1, 1)))
    end = start + timedelta(days=draw(st.integers(0, 150)))
    return calendar, start, end


@given(CADENCES, periods())
def test_dates_respect_the_rule(
    cadence: MonthlyCadence | WeeklyCadence, period: tuple[WorkCalendar, date, date]
) -> None:
    calendar, start, end = period
    dates = cadence.dates(calendar, start, end)
    assert dates == cadence.dates(calendar, start, end)  # deterministic
    assert all(a < b for a, b in itertools.pairwise(dates))  # no duplicates
    nominal = cadence.nominal_dates(start, end)
    assert all(start <= d <= end for d in nominal)

    def off(day: date) -> bool:
        if cadence.off_days is OffDays.HOLIDAYS:
            return calendar.kind(day) is DayKind.HOLIDAY
        return not calendar.is_workday(day)

    regular = [d for d in nominal if not off(d)]
    if cadence.rule is HolidayRule.KEEP:
        assert dates == nominal
        return
    assert set(regular) <= set(dates)
    moved = sorted(set(dates) - set(regular))
    if cadence.rule is HolidayRule.SKIP:
        assert moved == []
    elif cadence.rule is HolidayRule.NEXT_WORKDAY:
        targets = {calendar.add_workdays(d, 1) for d in nominal if off(d)}
        assert set(moved) <= targets
    else:
        targets = {calendar.add_workdays(d, -1) for d in nominal if off(d)}
        assert set(moved) <= targets
    for d in dates:
        assert not off(d)
        if cadence.off_days is OffDays.NON_WORKING:
            assert calendar.is_workday(d)


@given(CADENCES, periods(), st.integers(0, 150))
def test_splitting_the_period_changes_nothing(
    cadence: MonthlyCadence | WeeklyCadence, period: tuple[WorkCalendar, date, date], cut: int
) -> None:
    calendar, start, end = period
    middle = min(start + timedelta(days=cut), end)
    whole = cadence.dates(calendar, start, end)
    if middle < end:
        parts = cadence.dates(calendar, start, middle) + cadence.dates(
            calendar, middle + timedelta(days=1), end
        )
        assert parts == whole


def test_city_visits_every_town_each_month() -> None:
    """市会镇开: the city leader visits each of the 14 towns once a month, spread out."""
    hierarchy = yiwu_hierarchy(villages_per_town=2)
    towns = [u.id for u in hierarchy.children(YIWU)]
    plan = plan_monthly_visits(hierarchy, YIWU, CHINA, date(2025, 3, 1), date(2025, 5, 31))
    by_month = Counter((p.day.month, p.host_unit) for p in plan)
    assert set(by_month.values()) == {1}
    assert len(plan) == 3 * len(towns)
    assert all(CHINA.is_workday(p.day) for p in plan)
    assert all(p.convener_unit == YIWU and p.cadence == "monthly-round" for p in plan)
    march = [p for p in plan if p.day.month == 3]
    # 21 working days for 14 towns: never two visits on one day, first and last days used.
    assert len({p.day for p in march}) == 14
    assert march[0].day == date(2025, 3, 3)
    # The order rotates by one place each month.
    first_host = [next(p.host_unit for p in plan if p.day.month == m) for m in (3, 4, 5)]
    assert len(set(first_host)) == 3
    # The same plan, asked month by month.
    again = plan_monthly_visits(hierarchy, YIWU, CHINA, date(2025, 4, 1), date(2025, 4, 30))
    assert again == [p for p in plan if p.day.month == 4]


def test_monthly_visits_on_chosen_days_and_hosts() -> None:
    hierarchy = yiwu_hierarchy(villages_per_town=2)
    towns = [u.id for u in hierarchy.children(YIWU)][:4]
    tuesdays = WeeklyCadence("Tue")
    plan = plan_monthly_visits(
        hierarchy, YIWU, CHINA, date(2025, 3, 1), date(2025, 3, 31), hosts=towns, days=tuesdays
    )
    assert [p.day for p in plan] == [date(2025, 3, d) for d in (4, 11, 18, 25)]
    assert {p.host_unit for p in plan} == set(towns)
    assert plan[0].cadence == "monthly-round:weekly:Tue"
    village = hierarchy.children(FOTANG)[0].id
    with pytest.raises(NotOneLevelDownError):
        plan_monthly_visits(
            hierarchy, YIWU, CHINA, date(2025, 3, 1), date(2025, 3, 31), hosts=[village]
        )


def test_town_visits_one_village_each_saturday() -> None:
    """镇会村开: the town leader goes to one village every Saturday, in turn."""
    hierarchy = yiwu_hierarchy(villages_per_town=3)
    villages = [u.id for u in hierarchy.children(FOTANG)]
    plan = plan_weekly_visits(
        hierarchy, FOTANG, WeeklyCadence("周六"), CHINA, date(2025, 3, 1), date(2025, 3, 31)
    )
    assert [p.day for p in plan] == [date(2025, 3, d) for d in (1, 8, 15, 22, 29)]
    assert [p.host_unit for p in plan] == [villages[k % 3] for k in range(5)]
    assert all(p.cadence == "weekly:Sat" for p in plan)
    weighted = plan_weekly_visits(
        hierarchy,
        FOTANG,
        WeeklyCadence("Sat"),
        CHINA,
        date(2025, 3, 1),
        date(2025, 5, 31),
        weights={villages[0]: 3, villages[1]: 1},
    )
    counts = Counter(p.host_unit for p in weighted)
    assert counts[villages[0]] > counts[villages[1]] > 0
    assert villages[2] not in counts


def test_rotation_follows_the_weights() -> None:
    assert rotation(["a", "b", "c"], 5) == ["a", "b", "c", "a", "b"]
    assert rotation(["a", "b"], 4, weights={"a": 0, "b": 0}) == ["a", "b", "a", "b"]
    smooth = rotation(["a", "b", "c"], 7, weights={"a": 5, "b": 1, "c": 1})
    assert smooth == ["a", "a", "b", "a", "c", "a", "a"]
    assert rotation([], 3) == []
    with pytest.raises(ConfigurationError):
        rotation(["a"], -1)
    with pytest.raises(ConfigurationError):
        rotation(["a"], 1, weights={"a": -1})


@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=6),
    st.integers(0, 60),
)
def test_rotation_shares_follow_weights(weights: list[int], count: int) -> None:
    hosts = [f"h{k}" for k in range(len(weights))]
    turns = rotation(hosts, count, weights=dict(zip(hosts, weights, strict=True)))
    total = sum(weights)
    counts: Counter[str] = Counter(turns)
    for host, w in zip(hosts, weights, strict=True):
        # Smooth weighted round robin keeps each share within one turn of its ideal.
        assert abs(counts[host] - count * w / total) < len(hosts)


@given(st.integers(0, 10_000), st.data())
def test_plans_stay_one_level_down(seed: int, data: st.DataObject) -> None:
    hierarchy = generate_hierarchy((1, 3, 6, 12), seed=seed)
    units = [u.id for u in hierarchy]
    convener = data.draw(st.sampled_from(units))
    children = hierarchy.children(convener)
    plan = plan_weekly_visits(
        hierarchy, convener, WeeklyCadence("Sat"), CHINA, date(2025, 3, 1), date(2025, 4, 30)
    )
    assert all(hierarchy.is_one_level_down(convener, p.host_unit) for p in plan)
    assert bool(plan) == bool(children)
    host = data.draw(st.sampled_from(units))
    if hierarchy.is_one_level_down(convener, host):
        assert plan_monthly_visits(
            hierarchy, convener, CHINA, date(2025, 3, 1), date(2025, 3, 31), hosts=[host]
        )
    else:
        with pytest.raises(NotOneLevelDownError):
            plan_monthly_visits(
                hierarchy, convener, CHINA, date(2025, 3, 1), date(2025, 3, 31), hosts=[host]
            )
