"""Service KPIs: definitions, observations as exact counts, roll-ups, thresholds, breaches."""

from __future__ import annotations

import doctest
import importlib
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyaccount.domain import SEGMENTS, TIERS, Period, Segment, Tier
from keyaccount.exceptions import (
    PolicyError,
    PolicyValidationError,
    UnknownCustomerError,
    UnknownLabelError,
    ValidationError,
)
from keyaccount.operations import (
    COURT_KPIS,
    DEFAULT_KPI_THRESHOLDS_FILE,
    MAX_KPI_COUNT,
    KpiDefinition,
    KpiObservation,
    KpiObservations,
    KpiRegistry,
    KpiThreshold,
    KpiThresholds,
    Ownership,
    OwnershipMove,
    SubjectAttributes,
    SubjectKind,
    SupervisionList,
    default_kpi_registry,
    default_kpi_thresholds,
    default_kpi_thresholds_text,
    detect_kpi_breaches,
    open_breach_items,
    rate_percent,
    reference_kpi_breaches,
    reference_kpi_rollup,
)

RRR = "receipt_return_rate"
OTD = "on_time_delivery_rate"
COMPLAINTS = KpiDefinition(
    "complaint_rate", "Complaint rate", "投诉率", direction="lower", proportion=False
)


@pytest.mark.parametrize(
    "module",
    [
        "keyaccount.operations._kpi",
        "keyaccount.operations._kpi_thresholds",
        "keyaccount.operations._kpi_breach",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    """The examples in the KPI modules' docstrings run and give what they show."""
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# -- definitions and the registry ------------------------------------------------------------


def test_the_court_projects_four_kpis_are_built_in() -> None:
    """The default registry holds the four court KPIs the source text names, by Chinese name."""
    names = {d.name_zh for d in default_kpi_registry().values()}
    assert names == {"回执返回率", "及时投递率", "回执签收率", "退回签收率"}
    assert all(d.proportion for d in COURT_KPIS)


def test_registering_a_kpi_gives_a_new_registry_and_refuses_a_duplicate_id() -> None:
    """with_kpi adds a KPI to a copy; a second KPI with a taken id is refused."""
    reg = default_kpi_registry()
    mine = reg.with_kpi(COMPLAINTS)
    assert "complaint_rate" in mine
    assert "complaint_rate" not in reg
    with pytest.raises(ValidationError, match="complaint_rate"):
        mine.with_kpi(KpiDefinition("complaint_rate", "Other", "其他"))
    with pytest.raises(ValidationError, match="twice"):
        KpiRegistry([COMPLAINTS, COMPLAINTS])


def test_an_unknown_kpi_is_refused_with_the_choices() -> None:
    """Looking up an unregistered KPI raises an error listing the registered ones."""
    with pytest.raises(UnknownLabelError, match=RRR):
        default_kpi_registry()["pickup_rate"]
    assert default_kpi_registry().get("pickup_rate") is None


@pytest.mark.parametrize("bad", ["Receipt", "receipt-rate", "", "1rate"])
def test_a_kpi_id_must_be_a_slug(bad: str) -> None:
    """KPI ids are lower snake case slugs."""
    with pytest.raises(ValidationError):
        KpiDefinition(bad, "x", "x")


# -- observations ----------------------------------------------------------------------------


def test_a_rate_is_the_float_quotient_and_absent_without_items() -> None:
    """A rate is numerator / denominator as float64; a zero denominator has no rate."""
    assert KpiObservation("C1", RRR, "2022-11", 1, 3).rate == 1 / 3
    assert KpiObservation("C1", RRR, "2022-11", 0, 0).rate is None
    obs = KpiObservations.from_records(
        [KpiObservation("C1", RRR, "2022-11", 1, 3), KpiObservation("C2", RRR, "2022-11", 0, 0)]
    )
    assert obs.rate[0] == 1 / 3
    assert math.isnan(obs.rate[1])
    assert obs.has_rate.tolist() == [True, False]


@pytest.mark.parametrize(("num", "den"), [(-1, 5), (3, -2)])
def test_a_negative_count_is_refused_naming_subject_kpi_and_month(num: int, den: int) -> None:
    """A negative numerator or denominator is refused; the message names where it is."""
    with pytest.raises(ValidationError, match=r"'C7'.*receipt_return_rate.*2022-11.*negative"):
        KpiObservation("C7", RRR, "2022-11", num, den)


@pytest.mark.parametrize("value", [1.0, True, "3"])
def test_a_count_must_be_an_integer(value: object) -> None:
    """Counts are integers: floats, booleans and text are refused."""
    with pytest.raises(ValidationError):
        KpiObservation("C1", RRR, "2022-11", value, 5)  # type: ignore[arg-type]


def test_numerator_above_denominator_is_refused_for_a_proportion_with_nothing_kept() -> None:
    """A batch with numerator > denominator of a proportion KPI is refused as a whole."""
    rows = [
        KpiObservation("C1", RRR, "2022-10", 5, 10),
        KpiObservation("C2", RRR, "2022-11", 11, 10),
        KpiObservation("C3", RRR, "2022-11", 12, 10),
    ]
    with pytest.raises(ValidationError) as info:
        KpiObservations.from_records(rows)
    message = str(info.value)
    assert "'C2'" in message
    assert "2022-11" in message
    assert RRR in message
    assert "11 > denominator 10" in message
    assert "2 bad observations" in message


def test_numerator_above_denominator_is_allowed_for_a_kpi_that_is_not_a_proportion() -> None:
    """A rate that may exceed 1 (proportion=False) accepts numerator > denominator."""
    reg = default_kpi_registry().with_kpi(COMPLAINTS)
    obs = KpiObservations.from_records(
        [KpiObservation("C1", "complaint_rate", "2022-11", 30, 10)], registry=reg
    )
    assert obs.rate[0] == 3.0


def test_two_observations_of_the_same_subject_kpi_and_month_are_refused() -> None:
    """(subject, KPI, month) is a key: a second observation for it is refused."""
    rows = [KpiObservation("C1", RRR, "2022-11", 1, 2), KpiObservation("C1", RRR, "2022-11", 1, 2)]
    with pytest.raises(ValidationError, match="second observation"):
        KpiObservations.from_records(rows)
    customer_and_group = [rows[0], KpiObservation("C1", RRR, "2022-11", 1, 2, subject_kind="GROUP")]
    assert len(KpiObservations.from_records(customer_and_group)) == 2


def test_observations_for_an_unknown_kpi_are_refused() -> None:
    """An observation of a KPI the registry lacks is refused."""
    with pytest.raises(UnknownLabelError, match="pickup_rate"):
        KpiObservations.from_records([KpiObservation("C1", "pickup_rate", "2022-11", 1, 2)])


def test_counts_above_the_limit_are_refused_in_bulk() -> None:
    """A count above MAX_KPI_COUNT is refused by the columnar constructor too."""
    with pytest.raises(ValidationError, match="above"):
        KpiObservations.from_arrays(
            subject_id=["C1"],
            kpi_id=[RRR],
            period=[Period(2022, 11).ordinal],
            numerator=[0],
            denominator=[MAX_KPI_COUNT + 1],
        )
    with pytest.raises(ValidationError, match="integer"):
        KpiObservations.from_arrays(
            subject_id=["C1"],
            kpi_id=[RRR],
            period=[Period(2022, 11).ordinal],
            numerator=np.array([0.5]),
            denominator=[1],
        )


# -- roll-ups --------------------------------------------------------------------------------

CUSTOMERS = [f"C{i}" for i in range(6)]
GROUPS = ["courts", "banks"]


@st.composite
def subject_attributes(draw: st.DrawFn) -> SubjectAttributes:
    """Attributes for CUSTOMERS and GROUPS: group, segment (maybe none), tier, province."""
    customers = {
        c: (
            draw(st.sampled_from([None, *GROUPS])),
            draw(st.sampled_from([None, *SEGMENTS])),
            draw(st.sampled_from(TIERS)),
            draw(st.sampled_from([None, "广东", "江苏"])),
        )
        for c in CUSTOMERS
    }
    groups = {g: draw(st.sampled_from([None, *SEGMENTS])) for g in GROUPS}
    return SubjectAttributes(customers=customers, groups=groups)


@st.composite
def observation_sets(draw: st.DrawFn, max_size: int = 40) -> list[KpiObservation]:
    """Observations with distinct (kind, subject, KPI, month) keys, some with no items."""
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(list(SubjectKind)),
                st.integers(0, len(CUSTOMERS) - 1),
                st.sampled_from([d.id for d in COURT_KPIS]),
                st.integers(0, 3),
            ),
            max_size=max_size,
            unique=True,
        )
    )
    out = []
    for kind, index, kpi, month in keys:
        subject = CUSTOMERS[index] if kind is SubjectKind.CUSTOMER else GROUPS[index % 2]
        den = draw(st.integers(0, 10**6))
        num = draw(st.integers(0, den))
        out.append(
            KpiObservation(subject, kpi, Period(2022, 9) + month, num, den, subject_kind=kind)
        )
    unique = {(o.subject_kind, o.subject_id, o.kpi_id, o.period): o for o in out}
    return list(unique.values())


DIMENSIONS = st.lists(
    st.sampled_from(["kpi", "period", "subject", "group", "segment", "tier", "province"]),
    unique=True,
    max_size=4,
)


@given(observation_sets(), subject_attributes(), DIMENSIONS, st.sampled_from(list(SubjectKind)))
def test_bulk_rollup_equals_the_reference(
    rows: list[KpiObservation], subjects: SubjectAttributes, by: list[str], kind: SubjectKind
) -> None:
    """The columnar roll-up gives the same sums per key as the one-by-one reference."""
    rollup = KpiObservations.from_records(rows).rollup(by, subjects=subjects, kind=kind)
    assert rollup.as_dict() == reference_kpi_rollup(rows, by, subjects=subjects, kind=kind)
    assert len(rollup.as_dict()) == len(rollup)


@given(observation_sets(), subject_attributes(), DIMENSIONS)
def test_a_rollup_is_the_sum_of_its_parts_and_its_rate_is_never_an_average(
    rows: list[KpiObservation], subjects: SubjectAttributes, finer: list[str]
) -> None:
    """Summing a finer roll-up's counts gives the coarser one; rates are quotients of sums."""
    obs = KpiObservations.from_records(rows)
    coarse = obs.rollup(["kpi"], subjects=subjects)
    fine = obs.rollup(["kpi", *[d for d in finer if d != "kpi"]], subjects=subjects)
    summed: dict[object, list[int]] = {}
    for key, num, den in fine.rows():
        acc = summed.setdefault(key[0], [0, 0])
        acc[0] += num
        acc[1] += den
    assert {k: tuple(v) for k, v in summed.items()} == {
        key[0]: (num, den) for key, num, den in coarse.rows()
    }
    for i, (_, num, den) in enumerate(coarse.rows()):
        if den:
            assert coarse.rate[i] == float(num) / float(den)
        else:
            assert math.isnan(coarse.rate[i])


def test_rates_roll_up_from_counts_not_by_averaging() -> None:
    """9/10 and 1/90 roll up to 10/100 = 0.1, not to the mean of 0.9 and 0.011."""
    obs = KpiObservations.from_records(
        [KpiObservation("C1", RRR, "2022-11", 9, 10), KpiObservation("C2", RRR, "2022-11", 1, 90)]
    )
    total = obs.rollup([])
    assert total.rows() == [((), 10, 100)]
    assert total.rate[0] == 0.1


def test_group_observations_never_add_to_customer_rollups() -> None:
    """A roll-up takes one subject kind: a group's own counts stay out of its customers'."""
    subjects = SubjectAttributes(
        customers={"C1": ("courts", Segment.JUDICIAL, Tier.KEY, None)},
        groups={"courts": Segment.JUDICIAL},
    )
    obs = KpiObservations.from_records(
        [
            KpiObservation("C1", RRR, "2022-11", 9, 10),
            KpiObservation("courts", RRR, "2022-11", 50, 100, subject_kind="GROUP"),
        ]
    )
    assert obs.rollup(["group"], subjects=subjects).as_dict() == {("courts",): (9, 10)}
    assert obs.rollup(["group"], subjects=subjects, kind="GROUP").as_dict() == {
        ("courts",): (50, 100)
    }


def test_a_rollup_by_an_attribute_needs_the_subjects_and_known_dimensions() -> None:
    """By segment without attributes, or by an unknown dimension, is refused."""
    obs = KpiObservations.from_records([KpiObservation("C1", RRR, "2022-11", 9, 10)])
    with pytest.raises(ValidationError, match="segment"):
        obs.rollup(["segment"])
    with pytest.raises(ValidationError, match="colour"):
        obs.rollup(["colour"])
    with pytest.raises(UnknownCustomerError, match="C1"):
        obs.rollup(["tier"], subjects=SubjectAttributes())


# -- thresholds ------------------------------------------------------------------------------


def test_the_default_thresholds_load_and_cover_every_court_kpi() -> None:
    """The shipped file loads and gives every court KPI a baseline for any customer."""
    ts = default_kpi_thresholds()
    for kpi in COURT_KPIS:
        found = ts.lookup(kpi.id, None, None)
        assert found is not None
        assert found.minimum is not None
    assert DEFAULT_KPI_THRESHOLDS_FILE in str(next(iter(ts)).source)


@pytest.mark.parametrize("segment", [None, *SEGMENTS])
@pytest.mark.parametrize("kpi", [d.id for d in COURT_KPIS])
def test_default_thresholds_are_tighter_for_svip_customers(
    kpi: str, segment: Segment | None
) -> None:
    """In every segment a strategic (SVIP) customer's minimum is above every other tier's."""
    ts = default_kpi_thresholds()
    svip = ts.lookup(kpi, segment, Tier.STRATEGIC)
    assert svip is not None
    assert svip.minimum is not None
    for tier in (Tier.DORMANT, Tier.ACTIVE, Tier.KEY):
        other = ts.lookup(kpi, segment, tier)
        assert other is not None
        assert other.minimum is not None
        assert svip.minimum > other.minimum


def test_the_most_specific_threshold_wins_in_the_documented_order() -> None:
    """Segment and tier, then tier alone, then segment alone, then neither."""
    both = KpiThreshold(RRR, segment="JUDICIAL", tier="STRATEGIC", minimum=0.99)
    tier = KpiThreshold(RRR, tier="STRATEGIC", minimum=0.97)
    segment = KpiThreshold(RRR, segment="JUDICIAL", minimum=0.95)
    anyone = KpiThreshold(RRR, minimum=0.90)
    ts = KpiThresholds([anyone, segment, tier, both])
    assert ts.lookup(RRR, Segment.JUDICIAL, Tier.STRATEGIC) == both
    assert ts.lookup(RRR, Segment.FINANCE, Tier.STRATEGIC) == tier
    assert ts.lookup(RRR, Segment.JUDICIAL, Tier.KEY) == segment
    assert ts.lookup(RRR, Segment.FINANCE, Tier.KEY) == anyone
    assert ts.lookup(RRR, None, None) == anyone
    assert KpiThresholds([both]).lookup(RRR, Segment.JUDICIAL, Tier.KEY) is None
    assert ts.lookup(OTD, Segment.JUDICIAL, Tier.KEY) is None


@given(
    st.lists(
        st.tuples(st.sampled_from([None, *SEGMENTS]), st.sampled_from([None, *TIERS])),
        unique=True,
    ),
    st.sampled_from([None, *SEGMENTS]),
    st.sampled_from([None, *TIERS]),
)
def test_lookup_picks_the_matching_threshold_of_highest_specificity(
    keys: list[tuple[Segment | None, Tier | None]], segment: Segment | None, tier: Tier | None
) -> None:
    """Among the thresholds matching a subject, the lookup returns the most specific one."""
    ts = KpiThresholds(
        [KpiThreshold(RRR, segment=s, tier=t, minimum=i / 100) for i, (s, t) in enumerate(keys)]
    )
    matching = [t for t in ts if t.segment in (None, segment) and t.tier in (None, tier)]
    found = ts.lookup(RRR, segment, tier)
    if not matching:
        assert found is None
    else:
        assert found is not None
        assert found.specificity == max(t.specificity for t in matching)
        assert found in matching


BAD_FILE = """[thresholds]
name = "broken"

[[threshold]]
kpi = "receipt_return_rate"
minimum = 1.5

[[threshold]]
kpi = "pickup_rate"
minimum = 0.5

[[threshold]]
kpi = "receipt_return_rate"
tier = "GOLD"
minimum = 0.5
"""


def test_a_thresholds_file_reports_every_problem_with_file_line_and_key(tmp_path: Path) -> None:
    """All problems are raised together, each naming the file, the line and the key."""
    path = tmp_path / "mine.toml"
    path.write_text(BAD_FILE, encoding="utf-8")
    with pytest.raises(PolicyValidationError) as info:
        KpiThresholds.load(path)
    messages = sorted(str(e) for e in info.value.exceptions)
    assert len(messages) == 3
    assert all(str(path) in m for m in messages)
    assert any("line 6, key 'minimum'" in m and "1.5" in m for m in messages)
    assert any("line 9, key 'kpi'" in m and "pickup_rate" in m for m in messages)
    assert any("line 14, key 'tier'" in m and "GOLD" in m for m in messages)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('kpi = "receipt_return_rate"\nminimum = nan', "finite"),
        ('kpi = "receipt_return_rate"\nminimum = true', "number"),
        ('kpi = "receipt_return_rate"\nminimum = -0.1', ">= 0"),
        ('kpi = "receipt_return_rate"\nmaximum = 0.1', "higher-is-better"),
        ('kpi = "receipt_return_rate"\nminimum = 0.1\nmaximum = 0.2', "exactly one"),
        ('kpi = "receipt_return_rate"\nmin = 0.1', "unknown key"),
        ("minimum = 0.1", "missing 'kpi'"),
        ('kpi = "receipt_return_rate"\nsegment = "CARS"\nminimum = 0.1', "unknown segment"),
    ],
)
def test_a_bad_threshold_is_refused_with_its_reason(body: str, expected: str) -> None:
    """Each kind of bad threshold is refused with a message that says why."""
    with pytest.raises(PolicyError, match=expected):
        KpiThresholds.from_toml(f"[[threshold]]\n{body}\n", source="t.toml")


def test_a_duplicate_threshold_names_both_places() -> None:
    """Two thresholds for the same KPI, segment and tier are refused, citing the first."""
    text = (
        '[[threshold]]\nkpi = "receipt_return_rate"\nminimum = 0.9\n\n'
        '[[threshold]]\nkpi = "receipt_return_rate"\nminimum = 0.8\n'
    )
    with pytest.raises(PolicyError, match=r"t.toml, line 5: a second threshold.*line 1"):
        KpiThresholds.from_toml(text, source="t.toml")


def test_a_lower_is_better_kpi_takes_a_maximum() -> None:
    """A lower-is-better KPI's threshold is a maximum; a minimum is refused."""
    reg = default_kpi_registry().with_kpi(COMPLAINTS)
    ok = KpiThresholds([KpiThreshold("complaint_rate", maximum=2.5)], registry=reg)
    assert ok.lookup("complaint_rate", None, None) is not None
    with pytest.raises(PolicyError, match="maximum"):
        KpiThresholds([KpiThreshold("complaint_rate", minimum=0.5)], registry=reg)


def test_unreadable_and_invalid_files_are_refused_naming_them(tmp_path: Path) -> None:
    """A missing file or text that is not TOML gives a PolicyError naming the file."""
    with pytest.raises(PolicyError, match=r"nowhere\.toml"):
        KpiThresholds.load(tmp_path / "nowhere.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[[threshold]\n", encoding="utf-8")
    with pytest.raises(PolicyError, match=r"bad.toml.*not valid TOML"):
        KpiThresholds.load(bad)


def test_the_default_text_is_a_starting_point_that_loads_again() -> None:
    """The shipped text, loaded from a copy, gives the same thresholds."""
    assert KpiThresholds.from_toml(default_kpi_thresholds_text()).thresholds == (
        default_kpi_thresholds().thresholds
    )


# -- breaches --------------------------------------------------------------------------------


def _subjects() -> SubjectAttributes:
    return SubjectAttributes(
        customers={
            "C1": ("courts", Segment.JUDICIAL, Tier.STRATEGIC, "广东"),
            "C2": ("courts", Segment.JUDICIAL, Tier.KEY, "江苏"),
        },
        groups={"courts": Segment.JUDICIAL},
    )


def test_a_breach_is_strictly_below_the_minimum() -> None:
    """A rate equal to the minimum is no breach; one item fewer is; no items is none."""
    ts = KpiThresholds([KpiThreshold(RRR, minimum=0.95)])
    obs = KpiObservations.from_records(
        [
            KpiObservation("C1", RRR, "2022-11", 19, 20),
            KpiObservation("C2", RRR, "2022-11", 18, 20),
            KpiObservation("C1", RRR, "2022-12", 0, 0),
        ]
    )
    breaches = detect_kpi_breaches(obs, ts, _subjects())
    assert [(b.subject_id, str(b.period)) for b in breaches] == [("C2", "2022-11")]
    assert breaches[0].rate == 18 / 20


def test_a_lower_is_better_kpi_breaches_above_its_maximum() -> None:
    """For a lower-is-better KPI a breach is rate > maximum."""
    reg = default_kpi_registry().with_kpi(COMPLAINTS)
    ts = KpiThresholds([KpiThreshold("complaint_rate", maximum=2.0)], registry=reg)
    obs = KpiObservations.from_records(
        [
            KpiObservation("C1", "complaint_rate", "2022-11", 20, 10),
            KpiObservation("C2", "complaint_rate", "2022-11", 21, 10),
        ],
        registry=reg,
    )
    assert [b.subject_id for b in detect_kpi_breaches(obs, ts, _subjects())] == ["C2"]


def test_svip_customers_breach_a_tighter_threshold() -> None:
    """The same 96% breaches for a strategic customer and not for a key one (defaults)."""
    obs = KpiObservations.from_records(
        [
            KpiObservation("C1", RRR, "2022-11", 96, 100),
            KpiObservation("C2", RRR, "2022-11", 96, 100),
        ]
    )
    breaches = detect_kpi_breaches(obs, default_kpi_thresholds(), _subjects())
    assert [b.subject_id for b in breaches] == ["C1"]
    assert breaches[0].threshold.tier is Tier.STRATEGIC


@st.composite
def threshold_sets(draw: st.DrawFn) -> KpiThresholds:
    """Random thresholds over the court KPIs, segments and tiers."""
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from([d.id for d in COURT_KPIS]),
                st.sampled_from([None, *SEGMENTS]),
                st.sampled_from([None, *TIERS]),
            ),
            unique=True,
            max_size=25,
        )
    )
    bounds = st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.95, 1.0]), st.floats(0, 1))
    return KpiThresholds(
        [KpiThreshold(k, segment=s, tier=t, minimum=draw(bounds)) for k, s, t in keys]
    )


@given(observation_sets(), subject_attributes(), threshold_sets())
def test_bulk_breach_detection_equals_the_reference(
    rows: list[KpiObservation], subjects: SubjectAttributes, thresholds: KpiThresholds
) -> None:
    """The bulk detection finds exactly the breaches of the one-by-one reference, in order."""
    obs = KpiObservations.from_records(rows)
    assert detect_kpi_breaches(obs, thresholds, subjects) == reference_kpi_breaches(
        rows, thresholds, subjects
    )


@given(st.integers(1, 10**6), st.data())
def test_breach_means_rate_below_minimum_exactly(den: int, data: st.DataObject) -> None:
    """A breach happens iff float64(num) / float64(den) < minimum (no tolerance)."""
    num = data.draw(st.integers(0, den))
    minimum = data.draw(st.floats(0, 1))
    obs = KpiObservations.from_records([KpiObservation("C2", RRR, "2022-11", num, den)])
    ts = KpiThresholds([KpiThreshold(RRR, minimum=minimum)])
    found = detect_kpi_breaches(obs, ts, _subjects())
    assert bool(found) == (np.float64(num) / np.float64(den) < minimum)


# -- breach -> supervision item --------------------------------------------------------------


def test_a_breach_opens_a_supervision_item_once_per_subject_kpi_and_month() -> None:
    """Running the check twice opens nothing twice; another month opens another item."""
    sl = SupervisionList(customer_ids={"C1", "C2"}, group_ids={"courts"})
    ts = default_kpi_thresholds()
    november = KpiObservations.from_records([KpiObservation("C2", RRR, "2022-11", 50, 100)])
    first = open_breach_items(
        sl,
        detect_kpi_breaches(november, ts, _subjects()),
        who="kpi-check",
        on="2022-12-01",
        responsible_person="Li",
    )
    assert len(first) == 1
    rows_after_first = sl.history
    again = open_breach_items(
        sl,
        detect_kpi_breaches(november, ts, _subjects()),
        who="kpi-check",
        on="2022-12-02",
        responsible_person="Li",
    )
    assert again == ()
    assert len(sl) == 1
    assert sl.history == rows_after_first
    december = KpiObservations.from_records([KpiObservation("C2", RRR, "2022-12", 50, 100)])
    later = open_breach_items(
        sl,
        detect_kpi_breaches(december, ts, _subjects()),
        who="kpi-check",
        on="2023-01-02",
        responsible_person="Li",
    )
    assert len(later) == 1
    assert len(sl) == 2


def test_a_breach_item_waits_for_its_first_contact_and_names_the_kpi() -> None:
    """The item opened by the check has no owner until received; its title names the KPI."""
    sl = SupervisionList()
    obs = KpiObservations.from_records([KpiObservation("C2", RRR, "2022-11", 50, 100)])
    (item,) = open_breach_items(
        sl,
        detect_kpi_breaches(obs, default_kpi_thresholds(), _subjects()),
        who="kpi-check",
        on="2022-12-01",
        responsible_person=lambda b: f"manager of {b.subject_id}",
    )
    assert item.owner is None
    assert item.province == "江苏"
    assert item.responsible_person == "manager of C2"
    assert "回执返回率" in item.title
    assert sl.receive(item.id, who="Zhao", on="2022-12-01").owner == "Zhao"


def test_breaches_for_an_unknown_customer_open_nothing() -> None:
    """When one breach's customer is unknown to the list, no item is opened at all."""
    sl = SupervisionList(customer_ids={"C1"})
    obs = KpiObservations.from_records(
        [KpiObservation("C1", RRR, "2022-11", 1, 100), KpiObservation("C2", RRR, "2022-11", 1, 100)]
    )
    breaches = detect_kpi_breaches(obs, default_kpi_thresholds(), _subjects())
    assert len(breaches) == 2
    with pytest.raises(UnknownCustomerError, match="C2"):
        open_breach_items(sl, breaches, who="kpi-check", on="2022-12-01", responsible_person="Li")
    assert len(sl) == 0
    assert sl.history == ()


def test_observations_for_subjects_without_attributes_are_refused_by_detection() -> None:
    """Detection needs each subject's segment and tier: an unknown customer is refused."""
    obs = KpiObservations.from_records([KpiObservation("C9", RRR, "2022-11", 1, 100)])
    with pytest.raises(UnknownCustomerError, match="C9"):
        detect_kpi_breaches(obs, default_kpi_thresholds(), _subjects())


def test_the_thresholds_example_in_the_docs_loads() -> None:
    """The TOML example of docs/operations.md is a valid thresholds file doing what it says."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text("utf-8")
    section = text[text.index("<!-- kpis, supervision, lifecycle (begin) -->") :]
    block = section[
        section.index("```toml") + len("```toml") : section.index(
            "```\n", section.index("```toml") + 7
        )
    ]
    ts = KpiThresholds.from_toml(block, source="docs/operations.md")
    svip = ts.lookup(RRR, Segment.FINANCE, Tier.STRATEGIC)
    assert svip is not None
    assert svip.tier is Tier.STRATEGIC


# -- roll-ups by the group that owned the customer in the month -------------------------------


@st.composite
def ownerships(draw: st.DrawFn) -> Ownership:
    """Dated moves of some CUSTOMERS between GROUPS (or out of any), around the observed months."""
    moves = []
    for customer in CUSTOMERS:
        months = draw(st.lists(st.integers(0, 6), unique=True, max_size=3))
        for month in sorted(months):
            group = draw(st.sampled_from([None, *GROUPS]))
            moves.append(OwnershipMove(customer, group, Period(2022, 7) + month, "tester"))
    return Ownership(GROUPS, moves)


@given(
    observation_sets(),
    subject_attributes(),
    ownerships(),
    DIMENSIONS,
    st.sampled_from(list(SubjectKind)),
)
def test_bulk_rollup_by_owner_of_the_month_equals_the_reference(
    rows: list[KpiObservation],
    subjects: SubjectAttributes,
    ownership: Ownership,
    by: list[str],
    kind: SubjectKind,
) -> None:
    """With an ownership, the columnar roll-up gives the reference's sums per key."""
    rollup = KpiObservations.from_records(rows).rollup(
        by, subjects=subjects, kind=kind, ownership=ownership
    )
    expected = reference_kpi_rollup(rows, by, subjects=subjects, kind=kind, ownership=ownership)
    assert rollup.as_dict() == expected
    assert len(expected) == len(rollup)


@given(observation_sets(), ownerships())
def test_a_customer_observation_counts_for_the_group_owning_it_in_its_month(
    rows: list[KpiObservation], ownership: Ownership
) -> None:
    """Rolled up by group with an ownership, each month of a customer goes to its owner then."""
    rollup = KpiObservations.from_records(rows).rollup(["group"], ownership=ownership)
    expected: dict[tuple[object, ...], tuple[int, int]] = {}
    for o in rows:
        if o.subject_kind is SubjectKind.CUSTOMER:
            key = (ownership.owner(o.subject_id, o.period),)
            num, den = expected.get(key, (0, 0))
            expected[key] = (num + o.numerator, den + o.denominator)
    assert rollup.as_dict() == expected
    labels = [k[0] for k in rollup.as_dict()]
    assert labels == sorted(labels, key=lambda g: (g is not None, g or ""))


@given(observation_sets(), subject_attributes(), DIMENSIONS)
def test_an_ownership_that_never_moves_gives_the_current_groups(
    rows: list[KpiObservation], subjects: SubjectAttributes, by: list[str]
) -> None:
    """Customers owned since before every observation by their current group roll up as before."""
    moves = [
        OwnershipMove(c, subjects.of(SubjectKind.CUSTOMER, c)[0], "2020-01", "tester")
        for c in CUSTOMERS
    ]
    observations = KpiObservations.from_records(rows)
    dated = observations.rollup(by, subjects=subjects, ownership=Ownership(GROUPS, moves))
    assert dated.as_dict() == observations.rollup(by, subjects=subjects).as_dict()


def test_a_customer_that_moved_counts_for_each_group_for_its_months() -> None:
    """A customer moved from courts to banks in October adds its September to courts only."""
    own = Ownership(
        GROUPS,
        [
            OwnershipMove("C1", "courts", "2022-01", "tester"),
            OwnershipMove("C1", "banks", "2022-10", "tester"),
        ],
    )
    obs = KpiObservations.from_records(
        [
            KpiObservation("C1", "receipt_return_rate", "2022-09", 9, 10),
            KpiObservation("C1", "receipt_return_rate", "2022-10", 3, 4),
            KpiObservation("C2", "receipt_return_rate", "2022-10", 1, 2),
        ]
    )
    assert obs.rollup(["group", "period"], ownership=own).as_dict() == {
        (None, Period(2022, 10)): (1, 2),
        ("banks", Period(2022, 10)): (3, 4),
        ("courts", Period(2022, 9)): (9, 10),
    }
    with pytest.raises(ValidationError, match="segment"):
        obs.rollup(["group", "segment"], ownership=own)


@given(
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
    st.floats(min_value=0.0, max_value=1.0, allow_nan=False),
)
def test_a_rate_never_reads_as_its_bound(rate: float, bound: float) -> None:
    """rate_percent adds decimals until a rate reads differently from its bound (to 1e-7)."""
    shown, limit = rate_percent(rate, bound), rate_percent(bound)
    assert shown.endswith("%")
    if abs(rate - bound) >= 1e-7:
        assert shown != f"{bound:.{len(shown.split('.')[1]) - 1}%}"
    assert limit == f"{bound:.2%}"
