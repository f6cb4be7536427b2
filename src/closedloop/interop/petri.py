"""The designed loop as a Petri net, derived from the lifecycle's transition table.

Conformance-checking tools (PM4Py, ProM) compare a log with a model. The model of
the closed loop is not drawn by hand: :func:`designed_loop_net` derives it from
:data:`~closedloop.TRANSITIONS`, so it can never drift from what ``decide`` and
``evolve`` enforce.

Places
    ``start``; one place per status, with two refinements the transition table
    carries as guards: *suspended* is split by the status it resumes to
    (``suspended_from_assigned``, ``suspended_from_in_progress``), and *resolved* is
    split into ``resolved`` (waiting for an evaluation) and ``evaluated`` (evaluated at
    least once), because an issue is archived only after an evaluation; and ``end``,
    reached silently from ``archived`` and ``withdrawn``. One token moves through them.

Transitions
    One visible transition per event type, labelled with its activity (``register``,
    ``assign``, ``evaluate`` ...; see :data:`~closedloop.ACTIVITIES`). Where an event type
    leaves several statuses, silent transitions route the token: to a shared input
    place when every source leads to the same status, else through a small memo place
    that remembers where the token came from, so it comes back out at the right status.
    Every label is therefore unique, which token-based replay needs, and the net
    accepts exactly the activity sequences the table allows (with the two refinements
    above). What an evaluation said, deadlines and supervision are data, not
    control flow: :func:`~closedloop.check_conformance` checks those.

Markings
    Initial: one token in ``start``. Final: one token in ``end``. A log cut off at an
    instant (a simulation's last day) has issues still open; ``partial=True`` adds a
    silent way from every status to ``end``, so a case may stop anywhere.

:meth:`LoopNet.to_pnml` writes PNML (the ISO/IEC 15909-2 place/transition net
grammar) with PM4Py's ``finalmarkings`` element and ProM's marker for silent
transitions; :meth:`LoopNet.accepts` replays activity sequences without any tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final
from xml.sax.saxutils import escape, quoteattr

import attrs

from closedloop.interop._common import ACTIVITIES
from closedloop.lifecycle.events import (
    IssueArchived,
    IssueEvent,
    ResolutionEvaluated,
)
from closedloop.lifecycle.state import TRANSITIONS, Status

__all__ = ["LoopNet", "NetTransition", "designed_loop_net", "designed_loop_pnml"]

_PTNET: Final = "http://www.pnml.org/version-2009/grammar/ptnet"
START: Final = "start"
END: Final = "end"
_RESOLVED: Final = "resolved"
_EVALUATED: Final = "evaluated"


@attrs.frozen
class NetTransition:
    """A transition of the loop's Petri net.

    Attributes:
        id: unique within the net (an XML id).
        label: the activity it records, or None for a silent (τ) transition.
        inputs: the places it takes a token from.
        outputs: the places it puts a token in.
    """

    id: str
    label: str | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


def _xml_id(prefix: str, *parts: str) -> str:
    return prefix + "_" + "_".join(re.sub(r"[^0-9A-Za-z]+", "_", p).strip("_") for p in parts)


@attrs.frozen
class LoopNet:
    """A labelled Petri net with one initial and one final place (see the module docs)."""

    places: tuple[str, ...]
    transitions: tuple[NetTransition, ...]
    initial: str
    final: str

    @property
    def activities(self) -> tuple[str, ...]:
        """The visible labels, in the order of the transitions."""
        return tuple(t.label for t in self.transitions if t.label is not None)

    def _closure(self, markings: Iterable[frozenset[str]]) -> set[frozenset[str]]:
        """Every marking reachable through silent transitions alone."""
        seen = set(markings)
        todo = list(seen)
        while todo:
            marking = todo.pop()
            for t in self.transitions:
                if t.label is None and set(t.inputs) <= marking:
                    after = (marking - set(t.inputs)) | set(t.outputs)
                    if after not in seen:
                        seen.add(after)
                        todo.append(after)
        return seen

    def first_deviation(self, activities: Sequence[str]) -> int | None:
        """Where an activity sequence leaves the net, or None when the net accepts it.

        Returns the index of the first activity no reachable marking enables, or
        ``len(activities)`` when every activity replays but the final marking cannot
        be reached afterwards.
        """
        current = self._closure([frozenset({self.initial})])
        for index, activity in enumerate(activities):
            following = set()
            for marking in current:
                for t in self.transitions:
                    if t.label == activity and set(t.inputs) <= marking:
                        following.add((marking - set(t.inputs)) | set(t.outputs))
            if not following:
                return index
            current = self._closure(following)
        return None if frozenset({self.final}) in current else len(activities)

    def accepts(self, activities: Sequence[str]) -> bool:
        """Whether the net can replay the activity sequence from start to end."""
        return self.first_deviation(activities) is None

    def to_pnml(self) -> str:
        """The net as PNML text (a place/transition net), with its initial and final marking."""
        ids = {p: _xml_id("p", p) for p in self.places}
        lines = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<pnml xmlns="http://www.pnml.org/version-2009/grammar/pnml">',
            f'  <net id="closedloop_designed_loop" type="{_PTNET}">',
            "    <name><text>closedloop designed loop</text></name>",
            '    <page id="page">',
        ]
        for place in self.places:
            marking = (
                "<initialMarking><text>1</text></initialMarking>" if place == self.initial else ""
            )
            lines.append(
                f"      <place id={quoteattr(ids[place])}>"
                f"<name><text>{escape(place)}</text></name>{marking}</place>"
            )
        for t in self.transitions:
            name = t.label if t.label is not None else t.id
            silent = (
                f'<toolspecific tool="ProM" version="6.4" activity="$invisible$" '
                f"localNodeID={quoteattr(t.id)}/>"
                if t.label is None
                else ""
            )
            lines.append(
                f"      <transition id={quoteattr(t.id)}>"
                f"<name><text>{escape(name)}</text></name>{silent}</transition>"
            )
        arc = 0
        for t in self.transitions:
            for source, target in [(ids[p], t.id) for p in t.inputs] + [
                (t.id, ids[p]) for p in t.outputs
            ]:
                arc += 1
                ends = f"source={quoteattr(source)} target={quoteattr(target)}"
                lines.append(f'      <arc id="a{arc}" {ends}/>')
        lines += [
            "    </page>",
            "    <finalmarkings>",
            "      <marking>",
            f"        <place idref={quoteattr(ids[self.final])}><text>1</text></place>",
            "      </marking>",
            "    </finalmarkings>",
            "  </net>",
            "</pnml>",
        ]
        return "\n".join(lines) + "\n"


def _sources(status: Status | None, kind: type[IssueEvent]) -> list[str]:
    if status is None:
        return [START]
    if status is Status.SUSPENDED:
        return [f"suspended_from_{s.value}" for s in (Status.ASSIGNED, Status.IN_PROGRESS)]
    if status is Status.RESOLVED:
        return [_EVALUATED] if kind is IssueArchived else [_RESOLVED, _EVALUATED]
    return [status.value]


def _target(source: str, before: Status | None, kind: type[IssueEvent], after: Status | str) -> str:
    if isinstance(after, str):  # resuming: back to the status before the suspension
        return source.removeprefix("suspended_from_")
    if after is Status.SUSPENDED:
        return source if before is Status.SUSPENDED else f"suspended_from_{source}"
    if after is Status.RESOLVED:
        if kind is ResolutionEvaluated:
            return _EVALUATED
        return source if before is Status.RESOLVED else _RESOLVED
    return str(after.value)


def _status_places() -> list[str]:
    places = [START]
    for status in Status:
        if status is Status.SUSPENDED:
            places += [f"suspended_from_{s.value}" for s in (Status.ASSIGNED, Status.IN_PROGRESS)]
        elif status is Status.RESOLVED:
            places += [_RESOLVED, _EVALUATED]
        else:
            places.append(status.value)
    return [*places, END]


def designed_loop_net(*, partial: bool = False) -> LoopNet:
    """The designed loop as a Petri net (see the module docs).

    Args:
        partial: also let a case stop in any status (for logs cut off while issues
            are still open).
    """
    steps: dict[str, list[tuple[str, str]]] = {}
    for (before, kind), after in TRANSITIONS.items():
        activity = ACTIVITIES.get(kind.KIND, kind.KIND)
        for source in _sources(before, kind):
            step = (source, _target(source, before, kind, after))
            if step not in steps.setdefault(activity, []):
                steps[activity].append(step)
    places = _status_places()
    transitions: list[NetTransition] = []
    for activity, pairs in steps.items():
        visible = _xml_id("t", activity)
        targets = {target for _, target in pairs}
        if len(pairs) == 1:
            ((source, target),) = pairs
            transitions.append(NetTransition(visible, activity, (source,), (target,)))
        elif len(targets) == 1:
            hub = f"before {activity}"
            places.append(hub)
            for source, _ in pairs:
                transitions.append(
                    NetTransition(_xml_id("tau", activity, "from", source), None, (source,), (hub,))
                )
            transitions.append(NetTransition(visible, activity, (hub,), (targets.pop(),)))
        else:
            before_place, after_place = f"before {activity}", f"after {activity}"
            places += [before_place, after_place]
            for source, target in pairs:
                memo = f"{activity} from {source}"
                places.append(memo)
                transitions.append(
                    NetTransition(
                        _xml_id("tau", activity, "from", source),
                        None,
                        (source,),
                        (before_place, memo),
                    )
                )
                transitions.append(
                    NetTransition(
                        _xml_id("tau", activity, "to", target, "from", source),
                        None,
                        (after_place, memo),
                        (target,),
                    )
                )
            transitions.append(NetTransition(visible, activity, (before_place,), (after_place,)))
    closing = [s.value for s in Status if s.is_terminal]
    if partial:
        closing = [p for p in _status_places() if p not in (START, END)]
    transitions.extend(
        NetTransition(_xml_id("tau", "end", "from", place), None, (place,), (END,))
        for place in closing
    )
    return LoopNet(tuple(places), tuple(transitions), START, END)


def designed_loop_pnml(*, partial: bool = False) -> str:
    """PNML text of :func:`designed_loop_net` (read it with ``pm4py.read_pnml``)."""
    return designed_loop_net(partial=partial).to_pnml()
