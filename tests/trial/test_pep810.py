"""The trial's 3.15 branch: PEP 810's own machinery. No 3.15 interpreter is available: the
command line is built for a 3.15 version, the records are hand-written fixtures in the format
the child writes (tests/fixtures/pep810/README.md), and the child's 3.15 code runs in a real
3.11+ interpreter whose `sys` is given PEP 810's attributes."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

from hotstart.trial._record import classify, lazy_argv, lazy_env, parse_record

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "pep810"
CHILD = pathlib.Path(__file__).resolve().parents[2] / "src" / "hotstart" / "trial" / "_child.py"


def test_the_lazy_run_gets_x_lazy_imports_all_on_3_15_only():
    argv = ["/usr/bin/python3", "-m", "app", "run"]
    assert lazy_argv(argv, (3, 15, 0), "module") == [
        "/usr/bin/python3", "-X", "lazy_imports=all", "-m", "app", "run"]
    assert lazy_argv(argv, (3, 14, 2), "module") == argv
    assert lazy_argv(["app-cli", "--help"], (3, 15, 0), "command") == ["app-cli", "--help"]
    assert lazy_env((3, 15, 0), "command") == {"PYTHON_LAZY_IMPORTS": "all"}
    assert lazy_env((3, 15, 0), "module") == {} and lazy_env((3, 13, 0), "command") == {}


def test_the_mapping_form_of_sys_lazy_modules():
    record = parse_record(json.loads((FIXTURES / "trial_record_315.json").read_text()))
    assert record.engine == "pep810" and record.version == (3, 15, 0)
    used, unused = classify(record)
    # Lazily imported and in sys.modules at exit: used (the interpreter does not say where).
    assert set(used) == {"app", "app.cli", "json", "argparse"}
    assert all(use.file is None and use.how == "used" for use in used.values())
    # Lazily imported and never loaded: never touched (a submodule named in full too).
    assert set(unused) == {"app.report", "pandas", "email", "email.utils"}


def test_the_set_form_of_sys_lazy_modules():
    record = parse_record(json.loads((FIXTURES / "trial_record_315_set.json").read_text()))
    used, unused = classify(record)
    assert set(used) == {"json"} and set(unused) == {"pandas", "app.report"}


def test_the_child_uses_the_interpreter_machinery_when_sys_has_it(tmp_path):
    """The child's 3.15 code in a real interpreter given PEP 810's `sys` functions: it asks
    for lazy_imports "all", installs a filter that keeps the eager packages eager, and writes
    `sys.lazy_modules` at exit."""
    out = tmp_path / "record.json"
    driver = f"""
import os, sys
calls = []
sys.set_lazy_imports = lambda mode: calls.append(("mode", mode))
sys.set_lazy_imports_filter = lambda f: calls.append(("filter", f))
os.environ.update(HOTSTART_TRIAL_MODE="lazy", HOTSTART_TRIAL_OUT={str(out)!r},
                  HOTSTART_TRIAL_EAGER="regpkg")
source = open({str(CHILD)!r}).read()
exec(compile(source, {str(CHILD)!r}, "exec"), {{"__name__": "sitecustomize",
                                                "__file__": {str(CHILD)!r}}})
mode = [c for c in calls if c[0] == "mode"]
lazy = [c[1] for c in calls if c[0] == "filter"][0]
print(mode, lazy("app", "json", None), lazy("regpkg.core", "json", None),
      lazy("app", "regpkg.plugins", ("x",)))
import json  # the target, using json
sys.lazy_modules = {{"json": frozenset(), "app": frozenset({{"report"}})}}
"""
    result = subprocess.run([sys.executable, "-c", driver], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["[('mode',", "'all')]", "True", "False", "False"]
    record = parse_record(json.loads(out.read_text()))
    assert record.engine == "pep810"
    used, unused = classify(record)
    assert "json" in used and unused.keys() == {"app", "app.report"}


def test_the_project_filter_on_3_15_defers_only_the_project_modules_imports(tmp_path):
    """The project bound on PEP 810's machinery: the filter the child installs defers an
    import only when the importing module's file is the project's (a virtual environment
    inside the project directory is not)."""
    project = tmp_path / "proj"
    (project / ".venv" / "lib" / "site-packages").mkdir(parents=True)
    (project / "app.py").write_text("")
    (project / ".venv" / "lib" / "site-packages" / "lib.py").write_text("")
    listing = tmp_path / "project.txt"
    listing.write_text(f"{project}/\n")
    driver = f"""
import os, sys, types
calls = []
sys.set_lazy_imports = lambda mode: None
sys.set_lazy_imports_filter = lambda f: calls.append(f)
for name, path in (("app", {str(project / "app.py")!r}),
                   ("lib", {str(project / ".venv/lib/site-packages/lib.py")!r}),
                   ("other", "/elsewhere/other.py")):
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
os.environ.update(HOTSTART_TRIAL_MODE="lazy", HOTSTART_TRIAL_PROJECT={str(listing)!r})
source = open({str(CHILD)!r}).read()
exec(compile(source, {str(CHILD)!r}, "exec"), {{"__name__": "sitecustomize",
                                                "__file__": {str(CHILD)!r}}})
lazy = calls[0]
print(lazy("app", "json", None), lazy("lib", "json", None), lazy("other", "json", None),
      lazy("missing", "json", None))
"""
    result = subprocess.run([sys.executable, "-c", driver], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "False", "False"]
