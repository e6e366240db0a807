"""`hotstart fix --verify` checks `typing.get_type_hints` of every changed module itself (test
suites rarely call it), shows its progress (which change, which bisection step, elapsed), lists
each reverted change once, and never hangs on a command that leaves children behind."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import textwrap
import threading
import time

import pytest
from conftest import run_hotstart

from hotstart.fix import codemods, fix
from hotstart.fix._typehints import HintCheck, compare_hints, interpreter_for
from hotstart.fix.verify import run_command

from ._helpers import make, snapshot
from .test_verify import EAGER_BY_SYS_MODULES, PROJECT

PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider tests"


@pytest.fixture
def quiet_pytest(monkeypatch):
    """Inner pytest runs quick and free of outside plugins (the subprocesses inherit it)."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)


# -- the check itself, on two versions of a module -----------------------------------------------

GOOD = """\
    from collections.abc import Sequence
    from decimal import Decimal
    from typing import Annotated

    MARKER = object()  # its repr holds an address, different in every interpreter


    def total(xs: Sequence[int], unit: Annotated[Decimal, MARKER]) -> Decimal:
        return sum(xs) * unit


    class Basket:
        items: Sequence[Decimal]

        def add(self, item: Decimal) -> None:
            pass

        @staticmethod
        def empty() -> "Basket":
            return Basket()

        @property
        def first(self) -> Decimal:
            return self.items[0]
"""

# What an alias that cannot stand for a subscripted name does (the ForwardRef alias the
# typing-only codemod once wrote): with lazy annotations the module imports, but
# get_type_hints raises; with eager ones it does not import at all.
BAD_TAIL = """\
    from typing import TYPE_CHECKING, ForwardRef

    if TYPE_CHECKING:
        from collections.abc import Sequence
    else:
        Sequence = ForwardRef("__import__('collections.abc', fromlist=['Sequence']).Sequence")
"""


def _module(future: bool, body: str) -> str:
    return ("from __future__ import annotations\n\n" if future else "") + textwrap.dedent(body)


def _bad(future: bool) -> str:
    good = _module(future, GOOD)
    return good.replace("from collections.abc import Sequence\n", textwrap.dedent(BAD_TAIL))


@pytest.mark.parametrize("future", [True, False], ids=["lazy-annotations", "eager"])
def test_hint_check_catches_an_alias_that_breaks_get_type_hints(tmp_path, future):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": ""})
    models = root / "pkg/models.py"
    models.write_text(_module(future, GOOD))
    check = HintCheck(f"{sys.executable} -m pytest", {"pkg.models": str(models)}, 60)

    before = check.take()
    assert before["pkg.models"]["total"] == {
        "xs": "collections.abc.Sequence[int]",
        "unit": "typing.Annotated[decimal.Decimal, <object object at 0x...>]",
        "return": "<class 'decimal.Decimal'>"}
    assert set(before["pkg.models"]) == {"<module>", "total", "Basket", "Basket.add",
                                         "Basket.empty", "Basket.first"}
    assert compare_hints(before, check.take()).ok  # addresses masked: the same

    models.write_text(_bad(future))
    outcome = compare_hints(before, check.take())

    assert not outcome.ok
    if future:
        assert "pkg.models.total: " in outcome.output
        assert "raises TypeError: 'ForwardRef' object is not subscriptable" in outcome.output
        assert "pkg.models.Basket: " in outcome.output
    else:
        assert "pkg.models: no longer imports: TypeError: 'ForwardRef' object is not " \
               "subscriptable" in outcome.output


def test_hint_check_skips_a_module_that_does_not_import_before(tmp_path):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "",
                                    "pkg/broken.py": "import not_installed_anywhere\n"})
    check = HintCheck(sys.executable, {"pkg.broken": str(root / "pkg/broken.py")}, 60)
    before = check.take()
    assert before["pkg.broken"]["<import>"].startswith("!ModuleNotFoundError")
    assert compare_hints(before, check.take()).ok


@pytest.mark.parametrize("command, prefix", [
    ("PYTHONPATH=src python -m pytest -q", ["PYTHONPATH=src", "python"]),
    ("/opt/venv/bin/python3.12 -m pytest tests", ["/opt/venv/bin/python3.12"]),
    ("uv run pytest -q", ["uv", "run", "python"]),
    ("cd sub && env A=1 python3 -m unittest", ["env", "A=1", "python3"]),
    ("make test", [sys.executable]),
    ("tox -e 'py311", [sys.executable]),  # unbalanced quote
])
def test_interpreter_of_the_verify_command(command, prefix):
    assert interpreter_for(command) == prefix


def test_interpreter_of_a_pytest_script_is_its_shebang(tmp_path, monkeypatch):
    script = tmp_path / "bin" / "pytest"
    script.parent.mkdir()
    script.write_text(f"#!{sys.executable}\nimport pytest\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    assert shutil.which("pytest") == str(script)
    assert interpreter_for("pytest -q") == [sys.executable]


# -- end to end: a change the tests cannot see ---------------------------------------------------

TYPED = {
    "pkg/__init__.py": "",
    "pkg/prices.py": """\
        from __future__ import annotations

        from decimal import Decimal


        def price(amount: Decimal) -> int:
            return int(amount)
    """,
    "pkg/shapes.py": """\
        from __future__ import annotations

        from fractions import Fraction


        def ratio(value: Fraction) -> float:
            return float(value)
    """,
    "tests/test_pkg.py": """\
        from decimal import Decimal
        from fractions import Fraction

        from pkg.prices import price
        from pkg.shapes import ratio


        def test_price():
            assert price(Decimal("2.5")) == 2


        def test_ratio():
            assert ratio(Fraction(1, 2)) == 0.5
    """,
}

# A hand-made bad rewrite of pkg/prices.py: a runtime alias that resolves to the wrong class.
# The project's tests pass with it; only get_type_hints shows it.
WRONG_ALIAS = """\
from __future__ import annotations

from typing import TYPE_CHECKING, ForwardRef

if TYPE_CHECKING:
    from decimal import Decimal
else:
    Decimal = ForwardRef("__import__('fractions', fromlist=['Fraction']).Fraction")


def price(amount: Decimal) -> int:
    return int(amount)
"""


def test_verify_reverts_a_change_that_only_get_type_hints_sees(tmp_path, monkeypatch,
                                                               quiet_pytest):
    root = make(tmp_path / "proj", TYPED)
    monkeypatch.chdir(root)
    original = snapshot(root)
    real_rewrite = codemods.rewrite

    def rewrite(source, changes, **options):
        if any(c.site.file.endswith("prices.py") for c in changes):
            return codemods.FileResult(WRONG_ALIAS, None, [])
        return real_rewrite(source, changes, **options)

    monkeypatch.setattr(codemods, "rewrite", rewrite)
    assert run_command(PYTEST).ok and "2 passed" in run_command(PYTEST).output

    result = fix(str(root / "pkg"), write=True, verify=PYTEST, include_all=True)

    assert [c.site.file.rsplit("/", 1)[-1] for c in result.reverted] == ["prices.py"]
    assert [c.site.file.rsplit("/", 1)[-1] for c in result.changes] == ["shapes.py"]
    tail = result.verification.reverted[0][1]
    assert "typing.get_type_hints changed" in tail
    assert "pkg.prices.price: " in tail and "decimal.Decimal" in tail
    assert "fractions.Fraction" in tail
    assert (root / "pkg/prices.py").read_bytes() == original["pkg/prices.py"]
    assert "TYPE_CHECKING" in (root / "pkg/shapes.py").read_text()  # the good one is kept


# -- progress and the summary ---------------------------------------------------------------------

TWO_NAMES = {
    "pkg/__init__.py": "",
    "pkg/dep.py": "class A:\n    pass\n\n\nclass B:\n    pass\n",
    "pkg/mod.py": """\
        from __future__ import annotations

        from pkg.dep import A, B


        def make(a: A) -> None:
            return B()
    """,
    "tests/test_mod.py": """\
        import pkg.dep
        import pkg.mod


        def test_names_bound():
            assert vars(pkg.mod)["A"] is pkg.dep.A
            assert vars(pkg.mod)["B"] is pkg.dep.B
    """,
}


def test_verify_prints_progress_and_lists_each_reverted_change_once(tmp_path, quiet_pytest):
    root = make(tmp_path / "proj", {**PROJECT, "tests/test_pkg.py": EAGER_BY_SYS_MODULES})

    done = run_hotstart("fix", str(root), "--verify", PYTEST, cwd=root)

    assert done.returncode == 0, done.stderr
    steps = [line for line in done.stderr.splitlines() if line.startswith("hotstart: verify: ")]
    runs = int(done.stdout.split(" run(s) in all")[0].rsplit(" ", 1)[1])
    assert [line.split(",")[0] for line in steps] == [f"hotstart: verify: run {n}"
                                                      for n in range(1, runs + 1)]
    assert all(line.endswith(" elapsed]") for line in steps)
    assert "on the original files" in steps[0] and "all 4 change(s)" in steps[1]
    assert any("bisection step 1 of ~2: trying 2 change(s): " in line for line in steps)
    assert any("bisection step 2 of ~2: trying 1 change(s): " in line for line in steps)
    assert "the 3 change(s) kept (1 reverted; tests, type hints)" in steps[-1]
    assert done.stdout.count("loader.py:1 import yaml") == 1


def test_a_statement_of_two_reverted_changes_is_listed_once(tmp_path, quiet_pytest):
    root = make(tmp_path / "proj", TWO_NAMES)

    done = run_hotstart("fix", str(root / "pkg"), "--all", "--verify", PYTEST, cwd=root)

    assert done.returncode == 0, done.stderr
    statement = "pkg/mod.py:3 from pkg.dep import A, B"
    assert done.stdout.count(statement) == 1
    assert f"reverted 2 change(s) that broke it:\n    {root}/{statement}  (2 changes: " \
           in done.stdout
    trials = [line for line in done.stderr.splitlines() if "trying 1 change(s)" in line]
    assert len(trials) == 2 and len({t.split(": trying")[1] for t in trials}) == 2


# -- never a hang ---------------------------------------------------------------------------------

def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_timeout_kills_the_commands_children_too(tmp_path):
    """A test runner's children must not outlive a timed-out run (nor hang its wait)."""
    pidfile = tmp_path / "child.pid"
    child = f"import os, time; open({str(pidfile)!r}, 'w').write(str(os.getpid())); " \
            f"time.sleep(600)"
    command = f"{sys.executable} -c \"{child}\" | cat"
    box = []
    waiter = threading.Thread(target=lambda: box.append(run_command(command, timeout=3)),
                              daemon=True)
    waiter.start()
    waiter.join(120)  # a hang is 600 s
    pid = int(pidfile.read_text())
    try:
        assert box and box[0].timed_out and not box[0].ok
        for _ in range(100):  # SIGKILL is not instant: up to 10 s
            if not _alive(pid):
                break
            time.sleep(0.1)
        assert not _alive(pid)
    finally:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
