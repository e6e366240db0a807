"""`--why`: only real chains (every link an import the process ran; every link but the last
loaded its module, before the target), ranked, few by default; measured on a real profile of a
small project."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_tree
from helpers import make_process, make_profile, module

from hotstart.measure.model import ImportEdge, ImportTree
from hotstart.render.why import render_why

HOTSTART = Path(sys.executable).with_name("hotstart")

# `target` is loaded by app -> app.a, then imported again by app itself and by `late` (two more
# real chains: each would load it if the first were cut). app.helper imports __main__ (as
# rlcompleter does), and late imports late_inner, which imports target: the chains
# `app.helper -> __main__ -> ...` and `__main__ -> late -> late_inner -> target` are tempting but
# impossible (importing __main__ does not run the script again, and a chain cannot pass through
# late, which started after target was loaded).
PROJECT = {
    "main.py": "import app\nimport late\n",
    "app/__init__.py": "from app import helper\nfrom app import a\nimport target\n",
    "app/helper.py": "import __main__\n",
    "app/a.py": "import target\n",
    "late.py": "import target\nimport late_inner\n",
    "late_inner.py": "import target\n",
    "target.py": "VALUE = 1\n",
}
REAL = ["app -> app.a -> target", "__main__ -> app -> target", "__main__ -> late -> target"]


def hotstart(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HOTSTART), *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def project_profile(tmp_path_factory) -> Path:
    root = write_tree(tmp_path_factory.mktemp("why"), PROJECT)
    saved = root / "profile.json"
    done = hotstart("profile", "-q", "-n", "1", "-o", str(saved), str(root / "main.py"))
    assert done.returncode == 0, done.stderr
    return saved


def chain_lines(text: str) -> list[str]:
    """The chains printed (the lines between the headings and the `at ...` site lines)."""
    return [line.strip() for line in text.splitlines()
            if line.startswith("    ") and not line.startswith("      ")]


def test_why_shows_the_real_chains_and_no_impossible_one(project_profile):
    done = hotstart("show", str(project_profile), "--why", "target")
    assert done.returncode == 0, done.stderr
    assert chain_lines(done.stdout) == REAL
    assert "late_inner" not in done.stdout and "app.helper" not in done.stdout
    assert "more chain" not in done.stdout


def test_why_limit_and_why_all(project_profile):
    done = hotstart("show", str(project_profile), "--why", "target", "--why-limit", "1")
    assert chain_lines(done.stdout) == REAL[:1]
    assert "… 2 more chains; use --why-all or --why-limit N to see them" in done.stdout
    done = hotstart("show", str(project_profile), "--why", "target", "--why-all")
    assert chain_lines(done.stdout) == REAL
    done = hotstart("show", str(project_profile), "--why", "target", "--why-limit", "0")
    assert done.returncode == 2 and done.stderr.startswith("hotstart: error: --why-limit 0")


def test_the_recorded_edges_hold_the_impossible_links(project_profile):
    """The profile really recorded what the old `--why` turned into impossible chains."""
    from hotstart.measure.io import load_profile

    edges = {(e.importer, e.imported) for e in load_profile(project_profile).main.edges}
    assert {("app.helper", "__main__"), ("late", "late_inner"), ("late_inner", "target"),
            ("__main__", "late")} <= edges


def nested_plugins(count: int):
    """app -> plugin0 -> ... -> plugin{count-1} -> target; then every plugin imports target
    again, and so does app: count + 1 real chains besides the first."""
    modules = [module("app", None, 0, self_ms=1, cum_ms=50)]
    edges = [ImportEdge("__main__", "app"), ImportEdge("app", "plugin0"),
             ImportEdge("app", "target")]
    for i in range(count):
        modules.append(module(f"plugin{i}", "app" if i == 0 else f"plugin{i - 1}", i + 1,
                              self_ms=1, cum_ms=45 - i))
        edges += [ImportEdge(f"plugin{i}", f"plugin{i + 1}" if i < count - 1 else "target"),
                  ImportEdge(f"plugin{i}", "target")]
    modules.append(module("target", f"plugin{count - 1}", count + 1, self_ms=1, cum_ms=1))
    # A module loaded after target imports one that imports target, and a plugin imports
    # __main__: neither is a route.
    modules.append(module("late", None, count + 2, self_ms=1, cum_ms=2))
    modules.append(module("late_inner", "late", count + 3, self_ms=1, cum_ms=1))
    edges += [ImportEdge("__main__", "late"), ImportEdge("late", "late_inner"),
              ImportEdge("late_inner", "target"), ImportEdge("plugin3", "__main__")]
    return make_profile(processes=[make_process(modules, edges=edges)])


def test_why_prints_three_chains_by_default_and_counts_the_rest():
    text = render_why(nested_plugins(10), "target")
    assert len(chain_lines(text)) == 3
    assert chain_lines(text)[1] == "__main__ -> app -> target"  # shortest first
    assert chain_lines(text)[2] == "__main__ -> app -> plugin0 -> target"
    assert "… 8 more chains; use --why-all or --why-limit N to see them" in text
    everything = chain_lines(render_why(nested_plugins(10), "target", limit=None))
    assert len(everything) == 1 + 10 and "late" not in "\n".join(everything)


def test_every_link_but_the_last_loads_its_module_before_the_target():
    from hotstart.render.why import find_chains

    tree = ImportTree(nested_plugins(10).main)
    found = find_chains(tree, "target", limit=None)
    assert found.complete and found.more == 0 and len(found.shown) == 1 + 10
    target = tree.module("target").order
    for chain in found.shown:
        orders = [tree.module(link.module).order for link in chain]
        assert orders[:-1] == sorted(set(orders[:-1])) and max(orders[:-1], default=-1) < target
        assert all(link.importer != "__main__" or index == 0 for index, link in enumerate(chain))
        assert "late" not in {link.importer for link in chain}


def test_why_on_a_20000_deep_chain_finishes():
    count = 20_000
    modules = [module(f"m{i}", f"m{i - 1}" if i else None, i, self_ms=1, cum_ms=count - i)
               for i in range(count)]
    edges = [ImportEdge(f"m{i - 1}" if i else "__main__", f"m{i}") for i in range(count)]
    text = render_why(make_profile(processes=[make_process(modules, edges=edges)]), "m19999")
    assert len(chain_lines(text)) == 1
    assert chain_lines(text)[0].startswith("m0 -> m1 -> ") and text.count(" -> ") == count - 1


def test_why_of_a_name_of_100000_dots_looks_up_only_names_that_can_be_modules():
    """Every prefix of `a.a.a...` was joined and looked up: quadratic in the name's length
    (20,000 parts took 4.5 s, a 1 MB name hung). Only prefixes as long as some module's name
    are cut now."""
    long_name = ".".join(["a"] * 100_000)
    modules = [module("a", None, 0, self_ms=1, cum_ms=2),
               module(long_name, "a", 1, self_ms=1, cum_ms=1, depth=1)]
    edges = [ImportEdge("__main__", "a"), ImportEdge("a", long_name)]
    text = render_why(make_profile(processes=[make_process(modules, edges=edges)]), long_name)
    assert len(chain_lines(text)) == 1
    assert chain_lines(text)[0].startswith("a -> a.a.a")
