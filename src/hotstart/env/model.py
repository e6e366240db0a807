"""The snapshot of an environment's activation: what it sets, what it depends on.

A `Snapshot` says what activating an environment does to a caller's environment:

- ``path_prepend`` / ``path_append``: directories added around the caller's ``PATH`` at run
  time (never a frozen ``PATH``: the caller's own entries stay, in their order);
- ``set``: variables the activation sets; a name in ``with_caller`` is built around the
  caller's own non-empty value (``before + caller + after``: a script that prepends to
  ``LD_LIBRARY_PATH``, or keeps a value the caller already has), else it is ``set``'s value;
- ``unset``: variables the activation removes (a venv removes ``PYTHONHOME``);
- what it depends on: files (``conda-meta/state``, each ``activate.d`` script, ``pyvenv.cfg``)
  with their size, mtime and sha256, and the listings of the script directories, so that a
  changed, added or removed script makes the snapshot stale (`Snapshot.stale`).

The JSON form is versioned (``"format": "hotstart-env-snapshot", "version": 1``) and read
back with every field type-checked: a hostile or truncated file gets one line naming the
JSON path at fault, never a traceback or a half-applied environment.

Standard library only, and cheap to import: `hotstart exec` reads a snapshot on every job
start, so this module imports nothing but ``os`` up front; the JSON is parsed by the C
scanner of ``_json`` (``json`` itself imports ``re``, which costs more than the rest of
``hotstart exec`` together), and ``hashlib`` loads only when a file's size or mtime moved.
"""

from __future__ import annotations

import os

from ..errors import BadInput

__all__ = ["FORMAT", "VERSION", "Dependency", "Snapshot", "SnapshotError", "StaleSnapshot",
           "load"]

FORMAT = "hotstart-env-snapshot"
VERSION = 1
#: A snapshot is a few KB; a larger file is not one (and is not read into memory).
MAX_BYTES = 16 * 1024 * 1024


class SnapshotError(BadInput):
    """A snapshot file that cannot be used: unreadable, not JSON, or a field of the wrong
    type (the message names the file and the JSON path)."""


class StaleSnapshot(BadInput):
    """The environment changed since the snapshot was taken (the message says what)."""


def valid_name(name: object) -> bool:
    """A name a POSIX shell can assign (``[A-Za-z_][A-Za-z0-9_]*``): only such names are
    recorded, so a shim can never be made to run a name as code."""
    return isinstance(name, str) and name.isascii() and name.isidentifier()


class Dependency:
    """A file the activation reads: its sha256, size and mtime when the snapshot was taken
    (``sha256`` None: the file did not exist)."""

    __slots__ = ("path", "sha256", "size", "mtime_ns")

    def __init__(self, path: str, sha256: str | None, size: int | None = None,
                 mtime_ns: int | None = None) -> None:
        self.path, self.sha256, self.size, self.mtime_ns = path, sha256, size, mtime_ns

    @classmethod
    def of(cls, path: str) -> "Dependency":
        """The file at `path` as it is now."""
        try:
            with open(path, "rb") as handle:
                info = os.fstat(handle.fileno())
                digest = _sha256(handle)
        except FileNotFoundError:
            return cls(path, None)
        except OSError as exc:
            raise BadInput(f"cannot read {path!r}: {exc.strerror or exc}") from None
        return cls(path, digest, info.st_size, info.st_mtime_ns)

    def changed(self) -> str | None:
        """Why the file is not what was recorded, or None. Size and mtime equal: unchanged
        (as make decides), without reading the file; else the content's hash decides, so a
        file touched but not edited (an image layer's new mtime) is not a change."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return None if self.sha256 is None else f"{self.path} was removed"
        except OSError as exc:
            return f"{self.path} cannot be read ({exc.strerror})"
        if self.sha256 is None:
            return f"{self.path} was added"
        if info.st_size == self.size and info.st_mtime_ns == self.mtime_ns:
            return None
        now = Dependency.of(self.path)
        return None if now.sha256 == self.sha256 else f"{self.path} changed"

    def to_dict(self) -> dict:
        if self.sha256 is None:
            return {"path": self.path, "absent": True}
        return {"path": self.path, "sha256": self.sha256, "size": self.size,
                "mtime_ns": self.mtime_ns}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dependency) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Dependency({self.path!r}, {self.sha256!r})"


class Snapshot:
    """What activating the environment at `prefix` does (see the module docstring)."""

    __slots__ = ("kind", "prefix", "path_prepend", "path_append", "set", "with_caller",
                 "unset", "files", "listings")

    def __init__(self, kind: str, prefix: str, *, path_prepend: tuple[str, ...] = (),
                 path_append: tuple[str, ...] = (), set: dict[str, str] | None = None,
                 with_caller: dict[str, tuple[str, str]] | None = None,
                 unset: tuple[str, ...] = (), files: tuple[Dependency, ...] = (),
                 listings: dict[str, tuple[str, ...]] | None = None) -> None:
        self.kind = kind
        self.prefix = prefix
        self.path_prepend = tuple(path_prepend)
        self.path_append = tuple(path_append)
        self.set = dict(set or {})
        self.with_caller = dict(with_caller or {})
        self.unset = tuple(unset)
        self.files = tuple(files)
        #: script directory -> the names it held (conda reads ``*.sh`` there, sorted)
        self.listings = dict(listings or {})

    @property
    def python(self) -> str:
        """The environment's interpreter (``PREFIX/bin/python``)."""
        return os.path.join(self.prefix, "bin", "python")

    def stale(self) -> list[str]:
        """What changed since the snapshot was taken, one line each; empty: nothing."""
        if not os.path.isdir(self.prefix):
            return [f"the environment {self.prefix} no longer exists"]
        reasons = [why for why in (dep.changed() for dep in self.files) if why]
        for directory, names in self.listings.items():  # a removed script is a removed file
            # activate.d: the *.sh conda sources; env_vars.d: every file conda reads
            suffix = ".sh" if os.path.basename(directory) == "activate.d" else ""
            added = sorted(set(script_names(directory, suffix)) - set(names))
            reasons += [f"{os.path.join(directory, name)} was added" for name in added]
        return reasons

    def check_fresh(self, source: str) -> None:
        """`StaleSnapshot` naming what changed, unless nothing did."""
        reasons = self.stale()
        if reasons:
            more = f"; and {len(reasons) - 1} more" if len(reasons) > 1 else ""
            raise StaleSnapshot(f"{source} is stale ({reasons[0]}{more}): take it again "
                                f"('hotstart env snapshot {self.prefix} -o {source}'), or "
                                f"pass --allow-stale")

    # -- JSON ----------------------------------------------------------------------------

    def to_dict(self) -> dict:
        from .. import __version__

        return {
            "format": FORMAT, "version": VERSION, "kind": self.kind, "prefix": self.prefix,
            "path": {"prepend": list(self.path_prepend), "append": list(self.path_append)},
            "set": dict(sorted(self.set.items())),
            "with_caller": {name: list(pair) for name, pair in sorted(self.with_caller.items())},
            "unset": sorted(self.unset),
            "depends": {"files": [dep.to_dict() for dep in self.files],
                        "listings": {d: list(n) for d, n in sorted(self.listings.items())}},
            "written_by": f"hotstart {__version__}",
        }

    def to_json(self) -> str:
        import json

        # ASCII: a value that is not UTF-8 (its bytes as lone surrogates) round-trips as
        # \udcXX escapes, and the file is valid UTF-8 whatever the scripts exported.
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "snapshot") -> "Snapshot":
        """Read a snapshot; `SnapshotError` naming `source` and the JSON path at fault."""
        return _read(_loads(text, source), source)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Snapshot) and all(
            getattr(self, slot) == getattr(other, slot) for slot in self.__slots__)

    def __repr__(self) -> str:
        return f"Snapshot({self.kind!r}, {self.prefix!r}, {len(self.set)} variables)"


def load(path: str) -> Snapshot:
    """Read the snapshot file at `path`; `SnapshotError` (one line) when it cannot be used."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                raise SnapshotError(f"{path}: larger than {MAX_BYTES // 2**20} MB: not a "
                                    f"snapshot")
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise SnapshotError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SnapshotError(f"{path}: not UTF-8 (byte {exc.start}): not a snapshot") from None
    return Snapshot.from_json(text, path)


def script_names(directory: str, suffix: str = ".sh") -> list[str]:
    """The scripts conda sources from `directory`: ``glob('*.sh')`` (no dot files), sorted as
    conda sorts them (by code point, not by locale); none when it does not exist."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if n.endswith(suffix) and not n.startswith("."))


def _sha256(handle) -> str:
    import hashlib

    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 16), b""):
        digest.update(block)
    return digest.hexdigest()


# -- reading hostile JSON --------------------------------------------------------------------

def _loads(text: str, source: str) -> object:
    """JSON text -> Python objects, through ``_json``'s C scanner when there is one (see the
    module docstring: ``json.decoder`` imports ``re``). NaN and Infinity are refused."""
    def constant(name: str) -> object:
        raise SnapshotError(f"{source}: {name} is not a JSON value")

    try:
        import _json

        class Context:  # what `_json.make_scanner` reads from a JSONDecoder
            strict, object_hook, object_pairs_hook, memo = True, None, None, {}

        context = Context()  # the functions on the instance: no method binding
        context.parse_float, context.parse_int, context.parse_constant = float, int, constant
        scan = _json.make_scanner(context)
    except (ImportError, AttributeError, TypeError):  # not CPython: the pure-Python reader
        import json

        scan = json.JSONDecoder(parse_constant=constant).scan_once
    space = " \t\n\r"
    start = len(text) - len(text.lstrip(space))
    try:
        value, end = scan(text, start)
    except StopIteration as exc:
        raise SnapshotError(f"{source}: not JSON (at character {exc.value})") from None
    except RecursionError:
        raise SnapshotError(f"{source}: nested too deeply to be a snapshot") from None
    except ValueError as exc:  # json.JSONDecodeError
        where = getattr(exc, "msg", str(exc))
        raise SnapshotError(f"{source}: not JSON ({where} at character "
                            f"{getattr(exc, 'pos', '?')})") from None
    rest = text[end:].lstrip(space)
    if rest:
        raise SnapshotError(f"{source}: not JSON (extra data at character "
                            f"{len(text) - len(rest)})")
    return value


_TYPES = {str: "a string", int: "an integer", list: "a list", dict: "an object",
          bool: "true or false"}


def _kind(value: object) -> str:
    if value is None:
        return "null"
    for python_type, name in reversed(_TYPES.items()):  # bool before int
        if isinstance(value, python_type):
            return name
    return "a number"


def _read(data: object, source: str) -> Snapshot:
    """Every field of a parsed snapshot, type-checked, into a `Snapshot`."""
    def fail(path: str, problem: str) -> SnapshotError:
        from .._text import printable

        return SnapshotError(printable(f"{source}: {path}: {problem}"))

    def get(obj: object, path: str, wanted: type, *, keys: tuple[str, ...] = ()) -> object:
        if not isinstance(obj, wanted) or (wanted is int and isinstance(obj, bool)):
            raise fail(path, f"expected {_TYPES[wanted]}, got {_kind(obj)}")
        if keys:
            extra = sorted(set(obj) - set(keys))
            if extra:
                raise fail(path, f"unknown field {extra[0]!r} (known: {', '.join(keys)})")
        return obj

    def field(obj: dict, path: str, key: str, wanted: type, default: object = None) -> object:
        if key not in obj:
            if default is not None:
                return default
            raise fail(path, f"missing field {key!r}")
        return get(obj[key], f"{path}.{key}", wanted)

    def text(value: object, path: str) -> str:
        value = get(value, path, str)
        if "\0" in value:
            raise fail(path, "contains a NUL character, which no environment can hold")
        return value

    def name(value: object, path: str) -> str:
        if not valid_name(value):
            raise fail(path, f"{value!r} is not a variable name a shell can set")
        return value

    def strings(value: object, path: str) -> list[str]:
        return [text(v, f"{path}[{i}]") for i, v in enumerate(get(value, path, list))]

    top = get(data, "$", dict, keys=("format", "version", "kind", "prefix", "path", "set",
                                     "with_caller", "unset", "depends", "written_by"))
    if top.get("format") != FORMAT:
        raise SnapshotError(f"{source}: not a hotstart environment snapshot (no \"format\": "
                            f"\"{FORMAT}\")")
    version = field(top, "$", "version", int)
    if version != VERSION:
        newer = "newer than this hotstart reads" if version > VERSION else "unknown"
        raise fail("$.version", f"snapshot version {version} is {newer} (this hotstart reads "
                                f"version {VERSION}); take the snapshot again")
    kind = field(top, "$", "kind", str)
    if kind not in ("conda", "venv"):
        raise fail("$.kind", f"{kind!r} is not 'conda' or 'venv'")
    prefix = text(field(top, "$", "prefix", str), "$.prefix")
    if not os.path.isabs(prefix):
        raise fail("$.prefix", f"{prefix!r} is not an absolute path")
    path = get(field(top, "$", "path", dict), "$.path", dict, keys=("prepend", "append"))
    dirs = {}
    for key in ("prepend", "append"):
        dirs[key] = strings(field(path, "$.path", key, list, []), f"$.path.{key}")
        for i, entry in enumerate(dirs[key]):
            if ":" in entry:
                raise fail(f"$.path.{key}[{i}]", "a PATH entry cannot contain ':'")
    values = {}
    for key, value in get(field(top, "$", "set", dict, {}), "$.set", dict).items():
        values[name(key, f"$.set.{key}")] = text(value, f"$.set.{key}")
    around = {}
    for key, value in get(field(top, "$", "with_caller", dict, {}), "$.with_caller",
                          dict).items():
        where = f"$.with_caller.{name(key, f'$.with_caller.{key}')}"
        pair = strings(value, where)
        if len(pair) != 2:
            raise fail(where, f"expected [before, after], got {len(pair)} strings")
        if key not in values:
            raise fail(where, "has no value in $.set (used when the caller has none)")
        around[key] = (pair[0], pair[1])
    unset = [name(v, f"$.unset[{i}]") for i, v in enumerate(strings(
        field(top, "$", "unset", list, []), "$.unset"))]
    for key in ("PATH", *unset):
        if key in values:
            raise fail(f"$.set.{key}", "PATH is $.path's" if key == "PATH" else
                       "is also in $.unset")
    if "PATH" in unset:
        raise fail("$.unset", "PATH cannot be unset (it is $.path's)")
    depends = get(field(top, "$", "depends", dict, {}), "$.depends", dict,
                  keys=("files", "listings"))
    files = []
    for i, item in enumerate(get(depends.get("files", []), "$.depends.files", list)):
        where = f"$.depends.files[{i}]"
        item = get(item, where, dict, keys=("path", "absent", "sha256", "size", "mtime_ns"))
        file_path = text(field(item, where, "path", str), f"{where}.path")
        if item.get("absent") is True:
            files.append(Dependency(file_path, None))
            continue
        digest = field(item, where, "sha256", str)
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise fail(f"{where}.sha256", "expected 64 lower-case hex digits")
        files.append(Dependency(file_path, digest, field(item, where, "size", int),
                                field(item, where, "mtime_ns", int)))
    listings = {}
    for directory, names in get(depends.get("listings", {}), "$.depends.listings",
                                dict).items():
        listings[text(directory, "$.depends.listings")] = tuple(
            strings(names, f"$.depends.listings[{directory!r}]"))
    if "written_by" in top:
        text(top["written_by"], "$.written_by")
    return Snapshot(kind, prefix, path_prepend=tuple(dirs["prepend"]),
                    path_append=tuple(dirs["append"]), set=values, with_caller=around,
                    unset=tuple(unset), files=tuple(files), listings=listings)
