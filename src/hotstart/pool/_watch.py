"""Watching the template from the manager thread: a template that stops answering.

The pool waits on its template for two things: the answer to a fork request (``forked``)
and the exit report of a worker whose socket closed or that was killed or retired
(``exited``). A running template answers both within milliseconds; one that was stopped
(SIGSTOP, a debugger) or hangs answers neither, and nothing else would notice: no worker can
be forked, crashed tasks wait for their exit report, and ``shutdown()`` waits for the queue.
`TemplateWatch` keeps the manager's promises while that lasts:

- deadlines hold from submit when no worker can be had (none idle or busy, and the pool
  waits on the template): a queued task past its timeout fails with `TaskTimeout`;
- a task whose worker's socket closed fails with `WorkerCrashed` once the template is late
  with the exit report (the exit status is then unknown);
- once the template is late (`PATIENCE`, a fork being a millisecond), it is reported, once,
  in the ``hotstart.pool`` log, with its state from ``/proc/<pid>/stat``; and again when it
  answers;
- a pool shut down while its template is stopped fails its queued tasks with `BrokenPool`
  instead of waiting for them forever (running tasks still finish: their workers answer the
  parent directly), and the manager SIGKILLs the stopped template (it cannot hear a hang-up).

Standard library only; runs in the manager thread only.
"""

from __future__ import annotations

import time

from . import _prefetch
from .errors import BrokenPool, TaskTimeout, WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging

    from ._manager import Manager, Worker

__all__ = ["PATIENCE", "TemplateWatch", "process_state"]

# How late the template may be before it is reported (and a lost worker's task failed).
PATIENCE = 2.0
# While no worker can be had, queued tasks' deadlines are checked this often (a scan of the
# queue, so not at every wake-up of the manager).
_QUEUE_SCAN = 0.05
# How often a going worker the template has not reported is looked at again while it runs.
_RECHECK = 0.25
# States in which a worker waits for the template's exit report.
_GOING = ("lost", "killed", "exiting")


class TemplateWatch:
    """What the manager knows of a late template: `stalled` is why it is late (None while it
    answers), said once in the log and in the error of every task that could get no
    worker."""

    __slots__ = ("next_queue_scan", "stalled")

    def __init__(self) -> None:
        self.stalled: str | None = None
        self.next_queue_scan = 0.0

    def answered(self, manager: Manager) -> None:
        """The template sent a message: it is not stopped (any more)."""
        if self.stalled is not None:
            _log().warning("the template process (pid %s) answers again", manager.process.pid)
            self.stalled = None

    def step(self, manager: Manager) -> None:
        """One round of the manager loop: expire queued tasks that can get no worker, fail
        the tasks of lost workers the template does not report, report a late template."""
        now = time.monotonic()
        for worker in _lost_with_task(manager, now):
            if _running(worker.pid):  # it closed its socket but runs on: not the template's
                self._end_lost(manager, worker, "it closed its connection to the pool but "
                               "kept running, and was killed")
        waits = _waits(manager)
        if not waits:
            return
        if manager.pending and now >= self.next_queue_scan and _no_worker(manager):
            self.next_queue_scan = now + _QUEUE_SCAN
            self._expire_queued(manager, now)
        if now - min(waits) < PATIENCE:
            return
        if self.stalled is None:
            self.stalled = template_text(manager, now)
            _log().warning("%s: no worker can be forked until it answers; queued tasks fail "
                           "at their timeout (SIGCONT resumes a stopped process)",
                           self.stalled)
        for worker in _lost_with_task(manager, now):
            self._end_lost(manager, worker, f"its exit status is unknown: {self.stalled}")
        if manager.shutdown_requested and stopped(manager.process.pid):
            # Shut down while the template is stopped: what is queued cannot get a worker;
            # it fails now rather than holding shutdown() forever.
            with manager.lock:
                pending = list(manager.pending)
                manager.pending.clear()
            for task in pending:
                if task.mark_running():
                    manager._complete(task, error=BrokenPool(
                        f"task {task.info.name!r} (#{task.info.task_id}) was not run: the "
                        f"pool was shut down while {self.stalled}"))

    def next_wake(self, manager: Manager) -> list[float]:
        """When `step` has something to do next (monotonic times; none if nothing waits)."""
        now = time.monotonic()
        waits = _waits(manager)
        times = [min(waits) + PATIENCE] if waits else []
        # A going worker that still ran when `_waits` looked is not among them, and if the
        # template does not report its exit nothing else will wake the manager: look again at
        # its PATIENCE, then every _RECHECK while it runs on.
        for worker in manager.workers.values():
            if worker.state in _GOING and worker.lost_at is not None:
                due = worker.lost_at + PATIENCE
                times.append(due if due > now else now + _RECHECK)
        if times and manager.pending and _no_worker(manager):
            times.append(max(self.next_queue_scan, now + _QUEUE_SCAN / 5))
        return times

    def _expire_queued(self, manager: Manager, now: float) -> None:
        with manager.lock:
            expired = [task for task in manager.pending if task.info.timeout is not None
                       and task.info.submitted + task.info.timeout <= now]
            for task in expired:
                manager.pending.remove(task)
        if not expired:
            return
        why = self.stalled or template_text(manager, now)
        for task in expired:
            if task.mark_running():
                manager._complete(task, error=TaskTimeout(
                    f"task {task.info.name!r} (#{task.info.task_id}) waited its timeout of "
                    f"{task.info.timeout:g} s in the queue and no worker could be had: {why}",
                    timeout=task.info.timeout))

    def _end_lost(self, manager: Manager, worker: Worker, why: str) -> None:
        """A worker's socket closed under its task PATIENCE ago and no exit report came
        (the template is late, or the worker runs on): kill it, and the task fails now."""
        with manager.lock:
            task, worker.task = worker.task, None
        if task is None:
            return
        # Its socket is closed: whether a task waiting on it has started cannot be known.
        manager._kill(worker, task.info.task_id, "it closed its connection to the pool",
                      drain=False)
        stdout, stderr = manager._read_output(worker)
        task.future.stdout, task.future.stderr = stdout, stderr
        error = WorkerCrashed(f"worker {worker.id} (pid {worker.pid}) closed its connection "
                              f"while running task {task.info.name!r} "
                              f"(#{task.info.task_id}): {why}")
        error._attach(stdout, stderr)
        manager._complete(task, error=error)
        _prefetch.settle(manager, worker, killed=True)


def template_text(manager: Manager, now: float) -> str:
    """How long the template has kept the pool waiting, and its state."""
    since = min(_waits(manager), default=now)
    return (f"the template process (pid {manager.process.pid}) has kept the pool waiting for "
            f"{now - since:.1f} s (for a fork or a worker's exit report; its state: "
            f"{process_state(manager.process.pid)})")


def stopped(pid: int) -> bool:
    """Whether `pid` is stopped (SIGSTOP, a tty stop) or stopped by a debugger."""
    return process_state(pid).startswith(("T", "t"))


def process_state(pid: int) -> str:
    """A process's state from ``/proc/<pid>/stat`` with its meaning ("T (stopped: ...)")."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0].decode()
    except (OSError, IndexError, UnicodeDecodeError):
        return "unknown"
    meaning = {"R": "running", "S": "sleeping", "D": "waiting on I/O", "T": "stopped: SIGSTOP "
               "or a debugger", "t": "stopped by a debugger", "Z": "exited, not reaped"}
    return f"{state} ({meaning[state]})" if state in meaning else state


def _waits(manager: Manager) -> list[float]:
    """Since when the pool waits on the template, per worker: a fork request not answered,
    an exit report not in for a worker whose socket closed or that was killed or retired
    and that no longer runs (one that runs on is not the template's delay)."""
    waits = []
    for worker in manager.workers.values():
        if worker.state == "starting" and worker.pid is None:
            waits.append(worker.forked)
        elif (worker.state in _GOING and worker.lost_at is not None
              and not _running(worker.pid)):
            waits.append(worker.lost_at)
    return waits


def _lost_with_task(manager: Manager, now: float) -> list[Worker]:
    """Workers whose socket closed under their task at least PATIENCE ago."""
    return [w for w in manager.workers.values() if w.task is not None and w.state == "lost"
            and w.lost_at is not None and now - w.lost_at >= PATIENCE]


def _running(pid: int | None) -> bool:
    """Whether `pid` is a process that has not exited (a zombie has)."""
    if pid is None:
        return False
    state = process_state(pid)
    return state != "unknown" and not state.startswith("Z")


def _no_worker(manager: Manager) -> bool:
    """No worker is idle or busy: none will free up for the queue."""
    return not any(w.state in ("idle", "busy") for w in manager.workers.values())


def _log() -> logging.Logger:
    import logging  # only when there is something to say

    return logging.getLogger("hotstart.pool")
