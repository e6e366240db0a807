"""What `hotstart fix --verify` says when it reverts a change: the line that names the
failure (pytest's `E   ...` line, or the exception of a traceback) comes first, then the
output's last lines; a collection error is not reduced to "Interrupted: 1 error"."""

from __future__ import annotations

import sys

from hotstart.fix import fix
from hotstart.fix.verify import CommandResult
from hotstart.render.fix import render_fix

from ._helpers import make
from .test_verify import PROJECT

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider tests"

# The test module itself needs yaml loaded by pkg.loader: a collection error, not a failure.
COLLECTION_ERROR = """\
    import sys

    import pkg.loader

    if "yaml" not in sys.modules:
        raise RuntimeError("pkg.loader no longer imports yaml")


    def test_load():
        assert pkg.loader.load("a: 1") == {"a": 1}
"""


def test_a_collection_error_is_reported_by_its_exception(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    root = make(tmp_path / "proj", {**PROJECT, "tests/test_pkg.py": COLLECTION_ERROR})
    monkeypatch.chdir(root)

    result = fix(str(root), write=True, verify=PYTEST)

    assert [c.site.file.rsplit("/", 1)[-1] for c in result.reverted] == ["loader.py"]
    said = result.verification.reverted[0][1].splitlines()
    assert said[0] == "RuntimeError: pkg.loader no longer imports yaml"
    assert any("error" in line for line in said[1:])  # pytest's closing lines follow
    shown = render_fix(result).splitlines()
    at = next(i for i, line in enumerate(shown) if line.strip().endswith("import yaml"))
    assert shown[at + 1].strip() == "| RuntimeError: pkg.loader no longer imports yaml"
    assert sum("no longer imports yaml" in line for line in shown) >= 1


def test_error_line_rules():
    pytest_output = ("____ ERROR collecting tests/test_a.py ____\n"
                     "tests/test_a.py:3: in <module>\n    import pkg\n"
                     "E   ImportError: cannot import name 'x' from 'pkg'\n"
                     "=== short test summary info ===\n"
                     "ERROR tests/test_a.py - ImportError: cannot import name 'x'\n"
                     "!!! Interrupted: 1 error during collection !!!\n")
    failed = CommandResult(False, 2, pytest_output)
    assert failed.error_line() == "ImportError: cannot import name 'x' from 'pkg'"
    assert failed.failure().splitlines()[0] == failed.error_line()
    assert failed.failure().splitlines()[-1] == "!!! Interrupted: 1 error during collection !!!"

    traceback = ("Traceback (most recent call last):\n  File \"t.py\", line 1, in <module>\n"
                 "KeyError: 'a'\n")
    assert CommandResult(False, 1, traceback).error_line() == "KeyError: 'a'"
    assert CommandResult(False, 1, "FAILED t::x\n1 failed\n").error_line() == "FAILED t::x"
    assert CommandResult(False, 1, "").error_line() == ""
    assert CommandResult(False, 1, "").failure() == ""
