"""Read one module's source with `ast`: its import sites, where each bound name is used, the
calls it makes at import, its side effects, and what its functions call.

Nothing is imported or executed. One `ModuleScan` per file; the project-wide passes
(`graph`, `effects`, `classify`) combine them.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from . import safety
from .model import IMPORT_TIME_CONTEXTS, BoundName, ImportSite, Use

__all__ = ["ModuleScan", "scan_module", "parse_source"]

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: Calls that, given `__name__`, return the module itself (its names read as attributes).
_SELF_LOOKUPS = frozenset({"importlib.import_module", "__import__", "sys.modules.get",
                           "sys.modules.__getitem__"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)

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


@dataclass(slots=True)
class FunctionInfo:
    """A module-level function or method: what it calls (dotted, resolved through imports)."""

    qualname: str
    line: int
    calls: list[tuple[str, int]] = field(default_factory=list)


@dataclass(slots=True)
class Annotated:
    """A class or function defined at import whose annotations a library may read at run
    time: its decorators (`name`, or `name()` when called) and bases, resolved through the
    module's imports, and the uses its field or signature annotations make."""

    kind: str  # "class" or "function"
    qualname: str
    line: int
    decorators: list[str] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)
    uses: list[tuple[str, Use]] = field(default_factory=list)


@dataclass(slots=True)
class Effect:
    line: int
    what: str
    strong: bool  # changes state outside the module (not just a module-level call)


@dataclass(slots=True)
class ModuleScan:
    name: str
    file: str          # as shown in reports
    path: str          # absolute
    is_package: bool
    lines: list[str]
    future_annotations: bool = False
    sites: list[ImportSite] = field(default_factory=list)
    #: Module-level name -> what it refers to (imports only), for resolving calls.
    bindings: dict[str, str] = field(default_factory=dict)
    functions: dict[str, FunctionInfo] = field(default_factory=dict)
    #: Calls made while the module is imported: (callee, line, context).
    import_calls: list[tuple[str, int, str]] = field(default_factory=list)
    #: Line ranges of `if __name__ == "__main__":` bodies: a script's job, not import work.
    main_blocks: list[tuple[int, int]] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    #: Classes whose subclassing runs code: they define `__init_subclass__`, or are
    #: metaclasses (derive from `type`); and each class's `metaclass=` (resolved).
    subclass_hooks: set[str] = field(default_factory=set)
    metaclasses: dict[str, str] = field(default_factory=dict)
    all_names: set[str] | None = None
    defined: set[str] = field(default_factory=set)
    #: (module, name, line): `from module import name` of a project module's name.
    from_imports: list[tuple[str, str, int]] = field(default_factory=list)
    #: (module, line): `from module import *`, which copies every public name of a
    #: project module without `__all__`, imports included.
    star_imports: list[tuple[str, int]] = field(default_factory=list)
    #: Imports inside functions: (module, line) — already deferred.
    deferred: list[tuple[str, int]] = field(default_factory=list)
    #: For test files: ("module.Name", line) patched by the test.
    patches: list[tuple[str, int]] = field(default_factory=list)
    #: ("module.Name", line) for each `alias.Name` read through an imported name (tests too):
    #: moving `Name` out of `module` would break the read.
    attribute_reads: list[tuple[str, int]] = field(default_factory=list)
    #: Names deleted at module level (`del sub`) -> line: a package __init__ that deletes
    #: the submodule attribute an import bound needs that import where it is.
    deleted: dict[str, int] = field(default_factory=dict)
    lazy_lines: set[int] = field(default_factory=set)
    #: Classes and functions whose annotations a library may read at run time.
    annotated: list[Annotated] = field(default_factory=list)
    #: Module-level `name = callee(...)`: name -> resolved callee (`app = typer.Typer()`).
    instances: dict[str, str] = field(default_factory=dict)
    #: Calls that read an object's annotations: (resolved object, reader, line).
    annotation_readers: list[tuple[str, str, int]] = field(default_factory=list)


def parse_source(source: str, filename: str) -> tuple[ast.Module, set[int]]:
    """Parse `source`; PEP 810 `lazy import` lines are read as plain imports on any version
    and returned as the second item."""
    from ..lazy import _parse_any_version

    return _parse_any_version(source, filename)


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute module of `from <level dots><name> import ...` written in `module`."""
    if not level:
        return name or ""
    parts = module.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    if name:
        return f"{base}.{name}" if base else name
    return base


def dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def scan_module(name: str, file: str, path: str, source: str, *, is_package: bool,
                lazy_annotations: bool = False) -> ModuleScan:
    """Scan one module. `lazy_annotations`: the target Python evaluates annotations lazily
    (3.14+), so annotations never run at definition time."""
    tree, lazy_lines = parse_source(source, path)
    scan = ModuleScan(name, file, path, is_package, source.splitlines(), lazy_lines=lazy_lines)
    scan.future_annotations = any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names) for node in tree.body)
    _Collector(scan).block(tree.body, guard=None)
    _Walker(scan, lazy_annotations or scan.future_annotations).run(tree)
    scan.attribute_reads = _attribute_reads(source, scan)
    return scan


def _attribute_reads(source: str, scan: ModuleScan) -> list[tuple[str, int]]:
    """`("pkg.mod.Name", line)` for each attribute chain read through an imported name,
    module-level or function-local imports alike. Read with regular expressions, as test
    files are (an AST walk of every module doubled pandas' audit): a chain in a string or a
    comment, or a local name that only looks like an import, adds a pin, never a move."""
    aliases = _test_aliases(source, scan)
    aliases.update(scan.bindings)
    return attribute_chains(source, aliases)


# -- pass 1: module-level import sites and bindings ----------------------------------------

class _Collector:
    def __init__(self, scan: ModuleScan) -> None:
        self.scan = scan

    def block(self, body: list[ast.stmt], guard: str | None) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.site(node, guard)
            elif isinstance(node, ast.If):
                checking = _is_type_checking(node.test)
                self.block(node.body, "TYPE_CHECKING" if checking else (guard or "if"))
                self.block(node.orelse, guard or "if")
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                catches = any(_catches_import_error(h) for h in node.handlers)
                self.block(node.body, "try" if catches else guard)
                for handler in node.handlers:
                    self.block(handler.body, "try" if catches else guard)
                self.block(node.orelse, guard)
                self.block(node.finalbody, guard)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                # `with suppress(ImportError):` is a try/except ImportError
                suppress = any(isinstance(item.context_expr, ast.Call)
                               and (dotted(item.context_expr.func) or "").endswith("suppress")
                               and _catches_import_error(ast.ExceptHandler(
                                   type=ast.Tuple(elts=list(item.context_expr.args))))
                               for item in node.items)
                self.block(node.body, "try" if suppress else guard)
            elif isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
                self.scan.defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            self.scan.defined.add(sub.id)
                            if sub.id == "__all__":
                                self.all_names(node.value)

    def all_names(self, value: ast.AST | None) -> None:
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            names = self.scan.all_names if self.scan.all_names is not None else set()
            names.update(e.value for e in value.elts
                         if isinstance(e, ast.Constant) and isinstance(e.value, str))
            self.scan.all_names = names
        elif isinstance(value, ast.BinOp):
            self.all_names(value.left)
            self.all_names(value.right)

    def site(self, node: ast.Import | ast.ImportFrom, guard: str | None) -> None:
        scan = self.scan
        if node.lineno in scan.lazy_lines:
            guard = "lazy"
        statement = " ".join(line.strip() for line in
                             scan.lines[node.lineno - 1:(node.end_lineno or node.lineno)])
        noqa = "# noqa" in statement
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                target = alias.name if alias.asname else alias.name.split(".")[0]
                scan.bindings[bound] = target
                scan.sites.append(ImportSite(
                    file=scan.file, module=scan.name, line=node.lineno,
                    end_line=node.end_lineno or node.lineno, statement=statement,
                    imported=alias.name, kind="import", guard=guard,
                    names=[BoundName(bound, target,
                                     explicit_reexport=alias.asname == alias.name)],
                    package_init=scan.is_package, noqa=noqa))
            return
        if node.module == "__future__":
            return
        base = resolve_relative(scan.name, scan.is_package, node.level, node.module)
        names = []
        for alias in node.names:
            if alias.name == "*":
                scan.star_imports.append((base, node.lineno))
                continue
            bound = alias.asname or alias.name
            target = f"{base}.{alias.name}"
            scan.bindings[bound] = target
            names.append(BoundName(bound, target, explicit_reexport=alias.asname == alias.name))
            scan.from_imports.append((base, alias.name, node.lineno))
        if names:
            scan.sites.append(ImportSite(
                file=scan.file, module=scan.name, line=node.lineno,
                end_line=node.end_lineno or node.lineno, statement=statement, imported=base,
                kind="from", level=node.level, guard=guard, names=names,
                package_init=scan.is_package, noqa=noqa))


def _is_main_guard(test: ast.AST) -> bool:
    """`__name__ == "__main__"`, either way round."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, test.comparators[0]]
    return (any(isinstance(n, ast.Name) and n.id == "__name__" for n in sides)
            and any(isinstance(n, ast.Constant) and n.value == "__main__" for n in sides))


def _is_type_checking(test: ast.AST) -> bool:
    name = dotted(test)
    return name is not None and name.split(".")[-1] == "TYPE_CHECKING"


def _catches_import_error(handler: ast.excepthandler) -> bool:
    kind = handler.type
    if kind is None:
        return True
    names = [dotted(e) for e in (kind.elts if isinstance(kind, ast.Tuple) else [kind])]
    return any(n and n.split(".")[-1] in ("ImportError", "ModuleNotFoundError", "Exception",
                                         "BaseException") for n in names)


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


class _Walker:
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

    def run(self, tree: ast.Module) -> None:
        scope = _Scope("module", "", 0, set(), None)
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
        if isinstance(node, _FUNCTIONS):
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
                        isinstance(item, _FUNCTIONS) and item.name == "__init_subclass__"
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
        if isinstance(node, ast.If) and scope.kind == "module" and _is_main_guard(node.test):
            self.scan.main_blocks.append((node.body[0].lineno,
                                          node.body[-1].end_lineno or node.body[-1].lineno))
        if isinstance(node, ast.If) and _is_type_checking(node.test):
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
            return
        if isinstance(node, (ast.Assign, ast.AugAssign)) and at_import and not checking:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            self.assignment_effect(targets, node.value, node.lineno)
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
                self.registration(decorator, node.lineno)
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
            if isinstance(current, _COMPREHENSIONS):
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
    def call_effect(self, call: ast.Call, line: int) -> None:
        callee = self.resolve(call.func) or dotted(call.func) or "(call)"
        if any(callee.startswith(p) for scoped in self._scoped for p in scoped):
            return  # undone when the enclosing `with` block exits
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

    def registration(self, decorator: ast.expr, line: int) -> None:
        func = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = dotted(func) or ""
        last = name.rsplit(".", 1)[-1].lower()
        if any(r in last for r in _REGISTERING):
            callee = self.resolve(func) or name
            self.scan.effects.append(Effect(line, f"registers with @{callee} at line {line}",
                                            True))



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
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)):
            bindings.setdefault(node.name, []).append(node.lineno)
            for inner in ast.walk(node) if has_global else ():
                if isinstance(inner, _FUNCTIONS):
                    # `global name` and a binding of it: the function rebinds the module's
                    # name (only reading it through `global` is just a read).
                    for sub in ast.walk(inner):
                        if isinstance(sub, ast.Global):
                            for name in sub.names:
                                if _binds(inner, name):
                                    declared.setdefault(name, (inner.name, sub.lineno))
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
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
        if isinstance(node, (*_FUNCTIONS, ast.ClassDef)) and node.name == name \
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
        if isinstance(current, (*_FUNCTIONS, ast.ClassDef)):
            names.add(current.name)
            stack.extend(current.decorator_list)
            continue
        if isinstance(current, (ast.Lambda, *_COMPREHENSIONS)):
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


# -- tests: which `module.Name` they patch -------------------------------------------------

_PATCH_STRING = re.compile(r"""\b(?:patch|setattr|delattr)\(\s*['"]([A-Za-z_][\w.]*\.[A-Za-z_]\w*)['"]""")
_PATCH_OBJECT = re.compile(
    r"""\b(?:setattr|delattr|object|patch_object)\(\s*([A-Za-z_][\w.]*)\s*,\s*['"]([A-Za-z_]\w*)['"]""")
_IMPORT_LINE = re.compile(r"^[ \t]*import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+(\w+))?", re.M)
_FROM_LINE = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+([\w, \t]+)$", re.M)


def scan_patches(source: str) -> list[tuple[str, int]]:
    """`("module.Name", line)` for each name a test file patches. Tests are read with regular
    expressions, not parsed: a big package's test suite is most of its source."""
    aliases = _test_aliases(source)
    lines = _LineCounter(source)
    found: list[tuple[str, int]] = []
    for match in _PATCH_STRING.finditer(source):
        found.append((match.group(1), lines.at(match.start())))
    lines = _LineCounter(source)
    for match in _PATCH_OBJECT.finditer(source):
        owner = match.group(1)
        head, _, rest = owner.partition(".")
        if head in aliases:
            owner = aliases[head] + (f".{rest}" if rest else "")
        found.append((f"{owner}.{match.group(2)}", lines.at(match.start())))
    return found


def scan_test_attribute_reads(source: str) -> list[tuple[str, int]]:
    """`("module.Name", line)` for each `alias.Name` a test file reads through an imported
    name (`from jobrunner import cli` ... `cli.SpecError`): the test needs `Name` there."""
    return attribute_chains(source, _test_aliases(source))


def attribute_chains(source: str, aliases: dict[str, str]) -> list[tuple[str, int]]:
    """`("target.attr.attr", line)` for each `alias.attr.attr` in `source`."""
    if not aliases:
        return []
    lines = _LineCounter(source)
    return [(aliases[match.group(1)] + match.group(2), lines.at(match.start()))
            for match in _CHAIN.finditer(source) if match.group(1) in aliases]


# `name.attr.attr`, not preceded by a dot (`x.name.attr` is an attribute of something else)
_CHAIN = re.compile(r"(?<![\w.])([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)+)")


class _LineCounter:
    """1-based line numbers of increasing offsets, counted on from the last one: counting
    from the start of a big test file for every match is quadratic."""

    def __init__(self, source: str) -> None:
        self.source, self.line, self.offset = source, 1, 0

    def at(self, offset: int) -> int:
        self.line += self.source.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _test_aliases(source: str, scan: ModuleScan | None = None) -> dict[str, str]:
    """Names bound by the import lines of `source` (anywhere, indented too) -> what they
    refer to; relative imports are resolved against `scan`'s module, or skipped."""
    aliases: dict[str, str] = {}
    for match in _IMPORT_LINE.finditer(source):
        name, alias = match.group(1), match.group(2)
        aliases[alias or name.split(".")[0]] = name if alias else name.split(".")[0]
    for match in _FROM_LINE.finditer(source):
        module = match.group(1)
        if module.startswith("."):
            if scan is None:
                continue
            rest = module.lstrip(".")
            module = resolve_relative(scan.name, scan.is_package, len(module) - len(rest),
                                      rest or None)
        for part in match.group(2).split(","):
            words = part.split()
            if words:
                aliases[words[-1]] = f"{module}.{words[0]}"
    return aliases
