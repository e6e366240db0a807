"""The template process: imports the preload list once, then forks workers on request.

Started by the parent as a fresh interpreter (never forked from the parent, which may hold
threads and locks), in a session of its own, with the scrubbed environment, its control
socket as ``argv[1]`` and the parent's pid as ``argv[2]``:

    python -c "...; from hotstart.pool._template import main; main()" FD PARENT_PID

0. first of all, makes sure it dies with its parent while it starts: ``PR_SET_PDEATHSIG``
   (SIGKILL) until the preload report is sent, so a parent killed while a preload module
   hangs takes the template with it (the thread that started the template waits for that
   report, so the signal is tied to a thread that lives that long; it is cleared before
   serving, when the parent may be any thread's); and becomes a child subreaper
   (``PR_SET_CHILD_SUBREAPER``, Linux), so a process a task orphans comes to it, not init;
1. reads the ``boot`` message (the parent's ``sys.path`` and cwd, the preload list, the
   spill settings);
2. imports each preload module (announcing each with ``("importing", module)``, so that a
   module that crashes the interpreter, a segfault, is named) and reports, per module,
   whether it imported, how long it took and how much memory it added, or the real error
   with its traceback;
3. freezes its heap (``gc.freeze()``, with collection disabled since start-up, as the ``gc``
   documentation advises before forking) so the workers' collections do not write to the
   shared pages;
4. serves: ``fork`` (with the worker's socket and capture files attached) forks a worker,
   in a process group of its own (set by both sides of the fork, so it holds before either
   runs on); ``kill`` SIGKILLs one with everything it started (`_kill_worker`); every child
   that exits is reaped and reported with its wait status.

Processes started by tasks (see `_kill_worker`, `kill_descendants`, `_end`): a worker's
whole process group is killed when the worker ends for any reason (killed for a timeout or
a cancel, crashed, retired), while its pid still names it (before it is reaped). Its
descendants that left the group (``setsid``, ``start_new_session``) and are still below it
are killed too: by the template on a kill, by the worker itself when it leaves (retired,
let go); not after a crash (they are then the template's, as below). A process that left
the group and was orphaned (a daemon's double fork) is adopted by the template (subreaper)
and killed when the template ends.

It stays single-threaded, so forking it is safe. It ends when the parent closes the control
socket or dies (checked every second, because a child the parent forked may keep the
socket open), killing its workers, their groups and every process it adopted first. The
one case left: a template killed with SIGKILL takes its workers (their PDEATHSIG) but not
the processes their tasks started.
"""

from __future__ import annotations

import gc
import os
import selectors
import signal
import socket
import sys
import time

# Shared with the profiler's supervisor, which ends what its target leaves behind the same way.
from hotstart.measure._supervisor import _become_subreaper, _children

from . import _isolation, _protocol

__all__ = ["kill_descendants", "main"]

_LIVENESS_INTERVAL = 1.0
_PR_SET_PDEATHSIG = 1
# Peek at an exited child without reaping it: its pid, and so its process group's id, stays
# taken while its group is killed.
_PEEK = hasattr(os, "waitid") and hasattr(os, "WNOWAIT")


def main() -> None:
    gc.disable()
    parent = int(sys.argv[2])
    _die_with_parent(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(0)
    _become_subreaper()
    import faulthandler

    faulthandler.enable()  # a preload module that crashes leaves its traceback in our log
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
    report = _preload(config["preload"], control)
    # Off again: a worker resets every signal to its default and then enables faulthandler,
    # which would do nothing if it were still enabled (inherited) here.
    faulthandler.disable()
    # What every worker needs, imported once here so that forking shares it.
    import ctypes  # noqa: F401  (prctl in each worker)
    import tempfile  # noqa: F401  (spill files)
    import traceback  # noqa: F401  (remote tracebacks)

    from . import _worker  # noqa: F401

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
    # From here the parent may be any of its threads (the one that started us may end):
    # `_serve` watches the parent's pid instead, from before the report is sent.
    _die_with_parent(0)
    if os.getppid() != parent:
        os._exit(0)
    _protocol.send(control, ("preloaded", report))
    # After the last import: what every worker starts from (and the version tags' proof,
    # made once here for all of them).
    _isolation.snapshot_in_template()
    gc.freeze()
    _serve(control, config)


def _die_with_parent(signum: int) -> None:
    """Have the kernel send `signum` (0: nothing) to this process when the thread that
    started it ends (Linux ``PR_SET_PDEATHSIG``; elsewhere nothing: the pid watch remains)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _preload(modules: list[str], control: socket.socket) -> dict:
    from . import _preload as preload

    entries = []
    started = time.perf_counter()
    for name in modules:
        _protocol.send(control, ("importing", name))
        entries.append(preload.load(name))
    return preload.report(entries, started)


def _thread_count() -> int | None:
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
                        # A group of its own, so that whatever its tasks start is killed
                        # with it (the template sets it too: either may run first).
                        _own_group(0)
                        # The worker keeps its socket and capture files, nothing of ours.
                        selector.close()
                        control.close()
                        os.close(wake_read)
                        os.close(wake_write)
                        from . import _worker

                        _worker.start(socket.socket(fileno=fds[0]), worker_id,
                                      (fds[1], fds[2]), config, template)
                    _own_group(pid)
                    for fd in fds:
                        os.close(fd)
                    children[pid] = worker_id
                    _protocol.send(control, ("forked", worker_id, pid))
                elif message[0] == "kill":
                    for pid, worker_id in children.items():
                        if worker_id == message[1]:
                            _kill_worker(pid)
            _reap(children, control)
            if os.getppid() != parent:  # the parent died; its children keep the socket open
                return
    finally:
        _end(children)
        os._exit(0)


def _own_group(pid: int) -> None:
    """Make `pid` (0: this process) the leader of a new process group."""
    try:
        os.setpgid(pid, pid)
    except OSError:  # it already exited (ESRCH), or it is not ours to move any more
        pass


def _kill_worker(pid: int) -> None:
    """SIGKILL a worker (not reaped yet, so its pid is still its own), its process group and
    its descendants that left the group. The group is stopped first, so that nothing in it
    exits (handing its children to us) or forks behind the walk; see `kill_descendants`."""
    for target in (pid, -pid):  # the worker itself even if a task moved it out of its group
        _signal(target, signal.SIGSTOP)
    kill_descendants(pid)
    _signal(-pid, signal.SIGKILL)
    _signal(pid, signal.SIGKILL)


def kill_descendants(pid: int) -> int:
    """SIGKILL every descendant of `pid` (not `pid` itself), found by walking /proc down from
    it, each stopped as it is found, before its children are read, so that it cannot fork
    behind the walk; returns how many were found. Also for a worker ending by itself (its
    children would otherwise be handed to the template, out of reach)."""
    found: list[int] = []
    below = _children_of(pid)
    while below:
        child = below.pop()
        if _signal(child, signal.SIGSTOP):
            found.append(child)
            below += _children_of(child)
    for child in found:
        _signal(child, signal.SIGKILL)
    return len(found)


def _signal(pid: int, signum: int) -> bool:
    """Send `signum` to `pid` (a negative pid: its process group); False if nobody got it."""
    try:
        if pid < 0:
            os.killpg(-pid, signum)
        else:
            os.kill(pid, signum)
    except OSError:
        return False
    return True


def _children_of(pid: int) -> list[int]:
    """The children of every thread of `pid` (Linux's /proc/PID/task/TID/children)."""
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in threads:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as listing:
                found += [int(child) for child in listing.read().split()]
        except (OSError, ValueError):
            pass
    return found


def _end(children: dict[int, str]) -> None:
    """The template ends: kill every worker with all it started, then every process it
    adopted as subreaper, and reap them all (bounded: one that cannot be killed is left)."""
    for pid in children:
        _kill_worker(pid)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        for pid in _children():  # adopted orphans, and workers' children reparented to us
            _signal(pid, signal.SIGKILL)
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.005)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


def _reap(children: dict[int, str], control: socket.socket) -> None:
    """Reap every child that exited; for a worker, kill its process group first (while the
    zombie holds its pid, so the group's id cannot name anyone else) and report it. Adopted
    orphans are only reaped."""
    while True:
        try:
            if _PEEK:
                exited = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
                if exited is None:
                    return
                if exited.si_pid in children:
                    _signal(-exited.si_pid, signal.SIGKILL)
                pid, status = os.waitpid(exited.si_pid, 0)
            else:  # no waitid (macOS): the group is killed just after, and may be empty
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    return
                if pid in children:
                    _signal(-pid, signal.SIGKILL)
        except ChildProcessError:
            return
        worker_id = children.pop(pid, None)
        if worker_id is not None:
            try:
                _protocol.send(control, ("exited", worker_id, pid, status))
            except OSError:
                pass
