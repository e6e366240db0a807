"""check_index: the parity test a project adds for its own registry and index."""

from __future__ import annotations

import itertools
import os
import sys
import textwrap

import pytest

from hotstart.registry import Index, Registry, attribute_resolver, check_index

_COUNTER = itertools.count()

REG = """
from hotstart.registry import Registry
REGISTRY = Registry("plugins")
register = REGISTRY.register
"""


@pytest.fixture
def package(tmp_path, monkeypatch):
    """make(files) -> (package name, its Index); modules dropped from sys.modules after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def make(files: dict[str, str]):
        name = f"hs_check_{os.getpid()}_{next(_COUNTER)}"
        made.append(name)
        for relative, text in {"__init__.py": "", "reg.py": REG, **files}.items():
            path = tmp_path / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).replace("PKG", name).lstrip("\n"))
        index = Index.build(tmp_path / name, cache=False)
        registry = __import__(f"{name}.reg", fromlist=["REGISTRY"]).REGISTRY
        return name, index, registry

    yield make
    for module in [m for m in sys.modules if any(m.split(".")[0] == n for n in made)]:
        del sys.modules[module]


CONSISTENT = {
    "a.py": """
        from PKG.reg import register

        @register("alpha")
        class Alpha: ...
    """,
    "sub/b.py": """
        from PKG.reg import REGISTRY

        class Beta: ...

        REGISTRY.register("beta", Beta)
    """,
}


def test_a_consistent_package_passes(package):
    name, index, registry = package(CONSISTENT)
    assert f"{name}.a" not in sys.modules
    assert check_index(registry, index) is None  # imports what the index names first
    assert registry.names() == ["alpha", "beta"]


def test_without_import_all_unimported_names_are_reported(package):
    _, index, registry = package(CONSISTENT)
    with pytest.raises(AssertionError) as error:
        check_index(registry, index, import_all=False)
    assert "declared in the index but not registered: 'alpha'" in str(error.value)


def test_both_directions_of_disagreement_are_listed(package):
    name, index, registry = package({
        **CONSISTENT,
        "conditional.py": """
            from PKG.reg import register

            if False:
                @register("never_runs")
                class Never: ...
        """,
        "elsewhere.py": """
            from hotstart.registry import Registry

            OTHER = Registry("other")

            @OTHER.register("other_registry")
            class Other: ...
        """,
        "dynamic.py": """
            from PKG.reg import REGISTRY

            for kind in ("dyn_one", "dyn_two"):
                REGISTRY.register(kind, type(kind, (), {}))
        """,
    })
    with pytest.raises(AssertionError) as error:
        check_index(registry, index)
    assert str(error.value) == "\n".join([
        "registry 'plugins' and its index disagree:",
        f"  declared in the index but not registered: 'never_runs' ({name}.conditional:4, "
        "registration of 'never_runs' under a condition (if): may not run)",
        f"  declared in the index but not registered: 'other_registry' ({name}.elsewhere:5)",
        f"  registered but not in the index: 'dyn_one' ({name}.dynamic.dyn_one)",
        f"  registered but not in the index: 'dyn_two' ({name}.dynamic.dyn_two)",
        "  (the index has 2 warnings about registrations it cannot see: see index.warnings)",
    ])


def test_names_covered_by_a_resolver_pass(package):
    _, index, registry = package(CONSISTENT)
    registry.add_resolver("json.", attribute_resolver("json", "json."))
    registry.register("json.custom", object())  # registered by hand, covered by the prefix
    registry.get("json.dumps")  # resolved (cached), not registered
    check_index(registry, index)


def test_an_import_failure_is_reported(package):
    name, index, registry = package({
        **CONSISTENT,
        "broken.py": """
            import hs_no_such_module_xyz
            from PKG.reg import register

            @register("broken")
            class Broken: ...
        """,
    })
    with pytest.raises(AssertionError) as error:
        check_index(registry, index)
    lines = str(error.value).splitlines()
    assert f"  import {name}.broken failed: ModuleNotFoundError: No module named " \
           "'hs_no_such_module_xyz'" in lines
    assert f"  declared in the index but not registered: 'broken' ({name}.broken:4)" in lines


def test_unregistered_name_in_a_plain_registry():
    registry = Registry("r")
    registry.register("x", 1)
    with pytest.raises(AssertionError, match="registered but not in the index: 'x' \\(1\\)"):
        check_index(registry, Index(), import_all=False)
