"""The profile in speedscope's file format (https://www.speedscope.app/file-format-schema.json).

speedscope (speedscope.app, or its CLI) draws the import tree as a time line, a left-heavy
flame graph and a sandwich table, which the text tree cannot. Per process and thread, one
"evented" profile of import time in µs ("pid 1234 main: import time"): a module opens when
its import starts and closes when it ends, laid out by `_timeline` (self times exact, spans
strictly nested, times from the target's start). Per process whose modules' RSS grew, one
"sampled" profile of memory in bytes ("pid 1234: import memory (self RSS)"): one sample per
module whose self RSS grew, weighted by that growth, its stack the chain of importers.

Frames are modules (failed lookups marked: `msvcrt [missing]`), shared by all profiles, with
the module's file when it has one, and line 1 for source files (a module body's code object
starts there). Only what the schema allows is written, so the file opens unchanged.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..measure.model import ModuleRecord, Profile
from ._timeline import Span, label, layout, nesting, process_names, thread_name, to_json, us

__all__ = ["SCHEMA_URL", "render_speedscope"]

SCHEMA_URL = "https://www.speedscope.app/file-format-schema.json"


def render_speedscope(profile: Profile) -> str:
    """The speedscope document: import time per process and thread, memory per process."""
    from .. import __version__

    frames = _Frames()
    names = process_names(profile)
    tracks = layout(profile)
    profiles: list[dict[str, Any]] = []
    for process in range(len(profile.processes)):
        mine = [track for track in tracks if track.process == process]
        samples: list[list[int]] = []
        weights: list[float] = []
        for track in mine:
            ids = [frames.index(span.record) for span in track.spans]
            profiles.append({
                "type": "evented",
                "name": f"{names[process]} {thread_name(track.thread)}: import time",
                "unit": "microseconds",
                "startValue": us(track.origin_ns),
                "endValue": us(max([track.origin_ns] + [span.end_ns for span in track.spans])),
                "events": _events(track.spans, ids),
            })
            for index, span in enumerate(track.spans):
                rss = span.record.self_rss
                if rss is not None and rss.median > 0:
                    stack = []
                    at: int | None = index
                    while at is not None:  # up the importers: the stack is read root first
                        stack.append(ids[at])
                        at = track.spans[at].parent
                    samples.append(stack[::-1])
                    weights.append(rss.median)
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
