"""The demo's customer archetypes: named anchor customers and generated kinds.

A *kind* is a family of generated customers sharing a sub-segment, a project
group, a revenue scale, a product profile and a way of naming them (for
example provincial branches of insurers, or snack-food e-commerce merchants).
The anchors are the customers the source text names.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Mapping

import attrs
import numpy as np
import numpy.typing as npt

from keyaccount.demo._names import (
    BANKS,
    BRANDS,
    DISTRICTS,
    INSURER_KINDS,
    INSURERS,
    MUNICIPALITIES,
    PROVINCES,
    city_labels,
)
from keyaccount.domain import SubSegment, Tier

__all__ = [
    "ANCHORS",
    "KINDS",
    "SEASONS",
    "Anchor",
    "Kind",
    "NameContext",
    "Namer",
]

IntArray = npt.NDArray[np.int64]
ObjArray = npt.NDArray[np.object_]

PUBLIC, COMMERCE, FINANCE, INTERNATIONAL, TRAVEL = range(5)
_SEASON_RAW = np.array(
    [
        # Jan  Feb   Mar   Apr   May   Jun   Jul   Aug   Sep   Oct   Nov   Dec
        [0.95, 0.75, 1.00, 1.00, 1.00, 1.02, 1.00, 0.98, 1.02, 0.95, 1.05, 1.08],  # public bodies
        [1.00, 0.70, 0.92, 0.95, 1.02, 1.60, 0.90, 0.92, 0.95, 1.02, 2.10, 1.15],  # 618, 双11
        [1.35, 0.80, 1.05, 1.00, 0.98, 1.00, 0.95, 0.95, 1.00, 0.92, 1.00, 1.10],  # 开门红
        [1.00, 0.85, 0.95, 0.95, 0.98, 1.10, 0.95, 0.95, 1.00, 1.05, 1.55, 1.30],  # global peaks
        [1.30, 1.40, 0.85, 0.90, 1.00, 0.95, 1.25, 1.25, 0.90, 1.20, 0.80, 0.85],  # travel
    ]
)
SEASONS: npt.NDArray[np.float64] = _SEASON_RAW / _SEASON_RAW.mean(axis=1, keepdims=True)
"""Seasonal factors by profile (rows) and calendar month (columns), each row averaging 1."""


@attrs.frozen
class NameContext:
    """What a namer knows about the customers it names.

    Attributes:
        rng: The generator's random source.
        n: How many customers to name.
        parent: Parent positions (``-1`` for none).
        parent_name: The parents' names (``""`` for none).
        parent_province: The parents' province indices (``-1`` for none).
        rank: Each customer's rank among the block's children of the same parent.
    """

    rng: np.random.Generator
    n: int
    parent: IntArray
    parent_name: ObjArray
    parent_province: IntArray
    rank: IntArray


Namer = Callable[[NameContext], tuple[list[str], IntArray]]
"""Names customers: returns their names and province indices (into ``PROVINCES``)."""

_PROVINCE_SHORT = np.array([p[0] for p in PROVINCES], dtype=object)
_PROVINCE_FULL = np.array([p[1] for p in PROVINCES], dtype=object)
_PROVINCE_WEIGHT = np.array([p[2] for p in PROVINCES], dtype=np.float64)
_PROVINCE_WEIGHT /= _PROVINCE_WEIGHT.sum()
_CITIES = city_labels()
_CITY_LABEL = np.array([c[0] for c in _CITIES], dtype=object)
_CITY_COUNT = np.array([len(p[3]) for p in PROVINCES], dtype=np.int64)
_CITY_START = np.concatenate([[0], np.cumsum(_CITY_COUNT)[:-1]]).astype(np.int64)
_BRANDS = np.array(BRANDS, dtype=object)
_DISTRICTS = np.array(DISTRICTS, dtype=object)
N_PROVINCES = len(PROVINCES)


def province_index(short: str) -> int:
    """The index of a province in ``PROVINCES`` from its short name."""
    return [p[0] for p in PROVINCES].index(short)


def province_names() -> ObjArray:
    """Short province names, indexed like ``PROVINCES``."""
    return _PROVINCE_SHORT.copy()


def _random_provinces(rng: np.random.Generator, n: int) -> IntArray:
    return rng.choice(N_PROVINCES, size=n, p=_PROVINCE_WEIGHT).astype(np.int64)


def _render(
    templates: tuple[str, ...], choice: IntArray, fields: Mapping[str, ObjArray]
) -> ObjArray:
    """Fill ``templates[choice[i]]`` with row ``i`` of ``fields``, one template at a time."""
    out = np.empty(choice.shape[0], dtype=object)
    for t, template in enumerate(templates):
        rows = np.flatnonzero(choice == t)
        if rows.size == 0:
            continue
        parts: list[object] = []
        for literal, field, _, _ in string.Formatter().parse(template):
            if literal:
                parts.append(itertools.repeat(literal, rows.size))
            if field:
                parts.append(fields[field][rows].tolist())
        out[rows] = list(map("".join, zip(*parts, strict=False)))
    return out


def _fields_of(templates: tuple[str, ...]) -> set[str]:
    return {f for t in templates for _, f, _, _ in string.Formatter().parse(t) if f}


def templated(
    templates: tuple[str, ...], words: tuple[str, ...] = (), *, inherit: bool = False
) -> Namer:
    """A namer filling ``templates`` with provinces, cities, brands and ``words``.

    Fields: ``{prov}`` (广东), ``{prov_full}`` (广东省), ``{city}`` (广州市), ``{district}``,
    ``{brand}``, ``{word}`` (one of ``words``) and ``{parent}``. With ``inherit``,
    customers are placed in their parent's province.
    """
    used = _fields_of(templates)
    word_pool = np.array(words, dtype=object)

    def namer(ctx: NameContext) -> tuple[list[str], IntArray]:
        rng, n = ctx.rng, ctx.n
        if inherit:
            province = np.where(
                ctx.parent_province >= 0, ctx.parent_province, _random_provinces(rng, n)
            )
        else:
            province = _random_provinces(rng, n)
        fields: dict[str, ObjArray] = {
            "prov": _PROVINCE_SHORT[province],
            "prov_full": _PROVINCE_FULL[province],
            "parent": ctx.parent_name,
        }
        if "city" in used:
            pick = (rng.random(n) * _CITY_COUNT[province]).astype(np.int64)
            fields["city"] = _CITY_LABEL[_CITY_START[province] + pick]
        if "district" in used:
            fields["district"] = _DISTRICTS[rng.integers(0, len(_DISTRICTS), n)]
        if "brand" in used:
            fields["brand"] = _BRANDS[rng.integers(0, len(_BRANDS), n)]
        if "word" in used:
            fields["word"] = word_pool[rng.integers(0, len(word_pool), n)]
        choice = rng.integers(0, len(templates), n)
        names: list[str] = _render(templates, choice, fields).tolist()
        return names, province

    return namer


def branches(suffixes: tuple[str, ...], more: str) -> Namer:
    """A namer for provincial branches: ``{parent}{province}{suffix}``.

    A parent's branches go round the 31 provinces; the first round uses
    ``suffixes[0]``, the next ``suffixes[1]`` and so on, then ``more`` with the
    round number (``more.format(2)``).
    """

    def namer(ctx: NameContext) -> tuple[list[str], IntArray]:
        province = (ctx.rank + ctx.parent * 7) % N_PROVINCES
        rounds = ctx.rank // N_PROVINCES
        top = int(rounds.max()) + 1 if ctx.n else 0
        labels = np.array(
            [*suffixes, *(more.format(r + 1) for r in range(len(suffixes), top))], dtype=object
        )
        fields = {
            "parent": ctx.parent_name,
            "prov_full": _PROVINCE_FULL[province],
            "suffix": labels[rounds],
        }
        names: list[str] = _render(
            ("{parent}{prov_full}{suffix}",), np.zeros(ctx.n, np.int64), fields
        ).tolist()
        return names, province.astype(np.int64)

    return namer


def high_courts(exclude: tuple[str, ...]) -> Namer:
    """Provincial high courts (``广东省高级人民法院``), one per province not in ``exclude``."""
    pool = np.array([i for i, p in enumerate(PROVINCES) if p[0] not in exclude], dtype=np.int64)

    def namer(ctx: NameContext) -> tuple[list[str], IntArray]:
        province = ctx.rng.permutation(pool)[: ctx.n]
        return [f"{_PROVINCE_FULL[p]}高级人民法院" for p in province], province

    return namer


def traffic_bureaus(ctx: NameContext) -> tuple[list[str], IntArray]:
    """Provincial traffic management bureaus, one per province."""
    province = ctx.rng.permutation(N_PROVINCES)[: ctx.n].astype(np.int64)
    names = [
        f"{_PROVINCE_FULL[p]}公安局公安交通管理局"
        if _PROVINCE_SHORT[p] in MUNICIPALITIES
        else f"{_PROVINCE_FULL[p]}公安厅交通管理局"
        for p in province
    ]
    return names, province


def national_banks(ctx: NameContext) -> tuple[list[str], IntArray]:
    """National bank head offices, in the order of ``BANKS``."""
    chosen = BANKS[: ctx.n]
    return [b[0] for b in chosen], np.array([province_index(b[1]) for b in chosen], dtype=np.int64)


def insurers(ctx: NameContext) -> tuple[list[str], IntArray]:
    """Insurer headquarters: the real names first, then generated ones."""
    real = INSURERS[: ctx.n]
    extra = ctx.n - len(real)
    brand = _BRANDS[ctx.rng.integers(0, len(_BRANDS), extra)]
    kind = np.array(INSURER_KINDS, dtype=object)[ctx.rng.integers(0, len(INSURER_KINDS), extra)]
    names = [r[0] for r in real] + [f"{b}{k}" for b, k in zip(brand, kind, strict=True)]
    province = np.concatenate(
        [
            np.array([province_index(r[1]) for r in real], dtype=np.int64),
            _random_provinces(ctx.rng, extra),
        ]
    )
    return names, province


@attrs.frozen
class Kind:
    """A family of generated customers.

    Attributes:
        key: Short id, also the name of the parent pool its customers form.
        sub: Sub-segment (its segment follows), or ``None``.
        group: The owning project group id, or ``None``.
        share: Relative share of the generated customers.
        median: Median annual revenue in yuan (lognormal).
        sigma: Spread of the lognormal (log scale).
        primary: The main products and the chance of each being the one.
        namer: How customers are named and placed.
        extras: Other products and their adoption chance; the segment's other
            products default to :data:`DEFAULT_EXTRA`.
        standard: Chance of also using ``standard_express``.
        parents: Pools to draw a parent from, first non-empty one wins.
        season: Seasonal profile (row of :data:`SEASONS`).
        cap: At most this many customers (unique institutions).
        essential: Allocated first in tiny portfolios so every sub-segment shows.
    """

    key: str
    sub: SubSegment | None
    group: str | None
    share: float
    median: float
    sigma: float
    primary: tuple[tuple[str, float], ...]
    namer: Namer
    extras: tuple[tuple[str, float], ...] = ()
    standard: float = 0.7
    parents: tuple[str, ...] = ()
    season: int = PUBLIC
    cap: int | None = None
    essential: bool = False


DEFAULT_EXTRA = 0.2
"""Adoption chance of a segment product a kind does not list."""
LUGGAGE_EXTRA = 0.002
"""Adoption chance of luggage-to-home for domestic customers outside the travel kind."""


@attrs.frozen
class Anchor:
    """A customer the source text names.

    Attributes:
        name: Its name (耐克).
        sub: Sub-segment, or ``None``.
        group: Owning project group id, or ``None``.
        province: Short province name.
        annual: Annual revenue in yuan when its tier was set.
        growth: Yearly log growth of revenue.
        tier: Its tier.
        products: ``(product, weight, adopted)``: share of revenue and, when not
            ``None``, the number of months before the end month it was adopted.
        pool: Parent pool it joins (its generated children may hang under it).
        started: For a new project, months before the end month it started.
    """

    name: str
    sub: SubSegment | None
    group: str | None
    province: str
    annual: float
    growth: float
    tier: Tier
    products: tuple[tuple[str, float, int | None], ...]
    pool: str | None = None
    started: int | None = None


_S = SubSegment
ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "耐克", _S.FASHION_BRAND, "nike", "上海", 60e6, 0.08, Tier.STRATEGIC,
        (
            ("warehouse_delivery", 0.4, None),
            ("presale_staging", 0.3, 12),
            ("consolidated_payment", 0.1, 12),
            ("standard_express", 0.2, None),
        ),
    ),
    Anchor(
        "腾讯", _S.INTERNET_COMPANY, "tencent", "广东", 40e6, -0.03, Tier.STRATEGIC,
        (("standard_express", 1.0, None),),
    ),
    Anchor(
        "当当网", _S.BOOKS_MEDIA, "ecommerce", "北京", 36e6, 0.05, Tier.STRATEGIC,
        (
            ("intra_province_delivery", 0.45, None),
            ("custom_route", 0.25, None),
            ("warehouse_delivery", 0.2, None),
            ("standard_express", 0.1, None),
        ),
    ),
    Anchor(
        "巧厨商贸", _S.HOME_LIVING, "ecommerce", "浙江", 30e6, 0.12, Tier.STRATEGIC,
        (
            ("intra_province_delivery", 0.6, None),
            ("custom_route", 0.3, None),
            ("standard_express", 0.1, None),
        ),
    ),
    Anchor(
        "中国工商银行", _S.NATIONAL_BANK, "banks", "北京", 25e6, 0.03, Tier.STRATEGIC,
        (("card_letter", 0.8, None), ("standard_express", 0.2, None)),
        pool="bank_hq",
    ),
    Anchor(
        "中国人寿", _S.INSURER_HQ, "insurers", "北京", 8e6, 0.04, Tier.STRATEGIC,
        (("policy_mailing", 0.9, None), ("standard_express", 0.1, None)),
        pool="insurer_hq",
    ),
    Anchor(
        "广东省高级人民法院", _S.COURT, "courts", "广东", 4e6, 0.06, Tier.KEY,
        (
            ("court_express", 0.7, None),
            ("legal_document_express", 0.2, None),
            ("e_receipt", 0.1, 10),
        ),
        pool="high_court",
    ),
    Anchor(
        "公安部交通管理局", _S.DRIVING_LICENCE, "traffic", "北京", 20e6, 0.15, Tier.STRATEGIC,
        (("licence_mailing", 0.7, None), ("plate_mailing", 0.3, None)),
        pool="traffic_ministry",
    ),
    Anchor(
        "菜鸟网络", None, "cainiao", "浙江", 30e6, 0.10, Tier.STRATEGIC,
        (("cross_border_parcel", 0.7, None), ("overseas_warehouse", 0.3, None)),
    ),
    Anchor(
        "来伊份", _S.SNACK_FOOD, "ecommerce", "上海", 14e6, 0.10, Tier.KEY,
        (
            ("warehouse_delivery", 0.6, None),
            ("regional_consolidation", 0.3, None),
            ("standard_express", 0.1, None),
        ),
        started=14,
    ),
    Anchor(
        "希望在线", _S.BOOKS_MEDIA, "ecommerce", "四川", 10e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.8, None), ("standard_express", 0.2, None)),
        started=11,
    ),
    Anchor(
        "博库书城", _S.BOOKS_MEDIA, "ecommerce", "浙江", 12e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.7, None), ("intra_province_delivery", 0.3, None)),
        started=16,
    ),
    Anchor(
        "阿里巴巴小邮局", _S.HOME_LIVING, "ecommerce", "浙江", 15e6, 0.10, Tier.KEY,
        (("regional_consolidation", 0.6, None), ("warehouse_delivery", 0.4, None)),
        started=9,
    ),
    Anchor(
        "联想B2C", _S.HOME_LIVING, "ecommerce", "北京", 14e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.7, None), ("standard_express", 0.3, None)),
        started=13,
    ),
    Anchor(
        "抖音电商云仓", _S.PERSONAL_CARE, "ecommerce", "北京", 20e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.6, None), ("regional_consolidation", 0.4, None)),
        started=7,
    ),
    Anchor(
        "中航信", _S.HOME_LIVING, "ecommerce", "北京", 8e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.5, None), ("standard_express", 0.5, None)),
        started=10,
    ),
    Anchor(
        "财智共享", _S.PERSONAL_CARE, "ecommerce", "广东", 7e6, 0.10, Tier.KEY,
        (("warehouse_delivery", 0.6, None), ("intra_province_delivery", 0.4, None)),
        started=12,
    ),
)  # fmt: skip
"""The named customers, always the first positions of a demo portfolio, in this order."""

_INSURANCE_SHARE = 0.08
_HQ_SHARE = _INSURANCE_SHARE * 40 / (40 + 1439)
_BRANCH_SHARE = _INSURANCE_SHARE * 1439 / (40 + 1439)

_E_COMMERCE = (
    ("warehouse_delivery", 0.5),
    ("intra_province_delivery", 0.3),
    ("regional_consolidation", 0.2),
)
_E_EXTRAS = (("custom_route", 0.03),)

KINDS: tuple[Kind, ...] = (
    # ---------------------------------------------------------------- courts / judicial
    Kind(
        "high_court", _S.COURT, "courts", 0.004, 1.5e6, 0.7,
        (("court_express", 1.0),),
        high_courts(("广东",)),
        extras=(("e_receipt", 0.5), ("legal_document_express", 0.3)),
        standard=0.3, cap=30,
    ),
    Kind(
        "lower_court", _S.COURT, "courts", 0.045, 250e3, 1.0,
        (("court_express", 1.0),),
        templated(
            ("{city}中级人民法院", "{city}人民法院", "{city}{district}区人民法院"), inherit=True
        ),
        extras=(("e_receipt", 0.4),),
        standard=0.3, parents=("high_court",),
    ),
    Kind(
        "basic_court", _S.COURT, "courts", 0.03, 40e3, 1.1,
        (("court_express", 1.0),),
        templated(("{city}{district}区人民法院", "{city}{district}人民法庭"), inherit=True),
        extras=(("e_receipt", 0.3),),
        standard=0.3, parents=("lower_court", "high_court"),
    ),
    Kind(
        "procuratorate", _S.PROCURATORATE, "courts", 0.025, 80e3, 1.1,
        (("procuratorate_express", 1.0),),
        templated(("{city}人民检察院", "{city}{district}区人民检察院")),
        essential=True,
    ),
    Kind(
        "arbitration", _S.ARBITRATION, "courts", 0.015, 60e3, 1.1,
        (("labor_arbitration_express", 1.0),),
        templated(("{city}劳动人事争议仲裁委员会", "{city}仲裁委员会")),
        essential=True,
    ),
    Kind(
        "judicial_bureau", _S.JUDICIAL_BUREAU, "courts", 0.01, 40e3, 1.1,
        (("legal_document_express", 1.0),),
        templated(("{city}司法局", "{city}{district}区司法局")),
        essential=True,
    ),
    Kind(
        "law_firm", _S.LAW_FIRM, "courts", 0.012, 30e3, 1.3,
        (("legal_document_express", 1.0),),
        templated(("{prov}{brand}律师事务所",)),
        essential=True,
    ),
    # ---------------------------------------------------------------- traffic / auto ecosystem
    Kind(
        "traffic_bureau", _S.DRIVING_LICENCE, "traffic", 0.004, 3e6, 0.6,
        (("licence_mailing", 1.0),),
        traffic_bureaus,
        extras=(("plate_mailing", 0.6), ("nonmotor_plate_service", 0.3)),
        standard=0.3, parents=("traffic_ministry",), cap=31,
    ),
    Kind(
        "traffic_detachment", _S.DRIVING_LICENCE, "traffic", 0.03, 200e3, 1.0,
        (("licence_mailing", 1.0),),
        templated(("{city}公安局交通警察支队",), inherit=True),
        extras=(("plate_mailing", 0.4),),
        standard=0.3, parents=("traffic_bureau", "traffic_ministry"),
    ),
    Kind(
        "vehicle_office", _S.VEHICLE_PLATE, "traffic", 0.03, 150e3, 1.0,
        (("plate_mailing", 1.0),),
        templated(("{city}公安局交通警察支队车辆管理所", "{city}{district}车管分所"), inherit=True),
        extras=(("licence_mailing", 0.3),),
        standard=0.3, parents=("traffic_bureau", "traffic_ministry"), essential=True,
    ),
    Kind(
        "nonmotor", _S.NONMOTOR_PLATE, "traffic", 0.02, 60e3, 1.1,
        (("nonmotor_plate_service", 1.0),),
        templated(("{city}电动自行车登记服务站", "{city}{district}非机动车登记点")),
        essential=True,
    ),
    Kind(
        "auto_finance", _S.AUTO_FINANCE, "traffic", 0.015, 150e3, 1.4,
        (("auto_finance_service", 1.0),),
        templated(("{brand}汽车金融有限公司", "{city}{brand}融资租赁有限公司")),
        essential=True,
    ),
    Kind(
        "archive", _S.ARCHIVE_WAREHOUSING, "traffic", 0.01, 100e3, 1.1,
        (("archive_warehousing", 1.0),),
        templated(("{city}机动车档案管理中心", "{brand}档案管理服务有限公司")),
        essential=True,
    ),
    Kind(
        "inspection", _S.VEHICLE_INSPECTION, "traffic", 0.015, 40e3, 1.2,
        (("vehicle_inspection_service", 1.0),),
        templated(("{city}{brand}机动车检测有限公司",)),
        essential=True,
    ),
    # ---------------------------------------------------------------- banks / finance
    Kind(
        "bank_hq", _S.NATIONAL_BANK, "banks", 0.002, 8e6, 0.8,
        (("card_letter", 1.0),),
        national_banks,
        extras=(("auto_finance_service", 0.1),),
        standard=0.5, cap=len(BANKS),
    ),
    Kind(
        "bank_branch", _S.NATIONAL_BANK, "banks", 0.03, 300e3, 1.0,
        (("card_letter", 1.0),),
        branches(("分行", "分行营业部", "分行信用卡中心"), "第{}分行"),
        extras=(("auto_finance_service", 0.05),),
        standard=0.4, parents=("bank_hq",),
    ),
    Kind(
        "card_maker", _S.CARD_MANUFACTURER, "banks", 0.01, 1.5e6, 1.2,
        (("card_letter", 1.0),),
        templated(("{brand}智能卡科技有限公司", "{city}{brand}金融卡制造有限公司")),
        essential=True,
    ),
    Kind(
        "finance_company", _S.FINANCE_COMPANY, "banks", 0.01, 300e3, 1.3,
        (("card_letter", 0.5), ("auto_finance_service", 0.5)),
        templated(("{brand}消费金融有限公司", "{brand}财务有限公司")),
        essential=True,
    ),
    # ---------------------------------------------------------------- insurers
    Kind(
        "insurer_hq", _S.INSURER_HQ, "insurers", _HQ_SHARE, 400e3, 1.0,
        (("policy_mailing", 1.0),),
        insurers,
        standard=0.4,
    ),
    Kind(
        "insurer_branch", _S.INSURER_BRANCH, "insurers", _BRANCH_SHARE, 120e3, 1.0,
        (("policy_mailing", 1.0),),
        branches(("分公司", "分公司营业部", "电话销售中心"), "第{}营业部"),
        standard=0.4, parents=("insurer_hq",), essential=True,
    ),
    # ---------------------------------------------------------------- e-commerce TOP
    Kind(
        "snack_food", _S.SNACK_FOOD, "ecommerce", 0.05, 150e3, 1.8,
        _E_COMMERCE,
        templated(("{brand}食品旗舰店", "{city}{brand}食品有限公司", "{brand}零食铺子")),
        extras=_E_EXTRAS, season=COMMERCE,
    ),
    Kind(
        "personal_care", _S.PERSONAL_CARE, "ecommerce", 0.05, 150e3, 1.8,
        _E_COMMERCE,
        templated(
            ("{brand}日化有限公司", "{brand}美妆旗舰店", "{city}{brand}个人护理用品有限公司")
        ),
        extras=_E_EXTRAS, season=COMMERCE,
    ),
    Kind(
        "books_media", _S.BOOKS_MEDIA, "ecommerce", 0.04, 120e3, 1.7,
        _E_COMMERCE,
        templated(("{brand}图书专营店", "{brand}文化传媒有限公司", "{city}{brand}书店")),
        extras=_E_EXTRAS, season=COMMERCE,
    ),
    Kind(
        "home_living", _S.HOME_LIVING, "ecommerce", 0.06, 150e3, 1.8,
        _E_COMMERCE,
        templated(("{brand}家居旗舰店", "{city}{brand}家居用品有限公司", "{brand}生活馆")),
        extras=_E_EXTRAS, season=COMMERCE,
    ),
    # ---------------------------------------------------------------- footwear and apparel
    Kind(
        "fashion_brand", _S.FASHION_BRAND, "nike", 0.05, 120e3, 1.7,
        (("warehouse_delivery", 0.7), ("presale_staging", 0.3)),
        templated(("{brand}服饰有限公司", "{brand}潮牌旗舰店", "{brand}运动用品有限公司")),
        extras=(("presale_staging", 0.2), ("consolidated_payment", 0.15)),
        season=COMMERCE,
    ),
    Kind(
        "industrial_cluster", _S.INDUSTRIAL_CLUSTER, "nike", 0.03, 200e3, 1.3,
        (("warehouse_delivery", 1.0),),
        templated(
            ("{city}{word}产业园", "{city}{brand}{word}商会"),
            ("鞋业", "服装", "童装", "运动鞋", "纺织", "箱包"),
        ),
        season=COMMERCE, essential=True,
    ),
    # ---------------------------------------------------------------- internet
    Kind(
        "internet", _S.INTERNET_COMPANY, "tencent", 0.05, 80e3, 1.6,
        (("standard_express", 1.0),),
        templated(
            (
                "{brand}网络科技有限公司",
                "{city}{brand}信息技术有限公司",
                "{brand}互联网科技有限公司",
            )
        ),
    ),
    # ---------------------------------------------------------------- international (no segment)
    Kind(
        "overseas", None, "overseas_warehouse", 0.04, 200e3, 1.6,
        (("overseas_warehouse", 1.0),),
        templated(("{brand}海外仓储有限公司", "{city}{brand}国际物流有限公司")),
        extras=(("cross_border_parcel", 0.3),),
        standard=0.1, season=INTERNATIONAL, essential=True,
    ),
    Kind(
        "cross_border", None, "cainiao", 0.04, 80e3, 1.6,
        (("cross_border_parcel", 1.0),),
        templated(
            ("{brand}跨境电子商务有限公司", "{city}{brand}进出口贸易有限公司", "{brand}速卖通店铺")
        ),
        extras=(("overseas_warehouse", 0.15),),
        standard=0.1, season=INTERNATIONAL,
    ),
    # ---------------------------------------------------------------- no group, no segment
    Kind(
        "single", None, None, 0.18, 30e3, 1.5,
        (("standard_express", 1.0),),
        templated(
            ("{city}{brand}{word}有限公司",),
            ("医药", "机械", "电子", "农业科技", "教育科技", "贸易", "建材", "化工", "汽车配件",
             "食品", "印务", "生物科技"),
        ),
    ),
    Kind(
        "travel", None, None, 0.004, 300e3, 1.0,
        (("luggage_to_home", 1.0),),
        templated(("{city}国际机场", "{brand}航空有限公司")),
        standard=0.5, season=TRAVEL,
    ),
)  # fmt: skip
"""Generated kinds, in portfolio order (a kind's parents come from earlier kinds or anchors)."""
