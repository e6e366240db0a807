"""Reading click and typer registrations from source, for the `cli` codemod
(`_subcommands_click`): a project module's top-level imports and definitions, and what a
parent's help shows of a command (its name, help, short help, hidden, deprecated, epilog,
rich help panel), taken as click and typer take them: the decorator's and the call's literal
arguments, typer's order of priority (the `add_typer` call, the sub-app's `@callback`, its
`Typer(...)`, then docstrings), docstrings as written. Whatever is not a literal is refused
(`Refused`, with why).
"""

from __future__ import annotations

import ast
import json
import os

from ..audit.model import AuditReport
from ._subcommands_scope import global_names

__all__ = [
    "NO_VALUE",
    "Project",
    "Refused",
    "SourceModule",
    "click_facts",
    "dotted",
    "literal",
    "one_line",
    "typer_app_facts",
    "typer_command_facts",
]

#: What a parent's help shows of a click command, besides its name.
CLICK_LISTING = ("help", "short_help", "hidden", "deprecated", "epilog")
#: ... of a typer sub-app or command.
TYPER_LISTING = ("help", "short_help", "hidden", "deprecated", "epilog", "rich_help_panel")
NO_VALUE = object()


class Refused(Exception):
    """A registration that cannot be made lazy; the message says why."""


class SourceModule:
    """One project module's source, read once: its top-level imports and definitions."""

    def __init__(self, name: str, path: str, source: str) -> None:
        self.name = name
        self.path = path
        self.source = source
        self.tree = ast.parse(source)
        self.package = name if os.path.basename(path) == "__init__.py" \
            else name.rpartition(".")[0]
        #: local name -> (import node, absolute module, imported attribute or None)
        self.imports: dict[str, tuple[ast.stmt, str, str | None]] = {}
        self.defs: dict[str, ast.stmt] = {}
        self.assigned: dict[str, ast.expr] = {}
        for node in self.tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = (node, alias.name, None)
                    else:  # `import a.b` binds `a`
                        top = alias.name.split(".")[0]
                        self.imports[top] = (node, top, None)
            elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
                base = self.absolute(node.module or "", node.level)
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (node, base, alias.name)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs[node.name] = node
            elif isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], ast.Name):
                self.assigned[node.targets[0].id] = node.value
        #: where the module reads and binds its global names, by scope (a parameter or
        #: local of the same name is another variable); ValueError if too deep to walk
        self.globals = global_names(self.tree)

    def absolute(self, module: str, level: int) -> str:
        if not level:
            return module
        base = self.package
        for _ in range(level - 1):
            base = base.rpartition(".")[0]
        return f"{base}.{module}" if module and base else (module or base)

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def refers(self, node: ast.expr, names: tuple[str, ...]) -> bool:
        """Whether `node` (`click.command`, `command`) names one of `names` of click or
        typer (`("click.command", "click.group")`), as this module imports them."""
        text = dotted(node)
        if text is None:
            return False
        head, _, rest = text.partition(".")
        found = self.imports.get(head)
        if found is None:
            return False
        _node, module, attr = found
        full = f"{module}.{attr}" if attr else module
        return (f"{full}.{rest}" if rest else full) in names


def dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else None
    return None


def literal(node: ast.expr):
    """The value of a literal (str, bool, None, number), or `NO_VALUE`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (str, bool, int, float,
                                                                  type(None))):
        return node.value
    return NO_VALUE


class Project:
    """The project's modules, read on demand (by absolute name)."""

    def __init__(self, report: AuditReport, paths: dict[str, str], root: str) -> None:
        self.paths = {s.module: paths[s.file] for s in report.sites if s.file in paths}
        self.root = root
        self.effects = report.effects
        self.cache: dict[str, SourceModule | None] = {}

    def module(self, name: str) -> SourceModule | None:
        if name in self.cache:
            return self.cache[name]
        from ..audit._project import decode_source, read_source

        path = self.paths.get(name)
        if path is None:
            base = os.path.join(self.root, *name.split("."))
            path = next((p for p in (base + ".py", os.path.join(base, "__init__.py"))
                         if os.path.isfile(p)), None)
        found = None
        if path is not None:
            try:
                found = SourceModule(name, path, decode_source(read_source(path)))
            except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
                found = None
        self.cache[name] = found
        return found

    def resolve(self, module: str, attr: str) -> tuple[SourceModule, str]:
        """The module that defines `attr` of `module` (following `from .x import attr`
        re-exports), and the name it has there."""
        for _ in range(8):
            found = self.module(module)
            if found is None:
                raise Refused(f"{module} is not a module of the project")
            if attr in found.defs or attr in found.assigned:
                return found, attr
            imported = found.imports.get(attr)
            if imported is None or imported[2] is None:
                raise Refused(f"{module}.{attr} is not defined at the top of {module}")
            _node, module, attr = imported
        raise Refused(f"{module}.{attr}: too many re-exports to follow")


# -- what the parent's help shows ------------------------------------------------------

def _keywords(call: ast.Call, module: SourceModule, listing: tuple[str, ...], where: str,
              project: Project | None = None) -> dict[str, ast.keyword]:
    """{keyword: its node} of `call`'s listing keywords; `Refused` for one that is not a
    literal, or for a command class that may draw its listing otherwise (any class, without
    `project`)."""
    found = {}
    for keyword in call.keywords:
        shown = ast.unparse(keyword.value)
        if keyword.arg is None:
            raise Refused(f"`**{shown}` in {where}: its values are not known")
        if keyword.arg == "cls":
            why = _class_problem(keyword.value, getattr(keyword, "hs_module", module),
                                 project) if project is not None else "a class of its own"
            if why is not None:
                raise Refused(f"cls={shown} in {where}: {why}")
        if keyword.arg in listing or keyword.arg == "name":
            if literal(keyword.value) is NO_VALUE:
                raise Refused(f"{keyword.arg}={shown} in {where} is computed at run time")
            found[keyword.arg] = keyword
    return found


#: Command classes whose listing is the framework's own.
FRAMEWORK_CLASSES = ("click.Command", "click.Group", "click.core.Command", "click.core.Group",
                     "typer.core.TyperGroup", "typer.core.TyperCommand")
#: What a parent's listing reads of a subcommand's class: a class that defines one of these
#: may show it otherwise than the placeholder (which has the framework's own).
_LISTING_MEMBERS = {"__init__", "__new__", "__getattr__", "__getattribute__",
                    "get_short_help_str", "help", "short_help", "hidden", "deprecated",
                    "name", "rich_help_panel", "epilog"}


def _class_problem(node: ast.expr, module: SourceModule, project: Project,
                   depth: int = 0) -> str | None:
    """Why the command class `node` may draw the parent's listing of its command otherwise
    than the framework's own class, or None (a project class that leaves it alone)."""
    if module.refers(node, FRAMEWORK_CLASSES):
        return None
    name = node.id if isinstance(node, ast.Name) else None
    if name is None or depth > 8:
        return "a custom class may draw its listing otherwise"
    owner, defined = module, name
    if name not in module.defs:
        imported = module.imports.get(name)
        if imported is None or imported[2] is None:
            return "a custom class may draw its listing otherwise"
        try:
            owner, defined = project.resolve(imported[1], imported[2])
        except Refused as why:
            return str(why)
    definition = owner.defs.get(defined)
    if not isinstance(definition, ast.ClassDef) or definition.decorator_list or \
            definition.keywords:
        return f"{owner.name}.{defined} is not a plain class of the project"
    for item in definition.body:
        names = [item.name] if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                 ast.ClassDef)) else \
            [t.id for t in getattr(item, "targets", [getattr(item, "target", None)])
             if isinstance(t, ast.Name)]
        touched = _LISTING_MEMBERS.intersection(names)
        if touched == {"__init__"} and _adds_parameters(item):
            continue
        if touched:
            return (f"{owner.name}.{defined} defines {min(touched)}, which the "
                    f"parent's listing may read")
    for base in definition.bases:
        why = _class_problem(base, owner, project, depth + 1)
        if why is not None:
            return why
    return None


def _adds_parameters(function: ast.stmt) -> bool:
    """Whether `function` is an ``__init__(self, *args, **kwargs)`` that passes all it is
    given to ``super().__init__(*args, **kwargs)`` and then only adds parameters
    (``self.params.extend(...)``/``append``/``insert``, their arguments not reading
    ``self``): celery's daemon commands. What the parent's listing reads is then the base
    class's."""
    if not isinstance(function, ast.FunctionDef) or function.decorator_list:
        return False
    arguments = function.args
    if arguments.posonlyargs or arguments.kwonlyargs or len(arguments.args) != 1 or \
            arguments.vararg is None or arguments.kwarg is None or arguments.defaults:
        return False
    me, rest, extra = arguments.args[0].arg, arguments.vararg.arg, arguments.kwarg.arg
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if not body or ast.dump(body[0]) != ast.dump(ast.parse(
            f"super().__init__(*{rest}, **{extra})").body[0]):
        return False
    for statement in body[1:]:
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not isinstance(call, ast.Call) or dotted(call.func) not in (
                f"{me}.params.extend", f"{me}.params.append", f"{me}.params.insert"):
            return False
        if any(isinstance(n, ast.Name) and n.id in (me, "super") for a in
               [*call.args, *(k.value for k in call.keywords)] for n in ast.walk(a)):
            return False
    return True


def literal_text(node: ast.expr) -> str:
    """A literal's value as Python source (strings double-quoted)."""
    value = literal(node)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return repr(value)


def typer_call(value: ast.expr | None, module: SourceModule, project: Project
               ) -> ast.Call | None:
    """The `typer.Typer(...)` call that makes `value`: the call itself, or the one a
    project factory returns (`def make(help): return typer.Typer(help=help, ...)`), its
    parameters replaced by the arguments `value` passes (or their defaults)."""
    if not isinstance(value, ast.Call):
        return None
    if module.refers(value.func, ("typer.Typer",)):
        return value
    if not isinstance(value.func, ast.Name) or any(
            isinstance(a, ast.Starred) for a in value.args) or any(
            k.arg is None for k in value.keywords):
        return None
    owner, name = module, value.func.id
    if name not in module.defs:
        imported = module.imports.get(name)
        if imported is None or imported[2] is None:
            return None
        try:
            owner, name = project.resolve(imported[1], imported[2])
        except Refused:
            return None
    factory = owner.defs.get(name)
    if not isinstance(factory, ast.FunctionDef) or factory.decorator_list:
        return None
    body = factory.body[1:] if _docstring(owner, factory) is not None else factory.body
    if len(body) != 1 or not isinstance(body[0], ast.Return) or not isinstance(
            body[0].value, ast.Call) or not owner.refers(body[0].value.func, ("typer.Typer",)):
        return None
    made = body[0].value
    arguments = factory.args
    if arguments.vararg or arguments.kwarg or made.args:
        return None
    positional = [*arguments.posonlyargs, *arguments.args]
    given: dict[str, ast.expr] = {}
    for parameter, default in zip(reversed(positional), reversed(arguments.defaults),
                                  strict=False):
        given[parameter.arg] = default
    for parameter, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True):
        if default is not None:
            given[parameter.arg] = default
    for parameter, argument in zip(positional, value.args, strict=False):
        given[parameter.arg] = argument
    for keyword in value.keywords:
        given[keyword.arg] = keyword.value  # type: ignore[index]
    keywords = []
    for keyword in made.keywords:
        inner = keyword.value
        if isinstance(inner, ast.Name) and inner.id in {p.arg for p in
                                                        [*positional, *arguments.kwonlyargs]}:
            if inner.id not in given:
                return None
            inner = given[inner.id]
        made_keyword = ast.keyword(keyword.arg, inner)
        if inner is keyword.value:  # a name in it is the factory module's
            made_keyword.hs_module = owner  # type: ignore[attr-defined]
        keywords.append(made_keyword)
    call = ast.Call(made.func, [], keywords)
    return ast.copy_location(call, value)


def _docstring(module: SourceModule, node: ast.AST) -> str | None:
    """The docstring's source literal, or None (no docstring, or an empty one)."""
    body = getattr(node, "body", None)
    if not body or not isinstance(body[0], ast.Expr):
        return None
    first = body[0].value
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str) or \
            not first.value:
        return None
    return module.segment(first)


def click_facts(call: ast.Call, module: SourceModule, name: str, project: Project,
                group: str | None = None) -> dict:
    """A click command: its decorator's literal listing values and docstring. `group`: the
    group ("pkg.cli.cli") whose `.command`/`.group` decorator the command may use instead
    of click's (it registers itself there when its module is imported)."""
    definition = module.defs.get(name)
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise Refused(f"{module.name}.{name} is not a function decorated as a click command "
                      f"(built at run time)")
    if not definition.decorator_list:
        raise Refused(f"{module.name}.{name} is not decorated as a click command")
    outer = definition.decorator_list[0]
    factory = outer.func if isinstance(outer, ast.Call) else outer
    names: tuple[str, ...] = ("click.command", "click.group", "click.decorators.command",
                              "click.decorators.group")
    if group is not None:
        names = (*names, f"{group}.command", f"{group}.group")
    if not module.refers(factory, names):
        raise Refused(f"{module.name}.{name}'s outer decorator "
                      f"`@{module.segment(outer)}` is not click.command or click.group "
                      f"(a command registered on another group, or wrapped)")
    decorator = outer if isinstance(outer, ast.Call) else ast.Call(outer, [], [])
    where = f"{module.name}.{name}'s decorator"
    keywords = _keywords(decorator, module, CLICK_LISTING, where, project)
    values = {k: module.segment(v.value) for k, v in keywords.items()}
    if decorator.args:
        if len(decorator.args) > 1 or literal(decorator.args[0]) is NO_VALUE:
            raise Refused(f"the name in {where} is computed at run time")
        values["name"] = module.segment(decorator.args[0])
    registered = call.args[1] if len(call.args) > 1 else next(
        (k.value for k in call.keywords if k.arg == "name"), None)
    if len(call.args) > 2 or any(k.arg != "name" for k in call.keywords) or (
            registered is not None and not isinstance(literal(registered), str)):
        raise Refused("add_command() with arguments besides the command and a literal name")
    if "help" not in values:
        doc = _docstring(module, definition)
        if doc is not None:
            values["doc"] = doc
    own = literal(ast.parse(values["name"], mode="eval").body) if "name" in values \
        else None
    facts = {"values": values, "function": None if "name" in values else definition.name,
             "name": literal(registered) if registered is not None else own}
    facts["group"] = module.refers(factory, names[1::2])
    facts["subcommands"] = _click_subcommands(module, definition.name) if facts["group"] \
        else []
    return facts


def _click_subcommands(module: SourceModule, group: str) -> list[str]:
    """The names (as far as the source shows) of the commands `group` gets in its module."""
    found = []
    for node in module.tree.body:
        for decorator in getattr(node, "decorator_list", [])[:1]:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and dotted(target.value) == group and \
                    target.attr in ("command", "group"):
                given = decorator.args[0] if isinstance(decorator, ast.Call) and \
                    decorator.args else None
                value = literal(given) if given is not None else NO_VALUE
                found.append(value if isinstance(value, str)
                             else node.name.lower().replace("_", "-"))  # type: ignore
    return found


def typer_app_facts(call: ast.Call, here: SourceModule, module: SourceModule, name: str,
                    project: Project) -> dict:
    """A typer sub-app: what of it typer may show in the parent's help, as the sub-app gives
    it: the literal listing arguments of its `Typer(...)` and of its `@callback(...)`, and
    the docstrings typer may take the help from. Typer's own order of priority decides
    among them at run time (it differs between versions: `add_typer(deprecated=False)` is
    explicit in some)."""
    created = typer_call(module.assigned.get(name), module, project)
    if created is None:
        raise Refused(f"{module.name}.{name} is not made by `typer.Typer(...)` (or a function "
                      f"returning one) at the top of its module")
    given = _keywords(call, here, TYPER_LISTING, "add_typer()")
    where = f"{module.name}.{name} = Typer()"
    instance = {k: literal_text(v.value) for k, v in
                _keywords(created, module, TYPER_LISTING, where, project).items()}
    doc = _instance_callback_doc(created, module)
    if doc is not None:
        instance["doc"] = doc
    values = {"app_settings": instance}
    callback = _callback(module, name)
    if callback is not None:
        settings = {k: literal_text(v.value) for k, v in
                    _keywords(callback[0], module, TYPER_LISTING, "its @callback").items()}
        doc = _docstring(module, callback[1])
        if doc is not None:
            settings["doc"] = doc
        values["callback_settings"] = settings
    chosen = given["name"].value if "name" in given else next(
        (ast.parse(v["name"], mode="eval").body for v in values.values() if "name" in v),
        None)
    if chosen is None:
        raise Refused("add_typer() without a name: typer merges the sub-app's commands into "
                      "the parent, which must import them")
    subcommands = []
    for node in module.tree.body:
        for decorator in getattr(node, "decorator_list", [])[:1]:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and dotted(target.value) == name and \
                    target.attr == "command":
                first = decorator.args[0] if isinstance(decorator, ast.Call) and \
                    decorator.args else None
                value = literal(first) if first is not None else NO_VALUE
                subcommands.append(value if isinstance(value, str)
                                   else node.name.lower().replace("_", "-"))  # type: ignore
    return {"values": {k: _dict_text(v) for k, v in values.items() if v or
                       k == "callback_settings"},
            "name": literal(chosen), "function": None, "subcommands": subcommands}


def _dict_text(values: dict[str, str]) -> str:
    """A dict display of string keys and source texts."""
    return "{" + ", ".join(f'"{k}": {v}' for k, v in values.items()) + "}"


def _callback(module: SourceModule, app: str) -> tuple[ast.Call, ast.stmt] | None:
    """The `@app.callback(...)` of a sub-app: (its call, the function)."""
    for node in module.tree.body:
        for decorator in getattr(node, "decorator_list", []):
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and dotted(target.value) == app and \
                    target.attr == "callback":
                made = decorator if isinstance(decorator, ast.Call) else ast.Call(target, [],
                                                                                  [])
                return made, node
    return None


def _instance_callback_doc(created: ast.Call, module: SourceModule) -> str | None:
    value = next((k.value for k in created.keywords if k.arg == "callback"), None)
    if value is None:
        return None
    if not isinstance(value, ast.Name) or value.id not in module.defs:
        raise Refused(f"Typer(callback={module.segment(value)}): its docstring is not known")
    return _docstring(module, module.defs[value.id])


def typer_command_facts(call: ast.Call, here: SourceModule, module: SourceModule, name: str,
                        project: Project) -> dict:
    """A function registered with `app.command(...)(function)`."""
    definition = module.defs.get(name)
    if not isinstance(definition, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise Refused(f"{module.name}.{name} is not a function defined at the top of its "
                      f"module")
    if definition.decorator_list:
        raise Refused(f"{module.name}.{name} is decorated: the decorator may change its name "
                      f"or docstring")
    keywords = _keywords(call, here, TYPER_LISTING, "app.command()", project)
    values = {}
    if call.args:
        if len(call.args) > 1 or literal(call.args[0]) is NO_VALUE:
            raise Refused("the command's name in app.command() is computed at run time")
        values["name"] = here.segment(call.args[0])
    if "help" not in keywords:
        doc = _docstring(module, definition)
        if doc is not None:
            values["doc"] = doc
    chosen = call.args[0] if call.args else keywords["name"].value if "name" in keywords \
        else None
    return {"values": values, "name": literal(chosen) if chosen is not None else None,
            "function": None if chosen is not None else definition.name}




def one_line(text: str) -> str:
    return " ".join(text.split())
