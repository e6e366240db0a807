"""hotstart.lazy: real packages under tmp_path, fresh interpreters where sys.modules matters."""

from __future__ import annotations

import ast
import os
import pathlib
import runpy
import subprocess
import sys
import textwrap

import pytest

from hotstart.lazy import (
    attach,
    attach_stub,
    caller_module,
    lazy_import_statements,
    lazy_modules_declared,
)
from hotstart.measure.importtime import parse as parse_importtime
from conftest import write_tree as write

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "pep810"
HAS_PEP810 = hasattr(sys, "set_lazy_imports") or hasattr(sys, "set_lazy_imports_filter")

ATTACH = "import hotstart.lazy\n__getattr__, __dir__, __all__ = hotstart.lazy.attach({args})\n"

PACKAGES = {
    # goodpkg: everything declared exists and imports
    "goodpkg/__init__.py": "EAGER_GLOBAL = 1\n" + ATTACH.format(
        args='__name__, submodules=["plugins"], attrs={"registry": ["register", "get"], '
             '"util.frames": ["to_frame"]}'),
    "goodpkg/registry.py": """
        import sys
        def register(name): return f"registered {name}"
        def get(name): return name
        """,
    "goodpkg/plugins/__init__.py": "NAMES = ['a']\n",
    "goodpkg/util/__init__.py": "",
    "goodpkg/util/frames.py": "def to_frame(): return 'frame'\n",
    "goodpkg/extra.py": "VALUE = 'extra'\n",  # not declared: reached by the fallback
    # badpkg: every way a lazy name can fail
    "badpkg/__init__.py": ATTACH.format(
        args='__name__, submodules=["nosub"], attrs={"broken": ["broken_fn"], '
             '"needsdep": ["uses_dep"], "partial": ["present", "absent"], '
             '"nothere": ["ghost"]}'),
    "badpkg/broken.py": """
        def broken_fn(): pass
        raise ValueError("boom in broken")
        """,
    "badpkg/needsdep.py": "import hotstart_test_missing_dependency\ndef uses_dep(): pass\n",
    "badpkg/partial.py": "present = 1\n",
    "badpkg/fallback_dep.py": "import hotstart_test_other_missing\n",
}


def run(code: str, cwd: pathlib.Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -c CODE` in a fresh interpreter, in `cwd`, HOTSTART_EAGER unset unless given."""
    full_env = {k: v for k, v in os.environ.items() if k != "HOTSTART_EAGER"}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=120)


def out(code: str, cwd: pathlib.Path, **env: str) -> list[str]:
    result = run(code, cwd, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture
def pkgs(tmp_path: pathlib.Path) -> pathlib.Path:
    return write(tmp_path, PACKAGES)


@pytest.fixture
def no_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTSTART_EAGER", raising=False)


# -- attach ----------------------------------------------------------------------------------

def test_first_access_imports_and_caches_in_globals(pkgs):
    lines = out("""
        import sys, goodpkg
        print(sorted(m for m in sys.modules if m.startswith("goodpkg")))
        print("register" in goodpkg.__dict__)
        f = goodpkg.register
        print("goodpkg.registry" in sys.modules, goodpkg.__dict__["register"] is f, f("x"))
        print(goodpkg.to_frame(), "goodpkg.util.frames" in sys.modules)
        print(type(goodpkg.plugins).__name__, goodpkg.plugins.NAMES)
    """, pkgs)
    assert lines == ["['goodpkg']", "False", "True True registered x", "frame True",
                     "module ['a']"]


def test_dir_all_and_star_import(pkgs):
    lines = out("""
        import sys, goodpkg
        print(goodpkg.__all__)
        d = dir(goodpkg)
        print(all(n in d for n in goodpkg.__all__), "EAGER_GLOBAL" in d, d == sorted(d))
        print(len([m for m in sys.modules if m.startswith("goodpkg.")]))
        ns = {}
        exec("from goodpkg import *", ns)
        print(sorted(k for k in ns if not k.startswith("__")))
        print(ns["register"] is goodpkg.register)
    """, pkgs)
    assert lines == ["['get', 'plugins', 'register', 'to_frame']", "True True True", "0",
                     "['get', 'plugins', 'register', 'to_frame']", "True"]


def test_unknown_name_is_a_true_attribute_error(pkgs):
    lines = out("""
        import sys, goodpkg
        try:
            goodpkg.nope
        except AttributeError as e:
            print(repr(str(e)), e.name, e.obj is goodpkg)
        print(hasattr(goodpkg, "nope"), hasattr(goodpkg, "__wrapped__"))
        try:
            from goodpkg import nope
        except ImportError as e:
            print(type(e).__name__)
        print(sorted(m for m in sys.modules if m.startswith("goodpkg")))
    """, pkgs)
    assert lines == ['"module \'goodpkg\' has no attribute \'nope\'" nope True', "False False",
                     "ImportError", "['goodpkg']"]


def test_undeclared_real_submodule_is_found_by_the_fallback(pkgs):
    lines = out("""
        import sys, goodpkg
        print("goodpkg.extra" in sys.modules)
        print(goodpkg.extra.VALUE, "extra" in goodpkg.__dict__)
    """, pkgs)
    assert lines == ["False", "extra True"]


def test_failing_submodule_reraises_its_real_error(pkgs):
    lines = out("""
        import traceback, badpkg
        for attempt in range(2):
            try:
                badpkg.broken_fn
            except Exception as e:
                last = traceback.extract_tb(e.__traceback__)[-1]
                print(type(e).__name__, e, pathlib_name(last.filename), last.lineno)
        try:
            from badpkg import broken_fn
        except Exception as e:
            print(type(e).__name__, e)
    """.replace("pathlib_name(last.filename)", "last.filename.rsplit('/', 1)[-1]"), pkgs)
    assert lines == ["ValueError boom in broken broken.py 2",
                     "ValueError boom in broken broken.py 2",  # not cached: fails again
                     "ValueError boom in broken"]


def test_missing_dependency_inside_submodule_is_not_an_attribute_error(pkgs):
    lines = out("""
        import badpkg
        for name in ("uses_dep", "fallback_dep"):
            try:
                getattr(badpkg, name)
            except Exception as e:
                print(type(e).__name__, e.name)
    """, pkgs)
    # declared (uses_dep) and fallback (fallback_dep): the dependency's own error
    assert lines == ["ModuleNotFoundError hotstart_test_missing_dependency",
                     "ModuleNotFoundError hotstart_test_other_missing"]


def test_declared_name_missing_from_its_submodule(pkgs):
    lines = out("""
        import badpkg
        print(badpkg.present)
        try:
            badpkg.absent
        except AttributeError as e:
            print(e)
            print(type(e.__cause__).__name__)
        print(hasattr(badpkg, "absent"))
    """, pkgs)
    assert lines == ["1", "module 'badpkg.partial' has no attribute 'absent' (declared lazily "
                          "by package 'badpkg')", "AttributeError", "False"]


def test_declared_but_nonexistent_submodule_is_an_attribute_error_chained(pkgs):
    lines = out("""
        import badpkg
        for name in ("ghost", "nosub"):
            try:
                getattr(badpkg, name)
            except AttributeError as e:
                print(e)
                print(type(e.__cause__).__name__, e.__cause__.name)
    """, pkgs)
    assert lines == [
        "module 'badpkg' has no attribute 'ghost': it is declared in submodule "
        "'badpkg.nothere', which does not exist",
        "ModuleNotFoundError badpkg.nothere",
        "module 'badpkg' has no attribute 'nosub': it is declared as submodule "
        "'badpkg.nosub', which does not exist",
        "ModuleNotFoundError badpkg.nosub"]


def test_attach_rejects_contradictory_declarations(no_eager):
    with pytest.raises(ValueError, match="'f' is declared in both"):
        attach("somepkg", attrs={"a": ["f"], "b": ["f"]})
    with pytest.raises(ValueError, match="both as submodules and as attributes"):
        attach("somepkg", submodules=["x"], attrs={"a": ["x"]})
    with pytest.raises(TypeError):
        attach("somepkg", attrs={"a": "f"})
    with pytest.raises(TypeError):
        attach("somepkg", submodules="abc")


def test_dunder_probes_never_import(no_eager):
    # Tools probe modules for __wrapped__, __test__, ...: no submodule lookup for those, and
    # the hooks need no entry in sys.modules.
    getattr_, dir_, all_ = attach("hotstart_not_a_package", attrs={})
    assert all_ == [] and dir_() == []
    with pytest.raises(AttributeError, match="'hotstart_not_a_package' has no attribute '__x__'"):
        getattr_("__x__")


# -- attach_stub -----------------------------------------------------------------------------

STUB_INIT = "import hotstart.lazy\n" \
            "__getattr__, __dir__, __all__ = hotstart.lazy.attach_stub(__name__, __file__)\n"


def test_attach_stub_happy_path(tmp_path):
    write(tmp_path, {
        "stubpkg/__init__.py": STUB_INIT,
        "stubpkg/__init__.pyi": '''
            """Stub docstring: ignored."""
            # a comment
            from .registry import register, get
            from .registry import lookup as lookup
            from . import plugins, tools

            __all__ = ["register", "get", "lookup", "plugins", "tools"]

            def helper(x: int) -> int: ...
            ''',
        "stubpkg/registry.py": "register = 'r'\nget = 'g'\nlookup = 'l'\n",
        "stubpkg/plugins.py": "",
        "stubpkg/tools/__init__.py": "",
    })
    lines = out("""
        import sys, stubpkg
        print(stubpkg.__all__, len(sys.modules) - len([m for m in sys.modules
                                                        if not m.startswith("stubpkg")]))
        print(stubpkg.register, stubpkg.lookup, type(stubpkg.tools).__name__)
        print(sorted(m for m in sys.modules if m.startswith("stubpkg")))
    """, tmp_path)
    assert lines == ["['get', 'lookup', 'plugins', 'register', 'tools'] 1",
                     "r l module",
                     "['stubpkg', 'stubpkg.registry', 'stubpkg.tools']"]


@pytest.mark.parametrize("line, message", [
    ("from .registry import register as reg", r"__init__\.pyi:2: alias `register as reg`"),
    ("import os", r"__init__\.pyi:2: absolute import"),
    ("from os import path", r"__init__\.pyi:2: absolute import `from os import"),
    ("from ..parent import x", r"__init__\.pyi:2: relative import of level 2"),
    ("from .registry import *", r"__init__\.pyi:2: `import \*`"),
    ("if True:\n    from .registry import get", r"__init__\.pyi:3: import inside a block"),
])
def test_attach_stub_errors_name_file_and_line(tmp_path, no_eager, line, message):
    write(tmp_path, {"p/__init__.pyi": '"""doc"""\n' + line + "\n", "p/__init__.py": ""})
    with pytest.raises(ValueError, match=message):
        attach_stub("p", str(tmp_path / "p" / "__init__.py"))


def test_attach_stub_without_stub(tmp_path, no_eager):
    with pytest.raises(FileNotFoundError, match=r"no stub .*__init__\.pyi"):
        attach_stub("p", str(tmp_path / "__init__.py"))


# -- HOTSTART_EAGER --------------------------------------------------------------------------

def test_eager_imports_everything_at_attach(pkgs):
    code = """
        import sys, goodpkg
        print(sorted(m for m in sys.modules if m.startswith("goodpkg")))
        print("register" in goodpkg.__dict__, "to_frame" in goodpkg.__dict__)
    """
    assert out(code, pkgs, HOTSTART_EAGER="1") == [
        "['goodpkg', 'goodpkg.plugins', 'goodpkg.registry', 'goodpkg.util', "
        "'goodpkg.util.frames']", "True True"]
    assert out(code, pkgs, HOTSTART_EAGER="0") == ["['goodpkg']", "False False"]


def test_eager_surfaces_errors_at_import(tmp_path):
    write(tmp_path, {
        "brokenonly/__init__.py": ATTACH.format(args='__name__, attrs={"broken": ["f"]}'),
        "brokenonly/broken.py": "raise ValueError('boom at import')\n",
    })
    result = run("import brokenonly", tmp_path, HOTSTART_EAGER="1")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == "ValueError: boom at import"
    assert run("import brokenonly", tmp_path).returncode == 0


def test_eager_lets_submodules_import_sibling_lazy_names(tmp_path):
    # sub_a imports a lazy name of sub_b from the package while attach() is still running
    write(tmp_path, {
        "sibpkg/__init__.py": ATTACH.format(
            args='__name__, attrs={"sub_a": ["a"], "sub_b": ["b"]}'),
        "sibpkg/sub_a.py": "from sibpkg import b\ndef a(): return b() + 1\n",
        "sibpkg/sub_b.py": "def b(): return 1\n",
    })
    assert out("import sibpkg; print(sibpkg.a())", tmp_path, HOTSTART_EAGER="1") == ["2"]
    assert out("import sibpkg; print(sibpkg.a())", tmp_path) == ["2"]


def test_eager_interpreter_switch(tmp_path):
    lines = out("""
        import sys, hotstart.lazy as lz
        print(lz._interpreter_switch, lz.eager(), lz._interpreter_switch)
        print(type(lz.lazy_import("colorsys")).__name__, "colorsys" in sys.modules)
    """, tmp_path, HOTSTART_EAGER="1")
    expected = "sys.set_lazy_imports_filter" if hasattr(sys, "set_lazy_imports_filter") \
        else "unavailable"
    if not HAS_PEP810:
        assert lines[0] == "None True unavailable"
    else:
        assert lines[0].split()[:2] == ["None", "True"]
        assert lines[0].endswith(expected) or "set_lazy_imports" in lines[0]
    assert lines[1] == "module True"


# -- lazy_import -----------------------------------------------------------------------------

def test_lazy_import_imports_on_first_attribute_access(tmp_path):
    write(tmp_path, {"lzt.py": "VALUE = 42\ndef f(): return 'f'\n"})
    lines = out("""
        import sys, types
        from hotstart.lazy import lazy_import
        m = lazy_import("lzt")
        print(isinstance(m, str), isinstance(m, types.ModuleType))  # does not load it
        print("lzt" in sys.modules, repr(m), isinstance(m, types.ModuleType))
        print(m.VALUE, "lzt" in sys.modules, repr(m).startswith("<lazy module 'lzt' (loaded: "))
        print(m.f(), "f" in dir(m), m.__name__, m.__dict__ is sys.modules["lzt"].__dict__)
        m.VALUE = 7
        print(sys.modules["lzt"].VALUE)
        del m.VALUE
        print(hasattr(sys.modules["lzt"], "VALUE"))
    """, tmp_path)
    assert lines == ["False True", "False <lazy module 'lzt' (not loaded)> True",
                     "42 True True", "f True lzt True", "7", "False"]


def test_lazy_import_returns_loaded_module_and_reports_errors(tmp_path):
    write(tmp_path, {"flaky.py": """
        import builtins
        runs = builtins.__dict__.setdefault("_flaky_runs", [])
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first import fails")
        VALUE = len(runs)
        """})
    lines = out("""
        import json, sys
        from hotstart.lazy import lazy_import
        print(lazy_import("json") is json)
        missing = lazy_import("hotstart_no_such_module_xyz")
        try:
            missing.anything
        except ModuleNotFoundError as e:
            print("missing:", e.name, repr(missing))
        flaky = lazy_import("flaky")
        try:
            flaky.VALUE
        except RuntimeError as e:
            print("error:", e, repr(flaky))
        print(flaky.VALUE)
    """, tmp_path)
    assert lines == ["True",
                     "missing: hotstart_no_such_module_xyz <lazy module "
                     "'hotstart_no_such_module_xyz' (not loaded)>",
                     "error: first import fails <lazy module 'flaky' (not loaded)>",
                     "2"]


def test_lazy_import_is_thread_safe(tmp_path):
    write(tmp_path, {"slowmod.py": """
        import builtins, time
        builtins.__dict__.setdefault("_slowmod_runs", []).append(1)
        time.sleep(0.3)
        VALUE = 42
        """})
    lines = out("""
        import builtins, threading
        from hotstart.lazy import lazy_import
        m = lazy_import("slowmod")
        barrier = threading.Barrier(8)
        results = []
        def touch():
            barrier.wait()
            results.append(m.VALUE)
        threads = [threading.Thread(target=touch) for _ in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(results, len(builtins._slowmod_runs))
    """, tmp_path)
    assert lines == [f"{[42] * 8} 1"]


def test_lazy_import_of_a_submodule(tmp_path):
    lines = out("""
        import sys
        from hotstart.lazy import lazy_import
        m = lazy_import("xml.dom.minidom")
        print("xml.dom.minidom" in sys.modules)
        print(m.parseString("<a/>").documentElement.tagName)
    """, tmp_path)
    assert lines == ["False", "a"]


# -- caller_module ---------------------------------------------------------------------------

CALLER_FILES = {
    "cm_factory.py": """
        from hotstart.lazy import caller_module
        def get_name(depth=1):
            return caller_module(depth)
        def own_module():
            return caller_module(0)
        """,
    "cm_user.py": """
        import cm_factory
        NAME = cm_factory.get_name()
        def nested():
            def inner():
                return cm_factory.get_name()
            return inner()
        def via_wrapper():
            return wrapper()
        def wrapper():
            return cm_factory.get_name(depth=2)
        """,
    "cm_script.py": "import cm_factory\nRESULT = cm_factory.get_name()\n",
}


@pytest.fixture(scope="module")
def caller_modules(tmp_path_factory):
    base = write(tmp_path_factory.mktemp("caller"), CALLER_FILES)
    sys.path.insert(0, str(base))
    import cm_factory
    import cm_user
    yield base, cm_factory, cm_user
    sys.path.remove(str(base))
    for name in ("cm_factory", "cm_user", "cm_script"):
        sys.modules.pop(name, None)


def test_caller_module_plain_and_nested(caller_modules):
    _, factory, user = caller_modules
    assert user.NAME == "cm_user"
    assert user.nested() == "cm_user"
    assert factory.get_name() == __name__
    assert factory.own_module() == "cm_factory"
    assert user.via_wrapper() == "cm_user"  # depth=2: the caller of wrapper()


def test_caller_module_exec_namespaces(caller_modules):
    base, factory, user = caller_modules
    ns: dict = {"get": factory.get_name}
    exec("r = get()", ns)  # bare dict: no __name__, code from "<string>"
    assert ns["r"] == "__main__"
    ns = {"get": factory.get_name, "__name__": "x"}
    exec("r = get()", ns)
    assert ns["r"] == "x"
    ns = {"get": factory.get_name, "__spec__": user.__spec__}
    exec("def f(): return get()\nr = f()", ns)
    assert ns["r"] == "cm_user"  # no __name__: the spec's name
    ns = {"get": factory.get_name}
    exec(compile("r = get()", user.__file__, "exec"), ns)
    assert ns["r"] == "cm_user"  # no __name__, no spec: the module whose file ran


def test_caller_module_runpy(caller_modules):
    base, _, _ = caller_modules
    assert runpy.run_module("cm_script", run_name="__main__")["RESULT"] == "__main__"
    assert runpy.run_module("cm_script")["RESULT"] == "cm_script"
    path = str(base / "cm_script.py")
    assert runpy.run_path(path)["RESULT"] == "<run_path>"
    assert runpy.run_path(path, run_name="__main__")["RESULT"] == "__main__"


def test_caller_module_too_deep():
    with pytest.raises(ValueError):
        caller_module(10_000)


# -- PEP 810 helpers -------------------------------------------------------------------------

def test_lazy_import_statements_on_fixtures():
    source = (FIXTURES / "explicit_lazy.py").read_text()
    assert lazy_import_statements(source) == [
        (8, "json"), (9, "os.path"), (9, "xml.dom"), (10, "collections"), (11, ".sibling"),
        (12, "..parent.mod"), (14, "email.message"), (14, "decimal"), (20, "fractions")]
    assert lazy_import_statements((FIXTURES / "mixed.py").read_text()) == [
        (6, "tomllib"), (7, "pathlib")]
    assert lazy_import_statements((FIXTURES / "compat_lazy_modules.py").read_text()) == []


@pytest.mark.skipif(HAS_PEP810, reason="this interpreter parses PEP 810 syntax")
def test_fixtures_really_are_315_syntax():
    for name in ("explicit_lazy.py", "mixed.py"):
        with pytest.raises(SyntaxError):
            ast.parse((FIXTURES / name).read_text())


def test_lazy_import_statements_edge_cases():
    source = textwrap.dedent("""
        lazy = 1
        lazy . x = 2
        print(lazy, "lazy import a")
        x = 1; lazy import b
        lazy from . import c
        lazy import d.e as f, g
        def f():
            return lazy
    """)
    assert lazy_import_statements(source) == [(5, "b"), (6, "."), (7, "d.e"), (7, "g")]
    assert lazy_import_statements("import json\n") == []


def test_lazy_modules_declared():
    assert lazy_modules_declared((FIXTURES / "compat_lazy_modules.py").read_text()) == [
        "colorsys", "fractions"]
    # mixed with `lazy import`, which ast cannot parse before 3.15
    assert lazy_modules_declared((FIXTURES / "mixed.py").read_text()) == ["json", "csv"]
    assert lazy_modules_declared((FIXTURES / "explicit_lazy.py").read_text()) == []
    assert lazy_modules_declared(
        "__lazy_modules__: set[str] = {'a'}\n__lazy_modules__ += ['b', 'a']\n") == ["a", "b"]
    assert lazy_modules_declared("def f():\n    __lazy_modules__ = ['x']\n") == []
    with pytest.raises(ValueError, match="line 2: __lazy_modules__ must be"):
        lazy_modules_declared("names = ['a']\n__lazy_modules__ = names\n")
    with pytest.raises(SyntaxError):
        lazy_modules_declared("def (:\n")


def test_lazy_modules_fixture_imports_on_this_interpreter(tmp_path):
    lines = out(f"""
        import sys
        sys.path.insert(0, {str(FIXTURES)!r})
        import compat_lazy_modules as m
        print(m.__lazy_modules__)
        print("colorsys" in sys.modules, "fractions" in sys.modules)
        print(m.hue(1.0, 0.0, 0.0), m.half())
    """, tmp_path)
    assert lines[0] == "('colorsys', 'fractions')"
    # before 3.15 `__lazy_modules__` is an ordinary variable and the imports are eager
    assert lines[1] == ("False False" if HAS_PEP810 else "True True")
    assert lines[2] == "0.0 1/2"


# -- import cost -----------------------------------------------------------------------------

def test_import_hotstart_lazy_loads_nothing_else(tmp_path):
    code = ("import sys; before = set(sys.modules); import hotstart.lazy; "
            "print(sorted(set(sys.modules) - before))")
    assert out(code, tmp_path) == ["['hotstart', 'hotstart.lazy']"]

    def importtime(code: str) -> set[str]:
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], text=True,
                                capture_output=True, timeout=60)
        logs = [log for log in parse_importtime(result.stderr) if log.entries]
        return {entry.name for entry in logs[0].fresh()} if logs else set()

    assert importtime("import hotstart.lazy") - importtime("pass") == {"hotstart",
                                                                       "hotstart.lazy"}


def test_seal_removes_the_hooks_once_every_name_is_resolved(tmp_path):
    import subprocess
    import sys
    import textwrap

    pkg = tmp_path / "sealed"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(textwrap.dedent("""
        import hotstart.lazy
        __getattr__, __dir__, __all__ = hotstart.lazy.attach(
            __name__, submodules=["b"], attrs={"a": ["x"]}, seal=True)
    """))
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "b.py").write_text("y = 2\n")
    (pkg / "c.py").write_text("z = 3\n")
    code = textwrap.dedent("""
        import sealed
        print("__getattr__" in vars(sealed), sealed.x, "__getattr__" in vars(sealed))
        print(sealed.b.y, "__getattr__" in vars(sealed), sorted(sealed.__all__))
        try:
            sealed.c
        except AttributeError:
            print("c not imported: no fallback once sealed")
        import sealed.c
        print(sealed.c.z)
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "True 1 True",                     # one of two names resolved: still hooked
        "2 False ['b', 'x']",              # both resolved: hooks removed, __all__ kept
        "c not imported: no fallback once sealed",
        "3",
    ]
