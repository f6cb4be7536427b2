"""Working-day calendars: the counting rule, coverage, instants, formats, batch form."""

from __future__ import annotations

import time as time_module
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pendulum
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import closedloop as cl
from closedloop import Counting, DayKind, WorkCalendar, WorkingHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = cl.china_calendar()
FIRST = date(2004, 1, 1)
LAST = date(2026, 12, 31)

# Days far enough from the edges of the data that +/- 60 working days stay inside.
inner_days = st.dates(min_value=date(2004, 6, 1), max_value=date(2026, 6, 30))
steps = st.integers(min_value=1, max_value=60)


# -- pinned examples from the official notices ----------------------------------------


def test_national_day_2025_plus_three_working_days_is_the_makeup_saturday() -> None:
    assert CAL.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert CAL.kind(date(2025, 10, 11)) is DayKind.MAKEUP_WORKDAY


def test_sunday_2025_01_26_is_a_working_day() -> None:
    assert CAL.is_workday(date(2025, 1, 26))
    assert "调休" in CAL.day_name(date(2025, 1, 26))


def test_holiday_days_and_ordinary_days_are_classified() -> None:
    assert CAL.kind(date(2025, 10, 1)) is DayKind.HOLIDAY
    assert CAL.kind(date(2025, 10, 12)) is DayKind.REST_DAY
    assert CAL.kind(date(2025, 10, 13)) is DayKind.WORKDAY
    assert CAL.day_name(date(2025, 10, 13)) == ""


def test_each_covered_year_names_its_notice() -> None:
    assert set(CAL.sources) == set(range(2004, 2027))
    assert "国办发明电〔2024〕12号" in CAL.sources[2025]
    assert all("部分节假日安排的通知" in text for text in CAL.sources.values())


def test_start_day_is_never_counted_and_zero_rolls_forward() -> None:
    friday = date(2025, 10, 10)
    assert CAL.add_workdays(friday, 1) == date(2025, 10, 11)
    assert CAL.add_workdays(friday, 0) == friday
    assert CAL.add_workdays(date(2025, 10, 3), 0) == date(2025, 10, 9)
    assert CAL.add_workdays(date(2025, 10, 3), 1) == date(2025, 10, 9)
    assert CAL.add_workdays(date(2025, 10, 3), -1) == date(2025, 9, 30)


def test_roll_forward_counting_differs_only_from_a_day_off() -> None:
    holiday = date(2025, 10, 3)
    assert CAL.add_workdays(holiday, 1, counting=Counting.ROLL_FORWARD) == date(2025, 10, 10)
    assert CAL.add_workdays(holiday, 1) == date(2025, 10, 9)
    workday = date(2025, 9, 30)
    assert CAL.add_workdays(workday, 3, counting=Counting.ROLL_FORWARD) == CAL.add_workdays(
        workday, 3
    )


def test_loading_the_china_calendar_is_cheap_and_shared() -> None:
    assert cl.china_calendar() is cl.china_calendar()
    started = time_module.perf_counter()
    WorkCalendar.from_text(CAL.to_text())
    # Not a performance assertion: a guard against accidentally quadratic parsing.
    assert time_module.perf_counter() - started < 2.0


# -- instants -------------------------------------------------------------------------


def test_aware_datetimes_are_converted_to_the_calendars_zone() -> None:
    late_utc = datetime(2025, 9, 30, 20, 0, tzinfo=UTC)  # 04:00 on 1 Oct in Shanghai
    assert CAL.day_of(late_utc) == date(2025, 10, 1)
    assert not CAL.is_workday(late_utc)
    new_york = datetime(2025, 9, 30, 9, 0, tzinfo=ZoneInfo("America/New_York"))
    assert CAL.day_of(new_york) == date(2025, 9, 30)
    assert CAL.day_of(datetime(2025, 9, 30, 13, tzinfo=ZoneInfo("America/New_York"))) == date(
        2025, 10, 1
    )


@given(
    year=st.integers(1900, 2199),
    minute=st.integers(0, 366 * 24 * 60 - 1),
    zone=st.sampled_from(["Atlantic/Reykjavik", "UTC", "Asia/Shanghai", "America/Sao_Paulo"]),
)
@example(year=1960, minute=23 * 60 + 30, zone="Atlantic/Reykjavik")  # UTC-1 then
def test_the_day_of_an_instant_is_its_date_in_the_calendars_zone(
    year: int, minute: int, zone: str
) -> None:
    """Whatever was seen before: a zone's offset can match the calendar's in some years
    (Reykjavik is UTC since 1968) and not in others."""
    unbounded = WorkCalendar("anywhere")  # UTC, a table from 1970 to 2100
    seen = datetime(2020, 1, 1, 12, tzinfo=ZoneInfo(zone))
    unbounded.day_of(seen)
    instant = datetime(year, 1, 1, tzinfo=ZoneInfo(zone)) + timedelta(minutes=minute)
    assert unbounded.day_of(instant) == instant.astimezone(UTC).date()


def test_pendulum_values_are_accepted() -> None:
    assert CAL.add_workdays(pendulum.date(2025, 9, 30), 3) == date(2025, 10, 11)
    at = pendulum.datetime(2025, 9, 30, 23, 30, tz="Asia/Shanghai")
    assert CAL.add_workdays(at, 3) == date(2025, 10, 11)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(cl.NaiveDatetimeError, match="time zone"):
        CAL.add_workdays(datetime(2025, 9, 30, 10), 1)
    with pytest.raises(ValueError, match="naive"):  # a ValueError for callers unaware of us
        CAL.is_workday(datetime(2025, 9, 30, 10))


def test_other_types_are_refused_with_a_closedloop_error() -> None:
    with pytest.raises(cl.ConfigurationError, match="expected a date"):
        CAL.is_workday("2025-09-30")  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["America/New_York", "Europe/London", "Australia/Lord_Howe"])
def host_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test as if the host's local time zone had daylight saving."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TZ", request.param)
    time_module.tzset()
    yield request.param
    mp.undo()
    time_module.tzset()


@given(day=inner_days, n=steps, hour=st.integers(0, 23))
def test_results_do_not_depend_on_the_host_time_zone(
    host_zone: str, day: date, n: int, hour: int
) -> None:
    instant = datetime.combine(day, time(hour), tzinfo=SHANGHAI)
    expected = _naive_add(day, n)
    assert CAL.add_workdays(instant, n) == expected
    assert CAL.add_workdays(instant.astimezone(UTC), n) == expected
    assert CAL.add_workdays(instant.astimezone(ZoneInfo(host_zone)), n) == expected


def _naive_add(day: date, n: int) -> date:
    """Reference: walk one day at a time (n >= 1)."""
    current = day
    for _ in range(n):
        current += timedelta(days=1)
        while not CAL.is_workday(current):
            current += timedelta(days=1)
    return current


# -- properties of the arithmetic -------------------------------------------------------


@given(day=inner_days, n=steps)
def test_add_workdays_lands_on_a_working_day_and_matches_a_walk(day: date, n: int) -> None:
    result = CAL.add_workdays(day, n)
    assert CAL.is_workday(result)
    assert result > day
    assert result == _naive_add(day, n)


@given(day=inner_days, a=steps, b=steps)
def test_adding_is_additive(day: date, a: int, b: int) -> None:
    assert CAL.add_workdays(CAL.add_workdays(day, a), b) == CAL.add_workdays(day, a + b)


@given(day=inner_days, n=st.integers(-60, 60), gap=st.integers(0, 30))
def test_add_workdays_is_monotone_in_the_day_and_in_n(day: date, n: int, gap: int) -> None:
    later = day + timedelta(days=gap)
    assert CAL.add_workdays(day, n) <= CAL.add_workdays(later, n)
    assert CAL.add_workdays(day, n) <= CAL.add_workdays(day, n + 1)


@given(day=inner_days, n=st.integers(-60, 60).filter(lambda n: n != 0))
def test_workdays_between_inverts_add_workdays(day: date, n: int) -> None:
    assert CAL.workdays_between(day, CAL.add_workdays(day, n)) == n


@given(day=inner_days)
def test_zero_steps_inverts_only_from_a_working_day(day: date) -> None:
    result = CAL.add_workdays(day, 0)
    assert CAL.is_workday(result)
    if CAL.is_workday(day):
        assert result == day
        assert CAL.workdays_between(day, result) == 0


@given(a=inner_days, b=inner_days)
def test_workdays_between_is_antisymmetric_up_to_the_endpoints(a: date, b: date) -> None:
    forward = CAL.workdays_between(a, b)
    expected = sum(
        1
        for o in range(min(a, b).toordinal() + 1, max(a, b).toordinal() + 1)
        if CAL.is_workday(date.fromordinal(o))
    )
    if b >= a:
        assert forward == expected
    else:
        count = sum(
            1 for o in range(b.toordinal(), a.toordinal()) if CAL.is_workday(date.fromordinal(o))
        )
        assert forward == -count


@given(day=inner_days, n=steps)
def test_negative_steps_count_back_strictly_before_the_day(day: date, n: int) -> None:
    back = CAL.add_workdays(day, -n)
    assert CAL.is_workday(back)
    assert back < day
    worked_from_back = [
        date.fromordinal(o)
        for o in range(back.toordinal(), day.toordinal())
        if CAL.is_workday(date.fromordinal(o))
    ]
    assert len(worked_from_back) == n
    assert CAL.workdays_between(day, back) == -n


# -- coverage ---------------------------------------------------------------------------


def test_a_year_without_data_raises_naming_it_and_how_to_fix_it() -> None:
    with pytest.raises(cl.CoverageError) as caught:
        CAL.add_workdays(date(2026, 12, 30), 3)
    error = caught.value
    assert error.year == 2027
    assert error.covered == (2004, 2026)
    assert "provisional" in str(error)
    assert isinstance(error, LookupError)
    with pytest.raises(cl.CoverageError, match="2003"):
        CAL.is_workday(date(2003, 6, 1))


def test_provisional_mode_estimates_and_marks_results() -> None:
    provisional = cl.china_calendar(unannounced="provisional")
    start = date(2026, 12, 30)
    result = provisional.add_workdays(start, 3)
    assert result == date(2027, 1, 5)  # 1 Jan 2027 is New Year's Day
    assert provisional.uses_estimates(start, result)
    assert not provisional.uses_estimates(date(2026, 1, 5), date(2026, 12, 31))
    assert provisional.is_estimated(date(2027, 3, 1))
    assert not provisional.is_estimated(date(2026, 3, 1))
    assert 2027 in provisional.estimated_years
    # Published years answer exactly as the official calendar does.
    assert provisional.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)


def test_statutory_estimate_agrees_with_published_years_under_the_same_rules() -> None:
    for year in (2025, 2026):
        estimate = cl.estimate_china_year(year)
        statutory = [d for d, name in estimate.holidays.items() if "补假" not in name]
        assert len(statutory) == 13
        assert all(not CAL.is_workday(d) for d in statutory), year


def test_statutory_estimate_makes_up_weekend_holidays_on_working_days() -> None:
    estimate = cl.estimate_china_year(2027)  # 1-3 Oct 2027 is Friday to Sunday
    october = sorted(d for d in estimate.holidays if d.month == 10)
    assert october == [date(2027, 10, d) for d in (1, 2, 3, 4, 5)]
    with pytest.raises(cl.ConfigurationError, match="2024 statutory rules"):
        cl.estimate_china_year(2020)


def test_provisional_without_estimator_is_a_configuration_error() -> None:
    with pytest.raises(cl.ConfigurationError, match="estimator"):
        WorkCalendar("x", coverage=(2024, 2025), unannounced="provisional")


# -- custom calendars -----------------------------------------------------------------


def test_a_calendar_without_coverage_answers_for_any_year() -> None:
    plain = WorkCalendar("plain", timezone="Europe/Paris")
    assert plain.add_workdays(date(2300, 1, 1), 1) == date(2300, 1, 2)
    assert plain.add_workdays(date(1900, 1, 5), 1) == date(1900, 1, 8)
    assert plain.workdays_between(date(2099, 12, 31), date(2101, 1, 3)) == 262
    assert plain.is_workday(date(2200, 6, 2))


def test_saturday_working_week_and_text_round_trip() -> None:
    text = """
    name: Township service hall
    timezone: Asia/Shanghai
    weekmask: Mon Tue Wed Thu Fri Sat   # 周六解难题: Saturdays are worked
    coverage: 2025-2025
    hours: 08:30-12:00, 13:30-17:30
    source 2025: the hall's own rota
    2025-10-01..2025-10-03 holiday National Day
    2025-10-05 workday swapped Sunday
    """
    hall = WorkCalendar.from_text(text)
    assert hall.is_workday(date(2025, 10, 4))  # a Saturday
    assert hall.is_workday(date(2025, 10, 5))
    assert not hall.is_workday(date(2025, 10, 2))
    assert WorkCalendar.from_text(hall.to_text()) == hall
    assert hall.working_hours == WorkingHours("08:30-12:00,13:30-17:30")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("name: x\n2025-02-30 holiday y", 2, "valid date"),
        ("name: x\nweekmask: Mon Funday", 2, "Fun"),
        ("name: x\n2025-01-05..2025-01-01 holiday y", 2, "end before"),
        ("name: x\n2025-01-01 holiday a\n2025-01-01 workday b", 3, "twice"),
        ("name: x\ncolour: blue", 2, "unknown key"),
        ("name: x\nsource: 2025 somewhere", 2, "names its year"),
        ("name: x\ncoverage: 2025", 2, "YYYY-YYYY"),
    ],
)
def test_calendar_text_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(cl.CalendarFormatError, match=message) as caught:
        WorkCalendar.from_text(text)
    assert caught.value.line_number == line


def test_extending_a_calendar_with_a_newly_announced_year() -> None:
    announced = CAL.extended_with_text(
        """
        coverage: 2027-2027
        source 2027: a later notice
        2027-01-01 holiday 元旦
        2027-02-05..2027-02-11 holiday 春节
        2027-02-20 workday 春节调休
        """
    )
    assert announced.coverage == (2004, 2027)
    assert announced.add_workdays(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert announced.is_workday(date(2027, 2, 20))
    assert announced.sources[2027] == "a later notice"
    assert CAL.coverage == (2004, 2026)  # the original is untouched
    with pytest.raises(cl.CalendarFormatError, match="only carry days"):
        CAL.extended_with_text("timezone: UTC")


def test_combining_calendars_keeps_only_days_worked_in_both() -> None:
    closures = WorkCalendar(
        "bureau closures",
        timezone="Asia/Shanghai",
        weekmask="Mon Tue Wed Thu Fri Sat Sun",
        holidays={date(2025, 10, 13): "move to new offices"},
    )
    both = CAL.combined_with(closures)
    assert not both.is_workday(date(2025, 10, 13))
    assert both.is_workday(date(2025, 10, 11))  # the national make-up Saturday still counts
    assert not both.is_workday(date(2025, 10, 12))
    assert both.coverage == (2004, 2026)
    assert both.add_workdays(date(2025, 10, 10), 2) == date(2025, 10, 14)
    with pytest.raises(cl.ConfigurationError, match="different zones"):
        CAL.combined_with(WorkCalendar("utc"))


def test_a_day_cannot_be_both_holiday_and_makeup_workday() -> None:
    with pytest.raises(cl.ConfigurationError, match="both"):
        WorkCalendar("x", holidays=[date(2025, 1, 4)], workdays=[date(2025, 1, 4)])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"weekmask": "11111"}, "weekday name"),
        ({"weekmask": (True,) * 6}, "7 entries"),
        ({"coverage": (2026, 2025)}, "ends before"),
        ({"holidays": [datetime(2025, 1, 1, tzinfo=SHANGHAI)]}, "are dates"),
    ],
)
def test_bad_calendar_arguments_are_configuration_errors(
    kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        WorkCalendar("x", **kwargs)  # type: ignore[arg-type]


# -- working hours --------------------------------------------------------------------

HOURS_CAL = CAL.with_working_hours("08:30-12:00, 13:30-17:30")


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=SHANGHAI)


def test_working_hours_limits_skip_lunch_nights_and_holidays() -> None:
    start = _at(date(2025, 9, 30), 16, 30)
    assert HOURS_CAL.add_working_time(start, timedelta(hours=1)) == _at(date(2025, 9, 30), 17, 30)
    # the next working day after 30 September is the 9 October (1-8 October off)
    assert HOURS_CAL.add_working_time(start, timedelta(hours=2)) == _at(date(2025, 10, 9), 9, 30)
    assert HOURS_CAL.add_working_time(_at(date(2025, 10, 9), 11), timedelta(hours=2)) == _at(
        date(2025, 10, 9), 14, 30
    )
    between = HOURS_CAL.working_time_between(start, _at(date(2025, 10, 9), 9, 30))
    assert between == timedelta(hours=2)


def test_working_hours_must_be_configured() -> None:
    with pytest.raises(cl.ConfigurationError, match="no working hours"):
        CAL.add_working_time(_at(date(2025, 9, 30), 9), timedelta(hours=1))


@given(
    day=st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30)),
    minute=st.integers(0, 24 * 60 - 1),
    amount=st.integers(1, 60 * 8 * 20),
)
def test_working_time_between_inverts_add_working_time(day: date, minute: int, amount: int) -> None:
    start = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=SHANGHAI)
    end = HOURS_CAL.add_working_time(start, timedelta(minutes=amount))
    assert end > start
    assert HOURS_CAL.working_time_between(start, end) == timedelta(minutes=amount)
    assert HOURS_CAL.is_workday(end)


# -- batch form -----------------------------------------------------------------------


@given(
    days=st.lists(inner_days, min_size=1, max_size=50),
    n=st.integers(-40, 40),
    counting=st.sampled_from(Counting),
)
def test_batch_agrees_with_scalar(days: list[date], n: int, counting: Counting) -> None:
    np = pytest.importorskip("numpy")
    scalar = [CAL.add_workdays(d, n, counting=counting) for d in days]
    assert CAL.add_workdays_many(days, n, counting=counting) == scalar
    array = np.array(days, dtype="datetime64[D]")
    batch = CAL.add_workdays_many(array, n, counting=counting)
    assert [d.astype(date) for d in batch] == scalar


@given(
    instants=st.lists(
        st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2026, 6, 1)),
        min_size=1,
        max_size=30,
    ),
    steps_=st.lists(st.integers(0, 30), min_size=30, max_size=30),
)
def test_batch_on_utc_instants_agrees_with_scalar(
    instants: list[datetime], steps_: list[int]
) -> None:
    np = pytest.importorskip("numpy")
    aware = [i.replace(tzinfo=UTC) for i in instants]
    n = steps_[: len(aware)]
    scalar = [CAL.add_workdays(a, k) for a, k in zip(aware, n, strict=True)]
    array = np.array([i.isoformat() for i in instants], dtype="datetime64[s]")
    batch = CAL.add_workdays_many(array, np.array(n))
    assert [d.astype(date) for d in batch] == scalar


def test_batch_outside_coverage_raises() -> None:
    np = pytest.importorskip("numpy")
    with pytest.raises(cl.CoverageError):
        CAL.add_workdays_many(np.array(["2026-12-30"], dtype="datetime64[D]"), 3)
    with pytest.raises(cl.ConfigurationError, match="days but"):
        CAL.add_workdays_many([date(2025, 1, 2)], [1, 2])


# -- extending coverage -----------------------------------------------------------------


def test_extended_with_coverage_adds_to_the_covered_years() -> None:
    extended = CAL.extended_with(holidays={date(2027, 1, 1): "元旦"}, coverage=(2027, 2027))
    assert extended.coverage == (2004, 2027)
    assert extended.add_workdays(date(2025, 9, 30), 3) == date(2025, 10, 11)
    assert extended.kind(date(2027, 1, 1)) is DayKind.HOLIDAY
    earlier = CAL.extended_with(coverage=(2002, 2003))
    assert earlier.coverage == (2002, 2026)
    inside = CAL.extended_with(holidays={date(2025, 7, 14): "office move"}, coverage=(2025, 2025))
    assert inside.coverage == (2004, 2026)
    assert not inside.is_workday(date(2025, 7, 14))
    # A calendar without coverage answers for every year; given coverage, it has that.
    assert WorkCalendar("plain").extended_with(coverage=(2025, 2026)).coverage == (2025, 2026)


def test_following_the_coverage_error_hint_extends_the_calendar() -> None:
    with pytest.raises(cl.CoverageError, match=r"coverage=\(2027, 2027\)"):
        CAL.add_workdays(date(2026, 12, 30), 3)
    with pytest.raises(cl.CoverageError, match=r"2002-2003 .*coverage=\(2002, 2003\)"):
        CAL.is_workday(date(2002, 6, 3))
    extended = CAL.extended_with(holidays={date(2027, 1, 1): "元旦"}, coverage=(2027, 2027))
    assert extended.add_workdays(date(2026, 12, 30), 3) == date(2027, 1, 5)


@pytest.mark.parametrize(
    ("coverage", "missing", "wanted"),
    [((2028, 2028), "2027", "(2027, 2028)"), ((2030, 2031), "2027-2029", "(2027, 2031)")],
)
def test_an_extension_that_would_leave_years_without_data_is_refused(
    coverage: tuple[int, int], missing: str, wanted: str
) -> None:
    with pytest.raises(cl.ConfigurationError, match=f"leave {missing} in between") as caught:
        CAL.extended_with(holidays={date(coverage[0], 1, 1): "元旦"}, coverage=coverage)
    assert wanted in str(caught.value)
    with pytest.raises(cl.CalendarFormatError, match=f"leave {missing} in between"):
        CAL.extended_with_text(f"coverage: {coverage[0]}-{coverage[1]}\n")
    provisional = cl.china_calendar(unannounced="provisional")
    with pytest.raises(cl.ConfigurationError, match=missing):
        provisional.extended_with(coverage=coverage)
    with pytest.raises(cl.ConfigurationError, match="2002-2003"):
        CAL.extended_with(coverage=(2000, 2001))


def test_extending_a_provisional_calendar_estimates_only_after_the_new_data() -> None:
    provisional = cl.china_calendar(unannounced="provisional")
    extended = provisional.extended_with(holidays={date(2027, 2, 5): "春节"}, coverage=(2027, 2027))
    assert extended.coverage == (2004, 2027)
    assert 2027 not in extended.estimated_years
    assert 2028 in extended.estimated_years
    assert not extended.uses_estimates(date(2027, 1, 4), date(2027, 12, 31))


years = st.integers(1990, 2060)


@given(old_first=years, old_span=st.integers(0, 30), new_first=years, new_span=st.integers(0, 30))
def test_extended_coverage_is_the_union_or_refused_when_it_leaves_a_gap(
    old_first: int, old_span: int, new_first: int, new_span: int
) -> None:
    old = (old_first, old_first + old_span)
    new = (new_first, new_first + new_span)
    calendar = WorkCalendar("x", coverage=old)
    touching = new[0] <= old[1] + 1 and old[0] <= new[1] + 1
    if touching:
        extended = calendar.extended_with(coverage=new)
        assert extended.coverage == (min(old[0], new[0]), max(old[1], new[1]))
        text_extended = calendar.extended_with_text(f"coverage: {new[0]}-{new[1]}")
        assert text_extended.coverage == extended.coverage
    else:
        with pytest.raises(cl.ConfigurationError, match="in between"):
            calendar.extended_with(coverage=new)


def test_combining_covers_only_years_every_calendar_covers() -> None:
    closures = WorkCalendar(
        "closures",
        timezone="Asia/Shanghai",
        holidays={date(2025, 7, 14): "office move"},
        coverage=(2025, 2030),
    )
    both = CAL.combined_with(closures)
    assert both.coverage == (2025, 2026)
    with pytest.raises(cl.CoverageError):
        both.is_workday(date(2024, 6, 3))
    disjoint = WorkCalendar("later", timezone="Asia/Shanghai", coverage=(2030, 2031))
    with pytest.raises(cl.ConfigurationError, match="do not overlap"):
        CAL.combined_with(disjoint)
    # Estimates are not carried over: the result is official data only.
    provisional = cl.china_calendar(unannounced="provisional").combined_with(closures)
    assert provisional.coverage == (2025, 2026)
    assert not provisional.estimated_years
    with pytest.raises(cl.CoverageError, match="2027"):
        provisional.add_workdays(date(2026, 12, 30), 3)
    with pytest.raises(cl.ConfigurationError, match="no weekday is worked"):
        WorkCalendar("a", weekmask="Mon").combined_with(WorkCalendar("b", weekmask="Tue"))


# -- text round trip ----------------------------------------------------------------------


def test_text_round_trip_keeps_hashes_backslashes_and_line_breaks() -> None:
    calendar = WorkCalendar(
        "Bureau #3 closures",
        timezone="Asia/Shanghai",
        holidays={
            date(2025, 10, 1): "Closure #2 (system migration)",
            date(2025, 10, 2): "a\nb",
            date(2025, 10, 3): "C:\\share\\notes",
        },
        workdays={date(2025, 10, 11): " padded\t"},
        sources={2025: "notice No. #12\r\nsecond line\u2028third"},
        coverage=(2025, 2025),
    )
    text = calendar.to_text()
    assert "Closure \\#2" in text
    assert "a\\nb" in text
    assert "C:\\\\share" in text
    back = WorkCalendar.from_text(text)
    assert back == calendar
    assert back.holidays[date(2025, 10, 1)] == "Closure #2 (system migration)"
    assert back.workdays[date(2025, 10, 11)] == " padded\t"
    assert back.to_text() == text


def test_escaped_text_reads_as_documented() -> None:
    calendar = WorkCalendar.from_text(
        "name: Bureau \\#3\\u0020  # a comment\n"
        "2025-10-01 holiday Closure \\#2 \\\\ a\\tb   # another comment\n"
    )
    assert calendar.name == "Bureau #3 "
    assert calendar.holidays[date(2025, 10, 1)] == "Closure #2 \\ a\tb"


@pytest.mark.parametrize(
    "line", ["2025-10-01 holiday C:\\share", "name: trailing\\", "name: \\u12"]
)
def test_an_unknown_escape_is_a_format_error_naming_the_line(line: str) -> None:
    with pytest.raises(cl.CalendarFormatError, match="unknown escape") as caught:
        WorkCalendar.from_text(f"name: x\n{line}\n")
    assert caught.value.line_number == 2


calendar_years = st.integers(1, 9998)


@given(
    name=st.text(),
    labels=st.lists(st.text(), min_size=3, max_size=3),
    sources=st.dictionaries(calendar_years, st.text(), max_size=3),
)
def test_text_round_trip_is_exact_for_any_labels(
    name: str, labels: list[str], sources: dict[int, str]
) -> None:
    calendar = WorkCalendar(
        name,
        timezone="Asia/Shanghai",
        holidays={date(2025, 10, 1): labels[0], date(2025, 10, 2): labels[1]},
        workdays={date(2025, 10, 11): labels[2]},
        sources=sources,
        coverage=(2025, 2025),
    )
    text = calendar.to_text()
    assert WorkCalendar.from_text(text) == calendar
    assert WorkCalendar.from_text(text).to_text() == text


def test_working_hours_with_seconds_survive_the_round_trip() -> None:
    hours = WorkingHours(((time(8, 30, 15), time(12, 0)),))
    calendar = WorkCalendar("x", working_hours=hours)
    assert str(hours) == "08:30:15-12:00"
    assert WorkCalendar.from_text(calendar.to_text()) == calendar


@pytest.mark.parametrize(
    ("weekmask", "message"),
    [
        ("Mon Tue Wed Thu Fri Sat Sun Mon", "Mon more than once"),
        ("Mon Mon", "Mon more than once"),
        ("0000000", "no weekday"),
        ("", "no weekday"),
        ((False,) * 7, "no weekday"),
        (5, "a weekmask is text"),
    ],
)
def test_a_weekmask_names_each_weekday_at_most_once_and_works_some(
    weekmask: object, message: str
) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        LooseCalendar("x", weekmask=weekmask)
    if isinstance(weekmask, str):
        with pytest.raises(cl.CalendarFormatError, match=message) as caught:
            WorkCalendar.from_text(f"name: x\nweekmask: {weekmask}\n")
        assert caught.value.line_number == 2


# -- bad arguments --------------------------------------------------------------------------

# The same objects, typed Any: these tests pass what the annotations rule out.
LOOSE: Any = CAL
LOOSE_HOURS: Any = HOURS_CAL
LooseCalendar: Any = WorkCalendar
LooseHours: Any = WorkingHours
loose_china: Any = cl.china_calendar


@pytest.mark.parametrize("n", [1.5, 2.0, True, False, "2", None])
def test_add_workdays_takes_only_whole_numbers(n: object) -> None:
    with pytest.raises(cl.ConfigurationError, match="must be an int") as caught:
        LOOSE.add_workdays(date(2025, 3, 3), n)
    assert repr(n) in str(caught.value)
    with pytest.raises(cl.ConfigurationError, match="must be an int"):
        LOOSE.add_workdays_many([date(2025, 3, 3)], [n])
    with pytest.raises(cl.ConfigurationError, match="must be an int"):
        LOOSE.add_workdays_many([date(2025, 3, 3)], n)


def test_numpy_integers_are_whole_numbers() -> None:
    np = pytest.importorskip("numpy")
    assert CAL.add_workdays(date(2025, 9, 30), np.int64(3)) == date(2025, 10, 11)
    assert CAL.add_workdays_many([date(2025, 9, 30)], np.array([3])) == [date(2025, 10, 11)]
    assert CAL.add_workdays_many([date(2025, 9, 30)], np.array(3)) == [date(2025, 10, 11)]
    days = np.array(["2025-09-30", "2025-10-10"], dtype="datetime64[D]")
    for dtype in (np.int8, np.int32, np.int64, np.uint16):
        result = CAL.add_workdays_many(days, np.array([3, 1], dtype=dtype))
        assert result.tolist() == [date(2025, 10, 11), date(2025, 10, 11)]
    assert CAL.add_workdays_many(days[:0], []).tolist() == []


@pytest.mark.parametrize("n", [1.7, [1.0, 2.0], [True, False], ["1", "2"]])
def test_batch_on_arrays_refuses_step_counts_that_are_not_integers(n: object) -> None:
    np = pytest.importorskip("numpy")
    days = np.array(["2025-03-03", "2025-03-04"], dtype="datetime64[D]")
    with pytest.raises(cl.ConfigurationError, match="whole numbers"):
        LOOSE.add_workdays_many(days, n)
    with pytest.raises(cl.ConfigurationError, match="whole numbers"):
        CAL.add_workdays_many(days, np.asarray(n))
    with pytest.raises(cl.ConfigurationError, match="2 days but 3 step counts"):
        CAL.add_workdays_many(days, np.array([1, 2, 3]))


NAIVE = datetime(2025, 9, 30, 10)
AWARE = datetime(2025, 9, 30, 10, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    "call",
    [
        lambda: CAL.is_workday(NAIVE),
        lambda: CAL.kind(NAIVE),
        lambda: CAL.day_name(NAIVE),
        lambda: CAL.workdays_between(NAIVE, date(2025, 10, 9)),
        lambda: CAL.workdays_between(date(2025, 10, 9), NAIVE),
        lambda: CAL.uses_estimates(NAIVE, AWARE),
        lambda: CAL.is_estimated(NAIVE),
        lambda: CAL.end_of_day(NAIVE),
        lambda: CAL.start_of_day(NAIVE),
        lambda: list(CAL.workdays_in(NAIVE, AWARE)),
        lambda: CAL.add_workdays_many([NAIVE], 1),
        lambda: HOURS_CAL.add_working_time(NAIVE, timedelta(hours=1)),
        lambda: HOURS_CAL.working_time_between(NAIVE, AWARE),
        lambda: HOURS_CAL.working_time_between(AWARE, NAIVE),
    ],
)
def test_naive_datetimes_are_refused_by_every_method(call: object) -> None:
    with pytest.raises(cl.NaiveDatetimeError):
        call()  # type: ignore[operator]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: LOOSE.kind("2025-10-01"), "expected a date"),
        (lambda: LOOSE.workdays_between(5, date(2025, 10, 9)), "expected a date"),
        (lambda: LOOSE.add_workdays(date(2025, 1, 2), 1, counting="roll_forward"), "Counting"),
        (lambda: LooseCalendar("p").add_workdays(date(2500, 1, 1), 1, counting="x"), "Counting"),
        (lambda: LOOSE_HOURS.add_working_time(AWARE, 2), "timedelta"),
        (lambda: LOOSE_HOURS.add_working_time(date(2025, 9, 30), timedelta(hours=1)), "aware"),
        (lambda: LOOSE_HOURS.working_time_between(date(2025, 9, 30), AWARE), "aware"),
        (lambda: LooseCalendar("x", coverage=2025), "pair"),
        (lambda: LooseCalendar("x", coverage=(2025.5, 2026)), "a year"),
        (lambda: LooseCalendar("x", unannounced="maybe"), "'raise' or 'provisional'"),
        (lambda: LooseCalendar("x", holidays=5), "mapping of dates"),
        (lambda: LooseCalendar("x", sources={"2025": "notice"}), "a year"),
        (lambda: LooseHours(5), "working hours are text"),
        (lambda: LooseHours([(1, 2)]), "not a time of day"),
        (lambda: LOOSE.extended_with(coverage=(2027,)), "pair"),
        (lambda: cl.china_calendar(unannounced="bogus"), "'raise' or 'provisional'"),
        (lambda: loose_china(unannounced="provisional", provisional_until=[2030]), "year"),
    ],
)
def test_wrong_types_raise_closedloop_errors_not_bare_type_errors(
    call: object, message: str
) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        call()  # type: ignore[operator]


def test_working_hours_accept_text_clock_times_in_pairs() -> None:
    assert LooseHours([("08:30", "12:00")]) == WorkingHours("08:30-12:00")
