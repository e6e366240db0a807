"""Pass 2 of a module's scan: where each bound name is used (with its context and scope),
the calls the module makes while it is imported, its side effects, and what its functions
call. Reads the `ModuleScan` pass 1 (`_scan._Collector`) filled with import sites."""

from __future__ import annotations

import ast

from . import safety
from ._confined import Confinement
from ._scan_model import (COMPREHENSIONS, FUNCTIONS, Annotated, Effect, FunctionInfo,
                          ModuleScan, is_main_guard, is_type_checking, dotted,
                          resolve_relative)
from .model import IMPORT_TIME_CONTEXTS, BoundName, Use

_SELF_LOOKUPS = frozenset({"importlib.import_module", "__import__", "sys.modules.get",
                           "sys.modules.__getitem__"})

#: Containers a module builds itself, and the methods that change one in place.
_CONTAINER_DISPLAYS = (ast.Dict, ast.List, ast.Set, ast.DictComp, ast.ListComp, ast.SetComp)
_CONTAINER_TYPES = frozenset({"dict", "list", "set"})
_CONTAINER_MUTATORS = frozenset({"update", "setdefault", "append", "extend", "add", "insert",
                                 "remove", "discard", "sort"})
#: Library classes whose constructor, and these methods, change nothing but the object itself
#: and what it builds (they store and read their arguments): a module-level object of one,
#: built by the module, is the module's own business, like its containers. Each entry is
#: attacked against the installed library by tests/audit/test_confined_calls.py (every module
#: global and class attribute of the library, and sys.modules, unchanged by the calls).
CONFINED_METHODS = {
    "pluggy.PluginManager": frozenset({"add_hookspecs"}),
    "argparse.ArgumentParser": frozenset({"add_argument", "set_defaults"}),
}
#: Of those, the classes that run code they are given (argparse instantiates an `action=`
#: or `formatter_class=` class): their constructor's and methods' arguments must be plain
#: (`_plain`: literals, builtin types, a string `action=`).
_LITERAL_ARGUMENTS = frozenset({"argparse.ArgumentParser"})
#: Builtin types an argument may name (stored as a converter, never instantiated there).
_BUILTIN_TYPES = frozenset({"int", "float", "str", "bool", "bytes", "complex"})
#: Strings the import system sets before the module runs (`description=__doc__`).
_MODULE_STRINGS = frozenset({"__doc__", "__name__", "__file__"})


#: Module-level calls whose point is a side effect, by what they change.
_EFFECT_CALLS = {
    "atexit.register": "registers an atexit handler",
    "sys.path.insert": "edits sys.path",
    "sys.path.append": "edits sys.path",
    "sys.path.extend": "edits sys.path",
    "sys.path.remove": "edits sys.path",
    "site.addsitedir": "edits sys.path",
    "codecs.register": "registers a codec",
    "codecs.register_error": "registers a codec error handler",
    "logging.basicConfig": "configures logging",
    "logging.config.dictConfig": "configures logging",
    "logging.config.fileConfig": "configures logging",
    "logging.captureWarnings": "configures logging",
    "logging.setLoggerClass": "configures logging",
    "signal.signal": "installs a signal handler",
    "warnings.filterwarnings": "installs a warnings filter",
    "warnings.simplefilter": "installs a warnings filter",
    "mimetypes.add_type": "registers a MIME type",
    "copyreg.pickle": "registers a pickle reducer",
    "faulthandler.enable": "enables faulthandler",
    "sys.setrecursionlimit": "changes the recursion limit",
    "sys.settrace": "installs a trace function",
    "sys.setprofile": "installs a profile function",
    "os.environ.setdefault": "edits the environment",
    "os.environ.update": "edits the environment",
    "os.putenv": "edits the environment",
    "setattr": "monkeypatches an attribute",
    "builtins.setattr": "monkeypatches an attribute",
    "readline.parse_and_bind": "configures readline",
    "readline.set_completer": "configures readline",
}
_EFFECT_ATTRS = {
    "sys.modules": "edits sys.modules",
    "os.environ": "edits the environment",
    "sys.excepthook": "replaces sys.excepthook",
    "sys.displayhook": "replaces sys.displayhook",
    "sys.meta_path": "edits the import system",
    "sys.path_hooks": "edits the import system",
    "sys.path": "edits sys.path",
    "builtins": "edits builtins",
}
#: Decorator and call names that register the decorated object somewhere else.
_REGISTERING = ("register", "route", "hookimpl", "receiver", "connect", "subscribe",
                "listens_for", "command", "implements", "plugin", "add_command")


# -- pass 2: where names are used, import-time calls, effects -------------------------------

class _Scope:
    __slots__ = ("kind", "qualname", "line", "_locals", "node", "parent", "info", "imports")

    def __init__(self, kind: str, qualname: str, line: int, local: set[str] | None,
                 parent: _Scope | None, node: ast.AST | None = None) -> None:
        self.kind = kind          # "module", "class", "function"
        self.qualname = qualname
        self.line = line
        self._locals = local
        self.node = node
        self.parent = parent
        self.info: Annotated | None = None  # a class: its record, for field annotations
        self.imports: dict[str, str] = {}  # a function: what its own imports bind

    @property
    def locals(self) -> set[str]:
        # Computed on the first use of an imported name inside the function: most
        # functions of a big package never need it.
        if self._locals is None:
            self._locals = _locals(self.node)  # type: ignore[arg-type]
        return self._locals

    def function(self) -> _Scope | None:
        scope: _Scope | None = self
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        return scope


class UseWalker:
    def __init__(self, scan: ModuleScan, lazy_annotations: bool) -> None:
        self.scan = scan
        self.lazy_annotations = lazy_annotations
        self.by_name: dict[str, list[BoundName]] = {}
        for site in scan.sites:
            for bound in site.names:
                self.by_name.setdefault(bound.name, []).append(bound)
        self.module_names = set(scan.defined)
        #: Uses of the whole module namespace (`exec(code, globals())`): they pin every name.
        self.namespace_uses: list[Use] = []
        #: Functions an import cannot move into: qualname -> the pin's wording, and for a
        #: stub or setter (which shares its qualname with other defs) the lines of its body.
        self.unmovable: dict[str, list[tuple[str, range | None]]] = {}
        self._capture: list[tuple[str, Use]] | None = None
        #: Effect prefixes undone by an enclosing `with` (`warnings.` in catch_warnings).
        self._scoped: list[tuple[str, ...]] = []
        self._handled: set[int] = set()  # globals() calls already read by their parent
        #: module-level names bound once to an object the module built (`own_containers`):
        #: name -> (the methods that change only that object, whether their arguments must
        #: be `_plain`)
        self._owned: dict[str, tuple[frozenset[str], bool]] = {}
        self._rebound: set[str] = set()
        #: the module's tree, and what `_files_into_own_table` reads of it (names bound once,
        #: plain functions, literal constants), read on first need
        self._tree: ast.Module | None = None
        self._facts: tuple[set[str], dict[str, ast.FunctionDef], set[str]] | None = None

    def run(self, tree: ast.Module) -> None:
        scope = _Scope("module", "", 0, set(), None)
        self._tree = tree
        self.block(tree.body, scope, checking=False)
        if self.scan.all_names:
            for name in self.scan.all_names:
                for bound in self.by_name.get(name, ()):
                    bound.uses.append(Use("all", 0))
        self.rebound(tree)
        for use in self.namespace_uses:
            for bounds in self.by_name.values():
                for bound in bounds:
                    bound.uses.append(use)
        if self.unmovable:
            for bounds in self.by_name.values():
                for use in (u for b in bounds for u in b.uses):
                    detail = self._unmovable_detail(use)
                    if detail is not None:
                        use.context, use.detail = "unmovable", detail

    def rebound(self, tree: ast.Module) -> None:
        """An imported name the module binds again (`if ...: def helper()`, a second import,
        `global helper` in a function) is module state: a copy imported inside a function
        would shadow the other binding."""
        bindings, declared = _module_bindings(
            tree, any(line.lstrip().startswith("global ") for line in self.scan.lines))
        where = self.scan.file
        for name, (function, line) in declared.items():
            self.scan.rebinders[name] = f"rebound by `global {name}` in {function}() " \
                                        f"({where}:{line})"
        for name, bounds in self.by_name.items():
            lines = bindings.get(name, [])
            if len(lines) - lines.count(-1) > 1:
                lines = sorted({line for line in lines if line > 0})
                detail = f"bound again at module level (lines {', '.join(map(str, lines))} " \
                    f"of {where})"
            elif name in declared:
                function, line = declared[name]
                detail = f"rebound by `global {name}` in {function}() ({where}:{line})"
            else:
                continue
            use = Use("rebound", lines[-1] if lines else declared[name][1], detail=detail)
            for bound in bounds:
                bound.uses.append(use)

    def _unmovable_detail(self, use: Use) -> str | None:
        if use.context not in ("function", "lambda") or not use.scope:
            return None
        parts = use.scope.split(".")
        for cut in range(len(parts), 0, -1):  # nested functions are compiled with theirs
            for detail, lines in self.unmovable.get(".".join(parts[:cut]), ()):
                if lines is None or use.line in lines:
                    return detail
        return None

    # statements ----------------------------------------------------------------------
    def block(self, body: list[ast.stmt], scope: _Scope, checking: bool) -> None:
        for node in body:
            self.stmt(node, scope, checking)

    def stmt(self, node: ast.stmt, scope: _Scope, checking: bool) -> None:
        at_import = scope.kind != "function"
        base = "type-checking" if checking else self.context(scope)
        if isinstance(node, FUNCTIONS):
            self.function(node, scope, checking)
            return
        if isinstance(node, ast.ClassDef):
            for decorator in node.decorator_list:
                self.expr(decorator, scope, "type-checking" if checking else
                          ("decorator" if at_import else base))
                if at_import and not checking:
                    self.registration(decorator, node.lineno)
            for item in (*node.bases, *(k.value for k in node.keywords)):
                self.expr(item, scope, "type-checking" if checking else
                          ("class-base" if at_import else base))
            inner = _Scope("class", f"{scope.qualname}{node.name}.", node.lineno, set(), scope,
                           node)
            if at_import and not checking:
                inner.info = Annotated("class", f"{scope.qualname}{node.name}", node.lineno,
                                       self.decorator_names(node.decorator_list),
                                       [self.object_name(b) for b in node.bases])
                self.scan.annotated.append(inner.info)
                if "type" in inner.info.bases or any(
                        isinstance(item, FUNCTIONS) and item.name == "__init_subclass__"
                        for item in node.body):
                    self.scan.subclass_hooks.add(inner.info.qualname)
                for keyword in node.keywords:
                    if keyword.arg == "metaclass":
                        self.scan.metaclasses[inner.info.qualname] = \
                            self.object_name(keyword.value)
                compiler = next(filter(None, map(safety.compiler, inner.info.decorators)), None)
                if compiler:  # numba's jitclass compiles every method
                    self.unmovable.setdefault(inner.info.qualname, []).append((
                        f"used inside {compiler}-compiled class {inner.info.qualname} "
                        f"({self.scan.file}:{node.lineno})", None))
            self.block(node.body, inner, checking)
            return
        if isinstance(node, (ast.With, ast.AsyncWith)) and at_import and not checking:
            scoped = tuple(p for item in node.items if isinstance(item.context_expr, ast.Call)
                           for p in safety.scoped_effects(
                               self.resolve(item.context_expr.func) or ""))
            self._scoped.append(scoped)
            try:
                self.generic(node, scope, checking, base)
            finally:
                self._scoped.pop()
            return
        if isinstance(node, ast.If) and scope.kind == "module" and is_main_guard(node.test):
            self.scan.main_blocks.append((node.body[0].lineno,
                                          node.body[-1].end_lineno or node.body[-1].lineno))
        if isinstance(node, ast.If) and is_type_checking(node.test):
            self.expr(node.test, scope, base)
            self.block(node.body, scope, checking=True)
            self.block(node.orelse, scope, checking)
            return
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            self.self_import(node)
            function = scope.function()
            if function is not None:
                for alias in node.names:
                    module = alias.name if isinstance(node, ast.Import) else resolve_relative(
                        self.scan.name, self.scan.is_package, node.level, node.module)
                    self.scan.deferred.append((module, node.lineno))
                    if alias.name == "*":
                        continue
                    if isinstance(node, ast.Import):
                        function.imports[alias.asname or alias.name.split(".")[0]] = \
                            alias.name if alias.asname else alias.name.split(".")[0]
                    else:
                        function.imports[alias.asname or alias.name] = f"{module}.{alias.name}"
                        # it needs `module.name` when the function runs: the name must stay
                        # bound in `module` (a module-level import of it stays there)
                        self.scan.from_imports.append((module, alias.name, node.lineno))
            return
        if isinstance(node, ast.AnnAssign):
            annotation_context = ("annotation" if scope.kind == "function" or
                                  self.lazy_annotations else "annotation-runtime")
            if checking:
                annotation_context = "type-checking"
            self._capture = scope.info.uses if scope.info is not None else None
            self.annotation(node.annotation, scope, annotation_context)
            self._capture = None
            if node.value is not None:
                self.expr(node.value, scope, base)
            self.expr(node.target, scope, base)
            if at_import and not checking:
                self.assignment_effect([node.target], node.value, node.lineno)
                self.own_containers([node.target], node.value, scope)
            return
        if isinstance(node, (ast.Assign, ast.AugAssign)) and at_import and not checking:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            self.assignment_effect(targets, node.value, node.lineno)
            self.own_containers(targets, node.value if isinstance(node, ast.Assign) else None,
                                scope)
            if scope.kind == "module" and isinstance(node.value, ast.Call):
                callee = self.resolve(node.value.func) or dotted(node.value.func)
                for target in targets:
                    if isinstance(target, ast.Name) and callee:
                        self.scan.instances[target.id] = callee
        if (isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
                and scope.kind == "module"):
            # `keys |= {...}` reads the name before it binds it (its Name is a Store)
            self.use(node.target.id, node.lineno, scope, base)
        if isinstance(node, ast.Expr) and at_import and not checking:
            if isinstance(node.value, ast.Call):
                self.call_effect(node.value, node.lineno)
        self.generic(node, scope, checking, base)

    def generic(self, node: ast.stmt, scope: _Scope, checking: bool, base: str) -> None:
        """Walk child expressions in this context, child statements in this scope."""
        for _field_name, value in ast.iter_fields(node):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, ast.stmt):
                    self.stmt(item, scope, checking)
                elif isinstance(item, ast.expr):
                    self.expr(item, scope, base)
                elif isinstance(item, ast.excepthandler):
                    if item.type is not None:
                        self.expr(item.type, scope, base)
                    self.block(item.body, scope, checking)
                elif isinstance(item, ast.withitem):
                    self.expr(item.context_expr, scope, base)
                    if item.optional_vars is not None:
                        self.expr(item.optional_vars, scope, base)
                elif isinstance(item, ast.match_case):
                    if item.guard is not None:
                        self.expr(item.guard, scope, base)
                    self.block(item.body, scope, checking)

    def context(self, scope: _Scope) -> str:
        if scope.kind == "module":
            return "module"
        if scope.kind == "class":
            return "class-body" if scope.function() is None else "function"
        return "function"

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: _Scope,
                 checking: bool) -> None:
        at_import = scope.function() is None
        outer = "type-checking" if checking else self.context(scope)
        for decorator in node.decorator_list:
            self.expr(decorator, scope, "decorator" if at_import and not checking else outer)
            if at_import and not checking:
                self.registration(decorator, node.lineno,
                                  innermost=decorator is node.decorator_list[-1])
        qualname = f"{scope.qualname}{node.name}"
        info = None
        if at_import and not checking:
            info = Annotated("function", qualname, node.lineno,
                             self.decorator_names(node.decorator_list))
            self.scan.annotated.append(info)
        if not checking:
            # nested functions too: an import moved into `outer.<locals>.inner` would be
            # compiled with it
            why = safety.unmovable(node, info.decorators if info is not None else
                                   self.decorator_names(node.decorator_list, scope),
                                   self.class_bases(scope))
            if why is not None:
                # A compiled function is all of its qualname; a stub or a setter only its
                # own lines (the getter or the implementation next to it can take imports).
                lines = None if why.endswith("-compiled function") else \
                    range(node.lineno, (node.end_lineno or node.lineno) + 1)
                self.unmovable.setdefault(qualname, []).append(
                    (f"used inside {why} {qualname} ({self.scan.file}:{node.lineno})", lines))
        args = node.args
        for default in (*args.defaults, *(d for d in args.kw_defaults if d is not None)):
            self.expr(default, scope, "default" if at_import and not checking else outer)
        runtime = "annotation-runtime" if at_import else "function"
        annotation_context = ("type-checking" if checking else
                              "annotation" if self.lazy_annotations else runtime)
        self._capture = info.uses if info is not None else None
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                    *(a for a in (args.vararg, args.kwarg) if a is not None)):
            if arg.annotation is not None:
                self.annotation(arg.annotation, scope, annotation_context)
        if node.returns is not None:
            self.annotation(node.returns, scope, annotation_context)
        self._capture = None
        inner = _Scope("function", qualname + ".<locals>.", node.lineno, None, scope, node)
        inner.qualname = qualname + "."
        if at_import:
            self.scan.functions[qualname] = FunctionInfo(qualname, node.lineno)
        saved = self._function_info
        if at_import:
            self._function_info = self.scan.functions[qualname]
        self.block(node.body, inner, checking)
        self._function_info = saved

    def annotation(self, node: ast.expr, scope: _Scope, context: str) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                try:
                    parsed = ast.parse(sub.value.strip(), mode="eval")
                except SyntaxError:
                    continue
                string_context = "type-checking" if context == "type-checking" else "annotation"
                for name in ast.walk(parsed):
                    if isinstance(name, ast.Name):
                        self.use(name.id, sub.lineno, scope, string_context)
        self.expr(node, scope, context, skip_strings=True)

    def decorator_names(self, decorators: list[ast.expr],
                        scope: _Scope | None = None) -> list[str]:
        """Each decorator resolved through the imports (in `scope`, a function's own imports
        too), `name()` when it is called."""
        out = []
        for decorator in decorators:
            called = isinstance(decorator, ast.Call)
            target = decorator.func if called else decorator
            local = self.resolve_local(target, scope) if scope is not None else None
            name = local or self.object_name(target)
            out.append(name + "()" if called else name)
        return out

    def object_name(self, node: ast.expr) -> str:
        if isinstance(node, ast.Subscript):  # Protocol[T], Generic[T]
            node = node.value
        return self.resolve(node) or dotted(node) or ""

    def class_bases(self, scope: _Scope) -> list[str]:
        if scope.kind != "class" or scope.info is None:
            return []
        return scope.info.bases

    # expressions ---------------------------------------------------------------------
    def expr(self, node: ast.AST, scope: _Scope, context: str, *, skip_strings: bool = False,
             extra_locals: frozenset[str] = frozenset()) -> None:
        stack: list[tuple[ast.AST, frozenset[str], str]] = [(node, extra_locals, context)]
        while stack:
            current, local, ctx = stack.pop()
            if isinstance(current, ast.Name):
                if current.id not in local:
                    use_ctx = ctx
                    if isinstance(current.ctx, ast.Del) and ctx in ("module", "class-body"):
                        use_ctx = "module"
                        if scope.kind == "module":
                            self.scan.deleted.setdefault(current.id, current.lineno)
                    if not isinstance(current.ctx, ast.Store):
                        self.use(current.id, current.lineno, scope, use_ctx)
                continue
            if isinstance(current, ast.Lambda):
                args = current.args
                for default in (*args.defaults, *(d for d in args.kw_defaults if d)):
                    stack.append((default, local, ctx))
                params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                                          *(x for x in (args.vararg, args.kwarg) if x))}
                inner = "lambda" if ctx in IMPORT_TIME_CONTEXTS else ctx
                stack.append((current.body, local | params, inner))
                continue
            if isinstance(current, COMPREHENSIONS):
                targets = {n.id for g in current.generators for n in ast.walk(g.target)
                           if isinstance(n, ast.Name)}
                inner_local = local | targets
                for index, generator in enumerate(current.generators):
                    # The first iterable is evaluated in the enclosing scope.
                    stack.append((generator.iter, local if index == 0 else inner_local, ctx))
                    for condition in generator.ifs:
                        stack.append((condition, inner_local, ctx))
                for part in ((current.key, current.value) if isinstance(current, ast.DictComp)
                             else (current.elt,)):
                    stack.append((part, inner_local, ctx))
                continue
            if isinstance(current, (ast.Subscript, ast.Compare)) and ctx != "type-checking":
                self.namespace_read(current, scope)
            if isinstance(current, ast.Call):
                callee = self.resolve(current.func) or self.resolve_local(current.func, scope)
                if callee is not None:
                    self.record_call(callee, current.lineno, scope, ctx)
                if ctx != "type-checking":
                    self.special_call(current, callee, scope)
                if ctx in ("module", "class-body") and isinstance(current.func, (ast.Name,
                                                                                 ast.Attribute)):
                    root = current.func
                    while isinstance(root, ast.Attribute):
                        root = root.value
                    if isinstance(root, ast.Name) and root.id not in local:
                        self.use(root.id, root.lineno, scope, "call")
                        stack.extend((a, local, ctx) for a in current.args)
                        stack.extend((k.value, local, ctx) for k in current.keywords)
                        continue
            if skip_strings and isinstance(current, ast.Constant):
                continue
            for child in ast.iter_child_nodes(current):
                stack.append((child, local, ctx))

    # code that reads the module namespace, compiles functions, reads annotations ---------
    def namespace_call(self, node: ast.AST, scope: _Scope) -> str | None:
        """`globals()` anywhere, or `vars()`/`locals()`/`dir()` at module level: the name."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and not node.args and not node.keywords):
            return None
        name = node.func.id
        if name in self.by_name or name in self.module_names:
            return None
        if name == "globals" or (name in ("vars", "locals", "dir") and scope.kind == "module"):
            return name
        return None

    def namespace_read(self, node: ast.Subscript | ast.Compare, scope: _Scope) -> None:
        where = f"{self.scan.file}:{node.lineno}"
        if isinstance(node, ast.Compare):  # "name" in globals()
            for op, right in zip(node.ops, node.comparators):
                name = self.namespace_call(right, scope)
                if name and isinstance(op, (ast.In, ast.NotIn)):
                    self._handled.add(id(right))
                    self.pin_name(node.left, f"looked up by name in {name}() at {where}",
                                  node.lineno)
            return
        name = self.namespace_call(node.value, scope)
        if name is not None:
            self._handled.add(id(node.value))
            if isinstance(node.ctx, ast.Load):
                self.pin_name(node.slice, f"read by name from {name}() at {where}", node.lineno)
        elif (isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Name)
              and node.slice.id == "__name__" and "sys.modules" in (
                  self.resolve(node.value), self.resolve_local(node.value, scope))):
            self.pin_all(f"module object read by name (sys.modules[__name__]) at {where}",
                         node.lineno)

    def special_call(self, call: ast.Call, callee: str | None, scope: _Scope) -> None:
        where = f"{self.scan.file}:{call.lineno}"
        own = self.namespace_call(call, scope)
        if own is not None and id(call) not in self._handled:
            self.pin_all(f"module namespace used through {own}() at {where}", call.lineno)
            return
        func = call.func
        if isinstance(func, ast.Attribute) and self.namespace_call(func.value, scope):
            self._handled.add(id(func.value))
            name = self.namespace_call(func.value, scope)
            if func.attr in ("update", "clear", "__setitem__", "__delitem__"):
                return  # writes: no import is read
            if func.attr in ("get", "pop", "setdefault", "__getitem__", "__contains__") \
                    and call.args:
                self.pin_name(call.args[0], f"read by name from {name}() at {where}",
                              call.lineno)
            else:
                self.pin_all(f"module namespace read through {name}().{func.attr}() at "
                             f"{where}", call.lineno)
            return
        if callee in _SELF_LOOKUPS and call.args and isinstance(call.args[0], ast.Name) \
                and call.args[0].id == "__name__":
            self.pin_all(f"module object read by name ({callee}(__name__)) at {where}",
                         call.lineno)
            return
        shown = callee or self.callee_text(func)
        handed = False
        for value in (*call.args, *(k.value for k in call.keywords)):
            if self.namespace_call(value, scope) and id(value) not in self._handled:
                self._handled.add(id(value))
                handed = True
        if handed:
            self.pin_all(f"module namespace handed to {shown}() at {where}", call.lineno)
        elif callee in safety.IMPLICIT_NAMESPACE and (
                callee not in ("exec", "eval") or
                (len(call.args) < 2 and not any(k.arg == "globals" for k in call.keywords)
                 and not self.shadowed(callee, scope))):
            self.implicit_namespace(call, callee, where)
        compiler = safety.compiler(callee or "")
        if compiler is None and isinstance(func, ast.Call):  # numba.njit(cache=True)(f)
            compiler = safety.compiler(self.resolve(func.func) or "")
        if compiler is not None:
            for arg in call.args:
                if isinstance(arg, ast.Name) and arg.id in self.module_names:
                    info = self.scan.functions.get(arg.id)
                    self.unmovable.setdefault(arg.id, []).append((
                        f"used inside {compiler}-compiled function {arg.id} "
                        f"({self.scan.file}:{info.line if info else call.lineno})", None))
        reader = safety.annotation_reader(callee or "")
        if callee == "inspect.signature" and any(k.arg == "eval_str" for k in call.keywords):
            reader = "inspect.signature"  # evaluates the strings in the module namespace
        if reader is not None:
            for value in (*call.args, *(k.value for k in call.keywords)):
                for name in ast.walk(value):
                    if isinstance(name, (ast.Name, ast.Attribute)):
                        target = self.resolve(name)
                        if target:
                            self.scan.annotation_readers.append((target, reader, call.lineno))

    def shadowed(self, name: str, scope: _Scope) -> bool:
        """A function-local name (`from pandas import eval` inside a function) hides it."""
        probe: _Scope | None = scope.function()
        while probe is not None:
            if probe.kind == "function" and name in probe.locals:
                return True
            probe = probe.parent
        return False

    def callee_text(self, func: ast.expr) -> str:
        """`string.Template(...).substitute` for a method of a call's result."""
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call):
            return f"{self.callee_text(func.value.func)}(...).{func.attr}"
        return self.resolve(func) or dotted(func) or "a call"

    def implicit_namespace(self, call: ast.Call, callee: str, where: str) -> None:
        """`exec(code)` without a globals mapping runs in this module's namespace."""
        code = call.args[0] if call.args else None
        if isinstance(code, ast.Constant) and isinstance(code.value, str) \
                and callee in ("exec", "eval"):
            try:
                tree = ast.parse(code.value.strip(), mode="eval" if callee == "eval" else "exec")
            except SyntaxError:
                tree = None
            if tree is not None:
                for node in ast.walk(tree):
                    if isinstance(node, ast.Name):
                        self.pin_name(ast.Constant(node.id), f"read by {callee}() at {where}",
                                      call.lineno)
                return
        self.pin_all(f"module namespace read by {callee}() at {where}", call.lineno)

    def self_import(self, node: ast.Import | ast.ImportFrom) -> None:
        """A module that imports itself (`from pkg import ev` in pkg/ev.py) reads its own
        names as attributes, maybe computed ones (`getattr(ev, name)`)."""
        own = self.scan.name
        if isinstance(node, ast.Import):
            found = any(alias.name == own for alias in node.names)
        else:
            module = resolve_relative(own, self.scan.is_package, node.level, node.module)
            # (a package's `from . import sub` imports its submodules, not itself)
            found = (module == own and not self.scan.is_package) or any(
                f"{module}.{alias.name}" == own for alias in node.names)
        if found:
            self.pin_all(f"module imports itself at {self.scan.file}:{node.lineno}",
                         node.lineno)

    def pin_all(self, detail: str, line: int) -> None:
        self.namespace_uses.append(Use("namespace", line, detail=detail))

    def pin_name(self, key: ast.expr, detail: str, line: int) -> None:
        """A constant name pins that name; any other key pins them all."""
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            use = Use("namespace", line, detail=detail)
            for bound in self.by_name.get(key.value, ()):
                bound.uses.append(use)
        else:
            self.pin_all(f"module namespace {detail.replace(' by name', ' by a computed name')}",
                         line)

    def use(self, name: str, line: int, scope: _Scope, context: str) -> None:
        bounds = self.by_name.get(name)
        if not bounds:
            return
        function = scope.function()
        probe: _Scope | None = function
        while probe is not None:  # a local of an enclosing function shadows the import
            if probe.kind == "function" and name in probe.locals:
                return
            probe = probe.parent
        if context in ("function", "lambda") and function is not None:
            use = Use(context, line, function.qualname.rstrip("."), function.line)
        else:
            use = Use(context, line)
        for bound in bounds:
            bound.uses.append(use)
        if self._capture is not None:
            self._capture.append((name, use))

    def resolve_local(self, func: ast.AST, scope: _Scope) -> str | None:
        """A callee named through an import inside the function (or one enclosing it)."""
        name = dotted(func)
        head, _, rest = (name or "").partition(".")
        probe: _Scope | None = scope.function()
        while probe is not None and name:
            target = probe.imports.get(head)
            if target is not None:
                return f"{target}.{rest}" if rest else target
            probe = probe.parent.function() if probe.parent is not None else None
        return None

    def resolve(self, func: ast.AST) -> str | None:
        name = dotted(func)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        target = self.scan.bindings.get(head)
        if target is None:
            if head in self.module_names:
                return f"{self.scan.name}.{name}"
            if head in ("setattr", "__import__", "exec", "eval"):
                return head
            return None
        return f"{target}.{rest}" if rest else target

    def record_call(self, callee: str, line: int, scope: _Scope, context: str) -> None:
        if context in IMPORT_TIME_CONTEXTS:
            self.scan.import_calls.append((callee, line, context))
        elif context == "function" and self._function_info is not None:
            self._function_info.calls.append((callee, line))

    _function_info: FunctionInfo | None = None

    # effects -------------------------------------------------------------------------
    def own_containers(self, targets: list[ast.expr], value: ast.expr | None,
                       scope: _Scope) -> None:
        """Track the module-level names bound to an object this module builds: a dict, list
        or set (a display, a comprehension, `dict()`...), or an object of a library class
        in `CONFINED_METHODS` (`pm = pluggy.PluginManager("x")`), its arguments calling
        nothing: changing one in place with its methods is the module's own business (see
        `call_effect`). Any other binding of the name forgets it."""
        if scope.kind != "module":
            return
        if isinstance(value, ast.Call):  # `Base = declarative_base()` (safety.py reads it)
            callee = self.resolve(value.func) or dotted(value.func)
            for target in targets:
                if isinstance(target, ast.Name) and callee:
                    self.scan.built[target.id] = callee
        owned: tuple[frozenset[str], bool] | None = None
        if isinstance(value, _CONTAINER_DISPLAYS):
            owned = (_CONTAINER_MUTATORS, False)
        elif isinstance(value, ast.Call) and _calls_nothing(value):
            if isinstance(value.func, ast.Name) and value.func.id in _CONTAINER_TYPES and \
                    value.func.id not in self.scan.bindings:
                owned = (_CONTAINER_MUTATORS, False)
            else:
                built = self.resolve(value.func) or ""
                plain = built in _LITERAL_ARGUMENTS
                if built in CONFINED_METHODS and (not plain or self._plain(value)):
                    owned = (CONFINED_METHODS[built], plain)
        for target in targets:
            if isinstance(target, ast.Name):
                if owned is not None and target.id not in self._rebound:
                    self._owned[target.id] = owned
                else:
                    self._rebound.add(target.id)
                    self._owned.pop(target.id, None)

    def _plain(self, call: ast.Call) -> bool:
        """Every argument a literal (or a display of literals), a builtin type or the
        module's `__doc__` not rebound here (`type=int`), and `action=` a string: nothing the
        callee could instantiate or call."""
        for keyword in call.keywords:
            if keyword.arg is None or keyword.arg == "action" and not (
                    isinstance(keyword.value, ast.Constant)
                    and isinstance(keyword.value.value, str)):
                return False
        for argument in (*call.args, *(k.value for k in call.keywords)):
            for node in ast.walk(argument):
                if isinstance(node, ast.Name):
                    if node.id not in _BUILTIN_TYPES and node.id not in _MODULE_STRINGS or \
                            node.id in self.scan.bindings or node.id in self.module_names:
                        return False
                elif not isinstance(node, (ast.Constant, ast.Tuple, ast.List, ast.Set,
                                           ast.Dict, ast.Load, ast.UnaryOp, ast.USub)):
                    return False
        return True

    def call_effect(self, call: ast.Call, line: int) -> None:
        callee = self.resolve(call.func) or dotted(call.func) or "(call)"
        if any(callee.startswith(p) for scoped in self._scoped for p in scoped):
            return  # undone when the enclosing `with` block exits
        owner, _, method = callee.rpartition(".")
        methods, plain = self._owned.get(owner[len(self.scan.name) + 1:], ((), False)) \
            if owner.startswith(f"{self.scan.name}.") else ((), False)
        if method in methods and _calls_nothing(call) and (not plain or self._plain(call)):
            # `COLUMN_TYPE_MAPPING.update({np.int8: ...})` on a dict this module built, or
            # `pm.add_hookspecs(hookspecs)` on its plugin manager: no one sees the object
            # before importing the module, which runs the call (sqlite_utils.db, .plugins)
            return
        what = _EFFECT_CALLS.get(callee)
        if what is None and callee.startswith(("importlib.import_module", "__import__")):
            what = "imports modules by name"
        last = callee.rsplit(".", 1)[-1]
        if what is None and (any(r in last.lower() for r in _REGISTERING)):
            what = f"registers something ({callee}())"
        if what is None and last in ("addHandler", "setLevel", "addFilter"):
            what = "configures logging"
        if what is None and callee.endswith(("update", "setdefault", "append", "extend",
                                             "add", "insert")):
            owner = callee.rsplit(".", 1)[0]
            names = set(self.scan.bindings) | set(self.scan.bindings.values())
            if owner != callee and owner.split(".")[0] in names:
                what = f"changes state of an imported object ({callee}())"
        if what is not None:
            self.scan.effects.append(Effect(line, f"{what} at line {line}", True))
        else:
            self.scan.effects.append(Effect(line, f"calls {callee}() at line {line}", False))

    def assignment_effect(self, targets: list[ast.expr], value: ast.expr | None,
                          line: int) -> None:
        for target in targets:
            if isinstance(target, (ast.Attribute, ast.Subscript)):
                owner = target.value if isinstance(target, ast.Subscript) else target
                name = dotted(owner if isinstance(target, ast.Subscript) else target.value)
                if name is None:
                    # `decimal.getcontext().prec = 5`, `threading.current_thread().name = ...`:
                    # what a call returns may be shared state (found by a helper's attack)
                    base = target.value
                    while isinstance(base, (ast.Attribute, ast.Subscript)):
                        base = base.value
                    if isinstance(base, ast.Call) and not (  # the module's own namespace
                            isinstance(base.func, ast.Name) and
                            base.func.id in ("globals", "locals", "vars")):
                        callee = self.resolve(base.func) or dotted(base.func) or "a call"
                        self.scan.effects.append(Effect(
                            line, f"sets state on what {callee}() returns at line {line}",
                            True))
                    continue
                head = name.split(".")[0]
                resolved = self.resolve(ast.parse(name, mode="eval").body) or name
                for attr, what in _EFFECT_ATTRS.items():
                    if resolved == attr or resolved.startswith(attr + "."):
                        self.scan.effects.append(Effect(line, f"{what} at line {line}", True))
                        break
                else:
                    if head in self.scan.bindings:
                        kind = "registers into" if isinstance(target, ast.Subscript) else \
                            "monkeypatches"
                        self.scan.effects.append(
                            Effect(line, f"{kind} {resolved} at line {line}", True))
        if isinstance(value, ast.Call):
            callee = self.resolve(value.func) or ""
            what = _EFFECT_CALLS.get(callee)
            if what is not None:
                self.scan.effects.append(Effect(line, f"{what} at line {line}", True))

    def _files_into_own_table(self, decorator: ast.expr) -> bool:
        """`_confined.Confinement.files_into_own_table`, with what it needs of the module,
        read once per module and only for one that has such a decorator."""
        if self._facts is None:
            tree = self._tree
            bindings, declared = _module_bindings(
                tree, any(line.lstrip().startswith("global ") for line in self.scan.lines))
            once = {name for name, lines in bindings.items()
                    if len(lines) == 1 and name not in declared}
            if _rebinds_by_name(tree):
                once = set()  # `from x import *`, globals(): bindings no statement shows
            functions = {node.name: node for node in tree.body
                         if isinstance(node, ast.FunctionDef) and not node.decorator_list
                         and node.name in once}
            #: module-level names bound once to a literal display (`NAMES = ["item"]`)
            constants = {
                target.id for node in tree.body
                if isinstance(node, (ast.Assign, ast.AnnAssign))
                and isinstance(node.value, (ast.Tuple, ast.List, ast.Set, ast.Dict))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name) and target.id in once}
            self._facts = (once, functions, constants)
        once, functions, constants = self._facts
        tables = {name for name, (methods, _) in self._owned.items()
                  if methods is _CONTAINER_MUTATORS and name in once}
        return bool(tables) and Confinement(
            functions, tables=tables, constants=constants,
            module_names=self.module_names | set(self.scan.bindings),
            bindings=self.scan.bindings, package=self.scan.name.split(".")[0],
        ).files_into_own_table(decorator)

    def registration(self, decorator: ast.expr, line: int, innermost: bool = False) -> None:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = dotted(func) or ""
        last = name.rsplit(".", 1)[-1].lower()
        if any(r in last for r in _REGISTERING):
            if innermost and isinstance(func, ast.Name) and self._files_into_own_table(
                    decorator):
                return  # `@implements(np.issubdtype)` filing into the module's own dict
            callee = self.resolve(func) or name
            self.scan.effects.append(Effect(line, f"registers with @{callee} at line {line}",
                                            True))



def _rebinds_by_name(tree: ast.Module) -> bool:
    """Whether the module can bind names no statement shows: a star import, or `globals`,
    `vars` or `sys.modules` named anywhere."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return True
        if isinstance(node, ast.Name) and node.id in ("globals", "vars"):
            return True
        if isinstance(node, ast.Attribute) and node.attr == "modules" and \
                isinstance(node.value, ast.Name) and node.value.id == "sys":
            return True
    return False


def _calls_nothing(call: ast.Call) -> bool:
    """No call among `call`'s arguments (what they evaluate to runs nothing at import)."""
    return not any(isinstance(n, ast.Call) for a in (*call.args, *call.keywords)
                   for n in ast.walk(a))


def _module_bindings(tree: ast.Module, has_global: bool = True
                     ) -> tuple[dict[str, list[int]], dict[str, tuple[str, int]]]:
    """The lines where each name is bound at module level (imports, assignments, `def`,
    `for` and `with` targets, ...), and the names functions declare `global` (with the
    first function and line). `has_global`: the source has the word, so function bodies
    are walked for `global` statements (most modules have none)."""
    bindings: dict[str, list[int]] = {}
    declared: dict[str, tuple[str, int]] = {}
    stack: list[ast.AST] = list(reversed(tree.body))
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            bindings.setdefault(node.name, []).append(node.lineno)
            for inner in ast.walk(node) if has_global else ():
                if isinstance(inner, FUNCTIONS):
                    # `global name` and a binding of it: the function rebinds the module's
                    # name (only reading it through `global` is just a read).
                    for sub in ast.walk(inner):
                        if isinstance(sub, ast.Global):
                            for name in sub.names:
                                if _binds(inner, name):
                                    declared.setdefault(name, (inner.name, sub.lineno))
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *COMPREHENSIONS)):
            continue
        name = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            name = node.id
        elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)):
            name = node.name
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                if alias.name == "*":
                    continue
                bound = alias.asname or alias.name.split(".")[0]
                lines = bindings.setdefault(bound, [])
                # `import pkg`, `import pkg.a`, `import pkg.b` all bind the same package
                if isinstance(node, ast.ImportFrom) or alias.asname or -1 not in lines:
                    lines.append(node.lineno)
                if isinstance(node, ast.Import) and not alias.asname:
                    lines.append(-1)
        if name is not None:
            bindings.setdefault(name, []).append(getattr(node, "lineno", 0))
        stack.extend(reversed(list(ast.iter_child_nodes(node))))
    return bindings, declared


def _binds(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> bool:
    """Whether `function` (its nested scopes included) binds `name`."""
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, (*FUNCTIONS, ast.ClassDef)) and node.name == name \
                and node is not function:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
    return False


def _locals(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names local to a function: parameters and names it binds (not nested scopes')."""
    args = node.args
    names = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs,
                             *(x for x in (args.vararg, args.kwarg) if x))}
    declared: set[str] = set()
    stack = list(node.body)
    while stack:
        current = stack.pop()
        if isinstance(current, (ast.Global, ast.Nonlocal)):
            declared.update(current.names)
            continue
        if isinstance(current, (*FUNCTIONS, ast.ClassDef)):
            names.add(current.name)
            stack.extend(current.decorator_list)
            continue
        if isinstance(current, (ast.Lambda, *COMPREHENSIONS)):
            continue
        if isinstance(current, ast.Name) and isinstance(current.ctx, (ast.Store, ast.Del)):
            names.add(current.id)
        elif isinstance(current, (ast.Import, ast.ImportFrom)):
            for alias in current.names:
                if alias.name != "*":
                    names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(current, ast.ExceptHandler) and current.name:
            names.add(current.name)
        elif isinstance(current, (ast.MatchAs, ast.MatchStar)) and current.name:
            names.add(current.name)
        stack.extend(ast.iter_child_nodes(current))
    return names - declared
