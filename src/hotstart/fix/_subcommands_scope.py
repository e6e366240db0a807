"""Which names of a module's source are the module's global names, for the `cli` codemod:
a registration's import may go only when nothing else reads that global, and a function's
parameter, local, comprehension variable or nested function of the same name is another
variable (`def hatch(ctx, project): ...` does not use the imported group `project`).

Resolved as the compiler does for function scopes (a name bound anywhere in a function is
local to all of it, unless declared `global` or `nonlocal`; comprehensions and lambdas have
scopes of their own; defaults, decorators, annotations and a comprehension's first iterable
are evaluated in the enclosing scope). A class body reads its own namespace and then the
globals, so a read there counts as a global read: when unsure, a name is a use.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import NamedTuple

from ..audit._scan_model import COMPREHENSIONS, FUNCTIONS
from ..audit._uses import _locals

__all__ = ["GlobalNames", "Load", "global_names"]


class Load(NamedTuple):
    """A read of a global name: its line, and the qualified name ("check", "Cls.method")
    of the outermost function whose body reads it, where an import of the name moved into
    that function would serve it; None where it is read while the module is imported (at
    the top level, in a class body, a decorator, a default, an annotation) or cannot have an
    import of its own (a lambda at the top level, a function declaring it `global`)."""

    line: int
    function: str | None


@dataclass
class GlobalNames:
    """Reads ({name: [Load, ...]}) and bindings ({name: [line, ...]}) of the module's global
    names."""

    loads: dict[str, list[Load]] = field(default_factory=dict)
    binds: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Function:
    locals: set[str]
    declared_global: set[str]
    comprehension: bool = False
    #: the outermost function's qualified name (None: a lambda outside any function)
    host: str | None = None


def global_names(tree: ast.Module) -> GlobalNames:
    """Where `tree` reads and binds its global names (imports, `def`, `class`, assignments,
    `del`, and a function's `global` declarations that bind); `ValueError` for a tree too
    deep to walk."""
    found = GlobalNames()
    try:
        _Walker(found).block(tree.body, (), top=True)
    except RecursionError:
        raise ValueError("the module's expressions nest too deeply to read") from None
    return found


class _Walker:
    def __init__(self, found: GlobalNames) -> None:
        self.found = found
        self.classes: list[str] = []  # the classes enclosing the walk, outside functions

    def block(self, nodes, chain: tuple[_Function, ...], top: bool) -> None:
        for node in nodes:
            self.node(node, chain, top)

    def is_global(self, name: str, chain: tuple[_Function, ...]) -> bool:
        for scope in reversed(chain):
            if name in scope.declared_global:
                return True
            if name in scope.locals:
                return False
        return True

    def bind(self, name: str, line: int, chain: tuple[_Function, ...], top: bool) -> None:
        """A binding: global at the top level, or in a function that declares it global
        (in a class body it binds a class attribute)."""
        if (not chain and top) or (chain and name in chain[-1].declared_global):
            self.found.binds.setdefault(name, []).append(line)

    def node(self, node: ast.AST, chain: tuple[_Function, ...], top: bool) -> None:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Load):
                if self.is_global(node.id, chain):
                    host = chain[0].host if chain else None
                    if any(node.id in scope.declared_global for scope in chain):
                        host = None
                    self.found.loads.setdefault(node.id, []).append(Load(node.lineno, host))
            else:
                self.bind(node.id, node.lineno, chain, top)
            return
        if isinstance(node, ast.NamedExpr) and chain and chain[-1].comprehension:
            # `[y := f(x) for x in xs]` binds `y` in the scope enclosing the comprehension
            outer = chain
            while outer and outer[-1].comprehension:
                outer = outer[:-1]
            self.node(node.value, chain, top)
            self.node(node.target, outer, not outer)  # (a class body forbids it)
            return
        if isinstance(node, (*FUNCTIONS, ast.Lambda)):
            self.function(node, chain, top)
            return
        if isinstance(node, ast.ClassDef):
            self.block([*node.decorator_list, *node.bases, *node.keywords], chain, top)
            self.bind(node.name, node.lineno, chain, top)
            self.classes.append(node.name)
            self.block(node.body, chain, top=False)
            self.classes.pop()
            return
        if isinstance(node, COMPREHENSIONS):
            self.comprehension(node, chain, top)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name != "*":
                    self.bind(alias.asname or alias.name.split(".")[0], node.lineno, chain,
                              top)
            return
        if isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
            self.bind(node.name, node.lineno, chain, top)
        if isinstance(node, ast.MatchMapping) and node.rest:
            self.bind(node.rest, node.lineno, chain, top)
        for child in ast.iter_child_nodes(node):
            self.node(child, chain, top)

    def function(self, node, chain: tuple[_Function, ...], top: bool) -> None:
        args = node.args
        outer = [*getattr(node, "decorator_list", []), *args.defaults,
                 *(d for d in args.kw_defaults if d is not None)]
        if not isinstance(node, ast.Lambda):
            outer += [a.annotation for a in (*args.posonlyargs, *args.args,
                                             *args.kwonlyargs, args.vararg, args.kwarg)
                      if a is not None and a.annotation is not None]
            outer += [node.returns] if node.returns is not None else []
        self.block(outer, chain, top)
        if isinstance(node, ast.Lambda):
            local = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                     *(x for x in (args.vararg, args.kwarg) if x))}
            host = chain[0].host if chain else None
            self.node(node.body, (*chain, _Function(local, set(), host=host)), top=False)
            return
        self.bind(node.name, node.lineno, chain, top)
        declared = {name for statement in _own_statements(node.body)
                    if isinstance(statement, ast.Global) for name in statement.names}
        host = chain[0].host if chain else ".".join([*self.classes, node.name])
        inner = (*chain, _Function(_locals(node), declared, host=host))
        self.block(node.body, inner, top=False)

    def comprehension(self, node, chain: tuple[_Function, ...], top: bool) -> None:
        first, *rest = node.generators
        self.node(first.iter, chain, top)  # evaluated in the enclosing scope
        local = {n.id for g in node.generators for n in ast.walk(g.target)
                 if isinstance(n, ast.Name)}
        inner = (*chain, _Function(local, set(), comprehension=True,
                                   host=chain[0].host if chain else None))
        self.node(first.target, inner, False)
        for condition in first.ifs:
            self.node(condition, inner, False)
        for generator in rest:
            self.node(generator, inner, False)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self.block(parts, inner, top=False)


def _own_statements(body: list[ast.stmt]):
    """The statements of a function body, not those of scopes nested in it."""
    pending = list(body)
    while pending:
        statement = pending.pop()
        yield statement
        if not isinstance(statement, (*FUNCTIONS, ast.ClassDef)):
            pending.extend(child for child in ast.iter_child_nodes(statement)
                           if isinstance(child, ast.stmt))
