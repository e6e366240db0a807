"""Task functions for tests/pool/test_manager_attacks.py: hostile or carefully timed tasks
that attack the parent's manager thread (importable by name in the template and workers)."""

from __future__ import annotations

import builtins
import os
import pathlib
import socket
import struct
import time

from attacktasks import ExitOnUnpickle, InterruptOnUnpickle


def _await_file(path, limit=20.0):
    """Wait (bounded) until `path` exists: the test's signal to go on."""
    deadline = time.monotonic() + limit
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.005)


def die_after_grandchild_holds_socket(directory):
    """Fork a grandchild (in its own session, out of the worker's group) that keeps every
    descriptor of the worker, the worker's socket included, until ``release`` exists; the
    worker itself exits once ``go`` exists. So the template's "exited" report comes before
    the EOF on the worker's socket."""
    directory = pathlib.Path(directory)
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            _await_file(directory / "release")
        finally:
            os._exit(0)
    (directory / "pids.tmp").write_text(f"{os.getpid()} {child}")
    os.replace(directory / "pids.tmp", directory / "pids")
    _await_file(directory / "go")
    os._exit(3)


def _worker_socket():
    """The worker's socket to the parent: the one connected Unix stream socket above fd 2
    that is not a capture file (found by trying, as a hostile task would)."""
    for fd in range(3, 256):
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
                sock.getpeername()
                return sock
        except OSError:
            pass
        sock.close()
    raise RuntimeError("no worker socket found")


def send_fake_header(length, then_sleep=0.0):
    """Write a length header announcing `length` bytes to the parent, and nothing after."""
    sock = _worker_socket()
    sock.sendall(struct.pack("<Q", length))
    time.sleep(then_sleep)
    return "sent"


def send_garbage_frame():
    """Write a well-formed header followed by bytes that are no pickle."""
    sock = _worker_socket()
    body = b"\x80\x05this is not a pickle"
    sock.sendall(struct.pack("<Q", len(body)) + body)
    time.sleep(30)


def send_frame_that_exits_on_unpickle(kind="exit"):
    """A frame whose unpickling raises SystemExit (or KeyboardInterrupt) in the parent."""
    import pickle

    sock = _worker_socket()
    body = pickle.dumps(("done", 1, ("error", {}), ExitOnUnpickle() if kind == "exit"
                        else InterruptOnUnpickle()), protocol=5)
    sock.sendall(struct.pack("<Q", len(body)) + body)
    time.sleep(30)


def replace_len():
    """Replace ``builtins.len`` for the rest of this worker's life."""
    builtins.len = lambda obj: 12345
    return "replaced"


def crash(code=5):
    os._exit(code)


def pid_after(seconds=0.0):
    time.sleep(seconds)
    return os.getpid()


def double_it(x):
    return x * 2


def send_message(body):
    """Write one well-framed message (`body`, already pickled) to the parent."""
    sock = _worker_socket()
    sock.sendall(struct.pack("<Q", len(body)) + body)
    time.sleep(30)


def send_done_with_retire(task_id, value):
    """Forge the worker's "done" message for task `task_id`, asking the parent to retire
    this worker (as the worker does after a task that left a thread running)."""
    import pickle

    measured = {"wall": 0.0, "cpu": 0.0, "peak_rss": None, "peak_rss_scope": "task",
                "result_bytes": None, "spilled": False, "imported": (),
                "retire": "a thread it started is still running: forged"}
    body = pickle.dumps(("done", task_id, ("inline", pickle.dumps(value)), measured))
    _worker_socket().sendall(struct.pack("<Q", len(body)) + body)
    return value


def socket_inheritable():
    """Whether any Unix socket among this worker's descriptors would survive an exec."""
    import stat

    found = False
    for fd in range(3, 256):
        try:
            mode = os.fstat(fd).st_mode
        except OSError:
            continue
        if stat.S_ISSOCK(mode):
            found = True
            if os.get_inheritable(fd):
                return True
    if not found:
        raise RuntimeError("no socket found")
    return False


def close_socket_and_run_on(seconds=30.0):
    """Close this worker's socket(s) to the parent, then keep running."""
    import stat

    for fd in range(3, 256):
        try:
            if stat.S_ISSOCK(os.fstat(fd).st_mode):
                os.close(fd)
        except OSError:
            pass
    time.sleep(seconds)
