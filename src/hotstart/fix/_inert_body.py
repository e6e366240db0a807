"""One function's proof for `_inert_functions`: its statements followed in order, each
value's origins (tokens) tracked through locals, branches, loops and calls.

A token is (object, carrier): the object is FRESH (built during the call), SHARED (may
outlive it), ARGUMENT (the decorated function) or a parameter's name; the carrier is whose
name and docstring it shows (a parameter's name, ARGUMENT, FRAMEWORK for a decorator the
framework built, GROUP for a group or app the framework built (`typer.Typer(...)`), or
None). `FunctionProof.prove` gives a `Summary` or raises `Unproven`
with the statement that stopped it.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..audit._uses import _locals
from ._subcommands_read import SourceModule, dotted, one_line

if TYPE_CHECKING:
    from ._inert_functions import Prover

__all__ = ["ARGUMENT", "FRAMEWORK", "FRESH", "GROUP", "SHARED", "UNKNOWN", "FunctionProof",
           "Summary", "Token", "Unproven", "parameters", "returned", "where"]

FRESH = "<fresh>"  # an object built during the call
SHARED = "<shared>"  # an object that may outlive the call
ARGUMENT = "<argument>"  # the decorated function, at the top
FRAMEWORK = "<framework>"  # carried by a decorator the framework built (`click.option(...)`)
GROUP = "<group>"  # carried by a group or app the framework built (`typer.Typer(...)`)
_MARKS = (FRESH, SHARED, ARGUMENT, FRAMEWORK, GROUP, None)
#: A value's possible (object, whose name and docstring it carries or None) pairs; object
#: and carrier are FRESH, SHARED, ARGUMENT, FRAMEWORK or a parameter's name.
Token = tuple[str, "str | None"]
State = dict[str, frozenset[Token]]
UNKNOWN: frozenset[Token] = frozenset({(SHARED, None)})
_NEW: frozenset[Token] = frozenset({(FRESH, None)})
#: Builtins that change nothing when called; the constructors among them return a new object.
_READ_BUILTINS = frozenset({
    "getattr", "hasattr", "isinstance", "issubclass", "id", "len", "callable", "type", "repr",
    "hash", "bool", "int", "float", "str", "min", "max", "any", "all", "abs", "format"})
_CONSTRUCTORS = frozenset({"set", "frozenset", "list", "dict", "tuple", "sorted", "object"})
#: Methods a fresh local (a set, list or dict built in the call) may be called with.
_FRESH_METHODS = frozenset({
    "add", "append", "extend", "insert", "update", "setdefault", "discard", "remove", "pop",
    "clear", "get", "keys", "values", "items", "copy", "count", "index"})
#: Methods of `str` that only build a new value (called on a string literal or `__name__`).
_STR_METHODS = frozenset({
    "split", "rsplit", "partition", "rpartition", "join", "strip", "lstrip", "rstrip",
    "lower", "upper", "replace", "startswith", "endswith", "removeprefix", "removesuffix",
    "format", "title", "capitalize"})
#: Module attributes the import system sets once, before the module's code runs.
_MODULE_NAMES = frozenset({"__name__", "__file__"})
#: Standard library calls that return a shared object got again the same later (`logging`'s
#: table of loggers only gains its entry later).
_SAME_LATER = frozenset({"logging.getLogger"})
#: Attributes of a function that are its module's namespace (or the builtins').
_NAMESPACES = frozenset({"__globals__", "__builtins__"})
#: Rounds a loop is followed for before its locals must hold still.
_ROUNDS = 64
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


class Unproven(Exception):
    """A statement that stops the proof; the message names it (`file:line in f(): ...`)."""


@dataclass(frozen=True)
class Summary:
    """What one call of a proven function does: the parameters whose objects it changes,
    those it gives another name (`update_wrapper(param, ...)`), and what it returns."""

    node: ast.FunctionDef
    where: str  # "pkg/mod.py:12 f()"
    mutates: frozenset[str]
    renames: frozenset[str]
    returns: frozenset[Token]


class FunctionProof:
    """One function's proof: its statements followed in order, the origins of its locals
    joined where branches meet and grown around loops until they hold still."""

    def __init__(self, prover: Prover, owner: SourceModule, node: ast.FunctionDef,
                 depth: int) -> None:
        self.prover, self.owner, self.node, self.depth = prover, owner, node, depth
        self.locals = _locals(node)
        arguments = node.args
        self.state: State = {a.arg: frozenset({(a.arg, a.arg)}) for a in (
            *arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
        for packed in (arguments.vararg, arguments.kwarg):
            if packed is not None:  # `*args` and `**kwargs` are new tuples and dicts
                self.state[packed.arg] = _NEW
        self.mutates: set[str] = set()
        self.renames: set[str] = set()
        self.returns: set[Token] = set()
        self.loops: list[tuple[list[State], list[State]]] = []  # (breaks, continues)
        self.scopes: list[set[str]] = []  # comprehension variables, innermost last
        self.statement: ast.stmt = node

    def prove(self) -> Summary:
        self.block(self.node.body)
        if not _returns_always(self.node.body):
            self.returns |= _NEW  # falls off the end: None
        at = f"{where(self.owner, self.node)} {self.node.name}()"
        return Summary(self.node, at, frozenset(self.mutates), frozenset(self.renames),
                       frozenset(self.returns))

    def stop(self, why: str) -> Unproven:
        text = _clip(one_line(self.owner.segment(self.statement)))
        return Unproven(f"{where(self.owner, self.statement)} in {self.node.name}(): "
                        f"`{text}` {why}")

    # statements
    def block(self, statements: list[ast.stmt]) -> None:
        for statement in statements:
            self.statement = statement
            self.one(statement)

    def one(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Pass):
            return
        if isinstance(node, (ast.Break, ast.Continue)):
            if self.loops:
                self.loops[-1][isinstance(node, ast.Continue)].append(dict(self.state))
        elif isinstance(node, ast.Expr):
            self.value(node.value)
        elif isinstance(node, ast.Return):
            self.returns |= self.value(node.value) if node.value else _NEW
        elif isinstance(node, ast.Assign):
            tokens = self.value(node.value)
            for target in node.targets:
                self.store(target, tokens, node.value)
        elif isinstance(node, ast.AnnAssign):
            if node.value is not None:
                self.store(node.target, self.value(node.value), node.value)
        elif isinstance(node, ast.AugAssign):
            self.value(node.value)
            if isinstance(node.target, ast.Name):
                self.mutate(self.local(node.target.id))  # `x += [...]` extends x in place
            else:
                self.store(node.target, _NEW, None)
        elif isinstance(node, ast.If):
            self.value(node.test)
            before = dict(self.state)
            self.block(node.body)
            after, self.state = self.state, before
            self.block(node.orelse)
            self.state = _join(self.state, after)
        elif isinstance(node, (ast.While, ast.For)):
            self.loop(node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.nested(node)
        else:
            raise self.stop(f"({type(node).__name__.lower()}) is not in the whitelist")

    def loop(self, node: ast.While | ast.For) -> None:
        if isinstance(node, ast.For):
            self.value(node.iter)
        head = dict(self.state)
        for _ in range(_ROUNDS):  # each round adds a token to some local, or it stops
            self.state = dict(head)
            if isinstance(node, ast.While):
                self.value(node.test)
            else:
                self.store(node.target, UNKNOWN, None)
            self.loops.append(([], []))
            self.block(node.body)
            breaks, continues = self.loops.pop()
            grown = _join(head, self.state, *continues)
            if grown == head:
                break
            head = grown
        else:
            raise self.stop(f"is a loop whose locals do not settle in {_ROUNDS} rounds")
        self.statement = node
        self.state = dict(head)
        self.block(node.orelse)
        self.state = _join(self.state, *breaks)

    def nested(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        """A nested `def` runs its defaults, annotations and decorators, not its body."""
        arguments = node.args
        for default in (*arguments.defaults, *(d for d in arguments.kw_defaults if d)):
            self.value(default)
        if not _future_annotations(self.owner):
            for annotation in (*(a.annotation for a in (
                    *arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                    arguments.vararg, arguments.kwarg) if a is not None), node.returns):
                if annotation is not None:
                    self.annotation(annotation)
        tokens = _NEW
        for decorator in reversed(node.decorator_list):
            tokens = self.apply(decorator, tokens)
        self.state[node.name] = tokens

    def annotation(self, node: ast.expr) -> None:
        """An annotation is evaluated and kept in `__annotations__`: names and their
        attributes (`click.Context`, `list[str]`) are looked up, calls are proven."""
        if isinstance(node, ast.Attribute):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                self.annotation(base)
                return
        if isinstance(node, (ast.Subscript, ast.BinOp, ast.Tuple, ast.List)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.annotation(child)
            return
        imported = self.owner.imports.get(node.id) if isinstance(node, ast.Name) else None
        if imported is None or node.id in self.locals:  # type: ignore[union-attr]
            self.value(node)

    def apply(self, decorator: ast.expr, argument: frozenset[Token]) -> frozenset[Token]:
        """What applying `decorator` to a value of `argument` tokens returns."""
        if isinstance(decorator, ast.Call) and self.external(decorator.func) == \
                "functools.wraps" and len(decorator.args) == 1 and not decorator.keywords:
            return self.wrap(argument, self.value(decorator.args[0]))
        name = dotted(decorator)
        found = self.project(name) if name else None
        if found is None:
            raise self.stop(f"applies `@{ast.unparse(decorator)}`, which is not proven inert")
        return self.bound(found, [argument], {})

    def wrap(self, wrapper: frozenset[Token], wrapped: frozenset[Token]) -> frozenset[Token]:
        """`functools.update_wrapper(wrapper, wrapped)`: `wrapper` takes `wrapped`'s name,
        docstring and attributes."""
        self.mutate(wrapper)
        self.renames.update(obj for obj, _ in wrapper if obj != FRESH)
        return frozenset((obj, carrier if carrier not in (FRAMEWORK, GROUP) else None)
                         for obj, _ in wrapper for _, carrier in wrapped)

    # values
    def local(self, name: str) -> frozenset[Token]:
        if any(name in scope for scope in self.scopes):
            return UNKNOWN
        return self.state.get(name, frozenset())

    def store(self, target: ast.expr, tokens: frozenset[Token],
              value: ast.expr | None) -> None:
        if isinstance(target, ast.Name):
            self.state[target.id] = tokens
        elif isinstance(target, (ast.Tuple, ast.List)):
            paired = isinstance(value, (ast.Tuple, ast.List)) and \
                len(value.elts) == len(target.elts) and not any(
                    isinstance(e, ast.Starred) for e in (*target.elts, *value.elts))
            for at, element in enumerate(target.elts):
                self.store(element, self.value(value.elts[at]) if paired else UNKNOWN,
                           None)  # type: ignore[union-attr]
        elif isinstance(target, ast.Starred):
            self.store(target.value, _NEW, None)
        elif isinstance(target, (ast.Attribute, ast.Subscript)):
            if not isinstance(target.value, ast.Name) or target.value.id not in self.locals:
                raise self.stop("changes an object that outlives the call")
            if isinstance(target, ast.Subscript):
                self.value(target.slice)
            elif target.attr.startswith("__") and target.attr.endswith("__"):
                raise self.stop(f"sets `{target.attr}`, which the parent's listing or the "
                                "framework may read")
            self.mutate(self.local(target.value.id))
        else:
            raise self.stop("assigns to what is not a local name")

    def mutate(self, tokens: frozenset[Token]) -> None:
        if any(obj == SHARED for obj, _ in tokens):
            raise self.stop("changes what may be an object that outlives the call")
        self.mutates.update(obj for obj, _ in tokens if obj != FRESH)

    def value(self, node: ast.expr) -> frozenset[Token]:
        """The tokens of `node`'s value; `Unproven` if evaluating it may do more."""
        if isinstance(node, ast.Constant):
            return _NEW
        if isinstance(node, ast.Name):
            if node.id in self.locals or any(node.id in scope for scope in self.scopes):
                return self.local(node.id)
            self.global_read(node.id)
            return UNKNOWN
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, (ast.Attribute, ast.Subscript)):
            if isinstance(node.value, ast.Name) and node.value.id not in self.locals and \
                    not any(node.value.id in scope for scope in self.scopes):
                raise self.stop(f"reads `{_clip(ast.unparse(node), 40)}` of module-level "
                                "state, which may change before a lazy import")
            if isinstance(node, ast.Attribute) and node.attr in _NAMESPACES:
                raise self.stop(f"reads `{node.attr}`: module-level state, which may change "
                                "before a lazy import")
            self.value(node.value)
            if isinstance(node, ast.Subscript):
                self.value(node.slice)
            return UNKNOWN
        if isinstance(node, (ast.BoolOp, ast.IfExp)):  # `a or b` is a or b
            if isinstance(node, ast.IfExp):
                self.value(node.test)
            parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
            return frozenset().union(*(self.value(p) for p in parts))
        if isinstance(node, _COMPREHENSIONS):
            return self.comprehension(node)
        if isinstance(node, ast.Lambda):
            for default in (*node.args.defaults, *(d for d in node.args.kw_defaults if d)):
                self.value(default)
            return _NEW
        if isinstance(node, ast.Starred):
            return self.value(node.value)
        if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.BinOp, ast.UnaryOp,
                             ast.Compare, ast.JoinedStr, ast.FormattedValue, ast.Slice)):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.value(child)
            return _NEW
        raise self.stop(f"evaluates `{_clip(ast.unparse(node), 40)}`, which is not proven "
                        "inert")

    def comprehension(self, node: ast.expr) -> frozenset[Token]:
        names: set[str] = set()
        self.scopes.append(names)
        try:
            for generator in node.generators:  # type: ignore[attr-defined]
                self.value(generator.iter)
                names.update(n.id for n in ast.walk(generator.target)
                             if isinstance(n, ast.Name))
                for condition in generator.ifs:
                    self.value(condition)
            parts = [node.key, node.value] if isinstance(node, ast.DictComp) else \
                [node.elt]  # type: ignore[attr-defined]
            for part in parts:
                self.value(part)
        finally:
            self.scopes.pop()
        return _NEW

    def string(self, node: ast.expr) -> bool:
        """Whether `node` is a string literal or the module's `__name__` or `__file__`."""
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        return isinstance(node, ast.Name) and node.id in _MODULE_NAMES and \
            node.id not in self.locals and node.id not in self.owner.globals.binds

    def global_read(self, name: str) -> None:
        """A global read as a value: only what cannot change before a lazy import does."""
        owner = self.owner
        binds = len(owner.globals.binds.get(name, []))
        if name in _MODULE_NAMES and not binds:
            return  # set by the import system before the module's code runs
        imported = owner.imports.get(name)
        if name in owner.defs and binds == 1 or imported is not None and (
                imported[2] is None or self.prover.resolve(owner, name) is not None):
            return  # a module, or a function or class of the project
        value = owner.assigned.get(name)
        if value is not None and _constant(value) and binds == 1 or \
                not binds and hasattr(builtins, name):
            return
        raise self.stop(f"reads the module-level `{name}`, which may change before a lazy "
                        "import")

    # calls
    def call(self, node: ast.Call) -> frozenset[Token]:
        func = node.func
        if isinstance(func, ast.Call):  # `functools.wraps(f)(wrapper)`
            if len(node.args) != 1 or node.keywords or \
                    isinstance(node.args[0], ast.Starred):
                raise self.stop(f"calls what `{_clip(ast.unparse(func), 40)}` returns, "
                                "which is not proven inert")
            return self.apply(func, self.value(node.args[0]))
        if isinstance(func, ast.Attribute) and func.attr in _STR_METHODS and \
                self.string(func.value):  # `__name__.split(".")`, `".".join(parts)`
            for argument in (*node.args, *(k.value for k in node.keywords)):
                self.value(argument)
            return _NEW
        positional = [self.value(a) for a in node.args]
        keywords = {k.arg or "**": self.value(k.value) for k in node.keywords}
        name = dotted(func)
        if name is None:
            raise self.stop("calls a computed function, which is not proven inert")
        head, _, method = name.partition(".")
        if head in self.locals or any(head in scope for scope in self.scopes):
            if "." in method or method not in _FRESH_METHODS or \
                    any(obj != FRESH for obj, _ in self.local(head)):
                raise self.stop(f"calls `{name}(...)`, which may run code or change an "
                                "object that outlives the call")
            return _NEW if method == "copy" else UNKNOWN
        external = self.external(func)
        plain = not keywords and not any(isinstance(a, ast.Starred) for a in node.args)
        if external == "functools.update_wrapper" and plain and len(positional) == 2:
            return self.wrap(positional[0], positional[1])
        if external == "functools.wraps" and plain and len(positional) == 1:
            return _NEW  # the decorator it returns is applied by `apply`
        if external == "functools.partial":
            return _NEW
        if external is not None and self.prover.factory(external):
            return frozenset({(FRESH, FRAMEWORK)})  # builds a decorator; runs nothing
        built = self.prover.built(external) if external is not None else None
        if built is not None:  # `typer.Typer(help=help, cls=Group)` stores what it is given
            return frozenset({(FRESH, GROUP if built == "group" else None)})
        if external in _SAME_LATER:
            return UNKNOWN
        if "." not in name and name not in self.owner.globals.binds and \
                hasattr(builtins, name):
            return self.builtin(name, node, positional)
        found = self.project(name)
        if found is None and head in self.owner.globals.binds and \
                head not in self.owner.imports and head not in self.owner.defs:
            raise self.stop(f"calls `{name}(...)` on the module-level `{head}`, an object "
                            "that outlives the call")
        if found is None:
            raise self.stop(f"calls `{name}(...)`, which is not known to be inert")
        if any(isinstance(a, ast.Starred) for a in node.args) or "**" in keywords:
            raise self.stop(f"calls `{name}(...)` with unpacked arguments, which are not "
                            "followed")
        return self.bound(found, positional, keywords)

    def builtin(self, name: str, node: ast.Call,
                positional: list[frozenset[Token]]) -> frozenset[Token]:
        if node.keywords and name != "dict" or name == "type" and len(node.args) != 1:
            raise self.stop(f"calls `{name}(...)` in a way that may run other code "
                            "(`key=`, a class built by `type`)")
        if name == "setattr" and len(node.args) == 3:
            attribute = node.args[1]
            if not isinstance(attribute, ast.Constant) or not isinstance(attribute.value, str) \
                    or attribute.value.startswith("__"):
                raise self.stop("sets an attribute whose name is not a literal of the "
                                "function's own")
            self.store(ast.Attribute(node.args[0], attribute.value, ast.Store()), _NEW, None)
            return _NEW
        if name in _CONSTRUCTORS:
            return _NEW
        read = getattr(node.args[1], "value", None) if len(node.args) > 1 else None
        if name in ("getattr", "hasattr") and read in _NAMESPACES:
            raise self.stop(f"reads `{read}`: module-level state, which may change before a "
                            "lazy import")
        if name in _READ_BUILTINS:
            return UNKNOWN
        raise self.stop(f"calls `{name}(...)`, which is not known to be inert")

    def external(self, func: ast.expr) -> str | None:
        """The full name of a callee (`functools.wraps`) as the module imports it, or None."""
        name = dotted(func)
        head, _, rest = (name or "").partition(".")
        imported = self.owner.imports.get(head)
        if name is None or head in self.locals or imported is None:
            return None
        full = f"{imported[1]}.{imported[2]}" if imported[2] else imported[1]
        return f"{full}.{rest}" if rest else full

    def project(self, name: str) -> Summary | None:
        found = self.prover.resolve(self.owner, name)
        if found is None:
            return None
        try:
            return self.prover.summary(*found, depth=self.depth + 1)
        except Unproven as why:  # the callee's own statement, then where it was called
            raise Unproven(f"{why} (called at {where(self.owner, self.statement)})") \
                from None

    def bound(self, summary: Summary, positional: list[frozenset[Token]],
              keywords: dict[str, frozenset[Token]]) -> frozenset[Token]:
        """The call's result: `summary` with its parameters bound to these arguments
        (whatever it changes must be what this call may change)."""
        try:
            mapping = parameters(summary.node, positional, keywords)
        except Unproven as why:
            raise self.stop(str(why)) from None
        for parameter in summary.mutates:
            self.mutate(mapping.get(parameter, UNKNOWN))
        for parameter in summary.renames:
            given = mapping.get(parameter, UNKNOWN)
            if any(obj != FRESH for obj, _ in given):
                raise self.stop(f"lets `{summary.node.name}` rename what may not be a new "
                                "object")
        return returned(summary, mapping)


def parameters(node: ast.FunctionDef, positional: list[frozenset[Token]],
                keywords: dict[str, frozenset[Token]]) -> dict[str, frozenset[Token]]:
    """{parameter: its argument's tokens}; a parameter left to its default is absent."""
    arguments = node.args
    ordered = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if len(positional) > len(ordered) and arguments.vararg is None:
        raise Unproven(f"`{node.name}` is given more arguments than it takes")
    mapping = dict(zip(ordered, positional))
    for name, tokens in keywords.items():
        if name in mapping or name not in (*ordered, *(a.arg for a in arguments.kwonlyargs)):
            raise Unproven(f"`{node.name}` is given `{name}` twice or without a parameter")
        mapping[name] = tokens
    return mapping


def returned(summary: Summary, mapping: dict[str, frozenset[Token]]) -> frozenset[Token]:
    """The callee's returned tokens in the caller's terms (its parameters replaced by the
    arguments' tokens; a pair that is one argument as given stays that argument's pairs)."""
    out: set[Token] = set()
    for obj, carrier in summary.returns:
        if obj == carrier and obj not in _MARKS:
            out |= mapping.get(obj, UNKNOWN)
            continue
        objects = {o for o, _ in mapping.get(obj, UNKNOWN)} if obj not in _MARKS else {obj}
        carriers = {c for _, c in mapping.get(carrier, UNKNOWN)} \
            if carrier not in _MARKS else {carrier}
        out |= {(o, c) for o in objects for c in carriers}
    return frozenset(out)


def _join(*states: State) -> State:
    out: State = {}
    for state in states:
        for name, tokens in state.items():
            out[name] = out.get(name, frozenset()) | tokens
    return out


def _returns_always(body: list[ast.stmt]) -> bool:
    """Whether `body` cannot fall off its end (its last statement returns, on every branch
    of an `if`)."""
    last = body[-1] if body else None
    if isinstance(last, ast.If):
        return _returns_always(last.body) and _returns_always(last.orelse)
    return isinstance(last, ast.Return)


def _constant(node: ast.expr) -> bool:
    """An immutable literal: a constant, or a tuple of them."""
    if isinstance(node, ast.Constant):
        return True
    return isinstance(node, ast.Tuple) and all(_constant(e) for e in node.elts)


def _future_annotations(module: SourceModule) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "__future__" and
               any(a.name == "annotations" for a in n.names) for n in module.tree.body)


def where(module: SourceModule, node: ast.AST) -> str:
    """`pkg/mod.py:12`: the module's file as its name spells it, and the line."""
    tail = "/__init__.py" if module.path.endswith("__init__.py") else ".py"
    return f"{module.name.replace('.', '/')}{tail}:{getattr(node, 'lineno', 0)}"


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
