"""Attacks on `hotstart fix`: small projects whose code a rewrite broke, each fixed on disk
(with `--all`) and run in a fresh interpreter, which must print what it printed before."""

from __future__ import annotations

import pytest

from ._helpers import assert_idempotent, fix_and_write, make, run_python

LIB = {"lib/__init__.py": "", "lib/heavy.py": "VALUE = 42\n\n\ndef helper():\n    return 'h'\n"
       "\n\nclass Thing:\n    pass\n"}


def _fixed_still_works(tmp_path, files: dict[str, str], code: str, **options) -> object:
    """Run `code` on the project, fix it (write, --all), run `code` again: same output; a
    second fix changes nothing. Returns the first fix's result."""
    root = make(tmp_path / "proj", {**LIB, **files})
    before = run_python(root, code)
    options.setdefault("include_all", True)
    result = fix_and_write(root, "pkg", **options)
    assert run_python(root, code) == before
    assert_idempotent(root, "pkg", **options)
    return result


# -- the module reached by its own name ------------------------------------------------------

@pytest.mark.parametrize("lookup", [
    "importlib.import_module(__name__).__dict__",
    "vars(importlib.import_module(__name__))",
    "sys.modules.get(__name__).__dict__",
])
def test_the_module_looked_up_by_name_keeps_every_import(tmp_path, lookup):
    source = ("import importlib\nimport json\nimport sys\n\nfrom lib.heavy import helper\n\n\n"
              f"def run(code):\n    ns = {lookup}\n    exec(code, ns)\n    return ns['out']\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/ev.py": source},
                                "from pkg.ev import run\n"
                                "print(run('out = json.dumps(helper())'))\n")
    assert result.changes == []
    pins = [p for s in result.report.sites for p in s.pins]
    assert any("module object read by name" in p for p in pins), pins


@pytest.mark.parametrize("statement", ["from pkg import ev", "import pkg.ev as ev",
                                       "from . import ev"])
def test_a_module_that_imports_itself_keeps_every_import(tmp_path, statement):
    source = ("from lib.heavy import helper\n\n\n"
              f"def go(name):\n    {statement}\n    return getattr(ev, name)()\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/ev.py": source},
                                "from pkg.ev import go\nprint(go('helper'))\n")
    assert result.changes == []
    assert any("module imports itself at " in p for s in result.report.sites for p in s.pins)


# -- a name the module binds again -----------------------------------------------------------

@pytest.mark.parametrize("rebinding, expected", [
    ("if os.environ.get('PATH'):\n    def helper():\n        return 'fallback'\n", "fallback"),
    ("if os.environ.get('PATH'):\n    helper = lambda: 'lambda'\n", "lambda"),
    ("for helper in [lambda: 'loop']:\n    pass\n", "loop"),
    ("if os.environ.get('PATH'):\n    from lib.other import other as helper\n", "other"),
])
def test_an_import_bound_again_at_module_level_stays(tmp_path, rebinding, expected):
    # a copy of the import moved into go() would shadow the module's later binding
    source = (f"import os\nfrom lib.heavy import helper\n{rebinding}\n\n"
              "def go():\n    return helper()\n")
    result = _fixed_still_works(
        tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source,
                   "lib/other.py": "def other():\n    return 'other'\n"},
        "from pkg.m import go\nprint(go())\n")
    assert [c for c in result.changes if c.site.imported == "lib.heavy"] == []
    pins = [p for s in result.report.sites if s.imported == "lib.heavy" for p in s.pins]
    assert any(p.startswith("bound again at module level (lines 2, ") for p in pins), pins


def test_an_import_a_function_rebinds_through_global_stays(tmp_path):
    source = ("from lib.heavy import helper\n\n\ndef wrap():\n    global helper\n"
              "    old = helper\n    helper = lambda: old() + '!'\n\n\n"
              "def go():\n    return helper()\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "from pkg import m\nm.wrap()\nprint(m.go())\nm.wrap()\n"
                                "print(m.go())\n")
    assert result.changes == []
    [site] = result.report.sites
    assert site.pins == [f"rebound by `global helper` in wrap() ({site.file}:5)"]


def test_only_reading_a_global_still_defers(tmp_path):
    source = ("from lib.heavy import helper\n\n\ndef go():\n    global helper\n"
              "    return helper()\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "from pkg.m import go\nprint(go())\n")
    assert [c.action for c in result.changes] == ["move"]


# -- calls named through a function's own imports ---------------------------------------------

def test_the_module_looked_up_through_a_function_local_import_keeps_every_import(tmp_path):
    source = ("import json\n\nfrom lib.heavy import helper\n\n\ndef run(code):\n"
              "    import importlib\n\n    ns = importlib.import_module(__name__).__dict__\n"
              "    exec(code, ns)\n    return ns['out']\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/ev.py": source},
                                "from pkg.ev import run\n"
                                "print(run('out = json.dumps(helper())'))\n")
    assert result.changes == []


def test_get_type_hints_through_a_moved_import_is_still_a_reader(tmp_path):
    # the first fix moves `import typing` into check(); the second must still see that
    # check's annotations are read (it moved `Thing` under TYPE_CHECKING: not idempotent)
    source = ("from __future__ import annotations\n\nimport typing\n\n"
              "from lib.heavy import Thing\n\n\ndef check(x: Thing) -> bool:\n"
              "    return isinstance(x, typing.get_type_hints(check)['x'])\n")
    _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                       "from pkg.m import check\nfrom lib.heavy import Thing\n"
                       "print(check(Thing()))\n")


# -- the public names of a package __init__ ------------------------------------------------

INIT = ("from __future__ import annotations\n\nfrom collections import OrderedDict\n\n"
        "from lib.heavy import Thing, helper\n\n"
        "from .m import go\n\n\ndef use() -> Thing:\n    return helper()\n")


@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
def test_names_a_package_init_imports_from_elsewhere_stay_importable(tmp_path, runtime):
    # unused (was removed as dead), used in a function (was moved), used in an annotation
    # (was replaced by a ForwardRef): `from pkg import Thing` of another project broke
    result = _fixed_still_works(
        tmp_path, {"pkg/__init__.py": INIT, "pkg/m.py": "def go():\n    return 'go'\n"},
        "import pkg\nfrom pkg import OrderedDict, Thing, go, helper\n"
        "print(pkg.Thing, OrderedDict, helper(), go(), isinstance(Thing(), type))\n",
        runtime=runtime)
    assert [c.site.imported for c in result.changes] == ["pkg.m"]
    pins = {b.name: s.pins for s in result.report.sites for b in s.names}
    assert set(pins["Thing"]) == {"a public name of the package __init__ (no __all__): other code "
                             "may import it"}


# -- `import a.b` in annotations ---------------------------------------------------------------

@pytest.mark.parametrize("body", ["return None", "return lib.heavy.helper()"])
def test_a_dotted_import_used_in_annotations_keeps_its_place(tmp_path, body):
    # its runtime alias was `lib = lazy_import("lib")`: get_type_hints then failed with
    # "module 'lib' has no attribute 'heavy'"
    source = ("from __future__ import annotations\n\nimport lib.heavy\n\n\n"
              f"def f(x: lib.heavy.Thing) -> None:\n    {body}\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "import typing\nimport pkg.m\n"
                                "print(typing.get_type_hints(pkg.m.f))\n", runtime="hotstart")
    assert result.changes == []
    assert any("`import lib.heavy` binds `lib`" in s.why for s in result.skipped)


# -- registration by subclassing -----------------------------------------------------------

BASE = {
    "init_subclass": "class Base:\n    subs = []\n\n    def __init_subclass__(cls):\n"
                     "        Base.subs.append(cls.__name__)\n",
    "metaclass": "class Meta(type):\n    subs = []\n\n    def __init__(cls, name, bases, ns):\n"
                 "        super().__init__(name, bases, ns)\n        Meta.subs.append(name)\n\n\n"
                 "class Base(metaclass=Meta):\n    subs = Meta.subs\n",
}


@pytest.mark.parametrize("hook", sorted(BASE))
def test_a_module_whose_classes_register_by_subclassing_is_not_deferred(tmp_path, hook):
    # main imported impl only for a function: moved there, Impl was not registered until then
    files = {"pkg/__init__.py": "", "pkg/base.py": BASE[hook],
             "pkg/impl.py": "from pkg.base import Base\n\n\nclass Impl(Base):\n    pass\n\n\n"
                            "def make():\n    return Impl()\n",
             "pkg/main.py": "from pkg.base import Base\nfrom pkg.impl import make\n\n\n"
                            "def names():\n    return Base.subs\n\n\n"
                            "def run():\n    return type(make()).__name__\n"}
    result = _fixed_still_works(tmp_path, files, "from pkg.main import names, run\n"
                                "print(names(), run())\n")
    make_site = next(s for s in result.report.sites if s.imported == "pkg.impl")
    assert make_site.klass == "side-effect", make_site.reason
    assert "defines Impl, running the" in make_site.reason


# -- tests beside the package ---------------------------------------------------------------

def test_tests_beside_a_package_given_as_a_directory_are_read_for_patches(tmp_path):
    files = {"pkg/__init__.py": "", "pkg/a.py": "import time\n\n\ndef now():\n"
             "    return time.time()\n",
             "tests/test_a.py": "from unittest import mock\n\nimport pkg.a\n\n\n"
                                "def test_now():\n    with mock.patch('pkg.a.time') as t:\n"
                                "        t.time.return_value = 5\n"
                                "        assert pkg.a.now() == 5\n"}
    result = _fixed_still_works(tmp_path, files, """
        import subprocess, sys
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "tests"], capture_output=True, text=True)
        print(done.returncode)
        """)
    assert result.changes == []
    [site] = result.report.sites
    assert site.pins[0].startswith("patched by a test: 'pkg.a.time' (")


# -- the submodules a lazy package __init__ no longer imports ---------------------------------

@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
def test_a_lazy_package_init_still_gives_its_submodules_as_attributes(tmp_path, runtime):
    # `from .m import go` bound `pkg.m` too; after the lazy rewrite `pkg.m` was missing
    files = {"pkg/__init__.py": "from .m import go\nfrom .sub import f\n",
             "pkg/m.py": "def go():\n    return 'go'\n",
             "pkg/sub/__init__.py": "def f():\n    return 'f'\n"}
    result = _fixed_still_works(tmp_path, files, """
        import sys
        import pkg
        print(pkg.m.go(), pkg.sub.f(), pkg.go())
        """, runtime=runtime)
    assert sorted(c.action for c in result.changes) == ["lazy-init", "lazy-init"]


# -- generated code meeting the module's own names ---------------------------------------------

@pytest.mark.parametrize("own", ["class ForwardRef:\n    tag = 'mine'\n",
                                 "TYPE_CHECKING = 'mine'\n"])
def test_a_module_with_its_own_forwardref_or_type_checking_keeps_its_typing_imports(
        tmp_path, own):
    # the generated block used the module's own name: NameError at import
    source = ("from __future__ import annotations\n\nfrom lib.heavy import Thing\n\n"
              f"{own}\n\ndef f(x: Thing) -> None:\n    return None\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "import typing\nimport pkg.m\n"
                                "print(typing.get_type_hints(pkg.m.f))\n")
    assert result.changes == [] or all(f.after == f.before for f in result.files)
    assert any("pinned by: the module binds its own `" in s.why for s in result.skipped)


def test_a_docstring_followed_by_a_semicolon_stays_the_docstring(tmp_path):
    source = ('import json\n\n\ndef g():\n    r"""Raw doc."""; return json.dumps(2)\n')
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "from pkg.m import g\nprint(g(), g.__doc__)\n")
    assert [c.action for c in result.changes] == ["move"]


# -- PEP 810 `lazy` where Python 3.15 allows it ---------------------------------------------

def test_no_lazy_import_inside_a_try_statement(tmp_path):
    # `lazy import` in any `try` block is a SyntaxError on 3.15 (PEP 810)
    source = ("import sys\n\ntry:\n    import csv\nexcept KeyError:\n    pass\n\n"
              "if sys.platform:\n    import json\n\n\ndef f():\n    return csv, json\n")
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/m.py": source})
    result = fix_and_write(root, "pkg", include_all=True, target_version="3.15")
    after = (root / "pkg" / "m.py").read_text()
    assert "try:\n    import csv\n" in after and "    lazy import json\n" in after
    assert [c.site.imported for c in result.changes] == ["json"]
    assert any("inside a `try` statement" in s.why for s in result.skipped)
    assert_idempotent(root, "pkg", include_all=True, target_version="3.15")


def test_an_import_under_suppress_import_error_is_an_availability_check(tmp_path):
    # like try/except ImportError: deferring it would move the failure to the first use
    source = ("import contextlib\n\nwith contextlib.suppress(ImportError):\n"
              "    import json\n\n\ndef f():\n    return json.dumps(1)\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "from pkg.m import f\nprint(f())\n")
    assert result.changes == []
    json_site = next(s for s in result.report.sites if s.imported == "json")
    assert (json_site.klass, json_site.guard) == ("needed", "try")


# -- compiled functions nested in others ------------------------------------------------------

#: A stand-in for numba that refuses what numba refuses: an import in the compiled bytecode.
FAKE_NUMBA = '''\
import dis


def njit(*args, **options):
    def compile(function):
        for instruction in dis.get_instructions(function):
            if instruction.opname == "IMPORT_NAME":
                raise RuntimeError("UnsupportedBytecodeError (IMPORT_NAME)")
        return function
    if args and callable(args[0]):
        return compile(args[0])
    return compile


jit = njit
'''


def test_no_import_moves_into_a_compiled_function_nested_in_another(tmp_path):
    source = ("import cmath\nimport json\n\nimport numba\nfrom numba import njit\n\n\n"
              "def outer():\n    @njit\n    def inner(x):\n        return cmath.sqrt(x)\n"
              "    return inner(4)\n\n\n"
              "def outer2():\n    @numba.jit(nopython=True)\n    def inner2(x):\n"
              "        return json.dumps(x)\n    return inner2(1)\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/k.py": source,
                                           "numba/__init__.py": FAKE_NUMBA},
                                "from pkg.k import outer, outer2\nprint(outer(), outer2())\n")
    pins = {b.name: s.pins for s in result.report.sites for b in s.names}
    assert pins["cmath"] == [
        f"used inside numba.njit-compiled function outer.inner ({result.report.sites[0].file}"
        ":10)"]
    # numba and njit move into outer() and outer2(), where the decorators run; nothing else
    assert [c.site.imported for c in result.changes] == ["numba", "numba"]


# -- annotations evaluated by the project itself ---------------------------------------------

@pytest.mark.parametrize("reader", [
    "return inspect.signature(f, eval_str=True).parameters['x'].annotation",
    "import sys\n    namespace = vars(sys.modules[__name__])\n"
    "    return eval(f.__annotations__['x'], namespace)",
])
def test_annotations_the_project_evaluates_itself_keep_their_imports(tmp_path, reader):
    # the typing-only runtime alias is a ForwardRef: evaluating the string gave it, not Thing
    source = ("from __future__ import annotations\n\nimport inspect\n\n"
              "from lib.heavy import Thing\n\n\ndef f(x: Thing) -> None:\n    return None\n\n\n"
              f"def read():\n    {reader}\n")
    result = _fixed_still_works(tmp_path, {"pkg/__init__.py": "", "pkg/m.py": source},
                                "from pkg.m import read\nprint(read())\n")
    assert [c for c in result.changes if c.site.imported == "lib.heavy"] == []


# -- star imports of a project module -------------------------------------------------------

@pytest.mark.parametrize("a", ["import json\nfrom collections import OrderedDict\n\n\n"
                               "def f():\n    return 1\n",
                               "import json\nfrom collections import OrderedDict\n\n\n"
                               "def f():\n    return json.dumps(OrderedDict()) and 1\n"])
def test_imports_another_module_star_imports_stay(tmp_path, a):
    # `from pkg.a import *` (no __all__ in pkg.a) copies json and OrderedDict into pkg.b:
    # removed as dead or moved into f(), they were gone from b
    files = {"pkg/__init__.py": "", "pkg/a.py": a,
             "pkg/b.py": "from pkg.a import *\n\n\ndef g():\n"
                         "    return json.dumps(OrderedDict(a=f()))\n"}
    result = _fixed_still_works(tmp_path, files, "from pkg.b import g\nprint(g())\n")
    assert result.changes == []
    pins = [p for s in result.report.sites for p in s.pins]
    assert all(p.startswith("imported from this module by pkg.b with import * (") for p in pins)


def test_a_dunder_name_of_a_package_init_is_kept(tmp_path):
    # `from pkg.version import __version__` was removed as dead: pkg.__version__ was gone
    files = {"pkg/__init__.py": "from pkg.version import __version__\n"
                                "from lib.heavy import __doc__ as __lib_doc__\n",
             "pkg/version.py": "__version__ = '1.0'\n"}
    result = _fixed_still_works(tmp_path, files, "import pkg\nprint(pkg.__version__)\n")
    assert result.changes == []
    assert result.report.sites[0].pins == [
        "a dunder name of the package __init__ (`pkg.__version__` is public API)"]
