"""Deadline policies and the deadline clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop import (
    DeadlineClock,
    DeadlinePolicy,
    Difficulty,
    TimeLimit,
    WarningLevel,
    WarningThresholds,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAL = cl.china_calendar()
YIWU = DeadlinePolicy.yiwu()


def at(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


moments = st.builds(
    lambda day, minute: datetime.combine(day, time(minute // 60, minute % 60), tzinfo=SHANGHAI),
    st.dates(min_value=date(2005, 1, 1), max_value=date(2025, 12, 31)),
    st.integers(0, 24 * 60 - 1),
)
day_limits = st.one_of(
    st.integers(1, 20).map(TimeLimit.working_days),
    st.integers(0, 40).map(TimeLimit.calendar_days),
    st.just(TimeLimit.same_day()),
    st.just(TimeLimit.same_day(cutoff=time(16))),
)


# -- Yiwu's policy --------------------------------------------------------------------


def test_yiwu_policy_is_same_day_three_and_fifteen_working_days() -> None:
    assert YIWU.label == "yiwu@2019"
    assigned = at(2025, 9, 30)
    assert YIWU.deadline(Difficulty.SIMPLE, assigned, CAL).due_date == date(2025, 9, 30)
    assert YIWU.deadline(Difficulty.COMPLEX, assigned, CAL).due_date == date(2025, 10, 11)
    assert YIWU.deadline(Difficulty.DIFFICULT, assigned, CAL).due_date == date(2025, 10, 28)


def test_simple_issue_assigned_on_a_holiday_is_due_the_next_working_day() -> None:
    deadline = YIWU.deadline(Difficulty.SIMPLE, at(2025, 10, 3), CAL)
    assert deadline.due_date == date(2025, 10, 9)


def test_same_day_cutoff_rolls_late_assignments_to_the_next_working_day() -> None:
    limit = TimeLimit.same_day(cutoff=time(16, 0))
    policy = DeadlinePolicy("cutoff", "1", dict.fromkeys(Difficulty, limit))
    assert policy.deadline(Difficulty.SIMPLE, at(2025, 9, 29, 15, 59), CAL).due_date == date(
        2025, 9, 29
    )
    assert policy.deadline(Difficulty.SIMPLE, at(2025, 9, 29, 16, 0), CAL).due_date == date(
        2025, 9, 30
    )
    # After the cut-off on the eve of the National Day holiday: due after the holiday.
    assert policy.deadline(Difficulty.SIMPLE, at(2025, 9, 30, 17), CAL).due_date == date(
        2025, 10, 9
    )


def test_calendar_day_limit_ending_on_a_holiday_ends_the_next_working_day() -> None:
    # 《民法典》第二百零三条: a period whose last day is a holiday ends the day after it.
    limit = TimeLimit.calendar_days(3)
    deadline = cl.DeadlinePolicy("natural", "1", dict.fromkeys(Difficulty, limit)).deadline(
        Difficulty.COMPLEX, at(2025, 9, 29), CAL
    )
    assert deadline.due_date == date(2025, 10, 9)


def test_on_time_is_judged_by_the_due_date_in_the_calendars_zone() -> None:
    deadline = YIWU.deadline(Difficulty.COMPLEX, at(2025, 9, 30), CAL)
    assert deadline.is_on_time(at(2025, 10, 11, 23, 59))
    assert not deadline.is_on_time(at(2025, 10, 12, 0, 0))
    # 15:30 UTC on the due date is already 23:30 in Shanghai: still on time.
    assert deadline.is_on_time(datetime(2025, 10, 11, 15, 30, tzinfo=UTC))
    # 16:30 UTC is 00:30 the next day in Shanghai: late.
    assert not deadline.is_on_time(datetime(2025, 10, 11, 16, 30, tzinfo=UTC))
    with pytest.raises(cl.NaiveDatetimeError):
        deadline.is_on_time(datetime(2025, 10, 11, 12))


def test_limits_in_working_hours_use_the_calendars_hours() -> None:
    hours_cal = CAL.with_working_hours("08:30-12:00, 13:30-17:30")
    limit = TimeLimit.working_hours(2)
    clock = DeadlineClock(hours_cal, limit, at(2025, 9, 30, 16, 30))
    assert clock.deadline.due_at == at(2025, 10, 9, 9, 30)
    reading = clock.read(at(2025, 10, 9, 9, 0))
    assert reading.elapsed == 90
    assert reading.remaining == 30
    assert not reading.breached
    assert clock.read(at(2025, 10, 9, 9, 31)).breached


def test_a_policy_must_cover_every_difficulty() -> None:
    with pytest.raises(cl.ConfigurationError, match="missing"):
        DeadlinePolicy("partial", "1", {Difficulty.SIMPLE: TimeLimit.same_day()})


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: TimeLimit.working_days(-1), ">= 0"),
        (lambda: TimeLimit.working_hours(0), "longer than zero"),
        (lambda: TimeLimit.working_hours(1.01), "whole minutes"),
        (lambda: TimeLimit.working_hours("2"), "number of hours"),  # type: ignore[arg-type]
        (lambda: TimeLimit(cl.LimitUnit.WORKING_DAYS, 3, time(16)), "cut-off"),
        (lambda: WarningThresholds(yellow=1.5), r"\[0, 1\]"),
        (lambda: WarningThresholds(yellow=0.9, orange=0.5), "orange"),
    ],
)
def test_bad_limits_are_configuration_errors(build: object, message: str) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        build()  # type: ignore[operator]


def test_limits_print_readably() -> None:
    assert str(TimeLimit.working_days(3)) == "3 working days"
    assert str(TimeLimit.calendar_days(1)) == "1 calendar day"
    assert str(TimeLimit.same_day(cutoff=time(16))) == "same day (cut-off 16:00)"
    assert str(TimeLimit.working_hours(4)) == "4 working hours"
    assert TimeLimit.working_hours(1.5) == TimeLimit.working_minutes(90)
    assert Difficulty.DIFFICULT.chinese == "疑难"


# -- the clock ------------------------------------------------------------------------


def test_warning_levels_move_from_normal_to_yellow_to_red() -> None:
    clock = YIWU.start_clock(Difficulty.DIFFICULT, at(2025, 3, 3), CAL)  # due 2025-03-24
    assert clock.deadline.due_date == date(2025, 3, 24)
    assert clock.read(at(2025, 3, 10)).level is WarningLevel.NORMAL
    reading = clock.read(at(2025, 3, 19))  # 12 of 15 working days used
    assert (reading.elapsed, reading.remaining, reading.allowed) == (12, 3, 15)
    assert reading.level is WarningLevel.YELLOW
    late = clock.read(at(2025, 3, 25))
    assert late.breached
    assert late.level is WarningLevel.RED
    assert late.remaining < 0


def test_a_same_day_limit_warns_once_most_of_the_day_is_gone() -> None:
    clock = YIWU.start_clock(Difficulty.SIMPLE, at(2025, 3, 3, 10), CAL)  # due 3 March
    assert clock.read(at(2025, 3, 3, 10, 5)).level is WarningLevel.NORMAL
    assert clock.read(at(2025, 3, 3, 19)).level is WarningLevel.NORMAL  # 9 of 14 hours
    assert clock.read(at(2025, 3, 3, 21)).level is WarningLevel.YELLOW  # 11 of 14 hours
    assert clock.read(at(2025, 3, 4, 9)).level is WarningLevel.RED


def test_a_reading_counted_across_an_estimated_year_is_provisional() -> None:
    estimating = cl.china_calendar(unannounced="provisional")
    clock = YIWU.start_clock(Difficulty.COMPLEX, at(2026, 12, 21), estimating)
    assert not clock.deadline.provisional  # due in December, on published data
    assert not clock.read(at(2026, 12, 22)).provisional
    late = clock.read(at(2027, 1, 12))
    assert late.breached
    assert late.estimated
    assert late.provisional


def test_orange_threshold_is_configurable() -> None:
    policy = DeadlinePolicy(
        "strict",
        "2",
        YIWU.limits,
        warnings=WarningThresholds(yellow=0.5, orange=0.8),
    )
    clock = policy.start_clock(Difficulty.DIFFICULT, at(2025, 3, 3), CAL)
    assert clock.read(at(2025, 3, 13)).level is WarningLevel.YELLOW  # 8/15
    assert clock.read(at(2025, 3, 20)).level is WarningLevel.ORANGE  # 13/15


def test_pause_stops_the_clock_and_resume_moves_the_due_date() -> None:
    clock = YIWU.start_clock(Difficulty.COMPLEX, at(2025, 9, 26), CAL)
    assert clock.deadline.due_date == date(2025, 9, 30)
    paused = clock.pause(at(2025, 9, 29, 9))
    assert paused.is_paused
    frozen = paused.read(at(2025, 10, 20))
    assert frozen.paused
    assert not frozen.breached
    resumed = paused.resume(at(2025, 10, 10, 9))
    # 30 Sep, 9 Oct and 10 Oct were worked while paused: three working days later.
    assert resumed.deadline.due_date == date(2025, 10, 11)
    assert resumed.read(at(2025, 10, 13)).breached


def test_an_extension_adds_exactly_its_amount() -> None:
    clock = YIWU.start_clock(Difficulty.COMPLEX, at(2025, 9, 26), CAL).extend(2, at(2025, 9, 29))
    assert clock.deadline.due_date == date(2025, 10, 10)
    assert clock.read(at(2025, 9, 29)).allowed == 5


def test_restart_begins_a_new_cycle() -> None:
    clock = YIWU.start_clock(Difficulty.COMPLEX, at(2025, 9, 1), CAL)
    reopened = clock.restart(at(2025, 9, 10), TimeLimit.working_days(5))
    assert reopened.cycle == 2
    assert reopened.deadline.due_date == date(2025, 9, 17)
    assert not reopened.read(at(2025, 9, 12)).breached


def test_clock_events_must_be_in_order_and_in_place() -> None:
    clock = YIWU.start_clock(Difficulty.COMPLEX, at(2025, 9, 26), CAL)
    with pytest.raises(cl.DeadlineClockError, match="not paused"):
        clock.resume(at(2025, 9, 27))
    with pytest.raises(cl.DeadlineClockError, match="already paused"):
        clock.pause(at(2025, 9, 27)).pause(at(2025, 9, 28))
    with pytest.raises(cl.DeadlineClockError, match="time order"):
        clock.pause(at(2025, 9, 25))
    with pytest.raises(cl.DeadlineClockError, match="> 0"):
        clock.extend(0, at(2025, 9, 27))
    with pytest.raises(cl.DeadlineClockError, match="before its cycle"):
        clock.read(at(2025, 9, 1))


def test_deadlines_in_estimated_years_are_provisional() -> None:
    provisional = cl.china_calendar(unannounced="provisional")
    deadline = YIWU.deadline(Difficulty.DIFFICULT, at(2026, 12, 20), provisional)
    assert deadline.provisional
    assert not YIWU.deadline(Difficulty.DIFFICULT, at(2026, 11, 2), provisional).provisional
    clock = YIWU.start_clock(Difficulty.DIFFICULT, at(2026, 12, 20), provisional)
    assert clock.read(at(2026, 12, 21)).provisional
    with pytest.raises(cl.CoverageError):
        YIWU.deadline(Difficulty.DIFFICULT, at(2026, 12, 20), CAL)


# -- properties -----------------------------------------------------------------------


@given(start=moments, limit=day_limits, pause_after=st.integers(0, 30), length=st.integers(0, 40))
def test_a_pause_shifts_the_due_date_by_exactly_the_paused_working_time(
    start: datetime, limit: TimeLimit, pause_after: int, length: int
) -> None:
    clock = DeadlineClock(CAL, limit, start)
    pause_at = start + timedelta(days=pause_after)
    resume_at = pause_at + timedelta(days=length)
    resumed = clock.pause(pause_at).resume(resume_at)
    before = clock.deadline.due_date
    after = resumed.deadline.due_date
    if limit.unit is cl.LimitUnit.CALENDAR_DAYS:
        paused_days = (CAL.day_of(resume_at) - CAL.day_of(pause_at)).days
        raw_before = CAL.day_of(start) + timedelta(days=limit.amount)
        assert after == CAL.add_workdays(raw_before + timedelta(days=paused_days), 0)
    else:
        paused = CAL.workdays_between(pause_at, resume_at)
        assert CAL.workdays_between(before, after) == paused


@given(start=moments, limit=day_limits, k=st.integers(1, 20))
def test_an_extension_adds_exactly_k_units(start: datetime, limit: TimeLimit, k: int) -> None:
    clock = DeadlineClock(CAL, limit, start)
    before = clock.deadline.due_date
    after = clock.extend(k, start).deadline.due_date
    if limit.unit is cl.LimitUnit.CALENDAR_DAYS:
        raw = CAL.day_of(start) + timedelta(days=limit.amount + k)
        assert after == CAL.add_workdays(raw, 0)
    else:
        assert CAL.workdays_between(before, after) == k


@given(start=moments, limit=day_limits, later=st.integers(0, 60 * 24 * 40))
def test_readings_are_consistent(start: datetime, limit: TimeLimit, later: int) -> None:
    clock = DeadlineClock(CAL, limit, start)
    when = start + timedelta(minutes=later)
    reading = clock.read(when)
    assert reading.breached == (when > clock.deadline.due_at)
    assert reading.breached == clock.is_breached(when)
    assert reading.breached == (not clock.is_on_time(when))
    assert (reading.level is WarningLevel.RED) == reading.breached
    assert reading.fraction >= 0.0
    assert clock.deadline.due_at >= start
