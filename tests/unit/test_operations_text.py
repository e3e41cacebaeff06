"""Operations text in Chinese: KPI breach descriptions and item titles; languages checked."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import Member, Period, Segment, Tier
from keyaccount.exceptions import ValidationError
from keyaccount.operations import (
    KpiBreach,
    KpiDefinition,
    KpiObservation,
    KpiObservations,
    KpiRegistry,
    KpiThreshold,
    KpiThresholds,
    SubjectAttributes,
    SubjectKind,
    SupervisionList,
    attainment,
    compute_payouts,
    default_kpi_registry,
    default_kpi_thresholds,
    default_payout_scheme,
    detect_kpi_breaches,
    open_breach_items,
    rate_percent,
)
from tests.unit.test_operations_attainment import _example as attainment_example
from tests.unit.zh_text import zh_problems

RRR = "receipt_return_rate"


def _subjects() -> SubjectAttributes:
    return SubjectAttributes(
        customers={"C2": ("courts", Segment.JUDICIAL, Tier.KEY, "江苏")},
        groups={"courts": Segment.JUDICIAL},
    )


def _breach(
    num: int = 9_000, den: int = 10_000, kind: SubjectKind = SubjectKind.CUSTOMER
) -> KpiBreach:
    subject = "C2" if kind is SubjectKind.CUSTOMER else "courts"
    obs = KpiObservations.from_records(
        [KpiObservation(subject, RRR, "2022-11", num, den, subject_kind=kind)]
    )
    (breach,) = detect_kpi_breaches(obs, default_kpi_thresholds(), _subjects())
    return breach


def test_a_breach_reads_in_english_and_in_chinese() -> None:
    """describe() gives the item title in English, describe('zh') the Chinese one."""
    breach = _breach()
    assert breach.describe() == (
        "Receipt return rate (回执返回率) 90.00% (9000/10000) below the minimum 95.00%: "
        "customer C2, 2022-11"
    )
    zh = breach.describe("zh")
    assert zh == "回执返回率 90.00%（9,000/10,000）低于下限 95.00%：客户 C2，2022-11"
    assert zh_problems(zh, allowed=["C2"]) == []
    group = _breach(kind=SubjectKind.GROUP).describe("zh")
    assert group.endswith("：项目组 courts，2022-11")
    assert zh_problems(group, allowed=["courts"]) == []


def test_a_maximum_breach_and_an_unnamed_kpi_read_in_chinese() -> None:
    """A 'lower is better' KPI breaches above its maximum; a KPI without a name shows its id."""
    complaints = KpiDefinition(
        "complaint_rate", "Complaint rate", "投诉率", direction="lower", proportion=False
    )
    registry = KpiRegistry([complaints])
    obs = KpiObservations.from_records(
        [KpiObservation("C2", "complaint_rate", "2022-11", 3, 100)], registry=registry
    )
    thresholds = KpiThresholds([KpiThreshold("complaint_rate", maximum=0.01)], registry=registry)
    (breach,) = detect_kpi_breaches(obs, thresholds, _subjects())
    assert breach.describe("zh", registry=registry) == (
        "投诉率 3.00%（3/100）高于上限 1.00%：客户 C2，2022-11"
    )
    unnamed = breach.describe("zh")  # the default registry has no complaint_rate
    assert unnamed.startswith("complaint_rate 3.00%（3/100）高于上限")
    assert zh_problems(unnamed, allowed=["C2", "complaint_rate"]) == []


def test_breach_items_open_with_titles_in_the_language_asked() -> None:
    """open_breach_items(lang='zh') titles the items in Chinese; the default stays English."""
    breach = _breach()
    zh_list = SupervisionList(customer_ids={"C2"}, group_ids={"courts"})
    (item,) = open_breach_items(
        zh_list, [breach], who="kpi-check", on="2022-12-01", responsible_person="Li", lang="zh"
    )
    assert item.title == breach.describe("zh")
    en_list = SupervisionList(customer_ids={"C2"}, group_ids={"courts"})
    (item,) = open_breach_items(
        en_list, [breach], who="kpi-check", on="2022-12-01", responsible_person="Li"
    )
    assert item.title == breach.describe("en")


@given(st.integers(1, 10**9), st.data())
def test_chinese_breach_text_holds_the_exact_counts_and_rates(
    den: int, data: st.DataObject
) -> None:
    """Any breach reads in clean Chinese with its counts and its rate_percent figures."""
    num = data.draw(st.integers(0, den))
    minimum = data.draw(st.floats(0, 1, exclude_min=True))
    obs = KpiObservations.from_records([KpiObservation("C2", RRR, "2022-11", num, den)])
    found = detect_kpi_breaches(
        obs, KpiThresholds([KpiThreshold(RRR, minimum=minimum)]), _subjects()
    )
    for breach in found:
        text = breach.describe("zh")
        assert zh_problems(text, allowed=["C2"]) == []
        assert f"（{num:,}/{den:,}）" in text
        assert f" {rate_percent(breach.rate, minimum)}（" in text
        assert f"低于下限 {rate_percent(minimum)}：" in text


@pytest.mark.parametrize("lang", ["fr", "ZH", "", None])
def test_unknown_languages_are_refused(lang: Any) -> None:
    """Every operations text or frame refuses a language other than 'en' or 'zh'."""
    breach = _breach()
    run = compute_payouts(
        default_payout_scheme(),
        "2022",
        {"courts": ("12000000", "10000000")},
        {"courts": [Member("Li", "PROJECT_MANAGER"), Member("Wang", "ACCOUNT_MANAGER")]},
        scores={"courts": {"Wang": 90}},
    )
    pf, own, targets = attainment_example()
    table = attainment(pf, own, targets, Period.range("2022-06", "2022-07"), by_segment=True)
    sl = SupervisionList(customer_ids={"C2"})
    for call in (
        lambda: table.to_pandas(lang=lang),
        lambda: default_kpi_registry()[RRR].name(lang),
        lambda: breach.describe(lang),
        lambda: open_breach_items(
            sl,
            [breach],
            who="x",
            on="2022-12-01",
            responsible_person="Li",
            lang=lang,
        ),
        lambda: run.to_pandas(lang=lang),
    ):
        with pytest.raises(ValidationError, match="expected 'en' or 'zh'"):
            call()
    assert len(sl) == 0
