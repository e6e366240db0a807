"""End-to-end tests of the ``examples/jobrunner`` worker that hotstart profiles.

Every test runs a real ``python -m jobrunner`` (or a small script) in a fresh
interpreter, the way hotstart itself sees the worker. The example's ``src``
directory is put first on ``PYTHONPATH`` so the tests exercise this checkout
even if ``pip install -e examples/jobrunner`` points elsewhere; numpy and pandas
must be installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jobrunner"
SRC = EXAMPLE / "src"

TYPES = {
    "pipeline",
    "csv_source",
    "select",
    "dropna",
    "rename",
    "sort",
    "astype",
    "where",
    "zscore",
    "describe",
    "groupby",
    "lowercase",
    "strip",
    "print_sink",
    "json_sink",
}


def _env(*extra_paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(p) for p in (*extra_paths, SRC)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def jobrunner(*args: str, cwd: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Run ``python -m jobrunner ARGS`` in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "jobrunner", *args],
        cwd=cwd,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def python(code: str, *extra_paths: Path, cwd: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    """Run *code* with ``python -c`` in a fresh interpreter; fail on a non-zero exit."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=_env(*extra_paths),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def _numbers(stdout: str, first: str) -> list[str]:
    """Return the fields of the first output line whose first field is *first*."""
    for line in stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == first:
            return fields[1:]
    raise AssertionError(f"no line starting with {first!r} in:\n{stdout}")


def test_example_layout() -> None:
    for relative in (
        "pyproject.toml",
        "README.md",
        "jobs/clean.json",
        "jobs/typo.json",
        "jobs/sales.csv",
        "src/jobrunner/__init__.py",
        "src/jobrunner/util/__init__.py",
        "src/jobrunner/plugins/__init__.py",
    ):
        assert (EXAMPLE / relative).is_file(), relative


def test_interface_lists_every_type_and_the_version() -> None:
    proc = jobrunner("interface")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.startswith("jobrunner 0.1.0")
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ")}
    assert listed == TYPES
    assert "zscore      Add a column with the standard score of a numeric column." in proc.stdout


def test_interface_json() -> None:
    proc = jobrunner("interface", "--json")

    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["version"] == "0.1.0"
    assert {t["name"] for t in info["types"]} == TYPES
    assert all(t["summary"] for t in info["types"])
    kinds = {t["name"]: t["kind"] for t in info["types"]}
    assert kinds["pipeline"] == "pipeline"
    assert kinds["csv_source"] == "source"
    assert kinds["print_sink"] == kinds["json_sink"] == "sink"


def test_compute_clean_spec() -> None:
    proc = jobrunner("compute", "jobs/clean.json")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    out = proc.stdout
    assert "job: clean-sales" in out
    assert "rows: 30 read, 26 kept" in out
    assert "columns: region, units, price, price_z" in out
    assert _numbers(out, "north") == ["12", "9.990", "-0.676"]  # first row, cleaned region
    assert "... 21 more rows" in out
    assert _numbers(out, "units") == ["9.577", "1.000", "25.000"]  # mean, min, max
    assert _numbers(out, "price") == ["21.143", "4.500", "49.000"]
    assert _numbers(out, "price_z") == ["0.000", "-1.009", "1.689"]


def test_compute_from_another_directory_with_input(tmp_path: Path) -> None:
    rows = (EXAMPLE / "jobs" / "sales.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "small.csv").write_text("\n".join(rows[:4]) + "\n", encoding="utf-8")

    proc = jobrunner(
        "compute", str(EXAMPLE / "jobs" / "clean.json"), "--input", "small.csv", cwd=tmp_path
    )

    assert proc.returncode == 0, proc.stderr
    assert "rows: 3 read, 3 kept" in proc.stdout
    assert _numbers(proc.stdout, "price") == ["14.827", "9.990", "24.500"]


def test_compute_typo_spec_fails_with_one_line() -> None:
    proc = jobrunner("compute", "jobs/typo.json")

    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert proc.stderr == (
        "jobrunner: unknown type 'zscroe' in jobs/typo.json (did you mean 'zscore'?)\n"
    )


def test_compute_missing_spec() -> None:
    proc = jobrunner("compute", "jobs/missing.json")

    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr == "jobrunner: job spec not found: jobs/missing.json\n"


def test_import_jobrunner_loads_no_plugin_and_a_spec_still_builds() -> None:
    proc = python(
        """
        import json, sys
        import jobrunner
        before = sorted(m for m in sys.modules if m.startswith("jobrunner."))
        light = "pandas" in sys.modules
        from jobrunner import registry
        job = registry.build(json.load(open("jobs/clean.json")))
        plugins = sorted(m for m in sys.modules if m.startswith("jobrunner.plugins."))
        print(json.dumps({"before": before, "pandas_before": light,
                          "job": type(job).__name__, "plugins": plugins}))
        """
    )

    result = json.loads(proc.stdout)
    assert result["before"] == [] and result["pandas_before"] is False
    assert result["job"] == "Pipeline"
    # only the modules that register the spec's types; aggregate and filters stay unloaded
    assert result["plugins"] == [
        "jobrunner.plugins.sinks",
        "jobrunner.plugins.sources",
        "jobrunner.plugins.stats",
        "jobrunner.plugins.text",
        "jobrunner.plugins.transforms",
    ]


def test_importing_the_cli_still_imports_pandas_through_the_util_chain() -> None:
    proc = python(
        """
        import json, sys
        import jobrunner.cli
        names = ("pandas", "numpy", "jobrunner.util.frames", "jobrunner.plugins.stats")
        print(json.dumps({name: name in sys.modules for name in names}))
        """
    )

    # The plugins are lazy now; the light helper's package __init__ still drags in pandas.
    assert json.loads(proc.stdout) == {
        "pandas": True,
        "numpy": True,
        "jobrunner.util.frames": True,
        "jobrunner.plugins.stats": False,
    }


def test_the_light_path_helper_alone_drags_in_pandas() -> None:
    # jobrunner.util.paths only needs pathlib, but the util package __init__
    # imports the frame helpers, so this chain on its own loads pandas.
    proc = python(
        """
        import json, sys
        from jobrunner.util.paths import resolve_input
        names = ("jobrunner.plugins", "jobrunner.util.frames", "pandas", "numpy")
        print(json.dumps({name: name in sys.modules for name in names}))
        """
    )

    assert json.loads(proc.stdout) == {
        "jobrunner.plugins": False,
        "jobrunner.util.frames": True,
        "pandas": True,
        "numpy": True,
    }


def test_get_logger_walks_the_stack_at_module_level_in_many_modules() -> None:
    proc = python(
        """
        import json, sys

        callers, stack_walks = set(), 0

        def profile(frame, event, arg):
            global stack_walks
            if event != "call" or frame.f_back is None:
                return
            code, back = frame.f_code, frame.f_back
            if code.co_name == "get_logger" and back.f_code.co_name == "<module>":
                callers.add(back.f_globals["__name__"])
            elif code.co_name == "stack" and back.f_code.co_name == "get_logger":
                stack_walks += 1

        sys.setprofile(profile)
        import importlib
        import jobrunner.cli, jobrunner.pipeline
        for name in jobrunner.plugins.__all__:  # plugins are lazy: load them all
            importlib.import_module(f"jobrunner.plugins.{name}")
        sys.setprofile(None)
        print(json.dumps({"callers": sorted(callers), "stack_walks": stack_walks}))
        """
    )

    result = json.loads(proc.stdout)
    callers = set(result["callers"])
    assert len(callers) >= 12, callers
    assert {
        "jobrunner.cli",
        "jobrunner.registry",
        "jobrunner.util.paths",
        "jobrunner.plugins.sources",
        "jobrunner.plugins.stats",
        "jobrunner.plugins.text",
    } <= callers
    assert result["stack_walks"] >= 12


def test_registry_and_index_agree_and_every_module_imports() -> None:
    # The project's own guards for laziness (case 1's lessons): the static index and the
    # registry agree, and no submodule hides an import error behind a lazy name.
    proc = python(
        """
        import hotstart.testing
        from hotstart.registry import check_index
        from jobrunner import registry
        check_index(registry._registry, registry.index())
        imported = hotstart.testing.import_all_submodules("jobrunner")
        print(len(imported))
        """
    )
    # every module of the package but __main__ (running it would start the CLI)
    modules = [p for p in (SRC / "jobrunner").rglob("*.py") if p.name != "__main__.py"]
    assert int(proc.stdout) == len(modules)


def test_help_lists_the_requests_and_pays_for_every_request_module() -> None:
    # Each request is a subcommand in its own module, registered eagerly: printing the help
    # imports all of them, and compute's imports drag in pandas (the util chain).
    proc = python(
        """
        import contextlib, io, json, sys
        from jobrunner import cli
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            try:
                cli.main(["--help"])
            except SystemExit as exit:
                code = exit.code
        names = ("jobrunner.commands.interface", "jobrunner.commands.compute",
                 "jobrunner.commands.batch", "jobrunner.registry", "pandas")
        print(json.dumps({"code": code, "help": out.getvalue(),
                          "loaded": {name: name in sys.modules for name in names}}))
        """
    )

    result = json.loads(proc.stdout)
    assert result["code"] == 0
    listed = [line.split()[0] for line in result["help"].splitlines() if line.startswith("    ")]
    assert listed == ["interface", "compute", "batch"]
    assert all(result["loaded"].values()), result["loaded"]


@pytest.mark.parametrize(("request_", "positionals"),
                         [("interface", ()), ("compute", ("a.json",)), ("batch", ("a.json",))])
def test_each_request_help_and_a_bad_request(request_: str, positionals: tuple[str]) -> None:
    proc = jobrunner(request_, "--help")

    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: jobrunner {request_} [-h]")
    bad = jobrunner(request_, *positionals, "--no-such-option")
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.endswith("jobrunner: error: unrecognized arguments: --no-such-option\n")


def _loaded_by(src: Path, *args: str) -> dict[str, object]:
    """Exit status, output and the jobrunner request modules (and pandas) imported by
    ``jobrunner ARGS`` run from the sources under *src*."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(
            f"""
            import contextlib, io, json, sys
            sys.argv = ["jobrunner", *{list(args)!r}]
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    from jobrunner.cli import main
                    code = main()
                except SystemExit as exit:
                    code = exit.code
            loaded = sorted(m for m in sys.modules
                            if m.startswith("jobrunner.commands.") or m == "pandas")
            print(json.dumps({{"code": code, "out": out.getvalue(), "err": err.getvalue(),
                              "loaded": loaded}}))
            """)],
        cwd=src.parent, env={**_env(), "PYTHONPATH": str(src), "COLUMNS": "80"},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_the_cli_codemod_makes_every_request_lazy_with_the_same_help(tmp_path: Path) -> None:
    from hotstart.audit import audit
    from hotstart.fix import _subcommands

    for part in ("src", "tests", "jobs", "pyproject.toml"):
        copy = shutil.copytree if (EXAMPLE / part).is_dir() else shutil.copy
        copy(EXAMPLE / part, tmp_path / part)
    src = tmp_path / "src"
    report = audit(str(tmp_path), run=False)
    changes, skipped = _subcommands.plan(report, report.paths, str(tmp_path))
    assert [c.site.data["name"] for c in changes] == ["interface", "compute", "batch"]
    assert [s for s in skipped if s.site.file.endswith("cli.py")] == []
    # HelpCheck, as `--verify` takes it, before and after the real `hotstart fix`
    check = _subcommands.HelpCheck(str(tmp_path), changes, [sys.executable], 120)
    helps = check.take()
    requests = {args: _loaded_by(src, *args) for args in
                (("--help",), ("interface",), ("compute", "--help"), ("nope",))}

    def fix() -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hotstart", "fix", ".", "--select", "cli", "--write"],
            cwd=tmp_path, env={**_env(), "PYTHONPATH": str(src)}, capture_output=True,
            text=True, timeout=300, check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    out = fix()

    assert "hotstart fix: made 3 change(s) in 1 file(s)" in out
    for line, name in ((38, "interface"), (39, "compute"), (40, "batch")):
        assert (f"src/jobrunner/cli.py:{line}  cli         {name}.register(requests): "
                f"registered lazily: `{name}` imports jobrunner.commands.{name} when it is "
                f"used") in out
    assert "hotstart fix: made 0 change(s)" in fix()  # a second run finds nothing to change
    # the program's help and each request's, byte for byte (COLUMNS=80, TERM=dumb)
    assert sorted(json.loads(argv) for _, argv in helps) == [
        ["--help"], ["batch", "--help"], ["compute", "--help"], ["interface", "--help"]]
    assert check.compare(helps, check.take()).ok
    for args, before in requests.items():
        after = _loaded_by(src, *args)
        assert (after["code"], after["out"], after["err"]) == (
            before["code"], before["out"], before["err"]), args
        if args == ("--help",):  # eager: every request module and pandas; lazy: none
            assert before["loaded"] == ["jobrunner.commands.batch",
                                        "jobrunner.commands.compute",
                                        "jobrunner.commands.interface", "pandas"]
            assert after["loaded"] == []
    assert _loaded_by(src, "interface")["loaded"] == ["jobrunner.commands.interface"]
    assert _loaded_by(src, "compute", "--help")["loaded"] == ["jobrunner.commands.compute",
                                                               "pandas"]
    # the example's own tests pass on the rewritten copy
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path, env={**_env(), "PYTHONPATH": str(src)}, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert tests.returncode == 0, tests.stdout[-2000:]


def test_batch_runs_jobs_on_warm_workers_preloaded_from_the_spec() -> None:
    proc = jobrunner("batch", "jobs/clean.json", "--repeat", "3", "--workers", "2")

    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # the template imported the plugins the spec names, once, and reported each
    assert "jobrunner.plugins.stats" in out and "jobrunner.plugins.text" in out
    assert "jobrunner.plugins.aggregate" not in out  # the spec uses no aggregation
    tasks = [line.split() for line in out.splitlines() if line.startswith("#")]
    assert len(tasks) == 3
    assert all(fields[-1] == "rows" or "rows" in fields for fields in tasks)
    assert all("30 -> 26 rows" in line for line in out.splitlines() if line.startswith("#"))
    workers = {fields[2] for fields in tasks}
    assert workers <= {"w1", "w2"}


def test_batch_with_a_typo_spec_fails_before_starting_workers() -> None:
    proc = jobrunner("batch", "jobs/typo.json")

    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "type 'zscroe'" in proc.stdout and "did you mean 'zscore'" in proc.stdout


@pytest.mark.parametrize("backend", ["dask", "ray"])
def test_the_same_batch_runs_unchanged_on_dask_and_ray_with_the_specs_preload(
        backend: str) -> None:
    """`jobrunner batch --backend dask|ray`: the job code is the local run's; the preload list
    (computed from the spec) reaches each engine worker, which reports every module."""
    proc = jobrunner("batch", "jobs/clean.json", "--repeat", "2", "--workers", "2",
                     "--backend", backend)

    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    out = proc.stdout
    reports = [line for line in out.splitlines() if line.startswith(f"{backend} worker ")]
    assert reports, out  # at least one engine worker reported its preload
    assert "jobrunner.plugins.stats" in out and "jobrunner.plugins.aggregate" not in out
    assert "FAILED" not in out
    rows = [line for line in out.splitlines() if line.startswith("#")]
    assert len(rows) == 2 and all("30 -> 26 rows" in line for line in rows)
    # Each task ran in an engine worker that reported a preload (its pid is in a report).
    pids = {line.split()[3] for line in rows}
    reported = {line.split("(pid ")[1].split(")")[0] for line in reports}
    assert pids <= reported
