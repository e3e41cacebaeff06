"""Products (产品) and the catalogue shipped with the library."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping

import attrs

from keyaccount.domain._labels import Segment
from keyaccount.domain._language import check_lang
from keyaccount.exceptions import UnknownProductError, ValidationError
from keyaccount.utils.display import html_table, short_repr

__all__ = ["DEFAULT_PRODUCT_ID", "Product", "ProductCatalog", "default_catalog"]

_SLUG = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")
DEFAULT_PRODUCT_ID = "standard_express"
"""The product for revenue that names none (CONTRACTS.md)."""


def _check_slug(_: object, __: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValidationError(
            f"product id {value!r} must be a lower snake case slug such as 'court_express'"
        )


def _to_segments(values: Iterable[Segment | str]) -> frozenset[Segment]:
    return frozenset(Segment.parse(v) for v in values)


@attrs.frozen
class Product:
    """A product or service the carrier sells.

    Attributes:
        id: Lower snake case slug, stable forever once released (``court_express``).
        name_en: English name.
        name_zh: Chinese name (法院专递).
        segments: The segments it mainly serves; empty for products sold to all.
    """

    id: str = attrs.field(validator=_check_slug)
    name_en: str
    name_zh: str
    segments: frozenset[Segment] = attrs.field(default=frozenset(), converter=_to_segments)

    def name(self, lang: str = "en") -> str:
        """The display name in ``lang`` (``"en"`` or ``"zh"``).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self.name_zh if check_lang(lang, where="Product.name") == "zh" else self.name_en


@attrs.frozen
class ProductCatalog(Mapping[str, Product]):
    """An immutable, ordered collection of products keyed by id.

    Example:
        >>> cat = default_catalog()
        >>> cat["court_express"].name_zh
        '法院专递'
        >>> mine = cat.with_products([Product("cold_chain", "Cold chain", "冷链")])
        >>> "cold_chain" in mine, "cold_chain" in cat
        (True, False)
    """

    _products: tuple[Product, ...] = attrs.field(default=(), alias="products")
    _index: dict[str, int] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        index: dict[str, int] = {}
        for i, product in enumerate(self._products):
            if product.id in index:
                raise ValidationError(f"duplicate product id {product.id!r} in catalogue")
            index[product.id] = i
        object.__setattr__(self, "_index", index)

    def __getitem__(self, product_id: str) -> Product:
        try:
            return self._products[self._index[product_id]]
        except KeyError:
            raise UnknownProductError(f"unknown product {product_id!r}") from None

    def __iter__(self) -> Iterator[str]:
        return (p.id for p in self._products)

    def __len__(self) -> int:
        return len(self._products)

    def __contains__(self, product_id: object) -> bool:
        return product_id in self._index

    def __repr__(self) -> str:
        return short_repr("ProductCatalog", f"{len(self)} products")

    def _repr_html_(self) -> str:
        rows = (
            (p.id, p.name_en, p.name_zh, " ".join(sorted(s.name for s in p.segments)))
            for p in self._products
        )
        headings = ("id", "name_en", "name_zh", "segments")
        return html_table(headings, rows, total=len(self), caption=repr(self), unit="products")

    def position(self, product_id: str) -> int:
        """The product's position in the catalogue: its code in columnar arrays."""
        try:
            return self._index[product_id]
        except KeyError:
            raise UnknownProductError(f"unknown product {product_id!r}") from None

    @property
    def products(self) -> tuple[Product, ...]:
        """The products in catalogue order."""
        return self._products

    def with_products(self, products: Iterable[Product]) -> ProductCatalog:
        """A new catalogue with ``products`` appended (ids must be new)."""
        return ProductCatalog(self._products + tuple(products))

    def for_segment(self, segment: Segment) -> tuple[Product, ...]:
        """Products that mainly serve ``segment``."""
        return tuple(p for p in self._products if segment in p.segments)


_J, _A, _F, _I, _E, _FA = (
    Segment.JUDICIAL,
    Segment.AUTO_ECOSYSTEM,
    Segment.FINANCE,
    Segment.INSURANCE,
    Segment.ECOMMERCE_TOP,
    Segment.FOOTWEAR_APPAREL,
)

_DEFAULT_PRODUCTS: tuple[Product, ...] = (
    Product("standard_express", "Standard express", "标准快递"),
    Product("court_express", "Court express", "法院专递", {_J}),
    Product("procuratorate_express", "Procuratorate express", "检察专递", {_J}),
    Product("labor_arbitration_express", "Labour-arbitration express", "劳动仲裁专递", {_J}),
    Product("legal_document_express", "Legal-document express", "法律文书专递", {_J}),
    Product("e_receipt", "Electronic return receipt", "电子签收回执", {_J}),
    Product("licence_mailing", "Driving-licence mailing", "驾驶证邮寄", {_A}),
    Product("plate_mailing", "Plate mailing", "号牌寄递", {_A}),
    Product("nonmotor_plate_service", "Non-motor-vehicle plate service", "非机动车牌证服务", {_A}),
    Product(
        "auto_finance_service", "Auto finance / car-loan service", "汽车金融车贷服务", {_A, _F}
    ),
    Product("archive_warehousing", "Smart archive warehousing", "档案智能仓配", {_A}),
    Product("vehicle_inspection_service", "Vehicle inspection service", "车辆检测服务", {_A}),
    Product("card_letter", "Card-letter mailing", "卡函寄递", {_F}),
    Product("policy_mailing", "Policy and document mailing", "保单寄递", {_I}),
    Product("warehouse_delivery", "Warehouse + delivery", "仓配一体", {_E, _FA}),
    Product("intra_province_delivery", "Intra-province last-mile", "省内落地配", {_E}),
    Product("regional_consolidation", "Regional consolidation", "区域集配", {_E}),
    Product("custom_route", "Custom mail route", "定制邮路", {_E}),
    Product("presale_staging", "Full speed ahead pre-sale staging", "极速前进", {_FA}),
    Product("consolidated_payment", "Consolidated payment", "集中整付", {_FA}),
    Product("luggage_to_home", "Luggage to home", "行李到家"),
    Product("overseas_warehouse", "Overseas warehouse", "海外仓"),
    Product("cross_border_parcel", "Cross-border parcel", "跨境小包"),
)


def default_catalog() -> ProductCatalog:
    """The catalogue shipped with the library (every product DOMAIN.md names)."""
    return ProductCatalog(_DEFAULT_PRODUCTS)
