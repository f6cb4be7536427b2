"""Evaluation (评价): scales, and the rule that turns evaluations into archive or reopen.

A resolved issue is judged by someone other than its resolver: the reporter, a
third-party satisfaction survey (第三方满意度评价) or a citizen reform experience officer
(改革体验官) (:class:`~closedloop.lifecycle.EvaluatorKind`). Judgements come on a verbal
scale, 满意 / 基本满意 / 不满意 (:class:`Verdict`), or as a score from 0 to 100; a
:class:`Scale` converts between the two with documented thresholds.

An :class:`EvaluationRule` is a small configurable value that says

* whether 基本满意 (basically satisfied) counts as satisfied;
* per difficulty, which evaluator kinds must have evaluated before anything is decided
  (:class:`Requirement`: every kind in ``required`` and, when ``any_of`` is not empty,
  at least one kind of it): by default the reporter's or any other evaluator's word is
  enough for simple and complex issues, and a third-party survey is required for
  difficult ones;
* whether one dissatisfied evaluation reopens the issue at once, or only once the
  required evaluations are in.

:meth:`EvaluationRule.evaluation` turns a verdict or a score into the lifecycle's
:class:`~closedloop.lifecycle.EvaluateResolution` command, recording whether the rule
counts it as satisfied. :meth:`EvaluationRule.decide` reads the evaluations of the
issue's current handling cycle (those after its latest resolution) and returns an
:class:`EvaluationDecision`: ARCHIVE, REOPEN or WAIT, with the lifecycle command to
execute (:class:`~closedloop.lifecycle.ArchiveIssue` or
:class:`~closedloop.lifecycle.ReopenIssue`) and the reasons.

The evaluator is never the resolver. The access rules refuse such an evaluation before
it is recorded; should one be in the log anyway (a log written without access rules),
the decision ignores it and says so.

Everything here is pure: nothing reads a clock, and the same inputs give the same
decision.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

import attrs

from closedloop._checks import member
from closedloop.deadlines import Difficulty
from closedloop.errors import CommandError, ConfigurationError, TransitionError
from closedloop.ids import EventId, IssueId
from closedloop.lifecycle.commands import (
    ArchiveIssue,
    Command,
    EvaluateResolution,
    ReopenIssue,
    allowed_actions,
)
from closedloop.lifecycle.events import (
    EvaluatorKind,
    IssueEvent,
    IssueResolved,
    ResolutionEvaluated,
)
from closedloop.lifecycle.state import IssueState, Status

__all__ = [
    "EvaluationDecision",
    "EvaluationOutcome",
    "EvaluationRule",
    "Requirement",
    "Scale",
    "Verdict",
    "current_evaluations",
]


class Verdict(enum.Enum):
    """A judgement on the verbal scale."""

    SATISFIED = "satisfied"
    """满意."""
    BASICALLY_SATISFIED = "basically_satisfied"
    """基本满意."""
    DISSATISFIED = "dissatisfied"
    """不满意."""

    @property
    def chinese(self) -> str:
        """The Chinese term."""
        return _CHINESE[self]


_CHINESE: Final = {
    Verdict.SATISFIED: "满意",
    Verdict.BASICALLY_SATISFIED: "基本满意",
    Verdict.DISSATISFIED: "不满意",
}


def _score_value(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{what} must be a finite number, got {value!r}")
    if not 0 <= value <= 100:
        raise ConfigurationError(f"{what} must lie in [0, 100], got {value!r}")
    return float(value)


def _points(value: Mapping[Any, float]) -> Mapping[Verdict, float]:
    given = {Verdict(k): v for k, v in dict(value).items()}
    missing = [v.value for v in Verdict if v not in given]
    if missing:
        raise ConfigurationError(f"a scale needs points for every verdict; missing {missing}")
    return MappingProxyType({v: _score_value(given[v], f"points[{v.value}]") for v in Verdict})


def _default_points(scale: Scale) -> Mapping[Verdict, float]:
    """100, 80 and 0; 80 only if it is 基本满意 on this scale, else the middle of that band."""
    basic = 80.0
    if not scale.basic_from <= basic < scale.satisfied_from:
        basic = (scale.basic_from + scale.satisfied_from) / 2
    return _points(
        {Verdict.SATISFIED: 100.0, Verdict.BASICALLY_SATISFIED: basic, Verdict.DISSATISFIED: 0.0}
    )


@attrs.frozen
class Scale:
    """Converts between the verbal scale and scores from 0 to 100.

    A score of ``satisfied_from`` or more is 满意; from ``basic_from`` up to (not
    including) ``satisfied_from`` it is 基本满意; below ``basic_from`` it is 不满意.
    The defaults, 90 and 60, are common in satisfaction surveys. ``points`` gives the
    score a verbal verdict stands for (by default 100, 80 and 0, or the middle of the
    基本满意 band when other thresholds leave 80 outside it); each must fall in its own
    band, so converting a verdict to points and back gives the verdict again.

    Raises:
        ConfigurationError: for thresholds outside [0, 100] or out of order, a
            ``basic_from`` of 0 (nothing would be 不满意), or points that fall outside
            their verdict's band.
    """

    satisfied_from: float = attrs.field(default=90.0, converter=float)
    basic_from: float = attrs.field(default=60.0, converter=float)
    points: Mapping[Verdict, float] = attrs.field(
        default=attrs.Factory(_default_points, takes_self=True), converter=_points, eq=False
    )
    _points_key: tuple[tuple[Verdict, float], ...] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        _score_value(self.satisfied_from, "satisfied_from")
        _score_value(self.basic_from, "basic_from")
        if self.basic_from <= 0:
            raise ConfigurationError(
                f"basic_from ({self.basic_from}) must be above 0, or no score is 不满意 "
                "(dissatisfied)"
            )
        if not self.basic_from < self.satisfied_from:
            raise ConfigurationError(
                f"basic_from ({self.basic_from}) must be below satisfied_from "
                f"({self.satisfied_from})"
            )
        for verdict, score in self.points.items():
            if self.verdict(score) is not verdict:
                raise ConfigurationError(
                    f"points[{verdict.value}] = {score} falls in the band of "
                    f"{self.verdict(score).value}, not {verdict.value}"
                )
        object.__setattr__(self, "_points_key", tuple(self.points.items()))

    def verdict(self, score: float) -> Verdict:
        """The verbal verdict a score falls in."""
        value = _score_value(score, "a score")
        if value >= self.satisfied_from:
            return Verdict.SATISFIED
        if value >= self.basic_from:
            return Verdict.BASICALLY_SATISFIED
        return Verdict.DISSATISFIED

    def score(self, verdict: Verdict) -> float:
        """The score a verbal verdict stands for."""
        return self.points[Verdict(verdict)]


def _kinds(value: Iterable[Any]) -> frozenset[EvaluatorKind]:
    if isinstance(value, str | EvaluatorKind):
        value = (value,)
    return frozenset(member(EvaluatorKind, v, "evaluator kind") for v in value)


def _sorted_kinds(kinds: Iterable[EvaluatorKind]) -> tuple[EvaluatorKind, ...]:
    return tuple(sorted(kinds, key=lambda k: k.value))


@attrs.frozen
class Requirement:
    """Which evaluations must be in before a decision: all of ``required``, and one of ``any_of``.

    ``Requirement(any_of={REPORTER, THIRD_PARTY})``: either evaluator alone suffices.
    ``Requirement(required={THIRD_PARTY})``: a third-party survey is needed, whatever
    else is in. Both together: the required ones and at least one of the others.

    Raises:
        ConfigurationError: when both sets are empty (nothing could ever be decided on
            evidence).
    """

    required: frozenset[EvaluatorKind] = attrs.field(factory=frozenset, converter=_kinds)
    any_of: frozenset[EvaluatorKind] = attrs.field(factory=frozenset, converter=_kinds)

    def __attrs_post_init__(self) -> None:
        if not self.required and not self.any_of:
            raise ConfigurationError("a requirement names at least one evaluator kind")

    def is_met(self, kinds: Iterable[EvaluatorKind]) -> bool:
        """Whether evaluations by ``kinds`` are enough to decide."""
        present = set(kinds)
        return self.required <= present and (not self.any_of or bool(self.any_of & present))

    def missing(self, kinds: Iterable[EvaluatorKind]) -> tuple[EvaluatorKind, ...]:
        """The kinds still needed: the absent required ones, or all of ``any_of`` if none came."""
        present = set(kinds)
        out = set(self.required - present)
        if self.any_of and not self.any_of & present:
            out |= self.any_of
        return _sorted_kinds(out)

    def describe(self) -> str:
        """The requirement in words."""
        parts = []
        if self.required:
            parts.append("all of " + ", ".join(k.value for k in _sorted_kinds(self.required)))
        if self.any_of:
            parts.append("one of " + ", ".join(k.value for k in _sorted_kinds(self.any_of)))
        return " and ".join(parts)


_ANYONE: Final = frozenset(EvaluatorKind)


def _requirements(value: Mapping[Any, Requirement]) -> Mapping[Difficulty, Requirement]:
    given = {Difficulty(k): v for k, v in dict(value).items()}
    missing = [d.value for d in Difficulty if d not in given]
    if missing:
        raise ConfigurationError(f"an evaluation rule needs a requirement for {missing}")
    bad = [d.value for d, r in given.items() if not isinstance(r, Requirement)]
    if bad:
        raise ConfigurationError(f"requirements must be Requirement values; not for {bad}")
    return MappingProxyType({d: given[d] for d in Difficulty})


def _default_requirements() -> Mapping[Difficulty, Requirement]:
    return _requirements(
        {
            Difficulty.SIMPLE: Requirement(any_of=_ANYONE),
            Difficulty.COMPLEX: Requirement(any_of=_ANYONE),
            Difficulty.DIFFICULT: Requirement(required={EvaluatorKind.THIRD_PARTY}),
        }
    )


class EvaluationOutcome(enum.Enum):
    """What the evaluations of a cycle lead to."""

    ARCHIVE = "archive"
    """归档 / 销号: every evaluation needed is in and satisfied."""
    REOPEN = "reopen"
    """重办: an evaluation was not satisfied; a new handling cycle."""
    WAIT = "wait"
    """More evaluations are needed before deciding."""


@attrs.frozen
class EvaluationDecision:
    """What an :class:`EvaluationRule` made of one cycle's evaluations, and why.

    Attributes:
        issue_id: the issue.
        cycle: the handling cycle judged (1 for the first resolution).
        outcome: archive, reopen or wait.
        command: the lifecycle command to execute (None when waiting).
        reasons: the facts the decision rests on, in words.
        counted: the evaluations taken into account, in log order.
        dissatisfied: those among them that were not satisfied.
        ignored: evaluations left out because the evaluator was the resolver.
        missing: evaluator kinds still needed (when waiting).
        rule: the rule's name.
    """

    issue_id: IssueId
    cycle: int
    outcome: EvaluationOutcome
    command: Command | None
    reasons: tuple[str, ...]
    counted: tuple[EventId, ...] = ()
    dissatisfied: tuple[EventId, ...] = ()
    ignored: tuple[EventId, ...] = ()
    missing: tuple[EvaluatorKind, ...] = ()
    rule: str = ""

    def commands(self) -> list[Command]:
        """The commands to execute: none, or the one archive or reopen command."""
        return [] if self.command is None else [self.command]

    def explain(self) -> str:
        """One line: the outcome and every reason."""
        return f"{self.outcome.value} issue {self.issue_id!r} (cycle {self.cycle}): " + "; ".join(
            self.reasons
        )


def current_evaluations(history: Iterable[IssueEvent]) -> tuple[ResolutionEvaluated, ...]:
    """The evaluations of the current handling cycle: those after the latest resolution."""
    out: list[ResolutionEvaluated] = []
    for event in history:
        if isinstance(event, IssueResolved):
            out = []
        elif isinstance(event, ResolutionEvaluated):
            out.append(event)
    return tuple(out)


def _describe(event: ResolutionEvaluated, verdict: Verdict) -> str:
    score = f", score {event.score:g}" if event.score is not None else ""
    judged = "satisfied" if event.satisfied else "not satisfied"
    return (
        f"evaluation {event.event_id} by {event.evaluator_kind.value} {event.actor!r}: "
        f"{verdict.chinese} ({judged}{score})"
    )


@attrs.frozen
class EvaluationRule:
    """How evaluations turn into archive, reopen or wait (see the module docs).

    Args:
        name: what the rule is called in decisions and reasons.
        scale: converts between verdicts and scores.
        basic_counts_as_satisfied: whether 基本满意 counts as satisfied (default True).
        requirements: per difficulty, the evaluations needed before deciding.
        reopen_on_first_dissatisfied: reopen as soon as one evaluation is not satisfied
            (default True); when False, wait until the requirement is met, then reopen
            if any counted evaluation is not satisfied.
    """

    name: str = "default"
    scale: Scale = attrs.field(factory=Scale)
    basic_counts_as_satisfied: bool = True
    requirements: Mapping[Difficulty, Requirement] = attrs.field(
        factory=_default_requirements, converter=_requirements, eq=False
    )
    reopen_on_first_dissatisfied: bool = True
    _requirements_key: tuple[tuple[Difficulty, Requirement], ...] = attrs.field(
        init=False, repr=False
    )

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigurationError("an evaluation rule needs a name")
        object.__setattr__(self, "_requirements_key", tuple(self.requirements.items()))

    def counts_as_satisfied(self, verdict: Verdict) -> bool:
        """Whether the rule counts ``verdict`` as satisfied."""
        verdict = Verdict(verdict)
        if verdict is Verdict.BASICALLY_SATISFIED:
            return self.basic_counts_as_satisfied
        return verdict is Verdict.SATISFIED

    def verdict_of(self, event: ResolutionEvaluated) -> Verdict:
        """The verbal verdict of a recorded evaluation.

        From its score when it has one; otherwise 满意 when it was recorded as satisfied
        and 不满意 when not (without a score, 基本满意 cannot be told apart).
        """
        if event.score is not None:
            return self.scale.verdict(event.score)
        return Verdict.SATISFIED if event.satisfied else Verdict.DISSATISFIED

    def evaluation(
        self,
        issue_id: str,
        kind: EvaluatorKind | str,
        *,
        verdict: Verdict | str | None = None,
        score: float | None = None,
        comment: str = "",
    ) -> EvaluateResolution:
        """The lifecycle command recording one evaluation under this rule.

        Give either a verbal ``verdict`` (recorded with the score it stands for) or a
        ``score`` (its verdict comes from the scale); ``satisfied`` is what the rule
        makes of the verdict, so the record keeps both the judgement and the rule's
        reading of it.

        Raises:
            CommandError: for neither or both of verdict and score, or an unknown verdict.
            ConfigurationError: for a score outside [0, 100].
        """
        if (verdict is None) == (score is None):
            raise CommandError(
                f"issue {issue_id!r}: give either a verdict or a score, not "
                f"{'both' if verdict is not None else 'neither'}"
            )
        if verdict is not None:
            try:
                chosen = Verdict(verdict)
            except ValueError:
                allowed = ", ".join(v.value for v in Verdict)
                raise CommandError(
                    f"issue {issue_id!r}: unknown verdict {verdict!r}; allowed: {allowed}"
                ) from None
            value = self.scale.score(chosen)
        else:
            assert score is not None
            value = _score_value(score, "a score")
            chosen = self.scale.verdict(value)
        return EvaluateResolution(
            issue_id,
            EvaluatorKind(kind),
            self.counts_as_satisfied(chosen),
            value,
            comment,
        )

    def requirement(self, difficulty: Difficulty) -> Requirement:
        """The evaluations needed for an issue of ``difficulty``."""
        return self.requirements[Difficulty(difficulty)]

    def decide(self, state: IssueState, history: Sequence[IssueEvent]) -> EvaluationDecision:
        """Archive, reopen or wait, from the evaluations of the issue's current cycle.

        Args:
            state: the issue's current state (it must be resolved).
            history: the issue's events, up to and including the state's version.

        Raises:
            TransitionError: when the issue is not resolved (there is nothing to judge).
            CommandError: when the history is not the state's (another issue, or not up
                to the state's version).
        """
        issue = state.issue_id
        if state.status is not Status.RESOLVED:
            raise TransitionError(
                issue,
                state.status.value,
                "decide on its evaluations",
                allowed_actions(state.status),
                "only a resolved issue is judged",
            )
        if not history or history[-1].version != state.version or history[-1].issue_id != issue:
            last = f"version {history[-1].version} of {history[-1].issue_id!r}" if history else "-"
            raise CommandError(
                f"issue {issue!r} is at version {state.version}, but the history given ends "
                f"with {last}"
            )
        requirement = self.requirement(state.difficulty)
        counted: list[ResolutionEvaluated] = []
        ignored: list[ResolutionEvaluated] = []
        for event in current_evaluations(history):
            if state.resolved_by is not None and event.actor == state.resolved_by:
                ignored.append(event)
            else:
                counted.append(event)
        reasons = [_describe(e, self.verdict_of(e)) for e in counted]
        reasons += [
            f"evaluation {e.event_id} ignored: {e.actor!r} resolved the issue and an "
            f"evaluator is never the resolver"
            for e in ignored
        ]
        kinds = {e.evaluator_kind for e in counted}
        met = requirement.is_met(kinds)
        missing = () if met else requirement.missing(kinds)
        unhappy = [e for e in counted if not e.satisfied]
        need = f"{state.difficulty.value} issues need {requirement.describe()}"

        def decision(
            outcome: EvaluationOutcome, command: Command | None, *why: str
        ) -> EvaluationDecision:
            return EvaluationDecision(
                issue,
                state.cycle,
                outcome,
                command,
                (*reasons, *why),
                tuple(e.event_id for e in counted),
                tuple(e.event_id for e in unhappy),
                tuple(e.event_id for e in ignored),
                missing,
                self.name,
            )

        if unhappy and (self.reopen_on_first_dissatisfied or met):
            ids = ", ".join(e.event_id for e in unhappy)
            why = f"not satisfied: {ids}"
            return decision(
                EvaluationOutcome.REOPEN,
                ReopenIssue(issue, f"evaluation {why} (rule {self.name!r})"),
                why,
            )
        if not met:
            still = ", ".join(k.value for k in missing)
            return decision(EvaluationOutcome.WAIT, None, f"{need}; still needed: {still}")
        if state.last_satisfied is not True:
            return decision(
                EvaluationOutcome.WAIT,
                None,
                f"{need} (met), but the latest recorded evaluation is not satisfied; "
                "an issue is archived only after a satisfied evaluation",
            )
        return decision(
            EvaluationOutcome.ARCHIVE,
            ArchiveIssue(issue),
            f"{need}: met, and every evaluation counted is satisfied",
        )
