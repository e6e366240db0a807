"""`hotstart fix`: rewrite a project's imports from its audit, safely.

    from hotstart.fix import fix
    result = fix("src/mypkg", write=True, verify="pytest -q")

Deferrable imports move into the functions that use them (or become PEP 810 `lazy` imports,
or are listed in `__lazy_modules__`), typing-only ones go under `if TYPE_CHECKING:` with a
runtime alias, package re-exports become a lazy `__getattr__` with a `.pyi` stub, and dead
ones are removed. `verify` runs the project's tests and reverts the changes that break them.
libcst is imported only here.
"""

from __future__ import annotations

from ._fix import FixResult, fix

__all__ = ["fix", "FixResult"]
