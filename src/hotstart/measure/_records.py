"""Read the tracer's per-process trace files into per-run records.

One file per traced process (``<pid>-<start>.trace``), one line per event, written by `tracer.py`:

    H  {header}                                   once, at tracer start (a Python literal)
    S  seq parent name entered rss blocks thread site_file site_line   an import starts
    E  seq start end overhead rss blocks status origin                  that import ends
    X  {report}                                   at interpreter exit (missing if killed)

Clocks are `perf_counter_ns` offsets from tracer start. `overhead` is the tracer's own time
spent inside that import's span (nested imports' bookkeeping); it is subtracted here.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RawImport", "RawProcess", "read_trace_dir", "read_trace_file"]


@dataclass(slots=True)
class RawImport:
    seq: int
    parent: int
    name: str
    entered_ns: int
    rss0: int
    blocks0: int
    thread: str
    site: str | None
    start_ns: int | None = None
    end_ns: int | None = None
    overhead_ns: int = 0
    rss1: int | None = None
    blocks1: int | None = None
    status: str = "unfinished"
    origin: str = ""
    # Derived by `_derive` once the file is read:
    depth: int = 0
    cumulative_ns: int = 0
    self_ns: int = 0
    cumulative_rss: int | None = None
    self_rss: int | None = None
    cumulative_blocks: int | None = None
    self_blocks: int | None = None


@dataclass(slots=True)
class RawProcess:
    path: str
    header: dict[str, Any]
    imports: list[RawImport] = field(default_factory=list)
    report: dict[str, Any] | None = None

    @property
    def pid(self) -> int:
        return int(self.header.get("pid", 0))

    @property
    def t0(self) -> int:
        return int(self.header.get("t0", 0))

    @property
    def argv(self) -> list[str]:
        return list(self.header.get("argv", []))

    @property
    def complete(self) -> bool:
        return self.report is not None

    def by_seq(self) -> dict[int, RawImport]:
        return {imp.seq: imp for imp in self.imports}


def read_trace_dir(path: str) -> list[RawProcess]:
    """Every process traced into `path`, ordered by tracer start time."""
    processes = []
    for name in os.listdir(path):
        if name.endswith(".trace"):
            process = read_trace_file(os.path.join(path, name))
            if process is not None:
                processes.append(process)
    processes.sort(key=lambda p: (p.t0, p.pid))
    return processes


def read_trace_file(path: str) -> RawProcess | None:
    with open(path, "rb") as handle:
        data = handle.read().decode("utf-8", "replace")
    process: RawProcess | None = None
    pending: dict[int, RawImport] = {}
    last_ns = 0
    lines = data.split("\n")
    lines.pop()  # "" after the final newline, or a last line cut short by a kill
    for line in lines:
        kind, _, rest = line.partition("\t")
        try:
            if kind == "H" and process is None:
                process = RawProcess(path, ast.literal_eval(rest))
            elif process is None:
                continue
            elif kind == "S":
                seq, parent, name, entered, rss, blocks, thread, site_file, site_line = \
                    rest.split("\t")
                record = RawImport(
                    int(seq), int(parent), name, int(entered), int(rss), int(blocks), thread,
                    f"{site_file}:{site_line}" if site_file else None)
                pending[record.seq] = record
                process.imports.append(record)
                last_ns = max(last_ns, record.entered_ns)
            elif kind == "E":
                seq, start, end, overhead, rss, blocks, status, origin = rest.split("\t")
                record = pending.pop(int(seq), None)
                if record is None:
                    continue
                record.start_ns, record.end_ns = int(start), int(end)
                record.overhead_ns = int(overhead)
                record.rss1, record.blocks1 = int(rss), int(blocks)
                record.status, record.origin = status, origin
                last_ns = max(last_ns, record.end_ns)
            elif kind == "X":
                process.report = ast.literal_eval(rest)
                last_ns = max(last_ns, int(process.report.get("t_exit", 0)) - process.t0)
        except (ValueError, SyntaxError):
            continue  # a line cut short by a kill: everything before it still counts
    if process is None:
        return None
    _derive(process, last_ns)
    return process


def _derive(process: RawProcess, last_ns: int) -> None:
    """Fill depth, self/cumulative time and memory, correcting for tracer overhead."""
    page = int(process.header.get("page_size", 4096))
    by_seq = process.by_seq()
    children: dict[int, list[RawImport]] = {}
    for record in process.imports:
        parent = by_seq.get(record.parent)
        record.depth = parent.depth + 1 if parent is not None else 0
        children.setdefault(record.parent, []).append(record)
        if record.end_ns is None:
            # Never finished: the process ended (or was killed) during this import.
            record.start_ns = record.entered_ns
            record.end_ns = max(last_ns, record.entered_ns)
        record.cumulative_ns = max(0, record.end_ns - record.start_ns - record.overhead_ns)
        if record.rss0 >= 0 and record.rss1 is not None and record.rss1 >= 0:
            record.cumulative_rss = (record.rss1 - record.rss0) * page
        if record.blocks0 >= 0 and record.blocks1 is not None and record.blocks1 >= 0:
            record.cumulative_blocks = record.blocks1 - record.blocks0
    for record in process.imports:
        kids = children.get(record.seq, ())
        record.self_ns = max(0, record.cumulative_ns - sum(k.cumulative_ns for k in kids))
        if record.cumulative_rss is not None:
            record.self_rss = record.cumulative_rss - sum(k.cumulative_rss or 0 for k in kids)
        if record.cumulative_blocks is not None:
            record.self_blocks = record.cumulative_blocks - sum(
                k.cumulative_blocks or 0 for k in kids)
    _merge_reentrant(process)


def _merge_reentrant(process: RawProcess) -> None:
    """One record per module when an import re-enters itself.

    ``import pkg.sub`` imports ``pkg`` first; when ``pkg/__init__`` imports ``pkg.sub``
    itself, the inner import runs the module body while the outer one is still waiting. The
    outer record keeps its place in the tree, its site and its cumulative cost (what the
    statement cost); the inner one gives the module's own (self) time and memory, and its
    children move up to the outer record.
    """
    by_seq = process.by_seq()
    dropped: set[int] = set()
    for record in process.imports:
        outer = by_seq.get(record.parent)
        while outer is not None and outer.name != record.name:
            outer = by_seq.get(outer.parent)
        if outer is None:
            continue
        outer.self_ns, outer.self_rss, outer.self_blocks = \
            record.self_ns, record.self_rss, record.self_blocks
        outer.origin = record.origin or outer.origin
        outer.status = record.status
        for child in process.imports:
            if child.parent == record.seq:
                child.parent = outer.seq
        dropped.add(record.seq)
    if dropped:
        process.imports = [r for r in process.imports if r.seq not in dropped]
        by_seq = process.by_seq()
        for record in process.imports:  # in start order, so parents come first
            parent = by_seq.get(record.parent)
            record.depth = parent.depth + 1 if parent is not None else 0
