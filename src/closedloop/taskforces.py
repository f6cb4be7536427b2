"""Task forces (工作专班): one effort for a problem many units share, one plan per unit.

When many units report the same kind of problem (Yiwu found 93 firms held back by the
same industrial-land certificate problem), solving it issue by issue wastes everyone's
time. :class:`CommonProblemRule` detects such problems: issues of one category,
registered within a time window, from at least N distinct units (the units where they
were registered); optionally only issues whose titles are alike, by the Jaccard
similarity of their tokens (:func:`title_similarity`). Each finding is a
:class:`TaskForceProposal` that names its issues, units and window.

A task force is its own event stream (stream id = task force id). Commands go through
:func:`decide_task_force`, which checks them against the task force's state and
``Action.MANAGE_TASK_FORCE`` and returns events:

* :class:`CreateTaskForce` → :class:`TaskForceCreated` (name, the leading official
  (牵头领导), the departments, the issues linked at the start);
* :class:`LinkIssue` → :class:`IssueLinked` (one more issue);
* :class:`RecordPlan` → :class:`PlanRecorded` (the per-unit plan, 一企一策, for one
  linked issue; recording again revises a plan that is not resolved yet);
* :class:`ResolvePlan` → :class:`PlanResolved`;
* :class:`CloseTaskForce` → :class:`TaskForceClosed`, **only** when at least one issue
  is linked and every linked issue has a plan and every plan is resolved; otherwise a
  :class:`~closedloop.CommandError` says the task force has no linked issue, or names
  the issues still without a plan or with an unresolved one.

A downward meeting may refer an issue to a task force (``DecisionKind.TASK_FORCE``,
``MeetingDecision.task_force`` naming it). :func:`links_from_meetings` reads the held
meetings and returns the :class:`LinkIssue` commands that carry the referrals out (for
:func:`decide_task_force`, so access rules apply), skipping issues already linked, and
a :class:`ReferralProblem` for each referral that names no task force, an unknown one
or a closed one.

Linking an issue does not change its own lifecycle: it keeps its lead and deadline
(the article's plans were "assigned through the system with a time limit"). An
application that would rather track only the task force can withdraw the issue as
merged (``WithdrawalReason.MERGED`` with ``merged_into`` the task force id).

Pure: time and ids are passed in.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any, ClassVar, Final, NamedTuple

import attrs

from closedloop._checks import aware, whole_at_least
from closedloop.access import Action, Actor, Authorizer, Target, require_permission
from closedloop.errors import (
    CommandError,
    ConfigurationError,
    InvariantError,
)
from closedloop.ids import (
    ActorId,
    DepartmentId,
    EventId,
    IssueId,
    MeetingId,
    TaskForceId,
    UnitId,
)
from closedloop.lifecycle.state import IssueState, Status
from closedloop.meetings.events import DecisionKind, MeetingHeld
from closedloop.meetings.record import MeetingState, _held_in_order
from closedloop.supervision import Fact, _explain, _facts

__all__ = [
    "CloseTaskForce",
    "CommonProblemRule",
    "CreateTaskForce",
    "IssueLinked",
    "LinkIssue",
    "MeetingLinks",
    "PlanRecorded",
    "PlanResolved",
    "PlanState",
    "RecordPlan",
    "ReferralProblem",
    "ReferralProblemKind",
    "ResolvePlan",
    "TaskForceClosed",
    "TaskForceCommand",
    "TaskForceContext",
    "TaskForceCreated",
    "TaskForceEvent",
    "TaskForceProposal",
    "TaskForceState",
    "TaskForceStatus",
    "decide_task_force",
    "evolve_task_force",
    "links_from_meetings",
    "replay_task_force",
    "title_similarity",
    "title_tokens",
]


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise CommandError(f"expected a list of ids, not the string {value!r}")
    return tuple(dict.fromkeys(value))


# -- events -------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TaskForceEvent:
    """Base of a task force's events (stream id = ``task_force_id``)."""

    KIND: ClassVar[str] = "TaskForceEvent"
    """The stable type name written by codecs."""

    event_id: EventId
    task_force_id: TaskForceId
    version: int
    occurred_at: datetime
    actor: ActorId

    @property
    def stream_id(self) -> str:
        """The event stream the event belongs to: its task force."""
        return self.task_force_id


@attrs.frozen(kw_only=True)
class TaskForceCreated(TaskForceEvent):
    """工作专班: a task force was set up, led by an official, with its first issues."""

    KIND: ClassVar[str] = "TaskForceCreated"
    name: str
    unit: UnitId
    """The unit that set it up (its jurisdiction bounds the task force's work)."""
    category: str = ""
    leader: ActorId
    """The leading official (牵头领导)."""
    departments: tuple[DepartmentId, ...] = ()
    issue_ids: tuple[IssueId, ...] = ()
    reason: str = ""
    facts: tuple[Fact, ...] = attrs.field(default=(), converter=_facts)


@attrs.frozen(kw_only=True)
class IssueLinked(TaskForceEvent):
    """One more issue was linked to the task force."""

    KIND: ClassVar[str] = "IssueLinked"
    issue_id: IssueId
    note: str = ""


@attrs.frozen(kw_only=True)
class PlanRecorded(TaskForceEvent):
    """一企一策: the plan for one linked issue (its unit or firm) was recorded or revised."""

    KIND: ClassVar[str] = "PlanRecorded"
    issue_id: IssueId
    unit: UnitId
    """The unit (village, community, firm) the plan is for."""
    plan: str
    departments: tuple[DepartmentId, ...] = ()
    due_date: date | None = None
    revision: int = 1


@attrs.frozen(kw_only=True)
class PlanResolved(TaskForceEvent):
    """The plan for one linked issue was carried out."""

    KIND: ClassVar[str] = "PlanResolved"
    issue_id: IssueId
    summary: str = ""


@attrs.frozen(kw_only=True)
class TaskForceClosed(TaskForceEvent):
    """The task force finished: every plan is resolved."""

    KIND: ClassVar[str] = "TaskForceClosed"
    summary: str = ""


# -- state ----------------------------------------------------------------------------------


class TaskForceStatus(enum.Enum):
    """Whether a task force still works."""

    OPEN = "open"
    CLOSED = "closed"


@attrs.frozen
class PlanState:
    """The plan for one linked issue."""

    issue_id: IssueId
    unit: UnitId
    plan: str
    departments: tuple[DepartmentId, ...]
    due_date: date | None
    revision: int
    recorded_at: datetime
    resolved_at: datetime | None = None
    summary: str = ""

    @property
    def resolved(self) -> bool:
        """Whether the plan was carried out."""
        return self.resolved_at is not None


@attrs.frozen
class TaskForceState:
    """A task force as of its latest event (the fold of its stream)."""

    task_force_id: TaskForceId
    version: int
    name: str
    unit: UnitId
    category: str
    leader: ActorId
    departments: tuple[DepartmentId, ...]
    issue_ids: tuple[IssueId, ...]
    """Linked issues, in the order they were linked."""
    plans: Mapping[IssueId, PlanState]
    created_at: datetime
    updated_at: datetime
    status: TaskForceStatus = TaskForceStatus.OPEN
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """Whether the task force still works."""
        return self.status is TaskForceStatus.OPEN

    @property
    def without_plan(self) -> tuple[IssueId, ...]:
        """Linked issues that have no plan yet."""
        return tuple(i for i in self.issue_ids if i not in self.plans)

    @property
    def unresolved(self) -> tuple[IssueId, ...]:
        """Linked issues whose plan is not resolved (or that have none)."""
        plans = self.plans
        return tuple(i for i in self.issue_ids if i not in plans or not plans[i].resolved)

    @property
    def can_close(self) -> bool:
        """Whether :class:`CloseTaskForce` would be accepted by its plans.

        True when at least one issue is linked and every linked issue has a resolved
        plan: a task force with no linked issue has done nothing and cannot close.
        """
        return bool(self.issue_ids) and not self.unresolved


def _stream_error(state: TaskForceState | None, event: TaskForceEvent, why: str) -> InvariantError:
    at = f"at version {state.version}" if state is not None else "new"
    return InvariantError(
        f"task force {event.task_force_id!r} ({at}): {type(event).__name__} version "
        f"{event.version}: {why}"
    )


def evolve_task_force(state: TaskForceState | None, event: TaskForceEvent) -> TaskForceState:
    """The task force's state after ``event``.

    A ``TaskForceClosed`` needs every linked issue to have a resolved plan. A close of a
    task force with no linked issue is accepted here (older versions of
    :func:`decide_task_force` allowed it, and stored streams must keep replaying) even
    though the decider now refuses it.

    Raises:
        InvariantError: for an event that does not follow from the state.
    """
    if state is None:
        if not isinstance(event, TaskForceCreated) or event.version != 1:
            raise _stream_error(state, event, "the first event must be TaskForceCreated at 1")
        return TaskForceState(
            event.task_force_id,
            1,
            event.name,
            event.unit,
            event.category,
            event.leader,
            event.departments,
            event.issue_ids,
            MappingProxyType({}),
            event.occurred_at,
            event.occurred_at,
        )
    if event.task_force_id != state.task_force_id or event.version != state.version + 1:
        raise _stream_error(state, event, "wrong stream or version")
    if not state.is_open:
        raise _stream_error(state, event, "the task force is closed")
    if event.occurred_at < state.updated_at:
        raise _stream_error(state, event, "time went backwards")
    common: dict[str, Any] = {"version": event.version, "updated_at": event.occurred_at}
    if isinstance(event, IssueLinked):
        if event.issue_id in state.issue_ids:
            raise _stream_error(state, event, f"issue {event.issue_id!r} is already linked")
        return attrs.evolve(state, issue_ids=(*state.issue_ids, event.issue_id), **common)
    if isinstance(event, PlanRecorded):
        before = state.plans.get(event.issue_id)
        if event.issue_id not in state.issue_ids or (before is not None and before.resolved):
            raise _stream_error(state, event, f"no open plan slot for {event.issue_id!r}")
        plan = PlanState(
            event.issue_id,
            event.unit,
            event.plan,
            event.departments,
            event.due_date,
            event.revision,
            event.occurred_at,
        )
        plans = MappingProxyType({**state.plans, event.issue_id: plan})
        return attrs.evolve(state, plans=plans, **common)
    if isinstance(event, PlanResolved):
        before = state.plans.get(event.issue_id)
        if before is None or before.resolved:
            raise _stream_error(state, event, f"no unresolved plan for {event.issue_id!r}")
        resolved = attrs.evolve(before, resolved_at=event.occurred_at, summary=event.summary)
        plans = MappingProxyType({**state.plans, event.issue_id: resolved})
        return attrs.evolve(state, plans=plans, **common)
    if isinstance(event, TaskForceClosed):
        # Not ``can_close``: streams written before closing an empty task force was
        # refused may hold such a close, and the fold must keep replaying them.
        if state.unresolved:
            raise _stream_error(state, event, f"unresolved: {', '.join(state.unresolved)}")
        return attrs.evolve(
            state, status=TaskForceStatus.CLOSED, closed_at=event.occurred_at, **common
        )
    raise _stream_error(state, event, "not an event of this stream after creation")


def replay_task_force(events: Iterable[TaskForceEvent]) -> TaskForceState:
    """The task force's state from its whole stream.

    Raises:
        InvariantError: for an empty or inconsistent stream.
    """
    state: TaskForceState | None = None
    for event in events:
        state = evolve_task_force(state, event)
    if state is None:
        raise InvariantError("a task force needs at least its TaskForceCreated event")
    return state


# -- commands ---------------------------------------------------------------------------------


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise CommandError(f"expected a string, got {type(value).__name__}: {value!r}")
    return value


def _task_force_id(value: str) -> TaskForceId:
    return TaskForceId(_text(value))


def _issue_id(value: str) -> IssueId:
    return IssueId(_text(value))


def _unit_id(value: str) -> UnitId:
    return UnitId(_text(value))


def _actor_id(value: str) -> ActorId:
    return ActorId(_text(value))


def _issue_ids(value: Iterable[str]) -> tuple[IssueId, ...]:
    return tuple(IssueId(_text(v)) for v in _ids(value))


def _department_ids(value: Iterable[str]) -> tuple[DepartmentId, ...]:
    return tuple(DepartmentId(_text(v)) for v in _ids(value))


@attrs.frozen
class TaskForceCommand:
    """Base of the task force commands: it names the task force."""

    task_force_id: TaskForceId = attrs.field(converter=_task_force_id)


@attrs.frozen
class CreateTaskForce(TaskForceCommand):
    """Set up a task force under ``unit``, led by ``leader``, linking ``issue_ids``."""

    name: str
    unit: UnitId = attrs.field(converter=_unit_id)
    leader: ActorId = attrs.field(converter=_actor_id)
    category: str = ""
    departments: tuple[DepartmentId, ...] = attrs.field(default=(), converter=_department_ids)
    issue_ids: tuple[IssueId, ...] = attrs.field(default=(), converter=_issue_ids)
    reason: str = ""
    facts: tuple[Fact, ...] = attrs.field(default=(), converter=_facts)


@attrs.frozen
class LinkIssue(TaskForceCommand):
    """Link one more issue."""

    issue_id: IssueId = attrs.field(converter=_issue_id)
    note: str = ""


@attrs.frozen
class RecordPlan(TaskForceCommand):
    """Record (or revise) the plan for a linked issue, for its unit or firm."""

    issue_id: IssueId = attrs.field(converter=_issue_id)
    unit: UnitId = attrs.field(converter=_unit_id)
    plan: str
    departments: tuple[DepartmentId, ...] = attrs.field(default=(), converter=_department_ids)
    due_date: date | None = None


@attrs.frozen
class ResolvePlan(TaskForceCommand):
    """Mark the plan for a linked issue as carried out."""

    issue_id: IssueId = attrs.field(converter=_issue_id)
    summary: str = ""


@attrs.frozen
class CloseTaskForce(TaskForceCommand):
    """Close the task force (only when every plan is resolved)."""

    summary: str = ""


class TaskForceContext(NamedTuple):
    """Who acts, when, under which access rules, and where event ids come from."""

    actor: Actor
    at: datetime
    access: Authorizer
    new_event_id: Callable[[], EventId]


def _refuse(task_force_id: str, command: TaskForceCommand, why: str) -> CommandError:
    return CommandError(f"task force {task_force_id!r}: cannot {type(command).__name__}: {why}")


def decide_task_force(
    command: TaskForceCommand, state: TaskForceState | None, context: TaskForceContext
) -> list[TaskForceEvent]:
    """The events ``command`` produces from ``state``; changes nothing.

    Raises:
        CommandError: the command does not fit the task force's state (already exists,
            does not exist, closed, issue not linked or already linked, plan already
            resolved, closing a task force with no linked issue, closing with issues
            without a resolved plan) or its arguments are unusable.
        PermissionDeniedError: the actor may not manage task forces in the unit.
        NaiveDatetimeError: the decision time has no time zone.
    """
    at = aware(context.at, "the decision time")
    tf = command.task_force_id
    if isinstance(command, CreateTaskForce):
        if state is not None:
            raise _refuse(tf, command, "a task force with this id already exists")
        if not tf:
            raise CommandError("a task force needs a non-empty id")
        if not command.name.strip():
            raise _refuse(tf, command, "a task force needs a name")
        if not command.leader:
            raise _refuse(tf, command, "a task force needs a leading official")
        _authorize(context, Target(command.unit, command.category or None))
        return [
            TaskForceCreated(
                event_id=context.new_event_id(),
                task_force_id=tf,
                version=1,
                occurred_at=at,
                actor=context.actor.id,
                name=command.name,
                unit=command.unit,
                category=command.category,
                leader=command.leader,
                departments=command.departments,
                issue_ids=command.issue_ids,
                reason=command.reason,
                facts=command.facts,
            )
        ]
    if state is None:
        raise _refuse(tf, command, "no such task force")
    if tf != state.task_force_id:
        raise CommandError(f"command for task force {tf!r} applied to {state.task_force_id!r}")
    if not state.is_open:
        raise _refuse(tf, command, "the task force is closed")
    if at < state.updated_at:
        raise _refuse(
            tf,
            command,
            f"{at.isoformat()} is earlier than its last event at "
            f"{state.updated_at.isoformat()}; the clock must not go backwards",
        )
    base: dict[str, Any] = {
        "task_force_id": tf,
        "version": state.version + 1,
        "occurred_at": at,
        "actor": context.actor.id,
    }
    event: TaskForceEvent
    if isinstance(command, LinkIssue):
        if command.issue_id in state.issue_ids:
            raise _refuse(tf, command, f"issue {command.issue_id!r} is already linked")
        _authorize(context, Target(state.unit, state.category or None))
        event = IssueLinked(
            event_id=context.new_event_id(), issue_id=command.issue_id, note=command.note, **base
        )
    elif isinstance(command, RecordPlan):
        if command.issue_id not in state.issue_ids:
            raise _refuse(tf, command, f"issue {command.issue_id!r} is not linked")
        before = state.plans.get(command.issue_id)
        if before is not None and before.resolved:
            raise _refuse(tf, command, f"the plan for {command.issue_id!r} is already resolved")
        if not command.plan.strip():
            raise _refuse(tf, command, "a plan needs a text")
        _authorize(context, Target(state.unit, state.category or None))
        event = PlanRecorded(
            event_id=context.new_event_id(),
            issue_id=command.issue_id,
            unit=command.unit,
            plan=command.plan,
            departments=command.departments,
            due_date=command.due_date,
            revision=1 if before is None else before.revision + 1,
            **base,
        )
    elif isinstance(command, ResolvePlan):
        before = state.plans.get(command.issue_id)
        if before is None:
            raise _refuse(tf, command, f"issue {command.issue_id!r} has no plan")
        if before.resolved:
            raise _refuse(tf, command, f"the plan for {command.issue_id!r} is already resolved")
        _authorize(context, Target(state.unit, state.category or None))
        event = PlanResolved(
            event_id=context.new_event_id(),
            issue_id=command.issue_id,
            summary=command.summary,
            **base,
        )
    elif isinstance(command, CloseTaskForce):
        if not state.issue_ids:
            raise _refuse(
                tf,
                command,
                "it has no linked issue, so there is no plan to have resolved; a task "
                "force closes only once it has linked issues (at creation or with "
                "LinkIssue) and every one of their plans is resolved",
            )
        if not state.can_close:
            missing = state.without_plan
            pending = tuple(i for i in state.unresolved if i not in missing)
            parts = []
            if missing:
                parts.append(f"no plan for {', '.join(missing)}")
            if pending:
                parts.append(f"plan not resolved for {', '.join(pending)}")
            raise _refuse(
                tf,
                command,
                "a task force closes only when every plan is resolved; " + "; ".join(parts),
            )
        _authorize(context, Target(state.unit, state.category or None))
        event = TaskForceClosed(event_id=context.new_event_id(), summary=command.summary, **base)
    else:
        raise CommandError(f"not a task force command: {command!r}")
    return [event]


def _authorize(context: TaskForceContext, target: Target) -> None:
    require_permission(context.access, context.actor, Action.MANAGE_TASK_FORCE, target, context.at)


# -- referrals from meetings ---------------------------------------------------------------------


class ReferralProblemKind(enum.Enum):
    """Why a meeting's referral to a task force gives no link."""

    NO_TASK_FORCE_NAMED = "no_task_force_named"
    """The ``TASK_FORCE`` decision does not say which task force takes the issue."""
    UNKNOWN_TASK_FORCE = "unknown_task_force"
    """No task force with the named id was given (not set up yet, or a wrong id)."""
    CLOSED_TASK_FORCE = "closed_task_force"
    """The named task force is closed and takes no more issues."""


@attrs.frozen
class ReferralProblem:
    """A meeting's ``TASK_FORCE`` decision that cannot become a link, and why.

    Attributes:
        meeting_id: the meeting that decided.
        issue_id: the issue it referred.
        task_force_id: the task force it named (``None`` when it named none).
        kind: what is wrong.
        detail: one sentence: what is wrong and what to do about it.
    """

    meeting_id: MeetingId
    issue_id: IssueId
    task_force_id: TaskForceId | None
    kind: ReferralProblemKind
    detail: str


class MeetingLinks(NamedTuple):
    """What the meeting records imply for task forces: links to make, referrals that fail."""

    links: tuple[LinkIssue, ...]
    """The commands to run through :func:`decide_task_force`, in the order decided."""
    problems: tuple[ReferralProblem, ...]
    """The referrals that give no link, in the order decided."""


_REFERRAL_DETAIL: Final = {
    ReferralProblemKind.NO_TASK_FORCE_NAMED: (
        "meeting {meeting!r} referred issue {issue!r} to a task force without naming it; "
        "link the issue by hand (LinkIssue) to the task force meant"
    ),
    ReferralProblemKind.UNKNOWN_TASK_FORCE: (
        "meeting {meeting!r} referred issue {issue!r} to task force {tf!r}, which is "
        "unknown; set it up (CreateTaskForce) with that id and take the meeting records "
        "again, or link the issue to another task force"
    ),
    ReferralProblemKind.CLOSED_TASK_FORCE: (
        "meeting {meeting!r} referred issue {issue!r} to task force {tf!r}, which is "
        "closed and takes no more issues; link the issue to an open task force or "
        "handle it on its own"
    ),
}


def _referral_problem(
    tf: TaskForceId | None, state: TaskForceState | None
) -> ReferralProblemKind | None:
    if tf is None:
        return ReferralProblemKind.NO_TASK_FORCE_NAMED
    if state is None:
        return ReferralProblemKind.UNKNOWN_TASK_FORCE
    if not state.is_open:
        return ReferralProblemKind.CLOSED_TASK_FORCE
    return None


def links_from_meetings(
    meetings: Iterable[MeetingState | MeetingHeld],
    task_forces: Iterable[TaskForceState],
) -> MeetingLinks:
    """The :class:`LinkIssue` commands that carry out meetings' task-force referrals.

    A held meeting may decide that an issue goes to a task force
    (``DecisionKind.TASK_FORCE`` with ``MeetingDecision.task_force`` naming it). For each
    such decision this returns a ``LinkIssue`` for the named task force, with a note
    naming the meeting (and the decision's minute), unless the issue is already linked
    to it, by an earlier call or by hand, or an earlier referral in ``meetings`` links
    it already: running the result through :func:`decide_task_force` and calling again
    with the new states gives no links. The links are commands, not events, so the
    task force's rules and ``Action.MANAGE_TASK_FORCE`` apply as for any link.

    ``meetings`` are meeting states (:class:`~closedloop.meetings.MeetingState`) or
    their :class:`~closedloop.meetings.MeetingHeld` events, in any order; meetings not
    held (scheduled or cancelled) decided nothing and are passed over. Referrals are
    taken in the order the meetings were held (then by meeting id), and each meeting's
    decisions in the order it recorded them. ``task_forces`` are the current states.

    A referral that cannot become a link is returned in ``problems`` rather than
    raised: the meeting record is history nobody can edit, so an error would block the
    valid referrals of every later call over one that can only be dealt with by hand
    (set up the named task force, or refer the issue to an open one). The problems
    come from the record, so each call reports them again; pass only the meetings not
    looked at yet to see only new ones (the links make passing them again harmless).

    Raises:
        CommandError: a value in ``meetings`` that is neither a meeting state nor a
            ``MeetingHeld`` event, or two different states given for one task force.
    """
    by_id: dict[TaskForceId, TaskForceState] = {}
    for given in task_forces:
        seen = by_id.setdefault(given.task_force_id, given)
        if seen != given:
            raise CommandError(
                f"two different states given for task force {given.task_force_id!r} "
                f"(versions {seen.version} and {given.version}); give its current one"
            )
    held = _held_in_order(meetings, caller="links_from_meetings", error=CommandError)
    linked = {(tf, issue) for tf, known in by_id.items() for issue in known.issue_ids}
    reported: set[tuple[str, str]] = set()
    links: list[LinkIssue] = []
    problems: list[ReferralProblem] = []
    for record in held:
        meeting_id = record.meeting_id
        for decision in record.decisions:
            if decision.kind is not DecisionKind.TASK_FORCE:
                continue
            issue = decision.issue_id
            tf = decision.task_force
            state = by_id.get(tf) if tf is not None else None
            if tf is not None and (tf, issue) in linked:
                continue
            if (meeting_id, issue) in reported:  # the same meeting given twice
                continue
            kind = _referral_problem(tf, state)
            if kind is not None:
                reported.add((meeting_id, issue))
                detail = _REFERRAL_DETAIL[kind].format(meeting=meeting_id, issue=issue, tf=tf)
                problems.append(ReferralProblem(meeting_id, issue, tf, kind, detail))
                continue
            assert tf is not None
            linked.add((tf, issue))
            minute = f": {decision.note}" if decision.note else ""
            links.append(
                LinkIssue(tf, issue, f"referred by meeting {meeting_id} on {record.day}{minute}")
            )
    return MeetingLinks(tuple(links), tuple(problems))


# -- detection --------------------------------------------------------------------------------

_WORD: Final = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK: Final = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def title_tokens(title: str) -> frozenset[str]:
    """The tokens of a title for similarity: lower-case words and Chinese character pairs.

    Runs of ASCII letters and digits are words. Chinese has no spaces, so a run of Chinese
    characters gives its overlapping pairs (工业用地 → 工业, 业用, 用地); a single
    character stands alone. Everything else (punctuation, spaces) separates tokens.
    """
    out: set[str] = set()
    for run in _WORD.findall(title.lower()):
        if _CJK.match(run):
            if len(run) == 1:
                out.add(run)
            else:
                out.update(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.add(run)
    return frozenset(out)


def title_similarity(a: str, b: str) -> float:
    """The Jaccard similarity of two titles' tokens: shared / all; 0 when neither has any."""
    ta, tb = title_tokens(a), title_tokens(b)
    union = len(ta | tb)
    return len(ta & tb) / union if union else 0.0


def _window(_instance: object, attribute: attrs.Attribute[timedelta], value: timedelta) -> None:
    if not isinstance(value, timedelta) or value <= timedelta(0):
        raise ConfigurationError(f"{attribute.name} must be a positive timedelta, got {value!r}")


def _threshold(_instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1
    ):
        raise ConfigurationError(f"{attribute.name} must lie in (0, 1] or be None, got {value!r}")


@attrs.frozen
class TaskForceProposal:
    """A common problem a rule found, to be taken on by a task force.

    Attributes:
        rule: the rule's name.
        category: the issues' category.
        issue_ids: the issues, sorted.
        units: the distinct units they were registered at, sorted.
        window_start, window_end: the registration window the rule looked at.
        similarity: the title similarity threshold used, if any.
        reason, facts: the explanation.
    """

    rule: str
    category: str
    issue_ids: tuple[IssueId, ...]
    units: tuple[UnitId, ...]
    window_start: datetime
    window_end: datetime
    similarity: float | None
    reason: str
    facts: tuple[Fact, ...] = attrs.field(converter=_facts)

    def explain(self) -> str:
        """The rule, the reason and every fact, in one line."""
        return _explain(self.rule, self.reason, self.facts)

    def create(
        self,
        task_force_id: str,
        *,
        name: str,
        unit: str,
        leader: str,
        departments: Sequence[str] = (),
    ) -> CreateTaskForce:
        """The command that sets up a task force for this proposal's issues."""
        return CreateTaskForce(
            task_force_id,
            name,
            unit,
            leader,
            self.category,
            tuple(departments),
            self.issue_ids,
            self.reason,
            self.facts,
        )


@attrs.frozen
class CommonProblemRule:
    """Find problems common to many units (see the module docs).

    Args:
        min_units: how many distinct units (where the issues were registered) make a
            problem common (at least 2).
        window: how far back from ``at`` registrations count (inclusive at both ends).
        similarity: when given, issues of a category are grouped further: two issues
            belong together when their titles' Jaccard similarity is at least this,
            and groups are the connected sets of that relation.
        include_resolved: also count issues resolved but not closed (by default only
            open issues count: the problem still waits).
        name: the rule's name in proposals.
    """

    min_units: int = attrs.field(default=3, validator=whole_at_least(2))
    window: timedelta = attrs.field(default=timedelta(days=30), validator=_window)
    similarity: float | None = attrs.field(default=None, validator=_threshold)
    include_resolved: bool = False
    name: str = "common_problem"

    def detect(
        self,
        states: Iterable[IssueState],
        at: datetime,
        *,
        linked: Iterable[str] = (),
    ) -> list[TaskForceProposal]:
        """Proposals for the common problems among ``states`` at ``at``.

        Issues in ``linked`` (already in a task force) are left out. Proposals are
        sorted by category, then by their first issue id.
        """
        aware(at, "the detection instant")
        start = at - self.window
        skip = set(linked)
        by_category: dict[str, list[IssueState]] = {}
        for state in states:
            if state.issue_id in skip or not start <= state.registered_at <= at:
                continue
            status = state.status
            if not (status.is_open or (self.include_resolved and status is Status.RESOLVED)):
                continue
            by_category.setdefault(state.category, []).append(state)
        out = []
        for category, group in sorted(by_category.items()):
            group.sort(key=lambda s: s.issue_id)
            for cluster in self._clusters(group):
                units = tuple(sorted({s.origin_unit for s in cluster}))
                if len(units) < self.min_units:
                    continue
                out.append(self._proposal(category, cluster, units, start, at))
        return out

    def _clusters(self, group: list[IssueState]) -> list[list[IssueState]]:
        if self.similarity is None:
            return [group]
        tokens = [title_tokens(s.title) for s in group]
        parent = list(range(len(group)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                union = len(tokens[i] | tokens[j])
                if union and len(tokens[i] & tokens[j]) / union >= self.similarity:
                    a, b = root(i), root(j)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        clusters: dict[int, list[IssueState]] = {}
        for i, state in enumerate(group):
            clusters.setdefault(root(i), []).append(state)
        return [clusters[k] for k in sorted(clusters)]

    def _proposal(
        self,
        category: str,
        cluster: list[IssueState],
        units: tuple[UnitId, ...],
        start: datetime,
        end: datetime,
    ) -> TaskForceProposal:
        ids = tuple(s.issue_id for s in cluster)
        alike = f", titles alike (Jaccard >= {self.similarity:g})" if self.similarity else ""
        facts: list[tuple[str, object]] = [
            ("category", category),
            ("issues", len(ids)),
            ("units", len(units)),
            ("threshold_units", self.min_units),
            ("window", f"{start.isoformat()} .. {end.isoformat()}"),
            ("issue_ids", " ".join(ids)),
            ("unit_ids", " ".join(units)),
        ]
        if self.similarity is not None:
            facts.append(("similarity_threshold", f"{self.similarity:g}"))
        return TaskForceProposal(
            self.name,
            category,
            ids,
            units,
            start,
            end,
            self.similarity,
            f"{len(ids)} open issue(s) of category {category!r} from {len(units)} units "
            f"(threshold {self.min_units}){alike}",
            facts,
        )
