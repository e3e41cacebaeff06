"""The ``keyaccount`` command group, its shared parameter types and its error handling.

Subcommands live in their own modules and are listed in :data:`SUBCOMMANDS`
as ``"name": "module:attribute"``; a module is imported only when its
command runs. ``keyaccount --help`` lists each subcommand with its summary from
:data:`SUBCOMMAND_SUMMARIES`, importing none of them. A new subcommand (or a
group such as ``rules`` with ``rules check``) is a new module plus one line in
each table.

Errors (``docs/cli.md``, "Errors and exit codes"): bad option values are
click usage errors (exit code 2). Any
:class:`~keyaccount.exceptions.KeyAccountError`, and any other ``OSError``
(no permission, a full disk, ...), that escapes a command is shown as one
line, ``Error: ...``, with exit code 1 and no traceback; other exceptions are
bugs and keep theirs. An interrupt (Ctrl-C) exits with 130 and one line;
SIGTERM ends the command as its default action does, after removing its
temporary files. A closed output pipe (``keyaccount demo | head``) ends the
command quietly. Every file a command writes is renamed into place only when
the whole command succeeded (:mod:`keyaccount.utils`).
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

import click

from keyaccount.exceptions import KeyAccountError, shorten
from keyaccount.utils import atomic_outputs, logging_to_stderr

if TYPE_CHECKING:
    from keyaccount.domain import Period

__all__ = [
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_USAGE",
    "LANGUAGES",
    "PERIOD",
    "SUBCOMMANDS",
    "SUBCOMMAND_SUMMARIES",
    "KeyAccountGroup",
    "PeriodType",
    "cli",
    "count_option",
    "error_message",
    "lang_option",
    "main",
    "os_error_message",
]

SUBCOMMANDS: Mapping[str, str] = {
    "backtest": "keyaccount.cli._rules_commands:backtest_command",
    "db": "keyaccount.cli._db_commands:db",
    "demo": "keyaccount.cli._demo:demo",
    "escalations": "keyaccount.cli._operations_commands:escalations",
    "evaluate": "keyaccount.cli._rules_commands:evaluate",
    "export": "keyaccount.cli._store_commands:export_command",
    "import": "keyaccount.cli._store_commands:import_command",
    "kpi": "keyaccount.cli._operations_commands:kpi",
    "lifecycle": "keyaccount.cli._operations_commands:lifecycle",
    "metrics": "keyaccount.cli._metrics_command:metrics",
    "payout": "keyaccount.cli._operations_commands:payout",
    "recommend": "keyaccount.cli._crosssell_commands:recommend",
    "report": "keyaccount.cli._report_command:report_command",
    "rules": "keyaccount.cli._rules_commands:rules",
    "schema": "keyaccount.cli._schema_command:schema_command",
    "spark": "keyaccount.cli._spark_command:spark",
    "targets": "keyaccount.cli._operations_commands:targets",
    "whitespace": "keyaccount.cli._crosssell_commands:whitespace",
}
"""Subcommand name to ``"module:attribute"`` of its click command, imported on first use."""

SUBCOMMAND_SUMMARIES: Mapping[str, str] = {
    "backtest": "Run a policy month by month over the history; compare two with --compare.",
    "db": "The store's schema: show its version, upgrade it, validate its foreign keys.",
    "demo": "Generate the demo portfolio and print its key-account report.",
    "escalations": "The open supervision list (督办清单) by level, province or department.",
    "evaluate": "Evaluate a policy as of a month and show the transitions it decides.",
    "export": (
        "Export a store's customers and revenue as CSV files that `keyaccount import` reads back."
    ),
    "import": "Import CSV files into a store, in one transaction.",
    "kpi": "Service KPIs (服务指标): the court project's four, against the thresholds.",
    "lifecycle": (
        "Project lifecycles (PM管理法): start, plan, execute, monitor, review, improve, plan ..."
    ),
    "metrics": (
        "The metrics of every customer as of a month (docs/metrics.md), largest revenue first."
    ),
    "payout": (
        "Incentive payouts (市场化激励): the reward pool of each group and every member's share."
    ),
    "recommend": "Recommend products CUSTOMER_ID does not buy yet, with the reasons for each.",
    "report": "Write the portfolio report as one self-contained HTML page (--out FILE).",
    "rules": "Policy files: check them, or print the default policy.",
    "schema": "Print the JSON Schema (draft 2020-12) of the document NAME, such as `customer`.",
    "spark": "Evaluate or backtest a policy on Apache Spark, over Parquet files (the spark extra).",
    "targets": "Attainment of the project groups' revenue targets (目标完成率).",
    "whitespace": (
        "List whitespace: segment (or tier) x product cells nobody (or few) buy, by revenue."
    ),
}
"""The first paragraph of each subcommand's help, so that ``keyaccount --help`` imports none.

A test holds each to its command's own help; a subcommand missing here is imported to
list it.
"""

LANGUAGES = ("en", "zh")
"""Display languages: English identifiers or Chinese labels."""

F = TypeVar("F", bound=Callable[..., Any])

EXIT_DATA = 1
"""Exit code of a command that failed on its data or environment (one line ``Error: ...``)."""
EXIT_USAGE = 2
"""Exit code of a usage error (click's)."""
EXIT_INTERRUPTED = 130
"""Exit code of a command interrupted by Ctrl-C (SIGINT), as shells report it."""


def error_message(exc: BaseException) -> str:
    """One line describing ``exc``; for a group of errors, the count and the first of them."""
    text = str(exc)
    if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        text = f"{exc.message}; first: {error_message(exc.exceptions[0])}"
    return " ".join(text.split())


def os_error_message(exc: OSError) -> str:
    """One line for an ``OSError`` that escaped a command: the reason and the path(s)."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    paths = [shorten(os.fspath(p)) for p in (exc.filename, exc.filename2) if p is not None]
    return " ".join(f"{reason}: {' -> '.join(paths)}".split()) if paths else error_message(exc)


if TYPE_CHECKING:
    # click >= 8.4 makes ParamType generic; at run time the plain class works with any click 8.
    _PeriodParamBase: TypeAlias = click.ParamType[Period]
else:
    _PeriodParamBase = click.ParamType


class PeriodType(_PeriodParamBase):
    """A calendar month given as ``YYYY-MM``, converted to a :class:`~keyaccount.Period`."""

    name = "YYYY-MM"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Period:
        """Parse ``value``; a malformed month is a usage error that quotes it."""
        from keyaccount.domain import Period  # here: ``keyaccount --help`` loads no domain

        if isinstance(value, Period):
            return value
        try:
            return Period.parse(value)
        except KeyAccountError as exc:
            self.fail(error_message(exc), param, ctx)


PERIOD = PeriodType()
"""Parameter type for month options such as ``--end`` or ``--as-of``."""


def lang_option(function: F) -> F:
    """Add ``--lang en|zh`` (display language) to a command."""
    option = click.option(
        "--lang",
        type=click.Choice(LANGUAGES, case_sensitive=False),
        default="en",
        show_default=True,
        help="Display language: English identifiers or Chinese labels (中文).",
    )
    return option(function)


def count_option(*names: str, default: int | None, help: str, minimum: int = 1) -> Callable[[F], F]:
    """A whole-number option of at least ``minimum`` (``--top N``), its default shown if any.

    Args:
        *names: The option's names, as :func:`click.option` takes them.
        default: The value when the option is not given (``None``: not given).
        help: The option's help text.
        minimum: The smallest value accepted; a smaller one is a usage error.
    """
    return click.option(
        *names,
        type=click.IntRange(min=minimum),
        default=default,
        show_default=default is not None,
        help=help,
    )


class KeyAccountGroup(click.Group):
    """A click group whose subcommands are imported lazily and whose errors are one line.

    Args:
        lazy_subcommands: Subcommand name to ``"module:attribute"``.
        summaries: Subcommand name to the first paragraph of its help, listed by
            ``--help`` without importing the subcommand.
        *args: Passed to :class:`click.Group`.
        **kwargs: Passed to :class:`click.Group`.
    """

    def __init__(
        self,
        *args: Any,
        lazy_subcommands: Mapping[str, str] | None = None,
        summaries: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = dict(lazy_subcommands or {})
        self.summaries = dict(summaries or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Names of the eager and the lazy subcommands, sorted."""
        return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The subcommand ``cmd_name``, importing its module on first use."""
        if cmd_name in self.lazy_subcommands and cmd_name not in self.commands:
            self.add_command(self._load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the subcommands and their one-line help, importing only those with no summary."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.summaries and name not in self.commands:
                command: click.Command | None = click.Command(name, help=self.summaries[name])
            else:
                command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in rows])

    def _load(self, cmd_name: str) -> click.Command:
        module_name, _, attribute = self.lazy_subcommands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}:{attribute} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        """Run the subcommand; its files are renamed into place only when it succeeds.

        A :class:`KeyAccountError` or another ``OSError`` becomes a one-line
        ``Error: ...`` (exit code 1); Ctrl-C exits with 130 after one line.
        """
        try:
            with atomic_outputs():
                return super().invoke(ctx)
        except KeyAccountError as exc:
            raise click.ClickException(error_message(exc)) from None
        except KeyboardInterrupt:
            click.echo(
                "Interrupted: the command was stopped; what it had not finished was not written.",
                err=True,
            )
            ctx.exit(EXIT_INTERRUPTED)
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise  # click ends quietly on a closed pipe
            raise click.ClickException(os_error_message(exc)) from None


@click.group(
    "keyaccount",
    cls=KeyAccountGroup,
    lazy_subcommands=SUBCOMMANDS,
    summaries=SUBCOMMAND_SUMMARIES,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-V",
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=lambda ctx, param, value: _show_version(ctx, value),
    help="Show the version and exit.",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log to stderr: -v what was done (counts, durations), -vv more detail.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Key-account portfolios of a postal express carrier.

    Customers in tiers (DORMANT < ACTIVE < KEY < STRATEGIC) and industry
    segments, the project groups (项目组) that own them, and their revenue
    metrics. Run `keyaccount COMMAND --help` for a command's options.
    """
    if verbose:
        ctx.with_resource(logging_to_stderr(logging.INFO if verbose == 1 else logging.DEBUG))


def main(argv: Sequence[str] | None = None) -> None:
    """Run the ``keyaccount`` command line (the console script and ``python -m keyaccount``).

    When numpy is not imported yet (a command-line run), numpy is told not to ask
    the kernel for huge pages (``NUMPY_MADVISE_HUGEPAGE=0``) unless the variable is
    set already: on a machine whose memory is fragmented, the kernel's compaction
    for them made the first touch of the load's arrays cost more than the load
    (``docs/cli.md``, "Memory and huge pages").

    Args:
        argv: Arguments without the program name; ``None`` reads ``sys.argv``.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="keyaccount")
    except _TerminatedError:
        # Transactions rolled back and temporary files were removed while unwinding;
        # now end as SIGTERM's default action would.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def _show_version(ctx: click.Context, value: bool) -> None:
    """Print ``keyaccount, version X`` and exit; the version is looked up only when asked."""
    if not value or ctx.resilient_parsing:
        return
    import keyaccount

    click.echo(f"keyaccount, version {keyaccount.__version__}")
    ctx.exit()


class _TerminatedError(BaseException):
    """Raised by the SIGTERM handler so that the command unwinds (a ``BaseException``)."""


def _terminate(signum: int, frame: object) -> None:
    raise _TerminatedError
