"""Downward meetings (下沉一级开会): "市会镇开、镇会村开", planned and recorded.

The leader of an upper unit takes the departments that matter one level down and
decides on site: the city's leader goes to a town each month with the town's demand
list, a town's leader to a village, community or enterprise one fixed day a week. And
a lower unit may blow the whistle and summon departments, who must report in time.

* :mod:`~closedloop.meetings.cadence`: meeting days (monthly on the n-th weekday,
  weekly, every n weeks) with a holiday rule, and who hosts each meeting;
* :mod:`~closedloop.meetings.demand`: the demand list (需求清单) compiled from the open
  escalated issues, in a documented priority order;
* :mod:`~closedloop.meetings.planner`: the fewest departments to bring so that every
  agenda issue has its lead and co-handlers at the table (exact or greedy set cover);
* :mod:`~closedloop.meetings.events` and :mod:`~closedloop.meetings.record`: meetings
  as event streams, their fold, and deciders that return events and the lifecycle
  commands the decisions imply;
* :mod:`~closedloop.meetings.whistle`: whistle calls (村社一吹哨、科室来报到);
* :mod:`~closedloop.meetings.measures`: figures about meetings.

All of it is pure: time, ids and the state come in as arguments, events and commands
go out; the application service stores and executes them.
"""

from closedloop.meetings.cadence import (
    Cadence,
    HolidayRule,
    MonthlyCadence,
    OffDays,
    PlannedMeeting,
    WeeklyCadence,
    parse_weekday,
    plan_monthly_visits,
    plan_weekly_visits,
    rotation,
)
from closedloop.meetings.demand import (
    DemandItem,
    DemandList,
    compile_demand_list,
    priority_key,
)
from closedloop.meetings.events import (
    DecisionKind,
    DepartmentReported,
    MeetingCancelled,
    MeetingDecision,
    MeetingEvent,
    MeetingHeld,
    MeetingScheduled,
    Summons,
    WhistleBlown,
)
from closedloop.meetings.measures import (
    MeetingSummary,
    MeetingTime,
    fold_meeting_streams,
    issues_decided,
    meeting_counts,
    summarize_meetings,
    time_in_meetings,
)
from closedloop.meetings.planner import (
    AgendaNeed,
    AttendeePlan,
    Seat,
    Seating,
    UncoveredIssue,
    UncoveredReason,
    harmonic_number,
    plan_attendees,
)
from closedloop.meetings.record import (
    MeetingCommand,
    MeetingContext,
    MeetingOutcome,
    MeetingState,
    MeetingStatus,
    cancel_meeting,
    decisions_as_planned,
    evolve_meeting,
    hold_meeting,
    replay_meeting,
    schedule_meeting,
)
from closedloop.meetings.whistle import (
    DEFAULT_WHISTLE_LIMIT,
    ResponseTime,
    WhistleReport,
    WhistleState,
    WhistleStats,
    blow_whistle,
    evolve_whistle,
    replay_whistle,
    report_to_whistle,
    response_times,
    whistle_stats,
)

MEETING_EVENTS = (
    MeetingScheduled,
    MeetingHeld,
    MeetingCancelled,
    WhistleBlown,
    DepartmentReported,
)
"""Every concrete event class of meeting and whistle-call streams (for codecs)."""

__all__ = [
    "DEFAULT_WHISTLE_LIMIT",
    "MEETING_EVENTS",
    "AgendaNeed",
    "AttendeePlan",
    "Cadence",
    "DecisionKind",
    "DemandItem",
    "DemandList",
    "DepartmentReported",
    "HolidayRule",
    "MeetingCancelled",
    "MeetingCommand",
    "MeetingContext",
    "MeetingDecision",
    "MeetingEvent",
    "MeetingHeld",
    "MeetingOutcome",
    "MeetingScheduled",
    "MeetingState",
    "MeetingStatus",
    "MeetingSummary",
    "MeetingTime",
    "MonthlyCadence",
    "OffDays",
    "PlannedMeeting",
    "ResponseTime",
    "Seat",
    "Seating",
    "Summons",
    "UncoveredIssue",
    "UncoveredReason",
    "WeeklyCadence",
    "WhistleBlown",
    "WhistleReport",
    "WhistleState",
    "WhistleStats",
    "blow_whistle",
    "cancel_meeting",
    "compile_demand_list",
    "decisions_as_planned",
    "evolve_meeting",
    "evolve_whistle",
    "fold_meeting_streams",
    "harmonic_number",
    "hold_meeting",
    "issues_decided",
    "meeting_counts",
    "parse_weekday",
    "plan_attendees",
    "plan_monthly_visits",
    "plan_weekly_visits",
    "priority_key",
    "replay_meeting",
    "replay_whistle",
    "report_to_whistle",
    "response_times",
    "rotation",
    "schedule_meeting",
    "summarize_meetings",
    "time_in_meetings",
    "whistle_stats",
]
