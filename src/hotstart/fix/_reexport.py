"""Generated code for package re-exports and `__lazy_modules__`: the lazy `__getattr__` of a
package `__init__`, its `.pyi` stub, and `__lazy_modules__` declarations."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._imports import Statement

__all__ = ["lazy_init_code", "stub", "add_lazy_modules", "declared_lazy_modules",
           "bound_in_blocks", "wrapped"]


def wrapped(head: str, items: list[str], tail: str, limit: int, indent: str = "") -> str:
    """`head` + items joined by ", " + `tail` on one line when it fits `limit`, else one item
    per line (with a trailing comma), as black and ruff format it."""
    line = f"{indent}{head}{', '.join(items)}{tail}"
    if len(line) <= limit or not items:
        return line
    inner = "".join(f"{indent}    {item},\n" for item in items)
    return f"{indent}{head}\n{inner}{indent}{tail}"


def bound_in_blocks(tree: ast.Module) -> bool:
    """True if a module-level `if`/`try`/`with`/`for` binds public names."""
    for node in tree.body:
        if isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store) \
                        and not sub.id.startswith("_"):
                    return True
                if isinstance(sub, (ast.Import, ast.ImportFrom)) and any(
                        not (a.asname or a.name).startswith("_") for a in sub.names):
                    return True
    return False


def add_lazy_modules(code: str, modules: list[str], limit: int) -> str:
    from ..lazy import lazy_modules_declared
    from .codemods import parse

    declared = lazy_modules_declared(code)
    missing = [m for m in modules if m not in declared]
    if not missing:
        return code
    tree = parse(code)
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, ast.AnnAssign) and node.value is not None else []
        if any(isinstance(t, ast.Name) and t.id == "__lazy_modules__" for t in targets):
            # extend the existing literal: after its last element (a trailing comma and the
            # closing bracket stay where they are), or inside it when it is empty
            value = node.value
            assert isinstance(value, (ast.List, ast.Tuple, ast.Set))
            added = ", ".join(f'"{m}"' for m in missing)
            if value.elts:
                last = value.elts[-1]
                end, col, added = last.end_lineno, last.end_col_offset, ", " + added
            else:
                end, col = value.end_lineno, value.end_col_offset - 1
                added += "," if isinstance(value, ast.Tuple) else ""
            lines = code.splitlines(keepends=True)
            text = lines[end - 1].encode("utf-8")  # ast columns count UTF-8 bytes
            lines[end - 1] = (text[:col] + added.encode() + text[col:]).decode("utf-8")
            return "".join(lines)
    # new declaration after the docstring and __future__ imports, before other imports
    last = 0
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and last == 0:
            last = node.end_lineno or node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
            last = node.end_lineno or node.lineno
        else:
            break
    declaration = wrapped("__lazy_modules__ = [", [f'"{m}"' for m in missing], "]", limit)
    lines = code.splitlines(keepends=True)
    lines[last:last] = [f"\n# Imported lazily on Python 3.15+ (PEP 810), eagerly before.\n"
                        f"{declaration}\n"]
    return "".join(lines)


def declared_lazy_modules(source: str) -> list[str] | str:
    """The modules `source` lists in `__lazy_modules__`, or why it cannot be extended."""
    from ..lazy import lazy_modules_declared

    try:
        return lazy_modules_declared(source)
    except ValueError as exc:
        return f"__lazy_modules__ is not a literal list of strings ({exc}): add it by hand"


def lazy_init_code(items, runtime: str, top: set[str], limit: int,
                   bound_subs: list[str] = (), outside=()) -> tuple[str, bool]:
    """The lazy `__getattr__`/`__dir__` (and `__all__` when there was none) of a package
    `__init__`, and whether it needs `import hotstart.lazy` (the caller adds it among the
    module's imports). `bound_subs`: submodules the moved imports bound as a side effect,
    loaded on access too but not listed in `__all__`. `outside`: (name, absolute module,
    attribute) of names imported from outside the package (moved into functions, and
    re-exported lazily from where they come)."""
    all_items = list(items) + list(outside)
    absolute = {name for name, _m, _a in outside}
    items = list(items) + [(sub, sub, None) for sub in bound_subs]
    submodules = sorted({key for _n, key, attr in items if attr is None})
    attrs: dict[str, list[str]] = {}
    for _name, key, attr in items:
        if attr is not None:
            attrs.setdefault(key, []).append(attr)
    all_line = ""
    if "__all__" not in top:
        public = sorted(n for n in top if not n.startswith("_")
                        and n not in {name for name, _k, _a in items})
        names = sorted(set(public) | {name for name, _k, _a in all_items})
        all_line = wrapped("__all__ = [", [f'"{n}"' for n in names], "]", limit) + "\n"
    # hotstart.lazy.attach binds each name as the submodule or attribute is called; a
    # re-export under another name (`from .m import a as b`) needs the PEP 562 code below
    aliased = any(name != (key if attr is None else attr) for name, key, attr in items)
    aliased |= bool(absolute)  # attach() loads submodules of the package only
    comment = "# Re-exports load on first use (hotstart fix); __init__.pyi declares them.\n"
    if runtime == "hotstart" and not aliased:
        parts = ["__name__"]
        if submodules:
            parts.append("submodules=[" + ", ".join(f'"{s}"' for s in submodules) + "]")
        if attrs:
            parts.append("attrs={" + ", ".join(
                f'"{k}": [' + ", ".join(f'"{a}"' for a in v) + "]" for k, v in attrs.items())
                + "}")
        call = wrapped("__getattr__, __dir__ = hotstart.lazy.attach(", parts, ")[:2]", limit)
        return f"\n{comment}{call}\n{all_line}", True
    table = wrapped("_LAZY = {", [f'"{name}": (".{key}", {attr!r})'
                                  for name, key, attr in items]
                    + [f'"{name}": ("{module}", {attr!r})' for name, module, attr in outside],
                    "}", limit)
    return (
        f"\n{comment}{table}\n{all_line}\n\n"
        "def __getattr__(name):\n"
        "    try:\n"
        "        module, attr = _LAZY[name]\n"
        "    except KeyError:\n"
        "        message = f\"module {__name__!r} has no attribute {name!r}\"\n"
        "        raise AttributeError(message) from None\n"
        "    import importlib\n\n"
        "    value = importlib.import_module(module, __name__)\n"
        "    if attr is not None:\n"
        "        value = getattr(value, attr)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__():\n"
        "    return sorted(set(globals()) | set(_LAZY))\n\n"
    ), False


# -- the package's .pyi stub: declarations only ---------------------------------------------

#: Calls whose result a stub declares as written (type variables, new types).
_DECLARING_CALLS = ("TypeVar", "ParamSpec", "TypeVarTuple", "NewType", "NamedTuple",
                    "TypedDict", "TypeAliasType")
_LITERAL_TYPES = (bool, int, float, complex, str, bytes)


def stub(source: str, items: set[tuple[str, str, str | None]],
         sections: Callable[[Statement], int]) -> str:
    """The package `__init__.pyi`: what the original `__init__` declares, without bodies or
    statements that run: its imports (one sorted block; the lazy names and the package's own
    names as explicit `name as name` re-exports, so type checkers see them exported), classes
    and functions with `...` bodies, variables as `name: type`, `__all__`, type variables and
    aliases as written."""
    from ._imports import format_block, parse_statements
    from .codemods import parse

    tree = parse(source)
    lazy = {name for name, _k, _a in items}
    body = _declarations(tree.body, lazy, module_level=True)
    imports = [node for node in body if isinstance(node, (ast.Import, ast.ImportFrom))]
    rest = [node for node in body if not isinstance(node, (ast.Import, ast.ImportFrom))]
    if any(isinstance(n, ast.Name) and n.id == "Incomplete" for node in rest
           for n in ast.walk(node)):
        imports.append(ast.ImportFrom("_typeshed", [ast.alias("Incomplete")], 0))
    parts = format_block(parse_statements("\n".join(ast.unparse(n) for n in imports)),
                         sections) if imports else []
    if parts and rest:
        parts.append("")  # a blank line after the import block, as isort wants
    parts.extend(ast.get_source_segment(source, node) or ast.unparse(node)
                 if getattr(node, "_verbatim", False) else ast.unparse(node) for node in rest)
    header = "# Type information for the lazily re-exported names (written by hotstart fix).\n"
    return header + "\n".join(parts) + ("\n" if parts else "")


def _declarations(body: list[ast.stmt], lazy: set[str], module_level: bool) -> list[ast.stmt]:
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if module_level:
                out.append(_reexported(node, lazy))
        elif isinstance(node, (ast.If, ast.Try)) or type(node).__name__ == "TryStar":
            out.extend(_declarations(node.body, lazy, module_level))  # the first branch
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            args.defaults = [ast.Constant(...) for _ in args.defaults]
            args.kw_defaults = [None if d is None else ast.Constant(...)
                                for d in args.kw_defaults]
            node.body = [ast.Expr(ast.Constant(...))]
            out.append(node)
        elif isinstance(node, ast.ClassDef):
            node.body = _declarations(node.body, lazy, module_level=False) or \
                [ast.Expr(ast.Constant(...))]
            out.append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out.append(ast.AnnAssign(node.target, node.annotation, None, 1))
        elif isinstance(node, ast.Assign):
            out.extend(_variable(target, node) for target in node.targets
                       if isinstance(target, ast.Name))
    return out


def _reexported(node: ast.Import | ast.ImportFrom, lazy: set[str]) -> ast.stmt:
    """A module-level import as a stub writes an export: `name as name`."""
    own = isinstance(node, ast.ImportFrom) and node.level > 0
    for alias in node.names:
        if alias.asname is None and alias.name != "*" and (
                alias.name in lazy or (own and not alias.name.startswith("_"))):
            alias.asname = alias.name
    return node


def _variable(target: ast.Name, statement: ast.Assign) -> ast.stmt:
    name, value, targets = target.id, statement.value, statement.targets
    called = ""
    if isinstance(value, ast.Call):
        func = value.func
        called = func.id if isinstance(func, ast.Name) else \
            func.attr if isinstance(func, ast.Attribute) else ""
    if name == "__all__" or _type_expression(value) or called in _DECLARING_CALLS:
        kept = ast.Assign([ast.Name(name, ast.Store())], value, lineno=1)
        if len(targets) == 1:  # as written (quotes, layout)
            kept.lineno, kept.col_offset = statement.lineno, statement.col_offset
            kept.end_lineno, kept.end_col_offset = statement.end_lineno, statement.end_col_offset
            kept._verbatim = True  # type: ignore[attr-defined]
        return kept
    if isinstance(value, ast.Constant) and type(value.value) in _LITERAL_TYPES:
        annotation: ast.expr = ast.Name(type(value.value).__name__)
    elif isinstance(value, ast.Constant) and value.value is None:
        annotation = ast.Constant(None)
    else:
        annotation = ast.Name("Incomplete")
    return ast.AnnAssign(ast.Name(name, ast.Store()), annotation, None, 1)


def _type_expression(value: ast.expr) -> bool:
    """Whether `value` reads as a type alias (a name, `a.b`, `X[...]`, `X | Y`)."""
    if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
        return True
    return isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr) and \
        _type_expression(value.left) and _type_expression(value.right)
