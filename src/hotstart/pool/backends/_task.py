"""The worker's side of a remote engine: preload once per worker process, then run tasks.

Nothing here imports the engine: a Dask plugin, a Ray setup hook and ``hotstart worker`` call
`preload_here` when a worker process starts, and the backend's task function calls
`run_task` for each task, passing the engine's name for this worker.

`preload_here(modules)` imports the list (``hotstart.pool._preload``: per module ok, time,
memory, or the real error), keeps the report for this process and, when asked, scrubs the
process's environment with ``env.scrubbed()``'s rules. `run_task(payload, worker_id)` runs one
pickled ``(fn, args, kwargs)`` (pickled by the client as `WarmPool` pickles) and returns
``(kind, body, measured)``:

- ``("ok", pickled, measured)``: the call returned a value, pickled here (the client loads
  it under its guard, so a hostile result fails only its task);
- ``("error", details, measured)``: it raised; `details` as a `WarmPool` worker describes an
  exception (type, message, traceback text, the exception pickled when it can be);
- ``("unusable", message, measured)``: this worker's preload failed: the task was not run
  (a worker whose preload failed is never silently used).

`measured` holds wall and CPU time (the running thread's: Dask runs tasks in threads), the
process's peak RSS (scope ``"worker"``: one process runs many tasks), the node, pid, worker
id, the modules the task imported that were not preloaded, and the cgroup-aware memory
figure. After each task, builtins, the recursion limit, the ``os.environ`` object,
``sys.path``, the environment and the working directory are put back; a process where any
preload failed stays unusable (imports cannot be undone).
"""

from __future__ import annotations

import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["preload_here", "preload_report", "run_task"]

#: This process's preload report (a dict of `records.PreloadReport`'s fields) once
#: `preload_here` ran, else None (a worker started without hotstart's setup).
_report: dict | None = None
#: The modules loaded after the preload: what a task imports beyond them is reported.
_known: set[str] | None = None
#: Every preload entry that failed in this process, whoever asked for it: an import cannot
#: be undone, so a process where one failed stays unusable for its whole life.
_failed: list[dict] = []
#: What a task may change and the next task must not see, as the first task found it.
_baseline: tuple | None = None


def preload_here(modules: Iterable[str], *, scrub: bool = False,
                 allow: Iterable[str] = (), prefixes: Iterable[str] = (),
                 set_env: Mapping[str, str] | None = None) -> dict:
    """Import `modules` in this process and keep the report; with `scrub`, first make the
    environment ``env.scrubbed(allow=allow, set=set_env)`` plus the names starting with
    `prefixes` (an engine's own settings, ``DASK_``, ``RAY_``). Returns the report."""
    global _report, _known
    from .. import _preload

    if scrub:
        from .. import env

        # An engine's own settings pass by prefix, unless the name looks like a secret
        # (as for hotstart's own prefixes: DASK_API_TOKEN does not).
        env.apply(env.scrubbed(allow=list(allow), prefixes=list(prefixes),
                               set=dict(set_env or {})))
    started = time.perf_counter()
    entries = [_preload.load(name) for name in modules]
    _failed.extend(entry for entry in entries if not entry["ok"])
    _report = _preload.report(entries, started)
    _report["scrubbed"] = bool(scrub)
    _known = set(sys.modules)
    return _report


def preload_report() -> dict | None:
    """This process's preload report, or None when it preloaded nothing through hotstart."""
    return _report


def failed_modules() -> list[dict]:
    """Every preload that failed in this process (whatever report is current now)."""
    reported = [entry for entry in (_report or {}).get("modules", ()) if not entry["ok"]]
    return _failed + [entry for entry in reported if entry not in _failed]


def run_task(payload: bytes, worker_id: str) -> tuple:
    """Run one pickled task here (see the module docstring)."""
    import pickle
    import resource
    import socket

    from .. import memory

    node = socket.gethostname()
    began = time.time()  # wall clock: compared with the client's submit time (queue_wait)
    measured = {"worker_id": worker_id, "pid": os.getpid(), "node": node, "began": began,
                "wall": 0.0, "cpu": 0.0, "peak_rss": None, "peak_rss_scope": "worker",
                "imported": (), "memory": None}
    failed = failed_modules()
    if failed:
        first = failed[0]
        why = (f"worker {worker_id} on {node} (pid {os.getpid()}) is not used: its preload "
               f"of {first['module']!r} failed: {first['error']}")
        return ("unusable", why, measured)
    global _known
    if _known is None:  # a worker started without `preload_here`: what it has is its own
        _known = set(sys.modules)
    known = _known
    global _baseline
    if _baseline is None:
        import builtins

        _baseline = (dict(builtins.__dict__), sys.getrecursionlimit(), os.environ)
    from .._worker import _environment_snapshot, _getcwd, _restore

    path = list(sys.path)
    environ = _environment_snapshot()
    cwd = _getcwd()
    cpu = time.thread_time()
    started = time.perf_counter()
    value = None
    details = None
    try:
        fn, args, kwargs = pickle.loads(payload)
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        from .._worker import _describe

        details = _describe(exc)
        exc = None
    measured["wall"] = time.perf_counter() - started
    measured["cpu"] = time.thread_time() - cpu
    _restore_interpreter(_baseline)  # first: what follows relies on the builtins
    if details is None:
        # Pickled here, loaded by the client under its guard: a result whose unpickling
        # raises (SystemExit from a hostile __reduce__) must fail its task, not the
        # engine's connection or callback thread.
        try:
            value = pickle.dumps(value, protocol=5)
        except BaseException as exc:  # noqa: BLE001
            from .._worker import _describe

            details = _describe(exc, note="the task's result could not be sent back")
            value = None
            exc = None
    try:
        measured["peak_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    except (OSError, ValueError):
        pass
    imported = tuple(sorted(name for name in list(sys.modules) if name not in known))
    measured["imported"] = imported
    known.update(imported)  # reported by the first task that paid for them
    limits = memory.sample()
    measured["memory"] = (limits.limit, limits.current, limits.source)
    _restore(cwd, path, environ)
    if details is not None:
        return ("error", details, measured)
    return ("ok", value, measured)


def _restore_interpreter(baseline: tuple) -> None:
    """Builtins, the recursion limit and the ``os.environ`` object as the first task found
    them (a task that patched ``len`` or raised the limit must not reach the next one)."""
    import builtins

    from .._isolation import restore_namespace

    names, recursion, environ = baseline
    restore_namespace(builtins.__dict__, names)
    if sys.getrecursionlimit() != recursion:
        sys.setrecursionlimit(recursion)
    if os.environ is not environ:
        os.environ = environ  # noqa: B003 - the original object back; its contents follow
