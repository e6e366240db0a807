"""`WarmPool`: the parent's side of the warm pool (see the diagram in ``hotstart.pool``).

One manager thread owns every socket and every worker; the user's threads only append tasks
to a queue (under a lock) and wake it through a socket pair. The manager dispatches tasks to
idle workers, asks the template for a fork when none is idle, reads results, enforces
timeouts (by asking the template to SIGKILL the worker: the template is the worker's parent,
so the pid cannot have been reused), fails the task whose worker died, forks replacements,
retires idle or worn workers, and shuts everything down.
"""

from __future__ import annotations

import itertools
import os
import pickle
import selectors
import socket
import sys
import threading
import time
from collections import deque
from concurrent.futures import CancelledError, Executor, Future

from . import _protocol, spill
from .errors import (BrokenPool, PoolError, PreloadError, RemoteError, TaskTimeout,
                     WorkerCrashed)
from .records import PreloadReport, TaskInfo, TaskMetrics, WorkerInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Mapping
    from typing import Any

__all__ = ["TaskFuture", "WarmPool"]

_DEFAULT = object()
_OUTPUT_LIMIT = 1 << 20
_ON_PRELOAD_ERROR = ("fail", "warn", "ignore")
_pool_numbers = itertools.count(1)
_WAKE = "wake"
_CONTROL = "control"


class TaskFuture(Future):
    """A `concurrent.futures.Future` that also carries what the task cost and printed.

    Set before the future completes: ``metrics`` (`TaskMetrics`, None when the task never ran
    to a result: timeout, crash, cancel), ``stdout`` and ``stderr`` (the task's captured
    output, text, at most the last MiB of each), ``worker_id``.
    """

    def __init__(self, info: TaskInfo) -> None:
        super().__init__()
        self.info = info
        self.metrics: "TaskMetrics | None" = None
        self.stdout = ""
        self.stderr = ""
        self.worker_id: "str | None" = None

    @property
    def task_id(self) -> int:
        return self.info.task_id


class _Task:
    __slots__ = ("info", "payload", "future", "dispatched", "deadline")

    def __init__(self, info: TaskInfo, payload: bytes, future: TaskFuture) -> None:
        self.info = info
        self.payload = payload
        self.future = future
        self.dispatched = 0.0
        self.deadline: "float | None" = None


class _Worker:
    __slots__ = ("id", "sock", "out_fd", "err_fd", "pid", "state", "task", "tasks_done",
                 "forked", "ready", "idle_since")

    def __init__(self, worker_id: str, sock: socket.socket, out_fd: int, err_fd: int) -> None:
        self.id = worker_id
        self.sock: "socket.socket | None" = sock
        self.out_fd = out_fd
        self.err_fd = err_fd
        self.pid: "int | None" = None
        self.state = "starting"  # -> idle <-> busy -> exiting | lost | killed -> (gone)
        self.task: "_Task | None" = None
        self.tasks_done = 0
        self.forked = time.monotonic()
        self.ready: "float | None" = None
        self.idle_since = 0.0


class WarmPool(Executor):
    """A process pool whose workers are forked from a template that preloaded your modules.

        >>> with WarmPool(preload=["pandas"], workers=4, timeout=60) as pool:
        ...     frame = pool.submit(load_frame, "sales.csv").result()

    preload: modules the template imports before forking any worker; spec (+ package): a job
    spec (path or loaded object), or a list of them, whose ``@type`` names are mapped to
    modules through the static index of `package` (see ``hotstart preload``), added to
    `preload`; a type nothing registers raises `PreloadError` ("did you mean ...").
    workers: the most workers at once (default: the CPUs this process may use); workers are
    forked on demand and reused. max_tasks_per_worker: retire a worker after that many
    tasks; idle_timeout: retire a worker idle that long (seconds; the template stays).
    timeout: default per-task limit in seconds (`schedule` sets one per task).
    env: the template's and workers' whole environment (default: ``env.scrubbed()``, the
    parent's environment reduced to a whitelist plus prefixes); spill_dir: where large
    results travel (default: the per-user ``/dev/shm/hotstart-<uid>`` when /dev/shm is a
    tmpfs with room for the result, else ``/tmp/hotstart-<uid>``; both verified);
    spill_threshold: results whose pickle is larger than this many bytes are spilled.
    on_preload_error: ``"fail"`` (raise `PreloadError`, the default), ``"warn"`` or
    ``"ignore"``: a failing module is in `preload_report` in every case.
    on_submit / on_complete / on_shutdown: hooks (a callable or a list of them), see `add_hook`.

    The constructor returns once the template has imported the preload list.
    """

    def __init__(self, preload: "Iterable[str] | None" = None, *, spec: "Any" = None,
                 package: "str | list[str] | None" = None, workers: "int | None" = None,
                 max_tasks_per_worker: "int | None" = None,
                 idle_timeout: "float | None" = None, timeout: "float | None" = None,
                 env: "Mapping[str, str] | None" = None, spill_dir: "str | None" = None,
                 spill_threshold: int = 1 << 20, on_preload_error: str = "fail",
                 python: "str | None" = None, start_timeout: float = 600.0,
                 on_submit: "Callable | Iterable[Callable]" = (),
                 on_complete: "Callable | Iterable[Callable]" = (),
                 on_shutdown: "Callable | Iterable[Callable]" = ()) -> None:
        if on_preload_error not in _ON_PRELOAD_ERROR:
            raise ValueError(f"on_preload_error={on_preload_error!r}: expected one of "
                             f"{', '.join(map(repr, _ON_PRELOAD_ERROR))}")
        for name, value in (("workers", workers), ("max_tasks_per_worker", max_tasks_per_worker)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r}: expected a positive integer or None")
        for name, value in (("timeout", timeout), ("idle_timeout", idle_timeout)):
            if value is not None and not value > 0:
                raise ValueError(f"{name}={value!r}: expected a positive number of seconds "
                                 f"or None")
        self._hooks: "dict[str, list[Callable]]" = {
            "submit": _callables(on_submit), "complete": _callables(on_complete),
            "shutdown": _callables(on_shutdown)}
        self._max_workers = workers or _cpu_count()
        self._max_tasks = max_tasks_per_worker
        self._idle_timeout = idle_timeout
        self._timeout = timeout
        self._spill_threshold = int(spill_threshold)
        self._number = next(_pool_numbers)
        self._token = f"{os.getpid()}p{self._number}"
        # Where results spill: a RAM-backed tmpfs first when there is one (no disk writeback
        # for a file that lives milliseconds), else or when it is full /tmp; capture files
        # and the template's log always go to the last one.
        self._spill_dirs = _spill_dirs(spill_dir)
        self._spill_dir = self._spill_dirs[-1]
        for directory in self._spill_dirs:
            spill.sweep(directory)  # leftovers of killed processes, an hour old or more
        modules = _resolve_preload(preload, spec, package)

        self._lock = threading.Lock()
        self._pending: "deque[_Task]" = deque()
        self._aborts: "list[TaskFuture]" = []
        self._shutdown = False
        self._broken: "str | None" = None
        self._task_ids = itertools.count(1)
        self._worker_ids = itertools.count(1)
        self._workers: "dict[str, _Worker]" = {}
        self._node = os.uname().nodename
        self._imported: "dict[str, int]" = {}
        from . import memory

        self._oom_kills = memory.oom_kills()  # the cgroup's OOM kill count, to compare later

        self._control, self._process, self._log = self._start_template(
            modules, env, python or sys.executable, start_timeout)
        self.preload_report = self._read_preload(modules, on_preload_error)
        self._wake_read, self._wake_write = socket.socketpair()
        self._wake_read.setblocking(False)
        self._wake_write.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._control, selectors.EVENT_READ, _CONTROL)
        self._selector.register(self._wake_read, selectors.EVENT_READ, _WAKE)
        self._thread = threading.Thread(target=self._manage, daemon=True,
                                        name=f"hotstart-pool-{self._number}")
        self._thread.start()
        import atexit

        atexit.register(self._at_exit)

    # -- public API -----------------------------------------------------------------------

    @property
    def template_pid(self) -> int:
        return self._process.pid

    @property
    def preload(self) -> "list[str]":
        return [load.module for load in self.preload_report.modules]

    def submit(self, fn: "Callable", /, *args: "Any", **kwargs: "Any") -> TaskFuture:
        """Run ``fn(*args, **kwargs)`` in a worker, with the pool's default timeout."""
        return self.schedule(fn, args, kwargs)

    def schedule(self, fn: "Callable", args: "Iterable[Any]" = (),
                 kwargs: "Mapping[str, Any] | None" = None, *, timeout: "Any" = _DEFAULT,
                 name: "str | None" = None) -> TaskFuture:
        """`submit` with a per-task `timeout` (seconds, or None for none) and a `name`.

        Raises `BrokenPool` after `shutdown` or when the template died, and `TypeError` when
        the function or its arguments cannot be pickled (cloudpickle is used, when installed,
        for lambdas, closures and functions of ``__main__``).
        """
        if timeout is _DEFAULT:
            timeout = self._timeout
        elif timeout is not None and not timeout > 0:
            raise ValueError(f"timeout={timeout!r}: expected a positive number of seconds or "
                             f"None")
        args = tuple(args)
        kwargs = dict(kwargs or {})
        label = name or _name_of(fn)
        payload = _dumps(fn, args, kwargs, label)
        info = TaskInfo(next(self._task_ids), label, time.monotonic(), timeout)
        future = TaskFuture(info)
        task = _Task(info, payload, future)
        future.add_done_callback(self._on_cancelled)
        self._check_open()
        self._fire("submit", info)  # before the task can run: on_submit precedes on_complete
        with self._lock:
            self._check_open()
            # An idle worker takes the task straight from this thread: one thread hop less
            # than going through the manager (which still reads the result).
            worker = None if self._pending else self._claim_idle()
            if worker is None:
                self._pending.append(task)
        if worker is None or not self._start(task, worker) or task.deadline is not None:
            self._wake()  # to dispatch, to requeue after a failed send, or to watch a deadline
        return future

    def _claim_idle(self) -> "_Worker | None":
        """An idle worker, now marked busy (call with the lock held)."""
        for worker in self._workers.values():
            if worker.state == "idle":
                worker.state = "busy"
                return worker
        return None

    def _start(self, task: _Task, worker: _Worker) -> bool:
        """Send a task to a worker this thread claimed; False (task requeued) if it is gone."""
        if not (task.future.running() or task.future.set_running_or_notify_cancel()):
            with self._lock:  # cancelled while queued: on_complete already fired
                if worker.state == "busy":
                    worker.state = "idle"
            return True
        task.dispatched = time.monotonic()
        task.deadline = (task.dispatched + task.info.timeout
                         if task.info.timeout is not None else None)
        task.future.worker_id = worker.id
        worker.task = task
        sock = worker.sock
        try:
            if sock is None:
                raise OSError("the worker's socket is closed")
            _protocol.send(sock, ("task", task.info.task_id, task.payload))
            return True
        except OSError:
            # The worker died before the task reached it: the task never started, so it
            # goes back to the front of the queue; its exit report ends the worker.
            with self._lock:
                worker.task = None
                if worker.state == "busy":
                    worker.state = "lost"
                self._pending.appendleft(task)
            return False

    def _check_open(self) -> None:
        if self._shutdown or self._broken:
            raise BrokenPool(self._broken or "cannot submit a task: this WarmPool was shut "
                             "down; create a new one")

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the pool once the running and (unless `cancel_futures`) queued tasks end.

        Idle workers and the template exit; spill files left by this pool are removed;
        ``on_shutdown`` hooks run once. With ``wait=False`` this happens in the background.
        """
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                cancelled = list(self._pending)
                self._pending.clear()
            else:
                cancelled = []
        for task in cancelled:
            task.future.cancel()
        self._wake()
        if wait and threading.current_thread() is not self._thread:
            self._thread.join()

    def add_hook(self, event: str, handler: "Callable") -> None:
        """Call `handler` on `event`: ``"submit"`` (a `TaskInfo`), ``"complete"`` (the
        `TaskInfo`, the `TaskFuture` and its `TaskMetrics` or None: fired on every path, after
        the outcome is known and before the future completes, except for a cancelled queued
        task, where it follows the cancellation), ``"shutdown"`` (the pool). A handler that
        raises is logged to the ``hotstart.pool`` logger; the others still run."""
        if event not in self._hooks:
            raise ValueError(f"unknown hook event {event!r}: expected 'submit', 'complete' or "
                             f"'shutdown'")
        self._hooks[event].append(handler)

    def workers(self) -> "list[WorkerInfo]":
        """The live workers now (a snapshot)."""
        with self._lock:
            return [WorkerInfo(w.id, w.pid, w.state, w.tasks_done, w.forked, w.ready)
                    for w in self._workers.values()]

    def worker_pids(self) -> "list[int]":
        return [info.pid for info in self.workers() if info.pid is not None]

    def imported_by_tasks(self) -> "dict[str, int]":
        """Modules tasks had to import in their workers (module -> how many tasks did),
        most frequent first: what to add to the preload list so no worker pays for them."""
        counts = dict(self._imported)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def memory(self) -> "dict[str, Any]":
        """Memory of the template and each worker (PSS and USS, bytes, from
        ``/proc/PID/smaps_rollup``), and the limit that applies: the container's cgroup v2 or
        v1 limit when there is one, else the machine's memory."""
        from . import memory

        processes = {"template": _smaps(self.template_pid)}
        for info in self.workers():
            if info.pid is not None:
                processes[info.worker_id] = _smaps(info.pid)
        limits = memory.read_limits()
        return {"processes": processes, "limit": limits.limit, "current": limits.current,
                "available": limits.available, "source": limits.source}

    async def asubmit(self, fn: "Callable", /, *args: "Any", **kwargs: "Any") -> "Any":
        """Await ``fn(*args, **kwargs)`` run in a worker, from any event loop.

        Nothing is bound to a loop: each call wraps its own future on the running loop, so
        successive ``asyncio.run`` calls share one pool. Cancelling the awaiting task cancels
        a queued task, and kills the worker of a running one (a fresh one is forked).
        """
        return await self._await(self.submit(fn, *args, **kwargs))

    async def ascheduled(self, fn: "Callable", args: "Iterable[Any]" = (),
                         kwargs: "Mapping[str, Any] | None" = None, *,
                         timeout: "Any" = _DEFAULT, name: "str | None" = None) -> "Any":
        """`asubmit` with `schedule`'s per-task `timeout` and `name`."""
        return await self._await(self.schedule(fn, args, kwargs, timeout=timeout, name=name))

    async def amap(self, fn: "Callable", *iterables: "Iterable[Any]") -> "AsyncIterator[Any]":
        """Like `map`, asynchronously: yields results in order; closing the iterator early
        cancels (or kills) what is left."""
        import asyncio

        futures = [self.submit(fn, *args) for args in zip(*iterables)]
        try:
            for future in futures:
                yield await asyncio.wrap_future(future)
        finally:
            for future in futures:
                if not future.done():
                    self._abort(future)

    async def ashutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        import asyncio

        await asyncio.to_thread(self.shutdown, wait, cancel_futures=cancel_futures)

    async def __aenter__(self) -> "WarmPool":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.ashutdown(wait=True)

    def __repr__(self) -> str:
        state = "broken" if self._broken else "shut down" if self._shutdown else "running"
        return (f"<WarmPool {state} preload={self.preload!r} workers={len(self._workers)}/"
                f"{self._max_workers} template_pid={self.template_pid}>")

    # -- start-up -------------------------------------------------------------------------

    def _start_template(self, modules: "list[str]", env: "Mapping[str, str] | None",
                        python: str, start_timeout: float):
        import subprocess
        import tempfile

        from . import env as envmod

        environment = envmod.scrubbed() if env is None else dict(env)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        boot = (f"import sys; sys.path.insert(0, {root!r}); "
                f"from hotstart.pool._template import main; main()")
        log = tempfile.TemporaryFile(dir=self._spill_dir, prefix="template-")
        try:
            process = subprocess.Popen(
                [python, "-c", boot, str(theirs.fileno())], pass_fds=[theirs.fileno()],
                env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True)  # a Ctrl-C in the terminal is the parent's to handle
        except OSError as exc:
            ours.close()
            log.close()
            raise PoolError(f"cannot start the template process with {python}: "
                            f"{exc.strerror or exc}: pass python= an interpreter "
                            f"path") from None
        finally:
            theirs.close()
        try:
            _protocol.send(ours, ("boot", {
                "sys_path": list(sys.path), "cwd": os.getcwd(), "preload": modules,
                "parent_pid": os.getpid(), "spill_dirs": self._spill_dirs,
                "spill_threshold": self._spill_threshold,
                "spill_prefix": f"result-{self._token}-"}))
            ours.settimeout(start_timeout)
        except OSError:
            pass
        return ours, process, log

    def _read_preload(self, modules: "list[str]", policy: str) -> PreloadReport:
        try:
            message, _fds = _protocol.recv(self._control)
        except (_protocol.Closed, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            self._stop_template()
            tail = _last_line(self._log)
            self._log.close()
            if timed_out:
                raise PoolError(f"the template process did not finish importing the preload "
                                f"list {modules} in time: raise start_timeout=") from None
            raise PoolError(f"the template process exited (status {self._process.returncode})"
                            f" before reporting its preload{': ' + tail if tail else ''}"
                            ) from None
        self._control.settimeout(None)
        report = PreloadReport.from_message(message[1])
        failed = report.failed
        if failed and policy != "ignore":
            first = failed[0]
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            text = (f"preload module {first.module!r} failed to import in the template: "
                    f"{first.error}{more}")
            if policy == "fail":
                self._stop_template()
                self._log.close()
                error = PreloadError(f"{text}; fix it, remove it from the preload list, or "
                                     f"pass on_preload_error='warn'", report)
                error.add_note(first.traceback or "")
                raise error
            import warnings

            warnings.warn(f"{text}; the pool starts without it\n{first.traceback}",
                          RuntimeWarning, stacklevel=3)
        if report.threads > 1:
            import warnings

            warnings.warn(f"the template has {report.threads} threads after importing its "
                          f"preload list: a preload module started Python threads, and a lock "
                          f"one of them holds at fork time stays locked in every worker", RuntimeWarning,
                          stacklevel=3)
        return report

    def _stop_template(self) -> None:
        _hang_up(self._control)
        try:
            self._process.wait(timeout=5)
        except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
            self._process.kill()
            self._process.wait()

    # -- the manager thread ---------------------------------------------------------------

    def _wake(self) -> None:
        try:
            self._wake_write.send(b"x")
        except (BlockingIOError, OSError):  # full (already woken) or closed (shut down)
            pass

    def _manage(self) -> None:
        try:
            while True:
                self._dispatch()
                if self._finished():
                    break
                for key, _events in self._selector.select(self._next_wake()):
                    if key.data is _WAKE:
                        _drain(self._wake_read)
                    elif key.data is _CONTROL:
                        self._from_template()
                    else:
                        self._from_worker(key.data)
                    if self._broken:
                        break
                if self._broken:
                    break
                self._handle_aborts()
                self._enforce_timeouts()
                self._retire_idle()
        except BaseException as exc:  # noqa: BLE001 - the pool must not hang its users
            self._break(f"the pool's manager thread failed: {type(exc).__name__}: {exc}")
            raise
        finally:
            self._close()

    def _dispatch(self) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    return
                worker = self._claim_idle()
                if worker is None:
                    starting = sum(w.state == "starting" for w in self._workers.values())
                    live = sum(w.state in ("starting", "idle", "busy")
                               for w in self._workers.values())
                    wanted = min(len(self._pending) - starting, self._max_workers - live)
                else:
                    task = self._pending.popleft()
            if worker is None:
                for _ in range(max(wanted, 0)):
                    self._fork()
                return
            if not self._start(task, worker):
                return  # requeued; the dead worker's socket and exit report come next

    def _fork(self) -> None:
        worker_id = f"w{next(self._worker_ids)}"
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        out_fd = _capture_file(self._spill_dir)
        err_fd = _capture_file(self._spill_dir)
        worker = _Worker(worker_id, ours, out_fd, err_fd)
        try:
            _protocol.send(self._control, ("fork", worker_id),
                           fds=[theirs.fileno(), out_fd, err_fd])
        except OSError as exc:
            ours.close()
            os.close(out_fd)
            os.close(err_fd)
            self._break(f"the template process is gone ({exc.strerror or exc})")
            return
        finally:
            theirs.close()
        with self._lock:
            self._workers[worker_id] = worker
        self._selector.register(ours, selectors.EVENT_READ, worker)

    def _from_template(self) -> None:
        try:
            message, fds = _protocol.recv(self._control)
        except (_protocol.Closed, OSError):
            status = self._process.poll()
            if status is None:
                try:
                    status = self._process.wait(timeout=1)
                except Exception:  # noqa: BLE001
                    status = None
            self._break(f"the template process (pid {self.template_pid}) died"
                        f"{_status_text(status)}; its workers died with it")
            return
        for fd in fds:
            os.close(fd)
        kind = message[0]
        if kind == "forked":
            worker = self._workers.get(message[1])
            if worker is not None:
                worker.pid = message[2]
        elif kind == "exited":
            self._exited(message[1], message[2], message[3])

    def _from_worker(self, worker: _Worker) -> None:
        try:
            message, fds = _protocol.recv(worker.sock)
        except (_protocol.Closed, OSError):
            self._lose(worker)
            return
        for fd in fds:
            os.close(fd)
        kind = message[0]
        if kind == "ready":
            worker.pid = message[1]
            worker.ready = worker.idle_since = time.monotonic()
            with self._lock:
                if worker.state == "starting":
                    worker.state = "idle"
        elif kind == "done":
            self._done(worker, message[1], message[2], message[3])

    def _done(self, worker: _Worker, task_id: int, outcome: tuple, measured: dict) -> None:
        task = worker.task
        worker.tasks_done += 1
        if task is None or task.info.task_id != task_id:  # killed meanwhile: drop the result
            if outcome[0] == "spill":
                outcome[1].unlink()
            return
        future = task.future
        # Read the output before the worker is free: its next task truncates the files.
        future.stdout, future.stderr = self._read_output(worker)
        worker.task = None
        if self._max_tasks is not None and worker.tasks_done >= self._max_tasks:
            self._retire(worker)
        else:
            worker.idle_since = time.monotonic()
            with self._lock:
                if worker.state == "busy":
                    worker.state = "idle"
        metrics = TaskMetrics(task_id=task_id, worker_id=worker.id, pid=worker.pid or 0,
                              queue_wait=task.dispatched - task.info.submitted,
                              wall=measured["wall"], cpu=measured["cpu"],
                              peak_rss=measured["peak_rss"],
                              peak_rss_scope=measured["peak_rss_scope"],
                              result_bytes=measured["result_bytes"],
                              spilled=measured["spilled"], node=self._node,
                              imported=measured["imported"])
        for name in metrics.imported:
            self._imported[name] = self._imported.get(name, 0) + 1
        future.metrics = metrics
        kind, data = outcome
        if kind == "error":
            error = _remote_error(task, worker, data)
            error._attach(future.stdout, future.stderr)
            self._complete(task, error=error)
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
                self._complete(task, error=error)
            else:
                self._complete(task, value=value)

    def _complete(self, task: _Task, *, value: "Any" = None,
                  error: "BaseException | None" = None) -> None:
        future = task.future
        self._fire("complete", task.info, future, future.metrics)
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def _on_cancelled(self, future: Future) -> None:
        if future.cancelled():
            self._fire("complete", future.info, future, None)

    def _lose(self, worker: _Worker) -> None:
        """The worker's socket closed: it is dying; its exit report will say how."""
        if worker.sock is not None:
            try:
                self._selector.unregister(worker.sock)
            except (KeyError, ValueError):
                pass
            _hang_up(worker.sock)
            worker.sock = None
        with self._lock:
            if worker.state not in ("killed", "exiting"):
                worker.state = "lost"

    def _kill(self, worker: _Worker) -> None:
        """SIGKILL a worker (through the template) and fork its replacement right away,
        without waiting for the exit report: the pool keeps its size."""
        with self._lock:
            worker.state = "killed"
        self._lose(worker)
        try:
            _protocol.send(self._control, ("kill", worker.id))
        except OSError:
            return
        if not self._shutdown and not self._broken:
            self._fork()

    def _exited(self, worker_id: str, pid: int, status: int) -> None:
        with self._lock:
            worker = self._workers.pop(worker_id, None)
        if worker is None:
            return
        self._lose(worker)
        task = worker.task
        worker.task = None
        if task is not None:
            code = os.waitstatus_to_exitcode(status)
            stdout, stderr = self._read_output(worker)
            task.future.stdout, task.future.stderr = stdout, stderr
            error = WorkerCrashed(self._crash_text(task, worker, code),
                                  exitcode=code if code >= 0
                                  else None, signal=-code if code < 0 else None)
            error._attach(stdout, stderr)
            self._complete(task, error=error)
        os.close(worker.out_fd)
        os.close(worker.err_fd)
        self._remove_spills(worker.id)
        # A worker that died under a task is replaced at once: the pool keeps the size it
        # had (killed workers were replaced by `_kill`; retired ones are replaced only when
        # work is waiting).
        if task is not None and not self._shutdown and not self._broken:
            self._fork()

    def _crash_text(self, task: _Task, worker: _Worker, code: int) -> str:
        head = (f"worker {worker.id} (pid {worker.pid}) died while running task "
                f"{task.info.name!r} (#{task.info.task_id}): ")
        if code >= 0:
            return head + f"it exited with code {code}"
        import signal as signals

        from . import memory

        number = -code
        try:
            name = signals.Signals(number).name
        except ValueError:
            name = f"signal {number}"
        text = head + f"killed by {name} (signal {number})"
        if number == signals.SIGSEGV:
            return text + ": a segmentation fault (its Python traceback, if any, is in stderr)"
        if number != signals.SIGKILL:
            return text
        limits = memory.read_limits()
        usage = ""
        if limits.limit is not None:
            usage = f"; memory limit {limits.limit / 2**30:.1f} GiB ({limits.source})"
            if limits.current is not None:
                usage += f", {limits.current / 2**30:.1f} GiB in use"
        # The cgroup's oom_kill counter says whether the OOM killer struck since we last
        # looked (another process of the cgroup may have been its victim: "likely" is honest).
        before, after = self._oom_kills, memory.oom_kills()
        self._oom_kills = after
        if before is not None and after is not None and after > before:
            return text + f", not sent by the pool: the kernel's OOM killer struck (the cgroup's " \
                          f"oom_kill count rose from {before} to {after}){usage}"
        return text + f", not sent by the pool: the kernel's OOM killer sends it when memory " \
                      f"runs out{usage}"

    def _enforce_timeouts(self) -> None:
        now = time.monotonic()
        for worker in list(self._workers.values()):
            task = worker.task
            if task is None or task.deadline is None or task.deadline > now:
                continue
            worker.task = None
            self._kill(worker)
            stdout, stderr = self._read_output(worker)
            task.future.stdout, task.future.stderr = stdout, stderr
            error = TaskTimeout(f"task {task.info.name!r} (#{task.info.task_id}) did not finish "
                                f"within its timeout of {task.info.timeout:g} s; worker "
                                f"{worker.id} (pid {worker.pid}) was killed and a fresh one "
                                f"forked", timeout=task.info.timeout)
            error._attach(stdout, stderr)
            self._complete(task, error=error)

    def _abort(self, future: TaskFuture) -> None:
        """Cancel a queued task, or kill the worker of a running one (from any thread)."""
        if future.cancel():
            return
        with self._lock:
            self._aborts.append(future)
        self._wake()

    def _handle_aborts(self) -> None:
        with self._lock:
            aborts, self._aborts = self._aborts, []
        for future in aborts:
            for worker in list(self._workers.values()):
                task = worker.task
                if task is not None and task.future is future:
                    worker.task = None
                    self._kill(worker)
                    task.future.stdout, task.future.stderr = self._read_output(worker)
                    self._complete(task, error=CancelledError(
                        f"task {task.info.name!r} (#{task.info.task_id}) was cancelled while "
                        f"running; worker {worker.id} was killed"))

    def _retire(self, worker: _Worker) -> None:
        with self._lock:
            worker.state = "exiting"
        try:
            _protocol.send(worker.sock, ("exit",))
        except (OSError, AttributeError):  # AttributeError: its socket is already closed
            pass
        self._lose(worker)

    def _retire_idle(self) -> None:
        if self._idle_timeout is None:
            return
        cutoff = time.monotonic() - self._idle_timeout
        for worker in list(self._workers.values()):
            with self._lock:
                expired = worker.state == "idle" and worker.idle_since <= cutoff
                if expired:
                    worker.state = "exiting"  # claimed: no submitter can take it now
            if expired:
                self._retire(worker)

    def _next_wake(self) -> "float | None":
        times = [w.task.deadline for w in self._workers.values()
                 if w.task is not None and w.task.deadline is not None]
        if self._idle_timeout is not None:
            times += [w.idle_since + self._idle_timeout for w in self._workers.values()
                      if w.state == "idle"]
        if not times:
            return None
        return max(0.0, min(times) - time.monotonic())

    def _finished(self) -> bool:
        if self._broken:
            return True
        with self._lock:
            if not self._shutdown or self._pending:
                return False
        return not any(w.task is not None for w in self._workers.values())

    def _break(self, reason: str) -> None:
        """The template is gone: fail everything in flight and everything queued."""
        with self._lock:
            self._broken = reason
            pending = list(self._pending)
            self._pending.clear()
        for worker in list(self._workers.values()):
            task = worker.task
            worker.task = None
            if task is not None:
                task.future.stdout, task.future.stderr = self._read_output(worker)
                error = WorkerCrashed(f"task {task.info.name!r} (#{task.info.task_id}) lost "
                                      f"its worker {worker.id}: {reason}")
                error._attach(task.future.stdout, task.future.stderr)
                self._complete(task, error=error)
        for task in pending:
            if task.future.set_running_or_notify_cancel():
                self._complete(task, error=BrokenPool(
                    f"task {task.info.name!r} (#{task.info.task_id}) was not run: {reason}"))

    def _close(self) -> None:
        """Last step of the manager thread: stop workers and template, remove leftovers."""
        for worker in list(self._workers.values()):
            self._lose(worker)
        _hang_up(self._control)  # the template SIGKILLs its workers and exits
        try:
            self._process.wait(timeout=10)
        except Exception:  # noqa: BLE001
            self._process.kill()
            self._process.wait()
        for worker in list(self._workers.values()):
            for fd in (worker.out_fd, worker.err_fd):
                try:
                    os.close(fd)
                except OSError:
                    pass
        with self._lock:
            self._workers.clear()
            self._shutdown = True
        self._remove_spills("")
        self._selector.close()
        self._wake_read.close()
        self._wake_write.close()
        self._log.close()
        import atexit

        atexit.unregister(self._at_exit)
        self._fire("shutdown", self)

    def _at_exit(self) -> None:
        self.shutdown(wait=True)

    # -- helpers --------------------------------------------------------------------------

    def _read_output(self, worker: _Worker) -> "tuple[str, str]":
        return _tail(worker.out_fd), _tail(worker.err_fd)

    def _remove_spills(self, worker_id: str) -> None:
        for directory in self._spill_dirs:
            try:
                spill.sweep(directory, older_than=float("-inf"),
                            prefix=f"result-{self._token}-{worker_id}")
            except spill.SpillError:
                pass

    def _fire(self, event: str, *args: "Any") -> None:
        for handler in list(self._hooks[event]):
            try:
                handler(*args)
            except Exception:  # noqa: BLE001 - one bad handler must not break the others
                import logging

                logging.getLogger("hotstart.pool").exception(
                    "%s hook %r raised; the pool carries on", event, handler)

    async def _await(self, future: TaskFuture) -> "Any":
        import asyncio

        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.done():
                self._abort(future)
            raise


# -- module helpers -----------------------------------------------------------------------

def _callables(value: "Callable | Iterable[Callable]") -> "list[Callable]":
    if callable(value):
        return [value]
    return list(value)


def _spill_dirs(explicit: "str | None") -> "list[str]":
    if explicit is not None:
        return [spill.spill_dir(explicit)]
    directories = [spill.spill_dir()]
    if _is_tmpfs("/dev/shm"):
        try:
            directories.insert(0, spill.spill_dir(f"/dev/shm/hotstart-{os.geteuid()}"))
        except spill.SpillError as exc:  # planted by someone else: never used, said once
            import warnings

            warnings.warn(f"{exc}; spilling to {directories[0]} instead", RuntimeWarning,
                          stacklevel=4)
    return directories


def _is_tmpfs(path: str) -> bool:
    try:
        with open("/proc/self/mounts") as mounts:
            return any(fields[1] == path and fields[2] == "tmpfs"
                       for fields in (line.split() for line in mounts) if len(fields) > 2)
    except OSError:
        return False


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _resolve_preload(preload: "Iterable[str] | None", spec: "Any",
                     package: "str | list[str] | None") -> "list[str]":
    if isinstance(preload, str):
        raise TypeError(f"preload={preload!r}: expected a list of module names, not a string")
    modules = list(preload or [])
    if spec is not None:
        from hotstart.registry.index import Index
        from hotstart.registry.spec import SpecError, compute_preload, load_spec

        if package is None:
            raise ValueError("spec= needs package=: the package (or source path) whose "
                             "@register sites name the spec's types")
        index = Index.build(package)
        for one in spec if isinstance(spec, (list, tuple)) else [spec]:
            is_path = isinstance(one, (str, os.PathLike))
            where = os.fspath(one) if is_path else "the spec"
            try:
                loaded = load_spec(one) if is_path else one
            except (SpecError, ValueError) as exc:
                raise PreloadError(f"cannot read the job spec: {exc}") from None
            result = compute_preload(loaded, index)
            if result.unknown:
                first = result.unknown[0]
                raise PreloadError(f"{where}: type {first.name!r} at {first.path} is not "
                                   f"registered in {package}{result.hint(first.name)}")
            modules += [m for m in result.modules if m not in modules]
    for name in modules:
        if not isinstance(name, str) or not all(part.isidentifier()
                                                for part in name.split(".")):
            raise ValueError(f"preload module {name!r} is not a module name")
    return modules


def _name_of(fn: "Callable") -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _dumps(fn: "Callable", args: tuple, kwargs: dict, label: str) -> bytes:
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


def _remote_error(task: _Task, worker: _Worker, details: dict) -> RemoteError:
    exception = None
    if details["exception"] is not None:
        try:
            exception = pickle.loads(details["exception"])
        except Exception:  # noqa: BLE001 - a class that exists only in the worker
            exception = None
    message = details["message"]
    summary = f"{details['type']}: {message}" if message else details["type"]
    note = f" ({details['note']})" if details.get("note") else ""
    error = RemoteError(f"task {task.info.name!r} (#{task.info.task_id}) raised {summary} in "
                        f"worker {worker.id} (pid {worker.pid}){note}",
                        type_name=details["type"], remote_traceback=details["traceback"],
                        exception=exception)
    error.__cause__ = exception
    return error


def _status_text(status: "int | None") -> str:
    if status is None:
        return ""
    if status < 0:
        return f" (killed by signal {-status})"
    return f" (exit code {status})"


def _capture_file(directory: str) -> int:
    """An anonymous file (no name, mode 0600) for a worker's stdout or stderr."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o600)
    except (AttributeError, OSError):
        import tempfile

        fd, path = tempfile.mkstemp(dir=directory, prefix="capture-")
        os.unlink(path)
        return fd


def _tail(fd: int, limit: int = _OUTPUT_LIMIT) -> str:
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - limit)
        data = os.pread(fd, size - start, start)
    except OSError:
        return ""
    text = data.decode("utf-8", "replace")
    return f"[... {start} bytes cut ...]\n{text}" if start else text


def _last_line(log) -> str:
    try:
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError):
        return ""
    return lines[-1].strip() if lines else ""


def _smaps(pid: int) -> "dict[str, int | None]":
    fields = {"Pss": None, "Private_Clean": 0, "Private_Dirty": 0, "Rss": None}
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as rollup:
            for line in rollup:
                name, _, rest = line.partition(b":")
                key = name.decode()
                if key in fields:
                    fields[key] = int(rest.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return {"pss": None, "uss": None, "rss": None}
    return {"pss": fields["Pss"], "uss": fields["Private_Clean"] + fields["Private_Dirty"],
            "rss": fields["Rss"]}


def _hang_up(sock: socket.socket) -> None:
    """Close our end so that the peer sees EOF now, even if a child this process forked
    holds a copy of the descriptor (``shutdown`` acts on the connection, ``close`` only on
    the descriptor)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _drain(sock: socket.socket) -> None:
    try:
        while sock.recv(4096):
            pass
    except (BlockingIOError, OSError):
        pass
