"""Tasks that leave state behind in their worker, and the probes that look for it.

Used by test_worker_isolation.py, through a pool (the module is preloaded) and through
`drive`, which runs one real worker (`_worker.start` in a forked child) without a manager, to
read the worker's own ``done`` messages (their metrics carry the ``retire`` reason).
"""

from __future__ import annotations

import builtins
import gc
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

_kept: list = []  # what a task leaves alive on purpose (files, threads, events)


class _Finder:
    def find_spec(self, *args, **kwargs):
        return None


def mess_up():
    """Change every cheap kind of process state a task can change."""
    os.putenv("HS_PUTENV", "leaked")
    os.umask(0o777)
    sys.setrecursionlimit(77)
    sys.meta_path.insert(0, _Finder())
    sys.excepthook = lambda *args: None
    sys.displayhook = lambda *args: None
    signal.signal(signal.SIGTERM, lambda *args: None)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    signal.setitimer(signal.ITIMER_REAL, 30)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 64), hard))
    warnings.simplefilter("error")
    gc.disable()
    sys.modules["json"] = "not json"
    del sys.modules["isolationtasks"]
    builtins.len = lambda obj: 3
    builtins.HS_ADDED = True
    sys.stdout = io.StringIO()
    socket.setdefaulttimeout(0.001)
    sys.set_int_max_str_digits(640)
    threading.excepthook = lambda args: None
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    return "messed up"


def replace_in_place():
    """Change entries of ``sys.modules``, the builtins and ``os.environ`` without changing
    their sizes (only the dicts' version tags say they changed: `_dictversion`)."""
    import types

    sys.modules["json"] = types.ModuleType("json")
    builtins.abs = lambda value: "not abs"
    os.environ["HOME"] = "/changed-in-place"
    return len(sys.modules), len(vars(builtins)), len(os.environ)


def change_and_change_back():
    """Change the same entries and put them back: the tags move, the contents do not."""
    json_module, real_abs, home = sys.modules["json"], builtins.abs, os.environ["HOME"]
    sys.modules["json"] = "not json"
    builtins.abs = None
    os.environ["HOME"] = "elsewhere"
    sys.modules["json"], builtins.abs, os.environ["HOME"] = json_module, real_abs, home
    return "put back"


def observe_in_place():
    """What `replace_in_place` changed, as the next task sees it."""
    import json as json_now

    return {"json": json_now.dumps([1]) == "[1]", "abs": abs(-2),
            "home": os.environ.get("HOME"), "sizes": (len(sys.modules), len(vars(builtins)),
                                                       len(os.environ))}


def print_then_replace_stdout(text):
    print(text)  # buffered in the worker's stdout object...
    sys.stdout = io.StringIO()  # ...which the task then puts aside
    return "replaced"


def close_std_streams():
    sys.stdout.close()
    sys.stderr.close()
    return "closed"


def observe():
    """The state `mess_up` changes, as the next task sees it."""
    import json as json_now

    umask = os.umask(0o022)
    os.umask(umask)
    shell = subprocess.run(["sh", "-c", "echo \"${HS_PUTENV:-unset}\""], capture_output=True,
                           text=True, check=True).stdout.strip()
    print("observed")
    return {"pid": os.getpid(), "umask": umask, "recursion": sys.getrecursionlimit(),
            "meta_path": [type(finder).__name__ for finder in sys.meta_path],
            "excepthook": sys.excepthook is sys.__excepthook__,
            "displayhook": sys.displayhook is sys.__displayhook__,
            "SIGTERM": signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
            "SIGUSR1": signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL,
            "blocked": sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])),
            "itimer": signal.getitimer(signal.ITIMER_REAL)[0],
            "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
            "warnings_error": any(f[0] == "error" for f in warnings.filters),
            "gc": gc.isenabled(), "json": json_now is json and json_now.dumps([1]) == "[1]",
            "isolationtasks": sys.modules.get("isolationtasks") is sys.modules[__name__],
            "len": len("abcdef"), "added": hasattr(builtins, "HS_ADDED"),
            "stdout": sys.stdout is sys.__stdout__, "putenv_in_shell": shell,
            "socket_timeout": socket.getdefaulttimeout(),
            "int_digits": sys.get_int_max_str_digits(),
            "thread_hook": threading.excepthook is threading.__excepthook__,
            "affinity": sorted(os.sched_getaffinity(0))}


def replace_len_and_return(size):
    builtins.len = lambda obj: 7
    return "x" * size


def close_stdout_and_open_a_file(path):
    """Close fds 1 and 2 and leave a file open on the freed number."""
    sys.stdout.flush()
    os.close(1)
    os.close(2)
    handle = open(path, "w")  # noqa: SIM115 - left open on purpose
    _kept.append(handle)
    return handle.fileno()


def say(text):
    print(text)
    os.write(2, text.encode() + b"\n")
    return os.getpid()


def flood_stdout(megabytes, last):
    """Write `megabytes` MiB to fd 1 in 64 KiB writes, then wait (bounded) until the
    capture file holds at most 4 MiB on disk; returns (size, bytes on disk, pid)."""
    chunk = b"." * 65535 + b"\n"
    for _ in range(megabytes * 16):
        os.write(1, chunk)
    os.write(1, last.encode() + b"\n")
    deadline = time.monotonic() + 20
    while os.fstat(1).st_blocks * 512 > 4 << 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    st = os.fstat(1)
    return st.st_size, st.st_blocks * 512, os.getpid()


def inherited_sockets():
    """The sockets a child started with close_fds=False inherits from this worker."""
    code = ("import os\n"
            "print(sum(1 for fd in os.listdir('/proc/self/fd')"
            " if os.path.exists(f'/proc/self/fd/{fd}')"
            " and os.readlink(f'/proc/self/fd/{fd}').startswith('socket:')))")
    out = subprocess.run([sys.executable, "-c", code], close_fds=False, capture_output=True,
                         text=True, check=True).stdout
    return int(out)


def big_result(megabytes):
    return b"r" * (megabytes << 20), os.getpid()


def fsize_limit():
    return resource.getrlimit(resource.RLIMIT_FSIZE), os.getpid()


def start_thread():
    event = threading.Event()
    _kept.append(event)
    threading.Thread(target=event.wait, name="left-running", daemon=True).start()
    return os.getpid()


def fork_and_stay(seconds):
    """Fork a child that sleeps (no exec) and return at once; the child's pid."""
    pid = os.fork()
    if pid == 0:
        time.sleep(seconds)
        os._exit(0)
    return pid


def fork_and_return():
    """Fork a child that returns from the task into the worker's code."""
    pid = os.fork()
    if pid == 0:
        return "from the child"
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def new_session():
    os.setsid()
    return os.getpid()


def pid():
    return os.getpid()


def drive(calls: list, spill_dirs: list | None = None) -> list:
    """Run `calls` ([(function name, args)...]) on one real worker forked from this
    process (standing in for the template), spilling into `spill_dirs` (made by
    `spill.spill_dir`; a fresh temporary directory by default); per call: (outcome kind,
    value, error type or spill file's directory, retire reason, worker pid); and last, the
    number of messages the worker sent after the calls' answers (extra answers would come
    from a process a task forked)."""
    import pickle
    import socket
    import tempfile

    from hotstart.pool import _protocol, _worker, spill

    mine, theirs = socket.socketpair()
    out = tempfile.TemporaryFile()  # noqa: SIM115
    err = tempfile.TemporaryFile()  # noqa: SIM115
    directories = [spill.spill_dir(path) for path in spill_dirs or [tempfile.mkdtemp()]]
    config = {"spill_dirs": directories, "spill_threshold": 1 << 20,
              "spill_prefix": "result-drive-"}
    template = os.getpid()
    child = os.fork()
    if child == 0:
        mine.close()
        _worker.start(theirs, "w1", (os.dup(out.fileno()), os.dup(err.fileno())), config,
                      template)
    theirs.close()
    message, _fds = _protocol.recv(mine)
    worker = message[1]
    answers = []
    for number, (name, args) in enumerate(calls):
        payload = pickle.dumps((globals()[name], tuple(args), {}))
        _protocol.send(mine, ("task", number, payload))
        message, _fds = _protocol.recv(mine)
        _kind, task_id, outcome, metrics = message
        assert task_id == number, message
        if outcome[0] == "inline":
            value = pickle.loads(outcome[1])
        elif outcome[0] == "error":
            value = outcome[1]["type"]
        else:
            value = os.path.dirname(outcome[1].path)
            os.unlink(outcome[1].path)
        answers.append((outcome[0], value, metrics["retire"], worker))
    _protocol.send(mine, ("exit",))
    extra = 0
    mine.settimeout(20)
    try:
        while True:
            _protocol.recv(mine)
            extra += 1
    except (_protocol.Closed, OSError):
        pass
    os.waitpid(child, 0)
    answers.append(extra)
    return answers


if __name__ == "__main__":
    print(json.dumps(drive(*map(json.loads, sys.argv[1:]))))
