"""``--format table|json|csv`` and ``--section``: what a command prints, for people or programs.

A command that prints results takes :func:`format_option` (and, when it prints
several tables, :func:`section_option`) and hands its results to :func:`emit` as
:class:`Section` objects, one per table::

    @click.command()
    @format_option
    def sizes(output_format: str) -> None:
        rows = [{"tier": Tier.KEY, "customers": 12, "t12m_revenue": Decimal("10.50")}]
        if output_format == "table":
            ...  # the rich table
        else:
            emit([Section("tiers", ("tier", "customers", "t12m_revenue"), rows)], output_format)

The formats (``docs/cli.md``, "Output formats"):

- ``table``: the rich tables, for people (the command draws them itself);
- ``json``: one JSON document on stdout: for one table an array of flat
  objects, for several an object keyed by section name, each an array (with
  ``--section NAME``, that section's array alone); values as
  ``docs/contracts.md`` ("JSON") fixes them (:func:`json_value`);
- ``csv``: RFC 4180 (the :mod:`csv` module, CRLF line ends), a header row and the
  same columns as JSON; a command with several tables writes one, ``--section
  NAME`` (default: its main one).

Data goes to stdout and nothing else does: progress, warnings, notes and
"written to ..." lines go to stderr (:func:`message`).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import attrs
import click
import numpy as np

from keyaccount.cli._numbers import json_money
from keyaccount.domain import Period

__all__ = [
    "FORMATS",
    "Section",
    "csv_value",
    "emit",
    "format_option",
    "json_value",
    "message",
    "section_option",
]

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("table", "json", "csv")
"""The output formats of ``--format``."""

JsonScalar = str | int | float | bool | None


@attrs.frozen
class Section:
    """One table of a command's results: its name, its column keys and its rows.

    Attributes:
        name: The section's name (``--section NAME``, the key in a JSON object).
        keys: The column keys, snake_case, in order (the CSV header).
        rows: One mapping per row from key to value (see :func:`json_value`);
            a key the row lacks is absent (``null``).
    """

    name: str
    keys: tuple[str, ...]
    rows: Sequence[Mapping[str, object]]


def format_option(function: F) -> F:
    """Add ``--format table|json|csv`` to a command, which receives ``output_format``."""
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(FORMATS, case_sensitive=False),
        default="table",
        show_default=True,
        help="table: for people; json or csv: for programs (data on stdout, messages on stderr).",
    )(function)


def section_option(*names: str) -> Callable[[F], F]:
    """Add ``--section NAME`` (one of ``names``; the first is the main one) to a command.

    The command receives ``section`` (``None`` when not given) and passes it to
    :func:`emit`.
    """
    return click.option(
        "--section",
        "section",
        type=click.Choice(names),
        default=None,
        help=f"With --format csv (or json): the one table to write [default: {names[0]}].",
    )


def message(text: str) -> None:
    """Write a message (a note, a warning, "written to ...") to stderr, never to stdout."""
    click.echo(text, err=True)


def json_value(value: object) -> JsonScalar:
    """A result value as JSON: ``docs/contracts.md``, "JSON".

    ``Decimal`` is money, a decimal string in yuan with two decimals
    (``"1234.50"``); an enum is its name; a :class:`~keyaccount.Period` is
    ``"YYYY-MM"``; a date is ISO 8601; a float that is not finite, and ``None``,
    are ``null``; numpy scalars are their Python values.

    Raises:
        TypeError: a value of another type (a bug in the command).
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return json_value(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return json_money(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, Period):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__} {value!r}")


def csv_value(value: object) -> str:
    """A result value as a CSV field: the JSON value as text; ``null`` is empty."""
    converted = json_value(value)
    if converted is None:
        return ""
    if isinstance(converted, bool):
        return "true" if converted else "false"
    return str(converted)


def _pick(sections: Sequence[Section], section: str | None) -> Section:
    if section is None:
        return sections[0]
    for candidate in sections:
        if candidate.name == section:
            return candidate
    names = ", ".join(s.name for s in sections)
    raise click.UsageError(
        f"--section {section}: this output has no such section; the sections are {names}"
    )


def emit(
    sections: Section | Sequence[Section], output_format: str, section: str | None = None
) -> None:
    """Write ``sections`` to stdout as JSON or CSV (see the module docstring).

    Args:
        sections: The command's tables, the main one first; one table is written as
            a JSON array, several as a JSON object keyed by name.
        output_format: ``"json"`` or ``"csv"``.
        section: The one section to write (``--section``); ``None``: for JSON all
            of them, for CSV the first.

    Raises:
        click.UsageError: ``section`` names a section this output does not have.
    """
    listed = [sections] if isinstance(sections, Section) else list(sections)
    out = sys.stdout
    if output_format.lower() == "csv":
        chosen = _pick(listed, section)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(chosen.keys)
        for row in chosen.rows:
            writer.writerow([csv_value(row.get(key)) for key in chosen.keys])
        out.flush()
        return
    document: object
    if section is not None or len(listed) == 1:
        document = _json_rows(_pick(listed, section))
    else:
        document = {s.name: _json_rows(s) for s in listed}
    json.dump(document, out, ensure_ascii=False, indent=2)
    out.write("\n")
    out.flush()


def _json_rows(section: Section) -> list[dict[str, JsonScalar]]:
    return [{key: json_value(row.get(key)) for key in section.keys} for row in section.rows]
