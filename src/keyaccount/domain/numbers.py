"""How numbers are written for people: money, counts, percentages, and the dash for absent.

One implementation for every place that shows figures to a person (the command line's
tables, the report page):

- **money** is formatted from integer fen with exact decimal arithmetic
  (:func:`keyaccount.domain.format_yuan`), never through a float: thousands separators
  and two decimals, in yuan (``1,234,567.89``), 万元 (``"wan"``) or 亿元 (``"yi"``);
- **counts** have thousands separators (``12,345``);
- **percentages** have one decimal (``12.3%``; growth carries its sign, ``+12.3%``);
- an absent value is a dash, :data:`DASH`.
"""

from __future__ import annotations

import math
from decimal import Decimal

from keyaccount.domain._money import format_yuan, yuan_to_fen

__all__ = ["DASH", "count", "fen_of", "money", "percent"]

DASH = "–"
"""Shown for an absent value (a growth rate without a previous year, no segment)."""


def fen_of(amount: int | Decimal) -> int:
    """Integer fen of an amount given as integer fen (``int``) or ``Decimal`` yuan."""
    return yuan_to_fen(amount) if isinstance(amount, Decimal) else int(amount)


def money(amount: int | Decimal | None, unit: str = "yuan", *, signed: bool = False) -> str:
    """Money for people: thousands separators, two decimals, in ``unit``; absent is a dash.

    Args:
        amount: Integer fen (``int``) or ``Decimal`` yuan; ``None`` when absent.
        unit: ``"yuan"``, ``"wan"`` (万元) or ``"yi"`` (亿元).
        signed: Put a ``+`` before a positive amount (a variance).

    Example:
        >>> money(123_456_789), money(123_456_789, "wan"), money(Decimal("-5"), signed=True)
        ('1,234,567.89', '123.46', '-5.00')
    """
    if amount is None:
        return DASH
    fen = fen_of(amount)
    text = format_yuan(fen, unit=unit)
    return f"+{text}" if signed and fen > 0 else text


def count(value: int | None) -> str:
    """A count with thousands separators; absent is a dash.

    Example:
        >>> count(1234567)
        '1,234,567'
    """
    return DASH if value is None else f"{int(value):,}"


def percent(value: float | None, *, signed: bool = False, decimals: int = 1) -> str:
    """A ratio as a percentage (``0.1234`` is ``12.3%``); absent or not finite is a dash.

    Args:
        value: The ratio.
        signed: Put a sign before it (growth: ``+12.3%``, ``-4.0%``).
        decimals: Decimals of the percentage.

    Example:
        >>> percent(0.1234), percent(0.1234, signed=True), percent(None)
        ('12.3%', '+12.3%', '–')
    """
    if value is None or not math.isfinite(value):
        return DASH
    sign = "+" if signed else ""
    return f"{value * 100:{sign}.{decimals}f}%"
