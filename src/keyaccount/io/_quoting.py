"""Quoting CSV fields the way the readers read them back."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["csv_line", "quote_field"]


def quote_field(text: str) -> str:
    """``text`` as a CSV field: quoted when it holds a comma, quote or line break."""
    if "," in text or '"' in text or "\n" in text or "\r" in text:
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(fields: Sequence[str]) -> str:
    """One CSV line of ``fields``, quoted where needed, with its line feed."""
    line = ",".join(fields)
    if '"' in line or "\n" in line or "\r" in line or line.count(",") != len(fields) - 1:
        line = ",".join(map(quote_field, fields))
    return line + "\n"
