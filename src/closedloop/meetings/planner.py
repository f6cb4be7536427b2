"""The attendee planner: which departments the leader brings to a downward meeting.

Every agenda issue needs *seats* at the table: the lead department's seat and one seat
per co-handling function. A :class:`Seat` is filled by any one of its candidate
departments: the lead seat has one candidate; the seat for the ``banking`` function
of a firm's credit problem has three (any of the city's three banks can sit in it).
An issue is *covered* when every one of its seats is filled by a department that
comes. :class:`AgendaNeed` lists an issue's seats, with a weight (its priority).

:func:`plan_attendees` chooses the departments:

1. An issue one of whose seats has no candidate left (after ``candidates`` restricts
   who may come) cannot be covered; it is named with reason ``NO_CANDIDATE``.
2. Without ``max_size``: cover every coverable issue with as few departments as
   possible, ``must_bring`` departments included. This is *set cover*: the elements
   are the seats, a department covers the seats it can fill.
3. With ``max_size`` and no cover that fits: maximise the total weight of the issues
   covered with at most ``max_size`` departments, then use as few departments as
   possible. The issues left out are named with reason ``OVER_BUDGET``.

Methods and guarantees:

* **exact** (when at most ``exact_limit`` departments, 40 by default, are still in play
  after the reductions below): branch and bound. For set cover it branches on the
  candidates of the seat with the fewest candidates (taking each one, having ruled out
  the ones before it) and prunes with a packing bound: seats whose candidate sets are
  pairwise disjoint each need a department of their own. With ``max_size`` it branches
  the same way, with one more branch that gives the issue up, and prunes by the weight
  still reachable within the budget. The answer is optimal unless the search runs out
  of its node budget (``max_nodes``); it then returns the best plan found, never worse
  than the greedy one, with ``optimal=False``.
* **greedy** (beyond the limit): for set cover, repeatedly bring the department that
  fills the most unfilled seats. It uses at most ``H(d)`` times the minimum number of
  departments, where ``d`` is the largest number of seats one department can fill and
  ``H(d) = 1 + 1/2 + ... + 1/d <= ln d + 1``; the factor is reported as
  ``approximation``, and the plan's ``lower_bound`` uses it (the minimum is at least
  the greedy size divided by ``H(d)``). With ``max_size`` the greedy choice takes, one
  at a time, the issue with the best weight per extra department; that heuristic has
  no stated guarantee (``approximation`` is ``None``).

Reductions before either method: seats already filled by ``must_bring`` are dropped;
identical seats are merged; a seat whose candidates include all of another seat's is
dropped (filling the smaller fills it); for set cover, a seat with a single candidate
forces that department. Departments are ordered by id and ties are broken by that
order, so the plan does not depend on the order of the input.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Protocol, TypeAlias

import attrs

from closedloop._checks import whole
from closedloop.departments import Route
from closedloop.errors import ConfigurationError
from closedloop.ids import DepartmentId, IssueId

__all__ = [
    "AgendaNeed",
    "AttendeePlan",
    "Seat",
    "Seating",
    "UncoveredIssue",
    "UncoveredReason",
    "harmonic_number",
    "plan_attendees",
]

EXACT_LIMIT: Final = 40
"""Departments in play up to which :func:`plan_attendees` searches exactly by default."""

MAX_NODES: Final = 100_000
"""Default node budget of the exact search."""


def harmonic_number(n: int) -> float:
    """``H(n) = 1 + 1/2 + ... + 1/n`` (0 for ``n = 0``): greedy set cover's factor."""
    return math.fsum(1.0 / k for k in range(1, n + 1))


def _department_set(value: Iterable[str]) -> frozenset[DepartmentId]:
    if isinstance(value, str):
        return frozenset({DepartmentId(value)})
    result = frozenset(DepartmentId(v) for v in value)
    for v in result:
        if not isinstance(v, str) or not v:
            raise ConfigurationError(f"department ids are non-empty strings, got {v!r}")
    return result


def _non_empty(_instance: object, _attribute: object, value: frozenset[DepartmentId]) -> None:
    if not value:
        raise ConfigurationError("a seat needs at least one candidate department")


@attrs.frozen
class Seat:
    """A place at the table that any one of ``candidates`` can fill.

    ``label`` says what the seat is for (a function such as ``"banking"``); ``lead``
    marks the lead department's seat.
    """

    candidates: frozenset[DepartmentId] = attrs.field(
        converter=_department_set, validator=_non_empty
    )
    label: str = ""
    lead: bool = attrs.field(default=False, kw_only=True)

    def __str__(self) -> str:
        names = " | ".join(sorted(self.candidates))
        role = "lead " if self.lead else ""
        return f"{role}{self.label or 'seat'} ({names})"


def _weight(_instance: object, _attribute: object, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ConfigurationError(f"an agenda weight is a finite number > 0, got {value!r}")


def _seats(value: Iterable[Seat]) -> tuple[Seat, ...]:
    seats = tuple(value)
    for seat in seats:
        if not isinstance(seat, Seat):
            raise ConfigurationError(f"expected Seat values, got {seat!r}")
    if sum(seat.lead for seat in seats) > 1:
        raise ConfigurationError("an issue has at most one lead seat")
    return seats


@attrs.frozen
class AgendaNeed:
    """The seats one agenda issue needs filled, and how much covering it is worth.

    An issue with no seats is covered by any plan.
    """

    issue_id: IssueId = attrs.field(converter=IssueId)
    seats: tuple[Seat, ...] = attrs.field(converter=_seats)
    weight: float = attrs.field(default=1.0, validator=_weight, kw_only=True)

    @classmethod
    def from_route(
        cls, issue_id: str, route: Route, *, substitutable: bool = True, weight: float = 1.0
    ) -> AgendaNeed:
        """The seats of a routed issue: the lead, then one per co-handling function.

        With ``substitutable`` (the default) the departments a function resolved to
        share one seat (any one of the three banks will do); otherwise every
        co-handling department needs its own seat.
        """
        seats = [Seat({route.lead.id}, route.lead.function, lead=True)]
        if substitutable:
            by_function: dict[str, list[DepartmentId]] = {}
            for dept in route.co_handlers:
                by_function.setdefault(dept.function, []).append(dept.id)
            seats += [Seat(ids, function) for function, ids in by_function.items()]
        else:
            seats += [Seat({d.id}, d.function) for d in route.co_handlers]
        return cls(issue_id, seats, weight=weight)

    @classmethod
    def of(
        cls, issue_id: str, seats: Iterable[str | Iterable[str]], *, weight: float = 1.0
    ) -> AgendaNeed:
        """Seats from plain ids: each entry is one department, or a collection of
        interchangeable departments. The first entry is the lead seat."""
        built = [Seat(entry, lead=(i == 0)) for i, entry in enumerate(seats)]
        return cls(issue_id, built, weight=weight)


class UncoveredReason(enum.Enum):
    """Why the plan does not cover an agenda issue."""

    NO_CANDIDATE = "no_candidate"
    """A seat has no candidate among the departments that may come."""
    NO_ROUTE = "no_route"
    """The issue could not be routed, so its seats are unknown."""
    OVER_BUDGET = "over_budget"
    """Left out to stay within the maximum number of departments."""


@attrs.frozen
class UncoveredIssue:
    """An agenda issue the plan does not cover, the seats left empty, and why."""

    issue_id: IssueId
    reason: UncoveredReason
    seats: tuple[Seat, ...] = ()
    detail: str = ""


@attrs.frozen
class Seating:
    """Who fills a covered issue's seats: its lead and its other departments.

    For a seat several attending departments could fill, the one with the smallest
    id is named.
    """

    issue_id: IssueId
    lead: DepartmentId | None
    co_handlers: tuple[DepartmentId, ...]


@attrs.frozen
class AttendeePlan:
    """The departments to bring, what they cover, and how good the answer is.

    Attributes:
        departments: the departments to bring, sorted by id (``must_bring`` included).
        covered: the agenda issues whose every seat is filled, in agenda order.
        uncovered: the issues left out, each with its reason.
        seating: for each covered issue, who fills its seats.
        method: ``"exact"`` (branch and bound) or ``"greedy"``.
        optimal: whether the plan is proven optimal (exact search completed).
        lower_bound: a proven lower bound on the number of departments any plan needs
            to cover the ``covered`` issues (equal to ``size`` when optimal).
        approximation: for a set-cover plan that is not proven optimal, the factor
            ``H(d)`` it can exceed the minimum by; ``None`` otherwise.
        covered_weight: the total weight of the covered issues.
        nodes: search nodes the exact method explored (0 for greedy).
    """

    departments: tuple[DepartmentId, ...]
    covered: tuple[IssueId, ...]
    uncovered: tuple[UncoveredIssue, ...]
    seating: tuple[Seating, ...]
    method: str
    optimal: bool
    lower_bound: int
    approximation: float | None
    covered_weight: float
    nodes: int = 0

    @property
    def size(self) -> int:
        """How many departments come."""
        return len(self.departments)

    def seating_for(self, issue_id: str) -> Seating:
        """Who fills the seats of a covered issue.

        Raises:
            ConfigurationError: when the issue is not covered by the plan.
        """
        for seating in self.seating:
            if seating.issue_id == issue_id:
                return seating
        raise ConfigurationError(f"issue {issue_id!r} is not covered by this plan")


class _NeedsSource(Protocol):
    def agenda_needs(
        self, *, substitutable: bool = ...
    ) -> tuple[tuple[AgendaNeed, ...], tuple[UncoveredIssue, ...]]: ...


AgendaLike: TypeAlias = (
    "_NeedsSource | Iterable[AgendaNeed] | Mapping[str, Iterable[str | Iterable[str]]]"
)


def _needs_of(agenda: Any, substitutable: bool) -> tuple[list[AgendaNeed], list[UncoveredIssue]]:
    if hasattr(agenda, "agenda_needs"):
        needs, unrouted = agenda.agenda_needs(substitutable=substitutable)
        return list(needs), list(unrouted)
    if isinstance(agenda, Mapping):
        return [AgendaNeed.of(k, v) for k, v in agenda.items()], []
    needs = list(agenda)
    for need in needs:
        if not isinstance(need, AgendaNeed):
            raise ConfigurationError(f"expected AgendaNeed values, got {need!r}")
    return needs, []


# -- bit-set helpers ----------------------------------------------------------------------


def _bits(mask: int) -> list[int]:
    out = []
    while mask:
        low = mask & -mask
        out.append(low.bit_length() - 1)
        mask ^= low
    return out


def _packing(masks: Iterable[int]) -> int:
    """How many of the seats have pairwise disjoint candidates (a lower bound)."""
    used = 0
    count = 0
    for m in sorted(masks, key=int.bit_count):
        if not m & used:
            used |= m
            count += 1
    return count


def _reduce(masks: Iterable[int]) -> list[int]:
    """Distinct seats, without those implied by a seat with fewer candidates."""
    kept: list[int] = []
    for m in sorted(set(masks), key=lambda x: (x.bit_count(), x)):
        if not any(k & ~m == 0 for k in kept):
            kept.append(m)
    return kept


def _greedy_cover(elements: Sequence[int]) -> int:
    """Greedy set cover of ``elements``: the chosen departments as a mask."""
    chosen = 0
    left = list(elements)
    while left:
        counts: dict[int, int] = {}
        for m in left:
            for b in _bits(m):
                counts[b] = counts.get(b, 0) + 1
        best = min(counts, key=lambda b: (-counts[b], b))
        chosen |= 1 << best
        left = [m for m in left if not m >> best & 1]
    return chosen


class _Truncated(Exception):
    pass


class _CoverSearch:
    """Branch and bound for the smallest set of departments filling every seat."""

    def __init__(self, elements: Sequence[int], best: int, max_nodes: int) -> None:
        self.best = best
        self.best_size = best.bit_count()
        self.nodes = 0
        self.max_nodes = max_nodes
        self.elements = list(elements)

    def run(self) -> bool:
        """Search; whether it completed within the node budget."""
        try:
            self._search(0, -1, self.elements)
        except _Truncated:
            return False
        return True

    def _search(self, chosen: int, allowed: int, left: list[int]) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _Truncated
        size = chosen.bit_count()
        if not left:
            if size < self.best_size:
                self.best, self.best_size = chosen, size
            return
        restricted = [m & allowed for m in left]
        if not all(restricted):
            return
        if size + _packing(restricted) >= self.best_size:
            return
        seat = min(restricted, key=lambda m: (m.bit_count(), m))
        counts = {b: sum(1 for m in restricted if m >> b & 1) for b in _bits(seat)}
        for b in sorted(counts, key=lambda b: (-counts[b], b)):
            bit = 1 << b
            self._search(chosen | bit, allowed, [m for m in left if not m & bit])
            allowed &= ~bit
            if size + 1 >= self.best_size:
                return


class _BudgetSearch:
    """Branch and bound for the heaviest set of issues coverable with ``budget`` departments."""

    def __init__(
        self,
        issues: Sequence[tuple[float, tuple[int, ...]]],
        budget: int,
        best: tuple[float, int, int],
        max_nodes: int,
    ) -> None:
        self.issues = list(issues)
        self.budget = budget
        self.best_weight, self.best_size, self.best = best
        self.eps = 1e-9 * max(1.0, math.fsum(w for w, _ in issues))
        self.nodes = 0
        self.max_nodes = max_nodes

    def run(self) -> bool:
        """Search; whether it completed within the node budget."""
        base = math.fsum(w for w, seats in self.issues if not seats)
        alive = [i for i, (_, seats) in enumerate(self.issues) if seats]
        try:
            self._search(0, 0, alive, base)
        except _Truncated:
            return False
        return True

    def _better(self, weight: float, size: int) -> bool:
        if weight > self.best_weight + self.eps:
            return True
        return abs(weight - self.best_weight) <= self.eps and size < self.best_size

    def _search(self, chosen: int, excluded: int, alive: list[int], weight: float) -> None:
        self.nodes += 1
        if self.nodes > self.max_nodes:
            raise _Truncated
        size = chosen.bit_count()
        room = self.budget - size
        still: list[tuple[int, list[int], int]] = []
        reachable = 0.0
        for i in alive:
            w, seats = self.issues[i]
            left = [m & ~excluded for m in seats if not m & chosen]
            if not left:
                weight += w
                continue
            if not all(left):
                continue
            need = _packing(left)
            if need > room:
                continue
            still.append((i, left, need))
            reachable += w
        if self._better(weight, size):
            self.best_weight, self.best_size, self.best = weight, size, chosen
        if not still:
            return
        # Each issue still open needs ``need`` more departments from the union of its
        # seats; share its weight among them. Whatever ``room`` departments come, the
        # weight they complete is at most the sum of their shares.
        share: dict[int, float] = {}
        for i, seats_left, need in still:
            union = 0
            for m in seats_left:
                union |= m
            part = self.issues[i][0] / need
            for b in _bits(union):
                share[b] = share.get(b, 0.0) + part
        best_shares = math.fsum(sorted(share.values(), reverse=True)[:room])
        bound = weight + min(reachable, best_shares)
        if bound < self.best_weight - self.eps:
            return
        if bound <= self.best_weight + self.eps and size + 1 >= self.best_size:
            return
        _target, left, _need = max(still, key=lambda t: (self.issues[t[0]][0], -t[2], -t[0]))
        seat = min(left, key=lambda m: (m.bit_count(), m))
        score = share
        remaining = [i for i, _, _ in still]
        for b in sorted(_bits(seat), key=lambda b: (-score.get(b, 0.0), b)):
            self._search(chosen | 1 << b, excluded, remaining, weight)
            excluded |= 1 << b
        self._search(chosen, excluded, remaining, weight)


def _greedy_budget(
    issues: Sequence[tuple[float, tuple[int, ...]]], budget: int
) -> tuple[float, int, int]:
    """Issue by issue, the best weight per extra department: (weight, size, chosen mask)."""
    chosen = 0
    open_issues = [i for i, (_, seats) in enumerate(issues) if seats]
    while True:
        best: tuple[tuple[float, int, int], int] | None = None
        size = chosen.bit_count()
        for i in open_issues:
            left = [m for m in issues[i][1] if not m & chosen]
            if not left:
                continue
            extra = _greedy_cover(_reduce(left))
            count = extra.bit_count()
            if size + count > budget:
                continue
            key = (issues[i][0] / count, -count, -i)
            if best is None or key > best[0]:
                best = (key, extra)
        if best is None:
            break
        chosen |= best[1]
        open_issues = [i for i in open_issues if any(not m & chosen for m in issues[i][1])]
    weight = math.fsum(w for w, seats in issues if all(m & chosen for m in seats))
    return weight, chosen.bit_count(), chosen


def _trim(chosen: int, fixed: int, issues: Sequence[tuple[int, ...]]) -> int:
    """Drop departments that no covered issue needs (those in ``fixed`` stay)."""
    covered = [seats for seats in issues if all(m & (chosen | fixed) for m in seats)]
    for b in sorted(_bits(chosen), reverse=True):
        without = (chosen & ~(1 << b)) | fixed
        if all(all(m & without for m in seats) for seats in covered):
            chosen &= ~(1 << b)
    return chosen


def plan_attendees(
    agenda: AgendaLike,
    *,
    candidates: Iterable[str] | None = None,
    must_bring: Iterable[str] = (),
    max_size: int | None = None,
    method: str = "auto",
    exact_limit: int = EXACT_LIMIT,
    max_nodes: int = MAX_NODES,
    substitutable: bool = True,
) -> AttendeePlan:
    """Choose the departments to bring so that the agenda issues have their seats filled.

    Args:
        agenda: a :class:`~closedloop.meetings.DemandList` (its routed items; unrouted
            ones are named with reason ``NO_ROUTE``), :class:`AgendaNeed` values, or a
            mapping from issue id to seats in the form :meth:`AgendaNeed.of` takes.
        candidates: the departments that may come (default: any a seat names).
        must_bring: departments that come in any case (the coordination office).
        max_size: the most departments that may come, ``must_bring`` included.
        method: ``"auto"`` (exact when at most ``exact_limit`` departments are in
            play after the reductions, else greedy), ``"exact"`` or ``"greedy"``.
        exact_limit: see ``method``.
        max_nodes: node budget of the exact search.
        substitutable: for a demand list, whether the departments a co-handling
            function resolved to share one seat (see :meth:`AgendaNeed.from_route`).

    Raises:
        ConfigurationError: for two needs with the same issue id, more must-bring
            departments than ``max_size``, or an unknown method.
    """
    if method not in ("auto", "exact", "greedy"):
        raise ConfigurationError(f"method is 'auto', 'exact' or 'greedy', got {method!r}")
    whole(exact_limit, "exact_limit")
    whole(max_nodes, "max_nodes")
    needs, unrouted = _needs_of(agenda, substitutable)
    seen: set[str] = {u.issue_id for u in unrouted}
    for need in needs:
        if need.issue_id in seen:
            raise ConfigurationError(f"issue {need.issue_id!r} is on the agenda twice")
        seen.add(need.issue_id)
    must = sorted(_department_set(must_bring))
    if max_size is not None:
        whole(max_size, "max_size")
    if max_size is not None and len(must) > max_size:
        raise ConfigurationError(
            f"{len(must)} must-bring departments do not fit max_size={max_size}: {must}"
        )
    allowed = None if candidates is None else _department_set(candidates) | set(must)

    # Index the departments in play and turn seats into bit masks.
    uncovered: list[UncoveredIssue] = list(unrouted)
    coverable: list[tuple[AgendaNeed, tuple[int, ...]]] = []
    names: set[DepartmentId] = set(must)
    usable: list[tuple[AgendaNeed, list[frozenset[DepartmentId]]]] = []
    for need in needs:
        sets = [
            seat.candidates if allowed is None else seat.candidates & allowed for seat in need.seats
        ]
        empty = tuple(seat for seat, s in zip(need.seats, sets, strict=True) if not s)
        if empty:
            uncovered.append(
                UncoveredIssue(
                    need.issue_id,
                    UncoveredReason.NO_CANDIDATE,
                    empty,
                    "no department that may come can fill: " + "; ".join(map(str, empty)),
                )
            )
            continue
        usable.append((need, sets))
        for s in sets:
            names.update(s)
    ids = sorted(names)
    index = {d: i for i, d in enumerate(ids)}
    for need, sets in usable:
        masks = []
        for s in sets:
            mask = 0
            for d in s:
                mask |= 1 << index[d]
            masks.append(mask)
        coverable.append((need, tuple(masks)))
    must_mask = 0
    for d in must:
        must_mask |= 1 << index[d]
    residual_issues = [
        (need.weight, tuple(m for m in masks if not m & must_mask)) for need, masks in coverable
    ]

    # Set cover of every coverable issue.
    elements = _reduce(m for _, seats in residual_issues for m in seats)
    forced = 0
    for m in elements:
        if m.bit_count() == 1:
            forced |= m
    rest = [m for m in elements if not m & forced]
    in_play = 0
    for m in rest:
        in_play |= m
    use_exact = method == "exact" or (method == "auto" and in_play.bit_count() <= exact_limit)
    greedy = _greedy_cover(rest)
    degree = max((sum(1 for m in rest if m >> b & 1) for b in _bits(in_play)), default=0)
    factor = max(1.0, harmonic_number(degree))
    chosen, nodes, complete = greedy, 0, False
    if use_exact:
        search = _CoverSearch(rest, greedy, max_nodes)
        complete = search.run()
        chosen, nodes = search.best, search.nodes
    fixed = must_mask | forced
    base_bound = fixed.bit_count() + max(
        _packing(rest), math.ceil(greedy.bit_count() / factor - 1e-9)
    )
    cover = fixed | chosen
    # A plan that meets the lower bound is optimal, however it was found.
    optimal = (use_exact and complete) or cover.bit_count() <= base_bound
    budget_plan = max_size is not None and cover.bit_count() > max_size

    if not budget_plan:
        lower = cover.bit_count() if optimal else min(base_bound, cover.bit_count())
        approximation = None if optimal else factor
        return _result(
            ids,
            cover,
            coverable,
            uncovered,
            needs,
            "exact" if use_exact else "greedy",
            optimal,
            lower,
            approximation,
            nodes,
        )

    # Too many departments: the heaviest issues that fit within max_size.
    assert max_size is not None
    budget = max_size - len(must)
    in_play = 0
    for _, seats in residual_issues:
        for m in seats:
            in_play |= m
    use_exact = method == "exact" or (method == "auto" and in_play.bit_count() <= exact_limit)
    start = _greedy_budget(residual_issues, budget)
    chosen, nodes, complete = start[2], 0, False
    if use_exact:
        budget_search = _BudgetSearch(residual_issues, budget, start, max_nodes)
        complete = budget_search.run()
        chosen, nodes = budget_search.best, budget_search.nodes
    chosen = _trim(chosen, must_mask, [seats for _, seats in coverable])
    cover = must_mask | chosen
    optimal = use_exact and complete
    if optimal:
        lower = cover.bit_count()
    else:
        kept = [seats for _, seats in residual_issues if all(m & chosen for m in seats)]
        kept_elements = _reduce(m for seats in kept for m in seats)
        lower = len(must) + _packing(kept_elements)
    return _result(
        ids,
        cover,
        coverable,
        uncovered,
        needs,
        "exact" if use_exact else "greedy",
        optimal,
        lower,
        None,
        nodes,
        over_budget=max_size,
    )


def _result(
    ids: Sequence[DepartmentId],
    cover: int,
    coverable: Sequence[tuple[AgendaNeed, tuple[int, ...]]],
    uncovered: list[UncoveredIssue],
    needs: Sequence[AgendaNeed],
    method: str,
    optimal: bool,
    lower: int,
    approximation: float | None,
    nodes: int,
    *,
    over_budget: int | None = None,
) -> AttendeePlan:
    covered: set[IssueId] = set()
    seating: list[Seating] = []
    for need, masks in coverable:
        if not all(m & cover for m in masks):
            empty = tuple(seat for seat, m in zip(need.seats, masks, strict=True) if not m & cover)
            uncovered.append(
                UncoveredIssue(
                    need.issue_id,
                    UncoveredReason.OVER_BUDGET,
                    empty,
                    f"left out to bring at most {over_budget} departments",
                )
            )
            continue
        covered.add(need.issue_id)
        lead: DepartmentId | None = None
        others: list[DepartmentId] = []
        for seat, m in zip(need.seats, masks, strict=True):
            who = ids[_bits(m & cover)[0]]
            if seat.lead:
                lead = who
            elif who not in others:
                others.append(who)
        seating.append(Seating(need.issue_id, lead, tuple(d for d in others if d != lead)))
    order = {need.issue_id: i for i, need in enumerate(needs)}
    uncovered.sort(key=lambda u: order.get(u.issue_id, len(order)))
    weight = math.fsum(need.weight for need, _ in coverable if need.issue_id in covered)
    return AttendeePlan(
        departments=tuple(ids[b] for b in _bits(cover)),
        covered=tuple(need.issue_id for need in needs if need.issue_id in covered),
        uncovered=tuple(uncovered),
        seating=tuple(seating),
        method=method,
        optimal=optimal,
        lower_bound=lower,
        approximation=approximation,
        covered_weight=weight,
        nodes=nodes,
    )
