"""`hotstart report`: every input (one profile, two, a target, --entry), every format, and
bad input answered in one line, with nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import run_hotstart


def _wrote(result: subprocess.CompletedProcess[str], path) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {path} ("), result.stdout
    assert os.path.getsize(path) > 0


def test_html_report_of_a_profile_with_its_audit(jobrunner_profile, tmp_path):
    audit = tmp_path / "audit.json"
    made = run_hotstart("audit", "examples/jobrunner", "--profile", str(jobrunner_profile),
                        "--format", "json", "-q", "-o", str(audit))
    assert made.returncode == 0, made.stderr
    out = tmp_path / "report.html"
    # Options may follow the profile, as in the issue's `report PROFILE.json -o report.html`.
    result = run_hotstart("report", str(jobrunner_profile), "--audit", str(audit),
                          "--title", "interface", "-o", str(out))
    _wrote(result, out)
    assert "(html, " in result.stdout and " modules in 1 process, " in result.stdout
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<title>interface" in page
    assert "jobrunner.cli" in page and "deferrable" in page


def test_diff_report_of_two_profiles(tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    for path, code in ((before, "import json"), (after, "import json, decimal")):
        made = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "-o", str(path), "-c", code)
        assert made.returncode == 0, made.stderr
    out = tmp_path / "diff.html"
    _wrote(run_hotstart("report", str(before), str(after), "-o", str(out)), out)
    assert '"decimal"' in out.read_text() or "decimal" in out.read_text()


def test_a_target_is_profiled_first(tmp_path):
    out = tmp_path / "stacks.folded"
    result = run_hotstart("report", "-q", "-n", "1", "--format", "folded", "-o", str(out),
                          "-c", "import json")
    _wrote(result, out)
    assert any(line.split(";")[-1].startswith("json ") or ";json " in line or
               line.startswith("json ") for line in out.read_text().splitlines())


@pytest.mark.parametrize("fmt, check", [
    ("speedscope", lambda text: json.loads(text)["$schema"].endswith("file-format-schema.json")),
    ("trace", lambda text: any(e.get("ph") == "B" for e in json.loads(text)["traceEvents"])),
    ("folded", lambda text: all(line.rsplit(" ", 1)[1].isdigit()
                                for line in text.splitlines())),
])
def test_each_format_goes_to_standard_output_without_o(jobrunner_profile, fmt, check):
    result = run_hotstart("report", str(jobrunner_profile), "--format", fmt)
    assert result.returncode == 0, result.stderr
    assert check(result.stdout)


def test_folded_memory_metric(jobrunner_profile):
    result = run_hotstart("report", str(jobrunner_profile), "--format", "folded", "--metric",
                          "memory")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("args, message", [
    (["missing.json", "-o", "r.html"], "profile 'missing.json' not found"),
    (["{p}", "{p}", "{p}", "-o", "r.html"], "give one profile, or two"),
    (["{p}", "--format", "trace", "--audit", "{p}"], "--audit adds the audit's findings"),
    (["{p}", "{p}", "--format", "speedscope"], "--format speedscope draws one profile"),
    (["{p}", "--metric", "memory"], "--metric chooses the value of folded stacks"),
    (["{p}", "--audit", "{p}", "-o", "r.html"], "not a hotstart audit report"),
    (["{p}", "-o", "{p}"], "is the profile being drawn"),
    (["{p}", "-o", "no/such/dir/r.html"], "does not exist"),
    (["{p}", "--format", "pdf"], "invalid choice: 'pdf'"),
    (["--entry", "help", "{p}"], "not two of them"),
])
def test_bad_input_is_one_line_and_writes_nothing(jobrunner_profile, tmp_path, args, message):
    copy = tmp_path / "profile.json"
    copy.write_bytes(jobrunner_profile.read_bytes())
    result = run_hotstart("report", *[a.replace("{p}", str(copy)) for a in args], cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("hotstart: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.json"]
    assert copy.read_bytes() == jobrunner_profile.read_bytes()


def test_a_hostile_profile_is_refused_by_path(tmp_path):
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps({"schema": "hotstart.profile/1", "target": [],
                                   "python": "3", "engine": "tracer", "runs": 1, "warmup": 0,
                                   "wall_us": None, "floor_us": None,
                                   "processes": [{"argv": [], "python": "3", "executable": "",
                                                  "wall_us": None, "modules": [{"name": 5}]}]}))
    result = run_hotstart("report", str(hostile), "--format", "folded")
    assert result.returncode == 2
    assert "processes[0].modules[0].name: expected a string" in result.stderr


def test_drawing_loads_no_tooling_library(jobrunner_profile, tmp_path):
    """The renderers are the standard library's: no rich, libcst, psutil or cloudpickle."""
    out = tmp_path / "r.html"
    code = ("import sys; from hotstart.cli import main; "
            f"code = main(['report', {str(jobrunner_profile)!r}, '-o', {str(out)!r}]); "
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('rich', 'libcst', 'psutil', 'cloudpickle', 'yaml', 'numpy')); "
            "print(code, heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "0 []"
