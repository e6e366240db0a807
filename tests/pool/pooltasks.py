"""Task functions for the pool tests: importable by name in the template and its workers
(pytest puts this directory on ``sys.path``, and the template inherits the parent's)."""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import subprocess
import sys
import time


def double(x):
    return x * 2


def pid():
    return os.getpid()


def identity(value):
    return value


def sleep(seconds, value=None):
    time.sleep(seconds)
    return value if value is not None else os.getpid()


def raise_value_error(message):
    raise ValueError(message)


class LocalOnly(Exception):
    """An exception that cannot be pickled: it holds a lock."""

    def __init__(self, message):
        super().__init__(message)
        import threading

        self.lock = threading.Lock()


def raise_unpicklable():
    raise LocalOnly("holds a lock")


def exit_with(code, stderr_text=""):
    if stderr_text:
        sys.stderr.write(stderr_text)
        sys.stderr.flush()
    os._exit(code)


def kill_self(signum):
    sys.stderr.write("about to be killed\n")
    sys.stderr.flush()
    os.kill(os.getpid(), signum)
    time.sleep(10)


def segfault():
    ctypes.string_at(0)


def record_call(path, then=None):
    """Append one line per call to `path` (to count executions), then misbehave."""
    with open(path, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    if then == "exit":
        os._exit(9)
    if then == "hang":
        time.sleep(60)
    return os.getpid()


def modules_loaded(names):
    return {name: name in sys.modules for name in names}


def environment():
    return dict(os.environ)


def mess_up_state(tmp):
    os.chdir(tmp)
    sys.path.append("/nonexistent-added-by-task")
    os.environ["ADDED_BY_TASK"] = "1"
    del os.environ["PATH"]
    return os.getcwd()


def state():
    return {"cwd": os.getcwd(), "path": list(sys.path), "added": os.environ.get("ADDED_BY_TASK"),
            "has_path": "PATH" in os.environ}


def signal_state():
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    return {"SIGCHLD": signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL,
            "SIGTERM": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            "SIGINT": signal.getsignal(signal.SIGINT) is signal.default_int_handler,
            "SIGPIPE": signal.getsignal(signal.SIGPIPE) == signal.SIG_IGN,
            "blocked": sorted(int(s) for s in blocked),
            "wakeup_fd": signal.set_wakeup_fd(-1)}


def gc_state():
    return {"frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}


def parents():
    return {"pid": os.getpid(), "ppid": os.getppid()}


def chatter(tag):
    print(f"py-out {tag}")
    print(f"py-err {tag}", file=sys.stderr)
    os.write(1, f"c-out {tag}\n".encode())
    subprocess.run(["sh", "-c", f"echo sub-err {tag} >&2"], check=True)
    return tag


def chatter_then_fail(tag):
    chatter(tag)
    raise RuntimeError(f"failed {tag}")


def chatter_then_hang(tag):
    chatter(tag)
    time.sleep(60)


def allocate(megabytes):
    block = bytearray(megabytes << 20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return len(block)


def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
    return True


def array(n):
    import numpy

    return numpy.arange(n, dtype="float64")


def unpicklable_result():
    import threading

    return threading.Lock()


def plant_spill_then_hang(directory, name):
    with open(os.path.join(directory, name), "wb") as handle:
        handle.write(b"partial")
    time.sleep(60)


def join_cgroup_and_allocate(procs_file, megabytes):
    """Move this worker into a memory-limited cgroup, then exceed the limit (a real OOM)."""
    with open(procs_file, "w") as handle:
        handle.write(str(os.getpid()))
    return allocate(megabytes)
