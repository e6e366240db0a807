"""The jobrunner's own tests: `hotstart fix --verify` runs them after rewriting imports."""

from pathlib import Path

import pytest

from jobrunner import cli
from jobrunner.commands import compute, interface

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
    # Patching `jobrunner.commands.compute.load_spec` pins that import at module level: the
    # audit says so.
    def missing(path):
        raise compute.SpecError(f"job spec not found: {path}")

    monkeypatch.setattr(compute, "load_spec", missing)
    assert cli.main(["compute", "nowhere.json"]) == 2
    assert "not found" in capsys.readouterr().err


def test_util_names_resolve():
    from jobrunner.util import frame_summary, resolve_input, to_frame

    assert callable(frame_summary) and callable(to_frame)
    assert resolve_input("jobs/x.json").name == "sales.csv"


@pytest.mark.parametrize("spec", ["clean.json"])
def test_run_job_returns_a_result(spec):
    result = compute.run_job(JOBS / spec)
    assert result.rows_out <= result.rows_in


# -- the command line: one subcommand per request -------------------------------------------

def test_help_lists_each_request_with_its_help(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: jobrunner [-h] [--version] [-v] REQUEST ...\n")
    listed = [line.split(None, 1) for line in out.splitlines() if line.startswith("    ")]
    assert listed == [
        ["interface", "describe this worker and the types a job spec can use"],
        ["compute", "run the job described in SPEC and print its result"],
        ["batch", "run several jobs on warm workers; print what each cost"],
    ]


def test_the_interface_request_list_says_what_each_subcommand_help_says(capsys):
    # `interface` prints its own table of the requests: it must agree with the parser's.
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    listed = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines()
                  if line.startswith("    "))
    table = {request.split()[0]: summary for request, summary in interface.REQUESTS.items()}
    assert table == listed


@pytest.mark.parametrize(("request_", "usage"), [
    ("interface", "usage: jobrunner interface [-h] [--json]\n"),
    ("compute", "usage: jobrunner compute [-h] [--input CSV] SPEC\n"),
    ("batch", "usage: jobrunner batch [-h] [--workers N] [--repeat K] [--timeout SECONDS]\n"),
])
def test_each_request_has_its_own_help(capsys, request_, usage):
    with pytest.raises(SystemExit) as exit:
        cli.main([request_, "--help"])
    assert exit.value.code == 0
    assert capsys.readouterr().out.startswith(usage)


def test_arguments_reach_the_handler():
    args = cli.build_parser().parse_args(["batch", "a.json", "b.json", "--workers", "3"])
    assert (args.request, args.specs, args.workers, args.repeat, args.timeout) == (
        "batch", ["a.json", "b.json"], 3, 1, None)
    assert args.handler.__module__ == "jobrunner.commands.batch"
    args = cli.build_parser().parse_args(["-v", "compute", "x.json", "--input", "in.csv"])
    assert (args.verbose, args.spec, args.input) == (1, "x.json", "in.csv")
    assert args.handler is compute.run


@pytest.mark.parametrize(("argv", "prog", "error"), [
    (["nope"], "jobrunner", "argument REQUEST: invalid choice: 'nope' (choose from "),
    ([], "jobrunner", "the following arguments are required: REQUEST"),
    (["compute"], "jobrunner compute", "the following arguments are required: SPEC"),
    (["batch", "a.json", "--workers", "two"], "jobrunner batch",
     "argument --workers: invalid int value: 'two'"),
])
def test_bad_requests_exit_2_with_the_usage(capsys, argv, prog, error):
    with pytest.raises(SystemExit) as exit:
        cli.main(argv)
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {prog} [-h]")
    assert f"\n{prog}: error: {error}" in err


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == "jobrunner 0.1.0\n"
