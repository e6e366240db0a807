"""`hotstart trial` as plain text: the bound (before, measured, predicted, ratio), the modules
the path imported and never used (what deferring saves), the ones it used and where first,
and the packages that had to stay eager. `render_trial_summary` is the short section
`profile --trial` prints after the profile."""

from __future__ import annotations

import os
import shlex
import sys

from ..trial.model import TrialReport, Use
from ._format import ms, printable_lines, short_site, size, stat_ms

__all__ = ["render_trial", "render_trial_summary"]

_ENGINES = {"hook": "hotstart.lazy hook", "pep810": "PEP 810, -X lazy_imports=all"}
#: Standard-library modules are counted, not listed, unless `every` is asked for.
_STDLIB = frozenset(getattr(sys, "stdlib_module_names", ()))


def render_trial(report: TrialReport, *, top: int = 25, every: bool = False,
                 root: str | None = None) -> str:
    """The whole trial as text. At most `top` rows per list (all with `every`); paths under
    `root` are shown relative to it."""
    limit = None if every else top
    lines = _header(report)
    lines += ["", *_unused(report, limit, root)]
    lines += ["", *_used(report, limit, root, every)]
    if report.eager_packages:
        lines += ["", "Made eager (laziness changed what the program does):"]
        lines += [f"  {name}: {why}" for name, why in sorted(report.eager_packages.items())]
    if report.notes:
        lines += ["", "Notes"] + [f"  - {note}" for note in report.notes]
    return printable_lines(lines)


def render_trial_summary(report: TrialReport, *, top: int = 5, root: str | None = None) -> str:
    """The trial in a few lines: the bound and the biggest unused modules."""
    lines = ["", *_header(report, title="Lazy trial")]
    biggest = _by_saving(report)[:top]
    if biggest:
        lines.append("  biggest unused on this path:")
        lines += _unused_rows(biggest, root)
    return printable_lines(lines)


def _header(report: TrialReport, title: str = "hotstart trial") -> list[str]:
    engine = _ENGINES.get(report.engine, report.engine)
    lines = [f"{title}: {shlex.join(report.target)}  (Python {report.python}, {engine})"]
    runs = (f"median of {report.runs} run{'s' if report.runs != 1 else ''}, minus the bare "
            f"interpreter")
    lines.append(f"  before     {_figure(report.before_ms)}   eager, as it is ({runs})")
    lines.append(f"  bound      {_figure(report.bound_ms)}   measured: every unused import "
                 f"deferred (minus the hook's fixed cost)")
    count = len(report.saved)
    profiled = (f" ({report.profile_us / 1e3:.1f} ms)" if report.profile_us is not None
                else "")
    lines.append(f"             {_figure(report.bound_predicted_ms)}   predicted: the eager "
                 f"profile's start-up{profiled} minus the self time of the {count} "
                 f"module{'s' if count != 1 else ''} that never loaded")
    ratio = f"{report.ratio:7.2f}x" if report.ratio is not None else "      -  "
    lines.append(f"  ratio      {ratio}     before / bound: what a perfect cut of this path "
                 f"reaches")
    lines.append(f"  modules    {len(report.modules)} loaded eagerly, {report.loaded} lazily; "
                 f"{len(report.used)} deferred and used, {len(report.unused)} deferred and "
                 f"never used")
    timings = [f"eager {stat_ms(report.eager_us)}", f"lazy {stat_ms(report.lazy_us)}"]
    if report.floor_us is not None:
        timings.append(f"python -c pass {stat_ms(report.floor_us)}")
    if report.hook_floor_us is not None:
        timings.append(f"the same, lazy {stat_ms(report.hook_floor_us)}")
    lines.append("  walls      " + "; ".join(timings))
    if not report.identical:
        lines.append("  WARNING    the lazy run still does not do what the eager run does "
                     "(see the notes)")
    return lines


def _figure(value: float | None) -> str:
    return f"{value:7.1f} ms" if value is not None else "      - ms"


def _by_saving(report: TrialReport) -> list:
    return sorted(report.unused.values(), key=lambda d: (-d.saved_us, d.module))


def _unused(report: TrialReport, limit: int | None, root: str | None) -> list[str]:
    rows = _by_saving(report)
    if not rows:
        return ["Imported but never used on this path: none"]
    head = (f"Imported but never used on this path ({len(rows)}; deferring them is the "
            f"bound), biggest saving first:")
    lines = [head]
    shown = rows if limit is None else rows[:limit]
    lines += _unused_rows(shown, root)
    if len(shown) < len(rows):
        lines.append(f"  +{len(rows) - len(shown)} more (--all)")
    return lines


def _unused_rows(rows: list, root: str | None) -> list[str]:
    width = max(len(d.module) for d in rows)
    out = []
    for item in rows:
        memory = size(item.saved_rss) if item.saved_rss is not None else "-"
        count = f"{item.saved_modules} module{'s' if item.saved_modules != 1 else ''}"
        where = f"  deferred at {_place(item.where, root)}" if item.where else ""
        out.append(f"    {item.module:<{width}}  {ms(item.saved_us):>7} ms  {memory:>6}  "
                   f"({count}){where}")
    return out


def _used(report: TrialReport, limit: int | None, root: str | None, every: bool) -> list[str]:
    rows = sorted(report.used.values(), key=lambda u: u.module)
    if not every:
        stdlib = [u for u in rows if u.module.partition(".")[0] in _STDLIB]
        rows = [u for u in rows if u.module.partition(".")[0] not in _STDLIB]
    else:
        stdlib = []
    if not rows and not stdlib:
        return ["Used on this path: no deferred module"]
    lines = ["Used on this path (deferred, then used; where first):"]
    shown = rows if limit is None else rows[:limit]
    width = max((len(u.module) for u in shown), default=0)
    lines += [f"    {u.module:<{width}}  {_use_text(u, root)}" for u in shown]
    if len(shown) < len(rows):
        lines.append(f"  +{len(rows) - len(shown)} more (--all)")
    if stdlib:
        lines.append(f"  +{len(stdlib)} standard-library module{'s' if len(stdlib) != 1 else ''} "
                     f"(--all lists them)")
    return lines


def _use_text(use: Use, root: str | None) -> str:
    if use.how == "imported":
        text = "loaded by an eager import (not through a deferred binding)"
    elif use.file is None:
        text = "used (the interpreter does not say where)"
    else:
        function = f" in {use.function}" if use.function else ""
        text = f"{_place(f'{use.file}:{use.line}', root)}{function}"
    if use.deferred_at:
        text += f"  (import at {_place(use.deferred_at, root)})"
    return text


def _place(where: str | None, root: str | None) -> str:
    """`file:line` relative to `root` when under it, else its last two path parts."""
    if not where:
        return ""
    path, _, line = where.rpartition(":")
    if root and path.startswith(os.path.join(root, "")):
        return f"{os.path.relpath(path, root)}:{line}"
    return short_site(where, keep=3)
