"""`--why MODULE`: every chain of imports that loads a module, from the entrypoint down."""

from __future__ import annotations

import difflib

from ..errors import BadInput
from ..measure.model import ImportEdge, ImportTree, Profile
from ._format import ms, short_site, size

__all__ = ["render_why", "chains_to"]


def chains_to(tree: ImportTree, name: str) -> list[tuple[list[str], str | None]]:
    """Each distinct chain that imports `name` (or one of its submodules from outside it).

    The first is the chain that really loaded it; the others come from every other import
    site the profiling run saw, each of which would load the module if the first were gone.
    Returns (chain of module names, site of the last link).
    """
    first = tree.chain(name)
    out: list[tuple[list[str], str | None]] = []
    if first:
        out.append(([r.name for r in first], first[-1].site))
    seen = {tuple(out[0][0])} if out else set()
    for edge in _external_edges(tree, name):
        if first and edge.importer == first[-1].importer and edge.imported == name:
            continue  # the first-load edge itself
        head = [r.name for r in tree.chain(edge.importer)] or [edge.importer]
        chain = head + ([edge.imported] if edge.imported == name else [edge.imported, name])
        if tuple(chain) not in seen:
            seen.add(tuple(chain))
            out.append((chain, edge.site))
    return out


def _external_edges(tree: ImportTree, name: str) -> list[ImportEdge]:
    inside = name + "."
    return [
        edge for edge in tree.process.edges
        if (edge.imported == name or edge.imported.startswith(inside))
        and edge.importer != name and not edge.importer.startswith(inside)
    ]


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
    for index, (chain, site) in enumerate(chains):
        title = "loaded first through:" if index == 0 else (
            "also imported by (each would load it if the chains above were gone):"
            if index == 1 else None)
        if title:
            lines += ["", f"  {title}"]
        at = f"   ({short_site(site, keep=3)})" if site else ""
        lines.append("    " + " -> ".join(chain) + at)
    if not proc.edges:
        lines += ["", "  (other import sites are recorded by the profiling run; "
                      "this profile was made with --no-calls)"]
    return "\n".join(lines) + "\n"
