"""Text for `hotstart index` and `hotstart preload`: what a registry declares, what a spec needs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..registry.spec import PRELOAD_ENV
from ._format import printable_lines

if TYPE_CHECKING:
    from ..registry.index import Index
    from ..registry.spec import Preload

__all__ = ["render_index", "render_preload"]


def render_index(index: Index, target: str) -> str:
    names = index.names()
    cached = " (from cache)" if index.from_cache else ""
    lines = [f"{target}: {len(names)} registered name{'s' if len(names) != 1 else ''} in "
             f"{index.files_parsed} of {index.files_scanned} files{cached}"]
    width = max((len(n) for n in names), default=0)
    for name in names:
        for entry in index.lookup(name):
            what = f"{entry.module}:{entry.qualname}" if entry.qualname else entry.module
            lines.append(f"  {name:<{width}}  {what}  ({_short(entry.file)}:{entry.line})")
    if index.warnings:
        lines += ["", f"{len(index.warnings)} registration{'s' if len(index.warnings) != 1 else ''}"
                      " the scanner cannot see statically:"]
        lines += [f"  {_short(w.file)}:{w.line}: {w.message}" for w in index.warnings]
    return printable_lines(lines)  # names, paths and messages come from the scanned files


def render_preload(preload: Preload, spec: str, package: str) -> str:
    lines = [f"preload for {spec} (package {package}): {len(preload.modules)} "
             f"module{'s' if len(preload.modules) != 1 else ''}"]
    width = max((len(m) for m in preload.modules), default=0)
    for module in preload.modules:
        reasons = preload.required_by.get(module, [])
        lines.append(f"  {module:<{width}}  <- {', '.join(reasons)}")
    for use in preload.unknown:
        close = preload.suggestions.get(use.name)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        lines.append(f"  unknown type {use.name!r} at {use.path}{hint}")
    for path in preload.dynamic:
        lines.append(f"  dynamic type at {path}: not a literal name, so not preloaded")
    lines.append(f"{PRELOAD_ENV}={preload.env_value}")
    return printable_lines(lines)  # the spec's name and keys


def _short(path: str) -> str:
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return path
    return path if relative.startswith("..") else relative
