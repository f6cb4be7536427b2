"""Red warnings (红色预警) recorded at meetings, and the supervision they call for.

A meeting's decision on an issue can flag it red; ``RedWarningRule.from_meetings``
reads the flags from the meeting record, so the red-warning rule, like the overdue and
handover rules, works from the log rather than from a list kept by hand.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

import closedloop as cl
from closedloop.supervision import RedWarningRule, propose_supervision
from tests.test_service_meetings_schedule import (
    CITY_LEADER,
    FOTANG,
    START,
    escalated,
    service,
)

ECONOMY = "330782/economy"


def test_flags_recorded_at_meetings_become_supervision_proposals() -> None:
    clock = cl.FixedClock(START)
    loop = service(clock=clock)
    credit = escalated(loop)
    stuck = escalated(loop, "ghost_category")  # no department for it: deferred
    first, _ = loop.hold_meeting(
        CITY_LEADER,
        host=FOTANG,
        attendees=[ECONOMY],
        decisions=[
            cl.MeetingDecision(credit, "assign", ECONOMY, red_warning=True),
            cl.MeetingDecision(stuck, "defer", note="no department yet", red_warning=True),
        ],
    )
    clock.advance(timedelta(days=7))
    second, _ = loop.hold_meeting(
        CITY_LEADER,
        host=FOTANG,
        attendees=[ECONOMY],
        decisions=[cl.MeetingDecision(stuck, "defer", red_warning=True)],
    )
    # Read from the log as stored (through the codec), or from the events themselves.
    from_log = RedWarningRule.from_meetings(
        [loop.meeting(second.meeting_id), loop.meeting(first.meeting_id)]
    )
    from_events = RedWarningRule.from_meetings([first, second])
    assert from_log == from_events
    assert from_log.flagged == {credit, stuck}
    assert from_log.flagged_at == {credit: first.meeting_id, stuck: second.meeting_id}
    assert from_log.meeting == ""  # flags from two meetings

    states = [loop.issue(credit), loop.issue(stuck)]
    proposals = propose_supervision([from_log], states, clock.now(), loop.calendar)
    explained = {p.issue_id: p.reason for p in proposals}
    assert explained == {
        credit: f"flagged red at meeting {first.meeting_id}",
        stuck: f"flagged red at meeting {second.meeting_id}",
    }


def test_a_single_meeting_names_itself_and_unflagged_meetings_flag_nothing() -> None:
    loop = service()
    credit = escalated(loop)
    held, _ = loop.hold_meeting(
        CITY_LEADER,
        host=FOTANG,
        attendees=[ECONOMY],
        decisions=[cl.MeetingDecision(credit, "assign", ECONOMY, red_warning=True)],
    )
    assert RedWarningRule.from_meetings([held]).meeting == held.meeting_id
    other = escalated(loop)
    quiet, _ = loop.hold_meeting(
        CITY_LEADER,
        host=FOTANG,
        attendees=[ECONOMY],
        decisions=[cl.MeetingDecision.assign(other, ECONOMY)],
    )
    assert RedWarningRule.from_meetings([quiet]).flagged == frozenset()


def test_a_scheduled_meeting_flags_nothing_yet() -> None:
    loop = service()
    credit = escalated(loop)
    scheduled = loop.schedule_meeting(
        CITY_LEADER, host=FOTANG, day=START.date() + timedelta(days=1), agenda=[credit]
    )
    assert RedWarningRule.from_meetings([loop.meeting(scheduled.meeting_id)]).flagged == set()


def test_bad_input_is_refused() -> None:
    with pytest.raises(cl.ConfigurationError, match="meeting states or MeetingHeld"):
        RedWarningRule.from_meetings(["m-1"])  # type: ignore[list-item]
    with pytest.raises(cl.CommandError, match="red_warning"):
        cl.MeetingDecision("i", "defer", red_warning="yes")  # type: ignore[arg-type]
