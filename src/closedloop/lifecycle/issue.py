"""The ``Issue`` aggregate: the lifecycle as methods, for those who prefer objects.

An :class:`Issue` holds one issue's state and the events it produced since it was
loaded. Every method runs the same ``decide`` and ``evolve`` as the functional API,
so both paths share one transition table and one set of rules::

    issue = Issue()
    issue.execute(RegisterIssue(...), context)
    issue.execute(AssignIssue(issue_id, lead="econ"), context)
    store.append(issue.id, issue.collect_events(), expected_version=0)
"""

from __future__ import annotations

from collections.abc import Iterable

from closedloop.errors import IssueNotFoundError
from closedloop.ids import IssueId
from closedloop.lifecycle.commands import Command, Context, decide
from closedloop.lifecycle.events import IssueEvent
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
