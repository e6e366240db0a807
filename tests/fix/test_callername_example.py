"""The `hot-calls` codemod on a copy of the example: `hotstart fix COPY --select hot-calls
--write` rewrites `jobrunner/log.py`'s `get_logger()` (`inspect.stack()[1]`, called at import
by every module) to `sys._getframe(1)`, and every logger the example's modules create keeps
its name."""

from __future__ import annotations

import pathlib
import shutil
import sys

from conftest import run_hotstart

from hotstart.audit import audit
from hotstart.fix._callername import CallerNameCheck, plan

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "examples" / "jobrunner"


def test_example_log_helper_rewritten_with_the_same_logger_names(tmp_path):
    copy = tmp_path / "jobrunner"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    report = audit(str(copy), run=False)
    changes, _skipped = plan(report, report.paths, str(copy))
    assert [(c.site.file.endswith("jobrunner/log.py"), c.site.data["depth"]) for c in changes] \
        == [(True, 1)]
    check = CallerNameCheck(str(copy), changes, [sys.executable], 120)
    before = check.take()
    assert isinstance(before, dict), before
    names = {module: values["log"] for module, values in before.items()}
    assert names["jobrunner.cli"] == "name 'jobrunner.cli'"
    assert names["jobrunner.pipeline"] == "name 'jobrunner.pipeline'"
    assert all(value == f"name {module!r}" for module, value in names.items())

    done = run_hotstart("fix", str(copy), "--select", "hot-calls", "--write")
    assert done.returncode == 0, done.stderr
    assert "made 2 change(s) in 1 file(s)" in done.stdout
    assert "log.py:20  hot-calls   caller = inspect.stack()[1]: names the caller with " \
           "sys._getframe(1)" in done.stdout
    # the import's last use went with the rewrite: fix removes it in the same run
    assert "log.py:5  deferrable  import inspect: removed: its last use goes with the " \
           "hot-calls rewrite" in done.stdout
    new = (copy / "src" / "jobrunner" / "log.py").read_text()
    assert "caller = sys._getframe(1)" in new
    assert "inspect" not in new
    assert 'name = caller.f_globals.get("__name__", "jobrunner")' in new
    assert check.compare(before, check.take()).ok

    again = audit(str(copy), run=False)
    assert [h for h in again.hotspots if h.module.startswith("jobrunner")
            and h.call.startswith("inspect.")] == []
    assert plan(again, again.paths, str(copy))[0] == []
