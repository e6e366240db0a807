"""Code a module runs at import that changes nothing outside what it is given: proved from
the source, so it is not an import effect.

Two shapes, both from xarray 2026.9, whose package `__init__` they kept eager:

- **A decorator filing into the module's own table.** `core/extension_array.py`::

      HANDLED_EXTENSION_ARRAY_FUNCTIONS: dict[Callable, Callable] = {}

      def implements(numpy_function_or_name):
          def decorator(func):
              ...
              if numpy_function:
                  HANDLED_EXTENSION_ARRAY_FUNCTIONS[numpy_function] = func
              return func
          return decorator

      @implements(np.issubdtype)
      def __extension_duck_array__issubdtype(...): ...

  Named like a registration, but the table is the module's own and so is the decorated
  function: no one holds the table before the module has run, and whenever the module is
  imported it ends up the same. The decorator must be a plain function of the same module
  (or a factory whose body defines and returns one), applied in that module.
- **A class hook that only checks or completes the new class.** `__init_subclass__` runs
  when a subclass is defined, in whatever module defines it: `NamedArray`'s raises if the
  subclass lacks `_new`; `AttrAccessMixin`'s raises (or, for a class defined outside xarray,
  sets `cls.__setattr__` and warns) when it lacks `__slots__`; `IncludeNumpySameMethods`'s
  calls `inject_numpy_same(cls)`, which `setattr`s method wrappers on `cls`. None of it
  reaches anything but the class being defined, so defining that class later, or never,
  changes nothing else. A warning the hook issues is about that class, and comes with it.

What a proved function may do, and nothing else:

- bind its own locals; set attributes of what it may write (a hook: `cls`; a decorator: the
  function it decorates; a function it defines itself), with `x.attr = ...` or
  `setattr(x, ...)`; a decorator also writes into the module's tables (`TABLE[key] = value`,
  `TABLE.append(...)`), which a hook may not: a hook that files subclasses into a table is a
  registry, and which subclasses it holds depends on what was imported;
- branch, raise a builtin exception, return, define a nested function (undecorated: a `def`
  runs nothing but its defaults); loop over its own `*args`, a literal display, or a
  module-level name bound once to one;
- call only: `isinstance`, `issubclass`, `getattr`, `hasattr`, `callable`, `len`, `type`
  (builtins the module does not rebind); `object.__new__(cls)`; `cls.__module__
  .startswith(...)` (and `__name__`, `__qualname__`, `endswith`); a hook's
  `super().__init_subclass__(**kwargs)` and `warnings.warn(...)`; and another plain function
  of the same module that is itself proved, with what it may write passed along (four calls
  deep at most).

A module-level table or function is one bound once at module level: a second binding, or a
`global` statement in any function, and nothing is proved for that name.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Mapping

__all__ = ["Confinement"]

#: Builtins a proved function may call: they read, and change nothing.
_READING_BUILTINS = frozenset({"isinstance", "issubclass", "getattr", "hasattr", "callable",
                               "len", "type"})
#: Builtin exceptions a proved function may raise (constructing one runs nothing else).
_EXCEPTIONS = frozenset({"TypeError", "ValueError", "AttributeError", "RuntimeError",
                         "NotImplementedError", "KeyError", "LookupError", "Exception"})
#: Methods that change a table in place (dict, list, set).
_TABLE_METHODS = frozenset({"update", "setdefault", "append", "extend", "add", "insert"})
#: A class's own strings, and the str methods a hook may call on them.
_CLASS_STRINGS = frozenset({"__module__", "__name__", "__qualname__"})
_STRING_TESTS = frozenset({"startswith", "endswith"})
_PLAIN_NODES = (ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Tuple, ast.List,
                ast.Set, ast.Dict, ast.BoolOp, ast.UnaryOp, ast.Compare, ast.IfExp,
                ast.JoinedStr, ast.FormattedValue, ast.Load, ast.boolop, ast.unaryop,
                ast.cmpop, ast.Slice, ast.expr_context, ast.keyword)
_DEPTH = 4


class _Frame:
    """One function being proved: its locals, what it may write, its `*args`."""

    def __init__(self, function: ast.FunctionDef, writable: set[str], hook: bool) -> None:
        self.locals = _bound_in(function)
        self.writable = set(writable)
        self.varargs = {function.args.vararg.arg} if function.args.vararg else set()
        self.kwargs = function.args.kwarg.arg if function.args.kwarg else None
        self.hook = hook


class Confinement:
    """Proofs for one module. `functions`: its plain functions (undecorated, bound once at
    module level); `tables`: module-level names bound once to a container it built;
    `constants`: module-level names bound once to a literal display; `module_names`: every
    name it binds (a rebound builtin is not the builtin); `bindings`: its imports (name ->
    what it refers to)."""

    def __init__(self, functions: Mapping[str, ast.FunctionDef], *,
                 tables: Collection[str] = (), constants: Collection[str] = (),
                 module_names: Collection[str] = (),
                 bindings: Mapping[str, str] | None = None) -> None:
        self.functions = functions
        self.tables = frozenset(tables)
        self.constants = frozenset(constants)
        self.module_names = frozenset(module_names)
        self.bindings = bindings or {}
        self._proved: dict[tuple[str, frozenset[str]], bool] = {}
        self._depth = 0

    # the two shapes ---------------------------------------------------------------------
    def files_into_own_table(self, decorator: ast.expr) -> bool:
        """Whether applying `decorator` (as written at the decoration site, in this module)
        changes nothing but the module's tables and the function it decorates."""
        head = decorator.func if isinstance(decorator, ast.Call) else decorator
        if not isinstance(head, ast.Name) or head.id not in self.functions:
            return False
        definition = self.functions[head.id]
        if not isinstance(decorator, ast.Call):
            return self._decorator(definition, closure=set())
        if not self._arguments(decorator, None):
            return False
        # a factory: its body may compute locals, then defines the decorator and returns it
        *before, last = definition.body or [ast.Pass()]
        if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name)):
            return False
        inner = [s for s in before if isinstance(s, ast.FunctionDef) and s.name == last.value.id]
        if len(inner) != 1 or not self._signature(definition, None):
            return False
        frame = _Frame(definition, set(), hook=False)
        if not self._body([s for s in before if s is not inner[0]], frame, tables=True):
            return False
        return self._decorator(inner[0], closure=frame.locals, varargs=frame.varargs)

    def hook(self, function: ast.FunctionDef) -> bool:
        """Whether the class hook `function` (`__init_subclass__(cls, **kwargs)`) changes
        nothing but the class it is given."""
        positional = [*function.args.posonlyargs, *function.args.args]
        decorators = [d for d in function.decorator_list
                      if not (isinstance(d, ast.Name) and d.id == "classmethod")]
        if not positional or decorators or not self._signature(function, None):
            return False
        return self._body(function.body, _Frame(function, {positional[0].arg}, hook=True),
                          tables=False)

    # functions ----------------------------------------------------------------------------
    def _decorator(self, function: ast.FunctionDef, closure: set[str],
                   varargs: set[str] = frozenset()) -> bool:
        args = function.args
        positional = [*args.posonlyargs, *args.args]
        if len(positional) != 1 or args.vararg or args.kwarg or args.kwonlyargs or \
                not self._signature(function, None):
            return False
        frame = _Frame(function, {positional[0].arg}, hook=False)
        if frame.locals & self.tables:  # a local shadowing a table
            return False
        frame.varargs |= varargs - frame.locals  # the factory's *args, not rebound here
        frame.locals |= closure
        return self._body(function.body, frame, tables=True)

    def _called(self, call: ast.Call, caller: _Frame, tables: bool) -> bool:
        """A call of another plain function of the module, proved with what the caller may
        write passed along by position or keyword."""
        func = call.func
        if not isinstance(func, ast.Name) or func.id not in self.functions or \
                func.id in caller.locals or self._depth >= _DEPTH:
            return False
        if not self._arguments(call, caller):
            return False
        callee = self.functions[func.id]
        args = callee.args
        names = [a.arg for a in (*args.posonlyargs, *args.args)]
        if len(call.args) > len(names) or callee.decorator_list:
            return False
        writable = {names[i] for i, a in enumerate(call.args)
                    if isinstance(a, ast.Name) and a.id in caller.writable}
        writable |= {k.arg for k in call.keywords
                     if isinstance(k.value, ast.Name) and k.value.id in caller.writable}
        key = (func.id, frozenset(writable))
        if key not in self._proved:
            self._proved[key] = False  # recursion proves nothing
            self._depth += 1
            try:
                frame = _Frame(callee, writable, hook=False)
                self._proved[key] = self._signature(callee, None) and \
                    self._body(callee.body, frame, tables)
            finally:
                self._depth -= 1
        return self._proved[key]

    def _signature(self, function: ast.FunctionDef, frame: _Frame | None) -> bool:
        """Defaults evaluate when the `def` runs: they must only read."""
        args = function.args
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        return all(self._plain(d, frame) for d in defaults)

    # statements ---------------------------------------------------------------------------
    def _body(self, statements: list[ast.stmt], frame: _Frame, tables: bool) -> bool:
        return all(self._statement(s, frame, tables) for s in statements)

    def _statement(self, node: ast.stmt, frame: _Frame, tables: bool) -> bool:
        if isinstance(node, ast.Pass):
            return True
        if isinstance(node, ast.Expr):
            if isinstance(node.value, ast.Constant):
                return True  # a docstring
            return isinstance(node.value, ast.Call) and self._effect_call(node.value, frame,
                                                                          tables)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            return (value is None or self._plain(value, frame) or (
                isinstance(value, ast.Call) and self._called(value, frame, tables))) and all(
                self._target(t, frame, tables) for t in targets)
        if isinstance(node, ast.If):
            return self._plain(node.test, frame) and self._body(node.body, frame, tables) \
                and self._body(node.orelse, frame, tables)
        if isinstance(node, ast.For):
            over = node.iter
            iterates = (isinstance(over, ast.Name) and (
                over.id in frame.varargs or over.id in self.constants
                and over.id not in frame.locals)) or (
                isinstance(over, (ast.Tuple, ast.List)) and self._plain(over, frame))
            return iterates and self._target(node.target, frame, tables=False) and \
                self._body(node.body, frame, tables) and self._body(node.orelse, frame, tables)
        if isinstance(node, ast.Raise):
            return node.cause is None and (node.exc is None or self._plain(node.exc, frame)
                                           or self._exception(node.exc, frame))
        if isinstance(node, ast.FunctionDef):
            # defining a function runs its defaults only; it is a new object this may write
            if node.decorator_list or not self._signature(node, frame):
                return False
            frame.writable.add(node.name)
            return True
        if isinstance(node, ast.Return):
            return node.value is None or self._plain(node.value, frame) or (
                isinstance(node.value, ast.Call) and self._called(node.value, frame, tables))
        return False

    def _target(self, node: ast.expr, frame: _Frame, tables: bool) -> bool:
        if isinstance(node, ast.Name):
            return node.id in frame.locals and node.id not in frame.writable
        if isinstance(node, ast.Tuple):
            return all(self._target(t, frame, tables) for t in node.elts)
        if isinstance(node, ast.Subscript):  # TABLE[key] = value
            return tables and self._table(node.value, frame) and self._plain(node.slice, frame)
        if isinstance(node, ast.Attribute):  # cls.attr = ..., func.__doc__ = ...
            return isinstance(node.value, ast.Name) and node.value.id in frame.writable
        return False

    def _table(self, node: ast.expr, frame: _Frame) -> bool:
        return isinstance(node, ast.Name) and node.id in self.tables and \
            node.id not in frame.locals

    def _effect_call(self, call: ast.Call, frame: _Frame, tables: bool) -> bool:
        func = call.func
        if isinstance(func, ast.Attribute):
            if tables and func.attr in _TABLE_METHODS and self._table(func.value, frame):
                return self._arguments(call, frame)
            if frame.hook and func.attr == "__init_subclass__" and _is_super(func.value):
                return all(self._plain(a, frame) for a in call.args) and all(
                    self._plain(k.value, frame) if k.arg is not None else (
                        isinstance(k.value, ast.Name) and k.value.id == frame.kwargs)
                    for k in call.keywords)
        if frame.hook and self._resolves(func, "warnings.warn"):
            return self._arguments(call, frame)
        if self._builtin(func, "setattr", frame) and len(call.args) == 3 and \
                not call.keywords:
            owner, name, value = call.args
            return isinstance(owner, ast.Name) and owner.id in frame.writable and \
                self._plain(name, frame) and (self._plain(value, frame) or (
                    isinstance(value, ast.Call) and self._called(value, frame, tables)))
        return self._called(call, frame, tables)

    # expressions --------------------------------------------------------------------------
    def _arguments(self, call: ast.Call, frame: _Frame | None) -> bool:
        return not any(isinstance(a, ast.Starred) for a in call.args) and \
            not any(k.arg is None for k in call.keywords) and \
            all(self._plain(a, frame) for a in (*call.args, *(k.value for k in call.keywords)))

    def _plain(self, node: ast.expr, frame: _Frame | None) -> bool:
        """Reads only: names, attributes, items, literals, comparisons, and the calls that
        only read (the reading builtins, `object.__new__(cls)`, `cls.__module__
        .startswith(...)`)."""
        for sub in ast.walk(node):
            if isinstance(sub, ast.Call):
                if not self._reading_call(sub, frame):
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

    def _reading_call(self, call: ast.Call, frame: _Frame | None) -> bool:
        if any(isinstance(a, ast.Starred) for a in call.args) or \
                any(k.arg is None for k in call.keywords):
            return False
        func = call.func
        if isinstance(func, ast.Name):
            if func.id == "type" and len(call.args) != 1:
                return False  # type(name, bases, namespace) makes a class: its bases' hooks run
            return func.id in _READING_BUILTINS and self._builtin(func, func.id, frame)
        if not isinstance(func, ast.Attribute) or frame is None:
            return False
        if func.attr == "__new__" and self._builtin(func.value, "object", frame):
            # object.__new__(cls): a bare instance, no __init__ or __new__ of the class run
            return len(call.args) == 1 and isinstance(call.args[0], ast.Name) and \
                call.args[0].id in frame.writable and not call.keywords
        owner = func.value
        return func.attr in _STRING_TESTS and isinstance(owner, ast.Attribute) and \
            owner.attr in _CLASS_STRINGS and isinstance(owner.value, ast.Name) and \
            owner.value.id in frame.writable and frame.hook

    def _exception(self, node: ast.expr, frame: _Frame) -> bool:
        return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in _EXCEPTIONS and self._builtin(node.func, node.func.id, frame) \
            and self._arguments(node, frame)

    def _builtin(self, node: ast.expr, name: str, frame: _Frame | None) -> bool:
        return isinstance(node, ast.Name) and node.id == name and \
            name not in self.module_names and (frame is None or name not in frame.locals)

    def _resolves(self, node: ast.expr, target: str) -> bool:
        """`node` names `target` through the module's imports (`warnings.warn`, or `warn`
        from `from warnings import warn`)."""
        if isinstance(node, ast.Name):
            return self.bindings.get(node.id) == target
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            return f"{self.bindings.get(node.value.id)}.{node.attr}" == target
        return False


def _is_super(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
        node.func.id == "super" and not node.args and not node.keywords


def _bound_in(function: ast.FunctionDef) -> set[str]:
    """The names `function` binds, its parameters included (a `global` or `nonlocal`
    statement is refused by `_statement`; a nested function's names are its own)."""
    args = function.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                             *(x for x in (args.vararg, args.kwarg) if x))}
    stack: list[ast.AST] = list(function.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        stack.extend(ast.iter_child_nodes(node))
    return names
