"""What `bench_cut.py` cuts: real PyPI packages with their own tests (and the tour's example),
each chosen for a start-up pattern of issue 11, with a test subset that runs in seconds here.

A `CutTarget` is a `bench_audit` target (the same copies: the installed package directory plus
the sdist's tests and config) with what the cut benchmark needs on top: the environment the
target runs in, files the sdist leaves out of its tests, and for a CLI the command whose
`--help` (of the program and of every subcommand) must stay byte-identical.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from _audit_targets import TARGETS, Target

# pytest's own options for every target: the projects' `addopts` add -v, --durations, live
# logs or coverage, which `-q` then fights; dropping them keeps the summary line parseable
NO_ADDOPTS = ("-o", "addopts=")


@dataclass(frozen=True)
class CutTarget(Target):
    pattern: str = ""                      # the start-up pattern at stake, for the report
    env: tuple[tuple[str, str], ...] = ()  # set for tests, fixes, the trial and every timed run
    touch: tuple[str, ...] = ()            # empty files created in the copy (left out of sdists)
    cli: str = ""                          # "module:attr" of the click command or typer app
    help_paths: tuple[tuple[str, ...], ...] = ()   # argv lists compared when `cli` is not click


_SQLITE_UTILS = next(t for t in TARGETS if t.package == "sqlite_utils")

TARGETS_CUT = [
    CutTarget(
        "hatch (click, a module per command)", "hatch", ("-m", "hatch", "--help"),
        (*NO_ADDOPTS, "tests/cli/test_root.py", "tests/cli/config", "tests/cli/status",
         "tests/cli/version", "tests/cli/clean", "tests/cli/new", "tests/cli/dep",
         "tests/cli/fmt"),
        kind="sdist", sdist=("tests", "pyproject.toml"), cli="hatch.cli:hatch",
        pattern="`hatch/cli/__init__.py` imports all 18 command modules to register them "
                "(`from hatch.cli.env import env` ... `hatch.add_command(env)`)",
        note="8 of the sdist's tests/cli directories (env, run, python, self and publish "
             "create environments or need the network)"),
    CutTarget(
        "huggingface_hub `hf` (typer sub-apps, metadata hot call)", "huggingface_hub",
        ("-m", "huggingface_hub.cli.hf", "--help"),
        (*NO_ADDOPTS, "tests/test_cli.py"),
        kind="sdist", sdist=("tests", "pyproject.toml"), touch=("tests/__init__.py",),
        env=(("HF_HUB_OFFLINE", "1"), ("HF_HUB_DISABLE_TELEMETRY", "1")),
        cli="huggingface_hub.cli.hf:app",
        pattern="`cli/hf.py` imports 13 command modules for 9 `app.add_typer(...)` sub-apps "
                "and 6 commands; `utils/_runtime.py` calls `importlib.metadata.version()` for "
                "~30 packages at module level",
        note="the sdist's tests/test_cli.py (the sdist leaves out tests/__init__.py, which its "
             "relative imports need: created empty); HF_HUB_OFFLINE=1 (no network here)"),
    CutTarget(
        "celery (click, many commands, plugin scan)", "celery", ("-m", "celery", "--help"),
        (*NO_ADDOPTS, "t/unit/bin"),
        kind="sdist", sdist=("t", "pyproject.toml"), cli="celery.bin.celery:celery",
        pattern="`bin/celery.py` imports every command module; `with_plugins(entry_points("
                "group='celery.commands'))` scans the installed distributions at import",
        note="the sdist's t/unit/bin (needs pytest-click)"),
    CutTarget(
        "xarray (data library)", "xarray",
        ("-c", "import xarray as xr; xr.Dataset({'a': ('x', [1, 2, 3])}).mean()"),
        (*NO_ADDOPTS, *(f"xarray/tests/test_{name}.py" for name in (
            "utils", "options", "plugins", "formatting", "merge", "coding_times"))),
        pattern="a first use of xarray (a Dataset and a reduction): numpy and pandas are "
                "needed; the rest of the package's imports are the question (an entry that "
                "only runs `import xarray` uses nothing, so its bound is an empty package)",
        note="6 of the wheel's xarray/tests files"),
    CutTarget(
        "faker (provider registry)", "faker", ("-c", "from faker import Faker; Faker().name()"),
        (*NO_ADDOPTS, *(f"tests/test_{name}.py" for name in (
            "factory", "generator", "proxy", "unique", "optional", "cli_arg_parsing",
            "documentor"))),
        kind="sdist", sdist=("tests", "setup.cfg"),
        pattern="`faker/config.py` imports every provider package and walks them for locales "
                "at import (the registry is built by importing); the entry makes a `Faker()` "
                "and one name",
        note="7 of the sdist's top-level test files"),
    CutTarget(**{**asdict(_SQLITE_UTILS), "name": "sqlite-utils (click CLI, plugin registry)"},
              cli="sqlite_utils.cli:cli",
              pattern="one click module with every command; `plugins.py` runs pluggy's "
                      "`load_setuptools_entrypoints` (a metadata scan) at import"),
    CutTarget(
        "jobrunner (example)", "jobrunner", ("-m", "jobrunner", "--help"), ("tests",),
        kind="example", fix_entries=(("-m", "jobrunner", "--help"),
                                     ("-m", "jobrunner", "interface")),
        # argparse with `metavar="REQUEST"`: the help prints no `{a,b}` choices to follow
        help_paths=(("--help",), ("interface", "--help"), ("compute", "--help"),
                    ("batch", "--help")),
        pattern="the tour: an `inspect.stack()` logger factory called at module level, a "
                "package `__init__` that pulls pandas, argparse subcommands",
        note="examples/jobrunner with its tests/ (not a PyPI package: the reference)"),
]
