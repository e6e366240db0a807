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


def _twice(tmp_path, monkeypatch, files: dict[str, str]):
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    options = dict(entries=["-c 'import pkg'"], write=True, runtime="stdlib")
    first = fix(str(tmp_path / "pkg"), **options)
    second = fix(str(tmp_path / "pkg"), **options)
    return first, second


def test_a_dead_import_removed_in_the_same_run_counts(tmp_path, monkeypatch):
    """joblib: run 1 removed an unused `import json` as dead, and only run 2 moved the other
    module's `import json`, which saved nothing while the dead one stood."""
    first, second = _twice(tmp_path, monkeypatch, {
        "pkg/__init__.py": "from .a import f\nfrom .b import g\n\nCHECKS = [f, g]\n",
        "pkg/a.py": "import fractions\n\n\ndef f():\n    return 1\n",
        "pkg/b.py": "import fractions\n\n\ndef g():\n    return fractions.Fraction(1, 2)\n",
    })
    assert sorted((c.site.module, c.site.klass) for c in first.changes) == [
        ("pkg.a", "dead"), ("pkg.b", "deferrable")]
    assert second.changes == []


def test_names_of_one_statement_move_in_one_run(tmp_path, monkeypatch):
    """joblib: `from ._utils import (A, B)`, each name used in another method, moved one name
    per run once the other importer of `_utils` became a lazy re-export."""
    first, second = _twice(tmp_path, monkeypatch, {
        "pkg/__init__.py": ("from .par import Parallel\nfrom .backends import Backend\n\n"
                            "BACKENDS = [Backend]\n"),
        "pkg/par.py": ("from ._utils import eval_expr\n\n\nclass Parallel:\n"
                       "    def run(self, e):\n        return eval_expr(e)\n"),
        "pkg/_utils.py": ("import fractions\nimport decimal\n\n\ndef eval_expr(e):\n"
                          "    return e\n\n\ndef retrieve(x):\n    return x\n\n\n"
                          "class Wrapper:\n    pass\n"),
        "pkg/backends.py": ("from ._utils import (retrieve, Wrapper)\n\n\nclass Backend:\n"
                            "    def submit(self):\n        return Wrapper()\n\n"
                            "    def result(self, x):\n        return retrieve(x)\n"),
    })
    moved = sorted(n.name for c in first.changes for n in c.site.names)
    assert {"Wrapper", "retrieve"} <= set(moved), moved
    assert second.changes == []


def test_a_dead_name_does_not_stand_for_its_whole_statement(tmp_path, monkeypatch):
    """patsy: `from patsy.parse_formula import ParseNode, Token, parse_formula`, Token unused:
    run 1 removed Token and counted the statement as gone, so the names that stay were priced
    at nothing; run 2 moved them."""
    parse = ("import fractions\nimport decimal\n\nHALF = fractions.Fraction(1, 2)\n"
             "ONE = decimal.Decimal(1)\n\n\nclass Node:\n    pass\n\n\nclass Token:\n"
             "    pass\n\n\ndef parse(text):\n    return Node()\n")
    first, second = _twice(tmp_path, monkeypatch, {
        "pkg/__init__.py": ("from . import desc\nfrom .other import go\n\nMODULES = [desc]\n\n\n"
                            "def run(text):\n    return go(text)\n"),
        "pkg/parse.py": parse,
        "pkg/desc.py": ("from pkg.parse import Node, Token, parse\n\n\ndef make():\n"
                        "    return Node()\n\n\ndef read(text):\n    return parse(text)\n"),
        "pkg/other.py": ("from pkg.parse import parse\n\n\ndef go(text):\n"
                         "    return parse(text)\n"),
    })
    moved = sorted(n.name for c in first.changes for n in c.site.names)
    assert moved == ["Node", "Token", "go", "parse"], moved
    assert second.changes == []
