"""Attack reproducers for the lazy trial (issue 11 §2, brief A1).

Each test runs a real trial (`run_trial` or `hotstart trial`) on a small real program and
asserts what the trial promises: a module it counts in the bound is not needed by the path,
and the bound it prints is one a real cut could reach. Every test here FAILED on main at
2026-12-06 09:45 UTC; see /tmp/hs/attack/FINDINGS.md.
"""

from __future__ import annotations

import os
import sys

from conftest import run_hotstart, write_tree

from hotstart.measure.runner import Target
from hotstart.trial import TrialReport, run_trial

from ._helpers import trial

#: `from plug import a` registers plugin a (never read by name); the program reports the
#: plugins on stderr (logging), not stdout: the lazy run differs only there.
LOGS_PLUGINS = {
    "plug/__init__.py": "REGISTRY = []\n",
    "plug/a.py": "from plug import REGISTRY\nREGISTRY.append('a')\n",
    "main.py": """
        import logging
        import plug
        from plug import a  # noqa: F401  registers plugin a
        logging.warning("plugins loaded: %s", plug.REGISTRY)
    """,
}


def test_side_effect_seen_only_on_stderr_is_not_counted_as_saved(tmp_path):
    # The trial compares exit code + stdout only: the lazy run logs "plugins loaded: []"
    # where the eager run logs "['a']", the report says identical, and plug.a (which the
    # path needs) is counted among the modules the bound saves.
    report = trial(tmp_path, LOGS_PLUGINS, "script", "main.py")
    assert "plug.a" not in report.saved, (report.identical, report.saved["plug.a"])


def test_every_saved_module_comes_from_a_reported_deferral(tmp_path):
    # A deferred statement never used (`from plug import a`, plug reified by another use)
    # is in `saved` with via=None but in no list the user reads ("0 deferred and never
    # used"): the bound counts a deferral the report does not show.
    files = {**LOGS_PLUGINS, "main.py": """
        import plug
        from plug import a  # noqa: F401
        print("done")
        plug.REGISTRY
    """}
    report = trial(tmp_path, files, "script", "main.py")
    orphans = {name: saved.via for name, saved in report.saved.items()
               if saved.via is None or saved.via not in report.unused}
    assert not orphans, orphans


def test_nothing_deferred_claims_no_ratio(tmp_path):
    # A program that imports nothing: nothing deferred, nothing saved; the ratio printed is
    # noise (seen on a loaded 2-core machine, three default runs: 0.03x, 5.76x, and "-" with
    # before -4.3 ms; run_trial(runs=3): 12.97x; with -n 1: "ratio -0.60x"). Made
    # deterministic here by giving the real report the medians of one such noisy run.
    report = trial(tmp_path, {"main.py": "print('x')\n"}, "script", "main.py")
    assert not report.unused and not report.saved
    data = report.to_dict()

    def stat(ms):
        return {"median": ms * 1e3, "min": ms * 1e3, "max": ms * 1e3}

    data.update(eager_us=stat(74.2), floor_us=stat(50.0), lazy_us=stat(52.9),
                hook_floor_us=stat(51.0))
    noisy = TrialReport.from_dict(data)
    assert noisy.ratio in (None, 1.0), (noisy.before_ms, noisy.bound_ms, noisy.ratio)
    data.update(eager_us=stat(31.0), floor_us=stat(51.4), lazy_us=stat(85.2),
                hook_floor_us=stat(51.0))
    negative = TrialReport.from_dict(data)  # before -20.4 ms, bound 34.2 ms (seen with -n 1)
    assert negative.ratio is None or negative.ratio > 0, negative.ratio


def test_os_exit_target_error_names_the_real_cause(tmp_path):
    # The record is written by atexit, which os._exit skips; the error then blames
    # -I/-E/-S, which the target does not use.
    write_tree(tmp_path, {"main.py": "import os\nprint('hi', flush=True)\nos._exit(0)\n"})
    result = run_hotstart("trial", "-n", "1", "--python", sys.executable, "main.py",
                          cwd=tmp_path, timeout=120)
    assert result.returncode != 0
    assert "-I, -E or -S" not in result.stderr, result.stderr


def test_no_bound_when_the_lazy_run_never_matched(tmp_path):
    # When even "every deferred package eager" leaves the lazy run different, the report
    # still prints a measured bound and a ratio at the top ("what a perfect cut reaches"),
    # 50 "imported but never used" modules and 70 packages "made eager" (re, typing, json...).
    # Seen on `hotstart trial -m pytest -q test_x.py`: pytest prints "1 passed in 0.01s",
    # the two eager runs happened to agree, the lazy one said 0.02s (and pytest itself hits
    # the RecursionError of L8). Here made deterministic: the output shows the hook.
    files = {"main.py": """
        import sys
        import json
        print(json.dumps("hotstart.lazy._hook" in sys.modules))
    """}
    report = trial(tmp_path, files, "script", "main.py")
    assert not report.identical
    assert report.ratio is None and report.bound_ms is None, (report.bound_ms, report.ratio)


def test_child_processes_keep_the_environments_sitecustomize(tmp_path):
    # The trial's own sitecustomize.py comes first on PYTHONPATH and chains to the real one
    # only while HOTSTART_TRIAL_SRC is set -- which it pops: child processes of the target
    # import the trial's copy, skip the chain, and never run the environment's
    # sitecustomize (coverage's subprocess hook, a distro's or a venv's site set-up). The
    # eager baseline the trial compares with is then not the real program.
    write_tree(tmp_path, {
        "site/sitecustomize.py": "MARK = 'user sitecustomize ran'\n",
        "main.py": """
            import subprocess, sys
            import sitecustomize
            code = "import sitecustomize; print(getattr(sitecustomize, 'MARK', None))"
            child = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                   text=True).stdout.strip()
            with open("seen.txt", "a") as handle:
                handle.write(f"{getattr(sitecustomize, 'MARK', None)} / {child}\\n")
        """,
    })
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    run_trial(Target("script", "main.py", ()), runs=1, cwd=str(tmp_path), env=env,
              timeout=120)
    seen = set((tmp_path / "seen.txt").read_text().splitlines())
    assert seen == {"user sitecustomize ran / user sitecustomize ran"}, seen
