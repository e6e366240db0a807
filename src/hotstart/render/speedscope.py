"""The profile in speedscope's file format (https://www.speedscope.app/file-format-schema.json).

speedscope (speedscope.app, or its CLI) draws the import tree as a time line, a left-heavy
flame graph and a sandwich table, which the text tree cannot. Per process and thread, one
"evented" profile of import time in µs ("pid 1234 main: import time"): a module opens when
its import starts and closes when it ends, laid out by `_timeline` (self times exact, spans
strictly nested, times from the target's start). Per process whose modules' RSS grew, one
"sampled" profile of memory in bytes ("pid 1234: import memory (self RSS)"): one sample per
module whose self RSS grew, weighted by that growth, its stack the chain of importers.

A sample's stack is its whole chain, so the samples of a deep tree grow with the square of its
depth (a chain of 20,000 imports: 200 million frame references, gigabytes). Beyond
`MAX_SAMPLE_FRAMES` in all, the memory profiles are "evented" instead, in bytes: each module a
span of its self RSS growth (negative counts 0, rounded to the byte) plus its imports' spans,
nested as the time line nests them; speedscope's flame graph, left-heavy view and sandwich
table read the same self and total figures from it.

Frames are modules (failed lookups marked: `msvcrt [missing]`), shared by all profiles, with
the module's file when it has one, and line 1 for source files (a module body's code object
starts there). Only what the schema allows is written, so the file opens unchanged.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..measure.model import ModuleRecord, Profile
from ._timeline import (
    Span,
    Track,
    chain,
    label,
    layout,
    nesting,
    process_names,
    thread_name,
    to_json,
    us,
)

__all__ = ["SCHEMA_URL", "render_speedscope"]

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"

#: Frame references the sampled memory profiles may hold in all (about 8 bytes of JSON each);
#: beyond, memory is written as evented profiles, linear in the number of modules.
MAX_SAMPLE_FRAMES = 10_000_000


def render_speedscope(profile: Profile) -> str:
    """The speedscope document: import time per process and thread, memory per process."""
    from .. import __version__

    frames = _Frames()
    names = process_names(profile)
    tracks = layout(profile)
    by_process: list[list[Track]] = [[] for _ in profile.processes]
    for track in tracks:  # grouped once: a filter per process is quadratic in processes
        by_process[track.process].append(track)
    sampled = sum(span.depth + 1 for track in tracks for span in track.spans
                  if _grew(span.record)) <= MAX_SAMPLE_FRAMES
    profiles: list[dict[str, Any]] = []
    for process, mine in enumerate(by_process):
        samples: list[list[int]] = []
        weights: list[float] = []
        memory: list[tuple[Track, list[int]]] = []
        for track in mine:
            ids = [frames.index(span.record) for span in track.spans]
            memory.append((track, ids))
            profiles.append({
                "type": "evented",
                "name": f"{names[process]} {thread_name(track.thread)}: import time",
                "unit": "microseconds",
                "startValue": us(track.origin_ns),
                "endValue": us(max([track.origin_ns] + [span.end_ns for span in track.spans])),
                "events": _events(track.spans, ids),
            })
            for index, span in enumerate(track.spans if sampled else ()):
                if _grew(span.record):
                    samples.append([ids[at] for at in chain(track, index)])
                    weights.append(span.record.self_rss.median)
        if samples:  # an empty sampled profile is no use, and no RSS was measured or grew
            profiles.append({
                "type": "sampled",
                "name": f"{names[process]}: import memory (self RSS)",
                "unit": "bytes",
                "startValue": 0,
                "endValue": sum(weights),
                "samples": samples,
                "weights": weights,
            })
        elif not sampled and any(_grew(s.record) for track in mine for s in track.spans):
            profiles.append(_memory_events(f"{names[process]}: import memory (self RSS)",
                                           memory))
    document: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "name": f"hotstart: {shlex.join(profile.target)}",
        "exporter": f"hotstart {__version__}",
        "shared": {"frames": frames.frames},
        "profiles": profiles,
    }
    if profiles:
        document["activeProfileIndex"] = 0
    return to_json(document)


def _grew(record: ModuleRecord) -> bool:
    return record.self_rss is not None and record.self_rss.median > 0


def _memory_events(name: str, tracks: list[tuple[Track, list[int]]]) -> dict[str, Any]:
    """One process's memory as an evented profile in bytes: its tracks one after another,
    each module a span of its own growth (rounded, negative 0) then its imports' spans after
    its start, in import order (integers: every span nests exactly)."""
    events: list[dict[str, Any]] = []
    offset = 0
    for track, ids in tracks:
        spans = track.spans
        own = [max(round(s.record.self_rss.median), 0) if s.record.self_rss else 0
               for s in spans]
        total = list(own)
        for index in range(len(spans) - 1, -1, -1):  # pre-order: children after parents
            parent = spans[index].parent
            if parent is not None:
                total[parent] += total[index]
        start, cursor = [0] * len(spans), [0] * len(spans)
        for index, span in enumerate(spans):
            if span.parent is None:
                start[index], offset = offset, offset + total[index]
            else:
                start[index] = cursor[span.parent]
                cursor[span.parent] += total[index]
            cursor[index] = start[index]
        events += ({"type": "O", "frame": ids[index], "at": start[index]} if opens else
                   {"type": "C", "frame": ids[index], "at": start[index] + total[index]}
                   for opens, index in nesting(spans))
    return {"type": "evented", "name": name, "unit": "bytes", "startValue": 0,
            "endValue": offset, "events": events}


def _events(spans: list[Span], ids: list[int]) -> list[dict[str, Any]]:
    """Open and close events of a track's spans, in time order, closed last-in first-out."""
    return [{"type": "O", "frame": ids[index], "at": us(spans[index].start_ns)} if opens else
            {"type": "C", "frame": ids[index], "at": us(spans[index].end_ns)}
            for opens, index in nesting(spans)]


class _Frames:
    """The shared frame table: one frame per distinct (label, file, line)."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self._index: dict[tuple[str, str | None], int] = {}

    def index(self, record: ModuleRecord) -> int:
        name = label(record)
        file = record.file
        if file in ("built-in", "frozen") or (file or "").startswith("namespace:"):
            file = None  # not a file: the kind says where it came from
        key = (name, file)
        found = self._index.get(key)
        if found is None:
            frame: dict[str, Any] = {"name": name}
            if file:
                frame["file"] = file
                if file.endswith((".py", ".pyw")):
                    frame["line"] = 1  # a module body's code starts there (co_firstlineno)
            found = self._index[key] = len(self.frames)
            self.frames.append(frame)
        return found
