"""keyaccount.plot: every plot rendered to PNG on the Agg backend, and the figures' content."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import subprocess
import sys
import warnings
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.text import Text

from keyaccount import Portfolio, Segment, Tier, demo
from keyaccount.crosssell import (
    CrossSellModel,
    build_graph,
    customer_node,
    penetration,
    whitespace,
)
from keyaccount.domain import Period, default_catalog, default_project_groups, format_yuan
from keyaccount.exceptions import (
    UnknownCustomerError,
    ValidationError,
)
from keyaccount.operations import attainment
from keyaccount.plot import (
    CJK_FONTS,
    NOT_YET,
    MissingFontWarning,
    attainment_by_group,
    crosssell_neighbourhood,
    find_cjk_font,
    neighbourhood,
    revenue_concentration,
    rfm_segment_map,
    segment_tier_heatmap,
    tier_flows,
    top_share_text,
    whitespace_heatmap,
)
from keyaccount.rules import default_policy
from tests.strategies import PortfolioData, portfolios

matplotlib.use("Agg")  # no display: render to files

if TYPE_CHECKING:
    from collections.abc import Iterator

    from matplotlib.axes import Axes

    from keyaccount.operations import AttainmentTable
    from keyaccount.rules import Backtest

ROOT = Path(__file__).resolve().parents[2]
SEGMENT_ROWS: tuple[Segment | None, ...] = (*Segment, None)


class Demo:
    """The demo portfolio of 2000 customers and what the plots are drawn from."""

    def __init__(self) -> None:
        self.portfolio = demo.generate(customers=2000)
        span = self.portfolio.period_span
        assert span is not None
        self.as_of: Period = span[1]
        operations = demo.demo_operations(self.portfolio)
        self.attainment: AttainmentTable = attainment(
            self.portfolio, operations.ownership, operations.targets
        )
        self.attainment_by_segment: AttainmentTable = attainment(
            self.portfolio, operations.ownership, operations.targets, by_segment=True
        )
        self.backtest: Backtest = default_policy().backtest(
            self.portfolio, self.as_of - 11, self.as_of
        )
        self.model = CrossSellModel.fit(self.portfolio, self.as_of)
        self.graph = build_graph(self.portfolio, self.as_of)
        sizes = self.model.basket.sizes
        self.customer = str(self.model.basket.customer_ids[int(np.argmax(sizes == 2))])


@pytest.fixture(scope="module")
def data() -> Demo:
    """The demo data, built once for the module."""
    return Demo()


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close every figure a test made (pyplot keeps them otherwise)."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def cjk_font() -> str:
    """The CJK font the plots use; skips locally (fails in CI) when none is installed."""
    font = find_cjk_font()
    if font is None:
        message = f"no CJK font installed (one of {', '.join(CJK_FONTS)})"
        if os.environ.get("CI"):
            pytest.fail(f"CI needs a CJK font: {message}", pytrace=False)
        pytest.skip(message)
    return font


def render(ax: Axes, path: Path) -> Path:
    """Save the axes' figure as PNG, failing on any warning (a missing glyph above all)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure = ax.figure
        assert isinstance(figure, Figure)
        figure.savefig(path)
    assert [str(w.message) for w in caught] == []
    assert path.stat().st_size > 1000
    return path


def texts(ax: Axes) -> list[str]:
    """The texts drawn in the data area (annotations, labels), in drawing order."""
    return [t.get_text() for t in ax.texts]


def ticks(ax: Axes, axis: str) -> list[str]:
    """The tick labels of the x or y axis."""
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in labels]


def exact_percent(part: int, whole: int, places: str) -> str:
    """``part / whole`` in percent by Decimal arithmetic, rounded half-even."""
    return str((Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(places), ROUND_HALF_EVEN))


# ---------------------------------------------------------------- importing


def test_importing_the_package_does_not_import_matplotlib() -> None:
    """``import keyaccount.plot`` leaves matplotlib unloaded until a plot is drawn."""
    code = "import sys, keyaccount.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_a_plot_without_matplotlib_names_the_extra_to_install() -> None:
    """Without matplotlib a plot raises ImportError naming pip install 'keyaccount[plot]'."""
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "from keyaccount import demo\n"
        "from keyaccount.plot import segment_tier_heatmap\n"
        "pf = demo.generate(customers=50)\n"
        "try:\n"
        "    segment_tier_heatmap(pf.summary('2022-11'))\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert "pip install 'keyaccount[plot]'" in out.stdout


# ---------------------------------------------------------------- fonts


def test_a_cjk_font_is_found_among_the_candidates(cjk_font: str) -> None:
    """The font found is one of the documented candidates; an unknown name finds none."""
    assert cjk_font in CJK_FONTS
    assert find_cjk_font(("No Such Font 42",)) is None


def test_a_missing_cjk_font_warns_once(data: Demo, monkeypatch: pytest.MonkeyPatch) -> None:
    """With no candidate font installed, a Chinese plot warns once naming fonts and packages."""
    from keyaccount.plot import _mpl

    monkeypatch.setattr(_mpl, "CJK_FONTS", ("No Such Font 42",))
    monkeypatch.setattr(_mpl, "_warned", [])
    summary = data.portfolio.summary(data.as_of)
    with pytest.warns(MissingFontWarning, match="fonts-noto-cjk") as caught:
        segment_tier_heatmap(summary, lang="zh")
    assert "No Such Font 42" in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        segment_tier_heatmap(summary, lang="zh")  # no second warning


# ---------------------------------------------------------------- segment x tier


def test_segment_tier_heatmap_of_revenue_shows_exact_wan(data: Demo, tmp_path: Path) -> None:
    """Revenue cells are the summary's fen in 万元, exact; labels name segments and tiers."""
    summary = data.portfolio.summary(data.as_of)
    ax = segment_tier_heatmap(summary)
    render(ax, tmp_path / "revenue.png")
    assert ax.get_title() == f"t12m_revenue by segment and tier (10k yuan), {data.as_of}"
    assert ticks(ax, "x") == [t.name for t in Tier]
    assert ticks(ax, "y") == [*(s.name for s in Segment), "UNASSIGNED"]
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    assert images[0].get_array().shape == (len(SEGMENT_ROWS), len(Tier))  # type: ignore[union-attr]
    expected = [
        format_yuan(summary.cell(s, t).t12m_revenue_fen, unit="wan")
        for s in SEGMENT_ROWS
        for t in Tier
    ]
    assert texts(ax) == expected
    bar = ax.figure.axes[-1]
    assert bar.get_ylabel() == "t12m_revenue (10k yuan)"


def test_segment_tier_heatmap_in_chinese_renders_every_glyph(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """Chinese labels, 未分配 and the 万元 unit render with no missing-glyph warning."""
    summary = data.portfolio.summary(data.as_of)
    ax = segment_tier_heatmap(summary, lang="zh")
    render(ax, tmp_path / "zh.png")
    assert ax.get_title() == f"各行业各层级近12个月收入（万元，{data.as_of}）"
    assert ticks(ax, "x") == [t.label_zh for t in Tier]
    assert ticks(ax, "y") == [*(s.label_zh for s in Segment), "未分配"]
    assert ax.figure.axes[-1].get_ylabel() == "近12个月收入（万元）"
    assert cjk_font in ax.title.get_fontfamily()


def test_segment_tier_heatmap_of_customers_counts_them(data: Demo, tmp_path: Path) -> None:
    """Customer cells are the summary's counts; one text per segment x tier cell."""
    summary = data.portfolio.summary(data.as_of)
    ax = segment_tier_heatmap(summary, values="customers", title="mine")
    render(ax, tmp_path / "customers.png")
    assert ax.get_title() == "mine"
    assert texts(ax) == [f"{summary.cell(s, t).customers:,}" for s in SEGMENT_ROWS for t in Tier]
    assert sum(int(t.replace(",", "")) for t in texts(ax)) == len(data.portfolio)


def test_wrong_options_name_the_allowed_values(data: Demo) -> None:
    """values= and lang= outside their choices raise ValidationError listing them."""
    summary = data.portfolio.summary(data.as_of)
    with pytest.raises(ValidationError, match="'revenue', 'customers'"):
        segment_tier_heatmap(summary, values="bogus")
    with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
        segment_tier_heatmap(summary, lang="fr")


# ---------------------------------------------------------------- tier flows


def _flow_counts(tiers: np.ndarray[Any, Any], a: int, b: int) -> dict[tuple[str, str], int]:
    names = {-2: "NOT_YET", **{t.rank: t.name for t in Tier}}
    found: dict[tuple[str, str], int] = {}
    for x, y in zip(tiers[:, a].tolist(), tiers[:, b].tolist(), strict=True):
        found[names[x], names[y]] = found.get((names[x], names[y]), 0) + 1
    return found


def test_tier_flows_draw_one_band_per_pair_of_tiers(data: Demo, tmp_path: Path) -> None:
    """Bands are the (first month, last month) tier pairs with customers, nodes their sizes."""
    bt = data.backtest
    ax = tier_flows(bt)
    render(ax, tmp_path / "flows.png")
    last = str(bt.months[-1])
    bands = {
        tuple(p.get_gid().split()[2:]): p  # type: ignore[union-attr]
        for p in ax.patches
        if isinstance(p, PathPatch)
    }
    expected = _flow_counts(bt.tiers, 0, -1)
    assert set(bands) == set(expected)
    for (a, b), patch in bands.items():
        assert patch.get_gid() == f"flow {last} {a} {b}"
        vertices = np.asarray(patch.get_path().vertices)
        assert vertices[0, 1] - vertices[7, 1] == pytest.approx(expected[a, b])  # band width
    nodes = [p for p in ax.patches if isinstance(p, Rectangle)]
    sizes_first = {t.name: int((bt.tiers[:, 0] == t.rank).sum()) for t in Tier}
    sizes_last = bt.tier_sizes()[-1]
    labels = texts(ax)
    for tier in Tier:
        assert f"{tier.name} {sizes_first[tier.name]:,}" in labels
        assert f"{tier.name} {int(sizes_last[tier.rank]):,}" in labels
    new = int((bt.tiers[:, 0] == -2).sum())
    assert f"{NOT_YET['en']} {new:,}" in labels
    assert len(nodes) == len(labels)
    assert ticks(ax, "x") == [str(bt.months[0]), last]
    assert ax.get_title() == f"Tier flows under default, {bt.months[0]} to {last}"


def test_tier_flows_over_several_months_in_chinese(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """Three months give two sets of bands; tier labels are Chinese and render."""
    bt = data.backtest
    months = [bt.months[0], bt.months[5], bt.months[-1]]
    ax = tier_flows(bt, months, lang="zh")
    render(ax, tmp_path / "flows_zh.png")
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    expected = len(_flow_counts(bt.tiers, 0, 5)) + len(_flow_counts(bt.tiers, 5, -1))
    assert len(bands) == expected
    assert ticks(ax, "x") == [str(m) for m in months]
    assert f"{Tier.STRATEGIC.label_zh} {int(bt.tier_sizes()[-1][3]):,}" in texts(ax)
    assert ax.get_title() == f"default下的层级流动（{months[0]}至{months[-1]}）"


def test_tier_flows_refuse_months_outside_or_out_of_order(data: Demo) -> None:
    """A month outside the backtest, or months not increasing, is refused by name."""
    bt = data.backtest
    with pytest.raises(ValidationError, match="2030-01 is not in the backtest"):
        tier_flows(bt, [bt.months[0], "2030-01"])
    with pytest.raises(ValidationError, match="increasing order"):
        tier_flows(bt, [bt.months[3], bt.months[1]])


# ---------------------------------------------------------------- concentration


def _expected_top_share(portfolio: Portfolio, as_of: Period, top: int) -> tuple[int, str]:
    table = portfolio.metrics(as_of)
    fen = sorted((int(v) for v in table.columns["t12m_revenue"]), reverse=True)
    shown = min(top, len(fen))
    return shown, exact_percent(sum(fen[:shown]), sum(fen), "0.1")


def test_revenue_concentration_annotates_the_exact_top_share(data: Demo, tmp_path: Path) -> None:
    """The top-20 text is the share computed from fen sums; one curve point per customer."""
    ax = revenue_concentration(data.portfolio, data.as_of, top=20)
    render(ax, tmp_path / "pareto.png")
    shown, share = _expected_top_share(data.portfolio, data.as_of, 20)
    assert texts(ax) == [f"top {shown} customers: {share}% of t12m_revenue"]
    (curve,) = [line for line in ax.lines if line.get_gid() == "pareto"]
    x, y = (np.asarray(v, dtype=np.float64) for v in curve.get_data())
    assert len(x) == len(data.portfolio.metrics(data.as_of)) + 1  # the origin and each customer
    assert (x[0], y[0]) == (0.0, 0.0)
    assert y[-1] == pytest.approx(100.0)
    (point,) = [line for line in ax.lines if line.get_gid() == "top"]
    assert float(np.asarray(point.get_ydata())[0]) == pytest.approx(float(share), abs=0.05)
    assert ax.get_title() == f"Revenue concentration, {data.as_of}"


def test_revenue_concentration_from_a_metrics_table_in_chinese(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """A metrics table gives the same share; Chinese labels render; top is clamped to all."""
    table = data.portfolio.metrics(data.as_of)
    ax = revenue_concentration(table, top=5, lang="zh")
    render(ax, tmp_path / "pareto_zh.png")
    shown, share = _expected_top_share(data.portfolio, data.as_of, 5)
    assert texts(ax) == [f"前{shown}名客户：占近12个月收入{share}%"]
    assert texts(ax) == [top_share_text(shown, share, "zh")]
    assert ax.get_xlabel() == "客户（按近12个月收入从高到低，%）"
    everyone = revenue_concentration(table, top=10**6)
    assert texts(everyone) == [f"top {len(table):,} customers: 100.0% of t12m_revenue"]
    with pytest.raises(ValidationError, match="differs from the metrics table"):
        revenue_concentration(table, data.as_of - 1)
    with pytest.raises(ValidationError, match="top must be an integer >= 1"):
        revenue_concentration(table, top=0)


_SCRATCH = Figure().add_subplot()
"""Axes outside pyplot, cleared and drawn into by each Hypothesis example."""


@given(portfolios(max_customers=6, max_records=20), st.integers(1, 8))
def test_revenue_concentration_share_is_exact_or_refused(data: PortfolioData, top: int) -> None:
    """On any small portfolio the top share equals the exact fen share, or is refused by name."""
    ax = _SCRATCH
    ax.clear()
    portfolio = Portfolio(data.customers, data.records)
    table = portfolio.metrics(data.as_of)
    fen = sorted((int(v) for v in table.columns["t12m_revenue"]), reverse=True)
    if not fen or sum(fen) <= 0:
        with pytest.raises(ValidationError, match=r"no customers|no positive"):
            revenue_concentration(table, top=top, ax=ax)
        return
    revenue_concentration(table, top=top, ax=ax)
    shown = min(top, len(fen))
    share = exact_percent(sum(fen[:shown]), sum(fen), "0.1")
    assert texts(ax) == [top_share_text(shown, share)]


# ---------------------------------------------------------------- whitespace


def test_whitespace_heatmap_outlines_each_whitespace_cell(data: Demo, tmp_path: Path) -> None:
    """One outline per whitespace cell; cell texts are exact whole percentages."""
    table = whitespace(data.portfolio, data.as_of, threshold=0.05)
    ax = whitespace_heatmap(table)
    render(ax, tmp_path / "whitespace.png")
    outlines = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(outlines) == len(table) > 0
    pen = table.penetration
    catalog = default_catalog()
    assert ticks(ax, "x") == [catalog[p].name_en for p in pen.product_ids]
    assert ticks(ax, "y") == [*(s.name for s in Segment), "UNASSIGNED"]
    expected = [
        exact_percent(int(pen.buyers[r, j]), int(pen.customers[r]), "1")
        for r in range(len(pen.groups))
        if pen.customers[r]
        for j in range(len(pen.product_ids))
    ]
    assert texts(ax) == expected
    assert ax.get_title() == f"Product penetration by segment (%), {data.as_of}"


def test_whitespace_heatmap_of_penetration_by_tier_in_chinese(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """Penetration by tier: Chinese product names and tier labels render; nothing outlined."""
    pen = penetration(data.portfolio, data.as_of, by="tier")
    ax = whitespace_heatmap(pen, lang="zh")
    render(ax, tmp_path / "penetration_zh.png")
    assert [p for p in ax.patches if isinstance(p, Rectangle)] == []
    assert ticks(ax, "x") == [default_catalog()[p].name_zh for p in pen.product_ids]
    assert ticks(ax, "y") == [t.label_zh for t in Tier]
    assert len(texts(ax)) == len(Tier) * len(pen.product_ids)
    assert ax.get_title() == f"各层级产品渗透率（%，{data.as_of}）"


# ---------------------------------------------------------------- attainment


def test_attainment_by_group_labels_each_bar_with_its_attainment(
    data: Demo, tmp_path: Path
) -> None:
    """One bar per group for the last year; labels are the table's attainment in percent."""
    table = data.attainment
    ax = attainment_by_group(table)
    render(ax, tmp_path / "attainment.png")
    year = str(data.as_of.year)
    rows = {r.group_id: r for r in table.rows() if str(r.span) == year}
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert [b.get_gid() for b in bars] == [f"attainment {g}" for g in table.group_ids]
    for bar, group_id in zip(bars, table.group_ids, strict=True):
        value = rows[group_id].attainment
        assert value is not None
        assert bar.get_height() == pytest.approx(value * 100)
    assert texts(ax) == [f"{rows[g].attainment * 100:.1f}%" for g in table.group_ids]  # type: ignore[operator]
    names = {g.id: g.name_en for g in default_project_groups()}
    assert ticks(ax, "x") == [names[g] for g in table.group_ids]
    assert ax.get_title() == f"Target attainment by project group, {year}"


def test_attainment_by_segment_stacks_contributions_in_chinese(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """A table by segment stacks segment bars with a legend of segments, all in Chinese."""
    table = data.attainment_by_segment
    ax = attainment_by_group(table, f"{data.as_of.year}", lang="zh")
    render(ax, tmp_path / "attainment_zh.png")
    year = str(data.as_of.year)
    rows = [r for r in table.rows() if str(r.span) == year and r.attainment is not None]
    bars = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(bars) == len(rows)
    legend = ax.get_legend()
    assert legend is not None
    shown = {t.get_text() for t in legend.get_texts()}
    assert shown == {s.label_zh if s else "未分配" for s in {r.segment for r in rows}}
    names = {g.id: g.name_zh for g in default_project_groups()}
    assert ticks(ax, "x") == [names[g] for g in table.group_ids]
    assert ax.get_ylabel() == "目标达成率（%）"


def test_attainment_by_group_refuses_a_span_outside_the_table(data: Demo) -> None:
    """A span the table has no rows for is refused, naming it."""
    with pytest.raises(ValidationError, match="no rows for 2035"):
        attainment_by_group(data.attainment, "2035")


# ---------------------------------------------------------------- neighbourhood


def test_neighbourhood_is_the_same_from_the_model_and_the_graph(data: Demo) -> None:
    """The model and the cross-sell graph of the same month give the same neighbourhood."""
    for depth in (0, 1, 2):
        a = neighbourhood(data.model, data.customer, depth)
        b = neighbourhood(data.graph, data.customer, depth)
        assert sorted(a.nodes(data="ring")) == sorted(b.nodes(data="ring"))
        assert {frozenset(e) for e in a.edges} == {frozenset(e) for e in b.edges}
    own = neighbourhood(data.model, data.customer, 0)
    rings = {n: int(node["ring"]) for n, node in own.nodes(data=True)}
    assert {n for n, ring in rings.items() if ring == 1} == {
        f"product:{p}" for p in data.model.basket.products_of(data.customer)
    }


def test_crosssell_neighbourhood_labels_products_by_name(
    data: Demo, tmp_path: Path, cjk_font: str
) -> None:
    """Each ring is one node collection; labels are product names in the language asked."""
    graph = neighbourhood(data.model, data.customer, 1)
    for lang, key in (("en", "name_en"), ("zh", "name_zh")):
        ax = crosssell_neighbourhood(data.model, data.customer, lang=lang)
        render(ax, tmp_path / f"neighbourhood_{lang}.png")
        rings = [c for c in ax.collections if isinstance(c, PathCollection)]
        assert [c.get_gid() for c in rings] == ["ring 0", "ring 1", "ring 2"]
        assert sum(np.asarray(c.get_offsets()).shape[0] for c in rings) == len(graph)
        labels = sorted(t.get_text() for t in ax.texts if isinstance(t, Text))
        assert labels == sorted(str(v) for _, v in graph.nodes(data=key))
    named = crosssell_neighbourhood(data.graph, data.customer, lang="zh")
    name = data.graph.nodes[customer_node(data.customer)]["name"]
    assert named.get_title() == f"{name}的交叉销售邻域"


def test_crosssell_neighbourhood_refuses_an_unknown_customer(data: Demo) -> None:
    """A customer the model does not hold is refused by id."""
    with pytest.raises(UnknownCustomerError, match="NOPE"):
        crosssell_neighbourhood(data.model, "NOPE")
    with pytest.raises(ValidationError, match="depth"):
        neighbourhood(data.graph, data.customer, -1)


# ---------------------------------------------------------------- ax= reuse


def test_every_plot_draws_into_the_axes_given(data: Demo, tmp_path: Path) -> None:
    """With ax= each plot draws into those axes and opens no figure of its own."""
    fig, grid = plt.subplots(2, 3, figsize=(18, 10))
    before = plt.get_fignums()
    axes = grid.ravel().tolist()
    drawn = [
        segment_tier_heatmap(data.portfolio.summary(data.as_of), ax=axes[0]),
        tier_flows(data.backtest, ax=axes[1]),
        revenue_concentration(data.portfolio, ax=axes[2]),
        whitespace_heatmap(penetration(data.portfolio, data.as_of), ax=axes[3]),
        attainment_by_group(data.attainment, ax=axes[4]),
        crosssell_neighbourhood(data.model, data.customer, ax=axes[5], title="six"),
    ]
    assert drawn == axes
    assert plt.get_fignums() == before
    assert all(a.figure is fig for a in drawn)
    assert axes[5].get_title() == "six"
    assert all(a.has_data() or a.texts for a in drawn)
    render(axes[0], tmp_path / "grid.png")


# ---------------------------------------------------------------- RFM


@attrs.frozen
class Rfm:
    """RFM values as the RfmValues protocol describes them."""

    customer_ids: npt.NDArray[np.object_]
    frequency: npt.NDArray[np.int64]
    days_since_last: npt.NDArray[np.int64]
    monetary_fen: npt.NDArray[np.int64]


def _rfm(n: int) -> tuple[Rfm, list[str]]:
    rng = np.random.default_rng(7)
    values = Rfm(
        np.array([f"C{i}" for i in range(n)], dtype=object),
        rng.integers(0, 20, n),
        rng.integers(0, 400, n),
        rng.integers(0, 5_000_000, n),
    )
    names = ["Premium Customer", "Repeat Customer", "At Risk Customer", "Other"]
    return values, [names[int(v)] for v in rng.integers(0, 4, n)]


def test_rfm_segment_map_draws_each_segment_with_its_count(tmp_path: Path) -> None:
    """One collection per segment, largest first, a point per customer, counts in the legend."""
    values, names = _rfm(500)
    ax = rfm_segment_map(values, names)
    render(ax, tmp_path / "rfm.png")
    counts = Counter(names).most_common()
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [c.get_gid() for c in collections] == [f"segment {name}" for name, _ in counts]
    assert [np.asarray(c.get_offsets()).shape[0] for c in collections] == [n for _, n in counts]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [f"{s} ({n:,})" for s, n in counts]
    assert ax.get_xlabel() == "days since the last purchase"
    assert ax.get_title() == "RFM segments"


def test_rfm_segment_map_in_chinese_from_a_mapping(tmp_path: Path, cjk_font: str) -> None:
    """Segments may come as customer id -> name; Chinese words render."""
    values, names = _rfm(200)
    chinese = {"Premium Customer": "优质客户", "Repeat Customer": "回头客"}
    by_id = {
        str(c): chinese.get(n, n) for c, n in zip(values.customer_ids.tolist(), names, strict=True)
    }
    ax = rfm_segment_map(values, by_id, lang="zh")
    render(ax, tmp_path / "rfm_zh.png")
    assert ax.get_ylabel() == "重复购买期数（频次）"
    assert ax.get_title() == "RFM客户分群"
    legend = ax.get_legend()
    assert legend is not None
    assert f"优质客户（{Counter(by_id.values())['优质客户']:,}）" in {
        t.get_text() for t in legend.get_texts()
    }
    with pytest.raises(ValidationError, match="no segment for customer 'C0'"):
        rfm_segment_map(values, {})
    with pytest.raises(ValidationError, match="3 segment names for 200 customers"):
        rfm_segment_map(values, ["a", "b", "c"])


# ---------------------------------------------------------------- documentation

DOC = ROOT / "docs" / "plots.md"


def test_the_plots_page_examples_run() -> None:
    """Every python block of docs/plots.md runs, warnings being errors."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})


def test_the_plots_page_shows_pictures_that_exist_and_are_small() -> None:
    """Each picture docs/plots.md links is in docs/img and under 150 KB."""
    pictures = re.findall(r"!\[[^\]]*\]\((img/[^)]+)\)", DOC.read_text(encoding="utf-8"))
    assert pictures
    for picture in pictures:
        path = DOC.parent / picture
        assert path.stat().st_size < 150 * 1024, picture


@pytest.mark.parametrize("name", ["keyaccount.plot", "keyaccount.plot._mpl"])
def test_docstring_examples_run(name: str) -> None:
    """The examples in the plot modules' docstrings run and give what they show."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_rfm_segment_map_of_rfm_scores_uses_their_segments(tmp_path: Path) -> None:
    """The scores of rfm_scores draw with their own segments, one point per customer."""
    import pandas as pd

    from keyaccount.analysis import rfm, rfm_scores
    from keyaccount.io import transactions_from_frame

    rng = np.random.default_rng(11)
    n = 3000
    days = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:03d}" for i in rng.integers(0, 300, n)],
            "date": days,
            "amount": rng.integers(1_00, 5_000_00, n),
        }
    )
    table = rfm(transactions_from_frame(frame, amount_unit="fen"), "2023-12-31", freq="W")
    scores = rfm_scores(table)
    ax = rfm_segment_map(scores)
    render(ax, tmp_path / "rfm_scores.png")
    counts = scores.counts().most_common()
    collections = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert [c.get_gid() for c in collections] == [f"segment {name}" for name, _ in counts]
    assert sum(np.asarray(c.get_offsets()).shape[0] for c in collections) == len(table)
    first = np.asarray(collections[0].get_offsets())
    mine = scores.segment == counts[0][0]
    assert sorted(first[:, 0].tolist()) == sorted(table.days_since_last[mine].tolist())
