"""Where the project's code is imported from: the `sys.path` entries its tests and scripts
really use, so that modules are named as the tests see them (`entrypoint.restoration`, not
`workers.x.entrypoint.restoration`).

Read, never run: pytest's configuration (`pythonpath`, `--import-mode`), pytest's default
"prepend" import mode (each test file and `conftest.py` puts the first directory upward
without an `__init__.py` on `sys.path`), `sys.path.insert/append/extend` and
`site.addsitedir` calls whose argument can be computed from `__file__` and constants, and the
directories of scripts run directly (a script's directory is `sys.path[0]`).
"""

from __future__ import annotations

import ast
import configparser
import os
import re

from ._project import _regular
from ._scan import dotted

__all__ = ["is_script", "prepend_root", "pytest_config", "sys_path_roots"]

_MAIN_GUARD = re.compile(rb"""__name__\s*==\s*['"]__main__['"]""")


def pytest_config(start: str, stop: str | None = None) -> tuple[str, list[str], bool]:
    """(rootdir, `pythonpath` directories, whether tests are imported with
    `--import-mode=importlib`) from the first pytest configuration found in `start` or above
    (up to `stop`, or a directory holding `.git`; `--rootdir` in its `addopts` is honoured).
    Without one the rootdir is `start`."""
    directory = os.path.abspath(start)
    while True:
        found = _read_config(directory)
        if found is not None:
            paths, addopts = found
            importlib_mode = bool(re.search(r"--import-mode[= ]+importlib", addopts))
            rootdir = re.search(r"--rootdir[= ]+(\S+)", addopts)
            return (os.path.normpath(os.path.join(directory, rootdir.group(1))) if rootdir
                    else directory,
                    [os.path.normpath(os.path.join(directory, p)) for p in paths],
                    importlib_mode)
        parent = os.path.dirname(directory)
        if (parent == directory or directory == stop
                or os.path.exists(os.path.join(directory, ".git"))):
            return os.path.abspath(start), [], False
        directory = parent


def _read_config(directory: str) -> tuple[list[str], str] | None:
    pyproject = os.path.join(directory, "pyproject.toml")
    if _regular(pyproject):
        import tomllib

        try:
            with open(pyproject, "rb") as handle:
                data = tomllib.load(handle)
        except (OSError, ValueError):
            data = {}
        options = data.get("tool", {}).get("pytest", {}).get("ini_options")
        if isinstance(options, dict):
            paths = options.get("pythonpath", [])
            paths = paths.split() if isinstance(paths, str) else paths
            addopts = options.get("addopts", "")
            addopts = " ".join(addopts) if isinstance(addopts, list) else str(addopts)
            return [p for p in paths if isinstance(p, str)], addopts
    for name, section in (("pytest.ini", "pytest"), (".pytest.ini", "pytest"),
                          ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = os.path.join(directory, name)
        if not _regular(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            with open(path, encoding="utf-8") as handle:
                parser.read_file(handle)
        except (OSError, UnicodeDecodeError, configparser.Error):
            continue
        if parser.has_section(section):
            return (parser.get(section, "pythonpath", fallback="").split(),
                    parser.get(section, "addopts", fallback=""))
        if name in ("pytest.ini", ".pytest.ini"):  # pytest.ini marks the rootdir even empty
            return [], ""
    return None


def prepend_root(path: str) -> str:
    """The directory pytest's "prepend" import mode puts on `sys.path` for the test file or
    `conftest.py` at `path`: the first directory upward without an `__init__.py`."""
    directory = os.path.dirname(path)
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    return directory


def is_script(raw: bytes) -> bool:
    """Whether a file is run directly: a `__main__` guard or a shebang line."""
    return raw.startswith(b"#!") or _MAIN_GUARD.search(raw) is not None


_PATH_CALL = re.compile(
    rb"(?<![\w.])(sys\.path\.(?:insert|append|extend)|(?:site\.)?addsitedir)[ \t]*\(")
_ASSIGNMENT = re.compile(rb"^([A-Za-z_]\w*)[ \t]*(?::[^=\n]*)?=[ \t]*([^\n#]+)", re.MULTILINE)


def sys_path_roots(raw: bytes, path: str, cwd: str) -> list[str]:
    """Directories the file at `path` adds to `sys.path` with arguments computable from
    `__file__`, constants (relative to `cwd`, where the tests run) and module-level names
    assigned from those on one line. Only the calls and those assignments are parsed (a test
    suite is most of a project's source)."""
    if b"sys.path." not in raw and b"addsitedir" not in raw:  # the fast common case
        return []
    calls = list(_PATH_CALL.finditer(raw))
    if not calls:
        return []
    values: dict[str, str] = {}
    evaluate = _Evaluator(path, cwd, values)
    for match in _ASSIGNMENT.finditer(raw):
        node = _parse(match.group(2))
        value = evaluate(node) if node is not None else None
        if value is not None:
            values[match.group(1).decode()] = value
    out: list[str] = []
    for match in calls:
        node = _parse(match.group(1) + _balanced(raw, match.end() - 1))
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func) or ""
        arguments: list[ast.expr] = []
        if name == "sys.path.insert" and len(node.args) == 2:
            arguments = [node.args[1]]
        elif name in ("sys.path.append", "site.addsitedir", "addsitedir") and \
                len(node.args) == 1:
            arguments = [node.args[0]]
        elif name == "sys.path.extend" and len(node.args) == 1 and \
                isinstance(node.args[0], (ast.List, ast.Tuple)):
            arguments = list(node.args[0].elts)
        for argument in arguments:
            value = evaluate(argument)
            if value is not None:
                out.append(os.path.normpath(value))
    return out


def _balanced(raw: bytes, start: int, limit: int = 2000) -> bytes:
    """`raw[start:]` up to the parenthesis closing the one at `start`."""
    depth = 0
    for index in range(start, min(len(raw), start + limit)):
        char = raw[index]
        if char == 40:    # (
            depth += 1
        elif char == 41:  # )
            depth -= 1
            if depth == 0:
                return raw[start:index + 1]
    return b""


def _parse(text: bytes) -> ast.expr | None:
    try:
        return ast.parse(text.decode("utf-8").strip(), mode="eval").body
    except (SyntaxError, ValueError, UnicodeDecodeError, RecursionError):
        return None


class _Evaluator:
    """Computes a path expression (`os.path.dirname(__file__)`,
    `Path(__file__).resolve().parent / "src"`, ...) or gives None."""

    _IDENTITY = frozenset({"os.path.abspath", "os.path.realpath", "os.path.normpath", "str",
                           "os.fspath", "Path", "pathlib.Path", "PurePath", "pathlib.PurePath",
                           "os.path.expanduser"})

    def __init__(self, path: str, cwd: str, names: dict[str, str]) -> None:
        self.path, self.cwd, self.names = path, cwd, names

    def __call__(self, node: ast.expr, depth: int = 0) -> str | None:
        if depth > 20:
            return None
        value = self._value(node, depth + 1)
        if value is None:
            return None
        return os.path.normpath(os.path.join(self.cwd, value))

    def _value(self, node: ast.expr, depth: int) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.path if node.id == "__file__" else self.names.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr == "parent":
            inner = self(node.value, depth)
            return os.path.dirname(inner) if inner is not None else None
        if (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                and node.value.attr == "parents" and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, int) and 0 <= node.slice.value < 50):
            inner = self(node.value.value, depth)
            for _ in range(node.slice.value + 1 if inner is not None else 0):
                inner = os.path.dirname(inner)
            return inner
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            left, right = self(node.left, depth), self._value(node.right, depth)
            return os.path.join(left, right) if left is not None and right is not None \
                else None
        if not isinstance(node, ast.Call) or node.keywords:
            return None
        name = dotted(node.func) or ""
        if name == "os.getcwd" and not node.args:
            return self.cwd
        if name == "os.path.dirname" and len(node.args) == 1:
            inner = self(node.args[0], depth)
            return os.path.dirname(inner) if inner is not None else None
        if name in self._IDENTITY and len(node.args) == 1:
            return self(node.args[0], depth)
        if name == "os.path.join" and node.args:
            parts = [self._value(a, depth) for a in node.args]
            if any(p is None for p in parts):
                return None
            return os.path.join(self(node.args[0], depth) or "", *parts[1:])
        if isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method in ("resolve", "absolute") and not node.args:
                return self(node.func.value, depth)
            if method == "joinpath" and node.args:
                base = self(node.func.value, depth)
                parts = [self._value(a, depth) for a in node.args]
                if base is None or any(p is None for p in parts):
                    return None
                return os.path.join(base, *parts)
        return None
