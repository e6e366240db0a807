"""One `fix` run reaches the fixed point: a second run on its output changes nothing.

`fractions` imports `numbers`; `pkg.a` defers `fractions`, `pkg.b` defers `numbers`. Alone,
`pkg.b`'s import saves nothing (fractions loads numbers anyway), so the first run moved only
`fractions` and the second run then moved `numbers` (seen on joblib and jsonschema). Savings
are now priced jointly: a site that saves once the others are gone is changed too.
"""

from __future__ import annotations

import textwrap

from conftest import write_tree

from hotstart.fix import fix

FILES = {
    "pkg/__init__.py": "",
    "pkg/main.py": "from pkg import a, b\n\nJOBS = [a.half, b.is_number]\n",
    "pkg/a.py": textwrap.dedent("""\
        import fractions


        def half(x):
            return fractions.Fraction(x, 2)
    """),
    "pkg/b.py": textwrap.dedent("""\
        import numbers


        def is_number(x):
            return isinstance(x, numbers.Number)
    """),
}


def test_second_fix_makes_no_change(tmp_path, monkeypatch):
    write_tree(tmp_path, FILES)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    first = fix(str(tmp_path / "pkg"), entries=["-c 'import pkg.main'"], write=True)
    moved = sorted(c.site.imported for c in first.changes)
    assert moved == ["fractions", "numbers"], moved
    numbers = next(c.site for c in first.changes if c.site.imported == "numbers")
    assert numbers.best_saving is not None and "numbers" in numbers.best_saving.modules
    second = fix(str(tmp_path / "pkg"), entries=["-c 'import pkg.main'"], write=True)
    assert second.changes == []
