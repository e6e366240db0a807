"""The speedscope, trace and folded outputs and the time line they share (render/_timeline.py).

Each output is validated against its format's schema (tests/data/schemas) and read back the
way its viewer reads it (formats_readback.py): every module must come back with the
profile's self time (negative clamped to 0) and a total equal to its self time plus its
children's totals, computed from the importers; folded lines must add up to the rounded
self time and self RSS. Real profiles (the example, a script with a thread and a
subprocess) and synthetic ones (layout rules, hostile names, 6,000 levels, 36,000 modules).
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from conftest import run_hotstart
from formats_readback import check_all, pname, read_folded, rec, synthetic, validator
from helpers import make_profile

from hotstart.measure.model import ModuleRecord, Profile
from hotstart.render._timeline import layout, us
from hotstart.render.folded import render_folded
from hotstart.render.speedscope import render_speedscope
from hotstart.render.trace import render_trace

# -- real profiles ----------------------------------------------------------------------------

SCRIPT = """
import subprocess, sys, threading
def work():
    import email.parser, json
thread = threading.Thread(target=work)
thread.start(); thread.join()
subprocess.run([sys.executable, "-c", "import decimal, fractions"], check=True)
import argparse
"""


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    """A real profile of two processes, the first importing in a thread too."""
    root = tmp_path_factory.mktemp("multi")
    (root / "mp.py").write_text(SCRIPT)
    result = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "-o", "mp.json", "--",
                          sys.executable, "mp.py", cwd=root)
    assert result.returncode == 0, result.stderr
    return Profile.from_json((root / "mp.json").read_text())


def test_real_profile_round_trips_in_every_format(jobrunner_profile):
    profile = Profile.from_json(jobrunner_profile.read_text())
    assert len(profile.main.modules) > 100
    speedscope, _ = check_all(profile)
    assert any(m.self_rss for m in profile.main.modules)
    assert f"{pname(profile, 0)}: import memory (self RSS)" in speedscope
    frames = {f["name"]: f for f in json.loads(render_speedscope(profile))["shared"]["frames"]}
    for m in profile.main.modules:
        if m.status == "ok" and m.kind == "builtin":
            assert frames[m.name] == {"name": m.name}
        elif m.status == "ok" and (m.file or "").endswith(".py"):
            assert frames[m.name] == {"name": m.name, "file": m.file, "line": 1}


def test_processes_and_threads_get_their_own_profiles_and_tracks(multi):
    first, second = multi.processes
    threads = sorted({m.thread for m in first.modules} - {"main"})
    assert len(threads) == 1 and {m.thread for m in second.modules} == {"main"}
    assert first.pid != second.pid and second.started_us > 0
    speedscope, trace = check_all(multi)
    memory = [[f"pid {p.pid}: import memory (self RSS)"]
              if any(m.self_rss and m.self_rss.median > 0 for m in p.modules) else []
              for p in (first, second)]
    assert memory[0]  # the thread's email package grows the RSS
    assert list(speedscope) == [
        f"pid {first.pid} main: import time", f"pid {first.pid} thread {threads[0]}: import time",
        *memory[0], f"pid {second.pid} main: import time", *memory[1]]
    assert set(trace) == {(0, "main"), (0, f"thread {threads[0]}"), (1, "main")}
    assert "email.parser" in trace[0, f"thread {threads[0]}"]
    assert "decimal" in trace[1, "main"] and "decimal" not in trace[0, "main"]

    events = json.loads(render_trace(multi))["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    python = os.path.basename(sys.executable)
    assert names == {first.pid: f"{python} mp.py",
                     second.pid: f"{python} -c 'import decimal, fractions'"}
    tids = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert tids == {(first.pid, 1): "main", (first.pid, 2): f"thread {threads[0]}",
                    (second.pid, 1): "main"}
    child = [e for e in events if e["ph"] == "B" and e["pid"] == second.pid]
    assert min(e["ts"] for e in child) >= second.started_us  # on the target's time line

    folded = render_folded(multi)
    assert f"pid {first.pid} {python} mp.py;thread {threads[0]};email.parser " in folded
    assert f"pid {second.pid} {python} -c 'import decimal, fractions';decimal " in folded


# -- the layout's rules -----------------------------------------------------------------------

def test_layout_keeps_real_positions_where_the_self_times_allow():
    profile = synthetic([
        rec("a", self_us=100, start=10, order=0),
        rec("b", "a", self_us=20, start=30, order=1),  # 20 us after a: fits a's self time
        rec("c", "a", self_us=5, start=500, order=2),  # 450 us gap, 80 left: clamped
        rec("d", self_us=10, start=50, order=3),  # overlaps a: pushed after it
        rec("h", "d", self_us=3, start=140, order=4, status="missing"),
        rec("e", self_us=-5, start=200, order=5),  # negative: 0
        rec("f", "elsewhere", self_us=1, start=300, order=6),  # importer not here: a root
        rec("g", "a", self_us=7, start=20, order=7, thread="77"),  # from another thread
    ], started=[1000.0])
    tracks = layout(profile)
    assert [(t.thread, t.origin_ns) for t in tracks] == [("main", 1_000_000), ("77", 1_000_000)]
    got = {s.record.name: ((s.start_ns - 1_000_000) / 1000, (s.end_ns - 1_000_000) / 1000,
                           s.depth) for t in tracks for s in t.spans}
    assert got == {"a": (10, 135, 0), "b": (30, 50, 1), "c": (130, 135, 1), "d": (135, 148, 0),
                   "h": (140, 143, 1), "e": (200, 200, 0), "f": (300, 301, 0), "g": (20, 27, 0)}
    check_all(profile)
    assert "h [missing]" in json.dumps(json.loads(render_speedscope(profile))["shared"])


def test_threads_come_main_first_then_in_the_order_they_imported():
    profile = synthetic([rec("late", self_us=1, order=5, thread="2"),
                         rec("early", self_us=1, order=3, thread="1"),
                         rec("main", self_us=1, order=9)])
    assert [t.thread for t in layout(profile)] == ["main", "1", "2"]
    events = json.loads(render_trace(profile))["traceEvents"]
    assert [(e["tid"], e["args"]["name"]) for e in events if e["name"] == "thread_name"] == [
        (1, "main"), (2, "thread 1"), (3, "thread 2")]


def test_broken_trees_are_laid_out_once_each():
    """What a checked profile cannot hold (a cycle, a name twice) still ends."""
    modules = [rec("a", "b", order=0), rec("b", "a", order=1), rec("c", "c", order=2),
               rec("a", None, order=3)]
    spans = [s for t in layout(synthetic(modules)) for s in t.spans]
    assert sorted(id(s.record) for s in spans) == sorted(id(m) for m in modules)


def test_pids_missing_or_shared_get_stable_synthetic_ones():
    profile = synthetic(*[[rec("m")] for _ in range(4)], pids=[0, 77, 77, 5])
    speedscope, _ = check_all(profile)
    assert [n for n in speedscope if n.endswith("time")] == [
        "process 0 main: import time", "process 1 main: import time",
        "process 2 main: import time", "pid 5 main: import time"]
    text = render_trace(profile)
    assert text == render_trace(profile)
    pids = [e["pid"] for e in json.loads(text)["traceEvents"] if e["name"] == "process_name"]
    assert len(set(pids)) == 4 and pids[3] == 5 and min(pids[:3]) > 1 << 22
    assert "recorded pid 77" in text


def test_microseconds_read_back_to_the_nanosecond():
    for ns in [*range(0, 200_000, 7), 1_234_567_891, 10**15 + 3]:
        assert int(us(ns) * 1000) == ns and round(us(ns) * 1000) == ns


def test_empty_profiles():
    for profile in (make_profile([]), synthetic([])):
        check_all(profile)
        assert render_folded(profile) == ""
    with pytest.raises(ValueError, match="metric"):
        render_folded(synthetic([rec("m")]), metric="blocks")


# -- hostile and huge profiles ----------------------------------------------------------------

HOSTILE = ["a;b", "a%3Bb", "line\nbreak", "</script><script>alert(1)</script>", "模块.модуль",
           "py🐍", "bidi\u202eevil", "tab\there", "x 12", "x 1.5", "x 12.", "", "lone\ud800",
           "nbsp\xa05", "amp&lt;", "50%"]


def test_hostile_names_survive_every_format():
    modules = [rec("root", self_us=3, rss=4096)]
    modules += [rec(name, "root" if i % 2 else (HOSTILE[i - 1] if i else "root"),
                    self_us=1.4 + i, order=i + 1, rss=1000.0 * (i + 1))
                for i, name in enumerate(HOSTILE)]
    profile = synthetic(modules, [rec("x 12", self_us=2)])
    check_all(profile)
    for text in (render_speedscope(profile), render_trace(profile)):
        assert text.isascii() and not {"<", ">", "&"} & set(text)
        assert "</script>" not in text and "\n" not in text[:-1]
    names = {f["name"] for f in json.loads(render_speedscope(profile))["shared"]["frames"]}
    assert set(HOSTILE) <= names
    for metric, extra in (("time", {"x 12"}), ("memory", set())):  # the 2nd process: no RSS
        text = render_folded(profile, metric=metric)
        text.encode("utf-8")  # nothing a file cannot hold (the lone surrogate is escaped)
        lines = read_folded(text)
        assert len(lines) == len(text.splitlines()) == len(modules) + len(extra)
        assert {frames[-1] for frames, _ in lines} == {"root", *HOSTILE, *extra}
    assert "x%2012 2\n" in render_folded(profile)


def test_a_6000_deep_chain_renders_in_every_format():
    depth = 6000
    modules = [rec(f"m{i}", f"m{i - 1}" if i else None, self_us=0.3, start=float(i), order=i)
               for i in range(depth)]
    modules[-1] = rec(f"m{depth - 1}", f"m{depth - 2}", self_us=5, order=depth, rss=8192)
    profile = synthetic(modules)
    speedscope, _ = check_all(profile, validate=False)
    assert speedscope["pid 100 main: import time"]["m0"] == (300, 300 * (depth - 1) + 5000)
    assert max(s.depth for t in layout(profile) for s in t.spans) == depth - 1
    (line,) = read_folded(render_folded(profile))  # 0.3 us rounds to 0: one line
    assert len(line[0]) == depth and line[1] == 5
    (sample,) = speedscope["pid 100: import memory (self RSS)"]
    assert len(sample[0]) == depth and sample[1] == 8192


def test_12000_modules_in_3_processes_render_in_every_format():
    count = 12_000

    def process(shift: int) -> list[ModuleRecord]:
        return [rec(f"pkg{i}", f"pkg{(i - 1) // 4}" if i else None, self_us=(i % 7) * 1.5 - 1.5,
                    start=i * 2.0, order=i, thread="main" if i % 3000 else str(5 + shift),
                    rss=None if i % 11 == 0 else (i % 5 - 1) * 4096.0,
                    file=f"/src/pkg{i}.py")
                for i in range(count)]

    profile = synthetic(process(0), process(1), process(2), started=[0.0, 5e4, 9e4])
    _, trace = check_all(profile, validate=False)
    document = json.loads(render_speedscope(profile))
    assert len(document["shared"]["frames"]) == count  # shared by the 3 processes
    evented = [p for p in document["profiles"] if p["type"] == "evented"]
    assert sum(len(p["events"]) for p in evented) == 2 * 3 * count
    assert len(evented) == 3 * 2 and len(document["profiles"]) == 3 * 3
    assert sum(len(spans) for spans in trace.values()) == 3 * count
    positive = sum(1 for i in range(count) if round(max((i % 7) * 1.5 - 1.5, 0)))
    assert len(render_folded(profile).splitlines()) == 3 * positive


# -- the trace schema is a real check ---------------------------------------------------------

GOOD_EVENTS = [
    {"name": "process_name", "ph": "M", "pid": 1, "args": {"name": "python"}},
    {"name": "thread_name", "ph": "M", "pid": 1, "tid": 1, "args": {"name": "main"}},
    {"name": "json", "cat": "stdlib", "ph": "X", "ts": 1.5, "dur": 0, "pid": 1, "tid": 1},
    {"name": "load", "ph": "B", "ts": 2, "pid": 1, "tid": 1},
    {"ph": "E", "ts": 3, "pid": 1, "tid": 1},
    {"name": "mark", "ph": "i", "ts": 4, "s": "g"},
    {"name": "rss", "ph": "C", "ts": 5, "pid": 1, "args": {"bytes": 4096}},
]


@pytest.mark.parametrize("bad", [
    {"name": "json", "ts": 1, "dur": 1, "pid": 1, "tid": 1},  # no ph
    {"name": "json", "ph": "X", "ts": 1, "pid": 1, "tid": 1},  # X without dur
    {"name": "json", "ph": "X", "ts": 1, "dur": 1, "pid": "1", "tid": 1},  # string pid
    {"name": "json", "ph": "X", "ts": 1, "dur": -1, "pid": 1, "tid": 1},  # negative dur
    {"name": "json", "ph": "X", "ts": "1", "dur": 1, "pid": 1, "tid": 1},  # string ts
    {"name": "json", "ph": "Q", "ts": 1, "pid": 1, "tid": 1},  # no such phase
    {"name": "json", "ph": "B", "pid": 1, "tid": 1},  # B without ts
    {"name": "thread_name", "ph": "M", "pid": 1, "args": {"name": "main"}},  # no tid
    {"name": "process_sort_index", "ph": "M", "pid": 1, "args": {"sort_index": "1"}},
    {"name": "rss", "ph": "C", "ts": 5, "pid": 1, "args": {"bytes": "4096"}},
    {"name": "json", "ph": "X", "ts": 1, "dur": 1, "pid": 1, "tid": 1, "args": []},
])
def test_the_trace_schema_rejects_bad_events(bad):
    schema = validator("trace-event-format.schema.json")
    assert schema.is_valid({"traceEvents": GOOD_EVENTS, "displayTimeUnit": "ms"})
    assert not schema.is_valid({"traceEvents": [*GOOD_EVENTS, bad]})
    assert not schema.is_valid({"traceEvents": GOOD_EVENTS, "displayTimeUnit": "s"})
    assert not schema.is_valid([])  # the array format is not what we write
