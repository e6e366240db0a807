"""Registry of the building blocks a job spec can refer to by name.

Plugins register classes or factory functions under a short name::

    @register("dropna", summary="Drop rows with missing values.")
    class DropNa: ...

and :func:`build` instantiates every ``{"@type": "dropna", ...}`` object found
in a job spec, passing the remaining keys as keyword arguments.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from jobrunner.log import get_logger

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
    """A registered type: its name, the callable that builds it and metadata."""

    name: str
    factory: Callable[..., Any]
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """What the type is used for: "source", "step", "sink" or "pipeline"."""
        return str(self.meta.get("kind", "step"))

    @property
    def summary(self) -> str:
        """One-line description: the ``summary`` metadata or the docstring's first line."""
        summary = self.meta.get("summary")
        if summary:
            return str(summary)
        doc = inspect.getdoc(self.factory) or ""
        return doc.splitlines()[0] if doc else ""


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


_registry: dict[str, Entry] = {}


def register(name: str, **meta: Any) -> Callable[[F], F]:
    """Class/function decorator that registers the decorated object as *name*.

    Keyword arguments are kept as metadata; ``kind`` and ``summary`` are used
    when describing the registry.
    """

    def decorator(obj: F) -> F:
        existing = _registry.get(name)
        if existing is not None and existing.factory is not obj:
            raise ValueError(f"type {name!r} is already registered by {existing.factory!r}")
        _registry[name] = Entry(name, obj, dict(meta))
        log.debug("registered %s -> %s.%s", name, obj.__module__, obj.__qualname__)
        return obj

    return decorator


def entry(name: str) -> Entry:
    """Return the registry entry for *name*; raise :class:`UnknownTypeError` if none."""
    try:
        return _registry[name]
    except KeyError:
        raise UnknownTypeError(name, names()) from None


def get(name: str) -> Callable[..., Any]:
    """Return the class or factory registered as *name*."""
    return entry(name).factory


def names() -> list[str]:
    """Return every registered name, sorted."""
    return sorted(_registry)


def entries() -> list[Entry]:
    """Return every registry entry, sorted by name."""
    return [_registry[name] for name in names()]


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
