"""What Chinese text (``lang="zh"``) the library writes must look like, as one checker.

Allowed ASCII words in Chinese text (everything else written in Latin letters is a bug):
customer and project-group ids, rule names and user metric names (the user wrote them),
KPI ids and product ids only when the registry or catalogue has no name for them, and
the segment label 电商TOP (the source's own term). Digits, ``.``, ``-``, ``/``, ``%``
and thousands separators (``,`` between digits) may appear; ASCII ``( ) : ; " '`` and
other commas never do, and trailing twelve months are 近12个月, never 近12月.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from keyaccount.domain import default_catalog

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["ZH_ALLOWED", "zh_problems"]

ZH_ALLOWED = ("电商TOP",)
"""Labels of the library that keep Latin letters in Chinese."""

_LETTERS = re.compile(r"[A-Za-z]+")
_ASCII_PUNCT = re.compile(r"""[():;"']""")
_ASCII_COMMA = re.compile(r",(?!\d)|(?<!\d),")


def zh_problems(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """What is wrong with ``text`` as Chinese output; ``allowed`` are ids the user wrote.

    Returns:
        One line per problem (an empty list for good text).
    """
    problems: list[str] = []
    rest = text
    for token in sorted({*allowed, *ZH_ALLOWED}, key=len, reverse=True):
        rest = rest.replace(token, " ")
    if letters := _LETTERS.findall(rest):
        problems.append(f"ASCII words {letters} in {text!r}")
    if punct := _ASCII_PUNCT.findall(rest):
        problems.append(f"ASCII punctuation {punct} in {text!r}")
    if _ASCII_COMMA.search(rest):
        problems.append(f"ASCII comma outside a number in {text!r}")
    if "近12月" in text:
        problems.append(f"近12月 (write 近12个月) in {text!r}")
    ids = [p for p in default_catalog() if re.search(rf"(?<![a-z_]){p}(?![a-z_])", rest)]
    if ids:
        problems.append(f"product ids {ids} in {text!r}")
    return problems
