"""Exact money: ``Decimal`` yuan at the API, integer fen (分) in arrays and sums."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from keyaccount.exceptions import InvalidMoneyError

__all__ = ["FEN_PER_YUAN", "fen_to_yuan", "format_yuan", "yuan_to_fen"]

FEN_PER_YUAN = 100
_CENT = Decimal("0.01")


def yuan_to_fen(value: Decimal | int | str, *, where: str = "") -> int:
    """Convert an amount in yuan to an exact integer number of fen.

    Accepts ``Decimal``, ``int`` and decimal text (``"1234.50"``, ``"1_000"``).
    Floats are refused: a float cannot hold most amounts exactly.

    Args:
        value: The amount in yuan.
        where: Where the value came from, for the error message.

    Returns:
        The amount in fen.

    Raises:
        InvalidMoneyError: the value is a float, not a number, not finite, or
            has digits below the fen.

    Example:
        >>> yuan_to_fen("12.34")
        1234
    """
    suffix = f" ({where})" if where else ""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidMoneyError(
            f"money must be Decimal, int or decimal text, not {type(value).__name__} "
            f"{value!r}{suffix}"
        )
    if isinstance(value, int):
        return value * FEN_PER_YUAN
    if isinstance(value, str):
        try:
            amount = Decimal(value.strip().replace(",", ""))
        except InvalidOperation:
            raise InvalidMoneyError(f"not an amount of money: {value!r}{suffix}") from None
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise InvalidMoneyError(f"not an amount of money: {value!r}{suffix}")
    if not amount.is_finite():
        raise InvalidMoneyError(f"money must be finite, got {value!r}{suffix}")
    fen = amount * FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise InvalidMoneyError(f"amount {value!r} has digits below the fen (0.01 yuan){suffix}")
    return int(fen)


def fen_to_yuan(fen: int) -> Decimal:
    """Convert integer fen to ``Decimal`` yuan with two places.

    Example:
        >>> fen_to_yuan(123456)
        Decimal('1234.56')
    """
    return (Decimal(int(fen)) / FEN_PER_YUAN).quantize(_CENT)


def format_yuan(fen: int, *, unit: str = "yuan") -> str:
    """Format fen for people: ``"1,234.56"``, or scaled with ``unit`` ``"wan"`` (万) or ``"yi"`` (亿).

    Example:
        >>> format_yuan(533_000_000_000, unit="yi")
        '53.30'
    """
    scale = {"yuan": 1, "wan": 10_000, "yi": 100_000_000}[unit]
    amount = (Decimal(int(fen)) / FEN_PER_YUAN / scale).quantize(_CENT)
    return f"{amount:,}"
