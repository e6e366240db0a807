"""Writing a file atomically, and checking first that it can be written: what every command
that saves a file (profile, audit, trial, ``hotstart worker --report``) uses.

Standard library only (``tempfile`` loads when called): ``hotstart worker`` imports it in a
worker process.
"""

from __future__ import annotations

import os

from .errors import BadInput

__all__ = ["check_writable", "write_atomic"]


def check_writable(path: str | os.PathLike[str]) -> None:
    """Fail before doing any work if `path` cannot be written."""
    if not os.fspath(path):
        raise BadInput("cannot write '': give a file name")
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
    _refuse_special(os.fspath(path))
    if os.path.isdir(target):
        raise BadInput(f"cannot write {os.fspath(path)!r}: it is a directory")
    if not os.path.isdir(directory):
        raise BadInput(f"cannot write {os.fspath(path)!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK) or (os.path.exists(target) and not os.access(target, os.W_OK)):
        raise BadInput(f"cannot write {os.fspath(path)!r}: permission denied")
    # `access` says yes to root, and knows nothing of read-only mounts or /proc: create the
    # temporary file `write_atomic` will need, and remove it.
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(target),
                                   suffix=".hotstart-tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place. The
    temporary file has an unpredictable name and is created by `mkstemp` (`O_EXCL |
    O_NOFOLLOW`, mode 0600 until it gets the target's mode just before the rename), so a link
    planted beside `path` is never written through; a link at `path` itself is replaced.
    `mode` (e.g. 0o755 for a script) replaces the target's mode, so the file appears with it
    at once."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    _refuse_special(target)
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=_temporary_prefix(target),
                                   suffix=".hotstart-tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {target!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target) if mode is None else mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise BadInput(f"cannot write {target!r}: {exc.strerror or exc}") from None
        raise


def _refuse_special(target: str) -> None:
    """A device, a FIFO or a socket at `target`, or a symbolic link to one (``/dev/stdout``),
    is never replaced by a file: the rename would put a regular file where /dev/null was. A
    link to a regular file is replaced (the link itself, never written through)."""
    import stat

    absolute = os.path.abspath(target)
    if absolute.startswith(("/dev/", "/proc/", "/sys/")):
        # /dev/stdout is a link to /proc/self/fd/1, which may be a regular file: replacing
        # the link would break the system's /dev/stdout.
        raise BadInput(f"cannot write {target!r}: it is a system path (/dev, /proc, /sys); "
                       f"give the path of a file")
    try:
        mode = os.lstat(target).st_mode
        if stat.S_ISLNK(mode):
            mode = os.stat(target).st_mode
    except OSError:  # missing, or a dangling link: a file is created
        return
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise BadInput(f"cannot write {target!r}: it is not a regular file (a device, a pipe "
                       f"or a socket); give the path of a file")


def _mode_for(target: str) -> int:
    """The existing file's mode, or what `open()` would create (mkstemp makes 0600)."""
    try:
        import stat

        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _temporary_prefix(target: str) -> str:
    """The temporary file's name starts with the target's, cut so that with mkstemp's random
    part and the suffix it stays within a file name's 255 bytes (a target name of 235 bytes
    did not)."""
    name = os.path.basename(target).encode("utf-8", "surrogateescape")[:200]
    return "." + name.decode("utf-8", "ignore") + "."
