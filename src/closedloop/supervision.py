"""Supervision orders (督办) and accountability (问责): rules that read the log and propose.

Supervision
    A :class:`SupervisionRule` is a small configurable value that reads the issues'
    states at an instant passed in and *proposes* supervision orders, each with the
    facts that triggered it: :class:`OverdueRule` (a running deadline breached by at
    least k working days), :class:`HandoverRule` (returned or transferred at least r
    times) and :class:`RedWarningRule` (flagged red at a meeting). Nothing is ordered
    until someone with the right orders it: :func:`order_supervision` checks
    ``Action.SUPERVISE`` (supervision comes only from a strictly higher level than the
    supervised department's unit, or from the department's own unit's supervision team)
    and records :class:`SupervisionOrdered`, with the order's own deadline counted on the
    working-day calendar.

    An order is its own event stream (stream id = order id) and closes when the issue
    *moves* (:func:`close_orders`): the issue is resolved (办结), withdrawn, escalated to
    the level above, transferred to a department the order is not addressed to, or
    returned by an addressed department; an order addressed to the handling unit itself
    (the issue had no lead) also closes when the issue is assigned. Suspensions,
    extensions, acceptances and transfers among the addressed departments are not moves.
    :func:`observe_orders` records :class:`SupervisionOrderOverdue` once for an open
    order past its own deadline.

Accountability
    :class:`AccountabilityRecorded` holds a record against a department, a unit or a
    person, with a cause (:class:`AccountabilityCause`: 敷衍应付, 推诿扯皮, 执行不力 and the
    five 不) and an outcome (:class:`AccountabilityOutcome`: 诫勉谈话, 通报批评, 党政纪处分,
    组织处理 ...). :class:`AccountabilityRule` values propose records from the evidence
    (:class:`Evidence`: supervision orders and issue events at an instant):
    :class:`UnmetOrdersRule` (at least n orders past their own deadline without being
    met), :class:`BuckPassingRule` (at least m returns and transfers between the same
    two departments, through :func:`closedloop.departments.buck_passing`) and
    :class:`RepeatedReopenRule` (resolutions rejected by evaluation at least k times:
    perfunctory work). :func:`record_accountability` checks ``Action.HOLD_ACCOUNTABLE``
    (again: only from a strictly higher level) and records the event.

Explainability
    Every proposal and record carries the rule's name, a sentence of reason and its
    facts as ``(name, value)`` pairs (:class:`Fact`: issue ids, counts, due dates, the
    department pair), plus the ids of the orders, events or issues it rests on. Rules
    sort what they read, so the same input gives the same proposals in the same order.

Everything here is pure: time, ids and the calendar are passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from types import MappingProxyType
from typing import Any, ClassVar, Final, NamedTuple, Protocol

import attrs

from closedloop._checks import aware, member, whole_at_least
from closedloop.access import Action, Actor, Authorizer, Target, require_permission
from closedloop.deadlines import TimeLimit, due
from closedloop.departments import HandlingRecord, HandlingRole, buck_passing
from closedloop.errors import (
    CommandError,
    ConfigurationError,
    InvariantError,
    TransitionError,
)
from closedloop.eventlog import Recorded
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle.commands import allowed_actions
from closedloop.lifecycle.events import (
    AssignmentReturned,
    IssueAssigned,
    IssueEscalated,
    IssueEvent,
    IssueRegistered,
    IssueReopened,
    IssueResolved,
    IssueTransferred,
    IssueWithdrawn,
)
from closedloop.lifecycle.state import IssueState
from closedloop.meetings.events import MeetingHeld
from closedloop.meetings.record import MeetingState, _held_in_order
from closedloop.workdays import WorkCalendar

__all__ = [
    "AccountabilityCause",
    "AccountabilityOutcome",
    "AccountabilityProposal",
    "AccountabilityRecorded",
    "AccountabilityRule",
    "BuckPassingRule",
    "CloseReason",
    "Evidence",
    "Fact",
    "HandoverRule",
    "OrderStatus",
    "OverdueRule",
    "RedWarningRule",
    "RepeatedReopenRule",
    "SubjectKind",
    "SupervisionContext",
    "SupervisionEvent",
    "SupervisionOrderClosed",
    "SupervisionOrderOverdue",
    "SupervisionOrderState",
    "SupervisionOrdered",
    "SupervisionProposal",
    "SupervisionRule",
    "UnmetOrdersRule",
    "close_orders",
    "evolve_order",
    "handling_records",
    "move_of",
    "observe_orders",
    "order_supervision",
    "propose_accountability",
    "propose_supervision",
    "record_accountability",
    "replay_order",
]


# -- facts ------------------------------------------------------------------------------


@attrs.frozen
class Fact:
    """One fact a rule rests on, as text: ``Fact("overdue_working_days", "3")``.

    A frozen value (so event codecs can write it) that unpacks like a pair:
    ``name, value = fact`` and ``dict(facts)`` work.
    """

    name: str
    value: str

    def __iter__(self) -> Iterator[str]:
        return iter((self.name, self.value))


def _facts(value: Iterable[Any]) -> tuple[Fact, ...]:
    """Facts from ``(name, value)`` pairs (lists too, as a decoder gives them back)."""
    out = []
    for item in value:
        name, text = item
        out.append(Fact(str(name), "-" if text is None else str(text)))
    return tuple(out)


def _explain(rule: str, reason: str, facts: Sequence[Fact]) -> str:
    listed = ", ".join(f"{f.name}={f.value}" for f in facts)
    return f"{rule}: {reason}" + (f" [{listed}]" if listed else "")


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise ConfigurationError(f"expected a list of ids, not the string {value!r}")
    return tuple(value)


# -- supervision order events -----------------------------------------------------------


class CloseReason(enum.Enum):
    """Why a supervision order closed: how the issue moved."""

    RESOLVED = "resolved"
    """办结: the lead reported the problem solved."""
    WITHDRAWN = "withdrawn"
    """The issue left the loop unresolved."""
    ESCALATED = "escalated"
    """The issue went up a level; the addressed unit no longer handles it."""
    TRANSFERRED = "transferred"
    """The lead moved to a department the order is not addressed to."""
    RETURNED = "returned"
    """An addressed department returned the assignment (退回)."""
    ASSIGNED = "assigned"
    """An order addressed to the handling unit (no lead) saw the issue assigned."""


class OrderStatus(enum.Enum):
    """Whether a supervision order still runs."""

    OPEN = "open"
    CLOSED = "closed"


@attrs.frozen(kw_only=True)
class SupervisionEvent:
    """Base of the events of a supervision order's stream (stream id = ``order_id``)."""

    KIND: ClassVar[str] = "SupervisionEvent"
    """The stable type name written by codecs."""

    event_id: EventId
    order_id: str
    version: int
    occurred_at: datetime
    actor: ActorId
    issue_id: IssueId

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: its order."""
        return self.order_id


@attrs.frozen(kw_only=True)
class SupervisionOrdered(SupervisionEvent):
    """督办: a supervision order was given about an issue, with its own deadline."""

    KIND: ClassVar[str] = "SupervisionOrdered"
    issue_version: int
    """The issue's version the order was based on; later events may close it."""
    unit: UnitId
    """The unit handling the issue when ordered."""
    category: str = ""
    departments: tuple[DepartmentId, ...] = ()
    """The departments addressed; empty when the order is addressed to ``unit`` itself."""
    team: str = ""
    """The supervision team (督查组) that gives the order."""
    rule: str
    reason: str
    facts: tuple[Fact, ...] = attrs.field(default=(), converter=_facts)
    due_at: datetime
    due_date: date
    provisional: bool = False


@attrs.frozen(kw_only=True)
class SupervisionOrderOverdue(SupervisionEvent):
    """An open order passed its own deadline: a fact, recorded once per order."""

    KIND: ClassVar[str] = "SupervisionOrderOverdue"
    due_at: datetime


@attrs.frozen(kw_only=True)
class SupervisionOrderClosed(SupervisionEvent):
    """The order closed because the issue moved."""

    KIND: ClassVar[str] = "SupervisionOrderClosed"
    reason: CloseReason
    trigger_event_id: EventId | None = None
    """The issue event that moved the issue."""
    note: str = ""


@attrs.frozen
class SupervisionOrderState:
    """A supervision order as of its latest event (the fold of its stream)."""

    order_id: str
    version: int
    issue_id: IssueId
    issue_version: int
    unit: UnitId
    category: str
    departments: tuple[DepartmentId, ...]
    team: str
    rule: str
    reason: str
    facts: tuple[Fact, ...]
    ordered_at: datetime
    ordered_by: ActorId
    due_at: datetime
    due_date: date
    status: OrderStatus = OrderStatus.OPEN
    overdue_recorded: bool = False
    closed_at: datetime | None = None
    close_reason: CloseReason | None = None
    updated_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether the order still runs."""
        return self.status is OrderStatus.OPEN

    @property
    def addressees(self) -> tuple[str, ...]:
        """Who must act: the departments, or the unit when none is named."""
        return self.departments if self.departments else (self.unit,)

    def is_overdue(self, at: datetime) -> bool:
        """Whether the order is open and past its own deadline at ``at``."""
        return self.is_open and at > self.due_at

    @property
    def met(self) -> bool:
        """Whether the order was met: the issue was resolved by the order's deadline."""
        return (
            self.close_reason is CloseReason.RESOLVED
            and self.closed_at is not None
            and self.closed_at <= self.due_at
        )

    def unmet_at(self, at: datetime) -> bool:
        """Whether, at ``at``, the order's deadline has passed and it did not close by then.

        An order that closed on time for any reason (the issue moved) is not unmet; one
        still open, or closed only after its deadline, is.
        """
        if at <= self.due_at:
            return False
        return self.closed_at is None or self.closed_at > self.due_at

    def explain(self) -> str:
        """The order's rule, reason and facts in one line."""
        return _explain(self.rule, self.reason, self.facts)


def evolve_order(
    state: SupervisionOrderState | None, event: SupervisionEvent
) -> SupervisionOrderState:
    """The order's state after ``event``.

    Raises:
        InvariantError: for an event that does not follow (wrong version, another
            order, a first event that is not ``SupervisionOrdered``, an event after
            closing).
    """
    if state is None:
        if not isinstance(event, SupervisionOrdered) or event.version != 1:
            raise InvariantError(
                f"order {event.order_id!r}: the first event must be SupervisionOrdered at "
                f"version 1, not {type(event).__name__} at version {event.version}"
            )
        return SupervisionOrderState(
            event.order_id,
            1,
            event.issue_id,
            event.issue_version,
            event.unit,
            event.category,
            event.departments,
            event.team,
            event.rule,
            event.reason,
            event.facts,
            event.occurred_at,
            event.actor,
            event.due_at,
            event.due_date,
            updated_at=event.occurred_at,
        )
    if event.order_id != state.order_id or event.version != state.version + 1:
        raise InvariantError(
            f"order {state.order_id!r} is at version {state.version}; "
            f"{type(event).__name__} for {event.order_id!r} has version {event.version}"
        )
    if not state.is_open:
        raise InvariantError(f"order {state.order_id!r} is closed; {type(event).__name__} refused")
    if isinstance(event, SupervisionOrderOverdue):
        return attrs.evolve(
            state, version=event.version, overdue_recorded=True, updated_at=event.occurred_at
        )
    if isinstance(event, SupervisionOrderClosed):
        return attrs.evolve(
            state,
            version=event.version,
            status=OrderStatus.CLOSED,
            closed_at=event.occurred_at,
            close_reason=event.reason,
            updated_at=event.occurred_at,
        )
    raise InvariantError(f"order {state.order_id!r}: unexpected {type(event).__name__}")


def replay_order(events: Iterable[SupervisionEvent]) -> SupervisionOrderState:
    """The order's state from its whole stream.

    Raises:
        InvariantError: for an empty or inconsistent stream.
    """
    state: SupervisionOrderState | None = None
    for event in events:
        state = evolve_order(state, event)
    if state is None:
        raise InvariantError("an order needs at least its SupervisionOrdered event")
    return state


# -- supervision rules ------------------------------------------------------------------


@attrs.frozen
class SupervisionProposal:
    """A supervision order a rule proposes, with the facts that triggered it.

    Attributes:
        issue_id: the issue.
        issue_version: the issue's version the rule read.
        rule: the proposing rule's name.
        unit: the unit handling the issue.
        category: the issue's category.
        departments: who to address (the lead; empty: the handling unit itself).
        reason: one sentence.
        facts: what triggered it.
        at: the instant the rule was applied.
    """

    issue_id: IssueId
    issue_version: int
    rule: str
    unit: UnitId
    category: str
    departments: tuple[DepartmentId, ...]
    reason: str
    facts: tuple[Fact, ...] = attrs.field(converter=_facts)
    at: datetime

    def explain(self) -> str:
        """The rule, the reason and every fact, in one line."""
        return f"issue {self.issue_id}: " + _explain(self.rule, self.reason, self.facts)


class SupervisionRule(Protocol):
    """A rule that proposes supervision orders from issue states at an instant."""

    @property
    def name(self) -> str:
        """The rule's name, recorded with each order."""
        ...

    def propose(
        self, states: Sequence[IssueState], at: datetime, calendar: WorkCalendar
    ) -> list[SupervisionProposal]:
        """Proposals for the issues (given sorted by id) at ``at``."""
        ...


def _name(_instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _proposal(
    state: IssueState, rule: str, at: datetime, reason: str, facts: list[tuple[str, object]]
) -> SupervisionProposal:
    return SupervisionProposal(
        issue_id=state.issue_id,
        issue_version=state.version,
        rule=rule,
        unit=state.unit,
        category=state.category,
        departments=(state.lead,) if state.lead is not None else (),
        reason=reason,
        facts=[(n, v) for n, v in facts],
        at=at,
    )


@attrs.frozen
class OverdueRule:
    """Propose an order when a running deadline is breached by at least k working days.

    "Overdue by n working days" counts the working days after the due date up to and
    including the day of ``at`` (so the first working day after the due date is 1).
    With ``min_working_days=0`` any breach qualifies. Suspended issues are not overdue
    (their clock is stopped).
    """

    min_working_days: int = attrs.field(default=1, validator=whole_at_least(0))
    name: str = attrs.field(default="overdue", validator=_name)

    def propose(
        self, states: Sequence[IssueState], at: datetime, calendar: WorkCalendar
    ) -> list[SupervisionProposal]:
        """Proposals for every issue overdue by at least ``min_working_days`` at ``at``."""
        out = []
        for state in states:
            if not state.is_overdue(at):
                continue
            assert state.due_at is not None
            assert state.due_date is not None
            late = calendar.workdays_between(state.due_date, at)
            if late < self.min_working_days:
                continue
            out.append(
                _proposal(
                    state,
                    self.name,
                    at,
                    f"overdue by {late} working day(s) (threshold {self.min_working_days})",
                    [
                        ("due_at", state.due_at.isoformat()),
                        ("due_date", state.due_date.isoformat()),
                        ("overdue_working_days", late),
                        ("lead", state.lead),
                        ("cycle", state.cycle),
                        ("status", state.status.value),
                    ],
                )
            )
        return out


@attrs.frozen
class HandoverRule:
    """Propose an order for an open issue returned or transferred at least r times.

    Counts are over the issue's whole life; ``count_returns`` and ``count_transfers``
    choose what counts.
    """

    min_handovers: int = attrs.field(default=2, validator=whole_at_least(1))
    count_returns: bool = True
    count_transfers: bool = True
    name: str = attrs.field(default="handovers", validator=_name)

    def __attrs_post_init__(self) -> None:
        if not (self.count_returns or self.count_transfers):
            raise ConfigurationError("a handover rule counts returns, transfers, or both")

    def propose(
        self, states: Sequence[IssueState], at: datetime, calendar: WorkCalendar
    ) -> list[SupervisionProposal]:
        """Proposals for every open issue passed on at least ``min_handovers`` times."""
        out = []
        for state in states:
            if not state.status.is_open:
                continue
            returns = state.return_count if self.count_returns else 0
            transfers = state.transfer_count if self.count_transfers else 0
            total = returns + transfers
            if total < self.min_handovers:
                continue
            out.append(
                _proposal(
                    state,
                    self.name,
                    at,
                    f"passed on {total} time(s) (threshold {self.min_handovers})",
                    [
                        ("returns", state.return_count),
                        ("transfers", state.transfer_count),
                        ("counted", total),
                        ("lead", state.lead),
                        ("status", state.status.value),
                    ],
                )
            )
        return out


def _issue_ids(value: Iterable[str]) -> frozenset[IssueId]:
    return frozenset(IssueId(v) for v in _ids(value))


def _meetings_of(value: Mapping[Any, str]) -> dict[IssueId, str]:
    return {IssueId(issue): str(meeting) for issue, meeting in dict(value).items()}


@attrs.frozen
class RedWarningRule:
    """Propose an order for every open issue a meeting flagged red (红色预警).

    ``flagged`` is the set of issue ids the meeting flagged; ``meeting`` names it.
    :meth:`from_meetings` reads both from the meeting record instead, where each
    issue's flagging meeting is kept in ``flagged_at``.
    """

    flagged: frozenset[IssueId] = attrs.field(converter=_issue_ids)
    meeting: str = ""
    name: str = attrs.field(default="red_warning", validator=_name)
    flagged_at: Mapping[IssueId, str] = attrs.field(factory=dict, converter=_meetings_of, eq=False)
    """The meeting that last flagged each issue, when known (see :meth:`from_meetings`)."""

    @classmethod
    def from_meetings(
        cls, meetings: Iterable[MeetingState | MeetingHeld], *, name: str = "red_warning"
    ) -> RedWarningRule:
        """The rule for every issue that held meetings flagged red in their decisions.

        ``meetings`` are meeting states or their ``MeetingHeld`` events, in any order;
        meetings not held are passed over. An issue flagged at several meetings is
        explained by the latest of them.

        Raises:
            ConfigurationError: for anything that is neither a meeting state nor a
                ``MeetingHeld`` event.
        """
        held = _held_in_order(meetings, caller="RedWarningRule.from_meetings")
        flagged_at = {
            decision.issue_id: meeting.meeting_id
            for meeting in held
            for decision in meeting.decisions
            if decision.red_warning
        }
        meetings_flagging = sorted(set(flagged_at.values()))
        only = meetings_flagging[0] if len(meetings_flagging) == 1 else ""
        return cls(frozenset(flagged_at), only, name, flagged_at)

    def propose(
        self, states: Sequence[IssueState], at: datetime, calendar: WorkCalendar
    ) -> list[SupervisionProposal]:
        """Proposals for the flagged issues that are still open."""
        proposals = []
        for state in states:
            if state.issue_id not in self.flagged or not state.status.is_open:
                continue
            meeting = self.flagged_at.get(state.issue_id, self.meeting)
            proposals.append(
                _proposal(
                    state,
                    self.name,
                    at,
                    "flagged red" + (f" at meeting {meeting}" if meeting else ""),
                    [
                        ("meeting", meeting),
                        ("flagged", len(self.flagged)),
                        ("lead", state.lead),
                        ("status", state.status.value),
                    ],
                )
            )
        return proposals


def propose_supervision(
    rules: Iterable[SupervisionRule],
    states: Iterable[IssueState],
    at: datetime,
    calendar: WorkCalendar,
    *,
    orders: Iterable[SupervisionOrderState] = (),
) -> list[SupervisionProposal]:
    """Every rule's proposals at ``at``, sorted by issue then rule.

    An issue that already has an open order from the same rule gets no new proposal
    from it. The order of ``states`` and ``orders`` does not matter.

    Raises:
        ConfigurationError: for two rules with the same name.
        NaiveDatetimeError: for an ``at`` without a time zone.
    """
    aware(at, "the supervision instant")
    rule_list = list(rules)
    names = [r.name for r in rule_list]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"supervision rules need distinct names, got {names}")
    ordered = sorted(states, key=lambda s: s.issue_id)
    running = {(o.issue_id, o.rule) for o in orders if o.is_open}
    out = [
        proposal
        for rule in rule_list
        for proposal in rule.propose(ordered, at, calendar)
        if (proposal.issue_id, proposal.rule) not in running
    ]
    out.sort(key=lambda p: (p.issue_id, p.rule))
    return out


# -- giving, closing and observing orders ----------------------------------------------


class SupervisionContext(NamedTuple):
    """What ordering, closing and recording need besides the proposal.

    Attributes:
        actor: who acts (a supervisor or official of a higher level).
        at: when (aware).
        calendar: the working-day calendar orders' deadlines are counted on.
        access: decides whether the actor may act.
        new_event_id: gives a fresh event id each call.
        department_units: the unit each department belongs to; supervision and
            accountability must come from a strictly higher level than that unit (or
            from the unit's own supervision team). A department missing here is checked
            against the issue's handling unit instead.
    """

    actor: Actor
    at: datetime
    calendar: WorkCalendar
    access: Authorizer
    new_event_id: Callable[[], EventId]
    department_units: Mapping[str, UnitId] = MappingProxyType({})


def _authorize(ctx: SupervisionContext, action: Action, target: Target) -> None:
    require_permission(ctx.access, ctx.actor, action, target, ctx.at)


def _department_target(
    ctx: SupervisionContext, unit: UnitId, category: str | None, department: DepartmentId | None
) -> Target:
    if department is None:
        return Target(unit, category)
    own = ctx.department_units.get(department)
    return Target(own if own is not None else unit, category, department, department_unit=own)


def order_supervision(
    proposal: SupervisionProposal,
    state: IssueState,
    context: SupervisionContext,
    *,
    order_id: str,
    team: str = "",
    limit: TimeLimit | None = None,
    include_co_handlers: bool = False,
) -> list[SupervisionOrdered]:
    """督办: record the order a proposal describes, if the issue still calls for it.

    The order is addressed to the issue's current lead (with its co-handlers when
    ``include_co_handlers``), or to the handling unit when nobody leads the issue. Its
    deadline is ``limit`` (default 3 working days) counted from ``context.at`` on the
    calendar, like an issue's deadline. Each addressee is checked with
    ``Action.SUPERVISE``.

    Raises:
        TransitionError: the issue is no longer open (resolved or closed since the
            proposal), so there is nothing to supervise.
        CommandError: the state is not the proposal's issue, the order id is empty, or
            the decision time is before the proposal.
        PermissionDeniedError: the actor may not supervise an addressee.
    """
    at = aware(context.at, "the decision time")
    if state.issue_id != proposal.issue_id:
        raise CommandError(
            f"proposal for issue {proposal.issue_id!r} given with the state of {state.issue_id!r}"
        )
    if not order_id:
        raise CommandError(f"issue {state.issue_id!r}: a supervision order needs an id")
    if at < proposal.at or at < state.updated_at:
        raise CommandError(
            f"issue {state.issue_id!r}: ordering at {at.isoformat()} is earlier than what it "
            f"rests on; the clock must not go backwards"
        )
    if not state.status.is_open:
        raise TransitionError(
            state.issue_id,
            state.status.value,
            Action.SUPERVISE.value,
            allowed_actions(state.status),
            "only an open issue is supervised",
        )
    departments: tuple[DepartmentId, ...] = ()
    if state.lead is not None:
        departments = (state.lead, *state.co_handlers) if include_co_handlers else (state.lead,)
    for department in departments or (None,):
        _authorize(
            context,
            Action.SUPERVISE,
            _department_target(context, state.unit, state.category, department),
        )
    deadline = due(context.calendar, limit if limit is not None else _ORDER_LIMIT, at)
    return [
        SupervisionOrdered(
            event_id=context.new_event_id(),
            order_id=order_id,
            version=1,
            occurred_at=at,
            actor=context.actor.id,
            issue_id=state.issue_id,
            issue_version=state.version,
            unit=state.unit,
            category=state.category,
            departments=departments,
            team=team,
            rule=proposal.rule,
            reason=proposal.reason,
            facts=proposal.facts,
            due_at=deadline.due_at,
            due_date=deadline.due_date,
            provisional=deadline.provisional,
        )
    ]


_ORDER_LIMIT: Final = TimeLimit.working_days(3)


def move_of(order: SupervisionOrderState, event: IssueEvent) -> CloseReason | None:
    """How ``event`` moves the order's issue, or None when it does not (see the module docs)."""
    if event.issue_id != order.issue_id or event.version <= order.issue_version:
        return None
    kind = type(event)
    if kind is IssueResolved:
        return CloseReason.RESOLVED
    if kind is IssueWithdrawn:
        return CloseReason.WITHDRAWN
    if kind is IssueEscalated:
        return CloseReason.ESCALATED
    if order.departments:
        if isinstance(event, IssueTransferred) and event.to_department not in order.departments:
            return CloseReason.TRANSFERRED
        if isinstance(event, AssignmentReturned) and event.department in order.departments:
            return CloseReason.RETURNED
    elif kind is IssueAssigned:
        return CloseReason.ASSIGNED
    return None


def close_orders(
    orders: Iterable[SupervisionOrderState],
    events: Iterable[IssueEvent],
    *,
    actor: ActorId,
    new_event_id: Callable[[], EventId],
) -> list[SupervisionOrderClosed]:
    """Close every open order whose issue moved in ``events`` (issue events, in log order).

    Each order closes at most once, at the first move after the issue version it was
    based on, at that event's time. Feeding the same events again closes nothing new
    once the closing events are folded into the orders.
    """
    by_issue: dict[IssueId, list[SupervisionOrderState]] = {}
    for order in sorted(orders, key=lambda o: o.order_id):
        if order.is_open:
            by_issue.setdefault(order.issue_id, []).append(order)
    out: list[SupervisionOrderClosed] = []
    for event in events:
        waiting = by_issue.get(event.issue_id)
        if not waiting:
            continue
        still = []
        for order in waiting:
            reason = move_of(order, event)
            if reason is None:
                still.append(order)
                continue
            out.append(
                SupervisionOrderClosed(
                    event_id=new_event_id(),
                    order_id=order.order_id,
                    version=order.version + 1,
                    occurred_at=max(event.occurred_at, order.updated_at or event.occurred_at),
                    actor=actor,
                    issue_id=order.issue_id,
                    reason=reason,
                    trigger_event_id=event.event_id,
                    note=f"{type(event).__name__} (issue version {event.version})",
                )
            )
        by_issue[event.issue_id] = still
    return out


def observe_orders(
    orders: Iterable[SupervisionOrderState],
    at: datetime,
    *,
    actor: ActorId,
    new_event_id: Callable[[], EventId],
) -> list[SupervisionOrderOverdue]:
    """Record, once per order, that an open order is past its own deadline at ``at``."""
    aware(at, "the observation instant")
    return [
        SupervisionOrderOverdue(
            event_id=new_event_id(),
            order_id=order.order_id,
            version=order.version + 1,
            occurred_at=at,
            actor=actor,
            issue_id=order.issue_id,
            due_at=order.due_at,
        )
        for order in sorted(orders, key=lambda o: o.order_id)
        if order.is_overdue(at) and not order.overdue_recorded
    ]


# -- accountability -----------------------------------------------------------------------


class SubjectKind(enum.Enum):
    """Who is held accountable."""

    DEPARTMENT = "department"
    UNIT = "unit"
    PERSON = "person"


class AccountabilityCause(enum.Enum):
    """Why someone is held accountable."""

    PERFUNCTORY = "perfunctory"
    """敷衍应付: going through the motions."""
    BUCK_PASSING = "buck_passing"
    """推诿扯皮: passing the problem back and forth."""
    POOR_EXECUTION = "poor_execution"
    """执行不力: not carrying out what was assigned."""
    BREAKING_RULES = "breaking_rules"
    """不守规: not keeping to the rules."""
    SHIRKING = "shirking"
    """不担当: not taking responsibility."""
    INACTION = "inaction"
    """不作为: not acting."""
    UNFIT = "unfit"
    """不适宜: unfit for the post."""
    UNDISCIPLINED = "undisciplined"
    """不自律: lacking self-discipline."""

    @property
    def chinese(self) -> str:
        """The Chinese term."""
        return _CAUSE_ZH[self]


_CAUSE_ZH: Final = {
    AccountabilityCause.PERFUNCTORY: "敷衍应付",
    AccountabilityCause.BUCK_PASSING: "推诿扯皮",
    AccountabilityCause.POOR_EXECUTION: "执行不力",
    AccountabilityCause.BREAKING_RULES: "不守规",
    AccountabilityCause.SHIRKING: "不担当",
    AccountabilityCause.INACTION: "不作为",
    AccountabilityCause.UNFIT: "不适宜",
    AccountabilityCause.UNDISCIPLINED: "不自律",
}


class AccountabilityOutcome(enum.Enum):
    """What accountability led to, from the mildest."""

    CRITICISM = "criticism"
    """批评教育: criticism and education."""
    ADMONISHMENT = "admonishment"
    """诫勉谈话: an admonishment talk."""
    CIRCULATED_CRITICISM = "circulated_criticism"
    """通报批评: criticism circulated in a notice."""
    ORGANISATIONAL_HANDLING = "organisational_handling"
    """组织处理: organisational measures (removal from post, demotion, ...)."""
    DISCIPLINARY_SANCTION = "disciplinary_sanction"
    """党政纪处分: a Party or administrative disciplinary sanction."""

    @property
    def chinese(self) -> str:
        """The Chinese term."""
        return _OUTCOME_ZH[self]

    @property
    def is_disciplinary_sanction(self) -> bool:
        """Whether this is a Party or administrative disciplinary sanction (党政纪处分)."""
        return self is AccountabilityOutcome.DISCIPLINARY_SANCTION


_OUTCOME_ZH: Final = {
    AccountabilityOutcome.CRITICISM: "批评教育",
    AccountabilityOutcome.ADMONISHMENT: "诫勉谈话",
    AccountabilityOutcome.CIRCULATED_CRITICISM: "通报批评",
    AccountabilityOutcome.ORGANISATIONAL_HANDLING: "组织处理",
    AccountabilityOutcome.DISCIPLINARY_SANCTION: "党政纪处分",
}


@attrs.frozen(kw_only=True)
class AccountabilityRecorded:
    """问责: a record against a department, unit or person, with what triggered it.

    Each record is its own stream (stream id = ``record_id``, version 1).
    """

    KIND: ClassVar[str] = "AccountabilityRecorded"
    """The stable type name written by codecs."""

    event_id: EventId
    record_id: str
    version: int = 1
    occurred_at: datetime
    actor: ActorId
    subject_kind: SubjectKind
    subject: str
    """The department id, unit id or person's id."""
    unit: UnitId
    """The unit the subject belongs to."""
    department: DepartmentId | None = None
    """The department concerned (the subject itself, or a person's department)."""
    cause: AccountabilityCause
    outcome: AccountabilityOutcome
    rule: str
    reason: str
    facts: tuple[Fact, ...] = attrs.field(default=(), converter=_facts)
    issue_ids: tuple[IssueId, ...] = ()
    order_ids: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    """The ids (orders, events, issues) the record rests on."""
    note: str = ""

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: the record."""
        return self.record_id

    def explain(self) -> str:
        """The rule, the reason and every fact, in one line."""
        return _explain(self.rule, self.reason, self.facts)


def _subject_kind(value: Any) -> SubjectKind:
    return member(SubjectKind, value, "subject kind")


def _cause(value: Any) -> AccountabilityCause:
    return member(AccountabilityCause, value, "cause")


def _unit_id(value: str) -> UnitId:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"a unit id is a non-empty string, got {value!r}")
    return UnitId(value)


def _optional_department(value: str | None) -> DepartmentId | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"a department id is a non-empty string, got {value!r}")
    return DepartmentId(value)


def _outcome(value: Any) -> AccountabilityOutcome:
    return member(AccountabilityOutcome, value, "outcome")


@attrs.frozen
class AccountabilityProposal:
    """A record a rule proposes (or a person writes by hand), with its facts.

    Attributes:
        subject_kind, subject: who (a department id, unit id or person's id).
        unit: the unit the subject belongs to (authorization is checked against it).
        department: the department concerned, if any.
        cause, outcome: why, and the proposed outcome.
        rule: the proposing rule's name (``"manual"`` for a hand-written one).
        reason, facts: the explanation.
        issue_ids, order_ids: the issues and orders involved.
        evidence: the ids the proposal rests on; a later proposal with nothing new is
            not made again (see :func:`propose_accountability`).
    """

    subject_kind: SubjectKind = attrs.field(converter=_subject_kind)
    subject: str = attrs.field(validator=_name)
    unit: UnitId = attrs.field(converter=_unit_id)
    department: DepartmentId | None = attrs.field(converter=_optional_department)
    cause: AccountabilityCause = attrs.field(converter=_cause)
    outcome: AccountabilityOutcome = attrs.field(converter=_outcome)
    rule: str = attrs.field(validator=_name)
    reason: str
    facts: tuple[Fact, ...] = attrs.field(default=(), converter=_facts)
    issue_ids: tuple[IssueId, ...] = attrs.field(default=(), converter=_ids)
    order_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    evidence: tuple[str, ...] = attrs.field(default=(), converter=_ids)

    def explain(self) -> str:
        """Who, why and every fact, in one line."""
        return f"{self.subject_kind.value} {self.subject}: " + _explain(
            self.rule, f"{self.cause.chinese} ({self.cause.value}); {self.reason}", self.facts
        )


class Evidence(NamedTuple):
    """What accountability rules read.

    Attributes:
        at: the instant the rules are applied.
        orders: supervision orders, as folded states.
        issue_events: issue events in log order (up to ``at``).
        department_units: the unit each department belongs to (for the record's unit).
    """

    at: datetime
    orders: Sequence[SupervisionOrderState] = ()
    issue_events: Sequence[IssueEvent] = ()
    department_units: Mapping[str, UnitId] = MappingProxyType({})


class AccountabilityRule(Protocol):
    """A rule that proposes accountability records from the evidence."""

    @property
    def name(self) -> str:
        """The rule's name, recorded with each record."""
        ...

    def propose(self, evidence: Evidence) -> list[AccountabilityProposal]:
        """Proposals from ``evidence``."""
        ...


@attrs.frozen
class UnmetOrdersRule:
    """Hold a department (or unit) accountable for at least n unmet supervision orders.

    An order counts when, at the evidence's instant, its own deadline has passed and it
    had not closed by then (:meth:`SupervisionOrderState.unmet_at`). Every addressee of
    the order counts it. Cause: 执行不力 by default.
    """

    min_orders: int = attrs.field(default=2, validator=whole_at_least(1))
    cause: AccountabilityCause = attrs.field(
        default=AccountabilityCause.POOR_EXECUTION, converter=_cause
    )
    outcome: AccountabilityOutcome = attrs.field(
        default=AccountabilityOutcome.CIRCULATED_CRITICISM, converter=_outcome
    )
    name: str = attrs.field(default="unmet_orders", validator=_name)

    def propose(self, evidence: Evidence) -> list[AccountabilityProposal]:
        """One proposal per addressee with at least ``min_orders`` unmet orders."""
        unmet: dict[tuple[bool, str], list[SupervisionOrderState]] = {}
        for order in sorted(evidence.orders, key=lambda o: o.order_id):
            if order.unmet_at(evidence.at):
                for addressee in order.addressees:
                    unmet.setdefault((bool(order.departments), addressee), []).append(order)
        out = []
        for (is_department, who), orders in sorted(unmet.items()):
            if len(orders) < self.min_orders:
                continue
            unit = evidence.department_units.get(who) if is_department else UnitId(who)
            out.append(
                AccountabilityProposal(
                    SubjectKind.DEPARTMENT if is_department else SubjectKind.UNIT,
                    who,
                    unit if unit is not None else orders[0].unit,
                    DepartmentId(who) if is_department else None,
                    self.cause,
                    self.outcome,
                    self.name,
                    f"{len(orders)} supervision order(s) unmet past their deadline "
                    f"(threshold {self.min_orders})",
                    [("unmet_orders", len(orders))]
                    + [
                        (f"order {o.order_id}", f"issue {o.issue_id}, due {o.due_date.isoformat()}")
                        for o in orders
                    ],
                    issue_ids=sorted({o.issue_id for o in orders}),
                    order_ids=[o.order_id for o in orders],
                    evidence=[o.order_id for o in orders],
                )
            )
        return out


def handling_records(events: Iterable[IssueEvent | Recorded]) -> list[HandlingRecord]:
    """The departments' parts in each issue, derived from issue events (for buck-passing).

    Assignment and reopening make the lead (and co-handlers) records; a return is a
    RETURNED record (to the assigner); a transfer is a TRANSFERRED record to the new lead,
    followed by the new co-handlers. ``events`` may be a store's ``read_all()`` pairs.
    """
    out: list[HandlingRecord] = []
    for item in events:
        event: object = item.event if isinstance(item, Recorded) else item
        kind = type(event)
        if kind is IssueAssigned or kind is IssueReopened:
            assert isinstance(event, IssueAssigned | IssueReopened)
            out.append(
                HandlingRecord(event.issue_id, event.lead, HandlingRole.LEAD, event.occurred_at)
            )
            if isinstance(event, IssueAssigned):
                out += [
                    HandlingRecord(event.issue_id, d, HandlingRole.CO_HANDLER, event.occurred_at)
                    for d in event.co_handlers
                ]
        elif isinstance(event, AssignmentReturned):
            out.append(
                HandlingRecord(
                    event.issue_id, event.department, HandlingRole.RETURNED, event.occurred_at
                )
            )
        elif isinstance(event, IssueTransferred):
            out.append(
                HandlingRecord(
                    event.issue_id,
                    event.from_department,
                    HandlingRole.TRANSFERRED,
                    event.occurred_at,
                    event.to_department,
                )
            )
            out += [
                HandlingRecord(event.issue_id, d, HandlingRole.CO_HANDLER, event.occurred_at)
                for d in event.co_handlers
            ]
    return out


@attrs.frozen
class BuckPassingRule:
    """Hold departments accountable for passing issues back and forth (推诿扯皮).

    Over the handovers (returns and transfers) that
    :func:`closedloop.departments.buck_passing` finds between two departments, a pair
    with at least ``min_handovers`` in total makes a proposal against each department
    of the pair that handed an issue over at least once.
    """

    min_handovers: int = attrs.field(default=3, validator=whole_at_least(1))
    outcome: AccountabilityOutcome = attrs.field(
        default=AccountabilityOutcome.CIRCULATED_CRITICISM, converter=_outcome
    )
    name: str = attrs.field(default="buck_passing", validator=_name)

    def propose(self, evidence: Evidence) -> list[AccountabilityProposal]:
        """Proposals for the departments of every pair over the threshold."""
        out = []
        events = [e for e in evidence.issue_events if e.occurred_at <= evidence.at]
        units = _handling_units(events)
        for pair in buck_passing(handling_records(events)):
            if pair.total < self.min_handovers:
                continue
            facts: list[tuple[str, object]] = [
                ("pair", f"{pair.a} <-> {pair.b}"),
                (
                    f"{pair.a} -> {pair.b}",
                    f"{pair.returns_a_to_b} returns, {pair.transfers_a_to_b} transfers",
                ),
                (
                    f"{pair.b} -> {pair.a}",
                    f"{pair.returns_b_to_a} returns, {pair.transfers_b_to_a} transfers",
                ),
                ("issues", " ".join(pair.issues)),
            ]
            for who, passed in ((pair.a, pair.a_to_b), (pair.b, pair.b_to_a)):
                if passed == 0:
                    continue
                unit = evidence.department_units.get(who, units[pair.issues[0]])
                out.append(
                    AccountabilityProposal(
                        SubjectKind.DEPARTMENT,
                        who,
                        unit,
                        who,
                        AccountabilityCause.BUCK_PASSING,
                        self.outcome,
                        self.name,
                        f"{pair.total} handover(s) between {pair.a} and {pair.b}, {passed} by "
                        f"{who} (threshold {self.min_handovers})",
                        facts,
                        issue_ids=pair.issues,
                        evidence=[f"{pair.a}|{pair.b}|{i}" for i in pair.issues],
                    )
                )
        out.sort(key=lambda p: (p.subject, p.evidence))
        return out


def _handling_units(events: Iterable[IssueEvent]) -> dict[IssueId, UnitId]:
    """The unit handling each issue after ``events`` (registration, then escalations)."""
    units: dict[IssueId, UnitId] = {}
    for event in events:
        if isinstance(event, IssueRegistered):
            units[event.issue_id] = event.unit
        elif isinstance(event, IssueEscalated):
            units[event.issue_id] = event.to_unit
    return units


@attrs.frozen
class RepeatedReopenRule:
    """Hold a department accountable when its resolutions are rejected again and again.

    A resolution is *rejected* when the issue is reopened (重办) after it. A department
    with at least ``min_rejected`` rejected resolutions, over all issues, gets a
    proposal: cause 敷衍应付 (perfunctory work) by default.
    """

    min_rejected: int = attrs.field(default=2, validator=whole_at_least(1))
    cause: AccountabilityCause = attrs.field(
        default=AccountabilityCause.PERFUNCTORY, converter=_cause
    )
    outcome: AccountabilityOutcome = attrs.field(
        default=AccountabilityOutcome.ADMONISHMENT, converter=_outcome
    )
    name: str = attrs.field(default="repeated_reopen", validator=_name)

    def propose(self, evidence: Evidence) -> list[AccountabilityProposal]:
        """One proposal per department over the threshold."""
        last_resolution: dict[IssueId, IssueResolved] = {}
        rejected: dict[DepartmentId, list[IssueResolved]] = {}
        events = [e for e in evidence.issue_events if e.occurred_at <= evidence.at]
        units = _handling_units(events)
        for event in events:
            if isinstance(event, IssueResolved):
                last_resolution[event.issue_id] = event
            elif isinstance(event, IssueReopened):
                resolution = last_resolution.pop(event.issue_id, None)
                if resolution is not None:
                    rejected.setdefault(resolution.department, []).append(resolution)
        out = []
        for department, resolutions in sorted(rejected.items()):
            if len(resolutions) < self.min_rejected:
                continue
            unit = evidence.department_units.get(department, units[resolutions[0].issue_id])
            out.append(
                AccountabilityProposal(
                    SubjectKind.DEPARTMENT,
                    department,
                    unit,
                    department,
                    self.cause,
                    self.outcome,
                    self.name,
                    f"{len(resolutions)} resolution(s) rejected by evaluation and reopened "
                    f"(threshold {self.min_rejected})",
                    [("rejected_resolutions", len(resolutions))]
                    + [
                        (
                            f"resolution {r.event_id}",
                            f"issue {r.issue_id} at {r.occurred_at.isoformat()}",
                        )
                        for r in resolutions
                    ],
                    issue_ids=sorted({r.issue_id for r in resolutions}),
                    evidence=[r.event_id for r in resolutions],
                )
            )
        return out


def propose_accountability(
    rules: Iterable[AccountabilityRule],
    evidence: Evidence,
    *,
    existing: Iterable[AccountabilityRecorded] = (),
) -> list[AccountabilityProposal]:
    """Every rule's proposals, minus those already recorded, sorted by rule then subject.

    A proposal is left out when a record of the same rule against the same subject
    already rests on all of its evidence (nothing new happened since).

    Raises:
        ConfigurationError: for two rules with the same name.
    """
    aware(evidence.at, "the evidence instant")
    rule_list = list(rules)
    names = [r.name for r in rule_list]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"accountability rules need distinct names, got {names}")
    seen: dict[tuple[str, SubjectKind, str], set[str]] = {}
    for record in existing:
        seen.setdefault((record.rule, record.subject_kind, record.subject), set()).update(
            record.evidence
        )
    out = []
    for rule in rule_list:
        for proposal in rule.propose(evidence):
            covered = seen.get((proposal.rule, proposal.subject_kind, proposal.subject), set())
            if proposal.evidence and set(proposal.evidence) <= covered:
                continue
            out.append(proposal)
    out.sort(key=lambda p: (p.rule, p.subject_kind.value, p.subject))
    return out


def record_accountability(
    proposal: AccountabilityProposal,
    context: SupervisionContext,
    *,
    record_id: str,
    outcome: AccountabilityOutcome | str | None = None,
    note: str = "",
) -> list[AccountabilityRecorded]:
    """问责: record a proposal (its outcome may be decided otherwise by the recorder).

    Checked with ``Action.HOLD_ACCOUNTABLE`` against the subject's unit: only a strictly
    higher level (or the department's own unit's supervision) may hold it accountable.

    Raises:
        CommandError: for an empty record id.
        PermissionDeniedError: the actor may not hold the subject accountable.
    """
    at = aware(context.at, "the decision time")
    if not record_id:
        raise CommandError("an accountability record needs an id")
    chosen = proposal.outcome if outcome is None else _outcome(outcome)
    if proposal.department is not None:
        target = Target(proposal.unit, None, proposal.department, department_unit=proposal.unit)
    else:
        target = Target(proposal.unit)
    _authorize(context, Action.HOLD_ACCOUNTABLE, target)
    return [
        AccountabilityRecorded(
            event_id=context.new_event_id(),
            record_id=record_id,
            occurred_at=at,
            actor=context.actor.id,
            subject_kind=proposal.subject_kind,
            subject=proposal.subject,
            unit=proposal.unit,
            department=proposal.department,
            cause=proposal.cause,
            outcome=chosen,
            rule=proposal.rule,
            reason=proposal.reason,
            facts=proposal.facts,
            issue_ids=proposal.issue_ids,
            order_ids=proposal.order_ids,
            evidence=proposal.evidence,
            note=note,
        )
    ]
