"""``keyaccount db current``, ``db upgrade`` and ``db validate``: the store's schema.

Registered in the command table as ``"db": "keyaccount.cli._db_commands:db"``.
Opening a store never upgrades it: a store written by an older version of the
library is refused (``Error: ... keyaccount db upgrade --db URL ...``) until
``keyaccount db upgrade`` has run, typically once at deploy time. ``db current``
shows the schema version and Alembic revision a store records and this
library's, changing nothing. Both take ``--db`` as every command does (default
``keyaccount.db``), never create a store, print one line (or, with ``--format
json|csv``, one row: :data:`STATUS_KEYS`, :data:`UPGRADE_KEYS`) and exit with 0;
errors are one ``Error:`` line with exit status 1 (``docs/cli.md``). ``db validate``
has the database check every stored row against the foreign keys a bulk load left
``NOT VALID`` (PostgreSQL; ``Store.validate_foreign_keys``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import click

from keyaccount.cli._output import Section, emit, format_option
from keyaccount.cli._store_commands import db_option

if TYPE_CHECKING:
    from keyaccount.store import SchemaStatus, UpgradeReport

__all__ = [
    "STATUS_KEYS",
    "UPGRADE_KEYS",
    "VALIDATE_KEYS",
    "current",
    "db",
    "status_line",
    "upgrade",
    "upgrade_line",
    "validate",
]

STATUS_KEYS: Final = (
    "url",
    "version",
    "revision",
    "head_version",
    "head_revision",
    "current",
    "upgradable",
)
"""The columns of ``db current --format json|csv`` (``SchemaStatus``'s names)."""

UPGRADE_KEYS: Final = (
    "url",
    "before_version",
    "before_revision",
    "after_version",
    "after_revision",
    "upgraded",
)
"""The columns of ``db upgrade --format json|csv`` (``UpgradeReport``'s names)."""

VALIDATE_KEYS: Final = ("url", "validated")
"""The columns of ``db validate --format json|csv``: the store, the keys marked valid."""


def _at(version: int, revision: str | None) -> str:
    return f"schema version {version} (revision {revision or 'none'})"


def status_line(status: SchemaStatus) -> str:
    """``db current``'s line: the store's version and revision, the library's, what to do."""
    if status.current:
        verdict = "current"
    elif status.upgradable:
        verdict = f"upgrade it with `keyaccount db upgrade --db {status.url}`"
    else:
        verdict = "newer than this library"
    return (
        f"{status.url}: {_at(status.version, status.revision)}; this library: "
        f"{_at(status.head_version, status.head_revision)}: {verdict}"
    )


def upgrade_line(report: UpgradeReport) -> str:
    """``db upgrade``'s line: from which version to which, or that there was nothing to do."""
    after = _at(report.after_version, report.after_revision)
    if not report.upgraded:
        return f"{report.url}: {after}, this library's: nothing to upgrade"
    return (
        f"{report.url}: upgraded from {_at(report.before_version, report.before_revision)} "
        f"to {after}"
    )


@click.group("db")
def db() -> None:
    """The store's schema: show its version, upgrade it, validate its foreign keys.

    A store written by an older keyaccount is refused by every other command
    until `keyaccount db upgrade` has run (once, at deploy time).
    """


@db.command("current")
@db_option
@format_option
def current(db: str, output_format: str) -> None:
    """Show the store's schema version and revision, and this library's.

    Nothing is changed, and a missing store is an error (never created).
    """
    from keyaccount.store import schema_status  # imported when the command runs

    status = schema_status(db)
    if output_format == "table":
        click.echo(status_line(status))
        return
    row = {key: getattr(status, key) for key in STATUS_KEYS}
    emit(Section("schema", STATUS_KEYS, [row]), output_format)


@db.command("upgrade")
@db_option
@format_option
def upgrade(db: str, output_format: str) -> None:
    """Upgrade the store to this library's schema version.

    All of the upgrade or nothing, in one transaction; a store at the library's
    version is left as it is. Run it once when deploying a new keyaccount,
    before the services that use the store start.
    """
    from keyaccount.store import Store  # imported when the command runs

    report = Store.upgrade(db)
    if output_format == "table":
        click.echo(upgrade_line(report))
        return
    row = {key: getattr(report, key) for key in UPGRADE_KEYS}
    emit(Section("upgrade", UPGRADE_KEYS, [row]), output_format)


@db.command("validate")
@db_option
@format_option
def validate(db: str, output_format: str) -> None:
    """Have the database check every stored row against the store's foreign keys.

    On PostgreSQL a bulk load into an empty store proves its revenue rows'
    customers and products itself and adds those two keys NOT VALID; this
    checks the rows already stored and marks the keys valid (reads and writes
    go on meanwhile). On SQLite it runs PRAGMA foreign_key_check. A row that
    refers to nothing is an error naming it, and nothing is marked valid.
    """
    from keyaccount.store import Store  # imported when the command runs

    with Store.open(db) as store:
        names = store.validate_foreign_keys()
        url = store.url
    if output_format == "table":
        shown = ", ".join(names) if names else "none needed it"
        click.echo(f"{url}: foreign keys checked; marked valid: {shown}")
        return
    emit(
        Section("validate", VALIDATE_KEYS, [{"url": url, "validated": " ".join(names)}]),
        output_format,
    )
