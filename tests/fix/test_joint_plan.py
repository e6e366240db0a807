"""Joint plans: a library imported at three deferrable sites leaves the path only when all
three go. The per-site plan keeps none (each alone saves nothing); the joint plan keeps the
three as one group, and after the write the library is off the path. Real projects, real
child interpreters; module sets asserted, never times."""

from __future__ import annotations

import sys

from conftest import run_hotstart, write_tree

from hotstart.audit import audit
from hotstart.fix import fix
from hotstart.render.fix import render_fix

from ._helpers import run_python, snapshot

ENTRY = "-c 'import app'"
BIGLIB = {  # stands in for a heavy library: a package with submodules
    "biglib/__init__.py": "from biglib import core, extra\n\nVALUE = core.VALUE + extra.VALUE\n",
    "biglib/core.py": "VALUE = 1\n",
    "biglib/extra.py": "VALUE = 2\n",
}


def _user(name: str) -> str:
    return f"import biglib\n\n\ndef f{name}():\n    return biglib.VALUE\n"


APP = {
    **BIGLIB,
    "app/__init__.py": "from app import a, b, c\n\nJOBS = [a.fa, b.fb, c.fc]\n",
    "app/a.py": _user("a"),
    "app/b.py": _user("b"),
    "app/c.py": _user("c"),
}
LOADED = "import app, sys; print(sorted(m for m in sys.modules if m.startswith('biglib')))"


def _project(tmp_path, monkeypatch, files=APP):
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return tmp_path


def _biglib_changes(result) -> list[str]:
    return sorted(c.site.file for c in result.changes if c.site.imported == "biglib")


def test_per_site_plan_keeps_none_the_joint_plan_keeps_all_three(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch)
    before = snapshot(root)

    sites = fix("app", entries=[ENTRY], plan="sites", runs=1)
    assert sites.plan == "sites" and _biglib_changes(sites) == []
    assert sorted(s.why for s in sites.skipped) == [
        "saves nothing measurable on the measured entrypoints"] * 3

    joint = fix("app", entries=[ENTRY], write=True, runs=1)
    assert joint.plan == "joint"
    assert _biglib_changes(joint) == ["app/a.py", "app/b.py", "app/c.py"]
    [group] = joint.groups
    assert len(group.changes) == 3
    assert group.leaving == {ENTRY: ["biglib", "biglib.core", "biglib.extra"]}
    assert group.libraries() == ["biglib"]
    # re-profiled on the written code: every predicted module left the path
    [measured] = joint.remeasured
    assert measured.entry == ENTRY and measured.modules_before - measured.modules_after == 3
    assert group.still_loaded == {ENTRY: []} and joint.remeasure_reverted == []
    assert run_python(root, LOADED).strip() == "[]"
    assert run_python(root, "import app; print(app.a.fa() + app.c.fc())").strip() == "6"
    text = render_fix(joint)
    assert "together, 3 changes take biglib (3 module(s)) off the path" in text
    assert "    app/b.py:1  deferrable  import biglib: moved into fb()" in text
    assert f"predicted on {ENTRY}: 3 module(s) off the path" in text
    assert f"re-profiled {ENTRY} on the written code" in text
    assert snapshot(root) != before

    again = fix("app", entries=[ENTRY], write=True, runs=1)  # the fixed point
    assert again.changes == [] and again.files == []


def test_a_group_with_a_member_that_must_stay_is_not_made(tmp_path, monkeypatch):
    """c's import is inside a module-level `if` (moved by hand only): biglib stays loaded
    through it, so deferring a and b would save nothing: neither is made."""
    files = {**APP, "app/c.py": "import os\n\nif os.sep:\n    import biglib\n\n\n"
                                "def fc():\n    return biglib.VALUE\n"}
    root = _project(tmp_path, monkeypatch, files)
    before = snapshot(root)
    result = fix("app", entries=[ENTRY], write=True, runs=1)
    assert _biglib_changes(result) == []
    why = {s.site.file: s.why for s in result.skipped if s.site.imported == "biglib"}
    assert why["app/c.py"] == "inside a module-level `if`: move it by hand"
    assert why["app/a.py"] == why["app/b.py"] == (
        "saves nothing measurable on the measured entrypoints, even with every other "
        "fixable import deferred")
    assert snapshot(root) == before


def test_a_group_that_measured_nothing_is_reverted(tmp_path, monkeypatch):
    """The audit's run did not see a dynamic import of biglib that the written code's run
    makes (a switch file appears in between): the group's modules all still load, so it is
    reverted, and the files are as they were."""
    switch = tmp_path / "switch"
    files = {**APP, "app/__init__.py": (
        "import importlib\nimport os\n\nfrom app import a, b, c\n\nJOBS = [a.fa, b.fb, c.fc]\n"
        f"if os.path.exists({str(switch)!r}):\n    importlib.import_module('biglib')\n")}
    root = _project(tmp_path, monkeypatch, files)
    before = snapshot(root)
    report = audit("app", entries=[ENTRY], runs=1)
    switch.write_text("on")
    result = fix("app", report=report, write=True, runs=1)
    [group] = result.remeasure_reverted
    assert _biglib_changes(result) == [] and result.groups == [] and result.files == []
    assert group.still_loaded == {ENTRY: ["biglib", "biglib.core", "biglib.extra"]}
    assert "reverted after re-profiling: app/a.py:1 import biglib (+2 in its group): its " \
           "predicted modules all still load (biglib)" in render_fix(result)
    assert snapshot(root) == {**before, "switch": b"on"}


def test_no_remeasure_skips_the_second_profile(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    result = fix("app", entries=[ENTRY], write=True, runs=1, remeasure=False)
    assert len(result.changes) == 3 and result.remeasured == []
    assert result.remeasure_note == "not profiled again (--no-remeasure)"


def test_verify_reverts_a_whole_group(tmp_path, monkeypatch):
    """The tests fail when b's import moves: bisection blames b's group, so a's and c's
    changes (which save nothing without b's) are reverted with it."""
    root = _project(tmp_path, monkeypatch)
    check = tmp_path / "check.py"
    check.write_text("import sys\n\nsource = open('app/b.py').read()\n"
                     "sys.exit(0 if source.startswith('import biglib') else 1)\n")
    before = snapshot(root)
    result = fix("app", entries=[ENTRY], write=True, runs=1,
                 verify=f"{sys.executable} {check}")
    assert _biglib_changes(result) == [] and result.groups == []
    assert sorted(c.site.file for c in result.reverted) == ["app/a.py", "app/b.py", "app/c.py"]
    assert len(result.verification.reverted) == 3
    assert snapshot(root) == before
    assert result.remeasured == []  # nothing written: nothing to profile again


def test_cli_plan_sites_and_joint(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch)
    common = ("fix", "app", "--entry", "-c 'import app'", "--runs", "1", "-q")
    sites = run_hotstart(*common, "--plan", "sites", cwd=root)
    assert sites.returncode == 0, sites.stderr
    assert "would make 0 change(s)" in sites.stdout
    joint = run_hotstart(*common, cwd=root)
    assert joint.returncode == 0, joint.stderr
    assert "would make 3 change(s) in 3 file(s) (runtime code: stdlib; plan: joint, " \
           "1 group(s))" in joint.stdout
    bad = run_hotstart(*common, "--plan", "all", cwd=root)
    assert bad.returncode == 2 and "invalid choice: 'all'" in bad.stderr


def test_a_lazy_reexport_that_a_star_import_reads_is_pinned(tmp_path, monkeypatch):
    """networkx: `from pkg import *` reads every name of pkg's __all__, so making those
    re-exports lazy loads them at once (the re-profile found the module still loaded): the
    plan pins them, and the library still leaves through the import that does move."""
    files = {
        **BIGLIB,
        "app/__init__.py": "from app.pkg import *\n\nJOBS = [tool]\n",
        "app/pkg/__init__.py": ("from app.pkg.heavy import helper\nfrom app.pkg.light import "
                                "tool\n\n__all__ = [\"helper\", \"tool\"]\n"),
        "app/pkg/heavy.py": _user("helper_").replace("def fhelper_", "def helper"),
        "app/pkg/light.py": "def tool():\n    return 1\n",
    }
    _project(tmp_path, monkeypatch, files)
    result = fix("app", entries=[ENTRY], write=True, runs=1)
    assert [c.site.file for c in result.changes] == ["app/pkg/heavy.py"]
    why = sorted(s.why for s in result.skipped if s.site.file == "app/pkg/__init__.py")
    pinned = ("pinned by: `from app.pkg import *` (app/__init__.py:1) reads every name of its "
              "__all__, so a lazy re-export would load at once")
    assert why == [pinned] * 2
    [group] = result.groups
    assert group.still_loaded == {ENTRY: []} and result.remeasure_reverted == []


def test_all_makes_the_changes_that_save_nothing_too(tmp_path, monkeypatch):
    """--all: c pinned keeps biglib loaded, so a and b save nothing, and are made anyway."""
    files = {**APP, "app/c.py": "import os\n\nif os.sep:\n    import biglib\n\n\n"
                                "def fc():\n    return biglib.VALUE\n"}
    _project(tmp_path, monkeypatch, files)
    result = fix("app", entries=[ENTRY], runs=1, include_all=True)
    assert _biglib_changes(result) == ["app/a.py", "app/b.py"]
    assert [len(g.changes) for g in result.groups] == [1, 1]
