"""The `hotstart` command line, end to end, in real subprocesses."""

from __future__ import annotations

import json

from conftest import run_hotstart

from hotstart.measure.io import load_profile


def assert_one_line_error(result, code: int, fragment: str) -> None:
    assert result.returncode == code, (result.stdout, result.stderr)
    errors = [line for line in result.stderr.splitlines() if line.startswith("hotstart: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.stderr


# -- the example worker: what `make demo` shows ------------------------------------------------

def test_interface_profile_finds_pandas_its_chains_and_the_hot_call(jobrunner_profile):
    result = load_profile(jobrunner_profile)
    main = result.main
    names = {m.name for m in main.imported()}
    assert {"pandas", "numpy", "jobrunner.util.frames"} <= names
    # the plugins are lazy (hotstart.lazy + hotstart.registry): the light request loads none
    assert not any(name.startswith("jobrunner.plugins.") for name in names)
    pandas = next(m for m in main.modules if m.name == "pandas")
    assert pandas.kind == "third-party" and pandas.distribution == "pandas"
    assert pandas.importer == "jobrunner.util.frames"

    hot = {call.function: call for call in main.hot_calls}
    logger = hot["jobrunner.log:get_logger"]
    callers = {caller.function for caller in logger.callers}
    assert {"jobrunner.cli", "jobrunner.util.paths", "jobrunner.util.frames"} <= callers
    assert logger.callees[0].function == "inspect:stack"
    assert main.hot_calls[0] is logger  # the top cost of the light request is a call


def test_tree_output_and_why(jobrunner_profile):
    tree = run_hotstart("show", str(jobrunner_profile), "--threshold", "5")
    assert tree.returncode == 0, tree.stderr
    assert "pandas  (third-party · pandas)" in tree.stdout
    assert "jobrunner.log:get_logger" in tree.stdout and "-> inspect:stack" in tree.stdout

    why = run_hotstart("show", str(jobrunner_profile), "--why", "pandas")
    assert why.returncode == 0, why.stderr
    lines = why.stdout.splitlines()
    assert lines[0] == "why is pandas loaded?"
    chains = [line.strip() for line in lines if " -> " in line]
    # case 4's chain: a light helper whose package __init__ imports the heavy one
    assert chains[0] == ("jobrunner.cli -> jobrunner.commands.compute -> jobrunner.util.paths "
                         "-> jobrunner.util -> jobrunner.util.frames -> pandas")


def test_table_and_json_formats(jobrunner_profile):
    table = run_hotstart("show", str(jobrunner_profile), "--format", "table", "--top", "5")
    rows = table.stdout.split("Top 5 modules by self")[1].split("\n\n")[0].splitlines()[2:]
    assert len(rows) == 5
    data = json.loads(run_hotstart("show", str(jobrunner_profile), "--format", "json").stdout)
    assert data["schema"] == "hotstart.profile/1" and data["processes"][0]["modules"]


# -- profile, show, diff -------------------------------------------------------------------------

def test_profile_writes_json_and_diff_compares(tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    for path, code in ((before, "import json"), (after, "import json, decimal")):
        result = run_hotstart("profile", "-n", "2", "--no-calls", "-o", str(path), "-c", code)
        assert result.returncode == 0, result.stderr
        # not a terminal: progress is plain lines on stderr
        assert "hotstart: [1/" in result.stderr
    diff = run_hotstart("diff", str(before), str(after))
    assert diff.returncode == 0, diff.stderr
    added = diff.stdout.split("Added modules")[1].split("\n\n")[0]
    assert "decimal" in added
    assert "imported modules" in diff.stdout


def test_quiet_json_to_stdout(tmp_path):
    result = run_hotstart("profile", "-q", "-n", "1", "--format", "json", "-c", "import csv")
    assert result.returncode == 0 and result.stderr == ""
    assert any(m["name"] == "csv" for m in json.loads(result.stdout)["processes"][0]["modules"])


def test_profile_help_lists_target_forms():
    result = run_hotstart("profile", "--help")
    assert result.returncode == 0
    for form in ("-c CODE", "-m MODULE", "SCRIPT", "-- COMMAND"):
        assert form in result.stdout


# -- bad input: one line, non-zero, nothing half-written ------------------------------------

def test_unwritable_output_fails_before_running(tmp_path):
    target = tmp_path / "missing-dir" / "p.json"
    result = run_hotstart("profile", "-o", str(target), "-c", "pass")
    assert_one_line_error(result, 2, "does not exist")
    assert not target.parent.exists()


def test_missing_module_script_and_command(tmp_path):
    result = run_hotstart("profile", "-q", "-n", "1", "-m", "no_such_module_xyz", cwd=tmp_path)
    assert_one_line_error(result, 1, "No module named no_such_module_xyz")
    result = run_hotstart("profile", "-q", "missing_script.py", cwd=tmp_path)
    assert_one_line_error(result, 2, "script 'missing_script.py' not found")
    result = run_hotstart("profile", "-q", "--", "no-such-command-xyz", cwd=tmp_path)
    assert_one_line_error(result, 2, "not found on PATH")


def test_failing_target_saves_partial_profile(tmp_path):
    out = tmp_path / "partial.json"
    result = run_hotstart("profile", "-q", "-n", "1", "-o", str(out), "-c",
                          "import json; raise SystemExit('bad config')")
    assert_one_line_error(result, 1, "target exited with status 1: bad config")
    assert any(m.name == "json" for m in load_profile(out).main.modules)
    assert "stderr (last lines):" in result.stdout


def test_timeout_names_the_import_that_hangs(tmp_path):
    (tmp_path / "stuck.py").write_text("import time\ntime.sleep(30)\n")
    result = run_hotstart("profile", "-q", "-n", "2", "--timeout", "1.5", "-c", "import stuck",
                          cwd=tmp_path)
    assert_one_line_error(result, 1, "did not finish within 1.5 s and was killed while "
                                     "importing stuck")


def test_usage_errors():
    assert_one_line_error(run_hotstart("profile", "-n", "1"), 2, "no target given")
    result = run_hotstart("frobnicate")
    assert result.returncode == 2 and "unknown command 'frobnicate'" in result.stderr
    result = run_hotstart("profile", "-c")
    assert_one_line_error(result, 2, "-c needs an argument")


def test_show_rejects_what_is_not_a_profile(tmp_path, jobrunner_profile):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "something/else"}')
    assert_one_line_error(run_hotstart("show", str(bad)), 2, "not a hotstart profile")
    bad.write_text("{not json")
    assert_one_line_error(run_hotstart("show", str(bad)), 2, "not valid JSON")
    assert_one_line_error(run_hotstart("show", str(tmp_path / "none.json")), 2, "not found")
    result = run_hotstart("show", str(jobrunner_profile), "--why", "pandsa")
    assert_one_line_error(result, 2, "did you mean pandas")


def test_version():
    import hotstart

    result = run_hotstart("--version")
    assert result.returncode == 0 and result.stdout == f"hotstart {hotstart.__version__}\n"


def test_command_form_with_a_console_script_and_an_untraceable_one():
    import pathlib
    import sys

    script = pathlib.Path(sys.executable).with_name("jobrunner")
    result = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "--format", "json", "--",
                          str(script), "interface")
    assert result.returncode == 0, result.stderr
    main = json.loads(result.stdout)["processes"][0]
    assert main["argv"][1:] == [str(script), "interface"]
    assert any(m["name"] == "pandas" for m in main["modules"])

    result = run_hotstart("profile", "-q", "-n", "1", "--", sys.executable, "-I", "-c", "pass")
    assert_one_line_error(result, 1, "no Python process that could be traced (a Python run "
                                     "with -I ignores PYTHONPATH")
