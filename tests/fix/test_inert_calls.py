"""A command module's module-level call of a project function (`NAME = f(args)`) keeps it
eager for the `cli` codemod unless the call is proven to only build and return objects
(`fix/_inert_functions.Prover.call`): huggingface_hub's shapes, a logger factory
(`get_logger(__name__)`), a Typer factory (`typer_factory(help="...")`, whose help the lazy
registration reads from the call site) and `sorted(get_args(Kind))`, are made lazy; a
factory that registers somewhere global, reads an environment variable, reads a file or
calls an unproven function keeps its module eager, with the statement that stopped the
proof. The programs, run in real child interpreters, print the same before and after
`hotstart fix --select cli --write`, and `--help` no longer imports the lazy modules."""

from __future__ import annotations

import pathlib

from conftest import run_hotstart, write_tree

from hotstart.fix._subcommands_inert import first_effect
from hotstart.fix._subcommands_read import SourceModule

from .test_subcommands_click import PYPROJECT, run_program

#: huggingface_hub/utils/logging.py's shape (1.3.0).
LOG = '''
    import logging
    from typing import Optional


    def _get_library_name() -> str:
        return __name__.split(".")[0]


    def get_logger(name: Optional[str] = None) -> logging.Logger:
        """Returns a logger with the specified name."""
        if name is None:
            name = _get_library_name()
        return logging.getLogger(name)
    '''
#: huggingface_hub/cli/_cli_utils.py's factory, and factories that must stay unproven.
UTILS = '''
    import os

    import typer

    REGISTERED = []
    HELP_FILE = "help.txt"


    class SortedGroup(typer.core.TyperGroup):
        """Lists commands alphabetically."""

        def list_commands(self, ctx):
            return sorted(self.commands)


    def typer_factory(help: str) -> typer.Typer:
        return typer.Typer(
            help=help,
            no_args_is_help=True,
            cls=SortedGroup,
            rich_markup_mode=None,
        )


    def registering_factory(help: str) -> typer.Typer:
        app = typer.Typer(help=help)
        REGISTERED.append(help)
        return app


    def environ_factory(help: str) -> typer.Typer:
        return typer.Typer(help=help, hidden=os.environ.get("APP_HIDE") == "1")


    def file_factory(help: str) -> typer.Typer:
        return typer.Typer(help=help, epilog=open(HELP_FILE).read())


    def _banner():
        print("banner")
        return "Banner."


    def unproven_factory(help: str) -> typer.Typer:
        return typer.Typer(help=help, epilog=_banner())
    '''
KINDS = '''
    from typing import Literal

    Kind_T = Literal["model", "dataset", "space"]
    '''
#: {sub-app: (factory, the end of the reason printed for keeping its module eager or None)}
CASES = {
    "cache": ("typer_factory", None),
    "registers": ("registering_factory",
                  ("app/_utils.py:27 in registering_factory(): `REGISTERED.append(help)` calls "
                  "`REGISTERED.append(...)` on the module-level `REGISTERED`, an object that "
                  "outlives the call")),
    "environ": ("environ_factory",
                ("app/_utils.py:32 in environ_factory(): `return typer.Typer(help=help, "
                "hidden=os.environ.get(\"APP_...` calls "
                "`os.environ.get(...)`, which is not known to be inert")),
    "filed": ("file_factory",
              ("app/_utils.py:36 in file_factory(): `return typer.Typer(help=help, "
              "epilog=open(HELP_FILE).read())` calls a computed function, which is not "
              "proven inert")),
    "unproven": ("unproven_factory",
                 ("app/_utils.py:40 in _banner(): `print(\"banner\")` calls `print(...)`, "
                 "which is not known to be inert (called at app/_utils.py:45)")),
}


def _sub_app(name: str, factory: str) -> str:
    return f'''
        from typing import get_args

        from app import _log as logging
        from app._kinds import Kind_T
        from app._utils import {factory}

        logger = logging.get_logger(__name__)
        _KINDS = sorted(get_args(Kind_T))
        {name}_cli = {factory}(help="Manage the {name}.")


        @{name}_cli.command()
        def ls(kind: str = "model"):
            """List the {name}."""
            print(f"{name} ls {{kind}} of {{_KINDS}} logger={{logger.name}}")
        '''


def _project(root: pathlib.Path) -> pathlib.Path:
    files = {
        "pyproject.toml": PYPROJECT.format(name="app", target="app.main:app"),
        "help.txt": "From a file.\n",
        "app/__init__.py": "", "app/_log.py": LOG, "app/_utils.py": UTILS,
        "app/_kinds.py": KINDS, "app/commands/__init__.py": "",
        "app/main.py": "from app._utils import typer_factory\n"
                       + "".join(f"from app.commands.{n} import {n}_cli\n" for n in CASES)
                       + '\napp = typer_factory(help="The app.")\n'
                       + "".join(f'app.add_typer({n}_cli, name="{n}")\n' for n in CASES),
    }
    files.update({f"app/commands/{n}.py": _sub_app(n, f) for n, (f, _) in CASES.items()})
    return write_tree(root, files)


PROGRAM = "from app.main import app; app()"


def test_a_sub_app_made_by_a_proven_factory_is_lazy_and_the_others_say_why(tmp_path):
    root = _project(tmp_path / "proj")
    runs = [(), ("--help",), *((n, "--help") for n in CASES), ("cache", "ls", "--kind", "x"),
            ("registers", "ls")]
    before = [run_program(root, PROGRAM, *argv) for argv in runs]
    assert "Manage the cache." in before[1][1] and "banner" in before[1][1]
    assert "cache ls x of ['dataset', 'model', 'space'] logger=app" in before[-2][1]
    assert "app.commands.cache" in before[1][3]
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    for name, (factory, why) in CASES.items():
        line = next((ln for ln in done.stdout.splitlines()
                     if f"not made lazy: app.commands.{name} " in ln), None)
        if why is None:
            assert line is None, (name, done.stdout)
            continue
        assert line is not None, (name, done.stdout)
        said = line.split("not made lazy: ", 1)[1]
        assert said.startswith(f"app.commands.{name} runs `{name}_cli = {factory}("), line
        assert said.endswith(f"` when imported (line 9): {why}"), line
    assert "made 1 change(s) in 1 file(s)" in done.stdout
    source = (root / "app" / "main.py").read_text()
    assert "from app.commands.cache import" not in source
    assert '"app.commands.cache:cache_cli"' in source  # the help read from the call site:
    assert 'app_settings={"help": "Manage the cache."}' in source
    after = [run_program(root, PROGRAM, *argv) for argv in runs]
    assert [r[:3] for r in after] == [r[:3] for r in before]
    assert "app.commands.cache" not in after[1][3]  # `--help` no longer imports it
    assert "app.commands.cache" in after[-2][3]
    again = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                         cwd=root)
    assert "would make 0 change(s)" in again.stdout or "made 0 change(s)" in again.stdout or \
        "nothing to fix" in again.stdout, again.stdout


def _effect(tmp_path: pathlib.Path, source: str, helpers: str = "") -> str | None:
    """`first_effect` of the command module `pkg.mod` (`pkg.helpers` beside it)."""
    root = write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": source,
                                 "pkg/helpers.py": helpers or "\n"})
    path = root / "pkg" / "mod.py"
    return first_effect(SourceModule("pkg.mod", str(path), path.read_text()))


def test_pure_builtins_and_typing_introspection_over_inert_values(tmp_path):
    """`sorted(get_args(Kind))` builds a new list of what it reads now; a key function, a
    call inside, a rebound builtin or a display holding a name (whose `__lt__` may be the
    project's) is not proven."""
    shape = ("from typing import Literal, get_args, get_origin\n\n"
             "Kind = Literal['b', 'a']\nVALUE = {}\n")
    for proven in ("sorted(get_args(Kind))", "tuple(get_args(Kind))", "get_origin(Kind)",
                   "sorted(get_args(Kind), reverse=True)", "len(list(get_args(Kind)))"):
        assert _effect(tmp_path / f"p{len(proven)}", shape.format(proven)) is None, proven
    for refused in ("sorted(get_args(Kind), key=str.lower)", "sorted(Kind.__args__, key=id)",
                    "tuple(print(Kind))", "max(get_args(Kind))", "sorted([Kind, 'a'])"):
        assert _effect(tmp_path / f"r{len(refused)}", shape.format(refused)) == \
            f"runs `VALUE = {refused}` when imported (line 4)", refused
    rebound = "sorted = print\n" + shape.format("sorted(get_args(Kind))")
    assert _effect(tmp_path / "rebound", rebound) == \
        "runs `VALUE = sorted(get_args(Kind))` when imported (line 5)"


def test_a_project_call_at_import_is_proven_or_refused_with_its_statement(tmp_path):
    """The call's arguments outlive it: a factory may not change them; an attribute of a
    module bound by a module `__getattr__` (huggingface_hub's lazy `logging`) is not found,
    so it is not proven."""
    helpers = '''
        import logging


        def make(name, into):
            into.append(name)
            return name


        def put(name, into):
            into[name] = True


        def wrap(name):
            return {"name": name, "logger": logging.getLogger(name)}


        def __getattr__(name):
            return logging
        '''
    assert _effect(tmp_path / "a", "from pkg.helpers import wrap\n\nX = wrap(__name__)\n",
                   helpers) is None
    assert _effect(tmp_path / "b", "from pkg.helpers import make\n\nX = make('x', [])\n",
                   helpers) == (
        "runs `X = make('x', [])` when imported (line 3): pkg/helpers.py:5 in make(): "
        "`into.append(name)` calls `into.append(...)`, which may run code or change an "
        "object that outlives the call")
    assert _effect(tmp_path / "d", "from pkg.helpers import put\n\nX = put('x', KEYS)\n",
                   helpers) == (
        "runs `X = put('x', KEYS)` when imported (line 3): pkg/helpers.py:9 put() changes "
        "its parameter `into`, an object that outlives the call")
    assert _effect(tmp_path / "c", "from pkg import helpers\n\nX = helpers.logs.get('x')\n",
                   helpers) == (
        "runs `X = helpers.logs.get('x')` when imported (line 3): `helpers.logs.get` is not "
        "found defined at the top of a project module (bound by a module `__getattr__`, or "
        "not a plain function), so it is not proven")


def test_hf_option_shapes_over_names_bound_once(tmp_path):
    """huggingface_hub/cli/datasets.py's shapes: a help joining, a callback made by a proven
    project factory and an enum built by the functional API, over names the module binds
    once to `get_args`/`sorted` results; iterating an imported name (which may be a
    generator another import consumes) or mixing in a project class is refused."""
    helpers = '''
        def make_parser(valid):
            def parse(value):
                if value not in valid:
                    raise ValueError(value)
                return value
            return parse
        '''
    shape = """
        import enum
        from typing import Annotated, Literal, Optional, get_args

        import typer

        from pkg.helpers import make_parser

        Sort_T = Literal["b", "a"]
        _SORTS = get_args(Sort_T)
        _NAMES = sorted(_SORTS)
        SortEnum = enum.Enum("SortEnum", {s: s for s in _SORTS}, type=str)
        Opt = Annotated[Optional[str], typer.Option(
            help=f"Valid: {', '.join(_NAMES)}.", callback=make_parser(_NAMES))]
        VALUE = EXPRESSION
        """
    assert _effect(tmp_path / "a", shape.replace("EXPRESSION", "[n for n in _NAMES]"),
                   helpers) is None
    for refused in ("[n for n in typer.colors]", "', '.join(Sort_T)",
                    "enum.Enum('E', {s: s for s in _SORTS}, type=Sort_T)",
                    "enum.Enum('E', [s.upper() for s in _SORTS])"):
        assert _effect(tmp_path / f"r{len(refused)}", shape.replace("EXPRESSION", refused),
                       helpers) == f"runs `VALUE = {refused}` when imported (line 14)", refused


def test_hf_cache_shapes_a_dataclass_and_a_loop_filling_the_modules_own_dict(tmp_path):
    """huggingface_hub/cli/cache.py's shapes: `@dataclass(frozen=True)` adds methods to its
    fresh class; a loop setting items of a dict the module built (`table = {}`) changes
    only what this import made. A loop filling an imported dict, calling anything, or a
    dataclass option read from a name is refused."""
    shape = """
        from dataclasses import dataclass
        from enum import Enum

        from pkg.helpers import SHARED

        _KEYS = {"size", "name"}
        FAST = True


        @dataclass(frozen=True)
        class Counts:
            repo_count: int
            total: int = 0


        table = {}
        for key in sorted(_KEYS):
            table[key] = key
            table[f"{key}_asc"] = f"{key}:asc"
        Sort = Enum("Sort", table, type=str, module=__name__)
        """
    assert _effect(tmp_path / "a", shape, "SHARED = {}\n") is None
    for old, new, line in (("table[key] = key", "SHARED[key] = key", 17),
                           ("table[key] = key", "table[key] = print(key)", 17),
                           ("for key in sorted(_KEYS):", "for key in SHARED:", 17),
                           ("@dataclass(frozen=True)", "@dataclass(frozen=FAST)", 10)):
        found = _effect(tmp_path / f"r{len(new)}", shape.replace(old, new), "SHARED = {}\n")
        assert found is not None and found.startswith("runs `") and \
            found.endswith(f"when imported (line {line})"), (new, found)
