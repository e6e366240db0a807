"""Lazy re-exports and the statements that read their names.

A package `__init__` import that becomes a lazy re-export (`lazy-init`: PEP 562
`__getattr__`) takes its module off the path only if nothing on the path reads one of its
names at import: `from package import name` run at module level makes the `__getattr__` load
the module at once. So:

- the joint plan (`_groups`) adds to each entry's observed graph an edge from each such
  reader to the module its name comes from (`with_lazy_reads`), and plans the reading names
  of a statement whose other names stay as a unit of their own (`lazy_read_unit`): moved into
  their functions, with the load left in place where loading has effects (`move-keep-load`);
- once planned, `star_pinned` checks every lazy re-export against the readers the plan keeps
  on the path (and `from package import *`, which reads every name of `__all__`).
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict

from ..audit.model import AuditReport, Entry, ImportSite
from ..audit.savings import EDGE, ObservedGraph, site_keys
from .plan import Change

__all__ = ["lazy_read_unit", "lazy_reexports", "pins", "star_pinned", "with_lazy_reads"]


def lazy_reexports(candidates: list[Change]) -> dict[tuple[str, str], str]:
    """(package, name) -> the module whose load reading `package.name` causes, for every
    name a planned change re-exports lazily (`lazy-init`, `move-lazy-init`)."""
    found: dict[tuple[str, str], str] = {}
    for change in candidates:
        site = change.site
        if change.action not in ("lazy-init", "move-lazy-init"):
            continue
        for bound in site.names:
            if change.action == "move-lazy-init":
                module = bound.target.rpartition(".")[0]
            elif site.imported == site.module or bound.is_module:
                module = bound.target  # a submodule
            else:
                module = site.imported
            found[(site.module, bound.name)] = module
    return found


def with_lazy_reads(graphs: list[tuple[Entry, ObservedGraph]],
                     reexports: dict[tuple[str, str], str]
                     ) -> list[tuple[Entry, ObservedGraph]]:
    """Each graph with the edges the lazy re-exports would add: a `from package import name`
    that ran on the path loads, once `name` is re-exported lazily, the module `name` comes
    from, at that statement (`from package import *` reads them all). Today those modules
    load anyway (the package imports them), so these edges change nothing until the plan
    takes the package's own import of them away: then the module leaves only with every
    statement that reads one of its names (`lazy_read_unit`)."""
    if not reexports:
        return graphs
    by_package: dict[str, dict[str, str]] = defaultdict(dict)
    for (package, name), module in reexports.items():
        by_package[package][name] = module
    cache: dict[str, dict[int, ast.ImportFrom]] = {}
    out = []
    for entry, graph in graphs:
        extra: list[tuple[str, str, str]] = []
        for package, names in by_package.items():
            for importer, key, node in _from_imports(graph, package, cache, True):
                read = [a.name for a in node.names]
                modules = names.values() if read == ["*"] else \
                    [names[n] for n in read if n in names]
                extra.extend((importer, module, key) for module in dict.fromkeys(modules))
        out.append((entry, graph.with_edges(extra) if extra else graph))
    return out


def lazy_read_unit(report: AuditReport, changes: list[Change], parts: list,
                    reexports: dict[tuple[str, str], str]) -> tuple[list[Change], set[str]]:
    """The planned parts of a `from package import ...` statement whose names stay in part
    that stop reading lazily re-exported names, and the keys of the edges (statement to
    module) that leave with them: a module's edge leaves only when every name of the
    statement that reads it goes (moved into functions, with or without the load kept, or
    removed). A part that moves a submodule, or needs an annotation alias, is not one."""
    def module_of(site, bound) -> str | None:
        if site.kind != "from" or bound.is_module:
            return None
        return reexports.get((site.imported, bound.target.rpartition(".")[2]))

    going = [c for c in changes if c.action in ("move", "move-keep-load", "remove")
             and not c.annotated and not any(b.is_module for b in c.site.names)]
    moving = {id(c.site) for c in going}
    readers: dict[str, list[object]] = defaultdict(list)
    for part in parts:
        for bound in part.names:
            module = module_of(part, bound)
            if module is not None:
                readers[module].append(part)
    owned = {m for m, sites in readers.items() if all(id(s) in moving for s in sites)}
    unit = [c for c in going if any(module_of(c.site, b) in owned for b in c.site.names)]
    keys = {f"{key}{EDGE}{module}" for c in unit[:1]
            for key in site_keys(c.site, report.paths) for module in owned}
    return unit, keys


def star_pinned(report: AuditReport, changes: list[Change],
                graphs: list[tuple[Entry, ObservedGraph]]) -> list[tuple[Change, str]]:
    """The lazy re-exports (`lazy-init`) that would load at once anyway, because a module on
    an entry's path reads the name at import time:

    - `from package import *` reads every name of the package's `__all__`, so its
      `__getattr__` loads them all (seen on networkx: the prediction said the module leaves,
      the re-profile found it loaded);
    - `from package import name` (huggingface_hub's `hf_api.py` reads `chunk_iterable` from
      `huggingface_hub.utils`) loads the submodule that holds `name`, unless that statement
      part is itself changed by this fix (then it no longer runs at import)."""
    return pins(report, changes, changes, graphs)


def pins(report: AuditReport, lazy: list[Change], planned: list[Change],
          graphs: list[tuple[Entry, ObservedGraph]]) -> list[tuple[Change, str]]:
    """`star_pinned` for the lazy re-exports among `lazy`, with `planned` made."""
    pinned: list[tuple[Change, str]] = []
    cache: dict[str, dict[int, ast.ImportFrom]] = {}
    shown = {os.path.realpath(path): file for file, path in report.paths.items()}
    # a reader that leaves the path with what is planned reads nothing at start-up (counted
    # by the whole statements planned only: what else leaves is not, so it may still pin)
    alive = {id(graph): graph.reachable(frozenset(_planned_edges(report, planned)))
             for _entry, graph in graphs}
    # the names each changed import statement no longer binds at import (file:line, name)
    changed = {(f"{os.path.realpath(c.path)}:{c.site.line}", b.name) for c in planned
               for b in getattr(c.site, "names", ())}
    listed_by: dict[str, set[str]] = {}
    for change in lazy:
        if change.action not in ("lazy-init", "move-lazy-init"):
            continue
        package = change.site.module
        if change.path not in listed_by:
            listed_by[change.path] = _dunder_all(change.path)
        listed = listed_by[change.path]
        names = {b.name for b in change.site.names}
        why = None
        for importer, key, node in (found for _entry, graph in graphs
                                    for found in _from_imports(graph, package, cache, True)
                                    if found[0] in alive[id(graph)]):
            path, _, line = key.rpartition(":")
            where = f"{shown.get(path, path)}:{line}"
            read = [a.name for a in node.names]
            if read == ["*"]:
                if listed and names & listed:
                    why = (f"pinned by: `from {package} import *` ({where}) reads every name "
                           f"of its __all__, so a lazy re-export would load at once")
                    break
            elif names & (still := _still_read(node, path, changed)):
                name = min(names & still)
                why = (f"pinned by: `from {package} import {name}` ({where}) runs on the path "
                       f"and reads the name at import, so a lazy re-export would load at once")
                break
        if why is not None:
            pinned.append((change, why))
    return pinned


#: The changes that take their statement's import edges away (with every part planned).
_EDGE_TAKERS = ("remove", "move", "type-checking", "lazy-init", "move-lazy-init")


def _planned_edges(report: AuditReport, changes: list[Change]) -> set[str]:
    """The edge keys of the statements `changes` take off the path whole."""
    parts: dict[tuple[str, int], int] = defaultdict(int)
    for site in report.sites:
        parts[(site.file, site.line)] += 1
    planned: dict[tuple[str, int], list[Change]] = defaultdict(list)
    for change in changes:
        if isinstance(change.site, ImportSite):
            planned[(change.site.file, change.site.line)].append(change)
    keys: set[str] = set()
    for key, found in planned.items():
        if len(found) == parts[key] and all(c.action in _EDGE_TAKERS and c.claimed
                                            for c in found):
            keys |= site_keys(found[0].site, report.paths)
    return keys


def _still_read(node: ast.ImportFrom, path: str, changed: set[tuple[str, str]]) -> set[str]:
    """The names the statement `node` (of the file at `path`) still reads at import once
    this fix is made: each name but those whose binding a change takes from module level
    (the other parts of a split statement stay)."""
    key = f"{path}:{node.lineno}"
    return {a.name for a in node.names if (key, a.asname or a.name) not in changed}


def _from_imports(graph: ObservedGraph, package: str,
                  cache: dict[str, dict[int, ast.ImportFrom]], importers: bool = False):
    """(`file:line`, statement) of each observed `from package import ...` statement
    (with `importers`: (importer, `file:line`, statement))."""
    for importer in sorted(graph.importers.get(package, ())):
        for target, key in graph.adjacency.get(importer, ()):
            if target != package or key is None:
                continue
            path, _, number = key.rpartition(":")
            if path not in cache:
                cache[path] = _from_statements(path)
            node = cache[path].get(int(number))
            if node is None:
                continue
            name = node.module or ""
            if node.level:  # relative: resolved against the importing module's package
                base = importer.split(".")
                keep = len(base) - node.level + (1 if path.endswith("__init__.py") else 0)
                name = ".".join(base[:keep] + ([name] if name else []))
            if name == package:
                yield (importer, key, node) if importers else (key, node)


def _from_statements(path: str) -> dict[int, ast.ImportFrom]:
    """Each line of a file's `from ... import ...` statements -> the statement."""
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    lines: dict[int, ast.ImportFrom] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
                lines[line] = node
    return lines


def _dunder_all(path: str) -> set[str]:
    """The names a module's literal `__all__` lists (empty when it has none)."""
    try:
        with open(path, "rb") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, ValueError):
        return set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return set()
    return set()
