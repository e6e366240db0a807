"""`--why MODULE`: every chain of imports that loads a module, from the entrypoint down.

The first chain is the one that really loaded it (the import tree). The others come from the
import edges the profiling run recorded, including imports of modules already loaded: each
is a route that would still load the module if the chains before it were cut. Importing
`pkg.sub` runs `pkg/__init__.py` first, so a link to `pkg.sub` also counts as a link to `pkg`
(the chain problem: `from pkg.paths import X` pulls in whatever `pkg/__init__` imports).
"""

from __future__ import annotations

import difflib
from collections import defaultdict, deque
from dataclasses import dataclass

from ..errors import BadInput
from ..measure.model import ImportTree, Profile
from ._format import ms, short_site, size

__all__ = ["Link", "chains_to", "render_why"]


@dataclass(frozen=True, slots=True)
class Link:
    """`importer` imported `named` at `site`, which loaded `module` (`named` or a submodule)."""

    importer: str | None  # None: the entrypoint itself
    module: str
    named: str
    site: str | None


def chains_to(tree: ImportTree, name: str, limit: int = 25,
              budget: int = 20_000) -> list[list[Link]]:
    """Up to `limit` distinct import chains ending at `name`, first-load chain first, then
    shortest first. `budget` bounds the search on large graphs."""
    first = [Link(r.importer, r.name, r.name, r.site) for r in tree.chain(name)]
    chains: list[list[Link]] = [first] if first else []

    into: dict[str, list[Link]] = defaultdict(list)
    for edge in tree.process.edges:
        parts = edge.imported.split(".")
        for cut in range(len(parts), 0, -1):
            module = ".".join(parts[:cut])
            inside = edge.importer == module or edge.importer.startswith(module + ".")
            if not inside:
                into[module].append(Link(edge.importer, module, edge.imported, edge.site))
    # A chain is the modules it loads: `runpy -> jobrunner` and `__main__ -> jobrunner.cli`
    # both run jobrunner/__init__, and from there on they are the same route. It is also the
    # same route when its statements all lie on a route already listed, in order (the edge
    # `cli -> util` of `from util.paths import x` is the tree's `cli -> util.paths -> util`).
    seen = {tuple(link.module for link in chain) for chain in chains}
    seen_sites = [_sites(chain) for chain in chains]
    queue: deque[list[Link]] = deque([link] for link in into.get(name, ()))
    while queue and budget > 0 and len(chains) < limit:
        budget -= 1
        path = queue.popleft()
        top = path[0].importer or ""
        visited = {link.module for link in path}
        parents = [link for link in into.get(top, ()) if link.importer not in visited
                   and link.importer != top]
        if not parents:
            key = tuple(link.module for link in path)
            sites = _sites(path)
            known_route = len(sites) == len(path) and any(
                _subsequence(sites, other) for other in seen_sites)
            if key not in seen and not known_route:
                seen.add(key)
                seen_sites.append(sites)
                chains.append(path)
            continue
        for link in parents:
            queue.append([link, *path])
    return chains


def render_why(profile: Profile, name: str, *, process: int = 0) -> str:
    proc = profile.processes[process]
    tree = ImportTree(proc)
    record = tree.module(name)
    if record is None:
        if name in proc.preloaded:
            return (f"{name} is loaded by the interpreter itself before the target starts "
                    f"(python -c pass loads it too).\n")
        close = difflib.get_close_matches(name, [m.name for m in proc.modules], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise BadInput(f"module {name!r} was not imported by the target{hint}")
    memory = size(record.cumulative_rss.median, signed=True) if record.cumulative_rss else "-"
    origin = record.kind + (f" ({record.distribution})" if record.distribution else "")
    lines = [f"why is {name} loaded?",
             f"  {origin} · cumulative {ms(record.cumulative_us.median)} ms · {memory} · "
             f"first imported at {short_site(record.site, keep=3) or '?'}"]
    chains = chains_to(tree, name)
    for index, chain in enumerate(chains):
        if index == 0:
            lines += ["", "  loaded first through:"]
        elif index == 1:
            lines += ["", "  also imported through (each would still load it if the chains "
                          "above were cut):"]
        lines.append("    " + _chain_text(chain))
        sites = ", ".join(short_site(link.site, keep=3) for link in chain if link.site)
        if sites:
            lines.append(f"      at {sites}")
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
    return " -> ".join(parts)


def _sites(chain: list[Link]) -> tuple[str, ...]:
    return tuple(link.site for link in chain if link.site)


def _subsequence(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """True when every item of `short` occurs in `long`, in order."""
    remaining = iter(long)
    return all(item in remaining for item in short)
