"""The call surface every backend shares (`Backend`), and the client side of the engines that
run tasks elsewhere (`RemoteBackend`: Dask, Ray).

`Backend` is an `concurrent.futures.Executor`: ``submit``, ``map`` and ``shutdown`` as the
standard library defines them, plus ``schedule`` (a per-task ``timeout`` and ``name``) and
``run_code`` (source-code tasks, ``hotstart.pool._code``). Every backend returns the same
futures (`TaskFuture`: ``metrics``, ``worker_id``, ``stdout``, ``stderr``) and fails them with
the same errors (``hotstart.pool.errors``): the task's own exception raised as itself with a
`RemoteError` carrying the remote traceback as its ``__cause__``, `TaskTimeout`,
`WorkerCrashed` where the engine can tell, `BrokenPool` after ``shutdown``.

`RemoteBackend` does what is the same for every remote engine: it pickles the call the way
`WarmPool` does (cloudpickle for lambdas and ``__main__`` functions), sends the engine one
call of ``_task.run_task(payload)`` (which runs the call in the engine's worker and measures
it), turns what comes back into the future's outcome and metrics, fires the hooks, and
watches deadlines (one thread, woken at the next deadline: no polling). An engine subclass
supplies four methods: `_launch` (start the call, return the engine's handle),
`_when_done` (call back once the handle is done), `_outcome` (the handle's value, or raise
the engine's error) and `_stop` (cancel, or kill where the engine can).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from concurrent.futures import Executor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    from ..records import PreloadReport
    from ..warm import TaskFuture

__all__ = ["DEFAULT", "Backend", "RemoteBackend", "check_seconds", "fire_hooks", "hook_table",
           "prepare_call"]

#: "The backend's default timeout" (None means no timeout).
DEFAULT: Any = type("Default", (), {"__repr__": lambda self: "DEFAULT"})()


class Backend(Executor):
    """What `WarmPool`, `DaskBackend` and `RayBackend` all offer (see the module docstring)."""

    #: The engine's name: "local", "dask", "ray".
    engine = "?"

    def schedule(self, fn: Callable, args: Iterable[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, *, timeout: Any = DEFAULT,
                 name: str | None = None) -> TaskFuture:
        raise NotImplementedError

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> TaskFuture:
        """Run ``fn(*args, **kwargs)`` in a worker, with the backend's default timeout."""
        return self.schedule(fn, args, kwargs)

    def run_code(self, code: str, function: str, args: Iterable[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, *, python_path: Iterable[str] = (),
                 env_updates: Mapping[str, str | None] | None = None,
                 timeout: Any = DEFAULT, name: str | None = None) -> TaskFuture:
        """Run source code in a worker: compile `code` there (under a stable file name, so
        tracebacks show its lines), call its `function` with `args`/`kwargs`, with
        `python_path` entries in front of ``sys.path`` and `env_updates` applied to the
        environment (None unsets a name) for the call only. A syntax error, a module body
        that raises or a missing function fail the future with `CodeError` (a `RemoteError`)
        naming the line; the function's own exception is raised as itself."""
        from .._code import run_code_task

        if isinstance(python_path, str):
            raise TypeError("python_path= takes a list of directories, not a string")
        return self.schedule(run_code_task,
                             (code, function, tuple(args), dict(kwargs or {}),
                              list(python_path), dict(env_updates or {})),
                             timeout=timeout, name=name or f"run_code:{function}")

    def preload_reports(self) -> dict[str, PreloadReport]:
        """What each worker (or the template) preloaded: worker id -> `PreloadReport`."""
        raise NotImplementedError

    def _hook_table(self) -> dict[str, list[Callable]]:
        """The backend's hooks, event -> handlers (made by `hook_table`)."""
        raise NotImplementedError

    def add_hook(self, event: str, handler: Callable) -> None:
        """Call `handler` on `event`: ``"submit"`` (a `TaskInfo`), ``"complete"`` (the
        `TaskInfo`, the `TaskFuture` and its `TaskMetrics` or None: fired on every path, after
        the outcome is known and before the future completes, except for a cancelled queued
        task, where it follows the cancellation), ``"shutdown"`` (the backend, or None when a
        pool was collected without `shutdown`). A handler that raises is logged to the
        ``hotstart.pool`` logger; the others still run."""
        hooks = self._hook_table()
        if event not in hooks:
            raise ValueError(f"unknown hook event {event!r}: expected 'submit', 'complete' or "
                             f"'shutdown'")
        hooks[event].append(handler)


def hook_table(on_submit: Callable | Iterable[Callable], on_complete: Callable |
               Iterable[Callable], on_shutdown: Callable | Iterable[Callable]
               ) -> dict[str, list[Callable]]:
    """The hooks a backend's ``on_*`` arguments give (each a callable or several)."""
    return {"submit": _callables(on_submit), "complete": _callables(on_complete),
            "shutdown": _callables(on_shutdown)}


def fire_hooks(handlers: list[Callable], event: str, args: tuple) -> None:
    """Call each handler with `args`; one that raises is logged and the others still run."""
    for handler in list(handlers):
        try:
            handler(*args)
        except Exception:  # one bad handler must not break the others
            import logging

            logging.getLogger("hotstart.pool").exception(
                "%s hook %r raised; the backend carries on", event, handler)


def check_seconds(name: str, value: Any) -> None:
    """`ValueError` unless `value` is None or a positive number of seconds."""
    if value is not None and not value > 0:
        raise ValueError(f"{name}={value!r}: expected a positive number of seconds or None")


def prepare_call(fn: Callable, args: Iterable[Any], kwargs: Mapping[str, Any] | None,
                 timeout: Any, default_timeout: float | None,
                 name: str | None) -> tuple[float | None, str, bytes]:
    """A call's timeout (`DEFAULT`: the backend's), label and pickled payload, the same on
    every backend; `ValueError` for a bad timeout, `TypeError` for what cannot be pickled."""
    from .._tasks import dumps, name_of

    if timeout is DEFAULT:
        timeout = default_timeout
    else:
        check_seconds("timeout", timeout)
    label = name or name_of(fn)
    return timeout, label, dumps(fn, tuple(args), dict(kwargs or {}), label)


class _Call:
    """One task in flight on a remote engine."""

    __slots__ = ("future", "handle", "info", "payload", "submitted")

    def __init__(self, info, future, payload: bytes) -> None:
        self.info = info
        self.future = future
        self.payload = payload
        self.handle: Any = None
        # Wall-clock time: the worker's clock, on another host, shares no monotonic origin.
        self.submitted = time.time()


class _Worker:
    """What `remote_error` names a worker by."""

    __slots__ = ("id", "pid")

    def __init__(self, worker_id: str, pid: int | None) -> None:
        self.id = worker_id
        self.pid = pid


class RemoteBackend(Backend):
    """The client side of a remote engine (see the module docstring); subclasses implement
    `_launch`, `_when_done`, `_outcome` and `_stop`, and `preload_reports`."""

    #: Whether `_stop(handle, kill=True)` ends a running task (Ray: yes; Dask: no).
    can_kill = False

    def __init__(self, *, timeout: float | None = None,
                 on_submit: Callable | Iterable[Callable] = (),
                 on_complete: Callable | Iterable[Callable] = (),
                 on_shutdown: Callable | Iterable[Callable] = ()) -> None:
        check_seconds("timeout", timeout)
        self._timeout = timeout
        self._task_ids = itertools.count(1)
        self._hooks = hook_table(on_submit, on_complete, on_shutdown)
        self._lock = threading.Lock()
        self._inflight: dict[int, _Call] = {}
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._deadlines = _Deadlines(self._expire)

    # -- what an engine supplies ------------------------------------------------------------

    def _launch(self, call: _Call) -> Any:
        """Start ``_task.run_task(call.payload)`` on the engine; return its handle."""
        raise NotImplementedError

    def _when_done(self, handle: Any, callback: Callable[[], None]) -> None:
        """Call `callback()` once `handle` is done (from any thread)."""
        raise NotImplementedError

    def _outcome(self, handle: Any) -> tuple:
        """What ``_task.run_task`` returned; raises what the engine raised instead."""
        raise NotImplementedError

    def _stop(self, handle: Any, kill: bool) -> None:
        """Cancel the call (`kill`: also end it where it runs, when `can_kill`)."""
        raise NotImplementedError

    def _engine_error(self, call: _Call, exc: BaseException) -> BaseException:
        """The error for a call whose handle raised `exc` (the engine's own exception)."""
        from ..errors import RemoteError

        error = RemoteError(f"task {call.info.name!r} (#{call.info.task_id}) failed in the "
                            f"{self.engine} engine: {type(exc).__name__}: {exc}",
                            type_name=type(exc).__name__, remote_traceback="")
        error.__cause__ = exc
        return error

    # -- the call surface -------------------------------------------------------------------

    def schedule(self, fn: Callable, args: Iterable[Any] = (),
                 kwargs: Mapping[str, Any] | None = None, *, timeout: Any = DEFAULT,
                 name: str | None = None) -> TaskFuture:
        """`submit` with a per-task `timeout` (seconds, or None) and a `name`."""
        from ..errors import BrokenPool
        from ..records import TaskInfo
        from ..warm import TaskFuture

        timeout, label, payload = prepare_call(fn, args, kwargs, timeout, self._timeout, name)
        with self._lock:
            if self._closed:
                raise BrokenPool(f"this {type(self).__name__} was shut down: create a new one")
            info = TaskInfo(next(self._task_ids), label, time.monotonic(), timeout)
            future = TaskFuture(info)
            call = _Call(info, future, payload)
            self._inflight[info.task_id] = call
        self._fire("submit", info)
        try:
            call.handle = self._launch(call)
        except BaseException as exc:
            self._forget(call)
            if isinstance(exc, BrokenPool):
                raise
            raise BrokenPool(f"the {self.engine} engine refused task {label!r}: "
                             f"{type(exc).__name__}: {exc}") from exc
        if timeout is not None:
            self._deadlines.add(info.submitted + timeout, call)
        future.add_done_callback(self._on_future_done)
        self._when_done(call.handle, lambda: self._settle(call))
        return future

    def _hook_table(self) -> dict[str, list[Callable]]:
        return self._hooks

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No new tasks; with `cancel_futures`, cancel those not done; with `wait`, return
        once every task is done. The engine itself (a client you passed in) is left running;
        one the backend started is closed."""
        if wait and not self._engine_alive():
            # The engine is gone: fail what is in flight (BrokenPool) rather than wait for it.
            with self._lock:
                gone = list(self._inflight.values())
            for call in gone:
                self._settle(call)
        with self._lock:
            first = not self._closed
            self._closed = True
            calls = list(self._inflight.values())
        if cancel_futures:
            for call in calls:
                if call.future.cancel() and call.handle is not None:
                    self._stop(call.handle, kill=False)
        if wait:
            with self._lock:
                while self._inflight:
                    self._idle.wait()
        if first:
            self._deadlines.close()
            self._close_engine()
            self._fire("shutdown", self)

    def _close_engine(self) -> None:
        """Close what the backend started (not what the caller passed in)."""

    def _engine_alive(self) -> bool:
        """Whether the engine can still complete the calls in flight (a closed Dask client,
        a Ray shut down under the backend: no completion will come)."""
        return True

    # -- completion -------------------------------------------------------------------------

    def _settle(self, call: _Call) -> None:
        """The engine is done with `call`: complete its future (unless a timeout or a cancel
        did already). Whatever the answer holds, the future completes: an answer that cannot
        be read fails its own task (`RemoteError`), never the backend."""
        future = call.future
        try:
            if future.done():
                return
            try:
                error, value, metrics = self._read(call)
            except BaseException as exc:  # noqa: BLE001 - SystemExit from a hostile pickle too
                error, value, metrics = self._unexplained(
                    call, f": the {self.engine} worker's answer could not be read", exc), None, None
            self._fire("complete", call.info, future, metrics)
            try:
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)
            except Exception:  # noqa: BLE001, S110 - cancelled or timed out meanwhile
                pass
        finally:
            self._forget(call)

    def _read(self, call: _Call) -> tuple[BaseException | None, Any, Any]:
        """``(error, value, metrics)`` of a finished call, from the engine's handle."""
        import pickle

        from .._tasks import remote_error
        from ..records import TaskMetrics

        future = call.future
        try:
            outcome = self._outcome(call.handle)
        except BaseException as exc:  # noqa: BLE001 - the engine's errors, whatever they are
            try:
                return self._engine_error(call, exc), None, None
            except BaseException:  # noqa: BLE001 - an exception whose str() raises
                return self._unexplained(call, f" failed in the {self.engine} engine",
                                         exc), None, None
        kind, body, measured = outcome
        metrics = TaskMetrics(
            call.info.task_id, measured["worker_id"], measured["pid"],
            max(0.0, measured["began"] - call.submitted), measured["wall"],
            measured["cpu"], measured["peak_rss"], measured["peak_rss_scope"],
            len(body) if kind == "ok" else None, False, measured["node"],
            tuple(measured["imported"]), _memory(measured.get("memory")))
        future.metrics = metrics
        future.worker_id = measured["worker_id"]
        future.stdout = measured.get("stdout", "")
        future.stderr = measured.get("stderr", "")
        if kind == "ok":
            return None, pickle.loads(body), metrics
        if kind == "unusable":
            from ..errors import PreloadError

            return PreloadError(body), None, metrics
        return (remote_error(call, _Worker(measured["worker_id"], measured["pid"]), body,
                             future.stdout, future.stderr), None, metrics)

    def _unexplained(self, call: _Call, what: str, exc: BaseException) -> BaseException:
        """A one-line `RemoteError` for `call` (``task 'name' (#N)`` then `what`) when only
        `exc` says what went wrong."""
        from ..errors import RemoteError

        return RemoteError(f"task {call.info.name!r} (#{call.info.task_id}){what}: "
                           f"{_describe(exc)}", type_name=type(exc).__name__,
                           remote_traceback="")

    def _expire(self, call: _Call) -> None:
        """`call` reached its deadline: fail it with `TaskTimeout` and stop it."""
        from ..errors import TaskTimeout

        future = call.future
        if future.done():
            return
        timeout = call.info.timeout
        what = ("its worker was killed" if self.can_kill else
                f"the {self.engine} engine cannot stop a running task: it may still be "
                f"running, its result is dropped")
        error = TaskTimeout(f"task {call.info.name!r} (#{call.info.task_id}) timed out after "
                            f"{timeout:g} s; {what}", timeout=timeout)
        self._fire("complete", call.info, future, None)
        try:
            future.set_exception(error)
        except Exception:  # noqa: BLE001 - completed meanwhile
            return
        finally:
            # Done for the caller (and for shutdown): whatever the engine does with it now.
            self._forget(call)
        if call.handle is not None:
            try:
                self._stop(call.handle, kill=True)
            except Exception:  # noqa: BLE001, S110 - already gone
                pass

    def _on_future_done(self, future: TaskFuture) -> None:
        if future.cancelled():
            call = self._inflight.get(future.info.task_id)
            if call is not None and call.handle is not None:
                try:
                    self._stop(call.handle, kill=True)
                except Exception:  # noqa: BLE001, S110
                    pass
                self._forget(call)

    def _forget(self, call: _Call) -> None:
        with self._lock:
            self._inflight.pop(call.info.task_id, None)
            if not self._inflight:
                self._idle.notify_all()
        self._deadlines.discard(call)

    def _fire(self, event: str, *args: Any) -> None:
        fire_hooks(self._hooks[event], event, args)


class _Deadlines:
    """Timeouts of remote calls: one daemon thread sleeps until the nearest deadline (a
    condition wait with that timeout, woken early when an earlier one is added)."""

    def __init__(self, expire: Callable[[_Call], None]) -> None:
        import weakref

        # Weakly: a backend dropped without shutdown must not be kept alive by its thread.
        self._expire = weakref.WeakMethod(expire)
        self._heap: list[tuple[float, int, _Call]] = []
        self._live: set[int] = set()
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def add(self, deadline: float, call: _Call) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), call))
            self._live.add(id(call))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="hotstart-backend-deadlines")
                self._thread.start()
            self._cond.notify()

    def discard(self, call: _Call) -> None:
        with self._cond:
            self._live.discard(id(call))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._closed:
                        return
                    while self._heap and id(self._heap[0][2]) not in self._live:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        _deadline, _n, call = heapq.heappop(self._heap)
                        self._live.discard(id(call))
                        break
                    self._cond.wait(wait)
            expire = self._expire()
            if expire is None:  # the backend is gone
                return
            expire(call)
            del expire, call


def _describe(exc: BaseException) -> str:
    """``Type: message`` of an exception whose ``str()`` may itself raise."""
    try:
        text = str(exc).strip().splitlines()
    except BaseException:  # noqa: BLE001
        text = ["<str() failed>"]
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _memory(figure: tuple | None):
    """The worker's ``(limit, current, source)`` as `MemoryLimits` (None when not sent)."""
    if figure is None:
        return None
    from ..memory import MemoryLimits

    return MemoryLimits(*figure)


def _callables(value: Callable | Iterable[Callable]) -> list[Callable]:
    if callable(value):
        return [value]
    return list(value)
