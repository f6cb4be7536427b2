"""Events to JSON and back: a registry of event classes with schema versions and upcasters.

An :class:`EventCodec` knows event classes by their ``KIND`` (the stable type name each
event class declares) and writes an event as::

    {"type": "IssueAssigned", "schema": 1, "data": {"event_id": "...", ...}}

``data`` holds every field, the base fields included. Values are written as JSON
types: strings, numbers, ``true``/``false``, ``null``; datetimes as ISO 8601 text
*with* a UTC offset (the zone's name is not kept, only the offset, so a decoded
datetime carries a fixed-offset zone and compares equal to the original); dates and
times of day as ISO 8601 text; enums by their value; ``tuple[X, ...]`` as a list;
nested attrs values (such as :class:`~closedloop.deadlines.TimeLimit`) as objects.

**Schema versions and upcasters.** When an event class changes shape, register it
with the next schema number and a function that rewrites a ``data`` dict of the old
schema into the new one; records stored under older schemas are upgraded step by step
when they are read, so history is never rewritten::

    def v1_to_v2(data):  # schema 2 renamed "summary" to "report"
        data = dict(data)
        data["report"] = data.pop("summary")
        return data

    codec.register(IssueResolved, schema=2, upcasters={1: v1_to_v2})

A field that has a default may be missing from a record (it takes the default), so
adding an optional field needs no new schema.

**Decoding is strict.** Anything that is not a valid record of a registered type (a
wrong type, a missing or unknown field, an unknown type, a schema newer than the
registered one, invalid UTF-8, NaN or infinities, integers beyond 64 bits, nesting too
deep for the parser, duplicate keys, JSON that is not an object) raises
:class:`~closedloop.errors.DecodeError` naming the type and the field, never another
exception, and changes nothing. Encoding an event whose values do not fit its declared
types (a naive datetime, ``True`` in an ``int`` field) or whose text is not valid
Unicode (a lone surrogate, which UTF-8 cannot hold) raises
:class:`~closedloop.errors.ConfigurationError` naming the field, so what is written
always reads back. :meth:`EventCodec.check` applies exactly the same rules without
writing anything, for stores that keep the event objects themselves.

**Speed.** Each class is compiled once into straight-line encode and decode functions
derived from its attrs fields and type hints, so no per-field type dispatch happens at
run time. Stores write rows in a compact form, a JSON array of the field values in a
fixed order (:meth:`EventCodec.pack`), and remember each order they have written, so
reading a row needs no field names (:meth:`EventCodec.row_decoder`).
"""

from __future__ import annotations

import enum
import json
import json.scanner
import math
import re
import threading
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

import attrs

from closedloop._checks import utf8_text
from closedloop.errors import ConfigurationError, DecodeError

__all__ = ["EventCodec", "default_codec"]

T = TypeVar("T")

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Rewrites the ``data`` dict of schema n into schema n + 1."""

PackedRow = tuple[str, int, str, str, int, str, str]
"""``(stream_id, version, event_id, type, schema, occurred_at, values)`` (see ``pack``)."""

RowDecoder = Callable[[list[Any]], Any]
"""Turns the parsed JSON array of a stored row into its event."""

_INT_MIN: Final = -(2**63)
_INT_MAX: Final = 2**63 - 1
_COLUMNS: Final = ("event_id", "version", "occurred_at")
_MEMO_LIMIT: Final = 4096
_SURROGATE_ESCAPE: Final = re.compile(r"\\u[dD][89a-fA-F]")


class _Bad(Exception):
    """Raised inside compiled encoders; turned into a ConfigurationError that names the field."""


def _describe(value: object) -> str:
    """A short, safe description of a value for error messages (never recursive)."""
    if value is None or value is True or value is False:
        return repr(value)
    if isinstance(value, str):
        return repr(value[:40]) + ("..." if len(value) > 40 else "")
    if type(value) is int:
        if -(10**30) < value < 10**30:
            return repr(value)
        return f"an integer of {value.bit_length()} bits"
    if type(value) is float:
        return repr(value)
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)} items"
    if isinstance(value, dict):
        return f"an object with {len(value)} keys"
    return f"a {type(value).__name__}"


def _decode_error(where: str, path: str, value: object, expected: str) -> DecodeError:
    field = f" field {path!r}" if path else ""
    return DecodeError(f"{where}:{field} expected {expected}, got {_describe(value)}")


def _missing_error(where: str, path: str) -> DecodeError:
    return DecodeError(f"{where}: required field {path!r} is missing")


def _extra_error(where: str, path: str, data: dict[Any, Any], known: frozenset[str]) -> DecodeError:
    extra = sorted(
        repr(k[:40]) if isinstance(k, str) else _describe(k) for k in data if k not in known
    )
    inside = f" in {path!r}" if path else ""
    return DecodeError(f"{where}: unknown field(s){inside}: {', '.join(extra[:5])}")


def _refused_error(where: str, path: str, exc: Exception) -> DecodeError:
    inside = f" {path!r}" if path else ""
    return DecodeError(f"{where}: the values of{inside} are refused: {exc}")


# -- converters: one per supported field type, each emitting source code ---------------


class _Gen:
    """Collects the constants and temporaries of generated functions, and compiles them."""

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.ns: dict[str, Any] = {
            "_q": json.encoder.encode_basestring,
            "_Bad": _Bad,
            "_dbad": _decode_error,
            "_dmissing": _missing_error,
            "_dextra": _extra_error,
            "_drefused": _refused_error,
            "_datetime": datetime,
            "_date": date,
            "_time": time,
            "_dtparse": datetime.fromisoformat,
            "_dparse": date.fromisoformat,
            "_tparse": time.fromisoformat,
            "_INF": math.inf,
            "_MIN": _INT_MIN,
            "_MAX": _INT_MAX,
            "_repr": repr,
            "_new": object.__new__,
            "_ZoneInfo": ZoneInfo,
            # Builtins as globals: one dictionary look-up fewer per use.
            "isinstance": isinstance,
            "str": str,
            "tuple": tuple,
        }
        self.count = 0

    def const(self, value: object, hint: str = "c") -> str:
        self.count += 1
        name = f"_{hint}{self.count}"
        self.ns[name] = value
        return name

    def tmp(self, hint: str = "t") -> str:
        self.count += 1
        return f"{hint}{self.count}"

    def compile(self, source: str, name: str) -> Any:
        code = compile(source, f"<closedloop codec for {self.owner}>", "exec")
        exec(code, self.ns)
        return self.ns[name]


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return ["    " * depth + line for line in lines]


class _Conv:
    """How one declared type is written and read.

    ``enc`` returns statements and an expression; ``mode`` says what the expression
    gives: ``"text"`` the JSON text, ``"quoted"`` text to put between quotes, ``"fmt"``
    a value whose ``str()`` is the JSON text. Encoder statements raise ``_Bad``.
    ``dec`` returns statements that check the JSON value in variable ``v`` and replace
    it by the Python value, raising DecodeError with ``path`` (a source expression).
    """

    label = "a value"
    mode = "text"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        raise NotImplementedError

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        raise NotImplementedError

    def text(self, v: str, g: _Gen) -> tuple[list[str], str]:
        """Statements and an expression giving the complete JSON text as a str."""
        lines, expr = self.enc(v, g)
        if self.mode == "quoted":
            return lines, f"'\"' + {expr} + '\"'"
        if self.mode == "fmt":
            return lines, f"str({expr})"
        return lines, expr

    def fail(self, v: str, path: str) -> str:
        return f"raise _dbad(W, {path}, {v}, {self.label!r})"

    def chk(self, v: str, g: _Gen) -> list[str]:
        """What :meth:`enc` checks, without writing any text.

        Statements that raise (``_Bad`` or any other exception) exactly where the
        encoder would, text that UTF-8 cannot hold (a lone surrogate) included. The
        default serves types whose encoder statements do every check and write no
        text of the value's own.
        """
        lines, _ = self.enc(v, g)
        return lines


class _Str(_Conv):
    label = "a string"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [], f"_q({v})"

    def chk(self, v: str, g: _Gen) -> list[str]:
        # _q takes any str, subclasses included, and raises TypeError for the rest;
        # isascii() is a flag look-up, so only other text pays for the encoding.
        return [
            f"if not isinstance({v}, str): raise _Bad",
            f"if not {v}.isascii(): {v}.encode('utf-8')",
        ]

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [f"if {v}.__class__ is not str: {self.fail(v, path)}"]


class _Int(_Conv):
    label = "an integer (64-bit)"
    mode = "fmt"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [f"if {v}.__class__ is not int or not _MIN <= {v} <= _MAX: raise _Bad"], v

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [f"if {v}.__class__ is not int or not _MIN <= {v} <= _MAX: {self.fail(v, path)}"]


class _Float(_Conv):
    label = "a finite number"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [
            f"if {v}.__class__ is float:",
            f"    if not -_INF < {v} < _INF: raise _Bad",
            f"elif {v}.__class__ is not int or not _MIN <= {v} <= _MAX: raise _Bad",
        ], f"_repr({v})"

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [
            f"if {v}.__class__ is float:",
            f"    if not -_INF < {v} < _INF: {self.fail(v, path)}",
            f"elif {v}.__class__ is int and _MIN <= {v} <= _MAX: {v} = float({v})",
            f"else: {self.fail(v, path)}",
        ]


class _Bool(_Conv):
    label = "true or false"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [f"if {v} is not True and {v} is not False: raise _Bad"], (
            f'("true" if {v} else "false")'
        )

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [f"if {v} is not True and {v} is not False: {self.fail(v, path)}"]


class _DateTime(_Conv):
    label = "an ISO 8601 date-time with a UTC offset"
    mode = "quoted"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        t = g.tmp()
        # The offset's sign comes after the 19 characters of the date and time.
        return [
            f"if not isinstance({v}, _datetime): raise _Bad",
            f"{t} = {v}.isoformat()",
            # ... and a fraction of a second after 20 is the offset's: refused, since
            # Python reads some such offsets back wrong and ISO 8601 has none.
            f'if {t}.find("+", 19) < 0 and {t}.find("-", 19) < 0 or {t}.find(".", 20) >= 0:',
            "    raise _Bad",
        ], t

    def chk(self, v: str, g: _Gen) -> list[str]:
        # isoformat writes an offset exactly when utcoffset() is not None, and a
        # fraction in it exactly when the offset has microseconds; asking for the
        # offset costs a fifth of formatting the text. A ZoneInfo always has an offset
        # for a datetime, in whole seconds (zone files hold seconds), so it is not
        # asked: its look-up costs as much as the rest of an event's checks.
        t = g.tmp()
        return [
            f"if not isinstance({v}, _datetime): raise _Bad",
            f"if {v}.tzinfo.__class__ is not _ZoneInfo:",
            f"    {t} = {v}.utcoffset()",
            f"    if {t} is None or {t}.microseconds: raise _Bad",
        ]

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        t = g.tmp()
        return [
            f"if {v}.__class__ is not str: {self.fail(v, path)}",
            "try:",
            f"    {t} = _dtparse({v})",
            "except ValueError:",
            f"    {self.fail(v, path)} from None",
            f"if {t}.tzinfo is None: {self.fail(v, path)}",
            f"{v} = {t}",
        ]


class _Date(_Conv):
    label = "an ISO 8601 date"
    mode = "quoted"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [
            (
                f"if {v}.__class__ is not _date and "
                f"(not isinstance({v}, _date) or isinstance({v}, _datetime)): raise _Bad"
            )
        ], f"{v}.isoformat()"

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [
            f"if {v}.__class__ is not str: {self.fail(v, path)}",
            "try:",
            f"    {v} = _dparse({v})",
            "except ValueError:",
            f"    {self.fail(v, path)} from None",
        ]


class _Time(_Conv):
    label = "an ISO 8601 time of day"
    mode = "quoted"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [f"if not isinstance({v}, _time): raise _Bad"], f"{v}.isoformat()"

    def chk(self, v: str, g: _Gen) -> list[str]:
        # isoformat asks the time's tzinfo for its offset, which may raise.
        lines, expr = self.enc(v, g)
        return [*lines, expr]

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [
            f"if {v}.__class__ is not str: {self.fail(v, path)}",
            "try:",
            f"    {v} = _tparse({v})",
            "except ValueError:",
            f"    {self.fail(v, path)} from None",
        ]


class _Enum(_Conv):
    def __init__(self, cls: type[enum.Enum]) -> None:
        self.cls = cls
        values = [m.value for m in cls]
        kinds = {type(x) for x in values}
        if not values or not kinds <= {str, int}:
            raise TypeError(f"enum {cls.__name__} needs str or int values")
        self.value_types = tuple(sorted(kinds, key=lambda k: k.__name__))
        self.label = f"one of {', '.join(repr(x) for x in values[:8])}"
        self.to_text = {m: json.dumps(m.value, ensure_ascii=False) for m in cls}
        for text in self.to_text.values():
            if not utf8_text(text):
                raise TypeError(f"enum {cls.__name__} has a value that is not valid Unicode")
        self.from_value = {m.value: m for m in cls}

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        return [], f"{g.const(self.to_text, 'enum')}[{v}]"

    def chk(self, v: str, g: _Gen) -> list[str]:
        return [f"if {v} not in {g.const(self.to_text, 'enum')}: raise _Bad"]

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        t = g.tmp()
        table = g.const(self.from_value, "enum")
        if len(self.value_types) == 1:
            guard = f"{v}.__class__ is {g.const(self.value_types[0], 'type')}"
        else:
            guard = f"{v}.__class__ in {g.const(self.value_types, 'types')}"
        return [
            f"{t} = {table}.get({v}) if {guard} else None",
            f"if {t} is None: {self.fail(v, path)}",
            f"{v} = {t}",
        ]


class _Optional(_Conv):
    def __init__(self, inner: _Conv) -> None:
        self.inner = inner
        self.label = f"{inner.label} or null"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        t = g.tmp()
        lines, expr = self.inner.text(v, g)
        return [
            f"if {v} is None:",
            f'    {t} = "null"',
            "else:",
            *_indent(lines),
            f"    {t} = {expr}",
        ], t

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [f"if {v} is not None:", *_indent(self.inner.dec(v, path, g))]

    def chk(self, v: str, g: _Gen) -> list[str]:
        return [f"if {v} is not None:", *_indent(self.inner.chk(v, g))]


class _Tuple(_Conv):
    def __init__(self, inner: _Conv) -> None:
        self.inner = inner
        self.label = f"a list of {_plural(inner.label)}"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        if isinstance(self.inner, _Str):
            item = "_q"
        else:
            lines, expr = self.inner.text("x", g)
            name = g.tmp("_item")
            source = "\n".join([f"def {name}(x):", *_indent(lines), f"    return {expr}"])
            item = g.const(g.compile(source, name), "item")
        return [f"if not isinstance({v}, tuple): raise _Bad"], (
            f'("[" + ",".join(map({item}, {v})) + "]" if {v} else "[]")'
        )

    def chk(self, v: str, g: _Gen) -> list[str]:
        lines = [f"if not isinstance({v}, tuple): raise _Bad"]
        if isinstance(self.inner, _Str):
            # join, like _q, takes str items (subclasses too) and raises for the rest.
            t = g.tmp()
            return [*lines, f'{t} = "".join({v})', f"if not {t}.isascii(): {t}.encode('utf-8')"]
        name = g.tmp("_check")
        source = "\n".join([f"def {name}(x):", *_indent(self.inner.chk("x", g)), "    return"])
        item = g.const(g.compile(source, name), "check")
        return [*lines, f"for x in {v}: {item}(x)"]

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        i, x = g.tmp("i"), g.tmp("x")
        item_path = f"{path} + '[' + str({i}) + ']'"
        fail = self.fail(v, path)
        if isinstance(self.inner, _Str):
            return [
                f"if {v}.__class__ is not list and {v}.__class__ is not tuple: {fail}",
                f"for {i}, {x} in enumerate({v}):",
                (
                    f"    if {x}.__class__ is not str: "
                    f"raise _dbad(W, {item_path}, {x}, {self.inner.label!r})"
                ),
                f"{v} = tuple({v})",
            ]
        out = g.tmp("out")
        return [
            f"if {v}.__class__ is not list and {v}.__class__ is not tuple: {self.fail(v, path)}",
            f"{out} = []",
            f"for {i}, {x} in enumerate({v}):",
            *_indent(self.inner.dec(x, item_path, g)),
            f"    {out}.append({x})",
            f"{v} = tuple({out})",
        ]


class _Nested(_Conv):
    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.label = f"an object for {plan.cls.__name__}"

    def enc(self, v: str, g: _Gen) -> tuple[list[str], str]:
        cls = g.const(self.plan.cls, "cls")
        return [f"if {v}.__class__ is not {cls}: raise _Bad"], (
            f"{g.const(self.plan.to_json, 'nested')}({v})"
        )

    def dec(self, v: str, path: str, g: _Gen) -> list[str]:
        return [
            f"if {v}.__class__ is not dict: {self.fail(v, path)}",
            f"{v} = {g.const(self.plan.from_dict, 'nested')}({v}, W, {path})",
        ]

    def chk(self, v: str, g: _Gen) -> list[str]:
        cls = g.const(self.plan.cls, "cls")
        check = g.const(self.plan.check(), "nested")
        return [f"if {v}.__class__ is not {cls}: raise _Bad", f"{check}({v})"]


def _plural(label: str) -> str:
    for article in ("an ", "a "):
        if label.startswith(article):
            return label[len(article) :] + "s"
    return label


_SIMPLE: Final[dict[object, _Conv]] = {
    str: _Str(),
    int: _Int(),
    float: _Float(),
    bool: _Bool(),
    datetime: _DateTime(),
    date: _Date(),
    time: _Time(),
}


def _conv_for(tp: Any) -> _Conv:
    """The converter for a type hint; TypeError for a type the codec cannot write."""
    while hasattr(tp, "__supertype__"):  # NewType
        tp = tp.__supertype__
    simple = _SIMPLE.get(tp)
    if simple is not None:
        return simple
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        others = [a for a in args if a is not type(None)]
        if len(others) == 1 and len(args) == 2:
            return _Optional(_conv_for(others[0]))
        raise TypeError(f"only X | None unions are supported, not {tp!r}")
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return _Tuple(_conv_for(args[0]))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _Enum(tp)
    if isinstance(tp, type) and attrs.has(tp):
        return _Nested(_plan_for(tp, event=False))
    raise TypeError(f"unsupported field type {tp!r}")


# -- per-class plans --------------------------------------------------------------------


@attrs.frozen
class _Field:
    name: str
    alias: str
    conv: _Conv
    default: Any
    """attrs.NOTHING when the field is required."""


class _Plan:
    """The compiled functions for one attrs class."""

    def __init__(self, cls: type, *, event: bool) -> None:
        self.cls = cls
        self.is_event = event
        self.plain_init = _plain_init(cls)
        self.fields = _fields_of(cls)
        self.names = frozenset(f.name for f in self.fields)
        self.kind: str = cls.__dict__.get("KIND", cls.__name__) if event else cls.__name__
        g = _Gen(cls.__qualname__)
        self.to_json: Callable[[Any], str] = self._compile_to_json(g)
        self.from_dict: Callable[..., Any] = self._compile_from_dict(g, event=event)
        self.field_encoders = {f.name: self._compile_field(g, f) for f in self.fields}
        self.layout = tuple(f.name for f in self.fields)
        self.from_array: Callable[[Any], Any] | None = (
            self._compile_from_array(g) if event else None
        )
        self._event_functions: dict[
            int, tuple[Callable[[Any], PackedRow], Callable[[Any], str]]
        ] = {}
        self._store_packers: dict[tuple[int, int], Callable[[Any], list[Any]]] = {}
        self._check: Callable[[Any], None] | None = None

    def _fstring(self, g: _Gen, parts: Iterable[tuple[bool, str]]) -> str:
        """Source of an f-string from (is_code, text) parts; text is escaped or hoisted."""
        out = []
        for is_code, text in parts:
            if is_code:
                out.append("{" + text + "}")
            elif re.fullmatch(r'[A-Za-z0-9_":,\[\] ]*', text.replace("{", "").replace("}", "")):
                out.append(text.replace("{", "{{").replace("}", "}}"))
            else:
                out.append("{" + g.const(text, "lit") + "}")
        return "f'" + "".join(out) + "'"

    def _object_parts(
        self, g: _Gen, fields: list[_Field], var: str, lines: list[str]
    ) -> list[tuple[bool, str]]:
        parts: list[tuple[bool, str]] = []
        for n, f in enumerate(fields):
            v = g.tmp("v")
            lines.append(f"{v} = {var}.{f.name}")
            enc_lines, expr = f.conv.enc(v, g)
            lines.extend(enc_lines)
            prefix = ("{" if n == 0 else ",") + json.dumps(f.name) + ":"
            parts.append((False, prefix))
            if f.conv.mode == "quoted":
                parts += [(False, '"'), (True, expr), (False, '"')]
            else:
                parts.append((True, expr))
        parts.append((False, "}" if fields else "{}"))
        return parts

    def _compile_to_json(self, g: _Gen) -> Callable[[Any], str]:
        lines: list[str] = []
        parts = self._object_parts(g, self.fields, "e", lines)
        source = "\n".join(
            ["def to_json(e):", *_indent(lines), f"    return {self._fstring(g, parts)}"]
        )
        fn: Callable[[Any], str] = g.compile(source, "to_json")
        return fn

    def _compile_field(self, g: _Gen, f: _Field) -> Callable[[Any], str]:
        lines, expr = f.conv.text("v", g)
        name = g.tmp("_field")
        source = "\n".join([f"def {name}(v):", *_indent(lines), f"    return {expr}"])
        fn: Callable[[Any], str] = g.compile(source, name)
        return fn

    def _compile_from_dict(self, g: _Gen, *, event: bool) -> Callable[..., Any]:
        known = g.const(self.names, "names")
        missing = g.const(attrs.NOTHING, "missing")
        # Hashable attrs values are immutable, so decoded nested values can be shared:
        # a bounded cache keyed on the exact JSON values (with their classes, so that
        # 1, 1.0 and True never share an entry) skips rebuilding them.
        memo = None if event or self.cls.__hash__ is None else g.const({}, "memo")
        lines: list[str] = []
        if event:
            # Events are checked at the top: W is their type name and paths are bare.
            header = "def from_dict(d):"
            lines.append(f"W = {self.kind!r}")
            path_prefix, where = "", "''"
        else:
            # Nested values get the outer type name and the path to them.
            header = "def from_dict(d, W, P):"
            path_prefix, where = "P + '.' + ", "P"
        if memo is not None:
            items = [f"d.get({f.name!r}, {missing})" for f in self.fields]
            key = "(len(d), " + ", ".join(f"{k}.__class__, {k}" for k in items) + ")"
            lines += [
                "try:",
                f"    k = {key}",
                f"    r = {memo}.get(k)",
                "except TypeError:",
                "    k = r = None",
                "if r is not None: return r",
            ]
        lines.append("m = 0")
        values = []
        for f in self.fields:
            v = g.tmp("v")
            values.append((f, v))
            path = f"{path_prefix}{f.name!r}"
            lines.append(f"{v} = d.get({f.name!r}, {missing})")
            lines.append(f"if {v} is {missing}:")
            body = f.conv.dec(v, path, g)
            if f.default is attrs.NOTHING:
                lines.append(f"    raise _dmissing(W, {path})")
                lines.extend(body)
            else:
                if isinstance(f.default, attrs.Factory):  # type: ignore[arg-type]
                    lines.append(f"    {v} = {g.const(f.default.factory, 'factory')}()")
                else:
                    lines.append(f"    {v} = {g.const(f.default, 'default')}")
                lines.append("    m += 1")
                lines.append("else:")
                lines.extend(_indent(body))
        lines.append(f"if len(d) + m != {len(self.fields)}: raise _dextra(W, {where}, d, {known})")
        lines += _construct(g, self, values, "r")
        if memo is not None:
            lines += [
                "if k is not None:",
                f"    if len({memo}) >= {_MEMO_LIMIT}: {memo}.clear()",
                f"    {memo}[k] = r",
            ]
        lines.append("return r")
        source = "\n".join([header, *_indent(lines)])
        return g.compile(source, "from_dict")  # type: ignore[no-any-return]

    def _compile_from_array(self, g: _Gen) -> Callable[[Any], Any]:
        """Decoder of a store row: a list of a layout number and then every field's value."""
        size = len(self.fields) + 1
        names = [g.tmp("v") for _ in self.fields]
        lines = [
            f"W = {self.kind!r}",
            (
                f"if a.__class__ is not list or len(a) != {size}: "
                f"raise _dbad(W, '', a, 'a list of {size} values')"
            ),
            f"_, {', '.join(names)} = a" if names else "",
        ]
        for f, v in zip(self.fields, names, strict=True):
            lines.extend(f.conv.dec(v, repr(f.name), g))
        lines += _construct(g, self, list(zip(self.fields, names, strict=True)), "r")
        lines.append("return r")
        source = "\n".join(["def from_array(a):", *_indent(lines)])
        return g.compile(source, "from_array")  # type: ignore[no-any-return]

    def _row_source(self, g: _Gen, schema: int, layout: int | None) -> tuple[list[str], str]:
        """Statements and the return expression of a row packer.

        With ``layout`` None the row is :data:`PackedRow`; with a layout number it is
        the list a store inserts: the same columns with the values wrapped into the
        array ``[layout, values]``, and a last slot for the store's global position.
        """
        kind = g.const(self.kind, "kind")
        lines: list[str] = []
        columns: dict[str, str] = {}
        parts: list[tuple[bool, str]] = [] if layout is None else [(False, f"[{layout},")]
        for n, f in enumerate(self.fields):
            v = g.tmp("v")
            lines.append(f"{v} = e.{f.name}")
            enc_lines, expr = f.conv.enc(v, g)
            lines.extend(enc_lines)
            if n:
                parts.append((False, ","))
            if f.conv.mode == "quoted":
                parts += [(False, '"'), (True, expr), (False, '"')]
            else:
                parts.append((True, expr))
            if f.name == "event_id":
                lines.append(f"if {v}.__class__ is not str: raise _Bad")
                columns[f.name] = v
            elif f.name in _COLUMNS:
                columns[f.name] = expr
        if layout is not None:
            parts.append((False, "]"))
        # Every field's text is in the values: one look at them refuses a lone surrogate.
        values = g.tmp("d")
        lines.append(f"{values} = {self._fstring(g, parts)}")
        lines.append(f"if not {values}.isascii(): {values}.encode('utf-8')")
        row = (
            f"e.stream_id, {columns['version']}, {columns['event_id']}, {kind}, {schema}, "
            f"{columns['occurred_at']}, {values}"
        )
        return lines, f"({row})" if layout is None else f"[{row}, None]"

    def check(self) -> Callable[[Any], None]:
        """A function that raises for a value the encoders would refuse, and writes nothing.

        For an event class it accepts exactly the events the row packers of
        :meth:`event_functions` and :meth:`store_packer` accept (the same type checks,
        ``event_id`` a plain str, no lone surrogate in any text) at a fraction of their
        cost, since it formats no text; for a nested class, exactly the values its
        encoder accepts. It does no error reporting of its own: when it raises, call
        :meth:`encode_error` for the precise error. Call under ``_PLANS_LOCK``.
        """
        if self._check is None:
            g = _Gen(self.cls.__qualname__)
            lines: list[str] = []
            for f in self.fields:
                v = g.tmp("v")
                lines.append(f"{v} = e.{f.name}")
                if self.is_event and f.name == "event_id":
                    # A plain str, as the row packers ask (so no isinstance either).
                    lines.append(f"if {v}.__class__ is not str: raise _Bad")
                    lines.append(f"if not {v}.isascii(): {v}.encode('utf-8')")
                else:
                    lines.extend(f.conv.chk(v, g))
            source = "\n".join(["def check(e):", *_indent(lines), "    return None"])
            self._check = g.compile(source, "check")
        return self._check

    def event_functions(
        self, schema: int
    ) -> tuple[Callable[[Any], PackedRow], Callable[[Any], str]]:
        """The row packer and ``dumps`` of an event class registered at ``schema``."""
        found = self._event_functions.get(schema)
        if found is not None:
            return found
        g = _Gen(self.cls.__qualname__)
        lines, row = self._row_source(g, schema, None)
        source = "\n".join(["def pack(e):", *_indent(lines), f"    return {row}"])
        pack: Callable[[Any], PackedRow] = g.compile(source, "pack")
        envelope = (
            '{"type":' + json.encoder.encode_basestring(self.kind) + f',"schema":{schema},"data":'
        )
        to_json = g.const(self.to_json, "to_json")
        source = "\n".join(
            [
                "def dumps(e):",
                f"    t = {g.const(envelope, 'env')} + {to_json}(e) + '}}'",
                "    if not t.isascii(): t.encode('utf-8')",
                "    return t",
            ]
        )
        dumps: Callable[[Any], str] = g.compile(source, "dumps")
        found = (pack, dumps)
        self._event_functions[schema] = found
        return found

    def store_packer(self, schema: int, layout: int) -> Callable[[Any], list[Any]]:
        """A packer that returns the row a store inserts (see ``_row_source``)."""
        key = (schema, layout)
        found = self._store_packers.get(key)
        if found is None:
            g = _Gen(self.cls.__qualname__)
            lines, row = self._row_source(g, schema, layout)
            source = "\n".join(["def packer(e):", *_indent(lines), f"    return {row}"])
            found = self._store_packers[key] = g.compile(source, "packer")
        return found

    def encode_error(self, event: object, exc: BaseException) -> ConfigurationError:
        """A ConfigurationError naming the first field that does not fit its type.

        A field fits when its value has the declared type and its text is valid
        Unicode (UTF-8 cannot hold a lone surrogate, so neither can a store).
        """
        for f in self.fields:
            try:
                value = getattr(event, f.name)
            except AttributeError:
                return ConfigurationError(f"cannot encode {self.kind}: it has no field {f.name!r}")
            try:
                text = self.field_encoders[f.name](value)
            except Exception:
                return ConfigurationError(
                    f"cannot encode {self.kind}: field {f.name!r} must be {f.conv.label}, "
                    f"got {_describe(value)}"
                )
            if not utf8_text(text):
                surrogate = next(c for c in text if "\ud800" <= c <= "\udfff")
                return ConfigurationError(
                    f"cannot encode {self.kind}: field {f.name!r} holds a lone surrogate "
                    f"({surrogate!r}), which is not valid Unicode text; got {_describe(value)}"
                )
            if self.is_event and f.name == "event_id" and value.__class__ is not str:
                return ConfigurationError(
                    f"cannot encode {self.kind}: field 'event_id' must be a str, "
                    f"not a {type(value).__name__}"
                )
        return ConfigurationError(f"cannot encode {self.kind}: {exc!r}")


def _plain_init(cls: type) -> bool:
    """Whether ``cls.__init__`` only stores its arguments, field by field.

    True for slotted attrs classes whose ``__init__`` attrs generated, with no
    validator, converter, init hook, cached hash or field left out of ``__init__``.
    Such instances can be built by setting the slots directly, which is a third
    faster; any other class is built by calling it.
    """
    init = cls.__dict__.get("__init__")
    code = getattr(init, "__code__", None)
    if code is None or "attrs generated" not in code.co_filename:
        return False
    if "__slots__" not in cls.__dict__ or "_attrs_cached_hash" in cls.__dict__["__slots__"]:
        return False
    if hasattr(cls, "__attrs_pre_init__") or hasattr(cls, "__attrs_post_init__"):
        return False
    return all(
        a.init
        and a.validator is None
        and a.converter is None
        and a.alias == a.name
        and type(getattr(cls, a.name, None)).__name__ == "member_descriptor"
        for a in attrs.fields(cls)
    )


def _construct(g: _Gen, plan: _Plan, values: list[tuple[_Field, str]], target: str) -> list[str]:
    """Statements that build the instance from decoded values into ``target``.

    Any exception (a validator refusing a value) becomes a DecodeError.
    """
    cls = g.const(plan.cls, "cls")
    if plan.plain_init:
        lines = [f"{target} = _new({cls})"]
        for f, v in values:
            setter = g.const(getattr(plan.cls, f.name).__set__, "set")
            lines.append(f"{setter}({target}, {v})")
        return lines
    call = ", ".join(f"{f.alias}={v}" for f, v in values)
    return [
        "try:",
        f"    {target} = {cls}({call})",
        "except Exception as exc:",
        f"    raise _drefused(W, {'P' if not plan.is_event else repr('')}, exc) from None",
    ]


def _fields_of(cls: type) -> list[_Field]:
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:
        raise ConfigurationError(f"cannot read the type hints of {cls.__name__}: {exc}") from exc
    out = []
    for a in attrs.fields(cls):
        if not a.init:
            continue
        try:
            conv = _conv_for(hints[a.name])
        except TypeError as exc:
            raise ConfigurationError(f"{cls.__name__}.{a.name}: {exc}") from None
        if isinstance(a.default, attrs.Factory) and a.default.takes_self:  # type: ignore[arg-type]
            raise ConfigurationError(
                f"{cls.__name__}.{a.name}: defaults that take self are not supported"
            )
        out.append(_Field(a.name, a.alias or a.name, conv, a.default))
    return out


_PLANS: dict[tuple[type, bool], _Plan] = {}
_PLANS_LOCK = threading.Lock()


def _plan_for(cls: type, *, event: bool) -> _Plan:
    with _PLANS_LOCK:
        plan = _PLANS.get((cls, event))
    if plan is None:
        plan = _Plan(cls, event=event)
        with _PLANS_LOCK:
            plan = _PLANS.setdefault((cls, event), plan)
    return plan


# -- the registry -------------------------------------------------------------------------


@attrs.frozen
class _Registration:
    cls: type
    kind: str
    schema: int
    upcasters: tuple[Upcaster, ...]
    """``upcasters[n - 1]`` rewrites schema n into n + 1."""
    plan: _Plan
    pack: Callable[[Any], PackedRow]
    dumps: Callable[[Any], str]
    check: Callable[[Any], None]


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:40]!r}")
            seen.add(key)
    return out


# The scanner under json.loads: parses one value at an offset, with no checks around it.
_scan: Callable[[str, int], tuple[Any, int]] = typing.cast(Any, json.scanner.make_scanner)(
    json.JSONDecoder(parse_constant=_no_constant)
)
_strict = json.JSONDecoder(parse_constant=_no_constant, object_pairs_hook=_unique_pairs)


class EventCodec:
    """A registry of event classes by ``KIND``, with a schema version and upcasters each.

    :func:`default_codec` gives one with every lifecycle event registered; modules with
    their own events register them too (``codec.register(cls, schema=2, upcasters=...)``).
    See the module docs for the format and the guarantees.
    """

    __slots__ = ("_by_class", "_by_kind")

    def __init__(self) -> None:
        self._by_kind: dict[str, _Registration] = {}
        self._by_class: dict[type, _Registration] = {}

    # -- registration ---------------------------------------------------------------

    def register(
        self,
        cls: type[T],
        *,
        schema: int = 1,
        upcasters: Mapping[int, Upcaster] | None = None,
    ) -> type[T]:
        """Register an event class; returns it, so it can be used as a decorator.

        The class must be an attrs class that declares its own ``KIND`` (a non-empty
        string) and has the fields ``event_id`` (str), ``version`` (int) and
        ``occurred_at`` (datetime) and a ``stream_id`` attribute. ``upcasters[n]``
        rewrites a ``data`` dict of schema ``n`` into ``n + 1``; one is needed for every
        ``n`` from 1 to ``schema - 1``.

        Raises:
            ConfigurationError: for anything above that does not hold, a field type the
                codec cannot write, or a ``KIND`` or class already registered.
        """
        klass: Any = cls
        if not isinstance(klass, type) or not attrs.has(klass):
            raise ConfigurationError(f"only attrs classes can be registered, not {cls!r}")
        kind = cls.__dict__.get("KIND")
        if not isinstance(kind, str) or not kind or not utf8_text(kind):
            raise ConfigurationError(
                f"{cls.__name__} must declare its own KIND (a non-empty string of valid "
                f"Unicode text) to be registered"
            )
        if type(schema) is not int or schema < 1:
            raise ConfigurationError(f"{kind}: schema must be an int >= 1, got {schema!r}")
        given = dict(upcasters or {})
        if set(given) != set(range(1, schema)):
            raise ConfigurationError(
                f"{kind} at schema {schema} needs upcasters for schemas "
                f"{list(range(1, schema))}, got {sorted(given, key=str)}"
            )
        if not all(callable(fn) for fn in given.values()):
            raise ConfigurationError(f"{kind}: every upcaster must be callable")
        if kind in self._by_kind:
            raise ConfigurationError(
                f"KIND {kind!r} is already registered (by {self._by_kind[kind].cls.__name__})"
            )
        if cls in self._by_class:
            raise ConfigurationError(f"{cls.__name__} is already registered")
        if not hasattr(cls, "stream_id"):
            raise ConfigurationError(f"{kind}: an event class needs a stream_id attribute")
        try:
            plan = _plan_for(cls, event=True)
        except RecursionError:
            raise ConfigurationError(f"{kind}: its fields nest without end") from None
        by_name = {f.name: f for f in plan.fields}
        for name, conv_type in (("event_id", _Str), ("version", _Int), ("occurred_at", _DateTime)):
            f = by_name.get(name)
            if f is None or type(f.conv) is not conv_type:
                raise ConfigurationError(
                    f"{kind}: an event class needs a field {name!r} of type "
                    f"{ {'event_id': 'str', 'version': 'int', 'occurred_at': 'datetime'}[name] }"
                )
        with _PLANS_LOCK:
            pack, dumps = plan.event_functions(schema)
            check = plan.check()
        registration = _Registration(
            cls, kind, schema, tuple(given[n] for n in range(1, schema)), plan, pack, dumps, check
        )
        self._by_kind[kind] = registration
        self._by_class[cls] = registration
        return cls

    @property
    def kinds(self) -> tuple[str, ...]:
        """The registered type names, in registration order."""
        return tuple(self._by_kind)

    def schema_of(self, kind: str | type) -> int:
        """The current schema version of a registered type (by ``KIND`` or class)."""
        reg = self._by_kind.get(kind) if isinstance(kind, str) else self._by_class.get(kind)
        if reg is None:
            raise ConfigurationError(f"{kind!r} is not registered with this codec")
        return reg.schema

    def event_class(self, kind: str) -> type:
        """The class registered under ``kind``."""
        reg = self._by_kind.get(kind)
        if reg is None:
            raise ConfigurationError(f"{kind!r} is not registered with this codec")
        return reg.cls

    def kind_of(self, cls: type) -> str:
        """The ``KIND`` a registered class is written under."""
        reg = self._by_class.get(cls)
        if reg is None:
            raise ConfigurationError(f"{cls.__name__} is not registered with this codec")
        return reg.kind

    def __contains__(self, kind: object) -> bool:
        return kind in self._by_kind or kind in self._by_class

    def _registration(self, event: object) -> _Registration:
        reg = self._by_class.get(event.__class__)
        if reg is None:
            raise ConfigurationError(
                f"{type(event).__name__} is not registered with this codec; "
                f"register it with codec.register({type(event).__name__})"
            )
        return reg

    # -- encoding ---------------------------------------------------------------------

    def dumps(self, event: object) -> str:
        """The event as compact JSON text: ``{"type": ..., "schema": ..., "data": {...}}``."""
        reg = self._registration(event)
        try:
            return reg.dumps(event)
        except Exception as exc:
            raise reg.plan.encode_error(event, exc) from None

    def encode(self, event: object) -> dict[str, Any]:
        """The event as a JSON-ready dict ``{"type": KIND, "schema": n, "data": {...}}``."""
        result: dict[str, Any] = json.loads(self.dumps(event))
        return result

    def pack(self, event: object) -> PackedRow:
        """The event as a store row, for stores that keep JSON text.

        ``(stream_id, version, event_id, type, schema, occurred_at, values)``:
        ``occurred_at`` is ISO 8601 text and ``values`` is the JSON text of every field's
        value in :meth:`layout` order, comma-separated. A store writes the row as the
        JSON array ``[layout number, values]`` and reads it back with
        :meth:`row_decoder`.
        """
        reg = self._registration(event)
        try:
            return reg.pack(event)
        except Exception as exc:
            raise reg.plan.encode_error(event, exc) from None

    def check(self, event: object) -> None:
        """Check that the event can be written, without writing it.

        It accepts and refuses exactly what :meth:`pack`, :meth:`dumps` and the store
        row packers do, with the same error, at a fraction of their cost (no text is
        formatted): a store that keeps the event objects themselves calls it so that
        it takes exactly the events a store that writes them takes.

        Raises:
            ConfigurationError: the event's class is not registered, or a value does
                not fit its field's declared type, or holds text that is not valid
                Unicode (a lone surrogate); the message names the field.
        """
        reg = self._registration(event)
        try:
            reg.check(event)
        except Exception as exc:
            raise reg.plan.encode_error(event, exc) from None

    def checker(self, cls: type) -> Callable[[Any], None]:
        """The fast form of :meth:`check` for events of a registered class.

        It raises for an event that :meth:`check` refuses, but with no error report of
        its own (and not necessarily a ConfigurationError): when it raises, call
        :meth:`check` for the precise error.
        """
        reg = self._by_class.get(cls)
        if reg is None:
            raise ConfigurationError(f"{cls.__name__} is not registered with this codec")
        return reg.check

    # -- decoding ---------------------------------------------------------------------

    def loads(self, text: str | bytes | bytearray) -> Any:
        """The event that :meth:`dumps` wrote (or any valid JSON record of a registered type).

        Raises:
            DecodeError: for anything that is not such a record (see the module docs).
        """
        try:
            if isinstance(text, bytes | bytearray):
                text = bytes(text).decode("utf-8")
            elif not isinstance(text, str):
                raise DecodeError(f"expected JSON text (str or bytes), got {_describe(text)}")
            record = _strict.decode(text)
            if _SURROGATE_ESCAPE.search(text):
                json.dumps(record, ensure_ascii=False).encode("utf-8")
        except DecodeError:
            raise
        except UnicodeError as exc:
            raise DecodeError(f"the record is not valid UTF-8 text: {exc}") from None
        except Exception as exc:
            raise DecodeError(f"the record is not valid JSON: {_short(exc)}") from None
        return self.decode(record)

    def decode(self, record: object) -> Any:
        """The event for a dict of the form :meth:`encode` returns.

        The dict is not changed. Records of an older schema are upgraded first.

        Raises:
            DecodeError: for anything that is not such a record (see the module docs).
        """
        try:
            if not isinstance(record, Mapping):
                raise DecodeError(f"a record must be a JSON object, got {_describe(record)}")
            kind = record.get("type")
            reg = self._by_kind.get(kind) if isinstance(kind, str) else None
            if reg is None:
                raise DecodeError(f"unknown event type {_describe(kind)}")
            extra = set(record) - {"type", "schema", "data"}
            if extra:
                raise DecodeError(
                    f"{reg.kind}: unknown record key(s) {sorted(_describe(k) for k in extra)[:5]}"
                )
            data = record.get("data")
            if not isinstance(data, Mapping):
                raise DecodeError(f"{reg.kind}: 'data' must be an object, got {_describe(data)}")
            return self._decode(reg, record.get("schema"), dict(data))
        except DecodeError:
            raise
        except Exception as exc:
            raise DecodeError(f"the record does not decode: {_short(exc)}") from None

    # -- the store row format ---------------------------------------------------------

    def layout(self, kind: str | type) -> tuple[int, tuple[str, ...]]:
        """The current schema and field names (in row order) of a registered type."""
        reg = self._by_kind.get(kind) if isinstance(kind, str) else self._by_class.get(kind)
        if reg is None:
            raise ConfigurationError(f"{kind!r} is not registered with this codec")
        return reg.schema, reg.plan.layout

    def row_decoder(self, kind: str, schema: int, fields: Sequence[str]) -> RowDecoder:
        """The decoder of store rows written as ``kind`` at ``schema`` with ``fields``.

        A row is a JSON array: a layout number (which the store maps to kind, schema and
        fields) and then the value of each field, as :meth:`pack` writes them. Rows of
        the current layout decode directly; rows of an older schema or an older field
        list go through a dict, the upcasters and the defaults of missing fields. The
        decoder raises :class:`~closedloop.errors.DecodeError` for a row that does not
        fit, and so does every call for a kind this codec does not know.
        """
        reg = self._by_kind.get(kind)
        names = tuple(fields)
        if reg is None:

            def unknown(row: list[Any]) -> Any:
                raise DecodeError(f"unknown event type {_describe(kind)}")

            return unknown
        if schema == reg.schema and names == reg.plan.layout:
            assert reg.plan.from_array is not None
            return reg.plan.from_array
        size = len(names) + 1

        def upgrade(row: list[Any]) -> Any:
            if type(row) is not list or len(row) != size:
                raise DecodeError(
                    f"{reg.kind}: a stored row of schema {schema} must be a list of {size} "
                    f"values, got {_describe(row)}"
                )
            try:
                return self._decode(reg, schema, dict(zip(names, row[1:], strict=True)))
            except DecodeError:
                raise
            except Exception as exc:
                raise DecodeError(f"{reg.kind}: the row does not decode: {_short(exc)}") from None

        return upgrade

    def row_packer(self, cls: type, layout: int) -> Callable[[Any], list[Any]]:
        """A fast packer of ``cls`` events for a store that numbered this layout ``layout``.

        It returns ``[stream_id, version, event_id, type, schema, occurred_at, data,
        None]``, where ``data`` is the JSON array ``[layout, values...]`` and the last
        slot is left for the store's global position. It does no error reporting of
        its own: when it raises, call :meth:`pack` for the precise error.
        """
        reg = self._by_class.get(cls)
        if reg is None:
            raise ConfigurationError(f"{cls.__name__} is not registered with this codec")
        with _PLANS_LOCK:
            return reg.plan.store_packer(reg.schema, layout)

    @staticmethod
    def parse_row(text: Any) -> list[Any]:
        """The JSON array of a stored row; DecodeError if it is not one."""
        try:
            row, end = _scan(text, 0)
            if end != len(text):
                raise ValueError("text after the row")
        except Exception as exc:
            raise DecodeError(f"a stored row is not valid JSON: {_short(exc)}") from None
        if type(row) is not list or not row or type(row[0]) is not int:
            raise DecodeError("a stored row must be a list that starts with its layout number")
        return row

    def decode_rows(
        self,
        rows: Sequence[Sequence[Any]],
        column: int,
        decoders: Mapping[int, RowDecoder],
        resolve: Callable[[int], RowDecoder],
    ) -> list[Any]:
        """The events of stored rows, whose row text is at index ``column`` of each.

        ``decoders`` maps layout numbers to :meth:`row_decoder` results; ``resolve`` is
        called for a number missing from it (another writer may have added a layout)
        and returns its decoder or raises DecodeError.
        """
        out: list[Any] = []
        append = out.append
        scan = _scan
        try:
            for row in rows:
                text = row[column]
                values, end = scan(text, 0)
                if end != len(text):
                    break
                append(decoders[values[0]](values))
            else:
                return out
        except Exception:
            pass
        # Something did not fit: go again row by row, for a precise error (or a layout
        # that only needed resolving).
        out = []
        for row in rows:
            values = self.parse_row(row[column])
            decoder = decoders.get(values[0])
            if decoder is None:
                decoder = resolve(values[0])
            out.append(decoder(values))
        return out

    def _decode(self, reg: _Registration, schema: object, data: dict[str, Any]) -> Any:
        if type(schema) is not int or schema < 1:
            raise DecodeError(f"{reg.kind}: 'schema' must be an int >= 1, got {_describe(schema)}")
        if schema > reg.schema:
            raise DecodeError(
                f"{reg.kind}: schema {schema} is newer than this codec knows ({reg.schema}); "
                f"upgrade closedloop or register the newer class"
            )
        for n in range(schema, reg.schema):
            try:
                data = reg.upcasters[n - 1](data)
            except Exception as exc:
                raise DecodeError(
                    f"{reg.kind}: upgrading schema {n} to {n + 1} failed: {_short(exc)}"
                ) from None
            if type(data) is not dict:
                raise DecodeError(
                    f"{reg.kind}: the upcaster from schema {n} returned {_describe(data)}, "
                    f"not a dict"
                )
        return reg.plan.from_dict(data)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _lifecycle_events() -> list[type]:
    from closedloop.lifecycle import events

    found = []
    for name in events.__all__:
        value = getattr(events, name)
        if (
            isinstance(value, type)
            and issubclass(value, events.IssueEvent)
            and value is not events.IssueEvent
        ):
            found.append(value)
    return found


def _other_events() -> list[type]:
    """Event classes of the other aggregates: meetings, orders, records, task forces, visits."""
    from closedloop import supervision, taskforces
    from closedloop.meetings import MEETING_EVENTS
    from closedloop.metrics import VisitRecorded

    return [
        *MEETING_EVENTS,
        supervision.SupervisionOrdered,
        supervision.SupervisionOrderOverdue,
        supervision.SupervisionOrderClosed,
        supervision.AccountabilityRecorded,
        taskforces.TaskForceCreated,
        taskforces.IssueLinked,
        taskforces.PlanRecorded,
        taskforces.PlanResolved,
        taskforces.TaskForceClosed,
        VisitRecorded,
    ]


def default_codec() -> EventCodec:
    """A new codec with every event class closedloop defines registered at schema 1.

    That is the lifecycle's events and those of meetings and whistle calls, supervision
    orders, accountability records, task forces and grassroots visits. Each call returns
    a fresh registry, so registering more classes in one does not affect others;
    compiling a class is done once per process.
    """
    codec = EventCodec()
    for cls in (*_lifecycle_events(), *_other_events()):
        codec.register(cls)
    return codec
