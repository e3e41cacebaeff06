"""RFM scores (quantile bins or the user's cut points) and named segments.

The default follows pymc-marketing's ``clv.rfm_segments`` (0.19): scores
1..4 from quartiles of the *segmentation* values, a three-digit code such
as ``"434"``, and its five named segments (every other code is ``"Other"``).
The segmentation values are those pymc-marketing takes from its
``rfm_summary(..., include_first_transaction=True)``:

- recency: ``T - recency``, the time since the last purchase period (lower is better);
- frequency: purchase periods, the first included (``frequency + 1``);
- monetary: mean amount of all purchase periods, the first included.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.analysis._rfm import Lookup
from keyaccount.exceptions import ValidationError, shorten
from keyaccount.portfolio import frames as fr
from keyaccount.rules import UserMetric
from keyaccount.utils.display import HEAD_ROWS, html_table

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pandas as pd

    from keyaccount.analysis._rfm import RfmTable

__all__ = ["DEFAULT_SEGMENTS", "OTHER", "TIES", "RfmScores", "rank_scores", "rfm_scores"]

OTHER = "Other"
"""The segment of a code no segment lists."""

DEFAULT_SEGMENTS: Mapping[str, tuple[str, ...]] = {
    "Premium Customer": ("334", "443", "444", "344", "434", "433", "343", "333"),
    "Repeat Customer": ("244", "234", "232", "332", "143", "233", "243"),
    "Top Spender": (
        *("424", "414", "144", "314", "324", "124", "224", "423", "413", "133", "323"),
        *("313", "134"),
    ),
    "At Risk Customer": (
        *("422", "223", "212", "122", "222", "132", "322", "312", "412", "123", "214"),
    ),
    "Inactive Customer": ("411", "111", "113", "114", "112", "211", "311"),
}
"""pymc-marketing's default ``segment_config`` of ``rfm_segments``: segment name to codes."""

_VARIABLES = ("recency", "frequency", "monetary")
I8 = npt.NDArray[np.int8]
F64 = npt.NDArray[np.float64]


def quantile_scores(values: F64, q: int, *, reverse: bool = False) -> I8:
    """Scores 1..k of ``values`` in ``q`` quantile bins, as ``pandas.qcut(duplicates="drop")``.

    The bin edges are the ``0, 1/q, ..., 1`` quantiles (linear interpolation);
    equal edges are merged, leaving ``k <= q`` bins; the first bin is closed,
    the others are ``(lower, upper]``. The score is the bin's number from 1,
    or from ``k`` down when ``reverse`` (lower values score higher).
    """
    if not values.shape[0]:
        return np.zeros(0, dtype=np.int8)
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, q + 1)))
    k = max(edges.shape[0] - 1, 1)
    index = np.maximum(np.searchsorted(edges, values, side="left"), 1) - 1
    index = np.minimum(index, k - 1)
    scores: I8 = ((k - index) if reverse else (index + 1)).astype(np.int8)
    return scores


def rank_scores(values: F64, q: int, *, reverse: bool = False) -> I8:
    """Scores 1..q of ``values`` by rank, as ``pandas.qcut(x.rank(method="first"), q)``.

    Equal values are ranked in their order (the first seen ranks lower), then
    the ranks ``1..n`` are cut at their ``0, 1/q, ..., 1`` quantiles, in exact
    integer arithmetic: rank ``r`` scores ``max(1, ceil(q * (r - 1) / (n - 1)))``
    (a single value scores 1). Scores never decrease as the value grows; with
    ``n >= q`` every score is used and the counts of any two scores differ by
    at most one. ``reverse``: lower values score higher. (pandas computes the
    edges in floating point, so a rank lying exactly on an edge may get the
    score above in ``qcut``: 19 values cut in 6 put rank 16 in bin 6 there,
    5 here, where the counts stay within one of another.)
    """
    n = values.shape[0]
    if n <= 1:
        return np.ones(n, dtype=np.int8)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(values, kind="stable")] = np.arange(n, dtype=np.int64)  # r - 1
    index = np.maximum(-(-q * rank // (n - 1)), 1)
    scores: I8 = ((q + 1 - index) if reverse else index).astype(np.int8)
    return scores


TIES = ("drop", "rank")
"""How quantile scores treat equal values (``rfm_scores(ties=...)``)."""


def cut_scores(values: F64, cuts: Sequence[float], *, reverse: bool = False) -> I8:
    """Scores 1..len(cuts)+1: bins ``(-inf, c1], ..., (ck, inf)``; ``reverse`` as above."""
    edges = np.asarray(cuts, dtype=np.float64)
    index = np.searchsorted(edges, values, side="left")
    k = edges.shape[0] + 1
    scores = (k - index) if reverse else (index + 1)
    return scores.astype(np.int8)


def _check_cuts(cuts: Mapping[str, Sequence[Any]] | None) -> dict[str, list[float]]:
    if cuts is None:
        return {}
    checked: dict[str, list[float]] = {}
    for name, edges in cuts.items():
        if name not in _VARIABLES:
            raise ValidationError(
                f"unknown variable {shorten(name)} in cuts; expected one of {', '.join(_VARIABLES)}"
            )
        try:
            values = [_cut_value(name, e) for e in edges]
        except (ArithmeticError, TypeError, ValueError):
            raise ValidationError(
                f"cuts[{name!r}] must be numbers (monetary in yuan), got {edges!r}"
            ) from None
        if not values or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValidationError(f"cuts[{name!r}] must be increasing cut points, got {edges!r}")
        checked[name] = values
    return checked


def _cut_value(name: str, edge: Any) -> float:
    """A cut point on the scale of :func:`segmentation_values`: monetary yuan become fen.

    The yuan are read as written (``Decimal(str(edge))``) and scaled exactly; a mean of
    integer fen then compares with the cut without the rounding of a yuan float.
    """
    if name != "monetary":
        return float(edge)
    value = Decimal(str(edge)) * 100
    if not value.is_finite():
        raise ValueError(edge)
    return float(value)


def _check_segments(segments: Mapping[str, Sequence[str]]) -> dict[str, str]:
    code_segment: dict[str, str] = {}
    for name, codes in segments.items():
        if isinstance(codes, str):
            raise ValidationError(f"segments[{name!r}] must be a list of codes such as ['444']")
        for code in codes:
            if code in code_segment and code_segment[code] != name:
                raise ValidationError(
                    f"code {code!r} is in two segments: {code_segment[code]!r} and {name!r}"
                )
            code_segment[code] = name
    return code_segment


@attrs.frozen(eq=False, repr=False)
class RfmScores:
    """RFM scores and segments of the customers of an :class:`RfmTable`, in its order.

    Attributes:
        table: The RFM table scored.
        r_score: Recency score (``int8``; higher: more recent).
        f_score: Frequency score (``int8``).
        m_score: Monetary score (``int8``).
        segment: The segment of each customer (``object`` array of ``str``).
        segments: The segment names, in the mapping's order, then ``"Other"``.
    """

    table: RfmTable
    r_score: I8
    f_score: I8
    m_score: I8
    segment: npt.NDArray[np.object_]
    segments: tuple[str, ...]

    def __len__(self) -> int:
        return int(self.r_score.shape[0])

    def __repr__(self) -> str:
        counts = self.counts()
        top = ", ".join(f"{name} {n:,}" for name, n in counts.most_common(3))
        more = f", ... ({len(counts)} segments)" if len(counts) > 3 else ""
        return f"<RfmScores: {len(self):,} customers; {top}{more}>"

    def _repr_html_(self) -> str:
        ids = self.table.customer_ids
        scores = (self.r_score, self.f_score, self.m_score)
        rows = (
            (ids[i], *(int(s[i]) for s in scores), self.segment[i])
            for i in range(min(len(self), HEAD_ROWS))
        )
        headings = ("customer_id", "r_score", "f_score", "m_score", "segment")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="customers")

    @property
    def code(self) -> npt.NDArray[np.object_]:
        """The three-digit code of each customer, recency first (``"434"``)."""
        codes = np.empty(len(self), dtype=object)
        codes[:] = [
            f"{r}{f}{m}"
            for r, f, m in zip(
                self.r_score.tolist(), self.f_score.tolist(), self.m_score.tolist(), strict=True
            )
        ]
        return codes

    def counts(self) -> Counter[str]:
        """Customers per segment."""
        return Counter(self.segment.tolist())

    def to_pandas(self) -> pd.DataFrame:
        """The table's columns, then the three scores, ``rfm_score`` (the code) and ``segment``.

        ``segment`` is a category in the segments' order, ``"Other"`` last.
        """
        frame = self.table.to_pandas()
        pd = fr.require("pandas")
        frame["r_score"] = self.r_score.astype(np.int64)
        frame["f_score"] = self.f_score.astype(np.int64)
        frame["m_score"] = self.m_score.astype(np.int64)
        frame["rfm_score"] = pd.Series(self.code, dtype=object).to_numpy()
        frame["segment"] = pd.Categorical(self.segment, categories=list(self.segments))
        return frame

    def as_metrics(self) -> tuple[UserMetric, ...]:
        """``rfm_r_score``, ``rfm_f_score``, ``rfm_m_score`` (counts) as user metrics for policies.

        A customer of the portfolio that was not scored has them absent.
        """
        ids = self.table.customer_ids
        return tuple(
            UserMetric(f"rfm_{v}_score", "count", Lookup(ids, s.astype(np.int64)), f"RFM {v} score")
            for v, s in (("r", self.r_score), ("f", self.f_score), ("m", self.m_score))
        )


def segmentation_values(table: RfmTable) -> tuple[F64, F64, F64]:
    """pymc-marketing's segmentation recency, frequency and monetary (see the module).

    Monetary is the mean fen per purchase period (scores depend only on its order, and
    cut points in yuan are scaled to fen exactly).
    """
    periods = table.frequency + 1
    recency = table.T - table.recency
    monetary = table.total_fen.astype(np.float64) / periods  # in fen: one rounding
    return recency, periods.astype(np.float64), monetary


def rfm_scores(
    table: RfmTable,
    *,
    q: int = 4,
    cuts: Mapping[str, Sequence[Any]] | None = None,
    segments: Mapping[str, Sequence[str]] | None = None,
    ties: str = "drop",
) -> RfmScores:
    """Score every customer of ``table`` and name its segment.

    Each of recency (time since the last purchase period, in units of the
    table's ``freq``), frequency (purchase periods, the first included) and
    monetary (mean yuan per purchase period, the first included) gets a
    score: by ``q`` quantile bins as ``pandas.qcut(..., duplicates="drop")``
    makes them (equal edges merged: ties never split, and a variable with
    few distinct values gets fewer scores), or by the cut points in ``cuts``
    (``{"monetary": [1000, 10000]}``: bins up to and including each cut).
    Recency scores run the other way: the most recent get the highest.
    With ``ties="rank"`` the quantile bins cut the values' ranks instead, as
    ``pandas.qcut(x.rank(method="first"), q)``: equal values (many customers
    with the same recency) are split in their table order, so every score
    from 1 to ``q`` is used once there are ``q`` customers, each by as many
    customers as the others give or take one (:func:`rank_scores`).
    The code ``f"{r}{f}{m}"`` then names the segment: ``segments`` maps a
    segment name to its codes (as pymc-marketing's ``segment_config``); by
    default :data:`DEFAULT_SEGMENTS`, pymc-marketing's, which needs scores up
    to 4. A code no segment lists is ``"Other"``.

    Args:
        table: The RFM table (:func:`~keyaccount.analysis.rfm`).
        q: Quantile bins per variable without cut points (2..10).
        cuts: Cut points per variable (``"recency"``, ``"frequency"``, ``"monetary"``).
        segments: Segment names and their codes.
        ties: ``"drop"`` (pymc-marketing's: equal quantile edges merged) or
            ``"rank"`` (quantiles of the ranks; ties split in table order).

    Raises:
        ValidationError: a bad ``q``, ``cuts``, ``segments`` or ``ties``
            (naming the allowed values); the default segments with scores above 4.

    Example:
        >>> scores = rfm_scores(table)  # doctest: +SKIP
        >>> scores.counts().most_common(1)  # doctest: +SKIP
        [('Premium Customer', 812)]
    """
    if not isinstance(q, int) or isinstance(q, bool) or not 2 <= q <= 10:
        raise ValidationError(f"q must be a whole number of bins from 2 to 10, got {q!r}")
    fr.check_choice(ties, TIES, what="ties", where="rfm_scores")
    edges = _check_cuts(cuts)
    values = dict(zip(_VARIABLES, segmentation_values(table), strict=True))
    scores: dict[str, I8] = {}
    for name in _VARIABLES:
        reverse = name == "recency"
        if name in edges:
            scores[name] = cut_scores(values[name], edges[name], reverse=reverse)
        elif ties == "rank":
            scores[name] = rank_scores(values[name], q, reverse=reverse)
        else:
            scores[name] = quantile_scores(values[name], q, reverse=reverse)
    mapping = DEFAULT_SEGMENTS if segments is None else segments
    if segments is None and any(s.shape[0] and int(s.max()) > 4 for s in scores.values()):
        raise ValidationError(
            "the default segments (pymc-marketing's) are defined for scores 1 to 4; "
            "give q=4 or segments={name: codes} of your own"
        )
    code_segment = _check_segments(mapping)
    result = RfmScores(
        table,
        scores["recency"],
        scores["frequency"],
        scores["monetary"],
        np.empty(len(table), dtype=object),
        (*mapping, OTHER),
    )
    result.segment[:] = [code_segment.get(code, OTHER) for code in result.code.tolist()]
    return result
