"""The `cli` codemod on typer commands that register themselves (`@app.command()` in a
module the app's module imports only for that): made lazy like the click form, on a real
typer program run in child interpreters before and after (help byte for byte, the commands'
output, the modules `--help` loads); and the forms it refuses, with why."""

from __future__ import annotations

import json
import sys

from hotstart.fix import _subcommands
from hotstart.fix._subcommands_click import UNKNOWN

from .test_subcommands_click import (
    HEAVY,
    PYPROJECT,
    plan,
    rewrite_file,
    run_program,
    write,
)

FILES = {
    "pyproject.toml": PYPROJECT.format(name="app", target="app.main:app"),
    "app/__init__.py": "",
    "app/heavy.py": HEAVY,
    "app/commands/__init__.py": "",
    "app/main.py": '''
        """The app."""
        import typer

        app = typer.Typer(help="The app.")

        # the commands register themselves on `app`
        from app.commands import serve, status  # noqa: E402,F401


        @app.command()
        def version():
            """Show the version."""
            print("1.0")
    ''',
    "app/commands/serve.py": '''
        from app import heavy
        from app.main import app


        @app.command(rich_help_panel="Server", short_help="Serve it.")
        def serve_site(port: int = 8000):
            """Serve the site.

            On a port.
            """
            print(f"serving {port} {heavy.LOADED}")


        @app.command("stop", hidden=True)
        def stop_site():
            """Stop serving."""
            print("stopped")
    ''',
    "app/commands/status.py": '''
        from app import heavy
        from app.main import app


        @app.command()
        def status(verbose: bool = False):
            """Show the status."""
            print(f"status verbose={verbose} {heavy.LOADED}")
    ''',
}
PROGRAM = "from app.main import app; app()"


def test_typer_self_registering_modules_made_lazy(tmp_path):
    root = write(tmp_path / "proj", FILES)
    changes, skipped = plan(root)
    assert skipped == []
    assert [c.description for c in changes] == [
        "`serve-site`, `stop` registered lazily (app.commands.serve imported when used)",
        "`status` registered lazily (app.commands.status imported when used)"]
    check = _subcommands.HelpCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert isinstance(before, dict)
    assert sorted(json.loads(argv) for _invoke, argv in before) == [
        ["--help"], [UNKNOWN], ["serve-site", "--help"], ["status", "--help"],
        ["stop", "--help"]]
    argvs = (["serve-site", "--port", "9"], ["stop"], ["status", "--verbose"],
             ["version"])
    runs = [run_program(root, PROGRAM, *argv) for argv in argvs]
    assert runs[0][:2] == (0, "serving 9 True\n")

    new = rewrite_file(root / "app" / "main.py", changes)
    assert "from app.commands import" not in new
    assert "from hotstart.lazy.cli import add_lazy_typer_command\n" in new
    assert '# the commands register themselves on `app`\nadd_lazy_typer_command(\n    app,\n' \
        '    "app.commands.serve:serve_site",\n    function="serve_site",\n' in new
    assert '    "app.commands.serve:stop_site",\n    name="stop",\n' \
        '    doc="""Stop serving.""",\n    hidden=True,\n' in new
    result = check.compare(before, check.take())
    assert result.ok, result.output
    code, out, _err, loaded = run_program(root, PROGRAM, "--help")
    assert code == 0 and "Serve it." in out and "stop" not in out
    assert loaded == ["app", "app.main"]
    for argv, (code, out, err, loaded) in zip(argvs, runs, strict=True):
        after = run_program(root, PROGRAM, *argv)
        assert after[:3] == (code, out, err) and code == 0, argv
        assert len(after[3]) <= len(loaded)
    assert "app.commands.status" not in run_program(root, PROGRAM, "stop")[3]
    assert plan(root) == ([], [])  # idempotent


def test_typer_self_registering_forms_refused(tmp_path):
    files = dict(FILES)
    files["app/commands/serve.py"] = '''
        import functools

        from app.main import app

        PANEL = "Server"


        @app.command(rich_help_panel=PANEL)
        def serve_site():
            """Serve the site."""
    '''
    files["app/commands/status.py"] = '''
        import functools

        from app.main import app


        @app.command()
        @functools.lru_cache
        def status():
            """Show the status."""
    '''
    root = write(tmp_path / "proj", files)
    changes, skipped = plan(root)
    assert changes == []
    assert sorted(s.why for s in skipped) == [
        ("not made lazy: `PANEL` in app.commands.serve.serve_site's decorator is not a "
        "literal"),
        ("not made lazy: app.commands.status.status has another decorator: it may change "
        "the function's name or docstring")]
