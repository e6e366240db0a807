"""Exact figures from `hotstart profile` and `diff`, and targets that leave nothing behind.

Real interpreters and processes throughout. Timing is checked through deterministic proxies
(how often the runner wakes up while a target runs) and through differences between two
targets, never against absolute thresholds.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import DAEMONIZE, make_process, make_profile, module, wait_gone

from hotstart.errors import BadInput
from hotstart.measure._classify import kind_of, project_roots
from hotstart.measure.diff import diff_profiles
from hotstart.measure.model import KINDS, ImportTree, Profile
from hotstart.measure.runner import Target, _spawn, profile
from hotstart.render.diff import render_diff

PY27 = "/root/.pyenv/versions/2.7.18/bin/python"
PY36 = "/root/.pyenv/versions/3.6.15/bin/python"
PY313 = "/root/.pyenv/versions/3.13.0/bin/python"


def run_hotstart(*args: str, cwd: Path, env: dict[str, str] | None = None
                 ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hotstart", *args], cwd=cwd, env=env,
                          text=True, capture_output=True, timeout=600,
                          stdin=subprocess.DEVNULL)


# -- 1. wall time is measured at the target's exit, not at the next poll ----------------------


def _voluntary_switches() -> int:
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def test_waiting_for_a_target_does_not_poll(tmp_path):
    # Popen.wait(timeout) sleeps in growing steps (1, 2, 4 ... 50 ms): for a 0.6 s target that
    # is 17 wake-ups, and the exit is seen up to 50 ms late. A blocking wait wakes a few times.
    argv = [sys.executable, "-c", "import time; time.sleep(0.6)"]
    before = _voluntary_switches()
    run = _spawn(argv, dict(os.environ), str(tmp_path), timeout=60)
    switches = _voluntary_switches() - before
    assert run.exit_code == 0 and not run.timed_out
    assert switches <= 8, f"the runner woke up {switches} times while the target ran"


# -- 2. first-party means the target's own project -------------------------------------------


def test_modules_on_pythonpath_outside_the_project_are_not_first_party(tmp_path):
    project = tmp_path / "proj"
    (project / "app").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "core.py").write_text("import sharedlib\n")
    (project / "scripts").mkdir()
    (project / "scripts" / "run.py").write_text("import app.core\nimport helper\n")
    (project / "scripts" / "helper.py").write_text("")
    shared = tmp_path / "opt" / "shared"
    shared.mkdir(parents=True)
    (shared / "sharedlib.py").write_text("import json\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(shared), str(project)])}

    # A script in a subdirectory: its project is the nearest directory with pyproject.toml.
    result = profile(Target("script", "scripts/run.py"), runs=1, cwd=project, env=env)
    tree = ImportTree(result.main)
    kinds = {name: tree.module(name).kind for name in ("app", "app.core", "helper", "sharedlib",
                                                        "json")}
    assert kinds == {"app": "first-party", "app.core": "first-party", "helper": "first-party",
                     "sharedlib": "external", "json": "stdlib"}
    assert "external" in KINDS and tree.module("sharedlib").distribution is None

    # -m from elsewhere: the module's own project is first-party, the cwd's is too.
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    result = profile(Target("module", "app.core"), runs=1, cwd=elsewhere, env=env)
    tree = ImportTree(result.main)
    assert tree.module("app").kind == "first-party"
    assert tree.module("sharedlib").kind == "external"

    # The kind survives the JSON round trip and shows in the tree.
    again = Profile.from_dict(result.to_dict())
    assert ImportTree(again.main).module("sharedlib").kind == "external"
    shown = run_hotstart("profile", "-q", "-n", "1", "--threshold", "0", "-m", "app.core",
                         cwd=elsewhere, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "sharedlib  (external)" in shown.stdout


def test_project_roots_from_the_tracer_records(tmp_path):
    project = tmp_path / "proj"
    (project / "tools" / "deep").mkdir(parents=True)
    (project / ".git").mkdir()
    loose = tmp_path / "loose"
    loose.mkdir()
    header = {"cwd": str(loose), "argv": ["python", "-X", "importtime", "-W", "error",
                                          str(project / "tools" / "deep" / "run.py")]}
    roots = project_roots(header, [])
    assert roots is not None and set(roots) == {f"{project}/", f"{loose}/"}
    assert kind_of(f"{project}/lib/mod.py", "/usr/lib/python3.11", roots) == "first-party"
    assert kind_of(f"{tmp_path}/elsewhere/mod.py", "/usr/lib/python3.11", roots) == "external"
    # -c and -m name no script: the working directory and __main__'s file do
    header = {"cwd": str(loose), "argv": ["python", "-m", "tools.deep.run"]}
    roots = project_roots(header, [{"main_file": str(project / "tools" / "deep" / "run.py")}])
    assert set(roots) == {f"{project}/", f"{loose}/"}
    # the search stops below the home directory; / is never a project; old records say nothing
    home = os.path.expanduser("~")
    assert project_roots({"cwd": home, "argv": ["python", "-c", "1"]}, []) == (f"{home}/",)
    assert project_roots({"cwd": "/", "argv": ["python", "-c", "1"]}, []) == ()
    assert project_roots({"argv": ["python", "-c", "1"]}, []) is None


# -- 3. a failing target's traceback is the one it prints without hotstart --------------------


FAILING = {
    "main.py": "import helper\n",
    "helper.py": "x = 1\nimport pkg.sub\n",
    "pkg/__init__.py": "",
    "pkg/sub.py": "def f():\n    return 1 / 0\n\nf()\n",
}


@pytest.mark.parametrize("python", [sys.executable, PY313])
@pytest.mark.parametrize("target", [Target("script", "main.py"), Target("module", "main"),
                                    Target("code", "import importlib; "
                                                   "importlib.import_module('helper')")])
def test_failing_target_traceback_has_no_hotstart_frame(project, python, target):
    if not os.path.exists(python):
        pytest.skip(f"{python} is not installed here")
    root = project(FAILING)
    plain = subprocess.run(target.argv(python), cwd=root, capture_output=True, text=True)
    assert plain.returncode == 1 and "ZeroDivisionError" in plain.stderr
    result = profile(target, runs=1, cwd=root, python=python)
    assert result.exit_code == 1
    assert not any("sitecustomize" in line for line in result.stderr_tail)
    # the last 20 lines, as hotstart keeps them
    assert result.stderr_tail == plain.stderr.splitlines()[-20:]


# -- 4. diff: a removed module takes away its own time ----------------------------------------


def _profiles():
    before_modules = [
        module("app", None, 0, self_ms=2.0, cum_ms=60.0),
        module("pandas", "app", 1, self_ms=5.0, cum_ms=45.0, rss=20 << 20, kind="third-party"),
        module("pandas.core", "pandas", 2, self_ms=10.0, cum_ms=40.0, kind="third-party"),
        module("numpy", "pandas.core", 3, self_ms=30.0, cum_ms=30.0, rss=7 << 20,
               kind="third-party"),
    ]
    after_modules = [module("app", None, 0, self_ms=2.0, cum_ms=15.0),
                     module("polars", "app", 1, self_ms=4.0, cum_ms=13.0, kind="third-party"),
                     module("polars.io", "polars", 2, self_ms=9.0, cum_ms=9.0,
                            kind="third-party")]
    return (make_profile(processes=[make_process(before_modules)]),
            make_profile(processes=[make_process(after_modules)]))


def test_diff_of_removed_and_added_modules_is_their_own_time():
    diff = diff_profiles(*_profiles())
    removed = {c.name: c for c in diff.removed}
    assert removed["pandas"].self_us == -5_000 and removed["pandas"].cumulative_us == -45_000
    # Largest own time first; together they take away exactly what they cost themselves.
    assert [c.name for c in diff.removed] == ["numpy", "pandas.core", "pandas"]
    assert sum(c.self_us for c in diff.removed) == -45_000
    assert [c.name for c in diff.added] == ["polars.io", "polars"]

    text = render_diff(diff)
    section = text[text.index("Removed modules (3"):text.index("Biggest changes")].splitlines()
    header, rows = section[1], [line.split() for line in section[2:] if line.strip()]
    assert header.split()[:4] == ["self", "ms", "cum", "ms"]
    assert rows == [["-30.0", "-30.0", "-7.0M", "numpy"], ["-10.0", "-40.0", "0K", "pandas.core"],
                    ["-5.0", "-45.0", "-20.0M", "pandas"], ["-45.0", "-27.0M", "total", "of",
                                                             "the", "3"]]
    added = text[text.index("Added modules (2"):text.index("Removed modules")]
    assert "+13.0                  0K  total of the 2" in added


# -- 5. --python must be Python 3.7+ ---------------------------------------------------------


@pytest.mark.parametrize("python, version", [(PY27, "2.7"), (PY36, "3.6")])
def test_old_python_is_bad_input(tmp_path, python, version):
    if not os.path.exists(python):
        pytest.skip(f"{python} is not installed here")
    with pytest.raises(BadInput, match=rf"--python .* is Python {version}\b.*3\.7"):
        profile(Target("code", "pass"), python=python, runs=1, cwd=tmp_path)
    (tmp_path / "mod.py").write_text("import json\n")
    for command in (["profile", "--python", python, "-c", "pass"],
                    ["audit", "-q", "--python", python, "--entry", "-c 'import mod'",
                     str(tmp_path)]):
        done = run_hotstart(*command, cwd=tmp_path)
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.startswith(f"hotstart: error: --python {python} is Python {version}")
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_a_command_running_python_3_6_says_why_nothing_was_traced(tmp_path):
    if not os.path.exists(PY36):
        pytest.skip(f"{PY36} is not installed here")
    done = run_hotstart("profile", "-q", "-n", "1", "--", PY36, "-c", "pass", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr == ("hotstart: error: the target started no Python process that could "
                           "be traced: tracer not installed: AttributeError: module 'time' has "
                           "no attribute 'perf_counter_ns' (the tracer needs Python 3.7+)\n")


def test_a_python_that_is_not_python_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="not a Python interpreter"):
        profile(Target("code", "pass"), python="/bin/true", runs=1, cwd=tmp_path)


# -- 6. nothing the target started survives the run -----------------------------------------


def test_daemons_of_the_target_do_not_survive(tmp_path):
    script = tmp_path / "daemonize.py"
    script.write_text(DAEMONIZE)
    pids = tmp_path / "pids"
    pids.write_text("")
    done = run_hotstart("profile", "-q", "-n", "2", "--no-calls", str(script), str(pids),
                        cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 3  # the memory run and the 2 timed runs each started one
    assert wait_gone(started) == []
    assert "left 1 process running" in done.stdout
