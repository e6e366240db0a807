"""The import tree as text: who imported whom, with self/cumulative time and memory."""

from __future__ import annotations

from typing import Literal

from ..measure.model import ImportTree, ModuleRecord, Profile
from . import _sections
from ._format import ms, printable, short_site, size

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

    # Iterative (a profile can nest 20,000 levels deep) and linear in the number of modules:
    # the stack holds rows still to print and, after each group of siblings, its fold line.
    threshold_us = threshold_ms * 1e3
    stack: list[tuple[str, object, _Indent | None, int, bool]] = [
        ("group", tree.roots(), None, 0, False)]
    while stack:
        what, item, indent, level, last = stack.pop()
        if what == "row":
            record: ModuleRecord = item  # type: ignore[assignment]
            branch = ("└─ " if last else "├─ ") if level else ""
            lines.append(_row(record, _indent_text(indent, level) + branch))
            below = _Indent(("   " if last else "│  ") if level else "", indent)
            stack.append(("group", tree.children(record.name), below, level + 1, False))
            continue
        if what == "fold":
            hidden: list[ModuleRecord] = item  # type: ignore[assignment]
            total = sum(r.cumulative_us.median for r in hidden)
            count = len(hidden) + sum(_descendants(tree, r) for r in hidden)
            lines.append(f"  {'':>8} {ms(total):>8} {'':>8}  {_indent_text(indent, level)}"
                         f"{'└─ ' if level else ''}"
                         f"… {count} more module{'s' if count != 1 else ''} below the cut")
            continue
        shown, folded = [], []
        for record in item:  # type: ignore[attr-defined]
            visible = record.cumulative_us.median >= threshold_us and (
                depth is None or level < depth)
            (shown if visible else folded).append(record)
        shown.sort(key=key)  # type: ignore[arg-type]
        if folded:
            stack.append(("fold", folded, indent, level, True))
        for index in range(len(shown) - 1, -1, -1):
            stack.append(("row", shown[index], indent, level,
                          index == len(shown) - 1 and not folded))

    lines += _sections.hot_calls(proc, hot_calls)
    lines += _sections.notes(profile)
    return "\n".join(lines) + "\n"


class _Indent:
    """The drawing left of a row, one segment per level, shared by every row below it."""

    __slots__ = ("segment", "parent")

    def __init__(self, segment: str, parent: _Indent | None) -> None:
        self.segment, self.parent = segment, parent


#: Levels of branch drawing shown in full; deeper rows elide the outer ones, so that a line
#: stays short (a 20,000-deep chain would otherwise print 600 MB of "│  ").
_DRAWN_LEVELS = 40


def _indent_text(indent: _Indent | None, level: int) -> str:
    segments: list[str] = []
    while indent is not None and len(segments) < _DRAWN_LEVELS:
        segments.append(indent.segment)
        indent = indent.parent
    elided = f"[{level - len(segments)} levels] " if indent is not None else ""
    return elided + "".join(reversed(segments))


def _row(record: ModuleRecord, indent: str) -> str:
    memory = size(record.cumulative_rss.median, signed=True) if record.cumulative_rss else "-"
    origin = record.kind + (f" · {record.distribution}" if record.distribution else "")
    status = "" if record.status == "ok" else f"  [{record.status}]"
    site = short_site(record.site)
    return (f"  {ms(record.self_us.median):>8} {ms(record.cumulative_us.median):>8} {memory:>8}  "
            + indent + printable(f"{record.name}  ({origin}){status}")
            + (f"  <- {site}" if site else ""))


def _descendants(tree: ImportTree, record: ModuleRecord) -> int:
    count = 0
    stack = list(tree.children(record.name))
    while stack:
        child = stack.pop()
        count += 1
        stack.extend(tree.children(child.name))
    return count
