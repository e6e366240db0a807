"""The side-effect model: what importing a module does besides defining names.

A project module has side effects if its module-level code registers something (decorators
or calls named like `register`), monkeypatches or registers into an imported object, edits
`sys.modules`, `sys.path`, `os.environ` or builtins, installs `atexit`, codec, signal,
warnings or logging handlers, or makes any other module-level call whose result it discards;
and it inherits the effects of the project modules it imports at module level. A module
outside the project counts only for strong effects read from its own source (a plain
module-level call there configures that library, not the importer's world), plus a short
list of modules imported for their effect alone (`readline`, scikit-learn's `enable_*`).
"""

from __future__ import annotations

import os

from ._project import locate
from ._scan import ModuleScan, scan_module
from .graph import parents

__all__ = ["EffectModel", "KNOWN_EFFECTS"]

#: Modules imported for their effect alone.
KNOWN_EFFECTS = {
    "readline": "enables line editing and history for input()",
    "rlcompleter": "installs tab completion in readline",
    "this": "prints the Zen of Python",
    "antigravity": "opens a web browser",
    "__hello__": "prints a greeting",
    "sitecustomize": "customizes the interpreter",
    "usercustomize": "customizes the interpreter",
    "sklearn.experimental.enable_iterative_imputer": "adds IterativeImputer to sklearn.impute",
    "sklearn.experimental.enable_halving_search_cv": "adds HalvingGridSearchCV to "
                                                     "sklearn.model_selection",
    "sklearn.experimental.enable_hist_gradient_boosting": "enables HistGradientBoosting",
    "mpl_toolkits.mplot3d": "registers matplotlib's '3d' projection",
    "gevent.monkey": "patches the standard library when called",
    "pyximport": "installs an import hook when installed",
}


#: The largest import cycle whose modules are walked again each without itself (what a
#: module imports that imports it back finds it half-run, and does not run it again); past
#: it, a module's own effects count against its imports of the cycle (the safe side), so
#: that a project of thousands of modules in one cycle does not cost their square.
MAX_CYCLE = 400


class EffectModel:
    def __init__(self, scans: dict[str, ModuleScan], search_path: list[str]) -> None:
        self.scans = scans
        self.search_path = search_path
        #: packages running -> what importing each module does from within them (`of`)
        self._closures: dict[frozenset[str], _Closure] = {}
        self._own: dict[str, tuple[list[str], set[str]]] = {}
        self._imports: dict[str, list[str]] = {}
        self._forward: dict[str, list[str]] | None = None
        self._reverse: dict[str, list[str]] | None = None
        #: module -> {module it loads unconditionally: the line of the first import that does}
        self._first_loaded: dict[str, dict[str, int]] = {}

    def of(self, module: str, running: frozenset[str] = frozenset()) -> list[str]:
        """What importing `module` does, as short descriptions ([] if nothing known): its
        own effects, then, per module it imports, the first of that module's.

        `running`: packages that have run, or are running, when the import happens (the
        importing module's own packages, which Python imports before it): a chain back into
        one of them (`xarray/__init__.py` imports `xarray.coders`, which imports
        `xarray.coding.times`, whose package `xarray` is the one running) runs nothing."""
        return self._closure(running).effects(module)

    def cyclic_with(self, module: str, importer: str) -> bool:
        """Whether `module` and `importer` import each other (one cycle of modules that
        import each other unconditionally), in a cycle small enough to walk again from
        each of its modules (`MAX_CYCLE`)."""
        closure = self._closure(frozenset())
        size, name = closure.component(module)
        return 1 < size <= MAX_CYCLE and importer in self.scans and \
            closure.component(importer) == (size, name)

    def performers(self, module: str) -> set[str]:
        """The modules whose own code performs the effects of importing `module`."""
        return self._closure(frozenset()).performers(module)

    def _closure(self, running: frozenset[str]) -> _Closure:
        if running not in self._closures:
            self._closures[running] = _Closure(self, running)
        return self._closures[running]

    def own(self, module: str) -> tuple[list[str], set[str]]:
        """What `module`'s own code does (its effects, and the known-effect libraries its
        statements name), and which modules perform that: nothing it inherits."""
        if module not in self._own:
            found: list[str] = []
            performers: set[str] = set()
            if module in KNOWN_EFFECTS:
                found.append(KNOWN_EFFECTS[module])
            scan = self.scans.get(module)
            if scan is not None:
                found.extend(e.what for e in scan.effects)
                if found:
                    performers.add(module)
                for site in self._sites(scan):
                    for external in parents(site.imported):
                        if external in KNOWN_EFFECTS and external not in self.scans:
                            found.append(f"imports {external}, which "
                                         f"{KNOWN_EFFECTS[external]}")
                            performers.add(external)
            else:
                if module not in KNOWN_EFFECTS:
                    found.extend(self._external(module))
                if found:
                    performers.add(module)
            self._own[module] = (found, performers)
        return self._own[module]

    def imports(self, module: str) -> list[str]:
        """The project modules `module` imports unconditionally, in order."""
        if module not in self._imports:
            scan = self.scans.get(module)
            self._imports[module] = [] if scan is None else list(dict.fromkeys(
                d for site in self._sites(scan) for d in self._project_targets(site)
                if d != module))
        return self._imports[module]

    @staticmethod
    def _sites(scan: ModuleScan):
        return [s for s in scan.sites if s.guard not in ("TYPE_CHECKING", "lazy")]

    def performed_before(self, module: str, scan: ModuleScan, line: int) -> bool:
        """Whether every effect of importing `module` has happened before line `line` of
        `scan` runs, whoever imports `scan`: the modules whose code performs them are loaded
        by an earlier unconditional module-level import of `scan` (which cannot be a cycle
        back to `scan`, where a module could still be half-run)."""
        performers = self.performers(module)
        if not performers:
            return False
        first = self._first_loaded.get(scan.name)
        if first is None:
            first = self._first_loaded[scan.name] = self._loaded_by_line(scan)
        return all(first.get(p, line) < line for p in performers)

    def _loaded_by_line(self, scan: ModuleScan) -> dict[str, int]:
        """{module: line of the first unconditional import of `scan` that loads it}. An
        import whose target imports `scan` back (a cycle) counts for nothing."""
        edges = self._edges()
        cyclic = {scan.name}  # the modules that reach `scan`: reverse reachability
        reverse = self._reverse_edges()
        stack = [scan.name]
        while stack:
            for importer in reverse.get(stack.pop(), ()):
                if importer not in cyclic:
                    cyclic.add(importer)
                    stack.append(importer)
        first: dict[str, int] = {}
        for site in sorted(scan.sites, key=lambda s: s.line):
            if site.guard is not None:
                continue
            targets = self._site_targets(site)
            if cyclic.intersection(targets):
                continue
            stack = [t for t in targets if t not in first]
            while stack:
                name = stack.pop()
                if name in first:
                    continue
                first[name] = site.line
                stack.extend(t for t in edges.get(name, ()) if t not in first)
        return first

    def _site_targets(self, site) -> list[str]:
        return parents(site.imported) + self._project_targets(site)

    def _edges(self) -> dict[str, list[str]]:
        """Project module -> what it imports unconditionally at module level, and packages."""
        if self._forward is None:
            self._forward = {}
            for name, scan in self.scans.items():
                out = parents(name)[:-1]
                for site in scan.sites:
                    if site.guard is None:
                        out.extend(self._site_targets(site))
                self._forward[name] = list(dict.fromkeys(out))
        return self._forward

    def _reverse_edges(self) -> dict[str, list[str]]:
        if self._reverse is None:
            self._reverse = {}
            for name, targets in self._edges().items():
                for target in targets:
                    self._reverse.setdefault(target, []).append(name)
        return self._reverse

    def _project_targets(self, site) -> list[str]:
        out = []
        for candidate in parents(site.imported):
            if candidate in self.scans:
                out.append(candidate)
        if site.kind == "from":
            for bound in site.names:
                if bound.target in self.scans:
                    out.append(bound.target)
        return out

    def _external(self, module: str) -> list[str]:
        path = locate(module, self.search_path)
        if path is None or os.path.getsize(path) > 2_000_000:
            return []
        try:
            with open(path, encoding="utf-8") as handle:
                source = handle.read()
            scan = scan_module(module, path, path, source,
                               is_package=path.endswith("__init__.py"))
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            return []
        return [f"{e.what} ({os.path.basename(path)})" for e in scan.effects if e.strong]


class _Closure:
    """What importing each module does, with the packages in `running` taken as already
    run: computed per strongly connected component of the import graph (Tarjan's
    algorithm, iterative), in one pass over what a query reaches. In an import cycle,
    importing any member imports them all, so every member has the effects of all; a
    depth-first walk that memoized a member while another was half-computed would lose
    them (`pkg.y` <-> `pkg.z`, where `pkg.z` registers an atexit handler, made
    `import pkg.y` look dead)."""

    def __init__(self, model: EffectModel, running: frozenset[str]) -> None:
        self.model = model
        self.running = running
        self._effects: dict[str, list[str]] = {}
        self._performers: dict[str, set[str]] = {}
        #: module -> the size of its strongly connected component and one member's name
        self._component: dict[str, tuple[int, str]] = {}

    def component(self, module: str) -> tuple[int, str]:
        if module not in self._component:
            self._visit(module)
        return self._component[module]

    def effects(self, module: str) -> list[str]:
        if module not in self._effects:
            self._visit(module)
        return self._effects[module]

    def performers(self, module: str) -> set[str]:
        if module not in self._performers:
            self._visit(module)
        return self._performers[module]

    def _edges(self, module: str) -> list[str]:
        return [d for d in self.model.imports(module) if d not in self.running]

    def _visit(self, root: str) -> None:
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on_stack: set[str] = set()
        work = [(root, iter(self._edges(root)))]
        index[root] = low[root] = 0
        stack.append(root)
        on_stack.add(root)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target in self._effects:
                    continue  # finished in an earlier walk
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(self._edges(target))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    self._finish(list(reversed(component)))

    def _finish(self, component: list[str]) -> None:
        """Every module of `component` (one strongly connected component, all it imports
        outside it finished) gets its own effects, then one line per module it imports."""
        members = set(component)
        for module in component:
            self._component[module] = (len(component), component[0])
        outside: dict[str, list[str]] = {}
        shared: set[str] = set()
        first: tuple[str, str] | None = None
        for module in component:
            own, performers = self.model.own(module)
            found = list(own)
            shared |= performers
            for dependency in self._edges(module):
                if dependency not in members:
                    inherited = self._effects[dependency]
                    if inherited:
                        found.append(f"imports {dependency}, which {inherited[0]}")
                        shared |= self._performers[dependency]
            outside[module] = found
            if first is None and found:
                first = (module, found[0])
        for module in component:
            found = list(outside[module])
            if first is not None:
                for dependency in self._edges(module):
                    if dependency in members:
                        mine = outside[dependency]
                        found.append(f"imports {dependency}, which " + (
                            mine[0] if mine else f"imports {first[0]}, which {first[1]}"))
            self._effects[module] = found
            self._performers[module] = set(shared) if found else set()
