"""Attack reproducers for the run-time lazy mode (issue 11 §3, brief A1).

Each test runs a small real program twice in child interpreters -- plainly, and under
``HOTSTART_LAZY_IMPORTS=all python -m hotstart.lazy`` -- and asserts what the lazy mode
promises: the same stdout and exit code as the eager run (or, for the cost test, no
quadratic growth). Every test here FAILED on main at 2026-12-06 09:40 UTC (the attack
report's findings L1-L20). Two assert PEP 810's own documented behaviour instead of the
eager one, and say so: a value bound as of first use, and a module ``__dict__`` scan.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import pytest


def _write(base: pathlib.Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


def _run(base: pathlib.Path, *args: str, lazy: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("HOTSTART_EAGER", "HOTSTART_LAZY_IMPORTS")}
    command = [sys.executable, *args]
    if lazy:
        env["HOTSTART_LAZY_IMPORTS"] = "all"
        command = [sys.executable, "-m", "hotstart.lazy", *args]
    return subprocess.run(command, cwd=base, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL, check=False)


def _same(base: pathlib.Path, *args: str) -> tuple[subprocess.CompletedProcess[str], ...]:
    """Run eagerly and lazily; assert the same stdout and exit code."""
    eager = _run(base, *args, lazy=False)
    lazy = _run(base, *args, lazy=True)
    assert (lazy.returncode, lazy.stdout) == (eager.returncode, eager.stdout), lazy.stderr
    return eager, lazy


def test_from_package_import_submodule_kept_for_side_effect_runs(tmp_path):
    # `from plug import a` registers plugin a; the name `a` is never read. The hook keeps an
    # unread `import plug.a` eager for its side effect, but defers this form: never runs.
    _write(tmp_path, {
        "plug/__init__.py": "REGISTRY = []\n",
        "plug/a.py": "from plug import REGISTRY\nREGISTRY.append('a')\n",
        "main.py": """
            import plug
            from plug import a  # noqa: F401  registers plugin a
            print(plug.REGISTRY)
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "['a']\n"


def test_numpy_docstrings_are_added_under_mode_all(tmp_path):
    # numpy/_core/__init__.py ends with `from . import _add_newdocs, _add_newdocs_scalars`,
    # imported only for the docstrings they attach to C types: under mode=all they are None.
    pytest.importorskip("numpy")
    _write(tmp_path, {"main.py": """
        import numpy as np
        print(np.ndarray.__doc__ is not None, np.float64.__doc__ is not None)
    """})
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "True True\n"


def test_sys_exit_with_a_lazily_imported_int_keeps_the_exit_code(tmp_path):
    # SystemExit(code) checks the exact int type in C: a LazyValue is printed and exit is 1.
    _write(tmp_path, {
        "codes.py": "EXIT_USAGE = 2\n",
        "main.py": """
            import sys
            from codes import EXIT_USAGE
            def main():
                print("usage error")
                sys.exit(EXIT_USAGE)
            main()
        """,
    })
    eager, lazy = _same(tmp_path, "main.py")
    assert eager.returncode == 2
    assert lazy.stderr == ""


def test_lazy_module_identity_and_type_in_functions(tmp_path):
    # The identity rule (`v is name` keeps the import eager) covers `from x import y` only;
    # `import x` binds a LazyModule that `is`, `type(...) is` and `in [...]` tell apart.
    _write(tmp_path, {
        "mod.py": "N = 1\n",
        "main.py": """
            import sys, types
            import mod
            def check():
                real = sys.modules.get("mod")
                print(mod is real, type(mod) is types.ModuleType, mod in [real])
            import importlib
            importlib.import_module("mod")
            check()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "True True True\n"


def test_optional_dependency_detection_does_not_flip(tmp_path):
    # `try: from plotting import plot / except ImportError` is eager (inside try), but the
    # missing import at plotting's top level is deferred: plotting "imports" fine.
    _write(tmp_path, {
        "plotting.py": """
            import matplotlib_not_installed_here as mpl
            def plot():
                return mpl.figure()
        """,
        "main.py": """
            try:
                from plotting import plot
                HAS_PLOT = True
            except ImportError:
                HAS_PLOT = False
            print("plotting available:", HAS_PLOT)
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "plotting available: False\n"


def test_value_is_the_one_bound_at_import_time(tmp_path):
    # Eagerly `from cfg import value` binds the object cfg.value had at import; lazily the
    # object it has at first use (after configure() rebound it). That is PEP 810's own
    # documented semantics (reification takes the attribute when the name is first used):
    # docs/lazy-mode.md lists it among the limits, and this test asserts it.
    _write(tmp_path, {
        "cfg.py": """
            value = "initial"
            def configure():
                global value
                value = "configured"
        """,
        "main.py": """
            from cfg import value
            import cfg
            def show():
                print(value)
            cfg.configure()
            show()
        """,
    })
    eager = _run(tmp_path, "main.py", lazy=False)
    lazy = _run(tmp_path, "main.py", lazy=True)
    assert (eager.returncode, eager.stdout) == (0, "initial\n")
    assert (lazy.returncode, lazy.stdout) == (0, "configured\n"), lazy.stderr


def test_script_dunder_file_is_absolute_as_python_makes_it(tmp_path):
    # python SCRIPT gives an absolute __file__ (3.9+); the launcher passes the relative path
    # to runpy.run_path, so os.path.dirname(__file__) breaks after a chdir.
    _write(tmp_path, {
        "data.txt": "payload\n",
        "main.py": """
            import os
            here = os.path.dirname(__file__)
            os.chdir("/")
            print(os.path.isabs(__file__), open(os.path.join(here, "data.txt")).read().strip())
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "True payload\n"


def test_spawned_process_gets_a_lazily_imported_function(tmp_path):
    # pickle sees a LazyValue: "TypeError: cannot pickle 'function' object".
    _write(tmp_path, {
        "work.py": "def work(x):\n    print('work', x, flush=True)\n",
        "main.py": """
            import multiprocessing as mp
            from work import work
            def main():
                p = mp.get_context("spawn").Process(target=work, args=(3,))
                p.start()
                p.join()
                print("exit", p.exitcode)
            if __name__ == "__main__":
                main()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "work 3\nexit 0\n"


def test_reload_of_a_lazily_imported_module(tmp_path):
    # importlib.reload(LazyModule) -> "ImportError: module mod not in sys.modules".
    _write(tmp_path, {
        "mod.py": "N = 7\n",
        "main.py": """
            import importlib
            import mod
            def again():
                print(importlib.reload(mod).N)
            again()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "7\n"


def test_typer_app_help_under_mode_all(tmp_path):
    # typer/_click/__init__.py's `from .utils import echo` is what makes `_click.utils` an
    # attribute; deferred, typer.core reads `_click.utils` -> AttributeError for EVERY app.
    pytest.importorskip("typer")
    _write(tmp_path, {"main.py": """
        import typer
        app = typer.Typer()
        @app.command()
        def run(n: int = 1):
            print(n)
        if __name__ == "__main__":
            app()
    """})
    eager, _ = _same(tmp_path, "main.py", "--n", "3")
    assert eager.stdout == "3\n"


def test_hook_cost_per_statement_does_not_grow_with_module_size(tmp_path):
    # Every deferred `from mN import X as XN` scans the whole module's bytecode
    # (_bytecode._load_offsets: co_names.index + bytes.find per statement): quadratic.
    # Deterministic proxy would be better; this compares the hook's CPU time per statement
    # of a 500- and a 4000-statement module (linear: ~1x; quadratic: ~8x).
    for i in range(4000):
        (tmp_path / f"m{i}.py").write_text(f"X = {i}\n")
    for n in (500, 4000):
        body = "".join(f"from m{i} import X as X{i}\n" for i in range(n))
        (tmp_path / f"big{n}.py").write_text(body)
    probe = textwrap.dedent("""
        import sys, time
        from hotstart.lazy import _hook
        _hook.install(lambda *a: True)
        n = int(sys.argv[1])
        code = compile(open(f"big{n}.py").read(), f"big{n}.py", "exec")
        module = type(sys)(f"big{n}")
        sys.modules[module.__name__] = module
        start = time.process_time()
        exec(code, module.__dict__)
        print((time.process_time() - start) / n)
    """)
    per_statement = {}
    for n in (500, 4000):
        result = subprocess.run([sys.executable, "-c", probe, str(n)], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=True)
        per_statement[n] = float(result.stdout)
    assert per_statement[4000] < 3 * per_statement[500], per_statement


def test_meta_path_finder_using_a_lazy_import(tmp_path):
    # A finder whose find_spec uses a deferred import (pytest's assertion rewriter uses
    # `fnmatch` this way): resolving it imports it, which asks the finder, which uses the
    # still-lazy name again -> RecursionError. `python -m hotstart.lazy -m pytest` fails so.
    _write(tmp_path, {
        "matcher.py": "def check(name):\n    return name.startswith('zzz')\n",
        "finder.py": """
            import sys
            import matcher
            class Finder:
                def find_spec(self, name, path=None, target=None):
                    matcher.check(name)
                    return None
            sys.meta_path.insert(0, Finder())
        """,
        "main.py": """
            import finder
            import decimal
            print(finder.Finder.__name__)
            print(decimal.Decimal(1))
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "Finder\n1\n"


def test_pytest_runs_under_mode_all(tmp_path):
    # The real case of the test above: any pytest run under mode=all.
    _write(tmp_path, {"test_one.py": "def test_one():\n    assert 1 + 1 == 2\n"})
    args = ("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_one.py")
    eager = _run(tmp_path, *args, lazy=False)
    lazy = _run(tmp_path, *args, lazy=True)
    assert eager.returncode == 0 and "1 passed" in eager.stdout
    assert lazy.returncode == 0 and "1 passed" in lazy.stdout, lazy.stdout + lazy.stderr[-2000:]


def test_match_class_pattern_with_a_lazily_imported_class(tmp_path):
    # MATCH_CLASS checks the exact type: "TypeError: called match pattern must be a type".
    # The rule that keeps `v is name` / `except name` eager does not cover `case name(...)`.
    _write(tmp_path, {
        "geo.py": """
            from dataclasses import dataclass
            @dataclass
            class Point:
                x: int
                y: int
        """,
        "main.py": """
            from geo import Point
            def where(p):
                match p:
                    case Point(x=0):
                        return "point on axis"
                    case (a, b):
                        return f"pair {a} {b}"
                return "other"
            print(where((1, 2)))
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "pair 1 2\n"


def test_deepcopy_and_pickle_of_a_lazily_imported_class(tmp_path):
    # copy/pickle dispatch on type(x) (LazyValue), then call the forwarded, unbound
    # Point.__reduce_ex__: "object.__reduce_ex__() takes exactly one argument (0 given)".
    _write(tmp_path, {
        "geo.py": "class Point:\n    pass\n",
        "main.py": """
            import copy, pickle
            from geo import Point
            def f():
                print(copy.deepcopy({"cls": Point})["cls"].__name__)
                print(pickle.loads(pickle.dumps(Point)).__name__)
            f()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "Point\nPoint\n"


def test_weak_reference_to_a_lazily_imported_function(tmp_path):
    # Signal libraries (blinker, Django's `weak=True`) keep weak references to receivers,
    # often connected in a function (`AppConfig.ready`) from a top-level `from .handlers
    # import on_save`: "cannot create weak reference to 'LazyValue' object". (Adding a
    # __weakref__ slot would make it silent: the stand-in dies once the name is rebound.)
    _write(tmp_path, {
        "handlers.py": "def on_save(sender):\n    print('saved', sender)\n",
        "main.py": """
            import weakref
            from handlers import on_save
            _receivers = []
            def connect(receiver):
                _receivers.append(weakref.ref(receiver))
            def send(sender):
                for ref in _receivers:
                    receiver = ref()
                    if receiver is not None:
                        receiver(sender)
            def setup():
                connect(on_save)
            setup()
            send("doc")
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "saved doc\n"


def test_lazy_value_escaping_through_a_function_at_import_stays_a_stand_in(tmp_path):
    # The "read while the module runs" rule sees only the module body's own loads: a
    # function called from the body returns the LazyValue, which KEY keeps FOREVER (the
    # rebind on first use only replaces the name NAME), so C code rejects it even after NAME
    # was used.
    _write(tmp_path, {
        "codes.py": "NAME = 'abc'\n",
        "main.py": """
            from codes import NAME
            def name():
                return NAME
            KEY = name()
            def f():
                print(NAME.upper())
                print(type(KEY).__name__, ",".join([KEY, "x"]))
            f()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "ABC\nstr abc,x\n"


def test_package_reexporting_a_function_named_like_its_submodule(tmp_path):
    # pkg/__init__.py `from .tool import tool` (markdown-it's rules_core, `from .cli import
    # cli`, `from .version import version`...). Deferred, the first use imports pkg.tool; the
    # import system then sets pkg.tool = <module pkg.tool>, overwriting the LazyValue, so
    # _rebind finds nothing to replace and every later read gets the MODULE:
    # "TypeError: 'module' object is not callable" (markdown-it CLI), or silently the
    # module's repr where a string was (version).
    _write(tmp_path, {
        "pkg/__init__.py": "from .tool import tool\nfrom .version import version\n",
        "pkg/tool.py": "def tool():\n    return 'tool called'\n",
        "pkg/version.py": "version = '1.0'\n",
        "main.py": """
            import pkg
            def show():
                print(pkg.version, pkg.tool())
            show()
            show()
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "1.0 tool called\n1.0 tool called\n"


def test_launcher_dash_m_submodule_keeps_the_parent_package_lazy(tmp_path):
    # `python -m hotstart.lazy -m pkg.sub` calls importlib.util.find_spec("pkg.sub") BEFORE
    # enabling the mode: that imports pkg eagerly, so pkg/__init__.py's imports are never
    # deferred (`-m pkg` and `-c "import pkg.sub"` do defer them).
    _write(tmp_path, {
        "pkg/__init__.py": """
            import fractions
            def later():
                return fractions.Fraction(1)
        """,
        "pkg/sub.py": "import sys\nprint('fractions loaded:', 'fractions' in sys.modules)\n",
    })
    lazy = _run(tmp_path, "-m", "pkg.sub", lazy=True)
    assert (lazy.returncode, lazy.stdout) == (0, "fractions loaded: False\n"), lazy.stderr


def test_launcher_dash_m_with_a_failing_parent_shows_no_launcher_frames(tmp_path):
    # A parent package raising something other than ImportError escapes the launcher's
    # find_spec: a traceback through hotstart/lazy/__main__.py (python itself says "Error
    # while finding module specification for 'pkgboom.sub' (RuntimeError: boom)").
    _write(tmp_path, {"pkgboom/__init__.py": "raise RuntimeError('boom')\n",
                      "pkgboom/sub.py": "print('sub')\n"})
    lazy = _run(tmp_path, "-m", "pkgboom.sub", lazy=True)
    assert lazy.returncode == 1
    assert "hotstart/lazy/__main__.py" not in lazy.stderr, lazy.stderr
    assert "boom" in lazy.stderr


def test_unread_from_import_of_a_class_that_registers_itself(tmp_path):
    # The same side-effect gap as for submodules, with a class: defining CsvExporter
    # registers it (__init_subclass__); the importer never reads the name.
    _write(tmp_path, {
        "base.py": """
            EXPORTERS = {}
            class Exporter:
                def __init_subclass__(cls, **kwargs):
                    super().__init_subclass__(**kwargs)
                    EXPORTERS[cls.__name__] = cls
        """,
        "csv_export.py": "from base import Exporter\nclass CsvExporter(Exporter):\n    pass\n",
        "main.py": """
            import base
            from csv_export import CsvExporter  # noqa: F401  registers the exporter
            print(sorted(base.EXPORTERS))
        """,
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "['CsvExporter']\n"


def test_package_deleting_the_submodule_name_its_from_import_bound(tmp_path):
    # toolz/curried/__init__.py: `from .exceptions import merge, merge_with` ... `del
    # exceptions` -- the import system binds the submodule name in the package's namespace
    # as a side effect; deferred, it is never bound: NameError while importing the package
    # (`python -m hotstart.lazy -m pytest --assert=plain toolz/tests/test_curried.py`).
    _write(tmp_path, {
        "tz/__init__.py": "from .helpers import helper\ndel helpers\n",
        "tz/helpers.py": "def helper():\n    return 'helped'\n",
        "main.py": "import tz\nprint(tz.helper())\n",
    })
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "helped\n"


def test_stdlib_ctypes_big_endian_structure(tmp_path):
    # ctypes/__init__.py:550 `from ctypes._endian import BigEndianStructure, ...` is
    # deferred; resolving it runs ctypes/_endian.py, whose `from ctypes import *` (line 2)
    # reads ctypes' lazy BigEndianStructure -> resolves it -> ctypes._endian is half-run:
    # "ImportError: cannot import name 'BigEndianStructure' from 'ctypes._endian'".
    # (networkx's classes/tests/test_graph.py fails so under mode=all.)
    _write(tmp_path, {"main.py": """
        import ctypes
        def f():
            print(ctypes.BigEndianStructure.__name__)
        f()
    """})
    eager, _ = _same(tmp_path, "main.py")
    assert eager.stdout == "BigEndianStructure\n"


def test_namespace_scan_with_an_abc_base(tmp_path):
    # Was: vars(module) held stand-ins that passed isinstance(v, type) and then failed in
    # ABCMeta.__subclasscheck__ ("issubclass() arg 1 must be a class"; libcst's
    # test_module.py). Now a deferred name is not in the module's __dict__ until first use,
    # so the scan sees no class there. PEP 810 documents the same for the scan: "globals()
    # and __dict__ return the raw dictionary without reification" (a lazy object, not a
    # class). docs/lazy-mode.md lists it; this test asserts it, and that a read by name
    # (getattr, as inspect.getmembers does) gets the real class.
    _write(tmp_path, {
        "shapes.py": """
            import abc
            class Base(abc.ABC):
                pass
            class Circle(Base):
                pass
        """,
        "registry.py": "from shapes import Circle\ndef make():\n    return Circle()\n",
        "main.py": """
            import registry
            import shapes
            print([name for name, value in vars(registry).items()
                   if isinstance(value, type) and issubclass(value, shapes.Base)])
            print(getattr(registry, "Circle") is shapes.Circle)
        """,
    })
    eager = _run(tmp_path, "main.py", lazy=False)
    lazy = _run(tmp_path, "main.py", lazy=True)
    assert (eager.returncode, eager.stdout) == (0, "['Circle']\nTrue\n")
    assert (lazy.returncode, lazy.stdout) == (0, "[]\nTrue\n"), lazy.stderr
