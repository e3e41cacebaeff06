r"""Opening CSV files, splitting them into blocks of whole lines, and CSV records.

Line numbers count ``\n`` characters: line 1 is the header, and a record
whose quoted field holds a line break is numbered by the line it starts on.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from typing import IO, TYPE_CHECKING, NamedTuple, cast

import numpy as np

from keyaccount.exceptions import CsvFileNotFoundError, CsvHeaderError, ValidationError
from keyaccount.io._formats import CsvFormat, Header, parse_header
from keyaccount.io.problems import ErrorPolicy, ProblemSink

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

__all__ = [
    "BOM",
    "CsvSource",
    "Malformed",
    "block_records",
    "csv_records",
    "decode",
    "open_csv",
    "read_blocks",
]

BOM = b"\xef\xbb\xbf"
HEADER_LIMIT = 128 * 1024
"""The longest header line read, in bytes (128 KiB); a longer one is refused."""


def decode(raw: bytes) -> str:
    """UTF-8 text; bytes that are not UTF-8 become lone surrogates (refused later)."""
    return raw.decode("utf-8", "surrogateescape")


class Malformed(NamedTuple):
    """Lines the ``csv`` module cannot read as a record, and its message."""

    text: str
    message: str


def csv_records(
    lines: Iterable[bytes], first_line: int
) -> Iterator[tuple[int, list[str] | Malformed]]:
    r"""The CSV records of ``lines`` with the number of the line each starts on.

    Blank lines are skipped. A record the ``csv`` module cannot read is given
    as :class:`Malformed` instead of a list of fields.

    Args:
        lines: Raw lines, split at ``\n``.
        first_line: The number of the first of ``lines``.
    """
    seen: list[str] = []

    def feed() -> Iterator[str]:
        for raw in lines:
            text = decode(raw)
            seen.append(text)
            yield text

    reader = csv.reader(feed())
    while True:
        start = first_line + reader.line_num
        seen.clear()
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, Malformed("".join(seen).rstrip("\r\n"), str(exc))
            continue
        if fields:
            yield start, fields


def block_records(data: bytes, first_line: int) -> tuple[list[int], list[list[str] | Malformed]]:
    r"""The CSV records of a block of whole lines, as :func:`csv_records` gives them.

    The same records and line numbers, made faster: the block is decoded at
    once and read by one ``csv.reader`` loop.

    Returns:
        The line each record starts on, and its fields (or :class:`Malformed`).
    """
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline="\n"))
    starts: list[int] = []
    records: list[list[str] | Malformed] = []
    add_start = starts.append
    add_record = records.append
    done = 0
    while True:
        try:
            for fields in reader:
                if fields:
                    add_start(first_line + done)
                    add_record(fields)
                done = reader.line_num
            return starts, records
        except csv.Error as exc:
            lines = text.split("\n")[done : reader.line_num]
            add_start(first_line + done)
            add_record(Malformed("\n".join(lines).rstrip("\r\n"), str(exc)))
            done = reader.line_num


def _quote_safe_cut(data: bytes, cut: int) -> int:
    """The end of the last line in ``data[:cut]`` not inside a quoted field (0: none)."""
    buf = np.frombuffer(data, dtype=np.uint8, count=cut)
    quotes = np.flatnonzero(buf == ord('"'))
    newlines = np.flatnonzero(buf == ord("\n"))
    even = np.flatnonzero((np.searchsorted(quotes, newlines) % 2) == 0)
    if not even.shape[0]:
        return 0
    return int(newlines[even[-1]]) + 1


def read_blocks(f: IO[bytes], block_bytes: int) -> Iterator[bytes]:
    r"""Blocks of about ``block_bytes`` bytes of whole lines.

    Every block but the last ends with ``\n``. A block never ends inside a
    quoted field of well-formed CSV (it ends at a line break with an even
    number of quote characters before it), so a record never spans two
    blocks. Only when a stray quote leaves no such line break in
    ``4 * block_bytes`` bytes (at least 1 MiB) is a block cut at its last
    line break all the same, to keep memory bounded.
    """
    limit = max(4 * block_bytes, 1 << 20)
    carry = b""
    while True:
        chunk = f.read(block_bytes)
        if not chunk:
            if carry:
                yield carry
            return
        data = carry + chunk if carry else chunk
        cut = data.rfind(b"\n") + 1
        if cut and data.find(b'"', 0, cut) >= 0:
            safe = _quote_safe_cut(data, cut)
            if safe or len(data) < limit:
                cut = safe
        if cut == 0:
            carry = data
            continue
        yield data[:cut] if cut < len(data) else data
        carry = data[cut:]


class _Transcoded(io.RawIOBase):
    """A file in another encoding read as UTF-8 bytes (bytes it cannot decode kept as they are).

    Line breaks are the same characters in both, so lines keep their numbers;
    ``tell`` gives the position in the file itself.
    """

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        super().__init__()
        self._raw = raw
        self._text = io.TextIOWrapper(raw, encoding=encoding, errors="surrogateescape", newline="")
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            data = self._pending + self._text.read().encode("utf-8", "surrogateescape")
            self._pending = b""
            return data
        while len(self._pending) < size:
            text = self._text.read(max(size // 2, 1))
            if not text:
                break
            self._pending += text.encode("utf-8", "surrogateescape")
        data, self._pending = self._pending[:size], self._pending[size:]
        return data

    def readline(self, size: int | None = -1) -> bytes:
        line = self._text.readline(-1 if size is None else size)
        return line.encode("utf-8", "surrogateescape")

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def tell(self) -> int:
        return self._raw.tell()

    def fileno(self) -> int:
        return self._raw.fileno()

    def close(self) -> None:
        self._raw.close()
        super().close()


def _check_encoding(encoding: str) -> str | None:
    """``None`` for UTF-8 (read as bytes), else the codec's name.

    Raises:
        ValidationError: an encoding Python does not know.
    """
    try:
        name = codecs.lookup(encoding).name
    except (LookupError, TypeError):
        raise ValidationError(
            f"unknown encoding {encoding!r}; give a Python codec name such as 'utf-8' or 'gbk'"
        ) from None
    return None if name in ("utf-8", "utf-8-sig") else name


class CsvSource:
    """An open CSV file whose header line was read and checked.

    Attributes:
        path: The file name, for messages.
        header: The checked header.
        size: The file's size in bytes.
        file: The file as UTF-8 bytes, positioned at the start of line 2.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fmt: CsvFormat,
        *,
        encoding: str = "utf-8",
        mapping: Mapping[str, str] | None = None,
    ) -> None:
        self.path = os.fspath(path)
        codec = _check_encoding(encoding)
        try:
            self.file: IO[bytes] = open(self.path, "rb")  # noqa: SIM115  (closed by close())
        except FileNotFoundError:
            raise CsvFileNotFoundError(self.path, f"{fmt.name} file") from None
        if codec is not None:
            self.file = cast("IO[bytes]", _Transcoded(self.file, codec))
        try:
            self.size = os.fstat(self.file.fileno()).st_size
            first = self.file.readline(HEADER_LIMIT + 1)
            first = first.removeprefix(BOM)
            line = first.removesuffix(b"\n").removesuffix(b"\r")
            if b"\r" in line:
                raise CsvHeaderError(
                    self.path,
                    "line breaks are a bare carriage return (CR, old Mac files); save the "
                    "file with LF or CR LF line breaks",
                )
            if len(first) > HEADER_LIMIT:
                raise CsvHeaderError(
                    self.path,
                    f"the header line is longer than {HEADER_LIMIT // 1024} KiB "
                    f"({HEADER_LIMIT:,} bytes); is this a {fmt.name} CSV file?",
                )
            try:
                fields = next(csv.reader([decode(line)]), None) if first else None
            except csv.Error as exc:
                raise CsvHeaderError(self.path, f"not valid CSV: {exc}") from None
            self.header: Header = parse_header(self.path, fmt, fields, mapping)
        except BaseException:
            self.file.close()
            raise

    def close(self) -> None:
        """Close the file."""
        self.file.close()

    def problems(self, errors: ErrorPolicy | ProblemSink) -> ProblemSink:
        """The sink for this file's bad rows (the file is closed if it cannot be made).

        A new sink for a policy, which the reader owns and closes; or the
        caller's sink, started with this file's header and left open.
        """
        try:
            if isinstance(errors, ProblemSink):
                errors.start(self.header.names)
                return errors
            return ProblemSink(self.path, errors, self.header.names)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CsvSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_csv(
    path: str | os.PathLike[str],
    fmt: CsvFormat,
    *,
    encoding: str = "utf-8",
    mapping: Mapping[str, str] | None = None,
) -> CsvSource:
    """Open ``path`` and check its header against ``fmt``.

    Args:
        path: The file.
        fmt: Its format.
        encoding: A Python codec name; UTF-8 (the default) may start with a
            byte order mark. Text in any other encoding is read as UTF-8.
        mapping: Column names of the file (see
            :func:`~keyaccount.io._formats.parse_header`).

    Raises:
        ValidationError: an unknown encoding.
        CsvFileNotFoundError: no such file.
        CsvHeaderError: a missing, unknown or repeated column, an empty file, a
            header line over :data:`HEADER_LIMIT` bytes, or bare CR line breaks.
    """
    return CsvSource(path, fmt, encoding=encoding, mapping=mapping)
