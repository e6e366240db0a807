"""How a pool task or a pool fails: one exception class per cause, each saying what to do.

A failed task's future raises exactly one of these, never after a silent retry:

- `RemoteError`: the task raised; carries the remote traceback and the exception itself when
  it could be pickled back;
- `TaskTimeout`: the task ran longer than its timeout; its worker was killed;
- `WorkerCrashed`: the worker died under the task (``os._exit``, a signal, a segfault, the
  OOM killer); says the exit code or the signal and ends with the worker's stderr;
- `BrokenPool`: the template died, or the pool was shut down before the task could run.

`PreloadError` is raised by the `WarmPool` constructor when a preload module fails to import
(with ``on_preload_error="fail"``, the default). Every one carries the task's captured
``stdout`` and ``stderr`` (text, possibly cut to the last bytes) where there were any.
"""

from __future__ import annotations

from hotstart.errors import HotstartError

__all__ = ["BrokenPool", "PoolError", "PreloadError", "RemoteError", "TaskTimeout",
           "WorkerCrashed"]

_TAIL_LINES = 20


class PoolError(HotstartError):
    """Base class of the pool's errors. ``str()`` is one line (then the stderr tail, if any)."""

    stdout: str = ""
    stderr: str = ""

    def _attach(self, stdout: str, stderr: str) -> None:
        self.stdout = stdout
        self.stderr = stderr


class PreloadError(PoolError):
    """A preload module failed to import in the template; ``.report`` has every module."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class BrokenPool(PoolError):
    """The pool can no longer run tasks: its template died, or it was shut down."""


class RemoteError(PoolError):
    """The task raised an exception in the worker.

    ``exception`` is that exception, unpickled (also set as ``__cause__``), or None when it
    could not travel; ``type_name`` and ``remote_traceback`` are always there.
    """

    def __init__(self, message: str, *, type_name: str, remote_traceback: str,
                 exception: "BaseException | None" = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.remote_traceback = remote_traceback
        self.exception = exception

    def __str__(self) -> str:
        return f"{self.args[0]}\n\nRemote traceback:\n{self.remote_traceback.rstrip()}"


class TaskTimeout(PoolError, TimeoutError):
    """The task exceeded its timeout; its worker was killed and a fresh one forked."""

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class WorkerCrashed(PoolError):
    """The worker running the task died: ``exitcode`` or ``signal`` says how."""

    def __init__(self, message: str, *, exitcode: "int | None" = None,
                 signal: "int | None" = None) -> None:
        super().__init__(message)
        self.exitcode = exitcode
        self.signal = signal

    def __str__(self) -> str:
        tail = stderr_tail(self.stderr)
        return f"{self.args[0]}\n--- worker stderr (last lines) ---\n{tail}" if tail else \
            str(self.args[0])


def stderr_tail(text: str, lines: int = _TAIL_LINES) -> str:
    """The last `lines` non-empty lines of `text`."""
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(kept)
