"""A service that uses keyaccount inside its own database transactions.

What an integrator's service (order intake, billing, the command centre) does with the
library, as one script:

1. opens its OWN SQLAlchemy engine (its pool, its settings) and prepares the store's
   tables at start-up (``Store.create``; an existing store of an older version is
   upgraded at deploy time with ``keyaccount db upgrade`` or ``Store.upgrade``);
2. in ONE transaction of its own (``engine.begin()``): imports the month's CSV files,
   evaluates the default policy in the database and applies the transitions;
3. publishes every applied transition as JSON (``keyaccount.json``) through a store
   callback that fires after the commit, onto a queue standing in for a message broker;
4. logs through the standard ``logging`` module (the library logs under ``keyaccount``);
5. shows that a transaction the service rolls back stores and publishes nothing: the
   first attempt fails after the library's work and is rolled back, the retry commits.

Run: python examples/service.py [DATABASE_URL]
(default: a SQLite file in a temporary directory; a PostgreSQL URL works the same:
``postgresql+psycopg://user:password@host/db``, with the ``postgresql`` extra).
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

from keyaccount.demo import generate
from keyaccount.io import write_portfolio_csv
from keyaccount.json import dumps
from keyaccount.rules import default_policy
from keyaccount.store import Store, TransitionsApplied

AS_OF = "2022-11"

log = logging.getLogger("service")


class Broker:
    """Stands in for a message broker: messages are put on an in-process queue."""

    def __init__(self) -> None:
        self.messages: queue.Queue[str] = queue.Queue()

    def publish(self, event: TransitionsApplied) -> None:
        """One message per applied transition, the change as keyaccount's JSON document."""
        for recorded in event.changes:
            self.messages.put(dumps(recorded.change))
        log.info("published %d transitions", len(event.changes))

    def drain(self) -> list[str]:
        """The messages published so far, oldest first."""
        out = []
        while not self.messages.empty():
            out.append(self.messages.get_nowait())
        return out


def month_files(folder: Path) -> tuple[Path, Path]:
    """The month's customer and revenue files, as an upstream system would deliver them."""
    customers, revenue = folder / "customers.csv", folder / "revenue.csv"
    write_portfolio_csv(generate(customers=400, months=24, end=AS_OF), customers, revenue)
    return customers, revenue


def run_month(
    engine: sa.Engine, broker: Broker, customers: Path, revenue: Path, *, fail: bool = False
) -> int:
    """Import, evaluate and apply in one transaction of the service; returns the changes.

    With ``fail`` the service's own work after the library's fails, and the whole
    transaction (the import and the applied transitions with it) is rolled back.
    """
    with engine.begin() as conn:  # the service's transaction: it commits, not the library
        store = Store(conn)
        store.on_transitions_applied(broker.publish)
        report = store.import_csv(customers, revenue)
        log.info("imported %d customers", report.customers)
        evaluation = store.evaluate(default_policy(), AS_OF)
        recorded = store.apply(evaluation.changes())
        log.info("applied %d transitions as of %s", len(recorded), AS_OF)
        # ... the service's own writes go here, in the same transaction ...
        if fail:
            log.warning("the service's own write failed: rolling back")
            conn.rollback()
            return 0
    return len(recorded)


def stored(engine: sa.Engine) -> tuple[int, int]:
    """Customers and recorded changes in the store (a read: nothing is created)."""
    with Store.open(engine) as store:
        return store.counts()["customers"], len(store.changes())


def main(url: str | None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        engine = sa.create_engine(url or f"sqlite:///{folder / 'service.db'}")
        Store.create(engine).close()  # start-up: the tables exist (the engine stays open)
        customers, revenue = month_files(folder)
        broker = Broker()

        run_month(engine, broker, customers, revenue, fail=True)
        kept, changes = stored(engine)
        published = len(broker.drain())
        print(
            f"after the rolled-back attempt: {kept} customers, {changes} changes stored, "
            f"{published} published"
        )

        applied = run_month(engine, broker, customers, revenue)
        messages = broker.drain()
        print(f"applied {applied} transitions; published {len(messages)} messages")
        kept, changes = stored(engine)
        print(f"after the committed run: {kept} customers, {changes} changes stored")
        first = json.loads(messages[0])
        print("first message:", json.dumps(first, ensure_ascii=False, sort_keys=True))
        engine.dispose()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
