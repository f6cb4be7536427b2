"""Hypothesis strategies for every lifecycle event class, and a plain event factory.

The values are deliberately awkward: any text hypothesis can draw (quotes, control
characters, Chinese, astral characters), integers across the whole 64-bit range,
floats of every finite kind, datetimes in fixed offsets down to the second (the encoder
refuses offsets with a fraction of a second) and in Asia/Shanghai since 1992, when the
zone stopped having daylight saving time. A datetime in a DST fold or gap never equals
its fixed-offset copy in Python, so such zones are out of scope for the round trip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from closedloop.deadlines import Difficulty, TimeLimit
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle.events import (
    AssignmentAccepted,
    AssignmentReturned,
    DeadlineExtended,
    DeadlineMissed,
    EvaluatorKind,
    IssueArchived,
    IssueAssigned,
    IssueEscalated,
    IssueEvent,
    IssueRegistered,
    IssueReopened,
    IssueResolved,
    IssueResumed,
    IssueSuspended,
    IssueTransferred,
    IssueWithdrawn,
    ResolutionEvaluated,
    WithdrawalReason,
)
from closedloop.store import StreamEvent

SHANGHAI = ZoneInfo("Asia/Shanghai")
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)

texts = st.text()
ids = st.text(min_size=1)
departments = ids.map(DepartmentId)
actors = ids.map(ActorId)
units = ids.map(UnitId)
fixed_zones = st.integers(-86399, 86399).map(lambda s: timezone(timedelta(seconds=s)))
instants = st.one_of(
    st.datetimes(timezones=fixed_zones),
    st.datetimes(min_value=datetime(1992, 1, 1), timezones=st.just(SHANGHAI)),
)
dates = st.dates()
limits = st.one_of(
    st.builds(TimeLimit.same_day, st.none() | st.times()),
    st.builds(TimeLimit.working_days, st.integers(0, 2**63 - 1)),
    st.builds(TimeLimit.calendar_days, st.integers(0, 2**63 - 1)),
    st.builds(TimeLimit.working_minutes, st.integers(1, 2**63 - 1)),
)
co_handlers = st.lists(departments, max_size=4).map(tuple)


def _base(cls: type[IssueEvent], **payload: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.builds(
        cls,
        event_id=ids.map(EventId),
        issue_id=ids.map(IssueId),
        version=st.integers(1, 2**63 - 1),
        occurred_at=instants,
        actor=actors,
        **payload,
    )


EVENT_STRATEGIES: dict[type[IssueEvent], st.SearchStrategy[Any]] = {
    IssueRegistered: _base(
        IssueRegistered,
        unit=units,
        category=texts,
        difficulty=st.sampled_from(Difficulty),
        title=texts,
        description=texts,
        reporter=st.none() | actors,
    ),
    IssueEscalated: _base(IssueEscalated, from_unit=units, to_unit=units, reason=texts),
    IssueAssigned: _base(
        IssueAssigned,
        lead=departments,
        co_handlers=co_handlers,
        limit=limits,
        due_at=instants,
        due_date=dates,
        policy=texts,
        provisional=st.booleans(),
    ),
    AssignmentAccepted: _base(AssignmentAccepted, department=departments),
    AssignmentReturned: _base(AssignmentReturned, department=departments, reason=texts),
    IssueTransferred: _base(
        IssueTransferred,
        from_department=departments,
        to_department=departments,
        co_handlers=co_handlers,
        reason=texts,
    ),
    IssueSuspended: _base(IssueSuspended, reason=texts),
    IssueResumed: _base(
        IssueResumed,
        paused_units=INT64,
        due_at=instants,
        due_date=dates,
        provisional=st.booleans(),
    ),
    DeadlineExtended: _base(
        DeadlineExtended,
        approved_by=actors,
        amount=INT64,
        due_at=instants,
        due_date=dates,
        reason=texts,
        provisional=st.booleans(),
    ),
    IssueResolved: _base(
        IssueResolved, department=departments, summary=texts, on_time=st.booleans()
    ),
    ResolutionEvaluated: _base(
        ResolutionEvaluated,
        evaluator_kind=st.sampled_from(EvaluatorKind),
        satisfied=st.booleans(),
        score=st.none() | st.floats(allow_nan=False, allow_infinity=False),
        comment=texts,
    ),
    IssueReopened: _base(
        IssueReopened,
        cycle=INT64,
        lead=departments,
        limit=limits,
        due_at=instants,
        due_date=dates,
        policy=texts,
        reason=texts,
        provisional=st.booleans(),
    ),
    IssueArchived: _base(IssueArchived),
    IssueWithdrawn: _base(
        IssueWithdrawn,
        reason=st.sampled_from(WithdrawalReason),
        merged_into=st.none() | texts,
        note=texts,
    ),
    DeadlineMissed: _base(DeadlineMissed, due_at=instants, cycle=INT64, lead=departments),
}

events = st.one_of(*EVENT_STRATEGIES.values())
"""Any lifecycle event, with any field values its types allow."""

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)
"""Any JSON value (what a hostile record may put anywhere)."""


# -- plain events for store tests -------------------------------------------------------

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)


def lifecycle(issue_id: str, *, start: int = 1, salt: str = "") -> list[IssueEvent]:
    """A happy-path issue: registered, assigned, accepted, resolved, evaluated, archived.

    ``start`` skips the first ``start - 1`` events; ``salt`` makes the event ids unique
    across calls with the same issue id.
    """
    at = T0
    due = at + timedelta(days=3)
    pieces: list[Callable[[EventId, int, datetime], IssueEvent]] = [
        lambda e, v, t: IssueRegistered(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("officer"),
            unit=UnitId("330782100000"),
            category="roads",
            difficulty=Difficulty.COMPLEX,
            title='路面坑洼 "quoted" \n newline',
            reporter=ActorId("citizen"),
        ),
        lambda e, v, t: IssueAssigned(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("officer"),
            lead=DepartmentId("roads-dept"),
            co_handlers=(DepartmentId("water"), DepartmentId("power")),
            limit=TimeLimit.same_day(time(16, 0)),
            due_at=due,
            due_date=due.date(),
            policy="yiwu@1",
        ),
        lambda e, v, t: AssignmentAccepted(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("staff"),
            department=DepartmentId("roads-dept"),
        ),
        lambda e, v, t: IssueResolved(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("staff"),
            department=DepartmentId("roads-dept"),
            summary="补好了",
            on_time=True,
        ),
        lambda e, v, t: ResolutionEvaluated(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("citizen"),
            evaluator_kind=EvaluatorKind.REPORTER,
            satisfied=True,
            score=4.5,
        ),
        lambda e, v, t: IssueArchived(
            event_id=e,
            issue_id=IssueId(issue_id),
            version=v,
            occurred_at=t,
            actor=ActorId("officer"),
        ),
    ]
    return [
        make(EventId(f"{issue_id}/{v}{salt}"), v, at + timedelta(hours=v))
        for v, make in enumerate(pieces, 1)
        if v >= start
    ]


def notes(
    stream_id: str, first: int, count: int, *, salt: str = "", text: str = ""
) -> list[IssueSuspended]:
    """``count`` small events of a stream from version ``first`` (any version is fine).

    The store does not check lifecycle rules, so a run of suspensions stands for any
    events; ``text`` makes them as large as wanted.
    """
    return [
        IssueSuspended(
            event_id=EventId(f"{stream_id}/{v}{salt}"),
            issue_id=IssueId(stream_id),
            version=v,
            occurred_at=T0 + timedelta(minutes=v),
            actor=ActorId("a"),
            reason=text,
        )
        for v in range(first, first + count)
    ]


def versions(events: Sequence[StreamEvent]) -> list[int]:
    """The events' versions."""
    return [e.version for e in events]


__all__ = [
    "EVENT_STRATEGIES",
    "T0",
    "events",
    "json_values",
    "lifecycle",
    "notes",
    "versions",
]
