"""Read and write profiles as JSON files, atomically."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import TypeVar

from .._files import check_writable, write_atomic  # re-exported: listed in __all__
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
