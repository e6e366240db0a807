"""Tasks sent to a busy worker ahead of time, and what becomes of them when it dies.

When every worker is busy and the pool has as many as it may, the manager sends the next
queued task to a busy worker, behind the one it runs (`worker_for`): the worker finds it in
its socket when it answers, and starts it without waiting for the manager thread to read the
answer (the throughput of many small tasks). At most two tasks wait on a worker (with
one, the worker often finished the waiting task before the manager thread sent the next),
each pickled in at most 32 KiB (they wait in the socket's buffer); only behind a worker
whose last task took under 5 ms (where the round trip counts; a long task would hold them
while another worker frees up); and only between tasks without a timeout: a timeout is
enforced by killing the worker, which must not take with it a task that had not started.

The parent learns that a waiting task started only when the worker answers the one before
it. So when a worker dies:

- its last answers are read first (`drain`: an exit report can be read before them), so the
  parent's view is exact: the task it ran when it died is the one that crashed, and those
  waiting behind it never started: they go back to the front of the queue, in order
  (`settle`);
- when the pool killed it (its task was cancelled) and its answer to that task came in
  before it died, it may have started the first waiting one when the kill landed: that one
  fails (`WorkerCrashed`) rather than risk running twice, and the others go back to the
  queue;
- when its answers cannot be read (a corrupt frame: a task wrote to its socket) or it closed
  its connection and ran on, how far it got is unknown: every waiting task fails.

A worker never runs a task after one that closed or replaced its socket (it checks the
socket is still its own before answering), so a closed connection cannot hide a task it
ran.

Functions of the `Manager` (first argument), run in its thread; standard library only.
"""

from __future__ import annotations

from .errors import WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manager import Manager, Worker
    from ._tasks import Task

__all__ = ["drain", "requeue", "settle", "worker_for"]

_DEPTH = 2  # tasks waiting on one worker at most (one left the worker waiting for the next)
_SHORT = 0.005  # seconds: only behind a worker whose last task was this short
_SMALL = 32 << 10  # well within a Unix socket's default buffer (~208 KiB on Linux)


def worker_for(manager: Manager) -> Worker | None:
    """A busy worker that can take the first queued task behind its own, or None (call
    with the lock held, with tasks queued)."""
    head = manager.pending[0]
    # Small payloads only: a worker reads its socket between tasks, and a send larger than
    # the socket's buffer would block the manager thread until the running task ends.
    if head.info.timeout is not None or len(head.payload) > _SMALL:
        return None
    limit = manager.max_tasks
    for worker in manager.workers.values():
        task = worker.task
        if (worker.state == "busy" and task is not None and task.sent
                and task.deadline is None and len(worker.queued) < _DEPTH
                and worker.last_wall is not None and worker.last_wall < _SHORT
                and worker.sock is not None
                and (limit is None or worker.tasks_done + len(worker.queued) + 2 <= limit)):
            return worker
    return None


def drain(manager: Manager, worker: Worker) -> None:
    """Handle the answers a worker that is gone sent before it died."""
    from . import _replies

    sock = worker.sock if worker.sock is not None else worker.draining
    if sock is None or worker.uncertain:
        return
    messages = worker.reader.drain()
    with manager.lock:
        if worker.state in ("starting", "idle", "busy"):
            worker.state = "lost"  # its answers complete tasks; nothing new goes to it
    for message in messages:
        try:
            _replies.handle(manager, worker, message)
        except BaseException:  # noqa: BLE001 - a dead worker's last words, of the wrong shape
            return


def settle(manager: Manager, worker: Worker, killed: bool) -> None:
    """What becomes of the tasks waiting on a worker that is gone (its answers drained)."""
    with manager.lock:
        waiting = list(worker.queued)
        worker.queued.clear()
    if not waiting:
        return
    if worker.uncertain:
        # Its answers could not be read: how far it got is unknown, so none runs again.
        for task in waiting:
            _fail_maybe_started(manager, worker, task)
        return
    if killed and worker.past_killed:
        # Its answers were read: only the one after the last answer may have started.
        _fail_maybe_started(manager, worker, waiting.pop(0))
    requeue(manager, waiting)


def requeue(manager: Manager, tasks: list[Task]) -> None:
    """Put tasks that never started back at the front of the queue, in order (or fail them,
    once the manager no longer reads the queue)."""
    with manager.lock:
        if not manager.closed and not manager.broken:
            manager.pending.extendleft(reversed(tasks))
            return
    for task in tasks:
        manager._fail_unrun(task)


def _fail_maybe_started(manager: Manager, worker: Worker, task: Task) -> None:
    future = task.future
    future.stdout, future.stderr = manager._read_output(worker)
    killed = f" #{worker.killed_task}" if worker.killed_task is not None else ""
    error = WorkerCrashed(f"task {task.info.name!r} (#{task.info.task_id}) was waiting on "
                          f"worker {worker.id} (pid {worker.pid}) behind task{killed}, and "
                          f"the worker was killed ({worker.kill_reason or 'lost'}) when it "
                          f"may already have started this one: it is not run again, so "
                          f"that no task ever runs twice")
    error._attach(future.stdout, future.stderr)
    manager._complete(task, error=error)
