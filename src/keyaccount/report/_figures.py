"""Plots drawn to SVG for the page: text as paths, large artists rasterised, a ``data:`` URI.

Each figure is a :class:`matplotlib.figure.Figure` made without pyplot (no global state,
nothing left open), drawn by a :mod:`keyaccount.plot` function into its axes and saved as
SVG with ``svg.fonttype: path``: every glyph, Chinese ones included, is an outline, so a
browser needs no font to show it. A line of more than :data:`RASTER_POINTS` points (the
Pareto curve of a million customers) and a scatter of more than :data:`RASTER_MARKERS`
markers (an RFM map) are embedded as PNG images inside the SVG, so the picture stays small
whatever the portfolio's size.
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from keyaccount.plot import find_cjk_font

if TYPE_CHECKING:
    from collections.abc import Callable

    from matplotlib.axes import Axes

__all__ = ["RASTER_MARKERS", "RASTER_POINTS", "svg_data_uri"]

RASTER_POINTS: Final = 5_000
"""Lines with more points than this are rasterised inside the SVG."""

RASTER_MARKERS: Final = 500
"""Scatter collections with more markers than this are rasterised inside the SVG (a marker
costs the SVG several hundred bytes)."""

_RC: Final[dict[str, Any]] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "keyaccount-report",  # the same ids on every run: reproducible pages
    "svg.image_inline": True,
    "font.size": 9.0,
}


def _rasterise_large(ax: Axes) -> None:
    for line in ax.lines:
        if int(np.size(line.get_xdata())) > RASTER_POINTS:
            line.set_rasterized(True)
    for collection in ax.collections:
        markers = max(int(np.shape(collection.get_offsets())[0]), len(collection.get_paths()))
        if markers > RASTER_MARKERS:
            collection.set_rasterized(True)


def svg_data_uri(draw: Callable[[Axes], object], figsize: tuple[float, float] = (8.0, 5.0)) -> str:
    """Draw with ``draw(ax)`` into a new figure and return it as an SVG ``data:`` URI.

    Args:
        draw: Draws into the axes it is given (a :mod:`keyaccount.plot` function with
            ``ax=``).
        figsize: The figure's size in inches.

    Raises:
        ImportError: matplotlib is not installed (the ``plot`` extra).
    """
    import matplotlib as mpl
    from matplotlib.figure import Figure

    find_cjk_font()  # makes a CJK font installed after matplotlib's cache known to it
    with mpl.rc_context(_RC):  # type: ignore[arg-type]  # str keys; matplotlib wants Literals
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
        draw(ax)
        for each in fig.axes:
            _rasterise_large(each)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", dpi=110, metadata={"Date": None})
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"
