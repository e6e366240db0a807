"""Helpers for the fix tests: write a project, fix it, run its code in a real interpreter,
and check that a second run changes nothing."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys
import textwrap

from conftest import write_tree

from hotstart.fix import FixResult, fix

#: Every target version hotstart supports.
VERSIONS = ("3.11", "3.12", "3.13", "3.14", "3.15")
_SKIP = {"__pycache__", ".pytest_cache"}


def make(base: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    """Write `files` under `base` (a fresh project directory) and return it."""
    base.mkdir(parents=True, exist_ok=True)
    return write_tree(base, files)


def snapshot(root: pathlib.Path) -> dict[str, bytes]:
    """Every file under `root` (but caches), by relative path, as bytes."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not _SKIP & set(path.relative_to(root).parts):
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


def run_python(root: pathlib.Path, code: str, timeout: float = 60) -> str:
    """Run `code` in a fresh interpreter with the project root on PYTHONPATH; it must exit 0.
    Returns its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("HOTSTART_EAGER", None)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def fix_and_write(root: pathlib.Path, target: str | None = None, **options) -> FixResult:
    """`fix(..., write=True)` on `root` (or `root / target`)."""
    return fix(str(root / target) if target else str(root), write=True, **options)


def assert_idempotent(root: pathlib.Path, target: str | None = None, **options) -> None:
    """Fixing the already fixed project again changes nothing: no change, an empty diff, and
    every file byte for byte as it was."""
    before = snapshot(root)
    again = fix_and_write(root, target, **options)
    assert again.diff() == ""
    assert again.files == []
    assert [c.id for c in again.changes] == []
    assert snapshot(root) == before


def top_level_imports(source: str) -> list[str]:
    """The names bound by the module-level import statements of `source`."""
    out = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out.extend(a.asname or a.name for a in node.names)
    return out


def function_body(source: str, qualname: str) -> list[ast.stmt]:
    """The body of the function `qualname` (`C.m`, `outer.inner`) of `source`."""
    body: list[ast.stmt] = ast.parse(source).body
    for part in qualname.split("."):
        node = next(n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef))
                    and n.name == part)
        body = node.body
    return body
