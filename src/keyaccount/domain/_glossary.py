"""The Chinese glossary of metrics, and values and explanations written for people.

The one table of Chinese metric names is :data:`METRIC_LABELS_ZH`; rule explanations,
the command line and every other producer of Chinese text take metric names from it
(through :func:`metric_label`). Trailing-twelve-month figures are always 近12个月.

How a cited value reads (:func:`format_value`), exactly in both languages:

========  ==========================  ===================================
value     ``"en"``                    ``"zh"``
========  ==========================  ===================================
money     ``1200000.00`` (yuan)       ``1,200,000.00元``
count     ``10``                      ``10`` (``1,234,567`` when large)
ratio     ``0.25`` (shortest repr)    ``25%`` (the same digits, x 100)
absent    ``None``                    ``无``
========  ==========================  ===================================
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from keyaccount.domain._language import check_lang
from keyaccount.domain._product import default_catalog

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from keyaccount.domain._change import ExplanationValue
    from keyaccount.domain._product import ProductCatalog

__all__ = [
    "METRIC_LABELS_ZH",
    "format_explanation",
    "format_value",
    "metric_label",
]

METRIC_LABELS_ZH: Final[Mapping[str, str]] = MappingProxyType(
    {
        "t12m_revenue": "近12个月收入",
        "prev12m_revenue": "上年同期12个月收入",
        "yoy_growth": "同比增长率",
        "t12m_volume": "近12个月件量",
        "active_months": "近12个月有收入月数",
        "months_since_last": "距上次有收入月数",
        "product_count": "近12个月在用产品数",
        "tenure_months": "合作月数",
        "months_in_tier": "当前层级月数",
    }
)
"""The Chinese name of every built-in metric (``docs/metrics.md`` defines them).

``share('p')`` reads as the product's Chinese name followed by 收入占比 (its share of
近12个月收入); a metric a user registered keeps the name the user gave it.
"""

_SHARE_SUFFIX_ZH: Final = "收入占比"
"""What follows a product's Chinese name in the label of ``share('p')``."""

_SHARE = re.compile(r"^share\('([a-z][a-z0-9_]*)'\)$")


def metric_label(name: str, lang: str = "en", *, catalog: ProductCatalog | None = None) -> str:
    """The name of a metric (as an explanation cites it) for people reading ``lang``.

    Args:
        name: A metric name (``t12m_revenue``) or a share reference
            (``share('court_express')``), as in :attr:`Transition.explanation`.
        lang: ``"en"`` gives ``name`` unchanged; ``"zh"`` the glossary's name.
        catalog: Where the Chinese product names of shares come from (default: the
            shipped catalogue).

    Returns:
        The label; a metric the glossary does not know (a user metric) and a share of
        a product the catalogue does not hold keep their names.

    Raises:
        ValidationError: an unknown ``lang``.

    Example:
        >>> metric_label("t12m_revenue", "zh"), metric_label("share('custom_route')", "zh")
        ('近12个月收入', '定制邮路收入占比')
    """
    if check_lang(lang, where="metric_label") == "en":
        return name
    label = METRIC_LABELS_ZH.get(name)
    if label is not None:
        return label
    share = _SHARE.match(name)
    if share is not None:
        products = default_catalog() if catalog is None else catalog
        product = share.group(1)
        if product in products:
            return products[product].name_zh + _SHARE_SUFFIX_ZH
    return name


def _ratio_percent(value: float) -> str:
    """``value`` x 100 from its shortest decimal form, so no digit is lost or invented."""
    percent = Decimal(repr(value)).scaleb(2)
    text = format(percent, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def format_value(value: ExplanationValue, lang: str = "en") -> str:
    """A cited value (money ``Decimal`` yuan, count ``int``, ratio ``float``) as text.

    Both languages are exact: money keeps its fen, a ratio its shortest round-trip
    digits (``repr``); ``"zh"`` adds thousands separators and 元 to money, writes a
    ratio as a percentage and an absent value as 无.

    Raises:
        ValidationError: an unknown ``lang``.

    Example:
        >>> format_value(Decimal("1234567.50"), "zh"), format_value(0.125, "zh")
        ('1,234,567.50元', '12.5%')
        >>> format_value(Decimal("1234567.50")), format_value(0.125)
        ('1234567.50', '0.125')
    """
    zh = check_lang(lang, where="format_value") == "zh"
    if value is None:
        return "无" if zh else "None"
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, Decimal):
        return f"{value:,}元" if zh else str(value)
    if isinstance(value, int):
        return f"{value:,}" if zh else str(value)
    if not math.isfinite(value):
        return str(value)
    return _ratio_percent(value) if zh else repr(value)


def format_explanation(
    explanation: Iterable[tuple[str, ExplanationValue]],
    lang: str = "en",
    *,
    catalog: ProductCatalog | None = None,
) -> str:
    """The cited values of an explanation as one line of text.

    ``"en"``: ``t12m_revenue=1200000.00, active_months=10``; ``"zh"``:
    ``近12个月收入：1,200,000.00元，近12个月有收入月数：10`` (metric names from
    :data:`METRIC_LABELS_ZH`, full-width punctuation). Values are exact
    (:func:`format_value`).

    Args:
        explanation: ``(name, value)`` pairs, as a transition or change holds them.
        lang: ``"en"`` or ``"zh"``.
        catalog: Where the Chinese names of products in shares come from.

    Raises:
        ValidationError: an unknown ``lang``.

    Example:
        >>> format_explanation([("t12m_revenue", Decimal("1200000.00"))], "zh")
        '近12个月收入：1,200,000.00元'
    """
    if check_lang(lang, where="format_explanation") == "en":
        return ", ".join(f"{k}={format_value(v)}" for k, v in explanation)
    return "，".join(
        f"{metric_label(k, 'zh', catalog=catalog)}：{format_value(v, 'zh')}" for k, v in explanation
    )
