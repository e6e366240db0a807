"""What `audit()` accepts as a target, what it does with unreadable files, and
`parse_version`."""

from __future__ import annotations

import os

import pytest

from conftest import EXAMPLE, write_tree

from hotstart.audit import audit, parse_version
from hotstart.audit._project import find_project, is_test_file
from hotstart.errors import BadInput

from ._helpers import audit_tree, site

TREE = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import json\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/b.py": "import os\n\nX = os.sep\n",
    "pkg/build/skipped.py": "import os\n",
    "pkg/__pycache__/skipped.py": "import os\n",
    "pkg/.hidden/skipped.py": "import os\n",
}


def modules(report):
    return sorted({s.module for s in report.sites})


def test_package_directory(tmp_path):
    report = audit_tree(tmp_path, TREE, "pkg")
    assert report.package == "pkg"
    assert report.root == str(tmp_path / "pkg")
    assert report.files == 4  # pkg, pkg.a, pkg.sub, pkg.sub.b: skipped dirs are skipped
    assert modules(report) == ["pkg.a", "pkg.sub.b"]
    assert site(report, "pkg.a", "json").file == str(tmp_path / "pkg" / "a.py")
    assert [e.name for e in report.entries] == ["pkg"]
    assert report.errors == []


def test_subpackage_directory_keeps_full_module_names(tmp_path):
    report = audit_tree(tmp_path, TREE, "pkg/sub")
    assert report.package == "pkg.sub"
    assert report.files == 2
    assert modules(report) == ["pkg.sub.b"]


def test_source_root_with_several_packages(tmp_path):
    report = audit_tree(tmp_path, {**TREE, "other/__init__.py": "import sys\n"})
    assert report.package is None
    assert report.entries == []  # no package, no entries given: nothing to run
    assert modules(report) == ["other", "pkg.a", "pkg.sub.b"]


def test_src_layout_project_directory(tmp_path):
    report = audit_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'pkg'\n",
        "src/pkg/__init__.py": "",
        "src/pkg/a.py": "import json\n",
        "tests/test_a.py": "import json\nfrom unittest import mock\n\nmock.patch('x.y')\n",
        "tests/conftest.py": "import os\n",
    })
    assert report.package == "pkg"
    assert report.files == 2
    assert modules(report) == ["pkg.a"]  # test files are read for patches only
    project = find_project(str(tmp_path))
    assert project.root == str(tmp_path / "src")
    assert project.search_path == [str(tmp_path / "src")]
    tests = sorted(os.path.basename(f.path) for f in project.files if f.test)
    assert tests == ["conftest.py", "test_a.py"]


def test_single_file(tmp_path):
    write_tree(tmp_path, {"tool.py": "import json\nimport os\n\nprint(os.sep)\n"})
    report = audit(str(tmp_path / "tool.py"), run=False)
    assert report.package is None
    assert report.files == 1
    assert report.entries == []
    assert [(s.module, s.klass) for s in report.sites] == [("tool", "dead"), ("tool", "needed")]
    assert {s.file for s in report.sites} == {str(tmp_path / "tool.py")}


def test_importable_package_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # so that "jobrunner" is not a path here
    report = audit("jobrunner", run=False)
    assert report.package == "jobrunner"
    assert report.root == "jobrunner"
    expected = sum(1 for _d, _s, files in os.walk(EXAMPLE / "src" / "jobrunner")
                   for f in files if f.endswith(".py"))
    assert report.files == expected
    assert "jobrunner.cli" in modules(report)
    assert [e.name for e in report.entries] == ["jobrunner"]
    assert report.errors == []


@pytest.mark.parametrize("target", ["no/such/dir", "no_such_package_hotstart_xyz",
                                    "no-such-thing"])
def test_missing_target_is_bad_input(tmp_path, monkeypatch, target):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput):
        audit(target, run=False)


def test_non_python_file_and_empty_directory_are_bad_input(tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(BadInput, match="not a Python source file"):
        audit(str(tmp_path / "notes.txt"), run=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="no Python modules found"):
        audit(str(tmp_path / "empty"), run=False)


def test_missing_tests_directory_is_bad_input(tmp_path):
    write_tree(tmp_path, TREE)
    with pytest.raises(BadInput, match="--tests"):
        audit(str(tmp_path / "pkg"), tests=[str(tmp_path / "nowhere")], run=False)


def test_syntax_error_is_reported_and_the_rest_audited(tmp_path):
    report = audit_tree(tmp_path, {**TREE, "pkg/broken.py": "import os\n\ndef f(:\n    pass\n"},
                        "pkg")
    assert report.errors == [f"{tmp_path / 'pkg' / 'broken.py'}:3: cannot parse "
                             f"(invalid syntax)"]
    assert modules(report) == ["pkg.a", "pkg.sub.b"]
    assert report.files == 4


def test_undecodable_file_is_reported_and_the_rest_audited(tmp_path):
    write_tree(tmp_path, TREE)
    (tmp_path / "pkg" / "latin.py").write_bytes(b"import os\nNAME = '\xff'\n")
    report = audit(str(tmp_path / "pkg"), run=False)
    [error] = report.errors
    assert error.startswith(f"{tmp_path / 'pkg' / 'latin.py'}: cannot read (")
    assert modules(report) == ["pkg.a", "pkg.sub.b"]


def test_is_test_file():
    assert is_test_file("tests/x.py") and is_test_file("pkg/test/x.py")
    assert is_test_file("test_x.py") and is_test_file("x_test.py")
    assert is_test_file("conftest.py")
    assert not is_test_file("pkg/x.py") and not is_test_file("pkg/testing_tools.py")


# -- parse_version ---------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("3.11", ((3, 11), (3, 15))),
    ("3.12", ((3, 12), (3, 15))),
    ("3.15", ((3, 15), (3, 15))),
    ("3.11..3.15", ((3, 11), (3, 15))),
    ("3.12..3.13", ((3, 12), (3, 13))),
    ("3.13..3.13", ((3, 13), (3, 13))),
    (" 3.12 .. 3.14 ", ((3, 12), (3, 14))),
])
def test_parse_version(text, expected):
    assert parse_version(text) == expected


@pytest.mark.parametrize("text", ["", "3", "3.x", "x.y", "3.11.2", "3.11..", "..3.12",
                                  "3.10", "2.7", "3.16", "4.0", "3.11..3.16", "3.13..3.11",
                                  "3.11...3.12", "three.eleven"])
def test_parse_version_rejects_bad_strings(text):
    with pytest.raises(BadInput, match="--target-version"):
        parse_version(text)


def test_audit_rejects_a_bad_target_version(tmp_path):
    with pytest.raises(BadInput):
        audit_tree(tmp_path, TREE, "pkg", target_version="3.9")
