r"""The vectorised block parser: a block of CSV lines to numpy columns.

A block (see :func:`keyaccount.io._lines.read_blocks`) that holds no quote
character, no NUL byte and no carriage return other than in ``\r\n`` is
split into lines and fields with a handful of array operations over its
bytes. Each column is then converted as a whole: fields are gathered into a
small ``uint8`` matrix, one row per character position, checked with
comparisons and summed into integers (Horner's rule, column by column).

Every row a check refuses is handed back untouched; the reader passes it to
the reference parser (:mod:`keyaccount.io._fields`), which decides, and which
says why. The checks here accept exactly the rows the reference accepts, and
give the same values (a property test holds them to that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from keyaccount.io._fields import MAX_FEN_DIGITS, MAX_VOLUME_DIGITS, MIN_YEAR

if TYPE_CHECKING:
    from collections.abc import Callable, Container, Sequence

__all__ = [
    "PAD",
    "Block",
    "ProductTable",
    "Scratch",
    "block_is_simple",
    "parse_compact_dates",
    "parse_dates",
    "parse_distinct",
    "parse_ids",
    "parse_money",
    "parse_periods",
    "parse_whole",
    "split_block",
]

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
Bool = npt.NDArray[np.bool_]
Obj = npt.NDArray[np.object_]

PAD = 64
"""Padding around a block's bytes; longer fields are left to the reference parser."""
_NL, _COMMA, _CR, _DASH, _DOT, _COLON, _ZERO = 10, 44, 13, 45, 46, 58, 48
_MAX_MONEY_CHARS = 1 + MAX_FEN_DIGITS + 3
_WHITESPACE = np.zeros(256, dtype=np.bool_)
_WHITESPACE[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = True  # str.isspace() in ASCII
_HIGH_BITS = np.uint64(0x8080808080808080)
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int32)


_NOT_CONTROL = bytes(b for b in range(256) if b >= 0x20 and b != 0x7F) + b"\t\n\r"


def has_control(data: bytes) -> bool:
    """Whether ``data`` holds a control byte other than tab and line breaks (NUL, DEL, ...)."""
    return bool(data.translate(None, _NOT_CONTROL))


def block_is_simple(data: bytes) -> bool:
    """Whether ``data`` can be split at commas and line breaks alone.

    A block with a control byte (NUL, ...) is not: the reference parser
    refuses the field that holds it.
    """
    if b'"' in data or has_control(data):
        return False
    if b"\r" not in data:
        return True
    return data.count(b"\r") == data.count(b"\r\n")


@attrs.frozen(eq=False)
class Block:
    r"""A simple block split into lines and fields.

    Attributes:
        data: The block's bytes.
        buf: The bytes with :data:`PAD` zero bytes before and after (and a
            final line break when the block had none); positions below are
            positions in ``buf``.
        n_lines: Lines in the block, blank ones included.
        line_start: Start of every line.
        line_end: End of every line's text (before ``\r\n`` or ``\n``).
        rows: Line index (0-based in the block) of every line with the right
            number of fields.
        odd: Line index of every non-blank line with a wrong number of fields.
        seps: ``(len(rows), width)`` position of the comma after each field
            (in the last column: of the line feed).
    """

    data: bytes
    buf: U8
    n_lines: int
    line_start: I64
    line_end: I64
    rows: I64
    odd: I64
    seps: I64

    def field(self, column: int) -> tuple[I64, I64]:
        """Start and end of field ``column`` in every row of :attr:`rows`."""
        start = self.line_start[self.rows] if column == 0 else self.seps[:, column - 1] + 1
        if column == self.seps.shape[1] - 1:
            end = self.line_end[self.rows]
        else:
            end = np.ascontiguousarray(self.seps[:, column])
        return start, end

    def fields(self, line: int) -> list[str]:
        """The fields of one line as text (for the reference parser)."""
        a = int(self.line_start[line]) - PAD
        b = int(self.line_end[line]) - PAD
        return self.data[a:b].decode("utf-8", "surrogateescape").split(",")


class Scratch:
    """Buffers reused from block to block of one reader.

    A fresh multi-megabyte array costs a page fault per 4 KiB when it is first
    written; reusing the same memory for every block halves the time to copy
    and scan a block. A block's arrays are only valid until the next block is
    split with the same scratch.
    """

    def __init__(self) -> None:
        self._bytes = np.zeros(0, dtype=np.uint8)
        self._flags = np.zeros(0, dtype=np.bool_)
        self._more = np.zeros(0, dtype=np.bool_)

    def arrays(self, size: int) -> tuple[U8, Bool, Bool]:
        """A byte buffer of ``size + 2 * PAD`` and two flag arrays of ``size``."""
        if self._bytes.shape[0] < size + 2 * PAD:
            grown = max(size + 2 * PAD, self._bytes.shape[0] * 5 // 4)
            self._bytes = np.zeros(grown, dtype=np.uint8)
            self._flags = np.zeros(grown, dtype=np.bool_)
            self._more = np.zeros(grown, dtype=np.bool_)
        return self._bytes[: size + 2 * PAD], self._flags[:size], self._more[:size]


def split_block(data: bytes, width: int, scratch: Scratch | None = None) -> Block:
    """Split a simple block (see :func:`block_is_simple`) into lines and fields."""
    n = len(data)
    closed = data.endswith(b"\n")
    size = n + (0 if closed else 1)
    buf, mask, more = (scratch or Scratch()).arrays(size)
    buf[:PAD] = 0
    buf[PAD + n :] = 0
    buf[PAD : PAD + n] = np.frombuffer(data, dtype=np.uint8)
    if not closed:
        buf[PAD + n] = _NL
    view = buf[PAD : PAD + size]
    np.equal(view, _NL, out=mask)
    mask |= np.equal(view, _COMMA, out=more)
    sep = np.flatnonzero(mask)
    sep += PAD
    is_nl = buf[sep] == _NL
    n_nl = int(np.count_nonzero(is_nl))
    if sep.shape[0] == n_nl * width and is_nl[width - 1 :: width].all():
        # Every line has the right number of fields (the usual case).
        seps = sep.reshape(-1, width)
        nl_pos = np.ascontiguousarray(seps[:, -1])
        rows = np.arange(seps.shape[0])
        odd = np.empty(0, dtype=np.int64)
    else:
        nl_index = np.flatnonzero(is_nl)
        nl_pos = sep[nl_index]
        rows = np.empty(0, dtype=np.int64)
        odd = rows
        seps = np.empty((0, width), dtype=np.int64)
    line_start = np.empty_like(nl_pos)
    if nl_pos.shape[0]:
        line_start[0] = PAD
        line_start[1:] = nl_pos[:-1] + 1
    line_end = nl_pos - ((buf[nl_pos - 1] == _CR) & (nl_pos > line_start))
    blank = line_end == line_start
    if seps.shape[0] and not blank.any():
        return Block(data, buf, int(nl_pos.shape[0]), line_start, line_end, rows, odd, seps)
    if not seps.shape[0]:
        commas = np.diff(nl_index, prepend=-1) - 1
    else:
        commas = np.full(nl_pos.shape[0], width - 1)
        nl_index = np.arange(width - 1, sep.shape[0], width)
    shaped = (commas == width - 1) & ~blank
    rows = np.flatnonzero(shaped)
    odd = np.flatnonzero(~shaped & ~blank)
    seps = sep[nl_index[rows][:, None] - (width - 1) + np.arange(width)[None, :]]
    return Block(data, buf, int(nl_pos.shape[0]), line_start, line_end, rows, odd, seps)


def _windows(buf: U8, first: I64, width: int) -> U8:
    """``(m, width)`` copies of ``buf[first[i] : first[i] + width]``."""
    return sliding_window_view(buf, width)[first]


def _gather_left(buf: U8, start: I64, length: I64, width: int, fill: int) -> U8:
    """``(width, m)`` bytes from ``start``; positions past ``length`` hold ``fill``."""
    chars = np.ascontiguousarray(_windows(buf, start, width).T)
    for k in range(width):
        np.copyto(chars[k], fill, where=length <= k)
    return chars


def _gather_right(buf: U8, end: I64, length: I64, width: int, fill: int) -> U8:
    """``(width, m)`` bytes ending at ``end``, right-aligned; positions before hold ``fill``."""
    chars = np.ascontiguousarray(_windows(buf, end - width, width).T)
    for k in range(width):
        np.copyto(chars[k], fill, where=length < width - k)
    return chars


def _horner(digits: U8) -> I64:
    value = np.zeros(digits.shape[1], dtype=np.int64)
    for row in digits:
        value *= 10
        value += row
    return value


def parse_periods(buf: U8, start: I64, end: I64) -> tuple[I32, Bool]:
    """``YYYY-MM`` fields as period ordinals, and which fields are valid."""
    length = end - start
    chars = _gather_left(buf, start, length, 7, 0)
    digits = chars - np.uint8(_ZERO)
    ok = (length == 7) & (chars[4] == _DASH) & (digits[[0, 1, 2, 3, 5, 6]] <= 9).all(axis=0)
    d = digits.astype(np.int32)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    ok &= (month >= 1) & (month <= 12) & (year >= MIN_YEAR)
    return (year * 12 + month - 1).astype(np.int32), ok


def parse_money(buf: U8, start: I64, end: I64) -> tuple[I64, Bool]:
    """Yuan fields (``-?digits[.d[d]]``) as fen, and which fields are valid."""
    length = end - start
    m = length.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    width = int(min(max(int(length.max()), 3), _MAX_MONEY_CHARS))
    chars = _gather_right(buf, end, length, width, _ZERO)
    negative = (length > 0) & (buf[start] == _DASH)
    signed = np.flatnonzero(negative & (length <= width))
    chars[width - length[signed], signed] = _ZERO
    dot3 = chars[width - 3] == _DOT
    dot2 = chars[width - 2] == _DOT
    chars[width - 3, dot3] = _ZERO
    chars[width - 2, dot2] = _ZERO
    digits = chars - np.uint8(_ZERO)
    whole = length - negative - np.where(dot3, 3, np.where(dot2, 2, 0))
    ok = (digits <= 9).all(axis=0) & ~(dot3 & dot2) & (length <= _MAX_MONEY_CHARS)
    ok &= (whole >= 1) & (whole <= MAX_FEN_DIGITS)
    value = np.zeros(m, dtype=np.int64)
    for row in range(width):
        # The decimal point is not a digit: rows whose point is here keep their value.
        point = dot3 if row == width - 3 else dot2 if row == width - 2 else None
        if point is None:
            value *= 10
            value += digits[row]
        else:
            np.copyto(value, value * 10 + digits[row], where=~point)
    fen = value * np.where(dot3, 1, np.where(dot2, 10, 100))
    return np.where(negative, -fen, fen), ok


def parse_whole(buf: U8, start: I64, end: I64) -> tuple[I64, Bool]:
    """Whole numbers ``>= 0`` (empty means 0), and which fields are valid."""
    length = end - start
    m = length.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    width = int(min(max(int(length.max()), 1), MAX_VOLUME_DIGITS))
    digits = _gather_right(buf, end, length, width, _ZERO) - np.uint8(_ZERO)
    ok = (digits <= 9).all(axis=0) & (length <= MAX_VOLUME_DIGITS)
    return _horner(digits), ok


def _civil_days(
    year: npt.NDArray[np.int32], month: npt.NDArray[np.int32], day: npt.NDArray[np.int32]
) -> I32:
    """Days since 1970-01-01 of valid calendar dates (garbage in, garbage out elsewhere)."""
    y = year.astype(np.int64) - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    m = month.astype(np.int64)
    doy = (153 * np.where(m > 2, m - 3, m + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days: I32 = (era * 146097 + doe - 719468).astype(np.int32)
    return days


def _date_ok(
    year: npt.NDArray[np.int32], month: npt.NDArray[np.int32], day: npt.NDArray[np.int32]
) -> Bool:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    days = _DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    ok: Bool = (month >= 1) & (month <= 12) & (day >= 1) & (day <= days) & (year >= MIN_YEAR)
    return ok


def parse_dates(buf: U8, start: I64, end: I64) -> tuple[I32, Bool]:
    """``YYYY-MM-DD[( |T)HH:MM:SS]`` fields as days since 1970-01-01, and which are valid."""
    length = end - start
    chars = _gather_left(buf, start, length, 19, 0)
    d = (chars - np.uint8(_ZERO)).astype(np.int32)
    date_digits = [0, 1, 2, 3, 5, 6, 8, 9]
    ok = ((length == 10) | (length == 19)) & (chars[4] == _DASH) & (chars[7] == _DASH)
    ok &= ((d[date_digits] >= 0) & (d[date_digits] <= 9)).all(axis=0)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[5] * 10 + d[6]
    day = d[8] * 10 + d[9]
    ok &= _date_ok(year, month, day)
    timed = length == 19
    time_digits = [11, 12, 14, 15, 17, 18]
    time_ok = ((chars[10] == ord("T")) | (chars[10] == ord(" "))) & (chars[13] == _COLON)
    time_ok &= (chars[16] == _COLON) & ((d[time_digits] >= 0) & (d[time_digits] <= 9)).all(axis=0)
    time_ok &= (d[11] * 10 + d[12] <= 23) & (d[14] * 10 + d[15] <= 59) & (d[17] * 10 + d[18] <= 59)
    ok &= ~timed | time_ok
    return _civil_days(year, month, day), ok


def parse_compact_dates(buf: U8, start: I64, end: I64) -> tuple[I32, Bool]:
    """``YYYYMMDD`` fields as days since 1970-01-01, and which are valid."""
    length = end - start
    chars = _gather_left(buf, start, length, 8, 0)
    d = (chars - np.uint8(_ZERO)).astype(np.int32)
    ok = (length == 8) & ((d >= 0) & (d <= 9)).all(axis=0)
    year = d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3]
    month = d[4] * 10 + d[5]
    day = d[6] * 10 + d[7]
    ok &= _date_ok(year, month, day)
    return _civil_days(year, month, day), ok


def parse_distinct(buf: U8, start: I64, end: I64, parse: Callable[[str], int]) -> tuple[I64, Bool]:
    """Fields through ``parse`` (text to a whole number, or an exception), each distinct text once.

    For columns with few distinct values, such as dates in a format of the
    user's: the fields are gathered, made unique, and only the distinct
    texts are parsed in Python. Fields longer than :data:`PAD` bytes are
    left to the reference parser.
    """
    length = end - start
    m = length.shape[0]
    if m == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.bool_)
    words, width = _words(buf, start, length)
    fixed = np.ascontiguousarray(words).view(f"S{width}").ravel()
    distinct, inverse = np.unique(fixed, return_inverse=True)
    values = np.zeros(distinct.shape[0], dtype=np.int64)
    good = np.zeros(distinct.shape[0], dtype=np.bool_)
    for i, raw in enumerate(distinct.tolist()):
        try:
            values[i] = parse(raw.decode("utf-8"))
        except Exception:  # the reference parser says why
            continue
        good[i] = True
    inverse = inverse.ravel()
    ok = good[inverse] & (length <= PAD) & (length > 0)
    # A field ending in NUL bytes would read as a shorter text: no such field here.
    return values[inverse], ok


_KEEP_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)
"""``_KEEP_BYTES[n]`` keeps the first ``n`` bytes of a little-endian word."""


def _words(buf: U8, start: I64, length: I64) -> tuple[npt.NDArray[np.uint64], int]:
    """Fields as rows of zero-padded 64-bit words, and the padded width in bytes."""
    longest = int(min(int(length.max()), PAD)) if length.shape[0] else 0
    width = max(8, -(-longest // 8) * 8)
    words = _windows(buf, start, width).view(np.uint64)
    for k in range(width // 8):
        # Column by column: numpy reduces and indexes short rows slowly.
        words[:, k] &= _KEEP_BYTES[np.clip(length - 8 * k, 0, 8)]
    return words, width


def _same_rows(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> Bool:
    """Whether each row of ``a`` equals the same row of ``b`` (word by word)."""
    same: Bool = a[:, 0] == b[:, 0]
    for k in range(1, a.shape[1]):
        same &= a[:, k] == b[:, k]
    return same


def parse_ids(
    buf: U8,
    start: I64,
    end: I64,
    known: Container[str] | None = None,
    *,
    free_text: bool = False,
) -> tuple[Obj, Bool]:
    """Customer id fields as ``str`` (an object array), and which are valid.

    Valid: not empty, no spaces around, valid UTF-8, at most :data:`PAD`
    bytes, and in ``known`` when given. Runs of equal ids share one ``str``.
    With ``free_text`` (a name column) only the UTF-8 and length checks apply.
    """
    length = end - start
    m = length.shape[0]
    if m == 0:
        return np.empty(0, dtype=object), np.zeros(0, dtype=np.bool_)
    words, width = _words(buf, start, length)
    new = np.empty(m, dtype=np.bool_)
    new[0] = True
    np.logical_not(_same_rows(words[1:], words[:-1]), out=new[1:])
    heads = np.flatnonzero(new)
    which = np.cumsum(new) - 1
    head_words = words[heads]
    raw = head_words.view(f"S{width}").ravel().tolist()
    texts = [b.decode("utf-8", "surrogateescape") for b in raw]
    ok = length <= PAD
    if not free_text:
        ok &= length >= 1
        ok &= ~_WHITESPACE[buf[start]] & ~_WHITESPACE[buf[np.maximum(end - 1, 0)]]
    high = head_words[:, 0] & _HIGH_BITS
    for k in range(1, head_words.shape[1]):
        high |= head_words[:, k] & _HIGH_BITS
    wide = np.flatnonzero(high)
    if wide.shape[0]:
        head_ok = np.ones(len(texts), dtype=np.bool_)
        for i in wide.tolist():
            text = texts[i]
            head_ok[i] = (free_text or text == text.strip()) and _utf8(text)
        ok &= head_ok[which]
    if known is not None:
        head_known = np.fromiter((t in known for t in texts), dtype=np.bool_, count=len(texts))
        ok &= head_known[which]
    ids = np.empty(len(texts), dtype=object)
    ids[:] = texts
    return ids[which], ok


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_MULTIPLIERS = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93]
    + [0x27D4EB2F165667C5 + 2 * k for k in range(PAD // 8)],
    dtype=np.uint64,
)


def _hash(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    out = np.zeros(words.shape[0], dtype=np.uint64)
    for k in range(words.shape[1]):
        out ^= words[:, k] * _MULTIPLIERS[k]
        out = (out << np.uint64(7)) | (out >> np.uint64(57))
    return out


class ProductTable:
    """Looks up product id fields in a catalogue, vectorised.

    Args:
        product_ids: The catalogue's ids in order (the position is the code).
        default: Code of the product for an empty field, ``None`` if there is none.
    """

    def __init__(self, product_ids: Sequence[str], default: int | None) -> None:
        self.product_ids = tuple(product_ids)
        self.default = default
        self._tables: dict[int, tuple[npt.NDArray[np.uint64], I64, npt.NDArray[np.uint64], I64]]
        self._tables = {}

    def _table(self, width: int) -> tuple[npt.NDArray[np.uint64], I64, npt.NDArray[np.uint64], I64]:
        table = self._tables.get(width)
        if table is None:
            encoded = [p.encode() for p in self.product_ids]
            fits = [i for i, b in enumerate(encoded) if len(b) <= width]
            padded = np.zeros((len(fits), width), dtype=np.uint8)
            for row, i in enumerate(fits):
                padded[row, : len(encoded[i])] = np.frombuffer(encoded[i], dtype=np.uint8)
            words = padded.view(np.uint64).reshape(len(fits), width // 8)
            hashes = _hash(words)
            order = np.argsort(hashes, kind="stable")
            unique, counts = np.unique(hashes, return_counts=True)
            keep = order[np.isin(hashes[order], unique[counts == 1])]
            table = (
                hashes[keep],
                np.array(fits, dtype=np.int64)[keep],
                words[keep],
                np.array([len(encoded[fits[k]]) for k in keep], dtype=np.int64),
            )
            self._tables[width] = table
        return table

    def parse(self, buf: U8, start: I64, end: I64) -> tuple[I32, Bool]:
        """Product id fields as catalogue positions, and which are valid."""
        length = end - start
        m = length.shape[0]
        if m == 0:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.bool_)
        words, width = _words(buf, start, length)
        hashes, codes, known_words, known_length = self._table(width)
        empty = length == 0
        if codes.shape[0] == 0:
            found = np.zeros(m, dtype=np.bool_)
            code = np.zeros(m, dtype=np.int64)
        else:
            h = _hash(words)
            at = np.minimum(np.searchsorted(hashes, h), codes.shape[0] - 1)
            found = (hashes[at] == h) & (known_length[at] == length)
            found &= _same_rows(known_words[at], words)
            code = codes[at]
        if self.default is not None:
            code = np.where(empty, self.default, code)
            found |= empty
        return code.astype(np.int32), found & (length <= PAD)
