"""The template process: imports the preload list once, then forks workers on request.

Started by the parent as a fresh interpreter (never forked from the parent, which may hold
threads and locks), with the scrubbed environment and its control socket as ``argv[1]``:

    python -c "...; from hotstart.pool._template import main; main()" FD

1. reads the ``boot`` message (the parent's ``sys.path`` and cwd, the preload list, the
   spill settings);
2. imports each preload module and reports, per module, whether it imported, how long it took
   and how much memory it added, or the real error with its traceback;
3. freezes its heap (``gc.freeze()``, with collection disabled since start-up, as the ``gc``
   documentation advises before forking) so the workers' collections do not write to the
   shared pages;
4. serves: ``fork`` (with the worker's socket and capture files attached) forks a worker;
   ``kill`` sends SIGKILL to one (safe: an unreaped child's pid cannot be reused); every
   child that exits is reaped and reported with its wait status.

It stays single-threaded, so forking it is safe. It ends when the parent closes the control
socket or dies (checked every second, because a child the parent forked may keep the
socket open), killing its workers first.
"""

from __future__ import annotations

import gc
import os
import selectors
import signal
import socket
import sys
import time

from . import _protocol

__all__ = ["main"]

_LIVENESS_INTERVAL = 1.0


def main() -> None:
    gc.disable()
    control = socket.socket(fileno=int(sys.argv[1]))
    control.setblocking(True)
    try:
        message, _fds = _protocol.recv(control)
    except _protocol.Closed:
        os._exit(0)
    config = message[1]
    sys.argv[1:] = []
    sys.path[:] = config["sys_path"]
    try:
        os.chdir(config["cwd"])
    except OSError:
        pass
    report = _preload(config["preload"])
    # What every worker needs, imported once here so that forking shares it.
    from . import _worker  # noqa: F401
    import ctypes  # noqa: F401  (prctl in each worker)
    import faulthandler  # noqa: F401
    import tempfile  # noqa: F401  (spill files)
    import traceback  # noqa: F401  (remote tracebacks)

    try:  # tasks defined in __main__ or as lambdas arrive cloudpickled
        import cloudpickle  # noqa: F401
    except ImportError:
        pass

    # Python threads started by a preload module make forking unsafe (a lock held by one
    # of them stays locked in every worker); native pools such as OpenBLAS's register
    # fork handlers, so they are reported but not warned about.
    threading = sys.modules.get("threading")
    report["threads"] = threading.active_count() if threading is not None else 1
    report["native_threads"] = _thread_count()
    _protocol.send(control, ("preloaded", report))
    gc.freeze()
    _serve(control, config)


def _preload(modules: "list[str]") -> dict:
    import importlib

    entries = []
    started = time.perf_counter()
    for name in modules:
        before_rss = _rss()
        before_modules = len(sys.modules)
        t0 = time.perf_counter()
        entry = {"module": name, "ok": True, "seconds": 0.0, "rss": None, "modules": 0,
                 "error": None, "traceback": None}
        try:
            importlib.import_module(name)
        except BaseException as exc:  # noqa: BLE001 - SystemExit from a module included
            import traceback

            entry["ok"] = False
            entry["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
            entry["traceback"] = "".join(traceback.format_exception(type(exc), exc,
                                                                    exc.__traceback__))
        entry["seconds"] = time.perf_counter() - t0
        after_rss = _rss()
        if before_rss is not None and after_rss is not None:
            entry["rss"] = after_rss - before_rss
        entry["modules"] = len(sys.modules) - before_modules
        entries.append(entry)
    return {"pid": os.getpid(), "python": sys.version.split()[0], "modules": entries,
            "seconds": time.perf_counter() - started, "rss": _rss(),
            "module_count": len(sys.modules)}


def _rss() -> "int | None":
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _thread_count() -> "int | None":
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def _serve(control: socket.socket, config: dict) -> None:
    children: dict[int, str] = {}
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # a handler, so SIGCHLD writes to the pipe
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, "control")
    selector.register(wake_read, selectors.EVENT_READ, "child")
    parent = config["parent_pid"]
    template = os.getpid()
    try:
        while True:
            for key, _events in selector.select(_LIVENESS_INTERVAL):
                if key.data == "child":
                    _drain(wake_read)
                    continue
                try:
                    message, fds = _protocol.recv(control)
                except (_protocol.Closed, OSError):
                    return
                if message[0] == "fork":
                    worker_id = message[1]
                    sys.stdout.flush()
                    sys.stderr.flush()
                    pid = os.fork()
                    if pid == 0:
                        # The worker keeps its socket and capture files, nothing of ours.
                        selector.close()
                        control.close()
                        os.close(wake_read)
                        os.close(wake_write)
                        from . import _worker

                        _worker.start(socket.socket(fileno=fds[0]), worker_id,
                                      (fds[1], fds[2]), config, template)
                    for fd in fds:
                        os.close(fd)
                    children[pid] = worker_id
                    _protocol.send(control, ("forked", worker_id, pid))
                elif message[0] == "kill":
                    for pid, worker_id in children.items():
                        if worker_id == message[1]:
                            os.kill(pid, signal.SIGKILL)
            _reap(children, control)
            if os.getppid() != parent:  # the parent died; its children keep the socket open
                return
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in list(children):
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        os._exit(0)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _reap(children: "dict[int, str]", control: socket.socket) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        worker_id = children.pop(pid, None)
        if worker_id is not None:
            try:
                _protocol.send(control, ("exited", worker_id, pid, status))
            except OSError:
                pass
