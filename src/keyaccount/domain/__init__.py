"""The domain model: attrs value objects with no persistence imports."""

from __future__ import annotations

from keyaccount.domain._change import Change, ExplanationValue, SegmentChange, TierChange
from keyaccount.domain._codes import (
    NO_CODE,
    SEGMENTS,
    SUB_SEGMENT_SEGMENT,
    SUB_SEGMENTS,
    TIERS,
    parent_cycles,
    segment_code,
    sub_segment_code,
    sub_segment_mismatch,
)
from keyaccount.domain._customer import Customer, RevenueRecord
from keyaccount.domain._glossary import (
    METRIC_LABELS_ZH,
    format_explanation,
    format_value,
    metric_label,
)
from keyaccount.domain._labels import (
    Department,
    ItemStatus,
    Level,
    Role,
    Segment,
    Severity,
    Stage,
    SubSegment,
    Tier,
)
from keyaccount.domain._language import LANGS, Lang, check_lang
from keyaccount.domain._money import (
    FEN_PER_YUAN,
    MAX_AMOUNT_FEN,
    MAX_MONEY_TEXT,
    MAX_MONTH_FEN,
    MAX_MONTH_VOLUME,
    MAX_VOLUME,
    check_amount_fen,
    fen_to_yuan,
    format_yuan,
    yuan_to_fen,
)
from keyaccount.domain._period import Period, PeriodRange
from keyaccount.domain._product import (
    DEFAULT_PRODUCT_ID,
    Product,
    ProductCatalog,
    default_catalog,
)
from keyaccount.domain._project import Member, ProjectGroup, default_project_groups

__all__ = [
    "DEFAULT_PRODUCT_ID",
    "FEN_PER_YUAN",
    "LANGS",
    "MAX_AMOUNT_FEN",
    "MAX_MONEY_TEXT",
    "MAX_MONTH_FEN",
    "MAX_MONTH_VOLUME",
    "MAX_VOLUME",
    "METRIC_LABELS_ZH",
    "NO_CODE",
    "SEGMENTS",
    "SUB_SEGMENTS",
    "SUB_SEGMENT_SEGMENT",
    "TIERS",
    "Change",
    "Customer",
    "Department",
    "ExplanationValue",
    "ItemStatus",
    "Lang",
    "Level",
    "Member",
    "Period",
    "PeriodRange",
    "Product",
    "ProductCatalog",
    "ProjectGroup",
    "RevenueRecord",
    "Role",
    "Segment",
    "SegmentChange",
    "Severity",
    "Stage",
    "SubSegment",
    "Tier",
    "TierChange",
    "check_amount_fen",
    "check_lang",
    "default_catalog",
    "default_project_groups",
    "fen_to_yuan",
    "format_explanation",
    "format_value",
    "format_yuan",
    "metric_label",
    "parent_cycles",
    "segment_code",
    "sub_segment_code",
    "sub_segment_mismatch",
    "yuan_to_fen",
]
