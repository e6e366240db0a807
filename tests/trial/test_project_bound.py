"""The project bound: a second lazy configuration in which only the imports executed by the
project's own modules are deferred (what rewriting the project's files can reach), beside
the all-lazy bound (libraries lazy inside themselves too)."""

from __future__ import annotations

import os

from conftest import write_tree

from hotstart.measure.runner import Target
from hotstart.trial import TrialReport, run_trial

#: `app` (the project, with a pyproject.toml) imports two libraries installed in a virtual
#: environment inside it: `biglib`, used, whose own `from biglib import inner` is never
#: used on the path (only the all-lazy configuration defers it), and `unusedlib`, which the
#: path never uses (both configurations defer the project's import of it).
SITE = ".venv/lib/python3/site-packages"
FILES = {
    "pyproject.toml": "[project]\nname = 'app'\n",
    "app/__init__.py": "",
    "app/__main__.py": """
        import biglib
        import unusedlib
        print(biglib.VALUE)
    """,
    f"{SITE}/biglib/__init__.py": """
        from biglib import inner
        VALUE = 3
        def later():
            return inner.X
    """,
    f"{SITE}/biglib/inner.py": "import fractions\nX = fractions.Fraction(1, 3)\n",
    f"{SITE}/unusedlib.py": "import email.utils\n",
}


def _trial(base, **kwargs) -> TrialReport:
    write_tree(base, FILES)
    env = {**os.environ, "PYTHONPATH": str(base / SITE)}
    return run_trial(Target("module", "app", ()), runs=1, cwd=str(base), env=env,
                     timeout=120, **kwargs)


def test_only_the_projects_own_imports_are_deferred_for_the_project_bound(tmp_path):
    report = _trial(tmp_path)
    assert report.identical and report.project_identical
    # The project: the -m entry's own package (the libraries are third-party).
    assert str(tmp_path / "app") + os.sep in report.project
    assert not any(SITE in path for path in report.project)
    # All-lazy: the library's unused submodule is deferred inside the library too.
    assert {"unusedlib", "biglib.inner"} <= set(report.saved)
    # Project bound: the project's `import unusedlib` is deferred, the library's own
    # `from biglib import inner` is not (no fix of the project can reach it).
    assert "unusedlib" in report.project_saved
    assert "email.utils" in report.project_saved
    assert "biglib.inner" not in report.project_saved
    assert "fractions" not in report.project_saved
    assert report.project_loaded > report.loaded
    # Both bounds are measured (interleaved timed runs) and predicted.
    assert report.project_bound_ms is not None and report.bound_ms is not None
    assert report.project_bound_predicted_ms is not None
    assert report.project_bound_predicted_ms >= report.bound_predicted_ms
    # The report survives its JSON file.
    again = TrialReport.from_json(report.to_json())
    assert again.project_saved == report.project_saved
    assert again.project_bound_ms == report.project_bound_ms


def test_a_project_directory_given_decides_whose_imports_are_deferred(tmp_path):
    # The libraries' directory as the project: now their own import is deferred and the
    # app's is not.
    report = _trial(tmp_path, project=[str(tmp_path / SITE) + os.sep])
    assert "biglib.inner" in report.project_saved
    assert "unusedlib" not in report.project_saved


def test_a_virtual_environment_inside_the_project_directory_is_not_the_project(tmp_path):
    report = _trial(tmp_path, project=[str(tmp_path) + os.sep])
    assert "unusedlib" in report.project_saved
    assert "biglib.inner" not in report.project_saved


def test_a_project_that_executes_no_import_on_the_path_is_said_to_defer_nothing(tmp_path):
    report = _trial(tmp_path, project=[str(tmp_path / "elsewhere") + os.sep])
    assert report.project_saved == [] and report.project_bound_ms is not None
    assert any("the project's lazy run deferred no import" in note for note in report.notes)


def test_an_entry_without_a_project_module_has_no_project_bound(tmp_path):
    write_tree(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n"})
    seen = []
    report = run_trial(Target("code", "import json"), runs=2, cwd=str(tmp_path), timeout=60,
                       progress=lambda what, done, total: seen.append((done, total)))
    assert report.project == [] and report.project_us is None
    # Progress counts only the runs made: one step each, ending at its total.
    assert len(seen) == seen[-1][0] == seen[-1][1]
    assert all(done <= total for done, total in seen)
    assert report.project_bound_ms is None and report.project_ratio is None
    assert any("no project bound" in note for note in report.notes)


def test_a_script_entry_is_its_own_project(tmp_path):
    write_tree(tmp_path, {**FILES, "run.py": "import biglib\nimport unusedlib\n"
                                            "print(biglib.VALUE)\n"})
    env = {**os.environ, "PYTHONPATH": str(tmp_path / SITE)}
    report = run_trial(Target("script", "run.py", ()), runs=1, cwd=str(tmp_path), env=env,
                       timeout=120)
    assert str(tmp_path / "run.py") in report.project
    assert "unusedlib" in report.project_saved and "biglib.inner" not in report.project_saved
