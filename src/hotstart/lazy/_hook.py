"""The lazy-import hook: PEP 810 "potentially lazy" imports on CPython 3.11-3.14.

`install(filter)` wraps ``builtins.__import__``. From then on an ``import`` statement that
PEP 810 would call *potentially lazy* -- at module scope, not inside a ``try`` or ``with``
block, not ``import *``, not ``from __future__`` -- and whose module is not loaded yet asks
``filter(importing_module, imported_module, fromlist)``; if it answers True, the statement
does not import: its names become pending in the module (see `_objects`), and the import
runs at the first read of one of them, with its real exception if it fails. A statement
whose names a read could reach before that machinery sees it (`Hook._how`) stays eager, or
with ``stand_ins`` binds a stand-in that stays until its first use. Every other import goes
straight to the wrapped ``__import__``.

How a statement is recognised (all checked on the importing frame, cheapest first):
``IMPORT_NAME`` passes the frame's globals and locals to ``__import__``, and only module
code (and ``exec`` of module-like code) has ``locals is globals``; the instruction at
``f_lasti`` must be ``IMPORT_NAME`` (an explicit ``__import__(...)`` call is never lazy);
and no entry of the code's exception table may cover it (a ``try`` or ``with`` block).

Private: the public faces are `hotstart.lazy.enable`/`set_filter` (docs/lazy-mode.md) and
the lazy trial (`hotstart trial`), which calls `install` as documented here.
"""

import builtins
import sys

from hotstart.lazy import _objects
from hotstart.lazy._bytecode import bound_names, module_facts, statement_at, stored_name
from hotstart.lazy._objects import (
    Deferral,
    LazyFrom,
    LazyModule,
    LazySubmoduleChain,
    bind_later,
    lazy_builtins,
    pending_submodule,
    resolve_for_star,
    sweep,
)

__all__ = ["Hook", "install", "installed", "user_frame"]

_bootstrap = sys.modules["_frozen_importlib"]  # the import system's own name resolution
_getframe = sys._getframe
_BUILTIN = frozenset(sys.builtin_module_names)


def user_frame(frame=None):
    """The innermost frame (from `frame`, default the caller's) whose code is neither
    hotstart's lazy machinery nor the import system; None if there is none."""
    frame = frame if frame is not None else _getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not (filename.startswith("<frozen importlib") or _is_machinery(filename)):
            return frame
        frame = frame.f_back
    return None


def _is_machinery(filename: str) -> bool:
    normalized = filename.replace("\\", "/")
    return "/hotstart/lazy/" in normalized or normalized.endswith("/importlib/__init__.py")


class Hook:
    """An installed lazy-import hook (see `install`).

    Attributes, all read-only for users except `filter`, `lazy_modules_only` and
    `eager_unread_imports`:

    - ``filter``: the current filter; may be replaced (None: nothing is lazy).
    - ``lazy_modules_only``: if True (PEP 810's "normal" mode), a statement is potentially
      lazy only if the importing module's ``__lazy_modules__`` contains the imported module's
      absolute name; the filter then still decides. False (the default): every statement.
    - ``eager_unread_imports``: if True (the default), ``import a.b`` whose bound name the
      module never reads stays eager: it is there for its side effects. False defers it too,
      as PEP 810's "all" mode does (the lazy trial, which falls back where that breaks).
    - ``stand_ins``: True (the default, PEP 810's timing): a name the module body reads
      while it runs (or that no first read could resolve otherwise) gets a lazy stand-in
      that stays bound until its first use -- which can escape into C code that checks
      types. False (the run-time lazy mode): such statements are eager, so that no
      stand-in ever outlives the statement that bound it.
    - ``lasting_stand_ins``: True (the default): with ``stand_ins``, a stand-in may stay
      bound past the next import statement: for a name the module body reads, one a
      function made before the first deferral reads, or any name of a module that answers
      attributes itself or reads its own namespace. False (the lazy trial): those
      statements are eager, and a stand-in only bridges the moment until the next import
      statement sweeps it out. PEP 810 reifies a name where it is read; a lasting stand-in
      travels further (a class attribute, an ``except`` clause, ``ABC.register``) and is
      used later or never, deferring what no rewrite of the project could.
    - ``deferred``: ``{module: "file:line"}`` -- modules whose import a statement deferred
      and that no lazy binding has resolved yet, with the first such statement.
    - ``reified``: ``{module: (filename, lineno, function) | None}`` -- modules deferred and
      then used through a lazy binding, with the first frame outside hotstart and importlib
      that used it.
    - ``active``: False once uninstalled.
    """

    def __init__(self, filter, on_reify=None) -> None:
        import _thread

        self.filter = filter
        self.on_reify = on_reify
        self.lazy_modules_only = False
        self.eager_unread_imports = True
        self.stand_ins = True
        self.lasting_stand_ins = True
        self.deferred: dict = {}
        self.reified: dict = {}
        self.active = True
        # Held only around dict updates, never across an import; reentrant all the same: a
        # finalizer run by the garbage collector in the middle may import lazily too.
        self._lock = _thread.RLock()
        self._next = builtins.__import__
        hook = self

        unswept = _objects._unswept

        def __import__(name, globals=None, locals=None, fromlist=(), level=0):
            if unswept:  # stand-ins the last deferred statements stored: out they go
                sweep()
            # Cheapest test first: only module-scope code passes locals that are its globals.
            if globals is None or locals is not globals or not hook.active:
                module = hook._next(name, globals, locals, fromlist, level)
            else:
                module = hook._module_scope_import(name, globals, fromlist, level)
                if type(module) in _LAZY:
                    return module
            if unswept:  # the module just imported has finished its body
                sweep()
            if fromlist and "*" in fromlist:
                resolve_for_star(module)
            return module

        __import__.__doc__ = builtins.__import__.__doc__
        self._wrapper = __import__

    def _module_scope_import(self, name, globals, fromlist, level):
        next_import = self._next
        filter = self.filter
        # An import statement passes None or a tuple; C code (PyImport_Import) passes a list.
        if filter is None or name == "__future__" or not (
                fromlist is None or (type(fromlist) is tuple and "*" not in fromlist)):
            return next_import(name, globals, globals, fromlist, level)
        lazy_modules = globals.get("__lazy_modules__")
        if self.lazy_modules_only and lazy_modules is None:  # "normal": the module opts in
            return next_import(name, globals, globals, fromlist, level)
        if level:
            try:
                absolute = _bootstrap._resolve_name(
                    name, _bootstrap._calc___package__(globals), level)
            except (ImportError, KeyError, TypeError, ValueError):  # the import system's own
                return next_import(name, globals, globals, fromlist, level)
        else:
            absolute = name
        if self.lazy_modules_only and absolute not in lazy_modules:
            return next_import(name, globals, globals, fromlist, level)
        if absolute in _BUILTIN:
            # Built into the interpreter: importing it costs microseconds, and C code (and
            # typing's `Generic in __orig_bases__`) often sees its names: never deferred.
            return next_import(name, globals, globals, fromlist, level)
        modules = sys.modules
        loaded = modules.get(absolute)
        if fromlist:
            missing = _names_missing(loaded, fromlist)
            if not missing:  # free: every name is there already
                return next_import(name, globals, globals, fromlist, level)
        elif loaded is not None:
            return next_import(name, globals, globals, fromlist, level)
        # The importing frame: the caller of the wrapper, or further out if another
        # __import__ wrapper (a tracer) was installed on top of this one and passed us through.
        frame = _getframe(2)
        for _ in range(8):
            if frame is None or frame.f_globals is globals:
                break
            frame = frame.f_back
        if frame is None or frame.f_globals is not globals:
            return next_import(name, globals, globals, fromlist, level)
        form = statement_at(frame, name)
        if not form:
            return next_import(name, globals, globals, fromlist, level)
        importing = globals.get("__name__")
        if not isinstance(importing, str):
            importing = "__main__"
        if not filter(importing, absolute, tuple(fromlist) if fromlist else None):
            return next_import(name, globals, globals, fromlist, level)
        code = frame.f_code
        lasti = frame.f_lasti
        names = bound_names(code, lasti) if fromlist else [stored_name(code, lasti)]
        if names is None or None in names:
            return next_import(name, globals, globals, fromlist, level)
        how = self._how(globals, code, lasti, names, absolute, fromlist)
        copy = lazy_builtins(globals, code, lasti) if how is _UNBOUND else None
        if copy is None and (how is _EAGER or not self.stand_ins):
            return next_import(name, globals, globals, fromlist, level)
        where = f"{code.co_filename}:{frame.f_lineno}"
        if fromlist:
            keys = _from_keys(absolute, loaded, missing)
            self._defer(keys, where)
            deferral = Deferral(self, absolute, keys, where)
            self._submodules_of(absolute, deferral, loaded, fromlist)
            return LazyFrom(deferral, globals, names, copy is not None)
        self._defer((absolute,), where)
        deferral = Deferral(self, absolute, (absolute,), where)
        self._submodules_of(absolute, deferral, None, None)
        if form == 2:  # import a.b as c: IMPORT_FROM b follows; bind a lazy `a.b`
            return LazySubmoduleChain(deferral, globals, absolute.count("."), names[0],
                                      copy is not None)
        top = absolute.partition(".")[0]
        # `import a.b` then `import a.c`: both bind `a`; the second must also import a.b.
        previous = globals.get(top)
        if type(previous) is not LazyModule and copy is not None:
            previous = copy.pending.get(top)
        lazy = LazyModule(deferral, top, globals, top,
                          previous if type(previous) is LazyModule else None)
        if copy is not None:
            bind_later(globals, top, lazy)
        return lazy

    @property
    def _lasting(self) -> str:
        """What a statement gets whose names need a stand-in for longer than a moment."""
        return _STAND_IN if self.lasting_stand_ins else _EAGER

    def _how(self, globals, code, lasti, names, absolute, fromlist):
        """How the statement at `lasti` is deferred: `_UNBOUND` -- it binds nothing once
        the next import statement sweeps its stand-ins out, since no read of its names can
        miss the module's `LazyBuiltins` (see `_objects`); `_STAND_IN` -- only a stand-in
        that stays bound can serve the reads (used if ``stand_ins`` is True); `_EAGER`."""
        facts = module_facts(code)
        if facts.uses("__builtins__") or "__getattr__" in code.co_names or any(
                facts.read_while_running(reader) or facts.first_function_reading(reader)
                is not None for reader in ("globals", "locals", "vars")):
            # The module reads its builtins, answers attributes itself, or reads its own
            # namespace as a dict (httpcore's `locals()[name]` loop over __all__), where a
            # pending name is absent
            return self._lasting
        copy = globals.get("__builtins__")
        switched = copy.offset if type(copy) is _objects.LazyBuiltins else lasti
        # The module body keeps the builtins it started with: a name it reads while it runs
        # must be bound (PEP 810 would reify it right there). A deleted one too. Checked for
        # every name first: a stand-in given for another name would be read by the body too.
        if any(facts.read_while_running(name) or name in facts.deleted for name in names):
            return self._lasting
        read = False
        for name in names:
            first = facts.first_function_reading(name)
            if first is None:
                continue
            read = True
            # A function made before the switch has the plain builtins. And until the next
            # import statement sweeps the stand-ins out, a function of the module that the
            # body runs would read the stand-in itself (which could then escape).
            if first < switched:
                return self._lasting
            if facts.hands_out_own_code_after(lasti) or (
                    first < lasti and facts.runs_code_after(lasti)):
                return _STAND_IN  # swept out at the next import statement
        if not read and self.eager_unread_imports and not (
                fromlist and globals.get("__path__") is not None
                and not any(name.startswith("_") for name in names)):
            # Never read by the module: the import is there for its side effects
            # (registering a plugin, a C capsule, numpy's `from . import _add_newdocs`);
            # deferred, they would never happen. Except a package's public re-export
            # (`from .core import Thing` in an __init__): read from outside, as pkg.Thing.
            return _EAGER
        importing = globals.get("__name__")
        if fromlist and globals.get("__path__") is not None and isinstance(importing, str) \
                and absolute.startswith(importing + "."):
            # `from .sub import x` in the package itself binds `sub` too (the import system
            # sets the attribute): a body reading or deleting it needs the real import
            sub = absolute[len(importing) + 1:].partition(".")[0]
            if facts.read_while_running(sub) or sub in facts.deleted:
                return _EAGER
        # A package that is not installed: the eager ImportError now, where a `try: import
        # this_module / except ImportError:` around the importer's import of this module
        # sees it (an optional dependency detected as present would be a silent difference)
        top = absolute.partition(".")[0]
        if self.stand_ins or top in sys.modules or top in _installed:
            return _UNBOUND
        if _bootstrap._find_spec(top, None) is None:
            return _EAGER
        _installed.add(top)  # (a path scan: ~40 us; once per top-level package)
        return _UNBOUND

    @staticmethod
    def _submodules_of(absolute: str, deferral, loaded, fromlist) -> None:
        """The eager import would have set each imported module as an attribute of its
        loaded parent (``pkg.sub``): reading that attribute resolves the deferral."""
        parts = absolute.split(".")
        for end in range(2, len(parts) + 1):
            pending_submodule(".".join(parts[:end]), deferral)
        if fromlist and loaded is not None and hasattr(loaded, "__path__"):
            for attr in fromlist:
                pending_submodule(f"{absolute}.{attr}", deferral)

    def _defer(self, keys, where: str) -> None:
        with self._lock:
            for key in keys:
                if key not in self.reified:
                    self.deferred.setdefault(key, where)

    def _reify(self, keys) -> None:
        """Record the first use of `keys` through a lazy binding (`_objects` calls it)."""
        fresh = []
        with self._lock:
            for key in keys:
                if key not in self.reified:
                    fresh.append(key)
                    self.reified[key] = None
                    self.deferred.pop(key, None)
        if not fresh:
            return
        frame = user_frame(_getframe(1))
        user = (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name) \
            if frame is not None else None
        for key in fresh:
            self.reified[key] = user
        if self.on_reify is not None:
            for key in fresh:
                self.on_reify(key, user)

    def uninstall(self) -> None:
        """Stop deferring imports. Lazy bindings made so far still resolve on first use.
        Restores the previous ``builtins.__import__`` if this hook's wrapper is still the
        current one (else another wrapper sits on top; this one then only passes through)."""
        self.active = False
        if builtins.__import__ is self._wrapper:
            builtins.__import__ = self._next
        if _objects._FINDER in sys.meta_path:
            sys.meta_path.remove(_objects._FINDER)
        global _current
        if _current is self:
            _current = None


_LAZY = (LazyFrom, LazyModule, LazySubmoduleChain)
_UNBOUND, _STAND_IN, _EAGER = "unbound", "stand-in", "eager"
_installed: set = set()  # top-level packages found installed by a deferral's check


def _names_missing(module, fromlist) -> tuple:
    """The names of `fromlist` that `module` does not define yet (all if it is not loaded).

    Reads the module's ``__dict__``, not ``getattr``: a PEP 562 ``__getattr__`` would import
    the very thing that is to be deferred."""
    if module is None:
        return tuple(fromlist)
    try:
        namespace = module.__dict__
    except AttributeError:
        return ()  # not a module: let the import system deal with it
    return tuple(n for n in fromlist if n not in namespace)


def _from_keys(absolute: str, loaded, missing: tuple) -> tuple:
    """The module names a deferred ``from absolute import ...`` stands for: the package's
    missing submodules when the package is loaded, else the module itself."""
    if loaded is not None and hasattr(loaded, "__path__"):
        return tuple(f"{absolute}.{name}" for name in missing)
    return (absolute,)


_current = None


def installed():
    """The installed `Hook`, or None."""
    return _current


def install(filter, *, on_reify=None) -> Hook:
    """Wrap ``builtins.__import__`` so that potentially lazy imports `filter` accepts are
    deferred; return the `Hook`.

    `filter(importing_module, imported_module, fromlist) -> bool` has the signature of PEP
    810's ``sys.set_lazy_imports_filter``: `imported_module` is absolute (relative imports
    resolved), `fromlist` a tuple of names or None for ``import x``. It is called only for
    potentially lazy imports of modules not loaded yet. `on_reify(module, user)` is called
    once per deferred module, at the first use of one of its lazy bindings, with the using
    frame as ``(filename, lineno, function)`` (None if only machinery is on the stack).

    Raises `RuntimeError` if a hook is installed already (change its ``filter`` instead).
    """
    global _current
    if _current is not None and _current.active:
        raise RuntimeError("a hotstart lazy-import hook is installed already; "
                           "set its .filter or uninstall() it first")
    hook = Hook(filter, on_reify)
    builtins.__import__ = hook._wrapper
    if _objects._FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _objects._FINDER)
    _current = hook
    return hook
