"""Opening a store on a URL, your engine or your connection; schema=; reads never create.

Every test runs on SQLite and on a real PostgreSQL (the ``store_url`` fixture) unless
it is about one of them.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from keyaccount.cli._app import cli
from keyaccount.demo import generate
from keyaccount.domain import TierChange
from keyaccount.exceptions import (
    StaleChangeError,
    StoreBusyError,
    StoreNotFoundError,
    ValidationError,
)
from keyaccount.rules import default_policy
from keyaccount.store import Store
from keyaccount.store._engine import WRITE_LOCK_KEY, after_commit, lock_key, open_database

if TYPE_CHECKING:
    from collections.abc import Iterator

AS_OF = "2022-11"
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE|COMMENT|GRANT|REVOKE)\b", re.I)


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The customers and revenue files of a small demo portfolio."""
    folder = tmp_path_factory.mktemp("csv")
    with Store("sqlite://") as source:
        source.save(generate(customers=40, seed=7))
        source.export_csv(folder / "customers.csv", folder / "revenue.csv", progress=False)
    return folder / "customers.csv", folder / "revenue.csv"


@pytest.fixture
def engine(store_url: str) -> Iterator[sa.Engine]:
    """The caller's own engine on a fresh database, with the store's tables created."""
    engine = sa.create_engine(store_url)
    Store.create(engine).close()
    yield engine
    engine.dispose()


def _import_evaluate_apply(store: Store, files: tuple[Path, Path]) -> int:
    """Import the files, evaluate the default policy in the database, apply; the changes."""
    store.import_csv(*files, progress=False)
    changes = store.evaluate(default_policy(), AS_OF).changes()
    store.apply(changes)
    return len(changes)


def _change(customer_id: str, before: str = "ACTIVE", after: str = "KEY") -> TierChange:
    return TierChange(customer_id, "2022-07", before=before, after=after, actor="王经理")


# ---------------------------------------------------------------- after_commit


def test_after_commit_runs_after_the_store_commits_and_never_after_a_rollback(
    store_url: str,
) -> None:
    """Callbacks of a store transaction run after its commit, in order; a rollback drops them."""
    db = open_database(store_url)
    try:
        ran: list[str] = []
        with db.transaction(write=True) as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            after_commit(conn, lambda: ran.append("first"))
            after_commit(conn, lambda: ran.append("second"))
            assert ran == []
        assert ran == ["first", "second"]
        with contextlib.suppress(KeyError), db.transaction(write=True) as conn:
            after_commit(conn, lambda: ran.append("rolled back"))
            raise KeyError
        with db.transaction(write=False) as conn:
            pass  # a later transaction on the same pooled connection runs nothing left over
        assert ran == ["first", "second"]
    finally:
        db.close()


def test_a_callback_that_raises_is_logged_and_the_others_still_run(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in a callback is logged on keyaccount.events; the data and the next run."""
    db = open_database(store_url)
    try:
        ran: list[str] = []

        def broken() -> None:
            raise RuntimeError("queue down")

        with (
            caplog.at_level(logging.ERROR, logger="keyaccount.events"),
            db.transaction(write=True) as conn,
        ):
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
            after_commit(conn, broken)
            after_commit(conn, lambda: ran.append("after"))
        assert ran == ["after"]
        [record] = [r for r in caplog.records if r.name == "keyaccount.events"]
        assert record.exc_info is not None
        assert "queue down" in str(record.exc_info[1])
        with db.transaction(write=False) as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM t").scalar_one() == 1
    finally:
        db.close()


def test_after_commit_in_a_callers_connection_waits_for_the_callers_commit(
    store_url: str,
) -> None:
    """On a caller's connection: run at its commit, dropped with a savepoint or a rollback."""
    engine = sa.create_engine(store_url)
    try:
        ran: list[str] = []
        with engine.connect() as conn:
            conn.begin()
            after_commit(conn, lambda: ran.append("outer"))
            savepoint = conn.begin_nested()
            after_commit(conn, lambda: ran.append("undone"))
            savepoint.rollback()
            with conn.begin_nested():
                after_commit(conn, lambda: ran.append("released"))
            assert ran == []
            conn.commit()
            assert ran == ["outer", "released"]
            conn.begin()
            after_commit(conn, lambda: ran.append("rolled back"))
            conn.rollback()
        assert ran == ["outer", "released"]
    finally:
        engine.dispose()


# ---------------------------------------------------------------- your engine


def test_a_store_on_your_engine_uses_its_pool_and_never_disposes_of_it(
    engine: sa.Engine, csv_files: tuple[Path, Path]
) -> None:
    """Store(engine): every operation works, connections go back, close() keeps the pool."""
    pool = engine.pool
    with Store(engine) as store:
        assert store.engine is engine
        applied = _import_evaluate_apply(store, csv_files)
        assert applied > 0
        assert store.counts()["changes"] == applied
        assert len(store.load()) == 40
    assert engine.pool is pool  # dispose() would have made a new pool
    assert isinstance(pool, sa.QueuePool)
    assert pool.checkedout() == 0  # every operation gave its connection back
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM ka_change").scalar_one() == applied


def test_a_store_on_your_sqlite_engine_leaves_its_connections_as_they_were(
    tmp_path: Path,
) -> None:
    """The store sets foreign keys and driver transactions for its own work and restores them."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pf.db'}")
    try:
        with Store(engine) as store:
            store.save(generate(customers=5, seed=1))
            with engine.connect() as conn:
                raw: Any = conn.connection.dbapi_connection
                assert raw.isolation_level == ""  # pysqlite's default, as the pool gave it
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 0
    finally:
        engine.dispose()


def test_a_store_refuses_an_engine_of_another_driver() -> None:
    """An engine of a driver the store does not talk to is a ValidationError naming it."""
    engine = sa.create_engine("postgresql+pg8000://u@localhost/db", module=sqlite3)
    with pytest.raises(ValidationError, match=r"postgresql\+pg8000.*psycopg 3"):
        Store(engine)


# ---------------------------------------------------------------- your transaction


@pytest.mark.parametrize("outcome", ["rollback", "commit"])
def test_inside_your_transaction_a_rollback_stores_nothing_and_a_commit_all(
    engine: sa.Engine, csv_files: tuple[Path, Path], outcome: str
) -> None:
    """Import, evaluate and apply in engine.begin(): the caller's commit or rollback decides."""
    with contextlib.suppress(ZeroDivisionError), engine.begin() as conn:
        store = Store(conn)
        applied = _import_evaluate_apply(store, csv_files)
        assert store.counts()["customers"] == 40  # the store sees its own uncommitted work
        store.close()
        if outcome == "rollback":
            1 / 0  # noqa: B018 - the caller's block fails: engine.begin() rolls back
    with Store.open(engine) as after:
        counts = after.counts()
    if outcome == "rollback":
        assert counts["customers"] == counts["revenue"] == counts["changes"] == 0
    else:
        assert (counts["customers"], counts["changes"]) == (40, applied)


def test_a_failed_store_call_undoes_only_its_own_work(engine: sa.Engine) -> None:
    """A store error inside your transaction undoes that call; your work and earlier calls stay."""
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE audit (note TEXT)")
        store = Store(conn)
        store.save(generate(customers=5, seed=3))
        first, second = (c.id for c in store.customers()[:2])
        tier = store.customer(second).tier.name
        stale = "STRATEGIC" if tier != "STRATEGIC" else "DORMANT"
        with pytest.raises(StaleChangeError):
            # The first change is written, then the second is refused: the savepoint goes.
            store.apply([_change(first, before=store.customer(first).tier.name, after="KEY"),
                         _change(second, before=stale)])  # fmt: skip
        conn.exec_driver_sql("INSERT INTO audit VALUES ('still usable')")
        store.record_change(
            _change(second, before=tier, after="KEY" if tier != "KEY" else "ACTIVE")
        )
    with engine.connect() as check:
        assert check.exec_driver_sql("SELECT note FROM audit").scalar_one() == "still usable"
    with Store.open(engine) as after:
        assert [c.change.customer_id for c in after.changes()] == [second]


def test_a_busy_store_inside_your_transaction_leaves_it_usable(
    store_url: str, backend: str
) -> None:
    """StoreBusyError inside your transaction: the database error is contained by the savepoint."""
    engine = sa.create_engine(store_url)
    Store.create(engine).close()
    other = engine.connect()
    try:
        other.begin()
        if backend == "sqlite":
            other.exec_driver_sql("BEGIN IMMEDIATE")  # pysqlite has not begun: take the lock
        else:
            other.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
        with engine.connect() as conn, conn.begin():
            store = Store(conn, busy_timeout=0.2)
            if backend == "postgresql":
                conn.exec_driver_sql("CREATE TABLE audit (note TEXT)")
            with pytest.raises(StoreBusyError):
                store.save(generate(customers=3, seed=2))
            assert store.counts()["customers"] == 0  # the transaction still answers
            other.rollback()
            store.save(generate(customers=3, seed=2))
            conn.commit()
        with Store.open(engine) as after:
            assert after.counts()["customers"] == 3
    finally:
        other.close()
        engine.dispose()


def _layout(engine: sa.Engine) -> list[object]:
    """The indexes, keys and foreign keys of the revenue and customer tables."""
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        return [
            (table, part(table))
            for table in ("ka_revenue", "ka_customer")
            for part in (
                inspector.get_indexes,
                inspector.get_pk_constraint,
                inspector.get_foreign_keys,
            )
        ]


def test_a_large_bulk_load_inside_your_transaction_rolls_back_whole(engine: sa.Engine) -> None:
    """save() of a large portfolio in your transaction (indexes rebuilt): a rollback undoes all."""
    portfolio = generate(customers=1300, seed=9)
    assert len(portfolio.revenue_columns) >= 50_000  # the bulk path that rebuilds indexes
    layout = _layout(engine)
    with engine.connect() as conn:
        with conn.begin():
            store = Store(conn)
            store.save(portfolio)
            assert store.counts()["revenue"] == len(portfolio.revenue_columns)
            conn.rollback()
        with Store.open(engine) as after:
            assert after.is_empty()
        assert _layout(engine) == layout
        Store(conn).save(portfolio)
        conn.commit()
    with Store.open(engine) as after:
        assert after.counts()["revenue"] == len(portfolio.revenue_columns)
    assert _layout(engine) == layout


def test_a_store_in_your_connection_never_commits_it(engine: sa.Engine) -> None:
    """Store(connection) leaves the transaction open and uncommitted after every call."""
    with engine.connect() as conn:
        store = Store(conn)
        store.save(generate(customers=4, seed=5))
        assert conn.in_transaction()  # autobegun for the store: the caller commits
        with Store.open(engine) as other:
            assert other.counts()["customers"] == 0
        conn.rollback()


def test_echo_with_your_engine_is_an_error(engine: sa.Engine) -> None:
    """echo= belongs to your own engine: a ValidationError says so."""
    with pytest.raises(ValidationError, match="echo"):
        Store(engine, echo=True)


# ---------------------------------------------------------------- Store.open / create


def test_store_open_never_creates_a_store(store_url: str, backend: str) -> None:
    """Store.open of a missing store raises and creates nothing; Store.create creates it."""
    with pytest.raises(StoreNotFoundError):
        Store.open(store_url)
    if backend == "sqlite":
        assert not Path(store_url.removeprefix("sqlite:///")).exists()
    engine = sa.create_engine(store_url)
    try:
        with pytest.raises(StoreNotFoundError):
            Store.open(engine)
        with engine.connect() as conn:
            assert not [n for n in sa.inspect(conn).get_table_names() if n.startswith("ka_")]
        with Store.create(store_url) as store:
            assert store.is_empty()
        with Store.open(engine) as store:
            assert store.counts()["customers"] == 0
    finally:
        engine.dispose()


@contextlib.contextmanager
def _connect(url: str) -> Iterator[sa.Connection]:
    """A connection of an engine of its own, disposed of afterwards."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def _catalog(url: str) -> list[tuple[Any, ...]]:
    """Every relation and schema of the database, with the row version of its catalog entry."""
    with _connect(url) as conn:
        return [
            tuple(row)
            for row in conn.exec_driver_sql(
                "SELECT n.nspname, c.relname, c.relkind, c.xmin::text FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
                "UNION ALL SELECT nspname, '', 'n', xmin::text FROM pg_namespace ORDER BY 1, 2"
            )
        ]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_cli_reads_of_a_postgresql_store_issue_no_ddl(
    store_url: str, backend: str, csv_files: tuple[Path, Path], tmp_path: Path
) -> None:
    """evaluate, metrics, export on an existing PostgreSQL store: no DDL, an unchanged catalog."""
    with Store.create(store_url) as store:
        store.import_csv(*csv_files, progress=False)
    before = _catalog(store_url)
    statements: list[str] = []

    def record(_c: object, _cur: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    commands = [
        ["evaluate", "--db", store_url, "--as-of", AS_OF],
        ["metrics", "--db", store_url, "--as-of", AS_OF],
        ["export", "--db", store_url, "--customers", str(tmp_path / "c.csv")],
    ]
    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        for args in commands:
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, result.output
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)
    assert len(statements) > len(commands)  # the listener saw the commands' queries
    assert [s for s in statements if _DDL.match(s)] == []
    assert _catalog(store_url) == before


# ---------------------------------------------------------------- schema=


def test_schema_on_sqlite_is_an_error_naming_it(tmp_path: Path) -> None:
    """schema= is PostgreSQL's: on SQLite a ValidationError names it; no file is made."""
    with pytest.raises(ValidationError, match=r"schema='east'.*PostgreSQL"):
        Store(tmp_path / "pf.db", schema="east")
    assert not (tmp_path / "pf.db").exists()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'pf.db'}")
    with pytest.raises(ValidationError, match=r"schema='east'"):
        Store(engine, schema="east")


def _tables_by_schema(url: str) -> dict[str, set[str]]:
    with _connect(url) as conn:
        rows = conn.execute(
            sa.text(
                "SELECT table_schema, table_name FROM information_schema.tables "
                "WHERE table_name LIKE 'ka!_%' ESCAPE '!'"
            )
        )
        found: dict[str, set[str]] = {}
        for schema, table in rows:
            found.setdefault(schema, set()).add(table)
        return found


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_stores_in_two_schemas_of_one_database_are_independent(
    store_url: str, backend: str
) -> None:
    """schema= keeps all tables and Alembic's in that schema; two schemas share nothing."""
    with pytest.raises(StoreNotFoundError, match="east"):
        Store.open(store_url, schema="east")
    assert _tables_by_schema(store_url) == {}  # Store.open created no schema or table
    with Store.create(store_url, schema="east") as east, Store(store_url, schema="west") as west:
        east.save(generate(customers=7, seed=1))
        west.save(generate(customers=3, seed=2))
        moved = east.customers()[0]
        east.record_change(
            TierChange(moved.id, AS_OF, before=moved.tier, after="STRATEGIC", actor="王经理")
            if moved.tier.name != "STRATEGIC"
            else TierChange(moved.id, AS_OF, before=moved.tier, after="KEY", actor="王经理")
        )
        assert (east.counts()["customers"], west.counts()["customers"]) == (7, 3)
        assert (east.counts()["changes"], west.counts()["changes"]) == (1, 0)
        assert east.schema == "east"
    tables = _tables_by_schema(store_url)
    assert set(tables) == {"east", "west"}
    assert tables["east"] == tables["west"]
    assert {"ka_schema", "ka_customer", "ka_alembic_version"} <= tables["east"]
    with Store.open(store_url, schema="east") as again:
        assert again.counts()["customers"] == 7
    with pytest.raises(StoreNotFoundError):
        Store.open(store_url)  # the default schema holds no store
    assert lock_key(WRITE_LOCK_KEY, "east") not in (
        WRITE_LOCK_KEY,
        lock_key(WRITE_LOCK_KEY, "west"),
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_schema_store_in_your_connection_restores_your_search_path(
    store_url: str, backend: str
) -> None:
    """Store(conn, schema=...) works in its schema and leaves the connection's search_path."""
    engine = sa.create_engine(store_url)
    try:
        with engine.begin() as conn:
            path = conn.exec_driver_sql("SHOW search_path").scalar_one()
            store = Store.create(conn, schema="north")
            store.save(generate(customers=2, seed=4))
            assert conn.exec_driver_sql("SHOW search_path").scalar_one() == path
            assert store.counts()["customers"] == 2
        with Store.open(engine, schema="north") as again:
            assert again.counts()["customers"] == 2
        assert set(_tables_by_schema(store_url)) == {"north"}
    finally:
        engine.dispose()
