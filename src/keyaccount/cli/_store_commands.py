"""``keyaccount import`` and ``keyaccount export``, and ``--db`` for ``keyaccount demo``.

Register the commands in the command table as
``"import": "keyaccount.cli._store_commands:import_command"`` and
``"export": "keyaccount.cli._store_commands:export_command"``. For
``keyaccount demo --db URL``, decorate the demo command with
:func:`demo_db_options` and call :func:`write_demo_db` with the generated
portfolio and the two option values.

``--db`` (:func:`~keyaccount.cli._source.store_option`) takes a SQLite file
path or a database URL (``sqlite:///x.db``,
``postgresql+psycopg://user@host/db``); the default is ``keyaccount.db`` in
the current directory. ``import`` and ``demo --db`` create the store when it
does not exist (and remove a store file they created when they fail);
``export`` and the other reading commands refuse a missing store with
``Error: no keyaccount store at ...`` and create nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from keyaccount.cli._app import lang_option
from keyaccount.cli._numbers import count
from keyaccount.cli._output import Section, emit, format_option, message
from keyaccount.cli._source import open_store, store_option, writing_store
from keyaccount.exceptions import CsvImportError

if TYPE_CHECKING:
    from keyaccount.operations import OperationsData
    from keyaccount.portfolio import Portfolio
    from keyaccount.store import ImportReport

__all__ = [
    "DEFAULT_DB",
    "EXPORT_KEYS",
    "IMPORT_KEYS",
    "PARQUET_KEYS",
    "SHOWN_ROWS",
    "db_option",
    "demo_db_options",
    "export_command",
    "import_command",
    "write_demo_db",
]

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DB = "keyaccount.db"
"""The store the commands open when ``--db`` is not given."""

SHOWN_ROWS = 20
"""How many bad rows ``keyaccount import`` prints before its one-line error."""


db_option = store_option(
    default=DEFAULT_DB,
    help="The store: a SQLite file path or a database URL (postgresql+psycopg://...).",
)
"""Add ``--db URL`` (the store ``import`` and ``export`` use) to a command."""


def _file(exists: bool) -> click.Path:
    # Outputs are not checked here: a file that cannot be written is an `Error:` line
    # (exit code 1) from the writer, which also names what went wrong.
    return click.Path(exists=exists, dir_okay=False)


def _progress_option(function: F) -> F:
    return click.option(
        "--progress/--no-progress",
        default=None,
        help="Show progress bars [default: when writing to a terminal].",
    )(function)


IMPORT_KEYS = ("customers", "revenue_rows", "rejected", "reject_files")
"""The columns of ``keyaccount import --format json|csv`` (one row)."""
EXPORT_KEYS = ("customers", "revenue_rows", "customers_file", "revenue_file")
"""The columns of ``keyaccount export --format json|csv`` (one row)."""
PARQUET_KEYS = ("customers", "revenue_rows", "project_groups", "changes", "directory")
"""The columns of ``keyaccount import|export --parquet DIR --format json|csv`` (one row)."""


def _parquet_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--parquet",
        type=click.Path(file_okay=False),
        default=None,
        help=help_text,
    )


_replace_option = click.option(
    "--replace",
    is_flag=True,
    default=False,
    help="With --parquet: replace what is there (the store's data and history on import, "
    "a Parquet portfolio directory on export).",
)


def _print_parquet(
    verb: str, portfolio: Portfolio, changes: int, directory: str, output_format: str, zh: bool
) -> None:
    sizes = (len(portfolio), len(portfolio.revenue_columns), len(portfolio.project_groups))
    if output_format.lower() != "table":
        row = dict(zip(PARQUET_KEYS, (*sizes, changes, directory), strict=True))
        emit(Section(verb, PARQUET_KEYS, [row]), output_format)
        return
    customers, rows, groups = (count(n) for n in sizes)
    n_changes = count(changes)
    if zh:
        done = "已导入" if verb == "import" else "已导出"
        click.echo(
            f"{done}客户{customers}个、收入记录{rows}条、项目组{groups}个、变更{n_changes}条"
        )
    else:
        done = "imported" if verb == "import" else "exported"
        click.echo(
            f"{done} {customers} customers, {rows} revenue rows, {groups} project groups "
            f"and {n_changes} changes"
        )


def _print_report(report: ImportReport, output_format: str, lang: str) -> None:
    if output_format.lower() != "table":
        row = {
            "customers": report.customers,
            "revenue_rows": report.revenue_rows,
            "rejected": report.rejected,
            "reject_files": "; ".join(str(p) for p in report.reject_files) or None,
        }
        emit(Section("import", IMPORT_KEYS, [row]), output_format)
        return
    zh = lang == "zh"
    customers, rows = count(report.customers), count(report.revenue_rows)
    click.echo(
        f"已导入客户{customers}个、收入记录{rows}条"
        if zh
        else f"imported {customers} customers and {rows} revenue rows"
    )
    if report.reject_files:
        rejected = count(report.rejected)
        click.echo(f"拒收{rejected}行，见：" if zh else f"rejected {rejected} rows, listed in:")
        for path in report.reject_files:
            click.echo(f"  {path}")


@click.command("import")
@db_option
@click.option("--customers", type=_file(True), default=None, help="A customers CSV file.")
@click.option("--revenue", type=_file(True), default=None, help="A monthly revenue CSV file.")
@click.option(
    "--transactions",
    type=_file(True),
    default=None,
    help="A raw transactions CSV file (summed to monthly revenue).",
)
@click.option(
    "--reject-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Import the good rows and write every bad row, with its reason, to "
    "DIR/<file name>.rejects.csv [default: any bad row fails the import].",
)
@_parquet_option(
    "A Parquet portfolio directory (keyaccount export --parquet) to save into an empty store."
)
@_replace_option
@_progress_option
@format_option
@lang_option
def import_command(
    db: str,
    customers: str | None,
    revenue: str | None,
    transactions: str | None,
    reject_dir: str | None,
    parquet: str | None,
    replace: bool,
    progress: bool | None,
    output_format: str,
    lang: str,
) -> None:
    """Import CSV files into a store, in one transaction.

    Customers come first, so the revenue files may name them. Formats
    (docs/import-export.md): customers
    customer_id,name,segment,sub_segment,tier,parent_id,province,first_period;
    revenue customer_id,period,product_id,revenue,volume; transactions
    customer_id,date,amount[,product_id]. Segment and tier take the English
    name or the Chinese label. Without --reject-dir, a bad row anywhere
    fails the import and nothing is written. The summary (customers, revenue rows,
    rejected rows and their files) is one row with --format json or csv; bad rows and
    progress go to stderr.

    With --parquet DIR the whole portfolio of a Parquet directory (customers,
    revenue, catalogue, project groups) is saved into an empty store, with the
    tier and segment history of its changes.parquet (times and order kept), in
    one transaction; a history that did not lead to the customers' tiers and
    segments is refused and nothing is saved.
    """
    if parquet is not None:
        if customers or revenue or transactions or reject_dir:
            raise click.UsageError(
                "--parquet reads a whole portfolio: give it without --customers, --revenue, "
                "--transactions and --reject-dir"
            )
        _import_parquet(db, parquet, replace, output_format, lang.lower() == "zh")
        return
    if customers is None and revenue is None and transactions is None:
        raise click.UsageError(
            "give at least one of --customers, --revenue, --transactions (or --parquet)"
        )
    with writing_store(db) as store:
        try:
            report = store.import_csv(
                customers, revenue, transactions, reject_dir=reject_dir, progress=progress
            )
        except CsvImportError as exc:
            for row in exc.exceptions[:SHOWN_ROWS]:
                click.echo(f"  {row}", err=True)
            more = exc.total - min(len(exc.exceptions), SHOWN_ROWS)
            if more > 0:
                click.echo(f"  ... and {more:,} more", err=True)
            raise click.ClickException(
                f"{exc.total:,} bad {'row' if exc.total == 1 else 'rows'} in {exc.path}; "
                "nothing was imported (use --reject-dir to import the good rows)"
            ) from None
    _print_report(report, output_format, lang.lower())


def _import_parquet(db: str, directory: str, replace: bool, output_format: str, zh: bool) -> None:
    from keyaccount.io import read_change_records_parquet, read_portfolio_parquet

    try:
        portfolio = read_portfolio_parquet(directory)
        changes = read_change_records_parquet(directory, portfolio=portfolio)
    except CsvImportError as exc:
        for row in exc.exceptions[:SHOWN_ROWS]:
            click.echo(f"  {row}", err=True)
        raise click.ClickException(
            f"{exc.total:,} bad {'row' if exc.total == 1 else 'rows'} in {exc.path}; "
            "nothing was imported"
        ) from None
    with writing_store(db) as store:
        if not replace and not store.is_empty():
            raise click.ClickException(
                f"the store {db} already holds data; add --replace to replace it "
                "(its change history too)"
            )
        store.save(
            portfolio,
            replace=replace,
            history=changes,
            history_source=str(Path(directory) / "changes.parquet"),
        )
    _print_parquet("import", portfolio, len(changes), directory, output_format, zh)


@click.command("export")
@db_option
@click.option("--customers", type=_file(False), default=None, help="Write customers here.")
@click.option("--revenue", type=_file(False), default=None, help="Write revenue here.")
@click.option(
    "--lang",
    type=click.Choice(("en", "zh"), case_sensitive=False),
    default="en",
    show_default=True,
    help="Segment, sub-segment and tier as English names or Chinese labels (中文).",
)
@_parquet_option(
    "Write the whole portfolio and its change history as a Parquet directory here "
    "(docs/import-export.md, Parquet)."
)
@_replace_option
@_progress_option
@format_option
def export_command(
    db: str,
    customers: str | None,
    revenue: str | None,
    lang: str,
    parquet: str | None,
    replace: bool,
    progress: bool | None,
    output_format: str,
) -> None:
    """Export a store's customers and revenue as CSV files that `keyaccount import` reads back.

    With --parquet DIR, the whole portfolio (customers, revenue, catalogue,
    project groups) and the recorded tier and segment changes are written as
    a Parquet directory instead; DIR must not exist (--replace: a Parquet
    portfolio directory there is replaced, nothing else is). The summary (customers and
    revenue rows written, the files) is one row with --format json or csv.
    """
    if parquet is not None:
        if customers is not None or revenue is not None:
            raise click.UsageError("give either --parquet or --customers/--revenue")
        from keyaccount.io import write_portfolio_parquet

        if not replace and (Path(parquet).exists() or Path(parquet).is_symlink()):
            raise click.ClickException(f"{parquet} exists; add --replace to replace it")
        with open_store(db) as store:
            portfolio = store.load()
            changes = store.changes()
        write_portfolio_parquet(portfolio, parquet, changes=changes, overwrite=replace)
        _print_parquet(
            "export", portfolio, len(changes), parquet, output_format, lang.lower() == "zh"
        )
        return
    if customers is None and revenue is None:
        raise click.UsageError("give --customers and/or --revenue (or --parquet)")
    with open_store(db) as store:
        report = store.export_csv(
            customers,
            revenue,
            lang="zh" if lang.lower() == "zh" else "en",
            progress=progress,
        )
    if output_format.lower() != "table":
        row = {
            "customers": report.customers,
            "revenue_rows": report.revenue_rows,
            "customers_file": customers,
            "revenue_file": revenue,
        }
        emit(Section("export", EXPORT_KEYS, [row]), output_format)
        return
    n_customers, n_rows = count(report.customers), count(report.revenue_rows)
    click.echo(
        f"已导出客户{n_customers}个、收入记录{n_rows}条"
        if lang.lower() == "zh"
        else f"exported {n_customers} customers and {n_rows} revenue rows"
    )


def demo_db_options(function: F) -> F:
    """Add ``--db URL`` and ``--replace-db`` to the demo command (see :func:`write_demo_db`)."""
    function = click.option(
        "--replace-db",
        is_flag=True,
        help="With --db: replace what the store already holds.",
    )(function)
    return store_option(
        default=None,
        help="Also write the demo portfolio into this store (a SQLite file path or a "
        "database URL), which `keyaccount.Store` can reopen.",
    )(function)


def write_demo_db(
    portfolio: Portfolio,
    db: str | None,
    replace_db: bool = False,
    operations: OperationsData | None = None,
    lang: str = "en",
) -> None:
    """Save the demo portfolio (and its operations data) into the store ``db``.

    Nothing happens when ``db`` is ``None``.

    Args:
        portfolio: The generated portfolio.
        db: The value of ``--db``.
        replace_db: The value of ``--replace-db``: replace what the store holds.
        operations: The demo's operations data, written after the portfolio.
        lang: The language of the line saying what was saved (on stderr).

    Raises:
        click.ClickException: the store already holds a portfolio and
            ``replace_db`` is false (nothing is written).
    """
    if db is None:
        return
    from keyaccount.exceptions import StoreNotEmptyError

    with writing_store(db) as store:
        try:
            store.save(portfolio, replace=replace_db)
        except StoreNotEmptyError:
            raise click.ClickException(
                f"{db} already holds a portfolio; pass --replace-db to replace it"
            ) from None
        if operations is not None:
            store.operations.save_data(operations)
        url = store.url
    n_customers, n_rows = count(len(portfolio)), count(len(portfolio.revenue_columns))
    message(
        f"已将客户{n_customers}个、收入记录{n_rows}条写入{url}"
        if lang == "zh"
        else f"saved {n_customers} customers and {n_rows} revenue records to {url}"
    )
