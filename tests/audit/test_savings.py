"""Measured savings (`hotstart.audit.savings`): each audit here profiles a real interpreter
once (runs=1), so they are few and shared per module. Only deterministic facts are asserted
(which modules drop, who else imports them), never timings."""

from __future__ import annotations

import pytest

from conftest import write_tree

from hotstart.audit import audit

from ._helpers import site


def make_project(base, package: str, with_other: bool):
    """`PKG.cli` imports `PKG.heavy` (numpy, only for a function) and, optionally,
    `PKG.other` (numpy for a module-level use)."""
    files = {
        f"{package}/__init__.py": "",
        f"{package}/cli.py": (
            f"import {package}.heavy\n"
            + (f"import {package}.other\n" if with_other else "")
            + f"\n\ndef main():\n    return {package}.heavy.compute()\n"),
        f"{package}/heavy.py": "import numpy\n\n\ndef compute():\n    return numpy.zeros(3)\n",
    }
    if with_other:
        files[f"{package}/other.py"] = "import numpy\n\nZERO = numpy.float64(0)\n"
    write_tree(base, files)
    return audit(str(base / package), entries=[f"-m {package}.cli"], runs=1)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("shared"), "app", with_other=True)


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("alone"), "app", with_other=False)


def test_deferring_a_library_another_module_needs_saves_nothing(shared):
    heavy = site(shared, "app.heavy", "numpy")
    assert heavy.klass == "deferrable"
    [saving] = heavy.savings
    assert saving.entry == "-m app.cli"
    assert (saving.us, saving.rss, saving.dropped, saving.modules) == (0, 0, 0, [])
    assert "app.other" in saving.also_imported_by
    other = site(shared, "app.other", "numpy")
    assert other.klass == "needed"
    assert other.reason == "called at import (line 3)"


def test_deferring_a_library_nothing_else_needs_saves_it(alone):
    heavy = site(alone, "app.heavy", "numpy")
    assert heavy.klass == "deferrable"
    [saving] = heavy.savings
    assert saving.entry == "-m app.cli"
    assert saving.dropped > 0
    assert "numpy" in saving.modules
    assert len(saving.modules) == min(saving.dropped, 10)
    assert saving.also_imported_by == []
    assert heavy.best_saving is saving


def test_entry_is_measured_with_fix_totals(alone, shared):
    for report, fixable in ((alone, 2), (shared, 3)):
        [entry] = report.entries
        assert entry.measured
        assert entry.import_us is not None and entry.peak_rss is not None
        assert entry.fix_us is not None and entry.fix_rss is not None
        assert entry.fix_sites == fixable
        assert entry.bytecode
        [reach] = entry.reach
        assert reach.library == "numpy"
        assert reach.us is not None and reach.rss is not None
    [entry] = alone.entries
    # fixing every fixable site drops at least numpy (deferred in app.heavy)
    assert entry.fix_us > 0
    assert entry.fix_rss >= site(alone, "app.heavy", "numpy").savings[0].rss


def test_a_site_in_the_entry_module_saves_what_it_imports(alone):
    # `-m app.cli` runs app/cli.py as __main__; its `import app.heavy` (deferrable: used
    # only in main()) is the only way app.heavy and numpy load, so deferring it drops both.
    cli = site(alone, "app.cli", "app")
    assert cli.klass == "deferrable"
    [saving] = cli.savings
    assert saving.dropped > 0, saving
    assert "app.heavy" in saving.modules and "numpy" in saving.modules, saving


def test_also_imported_by_names_the_project_module_not_the_librarys_own(tmp_path_factory):
    # The same project as `shared`, with a package name that sorts after "numpy": the
    # module that really keeps numpy loaded is zapp.other, not numpy's own submodules
    # (which import numpy only while numpy itself is being imported).
    report = make_project(tmp_path_factory.mktemp("zapp"), "zapp", with_other=True)
    [saving] = site(report, "zapp.heavy", "numpy").savings
    assert saving.dropped == 0
    assert "zapp.other" in saving.also_imported_by, saving.also_imported_by
