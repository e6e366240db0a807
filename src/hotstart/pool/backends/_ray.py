"""The Ray backend: `RayBackend` runs tasks as Ray tasks in worker processes that preloaded
your modules, and `worker_setup` is the hook that preloads them.

    >>> with RayBackend(preload=["pandas"], timeout=600) as backend:   # ray.init() unless done
    ...     future = backend.submit(load_frame, "sales.csv")
    ...     future.result(), future.metrics.worker_id, backend.preload_reports()

Every task is one call of `hotstart_task` (``max_retries=0``) carrying the backend's
``runtime_env``, given per task with ``.options(runtime_env=...)`` so that it works whether or
not your ``ray.init`` had one (Ray merges ``env_vars`` with the job's; its other fields are
inherited):

- ``env_vars``: ``HOTSTART_PRELOAD`` (the preload list), ``HOTSTART_RAY_SCRUB`` (``1``/``0``),
  ``HOTSTART_RAY_ALLOW`` (names the scrub keeps), ``HOTSTART_RAY_USER_HOOK`` (the job's own
  setup hook, when it has one), and Ray's setup hook variable naming `worker_setup`;
- Ray keeps one set of worker processes per distinct ``runtime_env``, so the backend's tasks
  run only in processes started with it, and two backends with different preload lists never
  share a worker.

What Ray guarantees here, and what it does not:

- Preload: `worker_setup` runs once in each such worker process, before it takes a task, and
  never raises: a module that fails to import is recorded with its real error. (When a setup
  hook raises, Ray ends the worker at once and the task that was waiting for it fails with a
  bare ``WorkerCrashedError``: the error is only in the raylet's log.) A worker whose preload
  failed refuses every task: the future raises `PreloadError` naming the module and the
  error, and the task's function does not run. Ray waits for a slow preload (75 s tried):
  the task stays queued meanwhile, and its timeout counts from submit. Should the hook not
  have run in a process (a Ray that no longer honours the variable), the first task
  preloads before it runs.
- Preload reports travel back with every task's result (a few hundred bytes a module), so
  `preload_reports` knows each worker that ran one of the backend's tasks, including those
  that refused one. Chosen over an actor the hook reports to: no extra process, no named
  actor to leak or collide, nothing to reach when the client is gone. A worker that started
  but never ran a task of the backend is not reported.
- Timeout: the client's deadline thread fails the future with `TaskTimeout` and calls
  ``ray.cancel(ref, force=True)``, which kills the worker process (a queued task is dropped);
  Ray starts a new worker (and preload) for the next task. ``future.cancel()`` does the same.
- Crashes: ``max_retries=0``, so a task whose worker died (``os._exit``, a signal, a segfault,
  the kernel's OOM killer) runs once and fails with `WorkerCrashed`; Ray does not say the exit
  code or the signal (``exitcode`` and ``signal`` are None). Ray's own memory monitor killing
  the worker is `WorkerCrashed` too, saying so. An exception the task raises is never retried.
- Output: not captured per task (``future.stdout``/``stderr`` are empty): Ray writes each
  worker's output to ``worker-*.out``/``.err`` in the session's logs directory and, with
  ``log_to_driver`` (its default), prints it in the driver prefixed with the worker's pid.
- Environment: with ``scrub_env`` (the default) `worker_setup` makes the worker's environment
  ``env.scrubbed(allow=allow_env)`` plus every ``RAY_``/``__RAY`` name (Ray's own settings,
  kept whatever they look like), Ray's ``PYTHONBREAKPOINT`` (its debugger; Ray sets it in
  every worker) and ``SPT_NOENV``, and the names the job's ``runtime_env`` sets in
  ``env_vars`` (naming one there is a decision).
  Ray cannot do better than that: the raylet that starts the workers holds the environment of
  the process that started Ray (``ray.init`` here, or ``ray start``), so the scrub happens
  inside each worker after it started; the secret stays in the raylet's environment, in
  ``/proc/<worker pid>/environ`` (the kernel's copy of a process's initial environment), and
  in every Ray worker that is not the backend's. Start Ray from a clean environment where
  that matters.
- Metrics: wall and CPU time of the call, the worker's peak RSS (scope ``"worker"``), the
  Ray worker id, the host name and pid, the modules the task imported (not what Ray itself
  imported around it), and the cgroup-aware memory figure where the worker runs.
  ``queue_wait`` compares the worker's wall clock with this process's (on another host it
  carries the clocks' skew).
- Ray shut down under the backend (``ray.shutdown()``, by you or by another backend that
  owned it): Ray completes none of the tasks in flight and would start a new local Ray at
  the next call, so the backend refuses new tasks and ``shutdown`` fails those in flight
  with `BrokenPool`; it never shuts down a Ray started after it.

`worker_setup` runs the job's own ``worker_process_setup_hook`` (from your ``ray.init``'s
``runtime_env``) after the preload, in the scrubbed environment, since the backend's variable
replaces it in the backend's workers; if it fails, the worker refuses tasks like a failed
preload.
"""

from __future__ import annotations

import os
import sys

from ._base import RemoteBackend

try:
    import ray
except ModuleNotFoundError as _missing:
    if _missing.name != "ray":
        raise
    raise ModuleNotFoundError("RayBackend needs Ray: pip install 'hotstart[ray]'",
                              name="ray") from None

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from concurrent.futures import Future
    from typing import Any

    from ..records import PreloadReport
    from ._base import _Call

__all__ = ["RayBackend", "hotstart_task", "worker_setup"]

#: The variables of the backend's ``runtime_env`` that `worker_setup` reads.
SCRUB_ENV = "HOTSTART_RAY_SCRUB"
ALLOW_ENV = "HOTSTART_RAY_ALLOW"
USER_HOOK_ENV = "HOTSTART_RAY_USER_HOOK"
#: Ray's variable naming a worker's setup hook (``ray_constants``): in the job's ``env_vars``
#: when your ``ray.init`` had a ``worker_process_setup_hook``.
_RAY_HOOK_ENV = "__RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR"
#: What a Ray worker keeps through the scrub: Ray's settings, and what Ray puts in every
#: worker itself (its debugger as ``PYTHONBREAKPOINT``; ``SPT_NOENV`` for setproctitle, which
#: renames the worker at each task).
_RAY_PREFIXES = ("RAY_", "__RAY")
_RAY_NAMES = ("PYTHONBREAKPOINT", "SPT_NOENV")


# -- the worker's side ------------------------------------------------------------------------

def worker_setup() -> None:
    """Ray's ``worker_process_setup_hook`` for the backend's workers: scrub the environment
    and import the preload list (``_task.preload_here``), then run the job's own hook.
    Never raises (see the module docstring): what fails is in the report, and a worker whose
    report has a failure refuses tasks."""
    from . import _task

    try:
        from hotstart.registry.spec import decode_preload

        modules = decode_preload()
        allow = [name for name in os.environ.get(ALLOW_ENV, "").split(",") if name]
        report = _task.preload_here(modules, scrub=os.environ.get(SCRUB_ENV) == "1",
                                    allow=[*allow, *_RAY_NAMES], prefixes=_RAY_PREFIXES)
    except Exception as exc:  # noqa: BLE001 - a bad list or environment: refuse, with why
        _refuse_tasks(f"{type(exc).__name__}: {exc}")
        return
    user_hook = os.environ.get(USER_HOOK_ENV)
    if user_hook:
        from ray._private.runtime_env.setup_hook import load_and_execute_setup_hook

        error = load_and_execute_setup_hook(user_hook)  # Ray's loader: a name or a function
        if error is not None:
            lines = error.strip().splitlines()
            # An entry of the report (it is `_task`'s): the worker now refuses tasks with it.
            # A function given to ray.init is named by a key of Ray's: say what it is instead.
            name = "(a function)" if user_hook.startswith("ray_runtime_env_func::") \
                else user_hook
            report["modules"].append({
                "module": f"worker_process_setup_hook {name}", "ok": False,
                "seconds": 0.0, "rss": None, "modules": 0,
                "error": lines[-1] if lines else "failed", "traceback": error})


def _refuse_tasks(error: str) -> None:
    """Record a setup that failed before any module was imported: the worker then refuses
    every task with `error`."""
    import time

    from .. import _preload
    from . import _task

    report = _preload.report([{"module": "hotstart preload", "ok": False, "seconds": 0.0,
                               "rss": None, "modules": 0, "error": error, "traceback": None}],
                             time.perf_counter())
    report["scrubbed"] = False
    _task._report = report


@ray.remote(max_retries=0)
def hotstart_task(payload: bytes) -> tuple:
    """One task of a `RayBackend`: ``_task.run_task`` in this Ray worker, with the worker's
    preload report attached (``measured["preload"]``)."""
    from .. import memory  # noqa: F401 - run_task's own import, not the task's
    from . import _task

    if _task.preload_report() is None:
        worker_setup()  # the setup hook did not run in this process: preload before any task
    if _task._known is not None:
        # What Ray imported around the call (pydantic and its arrow serialization, at a
        # worker's first task) is not the task's: only what the call imports is reported.
        _task._known.update(sys.modules)
    kind, body, measured = _task.run_task(payload, ray.get_runtime_context().get_worker_id())
    measured["preload"] = _task.preload_report()
    return kind, body, measured


# -- the client's side ------------------------------------------------------------------------

class _RayGone(Exception):
    """Ray was shut down (or replaced) while the task was in flight."""


class _Handle:
    """A task in Ray: its object ref and the concurrent future Ray completes."""

    __slots__ = ("future", "ref")

    def __init__(self, ref: Any) -> None:
        self.ref = ref
        self.future: Future = ref.future()


class RayBackend(RemoteBackend):
    """Run tasks on Ray in worker processes that preloaded your modules (see the module
    docstring for what Ray guarantees).

    address and ``init_kwargs``: passed to ``ray.init`` when Ray is not initialized in this
    process; the backend then owns that Ray and shuts it down in `shutdown`. When you called
    ``ray.init`` already, the backend uses it and leaves it running (then pass neither).
    preload, spec, package: the preload list, as `WarmPool` builds it; with neither
    ``preload=`` nor ``spec=``, ``HOTSTART_PRELOAD`` from this process's environment.
    scrub_env: give the workers the scrubbed environment (``env.scrubbed`` plus Ray's own
    names); allow_env: more names to keep. timeout: the default per-task limit in seconds (the
    worker is killed). on_submit, on_complete, on_shutdown: hooks, as `WarmPool`'s.
    """

    engine = "ray"
    can_kill = True

    def __init__(self, address: str | None = None, *, preload: Iterable[str] | None = None,
                 spec: Any = None, package: str | list[str] | None = None,
                 scrub_env: bool = True, allow_env: Iterable[str] = (),
                 timeout: float | None = None,
                 on_submit: Callable | Iterable[Callable] = (),
                 on_complete: Callable | Iterable[Callable] = (),
                 on_shutdown: Callable | Iterable[Callable] = (), **init_kwargs: Any) -> None:
        import threading

        from hotstart.registry.spec import encode_preload

        from .._startup import resolve_preload

        modules = resolve_preload(preload, spec, package, environment=True)
        if isinstance(allow_env, str):
            raise TypeError(f"allow_env must be a list of names, not a single string; write "
                            f"allow_env=[{allow_env!r}]")
        allow = list(allow_env)
        for name in allow:
            if not isinstance(name, str) or not name or "," in name or "=" in name:
                raise ValueError(f"allow_env: {name!r} is not an environment variable name")
        super().__init__(timeout=timeout, on_submit=on_submit, on_complete=on_complete,
                         on_shutdown=on_shutdown)
        self.preload: list[str] = modules
        self._reports: dict[str, PreloadReport] = {}
        self._reports_lock = threading.Lock()
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            ray.init(address, **init_kwargs)
        elif address is not None or init_kwargs:
            raise ValueError("Ray is already initialized in this process: drop address= and "
                             "the ray.init arguments, or call ray.shutdown() first")
        self._connection = _connection()
        try:
            job_vars = dict((ray.get_runtime_context().runtime_env or {}).get("env_vars")
                            or {})
            user_hook = job_vars.pop(_RAY_HOOK_ENV, None)
            env_vars = {"HOTSTART_PRELOAD": encode_preload(modules),
                        SCRUB_ENV: "1" if scrub_env else "0",
                        ALLOW_ENV: ",".join(dict.fromkeys([*allow, *sorted(job_vars)]))}
            if user_hook:
                env_vars[USER_HOOK_ENV] = user_hook
            self.runtime_env: dict = _with_setup_hook(
                {"env_vars": env_vars,
                 "worker_process_setup_hook": f"{__name__}.{worker_setup.__name__}"})
            self._remote = hotstart_task.options(runtime_env=self.runtime_env)
        except BaseException:
            if self._owns_ray:
                ray.shutdown()
            raise

    # -- what RemoteBackend asks of an engine ---------------------------------------------------

    def _launch(self, call: _Call) -> _Handle:
        if not self._connected():
            from ..errors import BrokenPool

            # Not a call into Ray: it would start a new local Ray without the caller asking.
            raise BrokenPool("Ray was shut down since this RayBackend was created "
                             "(ray.shutdown()): create a new RayBackend")
        return _Handle(self._remote.remote(call.payload))

    def _when_done(self, handle: _Handle, callback: Callable[[], None]) -> None:
        handle.future.add_done_callback(lambda _future: callback())

    def _outcome(self, handle: _Handle) -> tuple:
        if not handle.future.done():
            raise _RayGone  # from `shutdown`: Ray is gone and will not complete it
        if not self._connected():
            # Completed after Ray was shut down under the backend: ray.shutdown() marks the
            # driver disconnected, then tears down its core worker while the raylet
            # SIGTERMs the job's workers; Ray's SIGTERM handler raises SystemExit inside the
            # running task, which `_task.run_task` reports as the task's own exception, and
            # that reply can still reach the driver before its core worker is gone. Whether it
            # does is timing: the task was lost either way (BrokenPool, never the task's
            # "raised SystemExit: 1").
            raise _RayGone
        kind, body, measured = handle.future.result()
        report = measured.pop("preload", None)
        if report is not None:
            worker = measured["worker_id"]
            with self._reports_lock:
                if worker not in self._reports:
                    from ..records import PreloadReport

                    self._reports[worker] = PreloadReport.from_message(report)
        return kind, body, measured

    def _stop(self, handle: _Handle, kill: bool) -> None:
        if self._connected():  # ray.cancel would start a new Ray after a ray.shutdown()
            ray.cancel(handle.ref, force=kill)

    def _connected(self) -> bool:
        """Whether this process is still connected to the Ray the backend started on."""
        return ray.is_initialized() and _connection() == self._connection

    def _engine_alive(self) -> bool:
        # A Ray shut down under the backend completes no task: those in flight fail with
        # `BrokenPool` at shutdown. (`shutdown` ends a Ray the backend started, not one you
        # started, nor one started after it.)
        return self._connected()

    def _engine_error(self, call: _Call, exc: BaseException) -> BaseException:
        from concurrent.futures import CancelledError

        from ray import exceptions

        from ..errors import BrokenPool, RemoteError, WorkerCrashed

        what = f"task {call.info.name!r} (#{call.info.task_id})"
        if isinstance(exc, _RayGone):
            error = BrokenPool(f"{what} was lost: Ray was shut down while it was in flight "
                               f"(ray.shutdown()); resubmit it through a new RayBackend")
            error.__cause__ = None
            return error
        if isinstance(exc, exceptions.TaskCancelledError):
            return CancelledError(f"{what} was cancelled in Ray (ray.cancel)")
        if isinstance(exc, exceptions.OutOfMemoryError):
            return WorkerCrashed(f"{what}: Ray's memory monitor killed its worker because the "
                                 f"node ran low on memory: run fewer tasks at once or give "
                                 f"the node more memory")
        if isinstance(exc, (exceptions.WorkerCrashedError, exceptions.NodeDiedError,
                            exceptions.LocalRayletDiedError)):
            return WorkerCrashed(f"{what}: its Ray worker died while running it (os._exit, a "
                                 f"signal, a segfault or the OOM killer: Ray does not say "
                                 f"which); see worker-*.err in the Ray session's logs")
        cause = getattr(exc, "cause", None) if isinstance(exc, exceptions.RayTaskError) \
            else None
        inner = cause if isinstance(cause, BaseException) else exc
        text = str(inner).strip().splitlines()
        summary = f"{type(inner).__name__}: {text[-1]}" if text else type(inner).__name__
        # A RayTaskError here is Ray failing around the call (the call's own exceptions come
        # back as values): most often a result it cannot pickle.
        where = "in its Ray worker, outside the call" if cause is not None else "in Ray"
        error = RemoteError(f"{what} failed {where}: {summary}", type_name=type(inner).__name__,
                            remote_traceback=str(exc))
        error.__cause__ = exc
        return error

    def _close_engine(self) -> None:
        if self._owns_ray and self._connected():
            ray.shutdown()

    def preload_reports(self) -> dict[str, PreloadReport]:
        """What each worker that ran (or refused) one of the backend's tasks preloaded:
        Ray worker id -> `PreloadReport` (a failed module with its real error)."""
        with self._reports_lock:
            return dict(self._reports)

    def __repr__(self) -> str:
        state = "shut down" if self._closed else "running"
        owner = ", owns Ray" if self._owns_ray else ""
        return f"<RayBackend {state}{owner} preload={self.preload!r}>"


def _connection() -> tuple[str, str] | None:
    """Which Ray this process is connected to: (job id, the driver's node id), None when
    Ray is not initialized. A new ``ray.init`` is a new job (and, locally, a new node)."""
    if not ray.is_initialized():
        return None
    context = ray.get_runtime_context()
    return context.get_job_id(), context.get_node_id()


def _with_setup_hook(runtime_env: dict) -> dict:
    """`runtime_env` with Ray's setup hook variable set from its ``worker_process_setup_hook``
    (Ray does that itself only for the job's ``runtime_env``, in ``ray.init``; in a task's
    ``runtime_env`` the field alone does nothing). Should Ray's helper move, the field is kept
    and `hotstart_task` preloads at a worker's first task instead."""
    try:
        from ray._private.runtime_env.setup_hook import (
            upload_worker_process_setup_hook_if_needed,
        )
        from ray._private.worker import global_worker
    except ImportError:
        return runtime_env
    return dict(upload_worker_process_setup_hook_if_needed(runtime_env, global_worker))
