"""Revenue concentration: the Pareto (Lorenz) curve of trailing-12 revenue, top-N share."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np

from keyaccount.domain import Period, check_lang, metric_label
from keyaccount.exceptions import PrecisionError, ValidationError, shorten
from keyaccount.plot._mpl import apply_fonts, axes_for
from keyaccount.plot._text import percent_text
from keyaccount.portfolio import MetricsTable, Portfolio

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["revenue_concentration", "top_share_text"]

_EXACT_LIMIT: Final = 2**62
"""Sums whose absolute float64 total stays below this are exact in int64 (with margin)."""


def _table(source: MetricsTable | Portfolio, as_of: Period | str | None) -> MetricsTable:
    if isinstance(source, MetricsTable):
        if as_of is not None and Period.parse(as_of) != source.as_of:
            raise ValidationError(
                f"revenue_concentration: as_of {Period.parse(as_of)} differs from the "
                f"metrics table's {source.as_of}"
            )
        return source
    if not isinstance(source, Portfolio):
        raise ValidationError(
            f"revenue_concentration needs a MetricsTable or a Portfolio, got {shorten(source)}"
        )
    if as_of is None:
        span = source.period_span
        if span is None:
            raise ValidationError("revenue_concentration: the portfolio has no revenue")
        as_of = span[1]
    return source.metrics(as_of)


def top_share_text(top: int, share: str, lang: str = "en") -> str:
    """The annotation of :func:`revenue_concentration`: top ``top`` customers' ``share`` %."""
    if check_lang(lang, where="top_share_text") == "zh":
        return f"前{top:,}名客户：占{metric_label('t12m_revenue', 'zh')}{share}%"
    return f"top {top:,} customers: {share}% of t12m_revenue"


def revenue_concentration(
    source: MetricsTable | Portfolio,
    as_of: Period | str | None = None,
    *,
    top: int = 20,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """The Pareto curve of trailing-12 revenue, with the share of the top ``top`` customers.

    Customers are ordered by trailing-12 revenue, largest first (ties in table
    order). The curve (gid ``"pareto"``) has one point per customer plus the origin:
    ``x`` = customers so far / all customers, ``y`` = their revenue / all revenue,
    both in percent; a dashed diagonal (gid ``"equality"``) is what equal customers
    would give. The top-``top`` point is marked (gid ``"top"``) and annotated
    (gid ``"top_share"``, text from :func:`top_share_text`) with its share computed
    exactly from the integer fen sums and rounded half-even to 0.1%. Refunds make
    some customers' revenue negative: the curve may pass 100% before it ends there.

    Args:
        source: A metrics table, or a portfolio whose metrics as of ``as_of`` are used.
        as_of: The as-of month (a portfolio's default: its last month with revenue;
            a metrics table's: its own, and a different one is refused).
        top: How many of the largest customers to annotate (at most all of them).
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: labels.
        title: The title (default: what is shown and the as-of month).

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: ``top`` below 1, no customers or no positive total revenue,
            an ``as_of`` that differs from the table's, or an unknown ``lang``.
        PrecisionError: the revenue sums do not fit 64-bit fen.
    """
    language = check_lang(lang, where="revenue_concentration")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValidationError(f"revenue_concentration: top must be an integer >= 1, got {top!r}")
    table = _table(source, as_of)
    fen = np.where(table.absent["t12m_revenue"], 0, table.columns["t12m_revenue"]).astype(np.int64)
    n = int(fen.shape[0])
    if n == 0:
        raise ValidationError(f"revenue_concentration: no customers as of {table.as_of}")
    if float(np.abs(fen.astype(np.float64)).sum()) >= _EXACT_LIMIT:
        raise PrecisionError(
            f"revenue_concentration: trailing-12 revenue as of {table.as_of} does not fit "
            "64-bit fen"
        )
    ordered = fen[np.argsort(-fen, kind="stable")]
    running = np.cumsum(ordered)
    total = int(running[-1])
    if total <= 0:
        raise ValidationError(
            f"revenue_concentration: no positive trailing-12 revenue as of {table.as_of}"
        )
    shown = min(top, n)
    top_fen = int(running[shown - 1])
    axes = axes_for(ax, (7.0, 5.5))
    x = np.arange(n + 1, dtype=np.float64) * 100.0 / n
    y = np.concatenate([[0.0], running.astype(np.float64) * 100.0 / total])
    axes.plot(x, y, color="#2e86c1", linewidth=1.6, gid="pareto")
    axes.plot([0, 100], [0, 100], color="grey", linestyle="--", linewidth=0.8, gid="equality")
    point = (shown * 100.0 / n, top_fen * 100.0 / total)
    axes.plot(*point, marker="o", color="#c0392b", gid="top")
    axes.annotate(
        top_share_text(shown, percent_text(top_fen, total, 1), language),
        xy=point,
        xytext=(12, -18),
        textcoords="offset points",
        arrowprops={"arrowstyle": "-", "color": "#c0392b"},
        fontsize=9,
        gid="top_share",
    )
    zh = language == "zh"
    axes.set_xlabel("客户（按近12个月收入从高到低，%）" if zh else "customers, largest first (%)")
    axes.set_ylabel(
        f"累计{metric_label('t12m_revenue', 'zh')}占比（%）"
        if zh
        else "cumulative t12m_revenue (%)"
    )
    axes.set_xlim(0, 100)
    axes.set_ylim(0, max(100.0, float(y.max())) * 1.02)
    axes.grid(alpha=0.3)
    default = f"收入集中度（{table.as_of}）" if zh else f"Revenue concentration, {table.as_of}"
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes)
    return axes
