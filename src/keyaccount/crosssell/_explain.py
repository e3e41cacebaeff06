"""The explanation text of recommendations: the sentences of one, and the column of many.

The sentence functions (:func:`head`, :func:`peer_reason`, ...) are the specification:
:meth:`~keyaccount.crosssell.Recommendation.explanation` joins them for one
recommendation. :func:`explanation_pieces` makes the same texts for every
recommendation of a table, a chunk at a time, as the pieces of one
:class:`~keyaccount.portfolio.texts.TextColumn` (:func:`explanation_column`: one chunk):
each sentence is determined by a few integer keys (the product, the segment-and-tier
cell and the peer buyers, the rule's source and target products, the parent, the
rounded figures), never by the chunk, so it is formatted once per distinct key by the
same function and the pieces are joined over the columns.
"""

from __future__ import annotations

import math
import string
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import NO_CODE, SEGMENTS, TIERS, Segment, Tier
from keyaccount.portfolio.texts import ChunkedPieces, TextColumn, fixed_keys, significant_keys

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = [
    "Explained",
    "boost_reason",
    "child_buyers",
    "explanation_column",
    "explanation_pieces",
    "fallback_reason",
    "figure",
    "head",
    "parent_reason",
    "pct",
    "peer_reason",
    "proximity_reason",
    "rule_reason",
    "score_text",
    "sibling_reason",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

SEPARATOR = {"en": "; ", "zh": "；"}
"""Between the reasons of one recommendation."""

SHOWN_SIBLINGS = 5
"""Sibling accounts named in a reason; more are marked (``, ...`` / ``等``)."""

_PROXIMITY = {
    "en": "graph proximity (personalised PageRank) {proximity}, {component} of the closest "
    "candidate",
    "zh": "图邻近度（个性化随机游走）{proximity}，为最高候选的 {component}",
}


def pct(x: float) -> str:
    """A share as a percentage with one decimal (``12.5%``)."""
    return f"{100 * x:.1f}%"


def figure(x: float) -> str:
    """Four significant digits, never in exponent form (``0.00001234``, ``1500000``)."""
    if not math.isfinite(x):
        return str(x)
    return format(Decimal(f"{x:.4g}"), "f")


def head(lang: str, product_id: str, name: str, name_zh: str) -> str:
    """``Recommend <name> (<id>), score `` / ``推荐<name_zh>，得分 ``."""
    return f"推荐{name_zh}，得分 " if lang == "zh" else f"Recommend {name} ({product_id}), score "


def score_text(lang: str, score: float) -> str:
    """The score with four decimals, and the colon before the reasons."""
    return f"{score:.4f}" + ("：" if lang == "zh" else ": ")


def peer_reason(
    lang: str, peer_buyers: int, peers: int, segment: Segment | None, tier: Tier
) -> str:
    """How many of the customer's segment-and-tier peers buy the product."""
    share = pct(peer_buyers / peers)
    if lang == "zh":
        seg = segment.label_zh if segment else "未分配行业"
        return (
            f"同行业同层级的 {peers} 家客户（{seg}、{tier.label_zh}）中有 "
            f"{peer_buyers} 家在用（{share}）"
        )
    cell = f"{segment.label() if segment else 'no segment'} / {tier.label()}"
    return f"{peer_buyers} of {peers} peers in {cell} buy it ({share})"


def rule_reason(
    lang: str,
    co_buyers: int,
    antecedent_buyers: int,
    product_id: str,
    name_zh: str | None,
    confidence: float,
    lift: float,
) -> str:
    """The best rule from a product the customer buys: its counts, confidence and lift."""
    if lang == "zh":
        return (
            f"购买{name_zh or product_id}的 {antecedent_buyers} 家活跃客户中有 "
            f"{co_buyers} 家也在用（置信度 {pct(confidence)}，提升度 {lift:.2f}）"
        )
    return (
        f"{co_buyers} of the {antecedent_buyers} active customers that buy {product_id}, "
        f"which it buys, also buy it (confidence {pct(confidence)}, lift {lift:.2f})"
    )


def parent_reason(lang: str, parent_id: str) -> str:
    """The parent account buys the product."""
    return f"上级客户 {parent_id} 在用" if lang == "zh" else f"its parent {parent_id} buys it"


def sibling_reason(lang: str, buyer_ids: Sequence[str], buyers: int, siblings: int) -> str:
    """How many of the sibling accounts buy the product, naming the first few.

    Args:
        lang: ``"en"`` or ``"zh"``.
        buyer_ids: The buyers' ids in row order (the first :data:`SHOWN_SIBLINGS` are named).
        buyers: How many siblings buy it.
        siblings: How many siblings there are.
    """
    more = buyers > SHOWN_SIBLINGS
    shown = buyer_ids[:SHOWN_SIBLINGS]
    if lang == "zh":
        return (
            f"{siblings} 家兄弟客户中有 {buyers} 家在用：{'、'.join(shown)}{'等' if more else ''}"
        )
    return (
        f"{buyers} of {siblings} sibling accounts buy it: "
        f"{', '.join(shown)}{', ...' if more else ''}"
    )


def fallback_reason(lang: str, popularity: float) -> str:
    """A customer that buys nothing: popularity stands in for proximity."""
    if lang == "zh":
        return f"该客户在窗口内没有购买，图邻近度以普及率代替：{pct(popularity)} 的活跃客户在用"
    return (
        "it buys nothing in the window, so popularity stands in for graph "
        f"proximity: {pct(popularity)} of active customers buy it"
    )


def _proximity_figure(lang: str, proximity: float) -> str:
    return figure(proximity) if lang == "zh" else f"{proximity:.4g}"


def proximity_reason(lang: str, proximity: float, component: float) -> str:
    """The graph proximity and how close it is to the closest candidate."""
    return _PROXIMITY[lang].format(
        proximity=_proximity_figure(lang, proximity), component=pct(component)
    )


def boost_reason(lang: str, boost: float) -> str:
    """A campaign factor other than 1."""
    return f"活动加权 ×{figure(boost)}" if lang == "zh" else f"campaign boost x{boost:g}"


# ---------------------------------------------------------------------- the column


@attrs.frozen(eq=False)
class Explained:
    """What the explanations of many recommendations cite, one element per recommendation.

    Attributes:
        product: Product column of the recommendation.
        score: Its score.
        segment: The customer's segment code (``-1``: unassigned).
        tier: The customer's tier rank.
        cell: The customer's segment-and-tier cell.
        peers: Other customers of the cell.
        peer_buyers: Of them, those that buy the product.
        source: Product column of the rule's source (``-1``: no rule).
        co_buyers: Active customers that buy source and product (where a rule).
        source_buyers: Active customers that buy the source (where a rule).
        confidence: The rule's confidence (where a rule).
        lift: The rule's lift (where a rule).
        parent: The customer's parent row (``-1``: none).
        parent_buys: Whether the parent buys the product.
        sibling_buyers: Siblings that buy the product.
        siblings: The parent's other children.
        empty: The customer buys nothing in the window.
        proximity: Graph proximity.
        component: The graph component of the score.
        product_ids: Every product id, by column.
        names: Every product's English name.
        names_zh: Every product's Chinese name.
        popularity: Every product's popularity.
        boost: Every product's boost.
        customer_ids: Every customer id, by row.
        buyers: ``(keys, rows)``: the rows of the children that buy a product,
            ordered by ``parent * products + product`` (``keys``) then by row.
    """

    product: I64
    score: F64
    segment: I64
    tier: I64
    cell: I64
    peers: I64
    peer_buyers: I64
    source: I64
    co_buyers: I64
    source_buyers: I64
    confidence: F64
    lift: F64
    parent: I64
    parent_buys: npt.NDArray[np.bool_]
    sibling_buyers: I64
    siblings: I64
    empty: npt.NDArray[np.bool_]
    proximity: F64
    component: F64
    product_ids: tuple[str, ...]
    names: tuple[str, ...]
    names_zh: tuple[str, ...]
    popularity: F64
    boost: F64
    customer_ids: npt.NDArray[np.object_]
    buyers: tuple[I64, I64]


def _sibling_buyer_ids(e: Explained, parent: int, product: int) -> tuple[str, ...]:
    """The ids of the children of ``parent`` that buy ``product``, in row order (the first few)."""
    keys, rows = e.buyers
    key = parent * len(e.product_ids) + product
    lo = int(np.searchsorted(keys, key, side="left"))
    hi = int(np.searchsorted(keys, key, side="right"))
    return tuple(str(c) for c in e.customer_ids[rows[lo : min(hi, lo + SHOWN_SIBLINGS)]])


def _reason(
    pieces: ChunkedPieces,
    lang: str,
    present: npt.NDArray[np.bool_],
    earlier: npt.NDArray[np.bool_],
    keys: I64,
    render: Callable[[int], str],
) -> None:
    """A reason keyed by ``keys`` where ``present``, after the separator where ``earlier``."""
    sep = SEPARATOR[lang]
    with_sep = keys * 2 + (present & earlier)

    def text(row: int) -> str:
        return (sep if earlier[row] else "") + render(row)

    pieces.add(present, with_sep, text)


def explanation_column(e: Explained, lang: str) -> TextColumn:
    """The explanation text of every recommendation of ``e``, as pieces over the columns.

    Equal, row for row, to joining :func:`head`, :func:`score_text` and the
    reasons as :meth:`~keyaccount.crosssell.Recommendation.explanation` does.
    """
    pieces = ChunkedPieces(int(e.product.shape[0]))
    pieces.start(0)
    explanation_pieces(pieces, e, lang)
    return pieces.column()


def explanation_pieces(pieces: ChunkedPieces, e: Explained, lang: str, start: int = 0) -> None:
    """Add the pieces of the recommendations of ``e``, one chunk of ``pieces``.

    Every key is a function of what the piece prints (never of the chunk), so the
    chunks of one column share their dictionaries.

    Args:
        pieces: Where to add (:meth:`~keyaccount.portfolio.texts.ChunkedPieces.start` called).
        e: The chunk's recommendations.
        lang: ``"en"`` or ``"zh"``.
        start: The chunk's first row in the column (keys of non-finite figures are rows).
    """
    n = int(e.product.shape[0])
    everyone = np.ones(n, dtype=np.bool_)
    j = e.product
    k = len(e.product_ids)

    def render_head(r: int) -> str:
        p = int(j[r])
        return head(lang, e.product_ids[p], e.names[p], e.names_zh[p])

    pieces.add(everyone, j, render_head)
    score_keys = fixed_keys(e.score, 4, start=start)
    pieces.add(everyone, score_keys, lambda r: score_text(lang, float(e.score[r])))

    earlier = np.zeros(n, dtype=np.bool_)

    present = e.peer_buyers > 0
    peer_key = e.cell * 2**32 + e.peer_buyers

    def render_peers(r: int) -> str:
        seg = int(e.segment[r])
        segment = None if seg == NO_CODE else SEGMENTS[seg]
        tier = TIERS[int(e.tier[r])]
        return peer_reason(lang, int(e.peer_buyers[r]), int(e.peers[r]), segment, tier)

    _reason(pieces, lang, present, earlier, peer_key, render_peers)
    earlier = earlier | present

    present = e.source >= 0
    rule_key = np.where(present, e.source, 0) * k + j

    def render_rule(r: int) -> str:
        src = int(e.source[r])
        return rule_reason(
            lang,
            int(e.co_buyers[r]),
            int(e.source_buyers[r]),
            e.product_ids[src],
            e.names_zh[src],
            float(e.confidence[r]),
            float(e.lift[r]),
        )

    _reason(pieces, lang, present, earlier, rule_key, render_rule)
    earlier = earlier | present

    present = e.parent_buys.astype(np.bool_)

    def render_parent(r: int) -> str:
        return parent_reason(lang, str(e.customer_ids[int(e.parent[r])]))

    _reason(pieces, lang, present, earlier, e.parent, render_parent)
    earlier = earlier | present

    present = (e.sibling_buyers > 0) & (e.parent != NO_CODE)
    sibling_key = np.maximum(e.parent, 0) * k + j

    def render_siblings(r: int) -> str:
        ids = _sibling_buyer_ids(e, int(e.parent[r]), int(j[r]))
        return sibling_reason(lang, ids, int(e.sibling_buyers[r]), int(e.siblings[r]))

    _reason(pieces, lang, present, earlier, sibling_key, render_siblings)
    earlier = earlier | present

    present = e.empty.astype(np.bool_)
    _reason(
        pieces,
        lang,
        present,
        earlier,
        j,
        lambda r: fallback_reason(lang, float(e.popularity[int(j[r])])),
    )
    earlier = earlier | present

    present = ~e.empty & (e.proximity > 0)
    _proximity(pieces, lang, present, earlier, e, start)
    earlier = earlier | present

    present = e.boost[j] != 1.0
    _reason(pieces, lang, present, earlier, j, lambda r: boost_reason(lang, float(e.boost[j[r]])))


def _proximity(
    pieces: ChunkedPieces,
    lang: str,
    present: npt.NDArray[np.bool_],
    earlier: npt.NDArray[np.bool_],
    e: Explained,
    start: int,
) -> None:
    """The proximity reason as its template: the figure and the component, keyed apart."""
    parts = list(string.Formatter().parse(_PROXIMITY[lang]))
    assert [p[1] for p in parts[:2]] == ["proximity", "component"], "template fields"
    before, between = parts[0][0], parts[1][0]
    after = "".join(p[0] for p in parts[2:])
    sep = SEPARATOR[lang]

    def first(r: int) -> str:
        opening = sep if earlier[r] else ""
        return opening + before + _proximity_figure(lang, float(e.proximity[r])) + between

    pieces.add(present, significant_keys(e.proximity) * 2 + (present & earlier), first)
    pieces.add(
        present,
        fixed_keys(100.0 * e.component, 1, start=start),
        lambda r: pct(float(e.component[r])) + after,
    )


def child_buyers(
    indptr: npt.NDArray[np.integer], indices: npt.NDArray[np.integer], parent: I64, products: int
) -> tuple[I64, I64]:
    """Basket entries of children as ``(parent * products + product, row)``, sorted.

    Args:
        indptr: The basket's CSR row pointers.
        indices: Its product columns.
        parent: Each row's parent (``-1``: none).
        products: The number of products.
    """
    rows = np.repeat(np.arange(parent.shape[0], dtype=np.int64), np.diff(indptr))
    has = parent[rows] != NO_CODE
    rows = rows[has]
    keys = parent[rows] * products + np.asarray(indices, dtype=np.int64)[has]
    order = np.argsort(keys, kind="stable")  # rows stay ascending within a key
    return keys[order], rows[order]
