"""The `cli` codemod and a project's command class whose ``__init__`` only adds parameters
after passing everything to click's (celery's `CeleryDaemonCommand`): its listing is
click's, so its commands are made lazy; one that also sets a listed value is refused. With
celery's group callback, which extends a command's parameters when it runs (the import
moves into it). On a real click program run in child interpreters before and after."""

from __future__ import annotations

import sys

from hotstart.fix import _subcommands

from .test_subcommands_click import PYPROJECT, plan, rewrite_file, run_program, write

FILES = {
    "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli"),
    "tool/__init__.py": "",
    "tool/base.py": '''
        import click


        class DaemonCommand(click.Command):
            """Daemon commands."""

            def __init__(self, *args, **kwargs):
                """Add the daemon options."""
                super().__init__(*args, **kwargs)
                self.params.extend((
                    click.Option(["--logfile"], help="Log destination."),
                    click.Option(["--pidfile"], help="PID file path."),
                ))


        class Retitled(click.Command):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                self.params.append(click.Option(["--x"]))
                self.short_help = "Another text."
    ''',
    "tool/worker.py": '''
        import click

        from tool.base import DaemonCommand


        @click.command(cls=DaemonCommand)
        @click.option("--concurrency", default=1, help="How many.")
        def worker(concurrency, logfile, pidfile, **extra):
            """Start a worker."""
            click.echo(f"worker {concurrency} {logfile} {sorted(extra)}")
    ''',
    "tool/beat.py": '''
        import click

        from tool.base import Retitled


        @click.command(cls=Retitled)
        def beat(x):
            """Start the beat."""
    ''',
    "tool/cli.py": '''
        import click

        from tool.beat import beat
        from tool.worker import worker


        @click.group()
        @click.pass_context
        def cli(ctx):
            """The tool."""
            worker.params.append(click.Option(["--user-option"], help="The user's."))


        cli.add_command(worker)
        cli.add_command(beat)
    ''',
}
PROGRAM = "from tool.cli import cli; cli()"


def test_command_class_that_only_adds_parameters(tmp_path):
    root = write(tmp_path / "proj", FILES)
    changes, skipped = plan(root)
    assert [c.description for c in changes] == [
        ("`worker` registered lazily (tool.worker:worker imported when used; its import "
        "moved into cli())")]
    assert [s.why for s in skipped] == [
        ("not made lazy: cls=Retitled in tool.beat.beat's decorator: tool.base.Retitled "
        "defines __init__, which the parent's listing may read")]
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict) and len(before) == 3
    worker_help = next(v for k, v in before.items() if k[1] == '["worker", "--help"]')
    assert b"--logfile" in worker_help[1] and b"--user-option" in worker_help[1]
    argv = ("worker", "--concurrency", "3", "--logfile", "l", "--user-option", "u")
    run = run_program(root, PROGRAM, *argv)
    assert run[:2] == (0, "worker 3 l ['user_option']\n")

    new = rewrite_file(root / "tool" / "cli.py", changes)
    assert "from tool.worker import worker\n    worker.params.append(" in new
    result = check.compare(before, check.take())
    assert result.ok, result.output
    assert run_program(root, PROGRAM, *argv)[:3] == run[:3]
    assert "tool.worker" not in run_program(root, PROGRAM, "--help")[3]
    assert plan(root)[0] == []
