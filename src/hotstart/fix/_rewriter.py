"""The libcst pass of the codemods: drop import names from their statements, put moved
imports at the top of the functions that use them, write `lazy` imports in place."""

from __future__ import annotations

import libcst as cst
from libcst.metadata import PositionProvider

from ._imports import Sections, format_block, parse_statements

__all__ = ["Aliases", "Rewriter", "bound_name", "load_statement", "plain_module",
           "statement_text", "MARK"]

#: Above imports moved into a function, so that tidy-up tools and people leave them there. A
#: line of its own: a trailing comment would push the import past the line length, and isort
#: moves trailing comments about. Dropped where the indented comment would be too long.
MARK = "# deferred by hotstart fix"


def bound_name(alias: cst.ImportAlias, kind: str) -> str:
    if alias.asname is not None:
        return alias.asname.name.value  # type: ignore[union-attr]
    name = cst.Module([]).code_for_node(alias.name)
    return name.split(".")[0] if kind == "import" else name


class Aliases(cst.CSTVisitor):
    """Pass 1: the source text of each import alias, by (line, bound name)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.found: dict[tuple[int, str], tuple[str, str, str]] = {}
        #: (line, name) bound by more than one alias of the line (`import pkg.a, pkg.b`) ->
        #: how many: the rewrite drops names by what they bind, so not one of them alone.
        self.repeated: dict[tuple[int, str], int] = {}
        self.code = cst.Module([]).code_for_node

    def visit_Import(self, node: cst.Import) -> None:
        line = self.get_metadata(PositionProvider, node).start.line
        for alias in node.names:
            text = self.code(alias.name) + (f" as {alias.asname.name.value}"  # type: ignore
                                            if alias.asname else "")
            self._add((line, bound_name(alias, "import")), ("import", "", text))

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            return
        line = self.get_metadata(PositionProvider, node).start.line
        module = "." * len(node.relative) + (self.code(node.module) if node.module else "")
        for alias in node.names:
            text = self.code(alias.name) + (f" as {alias.asname.name.value}"  # type: ignore
                                            if alias.asname else "")
            self._add((line, bound_name(alias, "from")), ("from", module, text))

    def _add(self, key: tuple[int, str], found: tuple[str, str, str]) -> None:
        if key in self.found:
            self.repeated[key] = self.repeated.get(key, 1) + 1
        self.found[key] = found


def statement_text(kind: str, module: str, texts: list[str], lazy: bool = False) -> str:
    prefix = "lazy " if lazy else ""
    if kind == "import":
        return f"{prefix}import {', '.join(texts)}"
    return f"{prefix}from {module} import {', '.join(texts)}"


def plain_module(text: str) -> str:
    """A module name as a `from` statement writes it (`..pkg . sub`, a line continuation
    inside), without the spaces and line breaks."""
    return "".join(text.split()).replace("\\", "")


def _module_of(node: cst.ImportFrom) -> str:
    """The module a `from` statement names, without spaces or line breaks."""
    text = cst.Module([]).code_for_node(node.module) if node.module else ""
    return plain_module("." * len(node.relative) + text)


def load_statement(module: str) -> str:
    """A statement that loads `module` (as `from module import ...` names it, `..pkg.sub`
    relative) and binds nothing: what `from module import name` does before it reads
    `name`."""
    name = module.lstrip(".")
    level = len(module) - len(name)
    if not level:
        return f'__import__("{name}")'
    return f'__import__("{name}", globals(), level={level})'


class Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, leaving, lazy_after, moves, sections: Sections, limit: int,
                 keep_load: dict[int, list[tuple[str, list[str]]]] | None = None) -> None:
        super().__init__()
        self.leaving = leaving
        self.lazy_after = lazy_after
        #: line -> (module, names) of each statement there whose names all move but whose
        #: module still loads there (importing it has effects), through a bare load.
        self.keep_load = keep_load or {}
        self.moves = moves
        self.sections = sections
        self.limit = limit
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
        depth = len(self.scope)
        self.scope.pop()
        statements = self.moves.get(qualname)
        if not statements:
            return updated
        body = updated.body
        if isinstance(body, cst.SimpleStatementSuite):
            inner = [cst.SimpleStatementLine(body=[s.with_changes(semicolon=cst.MaybeSentinel
                                                                  .DEFAULT)])
                     for s in body.body]
            body = cst.IndentedBlock(body=inner)
        items = list(body.body)
        first = items[0] if items else None
        if isinstance(first, cst.SimpleStatementLine) and len(first.body) > 1 \
                and _is_docstring(first.with_changes(body=first.body[:1])):
            # `"""Doc."""; return x`: the docstring keeps its line (and stays the docstring)
            items[0:1] = [first.with_changes(body=[first.body[0].with_changes(
                semicolon=cst.MaybeSentinel.DEFAULT)]),
                cst.SimpleStatementLine(body=list(first.body[1:]))]
        index = 1 if items and _is_docstring(items[0]) else 0
        # imports already at the top of the function join the block, so it stays one
        # sorted import block
        end = index
        while end < len(items) and _plain_import(items[end]):
            end += 1
        code = cst.Module([]).code_for_node
        texts = [*dict.fromkeys(statements), *(code(s).strip() for s in items[index:end])]
        new = self.import_block(texts, indent=4 * depth)
        items[index:end] = new
        return updated.with_changes(body=body.with_changes(body=items))

    def import_block(self, texts: list[str], indent: int) -> list[cst.SimpleStatementLine]:
        lines = format_block(parse_statements("\n".join(texts)), self.sections,
                             limit=self.limit - indent)
        out: list[cst.SimpleStatementLine] = []
        gap = False
        for text in "\n".join(lines).split("\n\n"):
            for statement in cst.parse_module(text + "\n").body:
                if gap:
                    statement = statement.with_changes(leading_lines=[cst.EmptyLine(
                        indent=False)])
                    gap = False
                out.append(statement)  # type: ignore[arg-type]
            gap = True
        if indent + len(MARK) <= self.limit:
            out[0] = out[0].with_changes(leading_lines=[cst.EmptyLine(
                comment=cst.Comment(MARK))])
        return out

    # import statements
    def leave_SimpleStatementLine(self, original, updated):
        line = self.get_metadata(PositionProvider, original).start.line
        names = self.leaving.get(line)
        lazy = self.lazy_after.get(line)
        if not names and not lazy:
            return updated
        kept = []
        loads = list(self.keep_load.get(line, ()))
        loaded: list[tuple[str, list[str]]] = []
        for small in updated.body:
            if isinstance(small, (cst.Import, cst.ImportFrom)) and names and not isinstance(
                    small.names, cst.ImportStar):
                kind = "import" if isinstance(small, cst.Import) else "from"
                rest = [a for a in small.names if bound_name(a, kind) not in names]
                load = next((item for item in loads if kind == "from" and
                             item[0] == _module_of(small)), None) if not rest else None
                if load is not None:
                    # in its place, the load it made (its effects keep their moment)
                    loads.remove(load)
                    loaded.append(load)
                    kept.append(cst.parse_statement(load_statement(load[0]) + "\n").body[0])
                    continue
                if not rest:
                    continue
                if len(rest) != len(small.names):
                    # the statement's own ending: a trailing comma (one name a line) stays
                    last = rest[-1].with_changes(comma=small.names[-1].comma)
                    small = small.with_changes(names=[*rest[:-1], last])
            kept.append(small)
        out: list[cst.BaseStatement] = []
        if loaded:
            modules = ", ".join(module for module, _names in loaded)
            moved = ", ".join(name for _module, names in loaded for name in names)
            text = f"# loads {modules} here, as before; {moved} imported where used " \
                   "(hotstart fix)"
            if len(text) > self.limit:
                text = f"# loads {modules} here, as before (hotstart fix)"
            updated = updated.with_changes(leading_lines=[
                *updated.leading_lines, cst.EmptyLine(comment=cst.Comment(text))])
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


def _plain_import(statement: cst.CSTNode) -> bool:
    """A one-statement import line with no comment of its own (safe to re-lay out)."""
    return (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1
            and type(statement.body[0]) in (cst.Import, cst.ImportFrom)
            and not isinstance(getattr(statement.body[0], "names", None), cst.ImportStar)
            and all(line.comment is None for line in statement.leading_lines)
            and statement.trailing_whitespace.comment is None
            and "#" not in cst.Module([]).code_for_node(statement))


def _drop_removed(body) -> list:
    """Drop removed statements; the next statement inherits their leading blank lines and
    comments (all of a removed run's, a run of blank lines as one: the blank line between
    two import sections stays) when it has none of its own."""
    out: list = []
    carry = None
    for statement in body:
        if _removed(statement):
            carry = [*(carry or ()), *statement.leading_lines]
            carry = [line for i, line in enumerate(carry) if line.comment is not None
                     or i == 0 or carry[i - 1].comment is not None]
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
