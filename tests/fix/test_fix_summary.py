"""The first line of `hotstart fix`'s summary says what the generated code needs at run time:
the hotstart modules a rewritten file newly imports (the lazy subcommands need
`hotstart.lazy.cli` even when the import changes are plain standard library), else stdlib."""

from __future__ import annotations

from hotstart.fix import fix
from hotstart.render.fix import render_fix

from .test_subcommands_click import click_project  # noqa: F401  (the fixture)


def test_the_summary_names_what_each_generated_code_needs(click_project):  # noqa: F811
    root = click_project
    heavy = root / "tool" / "heavy.py"
    heavy.write_text("import json  # unused: a dead import, removed\n" + heavy.read_text())

    result = fix(str(root), select=("cli", "dead"))  # --runtime auto: it depends on hotstart

    assert sorted({c.action for c in result.changes}) == ["lazy-subcommand", "remove"]
    assert result.runtime == "stdlib"  # no import site of the project uses hotstart
    needs = {f.shown.replace(str(root), "").lstrip("/"): f.needs() for f in result.files}
    assert needs == {"tool/cli.py": ["hotstart.lazy.cli"], "tool/heavy.py": []}
    first = render_fix(result).splitlines()[0]
    shown = next(f.shown for f in result.files if f.path.endswith("cli.py"))
    assert first.endswith(f"(runtime code: hotstart.lazy.cli in {shown}; stdlib elsewhere)")

    imports_only = fix(str(root), select=("dead",))
    assert render_fix(imports_only).splitlines()[0].endswith("(runtime code: stdlib)")
