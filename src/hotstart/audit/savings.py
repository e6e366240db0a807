"""What each import site costs on a measured entrypoint.

The profile records every import statement the entrypoint executed (`ImportEdge`, with its
`file:line`). Removing a site from that graph and walking it again from the roots gives the
modules that would no longer load; their self time and memory is the saving. A module that
another edge still reaches saves nothing: a dead `import pandas` costs nothing when a needed
module imports pandas anyway, and the finding says who does.
"""

from __future__ import annotations

import ast
import copy
import functools
import os
from collections import defaultdict

from ..measure.model import HotCall, ProcessProfile
from .graph import parents
from .model import Entry, HotSpot, ImportSite, Saving

__all__ = ["EDGE", "FIXABLE", "ObservedGraph", "apply_savings", "observed_graph", "site_keys",
           "trailing_part"]

#: Classes `hotstart fix` changes (so their sites leave the start-up path together).
FIXABLE = ("dead", "deferrable", "typing-only")
#: How many entries' graphs `observed_graph` remembers (the latest audits' entries).
_KEEP_GRAPHS = 32
#: Each entry `apply_savings` measured -> (the entry, its observed graph). The graph is the
#: run's data, not a finding: it stays out of the report (and its JSON), and `hotstart fix`
#: plans jointly from it. Keyed by the entry object (its id, checked by identity).
_GRAPHS: dict[int, tuple[Entry, ObservedGraph]] = {}


#: Between a statement's `file:line` key and a module it imports: the key of that one edge
#: (a trailing part of `from pkg import a, b` owns only its own submodules' edges).
EDGE = "\x00"


def _norm(site: str | None) -> str | None:
    if not site:
        return None
    path, sep, line = site.rpartition(":")
    if not sep:
        return site
    return f"{os.path.realpath(path)}:{line}"


class ObservedGraph:
    """The import statements one process executed, as a graph from its roots."""

    def __init__(self, process: ProcessProfile) -> None:
        self.modules = {m.name: m for m in process.imported()}
        self.adjacency: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        self.importers: dict[str, set[str]] = defaultdict(set)
        for edge in process.edges:
            if edge.imported in self.modules:
                self.adjacency[edge.importer].append((edge.imported, _norm(edge.site)))
                self.importers[edge.imported].add(edge.importer)
        for module in self.modules.values():
            if module.importer is not None:
                self.adjacency[module.importer].append((module.name, _norm(module.site)))
                self.importers[module.name].add(module.importer)
        for name in self.modules:  # importing a.b.c imports a and a.b first
            for parent in parents(name)[:-1]:
                if parent in self.modules:
                    self.adjacency[name].append((parent, None))
        # Modules the entry script imports have no importer in the tree but an edge from
        # `__main__` (or the module run with -m): they are reached through it, not roots.
        self.roots = ["__main__"] + [m.name for m in self.modules.values()
                                      if (m.importer is None or m.importer not in self.modules)
                                      and not any(i == "__main__" or i in self.modules
                                                  for i in self.importers.get(m.name, ()))]
        self.baseline = self.reachable(frozenset())

    def reachable(self, removed: frozenset[str]) -> set[str]:
        """The modules (and `__main__`) that load when the statements at `removed` are gone
        (a key `file:line` + EDGE + module removes only that statement's edge to it)."""
        seen: set[str] = set()
        stack = list(self.roots)
        edges = {tuple(k.split(EDGE, 1)) for k in removed if EDGE in k}
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            for target, site in self.adjacency.get(name, ()):
                if site is None or site not in removed and not (
                        edges and (site, target) in edges):
                    stack.append(target)
        return seen

    def with_edges(self, extra: list[tuple[str, str, str]]) -> ObservedGraph:
        """A copy with `extra` edges (importer, module, statement key) besides the observed
        ones: what a statement would import once the plan changes what it reads (a lazy
        re-export loads its submodule where its name is read). They reach modules that load
        already, so what loads today is the same."""
        graph = copy.copy(self)
        graph.adjacency = defaultdict(list, {k: list(v) for k, v in self.adjacency.items()})
        graph.importers = defaultdict(set, {k: set(v) for k, v in self.importers.items()})
        present: set[tuple[str, str, str | None]] = set()
        for importer, target, key in extra:
            if target not in self.modules:
                continue
            if not present:  # built once, only when something is added
                present = {(i, t, k) for i, edges in self.adjacency.items() for t, k in edges}
            if (importer, target, key) not in present:
                present.add((importer, target, key))
                graph.adjacency[importer].append((target, key))
                graph.importers[target].add(importer)
        return graph

    def gone(self, removed: set[str]) -> set[str]:
        """The modules that no longer load once the statements at `removed` are gone."""
        return (self.baseline - self.reachable(frozenset(removed))) & set(self.modules)

    def saving(self, entry: str, removed: set[str]) -> Saving:
        """What removing the statements at `removed` saves."""
        return self.saving_of(entry, self.gone(removed))

    def saving_of(self, entry: str, gone: set[str]) -> Saving:
        records = sorted((self.modules[n] for n in gone), key=lambda m: -m.cumulative_us.median)
        us = sum(m.self_us.median for m in records)
        rss = int(sum(m.self_rss.median for m in records if m.self_rss is not None))
        return Saving(entry, us, rss, len(records), [m.name for m in records[:10]])


def observed_graph(entry: Entry) -> ObservedGraph | None:
    """The import graph `apply_savings` observed for `entry` (in this process), if any."""
    found = _GRAPHS.get(id(entry))
    return found[1] if found is not None and found[0] is entry else None


def site_keys(site: ImportSite, paths: dict[str, str], trailing: bool = False) -> set[str]:
    """The `file:line` keys of the graph's edges the statement of `site` makes; with
    `trailing` (a part that goes while the statement's earlier names stay, `trailing_part`),
    the keys of its own submodules' edges only."""
    path = os.path.realpath(paths.get(site.file, site.file))
    lines = [f"{path}:{line}" for line in range(site.line, site.end_line + 1)]
    if trailing:
        return {f"{key}{EDGE}{bound.target}" for key in lines for bound in site.names}
    return set(lines)


def trailing_part(sites: list[ImportSite], parts: list[ImportSite]) -> bool:
    """Whether `sites`, parts of one `from pkg import ...` statement in a package
    `__init__` whose other `parts` stay, may go alone (as lazy re-exports): each of their
    names is a submodule of the project that no name that stays imports too, and every one
    comes after every name that stays. A later name may rely on an earlier one having been
    imported (`pkg.b` runs `pkg.a.register(...)`), never the other way round while the
    statement runs: the earlier ran first (the audit counts a name's effects with those of
    the names after it). Only in a package `__init__`: there `pkg.b` stays an attribute of
    the package (its lazy `__getattr__`) for whatever reads it later, where a `from pkg
    import b` moved into a function of another module would no longer set it at import."""
    if not sites or any(s.kind != "from" or not s.package_init
                        or not all(b.is_module for b in s.names) for s in sites):
        return False
    order = statement_names(sites[0].statement)
    if order is None:
        return False
    going = {b.name for s in sites for b in s.names}
    kept = [b for p in parts if not any(p is s for s in sites) for b in p.names]
    staying = {b.name for b in kept}
    if not staying or going & staying or set(order) != going | staying:
        return False
    if {b.target for s in sites for b in s.names} & {b.target for b in kept}:
        return False  # `from pkg import b as _b, a, b`: `_b` keeps pkg.b's edge
    positions = {name: index for index, name in enumerate(order)}
    return min(positions[n] for n in going) > max(positions[n] for n in staying)


@functools.lru_cache(maxsize=1024)
def statement_names(statement: str) -> tuple[str, ...] | None:
    """The names a `from ... import a, b as c` statement binds, in order (None if the text
    is not one such statement)."""
    try:
        tree = ast.parse(statement.strip())
    except (SyntaxError, ValueError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.ImportFrom):
        return None
    return tuple(alias.asname or alias.name for alias in tree.body[0].names)


def apply_savings(sites: list[ImportSite], hotspots: list[HotSpot], entry: Entry,
                  process: ProcessProfile, paths: dict[str, str],
                  executed: set[tuple[str, str]] | None = None,
                  ran: set[str] = frozenset()) -> None:
    """Fill each site's `savings` and the entry's totals from one measured process.
    `executed`: the (file, qualname) of project functions the entry ran, when known; `ran`:
    files the entry runs without importing them (its script). A site in a file the process
    never ran gets no saving on this entry: it is not on the entry's path."""
    graph = ObservedGraph(process)
    _GRAPHS[id(entry)] = (entry, graph)
    while len(_GRAPHS) > _KEEP_GRAPHS:
        del _GRAPHS[next(iter(_GRAPHS))]
    on_path = _files_run(process, ran)
    statements: dict[tuple[str, int], list[ImportSite]] = defaultdict(list)
    for site in sites:
        statements[(site.file, site.line)].append(site)
    fixable: list[tuple[ImportSite, set[str], Saving]] = []
    for site in sites:
        if os.path.realpath(paths.get(site.file, site.file)) not in on_path:
            continue
        siblings = statements[(site.file, site.line)]
        whole = all(s.klass in FIXABLE and s.fix for s in siblings)
        ran = _used_at_run(site, paths, executed)
        going = [s for s in siblings if s.klass in FIXABLE and s.fix]
        trailing = not whole and site.klass in FIXABLE and bool(site.fix) and \
            trailing_part(going, siblings)
        keys = site_keys(site, paths, trailing)
        if trailing:
            saving = graph.saving(entry.name, keys)
            whole = True  # its own edges leave with it
        elif len(siblings) > 1 and not whole:
            saving = Saving(entry.name, 0.0, 0, 0,
                            also_imported_by=["the same statement imports names that stay"])
        else:
            saving = graph.saving(entry.name, keys)
            if not saving.dropped and site.imported in graph.modules:
                saving.also_imported_by = _other_importers(graph, site)
        saving.used_at_run = ran
        if site.klass in FIXABLE and site.fix and whole and not ran:
            fixable.append((site, keys, saving))
        if site.imported in graph.modules or saving.dropped:
            site.savings.append(saving)
    _joint_savings(graph, entry.name, fixable)
    total = graph.saving(entry.name, set().union(*(keys for _, keys, _ in fixable)))
    entry.fix_us, entry.fix_rss, entry.fix_sites = total.us, total.rss, len(fixable)
    entry.measured = True
    entry.import_us = process.import_us
    entry.peak_rss = int(process.peak_rss.median) if process.peak_rss else None
    if process.bytecode.compiled and not process.bytecode.from_pyc:
        entry.bytecode = "compiled at start (no .pyc)"
    elif process.bytecode.compiled:
        entry.bytecode = (f"{process.bytecode.from_pyc} modules from .pyc, "
                          f"{process.bytecode.compiled} compiled at start")
    else:
        entry.bytecode = "from .pyc"
    for reach in entry.reach:
        record = graph.modules.get(reach.library)
        if record is not None:
            reach.us = record.cumulative_us.median
            reach.rss = int(record.cumulative_rss.median) if record.cumulative_rss else None
    _measure_hotspots(hotspots, process, entry.name)


def _joint_savings(graph: ObservedGraph, entry: str,
                   fixable: list[tuple[ImportSite, set[str], Saving]]) -> None:
    """Price, to a fixed point, the sites that save only once other fixable sites are gone.

    A library imported at two fixable sites (`fractions` importing `numbers`, which another
    module imports too) saves nothing at either alone, so one `fix` run moved one and the
    next run the other: not idempotent. Here the sites that save are taken as done, and so
    are dead ones (`fix` removes those on the path whatever they save); each other fixable
    site is priced by what it removes beyond them, and joins them when that is something;
    until no site joins. (Groups that save only all together are planned by `hotstart fix`'s
    joint plans, `fix/_groups.py`; this pricing is what each site is shown to save, and what
    `fix --plan sites` keeps.) Sites are priced by
    statement: the parts of one statement (names used
    in different functions) leave the path together, and a dead part alone removes nothing.
    """
    # One group per statement: its import edges go only when every part of it goes.
    statements: dict[frozenset[str], list[tuple[ImportSite, Saving]]] = {}
    for site, keys, saving in fixable:
        statements.setdefault(frozenset(keys), []).append((site, saving))
    removed: set[str] = set()
    pending = []
    for keys, parts in statements.items():
        saver = next((saving for _, saving in parts if saving.dropped), None)
        if saver is not None:
            removed |= keys
            _credit(parts, saver)
        elif all(site.klass == "dead" for site, _ in parts):
            removed |= keys
        else:
            pending.append((keys, parts))
    gone = graph.gone(removed)
    joined = True
    while joined and pending:
        joined = False
        for item in list(pending):
            keys, parts = item
            more = graph.gone(removed | keys) - gone
            if not more:
                continue
            _credit(parts, graph.saving_of(entry, more))
            removed |= keys
            gone |= more
            pending.remove(item)
            joined = True


def _credit(parts: list[tuple[ImportSite, Saving]], saving: Saving) -> None:
    """Give every part of a statement the statement's saving (they leave the path together)."""
    for site, own in parts:
        if own.dropped:
            continue
        own.us, own.rss, own.dropped, own.modules = \
            saving.us, saving.rss, saving.dropped, list(saving.modules)
        own.also_imported_by = []
        if not any(s is own for s in site.savings):
            site.savings.append(own)


def _files_run(process: ProcessProfile, ran: set[str]) -> set[str]:
    """The source files the process ran: each module it imported, each file with an import
    statement it executed, and `ran`."""
    files = set(ran)
    files.update(os.path.realpath(m.file) for m in process.modules if m.file)
    for edge in process.edges:
        if edge.site:
            files.add(os.path.realpath(edge.site.rpartition(":")[0]))
    return files


def _other_importers(graph: ObservedGraph, site: ImportSite) -> list[str]:
    """Who else imports the site's module: project modules first, never the library's own
    submodules."""
    top = site.imported.split(".")[0]
    project = site.module.split(".")[0]
    others = [name for name in graph.importers.get(site.imported, set())
              if name not in (site.module, "__main__") and name.split(".")[0] != top]
    others.sort(key=lambda name: (name.split(".")[0] != project, name))
    return others[:3]


def _used_at_run(site: ImportSite, paths: dict[str, str],
                 executed: set[tuple[str, str]] | None) -> list[str]:
    if not executed or not (site.klass == "deferrable" or site.load_only):
        return []
    path = os.path.realpath(paths.get(site.file, site.file))
    scopes = {u.scope for b in site.names for u in b.uses if u.scope}
    return sorted(f"{s}()" for s in scopes if (path, s) in executed)


def _measure_hotspots(hotspots: list[HotSpot], process: ProcessProfile, entry: str) -> None:
    calls: dict[str, HotCall] = {}
    total = process.import_us
    for call in process.hot_calls:
        calls.setdefault(call.function.replace(":", "."), call)
    for spot in hotspots:
        call = calls.get(spot.via[0]) if spot.via else calls.get(spot.call)
        if call is None:
            continue
        estimate = process.estimate_us(call, total)
        measured = estimate if estimate is not None else call.own_us
        if spot.measured_us is None or measured > spot.measured_us:
            spot.measured_us, spot.measured_calls, spot.measured_entry = \
                measured, call.calls, entry
