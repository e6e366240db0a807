"""The jobrunner's own tests: `hotstart fix --verify` runs them after rewriting imports."""

from pathlib import Path

import pytest

from jobrunner import cli

JOBS = Path(__file__).resolve().parent.parent / "jobs"


def test_interface_lists_every_type(capsys):
    assert cli.main(["interface"]) == 0
    out = capsys.readouterr().out
    for name in ("csv", "zscore", "dropna", "print_sink"):
        assert name in out


def test_compute_runs_the_clean_job(capsys):
    assert cli.main(["compute", str(JOBS / "clean.json")]) == 0
    assert "rows" in capsys.readouterr().out


def test_a_typo_in_the_spec_is_a_usage_error(capsys):
    assert cli.main(["compute", str(JOBS / "typo.json")]) == 2
    assert "did you mean" in capsys.readouterr().err


def test_a_missing_spec_is_reported_without_reading_it(monkeypatch, capsys):
    # Patching `jobrunner.cli.load_spec` pins that import at module level: the audit says so.
    def missing(path):
        raise cli.SpecError(f"job spec not found: {path}")

    monkeypatch.setattr(cli, "load_spec", missing)
    assert cli.main(["compute", "nowhere.json"]) == 2
    assert "not found" in capsys.readouterr().err


def test_util_names_resolve():
    from jobrunner.util import frame_summary, resolve_input, to_frame

    assert callable(frame_summary) and callable(to_frame)
    assert resolve_input("jobs/x.json").name == "sales.csv"


@pytest.mark.parametrize("spec", ["clean.json"])
def test_run_job_returns_a_result(spec):
    result = cli.run_job(JOBS / spec)
    assert result.rows_out <= result.rows_in
