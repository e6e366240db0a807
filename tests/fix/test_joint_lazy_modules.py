"""`--defer lazy-modules` claims a saving only where it makes one. Before 3.15 the
interpreter ignores `__lazy_modules__`: with `--runtime stdlib` the change is written (lazy
on 3.15+) but its saving is not claimed, and the library still loads; with `--runtime
hotstart` the module calls `hotstart.lazy.enable()` before its listed imports, the saving
is claimed, and the re-profiled run shows the library off the path (target 3.11, run on
this interpreter: 3.11-3.14)."""

from __future__ import annotations

from hotstart.fix import fix
from hotstart.render.fix import render_fix

from ._helpers import run_python
from .test_joint_plan import ENTRY, LOADED, _project

OPTIONS = {"entries": [ENTRY], "defer": "lazy-modules", "target_version": "3.11",
           "write": True, "runs": 1}


def test_stdlib_runtime_writes_the_list_but_claims_nothing(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch)
    result = fix("app", runtime="stdlib", **OPTIONS)
    assert sorted(c.site.file for c in result.changes) == ["app/a.py", "app/b.py", "app/c.py"]
    assert all(not c.claimed and c.action == "lazy-modules" for c in result.changes)
    assert all("lazy on 3.15+ only; saves nothing before" in c.description
               for c in result.changes)
    [group] = result.groups
    assert not group.claimed
    source = (root / "app/a.py").read_text()
    assert '__lazy_modules__ = ["biglib"]' in source and "hotstart" not in source
    # the honest part: before 3.15 the library still loads...
    assert run_python(root, LOADED).strip() == "['biglib', 'biglib.core', 'biglib.extra']"
    # ...the re-profile sees it, and does not revert what is lazy on 3.15+ only
    assert group.still_loaded == {ENTRY: ["biglib", "biglib.core", "biglib.extra"]}
    assert result.remeasure_reverted == [] and len(result.changes) == 3
    text = render_fix(result)
    assert "[lazy on 3.15+ only: saves nothing before, not counted]" in text
    assert "predicted on" not in text  # no saving claimed in the totals


def test_hotstart_runtime_enables_the_list_and_claims_the_saving(tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch)
    result = fix("app", runtime="hotstart", **OPTIONS)
    assert all(c.claimed for c in result.changes) and len(result.changes) == 3
    [group] = result.groups
    assert group.claimed and group.still_loaded == {ENTRY: []}
    lines = (root / "app/b.py").read_text().splitlines()
    start = lines.index('__lazy_modules__ = ["biglib"]')
    assert lines[start - 1] == ("# Imported lazily: by PEP 810 on 3.15+, by "
                                "hotstart.lazy.enable() before.")
    assert lines[start + 1:start + 5] == ["import hotstart.lazy", "", "hotstart.lazy.enable()",
                                          "import biglib"]
    assert run_python(root, LOADED).strip() == "[]"
    assert run_python(root, "import app; print(app.b.fb())").strip() == "3"
    assert f"predicted on {ENTRY}: 3 module(s) off the path" in render_fix(result)

    again = fix("app", runtime="hotstart", **OPTIONS)  # the fixed point
    assert again.changes == [] and again.files == []
