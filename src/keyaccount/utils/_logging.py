"""The library's loggers (stdlib :mod:`logging`) and a switch that shows them on stderr.

Every room logs under ``keyaccount`` (``keyaccount.store``, ``keyaccount.rules``,
``keyaccount.io``, ``keyaccount.events``), with lazy ``%`` arguments. The package
adds a :class:`logging.NullHandler` to ``keyaccount``, so the library is quiet until
an application configures logging; at ``INFO`` no record carries personal data (no
customer name, contact or id; ids appear at ``DEBUG`` only).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import TYPE_CHECKING, Final, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["LOGGER_NAME", "LOG_FORMAT", "elapsed", "logger", "logging_to_stderr"]

LOGGER_NAME: Final = "keyaccount"
"""The logger every record of the library goes through (its rooms log to children of it)."""

LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""The line format of :func:`logging_to_stderr` (and of ``keyaccount -v``)."""


def logger(room: str) -> logging.Logger:
    """The logger of a room: ``keyaccount.<room>`` (``"store"``, ``"rules"``, ``"io"``, ...)."""
    return logging.getLogger(f"{LOGGER_NAME}.{room}")


def elapsed(start: float) -> float:
    """Seconds since ``start`` (a :func:`time.perf_counter` reading), for a log record."""
    return time.perf_counter() - start


class _CurrentStderr(logging.StreamHandler[TextIO]):
    """A stream handler that writes to whatever ``sys.stderr`` is when a record is emitted.

    A handler holding the stream it was made with would keep writing to a closed one
    when ``sys.stderr`` is swapped (a test runner's capture, click's ``CliRunner``).
    """

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        """Ignored: the handler always writes to the current ``sys.stderr``."""


@contextlib.contextmanager
def logging_to_stderr(level: int = logging.INFO) -> Iterator[logging.Handler]:
    """Show the library's log records of ``level`` and above on stderr inside the block.

    Adds one handler to the ``keyaccount`` logger and sets the logger's level; both
    are undone at the end (what ``keyaccount -v`` does around a command). An
    application that configures :mod:`logging` itself does not need this.

    Args:
        level: The lowest level shown, e.g. ``logging.INFO`` or ``logging.DEBUG``.

    Yields:
        The handler (to change its format, for example).

    Example:
        >>> import logging
        >>> with logging_to_stderr(logging.DEBUG):
        ...     logging.getLogger("keyaccount").isEnabledFor(logging.DEBUG)
        True
    """
    root = logging.getLogger(LOGGER_NAME)
    handler = _CurrentStderr()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    previous = root.level
    root.addHandler(handler)
    root.setLevel(level)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
