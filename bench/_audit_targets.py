"""What `bench_audit.py` runs `hotstart fix` on: the jobrunner example and real PyPI packages
that ship their tests inside the wheel (the `bench` extra installs them).

Each test subset is chosen to run in a few seconds here, because `--verify` runs it once per
bisection step (about 10-25 times per package), and to cover the modules the fix rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    name: str                 # label in the tables
    package: str              # top-level import name
    entry: tuple[str, ...]    # interpreter arguments: ("-c", CODE) or ("-m", MODULE, *ARGS)
    tests: tuple[str, ...]    # pytest arguments, relative to the copy's root
    example: bool = False     # a project directory of this repository (src/ layout), not a wheel
    note: str = ""


TARGETS = [
    Target("jobrunner (example)", "jobrunner", ("-m", "jobrunner", "interface"), ("tests",),
           example=True, note="examples/jobrunner with its tests/ (src layout)"),
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
]
