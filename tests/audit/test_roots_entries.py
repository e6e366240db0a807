"""Module names as the tests see them (import roots from pytest's configuration and import
mode, `sys.path` tweaks, script directories), entries relative to the audited project,
console-script entries, no silent static fallback, and only the entries' path changes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from conftest import run_hotstart, write_tree

from hotstart.audit import audit

from ._helpers import site

ENTRYPOINT = '''\
import json
import restoration


def main():
    return restoration.restore("a")


if __name__ == "__main__":
    print(main())
'''

RESTORATION = '''\
def restore(x):
    return x.upper()
'''

TEST = '''\
{header}
from unittest import mock

import entrypoint


def test_main():
    with mock.patch("entrypoint.restoration") as fake:
        fake.restore.return_value = "patched"
        assert entrypoint.main() == "patched"
'''

SYS_PATH = ("import os\nimport sys\n\n"
            "sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))\n")

#: The ways a test finds `entrypoint` on sys.path, as real projects do it.
LAYOUTS = {
    "sys-path-insert": {
        "workers/x/tests/test_entrypoint.py": TEST.format(header=SYS_PATH),
    },
    "tests-package-prepend": {  # pytest puts workers/x on sys.path (tests/ is a package)
        "workers/x/tests/__init__.py": "",
        "workers/x/tests/test_entrypoint.py": TEST.format(header=""),
    },
    "pyproject-pythonpath": {
        "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = [\"workers/x\"]\n",
        "tests/test_entrypoint.py": TEST.format(header=""),
    },
    "pytest-ini-pythonpath": {
        "pytest.ini": "[pytest]\npythonpath = workers/x\n",
        "tests/test_entrypoint.py": TEST.format(header=""),
    },
    "conftest-pathlib": {
        "tests/conftest.py": "import sys\nfrom pathlib import Path\n\nHERE = Path(__file__)"
                             ".resolve().parent\nsys.path.insert(0, str(HERE.parent / "
                             "'workers' / 'x'))\n",
        "tests/test_entrypoint.py": TEST.format(header=""),
    },
}


def worker_repo(base, layout: str):
    return write_tree(base, {"workers/x/entrypoint.py": ENTRYPOINT,
                             "workers/x/restoration.py": RESTORATION, **LAYOUTS[layout]})


def pytest_passes(repo) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly"], cwd=repo, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_patched_import_of_a_script_directory_is_pinned(tmp_path, layout):
    repo = worker_repo(tmp_path / "repo", layout)
    assert pytest_passes(repo).returncode == 0  # the layout is real: its test passes
    report = audit(str(repo), run=False)
    restoration = site(report, "entrypoint", "restoration")
    assert restoration.klass == "needed"
    assert any("patched by a test" in pin for pin in restoration.pins), restoration.pins
    # The sibling is a project module under the name the script imports it by.
    assert "restoration" in {s.module for s in report.sites} | {"restoration"}
    assert restoration.external is False
    assert report.package is None  # a tests/ package is never the package under audit


def test_fix_with_verify_keeps_the_patched_import_and_the_tests_green(tmp_path):
    repo = worker_repo(tmp_path / "repo", "tests-package-prepend")
    verify = f"{sys.executable} -m pytest -q -p no:cacheprovider -p no:randomly"
    done = run_hotstart("fix", str(repo), "--write", "--verify", verify, cwd=repo, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "reverted" not in done.stdout, done.stdout  # nothing had to be caught by the tests
    source = (repo / "workers/x/entrypoint.py").read_text()
    assert source.splitlines()[0] == "import restoration"  # pinned, kept where it was
    assert "import json" not in source                     # the dead one is gone
    assert pytest_passes(repo).returncode == 0
    audit_text = run_hotstart("audit", str(repo), cwd=repo).stdout
    assert "patched by a test" in audit_text


def test_a_module_patched_under_its_long_name_is_pinned_too(tmp_path):
    repo = worker_repo(tmp_path / "repo", "tests-package-prepend")
    (repo / "workers/x/tests/test_long.py").write_text(
        "from unittest import mock\n\n\ndef test_x():\n"
        "    with mock.patch('workers.x.entrypoint.json'):\n        pass\n")
    report = audit(str(repo), run=False)
    assert site(report, "entrypoint", "json").klass == "needed"


def test_tests_package_is_never_the_package_under_audit(tmp_path):
    write_tree(tmp_path, {"tool.py": "import json\n", "tests/__init__.py": "",
                          "tests/test_tool.py": "import tool\n"})
    report = audit(str(tmp_path), run=False)
    assert report.package is None
    assert report.entries == []


# -- entries ----------------------------------------------------------------------------------

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/heavy.py": "import csv\nimport json\nVALUE = 1\n",
    "pkg/cli.py": "import sys\nimport pkg.heavy\n\n\ndef main():\n"
                  "    print(pkg.heavy.VALUE)\n    return 0\n",
    "scripts/run.py": "import sys\n\nfrom pkg.cli import main\n\nif __name__ == '__main__':\n"
                      "    sys.exit(0 if '--help' in sys.argv else 1)\n",
    "scripts/fail.py": "raise SystemExit('boom')\n",
    "examples/demo.py": "import csv\nimport decimal\n\nprint('demo')\n",
}


def audit_json(*args, cwd, env=None) -> dict:
    done = subprocess.run([sys.executable, "-m", "hotstart", "audit", *args, "--format",
                           "json", "--runs", "1", "-q"], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_entry_script_is_relative_to_the_audited_project(tmp_path):
    proj = write_tree(tmp_path / "proj", PROJECT)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    data = audit_json(str(proj), "--entry", "scripts/run.py --help", cwd=elsewhere)
    [entry] = data["entries"]
    assert entry["measured"] is True
    assert "pkg.cli" in entry["roots"]


def test_console_script_entry_is_measured_and_read_for_its_imports(tmp_path):
    proj = write_tree(tmp_path / "proj", PROJECT)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "mycli"
    script.write_text(f"#!{sys.executable}\nimport sys\nfrom pkg.cli import main\n"
                      f"if __name__ == '__main__':\n    sys.exit(main())\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    data = audit_json(str(proj), "--entry", "-- mycli --help", cwd=tmp_path, env=env)
    [entry] = data["entries"]
    assert entry["measured"] is True
    assert {"pkg", "pkg.cli", "pkg.cli.main"} <= set(entry["roots"])
    heavy = [s for s in data["sites"] if s["module"] == "pkg.cli" and "heavy" in s["statement"]]
    assert heavy and heavy[0]["savings"], heavy  # priced on the console script's run


@pytest.mark.parametrize("entry, why", [
    ("scripts/fail.py", "boom"),
    ("scripts/missing.py", "cannot read"),
    ("-- no-such-cli-hotstart --help", "not on PATH"),
])
def test_an_entry_that_cannot_be_measured_is_an_error_not_a_static_audit(tmp_path, entry, why):
    proj = write_tree(tmp_path / "proj", PROJECT)
    done = run_hotstart("audit", str(proj), "--entry", entry, "--runs", "1", "-q",
                        cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    [line] = done.stderr.strip().splitlines()
    assert line.startswith(f"hotstart: error: --entry {entry!r}: ")
    assert why in line and "--static" in line
    assert done.stdout == ""


def test_with_an_entry_only_its_path_changes(tmp_path):
    proj = write_tree(tmp_path / "proj", PROJECT)
    demo_before = (proj / "examples/demo.py").read_text()
    done = run_hotstart("fix", str(proj), "--entry", "-m pkg.cli", "--runs", "1", "--write",
                        "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (proj / "examples/demo.py").read_text() == demo_before  # outside the entry's reach
    assert "not on the path of the measured entrypoints" in done.stdout
    # On the path, the dead imports go.
    assert (proj / "pkg/heavy.py").read_text() == "VALUE = 1\n"
    done = run_hotstart("fix", str(proj), "--entry", "-m pkg.cli", "--runs", "1", "--write",
                        "--all", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "import" not in (proj / "examples/demo.py").read_text()


def test_two_script_directories_with_the_same_module_names(tmp_path):
    # Each worker has its own entrypoint.py and restoration.py: the short names clash, so the
    # audit names them from the project root, and a test's `entrypoint.restoration` pins the
    # import in every module that is `entrypoint` to some test.
    files = {}
    for worker in ("x", "y"):
        files.update({f"workers/{worker}/entrypoint.py": ENTRYPOINT,
                      f"workers/{worker}/restoration.py": RESTORATION,
                      f"workers/{worker}/tests/test_entrypoint.py": TEST.format(header=SYS_PATH)})
    report = audit(str(write_tree(tmp_path, files)), run=False)
    for worker in ("x", "y"):
        pinned = site(report, f"workers.{worker}.entrypoint", "restoration")
        assert pinned.klass == "needed"
        assert any("patched by a test" in pin for pin in pinned.pins)


def test_sys_path_calls_are_computed_from_file_constants_and_names():
    from hotstart.audit._roots import sys_path_roots

    source = b"""import os, site, sys
from pathlib import Path
HERE = Path(__file__).resolve().parent
ROOT: str = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repo
sys.path.insert(0, ROOT)
def setup():
    sys.path.append(str(HERE / "lib"))
sys.path.extend([os.path.join(ROOT, "x"), "rel"])
site.addsitedir(HERE.parents[1])
sys.path.insert(0, os.environ["NOT_COMPUTABLE"])
mysys.path.append("not sys.path")
"""
    assert sys_path_roots(source, "/p/a/tests/t.py", "/p") == [
        "/p/a", "/p/a/tests/lib", "/p/a/x", "/p/rel", "/p"]


def test_pytest_configuration_is_read_for_rootdir_pythonpath_and_import_mode(tmp_path):
    from hotstart.audit._roots import pytest_config

    write_tree(tmp_path, {"setup.cfg": "[tool:pytest]\naddopts = --rootdir=sub "
                                       "--import-mode=importlib\npythonpath = a b\n",
                          "pkg/deeper/x.py": ""})
    expected = (str(tmp_path / "sub"), [str(tmp_path / "a"), str(tmp_path / "b")], True)
    assert pytest_config(str(tmp_path)) == expected
    assert pytest_config(str(tmp_path / "pkg" / "deeper")) == expected  # found above
    (tmp_path / "pkg" / ".git").mkdir()  # ... but not past the repository's top
    assert pytest_config(str(tmp_path / "pkg" / "deeper")) == \
        (str(tmp_path / "pkg" / "deeper"), [], False)
