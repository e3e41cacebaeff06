"""``keyaccount metrics``: the metrics table (``docs/metrics.md``), one row per customer.

Registered in the command table as ``"metrics": "keyaccount.cli._metrics_command:metrics"``.
With ``--db URL`` the metrics are computed inside the database
(:meth:`keyaccount.store.Store.metrics`, SQL; the revenue is not loaded); with
``--demo`` by :meth:`keyaccount.Portfolio.metrics` on the generated demo portfolio.
Rows come largest trailing-12 revenue first (ties by id).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from rich.text import Text

from keyaccount.cli._app import PERIOD, count_option, lang_option
from keyaccount.cli._labels import metric_label
from keyaccount.cli._numbers import count, money, money_heading, percent
from keyaccount.cli._output import Section, emit, format_option
from keyaccount.cli._render import make_console, report_table, segment_label, tier_label
from keyaccount.cli._source import open_store, portfolio_source
from keyaccount.domain import NO_CODE, Segment
from keyaccount.exceptions import KeyAccountError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from rich.console import RenderableType

    from keyaccount.cli._source import PortfolioSource
    from keyaccount.domain import Period
    from keyaccount.portfolio import MetricsTable

__all__ = ["METRIC_KEYS", "metrics", "metrics_rows", "metrics_table"]

METRIC_KEYS = (
    "customer_id",
    "name",
    "segment",
    "tier",
    "t12m_revenue",
    "prev12m_revenue",
    "yoy_growth",
    "t12m_volume",
    "active_months",
    "months_since_last",
    "product_count",
    "tenure_months",
    "months_in_tier",
)
"""The columns of ``keyaccount metrics`` (JSON keys and CSV header), in order."""

UNASSIGNED = ("unassigned", "none", "未分配")
"""``--segment`` values that select the customers without a segment."""

_TITLES = {
    "en": {
        "title": "Metrics as of {as_of}: {n} customers",
        "rollup": "Metrics as of {as_of}, rolled up with descendants: {n} customers",
        "shown": " (top {top} by revenue)",
        "id": "ID",
        "name": "Name",
        "segment": "Segment",
        "tier": "Tier",
        "empty": "No customer matches as of {as_of}.",
    },
    "zh": {
        "title": "客户指标（截至{as_of}）：{n}个客户",
        "rollup": "客户指标（截至{as_of}，含下属机构汇总）：{n}个客户",
        "shown": "（按近12个月收入前{top}名）",
        "id": "客户编号",
        "name": "客户名称",
        "segment": "行业",
        "tier": "层级",
        "empty": "截至{as_of}，没有符合条件的客户。",
    },
}


def _clip(text: str, cells: int) -> Text:
    clipped = Text(text)
    clipped.truncate(cells, overflow="ellipsis")
    return clipped


def _segment_code(text: str | None) -> int | None:
    """The segment code ``--segment`` selects (``NO_CODE`` for unassigned), ``None``: all."""
    if text is None:
        return None
    if text.strip().casefold() in UNASSIGNED:
        return NO_CODE
    try:
        return Segment.parse(text).code
    except KeyAccountError as exc:
        raise click.BadParameter(
            f"{exc}; or 'unassigned' for customers without a segment", param_hint="--segment"
        ) from None


def _ordered(table: MetricsTable, segment: int | None, top: int | None) -> list[int]:
    """Positions of the rows shown: the segment's, largest trailing-12 revenue first."""
    ids = table.top(len(table))
    positions = [table.position(cid) for cid in ids]
    if segment is not None:
        positions = [i for i in positions if int(table.segment[i]) == segment]
    return positions if top is None else positions[:top]


def metrics_rows(
    table: MetricsTable, names: Mapping[str, str], positions: Sequence[int]
) -> list[dict[str, object]]:
    """The rows of ``keyaccount metrics`` (keys :data:`METRIC_KEYS`) at ``positions``.

    Money is ``Decimal`` yuan, counts ``int``, ratios ``float``, absent ``None``;
    segment and tier are the enums.
    """
    rows: list[dict[str, object]] = []
    metric_names = [k for k in METRIC_KEYS[4:] if k in table.columns]
    for i in positions:
        cid = str(table.customer_ids[i])
        row: dict[str, object] = {
            "customer_id": cid,
            "name": names.get(cid),
            "segment": table.segment_of(cid),
            "tier": table.tier_of(cid),
        }
        for name in metric_names:
            row[name] = table.value(name, i)
        rows.append(row)
    return rows


def metrics_table(rows: Sequence[Mapping[str, object]], title: str, lang: str) -> RenderableType:
    """The metrics rows as a rich table: money in 万元, counts with thousands separators."""
    text = _TITLES[lang]
    out = report_table(title)
    out.padding = (0, 0)  # thirteen columns: one space between them keeps 120 columns enough
    out.add_column(text["id"], no_wrap=True)
    out.add_column(text["name"], overflow="ellipsis", no_wrap=True)
    out.add_column(text["segment"], overflow="ellipsis", no_wrap=True)
    out.add_column(text["tier"], no_wrap=True)
    for key in METRIC_KEYS[4:]:
        label = metric_label(key, lang, wrap=True)
        if key.endswith("_revenue"):
            label = money_heading(label, "wan", lang, wrap=True)
        out.add_column(label, justify="right", no_wrap=True)
    for row in rows:
        cells: list[RenderableType] = [
            str(row["customer_id"]),
            _clip(str(row["name"] or ""), 10),
            _clip(segment_label(row["segment"], lang), 10),  # type: ignore[arg-type]
            tier_label(row["tier"], lang),  # type: ignore[arg-type]
        ]
        for key in METRIC_KEYS[4:]:
            value = row.get(key)
            if key.endswith("_revenue"):
                cells.append(money(value, "wan"))  # type: ignore[arg-type]
            elif key == "yoy_growth":
                cells.append(percent(value, signed=True))  # type: ignore[arg-type]
            else:
                cells.append(count(value))  # type: ignore[arg-type]
        out.add_row(*cells)
    return out


@click.command()
@click.option("--as-of", type=PERIOD, required=True, help="The as-of month P (inclusive).")
@click.option(
    "--rollup",
    is_flag=True,
    help="Each customer's figures together with all its descendants (group roll-ups).",
)
@click.option(
    "--segment",
    default=None,
    metavar="SEGMENT",
    help="Only this segment's customers (name or Chinese label; 'unassigned' for none).",
)
@count_option("--top", default=None, help="Only the N customers with the largest revenue.")
@portfolio_source
@count_option("--seed", default=None, minimum=0, help="Seed of the demo portfolio.")
@count_option(
    "--customers",
    default=None,
    help="Customers in the demo portfolio [default: the generator's, as keyaccount demo].",
)
@format_option
@lang_option
def metrics(
    as_of: Period,
    rollup: bool,
    segment: str | None,
    top: int | None,
    source: PortfolioSource,
    seed: int | None,
    customers: int | None,
    output_format: str,
    lang: str,
) -> None:
    """The metrics of every customer as of a month (docs/metrics.md), largest revenue first.

    Columns: id, name, segment, tier, t12m_revenue, prev12m_revenue, yoy_growth,
    t12m_volume, active_months, months_since_last, product_count, tenure_months,
    months_in_tier. With --db the metrics are computed inside the database (SQL);
    with --rollup each customer's figures include all its descendants.
    """
    lang = lang.lower()
    code = _segment_code(segment)
    if source.db is not None:
        with open_store(source.db) as store:
            table = store.metrics(as_of, rollup=rollup)
            names = {c.id: c.name for c in store.customers()}
    else:
        portfolio = source.load(seed=seed, customers=customers)
        table = portfolio.metrics(as_of, rollup=rollup)
        names = {c.id: c.name for c in portfolio.customers()}
    positions = _ordered(table, code, top)
    rows = metrics_rows(table, names, positions)
    if output_format.lower() != "table":
        emit(Section("metrics", METRIC_KEYS, rows), output_format)
        return
    text = _TITLES[lang]
    if not rows:
        make_console().print(Text(text["empty"].format(as_of=as_of)))
        return
    title = text["rollup" if rollup else "title"].format(as_of=as_of, n=f"{len(rows):,}")
    if top is not None:
        title += text["shown"].format(top=top)
    make_console().print(metrics_table(rows, title, lang))
