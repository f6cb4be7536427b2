"""Which issues left the designed loop: a conformance check that needs no process-mining tool.

:func:`check_conformance` reads a log (events or ``Recorded`` pairs, as a store or a
simulation gives them) and follows every issue through the lifecycle's transition
table, leniently: a log that breaks a rule is reported, never refused. The rules, each
a :class:`ViolationKind`:

``ILLEGAL_TRANSITION``
    An event the transition table does not allow in the issue's status (a resolution
    of an unassigned issue, a second registration, an event before the registration).
    The check carries on from the status the event leads to, when it leads to one
    status only (else from the status before: a resumption of an issue that was not
    suspended leaves it as it was), so one missing event is reported once. The OCEL
    export follows an issue's status the same way.
``EVENT_AFTER_CLOSE``
    Any lifecycle event after the issue was archived or withdrawn (each is reported).
``ARCHIVED_WITHOUT_EVALUATION``
    Archived with no evaluation since the last resolution.
``ARCHIVED_UNSATISFIED``
    Archived although the last evaluation since the last resolution was not satisfied.
``LATE_WITHOUT_SUPERVISION``
    Resolved late (the resolution says it was not on time, or it came after the
    deadline in force) by more than ``supervision_grace_days`` working days (counted
    with ``calendar`` in ``(deadline day, resolution day]``; calendar days in the
    deadline's zone without one), and no supervision order about the issue was given
    before the resolution.
``REOPENED_TOO_OFTEN``
    Reopened more than ``policy_max_reopens`` times (reported at each reopening
    beyond the limit).
``ESCALATION_SKIPPED_LEVEL``
    An escalation from a unit that was not handling the issue, or (with
    ``hierarchy``) to a unit that is not the parent of the unit escalating.
``DEADLINE_BEFORE_ASSIGNMENT``
    An assignment or reopening whose deadline lies before the assignment itself.

The report lists violations sorted by kind (in the order above), issue id and place in
the log, with counts per kind and the issues involved.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import attrs

from closedloop.errors import ConfigurationError
from closedloop.interop._common import (
    LIFECYCLE_KINDS,
    entries,
    issue_of,
    kind_of,
    lenient_step,
)
from closedloop.lifecycle.events import (
    IssueArchived,
    IssueAssigned,
    IssueEscalated,
    IssueRegistered,
    IssueReopened,
    IssueResolved,
    ResolutionEvaluated,
)
from closedloop.lifecycle.state import Status
from closedloop.workdays import WorkCalendar

__all__ = ["ConformanceReport", "Violation", "ViolationKind", "check_conformance"]


class ViolationKind(enum.Enum):
    """A way an issue can leave the designed loop (see the module docs for the rules)."""

    ILLEGAL_TRANSITION = "illegal_transition"
    EVENT_AFTER_CLOSE = "event_after_close"
    ARCHIVED_WITHOUT_EVALUATION = "archived_without_evaluation"
    ARCHIVED_UNSATISFIED = "archived_unsatisfied"
    LATE_WITHOUT_SUPERVISION = "late_without_supervision"
    REOPENED_TOO_OFTEN = "reopened_too_often"
    ESCALATION_SKIPPED_LEVEL = "escalation_skipped_level"
    DEADLINE_BEFORE_ASSIGNMENT = "deadline_before_assignment"


_ORDER: Final = {kind: index for index, kind in enumerate(ViolationKind)}


@attrs.frozen
class Violation:
    """One departure from the designed loop.

    Attributes:
        kind: which rule.
        issue_id: the issue.
        event_id: the event at which it shows.
        at: when that event happened.
        explanation: one sentence naming the facts.
    """

    kind: ViolationKind
    issue_id: str
    event_id: str | None
    at: datetime
    explanation: str


@attrs.frozen
class ConformanceReport:
    """The outcome of :func:`check_conformance`.

    Attributes:
        issues: issues checked (those with at least one lifecycle event).
        events: lifecycle events checked.
        violations: every violation, sorted by kind, issue id and place in the log.
    """

    issues: int
    events: int
    violations: tuple[Violation, ...]

    @property
    def ok(self) -> bool:
        """Whether no issue left the loop."""
        return not self.violations

    @property
    def counts(self) -> dict[ViolationKind, int]:
        """Violations per kind, for every kind (zero included), in the kinds' order."""
        out = dict.fromkeys(ViolationKind, 0)
        for v in self.violations:
            out[v.kind] += 1
        return out

    def of_kind(self, kind: ViolationKind | str) -> tuple[Violation, ...]:
        """The violations of one kind, in report order."""
        wanted = ViolationKind(kind)
        return tuple(v for v in self.violations if v.kind is wanted)

    def issue_ids(self, kind: ViolationKind | str | None = None) -> tuple[str, ...]:
        """The issues with a violation (of ``kind``, when given), sorted."""
        items = self.violations if kind is None else self.of_kind(kind)
        return tuple(sorted({v.issue_id for v in items}))

    @property
    def conforming(self) -> int:
        """Issues without any violation."""
        return self.issues - len(self.issue_ids())

    def summary(self, examples: int = 3) -> str:
        """A readable report: counts per kind, with up to ``examples`` explanations each."""
        head = (
            f"{self.issues} issue(s), {self.events} lifecycle event(s): "
            f"{self.conforming} conforming, {len(self.violations)} violation(s)"
        )
        lines = [head]
        for kind, count in self.counts.items():
            if count:
                found = self.of_kind(kind)
                lines.append(
                    f"  {kind.value}: {count} in {len({v.issue_id for v in found})} issue(s)"
                )
                lines.extend(f"    {v.issue_id}: {v.explanation}" for v in found[:examples])
        return "\n".join(lines)

    def to_columns(self) -> dict[str, list[Any]]:
        """One row per violation: ``kind``, ``issue_id``, ``event_id``, ``at``, ``explanation``."""
        return {
            "kind": [v.kind.value for v in self.violations],
            "issue_id": [v.issue_id for v in self.violations],
            "event_id": [v.event_id for v in self.violations],
            "at": [v.at for v in self.violations],
            "explanation": [v.explanation for v in self.violations],
        }


_DEADLINE_EVENTS: Final = frozenset(
    {"IssueAssigned", "IssueReopened", "IssueResumed", "DeadlineExtended"}
)


class _Issue:
    """What the check remembers about one issue while reading its events."""

    __slots__ = (
        "due_at",
        "evaluated",
        "last_satisfied",
        "reopens",
        "resume",
        "status",
        "unit",
    )

    def __init__(self) -> None:
        self.status: Status | None = None
        self.resume: Status | None = None
        self.unit: str | None = None
        self.due_at: datetime | None = None
        self.evaluated = False
        self.last_satisfied: bool | None = None
        self.reopens = 0


class _Checker:
    def __init__(
        self,
        hierarchy: Any,
        policy_max_reopens: int | None,
        supervision_grace_days: int,
        calendar: WorkCalendar | None,
        orders: dict[str, list[datetime]],
    ) -> None:
        self.hierarchy = hierarchy
        self.max_reopens = policy_max_reopens
        self.grace = supervision_grace_days
        self.calendar = calendar
        self.orders = orders
        self.found: list[tuple[int, Violation]] = []

    def report(self, index: int, kind: ViolationKind, event: Any, explanation: str) -> None:
        issue = issue_of(event) or ""
        at = event.occurred_at
        event_id = getattr(event, "event_id", None)
        self.found.append((index, Violation(kind, issue, event_id, at, explanation)))

    def step(self, index: int, issue: _Issue, event: Any) -> None:
        name = kind_of(event)
        before = issue.status
        after, legal, resume = lenient_step(before, name, issue.resume)
        if before is not None and before.is_terminal:
            self.report(
                index,
                ViolationKind.EVENT_AFTER_CLOSE,
                event,
                f"{name} at {event.occurred_at.isoformat()} after the issue was {before.value}",
            )
            return
        if not legal:
            where = (
                "before the issue was registered"
                if before is None
                else f"in status {before.value!r}"
            )
            self.report(
                index,
                ViolationKind.ILLEGAL_TRANSITION,
                event,
                f"{name} is not allowed {where} (event version {getattr(event, 'version', '?')})",
            )
        self._rules(index, issue, event, before)
        issue.status = after
        issue.resume = resume

    def _rules(self, index: int, issue: _Issue, event: Any, before: Status | None) -> None:
        kind = type(event)
        if kind is IssueRegistered:
            issue.unit = event.unit
        elif kind is IssueEscalated:
            self._escalation(index, issue, event)
            issue.unit = event.to_unit
        elif kind is IssueArchived and before is Status.RESOLVED:
            if not issue.evaluated:
                self.report(
                    index,
                    ViolationKind.ARCHIVED_WITHOUT_EVALUATION,
                    event,
                    "archived with no evaluation since the last resolution",
                )
            elif issue.last_satisfied is False:
                self.report(
                    index,
                    ViolationKind.ARCHIVED_UNSATISFIED,
                    event,
                    "archived although the last evaluation was not satisfied",
                )
        elif kind is IssueResolved:
            self._resolution(index, issue, event)
            issue.evaluated = False
            issue.last_satisfied = None
        elif kind is ResolutionEvaluated:
            issue.evaluated = True
            issue.last_satisfied = bool(event.satisfied)
        if kind is IssueReopened:
            issue.reopens += 1
            if self.max_reopens is not None and issue.reopens > self.max_reopens:
                self.report(
                    index,
                    ViolationKind.REOPENED_TOO_OFTEN,
                    event,
                    f"reopened {issue.reopens} times; the policy allows {self.max_reopens}",
                )
        if kind in (IssueAssigned, IssueReopened) and event.due_at < event.occurred_at:
            self.report(
                index,
                ViolationKind.DEADLINE_BEFORE_ASSIGNMENT,
                event,
                f"the deadline {event.due_at.isoformat()} is before the "
                f"{'assignment' if kind is IssueAssigned else 'reopening'} at "
                f"{event.occurred_at.isoformat()}",
            )
        if kind_of(event) in _DEADLINE_EVENTS and isinstance(
            getattr(event, "due_at", None), datetime
        ):
            issue.due_at = event.due_at

    def _escalation(self, index: int, issue: _Issue, event: Any) -> None:
        if issue.unit is not None and event.from_unit != issue.unit:
            self.report(
                index,
                ViolationKind.ESCALATION_SKIPPED_LEVEL,
                event,
                f"escalated from {event.from_unit!r}, but {issue.unit!r} was handling it",
            )
            return
        if self.hierarchy is None or event.from_unit not in self.hierarchy:
            return
        parent = self.hierarchy.parent(event.from_unit)
        if parent is None or parent.id != event.to_unit:
            expected = "no unit (it is the root)" if parent is None else repr(parent.id)
            self.report(
                index,
                ViolationKind.ESCALATION_SKIPPED_LEVEL,
                event,
                f"escalated from {event.from_unit!r} to {event.to_unit!r}; "
                f"one level up is {expected}",
            )

    def _late_days(self, due_at: datetime, at: datetime) -> int:
        if self.calendar is not None:
            return self.calendar.workdays_between(due_at, at)
        zone = due_at.tzinfo
        return (at.astimezone(zone).date() - due_at.date()).days

    def _resolution(self, index: int, issue: _Issue, event: Any) -> None:
        due_at = issue.due_at
        late = getattr(event, "on_time", True) is False or (
            due_at is not None and event.occurred_at > due_at
        )
        if not late or due_at is None:
            return
        days = self._late_days(due_at, event.occurred_at)
        if days <= self.grace:
            return
        ordered = self.orders.get(issue_of(event) or "", [])
        if any(at <= event.occurred_at for at in ordered):
            return
        unit = "working day(s)" if self.calendar is not None else "day(s)"
        self.report(
            index,
            ViolationKind.LATE_WITHOUT_SUPERVISION,
            event,
            f"resolved {days} {unit} after the deadline {due_at.isoformat()} "
            f"(grace {self.grace}) without any supervision order",
        )


def check_conformance(
    events: Iterable[Any],
    *,
    policy_max_reopens: int | None = 2,
    hierarchy: Any = None,
    calendar: WorkCalendar | None = None,
    supervision_grace_days: int = 3,
) -> ConformanceReport:
    """Check every issue of a log against the designed loop (see the module docs).

    Args:
        events: events or ``Recorded`` pairs in log order; lifecycle events are
            checked, supervision orders (``SupervisionOrdered``) are read as evidence,
            everything else is ignored.
        policy_max_reopens: how many reopenings the policy allows per issue (None: no
            limit).
        hierarchy: when given, escalations must go exactly one level up.
        calendar: counts lateness in working days (else calendar days).
        supervision_grace_days: how late a resolution may be without a supervision
            order.

    Raises:
        ConfigurationError: for an item that is not an event, or unusable options.
    """
    if policy_max_reopens is not None and (
        isinstance(policy_max_reopens, bool)
        or not isinstance(policy_max_reopens, int)
        or policy_max_reopens < 0
    ):
        raise ConfigurationError(
            f"policy_max_reopens is a whole number >= 0 or None, got {policy_max_reopens!r}"
        )
    if (
        isinstance(supervision_grace_days, bool)
        or not isinstance(supervision_grace_days, int)
        or supervision_grace_days < 0
    ):
        raise ConfigurationError(
            f"supervision_grace_days is a whole number >= 0, got {supervision_grace_days!r}"
        )
    if calendar is not None and not isinstance(calendar, WorkCalendar):
        raise ConfigurationError(f"calendar must be a WorkCalendar, got {type(calendar).__name__}")
    log = entries(events, "check_conformance")
    orders: dict[str, list[datetime]] = {}
    for _position, event in log:
        if kind_of(event) == "SupervisionOrdered" and issue_of(event) is not None:
            orders.setdefault(issue_of(event) or "", []).append(event.occurred_at)
    checker = _Checker(hierarchy, policy_max_reopens, supervision_grace_days, calendar, orders)
    issues: dict[str, _Issue] = {}
    checked = 0
    for index, (_position, event) in enumerate(log):
        issue_id = issue_of(event)
        if issue_id is None or kind_of(event) not in LIFECYCLE_KINDS:
            continue
        checked += 1
        checker.step(index, issues.setdefault(issue_id, _Issue()), event)
    found = sorted(checker.found, key=lambda f: (_ORDER[f[1].kind], f[1].issue_id, f[0]))
    return ConformanceReport(len(issues), checked, tuple(v for _, v in found))
