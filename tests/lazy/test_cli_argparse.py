"""hotstart.lazy's argparse subcommands (`add_lazy_parser`), in real child interpreters.

One small program is built twice: `app.eager` imports every command module and registers
them as most programs do, `app.lazy` registers the same commands with `add_lazy_parser`.
For every command line the two must give the same exit status, stdout and stderr, byte for
byte, while the lazy one imports only the module of the command that was chosen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

COMMANDS = ("app.commands.build", "app.commands.copy", "app.commands.serve",
            "app.commands.broken", "app.heavy")

FILES = {
    "app/__init__.py": "",
    "app/heavy.py": "# stands in for a library that costs time to import\n",
    "app/commands/__init__.py": "",
    "app/commands/build.py": '''
        import argparse

        import app.heavy

        COMMON = argparse.ArgumentParser(add_help=False)
        COMMON.add_argument("--config", default="app.toml", help="configuration file")


        def register(subparsers):
            parser = subparsers.add_parser(
                "build", help="build the project", aliases=["b"], parents=[COMMON],
                description="Build every target, or the ones named.", epilog="See the docs.")
            parser.add_argument("targets", nargs="*", help="targets to build")
            parser.add_argument("--fast", action="store_true", help="skip the checks")
            parser.set_defaults(func=run, jobs=4)
            return parser


        def run(args):
            print("build", args.targets, args.fast, args.config, args.jobs)
            return 3
        ''',
    "app/commands/serve.py": '''
        import app.heavy


        def configure(parser):
            parser.add_argument("--port", type=int, default=8000, help="port to listen on")
            parser.set_defaults(func=run)


        def run(args):
            print("serve", args.port)
            return 0
        ''',
    "app/commands/copy.py": '''
        def register(subparsers, defaults, verbose=False):
            parser = subparsers.add_parser("copy", help="copy the outputs")
            parser.add_argument("--to", **defaults)
            parser.set_defaults(func=lambda args: print("copy", args.to) or 0)
        ''',
    "app/commands/broken.py": '''
        import missing_dependency_of_broken


        def register(subparsers):
            subparsers.add_parser("broken", help="never works")
        ''',
    "app/eager.py": '''
        import argparse

        from app.commands import broken_stub, build, copy, serve

        DEFAULTS = {"metavar": "WHERE", "help": "where to copy"}


        def make():
            parser = argparse.ArgumentParser(prog="app", description="A small program.")
            parser.add_argument("-v", "--verbose", action="store_true")
            sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
            build.register(sub)
            serve.configure(sub.add_parser("serve", help="serve the site"))
            copy.register(sub, DEFAULTS)
            broken_stub.register(sub)
            return parser
        ''',
    # the eager program cannot import the broken module: it lists it from a copy
    "app/commands/broken_stub.py": '''
        def register(subparsers):
            subparsers.add_parser("broken", help="never works")
        ''',
    "app/lazy.py": '''
        import argparse

        from hotstart.lazy.cli import add_lazy_parser

        DEFAULTS = {"metavar": "WHERE", "help": "where to copy"}


        def make():
            parser = argparse.ArgumentParser(prog="app", description="A small program.")
            parser.add_argument("-v", "--verbose", action="store_true")
            sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
            add_lazy_parser(sub, "build", "app.commands.build:register",
                            help="build the project", aliases=["b"])
            add_lazy_parser(sub, "serve", "app.commands.serve:configure", call_with="parser",
                            help="serve the site")
            add_lazy_parser(sub, "copy", "app.commands.copy:register", arguments=(DEFAULTS,),
                            help="copy the outputs")
            add_lazy_parser(sub, "broken", "app.commands.broken:register", help="never works")
            return parser
        ''',
    "run.py": '''
        import importlib, json, os, sys

        program, argv = sys.argv[1], sys.argv[2:]
        commands = os.environ["COMMANDS"].split(",")
        try:
            args = importlib.import_module(program).make().parse_args(argv)
            code = args.func(args)
        except SystemExit as exit:
            code = exit.code
        finally:
            loaded = [name for name in commands if name in sys.modules]
            with open(os.environ["LOADED"], "w") as handle:
                json.dump(loaded, handle)
        sys.exit(code)
        ''',
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from conftest import write_tree

    return write_tree(tmp_path_factory.mktemp("argparse-app"), FILES)


def run(app, program: str, *argv: str, **env: str):
    """(exit status, stdout, stderr, command modules imported) of `program` with `argv`."""
    loaded = app / f"loaded-{os.getpid()}.json"
    environ = {name: value for name, value in os.environ.items() if name != "HOTSTART_EAGER"}
    environ.update(COMMANDS=",".join(COMMANDS), LOADED=str(loaded), COLUMNS="80",
                   PYTHONPATH=str(app), **env)
    done = subprocess.run([sys.executable, "run.py", program, *argv], cwd=app, env=environ,
                          capture_output=True, timeout=60, check=False)
    return done.returncode, done.stdout, done.stderr, json.loads(loaded.read_text())


def child(app, code: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` in the program's directory."""
    return subprocess.run([sys.executable, "-c", code], cwd=app, capture_output=True,
                          text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(app)})


@pytest.mark.parametrize("argv", [
    ["--help"],
    ["build", "--help"],
    ["b", "--help"],
    ["serve", "--help"],
    ["build", "x", "y", "--fast", "--config", "c.toml"],
    ["-v", "b"],
    ["serve", "--port", "81"],
    [],
    ["nope"],
    ["serve", "--port", "eighty"],
    ["build", "--no-such-option"],
    ["serve", "extra"],
    ["copy", "--help"],
    ["copy", "--to", "there"],
])
def test_lazy_program_behaves_byte_for_byte_like_the_eager_one(app, argv):
    eager = run(app, "app.eager", *argv)
    lazy = run(app, "app.lazy", *argv)

    assert lazy[:3] == eager[:3]
    assert eager[3] == ["app.commands.build", "app.commands.copy", "app.commands.serve",
                        "app.heavy"]
    chosen = {"b": "build"}.get(next((a for a in argv if not a.startswith("-")), ""), "")
    chosen = chosen or next((a for a in argv if a in ("build", "serve", "copy")), None)
    if chosen:  # copy imports nothing heavy
        assert lazy[3] == [f"app.commands.{chosen}"] + (["app.heavy"] if chosen != "copy"
                                                        else [])
    else:  # the program's help or a parse error before a command: nothing imported
        assert lazy[3] == []


def test_the_listing_costs_no_command_module_and_runs_set_defaults(app):
    code, out, _, loaded = run(app, "app.lazy", "--help")
    assert code == 0 and loaded == []
    assert b"    build (b)    build the project\n    serve        serve the site\n" in out
    code, out, _, loaded = run(app, "app.lazy", "build", "t")
    # set_defaults of the command (func, jobs) and the parents' --config default arrive
    assert (code, out, loaded) == (3, b"build ['t'] False app.toml 4\n",
                                   ["app.commands.build", "app.heavy"])


def test_a_command_whose_module_fails_raises_its_own_error_when_used(app):
    code, out, _, loaded = run(app, "app.lazy", "--help")
    assert code == 0 and b"broken" in out and loaded == []  # listed without importing it

    code, _, err, loaded = run(app, "app.lazy", "broken")
    assert code == 1
    text = err.decode()
    assert text.rstrip().endswith(
        "ModuleNotFoundError: No module named 'missing_dependency_of_broken'")
    assert f"{os.sep}commands{os.sep}broken.py\", line 1" in text  # the real traceback
    # the other commands still work in that program
    assert run(app, "app.lazy", "serve")[:2] == (0, b"serve 8000\n")


def test_hotstart_eager_fills_every_subparser_at_once(app):
    eager = run(app, "app.eager", "serve", "--help")
    code, _, err, loaded = run(app, "app.lazy", "serve", "--help", HOTSTART_EAGER="1")
    # everything is imported while the parser is built, so the broken module raises there
    assert code == 1 and b"missing_dependency_of_broken" in err
    assert loaded == ["app.commands.build", "app.commands.copy", "app.commands.serve",
                      "app.heavy"]
    assert eager[0] == 0


def test_load_lazy_parsers_fills_them_for_tools_that_read_the_actions(app):
    code = (
        "import json, sys\n"
        "from app.lazy import make\n"
        "from hotstart.lazy.cli import load_lazy_parsers\n"
        "parser = make()\n"
        "sub = parser._subparsers._group_actions[0]\n"
        "del sub._name_parser_map['broken']\n"
        "before = [a.dest for a in sub.choices['serve']._actions]\n"
        "filled = load_lazy_parsers(parser)\n"
        "after = [a.dest for a in sub.choices['serve']._actions]\n"
        "print(json.dumps([before, filled, after, load_lazy_parsers(parser),\n"
        "                  'app.commands.build' in sys.modules]))\n"
    )
    done = child(app, code)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [["help"], 3, ["help", "port"], 0, True]


@pytest.mark.parametrize(("register", "error"), [
    ('subparsers.add_parser("other", help="x")',
     ("ValueError: app.commands.wrong:register added subcommand 'other', but it was "
      "registered lazily as 'wrong': give add_lazy_parser the name the function uses")),
    ('subparsers.add_parser("wrong", add_help=False)',
     ("ValueError: app.commands.wrong:register makes subcommand 'wrong' with add_help=False: "
      "pass add_help=False to add_lazy_parser too (it applies only when the subparser is "
      "made)")),
    ('subparsers.add_parser("wrong", help="x", aliases=["w"])',
     ("ValueError: app.commands.wrong:register adds subcommand 'wrong' with help='x', but it "
      "was registered lazily with help=None, which the program's help shows: give "
      "add_lazy_parser the same help")),
    ('subparsers.add_parser("wrong", colour=True)',
     ("TypeError: app.commands.wrong:register: add_parser() got an unexpected keyword "
      "argument 'colour'")),
])
def test_a_registration_the_lazy_one_cannot_honour_says_what_to_change(app, register, error):
    (app / "app" / "commands" / "wrong.py").write_text(
        f"def register(subparsers):\n    {register}\n")
    code = (
        "import argparse\n"
        "from hotstart.lazy.cli import add_lazy_parser\n"
        "parser = argparse.ArgumentParser(prog='app')\n"
        "sub = parser.add_subparsers()\n"
        "add_lazy_parser(sub, 'wrong', 'app.commands.wrong:register')\n"
        "parser.parse_args(['wrong'])\n"
    )
    done = child(app, code)
    assert done.returncode == 1
    assert done.stderr.rstrip().splitlines()[-1] == error


@pytest.mark.parametrize(("arguments", "error"), [
    ("'x', 'app.commands.build'",
     "ValueError: target 'app.commands.build': write it as 'package.module:function'"),
    ("'x', 'app.commands.build:register', call_with='parsers'",
     "ValueError: call_with='parsers': use 'subparsers' or 'parser'"),
])
def test_bad_arguments_are_refused_when_registering(app, arguments, error):
    code = (
        "import argparse\n"
        "from hotstart.lazy.cli import add_lazy_parser\n"
        f"add_lazy_parser(argparse.ArgumentParser().add_subparsers(), {arguments})\n"
    )
    done = child(app, code)
    assert done.stderr.rstrip().splitlines()[-1] == error
