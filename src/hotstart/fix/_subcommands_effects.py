"""What importing a command module does, for the `cli` codemod (`_subcommands_click`): a
registration is made lazy only when importing the command's module does nothing but define
its commands (the audit's effects of the module and of the packages the registering module
would no longer import, and the module's own top level), since a lazy one imports it later,
or never.
"""

from __future__ import annotations

import ast
import re

from ._subcommands_inert import first_effect
from ._subcommands_read import Project, Refused, SourceModule

__all__ = ["check_imported"]


_COMMAND_DECORATOR = re.compile(r"registers with @(click|typer)(\.[\w.]+)? at line \d+$")
_THROUGH = re.compile(r"imports ([\w.]+), which (.*)$")
_OWN_REGISTRATION = re.compile(r"registers something \(([\w.]+)\.(add_command|add_typer|"
                               r"command|group|callback)\(\)\) at line \d+$")


def _defines_commands(effect: str, module: str, group: str | None = None) -> bool:
    """Whether an effect the audit reports for `module` only builds click or typer commands:
    a click decorator, or a registration on a group or app of the module itself (whose
    other effects `_check_module` reads)."""
    through = _THROUGH.match(effect)
    while through is not None:  # "imports m, which <effect of m>"
        module, effect = through.group(1), through.group(2)
        through = _THROUGH.match(effect)
    if _COMMAND_DECORATOR.match(effect) or group is not None and re.match(
            rf"registers with @{re.escape(group)}\.(command|group) at line \d+$", effect):
        return True
    found = _OWN_REGISTRATION.match(effect)
    return found is not None and found.group(1).rpartition(".")[0] == module


def _parents(module: str, here: str) -> list[str]:
    """`module` and its packages that the registering module does not import anyway."""
    parts = module.split(".")
    mine = {".".join(here.split(".")[:at]) for at in range(1, here.count(".") + 2)}
    return [name for name in (".".join(parts[:at]) for at in range(1, len(parts) + 1))
            if name not in mine]


def check_imported(module: SourceModule, name: str | None, here: SourceModule,
                    known: Project, group: str | None = None) -> None:
    """Refuse a command module that does more than define its commands when imported (by
    the audit's effects of it and of the packages `here` would no longer import, and by
    `_check_module`); `group`: the group its decorators may register on."""
    effects = [e for m in _parents(module.name, here.name)
               for e in known.effects.get(m, []) if not _defines_commands(e, m, group)]
    if effects:
        raise Refused(f"importing {module.name} does more than define it: {effects[0]}")
    _check_module(module, name, group)


def _check_module(module: SourceModule, name: str | None, group: str | None = None) -> None:
    """Refuse a command module whose top level does more than define things
    (`_subcommands_inert`), sets an attribute of its command, or binds it twice."""
    effect = first_effect(module, group)
    if effect is not None:
        raise Refused(f"{module.name} {effect}")
    if name is None:
        return
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and \
                node.value.id == name and isinstance(node.ctx, ast.Store):
            raise Refused(f"{module.name} sets `{name}.{node.attr}` (line {node.lineno})")
    bound = 0
    for node in _module_level(module.tree):
        if isinstance(node, ast.Name) and node.id == name and \
                not isinstance(node.ctx, ast.Load) or isinstance(node, (
                    ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and \
                node.name == name or isinstance(node, ast.alias) and \
                (node.asname or node.name).split(".")[0] == name:
            bound += 1
    if bound > 1:
        raise Refused(f"{module.name} binds `{name}` more than once")


def _module_level(tree: ast.Module):
    """The nodes that run at module level (not inside function, lambda or class bodies,
    nor comprehensions, which have scopes of their own); a `def` or `class` itself is one."""
    scoped = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp,
              ast.SetComp, ast.DictComp, ast.GeneratorExp)
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, scoped):
            pending.extend(ast.iter_child_nodes(node))
