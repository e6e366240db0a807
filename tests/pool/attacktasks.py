"""Hostile task functions for the pool's attack and stress tests (tests/pool/test_attacks*.py,
test_stress.py): importable by name in the template and its workers, standard library only.

Each one does to its worker what production (or a careless task) does: crash, corrupt the
worker's socket, replace builtins, leave state, start processes, flood its output.
"""

from __future__ import annotations

import os
import signal
import struct
import subprocess
import sys
import threading
import time


def pid():
    return os.getpid()


def square(x):
    return x * x


def crash(how, value=None):
    """End the worker the way a crash does: "exit" (os._exit), "kill" (SIGKILL), "segv",
    "abort" (SIGABRT); "ok" returns `value`."""
    if how == "exit":
        os._exit(3)
    if how == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    if how == "segv":
        import ctypes

        ctypes.string_at(0)
    if how == "abort":
        os.abort()
    if how == "hang":
        time.sleep(60)
    return value


def burn_forever():
    """A CPU burner (run in its own process) to make the manager's races likely."""
    while True:
        pass


# -- exceptions whose unpickling in the parent raises BaseException -------------------------

def _raise_keyboard_interrupt():
    raise KeyboardInterrupt("raised while the parent unpickled an exception")


class ExitOnUnpickle(Exception):
    """Pickles fine; unpickling it calls ``sys.exit(7)`` (SystemExit in the parent)."""

    def __reduce__(self):
        return (sys.exit, (7,))


class InterruptOnUnpickle(Exception):
    """Pickles fine; unpickling it raises KeyboardInterrupt in the parent."""

    def __reduce__(self):
        return (_raise_keyboard_interrupt, ())


def raise_exit_on_unpickle():
    raise ExitOnUnpickle("harmless here")


def raise_interrupt_on_unpickle():
    raise InterruptOnUnpickle("harmless here")


def raise_zero_division():
    return 1 / 0


def reciprocal(x):
    return 1 / x


# -- the worker's socket -----------------------------------------------------------------------

def _socket_fds():
    fds = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                fds.append(int(name))
        except OSError:
            continue
    return fds


def fake_length_header(length, then="hang"):
    """Write a frame header announcing `length` bytes (and a few bytes of body) to every
    socket of this worker (its only one is the pipe to the parent), then hang or return."""
    for fd in _socket_fds():
        os.write(fd, struct.pack("<Q", length) + b"garbage")
    if then == "hang":
        time.sleep(60)
    return "returned after the fake header"


def garbage_frame():
    """A frame of the right length whose body is not a pickle, then return normally."""
    body = b"\x80\x05not a pickle at all"
    for fd in _socket_fds():
        os.write(fd, struct.pack("<Q", len(body)) + body)
    return "after garbage"


def replace_len():
    """Replace ``builtins.len`` for the rest of the worker's life and return a result."""
    import builtins

    builtins.len = lambda obj: 3
    return "x" * 10


def socket_inheritable():
    """Whether each socket descriptor of this worker would survive an exec."""
    return {fd: os.get_inheritable(fd) for fd in _socket_fds()}


def socket_seen_by_exec_child():
    """The socket descriptors a child started with ``close_fds=False`` (``os.system``'s
    behaviour) holds after its exec."""
    listing = subprocess.run(
        ["sh", "-c", "for f in /proc/$$/fd/*; do readlink $f; done; true"], close_fds=False,
        capture_output=True, text=True, check=True).stdout
    return [line for line in listing.splitlines() if line.startswith("socket:")]


# -- processes started by tasks -------------------------------------------------------------

def start_child(pid_file, then="return"):
    """Start ``sleep 300`` (same process group as the worker), write its pid, then return
    or hang."""
    child = subprocess.Popen(["sleep", "300"], stdin=subprocess.DEVNULL)
    _write(pid_file, child.pid)
    if then == "hang":
        time.sleep(60)
    return child.pid


def start_daemon(pid_file):
    """Start a daemon the classic way (fork, setsid, fork): it leaves the worker's process
    group and session, and its parent exits at once."""
    first = os.fork()
    if first == 0:
        try:
            os.setsid()
            second = os.fork()
            if second == 0:
                os.execvp("sleep", ["sleep", "300"])
            _write(pid_file, second)
        finally:
            os._exit(0)
    os.waitpid(first, 0)
    deadline = time.monotonic() + 10
    while not os.path.exists(pid_file) and time.monotonic() < deadline:
        time.sleep(0.01)
    with open(pid_file) as handle:
        return int(handle.read())


def _write(path, value):
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        handle.write(str(value))
    os.replace(temporary, path)


# -- state a task leaves behind ---------------------------------------------------------------

def _handler(*_args):
    pass


class _Finder:
    def find_spec(self, *_args, **_kwargs):
        return None


def _hook(*_args):
    pass


def leave(kind, path=None):
    """Change one kind of process state and leave it changed; returns this worker's pid."""
    if kind == "putenv":
        os.putenv("HS_LEFT_BY_TASK", "1")
    elif kind == "modules":
        import types

        # A fake in place of a loaded module (this one: the next task's function is looked
        # up in it), and a loaded module removed.
        sys.modules[__name__] = types.ModuleType(__name__)
        del sys.modules["struct"]
    elif kind == "signal":
        signal.signal(signal.SIGTERM, _handler)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    elif kind == "umask":
        os.umask(0o777)
    elif kind == "recursion":
        sys.setrecursionlimit(12345)
    elif kind == "meta_path":
        sys.meta_path.insert(0, _Finder())
    elif kind == "excepthook":
        sys.excepthook = _hook
    elif kind == "rlimit":
        import resource

        resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(
            resource.RLIMIT_NOFILE)[1]))
    elif kind == "warnings":
        import warnings

        warnings.simplefilter("error")  # every later warning would raise
    elif kind == "thread":
        threading.Thread(target=time.sleep, args=(30,), name="left-running",
                         daemon=False).start()
    elif kind == "setsid":
        try:
            os.setsid()
        except PermissionError:  # a process group leader cannot: join another group instead
            os.setpgid(0, os.getsid(0))
    elif kind == "close_stdout":
        os.close(1)
        os.close(2)
        # The lowest free descriptors are now 1 and 2: the task's own files get them.
        _kept.extend([open(path, "w"), open(path + ".2", "w")])  # noqa: SIM115 - left open
    elif kind == "fork":
        child = os.fork()
        if child:
            _write(path, child)
        # Both processes return from the task: the child runs on as a second worker.
    return os.getpid()


_kept = []


def _warning_raises():
    import warnings

    try:
        warnings.warn("probe", UserWarning, stacklevel=1)
    except UserWarning:
        return True
    return False


def state():
    """The state `leave` changes, as a fresh worker has it."""
    import ctypes

    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    mask = os.umask(0o022)
    os.umask(mask)
    return {
        "putenv": libc.getenv(b"HS_LEFT_BY_TASK"),
        "modules": (hasattr(sys.modules.get(__name__), "leave"), "struct" in sys.modules),
        "signal": (signal.getsignal(signal.SIGTERM) == signal.SIG_DFL,
                   signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL),
        "umask": mask,
        "recursion": sys.getrecursionlimit(),
        "meta_path": [type(finder).__name__ for finder in sys.meta_path],
        "excepthook": sys.excepthook is sys.__excepthook__,
        "rlimit": __import__("resource").getrlimit(__import__("resource").RLIMIT_NOFILE),
        "warnings": _warning_raises(),
        "thread": threading.active_count(),
        "setsid": (os.getsid(0) == os.getsid(os.getppid()), os.getpgid(0) == os.getpid()),
        "pid": os.getpid(),
    }


def say(text):
    print(text, flush=True)
    return os.getpid()


# -- output and spills --------------------------------------------------------------------------

def flood_stdout(mebibytes):
    """Write `mebibytes` MiB to descriptor 1 (as C code would), then an end marker; returns
    the bytes descriptor 1's file occupies on disk while the task still runs (allocated
    blocks: a cap may punch holes, leaving the size to count every byte), once that is at
    most 4 MiB or after 5 s."""
    chunk = b"y" * ((1 << 20) - 1) + b"\n"
    for _ in range(mebibytes):
        os.write(1, chunk)
    os.write(1, b"END-OF-FLOOD\n")
    deadline = time.monotonic() + 5
    while True:  # the cap may act a few milliseconds after the last write
        try:
            held = os.fstat(1).st_blocks * 512
        except OSError:
            return 0
        if held <= 4 << 20 or time.monotonic() > deadline:
            return held
        time.sleep(0.01)


def blob(size):
    """`size` bytes: spilled when larger than the pool's spill threshold."""
    return b"z" * size


class _ExitOnLoad:
    def __reduce__(self):
        return (sys.exit, (5,))


def return_exit_on_unpickle():
    return _ExitOnLoad()


def close_own_socket():
    """Close this worker's connection to the parent, then carry on and return."""
    for fd in _socket_fds():
        os.close(fd)
    time.sleep(0.5)
    return "after closing"


def size_of(data):
    return len(data)


def raise_large(size):
    """Raise an exception whose message is `size` characters (a validation error quoting a
    whole document, say): it travels as an error, not a result."""
    raise ValueError("v" * size)


def square_or_crash(x):
    """x * x, except that x < 0 kills the worker (os._exit)."""
    if x < 0:
        os._exit(4)
    return x * x


def redirect_output(path, how):
    """Send this worker's output elsewhere and leave it so: "dup2" points descriptors 1 and
    2 at a file of the task's; "streams" replaces sys.stdout and sys.stderr with buffers."""
    if how == "dup2":
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    else:
        import io

        sys.stdout = io.StringIO()
        sys.stderr = io.StringIO()
    return os.getpid()


def replace_pickle_dumps():
    """Replace pickle.dumps (the worker's own serializer) for the rest of the worker's life."""
    import pickle

    pickle.dumps = lambda *args, **kwargs: b"not a pickle"
    return "poisoned"


def replace_socket_send():
    """Mute socket.socket.sendall and sendmsg (the worker's own sends) for good."""
    import socket

    socket.socket.sendall = lambda self, data, *args: None
    socket.socket.sendmsg = lambda self, *args: 0
    return "muted"


def garbage_frame_after(seconds):
    """`garbage_frame`, once the tasks sent behind this one are surely in the socket."""
    time.sleep(seconds)
    return garbage_frame()


def close_own_socket_after(seconds):
    """`close_own_socket`, once the tasks sent behind this one are surely in the socket."""
    time.sleep(seconds)
    return close_own_socket()


def replace_own_socket(path):
    """Put a file in place of this worker's socket (same descriptor number), and return."""
    with open(path, "wb") as handle:
        for fd in _socket_fds():
            os.dup2(handle.fileno(), fd)
    return "after replacing"
