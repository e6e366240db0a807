"""The two commands of the README must each work first on a fresh clone.

CI once ran `make test` before `make demo` in the same virtual environment, so the demo's
missing pytest (needed by its `fix --verify` step) was installed by the test target and the
failure hid. These tests pin the order and the install step that prevent that.
"""

from __future__ import annotations

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _make_recipe(target_prefix: str) -> str:
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target_prefix)}[^\n]*:[^\n]*\n((?:\t[^\n]*\n)+)", text,
                      re.MULTILINE)
    assert match, f"no rule {target_prefix} in the Makefile"
    return match.group(1)


def test_ci_runs_the_demo_first_in_a_venv_of_its_own():
    lines = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
             if line.startswith("make ")]
    assert lines[0].startswith("make demo"), lines
    demo_venv = re.search(r"VENV=(\S+)", lines[0]).group(1)
    later_venvs = {re.search(r"VENV=(\S+)", line).group(1) for line in lines[1:]}
    assert demo_venv not in later_venvs
    assert any(line.startswith("make test") for line in lines[1:])


def test_demo_installs_what_its_verify_step_runs():
    """The demo's `fix --verify` runs pytest: the demo's own install must bring it."""
    demo = _make_recipe("demo")
    assert "-m pytest" in demo
    install = _make_recipe("$(VENV)/.installed-demo")
    assert "examples/jobrunner[test]" in install
    example = (ROOT / "examples" / "jobrunner" / "pyproject.toml").read_text()
    assert re.search(r'^test = \[[^\]]*"pytest', example, re.MULTILINE)
