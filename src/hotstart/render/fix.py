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
    lines.append(f"hotstart fix: {verb} {len(result.changes)} change(s) in {len(files)} "
                 f"file(s) (runtime code: {result.runtime})")
    for change in result.changes:
        site = change.site
        saving = site.best_saving
        saved = ""
        if saving is not None and saving.dropped and not saving.used_at_run:
            saved = f"  [saves {saving.us / 1e3:.1f} ms, {saving.rss / 2**20:.1f} MiB on " \
                    f"{saving.entry}]"
        lines.append(f"  {site.file}:{site.line}  {site.klass:<11} "
                     f"{_short(site.statement)}: {change.description}{saved}")
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
                for line in tail.splitlines()[-4:]:
                    lines.append(f"      | {line}")
        if verification.hints_unchecked:
            lines.append(f"  type hints not checked for {len(verification.hints_unchecked)} "
                         f"module(s): " + "; ".join(verification.hints_unchecked))
        if verification.final is not None and verification.final.ok:
            kept = len(result.changes)
            lines.append(f"  passes with the {kept} change(s) kept" +
                         ("" if result.written else " (files restored: use --write to keep)"))
    if not result.written and verification is None and result.changes:
        lines.append("nothing written: use --write to apply, --verify 'COMMAND' to test first")
    return printable_lines(lines)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."
