"""Writing TOML values: the inverse of :mod:`tomllib` for the files keyaccount writes.

Policies and payout schemes write themselves back as TOML (``to_toml``) so that a file
read, changed and written keeps its meaning exactly. The values they hold are text,
whole numbers, booleans, exact decimals and lists of those; :func:`toml_value` writes
each so that ``tomllib.loads(..., parse_float=Decimal)`` reads back the same value.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

__all__ = ["toml_key_lines", "toml_string", "toml_value"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t"}


def toml_string(text: str) -> str:
    r"""``text`` as a TOML basic string, control characters escaped.

    Example:
        >>> print(toml_string('say "hi"\n'))
        "say \"hi\"\n"
    """
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _decimal_text(number: Decimal) -> str:
    """``number`` without an exponent: a whole number as an integer (``1_000_000``)."""
    if number == number.to_integral_value():
        return f"{int(number):_}"
    return format(number, "f")


def toml_value(value: object) -> str:
    """One TOML value: text, bool, int, ``Decimal`` (written exactly) or a list of those.

    Raises:
        TypeError: a value of another type (a float would not read back exactly).

    Example:
        >>> toml_value([Decimal("0.15"), 1_000_000, "项目经理", True])
        '[0.15, 1000000, "项目经理", true]'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} as TOML")


_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_-]+)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"""^\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*=(.*)$""")


def toml_key_lines(text: str) -> dict[tuple[str, int, str], int]:
    """The line of each ``(table, index, key)`` of a TOML text (best effort, for messages).

    :mod:`tomllib` reports no positions; error messages about a value of a file read
    with it name the line this finds.

    ``index`` counts ``[[bracket]]`` tables from 1 and is 0 for plain tables; the key
    ``""`` stands for the table's header line. Dotted keys and inline tables get no line.
    """
    found: dict[tuple[str, int, str], int] = {}
    table, index = "", 0
    counts: dict[str, int] = {}
    open_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if open_string is not None:
            if open_string in line:
                open_string = None
            continue
        header = _HEADER.match(line)
        if header is not None:
            table = header[2]
            if header[1] == "[[":
                counts[table] = counts.get(table, 0) + 1
                index = counts[table]
            else:
                index = 0
            found.setdefault((table, index, ""), number)
            continue
        key = _KEY.match(line)
        if key is not None:
            name = key[1] if key[1] is not None else key[2] if key[2] is not None else key[3]
            found.setdefault((table, index, name), number)
            rest = key[4]
            for quote in ('"""', "'''"):
                if rest.count(quote) % 2 == 1:
                    open_string = quote
    return found
