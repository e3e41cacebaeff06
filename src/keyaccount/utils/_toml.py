"""Writing TOML values: the inverse of :mod:`tomllib` for the files keyaccount writes.

Policies and payout schemes write themselves back as TOML (``to_toml``) so that a file
read, changed and written keeps its meaning exactly. The values they hold are text,
whole numbers, booleans, exact decimals and lists of those; :func:`toml_value` writes
each so that ``tomllib.loads(..., parse_float=Decimal)`` reads back the same value.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

__all__ = ["toml_string", "toml_value"]

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
