"""The ``keyaccount`` command line: a click group with one module per subcommand.

Example:
    >>> from keyaccount.cli import main
    >>> main(["--version"])  # doctest: +SKIP
    keyaccount, version 0.1.0
"""

from __future__ import annotations

from keyaccount.cli._app import cli, main

__all__ = ["cli", "main"]
