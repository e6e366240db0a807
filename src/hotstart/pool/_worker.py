"""A worker: forked from the template, runs one task at a time for the parent, then waits.

Runs only in a freshly forked child of the template (`start`), never returns: it leaves
through ``os._exit`` so that nothing the template inherited from the preload (``atexit``
handlers, buffered files) runs or flushes twice.

Per task (`run_task`): stdout and stderr (descriptors 1 and 2, so C code and child processes
are captured too) go to two files the parent created, capped while a task runs, read back
and emptied after it (their tail travels with the answer), and re-pointed (`_capture`);
the peak RSS counter is reset (``/proc/self/clear_refs``, Linux) so the figure is this
task's own peak rather than the worker's lifetime watermark (``getrusage`` reads the same
reset watermark); cwd, ``sys.path`` and the environment are saved before and restored
after, whatever the task did (once the answer is sent: the round trip does not wait for
it), and so is the rest of the process state that is cheap to put back (`_isolation`); the
result is sent inline or through a spill file, with ``"retire"`` in its metrics when the
task left what cannot be put back (a running thread, a forked child, a changed session):
the parent then never reuses this worker, and the worker runs nothing after that answer.

The worker's socket is close-on-exec (children a task starts do not hold it), and
``SIGXFSZ`` is ignored, so a file-size limit makes a spill write fail with ``EFBIG``
(an error for that task) instead of killing the worker.
"""

from __future__ import annotations

import gc
import os
import pickle
import resource
import signal
import socket
import sys
import time

from . import _dictversion, _protocol, env, spill
from ._capture import Capture
from ._isolation import Guard, module_names

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["run_task", "start"]

# The exception may not unpickle in the parent (a class that only exists in the worker):
# the parent then falls back on the type name, message and traceback text sent beside it.
_TRACEBACK_LIMIT = 100


def start(sock: socket.socket, worker_id: str, capture: tuple[int, int], config: dict,
          template_pid: int) -> None:
    """The life of a worker, right after ``os.fork()`` in the template. Never returns."""
    status = 0
    try:
        _become_worker(sock, capture, template_pid)
        _protocol.send(sock, ("ready", os.getpid()))
        # The parent sends no descriptors to a worker: plain reads, one per message.
        reader = _protocol.FrameReader(sock, sys.maxsize)
        identity = _identity(sock.fileno())
        inbox: list[tuple] = []
        while True:
            while not inbox:
                try:
                    inbox = reader.read(wait=True)
                except _protocol.Closed:  # the parent is gone or let this worker go
                    inbox = [("exit",)]
            message = inbox.pop(0)
            if message[0] == "exit":
                break
            _kind, task_id, payload = message
            outcome, metrics = run_task(payload, config, worker_id)
            if not _still_ours(sock, identity):
                # The task closed or replaced the worker's socket (a descriptor number
                # reused by a file would take the answer): run nothing more, not even a task
                # read ahead; the parent sees the connection close and fails this task.
                os.write(2, b"hotstart worker: the task closed or replaced this worker's "
                            b"connection to the pool\n")
                status = 71
                break
            try:
                _protocol.send(sock, ("done", task_id, outcome, metrics))
            except OSError:  # the parent is gone; a spill file would be orphaned
                if outcome[0] == "spill":
                    outcome[1].unlink()
                break
            _after_task()  # while the parent reads the answer
            if metrics["retire"]:
                # Never reused: a task sent behind that one goes back to the parent's
                # queue, so it must not run here; wait for the parent to let us go.
                while not any(waiting[0] == "exit" for waiting in inbox):
                    try:
                        inbox = reader.read(wait=True)
                    except _protocol.Closed:
                        break
                break
    except BaseException:  # noqa: BLE001 - a worker must never fall back into template code
        status = 70
        try:
            import traceback

            traceback.print_exc()
        except BaseException:  # noqa: BLE001, S110 - nowhere left to report it
            pass
    finally:
        _flush()
        try:  # what its tasks started ends with it, also what left its process group (Q3)
            from ._template import kill_descendants

            kill_descendants(os.getpid())
        except BaseException:  # noqa: BLE001, S110 - leaving anyway
            pass
        os._exit(status)


def _identity(fd: int) -> tuple[int, int] | None:
    try:
        st = os.fstat(fd)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _still_ours(sock: socket.socket, identity: tuple[int, int] | None) -> bool:
    """Whether the worker's socket descriptor still names its connection to the parent."""
    fd = sock.fileno()
    return fd >= 0 and _identity(fd) == identity


def _become_worker(sock: socket.socket, capture: tuple[int, int], template_pid: int) -> None:
    global _capture, _guard
    # Die with the template (which dies with the parent). PDEATHSIG is tied to the thread
    # that forked us; the template is single-threaded, so that is the template itself.
    _set_parent_death_signal()
    if os.getppid() != template_pid:  # the template died before prctl took effect
        os._exit(0)
    _reset_signals()
    gc.enable()  # the template ran with gc disabled and froze its heap before forking
    os.set_inheritable(sock.fileno(), False)  # received through the template: inheritable
    out, err = capture
    _capture = Capture(out, err)
    _capture.point()
    os.close(out)
    os.close(err)
    _guard = Guard(sock, _capture.close_in_child)
    _capture.start_watcher()
    import faulthandler

    faulthandler.enable(file=sys.stderr)  # a segfault leaves its Python traceback in stderr


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _reset_signals() -> None:
    """Every signal back to the interpreter's defaults, and none blocked."""
    for number in signal.valid_signals():
        if number in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            if number == signal.SIGINT:
                signal.signal(number, signal.default_int_handler)
            elif number in (signal.SIGPIPE, signal.SIGXFSZ):
                # Ignored, as Python itself sets both at start-up: a write to a closed pipe
                # raises EPIPE, one past RLIMIT_FSIZE fails with EFBIG (no worker killed).
                signal.signal(number, signal.SIG_IGN)
            else:
                signal.signal(number, signal.SIG_DFL)
        except (OSError, ValueError, RuntimeError):
            pass
    signal.set_wakeup_fd(-1)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


class _Probe:
    """What a worker reads around every task, kept cheap: a no-op task's round trip is the
    pool's fixed cost, so the bookkeeping avoids re-opening files and copying dicts of str.

    - the environment is snapshotted as ``os.environ``'s raw bytes dict (a C-level copy)
      and restored, through `env.apply`, only when the task changed it;
    - the modules a task imported are found by comparing ``sys.modules`` with the set of
      names known before, only when the count changed;
    - ``/proc/self/clear_refs`` stays open; the peak after the task is ``getrusage``'s
      ``ru_maxrss``, which Linux takes from the same per-process high-water mark that
      writing ``5`` resets (reading ``VmHWM`` from ``/proc/self/status`` instead cost
      ~15 µs a task: procfs formats the whole file).
    """

    def __init__(self) -> None:
        self.known_modules = module_names()  # replaced when it changes, never updated
        self.clear_refs = _open_proc("/proc/self/clear_refs", os.O_WRONLY)
        self.cwd = _getcwd()  # the worker's own: every task starts there
        # Children's CPU counts in RUSAGE_CHILDREN when they are reaped, which happens only
        # while a task runs (or in Guard.settle, before the task's figures are read): the
        # figure after one task is the figure before the next.
        self.children = resource.getrusage(resource.RUSAGE_CHILDREN)

    def reset_peak(self) -> bool:
        """Reset the peak RSS (Linux >= 4.0); False where the kernel does not allow it."""
        if self.clear_refs is None:
            return False
        try:
            os.write(self.clear_refs, b"5")
            return True
        except OSError:
            return False

    def new_modules(self) -> tuple[str, ...]:
        modules = sys.modules
        if len(modules) == len(self.known_modules):
            return ()
        new = tuple(sorted(name for name in list(modules) if name not in self.known_modules))
        self.known_modules = set(modules)
        return new


def _open_proc(path: str, flags: int) -> int | None:
    try:
        return os.open(path, flags | os.O_CLOEXEC)
    except OSError:
        return None


_probe: _Probe | None = None
_capture: Capture | None = None
_guard: Guard | None = None
_saved: tuple | None = None  # (cwd, sys.path, environ) before the task that just ran
_environment: tuple | None = None  # (raw environ copy, its dict's version when copied)


def _environment_snapshot() -> dict:
    """``os.environ`` before a task: its raw bytes dict, copied only when it changed since
    the last copy (`_dictversion`)."""
    global _environment
    data = getattr(os.environ, "_data", None)  # bytes -> bytes on POSIX
    if not isinstance(data, dict):
        return dict(os.environ)
    if _environment is not None and _dictversion.unchanged(data, _environment[1]):
        return _environment[0]
    saved = data.copy()
    _environment = (saved, _dictversion.stamp(data))
    return saved


def _restore_environment(saved: dict) -> None:
    global _environment
    data = getattr(os.environ, "_data", None)
    if isinstance(data, dict):
        if _environment is not None and _environment[0] is saved and \
                _dictversion.unchanged(data, _environment[1]):
            return  # untouched since the snapshot
        if data == saved:
            _environment = (saved, _dictversion.stamp(data))
            return
        saved_text = {os.fsdecode(name): os.fsdecode(value) for name, value in saved.items()}
        env.apply(saved_text)
        _environment = (saved, _dictversion.stamp(data)) if data == saved else None
        return
    env.apply(saved)


def run_task(payload: bytes, config: dict, worker_id: str) -> tuple[tuple, dict]:
    """Run one pickled ``(fn, args, kwargs)``; returns ``(outcome, metrics)``.

    outcome is ``("inline", bytes)``, ``("spill", SpillFile)`` or ``("error", details)``
    with details a dict: ``type`` (qualified name), ``message``, ``traceback`` (text) and
    ``exception`` (the pickled exception, or None when it cannot be pickled).
    """
    global _probe
    probe = _probe
    if probe is None:
        probe = _probe = _Probe()
    task_peak = probe.reset_peak()
    capture, guard = _capture, _guard
    cwd = probe.cwd
    path = list(sys.path)
    environ = _environment_snapshot()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = probe.children
    began = time.monotonic()  # system-wide: the parent's queue_wait ends here
    started = time.perf_counter()
    value = None
    raised = None
    try:
        fn, args, kwargs = pickle.loads(payload)
        value = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt included
        raised = exc
    wall = time.perf_counter() - started
    retire = None
    if guard is not None:
        if guard.in_fork_child:  # a process the task forked returned here: it ends
            _flush()
            os._exit(1 if raised is not None else 0)
        # Builtins first: what follows (and _protocol.send) relies on them.
        guard.restore(everything=raised is not None)
    _flush()
    output = capture.take() if capture is not None else None
    global _saved
    _saved = (cwd, path, environ)  # put back by `_after_task`, once the answer is sent
    if guard is not None:
        retire = guard.settle()
    error = None
    if raised is not None:
        error = _describe(raised)
        raised = None  # its traceback holds the task's frames
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    children_after = probe.children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ((usage_after.ru_utime - usage.ru_utime) + (usage_after.ru_stime - usage.ru_stime)
           + (children_after.ru_utime - children.ru_utime)
           + (children_after.ru_stime - children.ru_stime))
    peak = usage_after.ru_maxrss * 1024  # since reset_peak, or the worker's lifetime peak
    # Modules the task had to import itself: candidates for the preload list.
    metrics = {"wall": wall, "cpu": cpu, "peak_rss": peak, "imported": probe.new_modules(),
               "peak_rss_scope": "task" if task_peak else "worker", "result_bytes": None,
               "spilled": False, "retire": retire, "output": output, "began": began}
    if error is None:
        try:
            # The directory with room first; on ENOSPC/EDQUOT/EFBIG (a full tmpfs, a quota,
            # a file-size limit) the others are tried in order.
            directories = config["spill_dirs"]
            kind, data = spill.inline_or_spill(value, _spill_target(directories),
                                               config["spill_threshold"],
                                               prefix=f"{config['spill_prefix']}{worker_id}-",
                                               fallbacks=directories)
        except BaseException as exc:  # noqa: BLE001
            error = _describe(exc, note="the task's result could not be sent back")
        else:
            if kind == "inline":
                metrics["result_bytes"] = len(data)
                return ("inline", data), metrics
            metrics["result_bytes"] = data.size
            metrics["spilled"] = True
            return ("spill", data), metrics
    return ("error", error), metrics


def _spill_target(directories: list[str]) -> Callable[[int], str]:
    """The first directory with room for `size` bytes and a margin; the last one otherwise
    (a tmpfs such as a container's 64 MB /dev/shm fills up; /tmp is the fallback)."""
    def choose(size: int) -> str:
        for directory in directories[:-1]:
            try:
                st = os.statvfs(directory)
            except OSError:
                continue
            if st.f_bavail * st.f_frsize >= size + (size >> 2) + (64 << 20):
                return directory
        return directories[-1]

    return choose


def _describe(exc: BaseException, note: str = "") -> dict:
    import traceback

    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__,
                                              limit=_TRACEBACK_LIMIT))
    try:
        pickled = pickle.dumps(exc, protocol=5)
    except BaseException:  # noqa: BLE001 - unpicklable exceptions are common (locks, files)
        pickled = None
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else \
        f"{kind.__module__}.{kind.__qualname__}"
    try:
        message = str(exc)
    except BaseException:  # noqa: BLE001
        message = "<str() failed>"
    return {"type": name, "message": message, "traceback": text, "exception": pickled,
            "note": note}


def _after_task() -> None:
    """What the next task needs put back and the answer did not: descriptors 1 and 2 at
    the capture files, cwd, ``sys.path`` and ``os.environ`` as they were before the task,
    then the rest of `Guard.tidy`."""
    global _saved
    if _capture is not None:
        _capture.point()
    if _saved is not None:
        cwd, path, environ = _saved
        _saved = None
        _restore(cwd, path, environ)
    if _guard is not None:
        _guard.tidy()


def _getcwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:
        return None


def _restore(cwd: str | None, path: list, environ: dict) -> None:
    if cwd is not None and _getcwd() != cwd:  # getcwd costs half of chdir
        try:
            os.chdir(cwd)
        except OSError:
            pass
    sys.path[:] = path
    _restore_environment(environ)


def _flush() -> None:
    out, err = sys.stdout, sys.stderr
    # The original streams too, when a task replaced them: what it printed before that is
    # still in their buffers, and the parent reads the capture files right after.
    for stream in (out, err, *(s for s in (sys.__stdout__, sys.__stderr__)
                               if s is not out and s is not err)):
        try:
            if stream is not None:
                stream.flush()
        except BaseException:  # noqa: BLE001, S110 - a task may have closed or replaced them
            pass

