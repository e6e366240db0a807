"""`hotstart trial` as plain text: the two bounds (before; the project bound, only the
project's own imports deferred; the all-lazy bound; measured, predicted, ratios), the modules
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
    if report.no_bound:  # what a run that behaves otherwise never used is no finding
        lines += ["", "Imported but never used on this path: not listed (no bound)"]
    else:
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
    biggest = [] if report.no_bound else _by_saving(report)[:top]
    if biggest:
        lines.append("  biggest unused on this path:")
        lines += _unused_rows(biggest, root, _beyond_project(report))
    return printable_lines(lines)


def _header(report: TrialReport, title: str = "hotstart trial") -> list[str]:
    engine = _ENGINES.get(report.engine, report.engine)
    lines = [f"{title}: {shlex.join(report.target)}  (Python {report.python}, {engine})"]
    runs = (f"median of {report.runs} run{'s' if report.runs != 1 else ''}, minus the bare "
            f"interpreter")
    lines.append(f"  before     {_figure(report.before_ms)}   eager, as it is ({runs})")
    if report.no_bound:
        lines.append(f"  bound      no bound: {report.no_bound}")
        lines.append(f"  modules    {len(report.modules)} loaded eagerly, {report.loaded} "
                     f"lazily (a lazy run that behaves otherwise bounds nothing)")
        lines.append("  walls      " + "; ".join(_walls(report)))
        return lines
    profiled = (f" ({report.profile_us / 1e3:.1f} ms)" if report.profile_us is not None
                else "")
    if report.no_project_bound and report.project_us is not None:
        lines.append(f"  project    no project bound: {report.no_project_bound}")
    elif report.project_us is not None or report.project_predicted_us is not None:
        count = len(report.project_saved)
        lines.append(f"  project    {_figure(report.project_bound_ms)}   measured: only the "
                     f"imports the project's own modules execute deferred: what fixing this "
                     f"project's files can reach")
        lines.append(f"             {_figure(report.project_bound_predicted_ms)}   predicted: "
                     f"the eager profile's start-up{profiled} minus the self time of the "
                     f"{count} module{'s' if count != 1 else ''} that never loaded")
    count = len(report.saved)
    lines.append(f"  bound      {_figure(report.bound_ms)}   measured, all-lazy: every unused "
                 f"import deferred, libraries' own too (minus the hook's fixed cost)")
    lines.append(f"             {_figure(report.bound_predicted_ms)}   predicted: the eager "
                 f"profile's start-up{profiled} minus the self time of the {count} "
                 f"module{'s' if count != 1 else ''} that never loaded")
    ratios = []
    if report.project_ratio is not None:
        ratios.append(f"project {report.project_ratio:.2f}x")
    if report.ratio is not None:
        ratios.append(f"all-lazy {report.ratio:.2f}x")
    if ratios:
        lines.append(f"  ratio      {', '.join(ratios)}   before / bound: what a perfect cut "
                     f"of this path reaches")
    if report.no_ratio:
        lines.append(f"  ratio      no measurable bound: {report.no_ratio}")
    if report.no_project_ratio and report.project_us is not None and not report.no_bound \
            and report.no_project_ratio != report.no_ratio:
        lines.append(f"  ratio      no measurable project bound: {report.no_project_ratio}")
    lines.append(f"  modules    {len(report.modules)} loaded eagerly, {report.loaded} lazily"
                 + (f" ({report.project_loaded} with the project's imports lazy)"
                    if report.project_us is not None else "")
                 + f"; {len(report.used)} deferred and used, {len(report.unused)} deferred "
                   f"and never used")
    lines.append("  walls      " + "; ".join(_walls(report)))
    if not report.project_identical:
        lines.append("  WARNING    the project's lazy run still does not do what the eager run "
                     "does (see the notes)")
    return lines


def _walls(report: TrialReport) -> list[str]:
    timings = [f"eager {stat_ms(report.eager_us)}", f"lazy {stat_ms(report.lazy_us)}"]
    if report.project_us is not None:
        timings.append(f"project lazy {stat_ms(report.project_us)}")
    if report.floor_us is not None:
        timings.append(f"python -c pass {stat_ms(report.floor_us)}")
    if report.hook_floor_us is not None:
        timings.append(f"the same, lazy {stat_ms(report.hook_floor_us)}")
    return timings


def _figure(value: float | None) -> str:
    """A start-up in ms; "< 0 ms" (noise: below the bare interpreter's) is never printed as a
    negative start-up."""
    if value is None:
        return "      - ms"
    return f"{value:7.1f} ms" if value >= 0 else "  below the bare interpreter (noise)"


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
    lines += _unused_rows(shown, root, _beyond_project(report))
    if len(shown) < len(rows):
        lines.append(f"  +{len(rows) - len(shown)} more (--all)")
    return lines


def _beyond_project(report: TrialReport) -> frozenset[str]:
    """Unused modules the project run still loaded (a library's own import loads them):
    no rewrite of the project's files defers them. None without a project run."""
    if report.project_predicted_us is None:
        return frozenset()
    return frozenset(report.unused) - frozenset(report.project_saved)


def _unused_rows(rows: list, root: str | None, beyond: frozenset[str] = frozenset()
                 ) -> list[str]:
    width = max(len(d.module) for d in rows)
    out = []
    for item in rows:
        memory = size(item.saved_rss) if item.saved_rss is not None else "-"
        count = f"{item.saved_modules} module{'s' if item.saved_modules != 1 else ''}"
        where = f"  deferred at {_place(item.where, root)}" if item.where else ""
        library = ("  (beyond the project bound: it still loads when only the project's "
                   "imports are lazy)" if item.module in beyond else "")
        out.append(f"    {item.module:<{width}}  {ms(item.saved_us):>7} ms  {memory:>6}  "
                   f"({count}){where}{library}")
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
