"""`hotstart fix --select cli` for argparse: the registrations it makes lazy, the ones it
refuses (with why), and that the program's help and every subcommand's help stay the same
bytes (checked with `HelpCheck`, in real child interpreters) while `--help` stops importing
the command modules."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

from hotstart.audit import audit
from hotstart.fix import _subcommands_argparse as argparse_codemod
from hotstart.fix._subcommands import HelpCheck

from ._helpers import make

HEAVY = ("pkg.heavy_build", "pkg.heavy_serve", "pkg.heavy_clean", "pkg.heavy_deploy")

FILES = {
    "pkg/__init__.py": "",
    **{f"pkg/{name.split('.')[1]}.py": "# stands in for a library that is slow to import\n"
       for name in HEAVY},
    "pkg/helpers.py": '''
        def add_all(subparsers, verbose=False):
            subparsers.add_parser("extra", help="an extra command")
        ''',
    "pkg/commands/__init__.py": "",
    "pkg/commands/build.py": '''
        import pkg.heavy_build

        HELP = "build the project"


        def register(subparsers):
            """Add `build`."""
            parser = subparsers.add_parser("build", help=HELP, aliases=["b"],
                                           description="Build every target.")
            parser.add_argument("targets", nargs="*")
            parser.add_argument("--fast", action="store_true", help="skip the checks")
            parser.set_defaults(func=run)


        def run(args):
            print("build", args.targets, args.fast)
            return 0
        ''',
    "pkg/commands/serve.py": '''
        import pkg.heavy_serve


        def configure(parser):
            parser.add_argument("--port", type=int, default=8000, help="port to listen on")
            parser.set_defaults(func=lambda args: print("serve", args.port) or 0)
        ''',
    "pkg/commands/clean.py": '''
        import pkg.heavy_clean


        def configure(parser):
            parser.add_argument("--all", action="store_true", help="remove the caches too")
            parser.set_defaults(func=lambda args: print("clean", args.all) or 0)
        ''',
    "pkg/commands/deploy.py": '''
        import pkg.heavy_deploy

        TARGET = "production"


        def add_parser(subparsers):
            parser = subparsers.add_parser("deploy", help=f"deploy to {TARGET}")
            parser.set_defaults(func=lambda args: 0)
        ''',
    "pkg/cli.py": '''
        """The `pkg` command."""

        import argparse
        import sys

        from pkg import helpers
        from pkg.commands import build, clean, serve
        from pkg.commands.deploy import add_parser as add_deploy_parser


        def make_parser():
            parser = argparse.ArgumentParser(prog="pkg", description="A small tool.")
            parser.add_argument("-q", "--quiet", action="store_true")
            sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
            build.register(sub)
            serve.configure(sub.add_parser("serve", help="serve the site",
                                           description="Serve it locally."))
            cleaner = sub.add_parser("clean", help="remove the outputs", aliases=["c"])
            clean.configure(cleaner)
            add_deploy_parser(sub)
            helpers.add_all(sub, verbose=True)
            sub.add_parser("version", help="print the version").set_defaults(
                func=lambda args: print("1.0") or 0)
            return parser


        def main(argv=None):
            args = make_parser().parse_args(argv)
            return args.func(args)


        if __name__ == "__main__":
            sys.exit(main())
        ''',
}

REFUSED = {
    "add_deploy_parser(sub)": (
        "not made lazy: pkg.commands.deploy.add_parser: add_parser's `help` is not a "
        "literal (or a module constant holding one)"),
    "helpers.add_all(sub, verbose=True)": (
        "not made lazy: the call passes more than the subparsers (or the subparsers to more "
        "than the command's function)"),
}


def plan(root):
    """The changes and refusals of `pkg/cli.py`, as `--select cli` plans them."""
    report = audit(str(root), run=False)
    path = str(root / "pkg" / "cli.py")
    file = next(f for f, p in report.paths.items() if p == path)
    source = (root / "pkg" / "cli.py").read_text()
    return argparse_codemod.find(source, "pkg.cli", file, path, report, str(root))


def run(root, *argv):
    """(exit status, stdout, stderr, the heavy modules imported) of `python -m pkg.cli`."""
    code = ("import runpy, sys\n"
            f"sys.argv = ['pkg', *{list(argv)!r}]\n"
            "try:\n"
            "    runpy.run_module('pkg.cli', run_name='__main__')\n"
            "finally:\n"
            f"    print(sorted(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n")
    env = {**os.environ, "PYTHONPATH": str(root), "COLUMNS": "80"}
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, text=True,
                          capture_output=True, timeout=60, check=False)
    err, _, loaded = done.stderr.rstrip("\n").rpartition("\n")
    return done.returncode, done.stdout, err, loaded


@pytest.fixture
def tool(tmp_path):
    return make(tmp_path / "tool", FILES)


def test_each_shape_is_planned_and_the_rest_refused_with_why(tool):
    changes, skipped = plan(tool)

    facts = [(c.site.statement, c.site.data["target"], c.site.data["call_with"],
              c.site.data["keywords"]) for c in changes]
    assert facts == [
        ("build.register(sub)", "pkg.commands.build:register", "subparsers",
         [["help", '"build the project"'], ["aliases", '["b"]']]),
        (('serve.configure(sub.add_parser("serve", help="serve the site", description="Serve '
         'it locally."))'), "pkg.commands.serve:configure", "parser",
         [["help", '"serve the site"'], ["description", '"Serve it locally."']]),
        (('cleaner = sub.add_parser("clean", help="remove the outputs", aliases=["c"]) '
         "clean.configure(cleaner)"), "pkg.commands.clean:configure", "parser",
         [["help", '"remove the outputs"'], ["aliases", '["c"]']]),
    ]
    assert {s.site.statement: s.why for s in skipped} == REFUSED
    data = changes[0].site.data
    assert data["framework"] == "argparse"
    # the program's help, the subcommands it adds itself, then those read from their modules
    assert data["help_paths"] == [["--help"], ["serve", "--help"], ["clean", "--help"],
                                  ["c", "--help"], ["version", "--help"], ["build", "--help"],
                                  ["b", "--help"]]
    assert all(c.site.data["invoke"] == data["invoke"] for c in changes)
    assert all(c.action == "lazy-subcommand" and c.site.klass == "cli" for c in changes)


def test_the_rewrite_keeps_every_help_and_the_listing_imports_no_command(tool):
    changes, _ = plan(tool)
    check = HelpCheck(str(tool), changes, [sys.executable], 60)
    before = check.take()
    runs_before = {argv: run(tool, *argv) for argv in
                   (("--help",), ("b", "x", "--fast"), ("serve", "--port", "81"), ("c",),
                    ("version",), ("nope",), ("serve", "--port", "x"))}
    source = (tool / "pkg" / "cli.py").read_text()

    new, failed = argparse_codemod.rewrite(source, changes)
    (tool / "pkg" / "cli.py").write_text(new)

    assert failed == []
    assert "from hotstart.lazy.cli import add_lazy_parser\n" in new
    assert "from pkg.commands import" not in new and "cleaner" not in new
    assert ('    add_lazy_parser(\n'
            '        sub, "clean", "pkg.commands.clean:configure", call_with="parser",\n'
            '        help="remove the outputs", aliases=["c"],\n'
            '    )\n'
            '    add_deploy_parser(sub)\n') in new
    after = check.take()
    assert len(before) == 7 and check.compare(before, after).ok
    for argv, (code, out, err, loaded) in runs_before.items():
        assert run(tool, *argv)[:3] == (code, out, err), argv
    # what each command line imports now: the refused deploy registration stays eager
    assert runs_before[("--help",)][3] == str(sorted(HEAVY))
    assert run(tool, "--help")[3] == "['pkg.heavy_deploy']"
    assert run(tool, "b", "t")[3] == "['pkg.heavy_build', 'pkg.heavy_deploy']"
    assert run(tool, "c", "--help")[3] == "['pkg.heavy_clean', 'pkg.heavy_deploy']"


def test_any_subset_of_the_changes_gives_working_code(tool):
    changes, _ = plan(tool)
    check = HelpCheck(str(tool), changes, [sys.executable], 60)
    before = check.take()
    source = (tool / "pkg" / "cli.py").read_text()
    for size in (1, 2):
        for subset in itertools.combinations(changes, size):
            new, failed = argparse_codemod.rewrite(source, list(subset))
            assert failed == []
            (tool / "pkg" / "cli.py").write_text(new)
            assert check.compare(before, check.take()).ok, [c.site.statement for c in subset]
            made = {c.site.data["name"] for c in subset}
            loaded = run(tool, "--help")[3]
            assert all((f"pkg.heavy_{name}" in loaded) != (name in made)
                       for name in ("build", "serve", "clean", "deploy")), (made, loaded)


def test_planning_again_on_the_output_changes_nothing(tool):
    changes, skipped = plan(tool)
    source = (tool / "pkg" / "cli.py").read_text()
    new, _ = argparse_codemod.rewrite(source, changes)
    (tool / "pkg" / "cli.py").write_text(new)

    again, refused = plan(tool)

    assert again == []
    assert sorted(s.why for s in refused) == sorted(s.why for s in skipped)
    assert argparse_codemod.rewrite(new, [])[0] == new


def test_help_check_catches_a_rewrite_that_changes_a_help(tool):
    changes, _ = plan(tool)
    check = HelpCheck(str(tool), changes, [sys.executable], 60)
    before = check.take()
    changes[0].site.data["keywords"] = [["help", '"build it"'], ["aliases", '["b"]']]
    source = (tool / "pkg" / "cli.py").read_text()
    (tool / "pkg" / "cli.py").write_text(argparse_codemod.rewrite(source, changes)[0])

    result = check.compare(before, check.take())

    assert not result.ok
    assert "--help: output changed" in result.output
    assert "-    build (b)  build the project\n" in result.output
    assert "+    build (b)  build it\n" in result.output


@pytest.mark.parametrize(("edit", "why"), [
    # the registration function adds its subcommand only on a condition
    (("pkg/commands/build.py", "    parser = subparsers.add_parser(",
      "    if True:\n        pass\n    parser = subparsers.add_parser("),
     ("not made lazy: pkg.commands.build.register has a branch, loop or return before its "
     "add_parser call")),
    # the module is used by the program for more than the registration
    (("pkg/cli.py", "    return parser\n", "    parser.epilog = build.HELP\n    return parser\n"),
     "not made lazy: `build` is also used at line 24: pkg.commands.build stays imported"),
    # the program exports it
    (("pkg/cli.py", '"""The `pkg` command."""\n', ('"""The `pkg` command."""\n\n__all__ = '
      '["build", "main"]\n')),
     "not made lazy: `build` is also used at line 3: pkg.commands.build stays imported"),
    # two subcommands from one function
    (("pkg/commands/build.py", "    parser.set_defaults(func=run)\n",
      "    parser.set_defaults(func=run)\n    subparsers.add_parser(\"rebuild\")\n"),
     ("not made lazy: pkg.commands.build.register uses its subparsers argument other than in "
     "one `subparsers.add_parser(...)` call")),
    # the subcommand's name is computed
    (("pkg/commands/build.py", '"build", help=HELP', 'HELP.split()[0], help=HELP'),
     ("not made lazy: pkg.commands.build.register names its subcommand with something not a "
     "literal")),
])
def test_what_cannot_be_proved_stays_as_it_is_with_why(tool, edit, why):
    relative, old, new = edit
    path = tool / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))

    changes, skipped = plan(tool)

    assert "build.register(sub)" not in [c.site.statement for c in changes]
    assert {s.site.statement: s.why for s in skipped}["build.register(sub)"] == why
    assert {c.site.data["name"] for c in changes} == {"serve", "clean"}


def test_a_program_with_no_known_way_to_run_is_refused(tool):
    path = tool / "pkg" / "cli.py"
    path.write_text(path.read_text().split('if __name__ == "__main__":')[0])

    changes, skipped = plan(tool)

    assert changes == []
    whys = {s.why for s in skipped if s.site.statement not in REFUSED}
    assert len(whys) == 1 and whys.pop().startswith(
        "not made lazy: no way to run the program was found (a console script in "
        "pyproject.toml")


def test_a_console_script_is_how_the_help_is_run(tool):
    (tool / "pyproject.toml").write_text(
        '[project]\nname = "pkg"\nversion = "1"\n[project.scripts]\npkg = "pkg.cli:main"\n')

    changes, _ = plan(tool)

    invoke = changes[0].site.data["invoke"]
    assert "sys.argv = [\"pkg\", *argv]" in invoke and "getattr(target, \"main\")" in invoke
    env = {**os.environ, "HOTSTART_HELP_ARGV": json.dumps(["version"])}
    done = subprocess.run([sys.executable, "-c", invoke], cwd=tool,
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "1.0\n")


def test_comments_stay_or_the_change_is_refused(tool):
    path = tool / "pkg" / "cli.py"
    text = path.read_text().replace("    build.register(sub)\n",
                                    "    build.register(sub)  # the build command\n")
    path.write_text(text)
    changes, _ = plan(tool)

    new, failed = argparse_codemod.rewrite(text, changes)

    assert failed == []
    assert '        aliases=["b"],\n    )  # the build command\n' in new
    # an import whose names have comments between them is not rewritten
    text = text.replace("from pkg.commands import build, clean, serve\n",
                        "from pkg.commands import (  # the commands\n    build,\n    clean,\n"
                        "    serve,\n)\n")
    path.write_text(text)
    changes, _ = plan(tool)
    new, failed = argparse_codemod.rewrite(text, changes)
    assert new == text
    assert [why for _, why in failed] == ["its import has comments between its names"] * 3


def test_a_subparser_the_program_uses_again_is_not_filled_later(tool):
    path = tool / "pkg" / "cli.py"
    path.write_text(path.read_text().replace(
        "    clean.configure(cleaner)\n",
        "    clean.configure(cleaner)\n    cleaner.set_defaults(func=lambda args: 0)\n"))

    changes, skipped = plan(tool)

    assert "clean" not in {c.site.data["name"] for c in changes}
    assert {s.site.statement: s.why for s in skipped}[
        'cleaner = sub.add_parser("clean", help="remove the outputs", aliases=["c"]) '
        "clean.configure(cleaner)"] == (
        "not made lazy: the subparser `cleaner` is used again at line 20: filled later, that "
        "code would run before its registration")


FMT = '''
    import pkg.heavy_build


    def fmt_command(subparsers, defaults):
        parser = subparsers.add_parser("fmt", help="format the code")
        parser.add_argument("--line-length", type=int, **defaults)
        parser.set_defaults(func=lambda args: print("fmt", args.line_length) or 0)
    '''


def with_fmt(tool, function: str = FMT, after: str = "") -> None:
    """The tool with `fmt_command(sub, defaults)` (hatchling's shape: the registration
    functions get a shared dict of add_argument keywords) before the deploy command."""
    make(tool, {"pkg/commands/fmt.py": function})
    path = tool / "pkg" / "cli.py"
    path.write_text(path.read_text().replace(
        "from pkg.commands.deploy", "from pkg.commands.fmt import fmt_command\n"
        "from pkg.commands.deploy").replace(
        "    add_deploy_parser(sub)\n",
        '    defaults = {"metavar": "N", "help": "a number"}\n'
        f"    fmt_command(sub, defaults)\n{after}    add_deploy_parser(sub)\n"))


def test_a_registration_given_more_arguments_gets_them_when_filled(tool):
    with_fmt(tool)
    changes, _ = plan(tool)
    fmt = next(c for c in changes if c.site.data["name"] == "fmt")
    assert fmt.site.data["arguments"] == ["defaults"]
    check = HelpCheck(str(tool), changes, [sys.executable], 60)
    before = check.take()
    ran = run(tool, "fmt", "--line-length", "79")
    source = (tool / "pkg" / "cli.py").read_text()

    new, failed = argparse_codemod.rewrite(source, changes)
    (tool / "pkg" / "cli.py").write_text(new)

    assert failed == []
    assert ('    add_lazy_parser(\n        sub, "fmt", "pkg.commands.fmt:fmt_command", '
            'arguments=(defaults,),\n        help="format the code",\n    )\n') in new
    assert ["fmt", "--help"] in fmt.site.data["help_paths"]
    assert check.compare(before, check.take()).ok
    assert run(tool, "fmt", "--line-length", "79")[:3] == ran[:3] == (0, "fmt 79\n", "")


@pytest.mark.parametrize(("function", "after", "why"), [
    (FMT.replace("**defaults)", "**defaults)\n        defaults.pop(\"help\")"), "",
     ("not made lazy: pkg.commands.fmt.fmt_command may change the dict `defaults` it is "
     "given: deferring the call would change what the code after it sees")),
    (FMT, '    defaults["help"] = "changed"\n',
     ("not made lazy: `defaults` is also used at line 23, which may change it before the "
     "deferred call reads it")),
])
def test_a_shared_value_that_may_change_keeps_the_registration(tool, function, after, why):
    with_fmt(tool, function, after)

    changes, skipped = plan(tool)

    assert "fmt" not in {c.site.data["name"] for c in changes}
    assert {s.site.statement: s.why for s in skipped}["fmt_command(sub, defaults)"] == why


def test_a_help_held_by_a_constant_of_the_function_is_read(tool):
    path = tool / "pkg" / "commands" / "build.py"
    path.write_text(path.read_text().replace('HELP = "build the project"\n', "").replace(
        '    """Add `build`."""\n', '    """Add `build`."""\n    HELP = "build the project"\n'))

    changes, _ = plan(tool)

    build = next(c for c in changes if c.site.data["name"] == "build")
    assert build.site.data["keywords"] == [["help", '"build the project"'],
                                           ["aliases", '["b"]']]
