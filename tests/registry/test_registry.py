"""Registry: registration, hits, misses completed from the index, resolvers, errors, threads.

Plugin packages are real files under tmp_path with unique names, imported for real. What
depends on a fresh sys.modules (import counts, threads, re-entrant imports, import cost) runs
in a subprocess with a timeout, so a deadlock fails the test instead of hanging it.
"""

from __future__ import annotations

import itertools
import json
import os
import pathlib
import pickle
import subprocess
import sys
import textwrap

import pytest

from hotstart.registry import Index, Registry, RegistryError, attribute_resolver

_COUNTER = itertools.count()

REG = """
import os
from hotstart.registry import Index, Registry

BUILDS = []

def build():
    BUILDS.append(1)
    return Index.build(os.path.dirname(__file__), cache=False)

REGISTRY = Registry("plugins", index=build)
register = REGISTRY.register
"""

PLUGINS = {
    "__init__.py": "",
    "reg.py": REG,
    "plugins/__init__.py": "",
    "plugins/stats.py": """
        from PKG.reg import register

        @register("zscore", help="standard score")
        class ZScore: ...

        @register("describe")
        def describe(): ...
    """,
    "plugins/broken.py": """
        import hs_no_such_module_xyz
        from PKG.reg import register

        @register("broken")
        class Broken: ...
    """,
    "plugins/never.py": """
        from PKG.reg import register

        if False:
            register("never")(object)
    """,
    "plugins/circular.py": """
        from PKG.reg import REGISTRY, register

        REGISTRY.get("circ")   # asks for itself before registering it

        @register("circ")
        class Circ: ...
    """,
}


def make_package(base: pathlib.Path, files: dict[str, str]) -> str:
    """Write a package with a unique name under `base`; returns the name."""
    name = f"hs_reg_{os.getpid()}_{next(_COUNTER)}"
    for relative, text in files.items():
        path = base / name / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).replace("PKG", name).lstrip("\n"))
    return name


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A plugin package on sys.path; its modules are dropped from sys.modules afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    name = make_package(tmp_path, PLUGINS)
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def run_python(code: str, *paths: pathlib.Path, timeout: float = 30) -> dict:
    """Run `code` in a fresh interpreter (paths first on sys.path); it prints one JSON line."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [*(str(p) for p in paths), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- registering -----------------------------------------------------------------------------

def test_decorator_and_call_forms_return_the_object():
    registry = Registry("r")

    @registry.register("deco", help="a class")
    class Deco: ...

    def function(): ...

    assert registry.register("call", function) is function
    assert registry.register("none", None) is None  # None is an object like any other
    assert registry.get("deco") is Deco and registry.get("call") is function
    assert registry.get("none") is None
    assert registry.meta("deco") == {"help": "a class"} and registry.meta("call") == {}
    assert registry.names() == ["call", "deco", "none"]
    assert "deco" in registry and "other" not in registry


def test_duplicates_same_object_and_redefinition():
    registry = Registry("r")
    registry.register("x", json.dumps, tag=1)
    registry.register("x", json.dumps, tag=2)  # the same object: a no-op
    assert registry.meta("x") == {"tag": 1}
    with pytest.raises(ValueError) as error:
        registry.register("x", json.loads)
    assert str(error.value) == ("registry 'r': 'x' is already registered to json.dumps; "
                                "cannot register json.loads under the same name")

    def define():
        class Plugin: ...
        return Plugin

    first, second = define(), define()  # same module and qualname: a reload re-defines it
    registry.register("p", first)
    registry.register("p", second, version=2)
    assert registry.get("p") is second and registry.meta("p") == {"version": 2}


def test_module_reload_re_registers(plugins):
    import importlib

    stats = importlib.import_module(f"{plugins}.plugins.stats")
    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    before = registry.get("zscore")
    importlib.reload(stats)
    assert registry.get("zscore") is stats.ZScore is not before


def test_unregister_and_bad_names():
    registry = Registry("r")
    registry.register("x", 1)
    registry.unregister("x")
    assert "x" not in registry and registry.names() == []
    with pytest.raises(KeyError) as error:
        registry.unregister("x")
    assert isinstance(error.value, RegistryError)
    assert str(error.value) == "'x' is not registered in registry 'r'"
    with pytest.raises(TypeError):
        registry.register(3, object())
    with pytest.raises(RegistryError, match="a name is a str, not int"):
        registry.get(3)


# -- hits and misses -------------------------------------------------------------------------

def test_a_miss_imports_the_module_the_index_names(plugins):
    import importlib

    reg = importlib.import_module(f"{plugins}.reg")
    registry = reg.REGISTRY
    registry.register("local", len)
    assert registry.get("local") is len
    assert reg.BUILDS == []  # hits never build the index
    assert f"{plugins}.plugins.stats" not in sys.modules
    zscore = registry.get("zscore")
    assert reg.BUILDS == [1]
    assert f"{plugins}.plugins.stats" in sys.modules
    assert zscore is sys.modules[f"{plugins}.plugins.stats"].ZScore
    assert registry.meta("zscore") == {"help": "standard score"}
    assert registry.get("describe").__name__ == "describe"  # now a hit
    with pytest.raises(RegistryError):
        registry.get("nothing")
    assert reg.BUILDS == [1]  # built once


def test_meta_also_imports(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    assert registry.meta("zscore") == {"help": "standard score"}


def test_a_failing_import_is_reported_with_the_real_error(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    with pytest.raises(RegistryError) as error:
        registry.get("broken")
    module = f"{plugins}.plugins.broken"
    assert str(error.value) == (f"'broken' is registered by {module}, but importing it failed: "
                                f"ModuleNotFoundError: No module named 'hs_no_such_module_xyz'")
    assert (f"import {module}", "ModuleNotFoundError: No module named 'hs_no_such_module_xyz'") \
        in error.value.tried
    assert error.value.name == "broken" and error.value.registry == "plugins"
    assert isinstance(error.value, LookupError)


def test_unknown_names_get_a_did_you_mean_from_the_index(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    with pytest.raises(RegistryError) as error:
        registry.get("zscroe")
    assert str(error.value) == ("unknown type 'zscroe' in registry 'plugins': not in the index, "
                                "no resolver matches (did you mean 'zscore'?)")
    assert error.value.tried == [("registry", "'zscroe' is not registered"),
                                 ("index", "no module registers 'zscroe'"),
                                 ("resolvers", "none")]
    assert error.value.suggestions == ["zscore"]
    assert f"{plugins}.plugins.stats" not in sys.modules  # suggesting imports nothing


def test_an_index_entry_whose_module_does_not_register(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    with pytest.raises(RegistryError) as error:
        registry.get("never")
    module = f"{plugins}.plugins.never"
    assert str(error.value) == (f"'never' is listed in the index for {module}, but importing it "
                                f"did not register it in registry 'plugins' (a stale index, or "
                                f"a registration that did not run?)")


def test_a_module_that_asks_for_its_own_name_while_importing(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    with pytest.raises(RegistryError) as error:
        registry.get("circ")
    assert "is still being imported (a circular import?)" in str(error.value)
    assert "\n" not in str(error.value)


def test_without_an_index_and_with_a_failing_builder():
    with pytest.raises(RegistryError) as error:
        Registry("bare").get("x")
    assert str(error.value) == "unknown type 'x' in registry 'bare': no index, no resolver matches"
    assert ("index", "no index") in error.value.tried

    calls = []

    def build():
        calls.append(1)
        return Index.build("/no/such/plugins", cache=False)

    registry = Registry("lazy", index=build)
    for _ in range(2):
        with pytest.raises(RegistryError) as error:
            registry.get("x")
    assert calls == [1]  # a failed build is not retried on every miss
    assert str(error.value) == ("unknown type 'x' in registry 'lazy': the index could not be "
                                "built, no resolver matches")
    assert error.value.tried[1][0] == "index"
    assert error.value.tried[1][1].startswith("building it failed: FileNotFoundError: ")


def test_registry_error_pickles_for_worker_processes():
    error = RegistryError("one line", name="n", registry="r", tried=[("a", "b")],
                          suggestions=["m"])
    again = pickle.loads(pickle.dumps(error))
    assert (str(again), again.name, again.registry, again.tried, again.suggestions) == \
        ("one line", "n", "r", [("a", "b")], ["m"])


# -- resolvers -------------------------------------------------------------------------------

def test_prefix_resolver_from_the_standard_library():
    import json.decoder

    registry = Registry("r")
    registry.add_resolver("json.", attribute_resolver("json", "json."))
    assert registry.get("json.dumps") is json.dumps
    assert registry.get("json.decoder.JSONDecoder") is json.decoder.JSONDecoder
    assert "json.dumps" not in registry and registry.names() == []  # resolved, not registered
    assert registry.resolver_for("json.x")[0] == "json."
    assert registry.resolver_for("json.x")[2] == ("json",)  # from resolve.modules
    assert registry.resolver_for("yaml.x") is None
    assert registry.preload_modules("json.dumps") == ["json"]
    assert registry.meta("json.dumps") == {}
    registry.register("json.dumps", json.loads)  # an explicit registration takes over
    assert registry.get("json.dumps") is json.loads and "json.dumps" in registry


def test_resolver_results_are_cached_and_failures_listed():
    calls = []

    def resolve(name):
        calls.append(name)
        if name.endswith("bad"):
            raise KeyError(f"no {name}")
        return name.upper()

    registry = Registry("r", resolvers={"x.": resolve})
    assert registry.get("x.a") == "X.A" and registry.get("x.a") == "X.A"
    assert calls == ["x.a"]
    with pytest.raises(RegistryError) as error:
        registry.get("x.bad")
    assert str(error.value) == ("'x.bad' matches resolver 'x.' of registry 'r', but it failed: "
                                "KeyError: 'no x.bad'")
    assert ("resolver 'x.'", "KeyError: 'no x.bad'") in error.value.tried


def test_attribute_resolver_failures_and_refusals():
    registry = Registry("r", resolvers=[("json.", attribute_resolver("json", "json."))])
    with pytest.raises(RegistryError) as error:
        registry.get("json.nope")
    assert error.value.tried[-1] == ("resolver 'json.'",
                                     "AttributeError: module 'json' has no attribute 'nope'")
    with pytest.raises(RegistryError, match="refusing to resolve dunder attribute"):
        registry.get("json.__loader__")
    lazy = attribute_resolver("hs_no_such_module_xyz", "z.")  # imports nothing until called
    registry.add_resolver("z.", lazy)
    with pytest.raises(RegistryError, match="ModuleNotFoundError"):
        registry.get("z.thing")


def test_attribute_resolver_imports_submodules_on_demand():
    out = run_python("""
        import json, sys
        from hotstart.registry import Registry, attribute_resolver
        registry = Registry("r", resolvers={"x.": attribute_resolver("xml", "x.")})
        before = "xml" in sys.modules, "xml.dom.minidom" in sys.modules
        value = registry.get("x.dom.minidom.parseString")
        import xml.dom.minidom
        print(json.dumps([before, value is xml.dom.minidom.parseString]))
    """)
    assert out == [[False, False], True]


def test_numpy_prefix_resolver():
    numpy = pytest.importorskip("numpy")
    registry = Registry("r", resolvers={"np.": (attribute_resolver("numpy", "np."), ["numpy"])})
    assert registry.get("np.linalg.norm") is numpy.linalg.norm
    assert registry.get("np.newaxis") is None  # None is a value, not a failure
    assert registry.preload_modules("np.fft.fft") == ["numpy"]


def test_longest_prefix_wins_and_replacing_a_prefix():
    registry = Registry("r")
    registry.add_resolver("a.", lambda n: "short")
    registry.add_resolver("a.b.", lambda n: "long", modules=["mod_b"])
    assert registry.get("a.b.c") == "long" and registry.get("a.c") == "short"
    registry.add_resolver("a.", lambda n: "replaced", modules="mod_a")
    assert registry.resolver_for("a.x")[2] == ("mod_a",)
    with pytest.raises(ValueError):
        registry.add_resolver("", len)
    with pytest.raises(TypeError):
        registry.add_resolver("p.", "not callable")


def test_preload_modules_imports_nothing(plugins):
    import importlib

    registry = importlib.import_module(f"{plugins}.reg").REGISTRY
    registry.add_resolver("json.", attribute_resolver("json", "json."))
    registry.register("local", json.dumps)
    assert registry.preload_modules("zscore") == [f"{plugins}.plugins.stats"]
    assert registry.preload_modules("local") == ["json"]
    assert registry.preload_modules("json.dumps") == ["json"]
    assert registry.preload_modules("unknown") == []
    assert f"{plugins}.plugins.stats" not in sys.modules


# -- threads and re-entrant imports (fresh interpreters) -----------------------------------

SLOW = {
    "__init__.py": "",
    "reg.py": REG,
    "counter.py": "EXECUTED = []\n",
    "slow.py": """
        import time
        from PKG import counter
        counter.EXECUTED.append(1)
        time.sleep(0.3)  # the other threads arrive while this module is half imported
        from PKG.reg import register

        @register("slow")
        class Slow: ...
    """,
}


def test_sixteen_threads_missing_the_same_name_import_it_once(tmp_path):
    name = make_package(tmp_path, SLOW)
    out = run_python(f"""
        import json, threading
        from {name}.reg import REGISTRY, BUILDS
        from {name} import counter
        barrier = threading.Barrier(16)
        results, errors = [None] * 16, []

        def work(i):
            barrier.wait()
            try:
                results[i] = REGISTRY.get("slow")
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
        for t in threads: t.start()
        for t in threads: t.join()
        same = results[0] is not None and all(r is results[0] for r in results)
        print(json.dumps({{"executed": len(counter.EXECUTED), "builds": len(BUILDS),
                           "same": same, "errors": errors}}))
    """, tmp_path)
    assert out == {"executed": 1, "builds": 1, "same": True, "errors": []}


REENTRANT = {
    "__init__.py": "",
    "reg.py": REG,
    "a.py": """
        import time
        from PKG.reg import REGISTRY, register
        time.sleep(0.1)
        B = REGISTRY.get("b")       # a miss while this module is being imported on a miss
        NAMES = REGISTRY.names()

        @register("a")
        class A:
            dep = B
    """,
    "b.py": """
        import time
        from PKG.reg import REGISTRY, register
        time.sleep(0.1)
        C = REGISTRY.get("c")       # and one more level

        @register("b")
        class B:
            dep = C

        REGISTRY.register("b_alias", B)
    """,
    "c.py": """
        from PKG.reg import register

        @register("c")
        class C: ...
    """,
}


def test_a_module_imported_on_a_miss_may_miss_again_without_deadlock(tmp_path):
    name = make_package(tmp_path, REENTRANT)
    out = run_python(f"""
        import json
        from {name}.reg import REGISTRY
        a = REGISTRY.get("a")
        print(json.dumps({{"chain": [a.__name__, a.dep.__name__, a.dep.dep.__name__],
                           "names": REGISTRY.names()}}))
    """, tmp_path)
    assert out == {"chain": ["A", "B", "C"], "names": ["a", "b", "b_alias", "c"]}


def test_re_entrant_misses_from_many_threads(tmp_path):
    name = make_package(tmp_path, REENTRANT)
    out = run_python(f"""
        import json, threading
        from {name}.reg import REGISTRY
        barrier = threading.Barrier(12)
        got, errors = {{}}, []

        def work(i):
            wanted = "abc"[i % 3]
            barrier.wait()
            try:
                got.setdefault(wanted, set()).add(id(REGISTRY.get(wanted)))
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(json.dumps({{"distinct": {{k: len(v) for k, v in sorted(got.items())}},
                           "errors": errors, "names": REGISTRY.names()}}))
    """, tmp_path)
    assert out == {"distinct": {"a": 1, "b": 1, "c": 1}, "errors": [],
                   "names": ["a", "b", "b_alias", "c"]}


def test_importing_registry_is_cheap():
    out = run_python("""
        import json, sys
        before = set(sys.modules)
        from hotstart.registry import Registry
        print(json.dumps(sorted(set(sys.modules) - before)))
    """)
    assert out == ["hotstart", "hotstart.lazy", "hotstart.registry", "hotstart.registry.registry"]
