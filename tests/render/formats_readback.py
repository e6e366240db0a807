"""Reading the speedscope, trace and folded outputs back, as their viewers read them, and
what they must give back, computed from the profile's importers (for test_formats.py).

speedscope's events are replayed (sorted, closed last-in first-out); trace events are nested
by time as Perfetto nests them, with its `int(us * 1000)`; folded lines are split with
flamegraph.pl's own expression, applied twice as it does (a differential file has two
counts), and with inferno's split at the last space.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Callable

import jsonschema
from helpers import make_process, make_profile

from hotstart.measure.model import ModuleRecord, Profile, Stat
from hotstart.render.folded import render_folded
from hotstart.render.speedscope import render_speedscope
from hotstart.render.trace import render_trace

SCHEMAS = pathlib.Path(__file__).resolve().parents[1] / "data" / "schemas"
FLAMEGRAPH = re.compile(r"^(.*)\s+?(\d+(?:\.\d*)?)$")


@functools.cache
def validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def rec(name: str, importer: str | None = None, *, self_us: float = 10.0, start: float = 0.0,
        order: int = 0, thread: str = "main", rss: float | None = None, status: str = "ok",
        file: str | None = None) -> ModuleRecord:
    """A module with exact figures (min = median = max), times in µs, RSS in bytes."""
    return ModuleRecord(name=name, importer=importer, depth=0, order=order, start_us=start,
                        thread=thread, self_us=Stat.exact(self_us),
                        cumulative_us=Stat.exact(self_us),
                        self_rss=None if rss is None else Stat.exact(rss), status=status,
                        file=file, kind="stdlib")


def synthetic(*module_lists: list[ModuleRecord], pids: list[int] | None = None,
              started: list[float] | None = None) -> Profile:
    """A profile of one process per module list (pids 100, 101... unless given)."""
    return make_profile([make_process(modules, pid=pids[i] if pids else 100 + i,
                                      started_us=started[i] if started else 0.0,
                                      argv=["/venv/bin/python", f"p{i}.py"])
                         for i, modules in enumerate(module_lists)])


# -- what the outputs must give back, computed from the importers -----------------------------

def label(record: ModuleRecord) -> str:
    return record.name if record.status == "ok" else f"{record.name} [{record.status}]"


def expected(profile: Profile, index: int) -> dict[str, dict[str, tuple[int, int]]]:
    """thread -> {label: (self ns, total ns)}: a module's parent is its importer when that
    ran in the same process and thread; total = self + children's totals."""
    modules = profile.processes[index].modules
    by_name = {m.name: m for m in modules}
    kids: dict[str, list[str]] = defaultdict(list)
    roots = []
    for m in modules:
        parent = by_name.get(m.importer) if m.importer is not None else None
        if parent is None or parent.thread != m.thread:
            roots.append(m.name)
        else:
            kids[parent.name].append(m.name)
    own = {m.name: round(max(m.self_us.median, 0.0) * 1000) for m in modules}
    total: dict[str, int] = {}
    stack = [(name, False) for name in roots]
    while stack:
        name, done = stack.pop()
        if done:
            total[name] = own[name] + sum(total[kid] for kid in kids[name])
        else:
            stack.append((name, True))
            stack.extend((kid, False) for kid in kids[name])
    out: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for m in modules:
        out[m.thread][label(m)] = (own[m.name], total[m.name])
    return dict(out)


def chains(profile: Profile, index: int) -> Callable[[str], list[str]]:
    """chain(name) -> labels from the root of its thread down to it (on demand: a deep
    profile's chains would fill memory)."""
    by_name = {m.name: m for m in profile.processes[index].modules}

    def chain(name: str) -> list[str]:
        out, at = [], by_name[name]
        while at is not None:
            out.append(label(at))
            up = by_name.get(at.importer) if at.importer is not None else None
            at = up if up is not None and up.thread == at.thread else None
        return out[::-1]
    return chain


def pname(profile: Profile, index: int) -> str:
    pids = [p.pid for p in profile.processes]
    pid = pids[index]
    return f"pid {pid}" if pid > 0 and pids.count(pid) == 1 else f"process {index}"


def thread_label(thread: str) -> str:
    return "main" if thread == "main" else f"thread {thread}"


# -- reading the outputs back ---------------------------------------------------------------

def replay_speedscope(text: str, validate: bool = True) -> dict:
    """Profile name -> {frame name: (self ns, total ns)} for evented profiles, and for
    sampled ones the list of (stack of frame names, weight)."""
    document = json.loads(text)
    if validate:
        validator("speedscope-file-format-schema.json").validate(document)
    frames = [frame["name"] for frame in document["shared"]["frames"]]
    out: dict = {}
    for profile in document["profiles"]:
        assert profile["name"] not in out
        if profile["type"] == "sampled":
            assert len(profile["samples"]) == len(profile["weights"])
            assert profile["endValue"] == sum(profile["weights"])
            out[profile["name"]] = [([frames[i] for i in stack], weight) for stack, weight
                                    in zip(profile["samples"], profile["weights"])]
            continue
        assert profile["unit"] == "microseconds"
        spans: dict[str, tuple[int, int]] = {}
        opened: list[list] = []  # [frame, start ns, children's total ns]
        last = profile["startValue"]
        for event in profile["events"]:
            assert event["at"] >= last  # sorted
            last = event["at"]
            at = round(event["at"] * 1000)
            if event["type"] == "O":
                opened.append([event["frame"], at, 0])
                continue
            frame, start, inner = opened.pop()
            assert frame == event["frame"]  # closed last-in first-out
            name = frames[frame]
            assert name not in spans
            spans[name] = (at - start - inner, at - start)
            if opened:
                opened[-1][2] += at - start
        assert not opened and last <= profile["endValue"]
        out[profile["name"]] = spans
    return out


def replay_trace(text: str, validate: bool = True) -> dict:
    """{(process index, thread name): {name: (self ns, total ns)}}, replaying each track's
    "B"/"E" pairs in file order (as Perfetto and speedscope do; Perfetto's `int(us * 1000)`
    included): every end closes the span on top of its track's stack, with the same name
    and args, never before it began."""
    document = json.loads(text)
    if validate:
        validator("trace-event-format.schema.json").validate(document)
    events = document["traceEvents"]
    index = {e["pid"]: e["args"]["sort_index"] for e in events
             if e["ph"] == "M" and e["name"] == "process_sort_index"}
    threads = {(e["pid"], e["tid"]): (index[e["pid"]], e["args"]["name"]) for e in events
               if e["ph"] == "M" and e["name"] == "thread_name"}
    assert len(set(threads.values())) == len(threads)
    timed = [e for e in events if e["ph"] in ("B", "E")]
    assert {e["ph"] for e in events} <= {"M", "B", "E"}
    assert [e["ts"] for e in timed] == sorted(e["ts"] for e in timed)
    spans: dict = defaultdict(dict)
    open_by_track: dict = defaultdict(list)
    for event in timed:
        track = threads[event["pid"], event["tid"]]
        at = int(event["ts"] * 1000)
        opened = open_by_track[track]  # [event, start, children's total]
        if event["ph"] == "B":
            opened.append([event, at, 0])
            continue
        begin, start, inner = opened.pop()
        assert (event["name"], event["args"]) == (begin["name"], begin["args"])
        assert at >= start
        spans[track][event["name"]] = (at - start - inner, at - start)
        if opened:
            opened[-1][2] += at - start
    assert all(not opened for opened in open_by_track.values()), "a span never ended"
    return dict(spans)


def read_folded(text: str) -> list[tuple[list[str], int]]:
    out = []
    for line in text.split("\n")[:-1]:
        stack, value = FLAMEGRAPH.match(line).groups()
        assert not FLAMEGRAPH.match(stack)  # no frame ends as a second count would
        assert line.rsplit(" ", 1) == [stack, value]  # inferno's reading agrees
        frames = [urllib.parse.unquote(f, errors="surrogatepass") if f != "%" else ""
                  for f in stack.split(";")]
        out.append((frames, int(value)))
    assert text.endswith("\n") or not text
    return out


def check_all(profile: Profile, validate: bool = True) -> tuple[dict, dict]:
    """Every format read back and compared with `expected`: (speedscope, trace) readings.
    `validate=False` skips the schemas (jsonschema takes a minute on 100,000 events)."""
    speedscope = replay_speedscope(render_speedscope(profile), validate)
    trace = replay_trace(render_trace(profile), validate)
    several = len(profile.processes) > 1
    time_lines = read_folded(render_folded(profile))
    memory_lines = read_folded(render_folded(profile, metric="memory"))
    for index, process in enumerate(profile.processes):
        name = pname(profile, index)
        for thread, modules in expected(profile, index).items():
            assert speedscope[f"{name} {thread_label(thread)}: import time"] == modules
            assert trace[index, thread_label(thread)] == modules
        full = chains(profile, index)
        samples = [(tuple(stack), weight) for stack, weight
                   in speedscope.get(f"{name}: import memory (self RSS)", [])]
        assert sorted(samples) == sorted(
            (tuple(full(m.name)), m.self_rss.median) for m in process.modules
            if m.self_rss is not None and m.self_rss.median > 0)
        for metric, lines in (("time", time_lines), ("memory", memory_lines)):
            want = {}
            for m in process.modules:
                stat = m.self_us if metric == "time" else m.self_rss
                value = round(stat.median) if stat is not None and stat.median > 0 else 0
                if value:
                    head = [] if m.thread == "main" else [thread_label(m.thread)]
                    want[tuple(head + full(m.name))] = value
            got: dict = defaultdict(int)
            for frames, value in lines:
                if not several:
                    got[tuple(frames)] += value
                elif frames[0].startswith(name + " "):
                    got[tuple(frames[1:])] += value
            assert dict(got) == want
    return speedscope, trace


