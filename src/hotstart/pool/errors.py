"""How a pool task or a pool fails: one exception class per cause, each saying what to do.

A task that raised completes with the exception it raised, as with `ProcessPoolExecutor`:
``except ZeroDivisionError:`` around ``future.result()`` works. Its ``__cause__`` is a
`RemoteError` that carries the remote traceback (shown under it when uncaught), the worker,
and the task's captured output. Otherwise a failed task's future raises exactly one of these,
never after a silent retry:

- `RemoteError`: the task raised an exception that cannot be raised in the parent as itself
  (it could not be pickled or unpickled, or it is a `BaseException` that is not an
  `Exception`: `SystemExit`, `KeyboardInterrupt`, which would end or interrupt the parent),
  or its result could not be sent back or loaded;
- `TaskTimeout`: the task ran longer than its timeout; its worker was killed;
- `WorkerCrashed`: the worker died under the task (``os._exit``, a signal, a segfault, the
  OOM killer); says the exit code or the signal and ends with the worker's stderr;
- `BrokenPool` (a `concurrent.futures.BrokenExecutor`, so a `RuntimeError`): the template
  died, the pool was shut down before the task could run, or it is used in a process forked
  from the one that created it.

`PreloadError` is raised by the `WarmPool` constructor when a preload module fails to import
(with ``on_preload_error="fail"``, the default). Every one carries the task's captured
``stdout`` and ``stderr`` (text, possibly cut to the last bytes) where there were any.
"""

from __future__ import annotations

from concurrent.futures import BrokenExecutor

from hotstart.errors import HotstartError

__all__ = ["BrokenPool", "CodeError", "PoolError", "PreloadError", "RemoteError",
           "TaskTimeout", "WorkerCrashed"]

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


class BrokenPool(PoolError, BrokenExecutor):
    """The pool can no longer run tasks: its template died, it was shut down, or this process
    was forked from the one that created it.

    A `concurrent.futures.BrokenExecutor`, hence a `RuntimeError`: what the `Executor`
    contract says `submit` raises after `shutdown`.
    """


class RemoteError(PoolError):
    """What the worker said about an exception its task raised.

    Raised by ``result()`` only when the exception itself cannot be raised in the parent;
    otherwise it is the ``__cause__`` of the exception ``result()`` raises. ``exception`` is
    the task's exception, unpickled, or None when it could not travel (when raised, it is
    also the ``__cause__``); ``type_name`` and ``remote_traceback`` are always there.
    """

    def __init__(self, message: str, *, type_name: str, remote_traceback: str,
                 exception: BaseException | None = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.remote_traceback = remote_traceback
        self.exception = exception

    def __str__(self) -> str:
        return f"{self.args[0]}\n\nRemote traceback:\n{self.remote_traceback.rstrip()}"


class CodeError(RemoteError):
    """A source-code task (``run_code``) could not run its function: the code does not
    compile, its module body raised, or it defines no such function. The message is one line
    and names the code's line where there is one (``line``)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message, type_name="hotstart.pool.errors.CodeError",
                         remote_traceback="")
        self.line = line

    def __reduce__(self) -> tuple:
        return type(self), (self.args[0], self.line)

    def __str__(self) -> str:
        return str(self.args[0])


class TaskTimeout(PoolError, TimeoutError):
    """The task exceeded its timeout; its worker was killed and a fresh one forked."""

    def __init__(self, message: str, *, timeout: float) -> None:
        super().__init__(message)
        self.timeout = timeout


class WorkerCrashed(PoolError):
    """The worker running the task died: ``exitcode`` or ``signal`` says how."""

    def __init__(self, message: str, *, exitcode: int | None = None,
                 signal: int | None = None) -> None:
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
