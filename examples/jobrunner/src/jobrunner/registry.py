"""Registry of the building blocks a job spec can refer to by name.

Plugins register classes or factory functions under a short name::

    @register("dropna", summary="Drop rows with missing values.")
    class DropNa: ...

and :func:`build` instantiates every ``{"@type": "dropna", ...}`` object found
in a job spec, passing the remaining keys as keyword arguments.

No plugin is imported up front. hotstart's index reads the package's source for
``@register("name", ...)`` sites, so :func:`names` and :func:`entries` describe
every type without importing anything, and :func:`get` imports the one module
that registers a name the first time a spec asks for it.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from hotstart.registry import Registry, RegistryError

from jobrunner.log import get_logger

if TYPE_CHECKING:
    from hotstart.registry import Index

__all__ = [
    "TYPE_KEY",
    "Entry",
    "SpecBuildError",
    "UnknownTypeError",
    "build",
    "entries",
    "entry",
    "get",
    "names",
    "register",
]

log = get_logger()

#: Key that names the registered type of a JSON object in a job spec.
TYPE_KEY = "@type"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Entry:
    """A type a job spec can use: its name, the module that registers it and metadata."""

    name: str
    module: str
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """What the type is used for: "source", "step", "sink" or "pipeline"."""
        return str(self.meta.get("kind", "step"))

    @property
    def summary(self) -> str:
        """One-line description, from the ``summary`` metadata."""
        return str(self.meta.get("summary", ""))


class UnknownTypeError(KeyError):
    """A job spec names a type that nothing registered."""

    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = difflib.get_close_matches(name, known, n=3)

    @property
    def hint(self) -> str:
        """`` (did you mean 'x'?)`` when there are close matches, else ``""``."""
        if not self.suggestions:
            return ""
        return f" (did you mean {' or '.join(map(repr, self.suggestions))}?)"

    def __str__(self) -> str:
        return f"unknown type {self.name!r}{self.hint}"


class SpecBuildError(ValueError):
    """A registered type was given arguments it does not accept."""


@functools.lru_cache(maxsize=1)
def index() -> Index:
    """The registrations declared in this package's source (read, never imported)."""
    from hotstart.registry import Index, Matcher

    package_dir = os.path.dirname(os.path.abspath(__file__))
    return Index.build(package_dir, Matcher(callables=("register",), keep=("kind", "summary")))


_registry = Registry("jobrunner", index=index)


def register(name: str, **meta: Any) -> Callable[[F], F]:
    """Class/function decorator that registers the decorated object as *name*.

    Keyword arguments are kept as metadata; ``kind`` and ``summary`` are used
    when describing the registry (write them as literals: the index reads them
    from the source).
    """

    def decorator(obj: F) -> F:
        _registry.register(name, obj, **meta)
        log.debug("registered %s -> %s.%s", name, obj.__module__, obj.__qualname__)
        return obj

    return decorator


def entry(name: str) -> Entry:
    """Return the description of *name*; raise :class:`UnknownTypeError` if none."""
    found = index().lookup(name)
    if found:
        return Entry(name, found[0].module, dict(found[0].metadata))
    if name in _registry:
        factory = _registry.get(name)
        return Entry(name, factory.__module__, _registry.meta(name))
    raise UnknownTypeError(name, names())


def get(name: str) -> Callable[..., Any]:
    """Return the class or factory registered as *name*, importing its module if needed."""
    try:
        return _registry.get(name)  # type: ignore[no-any-return]
    except RegistryError as exc:
        if index().lookup(name):  # declared, but its module failed to import
            raise
        raise UnknownTypeError(name, names()) from exc


def names() -> list[str]:
    """Return every type name a job spec can use, sorted."""
    return sorted(set(index().names()) | set(_registry.names()))


def entries() -> list[Entry]:
    """Return the description of every type, sorted by name (imports nothing)."""
    return [entry(name) for name in names()]


def build(spec_obj: Any) -> Any:
    """Recursively build a JSON job spec into objects.

    Any dict with an ``"@type"`` key becomes ``registry[type](**other_keys)``;
    nested dicts and lists are built first. Other values are returned as they
    are (dicts and lists are copied).
    """
    if isinstance(spec_obj, list):
        return [build(item) for item in spec_obj]
    if not isinstance(spec_obj, dict):
        return spec_obj
    if TYPE_KEY not in spec_obj:
        return {key: build(value) for key, value in spec_obj.items()}

    type_name = spec_obj[TYPE_KEY]
    if not isinstance(type_name, str):
        raise SpecBuildError(f"{TYPE_KEY} must be a string, not {type_name!r}")
    factory = get(type_name)
    kwargs = {key: build(value) for key, value in spec_obj.items() if key != TYPE_KEY}
    try:
        inspect.signature(factory).bind(**kwargs)
    except TypeError as exc:
        raise SpecBuildError(f"bad arguments for {type_name!r}: {exc}") from None
    log.debug("building %s(%s)", type_name, ", ".join(kwargs))
    try:
        return factory(**kwargs)
    except ValueError as exc:
        # Factories reject bad settings (an unknown option value, say) with ValueError.
        raise SpecBuildError(f"bad arguments for {type_name!r}: {exc}") from exc
