"""Hot calls: functions that burned time while imports were running.

The tracer's profiling run records a call profile restricted to the import phase. Most of it
is the import machinery itself (finders, `exec` of module bodies, `marshal.loads`), which the
module tree already accounts for. What is left, a function called by module code, is a cost
that is a *call* rather than an import: a logger factory calling `inspect.stack()` at module
level, a `re.compile` of a large pattern, a registry built eagerly.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Sequence

from .model import Caller, HotCall

__all__ = ["hot_calls"]

_MACHINERY_FILES = ("<frozen importlib", "<frozen zipimport")
_IMPORTLIB_INIT = ("importlib/__init__.py", "importlib\\__init__.py")

Key = tuple[str, int, str]


# Builtins whose time is the module's own body (class bodies) rather than a call worth naming.
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_BODY_BUILTINS = ("<built-in method builtins.__build_class__>", "<built-in method builtins.exec>")


def hot_calls(rows: Iterable[dict[str, Any]], tracer_file: str | None,
              module_files: dict[str, str], search_path: Sequence[str] = (),
              limit: int = 50, min_us: float = 100.0) -> list[HotCall]:
    """Rank the non-machinery functions of a call profile by their own cost.

    `rows` are the tracer's call records; `module_files` maps source files to module names
    (others are named from `search_path`), so that callers read as modules, not paths. A
    function called only from inside its own top-level package is an internal step of a
    call that is listed (`re.compile`, not `re._parser._parse`), so it is left out.
    """
    roots = sorted((p.rstrip("/\\") for p in search_path if p), key=len, reverse=True)
    names: dict[str, str] = {}

    def module_of(filename: str) -> str:
        name = names.get(filename)
        if name is None:
            name = module_files.get(filename) or _module_from_path(filename, roots)
            names[filename] = name
        return name

    def machinery(key: Key) -> bool:
        filename = key[0]
        return (filename.startswith(_MACHINERY_FILES) or filename == tracer_file
                or filename.endswith(_IMPORTLIB_INIT))

    def label(key: Key) -> str:
        filename, _, name = key
        if filename == "~":
            return _ADDRESS.sub("", name)  # "<built-in method __new__ of type object at 0x..>"
        module = module_of(filename)
        return f"{module}:{name}" if name != "<module>" else module

    def package(key: Key) -> str | None:
        return None if key[0] == "~" else module_of(key[0]).split(".")[0]

    out: list[HotCall] = []
    for row in rows:
        key: Key = tuple(row["function"])  # type: ignore[assignment]
        if machinery(key) or key[2] == "<module>" or key[2] in _BODY_BUILTINS:
            continue
        callers = [(tuple(c[0]), c[1], c[2]) for c in row["callers"]]
        attributable = [c for c in callers if not machinery(c[0])]  # type: ignore[arg-type]
        if not attributable or not row["total"]:
            continue
        own_package = package(key)
        if own_package is not None and all(
                c[0][2] != "<module>" and package(c[0]) == own_package  # type: ignore[index,arg-type]
                for c in attributable):
            continue
        cumulative = sum(c[2] for c in attributable)
        share = cumulative / row["total"] if row["total"] else 0.0
        imports = sum(t for callee, t in row["callees"] if machinery(tuple(callee)))
        call = HotCall(
            function=label(key),
            file=None if key[0] == "~" else key[0],
            line=key[1] or None,
            calls=sum(c[1] for c in attributable),
            self_us=row["self"] * share * 1e6,
            cumulative_us=cumulative * 1e6,
            imports_us=imports * share * 1e6,
            callers=[
                Caller(label(c[0]), None if c[0][0] == "~" else c[0][0], c[0][1] or None,  # type: ignore[index]
                       c[1], c[2] * 1e6)
                for c in sorted(attributable, key=lambda c: -c[2])
            ],
            module_level_callers=sorted(
                label(c[0]) for c in attributable if c[0][2] == "<module>"),  # type: ignore[index]
        )
        if call.own_us >= min_us:
            out.append(call)
    out.sort(key=lambda h: -h.own_us)
    return out[:limit]


def _module_from_path(filename: str, roots: Sequence[str]) -> str:
    """`/site-packages/pkg/sub/mod.py` -> `pkg.sub.mod`, relative to the longest root."""
    normal = filename.replace("\\", "/")
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
