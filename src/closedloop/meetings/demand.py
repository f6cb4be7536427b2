"""The demand list (需求清单): what a host unit asks the convener's level to settle.

Each month the coordination office (三服务办) collects from every town the problems
that hold back development or that people feel strongly about, which the town cannot
solve alone and which need the city to coordinate; after consulting the departments
concerned (征求相关部门意见) it draws up the demand list, and the city leader takes the
departments to the town with it. :func:`compile_demand_list` draws up that list from
the issues' current states.

Which issues are on the list of host ``H`` for convener ``C`` (``H`` one level below
``C``), as of instant ``at``:

* the issue waits for assignment (status ``REGISTERED``), was registered at or before
  ``at``, and is not in ``already_scheduled``; and
* either it is handled at the convener's level (its unit is ``C``) and was registered
  within the host's jurisdiction (its origin is ``H`` or below): it has been escalated
  to the level the meeting brings; or its handling unit lies within ``H`` and the host
  *flagged* it as needing the upper level without escalating it yet (``flagged``).
  A meeting that takes on a flagged issue escalates it to the convener's level first
  (see :func:`~closedloop.meetings.hold_meeting`).

Each item is routed at the convener's unit (where the meeting assigns it) when a
:class:`~closedloop.Router` is given; an issue that cannot be routed stays on the list
with the reason, and the attendee planner names it as uncovered.

Order. Items are sorted by :func:`priority_key`, ascending:

1. overdue first: an issue waiting for assignment is overdue when it has waited longer
   than the time limit its difficulty would get on assignment under ``policy``,
   counted from registration (without a policy nothing is overdue);
2. difficulty: difficult (疑难) before complex (复杂) before simple (简单);
3. age: more working days since registration first;
4. departments involved: more departments in the route first (those most need a
   leader to bring them together);
5. then earlier registration, then issue id, so the order is total and stable.

``max_items`` keeps the first items in that order; the rest are listed as ``omitted``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Final

import attrs

from closedloop._checks import aware, whole
from closedloop.deadlines import DeadlinePolicy, Difficulty
from closedloop.departments import Route, Router
from closedloop.errors import (
    ConfigurationError,
    NoRouteError,
    NotOneLevelDownError,
)
from closedloop.hierarchy import Hierarchy
from closedloop.ids import DepartmentId, IssueId, UnitId
from closedloop.lifecycle.state import IssueState, Status
from closedloop.meetings.planner import AgendaNeed, UncoveredIssue, UncoveredReason
from closedloop.workdays import WorkCalendar

__all__ = [
    "DemandItem",
    "DemandList",
    "compile_demand_list",
    "priority_key",
]

_DIFFICULTY_RANK: Final = {Difficulty.SIMPLE: 0, Difficulty.COMPLEX: 1, Difficulty.DIFFICULT: 2}


@attrs.frozen
class DemandItem:
    """One problem on a demand list, with what the meeting needs to know about it.

    Attributes:
        issue_id, title, category, difficulty: from the issue.
        unit: the unit handling the issue now.
        origin_unit: where it was registered.
        registered_at: when.
        age_workdays: working days from registration to the list's instant.
        overdue: whether it has waited longer than its time limit (see the module).
        escalated: ``True`` when it was escalated to the convener's level, ``False``
            when the host flagged it without escalating it.
        route: lead and co-handling departments at the convener's unit, when routed.
        route_problem: why it could not be routed ('' when routed or not asked).
        notes: the departments' pre-consultation opinions (征求意见), as
            ``(department id, text)`` pairs sorted by department; ``""`` for a note
            not tied to a department.
    """

    issue_id: IssueId
    title: str
    category: str
    difficulty: Difficulty
    unit: UnitId
    origin_unit: UnitId
    registered_at: datetime
    age_workdays: int
    overdue: bool
    escalated: bool
    route: Route | None = None
    route_problem: str = ""
    notes: tuple[tuple[str, str], ...] = ()

    @property
    def departments(self) -> tuple[DepartmentId, ...]:
        """The routed departments, lead first (empty when not routed)."""
        return self.route.department_ids if self.route is not None else ()

    @property
    def department_count(self) -> int:
        """How many departments the route involves (0 when not routed)."""
        return len(self.departments)


def priority_key(item: DemandItem) -> tuple[object, ...]:
    """The sort key of the demand list: smaller comes first (see the module for the order)."""
    return (
        not item.overdue,
        -_DIFFICULTY_RANK[item.difficulty],
        -item.age_workdays,
        -item.department_count,
        item.registered_at,
        item.issue_id,
    )


@attrs.frozen
class DemandList:
    """The problems a host unit puts before the convener's level, most pressing first.

    Attributes:
        host_unit: where the meeting is held (one level below the convener).
        convener_unit: whose leader comes.
        compiled_at: the instant the list describes.
        items: the problems, in priority order.
        omitted: issues that qualified but fell beyond ``max_items``, in priority order.
    """

    host_unit: UnitId
    convener_unit: UnitId
    compiled_at: datetime
    items: tuple[DemandItem, ...]
    omitted: tuple[IssueId, ...] = ()

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[DemandItem]:
        return iter(self.items)

    @property
    def issue_ids(self) -> tuple[IssueId, ...]:
        """The listed issues, in priority order: the agenda of the meeting."""
        return tuple(item.issue_id for item in self.items)

    def item(self, issue_id: str) -> DemandItem:
        """The item for an issue.

        Raises:
            ConfigurationError: when the issue is not on the list.
        """
        for item in self.items:
            if item.issue_id == issue_id:
                return item
        raise ConfigurationError(
            f"issue {issue_id!r} is not on the demand list of {self.host_unit!r}"
        )

    def handling_units(self) -> dict[IssueId, UnitId]:
        """Each listed issue's handling unit, as :func:`hold_meeting` takes them."""
        return {item.issue_id: item.unit for item in self.items}

    def agenda_needs(
        self, *, substitutable: bool = True, weighting: str = "count"
    ) -> tuple[tuple[AgendaNeed, ...], tuple[UncoveredIssue, ...]]:
        """The seats each routed item needs, and the unrouted items.

        ``weighting`` is ``"count"`` (every issue weighs 1, so a size-limited plan
        covers as many as it can) or ``"priority"`` (the ``k``-th of ``n`` items weighs
        ``n - k + 1``, so a size-limited plan favours the top of the list).

        Raises:
            ConfigurationError: for an unknown weighting.
        """
        if weighting not in ("count", "priority"):
            raise ConfigurationError(f"weighting is 'count' or 'priority', got {weighting!r}")
        n = len(self.items)
        needs: list[AgendaNeed] = []
        unrouted: list[UncoveredIssue] = []
        for k, item in enumerate(self.items):
            weight = 1.0 if weighting == "count" else float(n - k)
            if item.route is None:
                unrouted.append(
                    UncoveredIssue(
                        item.issue_id,
                        UncoveredReason.NO_ROUTE,
                        (),
                        item.route_problem or "not routed (no router was given)",
                    )
                )
                continue
            needs.append(
                AgendaNeed.from_route(
                    item.issue_id, item.route, substitutable=substitutable, weight=weight
                )
            )
        return tuple(needs), tuple(unrouted)


def _notes(value: str | Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (("", value),)
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def compile_demand_list(
    host_unit: str,
    convener_unit: str,
    issues: Iterable[IssueState],
    *,
    at: datetime,
    calendar: WorkCalendar,
    hierarchy: Hierarchy,
    router: Router | None = None,
    policy: DeadlinePolicy | None = None,
    flagged: Iterable[str] = (),
    already_scheduled: Iterable[str] = (),
    notes: Mapping[str, str | Mapping[str, str]] | None = None,
    max_items: int | None = None,
) -> DemandList:
    """Draw up the demand list of ``host_unit`` for a meeting convened by ``convener_unit``.

    The selection rule and the order are described in the module documentation.

    Args:
        host_unit: where the meeting is held; a child of ``convener_unit``.
        convener_unit: whose leader comes.
        issues: issue states to choose from (any; those that do not qualify are ignored).
        at: the instant the list describes (aware).
        calendar: counts the items' age in working days (and their time limits).
        hierarchy: the administrative tree.
        router: routes each item at the convener's unit; without it items carry no
            route and count no departments.
        policy: sets when a waiting issue counts as overdue; without it none does.
        flagged: issues within the host that it asks the upper level to take although
            they have not been escalated.
        already_scheduled: issues on the agenda of another meeting; left out.
        notes: pre-consultation opinions per issue: a text, or department id → text.
        max_items: keep at most this many items.

    Raises:
        NotOneLevelDownError: when the host is not a child of the convener.
        UnknownUnitError: for a unit the hierarchy does not have.
        NaiveDatetimeError: for an instant without a time zone.
        ConfigurationError: for a negative ``max_items``.
    """
    aware(at, "the demand list's instant")
    if max_items is not None:
        whole(max_items, "max_items")
    host = UnitId(host_unit)
    convener = UnitId(convener_unit)
    if not hierarchy.is_one_level_down(convener, host):
        raise NotOneLevelDownError(
            convener, host, "a demand list is drawn up for a child of the convening unit"
        )
    flags = frozenset(flagged)
    scheduled = frozenset(already_scheduled)
    opinions = notes or {}
    items: list[DemandItem] = []
    for state in issues:
        if state.status is not Status.REGISTERED or state.issue_id in scheduled:
            continue
        if state.registered_at > at:
            continue
        if state.unit == convener:
            if not hierarchy.is_within(state.origin_unit, host):
                continue
            escalated = True
        elif state.issue_id in flags and hierarchy.is_within(state.unit, host):
            escalated = False
        else:
            continue
        route: Route | None = None
        problem = ""
        if router is not None:
            try:
                route = router.route(state.category, convener, at)
            except NoRouteError as exc:
                problem = exc.reason
        overdue = policy is not None and policy.deadline(
            state.difficulty, state.registered_at, calendar
        ).is_breached(at)
        items.append(
            DemandItem(
                issue_id=state.issue_id,
                title=state.title,
                category=state.category,
                difficulty=state.difficulty,
                unit=state.unit,
                origin_unit=state.origin_unit,
                registered_at=state.registered_at,
                age_workdays=max(0, calendar.workdays_between(state.registered_at, at)),
                overdue=overdue,
                escalated=escalated,
                route=route,
                route_problem=problem,
                notes=_notes(opinions.get(state.issue_id)),
            )
        )
    items.sort(key=priority_key)
    seen: set[str] = set()
    for item in items:
        if item.issue_id in seen:
            raise ConfigurationError(f"issue {item.issue_id!r} was given twice")
        seen.add(item.issue_id)
    kept = items if max_items is None else items[:max_items]
    omitted = () if max_items is None else tuple(i.issue_id for i in items[max_items:])
    return DemandList(host, convener, at, tuple(kept), omitted)
