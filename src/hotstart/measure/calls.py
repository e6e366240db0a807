"""Hot calls: what module-level code called while imports were running, and what it cost.

The tracer's profiling run records a call profile restricted to the import phase. Most of it
is the import machinery itself (finders, `exec` of module bodies, `marshal.loads`), which the
module tree already accounts for. What is left starts with a call made by a module's top-level
code or a class statement: a logger factory that runs `inspect.stack()`, a `re.compile` of a
large pattern, a registry built eagerly. That is a cost that is a *call*, not an import.

The view is top-down: each hot call is a function called from module level, with the time
that came through those calls, the modules that made them, and the callees where the time
went (so `get_logger` is listed, and `inspect.stack` is named as where it spends its time,
instead of a flat list of every helper underneath).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from .model import CallLink, HotCall

__all__ = ["hot_calls"]

_MACHINERY_FILES = ("<frozen importlib", "<frozen zipimport")
_IMPORTLIB_INIT = ("importlib/__init__.py", "importlib\\__init__.py")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_DUNDER = re.compile(r"(^|\.)__\w+__$")
_BUILD_CLASS = "<built-in method builtins.__build_class__>"
_EXEC = "<built-in method builtins.exec>"

Key = tuple[str, int, str]


def hot_calls(rows: Iterable[dict[str, Any]], tracer_file: str | None,
              module_files: dict[str, str], search_path: Sequence[str] = (),
              limit: int = 30, min_us: float = 100.0) -> list[HotCall]:
    """Functions called by module-level code during imports, ranked by their own cost.

    `rows` are the tracer's call records (times in seconds); `module_files` maps source files
    to module names (others are named from `search_path`) so that callers read as modules.
    """
    rows = list(rows)
    roots = sorted((p.rstrip("/\\") for p in search_path if p), key=len, reverse=True)
    names: dict[str, str] = {}

    def module_of(filename: str) -> str:
        name = names.get(filename)
        if name is None:
            name = names[filename] = (module_files.get(filename)
                                      or _module_from_path(filename, roots))
        return name

    def machinery(key: Key) -> bool:
        filename = key[0]
        return (filename.startswith(_MACHINERY_FILES) or filename == tracer_file
                or filename.endswith(_IMPORTLIB_INIT) or key[2] == _EXEC)

    def label(key: Key) -> str:
        filename, _, name = key
        if filename == "~":
            return _ADDRESS.sub("", name)
        module = module_of(filename)
        return module if name == "<module>" else f"{module}:{name}"

    # Class bodies are the code objects `__build_class__` runs; calls made from them are
    # module-level calls too (a class statement runs at import).
    # Metaclass hooks (`__new__`, `__init_subclass__`, ...) are called by it too: they are
    # callees of the class statement, not bodies.
    class_bodies = {
        tuple(row["function"]) for row in rows
        if any(tuple(c[0])[2] == _BUILD_CLASS for c in row["callers"])
        and not _DUNDER.search(row["function"][2])
    }

    def module_level(key: Key) -> bool:
        return key[2] == "<module>" or key in class_bodies or key[2] == _BUILD_CLASS

    out: list[HotCall] = []
    for row in rows:
        key: Key = tuple(row["function"])  # type: ignore[assignment]
        if machinery(key) or module_level(key) or not row["total"]:
            continue
        entries = [(tuple(c[0]), c[1], c[2]) for c in row["callers"]
                   if module_level(tuple(c[0]))]  # type: ignore[arg-type]
        if not entries:
            continue
        cumulative = sum(c[2] for c in entries)
        share = min(1.0, cumulative / row["total"])
        callees = [(tuple(c[0]), c[1], c[2]) for c in row["callees"]]
        imports = sum(t for k, _, t in callees if machinery(k))  # type: ignore[arg-type]
        call = HotCall(
            function=label(key),
            file=None if key[0] == "~" else key[0],
            line=key[1] or None,
            calls=sum(c[1] for c in entries),
            self_us=row["self"] * share * 1e6,
            cumulative_us=cumulative * 1e6,
            imports_us=imports * share * 1e6,
            callers=[
                CallLink("(class statements)" if k[2] == _BUILD_CLASS else label(k),  # type: ignore[index]
                         None if k[0] == "~" else k[0], k[1] or None, n, t * 1e6)  # type: ignore[index]
                for k, n, t in sorted(entries, key=lambda c: -c[2])
            ],
            callees=[
                CallLink(label(k), None if k[0] == "~" else k[0], k[1] or None,  # type: ignore[index]
                         n, t * share * 1e6)
                for k, n, t in sorted(callees, key=lambda c: -c[2])
                if not machinery(k)  # type: ignore[arg-type]
            ][:5],
        )
        if call.own_us >= min_us:
            out.append(call)
    out.sort(key=lambda h: -h.own_us)
    return out[:limit]


def _module_from_path(filename: str, roots: Sequence[str]) -> str:
    """`<root>/pkg/sub/mod.py` -> `pkg.sub.mod`, relative to the longest matching root."""
    normal = filename.replace("\\", "/")
    if normal.startswith("<frozen "):
        return normal[len("<frozen "):].rstrip(">")
    for root in roots:
        root = root.replace("\\", "/")
        if normal.startswith(root + "/"):
            parts = normal[len(root) + 1:].split("/")
            break
    else:
        parts = normal.rsplit("/", 1)[-1:]
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)
