"""Whether a module-level call of a registration helper only adds commands to a group of the
calling module, for the `cli` codemod's import-time whitelist (`_subcommands_inert`).

celery's `bin/amqp.py` ends with `register_repl(amqp)`: click-repl's helper adds a `repl`
subcommand to the group it is given. Made lazy, the `amqp` module (and the helper's library,
prompt_toolkit behind it) loads when `amqp` is first resolved, and the call runs then, before
anyone can see the group: what it changes is only that group, which nothing reaches but
through the module. So the call is inert for the codemod when it is proven to change nothing
else.

A proof by a whitelist, read from the helper's source (the project's, or the installed
library's file that `import` would load; nothing is run). The call passes one of the module's
groups (and otherwise inert arguments, no unpacking); the helper is a plain function bound
once at the top of its module, without decorators, whose parameters have constant defaults;
and its body, after an optional docstring, is only statements of the form

    GROUP.command(ARGS)(FUNCTION)        (or `.group(ARGS)(FUNCTION)`)

where GROUP is a parameter given one of the module's groups; ARGS are constants or other
parameters (stored as the command's name, help...); FUNCTION is a function defined once at
the top of the helper's module, or one wrapped by the framework's `pass_context`/`pass_obj`
(`click.pass_context(repl)`): click builds a command from it and adds it to the group.
Anything else (an assignment, a branch, a call of anything else, a read of module state)
leaves the call unproven.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from ._subcommands_read import SourceModule, dotted

__all__ = ["registers_only_on"]

#: Group methods that return a decorator adding the function it is applied to as a command.
_ADDING = frozenset({"command", "group"})
#: The framework's decorators that only wrap a function (the command is built from the wrapper).
_WRAPPERS = frozenset({"pass_context", "pass_obj"})


def registers_only_on(call: ast.Call, found: tuple[SourceModule, str] | None,
                      is_group: Callable[[ast.expr], bool],
                      inert: Callable[[ast.expr], bool], frameworks: tuple[str, ...]) -> bool:
    """Whether `call` (at the top of a command module) calls the helper `found` (its module
    and function name, resolved by the caller) with one of the module's groups (`is_group`)
    and otherwise `inert` arguments, and the helper only adds its own module's functions as
    commands of the groups it is given."""
    if found is None or any(isinstance(a, ast.Starred) for a in call.args) or \
            any(k.arg is None for k in call.keywords):
        return False
    owner, name = found
    function = owner.defs.get(name)
    if not isinstance(function, ast.FunctionDef) or function.decorator_list or \
            len(owner.globals.binds.get(name, [])) != 1:
        return False
    arguments = function.args
    if arguments.vararg or arguments.kwarg or arguments.posonlyargs or \
            not all(isinstance(d, ast.Constant) for d in
                    (*arguments.defaults, *(d for d in arguments.kw_defaults if d))):
        return False
    positional = [a.arg for a in arguments.args]
    keyword_only = [a.arg for a in arguments.kwonlyargs]
    given: dict[str, ast.expr] = dict(zip(positional, call.args))
    if len(call.args) > len(positional):
        return False
    for keyword in call.keywords:
        if keyword.arg in given or keyword.arg not in (*positional, *keyword_only):
            return False
        given[str(keyword.arg)] = keyword.value
    required = positional[:len(positional) - len(arguments.defaults)] + [
        a.arg for a, d in zip(arguments.kwonlyargs, arguments.kw_defaults) if d is None]
    if any(r not in given for r in required):
        return False
    groups = {p for p, value in given.items() if is_group(value)}
    if not groups or not all(inert(v) for p, v in given.items() if p not in groups):
        return False
    values = set(positional + keyword_only) - groups
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return bool(body) and all(_adds_command(s, owner, groups, values, frameworks)
                              for s in body)


def _adds_command(node: ast.stmt, owner: SourceModule, groups: set[str], values: set[str],
                  frameworks: tuple[str, ...]) -> bool:
    """`GROUP.command(ARGS)(FUNCTION)` as the module docstring describes."""
    if not isinstance(node, ast.Expr) or not isinstance(node.value, ast.Call):
        return False
    applied = node.value
    decorator = applied.func
    if len(applied.args) != 1 or applied.keywords or not isinstance(decorator, ast.Call):
        return False
    method = decorator.func
    if not isinstance(method, ast.Attribute) or method.attr not in _ADDING or \
            not isinstance(method.value, ast.Name) or method.value.id not in groups:
        return False
    for argument in (*decorator.args, *(k.value for k in decorator.keywords)):
        if not (isinstance(argument, ast.Constant) or
                isinstance(argument, ast.Name) and argument.id in values):
            return False
    if any(k.arg is None for k in decorator.keywords):
        return False
    return _own_function(applied.args[0], owner, groups | values, frameworks)


def _own_function(node: ast.expr, owner: SourceModule, parameters: set[str],
                  frameworks: tuple[str, ...]) -> bool:
    """A function defined once at the top of `owner` (not shadowed by a parameter), or one
    wrapped by the framework's `pass_context`/`pass_obj`."""
    if isinstance(node, ast.Call):
        name = dotted(node.func) or ""
        head, _, last = name.rpartition(".")
        imported = owner.imports.get(head)
        framework = imported is not None and imported[2] is None and \
            imported[1] in frameworks
        if not framework or last not in _WRAPPERS or len(node.args) != 1 or node.keywords:
            return False
        node = node.args[0]
    return isinstance(node, ast.Name) and node.id not in parameters and \
        isinstance(owner.defs.get(node.id), ast.FunctionDef) and \
        len(owner.globals.binds.get(node.id, [])) == 1
