"""Saving and loading portfolios, the explicit mapping, partial reads and the schema version."""

from __future__ import annotations

import sqlite3
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keyaccount import (
    Customer,
    Member,
    Portfolio,
    Product,
    ProjectGroup,
    RevenueRecord,
    Role,
    Segment,
    SubSegment,
    Tier,
    __version__,
    default_catalog,
)
from keyaccount.domain import SegmentChange, TierChange
from keyaccount.exceptions import (
    SchemaVersionError,
    StoreNotEmptyError,
    UnknownCustomerError,
    UnknownProjectGroupError,
    ValidationError,
)
from keyaccount.store import SCHEMA_VERSION, Store
from keyaccount.store._mapping import (
    CHANGE_FIELDS,
    CHANGE_STORE_ONLY,
    CUSTOMER_FIELDS,
    CUSTOMER_STORE_ONLY,
    MEMBER_FIELDS,
    MEMBER_STORE_ONLY,
    PRODUCT_FIELDS,
    PRODUCT_STORE_ONLY,
    PROJECT_GROUP_FIELDS,
    PROJECT_GROUP_STORE_ONLY,
    change_from_db,
    change_to_db,
    customer_from_db,
    customer_to_db,
    explanation_from_json,
    explanation_to_json,
    group_from_db,
    group_to_db,
    member_from_db,
    member_to_db,
    product_from_db,
    product_to_db,
)
from keyaccount.store._tables import (
    DbChange,
    DbCustomer,
    DbProduct,
    DbProjectGroup,
    DbProjectMember,
    project_customer_table,
)
from tests.strategies import portfolios

if TYPE_CHECKING:
    from pathlib import Path

DB_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# ---------------------------------------------------------------- strategies


@st.composite
def catalogs(draw: st.DrawFn) -> tuple[Product, ...]:
    """The default catalogue, sometimes with products of the user's own added."""
    extra = draw(
        st.lists(
            st.builds(
                Product,
                st.sampled_from(["cold_chain", "bulk_mail", "gov_pickup"]),
                st.sampled_from(["Cold chain", "Bulk mail"]),
                st.sampled_from(["冷链", "大宗邮件"]),
                st.frozensets(st.sampled_from(Segment), max_size=3),
            ),
            max_size=2,
            unique_by=lambda p: p.id,
        )
    )
    return default_catalog().products + tuple(extra)


members = st.builds(
    Member,
    st.sampled_from(["王伟", "李娜", "Zhang Wei"]),
    st.sampled_from(Role),
    full_time=st.booleans(),
)


@st.composite
def full_portfolios(draw: st.DrawFn) -> Portfolio:
    """A small portfolio with hierarchy, refunds, duplicates, products and project groups."""
    data = draw(portfolios())
    products = draw(catalogs())
    from keyaccount import ProductCatalog

    portfolio = Portfolio(data.customers, data.records, products=ProductCatalog(products))
    ids = [c.id for c in data.customers]
    owners = draw(st.lists(st.sampled_from([None, 0, 1, 2]), min_size=len(ids), max_size=len(ids)))
    for g in range(draw(st.integers(0, 3))):
        group = ProjectGroup(
            f"group_{g}",
            f"Group {g}",
            f"项目组{g}",
            segment=draw(st.none() | st.sampled_from(Segment)),
            international=draw(st.booleans()),
            members=draw(st.lists(members, max_size=4)),
            customer_ids=[cid for cid, owner in zip(ids, owners, strict=True) if owner == g],
        )
        portfolio.add_project_group(group)
    return portfolio


def assert_same_portfolio(back: Portfolio, original: Portfolio) -> None:
    """Same customers (in order), products, project groups and revenue multiset."""
    assert list(back.customers()) == list(original.customers())
    assert back.products.products == original.products.products
    assert back.project_groups == original.project_groups
    assert Counter(back.revenue_records()) == Counter(original.revenue_records())


# ---------------------------------------------------------------- round trips


@DB_SETTINGS
@given(portfolio=full_portfolios())
def test_save_then_load_gives_an_equal_portfolio(store: Store, portfolio: Portfolio) -> None:
    """Save then load gives the same customers, products, groups and revenue records."""
    store.save(portfolio, replace=True)
    assert_same_portfolio(store.load(), portfolio)


@DB_SETTINGS
@given(portfolio=full_portfolios(), data=st.data())
def test_partial_reads_agree_with_the_whole(
    store: Store, portfolio: Portfolio, data: st.DataObject
) -> None:
    """A customer, a segment, a group and a month range read alone match the whole portfolio."""
    store.save(portfolio, replace=True)
    customer = data.draw(st.sampled_from(list(portfolio.customers())))
    assert store.customer(customer.id) == customer
    segment = data.draw(st.sampled_from(Segment))
    assert store.customers(segment=segment) == [
        c for c in portfolio.customers() if c.segment is segment
    ]
    for group in portfolio.project_groups:
        assert store.project_group(group.id) == group
    start = data.draw(st.sampled_from(["2019-01", "2021-06", "2024-12"]))
    end = data.draw(st.sampled_from(["2020-12", "2023-03", "2025-06"]))
    table = store.revenue(start, end)
    assert Counter(table.records()) == Counter(portfolio.revenue_records(start=start, end=end))
    assert table.total_fen == sum(
        r.revenue_fen for r in portfolio.revenue_records(start=start, end=end)
    )


@DB_SETTINGS
@given(portfolio=full_portfolios(), data=st.data())
def test_partial_portfolio_holds_selection_and_ancestors(
    store: Store, portfolio: Portfolio, data: st.DataObject
) -> None:
    """load(segment=...) holds the segment's customers, their ancestors, and only their revenue."""
    store.save(portfolio, replace=True)
    segment = data.draw(st.sampled_from(Segment))
    part = store.load(segment=segment, start="2021-01")
    selected = {c.id for c in portfolio.customers() if c.segment is segment}
    wanted = selected | {a for cid in selected for a in portfolio.ancestors(cid)}
    assert set(part.customer_ids) == wanted
    assert list(part.customers()) == [c for c in portfolio.customers() if c.id in wanted]
    expected = [r for r in portfolio.revenue_records(start="2021-01") if r.customer_id in wanted]
    assert Counter(part.revenue_records()) == Counter(expected)
    for group in part.project_groups:
        assert group.customer_ids == portfolio.project_group(group.id).customer_ids & wanted


def test_the_demo_portfolio_round_trips(store: Store) -> None:
    """The demo portfolio (hierarchies, nine groups, thousands of records) saves and loads."""
    from keyaccount.demo import generate

    portfolio = generate(seed=7, customers=400, months=15)
    store.save(portfolio)
    assert_same_portfolio(store.load(), portfolio)
    window = store.load(start="2022-01", end="2022-06")
    assert Counter(window.revenue_records()) == Counter(
        portfolio.revenue_records(start="2022-01", end="2022-06")
    )
    history = store.load(end="2022-06")
    for cid in portfolio.customer_ids[:50]:
        assert history.metrics("2022-06").row(cid) == portfolio.metrics("2022-06").row(cid)


def test_load_of_a_project_group_holds_its_customers(store: Store) -> None:
    """load(project_group=...) holds that group's customers (and ancestors) and their revenue."""
    hq = Customer("HQ", "保险总公司", "2021-01", segment="INSURANCE")
    branch = Customer("GD", "广东分公司", "2021-01", segment="INSURANCE", parent_id="HQ")
    other = Customer("X", "其他", "2021-01")
    portfolio = Portfolio(
        [hq, branch, other],
        [
            RevenueRecord("GD", "policy_mailing", "2022-01", "10.00"),
            RevenueRecord("X", "standard_express", "2022-01", "5.00"),
        ],
        project_groups=[ProjectGroup("insurers", "Insurers", "保险", customer_ids=["GD"])],
    )
    store.save(portfolio)
    part = store.load(project_group="insurers")
    assert part.customer_ids == ["HQ", "GD"]
    assert [r.customer_id for r in part.revenue_records()] == ["GD"]
    assert part.project_group("insurers").customer_ids == frozenset({"GD"})
    assert store.customers(project_group="insurers") == [branch]
    assert store.customers(tier="ACTIVE", customer_ids=["X", "HQ"]) == [hq, other]
    with pytest.raises(UnknownProjectGroupError, match="'nope'"):
        store.load(project_group="nope")


def test_an_empty_store_loads_an_empty_portfolio(store: Store) -> None:
    """A new store is empty and loads an empty portfolio with the default catalogue."""
    assert store.is_empty()
    portfolio = store.load()
    assert len(portfolio) == 0
    assert portfolio.products == default_catalog()
    assert store.project_groups() == ()


# ---------------------------------------------------------------- save semantics


def test_save_into_a_store_with_data_is_refused(store: Store) -> None:
    """Saving over a stored portfolio raises StoreNotEmptyError and changes nothing."""
    first = Portfolio([Customer("A", "甲", "2022-01")])
    store.save(first)
    with pytest.raises(StoreNotEmptyError, match="replace=True"):
        store.save(Portfolio([Customer("B", "乙", "2022-01")]))
    assert store.load().customer_ids == ["A"]


def test_save_with_replace_replaces_everything(store: Store) -> None:
    """replace=True deletes the old portfolio and its change history, then writes the new one."""
    store.save(Portfolio([Customer("A", "甲", "2022-01")]))
    store.record_change(TierChange("A", "2022-03", before="ACTIVE", after="KEY", actor="王"))
    store.save(Portfolio([Customer("B", "乙", "2022-01")]), replace=True)
    assert store.load().customer_ids == ["B"]
    assert store.changes() == []


class _FailingPortfolio(Portfolio):
    """A portfolio whose project groups cannot be read: saving it fails after the revenue."""

    @property
    def project_groups(self) -> tuple[ProjectGroup, ...]:
        raise RuntimeError("project groups unavailable")


def test_a_failed_save_leaves_the_store_as_it_was(store: Store) -> None:
    """A save that fails part-way (after customers and revenue were written) writes nothing."""
    store.save(Portfolio([Customer("A", "甲", "2022-01")]))
    failing = _FailingPortfolio(
        [Customer("B", "乙", "2022-01")],
        [RevenueRecord("B", "standard_express", "2022-02", "1.00")],
    )
    with pytest.raises(RuntimeError, match="unavailable"):
        store.save(failing, replace=True)
    assert store.load().customer_ids == ["A"]
    assert store.counts()["revenue"] == 0


# ---------------------------------------------------------------- mapping and parity


def _non_default_customer() -> Customer:
    return Customer(
        "C9",
        "某中院",
        "2020-03",
        segment=Segment.JUDICIAL,
        sub_segment=SubSegment.COURT,
        tier=Tier.STRATEGIC,
        parent_id="P1",
        province="广东",
        tier_since="2021-07",
    )


def _columns(model: type[object]) -> set[str]:
    return set(model.__table__.columns.keys())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("domain", "fields", "store_only", "model"),
    [
        (Customer, CUSTOMER_FIELDS, CUSTOMER_STORE_ONLY, DbCustomer),
        (Product, PRODUCT_FIELDS, PRODUCT_STORE_ONLY, DbProduct),
        (Member, MEMBER_FIELDS, MEMBER_STORE_ONLY, DbProjectMember),
        (TierChange, CHANGE_FIELDS, CHANGE_STORE_ONLY, DbChange),
        (SegmentChange, CHANGE_FIELDS, CHANGE_STORE_ONLY, DbChange),
    ],
)
def test_every_field_maps_to_a_column_and_back(
    domain: type[object],
    fields: dict[str, str],
    store_only: frozenset[str],
    model: type[object],
) -> None:
    """Each attrs field has exactly one column, and every column is a field or store-only."""
    assert set(fields) == {f.name for f in attrs.fields(domain)}  # type: ignore[arg-type]
    assert set(fields.values()) | store_only == _columns(model)
    assert len(set(fields.values())) == len(fields)


def test_every_project_group_field_maps_to_a_column_or_table() -> None:
    """Each ProjectGroup field maps to a ka_project_group column or to a table of its own."""
    assert set(PROJECT_GROUP_FIELDS) == {f.name for f in attrs.fields(ProjectGroup)}
    group_columns = {
        target.split(".", 1)[1]
        for target in PROJECT_GROUP_FIELDS.values()
        if target.startswith("ka_project_group.")
    }
    assert group_columns | PROJECT_GROUP_STORE_ONLY == _columns(DbProjectGroup)
    tables = {t for t in PROJECT_GROUP_FIELDS.values() if "." not in t}
    assert tables == {"ka_project_member", project_customer_table.name}


def test_customer_row_round_trip_keeps_every_field() -> None:
    """A customer with no field at its default maps to a row and back unchanged."""
    customer = _non_default_customer()
    defaults = Customer("C9", "x", "2020-03")
    for field in attrs.fields(Customer):
        if field.name not in {"id", "first_period"}:
            assert getattr(customer, field.name) != getattr(defaults, field.name), field.name
    row = customer_to_db(customer, key=5, parent_key=3)
    for name, column in CUSTOMER_FIELDS.items():
        assert getattr(row, column) is not None, name
    assert customer_from_db(row, parent_id="P1") == customer


def test_product_group_member_rows_round_trip() -> None:
    """Products, project groups and members map to rows and back unchanged."""
    product = Product("cold_chain", "Cold chain", "冷链", {Segment.FINANCE, Segment.INTERNET})
    assert product_from_db(product_to_db(product, key=30)) == product
    member = Member("王伟", Role.SERVICE_IMPROVEMENT, full_time=True)
    assert member_from_db(member_to_db(member, group_key=1, index=2)) == member
    group = ProjectGroup(
        "courts",
        "Courts",
        "法院项目组",
        segment="JUDICIAL",
        international=True,
        members=[member],
        customer_ids=["C1"],
    )
    assert group_from_db(group_to_db(group, key=0), [member], ["C1"]) == group


@given(
    st.lists(
        st.tuples(
            st.text(max_size=8),
            st.none()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=8)
            | st.decimals(allow_nan=False, allow_infinity=False, places=2),
        ),
        max_size=6,
    )
)
def test_explanations_survive_json_exactly(pairs: list[tuple[str, object]]) -> None:
    """Explanation values (Decimal, int, float, text, None) and their order survive JSON."""
    back = explanation_from_json(explanation_to_json(pairs))  # type: ignore[arg-type]
    assert back == tuple(pairs)
    assert [type(v) for _, v in back] == [type(v) for _, v in pairs]


def test_change_rows_round_trip() -> None:
    """Tier and segment changes map to rows and back unchanged."""
    import datetime as dt

    moment = dt.datetime(2022, 11, 30, 8, 0, tzinfo=dt.UTC)
    changes: list[TierChange | SegmentChange] = [
        TierChange(
            "C1",
            "2022-11",
            before="ACTIVE",
            after="KEY",
            rule="promote",
            reason="grew",
            explanation={"t12m_revenue": Decimal("1200000.00"), "yoy_growth": 0.25},
        ),
        SegmentChange("C1", "2022-12", before=None, after="FINANCE", actor="李娜"),
    ]
    for change in changes:
        row = change_to_db(change, customer_key=4, recorded_at=moment)
        assert change_from_db(row, customer_id="C1") == change


# ---------------------------------------------------------------- opening stores


def test_opening_another_schema_version_is_refused(tmp_path: Path) -> None:
    """A database recording another schema version raises SchemaVersionError naming both."""
    path = tmp_path / "old.db"
    Store(path).close()
    with sqlite3.connect(path) as con:
        con.execute("UPDATE ka_schema SET version = 99")
    before = path.read_bytes()
    with pytest.raises(SchemaVersionError) as caught:
        Store(path)
    assert caught.value.found == 99
    assert caught.value.expected == SCHEMA_VERSION
    assert "99" in str(caught.value)
    assert str(SCHEMA_VERSION) in str(caught.value)
    assert isinstance(caught.value, RuntimeError)
    assert path.read_bytes() == before


def test_tables_without_a_version_are_refused(tmp_path: Path) -> None:
    """A database with keyaccount tables but no version row is refused, not overwritten."""
    path = tmp_path / "odd.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE ka_customer (x INTEGER)")
    with pytest.raises(SchemaVersionError, match="no schema version"):
        Store(path)


def test_schema_version_is_checked_on_every_backend(store_url: str) -> None:
    """On every backend, a version row newer than the library makes the next open fail."""
    Store(store_url).close()
    newer = SCHEMA_VERSION + 1
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE ka_schema SET version = {newer}"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match=f"schema version {newer}"):
        Store(store_url)


def test_the_schema_row_names_the_library_version_that_created_it(store_url: str) -> None:
    """ka_schema records the installed keyaccount version as the writer of the tables."""
    Store(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        written_by = conn.execute(sa.text("SELECT written_by FROM ka_schema")).scalar_one()
    engine.dispose()
    assert written_by == __version__


def test_other_tables_in_the_database_are_left_alone(tmp_path: Path) -> None:
    """A database shared with other tables gets the ka_ tables beside them."""
    path = tmp_path / "shared.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE orders (id INTEGER)")
        con.execute("INSERT INTO orders VALUES (1)")
    with Store(path) as store:
        store.save(Portfolio([Customer("A", "甲", "2022-01")]))
    with sqlite3.connect(path) as con:
        assert con.execute("SELECT id FROM orders").fetchall() == [(1,)]


def test_default_store_is_keyaccount_db_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Store() opens ./keyaccount.db, and a reopened file holds what was saved."""
    monkeypatch.chdir(tmp_path)
    with Store() as store:
        assert store.backend == "sqlite"
        store.save(Portfolio([Customer("A", "甲", "2022-01")]))
    assert (tmp_path / "keyaccount.db").exists()
    with Store(f"sqlite:///{tmp_path / 'keyaccount.db'}") as again:
        assert again.load().customer_ids == ["A"]


def test_in_memory_store_is_private_and_shared_within_it() -> None:
    """sqlite:// stores are separate from each other; one keeps its data across calls."""
    with Store("sqlite://") as one, Store("sqlite://") as two:
        one.save(Portfolio([Customer("A", "甲", "2022-01")]))
        assert one.customer("A").name == "甲"
        assert two.is_empty()


def test_unsupported_urls_are_refused() -> None:
    """A URL of a database the store does not support raises a ValidationError naming it."""
    with pytest.raises(ValidationError, match="mysql"):
        Store("mysql://user@host/db")


def test_postgresql_url_without_driver_uses_psycopg() -> None:
    """postgresql:// is resolved to the psycopg driver (no connection is made to check it)."""
    from keyaccount.store._engine import resolve_url

    assert resolve_url("postgresql://u:secret@h/db").drivername == "postgresql+psycopg"
    with pytest.raises(ValidationError, match="psycopg 3"):
        resolve_url("postgresql+psycopg2://u:secret@h/db")


def test_importing_the_library_opens_no_database(tmp_path: Path) -> None:
    """Importing keyaccount.store creates no file and makes no connection."""
    import subprocess
    import sys

    code = "import keyaccount.store, keyaccount; import os; print(sorted(os.listdir('.')))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_unknown_customer_and_group_reads_raise(store: Store) -> None:
    """Reading a customer or group the store does not hold raises a LookupError naming it."""
    with pytest.raises(UnknownCustomerError, match="'ghost'"):
        store.customer("ghost")
    with pytest.raises(UnknownProjectGroupError, match="'ghosts'"):
        store.project_group("ghosts")


def test_repr_hides_the_password() -> None:
    """The store's URL and repr never show a password."""
    from keyaccount.store._engine import display_url, resolve_url

    assert "secret" not in display_url(resolve_url("postgresql+psycopg://u:secret@h/db"))
