"""Registries that import plugins on demand, from a static index of their source.

    >>> from hotstart.registry import Index, Registry
    >>> plugins = Registry("plugins", index=lambda: Index.build("jobrunner.plugins"))
    >>> plugins.get("zscore")      # imports jobrunner.plugins.stats, which registers it

- `Index` (``hotstart.registry.index``): scans a package's source with ``ast``, without
  importing it, for ``@register("name")`` sites; cached on disk.
- `Registry` (``hotstart.registry.registry``): ``register`` / ``get``; a miss imports the
  module the index names, then tries prefix resolvers, then raises a one-line `RegistryError`.
- `check_index`: a parity test helper (the index and the registry agree).

Importing this package is free: the names below load on first use (PEP 562), and
``from hotstart.registry import Registry`` does not load the scanner (``ast``, ``json``, ...).
"""

import hotstart.lazy

__getattr__, __dir__, __all__ = hotstart.lazy.attach(
    __name__,
    submodules=["index", "registry", "spec"],
    attrs={
        "registry": ["Registry", "RegistryError", "attribute_resolver", "check_index"],
        "index": ["Index", "Matcher", "Entry", "IndexWarning", "default_cache_dir"],
    },
)

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from .index import Entry, Index, IndexWarning, Matcher, default_cache_dir
    from .registry import Registry, RegistryError, attribute_resolver, check_index
