"""A task on the parent's side: its payload, its captured output, what it ends with.

- `Task`: what the parent keeps of a submitted call until its future completes (the payload
  sent to the worker, the future, when it was dispatched and its deadline);
- `dumps` / `name_of`: pickling ``(fn, args, kwargs)`` for the worker (plain pickle, or
  cloudpickle for what plain pickle cannot send by name) and the label a task is known by;
- `remote_error`: what a task that raised completes with (its own exception, the remote
  traceback as its cause; a `RemoteError` when it cannot be raised as itself);
  `crash_text`: why a worker died under its task; `task_metrics`: what a task cost;
- `capture_file` / `tail`: a worker's anonymous stdout or stderr file, and reading its last
  bytes back once the task is over.

Used by `warm` (submitting) and `_manager` (completing); standard library only.
"""

from __future__ import annotations

import os
import pickle

from ._capture import OUTPUT_LIMIT, read_tail  # the most of a task's output read back
from .errors import RemoteError
from .records import TaskMetrics

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from ._manager import Worker
    from .records import TaskInfo


class Task:
    """A submitted call on the parent's side: its payload, its future and, once a worker has
    it, when it was dispatched and its deadline (monotonic seconds, None without timeout)."""

    __slots__ = ("deadline", "dispatched", "future", "info", "payload", "sent")

    def __init__(self, info: TaskInfo, payload: bytes, future: Future) -> None:
        self.info = info
        self.payload = payload
        self.future = future
        self.dispatched = 0.0
        self.deadline: float | None = None
        # Its message is wholly in the worker's socket: only then may another follow it (a
        # submitting thread sends outside the lock; the manager must not send in between).
        self.sent = False

    def mark_running(self) -> bool:
        """Set its future RUNNING before it is sent or failed for good; False when it was
        cancelled while queued (a task sent ahead to a worker that went, and put back in
        the queue, is RUNNING already)."""
        future = self.future
        return future.running() or future.set_running_or_notify_cancel()


def name_of(fn: Callable) -> str:
    """The label of a task whose caller gave none: the function's qualified name."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def dumps(fn: Callable, args: tuple, kwargs: dict, label: str) -> bytes:
    """Pickle a task; cloudpickle (when installed) for what plain pickle cannot send by name."""
    module = getattr(fn, "__module__", None)
    by_value = module == "__main__" or "<" in getattr(fn, "__qualname__", "")
    if not by_value:
        try:
            return pickle.dumps((fn, args, kwargs), protocol=5)
        except Exception as exc:  # noqa: BLE001 - PicklingError, TypeError, AttributeError
            error: Exception = exc
    else:
        error = pickle.PicklingError(f"{label} is defined in __main__ or inside a function")
    try:
        import cloudpickle
    except ImportError:
        raise TypeError(f"cannot send task {label!r} to a worker: {error}; define the function "
                        f"at module level in an importable module, or install cloudpickle") \
            from None
    try:
        return cloudpickle.dumps((fn, args, kwargs), protocol=5)
    except Exception as exc:  # noqa: BLE001
        raise TypeError(f"cannot send task {label!r} to a worker: {type(exc).__name__}: "
                        f"{exc}") from None


def remote_error(task: Task, worker: Worker, details: dict, stdout: str,
                 stderr: str) -> BaseException:
    """What the future of a task that raised completes with, from the worker's description
    of the exception (its type, message, traceback text, the exception pickled when it could
    be, and a note when the call itself succeeded but its result could not be sent back).

    The task's own exception, as `ProcessPoolExecutor` gives it, when it unpickles to an
    `Exception`: its ``__cause__`` is a `RemoteError` carrying the remote traceback and the
    task's output (`stdout`, `stderr`). Otherwise that `RemoteError` itself: the exception
    did not travel, its unpickling failed (whatever it raised: a hostile ``__reduce__`` can
    raise `SystemExit` here, in the manager thread), or it is a `BaseException` such as
    `SystemExit` or `KeyboardInterrupt`, which raised by ``result()`` would end or interrupt
    the parent as if the parent had raised it.
    """
    exception = None
    if details["exception"] is not None:
        try:
            exception = pickle.loads(details["exception"])
        except BaseException:  # noqa: BLE001 - a class only the worker has, or hostile
            exception = None
        if not isinstance(exception, BaseException):
            exception = None  # a crafted pickle can load as anything
    message = details["message"]
    summary = f"{details['type']}: {message}" if message else details["type"]
    note = f" ({details['note']})" if details.get("note") else ""
    error = RemoteError(f"task {task.info.name!r} (#{task.info.task_id}) raised {summary} in "
                        f"worker {worker.id} (pid {worker.pid}){note}",
                        type_name=details["type"], remote_traceback=details["traceback"],
                        exception=exception)
    error._attach(stdout, stderr)
    if isinstance(exception, Exception) and not details.get("note"):
        try:
            exception.__cause__ = error
        except BaseException:  # noqa: BLE001 - a class that refuses attributes: ours, then
            error.__cause__ = exception
            return error
        return exception
    error.__cause__ = exception
    return error


def task_metrics(task: Task, worker: Worker, measured: dict, node: str) -> TaskMetrics:
    """The `TaskMetrics` of a task that ran to a result, from the worker's measurements (the
    memory figure is the parent's: its workers run in its cgroup)."""
    from . import memory

    # Positional, every field in order: the record's fast path (this runs once per task).
    return TaskMetrics(task.info.task_id, worker.id, worker.pid or 0,
                       # Until the worker began it (a task sent behind another waits there).
                       max(measured.get("began", task.dispatched), task.dispatched)
                       - task.info.submitted, measured["wall"],
                       measured["cpu"], measured["peak_rss"], measured["peak_rss_scope"],
                       measured["result_bytes"], measured["spilled"], node,
                       measured["imported"], memory.sample())


def crash_text(task: Task, worker: Worker, code: int,
               oom_kills: int | None) -> tuple[str, int | None]:
    """Why a worker died under `task` (`code` as `os.waitstatus_to_exitcode` gives it), and
    the cgroup's OOM kill count now: read only for a SIGKILL the pool did not send (its rise
    since `oom_kills`, the count when last read, names the OOM killer), else `oom_kills`."""
    head = (f"worker {worker.id} (pid {worker.pid}) died while running task "
            f"{task.info.name!r} (#{task.info.task_id}): ")
    if code >= 0:
        return head + f"it exited with code {code}", oom_kills
    import signal as signals

    from . import memory

    number = -code
    try:
        name = signals.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    text = head + f"killed by {name} (signal {number})"
    if number == signals.SIGSEGV:
        return (text + ": a segmentation fault (its Python traceback, if any, is in "
                "stderr)", oom_kills)
    if number != signals.SIGKILL:
        return text, oom_kills
    limits = memory.read_limits()
    usage = ""
    if limits.limit is not None:
        usage = f"; memory limit {limits.limit / 2**30:.1f} GiB ({limits.source})"
        if limits.current is not None:
            usage += f", {limits.current / 2**30:.1f} GiB in use"
    # The cgroup's oom_kill counter says whether the OOM killer struck since we last
    # looked (another process of the cgroup may have been its victim: "likely" is honest).
    before, after = oom_kills, memory.oom_kills()
    if before is not None and after is not None and after > before:
        return (text + f", not sent by the pool: the kernel's OOM killer struck (the cgroup's "
                f"oom_kill count rose from {before} to {after}){usage}", after)
    return (text + f", not sent by the pool: the kernel's OOM killer sends it when memory "
            f"runs out{usage}", after)



def capture_file(directory: str) -> int:
    """An anonymous file (no name, mode 0600) for a worker's stdout or stderr."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):
        import tempfile

        fd, path = tempfile.mkstemp(dir=directory, prefix="capture-")
        os.unlink(path)
        return fd


def tail(fd: int, limit: int = OUTPUT_LIMIT) -> str:
    """The last `limit` bytes of a capture file as text, marked when the start was cut (the
    output of a task whose worker died under it)."""
    try:
        size = os.fstat(fd).st_size
        if not size:
            return ""
        data, start = read_tail(fd, size, limit)
    except OSError:
        return ""
    return output_text(data, start)


def output_text(data: bytes, cut: int) -> str:
    """Captured bytes as text, marked when the `cut` bytes before them were dropped."""
    text = data.decode("utf-8", "replace")
    return f"[... {cut} bytes cut ...]\n{text}" if cut else text


def output_of(sent: tuple | None) -> tuple[str, str]:
    """stdout and stderr of a task from what its worker sent (`_capture.Capture.take`)."""
    if sent is None:
        return "", ""
    out, out_cut, err, err_cut = sent
    return output_text(out, out_cut), output_text(err, err_cut)
