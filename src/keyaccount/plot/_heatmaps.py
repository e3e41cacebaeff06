"""Heatmaps: customers or revenue by segment and tier; product penetration and whitespace."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from keyaccount.crosssell import OpportunityTable, Penetration
from keyaccount.domain import Lang, check_lang, format_yuan, metric_label
from keyaccount.plot._mpl import apply_fonts, axes_for, check_choice
from keyaccount.plot._text import group_label, percent_text, product_label

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from keyaccount.portfolio import SegmentTierSummary

__all__ = ["segment_tier_heatmap", "whitespace_heatmap"]

_FEN_PER_WAN = 1_000_000
"""Fen in one 万元 (ten thousand yuan)."""


def _heatmap(
    ax: Axes,
    colour: npt.NDArray[np.float64],
    texts: Sequence[Sequence[str]],
    rows: Sequence[str],
    columns: Sequence[str],
    colorbar_label: str,
    *,
    cmap: str,
    fontsize: float,
    rotate: bool = False,
) -> Axes:
    """Cells coloured by ``colour`` (NaN: blank), each annotated; returns the colour bar's axes."""
    image = ax.imshow(colour, aspect="auto", cmap=cmap, interpolation="nearest")
    finite = colour[np.isfinite(colour)]
    middle = (float(finite.min()) + float(finite.max())) / 2 if finite.size else 0.0
    for r, row in enumerate(texts):
        for c, text in enumerate(row):
            if not text:
                continue
            dark = bool(np.isfinite(colour[r, c]) and colour[r, c] > middle)
            ax.text(
                c,
                r,
                text,
                ha="center",
                va="center",
                fontsize=fontsize,
                color="white" if dark else "black",
            )
    ax.set_xticks(range(len(columns)), columns, rotation=90 if rotate else 0)
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(length=0)
    return ax.figure.colorbar(image, ax=ax, label=colorbar_label).ax


_SUMMARY_TITLES: dict[tuple[str, Lang], str] = {
    ("customers", "en"): "Customers by segment and tier, {as_of}",
    ("customers", "zh"): "各行业各层级客户数（{as_of}）",
    ("revenue", "en"): "t12m_revenue by segment and tier (10k yuan), {as_of}",
    ("revenue", "zh"): "各行业各层级近12个月收入（万元，{as_of}）",
}


def segment_tier_heatmap(
    summary: SegmentTierSummary,
    values: str = "revenue",
    *,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """A segment x tier heatmap of trailing-12 revenue or customers, every cell annotated.

    Rows are the segments in definition order, customers without a segment last
    (``UNASSIGNED``, 未分配); columns the tiers, lowest first. Revenue cells show
    万元 (ten thousand yuan) with two decimals, formatted from the exact fen
    (:func:`~keyaccount.domain.format_yuan`, rounded half-even); floats serve only
    to scale the colours. The colour bar names the unit.

    Args:
        summary: The summary (``Portfolio.summary(as_of)``).
        values: ``"revenue"`` (trailing-12 revenue) or ``"customers"``.
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: the labels' language.
        title: The title (default: what is shown and the as-of month).

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: ``values`` or ``lang`` is not one of the allowed values.
    """
    language = check_lang(lang, where="segment_tier_heatmap")
    kind = check_choice(values, ("revenue", "customers"), "segment_tier_heatmap values")
    axes = axes_for(ax, (7.5, 5.5))
    if kind == "revenue":
        fen = summary.revenue_fen
        colour = fen.astype(np.float64) / _FEN_PER_WAN
        texts = [[format_yuan(int(v), unit="wan") for v in row] for row in fen.tolist()]
        unit = "（万元）" if language == "zh" else " (10k yuan)"
        label = metric_label("t12m_revenue", language) + unit
    else:
        colour = summary.counts.astype(np.float64)
        texts = [[f"{int(v):,}" for v in row] for row in summary.counts.tolist()]
        label = "客户数" if language == "zh" else "customers"
    bar = _heatmap(
        axes,
        colour,
        texts,
        [group_label(s, language) for s in summary.segments],
        [t.label(language) for t in summary.tiers],
        label,
        cmap="Blues",
        fontsize=8,
    )
    default = _SUMMARY_TITLES[kind, language].format(as_of=summary.as_of)
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes, bar)
    return axes


_WHITESPACE_TITLES: dict[tuple[str, Lang], str] = {
    ("segment", "en"): "Product penetration by segment (%), {as_of}",
    ("segment", "zh"): "各行业产品渗透率（%，{as_of}）",
    ("tier", "en"): "Product penetration by tier (%), {as_of}",
    ("tier", "zh"): "各层级产品渗透率（%，{as_of}）",
}


def whitespace_heatmap(
    source: Penetration | OpportunityTable,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """Product penetration by segment (or tier) as a heatmap; whitespace cells outlined.

    Each cell is the share of the row's customers whose basket holds the product,
    shown as a whole percentage computed from the integer counts (rounded
    half-even); rows without customers stay blank. Given the
    :class:`~keyaccount.crosssell.OpportunityTable` of
    :func:`~keyaccount.crosssell.whitespace`, its cells (the whitespace) are
    outlined, one rectangle each.

    Args:
        source: ``penetration(...)`` or ``whitespace(...)``.
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: group labels and product names.
        title: The title (default: what is shown and the as-of month).

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
    """
    language = check_lang(lang, where="whitespace_heatmap")
    table = source if isinstance(source, OpportunityTable) else None
    pen = source.penetration if isinstance(source, OpportunityTable) else source
    axes = axes_for(ax, (13.0, 5.5))
    customers = pen.customers.tolist()
    colour = np.full(pen.buyers.shape, np.nan)
    texts: list[list[str]] = []
    for r, (whole, row) in enumerate(zip(customers, pen.buyers.tolist(), strict=True)):
        if whole:
            colour[r] = np.asarray(row, dtype=np.float64) * 100.0 / whole
        texts.append([percent_text(v, whole) if whole else "" for v in row])
    bar = _heatmap(
        axes,
        colour,
        texts,
        [group_label(g, language) for g in pen.groups],
        [product_label(pen.catalog, p, language) for p in pen.product_ids],
        "渗透率（%）" if language == "zh" else "penetration (%)",
        cmap="YlGn",
        fontsize=6.5,
        rotate=True,
    )
    if table is not None:
        from matplotlib.patches import Rectangle

        rows = {g: i for i, g in enumerate(pen.groups)}
        columns = {p: j for j, p in enumerate(pen.product_ids)}
        for cell in table:
            axes.add_patch(
                Rectangle(
                    (columns[cell.product_id] - 0.5, rows[cell.group] - 0.5),
                    1.0,
                    1.0,
                    fill=False,
                    edgecolor="crimson",
                    linewidth=1.2,
                    label="_whitespace",
                )
            )
    default = _WHITESPACE_TITLES[pen.by, language].format(as_of=pen.as_of)
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes, bar)
    return axes
