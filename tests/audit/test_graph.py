"""The static import graph (`hotstart.audit.graph`): what an entrypoint reaches at module
level, through which chain, and how entrypoints are read."""

from __future__ import annotations

import shutil

import pytest

from hotstart.audit._scan import scan_module
from hotstart.audit.graph import EntrySpec, StaticGraph, is_stdlib, parents, parse_entry
from hotstart.audit.model import Link
from hotstart.errors import BadInput

from ._helpers import audit_tree

FILES = {
    "pkg/__init__.py": "",
    "pkg/__main__.py": "from pkg.cli import main\n\nmain()\n",
    "pkg/cli.py": """
        import json
        from typing import TYPE_CHECKING

        from pkg.util.paths import resolve

        if TYPE_CHECKING:
            import numpy


        def main():
            return resolve, json
        """,
    "pkg/util/__init__.py": """
        from pkg.util.frames import to_frame
        """,
    "pkg/util/frames.py": """
        import os

        import yaml


        def to_frame():
            return yaml, os
        """,
    "pkg/util/paths.py": """
        import collections.abc


        def resolve():
            pass
        """,
    "pkg/extra.py": """
        import numpy
        """,
}


@pytest.fixture
def report(tmp_path):
    return audit_tree(tmp_path, FILES, "pkg", entries=["-m pkg.cli"])


def test_reach_has_the_library_with_its_chain(report, tmp_path):
    [entry] = report.entries
    assert (entry.name, entry.roots, entry.measured) == ("-m pkg.cli", ["pkg", "pkg.cli"], False)
    assert [r.library for r in entry.reach] == ["yaml"]
    [reach] = entry.reach
    base = tmp_path / "pkg"
    assert reach.chain == [
        Link("pkg.cli", str(base / "cli.py"), 4, ""),
        Link("pkg.util", str(base / "util" / "__init__.py"), 1, "package __init__"),
        Link("pkg.util.frames", str(base / "util" / "frames.py"), 3, ""),
        Link("yaml", None, None, ""),
    ]
    assert (reach.us, reach.rss) == (None, None)
    # pkg, pkg.cli, pkg.util, pkg.util.frames, pkg.util.paths
    assert entry.first_party == 5


def test_stdlib_and_type_checking_imports_are_not_reached(report):
    [entry] = report.entries
    libraries = [r.library for r in entry.reach]
    assert "json" not in libraries and "os" not in libraries and "collections" not in libraries
    assert "numpy" not in libraries  # only under TYPE_CHECKING in pkg.cli


def test_type_checking_imports_are_not_edges(tmp_path):
    write = audit_tree(tmp_path, FILES, "pkg")  # writes the tree
    assert write.package == "pkg"
    source = (tmp_path / "pkg" / "cli.py").read_text()
    scan = scan_module("pkg.cli", "cli.py", str(tmp_path / "pkg" / "cli.py"), source,
                       is_package=False)
    graph = StaticGraph({"pkg.cli": scan})
    targets = [t for t, _line, _note in graph.edges["pkg.cli"]]
    assert targets == ["json", "typing", "pkg", "pkg.util", "pkg.util.paths"]
    assert "numpy" not in targets


def test_default_entry_is_the_package_and_main_is_a_root(tmp_path):
    report = audit_tree(tmp_path, FILES, "pkg")
    [entry] = report.entries
    assert (entry.name, entry.roots) == ("pkg", ["pkg"])
    assert entry.reach == []  # pkg/__init__ imports nothing
    report = audit_tree(tmp_path, {}, "pkg", entries=["-m pkg"])
    [entry] = report.entries
    assert entry.roots == ["pkg", "pkg.__main__"]
    assert [r.library for r in entry.reach] == ["yaml"]
    assert [link.module for link in entry.reach[0].chain] == [
        "pkg.__main__", "pkg.cli", "pkg.util", "pkg.util.frames", "yaml"]


def test_code_entry_reaches_through_its_imports(tmp_path):
    report = audit_tree(tmp_path, FILES, "pkg",
                        entries=["-c 'import pkg.extra'", "pkg.util"])
    code, module = report.entries
    assert code.roots == ["pkg", "pkg.extra"]
    assert [r.library for r in code.reach] == ["numpy"]
    assert [(k.module, k.line) for k in code.reach[0].chain] == [("pkg.extra", 1),
                                                                 ("numpy", None)]
    assert module.roots == ["pkg", "pkg.util"]
    assert [r.library for r in module.reach] == ["yaml"]


# -- parse_entry -----------------------------------------------------------------------------

def test_parse_entry_module_form():
    spec = parse_entry("-m pkg.cli interface --fast", {})
    assert isinstance(spec, EntrySpec)
    assert (spec.kind, spec.value, spec.args) == ("module", "pkg.cli", ("interface", "--fast"))
    assert spec.roots == [("pkg", None, None), ("pkg.cli", None, None)]
    assert spec.name == "-m pkg.cli interface --fast"


def test_parse_entry_code_form():
    spec = parse_entry("-c 'import os.path; from pkg import cli'", {})
    assert (spec.kind, spec.value, spec.args) == \
        ("code", "import os.path; from pkg import cli", ())
    assert spec.roots == [("os", "<-c>", 1), ("os.path", "<-c>", 1), ("pkg", "<-c>", 1),
                          ("pkg.cli", "<-c>", 1)]


def test_parse_entry_script_form(tmp_path):
    script = tmp_path / "run.py"
    script.write_text("import sys\n\nfrom pkg.cli import main\n\nmain()\n")
    spec = parse_entry(f"{script} a b", {})
    assert (spec.kind, spec.value, spec.args) == ("script", str(script), ("a", "b"))
    assert spec.roots == [("sys", str(script), 1), ("pkg", str(script), 3),
                          ("pkg.cli", str(script), 3), ("pkg.cli.main", str(script), 3)]


def test_parse_entry_module_name_and_command_forms():
    spec = parse_entry("pkg.util", {})
    assert (spec.kind, spec.value, spec.args) == ("code", "import pkg.util", ())
    assert spec.roots == [("pkg", None, None), ("pkg.util", None, None)]
    # A command that is not a Python script is measured, with no static roots; one that is
    # not on PATH is an error (see test_roots_entries.py for console scripts).
    spec = parse_entry("-- sh --flag", {})
    assert (spec.kind, spec.value, spec.args, spec.roots) == \
        ("command", shutil.which("sh"), ("--flag",), [])
    with pytest.raises(BadInput, match="not on PATH"):
        parse_entry("-- no-such-worker-hotstart --flag", {})


@pytest.mark.parametrize("text", ["", "   ", "-m", "-c", "not a module!", "pkg-cli",
                                  "no/such/script.py", "-c 'def ('"])
def test_parse_entry_rejects_bad_input(text):
    with pytest.raises(BadInput):
        parse_entry(text, {})


def test_audit_rejects_a_bad_entry(tmp_path):
    with pytest.raises(BadInput):
        audit_tree(tmp_path, FILES, "pkg", entries=["-m"])


def test_parents_and_is_stdlib():
    assert parents("a.b.c") == ["a", "a.b", "a.b.c"]
    assert is_stdlib("os.path") and is_stdlib("json")
    assert not is_stdlib("yaml") and not is_stdlib("numpy")
