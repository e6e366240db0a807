"""`HelpCheck` runs each state of the project's files once: a take on files whose content it
has seen returns that take's snapshot (fix writes the kept changes again at the end, often
the same files as a trial, or the original ones); any other change runs every help path
again. Counted by the real program, which logs each run outside the project."""

from __future__ import annotations

import sys

from hotstart.fix import _subcommands

from .test_subcommands_click import PYPROJECT, command_module, plan, rewrite_file, write

CLI = '''
import os

import click

from tool.commands.build import build
from tool.commands.serve import serve

with open(os.environ["RUNS_LOG"], "a") as log:  # one line per run of the program
    log.write("run\\n")


@click.group()
def cli():
    """The tool."""


cli.add_command(build)
cli.add_command(serve)
'''


def runs(log) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _two_command_project(tmp_path, extra: dict | None = None):
    """A click CLI `tool` with the commands build and serve, written under tmp_path/proj."""
    files = {"tool/__init__.py": "", "tool/heavy.py": "LOADED = True\n",
             "tool/commands/__init__.py": "", "tool/cli.py": CLI,
             "tool/commands/build.py": command_module("build"),
             "tool/commands/serve.py": command_module("serve"),
             "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli"),
             **(extra or {})}
    return write(tmp_path / "proj", files)


def test_a_state_already_taken_is_not_run_again(tmp_path, monkeypatch):
    log = tmp_path / "runs.log"
    monkeypatch.setenv("RUNS_LOG", str(log))
    root = _two_command_project(tmp_path)
    changes, _skipped = plan(root)
    assert len(changes) == 2
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    paths = len(check.runs)
    assert paths == 4  # --help, the unknown command, build --help, serve --help

    before = check.take()
    assert runs(log) == paths
    assert check.take() == before and runs(log) == paths  # the same files: not run again

    cli = root / "tool" / "cli.py"
    original = cli.read_text()
    rewrite_file(cli, changes)
    after = check.take()
    assert runs(log) == 2 * paths  # new content: every path runs
    assert check.compare(before, after).ok
    assert check.take() == after and runs(log) == 2 * paths

    cli.write_text(original)  # the original content again (a new modification time)
    assert check.take() == before and runs(log) == 2 * paths
    (root / "tool" / "data.txt").write_text("read by nobody, but new")
    assert check.take() == before and runs(log) == 3 * paths  # any other file: run again


def test_the_project_folder_does_not_shadow_the_standard_library(tmp_path, monkeypatch):
    """fix given a package folder (`fix huggingface_hub`) runs the helps there: its modules
    named like the standard library's (`huggingface_hub/dataclasses.py`) must not be
    imported in their place."""
    monkeypatch.setenv("RUNS_LOG", str(tmp_path / "runs.log"))
    root = _two_command_project(
        tmp_path, {"tool/json.py": "raise ImportError('the wrong json')\n"})
    changes, _skipped = plan(root)
    check = _subcommands.HelpCheck(str(root / "tool"), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict)
    program = next(v for k, v in before.items() if k[1] == '["--help"]')
    assert program[0] == 0 and program[1].startswith(b"Usage: tool [OPTIONS]"), program
