"""examples/service.py, the integrator's example, runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import json
import re
from pathlib import Path

import sqlalchemy as sa

from tests.scripts import run_python

SERVICE = Path(__file__).resolve().parents[2] / "examples" / "service.py"


def test_the_service_example_runs_in_its_own_transactions(store_url: str, tmp_path: Path) -> None:
    """Rolled back: nothing stored or published; committed: every change stored and published."""
    proc = run_python(str(SERVICE), store_url, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "after the rolled-back attempt: 0 customers, 0 changes stored, 0 published" in out
    applied = re.search(r"applied (\d+) transitions; published (\d+) messages", out)
    assert applied is not None, out
    assert int(applied[1]) == int(applied[2]) > 0
    assert f"after the committed run: 400 customers, {applied[1]} changes stored" in out
    first = json.loads(out.split("first message: ", 1)[1].splitlines()[0])
    assert first["kind"] in ("tier", "segment")
    assert re.fullmatch(r"\d{4}-\d{2}", first["period"])
    # The library logs through the standard logging module, to the service's stderr.
    assert "keyaccount.store: apply:" in proc.stderr
    assert "service: published" in proc.stderr
    # The history the example committed is in the database the test gave it.
    engine = sa.create_engine(store_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT count(*) FROM ka_change").scalar_one()
    engine.dispose()
    assert rows == int(applied[1])
