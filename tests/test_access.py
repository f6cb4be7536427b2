"""Access rights: grants imply jurisdiction, revocation never widens, rules hold."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import closedloop as cl
from closedloop.access import AccessPolicy, Action, Actor, ActorKind, Grant, Scope, Target
from closedloop.hierarchy import Hierarchy
from tests import world
from tests.strategies import hierarchies

NOW = datetime(2025, 6, 2, 10, tzinfo=world.SHANGHAI)
GRANTABLE = [a for a in Action if a not in (Action.ACCEPT, Action.RETURN, Action.RESOLVE)]


@st.composite
def policies(draw: st.DrawFn) -> tuple[Hierarchy, AccessPolicy, Actor]:
    hierarchy = draw(hierarchies(max_units=15))
    units = [u.id for u in hierarchy]
    actor = Actor("a", ActorKind.OFFICIAL, unit=draw(st.sampled_from(units)))
    grants = draw(
        st.lists(
            st.builds(
                lambda i, action, unit, scope, cats, start, length: Grant(
                    f"g{i}",
                    "a",
                    action,
                    unit,
                    scope,
                    cats,
                    NOW + timedelta(days=start) if start is not None else None,
                    NOW + timedelta(days=(start or 0) + length) if length is not None else None,
                ),
                st.integers(0, 10_000),
                st.sampled_from(GRANTABLE),
                st.sampled_from(units),
                st.sampled_from(Scope),
                st.none() | st.frozensets(st.sampled_from(["a", "b", "c"]), min_size=1),
                st.none() | st.integers(-5, 5),
                st.none() | st.integers(1, 5),
            ),
            max_size=8,
            unique_by=lambda g: g.grant_id,
        )
    )
    return hierarchy, AccessPolicy(hierarchy, grants, [actor]), actor


targets = st.tuples(
    st.sampled_from(GRANTABLE), st.sampled_from(["a", "b", "c", None]), st.integers(-10, 10)
)


@given(world_=policies(), query=targets, data=st.data())
def test_a_permission_implies_jurisdiction(
    world_: tuple[Hierarchy, AccessPolicy, Actor],
    query: tuple[Action, str | None, int],
    data: st.DataObject,
) -> None:
    hierarchy, policy, actor = world_
    action, category, offset = query
    unit = data.draw(st.sampled_from([u.id for u in hierarchy]))
    at = NOW + timedelta(days=offset)
    decision = policy.authorize(actor, action, Target(unit, category), at)
    if action in (Action.SUPERVISE, Action.HOLD_ACCOUNTABLE, Action.TRANSFER, Action.EVALUATE):
        return  # domain rules may refuse on top; jurisdiction is what is checked here
    if decision.allowed:
        grant = next(g for g in policy.grants if g.grant_id == decision.grant_id)
        assert grant.action is action
        assert grant.is_valid_at(at)
        if grant.scope is Scope.UNIT:
            assert unit == grant.unit
        else:
            assert hierarchy.is_within(unit, grant.unit)
        assert grant.categories is None or category in grant.categories
    else:
        assert decision.reason


@given(world_=policies(), query=targets, data=st.data())
def test_revoking_a_grant_never_widens_access(
    world_: tuple[Hierarchy, AccessPolicy, Actor],
    query: tuple[Action, str | None, int],
    data: st.DataObject,
) -> None:
    hierarchy, policy, actor = world_
    if not policy.grants:
        return
    revoked = data.draw(st.sampled_from([g.grant_id for g in policy.grants]))
    narrower = policy.without_grant(revoked)
    action, category, offset = query
    at = NOW + timedelta(days=offset)
    for unit in (u.id for u in hierarchy):
        target = Target(unit, category)
        if narrower.authorize(actor, action, target, at).allowed:
            assert policy.authorize(actor, action, target, at).allowed


@given(world_=policies(), query=targets, data=st.data())
def test_decisions_are_deterministic(
    world_: tuple[Hierarchy, AccessPolicy, Actor],
    query: tuple[Action, str | None, int],
    data: st.DataObject,
) -> None:
    hierarchy, policy, actor = world_
    action, category, offset = query
    unit = data.draw(st.sampled_from([u.id for u in hierarchy]))
    at = NOW + timedelta(days=offset)
    target = Target(unit, category)
    first = policy.authorize(actor, action, target, at)
    again = policy.authorize(actor, action, target, at)
    fresh = AccessPolicy(hierarchy, policy.grants, policy.actors.values()).authorize(
        actor, action, target, at
    )
    assert first == again == fresh


def test_supervision_comes_only_from_a_strictly_higher_level() -> None:
    town_supervisor = Actor("ts", ActorKind.SUPERVISOR, unit=world.TOWN_A)
    policy = world.ACCESS.with_grants(
        *AccessPolicy.standard_grants(town_supervisor), actors=[town_supervisor]
    )
    village_issue = Target(
        world.VILLAGE_A1, "housing", lead="town-a-office", department_unit=world.TOWN_A
    )
    assert policy.authorize(
        town_supervisor, Action.SUPERVISE, Target(world.VILLAGE_A1), NOW
    ).allowed
    refusal = policy.authorize(town_supervisor, Action.SUPERVISE, Target(world.TOWN_A), NOW)
    assert not refusal.allowed
    assert "strictly higher" in refusal.reason
    # A department of the supervisor's own unit may be supervised.
    assert policy.authorize(town_supervisor, Action.HOLD_ACCOUNTABLE, village_issue, NOW).allowed
    city_bureau = Target(world.CITY, lead="city-economy", department_unit=world.CITY)
    assert world.ACCESS.authorize(world.SUPERVISOR, Action.SUPERVISE, city_bureau, NOW).allowed
    assert not policy.authorize(town_supervisor, Action.SUPERVISE, city_bureau, NOW).allowed


def test_grants_validity_and_categories() -> None:
    hierarchy = world.HIERARCHY
    actor = Actor("liaison", ActorKind.OFFICIAL, unit=world.CITY)
    grant = Grant(
        "g",
        "liaison",
        Action.ASSIGN,
        world.CITY,
        categories={"enterprise_finance"},
        valid_from=NOW,
        valid_until=NOW + timedelta(days=30),
    )
    policy = AccessPolicy(hierarchy, [grant], [actor])
    finance = Target(world.TOWN_A, "enterprise_finance")
    assert policy.authorize(actor, Action.ASSIGN, finance, NOW).allowed
    assert not policy.authorize(actor, Action.ASSIGN, finance, NOW - timedelta(seconds=1)).allowed
    expired = policy.authorize(actor, Action.ASSIGN, finance, NOW + timedelta(days=30))
    assert "not in force" in expired.reason
    housing = policy.authorize(actor, Action.ASSIGN, Target(world.TOWN_A, "housing"), NOW)
    assert "category 'housing'" in housing.reason
    with pytest.raises(cl.PermissionDeniedError, match="liaison"):
        policy.require(actor, Action.ARCHIVE, finance, NOW)


@pytest.mark.parametrize("bounded", [True, False], ids=["grant in force for a time", "open grant"])
def test_a_naive_instant_is_refused_whatever_the_grants(bounded: bool) -> None:
    actor = Actor("liaison", ActorKind.OFFICIAL, unit=world.CITY)
    until = NOW + timedelta(days=30) if bounded else None
    grant = Grant("g", "liaison", Action.ASSIGN, world.CITY, valid_until=until)
    naive = NOW.replace(tzinfo=None)
    target = Target(world.TOWN_A)
    for access in (AccessPolicy(world.HIERARCHY, [grant], [actor]), cl.Unrestricted()):
        with pytest.raises(cl.NaiveDatetimeError, match="time zone"):
            access.authorize(actor, Action.ASSIGN, target, naive)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Grant("g", "a", Action.ASSIGN, "u", valid_from=datetime(2025, 1, 1)), "aware"),
        (
            lambda: Grant(
                "g", "a", Action.ASSIGN, "u", valid_from=NOW, valid_until=NOW - timedelta(days=1)
            ),
            "ends before",
        ),
        (lambda: Actor("s", ActorKind.DEPARTMENT_STAFF), "need a department"),
        (lambda: Actor("o", ActorKind.OFFICIAL), "needs a unit"),
        (
            lambda: Actor(
                "", ActorKind.CITIZEN if hasattr(ActorKind, "CITIZEN") else ActorKind.REPORTER
            ),
            "non-empty",
        ),
        (
            lambda: AccessPolicy(world.HIERARCHY, [Grant("g", "a", Action.ASSIGN, "nowhere")]),
            "unknown unit",
        ),
        (
            lambda: AccessPolicy(
                world.HIERARCHY,
                [
                    Grant("g", "a", Action.ASSIGN, world.CITY),
                    Grant("g", "a", Action.ARCHIVE, world.CITY),
                ],
            ),
            "duplicate grant",
        ),
    ],
)
def test_bad_access_configuration_is_refused(build: object, message: str) -> None:
    with pytest.raises(cl.ConfigurationError, match=message):
        build()  # type: ignore[operator]


def test_unknown_actors_are_named() -> None:
    with pytest.raises(cl.UnknownActorError, match="ghost"):
        world.ACCESS.actor("ghost")
    with pytest.raises(cl.ConfigurationError, match="no grant"):
        world.ACCESS.without_grant("nope")


def test_a_registered_actor_cannot_be_impersonated_with_another_department() -> None:
    clerk = world.STAFF["city-economy"]
    look_alike = Actor(
        clerk.id, ActorKind.DEPARTMENT_STAFF, unit=world.CITY, department="city-construction"
    )
    target = Target(world.VILLAGE_A1, "housing", lead="city-construction")
    assert not world.ACCESS.authorize(clerk, Action.ACCEPT, target, NOW).allowed
    refusal = world.ACCESS.authorize(look_alike, Action.ACCEPT, target, NOW)
    assert not refusal.allowed
    assert "differs from the one registered" in refusal.reason
    renamed = Actor(clerk.id, clerk.kind, unit=clerk.unit, department=clerk.department, name="Li")
    own = Target(world.VILLAGE_A1, "housing", lead="city-economy")
    assert world.ACCESS.authorize(renamed, Action.ACCEPT, own, NOW).allowed


def test_unrestricted_access_still_applies_the_domain_rules() -> None:
    free = cl.Unrestricted(world.HIERARCHY)
    issue = Target(world.VILLAGE_A1, "housing", lead="city-construction")
    assert free.authorize(world.CITY_LEADER, Action.ASSIGN, issue, NOW).allowed
    assert not free.authorize(world.STAFF["city-economy"], Action.RESOLVE, issue, NOW).allowed
    assert free.authorize(world.STAFF["city-construction"], Action.RESOLVE, issue, NOW).allowed
    village_supervisor = Actor("v", ActorKind.SUPERVISOR, unit=world.VILLAGE_A1)
    assert not free.authorize(village_supervisor, Action.SUPERVISE, Target(world.CITY), NOW)
    assert free.authorize(world.SUPERVISOR, Action.SUPERVISE, Target(world.TOWN_A), NOW)
