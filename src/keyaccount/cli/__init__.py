"""The ``keyaccount`` command line: a click group with one module per subcommand.

Example:
    >>> from keyaccount.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    keyaccount, version 0.2.0.dev0
"""

from __future__ import annotations

from keyaccount.cli._app import cli, main

__all__ = ["cli", "main"]
