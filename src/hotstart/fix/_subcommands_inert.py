"""Whether importing a command module does nothing but define things, for the `cli` codemod
(`_subcommands_effects` for click and typer, `_subcommands_argparse`): a lazy registration
imports the module later, or never, so anything its import does would move or vanish.

A whitelist, since an effect can hide in any statement (a class whose base's
`__init_subclass__` registers it, `registry.X[k] = v`, `os.environ[k] = v`, `@atexit.register`,
`_x = logging.basicConfig()`, a call under `if`/`with`/`try`): every module-level statement
must be one of
- a docstring (a constant expression statement), an `import` or `from` import;
- `def`/`async def` whose decorators are the framework's command/option/argument decorators
  (or names bound to them, or the command/group/callback decorators of a group or app of the
  module or the one it registers on) or project functions proven inert when applied
  (`_inert_functions`: celery's `@handle_preload_options` only wraps the function), whose
  defaults and annotations are inert;
- `class` with no decorators but `@dataclasses.dataclass` (literal options) and no keywords
  (metaclass), whose bases are builtins, the framework's classes, `enum` classes or inert
  classes of the module that define no `__init_subclass__`, and whose body is itself inert
  (methods, constant attributes);
- an assignment to plain names (`__all__ +=` too, no other augmented one: `x += [...]`
  extends in place whatever `x` is bound to) of a constant expression, or of a call to a
  framework class (`typer.Typer(...)`, `click.Group(...)`, `click.Choice(...)`) or
  decorator factory (`click.option(...)`) with inert arguments;
- a call registering on a group or app of the module (`app.add_typer(x)`,
  `cli.add_command(x)`, `app.command()(f)`) with inert arguments, or of a helper (the
  project's or a library's) proven to only add its own functions as commands of a group of
  the module it is given (`register_repl(amqp)`, `_register_helpers`);
- `if TYPE_CHECKING:` holding imports only, `if __name__ == "__main__":` (not run on import);
- `for NAME in ...:` over an iterable (below) setting only items of a dict display the
  module binds once (`table[key] = f"{key}:asc"`);
- an assignment of `logging.getLogger(...)`, or of a call to a project function that only
  walks the stack and returns one (`log = get_logger()`): a logger got later is the same;
  an assignment of `re.compile(...)` of a literal pattern and `re` flags;
- in any of the expressions above, a call of a project function proven to only build and
  return objects, its arguments inert (`_inert_functions.Prover.call`: hf's
  `typer_factory(help="...")` returning `typer.Typer(...)`, a group its commands may
  register on, and `logging.get_logger(__name__)`); `sorted` (no `key=`), `tuple`, `list`,
  `set`, `frozenset`, `len`, `", ".join` and list, set and dict comprehensions over a
  literal display, such a call or a name the module binds once to one (not an imported
  name: it may be a generator another import consumes); `typing.get_args`/`get_origin`;
  `enum.Enum("Name", {...}, type=str)` mixing in a builtin class only.
Anything else is the module's first effect, named with its line. The imported project modules
are not read here (the audit's effects of them are, in `_subcommands_effects`).
"""

from __future__ import annotations

import ast
import builtins
import os

from ._inert_functions import Prover
from ._register_helpers import registers_only_on
from ._subcommands_read import SourceModule, dotted, one_line

__all__ = ["first_effect"]

#: The frameworks whose classes and decorators are inert to call at import.
FRAMEWORKS = ("click", "typer", "argparse", "rich_click")
#: Lower-case framework names that only build decorators or parameters.
_FACTORIES = frozenset({
    "command", "group", "option", "argument", "pass_context", "pass_obj", "version_option",
    "help_option", "confirmation_option", "password_option", "make_pass_decorator",
    "pass_meta_key"})
#: Framework calls that return a decorator adding a parameter, whatever their arguments.
_PARAMETER_FACTORIES = frozenset({"option", "argument", "version_option", "help_option",
                                  "confirmation_option", "password_option"})
#: What a group or app's methods register (building only, run when the module is imported).
_GROUP_METHODS = frozenset({"command", "group", "callback", "result_callback", "add_command",
                            "add_typer"})
#: The framework's classes that build a group or app (commands register on them).
_GROUP_CLASSES = frozenset({"Typer", "Group", "MultiCommand", "CommandCollection", "RichGroup"})
_ENUMS = frozenset({"enum.Enum", "enum.IntEnum", "enum.StrEnum", "enum.Flag", "enum.IntFlag"})
_METHOD_DECORATORS = frozenset({"staticmethod", "classmethod", "property"})
_INERT_EXPRESSIONS = (ast.Constant, ast.Name, ast.Attribute, ast.Tuple, ast.List, ast.Set,
                      ast.Dict, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp,
                      ast.JoinedStr, ast.FormattedValue, ast.Subscript, ast.Slice,
                      ast.Starred, ast.keyword, ast.Load, ast.operator, ast.unaryop,
                      ast.boolop, ast.cmpop, ast.expr_context)


def first_effect(module: SourceModule, group: str | None = None) -> str | None:
    """The first thing importing `module` does besides defining names, as "runs `...` when
    imported (line N)", or None; `group`: the dotted name of the group or app its decorators
    may register on (`tool.cli.cli`)."""
    return _Inert(module, group).body(module.tree.body)


class _Inert:
    def __init__(self, module: SourceModule, group: str | None) -> None:
        self.module = module
        self.group = group
        #: local names bound to a framework object: group/app (True) or decorator (False)
        self.groups: set[str] = set()
        self.decorators: set[str] = set()
        self.classes: set[str] = set()
        #: why a project decorator was not proven inert, by its node
        self.unproven: dict[int, str] = {}
        self.modules: dict[str, SourceModule | None] = {}
        self.prover = Prover(self.read, self.factory, built)
        #: resolves names to functions of the project or of installed libraries
        self.anywhere = Prover(self.read_anywhere)

    def read(self, name: str) -> SourceModule | None:
        """The project module `name` beside this one, read once."""
        if name not in self.modules:
            self.modules[name] = self.module if name == self.module.name else \
                _read_module(self.module, name)
        return self.modules[name]

    def read_anywhere(self, name: str) -> SourceModule | None:
        """The module `name` of the project, else of the installed libraries, read once."""
        found = self.read(name)
        if found is None:
            key = f"installed:{name}"
            if key not in self.modules:
                self.modules[key] = _read_installed(name)
            found = self.modules[key]
        return found

    def body(self, statements: list[ast.stmt]) -> str | None:
        for node in statements:
            if not self.statement(node):
                decorators = getattr(node, "decorator_list", [])
                refused = next((d for d in decorators if not self.decorator(d)), None)
                if refused is not None:
                    why = self.unproven.get(id(refused))
                    return (f"runs `@{_clip(one_line(self.module.segment(refused)))}` when "
                            f"imported (line {refused.lineno})" + (f": {why}" if why else ""))
                why = " (a class statement runs its bases' `__init_subclass__` and " \
                      "metaclass, which may register it)" if isinstance(node, ast.ClassDef) \
                    else ""
                proof = next((self.unproven[id(n)] for n in ast.walk(node)
                              if id(n) in self.unproven), None)
                why = f": {proof}" if proof is not None else why
                return (f"runs `{_clip(one_line(self.module.segment(node)))}` when imported "
                        f"(line {node.lineno}){why}")
        return None

    # statements
    def statement(self, node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Pass)):
            return True
        if isinstance(node, ast.Expr):
            return isinstance(node.value, ast.Constant) or self.registration(node.value) or \
                self.helper_registration(node.value)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not all(self.decorator(d) for d in node.decorator_list) or \
                    not self.signature(node):
                return False
            if any(self.is_group_decorator(d) for d in node.decorator_list):
                self.groups.add(node.name)
            return True
        if isinstance(node, ast.ClassDef):
            return self.klass(node)
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            return self.assignment(node)
        if isinstance(node, ast.If):
            return self.guarded(node)
        if isinstance(node, ast.For):
            return self.filling(node)
        return False

    def filling(self, node: ast.For) -> bool:
        """`for key in sorted(KEYS): table[key] = ...`: a loop over an `iterable` whose body
        only sets items of a dict display the module binds once (`table = {}`): an object
        this import built, which nothing else has seen yet."""
        if node.orelse or not isinstance(node.target, ast.Name) or \
                not self.iterable(node.iter):
            return False
        for item in node.body:
            if not isinstance(item, ast.Assign) or len(item.targets) != 1 or \
                    not isinstance(item.targets[0], ast.Subscript):
                return False
            target = item.targets[0]
            table = target.value.id if isinstance(target.value, ast.Name) else ""
            if len(self.module.globals.binds.get(table, [])) != 1 or not isinstance(
                    self.module.assigned.get(table), ast.Dict) or \
                    not self.expression(target.slice) or not self.expression(item.value):
                return False
        return True

    def assignment(self, node: ast.Assign | ast.AnnAssign | ast.AugAssign) -> bool:
        if isinstance(node, ast.AugAssign) and dotted(node.target) != "__all__":
            return False  # `x += [...]` extends in place whatever x is bound to
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [n for t in targets for n in ast.walk(t)
                 if not isinstance(n, (ast.Tuple, ast.List, ast.Store, ast.Name))]
        if names or (isinstance(node, ast.AnnAssign) and not self.expression(node.annotation)):
            return False  # a subscript or attribute target changes another object
        value = node.value
        if value is None:
            return True
        built = self.framework_call(value) or self.project_call(value)
        if built is None and not self.expression(value) and not self.logger_call(value) and \
                not self.pattern(value):
            return False
        for target in targets:
            for name in ast.walk(target):
                if isinstance(name, ast.Name):
                    self.groups.discard(name.id)
                    self.decorators.discard(name.id)
                    if built == "group":
                        self.groups.add(name.id)
                    elif built == "decorator":
                        self.decorators.add(name.id)
        return True

    def guarded(self, node: ast.If) -> bool:
        test = dotted(node.test)
        if test in ("TYPE_CHECKING", "typing.TYPE_CHECKING") and not node.orelse:
            return all(isinstance(n, (ast.Import, ast.ImportFrom, ast.Pass)) for n in node.body)
        main = node.test
        return isinstance(main, ast.Compare) and dotted(main.left) == "__name__" and \
            len(main.ops) == 1 and isinstance(main.ops[0], ast.Eq) and \
            isinstance(main.comparators[0], ast.Constant) and \
            main.comparators[0].value == "__main__" and not node.orelse

    def klass(self, node: ast.ClassDef) -> bool:
        if node.keywords or not all(self.dataclass(d) for d in node.decorator_list):
            return False  # a class decorator or metaclass may register it
        for base in node.bases:
            name = dotted(base)
            if name is None:
                return False
            full = self.framework(name) or self.resolved(name)
            if not (name in self.classes or full in _ENUMS or
                    self.framework(name) is not None and
                    name.rpartition(".")[2][:1] != "_" or
                    "." not in name and name not in self.module.imports and
                    isinstance(getattr(builtins, name, None), type)):
                return False
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if item.name in ("__init_subclass__", "__set_name__", "__class_getitem__") or \
                        not all(self.method_decorator(d) for d in item.decorator_list) or \
                        not self.signature(item):
                    return False
            elif isinstance(item, ast.Expr):
                if not isinstance(item.value, ast.Constant):
                    return False
            elif isinstance(item, (ast.Assign, ast.AnnAssign)):
                targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                if not all(isinstance(t, ast.Name) for t in targets) or \
                        item.value is not None and not self.expression(item.value) or \
                        isinstance(item, ast.AnnAssign) and not self.expression(item.annotation):
                    return False
            elif not isinstance(item, ast.Pass):
                return False
        self.classes.add(node.name)
        return True

    def dataclass(self, node: ast.expr) -> bool:
        """`@dataclass` or `@dataclasses.dataclass(frozen=True)` (literal options): it adds
        methods to the fresh class and registers it nowhere."""
        call = node if isinstance(node, ast.Call) else None
        name = dotted(call.func if call else node) or ""
        return self.resolved(name) == "dataclasses.dataclass" and (call is None or (
            not call.args and all(k.arg and isinstance(k.value, ast.Constant)
                                  for k in call.keywords)))

    # pieces
    def signature(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """Defaults and annotations run when the `def` does."""
        arguments = node.args
        parts = [*arguments.defaults, *(d for d in arguments.kw_defaults if d is not None),
                 *(a.annotation for a in (*arguments.posonlyargs, *arguments.args,
                                          *arguments.kwonlyargs, arguments.vararg,
                                          arguments.kwarg) if a is not None and a.annotation),
                 *([node.returns] if node.returns else [])]
        return all(self.expression(p) for p in parts)

    def method_decorator(self, node: ast.expr) -> bool:
        name = dotted(node)
        return name in _METHOD_DECORATORS and name not in self.module.imports or \
            name is not None and name.count(".") == 1 and \
            name.rpartition(".")[2] in ("setter", "getter", "deleter")

    def decorator(self, node: ast.expr) -> bool:
        call = node if isinstance(node, ast.Call) else None
        name = dotted(call.func if call else node)
        if name is None or call is not None and not self.arguments(call):
            return False
        if name in self.decorators and call is None:
            return True
        full = self.framework(name)
        if full is not None:
            return full.rpartition(".")[2] in _FACTORIES
        head, _, method = name.rpartition(".")
        if method in _GROUP_METHODS and (head in self.groups or self.group is not None and (
                self.resolved(head) == self.group or
                f"{self.module.name}.{head}" == self.group)):
            return True
        return self.project_decorator(node, name)

    def project_decorator(self, node: ast.expr, name: str) -> bool:
        """Whether `node` names a project function proven to only wrap what it decorates,
        or calls one proven to only build a decorator of the framework (`_inert_functions`);
        why not is kept for the message."""
        if self.prover.resolve(self.module, name) is None:
            return False
        why = self.prover.decorator(self.module, node)
        if why is not None:
            self.unproven[id(node)] = why
        return why is None

    def is_group_decorator(self, node: ast.expr) -> bool:
        name = dotted(node.func if isinstance(node, ast.Call) else node) or ""
        return name.rpartition(".")[2] == "group"

    def registration(self, node: ast.expr) -> bool:
        """`cli.add_command(x)`, `app.add_typer(x)`, `app.command()(f)` on a group or app of
        the module, with inert arguments."""
        if not isinstance(node, ast.Call) or not self.arguments(node):
            return False
        func = node.func
        if isinstance(func, ast.Call):  # `app.command(name="ls")(function)`
            if not self.arguments(func):
                return False
            func = func.func
        name = dotted(func)
        if name is None or "." not in name:
            return False
        head, _, method = name.rpartition(".")
        return method in _GROUP_METHODS and head in self.groups

    def helper_registration(self, node: ast.expr) -> bool:
        """`register_repl(amqp)`: a helper of the project or a library that only adds its
        own functions as commands of a group of the module (`_register_helpers`)."""
        if not isinstance(node, ast.Call):
            return False
        name = dotted(node.func)
        found = self.anywhere.resolve(self.module, name) if name else None
        return registers_only_on(
            node, found, lambda value: isinstance(value, ast.Name) and value.id in self.groups,
            self.expression, FRAMEWORKS)

    def framework_call(self, node: ast.expr) -> str | None:
        """"group" for a call building a group or app, "decorator" for a decorator factory,
        "value" for another framework class, None for anything else."""
        if not isinstance(node, ast.Call) or not self.arguments(node):
            return None
        name = dotted(node.func)
        full = self.framework(name) if name else None
        if full is None:
            return None
        if full.rpartition(".")[2] in _FACTORIES:
            return "decorator"
        return built(full)

    def arguments(self, call: ast.Call) -> bool:
        return all(self.expression(a) for a in (*call.args, *(k.value for k in call.keywords)))

    def expression(self, node: ast.expr) -> bool:
        """A value computed without calling anything but the framework's classes and
        decorator factories (`typer.Option(...)` in a default); a lambda is not run."""
        for part in _walk(node):
            if isinstance(part, ast.Call):
                if self.framework_call(part) is None and not self.pure_call(part) and \
                        not self.joined(part) and not self.enum_call(part) and \
                        self.project_call(part) is None:
                    return False
            elif isinstance(part, _COMPREHENSIONS):
                if not all(self.iterable(g.iter) and not g.is_async for g in part.generators):
                    return False
            elif not isinstance(part, (*_INERT_EXPRESSIONS, ast.Lambda, ast.arguments,
                                       ast.arg, ast.comprehension)):
                return False
        return True

    def iterable(self, node: ast.expr) -> bool:
        """A value iterating (or sorting, hashing) which runs nothing of the project (a
        comprehension's, `sorted`'s or `", ".join`'s): a display of literals (`{"a", "b"}`;
        a name in it may be an object whose `__lt__` or `__hash__` is the project's), the
        result of a `pure_call`, or a name the module binds once to one (`_SORT_OPTIONS =
        get_args(Sort_T)`)."""
        if isinstance(node, ast.Name) and len(self.module.globals.binds.get(node.id, [])) == 1:
            bound = self.module.assigned.get(node.id)
            if bound is None or isinstance(bound, ast.Name):
                return False
            node = bound
        if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Constant)):
            return all(isinstance(n, (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict,
                                      ast.Load)) for n in ast.walk(node))
        return self.pure_call(node)

    def joined(self, node: ast.Call) -> bool:
        """`", ".join(NAMES)` of a literal separator over an `iterable`."""
        func = node.func
        return isinstance(func, ast.Attribute) and func.attr == "join" and \
            isinstance(func.value, ast.Constant) and isinstance(func.value.value, str) and \
            len(node.args) == 1 and not node.keywords and self.iterable(node.args[0])

    def enum_call(self, node: ast.Call) -> bool:
        """`enum.Enum("Sort", {s: s for s in NAMES}, type=str)`: the functional API builds a
        new class of literal name and members (`type=` a builtin class, whose
        `__init_subclass__` is `object`'s)."""
        if self.resolved(dotted(node.func) or "") not in _ENUMS or not node.args or \
                len(node.args) > 2 or not isinstance(node.args[0], ast.Constant) or \
                any(isinstance(a, ast.Starred) for a in node.args):
            return False
        for keyword in node.keywords:
            value = keyword.value
            if keyword.arg == "type":
                if not isinstance(value, ast.Name) or value.id not in _MIXINS or \
                        value.id in self.module.globals.binds:
                    return False
            elif keyword.arg not in ("module", "qualname", "start", "boundary") or \
                    not self.expression(value):
                return False
        return all(self.expression(a) for a in node.args[1:])

    def logger_call(self, node: ast.expr) -> bool:
        """`logging.getLogger(...)`, or a call of a project function that does nothing but
        walk the stack and return `logging.getLogger(...)` (`log = get_logger()`): getting a
        logger later gives the same logger (only `logging`'s table of loggers gains its entry
        later)."""
        if not isinstance(node, ast.Call) or not self.arguments(node):
            return False
        name = dotted(node.func)
        full = self.resolved(name) if name else None
        if full == "logging.getLogger":
            return True
        if full is None or "." not in full:
            return False
        module_name, _, function = full.rpartition(".")
        helper = _read_module(self.module, module_name)
        return helper is not None and _logger_helper(helper, function)

    def project_call(self, node: ast.expr) -> str | None:
        """"group" or "value" when `node` calls a project function, its arguments inert,
        proven to only build and return objects (`_inert_functions`: `typer_factory(help=
        "...")` returning `typer.Typer(...)`, `get_logger(__name__)` returning
        `logging.getLogger(...)`), None otherwise (why is kept for the message, by the
        call's node)."""
        if not isinstance(node, ast.Call) or not self.arguments(node):
            return None
        name = dotted(node.func)
        imported = self.module.imports.get((name or "").partition(".")[0])
        if name is None or imported is None and name not in self.module.defs:
            return None
        if self.prover.resolve(self.module, name) is None:
            if self.read(imported[1] if imported else self.module.name) is not None:
                self.unproven[id(node)] = (
                    f"`{name}` is not found defined at the top of a project module (bound "
                    "by a module `__getattr__`, or not a plain function), so it is not proven")
            return None
        why, group = self.prover.call(self.module, node)
        if why is not None:
            self.unproven[id(node)] = why
            return None
        return "group" if group else "value"

    def pure_call(self, node: ast.expr) -> bool:
        """`sorted(get_args(Kind))`: builtins that only build a new value from the items of
        an `iterable` (`sorted` without `key=`, `tuple`, `list`, `set`, `frozenset`, `len`),
        and `typing`'s `get_args`/`get_origin` of an inert expression (read now, as any
        name a module-level expression reads)."""
        if not isinstance(node, ast.Call) or any(isinstance(a, ast.Starred) for a in node.args):
            return False
        name = dotted(node.func) or ""
        if name in _PURE_BUILTINS and name not in self.module.globals.binds:
            reverse = name == "sorted" and all(k.arg == "reverse" and isinstance(
                k.value, ast.Constant) for k in node.keywords)
            return len(node.args) <= 1 and (reverse or not node.keywords) and \
                all(self.iterable(a) for a in node.args)
        return self.resolved(name) in _INTROSPECTION and len(node.args) == 1 and \
            not node.keywords and self.expression(node.args[0])

    def pattern(self, node: ast.expr) -> bool:
        """`re.compile(r"...", re.I)` of literals: the same pattern compiled later matches
        the same (only `re`'s cache of compiled patterns gains its entry later)."""
        if not isinstance(node, ast.Call) or node.keywords or not node.args or \
                self.resolved(dotted(node.func) or "") != "re.compile":
            return False
        first, *flags = node.args
        return isinstance(first, ast.Constant) and isinstance(first.value, (str, bytes)) and \
            len(flags) <= 1 and all(self.flag(f) for f in flags)

    def flag(self, node: ast.expr) -> bool:
        """`re.I`, `re.M | re.X`: flags of `re` (upper-case names it defines)."""
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.flag(node.left) and self.flag(node.right)
        full = self.resolved(dotted(node) or "") or ""
        return full.startswith("re.") and full.count(".") == 1 and full[3:].isupper()

    # names
    def resolved(self, name: str) -> str | None:
        head, _, rest = name.partition(".")
        imported = self.module.imports.get(head)
        if imported is None:
            return None
        _node, module, attribute = imported
        full = f"{module}.{attribute}" if attribute else module
        return f"{full}.{rest}" if rest else full

    @staticmethod
    def factory(full: str) -> bool:
        """Whether calling `full` (`click.option`) only builds a decorator of the framework
        (not `click.command(f)` or `click.pass_context(f)`, which take the function)."""
        head, _, last = full.partition(".")
        return head in FRAMEWORKS and last in _PARAMETER_FACTORIES

    def framework(self, name: str) -> str | None:
        """The full name of a framework object `name` refers to (`click.option`)."""
        full = self.resolved(name)
        if full is None or full.partition(".")[0] not in FRAMEWORKS or full.count(".") != 1:
            return None
        return full


#: Builtins that only build a new value from an iterable's items (compared by `sorted`).
_PURE_BUILTINS = frozenset({"sorted", "tuple", "list", "set", "frozenset", "len"})
#: Builtin classes an enum made by the functional API may mix in (`type=str`).
_MIXINS = frozenset({"str", "int", "float", "bytes"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp)
#: `typing` introspection: the parts of a type alias, read and returned as they are.
_INTROSPECTION = frozenset({"typing.get_args", "typing.get_origin",
                            "typing_extensions.get_args", "typing_extensions.get_origin"})
#: What a logger helper may call: the stack walks and `logging.getLogger`.
_HELPER_CALLS = frozenset({"logging.getLogger", "inspect.stack", "inspect.currentframe",
                           "sys._getframe"})


def built(full: str) -> str | None:
    """What calling the framework's `full` (`typer.Typer`) builds: "group" for a group or app,
    "value" for another public class of the framework, None for anything else."""
    head, _, last = full.partition(".")
    if head not in FRAMEWORKS or "." in last or not last[:1].isupper():
        return None
    return "group" if last in _GROUP_CLASSES else "value"


def _read_module(near: SourceModule, name: str) -> SourceModule | None:
    """The project module `name`, found beside `near` (the same source root), or None."""
    root = os.path.dirname(near.path)
    for _ in range(near.name.count(".") + (os.path.basename(near.path) == "__init__.py")):
        root = os.path.dirname(root)
    base = os.path.join(root, *name.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(path):
            return _source_module(name, path)
    return None


def _read_installed(name: str) -> SourceModule | None:
    """The installed module `name`'s source, found as `import` would (without importing)."""
    from ..audit._project import locate

    path = locate(name)
    return _source_module(name, path) if path is not None else None


def _source_module(name: str, path: str) -> SourceModule | None:
    from ..audit._project import decode_source, read_source

    try:
        return SourceModule(name, path, decode_source(read_source(path)))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return None


def _logger_helper(module: SourceModule, function: str) -> bool:
    """Whether `function`, bound once at the top of `module`, undecorated, only binds locals,
    branches and returns, calling nothing but `_HELPER_CALLS` and `.f_globals.get(...)`."""
    found = [n for n in module.tree.body if isinstance(n, (ast.FunctionDef, ast.Assign,
             ast.AnnAssign, ast.ClassDef, ast.AsyncFunctionDef, ast.Import, ast.ImportFrom))
             and function in _bound(n)]
    node = found[0] if len(found) == 1 else None
    if not isinstance(node, ast.FunctionDef) or node.decorator_list:
        return False
    helper = _Inert(module, None)
    if not helper.signature(node):
        return False
    for part in ast.walk(ast.Module(body=node.body, type_ignores=[])):
        if isinstance(part, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
                             ast.Global, ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await,
                             ast.Delete, ast.With, ast.Try, ast.For, ast.While)):
            return False
        if isinstance(part, (ast.Attribute, ast.Subscript)) and \
                not isinstance(part.ctx, ast.Load):
            return False
        if isinstance(part, ast.Call):
            name = dotted(part.func) or ""
            if helper.resolved(name) not in _HELPER_CALLS and \
                    not name.endswith(".f_globals.get"):
                return False
    return True


def _bound(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _walk(node: ast.AST):
    """The nodes of an expression, not entering lambda bodies (not run when defined) but
    their defaults, which are."""
    pending = [node]
    while pending:
        part = pending.pop()
        yield part
        if isinstance(part, ast.Lambda):
            pending.extend(part.args.defaults)
            pending.extend(d for d in part.args.kw_defaults if d is not None)
        else:
            pending.extend(ast.iter_child_nodes(part))


def _clip(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."
