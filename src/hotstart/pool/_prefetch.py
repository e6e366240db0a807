"""Tasks sent to a busy worker ahead of time, and what becomes of them when it dies.

When every worker is busy and the pool has as many as it may, the manager sends the next
queued tasks to a busy worker, behind the one it runs (`worker_for`, `take`, `send`): the
worker finds them in its socket when it answers, and starts the next without waiting for
the manager thread to read the answer (the throughput of many small tasks).

- How many wait on a worker: up to 64, and no more than its last task's run time (plus the
  worker's own ~50 µs per task) fits in 5 ms (a 1 ms task gets four behind it, a 4 ms task
  one), so a worker never holds more than about 5 ms of work that another worker, freed
  meanwhile, could have taken. Deep enough that a busy machine descheduling the manager
  thread for a few milliseconds does not leave the workers idle (with at most 16 waiting,
  the throughput of no-op tasks under load was 1.2x worse). Only behind a worker whose last
  task took under 5 ms (where the round trip counts; a long task would hold them while
  another worker frees up).
- When: once they are down to half of that (`hungry`), topped up several at a time, in one
  ``sendall``: the manager thread's cost per task is what bounds throughput (with tasks
  sent one per answer, a no-op cost the parent 1.3x as much CPU).
- Which: only small tasks (pickled in at most 32 KiB, and at most 64 KiB waiting on one
  worker in all: they wait in the socket's buffer, so a send never blocks the manager
  thread), and only tasks without a timeout (a timeout is enforced by killing the worker,
  which must not take with it a task that had not started). The queue's order is kept: a
  task that may not wait stops the sending until a worker is free for it.

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

import time

from . import _protocol
from .errors import WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._manager import Manager, Worker
    from ._tasks import Task

__all__ = ["drain", "requeue", "send", "settle", "take", "worker_for"]

_DEPTH = 64  # tasks waiting on one worker at most
_SHORT = 0.005  # seconds: only behind a worker whose last task was this short, and no more
                # waiting than its last task's run time (and the worker's own cost per task,
                # `_PER_TASK`) fits in this
_PER_TASK = 50e-6  # seconds: about what a worker spends around each task (measured: 40-60 µs)
_SMALL = 32 << 10  # one task's payload at most
_BUFFERED = 64 << 10  # payload bytes waiting on one worker at most: well within a Unix
                      # socket's default buffer (~208 KiB on Linux), so a send never blocks


def worker_for(manager: Manager) -> Worker | None:
    """A busy worker whose waiting tasks are to be topped up, starting with the first queued
    task, or None (call with the lock held, with tasks queued)."""
    head = manager.pending[0]
    # Small payloads only: a worker reads its socket between tasks, and a send larger than
    # the socket's buffer would block the manager thread until the running task ends.
    if head.info.timeout is not None or len(head.payload) > _SMALL:
        return None
    limit = manager.max_tasks
    for worker in manager.workers.values():
        task = worker.task
        if (worker.state == "busy" and task is not None and task.sent
                and task.deadline is None
                and worker.last_wall is not None and worker.last_wall < _SHORT
                and hungry(worker) and worker.sock is not None
                and (limit is None or worker.tasks_done + len(worker.queued) + 2 <= limit)
                and _waiting_bytes(worker) + len(head.payload) <= _BUFFERED):
            return worker
    return None


def hungry(worker: Worker) -> bool:
    """Whether the tasks waiting on `worker` are down to half of what may wait: the time to
    top them up, several in one send."""
    return len(worker.queued) <= _cap(worker) // 2


def _cap(worker: Worker) -> int:
    """How many tasks may wait on `worker`: `_DEPTH`, and no more than its last task's run
    time and the worker's cost per task fit in `_SHORT` (at least one)."""
    return min(_DEPTH, max(1, int(_SHORT / ((worker.last_wall or 0.0) + _PER_TASK))))


def _waiting_bytes(worker: Worker) -> int:
    return sum(len(task.payload) for task in worker.queued)


def take(manager: Manager, worker: Worker) -> list[Task]:
    """The queued tasks to send behind `worker`'s (`worker_for` chose it for the first),
    taken off the queue in order, as many as fit (call with the lock held)."""
    queued = worker.queued
    room = _cap(worker) - len(queued)
    if manager.max_tasks is not None:  # the running task and those waiting count
        room = min(room, manager.max_tasks - worker.tasks_done - len(queued) - 1)
    budget = _BUFFERED - _waiting_bytes(worker)
    pending = manager.pending
    taken: list[Task] = []
    while pending and len(taken) < room:
        head = pending[0]
        size = len(head.payload)
        if head.info.timeout is not None or size > _SMALL or size > budget:
            break
        budget -= size
        taken.append(pending.popleft())
    return taken


def send(manager: Manager, worker: Worker, tasks: list[Task]) -> bool:
    """Send `tasks` (from `take`) behind the task `worker` runs, in one write; False when
    the worker is gone (those that had not started go back to the front of the queue)."""
    # The others were cancelled while queued: their on_complete has fired.
    running = [task for task in tasks if task.mark_running()]
    if not running:
        return True
    now = time.monotonic()
    for task in running:
        task.dispatched = now
        task.deadline = None  # `take` sends no task with a timeout
        task.future.worker_id = worker.id
    with manager.lock:  # `_close` sweeps up under the lock what it finds on a worker
        closed = manager.closed
        if not closed:
            worker.queued.extend(running)
    if closed:
        for task in running:
            manager._fail_unrun(task)
        return True
    sock = worker.sock
    try:
        if sock is None:
            raise OSError("the worker's socket is closed")
        _protocol.send_many(sock, [("task", task.info.task_id, task.payload)
                                   for task in running])
        for task in running:
            task.sent = True
        return True
    except OSError:
        # The worker is gone: nothing of this write reached a live reader (it fits in the
        # socket's buffer, so it fails only when the peer's end is closed). What the manager
        # did not take from the worker meanwhile goes back to the front of the queue, in
        # order, or fails once the queue is no longer read; its exit report ends the worker.
        with manager.lock:
            ours = [task for task in running if task in worker.queued]
            for task in ours:
                worker.queued.remove(task)
            if ours and not manager.closed:
                manager.pending.extendleft(reversed(ours))
                return False
        for task in ours:
            manager._fail_unrun(task)
        return False


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
