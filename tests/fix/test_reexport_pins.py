"""A lazy re-export in a package `__init__` takes its submodule off the path only if nothing
on the path reads the name at import: `from hub.utils import other` run at module level by
another module loads it at once (huggingface_hub's `hf_api.py` does that for 7 of
`utils/__init__.py`'s re-exports, which re-profiling then reverted as "measured nothing").
Such a re-export is left alone with why; one whose readers this fix defers is made, and its
submodule leaves. Groups and reverts name the submodules that leave, not the package that
holds the statement. Real projects, real child interpreters; module sets, never times."""

from __future__ import annotations

import pytest

from hotstart.fix import fix
from hotstart.render.fix import render_fix

from ._helpers import run_python
from .test_joint_plan import _project

ENTRY = "-c 'import hub'"
HUB = {
    "hub/__init__.py": "from hub import api\n\nVALUE = api.DEFAULT\n",
    "hub/utils/__init__.py": "from ._chunk import chunk_iterable\nfrom ._other import other\n",
    "hub/utils/_chunk.py": "def chunk_iterable(x):\n    return [x]\n",
    "hub/utils/_other.py": "def other():\n    return 1\n",
    # `other` is read at import (a module-level call); `chunk_iterable` only inside f()
    "hub/api.py": ("from .utils import other\n\nDEFAULT = other()\n\n\ndef f():\n"
                   "    from .utils import chunk_iterable\n\n"
                   "    return chunk_iterable(DEFAULT)\n"),
}
# one statement reads both names, `other` needed at import: the planner keeps it whole
SPLIT = {**HUB, "hub/api.py": ("from .utils import (\n    chunk_iterable,\n    other,\n)\n\n"
                               "DEFAULT = other()\n\n\ndef f():\n"
                               "    return chunk_iterable(DEFAULT)\n")}
LOADED = "import hub, sys; print(sorted(m for m in sys.modules if m.startswith('hub.')))"
PINNED = ("pinned by: `from hub.utils import {}` (hub/api.py:1) runs on the path and reads "
          "the name at import, so a lazy re-export would load at once")


def _pins(result) -> list[str]:
    return sorted(s.why for s in result.skipped if s.site.file == "hub/utils/__init__.py")


@pytest.mark.parametrize("plan", ["sites", "joint"])
def test_a_reexport_read_at_import_is_pinned_the_other_leaves(tmp_path, monkeypatch, plan):
    root = _project(tmp_path, monkeypatch, HUB)
    result = fix("hub", entries=[ENTRY], plan=plan, write=True, runs=1)
    assert _pins(result) == [PINNED.format("other")]
    assert [(c.site.file, c.action) for c in result.changes] == \
        [("hub/utils/__init__.py", "lazy-init")]
    assert result.remeasure_reverted == []  # nothing written measured nothing
    [group] = result.groups
    assert group.leaving == {ENTRY: ["hub.utils._chunk"]}
    assert group.modules_off() == ["hub.utils._chunk"]  # the submodule, not "hub"
    assert group.still_loaded == {ENTRY: []}
    assert run_python(root, LOADED).strip() == "['hub.api', 'hub.utils', 'hub.utils._other']"
    assert run_python(root, "import hub; print(hub.api.f())").strip() == "[1]"
    assert run_python(root, "from hub.utils import chunk_iterable as c; print(c(2))"
                      ).strip() == "[2]"


def test_a_reader_the_plan_leaves_in_place_pins_the_reexport(tmp_path, monkeypatch):
    # chunk_iterable's part of api.py's statement could move into f(), but planned site by
    # site the statement stays (its other part is needed): it still reads both names
    _project(tmp_path, monkeypatch, SPLIT)
    result = fix("hub", entries=[ENTRY], plan="sites", write=True, runs=1)
    assert result.changes == [] and result.remeasure_reverted == []
    assert _pins(result) == [PINNED.format("chunk_iterable"), PINNED.format("other")]


def test_the_joint_plan_moves_the_reading_name_with_the_reexport(tmp_path, monkeypatch):
    """Planned jointly, `chunk_iterable` leaves the statement (into f()) together with its
    lazy re-export: the statement keeps `other`, which still pins its own re-export."""
    root = _project(tmp_path, monkeypatch, SPLIT)
    result = fix("hub", entries=[ENTRY], write=True, runs=1)
    assert sorted((c.site.file, c.action, c.site.names[0].name) for c in result.changes) == [
        ("hub/api.py", "move", "chunk_iterable"),
        ("hub/utils/__init__.py", "lazy-init", "chunk_iterable")]
    assert _pins(result) == [PINNED.format("other")]
    [group] = result.groups
    assert group.leaving == {ENTRY: ["hub.utils._chunk"]} and result.remeasure_reverted == []
    assert (root / "hub/api.py").read_text().startswith("from .utils import (\n    other,\n)\n")
    assert run_python(root, LOADED).strip() == "['hub.api', 'hub.utils', 'hub.utils._other']"
    assert run_python(root, "import hub; print(hub.api.f())").strip() == "[1]"


def test_groups_name_the_outermost_modules_that_leave(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch, HUB)
    result = fix("hub", entries=[ENTRY], runs=1)
    [group] = result.groups
    group.leaving = {ENTRY: ["biglib", "biglib.core", "hub.utils._chunk", "hub.x.y"]}
    assert group.modules_off() == ["hub.utils._chunk", "biglib", "hub.x.y"]
    group.still_loaded = {ENTRY: ["hub.utils._chunk"]}
    result.remeasure_reverted = [group]
    assert "its predicted modules all still load (hub.utils._chunk)" in render_fix(result)
