"""`hotstart.pool._dictversion`: a dict's version tag, read where it can be trusted.

The worker skips comparing ``sys.modules``, the builtins and the environment item by item
when their tag has not moved, so the tag must move at every change, whoever makes it.
CPython 3.11-3.13 keep it (PEP 509); on 3.14, which removed it, `reader` is None (tested
here by its gate: no 3.14 interpreter on this machine).
"""

from __future__ import annotations

import importlib
import os
import sys

import pytest

from hotstart.pool import _dictversion

pytestmark = pytest.mark.skipif(
    sys.implementation.name != "cpython" or sys.version_info >= (3, 14),
    reason="the version tag exists on CPython 3.11-3.13 only")


def _changes():
    """Every way a dict can change, each as a function of a dict holding k1..k5."""
    def from_c(d):  # a change made in C: dict.update from a C iterator of pairs
        d.update(zip(["k1"], ["from C"]))

    return {
        "insert": lambda d: d.__setitem__("new", 1),
        "replace": lambda d: d.__setitem__("k1", object()),
        "delete": lambda d: d.__delitem__("k2"),
        "pop": lambda d: d.pop("k3"),
        "popitem": lambda d: d.popitem(),
        "setdefault": lambda d: d.setdefault("new", 1),
        "update": lambda d: d.update(k4="other"),
        "ior": lambda d: d.__ior__({"k5": "other"}),
        "clear": lambda d: d.clear(),
        "from C": from_c,
    }


@pytest.mark.parametrize("how", list(_changes()))
def test_every_change_moves_the_tag(how):
    version = _dictversion.reader()
    assert version is not None
    d = {f"k{i}": i for i in range(1, 6)}
    before = version(d)
    _changes()[how](d)
    assert version(d) != before


def test_reading_does_not_move_the_tag_and_no_two_dicts_share_one():
    version = _dictversion.reader()
    d = {"a": 1, "b": 2}
    before = version(d)
    d.get("a"), list(d.items()), "c" in d, d == {"a": 1}, len(d)
    assert version(d) == before
    e = {"a": 1, "b": 2}
    e["c"] = 3
    d["c"] = 3
    assert version(d) != version(e)


def test_the_import_system_and_os_environ_move_their_tags(tmp_path, monkeypatch):
    version = _dictversion.reader()
    (tmp_path / "hs_dictversion_probe.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = version(sys.modules)
    importlib.import_module("hs_dictversion_probe")
    assert version(sys.modules) != before
    data = os.environ._data
    before = version(data)
    monkeypatch.setenv("HS_DICTVERSION_PROBE", "1")
    assert version(data) != before


def test_the_gate_refuses_interpreters_without_a_trusted_tag(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 14, 0, "final", 0))
    assert _dictversion._prove() is None


def test_a_worker_starts_from_the_templates_copies_only_while_they_are_exact():
    """The template copies the builtins and ``sys.modules`` once (`snapshot_in_template`) so
    that a forked worker need not (a copy there touches every module object and so copies
    pages shared with the template); a worker whose dicts changed since makes its own."""
    import subprocess
    import textwrap

    script = textwrap.dedent("""
        import socket, sys
        from hotstart.pool import _isolation, _worker  # what the template has imported
        _isolation.snapshot_in_template()
        modules, names = _isolation._from_template["modules"][0], \\
            _isolation._from_template["names"][0]
        a, b = socket.socketpair()
        first = _isolation.Guard(a, lambda: None)
        print(first.modules is modules, _isolation.module_names() is names)
        import colorsys  # sys.modules changes after the copies
        second = _isolation.Guard(a, lambda: None)
        print(second.modules is modules, "colorsys" in second.modules,
              _isolation.module_names() is names, "colorsys" in _isolation.module_names())
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.stdout.split() == ["True", "True", "False", "True", "False", "True"]
