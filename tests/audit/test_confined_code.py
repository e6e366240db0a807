"""Code a module runs at import that changes nothing outside what it is given is not an
import effect (`audit/_confined.py`), so a package re-export that reaches it can be deferred:
a decorator of the module's own filing what it decorates into the module's own table
(xarray's `@implements(np.issubdtype)`), and class hooks that only check or complete the new
class (xarray's `__init_subclass__`s). Every way each proof could be wrong is attacked: a
table or object that is not the module's, a body that calls or writes anything else, a
decorator, helper or builtin that is not what it seems, a metaclass. The proved shapes are
run: importing them in a real interpreter changes no other module's globals. And what a
package `__init__` imports from itself: a chain back into the running package is no effect,
and each name of `from pkg import a, b` counts its own module's effects."""

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


def test_class_hooks_that_only_check_or_complete_the_class_are_no_effect(tmp_path):
    found = hooked_reexport(tmp_path, HOOKS)
    assert found.klass == "deferrable", found.reason


@pytest.mark.parametrize("base", [
    # a registry: which subclasses it holds depends on what was imported
    HOOKS.replace("SAME_METHODS = [", "SUBCLASSES = []\nSAME_METHODS = [").replace(
        "        inject_same(cls)", "        inject_same(cls)\n"
        "        SUBCLASSES.append(cls)"),
    HOOKS.replace("    for name in SAME_METHODS:\n", "    SAME_METHODS.append(cls)\n"
                  "    for name in SAME_METHODS:\n"),
    # a call of anything else: an imported function, a method of the class, a module's
    HOOKS.replace("        inject_same(cls)", "        warnings.simplefilter('error')"),
    HOOKS.replace("        inject_same(cls)", "        cls.register()"),
    HOOKS.replace("import warnings\n", "import warnings\nfrom copy import copy as inject_same\n")
         .replace("def inject_same(cls):", "def _unused(cls):"),
    # writes to something it was not given
    HOOKS.replace("setattr(cls, name, _wrapper(name))", "setattr(warnings, name, _wrapper(name))"),
    HOOKS.replace("    func.__name__ = name\n", "    func.__name__ = name\n"
                  "    warnings.LAST = func\n"),
    # the helper bound twice, a constant that is not one, a shadowed builtin
    HOOKS + "\n\ndef inject_same(cls):\n    pass\n",
    HOOKS.replace('SAME_METHODS = ["item", "searchsorted"]',
                  'SAME_METHODS = warnings.filters'),
    HOOKS.replace("import warnings\n", "import warnings\nfrom os import system as hasattr\n"),
    # a metaclass runs whatever it likes
    HOOKS.replace("class IncludeSame:", "class Meta(type):\n    pass\n\n\n"
                  "class IncludeSame(metaclass=Meta):"),
])
def test_a_hook_that_reaches_anything_else_stays_an_effect(tmp_path, base):
    assert base != HOOKS  # the attack changed something
    found = hooked_reexport(tmp_path, base)
    assert found.klass == "side-effect", found.reason
    assert "pkg.models" in found.reason, found.reason


HOOK_ATTACK = r"""
import sys, types, warnings

def snapshot():
    seen = {}
    for name, module in list(sys.modules.items()):
        if name.startswith("pkg") or name in ("sys", "__main__") or not isinstance(
                module, types.ModuleType):
            continue
        seen[name] = {k: id(v) for k, v in vars(module).items()}
    return seen

import pkg.base
before = (snapshot(), {k: id(v) for k, v in vars(pkg.base).items()}, len(warnings.filters))
import pkg.models
after = (snapshot(), {k: id(v) for k, v in vars(pkg.base).items()}, len(warnings.filters))
print(before == after, pkg.models.Array.item.__name__)
"""


def test_the_proved_hooks_change_nothing_but_the_class_when_run(tmp_path):
    """Defining the subclass runs all three hooks: no module's globals change (not even the
    hooks' own module), and the class got its methods."""
    write_tree(tmp_path, {**HOOKED, "pkg/base.py": HOOKS, "pkg/__init__.py": ""})
    done = subprocess.run([sys.executable, "-c", HOOK_ATTACK], cwd=tmp_path,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "item"], done.stdout + done.stderr


# -- what a package __init__ imports from itself ---------------------------------------------


def test_a_chain_back_into_the_running_package_is_not_an_effect(tmp_path):
    """xarray's `__init__` re-exports `coders`, whose `from xarray.coding.times import ...`
    names the package `xarray`: that package is the one running, so what else it imports
    (a module with an `atexit` handler) is not the re-export's effect; `tutorial`, which
    imports the handler's module itself, keeps its own part of the statement."""
    files = {
        "pkg/__init__.py": "from pkg import coders, tutorial\nfrom pkg import backends\n",
        "pkg/coders.py": "from pkg.coding import CODERS\n",
        "pkg/coding.py": "CODERS = {}\n",
        "pkg/tutorial.py": "from pkg import backends\n",
        "pkg/backends.py": "import atexit\n\natexit.register(print)\n",
    }
    report = audit_tree(tmp_path, files, "pkg")
    parts = {tuple(n.name for n in s.names): s for s in report.sites
             if s.module == "pkg" and s.line == 1}
    assert parts[("coders",)].klass == "deferrable", parts[("coders",)].reason
    assert parts[("tutorial",)].klass == "side-effect"
    assert "atexit" in parts[("tutorial",)].reason
