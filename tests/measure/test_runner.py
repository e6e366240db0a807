"""`hotstart.profile()` on real targets: every target form, failures, fallbacks, checks."""

from __future__ import annotations

import os
import py_compile
import stat
import sys

import pytest

from hotstart.errors import BadInput
from hotstart.measure.model import ImportTree
from hotstart.measure.runner import Target, failure_message, profile

PKG = {
    "app/__init__.py": "",
    "app/main.py": """
        import sys

        import app.heavy

        def main() -> None:
            with open(sys.argv[1], "w") as out:
                out.write(" ".join(sys.argv[2:]))

        if __name__ == "__main__":
            main()
    """,
    "app/heavy.py": """
        import json
        import decimal
    """,
}


def test_code_target_runs_floor_and_medians(project):
    root = project(PKG)
    result = profile(Target("code", "import app.heavy"), runs=3, cwd=root)
    assert result.engine == "tracer" and result.runs == 3 and result.exit_code == 0
    assert result.floor_us is not None and result.floor_us.median > 0
    assert result.wall_us.min <= result.wall_us.median <= result.wall_us.max
    main = result.main
    tree = ImportTree(main)
    heavy = tree.module("app.heavy")
    assert heavy is not None and heavy.runs == 3 and heavy.kind == "first-party"
    assert heavy.cumulative_us.min <= heavy.cumulative_us.median <= heavy.cumulative_us.max
    # `import app.heavy` loads the parent package first, nested under the submodule's import
    assert [r.name for r in tree.chain("decimal")] == ["app.heavy", "decimal"]
    assert tree.module("app").importer == "app.heavy"
    assert tree.module("decimal").kind == "stdlib"
    assert heavy.cumulative_rss is not None  # from the memory run
    assert heavy.cumulative_blocks is not None  # from the profiling run
    assert main.peak_rss is not None and main.uss is not None
    assert main.peak_rss.median >= main.uss.median > 0
    assert main.edges, "the profiling run records import edges"
    assert failure_message(result) is None


def test_module_and_script_targets_pass_arguments(project, tmp_path):
    root = project(PKG)
    out = tmp_path / "argv.txt"
    result = profile(Target("module", "app.main", (str(out), "a", "b")), runs=1, cwd=root)
    assert out.read_text() == "a b"
    assert result.target == ["python", "-m", "app.main", str(out), "a", "b"]
    assert ImportTree(result.main).module("app.heavy") is not None

    script = root / "run.py"
    script.write_text("import sys, json\nopen(sys.argv[1], 'w').write(sys.argv[2])\n")
    result = profile(Target("script", "run.py", (str(out), "c")), runs=1, cwd=root)
    assert out.read_text() == "c"
    assert ImportTree(result.main).module("json").site == f"{script}:1"


def test_command_target_reports_each_python_process(project):
    root = project(PKG)
    tool = root / "tool.sh"
    tool.write_text(f"#!/bin/sh\n{sys.executable} -c 'import json'\n"
                    f"{sys.executable} -c 'import app.heavy'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    env = {**os.environ, "PATH": f"{root}{os.pathsep}{os.environ['PATH']}"}
    result = profile(Target("command", "tool.sh"), runs=2, cwd=root, env=env)
    assert len(result.processes) == 2
    first, second = result.processes
    assert first.argv[-1] == "import json" and second.argv[-1] == "import app.heavy"
    assert ImportTree(second).module("decimal") is not None
    assert second.started_us > first.started_us
    assert result.floor_us is not None  # the floor uses the interpreter the command started


def test_failing_target_keeps_partial_profile(project):
    root = project({**PKG, "bad.py": "import app.heavy\n1 / 0\n"})
    result = profile(Target("script", "bad.py"), runs=2, cwd=root)
    assert result.exit_code == 1 and result.failed
    assert ImportTree(result.main).module("app.heavy") is not None
    message = failure_message(result)
    assert message.startswith("target exited with status 1") and "ZeroDivisionError" in message
    assert any("ZeroDivisionError" in line for line in result.stderr_tail)


def test_hanging_import_is_killed_and_located(project):
    root = project({**PKG, "slowmod.py": "import time\ntime.sleep(60)\n"})
    result = profile(Target("code", "import app.heavy, slowmod"), runs=3, timeout=2, cwd=root)
    assert result.timed_out and result.runs == 1  # no further runs after a timeout
    tree = ImportTree(result.main)
    assert tree.module("slowmod").status == "unfinished"
    assert tree.module("app.heavy").status == "ok"
    assert failure_message(result, 2) == \
        "target did not finish within 2 s and was killed while importing slowmod"


def test_killed_by_signal(project):
    result = profile(Target("code", "import os, signal, json; os.kill(os.getpid(), signal.SIGSEGV)"),
                     runs=1, calls=False)
    assert result.exit_code == -11
    assert failure_message(result).startswith("target was killed by SIGSEGV")
    assert ImportTree(result.main).module("json") is not None
    assert not result.main.complete


@pytest.mark.parametrize("target, message", [
    (Target("script", "missing.py"), "script 'missing.py' not found"),
    (Target("command", "no-such-command-xyz"), "command 'no-such-command-xyz' not found on PATH"),
    (Target("module", "not a module"), "'not a module' is not a module name"),
])
def test_bad_targets_are_one_line_errors(tmp_path, target, message):
    with pytest.raises(BadInput, match=message):
        profile(target, runs=1, cwd=tmp_path)


def test_bad_python_is_an_error(tmp_path):
    with pytest.raises(BadInput, match="python interpreter .* not found"):
        profile(Target("code", "pass"), python=str(tmp_path / "nope"), runs=1)


def test_no_site_interpreter_falls_back_to_importtime():
    # `python -S` skips site, so the tracer cannot be injected; PYTHONPROFILEIMPORTTIME works.
    result = profile(Target("command", sys.executable, ("-S", "-c", "import json")), runs=2)
    assert result.engine == "importtime"
    assert any("could not be injected" in note for note in result.notes)
    json_record = ImportTree(result.main).module("json")
    assert json_record is not None and json_record.cumulative_rss is None


def test_importtime_engine_and_cross_check(project):
    root = project(PKG)
    result = profile(Target("code", "import app.heavy"), runs=2, engine="importtime", cwd=root)
    assert result.engine == "importtime"
    assert ImportTree(result.main).chain("decimal")[-2].name == "app.heavy"

    checked = profile(Target("code", "import asyncio, decimal"), runs=3, cross_check=True,
                      calls=False)
    check = checked.cross_check
    assert check is not None and check.runs == 3 and check.modules_compared > 20
    # How well the two agree is a timing figure (bench/, not a test): on a loaded machine a
    # 0.5 threshold flaked. The test checks that both were measured and compared.
    assert check.pearson is not None and -1.0 <= check.pearson <= 1.0
    assert check.only_importtime == [] and check.only_tracer == []


def test_bytecode_state_is_noticed(project):
    root = project(PKG)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = profile(Target("code", "import app.heavy"), runs=1, cwd=root, env=env)
    tree = ImportTree(result.main)
    assert tree.module("app.heavy").bytecode == "source"
    assert result.main.bytecode.compiled >= 2 and result.main.bytecode.dont_write_bytecode
    assert any("compiled at every start" in note and "compileall" in note for note in result.notes)

    for name in ("__init__", "heavy"):
        py_compile.compile(str(root / "app" / f"{name}.py"))
    result = profile(Target("code", "import app.heavy"), runs=1, cwd=root, env=env)
    assert ImportTree(result.main).module("app.heavy").bytecode == "pyc"


def test_progress_reports_every_step(project):
    root = project(PKG)
    seen: list[tuple[str, int, int]] = []
    profile(Target("code", "import app.heavy"), runs=2, cwd=root,
            progress=lambda what, done, total: seen.append((what, done, total)))
    assert seen[:2] == [("profiling run", 0, 6), ("memory run", 1, 6)]
    assert [s[1] for s in seen] == [0, 1, 2, 3, 4, 5, 6] and seen[-1][0] == "done"


def test_isolated_interpreter_cannot_be_traced_at_all():
    # `python -I` ignores PYTHONPATH and PYTHONPROFILEIMPORTTIME alike.
    result = profile(Target("command", sys.executable, ("-I", "-c", "import json")), runs=1)
    assert result.processes == [] and result.exit_code == 0
