"""The `cli` codemod on click and typer programs (`fix/_subcommands`), in real projects and
real child interpreters: planned from the audit, rewritten, checked by `HelpCheck` (the
program's and every subcommand's help, byte for byte), run before and after."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from hotstart.audit import audit
from hotstart.fix import _subcommands
from hotstart.fix._subcommands_click import UNKNOWN

PYPROJECT = """
[project]
name = "{name}"
version = "1.0"
dependencies = ["click", "typer", "hotstart>=0.1"]

[project.scripts]
{name} = "{target}"
"""
HEAVY = "# stands in for a library that costs time to import\nLOADED = True\n"
COMMANDS = ("build", "serve", "clean_cmd", "deploy", "lint", "test_all")


def command_module(name: str) -> str:
    return textwrap.dedent(f'''
        import click

        from tool import heavy


        @click.command()
        @click.option("--fast", is_flag=True, help="Go fast.")
        def {name}(fast):
            """Do {name} things.

            A longer explanation of {name} that goes on
            for a while.
            """
            {name} = "{name}"  # a local of the command's name: not a second binding
            click.echo(f"{{{name}}} fast={{fast}} heavy={{heavy.LOADED}}")
    ''')


CLICK_CLI = '''
"""The tool's command line."""
import click

from tool.commands import deploy
from tool.commands.build import build
from tool.commands.clean_cmd import clean_cmd
from tool.commands.lint import lint
from tool.commands.serve import serve
from tool.commands.test_all import test_all


@click.group()
def cli():
    """The tool."""


cli.add_command(build)
cli.add_command(serve, "run")
cli.add_command(clean_cmd)
cli.add_command(deploy.deploy)
cli.add_command(lint)
cli.add_command(test_all)
'''

TYPER_FILES = {
    "pyproject.toml": PYPROJECT.format(name="app", target="app.main:app"),
    "app/__init__.py": "",
    "app/heavy.py": HEAVY,
    "app/subs/__init__.py": "",
    "app/subs/users.py": '''
        import typer

        from app import heavy

        app = typer.Typer(help="Manage users.", no_args_is_help=True)


        @app.command()
        def create(name: str, admin: bool = False):
            """Create a user."""
            print(f"created {name} admin={admin} {heavy.LOADED}")
    ''',
    "app/subs/items.py": '''
        import typer

        from app import heavy

        app = typer.Typer()


        @app.callback()
        def main():
            """Work with items.

            Items are things.
            """


        @app.command("list")
        def list_items():
            """List the items."""
            print("items", heavy.LOADED)
    ''',
    "app/subs/jobs.py": '''
        import typer

        from app import heavy

        app = typer.Typer(deprecated=True, short_help="Jobs (old).")


        @app.command()
        def run(job: str):
            """Run a job."""
            print("ran", job, heavy.LOADED)
    ''',
    "app/subs/admin.py": '''
        import typer

        from app import heavy

        app = typer.Typer(help="Administer the system.")


        @app.command()
        def reset():
            """Reset everything."""
            print("reset", heavy.LOADED)
    ''',
    "app/main.py": '''
        import typer

        from app.subs import admin, items, jobs, users

        app = typer.Typer()
        app.add_typer(users.app, name="users")
        app.add_typer(items.app, name="items")
        app.add_typer(jobs.app, name="jobs")
        app.add_typer(admin.app, name="admin", rich_help_panel="Admin")


        @app.command()
        def version():
            """Show the version."""
            print("1.0")
    ''',
}


def clean_name() -> str:
    """The name the installed click derives from `clean_cmd` (8.2 drops `_cmd`)."""
    import click

    def clean_cmd():
        return None

    return click.command()(clean_cmd).name


def write(base, files: dict[str, str]):
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return base


def plan(root):
    report = audit(str(root), run=False)
    return _subcommands.plan(report, report.paths, str(root))


def rewrite_file(path, changes) -> str:
    source = path.read_text()
    new, failed = _subcommands.rewrite(source, changes)
    assert failed == []
    path.write_text(new)
    return new


def run_program(root, code: str, *argv: str) -> tuple[int, str, str, list[str]]:
    """Run `code` (which calls the program) with argv; (exit code, stdout, stderr, project
    modules loaded)."""
    script = (f"import json, sys; sys.argv = ['prog', *{list(argv)!r}]\n"
              f"try:\n    {code}\nexcept SystemExit as exit:\n    code = exit.code\n"
              f"else:\n    code = 0\n"
              f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
              f"('tool', 'app'))), file=sys.stderr)\nsys.exit(code)\n")
    env = {**os.environ, "COLUMNS": "80", "TERM": "dumb", "NO_COLOR": "1",
           "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env,
                          capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, check=False)
    *err, modules = done.stderr.rstrip("\n").split("\n")
    return done.returncode, done.stdout, "\n".join(err), json.loads(modules)


@pytest.fixture
def click_project(tmp_path):
    files = {"tool/__init__.py": "", "tool/heavy.py": HEAVY, "tool/commands/__init__.py": "",
             "tool/cli.py": CLICK_CLI,
             "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli")}
    files.update({f"tool/commands/{name}.py": command_module(name) for name in COMMANDS})
    return write(tmp_path / "proj", files)


def test_click_group_made_lazy_help_identical(click_project):
    root = click_project
    changes, skipped = plan(root)
    assert skipped == []
    assert sorted(c.site.line for c in changes) == [17, 18, 19, 20, 21, 22]
    assert {c.action for c in changes} == {"lazy-subcommand"}
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict)
    paths = {tuple(json.loads(argv)) for _invoke, argv in before}
    # clean_cmd is `clean` from click 8.2 on, `clean-cmd` before: both are compared
    assert paths == {("--help",), ("build", "--help"), ("run", "--help"), ("clean", "--help"),
                     ("clean-cmd", "--help"), ("deploy", "--help"), ("lint", "--help"),
                     ("test-all", "--help"), (UNKNOWN,)}
    program = next(v for k, v in before.items() if json.loads(k[1]) == ["--help"])
    assert program[1].startswith(b"Usage: tool [OPTIONS]")  # the console script's name
    unknown = next(v for k, v in before.items() if json.loads(k[1]) == [UNKNOWN])
    assert unknown[0] == 2 and b"No such command" in unknown[2]
    runs = {name: run_program(root, "from tool.cli import cli; cli()", name, "--fast")
            for name in ("build", "run", clean_name(), "deploy", "lint", "test-all")}

    new = rewrite_file(root / "tool" / "cli.py", changes)
    assert "from tool.commands" not in new
    assert "from hotstart.lazy.cli import lazy_command\n" in new
    result = check.compare(before, check.take())
    assert result.ok, result.output

    code, out, _err, loaded = run_program(root, "from tool.cli import cli; cli()", "--help")
    assert code == 0 and re.search(r"\n  test-all +Do test_all things\.\n", out)
    assert loaded == ["tool", "tool.cli"]
    for name, (code, out, err, loaded) in runs.items():
        after = run_program(root, "from tool.cli import cli; cli()", name, "--fast")
        assert after[:3] == (code, out, err), name
        assert "tool.heavy" in after[3] and len(after[3]) == len(loaded) - 5
    assert plan(root) == ([], [])  # idempotent


def test_typer_sub_apps_made_lazy_help_identical(tmp_path):
    root = write(tmp_path / "proj", TYPER_FILES)
    changes, skipped = plan(root)
    assert skipped == []
    assert [c.site.data["kind"] for c in changes] == ["add_typer"] * 4
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict) and len(before) == 10
    assert all(code == 0 for (code, _out, _err) in
               (v for k, v in before.items() if json.loads(k[1])[-1] == "--help"))
    new = rewrite_file(root / "app" / "main.py", changes)
    assert "from app.subs import" not in new
    result = check.compare(before, check.take())
    assert result.ok, result.output
    code, out, _err, loaded = run_program(root, "from app.main import app; app()", "--help")
    assert code == 0 and "╭─ Admin ─" in out
    assert loaded == ["app", "app.main"]
    code, out, _err, loaded = run_program(root, "from app.main import app; app()",
                                          "users", "create", "ann")
    assert (code, out) == (0, "created ann admin=False True\n")
    assert "app.subs.users" in loaded and "app.subs.jobs" not in loaded
    assert plan(root) == ([], [])


def test_refused_registrations_say_why(tmp_path):
    root = write(tmp_path / "proj", {
        "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli"),
        "tool/__init__.py": "",
        "tool/other.py": '''
            import click


            @click.group()
            def other():
                """Another group."""
        ''',
        "tool/commands/__init__.py": "",
        "tool/commands/computed.py": '''
            import click

            HELP = "Built " + "at run time."


            @click.command(help=HELP)
            def computed():
                pass
        ''',
        "tool/commands/factory.py": '''
            import click


            def make():
                return click.Command("made")
        ''',
        "tool/commands/registers.py": '''
            import click

            from tool.other import other


            @click.command()
            def registers():
                """Registers elsewhere too."""


            other.add_command(registers)
        ''',
        "tool/commands/used.py": '''
            import click


            @click.command()
            def used():
                """Used twice."""
        ''',
        "tool/commands/custom.py": '''
            import click


            class Fancy(click.Command):
                def get_short_help_str(self, limit=45):
                    return "fancy"


            @click.command(cls=Fancy)
            def custom():
                """A custom class."""
        ''',
        "tool/registry.py": '''
            class Registry:
                def add_command(self, command):
                    self.last = command
        ''',
        "tool/cli.py": '''
            import click

            from tool.commands.computed import computed
            from tool.commands.custom import custom
            from tool.commands.factory import make
            from tool.commands.registers import registers
            from tool.commands.used import used
            from tool.other import other as other_used
            from tool.registry import Registry


            @click.group()
            def cli():
                """The tool."""


            cli.add_command(computed)
            cli.add_command(make())
            cli.add_command(registers)
            cli.add_command(used)
            cli.add_command(custom)
            REGISTRY = Registry()
            REGISTRY.add_command(other_used)

            ALIASES = {"again": used}  # read at import (a function's read would not refuse)
        ''',
    })
    source = (root / "tool" / "cli.py").read_text()
    changes, skipped = plan(root)
    assert changes == []
    why = {s.site.statement: s.why for s in skipped}
    assert why == {
        "cli.add_command(computed)": "not made lazy: help=HELP in tool.commands.computed."
                                     "computed's decorator is computed at run time",
        "cli.add_command(make())": "not made lazy: the command is built by a call at run "
                                   "time",
        "cli.add_command(registers)": "not made lazy: tool.commands.registers runs "
                                      "`other.add_command(registers)` when imported (line 11)",
        "cli.add_command(used)": "not made lazy: `used` is also used at line 25",
        "REGISTRY.add_command(other_used)": "not made lazy: `REGISTRY` is not a click group "
                                            "made in the project (`@click.group()`, "
                                            "`@<group>.group()`, `click.Group(...)`)",
        "cli.add_command(custom)": "not made lazy: cls=Fancy in tool.commands.custom."
                                   "custom's decorator: tool.commands.custom.Fancy defines "
                                   "get_short_help_str, which the parent's listing may read",
    }
    assert (root / "tool" / "cli.py").read_text() == source


def test_help_check_catches_a_changed_help(click_project):
    root = click_project
    changes, _skipped = plan(root)
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    build = next(c for c in changes if c.site.data["target"].endswith(":build"))
    build.site.data["values"]["doc"] = '"""Do other things."""'
    rewrite_file(root / "tool" / "cli.py", changes)
    result = check.compare(before, check.take())
    assert not result.ok
    lines = result.output.splitlines()
    assert lines[0].startswith("help output changed")
    assert "  --help: output changed" in lines
    assert any(re.fullmatch(r"      -  build +Do build things\.", line) for line in lines)
    assert any(re.fullmatch(r"      \+  build +Do other things\.", line) for line in lines)
    # `build --help` is the real command's own: only the listing read the wrong text
    assert [line for line in lines if line.startswith("  ") and not
            line.startswith("    ")] == ["  --help: output changed"]


def test_no_change_without_the_runtime_dependency(click_project):
    pyproject = click_project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(', "hotstart>=0.1"', ""))
    report = audit(str(click_project), run=False)
    changes, skipped = _subcommands.plan(report, report.paths, str(click_project))
    assert changes == [] and len(skipped) == 6
    assert skipped[0].why == (
        "not made lazy: the lazy registration needs hotstart.lazy.cli at run time, and the "
        "project does not depend on hotstart (add it to the project's dependencies, or pass "
        "--runtime hotstart)")
    changes, skipped = _subcommands.plan(report, report.paths, str(click_project),
                                         runtime="hotstart")
    assert len(changes) == 6 and skipped == []

    def fix(*options: str) -> str:
        done = subprocess.run([sys.executable, "-m", "hotstart", "fix", ".", "--select", "cli",
                               *options], cwd=click_project, capture_output=True, text=True,
                              timeout=300, stdin=subprocess.DEVNULL, check=False,
                              env={**os.environ, "PYTHONPATH": str(click_project)})
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "6 x not made lazy: the lazy registration needs hotstart.lazy.cli" in fix("--write")
    assert "hotstart fix: made 6 change(s) in 1 file(s)" in fix("--runtime", "hotstart",
                                                                "--write")
    assert "lazy_command(" in (click_project / "tool" / "cli.py").read_text()
    assert "hotstart fix: made 0 change(s)" in fix("--runtime", "hotstart", "--write")


def test_help_check_says_why_it_could_not_run(click_project):
    changes, _skipped = plan(click_project)
    check = _subcommands.HelpCheck(str(click_project), changes,
                                   [str(click_project / "no-such-python")], 60)
    taken = check.take()
    assert isinstance(taken, str) and "no-such-python" in taken


def test_help_check_lists_at_most_eight_changed_outputs():
    check = _subcommands.HelpCheck(".", [], [sys.executable], None)
    before = {("run()", json.dumps([f"c{n}", "--help"])): (0, b"same\n", b"")
              for n in range(10)}
    after = {key: (0, b"other\n", b"") for key in before}
    after[("run()", json.dumps(["c0", "--help"]))] = (1, b"same\n", b"boom\n")
    lines = check.compare(before, after).output.splitlines()
    assert lines[1:4] == ["  c0 --help: output changed", "      exit code 0 -> 1",
                          "      --- stderr before"]
    assert sum(line.endswith(": output changed") for line in lines) == 8
    assert lines[-1] == "  ... and 2 more help output(s) changed"
    assert check.compare(before, dict(before)).ok


SELF_REGISTERING = {
    "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli"),
    "tool/__init__.py": "",
    "tool/heavy.py": HEAVY,
    "tool/commands/__init__.py": "",
    "tool/cli.py": '''
        """The tool."""
        import click


        @click.group()
        def cli():
            """The tool."""


        # the commands register themselves on `cli`
        from tool.commands import build, serve  # noqa: E402,F401
    ''',
    "tool/commands/build.py": '''
        import click

        from tool import heavy
        from tool.cli import cli


        @cli.command()
        @click.option("--fast", is_flag=True)
        def build(fast):
            """Build it.

            Fully.
            """
            click.echo(f"built {fast} {heavy.LOADED}")


        @cli.command("build-all", short_help="Everything.")
        def build_all():
            """Build everything."""
            click.echo("all built")
    ''',
    "tool/commands/serve.py": '''
        import click

        from tool import heavy
        from tool.cli import cli


        @cli.group()
        def serve():
            """Serve things."""


        @serve.command()
        def start():
            """Start."""
            click.echo(f"started {heavy.LOADED}")
    ''',
}


def test_self_registering_command_modules_made_lazy(tmp_path):
    root = write(tmp_path / "proj", SELF_REGISTERING)
    changes, skipped = plan(root)
    assert skipped == []
    assert [c.description for c in changes] == [
        "`build`, `build-all` registered lazily (tool.commands.build imported when used)",
        "`serve` registered lazily (tool.commands.serve imported when used)"]
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert sorted(json.loads(argv) for _invoke, argv in before) == [
        ["--help"], ["build", "--help"], ["build-all", "--help"], [UNKNOWN],
        ["serve", "--help"], ["serve", "start", "--help"]]
    program = "from tool.cli import cli; cli()"
    runs = [run_program(root, program, *argv) for argv in
            (["build", "--fast"], ["build-all"], ["serve", "start"])]
    new = rewrite_file(root / "tool" / "cli.py", changes)
    assert "from tool.commands import" not in new
    assert '# the commands register themselves on `cli`\ncli.add_command(lazy_command(\n' \
        '    "tool.commands.build:build",\n' in new
    result = check.compare(before, check.take())
    assert result.ok, result.output
    assert run_program(root, program, "--help")[3] == ["tool", "tool.cli"]
    for argv, (code, out, err, loaded) in zip(
            (["build", "--fast"], ["build-all"], ["serve", "start"]), runs, strict=True):
        after = run_program(root, program, *argv)
        assert after[:3] == (code, out, err) and code == 0, argv
        assert "tool.heavy" in after[3] and len(after[3]) < len(loaded)
    assert plan(root) == ([], [])


def test_self_registering_module_imported_before_its_group_is_refused(tmp_path):
    files = dict(SELF_REGISTERING)
    files["tool/cli.py"] = '''
        import click

        from tool.commands import build  # noqa: F401


        @click.group()
        def cli():
            """The tool."""
    '''
    files.pop("tool/commands/serve.py")
    root = write(tmp_path / "proj", files)
    changes, skipped = plan(root)
    assert changes == []
    assert [s.why for s in skipped] == [
        "not made lazy: `cli` is bound after the import (the lazy registrations need it)"]
