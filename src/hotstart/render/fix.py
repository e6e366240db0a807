"""The summary `hotstart fix` prints after (or instead of) its diff."""

from __future__ import annotations

from collections import Counter

from ..fix import FixResult
from ._format import printable_lines

__all__ = ["render_fix"]


def render_fix(result: FixResult) -> str:
    lines: list[str] = []
    files = {c.path for c in result.changes}
    verb = "made" if result.written else "would make"
    joint = f"; plan: joint, {len(result.groups)} group(s)" if result.plan == "joint" else ""
    lines.append(f"hotstart fix: {verb} {len(result.changes)} change(s) in {len(files)} "
                 f"file(s) (runtime code: {_runtime_needs(result.files)}{joint})")
    if result.plan_note:
        lines.append(f"  plan: {result.plan_note}")
    for group in result.groups:
        lines.extend(_group_lines(group, result.plan == "joint"))
    if result.plan == "joint":
        lines.extend(_totals(result))
    for refused in result.refused:
        lines.append(f"refused {refused.file}: {refused.why}; {refused.changes} change(s) "
                     f"not made")
    if result.skipped:
        reasons = Counter(s.why for s in result.skipped)
        lines.append(f"left alone: {len(result.skipped)} fixable site(s)")
        for why, count in reasons.most_common():
            lines.append(f"  {count:>3} x {why}")
    verification = result.verification
    if verification is not None and verification.runs == 0:
        lines.append(f"verify: {verification.command!r} not run: nothing changed")
    elif verification is not None:
        lines.append(f"verify: {verification.command!r} passed before the rewrite; "
                     f"{verification.runs} run(s) in all")
        # One statement can be several changes (names of different classes): listed once.
        reverted: dict[str, str] = {}
        for change_id, tail in verification.reverted:
            reverted.setdefault(change_id, tail)
        names: dict[str, list[str]] = {}
        for change in result.reverted:
            names.setdefault(change.id, []).extend(n.name for n in change.site.names)
        if reverted:
            lines.append(f"  reverted {len(verification.reverted)} change(s) that broke it:")
            for change_id, tail in reverted.items():
                shared = names.get(change_id, [])
                count = sum(1 for c, _ in verification.reverted if c == change_id)
                lines.append(f"    {change_id}" + (f"  ({count} changes: {', '.join(shared)})"
                                                   if count > 1 else ""))
                said = tail.splitlines()  # the error line, then the output's last lines
                for line in said[:1] + said[1:][-4:]:
                    lines.append(f"      | {line}")
        if verification.hints_unchecked:
            lines.append(f"  type hints not checked for {len(verification.hints_unchecked)} "
                         f"module(s): " + "; ".join(verification.hints_unchecked))
        if verification.final is not None and verification.final.ok:
            kept = len(result.changes)
            lines.append(f"  passes with the {kept} change(s) kept" +
                         ("" if result.written else " (files restored: use --write to keep)"))
    lines.extend(_remeasured(result))
    if not result.written and verification is None and result.changes:
        lines.append("nothing written: use --write to apply, --verify 'COMMAND' to test first")
    return printable_lines(lines)


def _runtime_needs(files) -> str:
    """What the generated code needs at run time: the hotstart modules the rewritten files
    import that they did not before (with the files), else the standard library only."""
    needs: dict[str, list[str]] = {}
    for change in files:
        for module in change.needs():
            needs.setdefault(module, []).append(change.shown)
    if not needs:
        return "stdlib"
    parts = [f"{module} in {_some(shown)}" for module, shown in needs.items()]
    return "; ".join(parts) + ("; stdlib elsewhere" if len(files) > len(
        {s for shown in needs.values() for s in shown}) else "")


def _some(names: list[str], limit: int = 3) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def _saving_text(saving, claimed: bool = True) -> str:
    if not claimed:
        return "  [lazy on 3.15+ only: saves nothing before, not counted]"
    if saving is None or not saving.dropped and not saving.us:
        return ""
    return f"  [saves {saving.us / 1e3:.1f} ms, {saving.rss / 2**20:.1f} MiB on " \
           f"{saving.entry}]"


def _site_line(change, indent: str = "  ") -> str:
    site = change.site
    return f"{indent}{site.file}:{site.line}  {site.klass:<11} {_short(site.statement)}: " \
           f"{change.description}"


def _group_lines(group, joint: bool) -> list[str]:
    """One group: its site line (with its saving), or a header naming what leaves the path
    when all its changes go, then one line per change."""
    best = max(group.savings, key=lambda s: (s.us, s.rss), default=None)
    if len(group.changes) == 1 or not joint:
        return [_site_line(c) + (_saving_text(best, group.claimed) if i == 0 else "")
                for i, c in enumerate(group.changes)]
    libraries = ", ".join(group.modules_off())
    count = max((len(m) for m in group.leaving.values()), default=0)
    takes = f" take {libraries} ({count} module(s)) off the path" if count else ""
    lines = [f"  together, {len(group.changes)} changes{takes}{_saving_text(best, group.claimed)}"]
    lines.extend(_site_line(c, "    ") for c in group.changes)
    return lines


def _totals(result: FixResult) -> list[str]:
    """What the kept groups save together per entry (their module sets are disjoint)."""
    lines = []
    per_entry: dict[str, list] = {}
    for group in result.groups:
        if group.claimed:
            for saving in group.savings:
                per_entry.setdefault(saving.entry, []).append(saving)
    for entry, savings in per_entry.items():
        us = sum(s.us for s in savings)
        modules = sum(s.dropped for s in savings)
        lines.append(f"predicted on {entry}: {modules} module(s) off the path, "
                     f"{us / 1e3:.1f} ms")
    return lines


def _remeasured(result: FixResult) -> list[str]:
    """What profiling the written code again measured, and the groups it reverted."""
    lines = []
    for measured in result.remeasured:
        before = f"{measured.before_us / 1e3:.1f} ms" if measured.before_us is not None \
            else "?"
        lines.append(f"re-profiled {measured.entry} on the written code: import {before} -> "
                     f"{measured.after_us / 1e3:.1f} ms, modules {measured.modules_before} -> "
                     f"{measured.modules_after}")
        if measured.bound_us is not None:
            figures = (f"  before {measured.trial_before_us / 1e3:.1f} ms -> after "
                       f"{measured.trial_after_us / 1e3:.1f} ms; the trial's "
                       f"{_BOUNDS.get(measured.bound_kind, measured.bound_kind)} "
                       f"{measured.bound_us / 1e3:.1f} ms")
            reached = measured.reached
            lines.append(figures + (f": fix reached {reached * 100:.0f} % of it"
                                    if reached is not None else
                                    " is not below before: no share to report"))
        elif measured.no_bound:
            lines.append(f"  the trial: no bound: {measured.no_bound} (no share to report)")
    for group in result.groups:
        for entry, still in group.still_loaded.items():
            if still:
                left = len(group.leaving[entry]) - len(still)
                lines.append(f"  {group.label()}: {left} of {len(group.leaving[entry])} "
                             f"predicted module(s) left {entry}; still loaded: "
                             f"{', '.join(still[:5])}")
    for group in result.remeasure_reverted:
        lines.append(f"reverted after re-profiling: {group.label()}: its predicted modules "
                     f"all still load ({', '.join(group.modules_off(group.still_loaded))})")
    if result.remeasure_note:
        lines.append(f"re-profiling: {result.remeasure_note}")
    return lines


#: How each bound is named beside "fix reached N %".
_BOUNDS = {"project": "project bound (only the imports its own files run deferred)",
           "all-lazy": "all-lazy bound (libraries' own imports lazy too: no project bound "
                       "found)"}


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
