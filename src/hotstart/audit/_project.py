"""Find a project's modules on disk, and the source of modules it imports, without importing
anything (`importlib.machinery.PathFinder` walks `sys.path` the way the import system would).

Files are found without following anything hostile: only regular files are read (a FIFO
named `x.py` would block a reader forever), symlinks are followed only to regular files inside
the project, and what is skipped is reported, one line for all of it."""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field

from ..errors import BadInput

__all__ = ["Project", "find_project", "locate", "is_test_file", "read_source", "name_modules"]

_SKIP_DIRS = {"__pycache__", ".git", ".hg", ".tox", ".nox", ".venv", "venv", "build", "dist",
              "node_modules", ".mypy_cache", ".pytest_cache", ".eggs"}
_TEST_DIRS = ("tests", "test", "testing")


@dataclass(slots=True)
class SourceFile:
    module: str
    path: str        # absolute
    shown: str       # as reports show it
    is_package: bool
    test: bool
    #: Other names the module is imported under (another `sys.path` entry reaches it).
    aliases: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Project:
    root: str                  # directory module names are relative to
    shown_root: str            # how the user named it
    package: str | None        # top-level package, when the target is one
    files: list[SourceFile]
    search_path: list[str]     # what to prepend to sys.path to import the project
    #: The directory the project lives in: entry paths and pytest's rootdir are found there.
    directory: str = ""
    #: Further `sys.path` entries the tests and scripts use (see `name_modules`).
    roots: list[str] = field(default_factory=list)
    #: Files named `*.py` that were not read: "path (why)".
    skipped: list[str] = field(default_factory=list)

    def modules(self) -> dict[str, SourceFile]:
        return {f.module: f for f in self.files if not f.test}


def is_test_file(relative: str) -> bool:
    parts = relative.replace(os.sep, "/").split("/")
    name = parts[-1]
    return (any(p in _TEST_DIRS for p in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


def decode_source(raw: bytes) -> str:
    """Python source text as the interpreter reads it: a UTF-8 BOM or a PEP 263 coding
    cookie (`# -*- coding: latin-1 -*-`) decides the encoding; UTF-8 otherwise. Line
    endings are kept. `SyntaxError` for an unknown encoding, `UnicodeDecodeError` for bytes
    the encoding does not allow."""
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    return raw.decode(encoding)


def read_source(path: str) -> bytes:
    """The bytes of the regular file at `path`. Never blocks: a FIFO, socket or device raises
    OSError instead of being opened for reading."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    descriptor = os.open(path, flags)
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise OSError(0, "not a regular file")
        chunks = []
        while chunk := os.read(descriptor, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)


def find_project(target: str, tests: list[str] | None = None) -> Project:
    """`target`: a package directory, a source root, a project directory with `src/`, a `.py`
    file, or the name of an importable top-level package."""
    shown = target
    if not os.path.exists(target):
        if not target.replace(".", "_").isidentifier():
            raise BadInput(f"{target!r} is neither a file, a directory nor an importable package")
        spec_path = locate(target)
        if spec_path is None:
            raise BadInput(f"{target!r} is neither a file, a directory nor an importable "
                           f"package (looked in sys.path)")
        target = os.path.dirname(spec_path) if spec_path.endswith("__init__.py") else spec_path
    path = os.path.abspath(target)
    skipped: list[str] = []
    if not os.path.isdir(path) and not os.path.isfile(path):
        raise BadInput(f"{shown}: not a regular file or a directory")
    if os.path.isfile(path):
        if not path.endswith(".py"):
            raise BadInput(f"{shown}: not a Python source file (.py)")
        root = os.path.dirname(path)
        name = os.path.basename(path)[:-3]
        files = [SourceFile(name, path, shown, False, False)]
        return Project(root, shown, None, files, [root], directory=root)
    if os.path.isfile(os.path.join(path, "__init__.py")):
        root = os.path.dirname(path)
        package = os.path.basename(path)
        while os.path.isfile(os.path.join(root, "__init__.py")):  # a subpackage: find the top
            package = f"{os.path.basename(root)}.{package}"
            root = os.path.dirname(root)
        prefix = package
        walk_root = path
        directory = root
    else:
        root = directory = path
        src = os.path.join(path, "src")
        if os.path.isdir(src) and not os.path.isfile(os.path.join(path, "__init__.py")):
            root = src
        prefix, package, walk_root = "", None, root
        # A tests package is never the package under audit.
        tops = [d for d in sorted(os.listdir(root)) if d not in _TEST_DIRS
                and os.path.isfile(os.path.join(root, d, "__init__.py"))]
        if len(tops) == 1:
            package = tops[0]
    files = list(_walk(walk_root, prefix, path, shown, skipped))
    # Tests beside src/ (a project directory), or beside the package (or its src/) when the
    # target is a package directory: they may patch its names.
    homes = [path] if root != path and not prefix else []
    if prefix:
        homes = [root] + ([os.path.dirname(root)] if os.path.basename(root) == "src" else [])
    for home in homes:
        shown_home = os.path.normpath(os.path.join(shown, os.path.relpath(home, path)))
        for extra in _TEST_DIRS[:2]:
            test_dir = os.path.join(home, extra)
            if os.path.isdir(test_dir):
                files.extend(_walk(test_dir, extra, home, shown_home, skipped, test=True))
    for extra in tests or ():
        if not os.path.exists(extra):
            raise BadInput(f"--tests {extra!r}: no such file or directory")
        extra_path = os.path.abspath(extra)
        if os.path.isfile(extra_path):
            files.append(SourceFile(os.path.basename(extra_path)[:-3], extra_path, extra, False,
                                    True))
        elif os.path.isdir(extra_path):
            files.extend(_walk(extra_path, "", extra_path, extra, skipped, test=True))
        else:
            raise BadInput(f"--tests {extra!r}: not a regular file or a directory")
    files = _one_per_file(files, skipped)
    if not any(not f.test for f in files):
        raise BadInput(f"{shown}: no Python modules found")
    return Project(root, shown, package, files, [root], directory=directory, skipped=skipped)


def _one_per_file(files: list[SourceFile], skipped: list[str]) -> list[SourceFile]:
    """A file reached through a symlink too is audited once, under its own path: two
    rewrites of one file would overwrite each other."""
    if not any(os.path.islink(f.path) for f in files):
        return files
    real = {os.path.realpath(f.path): f for f in files if not os.path.islink(f.path)}
    out = []
    for source_file in files:
        target = real.get(os.path.realpath(source_file.path))
        if target is not None and target is not source_file:
            skipped.append(f"{source_file.shown} (symlink to {target.shown}, audited there)")
            continue
        out.append(source_file)
    return out


def _walk(directory: str, prefix: str, base: str, shown_base: str, skipped: list[str],
          test: bool = False):
    inside = os.path.realpath(base) + os.sep
    # os.walk does not follow symlinked directories: no loop, nothing outside the project.
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        relative_dir = os.path.relpath(current, directory)
        parts = [] if relative_dir == "." else relative_dir.split(os.sep)
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(current, name)
            relative = os.path.relpath(path, base)
            shown = os.path.join(shown_base, relative) if shown_base not in ("", ".") \
                else relative
            why = _not_readable(path, inside)
            if why:
                skipped.append(f"{os.path.normpath(shown)} ({why})")
                continue
            stem = name[:-3]
            module_parts = ([prefix] if prefix else []) + parts + \
                ([] if stem == "__init__" else [stem])
            module = ".".join(p for p in module_parts if p)
            yield SourceFile(module or stem, path, os.path.normpath(shown), stem == "__init__",
                             test or is_test_file(os.path.join(*(parts or ["."]), name)))


def _not_readable(path: str, inside: str) -> str:
    """Why the file at `path` is not read ("" if it is a regular file, or a symlink to one
    inside the project)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return exc.strerror or "cannot stat"
    if stat.S_ISLNK(mode):
        try:
            mode = os.stat(path).st_mode
        except OSError as exc:
            return "symlink loop" if exc.errno == 40 else "dangling symlink"
        if not (os.path.realpath(path) + os.sep).startswith(inside):
            return "symlink out of the project"
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def name_modules(project: Project, sources: dict[str, bytes],
                 scripts: list[str] = ()) -> dict[str, list[str]]:
    """Name each module as the tests and scripts import it, from the `sys.path` entries they
    really use (see `_roots`); `sources`: the bytes of each file read, by path; `scripts`:
    entry scripts (their directory is `sys.path[0]`). Returns every other name a module is
    reachable under -> its name in the audit."""
    from . import _roots

    rootdir, pythonpath, importlib_mode = _roots.pytest_config(project.directory)
    found: list[str] = list(pythonpath)
    for source_file in project.files:
        raw = sources.get(source_file.path)
        if raw is None:
            continue
        if source_file.test and not importlib_mode:
            found.append(_roots.prepend_root(source_file.path))
        found.extend(_roots.sys_path_roots(raw, source_file.path, rootdir))
        if not source_file.test and _roots.is_script(raw):
            found.append(os.path.dirname(source_file.path))
    found.extend(os.path.dirname(os.path.abspath(s)) for s in scripts)
    default = os.path.normpath(project.root)
    roots = [default] + sorted({os.path.normpath(r) for r in found} - {default},
                               key=lambda r: (-r.count(os.sep), r))
    project.roots = roots[1:]
    modules = [f for f in project.files if not f.test]
    default_names = {f.path: f.module for f in modules}
    candidates: dict[str, list[tuple[str, bool]]] = {}
    for source_file in modules:
        names = []
        for root in roots:
            name = _name_under(root, source_file)
            if name is not None and name not in (n for n, _ in names):
                primary_ok = not os.path.isfile(os.path.join(root, "__init__.py")) and \
                    name.split(".")[0] not in sys.stdlib_module_names
                names.append((name, primary_ok))
        candidates[source_file.path] = names
    chosen: dict[str, str] = {}
    for source_file in modules:
        deepest = next((n for n, ok in sorted(candidates[source_file.path],
                                              key=lambda c: c[0].count("."))
                        if ok), None)
        chosen[source_file.path] = deepest or default_names[source_file.path]
    while True:  # two modules under one name (two script directories with `main.py`): keep
        counts: dict[str, int] = {}  # their names relative to the project root
        for name in chosen.values():
            counts[name] = counts.get(name, 0) + 1
        clashes = [p for p, n in chosen.items() if counts[n] > 1 and n != default_names[p]]
        if not clashes:
            break
        for path in clashes:
            chosen[path] = default_names[path]
    aliases: dict[str, list[str]] = {}
    for source_file in modules:
        source_file.module = chosen[source_file.path]
        source_file.aliases = [n for n, _ in candidates[source_file.path]
                               if n != source_file.module]
        for name in source_file.aliases:
            aliases.setdefault(name, []).append(source_file.module)
    return aliases


def _name_under(root: str, source_file: SourceFile) -> str | None:
    prefix = root.rstrip(os.sep) + os.sep
    if not source_file.path.startswith(prefix):
        return None
    parts = source_file.path[len(prefix):-3].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    if not parts or not all(p.isidentifier() for p in parts):
        return None
    return ".".join(parts)


_located: dict[str, str | None] = {}


def locate(module: str, extra_path: list[str] | None = None) -> str | None:
    """The source file of `module` (its `__init__.py` for a package), found without importing
    it or its parents; None if it has no source or cannot be found."""
    key = module if not extra_path else f"{module}\0{os.pathsep.join(extra_path)}"
    if key in _located:
        return _located[key]
    from importlib.machinery import PathFinder

    path: list[str] | None = list(extra_path or []) + sys.path
    found = None
    spec = None
    for index, part in enumerate(module.split(".")):
        name = ".".join(module.split(".")[: index + 1])
        try:
            spec = PathFinder.find_spec(name, path)
            # A namespace path recomputes itself from its parent in sys.modules: KeyError
            # when that parent is not imported (hotstart imports nothing of the project).
            path = list(spec.submodule_search_locations or []) if spec is not None else []
        except (ImportError, ValueError, OSError, KeyError):
            spec = None
        if spec is None:
            break
    else:
        # (PathFinder only finds regular files: a FIFO named like a module is not found.)
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found = spec.origin
    _located[key] = found
    return found
