"""Plots of portfolios, backtests, cross-selling and attainment (matplotlib, the ``plot`` extra).

Every plot is a function that takes its data first and returns the matplotlib
``Axes`` it drew into. Each takes ``ax=`` (draw into these axes; ``None`` makes a
new pyplot figure), ``lang="en"`` or ``"zh"`` (tier and segment labels, product
names and metric names from :mod:`keyaccount.domain`) and ``title=`` (replaces the
default title). matplotlib is imported when a plot is drawn, not when this package
is; without it a plot raises an ``ImportError`` naming ``pip install 'keyaccount[plot]'``.

Chinese labels use the first installed font of :data:`CJK_FONTS` (see
:func:`find_cjk_font`); ``docs/plots.md`` shows every plot.

Example:
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from keyaccount import demo
    >>> from keyaccount.plot import segment_tier_heatmap
    >>> portfolio = demo.generate(customers=300)
    >>> ax = segment_tier_heatmap(portfolio.summary("2022-11"), values="customers", lang="zh")
    >>> ax.get_title()
    '各行业各层级客户数（2022-11）'
"""

from __future__ import annotations

from keyaccount.plot._attainment import attainment_by_group
from keyaccount.plot._concentration import revenue_concentration, top_share_text
from keyaccount.plot._flows import NOT_YET, TIER_COLOURS, tier_flows
from keyaccount.plot._heatmaps import segment_tier_heatmap, whitespace_heatmap
from keyaccount.plot._mpl import CJK_FONTS, MissingFontWarning, find_cjk_font
from keyaccount.plot._neighbourhood import crosssell_neighbourhood, neighbourhood
from keyaccount.plot._rfm_map import RfmValues, rfm_segment_map
from keyaccount.plot._text import UNASSIGNED

__all__ = [
    "CJK_FONTS",
    "NOT_YET",
    "TIER_COLOURS",
    "UNASSIGNED",
    "MissingFontWarning",
    "RfmValues",
    "attainment_by_group",
    "crosssell_neighbourhood",
    "find_cjk_font",
    "neighbourhood",
    "revenue_concentration",
    "rfm_segment_map",
    "segment_tier_heatmap",
    "tier_flows",
    "top_share_text",
    "whitespace_heatmap",
]
