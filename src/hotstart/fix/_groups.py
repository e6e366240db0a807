"""Joint plans: the import changes of one `fix`, grouped by what leaves the start-up path.

A library imported at three fixable sites leaves an entry's path only when all three go;
alone, each saves nothing. So, for each measured entry's observed import graph:

- the *candidate* statements are the ones the plan can change on that entry (every part of
  the statement planned, none used by a function the entry runs); the edges of every other
  statement stay, and so do the edges of the changes that cannot be made;
- B is what still loads with every candidate edge gone;
- any other module m that loads today is reached, on each of its import paths, through a
  *last* candidate edge (past it, only edges that stay). The statements that own such last
  edges must all go for m to leave, and when they all go m leaves, whatever else stays.

Union-find over the modules outside B (joined along the edges that stay between them) and
the candidate statements (joined to the targets of their edges) gives the groups: a group's
modules leave when the whole group goes, and the groups' module sets partition what leaves
when every candidate goes. One pass over the graph with near-constant union-find (no subsets
tried): linear in its edges.

`plan_groups` takes groups in rounds, to a fixed point, with what it took counted as gone:
dead imports first (removed whatever they save), then every statement that saves on its own
(each priced by what it adds), and only when there is none, the union-find groups. So a group
stays small (a stdlib module that a library also imports does not pull its importers into the
library's group), and the savings add up. Groups of different entries that share a statement
are merged (a change is kept or reverted once). A group is kept or reverted as a whole.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..audit.graph import parents
from ..audit.model import AuditReport, Entry, Saving
from ..audit.savings import EDGE, ObservedGraph, observed_graph, site_keys, trailing_part
from ._lazy_reads import lazy_read_unit, lazy_reexports, pins, with_lazy_reads
from .plan import Change, CodeSite, Skipped

__all__ = ["Group", "left_unused", "measured_graphs", "plan_groups", "program_groups",
           "single_groups"]


@dataclass(slots=True)
class Group:
    """Changes kept or reverted together, and what they save together."""
    changes: list[Change]
    #: Per measured entry, what leaves its path when the whole group goes (predicted).
    savings: list[Saving] = field(default_factory=list)
    #: Per entry name, every module predicted to leave (the deterministic part).
    leaving: dict[str, list[str]] = field(default_factory=dict)
    #: Per entry name, the predicted modules that still loaded after the write (re-profiled).
    still_loaded: dict[str, list[str]] = field(default_factory=dict)
    #: Whether its saving holds on the running interpreter (False: `__lazy_modules__` with
    #: no run-time support, lazy on 3.15+ only): not counted in totals, not re-measured.
    claimed: bool = True

    def libraries(self, limit: int = 4) -> list[str]:
        """The top-level packages that leave, heaviest first."""
        seen: dict[str, None] = {}
        for saving in sorted(self.savings, key=lambda s: -s.us):
            for name in saving.modules:
                seen.setdefault(name.split(".")[0], None)
        return list(seen)[:limit]

    def modules_off(self, which: dict[str, list[str]] | None = None, limit: int = 4
                    ) -> list[str]:
        """The outermost of the modules that leave (`which`: per entry, else `leaving`): a
        module whose package leaves too is left out (`rich`, not `rich.console`), so a
        submodule of a package that stays is named as itself
        (`huggingface_hub.utils._chunk_utils`, not `huggingface_hub`). Heaviest first."""
        which = self.leaving if which is None else which
        leaving = {m for modules in which.values() for m in modules}
        order = [m for saving in sorted(self.savings, key=lambda s: -s.us)
                 for m in saving.modules] + sorted(leaving)
        return [m for m in dict.fromkeys(order) if m in leaving and
                not any(p in leaving for p in parents(m)[:-1])][:limit]

    def label(self) -> str:
        first = self.changes[0].id
        return first if len(self.changes) == 1 else f"{first} (+{len(self.changes) - 1} in " \
                                                    f"its group)"


class _Union:
    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, item: object) -> object:
        parent = self.parent
        parent.setdefault(item, item)
        while parent[item] != item:  # path halving
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: object, b: object) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


def measured_graphs(report: AuditReport) -> list[tuple[Entry, ObservedGraph]]:
    """The measured entries whose observed graph this process still has."""
    found = []
    for entry in report.entries:
        graph = observed_graph(entry) if entry.measured else None
        if graph is not None:
            found.append((entry, graph))
    return found


def single_groups(changes: list[Change]) -> list[Group]:
    """One group per change, priced as the audit priced its site (`--plan sites`, and the
    program codemods before `_price_programs` prices the lazy CLI registrations)."""
    groups = []
    for change in changes:
        group = Group([change], claimed=change.claimed)
        site = change.site
        savings = site.savings or ([site.best_saving] if site.best_saving else [])
        for saving in savings:
            if (saving.dropped or saving.us) and not saving.used_at_run:
                group.savings.append(saving)
                if saving.dropped:
                    group.leaving[saving.entry] = list(saving.modules)
        groups.append(group)
    return groups


def left_unused(report: AuditReport, programs: list[Change]
                ) -> list[tuple[Change, list[Change]]]:
    """The imports whose every use a program change replaces (`import inspect` once the
    caller-name rewrite took its only `inspect.stack()`): a removal each, with the program
    changes it goes with. Else the next `fix` would find them dead: one run must reach the
    fixed point. Only deferrable imports (the audit's rules let them leave module level)
    whose every use is in a rewritten function at a rewritten line; the rewrite checks that
    the names are not read any more, and keeps the import if they are."""
    by_file: dict[str, list[Change]] = defaultdict(list)
    for change in programs:
        by_file[change.site.file].append(change)
    found = []
    for site in report.sites:
        mine = by_file.get(site.file)
        if not mine or site.klass != "deferrable" or site.guard or site.noqa or \
                not site.names or site.file not in report.paths:
            continue
        owners: list[Change] = []
        for bound, use in ((b, u) for b in site.names for u in b.uses):
            word = re.compile(rf"(?<![\w.]){re.escape(bound.name)}\b")
            owner = next((c for c in mine if use.file is None and use.context == "function"
                          and use.scope == c.site.data.get("function")
                          and use.line == c.site.line
                          and word.search(c.site.data.get("expression", ""))), None)
            if owner is None:
                break
            owners.append(owner)
        else:
            if owners:
                owners = list({id(c): c for c in owners}.values())
                found.append((Change(site, "remove", report.paths[site.file],
                                     f"removed: its last use goes with the {mine[0].site.klass}"
                                     f" rewrite"), owners))
    return found


def program_groups(programs: list[Change], companions: list[tuple[Change, list[Change]]]
                   ) -> list[Group]:
    """One group per program change, but a removal of an import it leaves unused goes with
    every program change that uses the import (the import cannot go before they do)."""
    union = _Union()
    for removal, owners in companions:
        for owner in owners:
            union.union(id(removal), id(owner))
    members: dict[object, list[Change]] = defaultdict(list)
    for change in [*programs, *(removal for removal, _ in companions)]:
        members[union.find(id(change))].append(change)
    groups = []
    for changes in members.values():
        [group] = single_groups(changes[:1])
        group.changes = changes
        groups.append(group)
    return groups


def plan_groups(report: AuditReport, candidates: list[Change], blocked: set[tuple[str, int]],
                graphs: list[tuple[Entry, ObservedGraph]], min_saving_us: float = 0.0,
                include_all: bool = False, programs: list[Group] | None = None
                ) -> tuple[list[Group], list[Skipped]]:
    """Group `candidates` (every change the plan could make) by what leaves the measured
    entries' paths. `blocked`: statements (file, line) that stay whatever is planned (a part
    that cannot be made). Returns the groups to make, in the order they were found, and the
    changes left out, with why. `programs`: the program codemods' groups, priced after the
    import groups (`_price_programs`) and returned after them.

    Rounds, to a fixed point, with the statements already taken as gone: first every
    statement that saves on its own (each a group, priced by what it adds); when there is
    none, the groups that save only together (the union-find of the module docstring), each
    kept whole. Dead statements are taken first, whatever they save (`fix` removes them).
    A group's saving is what it adds to the ones found before it: `--verify` may revert an
    earlier one, and re-profiling then finds a later one that measures nothing."""
    statements: dict[tuple[str, int], list[Change]] = defaultdict(list)
    for change in candidates:
        statements[(change.site.file, change.site.line)].append(change)
    reexports = lazy_reexports(candidates)
    observed, graphs = graphs, with_lazy_reads(graphs, reexports)
    whole = _whole_statements(report, statements, blocked, reexports)
    in_units = {id(c) for key in whole for c in statements[key]}
    entries = [_EntryState(entry, graph, report, statements, whole) for entry, graph in graphs]
    groups: list[Group] = []
    taken: set[tuple[str, int]] = set()
    low: set[tuple[str, int]] = set()  # saves, but less than --min-saving
    dead = [k for k in sorted(whole) if all(c.action == "remove" for c in statements[k])]
    for key in dead:
        groups.append(_take([key], statements, entries, [e.adds([key]) for e in entries]))
        taken.add(key)
    while True:
        remaining = [k for k in sorted(whole) if k not in taken and k not in low]
        found = _joint(remaining, entries)
        if not found:
            break
        singles = [members for members in found if len(members) == 1]
        for members in found:
            if len(members) > 1:
                singles.extend([k] for k in members if any(e.alone(k) for e in entries))
        progress = False
        for batch in (singles, [m for m in found if len(m) > 1]):
            for members in batch:
                more = [e.adds(members) for e in entries]
                if not any(more):
                    continue  # an earlier single of this round took its modules
                if not any(e.graph.saving_of(e.name, m).us >= min_saving_us
                           for e, m in zip(entries, more) if m):
                    low.update(members)
                    continue
                groups.append(_take(members, statements, entries, more))
                taken.update(members)
                progress = True
            if progress:
                break  # what the singles took may split the joint groups: plan them again
        if not progress:
            break
    if programs:
        groups += _price_programs(report, programs, entries)
    made = {id(c) for g in groups for c in g.changes}
    skipped: list[Skipped] = []
    for change in candidates:
        if id(change) in made:
            continue
        if change.action == "remove" or include_all:  # dead: removed whatever it saves
            groups.append(Group([change], claimed=change.claimed))
            continue
        key = (change.site.file, change.site.line)
        if key not in whole or id(change) not in in_units:
            why = "the same statement imports names that stay"
        elif key in low:
            why = "its group saves less than --min-saving on the measured entrypoints"
        else:
            why = ("saves nothing measurable on the measured entrypoints, even with every "
                   "other fixable import deferred")
        skipped.append(Skipped(change.site, why))
    _name_pins(report, skipped, candidates, made, observed)
    return groups, skipped


def _name_pins(report: AuditReport, skipped: list[Skipped], candidates: list[Change],
               made: set[int], graphs: list[tuple[Entry, ObservedGraph]]) -> None:
    """A lazy re-export left out because a statement that stays reads one of its names at
    import (its module then loads there) says which statement, not only that it saves
    nothing."""
    generic = {id(s.site): i for i, s in enumerate(skipped) if s.why.startswith("saves nothing")}
    lazy = [c for c in candidates if id(c) not in made and id(c.site) in generic
            and c.action in ("lazy-init", "move-lazy-init")]
    if lazy:
        planned = [c for c in candidates if id(c) in made]
        for change, why in pins(report, lazy, planned, graphs):
            skipped[generic[id(change.site)]] = Skipped(change.site, why)


class _EntryState:
    """One measured entry while groups are taken: its graph, the candidate statements' edge
    keys, and the edges removed so far (with what is gone)."""

    def __init__(self, entry: Entry, graph: ObservedGraph, report: AuditReport,
                 statements: dict[tuple[str, int], list[Change]],
                 whole: dict[tuple[str, int], set[str]]) -> None:
        self.name = entry.name
        self.graph = graph
        self.keys: dict[tuple[str, int], set[str]] = {}
        for key, edge_keys in whole.items():
            changes = statements[key]
            if not any(_used_on(c, entry.name) for c in changes):  # else: only delayed
                self.keys[key] = edge_keys
        self.removed: set[str] = set()
        self.gone: set[str] = set()
        # Set by each round of `_entry_groups`: what loads now, and what loads with every
        # remaining candidate gone.
        self.now: set[str] = set()
        self.stays: set[str] = set()
        self.preds: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
        owner = {k: statement for statement, keys in self.keys.items() for k in keys}
        #: Each candidate statement's observed edges: (importer, target, edge key).
        self.edges: dict[tuple[str, int], list[tuple[str, str, str]]] = defaultdict(list)
        for importer, edges in graph.adjacency.items():
            for target, edge_key in edges:
                self.preds[target].append((importer, edge_key))
                key = _owned(owner, edge_key, target)
                if key is not None:
                    self.edges[owner[key]].append((importer, target, key))

    def alone(self, statement: tuple[str, int]) -> bool:
        """Whether `statement` going alone takes some module off the path: one of its
        targets is no longer reached. Searched backwards from each target over the edges
        that stay, up to a module that loads even with every remaining candidate gone
        (`stays`): the search stays inside the part of the graph that can leave."""
        own = self.keys.get(statement, set()) - self.removed
        targets = {t for importer, t, k in self.edges.get(statement, ())
                   if importer in self.now and k in own and t in self.graph.modules}
        for target in targets - self.stays:
            seen, stack, reached = {target}, [target], False
            while stack and not reached:
                module = stack.pop()
                for importer, edge_key in self.preds.get(module, ()):
                    if importer not in self.now or importer in seen or \
                            _removes(own, edge_key, module) or \
                            _removes(self.removed, edge_key, module):
                        continue
                    if importer in self.stays:
                        reached = True
                        break
                    seen.add(importer)
                    stack.append(importer)
            if not reached:
                return True
        return False

    def adds(self, members: list[tuple[str, int]]) -> set[str]:
        """The modules that leave besides those gone when `members` go too."""
        keys = {k for m in members for k in self.keys.get(m, ())}
        if not keys - self.removed:
            return set()
        return self.graph.gone(self.removed | keys) - self.gone

    def take(self, members: list[tuple[str, int]], more: set[str]) -> None:
        """`members` go, and with them `more` (what `adds` said)."""
        self.removed.update(k for m in members for k in self.keys.get(m, ()))
        self.gone |= more


def _take(members: list[tuple[str, int]], statements, entries: list[_EntryState],
          adds: list[set[str]]) -> Group:
    """The group of `members`, taken on each entry, priced by what it adds there (`adds`)."""
    changes = sorted((c for key in members for c in statements[key]),
                     key=lambda c: (c.site.file, c.site.line))
    group = Group(changes, claimed=all(c.claimed for c in changes))
    for state, more in zip(entries, adds):
        state.take(members, more)
        if more:
            group.savings.append(state.graph.saving_of(state.name, more))
            group.leaving[state.name] = sorted(more)
    return group


def _price_programs(report: AuditReport, programs: list[Group], entries: list[_EntryState]
                    ) -> list[Group]:
    """The program groups, the lazy CLI registrations priced: a registration takes its
    command's import statement off the path when the registrations of the fix bind every
    name the statement imports and nothing else reads them (each use is a registration they
    replace; a use in a function keeps the statement, unpriced). Priced as that statement
    gone, after the import groups; the groups that share a statement are merged (it leaves
    only when all of them go)."""
    lines: dict[tuple[str, str], list[range]] = defaultdict(list)  # (file, name) -> spans
    owners: dict[tuple[str, str], list[int]] = defaultdict(list)    # -> group indexes
    for index, group in enumerate(programs):
        for change in group.changes:
            site = change.site
            if isinstance(site, CodeSite) and site.klass == "cli" and site.data.get("binding"):
                key = (site.file, site.data["binding"])
                lines[key].append(range(site.line, max(site.end_line, site.line) + 1))
                owners[key].append(index)
    files = {file for file, _name in lines}
    statements: dict[tuple[str, int], list] = defaultdict(list)  # every part of each
    for site in report.sites:
        if site.file in files:
            statements[(site.file, site.line)].append(site)
    union = _Union()
    removes: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for key, sites in statements.items():
        bound = [b for s in sites for b in s.names]
        if any(s.guard is not None for s in sites) or not bound or not all(
                b.uses and all(u.file is None and u.scope is None and any(
                    u.line in span for span in lines.get((key[0], b.name), ()))
                    for u in b.uses) for b in bound):
            continue
        indexes = [i for b in bound for i in owners[(key[0], b.name)]]
        for index in indexes:
            union.union(indexes[0], index)
        removes[indexes[0]].append(key)
        for state in entries:
            state.keys.setdefault(key, site_keys(sites[0], report.paths))
    merged: dict[object, list[int]] = defaultdict(list)
    for index in range(len(programs)):
        merged[union.find(index)].append(index)
    out = []
    for indexes in merged.values():
        group = programs[indexes[0]]
        group.changes = [c for i in indexes for c in programs[i].changes]
        members = sorted({k for i in indexes for k in removes.get(i, ())})
        if members:
            group.savings, group.leaving = [], {}
            for state in entries:
                more = state.adds(members)
                state.take(members, more)
                if more:
                    group.savings.append(state.graph.saving_of(state.name, more))
                    group.leaving[state.name] = sorted(more)
        out.append(group)
    return out


def _joint(remaining: list[tuple[str, int]], entries: list[_EntryState]
           ) -> list[list[tuple[str, int]]]:
    """The groups of `remaining` whose modules leave only when the whole group goes (with
    what the entries took already gone), merged across entries."""
    merged = _Union()
    saving: set[object] = set()
    for state in entries:
        for members in _entry_groups(state, remaining):
            first = members[0]
            for statement in members:
                merged.union(first, statement)
            saving.add(first)
    by_root: dict[object, list[tuple[str, int]]] = defaultdict(list)
    for key in remaining:
        by_root[merged.find(key)].append(key)
    roots = {merged.find(first) for first in saving}
    return [members for root, members in by_root.items() if root in roots]


def _whole_statements(report: AuditReport, statements: dict[tuple[str, int], list[Change]],
                      blocked: set[tuple[str, int]], reexports: dict[tuple[str, str], str]
                      ) -> dict[tuple[str, int], set[str]]:
    """The statements that can leave the path, with the keys of the edges that leave: every
    part planned (all its edges), or the planned parts are the statement's last names, each
    a submodule, after every name that stays (`trailing_part`: their own edges only), or
    the planned parts stop reading lazily re-exported names (`lazy_read_unit`: only the
    edges those reads would make; `statements[key]` is narrowed to those parts)."""
    parts: dict[tuple[str, int], list] = defaultdict(list)
    for site in report.sites:
        parts[(site.file, site.line)].append(site)
    out: dict[tuple[str, int], set[str]] = {}
    for key, changes in statements.items():
        if key in blocked:
            continue
        sites = [c.site for c in changes]
        loads = any(c.action == "move-keep-load" for c in changes)  # its load edge stays
        if len(changes) == len(parts[key]) and not loads:
            out[key] = site_keys(sites[0], report.paths)
        elif not loads and trailing_part(sites, parts[key]):
            out[key] = {k for site in sites for k in site_keys(site, report.paths, True)}
        elif reexports:
            unit, keys = lazy_read_unit(report, changes, parts[key], reexports)
            if unit:
                statements[key] = unit
                out[key] = keys
    return out


def _entry_groups(state: _EntryState, remaining: list[tuple[str, int]]
                  ) -> list[list[tuple[str, int]]]:
    """One entry's groups of `remaining` statements that take some module off its path."""
    graph = state.graph
    owner: dict[str, tuple[str, int]] = {}   # edge key -> candidate statement
    union = _Union()
    for key in remaining:
        for edge_key in state.keys.get(key, ()):
            if edge_key in state.removed:
                continue
            if edge_key in owner:  # two statements on one line: their edges are one
                union.union(("s", owner[edge_key]), ("s", key))
            else:
                owner[edge_key] = key
    now = state.now = graph.reachable(frozenset(state.removed))
    stays = state.stays = graph.reachable(frozenset(state.removed | set(owner)))
    for importer in now:
        for target, edge_key in graph.adjacency.get(importer, ()):
            if target in stays or target not in graph.modules or \
                    _removes(state.removed, edge_key, target):
                continue
            found = _owned(owner, edge_key, target)
            statement = owner[found] if found is not None else None
            if statement is not None:
                union.union(("s", statement), ("m", target))
            elif importer not in stays:
                union.union(("m", importer), ("m", target))
    with_modules: set[object] = set()
    members: dict[object, list[tuple[str, int]]] = defaultdict(list)
    for item in list(union.parent):
        root = union.find(item)
        kind, name = item  # type: ignore[misc]
        if kind == "m":
            with_modules.add(root)
        else:
            members[root].append(name)
    return [sorted(found) for root, found in members.items() if root in with_modules]


def _owned(owner: dict[str, object], edge_key: str | None, target: str) -> str | None:
    """The key under which `owner` holds the edge `edge_key` to `target`: the statement's
    own (every edge of it), or that edge alone (a trailing part's), or None."""
    if edge_key is None:
        return None
    if edge_key in owner:
        return edge_key
    alone = f"{edge_key}{EDGE}{target}"
    return alone if alone in owner else None


def _removes(keys: set[str], edge_key: str | None, target: str) -> bool:
    """Whether `keys` take away the edge `edge_key` to `target`."""
    return edge_key is not None and (edge_key in keys or f"{edge_key}{EDGE}{target}" in keys)


def _used_on(change: Change, entry: str) -> bool:
    return any(s.entry == entry and s.used_at_run for s in change.site.savings)
