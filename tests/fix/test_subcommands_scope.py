"""The `cli` codemod resolves names by scope (`fix/_subcommands_scope`): a parameter,
local, comprehension variable or nested function named like a registered command is another
variable, so the registration is still made lazy (hatch's `def hatch(ctx, project, ...)`
beside `from hatch.cli.project import project`); a real read of the global, or a function
that rebinds it with `global`, still refuses. Checked on a real click program, run in child
interpreters before and after."""

from __future__ import annotations

import ast
import sys
import textwrap

from hotstart.fix import _subcommands
from hotstart.fix._subcommands_scope import global_names

from .test_subcommands_click import PYPROJECT, plan, rewrite_file, run_program, write

COMMAND = '''
import click


@click.command()
def {name}():
    """The {name} command."""
    click.echo("{name} ran")
'''

CLI = '''
"""A click program whose group callback has a parameter named like a command."""
import click

from tool.commands.project import project
from tool.commands.fmt import fmt
from tool.commands.code import code
from tool.commands.check import check
from tool.commands.types import types
from tool.commands.lint import lint

DEFAULT = lint  # a read while the module is imported: `lint` stays eager


@click.group()
@click.option("--project", default=None)
@click.pass_context
def cli(ctx, project):
    """The tool."""
    def fmt(text):  # a nested function of the same name
        return f"[{text}]"

    names = [code for code in ("a", "b")]  # a comprehension variable
    click.echo(fmt(project or "none") + "".join(names))


def run_check(ctx):
    """Run the checks."""
    ctx.invoke(check)  # a use when called: the function gets an import of its own


def rebind():
    global types  # rebinds the global: `types` stays eager
    types = None


cli.add_command(project)
cli.add_command(fmt)
cli.add_command(code)
cli.add_command(check)
cli.add_command(types)
cli.add_command(lint)
cli.command("all")(click.pass_context(run_check))
'''


def test_global_names_by_scope():
    source = textwrap.dedent('''
        from x import project, code, fmt, y
        @group(name=project.name)
        def hatch(ctx, project, *, fmt=fmt):
            code = 1
            def inner():
                return project, code
            print([project for project in ctx], lambda code: code)
            print([code for _ in project])
        def other():
            global fmt
            fmt = 2
        class A:
            project = project
            y = 3
            def run(self): return project
        def f(a: code): pass
        [w := 1 for z in ()]
        def g():
            return [lambda: code]
        h = lambda: later
    ''')
    found = global_names(ast.parse(source))
    # line 3: the decorator; 4: fmt's default; 14: a class body reads the global; 16: read
    # by a method when it runs; 17: an annotation (line 9's `code` is hatch's local, its
    # `project` hatch's parameter)
    assert found.loads["project"] == [(3, None), (14, None), (16, "A.run")]
    assert found.loads["fmt"] == [(4, None)]
    assert found.loads["code"] == [(17, None), (20, "g")]
    assert found.loads["later"] == [(21, None)]  # a lambda cannot import
    assert "y" not in found.loads
    assert found.binds["fmt"] == [2, 12]  # the import and the `global` rebinding
    assert found.binds["y"] == [2]  # a class attribute is not a global
    assert found.binds["w"] == [18]  # a comprehension's `:=` binds the module's name
    assert "z" not in found.binds


def test_shadowing_locals_are_not_uses(tmp_path):
    files = {"tool/__init__.py": "", "tool/commands/__init__.py": "", "tool/cli.py": CLI,
             "pyproject.toml": PYPROJECT.format(name="tool", target="tool.cli:cli")}
    files.update({f"tool/commands/{name}.py": COMMAND.format(name=name)
                  for name in ("project", "fmt", "code", "check", "types", "lint")})
    root = write(tmp_path / "proj", files)
    changes, skipped = plan(root)
    assert sorted(c.site.data["binding"] for c in changes) == [
        "check", "code", "fmt", "project"]
    assert [c.description for c in changes if c.site.data["binding"] == "check"] == [
        ("`check` registered lazily (tool.commands.check:check imported when used; its "
        "import moved into run_check())")]
    assert sorted(s.why for s in skipped) == [
        "not made lazy: `lint` is also used at line 11",
        "not made lazy: `types` is bound more than once in the module"]
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict) and len(before) == 6
    runs = {argv: run_program(root, "from tool.cli import cli; cli()", *argv)
            for argv in (("--project", "p", "fmt"), ("project",), ("code",), ("all",),
                         ("check",))}

    new = rewrite_file(root / "tool" / "cli.py", changes)
    for name in ("project", "fmt", "code"):
        assert f"from tool.commands.{name} import" not in new
    assert "from tool.commands.check import check\n\n\ndef cli(" not in new
    assert '    """Run the checks."""\n' in new
    assert "    from tool.commands.check import check\n    ctx.invoke(check)" in new
    assert "def cli(ctx, project):" in new  # the parameter is untouched
    result = check.compare(before, check.take())
    assert result.ok, result.output
    for argv, (code, out, err, loaded) in runs.items():
        after = run_program(root, "from tool.cli import cli; cli()", *argv)
        assert after[:3] == (code, out, err) and code == 0, argv
        target = "check" if argv == ("all",) else argv[-1]
        assert f"tool.commands.{target}" in after[3]
    assert runs[("--project", "p", "fmt")][1] == "[p]ab\nfmt ran\n"
    assert runs[("all",)][1] == "[none]ab\ncheck ran\n"
    _code, _out, _err, loaded = run_program(root, "from tool.cli import cli; cli()", "--help")
    assert [m for m in loaded if m.startswith("tool.commands.")] == [
        "tool.commands.lint", "tool.commands.types"]
    assert plan(root)[0] == []  # idempotent
