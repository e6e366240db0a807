"""A name -> object registry that imports what it lacks, instead of importing everything first.

    >>> plugins = Registry("plugins", index=lambda: Index.build("jobrunner.plugins"))
    >>> @plugins.register("zscore", help="standard score")
    ... class ZScore: ...
    >>> plugins.get("zscore")          # a hit is a dict lookup
    >>> plugins.get("csv_source")      # a miss: the index names the module, it is imported

On a miss, `Registry.get` (1) asks the index which modules register the name and imports them
(``importlib.import_module``), then looks again; (2) tries the prefix resolvers
(``"np."`` -> an attribute of numpy); (3) raises `RegistryError`, one line saying what was
tried and why each step failed (the real import error, or "did you mean ...?").

Imported by worker code at start-up, so this module imports nothing that a bare interpreter has
not already loaded (no ``typing``, ``threading``, ``importlib``); ``importlib`` and ``difflib``
are imported on the miss and error paths only.

Thread safety: registrations and the registry's state are guarded by a re-entrant lock that is
never held across an import, a resolver call or an index build; importlib's per-module locks
make concurrent misses for the same name execute the module once. A lazy index is built once,
under a second re-entrant lock that other missing threads wait on (the builder must not import
the plugins; `Index.build` never does). A module imported because of a miss may call `get()`
for other names, or register names, at import time.
"""

import _thread
import sys

__all__ = ["Registry", "RegistryError", "attribute_resolver", "check_index"]

TYPE_CHECKING = False  # not `from typing import ...`: typing costs milliseconds at start-up
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from .index import Index


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _failure(exc: BaseException) -> str:
    return _one_line(f"{type(exc).__name__}: {exc}")


def _describe(obj: object) -> str:
    """``module.qualname`` of a class or function, else a short repr."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if isinstance(module, str) and isinstance(qualname, str):
        return f"{module}.{qualname}"
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."


class RegistryError(LookupError):
    """A name a registry cannot provide. `str()` is one line saying why.

    name: the name asked for; registry: the registry's name; tried: every step taken, as
    (what was tried, why it failed), e.g. ``("import jobrunner.plugins.stats",
    "ModuleNotFoundError: No module named 'scipy'")``, ``("index", "no module registers
    'zscroe'")``; suggestions: close known names.
    """

    def __init__(self, message: str, *, name: str = "", registry: str = "registry",
                 tried: "Iterable[tuple[str, str]]" = (),
                 suggestions: "Iterable[str]" = ()) -> None:
        super().__init__(message)
        self.message = message
        self.name = name
        self.registry = registry
        self.tried: list[tuple[str, str]] = list(tried)
        self.suggestions: list[str] = list(suggestions)

    def __str__(self) -> str:
        return self.message


class _NotRegistered(RegistryError, KeyError):
    """`Registry.unregister` of a name that is not registered: a RegistryError and KeyError."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class _Store(dict):
    """The registry's objects; a missing key asks the registry (index, resolvers, error)."""

    __slots__ = ("miss",)

    def __missing__(self, name):
        return self.miss(name)


class Registry:
    """Names -> objects, filled by `register` at import time, completed on a miss.

    name: shown in errors. index: an `Index`, or a zero-argument callable returning one (called
    on the first miss only, so a worker that only hits never scans), or None. resolvers: prefix
    resolvers to add, as a mapping ``{prefix: resolve}`` / ``{prefix: (resolve, modules)}`` or
    an iterable of ``(prefix, resolve)`` / ``(prefix, resolve, modules)`` (see `add_resolver`).
    """

    __slots__ = {
        "name": "The registry's name, shown in errors.",
        # `get` is a slot, not a method: an instance attribute that shadows a class-level
        # method defeats attribute specialisation (3.13: 46 ns instead of 31 ns per hit).
        "get": """get(name) -> object: the object registered as `name`, imported or resolved on
        a miss.

        A hit is one dict lookup (``get`` is the store's ``dict.__getitem__``, no Python
        frame). On a miss: the index's modules for `name` are imported (in index order) and the
        registry is looked at again after each; then the longest matching prefix resolver is
        called (its result is cached, not registered); else `RegistryError` lists everything
        tried, with the real import errors or close names ("did you mean ...?").""",
        "_objects": None, "_meta": None, "_resolved": None, "_resolvers": None, "_lock": None,
        "_build_lock": None, "_building": None, "_index": None, "_index_builder": None,
        "_index_error": None, "__weakref__": None,
    }

    def __init__(self, name: str = "registry", *, index: "Index | Callable[[], Index] | None"
                 = None, resolvers: object = None) -> None:
        self.name = name
        store = _Store()
        store.miss = self._miss
        self._objects = store
        # A hit is `dict.__getitem__` itself, no Python frame; a miss calls `_miss`.
        self.get = store.__getitem__
        self._meta: dict[str, dict] = {}
        self._resolved: set[str] = set()  # names cached from a resolver, not registered
        self._resolvers: tuple = ()
        self._lock = _thread.RLock()  # state; never held across an import
        self._build_lock = _thread.RLock()  # one index build; re-entrant by design
        self._building = False
        self._index_error: str | None = None
        if index is not None and callable(index) and not hasattr(index, "modules_for"):
            self._index, self._index_builder = None, index
        else:
            self._index, self._index_builder = index, None
        if resolvers:
            items = resolvers.items() if hasattr(resolvers, "items") else resolvers
            for item in items:
                prefix, rest = item[0], item[1:]
                if len(rest) == 1 and isinstance(rest[0], tuple):
                    rest = rest[0]
                self.add_resolver(prefix, *rest)

    def __repr__(self) -> str:
        return f"<Registry {self.name!r}: {len(self.names())} registered>"

    # -- registering ---------------------------------------------------------------------

    def register(self, name: str, obj: object = _MISSING, /, **meta: object) -> object:
        """Register `obj` as `name`, with keyword metadata; returns `obj` unchanged.

        Decorator form ``@reg.register("csv", help="...")`` or call form
        ``reg.register("csv", CsvSource)``. Registering a different object under a taken name
        raises ValueError naming both. The same object again is a no-op; an object with the
        same ``__module__`` and ``__qualname__`` (a module reloaded or executed again)
        replaces the old one and its metadata.
        """
        if not isinstance(name, str):
            raise TypeError(f"registry {self.name!r}: a name is a str, not "
                            f"{type(name).__name__}")
        if obj is _MISSING:
            def decorator(target: object) -> object:
                self._add(name, target, meta)
                return target

            return decorator
        self._add(name, obj, meta)
        return obj

    def _add(self, name: str, obj: object, meta: dict) -> None:
        with self._lock:
            current = self._objects.get(name, _MISSING)
            if current is not _MISSING and name not in self._resolved and current is not obj:
                if not _same_definition(current, obj):
                    raise ValueError(f"registry {self.name!r}: {name!r} is already registered "
                                     f"to {_describe(current)}; cannot register "
                                     f"{_describe(obj)} under the same name")
            elif current is obj and name not in self._resolved:
                return
            self._objects[name] = obj
            self._meta[name] = dict(meta)
            self._resolved.discard(name)

    def unregister(self, name: str) -> None:
        """Remove `name` (also a value cached from a resolver); a KeyError (that is also a
        `RegistryError`) when it is absent. Does not consult the index."""
        with self._lock:
            if name not in self._objects:
                raise _NotRegistered(f"{name!r} is not registered in registry {self.name!r}",
                                     name=name, registry=self.name)
            del self._objects[name]
            self._meta.pop(name, None)
            self._resolved.discard(name)

    # -- looking up ----------------------------------------------------------------------

    def meta(self, name: str) -> dict:
        """A copy of the metadata `name` was registered with ({} for a resolved name); looks
        `name` up like `get` first (so it may import), `RegistryError` if unknown."""
        self._objects[name]
        return dict(self._meta.get(name, {}))

    def names(self) -> list[str]:
        """The names registered now, sorted (not the index's, not resolved values)."""
        with self._lock:
            return sorted(n for n in self._objects if n not in self._resolved)

    def __contains__(self, name: object) -> bool:
        """Registered now: no import, no resolver."""
        return name in self._objects and name not in self._resolved

    def _miss(self, name: object) -> object:
        if not isinstance(name, str):
            raise RegistryError(f"registry {self.name!r}: a name is a str, not "
                                f"{type(name).__name__}", name=repr(name), registry=self.name)
        found = self._objects.get(name, _MISSING)  # registered by another thread meanwhile
        if found is not _MISSING:
            return found
        tried: list[tuple[str, str]] = [("registry", f"{name!r} is not registered")]
        failed: list[tuple[str, str]] = []  # (module, why)
        silent: list[tuple[str, str]] = []  # (module, "silent" or "circular")
        index = self._load_index()
        if index is None:
            tried.append(("index", self._index_error or "no index"))
        else:
            try:
                modules = list(index.modules_for(name))
            except Exception as exc:
                tried.append(("index", f"lookup failed: {_failure(exc)}"))
                modules = []
            if not modules:
                tried.append(("index", f"no module registers {name!r}"))
            for module in modules:
                found = self._import_for(name, module, tried, failed, silent)
                if found is not _MISSING:
                    return found
        resolver = self.resolver_for(name)
        if resolver is None:
            tried.append(("resolvers", f"no prefix matches {name!r}" if self._resolvers
                          else "none"))
        else:
            prefix, resolve, _ = resolver
            found = self._objects.get(name, _MISSING)  # registered meanwhile?
            if found is not _MISSING:
                return found
            try:
                value = resolve(name)
            except Exception as exc:
                tried.append((f"resolver {prefix!r}", _failure(exc)))
            else:
                with self._lock:
                    found = self._objects.get(name, _MISSING)
                    if found is not _MISSING:
                        return found
                    self._objects[name] = value
                    self._resolved.add(name)
                return value
        raise self._error(name, tried, failed, silent, index, resolver)

    def _import_for(self, name: str, module: str, tried: list, failed: list,
                    silent: list) -> object:
        import importlib

        what = f"import {module}"
        try:
            # Waits while another thread imports it (importlib's module lock); returns the
            # partly initialised module when this thread is the one importing it.
            loaded = importlib.import_module(module)
        except Exception as exc:
            tried.append((what, _failure(exc)))
            failed.append((module, _failure(exc)))
            return _MISSING
        found = self._objects.get(name, _MISSING)
        if found is not _MISSING:
            return found
        if getattr(getattr(loaded, "__spec__", None), "_initializing", False):
            tried.append((what, f"{module} is still being imported (a circular import?)"))
            silent.append((module, "circular"))
        else:
            tried.append((what, f"imported, but it did not register {name!r} in registry "
                                f"{self.name!r}"))
            silent.append((module, "silent"))
        return _MISSING

    def _load_index(self) -> "Index | None":
        index = self._index
        if index is not None or self._index_builder is None:
            return index
        with self._build_lock:
            if self._index is not None or self._index_error is not None:
                return self._index
            if self._building:  # the builder itself missed a name: no index for that lookup
                return None
            self._building = True
            try:
                built = self._index_builder()
            except Exception as exc:
                self._index_error = f"building it failed: {_failure(exc)}"
                return None
            finally:
                self._building = False
            self._index = built
            return built

    def _error(self, name: str, tried: list, failed: list, silent: list, index: object,
               resolver: object) -> RegistryError:
        def make(message: str, suggestions: "Iterable[str]" = ()) -> RegistryError:
            return RegistryError(message, name=name, registry=self.name, tried=tried,
                                 suggestions=suggestions)

        if failed:
            modules = ", ".join(m for m, _ in failed)
            if len(failed) == 1:
                return make(f"{name!r} is registered by {modules}, but importing it failed: "
                            f"{failed[0][1]}")
            reasons = "; ".join(f"{m}: {why}" for m, why in failed)
            return make(f"{name!r} is registered by {modules}, but importing them failed: "
                        f"{reasons}")
        if silent:
            modules = ", ".join(m for m, _ in silent)
            circular = [m for m, why in silent if why == "circular"]
            if circular:
                return make(f"{name!r} is listed in the index for {modules}, but "
                            f"{', '.join(circular)} is still being imported (a circular "
                            f"import?)")
            it = "it" if len(silent) == 1 else "them"
            return make(f"{name!r} is listed in the index for {modules}, but importing {it} "
                        f"did not register it in registry {self.name!r} (a stale index, or a "
                        f"registration that did not run?)")
        if resolver is not None:
            prefix = resolver[0]
            return make(f"{name!r} matches resolver {prefix!r} of registry {self.name!r}, but "
                        f"it failed: {tried[-1][1]}")
        known = set(self.names())
        if index is not None:
            try:
                known.update(index.names())
            except Exception:
                pass
        import difflib

        suggestions = difflib.get_close_matches(name, sorted(known), n=3)
        hint = f" (did you mean {' or '.join(map(repr, suggestions))}?)" if suggestions else ""
        where = "not in the index" if index is not None else (
            "the index could not be built" if self._index_error else "no index")
        return make(f"unknown type {name!r} in registry {self.name!r}: {where}, no resolver "
                    f"matches{hint}", suggestions)

    # -- resolvers -----------------------------------------------------------------------

    def add_resolver(self, prefix: str, resolve: "Callable[[str], object]",
                     modules: "Iterable[str]" = ()) -> None:
        """Resolve names starting with `prefix` by calling ``resolve(name)`` on a miss.

        `modules` are the modules the resolver needs (reported by `preload_modules`); when
        empty, ``resolve.modules`` is used if it has one (as `attribute_resolver`'s do). The
        longest matching prefix wins; adding a prefix again replaces it. `resolve` should
        raise (LookupError, AttributeError, ImportError, ...) for a name it cannot resolve.
        """
        if not isinstance(prefix, str) or not prefix:
            raise ValueError(f"registry {self.name!r}: a resolver prefix is a non-empty str")
        if not callable(resolve):
            raise TypeError(f"registry {self.name!r}: resolver for {prefix!r} is not callable")
        if isinstance(modules, str):
            modules = (modules,)
        modules = tuple(modules) or tuple(getattr(resolve, "modules", ()) or ())
        with self._lock:
            others = [r for r in self._resolvers if r[0] != prefix]
            others.append((prefix, resolve, modules))
            others.sort(key=lambda r: len(r[0]), reverse=True)
            self._resolvers = tuple(others)

    def resolver_for(self, name: str) -> "tuple[str, Callable[[str], object], tuple[str, ...]] | None":
        """The ``(prefix, resolve, modules)`` whose prefix is the longest match, or None."""
        for resolver in self._resolvers:
            if name.startswith(resolver[0]):
                return resolver
        return None

    def preload_modules(self, name: str) -> list[str]:
        """The modules to import so that `name` resolves without a miss: the index's modules
        for it, else the module of the object registered now, else the resolver's modules,
        else []. Builds a lazy index; imports nothing."""
        index = self._load_index()
        if index is not None:
            modules = list(index.modules_for(name))
            if modules:
                return modules
        if name in self:
            module = getattr(self._objects.get(name), "__module__", None)
            if isinstance(module, str) and module != "__main__":
                return [module]
        resolver = self.resolver_for(name)
        return list(resolver[2]) if resolver is not None else []


def _same_definition(old: object, new: object) -> bool:
    """The same class or function defined again (a reload): same module and qualname."""
    module, qualname = getattr(old, "__module__", None), getattr(old, "__qualname__", None)
    return (isinstance(module, str) and isinstance(qualname, str)
            and getattr(new, "__module__", None) == module
            and getattr(new, "__qualname__", None) == qualname)


def attribute_resolver(module: str, strip: str) -> "Callable[[str], object]":
    """A resolver for names that spell an attribute path under `module` after `strip`.

    ``attribute_resolver("numpy", "np.")("np.linalg.norm")`` imports numpy (on first use, not
    now) and returns ``numpy.linalg.norm``; a submodule that is not an attribute yet is
    imported. Dunder parts (``np.__class__``) are refused. The function carries
    ``.modules == (module,)`` so `Registry.add_resolver` knows what to preload.
    """
    def resolve(name: str) -> object:
        if not name.startswith(strip):
            raise LookupError(f"{name!r} does not start with {strip!r}")
        import importlib

        obj = importlib.import_module(module)
        rest = name[len(strip):]
        if not rest:
            return obj
        path = module
        for part in rest.split("."):
            if part.startswith("__") and part.endswith("__"):
                raise AttributeError(f"{name!r}: refusing to resolve dunder attribute {part!r}")
            path = f"{path}.{part}"
            try:
                obj = getattr(obj, part)
            except AttributeError:
                if not isinstance(obj, type(sys)) or not part.isidentifier():
                    raise
                try:
                    obj = importlib.import_module(path)
                except ModuleNotFoundError as exc:
                    if exc.name != path:
                        raise
                    raise AttributeError(f"module {obj.__name__!r} has no attribute "
                                         f"{part!r}") from None
        return obj

    resolve.module = module  # type: ignore[attr-defined]
    resolve.strip = strip  # type: ignore[attr-defined]
    resolve.modules = (module,)  # type: ignore[attr-defined]
    resolve.__qualname__ = resolve.__name__ = f"attribute_resolver({module!r}, {strip!r})"
    return resolve


def check_index(registry: Registry, index: "Index", *, import_all: bool = True) -> None:
    """Assert that `registry` and its static `index` agree (for a project's own tests).

    With `import_all`, first import every module the index names, in its entries and in its
    warnings (where dynamic registrations are); an import that fails is reported too. Then raise AssertionError listing (a) names the index declares that are not
    registered, with the index's warning for that site if it has one (a registration under a
    condition that did not run), and (b) registered names that the index does not know and no
    resolver prefix covers (a dynamic name, a registration the scanner cannot see). Returns
    None when they agree.
    """
    import importlib

    problems: list[str] = []
    if import_all:
        modules = dict.fromkeys(m for n in index.names() for m in index.modules_for(n))
        modules.update(dict.fromkeys(w.module for w in getattr(index, "warnings", ())
                                     if not w.message.startswith(("cannot parse", "cannot read"))))
        for module in modules:
            try:
                importlib.import_module(module)
            except Exception as exc:
                problems.append(f"  import {module} failed: {_failure(exc)}")
    notes = {(w.file, w.line): w.message for w in getattr(index, "warnings", ())}
    for name in index.names():
        if name in registry:
            continue
        sites = []
        for entry in index.lookup(name):
            site = f"{entry.module}:{entry.line}"
            note = notes.get((entry.file, entry.line))
            sites.append(f"{site}, {note}" if note else site)
        problems.append(f"  declared in the index but not registered: {name!r} "
                        f"({'; '.join(sites)})")
    unindexed = [n for n in registry.names() if n not in index and registry.resolver_for(n)
                 is None]
    for name in unindexed:
        problems.append(f"  registered but not in the index: {name!r} "
                        f"({_describe(registry._objects.get(name))})")
    if unindexed and notes:
        problems.append(f"  (the index has {len(notes)} warning{'s' if len(notes) != 1 else ''}"
                        f" about registrations it cannot see: see index.warnings)")
    if problems:
        raise AssertionError(f"registry {registry.name!r} and its index disagree:\n"
                             + "\n".join(problems))
