"""Which audit findings `hotstart fix` changes, and how: one `Change` per import site.

A change is the unit `--verify` bisects: applying any subset of a file's changes gives valid
code, because each file is rewritten from its original source with just that subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..audit.classify import movable_public
from ..audit.model import AuditReport, ImportSite

__all__ = ["DEFER_STYLES", "PLANS", "RUNTIMES", "SELECTABLE", "Change", "CodeSite",
           "plan_changes"]

#: What `fix --select` changes: import classes, then the program codemods (caller-name
#: helpers called at import, eager CLI subcommand registrations).
SELECTABLE = ("dead", "deferrable", "typing-only", "hot-calls", "cli")
#: How changes are chosen with measured entries: grouped by what leaves the path together
#: ("joint"), or each site by its own saving ("sites").
PLANS = ("joint", "sites")
#: How a deferrable import is deferred: moved into the functions that use it, a PEP 810
#: `lazy import` (3.15+ only), or listed in `__lazy_modules__` (lazy on 3.15+, eager before).
DEFER_STYLES = ("auto", "local", "lazy", "lazy-modules")
#: What generated runtime code may import: `hotstart.lazy` (the project depends on hotstart)
#: or the standard library only.
RUNTIMES = ("auto", "hotstart", "stdlib")


@dataclass(slots=True)
class CodeSite:
    """Where a change that is not of an import statement applies: a call that burns time at
    import (a caller-name helper), an eager CLI registration. It answers what the report and
    `--verify` ask of an `ImportSite` (file, line, statement, class, names, saving)."""
    file: str                  # path as shown (relative to the project)
    module: str                # the module that contains it
    line: int
    statement: str             # the code changed, on one line
    klass: str                 # the select name of its codemod: "hot-calls", "cli"
    #: Codemod-specific facts the rewrite needs (a frame depth, a registration's help text).
    data: dict = field(default_factory=dict)
    #: The saving the audit priced for it, when it did (a `Saving`), else None.
    best_saving: object | None = None
    names: list = field(default_factory=list)
    end_line: int = 0
    savings: list = field(default_factory=list)


@dataclass(slots=True)
class Change:
    site: ImportSite | CodeSite
    action: str      # "remove", "move", "lazy", "lazy-modules", "type-checking", "lazy-init",
    #                  "move-lazy-init" (moved into its functions and re-exported lazily),
    #                  "move-keep-load" (names moved; the statement still loads the module)
    path: str        # absolute path of the file it changes
    description: str
    #: Names (of the site) whose annotation uses need a TYPE_CHECKING import too ("move").
    annotated: list[str] = field(default_factory=list)
    #: Whether its saving holds before Python 3.15: False for `__lazy_modules__` with no
    #: run-time support (the interpreter ignores it before 3.15), not counted as saved.
    claimed: bool = True

    @property
    def id(self) -> str:
        return f"{self.site.file}:{self.site.line} {self.site.statement}"


@dataclass(slots=True)
class Skipped:
    site: ImportSite
    why: str


def plan_changes(report: AuditReport, paths: dict[str, str], *, select: tuple[str, ...],
                 target: tuple[int, int], defer: str = "auto", runtime: str = "stdlib",
                 min_saving_ms: float | None = None, include_all: bool = False,
                 joint: bool = False) -> tuple[list[Change], list[Skipped]]:
    """Choose a change for each selected site. Measured reports change only sites on some
    entrypoint's path: those that drop modules from its start-up, and dead ones; unmeasured
    ones leave standard library imports alone unless `include_all` (they cost nothing
    measurable). `joint`: keep every site on the path that the entries do not use, whatever
    it saves alone (the joint plan, `_groups`, decides what saves together)."""
    measured = any(e.measured for e in report.entries)
    statements: dict[tuple[str, int], list[ImportSite]] = {}
    for site in report.sites:
        statements.setdefault((site.file, site.line), []).append(site)
    changes: list[Change] = []
    skipped: list[Skipped] = []
    for site in report.sites:
        # a public name of a package __init__ used only in its functions: moved and
        # re-exported lazily, as a deferrable import is moved
        klass = "deferrable" if movable_public(site) else site.klass
        # names moved while the statement keeps loading their module: only where the joint
        # plan can tell that this lets a lazy re-export leave the path (alone, it saves
        # nothing)
        keep_load = joint and site.klass == "side-effect" and site.load_only and \
            "deferrable" in select
        if not keep_load and (klass not in select or not site.fix):
            continue
        usable = [s for s in site.savings if not s.used_at_run]
        best = max(usable, key=lambda s: (s.us, s.rss), default=None)
        if not include_all and measured and not site.savings:
            # With entries given, only what they run changes (not `examples/`, not scripts
            # the entries never start), dead imports included.
            skipped.append(Skipped(site, "not on the path of the measured entrypoints "
                                   "(--all to include)"))
            continue
        if not include_all and klass != "dead":
            if measured:
                limit = (min_saving_ms or 0.0) * 1e3
                if best is None and any(s.used_at_run for s in site.savings):
                    ran = next(s.used_at_run for s in site.savings if s.used_at_run)
                    skipped.append(Skipped(site, f"the entrypoint runs {', '.join(ran)}, which "
                                           f"uses it: deferring only delays the import"))
                    continue
                if not joint and (best is None or not best.dropped or best.us < limit):
                    skipped.append(Skipped(site, "saves nothing measurable on the measured "
                                           "entrypoints"))
                    continue
            elif site.stdlib:
                skipped.append(Skipped(site, "standard library import (costs nothing "
                                       "measurable; --all to include)"))
                continue
        path = paths.get(site.file)
        if path is None:
            continue
        change = _keep_load(site, path, target, defer) if keep_load else \
            _choose(site, path, target, defer, runtime)
        if isinstance(change, Skipped):
            skipped.append(change)
        else:
            changes.append(change)
    return changes, skipped


def _module_alias(site: ImportSite) -> bool:
    return site.kind == "import" or any(b.is_module for b in site.names)


def _submodule_binding(site: ImportSite) -> str | None:
    """Why `import a.b` (which binds `a`) keeps its place when annotations use it: the runtime
    alias would be a lazy `a`, which does not load `a.b` (`a.b.X` failed in get_type_hints)."""
    if site.kind != "import" or all(b.target == site.imported for b in site.names):
        return None
    top = site.names[0].name
    return (f"pinned by: `import {site.imported}` binds `{top}`, and a runtime alias of "
            f"`{top}` would not load `{site.imported}` (`import {site.imported} as "
            f"{site.imported.rsplit('.', 1)[1]}` can be moved)")


def _annotated(site: ImportSite) -> list[str]:
    return [b.name for b in site.names
            if any(u.context in ("annotation", "type-checking") for u in b.uses)]


def _importers(site: ImportSite) -> str:
    """The project modules that import a name of `site` from its module, in words."""
    found = sorted({f"{u.scope} ({u.file}:{u.line})" for b in site.names for u in b.uses
                    if u.context == "reexport"})
    return ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def _keep_load(site: ImportSite, path: str, target: tuple[int, int], defer: str
               ) -> Change | Skipped:
    """Names of a side-effect `from m import ...` moved into the functions that use them,
    while the statement (its other names, or a bare load) still loads `m` where it did: the
    effects of loading `m` keep their place (`ImportSite.load_only`)."""
    if defer not in ("auto", "local") or target >= (3, 15):
        return Skipped(site, f"{site.reason}; its names can move only with --defer local "
                             "(a `lazy` import would delay the module's load)")
    scopes = sorted({u.scope for b in site.names for u in b.uses if u.scope})
    return Change(site, "move-keep-load", path,
                  "moved into " + ", ".join(f"{s}()" for s in scopes) +
                  f"; {site.imported} still loads here (importing it has effects)")


def _choose(site: ImportSite, path: str, target: tuple[int, int], defer: str,
            runtime: str) -> Change | Skipped:
    if site.klass == "dead":
        return Change(site, "remove", path, "removed (never used)")
    if movable_public(site):
        if defer not in ("auto", "local") or target >= (3, 15):
            return Skipped(site, f"{site.reason}; moved only with --defer local (before 3.15)")
        scopes = sorted({u.scope for b in site.names for u in b.uses if u.context == "function"})
        return Change(site, "move-lazy-init", path,
                      "moved into " + ", ".join(f"{s}()" for s in scopes) + " and re-exported "
                      "lazily (PEP 562 __getattr__, .pyi stub): still importable")
    importers = _importers(site)
    submodule = _submodule_binding(site)
    if site.klass == "typing-only":
        if importers:  # they would get the runtime alias, not the object
            return Skipped(site, f"pinned by: imported from this module by {importers}")
        if submodule:
            return Skipped(site, submodule)
        if _module_alias(site) and runtime != "hotstart":
            return Skipped(site, "a module used as `mod.X` in annotations needs "
                                 "hotstart.lazy for its runtime alias (--runtime hotstart)")
        return Change(site, "type-checking", path,
                      "moved under `if TYPE_CHECKING:` with a runtime alias")
    # deferrable
    reexport = site.package_init and site.reason.startswith("re-exported")
    style = defer
    if style == "auto":
        style = "lazy" if target >= (3, 15) else "local"
    if style == "lazy" and target < (3, 15):
        return Skipped(site, "`lazy import` needs Python 3.15+; the target is "
                             f"{target[0]}.{target[1]} (use --defer lazy-modules or local)")
    if site.guard == "if" and style == "local":
        return Skipped(site, "inside a module-level `if`: move it by hand")
    if style == "lazy":
        return Change(site, "lazy", path, "made a PEP 810 `lazy` import")
    if style == "lazy-modules" and target < (3, 15) and runtime == "hotstart":
        return Change(site, "lazy-modules", path, "listed in __lazy_modules__, honoured "
                      "before 3.15 by hotstart.lazy.enable() (PEP 810 on 3.15+)")
    if style == "lazy-modules" and target < (3, 15):
        return Change(site, "lazy-modules", path, "listed in __lazy_modules__: lazy on 3.15+ "
                      "only; saves nothing before (--runtime hotstart makes it lazy on "
                      "3.11+)", claimed=False)
    if style == "lazy-modules":
        return Change(site, "lazy-modules", path, "listed in __lazy_modules__ (lazy, PEP 810)")
    if reexport:
        return Change(site, "lazy-init", path,
                      "re-exported lazily (PEP 562 __getattr__, .pyi stub)")
    if any(u.context == "lambda" for b in site.names for u in b.uses):
        return Skipped(site, "a module-level lambda uses it: use --defer lazy-modules")
    annotated = _annotated(site)
    if annotated and submodule:
        return Skipped(site, submodule)
    if annotated and _module_alias(site) and runtime != "hotstart":
        return Skipped(site, "also used as `mod.X` in annotations, which needs hotstart.lazy "
                             "for a runtime alias (--runtime hotstart)")
    if importers:  # a package __init__ name also used in its functions: moving it breaks
        # `from package import name` in the other modules
        return Skipped(site, f"pinned by: imported from this module by {importers}")
    scopes = sorted({u.scope for b in site.names for u in b.uses
                     if u.scope and u.context != "reexport"})
    return Change(site, "move", path, "moved into " + ", ".join(f"{s}()" for s in scopes),
                  annotated=annotated)
