"""`WarmPool`: the parent's side of the warm pool (see the diagram in ``hotstart.pool``).

This module is the API: `WarmPool` checks its arguments, starts the template (``_startup``),
hands the running pool to its manager thread (``_manager``, which owns every worker and
socket: dispatch, results, timeouts, crashes, retiring, shutting down) and answers from the
state the manager keeps. The user's threads only append tasks to a queue (under a lock) and
wake the manager through a socket pair, except that `submit` hands a task to an idle worker
itself when nothing is queued (one thread hop less; the manager still reads the result).
"""

from __future__ import annotations

import itertools
import os
import sys
import time
import weakref
from concurrent.futures import Future

from . import _startup, spill
from ._manager import Manager
from ._tasks import Task, name_of
from .backends._base import DEFAULT, Backend, check_seconds, hook_table, prepare_call
from .errors import BrokenPool
from .records import TaskInfo, WorkerInfo

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
    from typing import Any

    from .records import PreloadReport, TaskMetrics

__all__ = ["TaskFuture", "WarmPool"]

_DEFAULT = DEFAULT
_ON_PRELOAD_ERROR = ("fail", "warn", "ignore")
_pool_numbers = itertools.count(1)


def _after_fork_in_child() -> None:
    global _process_id
    _process_id = os.getpid()


# This process's pid, kept current by a fork hook rather than asked of the kernel at every
# submit (a system call: ~0.5 µs here, on a ~90 µs round trip). A pool compares it with the
# pid of the process that created it. The hook runs for forks made through Python
# (os.fork, multiprocessing's fork start method, C code that calls PyOS_AfterFork_Child);
# a raw fork() from C that skips it is not seen.
_process_id = os.getpid()
os.register_at_fork(after_in_child=_after_fork_in_child)


class TaskFuture(Future):
    """A `concurrent.futures.Future` that also carries what the task cost and printed.

    Set before the future completes: ``metrics`` (`TaskMetrics`, None when the task never ran
    to a result: timeout, crash, cancel), ``stdout`` and ``stderr`` (the task's captured
    output, text, at most the last MiB of each), ``worker_id``.

    ``result()`` raises what the call raised, as itself (its ``__cause__`` a `RemoteError`
    with the remote traceback), or one of ``hotstart.pool.errors`` for what the pool saw
    (a timeout, a crash, an exception that cannot be raised as itself). In a process forked
    from the one that submitted it, a future not done at the fork raises `BrokenPool` at
    once rather than wait forever: its result goes to the parent.
    """

    def __init__(self, info: TaskInfo,
                 on_cancel: Callable[[TaskFuture], None] | None = None) -> None:
        super().__init__()
        self.info = info
        self.metrics: TaskMetrics | None = None
        self.stdout = ""
        self.stderr = ""
        self.worker_id: str | None = None
        self._pid = _process_id
        # The pool's `complete` hooks for a cancelled task: called by `cancel` rather than
        # registered as a done callback, which every task would pay for (~3 µs).
        self._on_cancel = on_cancel

    def cancel(self) -> bool:
        """`Future.cancel`; the first call that finds it cancelled fires the pool's
        ``complete`` hooks (once, whoever else cancels it too)."""
        cancelled = super().cancel()
        if cancelled and self._on_cancel is not None:
            # Taken under the lock, called outside it (as Future runs its callbacks: a
            # hook may cancel other futures from this thread while another thread cancels
            # this one from theirs).
            with self._condition:
                on_cancel, self._on_cancel = self._on_cancel, None
            if on_cancel is not None:
                on_cancel(self)
        return cancelled

    @property
    def task_id(self) -> int:
        return self.info.task_id

    def result(self, timeout: float | None = None) -> Any:
        if self._pid != _process_id and not self.done():
            raise self._orphaned()
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if self._pid != _process_id and not self.done():
            raise self._orphaned()
        return super().exception(timeout)

    def _orphaned(self) -> BrokenPool:
        return BrokenPool(f"task {self.info.name!r} (#{self.info.task_id}) was submitted in "
                          f"process {self._pid}, and this process ({_process_id}) is a fork "
                          f"of it: its result goes to process {self._pid}, never here")


class WarmPool(Backend):
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
    start_timeout: how long the constructor waits for the preload (seconds, default 60):
    past it the template is killed with what it started, and `PoolError` names the module
    it was still importing.
    on_submit / on_complete / on_shutdown: hooks (a callable or a list of them), see `add_hook`.

    The constructor returns once the template has imported the preload list.
    """

    engine = "local"

    def __init__(self, preload: Iterable[str] | None = None, *, spec: Any = None,
                 package: str | list[str] | None = None, workers: int | None = None,
                 max_tasks_per_worker: int | None = None,
                 idle_timeout: float | None = None, timeout: float | None = None,
                 env: Mapping[str, str] | None = None, spill_dir: str | None = None,
                 spill_threshold: int = 1 << 20, on_preload_error: str = "fail",
                 python: str | None = None,
                 start_timeout: float = _startup.DEFAULT_START_TIMEOUT,
                 on_submit: Callable | Iterable[Callable] = (),
                 on_complete: Callable | Iterable[Callable] = (),
                 on_shutdown: Callable | Iterable[Callable] = ()) -> None:
        if on_preload_error not in _ON_PRELOAD_ERROR:
            raise ValueError(f"on_preload_error={on_preload_error!r}: expected one of "
                             f"{', '.join(map(repr, _ON_PRELOAD_ERROR))}")
        for name, value in (("workers", workers), ("max_tasks_per_worker", max_tasks_per_worker)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name}={value!r}: expected a positive integer or None")
        check_seconds("timeout", timeout)
        check_seconds("idle_timeout", idle_timeout)
        hooks = hook_table(on_submit, on_complete, on_shutdown)
        self._timeout = timeout
        self._number = next(_pool_numbers)
        # The process that owns the pool: a child forked from it shares the pool's sockets
        # (and would steal the parent's results), so `schedule` refuses to run there.
        self._pid = _process_id
        self._token = f"{self._pid}p{self._number}"
        # Where results spill: a RAM-backed tmpfs first when there is one (no disk writeback
        # for a file that lives milliseconds), else or when it is full /tmp; capture files
        # and the template's log always go to the last one.
        self._spill_dirs = _startup.spill_dirs(spill_dir)
        for directory in self._spill_dirs:
            spill.sweep(directory)  # leftovers of killed processes, an hour old or more
        modules = _startup.resolve_preload(preload, spec, package)
        self._task_ids = itertools.count(1)
        from . import memory

        oom_kills = memory.oom_kills()  # the cgroup's OOM kill count, to compare later

        control, self._process, log = _startup.start_template(
            modules, env, python or sys.executable, start_timeout, self._spill_dirs,
            int(spill_threshold), self._token)
        self.preload_report = _startup.read_preload(control, self._process, log, modules,
                                                    on_preload_error)
        self._manager = Manager(
            weakref.ref(self), control=control, process=self._process, log=log, hooks=hooks,
            max_workers=workers or _startup.cpu_count(), max_tasks=max_tasks_per_worker,
            idle_timeout=idle_timeout, spill_dirs=self._spill_dirs, token=self._token,
            oom_kills=oom_kills, number=self._number, spill_threshold=int(spill_threshold))
        self._manager.thread.start()
        import atexit

        atexit.register(self._manager.at_exit)
        # A pool dropped without `shutdown` is shut down when collected, as
        # ProcessPoolExecutor does: its queued and running tasks still complete, then the
        # workers, the template and the manager thread end. (The manager holds the pool only
        # weakly; at exit, `at_exit` above does the same and waits.)
        self._finalizer = weakref.finalize(self, _shut_down_dropped, self._manager, self._pid)
        self._finalizer.atexit = False

    # -- public API -----------------------------------------------------------------------

    @property
    def template_pid(self) -> int:
        return self._process.pid

    @property
    def preload(self) -> list[str]:
        return [load.module for load in self.preload_report.modules]

    def preload_reports(self) -> dict[str, PreloadReport]:
        """``{"template": preload_report}``: the workers are forked from the template, so
        they have what it preloaded (`Backend`'s surface)."""
        return {"template": self.preload_report}

    def schedule(self, fn: Callable, args: Iterable[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, *, timeout: Any = _DEFAULT,
                 name: str | None = None) -> TaskFuture:
        """`submit` with a per-task `timeout` (seconds, or None for none) and a `name`.

        Raises `BrokenPool` (a `RuntimeError`) after `shutdown`, when the template died, or
        in a process forked from the one that created the pool; `TypeError` when the function
        or its arguments cannot be pickled (cloudpickle is used, when installed, for lambdas,
        closures and functions of ``__main__``).
        """
        if _process_id != self._pid:
            raise BrokenPool(f"this WarmPool was created in process {self._pid}, and this "
                             f"process ({_process_id}) is a fork of it: a pool serves only "
                             f"the process that created it; create a new WarmPool here")
        timeout, label, payload = prepare_call(fn, args, kwargs, timeout, self._timeout, name)
        info = TaskInfo(next(self._task_ids), label, time.monotonic(), timeout)
        manager = self._manager
        future = TaskFuture(info, manager.on_cancelled)
        task = Task(info, payload, future)
        manager.check_open()
        manager.fire("submit", info)  # before the task can run: on_submit precedes on_complete
        with manager.lock:
            manager.check_open()
            # An idle worker takes the task straight from this thread: one thread hop less
            # than going through the manager (which still reads the result).
            worker = None if manager.pending else manager.claim_idle()
            if worker is None:
                manager.pending.append(task)
        if worker is None or not manager.start(task, worker) or task.deadline is not None:
            manager.wake()  # to dispatch, to requeue after a failed send, or to watch a deadline
        return future

    def map(self, fn: Callable, /, *iterables: Iterable[Any], timeout: float | None = None,
            chunksize: int = 1, **options: Any) -> Iterator[Any]:
        """`Executor.map`; with ``chunksize`` above 1, that many calls travel to a worker as
        one task (one round trip, not N), as in `ProcessPoolExecutor`: results still come
        in order, and a call that raises fails its whole chunk, raised at its place.
        (`options`: what newer `Executor.map` versions accept, such as ``buffersize``.)"""
        if not isinstance(chunksize, int) or chunksize < 1:
            raise ValueError(f"chunksize={chunksize!r}: expected a positive integer")
        if chunksize == 1:
            return super().map(fn, *iterables, timeout=timeout, **options)
        from ._chunks import Chunk

        chunks = _batched(zip(*iterables), chunksize)
        results = super().map(Chunk(fn, name_of(fn)), chunks, timeout=timeout, **options)
        return itertools.chain.from_iterable(results)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop the pool once the running and (unless `cancel_futures`) queued tasks end.

        Idle workers and the template exit; spill files left by this pool are removed;
        ``on_shutdown`` hooks run once. With ``wait=False`` this happens in the background.
        In a process forked from the pool's, this does nothing: the pool is the parent's.
        """
        if _process_id != self._pid:
            return
        self._manager.shutdown(wait, cancel_futures)

    def _hook_table(self) -> dict[str, list[Callable]]:
        return self._manager.hooks

    def workers(self) -> list[WorkerInfo]:
        """The live workers now (a snapshot)."""
        manager = self._manager
        with manager.lock:
            return [WorkerInfo(w.id, w.pid, w.state, w.tasks_done, w.forked, w.ready)
                    for w in manager.workers.values()]

    def worker_pids(self) -> list[int]:
        return [info.pid for info in self.workers() if info.pid is not None]

    def imported_by_tasks(self) -> dict[str, int]:
        """Modules tasks had to import in their workers (module -> how many tasks did),
        most frequent first: what to add to the preload list so no worker pays for them."""
        counts = dict(self._manager.imported)
        return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

    def memory(self) -> dict[str, Any]:
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

    async def asubmit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> Any:
        """Await ``fn(*args, **kwargs)`` run in a worker, from any event loop.

        Nothing is bound to a loop: each call wraps its own future on the running loop, so
        successive ``asyncio.run`` calls share one pool. Cancelling the awaiting task cancels
        a queued task, and kills the worker of a running one (a fresh one is forked).
        """
        return await self._await(self.submit(fn, *args, **kwargs))

    async def ascheduled(self, fn: Callable, args: Iterable[Any] = (),
                         kwargs: Mapping[str, Any] | None = None, *,
                         timeout: Any = _DEFAULT, name: str | None = None) -> Any:
        """`asubmit` with `schedule`'s per-task `timeout` and `name`."""
        return await self._await(self.schedule(fn, args, kwargs, timeout=timeout, name=name))

    async def amap(self, fn: Callable, *iterables: Iterable[Any]) -> AsyncIterator[Any]:
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
                    self._manager.abort(future)

    async def ashutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        import asyncio

        await asyncio.to_thread(self.shutdown, wait, cancel_futures=cancel_futures)

    async def __aenter__(self) -> WarmPool:  # noqa: PYI034 - typing.Self costs an import
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.ashutdown(wait=True)

    def __repr__(self) -> str:
        manager = self._manager
        state = ("broken" if manager.broken else "shut down" if manager.shutdown_requested
                 else "running")
        return (f"<WarmPool {state} preload={self.preload!r} workers={len(manager.workers)}/"
                f"{manager.max_workers} template_pid={self.template_pid}>")

    async def _await(self, future: TaskFuture) -> Any:
        import asyncio

        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            if not future.done():
                self._manager.abort(future)
            raise


def _batched(items: Iterator[tuple], size: int) -> Iterator[tuple[tuple, ...]]:
    """Tuples of `size` items (the last one shorter): ``itertools.batched`` (3.12+)."""
    while chunk := tuple(itertools.islice(items, size)):
        yield chunk


def _shut_down_dropped(manager: Manager, pid: int) -> None:
    """The finalizer of a pool collected without `shutdown`: shut it down in the background
    (queued and running tasks still complete), unless this is a forked copy of the process
    that owned it."""
    if _process_id == pid:
        manager.shutdown(wait=False, cancel_futures=False)


def _smaps(pid: int) -> dict[str, int | None]:
    """PSS, USS and RSS of a process in bytes (None each when it cannot be read)."""
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
