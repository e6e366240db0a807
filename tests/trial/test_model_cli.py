"""The trial report's JSON round-trip, hostile files, and the command line."""

from __future__ import annotations

import json

import pytest
from conftest import run_hotstart, write_tree

from hotstart.errors import BadInput
from hotstart.measure.model import SchemaError
from hotstart.trial import TrialReport, load_trial

from ._helpers import PATHS, trial


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A project, and its trial run through the CLI and saved with -o."""
    base = tmp_path_factory.mktemp("cli")
    write_tree(base, PATHS)
    result = run_hotstart("trial", "-q", "-n", "1", "-o", "trial.json", "-c", "import app",
                          cwd=base)
    return base, result


def test_the_json_round_trip_keeps_everything(tmp_path):
    report = trial(tmp_path, PATHS, "code", "import app")
    again = TrialReport.from_json(report.to_json())
    assert again == report
    assert again.used["usedlib"].where == report.used["usedlib"].where
    assert again.bound_ms == report.bound_ms and again.ratio == report.ratio


def test_the_cli_prints_the_bound_and_the_modules_and_saves_them(saved):
    base, result = saved
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("hotstart trial: python -c 'import app'")
    for label in ("before", "bound", "predicted", "ratio"):
        assert label in out
    # Both bounds: the project's own imports deferred (the app's files, first-party), and
    # every import, libraries' own too.
    assert "what fixing this project's files can reach" in out
    assert "measured, all-lazy" in out and "project lazy" in out
    assert "Imported but never used on this path" in out
    assert "deferred at app/__init__.py:1" in out  # heavylib, relative to the directory
    assert "fromused" in out and "app/__init__.py:10 in main" in out
    # The saved trial renders the same lists again, without running anything.
    again = run_hotstart("trial", "--from", "trial.json", cwd=base)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("\n", 1)[0] == out.split("\n", 1)[0]
    assert "deferred at app/__init__.py:1" in again.stdout
    data = json.loads(run_hotstart("trial", "--from", "trial.json", "--format", "json",
                                   cwd=base).stdout)
    assert data["schema"] == "hotstart.trial/1"
    assert {u["module"] for u in data["unused"]} >= {"heavylib", "fromunused"}


_HEAD = ('{"schema": "hotstart.trial/1", "target": [], "python": "3", "engine": "hook", '
         '"eager_us": null, "lazy_us": null, "floor_us": null, ')


@pytest.mark.parametrize("text, says", [
    ('{"schema": "hotstart.trial/1", "target": ["python"', "not valid JSON"),
    ('{"schema": "hotstart.profile/1"}', "expected a hotstart.trial/1 document"),
    ("[1, 2]", "found 'list'"),
    (_HEAD + '"runs": 1, "used": [{"module": 3}]}', "used[0].module: expected a string"),
    (_HEAD + '"runs": 1, "eager_packages": ["x"]}', "eager_packages: expected an object"),
    (_HEAD + '"runs": 1e999}', "runs"),
    ("", "empty, not a hotstart trial report"),
])
def test_a_hostile_or_truncated_file_is_one_line(tmp_path, text, says):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(BadInput, match=None) as caught:
        load_trial(str(path))
    assert says in str(caught.value)
    result = run_hotstart("trial", "--from", str(path))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hotstart: error: ")
    assert "Traceback" not in result.stderr


def test_deep_nesting_is_refused_as_a_schema_error():
    with pytest.raises(SchemaError):
        TrialReport.from_json("[" * 100_000 + "]" * 100_000)


@pytest.mark.parametrize("args, says", [
    (["nope.py"], "script 'nope.py' not found"),
    (["-c", "import sys; sys.stderr.write('broken here\\n'); sys.exit(3)"],
     "the target fails without the trial too: it exited with status 3: broken here"),
    (["-c", "import no_such_module_here"],
     "No module named 'no_such_module_here'"),
    (["-o", "/nonexistent-dir/t.json", "-c", "pass"], "does not exist"),
    (["--from", "missing.json"], "trial report 'missing.json' not found"),
    (["-n", "0", "-c", "pass"], "--runs 0"),
    (["--from", "t.json", "-c", "pass"], "--from renders a saved trial"),
    ([], "no target given"),
])
def test_bad_input_is_one_line_and_non_zero(tmp_path, args, says):
    result = run_hotstart("trial", "-q", *args, cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("hotstart: error: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert says in result.stderr


def test_hotstart_help_lists_the_trial():
    assert "trial     run a target with every import lazy" in run_hotstart("--help").stdout


def test_profile_trial_prints_the_trial_section_after_the_profile(saved):
    base, _ = saved
    result = run_hotstart("profile", "-q", "-n", "1", "--trial", "-c", "import app", cwd=base)
    assert result.returncode == 0, result.stderr
    profile_part, _, trial_part = result.stdout.partition("\nLazy trial: python -c 'import app'")
    assert "heavylib" in profile_part  # the profile's tree comes first
    assert "biggest unused on this path:" in trial_part
    assert "heavylib" in trial_part and "deferred at app/__init__.py:1" in trial_part
    refused = run_hotstart("profile", "--trial", "--format", "json", "-c", "pass", cwd=base)
    assert refused.returncode != 0 and "hotstart trial --format json" in refused.stderr


@pytest.mark.parametrize("command", ["trial", "profile"])
def test_the_running_options_are_shared_and_checked_before_anything_runs(command):
    help_text = run_hotstart(command, "--help").stdout
    running = help_text.split("\nrunning:\n", 1)[1].split("\n\n", 1)[0]
    options = [line.split()[0].rstrip(",") for line in running.splitlines()
               if line.startswith("  -")]
    expected = ["-n", "--timeout", "--python"] if command == "trial" else \
        ["-n", "--warmup", "--timeout", "--python"]
    assert options[:len(expected)] == expected
    assert "interpreter for -c, -m and SCRIPT (default: the one running hotstart)" in \
        " ".join(running.split())
    for args, says in ((["--runs", "0"], "--runs 0: give 1 or more (each run starts a fresh"),
                       (["--timeout", "nan"], "--timeout nan: give a finite number of seconds"),
                       (["--runs", "5000"], "--runs 5000: give at most 1,000")):
        result = run_hotstart(command, *args, "-c", "pass")
        assert result.returncode != 0 and result.stdout == ""
        assert result.stderr.startswith(f"hotstart: error: {says}")
        assert result.stderr.count("\n") == 1
