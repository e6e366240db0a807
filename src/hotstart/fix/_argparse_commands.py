"""What the other files of an argparse program say, read without running them: what a
command module's registration function adds (`registered_by`), and how the program is run
(`invoke_source`). A part of `_subcommands_argparse`."""

from __future__ import annotations

import ast
import os
import re

from ..audit.model import AuditReport

__all__ = ["EAGER_KEYWORDS", "UNKNOWN", "assignment", "bound_names", "call_of",
           "callable_there", "invoke_source", "is_method", "literal", "module_file", "read",
           "registered_by", "render"]

#: `add_parser` keywords `add_lazy_parser` needs at once: the program's help lists `help`,
#: `aliases` and `deprecated`; `add_help` and `prefix_chars` act only when a parser is made.
EAGER_KEYWORDS = ("help", "aliases", "deprecated", "add_help", "prefix_chars")
_MAIN_GUARD = re.compile(r"""^if\s+__name__\s*==\s*["']__main__["']\s*:""", re.MULTILINE)
#: Statements before (or around) a registration's add_parser call that may skip it.
_COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith,
             ast.Match, ast.Return, ast.Raise, ast.FunctionDef, ast.AsyncFunctionDef,
             ast.ClassDef)
if hasattr(ast, "TryStar"):
    _COMPOUND += (ast.TryStar,)


def call_of(statement: ast.stmt) -> ast.Call | None:
    """The call of an expression statement `f(...)`."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        return statement.value
    return None


def is_method(node: ast.AST, owner: str, method: str) -> bool:
    """`node` is a call `owner.method(...)`."""
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr == method and isinstance(node.func.value, ast.Name) and \
        node.func.value.id == owner


def assignment(statement: ast.stmt) -> tuple[str, ast.expr] | None:
    """(name, value) of `name = value` or `name: T = value`."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
            isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id, statement.value
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and \
            statement.value is not None:
        return statement.target.id, statement.value
    return None



def module_file(module: str, root: str) -> str | None:
    base = os.path.join(root, *module.split("."))
    for candidate in (base + ".py", os.path.join(base, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def read(path: str) -> str | None:
    from ..audit._project import decode_source, read_source

    try:
        return decode_source(read_source(path))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None


def function_node(tree: ast.Module, function: str, module: str, given: int = 1
                  ) -> ast.FunctionDef | str:
    defined = [s for s in tree.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))
               and s.name == function]
    rebound = [s for s in tree.body if s not in defined and function in bound_names(s)]
    if len(defined) != 1 or rebound or isinstance(defined[0], ast.AsyncFunctionDef):
        return f"{module}.{function} is not one plain function defined at module level"
    node = defined[0]
    if node.decorator_list:
        return f"{module}.{function} is decorated"
    positional = [*node.args.posonlyargs, *node.args.args]
    required = len(positional) - len(node.args.defaults)
    if (len(positional) < given and node.args.vararg is None) or required > given:
        return f"{module}.{function} does not take the {given} argument(s) it is given"
    return node  # type: ignore[return-value]


def bound_names(statement: ast.stmt) -> set[str]:
    names = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def callable_there(source: str, function: str, module: str) -> str | None:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return f"{module} does not parse"
    found = function_node(tree, function, module)
    return found if isinstance(found, str) else None


def registered_by(source: str, function: str, module: str, given: int = 1
                  ) -> tuple[str, list[list[str]], list[bool]] | str:
    """(name, the keywords add_lazy_parser needs as source, whether the function may change
    each argument after the first) of the one subcommand that `module.function(subparsers,
    ...)` (`given` arguments) adds, or why it cannot be read."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return f"{module} does not parse"
    node = function_node(tree, function, module, given)
    if isinstance(node, str):
        return node
    parameters = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
    parameter = parameters[0]
    uses = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == parameter]
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)
             and is_method(n, parameter, "add_parser")]
    if len(calls) != 1 or len(uses) != 1:
        return (f"{module}.{function} uses its subparsers argument other than in one "
                f"`{parameter}.add_parser(...)` call")
    call = calls[0]
    for statement in node.body:
        if any(n is call for n in ast.walk(statement)):
            if isinstance(statement, _COMPOUND) and not isinstance(statement, ast.Return):
                return (f"{module}.{function} calls add_parser inside a block: whether it "
                        f"runs is not known")
            break
        if isinstance(statement, _COMPOUND):
            return (f"{module}.{function} has a branch, loop or return before its "
                    f"add_parser call")
    constants = {**module_constants(tree), **_local_constants(node)}
    if len(call.args) != 1 or any(k.arg is None for k in call.keywords):
        return f"{module}.{function}'s add_parser call has arguments that are not known"
    name = literal(call.args[0], constants)
    if not isinstance(name, str):
        return f"{module}.{function} names its subcommand with something not a literal"
    keywords = []
    for keyword in call.keywords:
        if keyword.arg not in EAGER_KEYWORDS:
            continue  # applied to the subparser when it is filled
        value = literal(keyword.value, constants)
        if value is UNKNOWN:
            return (f"{module}.{function}: add_parser's `{keyword.arg}` is not a literal "
                    f"(or a module constant holding one)")
        keywords.append([keyword.arg, render(value)])
    changed = [not _only_read(node, p) for p in parameters[1:given]]
    return name, keywords, changed + [True] * (given - 1 - len(changed))  # the rest: *args


def _only_read(function: ast.FunctionDef, parameter: str) -> bool:
    """Whether `function` uses `parameter` only as `**parameter` or `parameter[key]` (values
    read from it; nothing it is handed to could change it)."""
    parents = {id(child): node for node in ast.walk(function)
               for child in ast.iter_child_nodes(node)}
    for node in ast.walk(function):
        if not (isinstance(node, ast.Name) and node.id == parameter):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.keyword) and parent.arg is None:
            continue
        if isinstance(parent, ast.Subscript) and parent.value is node and \
                isinstance(parent.ctx, ast.Load) and not isinstance(
                    parents.get(id(parent)), (ast.Attribute, ast.Subscript, ast.Call)):
            continue
        return False
    return True


UNKNOWN = object()


def _local_constants(function: ast.FunctionDef) -> dict[str, object]:
    """Names the function binds once, at its top level, to a literal (`HELP = "..."`); a
    parameter or a name bound again anywhere in it is not one."""
    stores: dict[str, int] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            stores[node.id] = stores.get(node.id, 0) + 1
    parameters = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    found = {}
    for statement in function.body:
        assigned = assignment(statement)
        if assigned and stores.get(assigned[0]) == 1 and assigned[0] not in parameters:
            value = literal(assigned[1], {})
            if value is not UNKNOWN:
                found[assigned[0]] = value
    return found


def module_constants(tree: ast.Module) -> dict[str, object]:
    """Module-level names bound once, to a literal."""
    values: dict[str, object] = {}
    counts: dict[str, int] = {}
    for statement in tree.body:
        for name in bound_names(statement):
            counts[name] = counts.get(name, 0) + 1
        assigned = assignment(statement)
        if assigned:
            try:
                values[assigned[0]] = ast.literal_eval(assigned[1])
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                pass
    return {name: value for name, value in values.items() if counts.get(name) == 1}


def literal(node: ast.expr, constants: dict[str, object]) -> object:
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return UNKNOWN


def render(value: object) -> str:
    """Python source for a literal value, strings in double quotes where they can be."""
    if isinstance(value, str):
        text = repr(value)
        if text.startswith("'") and '"' not in value:
            text = '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    if isinstance(value, list):
        return "[" + ", ".join(render(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(render(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)



def invoke_source(module: str, path: str, root: str, report: AuditReport, project: str
            ) -> str | None:
    """Python source that runs the program as its users do, with the arguments in
    HOTSTART_HELP_ARGV, from this project's files."""
    head = (f"import json, os, sys; sys.path.insert(0, {render(root)}); "
            f"argv = json.loads(os.environ['HOTSTART_HELP_ARGV']); ")
    script = console_script(module, project)
    if script is not None:
        name, attribute = script
        return (head + f"sys.argv = [{render(name)}, *argv]; import importlib; "
                f"target = importlib.import_module({render(module)}); "
                + "".join(f"target = getattr(target, {render(a)}); "
                          for a in attribute.split("."))
                + "sys.exit(target())")
    runnable = []
    for entry in report.entries:
        words = entry.name.split()
        if len(words) >= 2 and words[0] == "-m":
            runnable.append(words[1])
    top = module.split(".")[0]
    if _MAIN_GUARD.search(read(path) or ""):
        runnable.append(module)
    if module_file(f"{top}.__main__", root) is not None:
        runnable.append(top)
    chosen = next((m for m in runnable if m == module or module.startswith(f"{m}.")
                   or m == top), None)
    if chosen is None:
        return None
    return (head + f"sys.argv = [{render(chosen)}, *argv]; import runpy; "
            f"runpy.run_module({render(chosen)}, run_name='__main__', alter_sys=True)")


def console_script(module: str, project: str) -> tuple[str, str] | None:
    """(script name, attribute) of the project's console script that runs `module`."""
    import tomllib

    try:
        with open(os.path.join(project, "pyproject.toml"), "rb") as handle:
            scripts = tomllib.load(handle).get("project", {}).get("scripts", {})
    except (OSError, ValueError):
        return None
    for name, target in sorted(scripts.items()) if isinstance(scripts, dict) else []:
        if isinstance(target, str) and target.partition(":")[0].strip() == module:
            attribute = target.partition(":")[2].split("[")[0].strip()
            if attribute:
                return name, attribute
    return None
