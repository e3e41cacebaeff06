"""How each Python type is written as JSON, read back, and described by a JSON Schema.

One rule per type, and each rule gives all three at once (a :class:`Codec`), so the
converter and the published schemas cannot drift apart:

- ``str``, ``int``, ``bool``: themselves; ``float`` (ratios, shares, scores only): a
  finite JSON number;
- :class:`Money` (``Decimal`` yuan) and :class:`MoneyFen` (integer fen): a decimal string
  in yuan with two decimals, ``"1234.50"``; other ``Decimal`` values (scores, weights):
  an exact decimal string, ``"0.95"``;
- :class:`~keyaccount.domain.Period`: ``"YYYY-MM"``; ``datetime.date``: ISO 8601
  ``"YYYY-MM-DD"``; :class:`~keyaccount.operations.PeriodSpan`: ``"2022-03"``,
  ``"2022Q1"`` or ``"2022"``;
- an enum: the member's name (``"STRATEGIC"``); a union of enums: the name, read back in
  the enum that has it; ``Literal``: the value;
- ``X | None``: ``null`` for ``None``; ``tuple[X, ...]``: an array; ``frozenset[X]``: a
  sorted array of distinct items; ``Mapping[str, X]``: an object;
- an explanation (``(name, value)`` pairs): an array of ``{"name", "kind", "value"}``
  objects, ``kind`` being ``money``, ``count``, ``ratio``, ``text`` or ``absent``;
- a document (a class with a :class:`Layout`): an object with exactly its slots, every
  one present (``null`` when absent).
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import inspect
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, get_args, get_origin

import attrs

from keyaccount.domain import Period, Segment, Tier, yuan_to_fen
from keyaccount.exceptions import KeyAccountError, shorten
from keyaccount.operations import PeriodSpan
from keyaccount.rules import Explanation

__all__ = [
    "DATE_PATTERN",
    "DECIMAL_PATTERN",
    "MONEY_PATTERN",
    "PERIOD_PATTERN",
    "SPAN_PATTERN",
    "Codec",
    "Codecs",
    "JsonPathError",
    "Layout",
    "Money",
    "MoneyFen",
    "Moves",
    "Schema",
    "Slot",
    "attribute_docs",
    "summary",
]

Schema = dict[str, Any]
"""A JSON Schema fragment."""

MONEY_PATTERN = r"^-?\d+\.\d{2}$"
"""Money: yuan with exactly two decimals."""
DECIMAL_PATTERN = r"^-?\d+(\.\d+)?$"
"""An exact decimal that is not money (a score, a weight, a rate of a bracket)."""
PERIOD_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
"""A calendar month, ``YYYY-MM``."""
SPAN_PATTERN = r"^\d{4}(-(0[1-9]|1[0-2])|Q[1-4])?$"
"""A month (``2022-03``), a quarter (``2022Q1``) or a year (``2022``)."""
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
"""A calendar day, ISO 8601."""

_MONEY = re.compile(MONEY_PATTERN)
_DECIMAL = re.compile(DECIMAL_PATTERN)
_PERIOD = re.compile(PERIOD_PATTERN)
_SPAN = re.compile(SPAN_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_MAX_TEXT = 100
"""Money and decimal strings longer than this are refused before they are parsed."""


class Money:
    """Type marker: ``Decimal`` yuan with at most two decimals, written ``"1234.50"``."""


class MoneyFen:
    """Type marker: integer fen, written in yuan with two decimals (``123450`` is ``"1234.50"``)."""


Moves = Mapping[tuple[Tier | Segment | None, Tier | Segment | None], int]
"""Transitions per ``(before, after)`` (``EvaluationCounts.moves``)."""


class JsonPathError(Exception):
    """A value that does not fit its type, at a path inside the document."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def at(self, step: str | int) -> JsonPathError:
        """The same problem, one step further from the root."""
        return JsonPathError(self.message, (step, *self.path))

    @property
    def where(self) -> str:
        """The path as ``$.transitions[3].period``."""
        return "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in self.path)


@attrs.frozen
class Codec:
    """How values of one type are written, read back and described.

    Attributes:
        dump: Python value to JSON-able value (plain ``dict``, ``list``, ``str``, ``int``,
            ``float``, ``bool``, ``None``).
        load: JSON value to Python value; raises :class:`JsonPathError`.
        schema: The JSON Schema fragment, given the ``$defs`` collector.
    """

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]
    schema: Callable[[Defs], Schema]


class Defs:
    """The ``$defs`` of one schema: each named definition once, filled on first use."""

    def __init__(self) -> None:
        self.definitions: dict[str, Schema] = {}

    def ref(self, name: str, build: Callable[[], Schema]) -> Schema:
        """``{"$ref": "#/$defs/name"}``, building the definition the first time."""
        if name not in self.definitions:
            self.definitions[name] = {}  # placeholder: a definition may refer to itself
            self.definitions[name] = build()
        return {"$ref": f"#/$defs/{name}"}


@attrs.frozen
class Slot:
    """One property of a document.

    Attributes:
        name: The JSON property name.
        type: The Python type the value has once read (what the codec works on).
        get: Reads the value from the Python object.
        argument: The constructor's keyword for it, or ``None`` for a constant tag that
            is checked but not passed on.
        description: One line for the schema.
        load_type: The type the constructor takes, when it differs from ``type`` with
            the same JSON form (yuan for a field kept in fen).
    """

    name: str
    type: Any
    get: Callable[[Any], Any]
    argument: str | None
    description: str = ""
    load_type: Any = None


@attrs.frozen
class Layout:
    """How one class is published: its schema name, its slots and how it is rebuilt.

    Attributes:
        cls: The Python class.
        name: The schema name (``"customer"``).
        slots: The properties, in order.
        build: Makes the object from the constructor keywords.
        description: The schema's description (the class docstring's summary).
    """

    cls: type
    name: str
    slots: tuple[Slot, ...]
    build: Callable[[dict[str, Any]], Any]
    description: str


_ROLE = re.compile(r":\w+:`~?(?:[\w.]+\.)?(\w+)`")


def plain(text: str) -> str:
    """Docstring text for a schema: one line, reST roles and double backquotes simplified."""
    return " ".join(_ROLE.sub(r"`\1`", text).replace("``", "`").split())


def summary(obj: object) -> str:
    """The first paragraph of ``obj``'s docstring, on one line."""
    doc = inspect.getdoc(obj) or ""
    return plain(doc.split("\n\n")[0])


_ENTRY = re.compile(r"^(\w+)(?: \([^)]*\))?: (.*)$")


def attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` (or ``Args:``) entries of a Google-style class docstring."""
    doc = inspect.getdoc(cls) or ""
    found: dict[str, str] = {}
    for section in ("Attributes:", "Args:"):
        if section not in doc:
            continue
        current: str | None = None
        for line in doc.split(section, 1)[1].splitlines()[1:]:
            text = line.strip()
            if text and not line.startswith(" "):
                break  # the next section
            entry = line.startswith("    ") and line[4:5] not in ("", " ")
            match = _ENTRY.match(text) if entry else None
            if match:
                current = match.group(1)
                found.setdefault(current, match.group(2))
            elif current is not None and text:
                found[current] += " " + text
    return {k: plain(v) for k, v in found.items()}


# ---------------------------------------------------------------------- leaves


def _problem(what: str, value: object) -> JsonPathError:
    return JsonPathError(f"expected {what}, got {_show(value)}")


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return f"{type(value).__name__} {shorten(value)}"


def fen_text(fen: int) -> str:
    """Integer fen as yuan with two decimals: ``-5`` is ``"-0.05"``."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def _money_text(value: object) -> str:
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal yuan, got {type(value).__name__} {value!r}")
    return fen_text(yuan_to_fen(value, where="JSON money"))


def _money_string(value: Any) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT or not _MONEY.match(value):
        raise _problem("money as a decimal string with two decimals such as '1234.50'", value)
    return value


def _load_money(value: Any) -> Decimal:
    return Decimal(_money_string(value))


def _dump_fen(value: Any) -> str:
    if isinstance(value, bool):
        raise TypeError(f"fen must be a whole number, got {value!r}")
    return fen_text(int(value))


def _load_fen(value: Any) -> int:
    return yuan_to_fen(_money_string(value))


def _dump_decimal(value: Any) -> str:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"expected a finite Decimal, got {value!r}")
    return format(value, "f")


def _load_decimal(value: Any) -> Decimal:
    if not isinstance(value, str) or len(value) > _MAX_TEXT or not _DECIMAL.match(value):
        raise _problem("an exact decimal string such as '0.95'", value)
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise _problem("an exact decimal string", value) from None


def _load_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _problem("a string", value)
    return value


def _load_int(value: Any) -> int:
    if isinstance(value, bool):
        raise _problem("an integer", value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _problem("an integer", value)


def _dump_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError(f"expected an integer, got {value!r}")
    return int(value)


def _dump_float(value: Any) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"a ratio must be finite to be written as JSON, got {number!r}")
    return number


def _load_float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _problem("a number", value)
    number = float(value)
    if not math.isfinite(number):
        raise _problem("a finite number", value)
    return number


def _load_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _problem("true or false", value)
    return value


def _load_period(value: Any) -> Period:
    if not isinstance(value, str) or not _PERIOD.match(value):
        raise _problem("a month as 'YYYY-MM'", value)
    try:
        return Period.parse(value)
    except KeyAccountError as exc:
        raise JsonPathError(str(exc)) from None


def _load_date(value: Any) -> dt.date:
    if not isinstance(value, str) or not _DATE.match(value):
        raise _problem("a day as 'YYYY-MM-DD'", value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _problem("a calendar day as 'YYYY-MM-DD'", value) from None


def _dump_date(value: Any) -> str:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise TypeError(f"expected a datetime.date, got {value!r}")
    return value.isoformat()


def _load_span(value: Any) -> PeriodSpan:
    if not isinstance(value, str) or not _SPAN.match(value):
        raise _problem("a month, quarter or year such as '2022-03', '2022Q1' or '2022'", value)
    try:
        return PeriodSpan.parse(value)
    except KeyAccountError as exc:
        raise JsonPathError(str(exc)) from None


def _string(**extra: Any) -> Callable[[Defs], Schema]:
    return lambda _: {"type": "string", **extra}


_LEAVES: dict[Any, Codec] = {
    str: Codec(str, _load_str, _string()),
    bool: Codec(bool, _load_bool, lambda _: {"type": "boolean"}),
    int: Codec(_dump_int, _load_int, lambda _: {"type": "integer"}),
    float: Codec(_dump_float, _load_float, lambda _: {"type": "number"}),
    Money: Codec(_money_text, _load_money, _string(pattern=MONEY_PATTERN)),
    MoneyFen: Codec(_dump_fen, _load_fen, _string(pattern=MONEY_PATTERN)),
    Decimal: Codec(_dump_decimal, _load_decimal, _string(pattern=DECIMAL_PATTERN)),
    Period: Codec(str, _load_period, _string(pattern=PERIOD_PATTERN)),
    dt.date: Codec(_dump_date, _load_date, _string(format="date", pattern=DATE_PATTERN)),
    PeriodSpan: Codec(str, _load_span, _string(pattern=SPAN_PATTERN)),
}


# ----------------------------------------------------------------- explanation

_KINDS: tuple[tuple[str, type, Codec], ...] = (
    ("money", Decimal, _LEAVES[Money]),
    ("count", int, _LEAVES[int]),
    ("ratio", float, _LEAVES[float]),
    ("text", str, _LEAVES[str]),
)


def _explanation_kind(value: object) -> tuple[str, Codec | None]:
    if value is None:
        return "absent", None
    for kind, cls, codec in _KINDS:
        if isinstance(value, cls) and not isinstance(value, bool):
            return kind, codec
    raise TypeError(f"an explanation value must be Decimal, int, float, text or None: {value!r}")


def _dump_explanation(value: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name, cited in value:
        kind, codec = _explanation_kind(cited)
        out.append(
            {"name": name, "kind": kind, "value": None if codec is None else codec.dump(cited)}
        )
    return out


def _load_explanation(value: Any) -> Explanation:
    if not isinstance(value, list):
        raise _problem("an array of cited values", value)
    codecs = {kind: codec for kind, _, codec in _KINDS}
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(value):
        try:
            if not isinstance(item, dict) or set(item) != {"name", "kind", "value"}:
                raise _problem("an object with exactly 'name', 'kind' and 'value'", item)
            name = _load_str(item["name"])
            kind = item["kind"]
            if kind == "absent":
                if item["value"] is not None:
                    raise _problem("null for an absent value", item["value"]).at("value")
                out.append((name, None))
                continue
            if kind not in codecs:
                raise _problem("'kind' money, count, ratio, text or absent", kind).at("kind")
            try:
                out.append((name, codecs[kind].load(item["value"])))
            except JsonPathError as exc:
                raise exc.at("value") from None
        except JsonPathError as exc:
            raise exc.at(i) from None
    return tuple(out)


def _explanation_schema(defs: Defs) -> Schema:
    def item(kind: str, value: Schema) -> Schema:
        return {
            "type": "object",
            "properties": {"name": {"type": "string"}, "kind": {"const": kind}, "value": value},
            "required": ["name", "kind", "value"],
            "additionalProperties": False,
        }

    def build() -> Schema:
        return {
            "description": (
                "The values that made the rule's condition true, in order: money in yuan "
                "(kind 'money'), counts ('count'), ratios ('ratio'), text ('text') or "
                "an absent value ('absent', value null)."
            ),
            "type": "array",
            "items": {
                "oneOf": [
                    *(item(kind, codec.schema(defs)) for kind, _, codec in _KINDS),
                    item("absent", {"type": "null"}),
                ]
            },
        }

    return defs.ref("Explanation", build)


_EXPLANATION = Codec(_dump_explanation, _load_explanation, _explanation_schema)


# -------------------------------------------------------------------- composite


def _nullable(inner: Codec) -> Codec:
    dump, load = inner.dump, inner.load

    def dump_nullable(value: Any) -> Any:
        return None if value is None else dump(value)

    def load_nullable(value: Any) -> Any:
        return None if value is None else load(value)

    def schema(defs: Defs) -> Schema:
        fragment = inner.schema(defs)
        choices = fragment["anyOf"] if list(fragment) == ["anyOf"] else [fragment]
        return {"anyOf": [*choices, {"type": "null"}]}

    return Codec(dump_nullable, load_nullable, schema)


def _array(inner: Codec, make: Callable[[list[Any]], Any], *, distinct: bool = False) -> Codec:
    dump, load = inner.dump, inner.load

    def load_array(value: Any) -> Any:
        if not isinstance(value, list):
            raise _problem("an array", value)
        out: list[Any] = []
        for i, item in enumerate(value):
            try:
                out.append(load(item))
            except JsonPathError as exc:
                raise exc.at(i) from None
        return make(out)

    def schema(defs: Defs) -> Schema:
        found: Schema = {"type": "array", "items": inner.schema(defs)}
        if distinct:
            found["uniqueItems"] = True
        return found

    if distinct:

        def dump_set(value: Any) -> list[Any]:
            return sorted(dump(v) for v in value)

        def load_set(value: Any) -> Any:
            items = load_array(value)
            if len(items) != len(value):
                raise JsonPathError("the array holds an item twice")
            return items

        return Codec(dump_set, load_set, schema)
    return Codec(lambda value: [dump(v) for v in value], load_array, schema)


def _object(inner: Codec) -> Codec:
    dump, load = inner.dump, inner.load

    def load_object(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _problem("an object", value)
        out: dict[str, Any] = {}
        for key, item in value.items():
            try:
                out[key] = load(item)
            except JsonPathError as exc:
                raise exc.at(key) from None
        return out

    return Codec(
        lambda value: {str(k): dump(v) for k, v in value.items()},
        load_object,
        lambda defs: {"type": "object", "additionalProperties": inner.schema(defs)},
    )


def _enum_schema(cls: type[enum.Enum], defs: Defs) -> Schema:
    return defs.ref(
        cls.__name__, lambda: {"description": summary(cls), "enum": [m.name for m in cls]}
    )


def _enums(classes: tuple[type[enum.Enum], ...]) -> Codec:
    """Members of one or more enums (their names are distinct), by name."""
    classes = tuple(sorted(classes, key=lambda c: c.__name__))  # unions are unordered
    names: dict[str, enum.Enum] = {}
    for cls in classes:
        for member in cls:
            if member.name in names:
                raise TypeError(f"{member.name} names a member of two enums: {classes}")
            names[member.name] = member
    kinds = " or ".join(c.__name__ for c in classes)

    def load(value: Any) -> enum.Enum:
        member = names.get(value) if isinstance(value, str) else None
        if member is None:
            raise _problem(f"a {kinds} name ({', '.join(names)})", value)
        return member

    def schema(defs: Defs) -> Schema:
        refs = [_enum_schema(c, defs) for c in classes]
        return refs[0] if len(refs) == 1 else {"anyOf": refs}

    return Codec(lambda member: member.name, load, schema)


def _literal(values: tuple[Any, ...]) -> Codec:
    def load(value: Any) -> Any:
        if isinstance(value, bool) or value not in values:
            raise _problem(" or ".join(repr(v) for v in values), value)
        return value

    return Codec(lambda value: value, load, lambda _: {"enum": list(values)})


def _moves(codecs: Codecs) -> Codec:
    label = codecs.codec(Tier | Segment | None)
    count = _LEAVES[int]

    def dump(value: Any) -> list[dict[str, Any]]:
        return [
            {"before": label.dump(b), "after": label.dump(a), "count": n}
            for (b, a), n in value.items()
        ]

    def load(value: Any) -> dict[tuple[Any, Any], int]:
        if not isinstance(value, list):
            raise _problem("an array of moves", value)
        out: dict[tuple[Any, Any], int] = {}
        for i, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"before", "after", "count"}:
                raise _problem("an object with 'before', 'after' and 'count'", item).at(i)
            try:
                key = (label.load(item["before"]), label.load(item["after"]))
                out[key] = count.load(item["count"])
            except JsonPathError as exc:
                raise exc.at(i) from None
        return out

    def schema(defs: Defs) -> Schema:
        return {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "before": label.schema(defs),
                    "after": label.schema(defs),
                    "count": {"type": "integer"},
                },
                "required": ["before", "after", "count"],
                "additionalProperties": False,
            },
        }

    return Codec(dump, load, schema)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (typing.Union, types.UnionType)


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


class Codecs:
    """The codec of every type, documents included, built once per type.

    Args:
        layouts: The published documents.
    """

    def __init__(self, layouts: Mapping[type, Layout]) -> None:
        self.layouts = dict(layouts)
        self._cache: dict[Any, Codec] = {}

    def codec(self, tp: Any) -> Codec:
        """The codec of ``tp``.

        Raises:
            TypeError: a type with no JSON rule.
        """
        try:
            return self._cache[tp]
        except KeyError:
            pass
        except TypeError:  # an unhashable type expression
            return self._make(tp)
        # a placeholder that resolves late lets a document refer to itself
        self._cache[tp] = Codec(
            lambda v: self._cache[tp].dump(v),
            lambda v: self._cache[tp].load(v),
            lambda defs: self._cache[tp].schema(defs),
        )
        made = self._make(tp)
        self._cache[tp] = made
        return made

    def _make(self, tp: Any) -> Codec:
        if tp in _LEAVES:
            return _LEAVES[tp]
        if tp == Explanation:
            return _EXPLANATION
        if tp == Moves:
            return _moves(self)
        if tp in self.layouts:
            return self._document(self.layouts[tp])
        if _is_enum(tp):
            return _enums((tp,))
        origin, args = get_origin(tp), get_args(tp)
        if origin is Literal:
            return _literal(args)
        if _is_union(tp):
            return self._union(args)
        if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
            return _array(self.codec(args[0]), tuple)
        if origin in (frozenset, set):
            return _array(self.codec(args[0]), frozenset, distinct=True)
        if origin in (list,):
            return _array(self.codec(args[0]), list)
        if origin in (dict, Mapping) and args and args[0] is str:
            return _object(self.codec(args[1]))
        raise TypeError(f"no JSON rule for the type {tp!r}")

    def _union(self, args: tuple[Any, ...]) -> Codec:
        present = tuple(a for a in args if a is not type(None))
        if len(present) < len(args):
            inner = (
                present[0] if len(present) == 1 else functools.reduce(lambda a, b: a | b, present)
            )
            return _nullable(self.codec(inner))
        if all(_is_enum(a) for a in present):
            return _enums(present)
        if all(a in self.layouts for a in present):
            return self._tagged(tuple(self.layouts[a] for a in present))
        raise TypeError(f"no JSON rule for the union of {present!r}")

    def _tagged(self, layouts: tuple[Layout, ...]) -> Codec:
        """Documents told apart by a constant tag (``"kind": "tier"``)."""
        tag = next(s.name for s in layouts[0].slots if s.argument is None)
        by_tag: dict[Any, Codec] = {}
        for layout in layouts:
            slot = next(s for s in layout.slots if s.name == tag and s.argument is None)
            (value,) = get_args(slot.type)
            by_tag[value] = self.codec(layout.cls)
        codecs = {layout.cls: self.codec(layout.cls) for layout in layouts}

        def dump(value: Any) -> Any:
            return codecs[type(value)].dump(value)

        def load(value: Any) -> Any:
            if not isinstance(value, dict) or value.get(tag) not in by_tag:
                raise _problem(
                    f"an object whose {tag!r} is {' or '.join(map(repr, by_tag))}", value
                )
            return by_tag[value[tag]].load(value)

        return Codec(dump, load, lambda defs: {"oneOf": [c.schema(defs) for c in codecs.values()]})

    def _document(self, layout: Layout) -> Codec:
        slots = [(s, self.codec(s.type)) for s in layout.slots]
        dumpers = [(s.name, s.get, c.dump) for s, c in slots]
        loaders = [(s, c if s.load_type is None else self.codec(s.load_type)) for s, c in slots]
        names = {s.name for s, _ in slots}
        build, title = layout.build, layout.cls.__name__

        def dump(value: Any) -> dict[str, Any]:
            return {name: write(get(value)) for name, get, write in dumpers}

        def load(value: Any) -> Any:
            if not isinstance(value, dict):
                raise _problem(f"a {title} object", value)
            if set(value) != names:
                missing = [s.name for s, _ in slots if s.name not in value]
                extra = sorted(k for k in value if k not in names)
                parts = ([f"missing {', '.join(missing)}"] if missing else []) + (
                    [f"unknown {', '.join(map(shorten, extra))}"] if extra else []
                )
                raise JsonPathError(f"{title}: {'; '.join(parts)}")
            arguments: dict[str, Any] = {}
            for slot, codec in loaders:
                try:
                    read = codec.load(value[slot.name])
                except JsonPathError as exc:
                    raise exc.at(slot.name) from None
                if slot.argument is not None:
                    arguments[slot.argument] = read
            try:
                return build(arguments)
            except (KeyAccountError, ValueError, TypeError) as exc:
                raise JsonPathError(f"{title}: {exc}") from None

        def schema(defs: Defs) -> Schema:
            def body() -> Schema:
                properties: dict[str, Schema] = {}
                for slot, codec in slots:
                    fragment = codec.schema(defs)
                    if slot.description:
                        fragment = {"description": slot.description, **fragment}
                    properties[slot.name] = fragment
                return {
                    "title": title,
                    "description": layout.description,
                    "type": "object",
                    "properties": properties,
                    "required": [s.name for s, _ in slots],
                    "additionalProperties": False,
                }

            return defs.ref(title, body)

        return Codec(dump, load, schema)
