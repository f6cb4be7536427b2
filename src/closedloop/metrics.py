"""Metrics of the loop, computed from events alone: rates, times, backlog, burden, oversight.

The "three rates" by which 12345 hotlines are judged (response, resolution and
satisfaction) and more, each defined precisely in the metrics documentation and in
:class:`IssueMetrics`. Two ways to compute them give exactly the same result:

* **incrementally**, with a :class:`MetricsProjection` that folds one event at a time
  (:meth:`MetricsProjection.apply`) and can be asked for metrics at any moment
  (:meth:`MetricsProjection.metrics`);
* **in batch**, with :func:`compute_metrics` over a whole log (a projection that folds
  the log in one call of :meth:`MetricsProjection.apply_all`).

Both keep a small record of facts per issue (when it was registered, first assigned
and first accepted, how often it was resolved and on time, transfers, returns,
evaluations per handling cycle, when it was open); the grouping, the working-day
arithmetic and the distributions are computed from those records when metrics are
asked for, for the grouping and the instant asked.

Attribution. Every issue belongs to one group per dimension: ``unit`` is the unit where
it was registered, ``level`` that unit's level in the hierarchy, ``category`` its
category, ``department`` its lead department (the last department that led it, ``"-"``
if it was never assigned), and ``period`` the period of its registration (a cohort).
Supervision orders, accountability records, visits and task forces are counted in the
period in which they happened (:class:`ActivityMetrics`); the backlog is a stock
counted at the end of each period (:class:`BacklogPoint`).

Grassroots burden. Trips that cadres of a lower unit make to upper departments are
recorded as :class:`VisitRecorded` facts (the simulation produces them; an application
can record them) and counted where recorded.

Logs. Both take events, or the ``Recorded`` pairs (position, event) an event store's
``read_all()`` yields, or a mix: a pair stands for its event.

Results are frozen values; every table has ``to_columns()`` (a dict of equal-length
lists, no dependencies).
"""

from __future__ import annotations

import enum
import math
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, TypeAlias

import attrs

from closedloop import _html
from closedloop._checks import aware, member
from closedloop.deadlines import LimitUnit, TimeLimit, due
from closedloop.errors import ConfigurationError, InvariantError
from closedloop.eventlog import Recorded
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle.events import (
    AssignmentAccepted,
    AssignmentReturned,
    DeadlineExtended,
    DeadlineMissed,
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
)
from closedloop.supervision import (
    AccountabilityCause,
    AccountabilityOutcome,
    AccountabilityRecorded,
    CloseReason,
    SubjectKind,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderOverdue,
)
from closedloop.taskforces import TaskForceClosed, TaskForceCreated
from closedloop.workdays import WorkCalendar

if TYPE_CHECKING:
    from closedloop.hierarchy import Hierarchy

__all__ = [
    "DIMENSIONS",
    "ActivityMetrics",
    "ActivityTable",
    "BacklogPoint",
    "BacklogTable",
    "Distribution",
    "IssueMetrics",
    "IssueTable",
    "Metrics",
    "MetricsProjection",
    "Period",
    "Ranked",
    "VisitRecorded",
    "compute_metrics",
    "rank",
]

DIMENSIONS: Final = ("unit", "department", "level", "category")
"""The dimensions metrics can be grouped by (any combination, in any order)."""

_NONE: Final = "-"
"""The group value for "none" (an issue never assigned has department ``"-"``)."""


# -- the visit fact -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class VisitRecorded:
    """A trip a cadre of a lower unit made to an upper department (来回跑), where recorded.

    Each visit is its own stream (stream id = ``visit_id``, version 1). It is the raw
    material of the grassroots-burden metric: the fewer visits a downward meeting
    leaves to make, the lighter the burden.
    """

    KIND: ClassVar[str] = "VisitRecorded"
    """The stable type name written by codecs."""

    event_id: EventId
    visit_id: str
    version: int = 1
    occurred_at: datetime
    actor: ActorId
    """The cadre who made the trip."""
    from_unit: UnitId
    """The lower unit the cadre works for."""
    to_unit: UnitId
    """The unit of the department visited."""
    to_department: DepartmentId | None = None
    issue_id: IssueId | None = None
    category: str = ""
    purpose: str = ""

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: the visit."""
        return self.visit_id


# -- periods -----------------------------------------------------------------------------


class Period(enum.Enum):
    """Calendar periods, in the calendar's time zone. Weeks are ISO weeks (Monday first)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"

    def start(self, day: date) -> date:
        """The first day of the period that contains ``day``."""
        if self is Period.DAY:
            return day
        if self is Period.WEEK:
            return day - timedelta(days=day.weekday())
        if self is Period.MONTH:
            return day.replace(day=1)
        if self is Period.QUARTER:
            return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return date(day.year, 1, 1)

    def next_start(self, start: date) -> date:
        """The first day of the period after the one starting on ``start``."""
        if self is Period.DAY:
            return start + timedelta(days=1)
        if self is Period.WEEK:
            return start + timedelta(days=7)
        months = {Period.MONTH: 1, Period.QUARTER: 3, Period.YEAR: 12}[self]
        index = start.year * 12 + start.month - 1 + months
        return date(index // 12, index % 12 + 1, 1)

    def label(self, day: date) -> str:
        """The period's name: ``2025-03-03``, ``2025-W10``, ``2025-03``, ``2025-Q1``, ``2025``."""
        if self is Period.DAY:
            return day.isoformat()
        if self is Period.WEEK:
            year, week, _ = day.isocalendar()
            return f"{year}-W{week:02d}"
        if self is Period.MONTH:
            return f"{day.year}-{day.month:02d}"
        if self is Period.QUARTER:
            return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        return f"{day.year}"


def _period(value: Period | str | None) -> Period | None:
    if value is None or isinstance(value, Period):
        return value
    return member(Period, value, "period")


# -- per-issue facts ----------------------------------------------------------------------
#
# A flat list per issue, indexed by the constants below: cheap to create and update.

_F_ISSUE = 0
_F_VERSION = 1
_F_UNIT = 2
_F_CATEGORY = 3
_F_REGISTERED_AT = 4
_F_FIRST_ASSIGNED_AT = 5
_F_FIRST_RESPONSE_AT = 6
_F_LAST_LEAD = 7
_F_STATE = 8
_F_DUE_AT = 9
_F_RESOLUTIONS = 10
_F_ON_TIME = 11
_F_LAST_RESOLVED_AT = 12
_F_REOPENS = 13
_F_TRANSFERS = 14
_F_RETURNS = 15
_F_ESCALATIONS = 16
_F_EVALUATIONS = 17
_F_SATISFIED_EVALUATIONS = 18
_F_CYCLES_EVALUATED = 19
_F_CYCLES_SATISFIED = 20
_F_CYCLE_LAST = 21
_F_MARKS = 22
_F_MISSES = 23
_F_UPDATED_AT = 24
_F_SIZE = 25

# Issue states, as far as metrics care.
_OPEN = 0
"""Registered, assigned or in progress."""
_SUSPENDED = 1
_RESOLVED = 2
_ARCHIVED = 3
_WITHDRAWN = 4

_NO_EVALUATION = -1
"""``_F_CYCLE_LAST`` when the running cycle has no evaluation yet."""

_Facts: TypeAlias = list[Any]


def _new_facts(e: IssueRegistered) -> _Facts:
    """The facts of an issue just registered (in the order of the ``_F_*`` indices)."""
    if e.version != 1:
        raise InvariantError(f"issue {e.issue_id!r}: registered at version {e.version}")
    at = e.occurred_at
    return [
        e.issue_id,
        1,
        e.unit,
        e.category,
        at,
        None,  # first assigned at
        None,  # first response at
        None,  # last lead
        _OPEN,
        None,  # due at
        0,  # resolutions
        0,  # on time
        None,  # last resolved at
        0,  # reopens
        0,  # transfers
        0,  # returns
        0,  # escalations
        0,  # evaluations
        0,  # satisfied evaluations
        0,  # cycles evaluated
        0,  # cycles satisfied
        _NO_EVALUATION,
        [at],  # marks
        0,  # deadline misses
        at,  # updated at
    ]


def _out_of_order(f: _Facts, e: IssueEvent) -> InvariantError:
    return InvariantError(
        f"issue {f[_F_ISSUE]!r} is at version {f[_F_VERSION]}; {type(e).__name__} has "
        f"version {e.version} (events of an issue must come in order, once each)"
    )


# -- the fold: one handler per issue event type ------------------------------------------


def _h_escalated(f: _Facts, e: Any) -> None:
    f[_F_ESCALATIONS] += 1
    f[_F_DUE_AT] = None


def _h_assigned(f: _Facts, e: Any) -> None:
    if f[_F_FIRST_ASSIGNED_AT] is None:
        f[_F_FIRST_ASSIGNED_AT] = e.occurred_at
    f[_F_LAST_LEAD] = e.lead
    f[_F_DUE_AT] = e.due_at


def _h_accepted(f: _Facts, e: Any) -> None:
    if f[_F_FIRST_RESPONSE_AT] is None:
        f[_F_FIRST_RESPONSE_AT] = e.occurred_at


def _h_returned(f: _Facts, e: Any) -> None:
    f[_F_RETURNS] += 1
    f[_F_DUE_AT] = None


def _h_transferred(f: _Facts, e: Any) -> None:
    f[_F_TRANSFERS] += 1
    f[_F_LAST_LEAD] = e.to_department


def _h_suspended(f: _Facts, e: Any) -> None:
    f[_F_STATE] = _SUSPENDED


def _h_resumed(f: _Facts, e: Any) -> None:
    f[_F_STATE] = _OPEN
    f[_F_DUE_AT] = e.due_at


def _h_extended(f: _Facts, e: Any) -> None:
    f[_F_DUE_AT] = e.due_at


def _h_resolved(f: _Facts, e: Any) -> None:
    at = e.occurred_at
    f[_F_RESOLUTIONS] += 1
    if e.on_time:
        f[_F_ON_TIME] += 1
    f[_F_LAST_RESOLVED_AT] = at
    f[_F_STATE] = _RESOLVED
    f[_F_DUE_AT] = None
    if f[_F_FIRST_RESPONSE_AT] is None:
        f[_F_FIRST_RESPONSE_AT] = at
    f[_F_MARKS].append(at)


def _h_evaluated(f: _Facts, e: Any) -> None:
    f[_F_EVALUATIONS] += 1
    if e.satisfied:
        f[_F_SATISFIED_EVALUATIONS] += 1
        f[_F_CYCLE_LAST] = 1
    else:
        f[_F_CYCLE_LAST] = 0


def _h_reopened(f: _Facts, e: Any) -> None:
    last = f[_F_CYCLE_LAST]
    if last != _NO_EVALUATION:
        f[_F_CYCLES_EVALUATED] += 1
        f[_F_CYCLES_SATISFIED] += last
        f[_F_CYCLE_LAST] = _NO_EVALUATION
    f[_F_REOPENS] += 1
    f[_F_STATE] = _OPEN
    f[_F_LAST_LEAD] = e.lead
    f[_F_DUE_AT] = e.due_at
    f[_F_MARKS].append(e.occurred_at)


def _h_archived(f: _Facts, e: Any) -> None:
    f[_F_STATE] = _ARCHIVED


def _h_withdrawn(f: _Facts, e: Any) -> None:
    if f[_F_STATE] <= _SUSPENDED:
        f[_F_MARKS].append(e.occurred_at)
    f[_F_STATE] = _WITHDRAWN
    f[_F_DUE_AT] = None


def _h_missed(f: _Facts, e: Any) -> None:
    f[_F_MISSES] += 1


_ISSUE_HANDLERS: Final[dict[type, Callable[[_Facts, Any], None]]] = {
    IssueEscalated: _h_escalated,
    IssueAssigned: _h_assigned,
    AssignmentAccepted: _h_accepted,
    AssignmentReturned: _h_returned,
    IssueTransferred: _h_transferred,
    IssueSuspended: _h_suspended,
    IssueResumed: _h_resumed,
    DeadlineExtended: _h_extended,
    IssueResolved: _h_resolved,
    ResolutionEvaluated: _h_evaluated,
    IssueReopened: _h_reopened,
    IssueArchived: _h_archived,
    IssueWithdrawn: _h_withdrawn,
    DeadlineMissed: _h_missed,
}


# -- activity facts (orders, accountability, visits, task forces) -------------------------


class _Activity:
    """Facts of the other streams, kept as small tuples; counted when metrics are asked."""

    __slots__ = ("accountability", "closes", "orders", "overdue", "task_forces", "visits")

    def __init__(self) -> None:
        self.orders: dict[str, tuple[Any, ...]] = {}
        """order id -> (issue id, unit, first department, category, at, due_at)."""
        self.closes: dict[str, tuple[datetime, CloseReason]] = {}
        self.overdue: dict[str, datetime] = {}
        self.accountability: dict[str, AccountabilityRecorded] = {}
        self.visits: dict[str, VisitRecorded] = {}
        self.task_forces: dict[str, list[Any]] = {}
        """task force id -> [unit, category, created at, closed at or None]."""

    def apply(self, event: Any) -> bool:
        """Record ``event`` if it is one of the activity facts; False when it is not."""
        kind = type(event)
        if kind is SupervisionOrdered:
            self.orders[event.order_id] = (
                event.issue_id,
                event.unit,
                event.departments[0] if event.departments else _NONE,
                event.category or _NONE,
                event.occurred_at,
                event.due_at,
            )
        elif kind is SupervisionOrderClosed:
            self.closes[event.order_id] = (event.occurred_at, event.reason)
        elif kind is SupervisionOrderOverdue:
            self.overdue[event.order_id] = event.occurred_at
        elif kind is AccountabilityRecorded:
            self.accountability[event.record_id] = event
        elif kind is VisitRecorded:
            self.visits[event.visit_id] = event
        elif kind is TaskForceCreated:
            self.task_forces[event.task_force_id] = [
                event.unit,
                event.category or _NONE,
                event.occurred_at,
                None,
            ]
        elif kind is TaskForceClosed:
            record = self.task_forces.get(event.task_force_id)
            if record is not None:
                record[3] = event.occurred_at
        else:
            return False
        return True

    def latest(self) -> datetime | None:
        """The latest instant among the activity facts."""
        instants: list[datetime] = [o[4] for o in self.orders.values()]
        instants += [c[0] for c in self.closes.values()]
        instants += self.overdue.values()
        instants += [r.occurred_at for r in self.accountability.values()]
        instants += [v.occurred_at for v in self.visits.values()]
        instants += [t[3] if t[3] is not None else t[2] for t in self.task_forces.values()]
        return max(instants, default=None)


# -- results --------------------------------------------------------------------------------


def _percentile(ordered: Sequence[int], p: int) -> float:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    return float(ordered[max(1, math.ceil(p * len(ordered) / 100)) - 1])


@attrs.frozen
class Distribution:
    """Count, mean, percentiles (nearest rank) and maximum of whole numbers of days.

    Every statistic is None for an empty distribution.
    """

    count: int = 0
    mean: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    max: float | None = None

    STATS: ClassVar[tuple[str, ...]] = ("count", "mean", "p50", "p90", "p95", "max")

    @classmethod
    def of(cls, values: Iterable[int]) -> Distribution:
        """The distribution of ``values``."""
        ordered = sorted(values)
        if not ordered:
            return cls()
        return cls(
            len(ordered),
            sum(ordered) / len(ordered),
            _percentile(ordered, 50),
            _percentile(ordered, 90),
            _percentile(ordered, 95),
            float(ordered[-1]),
        )


_ISSUE_COUNTS: Final = (
    "registered",
    "withdrawn",
    "archived",
    "resolved",
    "due",
    "open",
    "overdue",
    "suspended",
    "resolutions",
    "on_time",
    "late",
    "response_due",
    "responded_in_time",
    "evaluations",
    "satisfied_evaluations",
    "evaluated_cycles",
    "satisfied_cycles",
    "ever_resolved",
    "reopened_issues",
    "reopens",
    "transfers",
    "returns",
    "escalations",
    "deadline_misses",
)
_ISSUE_DISTRIBUTIONS: Final = ("handling_days", "resolution_days", "open_age_days")
_RATES: Final = {
    "response_rate": ("responded_in_time", "response_due"),
    "resolution_rate": ("resolved", "due"),
    "satisfaction_rate": ("satisfied_cycles", "evaluated_cycles"),
    "on_time_rate": ("on_time", "resolutions"),
    "reopen_rate": ("reopened_issues", "ever_resolved"),
    "transfers_per_issue": ("transfers", "registered"),
    "returns_per_issue": ("returns", "registered"),
    "escalations_per_issue": ("escalations", "registered"),
}
"""Every rate of :class:`IssueMetrics`: name -> (numerator count, denominator count)."""
_ISSUE_RATES: Final = tuple(_RATES)


@attrs.frozen
class IssueMetrics:
    """The issue metrics of one group: the issues registered in one period (all, if no period)
    with one combination of group values, as of the metrics' instant ``at``.

    Counts:
        registered: issues. withdrawn, archived: issues that ended so.
        resolved: issues whose latest resolution stands (resolved or archived).
        due: issues expected to be resolved by ``at``: resolved, or open (not
            suspended) with a deadline before ``at``.
        open: issues still waiting for a solution at ``at`` (registered, assigned, in
            progress or suspended); overdue: those of them (not suspended) past their
            deadline; suspended: those suspended.
        resolutions: resolutions reported (every handling cycle counts); on_time, late:
            split by whether each met its deadline (``on_time + late == resolutions``).
        response_due: issues with a first assignment whose response window has closed
            at ``at``, or that were responded to; responded_in_time: first accepted (or
            resolved without acceptance) by the response limit, counted from the first
            assignment.
        evaluations, satisfied_evaluations: every evaluation recorded.
        evaluated_cycles, satisfied_cycles: handling cycles with at least one
            evaluation, and those whose final evaluation (the last of the cycle) was
            satisfied.
        ever_resolved: issues resolved at least once; reopened_issues: issues reopened
            at least once; reopens: reopenings.
        transfers, returns, escalations, deadline_misses: events of those kinds.

    Distributions (whole working days, see :meth:`WorkCalendar.workdays_between`):
        handling_days: first assignment to latest resolution, for resolved issues.
        resolution_days: registration to latest resolution, for resolved issues.
        open_age_days: registration to ``at``, for open issues.

    Rates (None when the denominator is 0), all in [0, 1]:
        response_rate = responded_in_time / response_due;
        resolution_rate = resolved / due;
        satisfaction_rate = satisfied_cycles / evaluated_cycles;
        on_time_rate = on_time / resolutions;
        reopen_rate = reopened_issues / ever_resolved;
        and transfers, returns and escalations per registered issue.
    """

    key: tuple[str, ...]
    period: str | None
    registered: int = 0
    withdrawn: int = 0
    archived: int = 0
    resolved: int = 0
    due: int = 0
    open: int = 0
    overdue: int = 0
    suspended: int = 0
    resolutions: int = 0
    on_time: int = 0
    late: int = 0
    response_due: int = 0
    responded_in_time: int = 0
    evaluations: int = 0
    satisfied_evaluations: int = 0
    evaluated_cycles: int = 0
    satisfied_cycles: int = 0
    ever_resolved: int = 0
    reopened_issues: int = 0
    reopens: int = 0
    transfers: int = 0
    returns: int = 0
    escalations: int = 0
    deadline_misses: int = 0
    handling_days: Distribution = Distribution()
    resolution_days: Distribution = Distribution()
    open_age_days: Distribution = Distribution()

    @property
    def response_rate(self) -> float | None:
        """响应率: responded_in_time / response_due."""
        return self._rate("response_rate")

    @property
    def resolution_rate(self) -> float | None:
        """办结率: resolved / due."""
        return self._rate("resolution_rate")

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率: satisfied_cycles / evaluated_cycles."""
        return self._rate("satisfaction_rate")

    @property
    def on_time_rate(self) -> float | None:
        """按时办结率: on_time / resolutions."""
        return self._rate("on_time_rate")

    @property
    def reopen_rate(self) -> float | None:
        """重办率: reopened_issues / ever_resolved."""
        return self._rate("reopen_rate")

    @property
    def transfers_per_issue(self) -> float | None:
        """transfers / registered."""
        return self._rate("transfers_per_issue")

    @property
    def returns_per_issue(self) -> float | None:
        """returns / registered."""
        return self._rate("returns_per_issue")

    @property
    def escalations_per_issue(self) -> float | None:
        """escalations / registered."""
        return self._rate("escalations_per_issue")

    def _rate(self, name: str) -> float | None:
        """The rate ``name`` (see ``_RATES``); None when its denominator is 0."""
        numerator, denominator = _RATES[name]
        count = getattr(self, denominator)
        return getattr(self, numerator) / count if count else None


_OUTCOMES: Final = tuple(AccountabilityOutcome)
_ACTIVITY_COUNTS: Final = (
    "supervision_orders",
    "orders_met",
    "orders_closed",
    "orders_overdue",
    "accountability_records",
    "people_held_accountable",
    "disciplinary_sanctions",
    "visits",
    "task_forces_created",
    "task_forces_closed",
)


@attrs.frozen
class ActivityMetrics:
    """Supervision, accountability, visits and task forces of one group in one period.

    Each fact counts in the period in which it happened:

    * supervision_orders: orders given; orders_met: of those, closed because the issue
      was resolved by the order's deadline; orders_closed: orders closed (any reason);
      orders_overdue: orders observed past their deadline.
    * accountability_records, people_held_accountable (records against persons),
      disciplinary_sanctions (党政纪处分), and ``by_outcome``: records per outcome.
    * visits: trips by cadres of lower units to upper departments (grassroots burden).
    * task_forces_created, task_forces_closed.

    Group values: an order counts for the unit where its issue was registered (the
    order's handling unit if the issue is not in the log), its first addressed
    department and its issue's category; a record for its subject's unit and
    department; a visit for the visiting unit, the department visited and its category;
    a task force for its unit and category. Missing values are ``"-"``.
    """

    key: tuple[str, ...]
    period: str | None
    supervision_orders: int = 0
    orders_met: int = 0
    orders_closed: int = 0
    orders_overdue: int = 0
    accountability_records: int = 0
    people_held_accountable: int = 0
    disciplinary_sanctions: int = 0
    visits: int = 0
    task_forces_created: int = 0
    task_forces_closed: int = 0
    by_outcome: tuple[tuple[AccountabilityOutcome, int], ...] = ()

    def outcome_count(self, outcome: AccountabilityOutcome | str) -> int:
        """Records with ``outcome``."""
        wanted = AccountabilityOutcome(outcome)
        return sum(n for o, n in self.by_outcome if o is wanted)


@attrs.frozen
class BacklogPoint:
    """The backlog of one group at the end of one period.

    ``at`` is the snapshot instant: the last instant of the period, or the metrics'
    instant for the period that contains it. ``open`` counts issues open at ``at``
    (registered, not resolved or closed; suspended ones included) whatever their
    registration period; ``age_days`` is their age in working days since registration.
    """

    key: tuple[str, ...]
    period: str
    at: datetime
    open: int
    age_days: Distribution


def _columns(
    rows: Sequence[Any],
    by: tuple[str, ...],
    fields: Sequence[str],
    extra: Callable[[Any], dict[str, Any]],
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {name: [] for name in by}
    out["period"] = []
    for name in fields:
        out[name] = []
    for row in rows:
        for name, value in zip(by, row.key, strict=True):
            out[name].append(value)
        out["period"].append(row.period)
        for name in fields:
            out[name].append(getattr(row, name))
        for name, value in extra(row).items():
            out.setdefault(name, []).append(value)
    return out


# The columns a notebook shows by default (``to_columns`` has every one).
_ISSUE_SHOWN: Final = (
    "registered",
    "resolved",
    "open",
    "overdue",
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_rate",
    "reopen_rate",
    "handling_days_p50",
    "handling_days_p90",
)
_ACTIVITY_SHOWN: Final = (
    "supervision_orders",
    "orders_met",
    "accountability_records",
    "disciplinary_sanctions",
    "visits",
    "task_forces_created",
)
_BACKLOG_SHOWN: Final = ("at", "open", "age_days_p50", "age_days_p90", "age_days_max")


def _table_html(table: Any, title: str, shown: Sequence[str]) -> str:
    """A table of rows as HTML: its group and period columns and the ``shown`` ones,
    captioned with ``title``, the grouping and the number of rows."""
    by, period, rows = table.by, table.period, len(table.rows)
    columns = [*by, *(["period"] if period is not None else []), *shown]
    grouping = [*by, *([period.value] if period is not None else [])]
    per = f" by {', '.join(grouping)}" if grouping else ""
    return _html.table(
        _html.select(table.to_columns(), columns),
        caption=f"{title}{per}: {rows:,} row{'s' if rows != 1 else ''}",
    )


def _issue_extra(row: IssueMetrics) -> dict[str, Any]:
    rates = {name: getattr(row, name) for name in _ISSUE_RATES}
    return rates | _distribution_columns(row, _ISSUE_DISTRIBUTIONS)


def _distribution_columns(row: Any, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in names:
        dist = getattr(row, name)
        for stat in Distribution.STATS:
            out[f"{name}_{stat}"] = getattr(dist, stat)
    return out


@attrs.frozen
class IssueTable:
    """Issue metrics, one row per group and registration period, sorted by key and period."""

    by: tuple[str, ...]
    period: Period | None
    rows: tuple[IssueMetrics, ...]

    def to_columns(self) -> dict[str, list[Any]]:
        """Columns: the group dimensions, ``period``, every count, every rate, and each
        distribution's statistics as ``<name>_<stat>`` (e.g. ``handling_days_p90``)."""
        return _columns(self.rows, self.by, _ISSUE_COUNTS, _issue_extra)

    def _repr_html_(self) -> str:
        return _table_html(self, "Issue metrics", _ISSUE_SHOWN)

    def row(self, *key: str, period: str | None = None) -> IssueMetrics:
        """The row of one group (and period), or an empty row when no issue falls in it.

        ``key`` has one value per dimension of ``by``, in order; ``period`` is the
        period's label (``"2025-03"``) and is required when the table has a period.

        Raises:
            ConfigurationError: when ``key`` has not one value per dimension, or
                ``period`` is missing from a table with a period (or given to one
                without).
        """
        if len(key) != len(self.by):
            dims = ", ".join(self.by) or "no dimension"
            raise ConfigurationError(
                f"the table is grouped by {dims}: a row's key has {len(self.by)} "
                f"value(s), got {len(key)} {key!r}"
            )
        if self.period is not None and period is None:
            example = self.rows[0].period if self.rows else self.period.label(date.today())
            raise ConfigurationError(
                f"the table has a row per {self.period.value}: name the period, "
                f"e.g. row(..., period={example!r})"
            )
        if self.period is None and period is not None:
            raise ConfigurationError(f"the table has no period; got period={period!r}")
        for row in self.rows:
            if row.key == key and row.period == period:
                return row
        return IssueMetrics(key, period)


@attrs.frozen
class ActivityTable:
    """Activity metrics, one row per group and period in which things happened."""

    by: tuple[str, ...]
    period: Period | None
    rows: tuple[ActivityMetrics, ...]

    def to_columns(self) -> dict[str, list[Any]]:
        """Columns: dimensions, ``period``, every count, and ``accountability_<outcome>``."""

        def extra(row: ActivityMetrics) -> dict[str, Any]:
            counts = dict(row.by_outcome)
            return {f"accountability_{o.value}": counts.get(o, 0) for o in _OUTCOMES}

        return _columns(self.rows, self.by, _ACTIVITY_COUNTS, extra)

    def _repr_html_(self) -> str:
        return _table_html(self, "Activity", _ACTIVITY_SHOWN)


@attrs.frozen
class BacklogTable:
    """Backlog points, one per group and period end, sorted by key and period.

    A group with an issue open at one period end at least has a point at every period
    end from the period of its first registration to the one containing the metrics'
    instant, also when none of its issues is open then (``open == 0``): its series has
    no gaps. A group none of whose issues was ever open at a period end has no points.
    """

    by: tuple[str, ...]
    period: Period | None
    rows: tuple[BacklogPoint, ...]

    def to_columns(self) -> dict[str, list[Any]]:
        """Columns: dimensions, ``period``, ``at``, ``open`` and ``age_days_<stat>``."""
        return _columns(
            self.rows,
            self.by,
            ("at", "open"),
            lambda row: _distribution_columns(row, ("age_days",)),
        )

    def _repr_html_(self) -> str:
        return _table_html(self, "Backlog", _BACKLOG_SHOWN)


@attrs.frozen
class Ranked:
    """One place in a ranking."""

    position: int
    """1-based; equal values share a position (1, 2, 2, 4)."""
    key: tuple[str, ...]
    period: str | None
    value: float
    count: int
    """The denominator behind the value (how much evidence it rests on)."""


_RANK_COUNT: Final = {name: denominator for name, (_, denominator) in _RATES.items()}
"""The count a rate rests on: its denominator."""


def rank(
    rows: Iterable[IssueMetrics],
    metric: str = "on_time_rate",
    *,
    min_count: int = 1,
    descending: bool = True,
) -> list[Ranked]:
    """Rank groups by a rate, leaving out those with fewer than ``min_count`` behind it.

    ``metric`` is one of the rates of :class:`IssueMetrics` (``on_time_rate``,
    ``response_rate``, ...); the count it rests on is its denominator (resolutions for
    the on-time rate, ...). Best first (highest, or lowest with ``descending=False``);
    ties share a position and are listed by key, then period.

    Raises:
        ConfigurationError: for an unknown metric or a negative ``min_count``.
    """
    if metric not in _RANK_COUNT:
        raise ConfigurationError(
            f"cannot rank by {metric!r}; choose one of {', '.join(sorted(_RANK_COUNT))}"
        )
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 0:
        raise ConfigurationError(f"min_count must be a whole number >= 0, got {min_count!r}")
    count_field = _RANK_COUNT[metric]
    scored = []
    for row in rows:
        value = getattr(row, metric)
        count = getattr(row, count_field)
        if value is None or count < min_count:
            continue
        scored.append((value, row.key, row.period or "", row, count))
    sign = -1 if descending else 1
    scored.sort(key=lambda s: (sign * s[0], s[1], s[2]))
    out: list[Ranked] = []
    for index, (value, key, _, row, count) in enumerate(scored):
        position = out[-1].position if out and out[-1].value == value else index + 1
        out.append(Ranked(position, key, row.period, value, count))
    return out


@attrs.frozen
class Metrics:
    """Every metric, as of ``at``, grouped ``by`` dimensions and ``period``.

    Attributes:
        at: the instant the metrics describe (the latest event, unless asked otherwise).
        by: the group dimensions, in order (``()``: one group).
        period: the period of the rows (None: all time).
        issues: issue metrics per group and registration period.
        total: issue metrics of all issues together.
        backlog: open issues at each period end per group, from the group's first
            registration on, zeros included, for the groups with a backlog at one
            period end at least (empty without a period).
        activity: supervision, accountability, visits and task forces per group and period.
        activity_total: the same for everything together.
        accountability_by_cause: records per cause, all together.
    """

    at: datetime | None
    by: tuple[str, ...]
    period: Period | None
    issues: IssueTable
    total: IssueMetrics
    backlog: BacklogTable
    activity: ActivityTable
    activity_total: ActivityMetrics
    accountability_by_cause: tuple[tuple[AccountabilityCause, int], ...]

    def to_columns(self) -> dict[str, list[Any]]:
        """The issue table's columns (see :meth:`IssueTable.to_columns`)."""
        return self.issues.to_columns()

    def _repr_html_(self) -> str:
        total = self.total
        at = "" if self.at is None else f" as of {_html.cell(self.at)}"
        summary = _html.table(
            _html.select(
                _columns((total,), (), _ISSUE_COUNTS, _issue_extra),
                _ISSUE_SHOWN,
            ),
            caption=f"All issues{at}",
        )
        return summary + self.issues._repr_html_()

    def ranking(
        self, metric: str = "on_time_rate", *, min_count: int = 1, descending: bool = True
    ) -> list[Ranked]:
        """:func:`rank` over the issue rows."""
        return rank(self.issues.rows, metric, min_count=min_count, descending=descending)


# -- the query and the aggregation --------------------------------------------------------


def _dimensions(by: str | Iterable[str]) -> tuple[str, ...]:
    dims = (by,) if isinstance(by, str) else tuple(by)
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise ConfigurationError(
            f"cannot group by {unknown}; the dimensions are {', '.join(DIMENSIONS)}"
        )
    if len(set(dims)) != len(dims):
        raise ConfigurationError(f"a dimension is repeated in {dims}")
    return dims


class _Query:
    """Everything the aggregation needs, with caches for the calendar and the hierarchy."""

    def __init__(
        self,
        calendar: WorkCalendar,
        by: str | Iterable[str],
        period: Period | str | None,
        at: datetime | None,
        hierarchy: Hierarchy | None,
        response_limit: TimeLimit,
    ) -> None:
        if not isinstance(calendar, WorkCalendar):
            raise ConfigurationError(f"metrics need a WorkCalendar, got {calendar!r}")
        if not isinstance(response_limit, TimeLimit):
            raise ConfigurationError(f"response_limit must be a TimeLimit, got {response_limit!r}")
        if at is not None:
            aware(at, "the metrics instant")
        self.calendar = calendar
        self.by = _dimensions(by)
        self.period = _period(period)
        self.at = at
        if "level" in self.by and hierarchy is None:
            raise ConfigurationError("grouping by level needs the hierarchy")
        self.hierarchy = hierarchy
        self.response_limit = response_limit
        self._levels: dict[str, str] = {}
        self.labels: dict[date, str] = {}
        """Period label by day."""
        self.counts: dict[date, int] = {}
        """:meth:`count` by day."""
        self._origin: date | None = None
        self.response_by_day = response_limit.unit is not LimitUnit.WORKING_MINUTES and not (
            response_limit.unit is LimitUnit.SAME_DAY and response_limit.cutoff is not None
        )
        """Whether the response window's end depends only on the day of assignment."""

    def level(self, unit: str) -> str:
        levels = self._levels
        name = levels.get(unit)
        if name is None:
            assert self.hierarchy is not None
            level = self.hierarchy.unit(unit).level
            name = levels[unit] = self.hierarchy.levels.canonical(level)
        return name

    def label(self, day: date) -> str:
        labels = self.labels
        text = labels.get(day)
        if text is None:
            assert self.period is not None
            text = labels[day] = self.period.label(day)
        return text

    def count(self, day: date) -> int:
        """Working days from an origin to ``day``, so that ``count(b) - count(a)`` equals
        ``calendar.workdays_between(a, b)`` (working days in ``(a, b]``).

        The origin is the first day asked about, so no day outside the calendar's data
        is ever needed.
        """
        counts = self.counts
        n = counts.get(day)
        if n is None:
            origin = self._origin
            if origin is None:
                origin = self._origin = day
            between = self.calendar.workdays_between
            n = between(origin, day) if day >= origin else -between(day, origin)
            counts[day] = n
        return n

    def response_deadline(self, assigned_at: datetime) -> datetime:
        """The end of the response window of an issue first assigned at ``assigned_at``."""
        return due(self.calendar, self.response_limit, assigned_at).due_at


class _Zones:
    """``at`` and the snapshot instants converted to each time zone met, once per zone."""

    __slots__ = ("_at", "_instants", "at", "instants")

    def __init__(self, at: datetime, instants: list[datetime]) -> None:
        self._at = at
        self._instants = instants
        self.at: dict[Any, datetime] = {}
        self.instants: dict[Any, list[datetime]] = {}

    def at_in(self, zone: Any) -> datetime:
        converted = self.at[zone] = self._at.astimezone(zone)
        return converted

    def instants_in(self, zone: Any) -> list[datetime]:
        converted = self.instants[zone] = [s.astimezone(zone) for s in self._instants]
        return converted


def _key_function(query: _Query) -> Callable[[Any, Any, Any], tuple[str, ...]]:
    """A function (unit, department, category) -> the group key, for the query's dims."""
    getters: list[Callable[[Any, Any, Any], str]] = []
    for dim in query.by:
        if dim == "unit":
            getters.append(lambda u, d, c: u)
        elif dim == "department":
            getters.append(lambda u, d, c: d if d is not None else _NONE)
        elif dim == "category":
            getters.append(lambda u, d, c: c if c else _NONE)
        else:
            getters.append(lambda u, d, c: query.level(u) if u != _NONE else _NONE)
    if not getters:
        return lambda u, d, c: ()
    if query.by == ("department",):  # the most common grouping, without the extra call
        return lambda u, d, c: (d if d is not None else _NONE,)
    if query.by == ("unit",):
        return lambda u, d, c: (u,)
    if len(getters) == 1:
        g = getters[0]
        return lambda u, d, c: (g(u, d, c),)
    return lambda u, d, c: tuple(g(u, d, c) for g in getters)


def _snapshots(query: _Query, first: datetime, at: datetime) -> list[tuple[str, datetime]]:
    """The periods from the one containing ``first`` to the one containing ``at``, with
    their snapshot instants (the last instant of each, ``at`` for the last)."""
    assert query.period is not None
    period = query.period
    cal = query.calendar
    start = period.start(cal.day_of(first))
    last = period.start(cal.day_of(at))
    out = []
    while start <= last:
        following = period.next_start(start)
        end = datetime.combine(following, time(0), tzinfo=cal.zone) - timedelta(microseconds=1)
        out.append((period.label(start), min(end, at)))
        start = following
    return out


class _Group:
    """The issues of one group and period, with the figures computed per issue."""

    __slots__ = ("extras", "facts")

    def __init__(self) -> None:
        self.facts: list[_Facts] = []
        self.extras: list[tuple[int, int, int, int | None, int | None, int | None]] = []
        """Per issue: response due, responded in time, overdue, handling days,
        resolution days, open age in days."""


def _group_counts(group: _Group) -> tuple[dict[str, int], list[list[int]]]:
    """The counts of a group, and its day figures (handling, resolution, open age)."""
    columns = list(zip(*group.facts, strict=True))
    extras = list(zip(*group.extras, strict=True))
    n = len(group.facts)
    states = columns[_F_STATE]
    last = columns[_F_CYCLE_LAST]
    resolutions = sum(columns[_F_RESOLUTIONS])
    on_time = sum(columns[_F_ON_TIME])
    resolved = states.count(_RESOLVED) + states.count(_ARCHIVED)
    overdue = sum(extras[2])
    counts = {
        "registered": n,
        "withdrawn": states.count(_WITHDRAWN),
        "archived": states.count(_ARCHIVED),
        "resolved": resolved,
        "due": resolved + overdue,
        "open": states.count(_OPEN) + states.count(_SUSPENDED),
        "overdue": overdue,
        "suspended": states.count(_SUSPENDED),
        "resolutions": resolutions,
        "on_time": on_time,
        "late": resolutions - on_time,
        "response_due": sum(extras[0]),
        "responded_in_time": sum(extras[1]),
        "evaluations": sum(columns[_F_EVALUATIONS]),
        "satisfied_evaluations": sum(columns[_F_SATISFIED_EVALUATIONS]),
        "evaluated_cycles": sum(columns[_F_CYCLES_EVALUATED]) + n - last.count(_NO_EVALUATION),
        "satisfied_cycles": sum(columns[_F_CYCLES_SATISFIED]) + last.count(1),
        "ever_resolved": n - columns[_F_RESOLUTIONS].count(0),
        "reopened_issues": n - columns[_F_REOPENS].count(0),
        "reopens": sum(columns[_F_REOPENS]),
        "transfers": sum(columns[_F_TRANSFERS]),
        "returns": sum(columns[_F_RETURNS]),
        "escalations": sum(columns[_F_ESCALATIONS]),
        "deadline_misses": sum(columns[_F_MISSES]),
    }
    days = [[v for v in extras[k] if v is not None] for k in (3, 4, 5)]
    return counts, days


def _issue_metrics(
    facts: Sequence[_Facts], query: _Query, at: datetime
) -> tuple[IssueTable, IssueMetrics, BacklogTable]:
    """The issue table, the total and the backlog, in one pass over the issues.

    Instants are compared within one time zone where possible (``at``, deadlines and
    snapshot instants are converted once per zone met): comparing aware datetimes of
    two different zones costs ten times more.
    """
    day_of = query.calendar.day_of
    count = query.count
    counted = query.counts
    counted_get = counted.get
    key_of = _key_function(query)
    period = query.period
    labels = query.labels
    at_count = count(day_of(at))
    groups: dict[tuple[tuple[str, ...], str | None], _Group] = {}
    snapshots: list[tuple[str, datetime]] = []
    if period is not None and facts:
        snapshots = _snapshots(query, min(f[_F_REGISTERED_AT] for f in facts), at)
    instants = [s for _, s in snapshots]
    snapshot_counts = [count(day_of(s)) for s in instants]
    n_snapshots = len(instants)
    zones = _Zones(at, instants)
    at_in = zones.at
    instants_in = zones.instants
    limits: dict[tuple[date, Any], datetime] = {}
    by_day = query.response_by_day
    backlog: dict[tuple[tuple[str, ...], int], list[int]] = {}
    first_snapshot: dict[tuple[str, ...], int] = {}
    """Per group: the snapshot of the period in which its first issue was registered."""
    first_get = first_snapshot.get
    local_zone: Any = None
    local: list[datetime] = []
    for f in facts:
        state = f[_F_STATE]
        registered = f[_F_REGISTERED_AT]
        reg_day = day_of(registered)
        reg_count = counted_get(reg_day)
        if reg_count is None:
            reg_count = count(reg_day)
        key = key_of(f[_F_UNIT], f[_F_LAST_LEAD], f[_F_CATEGORY])
        assigned = f[_F_FIRST_ASSIGNED_AT]
        response_due = responded = 0
        handling = resolution = age = None
        if assigned is not None:
            assigned_day = day_of(assigned)
            first = f[_F_FIRST_RESPONSE_AT]
            zone = (first if first is not None else assigned).tzinfo
            limit = limits.get((assigned_day, zone)) if by_day else None
            if limit is None:
                limit = query.response_deadline(assigned).astimezone(zone)
                if by_day:
                    limits[(assigned_day, zone)] = limit
            if first is not None:
                response_due = 1
                if first <= limit:
                    responded = 1
            else:
                mine = at_in.get(zone) or zones.at_in(zone)
                if limit < mine:
                    response_due = 1
        due_at = f[_F_DUE_AT]
        overdue = 0
        if state == _OPEN and due_at is not None:
            zone = due_at.tzinfo
            if due_at < (at_in.get(zone) or zones.at_in(zone)):
                overdue = 1
        if state == _RESOLVED or state == _ARCHIVED:  # noqa: SIM109 (a tuple costs more here)
            resolved_day = day_of(f[_F_LAST_RESOLVED_AT])
            resolved_count = counted_get(resolved_day)
            if resolved_count is None:
                resolved_count = count(resolved_day)
            resolution = resolved_count - reg_count
            if assigned is not None:
                assigned_count = counted_get(assigned_day)
                if assigned_count is None:
                    assigned_count = count(assigned_day)
                handling = resolved_count - assigned_count
        elif state <= _SUSPENDED:
            age = at_count - reg_count
        name: str | None = None
        if period is not None:
            name = labels.get(reg_day)
            if name is None:
                name = labels[reg_day] = period.label(reg_day)
        group_key = (key, name)
        group = groups.get(group_key)
        if group is None:
            group = groups[group_key] = _Group()
        group.facts.append(f)
        group.extras.append((response_due, responded, overdue, handling, resolution, age))
        if n_snapshots:
            marks = f[_F_MARKS]
            zone = registered.tzinfo
            if zone is not local_zone:
                local_zone = zone
                local = instants_in.get(zone) or zones.instants_in(zone)
            j = bisect_left(local, registered)
            seen = first_get(key)
            if seen is None or j < seen:
                first_snapshot[key] = j
            if j < n_snapshots and (len(marks) != 2 or local[j] < marks[1]):
                # Open at one snapshot at least (the common case, opened and closed
                # between two snapshots, skips this).
                for i in range(0, len(marks), 2):
                    j = bisect_left(local, marks[i])
                    end = marks[i + 1] if i + 1 < len(marks) else None
                    while j < n_snapshots and (end is None or local[j] < end):
                        backlog.setdefault((key, j), []).append(snapshot_counts[j] - reg_count)
                        j += 1
    rows = []
    totals = dict.fromkeys(_ISSUE_COUNTS, 0)
    all_days: list[list[int]] = [[], [], []]
    for key, name in sorted(groups, key=lambda g: (g[0], g[1] or "")):
        counts, days = _group_counts(groups[(key, name)])
        rows.append(_row(key, name, counts, days))
        for name, value in counts.items():
            totals[name] += value
        for values, more in zip(all_days, days, strict=True):
            values += more
    total = _row((), None, totals, all_days)
    # A point at every period end from a group's first registration on, with no issue
    # open or some (a series without gaps), for the groups with a backlog at one of them
    # at least (not a series of zeros for every group whose issues closed in time).
    points: list[BacklogPoint] = []
    backlogged = {key for key, _ in backlog}
    for key, first in sorted(first_snapshot.items()):
        if key not in backlogged:
            continue
        for j in range(first, n_snapshots):
            values = backlog.get((key, j), [])
            points.append(
                BacklogPoint(
                    key, snapshots[j][0], instants[j], len(values), Distribution.of(values)
                )
            )
    return (
        IssueTable(query.by, query.period, tuple(rows)),
        total,
        BacklogTable(query.by, query.period, tuple(points)),
    )


def _row(
    key: tuple[str, ...], period: str | None, counts: dict[str, int], days: list[list[int]]
) -> IssueMetrics:
    fields: dict[str, Any] = dict(counts)
    for name, values in zip(_ISSUE_DISTRIBUTIONS, days, strict=True):
        fields[name] = Distribution.of(values)
    return IssueMetrics(key, period, **fields)


def _activity(
    activity: _Activity, facts: Mapping[IssueId, _Facts], query: _Query
) -> tuple[ActivityTable, ActivityMetrics, tuple[tuple[AccountabilityCause, int], ...]]:
    key_of = _key_function(query)
    day_of = query.calendar.day_of
    label = query.label if query.period is not None else None
    rows: dict[tuple[tuple[str, ...], str | None], dict[str, int]] = {}
    outcomes: dict[tuple[tuple[str, ...], str | None], dict[AccountabilityOutcome, int]] = {}

    def bump(key: tuple[str, ...], at: datetime, name: str) -> tuple[Any, ...]:
        group = (key, label(day_of(at)) if label is not None else None)
        counts = rows.get(group)
        if counts is None:
            counts = rows[group] = dict.fromkeys(_ACTIVITY_COUNTS, 0)
        counts[name] += 1
        return group

    order_keys: dict[str, tuple[str, ...]] = {}
    """Order id -> the order's group key."""
    for order_id, (issue, unit, dept, category, at, due_at) in activity.orders.items():
        f = facts.get(issue)
        key = order_keys[order_id] = key_of(f[_F_UNIT] if f is not None else unit, dept, category)
        group = bump(key, at, "supervision_orders")
        closed = activity.closes.get(order_id)
        if closed is not None and closed[1] is CloseReason.RESOLVED and closed[0] <= due_at:
            rows[group]["orders_met"] += 1
    for order_id, (closed_at, _) in activity.closes.items():
        if (order_key := order_keys.get(order_id)) is not None:
            bump(order_key, closed_at, "orders_closed")
    for order_id, observed in activity.overdue.items():
        if (order_key := order_keys.get(order_id)) is not None:
            bump(order_key, observed, "orders_overdue")
    causes: dict[AccountabilityCause, int] = {}
    for record in activity.accountability.values():
        key = key_of(record.unit, record.department, None)
        group = bump(key, record.occurred_at, "accountability_records")
        if record.subject_kind is SubjectKind.PERSON:
            rows[group]["people_held_accountable"] += 1
        if record.outcome.is_disciplinary_sanction:
            rows[group]["disciplinary_sanctions"] += 1
        per = outcomes.setdefault(group, {})
        per[record.outcome] = per.get(record.outcome, 0) + 1
        causes[record.cause] = causes.get(record.cause, 0) + 1
    for visit in activity.visits.values():
        bump(
            key_of(visit.from_unit, visit.to_department, visit.category),
            visit.occurred_at,
            "visits",
        )
    for unit, category, created, closed_at in activity.task_forces.values():
        key = key_of(unit, None, category)
        bump(key, created, "task_forces_created")
        if closed_at is not None:
            bump(key, closed_at, "task_forces_closed")

    def outcome_pairs(counts: Mapping[AccountabilityOutcome, int]) -> tuple[Any, ...]:
        return tuple((o, counts[o]) for o in _OUTCOMES if counts.get(o))

    table_rows = tuple(
        ActivityMetrics(
            key,
            period,
            **rows[(key, period)],
            by_outcome=outcome_pairs(outcomes.get((key, period), {})),
        )
        for key, period in sorted(rows, key=lambda g: (g[0], g[1] or ""))
    )
    totals = dict.fromkeys(_ACTIVITY_COUNTS, 0)
    all_outcomes: dict[AccountabilityOutcome, int] = {}
    for counts in rows.values():
        for name, value in counts.items():
            totals[name] += value
    for per in outcomes.values():
        for outcome, n in per.items():
            all_outcomes[outcome] = all_outcomes.get(outcome, 0) + n
    total = ActivityMetrics((), None, **totals, by_outcome=outcome_pairs(all_outcomes))
    by_cause = tuple((c, causes[c]) for c in AccountabilityCause if causes.get(c))
    return ActivityTable(query.by, query.period, table_rows), total, by_cause


def _metrics(facts: Mapping[IssueId, _Facts], activity: _Activity, query: _Query) -> Metrics:
    latest = _latest(facts, activity)
    at = query.at
    if at is None:
        at = latest
    elif latest is not None and at < latest:
        raise ConfigurationError(
            f"metrics are computed as of the latest event ({latest.isoformat()}) or later, "
            f"not {at.isoformat()}; to look back, compute them over the events up to then"
        )
    if at is None:
        empty_issues = IssueTable(query.by, query.period, ())
        return Metrics(
            None,
            query.by,
            query.period,
            empty_issues,
            IssueMetrics((), None),
            BacklogTable(query.by, query.period, ()),
            ActivityTable(query.by, query.period, ()),
            ActivityMetrics((), None),
            (),
        )
    # In registration order (how the facts were made, so mostly in memory order): every
    # result is sorted or summed afterwards, so the order changes nothing but the speed.
    issues, total, backlog = _issue_metrics(list(facts.values()), query, at)
    activity_table, activity_total, by_cause = _activity(activity, facts, query)
    return Metrics(
        at,
        query.by,
        query.period,
        issues,
        total,
        backlog,
        activity_table,
        activity_total,
        by_cause,
    )


def _latest(facts: Mapping[IssueId, _Facts], activity: _Activity) -> datetime | None:
    latest = max((f[_F_UPDATED_AT] for f in facts.values()), default=None)
    other = activity.latest()
    if other is not None and (latest is None or other > latest):
        return other
    return latest


_DEFAULT_RESPONSE: Final = TimeLimit.working_days(1)


# -- the two entry points -------------------------------------------------------------------


class MetricsProjection:
    """Metrics kept up to date one event at a time.

    :meth:`apply` folds an event in (issue events, supervision orders, accountability
    records, visits and task forces; anything else is ignored) in constant time;
    :meth:`metrics` computes the metrics of everything applied so far, for any grouping,
    and equals :func:`compute_metrics` over the same events. Both fold methods also
    take the ``Recorded`` pairs of a store's ``read_all()`` (the pair's event is folded
    and its position kept).
    """

    __slots__ = ("_activity", "_facts", "_position")

    def __init__(self) -> None:
        self._facts: dict[IssueId, _Facts] = {}
        self._activity = _Activity()
        self._position = 0

    @property
    def position(self) -> int:
        """The global position of the last event applied, when positions were given."""
        return self._position

    def __len__(self) -> int:
        """How many issues the projection knows."""
        return len(self._facts)

    def apply(self, event: object, position: int | None = None) -> None:
        """Fold one event in.

        ``event`` may be a ``Recorded`` pair: its event is folded, and its position
        becomes :attr:`position` unless ``position`` is given.

        Raises:
            InvariantError: for an issue event out of order (a version that does not
                follow the issue's last one, or an event before the registration).
        """
        if position is None:
            self.apply_all((event,))
        else:
            self._position = position
            self.apply_all((event.event if isinstance(event, Recorded) else event,))

    def apply_all(self, events: Iterable[object]) -> None:
        """Fold many events in order (the same as :meth:`apply` on each, a little faster).

        ``events`` may be a store's ``read_all()``: each pair's event is folded and the
        last pair's position becomes :attr:`position`.

        Raises:
            InvariantError: as :meth:`apply` (the events before the one refused stay
                folded in).
        """
        # Names as locals: this loop runs once per event, for the batch and the
        # incremental metrics alike.
        facts = self._facts
        get = facts.get
        handlers = _ISSUE_HANDLERS
        activity = self._activity.apply
        registered, pair = IssueRegistered, Recorded
        VERSION, UPDATED_AT = _F_VERSION, _F_UPDATED_AT
        position = None
        try:
            for e in events:
                if type(e) is pair:
                    position = e.position
                    e = e.event
                x: Any = e
                handler = handlers.get(type(x))
                if handler is not None:
                    f = get(x.issue_id)
                    if f is None:
                        raise InvariantError(
                            f"issue {x.issue_id!r}: {type(x).__name__} before its registration"
                        )
                    version = x.version
                    if version != f[VERSION] + 1:
                        raise _out_of_order(f, x)
                    handler(f, x)
                    f[VERSION] = version
                    f[UPDATED_AT] = x.occurred_at
                elif type(x) is registered:
                    if x.issue_id in facts:
                        raise _out_of_order(facts[x.issue_id], x)
                    facts[x.issue_id] = _new_facts(x)
                elif not activity(x) and isinstance(x, Recorded):  # a pair of a subclass
                    position = x.position
                    self.apply_all((x.event,))
        finally:
            if position is not None:
                self._position = position

    def metrics(
        self,
        *,
        calendar: WorkCalendar,
        by: str | Iterable[str] = (),
        period: Period | str | None = None,
        at: datetime | None = None,
        hierarchy: Hierarchy | None = None,
        response_limit: TimeLimit = _DEFAULT_RESPONSE,
    ) -> Metrics:
        """The metrics of everything applied so far (see :func:`compute_metrics`)."""
        query = _Query(calendar, by, period, at, hierarchy, response_limit)
        return _metrics(self._facts, self._activity, query)


def compute_metrics(
    events: Iterable[object],
    *,
    calendar: WorkCalendar,
    by: str | Iterable[str] = (),
    period: Period | str | None = None,
    at: datetime | None = None,
    hierarchy: Hierarchy | None = None,
    response_limit: TimeLimit = _DEFAULT_RESPONSE,
) -> Metrics:
    """Every metric over a log, in one pass.

    Args:
        events: the log in global order: events, or the ``Recorded`` pairs of a store's
            ``read_all()`` (events of other kinds are ignored).
        calendar: the working-day calendar (working days, and periods in its zone).
        by: group dimensions, any of :data:`DIMENSIONS` (``()``: one group).
        period: ``"day"``, ``"week"``, ``"month"``, ``"quarter"``, ``"year"`` or None.
        at: the instant the metrics describe; at or after the latest event (default:
            the latest event).
        hierarchy: needed to group by level.
        response_limit: the response window, counted from the first assignment on the
            calendar like a deadline (default: 1 working day).

    Raises:
        ConfigurationError: for an unknown dimension or period, grouping by level
            without a hierarchy, or an ``at`` that is not a datetime or is before the
            latest event.
        NaiveDatetimeError: for an ``at`` without a time zone.
        InvariantError: for issue events out of order.
    """
    query = _Query(calendar, by, period, at, hierarchy, response_limit)
    projection = MetricsProjection()
    projection.apply_all(events)
    return _metrics(projection._facts, projection._activity, query)


# -- for the plots ---------------------------------------------------------------------------


class _Resolution(NamedTuple):
    """An issue whose latest resolution stands, with the facts behind its day figures."""

    issue: IssueId
    unit: str
    category: str
    department: str
    """The last lead department (``"-"`` if never assigned)."""
    registered_at: datetime
    assigned_at: datetime | None
    """The first assignment."""
    resolved_at: datetime
    """The latest resolution."""


def _resolutions(events: Iterable[object]) -> list[_Resolution]:
    """The issues of a log whose latest resolution stands (resolved or archived), in
    registration order: those behind :attr:`IssueMetrics.handling_days` (first assignment
    to latest resolution) and ``resolution_days`` (registration to latest resolution).

    Raises:
        InvariantError: for issue events out of order.
    """
    projection = MetricsProjection()
    projection.apply_all(events)
    return [
        _Resolution(
            f[_F_ISSUE],
            f[_F_UNIT],
            f[_F_CATEGORY],
            f[_F_LAST_LEAD] if f[_F_LAST_LEAD] is not None else _NONE,
            f[_F_REGISTERED_AT],
            f[_F_FIRST_ASSIGNED_AT],
            f[_F_LAST_RESOLVED_AT],
        )
        for f in projection._facts.values()
        if f[_F_STATE] in (_RESOLVED, _ARCHIVED)
    ]
