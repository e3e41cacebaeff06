from __future__ import annotations

import pytest

from keyaccount.domain import (
    DEFAULT_PRODUCT_ID,
    Product,
    ProductCatalog,
    Segment,
    default_catalog,
)
from keyaccount.exceptions import KeyAccountError, UnknownProductError, ValidationError

# Every product id CONTRACTS.md lists, with its Chinese name.
CONTRACT_PRODUCTS = {
    "court_express": "法院专递",
    "procuratorate_express": "检察专递",
    "labor_arbitration_express": "劳动仲裁专递",
    "legal_document_express": "法律文书专递",
    "e_receipt": "电子签收回执",
    "licence_mailing": "驾驶证邮寄",
    "plate_mailing": "号牌寄递",
    "nonmotor_plate_service": "非机动车牌证服务",
    "auto_finance_service": "汽车金融车贷服务",
    "archive_warehousing": "档案智能仓配",
    "vehicle_inspection_service": "车辆检测服务",
    "card_letter": "卡函寄递",
    "policy_mailing": "保单寄递",
    "warehouse_delivery": "仓配一体",
    "intra_province_delivery": "省内落地配",
    "regional_consolidation": "区域集配",
    "custom_route": "定制邮路",
    "presale_staging": "极速前进",
    "consolidated_payment": "集中整付",
    "luggage_to_home": "行李到家",
    "overseas_warehouse": "海外仓",
    "cross_border_parcel": "跨境小包",
    "standard_express": "标准快递",
}


@pytest.mark.parametrize(("product_id", "name_zh"), list(CONTRACT_PRODUCTS.items()))
def test_default_catalog_holds_contract_products(product_id: str, name_zh: str) -> None:
    """The default catalogue holds every product of CONTRACTS.md with its Chinese name."""
    product = default_catalog()[product_id]
    assert product.id == product_id
    assert product.name_zh == name_zh
    assert product.name("zh") == name_zh
    assert product.name("en") == product.name_en
    assert product.name_en.strip()


def test_default_product_is_standard_express() -> None:
    """Revenue naming no product goes to standard_express, which the catalogue holds."""
    assert DEFAULT_PRODUCT_ID == "standard_express"
    assert DEFAULT_PRODUCT_ID in default_catalog()


def test_catalog_is_a_mapping_in_order() -> None:
    """The catalogue is an ordered Mapping whose positions follow its order."""
    cat = default_catalog()
    assert len(cat) == len(cat.products) >= len(CONTRACT_PRODUCTS)
    assert list(cat) == [p.id for p in cat.products]
    assert [cat.position(pid) for pid in cat] == list(range(len(cat)))
    assert dict(cat.items())["card_letter"].name_zh == "卡函寄递"
    assert cat == default_catalog()


def test_unknown_product() -> None:
    """An unknown id raises UnknownProductError naming it; get() gives the default."""
    cat = default_catalog()
    with pytest.raises(UnknownProductError, match="'cold_chain'") as info:
        cat["cold_chain"]
    assert isinstance(info.value, LookupError)
    assert isinstance(info.value, KeyAccountError)
    assert str(info.value) == "unknown product 'cold_chain'"
    with pytest.raises(UnknownProductError, match="'cold_chain'"):
        cat.position("cold_chain")
    assert cat.get("cold_chain") is None
    assert "cold_chain" not in cat


def test_with_products_returns_a_new_catalogue() -> None:
    """with_products appends without changing the original catalogue."""
    cat = default_catalog()
    mine = cat.with_products([Product("cold_chain", "Cold chain", "冷链", {"电商TOP"})])
    assert "cold_chain" in mine
    assert "cold_chain" not in cat
    assert mine.position("cold_chain") == len(cat)
    assert mine["cold_chain"].segments == frozenset({Segment.ECOMMERCE_TOP})


def test_duplicate_product_id() -> None:
    """A catalogue may not hold two products with one id."""
    with pytest.raises(ValidationError, match="'court_express'"):
        default_catalog().with_products([Product("court_express", "Again", "再次")])
    with pytest.raises(ValidationError, match="'x'"):
        ProductCatalog((Product("x", "X", "甲"), Product("x", "X2", "乙")))


@pytest.mark.parametrize(
    "slug",
    [
        "Court_express",
        "court-express",
        "court express",
        "",
        "_court",
        "court__express",
        "1abc",
        "法院",
    ],
)
def test_bad_product_slug(slug: str) -> None:
    """Product ids must be lower snake case slugs; the message names the id."""
    with pytest.raises(ValidationError) as info:
        Product(slug, "X", "甲")
    assert repr(slug) in str(info.value)


def test_products_by_segment() -> None:
    """for_segment lists the products that mainly serve a segment."""
    cat = default_catalog()
    judicial = {p.id for p in cat.for_segment(Segment.JUDICIAL)}
    assert {"court_express", "procuratorate_express", "e_receipt"} <= judicial
    assert "card_letter" not in judicial
    assert {p.id for p in cat.for_segment(Segment.FINANCE)} >= {"card_letter"}


def test_bad_segment_in_product() -> None:
    """A product's segments are parsed; an unknown one is refused."""
    with pytest.raises(LookupError, match="'retail'"):
        Product("x", "X", "甲", {"retail"})
