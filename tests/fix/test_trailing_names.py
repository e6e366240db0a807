"""A `from pkg import a, b` whose earlier names must stay: its last names may go alone (issue
11: xarray's `from xarray import coders, ..., tutorial, ufuncs`, where `tutorial`'s chain has
an exit handler and `ufuncs` is 18 ms of wrappers the path never uses).

A later name may rely on an earlier one having been imported (`pkg.plugins` runs
`pkg.core.register(...)` at its import), never the other way round: the earlier ran first.
So a name counts its own effects and those of the names after it, and the part of a
statement that goes alone is the names after every name that stays, each a submodule (only
those own an edge of their own). Real projects, real child interpreters; module sets
asserted, never times."""

from __future__ import annotations

from conftest import write_tree

from hotstart.audit import audit
from hotstart.fix import fix

from ._helpers import run_python, snapshot

ENTRY = "-c 'import pkg; pkg.main()'"
PACKAGE = {
    "pkg/__init__.py": "from pkg import exits, heavy\n\n\ndef main():\n    return 1\n",
    # an effect deferring would move: an exit handler registered at import
    "pkg/exits.py": "import atexit\n\n\n@atexit.register\ndef _bye():\n    pass\n",
    # no effect, and what it imports is what leaves the path with it
    "pkg/heavy.py": "import decimal\nimport fractions\n\n\ndef total(x):\n"
                    "    return fractions.Fraction(decimal.Decimal(x))\n",
}
LOADED = ("import pkg, sys; print(sorted(m for m in ('pkg.heavy', 'pkg.exits', 'fractions') "
          "if m in sys.modules))")


def _project(tmp_path, monkeypatch, files):
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return tmp_path


def _classes(report, module: str) -> dict[str, str]:
    return {b.name: s.klass for s in report.sites if s.module == module for b in s.names}


def test_the_last_names_after_an_effect_go_alone(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch, PACKAGE)
    report = audit("pkg", entries=[ENTRY], runs=1)
    assert _classes(report, "pkg") == {"exits": "side-effect", "heavy": "deferrable"}
    [heavy] = [s for s in report.sites if s.names[0].name == "heavy"]
    assert heavy.best_saving is not None and "pkg.heavy" in heavy.best_saving.modules

    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert [(c.site.line, [b.name for b in c.site.names]) for c in result.changes] == [
        (1, ["heavy"])]
    source = (root / "pkg/__init__.py").read_text()
    assert source.startswith("from pkg import exits\n"), source
    assert run_python(root, LOADED).strip() == "['pkg.exits']"
    # the name is still there, loaded on first use; the exit handler still registered first
    assert run_python(root, "import pkg; print(pkg.heavy.total('0.5'))").strip() == "1/2"
    assert run_python(root, "from pkg import heavy; print(heavy.total('2'))").strip() == "2"
    [measured] = result.remeasured
    assert measured.modules_before - measured.modules_after >= 2  # pkg.heavy, fractions

    again = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert again.changes == [] and again.files == []  # the fixed point


def test_a_name_before_an_effect_stays(tmp_path, monkeypatch):
    """`from pkg import heavy, exits`: `exits` may rely on `pkg.heavy` being imported, so
    `heavy` counts `exits`'s effects and stays (its own imports may still move into its
    function: it stays on the path)."""
    init = "from pkg import heavy, exits\n\n\ndef main():\n    return 1\n"
    root = _project(tmp_path, monkeypatch, {**PACKAGE, "pkg/__init__.py": init})
    report = audit("pkg", entries=[ENTRY], runs=1)
    assert _classes(report, "pkg") == {"heavy": "side-effect", "exits": "side-effect"}
    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert [c for c in result.changes if c.site.module == "pkg"] == []
    assert (root / "pkg/__init__.py").read_text() == init
    assert run_python(root, LOADED).strip() == "['pkg.exits', 'pkg.heavy']"


def test_a_later_name_reading_an_earlier_one_keeps_it(tmp_path, monkeypatch):
    """`from pkg import core, plugins` in a module: `plugins` reads `pkg.core` at import (no
    effect, a read) and is used at import, so it stays; `core` comes before it and is used
    only in a function: it must stay too (deferred, `pkg.core` would be missing when
    `plugins` runs)."""
    files = {
        "pkg/__init__.py": "",
        "pkg/core.py": "import decimal\n\nHANDLERS = {'json': decimal.Decimal}\n",
        "pkg/plugins.py": "import pkg\n\nNAMES = sorted(pkg.core.HANDLERS)\n",
        "pkg/app.py": "from pkg import core, plugins\n\nFIRST = plugins.NAMES[0]\n\n\n"
                      "def main():\n    return core.HANDLERS[FIRST]('1')\n",
    }
    root = _project(tmp_path, monkeypatch, files)
    before = snapshot(root)
    entry = "-c 'import pkg.app'"
    report = audit("pkg", entries=[entry], runs=1)
    assert _classes(report, "pkg.app") == {"core": "deferrable", "plugins": "needed"}
    result = fix("pkg", entries=[entry], write=True, runs=1, runtime="stdlib")
    assert [c for c in result.changes if c.site.module == "pkg.app"] == []
    assert snapshot(root) == before
    assert run_python(root, "import pkg.app; print(pkg.app.main())").strip() == "1"


def test_a_trailing_name_used_in_a_function_moves_into_it(tmp_path, monkeypatch):
    """Not a package __init__: the last name, used only in a function, moves into it while
    the name with an effect stays at the top."""
    files = {**PACKAGE, "pkg/__init__.py": "",
             "pkg/app.py": "from pkg import exits, heavy\n\n\n"
                           "def main():\n    return heavy.total('3')\n"}
    root = _project(tmp_path, monkeypatch, files)
    entry = "-c 'import pkg.app'"
    result = fix("pkg", entries=[entry], write=True, runs=1, runtime="stdlib")
    assert [(c.site.module, [b.name for b in c.site.names]) for c in result.changes] == [
        ("pkg.app", ["heavy"])]
    source = (root / "pkg/app.py").read_text()
    assert source.startswith("from pkg import exits\n"), source
    assert run_python(root, "import pkg.app, sys; print('pkg.heavy' in sys.modules, "
                            "pkg.app.main())").strip() == "False 3"
