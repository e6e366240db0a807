"""The `cli` codemod for click commands and typer commands that register themselves: a
module that defines commands with its group's or app's decorator (`@cli.command()`,
`@app.command()`, `cli`/`app` imported from the registering module), imported by that module
only for that (`from tool.commands import build  # noqa: F401`). A part of
`_subcommands_click`.

The import is replaced by lazy registrations of the commands the module defines:

    from tool.commands import build      ->  cli.add_command(lazy_command(
                                                 "tool.commands.build:build", function=...))
    from app.commands import serve       ->  add_lazy_typer_command(
                                                 app, "app.commands.serve:serve", function=...)

When one of them is used, its module is imported, as before: its decorators register the
real commands (click: in the placeholders' places in the group; typer: after the app's
command list was read for this run, and in the placeholder's place of the group a later run
builds, which keeps the position of a name and takes the last command given it), and the
command runs. What the module does besides defining those commands refuses the change, as
for the other registrations (`_check_module`, the audit's effects); so does a group bound
after the import, an imported name the module uses, a typer command with another decorator
(it may change the function) or a decorator argument that is not a literal (its names are
the command module's).
"""

from __future__ import annotations

import ast
import copy

from ._subcommands_read import (
    NO_VALUE,
    Project,
    Refused,
    SourceModule,
    click_facts,
    literal,
    one_line,
    typer_command_facts,
)
from .plan import Change, CodeSite, Skipped

__all__ = ["find_decorated"]


def find_decorated(here: SourceModule, known: Project, file: str, path: str, program,
                   checks, typer_apps: dict[str, int]
                   ) -> tuple[list[Change], list[Skipped]]:
    """One change per module that `here` imports only so that it registers its commands on
    a group or typer app of `here`. `checks(module, name, group)` refuses a command module
    that does more than define commands, or a click "group" that is not one (it raises
    `Refused`); `typer_apps`: {typer app of `here`: the commands and sub-apps it registers
    itself, a callback counting two}."""
    changes: list[Change] = []
    skipped: list[Skipped] = []
    loads = here.globals.loads
    for node in here.tree.body:
        if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
            continue
        base = here.absolute(node.module or "", node.level)
        for alias in node.names:
            local = alias.asname or alias.name
            module = known.module(f"{base}.{alias.name}") if alias.name != "*" else None
            package = known.module(base)
            if module is None or local in loads or package is not None and (
                    alias.name in package.defs or alias.name in package.assigned):
                continue  # not a submodule imported only for its effect
            groups = _groups_used(module, here)
            if not groups:
                continue
            site = CodeSite(file, here.name, node.lineno, one_line(here.segment(node)), "cli",
                            end_line=node.end_lineno or node.lineno)
            try:
                data = _plan_module(module, groups, here, node, local, known, checks,
                                    typer_apps)
            except Refused as why:
                skipped.append(Skipped(site, f"not made lazy: {why}"))
                continue
            data.update(program.facts(data["owner"], "register_import", data))
            site.data = data
            names = ", ".join(f"`{c['name'] or c['function'].lower().replace('_', '-')}`"
                              for c in data["commands"])
            changes.append(Change(site, "lazy-subcommand", path,
                                  f"{names} registered lazily ({module.name} imported when "
                                  f"used)"))
    return changes, skipped


def _groups_used(module: SourceModule, here: SourceModule) -> dict[str, str]:
    """{name in `module`: name in `here`} of the groups of `here` that `module` imports."""
    return {local: found[2] for local, found in module.imports.items()
            if found[1] == here.name and found[2] is not None}


def _plan_module(module: SourceModule, groups: dict[str, str], here: SourceModule,
                 node: ast.ImportFrom, local: str, known: Project, checks,
                 typer_apps: dict[str, int]) -> dict:
    if len(node.names) > 1 and any(a.name == "*" for a in node.names):
        raise Refused("a star import")
    commands = []
    owner = None
    for name, definition in module.defs.items():
        decorators = getattr(definition, "decorator_list", [])
        first = decorators[0] if decorators else None
        factory = first.func if isinstance(first, ast.Call) else first
        head = factory.value if isinstance(factory, ast.Attribute) else None
        if not isinstance(head, ast.Name) or head.id not in groups:
            continue
        group = groups[head.id]
        if owner not in (None, group):
            raise Refused(f"{module.name} registers on two groups ({owner}, {group})")
        owner = group
        if group in typer_apps:
            facts = _typer_facts(module, definition, first, here, known)
        else:
            facts = click_facts(ast.Call(ast.Name("add_command"), [ast.Name(name)], []),
                                module, name, known, group=f"{here.name}.{group}")
        facts["target"] = f"{module.name}:{name}"
        commands.append(facts)
    if owner is None:
        raise Refused(f"{module.name} registers no command with a decorator of the group")
    if owner not in here.defs and owner not in here.assigned:
        raise Refused(f"`{owner}` is not a group defined in this module")
    bound = here.defs.get(owner) or next(
        (n for n in here.tree.body if isinstance(n, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == owner for t in n.targets)), None)
    if bound is None or bound.lineno > node.lineno:
        raise Refused(f"`{owner}` is bound after the import (the lazy registrations need it)")
    typer = owner in typer_apps
    if typer and typer_apps[owner] + len(commands) < 2:
        raise Refused(f"`{owner}` has one command: typer makes it the program itself, which "
                      f"must import it")
    checks(module, None, f"{here.name}.{owner}", typer=typer)
    return {"framework": "typer" if typer else "click",
            "kind": "typer_register_import" if typer else "register_import",
            "owner": owner, "binding": local, "target": module.name, "commands": commands,
            "name": None, "function": None, "subcommands": []}


def _typer_facts(module: SourceModule, definition: ast.stmt, decorator: ast.expr,
                 here: SourceModule, known: Project) -> dict:
    """A function decorated with `@app.command(...)` only, its arguments all literals (the
    lazy registration is written in another module), as `typer_command_facts` reads them."""
    if not isinstance(decorator, ast.Call):
        raise Refused(f"{module.name}.{definition.name}: `@{module.segment(decorator)}` "
                      f"without a call is not typer's `@app.command()`")
    if len(definition.decorator_list) > 1:
        raise Refused(f"{module.name}.{definition.name} has another decorator: it may change "
                      f"the function's name or docstring")
    if not isinstance(decorator.func, ast.Attribute) or decorator.func.attr != "command":
        raise Refused(f"{module.name}.{definition.name}: `@{module.segment(decorator)}` is "
                      f"not `@app.command()`")
    for value in [*decorator.args, *(k.value for k in decorator.keywords)]:
        if literal(value) is NO_VALUE:
            raise Refused(f"`{module.segment(value)}` in {module.name}.{definition.name}'s "
                          f"decorator is not a literal")
    bare = copy.copy(definition)
    bare.decorator_list = []
    facts = typer_command_facts(decorator, module, _Bare(module, bare), definition.name,
                                known)
    facts["values"].update((k.arg, module.segment(k.value)) for k in decorator.keywords)
    return facts


class _Bare:
    """`module` seen by `typer_command_facts` with the function's decorator taken off (it is
    the registration being read)."""

    def __init__(self, module: SourceModule, definition: ast.stmt) -> None:
        self.name = module.name
        self.source = module.source
        self.defs = {definition.name: definition}  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""
