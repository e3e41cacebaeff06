from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import numpy as np
import pytest
from hypothesis import given

from keyaccount import (
    Customer,
    Period,
    Portfolio,
    Product,
    ProjectGroup,
    RevenueRecord,
    Segment,
    SubSegment,
    Tier,
)
from keyaccount.exceptions import (
    DuplicateCustomerError,
    HierarchyCycleError,
    InvalidMoneyError,
    InvalidPeriodError,
    KeyAccountError,
    PortfolioValidationError,
    SubSegmentMismatchError,
    UnknownCustomerError,
    UnknownProductError,
    ValidationError,
)
from keyaccount.portfolio import CustomerColumns, RevenueColumns
from tests.strategies import PortfolioData, customer_forests, portfolios

AS_OF = Period(2022, 12)
SEGMENT_CODES = list(Segment)  # segment codes are positions in declaration order
SUB_SEGMENT_CODES = list(SubSegment)


def _sample() -> Portfolio:
    """An insurer with two branches (one with a sub-branch), a court, and revenue."""
    customers = [
        Customer("GD", "广东分公司", "2021-01", segment="保险", parent_id="HQ"),
        Customer("HQ", "保险总公司", "2021-01", segment="保险", sub_segment="INSURER_HQ"),
        Customer("SZ", "深圳支公司", "2021-06", segment="保险", parent_id="GD"),
        Customer("BJ", "北京分公司", "2021-01", segment="保险", parent_id="HQ", tier="KEY"),
        Customer("CT", "某中院", "2020-01", segment="司法", sub_segment="法院"),
    ]
    records = [
        RevenueRecord("GD", "policy_mailing", "2022-06", "5000", volume=10),
        RevenueRecord("SZ", "policy_mailing", "2022-07", "1200.50", volume=3),
        RevenueRecord("BJ", "policy_mailing", "2021-03", "800"),
        RevenueRecord("CT", "court_express", "2022-11", "880.00", volume=40),
        RevenueRecord("CT", "e_receipt", "2021-11", "-20.00"),
    ]
    groups = [ProjectGroup("courts", "Courts", "法院项目组", segment="司法", customer_ids=["CT"])]
    return Portfolio(customers, records, project_groups=groups)


def _snapshot(pf: Portfolio) -> dict[str, Any]:
    """Everything observable about a portfolio, to check that a failed call changed nothing."""
    own = pf.metrics(AS_OF)
    rolled = pf.metrics(AS_OF, rollup=True)
    return {
        "len": len(pf),
        "ids": pf.customer_ids,
        "customers": list(pf.customers()),
        "revenue_columns": len(pf.revenue_columns),
        "records": Counter(pf.revenue_records()),
        "products": pf.products,
        "groups": pf.project_groups,
        "group_of": {cid: pf.project_group_of(cid) for cid in pf.customer_ids},
        "parents": pf.parents(),
        "metrics": {cid: own.row(cid) for cid in own},
        "rollup": {cid: rolled.row(cid) for cid in rolled},
    }


def _customer_block(pf: Portfolio, customers: list[Customer]) -> CustomerColumns:
    """Columns for new customers, parent positions counted after the block is appended."""
    positions = {cid: i for i, cid in enumerate(pf.customer_ids)}
    positions.update({c.id: len(pf) + k for k, c in enumerate(customers)})
    return CustomerColumns.from_customers(customers, positions)


def _revenue_block(
    customer: list[int], product: list[int], period: list[int], fen: Any, volume: Any = None
) -> RevenueColumns:
    return RevenueColumns(
        np.array(customer, dtype=np.int32),
        np.array(product, dtype=np.int32),
        np.array(period, dtype=np.int32),
        np.asarray(fen),
        np.zeros(len(customer), dtype=np.int64) if volume is None else np.asarray(volume),
    )


# ---------------------------------------------------------------- building and reading


def test_parent_may_come_after_child() -> None:
    """A batch may list a child before its parent; links and hierarchy queries work."""
    pf = _sample()
    assert pf.customer_ids == ["GD", "HQ", "SZ", "BJ", "CT"]
    assert pf.parent("GD") == "HQ"
    assert pf.parent("HQ") is None
    assert pf.children("HQ") == ["GD", "BJ"]
    assert sorted(pf.descendants("HQ")) == ["BJ", "GD", "SZ"]
    assert pf.ancestors("SZ") == ["GD", "HQ"]
    assert pf.parents() == ["GD", "HQ"]


def test_customers_round_trip() -> None:
    """Customers read back equal to those added, in portfolio order."""
    customers = [
        Customer("A", "甲", "2021-01", segment="金融", sub_segment="NATIONAL_BANK", tier="KEY"),
        Customer("B", "乙", "2021-02", parent_id="A", province="广东", tier_since="2022-01"),
    ]
    pf = Portfolio(customers)
    assert list(pf.customers()) == customers
    assert pf.customer("B") == customers[1]
    assert "A" in pf
    assert "Z" not in pf
    assert len(pf) == 2


@given(customer_forests(max_size=10))
def test_generated_forests_round_trip(customers: list[Customer]) -> None:
    """Any valid forest, in any order, is accepted and read back unchanged."""
    pf = Portfolio(customers)
    assert list(pf.customers()) == customers
    for c in customers:
        assert pf.parent(c.id) == c.parent_id


@given(portfolios())
def test_revenue_records_round_trip(data: PortfolioData) -> None:
    """Records read back as the same multiset; columns hold one row per record."""
    pf = Portfolio(data.customers, data.records)
    assert len(pf.revenue_columns) == len(data.records)
    assert Counter(pf.revenue_records()) == Counter(data.records)
    some = data.customers[0].id
    assert Counter(pf.revenue_records(some)) == Counter(
        r for r in data.records if r.customer_id == some
    )
    start, end = data.as_of - 5, data.as_of
    assert Counter(pf.revenue_records(start=start, end=end)) == Counter(
        r for r in data.records if start <= r.period <= end
    )
    if data.records:
        periods = [r.period for r in data.records]
        assert pf.period_span == (min(periods), max(periods))
    else:
        assert pf.period_span is None


def test_unknown_customer_lookups() -> None:
    """Looking up an unknown customer raises UnknownCustomerError naming it."""
    pf = _sample()
    for call in (pf.customer, pf.position, pf.parent, pf.children, pf.project_group_of):
        with pytest.raises(UnknownCustomerError, match="'ZZ'"):
            call("ZZ")
    with pytest.raises(LookupError, match="'nope'"):
        pf.project_group("nope")


def test_add_product() -> None:
    """A product of one's own can be added and receives revenue; a taken id is refused."""
    pf = _sample()
    pf.add_product(Product("cold_chain", "Cold chain", "冷链"))
    pf.add_revenue([RevenueRecord("CT", "cold_chain", "2022-12", "1")])
    assert pf.metrics(AS_OF).row("CT")["product_count"] == 2
    with pytest.raises(ValidationError, match="'cold_chain'"):
        pf.add_product(Product("cold_chain", "Again", "再次"))


def test_repr_mentions_sizes() -> None:
    """The repr shows the number of customers and records."""
    text = repr(_sample())
    assert "5 customers" in text
    assert "5 revenue records" in text


# ---------------------------------------------------------------- bad customers


def test_duplicate_customer_in_batch() -> None:
    """A batch naming one id twice is refused and nothing is added."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(DuplicateCustomerError, match="'N1'"):
        pf.add_customers([Customer("N1", "x", "2021-01"), Customer("N1", "y", "2021-01")])
    assert _snapshot(pf) == before


def test_duplicate_customer_against_existing() -> None:
    """An id already in the portfolio is refused, and the good rest of the batch too."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(DuplicateCustomerError, match="'HQ'"):
        pf.add_customers([Customer("N1", "x", "2021-01"), Customer("HQ", "y", "2021-01")])
    assert _snapshot(pf) == before
    with pytest.raises(DuplicateCustomerError, match="'CT'"):
        pf.add_customer(Customer("CT", "z", "2021-01"))
    assert _snapshot(pf) == before


def test_unknown_parent() -> None:
    """A parent neither known nor in the batch is refused, naming child and parent."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(UnknownCustomerError) as info:
        pf.add_customers([Customer("N1", "x", "2021-01", parent_id="NOPE")])
    assert "'N1'" in str(info.value)
    assert "'NOPE'" in str(info.value)
    assert _snapshot(pf) == before


def test_parent_cycle_in_batch_names_the_cycle() -> None:
    """Parent links forming a cycle are refused; the error lists the ids on the cycle."""
    pf = _sample()
    before = _snapshot(pf)
    batch = [
        Customer("A", "a", "2021-01", parent_id="B"),
        Customer("B", "b", "2021-01", parent_id="C"),
        Customer("C", "c", "2021-01", parent_id="A"),
        Customer("D", "d", "2021-01", parent_id="A"),
    ]
    with pytest.raises(HierarchyCycleError) as info:
        pf.add_customers(batch)
    message = str(info.value)
    assert all(f"{cid}" in message for cid in "ABC")
    assert "D" not in message.replace("->", "")
    assert _snapshot(pf) == before


def test_several_problems_are_reported_together() -> None:
    """Duplicates, unknown parents and cycles in one batch are all listed in one group."""
    pf = _sample()
    before = _snapshot(pf)
    batch: list[Any] = [
        Customer("HQ", "dup", "2021-01"),
        Customer("N1", "x", "2021-01", parent_id="NOPE"),
        Customer("A", "a", "2021-01", parent_id="B"),
        Customer("B", "b", "2021-01", parent_id="A"),
        Customer("N2", "y", "2021-01"),
        Customer("N2", "y", "2021-01"),
        "not a customer",
    ]
    with pytest.raises(PortfolioValidationError) as info:
        pf.add_customers(batch)
    group = info.value
    assert isinstance(group, ExceptionGroup)
    assert isinstance(group, KeyAccountError)
    kinds = Counter(type(e) for e in group.exceptions)
    assert kinds == {
        DuplicateCustomerError: 2,
        UnknownCustomerError: 1,
        HierarchyCycleError: 1,
        ValidationError: 1,
    }
    text = " ".join(str(e) for e in group.exceptions)
    for fragment in ("'HQ'", "'NOPE'", "'N2'", "not a customer"):
        assert fragment in text
    assert _snapshot(pf) == before


def test_problem_group_splits_by_kind() -> None:
    """except* picks one kind of problem out of a PortfolioValidationError."""
    pf = _sample()
    parts: list[BaseExceptionGroup[Exception]] = []
    try:
        pf.add_customers(
            [Customer("HQ", "dup", "2021-01"), Customer("N1", "x", "2021-01", parent_id="NOPE")]
        )
    except* DuplicateCustomerError as dup:
        parts.append(dup)
    except* UnknownCustomerError as unknown:
        parts.append(unknown)
    assert all(isinstance(part, PortfolioValidationError) for part in parts)
    assert [[type(e) for e in part.exceptions] for part in parts] == [
        [DuplicateCustomerError],
        [UnknownCustomerError],
    ]


def test_empty_batch_changes_nothing() -> None:
    """Adding no customers and no records is allowed and changes nothing."""
    pf = _sample()
    before = _snapshot(pf)
    pf.add_customers([])
    pf.add_revenue([])
    assert _snapshot(pf) == before


# ---------------------------------------------------------------- bad revenue


def test_revenue_for_unknown_customer() -> None:
    """A record for an unknown customer is refused, naming the customer and the record."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(UnknownCustomerError, match="'ZZ'"):
        pf.add_revenue(
            [
                RevenueRecord("CT", "court_express", "2022-01", "1"),
                RevenueRecord("ZZ", "court_express", "2022-01", "1"),
            ]
        )
    assert _snapshot(pf) == before


def test_revenue_for_unknown_product() -> None:
    """A record for a product outside the catalogue is refused."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        pf.add_revenue([RevenueRecord("CT", "cold_chain", "2022-01", "1")])
    assert _snapshot(pf) == before


def test_revenue_before_first_period() -> None:
    """A record before its customer's first_period is refused, naming both months."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(ValidationError) as info:
        pf.add_revenue([RevenueRecord("SZ", "policy_mailing", "2021-05", "1")])
    assert "2021-05" in str(info.value)
    assert "2021-06" in str(info.value)
    assert _snapshot(pf) == before


def test_several_revenue_problems_together() -> None:
    """All bad records of a batch are listed in one PortfolioValidationError."""
    pf = _sample()
    before = _snapshot(pf)
    batch: list[Any] = [
        RevenueRecord("ZZ", "court_express", "2022-01", "1"),
        RevenueRecord("CT", "cold_chain", "2022-01", "1"),
        RevenueRecord("SZ", "policy_mailing", "2021-01", "1"),
        RevenueRecord("CT", "court_express", "2022-01", "1"),
        ("CT", "court_express", "2022-01", "1"),
    ]
    with pytest.raises(PortfolioValidationError) as info:
        pf.add_revenue(batch)
    kinds = Counter(type(e) for e in info.value.exceptions)
    assert kinds == {UnknownCustomerError: 1, UnknownProductError: 1, ValidationError: 2}
    assert _snapshot(pf) == before


# ---------------------------------------------------------------- bulk customer columns


def test_customer_columns_are_added() -> None:
    """A valid block of customers (parent after child) is added like add_customers would."""
    pf = _sample()
    new = [
        Customer("N2", "y", "2021-01", parent_id="N1", segment="JUDICIAL", sub_segment="COURT"),
        Customer("N1", "x", "2021-01", parent_id="HQ", tier_since="2022-01"),
    ]
    pf.add_customer_columns(_customer_block(pf, new))
    assert list(pf.customers())[-2:] == new
    assert pf.ancestors("N2") == ["N1", "HQ"]


def test_customer_columns_are_copied() -> None:
    """The portfolio keeps its own arrays: updating a customer leaves the caller's block alone."""
    pf = Portfolio()
    block = _customer_block(pf, [Customer("A", "a", "2021-01")])
    pf.add_customer_columns(block)
    pf.update_customer(Customer("A", "a", "2021-01", tier="STRATEGIC"))
    assert int(block.tier[0]) == Tier.ACTIVE.rank
    other = Portfolio()
    other.add_customer_columns(block)
    assert other.customer("A").tier is Tier.ACTIVE
    assert pf.customer("A").tier is Tier.STRATEGIC


def test_checked_customer_block_is_an_unshared_copy() -> None:
    """A block checked against the held customers comes back equal, in its dtypes, unshared."""
    pf = _sample()
    block = _customer_block(pf, BASE_NEW)
    block = attrs.evolve(block, tier=block.tier.astype(np.int64))
    own = block.checked_copy(pf.customer_columns, set(pf.customer_ids))
    for field in attrs.fields(CustomerColumns):
        mine, theirs = getattr(own, field.name), getattr(block, field.name)
        assert mine.tolist() == theirs.tolist()
        assert not np.shares_memory(mine, theirs)
    assert own.tier.dtype == np.int8
    assert pf.customer_ids[-1] == "CT"  # checking adds nothing


def test_checked_customer_block_refuses_ids_already_held() -> None:
    """The ids passed as held are the ones a block may not repeat."""
    pf = _sample()
    block = _customer_block(pf, [Customer("HQ", "again", "2021-01")])
    with pytest.raises(DuplicateCustomerError, match="already in the portfolio"):
        block.checked_copy(pf.customer_columns, set(pf.customer_ids))


BASE_NEW = [Customer("N1", "x", "2021-01"), Customer("N2", "y", "2021-01")]
BAD_BLOCKS: list[tuple[dict[str, list[Any]], type[Exception], str]] = [
    ({"id": ["N1", "N1"]}, DuplicateCustomerError, "'N1'"),
    ({"id": ["N1", "HQ"]}, DuplicateCustomerError, "'HQ'"),
    ({"id": ["N1", ""]}, ValidationError, "''"),
    ({"id": ["N1", None]}, ValidationError, "None"),
    ({"segment": [0, 99]}, ValidationError, "99"),
    ({"sub_segment": [-5, -1]}, ValidationError, "-5"),
    ({"tier": [1, -1]}, ValidationError, "'N2'"),
    ({"tier": [1, 4]}, ValidationError, "'N2'"),
    (
        {"segment": [SEGMENT_CODES.index(Segment.FINANCE), -1], "sub_segment": [0, -1]},
        SubSegmentMismatchError,
        "COURT",
    ),
    (
        {"sub_segment": [SUB_SEGMENT_CODES.index(SubSegment.COURT), -1]},
        SubSegmentMismatchError,
        "N1",
    ),
    ({"parent": [-1, 99]}, UnknownCustomerError, "99"),
    ({"parent": [-2, -1]}, UnknownCustomerError, "-2"),
    ({"parent": [5, -1]}, UnknownCustomerError, "'N1'"),
    ({"parent": [6, 5]}, HierarchyCycleError, "N1 -> N2 -> N1"),
    ({"tier_since": [Period(2020, 1).ordinal, -1]}, ValidationError, "2020-01"),
    ({"first_period": [0, Period(2021, 1).ordinal]}, InvalidPeriodError, "'N1'"),
    ({"tier_since": [10**6, -1]}, InvalidPeriodError, "'N1'"),
    ({"tier": [1.0, 1.0]}, ValidationError, "tier"),
    ({"name": ["x"]}, ValidationError, "length"),
]


@pytest.mark.parametrize(("change", "error", "fragment"), BAD_BLOCKS)
def test_bad_customer_columns(
    change: dict[str, list[Any]], error: type[Exception], fragment: str
) -> None:
    """A bad customer block raises the matching error, naming the problem, and adds nothing."""
    pf = _sample()
    before = _snapshot(pf)
    block = _customer_block(pf, BASE_NEW)
    fields = {f.name: getattr(block, f.name) for f in attrs.fields(CustomerColumns)}
    for name, values in change.items():
        fields[name] = np.array(values, dtype=object if name == "id" else None)
        if name != "id" and fields[name].dtype.kind == "i":
            fields[name] = fields[name].astype(getattr(block, name).dtype)
    with pytest.raises(error) as info:
        pf.add_customer_columns(CustomerColumns(**fields))
    assert fragment in str(info.value)
    assert _snapshot(pf) == before


# ---------------------------------------------------------------- bulk revenue columns


def test_revenue_columns_are_added() -> None:
    """A valid revenue block counts like the same records added as objects."""
    pf = _sample()
    objects = _sample()
    ct = pf.position("CT")
    court = pf.products.position("court_express")
    pf.add_revenue_columns(
        _revenue_block([ct, ct], [court, court], [AS_OF.ordinal] * 2, [100, -30], [2, 0])
    )
    objects.add_revenue(
        [
            RevenueRecord.from_fen("CT", "court_express", AS_OF, 100, volume=2),
            RevenueRecord.from_fen("CT", "court_express", AS_OF, -30),
        ]
    )
    assert _snapshot(pf) == _snapshot(objects)


def test_revenue_columns_are_copied() -> None:
    """Changing the caller's arrays after adding them does not change the portfolio."""
    pf = _sample()
    ct = pf.position("CT")
    fen = np.array([100], dtype=np.int64)
    pf.add_revenue_columns(_revenue_block([ct], [0], [AS_OF.ordinal], fen))
    before = _snapshot(pf)
    fen[0] = 10**9
    assert _snapshot(pf) == before


def test_checked_revenue_block_is_an_unshared_copy() -> None:
    """A revenue block checked against the customers comes back in int32/int64, sharing no array."""
    pf = _sample()
    cols = pf.customer_columns
    ct = pf.position("CT")
    block = RevenueColumns(
        np.array([ct], dtype=np.int64),
        np.array([0], dtype=np.int16),
        np.array([AS_OF.ordinal], dtype=np.int64),
        np.array([100], dtype=np.int32),
        np.array([3], dtype=np.uint8),
    )
    own = block.checked_copy(cols.id, cols.first_period, len(pf.products))
    for field in attrs.fields(RevenueColumns):
        mine, theirs = getattr(own, field.name), getattr(block, field.name)
        assert mine.tolist() == theirs.tolist()
        assert not np.shares_memory(mine, theirs)
    assert [own.customer.dtype, own.period.dtype, own.fen.dtype] == [np.int32, np.int32, np.int64]
    empty = _revenue_block([], [], [], np.array([], dtype=np.int64))
    assert len(empty.checked_copy(cols.id, cols.first_period, len(pf.products))) == 0


def _bad_revenue(pf: Portfolio) -> list[tuple[RevenueColumns, type[Exception], str]]:
    ct = pf.position("CT")
    sz = pf.position("SZ")
    p = AS_OF.ordinal
    n_products = len(pf.products)
    return [
        (_revenue_block([ct], [0], [p], np.array([1.5])), InvalidMoneyError, "float"),
        (_revenue_block([ct], [0], [p], np.array([100], dtype=object)), InvalidMoneyError, "dtype"),
        (
            _revenue_block([ct], [0], [p], np.array([2**64 - 1], dtype=np.uint64)),
            InvalidMoneyError,
            str(2**64 - 1),
        ),
        (_revenue_block([ct, -1], [0, 0], [p, p], [1, 1]), UnknownCustomerError, "-1"),
        (_revenue_block([ct, len(pf)], [0, 0], [p, p], [1, 1]), UnknownCustomerError, "record 1"),
        (_revenue_block([ct], [n_products], [p], [1]), UnknownProductError, str(n_products)),
        (_revenue_block([ct], [-1], [p], [1]), UnknownProductError, "-1"),
        (_revenue_block([ct], [0], [p], [1], [-3]), ValidationError, "-3"),
        (_revenue_block([ct], [0], [p], [1], [1.0]), ValidationError, "volume"),
        (
            _revenue_block([sz], [0], [Period(2021, 5).ordinal], [1]),
            ValidationError,
            "2021-05",
        ),
        (_revenue_block([ct], [0], [10**6], [1]), InvalidPeriodError, str(10**6)),
        (
            RevenueColumns(
                np.array([ct, ct], dtype=np.int32),
                np.array([0], dtype=np.int32),
                np.array([p, p], dtype=np.int32),
                np.array([1, 1], dtype=np.int64),
                np.array([0, 0], dtype=np.int64),
            ),
            ValidationError,
            "length",
        ),
    ]


@pytest.mark.parametrize("case", range(12))
def test_bad_revenue_columns(case: int) -> None:
    """A bad revenue block raises the matching error naming the problem, and adds nothing."""
    pf = _sample()
    before = _snapshot(pf)
    cases = _bad_revenue(pf)
    assert len(cases) == 12
    block, error, fragment = cases[case]
    with pytest.raises(error) as info:
        pf.add_revenue_columns(block)
    assert fragment in str(info.value)
    assert _snapshot(pf) == before


# ---------------------------------------------------------------- updates


def test_update_customer() -> None:
    """update_customer replaces fields, moves the customer in the hierarchy and in metrics."""
    pf = _sample()
    pf.update_customer(Customer("SZ", "深圳分公司", "2021-06", segment="保险", parent_id="HQ"))
    assert pf.parent("SZ") == "HQ"
    assert pf.children("GD") == []
    assert pf.customer("SZ").name == "深圳分公司"
    rolled = pf.metrics(AS_OF, rollup=True)
    assert rolled.row("GD")["t12m_revenue"] == pf.metrics(AS_OF).row("GD")["t12m_revenue"]
    pf.update_customer(Customer("CT", "某中院", "2020-01", tier="STRATEGIC", tier_since="2022-06"))
    assert pf.metrics(AS_OF).tier_of("CT") is Tier.STRATEGIC
    assert pf.metrics(AS_OF).row("CT")["months_in_tier"] == 6
    assert pf.metrics(AS_OF).segment_of("CT") is None


def test_update_customer_cycle() -> None:
    """Making a customer the child of its own descendant is refused; nothing changes."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(HierarchyCycleError) as info:
        pf.update_customer(Customer("HQ", "保险总公司", "2021-01", parent_id="SZ"))
    assert "'HQ'" in str(info.value)
    assert "'SZ'" in str(info.value)
    assert _snapshot(pf) == before


def test_update_customer_unknown() -> None:
    """Updating an unknown customer, or naming an unknown parent, is refused."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(UnknownCustomerError, match="'ZZ'"):
        pf.update_customer(Customer("ZZ", "x", "2021-01"))
    with pytest.raises(UnknownCustomerError) as info:
        pf.update_customer(Customer("GD", "x", "2021-01", parent_id="NOPE"))
    assert "'NOPE'" in str(info.value)
    assert "'GD'" in str(info.value)
    assert _snapshot(pf) == before


def test_update_customer_first_period_after_revenue() -> None:
    """A first_period after the customer's revenue is refused."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(ValidationError, match="2021-11"):
        pf.update_customer(Customer("CT", "某中院", "2022-01"))
    assert _snapshot(pf) == before


# ---------------------------------------------------------------- project groups


def test_project_groups() -> None:
    """Groups own customers; replacing a group releases the customers it no longer owns."""
    pf = _sample()
    group = pf.project_group("courts")
    assert pf.project_group_of("CT") == group
    assert pf.project_group_of("HQ") is None
    insurers = ProjectGroup("insurers", "Insurers", "保险项目组", customer_ids=["HQ", "GD"])
    pf.add_project_group(insurers)
    assert pf.project_groups == (group, insurers)
    pf.add_project_group(attrs.evolve(insurers, customer_ids=["HQ"]))
    assert pf.project_group_of("GD") is None
    assert pf.project_group_of("HQ") is not None
    pf.add_project_group(ProjectGroup("other", "Other", "其他", customer_ids=["GD"]))
    assert pf.project_group_of("GD") == pf.project_group("other")


def test_project_group_with_unknown_customer() -> None:
    """A group owning a customer the portfolio does not hold is refused."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(UnknownCustomerError, match="'ZZ'"):
        pf.add_project_group(ProjectGroup("x", "X", "甲", customer_ids=["HQ", "ZZ"]))
    assert _snapshot(pf) == before


def test_project_group_with_customer_of_another_group() -> None:
    """A customer may belong to one group only."""
    pf = _sample()
    before = _snapshot(pf)
    with pytest.raises(ValidationError) as info:
        pf.add_project_group(ProjectGroup("x", "X", "甲", customer_ids=["CT"]))
    assert "'CT'" in str(info.value)
    assert "'courts'" in str(info.value)
    with pytest.raises(PortfolioValidationError) as group_info:
        pf.add_project_group(ProjectGroup("x", "X", "甲", customer_ids=["CT", "ZZ"]))
    assert len(group_info.value.exceptions) == 2
    assert _snapshot(pf) == before


def test_constructor_with_bad_group() -> None:
    """The constructor refuses a group owning an unknown customer."""
    with pytest.raises(UnknownCustomerError):
        Portfolio(
            [Customer("A", "a", "2021-01")],
            project_groups=[ProjectGroup("x", "X", "甲", customer_ids=["B"])],
        )
