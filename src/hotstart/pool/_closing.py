"""How a pool's manager thread ends: the template gone (`fail_everything`), then, always,
`close`: nothing in flight or queued is left RUNNING, every process and file of the pool
goes, and the ``shutdown`` hooks run.

Functions of the `Manager` (first argument), run in its thread; standard library only.
"""

from __future__ import annotations

import os

from ._startup import hang_up
from ._watch import stopped
from .errors import BrokenPool, WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manager import Manager

__all__ = ["close", "fail_everything", "status_text"]


def fail_everything(manager: Manager, reason: str) -> None:
    """The template is gone: fail everything in flight and everything queued."""
    with manager.lock:
        manager.broken = reason
        pending = list(manager.pending)
        manager.pending.clear()
    for worker in list(manager.workers.values()):
        task = worker.task
        worker.task = None
        pending += worker.queued
        worker.queued.clear()
        if task is not None:
            task.future.stdout, task.future.stderr = manager._read_output(worker)
            error = WorkerCrashed(f"task {task.info.name!r} (#{task.info.task_id}) lost "
                                  f"its worker {worker.id}: {reason}")
            error._attach(task.future.stdout, task.future.stderr)
            manager._complete(task, error=error)
    for task in pending:
        if task.mark_running():
            manager._complete(task, error=BrokenPool(
                f"task {task.info.name!r} (#{task.info.task_id}) was not run: {reason}"))


def close(manager: Manager) -> None:
    """Last step of the manager thread: stop workers and template, remove leftovers."""
    with manager.lock:
        # From here no task goes back on `pending` or onto a worker (`start` checks);
        # whatever is there now was taken by nobody, and fails rather than stay RUNNING.
        manager.closed = True
        leftovers = [w.task for w in manager.workers.values() if w.task is not None]
        for worker in manager.workers.values():
            worker.task = None
            leftovers += worker.queued
            worker.queued.clear()
        leftovers += manager.pending
        manager.pending.clear()
    for task in leftovers:
        manager._fail_unrun(task)
    for worker in list(manager.workers.values()):
        manager._lose(worker)
    hang_up(manager.control)  # the template SIGKILLs its workers and exits
    # A stopped template cannot hear the hang-up: SIGKILL it at once (its workers get
    # SIGKILL from the kernel as it dies).
    try:
        if stopped(manager.process.pid):
            manager.process.kill()
        manager.process.wait(timeout=10)
    except Exception:  # noqa: BLE001
        manager.process.kill()
        manager.process.wait()
    for worker in list(manager.workers.values()):
        for fd in (worker.out_fd, worker.err_fd):
            try:
                os.close(fd)
            except OSError:
                pass
    with manager.lock:
        manager.workers.clear()
        manager.shutdown_requested = True
    manager._remove_spills(None)
    manager.selector.close()
    manager.wake_read.close()
    manager.wake_write.close()
    manager.log.close()
    import atexit

    atexit.unregister(manager.at_exit)
    manager.fire("shutdown", manager.owner())  # None when the pool was dropped unshut


def status_text(status: int | None) -> str:
    """How the template ended, for the message of a broken pool ("" when unknown)."""
    if status is None:
        return ""
    if status < 0:
        return f" (killed by signal {-status})"
    return f" (exit code {status})"
