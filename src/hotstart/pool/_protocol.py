"""Messages between the parent, the template and the workers: length-prefixed pickles.

Every message is ``struct("<Q")`` length + ``pickle.dumps(message, protocol=5)`` on a
``SOCK_STREAM`` Unix socket; a message may carry file descriptors (``SCM_RIGHTS``), which is
how the parent hands a new worker its end of a socket pair and its capture files through the
template. Messages are tuples whose first item is the kind:

parent -> template    ("boot", config)                       once, first
                      ("fork", worker_id) + fds [socket, stdout file, stderr file]
                      ("kill", worker_id)                     SIGKILL that worker
template -> parent    ("preloaded", report)                   once, after importing the preload
                      ("forked", worker_id, pid)
                      ("exited", worker_id, pid, wait_status)
parent -> worker      ("task", task_id, payload)              payload: pickled (fn, args, kwargs)
                      ("exit",)                               finish and exit 0
worker -> parent      ("ready", pid)
                      ("done", task_id, outcome, metrics)

A closed socket (EOF) means the other side is gone; the reader raises `Closed`.
"""

from __future__ import annotations

import array
import pickle
import socket
import struct

__all__ = ["Closed", "recv", "send"]

_LENGTH = struct.Struct("<Q")
_MAX_FDS = 8


class Closed(EOFError):
    """The peer closed its end (it exited, crashed or was killed), possibly mid-message."""


def send(sock: socket.socket, message: tuple, fds: "list[int] | None" = None) -> None:
    data = pickle.dumps(message, protocol=5)
    header = _LENGTH.pack(len(data))
    if fds:
        # The descriptors travel with the first byte; the rest follows as plain data.
        sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        sock.sendall(data)
    else:
        sock.sendall(header + data)


def recv(sock: socket.socket) -> "tuple[tuple, list[int]]":
    """One message and the descriptors that came with it (already owned by the caller)."""
    fds: list[int] = []
    header = bytearray()
    while len(header) < _LENGTH.size:
        data, ancdata, _flags, _addr = sock.recvmsg(
            _LENGTH.size - len(header), socket.CMSG_SPACE(_MAX_FDS * 4))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                received = array.array("i")
                received.frombytes(payload[:len(payload) - len(payload) % 4])
                fds.extend(received)
        if not data:
            for fd in fds:
                _close(fd)
            raise Closed("connection closed")
        header += data
    (length,) = _LENGTH.unpack(header)
    body = bytearray(length)
    view = memoryview(body)
    received_bytes = 0
    while received_bytes < length:
        count = sock.recv_into(view[received_bytes:])
        if not count:
            for fd in fds:
                _close(fd)
            raise Closed("connection closed in the middle of a message")
        received_bytes += count
    return pickle.loads(body), fds


def _close(fd: int) -> None:
    import os

    try:
        os.close(fd)
    except OSError:
        pass
