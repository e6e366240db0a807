"""A public name of a package `__init__` without `__all__` (pinned: other code may import
it) that the package uses only inside its functions (hatch's `cli/__init__.py`: `Project`,
`running_in_ci`, `Path`, used only in the `hatch()` callback): `fix` moves the import into
the functions AND re-exports the name lazily, so `from package import Name` still gets the
same object while importing the package no longer loads its module. Real project, real
child interpreters; module sets and objects, never times."""

from __future__ import annotations

from hotstart.fix import fix

from ._helpers import run_python
from .test_joint_plan import _project

ENTRY = "-c 'import pkg.cli'"
FILES = {
    "pkg/__init__.py": "",
    "pkg/core.py": "import decimal\n\n\nclass Project:\n    pass\n",
    "pkg/cli/__init__.py": ("import os\n\nfrom pkg.core import Project\n\n\n"
                            "def main(flag: int = 0) -> int:\n"
                            "    return 1 if Project() else flag\n\n\n"
                            "HOME = os.sep\n"),
}
LOADED = "import pkg.cli, sys; print('pkg.core' in sys.modules)"
SAME = ("from pkg.cli import Project; import pkg.cli, pkg.core; "
        "print(Project is pkg.core.Project is pkg.cli.Project, pkg.cli.main())")
HINTS = "import typing, pkg.cli; print(typing.get_type_hints(pkg.cli.main))"


def test_moved_into_its_function_and_still_importable(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch, FILES)
    hints = run_python(root, HINTS)
    assert run_python(root, LOADED).strip() == "True"

    result = fix("pkg", entries=[ENTRY], write=True, runs=1)

    [change] = [c for c in result.changes if c.site.file == "pkg/cli/__init__.py"]
    assert change.action == "move-lazy-init" and change.site.klass == "needed"
    assert change.site.reason == ("a public name of the package __init__ (no __all__): "
                                  "other code may import it")  # the audit keeps the pin
    assert result.remeasure_reverted == []
    text = (root / "pkg/cli/__init__.py").read_text()
    assert "    from pkg.core import Project\n    return 1" in text
    assert '"Project": ("pkg.core", ' in text
    assert "from pkg.core import Project as Project" in (root / "pkg/cli/__init__.pyi").read_text()
    assert run_python(root, LOADED).strip() == "False"  # off the path
    assert run_python(root, SAME).strip() == "True 1"  # the same object, still importable
    assert run_python(root, HINTS) == hints
    assert run_python(root, "import pkg.cli; print(pkg.cli.HOME, sorted(pkg.cli.__all__))"
                      ).strip() == "/ ['HOME', 'Project', 'main', 'os']"

    again = fix("pkg", entries=[ENTRY], runs=1)  # the fixed point
    assert [c for c in again.changes if c.site.file == "pkg/cli/__init__.py"] == []


def test_a_public_name_used_at_import_stays(tmp_path, monkeypatch):
    files = {**FILES, "pkg/cli/__init__.py": FILES["pkg/cli/__init__.py"] + "DEFAULT = Project\n"}
    _project(tmp_path, monkeypatch, files)
    result = fix("pkg", entries=[ENTRY], runs=1)
    assert [c for c in result.changes if c.site.file == "pkg/cli/__init__.py"] == []
