"""Effects through an import cycle (`audit/effects.py`, per strongly connected component):
importing any module of a cycle runs them all, so each has the effects of all, whatever
order the audit reads them in; and a module's import of a cycle member that imports it back
does not run it again (it is half-run then), so its own effects are not that import's.
Found by attack: a depth-first walk that memoized `pkg.y` while `pkg.z` was half-computed
called `import pkg.y` dead, and `fix` removed the import that installed the exit hook."""

from __future__ import annotations

import pytest

from hotstart.audit import effects as effects_module

from ._helpers import audit_tree, site

CYCLE = {
    "pkg/__init__.py": "",
    "pkg/z.py": "import atexit\n\nfrom pkg import y\n\natexit.register(print, 'z')\n\n\n"
                "def helper():\n    return y.VALUE\n",
    "pkg/y.py": "from pkg import z\n\nVALUE = 1\n\n\ndef use():\n    return z.helper()\n",
    "pkg/early/__init__.py": "",
    "pkg/early/x.py": "from pkg import y\n\n\ndef f():\n    return y.VALUE\n",
    "pkg/m1.py": "from pkg import z\n\n\ndef g():\n    return z.helper()\n",
    "pkg/m2.py": "import pkg.y  # loads the y/z pair and their exit hook\n",
}


def test_every_module_of_a_cycle_has_its_effects(tmp_path):
    """`import pkg.y` keeps the hook (the old walk, reading `pkg.m1` first, lost it)."""
    report = audit_tree(tmp_path, CYCLE, "pkg")
    for module, name in (("pkg.m2", "pkg"), ("pkg.early.x", "y"), ("pkg.m1", "z")):
        found = site(report, module, name)
        assert found.klass == "side-effect", (module, found.reason)
        assert "atexit" in found.reason, found.reason


def test_the_import_back_into_a_half_run_module_is_not_its_effect(tmp_path):
    """`z` imports `y`, which imports `z` back: that runs `y` only (z is half-run), so z's
    own atexit handler is not the effect of z's `from pkg import y`."""
    report = audit_tree(tmp_path, CYCLE, "pkg")
    assert site(report, "pkg.z", "y").klass == "deferrable"
    assert site(report, "pkg.y", "z").klass == "side-effect"


def test_past_the_cycle_limit_a_module_keeps_its_imports_of_the_cycle(tmp_path, monkeypatch):
    """A cycle too large to walk again from each of its modules: the safe side."""
    monkeypatch.setattr(effects_module, "MAX_CYCLE", 1)
    report = audit_tree(tmp_path, CYCLE, "pkg")
    found = site(report, "pkg.z", "y")
    assert found.klass == "side-effect", found.reason
