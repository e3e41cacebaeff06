from __future__ import annotations

from decimal import Decimal

import attrs
import pytest
from hypothesis import given

from keyaccount.domain import (
    Customer,
    Period,
    RevenueRecord,
    Segment,
    SubSegment,
    Tier,
)
from keyaccount.exceptions import (
    InvalidMoneyError,
    InvalidPeriodError,
    SubSegmentMismatchError,
    UnknownLabelError,
    ValidationError,
)
from tests.strategies import customers, fen_amounts


def test_customer_defaults_and_conversions() -> None:
    """A customer converts text fields and defaults to ACTIVE with no segment or parent."""
    c = Customer("C1", "某市中级人民法院", "2021-03")
    assert c.first_period == Period(2021, 3)
    assert c.tier is Tier.ACTIVE
    assert c.segment is None
    assert c.sub_segment is None
    assert c.parent_id is None
    assert c.province is None
    assert c.tier_since is None
    assert c.effective_tier_since == Period(2021, 3)


def test_customer_parses_labels() -> None:
    """Segment, sub-segment and tier accept names and Chinese labels."""
    c = Customer(
        "C1",
        "某中院",
        "2021-03",
        segment="司法",
        sub_segment="COURT",
        tier="规模客户",
        parent_id=" HQ ",
        province=" 广东 ",
        tier_since="2022年1月",
    )
    assert c.segment is Segment.JUDICIAL
    assert c.sub_segment is SubSegment.COURT
    assert c.tier is Tier.KEY
    assert c.parent_id == "HQ"
    assert c.province == "广东"
    assert c.tier_since == Period(2022, 1)
    assert c.effective_tier_since == Period(2022, 1)


def test_empty_optional_fields_mean_absent() -> None:
    """Empty text for segment, sub-segment, parent, province and tier_since means None."""
    c = Customer(
        "C1",
        "x",
        "2021-03",
        segment="",
        sub_segment="",
        parent_id="  ",
        province="",
        tier_since="",
    )
    assert (c.segment, c.sub_segment, c.parent_id, c.province, c.tier_since) == (
        None,
        None,
        None,
        None,
        None,
    )


def test_sub_segment_of_another_segment() -> None:
    """A sub-segment of another segment raises SubSegmentMismatchError naming both."""
    with pytest.raises(SubSegmentMismatchError) as info:
        Customer("C1", "x", "2021-03", segment="FINANCE", sub_segment="COURT")
    message = str(info.value)
    assert "'C1'" in message
    assert "COURT" in message
    assert "FINANCE" in message
    assert isinstance(info.value, ValidationError)


def test_sub_segment_without_segment() -> None:
    """A sub-segment needs its segment: without one it is a mismatch."""
    with pytest.raises(SubSegmentMismatchError, match="COURT"):
        Customer("C1", "x", "2021-03", sub_segment="COURT")


def test_evolving_into_a_mismatch_is_refused() -> None:
    """attrs.evolve re-runs the checks."""
    c = Customer("C1", "x", "2021-03", segment="JUDICIAL", sub_segment="COURT")
    with pytest.raises(SubSegmentMismatchError):
        attrs.evolve(c, segment=Segment.FINANCE)
    moved = attrs.evolve(c, segment=Segment.FINANCE, sub_segment=SubSegment.NATIONAL_BANK)
    assert moved.sub_segment is SubSegment.NATIONAL_BANK


@pytest.mark.parametrize("parent", ["C1", " C1 "])
def test_own_parent(parent: str) -> None:
    """A customer cannot be its own parent."""
    with pytest.raises(ValidationError, match="'C1'"):
        Customer("C1", "x", "2021-03", parent_id=parent)


@pytest.mark.parametrize("cid", ["", "   ", " C1", "C1 ", None, 7])
def test_bad_id(cid: object) -> None:
    """Empty ids, ids with surrounding spaces and non-text ids are refused, naming the id."""
    with pytest.raises(ValidationError) as info:
        Customer(cid, "x", "2021-03")  # type: ignore[arg-type]
    assert repr(cid) in str(info.value)


def test_tier_since_before_first_period() -> None:
    """tier_since may not be before first_period."""
    with pytest.raises(ValidationError, match="2021-02"):
        Customer("C1", "x", "2021-03", tier_since="2021-02")


def test_bad_labels_and_periods() -> None:
    """Unknown labels and malformed periods raise the matching errors."""
    with pytest.raises(UnknownLabelError, match="'GOLD'"):
        Customer("C1", "x", "2021-03", tier="GOLD")
    with pytest.raises(UnknownLabelError, match="'retail'"):
        Customer("C1", "x", "2021-03", segment="retail")
    with pytest.raises(InvalidPeriodError, match="'2021-13'"):
        Customer("C1", "x", "2021-13")


def test_customers_are_frozen() -> None:
    """Customers are immutable values."""
    c = Customer("C1", "x", "2021-03")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        c.tier = Tier.KEY  # type: ignore[misc]


@given(customers())
def test_generated_customers_are_consistent(c: Customer) -> None:
    """A valid customer's sub-segment belongs to its segment and tier_since >= first_period."""
    if c.sub_segment is not None:
        assert c.sub_segment.segment is c.segment
    assert c.effective_tier_since >= c.first_period
    assert attrs.evolve(c) == c


def test_revenue_record_converts_yuan_to_fen() -> None:
    """Revenue is given in yuan and kept as integer fen."""
    r = RevenueRecord("C1", "court_express", "2022-11", "1234.50", volume=10)
    assert r.revenue_fen == 123_450
    assert r.revenue == Decimal("1234.50")
    assert r.period == Period(2022, 11)
    assert r.volume == 10
    refund = RevenueRecord("C1", "court_express", "2022-11", Decimal("-3.20"))
    assert refund.revenue_fen == -320
    assert refund.volume == 0


@given(fen_amounts(-(10**13) + 1, 10**13 - 1))
def test_revenue_record_from_fen(fen: int) -> None:
    """from_fen keeps the amount exactly."""
    r = RevenueRecord.from_fen("C1", "court_express", "2022-11", fen, volume=3)
    assert r.revenue_fen == fen
    assert r == RevenueRecord("C1", "court_express", "2022-11", r.revenue, volume=3)


@pytest.mark.parametrize("amount", [1.5, "0.001", "abc", float("nan")])
def test_revenue_record_bad_amount(amount: object) -> None:
    """Floats and sub-fen amounts raise InvalidMoneyError naming the value and 'revenue'."""
    with pytest.raises(InvalidMoneyError) as info:
        RevenueRecord("C1", "court_express", "2022-11", amount)  # type: ignore[arg-type]
    assert repr(amount) in str(info.value)
    assert "revenue" in str(info.value)


@pytest.mark.parametrize("volume", [-1, 1.5, True, "3"])
def test_revenue_record_bad_volume(volume: object) -> None:
    """Volume must be a whole number >= 0."""
    with pytest.raises(ValidationError) as info:
        RevenueRecord("C1", "court_express", "2022-11", "1", volume=volume)  # type: ignore[arg-type]
    assert repr(volume) in str(info.value)


@pytest.mark.parametrize(("cid", "pid"), [("", "court_express"), ("C1", ""), ("C1", " x")])
def test_revenue_record_bad_ids(cid: str, pid: str) -> None:
    """Customer and product ids must be non-empty text without surrounding spaces."""
    with pytest.raises(ValidationError):
        RevenueRecord(cid, pid, "2022-11", "1")
