"""Target attainment of the project groups as bars (stacked by segment in a table by segment)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keyaccount.domain import NO_CODE, SEGMENTS, ProjectGroup, check_lang, default_project_groups
from keyaccount.exceptions import ValidationError
from keyaccount.operations import AttainmentTable, PeriodSpan, SpanKind
from keyaccount.plot._mpl import apply_fonts, axes_for
from keyaccount.plot._text import group_label

if TYPE_CHECKING:
    from collections.abc import Iterable

    from matplotlib.axes import Axes

    from keyaccount.domain import Period

__all__ = ["attainment_by_group"]

_SEGMENT_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
)
"""One colour per segment in code order, customers without a segment last."""


def attainment_by_group(
    table: AttainmentTable,
    span: PeriodSpan | Period | str | None = None,
    *,
    ytd: bool = False,
    groups: Iterable[ProjectGroup] | None = None,
    ax: Axes | None = None,
    lang: str = "en",
    title: str | None = None,
) -> Axes:
    """Attainment of each project group's target for one span, as bars around a 100% line.

    A table by group gives one bar per group (gid ``"attainment <group id>"``),
    labelled with its attainment in percent (float64 attainment x 100, one
    decimal); a group whose target is absent or not positive gets no bar and the
    label ``no target`` (无目标). A table by segment stacks each group's bar from
    the segments' contributions (gid ``"attainment <group id> <SEGMENT>"``,
    ``UNASSIGNED`` for customers without a segment), with a legend of segments and
    the group's total above. A dashed line (gid ``"target"``) marks 100%.

    Args:
        table: ``keyaccount.operations.attainment(...)``.
        span: The month, quarter or year shown (default: the year of the table's
            last month).
        ytd: Show year-to-date attainment (the ``ytd_attainment`` column) instead.
        groups: Project groups whose names label the bars (default: the shipped
            groups, ``default_project_groups()``; a group not among them is shown by
            its id).
        ax: The axes to draw into; a new figure when ``None``.
        lang: ``"en"`` or ``"zh"``: group names, segment labels, axis words.
        title: The title (default: what is shown and the span).

    Returns:
        The axes drawn into.

    Raises:
        ValidationError: the table has no rows for ``span``, or ``lang`` is not
            ``"en"`` or ``"zh"``.
        InvalidPeriodError: ``span`` is not a month, quarter or year.
    """
    language = check_lang(lang, where="attainment_by_group")
    chosen = (
        PeriodSpan.containing(SpanKind.YEAR, table.months.end)
        if span is None
        else PeriodSpan.parse(span)
    )
    rows = np.flatnonzero(
        (table.kind == chosen.kind.months) & (table.start == chosen.start.ordinal)
    )
    if rows.size == 0:
        raise ValidationError(
            f"attainment_by_group: the table (months {table.months}) has no rows for {chosen}"
        )
    names = {
        g.id: g.name(language) for g in (default_project_groups() if groups is None else groups)
    }
    column = "ytd_attainment" if ytd else "attainment"
    values = table.columns[column][rows]
    absent = table.absent[column][rows]
    group_codes = table.group[rows].tolist()
    segment_codes = table.segment[rows].tolist()
    present_groups = sorted(set(group_codes))
    position = {code: i for i, code in enumerate(present_groups)}
    axes = axes_for(ax, (9.0, 5.5))
    totals = np.zeros(len(present_groups))
    has_value = np.zeros(len(present_groups), dtype=bool)
    order = [*range(len(SEGMENTS)), NO_CODE] if table.by_segment else [NO_CODE]
    for seg in order:
        picked = [i for i, s in enumerate(segment_codes) if s == seg and not absent[i]]
        if not picked:
            continue
        xs = [position[group_codes[i]] for i in picked]
        heights = [float(values[i]) * 100.0 for i in picked]
        segment = None if seg == NO_CODE else SEGMENTS[seg]
        bars = axes.bar(
            xs,
            heights,
            bottom=totals[xs],
            width=0.65,
            color=_SEGMENT_COLOURS[seg] if table.by_segment else "#2e86c1",
            label=group_label(segment, language) if table.by_segment else "_bars",
        )
        for bar, i in zip(bars, picked, strict=True):
            suffix = f" {segment.name if segment else 'UNASSIGNED'}" if table.by_segment else ""
            bar.set_gid(f"attainment {table.group_ids[group_codes[i]]}{suffix}")
        totals[xs] += heights
        has_value[xs] = True
    for x in range(len(present_groups)):
        text = (
            f"{totals[x]:.1f}%" if has_value[x] else ("无目标" if language == "zh" else "no target")
        )
        axes.annotate(
            text,
            (x, totals[x] if has_value[x] else 0.0),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
        )
    axes.axhline(100.0, color="grey", linestyle="--", linewidth=0.9, gid="target")
    labels = [names.get(table.group_ids[c], table.group_ids[c]) for c in present_groups]
    axes.set_xticks(range(len(present_groups)), labels, rotation=30, ha="right")
    zh = language == "zh"
    axes.set_ylabel(
        ("累计目标达成率（%）" if ytd else "目标达成率（%）")
        if zh
        else ("year-to-date attainment (%)" if ytd else "attainment (%)")
    )
    if table.by_segment:
        axes.legend(
            fontsize=8,
            title="行业" if zh else "segment",
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    default = (
        f"各项目组{'累计' if ytd else ''}目标达成率（{chosen}）"
        if zh
        else f"{'Year-to-date t' if ytd else 'T'}arget attainment by project group, {chosen}"
    )
    axes.set_title(default if title is None else title)
    apply_fonts(language, axes)
    return axes
