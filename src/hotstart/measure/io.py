"""Read and write profiles as JSON files, atomically."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from collections.abc import Callable
from typing import TypeVar

from ..errors import BadInput
from .model import Profile, SchemaError

T = TypeVar("T")

__all__ = ["check_writable", "load_document", "load_profile", "read_document", "save_profile",
           "write_atomic"]


#: Far above any profile hotstart writes (20,000 modules take about 10 MB): a device such as
#: /dev/zero, or a file that is no profile, is refused before it fills the memory.
MAX_PROFILE_BYTES = 256 << 20


def load_profile(path: str | os.PathLike[str]) -> Profile:
    """A profile written by `hotstart profile -o`; `BadInput` with the reason if it is not one.
    A pipe is read too (`hotstart show <(...)`); a FIFO nothing writes to reads as empty."""
    return load_document(path, "profile", Profile.from_json)


def load_document(path: str | os.PathLike[str], what: str, parse: Callable[[str], T]) -> T:
    """`parse` (a model's `from_json`) applied to the file's text; `BadInput` naming the file
    for anything that is not a hotstart `what` (see `read_document`), invalid JSON or a
    `SchemaError`."""
    text = read_document(path, what)
    try:
        return parse(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{os.fspath(path)}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except SchemaError as exc:
        raise BadInput(f"{os.fspath(path)}: not a hotstart {what}: {exc}") from None


def read_document(path: str | os.PathLike[str], what: str) -> str:
    """The text of a hotstart `what` file ("profile", "trial report"); `BadInput` naming the
    file if it is missing, unreadable, empty, too large or not UTF-8."""
    try:
        # Non-blocking open: a FIFO without a writer would block the open itself.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(fd, True)
        with open(fd, "rb") as handle:
            data = handle.read(MAX_PROFILE_BYTES + 1)
        if len(data) > MAX_PROFILE_BYTES:
            raise BadInput(f"{os.fspath(path)}: not a hotstart {what}: larger than "
                           f"{MAX_PROFILE_BYTES >> 20} MiB")
        if not data.strip():
            raise BadInput(f"{os.fspath(path)}: empty, not a hotstart {what}")
        return data.decode("utf-8")
    except FileNotFoundError:
        raise BadInput(f"{what} {os.fspath(path)!r} not found") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"{os.fspath(path)}: not a hotstart {what}: not UTF-8 text (byte "
                       f"{exc.object[exc.start]:#04x} at offset {exc.start})") from None
    except OSError as exc:
        raise BadInput(f"cannot read {what} {os.fspath(path)!r}: "
                       f"{exc.strerror or exc}") from None


def save_profile(profile: Profile, path: str | os.PathLike[str]) -> None:
    from ..render.json import render_json

    write_atomic(path, render_json(profile))


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
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
