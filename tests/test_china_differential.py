"""closedloop's China calendar against independent implementations."""

from __future__ import annotations

import random
import warnings
from datetime import date, timedelta

import pytest

import closedloop as cl
from closedloop import Counting

CAL = cl.china_calendar()


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(o) for o in range(first.toordinal(), last.toordinal() + 1)]


def test_every_day_2004_2026_agrees_with_chinese_calendar() -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    disagreements = [
        d
        for d in _days(date(2004, 1, 1), date(2026, 12, 31))
        if CAL.is_workday(d) != chinese_calendar.is_workday(d)
    ]
    assert disagreements == []


def test_roll_forward_agrees_with_chinese_calendar_find_workday() -> None:
    chinese_calendar = pytest.importorskip("chinese_calendar")
    rng = random.Random(20260101)
    for _ in range(3000):
        day = date(2004, 3, 1) + timedelta(days=rng.randrange(0, 8200))
        n = rng.choice([0, 1, 2, 3, 5, 15, -1, -3])
        expected = chinese_calendar.find_workday(n, day)
        assert CAL.add_workdays(day, n, counting=Counting.ROLL_FORWARD) == expected, (day, n)


def test_default_counting_agrees_with_holidays_nth_working_day() -> None:
    holidays = pytest.importorskip("holidays")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        china = holidays.China(years=range(2024, 2027))
    rng = random.Random(7)
    for day in _days(date(2024, 1, 1), date(2026, 11, 30)):
        n = rng.choice([0, 1, 3, 15])
        assert CAL.add_workdays(day, n) == china.get_nth_working_day(day, n), (day, n)
