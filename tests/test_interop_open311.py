"""Open311 GeoReport v2: export, round trip, validation at the edge, hostile input."""

from __future__ import annotations

import contextlib
import json
import random
from datetime import datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import closedloop as cl
from closedloop.interop import (
    ImportedRequest,
    from_open311,
    from_open311_json,
    parse_open311_json,
    to_open311,
    to_open311_json,
    validate_open311,
)
from tests import logs, world


def states(seed: int = 3) -> list[cl.IssueState]:
    return list(logs.random_log(random.Random(seed), issues=15, steps=150).states.values())


def good(**fields: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "service_request_id": "r-1",
        "service_code": "roads",
        "description": "Pothole on the village road\n\nNear the school gate.",
        "requested_datetime": "2025-03-03T09:00:00+08:00",
        "jurisdiction_id": "chian",
        "lat": 29.3,
        "long": 120.1,
    }
    request.update(fields)
    return request


def load(requests: Any, **options: Any) -> list[ImportedRequest]:
    options.setdefault("hierarchy", world.HIERARCHY)
    options.setdefault("unit_of", {"chian": world.TOWN_B})
    return from_open311(requests, **options)


# -- export ------------------------------------------------------------------------------


def test_statuses_collapse_and_details_stay_in_the_notes() -> None:
    for state, request in zip(states(), to_open311(states()), strict=True):
        assert request["service_request_id"] == state.issue_id
        assert request["status"] == ("open" if state.status.is_open else "closed")
        assert request["status_notes"].startswith(state.status.value)
        assert request["service_code"] == state.category
        assert request["requested_datetime"] == state.registered_at.isoformat()
        assert request["updated_datetime"] == state.updated_at.isoformat()
        assert request["requested_datetime"].endswith("+08:00")
        if state.due_at is not None:
            assert datetime.fromisoformat(request["expected_datetime"]) == state.due_at
        else:
            assert "expected_datetime" not in request
        assert ("agency_responsible" in request) == (state.lead is not None)
        for absent in ("address", "lat", "long", "jurisdiction_id", "extended_attributes"):
            assert absent not in request


def test_names_come_from_departments_and_categories() -> None:
    registry = cl.Departments(
        [
            cl.Department(d, f"Name of {d}", world.DEPARTMENT_UNIT[d], "bureau", "economy")
            for d in world.DEPARTMENTS
        ]
    )
    led = [s for s in states() if s.lead is not None]
    assert led
    requests = to_open311(
        led,
        departments=registry,
        categories={"housing": "Housing"},
        jurisdiction_id="330782",
        extra={led[0].issue_id: {"lat": 29.3, "long": 120.1, "status": "stale"}},
    )
    for state, request in zip(led, requests, strict=True):
        assert request["agency_responsible"] == f"Name of {state.lead}"
        assert request["service_name"] == (
            "Housing" if state.category == "housing" else state.category
        )
        assert request["jurisdiction_id"] == "330782"
    assert requests[0]["lat"] == 29.3
    assert requests[0]["status"] in ("open", "closed")


def test_json_text_round_trips_through_the_reader() -> None:
    text = to_open311_json(states(), extended=True, indent=2)
    assert parse_open311_json(text) == to_open311(states(), extended=True)
    assert parse_open311_json(json.dumps({"service_requests": []})) == []


@settings(max_examples=30)
@given(logs.issue_logs(max_issues=10, max_steps=60))
def test_extended_export_imports_back_to_the_registrations(log: logs.Log) -> None:
    exported = to_open311(log.states.values(), extended=True)
    imported = from_open311_json(json.dumps(exported), hierarchy=world.HIERARCHY)
    assert [i.index for i in imported] == list(range(len(exported)))
    for state, item in zip(log.states.values(), imported, strict=True):
        command = item.command
        assert command.issue_id == state.issue_id
        assert command.unit == state.origin_unit
        assert command.category == state.category
        assert command.difficulty is state.difficulty
        assert command.title == state.title
        assert command.description == state.description
        assert command.reporter == state.reporter
        assert item.requested_at == state.registered_at
        assert item.extra["status"] == ("open" if state.status.is_open else "closed")


# -- import ------------------------------------------------------------------------------


def test_a_sound_request_becomes_a_registration() -> None:
    (item,) = load([good(account_id=77, custom={"x": [1]})])
    assert item.command == cl.RegisterIssue(
        "r-1",
        world.TOWN_B,
        "roads",
        "complex",
        "Pothole on the village road",
        "Near the school gate.",
        "77",
    )
    assert item.requested_at == datetime.fromisoformat("2025-03-03T09:00:00+08:00")
    assert item.extra == {
        "jurisdiction_id": "chian",
        "lat": 29.3,
        "long": 120.1,
        "account_id": 77,
        "custom": {"x": [1]},
    }


def test_units_difficulty_and_titles_have_fallbacks() -> None:
    requests = [
        good(service_request_id=5, description=None, service_name="Roads", jurisdiction_id=None),
        good(service_request_id="x", description="", jurisdiction_id=None, email="a@b.c"),
        good(
            service_request_id="y",
            extended_attributes={"unit": world.VILLAGE_A1, "difficulty": "difficult"},
        ),
    ]
    items = load(requests, default_unit=world.CITY, difficulty=lambda r: "simple")
    assert [i.command.unit for i in items] == [world.CITY, world.CITY, world.TOWN_B]
    assert [i.command.title for i in items] == ["Roads", "roads", "Pothole on the village road"]
    assert [i.command.difficulty.value for i in items] == ["simple", "simple", "difficult"]
    assert items[0].command.issue_id == "5"
    assert items[1].command.reporter == "a@b.c"
    by_callable = load([good()], unit_of=lambda r: world.VILLAGE_B1)
    assert by_callable[0].command.unit == world.VILLAGE_B1
    ids = iter(["new-1", "new-2"])
    made = load([good(service_request_id=None)], new_id=lambda: next(ids))
    assert made[0].command.issue_id == "new-1"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (good(service_code=None), "service_code"),
        ({**good(), "service_code": ""}, "service_code"),
        (good(service_code=["roads"]), "service_code"),
        (good(service_request_id=None), "service_request_id"),
        (good(service_request_id=True), "service_request_id"),
        (good(requested_datetime="2025-03-03 09:00"), "requested_datetime"),
        (good(requested_datetime="yesterday"), "requested_datetime"),
        (good(requested_datetime="9999-12-31T23:59:59-23:59"), "requested_datetime"),
        (good(updated_datetime="0001-01-01T00:00:00+23:59"), "updated_datetime"),
        (good(updated_datetime=20250303), "updated_datetime"),
        (good(expected_datetime="2025-13-01T00:00:00Z"), "expected_datetime"),
        (good(status="pending"), "status"),
        (good(lat=91), "lat"),
        (good(long="east"), "long"),
        (good(lat=True), "lat"),
        (good(description=7), "description"),
        (good(description="x" * 100_001), "description"),
        (good(service_name="\x00"), "service_name"),
        (good(address="\ud800"), "address"),
        (good(zipcode=1.5), "zipcode"),
        (good(jurisdiction_id="elsewhere"), "unit"),
        (good(extended_attributes=[]), "extended_attributes"),
        (good(extended_attributes={"difficulty": "impossible"}), "extended_attributes.difficulty"),
        (good(extended_attributes={"unit": 5}), "extended_attributes.unit"),
        (good(jurisdiction_id=None, extended_attributes={"unit": "nowhere"}), "unit"),
    ],
)
def test_each_bad_field_is_named(request_: dict[str, Any], field: str) -> None:
    with pytest.raises(cl.DecodeError) as caught:
        load([good(service_request_id="fine"), request_])
    message = str(caught.value)
    assert "nothing was imported" in message
    assert "request 1" in message
    assert f": {field}: " in message
    problems = validate_open311(
        [good(service_request_id="fine"), request_],
        hierarchy=world.HIERARCHY,
        unit_of={"chian": world.TOWN_B},
    )
    assert {p.field for p in problems} >= {field}
    assert {p.index for p in problems} == {1}


def test_every_problem_is_listed_at_once() -> None:
    requests = [good(), good(), 3, good(service_request_id="z", service_code=None, lat=200)]
    problems = validate_open311(
        requests, hierarchy=world.HIERARCHY, unit_of={"chian": world.TOWN_B}
    )
    assert [(p.index, p.field) for p in problems] == [
        (1, "service_request_id"),
        (2, None),
        (3, "service_code"),
        (3, "lat"),
    ]
    assert "repeats the id of request 0" in str(problems[0])
    assert str(problems[1]).startswith("request 2: must be an object")
    with pytest.raises(cl.DecodeError, match="4 problem"):
        load(requests)


def test_refusing_callables_are_problems_not_crashes() -> None:
    def refuse(request: Any) -> str:
        raise LookupError("no such street")

    problems = validate_open311([good()], hierarchy=world.HIERARCHY, unit_of=refuse)
    assert [(p.field, "no such street" in p.message) for p in problems] == [("unit", True)]

    def unknown(request: Any) -> str:
        return str(request["priority"])

    problems = validate_open311(
        [good()], hierarchy=world.HIERARCHY, default_unit=world.CITY, difficulty=unknown
    )
    assert [p.field for p in problems] == ["difficulty"]
    with pytest.raises(cl.ConfigurationError):
        validate_open311(
            [good()], hierarchy=world.HIERARCHY, default_unit=world.CITY, difficulty=lambda r: "x"
        )


@pytest.mark.parametrize(
    "options",
    [
        {"hierarchy": None},
        {"hierarchy": world.HIERARCHY, "default_unit": "nowhere"},
        {"hierarchy": world.HIERARCHY, "difficulty": "impossible"},
    ],
)
def test_unusable_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(cl.ConfigurationError):
        from_open311([good()], **options)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        "{}",
        '"text"',
        "[1, 2",
        '[{"a": 1, "a": 2}]',
        "[NaN]",
        '[{"lat": Infinity}]',
        '[{"lat": 1e999}]',
        "[" * 50_000 + "]" * 50_000,
        b"\xff\xfe",
        '{"service_requests": 5}',
    ],
)
def test_hostile_json_text_raises_decode_errors(text: str | bytes) -> None:
    with pytest.raises(cl.DecodeError):
        from_open311_json(text, hierarchy=world.HIERARCHY, default_unit=world.CITY)


def test_requests_must_be_a_list() -> None:
    for bad in ({"service_code": "x"}, "text", 5, None):
        with pytest.raises(cl.DecodeError):
            from_open311(cast(Any, bad), hierarchy=world.HIERARCHY)


# -- fuzzing -------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "service_request_id",
        "service_code",
        "service_name",
        "description",
        "requested_datetime",
        "updated_datetime",
        "expected_datetime",
        "status",
        "lat",
        "long",
        "address",
        "address_id",
        "zipcode",
        "account_id",
        "email",
        "jurisdiction_id",
        "extended_attributes",
        "media_url",
        "unknown",
    ]
)


@st.composite
def mutated_batches(draw: st.DrawFn) -> list[Any]:
    batch: list[Any] = [good(service_request_id=f"r-{i}") for i in range(draw(st.integers(1, 4)))]
    for _ in range(draw(st.integers(0, 4))):
        index = draw(st.integers(0, len(batch) - 1))
        action = draw(st.sampled_from(["set", "delete", "replace"]))
        if action == "replace":
            batch[index] = draw(JSON)
        elif isinstance(batch[index], dict):
            field = draw(FIELDS)
            if action == "set":
                batch[index][field] = draw(JSON)
            else:
                batch[index].pop(field, None)
    return batch


def _only_documented_errors(batch: Any) -> None:
    try:
        imported = load(batch, default_unit=world.CITY)
    except cl.DecodeError:
        problems = validate_open311(
            batch,
            hierarchy=world.HIERARCHY,
            unit_of={"chian": world.TOWN_B},
            default_unit=world.CITY,
        )
        assert problems
        assert all(0 <= p.index < len(batch) for p in problems)
    else:
        assert len(imported) == len(batch)
        assert len({i.command.issue_id for i in imported}) == len(imported)
        for item in imported:
            assert item.command.unit in world.HIERARCHY
            assert item.requested_at is None or item.requested_at.utcoffset() is not None


@settings(max_examples=150)
@given(mutated_batches())
def test_mutated_requests_get_only_documented_errors(batch: list[Any]) -> None:
    _only_documented_errors(batch)


@settings(max_examples=100)
@given(JSON)
def test_arbitrary_json_gets_only_documented_errors(value: Any) -> None:
    with contextlib.suppress(cl.DecodeError):
        from_open311_json(json.dumps(value), hierarchy=world.HIERARCHY, default_unit=world.CITY)


@settings(max_examples=100)
@given(st.text(max_size=200))
def test_arbitrary_text_gets_only_documented_errors(text: str) -> None:
    with contextlib.suppress(cl.DecodeError):
        from_open311_json(text, hierarchy=world.HIERARCHY, default_unit=world.CITY)


def test_a_failed_import_lists_its_problems_as_values() -> None:
    import closedloop as cl
    from closedloop.interop import from_open311
    from tests import world

    bad = [
        {"service_request_id": "a"},
        {"service_code": "roads", "service_request_id": "b", "requested_datetime": "soon"},
    ]
    with pytest.raises(cl.ImportValidationError) as caught:
        from_open311(bad, hierarchy=world.HIERARCHY, default_unit=world.CITY)
    assert isinstance(caught.value, cl.DecodeError)
    assert {p.index for p in caught.value.problems} == {0, 1}
