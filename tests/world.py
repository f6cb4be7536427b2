"""A small, complete world for lifecycle, store and service tests.

A county-level city with two towns and two villages each, a few departments at city
and town level, actors of every kind, and an access policy made of standard grants.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import closedloop as cl
from closedloop.access import AccessPolicy, Action, Actor, ActorKind, Grant
from closedloop.hierarchy import Hierarchy
from closedloop.ids import ActorId, DepartmentId, EventId, UnitId
from closedloop.lifecycle import Context

SHANGHAI = ZoneInfo("Asia/Shanghai")
CITY = UnitId("330782")
TOWN_A = UnitId("330782100000")
TOWN_B = UnitId("330782101000")
VILLAGE_A1 = UnitId("330782100201")
VILLAGE_A2 = UnitId("330782100202")
VILLAGE_B1 = UnitId("330782101201")

HIERARCHY = Hierarchy.from_rows(
    [
        {"id": CITY, "name": "义乌市", "level": "county", "parent": None, "code": CITY},
        {"id": TOWN_A, "name": "佛堂镇", "level": "town", "parent": CITY, "code": TOWN_A},
        {"id": TOWN_B, "name": "赤岸镇", "level": "town", "parent": CITY, "code": TOWN_B},
        {
            "id": VILLAGE_A1,
            "name": "一村",
            "level": "village",
            "parent": TOWN_A,
            "code": VILLAGE_A1,
        },
        {
            "id": VILLAGE_A2,
            "name": "二村",
            "level": "village",
            "parent": TOWN_A,
            "code": VILLAGE_A2,
        },
        {
            "id": VILLAGE_B1,
            "name": "三村",
            "level": "village",
            "parent": TOWN_B,
            "code": VILLAGE_B1,
        },
    ]
)

DEPARTMENTS = (
    DepartmentId("city-economy"),
    DepartmentId("city-construction"),
    DepartmentId("city-resources"),
    DepartmentId("town-a-office"),
)
DEPARTMENT_UNIT = {
    "city-economy": CITY,
    "city-construction": CITY,
    "city-resources": CITY,
    "town-a-office": TOWN_A,
}

CITY_LEADER = Actor(ActorId("city-leader"), ActorKind.OFFICIAL, unit=CITY)
TOWN_A_LEADER = Actor(ActorId("town-a-leader"), ActorKind.OFFICIAL, unit=TOWN_A)
VILLAGE_A1_CADRE = Actor(ActorId("village-a1-cadre"), ActorKind.OFFICIAL, unit=VILLAGE_A1)
STAFF: dict[str, Actor] = {
    d: Actor(
        ActorId(f"staff-{d}"), ActorKind.DEPARTMENT_STAFF, unit=DEPARTMENT_UNIT[d], department=d
    )
    for d in DEPARTMENTS
}
CITIZEN = Actor(ActorId("citizen"), ActorKind.REPORTER, unit=VILLAGE_A1)
SURVEY = Actor(ActorId("survey"), ActorKind.THIRD_PARTY_EVALUATOR)
OFFICER = Actor(ActorId("experience-officer"), ActorKind.EXPERIENCE_OFFICER)
SUPERVISOR = Actor(ActorId("supervisor"), ActorKind.SUPERVISOR, unit=CITY)
SYSTEM = Actor(ActorId("system"), ActorKind.SYSTEM)

ACTORS = (
    CITY_LEADER,
    TOWN_A_LEADER,
    VILLAGE_A1_CADRE,
    *STAFF.values(),
    CITIZEN,
    SURVEY,
    OFFICER,
    SUPERVISOR,
    SYSTEM,
)


def _grants() -> list[Grant]:
    grants: list[Grant] = []
    standard = AccessPolicy.standard_grants
    grants += standard(CITY_LEADER)
    grants += standard(TOWN_A_LEADER)
    grants += standard(VILLAGE_A1_CADRE)
    for staff in STAFF.values():
        grants += standard(staff, scope_unit=CITY)
    grants += standard(CITIZEN)
    grants += standard(SURVEY, scope_unit=CITY)
    grants += standard(OFFICER, scope_unit=CITY)
    grants += standard(SUPERVISOR)
    grants += standard(SYSTEM, scope_unit=CITY)
    return grants


ACCESS = AccessPolicy(HIERARCHY, _grants(), ACTORS)
CALENDAR = cl.china_calendar()
POLICY = cl.DeadlinePolicy.yiwu()
START = datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI)


def id_maker(prefix: str = "e") -> Callable[[], EventId]:
    """Deterministic event ids for tests."""
    counter = itertools.count(1)
    return lambda: EventId(f"{prefix}-{next(counter)}")


def context(actor: Actor, at: datetime, new_id: Callable[[], EventId] | None = None) -> Context:
    """A decision context in this world."""
    return Context(
        actor,
        at,
        CALENDAR,
        POLICY,
        HIERARCHY,
        ACCESS,
        new_id if new_id is not None else id_maker(),
        frozenset(DEPARTMENTS),
    )


ACTION_OF_EVENT = {
    "IssueRegistered": Action.REGISTER,
    "IssueEscalated": Action.ESCALATE,
    "IssueAssigned": Action.ASSIGN,
    "AssignmentAccepted": Action.ACCEPT,
    "AssignmentReturned": Action.RETURN,
    "IssueTransferred": Action.TRANSFER,
    "IssueSuspended": Action.SUSPEND,
    "IssueResumed": Action.RESUME,
    "DeadlineExtended": Action.EXTEND,
    "IssueResolved": Action.RESOLVE,
    "ResolutionEvaluated": Action.EVALUATE,
    "IssueReopened": Action.REOPEN,
    "IssueArchived": Action.ARCHIVE,
    "IssueWithdrawn": Action.WITHDRAW,
    "DeadlineMissed": Action.OBSERVE,
}
