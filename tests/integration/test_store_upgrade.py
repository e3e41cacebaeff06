"""Upgrading a store written by keyaccount 0.1.0 (schema version 1) to the library's version.

The fixtures in ``tests/fixtures`` were written by the 0.1.0 code itself
(``make_v1_fixture.py``, run with that code on the path): a SQL dump of the same
portfolio and history per backend, and what 0.1.0 read back from them
(``store-0.1.0.expected.json``). Each test loads the dump of its backend into an
empty database, then opens, inspects or upgrades it with the library under test.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from keyaccount import Customer, Portfolio, RevenueRecord
from keyaccount.domain import TierChange
from keyaccount.exceptions import (
    SchemaVersionError,
    StoreNotFoundError,
    StoreUnavailableError,
)
from keyaccount.io import write_portfolio_csv
from keyaccount.operations import Ownership, Target
from keyaccount.store import (
    SCHEMA_VERSION,
    SchemaStatus,
    Store,
    UpgradeReport,
    schema_status,
)
from keyaccount.store.migrations import REVISIONS, VERSION_TABLE
from tests.fixtures.make_v1_fixture import (
    CHANGE_BATCHES,
    EXPECTED,
    POSTGRESQL_DUMP,
    SQLITE_DUMP,
    build_portfolio,
    snapshot,
)
from tests.integration.conftest import _postgres_database
from tests.integration.test_store_operations import V1_TABLES, schema_of
from tests.scripts import run_keyaccount

if TYPE_CHECKING:
    from collections.abc import Callable
    from contextlib import AbstractContextManager

HEAD = REVISIONS[SCHEMA_VERSION]
V1_REPORT = (1, None, SCHEMA_VERSION, HEAD)


def load_fixture(url: str) -> None:
    """Load the 0.1.0 dump of ``url``'s backend into the empty database at ``url``."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        con = sqlite3.connect(parsed.database or "")
        try:
            con.executescript(SQLITE_DUMP.read_text(encoding="utf-8"))
        finally:
            con.close()
        return
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(POSTGRESQL_DUMP.read_text(encoding="utf-8"))  # many statements: no params
        cursor.close()
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def tables(url: str) -> dict[str, object]:
    """The table names, the recorded version and the row counts of the database at ``url``."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        names = sorted(sa.inspect(conn).get_table_names())
        out: dict[str, object] = {
            name: conn.exec_driver_sql(f"SELECT COUNT(*) FROM {name}").scalar_one()
            for name in names
        }
        if "ka_schema" in names:
            out["version"] = conn.exec_driver_sql("SELECT version FROM ka_schema").all()
    engine.dispose()
    return out


def expected() -> dict[str, Any]:
    """What the 0.1.0 code read back from the store it wrote."""
    return dict(json.loads(EXPECTED.read_text(encoding="utf-8")))


def as_json(value: object) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


@pytest.fixture
def v1_url(store_url: str) -> str:
    """The URL of a database holding the store keyaccount 0.1.0 wrote (each backend)."""
    load_fixture(store_url)
    return store_url


# ---------------------------------------------------------------- opening an older store


@pytest.mark.parametrize("create", [False, True])
def test_opening_a_0_1_0_store_is_refused_and_changes_nothing(v1_url: str, create: bool) -> None:
    """Opening a version 1 store, to read or to write, raises how to upgrade and alters nothing."""
    before = tables(v1_url)
    with pytest.raises(SchemaVersionError) as caught:
        Store(v1_url, create=create)
    error = caught.value
    assert (error.found, error.expected, error.upgradable) == (1, SCHEMA_VERSION, True)
    assert "keyaccount db upgrade --db " in str(error)
    assert "Store.upgrade(" in str(error)
    assert tables(v1_url) == before
    assert VERSION_TABLE not in before


def test_the_fixtures_were_written_by_schema_version_1(v1_url: str) -> None:
    """The dump holds the version 1 tables only, recorded as version 1 by keyaccount 0.1.0."""
    engine = sa.create_engine(v1_url)
    with engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT version, written_by FROM ka_schema").one()
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert tuple(row) == (1, "0.1.0")
    assert "ka_ownership_move" not in names
    assert {"ka_customer", "ka_revenue", "ka_change", "ka_project_member"} <= names


def test_the_status_of_a_0_1_0_store_is_read_without_a_change(v1_url: str) -> None:
    """schema_status reports version 1, no revision, the library's head; nothing is written."""
    before = tables(v1_url)
    status = schema_status(v1_url)
    assert status == SchemaStatus(status.url, 1, None, SCHEMA_VERSION, HEAD)
    assert (status.current, status.upgradable) == (False, True)
    assert tables(v1_url) == before


# ---------------------------------------------------------------- upgrading it


def test_every_value_of_the_0_1_0_store_survives_the_upgrade(v1_url: str) -> None:
    """Customers, revenue, catalogue, groups, history and states read back as 0.1.0 read them."""
    report = Store.upgrade(v1_url)
    assert (
        report.before_version,
        report.before_revision,
        report.after_version,
        report.after_revision,
    ) == V1_REPORT
    assert report.upgraded
    with Store(v1_url, create=False) as store:
        after = as_json(snapshot(store))
        loaded = store.load()
        recorded = store.changes()
    want = expected()
    for part in ("customers", "revenue", "catalogue", "project_groups", "changes", "states"):
        assert after[part] == want[part], part
    assert after["counts"] == want["counts"]
    # And against the builder the fixture script ran with 0.1.0.
    built = build_portfolio()
    assert loaded.project_groups == built.project_groups
    assert Counter(loaded.revenue_records()) == Counter(built.revenue_records())
    assert loaded.products == built.products
    applied = [(at, change) for at, batch in CHANGE_BATCHES for change in batch]
    assert [(r.recorded_at, r.change) for r in recorded] == applied


def test_the_upgraded_store_takes_new_data_and_operations(v1_url: str, tmp_path: Path) -> None:
    """After the upgrade, changes, imports and the operations tables work on the old data."""
    Store.upgrade(v1_url)
    customers, revenue = tmp_path / "customers.csv", tmp_path / "revenue.csv"
    newcomer = Portfolio(
        [Customer("NEW-01", "新客户", "2023-06", segment="INTERNET")],
        [RevenueRecord("NEW-01", "standard_express", "2023-07", "100.00")],
    )
    write_portfolio_csv(newcomer, customers, revenue)
    with Store(v1_url, create=False) as store:
        counts = store.counts()
        recorded = store.record_change(
            TierChange("JS-GL", "2024-01", before="ACTIVE", after="KEY", actor="王经理")
        )
        store.import_csv(customers, revenue)
        ops = store.operations
        ops.record_moves(Ownership.from_portfolio(store.load(), "2023-01", actor="hq"))
        ops.put_targets([Target("banks", "2023Q1", "1000000.00")])
        item = ops.open(
            "x",
            subject_id="JS-HC",
            department="IT",
            responsible_person="A",
            who="A",
            on="2024-01-01",
        )
        assert recorded.sequence == counts["changes"] + 1
        assert store.counts()["customers"] == counts["customers"] + 1
        assert store.counts()["revenue"] == counts["revenue"] + 1
        assert store.customer("JS-GL").tier.name == "KEY"
        assert ops.ownership().owner("BANK-GD", "2023-02") == "banks"
        assert len(ops.targets()) == 1
        assert ops.items() == (item,)


def test_the_upgraded_schema_equals_a_new_stores(
    v1_url: str, new_url: Callable[[], AbstractContextManager[str]]
) -> None:
    """Tables, columns, keys, indexes, checks, version and revision: as a store created now."""
    Store.upgrade(v1_url)
    with new_url() as fresh_url:
        Store(fresh_url).close()
        fresh = schema_of(fresh_url)
    assert schema_of(v1_url) == fresh
    assert fresh["revision"] == [(HEAD,)]


def test_a_second_upgrade_changes_nothing(v1_url: str) -> None:
    """Upgrading a store at the library's version reports no change and writes nothing."""
    Store.upgrade(v1_url)
    before = (tables(v1_url), schema_of(v1_url))
    report = Store.upgrade(v1_url)
    assert report == UpgradeReport(report.url, SCHEMA_VERSION, HEAD, SCHEMA_VERSION, HEAD)
    assert not report.upgraded
    assert (tables(v1_url), schema_of(v1_url)) == before
    assert schema_status(v1_url).current


def test_two_upgraders_at_once_upgrade_once(v1_url: str) -> None:
    """Two threads upgrading the same store: both succeed, one of them did the upgrade."""
    reports: list[UpgradeReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        try:
            reports.append(Store.upgrade(v1_url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.upgraded for r in reports) == [False, True]
    with Store(v1_url, create=False) as store:
        assert as_json(snapshot(store))["changes"] == expected()["changes"]


def test_an_upgrade_in_the_callers_transaction_is_the_callers_to_commit(
    v1_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Store.upgrade(connection) works in the caller's transaction; logged once it commits."""
    caplog.set_level(logging.INFO, logger="keyaccount.store")
    engine = sa.create_engine(v1_url)
    try:
        before = tables(v1_url)
        with engine.connect() as conn:
            outer = conn.begin()
            assert Store.upgrade(conn).upgraded
            outer.rollback()
        assert tables(v1_url) == before
        assert "store upgraded" not in caplog.text
        with engine.begin() as conn:
            assert Store.upgrade(conn).upgraded
        assert schema_status(v1_url).current
        assert caplog.text.count("store upgraded from schema version 1") == 1
    finally:
        engine.dispose()


def test_a_failed_upgrade_of_the_0_1_0_store_leaves_it_as_it_was(v1_url: str) -> None:
    """An upgrade that fails part-way (a table of version 2 in the way) changes nothing."""
    engine = sa.create_engine(v1_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ka_target (x INTEGER)")
    engine.dispose()
    before = tables(v1_url)
    with pytest.raises(sa.exc.SQLAlchemyError):
        Store.upgrade(v1_url)
    assert tables(v1_url) == before


def test_a_revision_that_does_not_match_the_version_is_refused(v1_url: str) -> None:
    """A store whose Alembic revision contradicts its version is refused, unchanged."""
    engine = sa.create_engine(v1_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql(f"INSERT INTO {VERSION_TABLE} VALUES ('0002')")
    engine.dispose()
    before = tables(v1_url)
    with pytest.raises(StoreUnavailableError, match="records revision '0002'"):
        Store.upgrade(v1_url)
    assert tables(v1_url) == before


APP_REVISION = '''"""An application's own revision: tables of its own (and the store's)."""
import sqlalchemy as sa
from alembic import op

from keyaccount.store import Store

revision = "a1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("app_orders", sa.Column("id", sa.Integer, primary_key=True))
    if UPGRADE_HERE:
        assert Store.upgrade(op.get_bind()).upgraded
    op.create_table("app_invoices", sa.Column("id", sa.Integer, primary_key=True))
'''


@pytest.mark.parametrize("in_revision", [False, True], ids=["in-env", "in-revision"])
def test_the_documented_alembic_env_runs_the_apps_revisions_and_keyaccounts(
    v1_url: str, tmp_path: Path, in_revision: bool
) -> None:
    """The env.py of docs/store.md (or an app's revision) upgrades the store in an Alembic run."""
    from alembic import command
    from alembic.config import Config

    doc = (Path(__file__).resolve().parents[2] / "docs" / "store.md").read_text(encoding="utf-8")
    found = re.search(r"```py\n(# env.py of your application.*?)```", doc, re.S)
    assert found is not None
    scripts = tmp_path / "app_migrations"
    (scripts / "versions").mkdir(parents=True)
    (scripts / "env.py").write_text(found.group(1), encoding="utf-8")
    revision = f"UPGRADE_HERE = {in_revision}\n{APP_REVISION}"
    (scripts / "versions" / "a1_orders.py").write_text(revision, encoding="utf-8")
    config = Config()
    config.set_main_option("script_location", str(scripts))
    config.set_main_option("sqlalchemy.url", v1_url)
    command.upgrade(config, "head")
    engine = sa.create_engine(v1_url)
    with engine.connect() as conn:
        app_revision = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        names = set(sa.inspect(conn).get_table_names())
    engine.dispose()
    assert app_revision == [("a1",)]
    assert {"app_orders", "app_invoices"} <= names
    assert schema_status(v1_url).current
    with Store(v1_url, create=False) as store:
        assert as_json(snapshot(store))["changes"] == expected()["changes"]


def test_a_store_in_a_postgresql_schema_is_upgraded_there(postgres_server: Any) -> None:
    """With schema=, status and upgrade read and change that schema only; public stays empty."""
    with _postgres_database(postgres_server) as url:
        with Store(url, schema="tenant") as store:
            store.save(build_portfolio())
        engine = sa.create_engine(url, connect_args={"options": "-csearch_path=tenant"})
        with engine.begin() as conn:
            for name in sorted(set(sa.inspect(conn).get_table_names(schema="tenant"))):
                if name not in V1_TABLES:
                    conn.exec_driver_sql(f"DROP TABLE tenant.{name} CASCADE")
            conn.exec_driver_sql("UPDATE tenant.ka_schema SET version = 1")
        engine.dispose()
        with pytest.raises(SchemaVersionError) as caught:
            Store(url, schema="tenant", create=False)
        assert caught.value.upgradable
        assert schema_status(url, schema="tenant").version == 1
        with pytest.raises(StoreNotFoundError, match="no keyaccount store in "):
            schema_status(url)
        report = Store.upgrade(url, schema="tenant")
        assert (report.before_version, report.after_version) == (1, SCHEMA_VERSION)
        assert schema_status(url, schema="tenant").current
        assert tables(url) == {}
        with Store(url, schema="tenant", create=False) as store:
            assert list(store.customers()) == list(build_portfolio().customers())
        with pytest.raises(StoreNotFoundError, match="in schema 'other'"):
            Store.upgrade(url, schema="other")


# ---------------------------------------------------------------- other stores


def test_upgrading_where_there_is_no_store_creates_nothing(store_url: str) -> None:
    """An empty database, or a missing SQLite file: StoreNotFoundError, nothing created."""
    with pytest.raises(StoreNotFoundError, match="no keyaccount store"):
        Store.upgrade(store_url)
    with pytest.raises(StoreNotFoundError):
        schema_status(store_url)
    path = sa.make_url(store_url).database or ""
    if store_url.startswith("sqlite"):
        assert not os.path.exists(path)
    else:
        assert tables(store_url) == {}


def test_a_store_newer_than_the_library_is_reported_and_not_upgraded(store_url: str) -> None:
    """A newer store: schema_status reports it, Store.upgrade refuses it, and it stays as it was."""
    Store(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE ka_schema SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    before = tables(store_url)
    status = schema_status(store_url)
    assert (status.version, status.current, status.upgradable) == (SCHEMA_VERSION + 1, False, False)
    with pytest.raises(SchemaVersionError, match="written by a newer library") as caught:
        Store.upgrade(store_url)
    assert not caught.value.upgradable
    assert tables(store_url) == before


def test_a_new_store_is_current() -> None:
    """A store created by this library reports the head version and revision."""
    engine = sa.create_engine("sqlite://", poolclass=sa.pool.StaticPool)
    with engine.begin() as conn:
        Store(conn).close()
    status = schema_status(engine)
    engine.dispose()
    assert (status.version, status.revision, status.current) == (SCHEMA_VERSION, HEAD, True)


def test_each_schema_version_has_its_revision_and_the_last_is_alembics_head() -> None:
    """REVISIONS covers versions 1..SCHEMA_VERSION, and its last is the head of the scripts."""
    from alembic.script import ScriptDirectory

    from keyaccount.store.migrations import alembic_config

    assert sorted(REVISIONS) == list(range(1, SCHEMA_VERSION + 1))
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        script = ScriptDirectory.from_config(alembic_config(conn))
    engine.dispose()
    assert script.get_heads() == [HEAD]
    chain = [rev.revision for rev in script.walk_revisions()]
    assert chain == [REVISIONS[v] for v in sorted(REVISIONS, reverse=True)]


# ---------------------------------------------------------------- the command line


@pytest.fixture
def v1_file(tmp_path: Path) -> Path:
    """A copy of the 0.1.0 SQLite store, as a file."""
    path = tmp_path / "old.db"
    load_fixture(f"sqlite:///{path}")
    return path


def test_db_current_and_upgrade_on_the_command_line(v1_file: Path, tmp_path: Path) -> None:
    """`db current`, `db upgrade`, `db current` again: one line each, exit status 0."""
    url = f"sqlite:///{v1_file}"
    refused = run_keyaccount("export", "--db", str(v1_file), "--customers", "c.csv", cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1
    assert f"keyaccount db upgrade --db {url}" in refused.stderr

    before = run_keyaccount("db", "current", "--db", str(v1_file), cwd=tmp_path)
    assert (before.returncode, before.stderr) == (0, "")
    assert before.stdout == (
        f"{url}: schema version 1 (revision none); this library: schema version "
        f"{SCHEMA_VERSION} (revision {HEAD}): upgrade it with `keyaccount db upgrade --db {url}`\n"
    )
    upgraded = run_keyaccount("db", "upgrade", "--db", str(v1_file), cwd=tmp_path)
    assert (upgraded.returncode, upgraded.stderr) == (0, "")
    assert upgraded.stdout == (
        f"{url}: upgraded from schema version 1 (revision none) to schema version "
        f"{SCHEMA_VERSION} (revision {HEAD})\n"
    )
    after = run_keyaccount("db", "current", "--db", str(v1_file), cwd=tmp_path)
    assert after.stdout.endswith(": current\n")
    again = run_keyaccount("db", "upgrade", "--db", str(v1_file), cwd=tmp_path)
    assert again.stdout.endswith("nothing to upgrade\n")
    with Store(v1_file, create=False) as store:
        assert as_json(snapshot(store))["customers"] == expected()["customers"]


def test_db_commands_print_json_for_programs(v1_file: Path, tmp_path: Path) -> None:
    """`--format json` prints one object per command with the attribute names."""
    before = run_keyaccount("db", "current", "--db", str(v1_file), "--format", "json", cwd=tmp_path)
    upgraded = run_keyaccount(
        "db", "upgrade", "--db", str(v1_file), "--format", "json", cwd=tmp_path
    )
    assert before.returncode == upgraded.returncode == 0
    [status] = json.loads(before.stdout)
    assert status == {
        "url": f"sqlite:///{v1_file}",
        "version": 1,
        "revision": None,
        "head_version": SCHEMA_VERSION,
        "head_revision": HEAD,
        "current": False,
        "upgradable": True,
    }
    [report] = json.loads(upgraded.stdout)
    assert (report["before_version"], report["after_revision"], report["upgraded"]) == (
        1,
        HEAD,
        True,
    )


def test_db_commands_default_to_keyaccount_db_and_never_create_it(tmp_path: Path) -> None:
    """Without --db the commands use ./keyaccount.db; a missing store is one line, not created."""
    for command in ("current", "upgrade"):
        result = run_keyaccount("db", command, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.startswith("Error: no keyaccount store at ")
        assert result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    shutil.copy(SQLITE_DUMP, tmp_path / "dump.sql")  # a file that is not a store
    result = run_keyaccount("db", "current", "--db", str(tmp_path / "dump.sql"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")


def test_the_docstring_examples_run() -> None:
    """The examples in ``keyaccount.store._upgrade`` run and print what they say."""
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module("keyaccount.store._upgrade"))
    assert result.attempted > 0
    assert result.failed == 0
