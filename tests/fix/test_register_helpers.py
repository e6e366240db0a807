"""A command module that ends with a library helper adding commands to its own group
(celery's `register_repl(amqp)`, from click-repl) is made lazy when the helper's source,
read from the installed library, only adds the library's own functions as commands of the
group it is given (`fix/_register_helpers`); a helper that does anything else keeps the
module eager, with the line. The programs run in real child interpreters with the library on
PYTHONPATH and print the same before and after `hotstart fix --select cli --write`."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest
from conftest import run_hotstart, write_tree

#: A library beside the project, shaped like click-repl: a package re-exporting its helpers.
LIBRARY = {
    "replkit/__init__.py": """
        from ._repl import register_repl as register_repl
        from ._repl import register_and_track as register_and_track
        from ._repl import register_if as register_if
        """,
    "replkit/_repl.py": '''
        import click

        TRACKED = []


        def repl(old_ctx, prompt="> "):
            """Start an interactive shell."""
            click.echo(f"repl of {old_ctx.parent.info_name} {prompt}")


        def register_repl(group, name="repl"):
            """Register repl() as sub-command *name* of *group*."""
            group.command(name=name)(click.pass_context(repl))


        def register_and_track(group, name="repl"):
            group.command(name=name)(click.pass_context(repl))
            TRACKED.append(group)


        def register_if(group, name="repl"):
            if name:
                group.command(name=name)(click.pass_context(repl))
        ''',
}


def _project(root: pathlib.Path, helper: str) -> pathlib.Path:
    return write_tree(root, {
        "pyproject.toml": '[project]\nname = "tool"\nversion = "0"\n'
                          'dependencies = ["click", "hotstart", "replkit"]\n',
        "tool/__init__.py": "",
        "tool/commands/__init__.py": "",
        "tool/commands/shell.py": f'''
            import click
            from replkit import {helper}


            @click.group()
            def shell():
                """Talk to the broker."""


            @shell.command()
            def ping():
                """Ping it."""
                click.echo("pong")


            {helper}(shell)
            ''',
        "tool/cli.py": '''
            import click

            from tool.commands.shell import shell


            @click.group()
            def cli():
                """The tool."""


            cli.add_command(shell)
            ''',
    })


@pytest.fixture
def library(tmp_path, monkeypatch) -> pathlib.Path:
    lib = write_tree(tmp_path / "lib", LIBRARY)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(lib), os.environ.get("PYTHONPATH", "")) if p))
    return lib


def _run(root: pathlib.Path, *argv: str) -> str:
    code = "import sys; sys.argv[0] = 'tool'; from tool.cli import cli; cli()"
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=root, text=True,
                          capture_output=True, timeout=60, check=False)
    return f"{done.returncode}\n{done.stdout}{done.stderr}"


def _outputs(root: pathlib.Path) -> tuple[str, ...]:
    return (_run(root, "--help"), _run(root, "shell", "--help"), _run(root, "shell", "ping"),
            _run(root, "shell", "repl"))


def test_a_helper_that_only_adds_its_own_command_lets_the_module_be_lazy(tmp_path, library):
    root = _project(tmp_path / "proj", "register_repl")
    before = _outputs(root)
    assert "repl" in before[1] and "repl of shell > " in before[3]
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "made 1 change(s) in 1 file(s)" in done.stdout, done.stdout
    source = (root / "tool" / "cli.py").read_text()
    assert "from tool.commands.shell import shell" not in source
    assert _outputs(root) == before
    # `--help` of the program lists `shell` from the source: neither it nor replkit loads
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; sys.argv[0] = 'tool'\nfrom tool.cli import cli\n"
         "try:\n    cli(['--help'])\nexcept SystemExit:\n    pass\n"
         "print(sorted(m for m in sys.modules if m.startswith(('replkit', 'tool.commands.'))))"],
        cwd=root, text=True, capture_output=True, timeout=60, check=True)
    assert probe.stdout.strip().splitlines()[-1] == "[]", probe.stdout


@pytest.mark.parametrize(("helper", "why"), [
    ("register_and_track", "runs `register_and_track(shell)` when imported (line 16)"),
    ("register_if", "runs `register_if(shell)` when imported (line 16)"),
])
def test_a_helper_that_does_anything_else_keeps_the_module_eager(tmp_path, library, helper,
                                                                  why):
    root = _project(tmp_path / "proj", helper)
    before = _outputs(root)
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    assert f"not made lazy: tool.commands.shell {why}" in done.stdout, done.stdout
    assert "from tool.commands.shell import shell" in (root / "tool" / "cli.py").read_text()
    assert _outputs(root) == before


def test_a_helper_given_another_modules_group_keeps_the_module_eager(tmp_path, library):
    """The group must be one of the command module's own: `register_repl(groups.extra)`
    changes a group other modules see, which a lazy import would change later, or never."""
    root = _project(tmp_path / "proj", "register_repl")
    (root / "tool" / "groups.py").write_text("import click\n\nextra = click.Group('extra')\n")
    shell = root / "tool" / "commands" / "shell.py"
    shell.write_text(shell.read_text().replace(
        "import click\n", "import click\n\nfrom tool import groups\n", 1).replace(
        "register_repl(shell)", "register_repl(groups.extra)"))
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "not made lazy: tool.commands.shell runs `register_repl(groups.extra)` when " \
           "imported (line 18)" in done.stdout, done.stdout
