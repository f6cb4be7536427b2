"""The event codec: round trips of every event type, strict decoding, schema evolution."""

from __future__ import annotations

import contextlib
import copy
import enum
import json
from datetime import datetime, timedelta, timezone
from typing import Any, ClassVar, cast
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from closedloop.deadlines import TimeLimit
from closedloop.errors import ConfigurationError, DecodeError
from closedloop.ids import ActorId, EventId, IssueId
from closedloop.lifecycle.events import (
    IssueAssigned,
    IssueEvent,
    IssueRegistered,
    IssueSuspended,
    ResolutionEvaluated,
)
from closedloop.store import EventCodec, default_codec
from tests.store_strategies import EVENT_STRATEGIES, events, json_values, lifecycle, notes

CODEC = default_codec()


def test_every_lifecycle_event_class_has_a_strategy() -> None:
    from closedloop.lifecycle import events as module

    lifecycle_kinds = {
        value.KIND
        for value in (getattr(module, name) for name in module.__all__)
        if isinstance(value, type) and issubclass(value, IssueEvent) and value is not IssueEvent
    }
    assert {cls.KIND for cls in EVENT_STRATEGIES} == lifecycle_kinds
    # The default codec knows the other aggregates' events too (see test_simulated_logs).
    assert lifecycle_kinds < set(CODEC.kinds)


# -- round trips -------------------------------------------------------------------------


@given(events)
def test_decode_inverts_encode(event: IssueEvent) -> None:
    record = CODEC.encode(event)
    assert record["type"] == event.KIND
    assert record["schema"] == 1
    assert CODEC.decode(record) == event
    assert CODEC.loads(CODEC.dumps(event)) == event
    assert CODEC.loads(CODEC.dumps(event).encode("utf-8")) == event


@given(events)
def test_the_store_row_round_trips(event: IssueEvent) -> None:
    stream_id, version, event_id, kind, schema, occurred_at, values = CODEC.pack(event)
    assert (stream_id, version, event_id, kind, schema) == (
        event.stream_id,
        event.version,
        event.event_id,
        event.KIND,
        1,
    )
    assert datetime.fromisoformat(occurred_at) == event.occurred_at
    schema_now, fields = CODEC.layout(kind)
    decoder = CODEC.row_decoder(kind, schema_now, fields)
    row = CODEC.parse_row(f"[7,{values}]")
    assert decoder(row) == event
    assert CODEC.decode_rows([(f"[7,{values}]",)], 0, {7: decoder}, _no_layout) == [event]


def _no_layout(layout: int) -> Any:
    raise DecodeError(f"no layout {layout}")


@given(events)
def test_encoding_is_compact_json_with_iso_datetimes(event: IssueEvent) -> None:
    text = CODEC.dumps(event)
    data = json.loads(text)["data"]
    assert set(data) == {f.name for f in attrs.fields(type(event))}
    stamp = datetime.fromisoformat(data["occurred_at"])
    assert stamp.utcoffset() == event.occurred_at.utcoffset()


def test_a_known_event_is_written_as_documented() -> None:
    event = lifecycle("I-1")[1]
    assert isinstance(event, IssueAssigned)
    record = CODEC.encode(event)
    assert record == {
        "type": "IssueAssigned",
        "schema": 1,
        "data": {
            "event_id": "I-1/2",
            "issue_id": "I-1",
            "version": 2,
            "occurred_at": "2025-03-03T11:00:00+08:00",
            "actor": "officer",
            "lead": "roads-dept",
            "co_handlers": ["water", "power"],
            "limit": {"unit": "same_day", "amount": 0, "cutoff": "16:00:00"},
            "due_at": "2025-03-06T09:00:00+08:00",
            "due_date": "2025-03-06",
            "policy": "yiwu@1",
            "provisional": False,
        },
    }
    assert CODEC.dumps(event) == json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def test_a_decoded_datetime_keeps_the_instant_and_the_offset() -> None:
    event = lifecycle("I-1")[0]
    back = CODEC.loads(CODEC.dumps(event))
    assert back.occurred_at == event.occurred_at
    assert back.occurred_at.utcoffset() == timedelta(hours=8)
    assert back.occurred_at.tzinfo == timezone(timedelta(hours=8))


def test_nested_values_are_shared_but_never_confused() -> None:
    event = lifecycle("I-1")[1]
    one = CODEC.loads(CODEC.dumps(event))
    two = CODEC.loads(CODEC.dumps(event))
    assert one.limit is two.limit
    record = CODEC.encode(event)
    record["data"]["limit"] = {"unit": "working_days", "amount": True, "cutoff": None}
    with pytest.raises(DecodeError, match=r"limit\.amount"):
        CODEC.decode(record)
    record["data"]["limit"] = {"unit": "working_days", "amount": 1.0, "cutoff": None}
    with pytest.raises(DecodeError, match=r"limit\.amount"):
        CODEC.decode(record)
    record["data"]["limit"] = {"unit": "working_days", "amount": 1, "cutoff": None}
    assert CODEC.decode(record).limit == TimeLimit.working_days(1)


def test_an_omitted_defaulted_field_takes_its_default() -> None:
    record = CODEC.encode(lifecycle("I-1")[0])
    del record["data"]["description"]
    del record["data"]["reporter"]
    event = CODEC.decode(record)
    assert (event.description, event.reporter) == ("", None)


def test_an_int_is_accepted_as_a_float() -> None:
    record = CODEC.encode(lifecycle("I-1")[4])
    record["data"]["score"] = 4
    event = CODEC.decode(record)
    assert isinstance(event, ResolutionEvaluated)
    assert event.score == 4.0
    assert type(event.score) is float


# -- strict decoding --------------------------------------------------------------------

VALID = CODEC.encode(lifecycle("I-1")[1])


def _with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    record = copy.deepcopy(VALID)
    target = record
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return record


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (_with(("data", "version"), True), "version"),
        (_with(("data", "version"), "2"), "version"),
        (_with(("data", "version"), 2**63), "version"),
        (_with(("data", "version"), 2.0), "version"),
        (_with(("data", "provisional"), 1), "provisional"),
        (_with(("data", "provisional"), None), "provisional"),
        (_with(("data", "occurred_at"), "2025-03-03T11:00:00"), "occurred_at"),
        (_with(("data", "occurred_at"), "yesterday"), "occurred_at"),
        (_with(("data", "occurred_at"), 1741000000), "occurred_at"),
        (_with(("data", "due_date"), "2025-03-06T10:00:00+08:00"), "due_date"),
        (_with(("data", "co_handlers"), "water"), "co_handlers"),
        (_with(("data", "co_handlers"), ["water", 3]), r"co_handlers\[1\]"),
        (_with(("data", "limit"), []), "limit"),
        (_with(("data", "limit", "unit"), "fortnights"), r"limit\.unit"),
        (_with(("data", "limit", "cutoff"), "25:00"), r"limit\.cutoff"),
        (_with(("data", "limit", "extra"), 1), "extra"),
        (_with(("data", "limit", "amount"), -1), "limit"),
        (_with(("data", "actor"), None), "actor"),
        (_with(("data", "surprise"), 1), "surprise"),
        (_with(("type",), "Nonsense"), "unknown event type"),
        (_with(("type",), 3), "unknown event type"),
        (_with(("schema",), 2), "newer"),
        (_with(("schema",), 0), "schema"),
        (_with(("schema",), True), "schema"),
        (_with(("schema",), "1"), "schema"),
        (_with(("data",), []), "data"),
        (_with(("extra",), 1), "unknown record key"),
        ([], "object"),
        ("text", "object"),
        (None, "object"),
    ],
)
def test_malformed_records_are_decode_errors_naming_the_place(record: Any, message: str) -> None:
    before = copy.deepcopy(record)
    with pytest.raises(DecodeError, match=message) as caught:
        CODEC.decode(record)
    assert type(caught.value) is DecodeError
    assert record == before  # nothing was changed
    if isinstance(record, dict) and record.get("type") == "IssueAssigned":
        assert "IssueAssigned" in str(caught.value)


def test_a_missing_required_field_is_named() -> None:
    record = copy.deepcopy(VALID)
    del record["data"]["lead"]
    with pytest.raises(DecodeError, match="IssueAssigned: required field 'lead' is missing"):
        CODEC.decode(record)


@pytest.mark.parametrize(
    "text",
    [
        b"\xff\xfe{}",
        b'{"type": "IssueSuspended", "schema": 1, "data": {"reason": "\xc3"}}',
        "",
        "   ",
        "{",
        "[" * 100_000 + "]" * 100_000,
        '{"type": "IssueAssigned", "schema": 1, "data": ' + "[" * 50_000 + "]" * 50_000 + "}",
        '{"type": "IssueAssigned", "schema": 1, "data": {"version": ' + "9" * 5000 + "}}",
        '{"type": "IssueAssigned", "schema": 1, "data": {"version": 1e999}}',
        '{"type": "IssueAssigned", "schema": 1, "data": {"version": NaN}}',
        '{"type": "IssueAssigned", "schema": 1, "data": {"version": -Infinity}}',
        '{"type": "IssueAssigned", "type": "IssueAssigned", "schema": 1, "data": {}}',
        "[]",
        "1",
        "null",
        '"IssueAssigned"',
        "{} {}",
    ],
)
def test_hostile_text_is_a_decode_error(text: str | bytes) -> None:
    with pytest.raises(DecodeError):
        CODEC.loads(text)


def test_a_lone_surrogate_escape_is_a_decode_error() -> None:
    event = notes("I-1", 1, 1)[0]
    text = CODEC.dumps(event).replace('"reason":""', '"reason":"\\ud800"')
    with pytest.raises(DecodeError, match="UTF-8"):
        CODEC.loads(text)
    pair = CODEC.dumps(event).replace('"reason":""', '"reason":"\\ud83d\\ude00"')
    assert CODEC.loads(pair).reason == "\U0001f600"


def test_a_float_field_refuses_non_finite_values() -> None:
    record = CODEC.encode(lifecycle("I-1")[4])
    for bad in (float("nan"), float("inf"), True, "4.5"):
        record["data"]["score"] = bad
        with pytest.raises(DecodeError, match="score"):
            CODEC.decode(record)


def test_loads_refuses_what_is_not_text() -> None:
    with pytest.raises(DecodeError):
        CODEC.loads(12)  # type: ignore[arg-type]


@given(st.text())
def test_any_text_is_an_event_or_a_decode_error(text: str) -> None:
    with contextlib.suppress(DecodeError):
        CODEC.loads(text)


@given(st.binary())
def test_any_bytes_are_an_event_or_a_decode_error(data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        CODEC.loads(data)


@given(events, st.data())
def test_a_mutated_record_decodes_or_is_a_decode_error(event: IssueEvent, data: Any) -> None:
    record = CODEC.encode(event)
    fields = sorted(record["data"])
    mutation = data.draw(st.sampled_from(["replace", "delete", "add", "envelope", "nest"]))
    if mutation == "replace":
        record["data"][data.draw(st.sampled_from(fields))] = data.draw(json_values)
    elif mutation == "delete":
        del record["data"][data.draw(st.sampled_from(fields))]
    elif mutation == "add":
        record["data"][data.draw(st.text())] = data.draw(json_values)
    elif mutation == "envelope":
        record[data.draw(st.sampled_from(["type", "schema", "data", "other"]))] = data.draw(
            json_values
        )
    else:
        record["data"][data.draw(st.sampled_from(fields))] = {"nested": [[[{"deep": [None]}]]]}
    before = copy.deepcopy(record)
    try:
        decoded = CODEC.decode(record)
    except DecodeError:
        pass
    else:
        assert type(decoded) in EVENT_STRATEGIES
        assert CODEC.decode(CODEC.encode(decoded)) == decoded
    assert record == before
    with contextlib.suppress(DecodeError):
        CODEC.loads(json.dumps(record, ensure_ascii=False))


@given(st.lists(st.text() | json_values.map(lambda v: json.dumps(v)), min_size=1, max_size=3))
def test_garbage_rows_are_decode_errors(texts: list[str]) -> None:
    decoders = {
        1: CODEC.row_decoder("IssueSuspended", *CODEC.layout("IssueSuspended")),
        2: CODEC.row_decoder("Unknown", 1, ["a"]),
    }
    rows = [(t,) for t in texts]
    with contextlib.suppress(DecodeError):
        CODEC.decode_rows(rows, 0, decoders, _no_layout)


@given(events, st.integers(1, 3), json_values)
def test_a_row_with_one_value_replaced_decodes_or_is_a_decode_error(
    event: IssueEvent, layout: int, value: Any
) -> None:
    values = CODEC.pack(event)[6]
    row = json.loads(f"[{layout},{values}]")
    row[1 + hash(repr(value)) % (len(row) - 1)] = value
    kind = event.KIND
    decoders = {
        1: CODEC.row_decoder(kind, *CODEC.layout(kind)),
        2: CODEC.row_decoder(kind, 1, ["event_id"]),
        3: CODEC.row_decoder(kind, 2, CODEC.layout(kind)[1]),
    }
    with contextlib.suppress(DecodeError):
        CODEC.decode_rows([(json.dumps(row),)], 0, decoders, _no_layout)


# -- encoding refuses values that do not fit -------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"occurred_at": datetime(2025, 1, 1, 9)}, "occurred_at"),
        ({"occurred_at": "2025-01-01T09:00:00+08:00"}, "occurred_at"),
        (
            {"occurred_at": datetime(2000, 1, 1, tzinfo=timezone(timedelta(microseconds=1)))},
            "occurred_at",
        ),
        ({"version": True}, "version"),
        ({"version": 2**64}, "version"),
        ({"actor": 5}, "actor"),
        ({"reason": None}, "reason"),
        ({"event_id": 1}, "event_id"),
    ],
)
def test_an_event_whose_values_do_not_fit_is_refused(change: dict[str, Any], message: str) -> None:
    event = attrs.evolve(notes("I-1", 1, 1)[0], **change)
    for encode in (CODEC.dumps, CODEC.encode, CODEC.pack, CODEC.check):
        with pytest.raises(ConfigurationError, match=message):
            encode(event)


def test_text_with_a_lone_surrogate_is_refused_naming_the_field() -> None:
    event = cast(IssueAssigned, lifecycle("I-1")[1])
    for change, field in (
        ({"policy": "yiwu\ud800"}, "policy"),
        ({"event_id": "\udfff"}, "event_id"),
        ({"co_handlers": ("water", "x\udc00y")}, "co_handlers"),
    ):
        bad = attrs.evolve(event, **change)
        for encode in (CODEC.dumps, CODEC.encode, CODEC.pack, CODEC.check):
            with pytest.raises(ConfigurationError, match=f"field '{field}' holds a lone surrogate"):
                encode(bad)
    # A surrogate pair written as two code points is as lone as a single one.
    with pytest.raises(ConfigurationError, match="lone surrogate"):
        CODEC.check(attrs.evolve(event, policy="\ud83d\ude00"))
    # Astral characters themselves are fine.
    CODEC.check(attrs.evolve(event, policy="\U0001f600"))


_HOSTILE: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(st.characters(exclude_categories=()), max_size=6),
    st.datetimes(),
    st.datetimes(
        timezones=st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
            timezone
        )
    ),
    # Zones whose early offsets have seconds (Shanghai's local mean time: +08:05:43).
    st.datetimes(timezones=st.sampled_from([ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/Dublin")])),
    st.dates(),
    st.times(),
    st.times(
        timezones=st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
            timezone
        )
    ),
    st.binary(max_size=3),
    st.lists(st.text(max_size=2), max_size=2),
    st.tuples() | st.tuples(st.text(max_size=2)) | st.tuples(st.integers()),
    st.sampled_from([TimeLimit.working_days(3), TimeLimit.same_day(None)]),
    st.sampled_from(list(EVENT_STRATEGIES)),
)


@given(events, st.data())
def test_check_refuses_exactly_what_the_encoders_refuse(event: IssueEvent, data: Any) -> None:
    """``check`` is the stores' shared gate: it must agree with pack and dumps exactly."""
    names = [a.name for a in attrs.fields(type(event))]
    changes = data.draw(st.dictionaries(st.sampled_from(names), _HOSTILE, max_size=2))
    changed = attrs.evolve(event, **changes)
    outcomes = []
    for encode in (CODEC.check, CODEC.pack, CODEC.dumps):
        try:
            encode(changed)
            outcomes.append("accepted")
        except ConfigurationError as exc:
            outcomes.append(str(exc))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    if outcomes[0] == "accepted":
        CODEC.loads(CODEC.dumps(changed).encode("utf-8"))  # what is written reads back


def test_encoding_refuses_a_date_for_a_datetime_and_a_datetime_for_a_date() -> None:
    event = cast(IssueAssigned, lifecycle("I-1")[1])
    with pytest.raises(ConfigurationError, match="due_date"):
        CODEC.dumps(attrs.evolve(event, due_date=event.due_at))
    with pytest.raises(ConfigurationError, match="due_at"):
        CODEC.dumps(attrs.evolve(event, due_at=event.due_date))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="co_handlers"):
        CODEC.dumps(attrs.evolve(event, co_handlers=["water"]))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="co_handlers"):
        CODEC.dumps(attrs.evolve(event, co_handlers=("water", 3)))  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="limit"):
        CODEC.dumps(attrs.evolve(event, limit="3 days"))  # type: ignore[arg-type]
    score = cast(ResolutionEvaluated, lifecycle("I-1")[4])
    with pytest.raises(ConfigurationError, match="score"):
        CODEC.dumps(attrs.evolve(score, score=float("nan")))
    with pytest.raises(ConfigurationError, match="evaluator_kind"):
        CODEC.dumps(attrs.evolve(score, evaluator_kind="reporter"))  # type: ignore[arg-type]


def test_an_unregistered_class_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not registered"):
        EventCodec().dumps(notes("I-1", 1, 1)[0])
    with pytest.raises(ConfigurationError, match="not registered"):
        EventCodec().check(notes("I-1", 1, 1)[0])
    with pytest.raises(ConfigurationError, match="not registered"):
        EventCodec().checker(IssueSuspended)


# -- registration and schema evolution ----------------------------------------------------


@attrs.frozen(kw_only=True)
class Memo(IssueEvent):
    """Schema 3 of a test event: ``text`` (schema 1) became ``body`` then got ``lines``."""

    KIND: ClassVar[str] = "Memo"
    body: str
    lines: int = 1


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["body"] = data.pop("text")
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "lines": data["body"].count("\n") + 1}


def _memo_record(schema: int, **payload: Any) -> dict[str, Any]:
    base = CODEC.encode(notes("M", 1, 1)[0])["data"]
    del base["reason"]
    return {"type": "Memo", "schema": schema, "data": {**base, "issue_id": "M", **payload}}


def test_upcasters_upgrade_old_records_step_by_step() -> None:
    codec = default_codec()
    codec.register(Memo, schema=3, upcasters={1: _v1_to_v2, 2: _v2_to_v3})
    old = _memo_record(1, text="a\nb")
    before = copy.deepcopy(old)
    memo = codec.decode(old)
    assert (memo.body, memo.lines) == ("a\nb", 2)
    assert old == before
    assert codec.decode(_memo_record(2, body="x")).lines == 1
    assert codec.decode(_memo_record(3, body="x", lines=5)).lines == 5
    assert codec.encode(memo)["schema"] == 3
    with pytest.raises(DecodeError, match="newer"):
        codec.decode(_memo_record(4, body="x"))


def test_a_failing_upcaster_is_a_decode_error() -> None:
    codec = EventCodec()
    codec.register(Memo, schema=3, upcasters={1: _v1_to_v2, 2: _v2_to_v3})
    with pytest.raises(DecodeError, match="upgrading schema 1 to 2"):
        codec.decode(_memo_record(1, body="no text field"))

    def returns_junk(data: dict[str, Any]) -> Any:
        return ["not", "a", "dict"]

    other = EventCodec()
    other.register(Memo, schema=2, upcasters={1: returns_junk})
    with pytest.raises(DecodeError, match="not a dict"):
        other.decode(_memo_record(1, text="x"))


@attrs.frozen(kw_only=True)
class NoKind(IssueEvent):
    """Inherits KIND instead of declaring its own."""


@attrs.frozen(kw_only=True)
class Unwritable(IssueEvent):
    """A field the codec cannot write."""

    KIND: ClassVar[str] = "Unwritable"
    tags: list[str]


@attrs.frozen(kw_only=True)
class NotAnEvent:
    """Lacks the base fields of an event."""

    KIND: ClassVar[str] = "NotAnEvent"
    text: str


@attrs.frozen(kw_only=True)
class WrongBase:
    """Has a version of the wrong type."""

    KIND: ClassVar[str] = "WrongBase"
    event_id: str
    version: str
    occurred_at: datetime
    stream_id: str


class Odd(enum.Enum):
    """An enum with a value UTF-8 cannot hold."""

    LONE = "\ud800"


@attrs.frozen(kw_only=True)
class OddEnum(IssueEvent):
    KIND: ClassVar[str] = "OddEnum"
    odd: Odd


def test_registration_refuses_what_it_cannot_handle() -> None:
    codec = default_codec()
    with pytest.raises(ConfigurationError, match="already registered"):
        codec.register(IssueSuspended)

    @attrs.frozen(kw_only=True)
    class Twin(IssueEvent):
        KIND: ClassVar[str] = "IssueSuspended"

    with pytest.raises(ConfigurationError, match="already registered"):
        codec.register(Twin)
    with pytest.raises(ConfigurationError, match="own KIND"):
        codec.register(NoKind)

    @attrs.frozen(kw_only=True)
    class BadKind(IssueEvent):
        KIND: ClassVar[str] = "Bad\ud800Kind"

    with pytest.raises(ConfigurationError, match="valid Unicode"):
        codec.register(BadKind)

    with pytest.raises(ConfigurationError, match="not valid Unicode"):
        codec.register(OddEnum)
    with pytest.raises(ConfigurationError, match="tags"):
        codec.register(Unwritable)
    with pytest.raises(ConfigurationError, match="stream_id"):
        codec.register(NotAnEvent)
    with pytest.raises(ConfigurationError, match="version"):
        codec.register(WrongBase)
    with pytest.raises(ConfigurationError, match="attrs"):
        codec.register(dict)
    with pytest.raises(ConfigurationError, match="upcasters"):
        codec.register(Memo, schema=2)
    with pytest.raises(ConfigurationError, match="upcasters"):
        codec.register(Memo, schema=1, upcasters={1: _v1_to_v2})
    with pytest.raises(ConfigurationError, match="schema"):
        codec.register(Memo, schema=0)
    with pytest.raises(ConfigurationError, match="callable"):
        codec.register(Memo, schema=2, upcasters={1: "nope"})  # type: ignore[dict-item]
    with pytest.raises(ConfigurationError):
        codec.schema_of("Memo")
    assert "Memo" not in codec


def test_registering_returns_the_class_and_codecs_are_independent() -> None:
    one, two = default_codec(), default_codec()
    assert one.register(Memo) is Memo
    assert "Memo" in one
    assert "Memo" not in two
    assert one.kind_of(Memo) == "Memo"
    memo = Memo(
        event_id=EventId("m1"),
        issue_id=IssueId("M"),
        version=1,
        occurred_at=lifecycle("M")[0].occurred_at,
        actor=ActorId("a"),
        body="b",
    )
    assert one.loads(one.dumps(memo)) == memo
    with pytest.raises(DecodeError, match="unknown event type"):
        two.loads(one.dumps(memo))


def test_the_same_class_may_have_other_schemas_in_other_codecs() -> None:
    one, three = EventCodec(), EventCodec()
    one.register(Memo)
    three.register(Memo, schema=3, upcasters={1: _v1_to_v2, 2: _v2_to_v3})
    memo = three.decode(_memo_record(3, body="x", lines=2))
    assert one.encode(memo)["schema"] == 1
    assert three.encode(memo)["schema"] == 3
    assert one.pack(memo)[4] == 1
    assert three.pack(memo)[4] == 3


@given(EVENT_STRATEGIES[IssueRegistered])
def test_text_survives_any_characters(event: IssueRegistered) -> None:
    assume(event.title or event.description)
    assert CODEC.loads(CODEC.dumps(event)).title == event.title
