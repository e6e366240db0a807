"""Import-site classification (`hotstart.audit.classify`): every class, with its reason, pins
and fix, read from real source trees (static: nothing is imported or run)."""

from __future__ import annotations

import pytest

from ._helpers import audit_tree, names, site, sites_in

PKG = {"pkg/__init__.py": ""}


def one(tmp_path, source: str, **options):
    """Audit a package whose module `pkg.a` has `source`."""
    return audit_tree(tmp_path, {**PKG, "pkg/a.py": source}, "pkg", **options)


# -- dead ------------------------------------------------------------------------------------

def test_unused_import_is_dead(tmp_path):
    report = one(tmp_path, """
        import json
        import os.path
        """)
    for name in ("json", "os"):
        s = site(report, "pkg.a", name)
        assert (s.klass, s.reason, s.fix, s.pins, s.effects) == \
            ("dead", "never used", "remove it", [], [])
    assert site(report, "pkg.a", "json").line == 1
    assert site(report, "pkg.a", "os").imported == "os.path"
    assert site(report, "pkg.a", "os").names[0].target == "os"


def test_unused_name_of_a_used_from_import_is_split_into_its_own_site(tmp_path):
    report = one(tmp_path, """
        from os.path import join, splitext, basename

        def f(p):
            return join(p, "x")

        TOP = basename("a/b")
        """)
    parts = sites_in(report, "pkg.a")
    assert len(parts) == 3
    assert {s.line for s in parts} == {1}
    assert {s.statement for s in parts} == {"from os.path import join, splitext, basename"}
    assert {s.kind for s in parts} == {"from"}
    by_class = {s.klass: s for s in parts}
    assert set(by_class) == {"deferrable", "dead", "needed"}
    assert names(by_class["deferrable"]) == ["join"]
    assert by_class["deferrable"].reason == "used only inside f()"
    assert names(by_class["dead"]) == ["splitext"]
    assert by_class["dead"].reason == "never used"
    assert by_class["dead"].fix == "remove it"
    assert names(by_class["needed"]) == ["basename"]
    assert by_class["needed"].reason == "called at import (line 6)"
    assert {s.id for s in parts} == {f"{parts[0].file}:1:join", f"{parts[0].file}:1:splitext",
                                     f"{parts[0].file}:1:basename"}


def test_names_of_one_class_stay_together(tmp_path):
    report = one(tmp_path, """
        from os.path import join, splitext
        """)
    [s] = sites_in(report, "pkg.a")
    assert (s.klass, names(s)) == ("dead", ["join", "splitext"])


@pytest.mark.parametrize("body", [
    "def f(json):\n    return json\n",                      # a parameter
    "def f(*json):\n    return json\n",                     # *args
    "def f(**json):\n    return json\n",                    # **kwargs
    "def f():\n    json = 1\n    return json\n",           # a local assignment
    "def f():\n    for json in range(3):\n        pass\n    return json\n",
    "def f():\n    with open('x') as json:\n        return json\n",
    "def f():\n    try:\n        pass\n    except Exception as json:\n        return json\n",
    "def f():\n    json = 1\n    def g():\n        return json\n    return g\n",  # enclosing
    "def f():\n    import json\n    return json\n",       # its own import
    "def f():\n    return [json for json in range(3)]\n",  # a comprehension variable
    "X = [json for json in range(3)]\n",                     # ... at module level
    "f = lambda json: json\n",                               # a lambda parameter
    "class C:\n    def m(self, json):\n        return json\n",
])
def test_names_shadowed_by_a_local_are_not_uses(tmp_path, body):
    report = one(tmp_path, "import json\n" + body)
    s = site(report, "pkg.a", "json")
    assert (s.klass, s.reason) == ("dead", "never used"), body
    assert s.names[0].uses == []


def test_global_declaration_does_not_shadow(tmp_path):
    report = one(tmp_path, """
        import json

        def f():
            global json
            return json
        """)
    s = site(report, "pkg.a", "json")
    assert (s.klass, s.reason) == ("deferrable", "used only inside f()")


# -- side-effect -----------------------------------------------------------------------------

EFFECTS = {
    **PKG,
    "pkg/registry.py": """
        REGISTRY = {}

        def register(name):
            def decorate(function):
                REGISTRY[name] = function
                return function
            return decorate
        """,
    "pkg/plugin.py": """
        from pkg.registry import register


        @register("x")
        def x():
            pass
        """,
    "pkg/exiter.py": """
        import atexit

        def bye():
            pass

        atexit.register(bye)
        """,
    "pkg/pathy.py": """
        import sys

        sys.path.insert(0, "/nowhere")
        """,
    "pkg/patcher.py": """
        import pkg.registry as other_mod

        other_mod.attr = 1
        """,
    "pkg/setattrs.py": """
        import pkg.registry

        setattr(pkg.registry, "attr", 2)
        """,
    "pkg/modules.py": """
        import sys

        sys.modules["fake_module"] = sys
        """,
    "pkg/relay.py": """
        import pkg.exiter
        """,
    "pkg/main.py": """
        import pkg.plugin
        import pkg.exiter
        import pkg.pathy
        import pkg.patcher
        import pkg.setattrs
        import pkg.modules
        import pkg.relay
        from pkg import plugin as plugin_module
        import readline
        """,
}


@pytest.fixture
def effects_report(tmp_path):
    return audit_tree(tmp_path, EFFECTS, "pkg")


@pytest.mark.parametrize("line, effect", [
    (1, "pkg.plugin: registers with @pkg.registry.register at line 5"),
    (2, "pkg.exiter: registers an atexit handler at line 6"),
    (3, "pkg.pathy: edits sys.path at line 3"),
    (4, "pkg.patcher: monkeypatches pkg.registry at line 3"),
    (5, "pkg.setattrs: monkeypatches an attribute at line 3"),
    (6, "pkg.modules: edits sys.modules at line 3"),
    (9, "readline: enables line editing and history for input()"),
])
def test_unused_import_of_a_module_with_effects_is_side_effect(effects_report, line, effect):
    [s] = [s for s in sites_in(effects_report, "pkg.main") if s.line == line]
    assert s.klass == "side-effect"
    assert s.reason == f"unused, but importing it has effects ({effect})"
    assert s.effects == [effect]
    assert (s.fix, s.pins) == ("", [])


@pytest.mark.parametrize("line", [7, 8])
def test_effects_an_earlier_import_performed_are_not_the_later_sites(effects_report, line):
    # line 7's pkg.relay only imports pkg.exiter (line 2 loaded it), line 8 imports pkg.plugin
    # again (line 1): whatever those do has happened before these lines run
    [s] = [s for s in sites_in(effects_report, "pkg.main") if s.line == line]
    assert (s.klass, s.reason, s.effects) == ("dead", "never used", [])


def test_report_collects_the_effects_by_module(effects_report):
    effects = effects_report.effects
    assert effects["pkg.exiter"] == ["registers an atexit handler at line 6"]
    assert effects["readline"] == ["enables line editing and history for input()"]
    assert effects["pkg.modules"] == ["edits sys.modules at line 3"]
    assert "pkg.registry" not in effects  # defines a registry, registers nothing itself


def test_the_imports_inside_the_effect_modules_are_needed(effects_report):
    assert site(effects_report, "pkg.exiter", "atexit").reason == "called at import (line 6)"
    assert site(effects_report, "pkg.plugin", "register").reason == "a decorator (line 4)"
    assert site(effects_report, "pkg.patcher", "other_mod").reason == \
        "used by a module-level statement (line 3)"


def test_unused_import_of_a_module_without_effects_is_dead(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/quiet.py": "VALUE = 1\n\ndef helper():\n    return VALUE\n",
        "pkg/a.py": "import pkg.quiet\nfrom pkg import quiet\n",
    }, "pkg")
    assert [s.klass for s in sites_in(report, "pkg.a")] == ["dead", "dead"]


def test_module_with_effects_used_only_in_a_function_is_side_effect(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/exiter.py": "import atexit\n\ndef bye():\n    pass\n\natexit.register(bye)\n",
        "pkg/a.py": "import pkg.exiter\n\ndef f():\n    return pkg.exiter.bye\n",
    }, "pkg")
    s = site(report, "pkg.a", "pkg")
    assert s.klass == "side-effect"
    assert s.reason == ("importing it has effects that deferring would delay "
                        "(pkg.exiter: registers an atexit handler at line 6)")


def test_unused_stdlib_import_without_known_effects_is_dead(tmp_path):
    report = one(tmp_path, "import json\nimport rlcompleter\n")
    assert site(report, "pkg.a", "json").klass == "dead"
    assert site(report, "pkg.a", "rlcompleter").klass == "side-effect"


def test_project_module_importing_readline_is_transitively_side_effect(tmp_path):
    # pkg.rl exists only to turn on line editing: removing `import pkg.rl` from pkg.main
    # loses that, so the import is not dead.
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/rl.py": "import readline\n",
        "pkg/main.py": "import pkg.rl\n",
    }, "pkg")
    assert site(report, "pkg.rl", "readline").klass == "side-effect"
    s = site(report, "pkg.main", "pkg")
    assert s.klass == "side-effect", (s.klass, s.reason)
    assert "readline" in s.reason


def test_effects_of_the_importing_package_itself_are_not_blamed_on_a_reexport(tmp_path):
    # The package __init__ has an effect of its own; `from .sub import name` does not
    # cause or delay it (pkg is the module being imported), so the re-export stays the
    # lazy-__getattr__ deferrable it is without the effect.
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": """
            import atexit

            from .sub import name

            def bye():
                pass

            atexit.register(bye)
            """,
        "pkg/sub.py": "name = 1\n",
    }, "pkg")
    s = site(report, "pkg", "name")
    assert s.klass == "deferrable", (s.klass, s.reason)
    assert s.reason.startswith("re-exported by the package __init__")


def test_effects_of_an_enclosing_package_are_not_blamed_on_an_unused_import(tmp_path):
    # pkg/__init__ runs before pkg.a whatever pkg.a imports: an unused `from pkg import sub`
    # (sub has no effects) can be removed without losing pkg's atexit handler.
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": "import atexit\n\ndef bye():\n    pass\n\natexit.register(bye)\n",
        "pkg/sub.py": "name = 1\n",
        "pkg/a.py": "from pkg import sub\n",
    }, "pkg")
    s = site(report, "pkg.a", "sub")
    assert (s.klass, s.reason) == ("dead", "never used"), (s.klass, s.reason)


# -- deferrable ------------------------------------------------------------------------------

def test_used_only_in_functions_is_deferrable_and_names_them(tmp_path):
    report = one(tmp_path, """
        import json
        import os
        import re
        import string

        def f():
            return json.dumps(1)

        class C:
            def m(self):
                return os.sep

        async def outer():
            def inner():
                return re.compile("x")
            return inner

        def g():
            return string.digits

        def h():
            return string.ascii_letters
        """)
    expected = {
        "json": ("used only inside f()", "move it into f()"),
        "os": ("used only inside C.m()", "move it into C.m()"),
        "re": ("used only inside outer.inner()", "move it into outer.inner()"),
        "string": ("used only inside g(), h()", "move it into g(), h()"),
    }
    for name, (reason, fix) in expected.items():
        s = site(report, "pkg.a", name)
        assert (s.klass, s.reason, s.fix, s.pins) == ("deferrable", reason, fix, []), name
    [use] = site(report, "pkg.a", "os").names[0].uses
    assert (use.context, use.scope, use.scope_line, use.line) == ("function", "C.m", 10, 11)


def test_deferrable_with_more_than_four_functions_is_abbreviated(tmp_path):
    functions = "".join(f"def f{i}():\n    return json\n\n" for i in range(6))
    s = site(one(tmp_path, "import json\n\n" + functions), "pkg.a", "json")
    assert s.reason == "used only inside f0(), f1(), f2(), f3() ..."
    assert s.fix == "move it into f0(), f1(), f2(), f3() and 2 more"


def test_use_in_function_and_annotation_is_deferrable(tmp_path):
    report = one(tmp_path, """
        from __future__ import annotations

        import decimal

        def f(x: decimal.Decimal) -> None:
            return decimal.Decimal(x)
        """)
    s = site(report, "pkg.a", "decimal")
    assert (s.klass, s.reason) == ("deferrable", "used only inside f()")


def test_module_level_lambda_use_is_deferrable_with_lazy_modules_fix(tmp_path):
    report = one(tmp_path, """
        import math

        key = lambda value: math.floor(value)
        """)
    s = site(report, "pkg.a", "math")
    assert s.klass == "deferrable"
    assert s.reason == "used only inside a module-level lambda"
    assert s.fix.startswith("__lazy_modules__")
    assert s.fix == "__lazy_modules__ (a module-level lambda uses it, so it cannot move)"


def test_lambda_default_runs_at_import(tmp_path):
    report = one(tmp_path, "import math\n\nkey = lambda value=math.pi: value\n")
    s = site(report, "pkg.a", "math")
    assert (s.klass, s.reason) == ("needed", "used by a module-level statement (line 3)")


def test_deferrable_fix_on_315_is_a_lazy_import(tmp_path):
    report = one(tmp_path, "import json\n\ndef f():\n    return json\n", target_version="3.15")
    s = site(report, "pkg.a", "json")
    assert (s.klass, s.fix) == ("deferrable", "`lazy import` (PEP 810)")


def test_package_init_reexport_is_deferrable_with_lazy_getattr_fix(tmp_path):
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": """
            from .sub import name, other
            from pkg.sub import third

            __all__ = ["name", "other", "third"]
            """,
        "pkg/sub.py": "name = 1\nother = 2\nthird = 3\n",
        "pkg/user.py": "from pkg import name\n\ndef f():\n    return name\n",
    }, "pkg")
    first = site(report, "pkg", "name")
    assert names(first) == ["name", "other"]
    assert (first.kind, first.level, first.imported, first.package_init) == \
        ("from", 1, "pkg.sub", True)
    for s in (first, site(report, "pkg", "third")):
        assert s.klass == "deferrable"
        assert s.reason == ("re-exported by the package __init__: a lazy __getattr__ keeps "
                            "the name importable")
        assert s.fix == "lazy __getattr__/__dir__ in the package __init__, plus a .pyi stub"
    assert site(report, "pkg.user", "name").klass == "deferrable"


# -- typing-only -----------------------------------------------------------------------------

def test_annotations_under_future_import_are_typing_only(tmp_path):
    report = one(tmp_path, """
        from __future__ import annotations

        import decimal
        from fractions import Fraction

        def f(x: decimal.Decimal, *args: Fraction, **kw: Fraction) -> decimal.Decimal:
            return x

        class C:
            attr: decimal.Decimal

        VALUE: Fraction
        """)
    for name in ("decimal", "Fraction"):
        s = site(report, "pkg.a", name)
        assert (s.klass, s.reason) == ("typing-only", "used only in annotations"), name
        assert s.fix == ("move it under `if TYPE_CHECKING:` with a runtime alias for "
                         "get_type_hints")
        assert {u.context for u in s.names[0].uses} == {"annotation"}
    assert sites_in(report, "pkg.a")[0].line == 3  # the __future__ import is not a site


def test_string_annotations_are_typing_only(tmp_path):
    report = one(tmp_path, """
        import fractions as pd

        def f(x: "pd.Fraction") -> "list[pd.Fraction]":
            return [x]
        """)
    s = site(report, "pkg.a", "pd")
    assert (s.klass, s.reason) == ("typing-only", "used only in annotations")


def test_use_inside_type_checking_block_is_typing_only(tmp_path):
    report = one(tmp_path, """
        from typing import TYPE_CHECKING
        import collections

        if TYPE_CHECKING:
            Alias = collections.OrderedDict
        """)
    s = site(report, "pkg.a", "collections")
    assert (s.klass, s.reason) == ("typing-only", "used only in annotations")
    assert {u.context for u in s.names[0].uses} == {"type-checking"}


def test_type_checking_itself_is_needed_not_dead(tmp_path):
    report = one(tmp_path, """
        import typing
        from typing import TYPE_CHECKING

        if TYPE_CHECKING:
            import json

        if typing.TYPE_CHECKING:
            import os
        """)
    s = site(report, "pkg.a", "TYPE_CHECKING")
    assert (s.klass, s.reason) == ("needed", "used by a module-level statement (line 4)")
    assert site(report, "pkg.a", "typing").klass == "needed"
    assert [names(s) for s in sites_in(report, "pkg.a")] == [["typing"], ["TYPE_CHECKING"]]


# -- needed ----------------------------------------------------------------------------------

NEEDED = """
    import abc
    import functools
    import decimal
    import fractions
    import math
    import os
    import json
    import re
    import enum
    import numbers

    class Base(abc.ABC):
        pass

    class Meta(metaclass=enum.EnumMeta):
        pass

    @functools.cache
    def f():
        pass

    class C:
        default = decimal.Decimal(1)
        other = fractions

    def g(x=math.pi, *, y=numbers.Number):
        return x

    os.getcwd()
    DATA = json
    del re
    """


@pytest.mark.parametrize("name, reason", [
    ("abc", "a base class (or class keyword) (line 12)"),
    ("enum", "a base class (or class keyword) (line 15)"),
    ("functools", "a decorator (line 18)"),
    ("decimal", "called at import (line 23)"),
    ("fractions", "used in a class body (line 24)"),
    ("math", "a default argument value (line 26)"),
    ("numbers", "a default argument value (line 26)"),
    ("os", "called at import (line 29)"),
    ("json", "used by a module-level statement (line 30)"),
    ("re", "used by a module-level statement (line 31)"),
])
def test_import_time_uses_pin_the_import(tmp_path, name, reason):
    s = site(one(tmp_path, NEEDED), "pkg.a", name)
    assert (s.klass, s.reason, s.pins, s.fix) == ("needed", reason, [reason], "")


def test_pins_list_every_distinct_import_time_use(tmp_path):
    report = one(tmp_path, """
        import json

        A = json.dumps(1)
        B = json

        class C(json.JSONEncoder):
            pass

        def f():
            return json
        """)
    s = site(report, "pkg.a", "json")
    assert s.klass == "needed"
    assert set(s.pins) == {"called at import (line 3)", "used by a module-level statement "
                           "(line 4)", "a base class (or class keyword) (line 6)"}
    assert len(s.pins) == len(set(s.pins))


def test_annotation_evaluated_at_definition_is_needed_on_311(tmp_path):
    files = {**PKG,
             "pkg/a.py": "import decimal\n\ndef f(x: decimal.Decimal) -> None:\n    pass\n",
             "pkg/b.py": "import decimal\n\nclass C:\n    attr: decimal.Decimal\n",
             "pkg/c.py": "import decimal\n\nVALUE: decimal.Decimal = 1\n"}
    report = audit_tree(tmp_path, files, "pkg")
    for module, line in (("pkg.a", 3), ("pkg.b", 4), ("pkg.c", 3)):
        s = site(report, module, "decimal")
        assert (s.klass, s.reason) == \
            ("needed", f"an annotation evaluated at definition time (line {line})"), module


def test_annotation_is_typing_only_when_the_target_evaluates_lazily(tmp_path):
    files = {**PKG,
             "pkg/a.py": "import decimal\n\ndef f(x: decimal.Decimal) -> None:\n    pass\n",
             "pkg/b.py": "import decimal\n\nclass C:\n    attr: decimal.Decimal\n"}
    report = audit_tree(tmp_path, files, "pkg", target_version="3.14")
    assert report.target_version == "3.14"
    for module in ("pkg.a", "pkg.b"):
        s = site(report, module, "decimal")
        assert (s.klass, s.reason) == ("typing-only", "used only in annotations"), module


def test_annotations_inside_function_bodies_are_never_evaluated(tmp_path):
    report = one(tmp_path, """
        import decimal

        def f():
            value: decimal.Decimal = 1
            return value
        """)
    s = site(report, "pkg.a", "decimal")
    assert (s.klass, s.reason) == ("typing-only", "used only in annotations")


PATCHED = {
    "src/pkg/__init__.py": "",
    "src/pkg/a.py": """
        from pathlib import Path
        from os.path import basename, dirname
        import json

        def f():
            return Path, basename, dirname, json
        """,
    "tests/test_a.py": """
        from unittest import mock

        import pkg.a as amod


        def test_path():
            with mock.patch("pkg.a.Path"):
                pass


        def test_basename(monkeypatch):
            monkeypatch.setattr(amod, "basename", None)
            monkeypatch.setattr("pkg.a.json", None)
        """,
}


def test_names_patched_by_tests_are_needed(tmp_path):
    report = audit_tree(tmp_path, PATCHED)
    assert report.package == "pkg"
    path = site(report, "pkg.a", "Path")
    assert path.klass == "needed"
    assert path.reason.startswith("patched by a test: 'pkg.a.Path' (")
    assert path.reason.endswith("test_a.py:7)")
    base = site(report, "pkg.a", "basename")
    assert base.klass == "needed"
    assert base.reason.startswith("patched by a test: 'pkg.a.basename' (")
    assert base.reason.endswith("test_a.py:12)")
    assert site(report, "pkg.a", "json").reason.startswith("patched by a test: 'pkg.a.json'")
    # the other name of the `from os.path import` statement is still only used in f()
    assert site(report, "pkg.a", "dirname").klass == "deferrable"
    [use] = [u for u in base.names[0].uses if u.context == "test-patch"]
    assert use.file.endswith("test_a.py") and use.scope == "pkg.a.basename"
    assert any("read 1 test files for patched names (3 patches)" == n for n in report.notes)
    assert not any(s.module.startswith("tests") for s in report.sites)


def test_patches_in_tests_given_explicitly(tmp_path):
    write = {**PKG, "pkg/a.py": "from pathlib import Path\n\ndef f():\n    return Path\n",
             "elsewhere/check_a.py": "from unittest.mock import patch\n\n"
                                     "patch('pkg.a.Path')\n"}
    report = audit_tree(tmp_path, write, "pkg", tests=[str(tmp_path / "elsewhere")])
    assert site(report, "pkg.a", "Path").klass == "needed"
    without = audit_tree(tmp_path, {}, "pkg")
    assert site(without, "pkg.a", "Path").klass == "deferrable"


def test_reexport_used_by_another_project_module_is_needed(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/a.py": "import json\nfrom os import path\n\ndef f():\n    return path\n",
        "pkg/b.py": "from pkg.a import json, path\n\ndef g():\n    return json, path\n",
    }, "pkg")
    s = site(report, "pkg.a", "json")
    assert not s.package_init
    assert s.klass == "needed"
    assert s.reason.startswith("imported from this module by pkg.b (")
    assert s.reason.endswith("b.py:1)")
    assert site(report, "pkg.a", "path").klass == "needed"
    assert site(report, "pkg.b", "json").klass == "deferrable"


def test_import_of_a_name_the_module_defines_is_not_a_reexport(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/a.py": "import json\n\ndef json_dumps():\n    return json.dumps\n",
        "pkg/b.py": "from pkg.a import json_dumps\n\ndef g():\n    return json_dumps\n",
    }, "pkg")
    assert site(report, "pkg.a", "json").klass == "deferrable"


def test_listed_in_all_is_needed(tmp_path):
    report = one(tmp_path, """
        import json
        from os import path, sep

        __all__ = ["json"]
        __all__ += ["path"]
        """)
    for name in ("json", "path"):
        s = site(report, "pkg.a", name)
        assert (s.klass, s.reason) == ("needed", "re-exported: listed in __all__"), name
    assert site(report, "pkg.a", "sep").klass == "dead"


def test_explicit_reexport_alias_is_needed(tmp_path):
    report = one(tmp_path, """
        import json as json
        from os import path as path
        import re as regex
        """)
    assert site(report, "pkg.a", "json").reason == "re-exported: `json as json`"
    assert site(report, "pkg.a", "path").reason == "re-exported: `path as path`"
    assert site(report, "pkg.a", "json").klass == "needed"
    assert site(report, "pkg.a", "json").names[0].explicit_reexport
    assert site(report, "pkg.a", "regex").klass == "dead"


def test_try_except_import_error_is_needed(tmp_path):
    report = one(tmp_path, """
        try:
            import tomllib
        except ImportError:
            tomllib = None

        try:
            import zlib
        except (ModuleNotFoundError, OSError):
            zlib = None

        try:
            import json
        except ImportError:
            json = None

        try:
            import gzip
        except KeyError:
            gzip = None

        def f():
            return zlib, json
        """)
    tomllib = site(report, "pkg.a", "tomllib")
    assert (tomllib.klass, tomllib.guard) == ("needed", "try")
    assert tomllib.reason == "an availability check: a try/except ImportError handles its absence"
    zlib = site(report, "pkg.a", "zlib")
    assert (zlib.klass, zlib.guard) == ("needed", "try")
    assert zlib.reason == "chosen at import: a try/except ImportError picks a fallback"
    assert site(report, "pkg.a", "gzip").guard is None
    assert site(report, "pkg.a", "gzip").klass == "dead"


def test_del_at_module_level_pins(tmp_path):
    report = one(tmp_path, "import json\nimport os\n\ndel json\n\ndef f():\n    del os\n")
    s = site(report, "pkg.a", "json")
    assert (s.klass, s.reason) == ("needed", "used by a module-level statement (line 4)")
    assert site(report, "pkg.a", "os").klass == "dead"  # `del os` makes os local to f


def test_use_in_nested_function_default_is_not_import_time(tmp_path):
    report = one(tmp_path, """
        import json

        def outer():
            def inner(x=json.dumps):
                return x
            return inner
        """)
    s = site(report, "pkg.a", "json")
    assert (s.klass, s.reason) == ("deferrable", "used only inside outer()")


def test_method_decorator_and_class_body_call_are_import_time(tmp_path):
    report = one(tmp_path, """
        import functools
        import itertools

        class C:
            @functools.cached_property
            def value(self):
                return 1

            COUNTER = itertools.count()
        """)
    assert site(report, "pkg.a", "functools").reason == "a decorator (line 5)"
    assert site(report, "pkg.a", "itertools").reason == "called at import (line 9)"


# -- what is not listed, and site attributes -------------------------------------------------

def test_imports_in_functions_and_under_type_checking_are_not_listed(tmp_path):
    report = one(tmp_path, """
        from typing import TYPE_CHECKING
        import json

        if TYPE_CHECKING:
            import decimal
            from collections import OrderedDict

        def f():
            import re
            from os import path
            return re, path

        class C:
            def m(self):
                import string
                return string

        X = json
        """)
    assert [names(s) for s in sites_in(report, "pkg.a")] == [["TYPE_CHECKING"], ["json"]]
    assert report.notes[0] == ("3 imports are already inside functions, 2 under TYPE_CHECKING,"
                               " 0 lazy (PEP 810); they are not listed")


def test_pep810_lazy_imports_are_parsed_and_not_listed(tmp_path):
    report = one(tmp_path, """
        lazy import json
        lazy from os import path
        import re

        def f():
            return json, path, re
        """)
    assert report.errors == []
    assert [names(s) for s in sites_in(report, "pkg.a")] == [["re"]]
    s = site(report, "pkg.a", "re")
    assert (s.klass, s.line) == ("deferrable", 3)
    assert "2 lazy (PEP 810)" in report.notes[0]


def test_external_and_stdlib_flags(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/b.py": "VALUE = 1\n",
        "pkg/a.py": "import json\nimport yaml\nfrom pkg import b\nfrom . import b as bb\n",
    }, "pkg")
    flags = {names(s)[0]: (s.external, s.stdlib) for s in sites_in(report, "pkg.a")}
    assert flags == {"json": (True, True), "yaml": (True, False), "b": (False, False),
                     "bb": (False, False)}
    relative = site(report, "pkg.a", "bb")
    assert (relative.imported, relative.level, relative.names[0].target) == \
        ("pkg", 1, "pkg.b")


def test_sites_are_sorted_by_file_and_line_and_by_class_covers_every_class(tmp_path):
    report = audit_tree(tmp_path, {**PKG, "pkg/z.py": "import json\n",
                                   "pkg/b.py": "import os\nimport sys\nX = sys\n"}, "pkg")
    assert [(s.module, s.line) for s in report.sites] == [("pkg.b", 1), ("pkg.b", 2),
                                                          ("pkg.z", 1)]
    groups = report.by_class()
    assert list(groups) == ["dead", "side-effect", "deferrable", "typing-only", "needed"]
    assert [s.module for s in groups["dead"]] == ["pkg.b", "pkg.z"]
    assert [names(s) for s in groups["needed"]] == [["sys"]]


def test_an_import_marked_noqa_is_needed(tmp_path):
    """`# noqa: F401` says the import is kept on purpose (pickle looks names up by module)."""
    from hotstart.audit import audit

    (tmp_path / "mod.py").write_text("from json import JSONDecoder  # noqa: F401\nimport yaml\n")
    sites = {s.statement.split("  #")[0]: s for s in audit(str(tmp_path / "mod.py"),
                                                           run=False).sites}
    assert sites["from json import JSONDecoder"].klass == "needed"
    assert "noqa" in sites["from json import JSONDecoder"].reason
    assert sites["import yaml"].klass == "dead"


def test_changing_a_container_the_module_built_is_not_an_effect(tmp_path):
    # sqlite_utils.db: `COLUMN_TYPE_MAPPING: dict = {...}` then `COLUMN_TYPE_MAPPING.update(
    # {np.int8: ...})` when numpy is there: nothing outside sees that dict before importing
    # the module, which runs the update. A call inside the arguments, a name bound to
    # something else, or a container got from elsewhere stay effects.
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/own.py": "import json\nTYPES: dict = {'int': 'INTEGER'}\nNAMES = []\n"
                      "if json:\n    TYPES.update({json.dumps: 'TEXT'})\n"
                      "NAMES.append('x')\nNAMES.extend(['y', 'z'])\n",
        "pkg/called.py": "import json\nTYPES = {}\nTYPES.update(json.loads('{}'))\n",
        "pkg/other.py": "import json\nTYPES = json.JSONDecoder().__dict__\nTYPES.update({})\n",
        "pkg/a.py": "import pkg.own\nimport pkg.called\nimport pkg.other\n",
    }, "pkg")
    classes = {s.imported: s.klass for s in sites_in(report, "pkg.a")}
    assert classes == {"pkg.own": "dead", "pkg.called": "side-effect",
                       "pkg.other": "side-effect"}


def test_a_call_under_the_main_guard_is_not_an_import_effect(tmp_path):
    """`if __name__ == "__main__": show_versions()` runs when the module is run, never when
    it is imported (xarray's `util/print_versions.py`): the package's re-export of it stays
    deferrable. A call in the guard's `else:` does run on import."""
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": "from .versions import show\nfrom .other import hello\n",
        "pkg/versions.py": "def show():\n    print(1)\n\n\nif __name__ == '__main__':\n"
                           "    show()\n",
        "pkg/other.py": "def hello():\n    print(2)\n\n\nif __name__ == '__main__':\n"
                        "    hello()\nelse:\n    hello()\n",
    }, "pkg")
    assert site(report, "pkg", "show").klass == "deferrable"
    other = site(report, "pkg", "hello")
    assert other.klass == "side-effect"
    assert other.effects == ["pkg.other: calls pkg.other.hello() at line 8"]
