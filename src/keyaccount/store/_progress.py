"""Progress bars for long imports and exports, in a terminal or a notebook (rich)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Final

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["Reporter", "reporter", "wants_progress"]

ProgressCallback = Callable[[int, int, int], None]

_UNKNOWN: Final = None


def wants_progress(progress: bool | None, console: Console) -> bool:
    """Whether to show progress: as asked, or (``None``) when in a terminal or a notebook."""
    if progress is not None:
        return progress
    return console.is_terminal or console.is_jupyter


class Reporter:
    """Hands out progress callbacks, one bar per file or phase; does nothing when disabled."""

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress

    def file(self, label: str) -> ProgressCallback | None:
        """A callback ``(rows_done, bytes_done, bytes_total)`` driving a new bar."""
        progress = self._progress
        if progress is None:
            return None
        task = progress.add_task(label, total=_UNKNOWN, rows=0)

        def update(rows: int, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total or _UNKNOWN, rows=rows)

        return update

    def phase(self, label: str) -> TaskID | None:
        """Start an open-ended phase (building indexes); see :meth:`done`."""
        if self._progress is None:
            return None
        return self._progress.add_task(label, total=_UNKNOWN, rows=0)

    def done(self, task: TaskID | None) -> None:
        """Mark a phase finished."""
        if self._progress is not None and task is not None:
            self._progress.update(task, total=1, completed=1)


@contextmanager
def reporter(progress: bool | None) -> Iterator[Reporter]:
    """A :class:`Reporter` showing bars on stderr when ``progress`` asks for it (see above)."""
    console = Console(stderr=True)
    if not wants_progress(progress, console):
        yield Reporter(None)
        return
    bars = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    with bars:
        yield Reporter(bars)
