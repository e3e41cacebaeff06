"""Enumerations with Chinese display labels.

Tiers, segments, sub-segments and roles; and the labels of running the project groups:
levels, departments, severities, supervision-item states and project stages.
"""

from __future__ import annotations

import enum
from typing import Self

from keyaccount.domain._language import check_lang
from keyaccount.exceptions import UnknownLabelError

__all__ = [
    "Department",
    "ItemStatus",
    "Level",
    "Role",
    "Segment",
    "Severity",
    "Stage",
    "SubSegment",
    "Tier",
]


def _normalise(text: str) -> str:
    return text.strip().replace("-", "_").replace(" ", "_").upper()


class _Labelled(enum.Enum):
    """Mixin for enums whose members carry a Chinese label."""

    @property
    def label_zh(self) -> str:
        """The Chinese display label, e.g. ``重点客户``."""
        raise NotImplementedError

    def label(self, lang: str = "en") -> str:
        """The display label in ``lang`` (``"en"`` gives the member name, ``"zh"`` Chinese).

        Raises:
            ValidationError: ``lang`` is not ``"en"`` or ``"zh"``.
        """
        return self.label_zh if check_lang(lang, where="label") == "zh" else self.name

    @classmethod
    def _aliases(cls, member: Self) -> tuple[str, ...]:
        return (member.label_zh,)

    @classmethod
    def parse(cls, text: str | Self) -> Self:
        """Parse a member from its name or its Chinese label (Latin letters in any case).

        Raises:
            UnknownLabelError: ``text`` names no member; the message lists the choices.
        """
        if isinstance(text, cls):
            return text
        if not isinstance(text, str):
            raise UnknownLabelError(cls._kind(), text, tuple(m.name for m in cls))
        stripped = text.strip()
        key = _normalise(stripped)
        folded = stripped.casefold()
        for member in cls:
            if member.name == key or folded in {a.casefold() for a in cls._aliases(member)}:
                return member
        raise UnknownLabelError(cls._kind(), text, tuple(m.name for m in cls))

    @classmethod
    def _kind(cls) -> str:
        return {"SubSegment": "sub-segment"}.get(cls.__name__, cls.__name__.lower())


class Tier(_Labelled):
    """A customer tier, ordered ``DORMANT < ACTIVE < KEY < STRATEGIC``.

    ``KEY`` is the text's 重点客户, also called 规模客户 (scale customer).
    ``DORMANT`` is a customer that is no longer active, the floor for demotions.

    Example:
        >>> Tier.parse("规模客户") is Tier.KEY
        True
        >>> Tier.ACTIVE < Tier.STRATEGIC
        True
    """

    DORMANT = 0
    ACTIVE = 1
    KEY = 2
    STRATEGIC = 3

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return _TIER_LABELS[self][0]

    @property
    def rank(self) -> int:
        """Position in the order, 0 for ``DORMANT`` up to 3 for ``STRATEGIC``."""
        return int(self.value)

    @property
    def code(self) -> int:
        """The integer code in columnar data: the rank (``docs/architecture.md``)."""
        return int(self.value)

    @classmethod
    def _aliases(cls, member: Tier) -> tuple[str, ...]:
        names = _TIER_LABELS[member]
        return names + tuple(n.removesuffix("客户") for n in names)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Tier):
            return NotImplemented
        return self.rank >= other.rank


_TIER_LABELS: dict[Tier, tuple[str, ...]] = {
    Tier.DORMANT: ("沉睡客户",),
    Tier.ACTIVE: ("活跃客户",),
    Tier.KEY: ("重点客户", "规模客户"),
    Tier.STRATEGIC: ("战略客户",),
}


class Segment(_Labelled):
    """An industry segment (行业) of the key-account center.

    Example:
        >>> Segment.parse("电商TOP") is Segment.ECOMMERCE_TOP
        True
    """

    JUDICIAL = "司法"
    AUTO_ECOSYSTEM = "汽车生态"
    FINANCE = "金融"
    INSURANCE = "保险"
    ECOMMERCE_TOP = "电商TOP"
    FOOTWEAR_APPAREL = "鞋服"
    INTERNET = "互联网"

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value)

    @property
    def code(self) -> int:
        """The integer code in columnar data: the position in definition order."""
        return _position(self)

    @property
    def sub_segments(self) -> tuple[SubSegment, ...]:
        """The sub-segments that belong to this segment, in declaration order."""
        return tuple(s for s in SubSegment if s.segment is self)

    @classmethod
    def _aliases(cls, member: Segment) -> tuple[str, ...]:
        return (member.label_zh, member.label_zh + "行业")


class SubSegment(_Labelled):
    """A sub-segment; each belongs to exactly one :class:`Segment`.

    Example:
        >>> SubSegment.parse("法院").segment is Segment.JUDICIAL
        True
    """

    COURT = ("法院", Segment.JUDICIAL)
    PROCURATORATE = ("检察院", Segment.JUDICIAL)
    ARBITRATION = ("仲裁委", Segment.JUDICIAL)
    JUDICIAL_BUREAU = ("司法局", Segment.JUDICIAL)
    LAW_FIRM = ("律所", Segment.JUDICIAL)
    DRIVING_LICENCE = ("驾驶证", Segment.AUTO_ECOSYSTEM)
    VEHICLE_PLATE = ("机动车号牌", Segment.AUTO_ECOSYSTEM)
    NONMOTOR_PLATE = ("非机动车牌证", Segment.AUTO_ECOSYSTEM)
    AUTO_FINANCE = ("汽车金融车贷", Segment.AUTO_ECOSYSTEM)
    ARCHIVE_WAREHOUSING = ("档案智能仓配", Segment.AUTO_ECOSYSTEM)
    VEHICLE_INSPECTION = ("车辆检测", Segment.AUTO_ECOSYSTEM)
    NATIONAL_BANK = ("全国性银行", Segment.FINANCE)
    CARD_MANUFACTURER = ("制卡厂", Segment.FINANCE)
    FINANCE_COMPANY = ("金融公司", Segment.FINANCE)
    INSURER_HQ = ("保险公司总部", Segment.INSURANCE)
    INSURER_BRANCH = ("省级分支机构", Segment.INSURANCE)
    SNACK_FOOD = ("休闲食品", Segment.ECOMMERCE_TOP)
    PERSONAL_CARE = ("个人护理", Segment.ECOMMERCE_TOP)
    BOOKS_MEDIA = ("图书影像", Segment.ECOMMERCE_TOP)
    HOME_LIVING = ("居家生活", Segment.ECOMMERCE_TOP)
    FASHION_BRAND = ("时尚潮牌", Segment.FOOTWEAR_APPAREL)
    INDUSTRIAL_CLUSTER = ("产业集群", Segment.FOOTWEAR_APPAREL)
    INTERNET_COMPANY = ("互联网企业", Segment.INTERNET)

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value[0])

    @property
    def code(self) -> int:
        """The integer code in columnar data: the position in definition order."""
        return _position(self)

    @property
    def segment(self) -> Segment:
        """The segment this sub-segment belongs to."""
        seg: Segment = self.value[1]
        return seg


class Role(_Labelled):
    """A role in a project group (项目组).

    Project managers and account managers are full-time; the three kinds of
    support manager are part-time (DOMAIN.md, "Organisation").
    """

    PROJECT_MANAGER = "项目经理"
    ACCOUNT_MANAGER = "客户经理"
    BUSINESS_DEVELOPMENT = "商务拓展经理"
    OPERATIONS_OPTIMISATION = "运营优化经理"
    SERVICE_IMPROVEMENT = "服务提升经理"

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value)

    @property
    def is_support(self) -> bool:
        """Whether this is one of the three support-manager roles (三类支撑经理)."""
        return self not in (Role.PROJECT_MANAGER, Role.ACCOUNT_MANAGER)

    @property
    def full_time_by_default(self) -> bool:
        """Project and account managers are full-time; support managers part-time."""
        return not self.is_support

    @classmethod
    def _aliases(cls, member: Role) -> tuple[str, ...]:
        # The text names the support managers by their field alone (商务拓展); the bare
        # 项目 / 客户 mean "project" / "customer", so they are not aliases of a role.
        if member.is_support:
            return (member.label_zh, member.label_zh.removesuffix("经理"))
        return (member.label_zh,)


class _Ranked(_Labelled):
    """Mixin for labels ordered by their position in the definition (``rank``)."""

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value)

    @property
    def rank(self) -> int:
        """Position in definition order, from 0."""
        return list(type(self)).index(self)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.rank >= other.rank


class Level(_Ranked):
    """A level of the linkage groups, ordered ``CITY < PROVINCE < HEADQUARTERS``.

    What a level cannot resolve escalates to the level above (异常事项升级机制).

    Example:
        >>> Level.parse("省") is Level.PROVINCE
        True
        >>> Level.CITY < Level.HEADQUARTERS
        True
    """

    CITY = "市"
    PROVINCE = "省"
    HEADQUARTERS = "总部"

    @property
    def above(self) -> Level | None:
        """The next level up, ``None`` at headquarters."""
        levels = list(Level)
        return levels[self.rank + 1] if self.rank + 1 < len(levels) else None

    @classmethod
    def _aliases(cls, member: Level) -> tuple[str, ...]:
        extra = {"CITY": ("地市", "市级"), "PROVINCE": ("省级", "省分"), "HEADQUARTERS": ("集团",)}
        return (member.label_zh, *extra[member.name])


class Department(_Labelled):
    """A responsible department of the "iron triangle" (铁三角): market, operations, service, IT."""

    MARKET = "市场"
    OPERATIONS = "运营"
    SERVICE = "服务"
    IT = "信息技术"

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value)

    @classmethod
    def _aliases(cls, member: Department) -> tuple[str, ...]:
        return (member.label_zh, member.label_zh + "部")


class Severity(_Ranked):
    """How serious a supervision item is, ``NORMAL < SEVERE``; a severe item escalates at once."""

    NORMAL = "一般"
    SEVERE = "严重"


class ItemStatus(_Labelled):
    """The state of a supervision item: open until closed out (销号)."""

    OPEN = "未销号"
    CLOSED = "已销号"

    @property
    def label_zh(self) -> str:
        """Chinese label."""
        return str(self.value)

    @classmethod
    def _aliases(cls, member: ItemStatus) -> tuple[str, ...]:
        return (member.label_zh, {"OPEN": "在办", "CLOSED": "销号"}[member.name])


class Stage(_Ranked):
    """A stage of a project's closed loop (PM管理法), in order.

    start 启动, plan 规划, execute 执行, monitor 监控, review 复盘, improve 再提升
    (after which the project plans again).
    """

    START = "启动"
    PLAN = "规划"
    EXECUTE = "执行"
    MONITOR = "监控"
    REVIEW = "复盘"
    IMPROVE = "再提升"


_POSITIONS: dict[Segment | SubSegment, int] = {
    **{s: i for i, s in enumerate(Segment)},
    **{s: i for i, s in enumerate(SubSegment)},
}


def _position(member: Segment | SubSegment) -> int:
    return _POSITIONS[member]
