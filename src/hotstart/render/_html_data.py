"""The data the HTML report embeds: the profile, its audit and its diff, made compact.

A report may hold 10,000+ modules in several processes, so per-module figures are stored
column by column (one list per field, not one object per module), and every repeated string
(module names, paths, distributions, threads) once, in a string table `s` that the columns
refer to by index (-1: none). Times are microseconds rounded to 0.1, memory whole bytes.
Sites (`path:line`) are split into a path index and a line, so that a file's path is stored
once however many imports it makes. The import chains of the `--why` view are not stored:
the page finds them from the edges, by the rule of `render/why.py`, for the module picked.

`report.js` reads this layout; both change together.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable
from typing import Any

from ..audit.model import CLASSES, AuditReport, ImportSite
from ..measure.diff import diff_profiles
from ..measure.model import KINDS, HotCall, ProcessProfile, Profile, Stat

__all__ = ["FORMAT", "report_data"]

#: Version of the embedded layout (read by report.js).
FORMAT = 1
#: Callers, callees and chain links kept per hot call: the page shows a few.
_CALL_LINKS = 12
#: Modules a saving lists: the audit keeps at most 10.
_SAVING_MODULES = 10


class _Strings:
    """A string table: each distinct string once, referred to by its index (the page's `s`,
    and the kinds and threads, which start from the known ones)."""

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.items: list[str] = list(known)
        self._index: dict[str, int] = {text: index for index, text in enumerate(self.items)}

    def __call__(self, text: str | None) -> int:
        if text is None:
            return -1
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            self.items.append(text)
        return index

    def site(self, site: str | None) -> tuple[int, int]:
        """(path index, line) of `path:line`; a site with no line number is kept whole,
        with line -1."""
        if not site:
            return -1, -1
        path, _, line = site.rpartition(":")
        if path and line.isdigit() and len(line) < 10 and str(int(line)) == line:
            return self(path), int(line)
        return self(site), -1


def _num(value: float | None) -> float | int | None:
    """`value` rounded to 0.1, written without a trailing `.0` (None when not finite: JSON
    has no NaN)."""
    if value is None or not math.isfinite(value):
        return None
    rounded = round(value, 1)
    return int(rounded) if rounded == int(rounded) else rounded


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _stat(stat: Stat | None) -> list[float | int | None] | None:
    return None if stat is None else [_num(stat.median), _num(stat.min), _num(stat.max)]


def _median(stat: Stat | None) -> float | int | None:
    return None if stat is None else _num(stat.median)


def report_data(profile: Profile, *, audit: AuditReport | None = None,
                before: Profile | None = None, title: str | None = None) -> dict[str, Any]:
    """Everything the page shows, as JSON-ready data (see the module docstring)."""
    strings = _Strings()
    kinds = _Strings(KINDS)  # a kind a newer profiler wrote is added, and shown in grey
    data: dict[str, Any] = {
        "format": FORMAT,
        "title": title if title is not None else _default_title(profile, before),
        "kinds": kinds.items,
        "classes": list(CLASSES),
        "profile": _summary(profile),
        "processes": [_process(p, strings, kinds) for p in profile.processes],
        "audit": None if audit is None else _audit(audit),
        "diff": None if before is None else _diff(before, profile, strings),
    }
    data["s"] = strings.items
    return data


def _default_title(profile: Profile, before: Profile | None) -> str:
    target = shlex.join(profile.target) if profile.target else "?"
    return f"hotstart {'diff' if before is not None else 'report'}: {target}"


def _summary(profile: Profile) -> dict[str, Any]:
    check = profile.cross_check
    return {
        "command": shlex.join(profile.target),
        "python": profile.python,
        "engine": profile.engine,
        "runs": profile.runs,
        "warmup": profile.warmup,
        "wall": _stat(profile.wall_us),
        "floor": _stat(profile.floor_us),
        "exit_code": profile.exit_code,
        "timed_out": profile.timed_out,
        "failed": profile.failed,
        "stderr_tail": list(profile.stderr_tail[-20:]),
        "notes": list(profile.notes),
        "created": profile.created,
        "cross_check": None if check is None else {
            "runs": check.runs, "modules": check.modules_compared,
            "pearson": _finite(check.pearson), "spearman": _finite(check.spearman)},
    }


def _process(process: ProcessProfile, strings: _Strings, kinds: _Strings) -> dict[str, Any]:
    modules = process.modules
    threads = _Strings()
    thread_of = [threads(m.thread) for m in modules]
    sites = [strings.site(m.site) for m in modules]
    columns: dict[str, Any] = {
        "name": [strings(m.name) for m in modules],
        "importer": [strings(m.importer) for m in modules],
        "order": [m.order for m in modules],
        "thread": thread_of,
        "start": [_num(m.start_us) for m in modules],
        "self": [_num(m.self_us.median) for m in modules],
        "self_lo": [_num(m.self_us.min) for m in modules],
        "self_hi": [_num(m.self_us.max) for m in modules],
        "cum": [_num(m.cumulative_us.median) for m in modules],
        "cum_lo": [_num(m.cumulative_us.min) for m in modules],
        "cum_hi": [_num(m.cumulative_us.max) for m in modules],
        "kind": [kinds(m.kind) for m in modules],
        "dist": [strings(m.distribution) for m in modules],
        "file": [strings(m.file) for m in modules],
        "site_path": [site[0] for site in sites],
        "site_line": [site[1] for site in sites],
        "status": [strings(m.status) for m in modules],
        "runs": [m.runs for m in modules],
        "bytecode": [strings(m.bytecode) for m in modules],
    }
    # Memory columns only when measured: a profile made without the memory run has none.
    if any(m.self_rss is not None or m.cumulative_rss is not None for m in modules):
        columns["self_rss"] = [_median(m.self_rss) for m in modules]
        columns["cum_rss"] = [_median(m.cumulative_rss) for m in modules]
    edges: list[int] = []
    for edge in process.edges:
        path, line = strings.site(edge.site)
        edges += (strings(edge.importer), strings(edge.imported), path, line)
    code = process.bytecode
    total = process.import_us  # a sum over every module: once, not once per hot call
    return {
        "command": shlex.join(process.argv),
        "python": process.python,
        "executable": process.executable,
        "pid": process.pid,
        "parent_pid": process.parent_pid,
        "started": _num(process.started_us),
        "wall": _stat(process.wall_us),
        "peak_rss": _stat(process.peak_rss),
        "uss": _stat(process.uss),
        "module_count": process.module_count,
        "imported": len(process.imported()),
        "preloaded": len(process.preloaded),
        "import_us": _num(total),
        "complete": process.complete,
        "bytecode": [code.from_pyc, code.compiled, code.dont_write_bytecode],
        "threads": threads.items,
        "m": columns,
        "edges": edges,
        "hot": [_hot_call(process, call, total) for call in process.hot_calls],
    }


def _hot_call(process: ProcessProfile, call: HotCall, total: float) -> dict[str, Any]:
    """One hot call; `total` is `process.import_us`, which the caller computes once (it sums
    every module: per call, a profile of many modules and hot calls took quadratic time)."""
    estimate = process.estimate_us(call, total)

    def links(items: list[Any]) -> list[list[Any]]:
        return [[c.function, c.file, c.line, c.calls, _num(c.cumulative_us)]
                for c in items[:_CALL_LINKS]]
    return {
        "function": call.function,
        "file": call.file,
        "line": call.line,
        "calls": call.calls,
        "self": _num(call.self_us),
        "cum": _num(call.cumulative_us),
        "own": _num(call.own_us),
        "estimate": _num(estimate),
        "share": None if estimate is None or not total else _finite(estimate / total),
        "sampled": call.sampled_us is not None,
        "callers": links(call.callers),
        "callers_total": len(call.callers),
        "callees": links(call.callees),
        "chain": links(call.chain),
    }


def _audit(report: AuditReport) -> dict[str, Any]:
    return {
        "root": report.root,
        "package": report.package,
        "files": report.files,
        "entries": [{"name": e.name, "import_us": _num(e.import_us), "fix_us": _num(e.fix_us),
                     "fix_rss": e.fix_rss, "fix_sites": e.fix_sites, "measured": e.measured}
                    for e in report.entries],
        "sites": [_site(site) for site in report.sites],
        "hotspots": [{"file": h.file, "line": h.line, "module": h.module, "call": h.call,
                      "why": h.why, "advice": h.advice, "via": list(h.via),
                      "measured_us": _num(h.measured_us)} for h in report.hotspots],
        "notes": list(report.notes),
        "errors": list(report.errors),
    }


def _site(site: ImportSite) -> dict[str, Any]:
    best = site.best_saving
    return {
        "file": site.file,
        "line": site.line,
        "module": site.module,
        "statement": site.statement,
        "imported": site.imported,
        "klass": site.klass,
        "reason": site.reason,
        "fix": site.fix,
        "guard": site.guard,
        "saving": None if best is None else {
            "entry": best.entry, "us": _num(best.us), "rss": best.rss, "dropped": best.dropped,
            "modules": list(best.modules[:_SAVING_MODULES]),
            "also": list(best.also_imported_by[:_SAVING_MODULES])},
    }


def _diff(before: Profile, after: Profile, strings: _Strings) -> dict[str, Any]:
    """Per process index present in both profiles: the totals and every module's change."""
    processes = []
    for index in range(min(len(before.processes), len(after.processes))):
        diff = diff_profiles(before, after, process=index)
        rows: dict[str, list[Any]] = {key: [] for key in (
            "name", "change", "kind", "self_a", "self_b", "cum_a", "cum_b", "rss_a", "rss_b",
            "crss_a", "crss_b")}
        for code, changes in enumerate((diff.added, diff.removed, diff.changed)):
            for change in changes:
                record = change.after if change.after is not None else change.before
                if record is None:
                    continue
                old, new = change.before, change.after
                rows["name"].append(strings(change.name))
                rows["change"].append(code)
                rows["kind"].append(strings(record.kind))
                rows["self_a"].append(None if old is None else _median(old.self_us))
                rows["self_b"].append(None if new is None else _median(new.self_us))
                rows["cum_a"].append(None if old is None else _median(old.cumulative_us))
                rows["cum_b"].append(None if new is None else _median(new.cumulative_us))
                rows["rss_a"].append(None if old is None else _median(old.self_rss))
                rows["rss_b"].append(None if new is None else _median(new.self_rss))
                rows["crss_a"].append(None if old is None else _median(old.cumulative_rss))
                rows["crss_b"].append(None if new is None else _median(new.cumulative_rss))
        processes.append({
            "totals": [[label, _num(a), _num(b), unit] for label, a, b, unit in diff.totals()],
            "rows": rows,
        })
    return {
        "before": {"command": shlex.join(before.target), "created": before.created,
                   "runs": before.runs, "processes": len(before.processes),
                   "floor": _stat(before.floor_us), "failed": before.failed,
                   "exit_code": before.exit_code, "timed_out": before.timed_out,
                   "partial": [i for i, p in enumerate(before.processes) if not p.complete]},
        "processes": processes,
    }
