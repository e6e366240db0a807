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


class EffectModel:
    def __init__(self, scans: dict[str, ModuleScan], search_path: list[str]) -> None:
        self.scans = scans
        self.search_path = search_path
        self._memo: dict[str, list[str]] = {}
        #: (module, packages running) -> what importing it does from within them (`of`)
        self._within: dict[tuple[str, frozenset[str]], list[str]] = {}
        #: module -> the modules whose own code performs its effects (itself, dependencies).
        self._performers: dict[str, set[str]] = {}
        self._forward: dict[str, list[str]] | None = None
        self._reverse: dict[str, list[str]] | None = None
        #: module -> {module it loads unconditionally: the line of the first import that does}
        self._first_loaded: dict[str, dict[str, int]] = {}

    def of(self, module: str, running: frozenset[str] = frozenset()) -> list[str]:
        """What importing `module` does, as short descriptions ([] if nothing known).

        `running`: packages that have run, or are running, when the import happens (the
        importing module's own packages, which Python imports before it): a chain back into
        one of them (`xarray/__init__.py` imports `xarray.coders`, which imports
        `xarray.coding.times`, whose package `xarray` is the one running) runs nothing."""
        found = self._of(module)
        if not found or not running:
            return found
        key = (module, running)
        if key not in self._within:
            self._within[key] = []  # cycles, as in `_of`
            self._within[key] = self._compute(module, running, set())
        return self._within[key]

    def _of(self, module: str) -> list[str]:
        if module in self._memo:
            return self._memo[module]
        self._memo[module] = []  # cycles: a module being computed has no effects yet
        performers = self._performers[module] = set()
        self._memo[module] = self._compute(module, frozenset(), performers)
        return self._memo[module]

    def _compute(self, module: str, running: frozenset[str], performers: set[str]
                 ) -> list[str]:
        found: list[str] = []
        if module in KNOWN_EFFECTS:
            found.append(KNOWN_EFFECTS[module])
        scan = self.scans.get(module)
        if scan is not None:
            found.extend(e.what for e in scan.effects)
            for site in scan.sites:
                if site.guard in ("TYPE_CHECKING", "lazy"):
                    continue
                for external in parents(site.imported):
                    if external in KNOWN_EFFECTS and external not in self.scans:
                        found.append(f"imports {external}, which {KNOWN_EFFECTS[external]}")
                        performers.add(external)
                for dependency in self._project_targets(site):
                    if dependency != module and dependency not in running:
                        inherited = self.of(dependency, running)
                        if inherited:
                            found.append(f"imports {dependency}, which "
                                         f"{inherited[0]}")
                            performers.update(self._performers.get(dependency, ()))
        elif module not in KNOWN_EFFECTS:
            found.extend(self._external(module))
        if found and (scan is None or scan.effects or module in KNOWN_EFFECTS):
            performers.add(module)  # its own code does something
        return found

    def performers(self, module: str) -> set[str]:
        """The modules whose own code performs the effects of importing `module`."""
        self._of(module)
        return self._performers.get(module, set())

    def performed_before(self, module: str, scan: ModuleScan, line: int) -> bool:
        """Whether every effect of importing `module` has happened before line `line` of
        `scan` runs, whoever imports `scan`: the modules whose code performs them are loaded
        by an earlier unconditional module-level import of `scan` (which cannot be a cycle
        back to `scan`, where a module could still be half-run)."""
        self._of(module)
        performers = self._performers.get(module, set())
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


