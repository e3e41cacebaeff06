"""Tier flows over a backtest, as an alluvial diagram drawn with matplotlib patches."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Final

import numpy as np

from keyaccount.domain import TIERS, Lang, Period, check_lang
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.plot._mpl import apply_fonts, axes_for

if TYPE_CHECKING:
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from keyaccount.rules import Backtest

__all__ = ["NOT_YET", "TIER_COLOURS", "tier_flows"]

_ABSENT: Final = -2
"""The code :attr:`Backtest.tiers` holds for a month before the customer's first month."""

NOT_YET: Final[dict[Lang, str]] = {"en": "not yet a customer", "zh": "尚未合作"}
"""The label of the customers not yet seen in a stage's month."""

TIER_COLOURS: Final[dict[int, str]] = {
    3: "#c0392b",  # STRATEGIC
    2: "#e67e22",  # KEY
    1: "#2e86c1",  # ACTIVE
    0: "#7f8c8d",  # DORMANT
    _ABSENT: "#d5d8dc",
}
"""The colour of each tier (by rank) and of the customers not yet seen."""

_ORDER: Final = (3, 2, 1, 0, _ABSENT)
"""Nodes from top to bottom: the highest tier first, customers not yet seen last."""

_NODE_WIDTH: Final = 0.06
_GAP: Final = 0.03
"""Vertical gap between two nodes, as a share of all customers."""


def _stages(backtest: Backtest, months: Sequence[Period | str] | None) -> list[int]:
    """Column indices into :attr:`Backtest.tiers` of the months shown, in order."""
    if months is None:
        return [0, len(backtest.months) - 1] if len(backtest.months) > 1 else [0, 0]
    picked: list[int] = []
    for month in months:
        period = Period.parse(month)
        if period not in backtest.months:
            raise ValidationError(
                f"tier_flows: month {period} is not in the backtest "
                f"({backtest.months[0]}..{backtest.months[-1]})"
            )
        picked.append(backtest.months.index(period))
    if len(picked) < 2 or any(b <= a for a, b in itertools.pairwise(picked)):
        raise ValidationError(
            f"tier_flows: months must be two or more months in increasing order, got "
            f"{shorten([str(Period.parse(m)) for m in months])}"
        )
    return picked


def _node_label(code: int, lang: Lang) -> str:
    return NOT_YET[lang] if code == _ABSENT else TIERS[code].label(lang)


def _band(
    x0: float, x1: float, left: tuple[float, float], right: tuple[float, float]
) -> list[tuple[float, float]]:
    """The outline of a band from ``left`` (top, bottom) at ``x0`` to ``right`` at ``x1``."""
    middle = (x0 + x1) / 2
    (lt, lb), (rt, rb) = left, right
    return [
        (x0, lt),
        (middle, lt),
        (middle, rt),
        (x1, rt),
        (x1, rb),
        (middle, rb),
        (middle, lb),
        (x0, lb),
        (x0, lt),
    ]


def tier_flows(
    backtest: Backtest,
    months: Sequence[Period | str] | None = None,
    *,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """How customers moved between tiers over a backtest, as an alluvial diagram.

    One column of stacked bars (nodes) per month shown: customers per tier after
    that month's transitions, the highest tier on top, and the customers not yet
    seen in that month (first seen later) at the bottom. Between two columns, one
    band per pair of (tier then, tier later) with customers, as wide as their
    number. Bands compare the two months only: a customer that moved up and back
    down in between stays in its tier's band (``Backtest.transition_counts``
    counts every move; several months in ``months`` show the path in steps).

    Artists, for readers of the figure: every node is a ``Rectangle`` whose gid is
    ``"node <month> <TIER|NOT_YET>"``; every band a ``PathPatch`` with gid
    ``"flow <month> <from> <to>"`` (the later month); nodes are labelled with their
    tier and number of customers; the x tick labels are the months.

    Args:
        backtest: The backtest (``Policy.backtest`` or ``keyaccount.rules.backtest``).
        months: The months shown, two or more in increasing order (default: the
            first and the last month of the backtest).
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: tier labels.
        title: The title (default: the policy and the months).

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: a month not in the backtest, months not in increasing
            order or fewer than two, or ``lang`` not ``"en"`` or ``"zh"``.
    """
    language = check_lang(lang, where="tier_flows")
    stages = _stages(backtest, months)
    axes = axes_for(ax, (9.0, 6.0))
    from matplotlib.patches import PathPatch, Rectangle
    from matplotlib.path import Path

    tiers = backtest.tiers
    total = max(int(tiers.shape[0]), 1)
    gap = _GAP * total
    # (top, bottom) of every node of every stage
    spans: list[dict[int, tuple[float, float]]] = []
    for s, column in enumerate(stages):
        codes = tiers[:, column]
        top = 0.0
        nodes: dict[int, tuple[float, float]] = {}
        for code in _ORDER:
            size = int((codes == code).sum())
            if size == 0:
                continue
            nodes[code] = (top, top - size)
            month = backtest.months[column]
            name = "NOT_YET" if code == _ABSENT else TIERS[code].name
            axes.add_patch(
                Rectangle(
                    (s - _NODE_WIDTH / 2, top - size),
                    _NODE_WIDTH,
                    size,
                    facecolor=TIER_COLOURS[code],
                    edgecolor="none",
                    gid=f"node {month} {name}",
                )
            )
            axes.text(
                s - _NODE_WIDTH if s == 0 else s + _NODE_WIDTH,
                top - size / 2,
                f"{_node_label(code, language)} {size:,}",
                ha="right" if s == 0 else "left",
                va="center",
                fontsize=8,
            )
            top -= size + gap
        spans.append(nodes)
    for s in range(len(stages) - 1):
        before, after = tiers[:, stages[s]], tiers[:, stages[s + 1]]
        out_offset = {code: spans[s][code][0] for code in spans[s]}
        in_offset = {code: spans[s + 1][code][0] for code in spans[s + 1]}
        counts = {(a, b): int(((before == a) & (after == b)).sum()) for a in _ORDER for b in _ORDER}
        month = backtest.months[stages[s + 1]]
        # leaving a node: bands in the order of their targets; entering: of their sources
        outlines: dict[tuple[int, int], tuple[tuple[float, float], tuple[float, float]]] = {}
        for a in _ORDER:
            for b in _ORDER:
                if counts[a, b]:
                    outlines[a, b] = ((out_offset[a], out_offset[a] - counts[a, b]), (0.0, 0.0))
                    out_offset[a] -= counts[a, b]
        for b in _ORDER:
            for a in _ORDER:
                if counts[a, b]:
                    left = outlines[a, b][0]
                    outlines[a, b] = (left, (in_offset[b], in_offset[b] - counts[a, b]))
                    in_offset[b] -= counts[a, b]
        for (a, b), (left, right) in outlines.items():
            start, end = s + _NODE_WIDTH / 2, s + 1 - _NODE_WIDTH / 2
            steps = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4]
            steps += [Path.LINETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.CLOSEPOLY]
            name_a = "NOT_YET" if a == _ABSENT else TIERS[a].name
            name_b = TIERS[b].name if b != _ABSENT else "NOT_YET"
            axes.add_patch(
                PathPatch(
                    Path(np.array(_band(start, end, left, right)), steps),
                    facecolor=TIER_COLOURS[a],
                    edgecolor="none",
                    alpha=0.45,
                    gid=f"flow {month} {name_a} {name_b}",
                )
            )
    lowest = min(bottom for nodes in spans for _, bottom in nodes.values())
    axes.set_xlim(-0.6, len(stages) - 0.4)
    axes.set_ylim(lowest - gap, gap)
    axes.set_xticks(range(len(stages)), [str(backtest.months[c]) for c in stages])
    axes.set_yticks([])
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    first, last = backtest.months[stages[0]], backtest.months[stages[-1]]
    default = (
        f"{backtest.policy_name}下的层级流动（{first}至{last}）"
        if language == "zh"
        else f"Tier flows under {backtest.policy_name}, {first} to {last}"
    )
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes)
    return axes
