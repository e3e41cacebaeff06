"""Project groups (项目组): members, roles and the customers they own."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from keyaccount.domain._labels import Role, Segment
from keyaccount.domain._language import check_lang
from keyaccount.exceptions import ValidationError
from keyaccount.utils.display import html_table, number, short_repr

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Member", "ProjectGroup", "default_project_groups"]


def _to_role(value: Role | str) -> Role:
    return Role.parse(value)


def _default_full_time(member: Member) -> bool:
    return member.role.full_time_by_default


@attrs.frozen
class Member:
    """A person in a project group.

    Attributes:
        name: The person.
        role: Project manager, account manager or one of the three support managers.
        full_time: Project and account managers are full-time by default,
            support managers part-time. Full-time members are scored 100% on the
            project's performance, part-time ones 50%.
    """

    name: str = attrs.field(converter=str)
    role: Role = attrs.field(converter=_to_role)
    full_time: bool = attrs.field(
        default=attrs.Factory(_default_full_time, takes_self=True), kw_only=True
    )

    @property
    def performance_weight(self) -> float:
        """Share of personal performance scored on the project: 1.0 full-time, 0.5 part-time."""
        return 1.0 if self.full_time else 0.5


def _to_ids(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise ValidationError(f"customer_ids must be a collection of ids, not the text {values!r}")
    return frozenset(map(str, values))


def _to_members(values: Iterable[Member]) -> tuple[Member, ...]:
    return tuple(values)


def _opt_segment(value: Segment | str | None) -> Segment | None:
    return None if value is None else Segment.parse(value)


@attrs.frozen
class ProjectGroup:
    """A project group of the Key Account Marketing Center.

    Attributes:
        id: Lower-case id (``courts``).
        name_en: English name.
        name_zh: Chinese name (法院项目组).
        segment: The industry segment the group widens into, if any.
        international: Whether it is one of the international groups it leads.
        members: The people; "four to the person" means every group names a
            project manager.
        customer_ids: The customers the group owns; a customer belongs to at
            most one group in a portfolio.
    """

    id: str
    name_en: str
    name_zh: str
    segment: Segment | None = attrs.field(default=None, converter=_opt_segment, kw_only=True)
    international: bool = attrs.field(default=False, kw_only=True)
    members: tuple[Member, ...] = attrs.field(default=(), converter=_to_members, kw_only=True)
    customer_ids: frozenset[str] = attrs.field(default=frozenset(), converter=_to_ids, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id or self.id != self.id.strip():
            raise ValidationError(f"project group id must be non-empty text, got {self.id!r}")

    def name(self, lang: str = "en") -> str:
        """The display name in ``lang`` (``"en"`` or ``"zh"``; others raise ``ValidationError``)."""
        return self.name_zh if check_lang(lang, where="ProjectGroup.name") == "zh" else self.name_en

    @property
    def project_manager(self) -> Member | None:
        """The project manager (项目经理), if one is named."""
        return next((m for m in self.members if m.role is Role.PROJECT_MANAGER), None)

    def __repr__(self) -> str:
        size = f"{len(self.members)} members, {number(len(self.customer_ids))} customers"
        return short_repr("ProjectGroup", size, id=self.id, name=self.name_zh, segment=self.segment)

    def _repr_html_(self) -> str:
        rows = ((m.name, m.role, m.full_time) for m in self.members)
        headings = ("member", "role", "full_time")
        total = len(self.members)
        return html_table(headings, rows, total=total, caption=repr(self), unit="members", limit=20)

    def with_customers(self, customer_ids: Iterable[str]) -> ProjectGroup:
        """A copy that also owns ``customer_ids``."""
        return attrs.evolve(self, customer_ids=self.customer_ids | _to_ids(customer_ids))


_GROUPS: tuple[tuple[str, str, str, Segment | None, bool], ...] = (
    ("courts", "Courts", "法院项目组", Segment.JUDICIAL, False),
    ("traffic", "Traffic management", "交管项目组", Segment.AUTO_ECOSYSTEM, False),
    ("banks", "Banks", "银行项目组", Segment.FINANCE, False),
    ("insurers", "Leading insurers", "保险龙头客户项目组", Segment.INSURANCE, False),
    (
        "ecommerce",
        "Leading e-commerce merchants",
        "国内电商龙头客户项目组",
        Segment.ECOMMERCE_TOP,
        False,
    ),
    ("nike", "Nike", "耐克项目组", Segment.FOOTWEAR_APPAREL, False),
    ("tencent", "Tencent", "腾讯项目组", Segment.INTERNET, False),
    ("overseas_warehouse", "Overseas warehouses", "海外仓项目组", None, True),
    ("cainiao", "Cainiao / AliExpress", "菜鸟速卖通项目组", None, True),
)


def default_project_groups() -> tuple[ProjectGroup, ...]:
    """The seven domestic and two international project groups, with no members or customers."""
    return tuple(
        ProjectGroup(gid, en, zh, segment=seg, international=intl)
        for gid, en, zh, seg, intl in _GROUPS
    )
