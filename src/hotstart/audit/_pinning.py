"""Module-level computations that pin a library: `CACHE = Path(user_cache_dir("app"))`
loads platformdirs for one constant, `SESSION = requests.Session()` loads requests for an
object most runs never use. The import is needed (the audit says so and why); this module
writes, for each such statement, the concrete rewrite by hand into the site's `advice`, with
the program's real names: the function that computes the value on first use, and every
place that reads the name, which would then call it.

It is advice, never an automatic rewrite: no case is provably equivalent. The value is then
computed at first use instead of at import (the state it reads, environment, working
directory, files, clock, may differ by then, and its side effects move with it), other
modules that read the name at their import (`from pkg.a import CACHE`) would get a function
or compute it at their own import, and a name rebound elsewhere (`global CACHE`) is shared
state a cached function does not keep.

Only third-party libraries are advised on (a standard library module costs little), for
the module-level statements whose use pinned the site: an assignment whose value calls into
the library, an `atexit.register(...)` that hands it a function of the library, or another
module-level call made for its effect.
"""

from __future__ import annotations

import ast
import re

from ._scan_model import ModuleScan, dotted
from .model import ImportSite

__all__ = ["advise_pinned"]

#: Uses that a module-level computation makes.
_COMPUTING = frozenset({"call", "module"})
_SHOWN_USES = 4


def advise_pinned(sites: list[ImportSite], scans: dict[str, ModuleScan]) -> None:
    """Set `advice` on each needed third-party site pinned by a module-level computation."""
    trees: dict[str, ast.Module | None] = {}
    for site in sites:
        if site.klass != "needed" or not site.external or site.stdlib:
            continue
        lines = sorted({u.line for b in site.names for u in b.uses
                        if u.context in _COMPUTING and u.file is None})
        scan = scans.get(site.module)
        if not lines or scan is None:
            continue
        if site.module not in trees:
            try:
                trees[site.module] = ast.parse("\n".join(scan.lines))
            except (SyntaxError, ValueError, RecursionError):
                trees[site.module] = None  # read as PEP 810 code by the scan: no advice
        tree = trees[site.module]
        if tree is None:
            continue
        names = {b.name for b in site.names}
        found = [_advice(statement, names, site, scan, tree, scans)
                 for statement in _statements(tree, lines)]
        # a new list: the parts of a split statement are shallow copies sharing one
        site.advice = list(dict.fromkeys(a for a in found if a))


def _statements(tree: ast.Module, lines: list[int]) -> list[ast.stmt]:
    """The module-level statements (inside module-level `if`/`try`/`with` too) holding
    `lines`, in order."""
    found: list[ast.stmt] = []

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            end = node.end_lineno or node.lineno
            if not any(node.lineno <= line <= end for line in lines):
                continue
            if isinstance(node, (ast.If, ast.Try, ast.With)) or \
                    type(node).__name__ == "TryStar":
                for part in ("body", "orelse", "finalbody"):
                    visit(getattr(node, part, []))
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.Expr)):
                found.append(node)

    visit(tree.body)
    return found


def _uses_names(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def _calls_into(node: ast.AST, names: set[str]) -> bool:
    """A call in `node` whose callee or arguments read one of `names`."""
    return any(isinstance(n, ast.Call) and _uses_names(n, names) for n in ast.walk(node))


def _text(scan: ModuleScan, node: ast.AST, width: int = 90) -> str:
    """The source of `node`, on one line, clipped."""
    first, last = node.lineno, node.end_lineno or node.lineno
    lines = scan.lines[first - 1:last]
    if not lines:
        return ast.unparse(node)
    if first == last:
        text = lines[0][node.col_offset:node.end_col_offset]
    else:
        text = " ".join([lines[0][node.col_offset:], *(x.strip() for x in lines[1:-1]),
                         lines[-1][:node.end_col_offset].strip()])
    text = " ".join(text.split()) if "\n" in text or first != last else text.strip()
    return text if len(text) <= width else text[:width - 3] + "..."


def _advice(statement: ast.stmt, names: set[str], site: ImportSite, scan: ModuleScan,
            tree: ast.Module, scans: dict[str, ModuleScan]) -> str | None:
    library = site.imported.split(".")[0]
    where = f"line {statement.lineno} `{_text(scan, statement)}`"
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if _is_atexit(call) and any(_uses_names(a, names) for a in call.args):
            handler = _text(scan, call.args[0], 60) if call.args else "..."
            return (f"{where}: register a function that touches {library} on exit only if "
                    f"the program loaded it: `@atexit.register` `def _at_exit(): if "
                    f"\"{library}\" in sys.modules: {handler}()`, and import {library} "
                    f"where it is used")
        if _calls_into(statement, names):
            return (f"{where} runs at import for its effect and keeps {library} loaded: call "
                    f"it where the program first needs that effect (it then happens later, "
                    f"which is why hotstart does not move it)")
        return None
    if isinstance(statement, ast.Assign):
        targets = statement.targets
        if len(targets) != 1 or not isinstance(targets[0], ast.Name):
            return None
        target, value, annotation = targets[0].id, statement.value, None
    elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) \
            and statement.value is not None:
        target, value = statement.target.id, statement.value
        annotation = _text(scan, statement.annotation, 40)
    else:
        return None
    if not _calls_into(value, names) or target.startswith("__"):
        return None
    if annotation is None and isinstance(value, ast.Call):
        callee = dotted(value.func) or ""
        annotation = callee if callee.split(".")[-1][:1].isupper() else None
    function = _function_name(target, scan)
    returns = f" -> {annotation}" if annotation else ""
    rewrite = (f"make {target} a function: `@functools.cache` `def {function}(){returns}: "
               f"return {_text(scan, value, 70)}`")
    reads = _reads(tree, target, statement)
    parts = [f"{where}: {rewrite}"]
    functions = reads["function"]
    if functions:
        shown = ", ".join(f"{f}()" for f in functions[:_SHOWN_USES])
        more = f" and {len(functions) - _SHOWN_USES} more" if len(functions) > _SHOWN_USES \
            else ""
        parts.append(f"and read `{function}()` where {target} is read ({len(functions)} "
                     f"use{'s' if len(functions) != 1 else ''}: {shown}{more})")
    else:
        parts.append(f"no function of {scan.name} reads {target}")
    notes = []
    at_exit = [line for line, _handler in reads["atexit"]]
    for line, handler in reads["atexit"]:
        call = re.sub(rf"\b{re.escape(target)}\b", f"{function}()", handler)
        notes.append(f"replace the atexit registration at line {line} by one that runs only if "
                     f"{target} was computed: `@atexit.register` `def _at_exit(): if "
                     f"{function}.cache_info().currsize: {call}()`")
    import_time = [line for line in reads["module"] if line not in at_exit]
    if import_time:
        notes.append(f"{target} is also read at import (line "
                     f"{', '.join(map(str, import_time[:3]))}), which would compute it there: "
                     f"defer that read too, or {library} stays loaded")
    if reads["rebound"]:
        notes.append(f"{target} is rebound ({reads['rebound'][0]}): shared state that a cached "
                     f"function does not keep; keep a module-level holder instead")
    importers = _importers(scan.name, target, scans)
    if importers:
        notes.append(f"other modules read {target} ({', '.join(importers[:3])}): a PEP 562 "
                     f"`__getattr__` in {scan.name} returning `{function}()` for "
                     f"\"{target}\" keeps them working, but one that imports it at module "
                     f"level computes it at its own import")
    if scan.all_names and target in scan.all_names:
        notes.append(f"{target} is in __all__: keep the name public with a PEP 562 "
                     f"`__getattr__`")
    notes.append(f"{library} then loads on first use; the value is computed then, not at "
                 f"import")
    return " ".join(parts) + "; " + "; ".join(notes)


def _is_atexit(call: ast.Call) -> bool:
    """`atexit.register(...)` (or `register(...)` imported from atexit, by its name)."""
    callee = dotted(call.func) or ""
    return callee == "atexit.register" or callee.endswith(".atexit.register")


def _function_name(target: str, scan: ModuleScan) -> str:
    base = "_" + target.lower().lstrip("_")
    name = base
    while name in scan.defined or name in scan.bindings:
        name += "_value"
    return name


def _reads(tree: ast.Module, target: str, binding: ast.stmt) -> dict[str, list]:
    """Where the module reads `target`: the functions (qualnames), the module-level lines,
    the atexit registrations ((line, text)), and where it is bound again."""
    out: dict[str, list] = {"function": [], "module": [], "atexit": [], "rebound": []}

    def function(node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str) -> None:
        local = {a.arg for a in ast.walk(node.args) if isinstance(a, ast.arg)}
        declared = any(isinstance(n, ast.Global) and target in n.names for n in ast.walk(node))
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and not isinstance(sub.ctx, ast.Load) and \
                    sub.id == target:
                if declared:
                    out["rebound"].append(f"by {qualname}() at line {sub.lineno}")
                else:
                    local.add(target)
        if target in local:
            return
        if any(isinstance(n, ast.Name) and n.id == target and isinstance(n.ctx, ast.Load)
               for n in ast.walk(node)):
            out["function"].append(qualname)

    def block(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if node is binding:
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    module_level(decorator)
                for default in [*node.args.defaults, *node.args.kw_defaults]:
                    if default is not None:
                        module_level(default)
                function(node, prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                for part in (*node.bases, *node.decorator_list):
                    module_level(part)
                block(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or \
                    type(node).__name__ == "TryStar":
                for field in ("test", "iter", "items"):
                    value = getattr(node, field, None)
                    for part in (value if isinstance(value, list) else [value]):
                        if isinstance(part, ast.AST):
                            module_level(part)
                for field in ("body", "orelse", "finalbody"):
                    block(getattr(node, field, []), prefix)
                for handler in getattr(node, "handlers", []):
                    block(handler.body, prefix)
            else:
                module_level(node)

    def module_level(node: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id == target:
                if isinstance(sub.ctx, ast.Load):
                    out["module"].append(sub.lineno)
                else:
                    out["rebound"].append(f"at line {sub.lineno}")
            if isinstance(sub, ast.Call) and _is_atexit(sub) and sub.args and \
                    _uses_names(sub, {target}):
                out["atexit"].append((sub.lineno, ast.unparse(sub.args[0])))

    block(tree.body, "")
    out["function"] = list(dict.fromkeys(out["function"]))
    out["module"] = sorted(set(out["module"]))
    return out


def _importers(module: str, target: str, scans: dict[str, ModuleScan]) -> list[str]:
    """`pkg.b:3` for each other project module that imports or reads `module.target`."""
    found = []
    dotted_name = f"{module}.{target}"
    for name, scan in scans.items():
        if name == module:
            continue
        lines = [line for imported, attr, line in scan.from_imports
                 if imported == module and attr == target]
        lines += [line for read, line in scan.attribute_reads if read == dotted_name]
        if lines:
            found.append(f"{name}:{min(lines)}")
    return found
