"""`--why MODULE`: the chains of imports that load a module, from the entrypoint down.

The first chain is the one that really loaded it (the import tree). The others come from the
import edges the profiling run recorded, including imports of modules already loaded: each is
a route that would still load the module if the chains before it were cut. Importing
`pkg.sub` runs `pkg/__init__.py` first, so a link to `pkg.sub` also counts as a link to `pkg`
(the chain problem: `from pkg.paths import X` pulls in whatever `pkg/__init__` imports).

Only real chains are listed. Every link is an import statement the process ran. Every link
but the last really loaded the module it names: that module started loading after its
importer, and before the target (the last link is any import of the target, which may have
been loaded already). So no link goes back to a module loaded earlier (such as
`rlcompleter -> __main__`: importing `__main__` never runs the script again, nor anything it
imports), no chain passes through a module imported after the target (only the last importer
may come later: `late -> target` would still load it), and no chain has a cycle. Ranking: the
first-load chain, then the others by number of links, then by how early their modules loaded.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from dataclasses import dataclass

from ..errors import BadInput
from ..measure.model import ImportTree, Profile
from ._format import ms, printable, short_site, size

__all__ = ["Link", "Chains", "chains_to", "find_chains", "render_why"]

_DOT = re.compile(r"\.")

#: Chains `--why` prints by default (the first-load chain included).
DEFAULT_LIMIT = 3


@dataclass(frozen=True, slots=True)
class Link:
    """`importer` imported `named` at `site`, which loaded `module` (`named` or a submodule)."""

    importer: str | None  # None: the entrypoint itself
    module: str
    named: str
    site: str | None


@dataclass(slots=True)
class Chains:
    """The chains found, and how many more real chains there are (at least, when the search
    stopped at its budget: `complete` is then False)."""

    shown: list[list[Link]]
    more: int
    complete: bool


class _Path:
    """A partial chain from `link` down to the target: shared tails, so a step costs O(1)."""

    __slots__ = ("link", "rest", "links", "orders")

    def __init__(self, link: Link, rest: _Path | None, order: int) -> None:
        self.link, self.rest = link, rest
        self.links = 1 + (rest.links if rest else 0)
        self.orders = (order, rest.orders) if rest else (order, ())

    def chain(self) -> list[Link]:
        out: list[Link] = []
        node: _Path | None = self
        while node is not None:
            out.append(node.link)
            node = node.rest
        return out

    def rank(self) -> tuple[int, list[int]]:
        orders: list[int] = []
        pair: tuple = self.orders
        while pair:
            orders.append(pair[0])
            pair = pair[1]
        return self.links, orders


def find_chains(tree: ImportTree, name: str, limit: int | None = DEFAULT_LIMIT,
                budget: int = 20_000, count_up_to: int = 1_000) -> Chains:
    """The real chains ending at `name`, ranked (see the module docstring): up to `limit`
    (`None`: all), and how many more exist. `budget` bounds the search on large graphs, and
    counting stops at `count_up_to` chains."""
    target = tree.module(name)
    first = [Link(r.importer, r.name, r.name, r.site) for r in tree.chain(name)]
    chains: list[list[Link]] = [first] if first else []
    if target is None:
        return Chains(chains, 0, True)

    def order(module: str | None) -> int:  # the entrypoint and modules loaded before it: -1
        record = tree.module(module) if module else None
        return record.order if record is not None else -1

    into: dict[str, list[Link]] = defaultdict(list)
    # Only a prefix as long as some module's name can be one: slicing every prefix of a name
    # of many dots would be quadratic in its length.
    lengths = {len(record.name) for record in tree.process.modules}
    for edge in tree.process.edges:
        imported = edge.imported
        cuts = [match.start() for match in _DOT.finditer(imported)] + [len(imported)]
        for cut in cuts:
            if cut not in lengths:
                continue
            module = imported[:cut]
            inside = edge.importer == module or edge.importer.startswith(module + ".")
            # Into a module this process loaded by importing it: not `__main__`, nor a module
            # the interpreter loaded before the target.
            if not inside and tree.module(module) is not None:
                into[module].append(Link(edge.importer, module, edge.imported, edge.site))
    # A chain is the modules it loads: `runpy -> jobrunner` and `__main__ -> jobrunner.cli`
    # both run jobrunner/__init__, and from there on they are the same route. It is also the
    # same route when its statements all lie on a route already listed, in order (the edge
    # `cli -> util` of `from util.paths import x` is the tree's `cli -> util.paths -> util`).
    seen = {tuple(link.module for link in chain) for chain in chains}
    seen_sites = [_sites(chain) for chain in chains]
    found: list[list[Link]] = []
    level = [_Path(link, None, target.order) for link in into.get(name, ())]
    complete = True
    while level and len(found) < count_up_to:  # breadth first: shortest chains first
        ended, deeper = [], []
        for path in level:
            if budget <= 0 or len(deeper) > budget:
                complete = False
                break
            budget -= 1
            head = tree.module(path.link.importer) if path.link.importer else None
            if head is None:  # the entrypoint, or a module loaded before the target
                ended.append(path)
                continue
            # A link above `head` must have loaded it (so modules go forward in load order: no
            # cycle), and `head` then lies between the chain's start and its last importer,
            # so it must have started before the target.
            imports = into.get(head.name, ())
            if not imports:  # no recorded import of `head` (runpy, C code): it starts the chain
                ended.append(path)
                continue
            parents = [link for link in imports
                       if order(link.importer) < head.order and link.importer != name] \
                if path.rest is None or head.order < target.order else []
            deeper.extend(_Path(link, path, order(link.module)) for link in parents)
            # (no parents: every way up to `head` is impossible, and so is this chain)
        for path in sorted(ended, key=_Path.rank):
            chain = path.chain()
            key = tuple(link.module for link in chain)
            sites = _sites(chain)
            known_route = len(sites) == len(chain) and any(
                _subsequence(sites, other) for other in seen_sites)
            if key not in seen and not known_route:
                seen.add(key)
                seen_sites.append(sites)
                found.append(chain)
        if not complete:
            break
        level = deeper
    complete = complete and len(found) < count_up_to
    keep = len(found) if limit is None else max(0, limit - len(chains))
    return Chains(chains + found[:keep], len(found) - len(found[:keep]), complete)


def chains_to(tree: ImportTree, name: str, limit: int = 25,
              budget: int = 20_000) -> list[list[Link]]:
    """Up to `limit` real import chains ending at `name`, ranked as `find_chains` does."""
    return find_chains(tree, name, limit, budget).shown


def render_why(profile: Profile, name: str, *, process: int = 0,
               limit: int | None = DEFAULT_LIMIT) -> str:
    """Why `name` is loaded: its figures and its real import chains, `limit` of them at most
    (`None`: all)."""
    proc = profile.processes[process]
    tree = ImportTree(proc)
    record = tree.module(name)
    if record is None:
        if name in proc.preloaded:
            return printable(f"{name} is loaded by the interpreter itself before the target "
                             f"starts (python -c pass loads it too).") + "\n"
        close = difflib.get_close_matches(name, [m.name for m in proc.modules], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(printable(f"module {name!r} was not imported by the target{hint}"))
    memory = size(record.cumulative_rss.median, signed=True) if record.cumulative_rss else "-"
    origin = record.kind + (f" ({record.distribution})" if record.distribution else "")
    lines = [printable(f"why is {name} loaded?"),
             printable(f"  {origin} · cumulative {ms(record.cumulative_us.median)} ms · {memory}"
                       f" · first imported at ") + (short_site(record.site, keep=3) or "?")]
    found = find_chains(tree, name, limit)
    for index, chain in enumerate(found.shown):
        if index == 0:
            lines += ["", "  loaded first through:"]
        elif index == 1:
            lines += ["", "  also imported through (each would still load it if the chains "
                          "above were cut):"]
        lines.append("    " + _chain_text(chain))
        sites = ", ".join(short_site(link.site, keep=3) for link in chain if link.site)
        if sites:
            lines.append(f"      at {sites}")
    if found.more:
        count = f"{found.more}{'' if found.complete else '+'}"
        lines += ["", f"  … {count} more chain{'s' if found.more != 1 else ''}; "
                      f"use --why-all or --why-limit N to see them"]
    if not proc.edges:
        lines += ["", "  (other routes are recorded by the profiling run; this profile was "
                      "made with --no-calls)"]
    return "\n".join(lines) + "\n"


def _chain_text(chain: list[Link]) -> str:
    parts = [chain[0].importer] if chain[0].importer else []
    for link in chain:
        if link.named != link.module:
            parts.append(f"{link.named} (via package {link.module})")
        else:
            parts.append(link.module)
    return printable(" -> ".join(parts))


def _sites(chain: list[Link]) -> tuple[str, ...]:
    return tuple(link.site for link in chain if link.site)


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """True when every item of `short` occurs in `long`, in order."""
    remaining = iter(long)
    return all(item in remaining for item in short)
