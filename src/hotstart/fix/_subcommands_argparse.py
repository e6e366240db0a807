"""argparse for `hotstart fix --select cli`: subcommands registered from other modules become
`hotstart.lazy.cli.add_lazy_parser` calls, so the program's `--help` no longer imports them.

In the scope (a function, or the module) where ``S = P.add_subparsers(...)`` is called on a
parser made in the same scope (``P = argparse.ArgumentParser(...)`` or a subclass, not a
subcommand's parser: its help is then ``--help``), three registrations of a subcommand by a
function of another project module are found:

- ``mod.register(S)``: the function calls ``S.add_parser("name", help=..., ...)`` itself.
  The name, and the keywords that must be known when the program's help is printed (help,
  aliases, deprecated) or when the subparser is made (add_help, prefix_chars), are read from
  that call in the command module's source: literals, or module-level constants holding
  literals. It must be the only use of the parameter, and run unconditionally (no branch,
  loop or return before it). ``mod.register(S, defaults, ...)`` too, when each further
  argument is a literal or a name the scope binds once to a literal, and a mutable one
  (``defaults = {...}``) is only read by the function and used by nothing else in the scope
  (`_shared_arguments`): the values are handed over when the subparser is filled.
- ``mod.configure(S.add_parser("name", ...))``, and ``p = S.add_parser("name", ...)``
  followed at once by ``mod.configure(p)`` (``p`` used nowhere else): the keywords are the
  program's own and stay as they are.

The name the call goes through (``mod`` or an imported function) must be bound by a
`from`/`import ... as` statement and used nowhere else in the file (nor imported from it by
other modules, patched by tests, listed in `__all__`); the command module must not be one
with effects at import (the audit's `effects`). The rewrite replaces the registration with
``add_lazy_parser(S, "name", "pkg.mod:function", ...)``, drops the binding from its import
statement and imports `add_lazy_parser`. Anything else is left as it is, with why.

Each change carries what `HelpCheck` runs: ``invoke`` (the project's console script for this
module, else ``-m`` of an audited entry or of the module or its package) and ``help_paths``
(the program's `--help` and every subcommand's, aliases included).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..audit.model import AuditReport
from ._argparse_commands import (
    UNKNOWN,
    assignment,
    call_of,
    callable_there,
    invoke_source,
    is_method,
    literal,
    module_file,
    read,
    registered_by,
    render,
)
from ._subcommands_effects import package_read
from ._subcommands_inert import first_effect
from ._subcommands_read import Project, SourceModule
from .plan import Change, CodeSite, Skipped

__all__ = ["find", "rewrite"]

ACTION = "lazy-subcommand"
RUNTIME_MODULE = "hotstart.lazy.cli"
RUNTIME_NAME = "add_lazy_parser"
#: Uses of a name (audit contexts) that keep its import where it is.
_PINS = ("all", "reexport", "test-patch", "namespace", "rebound", "changed", "unmovable")


@dataclass(slots=True)
class _Found:
    """A registration in the program's file, as the syntax shows it."""
    scope: str                 # qualified name of the function, "" at module level
    subparsers: str            # the variable holding the subparsers action
    binding: str               # the name the registration calls through
    attribute: str | None      # `binding.attribute(...)`, or None for `binding(...)`
    shape: str                 # "subparsers", "parser" (nested add_parser), "assigned"
    statements: list[ast.stmt]
    add_parser: ast.Call | None = None   # the program's own add_parser call
    variable: str | None = None          # the assigned parser's name ("assigned")
    why: str | None = None               # why it is refused, when the syntax tells
    #: `binding.attribute(S, *extra)`: what else the function is given ("subparsers")
    extra: list[ast.expr] = field(default_factory=list)
    body: list[ast.stmt] = field(default_factory=list)  # the whole scope's


def find(source: str, module: str, file: str, path: str, report: AuditReport,
         project: str) -> tuple[list[Change], list[Skipped]]:
    """The argparse registrations of `source` (the file `file`, module `module`, at `path`)
    that can be made lazy, one `Change` each, and the ones that cannot, each with why."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return [], []
    package = module if os.path.basename(path) == "__init__.py" else module.rpartition(".")[0]
    root = _import_root(module, path)
    changes: list[Change] = []
    skipped: list[Skipped] = []
    imports = _imports_of(tree)
    for scope, body, subparsers, parser_known, found, names in _registrations(tree):
        made: list[tuple[_Found, dict]] = []
        for registration in found:
            if registration.binding not in imports or RUNTIME_NAME in (
                    registration.binding, registration.attribute):
                continue  # a function of this module (nothing to defer), or made lazy
            site = _site(file, module, registration, source)
            why, data = _plan_one(registration, tree, imports, package, root, report, file)
            if why is None and not parser_known:
                why = (f"`{subparsers}` belongs to a parser made elsewhere (or a subcommand's):"
                       f" the command line of its help is not known")
            if why is not None:
                skipped.append(Skipped(site, f"not made lazy: {why}"))
                continue
            names.extend([data["name"], *data.get("alias_names", [])])
            made.append((registration, data))
        made = _shared_arguments(made, body, file, module, source, skipped)
        if not made:
            continue
        invoke = invoke_source(module, path, root, report, project)
        if invoke is None:
            for registration, _ in made:
                skipped.append(Skipped(_site(file, module, registration, source),
                                       "not made lazy: no way to run the program was found "
                                       "(a console script in pyproject.toml, an audited `-m` "
                                       "entry, `if __name__ == \"__main__\"` or the package's "
                                       "__main__.py), so its help could not be checked"))
            continue
        paths = [["--help"]] + [[name, "--help"] for name in dict.fromkeys(names)]
        for registration, data in made:
            data.update(framework="argparse", invoke=invoke, help_paths=paths,
                        project=project, scope=scope, subparsers=subparsers,
                        binding=registration.binding, attribute=registration.attribute,
                        shape=registration.shape)
            site = _site(file, module, registration, source, data)
            changes.append(Change(site, ACTION, path,
                                  f"registered lazily: `{data['name']}` imports "
                                  f"{data['module']} when it is used"))
    return changes, skipped


def _shared_arguments(made: list[tuple[_Found, dict]], body: list[ast.stmt], file: str,
                      module: str, source: str, skipped: list[Skipped]
                      ) -> list[tuple[_Found, dict]]:
    """`made` but the registrations given a mutable value (`defaults = {...}`) that other
    code of the scope also uses: a deferred call would see it as that code leaves it."""
    readers: dict[str, set[int]] = {}
    for registration, data in made:
        for name in data.get("shared", []):
            readers.setdefault(name, set()).update(
                id(n) for n in ast.walk(registration.statements[0]))
    unsafe: dict[str, int] = {}
    for name, own in readers.items():
        lines = [n.lineno for s in body for n in ast.walk(s) if isinstance(n, ast.Name)
                 and n.id == name and isinstance(n.ctx, ast.Load) and id(n) not in own]
        if lines:
            unsafe[name] = lines[0]
    kept = []
    for registration, data in made:
        name = next((n for n in data.get("shared", []) if n in unsafe), None)
        if name is None:
            kept.append((registration, data))
            continue
        skipped.append(Skipped(_site(file, module, registration, source),
                               f"not made lazy: `{name}` is also used at line {unsafe[name]}, "
                               f"which may change it before the deferred call reads it"))
    return kept


def _site(file: str, module: str, registration: _Found, source: str,
          data: dict | None = None) -> CodeSite:
    first, last = registration.statements[0], registration.statements[-1]
    text = " ".join(" ".join(ast.get_source_segment(source, s) or "" for s in
                             registration.statements).split())
    return CodeSite(file, module, first.lineno, text, "cli", data or {},
                    end_line=last.end_lineno or last.lineno)


def _import_root(module: str, path: str) -> str:
    from ._typehints import import_root

    return import_root(module, path)


# -- the program's file: where subcommands are registered ------------------------------------

def _scopes(tree: ast.Module) -> Iterator[tuple[str, list[ast.stmt]]]:
    """(qualified name, body) of the module and of every function in it."""
    yield "", tree.body
    pending: list[tuple[str, ast.AST]] = [("", tree)]
    while pending:
        prefix, node = pending.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    yield name, child.body
                pending.append((f"{name}.", child))
            elif not isinstance(child, (ast.expr, ast.Lambda)):
                pending.append((prefix, child))


def _registrations(tree: ast.Module):
    """Per subparsers action made in a scope: (scope, body, its variable, whether its parser
    is a top-level parser made in the scope, the registrations found, the subcommand names
    the scope adds itself)."""
    for scope, body in _scopes(tree):
        parsers: set[str] = set()
        for at, statement in enumerate(body):
            assigned = assignment(statement)
            if assigned is None:
                continue
            name, value = assigned
            if isinstance(value, ast.Call) and not (isinstance(value.func, ast.Attribute)
                                                    and value.func.attr == "add_parser"):
                parsers.add(name)  # a parser made here (not a subcommand's): help is `--help`
            if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
                    and value.func.attr == "add_subparsers"):
                continue
            owner = value.func.value
            known = isinstance(owner, ast.Name) and owner.id in parsers
            found, names = _in_body(scope, body[at + 1:], name, body)
            yield scope, body, name, known, found, names


def _in_body(scope: str, body: list[ast.stmt], subparsers: str, scope_body: list[ast.stmt]
             ) -> tuple[list[_Found], list[str]]:
    found: list[_Found] = []
    names: list[str] = []
    for at, statement in enumerate(body):
        for node in ast.walk(statement):  # every subcommand this scope adds itself
            if is_method(node, subparsers, "add_parser"):
                names.extend(_literal_names(node))  # type: ignore[arg-type]
        call = call_of(statement)
        assigned = assignment(statement)
        if assigned and is_method(assigned[1], subparsers, "add_parser"):
            add = assigned[1]
            following = call_of(body[at + 1]) if at + 1 < len(body) else None
            if following is not None and len(following.args) == 1 and not following.keywords \
                    and isinstance(following.args[0], ast.Name) and \
                    following.args[0].id == assigned[0] and _callee(following):
                binding, attribute = _callee(following)  # type: ignore[misc]
                later = [n.lineno for s in body[at + 2:] for n in ast.walk(s)
                         if isinstance(n, ast.Name) and n.id == assigned[0]]
                why = (f"the subparser `{assigned[0]}` is used again at line {later[0]}: "
                       f"filled later, that code would run before its registration"
                       if later else None)
                found.append(_Found(scope, subparsers, binding, attribute, "assigned",
                                    [statement, body[at + 1]], add, assigned[0], why))
            continue
        if call is None or is_method(call, subparsers, "add_parser"):
            continue
        callee = _callee(call)
        if callee is None:
            continue
        arguments = [*call.args, *(k.value for k in call.keywords)]
        first = call.args[0] if call.args else None
        rest = [n for a in call.args[1:] for n in ast.walk(a)]
        if isinstance(first, ast.Name) and first.id == subparsers and not call.keywords and \
                not any(isinstance(n, ast.Starred) or (isinstance(n, ast.Name) and
                                                       n.id == subparsers) for n in rest):
            found.append(_Found(scope, subparsers, *callee, "subparsers", [statement],
                                extra=call.args[1:], body=scope_body))
            continue
        if len(call.args) == 1 and not call.keywords:
            argument = call.args[0]
            if is_method(argument, subparsers, "add_parser"):
                found.append(_Found(scope, subparsers, *callee, "parser", [statement],
                                    argument))  # type: ignore[arg-type]
                continue
        if any(isinstance(n, ast.Name) and n.id == subparsers for a in arguments
               for n in ast.walk(a)):
            found.append(_Found(scope, subparsers, *callee, "other", [statement]))
    return found, names


def _callee(call: ast.Call) -> tuple[str, str | None] | None:
    """(name, attribute) of `name.attribute(...)` or (name, None) of `name(...)`."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id, None
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return func.value.id, func.attr
    return None


def _literal_names(add_parser: ast.Call) -> list[str]:
    """The subcommand names (and aliases) of an `add_parser` call, where they are literals."""
    names = []
    if add_parser.args and isinstance(add_parser.args[0], ast.Constant) and \
            isinstance(add_parser.args[0].value, str):
        names.append(add_parser.args[0].value)
    for keyword in add_parser.keywords:
        if keyword.arg == "aliases":
            value = literal(keyword.value, {})
            if isinstance(value, (list, tuple)):
                names.extend(v for v in value if isinstance(v, str))
    return names


@dataclass(slots=True)
class _Binding:
    statement: ast.Import | ast.ImportFrom
    module: str          # what it names: a module, or the module holding a function
    function: str | None  # the function's name in `module`, when it names a function
    name: str            # the imported name as written (`x` of `from m import x as y`)


def _imports_of(tree: ast.Module) -> dict[str, list[ast.stmt]]:
    """Name -> the import statements that bind it, at module level and in any function."""
    bound: dict[str, list[ast.stmt]] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound.setdefault(name, []).append(node)
    return bound


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    parts = package.split(".") if package else []
    base = parts[:len(parts) - node.level + 1] if node.level > 1 else parts
    return ".".join([*base, *([node.module] if node.module else [])])


def _binding(name: str, imports: dict[str, list[ast.stmt]], package: str, root: str
             ) -> _Binding | str:
    statements = imports.get(name, [])
    if len(statements) != 1:
        return (f"`{name}` is not bound by one import statement" if statements else
                f"`{name}` is not imported")
    node = statements[0]
    alias = next(a for a in node.names if (a.asname or a.name.split(".")[0]) == name)
    if isinstance(node, ast.Import):
        if alias.asname is None and "." in alias.name:
            return f"`import {alias.name}` binds `{name}`, which other code may use"
        return _Binding(node, alias.name, None, alias.name)
    base = _absolute(node, package)
    if alias.name == "*":
        return f"`{name}` comes from `from {base} import *`"
    submodule = f"{base}.{alias.name}"
    if module_file(submodule, root) is not None:
        return _Binding(node, submodule, None, alias.name)
    return _Binding(node, base, alias.name, alias.name)


def _other_uses(tree: ast.Module, name: str, registration: _Found) -> list[int]:
    """Lines where `name` is used other than by the registration itself (`__all__` too)."""
    own = {id(n) for s in registration.statements for n in ast.walk(s)}
    lines = {node.lineno for node in ast.walk(tree)
             if isinstance(node, ast.Name) and node.id == name and id(node) not in own}
    for statement in tree.body:  # `__all__ = [...]`, `__all__ += [...]`, `__all__.extend`
        targets = [n for n in ast.walk(statement) if isinstance(n, ast.Name)
                   and n.id == "__all__"]
        if targets and any(isinstance(n, ast.Constant) and n.value == name
                           for n in ast.walk(statement)):
            lines.add(statement.lineno)
    return sorted(lines)


def _plan_one(registration: _Found, tree: ast.Module, imports: dict[str, list[ast.stmt]],
              package: str, root: str, report: AuditReport, file: str
              ) -> tuple[str | None, dict]:
    """Why `registration` cannot be made lazy (None if it can), and the rewrite's facts."""
    if registration.why:
        return registration.why, {}
    if registration.shape == "other":
        return ("the call passes more than the subparsers (or the subparsers to more than "
                "the command's function)"), {}
    bound = _binding(registration.binding, imports, package, root)
    if isinstance(bound, str):
        return bound, {}
    if bound.function is None:  # binding is a module: `mod.function(...)`
        if registration.attribute is None:
            return f"`{registration.binding}` is a module, called", {}
        module, function = bound.module, registration.attribute
    else:
        if registration.attribute is not None:
            return (f"`{registration.binding}` is not a module of the project, so its source "
                    f"cannot be read"), {}
        module, function = bound.module, bound.function
    command_file = module_file(module, root)
    if command_file is None:
        return f"{module} is not a module of the project: its help cannot be read", {}
    others = _other_uses(tree, registration.binding, registration)
    if others:
        shown = ", ".join(str(line) for line in others[:3])
        return (f"`{registration.binding}` is also used at line {shown}: {module} stays "
                f"imported"), {}
    pinned = _pinned(report, file, bound.statement.lineno, registration.binding)
    if pinned:
        return pinned, {}
    effects = report.effects.get(module)
    if effects:
        return (f"importing {module} has effects ({'; '.join(effects[:2])}): deferring it "
                f"would delay them"), {}
    source = read(command_file)
    if source is None:
        return f"{module} could not be read", {}
    try:
        effect = first_effect(SourceModule(module, command_file, source))
    except (SyntaxError, ValueError, RecursionError) as exc:
        return f"{module} could not be read ({exc})", {}
    if effect is not None:
        return f"{module} {effect}: deferring it would delay or drop that", {}
    read_elsewhere = package_read(module, Project(report, report.paths, root))
    if read_elsewhere is not None:
        return read_elsewhere, {}
    data: dict = {"module": module, "function": function,
                  "target": f"{module}:{function}",
                  "import_line": bound.statement.lineno, "import_name": bound.name}
    if registration.shape == "subparsers":
        facts = registered_by(source, function, module, 1 + len(registration.extra))
        if isinstance(facts, str):
            return facts, {}
        name, keywords, changed = facts
        arguments = _arguments(registration, changed, module, function)
        if isinstance(arguments, str):
            return arguments, {}
        data.update(name=name, call_with="subparsers", keywords=keywords, **arguments)
    else:
        problem = callable_there(source, function, module)
        if problem:
            return problem, {}
        add = registration.add_parser
        assert add is not None
        name = add.args[0].value if add.args and isinstance(add.args[0], ast.Constant) \
            else None
        if not isinstance(name, str) or len(add.args) != 1:
            return "the subcommand's name is not a string literal", {}
        if any(k.arg is None for k in add.keywords):
            return "`add_parser(**...)`: its keywords are not known", {}
        for keyword in add.keywords:
            if any(isinstance(n, ast.Name) and n.id == registration.binding
                   for n in ast.walk(keyword.value)):
                return f"add_parser's `{keyword.arg}` uses {registration.binding}", {}
        keywords = [[k.arg, _source_of(k.value)] for k in add.keywords]
        data.update(name=name, call_with="parser", keywords=keywords)
    aliases = next((ast.literal_eval(v) for k, v in data["keywords"] if k == "aliases"), [])
    data["alias_names"] = [a for a in aliases if isinstance(a, str)] \
        if isinstance(aliases, (list, tuple)) else []
    return None, data


def _arguments(registration: _Found, changed: list[str], module: str, function: str
               ) -> dict | str:
    """What the registration passes after the subparsers, for `add_lazy_parser(...,
    arguments=(...))`: the same values, handed over when the subparser is filled. Each must be
    a literal, or a name the scope binds once to a literal; a mutable one (a dict, a list)
    only if the function reads it and nothing else in the scope uses it (`shared`, checked
    across the scope's registrations by `_shared_arguments`)."""
    texts, shared = [], []
    for at, node in enumerate(registration.extra, start=1):
        if isinstance(node, ast.Name):
            value = _bound_once(registration.body, node.id)
            if value is UNKNOWN:
                return (f"its argument `{node.id}` is not bound once in the scope to a "
                        f"literal")
            text = node.id
        else:
            value = literal(node, {})
            if value is UNKNOWN:
                return f"its argument {ast.unparse(node)} is not a literal"
            text = render(value)
        if isinstance(node, ast.Name) and not _immutable(value):
            if changed[at - 1]:  # a fresh literal is the function's own: it may change it
                return (f"{module}.{function} may change the {type(value).__name__} "
                        f"`{node.id}` it is given: deferring the call would change what "
                        f"the code after it sees")
            shared.append(node.id)
        texts.append(text)
    if not texts:
        return {}
    return {"arguments": texts, "shared": shared}


def _bound_once(body: list[ast.stmt], name: str) -> object:
    """The literal `name` is bound to by the one statement of `body` that binds it."""
    stores = [n for s in body for n in ast.walk(s)
              if isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)]
    statements = [s for s in body if (assignment(s) or ("", None))[0] == name]
    if len(stores) != 1 or len(statements) != 1:
        return UNKNOWN
    return literal(assignment(statements[0])[1], {})  # type: ignore[index]


def _immutable(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return value is None or isinstance(value, (str, bytes, int, float, complex, bool))


def _pinned(report: AuditReport, file: str, line: int, name: str) -> str | None:
    """Why the audit keeps the import of `name` at `file:line`, if a use pins it."""
    for site in report.sites:
        if site.file != file or site.line != line:
            continue
        for bound in site.names:
            if bound.name != name:
                continue
            for use in bound.uses:
                if use.context in _PINS or (use.file and use.file != file):
                    where = f"{use.file}:{use.line}" if use.file else f"line {use.line}"
                    return (f"`{name}` is pinned by {use.detail or use.context} ({where}): "
                            f"its import stays")
    return None


def _source_of(node: ast.expr) -> str:
    try:
        return render(ast.literal_eval(node))
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return ast.unparse(node)


# -- the rewrite ------------------------------------------------------------------------------

def rewrite(source: str, changes: list[Change]) -> tuple[str, list[tuple[Change, str]]]:
    """`source` with the registrations of `changes` made lazy, and the changes that could not
    be made, each with why. Registrations are found again by their scope, subparsers
    variable and callee (an import change may have moved lines)."""
    failed: list[tuple[Change, str]] = []
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, [(c, "the file does not parse") for c in changes]
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []     # (first line, last line, new text), 1-based
    dropped: dict[int, set[str]] = {}          # import statement line -> names removed
    statements: dict[int, ast.Import | ast.ImportFrom] = {}
    imports = _imports_of(tree)
    if RUNTIME_NAME in imports and not _imports_runtime(imports[RUNTIME_NAME]):
        return source, [(c, f"the module already binds `{RUNTIME_NAME}`") for c in changes]
    found = {(f.scope, f.subparsers, f.binding, f.attribute, f.shape): f
             for _scope, _body, _sub, _known, registered, _names in _registrations(tree)
             for f in registered}
    limit = _limit(changes)
    for change in changes:
        data = change.site.data
        key = (data.get("scope"), data.get("subparsers"), data.get("binding"),
               data.get("attribute"), data.get("shape"))
        registration = found.get(key)
        if registration is None:
            failed.append((change, "the registration is no longer in the file"))
            continue
        binding = imports.get(registration.binding, [])
        if len(binding) != 1:
            failed.append((change, f"`{registration.binding}` is no longer bound by one import"))
            continue
        if _other_uses(tree, registration.binding, registration):
            failed.append((change, f"`{registration.binding}` is used elsewhere in the file"))
            continue
        first, last = registration.statements[0], registration.statements[-1]
        if not _alone(lines, first, last):
            failed.append((change, "the registration shares its lines with other code"))
            continue
        statement = binding[0]
        if not _alone(lines, statement, statement):
            failed.append((change, "its import shares its lines with other code"))
            continue
        end = statement.end_lineno or statement.lineno
        if end > statement.lineno and any("#" in line for line in lines[statement.lineno - 1:
                                                                        end]):
            failed.append((change, "its import has comments between its names"))
            continue
        indent = lines[first.lineno - 1][:first.col_offset]
        end = last.end_lineno or last.lineno
        comment = lines[end - 1][last.end_col_offset or 0:].strip()
        text = _call_text(indent, data, limit)
        edits.append((first.lineno, end, f"{text[:-1]}  {comment}\n" if comment else text))
        dropped.setdefault(statement.lineno, set()).add(registration.binding)
        statements[statement.lineno] = statement
    made = [c for c in changes if all(c is not f for f, _ in failed)]
    if not made:
        return source, failed
    for line, names in dropped.items():
        statement = statements[line]
        edits.append((statement.lineno, statement.end_lineno or statement.lineno,
                      _without(statement, names, lines, limit)))
    for first, last, text in sorted(edits, reverse=True):
        lines[first - 1:last] = [text] if text else []
    code = "".join(lines)
    if RUNTIME_NAME not in imports:
        code = _add_runtime_import(code, made, limit)
    return code, failed


def _imports_runtime(statements: list[ast.stmt]) -> bool:
    return all(isinstance(s, ast.ImportFrom) and s.module == RUNTIME_MODULE and not s.level
               for s in statements)


def _alone(lines: list[str], first: ast.stmt, last: ast.stmt) -> bool:
    """Whether the statements from `first` to `last` fill their lines (no `;` neighbours)."""
    before = lines[first.lineno - 1][:first.col_offset]
    end = last.end_lineno or last.lineno
    after = lines[end - 1][last.end_col_offset or 0:]
    return not before.strip() and (not after.strip() or after.strip().startswith("#"))


def _limit(changes: list[Change]) -> int:
    from ._imports import line_length

    return line_length(os.path.dirname(changes[0].path)) if changes else 88


def _call_text(indent: str, data: dict, limit: int) -> str:
    """The `add_lazy_parser(...)` statement for one registration, within `limit` columns."""
    parts = [data["subparsers"], render(data["name"]), render(data["target"])]
    if data["call_with"] == "parser":
        parts.append('call_with="parser"')
    if data.get("arguments"):
        inner = ", ".join(data["arguments"])
        parts.append(f"arguments=({inner},)" if len(data["arguments"]) == 1
                     else f"arguments=({inner})")
    parts.extend(f"{key}={value}" for key, value in data["keywords"])
    line = f"{indent}{RUNTIME_NAME}({', '.join(parts)})"
    if len(line) <= limit:
        return line + "\n"
    inner = indent + "    "
    rows: list[str] = []
    for part in parts:
        if rows and len(rows[-1]) + len(part) + 2 <= limit:
            rows[-1] += f" {part},"
        else:
            rows.append(f"{inner}{part},")
    return f"{indent}{RUNTIME_NAME}(\n" + "\n".join(rows) + f"\n{indent})\n"


def _without(statement: ast.Import | ast.ImportFrom, names: set[str], lines: list[str],
             limit: int) -> str:
    """The import statement's text without the bindings `names` ("" when none is left)."""
    from ._imports import Statement

    kept = [(a.name, a.asname) for a in statement.names
            if (a.asname or a.name.split(".")[0]) not in names]
    if not kept:
        return ""
    indent = lines[statement.lineno - 1][:statement.col_offset]
    end = statement.end_lineno or statement.lineno
    comment = lines[end - 1][statement.end_col_offset or 0:].strip()
    comment = f"  {comment}" if comment else ""  # a trailing comment stays with the names kept
    if isinstance(statement, ast.Import):
        return "".join(Statement("import", n, ((n, a),)).text(indent, limit) + comment + "\n"
                       for n, a in kept)
    return Statement("from", statement.module or "", tuple(kept),
                     statement.level).text(indent, limit) + comment + "\n"


def _add_runtime_import(code: str, made: list[Change], limit: int) -> str:
    from ._imports import Sections, Statement
    from .codemods import _add_top_import

    project = made[0].site.data.get("project")
    new = Statement("from", RUNTIME_MODULE, ((RUNTIME_NAME, None),))
    return _add_top_import(code, new, Sections(project), limit)

