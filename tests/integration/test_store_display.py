"""Notebook display of the store's classes: short reprs and HTML heads, on a real SQLite store.

The other public classes are checked in ``tests/unit/test_display.py``, whose walk over
the public API counts the classes built here (:data:`STORE_BUILDERS`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest

from keyaccount import demo, rules
from keyaccount.store import Store, schema_status
from tests.unit.test_display import check_html, check_repr

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

AS_OF = "2022-11"


class StoreWorld:
    """A SQLite store holding the demo portfolio (3,000 customers) and its operations data."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.url = f"sqlite:///{tmp / 'demo.db'}"
        pf = demo.generate(customers=3000)
        data = demo.demo_operations(pf)
        self.store = Store(self.url)
        self.events: dict[str, Any] = {}
        self.subscription = self.store.on_portfolio_saved(self._keep("PortfolioSaved"))
        self.store.on_transitions_applied(self._keep("TransitionsApplied"))
        self.store.on_import_committed(self._keep("ImportCommitted"))
        self.store.operations.on_sweep_recorded(self._keep("SweepRecorded"))
        self.store.operations.on_payouts_recorded(self._keep("PayoutsRecorded"))
        self.store.save(pf)
        self.store.operations.save_data(data)
        evaluation = rules.default_policy().evaluate(pf, AS_OF)
        self.changes = self.store.apply(evaluation.changes())
        self.sweep = self.store.operations.sweep(data.as_of + dt.timedelta(days=14), who="sweep")
        run = data.payouts(pf, "2021")
        self.store.operations.record_payouts(run, scheme=data.payout_scheme)
        self.customer_id = pf.customer_ids[0]
        self.export = self.store.export_csv(tmp / "customers.csv", tmp / "revenue.csv")
        self.imported = Store(f"sqlite:///{tmp / 'imported.db'}")
        self.imported.on_import_committed(self._keep("ImportCommitted"))
        self.import_report = self.imported.import_csv(tmp / "customers.csv", tmp / "revenue.csv")

    def _keep(self, name: str) -> Callable[[Any], None]:
        def keep(event: Any) -> None:
            self.events[name] = event

        return keep


STORE_BUILDERS: dict[str, Callable[[StoreWorld], Any]] = {
    "keyaccount.Store": lambda w: w.store,
    "keyaccount.store.CustomerState": lambda w: w.store.state_as_of(w.customer_id, AS_OF),
    "keyaccount.store.ExportReport": lambda w: w.export,
    "keyaccount.store.ImportCommitted": lambda w: w.events["ImportCommitted"],
    "keyaccount.store.ImportReport": lambda w: w.import_report,
    "keyaccount.store.OperationsStore": lambda w: w.store.operations,
    "keyaccount.store.PayoutsRecorded": lambda w: w.events["PayoutsRecorded"],
    "keyaccount.store.PortfolioSaved": lambda w: w.events["PortfolioSaved"],
    "keyaccount.store.RecordedChange": lambda w: w.changes[0],
    "keyaccount.store.RevenueTable": lambda w: w.store.revenue(),
    "keyaccount.store.SchemaStatus": lambda w: schema_status(w.url),
    "keyaccount.store.Subscription": lambda w: w.subscription,
    "keyaccount.store.SweepRecorded": lambda w: w.events["SweepRecorded"],
    "keyaccount.store.SweepReport": lambda w: w.sweep,
    "keyaccount.store.TransitionsApplied": lambda w: w.events["TransitionsApplied"],
    "keyaccount.store.UpgradeReport": lambda w: Store.upgrade(w.url),
}
"""How to build an instance of each public class of ``keyaccount.store``."""


@pytest.fixture(scope="module")
def store_world(tmp_path_factory: pytest.TempPathFactory) -> StoreWorld:
    """The demo store, built once for this module."""
    return StoreWorld(tmp_path_factory.mktemp("store-display"))


@pytest.mark.parametrize("name", sorted(STORE_BUILDERS))
def test_store_class_displays_briefly(store_world: StoreWorld, name: str) -> None:
    """Each store class has a short repr, and a short HTML head where it is a table."""
    value = STORE_BUILDERS[name](store_world)
    check_repr(value)
    if hasattr(value, "_repr_html_"):
        check_html(value)


def test_revenue_table_shows_its_head_and_size(store_world: StoreWorld) -> None:
    """The revenue read from the store is one line and a ten-row head with the record count."""
    table = store_world.store.revenue()
    assert f"{len(table):,} records" in repr(table)
    assert f"showing 10 of {len(table):,} records" in table._repr_html_()
    applied = store_world.events["TransitionsApplied"]
    assert repr(applied).endswith(f"{len(applied.changes):,} changes>")
