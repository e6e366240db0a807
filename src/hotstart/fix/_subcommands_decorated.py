"""The `cli` codemod for click commands that register themselves: a module that defines
commands with its group's decorator (`@cli.command()`, `cli` imported from the group's
module), imported by the group's module only for that (`from tool.commands import build  #
noqa: F401`). A part of `_subcommands_click`.

The import is replaced by lazy registrations of the commands the module defines:

    from tool.commands import build      ->  cli.add_command(lazy_command(
                                                 "tool.commands.build:build", function=...))

When one of them is used, its module is imported, as before: its decorators register the
real commands in the group (in the placeholders' places), and the command runs. What the
module does besides defining those commands refuses the change, as for the other
registrations (`_check_module`, the audit's effects); so does a group bound after the
import, or an imported name the module uses.
"""

from __future__ import annotations

import ast

from ._subcommands_read import Project, Refused, SourceModule, click_facts, one_line
from .plan import Change, CodeSite, Skipped

__all__ = ["find_decorated"]


def find_decorated(here: SourceModule, known: Project, file: str, path: str, program,
                   checks) -> tuple[list[Change], list[Skipped]]:
    """One change per module that `here` imports only so that it registers its commands on
    a group of `here`. `checks(module, name, group)` refuses a command module that does more
    than define commands (it raises `Refused`)."""
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
                data = _plan_module(module, groups, here, node, local, known, checks)
            except Refused as why:
                skipped.append(Skipped(site, f"not made lazy: {why}"))
                continue
            data.update(program.facts(data["owner"], "register_import", data))
            site.data = data
            names = ", ".join(f"`{c['name'] or c['function'].replace('_', '-')}`"
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
                 node: ast.ImportFrom, local: str, known: Project, checks) -> dict:
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
        facts = click_facts(ast.Call(ast.Name("add_command"), [ast.Name(name)], []), module,
                            name, known, group=f"{here.name}.{group}")
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
    checks(module, None, f"{here.name}.{owner}")
    return {"framework": "click", "kind": "register_import", "owner": owner,
            "binding": local, "target": module.name, "commands": commands, "name": None,
            "function": None, "subcommands": []}
