"""Explanations of many decisions as columns: what one rule cites, and its text for every row.

:class:`Citations` holds, for the rows one rule explains, each name the rule may cite
(in :func:`~keyaccount.rules.compiler.key_order`), where it is cited and its values
(fen, counts or float64 ratios). :func:`citation_texts` writes the text of every row
at once with the pieces of :mod:`keyaccount.portfolio.texts`, equal to
:func:`~keyaccount.domain.format_explanation` of each row's explanation: money and
counts are written over the columns three digits at a time, a ratio (its shortest
round-trip digits) once per distinct value by :func:`~keyaccount.domain.format_value`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.domain import fen_to_yuan, format_value, metric_label, yuan_to_fen
from keyaccount.portfolio.texts import TextColumn, integer_pieces, keyed, money_pieces
from keyaccount.rules._ast import ValueType

if TYPE_CHECKING:
    from collections.abc import Sequence

    from keyaccount.domain import ExplanationValue, ProductCatalog

__all__ = ["Citations", "citation_texts", "citations_from_explanations"]


@attrs.frozen(eq=False)
class Citations:
    """What one rule cites for the rows it explains (moves and held demotions).

    Attributes:
        rows: Positions of the rows (customers) in the evaluation, ascending.
        names: The names the rule may cite, in explanation order.
        types: The type of each name's values.
        cited: Per name, where it is cited (one flag per row).
        values: Per name, the values: ``int64`` fen or counts, ``float64`` ratios.
        absent: Per name, where the value is absent.
    """

    rows: npt.NDArray[np.int64]
    names: tuple[str, ...]
    types: tuple[ValueType, ...]
    cited: tuple[npt.NDArray[np.bool_], ...]
    values: tuple[npt.NDArray[Any], ...]
    absent: tuple[npt.NDArray[np.bool_], ...]

    def explanation(self, i: int) -> tuple[tuple[str, ExplanationValue], ...]:
        """The explanation of row ``i`` (a position in :attr:`rows`) as ``(name, value)`` pairs."""
        out: list[tuple[str, ExplanationValue]] = []
        for name, kind, cited, values, absent in zip(
            self.names, self.types, self.cited, self.values, self.absent, strict=True
        ):
            if not cited[i]:
                continue
            value: ExplanationValue = None
            if not absent[i]:
                raw = values[i].item()
                if kind is ValueType.MONEY:
                    value = fen_to_yuan(int(raw))
                elif kind is ValueType.COUNT:
                    value = int(raw)
                else:
                    value = float(raw)
            out.append((name, value))
        return tuple(out)


def citations_from_explanations(
    rows: npt.NDArray[np.int64],
    names: Sequence[tuple[str, ValueType]],
    explanations: Sequence[tuple[tuple[str, ExplanationValue], ...]],
) -> Citations:
    """:class:`Citations` from one explanation per row (evaluators that make them one by one)."""
    m = len(explanations)
    cited, values, absent = [], [], []
    for name, kind in names:
        flags = np.zeros(m, dtype=np.bool_)
        missing = np.zeros(m, dtype=np.bool_)
        array = np.zeros(m, dtype=np.float64 if kind is ValueType.RATIO else np.int64)
        for i, explanation in enumerate(explanations):
            for key, value in explanation:
                if key != name:
                    continue
                flags[i] = True
                if value is None:
                    missing[i] = True
                elif kind is ValueType.MONEY:
                    array[i] = yuan_to_fen(value)  # type: ignore[arg-type]
                else:
                    array[i] = value  # type: ignore[assignment]
        cited.append(flags)
        values.append(array)
        absent.append(missing)
    return Citations(
        rows=rows,
        names=tuple(n for n, _ in names),
        types=tuple(t for _, t in names),
        cited=tuple(cited),
        values=tuple(values),
        absent=tuple(absent),
    )


def citation_texts(
    citations: Citations, lang: str, *, catalog: ProductCatalog | None = None
) -> npt.NDArray[np.object_]:
    """The text of each row's explanation, as ``format_explanation`` writes it.

    Args:
        citations: What one rule cites.
        lang: ``"en"`` or ``"zh"`` (checked by the caller).
        catalog: Where the Chinese names of products cited by ``share()`` come from.

    Returns:
        One ``str`` per row of ``citations.rows``.
    """
    zh = lang == "zh"
    m = int(citations.rows.shape[0])
    column = TextColumn(m)
    earlier = np.zeros(m, dtype=np.bool_)
    sep, equals = ("，", "：") if zh else (", ", "=")
    for name, kind, cited, values, absent in zip(
        citations.names,
        citations.types,
        citations.cited,
        citations.values,
        citations.absent,
        strict=True,
    ):
        label = metric_label(name, lang, catalog=catalog) + equals
        column.add((sep + label, label), np.where(cited, np.where(earlier, 0, 1), -1))
        earlier = earlier | cited
        given = cited & ~absent
        column.text(format_value(None, lang), where=cited & absent)
        if kind is ValueType.MONEY:
            money_pieces(column, values, thousands="," if zh else "", where=given)
            column.text("元" if zh else "", where=given)
        elif kind is ValueType.COUNT:
            integer_pieces(column, values, thousands="," if zh else "", where=given)
        else:
            _ratio_piece(column, np.asarray(values, dtype=np.float64), given, lang)
    return column.objects()


def _ratio_piece(
    column: TextColumn, ratios: npt.NDArray[np.float64], given: npt.NDArray[np.bool_], lang: str
) -> None:
    """Ratios in their shortest round-trip digits, formatted once per distinct value."""
    rows = np.flatnonzero(given)
    codes = np.full(column.size, -1, dtype=np.int64)
    dictionary: list[str] = []
    if rows.size:
        picked = ratios[rows]
        dictionary, sub = keyed(
            picked.view(np.int64), lambda i: format_value(float(picked[i]), lang)
        )
        codes[rows] = sub
    column.add(dictionary, codes)
