"""Spill files: large task results written to disk by a worker and mapped back by the parent.

    >>> directory = spill_dir()                       # /tmp/hotstart-<uid>, 0700, verified
    >>> kind, payload = inline_or_spill(result, directory, threshold=1 << 20)   # in the worker
    >>> value = load_inline(payload) if kind == "inline" else read_spill(payload.path)  # parent

A result is pickled with protocol 5 and out-of-band buffers (`pickle.PickleBuffer`): a numpy
array contributes its raw memory as a buffer, which `write_spill` writes straight from the
array (no in-memory copy) and `read_spill` hands back as a slice of a memory map of the file
(no copy either: pages are read lazily, on first touch). The parent's memory per result is then
bounded by what it actually touches, not by the size of the result. Only the in-band pickle
stream (everything that is not a buffer: small for array-heavy results) is built in memory.

File layout (integers are unsigned 64-bit little-endian)::

    offset 0          b"HSSPILL1"              magic (format version 1)
    offset 8          S                        length of the pickle stream
    offset 16         N                        number of out-of-band buffers
    offset 24         L1 ... LN                length of each buffer
    next multiple of 64   pickle stream        S bytes (protocol 5)
    next multiple of 64   buffer 1             L1 bytes
    ...
    next multiple of 64   buffer N             LN bytes; the file ends here (no trailing padding)

Offsets are not stored: each part starts at the first multiple of 64 at or after the end of the
previous one, so every buffer is 64-byte aligned in the map (numpy's SIMD loops like that), and
a reader knows the exact size the file must have: a truncated file, or one with trailing bytes,
is refused with `SpillError`.

Safety (see case 2 of the problem cases): files live in a per-user directory whose owner, type
and mode `spill_dir` verifies with ``lstat`` (a directory planted in a shared ``/tmp`` by
someone else, or opened to group/others, is refused, never chmod-ed); they are created by
``tempfile.mkstemp`` (``O_EXCL``); `read_spill` opens them with ``O_NOFOLLOW`` and
checks that the file is a regular file owned by this process's effective uid (the uid that owns
the files and directories it creates); a failed write leaves no file behind, and `read_spill`
removes the file on every path, the unpickling error included. Leftovers of killed processes
are removed by `sweep`, which matches a prefix by whole ``-``-separated parts (worker ``w1``'s
clean-up never takes ``w10``'s files).

A directory without room (ENOSPC, EDQUOT, EFBIG: a full tmpfs, a quota, a file size limit) is
not the end: `write_spill` and `inline_or_spill` take ``fallbacks=``, directories tried next,
in order. The file's mode is set to 0600 explicitly, whatever the umask.

POSIX only (``O_NOFOLLOW``, uids, mapping an unlinked file). Imports only what a bare
interpreter needs for this (``pickle``, ``mmap``, ``struct``); ``tempfile`` (~10 ms with
``random`` and ``shutil``) and ``time`` load when first needed.
"""

from __future__ import annotations

import errno
import mmap
import os
import pickle
import stat
import struct
import sys

from hotstart.errors import HotstartError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = [
    "SpillError",
    "SpillFile",
    "inline_or_spill",
    "load_inline",
    "read_spill",
    "spill_dir",
    "sweep",
    "write_spill",
]

_MAGIC = b"HSSPILL1"
_HEAD = struct.Struct("<8sQQ")  # magic, stream length, buffer count
_ALIGN = 64
_SUFFIX = ".spill"
# Python >= 3.13 can map without keeping a duplicate of the descriptor open for the lifetime
# of the map; without it, every result still alive would hold one file descriptor.
_MMAP_OPTIONS: dict[str, bool] = {"trackfd": False} if sys.version_info >= (3, 13) else {}


class SpillError(HotstartError):
    """A spill directory or spill file that cannot be used safely or at all.

    `str()` is one line: what is wrong, which path, and what to do about it.
    """


class SpillFile:
    """A result written to disk by `write_spill`: where it is and how many bytes it holds.

    Cheap to pickle (a worker sends it to the parent in place of the result). ``os.fspath()``
    gives its path. The parent reads it with ``read_spill(spill.path)``, which also removes
    it; `unlink` removes it without reading (a cancelled or abandoned task).
    """

    __slots__ = ("path", "size")

    path: str
    size: int

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size

    def unlink(self) -> None:
        """Remove the file. Idempotent: a file already gone (read, swept) is not an error."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"SpillFile({self.path!r}, size={self.size})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpillFile):
            return NotImplemented
        return (self.path, self.size) == (other.path, other.size)

    def __hash__(self) -> int:
        return hash((self.path, self.size))


# --- the directory -----------------------------------------------------------------------------


def spill_dir(base: str | os.PathLike[str] | None = None, *, create: bool = True) -> str:
    """The per-user spill directory, created or verified; returns its path.

    base: the directory to use, as is (not resolved, not made absolute); default
    ``<tempfile.gettempdir()>/hotstart-<uid>`` (uid: the effective uid).

    A missing directory is created with mode 0o700 (only its last component: a missing parent
    is an error). If the umask took owner bits away, the new directory is set to 0o700 through
    a descriptor opened with ``O_NOFOLLOW``. If another process creates it at the same time
    (``FileExistsError``), that directory is verified like any existing one. With
    ``create=False``, a missing directory is a `SpillError`.

    An existing directory is verified with ``os.lstat`` (a symbolic link is never followed):
    it must be a real directory, owned by the effective uid, with mode ``rwx------`` (no group
    or other bits; owner bits all set). Otherwise `SpillError` says why and what to do; a
    directory that fails the check is never modified.
    """
    uid = os.geteuid()
    if base is None:
        import tempfile

        path = os.path.join(tempfile.gettempdir(), f"hotstart-{uid}")
    else:
        path = os.fspath(base)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if not create:
            raise SpillError(f"spill directory {path} does not exist: create it with "
                             f"spill_dir() or pass another spill_dir=") from None
        st = _create_dir(path, uid)
    except OSError as exc:
        raise SpillError(f"cannot inspect spill directory {path}: {_reason(exc)}: "
                         f"pass another spill_dir=") from exc
    _verify_dir(path, st, uid)
    return path


def _create_dir(path: str, uid: int) -> os.stat_result:
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass  # created by a concurrent process (or planted): verified by the caller
    except OSError as exc:
        raise SpillError(f"cannot create spill directory {path}: {_reason(exc)}: "
                         f"pass a writable spill_dir=") from exc
    else:
        _fix_new_dir_mode(path, uid)
    try:
        return os.lstat(path)
    except OSError as exc:
        raise SpillError(f"spill directory {path} vanished while being created: "
                         f"{_reason(exc)}: retry or pass another spill_dir=") from exc


def _fix_new_dir_mode(path: str, uid: int) -> None:
    """Set a directory just created by us to 0o700 if the umask removed owner bits."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SpillError(f"cannot open new spill directory {path}: {_reason(exc)}: "
                         f"pass another spill_dir=") from exc
    try:
        st = os.fstat(fd)
        if st.st_uid == uid and stat.S_IMODE(st.st_mode) != 0o700:
            os.fchmod(fd, 0o700)
    except OSError as exc:
        raise SpillError(f"cannot set mode 0o700 on new spill directory {path}: "
                         f"{_reason(exc)}: pass another spill_dir=") from exc
    finally:
        os.close(fd)


def _verify_dir(path: str, st: os.stat_result, uid: int) -> None:
    if stat.S_ISLNK(st.st_mode):
        raise SpillError(f"spill directory {path} is a symbolic link, which is never "
                         f"followed: remove it or pass spill_dir=")
    if not stat.S_ISDIR(st.st_mode):
        raise SpillError(f"spill directory {path} exists but is not a directory: "
                         f"remove it or pass spill_dir=")
    if st.st_uid != uid:
        raise SpillError(f"spill directory {path} is owned by uid {st.st_uid}, not you "
                         f"(uid {uid}): remove it or pass spill_dir=")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        raise SpillError(f"spill directory {path} has mode {mode:#o}, open to group or "
                         f"others (must be 0o700): remove it, or chmod 700 it, or pass "
                         f"spill_dir=")
    if mode & 0o700 != 0o700:
        raise SpillError(f"spill directory {path} has mode {mode:#o}, not usable by you "
                         f"(must be 0o700): chmod 700 it, or pass spill_dir=")


# --- writing -----------------------------------------------------------------------------------


def write_spill(obj: object, directory: str, *, prefix: str = "result-",
                fallbacks: Iterable[str] = ()) -> SpillFile:
    """Write `obj` to a new spill file in `directory`; returns the `SpillFile`.

    obj is pickled with protocol 5; out-of-band buffers (numpy arrays, `pickle.PickleBuffer`)
    are written from their own memory, without a copy. The file is created by
    ``tempfile.mkstemp`` as ``<directory>/<prefix>XXXXXXXX.spill`` and set to mode 0600
    explicitly (whatever the umask: a task that set umask 0o777 must not make later results
    unreadable); directory should come from `spill_dir` (it is not verified here). Not
    fsync-ed: the file is read back by the same machine, not kept across a crash.

    fallbacks: directories tried in order, after `directory`, when a directory has no room:
    creating or writing the file failed with ENOSPC, EDQUOT or EFBIG (a full tmpfs, a
    quota, a file size limit). The partial file is removed first; a directory already tried
    is skipped. Any other error is not retried.

    Nothing is left behind on failure: pickling happens before the file exists (its errors,
    e.g. ``PicklingError`` or whatever a ``__reduce__`` raises, propagate unchanged), and any
    exception while writing removes the partial file; ``OSError`` (disk full in every
    directory, file size limit) becomes a `SpillError` naming the last file tried, anything
    else is re-raised as is.
    """
    buffers: list[pickle.PickleBuffer] = []
    try:
        stream = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        return _write_parts(stream, buffers, [directory, *fallbacks], prefix)
    finally:
        _release(buffers)


def inline_or_spill(obj: object, directory: str | Callable[[int], str], threshold: int, *,
                    prefix: str = "result-", fallbacks: Iterable[str] = ()
                    ) -> tuple[str, bytes | SpillFile]:
    """Small results inline, large ones spilled: ``("inline", bytes)`` or ``("spill", file)``.

    obj is pickled once with protocol 5, collecting out-of-band buffers without copying them.
    If the stream's length plus the buffers' sizes is at most `threshold` bytes, the result is
    ``("inline", data)``, data being one self-contained pickle (read it with `load_inline`; when
    there were buffers, obj is pickled a second time with everything in band). Otherwise the
    collected stream and buffers go to a spill file in `directory`, written as by `write_spill`,
    and the result is ``("spill", SpillFile)``. `directory` may be a function of the size
    in bytes that returns the directory to use (chosen once the size is known); `fallbacks`
    are tried after it when it has no room, as in `write_spill`.
    """
    buffers: list[pickle.PickleBuffer] = []
    try:
        stream = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
        total = len(stream)
        for buffer in buffers:
            with memoryview(buffer) as view:
                total += view.nbytes
        if total <= threshold:
            if buffers:
                stream = pickle.dumps(obj, protocol=5)
            return ("inline", stream)
        if callable(directory):
            directory = directory(total)
        return ("spill", _write_parts(stream, buffers, [directory, *fallbacks], prefix))
    finally:
        _release(buffers)


def load_inline(data: bytes) -> object:
    """The object of an ``("inline", data)`` result of `inline_or_spill`. Errors propagate."""
    return pickle.loads(data)


def _release(buffers: list[pickle.PickleBuffer]) -> None:
    for buffer in buffers:
        buffer.release()


def _align(offset: int) -> int:
    return (offset + _ALIGN - 1) // _ALIGN * _ALIGN


def _layout(stream_length: int, lengths: tuple[int, ...] | list[int]
            ) -> tuple[int, list[int], int]:
    """(stream offset, buffer offsets, file size) for the given part lengths."""
    position = _align(_HEAD.size + 8 * len(lengths))
    stream_offset = position
    position += stream_length
    offsets = []
    for length in lengths:
        position = _align(position)
        offsets.append(position)
        position += length
    return stream_offset, offsets, position


# Errors that mean "this directory has no room for the file": try the next one.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def _write_parts(stream: bytes, buffers: list[pickle.PickleBuffer], directories: list[str],
                 prefix: str) -> SpillFile:
    """The writer behind `write_spill` and `inline_or_spill`: header, stream, buffers, into
    the first of `directories` with room for them."""
    if os.sep in prefix or (os.altsep and os.altsep in prefix):
        raise ValueError(f"spill file prefix {prefix!r} must not contain a path separator")
    views = [buffer.raw() for buffer in buffers]  # 1-D unsigned bytes, no copy
    try:
        lengths = [view.nbytes for view in views]
        stream_offset, offsets, size = _layout(len(stream), lengths)
        header = _HEAD.pack(_MAGIC, len(stream), len(lengths))
        header += struct.pack(f"<{len(lengths)}Q", *lengths)
        parts = [(0, header), (stream_offset, stream), *zip(offsets, views)]
        tried: list[str] = []
        for directory in map(os.fspath, directories):
            if directory in tried:
                continue
            tried.append(directory)
            try:
                return SpillFile(_write_file(parts, directory, prefix, size), size)
            except SpillError as exc:
                cause = exc.__cause__
                if not (isinstance(cause, OSError) and cause.errno in _NO_ROOM):
                    raise
                if len(tried) > 1:
                    exc.add_note(f"spill directories tried, in order: {', '.join(tried)}")
                last = exc
        raise last
    finally:
        for view in views:
            view.release()


def _write_file(parts: list[tuple[int, bytes | memoryview]], directory: str, prefix: str,
                size: int) -> str:
    """Create a spill file in `directory` (mode 0600) and write `parts` (offset, data) to it;
    returns its path. Removes the partial file on any failure; an ``OSError`` becomes a
    `SpillError` whose ``__cause__`` it is."""
    import tempfile

    try:
        fd, path = tempfile.mkstemp(prefix=prefix, suffix=_SUFFIX, dir=directory)
    except OSError as exc:
        raise SpillError(f"cannot create a spill file in {directory}: {_reason(exc)}: "
                         f"check the spill directory or pass another spill_dir=") from exc
    try:
        try:
            # mkstemp's 0600 goes through the umask, which a task may have set to 0o777.
            os.fchmod(fd, 0o600)
            position = 0
            for offset, data in parts:
                position = _put(fd, position, offset, data)
        finally:
            os.close(fd)
    except BaseException as exc:
        _unlink_quietly(path)
        if isinstance(exc, OSError):
            raise SpillError(f"cannot write spill file {path} ({size} bytes): "
                             f"{_reason(exc)}: free space in {directory} or pass "
                             f"another spill_dir=") from exc
        raise
    return path


def _put(fd: int, position: int, offset: int, data: bytes | memoryview) -> int:
    """Write zero padding from `position` up to `offset`, then `data`; returns the new end."""
    if offset > position:
        _write_all(fd, bytes(offset - position))
    return offset + _write_all(fd, data)


def _write_all(fd: int, data: bytes | memoryview) -> int:
    """Write all of `data` (a 1-D byte buffer), resuming after short writes; returns its size."""
    with memoryview(data) as view:
        total = view.nbytes
        done = 0
        while done < total:
            written = os.write(fd, view[done:])
            if written <= 0:  # not expected from a regular file; never loop forever
                raise OSError(errno.EIO, "write made no progress")
            done += written
    return total


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --- reading -----------------------------------------------------------------------------------


def read_spill(path: str | os.PathLike[str], *, unlink: bool = True,
               writable: bool = True) -> object:
    """The object in the spill file at `path`, its out-of-band buffers mapped, not copied.

    The file is opened with ``O_NOFOLLOW`` (a symbolic link planted at `path` is refused, and
    left alone) and ``O_NONBLOCK`` (a FIFO planted there cannot hang the reader); it must be a
    regular file owned by this process's effective uid, else `SpillError`, and the file is left
    in place. It is then mapped, and the descriptor closed.

    writable: True (default) maps it copy-on-write (``mmap.ACCESS_COPY``): arrays that come
    back are writable, their pages are still read lazily from the file, and a write changes
    only this process's copy of the touched pages, never the file. False maps it read-only
    (``mmap.ACCESS_READ``): arrays come back read-only (``arr.flags.writeable`` is False).

    unlink: True (default) removes the file as soon as it is mapped (the map stays valid on
    POSIX), and on every later path too: a corrupt file, an unpickling error. The memory is
    released when the last object using a buffer goes away.

    A file that is truncated, too long, has a bad magic or a corrupt pickle stream raises
    `SpillError` naming it. Other exceptions raised while unpickling (e.g. a
    ``ModuleNotFoundError`` for a class the parent cannot import) propagate unchanged.
    """
    path = os.fspath(path)
    uid = os.geteuid()
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise SpillError(f"spill file {path} does not exist (already read, unlinked or "
                         f"swept)") from None
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) and os.path.islink(path):
            raise SpillError(f"spill file {path} is a symbolic link, which is never "
                             f"followed: someone planted it; check the spill directory") \
                from None
        raise SpillError(f"cannot open spill file {path}: {_reason(exc)}") from exc
    ours: os.stat_result | None = None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise SpillError(f"spill file {path} is not a regular file: someone planted "
                             f"it; check the spill directory")
        if st.st_uid != uid:
            raise SpillError(f"spill file {path} is owned by uid {st.st_uid}, not you "
                             f"(uid {uid}): someone planted it; check the spill directory")
        ours = st
        if st.st_size < _HEAD.size:
            raise SpillError(f"spill file {path} is truncated: {st.st_size} bytes, less "
                             f"than its {_HEAD.size}-byte header")
        access = mmap.ACCESS_COPY if writable else mmap.ACCESS_READ
        try:
            mapped = mmap.mmap(fd, st.st_size, access=access, **_MMAP_OPTIONS)
        except (OSError, ValueError) as exc:
            raise SpillError(f"cannot map spill file {path}: {_reason(exc)}") from exc
    finally:
        os.close(fd)
        if unlink and ours is not None:
            _unlink_if_same(path, ours)
    return _load_mapped(path, mapped, st.st_size)


def _load_mapped(path: str, mapped: mmap.mmap, size: int) -> object:
    whole = memoryview(mapped)
    stream = None
    buffers: list[memoryview] = []
    try:
        magic, stream_length, count = _HEAD.unpack_from(whole, 0)
        if magic != _MAGIC:
            raise SpillError(f"spill file {path} is not a hotstart spill file (magic "
                             f"{bytes(magic)!r}, expected {_MAGIC!r})")
        if count > (size - _HEAD.size) // 8:
            raise SpillError(f"spill file {path} is truncated or corrupt: its header "
                             f"announces {count} buffers in a {size}-byte file")
        lengths = struct.unpack_from(f"<{count}Q", whole, _HEAD.size)
        stream_offset, offsets, expected = _layout(stream_length, lengths)
        if expected != size:
            state = "truncated" if expected > size else "corrupt (trailing bytes)"
            raise SpillError(f"spill file {path} is {state}: its header describes "
                             f"{expected} bytes, the file has {size}")
        stream = whole[stream_offset:stream_offset + stream_length]
        buffers = [whole[offset:offset + length] for offset, length in zip(offsets, lengths)]
        try:
            return pickle.loads(stream, buffers=buffers)
        except (pickle.UnpicklingError, EOFError) as exc:
            raise SpillError(f"spill file {path} is corrupt: cannot unpickle it: "
                             f"{type(exc).__name__}: {_reason(exc)}") from exc
    finally:
        if stream is not None:
            stream.release()
        del buffers  # objects that kept a buffer keep the map alive
        whole.release()
        try:
            mapped.close()  # frees the map at once when no object kept a buffer
        except BufferError:
            pass


def _unlink_if_same(path: str, opened: os.stat_result) -> None:
    """Unlink `path` if it still names the file that was opened (never someone else's)."""
    try:
        current = os.lstat(path)
        if (current.st_dev, current.st_ino) == (opened.st_dev, opened.st_ino):
            os.unlink(path)
    except FileNotFoundError:
        pass


# --- cleaning up -------------------------------------------------------------------------------


def sweep(directory: str, *, older_than: float = 3600.0, prefix: str = "result-") -> int:
    """Remove spill files left in `directory` by killed processes; returns how many.

    Removed: entries named ``<prefix>*.spill`` that are regular files (symbolic links and
    anything else are left alone, never followed), owned by the effective uid, last modified
    more than `older_than` seconds ago. A file removed concurrently by another process is
    skipped; a missing directory sweeps nothing (0). directory should come from `spill_dir`.

    A prefix that ends in a letter or digit is a whole ``-``-separated part, never the start
    of a longer one: both ``"result-t-w1"`` and ``"result-t-w1-"`` remove
    ``result-t-w1-*.spill`` (worker w1's files) and never ``result-t-w10-*.spill`` (worker
    w10's, still to be read).
    """
    import time

    uid = os.geteuid()
    cutoff = time.time() - older_than
    removed = 0
    if prefix[-1:].isalnum():
        prefix += "-"  # "w1" must not match "w10-..."
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise SpillError(f"cannot list spill directory {directory}: {_reason(exc)}") from exc
    with entries:
        for entry in entries:
            name = entry.name
            if not (name.startswith(prefix) and name.endswith(_SUFFIX)):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
                if (not stat.S_ISREG(st.st_mode) or st.st_uid != uid
                        or st.st_mtime >= cutoff):
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
    return removed


def _reason(exc: BaseException) -> str:
    """An exception's message on one line (``strerror`` for an ``OSError``)."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return " ".join(text.split()) or type(exc).__name__
