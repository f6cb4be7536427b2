"""closedloop: how a local government finds, assigns, chases and closes problems."""

from closedloop.china import china_calendar, estimate_china_year
from closedloop.deadlines import (
    ClockReading,
    Deadline,
    DeadlineClock,
    DeadlinePolicy,
    Difficulty,
    LimitUnit,
    TimeLimit,
    WarningLevel,
    WarningThresholds,
)
from closedloop.errors import (
    CalendarError,
    CalendarFormatError,
    ClosedLoopError,
    ConfigurationError,
    CoverageError,
    DeadlineClockError,
    HierarchyError,
    InvalidAdminCodeError,
    InvalidHierarchyError,
    MissingExtraError,
    NaiveDatetimeError,
    UnknownUnitError,
)
from closedloop.workdays import (
    Counting,
    DayKind,
    Unannounced,
    WorkCalendar,
    WorkingHours,
    YearData,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "CalendarError",
    "CalendarFormatError",
    "ClockReading",
    "ClosedLoopError",
    "ConfigurationError",
    "Counting",
    "CoverageError",
    "DayKind",
    "Deadline",
    "DeadlineClock",
    "DeadlineClockError",
    "DeadlinePolicy",
    "Difficulty",
    "HierarchyError",
    "InvalidAdminCodeError",
    "InvalidHierarchyError",
    "LimitUnit",
    "MissingExtraError",
    "NaiveDatetimeError",
    "TimeLimit",
    "Unannounced",
    "UnknownUnitError",
    "WarningLevel",
    "WarningThresholds",
    "WorkCalendar",
    "WorkingHours",
    "YearData",
    "china_calendar",
    "estimate_china_year",
]
