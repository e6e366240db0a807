"""What `bench_audit.py` runs `hotstart fix` on: the jobrunner example, real PyPI packages with
their own tests (from the wheel, or from the sdist when the wheel has none; the `bench` extra
installs the packages, the benchmark downloads the sdists with pip), and one fixture.

Each test subset is chosen to run in a few seconds here, because `--verify` runs it once per
bisection step, and to cover the modules the fix rewrites. The patterns the issue asks for:
numba code (numba-stats, the fixture's fit/), pydantic models (pydantic-settings, the
fixture's evaluate/), a click CLI (sqlite-utils), exec'd namespaces (numba-stats passes
`globals()` to a generator that exec's wrappers into it; patsy execs `from patsy.builtins
import *` into the namespace formulas are evaluated in; sqlite-utils execs user code; the
fixture's evaluate/ evals in `globals()`), script directories with tests (the fixture).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str                 # label in the tables
    package: str              # top-level import name ("" for the fixture: scripts, no package)
    entry: tuple[str, ...]    # measured: ("-c", CODE), ("-m", MODULE, *ARGS), (SCRIPT, *ARGS)
    tests: tuple[str, ...]    # pytest arguments, relative to the copy's root
    kind: str = "wheel"       # wheel | sdist | example (examples/<package>) | fixture
    sdist: tuple[str, ...] = ()      # files and directories copied from the sdist's root
    fixture: str = ""         # directory under bench/fixtures
    fix_entries: tuple[tuple[str, ...], ...] = ()   # entries `fix` measures (default: entry)
    static: bool = False      # fix every fixable site (no entry), then measure the entry
    suites: tuple[tuple[str, ...], ...] = ()  # more pytest runs, each in its own process
    note: str = ""

    @property
    def distribution(self) -> str:
        return {"numba_stats": "numba-stats", "pydantic_settings": "pydantic-settings",
                "sqlite_utils": "sqlite-utils"}.get(self.package, self.package)


TARGETS = [
    Target("jobrunner (example)", "jobrunner", ("-m", "jobrunner", "interface"), ("tests",),
           kind="example", note="examples/jobrunner with its tests/ (src layout)"),
    Target("joblib", "joblib", ("-c", "import joblib"),
           tuple(f"joblib/test/test_{name}.py" for name in (
               "hashing", "func_inspect", "numpy_pickle", "disk", "logger", "utils", "init",
               "module", "config")),
           note="9 of joblib/test's files (test_parallel, test_memmapping and test_memory "
                "take 7-85 s each)"),
    Target("jsonschema", "jsonschema", ("-c", "import jsonschema"),
           ("jsonschema/tests", "--ignore=jsonschema/tests/test_jsonschema_test_suite.py"),
           note="jsonschema/tests without the JSON-Schema-Test-Suite runner (its data is not "
                "in the wheel); test_exceptions needs jsonpath-ng"),
    Target("toolz", "toolz", ("-c", "import toolz"), ("toolz/tests",),
           note="toolz/tests, all of it"),
    Target("networkx", "networkx", ("-c", "import networkx"),
           ("networkx/tests", "networkx/utils/tests", "networkx/algorithms/components/tests",
            "networkx/readwrite/tests"),
           note="4 of networkx's 28 tests directories (the readwrite ones cover the rewritten "
                "gexf/gml modules)"),
    Target("numba-stats (numba, exec'd globals())", "numba_stats",
           ("-c", "from numba_stats import expon"),
           ("-o", "addopts=", "tests/test_expon.py"),
           kind="sdist", sdist=("tests", "pyproject.toml"), static=True,
           note="1 of the sdist's 30 test files (the whole suite takes 7.5 min: numba compiles "
                "every kernel; expon goes through _util's wrapper generator and `@overload`); "
                "its "
                "pyproject.toml with `filterwarnings = error`, addopts dropped (`--ff` needs "
                "the cache plugin); fixed with no entry (every fixable site), because on the "
                "entry numba itself loads every deferrable import"),
    Target("pydantic-settings (pydantic models)", "pydantic_settings",
           ("-c", "import pydantic_settings"),
           ("tests/test_settings.py", "tests/test_source_json.py", "tests/test_source_toml.py",
            "tests/test_source_pyproject_toml.py", "tests/test_precedence_and_merging.py",
            "tests/test_utils.py"),
           kind="sdist", sdist=("tests", "pyproject.toml"),
           note="6 of the sdist's 15 test files (not the cloud-secret sources, whose SDKs are "
                "not installed, nor test_source_cli (10 s) and test_docs); its pyproject.toml "
                "with `filterwarnings = error`"),
    Target("sqlite-utils (click CLI, exec'd code)", "sqlite_utils",
           ("-m", "sqlite_utils", "--help"),
           ("tests/test_cli_convert.py", "tests/test_cli_bulk.py", "tests/test_cli_memory.py",
            "tests/test_cli_migrate.py", "tests/test_utils.py", "tests/test_plugins.py",
            "tests/test_create.py", "tests/test_recipes.py"),
           kind="sdist", sdist=("tests",),
           note="8 of the sdist's 50 test files (test_cli.py alone takes 50 s), with the CLI's "
                "`convert` (exec'd user code) and plugin tests"),
    Target("patsy (exec'd namespace)", "patsy", ("-c", "import patsy"),
           ("-o", "python_files=*.py", "patsy", "--ignore=patsy/test_build.py",
            "--ignore=patsy/mgcv_cubic_splines.py", "--ignore=patsy/splines.py"),
           note="its own config's `python_files = *.py` (patsy keeps tests in its modules): "
                "every module and test file but test_build.py (85 s), mgcv_cubic_splines.py (20 s) "
                "and splines.py (9 s)"),
    Target("workerfleet (fixture: script dirs)", "", ("workers/fit/entrypoint.py", "--help"),
           ("workers/restore/tests",), kind="fixture", fixture="workerfleet",
           fix_entries=(("workers/restore/entrypoint.py", "--help"),
                        ("workers/evaluate/entrypoint.py", "--help"),
                        ("workers/fit/entrypoint.py", "--help")),
           suites=(("workers/evaluate/tests",), ("workers/fit/tests",)),
           note="bench/fixtures/workerfleet (built here: no PyPI package is a directory of "
                "scripts whose tests import them through sys.path); each worker's tests run "
                "in their own pytest process, as each imports its own `entrypoint`"),
]
