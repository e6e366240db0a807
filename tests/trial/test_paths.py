"""What a real path uses and only imports, on a small package run in real interpreters."""

from __future__ import annotations

import pytest

from ._helpers import PATHS, trial


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return trial(tmp_path_factory.mktemp("paths"), PATHS, "code", "import app")


def test_a_module_used_only_in_a_function_is_unused_and_left_out_of_the_bound(report):
    assert "heavylib" in report.unused
    assert report.unused["heavylib"].where.endswith("app/__init__.py:1")
    # It and what only it loads never loaded on the lazy path: the bound excludes them.
    assert {"heavylib", "heavylib.part", "decimal"} <= set(report.saved)
    assert report.saved["heavylib.part"].via == "heavylib"
    assert report.unused["heavylib"].saved_modules >= 3
    saved = sum(s.self_us for s in report.saved.values())
    assert report.predicted_us == pytest.approx(report.profile_us - saved)
    assert "heavylib" in report.modules  # the eager run loads it


def test_a_module_the_body_reads_while_it_runs_is_on_the_path(report):
    # `VALUE = usedlib.VALUE` at module level: used there through its lazy binding, or kept
    # eager by the hook (PEP 810 would reify it right there; which one is the hook's
    # policy): either way on the path, where its import was deferred, and not in the bound.
    use = report.used["usedlib"]
    if use.how == "used":
        assert (use.line, use.function) == (8, "<module>")
        assert use.file.endswith("app/__init__.py")
    else:
        assert use.how == "imported" and use.file is None
    assert use.deferred_at.endswith("app/__init__.py:2")
    assert "usedlib" not in report.unused and "usedlib" not in report.saved


def test_a_from_import_used_by_a_function_the_path_runs_is_used_there(report):
    use = report.used["fromused"]
    assert (use.how, use.line, use.function) == ("used", 10, "main")
    assert use.deferred_at.endswith("app/__init__.py:3")


def test_a_from_import_never_used_is_unused(report):
    assert report.unused["fromunused"].where.endswith("app/__init__.py:4")
    assert {"fromunused", "fractions"} <= set(report.saved)
    assert "fromunused" not in report.used


def test_the_entry_own_import_is_eager_and_output_identical(report):
    # `-c "import app"` asks for app: app itself loads, its imports are lazy.
    assert "app" not in report.unused and "app" not in report.used
    assert report.identical and report.eager_packages == {}
    assert report.exit_code == 0 and report.engine == "hook"


def test_a_script_entry_defers_its_own_imports_until_used(tmp_path):
    files = {**PATHS, "main.py": "import app\nimport heavylib\ndef show():\n"
                                 "    print(app.VALUE)\nshow()\n"}
    report = trial(tmp_path, files, "script", "main.py")
    assert report.used["app"].file.endswith("main.py")
    assert (report.used["app"].line, report.used["app"].function) == (4, "show")
    assert report.unused["heavylib"].where.endswith("main.py:2")
