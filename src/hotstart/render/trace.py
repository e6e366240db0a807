"""The profile as Chrome trace events (JSON Object Format), for Perfetto and chrome://tracing.

Perfetto (ui.perfetto.dev) shows every process and thread of the target on one time line,
so a subprocess's start-up or a thread importing beside the main one shows where it really
ran. One track per process and thread: each module is a pair of duration events, "B" with the
measured figures as its args and "E", laid out by `_timeline` (self times exact, strictly
nested, times in µs from the target's start); metadata ("M") events name and order the
tracks. Pairs, not complete ("X") events: a viewer computes an X event's end as ts + dur in
floating point, which can land a hair after the next sibling's start and unnest it
(speedscope's importer reported 340 such ends on a 560-module profile); a pair's two times are
written as they are, and the events come in the order that nests them (ends before
beginnings at equal times, `_timeline.nesting`). An "E" repeats its "B"'s name and args:
speedscope matches the two by both, and at equal times opens a zero-length span before
closing it only when they match.

pid: the process's own pid when it is known (not 0) and unique in the profile, else a
synthetic one above Linux's largest pid (2**22), stable for a given profile. tid: 1 for the
main thread, then 2, 3... for the other threads in the order they first imported; the thread
names say which thread they were ("main", "thread <ident>").
"""

from __future__ import annotations

import heapq
import shlex
from collections import Counter
from typing import Any

from ..measure.model import ModuleRecord, Profile
from ._timeline import label, layout, nesting, short_argv, thread_name, to_json, us

__all__ = ["render_trace", "trace_pids"]

#: Linux's largest possible pid is 2**22 (PID_MAX_LIMIT): synthetic pids start above it.
_SYNTHETIC_PID = (1 << 22) + 1


def trace_pids(profile: Profile) -> list[int]:
    """The pid each process gets in the trace: its own when known and unique, else synthetic
    (above any Linux pid, and never one the profile holds)."""
    counts = Counter(process.pid for process in profile.processes)
    taken = set(counts)
    pids, synthetic = [], _SYNTHETIC_PID
    for process in profile.processes:
        if 0 < process.pid < 1 << 31 and counts[process.pid] == 1:
            pids.append(process.pid)
            continue
        while synthetic in taken:
            synthetic += 1
        pids.append(synthetic)
        taken.add(synthetic)
    return pids


def render_trace(profile: Profile) -> str:
    """The trace document: metadata events first, then the modules' events sorted by time."""
    from .. import __version__

    pids = trace_pids(profile)
    events: list[dict[str, Any]] = []
    for index, process in enumerate(profile.processes):
        name = short_argv(process.argv)
        if pids[index] != process.pid:
            name += f" (process {index}, recorded pid {process.pid})"
        events.append({"name": "process_name", "ph": "M", "pid": pids[index],
                       "args": {"name": name}})
        events.append({"name": "process_sort_index", "ph": "M", "pid": pids[index],
                       "args": {"sort_index": index}})

    tracks: list[list[tuple[int, dict[str, Any]]]] = []
    tids: Counter[int] = Counter()
    for track in layout(profile):
        pid = pids[track.process]
        tids[pid] += 1
        tid = tids[pid]  # tracks come main thread first
        events.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"name": thread_name(track.thread)}})
        events.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid,
                       "args": {"sort_index": tid}})
        timed, begun = [], {}
        for opens, index in nesting(track.spans):
            span = track.spans[index]
            if opens:
                begun[index] = _begin(span.record, us(span.start_ns), pid, tid)
                timed.append((span.start_ns, begun[index]))
            else:  # the same name and args: speedscope matches an end to its beginning by them
                timed.append((span.end_ns, {**begun.pop(index), "ph": "E",
                                            "ts": us(span.end_ns)}))
        tracks.append(timed)
    # One time line for all tracks; `merge` is stable, so each track keeps its nesting order.
    events += [event for _ns, event in heapq.merge(*tracks, key=lambda item: item[0])]
    return to_json({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "exporter": f"hotstart {__version__}",
            "target": shlex.join(profile.target),
            "python": profile.python,
            "engine": profile.engine,
            "runs": str(profile.runs),
            "created": profile.created,
        },
    })


def _begin(record: ModuleRecord, ts: float, pid: int, tid: int) -> dict[str, Any]:
    args = {
        "module": record.name,
        "status": record.status,
        "self_us": record.self_us.median,
        "cumulative_us": record.cumulative_us.median,
        "self_rss": record.self_rss.median if record.self_rss else None,
        "cumulative_rss": record.cumulative_rss.median if record.cumulative_rss else None,
        "kind": record.kind,
        "distribution": record.distribution,
        "site": record.site,
        "file": record.file,
    }
    return {"name": label(record), "cat": record.kind, "ph": "B", "ts": ts, "pid": pid,
            "tid": tid, "args": {key: value for key, value in args.items() if value is not None}}
