"""The rules of one field's value, as text: what the CSV readers and the frames accept.

One value at a time, in plain Python: a customer id, a month ``YYYY-MM``, yuan with at
most two decimals, a volume, a segment, sub-segment or tier by name or label. Each
function returns the value in the portfolio's integer form (fen, month ordinal, code)
or raises :class:`FieldError` whose ``reason`` says which rule the value breaks; the CSV
readers (:mod:`keyaccount.io`) and :meth:`Portfolio.from_frames
<keyaccount.Portfolio.from_frames>` report these reasons, so both say the same thing of
the same value (``docs/import-export.md``, ``docs/frames.md``).

Example:
    >>> from keyaccount import Period
    >>> money_fen("-1234.5"), period_ordinal("2022-07") == Period(2022, 7).ordinal
    (-123450, True)
    >>> money_fen("1e5")
    Traceback (most recent call last):
    ...
    keyaccount.portfolio.fields.FieldError: exponent notation is not accepted; write plain \
yuan such as 100000.00
"""

from __future__ import annotations

import functools
import re
from typing import Final

from keyaccount.domain import NO_CODE, SEGMENTS, SUB_SEGMENTS, Segment, SubSegment, Tier
from keyaccount.exceptions import UnknownLabelError

__all__ = [
    "EMPTY",
    "MAX_FEN_DIGITS",
    "MAX_VOLUME_DIGITS",
    "MIN_YEAR",
    "FieldError",
    "check_text",
    "check_utf8",
    "customer_id",
    "label_choices",
    "money_fen",
    "period_ordinal",
    "segment_code",
    "sub_segment_code",
    "tier_rank",
    "volume",
]

EMPTY: Final = "required value is empty"
MIN_YEAR: Final = 1900
"""The earliest year of a month."""
MAX_FEN_DIGITS: Final = 11
"""At most this many digits before the decimal point of an amount of yuan."""
MAX_VOLUME_DIGITS: Final = 13
"""At most this many digits in a volume."""

_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})")
_MONEY = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_EXPONENT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_NON_FINITE = frozenset({"nan", "snan", "qnan", "inf", "infinity"})
_WHOLE = re.compile(r"[0-9]+")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class FieldError(Exception):
    """A field that breaks its column's rule; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_text(text: str) -> None:
    """Refuse control characters (NUL, DEL, ...; tab and line breaks are allowed)."""
    bad = _CONTROL.search(text)
    if bad is not None:
        raise FieldError(
            f"control character U+{ord(bad.group()):04X} in the text; only tab and line "
            "breaks are allowed"
        )


def check_utf8(text: str) -> None:
    """Refuse control characters and text that UTF-8 cannot encode (lone surrogates)."""
    check_text(text)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise FieldError("not valid UTF-8 text") from None


def customer_id(text: str) -> str:
    """A customer id: not empty, no spaces around it."""
    if text == "":
        raise FieldError(EMPTY)
    if text != text.strip():
        raise FieldError("customer id has spaces around it")
    return text


def period_ordinal(text: str) -> int:
    """A month written ``YYYY-MM`` as its :attr:`Period.ordinal`."""
    if text == "":
        raise FieldError(EMPTY)
    match = _PERIOD.fullmatch(text)
    if match is None:
        raise FieldError("not a period; expected YYYY-MM such as 2022-07")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise FieldError(f"month {match.group(2)} is not in 01..12")
    if year < MIN_YEAR:
        raise FieldError(f"year {match.group(1)} is before {MIN_YEAR}")
    return year * 12 + month - 1


def money_fen(text: str) -> int:
    """An amount of yuan with at most two decimals, such as ``-1234.5``, in fen."""
    if text == "":
        raise FieldError(EMPTY)
    match = _MONEY.fullmatch(text)
    if match is None:
        if text.strip().lstrip("+-").lower() in _NON_FINITE:
            raise FieldError("not a finite amount of money")
        if _EXPONENT.fullmatch(text.strip()):
            raise FieldError(
                "exponent notation is not accepted; write plain yuan such as 100000.00"
            )
        raise FieldError("not an amount of yuan; expected digits with at most two decimals")
    sign, whole, decimals = match.groups()
    if decimals is not None and len(decimals) > 2:
        raise FieldError("digits below the fen; at most two decimals (0.01 yuan)")
    if len(whole) > MAX_FEN_DIGITS:
        raise FieldError(f"too large; at most {MAX_FEN_DIGITS} digits before the decimal point")
    fen = int(whole) * 100 + (int(decimals.ljust(2, "0")) if decimals else 0)
    return -fen if sign else fen


def volume(text: str) -> int:
    """A whole number of parcels ``>= 0``; empty means 0."""
    if text == "":
        return 0
    if _WHOLE.fullmatch(text):
        if len(text) > MAX_VOLUME_DIGITS:
            raise FieldError(f"volume too large; at most {MAX_VOLUME_DIGITS} digits")
        return int(text)
    if _NUMBER.fullmatch(text):
        if text.startswith("-"):
            raise FieldError("negative volume; volume is a whole number of parcels >= 0")
        if "." in text:
            raise FieldError("fractional volume; volume is a whole number of parcels")
    raise FieldError("volume is not a whole number of parcels")


def label_choices(kind: type[Segment] | type[SubSegment] | type[Tier]) -> str:
    """The names and Chinese labels of ``kind``'s members, for a message."""
    return ", ".join(f"{m.name} ({m.label_zh})" for m in kind)


@functools.lru_cache(maxsize=4096)
def segment_code(text: str) -> int:
    """The code of a segment name or label; empty means none (``-1``)."""
    if text == "":
        return NO_CODE
    try:
        return SEGMENTS.index(Segment.parse(text))
    except UnknownLabelError:
        raise FieldError(
            f"unknown segment {text!r}; expected one of {label_choices(Segment)}"
        ) from None


@functools.lru_cache(maxsize=4096)
def sub_segment_code(text: str) -> int:
    """The code of a sub-segment name or label; empty means none (``-1``)."""
    if text == "":
        return NO_CODE
    try:
        return SUB_SEGMENTS.index(SubSegment.parse(text))
    except UnknownLabelError:
        raise FieldError(
            f"unknown sub-segment {text!r}; expected one of {label_choices(SubSegment)}"
        ) from None


@functools.lru_cache(maxsize=4096)
def tier_rank(text: str) -> int:
    """The rank of a tier name, label or alias; empty means ``ACTIVE``."""
    if text == "":
        return Tier.ACTIVE.rank
    try:
        return Tier.parse(text).rank
    except UnknownLabelError:
        raise FieldError(f"unknown tier {text!r}; expected one of {label_choices(Tier)}") from None
