"""The simulation model: problems, departments, cadres and meetings on an event loop.

The model drives the same :class:`~closedloop.ClosedLoop` service an embedder runs, on a
simulated clock, with an in-memory store (or none, when only metrics are kept). Every
change to an issue is a lifecycle command decided by ``decide``; meetings, supervision
orders, accountability records and grassroots visits are recorded with their own
deciders. There is no parallel toy model: metrics, exports and process mining read a
simulated log exactly as they read a real one.

One problem's path:

1. it arises at a village-level unit (registered by its reporter) and needs the
   village, the town or the city to solve it (:class:`~closedloop.simulation.NeedModel`);
2. a village problem goes to the village committee; others are escalated to the town;
3. **baseline**: a cadre visits each department the problem needs, one at a time;
   a department may send the cadre away (buck-passing) and be visited again; then the
   problem is assigned. A problem needing the city goes up first and the town's cadre
   makes the visits;
   **downward meetings**: the problem waits for the town's weekly meeting at a village,
   which assigns it on the spot (or sends it up to the city's demand list, for the
   city's monthly meeting at the town);
4. the lead department works on it (a queue with a capacity), may return it as
   misrouted, and resolves it; missed deadlines are recorded when they happen and may
   draw a supervision order (which speeds the department up: the work still left is
   multiplied by ``1 - supervision_speedup``); the order closes when the issue moves
   (resolved, escalated, returned) or is recorded overdue when its own deadline passes
   first, which may draw accountability;
   with a ``task_force_threshold``, problems of one category from enough villages
   within a window get a city task force (工作专班) with one plan per problem; its
   problems are handled faster, and it closes once every plan is resolved (the
   problem archived);
5. the reporter, a third-party survey or a reform experience officer evaluates; an
   unsatisfied evaluation reopens the problem for another cycle, a satisfied one
   archives it.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

import attrs

from closedloop.access import AccessPolicy, Actor, ActorKind, Grant
from closedloop.deadlines import Difficulty
from closedloop.departments import Department, DepartmentKind, Departments, Route, Router
from closedloop.errors import ConcurrencyError, ConfigurationError, CoverageError
from closedloop.ids import ActorId, DepartmentId, EventId, IssueId, UnitId
from closedloop.lifecycle.commands import (
    AcceptAssignment,
    ArchiveIssue,
    AssignIssue,
    Command,
    EscalateIssue,
    EvaluateResolution,
    ObserveDeadline,
    RegisterIssue,
    ReopenIssue,
    ResolveIssue,
    ReturnAssignment,
)
from closedloop.lifecycle.events import EvaluatorKind, IssueAssigned, IssueEvent
from closedloop.lifecycle.state import IssueState, Status
from closedloop.meetings import (
    AgendaNeed,
    DecisionKind,
    DemandItem,
    MeetingDecision,
    compile_demand_list,
    decisions_as_planned,
    plan_attendees,
    plan_monthly_visits,
    priority_key,
)
from closedloop.metrics import MetricsProjection, VisitRecorded
from closedloop.service import ClosedLoop, FixedClock
from closedloop.simulation.engine import EventLoop
from closedloop.simulation.policies import Baseline, DownwardMeetings, Policy
from closedloop.simulation.results import SimulationResult, SolvedTally
from closedloop.simulation.scenario import Scenario, _is_whole
from closedloop.simulation.streams import RandomStreams, derive_seed
from closedloop.store.base import (
    AppendResult,
    Batch,
    EventStore,
    ExpectedVersion,
    Recorded,
    StreamEvent,
)
from closedloop.store.memory import MemoryEventStore
from closedloop.supervision import (
    AccountabilityOutcome,
    Evidence,
    OverdueRule,
    SupervisionContext,
    SupervisionOrderClosed,
    SupervisionOrderState,
    UnmetOrdersRule,
    evolve_order,
    observe_orders,
    order_supervision,
    propose_accountability,
    record_accountability,
)
from closedloop.taskforces import (
    CloseTaskForce,
    CommonProblemRule,
    RecordPlan,
    ResolvePlan,
    TaskForceCommand,
    TaskForceContext,
    TaskForceEvent,
    TaskForceProposal,
    TaskForceState,
    decide_task_force,
    evolve_task_force,
)
from closedloop.workdays import WorkCalendar

__all__ = ["Simulation", "simulate"]

_MINUTES_PER_DAY = 24 * 60
_COMMITTEE = "village_committee"

# Priorities at the same minute: meetings before handling, observations last.
_P_MEETING, _P_WORK, _P_OBSERVE = 0, 1, 2


@attrs.define(slots=True)
class _Case:
    """What the simulation knows about one problem beyond its lifecycle state."""

    issue_id: IssueId
    village: UnitId
    town: UnitId
    need: str  # "village", "town" or "city"
    category: str
    difficulty: Difficulty
    decided_at_meeting: bool = False
    handling_factor: float = 1.0
    token: int = 0
    supervised: bool = False
    visits: int = 0
    finish_at: float | None = None
    """When the work in progress is due to finish (minutes); None when not worked on."""
    order: str | None = None
    """The supervision order still open about the problem (the one place that says so)."""
    task_force: str | None = None
    """The task force the problem is linked to."""
    closed: bool = False
    """Archived, and (in a metrics-only run) forgotten: pending actions do nothing."""


class Simulation:
    """One replication of one scenario under one policy.

    Like :func:`simulate`, a run keeps only its metrics by default; pass
    ``keep_events=True`` for the full event log (exports, process mining), at the cost of
    memory that grows with the log.

    Args:
        scenario: the world.
        policy: the policy variant (:class:`Baseline` or :class:`DownwardMeetings`).
        seed: the run's seed (a whole number); with ``replication`` it fixes every
            random draw.
        replication: which replication of the seed this is (a whole number).
        keep_events: keep the full event log in memory, or only metrics (the default).

    Raises:
        ConfigurationError: for a scenario, policy, seed, replication or flag of the
            wrong kind.
    """

    def __init__(
        self,
        scenario: Scenario,
        policy: Policy,
        *,
        seed: int = 0,
        replication: int = 0,
        keep_events: bool = False,
    ) -> None:
        _check_run(scenario, policy, seed, replication, keep_events)
        self.scenario = scenario
        self.policy = policy
        self.seed = seed
        self.replication = replication
        self.keep_events = keep_events
        self.streams = RandomStreams(seed, replication)
        self.loop = EventLoop()
        calendar = scenario.calendar
        self.calendar = calendar
        hours = calendar.working_hours
        assert hours is not None
        self._day_seconds = hours.seconds_per_day
        self._first_period = hours.periods[0][0]
        self.start = datetime.combine(scenario.start, time(0), tzinfo=calendar.zone)
        self.end = datetime.combine(scenario.end, time(23, 59), tzinfo=calendar.zone)
        self._horizon = self._minutes(self.end)
        self._work = _WorkClock(calendar, scenario.start, scenario.end)
        hierarchy = scenario.hierarchy
        self.hierarchy = hierarchy
        self.city = hierarchy.root.id
        self.towns = [u.id for u in hierarchy.children(self.city)]
        self.villages = {t: [u.id for u in hierarchy.children(t)] for t in self.towns}
        # One id object per committee, shared by every problem the committee handles.
        self._committees = {
            village: DepartmentId(f"{village}/committee")
            for town in self.towns
            for village in self.villages[town]
        }
        self.departments = _with_committees(scenario.departments, self._committees)
        self.router = Router(scenario.matrix, hierarchy, self.departments)
        self.department_units = {d.id: d.unit for d in self.departments}
        self.actors, self.access = _actors_and_access(hierarchy, self.departments, self.city)
        self._ids = _IdMaker(seed, replication)
        knobs = policy.knobs
        self.deadline_policy = knobs.deadline_policy or scenario.deadline_policy
        self.store: EventStore = MemoryEventStore() if keep_events else _MetricsOnlyStore()
        self.service = ClosedLoop(
            hierarchy=hierarchy,
            store=self.store,
            departments=self.departments,
            policy=self.deadline_policy,
            calendar=calendar,
            clock=FixedClock(self.start),
            access=self.access,
            new_id=self._ids,
            supervision=True,
        )
        self._seen = self.store.last_position()
        """The position of the last stored event folded into the metrics."""
        self.metrics = MetricsProjection()
        self.cases: dict[IssueId, _Case] = {}
        # Archived problems forgotten by a metrics-only run, as counts and durations.
        self.retired = SolvedTally()
        self._queues: dict[DepartmentId, deque[IssueId]] = {}
        self._busy: dict[DepartmentId, int] = {}
        # Supervision orders by id: the open ones (a problem's ``order`` names its open
        # one), and those that closed after their deadline until it is accounted for.
        self._orders: dict[str, SupervisionOrderState] = {}
        self._accountable: list[Any] = []
        self._task_forces: dict[str, TaskForceState] = {}
        self._task_force_rule: CommonProblemRule | None = None
        # Problems needing the town or the city not linked to a task force yet, by
        # category, in registration order (the candidates for the next task force).
        self._candidates: dict[str, deque[IssueId]] = {}
        if knobs.task_force_threshold is not None:
            self._task_force_rule = CommonProblemRule(min_units=knobs.task_force_threshold)
        self.counters: dict[str, float] = {
            "visits": 0,
            "cadre_days": 0.0,
            "meetings_town": 0,
            "meetings_city": 0,
            "leader_hours": 0.0,
            "department_hours": 0.0,
            "supervision_orders": 0,
            "accountability": 0,
            "sanctions": 0,
            "returns": 0,
            "solved_via_mechanism": 0,
        }

    # -- time ---------------------------------------------------------------------------

    def _minutes(self, at: datetime) -> float:
        return (at - self.start).total_seconds() / 60.0

    def _instant(self, minutes: float) -> datetime:
        return self.start + timedelta(minutes=minutes)

    def _after_working_days(self, at: datetime, days: float) -> datetime:
        """The instant ``days`` working days of working time after ``at``."""
        return self._instant(self._work.add(self._minutes(at), days))

    def _schedule_at(
        self, at: datetime, action: Callable[[], None], priority: int = _P_WORK
    ) -> None:
        minutes = max(self._minutes(at), self.loop.now)
        if minutes <= self._horizon:
            self.loop.schedule(minutes, action, priority)

    # -- the service ------------------------------------------------------------------

    def _do(self, command: Command, actor: ActorId, at: datetime) -> list[IssueEvent]:
        events = self.service.execute(command, self.actors[actor], at=at)
        self._fold_stored()
        return events

    def _record(self, events: Sequence[Any], *, final: bool = False) -> None:
        """Store events of one stream other than an issue's (decided already), and fold them.

        ``final`` says nothing will be appended to the stream again: a visit, an
        accountability record, a closed order or task force.
        """
        if events:
            self.service.record(events)
            self._fold_stored()
            if final:
                self._finished(events[0].stream_id)

    def _fold_stored(self) -> None:
        """Fold what the service just stored into the metrics: the events of its last
        append, which include the orders it closed with the issue events that moved
        their issues (the service keeps orders in step with their issues)."""
        apply = self.metrics.apply
        for recorded in self.store.read_all(after_position=self._seen):
            event = recorded.event
            apply(event)
            if type(event) is SupervisionOrderClosed:
                self._order_closed(event)
            self._seen = recorded.position

    def _finished(self, stream_id: str) -> None:
        """Nothing will be appended to the stream again: a metrics-only store forgets it."""
        store = self.store
        if isinstance(store, _MetricsOnlyStore):
            store.forget(stream_id)

    def _state(self, issue_id: IssueId) -> IssueState:
        return self.service.issue(issue_id)

    # -- running ------------------------------------------------------------------------

    def run(self, progress: Callable[[float], None] | None = None) -> SimulationResult:
        """Run the whole period and return the result."""
        self._schedule_arrivals()
        if isinstance(self.policy, DownwardMeetings):
            self._schedule_meetings(self.policy)
        if progress is None:
            self.loop.run(until=self._horizon)
        else:
            step = self._horizon / 100
            mark = step
            while mark <= self._horizon + 1e-9:
                self.loop.run(until=mark)
                progress(min(1.0, mark / self._horizon))
                mark += step
        return SimulationResult.collect(self)

    # -- arrivals -----------------------------------------------------------------------

    def _schedule_arrivals(self) -> None:
        rng = self.streams["arrivals"]
        arrivals = self.scenario.arrivals
        calendar = self.calendar
        hours = calendar.working_hours
        assert hours is not None
        villages = [(t, v) for t in self.towns for v in self.villages[t]]
        day = self.scenario.start
        while day <= self.scenario.end:
            if arrivals.on_holidays or calendar.is_workday(day):
                rate = arrivals.rate * arrivals.seasonality[day.month - 1]
                for town, village in villages:
                    for _ in range(_poisson(rng, rate)):
                        worked = rng.random() * self._day_seconds
                        second = hours.second_of_day_after(max(worked, 1.0))
                        at = datetime.combine(day, time(0), tzinfo=calendar.zone) + timedelta(
                            seconds=second
                        )
                        self._schedule_at(at, _bind(self._arrive, town, village))
            day += timedelta(days=1)

    def _arrive(self, town: UnitId, village: UnitId) -> None:
        rng = self.streams["needs"]
        needs = self.scenario.needs
        category = _weighted(rng, needs.categories)
        difficulty = _weighted(rng, needs.difficulties)
        if rng.random() < needs.solved_locally:
            need = "village"
        elif rng.random() < needs.needs_city:
            need = "city"
        else:
            need = "town"
        issue_id = IssueId(self._ids.issue())
        at = self._instant(self.loop.now)
        reporter = ActorId(f"reporter:{village}")
        self._do(
            RegisterIssue(issue_id, village, category, difficulty, f"{category} at {village}"),
            reporter,
            at,
        )
        case = _Case(issue_id, village, town, need, category, difficulty)
        self.cases[issue_id] = case
        if need == "village":
            self._assign(case, self._committees[village], (), ActorId(f"official:{village}"), at)
            return
        if self._task_force_rule is not None:
            self._detect_common_problem(case, at)
        # The village tries first, then sends the problem up to the town.
        tried = self._after_working_days(at, 0.5)
        self._schedule_at(tried, _bind(self._escalate_to_town, case))

    def _escalate_to_town(self, case: _Case) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        self._do(
            EscalateIssue(case.issue_id, "needs the town"), ActorId(f"official:{case.village}"), at
        )
        if isinstance(self.policy, Baseline):
            if case.need == "city":
                tried = self._after_working_days(at, 1.0)
                self._schedule_at(tried, _bind(self._escalate_to_city, case))
            else:
                self._visit_round(case, self._route(case, case.town, at), 0, 0)
        # Under downward meetings the problem now waits for the town's meeting.

    def _escalate_to_city(self, case: _Case) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        self._do(
            EscalateIssue(case.issue_id, "needs the city"), ActorId(f"official:{case.town}"), at
        )
        if isinstance(self.policy, Baseline):
            self._visit_round(case, self._route(case, self.city, at), 0, 0)

    def _route(self, case: _Case, unit: UnitId, at: datetime) -> Route | None:
        return self.router.find_route(case.category, unit, at)

    # -- baseline: visits -----------------------------------------------------------------

    def _visit_round(self, case: _Case, route: Route | None, index: int, rounds: int) -> None:
        """The cadre visits the route's departments one at a time (来回跑、多头跑、反复跑)."""
        if case.closed:
            return
        assert isinstance(self.policy, Baseline)
        at = self._instant(self.loop.now)
        if route is None:
            # Nobody is responsible for this category here: the problem stays open.
            return
        departments = [route.lead, *route.co_handlers]
        if index >= len(departments):
            handler_unit = self._state(case.issue_id).unit
            self._assign(
                case,
                route.lead.id,
                tuple(d.id for d in route.co_handlers),
                ActorId(f"official:{handler_unit}"),
                at,
            )
            return
        department = departments[index]
        behaviour = self.scenario.behaviour
        cadre_unit = case.village if self._state(case.issue_id).unit == case.town else case.town
        visit_days = (
            behaviour.city_visit_days if department.unit == self.city else behaviour.visit_days
        )
        done = self._after_working_days(at, visit_days) if visit_days > 0 else at
        self._record(
            [
                VisitRecorded(
                    event_id=self._ids.event(),
                    visit_id=self._ids.visit(),
                    occurred_at=at,
                    actor=ActorId(f"official:{cadre_unit}"),
                    from_unit=cadre_unit,
                    to_unit=department.unit,
                    to_department=department.id,
                    issue_id=case.issue_id,
                    category=case.category,
                    purpose="coordination",
                )
            ],
            final=True,
        )
        self.counters["visits"] += 1
        self.counters["cadre_days"] += visit_days
        case.visits += 1
        buck = behaviour.buck_passing * (1 - self.policy.knobs.deterrence)
        limit = self.policy.max_rounds
        sent_away = (limit is None or rounds + 1 < limit) and self.streams["visits"].random() < buck
        if sent_away:
            later = self._after_working_days(done, behaviour.revisit_days)
            self._schedule_at(later, _bind(self._visit_round, case, route, index, rounds + 1))
        else:
            self._schedule_at(done, _bind(self._visit_round, case, route, index + 1, 0))

    # -- assignment and handling -------------------------------------------------------------

    def _assign(
        self,
        case: _Case,
        lead: DepartmentId,
        co_handlers: tuple[DepartmentId, ...],
        by: ActorId,
        at: datetime,
    ) -> None:
        """交办, then the lead department accepts, or returns it as misrouted (退回)."""
        self._do(AssignIssue(case.issue_id, lead, co_handlers), by, at)
        self._watch_deadline(case)
        behaviour = self.scenario.behaviour
        return_rate = behaviour.return_rate * (1 - self.policy.knobs.deterrence)
        if case.decided_at_meeting and isinstance(self.policy, DownwardMeetings):
            return_rate *= self.policy.buck_passing_factor
        if case.need != "village" and self.streams["returns"].random() < return_rate:
            returned_at = self._after_working_days(at, 0.5)
            self._schedule_at(returned_at, _bind(self._return, case))
            return
        self._do(AcceptAssignment(case.issue_id), ActorId(f"staff:{lead}"), at)
        self._enqueue(case, lead)

    def _enqueue(self, case: _Case, department: DepartmentId) -> None:
        queue = self._queues.setdefault(department, deque())
        queue.append(case.issue_id)
        self._pump(department)

    def _pump(self, department: DepartmentId) -> None:
        capacity = self.scenario.handling.capacity
        queue = self._queues.get(department)
        busy = self._busy.get(department, 0)
        while queue and busy < capacity:
            issue_id = queue.popleft()
            case = self.cases.get(issue_id)
            if case is None:  # archived and forgotten since it was queued
                continue
            state = self._state(issue_id)
            if (
                state.status not in (Status.ASSIGNED, Status.IN_PROGRESS)
                or state.lead != department
            ):
                continue
            busy += 1
            self._start_handling(case, state)
        self._busy[department] = busy

    def _handling_days(self, case: _Case, state: IssueState) -> float:
        handling = self.scenario.handling
        rng = self.streams["handling"]
        shape = handling.shape
        factor = handling.reopened_factor if state.cycle > 1 else 1.0
        if case.need == "village":
            return rng.gammavariate(shape, handling.local_mean_days * factor / shape)
        mean = handling.mean_days[case.difficulty] * factor * case.handling_factor
        if case.decided_at_meeting:
            # Coordinated at the table: the co-handlers work alongside the lead.
            mean *= handling.per_extra_department ** len(state.co_handlers)
            return rng.gammavariate(shape, mean / shape)
        # Each department does its part after the previous one.
        days = rng.gammavariate(shape, mean / shape)
        for _ in state.co_handlers:
            days += rng.gammavariate(shape, mean * handling.co_share / shape)
        return days

    def _start_handling(self, case: _Case, state: IssueState) -> None:
        at = self._instant(self.loop.now)
        days = self._handling_days(case, state)
        if case.order is not None or case.task_force is not None:
            days *= self._speed(case)
        case.token += 1
        token = case.token
        done = self._after_working_days(at, days)
        case.finish_at = self._minutes(done)
        self._schedule_at(done, _bind(self._finish, case, token))

    def _speed(self, case: _Case) -> float:
        """What the handling time still left is multiplied by: supervision, task force."""
        knobs = self.policy.knobs
        factor = 1.0
        if case.order is not None:
            factor *= 1 - knobs.supervision_speedup
        if case.task_force is not None:
            factor *= 1 - knobs.task_force_speedup
        return factor

    def _speed_up(self, case: _Case, factor: float) -> None:
        """Multiply the working time left on the work in progress by ``factor`` (<= 1).

        The finish is moved to ``factor`` times the working time between now and the
        scheduled finish; it never moves later. Work not started yet is sped up when it
        starts (see :meth:`_speed`).
        """
        finish = case.finish_at
        if finish is None or factor >= 1:
            return
        now = self.loop.now
        left = self._work.between(now, finish)
        done = self._instant(self._work.add(now, left * factor))
        sooner = self._minutes(done)
        if not sooner < finish:
            return
        case.token += 1
        case.finish_at = sooner
        self._schedule_at(done, _bind(self._finish, case, case.token))

    def _release(self, department: DepartmentId) -> None:
        self._busy[department] = max(0, self._busy.get(department, 1) - 1)
        self._pump(department)

    def _return(self, case: _Case) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        state = self._state(case.issue_id)
        if state.status is not Status.ASSIGNED or state.lead is None:
            return
        lead = state.lead
        self._do(
            ReturnAssignment(case.issue_id, "not our responsibility"), ActorId(f"staff:{lead}"), at
        )
        self.counters["returns"] += 1
        # The handling unit reassigns the next working day, to the route's next department.
        route = self._route(case, state.unit, at)
        others = [d.id for d in (route.co_handlers if route else ()) if d.id != lead]
        new_lead = others[0] if others else lead
        co = tuple(d for d in state.co_handlers if d != new_lead)
        official = ActorId(f"official:{state.unit}")
        later = self._after_working_days(at, 1.0)
        self._schedule_at(later, _bind(self._reassign, case, new_lead, co, official))

    def _reassign(
        self, case: _Case, lead: DepartmentId, co: tuple[DepartmentId, ...], by: ActorId
    ) -> None:
        if case.closed:
            return
        if self._state(case.issue_id).status is Status.REGISTERED:
            self._assign(case, lead, co, by, self._instant(self.loop.now))

    def _finish(self, case: _Case, token: int) -> None:
        if case.closed:
            return
        if token != case.token:
            return
        case.finish_at = None
        at = self._instant(self.loop.now)
        state = self._state(case.issue_id)
        if state.status is not Status.IN_PROGRESS or state.lead is None:
            return
        lead = state.lead
        self._do(ResolveIssue(case.issue_id, "solved"), ActorId(f"staff:{lead}"), at)
        self._release(lead)
        if case.need != "village":
            self.counters["solved_via_mechanism"] += 1 if state.cycle == 1 else 0
        evaluated = self._after_working_days(at, self.scenario.behaviour.evaluation_delay_days)
        self._schedule_at(evaluated, _bind(self._evaluate, case))

    def _evaluate(self, case: _Case) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        state = self._state(case.issue_id)
        if state.status is not Status.RESOLVED:
            return
        behaviour = self.scenario.behaviour
        rng = self.streams["evaluation"]
        draw = rng.random()
        if draw < behaviour.third_party_share:
            kind, actor = EvaluatorKind.THIRD_PARTY, ActorId("survey")
        elif draw < behaviour.third_party_share + 0.1 * (1 - behaviour.third_party_share):
            kind, actor = EvaluatorKind.EXPERIENCE_OFFICER, ActorId("experience-officer")
        else:
            kind, actor = EvaluatorKind.REPORTER, ActorId(f"reporter:{case.village}")
        chance = behaviour.satisfied_on_time if state.resolved_on_time else behaviour.satisfied_late
        satisfied = rng.random() < chance
        score = round(min(100.0, max(0.0, rng.gauss(88 if satisfied else 45, 8))), 1)
        self._do(EvaluateResolution(case.issue_id, kind, satisfied, score), actor, at)
        official = ActorId(f"official:{state.unit}")
        if satisfied:
            self._do(ArchiveIssue(case.issue_id), official, at)
            if case.task_force is not None:
                self._resolve_plan(case, at)
            self._retire(case)
        else:
            assert state.resolving_department is not None
            self._do(ReopenIssue(case.issue_id, "not satisfied"), official, at)
            self._do(
                AcceptAssignment(case.issue_id), ActorId(f"staff:{state.resolving_department}"), at
            )
            self._watch_deadline(case)
            self._enqueue(case, state.resolving_department)

    def _retire(self, case: _Case) -> None:
        """In a metrics-only run, count an archived problem and forget it."""
        if self.keep_events:
            return
        self.retired.add(self._state(case.issue_id), case.need, self.calendar)
        case.closed = True
        del self.cases[case.issue_id]
        self.service.evict(case.issue_id)
        self._finished(case.issue_id)

    # -- deadlines, supervision, accountability -------------------------------------------------

    def _watch_deadline(self, case: _Case) -> None:
        state = self._state(case.issue_id)
        if state.due_at is None:
            return
        due_at = state.due_at
        self._schedule_at(
            due_at + timedelta(minutes=1), _bind(self._observe, case, due_at), _P_OBSERVE
        )

    def _observe(self, case: _Case, due_at: datetime) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        state = self._state(case.issue_id)
        if state.due_at != due_at or not state.is_overdue(at):
            return
        self._do(ObserveDeadline(case.issue_id), ActorId("system"), at)
        knobs = self.policy.knobs
        if knobs.supervision > 0 and not case.supervised:
            check = self.calendar.add_workdays(at, knobs.supervision_after_days)
            check_at = datetime.combine(check, self._first_period, tzinfo=self.calendar.zone)
            self._schedule_at(check_at, _bind(self._supervise, case, due_at), _P_OBSERVE)

    def _supervise(self, case: _Case, due_at: datetime) -> None:
        if case.closed:
            return
        at = self._instant(self.loop.now)
        state = self._state(case.issue_id)
        knobs = self.policy.knobs
        if state.due_at != due_at or not state.is_overdue(at):
            return
        if self.streams["supervision"].random() >= knobs.supervision:
            return
        rule = OverdueRule(min_working_days=max(0, knobs.supervision_after_days - 1))
        proposals = rule.propose([state], at, self.calendar)
        if not proposals:
            return
        context = self._supervision_context(at)
        order_id = self._ids.order()
        events = order_supervision(
            proposals[0], state, context, order_id=order_id, team="联合督查组"
        )
        self._record(events)
        order = None
        for event in events:
            order = evolve_order(order, event)
        assert order is not None
        self._orders[order_id] = order
        case.order = order_id
        case.supervised = True
        self.counters["supervision_orders"] += 1
        # Supervision speeds the department up: the work still left takes less time.
        self._speed_up(case, 1 - knobs.supervision_speedup)
        self._schedule_at(
            order.due_at + timedelta(minutes=1), _bind(self._account, order_id), _P_OBSERVE
        )

    def _order_closed(self, event: SupervisionOrderClosed) -> None:
        """An order the service closed with its issue's move: the problem has none open."""
        orders = self._orders
        order = evolve_order(orders[event.order_id], event)
        case = self.cases.get(order.issue_id)
        if case is not None:
            case.order = None
        # An order that closed after its deadline waits for ``_account``, unless that
        # already ran (and recorded it overdue).
        assert order.closed_at is not None
        if order.closed_at <= order.due_at or order.overdue_recorded:
            del orders[order.order_id]
        else:
            orders[order.order_id] = order
        self._finished(order.order_id)

    def _account(self, order_id: str) -> None:
        """At the order's deadline: record it overdue if still open; maybe accountability."""
        order = self._orders.get(order_id)
        if order is None:  # closed by its deadline: met
            return
        at = self._instant(self.loop.now)
        if order.is_open:
            overdue = observe_orders(
                [order], at, actor=ActorId("system"), new_event_id=self._ids.event
            )
            self._record(overdue)
            for event in overdue:
                order = evolve_order(order, event)
            self._orders[order_id] = order
        else:  # closed after its deadline: accounted for now
            del self._orders[order_id]
        if not order.unmet_at(at):
            return
        if self.streams["accountability"].random() >= self.policy.knobs.accountability:
            return
        evidence = Evidence(at, (order,), (), self.department_units)  # type: ignore[arg-type]
        proposals = propose_accountability(
            [UnmetOrdersRule(min_orders=1)], evidence, existing=self._accountable
        )
        if not proposals:
            return
        rng = self.streams["accountability"]
        outcome = (
            AccountabilityOutcome.DISCIPLINARY_SANCTION
            if rng.random() < self.policy.knobs.sanction_share
            else AccountabilityOutcome.ADMONISHMENT
        )
        events = record_accountability(
            proposals[0],
            self._supervision_context(at),
            record_id=self._ids.record(),
            outcome=outcome,
        )
        self._record(events, final=True)
        self._accountable.extend(events)
        self.counters["accountability"] += 1
        if outcome is AccountabilityOutcome.DISCIPLINARY_SANCTION:
            self.counters["sanctions"] += 1

    # -- task forces ------------------------------------------------------------------------

    def _detect_common_problem(self, case: _Case, at: datetime) -> None:
        """Set up a city task force when problems of the new one's category are common.

        The candidates are the open problems of the category that need the town or the
        city, registered within the window and not linked yet; the library's
        :class:`~closedloop.taskforces.CommonProblemRule` decides whether they come
        from enough distinct villages.
        """
        rule = self._task_force_rule
        assert rule is not None
        candidates = self._candidates.setdefault(case.category, deque())
        candidates.append(case.issue_id)
        start = self._window_start(at)
        cases = self.cases
        while candidates and (
            candidates[0] not in cases
            or cases[candidates[0]].task_force is not None
            or self._state(candidates[0]).registered_at < start
        ):
            candidates.popleft()
        if len(candidates) < rule.min_units:
            return
        states = [self._state(i) for i in candidates if i in cases and cases[i].task_force is None]
        proposals = attrs.evolve(rule, window=at - start).detect(states, at)
        for proposal in proposals:
            self._create_task_force(proposal, at)
        if proposals:
            self._candidates[case.category] = deque(
                i for i in candidates if i in cases and cases[i].task_force is None
            )

    def _window_start(self, at: datetime) -> datetime:
        """The instant ``task_force_window_days`` working days before ``at``."""
        days = self.policy.knobs.task_force_window_days
        try:
            first = self.calendar.add_workdays(self.calendar.day_of(at), -days)
        except CoverageError:
            return self.start
        return datetime.combine(first, at.timetz())

    def _task_force_context(self, at: datetime) -> TaskForceContext:
        return TaskForceContext(
            self.actors[ActorId(f"official:{self.city}")], at, self.access, self._ids.event
        )

    def _task_force_step(
        self, state: TaskForceState | None, command: TaskForceCommand, at: datetime
    ) -> tuple[TaskForceState, list[TaskForceEvent]]:
        events = decide_task_force(command, state, self._task_force_context(at))
        for event in events:
            state = evolve_task_force(state, event)
        assert state is not None
        return state, events

    def _create_task_force(self, proposal: TaskForceProposal, at: datetime) -> None:
        """工作专班: the city sets up a task force with one plan per problem (一企一策)."""
        task_force_id = f"taskforce-{self._ids()}"
        route = self.router.find_route(proposal.category, self.city, at)
        departments = (
            tuple(d.id for d in (route.lead, *route.co_handlers)) if route is not None else ()
        )
        command = proposal.create(
            task_force_id,
            name=f"{proposal.category} task force",
            unit=self.city,
            leader=f"official:{self.city}",
            departments=departments,
        )
        state, events = self._task_force_step(None, command, at)
        for issue_id in proposal.issue_ids:
            issue = self._state(issue_id)
            plan = RecordPlan(
                task_force_id,
                issue_id,
                issue.origin_unit,
                f"plan for {proposal.category} at {issue.origin_unit}",
                (issue.lead,) if issue.lead is not None else departments[:1],
                issue.due_date,
            )
            state, planned = self._task_force_step(state, plan, at)
            events.extend(planned)
        self._record(events)
        self._task_forces[task_force_id] = state
        speed = 1 - self.policy.knobs.task_force_speedup
        for issue_id in proposal.issue_ids:
            case = self.cases[issue_id]
            case.task_force = task_force_id
            self._speed_up(case, speed)

    def _resolve_plan(self, case: _Case, at: datetime) -> None:
        """The problem is archived: its plan is carried out; the task force may close."""
        task_force_id = case.task_force
        assert task_force_id is not None
        state, events = self._task_force_step(
            self._task_forces[task_force_id], ResolvePlan(task_force_id, case.issue_id), at
        )
        if state.can_close:
            state, closed = self._task_force_step(
                state, CloseTaskForce(task_force_id, "every plan resolved"), at
            )
            events.extend(closed)
        self._record(events, final=not state.is_open)
        if state.is_open:
            self._task_forces[task_force_id] = state
        else:
            del self._task_forces[task_force_id]

    def _supervision_context(self, at: datetime) -> SupervisionContext:
        return SupervisionContext(
            self.actors[ActorId("supervisor")],
            at,
            self.calendar,
            self.access,
            self._ids.event,
            self.department_units,  # type: ignore[arg-type]
        )

    # -- downward meetings ---------------------------------------------------------------

    def _paused(self, day: date) -> bool:
        return any(first <= day <= last for first, last in self.scenario.meeting_pauses)

    def _schedule_meetings(self, policy: DownwardMeetings) -> None:
        scenario = self.scenario
        for town in self.towns:
            for day in policy.town_cadence.dates(self.calendar, scenario.start, scenario.end):
                if not self._paused(day):
                    at = datetime.combine(day, time(9, 0), tzinfo=self.calendar.zone)
                    self._schedule_at(at, _bind(self._town_meeting, town), _P_MEETING)
        visits = plan_monthly_visits(
            self.hierarchy,
            self.city,
            self.calendar,
            scenario.start,
            scenario.end,
            days=policy.city_cadence,
        )
        rounds = policy.city_rounds_per_month
        for visit in visits:
            for r in range(rounds):
                # Further rounds follow the first at equal steps of about a month's
                # twenty-one working days.
                day = (
                    self.calendar.add_workdays(visit.day, round(r * 21 / rounds))
                    if r
                    else visit.day
                )
                if day <= scenario.end and not self._paused(day):
                    at = datetime.combine(day, time(14, 30), tzinfo=self.calendar.zone)
                    self._schedule_at(at, _bind(self._city_meeting, visit.host_unit), _P_MEETING)

    def _waiting(self, unit: UnitId) -> list[IssueState]:
        """Problems handled at ``unit`` that wait for someone to take them up."""
        return [
            s
            for s in self.service.projection.open_issues(unit=unit)
            if s.status is Status.REGISTERED
        ]

    def _demand(
        self, host: UnitId, convener: UnitId, waiting: list[IssueState], at: datetime
    ) -> list[DemandItem]:
        if not waiting:
            return []
        demand = compile_demand_list(
            host,
            convener,
            waiting,
            at=at,
            calendar=self.calendar,
            hierarchy=self.hierarchy,
            router=self.router,
            policy=self.deadline_policy,
        )
        return list(demand.items)

    def _town_meeting(self, town: UnitId) -> None:
        """镇会村开: the town's leader goes down to a village with the town's sections.

        The host is the village whose demand list has the most pressing item; the
        meeting takes up the town's waiting problems in demand-list priority order
        (the host's and, as a "流动会议室", its neighbours'), up to the agenda limit.
        Problems that need the city go onto the city's demand list (escalated).
        """
        policy = self.policy
        assert isinstance(policy, DownwardMeetings)
        at = self._instant(self.loop.now)
        waiting = self._waiting(town)
        if not waiting and policy.skip_empty:
            return
        by_village: dict[UnitId, list[IssueState]] = {}
        for state in waiting:
            by_village.setdefault(self.cases[state.issue_id].village, []).append(state)
        items: list[DemandItem] = []
        for village in sorted(by_village):
            items.extend(self._demand(village, town, by_village[village], at))
        items.sort(key=priority_key)
        agenda = items[: policy.max_agenda]
        host = self.cases[agenda[0].issue_id].village if agenda else self.villages[town][0]
        decisions: list[MeetingDecision] = []
        needs: list[AgendaNeed] = []
        for item in agenda:
            if self.cases[item.issue_id].need == "city" or item.route is None:
                decisions.append(
                    MeetingDecision(item.issue_id, DecisionKind.ESCALATE, note="needs the city")
                )
            else:
                needs.append(AgendaNeed.from_route(item.issue_id, item.route))
        plan = plan_attendees(needs, max_size=policy.max_attendees)
        decisions += decisions_as_planned(plan)
        self._hold(town, host, agenda, plan.departments, decisions, "town", at)

    def _city_meeting(self, town: UnitId) -> None:
        """市会镇开: the city's leader goes down to a town after its demand list."""
        policy = self.policy
        assert isinstance(policy, DownwardMeetings)
        at = self._instant(self.loop.now)
        waiting = [s for s in self._waiting(self.city) if self.cases[s.issue_id].town == town]
        if not waiting and policy.skip_empty:
            return
        agenda = self._demand(town, self.city, waiting, at)[: policy.max_agenda]
        needs = [AgendaNeed.from_route(i.issue_id, i.route) for i in agenda if i.route is not None]
        plan = plan_attendees(needs, max_size=policy.max_attendees)
        decisions = decisions_as_planned(plan)
        self._hold(self.city, town, agenda, plan.departments, decisions, "city", at)

    def _hold(
        self,
        convener: UnitId,
        host: UnitId,
        agenda: list[DemandItem],
        attendees: tuple[DepartmentId, ...],
        decisions: list[MeetingDecision],
        kind: str,
        at: datetime,
    ) -> None:
        policy = self.policy
        assert isinstance(policy, DownwardMeetings)
        held, events = self.service.hold_meeting(
            self.actors[ActorId(f"official:{convener}")],
            host=host,
            agenda=agenda,
            attendees=attendees,
            decisions=decisions,
            meeting_id=self._ids.meeting(),
            duration_minutes=max(1, round(policy.meeting_hours * 60)),
            at=at,
        )
        self._fold_stored()
        self._finished(held.stream_id)
        self.counters[f"meetings_{kind}"] += 1
        self.counters["leader_hours"] += policy.meeting_hours
        self.counters["department_hours"] += policy.meeting_hours * len(attendees)
        for event in events:
            if isinstance(event, IssueAssigned):
                case = self.cases[event.issue_id]
                case.decided_at_meeting = True
                case.handling_factor = policy.handling_factor
                self._watch_deadline(case)
                self._enqueue(case, event.lead)


# -- helpers ------------------------------------------------------------------------------


def _bind(function: Callable[..., None], *args: Any) -> Callable[[], None]:
    return lambda: function(*args)


def _poisson(rng: random.Random, mean: float) -> int:
    """An exact Poisson draw (Knuth's product method; fine for the small means used)."""
    if mean <= 0:
        return 0
    if mean > 30:
        # Split large means into a sum of small independent draws: still exact.
        parts = math.ceil(mean / 30)
        return sum(_poisson(rng, mean / parts) for _ in range(parts))
    limit = math.exp(-mean)
    count = 0
    product = rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _weighted(rng: random.Random, weights: Any) -> Any:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _with_committees(
    departments: Departments, committees: dict[UnitId, DepartmentId]
) -> Departments:
    """The scenario's departments plus a committee for every village-level unit."""
    added = [
        Department(
            committee, f"committee of {village}", village, DepartmentKind.SECTION, _COMMITTEE
        )
        for village, committee in committees.items()
    ]
    return Departments([*departments, *added])


def _actors_and_access(
    hierarchy: Any, departments: Departments, city: UnitId
) -> tuple[dict[ActorId, Actor], AccessPolicy]:
    """One official per unit, one clerk per department, reporters, evaluators, the system."""
    actors: dict[ActorId, Actor] = {}
    grants: list[Grant] = []
    standard = AccessPolicy.standard_grants
    for unit in hierarchy:
        official = Actor(ActorId(f"official:{unit.id}"), ActorKind.OFFICIAL, unit=unit.id)
        actors[official.id] = official
        grants.extend(standard(official))
        if hierarchy.parent(unit.id) is not None and not hierarchy.children(unit.id):
            reporter = Actor(ActorId(f"reporter:{unit.id}"), ActorKind.REPORTER, unit=unit.id)
            actors[reporter.id] = reporter
            grants.extend(standard(reporter))
    for department in departments:
        staff = Actor(
            ActorId(f"staff:{department.id}"),
            ActorKind.DEPARTMENT_STAFF,
            unit=department.unit,
            department=department.id,
        )
        actors[staff.id] = staff
        grants.extend(standard(staff, scope_unit=city))
    for actor_id, kind in (
        ("survey", ActorKind.THIRD_PARTY_EVALUATOR),
        ("experience-officer", ActorKind.EXPERIENCE_OFFICER),
        ("system", ActorKind.SYSTEM),
    ):
        actor = Actor(ActorId(actor_id), kind)
        actors[actor.id] = actor
        grants.extend(standard(actor, scope_unit=city))
    supervisor = Actor(ActorId("supervisor"), ActorKind.SUPERVISOR, unit=city)
    actors[supervisor.id] = supervisor
    grants.extend(standard(supervisor))
    return actors, AccessPolicy(hierarchy, grants, actors.values())


class _IdMaker:
    """Deterministic UUID-shaped ids: a seed-derived prefix and a counter."""

    __slots__ = ("_counter", "_prefix")

    def __init__(self, seed: int, replication: int) -> None:
        base = derive_seed(seed, replication, "ids")
        self._prefix = f"{base >> 32:08x}-{(base >> 16) & 0xFFFF:04x}-8{base & 0xFFF:03x}-"
        self._counter = 0

    def __call__(self) -> str:
        self._counter += 1
        n = self._counter
        return f"{self._prefix}{0x8000 | (n >> 48) & 0x3FFF:04x}-{n & 0xFFFFFFFFFFFF:012x}"

    def event(self) -> EventId:
        return EventId(self())

    def issue(self) -> str:
        return self()

    def visit(self) -> str:
        return f"visit-{self()}"

    def order(self) -> str:
        return f"order-{self()}"

    def record(self) -> str:
        return f"record-{self()}"

    def meeting(self) -> str:
        return f"meeting-{self()}"


class _WorkClock:
    """Working time on the scenario's calendar, for instants in minutes since the start.

    Equal to :meth:`WorkCalendar.add_working_time` on the run's period, but on tables
    built once: the simulation adds working time to instants tens of thousands of
    times. Minutes count local wall time from midnight of the first day.
    """

    __slots__ = ("_before", "_days", "_ends", "_is_work", "_per_day", "_starts")

    _MARGIN_DAYS = 730
    """Days after the period the tables reach, for work that runs past its end."""

    def __init__(self, calendar: WorkCalendar, first: date, last: date) -> None:
        hours = calendar.working_hours
        assert hours is not None
        self._starts = [p[0].hour * 60 + p[0].minute + p[0].second / 60 for p in hours.periods]
        self._ends = [p[1].hour * 60 + p[1].minute + p[1].second / 60 for p in hours.periods]
        self._per_day = sum(e - s for s, e in zip(self._starts, self._ends, strict=True))
        count = (last - first).days + 1 + self._MARGIN_DAYS
        end_year = (first + timedelta(days=count)).year
        covered = calendar.covered_years
        self._is_work: list[bool] = []
        self._before: list[int] = []
        self._days: list[int] = []
        for index in range(count):
            day = first + timedelta(days=index)
            self._before.append(len(self._days))
            if day.year > covered[-1] and end_year > covered[-1]:
                # Beyond the calendar's data the tables stop: work is not scheduled there.
                break
            worked = calendar.is_workday(day)
            self._is_work.append(worked)
            if worked:
                self._days.append(index)

    def _worked_in_day(self, minute: float) -> float:
        total = 0.0
        for start, end in zip(self._starts, self._ends, strict=True):
            if minute <= start:
                break
            total += min(minute, end) - start
        return total

    def _minute_after(self, worked: float) -> float:
        for start, end in zip(self._starts, self._ends, strict=True):
            if worked <= end - start:
                return start + worked
            worked -= end - start
        return self._ends[-1]

    def _worked(self, at: float) -> float:
        """Working minutes from the start of the tables to ``at``."""
        day, minute = divmod(at, _MINUTES_PER_DAY)
        index = int(day)
        if index >= len(self._is_work):
            end = len(self._is_work) * _MINUTES_PER_DAY
            return len(self._days) * self._per_day + (at - end) / _MINUTES_PER_DAY * self._per_day
        worked = self._before[index] * self._per_day
        if self._is_work[index]:
            worked += self._worked_in_day(minute)
        return worked

    def between(self, start: float, end: float) -> float:
        """Working days of working time from ``start`` to ``end`` (minutes; 0 if before)."""
        if end <= start:
            return 0.0
        return (self._worked(end) - self._worked(start)) / self._per_day

    def add(self, at: float, days: float) -> float:
        """The instant (minutes) at which ``days`` working days have elapsed after ``at``.

        Beyond the tables (or for an unbounded amount of work) the instant is the end
        of the tables: such work does not finish within the run.
        """
        if days <= 0:
            return at
        limit = float(len(self._is_work) * _MINUTES_PER_DAY)
        if not days < math.inf:
            return max(at, limit)
        if at >= limit:
            # Whole days past the tables; a million of them is already far past any run.
            return at + min(days, 1e6) * _MINUTES_PER_DAY
        target = self._worked(at) + days * self._per_day
        if not target < math.inf:  # so much work that the count overflows
            return limit
        k, rest = divmod(target, self._per_day)
        k = int(k)
        if rest == 0 and k > 0:
            k, rest = k - 1, self._per_day
        if k >= len(self._days):
            return limit
        return self._days[k] * _MINUTES_PER_DAY + self._minute_after(rest)


class _MetricsOnlyStore(EventStore):
    """A store that checks versions and numbers positions but keeps only its last append.

    Used when a run keeps only metrics: events still go through the service (and so
    through ``decide``, versions and positions) and are folded into the metrics as they
    happen, but memory does not grow with the log. The versions of streams still
    written to are tracked (the simulation forgets finished ones); the events of the
    latest append stay readable, so the service can fold what it just stored (a
    meeting and its issues' events go in one append).
    """

    __slots__ = ("_closed", "_latest", "_position", "_versions")

    def __init__(self) -> None:
        self._versions: dict[str, int] = {}
        self._position = 0
        self._latest: list[tuple[int, Sequence[StreamEvent]]] = []
        self._closed = False

    def append_many(self, batches: Iterable[Batch]) -> list[AppendResult]:
        versions = self._versions
        changed: dict[str, int] = {}
        latest: list[tuple[int, Sequence[StreamEvent]]] = []
        results = []
        position = self._position
        for stream_id, events, expected in batches:
            current = changed.get(stream_id, versions.get(stream_id, 0))
            wanted = 0 if expected is ExpectedVersion.NO_STREAM else expected
            if isinstance(wanted, int) and wanted != current:
                raise ConcurrencyError(stream_id, expected, current)
            if not events:
                results.append(AppendResult(stream_id, current, 0, 0))
                continue
            latest.append((position + 1, events))
            position += len(events)
            changed[stream_id] = events[-1].version
            results.append(AppendResult(stream_id, events[-1].version, latest[-1][0], position))
        # All or nothing: nothing changes until every batch is checked.
        versions.update(changed)
        self._position = position
        self._latest = latest
        return results

    def read_stream(self, stream_id: str, *, after_version: int = 0) -> list[StreamEvent]:
        return []

    def stream_version(self, stream_id: str) -> int:
        return self._versions.get(stream_id, 0)

    def forget(self, stream_id: str) -> None:
        """Stop tracking a closed stream (nothing will be appended to it again)."""
        self._versions.pop(stream_id, None)

    def read_all(self, *, after_position: int = 0, limit: int | None = None) -> Iterator[Recorded]:
        """The events of the latest append after ``after_position`` (older ones are gone)."""
        found = [
            Recorded(first + offset, event)
            for first, events in self._latest
            for offset, event in enumerate(events)
            if first + offset > after_position
        ]
        return iter(found if limit is None else found[:limit])

    def last_position(self) -> int:
        return self._position

    def stream_ids(self) -> Iterator[str]:
        return iter(self._versions)

    def close(self) -> None:
        self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed


def _check_run(
    scenario: object, policy: object, seed: object, replication: object, keep_events: object
) -> None:
    if not isinstance(scenario, Scenario):
        raise ConfigurationError(f"scenario must be a Scenario, got {scenario!r}")
    if not isinstance(policy, Baseline | DownwardMeetings):
        raise ConfigurationError(
            f"policy must be a Baseline or DownwardMeetings value (e.g. Baseline()), got {policy!r}"
        )
    for name, value in (("seed", seed), ("replication", replication)):
        if not _is_whole(value):
            raise ConfigurationError(f"{name} must be a whole number, got {value!r}")
    if not isinstance(keep_events, bool):
        raise ConfigurationError(f"keep_events must be True or False, got {keep_events!r}")


def simulate(
    scenario: Scenario,
    policy: Policy,
    *,
    seed: int = 0,
    replication: int = 0,
    keep_events: bool = False,
) -> SimulationResult:
    """Run one replication and return its result (see :class:`Simulation`).

    Keeps only the metrics by default, like :class:`Simulation`; pass
    ``keep_events=True`` for the event log in ``result.events``.

    Raises:
        ConfigurationError: for a scenario, policy, seed, replication or flag of the
            wrong kind.
    """
    return Simulation(
        scenario, policy, seed=seed, replication=replication, keep_events=keep_events
    ).run()
