"""hotstart.testing: the helpers against real throwaway packages and fresh interpreters."""

from __future__ import annotations

import os
import pathlib
import sys

import pytest

from hotstart.testing import assert_not_imported, import_all_submodules
from conftest import write_tree as write

LAZY_INIT = ("import hotstart.lazy\n"
             "__getattr__, __dir__, __all__ = hotstart.lazy.attach(__name__, {args})\n")


@pytest.fixture
def importable(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
    """Write packages under tmp_path, importable in this process; forgotten afterwards."""
    monkeypatch.delenv("HOTSTART_EAGER", raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)

    def make(files: dict[str, str]) -> pathlib.Path:
        return write(tmp_path, files)

    yield make
    for name in set(sys.modules) - before:
        module = sys.modules.get(name)
        if str(tmp_path) in str(getattr(module, "__file__", None) or ""):
            del sys.modules[name]


# -- import_all_submodules -------------------------------------------------------------------

def test_good_package_imports_everything(importable):
    importable({
        "walkgood/__init__.py": LAZY_INIT.format(args='attrs={"core": ["run"]}'),
        "walkgood/core.py": "def run(): return 1\n",
        "walkgood/sub/__init__.py": "",
        "walkgood/sub/deep.py": "X = 1\n",
        "walkgood/__main__.py": "raise SystemExit('the CLI must not run')\n",
    })
    assert import_all_submodules("walkgood") == [
        "walkgood", "walkgood.core", "walkgood.sub", "walkgood.sub.deep"]
    assert "run" in sys.modules["walkgood"].__dict__  # the lazy name was resolved


def test_broken_submodule_hidden_behind_lazy_attach_is_found(importable):
    importable({
        "walkbad/__init__.py": LAZY_INIT.format(
            args='attrs={"fine": ["ok"], "broken": ["feature"]}'),
        "walkbad/fine.py": "def ok(): pass\n",
        "walkbad/broken.py": "import hotstart_test_not_installed\ndef feature(): pass\n",
        "walkbad/sub/__init__.py": "",
        "walkbad/sub/syntax.py": "def f(:\n",
    })
    import walkbad  # importing the package alone hides every error
    assert walkbad.ok() is None

    with pytest.raises(AssertionError) as info:
        import_all_submodules("walkbad")
    message = str(info.value)
    lines = message.splitlines()
    assert lines[0] == "3 import failure(s) under 'walkbad':"
    assert ("walkbad.feature (attribute): ModuleNotFoundError: No module named "
            "'hotstart_test_not_installed'") in lines
    assert ("walkbad.broken: ModuleNotFoundError: No module named "
            "'hotstart_test_not_installed'") in lines
    assert any(line.startswith("walkbad.sub.syntax: SyntaxError: ") for line in lines)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_resolve_lazy_catches_a_declared_name_its_module_lacks(importable):
    importable({
        "walkdecl/__init__.py": LAZY_INIT.format(args='attrs={"impl": ["present", "gone"]}'),
        "walkdecl/impl.py": "present = 1\n",
    })
    assert import_all_submodules("walkdecl", resolve_lazy=False) == ["walkdecl",
                                                                     "walkdecl.impl"]
    with pytest.raises(AssertionError, match=r"walkdecl\.gone \(attribute\): AttributeError: "
                                             r"module 'walkdecl\.impl' has no attribute 'gone'"):
        import_all_submodules("walkdecl")


def test_missing_package_and_exclude(importable):
    with pytest.raises(AssertionError, match="hotstart_no_such_pkg: ModuleNotFoundError"):
        import_all_submodules("hotstart_no_such_pkg")
    importable({
        "walkexcl/__init__.py": "",
        "walkexcl/optional/__init__.py": "import hotstart_test_optional_dep\n",
        "walkexcl/optional/more.py": "",
        "walkexcl/base.py": "",
    })
    assert import_all_submodules("walkexcl", exclude=["walkexcl.optional"]) == [
        "walkexcl", "walkexcl.base"]


# -- assert_not_imported ---------------------------------------------------------------------

APP = {
    "heavy.py": "DATA = list(range(10))\n",
    "app/__init__.py": "",
    "app/cli.py": "import app.util\ndef main(): pass\n",
    "app/util.py": "import heavy\n",
    "app/light.py": "import json\n",
    "app/other.py": "import heavy\n",
}


def test_assert_not_imported_passes(tmp_path):
    write(tmp_path, APP)
    assert_not_imported(["heavy"], "import app.light", cwd=tmp_path)
    assert_not_imported("heavy", "import app.light; import sys; sys.exit(0)", cwd=tmp_path)
    assert_not_imported(["heavy", "app.cli"], cwd=tmp_path)  # the interpreter's own start-up


def test_assert_not_imported_names_the_chain(tmp_path):
    write(tmp_path, APP)
    with pytest.raises(AssertionError) as info:
        assert_not_imported(["heavy", "app.light"], "import app.cli\nimport app.other",
                            cwd=tmp_path)
    message = str(info.value)
    assert "heavy: loaded (heavy)" in message
    assert "first loaded through: app.cli -> app.util -> heavy (app/util.py:1)" in message
    assert "also imported through: __main__ -> app.other -> heavy (app/other.py:1)" in message
    assert "app.light" not in message.split("\n", 1)[1]  # allowed: not imported


def test_forbidden_name_covers_submodules(tmp_path):
    write(tmp_path, APP)
    with pytest.raises(AssertionError) as info:
        assert_not_imported(["app"], "import app.cli", cwd=tmp_path)
    assert "app: loaded (app, app.cli, app.util)" in str(info.value)


def test_failing_code_reports_its_stderr(tmp_path):
    with pytest.raises(AssertionError, match=r"(?s)exited with status 1.*ZeroDivisionError"):
        assert_not_imported(["heavy"], "1/0", cwd=tmp_path)


def test_module_loaded_by_the_interpreter_itself(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with pytest.raises(AssertionError, match="loaded by the interpreter's own start-up"):
        assert_not_imported(["posixpath"], "pass", cwd=tmp_path, env=env)
