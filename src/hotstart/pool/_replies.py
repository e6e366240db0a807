"""What a worker sends the parent, read in the manager thread: ``ready``, and ``done`` with
its task's outcome, and what is wrong with it.

`from_worker` reads a worker's socket with its `_protocol.FrameReader` (never blocking) and
handles each message; `corrupt` ends a worker that sent what the pool cannot read: a frame
that announces more than the limit or does not unpickle (`_protocol.Corrupt`), or a message
of the wrong shape (anything its handling raised). That worker is killed as if it had
crashed under its task, which fails with `WorkerCrashed`: one worker, one task, never the
manager thread. A ``done`` message frees the worker and hands it the next queued task at
once (it runs while the parent loads this result), or retires it: after
``max_tasks_per_worker`` tasks, or when the worker asks to (its ``"retire"`` metric: the task
left a thread running, a child process or a new session behind); then it completes the task
(result, spilled result or the task's exception).

Functions of the `Manager` (first argument); standard library only.
"""

from __future__ import annotations

import time

from . import _prefetch, _protocol, spill
from ._tasks import output_of, remote_error, task_metrics
from .errors import RemoteError, WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manager import Manager, Worker
    from ._tasks import Task

__all__ = ["corrupt", "from_worker"]


def from_worker(manager: Manager, worker: Worker) -> None:
    """Read a worker's socket; what is wrong with what it sent ends that worker alone."""
    if worker.sock is None:
        # Gone earlier in this select() batch (its exit report came first): its socket
        # is closed and its task completed.
        return
    broken = None
    try:
        messages = worker.reader.read()
    except _protocol.Corrupt as exc:
        # The answers that came before the bad frame in the same read are handled first:
        # the task that sent it is the one running after them, not one that answered.
        messages, broken = exc.messages, str(exc)
    except (_protocol.Closed, OSError):
        manager._lose(worker)
        return
    for message in messages:
        if worker.sock is None:  # retired or killed by an earlier message
            return
        try:
            handle(manager, worker, message)
        except BaseException as exc:  # noqa: BLE001 - well framed, of the wrong shape
            corrupt(manager, worker, f"a {message[0]!r} message the pool cannot use: "
                                 f"{type(exc).__name__}: {exc}")
            return
    if broken is not None and worker.sock is not None:
        corrupt(manager, worker, broken)


def handle(manager: Manager, worker: Worker, message: tuple) -> None:
    """One message of a worker (what it raises, the caller treats as a corrupt frame)."""
    kind = message[0]
    if kind == "ready":
        pid = message[1]
        if type(pid) is not int:
            raise TypeError(f"a pid that is not an int: {type(pid).__name__}")
        worker.pid = pid
        worker.ready = worker.idle_since = time.monotonic()
        with manager.lock:
            if worker.state == "starting":
                worker.state = "idle"
    elif kind == "done":
        _kind, task_id, outcome, measured = message
        _done(manager, worker, task_id, outcome, measured)
    else:
        raise ValueError("an unknown kind")


def _late(worker: Worker, task_id: int) -> Task | None:
    """The task of an answer that is not to the task the parent thought it ran: after the
    pool killed the worker, its answer to the killed task (then the one behind it may have
    started) or to the one behind it (it ran to the end before the kill landed)."""
    if task_id == worker.killed_task:
        worker.past_killed = True
        return None
    if worker.task is None and worker.queued and worker.queued[0].info.task_id == task_id:
        return worker.queued.popleft()
    return None


def corrupt(manager: Manager, worker: Worker, why: str) -> None:
    """A worker sent what the pool cannot read: kill it, as if it had crashed under its
    task (the pool cannot trust what else it may send), and fail that task."""
    with manager.lock:
        task, worker.task = worker.task, None
    manager._kill(worker, task.info.task_id if task is not None else None,
                  "it sent a message the pool cannot read", drain=False)
    if task is None:
        return
    stdout, stderr = manager._read_output(worker)
    task.future.stdout, task.future.stderr = stdout, stderr
    error = WorkerCrashed(f"worker {worker.id} (pid {worker.pid}) sent a message the pool "
                          f"cannot read while running task {task.info.name!r} "
                          f"(#{task.info.task_id}): {why}; the worker was killed (did "
                          f"the task write to the worker's socket, or replace a builtin?)")
    error._attach(stdout, stderr)
    manager._complete(task, error=error)


def _done(manager: Manager, worker: Worker, task_id: int, outcome: tuple,
          measured: dict) -> None:
    task = worker.task
    if task is None or task.info.task_id != task_id:
        task = _late(worker, task_id)
        if task is None:  # killed meanwhile, or not ours: the result is dropped
            if outcome[0] == "spill":
                outcome[1].unlink()
            return
    worker.tasks_done += 1
    worker.last_wall = measured["wall"]
    future = task.future
    # What the worker sent is checked before the worker is free (a message of the wrong
    # shape is that worker's crash, with its task still on it).
    kind, data = outcome
    metrics = task_metrics(task, worker, measured, manager.node)
    retire = measured.get("retire")
    future.stdout, future.stderr = output_of(measured.get("output"))
    worker.task = None
    if worker.state != "busy":
        # Dying: its last answers, read after its exit report. If it died by itself, the
        # next waiting task is the one it ran next; if the pool killed it, whether that one
        # started is for `_prefetch.settle` to say.
        if worker.queued and worker.state != "killed":
            worker.task = worker.queued.popleft()
    elif retire or (manager.max_tasks is not None
                    and worker.tasks_done >= manager.max_tasks):
        if retire:
            # The task left what a worker cannot undo (a thread still running, a child, a
            # new session): its result is delivered, the worker is never reused (it runs
            # nothing after this answer: a task waiting on it goes back to the queue).
            import logging

            logging.getLogger("hotstart.pool").info(
                "worker %s (pid %s) retired after task %r (#%s): %s", worker.id, worker.pid,
                task.info.name, task_id, retire)
        with manager.lock:
            waiting = list(worker.queued)
            worker.queued.clear()
        _prefetch.requeue(manager, waiting)
        manager._retire(worker)
    elif worker.queued:
        worker.task = worker.queued.popleft()  # already in its socket: it runs now
        if _prefetch.hungry(worker):
            manager._dispatch()  # more behind it, when the queue is long
    else:
        worker.idle_since = time.monotonic()
        with manager.lock:
            if worker.state == "busy":
                worker.state = "idle"
        # The next queued task goes out now, before this one's result is loaded and its
        # future completed (which wakes the waiting thread): the worker runs meanwhile.
        manager._dispatch()
    for name in metrics.imported:
        manager.imported[name] = manager.imported.get(name, 0) + 1
    future.metrics = metrics
    if kind == "error":
        manager._complete(task, error=remote_error(task, worker, data, future.stdout,
                                                future.stderr))
    else:
        try:
            value = (spill.load_inline(data) if kind == "inline"
                     else spill.read_spill(data.path))
        except BaseException as exc:  # noqa: BLE001
            error = RemoteError(
                f"task {task.info.name!r} (#{task_id}) returned a result the parent "
                f"cannot load: {type(exc).__name__}: {exc}",
                type_name=type(exc).__name__, remote_traceback="", exception=exc)
            error._attach(future.stdout, future.stderr)
            manager._complete(task, error=error)
        else:
            manager._complete(task, value=value)
