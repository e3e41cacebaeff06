r"""Where bad rows go: :class:`ErrorPolicy`, the :class:`ProblemSink` behind it, reject files.

A reader puts every bad row it finds into a :class:`ProblemSink`, which lists
them in one :class:`~keyaccount.exceptions.CsvImportError` or writes them to
a reject file, as its :class:`ErrorPolicy` says. A caller that checks the rows
further (the store: ids it already holds, months before a stored customer's
first period) creates the sink itself, hands it to the reader as ``errors``
and adds its own findings to the same sink, so that one error lists the bad
rows of both, or one reject file holds them. :func:`reject_files` gives each
file of a multi-file import its sink and reject file.

Example:
    >>> import pathlib, tempfile
    >>> from keyaccount.io import iter_revenue_csv
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "revenue.csv"
    >>> _ = p.write_text("customer_id,period,product_id,revenue,volume\n"
    ...                  "C1,2022-11,court_express,12.50,3\n", encoding="utf-8")
    >>> try:
    ...     with ProblemSink(str(p), ErrorPolicy()) as sink:
    ...         for batch in iter_revenue_csv(p, errors=sink):
    ...             sink.add(Problem(2, "customer_id", "C1", "not ours", ()))
    ... except Exception as exc:
    ...     print(exc.exceptions[0].reason)
    not ours
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO, TypeAlias

import attrs

from keyaccount.exceptions import (
    CsvImportError,
    CsvRowError,
    KeyAccountError,
    ValidationError,
    shorten,
)
from keyaccount.io._quoting import csv_line
from keyaccount.utils import OutputGroup, PendingOutput, atomic_outputs, output_error
from keyaccount.utils.display import short_repr

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from types import TracebackType

__all__ = [
    "REJECT_COLUMNS",
    "ErrorPolicy",
    "Problem",
    "ProblemSink",
    "ProgressCallback",
    "RejectFiles",
    "reject_files",
]

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
    """One bad row: where it is, the column and value at fault and why.

    Attributes:
        line: The row's line in its file (the header is line 1).
        column: The column at fault, ``None`` for a whole-row problem.
        value: The offending text.
        reason: Why the row is refused.
        fields: The row's fields in the order of the file's header (what a
            reject file shows of it).
    """

    line: int
    column: str | None
    value: str
    reason: str
    fields: tuple[str, ...] = ()

    def __repr__(self) -> str:
        fields = f"{len(self.fields)} fields"
        facts = {"line": self.line, "column": self.column, "value": self.value}
        return short_repr("Problem", shorten(self.reason, 200), fields, **facts)


class ProblemSink:
    """Collects the bad rows of one file (or other source) according to an :class:`ErrorPolicy`.

    In raise mode it keeps the first ``max_listed`` problems and counts the
    rest; :meth:`close` raises them, in line order. In reject mode it writes
    every problem to the reject file as it comes; the file is written beside
    its target and renamed onto it by :meth:`close` (a failed read leaves no
    reject file).

    A reader given a sink as ``errors`` writes the reject file's header when
    it has read the file's own (:meth:`start`) and leaves the sink open for
    the caller's findings; it still raises, through the sink, when it finds
    bad rows itself in raise mode. Used as a context manager, a sink is
    closed at the end of the block (raising in raise mode), or, when the
    block fails, closed without raising and with its reject file removed.

    Args:
        path: The file, as named in messages.
        policy: What to do with bad rows.
        header: The file's header; given later with :meth:`start` when the
            file is yet to be opened, and not needed in raise mode.

    Raises:
        ValidationError: the reject file is the file being read.
        OutputError: the reject file cannot be created.
    """

    def __init__(self, path: str, policy: ErrorPolicy, header: Sequence[str] | None = None) -> None:
        self.path = path
        self.policy = policy
        self.count = 0
        self._listed: list[CsvRowError] = []
        self._keys: tuple[str, ...] = ()
        self._started = False
        self._file: TextIO | None = None
        self._output: PendingOutput | None = None
        self._writer: Callable[[Sequence[object]], object] | None = None
        reject = policy.reject_path
        if reject is not None and reject.exists() and os.path.samefile(reject, path):
            raise ValidationError(f"the reject file {reject} is the file being read, {path}")
        if header is not None:
            self.start(header)

    def start(self, header: Sequence[str]) -> None:
        """Take the file's header: the reject file (reject mode) begins with it and ``line``, ...

        Later calls do nothing.
        """
        if self._started:
            return
        self._started = True
        self._keys = tuple(name.strip().lower() for name in header)
        if self.policy.reject_path is None:
            return
        # Written beside the target and renamed onto it when the read succeeds:
        # a read that fails (a header error, an interrupt) leaves no reject file.
        self._output = PendingOutput(self.policy.reject_path)
        # surrogateescape writes back the very bytes of text that was not UTF-8.
        self._file = open(  # noqa: SIM115  (closed by close())
            self._output.path, "w", newline="", encoding="utf-8", errors="surrogateescape"
        )
        write = self._file.write
        self._writer = lambda fields: write(csv_line([str(f) for f in fields]))
        self._writer([*header, *REJECT_COLUMNS])

    @property
    def failed(self) -> bool:
        """Whether the policy raises and a bad row was seen: no rows should be written."""
        return self.count > 0 and self.policy.reject_path is None

    def fields_of(self, values: Mapping[str, str]) -> tuple[str, ...]:
        """A row's fields in the header's order, from its values by column name (others empty)."""
        return tuple(values.get(key, "") for key in self._keys)

    def add(self, problem: Problem) -> None:
        """Record one bad row.

        Raises:
            OutputError: the reject file cannot be written.
        """
        self.count += 1
        if self.policy.reject_path is None:
            if len(self._listed) < self.policy.max_listed:
                self._listed.append(
                    CsvRowError(
                        self.path, problem.line, problem.column, problem.value, problem.reason
                    )
                )
            return
        if self._writer is None:
            raise ValidationError(f"the reject file of {self.path} is not started or closed")
        width = len(self._keys)
        fields = list(problem.fields[:width])
        fields += [""] * (width - len(fields))
        column = "" if problem.column is None else problem.column
        try:
            self._writer([*fields, problem.line, column, problem.value, problem.reason])
        except OSError as exc:
            raise output_error(self.policy.reject_path, exc) from None

    def add_all(self, problems: Sequence[Problem]) -> None:
        """Record several bad rows, in line order."""
        for problem in sorted(problems, key=lambda p: p.line):
            self.add(problem)

    def close(self, *, check: bool = True) -> None:
        """Close the reject file; in raise mode raise the collected rows.

        Later calls only raise again (with ``check``).

        Args:
            check: Raise :class:`CsvImportError` when rows were collected in
                raise mode, and keep the reject file; ``False`` (after a
                failure) removes it.

        Raises:
            CsvImportError: raise mode and at least one bad row.
        """
        if self._file is not None:
            self._writer = None
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
        if check and self.failed:
            listed = sorted(self._listed, key=lambda e: e.line)
            raise CsvImportError(self.path, listed, self.count)

    def __enter__(self) -> ProblemSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(check=exc_type is None)


# ---------------------------------------------------------------- reject files


class RejectFiles:
    """The sinks of the files of one import; see :func:`reject_files`.

    Attributes:
        directory: Where the reject files go (``None``: bad rows raise).
        files: The reject files handed out so far, in order.
    """

    def __init__(self, directory: Path | None, group: OutputGroup) -> None:
        self.directory = directory
        self.files: list[Path] = []
        self._group = group
        self._sinks: list[ProblemSink] = []
        self._temporaries: list[Path] = []

    def sink(self, path: str | os.PathLike[str]) -> ProblemSink:
        """The sink for the bad rows of ``path``: ``<directory>/<file name>.rejects.csv``.

        Pass it to the reader as ``errors`` and close it (or use it as a
        context manager) when the file's rows are checked.

        Raises:
            OutputError: the reject file cannot be created.
        """
        source = Path(path)
        if self.directory is None:
            policy = ErrorPolicy()
        else:
            target = self.directory / f"{source.name}.rejects.csv"
            temporary = self._group.add(target)
            self.files.append(target)
            self._temporaries.append(temporary)
            policy = ErrorPolicy.reject(temporary)
        sink = ProblemSink(os.fspath(source), policy)
        self._sinks.append(sink)
        return sink

    @property
    def rejected(self) -> int:
        """Bad rows written to the reject files so far."""
        return sum(s.count for s in self._sinks if s.policy.reject_path is not None)

    def discard(self) -> None:
        """Remove the reject files of a failed import (also inside a caller's output group)."""
        for path in self._temporaries:
            with contextlib.suppress(OSError):
                path.unlink()


@contextlib.contextmanager
def reject_files(
    directory: str | os.PathLike[str] | None, inputs: Sequence[str | os.PathLike[str]]
) -> Iterator[RejectFiles]:
    """Reject files for an import of several files, renamed into place when it succeeds.

    Each input ``name`` gets ``<directory>/<name>.rejects.csv`` from
    :meth:`RejectFiles.sink`. The directory (and its missing parents) is
    created on entry. The reject files are renamed into place when the block
    ends without an error (inside :func:`~keyaccount.utils.atomic_outputs`,
    when the outermost block does); when it fails they are removed, with the
    directories this call created. Without a directory every sink raises.

    Args:
        directory: Where the reject files go, or ``None``.
        inputs: The files to be read (their names must differ).

    Raises:
        ValidationError: two inputs share a name (their reject files would clash).
        OutputError: the directory or a reject file cannot be created or written.
    """
    root = None if directory is None else Path(directory)
    if root is not None:
        files = [Path(p) for p in inputs]
        names = [p.name for p in files]
        if len(set(names)) != len(names):
            raise ValidationError(
                f"input files {', '.join(map(str, files))} share a name; their reject "
                f"files in {root} would clash"
            )
    made = [] if root is None else _make_directory(root)
    rejects: RejectFiles | None = None
    try:
        with atomic_outputs() as group:
            rejects = RejectFiles(root, group)
            yield rejects
    except OSError as exc:
        _clean_up(rejects, made)
        if root is None or isinstance(exc, KeyAccountError) or exc.filename is not None:
            raise
        # Writing a reject file failed (a full disk, a read-only file system).
        raise output_error(root, exc, "cannot write reject files in") from None
    except BaseException:
        _clean_up(rejects, made)
        raise


def _clean_up(rejects: RejectFiles | None, made: list[Path]) -> None:
    if rejects is not None:
        rejects.discard()
    _remove_empty_directories(made)


def _make_directory(path: Path) -> list[Path]:
    """Create ``path`` and its missing parents; the directories created, deepest first.

    Raises:
        OutputError: a directory cannot be created.
    """
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty_directories(missing)
        raise output_error(path, exc, "cannot create the reject directory") from None
    return missing


def _remove_empty_directories(paths: list[Path]) -> None:
    """Remove the directories an import created, deepest first, where they are empty."""
    for path in paths:
        with contextlib.suppress(OSError):
            path.rmdir()
