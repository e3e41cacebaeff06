"""Foreign keys of a bulk load: proved by the writer, enforced afterwards, validated on demand."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import pytest
import sqlalchemy as sa

from keyaccount.exceptions import ValidationError
from tests.integration.test_store_bulk_revenue import (
    batches,
    customers_batch,
    revenue_columns,
    stored_rows,
)
from tests.scripts import run_keyaccount

if TYPE_CHECKING:
    from pathlib import Path

    from keyaccount.store import Store

REVENUE_KEYS = ("fk_ka_revenue_customer", "fk_ka_revenue_product")


def validated(store: Store) -> dict[str, bool]:
    """Whether PostgreSQL marks each foreign key of ``ka_revenue`` valid, by name."""
    with store.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT conname, convalidated FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = 'ka_revenue'::regclass"
        ).all()
    return {str(name): bool(valid) for name, valid in rows}


def insert_revenue(store: Store, customer_key: int, product_key: int) -> None:
    """Write one revenue row by plain SQL, past the store's checks."""
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ka_revenue (customer_key, product_key, period, revenue_fen, volume) "
            f"VALUES ({customer_key}, {product_key}, 24000, 100, 1)"
        )


def large_import(store: Store) -> int:
    """Customers, then 60,000 revenue rows in one import (the bulk path that drops the keys)."""
    store.import_rows(customers_batch(), progress=False)
    columns = revenue_columns("grouped")
    report = store.import_rows(revenue=batches(columns, 20_000), progress=False)
    return report.revenue_rows


ON_POSTGRESQL = pytest.mark.parametrize("backend", ["postgresql"])
"""Foreign keys added ``NOT VALID`` are PostgreSQL's."""


@ON_POSTGRESQL
def test_a_proved_load_adds_its_keys_not_valid_and_the_database_checks_later_rows(
    store: Store,
) -> None:
    """After a bulk load both revenue keys are NOT VALID, yet a row with a bad key is refused."""
    assert large_import(store) == 60_000
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, False)
    with pytest.raises(sa.exc.IntegrityError, match="fk_ka_revenue_customer"):
        insert_revenue(store, 10**6, 0)
    with pytest.raises(sa.exc.IntegrityError, match="fk_ka_revenue_product"):
        insert_revenue(store, 0, 999)
    assert len(stored_rows(store)) == 60_000


@ON_POSTGRESQL
def test_validate_foreign_keys_marks_them_valid_once(store: Store) -> None:
    """validate_foreign_keys() validates both keys; a second call has nothing to do."""
    large_import(store)
    assert sorted(store.validate_foreign_keys()) == sorted(REVENUE_KEYS)
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, True)
    assert store.validate_foreign_keys() == ()


@ON_POSTGRESQL
def test_the_db_validate_command_marks_them_valid(store: Store, tmp_path: Path) -> None:
    """`keyaccount db validate` (a real run) validates both keys and prints their names."""
    large_import(store)
    url = store.engine.url.render_as_string(hide_password=False)
    done = run_keyaccount("db", "validate", "--db", url, "--format", "json", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    (row,) = json.loads(done.stdout)
    assert sorted(row["validated"].split()) == sorted(REVENUE_KEYS)
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, True)


@ON_POSTGRESQL
def test_a_load_whose_customers_have_a_gap_in_their_keys_is_validated_by_the_database(
    store: Store,
) -> None:
    """Customer keys with a hole (a customer deleted by plain SQL) prove nothing: joined instead."""
    store.import_rows(customers_batch(), progress=False)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM ka_customer WHERE customer_id = 'C1500'")
    customer, product, period, fen, volume = revenue_columns("grouped")
    keep = customer != 1500
    columns = tuple(a[keep] for a in (customer, product, period, fen, volume))
    assert store.import_rows(revenue=batches(columns, 20_000), progress=False).revenue_rows
    assert validated(store) == {"fk_ka_revenue_customer": True, "fk_ka_revenue_product": False}


@ON_POSTGRESQL
def test_validation_names_a_row_written_without_its_customer(store: Store) -> None:
    """A row slipped in under a NOT VALID key (key dropped by hand) fails validation, named."""
    large_import(store)
    with store.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE ka_revenue DROP CONSTRAINT fk_ka_revenue_customer")
    insert_revenue(store, 77_777, 0)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(
            "ALTER TABLE ka_revenue ADD CONSTRAINT fk_ka_revenue_customer FOREIGN KEY "
            "(customer_key) REFERENCES ka_customer (customer_key) NOT VALID"
        )
    with pytest.raises(ValidationError, match=r"fk_ka_revenue_customer.*77777"):
        store.validate_foreign_keys()
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, False)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_validation_on_sqlite_names_a_row_without_its_customer(store: Store) -> None:
    """On SQLite validate_foreign_keys() runs foreign_key_check: clean, then a bad row named."""
    large_import(store)
    assert store.validate_foreign_keys() == ()
    with store.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys = OFF")
        raw.execute(
            "INSERT INTO ka_revenue (customer_key, product_key, period, revenue_fen, volume) "
            "VALUES (77777, 0, 24000, 100, 1)"
        )
        raw.execute("PRAGMA foreign_keys = ON")
    with pytest.raises(ValidationError, match=r"ka_revenue refers to a row ka_customer"):
        store.validate_foreign_keys()


@ON_POSTGRESQL
def test_a_failed_load_leaves_the_keys_valid_and_in_place(store: Store) -> None:
    """A bulk load that fails after dropping the keys rolls the drop back: both stay validated."""
    store.import_rows(customers_batch(), progress=False)
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, True)
    good = list(batches(revenue_columns("grouped"), 20_000))

    def failing() -> object:
        yield from good
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError, match="source broke"):
        store.import_rows(revenue=failing(), progress=False)  # type: ignore[arg-type]
    assert len(stored_rows(store)) == 0
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, True)


@ON_POSTGRESQL
def test_the_referenced_tables_are_locked_against_writes_until_the_load_commits(
    store: Store,
) -> None:
    """Inside the load's transaction ka_customer and ka_product hold a lock that blocks DELETE."""
    from keyaccount.store import Store

    store.import_rows(customers_batch(), progress=False)
    blocking = {"ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
    with store.engine.connect() as conn, conn.begin():
        Store(conn).import_rows(revenue=batches(revenue_columns("grouped"), 20_000), progress=False)
        modes = {
            str(table): {str(m) for m in mode}
            for table, mode in conn.exec_driver_sql(
                "SELECT c.relname, array_agg(l.mode) FROM pg_locks l "
                "JOIN pg_class c ON c.oid = l.relation WHERE l.pid = pg_backend_pid() "
                "AND c.relname IN ('ka_customer', 'ka_product') GROUP BY c.relname"
            )
        }
        conn.rollback()
    assert modes["ka_customer"] & blocking
    assert modes["ka_product"] & blocking
    assert np.array_equal(stored_rows(store), np.empty((0, 5), np.int64))


@ON_POSTGRESQL
def test_the_reflected_schema_after_a_proved_load_matches_the_tables(store: Store) -> None:
    """Alembic's comparison of the database with the table classes finds nothing after a load."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from keyaccount.store._tables import metadata

    large_import(store)
    assert validated(store) == dict.fromkeys(REVENUE_KEYS, False)
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "ka_alembic_version"})
        assert compare_metadata(context, metadata) == []
