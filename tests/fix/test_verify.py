"""`hotstart fix --verify`: the project's own tests run on the rewritten code, a change that
breaks them (in a way the audit cannot see) is found by bisection and reverted, the others
are kept; and `find_culprits` itself, with pure functions."""

from __future__ import annotations

import sys

import pytest

from hotstart.errors import HotstartError
from hotstart.fix import fix
from hotstart.fix.codemods import MARK
from hotstart.fix.verify import CommandResult, find_culprits

from ._helpers import make, snapshot

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider tests"

PROJECT = {
    # a package re-export: lazy __getattr__ and an __init__.pyi
    "pkg/__init__.py": "from .calc import compute\n",
    "pkg/calc.py": """\
        import numpy as np


        def compute():
            return float(np.ones(2).sum())
    """,
    # the one the tests depend on being eager
    "pkg/loader.py": """\
        import yaml


        def load(text):
            return yaml.safe_load(text)
    """,
    "pkg/unused.py": """\
        from yaml import dump


        def one():
            return 1
    """,
}

EAGER_BY_SYS_MODULES = """\
    import sys


    def test_compute():
        import pkg
        assert pkg.compute() == 2.0


    def test_loader_imports_yaml_eagerly():
        import pkg.loader
        assert "yaml" in sys.modules  # the audit cannot see this
        assert pkg.loader.load("a: 1") == {"a": 1}


    def test_unused():
        import pkg.unused
        assert pkg.unused.one() == 1
"""

EAGER_BY_VARS = """\
    import pkg.loader


    def test_loader_binds_yaml():
        assert vars(pkg.loader)["yaml"].__name__ == "yaml"  # the audit cannot see this


    def test_compute():
        import pkg
        assert pkg.compute() == 2.0
"""


@pytest.fixture
def verified_project(tmp_path, monkeypatch):
    """A factory: the project with `tests/test_pkg.py`, as the current directory, with the
    inner pytest runs kept quick and free of outside plugins."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)

    def build(test_source: str):
        root = make(tmp_path / "proj", {**PROJECT, "tests/test_pkg.py": test_source})
        monkeypatch.chdir(root)
        return root

    return build


def _loader_change(changes):
    return [c.id for c in changes if c.site.file.endswith("loader.py")]


def test_verify_reverts_only_the_breaking_change(verified_project):
    root = verified_project(EAGER_BY_SYS_MODULES)
    original = snapshot(root)
    result = fix(str(root), write=True, verify=PYTEST)

    assert [c.id for c in result.reverted] == [f"{root / 'pkg/loader.py'}:1 import yaml"]
    kept = sorted(c.action for c in result.changes)
    assert kept == ["lazy-init", "move", "remove"]
    assert _loader_change(result.changes) == []
    total = len(result.changes) + len(result.reverted)
    verification = result.verification
    assert verification is not None and verification.final.ok and verification.baseline.ok
    assert verification.runs < 2 * total + 3
    assert [cid for cid, _ in verification.reverted] == [c.id for c in result.reverted]
    assert "test_loader_imports_yaml_eagerly" in verification.reverted[0][1]
    assert result.written

    # on disk: the breaking file as it was, the others rewritten
    assert (root / "pkg/loader.py").read_bytes() == original["pkg/loader.py"]
    assert f"    {MARK}\n    import numpy as np\n" in (root / "pkg/calc.py").read_text()
    assert "dump" not in (root / "pkg/unused.py").read_text()
    assert "def __getattr__" in (root / "pkg/__init__.py").read_text()
    assert "from .calc import compute as compute" in (root / "pkg/__init__.pyi").read_text()
    assert {f.path for f in result.files} == {str(root / "pkg" / n) for n in
                                              ("__init__.py", "calc.py", "unused.py")}


def test_verify_without_write_restores_every_file(verified_project):
    root = verified_project(EAGER_BY_VARS)
    calc = root / "pkg/calc.py"  # CRLF line endings must come back as they were, too
    calc.write_bytes(calc.read_bytes().replace(b"\n", b"\r\n"))
    original = snapshot(root)
    result = fix(str(root), verify=PYTEST)

    assert len(result.reverted) == 1 and _loader_change(result.reverted)
    assert len(result.changes) == 3 and not result.written
    assert result.verification.runs < 2 * 4 + 3
    # the diff still shows what was kept
    assert "+++ b/" in result.diff() and "loader.py" not in result.diff()
    assert snapshot(root) == original
    assert not (root / "pkg/__init__.pyi").exists()
    assert not list(root.rglob("*.hotstart-tmp"))


def test_verify_command_failing_before_any_change(verified_project):
    root = verified_project(EAGER_BY_SYS_MODULES)
    original = snapshot(root)
    command = f'{sys.executable} -c "raise SystemExit(3)"'
    with pytest.raises(HotstartError, match="fails before any change") as caught:
        fix(str(root), write=True, verify=command)
    assert "exit 3" in str(caught.value)
    assert snapshot(root) == original


# -- find_culprits: adaptive group testing, with pure functions ---------------------------------

class Recorder:
    """`test(subset)` for `find_culprits`: fails when `broken(subset)`; records each call."""

    def __init__(self, broken):
        self.broken = broken
        self.calls: list[list[str]] = []

    def __call__(self, subset):
        self.calls.append(list(subset))
        bad = self.broken(set(subset))
        return CommandResult(not bad, 1 if bad else 0, f"run {len(self.calls)}")


CHANGES = [f"c{i}" for i in range(8)]


def test_no_culprit_costs_one_run():
    test = Recorder(lambda applied: False)
    assert find_culprits(CHANGES, test) == []
    assert test.calls == [CHANGES]


def test_single_culprit():
    test = Recorder(lambda applied: "c5" in applied)
    found = find_culprits(CHANGES, test)
    assert [c for c, _ in found] == ["c5"]
    assert not found[0][1].ok
    assert len(test.calls) <= 2 * 3 + 1  # about 2 log2(n)


def test_two_culprits():
    test = Recorder(lambda applied: bool({"c1", "c6"} & applied))
    found = find_culprits(CHANGES, test)
    assert [c for c, _ in found] == ["c1", "c6"]
    assert all(not result.ok for _, result in found)
    rest = [c for c in CHANGES if c not in ("c1", "c6")]
    assert not test.broken(set(rest))


@pytest.mark.parametrize("pair", [("c0", "c1"), ("c2", "c5"), ("c0", "c7")])
def test_interaction_blames_one_of_the_pair(pair):
    test = Recorder(lambda applied: set(pair) <= applied)
    found = [c for c, _ in find_culprits(CHANGES, test)]
    assert len(found) == 1 and found[0] in pair
    rest = [c for c in CHANGES if c not in found]
    assert test(rest).ok  # the rest passes together


def test_flaky_failure_blames_nothing():
    first = []

    def broken(applied):
        first.append(1)
        return len(first) == 1  # only the first run fails

    assert find_culprits(CHANGES, Recorder(broken)) == []


def test_no_changes_blames_nothing():
    test = Recorder(lambda applied: True)  # fails even with nothing applied: flaky
    assert find_culprits([], test) == []
