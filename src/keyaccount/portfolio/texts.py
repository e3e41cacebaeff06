"""Text columns built from templates over columns: one string per row without a loop per row.

A text of many rows (the explanation of every transition or recommendation) is a
sequence of *pieces*. Each piece is a small dictionary of strings and one code per
row choosing an entry (or nothing). :class:`TextColumn` holds the pieces and
joins them, chunk by chunk, with numpy (``object`` strings) or Arrow
(``binary_join_element_wise``); no Python function runs per row.

The dictionaries are made by formatting *one representative per distinct key*
with the same Python function that formats a single item (:func:`keyed`): the
key of a row must determine its text, so the column equals the per-item texts
exactly. The keys are integers computed over the columns:

- :func:`fixed_keys`: the correctly rounded ``round(x * 10**digits)`` of floats, what
  ``format(x, f".{digits}f")`` prints (rows within a rounding error of a tie are
  decided by Python's own formatting);
- :func:`significant_keys`: the four-significant-digit decimal of ``format(x, ".4g")``;
- :func:`integer_pieces` and :func:`money_pieces` write integers and fen as text
  directly, three digits per piece (with or without thousands separators).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pyarrow as pa

__all__ = [
    "ARROW_CHUNK_ROWS",
    "CHUNK_ROWS",
    "TextColumn",
    "factorize",
    "fixed_keys",
    "integer_pieces",
    "keyed",
    "money_pieces",
    "significant_keys",
]

CHUNK_ROWS = 10_000
"""Rows joined at a time into ``str`` objects: one chunk's strings stay in the caches."""
ARROW_CHUNK_ROWS = 100_000
"""Rows joined at a time by Arrow: one chunk of the result (its offsets stay 32-bit)."""

I64 = npt.NDArray[np.int64]
_GROUP = 1000
_GROUPS = tuple(str(g) for g in range(_GROUP))
_PADDED = tuple(f"{g:03d}" for g in range(_GROUP))


class TextColumn:
    """A column of ``size`` texts as pieces: dictionaries of strings and a code per row.

    Code ``-1`` adds nothing to the row. Rows marked absent (:meth:`objects`,
    :meth:`arrow`) are ``None`` (null) whatever their pieces.

    Args:
        size: The number of rows.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.pieces: list[tuple[tuple[str, ...], npt.NDArray[np.int32]]] = []

    def __repr__(self) -> str:
        return short_repr("TextColumn", f"{number(self.size)} rows", f"{len(self.pieces)} pieces")

    def add(self, dictionary: Sequence[str], codes: npt.ArrayLike) -> None:
        """Append a piece: row ``i`` gets ``dictionary[codes[i]]`` (nothing where ``-1``)."""
        array = np.asarray(codes)
        if array.shape != (self.size,):
            raise ValueError(f"piece has {array.shape} codes for {self.size} rows")
        self.pieces.append((("", *dictionary), (array + 1).astype(np.int32)))

    def text(self, text: str, where: npt.ArrayLike | None = None) -> None:
        """Append the same ``text`` to every row (or to the rows of the mask ``where``)."""
        if not text:
            return
        if where is None:
            codes = np.zeros(self.size, dtype=np.int32)
        else:
            codes = np.where(np.asarray(where, dtype=np.bool_), 0, -1).astype(np.int32)
        self.add((text,), codes)

    def objects(self, absent: npt.NDArray[np.bool_] | None = None) -> npt.NDArray[np.object_]:
        """The texts as a numpy ``object`` array of ``str`` (``None`` where ``absent``)."""
        out = np.empty(self.size, dtype=object)
        tables = [np.array(d, dtype=object) for d, _ in self.pieces]
        for lo in range(0, self.size, CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, self.size)
            if not self.pieces:
                out[lo:hi] = ""
                continue
            chunk = tables[0][self.pieces[0][1][lo:hi]]
            for table, (_, codes) in zip(tables[1:], self.pieces[1:], strict=True):
                chunk = np.add(chunk, table[codes[lo:hi]])
            out[lo:hi] = chunk
        if absent is not None:
            out[absent] = None
        return out

    def arrow(self, absent: npt.NDArray[np.bool_] | None = None) -> pa.ChunkedArray:
        """The texts as a pyarrow ``string`` chunked array (needs the ``arrow`` extra)."""
        from keyaccount.portfolio.frames import require

        pa: Any = require("pyarrow")
        pc: Any = require("pyarrow.compute")
        tables = [pa.array(d, type=pa.string()) for d, _ in self.pieces]
        chunks = []
        for lo in range(0, self.size, ARROW_CHUNK_ROWS):
            hi = min(lo + ARROW_CHUNK_ROWS, self.size)
            parts = [
                pa.DictionaryArray.from_arrays(pa.array(codes[lo:hi]), table).cast(pa.string())
                for table, (_, codes) in zip(tables, self.pieces, strict=True)
            ]
            if not parts:
                joined = pa.array([""] * (hi - lo), type=pa.string())
            elif len(parts) == 1:
                joined = parts[0]
            else:
                joined = pc.binary_join_element_wise(*parts, "")
            if absent is not None and absent[lo:hi].any():
                joined = pc.if_else(
                    pa.array(~absent[lo:hi]), joined, pa.scalar(None, type=pa.string())
                )
            chunks.append(joined)
        return pa.chunked_array(chunks, type=pa.string())


def factorize(keys: npt.ArrayLike) -> tuple[I64, I64]:
    """Codes of ``keys`` (integers) by distinct value, and one row of each distinct key.

    Returns:
        ``(codes, rows)``: ``codes[i]`` numbers the distinct key of row ``i``
        (in increasing key order), ``rows[c]`` is a row whose code is ``c``.
    """
    array = np.asarray(keys, dtype=np.int64)
    if array.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(array.min())
    span = int(array.max()) - low + 1
    if span <= 4 * array.size + 1024:  # a dense table: no sort
        shifted = array - low
        seen = np.zeros(span, dtype=np.bool_)
        seen[shifted] = True
        number_of = np.cumsum(seen, dtype=np.int64) - 1
        codes = number_of[shifted]
        first = np.zeros(int(seen.sum()), dtype=np.int64)
        first[codes] = np.arange(array.size, dtype=np.int64)  # any row of the key will do
        return codes, first
    _, first, codes = np.unique(array, return_index=True, return_inverse=True)
    return codes.astype(np.int64).reshape(array.shape), first.astype(np.int64)


def keyed(keys: npt.ArrayLike, render: Callable[[int], str]) -> tuple[list[str], I64]:
    """A piece whose text is determined by an integer key per row.

    ``render(row)`` makes the text of one row of each distinct key (the per-item
    formatting, called once per distinct key).

    Returns:
        The dictionary and the codes, for :meth:`TextColumn.add`.
    """
    codes, first = factorize(keys)
    return [render(int(row)) for row in first.tolist()], codes


def _near_half(scaled: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """Where ``rint(scaled)`` may differ from the rounding of the exact product it stands for."""
    with np.errstate(invalid="ignore"):
        distance = np.abs(np.abs(scaled - np.floor(scaled)) - 0.5)
        slack = np.abs(scaled) * 2.0**-48 + 2.0**-1000
        return ~(distance > slack) | ~(np.abs(scaled) < 2.0**52)


def fixed_keys(values: npt.ArrayLike, digits: int) -> I64:
    """Integer keys that determine ``format(x, f".{digits}f")`` of each float ``x``.

    The key is ``2 * n + sign`` with ``n = round(|x| * 10**digits)`` as Python rounds
    (half to even on the exact binary value) and ``sign`` the sign bit, so ``-0.0``
    and ``0.0`` differ. Values within a rounding error of a tie are resolved by
    Python's formatting; a non-finite value or one beyond ``2**61 / 10**digits`` is
    its own key (``-1 - row``).
    """
    x = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(x)
    with np.errstate(all="ignore"):
        scaled = magnitude * float(10**digits)
    odd = _near_half(scaled) | ~np.isfinite(x)
    n = np.where(odd, 0.0, np.rint(scaled)).astype(np.int64)
    own = np.zeros(x.shape, dtype=np.bool_)  # rows keyed by themselves: huge, inf, nan
    for row in np.flatnonzero(odd).tolist():
        v = float(magnitude[row])
        whole = int(format(v, f".{digits}f").replace(".", "")) if math.isfinite(v) else -1
        if 0 <= whole < 2**61:
            n[row] = whole
        else:
            own[row] = True
    keys: I64 = 2 * n + np.signbit(x).astype(np.int64)
    keys[own] = -1 - np.flatnonzero(own)
    return keys


def significant_keys(values: npt.ArrayLike, digits: int = 4) -> I64:
    """Integer keys that determine ``format(x, f".{digits}g")`` of each float ``x``.

    The key encodes the sign, the decimal exponent and the ``digits`` significant
    digits of ``x`` correctly rounded (the decimal that ``.4g`` prints); zeros and
    values whose rounding is in doubt are resolved by Python's formatting.
    """
    x = np.asarray(values, dtype=np.float64)
    magnitude = np.abs(x)
    odd = ~np.isfinite(x) | ~(magnitude > 1e-290) | (magnitude > 1e290)
    safe = np.where(odd, 1.0, magnitude)
    top = 10 ** (digits - 1)
    exponent = np.floor(np.log10(safe)).astype(np.int64)
    scaled = safe
    for _ in range(3):  # log10 may be one off near a power of ten
        shift = digits - 1 - exponent
        odd |= np.abs(shift) > 22  # beyond the exact powers of ten of float64
        power = np.power(10.0, np.clip(np.abs(shift), 0, 22))
        scaled = np.where(shift >= 0, safe * power, safe / power)
        low, high = scaled < top, scaled >= 10 * top
        if not (low | high).any():
            break
        exponent = exponent - low + high
    slack = scaled * 2.0**-48
    odd |= (scaled < top + slack) | (scaled >= 10 * top - slack) | _near_half(scaled)
    mantissa = np.where(odd, 0.0, np.rint(scaled)).astype(np.int64)
    carry = mantissa >= 10 * top  # 9999.5 and above round to the next power of ten
    mantissa = np.where(carry, top, mantissa)
    exponent = np.where(carry, exponent + 1, exponent)
    for row in np.flatnonzero(odd).tolist():
        v = float(magnitude[row])
        if v == 0.0 or not math.isfinite(v):
            mantissa[row] = 0 if v == 0.0 else (1 if math.isinf(v) else 2)
            exponent[row] = -1024
            continue
        head, _, power_text = format(v, f".{digits - 1}e").partition("e")
        mantissa[row] = int(head.replace(".", ""))
        exponent[row] = int(power_text)
    # mantissa < 10**digits, exponent within +-1024: one int64 key
    keys: I64 = ((exponent + 1024) * (10 * top) + mantissa) * 2 + np.signbit(x)
    return keys


def integer_pieces(
    column: TextColumn,
    values: npt.ArrayLike,
    *,
    thousands: str = "",
    where: npt.ArrayLike | None = None,
) -> None:
    """Append integers as text (``str(v)``, or ``f"{v:,}"`` with ``thousands=","``).

    Args:
        column: Where to append.
        values: ``int64`` values, one per row.
        thousands: The separator between groups of three digits (``""``: none).
        where: Rows to write (default: all).
    """
    v = np.asarray(values, dtype=np.int64)
    mask = np.ones(v.shape, dtype=np.bool_) if where is None else np.asarray(where, dtype=bool)
    # |v| as uint64 so that -2**63 has a magnitude too
    magnitude = np.where(v < 0, (~v.astype(np.uint64)) + np.uint64(1), v.astype(np.uint64))
    column.add(("-",), np.where(mask & (v < 0), 0, -1))
    groups = max(1, len(str(int(magnitude[mask].max(initial=0)))) + 2) // 3
    size = np.ones(v.shape, dtype=np.int64)  # the number of groups of each value
    rest = magnitude // np.uint64(_GROUP)
    while (rest > 0).any():
        size += rest > 0
        rest //= np.uint64(_GROUP)
    dictionary = (*_GROUPS, *(thousands + p for p in _PADDED))
    for g in range(groups - 1, -1, -1):
        digits = ((magnitude // np.uint64(_GROUP**g)) % np.uint64(_GROUP)).astype(np.int64)
        codes = np.where(g == size - 1, digits, np.where(g < size - 1, _GROUP + digits, -1))
        column.add(dictionary, np.where(mask, codes, -1))


def money_pieces(
    column: TextColumn,
    fen: npt.ArrayLike,
    *,
    thousands: str = "",
    where: npt.ArrayLike | None = None,
) -> None:
    """Append fen as yuan with two decimals, as ``str(fen_to_yuan(f))`` (or ``f"{y:,}"``).

    Args:
        column: Where to append.
        fen: ``int64`` fen, one per row.
        thousands: The separator between groups of three digits of the yuan.
        where: Rows to write (default: all).
    """
    f = np.asarray(fen, dtype=np.int64)
    mask = np.ones(f.shape, dtype=np.bool_) if where is None else np.asarray(where, dtype=bool)
    negative = f < 0
    yuan = np.abs(f // 100 + (negative & (f % 100 != 0)))  # truncated toward zero
    cents = np.abs(f - np.where(negative, -yuan, yuan) * 100)
    column.add(("-",), np.where(mask & negative, 0, -1))
    integer_pieces(column, yuan, thousands=thousands, where=mask)
    column.add(tuple(f".{c:02d}" for c in range(100)), np.where(mask, cents, -1))
