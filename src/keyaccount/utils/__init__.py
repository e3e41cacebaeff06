"""Small helpers the other packages share: all-or-nothing file outputs and a GC pause.

These are public so that every package (and a caller writing its own outputs
next to keyaccount's) uses one implementation:

- :func:`atomic_path` writes one file beside its target and renames it into
  place only when the writing succeeded; inside :func:`atomic_outputs` several
  files commit together or not at all.
- :func:`paused_gc` pauses Python's cyclic garbage collector around a bulk step
  that makes millions of short-lived, acyclic objects.
- :func:`toml_value` writes a value as TOML that :mod:`tomllib` reads back exactly
  (policies and payout schemes write themselves with it); :func:`toml_key_lines`
  finds the line of each key, for error messages about a file read with :mod:`tomllib`.
- :func:`installed_version` reads the installed distribution's version once, on first use.
- :func:`logger` gives a room's logger (``keyaccount.<room>``, stdlib :mod:`logging`);
  :func:`logging_to_stderr` shows the library's records on stderr (``keyaccount -v``).
- :mod:`keyaccount.utils.display` (a public module) is how every result and model shows
  itself: a one-line ``repr`` (:func:`~keyaccount.utils.display.short_repr`) and, in a
  notebook, a short HTML head of its table (:func:`~keyaccount.utils.display.html_table`).
"""

from __future__ import annotations

from keyaccount.utils._atomic import (
    OutputGroup,
    PendingOutput,
    atomic_outputs,
    atomic_path,
    output_error,
)
from keyaccount.utils._gc import paused_gc
from keyaccount.utils._logging import LOG_FORMAT, LOGGER_NAME, elapsed, logger, logging_to_stderr
from keyaccount.utils._toml import toml_key_lines, toml_string, toml_value
from keyaccount.utils._version import installed_version

__all__ = [
    "LOGGER_NAME",
    "LOG_FORMAT",
    "OutputGroup",
    "PendingOutput",
    "atomic_outputs",
    "atomic_path",
    "elapsed",
    "installed_version",
    "logger",
    "logging_to_stderr",
    "output_error",
    "paused_gc",
    "toml_key_lines",
    "toml_string",
    "toml_value",
]
