"""How results and models show themselves: a short ``repr`` and an HTML head for notebooks.

Every public result and model of keyaccount displays through this module, so that all
of them look alike and none prints more than :data:`MAX_REPR_LINES` lines or
:data:`MAX_REPR_CHARS` characters however large the portfolio:

- ``repr(x)`` is one line from :func:`short_repr`: what it is, its period and its size,
  ``<Evaluation policy='default' as_of=2022-11: 3,000 customers, 39 tier and 0 segment
  transitions, 3 held>``. It never walks the rows.
- ``x._repr_html_()`` (what Jupyter shows) is :func:`html_table`: the summary line as the
  caption, the first :data:`HEAD_ROWS` rows of the table, html-escaped, and the row count
  ("showing 10 of 1,000,000 rows"). Inline styles only: no external CSS or JavaScript,
  no pandas. The whole table is one call away: ``x.to_pandas()`` where the result has it.

The number formats are the command line's: counts and money with thousands separators,
money exact from integer fen (``money(123_456_789)`` is ``'1,234,567.89'``), an absent
value as a dash.

Example:
    >>> short_repr("Evaluation", "3,000 customers", "3 held", policy="default", as_of="2022-11")
    "<Evaluation policy='default' as_of='2022-11': 3,000 customers, 3 held>"
    >>> money(-5), number(1234567), percent(0.1234)
    ('-0.05', '1,234,567', '12.3%')
"""

from __future__ import annotations

import datetime as dt
import enum
import html
import math
import numbers
import re
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "DASH",
    "HEAD_ROWS",
    "MAX_CELL_CHARS",
    "MAX_FACT_CHARS",
    "MAX_HTML_BYTES",
    "MAX_HTML_TEXT",
    "MAX_REPR_CHARS",
    "MAX_REPR_LINES",
    "Plain",
    "cell",
    "fact",
    "html_table",
    "money",
    "number",
    "percent",
    "short_repr",
    "span",
    "yuan",
]

MAX_REPR_CHARS = 5000
"""No ``repr`` of a keyaccount object is longer than this many characters."""

MAX_REPR_LINES = 50
"""No ``repr`` of a keyaccount object has more lines than this."""

MAX_HTML_BYTES = 50_000
"""No ``_repr_html_`` is larger than this many bytes (UTF-8)."""

MAX_HTML_TEXT = 5000
"""No ``_repr_html_`` shows more than this many characters of text."""

HEAD_ROWS = 10
"""Rows an HTML table shows by default (its head)."""

MAX_CELL_CHARS = 60
"""Characters of one table cell shown; a longer text is cut and ends with an ellipsis."""

MAX_FACT_CHARS = 60
"""Characters of one fact of a short repr (a name, an id) shown."""

DASH = "–"
"""An absent value."""

_TABLE_TEXT = 4000  # visible characters of one table's rows; the rest of MAX_HTML_TEXT is framing
_NUMBER_STYLE = ' style="text-align:right"'


def number(value: int | None) -> str:
    """A count with thousands separators; absent is a dash.

    Example:
        >>> number(1234567), number(None)
        ('1,234,567', '–')
    """
    return DASH if value is None else f"{int(value):,}"


def money(fen: int | None) -> str:
    """An amount of integer fen as yuan, exactly, with thousands separators; absent is a dash.

    Example:
        >>> money(123_456_789), money(-5), money(None)
        ('1,234,567.89', '-0.05', '–')
    """
    if fen is None:
        return DASH
    whole, cents = divmod(abs(int(fen)), 100)
    sign = "-" if fen < 0 else ""
    return f"{sign}{whole:,}.{cents:02d}"


def yuan(amount: Decimal | None) -> str:
    """A ``Decimal`` amount of yuan with thousands separators and two decimals (exact).

    Example:
        >>> yuan(Decimal("1234567.5")), yuan(None)
        ('1,234,567.50', '–')
    """
    if amount is None:
        return DASH
    if amount == amount.quantize(Decimal("0.01")):
        return f"{amount.quantize(Decimal('0.01')):,}"
    return f"{amount:,}"  # digits below the fen are shown, never rounded away


def percent(value: float | None, *, decimals: int = 1) -> str:
    """A ratio as a percentage (``0.1234`` is ``12.3%``); absent or not finite is a dash.

    Example:
        >>> percent(0.1234), percent(None), percent(float("nan"))
        ('12.3%', '–', '–')
    """
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value * 100:.{decimals}f}%"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(value: object) -> str:
    """One table cell as text: numbers with separators, enums by name, absent as a dash.

    An ``int`` is a count (``1,234``; pass money through :func:`money` first), a
    ``Decimal`` is yuan (:func:`yuan`), a ``float`` keeps four significant digits, a date
    is ISO 8601, an enum member its name, a text longer than :data:`MAX_CELL_CHARS` is cut.

    Example:
        >>> cell(1234), cell(0.123456), cell(None), cell("耐克")
        ('1,234', '0.1235', '–', '耐克')
    """
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Decimal):
        return yuan(value)
    if isinstance(value, numbers.Integral):
        return number(int(value))
    if isinstance(value, numbers.Real):
        real = float(value)
        if not math.isfinite(real):
            return DASH
        return f"{real:,.0f}" if abs(real) >= 10_000 else f"{real:.4g}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return _cut(str(value), MAX_CELL_CHARS)


class Plain(str):
    """A text :func:`fact` shows as it is, without quotes (a range of months or days)."""

    __slots__ = ()


def span(first: object, last: object) -> Plain:
    """``first..last`` as a fact of a short repr (months, days).

    Example:
        >>> short_repr("Backtest", months=span("2021-12", "2022-11"))
        '<Backtest months=2021-12..2022-11>'
    """
    return Plain(f"{first}..{last}")


def fact(value: object) -> str:
    """One fact of a short repr: text quoted, a count with separators, anything else as text.

    Example:
        >>> fact("default"), fact(3000), fact(None)
        ("'default'", '3,000', 'None')
    """
    if isinstance(value, Plain):
        return _cut(value, MAX_FACT_CHARS)
    if isinstance(value, str):
        return repr(_cut(value, MAX_FACT_CHARS))
    if value is None or isinstance(value, bool):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, numbers.Integral):
        return number(int(value))
    return _cut(cell(value) if isinstance(value, (numbers.Real, dt.date)) else str(value), 60)


def short_repr(kind: str, /, *parts: str, **facts: object) -> str:
    """A one-line ``repr``: ``<kind name=value ...: part, part>``.

    Args:
        kind: What the object is (its class name).
        parts: Its size and contents in words (``"3,000 customers"``), joined by commas.
        facts: What identifies it (a name, a period), each shown as ``name=value``
            (:func:`fact`); a fact whose value is ``None`` is left out.

    Returns:
        At most :data:`MAX_REPR_CHARS` characters on one line.

    Example:
        >>> short_repr("Targets", "477 targets", groups=9)
        '<Targets groups=9: 477 targets>'
    """
    head = " ".join([kind, *(f"{k}={fact(v)}" for k, v in facts.items() if v is not None)])
    text = f"<{head}: {', '.join(parts)}>" if parts else f"<{head}>"
    text = " ".join(text.split("\n"))
    return text if len(text) <= MAX_REPR_CHARS else text[: MAX_REPR_CHARS - 2] + "…>"


_NUMBER_TEXT = re.compile(r"-?[\d,]+(\.\d+)?%?")


def _is_number(value: object) -> bool:
    """Numbers, and texts made of one (money and percentages), are right-aligned."""
    if isinstance(value, str):
        return _NUMBER_TEXT.fullmatch(value) is not None
    return isinstance(value, (numbers.Number, Decimal)) and not isinstance(value, bool)


def html_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    total: int | None = None,
    caption: str = "",
    unit: str = "rows",
    limit: int = HEAD_ROWS,
) -> str:
    """An HTML table of the first rows of a table, with a caption and the row count.

    Only the first ``limit`` rows of ``rows`` are read (pass an iterator over a large
    table: the rest is never made); rows past the text budget are left out too, so the
    result stays below :data:`MAX_HTML_TEXT` characters of text and :data:`MAX_HTML_BYTES`.

    Args:
        columns: The column headings.
        rows: The rows, each a sequence of cells (:func:`cell` formats them; numbers are
            right-aligned); a text is shown as it is, so pass money through :func:`money`.
        total: How many rows the whole table has (``None``: the rows given).
        caption: The summary line shown above the table (usually the ``repr``).
        unit: What a row is, for the count line (``"rows"``, ``"customers"``).
        limit: How many rows to show at most.

    Returns:
        One ``<div>`` holding the table and a line "showing 10 of 1,000,000 rows"
        (or "3 rows" when all are shown); every text html-escaped.

    Example:
        >>> text = html_table(["id", "name"], [("C1", "<b>")], caption="two")
        >>> "&lt;b&gt;" in text, "1 row<" in text
        (True, True)
    """
    esc = html.escape
    head = "".join(f"<th>{esc(_cut(str(c), MAX_CELL_CHARS))}</th>" for c in columns)
    body: list[str] = []
    budget = _TABLE_TEXT - len(caption) - sum(len(str(c)) for c in columns)
    for row in islice(rows, max(limit, 0)):
        texts = [cell(v) for v in row]
        size = sum(len(t) for t in texts)
        if body and size > budget:
            break
        budget -= size
        tds = "".join(
            f"<td{_NUMBER_STYLE if _is_number(v) else ''}>{esc(t)}</td>"
            for v, t in zip(row, texts, strict=False)
        )
        body.append(f"<tr>{tds}</tr>")
    shown = len(body)
    whole = shown if total is None else total
    if whole == 1 and unit.endswith("s"):
        unit = unit[:-1]
    counted = f"{number(whole)} {unit}"
    if shown < whole:
        counted = f"showing {shown} of {counted}"
    title = ""
    if caption:
        title = f'<caption style="text-align:left">{esc(_cut(caption, 1000))}</caption>'
    return (
        '<div class="keyaccount">'
        f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f'<p style="margin:0.2em 0">{esc(counted)}</p></div>'
    )
