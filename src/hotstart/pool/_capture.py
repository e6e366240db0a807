"""A worker's stdout and stderr capture: descriptors 1 and 2, re-pointed and capped.

The parent creates two anonymous files per worker; once a task is over the worker reads
back the last `OUTPUT_LIMIT` bytes of each and sends them with its answer (`Capture.take`),
and the parent reads them itself only from a worker that died under its task
(`_tasks.tail`). Descriptors 1 and 2 write straight into
them, so C code, child processes and a crash's last words (``os._exit`` right after a
write, faulthandler's report of a segfault) are captured without a reader in between.

`Capture` keeps its own copies of the two files, so that between tasks it can:

- point descriptors 1 and 2 back at them (``dup2``, after each task): a task that closed
  fd 1 or 2 freed the number, and the next ``open()`` of that task (or of a later one) took
  it, so a later task's ``print`` went into that file;
- read back what a task wrote and truncate them (`take`, after each task), so a task's
  output is its own; the worker sends it with its answer.

While a task runs, a watcher thread caps what the files hold: every few milliseconds it
punches a hole (``fallocate(PUNCH_HOLE)``, Linux: tmpfs, ext4, xfs, btrfs) over all but the
last `OUTPUT_LIMIT` bytes (rounded to pages), so a task printing 1 GiB keeps the disk
usage near a MiB while the file's size still counts every byte (the tail's "N bytes cut"
marker stays right). What a single huge write adds is cut back once it returns: the
kernel does not let a hole be punched into a write in progress. Where holes cannot be
punched (another OS, an old filesystem), the watcher stops and the files grow as before.

The watcher is a bare ``_thread`` thread (not listed by ``threading.enumerate()``, so it is
not mistaken for one a task left running); it only calls ``os.fstat``, ``fallocate`` and
``time.sleep``, and takes the lock that the main thread takes around truncation, so it never
punches into the next task's output.
"""

from __future__ import annotations

import _thread
import os
import time

__all__ = ["Capture", "read_tail"]

OUTPUT_LIMIT = 1 << 20  # what the parent reads back of each (`_tasks.tail`), and keeps here

_PAGE = 4096
_FALLOC_FL_KEEP_SIZE = 1
_FALLOC_FL_PUNCH_HOLE = 2
# Poll fast while the files grow, slower while they do not (an idle worker wakes 10 times
# a second at most).
_FASTEST = 0.005
_SLOWEST = 0.1


class Capture:
    """The capture files of one worker (`out`, `err`: descriptors it owns, close-on-exec)."""

    def __init__(self, out: int, err: int, limit: int = OUTPUT_LIMIT) -> None:
        self.out = os.dup(out)  # os.dup: not inheritable, so exec'd children do not get them
        self.err = os.dup(err)
        self.limit = limit
        self.lock = _thread.allocate_lock()
        self.kept = {self.out: 0, self.err: 0}  # where each file's kept part starts
        self.watcher: int | None = None
        self._punch = _hole_puncher()

    def point(self) -> None:
        """Descriptors 1 and 2 at the capture files again (after a task, once its answer is
        sent: the parent reads the files through its own descriptors)."""
        for fd, target in ((self.out, 1), (self.err, 2)):
            try:
                os.dup2(fd, target)
            except OSError:
                pass

    def take(self) -> tuple[bytes, int, bytes, int] | None:
        """What the task just over wrote (after flushing): the last `limit` bytes of each
        file and how many bytes before them were cut, ``(out, out_cut, err, err_cut)``, or
        None when it wrote nothing; both files are emptied for the next task. The worker
        sends this with its answer, so the parent never reads the files of a worker that
        has started its next task (only those of a worker that died under its task)."""
        parts: list = []
        wrote = False
        with self.lock:
            for fd in (self.out, self.err):
                data, start = b"", 0
                try:
                    # lseek to the end is the cheapest way to read the size; truncating
                    # only when needed (~10 µs on ext4 even when empty).
                    size = os.lseek(fd, 0, os.SEEK_END)
                    if size:
                        wrote = True
                        data, start = read_tail(fd, size, self.limit)
                        os.ftruncate(fd, 0)
                        os.lseek(fd, 0, os.SEEK_SET)  # the offset is shared with 1 and 2
                except OSError:
                    pass
                self.kept[fd] = 0
                parts += (data, start)
        return tuple(parts) if wrote else None  # type: ignore[return-value]

    def start_watcher(self) -> None:
        """Start capping the files (once per worker; nothing to do where holes cannot be
        punched)."""
        if self._punch is not None and self.watcher is None:
            self.watcher = _thread.start_new_thread(self._watch, ())

    def close_in_child(self) -> None:
        """In a process a task forked: drop our copies (the child keeps its 1 and 2)."""
        for fd in (self.out, self.err):
            try:
                os.close(fd)
            except OSError:
                pass

    def cap(self) -> bool:
        """Punch out all but the last `limit` bytes of each file; True if a file had grown
        since the last call."""
        punch = self._punch
        if punch is None:
            return False
        grew = False
        with self.lock:
            for fd in (self.out, self.err):
                try:
                    size = os.fstat(fd).st_size
                except OSError:
                    continue
                end = (size - self.limit) // _PAGE * _PAGE
                start = self.kept[fd]
                if end > start:
                    grew = True
                    if not punch(fd, start, end - start):
                        self._punch = None
                        return False
                    self.kept[fd] = end
        return grew

    def _watch(self) -> None:
        interval = _SLOWEST
        while self._punch is not None:
            try:
                grew = self.cap()
            except BaseException:  # noqa: BLE001 - a watcher must not print into a task's stderr
                return
            interval = _FASTEST if grew else min(_SLOWEST, interval * 2)
            time.sleep(interval)


def _hole_puncher():
    """``punch(fd, offset, length) -> bool`` through libc's fallocate, or None off Linux."""
    import sys

    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
    except (OSError, AttributeError):
        return None
    fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
    fallocate.restype = ctypes.c_int
    flags = _FALLOC_FL_PUNCH_HOLE | _FALLOC_FL_KEEP_SIZE

    def punch(fd: int, offset: int, length: int) -> bool:
        return fallocate(fd, flags, offset, length) == 0

    return punch


def read_tail(fd: int, size: int, limit: int) -> tuple[bytes, int]:
    """The last `limit` bytes of a capture file holding `size`, and how many bytes before
    them were cut (the worker after each task, the parent for a worker that died)."""
    start = max(0, size - limit)
    return os.pread(fd, size - start, start), start
