"""Figures about meetings: how many, where, what they decided, whose time they took.

These work on folded states (:class:`MeetingState`), so they apply alike to a live
log and to a simulated one; :func:`fold_meeting_streams` folds a mixed sequence of
meeting and whistle-call events into states. Whistle-call figures are in
:mod:`closedloop.meetings.whistle` (:func:`whistle_stats`, :func:`response_times`).
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from types import MappingProxyType
from typing import Final

import attrs

from closedloop.errors import ConfigurationError
from closedloop.ids import ActorId, DepartmentId, MeetingId
from closedloop.meetings.events import DecisionKind, MeetingEvent, WhistleBlown
from closedloop.meetings.record import MeetingState, MeetingStatus, evolve_meeting
from closedloop.meetings.whistle import WhistleState, evolve_whistle

__all__ = [
    "MeetingSummary",
    "MeetingTime",
    "fold_meeting_streams",
    "issues_decided",
    "meeting_counts",
    "summarize_meetings",
    "time_in_meetings",
]

DEFAULT_MEETING_MINUTES: Final = 120
"""Assumed length of a meeting whose duration was not recorded."""


def fold_meeting_streams(
    events: Iterable[MeetingEvent],
) -> tuple[dict[MeetingId, MeetingState], dict[MeetingId, WhistleState]]:
    """Fold meeting and whistle-call events (each stream in order) into their states.

    A stream whose first event is ``WhistleBlown`` is a whistle call; any other is a
    meeting. Streams may be interleaved.

    Raises:
        InvariantError: for a stream that does not fold.
    """
    meetings: dict[MeetingId, MeetingState] = {}
    whistles: dict[MeetingId, WhistleState] = {}
    for event in events:
        key = event.meeting_id
        if key in whistles or (key not in meetings and isinstance(event, WhistleBlown)):
            whistles[key] = evolve_whistle(whistles.get(key), event)
        else:
            meetings[key] = evolve_meeting(meetings.get(key), event)
    return meetings, whistles


def _in_period(state: MeetingState, start: date | None, end: date | None) -> bool:
    return (start is None or state.day >= start) and (end is None or state.day <= end)


_KEYS: Final[dict[str, Callable[[MeetingState], str]]] = {
    "convener_unit": lambda s: s.convener_unit,
    "convener": lambda s: s.convener,
    "host_unit": lambda s: s.host_unit,
    "pair": lambda s: f"{s.convener_unit}>{s.host_unit}",
    "cadence": lambda s: s.cadence,
    "month": lambda s: f"{s.day.year:04d}-{s.day.month:02d}",
    "week": lambda s: "{:04d}-W{:02d}".format(*s.day.isocalendar()[:2]),
}


def meeting_counts(
    states: Iterable[MeetingState],
    *,
    by: str = "host_unit",
    status: MeetingStatus = MeetingStatus.HELD,
    start: date | None = None,
    end: date | None = None,
) -> dict[str, int]:
    """How many meetings, grouped ``by`` one of: ``"convener_unit"``, ``"convener"``
    (the leader), ``"host_unit"``, ``"pair"`` (``"<convener unit>><host>"``),
    ``"cadence"``, ``"month"`` (``"2025-03"``) or ``"week"`` (ISO, ``"2025-W10"``).

    Counts meetings in ``status`` (held by default) whose day lies from ``start`` to
    ``end`` (both included, either open). Keys are sorted.

    Raises:
        ConfigurationError: for an unknown grouping.
    """
    key = _KEYS.get(by)
    if key is None:
        raise ConfigurationError(f"cannot group meetings by {by!r}; use one of {sorted(_KEYS)}")
    counts = Counter(key(s) for s in states if s.status is status and _in_period(s, start, end))
    return dict(sorted(counts.items()))


def issues_decided(states: Iterable[MeetingState]) -> dict[MeetingId, int]:
    """For each held meeting, the issues it decided (any decision but ``DEFER``)."""
    return {
        s.meeting_id: len(s.decided_issues)
        for s in sorted(states, key=lambda s: (s.day, s.meeting_id))
        if s.status is MeetingStatus.HELD
    }


@attrs.frozen
class MeetingSummary:
    """Totals over a set of meetings.

    Attributes:
        held, cancelled, scheduled: meetings by status (``scheduled``: not yet held).
        agenda_items: agenda entries of the held meetings.
        decisions: decisions of the held meetings, by kind (every kind listed).
        issues_decided: decisions other than ``DEFER``.
        decided_per_meeting: mean issues decided per held meeting (``None`` if none held).
        attendees_per_meeting: mean departments present per held meeting.
    """

    held: int
    cancelled: int
    scheduled: int
    agenda_items: int
    decisions: Mapping[DecisionKind, int] = attrs.field(hash=False)
    issues_decided: int
    decided_per_meeting: float | None
    attendees_per_meeting: float | None


def summarize_meetings(states: Iterable[MeetingState]) -> MeetingSummary:
    """Totals over meetings: by status, agenda items, decisions by kind, means."""
    chosen = list(states)
    held = [s for s in chosen if s.status is MeetingStatus.HELD]
    kinds = Counter(d.kind for s in held for d in s.decisions)
    decided = sum(len(s.decided_issues) for s in held)
    return MeetingSummary(
        held=len(held),
        cancelled=sum(1 for s in chosen if s.status is MeetingStatus.CANCELLED),
        scheduled=sum(1 for s in chosen if s.status is MeetingStatus.SCHEDULED),
        agenda_items=sum(len(s.agenda) for s in held),
        decisions=MappingProxyType({k: kinds.get(k, 0) for k in DecisionKind}),
        issues_decided=decided,
        decided_per_meeting=decided / len(held) if held else None,
        attendees_per_meeting=statistics.fmean(len(s.attendees) for s in held) if held else None,
    )


@attrs.frozen
class MeetingTime:
    """Minutes spent in held meetings, per department and per convening leader."""

    meetings: int
    departments: Mapping[DepartmentId, int] = attrs.field(hash=False)
    leaders: Mapping[ActorId, int] = attrs.field(hash=False)


def time_in_meetings(
    states: Iterable[MeetingState],
    *,
    default_minutes: int = DEFAULT_MEETING_MINUTES,
    start: date | None = None,
    end: date | None = None,
) -> MeetingTime:
    """Minutes each department and each convening leader spent in held meetings.

    A meeting counts for its recorded duration, or ``default_minutes`` when none was
    recorded; only meetings whose day lies from ``start`` to ``end`` count. Travel is
    not counted.

    Raises:
        ConfigurationError: for a default that is not a whole number > 0.
    """
    if (
        isinstance(default_minutes, bool)
        or not isinstance(default_minutes, int)
        or default_minutes <= 0
    ):
        raise ConfigurationError(f"default_minutes is a whole number > 0, got {default_minutes!r}")
    departments: Counter[DepartmentId] = Counter()
    leaders: Counter[ActorId] = Counter()
    count = 0
    for s in states:
        if s.status is not MeetingStatus.HELD or not _in_period(s, start, end):
            continue
        minutes = s.duration_minutes if s.duration_minutes is not None else default_minutes
        count += 1
        leaders[s.convener] += minutes
        for d in s.attendees:
            departments[d] += minutes
    return MeetingTime(
        meetings=count,
        departments=MappingProxyType(dict(sorted(departments.items()))),
        leaders=MappingProxyType(dict(sorted(leaders.items()))),
    )
