"""The ``Issue`` aggregate: the lifecycle as methods, for those who prefer objects.

An :class:`Issue` holds one issue's state and the events it produced since it was
loaded. Every method runs the same ``decide`` and ``evolve`` as the functional API,
so both paths share one transition table and one set of rules. The actions have
methods named as on the application service (``assign``, ``resolve``, ...), each
building its command; ``execute`` takes any command::

    issue = Issue()
    issue.register(context, issue_id="q1", unit=town, category="roads",
                   difficulty="complex", title="a broken bridge")
    issue.assign(context, lead="econ")
    store.append(issue.id, issue.collect_events(), expected_version=0)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from closedloop.deadlines import Difficulty
from closedloop.errors import IssueNotFoundError
from closedloop.ids import IssueId
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
from closedloop.lifecycle.state import IssueState, check_invariants, evolve, replay

__all__ = ["Issue"]


class Issue:
    """One issue's state plus the events it has produced and not yet handed over."""

    __slots__ = ("_loaded_version", "_pending", "_state")

    def __init__(self, state: IssueState | None = None) -> None:
        self._state = state
        self._pending: list[IssueEvent] = []
        self._loaded_version = state.version if state is not None else 0

    @classmethod
    def from_events(cls, events: Iterable[IssueEvent]) -> Issue:
        """Rebuild an issue from its stored events (none: an issue not yet registered)."""
        stream = list(events)
        return cls(replay(stream) if stream else None)

    @property
    def state(self) -> IssueState:
        """The current state (raises if nothing was registered yet)."""
        if self._state is None:
            raise IssueNotFoundError("this Issue holds no registered issue yet")
        return self._state

    @property
    def id(self) -> IssueId:
        """The issue's id."""
        return self.state.issue_id

    @property
    def loaded_version(self) -> int:
        """The version the issue had when loaded: the expected version for an append."""
        return self._loaded_version

    def execute(self, command: Command, context: Context) -> list[IssueEvent]:
        """Decide ``command``, apply the resulting events, and return them."""
        events = decide(command, self._state, context)
        state = self._state
        for event in events:
            state = evolve(state, event)
        self._state = state
        self._pending.extend(events)
        return events

    # -- the actions, as on the application service -----------------------------------

    def register(
        self,
        context: Context,
        *,
        issue_id: str,
        unit: str,
        category: str,
        difficulty: Difficulty | str,
        title: str,
        description: str = "",
        reporter: str | None = None,
    ) -> list[IssueEvent]:
        """登记: register the problem this (empty) ``Issue`` will hold."""
        command = RegisterIssue(issue_id, unit, category, difficulty, title, description, reporter)
        return self.execute(command, context)

    def escalate(
        self, context: Context, *, reason: str = "", to_unit: str | None = None
    ) -> list[IssueEvent]:
        """Send the issue to the parent of its handling unit (or to ``to_unit`` above)."""
        return self.execute(EscalateIssue(self.id, reason, to_unit), context)

    def assign(
        self, context: Context, lead: str, co_handlers: Sequence[str] = ()
    ) -> list[IssueEvent]:
        """交办: assign to ``lead`` with ``co_handlers``; the deadline comes from the policy."""
        return self.execute(AssignIssue(self.id, lead, co_handlers), context)

    def accept(self, context: Context) -> list[IssueEvent]:
        """签收: the lead department accepts the assignment."""
        return self.execute(AcceptAssignment(self.id), context)

    def return_assignment(self, context: Context, *, reason: str) -> list[IssueEvent]:
        """退回: the lead department returns a misrouted assignment."""
        return self.execute(ReturnAssignment(self.id, reason), context)

    def transfer(
        self, context: Context, to: str, *, co_handlers: Sequence[str] = (), reason: str = ""
    ) -> list[IssueEvent]:
        """转办: hand the issue to another lead department."""
        return self.execute(TransferIssue(self.id, to, co_handlers, reason), context)

    def suspend(self, context: Context, *, reason: str = "") -> list[IssueEvent]:
        """挂起: stop the deadline clock."""
        return self.execute(SuspendIssue(self.id, reason), context)

    def resume(self, context: Context) -> list[IssueEvent]:
        """恢复: restart the clock; the due date moves by the time paused."""
        return self.execute(ResumeIssue(self.id), context)

    def extend(self, context: Context, amount: int, *, reason: str = "") -> list[IssueEvent]:
        """延期: extend the deadline by ``amount`` units of its limit."""
        return self.execute(ExtendDeadline(self.id, amount, reason), context)

    def resolve(self, context: Context, *, summary: str = "") -> list[IssueEvent]:
        """办结: the lead department reports the problem solved."""
        return self.execute(ResolveIssue(self.id, summary), context)

    def evaluate(
        self,
        context: Context,
        satisfied: bool,
        *,
        evaluator_kind: EvaluatorKind | str | None = None,
        score: float | None = None,
        comment: str = "",
    ) -> list[IssueEvent]:
        """评价: judge the resolution (``evaluator_kind`` defaults to the actor's own)."""
        command = EvaluateResolution(self.id, evaluator_kind, satisfied, score, comment)
        return self.execute(command, context)

    def reopen(
        self, context: Context, *, reason: str = "", lead: str | None = None
    ) -> list[IssueEvent]:
        """重办: start a new handling cycle after an evaluation."""
        return self.execute(ReopenIssue(self.id, reason, lead), context)

    def archive(self, context: Context) -> list[IssueEvent]:
        """归档: close the issue after a satisfied evaluation."""
        return self.execute(ArchiveIssue(self.id), context)

    def withdraw(
        self,
        context: Context,
        reason: WithdrawalReason | str,
        *,
        merged_into: str | None = None,
        note: str = "",
    ) -> list[IssueEvent]:
        """撤销: withdraw the issue (duplicate, out of scope, merged into another)."""
        return self.execute(WithdrawIssue(self.id, reason, merged_into, note), context)

    def observe(self, context: Context) -> list[IssueEvent]:
        """Record a missed deadline, if the running deadline is breached and not recorded."""
        return self.execute(ObserveDeadline(self.id), context)

    @property
    def pending_events(self) -> tuple[IssueEvent, ...]:
        """Events produced since loading (or since the last ``collect_events``)."""
        return tuple(self._pending)

    def collect_events(self) -> list[IssueEvent]:
        """Hand over the pending events (to be stored) and forget them."""
        events, self._pending = self._pending, []
        if self._state is not None:
            self._loaded_version = self._state.version
        return events

    def check_invariants(self) -> None:
        """Check the current state against the lifecycle's invariants."""
        check_invariants(self.state)

    def _repr_html_(self) -> str:
        if self._state is None:
            return "<p>Issue (not registered)</p>"
        return self._state._repr_html_()

    def __repr__(self) -> str:
        if self._state is None:
            return "<Issue (not registered)>"
        s = self._state
        return f"<Issue {s.issue_id!r} {s.status.value} v{s.version} at {s.unit!r}>"
