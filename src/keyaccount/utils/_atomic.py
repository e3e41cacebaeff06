"""Atomic file outputs: write beside the target, rename into place when everything succeeded.

Every file keyaccount writes (CSV exports, reject files, graph exports) goes
through :func:`atomic_path`: the data is written to a temporary file in the
target's directory (``.<name>.<random>.tmp``) and renamed over the target
with :func:`os.replace` (atomic on POSIX and Windows) only at the end. A
failure part-way removes the temporary file and leaves an earlier file of
the same name as it was.

Several outputs of one command commit together: inside
:func:`atomic_outputs` every :func:`atomic_path` is held back until the
outermost block ends without an error, then all are renamed; on an error all
temporaries are removed and no target changes. (The renames themselves are
one after another: a rename that fails after an earlier one succeeded, which
takes a change to the directory during those microseconds, leaves the
earlier target replaced.)

Files are not ``fsync``-ed: a rename makes the output all-or-nothing for
other processes, not durable across a power cut, which no output here needs.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from keyaccount.exceptions import OutputError, shorten

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["OutputGroup", "PendingOutput", "atomic_outputs", "atomic_path", "output_error"]


def output_error(
    path: str | os.PathLike[str], exc: OSError, doing: str = "cannot write"
) -> OutputError:
    """An :class:`OutputError` naming ``path`` and why ``exc`` says it failed."""
    target = os.fspath(path)
    reason = exc.strerror or str(exc) or type(exc).__name__
    hint = ""
    if isinstance(exc, FileNotFoundError):
        hint = f"; create the directory {os.path.dirname(os.path.abspath(target))} first"
    elif isinstance(exc, PermissionError) or getattr(exc, "errno", None) == 30:  # EROFS
        hint = "; write to a directory you may write to"
    elif getattr(exc, "errno", None) in (28, 122):  # ENOSPC, EDQUOT
        hint = "; free some space or write elsewhere"
    return OutputError(target, f"{doing} {shorten(target)}: {reason}{hint}")


def _mode(target: Path) -> int:
    """Permissions for a new output: the existing file's, or 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        pass
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


class OutputGroup:
    """Temporary outputs waiting to be renamed onto their targets together."""

    def __init__(self) -> None:
        self._pending: list[tuple[Path, Path]] = []

    def add(self, target: str | os.PathLike[str]) -> Path:
        """A new, empty temporary file beside ``target``, to be renamed onto it at commit.

        A ``target`` that exists and is neither a regular file nor a directory
        (a device such as ``/dev/stdout``, a pipe) is returned itself, to be
        written in place.

        Raises:
            OutputError: the directory is missing, not writable, or full.
        """
        final = Path(target)
        with contextlib.suppress(OSError):
            mode = final.stat().st_mode
            if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
                # A device or a pipe (/dev/stdout, a FIFO) is written in place: renaming a
                # file over it would replace the device node.
                return final
        if final.is_dir():
            raise OutputError(
                os.fspath(final),
                f"cannot write {shorten(os.fspath(final))}: it is a directory; give a file name",
            )
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{final.name}.",
                suffix=".tmp",
                dir=final.parent if str(final.parent) else ".",
            )
            os.close(fd)
            os.chmod(name, _mode(final))
        except OSError as exc:
            raise output_error(final, exc) from None
        temp = Path(name)
        self._pending.append((temp, final))
        return temp

    def commit(self) -> None:
        """Rename every temporary onto its target, in the order they were added.

        Raises:
            OutputError: a rename failed; the temporaries not yet renamed are removed.
        """
        try:
            while self._pending:
                temp, final = self._pending[0]
                try:
                    os.replace(temp, final)
                except OSError as exc:
                    raise output_error(final, exc) from None
                self._pending.pop(0)
        finally:
            self.discard()

    def discard(self) -> None:
        """Remove every temporary not yet renamed (the targets are left as they were)."""
        pending, self._pending = self._pending, []
        for temp, _ in pending:
            with contextlib.suppress(OSError):
                temp.unlink()


_GROUP: contextvars.ContextVar[OutputGroup | None] = contextvars.ContextVar(
    "keyaccount_output_group", default=None
)


@contextlib.contextmanager
def atomic_outputs() -> Iterator[OutputGroup]:
    """Hold back every :func:`atomic_path` inside the block; rename all at its successful end.

    Nested blocks join the outermost one. On an exception (``KeyboardInterrupt``
    included) every temporary is removed and no target changes.
    """
    current = _GROUP.get()
    if current is not None:
        yield current
        return
    group = OutputGroup()
    token = _GROUP.set(group)
    try:
        yield group
    except BaseException:
        group.discard()
        raise
    finally:
        _GROUP.reset(token)
    group.commit()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    r"""A temporary path to write ``target``'s content to; renamed onto ``target`` at the end.

    Outside :func:`atomic_outputs` the rename happens when this block ends
    without an error; inside, when the outermost :func:`atomic_outputs` does.
    ``OSError`` raised while writing becomes :class:`OutputError` naming ``target``.

    Example:
        >>> import tempfile, pathlib
        >>> target = pathlib.Path(tempfile.mkdtemp()) / "out.csv"
        >>> with atomic_path(target) as temp:
        ...     _ = temp.write_text("a,b\n")
        >>> target.read_text()
        'a,b\n'
    """
    with atomic_outputs() as group:
        temp = group.add(target)
        try:
            yield temp
        except OutputError:
            raise
        except OSError as exc:
            raise output_error(target, exc) from None


class PendingOutput:
    """One output filled over time (a reject file written as bad rows come).

    :attr:`path` is the temporary to write; :meth:`finish` with ``ok=True``
    renames it onto the target at once (also inside :func:`atomic_outputs`:
    the caller may read or extend the finished file), with ``ok=False``
    removes it.

    Args:
        target: The file to be written.

    Raises:
        OutputError: the temporary cannot be made beside ``target``.
    """

    def __init__(self, target: str | os.PathLike[str]) -> None:
        self._group = OutputGroup()
        self.path = self._group.add(target)
        self._done = False

    def finish(self, *, ok: bool) -> None:
        """Commit (``ok``) or remove the output; later calls do nothing."""
        if self._done:
            return
        self._done = True
        if ok:
            self._group.commit()
        else:
            self._group.discard()
