"""Exact money: ``Decimal`` yuan at the API, integer fen (分) in arrays and sums."""

from __future__ import annotations

import operator
from decimal import Decimal, InvalidOperation

from keyaccount.exceptions import InvalidMoneyError, ValidationError, shorten

__all__ = [
    "FEN_PER_YUAN",
    "MAX_AMOUNT_FEN",
    "MAX_MONEY_TEXT",
    "MAX_MONTH_FEN",
    "MAX_MONTH_VOLUME",
    "MAX_VOLUME",
    "check_amount_fen",
    "fen_to_yuan",
    "format_yuan",
    "yuan_to_fen",
]

FEN_PER_YUAN = 100
_CENT = Decimal("0.01")
_INT64_MAX = 2**63 - 1
_MAX_DIGITS = len(str(_INT64_MAX)) + 2  # a coefficient longer than this cannot fit int64 fen
_UNITS = {"yuan": 1, "wan": 10_000, "yi": 100_000_000}

MAX_MONEY_TEXT = 40
"""Money text longer than this many characters is refused before it is parsed."""
MAX_AMOUNT_FEN = 10**13 - 1
"""The largest ``|amount|`` of one revenue record or transaction: 99,999,999,999.99 yuan."""
MAX_MONTH_FEN = 10**13 - 1
"""The largest sum of ``|amount|`` of one customer's records in one month (all products).

Twenty-four such months stay below 2**53 fen, so every per-customer metric is
exact on the float64 paths whatever the records.
"""
MAX_VOLUME = 10**13 - 1
"""The largest volume (parcels) of one revenue record."""
MAX_MONTH_VOLUME = 10**13 - 1
"""The largest volume of one customer in one month (all products)."""


def yuan_to_fen(value: Decimal | int | str, *, where: str = "") -> int:
    """Convert an amount in yuan to an exact integer number of fen.

    Accepts ``Decimal``, ``int`` and decimal text (``"1234.50"``, ``"1_000"``,
    ``"1,234.50"``). Floats are refused: a float cannot hold most amounts
    exactly. The conversion is exact whatever the number of digits; the
    result must fit a signed 64-bit integer, the type of the fen arrays.

    Args:
        value: The amount in yuan.
        where: Where the value came from, for the error message.

    Returns:
        The amount in fen.

    Raises:
        InvalidMoneyError: the value is a float, not a number, not finite, has
            digits below the fen, or does not fit 64-bit fen.

    Example:
        >>> yuan_to_fen("12.34")
        1234
    """
    suffix = f" ({where})" if where else ""
    if isinstance(value, bool | float):
        raise InvalidMoneyError(
            f"money must be Decimal, int or decimal text, not {type(value).__name__} "
            f"{value!r}{suffix}"
        )
    if isinstance(value, int):
        fen = value * FEN_PER_YUAN
    else:
        if isinstance(value, str):
            if len(value) > MAX_MONEY_TEXT:
                raise InvalidMoneyError(
                    f"money text {shorten(value)} is longer than {MAX_MONEY_TEXT} "
                    f"characters{suffix}"
                )
            try:
                amount = Decimal(value.strip().replace(",", ""))
            except InvalidOperation:
                raise InvalidMoneyError(
                    f"not an amount of money: {shorten(value)}{suffix}"
                ) from None
        elif isinstance(value, Decimal):
            amount = value
        else:
            raise InvalidMoneyError(f"not an amount of money: {shorten(value)}{suffix}")
        if not amount.is_finite():
            raise InvalidMoneyError(f"money must be finite, got {shorten(value)}{suffix}")
        fen = _exact_fen(amount, value, suffix)
    if abs(fen) > _INT64_MAX:
        raise InvalidMoneyError(f"amount {shorten(value)} is too large for 64-bit fen{suffix}")
    return fen


def check_amount_fen(fen: int, *, where: str = "") -> int:
    """Refuse one revenue amount beyond :data:`MAX_AMOUNT_FEN` in magnitude.

    Raises:
        InvalidMoneyError: ``|fen|`` is above the per-amount limit.

    Example:
        >>> check_amount_fen(1234)
        1234
    """
    if abs(fen) > MAX_AMOUNT_FEN:
        suffix = f" ({where})" if where else ""
        raise InvalidMoneyError(
            f"amount {format_yuan(fen)} yuan is beyond the limit of "
            f"{format_yuan(MAX_AMOUNT_FEN)} yuan per record{suffix}"
        )
    return fen


def _exact_fen(amount: Decimal, value: object, suffix: str) -> int:
    """``amount * 100`` as an int, with integer arithmetic (no context rounding).

    The work is bounded by the number of digits of ``amount``, never by its
    exponent: the exponent is compared with the digit count before any power
    of ten is built, so ``1e-999999999`` and ``1e999999999`` are refused at once.
    """
    sign, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int):  # only NaN and infinities have a letter here
        raise InvalidMoneyError(f"money must be finite, got {shorten(value)}{suffix}")
    if len(digits) > _MAX_DIGITS + 2 * len(str(_INT64_MAX)):
        raise InvalidMoneyError(f"amount {shorten(value)} has too many digits{suffix}")
    coefficient = int("".join(map(str, digits))) if digits else 0
    if not coefficient:
        return 0  # zero with any exponent
    # drop trailing zeros of the coefficient: 1.50 and 1.5 are the same amount
    n_digits = len(str(coefficient))
    stripped = str(coefficient).rstrip("0")
    exponent += n_digits - len(stripped)
    coefficient, n_digits = int(stripped), len(stripped)
    shift = exponent + 2
    if n_digits + shift > _MAX_DIGITS:
        raise InvalidMoneyError(f"amount {shorten(value)} is too large for 64-bit fen{suffix}")
    if shift < 0:
        # a coefficient without trailing zeros has digits below the fen
        raise InvalidMoneyError(
            f"amount {shorten(value)} has digits below the fen (0.01 yuan){suffix}"
        )
    fen: int = coefficient * 10**shift  # shift <= _MAX_DIGITS here
    return -fen if sign else fen


def _whole_fen(fen: int) -> int:
    if isinstance(fen, bool):
        raise InvalidMoneyError(f"fen must be a whole number, not the bool {fen!r}")
    try:
        return operator.index(fen)
    except TypeError:
        raise InvalidMoneyError(
            f"fen must be a whole number, not {type(fen).__name__} {fen!r}"
        ) from None


def fen_to_yuan(fen: int) -> Decimal:
    """Convert integer fen to ``Decimal`` yuan with two places, exactly.

    Raises:
        InvalidMoneyError: ``fen`` is not a whole number (a float, text, ...).

    Example:
        >>> fen_to_yuan(123456)
        Decimal('1234.56')
    """
    return Decimal(f"{_whole_fen(fen)}E-2")


def format_yuan(fen: int, *, unit: str = "yuan") -> str:
    """Format fen for people: ``"1,234.56"``, or scaled to ``unit`` ``"wan"`` 万 or ``"yi"`` 亿.

    Raises:
        ValidationError: an unknown ``unit``.

    Example:
        >>> format_yuan(533_000_000_000, unit="yi")
        '53.30'
    """
    try:
        scale = _UNITS[unit]
    except KeyError:
        raise ValidationError(
            f"unknown unit {unit!r}; expected one of {', '.join(_UNITS)}"
        ) from None
    amount = (Decimal(_whole_fen(fen)) / FEN_PER_YUAN / scale).quantize(_CENT)
    return f"{amount:,}"
