"""``python -m keyaccount``: the same command line as the ``keyaccount`` script."""

from __future__ import annotations

from keyaccount.cli import main

if __name__ == "__main__":
    main()
