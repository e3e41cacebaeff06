"""What a reader does with bad rows: :class:`ErrorPolicy` and the collector behind it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO, TypeAlias

import attrs

from keyaccount.exceptions import CsvImportError, CsvRowError, ValidationError
from keyaccount.io._quoting import csv_line
from keyaccount.utils import PendingOutput, output_error

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["REJECT_COLUMNS", "ErrorPolicy", "Problem", "ProblemSink", "ProgressCallback"]

ProgressCallback: TypeAlias = Callable[[int, int, int], None]
"""``progress(rows_done, bytes_done, bytes_total)``, called as a reader advances."""

REJECT_COLUMNS: tuple[str, ...] = ("line", "column", "value", "reason")
"""Columns a reject file has after the columns of the rejected file's header."""

MAX_LISTED = 1000


def _opt_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def _check_listed(_: object, __: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(f"max_listed must be a whole number >= 1, got {value!r}")


@attrs.frozen
class ErrorPolicy:
    """What a CSV reader does with bad rows.

    Two modes:

    - *raise* (``ErrorPolicy()``, the default of every reader): the reader
      reads the whole file, then raises one
      :class:`~keyaccount.exceptions.CsvImportError` listing every bad row
      (the first ``max_listed`` of them as
      :class:`~keyaccount.exceptions.CsvRowError`, and how many more). A
      streaming reader stops yielding rows at the first bad one, so a caller
      that writes inside one transaction and rolls back on the error writes
      nothing.
    - *reject* (``ErrorPolicy.reject(path)``): good rows go on; every bad row
      is written to the reject file at ``path`` (created or overwritten, UTF-8)
      with the columns of the file's header, then ``line``, ``column``,
      ``value`` and ``reason``. Nothing is raised for bad rows.

    Example:
        >>> ErrorPolicy().mode, ErrorPolicy.reject("rejects.csv").mode
        ('raise', 'reject')

    Attributes:
        reject_path: The reject file, or ``None`` in raise mode.
        max_listed: At most this many rows are listed in the raised error.
    """

    reject_path: Path | None = attrs.field(default=None, converter=_opt_path)
    max_listed: int = attrs.field(default=MAX_LISTED, validator=_check_listed, kw_only=True)

    @classmethod
    def reject(cls, path: str | os.PathLike[str]) -> ErrorPolicy:
        """Keep good rows and write bad ones to the reject file at ``path``."""
        return cls(Path(path))

    @property
    def mode(self) -> Literal["raise", "reject"]:
        """``"raise"`` or ``"reject"``."""
        return "raise" if self.reject_path is None else "reject"


@attrs.frozen
class Problem:
    """One bad row: where it is, the column and value at fault and why."""

    line: int
    column: str | None
    value: str
    reason: str
    fields: tuple[str, ...] = ()


class ProblemSink:
    """Collects the bad rows of one file according to an :class:`ErrorPolicy`.

    In raise mode it keeps the first ``max_listed`` problems and counts the
    rest; :meth:`close` raises. In reject mode it writes every problem to the
    reject file as it comes.
    """

    def __init__(self, path: str, policy: ErrorPolicy, header: Sequence[str]) -> None:
        self.path = path
        self.policy = policy
        self.count = 0
        self._listed: list[CsvRowError] = []
        self._width = len(header)
        self._file: TextIO | None = None
        self._output: PendingOutput | None = None
        self._writer: Callable[[Sequence[object]], object] | None = None
        if policy.reject_path is not None:
            if policy.reject_path.exists() and os.path.samefile(policy.reject_path, path):
                raise ValidationError(
                    f"the reject file {policy.reject_path} is the file being read, {path}"
                )
            # Written beside the target and renamed onto it when the read succeeds:
            # a read that fails (a header error, an interrupt) leaves no reject file.
            self._output = PendingOutput(policy.reject_path)
            # surrogateescape writes back the very bytes of text that was not UTF-8.
            self._file = open(  # noqa: SIM115  (closed by close())
                self._output.path, "w", newline="", encoding="utf-8", errors="surrogateescape"
            )
            write = self._file.write
            self._writer = lambda fields: write(csv_line([str(f) for f in fields]))
            self._writer([*header, *REJECT_COLUMNS])

    @property
    def failed(self) -> bool:
        """Whether the policy raises and a bad row was seen: no more rows should be yielded."""
        return self.count > 0 and self._writer is None

    def add(self, problem: Problem) -> None:
        """Record one bad row."""
        self.count += 1
        if self._writer is not None:
            fields = list(problem.fields[: self._width])
            fields += [""] * (self._width - len(fields))
            column = "" if problem.column is None else problem.column
            try:
                self._writer([*fields, problem.line, column, problem.value, problem.reason])
            except OSError as exc:
                raise output_error(self.policy.reject_path or self.path, exc) from None
        elif len(self._listed) < self.policy.max_listed:
            self._listed.append(
                CsvRowError(self.path, problem.line, problem.column, problem.value, problem.reason)
            )

    def add_all(self, problems: Sequence[Problem]) -> None:
        """Record several bad rows, in line order."""
        for problem in sorted(problems, key=lambda p: p.line):
            self.add(problem)

    def close(self, *, check: bool = True) -> None:
        """Close the reject file; in raise mode raise the collected rows.

        Args:
            check: Raise :class:`CsvImportError` when rows were collected in raise mode.

        Raises:
            CsvImportError: raise mode and at least one bad row.
        """
        if self._file is not None:
            try:
                self._file.close()
            except OSError as exc:
                check = False
                raise output_error(self.policy.reject_path or self.path, exc) from None
            finally:
                self._file = None
                if self._output is not None:
                    # close() is the end of a read; close(check=False) alone, its failure
                    self._output.finish(ok=check)
        if check and self.count and self._writer is None:
            raise CsvImportError(self.path, self._listed, self.count)
