"""The installed distribution's version, read on first use."""

from __future__ import annotations

import functools

__all__ = ["installed_version"]


@functools.cache
def installed_version() -> str:
    """The installed ``keyaccount`` distribution's version (``"unknown"`` in a bare source tree).

    Read once, on first use: :mod:`importlib.metadata` costs about 40 ms to import, which
    ``import keyaccount`` does not pay.
    """
    import importlib.metadata

    try:
        return importlib.metadata.version("keyaccount")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree, not installed
        return "unknown"
