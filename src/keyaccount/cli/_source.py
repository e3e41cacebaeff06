"""Where a command's portfolio comes from, and the stores the commands open.

A command that reads a portfolio takes exactly one source: ``--db URL`` (a
store: a SQLite file path or a database URL such as
``postgresql+psycopg://user@host/db``) or ``--demo`` (the generated demo
portfolio). :func:`portfolio_source` adds both options to a command, makes
anything but exactly one of them a usage error (:data:`SOURCE_ERROR`, exit
code 2) before the command runs, and hands the command a
:class:`PortfolioSource` as its ``source`` argument::

    @click.command()
    @portfolio_source
    def count(source: PortfolioSource) -> None:
        click.echo(len(source.load()))

:func:`store_option` is the one ``--db`` option of every command that takes a
store (also ``import``, ``export`` and ``demo --db``). :func:`open_store` opens
an existing store for reading and never creates one; :func:`writing_store`
opens or creates a store for writing and removes a new, still empty store file
when the command fails. ``keyaccount.store`` and ``keyaccount.demo`` are
imported only when a command runs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
import click

if TYPE_CHECKING:
    from collections.abc import Iterator

    from keyaccount.domain import Period
    from keyaccount.portfolio import Portfolio
    from keyaccount.store import Store

__all__ = [
    "SOURCE_ERROR",
    "PortfolioSource",
    "demo_portfolio",
    "open_store",
    "portfolio_source",
    "store_option",
    "writing_store",
]

F = TypeVar("F", bound=Callable[..., Any])

SOURCE_ERROR = "give exactly one portfolio source: --db URL or --demo"
"""The usage error of a command given neither or both of ``--db`` and ``--demo``."""


def store_option(*, default: str | None, help: str) -> Callable[[F], F]:
    """The ``--db URL`` option (a SQLite file path or a database URL), with its ``help``.

    Args:
        default: The store when ``--db`` is not given (shown in the help), or ``None``.
        help: The option's help text.
    """
    return click.option(
        "--db",
        "db",
        metavar="URL",
        default=default,
        show_default=default is not None,
        help=help,
    )


@attrs.frozen
class PortfolioSource:
    """The portfolio a command reads: the store ``db``, or the demo generator.

    Attributes:
        db: The value of ``--db``; ``None`` for ``--demo``.
    """

    db: str | None

    @contextlib.contextmanager
    def open(self, **demo_options: int | Period | None) -> Iterator[tuple[Portfolio, Store | None]]:
        """The portfolio and the store it was read from (``None`` for the demo), open in the block.

        Args:
            **demo_options: Arguments of :func:`demo_portfolio` for ``--demo``;
                ignored for a store.

        Raises:
            StoreNotFoundError: there is no store at :attr:`db`.
            StoreUnavailableError: :attr:`db` cannot be opened.
        """
        if self.db is None:
            yield demo_portfolio(**demo_options), None
            return
        with open_store(self.db) as store:
            yield store.load(), store

    def load(self, **demo_options: int | Period | None) -> Portfolio:
        """The portfolio, read (a store is closed again); arguments as :meth:`open` takes."""
        with self.open(**demo_options) as (portfolio, _):
            return portfolio


def demo_portfolio(**options: int | Period | None) -> Portfolio:
    """The generated demo portfolio (:func:`keyaccount.demo.generate`).

    Args:
        **options: Arguments of :func:`keyaccount.demo.generate`; ``None``
            leaves the generator's default.
    """
    from keyaccount.demo import generate  # imported when a command runs

    given: dict[str, Any] = {name: value for name, value in options.items() if value is not None}
    return generate(**given)


def portfolio_source(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--db URL`` and ``--demo`` to a command, which receives ``source`` instead.

    The command is called with ``source=`` a :class:`PortfolioSource` in place
    of the two options; neither or both is a :class:`click.UsageError`
    (:data:`SOURCE_ERROR`) raised before the command runs.
    """

    @functools.wraps(function)
    def command(*args: Any, db: str | None, demo: bool, **kwargs: Any) -> Any:
        if demo == (db is not None):
            raise click.UsageError(SOURCE_ERROR)
        return function(*args, source=PortfolioSource(db), **kwargs)

    with_demo = click.option(
        "--demo", is_flag=True, help="Use the generated demo portfolio (keyaccount.demo)."
    )(command)
    return store_option(
        default=None,
        help="Read the portfolio from this store: a SQLite file path or a database URL.",
    )(with_demo)


def open_store(db: str) -> Store:
    """Open the existing store ``db`` for reading; a missing one is an error, never created.

    Raises:
        StoreNotFoundError: there is no store at ``db``.
        StoreUnavailableError: ``db`` cannot be opened (see :class:`~keyaccount.store.Store`).
    """
    from keyaccount.store import Store  # imported when a command runs

    return Store.open(db)


@contextlib.contextmanager
def writing_store(db: str) -> Iterator[Store]:
    """Open (or create) the store ``db`` for writing; remove the file again if the command fails.

    Only a SQLite file this command created and that is still empty is removed.
    """
    from keyaccount.store import Store, resolve_url, sqlite_path  # imported when a command runs

    path = sqlite_path(resolve_url(db)) if db else None
    new_file = path if path is not None and not path.exists() else None
    store = Store(db)
    try:
        yield store
    except BaseException:
        with contextlib.suppress(Exception):
            if new_file is not None and store.is_empty():
                store.close()
                for leftover in (new_file, Path(f"{new_file}-journal")):
                    leftover.unlink(missing_ok=True)
        raise
    finally:
        store.close()
