"""The lazy objects a deferred import statement binds (made by `_hook`).

- `LazyModule`: what ``import a`` / ``import a.b.c`` binds to ``a`` (and ``import a.b as c``
  to ``c``). A module object; the first attribute access (or ``dir``, ``repr``, setting an
  attribute) imports the statement's module and replaces the binding in the importing
  module's globals by ``sys.modules[...]``, so later reads are plain global reads.
- `LazyValue`: what ``from x import y`` binds to ``y``. The first use of any kind -- attribute,
  call, operator, subscript, iteration, ``repr``/``str``/``bool``/``hash``, ``with``,
  ``await``, ``isinstance(o, y)``, ``class C(y)``, a class attribute read through a
  descriptor -- imports ``x``, takes ``x.y`` (or the submodule ``x.y``) and replaces the
  binding in the importing module's globals, so identity holds from then on.
- `LazyFrom`, `LazySubmoduleChain`: handed to the interpreter's ``IMPORT_FROM``
  instructions so that they produce the objects above without importing anything.

A failing import raises at the first use, with its own exception and traceback and a note
(PEP 678) naming the deferred statement's ``file:line``; the next use tries again. No lock
of ours is held across an import: the import system's per-module locks make concurrent
first uses run a module's body once, and racing threads store the same object.

What cannot be intercepted before the first use (documented in docs/lazy-mode.md):
``type(y)``, ``y is z``, ``id(y)``, and C code that checks the exact type of its argument
see the lazy object itself.
"""

import _operator
import _thread
import builtins as _builtins
import sys

__all__ = ["Deferral", "LazyBuiltins", "LazyFrom", "LazyModule", "LazySubmoduleChain",
           "LazyValue", "ModuleWithLazyNames", "bind_later", "lazy_builtins",
           "pending_submodule", "resolve", "resolve_for_star", "sweep"]

_ModuleType = type(sys)
_UNSET = object()


class Deferral:
    """One deferred import statement: the hook that deferred it, the absolute module it
    imports, the module names it stands for (the keys of ``Hook.deferred``) and where it is."""

    __slots__ = ("finders", "hook", "keys", "module", "where")

    def __init__(self, hook, module: str, keys: tuple, where: str) -> None:
        self.hook = hook
        self.module = module
        self.keys = keys
        self.where = where
        # the meta-path finders of the moment: the import runs as it would have run here
        self.finders = tuple(sys.meta_path)

    def import_(self, name: str, fromlist=None):
        """Import `name` with the wrapped ``__import__``, asking only the meta-path finders
        that were there when the statement was deferred (a finder installed since -- one
        that may itself use this lazy name -- was not asked by the eager program either)."""
        next_import = self.hook._next
        if tuple(sys.meta_path) == self.finders:
            return next_import(name, None, None, fromlist, 0)
        stack = _finder_stack()
        stack.append(self.finders)
        _FINDER.first()
        try:
            return next_import(name, None, None, fromlist, 0)
        finally:
            stack.pop()

    def annotate(self, exc: BaseException) -> None:
        """Add a note naming the deferred statement to `exc` (once per exception)."""
        note = f"hotstart.lazy: raised at the first use of the import deferred at {self.where}"
        if note not in getattr(exc, "__notes__", ()):
            exc.add_note(note)


_lock = _thread.RLock()  # reentrant: a finalizer run by the collector may resolve too
_local = _thread._local()
_builtins_dict = _builtins.__dict__


def _finder_stack() -> list:
    stack = getattr(_local, "finders", None)
    if stack is None:
        stack = _local.finders = []
    return stack


def _resolving() -> list:
    """The lazy objects this thread is resolving (outermost first)."""
    stack = getattr(_local, "resolving", None)
    if stack is None:
        stack = _local.resolving = []
    return stack


def _in_progress(lazy) -> bool:
    return any(item is lazy for item in _resolving())


class _FindersAsOfDeferral:
    """A meta-path finder, first in ``sys.meta_path`` while a deferred import resolves, that
    answers with the finders of the moment the statement was deferred (see
    `Deferral.import_`); it answers nothing (None) on threads that are not resolving."""

    def find_spec(self, name, path=None, target=None):
        stack = getattr(_local, "finders", None)
        if not stack:
            return None
        allowed = stack[-1]
        for finder in list(sys.meta_path):
            if finder is self or not any(finder is known for known in allowed):
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(name, path, target)
            if spec is not None:
                return spec
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)

    def first(self) -> None:
        """Be first in ``sys.meta_path`` (a finder inserted at 0 since would precede us)."""
        meta_path = sys.meta_path
        if not meta_path or meta_path[0] is not self:
            with _lock:
                if self in meta_path:
                    meta_path.remove(self)
                meta_path.insert(0, self)

    def __repr__(self) -> str:
        return "<hotstart.lazy finder: imports as of their deferral>"


_FINDER = _FindersAsOfDeferral()


class LazyBuiltins(dict):
    """The ``__builtins__`` of a module that deferred imports: a copy of the builtins (kept
    current by `_WatchedBuiltins`) without the names the module's deferred statements bind.

    A function made after the module's first deferred import reads its globals, then this
    mapping (CPython takes that slow path when builtins is not an exact dict); a name that
    is in neither lands in `__missing__`, which resolves the module's pending binding of it
    -- imports, stores the real object in the module's globals, returns it -- or gives the
    real builtin (a name added to builtins later), or raises KeyError (NameError)."""

    __slots__ = ("code", "namespace", "offset", "pending")

    def __missing__(self, name):
        lazy = self.pending.get(name)
        if lazy is not None and not _in_progress(lazy):
            return resolve(lazy)
        if _pending_submodules:
            full = f"{self.namespace.get('__name__')}.{name}"
            if full in _pending_submodules:
                module = _import_submodule(full)
                if module is not None:
                    return module
        return _builtins_dict[name]


#: Every LazyBuiltins made, so that `_WatchedBuiltins` can keep their copies current.
_all_builtins: list = []


class _WatchedBuiltins(_ModuleType):
    """The class of the ``builtins`` module while the hook is installed: setting or deleting
    a builtin (``mock.patch("builtins.open")``, ``monkeypatch.setattr``) reaches the copies
    in the `LazyBuiltins` mappings too."""

    __slots__ = ()

    def __setattr__(self, name: str, value) -> None:
        _ModuleType.__setattr__(self, name, value)
        with _lock:
            for copy in _all_builtins:
                if name not in copy.pending:
                    dict.__setitem__(copy, name, value)

    def __delattr__(self, name: str) -> None:
        _ModuleType.__delattr__(self, name)
        with _lock:
            for copy in _all_builtins:
                dict.pop(copy, name, None)


def lazy_builtins(namespace: dict, code, offset: int):
    """The `LazyBuiltins` of the module whose globals are `namespace`, made and installed as
    its ``__builtins__`` at its first deferred import (`code` at byte `offset`); None if the
    module cannot have one (its own builtins, or another code object switched them)."""
    current = namespace.get("__builtins__")
    if type(current) is LazyBuiltins:
        return current if current.code is code else None
    if current is not _builtins and current is not _builtins_dict:
        return None
    copy = LazyBuiltins(_builtins_dict)
    copy.code = code
    copy.offset = offset
    copy.namespace = namespace
    copy.pending = {}
    with _lock:
        _all_builtins.append(copy)
        if type(_builtins) is _ModuleType:
            _builtins.__class__ = _WatchedBuiltins
    namespace["__builtins__"] = copy
    module = sys.modules.get(namespace.get("__name__"))
    if module is not None and _module_getattribute(module, "__dict__") is namespace and \
            type(module) is _ModuleType:
        module.__class__ = ModuleWithLazyNames
    return copy


#: (globals, name, lazy object) bound by a deferred statement and not taken out yet
_unswept: list = []


def bind_later(namespace: dict, name: str, lazy) -> None:
    """Record that the statement being executed binds `lazy` to `name` in `namespace`: the
    name becomes pending (resolved at its first read) and the stand-in is taken out of the
    globals again by the next `sweep`."""
    with _lock:
        copy = namespace["__builtins__"]
        copy.pending[name] = lazy
        dict.pop(copy, name, None)  # `from io import open`: the builtin must not answer
        _unswept.append((namespace, name, lazy))


def sweep() -> None:
    """Take the stand-ins that deferred statements stored out of their modules' globals, so
    that reads of those names go to `LazyBuiltins.__missing__` / the module's
    ``__getattr__`` and get the real object (nothing else can hold a stand-in)."""
    with _lock:
        waiting = []
        for entry in _unswept:
            namespace, name, lazy = entry
            current = namespace.get(name, _UNSET)
            if current is lazy:
                del namespace[name]
            elif current is _UNSET or type(current) in (LazyValue, LazyModule):
                waiting.append(entry)  # not stored yet (another thread is at the statement)
        _unswept[:] = waiting


def _is_own_submodule(namespace: dict, name: str, value) -> bool:
    return isinstance(value, _ModuleType) and \
        getattr(value, "__name__", None) == f"{namespace.get('__name__')}.{name}"


def _rebind(namespace: dict, name: str, lazy, value) -> None:
    """Bind `value` to `name` in the importing module's globals, where the statement's
    binding is still there: the stand-in itself, or the pending name (absent, or the
    submodule the import system just set: ``from .version import version``)."""
    with _lock:
        copy = namespace.get("__builtins__")
        ours = type(copy) is LazyBuiltins and copy.pending.get(name) is lazy
        current = namespace.get(name, _UNSET)
        if current is lazy or (ours and (current is _UNSET or _is_own_submodule(
                namespace, name, current))):
            namespace[name] = value
        if ours:
            del copy.pending[name]
            if not copy.pending:
                _settle(namespace.get("__name__"))


def _settle(name) -> None:
    """Give module `name` the plain module class back once nothing of it is pending: its
    own lazy names, and submodules a deferred statement stands for."""
    module = sys.modules.get(name) if isinstance(name, str) else None
    if type(module) is not ModuleWithLazyNames:
        return
    copy = _module_getattribute(module, "__dict__").get("__builtins__")
    if type(copy) is LazyBuiltins and copy.pending:
        return
    prefix = name + "."
    if not any(full.startswith(prefix) and "." not in full[len(prefix):]
               for full in _pending_submodules):
        module.__class__ = _ModuleType


def resolve(lazy):
    """The real object of a stand-in (imported at the first call)."""
    if type(lazy) is LazyValue:
        return _value(lazy)
    return _m_get_module(lazy) or _resolve_module(lazy)


#: "pkg.sub" -> Deferral: submodules a deferred statement would have imported, which the
#: import system would have set as attributes of their loaded parent (typer._click.utils)
_pending_submodules: dict = {}


def pending_submodule(full: str, deferral: Deferral) -> None:
    """Record that the deferred statement imports `full`, whose parent is loaded (or being
    run): reading ``parent.sub`` imports it, as the eager import made it an attribute."""
    parent_name, _, attr = full.rpartition(".")
    parent = sys.modules.get(parent_name)
    namespace = getattr(parent, "__dict__", None)
    if type(namespace) is not dict or attr in namespace or "__getattr__" in namespace:
        return  # not loaded, set already, or the parent answers its attributes itself
    with _lock:
        _pending_submodules.setdefault(full, deferral)
        if type(parent) is _ModuleType:
            parent.__class__ = ModuleWithLazyNames


def _import_submodule(full: str):
    """Import the pending submodule `full`; None if there is no such module (the deferred
    ``from pkg import name`` named an attribute, not a submodule)."""
    deferral = _pending_submodules.get(full)
    module = None
    try:
        if deferral is not None:
            deferral.import_(full)
            module = sys.modules.get(full)
    except ModuleNotFoundError as exc:
        if exc.name != full:
            deferral.annotate(exc)
            raise
    except Exception as exc:
        deferral.annotate(exc)
        raise
    with _lock:
        _pending_submodules.pop(full, None)
        _settle(full.rpartition(".")[0])
    return module


class LazyModule(_ModuleType):
    __slots__ = ("_hs_bind", "_hs_deferral", "_hs_globals", "_hs_module", "_hs_name",
                 "_hs_previous")

    def __init__(self, deferral: Deferral, bind: str, namespace: dict, name,
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
    resolving = _resolving()
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
    _pending_submodules.pop(deferral.module, None)
    _m_set_module(lazy, module)
    _rebind(_m_get_globals(lazy), _m_get_name(lazy), lazy, module)
    hook._reify(deferral.keys)
    return module


class LazySubmoduleChain:
    """What ``IMPORT_NAME`` returns for ``import a.b.c as d``: the ``IMPORT_FROM b``,
    ``IMPORT_FROM c`` that follow read it, and the last one gets a `LazyModule` of ``a.b.c``.
    Every attribute read is one of those (``__getattribute__``: a module may be named like
    any attribute)."""

    __slots__ = ("_remaining", "_state")

    def __init__(self, deferral: Deferral, namespace: dict, remaining: int, name: str,
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
            bind_later(namespace, name, lazy)
        return lazy


_c_get_state = LazySubmoduleChain._state.__get__
_c_set_state = LazySubmoduleChain._state.__set__
_c_get_remaining = LazySubmoduleChain._remaining.__get__
_c_set_remaining = LazySubmoduleChain._remaining.__set__


class LazyFrom:
    """What ``IMPORT_NAME`` returns for a deferred ``from x import a, b``: each
    ``IMPORT_FROM`` that follows reads one name and gets a `LazyValue` for it."""

    __slots__ = ("_deferral", "_namespace")

    def __init__(self, deferral: Deferral, namespace: dict, names: list,
                 unbound: bool) -> None:
        _f_set_deferral(self, deferral)
        _f_set_namespace(self, (namespace, list(names), unbound))

    def __getattribute__(self, attr: str):
        namespace, names, unbound = _f_get_namespace(self)
        name = names.pop(0)  # the names the IMPORT_FROMs store to, in their order
        lazy = LazyValue(_f_get_deferral(self), attr, namespace, name)
        if unbound:
            bind_later(namespace, name, lazy)
        return lazy


_f_get_deferral = LazyFrom._deferral.__get__
_f_set_deferral = LazyFrom._deferral.__set__
_f_get_namespace = LazyFrom._namespace.__get__
_f_set_namespace = LazyFrom._namespace.__set__


class LazyValue:
    __slots__ = ("_hs_attr", "_hs_deferral", "_hs_globals", "_hs_name", "_hs_value")

    def __init__(self, deferral: Deferral, attr: str, namespace: dict, name: str) -> None:
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


def _attribute_or_submodule(deferral: Deferral, module_name: str, attr: str,
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
    resolving = _resolving()
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
    _rebind(_v_get_globals(lazy), _v_get_name(lazy), lazy, value)
    keys = deferral.keys
    if keys != (module_name,):  # the statement stood for submodules of a loaded package
        keys = tuple(k for k in keys if k == f"{module_name}.{attr}")
    elif isinstance(value, _ModuleType) and getattr(value, "__name__", None) == \
            f"{module_name}.{attr}":
        keys = keys + (f"{module_name}.{attr}",)
    hook._reify(keys)
    return value


def resolve_for_star(module) -> None:
    """``from module import *`` of a module without ``__all__`` copies its globals: bind its
    pending public names first, as they would be bound eagerly -- except those whose import
    is running right now (the eager statement would not have finished either: ctypes'
    ``from ctypes import *`` in the ctypes._endian its own deferred import is loading)."""
    namespace = getattr(module, "__dict__", None)
    if type(namespace) is not dict or "__all__" in namespace:
        return
    copy = namespace.get("__builtins__")
    if type(copy) is not LazyBuiltins or not copy.pending:
        return
    for name, lazy in list(copy.pending.items()):
        if name.startswith("_") or _in_progress(lazy) or name in namespace:
            continue
        deferral = (_v_get_deferral if type(lazy) is LazyValue else _m_get_deferral)(lazy)
        if not _loading(deferral.module):
            resolve(lazy)


def _resolve_all(module, name, copy) -> bool:
    """Resolve every pending name and submodule of `module`; whether there was any."""
    done = False
    if type(copy) is LazyBuiltins:
        for lazy in list(copy.pending.values()):
            deferral = (_v_get_deferral if type(lazy) is LazyValue else _m_get_deferral)(lazy)
            if not _in_progress(lazy) and not _loading(deferral.module):
                resolve(lazy)
                done = True
    prefix = f"{name}."
    for full in [f for f in _pending_submodules
                 if f.startswith(prefix) and "." not in f[len(prefix):]]:
        if not _loading(full):
            done = _import_submodule(full) is not None or done
    return done


def _loading(name: str) -> bool:
    """Whether module `name` is being imported right now (its eager statement would not
    have finished either)."""
    module = sys.modules.get(name)
    return module is not None and bool(getattr(getattr(module, "__spec__", None),
                                               "_initializing", False))


class ModuleWithLazyNames(_ModuleType):
    """The class of a module with pending lazy names (or a loaded package whose submodule a
    deferred statement stands for): reading one as an attribute (``np._NoValue`` from
    another module, ``getattr``, an eager ``from m import name``) resolves it, as PEP 810
    reifies lazy names read from a module. Costs nothing on the attributes the module has:
    ``__getattr__`` runs only when the normal lookup fails."""

    __slots__ = ()

    def __getattr__(self, attr: str):
        namespace = _module_getattribute(self, "__dict__")
        copy = namespace.get("__builtins__")
        if type(copy) is LazyBuiltins:
            lazy = copy.pending.get(attr)
            if lazy is not None and not _in_progress(lazy):
                return resolve(lazy)
        name = namespace.get("__name__")
        full = f"{name}.{attr}"
        if full in _pending_submodules and _import_submodule(full) is not None:
            return _module_getattribute(self, attr)
        # Not a name of ours. The eager program would have run this module's deferred
        # imports by now, and they may have set the attribute on the way (`typer.core`,
        # imported by typer.main, which `from .main import Typer` imports): run them, as
        # eagerly, and look again. A true AttributeError stays one.
        if not sys._getframe(1).f_code.co_filename.startswith("<frozen importlib") and \
                _resolve_all(self, name, copy):
            # (not for the import system's own probe in `from pkg import sub`: it imports
            # the submodule next)
            return _module_getattribute(self, attr)
        raise AttributeError(f"module {name!r} has no attribute {attr!r}", name=attr,
                             obj=self)

    def __dir__(self) -> list:
        names = set(_ModuleType.__dir__(self))
        copy = _module_getattribute(self, "__dict__").get("__builtins__")
        if type(copy) is LazyBuiltins:
            names.update(copy.pending)
        return sorted(names)


_module_getattribute = _ModuleType.__getattribute__
