"""Code a module runs at import that changes nothing outside what it is given is not an
import effect (`audit/_confined.py`), so a package re-export that reaches it can be deferred:
a decorator of the module's own filing what it decorates into the module's own table
(xarray's `@implements(np.issubdtype)`); class hooks that only check or complete the new
class (xarray's `__init_subclass__`s) stay effects (`test_class_hook_attacks.py` says why).
Every way each proof could be wrong is attacked: a table or object that is not the module's,
a body that calls or writes anything else, a decorator, helper or builtin that is not what
it seems, a metaclass. The proved shapes are run: importing them in a real interpreter
changes no other module's globals. And what a package `__init__` imports from itself: a
chain back into the running package is no effect, and each name of `from pkg import a, b`
counts its own module's effects."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ._helpers import audit_tree, site, write_tree

#: xarray 2026.9's shape, trimmed: the package re-exports a name of a module whose import
#: chain reaches `arrays.py`, which registers numpy functions into its own dict.
FACTORY = textwrap.dedent("""
    import numbers

    HANDLED: dict = {}


    def implements(function_or_name):
        \"\"\"Register an implementation.\"\"\"

        def decorator(func):
            if isinstance(function_or_name, str):
                function = getattr(numbers, function_or_name, None)
            else:
                function = function_or_name
            if function:
                HANDLED[function] = func
            return func

        return decorator


    @implements(numbers.Number)
    def _number(x):
        return x


    @implements("Integral")
    def _integral(x):
        return x
    """)
PACKAGE = {
    "pkg/__init__.py": "from pkg.api import open_thing\n\n__all__ = ['open_thing']\n",
    "pkg/api.py": "from pkg.arrays import HANDLED\n\n\ndef open_thing():\n    return HANDLED\n",
}


def reexport(tmp_path, arrays: str):
    report = audit_tree(tmp_path, {**PACKAGE, "pkg/arrays.py": arrays}, "pkg")
    return site(report, "pkg", "open_thing")


def test_a_factory_filing_into_the_modules_own_dict_is_no_effect(tmp_path):
    found = reexport(tmp_path, FACTORY)
    assert found.klass == "deferrable", found.reason


PLAIN = textwrap.dedent("""
    REGISTRY = []
    NAMES = {}


    def register(func):
        REGISTRY.append(func)
        NAMES[func.__name__] = func
        func.registered = True
        return func


    def implements(*names):
        def decorator(func):
            for name in names:
                NAMES[name] = func
            return func
        return decorator


    @register
    def one():
        return 1


    @implements("a", "b")
    def two():
        return 2
    """)


def test_a_plain_decorator_and_a_loop_over_its_own_arguments(tmp_path):
    found = reexport(tmp_path, PLAIN)
    assert found.klass == "deferrable", found.reason


@pytest.mark.parametrize(("arrays", "why"), [
    # the table is another module's
    (FACTORY.replace("HANDLED: dict = {}", "from numbers import __dict__ as HANDLED"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("HANDLED: dict = {}", "HANDLED = numbers.__dict__"),
     "registers with @pkg.arrays.implements"),
    # bound again before the decorations: not the dict the module built
    (FACTORY.replace("HANDLED: dict = {}", "HANDLED: dict = {}\nHANDLED = numbers.__dict__"),
     "registers with @pkg.arrays.implements"),
    # the body calls something
    (FACTORY.replace("HANDLED[function] = func", "HANDLED[function] = func\n"
                     "            print(func)"), "registers with @pkg.arrays.implements"),
    (FACTORY.replace("HANDLED[function] = func", "HANDLED[function] = wrap(func)"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("getattr(numbers", "vars(numbers).get(numbers"),
     "registers with @pkg.arrays.implements"),
    # writes elsewhere: an attribute of a module, a global rebound
    (FACTORY.replace("HANDLED[function] = func", "numbers.HOOK = func"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("    def decorator(func):\n",
                     "    def decorator(func):\n        global HANDLED\n"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("HANDLED[function] = func", "function.__doc__ = func"),
     "registers with @pkg.arrays.implements"),
    # a builtin the module rebinds is not the builtin
    (FACTORY.replace("import numbers\n", "import numbers\nfrom os import system as getattr\n"),
     "registers with @pkg.arrays.implements"),
    # the factory's argument calls something, the factory itself is decorated or bound twice
    (FACTORY.replace("@implements(numbers.Number)", "@implements(numbers.Number.mro())"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("def implements(", "@staticmethod\ndef implements("),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("\n\n@implements(numbers.Number)",
                     "\n\nimplements = numbers.__dict__.get\n\n@implements(numbers.Number)"),
     "registers with @pkg.arrays.implements"),
    # the factory does more than return its decorator
    (FACTORY.replace("    return decorator", "    numbers.LAST = decorator\n"
                     "    return decorator"), "registers with @pkg.arrays.implements"),
    # a loop over something that is not its own arguments (iterating runs its __iter__)
    (PLAIN.replace("for name in names:", "for name in numbers_iter:"),
     "registers with @pkg.arrays.implements"),
    # the helper's attacks (cbf6061): the table bound again by what a plain assignment is not
    *((FACTORY.replace("HANDLED: dict = {}\n", f"HANDLED: dict = {{}}\n{again}\n"),
       "registers with @pkg.arrays.implements") for again in (
        "from numbers import __dict__ as HANDLED", "from numbers import *",
        "HANDLED, _n = numbers.__dict__, 0", "for HANDLED in (numbers.__dict__,):\n    pass",
        "(HANDLED := numbers.__dict__)", "globals()['HANDLED'] = numbers.__dict__",
        "globals()['implements'] = numbers.Number.register")),
    # the factory returns another function under the decorator's name
    (FACTORY.replace("    return decorator", "    decorator = numbers.Number.register\n"
                     "    return decorator"), "registers with @pkg.arrays.implements"),
    # not innermost: what it decorates is whatever the decorator below returned
    (FACTORY.replace("@implements(numbers.Number)\n", "@implements(numbers.Number)\n"
                     "@numbers.Number.register\n"), "registers with @pkg.arrays.implements"),
    # getattr on a project module may run its __getattr__; an attribute of a project module
    (FACTORY.replace("import numbers\n", "import numbers\nfrom pkg import api\n")
     .replace("getattr(numbers, function_or_name, None)", "getattr(api, function_or_name)"),
     "registers with @pkg.arrays.implements"),
    (FACTORY.replace("import numbers\n", "import numbers\nfrom pkg import api\n")
     .replace("function = function_or_name\n", "function = api.open_thing\n"),
     "registers with @pkg.arrays.implements"),
    # a name it may write is one bound by its own `def` alone, on every path
    (FACTORY.replace("            HANDLED[function] = func\n",
                     "            HANDLED[function] = func\n"
                     "            owner = numbers.Number\n"
                     "        else:\n"
                     "            def owner():\n"
                     "                pass\n"
                     "        owner.last = func\n"), "registers with @pkg.arrays.implements"),
])
def test_anything_else_stays_an_effect(tmp_path, arrays, why):
    assert arrays not in (FACTORY, PLAIN)  # the attack changed something
    found = reexport(tmp_path, arrays)
    assert found.klass == "side-effect", found.reason
    assert why in found.reason, found.reason


ATTACK = r"""
import importlib, sys, types

def snapshot():
    seen = {}
    for name, module in list(sys.modules.items()):
        # the import system's own records (sys.path_importer_cache) and this script's
        # globals (__main__) change with any import
        if name in ("pkg.arrays", "sys", "__main__") or not isinstance(module,
                                                                     types.ModuleType):
            continue
        seen[name] = {k: id(v) for k, v in vars(module).items()}
        for k, v in vars(module).items():
            if isinstance(v, (dict, list, set)):
                seen[name, k] = len(v)
    return seen

import numbers, string  # what the modules under attack import
before = snapshot()
importlib.import_module("pkg.arrays")
after = snapshot()
changed = [k for k in before if k in after and before[k] != after[k]]
arrays = sys.modules["pkg.arrays"]
print(changed, sorted(getattr(arrays, "HANDLED", getattr(arrays, "NAMES", {})), key=str))
"""


@pytest.mark.parametrize(("arrays", "confined"), [
    (FACTORY, True), (PLAIN, True),
    (PLAIN.replace("NAMES = {}", "import string\nNAMES = string.__dict__"), False)])
def test_the_proved_shapes_change_nothing_outside_the_module_when_run(tmp_path, arrays,
                                                                     confined):
    """The proof's claim, checked by running it: importing the module changes no global of
    any other module (nor the size of any table they hold), and fills its own table. A
    planted write into another module's table is seen (the check can fail)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "arrays.py").write_text(textwrap.dedent(arrays))
    done = subprocess.run([sys.executable, "-c", ATTACK], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    changed, _, filed = done.stdout.strip().partition(" ")
    assert (changed == "[]") is confined, done.stdout
    assert filed != "[]", done.stdout


# -- class hooks -----------------------------------------------------------------------------

#: xarray's three hooks, trimmed: `base.py` defines them; `models.py` subclasses; the package
#: re-exports a name of `api.py`, which imports `models`.
HOOKS = textwrap.dedent("""
    import warnings

    SAME_METHODS = ["item", "searchsorted"]


    def _wrapper(name):
        def func(self, *args, **kwargs):
            return getattr(self.data, name)(*args, **kwargs)

        func.__name__ = name
        func.__doc__ = f"calls {name}"
        return func


    def inject_same(cls):
        for name in SAME_METHODS:
            setattr(cls, name, _wrapper(name))


    class AttrAccess:
        __slots__ = ()

        def __init_subclass__(cls, **kwargs):
            \"\"\"Every subclass defines __slots__.\"\"\"
            if not hasattr(object.__new__(cls), "__dict__"):
                pass
            elif cls.__module__.startswith("pkg."):
                raise AttributeError(f"{cls.__name__} must explicitly define __slots__")
            else:
                cls.__setattr__ = cls._setattr_dict
                warnings.warn(f"subclass {cls.__name__} should define __slots__",
                              FutureWarning, stacklevel=2)
            super().__init_subclass__(**kwargs)

        def _setattr_dict(self, name, value):
            object.__setattr__(self, name, value)


    class IncludeSame:
        __slots__ = ()

        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            inject_same(cls)
    """)
MODELS = textwrap.dedent("""
    from pkg.base import AttrAccess, IncludeSame


    class Array(AttrAccess, IncludeSame):
        __slots__ = ("data",)
    """)
HOOKED = {
    "pkg/__init__.py": "from pkg.api import open_thing\n\n__all__ = ['open_thing']\n",
    "pkg/api.py": "from pkg.models import Array\n\n\ndef open_thing():\n    return Array\n",
    "pkg/models.py": MODELS,
}


def hooked_reexport(tmp_path, base: str):
    report = audit_tree(tmp_path, {**HOOKED, "pkg/base.py": base}, "pkg")
    return site(report, "pkg", "open_thing")


def test_class_hooks_stay_an_effect_even_when_they_only_check_the_class(tmp_path):
    """Tried and dropped (see `audit/_confined.py`): defining a subclass is visible to the
    base anyway (`Base.__subclasses__()`), `object.__new__(cls)` runs the subclass's
    `__del__`, and when the hook's warning is issued decides which filter it meets."""
    found = hooked_reexport(tmp_path, HOOKS)
    assert found.klass == "side-effect", found.reason
    assert "running the __init_subclass__ of pkg.base" in found.reason, found.reason


DISCOVERY = {
    "pkg/__init__.py": "",
    "pkg/base.py": """
        class Plugin:
            name = None

            def __init_subclass__(cls, **kwargs):
                if not cls.name:
                    raise TypeError("a plugin needs a name")
                super().__init_subclass__(**kwargs)
        """,
    "pkg/plugins.py": """
        from pkg.base import Plugin


        class JsonPlugin(Plugin):
            name = "json"
        """,
    "pkg/cli.py": """
        import pkg.plugins  # load the built-in plugins
        from pkg.base import Plugin


        def available():
            return [p.name for p in Plugin.__subclasses__()]
        """,
}


def test_a_plugin_found_through_subclasses_keeps_its_import(tmp_path):
    """The helper's attack that dropped the hook rule: the hook only checks, but the import
    is how the plugin gets into `Plugin.__subclasses__()`."""
    report = audit_tree(tmp_path, DISCOVERY, "pkg")
    found = site(report, "pkg.cli", "pkg")
    assert found.klass == "side-effect", found.reason


# -- what a package __init__ imports from itself ---------------------------------------------


def test_a_chain_back_into_the_running_package_is_not_an_effect(tmp_path):
    """xarray's `__init__` re-exports `coders`, whose `from xarray.coding.times import ...`
    names the package `xarray`: that package is the one running, so what else it imports
    (a module with an `atexit` handler) is not the re-export's effect; `tutorial`, which
    imports the handler's module itself, keeps its import."""
    files = {
        "pkg/__init__.py": "from pkg import coders\nfrom pkg import tutorial\n"
                           "from pkg import backends\n",
        "pkg/coders.py": "from pkg.coding import CODERS\n",
        "pkg/coding.py": "CODERS = {}\n",
        "pkg/tutorial.py": "from pkg import backends\n",
        "pkg/backends.py": "import atexit\n\natexit.register(print)\n",
    }
    report = audit_tree(tmp_path, files, "pkg")
    assert site(report, "pkg", "coders").klass == "deferrable"
    tutorial = site(report, "pkg", "tutorial")
    assert tutorial.klass == "side-effect" and "atexit" in tutorial.reason, tutorial.reason


def test_the_names_of_one_statement_share_its_effects(tmp_path):
    """`from pkg import core, plugins`: `plugins` registers through `pkg.core`, which is
    there because `core` was imported first; deferring `core` alone breaks it (the
    helper's attack on a per-name rule, dropped)."""
    files = {
        "pkg/__init__.py": "",
        "pkg/core.py": "HANDLERS = {}\n\n\ndef register(name, func):\n"
                       "    HANDLERS[name] = func\n",
        "pkg/plugins.py": "import pkg\n\npkg.core.register('json', print)\n",
        "pkg/app.py": "from pkg import core, plugins\n\n\ndef main():\n"
                      "    return core.HANDLERS\n",
    }
    report = audit_tree(tmp_path, files, "pkg")
    assert site(report, "pkg.app", "core").klass == "side-effect"


def test_a_subclass_is_an_effect_where_the_project_lists_subclasses(tmp_path):
    """No hook at all: `available()` lists `Plugin.__subclasses__()`, so the import that
    defines the plugins is what puts them there (an older gap the attack showed)."""
    files = {**DISCOVERY, "pkg/base.py": """
        class Plugin:
            name = None


        def available():
            return [p.name for p in Plugin.__subclasses__()]
        """, "pkg/cli.py": """
        import pkg.plugins  # load the built-in plugins
        from pkg.base import available


        def main():
            return available()
        """}
    report = audit_tree(tmp_path, files, "pkg")
    found = site(report, "pkg.cli", "pkg")
    assert found.klass == "side-effect", found.reason
    assert "lists with __subclasses__()" in found.reason, found.reason
    quiet = audit_tree(tmp_path / "quiet", {**files, "pkg/base.py": files["pkg/base.py"]
                                            .replace("Plugin.__subclasses__()", "[]")}, "pkg")
    assert site(quiet, "pkg.cli", "pkg").klass == "dead"
