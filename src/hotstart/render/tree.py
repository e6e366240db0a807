"""The import tree as text: who imported whom, with self/cumulative time and memory."""

from __future__ import annotations

from typing import Literal

from ..measure.model import ImportTree, ModuleRecord, Profile
from . import _sections
from ._format import ms, short_site, size

__all__ = ["render_tree", "SORT_KEYS"]

SortKey = Literal["order", "self", "cumulative", "memory"]
SORT_KEYS: dict[str, object] = {
    "order": lambda m: m.order,
    "self": lambda m: -m.self_us.median,
    "cumulative": lambda m: -m.cumulative_us.median,
    "memory": lambda m: -(m.cumulative_rss.median if m.cumulative_rss else 0),
}


def render_tree(profile: Profile, *, process: int = 0, threshold_ms: float = 1.0,
                sort: SortKey = "order", depth: int | None = None, hot_calls: int = 10) -> str:
    """Summary, the import tree, hot calls and notes, as plain text.

    Subtrees whose cumulative time is below `threshold_ms` are folded into one line, as is
    everything deeper than `depth` levels.
    """
    proc = profile.processes[process]
    tree = ImportTree(proc)
    key = SORT_KEYS[sort]
    lines = _sections.summary(profile, proc)
    lines += ["", f"Import tree (cumulative >= {threshold_ms:g} ms; medians of {profile.runs} "
                  f"run{'s' if profile.runs != 1 else ''}; sorted by {sort})",
              f"  {'self ms':>8} {'cum ms':>8} {'cum mem':>8}  module"]

    def emit(records: list[ModuleRecord], prefix: str, level: int) -> None:
        shown = [r for r in records if r.cumulative_us.median >= threshold_ms * 1e3]
        if depth is not None and level >= depth:
            shown = []
        hidden = [r for r in records if r not in shown]
        shown.sort(key=key)  # type: ignore[arg-type]
        for index, record in enumerate(shown):
            last = index == len(shown) - 1 and not hidden
            branch = ("└─ " if last else "├─ ") if level else ""
            lines.append(_row(record, prefix + branch))
            emit(tree.children(record.name), prefix + (("   " if last else "│  ") if level else ""),
                 level + 1)
        if hidden:
            total = sum(r.cumulative_us.median for r in hidden)
            count = len(hidden) + sum(_descendants(tree, r) for r in hidden)
            lines.append(f"  {'':>8} {ms(total):>8} {'':>8}  {prefix}{'└─ ' if level else ''}"
                         f"… {count} more module{'s' if count != 1 else ''} below the cut")

    emit(tree.roots(), "", 0)
    lines += _sections.hot_calls(proc, hot_calls)
    lines += _sections.notes(profile)
    return "\n".join(lines) + "\n"


def _row(record: ModuleRecord, indent: str) -> str:
    memory = size(record.cumulative_rss.median, signed=True) if record.cumulative_rss else "-"
    origin = record.kind + (f" · {record.distribution}" if record.distribution else "")
    status = "" if record.status == "ok" else f"  [{record.status}]"
    site = short_site(record.site)
    return (f"  {ms(record.self_us.median):>8} {ms(record.cumulative_us.median):>8} {memory:>8}  "
            f"{indent}{record.name}  ({origin}){status}" + (f"  <- {site}" if site else ""))


def _descendants(tree: ImportTree, record: ModuleRecord) -> int:
    count = 0
    stack = list(tree.children(record.name))
    while stack:
        child = stack.pop()
        count += 1
        stack.extend(tree.children(child.name))
    return count
