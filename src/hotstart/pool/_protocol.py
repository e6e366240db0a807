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

A closed socket (EOF) means the other side is gone; the reader raises `Closed`, and
`Corrupt` (a `Closed`) for a frame that cannot be read: a header announcing more than the
reader's limit, or a body that does not unpickle to a tuple (whatever unpickling raised,
``SystemExit`` included). The parent reads its workers and its template with `FrameReader`,
which never blocks and never allocates more than what arrived: a worker (or a task writing
to its socket) can end only its own connection, never stall the manager thread. Descriptors
arrive close-on-exec (``MSG_CMSG_CLOEXEC``), so a worker's socket is not inherited by the
programs its tasks exec.
"""

from __future__ import annotations

import array
import pickle
import socket
import struct

__all__ = ["Closed", "Corrupt", "FrameReader", "recv", "send", "send_many"]

_LENGTH = struct.Struct("<Q")
_MAX_FDS = 8
_CHUNK = 1 << 16  # the most `FrameReader.read` takes from its socket per call
# Received descriptors are close-on-exec (Linux); elsewhere the flag does not exist.
_RECV_FLAGS = getattr(socket, "MSG_CMSG_CLOEXEC", 0)


class Closed(EOFError):
    """The peer closed its end (it exited, crashed or was killed), possibly mid-message."""


class Corrupt(Closed):
    """The peer sent a frame that cannot be read; the connection is unusable from here on.
    `messages`: the whole messages read before that frame in the same read."""

    messages: list[tuple] | tuple = ()


def send(sock: socket.socket, message: tuple, fds: list[int] | None = None) -> None:
    data = pickle.dumps(message, protocol=5)
    header = _LENGTH.pack(len(data))
    if fds:
        # The descriptors travel with the first byte; the rest follows as plain data.
        sock.sendmsg([header], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])
        sock.sendall(data)
    else:
        sock.sendall(header + data)


def send_many(sock: socket.socket, messages: list[tuple]) -> None:
    """Several messages in one write (tasks sent behind a busy worker's)."""
    frames = []
    for message in messages:
        data = pickle.dumps(message, protocol=5)
        frames += (_LENGTH.pack(len(data)), data)
    sock.sendall(b"".join(frames))


def recv(sock: socket.socket) -> tuple[tuple, list[int]]:
    """One message and the descriptors that came with it (already owned by the caller), read
    blocking (the template's and a worker's side: their peer is the parent); a body that
    does not unpickle to a message raises `Corrupt`."""
    fds: list[int] = []
    header = bytearray()
    while len(header) < _LENGTH.size:
        data, ancdata, _flags, _addr = sock.recvmsg(
            _LENGTH.size - len(header), socket.CMSG_SPACE(_MAX_FDS * 4), _RECV_FLAGS)
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
    try:
        return _message(body), fds
    except Corrupt:
        for fd in fds:
            _close(fd)
        raise


class FrameReader:
    """The messages a peer sends, read without ever blocking (the parent's side), or
    waiting for them (a worker's side, ``read(wait=True)``: one system call per message).

    Call `read` when ``select()`` says the socket is readable: it takes what arrived (one
    ``recv`` of at most 64 KiB, so one busy peer cannot starve the others) and returns the
    messages completed so far, in order. Raises `Closed` at EOF and `Corrupt` for a frame
    that announces more than `limit` bytes or does not unpickle; the buffer grows only with
    the bytes that actually arrived, never with what a header announces. Descriptors sent
    along are discarded by the kernel (the parent expects none from its peers).

    The bytes are received into a scratch buffer allocated once (``recv(n)`` allocates n
    bytes per call: at 256 KiB that is an ``mmap`` and page faults, ~15 µs of every round
    trip), and whole messages are read from it in place; only a partial message is copied
    into the reader's buffer, to wait for the rest.
    """

    __slots__ = ("buffer", "limit", "scratch", "sock")

    def __init__(self, sock: socket.socket, limit: int) -> None:
        self.sock = sock
        self.limit = limit
        self.buffer = bytearray()
        self.scratch: bytearray | None = None

    def read(self, wait: bool = False) -> list[tuple]:
        """The messages completed by what arrived (maybe none: a message can take several
        reads); with `wait`, block until something arrives (a worker waiting for work)."""
        scratch = self.scratch
        if scratch is None:
            scratch = self.scratch = bytearray(_CHUNK)
        try:
            count = self.sock.recv_into(scratch, _CHUNK, 0 if wait else socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return []
        if not count:
            raise Closed("connection closed in the middle of a message" if self.buffer
                         else "connection closed")
        buffer = self.buffer
        if buffer:
            buffer += memoryview(scratch)[:count]
            data, end = buffer, len(buffer)
        else:
            data, end = scratch, count
        messages: list[tuple] = []
        with memoryview(data) as view:
            try:
                start = self._parse(view, end, messages)
            except Corrupt as exc:
                exc.messages = messages  # the whole ones before the bad frame still count
                raise
        if data is buffer:
            del buffer[:start]
        elif start < count:
            buffer += memoryview(scratch)[start:count]
        return messages

    def drain(self) -> list[tuple]:
        """Every whole message left in the socket of a peer that is gone (it can send no
        more): read until nothing is left, stopping at EOF or at a frame that cannot be read
        (what came before it is returned)."""
        messages: list[tuple] = []
        while True:
            try:
                received = self.read()
            except (Closed, OSError):
                return messages
            if not received and not self._readable():
                return messages
            messages += received

    def _readable(self) -> bool:
        try:
            return bool(self.sock.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK))
        except OSError:  # nothing there (BlockingIOError), or the socket is unusable
            return False

    def _parse(self, view: memoryview, end: int, messages: list[tuple]) -> int:
        """Append the whole messages in ``view[:end]``; where the first partial one starts."""
        start = 0
        size = _LENGTH.size
        while end - start >= size:
            (length,) = _LENGTH.unpack_from(view, start)
            if length > self.limit:
                raise Corrupt(f"a message header announces {length} bytes, more than the "
                              f"limit of {self.limit}")
            stop = start + size + length
            if stop > end:
                break
            body = view[start + size:stop]
            try:
                messages.append(_message(body))
            finally:
                body.release()
            start = stop
        return start


def _message(body: bytes | bytearray | memoryview) -> tuple:
    """Unpickle one frame's body into a message; `Corrupt` for anything but a tuple with a
    str kind first. Unpickling runs the sender's reducers: whatever they raise, SystemExit
    and KeyboardInterrupt included, is the sender's fault, not the reader's."""
    try:
        message = pickle.loads(body)
    except BaseException as exc:  # noqa: BLE001 - a peer's pickle must not stop its reader
        raise Corrupt(f"a message does not unpickle: {type(exc).__name__}: {exc}") from None
    if not isinstance(message, tuple) or not message or not isinstance(message[0], str):
        raise Corrupt(f"a message is not a (kind, ...) tuple: {type(message).__name__}")
    return message


def _close(fd: int) -> None:
    import os

    try:
        os.close(fd)
    except OSError:
        pass
