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
from ._subcommands_read import Project, Refused, SourceModule, dotted

__all__ = ["check_imported", "package_read"]


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
    read = package_read(module.name, known)
    if read is not None:
        raise Refused(read)


def package_read(command: str, known: Project) -> str | None:
    """Where a project module reads the module `command` as an attribute of its package
    (`tool.commands.build.VERSION` after `import tool.commands`), which works only while
    something imports `command`: the registration a lazy one no longer makes. None if no
    module does (`getattr(package, "build")` with a computed name is not seen)."""
    package, _, last = command.rpartition(".")
    if not package:
        return None
    for name in sorted(known.paths):
        if name == command:
            continue
        path = known.paths[name]
        try:
            with open(path, "rb") as handle:
                if f".{last}".encode() not in handle.read():
                    continue  # cheap: the attribute's name is not even written
        except OSError:
            continue
        source = known.module(name)
        if source is None:
            return f"{name} could not be read to see whether it reads {command} from {package}"
        for node in ast.walk(source.tree):
            text = dotted(node) if isinstance(node, ast.Attribute) else None
            head = text.partition(".")[0] if text else None
            imported = source.imports.get(head) if head else None
            if imported is None:
                continue
            bound = f"{imported[1]}.{imported[2]}" if imported[2] else imported[1]
            full = bound + text[len(head):]
            if command.startswith(bound + ".") and (
                    full == command or full.startswith(command + ".")):
                return (f"{name} reads {command} as an attribute of {package} "
                        f"(`{text}`, line {node.lineno}), which needs it imported")
    return None


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
