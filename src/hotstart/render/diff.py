"""`hotstart diff`: two profiles side by side."""

from __future__ import annotations

import shlex

from ..measure.diff import ModuleChange, ProfileDiff
from ._format import ms, printable, size

__all__ = ["render_diff"]


def render_diff(diff: ProfileDiff, *, top: int = 15, threshold_ms: float = 0.1) -> str:
    before, after = diff.before, diff.after
    lines = [printable(f"before: {shlex.join(before.target)}  ({before.created or '?'}, "
                       f"{before.runs} runs)"),
             printable(f"after:  {shlex.join(after.target)}  ({after.created or '?'}, "
                       f"{after.runs} runs)")]
    if diff.process:
        lines.append(printable(f"process {diff.process} of each: "
                               f"{shlex.join(before.processes[diff.process].argv)} / "
                               f"{shlex.join(after.processes[diff.process].argv)}"))
    lines += ["", f"  {'':<18} {'before':>10} {'after':>10} {'change':>20}"]
    for label, a, b, unit in diff.totals():
        if a is None and b is None:
            continue
        lines.append(f"  {label:<18} {_fmt(a, unit):>10} {_fmt(b, unit):>10} "
                     f"{_change(a, b, unit):>20}")

    # Self time and memory first: an added or removed module adds or takes away its own
    # figures; its cumulative ones also count its imports, listed in the same section.
    def section(title: str, changes: list[ModuleChange], total: bool) -> None:
        keep = [c for c in changes if abs(c.self_us) >= threshold_ms * 1e3]
        if not changes:
            return
        how = "; self adds up, cum ms also counts their imports listed here" if total else ""
        lines.extend(["", f"{title} ({len(changes)}{how})",
                      f"  {'self ms':>9} {'cum ms':>9} {'self mem':>9}  module"])
        for change in keep[:top]:
            lines.append(f"  {_signed_ms(change.self_us):>9} {_signed_ms(change.cumulative_us):>9} "
                         f"{size(change.self_rss, signed=True):>9}  {printable(change.name)}")
        rest = len(changes) - min(len(keep), top)
        if rest > 0:
            lines.append(f"  … {rest} more below {threshold_ms:g} ms or past the top {top}")
        if total:
            lines.append(f"  {_signed_ms(sum(c.self_us for c in changes)):>9} {'':>9} "
                         f"{size(sum(c.self_rss for c in changes), signed=True):>9}  "
                         f"total of the {len(changes)}")

    section("Added modules", diff.added, True)
    section("Removed modules", diff.removed, True)
    section("Biggest changes in self time", diff.changed, False)
    return "\n".join(lines) + "\n"


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "us":
        return f"{ms(value)} ms"
    if unit == "bytes":
        return size(value)
    return f"{value:.0f}"


def _change(a: float | None, b: float | None, unit: str) -> str:
    if a is None or b is None:
        return "-"
    delta = b - a
    if unit == "us":
        text = _signed_ms(delta) + " ms"
    elif unit == "bytes":
        text = size(delta, signed=True)
    else:
        text = f"{delta:+.0f}"
    return f"{text} ({(delta / a * 100):+.0f}%)" if a else text


def _signed_ms(us: float) -> str:
    return f"{us / 1e3:+.1f}"
