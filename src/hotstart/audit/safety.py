"""Rules that keep `hotstart fix` from breaking working code, beyond "used at import".

Each rule pins an import where it is, with the reason printed in the audit:

- **namespaces handed to code**: `exec(code, globals())`, `eval(text)`, `globals()[name]`,
  `sys.modules[__name__]`... read module-level names the source never spells out, so every
  import of the module stays (a constant name pins only that name);
- **functions an import cannot move into**: numba, `torch.jit.script`, `jax.jit`, Cython
  compile the function's bytecode or source, where an `import` statement is unsupported
  (numba: `UnsupportedBytecodeError (IMPORT_NAME)`); `@overload` stubs, property setters and
  deleters share their qualified name with other `def`s (the move would copy the import into
  all of them); abstract and protocol stubs are declarations;
- **annotations read at run time**: pydantic, msgspec, attrs, `NamedTuple`, `TypedDict`,
  typer, FastAPI, `singledispatch` registration, `get_type_hints` on a project object resolve
  annotations by name in the module's namespace, so a `TYPE_CHECKING` import breaks them.

The tables here are read by `_scan` (per module) and `mark_runtime_annotations` (the project
pass, which follows base classes across modules).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._scan import Annotated, ModuleScan

__all__ = ["compiler", "unmovable", "annotation_reader", "scoped_effects",
           "mark_runtime_annotations", "mark_subclass_hooks", "IMPLICIT_NAMESPACE"]

#: Calls that run code in the caller's module namespace when given no mapping.
IMPLICIT_NAMESPACE = frozenset({"exec", "eval", "IPython.embed", "doctest.testmod"})

_NUMBA = frozenset({"jit", "njit", "vectorize", "guvectorize", "cfunc", "generated_jit",
                    "stencil", "jitclass", "overload", "overload_method", "overload_attribute",
                    "intrinsic", "register_jitable"})
_COMPILERS = frozenset({
    "torch.jit.script", "torch.jit.script_method", "torch.compile", "jax.jit", "jax.pmap",
    "jax.experimental.pjit.pjit", "cython.compile", "cython.cfunc", "cython.ccall",
    "cython.inline", "triton.jit", "taichi.kernel", "taichi.func", "cupyx.jit.rawkernel",
})
_OVERLOAD = frozenset({"typing.overload", "typing_extensions.overload"})
_ABSTRACT = frozenset({"abc.abstractmethod", "abc.abstractproperty", "abc.abstractclassmethod",
                       "abc.abstractstaticmethod"})
_PROTOCOL = frozenset({"typing.Protocol", "typing_extensions.Protocol"})

#: `with` managers that undo, on exit, the effects of calls made inside them.
_SCOPED = {
    "warnings.catch_warnings": ("warnings.",),
    "numpy.errstate": ("numpy.seterr",),
    "numpy.printoptions": ("numpy.set_printoptions",),
    "decimal.localcontext": ("decimal.",),
    "numpy.testing.suppress_warnings": ("warnings.",),
}

#: Base classes whose subclasses' field annotations are evaluated (exact names, then tops).
_MODEL_BASES = frozenset({"typing.NamedTuple", "typing_extensions.NamedTuple",
                          "typing.TypedDict", "typing_extensions.TypedDict",
                          "mypy_extensions.TypedDict"})
_MODEL_TOPS = frozenset({"pydantic", "pydantic_settings", "msgspec", "sqlmodel", "beanie",
                         "odmantic"})
#: Class decorators that read the field annotations (`dataclasses.dataclass` is special).
_CLASS_DECORATOR_TOPS = frozenset({"attr", "attrs", "pydantic", "strawberry"})
_DATACLASSES = frozenset({"dataclasses.dataclass", "flax.struct.dataclass", "chex.dataclass"})
_DATACLASS_NOTE = "(ClassVar/InitVar/KW_ONLY lookup)"
#: What `dataclasses.dataclass` looks up by name in a string annotation: `ClassVar`,
#: `InitVar`, `KW_ONLY`, or the module spelling them (`typing.ClassVar`).
_DATACLASS_LOOKUPS = frozenset({"typing", "typing_extensions", "dataclasses", "typing.ClassVar",
                                "typing_extensions.ClassVar", "dataclasses.InitVar",
                                "dataclasses.KW_ONLY"})
#: Function decorators that read the signature's annotations.
_FUNCTION_DECORATORS = frozenset({"pydantic.validate_call", "pydantic.validate_arguments",
                                  "beartype.beartype", "typeguard.typechecked"})
#: Methods of framework objects whose decorated functions' annotations are read.
_FRAMEWORK_METHODS = {
    "typer.Typer": ("typer command", {"command", "callback"}),
    "typer.main.Typer": ("typer command", {"command", "callback"}),
    "fastapi.FastAPI": ("FastAPI route", {"get", "post", "put", "patch", "delete", "head",
                                          "options", "trace", "api_route", "websocket"}),
    "fastapi.APIRouter": ("FastAPI route", {"get", "post", "put", "patch", "delete", "head",
                                            "options", "trace", "api_route", "websocket"}),
}
_FRAMEWORK_METHODS["fastapi.applications.FastAPI"] = _FRAMEWORK_METHODS["fastapi.FastAPI"]
_FRAMEWORK_METHODS["fastapi.routing.APIRouter"] = _FRAMEWORK_METHODS["fastapi.APIRouter"]
#: Calls that read the annotations of the objects passed to them.
_READER_CALLS = frozenset({
    "pydantic.TypeAdapter", "pydantic.type_adapter.TypeAdapter", "pydantic.parse_obj_as",
    "pydantic.tools.parse_obj_as", "pydantic.validate_call", "pydantic.create_model",
    "typing.get_type_hints", "typing_extensions.get_type_hints", "inspect.get_annotations",
    "attr.resolve_types", "attrs.resolve_types", "typer.run", "fastapi.Depends",
    "fastapi.Security", "fastapi.params.Depends", "dacite.from_dict",
})
_READER_TOPS = frozenset({"cattrs", "cattr", "msgspec"})


def compiler(name: str) -> str | None:
    """`name` (resolved) if it compiles the function it decorates or is given."""
    name = name.removesuffix("()")
    if name in _COMPILERS or (name.split(".")[0] == "numba"
                              and name.rsplit(".", 1)[-1] in _NUMBA):
        return name
    return None


def unmovable(node: ast.FunctionDef | ast.AsyncFunctionDef, decorators: list[str],
              class_bases: list[str]) -> str | None:
    """Why no import may be moved into this function, in words, or None."""
    for decorator in decorators:
        found = compiler(decorator)
        if found:
            return f"{found}-compiled function"
        bare = decorator.removesuffix("()")
        if bare in _OVERLOAD or bare == "overload":
            return "@overload stub"
        if bare.endswith((".setter", ".deleter")):
            return f"property {bare.rsplit('.', 1)[1]}"
    if not _is_stub(node.body):
        return None
    if any(d.removesuffix("()") in _ABSTRACT for d in decorators):
        return "abstract stub"
    if any(b in _PROTOCOL for b in class_bases):
        return "protocol stub"
    return None


def _is_stub(body: list[ast.stmt]) -> bool:
    for index, statement in enumerate(body):
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and (
                statement.value.value is Ellipsis
                or (index == 0 and isinstance(statement.value.value, str))):
            continue
        if isinstance(statement, ast.Raise) and statement.exc is not None:
            exc = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def scoped_effects(manager: str) -> tuple[str, ...]:
    """Callee prefixes whose effects the `with manager(...)` block undoes on exit."""
    return _SCOPED.get(manager, ())


def annotation_reader(callee: str) -> str | None:
    """`callee` if calling it reads the annotations of the objects passed to it."""
    if callee in _READER_CALLS or callee.split(".")[0] in _READER_TOPS:
        return callee
    return None


# -- the project pass ------------------------------------------------------------------------

def mark_runtime_annotations(scans: dict[str, ModuleScan]) -> None:
    """Turn the annotation uses that some library reads at run time into pins
    (`annotation-read`), following base classes and re-exports across the project."""
    index: dict[str, tuple[ModuleScan, Annotated]] = {}
    for scan in scans.values():
        for info in scan.annotated:
            index.setdefault(f"{scan.name}.{info.qualname}", (scan, info))
    readers: dict[str, str] = {}
    memo: dict[str, str | None] = {}
    for full, (scan, info) in index.items():
        reader = (_class_reader(full, index, scans, memo) if info.kind == "class"
                  else _function_reader(scan, info, scans))
        if reader is not None:
            readers[full] = reader
    for scan in scans.values():
        for target, reader, _line in scan.annotation_readers:
            full = _follow(target, scans, index)
            if full is not None and full not in readers:
                readers[full] = f"{reader}() on"
    for full, reader in readers.items():
        scan, info = index[full]
        dataclass_only = _DATACLASS_NOTE in reader
        for name, use in info.uses:
            if use.context != "annotation":
                continue
            if dataclass_only and scan.bindings.get(name) not in _DATACLASS_LOOKUPS:
                continue
            use.context = "annotation-read"
            use.detail = (f"annotation read at run time by {reader} {info.qualname} "
                          f"({scan.file}:{info.line})")


def mark_subclass_hooks(scans: dict[str, ModuleScan]) -> None:
    """A class statement whose project base defines `__init_subclass__` (or whose
    metaclass is a project class) runs that code at import, often a registration: an effect
    of its module, so importing the module later would register later. In a project that
    names `__subclasses__` anywhere, defining any subclass of a project class is one."""
    from ._scan import Effect

    index: dict[str, tuple[ModuleScan, Annotated]] = {}
    for scan in scans.values():
        for info in scan.annotated:
            if info.kind == "class":
                index.setdefault(f"{scan.name}.{info.qualname}", (scan, info))
    memo: dict[str, bool] = {}

    def hooked(full: str) -> bool:
        if full not in memo:
            memo[full] = False  # a cycle of bases runs nothing
            scan, info = index[full]
            parents = [_follow(b, scans, index) for b in
                       (*info.bases, scan.metaclasses.get(info.qualname, ""))]
            memo[full] = info.qualname in scan.subclass_hooks or any(
                p is not None and hooked(p) for p in parents)
        return memo[full]

    lister = _lists_subclasses(scans)
    for scan, info in index.values():
        meta = scan.metaclasses.get(info.qualname)
        for base in (*info.bases, meta or ""):
            registry = _registering_base(base, scans, index)
            if registry is not None:
                scan.effects.append(Effect(info.line, f"defines {info.qualname} on "
                                           f"{registry} at line {info.line}", True))
                break
            parent = _follow(base, scans, index)
            if parent is not None and hooked(parent):
                hook = "metaclass" if base == meta else "__init_subclass__ of"
                scan.effects.append(Effect(info.line, f"defines {info.qualname}, running the "
                                           f"{hook} {parent} at line {info.line}", True))
                break
            if parent is not None and lister is not None:
                # `Plugin.__subclasses__()` finds the plugins whose modules were imported
                scan.effects.append(Effect(info.line, f"defines {info.qualname}, a subclass "
                                           f"of {parent}, which {lister} lists with "
                                           f"__subclasses__() (line {info.line})", True))
                break


def _lists_subclasses(scans: dict[str, ModuleScan]) -> str | None:
    """Where a project module names `__subclasses__` (file:line), if one does: then
    defining a subclass of any project class is visible, and an effect (a plugin found by
    `Base.__subclasses__()` is there only if its module was imported)."""
    for scan in scans.values():
        for number, line in enumerate(scan.lines, 1):
            if "__subclasses__" in line:
                return f"{scan.file}:{number}"
    return None


#: Library bases whose subclasses are registered when defined (their `__init_subclass__` or
#: metaclass files the class where other code finds it): a models module imported for that.
REGISTERING_BASES = {
    "sqlalchemy.orm.DeclarativeBase": "SQLAlchemy's mapper registry",
    "sqlalchemy.orm.DeclarativeBaseNoMeta": "SQLAlchemy's mapper registry",
    "sqlalchemy.orm.decl_api.DeclarativeBase": "SQLAlchemy's mapper registry",
    "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta": "SQLAlchemy's mapper registry",
    "sqlalchemy.orm.MappedAsDataclass": "SQLAlchemy's mapper registry",
    "django.db.models.Model": "Django's app registry",
    "django.db.models.base.Model": "Django's app registry",
}
#: Library calls whose result is such a base (`Base = declarative_base()`), or an object
#: holding one (`db = SQLAlchemy()`, then `class User(db.Model)`).
REGISTERING_FACTORIES = {
    "sqlalchemy.orm.declarative_base": "SQLAlchemy's mapper registry",
    "sqlalchemy.orm.decl_api.declarative_base": "SQLAlchemy's mapper registry",
    "sqlalchemy.ext.declarative.declarative_base": "SQLAlchemy's mapper registry",
    "flask_sqlalchemy.SQLAlchemy": "Flask-SQLAlchemy's mapper registry",
    "flask_sqlalchemy.extension.SQLAlchemy": "Flask-SQLAlchemy's mapper registry",
}


def _registering_base(target: str, scans: dict[str, ModuleScan],
                      index: dict[str, tuple[ModuleScan, Annotated]]) -> str | None:
    """What registers a class defined on `target`, if anything does: a library base of
    `REGISTERING_BASES`, or a name the project binds to the result of a call of
    `REGISTERING_FACTORIES` (`Base = declarative_base()`; `db = SQLAlchemy()`, then
    `db.Model`). Library bases are otherwise not read: a table, not a proof."""
    for _hop in range(8):
        if target in REGISTERING_BASES:
            return f"{target} ({REGISTERING_BASES[target]})"
        if not target or target in index:
            return None
        parts = target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module, name = ".".join(parts[:cut]), parts[cut]
            scan = scans.get(module)
            if scan is None:
                continue
            if name in scan.bindings:  # an import: follow it
                target = ".".join([scan.bindings[name], *parts[cut + 1:]])
                break
            factory = scan.built.get(name)
            if factory in REGISTERING_FACTORIES:
                return f"{'.'.join(parts[:cut + 1])}, built by {factory}() " \
                    f"({REGISTERING_FACTORIES[factory]})"
            return None
        else:
            return None
    return None


def _follow(target: str, scans: dict[str, ModuleScan],
            index: dict[str, tuple[ModuleScan, Annotated]]) -> str | None:
    """The project object `target` names, through re-exports (`from .models import User`)."""
    for _hop in range(8):
        if target in index:
            return target
        module, _, name = target.rpartition(".")
        scan = scans.get(module)
        if scan is None or name not in scan.bindings:
            return None
        target = scan.bindings[name]
    return None


def _class_reader(full: str, index: dict[str, tuple[ModuleScan, Annotated]],
                  scans: dict[str, ModuleScan], memo: dict[str, str | None]) -> str | None:
    if full in memo:
        return memo[full]
    memo[full] = None  # a cycle of bases reads nothing
    _scan, info = index[full]
    found = None
    for decorator in info.decorators:
        bare = decorator.removesuffix("()")
        if bare in _DATACLASSES:
            found = f"@{bare} {_DATACLASS_NOTE} class"
        elif bare.split(".")[0] in _CLASS_DECORATOR_TOPS:
            found = f"@{bare} class"
        if found:
            break
    for base in info.bases if found is None else ():
        if base in _MODEL_BASES or base.split(".")[0] in _MODEL_TOPS:
            found = f"{base} subclass"
            break
        parent = _follow(base, scans, index)
        if parent is not None and index[parent][1].kind == "class":
            inherited = _class_reader(parent, index, scans, memo)
            if inherited is not None and inherited.endswith(" subclass"):
                found = inherited  # a decorator reads its own class only, not subclasses
                break
    memo[full] = found
    return found


def _function_reader(scan: ModuleScan, info: Annotated,
                     scans: dict[str, ModuleScan]) -> str | None:
    for decorator in info.decorators:
        bare = decorator.removesuffix("()")
        if bare in _FUNCTION_DECORATORS:
            return f"@{bare} function"
        owner, _, method = bare.rpartition(".")
        if method == "register" and not decorator.endswith("()"):
            return "singledispatch registration"
        kind = _framework(owner, scans)
        if kind is not None and method in _FRAMEWORK_METHODS[kind][1]:
            return f"{_FRAMEWORK_METHODS[kind][0]}"
    return None


def _framework(owner: str, scans: dict[str, ModuleScan]) -> str | None:
    """The framework class `owner` (a module-level object, maybe re-exported) is made by."""
    for _hop in range(8):
        module, _, name = owner.rpartition(".")
        scan = scans.get(module)
        if scan is None:
            return None
        made = scan.instances.get(name)
        if made is not None:
            return made if made in _FRAMEWORK_METHODS else None
        if name not in scan.bindings:
            return None
        owner = scan.bindings[name]
    return None
