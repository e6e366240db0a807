"""Find a project's modules on disk, and the source of modules it imports, without importing
anything (`importlib.machinery.PathFinder` walks `sys.path` the way the import system would)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from ..errors import BadInput

__all__ = ["Project", "find_project", "locate", "is_test_file"]

_SKIP_DIRS = {"__pycache__", ".git", ".hg", ".tox", ".nox", ".venv", "venv", "build", "dist",
              "node_modules", ".mypy_cache", ".pytest_cache", ".eggs"}


@dataclass(slots=True)
class SourceFile:
    module: str
    path: str        # absolute
    shown: str       # as reports show it
    is_package: bool
    test: bool


@dataclass(slots=True)
class Project:
    root: str                  # directory module names are relative to
    shown_root: str            # how the user named it
    package: str | None        # top-level package, when the target is one
    files: list[SourceFile]
    search_path: list[str]     # what to prepend to sys.path to import the project

    def modules(self) -> dict[str, SourceFile]:
        return {f.module: f for f in self.files if not f.test}


def is_test_file(relative: str) -> bool:
    parts = relative.replace(os.sep, "/").split("/")
    name = parts[-1]
    return (any(p in ("tests", "test", "testing") for p in parts[:-1])
            or name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py")


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
    if os.path.isfile(path):
        if not path.endswith(".py"):
            raise BadInput(f"{shown}: not a Python source file (.py)")
        root = os.path.dirname(path)
        name = os.path.basename(path)[:-3]
        files = [SourceFile(name, path, shown, False, False)]
        return Project(root, shown, None, files, [root])
    if os.path.isfile(os.path.join(path, "__init__.py")):
        root = os.path.dirname(path)
        package = os.path.basename(path)
        while os.path.isfile(os.path.join(root, "__init__.py")):  # a subpackage: find the top
            package = f"{os.path.basename(root)}.{package}"
            root = os.path.dirname(root)
        prefix = package
        walk_root = path
    else:
        root = path
        src = os.path.join(path, "src")
        if os.path.isdir(src) and not os.path.isfile(os.path.join(path, "__init__.py")):
            root = src
        prefix, package, walk_root = "", None, root
        tops = [d for d in sorted(os.listdir(root))
                if os.path.isfile(os.path.join(root, d, "__init__.py"))]
        if len(tops) == 1:
            package = tops[0]
    files = list(_walk(walk_root, prefix, path, shown))
    if root != path:  # project directory with src/: its tests live beside src/
        for extra in ("tests", "test"):
            directory = os.path.join(path, extra)
            if os.path.isdir(directory):
                files.extend(_walk(directory, extra, path, shown, test=True))
    for extra in tests or ():
        if not os.path.exists(extra):
            raise BadInput(f"--tests {extra!r}: no such file or directory")
        directory = os.path.abspath(extra)
        if os.path.isfile(directory):
            files.append(SourceFile(os.path.basename(directory)[:-3], directory, extra, False,
                                    True))
        else:
            files.extend(_walk(directory, "", directory, extra, test=True))
    if not any(not f.test for f in files):
        raise BadInput(f"{shown}: no Python modules found")
    return Project(root, shown, package, files, [root])


def _walk(directory: str, prefix: str, base: str, shown_base: str,
          test: bool = False):
    for current, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        relative_dir = os.path.relpath(current, directory)
        parts = [] if relative_dir == "." else relative_dir.split(os.sep)
        for name in sorted(names):
            if not name.endswith(".py"):
                continue
            path = os.path.join(current, name)
            stem = name[:-3]
            module_parts = ([prefix] if prefix else []) + parts + \
                ([] if stem == "__init__" else [stem])
            module = ".".join(p for p in module_parts if p)
            relative = os.path.relpath(path, base)
            shown = os.path.join(shown_base, relative) if shown_base not in ("", ".") \
                else relative
            yield SourceFile(module or stem, path, os.path.normpath(shown), stem == "__init__",
                             test or is_test_file(os.path.join(*(parts or ["."]), name)))


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
        except (ImportError, ValueError, OSError):
            spec = None
        if spec is None:
            break
        path = list(spec.submodule_search_locations or [])
    else:
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            found = spec.origin
    _located[key] = found
    return found
