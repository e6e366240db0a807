"""Static registry index: which module registers which name, found in the source with `ast`.

A plugin system whose registry is filled by decorators (``@register("csv")``) has to import
every plugin module before it can answer "what is ``csv``?". This module answers it without
importing anything: it reads the package's source files, keeps those that can contain a
registration (a byte prefilter), parses them and records every registration site::

    >>> index = Index.build("jobrunner")                  # or a path: "src/", "src/jobrunner"
    >>> index.modules_for("zscore")
    ['jobrunner.plugins.stats']
    >>> index.lookup("zscore")[0].qualname
    'ZScore'

What counts as a registration is a `Matcher`: the callables (``register`` matches
``register(...)``, ``reg.register(...)`` and ``a.b.register(...)``; ``"reg.register"`` matches
only ``reg.register(...)``), where the name is (a positional index or a keyword) and which
keyword literals to keep as metadata. Three forms are recognised, in modules and class bodies:

    @register("csv")            class Csv: ...        decorator (qualname "Csv", "Outer.Inner")
    register("csv")(Csv)                               call form (qualname "Csv")
    registry.register("csv", Csv)                      call with the object (qualname "Csv")

What cannot be seen statically is reported as an `IndexWarning`, not guessed:

* a name that is not a string literal (variable, f-string, call, concatenation): no entry;
* a registration inside a function, a lambda, a loop or a comprehension: no entry (it runs
  when the function is called, or once per iteration with names the source does not show);
* under ``if TYPE_CHECKING:`` (never runs) or ``if __name__ == "__main__":`` (runs only as a
  script): no entry;
* under any other ``if``/``elif``/``else``, ``try``/``except``/``else``, ``with`` or ``match``:
  the entry **is** recorded (it usually runs, and a preload list that names one module too many
  is cheaper than a job that fails), and a warning says it may not run;
* a file that cannot be read or parsed.

Built indexes are cached on disk (see `default_cache_dir`), keyed by the scanner version, the
matcher, the Python minor version and every candidate file's (path, mtime_ns, size): a warm
`Index.build` only lists and stats files.

This module is imported only to build an index; `hotstart.registry.Registry` does not need it.
"""

from __future__ import annotations

import ast
import bisect
import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field

from . import _cache

__all__ = ["Matcher", "Entry", "IndexWarning", "Index", "default_cache_dir", "SCANNER_VERSION"]

#: Bumped whenever the scanner would find something different in the same files.
SCANNER_VERSION = 2  # 2: stdlib register() calls (atexit, codecs, ABCs) are not registrations

_PY = f"{sys.version_info[0]}.{sys.version_info[1]}"
# A cache written while a candidate file is this young might not notice a later edit that
# keeps the size and lands in the same timestamp tick (coarse file system clocks): skip it.
_RACY_NS = 2_000_000_000
# Files at least this large are parsed statement by statement (only the top-level statements
# that contain a candidate site); smaller ones are parsed whole.
_CHUNK_MIN = 16 * 1024


# -- configuration and results --------------------------------------------------------------

@dataclass(frozen=True)
class Matcher:
    """What counts as a registration site.

    callables: a call counts when its function is a name or attribute chain whose dotted text
        equals an entry, or whose last part equals an entry without dots: ``"register"``
        matches ``register(...)``, ``reg.register(...)`` and ``a.b.register(...)``;
        ``"reg.register"`` matches only ``reg.register(...)``.
    key: where the registration name is: a positional index (``0``) or a keyword (``"name"``).
    keep: keyword arguments whose literal values are kept as `Entry.metadata` (only values that
        are JSON literals: strings, numbers, booleans, None, and lists/dicts of them).
    """

    callables: tuple[str, ...] = ("register",)
    key: int | str = 0
    keep: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        callables = (self.callables,) if isinstance(self.callables, str) \
            else tuple(self.callables)
        if not callables:
            raise ValueError("Matcher.callables: give at least one callable name")
        for name in callables:
            if not isinstance(name, str) or not all(p.isidentifier() for p in name.split(".")):
                raise ValueError(f"Matcher.callables: {name!r} is not a dotted name")
        key = self.key
        if isinstance(key, bool) or not isinstance(key, (int, str)) \
                or (isinstance(key, int) and key < 0) \
                or (isinstance(key, str) and not key.isidentifier()):
            raise ValueError(f"Matcher.key: {key!r} is neither a positional index (0, 1, ...) "
                             f"nor a keyword name")
        keep = (self.keep,) if isinstance(self.keep, str) else tuple(self.keep)
        for name in keep:
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"Matcher.keep: {name!r} is not a keyword name")
        object.__setattr__(self, "callables", callables)
        object.__setattr__(self, "keep", keep)

    def fingerprint(self) -> str:
        """Stable text describing this matcher (order of `callables` and `keep` ignored)."""
        return json.dumps({"callables": sorted(set(self.callables)), "key": self.key,
                           "keep": sorted(set(self.keep))}, sort_keys=True,
                          separators=(",", ":"))

    def needles(self) -> tuple[bytes, ...]:
        """The byte strings a file must contain to hold a site: each callable's last part."""
        return tuple(sorted({c.rpartition(".")[2].encode() for c in self.callables}))


@dataclass(frozen=True)
class Entry:
    """One registration site the scanner saw.

    name: the registered name; module: the dotted name of the module that registers it;
    qualname: what is registered (``"CsvSource"``, ``"Outer.method"``, or for the call forms the
    dotted text of the object argument when it is a name or attribute), else None;
    file and line: where the registering call is; metadata: the kept keyword literals.
    """

    name: str
    module: str
    qualname: str | None
    file: str
    line: int
    metadata: dict = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict:
        """A JSON-able dict of every field."""
        return {"name": self.name, "module": self.module, "qualname": self.qualname,
                "file": self.file, "line": self.line, "metadata": self.metadata}


@dataclass(frozen=True)
class IndexWarning:
    """A registration (or a file) the scanner cannot see statically, and why."""

    file: str
    line: int
    module: str
    message: str

    def to_dict(self) -> dict:
        """A JSON-able dict of every field."""
        return {"file": self.file, "line": self.line, "module": self.module,
                "message": self.message}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class Index:
    """Registered name -> the `Entry` list of the sites that register it.

    Build one with `Index.build`. Several modules may register one name (each gets an entry,
    in file order). `warnings` lists what the scanner could not see; `files_scanned` counts the
    candidate files, `files_parsed` those that passed the prefilter and were parsed;
    `from_cache` says whether this came from the disk cache.
    """

    def __init__(self, entries: dict[str, list[Entry]] | None = None,
                 warnings: list[IndexWarning] | None = None, *, files_scanned: int = 0,
                 files_parsed: int = 0, from_cache: bool = False) -> None:
        self.entries: dict[str, list[Entry]] = dict(entries or {})
        self.warnings: list[IndexWarning] = list(warnings or [])
        self.files_scanned = files_scanned
        self.files_parsed = files_parsed
        self.from_cache = from_cache

    @classmethod
    def build(cls, roots: str | os.PathLike[str] | list[str | os.PathLike[str]],
              matcher: Matcher = Matcher(), *,
              cache: bool | str | os.PathLike[str] = True) -> Index:
        """Scan `roots` for registration sites, without importing them.

        roots: a path or an importable top-level package name, or a list of them. A path is a
            package directory (with ``__init__.py``, or a namespace package directory), a source
            root that holds packages (``src/``) or one ``.py`` file; an existing path wins over a
            package of the same name. A package name is located with
            ``importlib.util.find_spec`` (for a top-level name that executes nothing) and all its
            ``submodule_search_locations`` are scanned, namespace portions included; a dotted
            name (``"pkg.plugins"``) is found by walking those directories, not by importing.
            Module names come from the package root: for a path, the nearest enclosing source
            root (a ``sys.path`` entry, a directory named ``src``/``lib``/``site-packages``, or
            one holding ``pyproject.toml``/``setup.py``/``setup.cfg``), else the top of the
            chain of ``__init__.py`` directories.
        matcher: what counts as a registration.
        cache: True for `default_cache_dir`, False for none, or a cache directory.

        Raises FileNotFoundError for a path that does not exist, ModuleNotFoundError for a
        package that cannot be found, ValueError for a root that has no Python source (an
        extension module, a non-``.py`` file). Problems inside the scanned files are warnings.
        """
        if not isinstance(matcher, Matcher):
            raise TypeError(f"matcher must be a Matcher, not {type(matcher).__name__}")
        units = _resolve_roots(roots)
        cache_dir = _cache_dir(cache)
        candidates = _candidates(units, with_stat=cache_dir is not None)
        if cache_dir is None:
            return _scan(candidates, matcher)
        slot, key, racy = _cache_key(units, candidates, matcher)
        stored = _cache.read(cache_dir, slot, key)
        if stored is not None:
            try:
                return cls.from_dict(stored, from_cache=True)
            except (KeyError, TypeError, ValueError, AttributeError):
                pass  # a damaged file that happened to be valid JSON: rebuild
        index = _scan(candidates, matcher)
        if not racy:
            _cache.write(cache_dir, slot, key, index.to_dict())
        return index

    @classmethod
    def from_dict(cls, data: dict, *, from_cache: bool = False) -> Index:
        """The inverse of `to_dict` (ValueError, TypeError or KeyError for malformed input)."""
        entries: dict[str, list[Entry]] = {}
        names = data["names"]
        if not isinstance(names, dict):
            raise ValueError("names: expected an object")
        for name, items in names.items():
            if not isinstance(items, list) or not items:
                raise ValueError(f"names[{name!r}]: expected a non-empty list")
            entries[name] = [_entry_from(item, name) for item in items]
        warnings = [_warning_from(item) for item in data["warnings"]]
        scanned, parsed = data["files_scanned"], data["files_parsed"]
        if not isinstance(scanned, int) or not isinstance(parsed, int):
            raise ValueError("files_scanned/files_parsed: expected integers")
        return cls(entries, warnings, files_scanned=scanned, files_parsed=parsed,
                   from_cache=from_cache)

    def lookup(self, name: str) -> list[Entry]:
        """The entries registering `name` (a new list), [] when unknown."""
        return list(self.entries.get(name, ()))

    def modules_for(self, name: str) -> list[str]:
        """The distinct modules registering `name`, in entry order; [] when unknown."""
        return list(dict.fromkeys(entry.module for entry in self.entries.get(name, ())))

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self.entries)

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def __repr__(self) -> str:
        return (f"<Index {len(self.entries)} names, {len(self.warnings)} warnings, "
                f"{self.files_parsed}/{self.files_scanned} files parsed"
                f"{', from cache' if self.from_cache else ''}>")

    def to_dict(self) -> dict:
        """JSON-able: ``{"names": {name: [entry dicts]}, "warnings": [...], "files_scanned",
        "files_parsed", "from_cache"}``, names sorted."""
        return {"names": {name: [e.to_dict() for e in self.entries[name]]
                          for name in sorted(self.entries)},
                "warnings": [w.to_dict() for w in self.warnings],
                "files_scanned": self.files_scanned, "files_parsed": self.files_parsed,
                "from_cache": self.from_cache}


def default_cache_dir() -> str:
    """``$HOTSTART_CACHE_DIR``, else ``$XDG_CACHE_HOME/hotstart``, else ``~/.cache/hotstart``.

    Index files go under its ``index/`` subdirectory (created with mode 0700).
    """
    explicit = os.environ.get("HOTSTART_CACHE_DIR")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are to be ignored
        return os.path.join(xdg, "hotstart")
    return os.path.join(os.path.expanduser("~"), ".cache", "hotstart")


# -- roots -> scan units -------------------------------------------------------------------

# (path, module prefix, is_file): a directory scanned with module names "prefix.sub.mod" (a
# source root has prefix ""), or one file whose module name is `prefix`.
_Unit = tuple[str, str, bool]

_ROOT_NAMES = frozenset({"src", "lib", "site-packages", "dist-packages"})
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg")


def _resolve_roots(roots) -> list[_Unit]:
    if isinstance(roots, (str, os.PathLike)):
        roots = [roots]
    units: list[_Unit] = []
    for root in roots:
        if isinstance(root, os.PathLike):
            units.append(_path_unit(os.fspath(root)))
        elif not isinstance(root, str):
            raise TypeError(f"a root is a path or a package name, not {type(root).__name__}")
        elif os.path.exists(root) or not _is_dotted(root):
            units.append(_path_unit(root))
        else:
            units.extend(_package_units(root))
    return units


def _is_dotted(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _path_unit(path: str) -> _Unit:
    path = os.path.abspath(path)
    if os.path.isdir(path):
        return path, _dir_prefix(path), False
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file or directory")
    name = os.path.basename(path)
    if not name.endswith(".py"):
        raise ValueError(f"{path}: not a Python source file (.py)")
    if not os.path.isfile(path):  # a FIFO or a device named *.py: reading it would block
        raise ValueError(f"{path}: not a regular file")
    return path, _file_module(path), True


def _file_module(path: str) -> str:
    prefix = _dir_prefix(os.path.dirname(path))
    stem = os.path.basename(path)[:-3]
    if stem == "__init__":
        return prefix or os.path.basename(os.path.dirname(path))
    return f"{prefix}.{stem}" if prefix else stem


def _sys_path_dirs() -> set[str]:
    cwd = os.getcwd()
    return {os.path.normcase(os.path.abspath(entry or cwd))
            for entry in sys.path if isinstance(entry, str)}


def _is_source_root(directory: str, on_path: set[str]) -> bool:
    return (os.path.normcase(directory) in on_path
            or os.path.basename(directory) in _ROOT_NAMES
            or any(os.path.isfile(os.path.join(directory, f)) for f in _PROJECT_FILES))


def _dir_prefix(directory: str) -> str:
    """The package name of `directory` ("" when it is a source root itself)."""
    on_path = _sys_path_dirs()
    names: list[str] = []
    package_chain: list[str] | None = None  # names up to the first directory without __init__
    current = directory
    while True:
        has_init = os.path.isfile(os.path.join(current, "__init__.py"))
        if not has_init and _is_source_root(current, on_path):
            return ".".join(reversed(names))
        base = os.path.basename(current)
        if not base.isidentifier():
            break
        if not has_init and package_chain is None:
            package_chain = list(names)
        names.append(base)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    # No source root found: a regular package ends where the __init__.py chain ends, and a
    # directory without __init__.py is a source root itself.
    return ".".join(reversed(names if package_chain is None else package_chain))


def _package_units(name: str) -> list[_Unit]:
    import importlib.util

    top, _, rest = name.partition(".")
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError) as exc:
        raise ModuleNotFoundError(f"cannot locate package {top!r}: {exc}", name=top) from None
    if spec is None:
        raise ModuleNotFoundError(f"no importable package or module {top!r}", name=top)
    locations = list(spec.submodule_search_locations or ())
    if not locations:
        origin = spec.origin or ""
        if rest or not origin.endswith(".py") or not os.path.isfile(origin):
            raise ValueError(f"{name!r} is not Python source (found {origin or spec.loader!r})")
        return [(os.path.abspath(origin), top, True)]
    prefix = top
    for part in rest.split(".") if rest else ():
        prefix = f"{prefix}.{part}"
        directories = [os.path.join(loc, part) for loc in locations
                       if os.path.isdir(os.path.join(loc, part))]
        if not directories:
            for loc in locations:
                module_file = os.path.join(loc, part + ".py")
                if os.path.isfile(module_file):
                    return [(os.path.abspath(module_file), prefix, True)]
            raise ModuleNotFoundError(f"no module {prefix!r} in {', '.join(locations)}",
                                      name=prefix)
        locations = directories
    return [(os.path.abspath(loc), prefix, False) for loc in locations]


# -- scan units -> candidate files ---------------------------------------------------------

# (absolute path, module name, mtime_ns, size); stat fields are 0 when not needed
_Candidate = tuple[str, str, int, int]


def _candidates(units: list[_Unit], *, with_stat: bool) -> list[_Candidate]:
    seen_files: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()
    out: list[_Candidate] = []

    def add(path: str, module: str, stat: os.stat_result | None) -> None:
        if path in seen_files:
            return
        seen_files.add(path)
        if with_stat:
            if stat is None:
                try:
                    stat = os.stat(path)
                except OSError:
                    return
            out.append((path, module, stat.st_mtime_ns, stat.st_size))
        else:
            out.append((path, module, 0, 0))

    def walk(directory: str, prefix: str) -> None:
        try:
            info = os.stat(directory)
        except OSError:
            return
        marker = (info.st_dev, info.st_ino)
        if marker in seen_dirs:  # symlink loop, or the same tree reached twice
            return
        seen_dirs.add(marker)
        try:
            with os.scandir(directory) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError:
            return
        subdirs = []
        for item in items:
            name = item.name
            if name.startswith(".") or name == "__pycache__":
                continue
            try:
                if name.endswith(".py"):
                    stem = name[:-3]
                    if not stem.isidentifier() or not item.is_file():
                        continue
                    if stem == "__init__":
                        module = prefix or os.path.basename(directory)
                    else:
                        module = f"{prefix}.{stem}" if prefix else stem
                    add(item.path, module, item.stat() if with_stat else None)
                elif name.isidentifier() and item.is_dir():
                    subdirs.append(item)
            except OSError:
                continue
        for item in subdirs:
            walk(item.path, f"{prefix}.{item.name}" if prefix else item.name)

    for path, prefix, is_file in units:
        if is_file:
            add(path, prefix, None)
        else:
            walk(path, prefix)
    return out


# -- cache key -------------------------------------------------------------------------------

def _cache_dir(cache) -> str | None:
    if cache is True:
        return default_cache_dir()
    if cache is False or cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return os.path.abspath(os.fspath(cache))
    raise TypeError(f"cache must be True, False or a directory, not {type(cache).__name__}")


def _cache_key(units: list[_Unit], candidates: list[_Candidate],
               matcher: Matcher) -> tuple[str, str, bool]:
    """(slot file name, key, racy): racy when a candidate is too young to trust its mtime."""
    head = f"{SCANNER_VERSION}\0{matcher.fingerprint()}\0{_PY}\0"
    slot = hashlib.sha256(
        (head + "\0".join(f"{p}\1{m}\1{f}" for p, m, f in units)).encode()).hexdigest()[:32]
    digest = hashlib.sha256(head.encode())
    newest = 0
    lines = []
    for path, module, mtime, size in candidates:
        lines.append(f"{path}\0{module}\0{mtime}\0{size}\n")
        newest = max(newest, mtime)
    digest.update("".join(lines).encode("utf-8", "surrogateescape"))
    return slot, digest.hexdigest(), time.time_ns() - newest < _RACY_NS


# -- scanning --------------------------------------------------------------------------------

def _scan(candidates: list[_Candidate], matcher: Matcher, *, chunked: bool = True) -> Index:
    needles = matcher.needles()
    exact = frozenset(c for c in matcher.callables if "." in c)
    last = frozenset(c for c in matcher.callables if "." not in c)
    entries: dict[str, list[Entry]] = {}
    warnings: list[IndexWarning] = []
    parsed = 0
    for path, module, _, _ in candidates:
        try:
            with open(path, "rb", buffering=0) as handle:
                data = handle.read()
        except OSError as exc:
            warnings.append(IndexWarning(path, 0, module, f"cannot read: {exc.strerror or exc}"))
            continue
        for needle in needles:
            if needle in data:
                break
        else:
            continue  # the byte prefilter: this file cannot hold a site
        if b"\r" in data:  # line numbers below count "\n" only
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        offsets = _site_offsets(data, needles)
        if not offsets:
            continue
        parsed += 1
        trees = _parse(data, offsets, path, chunked)
        if isinstance(trees, SyntaxError):
            warnings.append(IndexWarning(path, trees.lineno or 0, module,
                                         f"cannot parse: {trees.msg}"))
            continue
        lines = _line_numbers(data, offsets)
        visitor = _Visitor(matcher, exact, last, module, path, lines, _not_registries(data))
        for tree in trees:
            visitor.body(tree.body, _TOP)
        for entry in visitor.entries:
            entries.setdefault(entry.name, []).append(entry)
        warnings.extend(visitor.warnings)
    return Index(entries, warnings, files_scanned=len(candidates), files_parsed=parsed)


# Standard-library modules whose `register` is not a registry: exit handlers, codec search
# functions, pickle reducers, signal dumps, and ABC virtual subclasses (`Sequence.register(C)`).
_NOT_REGISTRIES = (b"atexit", b"codecs", b"copyreg", b"faulthandler", b"abc", b"numbers",
                   b"collections.abc", b"collections", b"typing", b"io", b"os")
_IMPORT_NOT_REGISTRY: "re.Pattern[bytes] | None" = None


def _not_registries(data: bytes) -> frozenset[str]:
    """Names bound in this file to `_NOT_REGISTRIES` modules or to names imported from them:
    `atexit.register(fn)`, `import atexit as ae; ae.register(fn)`, `from atexit import
    register; register(fn)` and `Sequence.register(Cls)` are not registrations."""
    global _IMPORT_NOT_REGISTRY
    if _IMPORT_NOT_REGISTRY is None:
        modules = b"|".join(re.escape(m) for m in _NOT_REGISTRIES)
        _IMPORT_NOT_REGISTRY = re.compile(
            rb"^[ \t]*(?:import[ \t]+(?P<plain>[^\n#;]+)"
            rb"|from[ \t]+(?P<module>" + modules + rb")[ \t]+import[ \t]+"
            rb"(?P<names>\([^)]*\)|[^\n#;]+))", re.MULTILINE)
    bound: set[str] = set()
    for match in _IMPORT_NOT_REGISTRY.finditer(data):
        if match.group("plain") is not None:
            for part in match.group("plain").split(b","):
                words = part.split()
                if words and words[0] in _NOT_REGISTRIES:
                    name = words[2] if len(words) == 3 and words[1] == b"as" \
                        else words[0].partition(b".")[0]
                    bound.add(name.decode("ascii", "replace"))
        else:
            for part in match.group("names").strip(b"()").split(b","):
                words = part.split()
                if words:
                    name = words[2] if len(words) == 3 and words[1] == b"as" else words[0]
                    bound.add(name.decode("ascii", "replace"))
    return frozenset(bound)


def _line_numbers(data: bytes, offsets: list[int]) -> list[int]:
    """The distinct 1-based line numbers of sorted byte offsets."""
    lines = []
    line, position = 1, 0
    for offset in offsets:
        line += data.count(b"\n", position, offset)
        position = offset
        if not lines or lines[-1] != line:
            lines.append(line)
    return lines


_IDENT = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
                   + bytes(range(128, 256)))


def _site_offsets(data: bytes, needles: tuple[bytes, ...]) -> list[int]:
    """Offsets of needle occurrences that can be a site: a whole word followed (after spaces)
    by ``(``, or ending a decorator line (``@reg.register``); ``def register(`` is not."""
    found = []
    size = len(data)
    for needle in needles:
        width = len(needle)
        at = data.find(needle)
        while at >= 0:
            end = at + width
            if (at == 0 or data[at - 1] not in _IDENT) and (end >= size or data[end] not in _IDENT):
                after = end
                while after < size and data[after] in b" \t":
                    after += 1
                nxt = data[after:after + 1]
                line_start = data.rfind(b"\n", 0, at) + 1
                head = data[line_start:at].lstrip()
                if nxt == b"(":
                    if not head.startswith((b"def ", b"async ", b"class ")):
                        found.append(at)
                elif nxt in (b"\n", b"\r", b"#", b"") and head.startswith(b"@"):
                    found.append(at)
            at = data.find(needle, end)
    return sorted(found)


# Strings and comments, to know which line starts are inside a multi-line string; and
# backslash continuations. Written as "normal* (special normal*)*" (unambiguous, so linear
# without possessive quantifiers, which are broken in early 3.11 releases).
_BACKSLASH, _AT = ord("\\"), ord("@")
_PATTERNS: tuple | None = None  # compiled on first use: importing this module stays cheaper


def _patterns() -> tuple:
    """(lexemes, statement starts, continuation keywords, coding cookie)."""
    global _PATTERNS
    if _PATTERNS is None:
        _PATTERNS = (
            re.compile(
                rb'#[^\r\n]*'
                rb'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
                rb"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
                rb'|"[^"\\\r\n]*(?:\\(?:\r\n|.)[^"\\\r\n]*)*"'
                rb"|'[^'\\\r\n]*(?:\\(?:\r\n|.)[^'\\\r\n]*)*'"
                rb'|\\\r?\n',
                re.DOTALL),
            # Line starts that may begin a top-level statement: a name, a keyword, a decorator.
            re.compile(rb"^[A-Za-z_@\x80-\xff]", re.MULTILINE),
            re.compile(rb"(?:else|elif|except|finally)(?![A-Za-z0-9_\x80-\xff])"),
            re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.MULTILINE),
        )
    return _PATTERNS


def _parse(data: bytes, offsets: list[int], path: str,
           chunked: bool) -> list[ast.Module] | SyntaxError:
    """Parse the top-level statements around `offsets` (whole file when small or unsure)."""
    if chunked and len(data) >= _CHUNK_MIN:
        ranges = _chunks(data, offsets)
        if ranges is not None:
            trees = []
            # Line numbers are counted on from the previous chunk and applied after parsing:
            # counting from the start, or padding each chunk with newlines, is quadratic.
            line, position = 0, 0
            try:
                for start, end in ranges:
                    line += data.count(b"\n", position, start)
                    position = start
                    tree = ast.parse(data[start:end], path)
                    trees.append(ast.increment_lineno(tree, line) if line else tree)
                return trees
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                pass  # the chunks were not statements after all: parse the whole file
    try:
        return [ast.parse(data, path)]
    except SyntaxError as exc:
        return exc
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        error = SyntaxError(str(exc))
        error.lineno = 0
        return error


def _chunks(data: bytes, offsets: list[int]) -> list[tuple[int, int]] | None:
    """Byte ranges of the top-level statements that contain `offsets`, or None (parse all)."""
    head = data[:data.find(b"\n", data.find(b"\n") + 1) + 1] if b"\n" in data else data
    lexemes, statement_start, continues, coding = _patterns()
    cookie = coding.search(head)
    if cookie and cookie.group(1).lower().replace(b"_", b"-") not in (b"utf-8", b"utf8"):
        return None  # a chunk would lose the encoding declaration
    inside: list[tuple[int, int]] = []  # spans in which a line start is not a statement start
    for match in lexemes.finditer(data):
        start, end = match.span()
        if data[start] == _BACKSLASH:  # a continuation: the next line continues this one
            inside.append((start, end + 1))
        elif end - start > 2 and data.find(b"\n", start, end) >= 0:
            inside.append((start, end))
    span_starts = [s for s, _ in inside]
    starts = []
    in_decorator = False
    for match in statement_start.finditer(data):
        at = match.start()
        i = bisect.bisect_right(span_starts, at) - 1
        if i >= 0 and at < inside[i][1]:
            continue  # inside a string, or a continued line
        if continues.match(data, at):
            continue  # else/elif/except/finally belong to the statement above
        if not in_decorator:
            starts.append(at)
        in_decorator = data[at] == _AT  # the decorated statement follows
    ranges: list[tuple[int, int]] = []
    for offset in offsets:
        i = bisect.bisect_right(starts, offset) - 1
        start = starts[i] if i >= 0 else 0
        end = starts[i + 1] if i + 1 < len(starts) else len(data)
        if ranges and start < ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((start, end))
    return ranges


# -- the visitor -----------------------------------------------------------------------------

# Context: (enclosing class names, reason the site is invisible or None, conditions)
_Context = tuple[tuple[str, ...], "str | None", tuple[str, ...]]
_TOP: _Context = ((), None, ())

_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _describe(node: ast.AST | None) -> str:
    """What a non-literal registration name is, in a few words."""
    if isinstance(node, ast.JoinedStr):
        return "f-string"
    if isinstance(node, ast.Name):
        return f"variable {node.id!r}"
    if isinstance(node, ast.Attribute):
        return f"attribute {_dotted(node) or node.attr!r}"
    if isinstance(node, ast.Call):
        func = _dotted(node.func)
        return f"call to {func}()" if func else "call"
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Add):
            return "concatenation"
        if isinstance(node.op, ast.Mod):
            return "%-formatting"
        return "expression"
    if isinstance(node, ast.Subscript):
        return "subscript"
    if isinstance(node, ast.Starred):
        return "*args"
    if isinstance(node, ast.Constant):
        return f"{type(node.value).__name__} constant"
    return type(node).__name__.lower() if node is not None else "missing"


def _jsonable(value, depth: int = 0):
    """(True, value with tuples as lists) for JSON literals, else (False, None)."""
    if depth > 20:
        return False, None
    if value is None or isinstance(value, (bool, int, str)):
        return True, value
    if isinstance(value, float):
        return math.isfinite(value), value
    if isinstance(value, (list, tuple)):
        items = []
        for item in value:
            ok, item = _jsonable(item, depth + 1)
            if not ok:
                return False, None
            items.append(item)
        return True, items
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            ok, item = _jsonable(item, depth + 1)
            if not ok or not isinstance(key, str):
                return False, None
            out[key] = item
        return True, out
    return False, None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _is_main_guard(test: ast.expr) -> bool:
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = (test.left, test.comparators[0])
    return any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides) and \
        any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides)


class _Visitor:
    """Walks only the statements and expressions that span a candidate line."""

    def __init__(self, matcher: Matcher, exact: frozenset[str], last: frozenset[str],
                 module: str, file: str, lines: list[int],
                 not_registries: frozenset[str] = frozenset()) -> None:
        self.matcher = matcher
        self.not_registries = not_registries
        self.exact = exact
        self.last = last
        self.module = module
        self.file = file
        self.lines = lines
        self.entries: list[Entry] = []
        self.warnings: list[IndexWarning] = []
        self.functions: list[str] = []  # names of the enclosing functions
        self.forwarders = frozenset(c.rpartition(".")[2] for c in matcher.callables)

    def touches(self, first: int, last: int) -> bool:
        i = bisect.bisect_left(self.lines, first)
        return i < len(self.lines) and self.lines[i] <= last

    def matches(self, func: ast.AST) -> bool:
        dotted = _dotted(func)
        if dotted is None or dotted.partition(".")[0] in self.not_registries:
            return False
        return dotted in self.exact or dotted.rpartition(".")[2] in self.last

    # statements

    def body(self, statements: list[ast.stmt], ctx: _Context) -> None:
        for statement in statements:
            first = statement.lineno
            decorators = getattr(statement, "decorator_list", None)
            if decorators:
                first = min(first, min(d.lineno for d in decorators))
            if self.touches(first, statement.end_lineno or statement.lineno):
                self.statement(statement, ctx)

    def statement(self, node: ast.stmt, ctx: _Context) -> None:
        classes, blocked, conditions = ctx
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for decorator in node.decorator_list:
                self.decorator(decorator, node, ctx)
            if isinstance(node, ast.ClassDef):
                for expr in (*node.bases, *node.keywords):
                    self.expr(expr, ctx)
                self.body(node.body, (classes + (node.name,), blocked, conditions))
            else:
                self.expr(node.args, ctx)
                inner = blocked or f"inside function {node.name!r}: runs only when it is called"
                self.functions.append(node.name)
                try:
                    self.body(node.body, (classes, inner, conditions))
                finally:
                    self.functions.pop()
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.While)):
            self.expr(node.iter if not isinstance(node, ast.While) else node.test, ctx)
            inner = (classes, blocked or "inside a loop: not visible statically", conditions)
            self.body(node.body, inner)
            self.body(node.orelse, inner)
        elif isinstance(node, ast.If):
            self.expr(node.test, ctx)
            if _is_type_checking(node.test):
                self.body(node.body, (classes, blocked or "under 'if TYPE_CHECKING': never runs",
                                      conditions))
                self.body(node.orelse, ctx)
            elif _is_main_guard(node.test):
                self.body(node.body, (classes, blocked or "under 'if __name__ == \"__main__\"':"
                                      " runs only when the file is run as a script", conditions))
                self.body(node.orelse, ctx)
            else:
                inner = (classes, blocked, conditions + ("if",))
                self.body(node.body, inner)
                self.body(node.orelse, inner)
        elif isinstance(node, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            inner = (classes, blocked, conditions + ("try",))
            self.body(node.body, inner)
            for handler in node.handlers:
                if handler.type is not None:
                    self.expr(handler.type, inner)
                self.body(handler.body, inner)
            self.body(node.orelse, inner)
            self.body(node.finalbody, ctx)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                self.expr(item, ctx)
            self.body(node.body, (classes, blocked, conditions + ("with",)))
        elif isinstance(node, ast.Match):
            self.expr(node.subject, ctx)
            for case in node.cases:
                self.body(case.body, (classes, blocked, conditions + ("match",)))
        else:
            for _, value in ast.iter_fields(node):
                if isinstance(value, list):
                    if value and isinstance(value[0], ast.stmt):  # a future compound statement
                        kind = type(node).__name__.lower()
                        self.body(value, (classes, blocked, conditions + (kind,)))
                    else:
                        for item in value:
                            if isinstance(item, ast.AST):
                                self.expr(item, ctx)
                elif isinstance(value, ast.AST):
                    self.expr(value, ctx)

    def decorator(self, node: ast.expr, target: ast.stmt, ctx: _Context) -> None:
        if isinstance(node, ast.Call) and self.matches(node.func):
            qualname = ".".join(ctx[0] + (target.name,))  # type: ignore[attr-defined]
            self.site(node, ctx, qualname)
            self.arguments(node, ctx)
        elif isinstance(node, (ast.Name, ast.Attribute)) and self.matches(node):
            self.invisible(node.lineno, ctx, None, "missing", f"bare decorator @{_dotted(node)}")
        else:
            self.expr(node, ctx)

    # expressions

    def expr(self, root: ast.AST, ctx: _Context) -> None:
        stack = [(root, ctx)]
        while stack:
            node, context = stack.pop()
            first = getattr(node, "lineno", None)
            if first is not None and not self.touches(first,
                                                      getattr(node, "end_lineno", None) or first):
                continue
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Call) and self.matches(func.func):
                    # register("name")(obj)
                    obj = _dotted(node.args[0]) if node.args else None
                    self.site(func, context, obj)
                    stack.extend((child, context) for child in self.children(func))
                    stack.extend((child, context) for child in self.children(node))
                    continue
                if self.matches(func):
                    # reg.register("name", obj), or a factory call reg.register("name")
                    obj = self.object_arg(node)
                    self.site(node, context, None if obj is None else _dotted(obj))
                    stack.extend((child, context) for child in self.children(node))
                    continue
            if isinstance(node, ast.Lambda):
                stack.append((node.args, context))
                stack.append((node.body, (context[0], context[1] or "inside a lambda: runs only "
                                          "when it is called", context[2])))
                continue
            if isinstance(node, _COMPREHENSIONS):
                inner = (context[0], context[1] or "inside a comprehension: not visible "
                         "statically", context[2])
                stack.extend((child, inner) for child in ast.iter_child_nodes(node))
                continue
            stack.extend((child, context) for child in ast.iter_child_nodes(node))

    @staticmethod
    def children(call: ast.Call) -> list[ast.AST]:
        return [*call.args, *call.keywords]

    def arguments(self, call: ast.Call, ctx: _Context) -> None:
        for child in self.children(call):
            self.expr(child, ctx)

    def object_arg(self, call: ast.Call) -> ast.expr | None:
        key = self.matcher.key
        for position, arg in enumerate(call.args):
            if isinstance(arg, ast.Starred):
                return None
            if position != key:
                return arg
        return None

    def key_node(self, call: ast.Call) -> tuple[ast.expr | None, str]:
        key = self.matcher.key
        if isinstance(key, int):
            for arg in call.args[:key + 1]:
                if isinstance(arg, ast.Starred):
                    return arg, ""
            if len(call.args) > key:
                return call.args[key], ""
            return None, f"no positional argument {key}"
        for keyword in call.keywords:
            if keyword.arg == key:
                return keyword.value, ""
        if any(keyword.arg is None for keyword in call.keywords):
            return None, f"keyword {key!r} may come from **kwargs"
        return None, f"no keyword argument {key!r}"

    def metadata(self, call: ast.Call) -> dict:
        kept = {}
        for keyword in call.keywords:
            if keyword.arg in self.matcher.keep:
                try:
                    value = ast.literal_eval(keyword.value)
                except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                    continue
                ok, value = _jsonable(value)
                if ok:
                    kept[keyword.arg] = value
        return kept

    def site(self, call: ast.Call, ctx: _Context, qualname: str | None) -> None:
        node, missing = self.key_node(call)
        name = node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) \
            else None
        if name is None:
            if node is None:
                self.invisible(call.lineno, ctx, None, "missing", missing)
            else:
                self.invisible(call.lineno, ctx, None, "not a literal", _describe(node))
            return
        if ctx[1] is not None:
            self.invisible(call.lineno, ctx, name, "", "")
            return
        self.entries.append(Entry(name, self.module, qualname, self.file, call.lineno,
                                  self.metadata(call)))
        if ctx[2]:
            kinds = ", ".join(dict.fromkeys(ctx[2]))
            self.warn(call.lineno, f"registration of {name!r} under a condition ({kinds}): "
                      f"may not run")

    def invisible(self, line: int, ctx: _Context, name: str | None, problem: str,
                  detail: str) -> None:
        """A site that yields no entry: an invisible context, or a name that is no literal.

        Silent for a non-literal name inside a function named like a registering callable:
        that is the callable's own implementation forwarding its argument (``def
        register(name): ... registry.register(name, obj)``), not a registration.
        """
        if name is None and self.forwarders.intersection(self.functions):
            return
        blocked = ctx[1]
        if blocked is None:
            self.warn(line, f"registration name is {problem} ({detail})")
        elif name is not None:
            self.warn(line, f"registration of {name!r} {blocked}")
        else:
            self.warn(line, f"registration {blocked} (name is {problem}: {detail})")

    def warn(self, line: int, message: str) -> None:
        self.warnings.append(IndexWarning(self.file, line, self.module, message))


# -- cache payload -> objects -----------------------------------------------------------------

def _entry_from(item: dict, name: str) -> Entry:
    if not isinstance(item, dict) or item["name"] != name:
        raise ValueError("malformed entry")
    module, qualname, file, line, metadata = (item["module"], item["qualname"], item["file"],
                                              item["line"], item["metadata"])
    if not (isinstance(module, str) and isinstance(file, str) and isinstance(line, int)
            and (qualname is None or isinstance(qualname, str)) and isinstance(metadata, dict)):
        raise ValueError("malformed entry")
    return Entry(name, module, qualname, file, line, metadata)


def _warning_from(item: dict) -> IndexWarning:
    if not isinstance(item, dict):
        raise ValueError("malformed warning")
    file, line, module, message = item["file"], item["line"], item["module"], item["message"]
    if not (isinstance(file, str) and isinstance(line, int) and isinstance(module, str)
            and isinstance(message, str)):
        raise ValueError("malformed warning")
    return IndexWarning(file, line, module, message)
