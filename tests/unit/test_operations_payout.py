"""Incentive payouts: schemes and their checks, the pool, the split in whole fen, bulk runs."""

from __future__ import annotations

import doctest
import importlib
import math
import re
import subprocess
import sys
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from keyaccount.domain import Member, Period, PeriodRange, Role
from keyaccount.exceptions import (
    InvalidMoneyError,
    PayoutSchemeError,
    PayoutSchemeValidationError,
    PortfolioValidationError,
    ValidationError,
)
from keyaccount.operations import (
    DEFAULT_PAYOUT_FILE,
    MAX_BRACKETS,
    PM_SHARE_FLOOR,
    WEIGHTED_ROLES,
    Bracket,
    PayoutScheme,
    compute_payouts,
    compute_payouts_fen,
    default_payout_scheme,
    default_payout_scheme_text,
    exact_shares,
    pools_fen,
    split_pool,
)

if TYPE_CHECKING:
    import random

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"

TWO_BRACKETS = [(0, 1_000_000, "0.10"), (1_000_000, None, "0.15")]
COURTS_TEAM = [
    Member("Li Ming", "PROJECT_MANAGER"),
    Member("Wang Fang", "ACCOUNT_MANAGER"),
    Member("Zhang Wei", "ACCOUNT_MANAGER"),
    Member("Chen Jing", "BUSINESS_DEVELOPMENT"),
    Member("Liu Yang", "OPERATIONS_OPTIMISATION"),
    Member("Zhao Lei", "SERVICE_IMPROVEMENT"),
]
COURTS_SCORES = {"Wang Fang": 90, "Zhang Wei": 80, "Chen Jing": 90, "Liu Yang": 100, "Zhao Lei": 70}

SCHEME_TOML = """\
[scheme]
name = "courts-2022"
version = 3
pm_share = 0.45
cap = 500_000

[[bracket]]
lower = 0
upper = 1_000_000
rate = 0.10

[[bracket]]
lower = 1_000_000
rate = 0.15

[weights]
"客户经理" = 1.5
BUSINESS_DEVELOPMENT = 1
"""


def two_bracket_scheme(**kwargs: object) -> PayoutScheme:
    """The 10% / 15% scheme of the issue (first million above target at 10%)."""
    return PayoutScheme("courts-2022", 1, brackets=TWO_BRACKETS, **kwargs)  # type: ignore[arg-type]


# ------------------------------------------------------------------ strategies


@st.composite
def decimals(draw: st.DrawFn, low: int, high: int, places: int) -> Decimal:
    """A decimal in [low, high] with at most ``places`` decimal places."""
    scale = 10**places
    return Decimal(draw(st.integers(low * scale, high * scale))).scaleb(-places)


@st.composite
def schemes(draw: st.DrawFn, *, capped: bool | None = None) -> PayoutScheme:
    """Valid schemes: 1-4 contiguous brackets, rates in [0, 1], PM share in [0.40, 1]."""
    widths = draw(st.lists(st.integers(1, 10**9), min_size=0, max_size=3))
    edges = [0]
    for width in widths:
        edges.append(edges[-1] + width)
    rates = draw(st.lists(decimals(0, 1, 4), min_size=len(edges), max_size=len(edges)))
    brackets = [
        (
            Decimal(lo).scaleb(-2),
            None if i == len(edges) - 1 else Decimal(edges[i + 1]).scaleb(-2),
            r,
        )
        for i, (lo, r) in enumerate(zip(edges, rates, strict=True))
    ]
    weights = draw(st.lists(decimals(0, 5, 2), min_size=4, max_size=4))
    assume(any(weights))
    has_cap = draw(st.booleans()) if capped is None else capped
    cap = Decimal(draw(st.integers(0, 10**10))).scaleb(-2) if has_cap else None
    return PayoutScheme(
        draw(st.sampled_from(["default", "courts-2022", "方案"])),
        draw(st.integers(1, 50)),
        brackets=brackets,
        pm_share=draw(decimals(0, 1, 3).filter(lambda d: d >= PM_SHARE_FLOOR)),
        role_weights=dict(zip(WEIGHTED_ROLES, weights, strict=True)),
        cap=cap,
    )


@st.composite
def teams(draw: st.DrawFn, *, min_others: int = 0) -> tuple[list[Member], dict[str, Decimal]]:
    """A team with one project manager and unique names, and a score for everyone."""
    n = draw(st.integers(min_others, 7))
    names = draw(
        st.lists(
            st.text("abcxyz李王张", min_size=1, max_size=4),
            min_size=n + 1,
            max_size=n + 1,
            unique=True,
        )
    )
    members = [Member(names[0], Role.PROJECT_MANAGER, full_time=draw(st.booleans()))]
    for name in names[1:]:
        members.append(
            Member(name, draw(st.sampled_from(WEIGHTED_ROLES)), full_time=draw(st.booleans()))
        )
    scores = {m.name: draw(decimals(0, 120, 2)) for m in members[1:]}
    return members, scores


pools = st.integers(0, 10**11)


def reference_pool_yuan(scheme: PayoutScheme, excess: Decimal) -> Decimal:
    """The exact pool by a plain sum over the brackets, in yuan (the test's own reference)."""
    total = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 200
        for bracket in scheme.brackets:
            top = excess if bracket.upper is None else min(excess, bracket.upper)
            total += bracket.rate * max(Decimal(0), top - bracket.lower)
    return total


# ---------------------------------------------------------------------- scheme


def test_default_scheme_is_the_documented_one() -> None:
    """The shipped scheme pays 10% of the first million above target, 15% beyond, PM 40%."""
    scheme = default_payout_scheme()
    assert (scheme.name, scheme.version, scheme.pm_share, scheme.cap) == (
        "default",
        1,
        Decimal("0.40"),
        None,
    )
    assert [(b.lower, b.upper, b.rate) for b in scheme.brackets] == [
        (Decimal(0), Decimal(1_000_000), Decimal("0.10")),
        (Decimal(1_000_000), None, Decimal("0.15")),
    ]
    assert all(scheme.weight(role) == 1 for role in WEIGHTED_ROLES)
    assert scheme.source == DEFAULT_PAYOUT_FILE
    assert PayoutScheme.from_toml(default_payout_scheme_text()) == scheme


def test_scheme_from_toml_reads_exact_numbers_and_labels() -> None:
    """A scheme file gives exact decimals, role labels and names, and 0 for roles left out."""
    scheme = PayoutScheme.from_toml(SCHEME_TOML, source="courts.toml")
    assert (scheme.name, scheme.version) == ("courts-2022", 3)
    assert scheme.pm_share == Decimal("0.45")
    assert scheme.cap == Decimal(500_000)
    assert scheme.brackets[0].rate == Decimal("0.10")
    assert scheme.weight("ACCOUNT_MANAGER") == Decimal("1.5")
    assert scheme.weight(Role.BUSINESS_DEVELOPMENT) == 1
    assert scheme.weight("运营优化") == 0
    assert scheme.weight(Role.SERVICE_IMPROVEMENT) == 0


def test_evolve_checks_the_changed_scheme() -> None:
    """attrs.evolve gives an equal scheme for equal fields and refuses a bad change."""
    scheme = PayoutScheme.from_toml(SCHEME_TOML)
    assert attrs.evolve(scheme) == scheme
    bumped = attrs.evolve(scheme, version=4, cap=None)
    assert (bumped.version, bumped.cap) == (4, None)
    assert bumped.pool(12_000_000, 10_000_000) == Decimal("250000.00")
    with pytest.raises(PayoutSchemeError, match=re.escape("share 0.3 is below the minimum 0.40")):
        attrs.evolve(scheme, pm_share=Decimal("0.3"))


def test_role_weights_may_be_pairs() -> None:
    """Role weights are a mapping or (role, weight) pairs, equal either way."""
    pairs = PayoutScheme("x", rate="0.1", role_weights=[("客户经理", 2), ("服务提升", 1)])
    mapping = PayoutScheme(
        "x", rate="0.1", role_weights={Role.ACCOUNT_MANAGER: 2, "SERVICE_IMPROVEMENT": 1}
    )
    assert pairs == mapping
    assert pairs.weight("OPERATIONS_OPTIMISATION") == 0
    with pytest.raises(PayoutSchemeError, match="the project manager has no weight"):
        pairs.weight(Role.PROJECT_MANAGER)


def test_flat_rate_is_one_open_bracket() -> None:
    """A flat rate is one bracket from 0 without upper, equal to that bracket given as such."""
    flat = PayoutScheme("flat", rate="0.2")
    assert flat.is_flat
    assert flat == PayoutScheme("flat", brackets=[(0, None, "0.2")])
    assert "rate = 0.2" in flat.to_toml()
    assert "[[bracket]]" not in flat.to_toml()
    assert flat.pool(1_000, 500) == Decimal("100.00")


@given(schemes())
def test_scheme_round_trips_through_toml(scheme: PayoutScheme) -> None:
    """to_toml then from_toml gives an equal scheme, pool for pool."""
    again = PayoutScheme.from_toml(scheme.to_toml())
    assert again == scheme
    assert again.pool_fen(123_456_789) == scheme.pool_fen(123_456_789)


def test_scheme_saves_and_loads(tmp_path: Path) -> None:
    """Save writes a file that load reads back equal; errors then name that file."""
    path = tmp_path / "courts.toml"
    two_bracket_scheme().save(path)
    assert PayoutScheme.load(path) == two_bracket_scheme()
    path.write_text(SCHEME_TOML.replace("0.45", "0.3"), encoding="utf-8")
    with pytest.raises(PayoutSchemeError, match=re.escape(f"{path}, line 4: ")):
        PayoutScheme.load(path)


def test_missing_scheme_file_is_refused() -> None:
    """Loading a file that does not exist is a PayoutSchemeError naming it."""
    with pytest.raises(
        PayoutSchemeError, match=re.escape("cannot read payout scheme file 'nowhere.toml'")
    ):
        PayoutScheme.load("nowhere.toml")


def test_pm_share_below_floor_names_scheme_role_and_share() -> None:
    """A project manager's share below 0.40 is refused naming the scheme, the role, the share."""
    with pytest.raises(PayoutSchemeError) as info:
        two_bracket_scheme(pm_share="0.39")
    message = str(info.value)
    assert "payout scheme 'courts-2022' version 1" in message
    assert "PROJECT_MANAGER" in message
    assert "项目经理" in message
    assert "0.39" in message
    assert "0.40" in message
    assert not isinstance(info.value, PayoutSchemeValidationError)


def test_pm_share_below_floor_in_a_file_names_file_and_line() -> None:
    """In a file, the refusal also names the file and the line of pm_share."""
    text = SCHEME_TOML.replace("pm_share = 0.45", "pm_share = 0.35")
    with pytest.raises(PayoutSchemeError) as info:
        PayoutScheme.from_toml(text, source="courts.toml")
    assert str(info.value).startswith(
        "courts.toml, line 4: payout scheme 'courts-2022' version 3, [scheme] 'pm_share': "
    )
    assert "share 0.35 is below the minimum 0.40" in str(info.value)


@pytest.mark.parametrize("share", ["0.40", "0.4", "1", "0.99"])
def test_pm_share_from_floor_to_one_is_accepted(share: str) -> None:
    """Shares from exactly 0.40 up to 1 are accepted."""
    assert two_bracket_scheme(pm_share=share).pm_share == Decimal(share)


def test_pm_share_above_one_is_refused() -> None:
    """A project manager's share above 1 is refused."""
    with pytest.raises(PayoutSchemeError, match=re.escape("share 1.01 is above 1")):
        two_bracket_scheme(pm_share="1.01")


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"rate": 0.1}, "not a decimal number: float 0.1"),
        ({"rate": "1.5"}, "[scheme] 'rate': 1.5 is not between 0 and 1"),
        ({"rate": "-0.1"}, "-0.1 is not between 0 and 1"),
        ({"rate": "ten"}, "not a number: 'ten'"),
        ({"rate": "NaN"}, "not a finite number"),
        ({"rate": True}, "not a decimal number: bool"),
        ({"rate": "0." + "1" * 40}, "more than 30 significant digits"),
        ({}, "no rate: give a flat 'rate' or [[bracket]] tables"),
        ({"rate": "0.1", "brackets": TWO_BRACKETS}, "not both"),
        ({"brackets": []}, "no brackets"),
        ({"brackets": [(1, None, "0.1")]}, "the first bracket must start at 0, got 1.00"),
        (
            {"brackets": [(0, 100, "0.1"), (150, None, "0.2")]},
            "[[bracket]] #2 'lower': lower 150.00 leaves a gap after bracket #1",
        ),
        (
            {"brackets": [(0, 100, "0.1"), (50, None, "0.2")]},
            "[[bracket]] #2 'lower': [50.00, ...) overlaps bracket #1 [0.00, 100.00)",
        ),
        ({"brackets": [(0, 0, "0.1"), (0, None, "0.2")]}, "upper 0.00 is not above lower 0.00"),
        (
            {"brackets": [(0, None, "0.1"), (100, None, "0.2")]},
            "[[bracket]] #1 'upper': only the last bracket may be open-ended",
        ),
        ({"brackets": [(0, 100, "0.1")]}, "the last bracket must be open-ended"),
        ({"brackets": [(0, "0.001", "0.1"), ("0.001", None, "0.1")]}, "digits below the fen"),
        ({"brackets": [(-1, None, "0.1")]}, "-1.00 yuan is negative"),
        ({"brackets": [(0, None)]}, "a bracket must be a Bracket or a (lower, upper, rate) tuple"),
        ({"brackets": "0-100"}, "brackets must be a list of brackets"),
        (
            {"brackets": [(i, i + 1, "0.1") for i in range(MAX_BRACKETS)] + [(100, None, "0")]},
            f"at most {MAX_BRACKETS}",
        ),
        ({"rate": "0.1", "cap": -5}, "[scheme] 'cap': -5.00 yuan is negative"),
        ({"rate": "0.1", "cap": "1.234"}, "digits below the fen"),
        (
            {"rate": "0.1", "role_weights": {"客户经理": -1}},
            "weight -1 of ACCOUNT_MANAGER is negative",
        ),
        ({"rate": "0.1", "role_weights": {"ACCOUNT_MANAGER": 0}}, "every role weighs 0"),
        ({"rate": "0.1", "role_weights": {}}, "every role weighs 0"),
        ({"rate": "0.1", "role_weights": {"janitor": 1}}, "unknown role 'janitor'"),
        ({"rate": "0.1", "role_weights": {"项目经理": 1}}, "the project manager has no weight"),
        (
            {"rate": "0.1", "role_weights": {"ACCOUNT_MANAGER": 1, "客户经理": 2}},
            "role ACCOUNT_MANAGER is given twice (also as 'ACCOUNT_MANAGER')",
        ),
        ({"rate": "0.1", "role_weights": "ACCOUNT_MANAGER"}, "role_weights must map"),
        ({"rate": "0.1", "role_weights": [1, 2]}, "role_weights must map"),
    ],
)
def test_bad_scheme_is_refused_naming_the_problem(kwargs: dict[str, object], expected: str) -> None:
    """Each kind of bad scheme is refused with a message naming the key and the value."""
    with pytest.raises(PayoutSchemeError) as info:
        PayoutScheme("bad", 2, **kwargs)  # type: ignore[arg-type]
    messages = [str(e) for e in getattr(info.value, "exceptions", [info.value])]
    assert all(m.startswith("payout scheme 'bad' version 2") for m in messages)
    assert any(expected in m for m in messages), messages


@pytest.mark.parametrize(
    ("name", "version", "expected"),
    [
        ("", 1, "[scheme] 'name': the name must be non-empty text"),
        ("x", 0, "[scheme] 'version': the version must be a whole number from 1"),
        ("x", True, "the version must be a whole number"),
        ("x", "1", "the version must be a whole number"),
    ],
)
def test_bad_name_or_version_is_refused(name: str, version: int, expected: str) -> None:
    """A scheme needs a name and a whole positive version."""
    with pytest.raises(PayoutSchemeError, match=re.escape(expected)):
        PayoutScheme(name, version, rate="0.1")


def test_every_problem_of_a_file_is_raised_together() -> None:
    """Several problems in one file come as one PayoutSchemeValidationError listing them all."""
    text = """\
[scheme]
name = "c"
version = 3
pm_share = 0.3
rat = 1

[[bracket]]
lower = 0
upper = 100
rate = 1.5
size = 2

[[bracket]]
lower = 100
rate = 0.1

[weights]
"客户经理" = -1

[extra]
x = 1
"""
    with pytest.raises(PayoutSchemeValidationError) as info:
        PayoutScheme.from_toml(text, source="c.toml")
    group = info.value
    assert isinstance(group, PayoutSchemeError)
    assert isinstance(group, ExceptionGroup)
    assert str(group).startswith("c.toml: payout scheme 'c' version 3: 6 problems")
    messages = [str(e) for e in group.exceptions]
    expected = [
        "line 20: payout scheme 'c' version 3, 'extra': unknown top-level key 'extra'",
        "line 5: payout scheme 'c' version 3, [scheme] 'rat': unknown key 'rat' in [scheme]",
        "line 11: payout scheme 'c' version 3, [[bracket]] #1 'size': unknown key 'size'",
        "line 10: payout scheme 'c' version 3, [[bracket]] #1 'rate': 1.5 is not between 0 and 1",
        "line 4: payout scheme 'c' version 3, [scheme] 'pm_share': the project manager",
        "line 18: payout scheme 'c' version 3, [weights] '客户经理': the weight -1",
    ]
    for text_part in expected:
        assert any(text_part in m for m in messages), (text_part, messages)
    assert all(isinstance(e, PayoutSchemeError) for e in group.exceptions)
    assert all(m.startswith("c.toml, ") for m in messages)


def test_split_of_a_scheme_error_group_keeps_its_class() -> None:
    """except* and split keep PayoutSchemeValidationError for the parts."""
    with pytest.raises(PayoutSchemeValidationError) as info:
        PayoutScheme("x", 1, rate="2", pm_share="0.1")
    matched, rest = info.value.split(lambda e: "pm_share" in str(e))
    assert isinstance(matched, PayoutSchemeValidationError)
    assert isinstance(rest, PayoutSchemeValidationError)
    assert len(matched.exceptions) == len(rest.exceptions) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[scheme\n", "not valid TOML: Expected ']' at the end of a table declaration (at line 1"),
        ("scheme = 1\n", "'scheme' must be a table"),
        ("bracket = 1\n[scheme]\nname='x'\n", "'bracket' must be an array of tables"),
        ("[scheme]\nname='x'\n[[bracket]]\nupper=1\n", "[[bracket]] #1: missing 'lower'"),
        ("[scheme]\nrate=0.1\nweights=1\n", "unknown key 'weights' in [scheme]"),
        ("[scheme]\nrate=0.1\n[weights]\nx.y=1\n", "unknown role 'x'"),
        ("weights = 3\n[scheme]\nrate=0.1\n", "'weights' must be a table"),
    ],
)
def test_bad_scheme_text_is_refused(text: str, expected: str) -> None:
    """Text that is not TOML, or has the wrong shapes, is refused naming the source."""
    with pytest.raises(PayoutSchemeError) as info:
        PayoutScheme.from_toml(text, source="s.toml")
    messages = [str(e) for e in getattr(info.value, "exceptions", [info.value])]
    assert all(m.startswith("s.toml") for m in messages)
    assert any(expected in m for m in messages), messages


def test_scheme_name_defaults_to_the_file_stem() -> None:
    """A file without a name takes its stem as the name, and version 1."""
    scheme = PayoutScheme.from_toml("[scheme]\nrate = 0.1\n", source="dir/east-2022.toml")
    assert (scheme.name, scheme.version) == ("east-2022", 1)


# ------------------------------------------------------------------------ pool


def test_worked_example_pool() -> None:
    """12M attributed vs 10M target with 10% / 15% brackets gives 100,000 + 150,000 yuan."""
    scheme = two_bracket_scheme()
    assert scheme.pool(Decimal("12000000"), Decimal("10000000")) == Decimal("250000.00")


@pytest.mark.parametrize("attributed", ["10000000", "9999999.99", "0", "-5"])
def test_no_pool_at_or_below_target(attributed: str) -> None:
    """At or below target the pool is 0."""
    assert two_bracket_scheme().pool(attributed, "10000000") == 0


def test_value_on_a_bracket_edge_belongs_to_the_upper_bracket() -> None:
    """An excess exactly on an edge lies in the bracket starting there; the pool is continuous."""
    scheme = two_bracket_scheme()
    upper = scheme.brackets[1]
    assert scheme.bracket_at(1_000_000) == upper
    assert scheme.bracket_at("999999.99") == scheme.brackets[0]
    assert scheme.bracket_at(0) == scheme.brackets[0]
    assert scheme.bracket_at("-0.01") is None
    assert upper.contains(Decimal(1_000_000))
    assert not scheme.brackets[0].contains(Decimal(1_000_000))
    # the pool at the edge is the lower bracket's full 10%: 100,000 yuan
    assert scheme.pool(11_000_000, 10_000_000) == Decimal("100000.00")
    assert scheme.exact_pool_fen(99_999_999) == Fraction(99_999_999, 10)  # 99,999.9990 yuan
    assert scheme.pool("10999999.99", 10_000_000) == Decimal("100000.00")  # rounded once
    assert scheme.pool("11000000.01", 10_000_000) == Decimal("100000.00")  # 0.0015 rounds
    assert scheme.exact_pool_fen(100_000_001) == 10_000_000 + Fraction(15, 100)


def test_pool_is_rounded_once_half_even() -> None:
    """The pool rounds the exact sum over all brackets once, half to even, not per bracket."""
    halves = PayoutScheme("halves", brackets=[(0, "0.01", "0.5"), ("0.01", None, "0.5")])
    assert halves.exact_pool_fen(2) == 1
    assert halves.pool_fen(2) == 1  # rounding each bracket (0.5 -> 0) would give 0
    flat = PayoutScheme("half", rate="0.5")
    assert [flat.pool_fen(x) for x in (1, 3, 5, 7)] == [0, 2, 2, 4]  # 0.5, 1.5, 2.5, 3.5


def test_cap_is_applied_after_rounding() -> None:
    """The cap cuts the rounded pool; a pool below the cap is untouched."""
    scheme = two_bracket_scheme(cap="200000")
    assert scheme.pool(12_000_000, 10_000_000) == Decimal("200000.00")
    assert scheme.pool(10_500_000, 10_000_000) == Decimal("50000.00")
    zero_cap = two_bracket_scheme(cap=0)
    assert zero_cap.pool(12_000_000, 10_000_000) == 0


@given(schemes(), st.integers(-(10**12), 10**12))
def test_pool_equals_a_plain_sum_over_the_brackets(scheme: PayoutScheme, excess_fen: int) -> None:
    """The exact pool equals rate x part summed over the brackets, in Decimal; then one rounding."""
    expected = reference_pool_yuan(scheme, Decimal(excess_fen).scaleb(-2)) * 100
    assert scheme.exact_pool_fen(excess_fen) == Fraction(expected)
    rounded = int(expected.quantize(Decimal(1), rounding="ROUND_HALF_EVEN"))
    cap = scheme.cap_fen
    assert scheme.pool_fen(excess_fen) == (rounded if cap is None else min(rounded, cap))


@given(schemes(), st.integers(-(10**11), 10**12), st.integers(0, 10**11))
def test_pool_never_falls_as_revenue_rises(scheme: PayoutScheme, low: int, more: int) -> None:
    """More revenue against the same target never gives a smaller pool."""
    assert scheme.exact_pool_fen(low) <= scheme.exact_pool_fen(low + more)
    assert scheme.pool_fen(low) <= scheme.pool_fen(low + more)


@given(schemes(capped=False))
def test_pool_is_continuous_at_every_edge(scheme: PayoutScheme) -> None:
    """One fen below an edge the exact pool is at most one fen's rate less than at the edge."""
    for previous, bracket in zip(scheme.brackets, scheme.brackets[1:], strict=False):
        edge = bracket.lower_fen
        below = scheme.exact_pool_fen(edge - 1)
        at = scheme.exact_pool_fen(edge)
        above = scheme.exact_pool_fen(edge + 1)
        assert at - below == Fraction(previous.rate)
        assert above - at == Fraction(bracket.rate)
        full = sum(
            (
                Fraction(b.rate) * ((b.upper_fen or 0) - b.lower_fen)
                for b in scheme.brackets
                if b.upper_fen is not None and b.upper_fen <= edge
            ),
            Fraction(0),
        )
        assert at == full


@given(
    schemes(),
    st.lists(st.one_of(st.integers(-(10**12), 10**12), st.integers(-(2**62), 2**62)), max_size=20),
)
def test_bulk_pools_equal_the_specification(scheme: PayoutScheme, excess: list[int]) -> None:
    """pools_fen over many groups equals pool_fen one by one, also for huge amounts."""
    expected = [scheme.pool_fen(x) for x in excess]
    assert pools_fen(scheme, np.array(excess, dtype=np.int64)).tolist() == expected


def test_bulk_pools_with_many_rate_digits_stay_exact() -> None:
    """Rates with 20 decimal places take the exact integer path and still agree."""
    scheme = PayoutScheme("fine", rate="0.12345678901234567891")
    excess = [10**15, 3, 10**17 + 7, -1]
    assert pools_fen(scheme, excess).tolist() == [scheme.pool_fen(x) for x in excess]


@pytest.mark.parametrize("values", [[1.5, 2.0], ["1"], [[1, 2], [3, 4]], 5, [True]])
def test_bulk_pools_refuse_non_integer_fen(values: object) -> None:
    """Float, text or two-dimensional excesses are refused."""
    with pytest.raises(ValidationError, match="excess above target"):
        pools_fen(default_payout_scheme(), values)  # type: ignore[arg-type]


# ----------------------------------------------------------------------- split


def test_worked_example_split() -> None:
    """The courts example: PM 100,000; the rest 150,000 by score, part-time counting half."""
    shares = split_pool(two_bracket_scheme(), 25_000_000, COURTS_TEAM, COURTS_SCORES)
    assert [(s.member, s.fen) for s in shares] == [
        ("Li Ming", 10_000_000),
        ("Wang Fang", 4_500_000),
        ("Zhang Wei", 4_000_000),
        ("Chen Jing", 2_250_000),
        ("Liu Yang", 2_500_000),
        ("Zhao Lei", 1_750_000),
    ]
    chen = shares[3]
    assert (chen.full_time, chen.time_factor, chen.score, chen.role_weight, chen.weight) == (
        False,
        Decimal("0.5"),
        Decimal(90),
        Decimal(1),
        Decimal(45),
    )
    assert shares[0].role_weight is None
    assert shares[0].weight is None


def test_pm_floor_holds_on_a_one_fen_pool() -> None:
    """A 1-fen pool goes to the project manager: 40% of it rounded up, never down to 0."""
    shares = split_pool(default_payout_scheme(), 1, COURTS_TEAM, COURTS_SCORES)
    assert shares[0].fen == 1
    assert sum(s.fen for s in shares) == 1


def test_leftover_fen_go_by_remainder_then_role_then_name() -> None:
    """Equal remainders give the leftover fen to the earlier role, then the earlier name."""
    scheme = default_payout_scheme()
    team = [
        Member("Li", "PROJECT_MANAGER"),
        Member("Zhang", "ACCOUNT_MANAGER"),
        Member("Wang", "ACCOUNT_MANAGER"),
    ]
    # pool 5: PM 2; the rest 3 is 1.5 each: the fen left over goes to Wang (earlier name)
    assert [(s.member, s.fen) for s in split_pool(scheme, 5, team)] == [
        ("Li", 2),
        ("Wang", 2),
        ("Zhang", 1),
    ]
    # same weight, different roles: the account manager is earlier than business development
    team = [
        Member("Li", "PROJECT_MANAGER"),
        Member("Aa", "BUSINESS_DEVELOPMENT", full_time=True),
        Member("Zz", "ACCOUNT_MANAGER"),
    ]
    assert [(s.member, s.fen) for s in split_pool(scheme, 5, team)] == [
        ("Li", 2),
        ("Zz", 2),
        ("Aa", 1),
    ]
    # a larger remainder wins over role order: 7 fen -> PM 2.8 -> 3; rest 4.2 as 1/3 and 2/3
    team = [
        Member("Li", "PROJECT_MANAGER"),
        Member("Zz", "ACCOUNT_MANAGER"),
        Member("Aa", "SERVICE_IMPROVEMENT", full_time=True),
    ]
    shares = split_pool(scheme, 7, team, {"Zz": 1, "Aa": 2})
    assert [(s.member, s.fen) for s in shares] == [("Li", 3), ("Zz", 1), ("Aa", 3)]


def test_nobody_else_weighing_anything_leaves_the_pool_to_the_pm() -> None:
    """With every other score 0 (or the PM alone) the project manager gets the whole pool."""
    scheme = default_payout_scheme()
    zero = dict.fromkeys(COURTS_SCORES, 0)
    shares = split_pool(scheme, 12_345, COURTS_TEAM, zero)
    assert shares[0].fen == 12_345
    assert all(s.fen == 0 for s in shares[1:])
    assert [s.fen for s in split_pool(scheme, 999, COURTS_TEAM[:1])] == [999]
    assert exact_shares(scheme, 999, COURTS_TEAM[:1]) == {"Li Ming": 999}


def test_role_weighted_zero_gets_nothing() -> None:
    """A member whose role weighs 0 gets 0 fen; the others share the rest."""
    scheme = PayoutScheme("am-only", rate="0.1", role_weights={"ACCOUNT_MANAGER": 1})
    shares = split_pool(scheme, 1_001, COURTS_TEAM, COURTS_SCORES)
    by_name = {s.member: s.fen for s in shares}
    assert by_name["Chen Jing"] == by_name["Liu Yang"] == by_name["Zhao Lei"] == 0
    assert sum(by_name.values()) == 1_001


def test_pm_score_is_recorded_not_used() -> None:
    """A score given for the project manager is kept in the share but changes nothing."""
    scheme = default_payout_scheme()
    plain = split_pool(scheme, 10_000, COURTS_TEAM, COURTS_SCORES)
    scored = split_pool(scheme, 10_000, COURTS_TEAM, {**COURTS_SCORES, "Li Ming": 3})
    assert [s.fen for s in plain] == [s.fen for s in scored]
    assert scored[0].score == 3
    assert plain[0].score is None


@pytest.mark.parametrize(
    ("team", "scores", "expected"),
    [
        (COURTS_TEAM[1:], None, "no project manager in the team"),
        ([*COURTS_TEAM, Member("Sun", "项目经理")], None, "2 project managers ('Li Ming', 'Sun')"),
        ([*COURTS_TEAM, Member("Wang Fang", "SERVICE_IMPROVEMENT")], None, "named twice"),
        ([*COURTS_TEAM, "Sun"], None, "a team member must be a Member, got 'Sun'"),
        ("Li Ming", None, "the team must be a sequence of members"),
        (COURTS_TEAM, {"Wang Fang": 1}, "no score for 'Zhang Wei' (ACCOUNT_MANAGER)"),
        (COURTS_TEAM, {**COURTS_SCORES, "Ghost": 1}, "a score for 'Ghost', who is not in the team"),
        (COURTS_TEAM, {**COURTS_SCORES, "Zhao Lei": -1}, "score of 'Zhao Lei' is negative"),
        (COURTS_TEAM, {**COURTS_SCORES, "Zhao Lei": 0.7}, "not a decimal number: float 0.7"),
        (COURTS_TEAM, [("Zhao Lei", 1)], "scores must map member names to scores"),
    ],
)
def test_bad_team_or_scores_are_refused(team: object, scores: object, expected: str) -> None:
    """A team without exactly one PM, duplicate names, or bad scores are refused by name."""
    with pytest.raises((ValidationError, PortfolioValidationError)) as info:
        split_pool(default_payout_scheme(), 100, team, scores, group_id="courts")  # type: ignore[arg-type]
    messages = [str(e) for e in getattr(info.value, "exceptions", [info.value])]
    assert all(m.startswith("project group 'courts'") for m in messages)
    assert any(expected in m for m in messages), messages


def test_several_team_problems_are_raised_together() -> None:
    """A team with several problems raises them all at once."""
    team = [Member("A", "ACCOUNT_MANAGER"), Member("A", "SERVICE_IMPROVEMENT")]
    with pytest.raises(PortfolioValidationError) as info:
        split_pool(default_payout_scheme(), 100, team, {"B": 1})
    # a duplicate name, no PM, a score for a stranger, no score for either A
    assert len(info.value.exceptions) == 5


@pytest.mark.parametrize("pool", [-1, 1.5, True, "100"])
def test_bad_pool_is_refused(pool: object) -> None:
    """A pool must be a whole number of fen >= 0."""
    with pytest.raises(ValidationError, match="a pool must be a whole number of fen"):
        split_pool(default_payout_scheme(), pool, COURTS_TEAM)  # type: ignore[arg-type]


@given(schemes(), pools, teams())
def test_shares_add_up_to_the_pool_and_keep_the_pm_floor(
    scheme: PayoutScheme, pool: int, team_scores: tuple[list[Member], dict[str, Decimal]]
) -> None:
    """Whole fen summing to the pool; PM >= pm_share and >= 40% of it; each within 1 fen."""
    team, scores = team_scores
    shares = split_pool(scheme, pool, team, scores)
    exact = exact_shares(scheme, pool, team, scores)
    assert sum(s.fen for s in shares) == pool
    assert sum(exact.values()) == pool
    pm = shares[0]
    assert pm.role is Role.PROJECT_MANAGER
    assert 5 * pm.fen >= 2 * pool  # 40%, in integers
    assert pm.fen >= Fraction(scheme.pm_share) * pool
    assert pm.fen == math.ceil(exact[pm.member])
    for share in shares:
        assert share.fen >= 0
        assert abs(share.fen - exact[share.member]) < 1
        if share.weight == 0:
            assert share.fen == 0


@given(
    schemes(),
    pools,
    teams(),
    st.sampled_from(WEIGHTED_ROLES),
    decimals(0, 100, 2),
)
def test_part_time_member_gets_half_a_full_time_share(
    scheme: PayoutScheme,
    pool: int,
    team_scores: tuple[list[Member], dict[str, Decimal]],
    role: Role,
    score: Decimal,
) -> None:
    """Same role and score: part-time exactly half before rounding, within 1 fen after."""
    team, scores = team_scores
    team = [*team, Member("全职", role, full_time=True), Member("兼职", role, full_time=False)]
    scores = {**scores, "全职": score, "兼职": score}
    exact = exact_shares(scheme, pool, team, scores)
    assert exact["兼职"] * 2 == exact["全职"]
    by_name = {s.member: s.fen for s in split_pool(scheme, pool, team, scores)}
    assert abs(by_name["兼职"] - exact["全职"] / 2) < 1
    assert abs(2 * by_name["兼职"] - by_name["全职"]) <= 2


@given(schemes(), pools, teams(), st.randoms(use_true_random=False))
def test_split_is_deterministic_whatever_the_team_order(
    scheme: PayoutScheme,
    pool: int,
    team_scores: tuple[list[Member], dict[str, Decimal]],
    rnd: random.Random,
) -> None:
    """Recomputing gives the same fen, and shuffling the team changes nothing."""
    team, scores = team_scores
    first = split_pool(scheme, pool, team, scores)
    shuffled = list(team)
    rnd.shuffle(shuffled)
    assert split_pool(scheme, pool, team, scores) == first
    assert split_pool(scheme, pool, shuffled, dict(reversed(scores.items()))) == first


# ------------------------------------------------------------------------ bulk


def test_compute_payouts_for_several_groups() -> None:
    """A run gives each group its pool and shares, with scheme, version and period."""
    scheme = two_bracket_scheme()
    run = compute_payouts(
        scheme,
        Period(2022, 12),
        {"courts": ("12000000", "10000000"), "banks": (Decimal("900000"), Decimal("1000000"))},
        {"courts": COURTS_TEAM, "banks": COURTS_TEAM[:2], "unused": []},
        scores={"courts": COURTS_SCORES},
    )
    assert run.group_ids == ("courts", "banks")
    assert (run.scheme, run.scheme_version, run.period) == ("courts-2022", 1, "2022-12")
    courts, banks = run
    assert courts.pool == Decimal("250000.00")
    assert (courts.attributed, courts.target, courts.excess) == tuple(
        Decimal(x) for x in (12_000_000, 10_000_000, 2_000_000)
    )
    assert not courts.capped
    assert courts.project_manager.member == "Li Ming"
    assert courts.share("Chen Jing").amount == Decimal("22500.00")
    assert banks.pool_fen == 0
    assert [s.fen for s in banks.shares] == [0, 0]
    assert run.total_fen == courts.pool_fen
    with pytest.raises(KeyError):
        run["nike"]
    with pytest.raises(KeyError):
        courts.share("Nobody")


def test_run_rows_are_the_flat_table() -> None:
    """rows() has one row per group and member carrying the group, period and share."""
    run = compute_payouts(
        two_bracket_scheme(cap=100_000),
        PeriodRange("2022-01", "2022-06"),
        {"courts": ("12000000", "10000000")},
        {"courts": COURTS_TEAM},
        scores={"courts": COURTS_SCORES},
    )
    rows = run.rows()
    assert len(rows) == len(COURTS_TEAM)
    assert {r.period for r in rows} == {"2022-01..2022-06"}
    assert sum(r.fen for r in rows) == run["courts"].pool_fen == 10_000_000
    assert run["courts"].capped
    assert run["courts"].uncapped_fen == 25_000_000
    assert rows[1].member == "Wang Fang"
    assert rows[1].amount == Decimal("18000.00")  # 90/300 of the 60,000 left after the PM


def test_run_to_pandas() -> None:
    """to_pandas gives the flat table with fen as integers."""
    pytest.importorskip("pandas")
    run = compute_payouts(
        default_payout_scheme(),
        "2022",
        {"courts": ("12000000", "10000000")},
        {"courts": COURTS_TEAM},
        scores={"courts": COURTS_SCORES},
    )
    frame = run.to_pandas(lang="zh")
    assert len(frame) == len(COURTS_TEAM)
    assert int(frame["amount_fen"].sum()) == run["courts"].pool_fen
    assert frame["amount"].sum() == run["courts"].pool
    assert frame["role"].iloc[0] == "项目经理"


def test_bulk_input_problems_are_raised_together() -> None:
    """Bad amounts, non-positive targets, missing teams and stray scores come all at once."""
    with pytest.raises(PortfolioValidationError) as info:
        compute_payouts(
            default_payout_scheme(),
            "2022",
            {
                "a": ("1", "0"),
                "b": ("1.001", "1"),
                "c": ("5", "-1"),
                "d": ("1", "1", "1"),  # type: ignore[dict-item]
                "e": ("5", "1"),
            },
            {"b": COURTS_TEAM, "c": COURTS_TEAM, "e": COURTS_TEAM[1:]},
            scores={"zz": {}},
        )
    messages = [str(e) for e in info.value.exceptions]
    expected = [
        "project group 'a': the target for 2022 is 0.00 yuan; a payout needs a positive target",
        "project group 'a': no team for 2022",
        "digits below the fen (0.01 yuan) (project group 'b', attributed revenue for 2022)",
        "project group 'c': the target for 2022 is -1.00 yuan",
        "project group 'd': expected (attributed, target) in yuan",
        "project group 'e': no project manager",
        "scores for project group 'zz', which has no figures for 2022",
    ]
    for part in expected:
        assert any(part in m for m in messages), (part, messages)
    assert len(messages) == len(expected)
    assert any(isinstance(e, InvalidMoneyError) for e in info.value.exceptions)


@pytest.mark.parametrize("period", ["", "  ", 2022, None])
def test_bad_period_is_refused(period: object) -> None:
    """The period is a Period, a PeriodRange or a non-empty label."""
    with pytest.raises(ValidationError, match="period must be"):
        compute_payouts(default_payout_scheme(), period, {}, {})  # type: ignore[arg-type]


@given(
    schemes(),
    st.lists(
        st.tuples(st.integers(-(10**11), 10**12), st.integers(1, 10**12)), min_size=1, max_size=6
    ),
    teams(),
)
def test_columns_and_mapping_give_the_same_run(
    scheme: PayoutScheme,
    figures: list[tuple[int, int]],
    team_scores: tuple[list[Member], dict[str, Decimal]],
) -> None:
    """compute_payouts_fen on fen columns equals compute_payouts on yuan, group by group."""
    team, scores = team_scores
    ids = [f"g{i}" for i in range(len(figures))]
    teams_by_group = dict.fromkeys(ids, team)
    scores_by_group = dict.fromkeys(ids, scores)
    by_columns = compute_payouts_fen(
        scheme,
        "2022",
        ids,
        np.array([a for a, _ in figures], dtype=np.int64),
        np.array([t for _, t in figures], dtype=np.int64),
        teams_by_group,
        scores=scores_by_group,
    )
    by_mapping = compute_payouts(
        scheme,
        "2022",
        {
            g: (Decimal(a).scaleb(-2), Decimal(t).scaleb(-2))
            for g, (a, t) in zip(ids, figures, strict=True)
        },
        teams_by_group,
        scores=scores_by_group,
    )
    assert by_columns == by_mapping
    for payout, (a, t) in zip(by_columns, figures, strict=True):
        assert payout.pool_fen == scheme.pool_fen(a - t)
        assert sum(s.fen for s in payout.shares) == payout.pool_fen
        assert payout.shares == split_pool(scheme, payout.pool_fen, team, scores)


def test_columns_must_agree() -> None:
    """Columns of different lengths, float fen or duplicate groups are refused."""
    scheme = default_payout_scheme()
    teams_by_group = {"a": COURTS_TEAM, "b": COURTS_TEAM}
    with pytest.raises(ValidationError, match="the columns must have the same length"):
        compute_payouts_fen(scheme, "2022", ["a", "b"], [1, 2], [1], teams_by_group)
    with pytest.raises(ValidationError, match="fen must be whole numbers"):
        compute_payouts_fen(scheme, "2022", ["a"], [1.5], [1], teams_by_group)
    with pytest.raises(ValidationError, match="project group 'a' is given twice"):
        compute_payouts_fen(scheme, "2022", ["a", "a"], [1, 2], [1, 1], teams_by_group)


def test_recomputing_a_run_gives_the_same_fen() -> None:
    """The same scheme version and inputs give equal runs (what a stored period relies on)."""

    def run() -> object:
        return compute_payouts(
            PayoutScheme.from_toml(SCHEME_TOML),
            "2022",
            {"courts": ("12345678.91", "10000000"), "banks": ("20000000", "10000000.01")},
            {"courts": COURTS_TEAM, "banks": COURTS_TEAM},
            scores={"courts": COURTS_SCORES, "banks": COURTS_SCORES},
        )

    assert run() == run()


# ------------------------------------------------------------------------ docs


def test_docs_payout_example_runs() -> None:
    """The Python example of the payouts section of docs/operations.md runs."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- payouts (begin) -->")[1].split("<!-- payouts (end) -->")[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert blocks
    proc = subprocess.run(
        [sys.executable, "-c", "\n".join(blocks)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "courts Chen Jing 商务拓展经理 22500.00" in proc.stdout


def test_docs_scheme_example_is_the_shipped_scheme() -> None:
    """The TOML shown in docs/operations.md loads to the shipped default scheme."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("<!-- payouts (begin) -->")[1].split("<!-- payouts (end) -->")[0]
    toml = re.findall(r"```toml\n(.*?)```", section, re.DOTALL)[0]
    shipped = default_payout_scheme()
    assert PayoutScheme.from_toml(toml) == attrs.evolve(shipped, description="")


@pytest.mark.parametrize(
    "name",
    [
        "keyaccount.operations._payout",
        "keyaccount.operations._scheme",
        "keyaccount.operations._scheme_check",
    ],
)
def test_payout_docstring_examples_run(name: str) -> None:
    """The examples in the payout modules' docstrings run."""
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_bracket_value_reports_its_range() -> None:
    """A bracket holds its lower edge and not its upper one, and gives its bounds in fen."""
    bracket = Bracket(Decimal(0), Decimal("100.50"), Decimal("0.1"))
    assert bracket.contains(Decimal(0))
    assert not bracket.contains(Decimal("100.50"))
    assert (bracket.lower_fen, bracket.upper_fen) == (0, 10_050)
