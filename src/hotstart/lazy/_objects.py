"""What a deferred import statement leaves in its module (made by `_hook`).

Normally nothing: the statement's stand-in (below) is registered with `bind_later` as a
*pending* name of the module and taken out of its globals by the next `sweep` (the hook's
``__import__`` runs one at every import). The module then has:

- `LazyBuiltins` as its ``__builtins__``: a copy of the builtins without its pending names;
  functions made from then on read a missing global there, and ``__missing__`` resolves a
  pending name (imports, stores the real object in the globals, returns it). Setting or
  deleting a builtin reaches the copies (`_WatchedBuiltins`).
- `ModuleWithLazyNames` as its class: a class-level ``__getattr__`` resolves a pending name
  read as an attribute, a pending submodule (``pkg.sub``, which the eager import would have
  set), or else runs the module's pending imports and looks again.
- Deferred imports run with the meta-path finders of their deferral (`Deferral.import_`,
  `_FindersAsOfDeferral`).

Where that cannot serve every read (see `_hook`), a stand-in (`_stand_ins`) stays bound
until its first use when ``Hook.stand_ins`` is True (the lazy trial).

A failing import raises at the first use, with its own exception and traceback and a note
(PEP 678) naming the deferred statement's ``file:line``; the next use tries again. No lock
of ours is held across an import: the import system's per-module locks make concurrent
first uses run a module's body once, and racing threads store the same object.

What a bound stand-in cannot intercept before its first use (documented in
docs/lazy-mode.md): ``type(y)``, ``y is z``, ``id(y)``, and C code that checks the exact
type of its argument see the stand-in itself. A pending (unbound) name has none of these.
"""

import _thread
import builtins as _builtins
import sys

_find_spec = sys.modules["_frozen_importlib"]._find_spec  # no import: the system's finders

from hotstart.lazy._stand_ins import (
    LazyFrom,
    LazyModule,
    LazySubmoduleChain,
    LazyValue,
    _m_get_deferral,
    _m_get_module,
    _resolve_module,
    _v_get_deferral,
    _value,
)

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


def _may_be_submodule(namespace: dict, full: str) -> bool:
    """Whether `full` (``package.attr``) names a submodule the package `namespace` could
    import: found by the import system's finders on the package's ``__path__``, without
    importing it (an error of a finder counts as "maybe")."""
    path = namespace.get("__path__")
    if path is None:
        return False
    try:
        return _find_spec(full, path) is not None
    except Exception:  # noqa: BLE001 - a finder's own error: the eager path may import it
        return True


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
        # imported by typer.main, which `from .main import Typer` imports): if the name is
        # a submodule of this package, run them, as eagerly, and look again. Any other
        # missing name (faker's `getattr(provider_module, "default_locale", "")`) is a
        # true AttributeError, as it would be eagerly: nothing is run for it.
        if not sys._getframe(1).f_code.co_filename.startswith("<frozen importlib") and \
                _may_be_submodule(namespace, full) and _resolve_all(self, name, copy):
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
