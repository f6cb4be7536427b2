"""Mainland China's official working-day calendar, and estimates for unannounced years.

Each year the General Office of the State Council publishes a notice
(《国务院办公厅关于某年部分节假日安排的通知》) that fixes the public holidays and the
weekend days worked in exchange (调休). closedloop bundles every notice from 2004 to
2026 as a small data file; each year's ``source`` names its notice. Asking
:func:`china_calendar` about a later year raises :class:`~closedloop.CoverageError`
by default, because a year is only known once its notice is out.

Provisional mode estimates an unannounced year from the statutory rules of
《全国年节及纪念日放假办法》 as revised in 2024 (国务院令第795号, in force since
2025-01-01): New Year's Day 1 day; Spring Festival 4 days from New Year's Eve;
Qingming 1; Labour Day 2 (1-2 May); Dragon Boat 1; Mid-Autumn 1; National Day 3
(1-3 October). By its Article 6 a holiday that falls on a Saturday or Sunday is made up
on a working day; the estimate places that day right after the festival. Where two
festivals fall on the same day (Mid-Autumn on 1 October), the displaced day is made up
the same way. Make-up *workdays* (调休) are arranged each year by the notice and cannot
be derived from the rules, so an estimated year has none: its results are marked
provisional (``WorkCalendar.uses_estimates``), never passed off as official.
"""

from __future__ import annotations

import functools
from datetime import date, timedelta
from importlib import resources

from closedloop.errors import ConfigurationError
from closedloop.workdays import (
    Unannounced,
    WorkCalendar,
    YearData,
    _optional_year_converter,
    _unannounced_converter,
)

__all__ = ["china_calendar", "estimate_china_year"]

_STATUTORY_SINCE = 2025
"""First year governed by the 2024 revision; estimates use its rules."""


@functools.cache
def _festivals() -> dict[int, tuple[date, date, date, date]]:
    """Year -> (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) from the bundled table."""
    text = resources.files("closedloop.data").joinpath("china_festivals.txt").read_text("utf-8")
    table: dict[int, tuple[date, date, date, date]] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        year, *days = line.split()
        spring, qingming, dragon, autumn = (date.fromisoformat(d) for d in days)
        table[int(year)] = (spring, qingming, dragon, autumn)
    return table


def estimate_china_year(year: int) -> YearData:
    """Estimate one year's holidays from the statutory rules (see the module docs).

    Raises:
        ConfigurationError: for a year before the 2024 rules applied or beyond the
            bundled lunar table.
    """
    festivals = _festivals()
    if year < _STATUTORY_SINCE or year not in festivals:
        last = max(festivals)
        raise ConfigurationError(
            f"cannot estimate China's holidays for {year}: estimates follow the 2024 "
            f"statutory rules and the bundled lunar table, so they cover "
            f"{_STATUTORY_SINCE}-{last}"
        )
    spring, qingming, dragon, autumn = festivals[year]
    blocks: list[tuple[str, list[date]]] = [
        ("元旦 New Year's Day", [date(year, 1, 1)]),
        ("春节 Spring Festival", [spring + timedelta(days=k) for k in range(-1, 3)]),
        ("清明 Qingming Festival", [qingming]),
        ("劳动节 Labour Day", [date(year, 5, 1), date(year, 5, 2)]),
        ("端午 Dragon Boat Festival", [dragon]),
        ("中秋 Mid-Autumn Festival", [autumn]),
        ("国庆节 National Day", [date(year, 10, d) for d in (1, 2, 3)]),
    ]
    holidays: dict[date, str] = {}
    for name, days in blocks:
        displaced = 0
        for day in days:
            if day.weekday() >= 5 or day in holidays:
                displaced += 1
            holidays.setdefault(day, name)
        make_up = max(days)
        while displaced:
            make_up += timedelta(days=1)
            if make_up.weekday() < 5 and make_up not in holidays:
                holidays[make_up] = f"{name} (补假 substitute day)"
                displaced -= 1
    return YearData(holidays=holidays)


@functools.cache
def _official() -> WorkCalendar:
    text = resources.files("closedloop.data").joinpath("china.txt").read_text("utf-8")
    return WorkCalendar.from_text(text, estimator=estimate_china_year)


def china_calendar(
    *, unannounced: Unannounced | str = Unannounced.RAISE, provisional_until: int | None = None
) -> WorkCalendar:
    """Mainland China's working-day calendar in Asia/Shanghai, 2004-2026.

    Args:
        unannounced: ``"raise"`` (default) raises :class:`~closedloop.CoverageError` for
            a year after 2026; ``"provisional"`` estimates such years from the statutory
            rules and marks results that used them (``uses_estimates``).
        provisional_until: the last year to estimate (default: ten years past the data).

    Returns the same immutable calendar object on every call with the same arguments,
    so it is cheap to call wherever a calendar is needed.

    Raises:
        ConfigurationError: for an unknown ``unannounced`` mode, a ``provisional_until``
            that is not a year, or ``provisional_until`` without provisional mode.
    """
    mode = _unannounced_converter(unannounced)
    provisional_until = _optional_year_converter(provisional_until)
    if mode is Unannounced.RAISE:
        if provisional_until is not None:
            raise ConfigurationError(
                "provisional_until only applies with unannounced='provisional'"
            )
        return _official()
    return _provisional(provisional_until)


@functools.cache
def _provisional(until: int | None) -> WorkCalendar:
    return _official().provisional(until=until)
