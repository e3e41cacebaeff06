"""``keyaccount recommend`` and ``keyaccount whitespace``: cross-sell from the command line.

Both read a portfolio from ``--db URL`` (a store: a SQLite path or a database
URL) or ``--demo`` (the generated demo portfolio; see
:func:`~keyaccount.cli._source.portfolio_source`). Register them in the command table as
``"recommend": "keyaccount.cli._crosssell_commands:recommend"`` and
``"whitespace": "keyaccount.cli._crosssell_commands:whitespace"``.
:func:`print_recommendations` prints the recommendations of a few customers
(for ``keyaccount demo``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from keyaccount.cli._app import PERIOD, count_option, lang_option
from keyaccount.cli._labels import product_label, product_list
from keyaccount.cli._numbers import count, money, money_heading, percent
from keyaccount.cli._output import Section, emit, format_option
from keyaccount.cli._render import make_console, report_table
from keyaccount.cli._source import portfolio_source

if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console

    from keyaccount.cli._source import PortfolioSource
    from keyaccount.crosssell import CrossSellModel
    from keyaccount.domain import Period

__all__ = [
    "RECOMMENDATION_KEYS",
    "WHITESPACE_KEYS",
    "print_recommendations",
    "recommend",
    "recommendation_rows",
    "whitespace",
]

RECOMMENDATION_KEYS = (
    "customer_id",
    "rank",
    "product_id",
    "product_name",
    "product_name_zh",
    "score",
    "reasons",
)
"""The columns of ``keyaccount recommend --format json|csv``."""

WHITESPACE_KEYS = (
    "group",
    "product_id",
    "customers",
    "buyers",
    "penetration",
    "candidates",
    "estimated_revenue",
)
"""The columns of ``keyaccount whitespace --format json|csv``."""


def _parse_boosts(values: Sequence[str]) -> dict[str, float]:
    boosts: dict[str, float] = {}
    for text in values:
        product, sep, factor = text.partition("=")
        try:
            boosts[product.strip()] = float(factor)
        except ValueError:
            sep = ""
        if not sep:
            raise click.BadParameter(
                f"{text!r} is not PRODUCT=FACTOR (for example custom_route=1.5)",
                param_hint="--boost",
            )
    return boosts


def print_recommendations(
    console: Console,
    model: CrossSellModel,
    customer_ids: Sequence[str],
    *,
    k: int = 5,
    lang: str = "en",
    **options: Any,
) -> None:
    """Print the top ``k`` products of each customer, with their reasons.

    Args:
        console: Where to print.
        model: A fitted model.
        customer_ids: The customers.
        k: Products per customer.
        lang: ``"en"`` or ``"zh"``.
        **options: Exclusions and boosts, as :meth:`CrossSellModel.recommend` takes.
    """
    zh = lang == "zh"
    for cid in customer_ids:
        recs = model.recommend(cid, k, **options)
        owned = product_list(model.basket.products_of(cid), lang) or ("无" if zh else "(none)")
        head = f"{cid}：在用{owned}" if zh else f"{cid}: buys {owned}"
        console.print(head, markup=False, highlight=False, soft_wrap=True)
        if not recs:
            console.print("  没有可推荐的产品" if zh else "  nothing to recommend", markup=False)
        for rec in recs:
            product = (
                f"{rec.product_name_zh}（{rec.product_id}）"
                if zh
                else f"{rec.product_name} ({rec.product_id})"
            )
            score = f"得分 {rec.score:.4f}" if zh else f" {rec.score:.4f}"
            console.print(
                f"  {rec.rank}. {product}{score}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
            for reason in rec.reasons(lang):
                console.print(f"     - {reason}", markup=False, highlight=False, soft_wrap=True)


def recommendation_rows(
    model: CrossSellModel,
    customer_ids: Sequence[str],
    *,
    k: int = 5,
    lang: str = "en",
    **options: Any,
) -> list[dict[str, object]]:
    """The recommendations of ``customer_ids`` as rows (:data:`RECOMMENDATION_KEYS`).

    ``reasons`` is the reasons in ``lang`` joined by ``"; "`` (``"；"`` in Chinese).
    """
    sep = "；" if lang == "zh" else "; "
    return [
        {
            "customer_id": rec.customer_id,
            "rank": rec.rank,
            "product_id": rec.product_id,
            "product_name": rec.product_name,
            "product_name_zh": rec.product_name_zh,
            "score": rec.score,
            "reasons": sep.join(rec.reasons(lang)),
        }
        for cid in customer_ids
        for rec in model.recommend(cid, k, **options)
    ]


@click.command()
@click.argument("customer_id")
@count_option("--k", default=5, help="How many products to recommend.")
@click.option(
    "--as-of", type=PERIOD, default=None, help="As-of month [default: last with revenue]."
)
@click.option("--exclude", multiple=True, metavar="PRODUCT", help="Never recommend this product.")
@click.option(
    "--boost", multiple=True, metavar="PRODUCT=FACTOR", help="Multiply a product's score."
)
@portfolio_source
@format_option
@lang_option
def recommend(
    customer_id: str,
    k: int,
    as_of: Period | None,
    exclude: tuple[str, ...],
    boost: tuple[str, ...],
    output_format: str,
    lang: str,
    source: PortfolioSource,
) -> None:
    """Recommend products CUSTOMER_ID does not buy yet, with the reasons for each.

    Each reason cites its figures: the share of segment-and-tier peers that
    buy the product, the co-purchase rule from a product the customer buys,
    the parent and sibling accounts that buy it, and the graph proximity.
    """
    from keyaccount.crosssell import CrossSellModel  # imported when the command runs

    model = CrossSellModel.fit(source.load(), as_of)
    lang = lang.lower()
    if output_format.lower() != "table":
        rows = recommendation_rows(
            model, [customer_id], k=k, lang=lang, exclude=exclude, boost=_parse_boosts(boost)
        )
        emit(Section("recommendations", RECOMMENDATION_KEYS, rows), output_format)
        return
    print_recommendations(
        make_console(),
        model,
        [customer_id],
        k=k,
        lang=lang,
        exclude=exclude,
        boost=_parse_boosts(boost),
    )


@click.command()
@click.option(
    "--by",
    type=click.Choice(["segment", "tier"]),
    default="segment",
    show_default=True,
    help="Rows of the penetration matrix.",
)
@click.option(
    "--threshold",
    type=click.FloatRange(0.0, 1.0, max_open=True),
    default=0.0,
    show_default=True,
    help="A cell counts when its penetration is at most this.",
)
@count_option("--top", default=20, help="How many cells to list.")
@click.option(
    "--all-products",
    is_flag=True,
    help="Also list products that serve other segments than the row's.",
)
@click.option(
    "--as-of", type=PERIOD, default=None, help="As-of month [default: last with revenue]."
)
@portfolio_source
@format_option
@lang_option
def whitespace(
    by: str,
    threshold: float,
    top: int,
    all_products: bool,
    as_of: Period | None,
    output_format: str,
    lang: str,
    source: PortfolioSource,
) -> None:
    """List whitespace: segment (or tier) x product cells nobody (or few) buy, by revenue.

    Each cell's estimate is what its customers would pay if they bought at
    the median of their peers that buy the product (see the crosssell docs).
    """
    from keyaccount.crosssell import whitespace as find_whitespace  # imported when run

    lang = lang.lower()
    table = find_whitespace(
        source.load(),
        as_of,
        by=by,  # type: ignore[arg-type]
        threshold=threshold,
        relevant_only=not all_products,
    )
    cells = list(table)[:top]
    if output_format.lower() != "table":
        rows = [
            {
                "group": cell.group,
                "product_id": cell.product_id,
                "customers": cell.customers,
                "buyers": cell.buyers,
                "penetration": cell.penetration,
                "candidates": len(cell.candidate_ids),
                "estimated_revenue": cell.estimated_revenue,
            }
            for cell in cells
        ]
        emit(Section("whitespace", WHITESPACE_KEYS, rows), output_format)
        return
    zh = lang == "zh"
    as_of_text = table.penetration.as_of
    title = (
        f"空白市场（{as_of_text}，{count(len(table))}个单元）"
        if zh
        else f"Whitespace ({as_of_text}, {count(len(table))} cells)"
    )
    out = report_table(title)
    for header in (
        ("行业" if by == "segment" else "层级") if zh else by,
        "产品" if zh else "product",
        "客户数" if zh else "customers",
        "渗透率" if zh else "penetration",
        money_heading("预估收入" if zh else "estimate", "yuan", lang),
    ):
        out.add_column(header, justify="left" if header in ("product", "产品") else "right")
    out.columns[0].justify = "left"
    unassigned = "未分配" if zh else "UNASSIGNED"
    for cell in cells:
        out.add_row(
            cell.group.label(lang) if cell.group is not None else unassigned,
            product_label(cell.product_id, lang),
            count(len(cell.candidate_ids)),
            percent(cell.penetration),
            money(cell.estimated_revenue_fen),
        )
    console = make_console()
    console.print(out)
    total = money(table.total_estimated_revenue_fen)
    console.print(
        f"预估收入合计：{total}元" if zh else f"Total estimate: {total} yuan", markup=False
    )
