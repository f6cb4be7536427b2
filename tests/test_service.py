"""The application service: the whole loop through ClosedLoop, on memory and on SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import closedloop as cl
from closedloop.departments import yiwu_departments, yiwu_responsibility_matrix
from closedloop.hierarchy import yiwu_hierarchy
from tests import world

YIWU = yiwu_hierarchy(villages_per_town=3)
FOTANG = "330782100000"


def at(y: int, m: int, d: int, hh: int = 10) -> datetime:
    return datetime(y, m, d, hh, tzinfo=world.SHANGHAI)


def small_service(
    store: cl.EventStore | None = None, clock: cl.FixedClock | None = None
) -> cl.ClosedLoop:
    return cl.ClosedLoop(
        hierarchy=world.HIERARCHY,
        store=store,
        clock=clock or cl.FixedClock(at(2025, 9, 26, 9)),
        access=world.ACCESS,
        departments=frozenset(world.DEPARTMENTS),  # type: ignore[arg-type]
    )


def run_loop(service: cl.ClosedLoop, clock: cl.FixedClock) -> str:
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="complex", title="flats"
    )
    issue = registered.issue_id
    service.escalate("village-a1-cadre", issue, reason="needs the town")
    service.escalate("town-a-leader", issue, reason="needs the city")
    clock.advance(timedelta(hours=1))
    service.assign("city-leader", issue, lead="city-construction", co_handlers=["city-resources"])
    service.accept("staff-city-construction", issue)
    clock.set(at(2025, 10, 9))
    service.resolve("staff-city-construction", issue, summary="acceptance passed")
    service.evaluate("citizen", issue, satisfied=True, score=90)
    service.archive("city-leader", issue)
    return issue


def test_the_whole_loop_runs_through_the_service_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "issues.db"
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    with cl.ClosedLoop.open(
        path,
        hierarchy=world.HIERARCHY,
        clock=clock,
        access=world.ACCESS,
    ) as service:
        issue = run_loop(service, clock)
        before = service.issue(issue)
        assert before.status is cl.Status.ARCHIVED
        assert before.due_date == date(2025, 9, 30)  # a make-up Sunday counts
        assert before.resolved_on_time is False
    with cl.ClosedLoop.open(path, hierarchy=world.HIERARCHY, access=world.ACCESS) as reopened:
        assert reopened.issue(issue) == before
        history = reopened.history(issue)
        assert [e.version for e in history] == list(range(1, 9))
        assert cl.replay(history) == before
        assert reopened.backlog() == {"archived": 1}


def test_assign_without_a_lead_follows_the_responsibility_matrix() -> None:
    clock = cl.FixedClock(at(2025, 3, 3, 9))
    service = cl.ClosedLoop(
        hierarchy=YIWU,
        departments=yiwu_departments(),
        matrix=yiwu_responsibility_matrix(),
        clock=clock,
    )
    leader = cl.Actor("leader", cl.ActorKind.OFFICIAL, unit="330782")
    (registered,) = service.register(
        leader, unit=FOTANG, category="land_certificate", difficulty="difficult", title="93 firms"
    )
    service.escalate(leader, registered.issue_id)
    (assigned,) = service.assign(leader, registered.issue_id)
    assert isinstance(assigned, cl.IssueAssigned)
    route = yiwu_responsibility_matrix().route(
        "land_certificate", "330782", at(2025, 3, 3), hierarchy=YIWU, departments=yiwu_departments()
    )
    assert assigned.lead == route.lead.id
    assert set(assigned.co_handlers) == {d.id for d in route.co_handlers}
    assert assigned.due_date == date(2025, 3, 24)  # 15 working days


def test_routing_needs_a_matrix() -> None:
    service = small_service()
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    with pytest.raises(cl.ConfigurationError, match="responsibility matrix"):
        service.assign("village-a1-cadre", registered.issue_id)


def test_observe_records_each_breach_once_and_overdue_lists_them() -> None:
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    service = small_service(clock=clock)
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="complex", title="x"
    )
    issue = registered.issue_id
    service.assign("village-a1-cadre", issue, lead="town-a-office")
    assert service.overdue(at(2025, 9, 29), minimum=cl.WarningLevel.YELLOW) == []
    warned = service.overdue(at(2025, 9, 30, 9), minimum=cl.WarningLevel.YELLOW)
    assert [o.reading.level for o in warned] == [cl.WarningLevel.YELLOW]
    clock.set(at(2025, 10, 1, 8))
    missed = service.observe()
    assert [type(e).__name__ for e in missed] == ["DeadlineMissed"]
    assert service.observe() == []
    (late,) = service.overdue()
    assert late.state.issue_id == issue
    assert late.reading.breached


def test_observe_records_all_the_breaches_or_none() -> None:
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    store = cl.MemoryEventStore()
    service = small_service(clock=clock, store=store)
    issues = []
    for title in ("a", "b", "c"):
        (registered,) = service.register(
            "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title=title
        )
        service.assign("village-a1-cadre", registered.issue_id, lead="town-a-office")
        issues.append(registered.issue_id)
    clock.set(at(2025, 10, 9, 9))
    service.accept("staff-town-a-office", issues[1])  # its latest event is now on 9 October
    # Observed on the 8th: b's history cannot go back to then; a and c are recorded.
    early = service.observe(at(2025, 10, 8, 9))
    assert sorted(e.issue_id for e in early) == sorted([issues[0], issues[2]])
    (late,) = service.observe(at(2025, 10, 9, 10))
    assert late.issue_id == issues[1]
    # A refusal part-way stores nothing.
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="d"
    )
    service.assign("village-a1-cadre", registered.issue_id, lead="town-a-office")
    before = store.last_position()
    with pytest.raises(cl.PermissionDeniedError):
        service.observe(at(2025, 10, 20), actor="citizen")
    assert store.last_position() == before


def test_refused_commands_store_nothing() -> None:
    store = cl.MemoryEventStore()
    service = small_service(store=store)
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    before = store.last_position()
    with pytest.raises(cl.PermissionDeniedError):
        service.assign("citizen", registered.issue_id, lead="town-a-office")
    with pytest.raises(cl.TransitionError):
        service.resolve("staff-town-a-office", registered.issue_id)
    with pytest.raises(cl.CommandError):
        service.assign("village-a1-cadre", registered.issue_id, lead="no-such-office")
    with pytest.raises(cl.UnknownActorError, match="ghost"):
        service.escalate("ghost", registered.issue_id)
    assert store.last_position() == before
    with pytest.raises(cl.IssueNotFoundError):
        service.issue("nope")


def test_a_stale_writer_gets_a_concurrency_error(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    first = cl.ClosedLoop.open(path, hierarchy=world.HIERARCHY, clock=clock, access=world.ACCESS)
    second = cl.ClosedLoop.open(path, hierarchy=world.HIERARCHY, clock=clock, access=world.ACCESS)
    (registered,) = first.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    issue = registered.issue_id
    assert second.issue(issue).version == 1  # the second service catches up from the log
    # Freeze the second service's view, as if it had read just before the first wrote.
    second._catch_up = lambda: None  # type: ignore[method-assign]
    first.escalate("village-a1-cadre", issue)
    with pytest.raises(cl.ConcurrencyError) as caught:
        second.assign("village-a1-cadre", issue, lead="town-a-office")
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert len(first.history(issue)) == 2
    first.close()
    second.close()


def test_the_fixed_clock_never_goes_backwards() -> None:
    clock = cl.FixedClock(at(2025, 1, 2))
    with pytest.raises(cl.ConfigurationError, match="backwards"):
        clock.set(at(2025, 1, 1))
    with pytest.raises(cl.NaiveDatetimeError):
        cl.FixedClock(datetime(2025, 1, 1))
    assert clock.advance(timedelta(days=1)) == at(2025, 1, 3)


def test_queries_filter_open_issues() -> None:
    service = small_service()
    ids = []
    for unit in (world.VILLAGE_A1, world.VILLAGE_A2, world.VILLAGE_B1):
        (e,) = service.register(
            "city-leader", unit=unit, category="housing", difficulty="simple", title="x"
        )
        ids.append(e.issue_id)
    service.assign("city-leader", ids[0], lead="city-economy")
    # Registered at the same instant, so listed by id after the registration time.
    assert [s.issue_id for s in service.open_issues(within=world.TOWN_A)] == sorted(ids[:2])
    assert [s.issue_id for s in service.open_issues(unit=world.VILLAGE_B1)] == ids[2:]
    assert [s.issue_id for s in service.open_issues(department="city-economy")] == ids[:1]
    assert service.backlog(by="unit") == {
        world.VILLAGE_A1: 1,
        world.VILLAGE_A2: 1,
        world.VILLAGE_B1: 1,
    }
    assert service.allowed("city-leader", "archive", ids[0])
    assert not service.allowed("citizen", "assign", ids[0])


def test_default_ids_are_time_ordered_uuid7() -> None:
    import uuid

    make = cl.TimeOrderedIds()
    ids = [make() for _ in range(10_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122


def test_a_city_meeting_at_a_town_assigns_its_demand_list_on_the_spot() -> None:
    clock = cl.FixedClock(at(2025, 3, 3, 9))
    store = cl.MemoryEventStore()
    service = cl.ClosedLoop(
        hierarchy=YIWU,
        store=store,
        departments=yiwu_departments(),
        matrix=yiwu_responsibility_matrix(),
        clock=clock,
    )
    town_leader = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
    city_leader = cl.Actor("city-leader", cl.ActorKind.OFFICIAL, unit="330782")
    (credit,) = service.register(
        town_leader,
        unit=FOTANG,
        category="enterprise_finance",
        difficulty="complex",
        title="a firm's credit cut to a tenth",
    )
    service.escalate(town_leader, credit.issue_id, reason="needs the city's banks")
    demand = service.demand_list(FOTANG)
    assert demand.issue_ids == (credit.issue_id,)
    clock.advance(timedelta(days=1))
    held, events = service.hold_meeting(city_leader, host=FOTANG)
    assert held.host_unit == FOTANG
    assert held.agenda == (credit.issue_id,)
    assert any(a.endswith("/economy") for a in held.attendees)
    assert [type(e).__name__ for e in events] == ["IssueAssigned", "AssignmentAccepted"]
    state = service.issue(credit.issue_id)
    assert state.status is cl.Status.IN_PROGRESS
    assert state.lead in held.attendees
    metrics = service.metrics()
    assert metrics.total.registered == 1


def test_a_meeting_not_one_level_down_records_nothing() -> None:
    service = cl.ClosedLoop(
        hierarchy=YIWU,
        departments=yiwu_departments(),
        matrix=yiwu_responsibility_matrix(),
        clock=cl.FixedClock(at(2025, 3, 3, 9)),
    )
    village = YIWU.children(FOTANG)[0].id
    city_leader = cl.Actor("city-leader", cl.ActorKind.OFFICIAL, unit="330782")
    before = service.store.last_position()
    with pytest.raises(cl.NotOneLevelDownError):
        service.hold_meeting(city_leader, host=village, agenda=[])
    assert service.store.last_position() == before


def test_evicting_forgets_only_closed_issues_and_the_log_keeps_them() -> None:
    store = cl.MemoryEventStore()
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    service = small_service(store=store, clock=clock)
    issue = run_loop(service, clock)
    (other,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    with pytest.raises(cl.ConfigurationError, match="only closed"):
        service.evict(other.issue_id)
    service.evict(issue)
    with pytest.raises(cl.IssueNotFoundError):
        service.issue(issue)
    assert [s.issue_id for s in service.issues()] == [other.issue_id]
    rebuilt = small_service(store=store, clock=clock)
    assert rebuilt.issue(issue).status is cl.Status.ARCHIVED


# -- refusals are complete, clear and store nothing --------------------------------------


def _meeting_service(access: cl.Authorizer | None = None) -> tuple[cl.ClosedLoop, str]:
    """Yiwu with one escalated problem at Fotang waiting for the city."""
    town_leader = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
    service = cl.ClosedLoop(
        hierarchy=YIWU,
        departments=yiwu_departments(),
        matrix=yiwu_responsibility_matrix(),
        clock=cl.FixedClock(at(2025, 3, 3, 9)),
        access=access,
    )
    (credit,) = service.register(
        town_leader, unit=FOTANG, category="enterprise_finance", difficulty="complex", title="x"
    )
    service.escalate(town_leader, credit.issue_id, reason="needs the city")
    return service, credit.issue_id


def test_a_meeting_whose_on_site_acceptance_is_refused_records_nothing() -> None:
    city_leader = cl.Actor("city-leader", cl.ActorKind.OFFICIAL, unit="330782")
    town_leader = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
    standard = cl.AccessPolicy.standard_grants
    access = cl.AccessPolicy(
        YIWU, [*standard(city_leader), *standard(town_leader)], [city_leader, town_leader]
    )
    service, issue = _meeting_service(access)
    before = service.store.last_position()
    with pytest.raises(cl.PermissionDeniedError, match="accept_on_site=False"):
        service.hold_meeting(city_leader, host=FOTANG)
    assert service.store.last_position() == before
    assert service.issue(issue).status is cl.Status.REGISTERED
    held, events = service.hold_meeting(city_leader, host=FOTANG, accept_on_site=False)
    assert [type(e).__name__ for e in events] == ["IssueAssigned"]
    assert held.agenda == (issue,)


def test_co_handlers_are_a_list_of_known_departments_on_transfer_and_assign() -> None:
    service = small_service()
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="complex", title="x"
    )
    issue = registered.issue_id
    service.assign("city-leader", issue, lead="city-economy")
    before = service.store.last_position()
    with pytest.raises(cl.CommandError, match="list of department ids"):
        service.transfer("city-leader", issue, to="city-construction", co_handlers="city-economy")
    with pytest.raises(cl.CommandError, match="unknown co-handling department 'ghost'"):
        service.transfer("city-leader", issue, to="city-construction", co_handlers=["ghost"])
    assert service.store.last_position() == before
    (moved,) = service.transfer(
        "city-leader", issue, to="city-construction", co_handlers=["city-resources"]
    )
    assert isinstance(moved, cl.IssueTransferred)
    assert moved.co_handlers == ("city-resources",)


def test_the_service_observes_as_the_system_actor_which_needs_its_grant() -> None:
    clock = cl.FixedClock(at(2025, 9, 26, 9))
    leader = world.CITY_LEADER
    cadre = world.VILLAGE_A1_CADRE
    standard = cl.AccessPolicy.standard_grants
    grants = [*standard(leader), *standard(cadre)]
    without = cl.AccessPolicy(world.HIERARCHY, grants, [leader, cadre])
    service = cl.ClosedLoop(hierarchy=world.HIERARCHY, clock=clock, access=without)
    (registered,) = service.register(
        cadre, unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    service.assign(leader, registered.issue_id, lead="town-a-office")
    clock.set(at(2025, 10, 9))
    with pytest.raises(cl.PermissionDeniedError, match=r"standard_grants\(SYSTEM_ACTOR"):
        service.observe()
    system_grants = standard(cl.SYSTEM_ACTOR, scope_unit=world.CITY)
    service.access = without.with_grants(*system_grants)
    (missed,) = service.observe()
    assert isinstance(missed, cl.DeadlineMissed)
    assert missed.actor == cl.SYSTEM_ACTOR.id


def test_overdue_reads_the_stored_deadline_even_when_the_calendar_changed(tmp_path: Path) -> None:
    path = tmp_path / "issues.db"
    clock = cl.FixedClock(at(2026, 12, 30, 10))
    estimated = cl.china_calendar(unannounced="provisional")
    with cl.ClosedLoop.open(
        path, hierarchy=world.HIERARCHY, clock=clock, calendar=estimated
    ) as service:
        (registered,) = service.register(
            world.CITIZEN,
            unit=world.VILLAGE_A1,
            category="housing",
            difficulty="complex",
            title="x",
        )
        (assigned,) = service.assign(world.CITY_LEADER, registered.issue_id, lead="city-economy")
    assert isinstance(assigned, cl.IssueAssigned)
    assert (assigned.due_date, assigned.provisional) == (date(2027, 1, 5), True)
    # The notice, published later, makes 4 January a holiday: the calendar would now
    # count the same limit to the 6th, but the issue was told the 5th.
    announced = cl.china_calendar().extended_with_text(
        "coverage: 2027-2027\n2027-01-01..2027-01-04 holiday New Year's Day\n"
    )
    assert announced.add_workdays(date(2026, 12, 30), 3) == date(2027, 1, 6)
    clock.set(at(2027, 1, 6, 9))
    with cl.ClosedLoop.open(
        path, hierarchy=world.HIERARCHY, clock=clock, calendar=announced
    ) as service:
        (late,) = service.overdue()
        assert late.reading.deadline.due_date == date(2027, 1, 5)
        assert late.reading.breached
        assert late.state.is_overdue(clock.now())
        assert [type(e).__name__ for e in service.observe()] == ["DeadlineMissed"]


def test_bad_arguments_get_the_librarys_errors() -> None:
    service = small_service()
    with pytest.raises(cl.CommandError, match="unknown difficulty 'hard'; allowed"):
        service.register(
            "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="hard", title="x"
        )
    (registered,) = service.register(
        "citizen", unit=world.VILLAGE_A1, category="housing", difficulty="simple", title="x"
    )
    issue = registered.issue_id
    with pytest.raises(cl.CommandError, match="unknown withdrawal reason 'bored'"):
        service.withdraw("city-leader", issue, reason="bored")
    with pytest.raises(cl.ConfigurationError, match="unknown action 'fly'"):
        service.allowed("city-leader", "fly", issue)
    with pytest.raises(cl.NaiveDatetimeError):
        service.overdue(datetime(2025, 10, 1, 9))
    with pytest.raises(cl.NaiveDatetimeError):
        service.observe(datetime(2025, 10, 1, 9))
    with pytest.raises(cl.ConfigurationError, match="unknown warning level 'purple'"):
        service.overdue(minimum="purple")
    assert service.overdue(at(2025, 9, 26, 10), minimum="yellow") == []
    with pytest.raises(cl.ConfigurationError, match="aware datetime"):
        cl.FixedClock(date(2025, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(cl.ConfigurationError, match="unknown time zone 'Asia/Shanghia'"):
        cl.SystemClock("Asia/Shanghia")


def test_an_unknown_issue_is_not_found_whatever_the_command() -> None:
    service = small_service()
    calls: list[Callable[[], object]] = [
        lambda: service.accept("staff-city-economy", "nope"),
        lambda: service.assign("city-leader", "nope", lead="city-economy"),
        lambda: service.resolve("staff-city-economy", "nope"),
        lambda: service.issue("nope"),
        lambda: service.history("nope"),
    ]
    for call in calls:
        with pytest.raises(cl.IssueNotFoundError, match="'nope'"):
            call()


def test_a_meeting_racing_another_writer_records_nothing() -> None:
    class RacedStore(cl.MemoryEventStore):
        """Another writer touches an agenda issue just before the meeting is stored."""

        def __init__(self) -> None:
            super().__init__()
            self.rival: cl.ClosedLoop | None = None

        def append_many(self, batches: Any) -> list[cl.AppendResult]:
            batches = list(batches)
            if self.rival is not None and len(batches) > 1:
                rival, self.rival = self.rival, None
                issue = batches[1][0]
                rival.escalate(rival_leader, issue, reason="someone else got there first")
            return super().append_many(batches)

    store = RacedStore()
    service = cl.ClosedLoop(
        hierarchy=YIWU,
        store=store,
        departments=yiwu_departments(),
        matrix=yiwu_responsibility_matrix(),
        clock=cl.FixedClock(at(2025, 3, 3, 9)),
    )
    rival_leader = cl.Actor("fotang-leader", cl.ActorKind.OFFICIAL, unit=FOTANG)
    village = YIWU.children(FOTANG)[0].id
    (problem,) = service.register(
        rival_leader, unit=village, category="enterprise_finance", difficulty="complex", title="x"
    )
    service.escalate(rival_leader, problem.issue_id, reason="needs the town")
    store.rival = cl.ClosedLoop(hierarchy=YIWU, store=store, clock=cl.FixedClock(at(2025, 3, 3, 9)))
    before = store.read_stream(problem.issue_id)
    with pytest.raises(cl.ConcurrencyError):
        service.hold_meeting(rival_leader, host=village)
    after = store.read_stream(problem.issue_id)
    assert [type(e).__name__ for e in after[len(before) :]] == ["IssueEscalated"]
    assert not [r for r in store.read_all() if type(r.event).__name__ == "MeetingHeld"]
