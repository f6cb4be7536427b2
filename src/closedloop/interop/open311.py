"""Open311 GeoReport v2: issues out as service requests, service requests in as registrations.

Export (:func:`to_open311`)
    One service request per issue state. ``status`` collapses closedloop's statuses to
    ``open`` (registered, assigned, in progress, suspended) or ``closed`` (resolved,
    archived, withdrawn); ``status_notes`` starts with the detailed status (with the
    withdrawal reason and the number of reopenings when there are any).
    ``expected_datetime`` is the deadline in force; ``agency_responsible`` the lead
    department (its name when ``departments`` are given); ``service_code`` the
    category and ``service_name`` its name (from ``categories``, else the code);
    ``description`` the title, then a blank line and the description when there is one;
    ``requested_datetime`` and ``updated_datetime`` the registration and the latest
    event. Datetimes are ISO 8601 with their UTC offset, as the specification requires.
    Location fields (``address``, ``lat``, ``long`` ...) appear only when ``extra``
    supplies them. ``extended=True`` adds ``extended_attributes`` with what Open311 has
    no field for: ``status``, ``unit`` (where the issue was raised), ``handling_unit``,
    ``difficulty``, ``lead``, ``co_handlers``, ``cycle`` and ``reporter``.

Import (:func:`from_open311`)
    Each request becomes a :class:`~closedloop.RegisterIssue` inside an
    :class:`ImportedRequest`, together with its ``requested_datetime`` (for the
    registration's ``at=``) and every other field in ``extra``. Nothing is half-imported:
    every request is checked first, and any problem raises one
    :class:`~closedloop.DecodeError` listing every problem, each naming the request (its
    index and id) and the field. :func:`validate_open311` returns the problems instead.

    ========================  =============================================================
    field                     rule
    ========================  =============================================================
    ``service_request_id``    required (unless ``new_id`` is given), text or a whole
                              number, unique in the batch; it becomes the issue id
    ``service_code``          required, text or a whole number; one of ``categories``
                              when given; it becomes the category
    ``description``           optional text; its first paragraph is the title, the rest
                              the description (no description: the title is the
                              ``service_name``, else the code)
    ``requested_datetime``,   optional ISO 8601 date and time *with* a UTC offset (or
    ``updated_datetime``,     ``Z``)
    ``expected_datetime``
    ``status``                optional, ``open`` or ``closed``
    ``lat``, ``long``         optional numbers (or numeric text) within ±90 and ±180
    ``account_id``, ``email`` optional; the first present is the reporter
    other standard fields     optional text (ids and ``zipcode`` may be whole numbers)
    ``extended_attributes``   optional object; ``unit`` and ``difficulty`` are used
    any other field           kept in ``extra`` as given
    ========================  =============================================================

    Text must be valid Unicode without NUL characters; the description holds at most
    100,000 characters and any other text 1,000. The unit comes from ``unit_of`` (a
    callable given the request, which may raise ``LookupError`` or ``ValueError`` to
    refuse it, or a mapping looked up by ``jurisdiction_id``, then ``address_string``,
    ``address``, ``address_id``), then from ``extended_attributes.unit``, then from
    ``default_unit``; it must be a unit of the hierarchy. The difficulty comes from
    ``extended_attributes.difficulty``, else from ``difficulty`` (a value, or a callable
    given the request that may refuse it the same way; default ``complex``). Problems
    are listed in the order of the requests and, within one, of the rules above.

:func:`to_open311_json` and :func:`from_open311_json` do the same with JSON text; the
reader refuses duplicate keys, ``NaN`` and ``Infinity``, and nesting too deep to read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeAlias

import attrs

from closedloop.deadlines import Difficulty
from closedloop.errors import (
    ClosedLoopError,
    ConfigurationError,
    DecodeError,
    ImportValidationError,
)
from closedloop.ids import ActorId, IssueId, UnitId
from closedloop.interop._common import iso
from closedloop.lifecycle.commands import RegisterIssue
from closedloop.lifecycle.state import IssueState

__all__ = [
    "ImportedRequest",
    "Open311Problem",
    "from_open311",
    "from_open311_json",
    "parse_open311_json",
    "to_open311",
    "to_open311_json",
    "validate_open311",
]

UnitOf: TypeAlias = Callable[[Mapping[str, Any]], str | None] | Mapping[str, str]
"""How to find a request's unit: a callable given the request, or a mapping of names."""

MAX_DESCRIPTION: Final = 100_000
MAX_TEXT: Final = 1_000
_MAX_PROBLEMS_SHOWN: Final = 50

_TEXT_FIELDS: Final = (
    "service_name",
    "status_notes",
    "agency_responsible",
    "service_notice",
    "address",
    "address_string",
    "media_url",
    "jurisdiction_id",
    "email",
    "first_name",
    "last_name",
    "phone",
)
_ID_FIELDS: Final = ("address_id", "zipcode", "account_id", "device_id")
_TIME_FIELDS: Final = ("requested_datetime", "updated_datetime", "expected_datetime")
_UNIT_KEYS: Final = ("jurisdiction_id", "address_string", "address", "address_id")
_CONSUMED: Final = frozenset(
    {"service_request_id", "service_code", "description", "requested_datetime"}
)


# -- export -------------------------------------------------------------------------------


def _status_notes(state: IssueState) -> str:
    notes = state.status.value
    if state.withdrawn is not None:
        notes += f" ({state.withdrawn.value})"
    if state.reopen_count:
        notes += f"; reopened {state.reopen_count} time(s)"
    return notes


def _agency(lead: str, departments: Any) -> str:
    if departments is not None and lead in departments:
        name = departments.get(lead).name
        if isinstance(name, str) and name:
            return name
    return lead


def to_open311(
    states: Iterable[IssueState],
    *,
    departments: Any = None,
    categories: Mapping[str, str] | None = None,
    jurisdiction_id: str | None = None,
    extended: bool = False,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Issue states as Open311 GeoReport v2 service requests (see the module docs).

    Args:
        states: issue states, e.g. ``loop.issues()`` or a projection.
        departments: a :class:`~closedloop.Departments` registry, to name the agency.
        categories: category → service name.
        jurisdiction_id: written into every request when given.
        extended: add ``extended_attributes`` with closedloop's own details.
        extra: issue id → more fields (a location, fields kept from an import); the
            fields computed here take precedence.

    Raises:
        ConfigurationError: for an item that is not an ``IssueState``.
    """
    out: list[dict[str, Any]] = []
    for index, state in enumerate(states):
        if not isinstance(state, IssueState):
            raise ConfigurationError(
                f"to_open311: item {index} is not an IssueState: {type(state).__name__}"
            )
        text = state.title + (f"\n\n{state.description}" if state.description else "")
        request: dict[str, Any] = {
            "service_request_id": state.issue_id,
            "status": "open" if state.status.is_open else "closed",
            "status_notes": _status_notes(state),
            "service_name": (categories or {}).get(state.category, state.category),
            "service_code": state.category,
            "description": text,
            "requested_datetime": iso(state.registered_at),
            "updated_datetime": iso(state.updated_at),
        }
        if state.lead is not None:
            request["agency_responsible"] = _agency(state.lead, departments)
        if state.due_at is not None:
            request["expected_datetime"] = iso(state.due_at)
        if jurisdiction_id is not None:
            request["jurisdiction_id"] = jurisdiction_id
        if extended:
            request["extended_attributes"] = {
                "status": state.status.value,
                "unit": state.origin_unit,
                "handling_unit": state.unit,
                "difficulty": state.difficulty.value,
                "lead": state.lead,
                "co_handlers": list(state.co_handlers),
                "cycle": state.cycle,
                "reporter": state.reporter,
            }
        if extra:
            for key, value in extra.get(state.issue_id, {}).items():
                request.setdefault(key, value)
        out.append(request)
    return out


def to_open311_json(
    states: Iterable[IssueState], *, indent: int | None = None, **options: Any
) -> str:
    """:func:`to_open311` as JSON text (UTF-8 characters kept as they are)."""
    return json.dumps(to_open311(states, **options), ensure_ascii=False, indent=indent)


# -- import ------------------------------------------------------------------------------


@attrs.frozen
class Open311Problem:
    """One problem with one imported request.

    Attributes:
        index: the request's place in the batch (from 0).
        request_id: its ``service_request_id`` when it has a usable one.
        field: the field at fault (None when the whole request is).
        message: what is wrong.
    """

    index: int
    request_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        who = f"request {self.index}" + (f" ({self.request_id!r})" if self.request_id else "")
        return f"{who}: {self.field}: {self.message}" if self.field else f"{who}: {self.message}"


@attrs.frozen
class ImportedRequest:
    """A service request read as a registration.

    Attributes:
        index: the request's place in the batch (from 0).
        command: the registration, ready for ``ClosedLoop.execute`` (or ``decide``).
        requested_at: the request's ``requested_datetime``, for the registration's
            ``at=`` (None when it had none).
        extra: every field the command does not carry, as given (location, status,
            contact details, unknown fields).
    """

    index: int
    command: RegisterIssue
    requested_at: datetime | None
    extra: dict[str, Any]


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text_problem(value: str, limit: int) -> str | None:
    if len(value) > limit:
        return f"longer than {limit} characters ({len(value)})"
    if "\x00" in value:
        return "contains a NUL character"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (a lone surrogate)"
    return None


def _parse_time(value: object) -> tuple[datetime | None, str | None]:
    if not isinstance(value, str):
        return None, f"must be ISO 8601 text, got {type(value).__name__}"
    text = value.strip()
    if len(text) > 64:
        return None, "is too long for a date and time"
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{_describe(value)} is not an ISO 8601 date and time"
    if at.utcoffset() is None:
        return None, f"{_describe(value)} has no UTC offset (add one, e.g. +08:00 or Z)"
    try:
        at.astimezone(UTC)
    except OverflowError:
        return None, f"{_describe(value)} lies outside the dates that can be stored"
    return at, None


def _number(value: object, bound: float) -> str | None:
    if isinstance(value, bool):
        return f"must be a number, got {_describe(value)}"
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return f"must be a number, got {_describe(value)}"
    if not isinstance(value, int | float):
        return f"must be a number, got {type(value).__name__}"
    number = float(value) if not isinstance(value, int) or abs(value) < 2**63 else math.inf
    if not math.isfinite(number) or abs(number) > bound:
        return f"must lie within ±{bound:g}, got {_describe(value)}"
    return None


def _id_text(value: object) -> tuple[str | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None, f"must be text or a whole number, got {type(value).__name__}"
    if isinstance(value, int) and abs(value) >= 10**100:
        return None, "is too large a number for an id"
    text = str(value) if isinstance(value, int) else value
    if not text.strip():
        return None, "is empty"
    problem = _text_problem(text, MAX_TEXT)
    return (None, problem) if problem else (text, None)


class _Request:
    """Checks one request and, when it is sound, builds its registration."""

    def __init__(self, index: int, data: Mapping[str, Any], problems: list[Open311Problem]):
        self.index = index
        self.data = data
        self.problems = problems
        self.request_id: str | None = None

    def problem(self, field: str | None, message: str) -> None:
        self.problems.append(Open311Problem(self.index, self.request_id, field, message))

    def text(self, field: str, limit: int = MAX_TEXT) -> str | None:
        if field not in self.data or self.data[field] is None:
            return None
        value = self.data[field]
        if not isinstance(value, str):
            self.problem(field, f"must be text, got {type(value).__name__}")
            return None
        problem = _text_problem(value, limit)
        if problem:
            self.problem(field, problem)
            return None
        return value


def _unit_candidates(request: _Request, unit_of: UnitOf | None) -> str | None:
    data = request.data
    if callable(unit_of):
        try:
            found: object = unit_of(data)
        except (LookupError, ValueError, TypeError, ClosedLoopError) as exc:
            request.problem("unit", f"no unit: {exc}")
            return None
        if found is not None and not isinstance(found, str):
            request.problem("unit", f"unit_of gave {type(found).__name__}, not a unit id")
            return None
        if found is not None:
            return found
    elif unit_of is not None:
        for key in _UNIT_KEYS:
            value = data.get(key)
            if (
                isinstance(value, str | int)
                and not isinstance(value, bool)
                and str(value) in unit_of
            ):
                return unit_of[str(value)]
    extended = data.get("extended_attributes")
    if isinstance(extended, Mapping) and isinstance(extended.get("unit"), str):
        return str(extended["unit"])
    return None


def _no_unit(data: Mapping[str, Any], unit_of: UnitOf | None) -> str:
    """Why no unit was found for a request."""
    tried = [
        f"{key} {data[key]!r}"
        for key in _UNIT_KEYS
        if isinstance(data.get(key), str | int) and not isinstance(data.get(key), bool)
    ]
    if isinstance(unit_of, Mapping) and tried:
        return f"unit_of knows no unit for {', '.join(tried)}"
    return "no unit: give unit_of or default_unit, or extended_attributes.unit"


def _difficulty(request: _Request, difficulty: Any) -> Difficulty | None:
    extended = request.data.get("extended_attributes")
    if isinstance(extended, Mapping) and extended.get("difficulty") is not None:
        given = extended["difficulty"]
        try:
            return Difficulty(given)
        except ValueError:
            allowed = ", ".join(d.value for d in Difficulty)
            request.problem(
                "extended_attributes.difficulty", f"{_describe(given)} is not one of {allowed}"
            )
            return None
    chosen = difficulty
    if callable(difficulty):
        try:
            chosen = difficulty(request.data)
        except (LookupError, ValueError, TypeError, ClosedLoopError) as exc:
            request.problem("difficulty", f"no difficulty: {exc}")
            return None
    try:
        return Difficulty(chosen)
    except ValueError:
        raise ConfigurationError(f"difficulty {chosen!r} is not a Difficulty") from None


def _check_request(
    request: _Request,
    *,
    hierarchy: Any,
    default_unit: str | None,
    unit_of: UnitOf | None,
    difficulty: Any,
    categories: Collection[str] | None,
    seen: dict[str, int],
    new_id: Callable[[], str] | None,
) -> ImportedRequest | None:
    data = request.data
    before = len(request.problems)
    raw_id = data.get("service_request_id")
    if raw_id is None:
        if new_id is None:
            request.problem("service_request_id", "missing")
        else:
            request.request_id = new_id()
    else:
        request_id, problem = _id_text(raw_id)
        if problem:
            request.problem("service_request_id", problem)
        else:
            request.request_id = request_id
            assert request_id is not None
            if request_id in seen:
                request.problem(
                    "service_request_id", f"repeats the id of request {seen[request_id]}"
                )
            else:
                seen[request_id] = request.index
    code: str | None = None
    if data.get("service_code") is None:
        request.problem("service_code", "missing (it is required)")
    else:
        code, problem = _id_text(data["service_code"])
        if problem:
            request.problem("service_code", problem)
        elif categories is not None and code not in categories:
            request.problem("service_code", f"{code!r} is not a known category")
    description = request.text("description", MAX_DESCRIPTION)
    service_name = None
    for field in _TEXT_FIELDS:
        value = request.text(field)
        if field == "service_name":
            service_name = value
    for field in _ID_FIELDS:
        if data.get(field) is not None:
            _, problem = _id_text(data[field])
            if problem:
                request.problem(field, problem)
    requested_at = None
    for field in _TIME_FIELDS:
        if data.get(field) is not None:
            at, problem = _parse_time(data[field])
            if problem:
                request.problem(field, problem)
            elif field == "requested_datetime":
                requested_at = at
    status = data.get("status")
    if status is not None and status not in ("open", "closed"):
        request.problem("status", f"must be 'open' or 'closed', got {_describe(status)}")
    for field, bound in (("lat", 90.0), ("long", 180.0)):
        if data.get(field) is not None:
            problem = _number(data[field], bound)
            if problem:
                request.problem(field, problem)
    extended = data.get("extended_attributes")
    if extended is not None and not isinstance(extended, Mapping):
        request.problem("extended_attributes", f"must be an object, got {type(extended).__name__}")
    elif (
        isinstance(extended, Mapping)
        and extended.get("unit") is not None
        and not isinstance(extended["unit"], str)
    ):
        request.problem("extended_attributes.unit", "must be text")
    level = _difficulty(request, difficulty)
    unit = _unit_candidates(request, unit_of)
    if unit is None:
        unit = default_unit
    if unit is None:
        if not any(p.field == "unit" for p in request.problems[before:]):
            request.problem("unit", _no_unit(data, unit_of))
    elif unit not in hierarchy:
        request.problem("unit", f"{_describe(unit)} is not a unit of the hierarchy")
    reporter = None
    for field in ("account_id", "email"):
        value = data.get(field)
        if value is not None and not isinstance(value, bool) and isinstance(value, str | int):
            reporter = str(value)
            break
    if (
        reporter is None
        and isinstance(extended, Mapping)
        and isinstance(extended.get("reporter"), str)
    ):
        reporter = extended["reporter"]
    if len(request.problems) > before:
        return None
    assert request.request_id is not None
    assert code is not None
    assert unit is not None
    assert level is not None
    title, _, rest = (description or "").strip().partition("\n\n")
    title = title.strip() or (service_name or "").strip() or code
    command = RegisterIssue(
        IssueId(request.request_id),
        UnitId(unit),
        code,
        level,
        title,
        rest.strip(),
        ActorId(reporter) if reporter is not None else None,
    )
    extra = {k: v for k, v in data.items() if k not in _CONSUMED}
    return ImportedRequest(request.index, command, requested_at, extra)


def _run(
    requests: object,
    *,
    hierarchy: Any,
    default_unit: str | None,
    unit_of: UnitOf | None,
    difficulty: Any,
    categories: Collection[str] | None,
    new_id: Callable[[], str] | None,
) -> tuple[list[ImportedRequest], list[Open311Problem]]:
    if isinstance(requests, str | bytes | Mapping) or not isinstance(requests, Iterable):
        raise DecodeError(
            f"Open311 requests must be a list of request objects, not {type(requests).__name__}"
        )
    if hierarchy is None or not hasattr(hierarchy, "__contains__"):
        raise ConfigurationError("from_open311 needs the hierarchy, to check each request's unit")
    if default_unit is not None and default_unit not in hierarchy:
        raise ConfigurationError(f"default_unit {default_unit!r} is not a unit of the hierarchy")
    if not callable(difficulty):
        try:
            difficulty = Difficulty(difficulty)
        except ValueError:
            raise ConfigurationError(f"difficulty {difficulty!r} is not a Difficulty") from None
    problems: list[Open311Problem] = []
    imported: list[ImportedRequest] = []
    seen: dict[str, int] = {}
    for index, data in enumerate(requests):
        if not isinstance(data, Mapping) or not all(isinstance(k, str) for k in data):
            problems.append(
                Open311Problem(index, None, None, f"must be an object, got {type(data).__name__}")
            )
            continue
        result = _check_request(
            _Request(index, data, problems),
            hierarchy=hierarchy,
            default_unit=default_unit,
            unit_of=unit_of,
            difficulty=difficulty,
            categories=categories,
            seen=seen,
            new_id=new_id,
        )
        if result is not None:
            imported.append(result)
    return imported, problems


def validate_open311(
    requests: Iterable[object],
    *,
    hierarchy: Any,
    default_unit: str | None = None,
    unit_of: UnitOf | None = None,
    difficulty: Difficulty | str | Callable[[Mapping[str, Any]], Difficulty | str] = "complex",
    categories: Collection[str] | None = None,
    new_id: Callable[[], str] | None = None,
) -> tuple[Open311Problem, ...]:
    """Every problem :func:`from_open311` would report, without raising (empty: all sound)."""
    _, problems = _run(
        requests,
        hierarchy=hierarchy,
        default_unit=default_unit,
        unit_of=unit_of,
        difficulty=difficulty,
        categories=categories,
        new_id=new_id,
    )
    return tuple(problems)


def from_open311(
    requests: Iterable[object],
    *,
    hierarchy: Any,
    default_unit: str | None = None,
    unit_of: UnitOf | None = None,
    difficulty: Difficulty | str | Callable[[Mapping[str, Any]], Difficulty | str] = "complex",
    categories: Collection[str] | None = None,
    new_id: Callable[[], str] | None = None,
) -> list[ImportedRequest]:
    """Service requests as registrations, all or nothing (see the module docs for the rules).

    Args:
        requests: the requests, as parsed JSON objects.
        hierarchy: the administrative hierarchy every unit must belong to.
        default_unit: the unit of a request nothing else places.
        unit_of: a callable given the request that returns a unit id (or None; it may
            raise ``LookupError`` or ``ValueError`` to refuse the request), or a mapping
            from ``jurisdiction_id``/``address_string``/``address``/``address_id``
            values to unit ids.
        difficulty: the difficulty of requests that do not state one, or a callable
            given the request (which may raise ``LookupError`` or ``ValueError`` to
            refuse it).
        categories: the known categories; other service codes are refused.
        new_id: makes issue ids for requests without a ``service_request_id`` (without
            it, the id is required).

    Raises:
        ImportValidationError: listing every problem of every request in its
            ``problems`` (nothing is imported); a :class:`DecodeError`.
        DecodeError: when ``requests`` is not a list.
        ConfigurationError: for unusable options (no hierarchy, an unknown default
            unit, an unknown difficulty).
    """
    imported, problems = _run(
        requests,
        hierarchy=hierarchy,
        default_unit=default_unit,
        unit_of=unit_of,
        difficulty=difficulty,
        categories=categories,
        new_id=new_id,
    )
    if problems:
        shown = [f"  {p}" for p in problems[:_MAX_PROBLEMS_SHOWN]]
        if len(problems) > _MAX_PROBLEMS_SHOWN:
            shown.append(f"  ... and {len(problems) - _MAX_PROBLEMS_SHOWN} more")
        raise ImportValidationError(
            f"{len(problems)} problem(s) in {len({p.index for p in problems})} Open311 "
            f"request(s); nothing was imported:\n" + "\n".join(shown),
            problems,
        )
    return imported


def _refuse_constant(name: str) -> Any:
    raise DecodeError(f"Open311 JSON: {name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise DecodeError(f"Open311 JSON: {text} is too large for a number")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DecodeError(f"Open311 JSON: the key {key!r} appears twice in one object")
        out[key] = value
    return out


def parse_open311_json(text: str | bytes) -> list[Any]:
    """The requests of Open311 JSON text: a list, or an object with ``service_requests``.

    Raises:
        DecodeError: for text that is not strict JSON (duplicate keys, ``NaN``, nesting
            too deep) or not a list of requests.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"Open311 JSON: not UTF-8 ({exc})") from None
    if not isinstance(text, str):
        raise DecodeError(f"Open311 JSON must be text, not {type(text).__name__}")
    try:
        data = json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=_finite,
            object_pairs_hook=_unique_keys,
        )
    except RecursionError:
        raise DecodeError("Open311 JSON: nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, DecodeError):
            raise
        raise DecodeError(f"Open311 JSON: not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("service_requests"), list):
        data = data["service_requests"]
    if not isinstance(data, list):
        raise DecodeError(
            f"Open311 JSON must hold a list of service requests, not {type(data).__name__}"
        )
    return data


def from_open311_json(text: str | bytes, **options: Any) -> list[ImportedRequest]:
    """:func:`from_open311` of JSON text (see :func:`parse_open311_json` for what is refused)."""
    return from_open311(parse_open311_json(text), **options)
