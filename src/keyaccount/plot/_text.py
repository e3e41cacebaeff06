"""The words of the plots: group and product labels, exact percentages."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from keyaccount.domain import Lang, ProductCatalog, Segment, Tier

__all__ = ["UNASSIGNED", "group_label", "percent_text", "product_label"]

UNASSIGNED: Final[dict[Lang, str]] = {"en": "UNASSIGNED", "zh": "未分配"}
"""How customers without a segment are labelled (as in the ``to_pandas`` tables)."""


def group_label(group: Segment | Tier | None, lang: Lang) -> str:
    """A segment's or tier's label in ``lang``; customers without a segment: 未分配."""
    return UNASSIGNED[lang] if group is None else group.label(lang)


def product_label(catalog: ProductCatalog, product_id: str, lang: Lang) -> str:
    """A product's name in ``lang`` (its id when the catalogue does not hold it)."""
    return catalog[product_id].name(lang) if product_id in catalog else product_id


def percent_text(part: int, whole: int, places: int = 0) -> str:
    """``part / whole`` as a percentage with ``places`` decimals, exact then rounded half-even."""
    value = round(Fraction(part * 100, whole), places)  # exact; Fraction rounds half-even
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{exact.quantize(Decimal(1).scaleb(-places))}"
