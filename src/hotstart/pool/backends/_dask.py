"""`DaskBackend`: the backends' call surface on Dask distributed (`DaskPreloadPlugin` preloads
each worker).

    >>> with DaskBackend("tcp://scheduler:8786", preload=["pandas"], timeout=600) as backend:
    ...     future = backend.submit(load_frame, "sales.csv")
    ...     future.result(), future.metrics.worker_id, future.metrics.node

What it guarantees:

- preload: `DaskPreloadPlugin` is registered with ``client.register_plugin`` under a name of
  its own (one per backend), so every worker imports the list: the current ones before the
  constructor returns, and every later one (``cluster.scale``, an autoscaler, a worker that
  connects, one a nanny restarts) before it runs any task (Dask sets a joining worker's
  plugins up before it reads the scheduler's messages). The plugin imports in the worker's
  event-loop thread (a worker process's main thread: modules that install signal handlers
  at import can; the worker answers nothing meanwhile) and keeps the report
  (``_task``'s module global, and on the plugin in ``worker.plugins``); `preload_reports`
  gathers them with ``client.run``. ``shutdown`` unregisters the plugin;
- a worker whose preload failed runs none of this backend's tasks: each task sent there
  fails with `PreloadError` naming the worker and the module (``_task.run_task`` refuses),
  and the constructor warns (`RuntimeWarning`). Submissions are *not* restricted to the
  good workers: Dask restrictions (``workers=``, resources) are fixed when a task is sent,
  so a list goes stale as workers come and go, and with no good worker at all a restricted
  task would wait forever instead of failing. If several backends preload on one worker, a
  failure in any of them makes the worker process unusable for all, for the rest of its life
  (imports cannot be undone; ``_task`` keeps every failure);
- the task's own exception is raised as itself, its `RemoteError` cause carrying the remote
  traceback (Dask's own serialization of exceptions is not used: ``run_task`` describes it);
- a worker that dies under a task (``os._exit``, a signal, a segfault, the nanny killing it
  at its memory limit) fails the future with `WorkerCrashed` once Dask gives up on the task
  (``distributed.KilledWorker``). Dask retries such a task on another worker up to the
  scheduler's ``distributed.scheduler.allowed-failures`` times (default 3) first: a cluster
  this backend starts is created with ``allowed_failures=0`` (a crash is never silently
  retried); for a scheduler you run, set that option to 0 for the same rule (the error says
  how many workers died). Dask gives no exit code or signal, and no worker stderr;
- ``metrics``: the worker id is the Dask worker's address, the node its host name, the pid
  its process; wall and CPU time (the task's thread), the worker process's peak RSS
  (scope ``"worker"``) and the cgroup-aware memory figure are measured in the worker;
  ``queue_wait`` compares the worker's wall clock with this process's (on another host it
  carries the clocks' skew);
- ``shutdown`` unregisters the plugin and closes only what the backend opened (its Client,
  its LocalCluster); a Client you passed stays open. A Client the backend opens is not
  made the process's default Dask scheduler.

What Dask cannot do (``docs/backends.md`` has the table):

- stop a running task: a timeout fails the future with `TaskTimeout` at once and cancels
  the Dask future, but the worker thread runs the call to its end and its result is
  dropped (``can_kill`` is False);
- give a task an environment of its own: workers run tasks in threads of one process, so
  ``scrub_env`` applies `env.scrubbed`'s rules (plus ``DASK_*`` names that do not look
  secret, and ``allow_env``) to the worker *process* when the plugin is set up (names set
  through the nanny's ``env=`` or ``distributed.nanny.environ`` go too unless allowed; the
  kernel's ``/proc/PID/environ`` keeps what the process started with), and ``run_code``'s
  ``env_updates``/``python_path`` and the put-back of builtins, the recursion limit,
  ``sys.path``, ``os.environ`` and the
  working directory after each task are process-wide: exact with one thread per worker
  (``nthreads=1``), racy between concurrent tasks otherwise. A worker running in this
  process (``processes=False``) is never scrubbed: it would scrub your own environment;
- capture a task's output: ``stdout``/``stderr`` are empty; prints go to the worker's log
  (use ``distributed.print`` to forward them to the client);
- keep a result safe until it is fetched: a result lost with its worker before the client
  read it is recomputed by Dask.

Tasks run ``_task.run_task`` through `_run`, a module-level function of this module, so
workers need hotstart installed (as they need ``distributed``).
"""

from __future__ import annotations

import os
import uuid

try:
    import distributed
except ImportError as _missing:
    raise ModuleNotFoundError(f"DaskBackend needs Dask distributed ({_missing}): "
                              f"pip install 'hotstart[dask]'", name="distributed") from None

from . import _task
from ._base import RemoteBackend

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

    from ..records import PreloadReport
    from ._base import _Call

__all__ = ["DaskBackend", "DaskPreloadPlugin"]

# Which process made a plugin: a worker in that same process must not scrub its environment
# (the pid alone could repeat on another host, the token alone in a fork).
_PROCESS_TOKEN = uuid.uuid4().hex


class DaskPreloadPlugin(distributed.WorkerPlugin):
    """Imports `modules` in each Dask worker process and keeps the report (see the module
    docstring); with `scrub`, first reduces the process's environment to ``env.scrubbed``
    plus `allow` and the names starting with `prefixes`.

        >>> client.register_plugin(DaskPreloadPlugin(["pandas"]), name="hotstart-preload")
    """

    def __init__(self, modules: Iterable[str], *, scrub: bool = True,
                 allow: Iterable[str] = (), prefixes: Iterable[str] = ("DASK_",)) -> None:
        self.modules = list(modules)
        self.scrub = scrub
        self.allow = list(allow)
        self.prefixes = tuple(prefixes)
        self.origin = (_PROCESS_TOKEN, os.getpid())
        #: This worker's report (a dict of `records.PreloadReport`'s fields) once set up.
        self.report: dict | None = None

    def setup(self, worker: distributed.Worker) -> None:
        # Synchronous on purpose: it runs in the worker's event-loop thread (a worker
        # process's main thread), and a joining worker reads no task before it is done.
        scrub = self.scrub and (_PROCESS_TOKEN, os.getpid()) != self.origin
        self.report = _task.preload_here(self.modules, scrub=scrub, allow=self.allow,
                                         prefixes=self.prefixes)
        _combine(worker)

    def teardown(self, worker: distributed.Worker) -> None:
        _combine(worker)  # Dask removed this plugin from worker.plugins before calling this


def _combine(worker: distributed.Worker) -> None:
    """Make ``_task``'s report cover every hotstart plugin on this worker: several backends
    on one cluster each register one. (What ``run_task`` refuses on is ``_task``'s record of
    every failed preload of the process, which no plugin's removal clears.)"""
    reports = [plugin.report for plugin in list(worker.plugins.values())
               if isinstance(plugin, DaskPreloadPlugin) and plugin.report is not None]
    if not reports:
        _task._report = None
        return
    entries: dict[str, dict] = {}
    for report in reports:
        for entry in report["modules"]:
            if entry["module"] not in entries or not entry["ok"]:
                entries[entry["module"]] = entry
    combined = dict(reports[-1])
    combined["modules"] = list(entries.values())
    combined["scrubbed"] = any(report.get("scrubbed") for report in reports)
    _task._report = combined


def _run(payload: bytes) -> tuple:
    """The Dask task: one ``_task.run_task`` call, the worker named by its address."""
    return _task.run_task(payload, distributed.get_worker().address)


def _plugin_report(name: str, dask_worker: distributed.Worker) -> dict | None:
    """Run on a worker by ``client.run``: plugin `name`'s report there."""
    plugin = dask_worker.plugins.get(name)
    return getattr(plugin, "report", None)


class DaskBackend(RemoteBackend):
    """The backends' surface on a Dask cluster (see the module docstring for what Dask
    guarantees and what it cannot).

    client_or_address: a `distributed.Client` (left open by ``shutdown``), a scheduler address
    (``"tcp://host:8786"``: the backend opens a Client and closes it), a Dask cluster object
    (the backend opens a Client on it), or None: the backend starts a
    ``LocalCluster(processes=True, **local_cluster_kwargs)`` (its scheduler with
    ``allowed_failures=0``) and closes it at ``shutdown``.
    preload, spec, package: the preload list, as `WarmPool` takes it; with neither `preload`
    nor `spec`, ``HOTSTART_PRELOAD``. scrub_env, allow_env: reduce each worker process's
    environment to ``env.scrubbed(allow=allow_env)`` plus ``DASK_*`` at plugin setup.
    timeout: default per-task limit in seconds (the future fails; the task is not stopped).
    on_submit / on_complete / on_shutdown: hooks, as `WarmPool` takes them.
    """

    engine = "dask"
    can_kill = False  # a running Dask task cannot be stopped: timeouts cancel, not kill

    def __init__(self, client_or_address: Any = None, *, preload: Iterable[str] | None = None,
                 spec: Any = None, package: str | list[str] | None = None,
                 scrub_env: bool = True, allow_env: Iterable[str] = (),
                 timeout: float | None = None,
                 on_submit: Callable | Iterable[Callable] = (),
                 on_complete: Callable | Iterable[Callable] = (),
                 on_shutdown: Callable | Iterable[Callable] = (),
                 **local_cluster_kwargs: Any) -> None:
        from .._startup import resolve_preload

        if isinstance(allow_env, str):
            raise TypeError(f"allow_env={allow_env!r}: expected a list of names, not a string")
        if local_cluster_kwargs and client_or_address is not None:
            raise TypeError(f"{', '.join(sorted(local_cluster_kwargs))}: LocalCluster "
                            f"options apply only when DaskBackend starts its own cluster "
                            f"(client_or_address=None)")
        modules = resolve_preload(preload, spec, package, environment=True)
        super().__init__(timeout=timeout, on_submit=on_submit, on_complete=on_complete,
                         on_shutdown=on_shutdown)
        self._owned: list[Any] = []  # what shutdown closes, in order: our client, our cluster
        self._client = self._connect(client_or_address, local_cluster_kwargs)
        self._scheduler_id = _scheduler_id(self._client)
        self.preload = modules
        self._plugin_name = f"hotstart-preload-{uuid.uuid4().hex[:12]}"
        try:
            try:
                self._client.register_plugin(
                    DaskPreloadPlugin(modules, scrub=scrub_env, allow=allow_env),
                    name=self._plugin_name)
            except Exception as exc:  # noqa: BLE001 - whatever a worker raised loading it
                from ..errors import PoolError

                text = str(exc).strip().splitlines()
                raise PoolError(f"the Dask workers could not set up hotstart's preload "
                                f"plugin: {type(exc).__name__}: {text[0] if text else ''} "
                                f"(a preload module that ends its worker process does this, "
                                f"and so does a worker without hotstart installed)") from None
            self._warn_failed(self.preload_reports())
        except BaseException:
            self._close_owned()
            raise

    def _connect(self, target: Any, cluster_kwargs: dict) -> distributed.Client:
        if isinstance(target, distributed.Client):
            if target.asynchronous:
                raise TypeError("DaskBackend needs a synchronous distributed.Client, not one "
                                "made with asynchronous=True")
            if target.status != "running":
                raise ValueError(f"this distributed.Client is {target.status}: pass a running "
                                 f"one")
            return target
        if target is None:
            if not cluster_kwargs.setdefault("processes", True):
                raise ValueError("processes=False would run tasks in threads of this process "
                                 "(no preload, no environment of their own): leave it out")
            scheduler = dict(cluster_kwargs.pop("scheduler_kwargs", None) or {})
            scheduler.setdefault("allowed_failures", 0)  # a crash is never silently retried
            cluster = distributed.LocalCluster(scheduler_kwargs=scheduler, **cluster_kwargs)
            self._owned.append(cluster)
            target = cluster
        elif not isinstance(target, (str, distributed.deploy.Cluster)):
            raise TypeError(f"DaskBackend takes a distributed.Client, a scheduler address, a "
                            f"Dask cluster or None, not {type(target).__name__}")
        try:
            # Not the process's default Dask scheduler: your own dask calls stay as they were.
            client = distributed.Client(target, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            self._close_owned()
            where = target if isinstance(target, str) else type(target).__name__
            raise ConnectionError(f"cannot reach the Dask scheduler at {where}: "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                  f": check the address and that the scheduler runs") from None
        self._owned.insert(0, client)
        return client

    @property
    def client(self) -> distributed.Client:
        """The `distributed.Client` the backend submits through."""
        return self._client

    def preload_reports(self) -> dict[str, PreloadReport]:
        """{worker address: `PreloadReport`} for every worker that has set this backend's
        plugin up (a worker still starting, or one that does not answer, is left out)."""
        from ..records import PreloadReport

        replies = self._client.run(_plugin_report, self._plugin_name, on_error="return")
        return {address: PreloadReport.from_message(report)
                for address, report in sorted(replies.items()) if isinstance(report, dict)}

    def _warn_failed(self, reports: dict[str, PreloadReport]) -> None:
        import warnings

        for address, report in reports.items():
            for load in report.failed:
                warnings.warn(f"preload of {load.module!r} failed on Dask worker {address}: "
                              f"{load.error}; tasks sent there fail with PreloadError (fix the "
                              f"module or the worker's environment)", RuntimeWarning,
                              stacklevel=3)

    # -- the engine -------------------------------------------------------------------------

    def _launch(self, call: _Call) -> distributed.Future:
        from ..errors import BrokenPool

        if self._client.status != "running":
            raise BrokenPool(f"the Dask client is {self._client_state()}: create a new "
                             f"DaskBackend once the scheduler is reachable")
        if _scheduler_id(self._client) not in (None, self._scheduler_id):
            # The client reconnected to a new scheduler, which has not got our plugin: its
            # new workers would run tasks without the preload and the scrub.
            raise BrokenPool("the Dask scheduler was restarted since this DaskBackend "
                             "registered its preload plugin: create a new DaskBackend")
        return self._client.submit(_run, call.payload, pure=False,
                                   key=f"{_key_prefix(call.info.name)}-{uuid.uuid4().hex}")

    def _when_done(self, handle: distributed.Future, callback: Callable[[], None]) -> None:
        # Dask calls it in its callback thread, once the future is finished, erred or
        # cancelled.
        handle.add_done_callback(lambda _future: callback())

    def _outcome(self, handle: distributed.Future) -> tuple:
        import asyncio
        from concurrent.futures import CancelledError

        if handle.cancelled():
            # Dask's own error says why (its reason); no round trip needed to know it.
            reason = getattr(getattr(handle, "_state", None), "exception", None)
            raise reason if isinstance(reason, CancelledError) else CancelledError(handle.key)
        if not self._client_alive():
            raise CancelledError(handle.key)
        # Not ``handle.result()``: it waits on the client's event loop with no end, and a
        # client closed meanwhile stops that loop (seen: the wait never returned). Wait
        # here in steps instead, checking the client between them.
        pending = asyncio.run_coroutine_threadsafe(
            self._client.gather([handle], asynchronous=True), self._client.loop.asyncio_loop)
        while True:
            try:
                return pending.result(timeout=1.0)[0]
            except TimeoutError:
                if not self._client_alive():
                    pending.cancel()
                    raise CancelledError(handle.key) from None

    def _stop(self, handle: distributed.Future, kill: bool) -> None:
        # Cancelling releases the key; a task already running in a worker thread carries on.
        # Sent without waiting for the scheduler (this runs in the deadline thread).
        if self._client_alive():
            import asyncio

            asyncio.run_coroutine_threadsafe(
                self._client.cancel([handle], asynchronous=True, reason="hotstart",
                                    msg="timed out or cancelled through hotstart"),
                self._client.loop.asyncio_loop)

    def _client_alive(self) -> bool:
        return self._client.status not in ("closing", "closed")

    def _client_state(self) -> str:
        """The client's status for a message: "closed" once closing (distributed 2026.8.0
        was seen still "closing" right after ``close()`` returned)."""
        return "closed" if not self._client_alive() else self._client.status

    def _engine_alive(self) -> bool:
        # Tasks in flight when the client was closed (by you, or because it lost the
        # scheduler for good) fail with `BrokenPool` at shutdown: no completion can come.
        return self._client_alive()

    def _engine_error(self, call: _Call, exc: BaseException) -> BaseException:
        from concurrent.futures import CancelledError

        from ..errors import BrokenPool, RemoteError, WorkerCrashed

        what = f"task {call.info.name!r} (#{call.info.task_id})"
        if isinstance(exc, distributed.KilledWorker):
            worker = getattr(exc.last_worker, "address", exc.last_worker)
            tries = exc.allowed_failures + 1
            retried = (f" (and {tries - 1} worker(s) before it: the scheduler's "
                       f"allowed-failures is {exc.allowed_failures}; set it to 0 so that a "
                       f"crash is not retried)" if tries > 1 else "")
            error: BaseException = WorkerCrashed(
                f"Dask worker {worker} died while running {what}{retried}: it exited, was "
                f"killed by a signal, or its nanny killed it at its memory limit (see that "
                f"worker's log)")
        elif self._client.status != "running":
            # Whatever fetching the result raised then (CancelledError, or "IOLoop is closed"
            # when the client closed under it), the client is the cause.
            error = BrokenPool(f"{what} was lost: the Dask client is {self._client_state()} "
                               f"(it lost the scheduler or was closed); resubmit it through a "
                               f"new DaskBackend once the scheduler is reachable")
        elif isinstance(exc, CancelledError):
            reason = getattr(exc, "reason", None) or "unknown"
            error = RemoteError(f"{what} was cancelled by Dask (reason: {reason}; a lost "
                                f"scheduler connection or client.restart() does this): "
                                f"resubmit it", type_name=type(exc).__name__,
                                remote_traceback="")
        else:
            # Dask's message can hold a whole traceback: its first line, the whole as the
            # remote traceback.
            text = str(exc).strip()
            first = text.splitlines()[0] if text else ""
            hint = ""
            if isinstance(exc, TypeError) and "serialize" in first:
                hint = ": the task's result could not be sent back: return a picklable value"
            elif isinstance(exc, ImportError) and "hotstart" in text:
                hint = ": install hotstart on the Dask workers"
            error = RemoteError(
                f"{what} failed in the Dask engine: {type(exc).__name__}: {first}{hint}",
                type_name=type(exc).__name__,
                remote_traceback=text)
        error.__cause__ = exc
        return error

    def _close_engine(self) -> None:
        if self._client.status == "running":
            import threading

            def unregister() -> None:
                try:
                    self._client.unregister_worker_plugin(self._plugin_name)
                except Exception:  # noqa: BLE001, S110 - workers gone: nothing left to undo
                    pass

            # Bounded: a scheduler that stopped answering must not hang shutdown (Dask's call
            # has no timeout of its own); the plugin then dies with the workers.
            thread = threading.Thread(target=unregister, daemon=True,
                                      name="hotstart-dask-unregister")
            thread.start()
            thread.join(10)
        self._close_owned()

    def _close_owned(self) -> None:
        while self._owned:
            self._owned.pop(0).close()

    def __repr__(self) -> str:
        state = "shut down" if self._closed else "running"
        scheduler = getattr(self._client.scheduler, "address", None)
        return f"<DaskBackend {state} scheduler={scheduler!r} preload={self.preload!r}>"


def _scheduler_id(client: distributed.Client) -> str | None:
    """The id of the scheduler `client` is connected to (the client refreshes it on every
    connection, before it says it is running), or None when this Dask does not keep it."""
    identity = getattr(client, "_scheduler_identity", None)
    return identity.get("id") if isinstance(identity, dict) else None


def _key_prefix(label: str) -> str:
    """The task's name as Dask's dashboard groups keys (the part before ``-<hex>``)."""
    import re

    return re.sub(r"[^A-Za-z0-9_.]+", "_", label).strip("_") or "task"
