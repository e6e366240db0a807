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
    target = os.path.abspath(os.fspath(path))
    directory = os.path.dirname(target)
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
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                   suffix=".hotstart-tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {os.fspath(path)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(tmp)


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to a temporary file beside `path`, then rename it into place. The
    temporary file has an unpredictable name and is created by `mkstemp` (`O_EXCL |
    O_NOFOLLOW`, mode 0600 until it gets the target's mode just before the rename), so a link
    planted beside `path` is never written through; a link at `path` itself is replaced."""
    target = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(target))
    import tempfile

    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.",
                                   suffix=".hotstart-tmp", dir=directory)
    except OSError as exc:
        raise BadInput(f"cannot write {target!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise BadInput(f"cannot write {target!r}: {exc.strerror or exc}") from None
        raise


def _mode_for(target: str) -> int:
    """The existing file's mode, or what `open()` would create (mkstemp makes 0600)."""
    try:
        import stat

        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
