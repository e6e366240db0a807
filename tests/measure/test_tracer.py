"""The injected tracer, in real interpreters: what it records and what it leaves alone."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from hotstart.measure._records import RawProcess, read_trace_dir

PKG = {
    "pkg/__init__.py": """
        from . import a
        VALUE = a.VALUE
    """,
    "pkg/a.py": """
        import json

        from pkg import b
        VALUE = b.VALUE + 1
    """,
    "pkg/b.py": """
        VALUE = 41
    """,
    "pkg/dyn.py": """
        X = 1
    """,
}


def trace(cwd: pathlib.Path, inject: pathlib.Path, code: str, *, calls: bool = False,
          extra_path: str | None = None,
          mode: str | None = None) -> tuple[list[RawProcess], subprocess.CompletedProcess]:
    out = cwd / "trace-out"
    out.mkdir(exist_ok=True)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(inject), extra_path) if p)
    env["HOTSTART_TRACE_DIR"] = str(out)
    env["HOTSTART_TRACE"] = mode if mode is not None else ("calls" if calls else "memory,sync")
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=120)
    return read_trace_dir(str(out)), result


def by_name(process: RawProcess) -> dict:
    return {imp.name: imp for imp in process.imports}


def test_records_tree_sites_and_times(project, inject_dir):
    root = project(PKG)
    (process,), result = trace(root, inject_dir, "import pkg; print(pkg.VALUE)")
    assert result.stdout == "42\n"  # the target behaves as without the tracer
    records = by_name(process)
    seq = {imp.seq: imp.name for imp in process.imports}
    assert seq[records["pkg.a"].parent] == "pkg"
    assert seq[records["pkg.b"].parent] == "pkg.a"
    assert records["pkg"].parent == 0 and records["pkg"].depth == 0
    assert records["pkg.b"].depth == 2
    assert records["pkg.b"].site == f"{root / 'pkg' / 'a.py'}:3"
    assert records["pkg"].site == "<string>:1"
    for imp in process.imports:
        assert imp.status == "ok"
        assert 0 <= imp.self_ns <= imp.cumulative_ns
    assert records["pkg"].cumulative_ns >= records["pkg.a"].cumulative_ns
    assert records["pkg.b"].origin == str(root / "pkg" / "b.py")
    assert process.complete and process.report["module_count"] > len(process.imports)
    assert records["pkg"].thread == "main"


def test_missing_failing_and_import_module(project, inject_dir):
    root = project({**PKG, "broken.py": "raise ValueError('boom')\n"})
    code = (
        "import importlib\n"
        "try:\n    import no_such_module_xyz\nexcept ImportError:\n    pass\n"
        "try:\n    import broken\nexcept ValueError:\n    pass\n"
        "importlib.import_module('pkg.dyn')\n"
    )
    (process,), result = trace(root, inject_dir, code)
    assert result.returncode == 0, result.stderr
    records = by_name(process)
    assert records["no_such_module_xyz"].status == "missing"
    assert records["broken"].status == "error:ValueError"
    # importlib.import_module is attributed to the line that called it, not to importlib
    assert records["pkg.dyn"].site == "<string>:10"


def test_threads_fork_and_subprocesses_are_traced(project, inject_dir):
    root = project(PKG)
    code = (
        "import os, subprocess, sys, threading\n"
        "t = threading.Thread(target=lambda: __import__('pkg'))\n"
        "t.start(); t.join()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    import csv\n    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
        "subprocess.run([sys.executable, '-c', 'import json'], check=True)\n"
    )
    processes, result = trace(root, inject_dir, code)
    assert result.returncode == 0, result.stderr
    assert len(processes) == 3
    main, *others = processes
    assert by_name(main)["pkg"].thread not in ("main", "")
    forked = next(p for p in others if p.header["ppid"] == main.pid and "csv" in by_name(p))
    assert "csv" not in by_name(main)
    spawned = next(p for p in others if p is not forked)
    assert spawned.argv[-2:] == ["-c", "import json"]
    assert "json" in by_name(spawned)


def test_os_exit_keeps_everything_recorded_before_it(project, inject_dir):
    root = project(PKG)
    (process,), result = trace(root, inject_dir, "import os, pkg; os._exit(3)")
    assert result.returncode == 3
    assert not process.complete
    assert by_name(process)["pkg.b"].status == "ok"


def test_leaves_sys_path_and_chains_the_real_sitecustomize(project, inject_dir):
    root = project({"site_dir/sitecustomize.py": "import os\nos.environ['REAL_SITE'] = 'yes'\n"})
    code = ("import os, sys, sitecustomize\n"
            "print(os.environ.get('REAL_SITE'), sitecustomize.__file__)\n"
            f"print(any(p == {str(inject_dir)!r} for p in sys.path))\n")
    _, result = trace(root, inject_dir, code, extra_path=str(root / "site_dir"))
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == f"yes {root / 'site_dir' / 'sitecustomize.py'}"
    assert second == "False"


def test_inactive_without_trace_dir(project, inject_dir):
    root = project(PKG)
    env = {**os.environ, "PYTHONPATH": str(inject_dir)}
    env.pop("HOTSTART_TRACE_DIR", None)
    result = subprocess.run([sys.executable, "-c", "import sys, pkg; print('_frozen_importlib' in sys.modules)"],
                            cwd=root, env=env, text=True, capture_output=True, timeout=60)
    assert result.stdout == "True\n"
    assert not list(root.glob("**/*.trace"))


def test_calls_mode_records_hot_calls_and_every_edge(project, inject_dir):
    root = project({
        **PKG,
        "slow.py": """
            import json  # already loaded by the time this runs: an edge, not an import

            def expensive():
                return sum(i * i for i in range(200_000))

            TOTAL = expensive()
        """,
    })
    (process,), result = trace(root, inject_dir, "import json, slow", calls=True)
    assert result.returncode == 0, result.stderr
    calls = {row["function"][2]: row for row in process.report["calls"]}
    expensive = calls["expensive"]
    assert expensive["calls"] == 1
    assert any(caller[0][2] == "<module>" and caller[0][0].endswith("slow.py")
               for caller in expensive["callers"])
    edges = {(importer, imported) for importer, imported, _ in process.report["edges"]}
    assert ("slow", "json") in edges and ("__main__", "json") in edges


def test_exec_of_another_python_gets_its_own_trace(project, inject_dir):
    # exec keeps the pid: the two interpreters must not share (and mix) one trace file
    root = project(PKG)
    code = ("import os, sys, json\n"
            "os.execv(sys.executable, [sys.executable, '-c', 'import csv, decimal'])\n")
    processes, result = trace(root, inject_dir, code)
    assert result.returncode == 0, result.stderr
    assert len(processes) == 2 and processes[0].pid == processes[1].pid
    first, second = processes
    assert "json" in by_name(first) and "csv" not in by_name(first)
    assert "csv" in by_name(second) and "json" not in by_name(second)
    assert second.argv[-1] == "import csv, decimal"


def test_timed_mode_buffers_clocks_and_flushes_on_every_exit(project, inject_dir):
    # Timed runs: no RSS reads, no write per import; records reach the file at exit,
    # through os._exit too, and a fork neither loses nor duplicates them.
    root = project(PKG)
    code = ("import os, pkg\n"
            "pid = os.fork()\n"
            "if pid == 0:\n    import csv\n    os._exit(0)\n"
            "os.waitpid(pid, 0)\n"
            "import decimal\n"
            "os._exit(0)\n")
    processes, result = trace(root, inject_dir, code, mode="")
    assert result.returncode == 0, result.stderr
    parent = next(p for p in processes if "pkg" in by_name(p))
    child = next(p for p in processes if p is not parent)
    assert {"pkg", "pkg.a", "pkg.b", "decimal"} <= set(by_name(parent))
    assert "csv" in by_name(child) and "pkg" not in by_name(child)
    assert [imp.name for imp in parent.imports].count("pkg.b") == 1
    assert all(imp.rss0 == -1 and imp.cumulative_rss is None for imp in parent.imports)
    assert all(imp.status == "ok" for imp in by_name(parent).values())


def test_memory_mode_reads_rss_per_import(project, inject_dir):
    root = project({"big.py": "DATA = bytearray(32 * 1024 * 1024)\nDATA[::4096] = b'x' * 8192\n"})
    (process,), result = trace(root, inject_dir, "import big", mode="memory,sync")
    assert result.returncode == 0, result.stderr
    big = by_name(process)["big"]
    assert big.cumulative_rss >= 30 * 1024 * 1024  # the pages it touched


def test_an_import_that_reenters_itself_is_one_record(project, inject_dir):
    # `import pkg.sub` imports pkg first, and pkg/__init__ imports pkg.sub itself: the inner
    # import runs sub's body while the outer one waits. One record, where the statement was.
    root = project({
        "pkg/__init__.py": "from .frames import X\nfrom .sub import Y\n",
        "pkg/frames.py": "import decimal\nX = 1\n",
        "pkg/sub.py": "import csv\nY = 2\n",
        "main.py": "import pkg.sub\n",
    })
    (process,), result = trace(root, inject_dir, "import main")
    assert result.returncode == 0, result.stderr
    names = [imp.name for imp in process.imports]
    assert names.count("pkg.sub") == 1
    records = by_name(process)
    seq = {imp.seq: imp.name for imp in process.imports}
    sub = records["pkg.sub"]
    assert seq[sub.parent] == "main" and sub.site == f"{root / 'main.py'}:1"
    assert seq[records["pkg"].parent] == "pkg.sub"
    assert seq[records["csv"].parent] == "pkg.sub"  # sub's own import moved up with it
    assert records["csv"].depth == sub.depth + 1
    # the statement's cost includes the package __init__; self is sub's body alone
    assert sub.cumulative_ns >= records["pkg"].cumulative_ns > records["pkg.frames"].cumulative_ns
    # sub's body ran inside pkg/__init__, after pkg.frames
    assert sub.self_ns <= records["pkg"].cumulative_ns - records["pkg.frames"].cumulative_ns
