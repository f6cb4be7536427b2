"""The application service: commands in, events stored, queries answered.

:class:`ClosedLoop` is the entry point embedders use (and the simulation drives). It is
opened with an event store, the administrative hierarchy, departments and their
routing, a deadline policy, a calendar, access rules and a clock::

    loop = ClosedLoop.open("issues.db", hierarchy=yiwu_hierarchy(), clock=SystemClock())
    events = loop.register(officer, unit="330782100000", category="land_certificate",
                           difficulty="difficult", title="...")
    loop.assign(officer, events[0].issue_id)          # lead from the responsibility matrix

Each command is decided against the current state (``decide``), appended to the store
with the version it was decided on (optimistic concurrency: a concurrent writer makes
the append fail with :class:`~closedloop.ConcurrencyError` and nothing is written), and
folded into the in-memory projection that answers queries. Reopening the store later
rebuilds the projection from the log.

The service also keeps supervision orders (督办) in step with their issues (unless
opened with ``supervision=False``): it knows the open orders (from the log, whoever wrote them),
proposes and gives orders, closes an order in the same atomic append as the issue
event that moves its issue, and records orders that run past their own deadline.

The service is the only place that reads a clock or makes ids; the domain below it
takes both as arguments.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pendulum

from closedloop._checks import aware, member
from closedloop.access import (
    Action,
    Actor,
    ActorKind,
    Authorizer,
    Target,
    Unrestricted,
    require_permission,
)
from closedloop.china import china_calendar
from closedloop.deadlines import (
    DeadlinePolicy,
    Difficulty,
    TimeLimit,
    WarningLevel,
    WarningThresholds,
)
from closedloop.errors import (
    CommandError,
    ConfigurationError,
    IssueNotFoundError,
    PermissionDeniedError,
    UnknownActorError,
)
from closedloop.ids import ActorId, EventId, IssueId, MeetingId, UnitId
from closedloop.lifecycle.commands import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    Context,
    EscalateIssue,
    EvaluateResolution,
    ExtendDeadline,
    ObserveDeadline,
    RegisterIssue,
    ReopenIssue,
    ResolveIssue,
    ResumeIssue,
    ReturnAssignment,
    SuspendIssue,
    TransferIssue,
    WithdrawIssue,
    decide,
)
from closedloop.lifecycle.events import EvaluatorKind, IssueEvent, WithdrawalReason
from closedloop.lifecycle.state import IssueState, evolve
from closedloop.meetings import (
    AgendaNeed,
    DecisionKind,
    DemandItem,
    DemandList,
    MeetingCancelled,
    MeetingContext,
    MeetingDecision,
    MeetingEvent,
    MeetingHeld,
    MeetingScheduled,
    MeetingState,
    MeetingStatus,
    compile_demand_list,
    decisions_as_planned,
    evolve_meeting,
    plan_attendees,
)
from closedloop.meetings import cancel_meeting as decide_cancellation
from closedloop.meetings import hold_meeting as decide_meeting
from closedloop.meetings import schedule_meeting as decide_schedule
from closedloop.metrics import Metrics, compute_metrics
from closedloop.store.base import AppendResult, Batch, EventStore, ExpectedVersion
from closedloop.store.memory import MemoryEventStore
from closedloop.store.projections import IssueProjection, OverdueIssue
from closedloop.supervision import (
    SupervisionContext,
    SupervisionEvent,
    SupervisionOrderClosed,
    SupervisionOrdered,
    SupervisionOrderState,
    SupervisionProposal,
    SupervisionRule,
    close_orders,
    evolve_order,
    move_of,
)
from closedloop.supervision import observe_orders as decide_orders_overdue
from closedloop.supervision import order_supervision as decide_order
from closedloop.supervision import propose_supervision as proposals_for
from closedloop.workdays import WorkCalendar

if TYPE_CHECKING:
    from closedloop.departments import Departments, ResponsibilityMatrix, Route, Router
    from closedloop.hierarchy import Hierarchy


__all__ = ["SYSTEM_ACTOR", "Clock", "ClosedLoop", "FixedClock", "SystemClock", "TimeOrderedIds"]


class Clock(Protocol):
    """Where the service gets "now" from."""

    def now(self) -> datetime:
        """The current instant (aware)."""
        ...


def _with_hint(error: PermissionDeniedError, hint: str) -> PermissionDeniedError:
    """The same refusal, with what to do about it."""
    return PermissionDeniedError(error.actor, error.action, f"{error.reason}; {hint}")


class SystemClock:
    """The machine's clock, in a time zone (Asia/Shanghai by default)."""

    __slots__ = ("_zone",)

    def __init__(self, zone: str = "Asia/Shanghai") -> None:
        try:
            self._zone: tzinfo = pendulum.timezone(zone)
        except Exception:
            raise ConfigurationError(
                f"unknown time zone {zone!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from None

    def now(self) -> datetime:
        """The current instant."""
        return datetime.now(self._zone)


class FixedClock:
    """A clock that says what it is told: for tests, replays and simulation.

    It never goes backwards: :meth:`set` to an earlier instant raises.
    """

    __slots__ = ("_at",)

    def __init__(self, at: datetime) -> None:
        self._at = aware(at, "FixedClock")

    def now(self) -> datetime:
        """The instant the clock was set to."""
        return self._at

    def set(self, at: datetime) -> None:
        """Move the clock to ``at`` (not backwards)."""
        at = aware(at, "FixedClock")
        if at < self._at:
            raise ConfigurationError(
                f"the clock must not go backwards: {at.isoformat()} < {self._at.isoformat()}"
            )
        self._at = at

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by ``delta`` and return the new instant."""
        self.set(self._at + delta)
        return self._at


SYSTEM_ACTOR = Actor(ActorId("system"), ActorKind.SYSTEM, name="the information system")
"""The actor that records observed facts such as missed deadlines (see
:meth:`ClosedLoop.observe`)."""

ActorLike = Actor | str


class ClosedLoop:
    """The application service that embedders and the simulation use.

    Args:
        hierarchy: the administrative tree.
        store: where events go (default: a fresh in-memory store).
        departments: the department registry; when given, department ids in commands
            are checked against it.
        matrix: the responsibility matrix; with ``departments`` it lets ``assign`` pick
            the lead and co-handlers when none are given.
        policy: the deadline policy in force (default: Yiwu's).
        calendar: the working-day calendar (default: China's official calendar).
        clock: where "now" comes from (default: the system clock in Asia/Shanghai).
        access: who may do what (default: :class:`~closedloop.access.Unrestricted`,
            for exploration; pass an :class:`~closedloop.AccessPolicy` in production).
        warnings: thresholds for warning levels in ``overdue``.
        new_id: makes event and issue ids (default: :class:`TimeOrderedIds`, UUIDv7).
        supervision: keep supervision orders (督办) in step with their issues (see
            :meth:`order_supervision`): the open orders are folded from the log, and
            every append of issue events also closes, in the same atomic append, the
            open orders those events settle. On by default; an application that
            closes orders itself must pass ``False``, or both would close the same
            order and the second append would fail with
            :class:`~closedloop.ConcurrencyError`.
    """

    def __init__(
        self,
        *,
        hierarchy: Hierarchy,
        store: EventStore | None = None,
        departments: Departments | None = None,
        matrix: ResponsibilityMatrix | None = None,
        policy: DeadlinePolicy | None = None,
        calendar: WorkCalendar | None = None,
        clock: Clock | None = None,
        access: Authorizer | None = None,
        warnings: WarningThresholds | None = None,
        new_id: Callable[[], str] | None = None,
        supervision: bool = True,
    ) -> None:
        if not isinstance(supervision, bool):
            raise ConfigurationError(f"supervision must be True or False, got {supervision!r}")
        self.hierarchy = hierarchy
        self.store: EventStore = store if store is not None else MemoryEventStore()
        self.departments = departments
        self.policy = policy if policy is not None else DeadlinePolicy.yiwu()
        self.calendar = calendar if calendar is not None else china_calendar()
        self.clock: Clock = clock if clock is not None else SystemClock()
        self.access: Authorizer = access if access is not None else Unrestricted(hierarchy)
        self.warnings = warnings if warnings is not None else self.policy.warnings
        self._new_id = new_id if new_id is not None else TimeOrderedIds()
        self.router: Router | None = None
        if matrix is not None:
            if departments is None:
                raise ConfigurationError("a responsibility matrix needs the departments")
            from closedloop.departments import Router

            self.router = Router(matrix, hierarchy, departments)
        self._actors: dict[str, Actor] = {}
        self._staff_by_department: dict[str, Actor] | None = None
        actors = getattr(self.access, "actors", None)
        if actors is not None:
            self._actors.update(actors)
        self._projection = IssueProjection()
        self._open_agendas: dict[MeetingId, tuple[IssueId, ...]] = {}
        """The agendas of meetings scheduled and not yet held or cancelled, by meeting."""
        self._supervision = supervision
        self._open_orders: dict[str, dict[str, SupervisionOrderState]] = {}
        """The open supervision orders by issue id, then order id (with ``supervision``)."""
        self._order_issues: dict[str, str] = {}
        """The issue of each open order, by order id."""
        self._settled: dict[str, IssueEvent] = {}
        """Open orders whose issue moved in an event stored without closing them (another
        writer's, or a race with one), with that event: they close with the next append
        to their issue or the next :meth:`observe_orders`."""
        self._catch_up()

    @classmethod
    def open(cls, path: str | Path, *, synchronous: str = "FULL", **options: Any) -> ClosedLoop:
        """A service on a SQLite event store at ``path`` (created if missing).

        The projection is rebuilt from the stored log, so a restarted process sees every
        issue as it was.
        """
        from closedloop.store.sqlite import SQLiteEventStore

        return cls(store=SQLiteEventStore(str(path), synchronous=synchronous), **options)

    def close(self) -> None:
        """Close the event store."""
        self.store.close()

    def __enter__(self) -> ClosedLoop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------

    def _catch_up(self) -> None:
        """Fold events other writers appended since the projection last looked."""
        projection = self._projection
        if self.store.last_position() == projection.position:
            return
        note_order = self._note_order if self._supervision else None
        for recorded in self.store.read_all(after_position=projection.position):
            event = recorded.event
            projection.apply(event, recorded.position)
            self._note_meeting(event)
            if note_order is not None:
                note_order(event)

    def _note_stored(self, events: Iterable[object]) -> None:
        """Keep the open meetings and orders up to our own stored non-issue events."""
        for event in events:
            self._note_meeting(event)
            if self._supervision:
                self._note_order(event)

    def _note_meeting(self, event: object) -> None:
        """Keep :attr:`_open_agendas` up to a stored event (other events change nothing)."""
        if isinstance(event, MeetingScheduled):
            self._open_agendas[event.meeting_id] = event.agenda
        elif isinstance(event, MeetingHeld | MeetingCancelled):
            self._open_agendas.pop(event.meeting_id, None)

    def _note_order(self, event: object) -> None:
        """Keep the open orders up to a stored event (with ``supervision``).

        An order event is folded into its order (a closed order is dropped); an issue
        event that moves an open order's issue marks the order settled, for a closing
        that was not stored with it.
        """
        if isinstance(event, IssueEvent):
            orders = self._open_orders.get(event.issue_id)
            if orders:
                for order in orders.values():
                    if order.order_id not in self._settled and move_of(order, event):
                        self._settled[order.order_id] = event
            return
        if not isinstance(event, SupervisionEvent):
            return
        if isinstance(event, SupervisionOrdered):
            state = evolve_order(None, event)
            self._settle_late(state)
        else:
            issue_id = self._order_issues.get(event.order_id)
            if issue_id is None:  # closed already, or ordered before what was read
                return
            state = evolve_order(self._open_orders[issue_id][event.order_id], event)
        if state.is_open:
            self._open_orders.setdefault(state.issue_id, {})[state.order_id] = state
            self._order_issues[state.order_id] = state.issue_id
            return
        orders = self._open_orders.get(state.issue_id)
        if orders is not None:
            orders.pop(state.order_id, None)
            if not orders:
                del self._open_orders[state.issue_id]
        self._order_issues.pop(state.order_id, None)
        self._settled.pop(state.order_id, None)

    def _settle_late(self, order: SupervisionOrderState) -> None:
        """Mark an order settled if its issue moved after the version it was decided on
        but before the order was stored (an order recorded late): the issue's events in
        between are the ones :meth:`_note_order` did not see with the order open."""
        issue = self._projection.get(order.issue_id)
        if issue is None or issue.version <= order.issue_version:
            return
        for event in self.store.read_stream(order.issue_id, after_version=order.issue_version):
            if event.version > issue.version:
                break
            if isinstance(event, IssueEvent) and move_of(order, event):
                self._settled[order.order_id] = event
                return

    def _closings(
        self, events: Sequence[IssueEvent]
    ) -> tuple[list[Batch], list[SupervisionOrderClosed]]:
        """The batches closing the open orders that ``events`` (about to be stored) settle.

        Orders of those issues already settled by a stored event close too. Each
        batch expects the order's current version, so an order closed meanwhile by
        another writer makes the whole append fail.
        """
        orders = [
            order
            for issue_id in dict.fromkeys(event.issue_id for event in events)
            for order in self._open_orders.get(issue_id, {}).values()
        ]
        running, closings = self._split_settled(orders)
        if running:
            closings += self._close(running, events)
        return [(c.order_id, [c], c.version - 1) for c in closings], closings

    def _split_settled(
        self, orders: Iterable[SupervisionOrderState]
    ) -> tuple[list[SupervisionOrderState], list[SupervisionOrderClosed]]:
        """The orders still running, and the closings of those a stored move settled."""
        running: list[SupervisionOrderState] = []
        closings: list[SupervisionOrderClosed] = []
        for order in orders:
            trigger = self._settled.get(order.order_id)
            if trigger is None:
                running.append(order)
            else:
                closings += self._close([order], [trigger])
        return running, closings

    def _close(
        self, orders: Sequence[SupervisionOrderState], events: Sequence[IssueEvent]
    ) -> list[SupervisionOrderClosed]:
        return close_orders(orders, events, actor=SYSTEM_ACTOR.id, new_event_id=self._event_id)

    def _observer(self, actor: ActorLike) -> Actor:
        """The observing actor: SYSTEM_ACTOR as registered with the service, if it is."""
        observer = self._actor(actor)
        if observer is SYSTEM_ACTOR:
            observer = self._actors.get(SYSTEM_ACTOR.id, SYSTEM_ACTOR)
        return observer

    @staticmethod
    def _observer_refused(observer: Actor, error: PermissionDeniedError) -> PermissionDeniedError:
        """The refusal to raise: the system observer's says which grant it lacks."""
        if observer.kind is not ActorKind.SYSTEM:
            return error
        return _with_hint(
            error,
            "grant the observer OBSERVE over the hierarchy, e.g. "
            "AccessPolicy.standard_grants(SYSTEM_ACTOR, scope_unit=<root unit>)",
        )

    def _require_supervision(self, what: str) -> None:
        if not self._supervision:
            raise ConfigurationError(
                f"{what} needs the service to keep supervision orders: open it with "
                "supervision=True"
            )

    def add_actors(self, *actors: Actor) -> None:
        """Make actors known by id, so commands can name them by their id."""
        for actor in actors:
            self._actors[actor.id] = actor
        self._staff_by_department = None

    def _actor(self, actor: ActorLike) -> Actor:
        if isinstance(actor, Actor):
            return actor
        try:
            return self._actors[actor]
        except KeyError:
            raise UnknownActorError(
                f"no actor with id {actor!r}; pass an Actor or register it with add_actors"
            ) from None

    def _context(self, actor: Actor, at: datetime) -> Context:
        return Context(
            actor,
            at,
            self.calendar,
            self.policy,
            self.hierarchy,
            self.access,
            self._event_id,
            self.departments,
        )

    def _event_id(self) -> EventId:
        return EventId(self._new_id())

    def execute(
        self, command: Command, actor: ActorLike, *, at: datetime | None = None
    ) -> list[IssueEvent]:
        """Decide ``command`` for ``actor`` now, store the events, and return them.

        ``at`` overrides the clock for this command (it must not be earlier than the
        issue's last event). With ``supervision``, the open orders about the issue that
        the events settle are closed in the same atomic append (see
        :meth:`order_supervision`).

        Raises:
            IssueNotFoundError: no such issue (for any command but registration).
            TransitionError, CommandError, PermissionDeniedError: the decider refuses
                the command; nothing is stored.
            ConcurrencyError: another writer changed the issue, or one of its orders,
                since the service read it; nothing is stored.
        """
        who = self._actor(actor)
        when = at if at is not None else self.clock.now()
        self._catch_up()
        state = self._projection.get(command.issue_id)
        if state is None and not isinstance(command, RegisterIssue):
            raise IssueNotFoundError(
                f"no issue with id {command.issue_id!r} to {command.ACTION.value}; "
                "register it first"
            )
        events = decide(command, state, self._context(who, when))
        if not events:
            return events
        new_state = state
        for event in events:
            new_state = evolve(new_state, event)
        expected: int | ExpectedVersion = (
            state.version if state is not None else ExpectedVersion.NO_STREAM
        )
        assert new_state is not None
        if command.issue_id in self._open_orders:
            orders, closings = self._closings(events)
            if orders:
                results = self.store.append_many([(command.issue_id, events, expected), *orders])
                self._after_append_many(results, {command.issue_id: new_state}, closings)
                return events
        result = self.store.append(command.issue_id, events, expected_version=expected)
        self._after_append(result, new_state)
        return events

    def _after_append(
        self, result: AppendResult, state: IssueState | None, events: Sequence[object] = ()
    ) -> None:
        """Bring the projection up to the append, without reading back our own events.

        ``events`` are the events appended to a stream other than an issue's (a
        meeting's, an order's), for the open meetings' agendas and the open orders.
        """
        projection = self._projection
        if result.first_position == projection.position + 1:
            if state is not None:
                projection.put(state, result.last_position)
            else:
                projection.skip_to(result.last_position)
            self._note_stored(events)
        else:
            self._catch_up()

    def _after_append_many(
        self,
        results: Sequence[AppendResult],
        states: Mapping[str, IssueState | None],
        events: Sequence[object] = (),
    ) -> None:
        """Bring the projection up to one multi-stream append, like :meth:`_after_append`.

        ``states`` holds the issues' states after the append, by stream id; other
        streams (a meeting's, orders') hold nothing for the projection; their
        ``events`` update the open meetings' agendas and the open orders.
        """
        written = [r for r in results if r.last_position]
        if not written:
            return
        projection = self._projection
        contiguous = written[0].first_position == projection.position + 1 and all(
            after.first_position == before.last_position + 1 for before, after in pairwise(written)
        )
        if not contiguous:
            self._catch_up()
            return
        for result in written:
            state = states.get(result.stream_id)
            if state is not None:
                projection.put(state)
        projection.skip_to(written[-1].last_position)
        self._note_stored(events)

    def record(self, events: Sequence[Any], *, expected_version: int | None = None) -> None:
        """Append events of another aggregate (a meeting, an order, a visit) to the log.

        The events must belong to one stream and be decided already (by the meetings,
        supervision or task-force deciders). ``expected_version`` defaults to the
        version before the first event, so a concurrent writer makes the append fail.

        With ``supervision``, orders recorded here are known to the service like its
        own, and it closes them when their issue moves: do not close them by hand.

        Raises:
            ConfigurationError: for an issue's events, which only :meth:`execute` (and
                the commands built on it) stores, after deciding them.
        """
        if not events:
            return
        if any(isinstance(event, IssueEvent) for event in events):
            raise ConfigurationError(
                "record() stores the events of meetings, orders, visits and the like; an "
                "issue's events are decided and stored by execute() and the command methods"
            )
        stream = events[0].stream_id
        expected = events[0].version - 1 if expected_version is None else expected_version
        self._catch_up()
        result = self.store.append(
            stream,
            events,
            expected_version=expected if expected > 0 else ExpectedVersion.NO_STREAM,
        )
        self._after_append(result, None, events)

    # -- commands ---------------------------------------------------------------------

    def register(
        self,
        actor: ActorLike,
        *,
        unit: str,
        category: str,
        difficulty: Difficulty | str,
        title: str,
        description: str = "",
        reporter: str | None = None,
        issue_id: str | None = None,
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """登记: register a problem at ``unit``; the issue id is made up unless given."""
        command = RegisterIssue(
            issue_id if issue_id is not None else self._new_id(),
            unit,
            category,
            difficulty,
            title,
            description,
            reporter,
        )
        return self.execute(command, actor, at=at)

    def escalate(
        self, actor: ActorLike, issue_id: str, *, reason: str = "", at: datetime | None = None
    ) -> list[IssueEvent]:
        """Send the issue to the parent of its handling unit."""
        return self.execute(EscalateIssue(issue_id, reason), actor, at=at)

    def route(self, issue_id: str, *, at: datetime | None = None) -> Route:
        """The lead and co-handlers the responsibility matrix gives for the issue now."""
        if self.router is None:
            raise ConfigurationError(
                "routing needs a responsibility matrix and departments; pass matrix= and "
                "departments= when opening the service, or name the lead department"
            )
        state = self.issue(issue_id)
        return self.router.route(
            state.category, state.unit, at if at is not None else self.clock.now()
        )

    def assign(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        lead: str | None = None,
        co_handlers: Sequence[str] | None = None,
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """交办: assign to ``lead`` (default: the route from the responsibility matrix)."""
        when = at if at is not None else self.clock.now()
        if lead is None:
            route = self.route(issue_id, at=when)
            lead = route.lead.id
            if co_handlers is None:
                co_handlers = [d.id for d in route.co_handlers]
        command = AssignIssue(issue_id, lead, () if co_handlers is None else co_handlers)
        return self.execute(command, actor, at=when)

    def accept(
        self, actor: ActorLike, issue_id: str, *, at: datetime | None = None
    ) -> list[IssueEvent]:
        """签收: the lead department accepts the assignment."""
        return self.execute(AcceptAssignment(issue_id), actor, at=at)

    def return_assignment(
        self, actor: ActorLike, issue_id: str, *, reason: str, at: datetime | None = None
    ) -> list[IssueEvent]:
        """退回: the lead department returns a misrouted assignment."""
        return self.execute(ReturnAssignment(issue_id, reason), actor, at=at)

    def transfer(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        to: str,
        co_handlers: Sequence[str] = (),
        reason: str = "",
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """转办: move the lead to department ``to``."""
        command = TransferIssue(issue_id, to, co_handlers, reason)
        return self.execute(command, actor, at=at)

    def suspend(
        self, actor: ActorLike, issue_id: str, *, reason: str = "", at: datetime | None = None
    ) -> list[IssueEvent]:
        """挂起: stop handling and the deadline clock."""
        return self.execute(SuspendIssue(issue_id, reason), actor, at=at)

    def resume(
        self, actor: ActorLike, issue_id: str, *, at: datetime | None = None
    ) -> list[IssueEvent]:
        """恢复: resume handling; the deadline moves by the working time paused."""
        return self.execute(ResumeIssue(issue_id), actor, at=at)

    def extend(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        amount: int,
        reason: str = "",
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """延期: approve an extension of ``amount`` units of the limit."""
        return self.execute(ExtendDeadline(issue_id, amount, reason), actor, at=at)

    def resolve(
        self, actor: ActorLike, issue_id: str, *, summary: str = "", at: datetime | None = None
    ) -> list[IssueEvent]:
        """办结: the lead department reports the problem solved."""
        return self.execute(ResolveIssue(issue_id, summary), actor, at=at)

    def evaluate(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        satisfied: bool,
        evaluator_kind: EvaluatorKind | str | None = None,
        score: float | None = None,
        comment: str = "",
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """评价: judge the resolution (never by the resolver).

        ``evaluator_kind`` says whose judgement it is; by default the actor's own
        (reporter, third party, experience officer). Other actors record a judgement on
        someone's behalf and must name its kind.
        """
        command = EvaluateResolution(issue_id, evaluator_kind, satisfied, score, comment)
        return self.execute(command, actor, at=at)

    def reopen(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        reason: str = "",
        lead: str | None = None,
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """重办: a new handling cycle with a new deadline."""
        command = ReopenIssue(issue_id, reason, lead)
        return self.execute(command, actor, at=at)

    def archive(
        self, actor: ActorLike, issue_id: str, *, at: datetime | None = None
    ) -> list[IssueEvent]:
        """归档 / 销号: close out a satisfactorily evaluated issue."""
        return self.execute(ArchiveIssue(issue_id), actor, at=at)

    def withdraw(
        self,
        actor: ActorLike,
        issue_id: str,
        *,
        reason: WithdrawalReason | str,
        merged_into: str | None = None,
        note: str = "",
        at: datetime | None = None,
    ) -> list[IssueEvent]:
        """Take an unresolved issue out of the loop (duplicate, out of scope, merged)."""
        command = WithdrawIssue(issue_id, reason, merged_into, note)
        return self.execute(command, actor, at=at)

    def observe(
        self, now: datetime | None = None, *, actor: ActorLike = SYSTEM_ACTOR
    ) -> list[IssueEvent]:
        """Record a DeadlineMissed fact for every running deadline breached at ``now``.

        Each breach is recorded once. Returns the new events. The observer is
        :data:`SYSTEM_ACTOR` unless given; under an :class:`~closedloop.AccessPolicy` it
        needs the OBSERVE grant, e.g. ``AccessPolicy.standard_grants(SYSTEM_ACTOR,
        scope_unit=<the root unit>)``.

        An issue with an event later than ``now`` (written by a process whose clock is
        ahead, say) is left for a later observation: its history cannot go back in
        time. All or nothing for the rest: every breach is decided before anything is
        stored, and the facts go in one append, so a refusal records none of them. With
        ``supervision``, orders of those issues that another writer's events settled
        are closed in the same append.
        """
        when = aware(now, "observe") if now is not None else self.clock.now()
        self._catch_up()
        due = [
            state.issue_id
            for state in self._projection.open_issues()
            if state.updated_at <= when and state.has_unrecorded_breach(when)
        ]
        observer = self._observer(actor)
        if not due:
            return []
        try:
            versions, states, events = self._decide_all(
                [(ObserveDeadline(issue_id), observer) for issue_id in due], when
            )
        except PermissionDeniedError as error:
            raise self._observer_refused(observer, error) from None
        per_issue: dict[str, list[IssueEvent]] = {}
        for event in events:
            per_issue.setdefault(event.issue_id, []).append(event)
        batches: list[Batch] = [
            (issue_id, per_issue[issue_id], versions[issue_id]) for issue_id in per_issue
        ]
        orders, closings = self._closings(events) if self._open_orders else ([], [])
        results = self.store.append_many([*batches, *orders])
        self._after_append_many(results, states, closings)
        return events

    # -- downward meetings ------------------------------------------------------------

    def demand_list(
        self,
        host: str,
        *,
        convener: str | None = None,
        at: datetime | None = None,
        flagged: Sequence[str] = (),
        already_scheduled: Iterable[str] = (),
        notes: Mapping[str, str | Mapping[str, str]] | None = None,
        max_items: int | None = None,
    ) -> DemandList:
        """需求清单: the open problems at or below ``host`` that need the convener's level.

        ``convener`` defaults to the host's parent. Issues on the agenda of a meeting
        that is scheduled and not yet held or cancelled are left out, as are those in
        ``already_scheduled``. Items are routed with the responsibility matrix when the
        service has one (see :func:`~closedloop.meetings.compile_demand_list` for the
        selection and order).

        Raises:
            NotOneLevelDownError: ``host`` is not a child of ``convener``.
            ConfigurationError: ``host`` is the root and no convener is named, one
                string given for ``flagged`` or ``already_scheduled``, a negative
                ``max_items``.
        """
        self._catch_up()
        upper = convener if convener is not None else self._parent_of(host)
        extra = set(_issue_ids(already_scheduled, "already_scheduled", ConfigurationError))
        return self._demand(
            host,
            upper,
            at if at is not None else self.clock.now(),
            flagged=_issue_ids(flagged, "flagged", ConfigurationError),
            already_scheduled=extra.union(*self._open_agendas.values()),
            notes=notes,
            max_items=max_items,
        )

    def _demand(
        self,
        host: str,
        convener: str,
        at: datetime,
        *,
        flagged: Iterable[str] = (),
        already_scheduled: Iterable[str] = (),
        notes: Mapping[str, str | Mapping[str, str]] | None = None,
        max_items: int | None = None,
    ) -> DemandList:
        return compile_demand_list(
            host,
            convener,
            self._projection.open_issues(),
            at=at,
            calendar=self.calendar,
            hierarchy=self.hierarchy,
            router=self.router,
            policy=self.policy,
            flagged=flagged,
            already_scheduled=already_scheduled,
            notes=notes,
            max_items=max_items,
        )

    def _parent_of(self, unit: str) -> str:
        parent = self.hierarchy.parent(unit)
        if parent is None:
            raise ConfigurationError(f"unit {unit!r} is the root: nobody convenes above it")
        return parent.id

    def _meeting_context(self, actor: Actor, at: datetime) -> MeetingContext:
        return MeetingContext(
            actor, at, self.hierarchy, self._event_id, self.access, self.calendar, self.departments
        )

    def _meeting_state(self, meeting_id: str) -> MeetingState | None:
        """The meeting's state folded from its stream in the store (None: no stream)."""
        events = self.store.read_stream(meeting_id)
        if not events:
            return None
        if not isinstance(events[0], MeetingScheduled | MeetingHeld):
            raise CommandError(
                f"stream {meeting_id!r} is not a meeting's: it starts with "
                f"{type(events[0]).__name__}"
            )
        state: MeetingState | None = None
        for event in events:
            if not isinstance(event, MeetingEvent):
                raise CommandError(
                    f"stream {meeting_id!r} holds a {type(event).__name__}, not a meeting event"
                )
            state = evolve_meeting(state, event)
        return state

    def meeting(self, meeting_id: str) -> MeetingState:
        """The current state of a meeting, folded from its stream in the log.

        Raises:
            CommandError: no meeting has that id (or the stream is not a meeting's).
        """
        state = self._meeting_state(meeting_id)
        if state is None:
            raise CommandError(f"no meeting with id {meeting_id!r}")
        return state

    def schedule_meeting(
        self,
        actor: ActorLike,
        *,
        host: str,
        day: date,
        agenda: DemandList | Iterable[DemandItem | str] = (),
        planned_attendees: Iterable[str] = (),
        convener: str | None = None,
        starts_at: datetime | None = None,
        cadence: str = "",
        venue: str = "",
        meeting_id: str | None = None,
        at: datetime | None = None,
    ) -> MeetingScheduled:
        """Put a downward meeting at ``host`` in the diary and store it.

        The decider :func:`~closedloop.meetings.schedule_meeting` checks the request:
        ``actor`` convenes and belongs to the convening unit (``convener``, by default
        the actor's unit), ``host`` is one level below it, and under an access policy
        the actor holds ``CONVENE`` over the host. ``agenda`` is a demand list, its
        items or issue ids; its issues then stay off demand lists (:meth:`demand_list`)
        until the meeting is held or cancelled. The meeting id is made up unless given.
        The event is appended to the meeting's new stream, so a concurrent writer of
        the same id makes it fail and nothing is stored.

        Returns the ``MeetingScheduled`` event.

        Raises:
            NotOneLevelDownError: ``host`` is not a child of the convening unit.
            PermissionDeniedError: the actor belongs to another unit or may not convene.
            CommandError: the meeting exists already, a bad day or start, unknown
                departments, an agenda given as one string, or an agenda issue already
                on the agenda of another meeting scheduled and not yet held.
            ConcurrencyError: another writer created the meeting meanwhile.
        """
        who = self._actor(actor)
        when = at if at is not None else self.clock.now()
        mid = meeting_id if meeting_id is not None else f"meeting-{self._new_id()}"
        issues = _issue_ids(agenda, "agenda", CommandError)
        self._catch_up()
        for other, scheduled in self._open_agendas.items():
            twice = sorted(set(issues) & set(scheduled))
            if twice and other != mid:
                raise CommandError(
                    f"issue(s) {', '.join(map(repr, twice))} are on the agenda of meeting "
                    f"{other!r}, scheduled and not yet held; hold or cancel it first"
                )
        event = decide_schedule(
            mid,
            self._meeting_state(mid),
            host_unit=host,
            day=day,
            context=self._meeting_context(who, when),
            convener_unit=convener,
            starts_at=starts_at,
            agenda=issues,
            planned_attendees=planned_attendees,
            cadence=cadence,
            venue=venue,
        )
        result = self.store.append(mid, [event], expected_version=ExpectedVersion.NO_STREAM)
        self._after_append(result, None, [event])
        return event

    def cancel_meeting(
        self, actor: ActorLike, meeting_id: str, *, reason: str = "", at: datetime | None = None
    ) -> MeetingCancelled:
        """Call off a scheduled meeting; its agenda issues return to the demand lists.

        Raises:
            CommandError: no such meeting, or it is already held or cancelled.
            PermissionDeniedError: the actor belongs to another unit or may not convene.
            ConcurrencyError: another writer changed the meeting meanwhile.
        """
        who = self._actor(actor)
        when = at if at is not None else self.clock.now()
        self._catch_up()
        state = self._meeting_state(meeting_id)
        if state is None:
            raise CommandError(f"no meeting with id {meeting_id!r} to cancel")
        event = decide_cancellation(state, context=self._meeting_context(who, when), reason=reason)
        result = self.store.append(meeting_id, [event], expected_version=state.version)
        self._after_append(result, None, [event])
        return event

    def hold_meeting(
        self,
        actor: ActorLike,
        *,
        host: str | None = None,
        agenda: DemandList | Sequence[DemandItem] | None = None,
        attendees: Sequence[str] | None = None,
        decisions: Sequence[MeetingDecision] | None = None,
        must_bring: Sequence[str] = (),
        max_attendees: int | None = None,
        accept_on_site: bool = True,
        meeting_id: str | None = None,
        duration_minutes: int | None = None,
        at: datetime | None = None,
    ) -> tuple[MeetingHeld, list[IssueEvent]]:
        """下沉一级开会: hold a downward meeting at ``host`` and carry out its decisions.

        A meeting scheduled under ``meeting_id`` (:meth:`schedule_meeting`, or its
        event stored with :meth:`record`) is held as scheduled: its state is folded
        from the log, ``host`` may be left out (when given it must agree), and its
        agenda is the scheduled one, as those issues stand now. Otherwise the meeting
        is one called for the occasion: ``host`` is required and the convener is
        ``actor``'s unit, with ``host`` one level below it.

        The agenda defaults to the host's demand list (for a meeting scheduled without
        an agenda too); the attendees to the attendee planner's choice for it (with
        ``must_bring`` and ``max_attendees``); the decisions to assigning every covered
        problem to the departments seated for it. With those default decisions every
        agenda item gets exactly one decision: an item the planner could not cover, an
        item that could not be routed (note ``"no route: ..."``) and a scheduled item
        no longer waiting for the meeting are deferred (``DecisionKind.DEFER``), with
        the reason in the note.

        Every implied lifecycle command is decided in turn against the current states,
        and the meeting and all the events are stored in one atomic append: a refusal,
        or a concurrent writer, leaves nothing half-done. With ``supervision``, the
        open orders the decisions settle (an issue escalated to the convening level, a
        lead moved away from an addressed department) are closed in that same append.
        With ``accept_on_site`` the
        lead departments, who were at the table, accept their assignments at once.

        Returns the ``MeetingHeld`` event and the issue events the decisions produced.

        Raises:
            NotOneLevelDownError: ``host`` is not one level below the convening unit.
            PermissionDeniedError: the actor may not convene, or a command is refused.
            CommandError: no host for a meeting that was not scheduled, the meeting is
                held or cancelled already, a host other than scheduled, decisions the
                agenda or the attendees do not allow.
            ConcurrencyError: another writer changed the meeting or an agenda issue.
        """
        who = self._actor(actor)
        when = at if at is not None else self.clock.now()
        mid = meeting_id if meeting_id is not None else f"meeting-{self._new_id()}"
        self._catch_up()
        state = self._meeting_state(mid) if meeting_id is not None else None
        where: str
        upper: str
        if state is not None:
            if state.status is not MeetingStatus.SCHEDULED:
                raise CommandError(f"meeting {mid!r} is {state.status.value}; it cannot be held")
            where, upper = state.host_unit, state.convener_unit
        elif host is None:
            raise CommandError(f"meeting {mid!r} was not scheduled: name its host")
        else:
            where = host
            upper = who.unit if who.unit is not None else self._parent_of(host)
        agenda_ids: list[str]
        off_list: list[MeetingDecision] = []
        if agenda is None and state is not None and state.agenda:
            # As scheduled: the agenda's issues as they stand now; flagging them lets
            # those still handled within the host back on (the meeting escalates them).
            current = {
                i.issue_id: i for i in self._demand(where, upper, when, flagged=state.agenda)
            }
            items = [current[i] for i in state.agenda if i in current]
            agenda_ids = list(state.agenda)
            off_list = [
                MeetingDecision(i, DecisionKind.DEFER, note=self._off_list_note(i))
                for i in state.agenda
                if i not in current
            ]
        else:
            if agenda is None:
                agenda = self.demand_list(where, convener=upper, at=when)
            items = list(agenda.items if isinstance(agenda, DemandList) else agenda)
            agenda_ids = [i.issue_id for i in items]
        if attendees is None or decisions is None:
            needs = [
                AgendaNeed.from_route(i.issue_id, i.route) for i in items if i.route is not None
            ]
            plan = plan_attendees(needs, must_bring=must_bring, max_size=max_attendees)
            if attendees is None:
                attendees = plan.departments
            if decisions is None:
                unrouted = [
                    MeetingDecision(
                        i.issue_id,
                        DecisionKind.DEFER,
                        note=f"no route: {i.route_problem or 'not routed (no router was given)'}",
                    )
                    for i in items
                    if i.route is None
                ]
                decisions = [*decisions_as_planned(plan), *unrouted, *off_list]
        outcome = decide_meeting(
            mid,
            state,
            attendees=attendees,
            context=self._meeting_context(who, when),
            decisions=decisions,
            agenda=agenda_ids,
            host_unit=host,
            convener_unit=upper if state is None else None,  # a scheduled one has its own
            duration_minutes=duration_minutes,
            handling_units={i.issue_id: i.unit for i in items},
        )
        steps: list[tuple[Command, Actor]] = []
        for item in outcome.commands:
            by = who if item.acting_department is None else self._staff(item.acting_department)
            steps.append((item.command, by))
            if accept_on_site and isinstance(item.command, AssignIssue):
                lead = item.command.lead
                steps.append((AcceptAssignment(item.command.issue_id), self._staff(lead)))
        try:
            decided = self._decide_all(steps, when)
        except PermissionDeniedError as error:
            stand_ins = {by.id for _, by in steps if by is not who and by.id not in self._actors}
            if error.actor not in stand_ins:
                raise
            raise _with_hint(
                error,
                "no actor of that department is registered with the service (add one with "
                "add_actors, or pass accept_on_site=False)",
            ) from None
        versions, states, events = decided
        meeting = outcome.event
        batches: list[Batch] = [(meeting.stream_id, [meeting], meeting.version - 1)]
        for issue_id, version in versions.items():
            stream = [e for e in events if e.issue_id == issue_id]
            batches.append((issue_id, stream, version or ExpectedVersion.NO_STREAM))
        orders, closings = self._closings(events) if self._open_orders else ([], [])
        results = self.store.append_many([*batches, *orders])
        self._after_append_many(results, states, [meeting, *closings])
        return meeting, events

    def _off_list_note(self, issue_id: str) -> str:
        """Why an issue scheduled for a meeting is no longer before it."""
        issue = self._projection.get(issue_id)
        if issue is None:
            return "not on the demand list any more: no such open issue"
        return f"not on the demand list any more: {issue.status.value} at {issue.unit}"

    def _staff(self, department: str) -> Actor:
        """The actor who acts for ``department`` at a meeting (a known one if any)."""
        if self._staff_by_department is None:
            self._staff_by_department = {}
            for candidate in self._actors.values():
                if candidate.department is not None:
                    self._staff_by_department.setdefault(candidate.department, candidate)
        known = self._staff_by_department.get(department)
        if known is not None:
            return known
        unit = self.departments.get(department).unit if self.departments is not None else None
        return Actor(
            ActorId(f"staff:{department}"),
            ActorKind.DEPARTMENT_STAFF,
            unit=unit,
            department=department,
        )

    def _decide_all(
        self, steps: Sequence[tuple[Command, Actor]], when: datetime
    ) -> tuple[dict[str, int], dict[str, IssueState | None], list[IssueEvent]]:
        """Decide every step in turn against provisional states, storing nothing.

        Returns each issue's version before the steps, its state after them, and the
        events in step order.
        """
        versions: dict[str, int] = {}
        states: dict[str, IssueState | None] = {}
        events: list[IssueEvent] = []
        for command, by in steps:
            issue_id = command.issue_id
            if issue_id not in states:
                states[issue_id] = self._projection.get(issue_id)
                current = states[issue_id]
                versions[issue_id] = current.version if current is not None else 0
            state = states[issue_id]
            for event in decide(command, state, self._context(by, when)):
                state = evolve(state, event)
                events.append(event)
            states[issue_id] = state
        return versions, states, events

    # -- supervision orders (督办) ------------------------------------------------------

    def propose_supervision(
        self, rules: Iterable[SupervisionRule], *, at: datetime | None = None
    ) -> list[SupervisionProposal]:
        """The orders ``rules`` propose for the open issues at ``at`` (default: now).

        An issue that already has an open order from the same rule gets no new proposal
        from it, whoever gave that order (see
        :func:`~closedloop.supervision.propose_supervision`). Sorted by issue, then rule.
        Nothing is stored: give an order with :meth:`order_supervision`.

        Raises:
            ConfigurationError: the service was opened with ``supervision=False``,
                or two rules share a name.
            NaiveDatetimeError: ``at`` has no time zone.
        """
        self._require_supervision("propose_supervision")
        when = aware(at, "propose_supervision") if at is not None else self.clock.now()
        self._catch_up()
        # An order its issue's move already settled no longer counts, though it is
        # closed only with the next append to the issue.
        running = [o for o in self._iter_open_orders() if o.order_id not in self._settled]
        return proposals_for(
            rules, self._projection.open_issues(), when, self.calendar, orders=running
        )

    def order_supervision(
        self,
        actor: ActorLike,
        proposal: SupervisionProposal,
        *,
        order_id: str | None = None,
        team: str = "",
        limit: TimeLimit | None = None,
        include_co_handlers: bool = False,
        at: datetime | None = None,
    ) -> SupervisionOrdered:
        """督办: give the order ``proposal`` describes and store it in the order's stream.

        Decided by :func:`~closedloop.supervision.order_supervision` against the issue
        as it stands now: addressed to its current lead (with the co-handlers when
        ``include_co_handlers``), or to the handling unit when nobody leads it; each
        addressee is checked with ``Action.SUPERVISE`` (only from a strictly higher
        level than the department's unit, or from that unit's own supervision team);
        the order's own deadline is ``limit`` (3 working days by default) on the
        service's calendar. The department's unit comes from the service's
        ``departments`` registry; without one, every department is taken to belong to
        the issue's handling unit, so the order must come from strictly above that unit
        and a unit's own team cannot supervise its sections.

        The order id is made up from the issue, the rule and the issue's version unless
        given, so two processes giving the same order at once cannot both store it (with
        ids of your own, make them collide the same way). The order is stored only if
        the issue is still at the version it was decided on (one atomic append that
        checks it). From
        then on the service closes the order, in the same append as the issue event
        that moves the issue (resolved, withdrawn, escalated, transferred away from the
        addressees, returned by one, or assigned when the order was addressed to the
        unit).

        Returns the ``SupervisionOrdered`` event.

        Raises:
            ConfigurationError: the service was opened with ``supervision=False``,
                or ``proposal`` is not a :class:`~closedloop.supervision.SupervisionProposal`.
            IssueNotFoundError: no issue has the proposal's issue id.
            TransitionError: the issue is no longer open.
            CommandError: the order id is taken, the issue already has an open order
                from the proposal's rule, or ``at`` is earlier than the proposal or the
                issue's latest event.
            PermissionDeniedError: the actor may not supervise an addressee.
            ConcurrencyError: another writer changed the issue, or created the order,
                meanwhile; nothing is stored.
        """
        self._require_supervision("order_supervision")
        if not isinstance(proposal, SupervisionProposal):
            raise ConfigurationError(
                f"proposal must be a SupervisionProposal (from propose_supervision), "
                f"got {proposal!r}"
            )
        who = self._actor(actor)
        when = at if at is not None else self.clock.now()
        self._catch_up()
        state = self._projection.get(proposal.issue_id)
        if state is None:
            raise IssueNotFoundError(f"no issue with id {proposal.issue_id!r} to supervise")
        # The default id names the issue, the rule and the issue's version: two writers
        # ordering the same thing at once write the same new stream, and one of them
        # gets ConcurrencyError instead of both storing an order.
        oid = (
            order_id
            if order_id is not None
            else f"order:{state.issue_id}:{proposal.rule}:v{state.version}"
        )
        if oid in self._order_issues or self.store.stream_version(oid) > 0:
            raise CommandError(f"a stream with id {oid!r} exists already; choose another order id")
        # Orders a stored move settled close in the same append as the new order.
        running, settled = self._split_settled(self._open_orders.get(state.issue_id, {}).values())
        for order in running:
            if order.rule == proposal.rule:
                raise CommandError(
                    f"issue {state.issue_id!r} already has open order {order.order_id!r} "
                    f"from rule {proposal.rule!r}"
                )
        context = SupervisionContext(
            who,
            when,
            self.calendar,
            self.access,
            self._event_id,
            self._department_units(state),
        )
        (event,) = decide_order(
            proposal,
            state,
            context,
            order_id=oid,
            team=team,
            limit=limit,
            include_co_handlers=include_co_handlers,
        )
        results = self.store.append_many(
            [
                (state.issue_id, [], state.version),
                *[(c.order_id, [c], c.version - 1) for c in settled],
                (oid, [event], ExpectedVersion.NO_STREAM),
            ]
        )
        self._after_append_many(results, {}, [*settled, event])
        return event

    def _department_units(self, state: IssueState) -> dict[str, UnitId]:
        """The unit of each department that may be addressed about the issue (registry)."""
        departments = self.departments
        if departments is None or state.lead is None:
            return {}
        return {
            d: departments.get(d).unit for d in (state.lead, *state.co_handlers) if d in departments
        }

    def observe_orders(
        self, now: datetime | None = None, *, actor: ActorLike = SYSTEM_ACTOR
    ) -> list[SupervisionEvent]:
        """Record ``SupervisionOrderOverdue`` for every open order past its deadline at ``now``.

        Each order is recorded overdue once. Orders whose issue moved in events stored
        without closing them (another writer's) are closed instead. The observer is
        :data:`SYSTEM_ACTOR` unless given; under an :class:`~closedloop.AccessPolicy`
        it needs the OBSERVE grant over the orders' units, as for :meth:`observe`.

        All or nothing: every event goes in one append, each order's expecting its
        current version. Returns the stored events (closings first).

        Raises:
            ConfigurationError: the service was opened with ``supervision=False``.
            NaiveDatetimeError: ``now`` has no time zone.
            PermissionDeniedError: the observer may not observe an order's unit.
            ConcurrencyError: another writer changed one of the orders meanwhile.
        """
        self._require_supervision("observe_orders")
        when = aware(now, "observe_orders") if now is not None else self.clock.now()
        self._catch_up()
        observer = self._observer(actor)
        running, closings = self._split_settled(
            sorted(self._iter_open_orders(), key=lambda o: o.order_id)
        )
        overdue = decide_orders_overdue(
            running, when, actor=observer.id, new_event_id=self._event_id
        )
        for event in overdue:
            order = self._open_orders[event.issue_id][event.order_id]
            try:
                require_permission(
                    self.access, observer, Action.OBSERVE, Target(order.unit, order.category), when
                )
            except PermissionDeniedError as error:
                raise self._observer_refused(observer, error) from None
        stored: list[SupervisionEvent] = [*closings, *overdue]
        if not stored:
            return []
        results = self.store.append_many([(e.order_id, [e], e.version - 1) for e in stored])
        self._after_append_many(results, {}, stored)
        return stored

    def supervision_orders(
        self, *, issue_id: str | None = None, open_only: bool = True
    ) -> list[SupervisionOrderState]:
        """Supervision orders as they stand, oldest first (by order time, then id).

        ``open_only`` (the default) lists the orders still running, from memory;
        ``open_only=False`` folds every order in the log, closed ones too (it reads the
        whole log). ``issue_id`` keeps the orders about one issue.

        Raises:
            ConfigurationError: the service was opened with ``supervision=False``.
            IssueNotFoundError: no issue has id ``issue_id``.
        """
        self._require_supervision("supervision_orders")
        self._catch_up()
        if (
            issue_id is not None
            and self._projection.get(issue_id) is None
            and self.store.stream_version(issue_id) == 0
        ):
            raise IssueNotFoundError(f"no issue with id {issue_id!r}")
        found: Iterable[SupervisionOrderState]
        if open_only:
            if issue_id is None:
                found = self._iter_open_orders()
            else:
                found = self._open_orders.get(issue_id, {}).values()
        else:
            folded: dict[str, SupervisionOrderState] = {}
            for recorded in self.store.read_all():
                event = recorded.event
                if isinstance(event, SupervisionEvent) and (
                    issue_id is None or event.issue_id == issue_id
                ):
                    folded[event.order_id] = evolve_order(folded.get(event.order_id), event)
            found = folded.values()
        return sorted(found, key=lambda o: (o.ordered_at, o.order_id))

    def _iter_open_orders(self) -> Iterator[SupervisionOrderState]:
        for orders in self._open_orders.values():
            yield from orders.values()

    # -- queries ----------------------------------------------------------------------

    @property
    def projection(self) -> IssueProjection:
        """The read model (current state of every issue), caught up with the store."""
        self._catch_up()
        return self._projection

    def issue(self, issue_id: str) -> IssueState:
        """The current state of an issue."""
        self._catch_up()
        return self._projection.state(issue_id)

    def evict(self, issue_id: str) -> None:
        """Drop a closed issue from the in-memory read model (the log keeps it).

        Queries then no longer see it; reopening the service rebuilds it from the log.
        Meant for long runs that keep only metrics, such as simulations.
        """
        self._catch_up()
        self._projection.evict(issue_id)

    def history(self, issue_id: str) -> list[IssueEvent]:
        """Every event of an issue, oldest first."""
        events = self.store.read_stream(issue_id)
        if not events:
            raise IssueNotFoundError(f"no issue with id {issue_id!r}")
        return [e for e in events if isinstance(e, IssueEvent)]

    def issues(self) -> list[IssueState]:
        """Every issue's current state, in the order first registered."""
        self._catch_up()
        return list(self._projection)

    def open_issues(
        self,
        *,
        unit: str | None = None,
        within: str | None = None,
        department: str | None = None,
    ) -> list[IssueState]:
        """Open issues, filtered by handling unit, jurisdiction or lead department."""
        self._catch_up()
        return self._projection.open_issues(
            unit=unit, within=within, department=department, hierarchy=self.hierarchy
        )

    def overdue(
        self, at: datetime | None = None, *, minimum: WarningLevel | str = WarningLevel.RED
    ) -> list[OverdueIssue]:
        """Issues whose deadline is breached at ``at`` (or at ``minimum`` warning level).

        ``minimum`` is a :class:`~closedloop.WarningLevel` or its name (``"yellow"``).
        The deadlines are those stored with the issues; the calendar counts the time
        left. Most urgent first.
        """
        if isinstance(minimum, str) and minimum.upper() in WarningLevel.__members__:
            minimum = WarningLevel[minimum.upper()]
        if not isinstance(minimum, WarningLevel):
            allowed = ", ".join(level.name.lower() for level in WarningLevel)
            raise ConfigurationError(f"unknown warning level {minimum!r}; allowed: {allowed}")
        self._catch_up()
        return self._projection.overdue(
            aware(at, "overdue") if at is not None else self.clock.now(),
            self.calendar,
            warnings=self.warnings,
            minimum=minimum,
        )

    def metrics(
        self,
        *,
        by: str | Sequence[str] = (),
        period: str | None = None,
        at: datetime | None = None,
    ) -> Metrics:
        """The metrics of the whole log (see :func:`closedloop.metrics.compute_metrics`)."""
        events = (recorded.event for recorded in self.store.read_all())
        return compute_metrics(
            events, calendar=self.calendar, by=by, period=period, at=at, hierarchy=self.hierarchy
        )

    def backlog(self, *, by: str = "status") -> dict[str, int]:
        """Counts of issues by status, or of open issues by unit or department."""
        self._catch_up()
        return self._projection.backlog(by=by)

    def allowed(self, actor: ActorLike, action: Action | str, issue_id: str) -> bool:
        """Whether ``actor`` may do ``action`` on the issue now (access rules only)."""
        chosen = member(Action, action, "action")
        state = self.issue(issue_id)
        return self.access.authorize(self._actor(actor), chosen, state, self.clock.now()).allowed

    def __repr__(self) -> str:
        return f"<ClosedLoop {len(self._projection)} issues on {type(self.store).__name__}>"


class TimeOrderedIds:
    """Makes UUIDv7 ids: time-ordered, random, unique across processes.

    The first 48 bits are the Unix time in milliseconds and the next 12 a counter
    within the millisecond, so ids sort in creation order; 62 bits are random. Stores
    index event ids, and ordered ids land on neighbouring index pages: appends to SQLite
    run markedly faster than with random (version 4) ids.
    """

    __slots__ = ("_last", "_lock", "_sequence")

    def __init__(self) -> None:
        self._last = -1
        self._sequence = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        now = time.time_ns() // 1_000_000
        with self._lock:
            if now <= self._last:
                now = self._last
                self._sequence += 1
                if self._sequence > 0xFFF:
                    now += 1
                    self._sequence = 0
            else:
                self._sequence = 0
            self._last = now
            sequence = self._sequence
        random_bits = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
        value = (now << 80) | (0x7 << 76) | (sequence << 64) | (0b10 << 62) | random_bits
        text = f"{value:032x}"
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _issue_ids(
    value: DemandList | Iterable[DemandItem | str], what: str, error: type[Exception]
) -> list[str]:
    """Issue ids from a demand list, its items or ids (one string is refused)."""
    if isinstance(value, str):
        raise error(f"{what} is a list of issue ids, not one string")
    if isinstance(value, DemandList):
        return list(value.issue_ids)
    return [v.issue_id if isinstance(v, DemandItem) else v for v in value]
