"""On-disk cache of built indexes (internal to `hotstart.registry.index`).

One JSON file per *slot*: a slot is what was asked for (the resolved roots, the matcher, the
scanner version, the Python minor version), so re-scanning the same package after an edit
overwrites its one file instead of piling up new ones. Inside the file, `key` is the hash of
everything the answer depends on, including every candidate file's (path, mtime_ns, size); a
file whose key differs from the current one is a miss.

Every failure here is a miss, never an error: a corrupt, truncated, foreign or unreadable file,
a cache directory that cannot be created or written, one that is not ours (another owner, or
writable by group or others). Writes are atomic: a temporary file in the same directory, then
`os.replace`; a failed write removes its temporary file.
"""

from __future__ import annotations

import json
import os

__all__ = ["FORMAT", "index_dir", "read", "write"]

FORMAT = "hotstart.registry.index-cache/1"


def index_dir(cache_dir: str) -> str:
    """Where index files live inside a cache directory."""
    return os.path.join(cache_dir, "index")


def _ours(path: str) -> bool:
    """True when `path` is a directory owned by us that nobody else can write to."""
    try:
        info = os.stat(path)
    except OSError:
        return False
    if not os.path.isdir(path):
        return False
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # Windows: no owner/mode to check
        return True
    return info.st_uid == getuid() and not info.st_mode & 0o022


def read(cache_dir: str, slot: str, key: str) -> dict | None:
    """The stored index dict for `slot` when its key is `key`; None on any miss or problem."""
    directory = index_dir(cache_dir)
    if not _ours(directory):
        return None
    try:
        with open(os.path.join(directory, slot + ".json"), "rb", buffering=0) as handle:
            payload = json.loads(handle.read())
    except (OSError, ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if (not isinstance(payload, dict) or payload.get("format") != FORMAT
            or payload.get("key") != key or not isinstance(payload.get("index"), dict)):
        return None
    return payload["index"]


def write(cache_dir: str, slot: str, key: str, index: dict) -> bool:
    """Store `index` under `slot` atomically; False (and nothing left behind) when it cannot."""
    directory = index_dir(cache_dir)
    try:
        data = json.dumps({"format": FORMAT, "key": key, "index": index},
                          separators=(",", ":")).encode()
    except (TypeError, ValueError):
        return False
    temporary = None
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if not _ours(directory):
            return False
        temporary = os.path.join(directory, f".{slot}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) \
            | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(temporary, flags, 0o644)  # the umask may narrow it further
        with open(fd, "wb", buffering=0) as handle:
            view = memoryview(data)
            while view:
                view = view[handle.write(view):]
        os.replace(temporary, os.path.join(directory, slot + ".json"))
        temporary = None
        return True
    except OSError:
        return False
    finally:
        if temporary is not None:
            try:
                os.unlink(temporary)
            except OSError:
                pass
