"""How `hotstart fix` reads and writes a project's files: all or nothing, never through a
planted link, keeping each file's identity.

`read_source()` decides whether a file may be rewritten at all, and says why not: a symlink is
followed only to a regular file inside the project (the link stays a link; its target is
written), and a file with other hard links, a read-only file, or one that is not a regular
file is refused. The caller skips a refused file with its reason and writes the rest. The
source is decoded as Python would (PEP 263 cookie, BOM) and encoded back the same way.

`Files.apply()` moves the project from one known state to another in two phases. Prepare:
for every file, its new bytes and its current bytes each go to a temporary file beside it,
created by `tempfile.mkstemp` (unpredictable name, `O_EXCL | O_NOFOLLOW`, mode 0600), with
the original's owner; the new bytes are flushed to disk (unless `durable` is off, for the
states `--verify` only tries); nothing the project sees has changed yet. Commit: each
file's mode is set on its temporary file, which is renamed over it. Undoing needs only renames
of the saved originals (byte-exact, with their mode and times). SIGINT, SIGTERM and SIGHUP
are held from the first temporary file to the last clean-up and looked at between files: one
that arrived puts every file back, removes every temporary file, and is then delivered (a
Ctrl-C then raises KeyboardInterrupt). An error does the same and becomes a `HotstartError`.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import signal
import stat
import tempfile
import threading
import tokenize
from dataclasses import dataclass

from ..errors import HotstartError
from .._files import _mode_for

__all__ = ["Source", "read_source", "Files", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".hotstart-tmp"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_HELD = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())


@dataclass(slots=True)
class Source:
    path: str       # as audited (may be a symlink)
    real: str       # the regular file that is read and written
    raw: bytes
    text: str       # decoded; line endings as in the file
    encoding: str   # what Python reads it as ("utf-8-sig" keeps a BOM)

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def read_source(path: str, project: str) -> Source | str:
    """The source of `path` for rewriting, or why `fix` must leave the file alone."""
    try:
        info = os.lstat(path)
        real = path
        if stat.S_ISLNK(info.st_mode):
            real = os.path.realpath(path)
            inside = os.path.commonpath([real, project]) == project
            if not inside:
                return f"a symlink to {real}, outside the project"
            info = os.lstat(real)
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if info.st_nlink > 1:
            return (f"has {info.st_nlink} hard links (another name, a package cache for "
                    f"example, shares its content): fix it under one name")
        if not info.st_mode & stat.S_IWUSR or not os.access(real, os.W_OK):
            return f"read-only (chmod u+w {path} to let fix rewrite it)"
        if not os.access(os.path.dirname(real), os.W_OK | os.X_OK):
            return f"its directory {os.path.dirname(real)} is not writable"
        # O_NOFOLLOW | O_NONBLOCK: a file swapped for a link or a FIFO since lstat is not read
        fd = os.open(real, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        with open(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "not a regular file"
            raw = handle.read()
    except OSError as exc:
        return f"cannot read it ({exc.strerror or exc})"
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
        text = raw.decode(encoding)
    except (SyntaxError, LookupError, UnicodeDecodeError) as exc:
        return f"cannot decode it ({exc})"
    return Source(path, real, raw, text, encoding)


@dataclass(slots=True)
class _Step:
    real: str
    new: bytes | None          # None: the file is removed
    new_temp: str | None = None
    undo_temp: str | None = None  # its current bytes, when it exists
    mode: int = 0
    done: bool = False


class Files:
    """The files `fix` may write (by real path), with what is on disk now (None: absent)."""

    def __init__(self) -> None:
        self.current: dict[str, bytes | None] = {}
        self.shown: dict[str, str] = {}  # real path -> the path the user knows it by
        self.unsynced = False  # the last write was not durable

    def track(self, real: str, content: bytes | None, shown: str | None = None) -> None:
        self.current.setdefault(real, content)
        self.shown.setdefault(real, shown or real)

    def apply(self, wanted: dict[str, bytes | None], *, keep_changed: bool = False,
              durable: bool = True) -> list[str]:
        """Make each tracked file of `wanted` hold its bytes (None: not exist), all or none.
        A file that changed on disk since hotstart wrote or read it stops the write, or with
        `keep_changed` (restoring) is left as it is now: the names of those are returned.
        `durable`: new contents reach the disk before the renames and the directories are
        synced after (off for the short-lived states `--verify` tries)."""
        steps = [_Step(real, data) for real, data in wanted.items()
                 if self.current[real] != data]
        kept = []
        if keep_changed:
            kept = [s for s in steps if _read(s.real) != self.current[s.real]]
            steps = [s for s in steps if s not in kept]
        if not steps:
            if durable and self.unsynced and hasattr(os, "sync"):
                os.sync()  # what an earlier, not durable, write left
                self.unsynced = False
            return [self.shown[s.real] for s in kept]
        step = steps[0]
        with _Held() as held:
            try:
                for number, step in enumerate(steps):
                    self._prepare(step, durable)
                    _test_point("prepare", number + 1)
                    held.check()
                if durable and hasattr(os, "sync"):
                    os.sync()  # every new file on disk before any rename; one call, not N fsyncs
                for number, step in enumerate(steps):
                    if step.new_temp is not None:
                        os.chmod(step.new_temp, step.mode)
                        os.replace(step.new_temp, step.real)
                        step.new_temp = None
                    else:
                        os.unlink(step.real)
                    step.done = True
                    _test_point("commit", number + 1)
                    held.check()
            except BaseException as exc:
                problem = _undo(steps)
                if isinstance(exc, OSError):
                    raise HotstartError(
                        f"cannot write {self.shown[step.real]}: {exc.strerror or exc}; "
                        f"nothing was changed{problem}") from None
                raise
            # Committed: a signal from here on is delivered once the clean-up is done.
            for step in steps:
                self.current[step.real] = step.new
            self.unsynced = not durable
            for step in steps:
                _remove(step.undo_temp)
            if durable:
                _sync_directories(steps)
        for step in steps:
            _drop_stale_bytecode(step.real)
            _drop_stale_bytecode(self.shown[step.real])
        return [self.shown[s.real] for s in kept]

    def _prepare(self, step: _Step, durable: bool) -> None:
        before = self.current[step.real]
        try:
            info = os.lstat(step.real)
        except FileNotFoundError:
            info = None
        if before is None:
            if info is not None:
                raise HotstartError(f"{self.shown[step.real]} appeared while hotstart was "
                                    f"working; nothing was changed")
            step.mode = _mode_for(step.real)
        else:
            if info is None or not stat.S_ISREG(info.st_mode) or _read(step.real) != before:
                raise HotstartError(f"{self.shown[step.real]} changed on disk while hotstart "
                                    f"was working; nothing was changed: run fix again")
            step.mode = stat.S_IMODE(info.st_mode)
            # Only this process reads it back (to undo): no need to wait for the disk.
            step.undo_temp = _temporary(step.real, before, info, keep_times=True, sync=False)
        if step.new is not None:
            step.new_temp = _temporary(step.real, step.new, info, keep_times=False,
                                       sync=durable and not hasattr(os, "sync"))


class _Held:
    """Holds SIGINT, SIGTERM and SIGHUP (in the main thread) and delivers them on exit."""

    def __init__(self) -> None:
        self.caught: list[int] = []
        self.previous: dict[int, object] = {}

    def __enter__(self) -> _Held:
        if threading.current_thread() is threading.main_thread():
            for signum in _HELD:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self.previous[signum] = signal.signal(signum, self._hold)
        return self

    def _hold(self, signum: int, _frame: object) -> None:
        self.caught.append(signum)

    def check(self) -> None:
        if self.caught:
            raise _Interrupted()

    def __exit__(self, kind, _value, _traceback) -> bool:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        if self.caught and (kind is None or kind is _Interrupted):
            for signum in dict.fromkeys(self.caught):
                signal.raise_signal(signum)  # KeyboardInterrupt for SIGINT, else the default
            raise KeyboardInterrupt  # a handler that returned: stop all the same
        return False


class _Interrupted(BaseException):
    """A held signal arrived: undo, then deliver it."""


def _undo(steps: list[_Step]) -> str:
    """Put back every file `steps` changed and remove their temporary files; a note on
    anything that could not be put back (it should not happen: renames only)."""
    lost = []
    for step in reversed(steps):
        try:
            if step.done and step.undo_temp is not None:
                os.chmod(step.undo_temp, step.mode)
                os.replace(step.undo_temp, step.real)
                step.undo_temp = None
            elif step.done:
                os.unlink(step.real)
        except OSError as exc:
            lost.append(f"{step.real} ({exc.strerror}; its original is in {step.undo_temp})")
            step.undo_temp = None
        _remove(step.new_temp)
        _remove(step.undo_temp)
    return f"; could not restore {', '.join(lost)}" if lost else ""


def _temporary(real: str, data: bytes, like: os.stat_result | None, *, keep_times: bool,
               sync: bool) -> str:
    directory, name = os.path.split(real)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=TEMP_SUFFIX, dir=directory)
    try:
        with open(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if like is not None and (like.st_uid, like.st_gid) != (os.getuid(), os.getgid()):
                with contextlib.suppress(OSError):
                    os.fchown(fd, like.st_uid, like.st_gid)
            if sync:
                os.fsync(fd)
        if like is not None and keep_times:
            os.utime(temporary, ns=(like.st_atime_ns, like.st_mtime_ns))
    except BaseException:
        _remove(temporary)
        raise
    return temporary


def _read(path: str) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with open(fd, "rb") as handle:
        return handle.read()


def _remove(path: str | None) -> None:
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)


def _sync_directories(steps: list[_Step]) -> None:
    for directory in dict.fromkeys(os.path.dirname(s.real) for s in steps):
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def _drop_stale_bytecode(path: str) -> None:
    """A .pyc keyed on (mtime, size) could survive a same-second, same-size rewrite."""
    directory, name = os.path.split(path)
    stem = os.path.splitext(name)[0]
    for stale in glob.glob(os.path.join(glob.escape(directory), "__pycache__",
                                        f"{glob.escape(stem)}.*.pyc")):
        with contextlib.suppress(OSError):
            os.unlink(stale)


def _test_point(phase: str, count: int) -> None:
    # For tests only: `_HOTSTART_TEST_SIGINT_AT=commit:3` sends this process a real SIGINT
    # after the third file of that phase, so an interrupt lands at a known point.
    if os.environ.get("_HOTSTART_TEST_SIGINT_AT") == f"{phase}:{count}":
        os.kill(os.getpid(), signal.SIGINT)
