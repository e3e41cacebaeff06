"""The RFM segment map: customers by days since their last purchase and by frequency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt

from keyaccount.analysis import RfmScores
from keyaccount.domain import check_lang
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.plot._mpl import apply_fonts, axes_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

__all__ = ["RfmValues", "rfm_segment_map"]

Segments: TypeAlias = "Sequence[str] | Mapping[str, str] | npt.NDArray[np.object_]"
"""Segment names: one per customer in the table's order, or customer id -> name."""

_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
"""Segment colours, in order of segment size (largest first); they repeat past ten."""


class RfmValues(Protocol):
    """What :func:`rfm_segment_map` reads: per customer, in one order.

    :class:`keyaccount.analysis.RfmTable` has these; any object with the four
    arrays does.
    """

    @property
    def customer_ids(self) -> npt.NDArray[np.object_]:
        """The customers."""

    @property
    def frequency(self) -> npt.NDArray[np.int64]:
        """Repeat purchase periods."""

    @property
    def days_since_last(self) -> npt.NDArray[np.int64]:
        """Days from the last purchase period to the observation end's period."""

    @property
    def monetary_fen(self) -> npt.NDArray[np.int64]:
        """Mean amount of the repeat purchases, in fen."""


def _segment_names(values: RfmValues, segments: Segments | None) -> list[str]:
    ids = [str(c) for c in values.customer_ids.tolist()]
    given: Any = getattr(values, "segment", None) if segments is None else segments
    if given is None:
        raise ValidationError(
            "rfm_segment_map needs segment names: pass segments= (one per customer, or "
            "customer id -> name)"
        )
    if isinstance(given, Mapping):
        missing = [c for c in ids if c not in given]
        if missing:
            raise ValidationError(
                f"rfm_segment_map: no segment for customer {shorten(missing[0])} "
                f"({len(missing):,} customers without one)"
            )
        return [str(given[c]) for c in ids]
    names = [str(s) for s in np.asarray(given, dtype=object).tolist()]
    if len(names) != len(ids):
        raise ValidationError(
            f"rfm_segment_map: {len(names):,} segment names for {len(ids):,} customers"
        )
    return names


def rfm_segment_map(
    values: RfmScores | RfmValues,
    segments: Segments | None = None,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """Customers placed by days since their last purchase (x) and frequency (y), by segment.

    One scatter collection per segment (gid ``"segment <name>"``), largest segment
    first, each point a customer, its area growing with the square root of its
    mean repeat purchase (``monetary_fen``; customers without a repeat purchase
    get the smallest marker). The legend names each segment with its number of
    customers. Recent, frequent customers sit top left.

    Args:
        values: The scores of :func:`keyaccount.analysis.rfm_scores` (their table
            and segments), or RFM values per customer (an :class:`RfmValues`, such
            as the table of :func:`keyaccount.analysis.rfm`).
        segments: The segment name of each customer, in the order of
            ``values.customer_ids``, or a mapping from customer id to name; default:
            the scores' segments (or the ``segment`` array of ``values`` when it
            has one).
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: axis words (segment names are shown as given).
        title: The title (default: "RFM segments").

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: no segment names, names not one per customer, or an
            unknown ``lang``.
    """
    language = check_lang(lang, where="rfm_segment_map")
    if isinstance(values, RfmScores):
        names = _segment_names(values.table, values.segment if segments is None else segments)
        values = values.table
    else:
        names = _segment_names(values, segments)
    x = np.asarray(values.days_since_last, dtype=np.float64)
    y = np.asarray(values.frequency, dtype=np.float64)
    money = np.maximum(np.asarray(values.monetary_fen, dtype=np.float64), 0.0)
    top = float(money.max()) if money.size else 0.0
    sizes = 6.0 + 120.0 * np.sqrt(money / top) if top > 0 else np.full(money.shape, 6.0)
    axes = axes_for(ax, (8.0, 6.0))
    labels = np.asarray(names, dtype=object)
    zh = language == "zh"
    for k, (name, count) in enumerate(Counter(names).most_common()):
        mine = labels == name
        axes.scatter(
            x[mine],
            y[mine],
            s=sizes[mine],
            color=_COLOURS[k % len(_COLOURS)],
            alpha=0.55,
            edgecolors="none",
            label=f"{name}（{count:,}）" if zh else f"{name} ({count:,})",
            gid=f"segment {name}",
        )
    axes.set_xlabel("距最近一次购买天数" if zh else "days since the last purchase")
    axes.set_ylabel("重复购买期数（频次）" if zh else "repeat purchase periods (frequency)")
    axes.grid(alpha=0.3)
    if names:
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), markerscale=0.7)
    axes.set_title(("RFM客户分群" if zh else "RFM segments") if title is None else title)
    apply_fonts(language, axes)
    return axes
