"""Classify each module-level import site: dead, side-effect, deferrable, typing-only or
needed (see `../shared/DESIGN.md`, "Import-site classification").

The order of the rules is the point:

1. a name used while the module is imported (base class, decorator, class-body statement,
   default value, module-level call or statement, an annotation evaluated at definition), or
   patched by a test (`patch("pkg.mod.Name")`), or imported from this module by another one,
   is **needed**, and the site says what pins it;
2. a module whose import has effects (registrations, monkeypatching, `sys.path`...) is
   **side-effect** when its name is unused, and also when a project module's registrations
   would be delayed by deferring it;
3. an unused name is **dead**, except re-exports: a package `__init__` re-exporting its own
   submodules' names is **deferrable** (a lazy `__getattr__`), other re-exports (`__all__`,
   `x as x`) and `try/except ImportError` availability checks are needed;
4. a name used only in function bodies (and annotations) is **deferrable**;
5. a name used only in annotations is **typing-only**.
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING

from ._scan import ModuleScan
from .effects import KNOWN_EFFECTS, EffectModel
from .graph import is_stdlib, parents
from .model import PINNING_CONTEXTS, BoundName, ImportSite, Use
from .safety import mark_runtime_annotations
from .savings import _norm

if TYPE_CHECKING:
    from ..measure.model import ProcessProfile

__all__ = ["PUBLIC_INIT_PIN", "classify_sites", "link_cross_module_uses", "movable_public",
           "release_preloaded_effects"]

_PIN_WORDS = {
    "call": "called at import",
    "module": "used by a module-level statement",
    "class-base": "a base class (or class keyword)",
    "class-body": "used in a class body",
    "decorator": "a decorator",
    "default": "a default argument value",
    "annotation-runtime": "an annotation evaluated at definition time",
    "test-patch": "patched by a test",
    "reexport": "imported from this module by",
}


def link_cross_module_uses(scans: dict[str, ModuleScan], tests: list[ModuleScan]) -> None:
    """Record uses from other files: `from mod import name` of an imported name, and tests
    patching `mod.name`."""
    bound_names = _BoundIndex(scans)
    for scan in scans.values():
        for module, name, line in scan.from_imports:
            owner = scans.get(module)
            if owner is None:
                continue
            # Also when the module defines the name too (`if ...: from x import name` /
            # `else: name = None`): the import may be what provides it.
            for bound in bound_names.get(module, name):
                bound.uses.append(Use("reexport", line, scope=scan.name, file=scan.file))
        for module, line in scan.star_imports:
            owner = scans.get(module)
            if owner is None or owner.all_names is not None:
                continue
            for site in owner.sites:  # every public name, imports included
                for bound in site.names:
                    if not bound.name.startswith("_") and site.guard not in (
                            "TYPE_CHECKING", "lazy"):
                        bound.uses.append(Use("reexport", line, file=scan.file,
                                              scope=f"{scan.name} with import *"))
    for test in tests:
        for dotted, line in test.patches:
            owner = _owner(scans, dotted)
            if owner is not None:
                for bound in bound_names.get(*owner):
                    bound.uses.append(Use("test-patch", line, scope=dotted, file=test.file))
    _pin_rebound_sources(scans, tests)
    # `alias.Name` read through an import (toolz.curried reading `toolz.partial`, a test
    # reading `cli.SpecError`) needs `Name` in its module as an `import ... from` would. One
    # pin per (name, reading file): pandas' modules read each other's names thousands of times.
    pinned: set[tuple[int, str]] = set()
    for reader in (*scans.values(), *tests):
        for dotted, line in reader.attribute_reads:
            owner = _owner(scans, dotted)
            if owner is None or owner[0] == reader.name:
                continue
            for bound in bound_names.get(*owner):
                if (id(bound), reader.file) in pinned:
                    continue
                pinned.add((id(bound), reader.file))
                bound.uses.append(Use("reexport", line, scope=reader.name, file=reader.file,
                                      detail=f"read as {dotted} by {reader.name} "
                                             f"({reader.file}:{line})"))


def _pin_rebound_sources(scans: dict[str, ModuleScan], tests: list[ModuleScan]) -> None:
    """`from mod import Name` where `mod.Name` changes after import (a function of `mod`
    rebinds it through `global`, or some module or test assigns `mod.Name = ...`): the
    import keeps the value it had then, where one moved into a function would read the new
    one. Pinned as a rebinding of the name (a helper's attack: `use_soft_locks()` swapping
    `Lock` made a moved import return the other class)."""
    writes: dict[str, str] = {}
    for reader in (*scans.values(), *tests):
        for dotted, line in reader.attribute_writes:
            writes.setdefault(dotted, f"assigned as {dotted} by {reader.name} "
                                      f"({reader.file}:{line})")
    for scan in scans.values():
        for site in scan.sites:
            if site.kind != "from":
                continue
            source = scans.get(site.imported)
            for bound in site.names:
                if bound.is_module:
                    continue
                attr = bound.target.rpartition(".")[2]
                how = writes.get(bound.target) or (source.rebinders.get(attr)
                                                   if source is not None else None)
                if how is not None:
                    bound.uses.append(Use("changed", site.line,
                                          detail=f"`{bound.target}` changes after import "
                                                 f"({how})"))


class _BoundIndex:
    """The names each module's imports bind, by name, built once per module on first use:
    `_bound` scans every site of a module on each call."""

    def __init__(self, scans: dict[str, ModuleScan]) -> None:
        self.scans = scans
        self.by_module: dict[str, dict[str, list[BoundName]]] = {}

    def get(self, module: str, name: str) -> list[BoundName]:
        names = self.by_module.get(module)
        if names is None:
            names = self.by_module[module] = {}
            for bound in _bound(self.scans[module]):
                names.setdefault(bound.name, []).append(bound)
        return names.get(name, [])


def _owner(scans: dict[str, ModuleScan], dotted: str) -> tuple[str, str] | None:
    """(module, name) for the longest project module `dotted` starts with, and the name
    after it: `pkg.mod.Name.attr` -> (`pkg.mod`, `Name`)."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if module in scans:
            return module, parts[cut]
    return None


def _bound(scan: ModuleScan) -> list[BoundName]:
    """The names `scan`'s imports bind (outside `TYPE_CHECKING` and `lazy`)."""
    return [b for site in scan.sites if site.guard not in ("TYPE_CHECKING", "lazy")
            for b in site.names]


def classify_sites(scans: dict[str, ModuleScan], effects: EffectModel,
                   target: tuple[int, int]) -> list[ImportSite]:
    mark_runtime_annotations(scans)
    tops = {name.split(".")[0] for name in scans}
    out: list[ImportSite] = []
    for scan in scans.values():
        for site in scan.sites:
            if site.guard in ("TYPE_CHECKING", "lazy"):
                continue
            site.external = site.imported.split(".")[0] not in tops
            site.stdlib = site.external and is_stdlib(site.imported)
            for bound in site.names:
                bound.is_module = site.kind == "import" or bound.target in scans
            out.extend(_classify_site(scan, site, effects, scans, target))
    out.sort(key=lambda s: (s.file, s.line))
    return out


def _classify_site(scan: ModuleScan, site: ImportSite, effects: EffectModel,
                   scans: dict[str, ModuleScan], target: tuple[int, int],
                   released: frozenset[str] = frozenset()) -> list[ImportSite]:
    """The site, split into one part per class its names fall in."""
    groups: dict[tuple[str, str], list[tuple[BoundName, str, list[str], list[str]]]] = {}
    for bound in site.names:
        klass, reason, pins, found = _classify(scan, site, bound, effects, scans, released)
        groups.setdefault((klass, reason), []).append((bound, klass, pins, found))
    out = []
    for (klass, reason), members in groups.items():
        part = site if len(groups) == 1 else copy.copy(site)
        if part is not site:
            part.savings = []  # a shallow copy would share the list
        part.names = [m[0] for m in members]
        part.klass, part.reason = klass, reason
        part.pins = [p for m in members for p in m[2]]
        part.effects = members[0][3]
        part.load_only = klass == "side-effect" and all(
            _load_only(scan, site, m[0], effects, scans, released) for m in members)
        part.fix = _fix_text(part, target)
        out.append(part)
    return out


def release_preloaded_effects(sites: list[ImportSite], scans: dict[str, ModuleScan],
                              effects: EffectModel, target: tuple[int, int],
                              processes: list[ProcessProfile],
                              paths: dict[str, str]) -> list[ImportSite]:
    """`sites` with each side-effect site classified again without the effects the measured
    entrypoints had already performed when they ran it: a module doing them was first loaded
    through another import (`pkg.a` and `pkg.b` both import a registering library; the
    entry loads `pkg.a` first). Needs a process that ran the site; judged on these entries."""
    loads = [_FirstLoads(process) for process in processes]
    out: list[ImportSite] = []
    for site in sites:
        scan = scans.get(site.module)
        if site.klass != "side-effect" or scan is None:
            out.append(site)
            continue
        keys = {f"{os.path.realpath(paths.get(site.file, site.file))}:{line}"
                for line in range(site.line, site.end_line + 1)}
        ran = [first for first in loads if first.executed & keys]
        earlier = _earlier_targets(scan, site)
        released = frozenset(
            module for module in _effect_modules(scan, site, effects, scans, True,
                                                 site.names[0] if site.names else None)
            if ran and effects.performers(module)
            and all(first.before(effects.performers(module), keys, earlier) for first in ran))
        out.extend(_classify_site(scan, site, effects, scans, target, released)
                   if released else [site])
    return out


class _FirstLoads:
    """Which import statements a measured process ran, and the chain of statements that first
    loaded each module."""

    def __init__(self, process: ProcessProfile) -> None:
        self.modules = {m.name: m for m in process.imported()}
        self.executed = {key for key in (_norm(e.site) for e in process.edges) if key}
        self.executed |= {key for key in (_norm(m.site) for m in self.modules.values()) if key}

    def before(self, performers: set[str], keys: set[str],
               earlier: frozenset[str] = frozenset()) -> bool:
        """No performer was first loaded through the statement at `keys`, other than through
        `earlier` (the modules its names before the site's import, run before it)."""
        for name in performers:
            record = self.modules.get(name)
            seen: set[str] = set()
            while record is not None and record.name not in seen:
                seen.add(record.name)
                if _norm(record.site) in keys:
                    if record.name in earlier:
                        break
                    return False
                record = self.modules.get(record.importer) if record.importer else None
        return True


def _classify(scan: ModuleScan, site: ImportSite, bound: BoundName, effects: EffectModel,
              scans: dict[str, ModuleScan], released: frozenset[str] = frozenset()
              ) -> tuple[str, str, list[str], list[str]]:
    contexts = {u.context for u in bound.uses} - {"rebound", "changed"}  # not uses
    own_package = site.package_init and not site.external and (
        site.imported == scan.name or site.imported.startswith(scan.name + "."))
    # Not a lazy re-export: one chosen by try/except ImportError (its fallback must be
    # chosen at import: needed below).
    lazy_reexport = own_package and not bound.name.startswith("_") and site.guard != "try"
    if own_package and site.kind == "from" and bound.is_module:
        # The import also sets `pkg.sub` on the package: kept where a lazy table would not
        # give the same, a submodule bound under another name (`from pkg import sub as s`:
        # `pkg.sub` too), or a name the module binds again (`def sub()` later: the
        # submodule's first load, deferred, would overwrite it on the package).
        sub = bound.target.rpartition(".")[2]
        if sub != bound.name:
            pin = f"binds submodule `{bound.target}` as `{bound.name}`, and sets `{sub}` on " \
                  "the package too"
            return "needed", pin, [pin], []
        if any(u.context == "rebound" for u in bound.uses):
            pin = f"`{bound.name}` is bound again in the module: a deferred first load of " \
                  f"`{bound.target}` would overwrite that binding on the package"
            return "needed", pin, [pin], []
    pins = [_pin(u, site) for u in bound.uses
            # a second binding matters to a moved import only (try/except: pinned below)
            if (u.context in PINNING_CONTEXTS and not (u.context == "rebound" and (
                site.guard == "try" or not contexts - {"all", "reexport"}))
                # a value read late matters to any use, a lazy re-export's too
                and not (u.context == "changed" and not contexts))
            or (u.context == "reexport" and not lazy_reexport)]
    if site.noqa:
        pins.append("marked `# noqa`: kept on purpose")
    submodule = _deleted_submodule(scan, site)
    if submodule:
        pins.append(f"binds submodule attribute `{submodule}`, which `del {submodule}` at line "
                    f"{scan.deleted[submodule]} removes")
    if pins:
        return "needed", pins[0], _unique(pins), []
    dunder = bound.name.startswith("__") and bound.name.endswith("__")
    if site.package_init and dunder and site.guard != "TYPE_CHECKING":
        pin = f"a dunder name of the package __init__ (`{scan.name}.{bound.name}` is public API)"
        return "needed", pin, [pin], []
    if (site.package_init and site.kind == "from" and not lazy_reexport
            and scan.all_names is None and not bound.name.startswith("_")
            and site.guard != "TYPE_CHECKING"):
        # `pkg.Name` / `from pkg import Name` of code outside the project: removed, moved or
        # replaced by a typing alias, the name would be gone or a ForwardRef
        return "needed", PUBLIC_INIT_PIN, [PUBLIC_INIT_PIN], []

    unused = not (contexts - {"all", "reexport"})
    modules = [m for m in _effect_modules(scan, site, effects, scans, unused, bound)
               if m not in released]
    found: list[str] = []
    running = _running(scan)
    for module in modules:
        within = running
        if effects.of(module, running) and effects.cyclic_with(module, scan.name):
            # it imports this module back, which is half-run then, not run again
            within = running | {scan.name}
        found.extend(f"{module}: {e}" for e in effects.of(module, within))
    if found and (unused or any(m in scans for m in modules)):
        if unused:
            reason = f"unused, but importing it has effects ({found[0]})"
        else:
            reason = (f"importing it has effects that deferring would delay ({found[0]})")
        return "side-effect", reason, [], found

    if not unused and ("all" in contexts or bound.explicit_reexport):
        # Also used in functions or annotations, but public: moving it out of the module's
        # namespace would break `mod.name` and `from mod import name`.
        pin = ("re-exported: listed in __all__" if "all" in contexts
               else f"re-exported: `{bound.name} as {bound.name}`")
        return "needed", pin, [pin], []
    if unused:
        if lazy_reexport:
            return ("deferrable", "re-exported by the package __init__: a lazy __getattr__ "
                    "keeps the name importable", [], [])
        if "all" in contexts:
            pin = "re-exported: listed in __all__"
            return "needed", pin, [pin], []
        if bound.explicit_reexport:
            pin = f"re-exported: `{bound.name} as {bound.name}`"
            return "needed", pin, [pin], []
        if site.guard == "try":
            pin = "an availability check: a try/except ImportError handles its absence"
            return "needed", pin, [pin], []
        named = _named_in_a_string(scan, site.imported)
        if named:
            pin = (f"`{site.imported}` is named in a string at line {named} (exec'd or eval'd "
                   f"code, or a hint to freezers such as py2app, may need it imported)")
            return "needed", pin, [pin], []
        return "dead", "never used", [], []
    if site.guard == "try":
        pin = "chosen at import: a try/except ImportError picks a fallback"
        return "needed", pin, [pin], []
    if contexts & {"function", "lambda"}:
        scopes = sorted({u.scope for u in bound.uses if u.scope})
        where = ", ".join(f"{s}()" for s in scopes[:4]) + (" ..." if len(scopes) > 4 else "")
        if "lambda" in contexts:
            where = (where + ", " if where else "") + "a module-level lambda"
        return "deferrable", f"used only inside {where}", [], []
    return "typing-only", "used only in annotations", [], []


def _effect_modules(scan: ModuleScan, site: ImportSite, effects: EffectModel,
                    scans: dict[str, ModuleScan], unused: bool,
                    bound: BoundName | None = None) -> list[str]:
    """The modules whose effects importing at `site` may cause and count: the project's, and
    for an unused name libraries' (a standard-library module only if known for its effect).
    The importing module and its packages have run already: their effects are not this
    site's; nor are those an earlier import of this module has performed. A name of
    `from pkg import a, b` counts its own and those of every name after it in the statement
    (all of them without `bound`): `pkg.b` may rely on `pkg.a` having been imported before
    it (`pkg.a.register(...)` at its import), so `a` may not go while `b` stays; `a` ran
    before `b` was imported, so `b` may go while `a` stays."""
    names = _from_here(scan, site, bound) if bound is not None else site.names
    return [m for m in dict.fromkeys(parents(site.imported) + [b.target for b in names
                                                               if b.target in scans])
            if not (scan.name == m or scan.name.startswith(m + "."))
            and (m in scans or unused and not (is_stdlib(m) and m not in KNOWN_EFFECTS))
            and not effects.performed_before(m, scan, site.line)]


def _load_only(scan: ModuleScan, site: ImportSite, bound: BoundName, effects: EffectModel,
               scans: dict[str, ModuleScan], released: frozenset[str]) -> bool:
    """Whether the effects of importing `bound` at `site` are all of loading the statement's
    module (or its packages), and `bound` is a plain attribute that module binds at its top
    level (a def, class, assignment or import there, not a submodule, not a module
    `__getattr__`'s), used only inside functions: moved there while the load stays in place
    (the statement's other names, or a bare load), it delays none of them. A later name of
    the statement that is a submodule with effects of its own makes it no."""
    if site.kind != "from" or site.guard is not None or site.noqa or site.package_init \
            or bound.is_module or bound.explicit_reexport:
        return False
    if {u.context for u in bound.uses} != {"function"}:
        return False
    attr = bound.target.rpartition(".")[2]
    source = scans.get(site.imported)
    if source is None or f"{site.imported}.{attr}" in scans or \
            not (attr in source.defined or attr in source.bindings):
        return False
    loads = set(parents(site.imported))
    running = _running(scan)
    return all(module in loads or not effects.of(module, running)
               for module in _effect_modules(scan, site, effects, scans, False, bound)
               if module not in released)


def _running(scan: ModuleScan) -> frozenset[str]:
    """The packages of the importing module: they have run (or are running) before it."""
    return frozenset(parents(scan.name) if scan.is_package else parents(scan.name)[:-1])


def _earlier_targets(scan: ModuleScan, site: ImportSite) -> frozenset[str]:
    """The modules the names of `site`'s whole statement before `site`'s first name import
    (`from pkg import a, b`: `pkg.a` for the part `b`)."""
    names = _statement_names(scan, site, site.names[0]) if site.names else []
    first = next((i for i, name in enumerate(names) if name is site.names[0]), 0)
    return frozenset(b.target for b in names[:first] if b.target)


def _from_here(scan: ModuleScan, site: ImportSite, bound: BoundName) -> list[BoundName]:
    """The names of `site`'s whole statement (before it was split by class) from `bound` on."""
    names = _statement_names(scan, site, bound)
    index = next((i for i, name in enumerate(names) if name is bound), 0)
    return names[index:]


def _statement_names(scan: ModuleScan, site: ImportSite, bound: BoundName) -> list[BoundName]:
    """Every name of the statement `site` is (a part of) and `bound` is in, in order; the
    site's own names if it is not found."""
    for whole in _sites_at(scan, site.line):
        if whole.imported == site.imported and any(name is bound for name in whole.names):
            return whole.names
    return site.names


#: id(scan) -> (the scan, its statements by line): one index per module, not a scan of
#: every statement for every name (a module with thousands of imports stays linear).
_BY_LINE: dict[int, tuple[ModuleScan, dict[int, list[ImportSite]]]] = {}


def _sites_at(scan: ModuleScan, line: int) -> list[ImportSite]:
    cached = _BY_LINE.get(id(scan))
    if cached is None or cached[0] is not scan:
        index: dict[int, list[ImportSite]] = {}
        for whole in scan.sites:
            index.setdefault(whole.line, []).append(whole)
        if len(_BY_LINE) > 4096:
            _BY_LINE.clear()
        cached = _BY_LINE[id(scan)] = (scan, index)
    return cached[1].get(line, [])


def _named_in_a_string(scan: ModuleScan, module: str) -> int | None:
    """The first line where `module`'s dotted name stands inside a string literal of the file
    (`exec("from patsy.builtins import *", ...)`), or None. Only dotted names count: a bare
    `json` in a string is too common to mean anything."""
    if "." not in module:
        return None
    import re

    quoted = re.compile(r"""["'][^"'\n]*(?<![\w.])""" + re.escape(module) + r"(?![\w])")
    for number, line in enumerate(scan.lines, 1):
        if module in line and quoted.search(line):
            return number
    return None


def _deleted_submodule(scan: ModuleScan, site: ImportSite) -> str | None:
    """`sub` when a package __init__ imports from its submodule `sub` and later runs
    `del sub`: the import is what bound `sub`, so moving it makes the `del` a NameError."""
    if not (scan.is_package and scan.deleted):
        return None
    prefix = scan.name + "."
    if not site.imported.startswith(prefix):
        return None
    sub = site.imported[len(prefix):].split(".")[0]
    return sub if sub in scan.deleted else None


def _pin(use: Use, site: ImportSite) -> str:
    if use.detail:
        return use.detail
    words = _PIN_WORDS.get(use.context, use.context)
    if use.context == "reexport":
        return f"{words} {use.scope} ({use.file}:{use.line})"
    if use.context == "test-patch":
        return f"{words}: {use.scope!r} ({use.file}:{use.line})"
    return f"{words} (line {use.line})"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


#: The pin of a public name of a package `__init__` without `__all__`: code outside the
#: project may import it (`fix` can still move it, re-exporting it lazily: `movable_public`).
PUBLIC_INIT_PIN = "a public name of the package __init__ (no __all__): other code may import it"


def movable_public(site: ImportSite) -> bool:
    """A `from` import of a package `__init__` pinned only as a public name, whose names the
    package uses only inside its functions (and other modules may import): `fix` moves it
    into those functions AND re-exports the names lazily, so they stay importable."""
    if site.klass != "needed" or site.pins != [PUBLIC_INIT_PIN] or site.kind != "from" \
            or site.guard is not None or site.noqa:
        return False
    for bound in site.names:
        contexts = {u.context for u in bound.uses}
        if bound.is_module or "function" not in contexts or contexts - {"function", "reexport"}:
            return False
    return True


def _fix_text(site: ImportSite, target: tuple[int, int]) -> str:
    if movable_public(site):
        scopes = sorted({u.scope for b in site.names for u in b.uses if u.scope})
        return ("move it into " + ", ".join(f"{s}()" for s in scopes[:4]) + " and re-export "
                "it lazily (__getattr__, .pyi stub): the name stays importable")
    if site.klass == "dead":
        return "remove it"
    if site.klass == "typing-only":
        return "move it under `if TYPE_CHECKING:` with a runtime alias for get_type_hints"
    if site.klass != "deferrable":
        return ""
    if site.package_init and site.reason.startswith("re-exported"):
        return "lazy __getattr__/__dir__ in the package __init__, plus a .pyi stub"
    if target >= (3, 15):
        return "`lazy import` (PEP 810)"
    lambdas = any(u.context == "lambda" for b in site.names for u in b.uses)
    if lambdas:
        return "__lazy_modules__ (a module-level lambda uses it, so it cannot move)"
    scopes = sorted({u.scope for b in site.names for u in b.uses if u.scope})
    return "move it into " + ", ".join(f"{s}()" for s in scopes[:4]) + \
        (f" and {len(scopes) - 4} more" if len(scopes) > 4 else "")
