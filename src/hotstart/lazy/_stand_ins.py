"""The lazy stand-ins a deferred import statement binds for a moment (made by `_hook`).

- `LazyModule`: what ``import a`` / ``import a.b.c`` binds to ``a`` (and ``import a.b as c``
  to ``c``). A module object; the first attribute access (or ``dir``, ``repr``, setting an
  attribute) imports the statement's module and replaces the binding in the importing
  module's globals by ``sys.modules[...]``.
- `LazyValue`: what ``from x import y`` binds to ``y``. The first use of any kind -- attribute,
  call, operator, subscript, iteration, ``repr``/``str``/``bool``/``hash``, ``with``,
  ``await``, ``isinstance(o, y)``, ``class C(y)``, a class attribute read through a
  descriptor -- imports ``x``, takes ``x.y`` (or the submodule ``x.y``) and replaces the
  binding in the importing module's globals.
- `LazyFrom`, `LazySubmoduleChain`: handed to the interpreter's ``IMPORT_FROM``
  instructions so that they produce the objects above without importing anything.

Normally a stand-in lives only until the next import statement takes it out of the module's
globals (`_objects.sweep`); its name is then pending and resolved at its first read
(`_objects`). It stays bound until its first use only where the hook keeps stand-ins
(``Hook.stand_ins``, the lazy trial).

A failing import raises at the first use, with its own exception and traceback and a note
(PEP 678) naming the deferred statement's ``file:line``; the next use tries again. No lock
of ours is held across an import.
"""

import _operator
import sys

from hotstart.lazy import _objects  # (circular: used at call time only)

__all__ = ["LazyFrom", "LazyModule", "LazySubmoduleChain", "LazyValue"]

_ModuleType = type(sys)
_UNSET = object()


class LazyModule(_ModuleType):
    __slots__ = ("_hs_bind", "_hs_deferral", "_hs_globals", "_hs_module", "_hs_name",
                 "_hs_previous")

    def __init__(self, deferral: "_objects.Deferral", bind: str, namespace: dict, name,
                 previous=None) -> None:
        _ModuleType.__init__(self, bind)
        _m_set_deferral(self, deferral)
        _m_set_bind(self, bind)
        _m_set_globals(self, namespace)
        _m_set_name(self, name)
        _m_set_previous(self, previous)
        _m_set_module(self, None)

    def __getattribute__(self, attr: str):
        module = _m_get_module(self)
        if module is None:
            if attr == "__class__":  # isinstance(m, ModuleType) reads it: not a use
                return LazyModule
            module = _resolve_module(self)
        return getattr(module, attr)

    def __setattr__(self, attr: str, value) -> None:
        setattr(_m_get_module(self) or _resolve_module(self), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_m_get_module(self) or _resolve_module(self), attr)

    def __dir__(self) -> list:
        return dir(_m_get_module(self) or _resolve_module(self))

    def __repr__(self) -> str:
        return repr(_m_get_module(self) or _resolve_module(self))


_m_get_deferral = LazyModule._hs_deferral.__get__
_m_set_deferral = LazyModule._hs_deferral.__set__
_m_get_bind = LazyModule._hs_bind.__get__
_m_set_bind = LazyModule._hs_bind.__set__
_m_get_globals = LazyModule._hs_globals.__get__
_m_set_globals = LazyModule._hs_globals.__set__
_m_get_name = LazyModule._hs_name.__get__
_m_set_name = LazyModule._hs_name.__set__
_m_get_previous = LazyModule._hs_previous.__get__
_m_set_previous = LazyModule._hs_previous.__set__
_m_get_module = LazyModule._hs_module.__get__
_m_set_module = LazyModule._hs_module.__set__


def _resolve_module(lazy: LazyModule):
    """Import the statement's module; return the object the statement binds."""
    previous = _m_get_previous(lazy)
    if previous is not None:  # `import a.b` deferred earlier, rebound by `import a.c`
        _resolve_module(previous)
    deferral = _m_get_deferral(lazy)
    hook = deferral.hook
    bind = _m_get_bind(lazy)
    resolving = _objects._resolving()
    resolving.append(lazy)
    try:
        deferral.import_(deferral.module)
        module = sys.modules.get(bind)
        if module is None:  # removed from sys.modules while loading: walk the attributes
            parts = deferral.module.split(".")
            module = sys.modules[parts[0]]
            for part in parts[1:bind.count(".") + 1]:
                module = getattr(module, part)
    except Exception as exc:
        deferral.annotate(exc)
        raise
    finally:
        resolving.pop()
    _objects._pending_submodules.pop(deferral.module, None)
    _m_set_module(lazy, module)
    _objects._rebind(_m_get_globals(lazy), _m_get_name(lazy), lazy, module)
    hook._reify(deferral.keys)
    return module


class LazySubmoduleChain:
    """What ``IMPORT_NAME`` returns for ``import a.b.c as d``: the ``IMPORT_FROM b``,
    ``IMPORT_FROM c`` that follow read it, and the last one gets a `LazyModule` of ``a.b.c``.
    Every attribute read is one of those (``__getattribute__``: a module may be named like
    any attribute)."""

    __slots__ = ("_remaining", "_state")

    def __init__(self, deferral: "_objects.Deferral", namespace: dict, remaining: int, name: str,
                 unbound: bool) -> None:
        _c_set_state(self, (deferral, namespace, name, unbound))
        _c_set_remaining(self, remaining)

    def __getattribute__(self, attr: str):
        deferral, namespace, name, unbound = _c_get_state(self)
        remaining = _c_get_remaining(self) - 1
        if remaining:
            return LazySubmoduleChain(deferral, namespace, remaining, name, unbound)
        lazy = LazyModule(deferral, deferral.module, namespace, name)
        if unbound:
            _objects.bind_later(namespace, name, lazy)
        return lazy


_c_get_state = LazySubmoduleChain._state.__get__
_c_set_state = LazySubmoduleChain._state.__set__
_c_get_remaining = LazySubmoduleChain._remaining.__get__
_c_set_remaining = LazySubmoduleChain._remaining.__set__


class LazyFrom:
    """What ``IMPORT_NAME`` returns for a deferred ``from x import a, b``: each
    ``IMPORT_FROM`` that follows reads one name and gets a `LazyValue` for it."""

    __slots__ = ("_deferral", "_namespace")

    def __init__(self, deferral: "_objects.Deferral", namespace: dict, names: list,
                 unbound: bool) -> None:
        _f_set_deferral(self, deferral)
        _f_set_namespace(self, (namespace, list(names), unbound))

    def __getattribute__(self, attr: str):
        namespace, names, unbound = _f_get_namespace(self)
        name = names.pop(0)  # the names the IMPORT_FROMs store to, in their order
        lazy = LazyValue(_f_get_deferral(self), attr, namespace, name)
        if unbound:
            _objects.bind_later(namespace, name, lazy)
        return lazy


_f_get_deferral = LazyFrom._deferral.__get__
_f_set_deferral = LazyFrom._deferral.__set__
_f_get_namespace = LazyFrom._namespace.__get__
_f_set_namespace = LazyFrom._namespace.__set__


class LazyValue:
    __slots__ = ("_hs_attr", "_hs_deferral", "_hs_globals", "_hs_name", "_hs_value")

    def __init__(self, deferral: "_objects.Deferral", attr: str, namespace: dict, name: str) -> None:
        _v_set_deferral(self, deferral)
        _v_set_attr(self, attr)
        _v_set_globals(self, namespace)
        _v_set_name(self, name)
        _v_set_value(self, _UNSET)

    def __getattribute__(self, attr: str):
        if attr == "__mro_entries__":  # `class C(y)` reads it as an attribute, not a slot
            return _mro_entries.__get__(self)
        return getattr(_value(self), attr)

    def __setattr__(self, attr: str, value) -> None:
        setattr(_value(self), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_value(self), attr)

    # The interpreter looks special methods up on the type, past __getattribute__: each one
    # it may use is defined here and forwards the operation to the real object. Not
    # __next__/__anext__: an imported name is rarely an iterator, and defining them would
    # make every lazy value pass isinstance(v, collections.abc.Iterator) before its use.
    def __call__(self, *args, **kwargs):
        return _value(self)(*args, **kwargs)

    def __repr__(self) -> str:
        return repr(_value(self))

    def __str__(self) -> str:
        return str(_value(self))

    def __format__(self, spec: str) -> str:
        return format(_value(self), spec)

    def __bytes__(self) -> bytes:
        return bytes(_value(self))

    def __bool__(self) -> bool:
        return bool(_value(self))

    def __hash__(self) -> int:
        return hash(_value(self))

    def __len__(self) -> int:
        return len(_value(self))

    def __iter__(self):
        return iter(_value(self))

    def __reversed__(self):
        return reversed(_value(self))

    def __contains__(self, item) -> bool:
        return item in _value(self)

    def __getitem__(self, key):
        return _value(self)[key]

    def __setitem__(self, key, value) -> None:
        _value(self)[key] = value

    def __delitem__(self, key) -> None:
        del _value(self)[key]

    def __dir__(self) -> list:
        return dir(_value(self))

    def __instancecheck__(self, instance) -> bool:
        return isinstance(instance, _value(self))

    def __subclasscheck__(self, subclass) -> bool:
        return issubclass(subclass, _value(self))

    def __mro_entries__(self, bases: tuple) -> tuple:
        """``class C(y)``: the real base (or what its own ``__mro_entries__`` gives)."""
        value = _value(self)
        if isinstance(value, type):
            return (value,)
        # read as the interpreter does, from the object: typing.NamedTuple is a function
        # with an __mro_entries__ attribute of its own
        entries = getattr(value, "__mro_entries__", None)
        return entries(bases) if entries is not None else (value,)

    def __get__(self, instance, owner=None):
        value = _value(self)
        get = getattr(type(value), "__get__", None)
        return value if get is None else get(value, instance, owner)

    def __set_name__(self, owner, name: str) -> None:
        value = _value(self)
        set_name = getattr(type(value), "__set_name__", None)
        if set_name is not None:
            set_name(value, owner, name)

    def __enter__(self):
        return _special(self, "__enter__")()

    def __exit__(self, *exc_info):
        return _special(self, "__exit__")(*exc_info)

    def __aenter__(self):
        return _special(self, "__aenter__")()

    def __aexit__(self, *exc_info):
        return _special(self, "__aexit__")(*exc_info)

    def __await__(self):
        return _special(self, "__await__")()

    def __aiter__(self):
        return _special(self, "__aiter__")()

    def __fspath__(self):
        value = _value(self)
        if isinstance(value, (str, bytes)):  # as os.fspath: a path string is its own path
            return value
        return _special(self, "__fspath__")()

    def __int__(self) -> int:
        return int(_value(self))

    def __float__(self) -> float:
        return float(_value(self))

    def __complex__(self) -> complex:
        return complex(_value(self))

    def __index__(self) -> int:
        return _operator.index(_value(self))

    def __round__(self, *ndigits):
        return round(_value(self), *ndigits)

    def __neg__(self):
        return -_value(self)

    def __pos__(self):
        return +_value(self)

    def __abs__(self):
        return abs(_value(self))

    def __invert__(self):
        return ~_value(self)

    def __eq__(self, other):
        return _value(self) == other

    def __ne__(self, other):
        return _value(self) != other

    def __lt__(self, other):
        return _value(self) < other

    def __le__(self, other):
        return _value(self) <= other

    def __gt__(self, other):
        return _value(self) > other

    def __ge__(self, other):
        return _value(self) >= other


_mro_entries = LazyValue.__mro_entries__
_v_get_deferral = LazyValue._hs_deferral.__get__
_v_set_deferral = LazyValue._hs_deferral.__set__
_v_get_attr = LazyValue._hs_attr.__get__
_v_set_attr = LazyValue._hs_attr.__set__
_v_get_name = LazyValue._hs_name.__get__
_v_set_name = LazyValue._hs_name.__set__
_v_get_globals = LazyValue._hs_globals.__get__
_v_set_globals = LazyValue._hs_globals.__set__
_v_get_value = LazyValue._hs_value.__get__
_v_set_value = LazyValue._hs_value.__set__

def _binary(operation):
    def forward(self, other):
        return operation(_value(self), other)

    def reflected(self, other):
        return operation(other, _value(self))

    return forward, reflected


for _name in ("add", "sub", "mul", "matmul", "truediv", "floordiv", "mod", "pow", "lshift",
              "rshift", "and", "xor", "or"):
    _operation = getattr(_operator, _name + "_" if _name in ("and", "or") else _name)
    _forward, _reflected = _binary(_operation)
    setattr(LazyValue, f"__{_name}__", _forward)
    setattr(LazyValue, f"__r{_name}__", _reflected)
    _inplace = getattr(_operator, "i" + _name)
    setattr(LazyValue, f"__i{_name}__", _binary(_inplace)[0])
LazyValue.__divmod__, LazyValue.__rdivmod__ = _binary(divmod)  # type: ignore[method-assign]
del _name, _operation, _forward, _reflected, _inplace


def _attribute_or_submodule(deferral: "_objects.Deferral", module_name: str, attr: str,
                            lazy: LazyValue):
    """``from module_name import attr`` as ``IMPORT_FROM`` does it, where the name may be
    bound to `lazy` itself: the package's own ``from . import sub`` was deferred, so the
    package's ``sub`` is this lazy value until the submodule is imported."""
    deferral.import_(module_name)
    module = sys.modules[module_name]
    namespace = getattr(module, "__dict__", None)
    if namespace is not None and namespace.get(attr) is lazy:
        full = f"{module_name}.{attr}"
        deferral.import_(full)  # the import system rebinds module.attr too
        return sys.modules[full]
    deferral.import_(module_name, (attr,))  # imports a submodule `attr` if need be
    module = sys.modules.get(module_name, module)
    try:
        return getattr(module, attr)
    except AttributeError:
        # as IMPORT_FROM does: a submodule that is in sys.modules but not an attribute
        value = sys.modules.get(f"{module_name}.{attr}", _UNSET)
        if value is _UNSET:
            origin = getattr(module, "__file__", None) or "unknown location"
            raise ImportError(f"cannot import name {attr!r} from {module_name!r} "
                              f"({origin})", name=module_name, path=origin) from None
        return value


def _special(lazy: LazyValue, name: str):
    """The real object's special method `name`, bound, looked up on its type as the
    interpreter does; `TypeError` if it has none."""
    value = _value(lazy)
    method = getattr(type(value), name, None)
    if method is None:
        raise TypeError(f"{type(value).__name__!r} object does not support {name}")
    return method.__get__(value, type(value))


def _value(lazy: LazyValue, chain: tuple = ()):
    """The real object `lazy` stands for, importing it at the first call. `chain`: the lazy
    values being resolved on the way here (one module's lazy binding re-exported by another)."""
    value = _v_get_value(lazy)
    if value is not _UNSET:
        return value
    deferral = _v_get_deferral(lazy)
    attr = _v_get_attr(lazy)
    hook = deferral.hook
    module_name = deferral.module
    resolving = _objects._resolving()
    resolving.append(lazy)
    try:
        if any(seen is lazy for seen in chain):  # by identity: `in` would call __eq__
            raise ImportError(f"cannot import name {attr!r} from {module_name!r}: lazy "
                              f"imports that resolve to each other", name=module_name)
        value = _attribute_or_submodule(deferral, module_name, attr, lazy)
        # The module's own binding may be lazy too (it deferred its import of the name):
        # this is its first use as well.
        if type(value) is LazyValue:
            value = _value(value, chain + (lazy,))
        elif type(value) is LazyModule:
            value = _m_get_module(value) or _resolve_module(value)
    except Exception as exc:
        deferral.annotate(exc)
        raise
    finally:
        resolving.pop()
    _v_set_value(lazy, value)
    _objects._rebind(_v_get_globals(lazy), _v_get_name(lazy), lazy, value)
    keys = deferral.keys
    if keys != (module_name,):  # the statement stood for submodules of a loaded package
        keys = tuple(k for k in keys if k == f"{module_name}.{attr}")
    elif isinstance(value, _ModuleType) and getattr(value, "__name__", None) == \
            f"{module_name}.{attr}":
        keys = keys + (f"{module_name}.{attr}",)
    hook._reify(keys)
    return value
