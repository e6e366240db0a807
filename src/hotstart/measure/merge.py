"""Merge the raw records of several runs into `ProcessProfile`s with medians.

Processes are matched across runs by their command line (digits normalised, since pipe and
fd numbers vary) and their rank among processes with the same command line. Modules are
matched by name. The tree's shape (importer, depth, order, site) comes from the first run
that imported a module; the figures are medians over every run that imported it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Sequence

from ._classify import bytecode_of, origin_of, project_roots
from ._records import RawImport, RawProcess
from .calls import hot_calls, profiler_overhead_us
from .importtime import ImportTimeEntry, ImportTimeLog
from .model import Bytecode, ImportEdge, ModuleRecord, ProcessProfile, Stat

__all__ = ["merge_processes", "merge_importtime", "process_key"]


def process_key(process: RawProcess, rank: int) -> tuple[str, int]:
    argv = " ".join(process.argv[1:]) if process.argv else "?"
    return re.sub(r"\d+", "#", argv), rank


def _keyed(run: Sequence[RawProcess]) -> dict[tuple[str, int], RawProcess]:
    seen: dict[str, int] = defaultdict(int)
    out = {}
    for process in run:  # already ordered by tracer start
        base = process_key(process, 0)[0]
        out[(base, seen[base])] = process
        seen[base] += 1
    return out


def merge_processes(runs: Sequence[Sequence[RawProcess]], walls_us: Sequence[float],
                    calls_run: Sequence[RawProcess] | None = None,
                    memory_run: Sequence[RawProcess] | None = None) -> list[ProcessProfile]:
    """One `ProcessProfile` per process seen in the measured `runs`, main process first.

    `walls_us[i]` is the runner's wall time of run i (spawn to exit of the whole target);
    it is the wall of the first process. Other processes report their own span. Memory per
    module comes from `memory_run` (or, without one, the profiling run `calls_run`);
    allocated blocks and hot calls from `calls_run`.
    """
    keyed_runs = [_keyed(run) for run in runs]
    keyed_calls = _keyed(calls_run) if calls_run else {}
    keyed_memory = _keyed(memory_run) if memory_run else {}
    order: list[tuple[str, int]] = []
    for keyed in keyed_runs:
        for key in keyed:
            if key not in order:
                order.append(key)
    if runs and runs[0]:
        first = process_key(runs[0][0], 0)
        if first in order:
            order.remove(first)
            order.insert(0, first)

    profiles = []
    for index, key in enumerate(order):
        instances = [keyed[key] for keyed in keyed_runs if key in keyed]
        if index == 0:
            walls = [w for keyed, w in zip(keyed_runs, walls_us) if key in keyed]
        else:
            walls = [
                (p.report["t_exit"] - p.t0) / 1e3 for p in instances if p.report
            ]
        profiles.append(_merge_one(instances, walls, keyed_calls.get(key),
                                   keyed_memory.get(key) or keyed_calls.get(key),
                                   root_t0=_started_us(runs, keyed_runs, key)))
    return profiles


def _started_us(runs: Sequence[Sequence[RawProcess]],
                keyed_runs: Sequence[dict[tuple[str, int], RawProcess]],
                key: tuple[str, int]) -> float:
    """Median offset of this process's tracer start from the first process's start."""
    offsets = [(keyed[key].t0 - run[0].t0) / 1e3
               for run, keyed in zip(runs, keyed_runs) if key in keyed]
    return Stat.of(offsets).median if offsets else 0.0


def _merge_one(instances: list[RawProcess], walls_us: list[float],
               calls: RawProcess | None, memory: RawProcess | None,
               root_t0: float) -> ProcessProfile:
    first = instances[0]
    header = first.header
    stdlib = header.get("stdlib")
    search_path = list(header.get("path", []))
    cache_tag = header.get("cache_tag")
    roots = project_roots(header, [p.report for p in (*instances, memory, calls)
                                   if p is not None and p.report])

    per_name: dict[str, list[RawImport]] = defaultdict(list)
    # name -> (the first run's record, that run's seq -> name), for the tree's shape
    shape: dict[str, tuple[RawImport, dict[int, str]]] = {}
    for instance in instances:
        names = {imp.seq: imp.name for imp in instance.imports}
        for imp in instance.imports:
            per_name[imp.name].append(imp)
            shape.setdefault(imp.name, (imp, names))

    # Measured by the untimed runs only (too slow for timed runs): RSS, sites and origins by
    # the memory run; allocated blocks by the profiling run.
    rss: dict[str, list[RawImport]] = defaultdict(list)
    for imp in memory.imports if memory is not None else ():
        rss[imp.name].append(imp)
    blocks: dict[str, list[RawImport]] = defaultdict(list)
    for imp in calls.imports if calls is not None else ():
        blocks[imp.name].append(imp)
    modules: list[ModuleRecord] = []
    module_files: dict[str, str] = {}
    compiled = from_pyc = 0
    for order, (name, (imp, names)) in enumerate(shape.items()):
        importer = names.get(imp.parent)
        samples = per_name[name]
        facts = rss.get(name, []) + blocks.get(name, []) + samples  # untimed runs first
        origin = next((s.origin for s in facts if s.origin), "")
        site = next((s.site for s in facts if s.site), None)
        kind, distribution = origin_of(origin, name, stdlib, search_path, roots)
        bytecode = bytecode_of(origin, cache_tag)
        if bytecode == "pyc":
            from_pyc += 1
        elif bytecode == "source":
            compiled += 1
        if origin and not origin.startswith("namespace:") and origin not in ("built-in", "frozen"):
            module_files[origin] = name
        statuses = [s.status for s in samples]
        modules.append(ModuleRecord(
            name=name,
            importer=importer,
            depth=imp.depth,
            order=order,
            start_us=Stat.of(s.entered_ns / 1e3 for s in samples).median,
            thread=imp.thread,
            self_us=Stat.of(s.self_ns / 1e3 for s in samples),
            cumulative_us=Stat.of(s.cumulative_ns / 1e3 for s in samples),
            self_rss=_stat(s.self_rss for s in samples + rss.get(name, [])),
            cumulative_rss=_stat(s.cumulative_rss for s in samples + rss.get(name, [])),
            self_blocks=_stat(s.self_blocks for s in samples + blocks.get(name, [])),
            cumulative_blocks=_stat(s.cumulative_blocks for s in samples + blocks.get(name, [])),
            file=origin or None,
            kind=kind,
            distribution=distribution,
            site=site,
            status=max(set(statuses), key=statuses.count),
            runs=len(samples),
            bytecode=bytecode,
        ))

    reports = [i.report for i in instances if i.report]
    profile = ProcessProfile(
        argv=first.argv,
        python=str(header.get("version", "")),
        executable=str(header.get("executable", "")),
        wall_us=Stat.of(walls_us) if walls_us else None,
        modules=modules,
        pid=first.pid,
        parent_pid=header.get("ppid"),
        started_us=root_t0,
        peak_rss=_stat(r.get("VmHWM") for r in reports),
        uss=_stat((r["Private_Clean"] + r["Private_Dirty"]) for r in reports
                  if "Private_Clean" in r and "Private_Dirty" in r),
        module_count=int(Stat.of(r["module_count"] for r in reports).median) if reports
        else len(header.get("preloaded", [])) + len(modules),
        preloaded=list(header.get("preloaded", [])),
        bytecode=Bytecode(from_pyc=from_pyc, compiled=compiled,
                          dont_write_bytecode=bool(header.get("dont_write_bytecode"))),
        complete=all(i.complete for i in instances),
    )
    if calls is not None and calls.report:
        for imp in calls.imports:
            if imp.origin and imp.origin not in module_files:
                module_files.setdefault(imp.origin, imp.name)
        event_ns = calls.report.get("call_event_ns")
        if not (isinstance(event_ns, (list, tuple)) and len(event_ns) == 2
                and all(isinstance(v, (int, float)) and v >= 0 for v in event_ns)):
            event_ns = None  # a tracer that did not measure it: hot calls stay uncorrected
        rows = calls.report.get("calls", ())
        # The memory run's process may have died before its report (a daemonizing target
        # killed with its group): then there are no samples, and hot calls stay calibrated.
        sampled = (memory.report.get("hot_samples")
                   if memory not in (None, calls) and memory.report else None)
        profile.hot_calls = hot_calls(rows, calls.header.get("tracer"), module_files,
                                      [*search_path, str(stdlib or "")], event_ns=event_ns,
                                      sampled=sampled)
        profile.call_event_ns = list(event_ns) if event_ns is not None else None
        by_seq = calls.by_seq()
        profile.profiling_import_us = max(0.0, sum(
            imp.cumulative_ns for imp in calls.imports if imp.parent not in by_seq) / 1e3
            - profiler_overhead_us(rows, event_ns))
        profile.edges = [
            ImportEdge(importer, imported, site or None)
            for importer, imported, site in calls.report.get("edges", ())
            if importer != imported
        ]
    return profile


def _stat(values) -> Stat | None:
    present = [v for v in values if v is not None]
    return Stat.of(present) if present else None


def _kind_by_name(name: str) -> str:
    """importtime names no files: the standard library is known by name (this interpreter's
    list, which differs from the target's only in modules added or removed since); anything
    else cannot be placed and stays first-party."""
    import sys

    if name in sys.builtin_module_names:
        return "builtin"
    return "stdlib" if name.partition(".")[0] in sys.stdlib_module_names else "first-party"


def merge_importtime(runs: Sequence[Sequence[ImportTimeLog]],
                     walls_us: Sequence[float]) -> list[ProcessProfile]:
    """`ProcessProfile`s from `-X importtime` output only (the fallback engine).

    Times only: importtime reports no memory, sites, files or threads. Its lines come in
    completion order; the tree is rebuilt from their nesting and numbered in start order.
    """
    per_process: dict[int, list[ImportTimeLog]] = defaultdict(list)
    for logs in runs:
        for index, log in enumerate(logs):
            per_process[index].append(log)
    profiles = []
    for index in sorted(per_process):
        logs = per_process[index]
        samples: dict[str, list[ImportTimeEntry]] = defaultdict(list)
        for log in logs:
            for entry in log.fresh():
                samples[entry.name].append(entry)
        first = logs[0]
        entries = first.fresh()
        children: dict[int | None, list[ImportTimeEntry]] = defaultdict(list)
        for entry in entries:
            children[entry.parent].append(entry)
        ordered: list[ImportTimeEntry] = []
        stack = list(reversed(children[None]))
        while stack:
            entry = stack.pop()
            ordered.append(entry)
            stack.extend(reversed(children[entry.order]))
        seen = {e.name for e in ordered}
        ordered += [e for e in entries if e.name not in seen]  # orphans of a cut-off log
        for log in logs[1:]:  # modules only later runs imported
            for entry in log.fresh():
                if entry.name not in seen:
                    seen.add(entry.name)
                    ordered.append(entry)
        by_order = {e.order: e for e in entries}
        in_first = {id(e) for e in entries}
        modules = []
        for order, entry in enumerate(ordered):
            parent = by_order.get(entry.parent) if id(entry) in in_first else None
            values = samples[entry.name]
            modules.append(ModuleRecord(
                name=entry.name,
                importer=parent.name if parent is not None else None,
                depth=entry.depth,
                order=order,
                start_us=0.0,
                thread="main",
                self_us=Stat.of(e.self_us or 0 for e in values),
                cumulative_us=Stat.of(e.cumulative_us or 0 for e in values),
                runs=len(values),
                kind=_kind_by_name(entry.name),
            ))
        walls = list(walls_us) if index == 0 else []
        profiles.append(ProcessProfile(
            argv=[], python="", executable="", wall_us=Stat.of(walls) if walls else None,
            modules=modules, module_count=len(modules)))
    return profiles
