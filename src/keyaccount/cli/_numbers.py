"""How every ``keyaccount`` command writes numbers, for people and for programs.

For people (``--format table``):

- **money** is formatted from integer fen with exact decimal arithmetic
  (:func:`keyaccount.domain.format_yuan`), never through a float: thousands
  separators and two decimals, in yuan (``1,234,567.89``), or in 万元
  (10,000 yuan) or 亿元 (100 million yuan) where a table shows large sums; the
  unit is stated in the column heading (:func:`money_heading`:
  ``Revenue (10k yuan)``, ``收入（万元）``);
- **counts** have thousands separators (``12,345``);
- **percentages** have one decimal (``12.3%``; growth carries its sign,
  ``+12.3%``), unless a command needs more to tell two rates apart (KPI rates);
- an absent value is a dash, :data:`DASH`.

For programs (``--format json`` and ``csv``, :mod:`keyaccount.cli._output`),
:func:`json_money` writes money as a decimal string in yuan with two decimals
and no separators (``"1234567.89"``), as ``docs/contracts.md`` ("JSON") fixes.
"""

from __future__ import annotations

import math
from decimal import Decimal

from keyaccount.domain import fen_to_yuan, format_yuan, yuan_to_fen

__all__ = [
    "DASH",
    "UNIT_LABELS",
    "count",
    "fen_of",
    "json_money",
    "money",
    "money_heading",
    "percent",
]

DASH = "–"
"""Shown for an absent value (a growth rate without a previous year, no segment)."""

UNIT_LABELS = {
    "en": {"yuan": "yuan", "wan": "10k yuan", "yi": "100m yuan"},
    "zh": {"yuan": "元", "wan": "万元", "yi": "亿元"},
}
"""The money units by language: ``yuan``, ``wan`` (万元, 10,000 yuan), ``yi`` (亿元)."""

_CENT = Decimal("0.01")


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


def money_heading(label: str, unit: str, lang: str, *, wrap: bool = False) -> str:
    """A column heading that states the money unit: ``Revenue (yuan)``, ``收入（万元）``.

    Args:
        label: The heading without the unit.
        unit: ``"yuan"``, ``"wan"`` or ``"yi"``.
        lang: ``"en"`` or ``"zh"``.
        wrap: Put the unit on a line of its own (narrow number columns).

    Example:
        >>> money_heading("Revenue", "wan", "en"), money_heading("收入", "wan", "zh")
        ('Revenue (10k yuan)', '收入（万元）')
    """
    name = UNIT_LABELS[lang][unit]
    unit_text = f"（{name}）" if lang == "zh" else f"({name})"
    if wrap:
        return f"{label}\n{unit_text}"
    return f"{label}{unit_text}" if lang == "zh" else f"{label} {unit_text}"


def json_money(amount: int | Decimal) -> str:
    """Money for programs: a decimal string in yuan with two decimals, no separators.

    Args:
        amount: Integer fen (``int``) or ``Decimal`` yuan.

    Example:
        >>> json_money(123_450), json_money(Decimal("-0.5"))
        ('1234.50', '-0.50')
    """
    yuan = fen_to_yuan(fen_of(amount)).quantize(_CENT)
    return f"{yuan:f}"
