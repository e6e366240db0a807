"""The libcst codemods: rewrite one file's source for a set of `Change`s.

Every edit keeps the rest of the file byte for byte (comments, blank lines, quotes), and
running the fix again on its output changes nothing: moved imports live in functions, typing
imports under `if TYPE_CHECKING:`, lazy ones are `lazy` or listed, and the audit does not
list any of those.
"""

from __future__ import annotations

import ast
from collections import defaultdict

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from .plan import Change

__all__ = ["rewrite", "MARK"]

#: Marks an import moved into a function, so that tidy-up tools and people leave it there.
MARK = "# deferred by hotstart fix: keeps start-up lean"


class FileResult:
    def __init__(self, source: str, stub: str | None, skipped: list[tuple[Change, str]]):
        self.source = source
        self.stub = stub
        self.skipped = skipped


def _bound(alias: cst.ImportAlias, kind: str) -> str:
    if alias.asname is not None:
        return alias.asname.name.value  # type: ignore[union-attr]
    name = cst.Module([]).code_for_node(alias.name)
    return name.split(".")[0] if kind == "import" else name


class _Aliases(cst.CSTVisitor):
    """Pass 1: the source text of each import alias, by (line, bound name)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.found: dict[tuple[int, str], tuple[str, str, str]] = {}
        self.code = cst.Module([]).code_for_node

    def visit_Import(self, node: cst.Import) -> None:
        line = self.get_metadata(PositionProvider, node).start.line
        for alias in node.names:
            text = self.code(alias.name) + (f" as {alias.asname.name.value}"  # type: ignore
                                            if alias.asname else "")
            self.found[(line, _bound(alias, "import"))] = ("import", "", text)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        line = self.get_metadata(PositionProvider, node).start.line
        module = "." * len(node.relative) + (self.code(node.module) if node.module else "")
        for alias in node.names:
            text = self.code(alias.name) + (f" as {alias.asname.name.value}"  # type: ignore
                                            if alias.asname else "")
            self.found[(line, _bound(alias, "from"))] = ("from", module, text)


def _statement(kind: str, module: str, texts: list[str], lazy: bool = False) -> str:
    prefix = "lazy " if lazy else ""
    if kind == "import":
        return f"{prefix}import {', '.join(texts)}"
    return f"{prefix}from {module} import {', '.join(texts)}"


def rewrite(source: str, changes: list[Change], *, runtime: str, package: str | None,
            has_stub: bool = False) -> FileResult:
    """Apply `changes` (all in one file) to `source`. `package`: the package name when the
    file is a package `__init__`."""
    skipped: list[tuple[Change, str]] = []
    tree = _parse(source)
    top = _top_bindings(tree)
    kept: list[Change] = []
    for change in changes:
        if change.action == "lazy-init":
            if "__getattr__" in top:
                skipped.append((change, "the package __init__ already defines __getattr__"))
                continue
            if "__all__" not in top and "*" in top:
                skipped.append((change, "no __all__, and a `from ... import *`: a generated "
                                        "__all__ could not list the names it binds, so "
                                        "`import *` would change; write __all__ first"))
                continue
            if "__all__" not in top and _bound_in_blocks(tree):
                skipped.append((change, "no __all__, and names bound inside module-level "
                                        "blocks: `import *` would change; write __all__ "
                                        "first"))
                continue
            if has_stub:
                skipped.append((change, "an __init__.pyi exists already; merge the names by "
                                        "hand"))
                continue
        kept.append(change)
    changes = kept
    if not changes:
        return FileResult(source, None, skipped)

    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module)
    aliases = _Aliases()
    wrapper.visit(aliases)

    leaving: dict[int, set[str]] = defaultdict(set)
    lazy_after: dict[int, list[str]] = defaultdict(list)
    moves: dict[str, list[str]] = defaultdict(list)
    checking: list[str] = []
    runtime_aliases: list[str] = []
    lazy_modules: list[str] = []
    lazy_init: list[tuple[str, str, str | None]] = []  # (name, submodule key, attr or None)
    needs_hotstart = False
    declared: list[str] | str | None = None  # __lazy_modules__ of `source`, or why not

    for change in changes:
        site = change.site
        names = [b.name for b in site.names]
        if change.action != "lazy-modules":  # the only change that keeps the statement
            leaving[site.line].update(names)
        found = [aliases.found.get((site.line, n)) for n in names]
        if any(f is None for f in found):
            skipped.append((change, "the statement is not where the audit saw it (re-run)"))
            leaving[site.line].difference_update(names)
            continue
        kind, module_text = found[0][0], found[0][1]  # type: ignore[index]
        texts = [f[2] for f in found]  # type: ignore[index]
        if change.action == "lazy":
            lazy_after[site.line].append(_statement(kind, module_text, texts, lazy=True))
        elif change.action == "lazy-modules":
            module_name = site.imported
            if declared is None:
                declared = _declared_lazy_modules(source)
            if isinstance(declared, str):
                skipped.append((change, declared))
                continue
            if module_name in declared:
                skipped.append((change, f"{module_name} is listed in __lazy_modules__ already"))
                continue
            if module_name not in lazy_modules:
                lazy_modules.append(module_name)
        elif change.action == "move":
            for bound, text in zip(site.names, texts):
                for scope in sorted({u.scope for u in bound.uses if u.scope}):
                    moves[scope].append(_statement(kind, module_text, [text]))
            annotated = [t for b, t in zip(site.names, texts) if b.name in change.annotated]
            if annotated:
                checking.append(_statement(kind, module_text, annotated))
                for bound in site.names:
                    if bound.name in change.annotated:
                        alias, hot = _runtime_alias(site, bound, runtime)
                        runtime_aliases.append(alias)
                        needs_hotstart |= hot
        elif change.action == "type-checking":
            checking.append(_statement(kind, module_text, texts))
            for bound in site.names:
                alias, hot = _runtime_alias(site, bound, runtime)
                runtime_aliases.append(alias)
                needs_hotstart |= hot
        elif change.action == "lazy-init":
            for bound in site.names:
                if site.imported == package or bound.is_module:  # a submodule
                    lazy_init.append((bound.name, bound.target[len(package) + 1:], None))
                else:
                    key = site.imported[len(package) + 1:]  # type: ignore[arg-type]
                    attr = bound.target.rsplit(".", 1)[1]
                    lazy_init.append((bound.name, key, attr))
        # "remove": leaving the statement is all

    transformer = _Rewriter(leaving, lazy_after, moves)
    updated = wrapper.visit(transformer)
    blocks: list[str] = []
    if checking:
        wanted = [n for n in ("TYPE_CHECKING",) if n not in top]
        if any("ForwardRef(" in a for a in runtime_aliases) and "ForwardRef" not in top:
            wanted.append("ForwardRef")
        if wanted:
            blocks.append(f"from typing import {', '.join(wanted)}\n")
        body = "".join(f"    {line}\n" for line in dict.fromkeys(checking))
        block = f"\nif TYPE_CHECKING:\n{body}"
        if runtime_aliases:
            block += ("else:  # runtime aliases: typing.get_type_hints resolves them on use\n")
            if needs_hotstart:
                block += "    import hotstart.lazy\n\n"
            block += "".join(f"    {a}\n" for a in dict.fromkeys(runtime_aliases))
        blocks.append(block)
    if lazy_init:
        blocks.append(_lazy_init_code(lazy_init, runtime, top))
    code = updated.code
    if blocks:
        code = _insert_after_imports(code, "".join(blocks))
    if lazy_modules:
        code = _add_lazy_modules(code, lazy_modules)
    stub = None
    if lazy_init and package is not None:
        stub = _stub(source, {(n, k, a) for n, k, a in lazy_init})
    return FileResult(code, stub, skipped)


def _runtime_alias(site, bound, runtime: str) -> tuple[str, bool]:
    if site.kind == "import" or bound.is_module:
        module = bound.target
        return f'{bound.name} = hotstart.lazy.lazy_import("{module}")', True
    module, _, attr = bound.target.rpartition(".")
    ref = f"__import__('{module}', fromlist=['{attr}']).{attr}"
    return f'{bound.name} = ForwardRef("{ref}")', False


class _Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, leaving, lazy_after, moves) -> None:
        super().__init__()
        self.leaving = leaving
        self.lazy_after = lazy_after
        self.moves = moves
        self.scope: list[str] = []

    # which function we are in
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.append(node.name.value)

    def leave_ClassDef(self, original, updated):
        self.scope.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.append(node.name.value)

    def leave_FunctionDef(self, original, updated):
        qualname = ".".join(self.scope)
        self.scope.pop()
        statements = self.moves.get(qualname)
        if not statements:
            return updated
        new = [cst.parse_statement(f"{s}  {MARK}\n") for s in dict.fromkeys(statements)]
        body = updated.body
        if isinstance(body, cst.SimpleStatementSuite):
            inner = [cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel
                                                                  .DEFAULT)])
                     for s in body.body]
            body = cst.IndentedBlock(body=inner)
        items = list(body.body)
        index = 1 if items and _is_docstring(items[0]) else 0
        items[index:index] = new
        return updated.with_changes(body=body.with_changes(body=items))

    # import statements
    def leave_SimpleStatementLine(self, original, updated):
        line = self.get_metadata(PositionProvider, original).start.line
        names = self.leaving.get(line)
        lazy = self.lazy_after.get(line)
        if not names and not lazy:
            return updated
        kept = []
        for small in updated.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and names and not isinstance(
                    small.names, cst.ImportStar):
                kind = "import" if isinstance(small, cst.Import) else "from"
                rest = [a for a in small.names if _bound(a, kind) not in names]
                if not rest:
                    continue
                if len(rest) != len(small.names):
                    last = rest[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
                    small = small.with_changes(names=[*rest[:-1], last])
            kept.append(small)
        out: list[cst.BaseStatement] = []
        if kept:
            kept[-1] = kept[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            out.append(updated.with_changes(body=kept))
        for statement in lazy or ():
            parsed = cst.parse_statement(statement + "\n")
            if not out:  # keep the comments above and after the statement it replaces
                parsed = parsed.with_changes(leading_lines=updated.leading_lines,
                                             trailing_whitespace=updated.trailing_whitespace)
            out.append(parsed)
        if not out:  # removed: the parent block passes its blank lines and comments on
            return updated.with_changes(body=[cst.Expr(cst.Name(_REMOVED))])
        return cst.FlattenSentinel(out) if len(out) > 1 else out[0]

    def leave_IndentedBlock(self, original, updated):
        body = _drop_removed(updated.body)
        if not body:
            body = [cst.SimpleStatementLine([cst.Pass()])]
        return updated.with_changes(body=body)

    def leave_Module(self, original, updated):
        return updated.with_changes(body=_drop_removed(updated.body))


_REMOVED = "__hotstart_removed__"


def _removed(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, cst.Name)
            and statement.body[0].value.value == _REMOVED)


def _drop_removed(body) -> list:
    """Drop removed statements; the next statement inherits their leading blank lines and
    comments when it has none of its own."""
    out: list = []
    carry = None
    for statement in body:
        if _removed(statement):
            carry = statement.leading_lines if carry is None else carry
            continue
        if carry is not None and hasattr(statement, "leading_lines"):
            if not statement.leading_lines:
                statement = statement.with_changes(leading_lines=carry)
            carry = None
        out.append(statement)
    return out


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and isinstance(statement.body[0], cst.Expr)
            and isinstance(statement.body[0].value, (cst.SimpleString,
                                                     cst.ConcatenatedString)))


def _top_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def _bound_in_blocks(tree: ast.Module) -> bool:
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


def _insert_after_imports(code: str, block: str) -> str:
    """Insert `block` after the module's leading imports (docstring, `__future__`, imports,
    and the `if`/`try` blocks among them)."""
    tree = _parse(code)
    last = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno or node.lineno
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and last == 0:
            last = node.end_lineno or node.lineno
        elif isinstance(node, (ast.If, ast.Try)) and all(
                isinstance(n, (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign))
                for n in ast.walk(node) if isinstance(n, ast.stmt) and n is not node):
            last = node.end_lineno or node.lineno
        else:
            break
    lines = code.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    insert = block if block.endswith("\n") else block + "\n"
    lines[last:last] = [insert]
    return "".join(lines)


def _parse(code: str) -> ast.Module:
    """The module's syntax tree on any supported version (PEP 810 `lazy` read as plain)."""
    from ..lazy import _parse_any_version

    return _parse_any_version(code, "<fix>")[0]


def _add_lazy_modules(code: str, modules: list[str]) -> str:
    from ..lazy import lazy_modules_declared

    declared = lazy_modules_declared(code)
    missing = [m for m in modules if m not in declared]
    if not missing:
        return code
    tree = _parse(code)
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
    listed = ", ".join(f'"{m}"' for m in missing)
    lines = code.splitlines(keepends=True)
    lines[last:last] = [f"\n# Imported lazily on Python 3.15+ (PEP 810), eagerly before.\n"
                        f"__lazy_modules__ = [{listed}]\n"]
    return "".join(lines)


def _declared_lazy_modules(source: str) -> list[str] | str:
    """The modules `source` lists in `__lazy_modules__`, or why it cannot be extended."""
    from ..lazy import lazy_modules_declared

    try:
        return lazy_modules_declared(source)
    except ValueError as exc:
        return f"__lazy_modules__ is not a literal list of strings ({exc}): add it by hand"


def _lazy_init_code(items, runtime: str, top: set[str]) -> str:
    submodules = sorted({key for _n, key, attr in items if attr is None})
    attrs: dict[str, list[str]] = {}
    for _name, key, attr in items:
        if attr is not None:
            attrs.setdefault(key, []).append(attr)
    has_all = "__all__" in top
    all_line = ""
    if not has_all:
        public = sorted(n for n in top if not n.startswith("_")
                        and n not in {name for name, _k, _a in items})
        names = sorted(set(public) | {name for name, _k, _a in items})
        all_line = "__all__ = [" + ", ".join(f'"{n}"' for n in names) + "]\n"
    # hotstart.lazy.attach binds each name as the submodule or attribute is called; a
    # re-export under another name (`from .m import a as b`) needs the PEP 562 code below
    aliased = any(name != (key if attr is None else attr) for name, key, attr in items)
    if runtime == "hotstart" and not aliased:
        parts = ["__name__"]
        if submodules:
            parts.append("submodules=[" + ", ".join(f'"{s}"' for s in submodules) + "]")
        if attrs:
            parts.append("attrs={" + ", ".join(
                f'"{k}": [' + ", ".join(f'"{a}"' for a in v) + "]" for k, v in attrs.items())
                + "}")
        return ("\nimport hotstart.lazy\n\n"
                "# Re-exports load on first use (hotstart fix); __init__.pyi declares them.\n"
                f"__getattr__, __dir__ = hotstart.lazy.attach({', '.join(parts)})[:2]\n"
                + all_line)
    table = ", ".join(f'"{name}": (".{key}", {attr!r})' for name, key, attr in items)
    return (
        "\n# Re-exports load on first use (PEP 562, hotstart fix); __init__.pyi declares them.\n"
        f"_LAZY = {{{table}}}\n" + all_line + "\n\n"
        "def __getattr__(name):\n"
        "    try:\n"
        "        module, attr = _LAZY[name]\n"
        "    except KeyError:\n"
        "        raise AttributeError(f\"module {__name__!r} has no attribute {name!r}\") "
        "from None\n"
        "    import importlib\n\n"
        "    value = importlib.import_module(module, __name__)\n"
        "    if attr is not None:\n"
        "        value = getattr(value, attr)\n"
        "    globals()[name] = value\n"
        "    return value\n\n\n"
        "def __dir__():\n"
        "    return sorted(set(globals()) | set(_LAZY))\n"
    )


def _stub(source: str, items: set[tuple[str, str, str | None]]) -> str:
    """The package `__init__.pyi`: the original module, with each lazy re-export written as
    an explicit `name as name` import so type checkers keep seeing it."""
    lazy_names = {name for name, _k, _a in items}
    module = cst.parse_module(source)

    class _Explicit(cst.CSTTransformer):
        def leave_ImportAlias(self, original, updated):
            name = _bound(updated, "from")
            if name in lazy_names and updated.asname is None and isinstance(updated.name,
                                                                             cst.Name):
                return updated.with_changes(asname=cst.AsName(name=cst.Name(name)))
            return updated

    header = "# Type information for the lazily re-exported names (written by hotstart fix).\n"
    return header + module.visit(_Explicit()).code
