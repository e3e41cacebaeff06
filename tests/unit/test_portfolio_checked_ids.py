"""A portfolio from checked columns whose ids the caller vouches for: lookups by id still work."""

from __future__ import annotations

import pytest

from keyaccount import Customer, Portfolio, default_catalog
from keyaccount.exceptions import DuplicateCustomerError, UnknownCustomerError
from keyaccount.portfolio import RevenueColumns


def _columns() -> Portfolio:
    return Portfolio(
        [
            Customer("HQ", "总公司", "2022-01"),
            Customer("GD", "广东分公司", "2022-01", parent_id="HQ"),
            Customer("SH", "上海分公司", "2022-02", parent_id="HQ"),
        ]
    )


@pytest.mark.parametrize("unique_ids", [False, True])
def test_lookups_by_id_agree_whether_or_not_the_ids_were_vouched_for(unique_ids: bool) -> None:
    """len, in, position, children and later additions are the same either way."""
    source = _columns()
    pf = Portfolio.from_checked_columns(
        source.customer_columns,
        RevenueColumns.empty(),
        products=default_catalog(),
        unique_ids=unique_ids,
    )
    assert len(pf) == 3
    assert "GD" in pf
    assert "XX" not in pf
    assert pf.position("SH") == 2
    assert pf.children("HQ") == ["GD", "SH"]
    assert pf.customer_ids == ["HQ", "GD", "SH"]
    with pytest.raises(UnknownCustomerError, match="'XX'"):
        pf.position("XX")
    with pytest.raises(DuplicateCustomerError, match="'GD'"):
        pf.add_customer(Customer("GD", "again", "2022-01"))
    pf.add_customer(Customer("BJ", "北京分公司", "2022-03", parent_id="HQ"))
    assert len(pf) == 4
    assert pf.position("BJ") == 3
