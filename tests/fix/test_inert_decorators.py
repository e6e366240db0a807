"""A command whose `def` carries a decorator of the project is made lazy by the `cli` codemod
only when applying the decorator is proven to touch nothing that outlives the call and to
keep the function's name and docstring (`fix/_inert_functions`): celery's
`@handle_preload_options` shape is made lazy; a decorator that registers, calls
`atexit.register`, sets an attribute of a module-level object, calls a project function that
registers, recurses, drops the function's name, or fills a default keeps its module eager,
with the statement that stopped the proof. The program, run in real child interpreters,
prints the same before and after `hotstart fix --select cli --write`."""

from __future__ import annotations

import pathlib

from conftest import run_hotstart, write_tree

from hotstart.fix._inert_functions import Prover
from hotstart.fix._subcommands_inert import first_effect
from hotstart.fix._subcommands_read import SourceModule

from .test_subcommands_inert import _run

#: celery/bin/base.py's shape (5.7.0): marks a wrapper made by update_wrapper.
CELERY_BASE = '''
    from functools import update_wrapper

    from tool.signals import SENT


    def _handles_preload_options(fun):
        seen = set()
        while fun is not None and id(fun) not in seen:
            seen.add(id(fun))
            if getattr(fun, '_handles_preload_options', False):
                return True
            fun = getattr(fun, '__wrapped__', None)
        return False


    def _mark_preload_handler(wrapper, wrapped):
        wrapper = update_wrapper(wrapper, wrapped)
        wrapper._handles_preload_options = True
        return wrapper


    def handle_preload_options(f):
        """Extract preload options and return a wrapped callable."""
        if _handles_preload_options(f):
            return f

        def caller(ctx, *args, **kwargs):
            SENT.append(f.__name__)  # run with the command, not at import
            return f(ctx, *args, **kwargs)

        return _mark_preload_handler(caller, f)
    '''
#: Project decorators, each in the module `tool.deco`, with what must stop its proof.
DECORATORS = '''
    import atexit
    import functools

    import click

    from tool import helpers

    REGISTRY = []
    CONFIG = helpers.Config()


    def registered(f):
        REGISTRY.append(f.__name__)
        return f


    def at_exit(f):
        atexit.register(print, "bye from at_exit")
        return f


    def tagged(f):
        CONFIG.tagged = f.__name__
        return f


    def indirect(f):
        helpers.remember(f)
        return f


    def ping(f, depth=0):
        return f if depth > 2 else pong(f, depth + 1)


    def pong(f, depth):
        return ping(f, depth + 1)


    def renamed(f):
        def inner(*args, **kwargs):
            return f(*args, **kwargs)
        return inner


    def defaulted(f, seen=[]):
        seen += [f.__name__]
        return f


    def logged(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            return f(*args, **kwargs)
        inner._logged = True
        return inner


    def flag_option(name):
        def callback(ctx: click.Context, param, value) -> None:
            if value:
                click.echo(f"{name} listed")
        return click.option(f"--{name}", is_flag=True, expose_value=False, is_eager=True,
                            callback=callback, help=f"List {name}.")


    def counted_option(name):
        REGISTRY.append(name)
        return click.option(f"--{name}", is_flag=True)


    def own_option(name):
        def decorate(f):
            f.option = name
            return f
        return decorate
    '''
#: {decorator: the end of the reason printed for keeping its module eager, None if made lazy}
CASES = {
    "registered": ("tool/deco.py:13 in registered(): `REGISTRY.append(f.__name__)` calls "
                   "`REGISTRY.append(...)` on the module-level `REGISTRY`, an object that "
                   "outlives the call"),
    "at_exit": ("tool/deco.py:18 in at_exit(): `atexit.register(print, \"bye from at_exit\")` "
                "calls `atexit.register(...)`, which is not known to be inert"),
    "tagged": ("tool/deco.py:23 in tagged(): `CONFIG.tagged = f.__name__` changes an object "
               "that outlives the call"),
    "indirect": ("tool/helpers.py:9 in remember(): `SEEN.append(f.__name__)` calls "
                 "`SEEN.append(...)` on the module-level `SEEN`, an object that outlives the "
                 "call (called at tool/deco.py:28)"),
    "ping": ("tool/deco.py:32 ping() calls itself (directly or through other functions), "
             "which is not proven (called at tool/deco.py:37) (called at tool/deco.py:33)"),
    "renamed": ("tool/deco.py:40 renamed() may return an object without the function's name "
                "and docstring (what the parent's listing shows), not a functools.wraps "
                "wrapper"),
    "defaulted": ("tool/deco.py:46 defaulted() changes its parameter `seen`, left to its "
                  "default (an object that outlives the call)"),
    "counted_option": ("tool/deco.py:68 in counted_option(): `REGISTRY.append(name)` calls "
                       "`REGISTRY.append(...)` on the module-level `REGISTRY`, an object that "
                       "outlives the call"),
    "own_option": ("tool/deco.py:72 own_option() may return something else than a decorator "
                   "of the framework"),
    "handle_preload_options": None,
    "flag_option": None,
    "logged": None,
}


#: The decorator expressions of the factories among CASES.
CALLS = {"flag_option": "flag_option('things')", "counted_option": "counted_option('n')",
         "own_option": "own_option('x')"}


def _name(decorator: str) -> str:
    """The command (and its module) decorated by `decorator`: click would show `_` as `-`."""
    return "c" + decorator.replace("_", "")


def _command(name: str, decorator: str) -> str:
    origin = "tool.base" if decorator == "handle_preload_options" else "tool.deco"
    return (f"import click\n\nfrom tool.signals import SENT\nfrom {origin} import {decorator}"
            "\n\n\n"
            f"@click.command()\n@click.option('--loud', is_flag=True)\n@click.pass_context\n"
            f"@{CALLS.get(decorator, decorator)}\ndef {name}(ctx, loud):\n"
            f'    """Command {name}: decorated by {decorator}."""\n'
            f"    click.echo(f'{name} loud={{loud}} sent={{SENT}}')\n")


def _project(root: pathlib.Path) -> pathlib.Path:
    names = {decorator: _name(decorator) for decorator in CASES}
    files = {
        "pyproject.toml": '[project]\nname = "tool"\nversion = "0"\n'
                          'dependencies = ["click", "hotstart"]\n',
        "tool/__init__.py": "",
        "tool/signals.py": "SENT = []\n",
        "tool/base.py": CELERY_BASE,
        "tool/deco.py": DECORATORS,
        "tool/helpers.py": """
            SEEN = []


            class Config:
                tagged = None


            def remember(f):
                SEEN.append(f.__name__)
            """,
        "tool/commands/__init__.py": "",
        "tool/cli.py": "import click\n\nfrom tool import deco, helpers, signals\n"
                       + "".join(f"from tool.commands.{n} import {n}\n" for n in names.values())
                       + '''

@click.group(invoke_without_command=True)
def cli():
    """The tool."""
    click.echo(f"registry={deco.REGISTRY} tagged={deco.CONFIG.tagged} "
               f"seen={helpers.SEEN} sent={signals.SENT}")


''' + "".join(f"cli.add_command({n})\n" for n in names.values()),
    }
    for decorator, name in names.items():
        files[f"tool/commands/{name}.py"] = _command(name, decorator)
    return write_tree(root, files)


def test_only_decorators_proven_inert_let_their_command_be_lazy(tmp_path):
    root = _project(tmp_path / "proj")
    runs = [(), ("--help",), ("chandlepreloadoptions", "--loud"), ("clogged", "--help"),
            ("chandlepreloadoptions", "--help"), ("cregistered",), ("cflagoption", "--things"),
            ("cflagoption", "--help")]
    before = [_run(root, *argv) for argv in runs]
    assert "registry=['cregistered', 'n'] tagged=ctagged seen=['cindirect'] sent=[]" in before[0]
    assert "bye from at_exit" in before[0]
    assert "chandlepreloadoptions loud=True sent=['chandlepreloadoptions']" in before[2]
    assert "things listed" in before[6] and "List things." in before[7]  # the wrapper ran, at run time
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    line = {d: next((ln for ln in done.stdout.splitlines()
                     if f"not made lazy: tool.commands.{_name(d)} " in ln), None)
            for d in CASES}
    for decorator, why in CASES.items():
        if why is None:
            assert line[decorator] is None, (decorator, done.stdout)
            continue
        assert line[decorator] is not None, (decorator, done.stdout)
        assert line[decorator].split("not made lazy: ", 1)[1].startswith(
            f"tool.commands.{_name(decorator)} runs `@{CALLS.get(decorator, decorator)}` when imported (line 10): "), \
            line[decorator]
        assert line[decorator].endswith(why), (decorator, line[decorator])
    assert "made 3 change(s) in 1 file(s)" in done.stdout
    source = (root / "tool" / "cli.py").read_text()
    assert "from tool.commands.chandlepreloadoptions import" not in source
    assert "from tool.commands.clogged import" not in source
    assert "from tool.commands.cflagoption import" not in source
    assert [_run(root, *argv) for argv in runs] == before
    again = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                         cwd=root)
    assert "made 0 change(s)" in again.stdout or "would make 0 change(s)" in again.stdout


def _prove(tmp_path: pathlib.Path, source: str, decorator: str = "deco") -> str | None:
    """What `Prover` says of `@decorator` defined in `source` (module `pkg.mod`)."""
    root = write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": source})
    path = root / "pkg" / "mod.py"
    module = SourceModule("pkg.mod", str(path), path.read_text())
    prover = Prover(lambda name: module if name == "pkg.mod" else None)
    return prover.decorator(module, module.tree.body[-1].decorator_list[0])


def test_values_are_followed_in_order_and_through_branches(tmp_path):
    """A local first bound to a fresh object and then to a shared one is shared where it is
    changed, whatever came before; after a branch it may be either."""
    assert _prove(tmp_path / "a", """
        KEEP = []


        def deco(f):
            box = []
            box.append(f)
            return f


        @deco
        def command():
            pass
        """) is None
    assert _prove(tmp_path / "b", """
        import sys


        def deco(f):
            box = []
            if f.__name__:
                box = sys.modules
            box.update(x=f)
            return f


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:7 in deco(): `box = sys.modules` reads `sys.modules` of "
                 "module-level state, which may change before a lazy import")
    assert _prove(tmp_path / "c", """
        def deco(f):
            fun = f
            while fun is not None:
                keep = fun
                fun = getattr(fun, '__wrapped__', None)
            keep.marked = True
            return f


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:6 in deco(): `keep.marked = True` changes what may be an "
                 "object that outlives the call")


def test_a_wrapper_that_loses_the_name_or_renames_the_function_is_refused(tmp_path):
    assert _prove(tmp_path / "a", """
        import functools


        def deco(f):
            def inner():
                return f()
            inner.__doc__ = 'Other help.'
            return functools.update_wrapper(inner, f)


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:7 in deco(): `inner.__doc__ = 'Other help.'` sets `__doc__`, "
                 "which the parent's listing or the framework may read")
    assert _prove(tmp_path / "b", """
        import functools


        def other():
            \"\"\"Other help.\"\"\"


        def deco(f):
            return functools.update_wrapper(f, other)


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:8 deco() renames its parameter `f`, which is the decorated function or "
                 "outlives the call")
    assert _prove(tmp_path / "c", """
        def deco(f):
            f()
            return f


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:2 in deco(): `f()` calls `f(...)`, which may run code or "
                 "change an object that outlives the call")


def _effect(tmp_path: pathlib.Path, source: str) -> str | None:
    """`first_effect` of the command module `pkg.mod` (its project decorators proven)."""
    root = write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py": source})
    path = root / "pkg" / "mod.py"
    return first_effect(SourceModule("pkg.mod", str(path), path.read_text()))


def test_a_decorator_factory_must_only_build_a_parameter_decorator(tmp_path):
    """`@factory(...)` is proven when it returns what `click.option(...)` builds; a factory
    returning `click.pass_context(x)` (a wrapped function, which the `def` would call) is
    refused."""
    shape = """
        import click


        def listing(kind):
            return click.option("--list", is_flag=True, help=f"List {kind}.")


        def passing(kind):
            return click.pass_context(kind)


        @click.command()
        @DECORATOR
        def command():
            pass
        """
    assert _effect(tmp_path / "a", shape.replace("DECORATOR", "listing('x')")) is None
    assert _effect(tmp_path / "b", shape.replace("DECORATOR", "passing(print)")) == (
        "runs `@passing(print)` when imported (line 13): pkg/mod.py:9 in passing(): "
        "`return click.pass_context(kind)` calls `click.pass_context(...)`, which is not "
        "known to be inert")


def test_module_state_read_through_the_function_is_refused(tmp_path):
    """What the decorator decides from its module's globals may differ when it runs later."""
    assert _prove(tmp_path / "a", """
        import functools


        def deco(f):
            if f.__globals__['DEBUG']:
                return f
            return functools.wraps(f)(lambda *a: f(*a))


        @deco
        def command():
            pass
        """) == ("pkg/mod.py:5 in deco(): `if f.__globals__['DEBUG']: return f` reads "
                 "`__globals__`: module-level state, which may change before a lazy import")


def test_a_literal_pattern_compiled_at_import_is_inert(tmp_path):
    """celery.bin.logtool's `RE_LOG_START = re.compile(r'...')`: compiled later, it matches
    the same; a pattern or flags read from a variable are refused."""
    shape = "import re\nfrom re import IGNORECASE\n\nSOURCE = 'x'\nPATTERN = {}\n"
    assert _effect(tmp_path / "a", shape.format(r"re.compile(r'^\[\d', re.M | IGNORECASE)")) \
        is None
    assert _effect(tmp_path / "b", shape.format("re.compile(SOURCE)")) == \
        "runs `PATTERN = re.compile(SOURCE)` when imported (line 5)"
    assert _effect(tmp_path / "c", shape.format("re.compile('x', re.M | SOURCE)")) == \
        "runs `PATTERN = re.compile('x', re.M | SOURCE)` when imported (line 5)"
