"""The `hot-calls` codemod: a project function that names its caller with a stack walk
(`inspect.stack()[1].frame.f_globals["__name__"]`), called at module level, reads the source
of every frame on the stack once per importing module. It is rewritten in place to the same
frame taken directly: `sys._getframe(1).f_globals["__name__"]`.

What is rewritten is an expression whose value is a frame object at a fixed depth from the
frame that evaluates it, built from `inspect` calls:

    inspect.stack(...)[k].frame, inspect.stack(...)[k][0]              -> sys._getframe(k)
    inspect.getouterframes(F, ...)[k].frame / [0], F at depth d         -> sys._getframe(d + k)
    inspect.currentframe()                                              -> sys._getframe(0)
    F.f_back, F at depth d                                              -> sys._getframe(d + 1)

and a local bound once to `inspect.stack()[k]` whose every use is `.frame` or `[0]` (the
binding becomes the frame, its uses drop `.frame`). The depth is the one written AT THAT
PLACE: `inspect.stack()[0]` is the frame that calls `inspect.stack()`, exactly as
`sys._getframe(0)` is the frame that calls `sys._getframe`, so a nested helper keeps its own
index (`_caller()` reached through `get_logger()` keeps 2). The value is the same frame
object, so everything read from it (`f_globals["__name__"]`, `.get("__name__", default)`,
`f_locals`) is unchanged. Two differences remain, both on a stack shallower than the index,
where the original fails anyway: `inspect.stack()[k]` raises IndexError and `.f_back` gives
None, `sys._getframe(k)` raises ValueError; an expression inside a `try` that catches
IndexError, LookupError or AttributeError is therefore left alone.

Not rewritten, reported with advice: `inspect.getmodule(frame)` (None for a frame whose file
is no module's, such as exec'd code, where `f_globals["__name__"]` gives a name: the stack
walk inside it is still rewritten, `getmodule` stays), and a frame record read for its
`filename`, `lineno`, `function`, `code_context` (source lines), loops and slices over the
stack, `inspect.getframeinfo`, `traceback.extract_stack`.

`import sys` is added when the module lacks it (laid out as isort would). `import inspect`
is left where it is even when nothing uses it any more: the next audit finds it dead and the
import codemods remove it, with their own checks (another module may import it from here).

`CallerNameCheck` (in `_callername_check`) is the `--verify` check: it imports the modules
that call the helpers at module level and compares the names the calls produced.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from ..audit.model import AuditReport, HotSpot, Saving
from ._callername_check import CallerNameCheck
from ._imports import Sections, Statement, line_length
from ._rewriter import MARK
from .plan import Change, CodeSite, Skipped

__all__ = ["ACTION", "SELECT", "CallerNameCheck", "plan", "rewrite"]

SELECT = "hot-calls"
ACTION = "caller-name"

#: Hot spots whose expensive call walks or inspects frames: the helpers worth reading.
_FRAME_CALLS = frozenset({"inspect.stack", "inspect.getouterframes", "inspect.getframeinfo",
                          "inspect.getmodule", "inspect.getinnerframes", "inspect.trace",
                          "inspect.currentframe", "traceback.extract_stack",
                          "traceback.format_stack", "traceback.print_stack"})
#: What a frame record's fields need, for the advice on a helper that reads one.
_FIELDS = {
    "filename": "the file name (`frame.f_code.co_filename` gives the code's own, without "
                "the source search `inspect` does)",
    "lineno": "the line number (`frame.f_lineno`)",
    "function": "the function name (`frame.f_code.co_name`)",
    "code_context": "source lines, which need the file read",
    "index": "source lines, which need the file read",
    "positions": "the source position",
}
_INDEXED = {1: "filename", 2: "lineno", 3: "function", 4: "code_context", 5: "index"}
#: Exceptions whose handler would see a different error on a too-shallow stack.
_SHALLOW_ERRORS = frozenset({"IndexError", "LookupError", "AttributeError", "Exception",
                             "BaseException"})


@dataclass(slots=True)
class Found:
    """One stack-walking expression in a function: rewritable (`depth` set) or not (`why`)."""

    line: int
    column: int
    text: str                      # the expression's source
    depth: int | None = None
    binding: str | None = None     # a local bound to a frame record (`caller`), if so
    why: str = ""
    #: Where it is, independent of lines: its text and which occurrence of that text in its
    #: function (the import codemods may have moved lines before this one runs).
    key: str = ""


# -- reading the source ---------------------------------------------------------------------

class _Names:
    """What the module's import statements bind: a name -> the dotted object it stands for.
    A name also bound otherwise (assigned, a parameter, a def), or by two different imports,
    stands for nothing: it is not resolved."""

    def __init__(self, tree: ast.Module) -> None:
        imported: dict[str, set[str]] = {}
        other: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    name = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else alias.name.split(".")[0]
                    imported.setdefault(name, set()).add(target)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                for alias in node.names:
                    imported.setdefault(alias.asname or alias.name, set()).add(
                        f"{node.module}.{alias.name}")
            elif isinstance(node, ast.ImportFrom):
                other.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                other.add(node.id)
            elif isinstance(node, ast.arg):
                other.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                other.add(node.name)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                other.update(node.names)
        self.bound = {name: next(iter(targets)) for name, targets in imported.items()
                      if len(targets) == 1 and name not in other}
        #: `sys` names something other than the sys module somewhere in the module.
        self.sys_taken = "sys" in other or imported.get("sys", {"sys"}) != {"sys"}
        #: The module-level `import sys [as x]` name, if any.
        self.sys = next((alias.asname or alias.name for node in tree.body
                         if isinstance(node, ast.Import) for alias in node.names
                         if alias.name == "sys" and self.bound.get(alias.asname or "sys")
                         == "sys"), None)

    def resolve(self, node: cst.BaseExpression) -> str | None:
        parts: list[str] = []
        while isinstance(node, cst.Attribute):
            parts.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        target = self.bound.get(node.value)
        if target is None:
            return None
        return ".".join([target, *reversed(parts)])


def _int(node: cst.BaseExpression) -> int | None:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value, 0)
        except ValueError:
            return None
    return None


def _index(node: cst.Subscript) -> int | None:
    """The constant non-negative index of `x[k]`, else None (slices, names, negatives)."""
    if len(node.slice) != 1 or node.slice[0].comma not in (cst.MaybeSentinel.DEFAULT, None):
        return None
    element = node.slice[0].slice
    return _int(element.value) if isinstance(element, cst.Index) else None


def _simple_args(call: cst.Call, allowed: int) -> bool:
    """At most `allowed` arguments, each an integer constant (a `context=` count): evaluating
    them has no effect that moving them away could change."""
    return len(call.args) <= allowed and all(
        a.star == "" and _int(a.value) is not None for a in call.args)


class _Frames:
    """The frame depth of an expression, as `inspect` computes it."""

    def __init__(self, names: _Names) -> None:
        self.names = names

    def frame(self, node: cst.BaseExpression) -> tuple[int, bool] | None:
        """(depth, uses inspect) for an expression whose value is the frame `depth` levels
        above the one evaluating it."""
        if isinstance(node, cst.Call):
            callee = self.names.resolve(node.func)
            if callee == "inspect.currentframe" and not node.args:
                return 0, True
            if callee == "sys._getframe":
                if not node.args:
                    return 0, False
                depth = _int(node.args[0].value) if len(node.args) == 1 and \
                    node.args[0].keyword is None and node.args[0].star == "" else None
                return (depth, False) if depth is not None else None
            return None
        if isinstance(node, cst.Attribute):
            if node.attr.value == "f_back":
                inner = self.frame(node.value)
                return (inner[0] + 1, inner[1]) if inner else None
            if node.attr.value == "frame":
                return self.record(node.value)
            return None
        if isinstance(node, cst.Subscript) and _index(node) == 0:
            return self.record(node.value)
        return None

    def record(self, node: cst.BaseExpression) -> tuple[int, bool] | None:
        """(depth, uses inspect) for `stack[k]`: the frame record `depth` levels up."""
        if not isinstance(node, cst.Subscript):
            return None
        index = _index(node)
        base = self.stack(node.value)
        if index is None or base is None:
            return None
        return base[0] + index, base[1]

    def stack(self, node: cst.BaseExpression) -> tuple[int, bool] | None:
        """(depth of its first record, uses inspect) for a list of frame records."""
        if not isinstance(node, cst.Call):
            return None
        callee = self.names.resolve(node.func)
        if callee == "inspect.stack" and _simple_args(node, 1):
            return 0, True
        if callee == "inspect.getouterframes" and node.args and node.args[0].keyword is None \
                and node.args[0].star == "":
            rest = node.with_changes(args=node.args[1:])
            start = self.frame(node.args[0].value)
            if start is not None and _simple_args(rest, 1):
                return start[0], True
        return None


class _Finder(cst.CSTVisitor):
    """The stack-walking expressions of one module, by enclosing function qualname."""

    METADATA_DEPENDENCIES = (PositionProvider, ParentNodeProvider)

    def __init__(self, names: _Names, module: cst.Module) -> None:
        self.names = names
        self.frames = _Frames(names)
        self.code = module.code_for_node
        self.scope: list[str] = []
        self.functions: list[cst.FunctionDef] = []
        self.guards: list[bool] = []  # inside a try that would see another exception
        self.found: dict[str, list[Found]] = {}
        self.nodes: dict[tuple[str, str], cst.CSTNode] = {}  # (qualname, key) -> node
        self.uses: dict[tuple[str, str], list[cst.CSTNode]] = {}  # binding -> its uses

    # scopes
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.scope.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.scope.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.scope.append(node.name.value)
        self.functions.append(node)

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scope.pop()
        self.functions.pop()

    def visit_Try(self, node: cst.Try) -> None:
        self.guards.append(any(self._catches(h) for h in node.handlers))

    def leave_Try(self, original_node: cst.Try) -> None:
        self.guards.pop()

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self.guards.append(True)

    def leave_TryStar(self, original_node: cst.TryStar) -> None:
        self.guards.pop()

    @staticmethod
    def _catches(handler: cst.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        kinds = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
        for kind in kinds:
            value = kind.value if isinstance(kind, cst.Element) else kind
            text = cst.Module([]).code_for_node(value).split(".")[-1]
            if text in _SHALLOW_ERRORS:
                return True
        return False

    # expressions
    def _add(self, node: cst.CSTNode, found: Found) -> None:
        qualname = ".".join(self.scope)
        siblings = self.found.setdefault(qualname, [])
        found.key = f"{sum(f.text == found.text for f in siblings)}:{found.text}"
        siblings.append(found)
        self.nodes[(qualname, found.key)] = node

    def _position(self, node: cst.CSTNode) -> tuple[int, int]:
        start = self.get_metadata(PositionProvider, node).start
        return start.line, start.column

    def on_visit(self, node: cst.CSTNode) -> bool:
        if not self.functions or not isinstance(node, cst.BaseExpression):
            return super().on_visit(node)
        frame = self.frames.frame(node)
        if frame is not None:
            if not frame[1]:
                return False  # sys._getframe already
            line, column = self._position(node)
            found = Found(line, column, self.code(node), depth=frame[0])
            if self.guards and any(self.guards):
                found.depth, found.why = None, (
                    "inside a `try` that catches IndexError/AttributeError: on a shallow "
                    "stack sys._getframe raises ValueError instead")
            self._add(node, found)
            return False
        record = self.frames.record(node)
        if record is not None:
            self._record(node, record[0])
            return False
        if self.frames.stack(node) is not None:
            line, column = self._position(node)
            self._add(node, Found(line, column, self.code(node), why=self._stack_use(node)))
            return False
        if isinstance(node, cst.Call):
            callee = self.names.resolve(node.func) or ""
            why = _KEPT.get(callee)
            if why is not None:
                line, column = self._position(node)
                self._add(node, Found(line, column, self.code(node), why=why))
                # its arguments may still walk the stack: `getmodule(inspect.stack()[1][0])`
        return super().on_visit(node)

    def _record(self, node: cst.BaseExpression, depth: int) -> None:
        """A frame record used otherwise than for its frame: bound to a local, or read for a
        field the frame does not hold."""
        line, column = self._position(node)
        parent = self.get_metadata(ParentNodeProvider, node)
        found = Found(line, column, self.code(node))
        if isinstance(parent, cst.Attribute) and parent.value is node:
            field_ = parent.attr.value
            found.why = f"reads the frame record's `{field_}`: " + _FIELDS.get(
                field_, "not the frame")
        elif isinstance(parent, cst.Subscript) and parent.value is node:
            field_ = _INDEXED.get(_index(parent) or -1, "")
            found.why = (f"reads the frame record's `{field_}`: " + _FIELDS[field_]
                         if field_ else "indexes the frame record otherwise than for its frame")
        elif isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(
                parent.targets[0].target, cst.Name):
            found.binding = parent.targets[0].target.value
            found.depth = depth
        else:
            found.why = "hands the frame record on (its fields other than the frame need " \
                        "the source read)"
        if found.depth is not None and any(self.guards):
            found.depth, found.why = None, ("inside a `try` that catches IndexError: on a "
                                            "shallow stack sys._getframe raises ValueError")
        self._add(node, found)

    @staticmethod
    def _stack_use(node: cst.CSTNode) -> str:
        return ("uses the whole stack (a loop, a slice, a length or a computed index): walk "
                "`sys._getframe(0)` and its `.f_back` instead, which reads no source")


#: Calls kept as they are, with why (their frame arguments are still rewritten).
_KEPT = {
    "inspect.getmodule": "inspect.getmodule(frame) is kept: it returns None for a frame whose "
                         "file is no module's (exec'd code) where f_globals['__name__'] would "
                         "still give a name; if every caller is a module, "
                         "`sys._getframe(k).f_globals['__name__']` replaces it",
    "inspect.getframeinfo": "inspect.getframeinfo reads the frame's source lines: use "
                            "frame.f_code.co_filename and frame.f_lineno",
    "inspect.getinnerframes": "walks a traceback's frames with their source",
    "inspect.trace": "walks the current exception's frames with their source",
    "traceback.extract_stack": "reads the source of every frame: walk sys._getframe(0) and "
                               "its .f_back instead",
    "traceback.format_stack": "formats every frame with its source",
    "traceback.print_stack": "prints every frame with its source",
}


@dataclass(slots=True)
class _Scanned:
    module: cst.Module
    wrapper: MetadataWrapper
    finder: _Finder
    names: _Names


def _scan(source: str) -> _Scanned:
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    names = _Names(ast.parse(source))
    finder = _Finder(names, module)
    wrapper.visit(finder)
    return _Scanned(module, wrapper, finder, names)


def _binding_uses(scanned: _Scanned, qualname: str, found: Found) -> list[cst.CSTNode] | str:
    """The `.frame` / `[0]` reads of a local bound to a frame record, or why the binding
    cannot become the frame (another use, a second binding)."""
    function = _function(scanned.module, qualname)
    if function is None:
        return "the function is not where the audit saw it"
    name = found.binding
    uses: list[cst.CSTNode] = []
    others: list[str] = []

    class Walk(cst.CSTVisitor):
        def __init__(self) -> None:
            self.parents: list[cst.CSTNode] = []

        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, cst.Name) and node.value == name:
                parent = self.parents[-1] if self.parents else None
                if _frame_read(parent, node):
                    uses.append(parent)
                elif isinstance(parent, cst.AssignTarget) and parent.target is node:
                    others.append("bound")
                else:
                    others.append(cst.Module([]).code_for_node(parent or node))
            self.parents.append(node)
            return True

        def on_leave(self, original_node: cst.CSTNode) -> None:
            self.parents.pop()

    function.visit(Walk())
    if others.count("bound") > 1:
        return f"`{name}` is bound more than once in the function"
    rest = [o for o in others if o != "bound"]
    if rest:
        return f"`{name}` is used otherwise than for its frame (`{_clip(rest[0])}`)"
    return uses


def _frame_read(parent: cst.CSTNode | None, node: cst.Name) -> bool:
    """`node.frame` or `node[0]`: the frame of a frame record."""
    if isinstance(parent, cst.Attribute):
        return parent.value is node and parent.attr.value == "frame"
    return isinstance(parent, cst.Subscript) and parent.value is node and _index(parent) == 0


def _function(module: cst.Module, qualname: str) -> cst.FunctionDef | None:
    body: list = list(module.body)
    node = None
    for part in qualname.split("."):
        node = next((n for n in body if isinstance(n, (cst.FunctionDef, cst.ClassDef))
                     and n.name.value == part), None)
        if node is None:
            return None
        inner = node.body
        body = list(inner.body) if isinstance(inner, cst.IndentedBlock) else []
    return node if isinstance(node, cst.FunctionDef) else None


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


# -- plan --------------------------------------------------------------------------------

def plan(report: AuditReport, paths: dict[str, str], project: str
         ) -> tuple[list[Change], list[Skipped]]:
    """One change per stack-walking expression of each project function that the audit saw
    called at import (a hot spot reached `via` it) and that can name the same frame with
    `sys._getframe(depth)`; the others skipped with why and what to do instead."""
    from ..audit._project import decode_source, read_source

    helpers: dict[str, list[HotSpot]] = {}
    for spot in report.hotspots:
        # every project function on the way that walks frames itself, not only `via`'s last
        reached = [entry.rpartition(":") for entry in spot.callers_of] or \
            ([(spot.via[-1], ":", spot.call)] if spot.via else [])
        for function in dict.fromkeys(f for f, _sep, call in reached if call in _FRAME_CALLS):
            helpers.setdefault(function, []).append(spot)
    modules = _module_files(report, paths)
    changes: list[Change] = []
    skipped: list[Skipped] = []
    cache: dict[str, _Scanned | str] = {}
    for helper, spots in helpers.items():
        module = max((m for m in modules if helper.startswith(m + ".")), key=len, default=None)
        if module is None:
            continue
        shown, path = modules[module]
        qualname = helper[len(module) + 1:]
        if path not in cache:
            try:
                cache[path] = _scan(decode_source(read_source(path)))
            except (OSError, SyntaxError, UnicodeDecodeError, cst.ParserSyntaxError) as exc:
                cache[path] = f"cannot read {shown} ({exc})"
        scanned = cache[path]
        site = CodeSite(shown, module, spots[0].line, helper, SELECT)
        if isinstance(scanned, str):
            skipped.append(Skipped(site, scanned))
            continue
        found = scanned.finder.found.get(qualname, [])
        lines = scanned.module.code.splitlines()
        function = _function(scanned.module, qualname)
        if function is not None:
            position = scanned.wrapper.resolve(PositionProvider)[function].start.line
            site = CodeSite(shown, module, position, lines[position - 1].strip(), SELECT)
        if not found:
            skipped.append(Skipped(site, f"{helper}() calls {spots[0].call} in a way hot-calls "
                                         f"does not rewrite: {spots[0].advice}"))
            continue
        callers = _callers(spots, modules)
        saving = _saving(spots)
        for item in found:
            here = CodeSite(shown, module, item.line, lines[item.line - 1].strip(), SELECT,
                            data={"function": qualname, "key": item.key, "depth": item.depth,
                                  "expression": item.text, "binding": item.binding,
                                  "callers": callers},
                            best_saving=saving)
            if item.depth is not None and item.binding is not None:
                uses = _binding_uses(scanned, qualname, item)
                if isinstance(uses, str):
                    item.depth, item.why = None, uses
            if item.depth is None:
                skipped.append(Skipped(here, f"`{_clip(item.text)}` in {helper}(): {item.why}"))
                continue
            if scanned.names.sys is None and scanned.names.sys_taken:
                skipped.append(Skipped(here, "the module binds its own `sys`, so "
                                             "`import sys` cannot be added"))
                continue
            was = f"`{_clip(item.text, 50)}`"
            changes.append(Change(here, ACTION, path,
                                  f"names the caller with sys._getframe({item.depth}) instead "
                                  f"of {was} (the same frame, no stack walk)"))
    return changes, skipped


def _module_files(report: AuditReport, paths: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each audited module -> (file as shown, absolute path)."""
    out: dict[str, tuple[str, str]] = {}
    for item in (*report.sites, *report.hotspots):
        if item.file in paths:
            out.setdefault(item.module, (item.file, paths[item.file]))
    for shown, path in paths.items():  # modules with neither: named from their path
        parts = re.sub(r"(/__init__)?\.py$", "", shown.replace(os.sep, "/")).split("/")
        for start in range(len(parts)):
            out.setdefault(".".join(parts[start:]), (shown, path))
    return out


def _callers(spots: list[HotSpot], modules: dict[str, tuple[str, str]]) -> list[dict]:
    """The module-level calls that reach the helper: module, file, line, context."""
    out = []
    for spot in spots:
        path = modules.get(spot.module, (spot.file, ""))[1]
        out.append({"module": spot.module, "path": path, "line": spot.line,
                    "context": spot.context})
    return out


def _saving(spots: list[HotSpot]) -> Saving | None:
    """The measured time of the hot spots, per entry, the largest: what the change saves."""
    per_entry: dict[str, float] = {}
    for spot in spots:
        if spot.measured_us is not None:
            entry = spot.measured_entry or ""
            per_entry[entry] = per_entry.get(entry, 0.0) + spot.measured_us
    if not per_entry:
        return None
    entry, us = max(per_entry.items(), key=lambda item: item[1])
    return Saving(entry=entry, us=us, rss=0, dropped=0)


# -- rewrite -----------------------------------------------------------------------------

class _Replace(cst.CSTTransformer):
    """The frame expressions replaced; in a function that no longer names `inspect`, an
    `import inspect` of its own body dropped (the import codemods may have moved the
    module's import there in this same run, and the audit never lists a function's
    imports, so nothing else would remove it)."""

    def __init__(self, replacements: dict[int, cst.CSTNode], inspect_name: str | None) -> None:
        self.replacements = replacements
        self.inspect_name = inspect_name
        self.touched: list[bool] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.touched.append(False)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        replaced = self.replacements.get(id(original_node))
        if replaced is not None and self.touched:
            self.touched[-1] = True
        if isinstance(original_node, cst.FunctionDef):
            touched = self.touched.pop()
            if touched and self.inspect_name:
                updated_node = _drop_local_import(updated_node, self.inspect_name)
            if self.touched:
                self.touched[-1] |= touched
        return updated_node if replaced is None else replaced


def _drop_local_import(function: cst.FunctionDef, name: str) -> cst.FunctionDef:
    """`function` without the `import inspect` statements of its own body when nothing in
    it reads `inspect` any more (a comment above one, other than hotstart's own mark, keeps
    it)."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock):
        return function
    imports = [stmt for stmt in body.body if isinstance(stmt, cst.SimpleStatementLine)
               and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Import)
               and [cst.Module([]).code_for_node(a) for a in stmt.body[0].names] == [name]
               and all(line.comment is None or line.comment.value == MARK
                       for line in stmt.leading_lines)]
    if not imports:
        return function
    kept: list[cst.BaseStatement] = []
    mark: list[cst.EmptyLine] = []
    for stmt in body.body:
        if any(stmt is i for i in imports):
            mark = mark or list(stmt.leading_lines)  # hotstart's mark, for the next import
            continue
        if mark and isinstance(stmt, cst.SimpleStatementLine) and not stmt.leading_lines \
                and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
            stmt = stmt.with_changes(leading_lines=mark)
        mark = []
        kept.append(stmt)
    rest = function.with_changes(body=body.with_changes(body=kept))
    if any(isinstance(n, cst.Name) and n.value == name for n in _walk(rest)):
        return function
    return rest


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def rewrite(source: str, changes: list[Change]) -> tuple[str, list[tuple[Change, str]]]:
    """`source` (one file) with `changes` made; the changes it could not make, with why."""
    if not changes:
        return source, []
    scanned = _scan(source)
    sys_name = scanned.names.sys or "sys"
    replacements: dict[int, cst.CSTNode] = {}
    failed: list[tuple[Change, str]] = []
    made = 0
    for change in changes:
        data = change.site.data
        qualname, key = data.get("function", ""), data.get("key", "")
        found = next((f for f in scanned.finder.found.get(qualname, []) if f.key == key), None)
        node = scanned.finder.nodes.get((qualname, key))
        if found is None or node is None or found.depth != data.get("depth") \
                or found.depth is None:
            failed.append((change, "the expression is not where the audit saw it (re-run)"))
            continue
        if scanned.names.sys is None and scanned.names.sys_taken:
            failed.append((change, "the module binds its own `sys`"))
            continue
        frame = cst.parse_expression(f"{sys_name}._getframe({found.depth})")
        if found.binding is not None:
            uses = _binding_uses(scanned, qualname, found)
            if isinstance(uses, str):
                failed.append((change, uses))
                continue
            for use in uses:
                replacements[id(use)] = cst.Name(found.binding)
        replacements[id(node)] = frame
        made += 1
    if not made:
        return source, failed
    inspect_name = "inspect" if scanned.names.bound.get("inspect") == "inspect" else None
    code = scanned.module.visit(_Replace(replacements, inspect_name)).code
    if scanned.names.sys is None:
        code = _with_sys(code, changes[0].path)
    return code, failed


def _with_sys(code: str, path: str) -> str:
    from .codemods import _add_top_import

    directory = os.path.dirname(path)
    new = _add_top_import(code.replace("\r\n", "\n"), Statement("import", "sys",
                                                                (("sys", None),)),
                          Sections(directory), line_length(directory))
    if "\r\n" in code and code.count("\r\n") == code.count("\n"):
        new = re.sub(r"(?<!\r)\n", "\r\n", new)
    return new


def iter_rewritable(source: str) -> Iterator[tuple[str, Found]]:
    """(function qualname, expression) for every rewritable stack walk of `source`: what
    `plan` would change, whoever calls the function (for tests and `--why`)."""
    scanned = _scan(source)
    for qualname, found in scanned.finder.found.items():
        for item in found:
            if item.depth is not None:
                yield qualname, item
