from __future__ import annotations

import pytest

from keyaccount.domain import Member, ProjectGroup, Role, Segment, default_project_groups
from keyaccount.exceptions import UnknownLabelError, ValidationError


@pytest.mark.parametrize(
    ("role", "full_time", "weight"),
    [
        (Role.PROJECT_MANAGER, True, 1.0),
        (Role.ACCOUNT_MANAGER, True, 1.0),
        (Role.BUSINESS_DEVELOPMENT, False, 0.5),
        (Role.OPERATIONS_OPTIMISATION, False, 0.5),
        (Role.SERVICE_IMPROVEMENT, False, 0.5),
    ],
)
def test_member_defaults(role: Role, full_time: bool, weight: float) -> None:
    """PMs and AMs default to full-time (weight 1.0); support managers to part-time (0.5)."""
    member = Member("张三", role)
    assert member.full_time is full_time
    assert member.performance_weight == weight


def test_member_full_time_can_be_overridden() -> None:
    """An explicit full_time wins over the role's default, and sets the weight."""
    assert Member("李四", "服务提升经理", full_time=True).performance_weight == 1.0
    assert Member("王五", "项目经理", full_time=False).performance_weight == 0.5


def test_member_role_is_parsed() -> None:
    """The role accepts names and Chinese labels; an unknown role is refused."""
    assert Member("张三", "project_manager").role is Role.PROJECT_MANAGER
    assert Member("张三", "客户经理").role is Role.ACCOUNT_MANAGER
    with pytest.raises(UnknownLabelError, match="'boss'"):
        Member("张三", "boss")


def test_project_group_fields() -> None:
    """A group parses its segment, keeps its members and owns a set of customer ids."""
    pm = Member("张三", Role.PROJECT_MANAGER)
    am = Member("李四", Role.ACCOUNT_MANAGER)
    group = ProjectGroup(
        "courts",
        "Courts",
        "法院项目组",
        segment="司法",
        members=[am, pm],
        customer_ids=["C1", "C2"],
    )
    assert group.segment is Segment.JUDICIAL
    assert group.members == (am, pm)
    assert group.project_manager == pm
    assert group.customer_ids == frozenset({"C1", "C2"})
    assert group.name("zh") == "法院项目组"
    assert group.name() == "Courts"
    bigger = group.with_customers(["C3"])
    assert bigger.customer_ids == frozenset({"C1", "C2", "C3"})
    assert group.customer_ids == frozenset({"C1", "C2"})


def test_project_group_without_manager() -> None:
    """project_manager is None when no member is a project manager."""
    assert ProjectGroup("x", "X", "甲").project_manager is None


@pytest.mark.parametrize("gid", ["", " courts", "courts ", None])
def test_project_group_bad_id(gid: object) -> None:
    """Group ids must be non-empty text without surrounding spaces."""
    with pytest.raises(ValidationError) as info:
        ProjectGroup(gid, "X", "甲")  # type: ignore[arg-type]
    assert repr(gid) in str(info.value)


def test_project_group_customer_ids_must_be_a_collection() -> None:
    """A single string as customer_ids is refused rather than split into letters."""
    with pytest.raises(ValidationError, match="'C1'"):
        ProjectGroup("x", "X", "甲", customer_ids="C1")


def test_default_project_groups() -> None:
    """Seven domestic groups with their segments and two international ones without."""
    groups = default_project_groups()
    assert len(groups) == 9
    assert len({g.id for g in groups}) == 9
    domestic = [g for g in groups if not g.international]
    international = [g for g in groups if g.international]
    assert len(domestic) == 7
    assert len(international) == 2
    assert {g.segment for g in domestic} == set(Segment)
    assert all(g.segment is None for g in international)
    assert {g.name_zh for g in international} == {"海外仓项目组", "菜鸟速卖通项目组"}
    assert all(not g.members and not g.customer_ids for g in groups)
