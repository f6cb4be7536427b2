"""Commands and ``decide``: what someone asks for, checked against the rules.

A command is an imperative request (``AssignIssue``, ``ResolveIssue``, ...).
:func:`decide` checks it against the issue's state and a :class:`Context` (who acts,
when, on which calendar and policy, under which access rules) and returns the new
events, or raises:

* :class:`~closedloop.TransitionError` when the status does not allow the command (it
  names the status and what would have been allowed) or a lifecycle rule forbids it
  (archiving without a satisfactory evaluation, escalating from the root);
* :class:`~closedloop.PermissionDeniedError` when the actor may not act;
* :class:`~closedloop.CommandError` for unusable arguments;
* :class:`~closedloop.NotOneLevelDownError` when an escalation skips a level.

``decide`` never changes anything: the caller folds the events with ``evolve`` and
stores them. Time comes from ``context.at`` and event ids from
``context.new_event_id``, so the same code runs live and in simulation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Final, NamedTuple, Protocol

import attrs

from closedloop._checks import member
from closedloop.access import Action, Actor, ActorKind, Authorizer, Target, require_permission
from closedloop.deadlines import DeadlinePolicy, Difficulty, due
from closedloop.errors import (
    CommandError,
    IssueExistsError,
    NaiveDatetimeError,
    NotOneLevelDownError,
    PermissionDeniedError,
    TransitionError,
)
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
from closedloop.lifecycle.state import TRANSITIONS, IssueState, Status
from closedloop.workdays import WorkCalendar

if TYPE_CHECKING:
    from closedloop.hierarchy import Hierarchy

__all__ = [
    "AcceptAssignment",
    "ArchiveIssue",
    "AssignIssue",
    "Command",
    "Context",
    "EscalateIssue",
    "EvaluateResolution",
    "ExtendDeadline",
    "ObserveDeadline",
    "RegisterIssue",
    "ReopenIssue",
    "ResolveIssue",
    "ResumeIssue",
    "ReturnAssignment",
    "SuspendIssue",
    "TransferIssue",
    "WithdrawIssue",
    "allowed_actions",
    "decide",
]


class DepartmentDirectory(Protocol):
    """Anything that can say whether a department id exists."""

    def __contains__(self, department_id: object) -> bool: ...


class Context(NamedTuple):
    """Everything ``decide`` needs besides the command and the state.

    Attributes:
        actor: who issues the command.
        at: when (an aware datetime from the clock passed in).
        calendar: the working-day calendar deadlines are counted on.
        policy: the deadline policy in force.
        hierarchy: the administrative tree (escalation goes to the parent).
        access: decides whether the actor may act.
        new_event_id: gives a fresh event id each call.
        departments: if given, department ids are checked against it.
    """

    actor: Actor
    at: datetime
    calendar: WorkCalendar
    policy: DeadlinePolicy
    hierarchy: Hierarchy
    access: Authorizer
    new_event_id: Callable[[], EventId]
    departments: DepartmentDirectory | None = None


def _text_id(value: str) -> str:
    if not isinstance(value, str):
        raise CommandError(f"ids are strings, got {type(value).__name__}: {value!r}")
    return value


def _issue_id(value: str) -> IssueId:
    return IssueId(_text_id(value))


def _unit_id(value: str) -> UnitId:
    return UnitId(_text_id(value))


def _department_id(value: str) -> DepartmentId:
    return DepartmentId(_text_id(value))


def _optional_unit(value: str | None) -> UnitId | None:
    return None if value is None else _unit_id(value)


def _optional_department(value: str | None) -> DepartmentId | None:
    return None if value is None else _department_id(value)


def _optional_actor(value: str | None) -> ActorId | None:
    return None if value is None else ActorId(_text_id(value))


@attrs.frozen
class Command:
    """Base of every command: it names the issue it is about."""

    ACTION: ClassVar[Action]
    EVENT: ClassVar[type[IssueEvent]]

    issue_id: IssueId = attrs.field(converter=_issue_id)


def _difficulty(value: Any) -> Difficulty:
    return member(Difficulty, value, "difficulty", CommandError)


def _evaluator_kind(value: Any) -> EvaluatorKind | None:
    return None if value is None else member(EvaluatorKind, value, "evaluator kind", CommandError)


def _withdrawal_reason(value: Any) -> WithdrawalReason:
    return member(WithdrawalReason, value, "withdrawal reason", CommandError)


def _text(value: str) -> str:
    if not isinstance(value, str):
        raise CommandError(f"expected text, got {type(value).__name__}: {value!r}")
    return value


def _optional_text(value: str | None) -> str | None:
    return None if value is None else _text(value)


def _departments(value: Iterable[str]) -> tuple[DepartmentId, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise CommandError(f"co_handlers is a list of department ids, got {value!r}")
    return tuple(dict.fromkeys(DepartmentId(_text_id(v)) for v in value))


@attrs.frozen
class RegisterIssue(Command):
    """登记: register a problem at a unit."""

    ACTION: ClassVar[Action] = Action.REGISTER
    EVENT: ClassVar[type[IssueEvent]] = IssueRegistered

    unit: UnitId = attrs.field(converter=_unit_id)
    category: str = attrs.field(converter=_text)
    difficulty: Difficulty = attrs.field(converter=_difficulty)
    title: str = attrs.field(converter=_text)
    description: str = attrs.field(default="", converter=_text)
    reporter: ActorId | None = attrs.field(default=None, converter=_optional_actor)


@attrs.frozen
class EscalateIssue(Command):
    """Send the issue up to the parent of its handling unit."""

    ACTION: ClassVar[Action] = Action.ESCALATE
    EVENT: ClassVar[type[IssueEvent]] = IssueEscalated

    reason: str = attrs.field(default="", converter=_text)
    to_unit: UnitId | None = attrs.field(default=None, converter=_optional_unit)
    """Must be the parent when given; it exists to make the intent explicit."""


@attrs.frozen
class AssignIssue(Command):
    """交办: assign to a lead department (and co-handlers), setting the deadline."""

    ACTION: ClassVar[Action] = Action.ASSIGN
    EVENT: ClassVar[type[IssueEvent]] = IssueAssigned

    lead: DepartmentId = attrs.field(converter=_department_id)
    co_handlers: tuple[DepartmentId, ...] = attrs.field(default=(), converter=_departments)


@attrs.frozen
class AcceptAssignment(Command):
    """签收: the lead department accepts."""

    ACTION: ClassVar[Action] = Action.ACCEPT
    EVENT: ClassVar[type[IssueEvent]] = AssignmentAccepted


@attrs.frozen
class ReturnAssignment(Command):
    """退回: the lead department returns a misrouted assignment."""

    ACTION: ClassVar[Action] = Action.RETURN
    EVENT: ClassVar[type[IssueEvent]] = AssignmentReturned

    reason: str = attrs.field(converter=_text)


@attrs.frozen
class TransferIssue(Command):
    """转办: move the lead to another department; the deadline keeps running."""

    ACTION: ClassVar[Action] = Action.TRANSFER
    EVENT: ClassVar[type[IssueEvent]] = IssueTransferred

    to_department: DepartmentId = attrs.field(converter=_department_id)
    co_handlers: tuple[DepartmentId, ...] = attrs.field(default=(), converter=_departments)
    reason: str = attrs.field(default="", converter=_text)


@attrs.frozen
class SuspendIssue(Command):
    """挂起: stop handling and the deadline clock."""

    ACTION: ClassVar[Action] = Action.SUSPEND
    EVENT: ClassVar[type[IssueEvent]] = IssueSuspended

    reason: str = attrs.field(default="", converter=_text)


@attrs.frozen
class ResumeIssue(Command):
    """恢复: resume handling; the deadline moves by the working time paused."""

    ACTION: ClassVar[Action] = Action.RESUME
    EVENT: ClassVar[type[IssueEvent]] = IssueResumed


@attrs.frozen
class ExtendDeadline(Command):
    """延期: approve an extension of ``amount`` units of the limit."""

    ACTION: ClassVar[Action] = Action.EXTEND
    EVENT: ClassVar[type[IssueEvent]] = DeadlineExtended

    amount: int
    reason: str = attrs.field(default="", converter=_text)


@attrs.frozen
class ResolveIssue(Command):
    """办结: the lead department reports the problem solved."""

    ACTION: ClassVar[Action] = Action.RESOLVE
    EVENT: ClassVar[type[IssueEvent]] = IssueResolved

    summary: str = attrs.field(default="", converter=_text)


@attrs.frozen
class EvaluateResolution(Command):
    """评价: judge a resolution (never by the resolver).

    ``score`` is optional, on a 0-100 scale. Reporters, third-party evaluators and
    experience officers give only their own kind of judgement; other actors (a hotline
    operator calling the reporter back, say) record one on someone's behalf and must
    say whose it is.
    """

    ACTION: ClassVar[Action] = Action.EVALUATE
    EVENT: ClassVar[type[IssueEvent]] = ResolutionEvaluated

    evaluator_kind: EvaluatorKind | None = attrs.field(converter=_evaluator_kind)
    """Whose judgement it is; None: the evaluating actor's own kind (a reporter, a
    third-party survey or an experience officer)."""
    satisfied: bool
    score: float | None = None
    comment: str = attrs.field(default="", converter=_text)


@attrs.frozen
class ReopenIssue(Command):
    """重办: start a new handling cycle with a new deadline (by default, same lead)."""

    ACTION: ClassVar[Action] = Action.REOPEN
    EVENT: ClassVar[type[IssueEvent]] = IssueReopened

    reason: str = attrs.field(default="", converter=_text)
    lead: DepartmentId | None = attrs.field(default=None, converter=_optional_department)


@attrs.frozen
class ArchiveIssue(Command):
    """归档 / 销号: close out an issue whose resolution was judged satisfactory."""

    ACTION: ClassVar[Action] = Action.ARCHIVE
    EVENT: ClassVar[type[IssueEvent]] = IssueArchived


@attrs.frozen
class WithdrawIssue(Command):
    """Take an unresolved issue out of the loop (duplicate, out of scope, merged)."""

    ACTION: ClassVar[Action] = Action.WITHDRAW
    EVENT: ClassVar[type[IssueEvent]] = IssueWithdrawn

    reason: WithdrawalReason = attrs.field(converter=_withdrawal_reason)
    merged_into: str | None = attrs.field(default=None, converter=_optional_text)
    note: str = attrs.field(default="", converter=_text)


@attrs.frozen
class ObserveDeadline(Command):
    """Record a DeadlineMissed fact if the running deadline is breached (else nothing)."""

    ACTION: ClassVar[Action] = Action.OBSERVE
    EVENT: ClassVar[type[IssueEvent]] = DeadlineMissed


_COMMANDS: Final[tuple[type[Command], ...]] = (
    RegisterIssue,
    EscalateIssue,
    AssignIssue,
    AcceptAssignment,
    ReturnAssignment,
    TransferIssue,
    SuspendIssue,
    ResumeIssue,
    ExtendDeadline,
    ResolveIssue,
    EvaluateResolution,
    ReopenIssue,
    ArchiveIssue,
    WithdrawIssue,
    ObserveDeadline,
)

_ALLOWED: Final[dict[Status | None, tuple[str, ...]]] = {
    status: tuple(sorted(c.ACTION.value for c in _COMMANDS if (status, c.EVENT) in TRANSITIONS))
    for status in (None, *Status)
}


def allowed_actions(status: Status | None) -> tuple[str, ...]:
    """The actions (command names, e.g. ``"assign"``) a status allows, sorted."""
    return _ALLOWED[status]


# -- the deciders -----------------------------------------------------------------------


def _authorize(ctx: Context, action: Action, target: Any) -> None:
    require_permission(ctx.access, ctx.actor, action, target, ctx.at)


def _check_department(ctx: Context, issue_id: str, department: str, role: str) -> None:
    if ctx.departments is not None and department not in ctx.departments:
        raise CommandError(f"issue {issue_id!r}: unknown {role} department {department!r}")


def _refuse(state: IssueState, command: Command, reason: str) -> TransitionError:
    return TransitionError(
        state.issue_id, state.status.value, command.ACTION.value, _ALLOWED[state.status], reason
    )


def _deadline_after(state: IssueState, ctx: Context, extra: int) -> tuple[datetime, Any, bool]:
    """The running clock's due instant, day and provisional flag with ``extra`` more units."""
    assert state.limit is not None
    assert state.assigned_at is not None
    deadline = due(ctx.calendar, state.limit, state.assigned_at, extra)
    return deadline.due_at, deadline.due_date, deadline.provisional


def _register(command: RegisterIssue, state: IssueState | None, ctx: Context) -> list[IssueEvent]:
    if state is not None:
        raise IssueExistsError(
            command.issue_id,
            state.status.value,
            "register",
            _ALLOWED[state.status],
            "an issue with this id is already registered",
        )
    if not command.issue_id:
        raise CommandError("an issue needs a non-empty id")
    if command.unit not in ctx.hierarchy:
        raise CommandError(f"issue {command.issue_id!r}: unknown unit {command.unit!r}")
    if not command.title.strip():
        raise CommandError(f"issue {command.issue_id!r}: a title is required")
    if not command.category:
        raise CommandError(f"issue {command.issue_id!r}: a category is required")
    _authorize(ctx, Action.REGISTER, Target(command.unit, command.category))
    reporter = command.reporter
    if reporter is None and ctx.actor.kind.value == "reporter":
        reporter = ctx.actor.id
    return [
        IssueRegistered(
            event_id=ctx.new_event_id(),
            issue_id=command.issue_id,
            version=1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            unit=command.unit,
            category=command.category,
            difficulty=command.difficulty,
            title=command.title,
            description=command.description,
            reporter=reporter,
        )
    ]


def _escalate(command: EscalateIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    parent = ctx.hierarchy.parent(state.unit)
    if parent is None:
        raise _refuse(state, command, f"unit {state.unit!r} is the root: there is no level above")
    if command.to_unit is not None and command.to_unit != parent.id:
        raise NotOneLevelDownError(
            command.to_unit,
            state.unit,
            f"issue {state.issue_id!r} can only be escalated to the parent unit {parent.id!r}",
        )
    _authorize(ctx, Action.ESCALATE, state)
    return [
        IssueEscalated(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            from_unit=state.unit,
            to_unit=parent.id,
            reason=command.reason,
        )
    ]


def _assign(command: AssignIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _check_department(ctx, state.issue_id, command.lead, "lead")
    for department in command.co_handlers:
        _check_department(ctx, state.issue_id, department, "co-handling")
    co_handlers = tuple(d for d in command.co_handlers if d != command.lead)
    _authorize(ctx, Action.ASSIGN, state)
    limit = ctx.policy.limit_for(state.difficulty)
    deadline = due(ctx.calendar, limit, ctx.at)
    return [
        IssueAssigned(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            lead=command.lead,
            co_handlers=co_handlers,
            limit=limit,
            due_at=deadline.due_at,
            due_date=deadline.due_date,
            policy=ctx.policy.label,
            provisional=deadline.provisional,
        )
    ]


def _accept(command: AcceptAssignment, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _authorize(ctx, Action.ACCEPT, state)
    assert state.lead is not None
    return [
        AssignmentAccepted(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            department=state.lead,
        )
    ]


def _return(command: ReturnAssignment, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if not command.reason.strip():
        raise CommandError(f"issue {state.issue_id!r}: returning an assignment needs a reason")
    _authorize(ctx, Action.RETURN, state)
    assert state.lead is not None
    return [
        AssignmentReturned(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            department=state.lead,
            reason=command.reason,
        )
    ]


def _transfer(command: TransferIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if command.to_department == state.lead:
        raise CommandError(
            f"issue {state.issue_id!r} is already led by {state.lead!r}; transfer elsewhere"
        )
    _check_department(ctx, state.issue_id, command.to_department, "receiving")
    for department in command.co_handlers:
        _check_department(ctx, state.issue_id, department, "co-handling")
    _authorize(ctx, Action.TRANSFER, state)
    assert state.lead is not None
    return [
        IssueTransferred(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            from_department=state.lead,
            to_department=command.to_department,
            co_handlers=tuple(d for d in command.co_handlers if d != command.to_department),
            reason=command.reason,
        )
    ]


def _suspend(command: SuspendIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _authorize(ctx, Action.SUSPEND, state)
    return [
        IssueSuspended(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            reason=command.reason,
        )
    ]


def _paused_units(state: IssueState, ctx: Context) -> int:
    assert state.paused_since is not None
    assert state.limit is not None
    return state.limit.unit.between(ctx.calendar, state.paused_since, ctx.at)


def _resume(command: ResumeIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _authorize(ctx, Action.RESUME, state)
    paused = _paused_units(state, ctx)
    due_at, due_date, provisional = _deadline_after(
        state, ctx, state.extension + state.paused_units + paused
    )
    return [
        IssueResumed(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            paused_units=paused,
            due_at=due_at,
            due_date=due_date,
            provisional=provisional,
        )
    ]


def _extend(command: ExtendDeadline, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if (
        isinstance(command.amount, bool)
        or not isinstance(command.amount, int)
        or command.amount <= 0
    ):
        raise CommandError(
            f"issue {state.issue_id!r}: an extension is a whole number > 0, got {command.amount!r}"
        )
    _authorize(ctx, Action.EXTEND, state)
    due_at, due_date, provisional = _deadline_after(
        state, ctx, state.extension + command.amount + state.paused_units
    )
    return [
        DeadlineExtended(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            approved_by=ctx.actor.id,
            amount=command.amount,
            due_at=due_at,
            due_date=due_date,
            reason=command.reason,
            provisional=provisional,
        )
    ]


def _resolve(command: ResolveIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _authorize(ctx, Action.RESOLVE, state)
    assert state.lead is not None
    assert state.due_at is not None
    return [
        IssueResolved(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            department=state.lead,
            summary=command.summary,
            on_time=ctx.at <= state.due_at,
        )
    ]


def _evaluate(command: EvaluateResolution, state: IssueState, ctx: Context) -> list[IssueEvent]:
    score = command.score
    if score is not None and (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not 0 <= score <= 100
    ):
        raise CommandError(f"issue {state.issue_id!r}: a score lies in [0, 100], got {score!r}")
    if not isinstance(command.satisfied, bool):
        raise CommandError(f"issue {state.issue_id!r}: satisfied is True or False")
    actor = ctx.actor
    if actor.id == state.resolved_by or (
        actor.department is not None and actor.department == state.resolving_department
    ):
        # Separation of duties holds whatever the authorizer: nobody marks their own work.
        raise PermissionDeniedError(
            actor.id, Action.EVALUATE.value, "an evaluator is never the resolver"
        )
    _authorize(ctx, Action.EVALUATE, state)
    kind = _judgement_kind(command, state, actor)
    return [
        ResolutionEvaluated(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            evaluator_kind=kind,
            satisfied=command.satisfied,
            score=None if score is None else float(score),
            comment=command.comment,
        )
    ]


_OWN_JUDGEMENT: Final = {
    ActorKind.REPORTER: EvaluatorKind.REPORTER,
    ActorKind.THIRD_PARTY_EVALUATOR: EvaluatorKind.THIRD_PARTY,
    ActorKind.EXPERIENCE_OFFICER: EvaluatorKind.EXPERIENCE_OFFICER,
}


def _judgement_kind(command: EvaluateResolution, state: IssueState, actor: Actor) -> EvaluatorKind:
    """Whose judgement an evaluation records, checked against who records it."""
    own = _OWN_JUDGEMENT.get(actor.kind)
    given = command.evaluator_kind
    if own is not None:
        if given is not None and given is not own:
            raise PermissionDeniedError(
                actor.id,
                Action.EVALUATE.value,
                f"a {actor.kind.value} gives a {own.value} judgement, not {given.value}",
            )
        return own
    if given is None:
        allowed = ", ".join(k.value for k in EvaluatorKind)
        raise CommandError(
            f"issue {state.issue_id!r}: a {actor.kind.value} records an evaluation on "
            f"someone's behalf and must say whose judgement it is (evaluator_kind: {allowed})"
        )
    return given


def _reopen(command: ReopenIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if state.last_satisfied is None:
        raise _refuse(
            state,
            command,
            "an issue is reopened after an evaluation of its resolution; this cycle has none",
        )
    lead = command.lead if command.lead is not None else state.resolving_department
    assert lead is not None
    _check_department(ctx, state.issue_id, lead, "lead")
    _authorize(ctx, Action.REOPEN, state)
    limit = ctx.policy.limit_for(state.difficulty)
    deadline = due(ctx.calendar, limit, ctx.at)
    return [
        IssueReopened(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            cycle=state.cycle + 1,
            lead=lead,
            limit=limit,
            due_at=deadline.due_at,
            due_date=deadline.due_date,
            policy=ctx.policy.label,
            reason=command.reason,
            provisional=deadline.provisional,
        )
    ]


def _archive(command: ArchiveIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if state.last_satisfied is not True:
        why = (
            "it has not been evaluated"
            if state.last_satisfied is None
            else "its last evaluation was not satisfied (reopen it instead)"
        )
        raise _refuse(
            state, command, f"an issue is archived only after a satisfied evaluation; {why}"
        )
    _authorize(ctx, Action.ARCHIVE, state)
    return [
        IssueArchived(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
        )
    ]


def _withdraw(command: WithdrawIssue, state: IssueState, ctx: Context) -> list[IssueEvent]:
    if command.reason is WithdrawalReason.MERGED and not command.merged_into:
        raise CommandError(f"issue {state.issue_id!r}: a merge names what it was merged into")
    if command.merged_into == state.issue_id:
        raise CommandError(f"issue {state.issue_id!r} cannot be merged into itself")
    _authorize(ctx, Action.WITHDRAW, state)
    return [
        IssueWithdrawn(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            reason=command.reason,
            merged_into=command.merged_into,
            note=command.note,
        )
    ]


def _observe(command: ObserveDeadline, state: IssueState, ctx: Context) -> list[IssueEvent]:
    _authorize(ctx, Action.OBSERVE, state)
    if not state.has_unrecorded_breach(ctx.at):
        return []
    assert state.due_at is not None
    assert state.lead is not None
    return [
        DeadlineMissed(
            event_id=ctx.new_event_id(),
            issue_id=state.issue_id,
            version=state.version + 1,
            occurred_at=ctx.at,
            actor=ctx.actor.id,
            due_at=state.due_at,
            cycle=state.cycle,
            lead=state.lead,
        )
    ]


_Decider = Callable[[Any, IssueState, Context], list[IssueEvent]]
_DECIDERS: Final[dict[type[Command], _Decider]] = {
    EscalateIssue: _escalate,
    AssignIssue: _assign,
    AcceptAssignment: _accept,
    ReturnAssignment: _return,
    TransferIssue: _transfer,
    SuspendIssue: _suspend,
    ResumeIssue: _resume,
    ExtendDeadline: _extend,
    ResolveIssue: _resolve,
    EvaluateResolution: _evaluate,
    ReopenIssue: _reopen,
    ArchiveIssue: _archive,
    WithdrawIssue: _withdraw,
    ObserveDeadline: _observe,
}


def decide(command: Command, state: IssueState | None, context: Context) -> list[IssueEvent]:
    """The events that ``command`` produces from ``state`` in ``context``; changes nothing.

    Raises:
        TransitionError: the status does not allow the command, or a lifecycle rule
            refuses it.
        PermissionDeniedError: the actor may not act on this issue now.
        CommandError: the command's arguments are unusable, or the clock went backwards.
        NotOneLevelDownError: an escalation to a unit other than the parent.
    """
    at = context.at
    if at.utcoffset() is None:
        raise NaiveDatetimeError(f"the decision time {at.isoformat()} has no time zone")
    decider = _DECIDERS.get(type(command))
    if decider is None:
        if type(command) is RegisterIssue:
            return _register(command, state, context)
        raise CommandError(f"not a lifecycle command: {command!r}")
    if (
        state is None
        or command.issue_id != state.issue_id
        or (state.status, command.EVENT) not in TRANSITIONS
        or at < state.updated_at
    ):
        return _refused(command, state, at)
    return decider(command, state, context)


def _refused(command: Command, state: IssueState | None, at: datetime) -> list[IssueEvent]:
    """Raise the precise error for a command that cannot even be considered."""
    if state is None:
        raise TransitionError(
            command.issue_id, None, command.ACTION.value, _ALLOWED[None], "no such issue yet"
        )
    if command.issue_id != state.issue_id:
        raise CommandError(
            f"command for issue {command.issue_id!r} applied to issue {state.issue_id!r}"
        )
    if (state.status, command.EVENT) not in TRANSITIONS:
        if type(command) is ObserveDeadline:
            return []
        raise TransitionError(
            state.issue_id, state.status.value, command.ACTION.value, _ALLOWED[state.status]
        )
    raise CommandError(
        f"issue {state.issue_id!r}: command at {at.isoformat()} is earlier than its last "
        f"event at {state.updated_at.isoformat()}; the clock must not go backwards"
    )
