"""The manager thread of a `WarmPool`: it owns every worker and every socket of the parent.

The pool (``warm``) is the API; this module is what runs behind it, as the executor and its
``_ExecutorManagerThread`` are split in CPython's ``concurrent/futures/process.py``::

    user threads (WarmPool)                 manager thread (Manager.run)
    -----------------------                 ----------------------------
    submit() --+-- idle worker and none     loop:
               |   queued: claim it, send     _dispatch: queued tasks -> idle workers,
               |   "task" itself (start)        "fork" requests to the template, and at
               |                                capacity one small task behind a busy
               |                                worker's (_prefetch)
               +-- else: pending (lock) ----> select(): wake socket | template | each worker
               +-- wake socket (unless one    template: "forked" (pid), "exited" (-> its
    abort() (asyncio cancel)   is on its way)     last answers read, its task fails
               -> aborts ------------------>      WorkerCrashed, the one sent behind is
    shutdown() -> shutdown flag, wake ------>     requeued, a replacement forked)
                 then join the thread         worker (_replies): "ready" (-> idle), "done"
                                                  (-> the result or the task's exception;
                                                  the one sent behind runs next; retire if
                                                  worn or asked to); a corrupt frame: that
                                                  worker killed, its task fails
                                              _handle_aborts / _enforce_timeouts: kill the
                                                worker (through the template); its exit
                                                report forks another
                                              TemplateWatch.step (_watch): a template that
                                                stops answering (queued deadlines, report)
                                              _retire_idle: workers idle past idle_timeout
                                            until shut down with nothing in flight, or the
                                            template died or the loop raised (_break: fail
                                            everything in flight and queued):
                                              _close: fail what is left (never RUNNING
                                                forever), hang up workers and template,
                                                remove this pool's spill files, hooks

The lock guards what both sides touch: `pending`, `aborts`, the `shutdown_requested`,
`broken` and `closed` flags, the `workers` dict, each worker's `state` (a submitter claims an
idle worker by setting it busy) and `task`. Everything else of a worker is the manager's, or
the claiming thread's between the claim and the send. Timeouts are enforced by asking the
template to SIGKILL the worker: the template is its parent, so the pid cannot have been
reused.

What one worker does ends at most that worker and its task: its socket is read without
blocking, in bounded frames (`_protocol.FrameReader`); an event of a worker already gone in
the same ``select()`` batch is skipped; whatever handling its message raises is that
worker's crash. ``workers=`` bounds processes: a killed or lost worker counts until the
template reports its exit, and only then is it replaced.
"""

from __future__ import annotations

import itertools
import os
import selectors
import socket
import threading
import time
from collections import deque
from concurrent.futures import CancelledError

from . import _closing, _prefetch, _protocol, _replies, spill
from ._startup import hang_up
from ._tasks import capture_file, crash_text, tail
from ._watch import TemplateWatch
from .backends._base import fire_hooks
from .errors import BrokenPool, TaskTimeout, WorkerCrashed

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from concurrent.futures import Future
    from typing import IO, Any

    from ._tasks import Task

_WAKE = "wake"
_CONTROL = "control"
# The largest message a worker may send: an inline result (at most spill_threshold bytes)
# and an exception's description have room; a header announcing more is a corrupt frame.
_MESSAGE_MARGIN = 256 << 20
_CONTROL_LIMIT = 1 << 20  # the template's messages are a few dozen bytes


class Worker:
    """A worker as the parent sees it: its socket and capture files, its pid once known, its
    state and the task it runs."""

    __slots__ = ("draining", "err_fd", "forked", "id", "idle_since", "kill_reason",
                 "killed_task", "last_wall", "lost_at", "out_fd", "past_killed", "pid",
                 "queued", "reader", "ready", "sock", "state", "task", "tasks_done",
                 "uncertain")

    def __init__(self, worker_id: str, sock: socket.socket, out_fd: int, err_fd: int,
                 limit: int) -> None:
        self.id = worker_id
        self.sock: socket.socket | None = sock
        self.reader = _protocol.FrameReader(sock, limit)
        self.out_fd = out_fd
        self.err_fd = err_fd
        self.pid: int | None = None
        self.state = "starting"  # -> idle <-> busy -> exiting | lost | killed -> (gone)
        self.task: Task | None = None  # the one it runs, as far as the parent knows
        self.queued: deque[Task] = deque()  # sent behind it (`_prefetch`)
        self.tasks_done = 0
        self.last_wall: float | None = None  # how long its last task ran (seconds)
        # Set when the pool kills it: the task killed, why, whether its answer to that task
        # came in, its socket kept to read its last answers, or that they cannot be read.
        self.killed_task: int | None = None
        self.kill_reason = ""
        self.past_killed = False
        self.draining: socket.socket | None = None
        self.uncertain = False
        self.forked = time.monotonic()
        self.ready: float | None = None
        self.idle_since = 0.0
        self.lost_at: float | None = None  # when its socket closed (then: its exit report)


class Manager:
    """The state of a running pool and the loop of its manager thread (`run`).

    Built by `WarmPool` once the template has reported its preload; `owner` is a weak
    reference to the pool, whose referent is handed to the ``shutdown`` hooks (weak: this
    thread must not keep a dropped pool alive, so that its finalizer can shut it down).
    Methods without a leading underscore are called from the user's threads (under `lock`
    where they touch shared state); the others run in the manager thread only.
    """

    def __init__(self, owner: Callable[[], object], *, control: socket.socket,
                 process: subprocess.Popen, log: IO[bytes],
                 hooks: dict[str, list[Callable]], max_workers: int,
                 max_tasks: int | None, idle_timeout: float | None,
                 spill_dirs: list[str], token: str, oom_kills: int | None,
                 number: int, spill_threshold: int = 1 << 20) -> None:
        self.owner = owner
        self.control = control
        self.process = process
        self.log = log
        self.hooks = hooks
        self.max_workers = max_workers
        self.max_tasks = max_tasks
        self.idle_timeout = idle_timeout
        self.spill_dirs = spill_dirs
        # Capture files (and the template's log) always go to the last, disk-backed one.
        self.spill_dir = spill_dirs[-1]
        self.token = token
        self.oom_kills = oom_kills  # the cgroup's OOM kill count, to compare at a SIGKILL
        self.node = os.uname().nodename

        self.message_limit = max(spill_threshold, 0) + _MESSAGE_MARGIN
        self.control_reader = _protocol.FrameReader(control, _CONTROL_LIMIT)
        self.watch = TemplateWatch()  # a template that stops answering

        self.lock = threading.Lock()
        self.pending: deque[Task] = deque()
        self.aborts: list[Future] = []
        self.shutdown_requested = False
        self.broken: str | None = None
        self.closed = False  # set by `_close`: nothing reads `pending` or a worker any more
        self.workers: dict[str, Worker] = {}
        self.imported: dict[str, int] = {}
        self.worker_ids = itertools.count(1)

        self.wake_read, self.wake_write = socket.socketpair()
        self.woken = False  # a wake-up was sent and not yet taken: submits send no more
        self.wake_read.setblocking(False)
        self.wake_write.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.control, selectors.EVENT_READ, _CONTROL)
        self.selector.register(self.wake_read, selectors.EVENT_READ, _WAKE)
        self.thread = threading.Thread(target=self.run, daemon=True,
                                       name=f"hotstart-pool-{number}")

    # -- called from the user's threads ------------------------------------------------------

    def check_open(self) -> None:
        """Raise `BrokenPool` once the pool is shut down or broken."""
        if self.shutdown_requested or self.broken:
            raise BrokenPool(self.broken or "cannot submit a task: this WarmPool was shut "
                             "down; create a new one")

    def claim_idle(self) -> Worker | None:
        """An idle worker, now marked busy (call with the lock held)."""
        for worker in self.workers.values():
            if worker.state == "idle":
                worker.state = "busy"
                return worker
        return None

    def start(self, task: Task, worker: Worker) -> bool:
        """Send a task to an idle worker this thread claimed; False (task requeued) if the
        worker is gone. (Tasks sent behind a busy worker's: `_prefetch.send`.)"""
        if not task.mark_running():
            with self.lock:  # cancelled while queued: on_complete already fired
                if worker.state == "busy":
                    worker.state = "idle"
            return True
        task.dispatched = time.monotonic()
        task.deadline = (task.dispatched + task.info.timeout
                         if task.info.timeout is not None else None)
        task.future.worker_id = worker.id
        with self.lock:  # `_close` sweeps up under the lock what it finds on a worker
            closed = self.closed
            if not closed:
                worker.task = task
        if closed:
            self._fail_unrun(task)
            return True
        sock = worker.sock
        try:
            if sock is None:
                raise OSError("the worker's socket is closed")
            _protocol.send(sock, ("task", task.info.task_id, task.payload))
            task.sent = True
            return True
        except OSError:
            # The worker died before the task reached it: the task never started, so it
            # goes back to the front of the queue; its exit report ends the worker. Unless
            # the manager took it from the worker meanwhile (it completed it), or stopped
            # reading the queue (then it fails here, never left RUNNING).
            with self.lock:
                ours = worker.task is task
                if ours:
                    worker.task = None
                    if worker.state == "busy":
                        worker.state = "lost"
                if ours and not self.closed:
                    self.pending.appendleft(task)
                    return False
            if ours:
                self._fail_unrun(task)
            return False

    def wake(self) -> None:
        """Wake the manager thread (a no-op once it has closed its sockets, and while a
        wake-up it has not taken yet is on its way: it reads everything after taking it)."""
        if self.woken:
            return
        self.woken = True
        try:
            self.wake_write.send(b"x")
        except (BlockingIOError, OSError):  # full (already woken) or closed (shut down)
            pass

    def abort(self, future: Future) -> None:
        """Cancel a queued task, or kill the worker of a running one (from any thread)."""
        if future.cancel():
            return
        with self.lock:
            self.aborts.append(future)
        self.wake()

    def shutdown(self, wait: bool, cancel_futures: bool) -> None:
        """`WarmPool.shutdown`: flag it, cancel the queue if asked, wake, join if asked."""
        with self.lock:
            self.shutdown_requested = True
            if cancel_futures:
                cancelled = list(self.pending)
                self.pending.clear()
            else:
                cancelled = []
        for task in cancelled:
            if not task.future.cancel():
                # RUNNING: it waited on a worker that went before it started (`_prefetch`)
                # and came back to the queue. It never ran, and will not: it fails.
                self._fail_unrun(task)
        self.wake()
        if wait and threading.current_thread() is not self.thread:
            self.thread.join()

    def at_exit(self) -> None:
        """The interpreter exits: shut the pool down and wait (registered with atexit)."""
        self.shutdown(wait=True, cancel_futures=False)

    def on_cancelled(self, future: Future) -> None:
        """A future was cancelled (`TaskFuture.cancel`): fire the ``complete`` hooks."""
        self.fire("complete", future.info, future, None)

    def fire(self, event: str, *args: Any) -> None:
        """Call the hooks of `event`; one that raises is logged and the others still run."""
        handlers = self.hooks[event]
        if handlers:  # none: the common case, once or twice per task
            fire_hooks(handlers, event, args)

    # -- the manager thread ------------------------------------------------------------------

    def run(self) -> None:
        """The manager thread's loop, until shut down with nothing in flight or broken."""
        try:
            while True:
                self._dispatch()
                if self._finished():
                    break
                for key, _events in self.selector.select(self._next_wake()):
                    if key.data is _WAKE:
                        # Drained, then cleared: a wake() whose byte the drain took may
                        # have set the flag again (cleared here, or the next wake() would
                        # send nothing to nobody); one that saw it set changed its state
                        # before, and the queue, aborts and flags are read after this.
                        _drain(self.wake_read)
                        self.woken = False
                    elif key.data is _CONTROL:
                        self._from_template()
                    else:
                        _replies.from_worker(self, key.data)
                    if self.broken:
                        break
                if self.broken:
                    break
                self._handle_aborts()
                self._enforce_timeouts()
                self.watch.step(self)
                self._retire_idle()
        except BaseException as exc:  # the pool must not hang its users
            self._break(f"the pool's manager thread failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._close()

    def _dispatch(self) -> None:
        if not self.pending:  # read without the lock: who queues a task wakes this thread
            return
        while True:
            behind: list[Task] = []
            with self.lock:
                if not self.pending:
                    return
                worker = self.claim_idle()
                if worker is None:
                    starting = sum(w.state == "starting" for w in self.workers.values())
                    # Every worker until its exit report counts, lost and killed ones too:
                    # they are processes still, and `workers=` bounds processes.
                    wanted = min(len(self.pending) - starting,
                                 self.max_workers - len(self.workers))
                    if wanted <= 0 and len(self.pending) > starting:
                        worker = _prefetch.worker_for(self)  # no worker to be had: queue
                        if worker is not None:
                            behind = _prefetch.take(self, worker)
                else:
                    task = self.pending.popleft()
            if worker is None:
                for _ in range(max(wanted, 0)):
                    self._fork()
                return
            if not (_prefetch.send(self, worker, behind) if behind
                    else self.start(task, worker)):
                return  # requeued; the dead worker's socket and exit report come next

    def _fork(self) -> None:
        worker_id = f"w{next(self.worker_ids)}"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_fd = capture_file(self.spill_dir)
        err_fd = capture_file(self.spill_dir)
        worker = Worker(worker_id, ours, out_fd, err_fd, self.message_limit)
        try:
            _protocol.send(self.control, ("fork", worker_id),
                           fds=[theirs.fileno(), out_fd, err_fd])
        except OSError as exc:
            ours.close()
            os.close(out_fd)
            os.close(err_fd)
            self._break(f"the template process is gone ({exc.strerror or exc})")
            return
        finally:
            theirs.close()
        with self.lock:
            self.workers[worker_id] = worker
        self.selector.register(ours, selectors.EVENT_READ, worker)

    def _from_template(self) -> None:
        try:
            messages = self.control_reader.read()
        except _protocol.Corrupt as exc:
            self._break(f"the template process (pid {self.process.pid}) sent a message the "
                        f"pool cannot read: {exc}")
            return
        except (_protocol.Closed, OSError):
            status = self.process.poll()
            if status is None:
                try:
                    status = self.process.wait(timeout=1)
                except Exception:  # noqa: BLE001
                    status = None
            self._break(f"the template process (pid {self.process.pid}) died"
                        f"{_closing.status_text(status)}; its workers died with it")
            return
        if messages:
            self.watch.answered(self)
        for message in messages:
            kind = message[0]
            if kind == "forked":
                worker = self.workers.get(message[1])
                if worker is not None:
                    worker.pid = message[2]
            elif kind == "exited":
                self._exited(message[1], message[2], message[3])

    def _complete(self, task: Task, *, value: Any = None,
                  error: BaseException | None = None) -> None:
        future = task.future
        self.fire("complete", task.info, future, future.metrics)
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def _lose(self, worker: Worker) -> None:
        """The worker's socket closed: it is dying; its exit report will say how."""
        if worker.lost_at is None:
            worker.lost_at = time.monotonic()
        if worker.draining is not None:
            hang_up(worker.draining)
            worker.draining = None
        if worker.sock is not None:
            try:
                self.selector.unregister(worker.sock)
            except (KeyError, ValueError):
                pass
            hang_up(worker.sock)
            worker.sock = None
        with self.lock:
            if worker.state not in ("killed", "exiting"):
                worker.state = "lost"

    def _kill(self, worker: Worker, task_id: int | None = None, reason: str = "",
              drain: bool = True) -> None:
        """SIGKILL a worker (through the template) for its task `task_id`; its exit report
        forks its replacement (not before: until then it is a process still, and `workers=`
        bounds processes). With a task waiting on it, its socket is kept until then: its
        last answers say whether that task may have started (unless they cannot be read,
        `drain` False)."""
        with self.lock:
            worker.state = "killed"
        worker.killed_task, worker.kill_reason = task_id, reason
        if worker.queued and not drain:
            worker.uncertain = True
        if worker.queued and drain and worker.sock is not None:
            try:
                self.selector.unregister(worker.sock)
            except (KeyError, ValueError):
                pass
            worker.draining, worker.sock = worker.sock, None
            if worker.lost_at is None:
                worker.lost_at = time.monotonic()
        else:
            self._lose(worker)
        try:
            _protocol.send(self.control, ("kill", worker.id))
        except OSError:
            return

    def _exited(self, worker_id: str, pid: int, status: int) -> None:
        with self.lock:
            worker = self.workers.pop(worker_id, None)
            if worker is None:
                return
        # What it answered before it died first: a result that came in is not a crash.
        _prefetch.drain(self, worker)
        with self.lock:
            task, worker.task = worker.task, None
        killed = worker.state == "killed"
        self._lose(worker)
        if task is not None:
            code = os.waitstatus_to_exitcode(status)
            stdout, stderr = self._read_output(worker)
            task.future.stdout, task.future.stderr = stdout, stderr
            text, self.oom_kills = crash_text(task, worker, code, self.oom_kills)
            error = WorkerCrashed(text, exitcode=code if code >= 0 else None,
                                  signal=-code if code < 0 else None)
            error._attach(stdout, stderr)
            self._complete(task, error=error)
        _prefetch.settle(self, worker, killed)
        os.close(worker.out_fd)
        os.close(worker.err_fd)
        self._remove_spills(worker.id)
        # A worker that died under a task or was killed (timeout, cancel) is replaced at
        # once: the pool keeps the size it had; retired ones are replaced only when work is
        # waiting (`_dispatch`). Never past `workers=`: its exit report is in, so it no
        # longer counts.
        if ((task is not None or killed) and not self.shutdown_requested and not self.broken
                and len(self.workers) < self.max_workers):
            self._fork()

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for worker in list(self.workers.values()):
            task = worker.task
            if task is None or task.deadline is None or task.deadline > now:
                continue
            worker.task = None
            self._kill(worker, task.info.task_id, "the task before it timed out")
            stdout, stderr = self._read_output(worker)
            task.future.stdout, task.future.stderr = stdout, stderr
            error = TaskTimeout(f"task {task.info.name!r} (#{task.info.task_id}) did not finish "
                                f"within its timeout of {task.info.timeout:g} s; worker "
                                f"{worker.id} (pid {worker.pid}) was killed and a fresh one "
                                f"forked", timeout=task.info.timeout)
            error._attach(stdout, stderr)
            self._complete(task, error=error)

    def _handle_aborts(self) -> None:
        if not self.aborts:  # read without the lock: `abort` wakes this thread
            return
        with self.lock:
            aborts, self.aborts = self.aborts, []
        later = []
        for future in aborts:
            if self._abort_requeued(future):
                continue
            for worker in list(self.workers.values()):
                task = worker.task
                if task is not None and task.future is future:
                    worker.task = None
                    self._kill(worker, task.info.task_id, "the task before it was cancelled")
                    task.future.stdout, task.future.stderr = self._read_output(worker)
                    self._complete(task, error=CancelledError(
                        f"task {task.info.name!r} (#{task.info.task_id}) was cancelled while "
                        f"running; worker {worker.id} was killed"))
                    break
                if any(waiting.future is future for waiting in worker.queued):
                    later.append(future)  # killed once it runs: the task before it answers
                    break
        if later:
            with self.lock:
                self.aborts[:0] = later

    def _abort_requeued(self, future: Future) -> bool:
        """Cancel a task back in the queue after it waited on a worker that went (RUNNING,
        so ``future.cancel()`` refused, and never started): True if it was one."""
        with self.lock:
            task = next((task for task in self.pending if task.future is future), None)
            if task is not None:
                self.pending.remove(task)
        if task is None:
            return False
        self._complete(task, error=CancelledError(
            f"task {task.info.name!r} (#{task.info.task_id}) was cancelled before it started"))
        return True

    def _retire(self, worker: Worker) -> None:
        with self.lock:
            worker.state = "exiting"
        try:
            _protocol.send(worker.sock, ("exit",))
        except (OSError, AttributeError):  # AttributeError: its socket is already closed
            pass
        self._lose(worker)

    def _retire_idle(self) -> None:
        if self.idle_timeout is None:
            return
        cutoff = time.monotonic() - self.idle_timeout
        for worker in list(self.workers.values()):
            with self.lock:
                expired = worker.state == "idle" and worker.idle_since <= cutoff
                if expired:
                    worker.state = "exiting"  # claimed: no submitter can take it now
            if expired:
                self._retire(worker)

    def _next_wake(self) -> float | None:
        times = [w.task.deadline for w in self.workers.values()
                 if w.task is not None and w.task.deadline is not None]
        times += self.watch.next_wake(self)
        if self.idle_timeout is not None:
            times += [w.idle_since + self.idle_timeout for w in self.workers.values()
                      if w.state == "idle"]
        if not times:
            return None
        return max(0.0, min(times) - time.monotonic())

    def _finished(self) -> bool:
        if self.broken:
            return True
        if not self.shutdown_requested:  # set before `shutdown` wakes this thread
            return False
        with self.lock:
            if not self.shutdown_requested or self.pending:
                return False
            # A busy worker without a task yet: a submitter claimed it and is sending.
            return not any(w.task is not None or w.queued or w.state == "busy"
                           for w in self.workers.values())

    def _break(self, reason: str) -> None:
        """The template is gone: fail everything in flight and everything queued."""
        _closing.fail_everything(self, reason)

    def _close(self) -> None:
        """Last step of the manager thread: stop workers and template, remove leftovers."""
        _closing.close(self)

    def _read_output(self, worker: Worker) -> tuple[str, str]:
        return tail(worker.out_fd), tail(worker.err_fd)

    def _remove_spills(self, worker_id: str | None) -> None:
        """Remove the spill files of one worker (named ``result-<token>-<worker_id>-...``
        by the worker: the trailing ``-`` keeps w1's cleanup off w10's files), or of the
        whole pool (None)."""
        prefix = f"result-{self.token}-" + (f"{worker_id}-" if worker_id is not None else "")
        for directory in self.spill_dirs:
            try:
                spill.sweep(directory, older_than=float("-inf"), prefix=prefix)
            except spill.SpillError:
                pass

    def _fail_unrun(self, task: Task) -> None:
        """A task the stopped manager will never run: fail it (never leave it RUNNING)."""
        reason = self.broken or "the pool was shut down"
        if task.mark_running():
            self._complete(task, error=BrokenPool(
                f"task {task.info.name!r} (#{task.info.task_id}) was not run: {reason}"))


def _drain(sock: socket.socket) -> None:
    """Read a non-blocking socket empty (the wake-ups that queued up)."""
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, OSError):
        pass
