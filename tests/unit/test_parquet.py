"""A whole portfolio as a directory of Parquet files: layout, round trip, refusals, pruning."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyaccount import Customer, Member, Portfolio, ProjectGroup, RevenueRecord, Role
from keyaccount.domain import SegmentChange, TierChange
from keyaccount.exceptions import (
    CsvFileNotFoundError,
    CsvImportError,
    OutputError,
    ValidationError,
)
from keyaccount.io import read_changes_parquet, read_portfolio_parquet, write_portfolio_parquet
from keyaccount.io._parquet import FORMAT_KEY, FORMAT_NAME, TABLE_KEY, VERSION_KEY
from tests.strategies import documents, portfolios

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
ds = pytest.importorskip("pyarrow.dataset")

if TYPE_CHECKING:
    from pathlib import Path


def _portfolio() -> Portfolio:
    return Portfolio(
        [
            Customer("HQ", "平安保险总部", "2021-01", segment="保险", tier="战略"),
            Customer("GD", '平安, "广东"分公司', "2021-03", segment="保险", parent_id="HQ"),
            Customer("C1", "某中院", "2021-05", segment="司法", sub_segment="法院"),
        ],
        [
            RevenueRecord("GD", "policy_mailing", "2022-06", "5000.00", volume=120),
            RevenueRecord("GD", "policy_mailing", "2022-07", "-12.50"),
            RevenueRecord("C1", "court_express", "2022-07", "880.05", volume=3),
            RevenueRecord("C1", "court_express", "2022-08", "99999999999.99", volume=1),
        ],
        project_groups=[
            ProjectGroup(
                "insurers",
                "Leading insurers",
                "保险龙头客户项目组",
                segment="INSURANCE",
                members=[Member("王芳", Role.PROJECT_MANAGER), Member("李雷", "客户经理")],
                customer_ids={"HQ", "GD"},
            )
        ],
    )


_CHANGES = (
    TierChange(
        "C1",
        "2022-08",
        before="ACTIVE",
        after="KEY",
        rule="promote-key",
        explanation={"t12m_revenue": "1000000.05", "active_months": 9, "yoy": 0.1},
    ),
    SegmentChange("GD", "2022-09", before="INSURANCE", after=None, actor="张三", reason="调整"),
)


def _same(back: Portfolio, original: Portfolio) -> None:
    assert list(back.customers()) == list(original.customers())
    assert Counter(back.revenue_records()) == Counter(original.revenue_records())
    assert back.project_groups == original.project_groups
    assert list(back.products.values()) == list(original.products.values())


def test_round_trip_example(tmp_path: Path) -> None:
    """Writing then reading gives the same customers, revenue, groups, catalogue and history."""
    pf = _portfolio()
    write_portfolio_parquet(pf, tmp_path / "pf", changes=_CHANGES)
    back = read_portfolio_parquet(tmp_path / "pf")
    _same(back, pf)
    assert read_changes_parquet(tmp_path / "pf", portfolio=back) == _CHANGES


def test_layout_metadata_and_partitions(tmp_path: Path) -> None:
    """Each file names layout, version and table; columns carry meaning and unit; fen in int64."""
    write_portfolio_parquet(_portfolio(), tmp_path / "pf")
    root = tmp_path / "pf"
    assert sorted(p.name for p in root.iterdir()) == [
        "customers.parquet",
        "groups.parquet",
        "products.parquet",
        "revenue",
    ]
    assert sorted(p.name for p in (root / "revenue").iterdir()) == [
        "period=2022-06",
        "period=2022-07",
        "period=2022-08",
    ]
    schema = pq.read_schema(root / "revenue" / "period=2022-07" / "part-0.parquet")
    meta = schema.metadata
    assert meta[FORMAT_KEY.encode()] == FORMAT_NAME.encode()
    assert meta[VERSION_KEY.encode()] == b"1"
    assert meta[TABLE_KEY.encode()] == b"revenue"
    fen = schema.field("revenue_fen")
    assert fen.type == pa.int64()
    assert fen.metadata[b"unit"] == b"fen (0.01 yuan)"
    assert b"refunds negative" in fen.metadata[b"description"]
    customers = pq.read_schema(root / "customers.parquet")
    assert customers.field("first_period").type == pa.date32()


def test_pyarrow_dataset_reads_the_partitions(tmp_path: Path) -> None:
    """pyarrow.dataset with hive partitioning sees the month as a column, exact fen per month."""
    write_portfolio_parquet(_portfolio(), tmp_path / "pf")
    table = ds.dataset(
        tmp_path / "pf" / "revenue", format="parquet", partitioning="hive"
    ).to_table()
    sums = {
        str(k): v
        for k, v in zip(
            *table.group_by("period").aggregate([("revenue_fen", "sum")]).to_pydict().values(),
            strict=True,
        )
    }
    assert sums == {"2022-06": 500_000, "2022-07": 88_005 - 1_250, "2022-08": 9_999_999_999_999}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    data=portfolios(max_customers=6, max_records=30),
    changes=st.lists(st.one_of(documents(TierChange), documents(SegmentChange)), max_size=4),
    members=st.lists(documents(Member), max_size=3),
    grouped=st.integers(0, 6),
)
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory,
    data: Any,
    changes: list[TierChange | SegmentChange],
    members: list[Member],
    grouped: int,
) -> None:
    """Any valid portfolio, its groups and its history read back equal, money exact."""
    pf = Portfolio(data.customers, data.records)
    ids = [c.id for c in data.customers]
    pf.add_project_group(
        ProjectGroup("g1", "Group", "项目组", members=members, customer_ids=ids[:grouped])
    )
    root = tmp_path_factory.mktemp("pq") / "pf"
    write_portfolio_parquet(pf, root, changes=changes)
    back = read_portfolio_parquet(root)
    _same(back, pf)
    assert read_changes_parquet(root) == tuple(changes)
    assert back.revenue_columns.fen.sum() == pf.revenue_columns.fen.sum()


def test_month_range_reads_only_those_partitions(tmp_path: Path) -> None:
    """start/end prune the month partitions: a damaged month outside the range is never opened."""
    write_portfolio_parquet(_portfolio(), tmp_path / "pf")
    (tmp_path / "pf" / "revenue" / "period=2022-06" / "part-0.parquet").write_bytes(b"garbage")
    part = read_portfolio_parquet(tmp_path / "pf", start="2022-07", end="2022-08")
    assert [str(p) for p in part.period_span or ()] == ["2022-07", "2022-08"]
    assert len(part.revenue_columns) == 3
    assert len(part) == 3


def _rewrite(path: Path, change: Any) -> None:
    """Rewrite one Parquet file of the layout with ``change(table) -> table``, keeping its keys."""
    table = pq.read_table(path)
    meta = table.schema.metadata
    table = change(table)
    pq.write_table(table.replace_schema_metadata(meta), path)


def _revenue_file(root: Path, month: str = "2022-07") -> Path:
    return root / "revenue" / f"period={month}" / "part-0.parquet"


@pytest.fixture
def written(tmp_path: Path) -> Path:
    """A portfolio written as Parquet."""
    root = tmp_path / "pf"
    write_portfolio_parquet(_portfolio(), root)
    return root


def test_negative_volume_is_a_named_bad_row(written: Path) -> None:
    """A negative volume is reported by file, row in the file, column, value and reason."""
    path = _revenue_file(written)

    def negative(table: Any) -> Any:
        volume = table.column("volume").to_pylist()
        volume[1] = -3
        at = table.schema.get_field_index("volume")
        return table.set_column(at, table.schema.field("volume"), pa.array(volume, pa.int64()))

    _rewrite(path, negative)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (str(path), 1, "volume", "-3")
    assert error.reason.startswith("negative volume")


def test_unknown_segment_is_a_named_bad_row(written: Path) -> None:
    """An unknown segment in customers.parquet names the file, row and value."""
    path = written / "customers.parquet"

    def unknown(table: Any) -> Any:
        segment = table.column("segment").cast(pa.string()).to_pylist()
        segment[2] = "BANKING"
        at = table.schema.get_field_index("segment")
        return table.set_column(at, "segment", pa.array(segment, pa.string()))

    _rewrite(path, unknown)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (
        str(path),
        2,
        "segment",
        "BANKING",
    )


def test_wrong_type_is_refused(written: Path) -> None:
    """Money written as text is refused before any row is read, naming the file and column."""
    path = _revenue_file(written)

    def as_text(table: Any) -> Any:
        at = table.schema.get_field_index("revenue_fen")
        return table.set_column(at, "revenue_fen", table.column("revenue_fen").cast(pa.string()))

    _rewrite(path, as_text)
    with pytest.raises(
        ValidationError, match=r"column revenue_fen is of type string, expected int64"
    ):
        read_portfolio_parquet(written)


def test_missing_column_is_refused(written: Path) -> None:
    """A file without one of its columns is refused, naming it."""
    path = written / "customers.parquet"
    _rewrite(path, lambda t: t.drop_columns(["first_period"]))
    with pytest.raises(ValidationError, match="missing column first_period") as info:
        read_portfolio_parquet(written)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (FORMAT_KEY, "someone.else", "not a keyaccount portfolio file"),
        (VERSION_KEY, "2", "layout version '2'"),
        (TABLE_KEY, "revenue", "holds the table 'revenue', expected 'customers'"),
    ],
)
def test_foreign_or_newer_metadata_is_refused(
    written: Path, key: str, value: str, message: str
) -> None:
    """A foreign layout, a newer version or the wrong table is refused with the file named."""
    path = written / "customers.parquet"
    table = pq.read_table(path)
    meta = dict(table.schema.metadata)
    meta[key.encode()] = value.encode()
    pq.write_table(table.replace_schema_metadata(meta), path)
    with pytest.raises(ValidationError, match=message) as info:
        read_portfolio_parquet(written)
    assert str(path) in str(info.value)


def test_file_without_keys_is_refused(written: Path) -> None:
    """A plain Parquet file (no keyaccount keys) is refused."""
    path = written / "customers.parquet"
    pq.write_table(pq.read_table(path).replace_schema_metadata(None), path)
    with pytest.raises(ValidationError, match="not a keyaccount portfolio file"):
        read_portfolio_parquet(written)


def test_unknown_customer_in_a_group_is_a_bad_row(written: Path) -> None:
    """A group owning a customer the portfolio does not hold is a bad row of groups.parquet."""
    path = written / "groups.parquet"

    def stranger(table: Any) -> Any:
        at = table.schema.get_field_index("customer_ids")
        return table.set_column(at, "customer_ids", pa.array([["GD", "ZZ"]], pa.list_(pa.string())))

    _rewrite(path, stranger)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (
        str(path),
        0,
        "customer_ids",
        "ZZ",
    )
    assert error.reason == "unknown customer 'ZZ'"


def test_existing_directory_is_refused_unless_overwrite(tmp_path: Path) -> None:
    """An existing target is refused; overwrite replaces a portfolio, never another directory."""
    root = tmp_path / "pf"
    write_portfolio_parquet(_portfolio(), root)
    with pytest.raises(OutputError, match="overwrite=True"):
        write_portfolio_parquet(_portfolio(), root)
    small = Portfolio([Customer("X", "x", "2022-01")])
    write_portfolio_parquet(small, root, overwrite=True)
    assert read_portfolio_parquet(root).customer_ids == ["X"]
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(OutputError, match="not a keyaccount Parquet portfolio"):
        write_portfolio_parquet(small, other, overwrite=True)
    assert (other / "notes.txt").read_text(encoding="utf-8") == "keep me"


def test_failed_write_leaves_nothing(tmp_path: Path) -> None:
    """A write that fails half-way (an unknown compression codec) leaves no directory at all."""
    root = tmp_path / "pf"
    with pytest.raises(pa.lib.ArrowException):
        write_portfolio_parquet(_portfolio(), root, compression="no-such-codec")
    assert list(tmp_path.iterdir()) == []


def test_failed_overwrite_keeps_the_old_portfolio(written: Path) -> None:
    """A failed overwrite leaves the directory as it was."""
    with pytest.raises(pa.lib.ArrowException):
        write_portfolio_parquet(Portfolio(), written, overwrite=True, compression="no-such-codec")
    assert read_portfolio_parquet(written).customer_ids == ["HQ", "GD", "C1"]
    assert sorted(p.name for p in written.parent.iterdir()) == ["pf"]


def test_changes_of_another_kind_are_refused(tmp_path: Path) -> None:
    """Changes must be TierChange and SegmentChange objects; nothing is written."""
    with pytest.raises(ValidationError, match=r"changes\[0\]: expected a TierChange"):
        write_portfolio_parquet(_portfolio(), tmp_path / "pf", changes=[object()])  # type: ignore[list-item]
    assert list(tmp_path.iterdir()) == []


def test_missing_directory_and_files(tmp_path: Path) -> None:
    """A missing directory or file is a CsvFileNotFoundError naming it."""
    with pytest.raises(CsvFileNotFoundError, match="nowhere"):
        read_portfolio_parquet(tmp_path / "nowhere")
    write_portfolio_parquet(_portfolio(), tmp_path / "pf")
    (tmp_path / "pf" / "groups.parquet").unlink()
    with pytest.raises(CsvFileNotFoundError, match=r"groups\.parquet"):
        read_portfolio_parquet(tmp_path / "pf")


def test_no_changes_file_reads_as_empty_history(written: Path) -> None:
    """Without changes.parquet the history is empty."""
    assert read_changes_parquet(written) == ()


def test_bad_change_is_a_named_bad_row(tmp_path: Path) -> None:
    """A change with an unknown tier is a bad row of changes.parquet."""
    root = tmp_path / "pf"
    write_portfolio_parquet(_portfolio(), root, changes=_CHANGES)
    path = root / "changes.parquet"

    def unknown(table: Any) -> Any:
        after = table.column("after").to_pylist()
        after[0] = "HUGE"
        return table.set_column(4, "after", pa.array(after, pa.string()))

    _rewrite(path, unknown)
    with pytest.raises(CsvImportError) as info:
        read_changes_parquet(root)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (str(path), 0, "after", "HUGE")


def test_importing_keyaccount_io_does_not_import_pyarrow() -> None:
    """keyaccount.io stays light: pyarrow is imported by the Parquet functions only."""
    code = "import sys, keyaccount.io; print(json.dumps('pyarrow' in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) is False


def test_docstring_examples() -> None:
    """The docstring examples of the Parquet module run and print what they show."""
    import doctest

    import keyaccount.io._parquet as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted
    assert result.failed == 0


def test_month_file_with_plain_strings_reads_the_same(written: Path) -> None:
    """A month file whose ids are plain strings (not the shared dictionary) reads the same."""
    path = _revenue_file(written)

    def plain(table: Any) -> Any:
        for name in ("customer_id", "product_id"):
            at = table.schema.get_field_index(name)
            table = table.set_column(at, name, table.column(name).cast(pa.string()))
        return table

    _rewrite(path, plain)
    assert pq.read_schema(path).field("customer_id").type == pa.string()
    _same(read_portfolio_parquet(written), _portfolio())


def _set(table: Any, name: str, values: list[Any]) -> Any:
    """``table`` with column ``name`` replaced by ``values`` of the same type."""
    at = table.schema.get_field_index(name)
    field = table.schema.field(name)
    kind = field.type.value_type if pa.types.is_dictionary(field.type) else field.type
    return table.set_column(at, field.with_type(kind), pa.array(values, kind))


@pytest.mark.parametrize(
    ("column", "value", "shown", "reason"),
    [
        ("customer_key", 3, "3", "unknown customer: customer_key not in 0..2"),
        ("customer_key", -1, "-1", "unknown customer: customer_key not in 0..2"),
        ("customer_key", None, "", "required value is empty"),
        ("product_id", "parcel", "parcel", "unknown product 'parcel'"),
        ("revenue_fen", None, "", "required value is empty"),
        ("revenue_fen", 10**15, str(10**15), "too large; at most 11 digits"),
        ("volume", 10**13, str(10**13), "volume too large; at most 13 digits"),
    ],
)
def test_bad_revenue_value_is_a_named_bad_row(
    written: Path, column: str, value: Any, shown: str, reason: str
) -> None:
    """A bad key, product, amount or volume names the month file, row, column, value, reason."""
    path = _revenue_file(written)

    def bad(table: Any) -> Any:
        values = table.column(column).to_pylist()
        values[0] = value
        return _set(table, column, values)

    _rewrite(path, bad)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    assert info.value.path == str(written / "revenue")
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (str(path), 0, column, shown)
    assert error.reason.startswith(reason)


def test_empty_product_is_the_default_product(written: Path) -> None:
    """An empty product id is the catalogue's standard_express, as in the CSV format."""
    path = _revenue_file(written, "2022-06")
    _rewrite(path, lambda t: _set(t, "product_id", [None]))
    back = read_portfolio_parquet(written)
    assert {r.product_id for r in back.revenue_records(start="2022-06", end="2022-06")} == {
        "standard_express"
    }


def test_revenue_before_first_period_is_a_named_bad_row(written: Path) -> None:
    """A record in a month before its customer's first_period names the period and customer."""
    path = _revenue_file(written, "2022-06")
    customers = written / "customers.parquet"
    _rewrite(
        customers,
        lambda t: _set(
            t,
            "first_period",
            [
                *t.column("first_period").to_pylist()[:1],
                dt.date(2022, 7, 1),
                *t.column("first_period").to_pylist()[2:],
            ],
        ),
    )
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (
        str(path),
        0,
        "period",
        "2022-06",
    )
    assert error.reason == "before customer 'GD''s first_period 2022-07"


def test_customer_key_must_be_the_row(written: Path) -> None:
    """customers.parquet's customer_key must be each row's position: another is a bad row."""
    path = written / "customers.parquet"
    _rewrite(path, lambda t: _set(t, "customer_key", [0, 2, 1]))
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    assert [(e.path, e.line, e.column, e.value) for e in info.value.row_errors] == [
        (str(path), 1, "customer_key", "2"),
        (str(path), 2, "customer_key", "1"),
    ]


def test_revenue_joins_customers_by_key_or_id(written: Path) -> None:
    """customer_key and customer_id of the revenue name the same customers.parquet row."""
    customers = pq.read_table(written / "customers.parquet")
    revenue = ds.dataset(written / "revenue", format="parquet", partitioning="hive").to_table()
    ids = customers.column("customer_id").to_pylist()
    keys = customers.column("customer_key").to_pylist()
    assert keys == list(range(len(ids)))
    pairs = zip(
        revenue.column("customer_key").to_pylist(),
        revenue.column("customer_id").cast(pa.string()).to_pylist(),
        strict=True,
    )
    assert all(ids[k] == cid for k, cid in pairs)
    assert revenue.schema.field("customer_key").type == pa.int32()


def test_customer_owned_by_two_groups_is_a_bad_row(written: Path) -> None:
    """A customer named by a second group is a bad row of that group, naming the first."""
    path = written / "groups.parquet"

    def twice(table: Any) -> Any:
        second = table.slice(0, 1)
        second = _set(second, "group_id", ["others"])
        second = _set(second, "customer_ids", [["C1", "GD"]])
        return pa.concat_tables([table, second])

    _rewrite(path, twice)
    with pytest.raises(CsvImportError) as info:
        read_portfolio_parquet(written)
    [error] = info.value.row_errors
    assert (error.path, error.line, error.column, error.value) == (
        str(path),
        1,
        "customer_ids",
        "GD",
    )
    assert error.reason == "customer 'GD' already belongs to 'insurers'"


def test_directory_not_a_month_partition_is_refused(written: Path) -> None:
    """A revenue directory not named period=YYYY-MM is refused, naming it."""
    (written / "revenue" / "period=2022-06").rename(written / "revenue" / "period=2022-13")
    with pytest.raises(ValidationError, match=r"period=2022-13: not a month partition"):
        read_portfolio_parquet(written)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    data=portfolios(max_customers=5, max_records=20),
    damage=st.lists(
        st.tuples(
            st.integers(0, 10**6),
            st.sampled_from(["customer_key", "volume", "revenue_fen", "product_id"]),
            st.sampled_from([-1, 7, None, 10**15, "nope"]),
        ),
        max_size=4,
    ),
)
def test_array_checks_agree_with_the_frame_checks(
    tmp_path_factory: pytest.TempPathFactory, data: Any, damage: list[Any]
) -> None:
    """The bad rows the reader finds are those Portfolio.from_arrow finds in the same files."""
    pf = Portfolio(data.customers, data.records)
    root = tmp_path_factory.mktemp("pq") / "pf"
    write_portfolio_parquet(pf, root)
    files = sorted((root / "revenue").glob("*/*.parquet"))
    for seed, column, value in damage:
        if not files:
            break
        path = files[seed % len(files)]
        table = pq.read_table(path)
        values = table.column(column).to_pylist()
        ok = {
            "customer_key": value is None or (isinstance(value, int) and abs(value) < 2**31),
            "volume": value is None or isinstance(value, int),
            "revenue_fen": isinstance(value, int) or value is None,
            "product_id": value is None or isinstance(value, str),
        }[column]
        if not ok:
            continue
        values[seed % len(values)] = value
        _rewrite(path, lambda t, c=column, v=values: _set(t, c, v))
    customers = pq.read_table(root / "customers.parquet")
    ids = customers.column("customer_id").to_pylist()
    expected: set[tuple[str, int, str | None]] = set()
    for path in files:
        table = pq.read_table(path)
        keys = table.column("customer_key").to_pylist()
        named = [ids[k] if k is not None and 0 <= k < len(ids) else f"?{k}" for k in keys]
        plain = pa.table(
            {
                "customer_id": pa.array(named, pa.string()),
                "period": pa.array([path.parent.name[7:]] * len(keys), pa.string()),
                "product_id": table.column("product_id").cast(pa.string()),
                "revenue_fen": table.column("revenue_fen"),
                "volume": table.column("volume"),
            }
        )
        try:
            Portfolio.from_arrow(customers.drop_columns(["customer_key"]), plain)
        except CsvImportError as exc:
            expected |= {(str(path), e.line, e.column) for e in exc.row_errors}
    try:
        read_portfolio_parquet(root)
    except CsvImportError as exc:
        found = {
            (e.path, e.line, "customer_id" if e.column == "customer_key" else e.column)
            for e in exc.row_errors
        }
    else:
        found = set()
    assert found == expected
