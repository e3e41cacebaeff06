"""The bulk checks of Portfolio.from_frames against the plain per-row checks, their oracle.

The reference below reads the frames row by row, applying the rules of one value
(``keyaccount.portfolio._frames``' per-value functions, built on
``keyaccount.portfolio.fields``) and then the rules across rows in plain Python.
The bulk reader (text judged on its Arrow bytes, distinct values, array
operations, the portfolio built without a second round of checks) must accept
the same frames, build the same columns, and refuse the same rows with the same
column, value and reason.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from keyaccount import Period, Portfolio, default_catalog
from keyaccount.domain import NO_CODE, SUB_SEGMENTS, Segment, SubSegment, Tier, parent_cycles
from keyaccount.exceptions import CsvImportError
from keyaccount.portfolio import _frames as fx
from keyaccount.portfolio.fields import FieldError

if TYPE_CHECKING:
    from collections.abc import Callable

Problem = tuple[int, str | None, str, str]

# ---------------------------------------------------------------- the oracle


def _cell(parse: Callable[[object], Any], value: object) -> tuple[Any, str | None]:
    try:
        return parse(value), None
    except FieldError as exc:
        return None, exc.reason


def _shown(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else str(value)


def reference_customers(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, int], dict[int, Problem]]:
    """The customers of ``rows``, read row by row; each bad row's first problem."""
    problems: dict[int, Problem] = {}
    out: list[dict[str, Any]] = []

    def label(kind: type[Segment] | type[SubSegment] | type[Tier]) -> Callable[[object], int]:
        return lambda v: fx._label_code(v, kind)

    plain: tuple[tuple[str, Callable[[object], Any]], ...] = (
        ("customer_id", fx._customer_id),
        ("name", lambda v: "" if v is None else fx._text(v, "name")),
        ("segment", label(Segment)),
        ("sub_segment", label(SubSegment)),
        ("tier", label(Tier)),
        ("parent_id", lambda v: fx._optional_text(v, "parent id")),
        ("province", lambda v: fx._optional_text(v, "province")),
        ("first_period", fx._period),
        ("tier_since", fx._optional_period),
    )
    for r, row in enumerate(rows):
        got: dict[str, Any] = {}
        for column, parse in plain:
            value, reason = _cell(parse, row.get(column))
            if reason is not None:
                problems[r] = (r, column, _shown(row.get(column)), reason)
                break
            got[column] = value
            if column == "sub_segment" and value != NO_CODE:
                sub = SUB_SEGMENTS[value]
                seg = got["segment"]
                if seg == NO_CODE or sub.segment.code != seg:
                    owner = sub.segment.name
                    given_ = "a customer without a segment"
                    if seg != NO_CODE:
                        given_ = f"segment {list(Segment)[seg].name}"
                    reason = f"sub-segment {sub.name} belongs to segment {owner}, not to {given_}"
                    problems[r] = (r, column, sub.name, reason)
                    break
            if column == "parent_id" and value is not None and value == got["customer_id"]:
                problems[r] = (r, column, value, "a customer cannot be its own parent")
                break
            if column == "tier_since" and value != NO_CODE and value < got["first_period"]:
                text = str(Period.from_ordinal(value))
                first = str(Period.from_ordinal(got["first_period"]))
                problems[r] = (r, column, text, f"tier_since {text} is before first_period {first}")
                break
        out.append(got)
    position: dict[str, int] = {}
    for r, got in enumerate(out):
        if r in problems:
            continue
        cid = got["customer_id"]
        if cid in position:
            reason = f"duplicate customer id, first at row {position[cid]}"
            problems[r] = (r, "customer_id", cid, reason)
        else:
            position[cid] = r
    link = np.full(len(rows), NO_CODE, dtype=np.int64)
    for r, got in enumerate(out):
        pid = got.get("parent_id")
        if r in problems or pid is None:
            continue
        if pid not in position:
            problems[r] = (r, "parent_id", pid, f"unknown parent customer {pid!r}")
        else:
            link[r] = position[pid]
    for r in problems:
        link[r] = NO_CODE
    for cycle in parent_cycles(link):
        ids = [out[c]["customer_id"] for c in cycle]
        path = " -> ".join([*ids, ids[0]])
        for c in cycle:
            problems.setdefault(c, (c, "parent_id", out[c]["parent_id"], f"parent cycle: {path}"))
    return out, position, problems


def reference_revenue(
    rows: list[dict[str, Any]], customers: list[dict[str, Any]], position: dict[str, int]
) -> tuple[list[tuple[int, int, int, int, int]], dict[int, Problem]]:
    """The revenue records of ``rows``, read row by row; each bad row's first problem."""
    catalog = default_catalog()
    products = {pid: i for i, pid in enumerate(catalog)}

    def customer(value: object) -> int:
        cid = fx._customer_id(value)
        if cid not in position:
            raise FieldError(f"unknown customer {cid!r}")
        return position[cid]

    def product(value: object) -> int:
        if value is None or value == "":
            return products["standard_express"]
        text = fx._text(value, "product id")
        if text not in products:
            raise FieldError(f"unknown product {text!r}")
        return products[text]

    plain: tuple[tuple[str, Callable[[object], Any]], ...] = (
        ("customer_id", customer),
        ("period", fx._period),
        ("product_id", product),
        ("revenue", fx._money),
        ("volume", fx._volume),
    )
    problems: dict[int, Problem] = {}
    out: list[tuple[int, int, int, int, int]] = []
    for r, row in enumerate(rows):
        got: list[int] = []
        for column, parse in plain:
            value, reason = _cell(parse, row.get(column))
            if reason is not None:
                problems[r] = (r, column, _shown(row.get(column)), reason)
                break
            got.append(value)
        else:
            c, period = got[0], got[1]
            first = customers[c]["first_period"]
            if period < first:
                cid = customers[c]["customer_id"]
                reason = f"before customer {cid!r}'s first_period {Period.from_ordinal(first)}"
                problems[r] = (r, "period", str(Period.from_ordinal(period)), reason)
            else:
                out.append((got[0], got[2], got[1], got[3], got[4]))
    return out, problems


# ---------------------------------------------------------------- frames of good and bad values

IDS = ["C1", "C2", "中国C5", " C1", "C2 ", "", None, "C\x00", "\u3000C6", "C7\xa0", "C0"]
NAMES = ["a", "北京", "", None, "x\x01y", "tab\tand\nline", "é", " spaced "]
SEGMENTS = ["司法", "JUDICIAL", "", None, "FASHION", "金融", "insurance"]
SUBS = ["", None, "COURT", "NATIONAL_BANK", "法院", "NOPE"]
TIERS = ["KEY", "", None, "BIG", "重点客户", "dormant"]
PARENTS = ["", None, "C1", "C2", " C3 ", "ZZ", "C\x01", "  ", "C7"]
PROVINCES = ["", "  ", "广东", None, "x\x02", " 北京 "]
MONTHS = ["2021-01", "2021-06", "2021-13", "", None, "1899-12", "2022-02", "21-01"]
SINCE = ["", None, "2020-12", "2022-01", "bad", "2021-06"]
PRODUCTS = ["", None, "court_express", "nope", "policy_mailing", "\x03"]
MONEY = ["1.5", "1e5", "1.005", "", "nan", "-0.01", "123456789012", "7", None, " 1"]
VOLUMES = ["1", "", "-1", "2.5", "x", "0", None, "99999999999999"]

CUSTOMER_POOLS = {
    "customer_id": IDS,
    "name": NAMES,
    "segment": SEGMENTS,
    "sub_segment": SUBS,
    "tier": TIERS,
    "parent_id": PARENTS,
    "province": PROVINCES,
    "first_period": MONTHS,
    "tier_since": SINCE,
}
REVENUE_POOLS = {
    "customer_id": IDS,
    "period": MONTHS,
    "product_id": PRODUCTS,
    "revenue": MONEY,
    "volume": VOLUMES,
}
GOOD_CUSTOMER: dict[str, list[Any]] = {
    "customer_id": IDS[:5],
    "name": NAMES[:3],
    "segment": SEGMENTS[:2],
    "sub_segment": SUBS[:3],
    "tier": TIERS[:3],
    "parent_id": PARENTS[:4],
    "province": PROVINCES[:4],
    "first_period": MONTHS[:2],
    "tier_since": SINCE[:2],
}
GOOD_REVENUE: dict[str, list[Any]] = {
    "customer_id": IDS[:5],
    "period": ["2022-02", "2022-06"],
    "product_id": PRODUCTS[:3],
    "revenue": ["1.5", "-0.01", "7"],
    "volume": ["1", "", "0"],
}


@st.composite
def frame_rows(
    draw: st.DrawFn,
    pools: dict[str, list[Any]],
    good: dict[str, list[Any]],
    max_rows: int,
    *,
    customers: bool,
) -> list[dict[str, Any]]:
    """Rows of good values, or with a fortieth or a tenth of the cells bad.

    Good customer ids are ``C<row>`` and good parents earlier rows, so that many
    frames pass; good revenue names ``C0`` or ``C1``.
    """
    n = draw(st.integers(0, max_rows))
    odds = draw(st.sampled_from([0, 40, 10]))  # 0: every cell good
    rows = []
    for i in range(n):
        row = {}
        for column, pool in pools.items():
            if odds and draw(st.integers(0, odds - 1)) == 0:
                row[column] = draw(st.sampled_from(pool))
            elif customers and column == "customer_id":
                row[column] = f"C{i}"
            elif customers and column == "parent_id":
                row[column] = draw(st.sampled_from(["", None, *(f"C{j}" for j in range(i))]))
            elif column == "customer_id":
                row[column] = draw(st.sampled_from(["C0", "C1"]))
            else:
                row[column] = draw(st.sampled_from(good[column]))
        rows.append(row)
    return rows


def _as_frame(rows: list[dict[str, Any]], columns: list[str], form: str) -> Any:
    data = {c: [row[c] for row in rows] for c in columns}
    if form == "object":
        return pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in data.items()})
    if form == "str":
        return pd.DataFrame({c: pd.Series(v, dtype="str") for c, v in data.items()})
    if form == "category":  # ids and products as categories, the rest as Arrow-backed text
        return pd.DataFrame(
            {
                c: pd.Series(v, dtype="category" if c.endswith("_id") else "str")
                for c, v in data.items()
            }
        )
    if form == "arrow-dictionary":
        return pa.table(
            {
                c: pa.array(v, pa.string()).dictionary_encode() if c.endswith("_id") else
                pa.array(v, pa.large_string())
                for c, v in data.items()
            }
        )  # fmt: skip
    return pa.table({c: pa.array(v, pa.string()) for c, v in data.items()})


FORMS = ["object", "str", "category", "arrow", "arrow-dictionary"]


def _fast_problems(error: CsvImportError) -> dict[int, Problem]:
    return {e.line: (e.line, e.column, e.value, e.reason) for e in error.row_errors}


@pytest.mark.parametrize("form", FORMS)
@given(
    customers=frame_rows(CUSTOMER_POOLS, GOOD_CUSTOMER, 8, customers=True),
    revenue=frame_rows(REVENUE_POOLS, GOOD_REVENUE, 10, customers=False),
)
def test_bulk_checks_agree_with_the_row_by_row_reference(
    form: str, customers: list[dict[str, Any]], revenue: list[dict[str, Any]]
) -> None:
    """from_frames accepts, builds and refuses (row, column, value, reason) as the reference."""
    c_frame = _as_frame(customers, list(CUSTOMER_POOLS), form)
    r_frame = _as_frame(revenue, list(REVENUE_POOLS), form)
    ref_customers, position, c_problems = reference_customers(customers)
    event("customers refused" if c_problems else "customers accepted")
    if c_problems:
        with pytest.raises(CsvImportError) as info:
            Portfolio.from_frames(c_frame, r_frame)
        assert _fast_problems(info.value) == c_problems
        assert "customers frame" in str(info.value).split(":")[0]
        return
    ref_records, r_problems = reference_revenue(revenue, ref_customers, position)
    event("revenue refused" if r_problems else "built")
    if r_problems:
        with pytest.raises(CsvImportError) as info:
            Portfolio.from_frames(c_frame, r_frame)
        assert _fast_problems(info.value) == r_problems
        return
    pf = Portfolio.from_frames(c_frame, r_frame)
    cols = pf.customer_columns
    assert cols.id.tolist() == [c["customer_id"] for c in ref_customers]
    assert cols.name.tolist() == [c["name"] for c in ref_customers]
    assert cols.province.tolist() == [c["province"] for c in ref_customers]
    assert cols.segment.tolist() == [c["segment"] for c in ref_customers]
    assert cols.sub_segment.tolist() == [c["sub_segment"] for c in ref_customers]
    assert cols.tier.tolist() == [c["tier"] for c in ref_customers]
    assert cols.first_period.tolist() == [c["first_period"] for c in ref_customers]
    assert cols.tier_since.tolist() == [c["tier_since"] for c in ref_customers]
    parents = [position.get(c["parent_id"], NO_CODE) if c["parent_id"] else NO_CODE
               for c in ref_customers]  # fmt: skip
    assert cols.parent.tolist() == parents
    rev = pf.revenue_columns
    fields = ("customer", "product", "period", "fen", "volume")
    got = list(zip(*(getattr(rev, f).tolist() for f in fields), strict=True))
    assert got == ref_records
    # the same columns as the checked path every bulk loader takes
    again = Portfolio(products=pf.products)
    again.add_customer_columns(cols)
    again.add_revenue_columns(rev)
    assert again.customer_ids == pf.customer_ids


def test_bulk_checks_name_surrogates_as_the_reference() -> None:
    """Text that UTF-8 cannot encode is named by the per-value check (object columns)."""
    rows = [
        {"customer_id": "A", "name": "ok", "first_period": "2021-01"},
        {"customer_id": "B\ud800", "name": "x", "first_period": "2021-01"},
        {"customer_id": "C", "name": "y\udfff", "first_period": "2021-01"},
    ]
    frame = pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=object) for c in rows[0]})
    with pytest.raises(CsvImportError) as info:
        Portfolio.from_frames(frame)
    assert _fast_problems(info.value) == reference_customers(rows)[2]
    assert [e.reason for e in info.value.row_errors] == ["not valid UTF-8 text"] * 2


@st.composite
def month_values(draw: st.DrawFn) -> list[dt.datetime | None]:
    """Datetimes: mostly first days of months, some other days or times, some missing."""
    n = draw(st.integers(1, 12))
    out: list[dt.datetime | None] = []
    for _ in range(n):
        kind = draw(st.integers(0, 9))
        year = draw(st.integers(1890, 2300))
        month = draw(st.integers(1, 12))
        if kind == 0:
            out.append(None)
        elif kind == 1:
            out.append(dt.datetime(year, month, draw(st.integers(2, 28))))
        else:
            out.append(dt.datetime(year, month, 1))
    return out


def _reference_months(values: list[dt.datetime | None]) -> tuple[list[int], dict[int, str]]:
    ordinals, problems = [], {}
    for r, value in enumerate(values):
        ordinal, reason = _cell(fx._period, None if value is None else value.date())
        if reason is not None:
            problems[r] = reason
        ordinals.append(ordinal)
    return ordinals, problems


@pytest.mark.parametrize("form", ["datetime", "period", "arrow-date32"])
@given(values=month_values())
def test_typed_months_agree_with_the_per_value_check(
    form: str, values: list[dt.datetime | None]
) -> None:
    """Month columns typed as datetimes, periods or Arrow dates: same months, same refusals."""
    if form == "period":  # a period is a whole month: no day to be off the 1st
        values = [None if v is None else v.replace(day=1) for v in values]
    ordinals, problems = _reference_months(values)
    column: Any
    if form == "period":
        column = pd.PeriodIndex([None if v is None else f"{v.year:04d}-{v.month:02d}"
                                 for v in values], freq="M")  # fmt: skip
    elif form == "datetime":
        column = pd.to_datetime(pd.Series(values, dtype=object))
    else:
        column = pa.array([None if v is None else v.date() for v in values], pa.date32())
    ids = [f"C{r}" for r in range(len(values))]
    frame: Any
    if form == "arrow-date32":
        frame = pa.table({"customer_id": ids, "name": ids, "first_period": column})
    else:
        frame = pd.DataFrame({"customer_id": ids, "name": ids, "first_period": column})
    if problems:
        with pytest.raises(CsvImportError) as info:
            Portfolio.from_frames(frame)
        found = {e.line: e.reason for e in info.value.row_errors}
        assert found == problems
        return
    pf = Portfolio.from_frames(frame)
    assert pf.customer_columns.first_period.tolist() == ordinals
