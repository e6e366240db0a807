"""Builders for hand-made profiles, shared by the unit tests (`from helpers import ...`).

Times are given in milliseconds for readability and stored in microseconds, as the model
does; memory in bytes. `sample_process()` is a small but realistic import tree:

    json                     stdlib          3.0 ms cumulative
    ├─ json.decoder                          2.0
    │  └─ json.scanner                       0.8
    └─ json.encoder                          0.5
    app                      first-party    60.0
    ├─ app.config                            8.0
    ├─ app.jobs                             50.0
    │  └─ pandas             third-party    45.0
    │     └─ pandas.core                    40.0
    │        └─ numpy        third-party    30.0
    └─ app.optional          [missing]       0.05
"""

from __future__ import annotations

from typing import Any

from hotstart.measure.model import (
    Bytecode,
    CallLink,
    CrossCheck,
    HotCall,
    ImportEdge,
    ModuleRecord,
    ProcessProfile,
    Profile,
    Stat,
)

MB = 1 << 20


def stat(median: float, low: float | None = None, high: float | None = None) -> Stat:
    """A Stat with the given median (min/max default to +-10%)."""
    return Stat(median, median * 0.9 if low is None else low, median * 1.1 if high is None else high)


def module(name: str, importer: str | None, order: int, *, self_ms: float, cum_ms: float,
           rss: float | None = None, depth: int | None = None, **fields: Any) -> ModuleRecord:
    """A ModuleRecord; `rss` is the cumulative RSS growth in bytes (self = same value)."""
    if depth is None:
        depth = 0 if importer is None else name.count(".") + 1  # good enough for the samples
    values: dict[str, Any] = dict(
        name=name,
        importer=importer,
        depth=depth,
        order=order,
        start_us=order * 100.0,
        thread="main",
        self_us=stat(self_ms * 1e3),
        cumulative_us=stat(cum_ms * 1e3),
        self_rss=stat(rss) if rss is not None else None,
        cumulative_rss=stat(rss) if rss is not None else None,
        site=f"/srv/app/src/{(importer or 'app.__main__').replace('.', '/')}.py:{order + 1}",
    )
    values.update(fields)
    return ModuleRecord(**values)


SITE_PACKAGES = "/venv/lib/python3.11/site-packages"
MAIN = "/srv/app/src/app/__main__.py"


def sample_modules() -> list[ModuleRecord]:
    return [
        module("json", None, 0, self_ms=0.5, cum_ms=3.0, rss=256 * 1024, kind="stdlib",
               file="/usr/lib/python3.11/json/__init__.py", bytecode="pyc", site=f"{MAIN}:1"),
        module("json.decoder", "json", 1, self_ms=1.2, cum_ms=2.0, depth=1, kind="stdlib",
               site="/usr/lib/python3.11/json/__init__.py:106"),
        module("json.scanner", "json.decoder", 2, self_ms=0.8, cum_ms=0.8, depth=2,
               kind="stdlib", site="/usr/lib/python3.11/json/decoder.py:5"),
        module("json.encoder", "json", 3, self_ms=0.5, cum_ms=0.5, depth=1, kind="stdlib",
               site="/usr/lib/python3.11/json/__init__.py:107"),
        module("app", None, 4, self_ms=2.0, cum_ms=60.0, rss=30 * MB,
               file="/srv/app/src/app/__init__.py", bytecode="source", site=f"{MAIN}:5"),
        module("app.config", "app", 5, self_ms=8.0, cum_ms=8.0, rss=1 * MB, depth=1,
               site="/srv/app/src/app/__init__.py:1"),
        module("app.jobs", "app", 6, self_ms=5.0, cum_ms=50.0, rss=28 * MB, depth=1,
               site="/srv/app/src/app/__init__.py:2"),
        module("pandas", "app.jobs", 7, self_ms=5.0, cum_ms=45.0, rss=27 * MB, depth=2,
               kind="third-party", distribution="pandas",
               file=f"{SITE_PACKAGES}/pandas/__init__.py", site="/srv/app/src/app/jobs.py:3"),
        module("pandas.core", "pandas", 8, self_ms=10.0, cum_ms=40.0, rss=20 * MB, depth=3,
               kind="third-party", distribution="pandas",
               site=f"{SITE_PACKAGES}/pandas/__init__.py:9"),
        module("numpy", "pandas.core", 9, self_ms=30.0, cum_ms=30.0, rss=12 * MB, depth=4,
               kind="third-party", distribution="numpy",
               site=f"{SITE_PACKAGES}/pandas/core/__init__.py:1"),
        module("app.optional", "app", 10, self_ms=0.05, cum_ms=0.05, depth=1,
               status="missing", site="/srv/app/src/app/__init__.py:4"),
    ]


def sample_edges() -> list[ImportEdge]:
    return [
        ImportEdge("__main__", "json", f"{MAIN}:1"),
        ImportEdge("__main__", "app", f"{MAIN}:5"),
        ImportEdge("app", "app.config", "/srv/app/src/app/__init__.py:1"),
        ImportEdge("app", "app.jobs", "/srv/app/src/app/__init__.py:2"),
        ImportEdge("app.jobs", "pandas", "/srv/app/src/app/jobs.py:3"),
        # A second import of pandas (already loaded by then): another chain to it.
        ImportEdge("app.config", "pandas", "/srv/app/src/app/config.py:7"),
        # An import of a submodule from outside the package also loads the package.
        ImportEdge("app.jobs", "pandas.core.frame", "/srv/app/src/app/jobs.py:4"),
        # Imports inside pandas itself are not chains *to* pandas.
        ImportEdge("pandas.core", "pandas", f"{SITE_PACKAGES}/pandas/core/__init__.py:2"),
        ImportEdge("pandas", "pandas.core", f"{SITE_PACKAGES}/pandas/__init__.py:9"),
        ImportEdge("pandas.core", "numpy", f"{SITE_PACKAGES}/pandas/core/__init__.py:1"),
    ]


def sample_hot_call() -> HotCall:
    return HotCall(
        function="app.log:get_logger",
        file="/srv/app/src/app/log.py",
        line=12,
        calls=3,
        self_us=150.0,
        cumulative_us=4500.0,
        imports_us=500.0,
        callers=[
            CallLink("app.config", "/srv/app/src/app/config.py", 1, 2, 3000.0),
            CallLink("app.jobs", "/srv/app/src/app/jobs.py", 1, 1, 1500.0),
        ],
        callees=[CallLink("inspect:stack", "/usr/lib/python3.11/inspect.py", 1735, 3, 3800.0)],
    )


def make_process(modules: list[ModuleRecord] | None = None, **fields: Any) -> ProcessProfile:
    values: dict[str, Any] = dict(
        argv=["/venv/bin/python", "-m", "app"],
        python="3.11.7",
        executable="/venv/bin/python",
        wall_us=stat(120_000.0),
        modules=sample_modules() if modules is None else modules,
        pid=4242,
        module_count=180,
        preloaded=["builtins", "sys", "os", "encodings", "site"],
        edges=sample_edges() if modules is None else [],
    )
    values.update(fields)
    return ProcessProfile(**values)


def make_profile(processes: list[ProcessProfile] | None = None, **fields: Any) -> Profile:
    values: dict[str, Any] = dict(
        target=["python", "-m", "app"],
        python="3.11.7",
        engine="tracer",
        runs=5,
        warmup=1,
        wall_us=stat(120_000.0),
        floor_us=stat(15_000.0),
        processes=[make_process()] if processes is None else processes,
        created="2026-11-22T21:00:00Z",
    )
    values.update(fields)
    return Profile(**values)


def full_profile() -> Profile:
    """A profile with every optional field set (and some stats left None on purpose)."""
    main = make_process(
        parent_pid=1,
        started_us=12.5,
        peak_rss=stat(80 * MB),
        uss=stat(60 * MB),
        hot_calls=[sample_hot_call()],
        profiling_import_us=95_000.0,
        bytecode=Bytecode(from_pyc=120, compiled=3, dont_write_bytecode=True),
        complete=False,
    )
    main.modules[0].self_blocks = stat(1500.0)
    main.modules[0].cumulative_blocks = stat(4000.0)
    main.modules[0].runs = 4
    main.modules[0].status = "unfinished"
    child = make_process(
        modules=[module("csv", None, 0, self_ms=0.4, cum_ms=0.4, kind="stdlib")],
        argv=["/venv/bin/python", "-c", "import csv"],
        pid=4243,
        parent_pid=4242,
        wall_us=None,  # no wall time measured for a child
    )
    return make_profile(
        processes=[main, child],
        exit_code=1,
        timed_out=True,
        stderr_tail=["Traceback (most recent call last):", "KeyError: 'x'"],
        notes=["2 modules were not imported in every run"],
        cross_check=CrossCheck(runs=3, modules_compared=9, pearson=0.97, spearman=None,
                               only_tracer=["app.optional"], only_importtime=["encodings.idna"]),
        floor_us=None,
    )


# -- processes a target leaves behind ------------------------------------------------------------

#: Python source that double-forks a daemon (its own session) which appends its pid to the
#: file named by sys.argv[1] and sleeps 120 s; returns once the pid is written.
DAEMONIZE = """
import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        with open(sys.argv[1], "a") as out:
            out.write("%d\\n" % os.getpid())
        time.sleep(120)
    os._exit(0)
os.wait()
while not open(sys.argv[1]).read().strip():
    time.sleep(0.01)
"""


def process_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids: list[int], seconds: float = 10.0) -> list[int]:
    """The pids still alive after waiting up to `seconds` for them to end."""
    import time

    deadline = time.monotonic() + seconds
    while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if process_alive(pid)]
