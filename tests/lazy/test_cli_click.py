"""hotstart.lazy.cli's click and typer placeholders, in real child interpreters.

Each program is written twice: `app.eager` imports every command module and registers it,
`app.lazy` registers the same commands with `lazy_command` / `LazyGroup` /
`add_lazy_typer` / `add_lazy_typer_command`. For every command line the two must give the
same exit status, stdout and stderr, byte for byte (rich renders typer's help: it is
installed), while the lazy one imports a command's module only when that command is used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

TERMINAL = {"COLUMNS": "80", "LINES": "24", "TERM": "dumb", "NO_COLOR": "1",
            "PYTHONHASHSEED": "0"}

#: One interpreter runs many command lines: it imports the framework once, then forks a
#: child per command line, which imports `app.<variant>` afresh and runs its `cli` with
#: stdout and stderr in files; the child reports its exit status and the project modules
#: it loaded. (A process per command line from scratch costs a second each for typer.)
RUNNER = """
import json, os, sys, traceback
jobs = json.loads(sys.argv[1])
for name in sys.argv[2].split(","):
    __import__(name)
results = []
for at, (variant, argv, out, err) in enumerate(jobs):
    pid = os.fork()
    if pid == 0:
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT), 2)
        sys.argv = ["prog", *argv]
        try:
            __import__("app." + variant, fromlist=["cli"]).cli()
            code = 0
        except SystemExit as exit:
            code = exit.code if isinstance(exit.code, int) else 0 if exit.code is None else 1
            if not isinstance(exit.code, (int, type(None))):
                print(exit.code, file=sys.stderr)
        except BaseException:
            sys.excepthook(*sys.exc_info())
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        with open(err + ".modules", "w") as handle:
            json.dump(sorted(m for m in sys.modules if m.startswith("app.")), handle)
        os._exit(code)
    _pid, status = os.waitpid(pid, 0)
    results.append(os.waitstatus_to_exitcode(status))
print(json.dumps(results))
"""
PRELOAD = {"click": "click", "typer": "typer,typer.main,typer.core,typer.rich_utils"}

CLICK = {
    "app/__init__.py": "",
    "app/heavy.py": "# stands in for a library that costs time to import\n",
    "app/commands/__init__.py": "",
    "app/commands/build.py": '''
        import click

        import app.heavy


        @click.command()
        @click.option("--fast", is_flag=True, help="Skip the checks.")
        def build_cmd(fast):
            """Build the project.

                Indented more than the rest.

            It reads the configuration, compiles every module and writes
            the wheel.
            \\f
            Not shown: after a form feed.
            """
            click.echo(f"built fast={fast}")
    ''',
    "app/commands/serve.py": '''
        import click

        import app.heavy


        @click.group(short_help="Serve it.", epilog="See the docs.")
        def serve():
            """Serve the project over HTTP."""


        @serve.command()
        @click.argument("port", type=int)
        def start(port):
            """Start serving."""
            click.echo(f"serving on {port}")
    ''',
    "app/commands/old.py": '''
        import click

        import app.heavy


        @click.command(deprecated=True, help="The old way.")
        def old():
            click.echo("old ran")
    ''',
    "app/commands/secret.py": '''
        import click

        import app.heavy


        @click.command(hidden=True)
        def secret():
            """Not listed."""
            click.echo("secret ran")
    ''',
    "app/commands/broken.py": '''
        import click

        import app.no_such_module


        @click.command()
        def broken():
            """Always fails to import."""
    ''',
    "app/eager.py": '''
        import click

        from app.commands.build import build_cmd
        from app.commands.old import old
        from app.commands.secret import secret
        from app.commands.serve import serve


        @click.group()
        def cli():
            """The tool."""


        cli.add_command(build_cmd)
        cli.add_command(serve, "run")
        cli.add_command(old)
        cli.add_command(secret)
    ''',
    "app/lazy.py": '''
        import click

        from hotstart.lazy.cli import lazy_command


        @click.group()
        def cli():
            """The tool."""


        cli.add_command(lazy_command("app.commands.build:build_cmd", function="build_cmd",
                                     doc="""Build the project.

            Indented more than the rest.

        It reads the configuration, compiles every module and writes
        the wheel.
        \\f
        Not shown: after a form feed.
        """))
        cli.add_command(lazy_command("app.commands.serve:serve", function="serve",
                                     doc="""Serve the project over HTTP.""",
                                     short_help="Serve it.", epilog="See the docs."), "run")
        cli.add_command(lazy_command("app.commands.old:old", function="old",
                                     deprecated=True, help="The old way."))
        cli.add_command(lazy_command("app.commands.secret:secret", function="secret",
                                     hidden=True, doc="""Not listed."""))
    ''',
    "app/withbroken.py": '''
        import click

        from hotstart.lazy.cli import lazy_command


        @click.group()
        def cli():
            """The tool."""


        cli.add_command(lazy_command("app.commands.old:old", function="old",
                                     deprecated=True, help="The old way."))
        cli.add_command(lazy_command("app.commands.broken:broken", function="broken",
                                     doc="""Always fails to import."""))
    ''',
    "app/group.py": '''
        import click

        from hotstart.lazy.cli import LazyGroup


        @click.group(cls=LazyGroup, lazy_subcommands={
            "BUILD_NAME": {"import": "app.commands.build:build_cmd", "doc": """Build the project.

            Indented more than the rest.

        It reads the configuration, compiles every module and writes
        the wheel.
        \\f
        Not shown: after a form feed.
        """},
            "run": {"import": "app.commands.serve:serve", "name": "serve",
                    "doc": """Serve the project over HTTP.""", "short_help": "Serve it.",
                    "epilog": "See the docs."},
            "old": {"import": "app.commands.old:old", "help": "The old way.",
                    "deprecated": True},
            "secret": {"import": "app.commands.secret:secret", "hidden": True}})
        def cli():
            """The tool."""
    ''',
}

TYPER = {
    "app/__init__.py": "",
    "app/heavy.py": "# stands in for a library that costs time to import\n",
    "app/subs/__init__.py": "",
    "app/subs/users.py": '''
        import typer

        import app.heavy

        app = typer.Typer(help="Manage users.", no_args_is_help=True)


        @app.command()
        def create(name: str, admin: bool = False):
            """Create a user."""
            print(f"created {name} admin={admin}")


        @app.command()
        def delete(name: str):
            """Delete a user."""
            print(f"deleted {name}")
    ''',
    "app/subs/items.py": '''
        import typer

        import app.heavy

        app = typer.Typer()


        @app.callback()
        def main():
            """Work with items.

            Items are things.
            """


        @app.command("list")
        def list_items():
            """List the items."""
            print("items listed")
    ''',
    "app/subs/jobs.py": '''
        import typer

        import app.heavy

        app = typer.Typer(deprecated=True, short_help="Jobs (old).")


        @app.command()
        def run(job: str):
            """Run a job."""
            print("ran", job)
    ''',
    "app/subs/broken.py": '''
        import typer

        import app.no_such_module

        app = typer.Typer(help="Always fails to import.")
    ''',
    "app/serve.py": '''
        import app.heavy


        def serve_it(port: int = 8000):
            """Serve the app.

            On a port.
            """
            print(f"serving {port}")
    ''',
    "app/eager.py": '''
        import typer

        from app.serve import serve_it
        from app.subs import items, jobs, users

        cli = typer.Typer()
        cli.add_typer(users.app, name="users")
        cli.add_typer(items.app, name="items", rich_help_panel="Stock")
        cli.add_typer(jobs.app, name="jobs")
        cli.command()(serve_it)


        @cli.command()
        def version():
            """Show the version."""
            print("1.0")
    ''',
    "app/lazy.py": '''
        import typer

        from hotstart.lazy.cli import add_lazy_typer, add_lazy_typer_command

        cli = typer.Typer()
        add_lazy_typer(cli, "app.subs.users:app", name="users",
                       app_settings={"help": "Manage users."})
        add_lazy_typer(cli, "app.subs.items:app", name="items", rich_help_panel="Stock",
                       callback_settings={"doc": """Work with items.

            Items are things.
            """})
        add_lazy_typer(cli, "app.subs.jobs:app", name="jobs",
                       app_settings={"deprecated": True, "short_help": "Jobs (old)."})
        add_lazy_typer_command(cli, "app.serve:serve_it", function="serve_it",
                               doc="""Serve the app.

            On a port.
            """)


        @cli.command()
        def version():
            """Show the version."""
            print("1.0")
    ''',
    "app/withbroken.py": '''
        import typer

        from hotstart.lazy.cli import add_lazy_typer

        cli = typer.Typer()
        add_lazy_typer(cli, "app.subs.broken:app", name="broken",
                       app_settings={"help": "Always fails to import."})
        add_lazy_typer(cli, "app.subs.jobs:app", name="jobs",
                       app_settings={"deprecated": True, "short_help": "Jobs (old)."})
    ''',
}


def _derived_name() -> str:
    """The name the installed click gives a command made from `build_cmd` (click 8.2 drops
    the `_cmd` suffix, 8.1 does not)."""
    import click

    def build_cmd():
        return None

    return click.command()(build_cmd).name


BUILD = _derived_name()


def write(base, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n").replace("BUILD_NAME", BUILD))


def run_many(root, jobs: list[tuple[str, list[str]]], **extra: str
             ) -> list[tuple[int, bytes, bytes, list[str]]]:
    """(exit code, stdout, stderr, project modules loaded) of each (variant, argv), with
    `extra` in the environment."""
    framework = "typer" if "typer" in (root / "app" / "eager.py").read_text() else "click"
    files = [(variant, argv, str(root / f"out{at}"), str(root / f"err{at}"))
             for at, (variant, argv) in enumerate(jobs)]
    env = {**os.environ, **TERMINAL, "PYTHONPATH": str(root)}
    for name in ("FORCE_COLOR", "HOTSTART_EAGER"):
        env.pop(name, None)
    env.update(extra)
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps(files),
                           PRELOAD[framework]], cwd=root, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, check=True)
    results = []
    for code, (_variant, _argv, out, err) in zip(json.loads(done.stdout), files,
                                                  strict=True):
        with open(out, "rb") as o, open(err, "rb") as e, open(err + ".modules") as m:
            results.append((code, o.read(), e.read(), json.load(m)))
        for path in (out, err, err + ".modules"):
            os.remove(path)
    return results


def run(root, variant: str, *argv: str) -> tuple[int, bytes, bytes, list[str]]:
    return run_many(root, [(variant, list(argv))])[0]


def assert_identical(root, argvs: list[list[str]], variant: str = "lazy") -> None:
    results = run_many(root, [(v, argv) for argv in argvs for v in ("eager", variant)])
    for at, argv in enumerate(argvs):
        eager, lazy = results[2 * at], results[2 * at + 1]
        assert lazy[:3] == eager[:3], argv
        if argv[-1:] == ["--help"]:  # a real help, not two equal failures
            assert eager[0] == 0 and eager[1].count(b"\n") > 3, argv


@pytest.fixture(scope="module")
def click_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("click")
    write(root, CLICK)
    return root


@pytest.fixture(scope="module")
def typer_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("typer")
    write(root, TYPER)
    return root


def test_click_lazy_is_byte_identical(click_app):
    assert_identical(click_app, [
        ["--help"], [BUILD, "--help"], ["run", "--help"], ["run", "start", "--help"],
        ["old", "--help"], ["secret", "--help"], [BUILD, "--fast"], ["run", "start", "80"],
        ["old"], ["secret"], ["nope"], [BUILD, "--wrong"], ["run"], []])


def test_click_group_class_is_byte_identical(click_app):
    assert_identical(click_app, [["--help"], [BUILD, "--help"], ["run", "--help"],
                                 ["old"], ["secret"], ["nope"]], variant="group")


def test_click_help_imports_no_command_module(click_app):
    code, out, _err, loaded = run(click_app, "lazy", "--help")
    assert code == 0 and f"{BUILD}  Build the project.".encode() in out
    assert loaded == ["app.lazy"]
    assert "secret" not in out.decode()  # hidden, as eagerly
    _code, _out, _err, eager = run(click_app, "eager", "--help")
    assert "app.heavy" in eager and "app.commands.build" in eager


def test_click_command_imports_only_its_module(click_app):
    code, out, _err, loaded = run(click_app, "lazy", BUILD, "--fast")
    assert (code, out) == (0, b"built fast=True\n")
    assert loaded == ["app.commands", "app.commands.build", "app.heavy", "app.lazy"]


@pytest.mark.parametrize("fixture", ["click_app", "typer_app"])
def test_hotstart_eager_registers_the_real_commands(fixture, request):
    root = request.getfixturevalue(fixture)
    eager, lazy = run_many(root, [("eager", ["--help"]), ("lazy", ["--help"])],
                           HOTSTART_EAGER="1")
    assert lazy[:3] == eager[:3] and lazy[0] == 0
    assert set(lazy[3]) - {"app.lazy"} == set(eager[3]) - {"app.eager"}
    assert "app.heavy" in lazy[3]


def test_click_broken_module_fails_only_when_used(click_app):
    code, out, _err, _loaded = run(click_app, "withbroken", "--help")
    assert code == 0 and b"broken  Always fails to import." in out
    code, out, err, _loaded = run(click_app, "withbroken", "broken")
    assert code == 1 and out == b""
    assert err.rstrip().endswith(b"ModuleNotFoundError: No module named 'app.no_such_module'")
    assert b'app/commands/broken.py", line 3, in <module>' in err


def test_typer_lazy_is_byte_identical(typer_app):
    assert_identical(typer_app, [
        ["--help"], ["users", "--help"], ["users", "create", "--help"], ["items", "--help"],
        ["items", "list", "--help"], ["jobs", "--help"], ["jobs", "run", "--help"],
        ["serve-it", "--help"], ["users", "create", "bob", "--admin"], ["items", "list"],
        ["serve-it", "--port", "9"], ["users"], ["nope"], ["users", "nope"], ["version"]])


def test_typer_help_with_rich_imports_no_command_module(typer_app):
    code, out, _err, loaded = run(typer_app, "lazy", "--help")
    assert code == 0 and "╭─ Stock ─" in out.decode()  # rich panels, as eagerly
    assert loaded == ["app.lazy"]
    code, out, _err, loaded = run(typer_app, "lazy", "users", "create", "ann")
    assert (code, out) == (0, b"created ann admin=False\n")
    assert loaded == ["app.heavy", "app.lazy", "app.subs", "app.subs.users"]


def test_typer_broken_sub_app_fails_only_when_used(typer_app):
    code, out, _err, _loaded = run(typer_app, "withbroken", "--help")
    assert code == 0 and "broken  Always fails to import." in out.decode()
    code, _out, err, _loaded = run(typer_app, "withbroken", "broken", "--help")
    assert code == 1
    assert b"No module named 'app.no_such_module'" in err


DOCSTRINGS = [
    "One line.",
    "  Leading spaces.\n    Body\n      deeper\n    ",
    "First\n\tTabbed\n        spaces\n",
    "First\n    \n    blank with spaces\n\n  less\n",
    "\n    Starts on the second line.\n\n    More.\n    \f\n    hidden\n    ",
    "x\n    \x0c form feed line\n    y",
    "no indent\nat all",
]


@pytest.mark.parametrize("text", DOCSTRINGS)
def test_compiled_docstring_matches_the_compiler(text):
    from hotstart.lazy.cli import compiled_docstring

    namespace: dict = {}
    exec(compile(f"def f():\n    {text!r}\n", "<doc>", "exec"), namespace)  # noqa: S102
    assert compiled_docstring(text) == namespace["f"].__doc__


def test_importing_the_runtime_imports_no_framework():
    code = ("import sys, hotstart.lazy.cli; "
            "print(sorted({'click', 'typer', 'rich'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout == "[]\n"
