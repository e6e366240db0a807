"""`hotstart index` and `hotstart preload` on the example worker, in real subprocesses."""

from __future__ import annotations

import json

from conftest import EXAMPLE, run_hotstart
from test_cli import assert_one_line_error

CLEAN = str(EXAMPLE / "jobs" / "clean.json")
TYPO = str(EXAMPLE / "jobs" / "typo.json")
PLUGINS = str(EXAMPLE / "src" / "jobrunner")


def test_index_lists_names_modules_and_metadata():
    result = run_hotstart("index", PLUGINS, "--keep", "summary", "--no-cache", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    zscore = data["names"]["zscore"][0]
    assert zscore["module"] == "jobrunner.plugins.stats" and zscore["qualname"] == "ZScore"
    assert zscore["metadata"]["summary"].startswith("Add a column with the standard score")
    assert len(data["names"]) == 15

    text = run_hotstart("index", PLUGINS, "--no-cache")
    assert text.returncode == 0
    assert text.stdout.splitlines()[0].startswith(f"{PLUGINS}: 15 registered names")


def test_index_warns_about_what_it_cannot_see(tmp_path):
    (tmp_path / "dyn.py").write_text("from reg import register\n"
                                     "for n in ['a', 'b']:\n    register(n)(object)\n")
    result = run_hotstart("index", str(tmp_path), "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "cannot see statically" in result.stdout and "dyn.py:3" in result.stdout


def test_preload_lists_modules_reasons_and_env_value():
    result = run_hotstart("preload", CLEAN, "--package", PLUGINS, "--no-cache", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["modules"] == ["jobrunner.pipeline", "jobrunner.plugins.sources",
                               "jobrunner.plugins.text", "jobrunner.plugins.transforms",
                               "jobrunner.plugins.stats", "jobrunner.plugins.sinks"]
    assert data["required_by"]["jobrunner.plugins.stats"] == ["$.steps[5] zscore"]
    assert data["HOTSTART_PRELOAD"] == ",".join(data["modules"])
    assert data["unknown"] == [] and data["dynamic"] == []


def test_preload_typo_fails_fast_with_a_suggestion():
    result = run_hotstart("preload", TYPO, "--package", PLUGINS, "--no-cache")
    assert_one_line_error(result, 1, "unknown type 'zscroe' at $.steps[5]")
    assert "did you mean 'zscore'?" in result.stderr


def test_preload_bad_input(tmp_path):
    assert_one_line_error(run_hotstart("preload", str(tmp_path / "none.json"), "--package",
                                       PLUGINS), 2, "not found")
    assert_one_line_error(run_hotstart("preload", CLEAN, "--package", "no_such_pkg_xyz"), 2,
                          "neither a file, a directory nor an importable top-level package")
    assert_one_line_error(run_hotstart("preload", CLEAN, "--package", PLUGINS, "--alias",
                                       "numpy"), 2, "expected NAME=MODULE")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert_one_line_error(run_hotstart("preload", str(bad), "--package", PLUGINS), 2,
                          "not valid JSON")
