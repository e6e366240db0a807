"""Which modules a program codemod's equivalence check can see, so `fix --verify` takes the
check only on the trials that can change what it compares.

The check (`HelpCheck`: every help path; `CallerNameCheck`: the names a helper returns) runs
the real program, one start per help path per trial: on a CLI with 52 help paths that is
most of a trial's time, and bisection repeats it. A trial changes what the check compares
only by changing a module the program can import. That set is read from the sources: from
the modules the codemod's changes are in (and, for lazy subcommands, the modules they
load), along every import statement of the project's files (at any depth: a function the
program runs may import too), with their packages. Where the sources can import what no
statement names (`importlib.import_module`, `__import__`, entry points, `exec`), the set is
not known: `check_scope` says so (None) and the check runs on every trial.
"""

from __future__ import annotations

import ast
import os

from ..audit.graph import parents
from ..audit.model import AuditReport
from .plan import Change

__all__ = ["check_scope"]

#: Calls that import what no statement names.
_DYNAMIC = {"import_module", "__import__", "entry_points", "load_entry_point", "exec",
            "run_module", "run_path", "iter_entry_points"}


def check_scope(report: AuditReport, changes: list[Change]) -> set[str] | None:
    """The project modules the program of `changes` (one codemod's) can import, or None when
    the sources do not say (a dynamic import on the way)."""
    files: dict[str, str] = {}  # module -> its file's absolute path
    for site in report.sites:
        path = report.paths.get(site.file)
        if path is not None:
            files.setdefault(site.module, path)
    for change in changes:
        files.setdefault(change.site.module, change.path)
    start = set()
    for change in changes:
        start.add(change.site.module)
        target = (getattr(change.site, "data", None) or {}).get("target")
        if isinstance(target, str) and target:
            start.add(target.partition(":")[0])
    seen: set[str] = set()
    stack = [p for module in start for p in parents(module)]
    while stack:
        module = stack.pop()
        if module in seen:
            continue
        seen.add(module)
        path = files.get(module)
        if path is None:
            continue  # not a project file with imports (or not the project's)
        found = _imports(module, path)
        if found is None:
            return None
        for star in [n[:-2] for n in found if n.endswith(".*")]:  # its __all__ may load any
            found.update(m for m in files if m.startswith(star + "."))
        for name in found:
            stack.extend(p for p in parents(name) if p not in seen)
    return seen


def _imports(module: str, path: str) -> set[str] | None:
    """Every module an import statement of the file may import (`from a import b`: a and
    a.b; `from a import *`: "a.*"), or None when it imports dynamically or cannot be read."""
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return None
    package = module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                keep = len(parts) - (node.level - 1)
                if keep < 0:
                    return None
                base = ".".join(parts[:keep] + ([base] if base else []))
            if base:
                found.add(base)
            found.update(f"{base}.{a.name}" if base else a.name for a in node.names)
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else \
                func.attr if isinstance(func, ast.Attribute) else None
            if name in _DYNAMIC:
                return None
    return found
