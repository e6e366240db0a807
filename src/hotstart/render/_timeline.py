"""Each process's import tree laid out on a time line, as well-nested spans.

speedscope's evented profiles and Chrome trace events draw a module as a span that must nest
strictly in its importer's span. The measured figures do not nest by themselves: they are
medians taken separately (a parent's median is not the sum of its children's), and threads
interleave. So the layout is built from self times, keeping real positions where they fit:

- A module's self time is its `self_us.median`, negative clamped to 0, rounded to the
  nanosecond; its span lasts its self time plus its children's spans. So every self time
  reads back exactly from the spans, and cumulative = self + children.
- A child starts at its measured `start_us` when the parent's self time left allows it: the
  gap before it is taken from that budget, and clamped to what is left. The parent's leftover
  self time comes after its last child. Children go in import order.
- The roots of each thread (modules imported by no module of the same process and thread)
  start at their measured start, or later if the previous root has not ended.
- A process's time line starts at its `started_us` (its offset from the target's start).
- Failed lookups ("missing", "error:...") get spans too: their time is real (a search of
  sys.path, a module body run until it raised), it is part of their importer's cumulative
  time, and the modules they imported before failing are their children. `label` marks them.
- A module whose importer ran in another thread starts a tree of its own in its own thread.

Times are integers in nanoseconds from the target's start, so sums are exact; `us` converts
them for output. Iterative and O(n log n): profiles can nest thousands of levels deep.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any, NamedTuple

from ..measure.model import ModuleRecord, Profile

__all__ = ["Span", "Track", "chain", "label", "layout", "nesting", "process_names",
           "short_argv", "thread_name", "to_json", "us"]


class Span(NamedTuple):
    """One module on the time line (a NamedTuple: profiles hold tens of thousands)."""

    process: int  # index in Profile.processes
    thread: str
    depth: int  # 0 for a root of the track
    start_ns: int  # from the target's start
    end_ns: int
    self_ns: int
    parent: int | None  # index of the importer's span in Track.spans
    record: ModuleRecord


class Track(NamedTuple):
    """One thread of one process: its spans in pre-order (parents before children, siblings
    by start), which is also the order of their start times."""

    process: int
    thread: str
    origin_ns: int  # the process's start on the target's time line
    spans: list[Span]


def layout(profile: Profile) -> list[Track]:
    """Every process's threads as tracks: processes in profile order, main thread first,
    the other threads in the order of their first import."""
    tracks: list[Track] = []
    for index in range(len(profile.processes)):
        tracks += _process_tracks(profile, index)
    return tracks


def chain(track: Track, index: int) -> list[int]:
    """The indexes of the spans from the root of the track down to `track.spans[index]`
    (inclusive): a stack as speedscope's samples and folded lines read it, root first."""
    out: list[int] = []
    at: int | None = index
    while at is not None:
        out.append(at)
        at = track.spans[at].parent
    return out[::-1]


def nesting(spans: list[Span]) -> Iterator[tuple[bool, int]]:
    """(opens, index) for every span of a track, in time order: each span opened in
    pre-order, closed last-in first-out. Viewers that match ends to beginnings by order
    (speedscope's events, trace "B"/"E" pairs) need exactly this order at equal times."""
    opened: list[int] = []
    for index, span in enumerate(spans):
        # pre-order: whatever is open at this depth or deeper ended before this span starts
        while opened and spans[opened[-1]].depth >= span.depth:
            yield False, opened.pop()
        yield True, index
        opened.append(index)
    while opened:
        yield False, opened.pop()


def label(record: ModuleRecord) -> str:
    """The module's name, with its status when it was not loaded cleanly: `msvcrt [missing]`,
    `app [error:ValueError]`, `app [unfinished]`."""
    return record.name if record.status == "ok" else f"{record.name} [{record.status}]"


def thread_name(thread: str) -> str:
    return "main" if thread == "main" else f"thread {thread}"


def process_names(profile: Profile) -> list[str]:
    """`pid 1234` per process, or `process 2` (its index, as `--process` numbers it) where the
    pid is unknown (0) or shared with another process of the profile."""
    counts = Counter(process.pid for process in profile.processes)
    return [f"pid {process.pid}" if process.pid > 0 and counts[process.pid] == 1
            else f"process {index}" for index, process in enumerate(profile.processes)]


def short_argv(argv: list[str], limit: int = 60) -> str:
    """`python mp.py`: the command line with the executable's directory dropped, shell-quoted,
    cut at `limit` characters."""
    import os
    import shlex

    if not argv:
        return "?"
    text = shlex.join([os.path.basename(argv[0]) or argv[0], *argv[1:]])
    return text if len(text) <= limit else text[:limit - 1] + "…"


def us(ns: int) -> float:
    """Nanoseconds as microseconds for a JSON number. Readers that take `int(value * 1000)`
    (Perfetto's JSON importer) would lose a nanosecond on about one value in 170, and a child
    could then end after its parent: such values are nudged up to the next float."""
    value = ns / 1000
    if value * 1000 < ns:
        value = math.nextafter(value, math.inf)
    return value


def to_json(document: Any) -> str:
    """Compact JSON, ASCII only, with `<`, `>` and `&` escaped: module names are anyone's
    text, and the output stays safe to inline in an HTML `<script>` (those characters only
    occur inside JSON strings, where `\\u003c` means the same)."""
    text = json.dumps(document, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


def _ns(us_value: float) -> int:
    return round(us_value * 1000)


def _process_tracks(profile: Profile, process: int) -> list[Track]:
    records = profile.processes[process].modules
    origin = _ns(max(profile.processes[process].started_us, 0.0))
    roots, kids, reached = _forest(records)
    self_ns = [_ns(max(record.self_us.median, 0.0)) for record in records]
    total = list(self_ns)
    for index in reversed(reached):  # children come after their parent in `reached`
        for child in kids.get(index, ()):
            total[index] += total[child]

    tracks = []
    for thread, group in roots.items():
        starts, free = [], 0
        for root in group:
            start = max(_ns(records[root].start_us), free)
            starts.append(start)
            free = start + total[root]
        spans: list[Span] = []
        # (module, start relative to the process, parent span, depth), popped in pre-order
        stack = [(root, start, None, 0) for root, start in zip(group, starts)][::-1]
        while stack:
            index, start, parent, depth = stack.pop()
            me = len(spans)
            spans.append(Span(process, thread, depth, origin + start, origin + start + total[index],
                              self_ns[index], parent, records[index]))
            budget, cursor, below = self_ns[index], start, []
            for child in kids.get(index, ()):
                gap = min(max(_ns(records[child].start_us) - cursor, 0), budget)
                budget -= gap
                cursor += gap
                below.append((child, cursor, me, depth + 1))
                cursor += total[child]
            stack.extend(reversed(below))
        tracks.append(Track(process, thread, origin, spans))
    return tracks


def _forest(records: list[ModuleRecord]) -> tuple[dict[str, list[int]], dict[int, list[int]],
                                                   list[int]]:
    """The import trees of one process, by index into `records`: (roots per thread, main
    first, then by first import; children per module; every module reached from the roots,
    parents before children). Roots and children are in import order.

    `seen` guards against what a checked profile cannot hold (an importer cycle, a name listed
    twice): each module is reached once, and modules no root reaches become roots.
    """
    def key(index: int) -> tuple[int, float, int]:
        return records[index].order, records[index].start_us, index

    first: dict[str, int] = {}
    for index, record in enumerate(records):
        first.setdefault(record.name, index)
    children: dict[int, list[int]] = {}
    roots: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        parent = first.get(record.importer) if record.importer is not None else None
        if parent is None or parent == index or records[parent].thread != record.thread:
            roots.setdefault(record.thread, []).append(index)
        else:
            children.setdefault(parent, []).append(index)
    for group in children.values():
        group.sort(key=key)

    seen = [False] * len(records)
    kids: dict[int, list[int]] = {}
    reached: list[int] = []

    def grow(root: int) -> None:
        seen[root] = True
        stack = [root]
        while stack:
            index = stack.pop()
            reached.append(index)
            for child in children.get(index, ()):
                if not seen[child]:
                    seen[child] = True
                    kids.setdefault(index, []).append(child)
                    stack.append(child)

    for group in roots.values():
        group.sort(key=key)
        for root in group:
            grow(root)
    if len(reached) < len(records):
        for index in sorted(range(len(records)), key=key):
            if not seen[index]:
                roots.setdefault(records[index].thread, []).append(index)
                grow(index)
        for group in roots.values():
            group.sort(key=key)
    ordered = sorted(roots, key=lambda thread: (thread != "main", key(roots[thread][0])))
    return {thread: roots[thread] for thread in ordered}, kids, reached
