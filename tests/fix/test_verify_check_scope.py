"""`fix --verify` takes a program codemod's check (the help of every path, one program start
each) only on the trials that can change what it compares: those with one of its changes,
or an import change in a module its program can import (read from the sources; when they
import dynamically, every trial). Culprits are looked for one check at a time, the tests
first, so the tests' bisection does not print every help again. The progress line says
which checks run. Real project, real child interpreters."""

from __future__ import annotations

import sys

from hotstart.audit import audit
from hotstart.fix import fix
from hotstart.fix._check_scope import check_scope
from hotstart.fix._subcommands import plan

from .test_subcommands_click import click_project  # noqa: F401  (the fixture)

# fails once the dead import of tool/unused.py is removed: bisection has to find it
COMMAND = (f"{sys.executable} -c \"import sys; "
           f"sys.exit('import json' not in open('tool/unused.py').read())\"")


def test_the_help_check_runs_only_where_it_can_see_the_change(click_project, monkeypatch):  # noqa: F811
    root = click_project
    (root / "tool" / "unused.py").write_text("import json  # dead, and no command imports it\n")
    heavy = root / "tool" / "heavy.py"
    heavy.write_text("import csv  # dead: the commands import this module\n" + heavy.read_text())
    monkeypatch.chdir(root)
    said: list[str] = []

    result = fix(str(root), select=("cli", "dead"), verify=COMMAND, progress=said.append)

    assert [c.site.file.rpartition("/")[2] for c in result.reverted] == ["unused.py"]
    assert sorted({c.action for c in result.changes}) == ["lazy-subcommand", "remove"]
    assert result.verification.final.ok and result.verification.hints_unchecked == []
    runs = [line for line in said if line.startswith("verify: run ")]
    assert runs[1].endswith("change(s) (tests, type hints, help output)")  # all
    alone = [line for line in runs if "trying 1 change(s): " in line and "unused.py" in line]
    assert alone and all(line.endswith(" (tests, type hints)") for line in alone)
    # the tests find their culprit alone: no bisection step prints the help again
    steps = [line for line in runs if "bisection step" in line]
    assert steps and all(line.endswith(" (tests, type hints)") for line in steps)
    # then the help, once, on the changes the tests kept (they can change it), and the end
    helps = [line for line in runs if line.endswith("(help output)")]
    kept = len(result.changes)
    assert len(helps) == 1 and f"all {kept} change(s) (help output)" in helps[0], runs
    assert f"all {kept + 1} change(s) (tests, type hints, help output)" in runs[1]
    assert runs[-1].endswith("reverted; tests, type hints, help output)")


def test_the_scope_is_what_the_program_can_import(click_project):  # noqa: F811
    root = click_project
    (root / "tool" / "unused.py").write_text("import json\n")
    report = audit(str(root), run=False)
    changes, _ = plan(report, report.paths, str(root), runtime="hotstart")
    scope = check_scope(report, changes)
    assert {"tool", "tool.cli", "tool.commands.build", "tool.heavy"} <= scope
    assert "tool.unused" not in scope

    # an import no statement names: the scope is not known, the check runs on every trial
    (root / "tool" / "heavy.py").write_text(
        "import importlib\n\nPLUGIN = importlib.import_module('tool.unused')\n")
    report = audit(str(root), run=False)
    changes, _ = plan(report, report.paths, str(root), runtime="hotstart")
    assert check_scope(report, changes) is None
