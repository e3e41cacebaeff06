"""Text columns built from templates over columns: one string per row without a loop per row.

A text of many rows (the explanation of every transition or recommendation) is a
sequence of *pieces*. Each piece is a small dictionary of strings and one code per
row choosing an entry (or nothing). :class:`TextColumn` holds the pieces and
joins them, chunk by chunk, with numpy (``object`` strings) or Arrow (one ``take``
from the dictionaries per chunk); no Python function runs per row. A column is also a
read-only sequence of ``str`` that joins only the rows asked for.
:class:`ChunkedPieces` builds the pieces of a long column a chunk of rows at a time,
the chunks sharing each piece's dictionary.

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
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from keyaccount.utils.display import number, short_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pyarrow as pa

__all__ = [
    "ARROW_CHUNK_ROWS",
    "CHUNK_ROWS",
    "KEY_BLOCK",
    "ChunkedPieces",
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

KEY_BLOCK = 1 << 16
"""Values keyed at a time: a block's temporaries stay in the caches and the heap."""

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
_POWERS_OF_TEN = np.array([10.0**e for e in range(23)])  # exact in float64
_GROUP = 1000
_GROUPS = tuple(str(g) for g in range(_GROUP))
_PADDED = tuple(f"{g:03d}" for g in range(_GROUP))


class TextColumn(Sequence[str]):
    """A column of ``size`` texts as pieces: dictionaries of strings and a code per row.

    Code ``-1`` adds nothing to the row. Rows marked absent (:meth:`objects`,
    :meth:`to_arrow`) are ``None`` (null) whatever their pieces.

    A column is a read-only sequence of ``str`` whose rows are joined when they are
    asked for: ``column[i]`` joins one row, ``column[a:b]`` (or ``column[rows]``
    with an integer or boolean array) selects rows without joining them,
    :meth:`tolist`, :meth:`to_numpy` and iteration make Python strings, and
    :meth:`to_arrow` joins every row in Arrow without a Python string per row.

    Args:
        size: The number of rows.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.pieces: list[tuple[tuple[str, ...], npt.NDArray[np.int32]]] = []

    def __repr__(self) -> str:
        return short_repr("TextColumn", f"{number(self.size)} rows", f"{len(self.pieces)} pieces")

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice | npt.NDArray[np.integer | np.bool_]) -> TextColumn: ...

    def __getitem__(
        self, index: int | slice | npt.NDArray[np.integer | np.bool_]
    ) -> str | TextColumn:
        """One row's text (an ``int``), or the selected rows as a column (not joined yet)."""
        if isinstance(index, int | np.integer):
            i = int(index)
            if not -self.size <= i < self.size:
                raise IndexError(f"row {i} is out of range for {number(self.size)} texts")
            return "".join(d[int(codes[i])] for d, codes in self.pieces)
        if isinstance(index, slice):
            span = range(self.size)[index]
            return self.take(np.arange(span.start, span.stop, span.step, dtype=np.int64))
        return self.take(np.arange(self.size, dtype=np.int64)[index])

    def __iter__(self) -> Iterator[str]:
        for lo in range(0, self.size, CHUNK_ROWS):
            yield from self[lo : lo + CHUNK_ROWS].tolist()

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        """``numpy.asarray(column)``: :meth:`to_numpy`."""
        out = self.objects()
        return out if dtype is None else out.astype(dtype)

    def take(self, rows: npt.ArrayLike) -> TextColumn:
        """The texts of ``rows`` (integer positions), as a column sharing the dictionaries."""
        picked = np.asarray(rows, dtype=np.int64)
        column = TextColumn(int(picked.shape[0]))
        column.pieces = [(d, codes[picked]) for d, codes in self.pieces]
        return column

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

    def tolist(self) -> list[str]:
        """The texts as a list of ``str``."""
        texts: list[str] = self.objects().tolist()
        return texts

    def to_numpy(self) -> npt.NDArray[np.object_]:
        """The texts as a numpy ``object`` array of ``str``."""
        return self.objects()

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

    def to_arrow(
        self,
        absent: npt.NDArray[np.bool_] | None = None,
        *,
        chunk_rows: int = ARROW_CHUNK_ROWS,
    ) -> pa.ChunkedArray:
        """The texts as a pyarrow ``string`` chunked array (needs the ``arrow`` extra).

        Every dictionary goes into one Arrow string array; the codes of a chunk of rows,
        interleaved row by row (``rows x pieces``), are one ``take`` from it, whose bytes
        are the chunk's texts end to end: every ``pieces``-th offset is where a row
        starts. No Python string is made per row. The texts are allocated from Arrow's
        jemalloc pool when pyarrow has it, else from the system allocator, unless
        ``ARROW_DEFAULT_MEMORY_POOL`` names a pool: on Linux hosts whose transparent
        huge pages are on ``madvise``, first touches of fresh memory from Arrow's
        default mimalloc pool cost several times more system time.

        Args:
            absent: Rows that are null.
            chunk_rows: Rows per chunk of the result (fewer when the longest possible
                texts would not fit 32-bit offsets).
        """
        from keyaccount.portfolio.frames import require

        pa: Any = require("pyarrow")
        pc: Any = require("pyarrow.compute")
        pool = _text_pool(pa)
        pieces = self.pieces or [(("",), np.zeros(self.size, dtype=np.int32))]
        dictionaries = [d for d, _ in pieces]
        starts = np.cumsum([0, *(len(d) for d in dictionaries)])[:-1].astype(np.int32)
        strings = pa.array([s for d in dictionaries for s in d], type=pa.string())
        widest = sum(max(len(s.encode()) for s in d) for d in dictionaries)
        step = max(1, min(chunk_rows, (2**31 - 1) // max(widest, 1)))
        width = len(pieces)
        chunks = []
        for lo in range(0, self.size, step):
            hi = min(lo + step, self.size)
            index = np.empty((hi - lo, width), dtype=np.int32)
            for q, (_, codes) in enumerate(pieces):
                np.add(codes[lo:hi], starts[q], out=index[:, q])
            joined = pc.take(strings, pa.array(index.reshape(-1)), memory_pool=pool)
            bounds = np.frombuffer(joined.buffers()[1], dtype=np.int32)
            offsets = bounds[joined.offset : joined.offset + index.size + 1 : width].copy()
            data = joined.buffers()[2] or pa.py_buffer(b"")
            validity, nulls = None, 0
            if absent is not None and absent[lo:hi].any():
                validity = pa.py_buffer(np.packbits(~absent[lo:hi], bitorder="little"))
                nulls = int(absent[lo:hi].sum())
            chunks.append(
                pa.StringArray.from_buffers(hi - lo, pa.py_buffer(offsets), data, validity, nulls)
            )
        return pa.chunked_array(chunks, type=pa.string())


class ChunkedPieces:
    """The pieces of a :class:`TextColumn` built chunk by chunk, each dictionary shared.

    For every chunk of rows, :meth:`start` it, then :meth:`add` the same pieces in
    the same order; :meth:`column` gives the column. A piece's text is determined by
    an integer key per row, in every chunk: a key seen in an earlier chunk keeps its
    code, and ``render`` runs once per key never seen before. Working a chunk at a
    time keeps the temporaries small (in the caches and the heap, not fresh memory).

    Args:
        size: The number of rows of the column.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._texts: list[list[str]] = []
        self._keys: list[I64] = []  # per piece: the keys seen so far, ascending
        self._key_codes: list[npt.NDArray[np.int32]] = []  # and their codes
        self._codes: list[npt.NDArray[np.int32]] = []
        self._lo = 0
        self._piece = 0

    def __repr__(self) -> str:
        return short_repr(
            "ChunkedPieces", f"{number(self.size)} rows", f"{len(self._codes)} pieces"
        )

    def start(self, lo: int) -> None:
        """Begin the chunk whose first row is ``lo``."""
        self._lo = lo
        self._piece = 0

    def add(
        self, present: npt.NDArray[np.bool_], keys: npt.ArrayLike, render: Callable[[int], str]
    ) -> None:
        """The next piece on the chunk's ``present`` rows, keyed by ``keys``.

        Args:
            present: Rows of the chunk that get the piece.
            keys: One integer key per row of the chunk.
            render: The text of the chunk's row ``r`` (called once per new key).
        """
        q = self._piece
        self._piece += 1
        if q == len(self._codes):
            self._texts.append([])
            self._keys.append(np.zeros(0, dtype=np.int64))
            self._key_codes.append(np.zeros(0, dtype=np.int32))
            self._codes.append(np.zeros(self.size, dtype=np.int32))
        rows = np.flatnonzero(present)
        if not rows.size:
            return
        picked = np.asarray(keys, dtype=np.int64)[rows]
        local, first = factorize(picked)
        distinct = picked[first]  # ascending: factorize numbers keys in increasing order
        known = self._keys[q]
        at = np.searchsorted(known, distinct)
        hit = at < known.size
        hit[hit] = known[at[hit]] == distinct[hit]
        mapping = np.empty(distinct.size, dtype=np.int32)
        mapping[hit] = self._key_codes[q][at[hit]]
        new = np.flatnonzero(~hit)
        if new.size:
            texts = self._texts[q]
            codes = np.arange(len(texts) + 1, len(texts) + 1 + new.size, dtype=np.int32)
            texts.extend(render(int(rows[first[i]])) for i in new.tolist())
            mapping[new] = codes
            self._keys[q] = np.insert(known, at[new], distinct[new])
            self._key_codes[q] = np.insert(self._key_codes[q], at[new], codes)
        self._codes[q][self._lo + rows] = mapping[local]

    def column(self) -> TextColumn:
        """The column of every piece added (code 0 of each dictionary adds nothing)."""
        column = TextColumn(self.size)
        column.pieces = [
            (("", *texts), codes) for texts, codes in zip(self._texts, self._codes, strict=True)
        ]
        return column


def _text_pool(pa: Any) -> Any:
    """The memory pool :meth:`TextColumn.to_arrow` allocates the texts from."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return pa.default_memory_pool()
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:  # a pyarrow built without jemalloc
        return pa.system_memory_pool()


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


def fixed_keys(values: npt.ArrayLike, digits: int, *, start: int = 0) -> I64:
    """Integer keys that determine ``format(x, f".{digits}f")`` of each float ``x``.

    The key is ``2 * n + sign`` with ``n = round(|x| * 10**digits)`` as Python rounds
    (half to even on the exact binary value) and ``sign`` the sign bit, so ``-0.0``
    and ``0.0`` differ. Values within a rounding error of a tie are resolved by
    Python's formatting; a non-finite value or one beyond ``2**61 / 10**digits`` is
    its own key (``-1 - start - row``: ``start`` is the first row's number when the
    values are one chunk of a longer column).
    """
    return _blockwise(_fixed_block, np.asarray(values, dtype=np.float64), digits, start)


def _blockwise(keys_of: Callable[[F64, int, int], I64], x: F64, digits: int, start: int = 0) -> I64:
    """``keys_of(block, start, digits)`` over blocks of :data:`KEY_BLOCK` values."""
    flat = x.reshape(-1)
    if flat.size <= KEY_BLOCK:
        return keys_of(flat, start, digits).reshape(x.shape)
    out = np.empty(flat.size, dtype=np.int64)
    for lo in range(0, flat.size, KEY_BLOCK):
        out[lo : lo + KEY_BLOCK] = keys_of(flat[lo : lo + KEY_BLOCK], start + lo, digits)
    return out.reshape(x.shape)


def _fixed_block(x: F64, start: int, digits: int) -> I64:
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
    keys[own] = -1 - start - np.flatnonzero(own)
    return keys


def significant_keys(values: npt.ArrayLike, digits: int = 4) -> I64:
    """Integer keys that determine ``format(x, f".{digits}g")`` of each float ``x``.

    The key encodes the sign, the decimal exponent and the ``digits`` significant
    digits of ``x`` correctly rounded (the decimal that ``.4g`` prints); a zero is
    keyed by its sign alone, and values whose rounding is in doubt are resolved by
    Python's formatting.
    """
    return _blockwise(_significant_block, np.asarray(values, dtype=np.float64), digits)


def _significant_block(x: F64, start: int, digits: int) -> I64:
    del start  # no key depends on the row
    magnitude = np.abs(x)
    zero = magnitude == 0.0  # keyed like the rows in doubt, without formatting each
    odd = ~np.isfinite(x) | ~(magnitude > 1e-290) & ~zero | (magnitude > 1e290)
    safe = np.where(odd | zero, 1.0, magnitude)
    top = 10 ** (digits - 1)
    exponent = np.floor(np.log10(safe)).astype(np.int64)
    scaled = safe
    for _ in range(3):  # log10 may be one off near a power of ten
        shift = digits - 1 - exponent
        odd |= np.abs(shift) > 22  # beyond the exact powers of ten of float64
        power = _POWERS_OF_TEN[np.minimum(np.abs(shift), 22)]
        with np.errstate(over="ignore"):  # the product is not taken where it overflows
            scaled = np.where(shift >= 0, safe * power, safe / power)
        low, high = scaled < top, scaled >= 10 * top
        if not (low | high).any():
            break
        exponent = exponent - low + high
    slack = scaled * 2.0**-48
    odd |= (scaled < top + slack) | (scaled >= 10 * top - slack) | _near_half(scaled)
    odd &= ~zero
    mantissa = np.where(odd | zero, 0.0, np.rint(scaled)).astype(np.int64)
    carry = mantissa >= 10 * top  # 9999.5 and above round to the next power of ten
    mantissa = np.where(carry, top, mantissa)
    exponent = np.where(zero, -1024, np.where(carry, exponent + 1, exponent))
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
