"""A decorator of a module's own that only files what it decorates into a table the module
built: proved from the source, so applying it at import is not an effect.

xarray's `core/extension_array.py` is the case::

    HANDLED_EXTENSION_ARRAY_FUNCTIONS: dict[Callable, Callable] = {}

    def implements(numpy_function_or_name):
        def decorator(func):
            if isinstance(numpy_function_or_name, str):
                numpy_function = getattr(np, numpy_function_or_name, None)
            else:
                numpy_function = numpy_function_or_name
            if numpy_function:
                HANDLED_EXTENSION_ARRAY_FUNCTIONS[numpy_function] = func
            return func
        return decorator

    @implements(np.issubdtype)
    def __extension_duck_array__issubdtype(...): ...

Named like a registration, but the table is the module's own and so is the decorated
function: no one holds the table before the module has run, and whenever the module is
imported it ends up the same. Counting it as an effect kept the importers of xarray's core
eager.

What is proved, and nothing else:

- the decorator is a plain function of the same module (or a factory whose body defines it
  and returns it), bound once, applied in that module to a function statement, innermost
  (below any other decorator, so what it gets is the new function);
- its body binds its own locals, writes into the module's tables (`TABLE[key] = value`,
  `TABLE.append(...)`: module-level names bound once to a dict, list or set display the
  module built), sets attributes of the function it decorates or of one it defines itself
  (a name bound only by that `def`), branches, returns, and loops over its own `*args`, a
  literal display or a module-level name bound once to one;
- it calls only `isinstance`, `issubclass`, `getattr`, `hasattr`, `callable`, `len` and
  one-argument `type` (builtins the module does not rebind); attributes are read, and
  `getattr`/`hasattr` look, only on the function it decorates and on imported modules
  outside the module's own top-level package (a project module's `__getattr__` or a
  descriptor of a project class could run code: xarray's `getattr(np, name, None)` is
  numpy's, outside xarray).

A module with a star import, or that names `globals`, `vars` or `sys.modules`, proves
nothing: what its names are bound to is not what the statements say. Implicit protocols of
the values involved (`__hash__` of a table key, `__bool__` of a test) are taken to change
nothing.

Class hooks (`__init_subclass__`) that only check the new class looked like the same kind of
case, and were tried and dropped (twice): a hook whose body touches only `cls` still runs
what the new class brings (`hasattr(object.__new__(cls), "__dict__")` calls its `__getattr__`
and the `__del__` of its MRO, `cls.attr == ...` a descriptor and an `__eq__`, `setattr(cls,
...)` a metaclass's `__setattr__`, `super().__init_subclass__()` a sibling base's hook), and
when its warning is issued decides which filter it meets. `tests/audit/
test_class_hook_attacks.py` runs each; docs/audit.md says why a proof would not pay on xarray
either (its `tutorial` chain keeps the statement for the backends' `atexit` handler).
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Collection, Mapping

__all__ = ["Confinement"]

#: Builtins a proved function may call: they read, and change nothing.
_READING_BUILTINS = frozenset({"isinstance", "issubclass", "getattr", "hasattr", "callable",
                               "len", "type"})
#: Methods that change a table in place (dict, list, set).
_TABLE_METHODS = frozenset({"update", "setdefault", "append", "extend", "add", "insert"})
_PLAIN_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List,
                ast.Set, ast.Dict, ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp,
                ast.JoinedStr, ast.FormattedValue, ast.Load, ast.boolop, ast.unaryop,
                ast.cmpop, ast.Slice, ast.expr_context, ast.keyword)


class _Frame:
    """One function being proved: its locals, what it may write, its `*args`."""

    def __init__(self, function: ast.FunctionDef, writable: set[str]) -> None:
        self.stores = _stores(function)
        self.locals = set(self.stores) | _parameters(function)
        self.writable = set(writable)
        self.varargs = {function.args.vararg.arg} if function.args.vararg else set()


class Confinement:
    """Proofs for one module. `functions`: its plain functions (undecorated, bound once at
    module level); `tables`: module-level names bound once to a container it built;
    `constants`: module-level names bound once to a literal display; `module_names`: every
    name it binds (a rebound builtin is not the builtin); `bindings`: its imports (name ->
    what it refers to); `package`: its top-level package."""

    def __init__(self, functions: Mapping[str, ast.FunctionDef], *,
                 tables: Collection[str] = (), constants: Collection[str] = (),
                 module_names: Collection[str] = (),
                 bindings: Mapping[str, str] | None = None, package: str = "") -> None:
        self.functions = functions
        self.tables = frozenset(tables)
        self.constants = frozenset(constants)
        self.module_names = frozenset(module_names)
        self.bindings = bindings or {}
        self.package = package

    def files_into_own_table(self, decorator: ast.expr) -> bool:
        """Whether applying `decorator` (as written at the decoration site, in this module,
        innermost on a function) changes nothing but the module's tables and the function
        it decorates."""
        head = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not isinstance(head, ast.Name) or head.id not in self.functions:
            return False
        definition = self.functions[head.id]
        if not isinstance(decorator, ast.Call):
            return self._decorator(definition, closure=set(), varargs=set())
        if not self._arguments(decorator, None):
            return False
        # a factory: its body may compute locals, then defines the decorator and returns it
        *before, last = definition.body or [ast.Pass()]
        if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name)):
            return False
        name = last.value.id
        inner = [s for s in before if isinstance(s, ast.FunctionDef) and s.name == name]
        frame = _Frame(definition, set())
        # the name returned is bound by that `def` alone (no `decorator = other` later)
        if len(inner) != 1 or frame.stores[name] != 1 or not self._signature(definition):
            return False
        if not self._body([s for s in before if s is not inner[0]], frame):
            return False
        return self._decorator(inner[0], closure=frame.locals, varargs=frame.varargs)

    def _decorator(self, function: ast.FunctionDef, closure: set[str],
                   varargs: set[str]) -> bool:
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        if function.decorator_list or len(positional) != 1 or args.vararg or args.kwarg \
                or args.kwonlyargs or not self._signature(function):
            return False
        frame = _Frame(function, {positional[0].arg})
        if frame.locals & self.tables or frame.stores[positional[0].arg]:
            return False  # a local shadowing a table; the decorated function rebound
        frame.varargs |= varargs - frame.locals  # the factory's *args, not rebound here
        frame.locals |= closure
        return self._body(function.body, frame)

    def _signature(self, function: ast.FunctionDef) -> bool:
        """Defaults evaluate when the `def` runs: they must only read."""
        args = function.args
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        return all(self._plain(d, None) for d in defaults)

    # statements ---------------------------------------------------------------------------
    def _body(self, statements: list[ast.stmt], frame: _Frame) -> bool:
        return all(self._statement(s, frame) for s in statements)

    def _statement(self, node: ast.stmt, frame: _Frame) -> bool:
        if isinstance(node, ast.Pass):
            return True
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return True  # a docstring
            call = node.value
            return (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                    and call.func.attr in _TABLE_METHODS and self._table(call.func.value, frame)
                    and self._arguments(call, frame))
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            return (node.value is None or self._plain(node.value, frame)) and all(
                self._target(t, frame) for t in targets)
        if isinstance(node, ast.AugAssign):  # `x += y` changes x in place: locals only
            return isinstance(node.target, ast.Name) and node.target.id in frame.locals and \
                node.target.id not in frame.writable and self._plain(node.value, frame)
        if isinstance(node, ast.If):
            return self._plain(node.test, frame) and self._body(node.body, frame) \
                and self._body(node.orelse, frame)
        if isinstance(node, ast.For):
            over = node.iter
            iterates = (isinstance(over, ast.Name) and (
                over.id in frame.varargs or over.id in self.constants
                and over.id not in frame.locals)) or (
                isinstance(over, (ast.Tuple, ast.List)) and self._plain(over, frame))
            return iterates and self._target(node.target, frame) and \
                self._body(node.body, frame) and self._body(node.orelse, frame)
        if isinstance(node, ast.FunctionDef):
            # defining a function runs its defaults only; a name bound by that `def` alone
            # is a new function this code may write
            if node.decorator_list or not self._signature(node):
                return False
            if frame.stores[node.name] == 1:
                frame.writable.add(node.name)
            return True
        if isinstance(node, ast.Return):
            return node.value is None or self._plain(node.value, frame)
        return False

    def _target(self, node: ast.expr, frame: _Frame) -> bool:
        if isinstance(node, ast.Name):
            return node.id in frame.locals and node.id not in frame.writable
        if isinstance(node, ast.Tuple):
            return all(self._target(t, frame) for t in node.elts)
        if isinstance(node, ast.Subscript):  # TABLE[key] = value
            return self._table(node.value, frame) and self._plain(node.slice, frame)
        if isinstance(node, ast.Attribute):  # func.__doc__ = ...
            return isinstance(node.value, ast.Name) and node.value.id in frame.writable
        return False

    def _table(self, node: ast.expr, frame: _Frame) -> bool:
        return isinstance(node, ast.Name) and node.id in self.tables and \
            node.id not in frame.locals

    # expressions --------------------------------------------------------------------------
    def _arguments(self, call: ast.Call, frame: _Frame | None) -> bool:
        return not any(isinstance(a, ast.Starred) for a in call.args) and \
            not any(k.arg is None for k in call.keywords) and \
            all(self._plain(a, frame) for a in (*call.args, *(k.value for k in call.keywords)))

    def _plain(self, node: ast.expr, frame: _Frame | None) -> bool:
        """Reads only: names, literals, comparisons; items of what this code owns;
        attributes of what may be read (`_readable`); calls of the reading builtins."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                if not self._reading_call(sub, frame):
                    return False
            elif isinstance(sub, ast.Attribute):
                if not self._readable(sub.value, frame):
                    return False
            elif isinstance(sub, ast.Subscript):
                # an item read of an object of unknown class may write (a defaultdict
                # another module holds inserts the key): only of what this code owns
                owner = sub.value
                if not (isinstance(owner, ast.Name) and (
                        owner.id in self.tables or owner.id in self.constants
                        or frame is not None and owner.id in frame.locals)):
                    return False
            elif not isinstance(sub, _PLAIN_NODES):
                return False
        return True

    def _readable(self, node: ast.expr, frame: _Frame | None) -> bool:
        """Whether reading an attribute of `node` runs no code of the project: it is the
        function being decorated (or one this code defined), or a name bound to an import
        from outside the module's top-level package (`np` in `np.issubdtype`)."""
        while isinstance(node, ast.Attribute):
            node = node.value
        if not isinstance(node, ast.Name):
            return False
        if frame is not None and node.id in frame.locals:
            return node.id in frame.writable
        target = self.bindings.get(node.id)
        return target is not None and node.id not in self.functions and \
            target.split(".")[0] != self.package and not target.startswith(".")

    def _reading_call(self, call: ast.Call, frame: _Frame | None) -> bool:
        if any(isinstance(a, ast.Starred) for a in call.args) or \
                any(k.arg is None for k in call.keywords):
            return False
        func = call.func
        if not isinstance(func, ast.Name) or func.id not in _READING_BUILTINS or \
                func.id in self.module_names or frame is not None and func.id in frame.locals:
            return False
        if func.id == "type" and len(call.args) != 1:
            return False  # type(name, bases, namespace) makes a class: its bases' hooks run
        if func.id in ("getattr", "hasattr"):  # may run the object's __getattr__
            return bool(call.args) and self._readable(call.args[0], frame)
        return True


def _parameters(function: ast.FunctionDef) -> set[str]:
    args = function.args
    return {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                            *(x for x in (args.vararg, args.kwarg) if x))}


def _stores(function: ast.FunctionDef) -> Counter[str]:
    """How many times `function` binds each name in its own scope (a nested function's
    names are its own; a `global` or `nonlocal` statement is refused by `_statement`)."""
    counts: Counter[str] = Counter()
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            counts[node.name] += 1
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            counts[node.id] += 1
        stack.extend(ast.iter_child_nodes(node))
    return counts
