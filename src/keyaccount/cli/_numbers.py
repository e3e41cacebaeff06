"""How every ``keyaccount`` command writes numbers, for people and for programs.

The formats for people are :mod:`keyaccount.domain.numbers` (shared with the report
page); this module adds the money headings and the JSON form.

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

from decimal import Decimal

from keyaccount.domain import fen_to_yuan
from keyaccount.domain.numbers import DASH, count, fen_of, money, percent

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

UNIT_LABELS = {
    "en": {"yuan": "yuan", "wan": "10k yuan", "yi": "100m yuan"},
    "zh": {"yuan": "元", "wan": "万元", "yi": "亿元"},
}
"""The money units by language: ``yuan``, ``wan`` (万元, 10,000 yuan), ``yi`` (亿元)."""

_CENT = Decimal("0.01")


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
