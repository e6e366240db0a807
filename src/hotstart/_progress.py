"""Progress for multi-run work: a live bar on a terminal, plain lines otherwise.

The bar is drawn with rich (the ``tools`` extra), imported only when a bar is shown; without
rich, a terminal gets the plain lines too."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """A `ProgressCallback` (call it as progress(what, done, total)) and context manager."""

    def __init__(self, title: str, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        from ._text import printable

        self.title = printable(title)
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._task: Any = None
        self._started = time.monotonic()

    def __enter__(self) -> Progress:
        if self.enabled and self.stream.isatty():
            try:
                from rich.console import Console
                from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar,
                                           SpinnerColumn, TextColumn, TimeElapsedColumn)
            except ImportError:  # installed without the tools extra: plain lines
                return self

            # Not markup: titles quote targets and files ("[/x]" would raise MarkupError).
            self._bar = Bar(SpinnerColumn(), TextColumn("{task.description}", markup=False),
                            BarColumn(),
                            MofNCompleteColumn(), TimeElapsedColumn(),
                            console=Console(file=self.stream), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.title, total=None)
        return self

    def __call__(self, what: str, done: int, total: int) -> None:
        """One step. `total` 0: a step of work whose length is not known (plain lines then
        carry the elapsed time)."""
        if not self.enabled:
            return
        from ._text import printable

        what = printable(what)
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or None,
                             description=f"{self.title}: {what}")
        elif not total:
            elapsed = int(time.monotonic() - self._started)
            self.stream.write(f"hotstart: {what} [{elapsed // 60}:{elapsed % 60:02d} "
                              f"elapsed]\n")
            self.stream.flush()
        elif done < total:
            self.stream.write(f"hotstart: [{done + 1}/{total}] {what}\n")
            self.stream.flush()

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
