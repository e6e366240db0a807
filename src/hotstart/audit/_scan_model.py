"""What a scan of one module records (`ModuleScan` and its parts), and the small syntax
helpers every pass shares: relative-import resolution, dotted names, guards."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from .model import ImportSite, Use

__all__ = ["FunctionInfo", "Annotated", "Effect", "ModuleScan", "parse_source",
           "resolve_relative", "dotted"]

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)


@dataclass(slots=True)
class FunctionInfo:
    """A module-level function or method: what it calls (dotted, resolved through imports)."""

    qualname: str
    line: int
    calls: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class Annotated:
    """A class or function defined at import whose annotations a library may read at run
    time: its decorators (`name`, or `name()` when called) and bases, resolved through the
    module's imports, and the uses its field or signature annotations make."""

    kind: str  # "class" or "function"
    qualname: str
    line: int
    decorators: list[str] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    uses: list[tuple[str, Use]] = field(default_factory=list)


@dataclass(slots=True)
class Effect:
    line: int
    what: str
    strong: bool  # changes state outside the module (not just a module-level call)


@dataclass(slots=True)
class ModuleScan:
    name: str
    file: str          # as shown in reports
    path: str          # absolute
    is_package: bool
    lines: list[str]
    future_annotations: bool = False
    sites: list[ImportSite] = field(default_factory=list)
    #: Module-level name -> what it refers to (imports only), for resolving calls.
    bindings: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    #: Calls made while the module is imported: (callee, line, context).
    import_calls: list[tuple[str, int, str]] = field(default_factory=list)
    #: Line ranges of `if __name__ == "__main__":` bodies: a script's job, not import work.
    main_blocks: list[tuple[int, int]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    #: Classes whose subclassing runs code: they define `__init_subclass__`, or are
    #: metaclasses (derive from `type`); and each class's `metaclass=` (resolved).
    subclass_hooks: set[str] = field(default_factory=set)
    #: Module-level names bound to a call's result: name -> the callee (resolved).
    built: dict[str, str] = field(default_factory=dict)
    metaclasses: dict[str, str] = field(default_factory=dict)
    all_names: set[str] | None = None
    defined: set[str] = field(default_factory=set)
    #: (module, name, line): `from module import name` of a project module's name.
    from_imports: list[tuple[str, str, int]] = field(default_factory=list)
    #: (module, line): `from module import *`, which copies every public name of a
    #: project module without `__all__`, imports included.
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    #: Imports inside functions: (module, line) — already deferred.
    deferred: list[tuple[str, int]] = field(default_factory=list)
    #: For test files: ("module.Name", line) patched by the test.
    patches: list[tuple[str, int]] = field(default_factory=list)
    #: ("module.Name", line) for each `alias.Name` read through an imported name (tests too):
    #: moving `Name` out of `module` would break the read.
    attribute_reads: list[tuple[str, int]] = field(default_factory=list)
    #: Those of `attribute_reads` assigned to (`pkg.mod.Name = ...`): `mod.Name` changes
    #: after import, so a `from pkg.mod import Name` moved into a function would see it.
    attribute_writes: list[tuple[str, int]] = field(default_factory=list)
    #: Module-level names a function of the module binds again through `global` -> how.
    rebinders: dict[str, str] = field(default_factory=dict)
    #: Names deleted at module level (`del sub`) -> line: a package __init__ that deletes
    #: the submodule attribute an import bound needs that import where it is.
    deleted: dict[str, int] = field(default_factory=dict)
    lazy_lines: set[int] = field(default_factory=set)
    #: Classes and functions whose annotations a library may read at run time.
    annotated: list[Annotated] = field(default_factory=list)
    #: Module-level `name = callee(...)`: name -> resolved callee (`app = typer.Typer()`).
    instances: dict[str, str] = field(default_factory=dict)
    #: Calls that read an object's annotations: (resolved object, reader, line).
    annotation_readers: list[tuple[str, str, int]] = field(default_factory=list)


def parse_source(source: str, filename: str) -> tuple[ast.Module, set[int]]:
    """Parse `source`; PEP 810 `lazy import` lines are read as plain imports on any version
    and returned as the second item."""
    from ..lazy import _parse_any_version

    return _parse_any_version(source, filename)


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    if not level:
        return name or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    if name:
        return f"{base}.{name}" if base else name
    return base


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def is_main_guard(test: ast.AST) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(n, ast.Name) and n.id == "__name__" for n in sides)
            and any(isinstance(n, ast.Constant) and n.value == "__main__" for n in sides))


def is_type_checking(test: ast.AST) -> bool:
    name = dotted(test)
    return name is not None and name.split(".")[-1] == "TYPE_CHECKING"


def catches_import_error(handler: ast.excepthandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = [dotted(e) for e in (kind.elts if isinstance(kind, ast.Tuple) else [kind])]
    return any(n and n.split(".")[-1] in ("ImportError", "ModuleNotFoundError", "Exception",
                                         "BaseException") for n in names)
