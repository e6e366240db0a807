"""Reading a module for the `hot-calls` codemod (`_callername`): which expressions of its
functions walk the stack to reach one frame, at which depth, and which stack walks cannot be
rewritten (with why). Names are resolved through the module's own import statements; a name
bound otherwise anywhere in the module is not resolved (nothing is rewritten through it).
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

__all__ = ["Found", "Scanned", "binding_uses", "clip", "function_node", "scan"]

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
#: What a too-shallow stack raises before the rewrite (IndexError from `stack()[k]`,
#: AttributeError from `None.f_back...`) and after it (ValueError from `sys._getframe(k)`):
#: a handler catching any of them would see a different error.
_SHALLOW_ERRORS = (IndexError, AttributeError, ValueError)



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
        """Whether `handler` may catch what a too-shallow stack raises before or after the
        rewrite: a bare `except`, or any type that is not a builtin exception class known
        to catch none of them (a project class or a tuple held in a variable may)."""
        if handler.type is None:
            return True
        kinds = handler.type.elements if isinstance(handler.type, cst.Tuple) else [handler.type]
        for kind in kinds:
            value = kind.value if isinstance(kind, cst.Element) else kind
            known = getattr(builtins, value.value, None) if isinstance(value, cst.Name) \
                else None
            if not (isinstance(known, type) and issubclass(known, BaseException)) or any(
                    issubclass(error, known) for error in _SHALLOW_ERRORS):
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
                    "inside a `try` that may catch IndexError, AttributeError or ValueError: "
                    "on a shallow stack sys._getframe raises ValueError instead")
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
            found.depth, found.why = None, (
                "inside a `try` that may catch IndexError or ValueError: on a shallow "
                "stack sys._getframe raises ValueError instead")
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
class Scanned:
    module: cst.Module
    wrapper: MetadataWrapper
    finder: _Finder
    names: _Names
    masked: bool = False  # PEP 810 `lazy` keywords stand in as `_LAZY` (see `unmask`)

    def unmask(self, code: str) -> str:
        """`code` (the module, rewritten) with its `lazy` keywords back."""
        return code.replace(_LAZY, "lazy ") if self.masked else code


#: Stands for the PEP 810 `lazy` keyword while libcst (which reads no 3.15 syntax) parses the
#: module: `lazy import x` is read as `_hotstart_lazy_ = 0; import x`, a plain statement.
_LAZY = "_hotstart_lazy_ = 0; "


def scan(source: str) -> Scanned:
    """The module's stack-walking expressions. `SyntaxError` or `libcst.ParserSyntaxError`
    for source that does not parse."""
    masked = _mask_lazy(source)
    module = cst.parse_module(masked if masked is not None else source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    names = _Names(ast.parse(module.code))
    finder = _Finder(names, module)
    wrapper.visit(finder)
    return Scanned(module, wrapper, finder, names, masked is not None)


def _mask_lazy(source: str) -> str | None:
    """`source` with each PEP 810 `lazy` keyword replaced by `_LAZY`, or None when it has
    none (or already holds the stand-in, which could not be told apart)."""
    if "lazy" not in source or _LAZY in source:
        return None
    try:
        ast.parse(source)
        return None
    except SyntaxError:
        pass
    import tokenize

    from ..lazy import _lazy_statements

    try:
        statements = _lazy_statements(source)
    except (tokenize.TokenError, SyntaxError, ValueError):  # invalid for another reason
        return None
    lines = source.splitlines(keepends=True)
    for line, col in sorted({(line, col) for line, _module, col in statements}, reverse=True):
        text = lines[line - 1]
        if text[col:col + 4] != "lazy":  # columns counted differently (non-ASCII line)
            col = text.find("lazy")
        lines[line - 1] = text[:col] + _LAZY + text[col + 4:].lstrip(" \t")
    return "".join(lines) if statements else None


def binding_uses(scanned: Scanned, qualname: str, found: Found) -> list[cst.CSTNode] | str:
    """The `.frame` / `[0]` reads of a local bound to a frame record, or why the binding
    cannot become the frame (another use, a second binding)."""
    function = function_node(scanned.module, qualname)
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
        return f"`{name}` is used otherwise than for its frame (`{clip(rest[0])}`)"
    return uses


def _frame_read(parent: cst.CSTNode | None, node: cst.Name) -> bool:
    """`node.frame` or `node[0]`: the frame of a frame record."""
    if isinstance(parent, cst.Attribute):
        return parent.value is node and parent.attr.value == "frame"
    return isinstance(parent, cst.Subscript) and parent.value is node and _index(parent) == 0


def function_node(module: cst.Module, qualname: str) -> cst.FunctionDef | None:
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


def clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."

