"""Display words the commands share: metric headings, product names, the two languages.

In English a command shows identifiers as they are written (``STRATEGIC``,
``t12m_revenue``, ``court_express``); in Chinese it shows their labels
(战略客户, 近12个月收入, 法院专递), with full-width punctuation in Chinese text.
Trailing-twelve-month revenue is always 近12个月收入.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from keyaccount.domain import default_catalog
from keyaccount.domain import metric_label as glossary_label

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from keyaccount.domain import ProductCatalog

__all__ = [
    "METRIC_LABELS",
    "metric_label",
    "product_label",
    "product_list",
    "sentence_list",
]

METRIC_LABELS: Mapping[str, str] = {
    "t12m_revenue": "Revenue 12m",
    "prev12m_revenue": "Previous 12m",
    "yoy_growth": "YoY",
    "t12m_volume": "Volume 12m",
    "active_months": "Active months",
    "months_since_last": "Months since last",
    "product_count": "Products",
    "tenure_months": "Tenure (months)",
    "months_in_tier": "Months in tier",
}
"""English headings of the built-in metrics (``docs/metrics.md``); Chinese ones come from
the glossary, :func:`keyaccount.domain.metric_label`."""

_WRAPPED_ZH: Mapping[str, str] = {
    "t12m_revenue": "近12个月\n收入",
    "prev12m_revenue": "上年同期\n12个月收入",
    "yoy_growth": "同比\n增长率",
    "t12m_volume": "近12个月\n件量",
    "active_months": "近12个月\n有收入\n月数",
    "months_since_last": "距上次\n有收入\n月数",
    "product_count": "近12个月\n在用\n产品数",
    "tenure_months": "合作\n月数",
    "months_in_tier": "当前\n层级\n月数",
}
"""Where the glossary's Chinese names break in a narrow column (the same words)."""


def metric_label(name: str, lang: str, *, wrap: bool = False) -> str:
    """The heading of metric ``name`` in ``lang`` (a user metric keeps its name).

    Args:
        name: The metric's name.
        lang: ``"en"`` or ``"zh"`` (the glossary's Chinese name).
        wrap: Break the heading over lines, for narrow number columns.

    Example:
        >>> metric_label("t12m_revenue", "zh"), metric_label("active_months", "en")
        ('近12个月收入', 'Active months')
    """
    if lang != "zh":
        label = METRIC_LABELS.get(name, name)
        return label.replace(" ", "\n") if wrap else label
    label = glossary_label(name, "zh")
    wrapped = _WRAPPED_ZH.get(name, label)
    return wrapped if wrap and wrapped.replace("\n", "") == label else label


def product_label(product_id: str, lang: str, catalog: ProductCatalog | None = None) -> str:
    """A product as the display language shows it: its id in English, its Chinese name in Chinese.

    A product the catalogue does not hold keeps its id.

    Example:
        >>> product_label("court_express", "zh"), product_label("court_express", "en")
        ('法院专递', 'court_express')
    """
    if lang != "zh":
        return product_id
    products = default_catalog() if catalog is None else catalog
    product = products.get(product_id)
    return product_id if product is None else product.name_zh


def sentence_list(items: Iterable[str], lang: str) -> str:
    """Items joined as a list: ``a, b`` in English, ``a、b`` in Chinese."""
    return ("、" if lang == "zh" else ", ").join(items)


def product_list(
    product_ids: Iterable[str], lang: str, catalog: ProductCatalog | None = None
) -> str:
    """Products as a list in the display language (:func:`product_label`, :func:`sentence_list`)."""
    return sentence_list((product_label(p, lang, catalog) for p in product_ids), lang)
