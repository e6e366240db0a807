"""The program codemods run inside `hotstart fix`'s pipeline: selected by default, each
change a group of its own (kept or reverted on its own; lazy CLI registrations whose command
imports share a statement go together, priced by what leaves), rendered with its select
name, and `--verify` takes the codemod's own equivalence check before the rewrite and after
each trial (here the caller-name check: the names the helper returns in a real run)."""

from __future__ import annotations

import sys

from hotstart.fix import fix
from hotstart.render.fix import render_fix

from ._helpers import run_python
from .test_joint_plan import _project

FILES = {
    "app/__init__.py": "from app.log import get_logger\n\nlog = get_logger()\n",
    "app/jobs.py": "from app.log import get_logger\n\nlog = get_logger()\n",
    "app/log.py": ("import inspect\nimport logging\n\n\ndef get_logger():\n"
                   "    caller = inspect.stack()[1]\n"
                   "    return logging.getLogger(caller.frame.f_globals[\"__name__\"])\n"),
}
ENTRY = "-c 'import app.jobs'"
NAMES = "import app.jobs; print(app.log.name, app.jobs.log.name)"


def test_a_caller_name_change_goes_through_plan_verify_and_write(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch, FILES)
    command = f"{sys.executable} -c 'import app.jobs'"
    result = fix("app", entries=[ENTRY], write=True, runs=1, verify=command)
    change, removal = result.changes
    assert (change.action, change.site.klass) == ("caller-name", "hot-calls")
    # `import inspect` loses its last use with the rewrite: removed with it, in its group
    assert (removal.action, removal.site.statement) == ("remove", "import inspect")
    assert removal.description == "removed: its last use goes with the hot-calls rewrite"
    assert [g.changes for g in result.groups] == [[change, removal]]
    # baseline, all changes, the kept set: the caller-name check ran on each (no failure)
    assert result.verification.runs == 3 and result.verification.reverted == []
    source = (root / "app/log.py").read_text()
    assert "sys._getframe(1)" in source and "inspect" not in source
    assert run_python(root, NAMES).split() == ["app", "app.jobs"]
    assert "    app/log.py:6  hot-calls   caller = inspect.stack()[1]: names the caller with " \
           "sys._getframe(1)" in render_fix(result)
    assert "\n  together, 2 changes  [saves " in render_fix(result)
    again = fix("app", entries=[ENTRY], write=True, runs=1)  # one run reaches the fixed point
    assert again.changes == [] and again.files == []


def test_without_the_hot_calls_select_nothing_of_it_is_planned(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, FILES)
    result = fix("app", entries=[ENTRY], runs=1, select=("dead", "deferrable"))
    assert [c for c in result.changes if c.site.klass == "hot-calls"] == []


def test_the_cli_default_select_is_every_selectable_class():
    from hotstart.cli.fix import _SELECT
    from hotstart.fix.plan import SELECTABLE

    assert _SELECT == ",".join(SELECTABLE)


#: A click program: `report` pulls a library of its own (`heavylib`), `sync` one it shares
#: with a function of the program (used at run time: its import stays), and `tools.py` binds
#: two commands in one statement (it leaves only when both registrations go).
CLI = {
    "heavylib/__init__.py": "import heavylib.core\n",
    "heavylib/core.py": "import colorsys\nimport quopri\nVALUE = 1\n",
    "sharedlib/__init__.py": "import sharedlib.core\n",
    "sharedlib/core.py": "VALUE = 2\n",
    "tool/__init__.py": "",
    "tool/report.py": "import click\nimport heavylib\n\n\n@click.command()\ndef report():\n"
                      "    \"\"\"Print a report.\"\"\"\n    click.echo(heavylib.core.VALUE)\n",
    "tool/sync.py": "import click\nimport sharedlib\n\n\n@click.command()\ndef sync():\n"
                    "    \"\"\"Sync.\"\"\"\n    click.echo(sharedlib.core.VALUE)\n",
    "tool/tools.py": "import click\nimport statistics\n\n\n@click.command()\ndef lint():\n"
                     "    \"\"\"Lint.\"\"\"\n    click.echo(statistics.mean([1, 2]))\n\n\n"
                     "@click.command()\ndef fmt():\n    \"\"\"Format.\"\"\"\n",
    "tool/cli.py": ("import click\n\nfrom tool.report import report\nfrom tool.sync import "
                    "sync\nfrom tool.tools import fmt, lint\n\n\n@click.group()\ndef cli():\n"
                    "    \"\"\"The tool.\"\"\"\n\n\ndef helper():\n    return sync.name\n\n\n"
                    "cli.add_command(report)\ncli.add_command(sync)\ncli.add_command(lint)\n"
                    "cli.add_command(fmt)\n"),
}


def test_lazy_registrations_are_priced_by_the_command_modules_that_leave(tmp_path,
                                                                         monkeypatch):
    """Each lazy registration is priced by what its command module's import takes off the
    path (after the import groups), the registrations of one statement together, and the
    re-profile finds every predicted module gone; a command whose name a function reads
    keeps its import, so nothing is predicted for it."""
    entry = "-c 'import sys; sys.argv[1:] = [\"--help\"]; from tool.cli import cli; cli()'"
    _project(tmp_path, monkeypatch, CLI)
    result = fix("tool", entries=[entry], select=["cli"], runtime="hotstart", write=True,
                 runs=1)
    by_name = {tuple(sorted(c.site.data["binding"] for c in g.changes)): g
               for g in result.groups}
    assert sorted(by_name) == [("fmt", "lint"), ("report",), ("sync",)]
    assert set(by_name[("report",)].leaving[entry]) >= {
        "tool.report", "heavylib", "heavylib.core", "colorsys", "quopri"}
    assert set(by_name[("fmt", "lint")].leaving[entry]) >= {"tool.tools", "statistics"}
    assert by_name[("sync",)].leaving == {} and by_name[("sync",)].savings == []
    for group in by_name.values():
        assert group.still_loaded.get(entry, []) == [], group.still_loaded
    assert result.remeasure_reverted == []
    text = render_fix(result)
    assert "together, 2 changes take tool.tools" in text, text
    assert f"predicted on {entry}:" in text


def test_a_lazy_registration_the_entry_runs_measures_nothing_and_is_reverted(tmp_path,
                                                                              monkeypatch):
    """On an entry that runs `report`, its command module loads anyway: the re-profile finds
    every module predicted for it still loaded, and that registration (only) goes back to
    eager, as an import group that measured nothing does."""
    entry = ("-c 'import sys; sys.argv[1:] = [\"report\"]; from tool.cli import cli\n"
             "try:\n    cli()\nexcept SystemExit:\n    pass'")
    root = _project(tmp_path, monkeypatch, CLI)
    result = fix("tool", entries=[entry], select=["cli"], runtime="hotstart", write=True,
                 runs=1)
    reverted = [c.site.data["binding"] for g in result.remeasure_reverted for c in g.changes]
    assert reverted == ["report"], render_fix(result)
    source = (root / "tool" / "cli.py").read_text()
    assert "from tool.report import report" in source
    assert "from tool.tools import fmt, lint" not in source  # still lazy
    assert "reverted after re-profiling: tool/cli.py" in render_fix(result)
