"""The `cli` codemod makes a command module lazy only when importing it does nothing but
define things (`fix/_subcommands_inert`, a whitelist) and no project module reads it as an
attribute of its package: each shape the attack A2 found (F2, F2b, F3, F4) is refused with
its line, and the program run in a real child interpreter prints the same before and after
`hotstart fix --select cli --write`; an inert module beside them is still made lazy."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
from conftest import run_hotstart, write_tree

from ._helpers import make
from .test_subcommands_argparse import FILES
from .test_subcommands_argparse import plan as argparse_plan

#: click command modules, each with one import-time effect the program relies on.
EFFECTS = {
    "p1": ("from tool.registry import Base\n\n\nclass P1Plugin(Base):\n    pass\n",
           "runs `class P1Plugin(Base): pass` when imported (line 5)"),
    "p2": ("from tool import registry\n\nregistry.SETTINGS['p2'] = 'on'\n",
           "runs `registry.SETTINGS['p2'] = 'on'` when imported (line 4)"),
    "p3": ("import os\n\nos.environ['TOOL_MODE'] = 'fast'\n",
           "runs `os.environ['TOOL_MODE'] = 'fast'` when imported (line 4)"),
    "p4": ("import atexit\n\n\n@atexit.register\ndef _bye():\n    print('bye from p4')\n",
           "runs `@atexit.register` when imported (line 5)"),
    "p5": ("from tool.registry import PLUGINS\n\nPLUGINS += ['p5']\n",
           "runs `PLUGINS += ['p5']` when imported (line 4)"),
    "q1": ("import logging\n\n_configured = logging.basicConfig(level=logging.INFO)\n",
           ("runs `_configured = logging.basicConfig(level=logging.INFO)` when imported "
            "(line 4)")),
    "q2": ("import sys\n\nif True:\n    sys.setrecursionlimit(5000)\n",
           "runs `if True: sys.setrecursionlimit(5000)` when imported (line 4)"),
    "q3": ("import sys\n\ntry:\n    sys.TOOL_FLAG = 1\nexcept Exception:\n    pass\n",
           "runs `try: sys.TOOL_FLAG = 1 except Exception: pass` when imported (line 4)"),
    "f4": ("VERSION = '1.2'\n", ("tool.util reads tool.commands.f4 as an attribute of "
                                  "tool.commands (`tool.commands.f4.VERSION`, line 5)")),
}
#: A command module that only defines things, in every shape the whitelist admits.
INERT = '''
    """The inert command."""
    from __future__ import annotations

    import enum
    import logging
    from typing import TYPE_CHECKING

    import click

    if TYPE_CHECKING:
        from collections.abc import Sequence

    __all__ = ["ok"]
    log = logging.getLogger(__name__)
    LIMIT = 2 ** 10
    with_name = click.option("--name", default="x", type=click.Choice(["x", "y"]))


    class Colour(str, enum.Enum):
        RED = "red"


    class Options:
        """Plain."""

        size: int = 3

        @property
        def doubled(self) -> int:
            return self.size * 2


    @click.command()
    @with_name
    @click.argument("items", nargs=-1)
    def ok(name: str, items: Sequence[str] = ()) -> None:
        """Inert command."""
        click.echo(f"ok {name}")


    if __name__ == "__main__":
        ok()
    '''


def _project(root: pathlib.Path) -> pathlib.Path:
    names = [*EFFECTS, "ok"]
    files = {
        "pyproject.toml": '[project]\nname = "tool"\nversion = "0"\n'
                          'dependencies = ["click", "hotstart"]\n',
        "tool/__init__.py": "",
        "tool/registry.py": """
            PLUGINS = []
            SETTINGS = {}


            class Base:
                def __init_subclass__(cls, **kw):
                    super().__init_subclass__(**kw)
                    PLUGINS.append(cls.__name__)
            """,
        "tool/util.py": """
            import tool.commands


            def version():
                return tool.commands.f4.VERSION
            """,
        "tool/commands/__init__.py": "",
        "tool/commands/ok.py": INERT,
        "tool/cli.py": "import os\nimport sys\n\nimport click\n\nfrom tool import registry, util\n"
                       + "".join(f"from tool.commands.{n} import {n}\n" for n in names) + '''

@click.group(invoke_without_command=True)
def cli():
    """The tool."""
    click.echo(f"plugins={registry.PLUGINS} settings={registry.SETTINGS} "
               f"env={os.environ.get('TOOL_MODE')} limit={sys.getrecursionlimit()} "
               f"flag={getattr(sys, 'TOOL_FLAG', None)} version={util.version()}")
    click.echo(f"level={__import__('logging').getLogger().level}")


''' + "".join(f"cli.add_command({n})\n" for n in names),
    }
    for name, (effect, _why) in EFFECTS.items():
        files[f"tool/commands/{name}.py"] = (
            f"import click\n{effect}\n\n@click.command()\ndef {name}():\n"
            f'    """Command {name}."""\n')
    return write_tree(root, files)


def _run(root: pathlib.Path, *argv: str) -> str:
    code = "import sys; sys.argv[0] = 'tool'; from tool.cli import cli; cli()"
    done = subprocess.run([sys.executable, "-c", code, *argv], cwd=root, text=True,
                          capture_output=True, timeout=60, check=False)
    return done.stdout + done.stderr


def test_a_command_module_that_does_anything_on_import_stays_eager(tmp_path):
    root = _project(tmp_path / "proj")
    before = _run(root), _run(root, "ok", "--name", "y"), _run(root, "--help")
    assert "plugins=['P1Plugin', 'p5'] settings={'p2': 'on'} env=fast limit=5000 flag=1 " \
           "version=1.2" in before[0]
    assert "bye from p4" in before[0]
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    for name, (_effect, why) in EFFECTS.items():
        assert why in done.stdout if name == "f4" else \
            f"not made lazy: tool.commands.{name} {why}" in done.stdout, (name, done.stdout)
    assert "made 1 change(s) in 1 file(s)" in done.stdout
    source = (root / "tool" / "cli.py").read_text()
    assert "from tool.commands.ok import ok" not in source  # the inert one is lazy
    assert all(f"from tool.commands.{n} import {n}" in source for n in EFFECTS)
    assert (_run(root), _run(root, "ok", "--name", "y"), _run(root, "--help")) == before


def test_typer_sub_app_changed_after_creation_stays_eager(tmp_path):
    """F3: `app.info.help = ...` sets what the parent's help lists, after `Typer(...)`."""
    root = write_tree(tmp_path / "proj", {
        "pyproject.toml": '[project]\nname = "tapp"\nversion = "0"\n'
                          'dependencies = ["typer", "hotstart"]\n',
        "tapp/__init__.py": "", "tapp/subs/__init__.py": "",
        "tapp/main.py": """
            import typer

            from tapp.subs import info

            app = typer.Typer()
            app.add_typer(info.app, name="info")


            @app.command()
            def top():
                \"\"\"Top command.\"\"\"
            """,
        "tapp/subs/info.py": """
            import typer

            app = typer.Typer()
            app.info.help = "Set after creation."


            @app.command()
            def x(count: int = typer.Option(1, help="How many.")):
                \"\"\"X.\"\"\"


            @app.command()
            def y():
                \"\"\"Y.\"\"\"
            """})
    done = run_hotstart("fix", ".", "--select", "cli", "--runtime", "hotstart", "--static",
                        "--write", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "not made lazy: tapp.subs.info runs `app.info.help = \"Set after creation.\"` " \
           "when imported (line 4)" in done.stdout
    assert "made 0 change(s)" in done.stdout


@pytest.mark.parametrize(("effect", "why"), [
    ("SEEN = 0\nfor _k in 'ab':\n    pass\n",
     "pkg.commands.build runs `for _k in 'ab': pass` when imported (line 4)"),
    ("import pkg.helpers\n\n\nclass Plugin(pkg.helpers.Base):\n    pass\n",
     "pkg.commands.build runs `class Plugin(pkg.helpers.Base): pass` when imported (line 6)"),
    ("with open(__file__) as _f:\n    SOURCE = _f.read()\n",
     ("pkg.commands.build runs `with open(__file__) as _f: SOURCE = _f.read()` when "
      "imported (line 3)")),
])
def test_argparse_command_modules_pass_the_same_whitelist(tmp_path, effect, why):
    """argparse command modules (`_subcommands_argparse`) are read by the same whitelist,
    beside the audit's effects (which miss these three)."""
    root = make(tmp_path / "tool", FILES)
    build = root / "pkg" / "commands" / "build.py"
    build.write_text(build.read_text().replace("\nHELP =", f"\n{effect}\nHELP =", 1))
    helpers = root / "pkg" / "helpers.py"
    helpers.write_text(helpers.read_text() + "\n\nclass Base:\n    pass\n")
    changes, skipped = argparse_plan(root)
    assert "build.register(sub)" not in [c.site.statement for c in changes]
    assert {s.site.statement: s.why for s in skipped}["build.register(sub)"].startswith(
        f"not made lazy: {why}")
    assert {c.site.data["name"] for c in changes} == {"serve", "clean"}


def test_argparse_command_module_read_through_its_package_stays_eager(tmp_path):
    root = make(tmp_path / "tool", FILES)
    helpers = root / "pkg" / "helpers.py"
    helpers.write_text("import pkg.commands\n\n\ndef target():\n"
                       "    return pkg.commands.build.HELP\n\n\n" + helpers.read_text())
    changes, skipped = argparse_plan(root)
    assert {c.site.data["name"] for c in changes} == {"serve", "clean"}
    assert {s.site.statement: s.why for s in skipped}["build.register(sub)"] == (
        "not made lazy: pkg.helpers reads pkg.commands.build as an attribute of pkg.commands "
        "(`pkg.commands.build.HELP`, line 5), which needs it imported")
