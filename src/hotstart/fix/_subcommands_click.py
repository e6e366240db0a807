"""The `cli` codemod for click and typer: eager registrations made lazy.

It finds, at the top level of a module, the registrations of commands that another module
of the project defines, and rewrites each to `hotstart.lazy.cli`'s lazy form, with what the
parent's help shows of the command read from the command module's source:

    cli.add_command(build)             ->  cli.add_command(lazy_command(
    (after `from .commands.build import build`)     "pkg.commands.build:build",
                                                     function="build", doc="Build it."))
    app.add_typer(users.app, name="users")  ->  add_lazy_typer(app, "pkg.users:app",
                                                               name="users", help="...")
    app.command()(serve)               ->  add_lazy_typer_command(app, "pkg.serve:serve",
                                                                  function="serve", doc="...")

and drops the imports that only those registrations used. What it cannot prove equal, it
leaves alone and says why: a help text computed at run time, a command object built by a
call, a custom command class (it may draw its own listing), a command module that does
something else when imported (registers on another group, has side effects), a name used
elsewhere in the module or imported from it by another.

The values given to the placeholders are the registration's own: the decorator's and the
call's literal arguments, the docstring as written (``doc=``: the runtime processes it as the
interpreter's compiler does, and click or typer then as they always do), the function's name
(``function=``: the installed click's or typer's rule derives the command's name from it).
"""

from __future__ import annotations

import ast
import json
import os
import re

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ..audit.model import AuditReport
from ._argparse_commands import console_script
from ._imports import Sections, Statement, line_length
from ._rewriter import Rewriter, _removed, statement_text
from ._subcommands_decorated import find_decorated
from ._subcommands_effects import check_imported
from ._subcommands_read import (
    Project,
    Refused,
    SourceModule,
    click_facts,
    literal,
    one_line,
    typer_app_facts,
    typer_call,
    typer_command_facts,
)
from ._typehints import import_root
from .codemods import _add_top_import
from .plan import Change, CodeSite, Skipped

__all__ = ["find", "rewrite"]

RUNTIME = "hotstart.lazy.cli"
#: Registration kind -> the runtime function its lazy form calls.
FUNCTIONS = {"add_command": "lazy_command", "add_typer": "add_lazy_typer",
             "typer_command": "add_lazy_typer_command", "register_import": "lazy_command",
             "typer_register_import": "add_lazy_typer_command"}
#: The kinds made by `_subcommands_decorated`: an import replaced by the registrations of
#: the commands its module registers itself.
_IMPORT_KINDS = ("register_import", "typer_register_import")
_MOVED = "the registration or its import is not in the file as planned (re-run)"
#: A name no real command has: its error output is compared too.
UNKNOWN = "hotstart-no-such-command"


# -- finding registrations -----------------------------------------------------------------

def find(source: str, module: str, file: str, path: str, report: AuditReport,
         project: str) -> tuple[list[Change], list[Skipped]]:
    """The click and typer registrations of `source` (module `module`, shown as `file`,
    at `path`) that can be made lazy, and the ones that cannot, with why."""
    try:
        here = SourceModule(module, path, source)
    except (SyntaxError, ValueError):
        return [], []
    root = import_root(module, path)
    known = Project(report, {**report.paths}, root)
    known.cache[module] = here
    typer_apps = {name for name, value in here.assigned.items()
                  if typer_call(value, here, known) is not None}
    changes: list[Change] = []
    skipped: list[Skipped] = []
    program = _Program(here, root, project)
    counts = _typer_counts(here, typer_apps, known)
    registrations = [(node.lineno, node.end_lineno or node.lineno) for node in here.tree.body
                     if _registration(node, here, typer_apps) is not None]
    reexported = {b.name: f"{u.scope} ({u.file}:{u.line})" for site in report.sites
                  if site.file == file for b in site.names for u in b.uses
                  if u.context == "reexport"}
    for node in here.tree.body:
        found = _registration(node, here, typer_apps)
        if found is None:
            continue
        kind, owner, call, argument = found
        if _made_lazy(argument, here) or isinstance(argument, ast.Name) and (
                argument.id in here.defs or argument.id in here.assigned):
            continue  # lazy already, or defined here: nothing to defer
        site = CodeSite(file, module, node.lineno, one_line(here.segment(node)), "cli",
                        end_line=node.end_lineno or node.lineno)
        try:
            if kind in ("add_typer", "typer_command") and counts.get(owner, 2) < 2:
                raise Refused(f"`{owner}` has one command: typer makes it the program "
                              f"itself, which must import it")
            data = _plan_one(kind, owner, call, argument, here, known, registrations,
                             reexported)
        except Refused as why:
            skipped.append(Skipped(site, f"not made lazy: {why}"))
            continue
        data.update(program.facts(owner, kind, data))
        site.data = data
        moved = "".join(f"; its import moved into {function}()"
                        for function in sorted(data.get("moves", {})))
        changes.append(Change(site, "lazy-subcommand", path,
                              f"`{data['name'] or _derived(data)[0]}` registered lazily "
                              f"({data['target']} imported when used{moved})"))
    def checks(module: SourceModule, name: str | None, group: str, typer: bool) -> None:
        if not typer and not _click_group(group.rpartition(".")[2], here, known):
            raise Refused(f"`{group}` is not a click group made in the project")
        check_imported(module, name, here, known, group)

    found, refused = find_decorated(here, known, file, path, program, checks, counts)
    return changes + found, skipped + refused


def _made_lazy(argument: ast.expr, here: SourceModule) -> bool:
    """Whether the registered command is already one of the runtime's placeholders."""
    return isinstance(argument, ast.Call) and here.refers(
        argument.func, tuple(f"{RUNTIME}.{name}" for name in FUNCTIONS.values()))


def _registration(node: ast.stmt, here: SourceModule, typer_apps: set[str]):
    """(kind, owner name, call, registered expression) of a top-level registration."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return None
    call = node.value
    func = call.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and call.args:
        owner = func.value.id
        if func.attr == "add_command" and owner not in typer_apps:
            return "add_command", owner, call, call.args[0]
        if func.attr == "add_typer" and owner in typer_apps:
            return "add_typer", owner, call, call.args[0]
    if isinstance(func, ast.Call) and isinstance(func.func, ast.Attribute) and \
            func.func.attr == "command" and isinstance(func.func.value, ast.Name) and \
            func.func.value.id in typer_apps and len(call.args) == 1 and not call.keywords:
        return "typer_command", func.func.value.id, func, call.args[0]
    return None


def _typer_counts(here: SourceModule, apps: set[str], known: Project) -> dict[str, int]:
    """How many commands and sub-apps each typer app of the module registers, a callback
    counting as two (typer makes an app with a callback a group)."""
    counts = dict.fromkeys(apps, 0)
    for name in apps:
        value = typer_call(here.assigned[name], here, known)
        if value is not None and any(k.arg == "callback" for k in value.keywords):
            counts[name] += 2
    for node in ast.walk(here.tree):
        decorators = getattr(node, "decorator_list", [])
        for decorator in decorators:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                    and target.value.id in apps:
                counts[target.value.id] += 2 if target.attr == "callback" else 1
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id in apps and \
                node.func.attr == "add_typer":
            counts[node.func.value.id] += 2
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Call) and \
                isinstance(node.func.func, ast.Attribute) and \
                isinstance(node.func.func.value, ast.Name) and \
                node.func.func.value.id in apps and node.func.func.attr == "command":
            counts[node.func.func.value.id] += 1
    return counts


def _plan_one(kind: str, owner: str, call: ast.Call, argument: ast.expr,
              here: SourceModule, known: Project, registrations: list[tuple[int, int]],
              reexported: dict[str, str]) -> dict:
    """The rewrite's facts for one registration, or `Refused`."""
    if isinstance(argument, ast.Call):
        raise Refused("the command is built by a call at run time")
    if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred)
                                                        for a in call.args):
        raise Refused("`*args`/`**kwargs` in the registration: its values are not known")
    if kind == "add_command" and not _click_group(owner, here, known):
        raise Refused(f"`{owner}` is not a click group made in the project "
                      f"(`@click.group()`, `@<group>.group()`, `click.Group(...)`)")
    local, module, attr = _imported(argument, here)
    moves = _check_uses(local, here, registrations, reexported)
    owner_module, defined = known.resolve(module, attr)
    if owner_module.name == here.name:
        raise Refused(f"`{local}` is defined in this module")
    check_imported(owner_module, defined, here, known)
    data = {"framework": "typer" if kind != "add_command" else "click", "kind": kind,
            "owner": owner, "target": f"{module}:{attr}", "binding": local,
            "subcommands": [], "moves": moves}
    if kind == "add_command":
        data.update(click_facts(call, owner_module, defined, known))
    elif kind == "add_typer":
        data.update(typer_app_facts(call, here, owner_module, defined, known))
    else:
        data.update(typer_command_facts(call, here, owner_module, defined, known))
    return data


_GROUP_MAKERS = ("click.group", "click.decorators.group", "click.Group", "click.core.Group")


def _click_group(name: str, module: SourceModule, known: Project, depth: int = 0) -> bool:
    """Whether `name` in `module` is a click group: a function decorated with
    `@click.group(...)` or another group's `@<group>.group(...)` (under a decorator such as
    click-plugins' `@with_plugins(...)`, which adds to the group it is given), or
    `click.Group(...)`, defined there or imported from the project."""
    if depth > 8:
        return False
    definition = module.defs.get(name)
    if definition is not None:
        for decorator in getattr(definition, "decorator_list", []):
            factory = decorator.func if isinstance(decorator, ast.Call) else decorator
            if module.refers(factory, _GROUP_MAKERS) or (
                    isinstance(factory, ast.Attribute) and factory.attr == "group" and
                    isinstance(factory.value, ast.Name) and
                    _click_group(factory.value.id, module, known, depth + 1)):
                return True
        return False
    value = module.assigned.get(name)
    if value is not None:
        return isinstance(value, ast.Call) and module.refers(value.func, _GROUP_MAKERS)
    imported = module.imports.get(name)
    if imported is None or imported[2] is None:
        return False
    try:
        owner, defined = known.resolve(imported[1], imported[2])
    except Refused:
        return False
    return _click_group(defined, owner, known, depth + 1)


def _imported(argument: ast.expr, here: SourceModule) -> tuple[str, str, str]:
    """(local name, module, attribute) of a registered `name` or `module.attr`."""
    if isinstance(argument, ast.Name):
        found = here.imports.get(argument.id)
        if found is None:
            raise Refused(f"`{argument.id}` is not imported at the top of the module")
        _node, module, attr = found
        if attr is None:
            raise Refused(f"`{argument.id}` is a module, not a command")
        return argument.id, module, attr
    if isinstance(argument, ast.Attribute) and isinstance(argument.value, ast.Name):
        found = here.imports.get(argument.value.id)
        if found is None:
            raise Refused(f"`{argument.value.id}` is not imported at the top of the module")
        _node, module, attr = found
        return argument.value.id, f"{module}.{attr}" if attr else module, argument.attr
    raise Refused(f"`{here.segment(argument)}` is not a name imported from a module")


def _check_uses(local: str, here: SourceModule, registrations: list[tuple[int, int]],
                reexported: dict[str, str]) -> dict[str, str]:
    """Refuse a name that the module binds twice, re-exports, or uses outside its
    registrations (the module would stay imported; the rewrite drops an import only when no
    use is left), except in the bodies of functions, which get an import of their own (the
    command's module is imported when such a function runs, not when the module is): {the
    function's qualified name: that import}."""
    moves: dict[str, str] = {}
    for load in here.globals.loads.get(local, []):
        if any(start <= load.line <= end for start, end in registrations):
            continue
        statement = _own_import(local, here) if load.function is not None else None
        if statement is None:
            raise Refused(f"`{local}` is also used at line {load.line}")
        moves[load.function] = statement  # type: ignore[index]
    bound = len(here.globals.binds.get(local, []))
    if bound != 1:
        raise Refused(f"`{local}` is bound more than once in the module")
    if local in reexported:
        raise Refused(f"`{local}` is imported from this module by {reexported[local]}")
    exported = here.assigned.get("__all__")
    if exported is not None and any(literal(e) == local
                                    for e in getattr(exported, "elts", [])):
        raise Refused(f"`{local}` is listed in __all__")
    return moves


def _own_import(local: str, here: SourceModule) -> str | None:
    """`from module import name` for a function of `here` that uses `local` (None for a
    binding by `import a.b`, which another import would not make the same)."""
    _node, module, attr = here.imports[local]
    if attr is None:
        return None
    return statement_text("from", module, [attr if local == attr else f"{attr} as {local}"])


# -- how the program is run ------------------------------------------------------------

class _Program:
    """How HelpCheck runs the program a registration belongs to: the console script that
    calls this module's object when the project declares one, else the object itself."""

    def __init__(self, here: SourceModule, root: str, project: str) -> None:
        self.here = here
        self.root = root
        self.script = console_script(here.name, project)

    def facts(self, owner: str, kind: str, data: dict) -> dict:
        prog, call = self.script or (self.here.name.split(".")[0], owner)
        head = call.split(".")[0]
        invoke = (f"import json, os, sys; sys.path.insert(0, {self.root!r}); "
                  f"sys.argv = [{prog!r}, *json.loads(os.environ['HOTSTART_HELP_ARGV'])]; "
                  f"from {self.here.name} import {head}; {call}()")
        paths = [["--help"], [UNKNOWN]]
        for command in data.get("commands", [data]):
            names = [command["name"]] if command["name"] is not None else _derived(
                {**command, "kind": data["kind"]})
            for name in names:
                paths += [[name, "--help"], *([name, sub, "--help"]
                                              for sub in command.get("subcommands", []))]
        return {"invoke": invoke, "help_paths": paths}


def _derived(data: dict) -> list[str]:
    """The names a command can have when derived from its function's name: typer's and
    click 8.1's (lower case, `_` to `-`), and click 8.2's, which also drops a `_command`,
    `_cmd`, `_group` or `_grp` suffix. The project's click decides at run time: HelpCheck
    runs both (the one that does not exist gives the same error before and after)."""
    name = data["function"].lower().replace("_", "-")
    names = [name]
    if data["kind"] in ("add_command", "register_import"):
        left, dash, suffix = name.rpartition("-")
        if dash and suffix in ("command", "cmd", "group", "grp"):
            names.insert(0, left)
    return names


# -- rewriting -----------------------------------------------------------------------------

def rewrite(source: str, changes: list[Change]) -> tuple[str, list[tuple[Change, str]]]:
    """`source` with the registrations of `changes` made lazy, the imports only they used
    dropped and the runtime's functions imported; and the changes it could not make."""
    failed: list[tuple[Change, str]] = []
    try:
        here = SourceModule(changes[0].site.module if changes else "", changes[0].path
                       if changes else "", source)
    except (SyntaxError, ValueError) as exc:
        return source, [(c, f"the file does not parse ({exc})") for c in changes]
    # by text, nearest the planned line: the import codemods may have run on the file first
    statements: dict[str, list[ast.stmt]] = {}
    for node in here.tree.body:
        statements.setdefault(one_line(here.segment(node)), []).append(node)
    limit = line_length(os.path.dirname(changes[0].path)) if changes else 88
    replaced: dict[int, str] = {}
    after: dict[int, list[str]] = {}  # registrations that follow an import statement
    spans: list[tuple[int, int]] = []
    functions: set[str] = set()
    bindings: dict[str, int] = {}
    for change in changes:
        found = statements.get(change.site.statement)
        data = change.site.data
        binding = here.imports.get(data["binding"])
        if not found or binding is None:
            failed.append((change, _MOVED))
            continue
        node = min(found, key=lambda n: abs(n.lineno - change.site.line))
        function = FUNCTIONS[data["kind"]]
        clash = here.imports.get(function)
        if (function in here.defs or function in here.assigned) or (
                clash is not None and (clash[1], clash[2]) != (RUNTIME, function)):
            failed.append((change, f"the module has a `{function}` of its own"))
            continue
        if data["kind"] in _IMPORT_KINDS:
            after.setdefault(node.lineno, []).append(_lazy_statement(here, node, data, limit))
        else:
            replaced[node.lineno] = _lazy_statement(here, node, data, limit)
            spans.append((node.lineno, node.end_lineno or node.lineno))
        functions.add(function)
        bindings[data["binding"]] = binding[0].lineno
    if not replaced and not after:
        return source, failed
    leaving: dict[int, set[str]] = {}
    moves: dict[str, list[str]] = {}
    for local, line in bindings.items():
        given = {function: statement for change in changes
                 if change.site.data["binding"] == local
                 for function, statement in change.site.data.get("moves", {}).items()}
        uses = here.globals.loads.get(local, [])
        if all(any(start <= use.line <= end for start, end in spans) or
               use.function in given for use in uses):
            leaving.setdefault(line, set()).add(local)
            for function in sorted({use.function for use in uses} & set(given)):
                moves.setdefault(function, []).append(given[function])  # type: ignore
    sections = Sections(_root_of(changes[0]))
    wrapper = MetadataWrapper(cst.parse_module(source))
    code = wrapper.visit(_Registrations(replaced, after, leaving, moves, sections,
                                        limit)).code
    for function in sorted(functions):
        if here.imports.get(function) is None:
            code = _add_top_import(code, Statement("from", RUNTIME, ((function, None),)),
                                   sections, limit)
    return code, failed


def _root_of(change: Change) -> str:
    return import_root(change.site.module, change.path)


def _lazy_command(here: SourceModule, data: dict, limit: int) -> str:
    """`lazy_command(...)` for a click command's facts."""
    arguments = [_string(data["target"])]
    if data["function"] is not None:
        arguments.append(f"function={_string(data['function'])}")
    arguments += [f"{k}={_portable(v, here)}" for k, v in data["values"].items()]
    return _call_text("lazy_command", arguments, limit)


def _lazy_statement(here: SourceModule, node: ast.stmt, data: dict, limit: int) -> str:
    """The registration statement `node`, made lazy (for an import of commands that
    register themselves: the registrations that follow it)."""
    if data["kind"] == "register_import":
        return "\n".join(f"{data['owner']}.add_command("
                         f"{_lazy_command(here, command, limit - len(data['owner']) - 14)})"
                         for command in data["commands"])
    if data["kind"] == "typer_register_import":
        return "\n".join(_typer_command(here, data["owner"], command, [], limit)
                         for command in data["commands"])
    call = node.value  # type: ignore[attr-defined]
    values = dict(data["values"])
    if data["kind"] == "add_command":
        inner = _lazy_command(here, data, limit - len(data["owner"]) - 14)
        argument = call.args[0]  # type: ignore[attr-defined]
        text = here.segment(node)
        start = _offset(text, node, argument.lineno, argument.col_offset)
        end = _offset(text, node, argument.end_lineno, argument.end_col_offset)
        return text[:start] + inner + text[end:]
    if data["kind"] == "add_typer":
        original = [f"{k.arg}={here.segment(k.value)}"
                    for k in call.keywords]  # type: ignore[attr-defined]
        return _typer_call(here, "add_lazy_typer", data, original, values, limit)
    original = [f"{k.arg}={here.segment(k.value)}"
                for k in call.func.keywords]  # type: ignore[attr-defined]
    return _typer_command(here, data["owner"], data, original, limit)


def _typer_command(here: SourceModule, owner: str, data: dict, original: list[str],
                   limit: int) -> str:
    """`add_lazy_typer_command(...)` for a typer command's facts (its name first)."""
    values = dict(data["values"])
    if "name" in values:
        values = {"name": values.pop("name"), **values}
    return _typer_call(here, "add_lazy_typer_command", {**data, "owner": owner}, original,
                       values, limit)


def _typer_call(here: SourceModule, function: str, data: dict, original: list[str],
                values: dict, limit: int) -> str:
    arguments = [data["owner"], _string(data["target"])]
    if data["function"] is not None:
        arguments.append(f"function={_string(data['function'])}")
    arguments += original
    arguments += [f"{k}={_portable(v, here)}" for k, v in values.items()]
    return _call_text(function, arguments, limit)


def _string(text: str) -> str:
    """`text` as a double-quoted Python literal (JSON's escapes are Python's)."""
    return json.dumps(text, ensure_ascii=False)


def _offset(text: str, node: ast.stmt, line: int | None, column: int | None) -> int:
    """The index in `text` (the source of `node`) of (line, UTF-8 byte column)."""
    lines = text.split("\n")
    at = (line or node.lineno) - node.lineno
    start = node.col_offset if at == 0 else 0
    prefix = lines[at].encode("utf-8")[:(column or 0) - start].decode("utf-8", "replace")
    return sum(len(x) + 1 for x in lines[:at]) + len(prefix)


def _call_text(function: str, arguments: list[str], limit: int) -> str:
    one = f"{function}({', '.join(arguments)})"
    if len(one) <= limit and "\n" not in one:
        return one
    return f"{function}(\n" + "".join(f"    {a},\n" for a in arguments) + ")"


def _portable(text: str, here: SourceModule) -> str:
    """A literal's source for this module: as written, or escaped to ASCII where the module
    is not UTF-8 and the literal is not ASCII."""
    if text.isascii() or not _declares_encoding(here.source):
        return text
    return ascii(ast.literal_eval(text))


def _declares_encoding(source: str) -> bool:
    head = source.split("\n", 2)[:2]
    return any(re.match(r"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", line) and
               not re.search(r"coding[:=][ \t]*utf-?8", line, re.IGNORECASE) for line in head)


class _Registrations(Rewriter):
    """Rewriter's removal of import names and moves of imports into the functions that use
    them, the registrations replaced by line, and those that follow an import statement
    (which loses the names only they needed)."""

    def __init__(self, replaced: dict[int, str], after: dict[int, list[str]], leaving,
                 moves: dict[str, list[str]], sections, limit: int) -> None:
        super().__init__(leaving, {}, moves, sections, limit)
        self.replaced = replaced
        self.after = after

    def leave_SimpleStatementLine(self, original, updated):
        line = self.get_metadata(PositionProvider, original).start.line
        text = self.replaced.get(line)
        following = self.after.get(line)
        if following:
            kept = super().leave_SimpleStatementLine(original, updated)
            added = list(cst.parse_module("\n".join(following) + "\n").body)
            if _removed(kept):  # the statement went: its comments and blank lines stay
                added[0] = added[0].with_changes(leading_lines=updated.leading_lines)
                return cst.FlattenSentinel(added)
            return cst.FlattenSentinel([kept, *added])
        if text is None:
            return super().leave_SimpleStatementLine(original, updated)
        parsed = cst.parse_statement(text + "\n")
        return parsed.with_changes(leading_lines=updated.leading_lines,
                                   trailing_whitespace=updated.trailing_whitespace)
