"""What a traced run found: forbidden modules, modules not in the lock, modules new since a
baseline; one finding per cause, each with its first-load chain and the project's line."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Sequence

from .config import EntryConfig, project_file
from .lockfile import LockedSet, comparable
from .model import EntryResult, ModuleFinding, Step

__all__ = ["forbidden", "compare_lock", "since_baseline"]


def _relative_site(site: str | None, roots: Sequence[Path]) -> str | None:
    if not site:
        return site
    path, _, line = site.rpartition(":")
    for root in roots:
        relative = project_file(path, root)
        if relative is not None:
            return f"{relative}:{line}"
    return site


def _chain(tree, name: str, roots: Sequence[Path], head: str | None) -> list[Step]:
    """The first-load chain to `name`; `head`, the module `-m` runs as __main__, first."""
    steps = [Step(record.name, _relative_site(record.site, roots))
             for record in tree.chain(name)]
    return ([Step(head)] if head and (not steps or steps[0].module != head) else []) + steps


def _owner(name: str, found: dict[str, ModuleFinding]) -> ModuleFinding | None:
    """The finding for `name` or for a package it is inside (looked up per dotted parent:
    no scan of every finding)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        finding = found.get(".".join(parts[:end]))
        if finding is not None:
            return finding
    return None


def _group(candidates: dict[str, str], tree, roots, head: str | None,
           rules: dict[str, str] | None = None) -> list[ModuleFinding]:
    """One finding per cause. `candidates` maps each finding's name to the module its chain
    leads to. In load order, a candidate inside an earlier finding's package, or whose chain
    passes through one, is counted by that finding (`covers`): one `import email.parser`
    line is one finding, not one per module it drags in."""
    order = {record.name: record.order for record in tree.process.modules}
    found: dict[str, ModuleFinding] = {}
    for name, target in sorted(candidates.items(),
                               key=lambda item: (order.get(item[1], 1 << 62), item[0])):
        cause = None
        for record in reversed(tree.chain(target)):
            cause = _owner(record.name, found)
            if cause is not None:
                break
        cause = cause or _owner(name, found)
        if cause is not None and rules and rules.get(name) != cause.rule \
                and not cause.module.startswith(name + "."):
            cause = None  # a rule of its own: named, not folded into another rule's finding
        if cause is not None:
            cause.covers += 1
            if cause.module.startswith(name + "."):
                # `import email.parser` starts before `email` runs: name the package.
                del found[cause.module]
                cause.module = name
                cause.chain = _chain(tree, target, roots, head)
                cause.rule = (rules or {}).get(name, cause.rule)
                found[name] = cause
            continue
        found[name] = ModuleFinding(name, _chain(tree, target, roots, head),
                                    rule=(rules or {}).get(name))
    return list(found.values())


def forbidden(entry: EntryConfig, modules: set[str], tree, roots,
               head: str | None) -> list[ModuleFinding]:
    """The modules matching a `forbid` glob, one finding per cause."""
    rules = {}
    for name in modules:
        rule = next((p for p in entry.forbid
                     if fnmatchcase(name, p) or name.startswith(p + ".")), None)
        if rule is not None:
            rules[name] = rule
    return _group({name: name for name in rules}, tree, roots, head, rules)


def compare_lock(result: EntryResult, entry: EntryConfig, locked: LockedSet | None,
                  modules: set[str], tree, roots, head: str | None) -> None:
    if entry.lock is None:
        return
    if locked is None:
        result.lock = "missing"
        return
    current = comparable(modules, locked.scope)
    added = current - locked.modules - locked.varies
    result.removed = sorted(locked.modules - current)
    first: dict[str, str] = {}  # with scope "packages": a top-level name's first module
    if locked.scope == "packages":
        for record in sorted(tree.process.modules, key=lambda r: r.order):
            first.setdefault(record.name.partition(".")[0], record.name)
    result.added = _group({name: first.get(name, name) for name in added}, tree, roots, head)
    result.lock = "changed" if (added or result.removed) else "ok"


def since_baseline(result: EntryResult, modules: set[str], before: set[str], tree,
                    roots, head: str | None) -> None:
    """What the entry loads that the baseline did not (one finding per cause, with its
    chain), and what only the baseline loaded."""
    result.baseline_modules = len(before)
    new = comparable(modules - before)
    result.new_since_baseline = _group({name: name for name in new}, tree, roots, head)
    result.gone_since_baseline = sorted(comparable(before - modules))
