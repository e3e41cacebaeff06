"""Hostile CSV files: each is read with its exact meaning or refused with a KeyAccountError."""

from __future__ import annotations

import tempfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyaccount.domain import MAX_AMOUNT_FEN, MAX_MONTH_FEN, default_catalog
from keyaccount.exceptions import KeyAccountError
from keyaccount.io import iter_revenue_csv, iter_transactions_csv, read_customers_csv
from keyaccount.io._reference import reference_revenue, reference_transactions

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")

AMOUNTS = st.one_of(
    st.integers(-MAX_AMOUNT_FEN - 10, MAX_AMOUNT_FEN + 10).map(lambda f: f"{Decimal(f) / 100}"),
    st.sampled_from(
        [
            "99999999999.99",
            "999999999999999.99",
            "467440737095618.00",
            "1e5",
            "1e-100000000",
            "１０",  # fullwidth digits
            "١٠",  # Arabic-Indic digits
            "l0",  # homoglyph
            "NaN",
            "-0.01",
            "0.001",
            "",
            '"5',
            "5\x00",
        ]
    ),
)
IDS = st.sampled_from(["C1", "C2", "C\x001", "С1", '"C3"', "C1 ", "客户"])
ENDINGS = st.sampled_from(["\n", "\r\n", "\r"])
PREFIX = st.sampled_from([b"", b"\xef\xbb\xbf"])


def _write(data: bytes) -> Path:
    handle = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)  # noqa: SIM115
    with handle:
        handle.write(data)
    return Path(handle.name)


def _expect_exact_or_refused(read: Callable[[Path], T], path: Path) -> T | None:
    """What ``read`` gives for ``path``, or ``None`` when it refuses the file with our error."""
    try:
        return read(path)
    except KeyAccountError:
        return None


@st.composite
def revenue_files(draw: st.DrawFn) -> bytes:
    """Revenue files with hostile ids, amounts, line endings, BOMs and random bytes."""
    end = draw(ENDINGS)
    rows = [
        f"{draw(IDS)},2022-0{draw(st.integers(1, 2))},,{draw(AMOUNTS)},"
        for _ in range(draw(st.integers(0, 12)))
    ]
    text = end.join(["customer_id,period,product_id,revenue,volume", *rows]) + end
    data = draw(PREFIX) + text.encode("utf-8", "surrogateescape")
    if draw(st.booleans()):
        junk = draw(st.binary(max_size=8))
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + junk + data[cut:]
    return data


@st.composite
def transaction_files(draw: st.DrawFn) -> bytes:
    """Transaction files, often with many maximal amounts for one customer-month."""
    end = draw(ENDINGS)
    many = draw(st.integers(0, 120))
    rows = [f"C1,2022-01-02,{draw(st.sampled_from(['99999999999.99', '-99999999999.99']))}"] * 0
    rows += ["C1,2022-01-02,99999999999.99"] * many
    rows += [
        f"{draw(IDS)},2022-01-0{draw(st.integers(1, 9))},{draw(AMOUNTS)}"
        for _ in range(draw(st.integers(0, 8)))
    ]
    text = end.join(["customer_id,date,amount", *rows]) + end
    return draw(PREFIX) + text.encode("utf-8", "surrogateescape")


def _plain(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@pytest.mark.timeout(120)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(revenue_files())
def test_revenue_files_are_exact_or_refused(data: bytes) -> None:
    """A hostile revenue file is read as the reference parser reads it, or refused."""
    path = _write(data)
    try:
        fast = _expect_exact_or_refused(lambda p: list(iter_revenue_csv(p)), path)
        slow = _expect_exact_or_refused(lambda p: reference_revenue(p, default_catalog()), path)
        refused = slow is None or bool(slow[1])
        assert (fast is None) == refused
        if fast is not None and slow is not None:
            got = [int(f) for b in fast for f in b.fen]
            assert got == [row[4] for row in slow[0]]
            assert all(abs(f) <= MAX_AMOUNT_FEN for f in got)
    finally:
        path.unlink()


@pytest.mark.timeout(120)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(transaction_files())
def test_transaction_files_are_exact_or_refused(data: bytes) -> None:
    """Summed transactions equal the exact Decimal sums, or the file is refused."""
    path = _write(data)
    try:
        fast = _expect_exact_or_refused(lambda p: list(iter_transactions_csv(p)), path)
        if fast is None:
            return
        got = sum(int(b.fen.sum()) for b in fast)
        for batch in fast:
            assert all(abs(int(f)) <= MAX_MONTH_FEN for f in batch.fen)
        text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
        lines = [line for line in text.splitlines()[1:] if line]
        exact = sum(_plain(line.rsplit(",", 1)[1]) or 0 for line in lines)
        assert got == exact * 100
        good, bad = reference_transactions(path, default_catalog())
        assert not bad
        assert got == sum(row[4] for row in good)
    finally:
        path.unlink()


@pytest.mark.timeout(120)
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    st.lists(
        st.tuples(IDS, st.text(max_size=6), st.sampled_from(["2022-01", "２０２２-01", ""])),
        max_size=8,
    ),
    ENDINGS,
    PREFIX,
)
def test_customer_files_are_read_or_refused(
    rows: list[tuple[str, str, str]], end: str, prefix: bytes
) -> None:
    """A hostile customers file is read or refused with a KeyAccountError, never another error."""
    header = "customer_id,name,segment,sub_segment,tier,parent_id,province,first_period"
    lines = [header] + [f"{i},{n.replace(',', ' ')},,,,,,{p}" for i, n, p in rows]
    data = prefix + (end.join(lines) + end).encode("utf-8", "surrogatepass")
    path = _write(data)
    try:
        result = _expect_exact_or_refused(read_customers_csv, path)
        if result is not None:
            for customer in result.customers():
                assert "\x00" not in customer.id + customer.name
    finally:
        path.unlink()
