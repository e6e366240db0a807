"""Why a class hook (`__init_subclass__`) stays an effect even when its body touches only
the new class: the attacks any rule proving xarray's hooks harmless would have to meet.

xarray 2026.9's three hooks (trimmed in `BASE`) only read and write `cls`, or raise. A rule
that checked the hook's body alone, plus the absence of `__del__` (the refutation in
docs/audit.md), is still wrong: the hook runs code the NEW class brings. `hasattr(object.
__new__(cls), "__dict__")` calls its `__getattr__`/`__getattribute__` (and `__del__` on the
throwaway instance); `cls._new == NamedArray._new` runs a descriptor's `__get__` and an
`__eq__` of its class body; `setattr(cls, ...)` runs its metaclass's `__setattr__`;
`super().__init_subclass__()` follows the new class's MRO into a sibling base's hook; and a
`__module__` set in its body (or `__name__` rebound by its module) reaches the hook's
`warnings.warn`, whose outcome depends on the filters in force when the class statement runs.

Each variant is checked twice: audited, the re-export that reaches it stays a side-effect;
run in a real interpreter, the class statement does change something outside the new class
(so each attack is real, not a guess). Measured on xarray: switching every hook effect off
changes nothing in what `fix` writes there (`tutorial`'s chain to the backends, with its
`atexit` handler, keeps `from xarray import coders, ..., ufuncs` whole), so no hook rule was
added; see docs/audit.md."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ._helpers import audit_tree, site, write_tree

#: xarray's hooks, trimmed: `AttrAccessMixin` (core/common.py), `NamedArray`
#: (namedarray/core.py), `IncludeNumpySameMethods` (computation/ops.py).
BASE = textwrap.dedent("""
    import warnings

    SAME_METHODS = ["item", "searchsorted"]


    def _wrapper(name):
        def func(self, *args, **kwargs):
            return getattr(self.data, name)(*args, **kwargs)

        func.__name__ = name
        return func


    def inject_same(cls):
        for name in SAME_METHODS:
            setattr(cls, name, _wrapper(name))


    class AttrAccess:
        __slots__ = ()

        def __init_subclass__(cls, **kwargs):
            if not hasattr(object.__new__(cls), "__dict__"):
                pass
            elif cls.__module__.startswith("pkg."):
                raise AttributeError(f"{cls.__name__} must explicitly define __slots__")
            else:
                cls.__setattr__ = cls._setattr_dict
                warnings.warn(f"subclass {cls.__name__} should define __slots__",
                              FutureWarning, stacklevel=2)
            super().__init_subclass__(**kwargs)

        def __getattr__(self, name):
            if name not in {"__dict__", "__setstate__"}:
                for source in self._attr_sources:
                    return source[name]
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

        def _setattr_dict(self, name, value):
            object.__setattr__(self, name, value)


    class NamedArray:
        __slots__ = ()

        def _new(self):
            return self

        def __init_subclass__(cls, **kwargs):
            if NamedArray in cls.__bases__ and (cls._new == NamedArray._new):
                raise TypeError("Subclasses of `NamedArray` must override the `_new` method.")
            super().__init_subclass__(**kwargs)


    class IncludeSame:
        __slots__ = ()

        def __init_subclass__(cls, **kwargs):
            super().__init_subclass__(**kwargs)
            inject_same(cls)
    """)
PACKAGE = {
    "pkg/__init__.py": "from pkg.api import open_thing\n\n__all__ = ['open_thing']\n",
    "pkg/api.py": "from pkg.models import Array\n\n\ndef open_thing():\n    return Array\n",
    "pkg/base.py": BASE,
    "pkg/log.py": "SEEN = []\n",
    "pkg/registry.py": textwrap.dedent("""
        from pkg import log


        class Registered:
            __slots__ = ()

            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                log.SEEN.append(("registered", cls.__name__))
        """),
}
HEAD = "from pkg import log\nfrom pkg.base import AttrAccess, IncludeSame, NamedArray\n\n\n"

#: name -> the models module defining the new class: each class statement runs code outside
#: the new class, through hooks whose own bodies read and write only `cls` (or, for the last
#: two, beside them: what a class body and its bases run is part of defining the class).
ATTACKS = {
    "__getattr__ of the new class, called by hasattr(object.__new__(cls), '__dict__')": """
        class Array(AttrAccess):
            __slots__ = ()

            def __getattr__(self, name):
                log.SEEN.append(("__getattr__", name))
                raise AttributeError(name)
        """,
    "__getattribute__ of the new class, called by the same hasattr": """
        class Array(AttrAccess):
            __slots__ = ()

            def __getattribute__(self, name):
                log.SEEN.append(("__getattribute__", name))
                return object.__getattribute__(self, name)
        """,
    "__del__ of the new class, run on the throwaway instance of object.__new__(cls)": """
        class Array(AttrAccess):
            __slots__ = ()

            def __del__(self):
                log.SEEN.append(("__del__",))
        """,
    "__del__ of a base of the new class, not of the hook's class": """
        class Closing:
            __slots__ = ()

            def __del__(self):
                log.SEEN.append(("__del__",))


        class Array(AttrAccess, Closing):
            __slots__ = ()
        """,
    "a property named __dict__ in the class body, read by the hasattr": """
        class Array(AttrAccess):
            __slots__ = ()

            @property
            def __dict__(self):
                log.SEEN.append(("__dict__",))
                raise AttributeError("__dict__")
        """,
    "a descriptor read by cls._new": """
        class Spy:
            def __get__(self, obj, owner):
                log.SEEN.append(("__get__", owner.__name__))
                return print


        class Array(NamedArray):
            _new = Spy()
        """,
    "an __eq__ run by cls._new == NamedArray._new": """
        class Loud:
            def __eq__(self, other):
                log.SEEN.append(("__eq__",))
                return False

            __hash__ = None


        class Array(NamedArray):
            _new = Loud()
        """,
    "a metaclass __eq__ run by `NamedArray in cls.__bases__`": """
        class Meta(type):
            def __eq__(cls, other):
                log.SEEN.append(("Meta.__eq__",))
                return type.__eq__(cls, other)

            __hash__ = type.__hash__


        class Other(metaclass=Meta):
            __slots__ = ()


        class Array(Other, NamedArray):
            __slots__ = ()

            def _new(self):
                return self
        """,
    "a metaclass __setattr__ run by setattr(cls, ...) in inject_same": """
        class Meta(type):
            def __setattr__(cls, name, value):
                log.SEEN.append(("Meta.__setattr__", name))
                super().__setattr__(name, value)


        class Array(IncludeSame, metaclass=Meta):
            __slots__ = ()
        """,
    "super().__init_subclass__() following the new class's MRO to a sibling's hook": """
        from pkg.registry import Registered


        class Array(NamedArray, Registered):
            __slots__ = ()

            def _new(self):
                return self
        """,
    "__module__ set in the class body: the hook warns (filters decide when)": """
        class Array(AttrAccess):
            __module__ = "elsewhere"
        """,
    "__name__ rebound by the module: the hook warns (filters decide when)": """
        __name__ = "elsewhere"


        class Array(AttrAccess):
            pass
        """,
    "a __set_name__ in the class body of a hooked class": """
        class Field:
            def __set_name__(self, owner, name):
                log.SEEN.append(("__set_name__", name))


        class Array(AttrAccess):
            __slots__ = ()
            data = Field()
        """,
    "a __class_getitem__ run by a subscripted base beside the hooked one": """
        class Typed:
            __slots__ = ()

            def __class_getitem__(cls, item):
                log.SEEN.append(("__class_getitem__", item))
                return cls


        class Array(AttrAccess, Typed["x"]):
            __slots__ = ()
        """,
}

#: Run in a fresh interpreter in the tree's directory: import the models module under the
#: default filters, then print what it did outside the new class.
RUN = """
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import pkg.models
from pkg import log
print(repr(log.SEEN), len(caught))
"""


@pytest.mark.parametrize("name", list(ATTACKS))
def test_a_hook_that_only_touches_cls_still_runs_what_the_new_class_brings(tmp_path, name):
    files = {**PACKAGE, "pkg/models.py": HEAD + textwrap.dedent(ATTACKS[name])}
    report = audit_tree(tmp_path / "audit", files, "pkg")
    found = site(report, "pkg", "open_thing")
    assert found.klass == "side-effect", (name, found.klass, found.reason)
    assert "__init_subclass__" in found.reason or "metaclass" in found.reason, found.reason
    root = write_tree(tmp_path / "run", files)
    done = subprocess.run([sys.executable, "-c", RUN], cwd=root, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-800:]
    seen, warned = done.stdout.rsplit(" ", 1)
    # the attack is real: the class statement ran code outside the new class, or warned
    assert seen != "[]" or int(warned) > 0, (name, done.stdout)


def test_the_plain_xarray_shape_changes_nothing_outside_the_new_class(tmp_path):
    """The control for the attacks above: xarray's own subclass shape (slots, an overridden
    `_new`) runs the three hooks and leaves `log` and the filters alone, and is still
    counted an effect (no rule proves hooks)."""
    files = {**PACKAGE, "pkg/models.py": HEAD + textwrap.dedent("""
        class Array(AttrAccess, IncludeSame):
            __slots__ = ("data",)


        class Named(NamedArray):
            __slots__ = ()

            def _new(self):
                return self
        """)}
    root = write_tree(tmp_path / "run", files)
    done = subprocess.run([sys.executable, "-c", RUN], cwd=root, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == ["[]", "0"], done.stdout
    report = audit_tree(tmp_path / "audit", files, "pkg")
    assert site(report, "pkg", "open_thing").klass == "side-effect"


def test_the_warning_branch_meets_the_filters_in_force_when_the_class_is_defined(tmp_path):
    """Refutation (c), run: the same class statement warns under the default filters and
    raises under `simplefilter("error")`, which a program may set between `import pkg`
    and the first use that would import a deferred module."""
    files = {**PACKAGE, "pkg/models.py": HEAD + textwrap.dedent(
        ATTACKS["__module__ set in the class body: the hook warns (filters decide when)"])}
    root = write_tree(tmp_path, files)
    code = ("import warnings, sys\nwarnings.simplefilter(sys.argv[1])\n"
            "import pkg.models\nprint('defined')\n")
    outcomes = [subprocess.run([sys.executable, "-c", code, action], cwd=root,
                               capture_output=True, text=True, timeout=60, check=False)
                for action in ("default", "error")]
    assert outcomes[0].returncode == 0 and outcomes[0].stdout == "defined\n"
    assert "FutureWarning" in outcomes[0].stderr
    assert outcomes[1].returncode != 0 and "FutureWarning" in outcomes[1].stderr
