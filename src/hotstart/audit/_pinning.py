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

Only third-party libraries are advised on (a standard library module costs little), and only
where such statements are all that pins the import (a base class, a decorator or a
re-export would keep it loaded anyway), for each statement: an assignment whose value calls
into the library (not a `typing` construct such as `TypeVar`), an `atexit.register(...)` that
hands it a function of the library, or another module-level call made for its effect.
"""

from __future__ import annotations

import ast
import re

from ._scan_model import ModuleScan, dotted
from .model import PINNING_CONTEXTS, ImportSite

__all__ = ["advise_pinned"]

#: Uses that a module-level computation makes.
_COMPUTING = frozenset({"call", "module"})
_SHOWN_USES = 4


def advise_pinned(sites: list[ImportSite], scans: dict[str, ModuleScan]) -> None:
    """Set `advice` on each needed third-party site pinned by a module-level computation.
    Only the top-level statements that hold a pinning line or a read of an advised name are
    parsed (each once), and who imports what is indexed once for the project."""
    modules: dict[str, _Module] = {}
    importers: _Importers | None = None
    for site in sites:
        if site.klass != "needed" or not site.external or site.stdlib:
            continue
        uses = [u for b in site.names for u in b.uses
                if u.context in PINNING_CONTEXTS or u.context == "reexport"]
        if not uses or any(u.context not in _COMPUTING or u.file is not None for u in uses):
            continue  # pinned by more than computations: rewriting them would not free it
        lines = sorted({u.line for u in uses})
        scan = scans.get(site.module)
        if scan is None:
            continue
        module = modules.get(site.module) or modules.setdefault(site.module, _Module(scan))
        if importers is None:
            importers = _Importers(scans)
        names = {b.name for b in site.names}
        statements = {id(n): n for line in lines for n in _statements(module.chunk(line),
                                                                      [line])}
        found = [_advice(statement, names, site, module, importers)
                 for statement in sorted(statements.values(), key=lambda n: n.lineno)]
        # a new list: the parts of a split statement are shallow copies sharing one
        site.advice = list(dict.fromkeys(a for a in found if a))


class _Reads:
    """Where a module reads one of its module-level names."""

    __slots__ = ("atexit", "functions", "module", "stores")

    def __init__(self) -> None:
        self.functions: dict[str, None] = {}      # qualnames, in order
        self.module: list[int] = []               # lines of import-time reads
        self.stores: list[tuple[int, str]] = []   # (line, "by f() at line 9" / "at line 9")
        self.atexit: list[tuple[int, str]] = []   # (line, the handler's source)


class _Module:
    """One module, parsed a top-level statement at a time on demand (the scan has read it
    already; parsing all of a big module again for one constant would cost more than the
    advice), and where it reads a name, found from the statements whose source holds the
    name as a word."""

    def __init__(self, scan: ModuleScan) -> None:
        self.scan = scan
        self.lines = scan.lines
        self.chunks: dict[int, ast.Module] = {}   # by first line
        self.whole: ast.Module | None = None      # the fallback: the module parsed at once
        self.reads: dict[str, _Reads] = {}
        self._quotes: list[tuple[int, int]] | None = None

    def _in_string(self, line: int) -> bool:
        """Whether `line` may start inside a triple-quoted string: an odd count of either
        kind of triple quote above it (one in a comment only costs a parse of the module)."""
        if self._quotes is None:
            double = single = 0
            self._quotes = [(0, 0)]
            for text in self.lines:
                double += text.count('"' * 3)
                single += text.count("'" * 3)
                self._quotes.append((double, single))
        double, single = self._quotes[line - 1]
        return bool(double % 2 or single % 2)

    def chunk(self, line: int) -> ast.Module:
        """The parsed top-level statement holding `line` (line numbers as in the module), or
        the whole module when that statement cannot be told apart (a string spanning lines
        at column 0, say)."""
        if self.whole is not None:
            return self.whole
        first = line
        while first > 1 and not _starts_statement(self.lines[first - 1]):
            first -= 1
        while first > 1 and self.lines[first - 2].startswith("@"):
            first -= 1
        if first in self.chunks:
            return self.chunks[first]
        last = line if not self._in_string(first) else len(self.lines) + 1
        for _attempt in range(3):  # a decorator's function is the next statement too
            if last > len(self.lines):
                break
            last += 1
            while last <= len(self.lines) and not _starts_statement(self.lines[last - 1]):
                last += 1
            try:  # the blank lines give its nodes the module's line numbers
                tree = ast.parse("\n" * (first - 1) + "\n".join(self.lines[first - 1:last - 1]))
            except (SyntaxError, ValueError):
                continue
            except RecursionError:
                break
            if tree.body and tree.body[0].lineno <= line <= (tree.body[-1].end_lineno or 0):
                self.chunks[first] = tree
                return tree
        try:
            self.whole = ast.parse("\n".join(self.lines))
        except (SyntaxError, ValueError, RecursionError):
            self.whole = ast.Module(body=[], type_ignores=[])  # PEP 810 code: no advice
        return self.whole

    def of(self, name: str) -> _Reads:
        """Where the module reads or binds `name`, from the statements that hold the word."""
        found = self.reads.get(name)
        if found is not None:
            return found
        found = self.reads[name] = _Reads()
        word = re.compile(rf"\b{re.escape(name)}\b")
        seen: set[int] = set()
        parts: list[tuple[str | None, ast.AST]] = []
        for number, text in enumerate(self.lines, 1):
            if name in text and word.search(text):
                tree = self.chunk(number)
                if id(tree) not in seen:
                    seen.add(id(tree))
                    _collect(tree.body, "", parts)
        for qualname, node in parts:
            text = "\n".join(self.lines[node.lineno - 1:node.end_lineno or node.lineno])
            if not word.search(text):
                continue
            if qualname is None:
                self._import_time(node, name, found)
            else:
                self._function(node, qualname, name, found)  # type: ignore[arg-type]
        return found

    def _import_time(self, node: ast.AST, name: str, found: _Reads) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and sub.id == name:
                if isinstance(sub.ctx, ast.Load):
                    found.module.append(sub.lineno)
                else:
                    found.stores.append((sub.lineno, f"at line {sub.lineno}"))
            elif isinstance(sub, ast.Call) and sub.args and _is_atexit(sub, self.scan) and \
                    _uses_names(sub, {name}):
                found.atexit.append((sub.lineno, ast.unparse(sub.args[0])))

    @staticmethod
    def _function(node: ast.FunctionDef | ast.AsyncFunctionDef, qualname: str, name: str,
                  found: _Reads) -> None:
        declared = local = read = False
        stores: list[int] = []
        for sub in ast.walk(node):
            if isinstance(sub, ast.Global) and name in sub.names:
                declared = True
            elif isinstance(sub, ast.arg) and sub.arg == name:
                local = True
            elif isinstance(sub, ast.Name) and sub.id == name:
                if isinstance(sub.ctx, ast.Load):
                    read = True
                else:
                    stores.append(sub.lineno)
        if declared:
            found.stores.extend((line, f"by {qualname}() at line {line}") for line in stores)
        elif stores:
            local = True
        if read and not local:
            found.functions[qualname] = None


def _collect(body: list[ast.stmt], prefix: str,
             parts: list[tuple[str | None, ast.AST]]) -> None:
    """(qualname, function) for each function or method in `body`, and (None, node) for each
    part that runs at import (decorators, defaults, bases, module-level statements)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts.extend((None, part) for part in (
                *node.decorator_list, *node.args.defaults,
                *(d for d in node.args.kw_defaults if d is not None)))
            parts.append((prefix + node.name, node))
        elif isinstance(node, ast.ClassDef):
            parts.extend((None, part) for part in (*node.bases, *node.decorator_list))
            _collect(node.body, f"{prefix}{node.name}.", parts)
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)) or \
                type(node).__name__ == "TryStar":
            for field in ("test", "iter", "target", "items"):
                value = getattr(node, field, None)
                parts.extend((None, part) for part in
                             (value if isinstance(value, list) else [value])
                             if isinstance(part, ast.AST))
            for field in ("body", "orelse", "finalbody"):
                _collect(getattr(node, field, []), prefix, parts)
            for handler in getattr(node, "handlers", []):
                _collect(handler.body, prefix, parts)
        else:
            parts.append((None, node))


_CONTINUING = re.compile(r"(else|elif|except|finally)\b")


def _starts_statement(line: str) -> bool:
    """A line at column 0 that begins a top-level statement (not a comment, a closing bracket
    or the `else:`/`except:` of the statement above)."""
    return bool(line) and line[0] not in " \t\r\n#)]}" and not _CONTINUING.match(line)


class _Importers:
    """`pkg.b:3` for each project module that imports or reads `module.name`, indexed once."""

    def __init__(self, scans: dict[str, ModuleScan]) -> None:
        self.found: dict[tuple[str, str], dict[str, int]] = {}
        for name, scan in scans.items():
            for imported, attr, line in scan.from_imports:
                self._add(imported, attr, name, line)
            for read, line in scan.attribute_reads:
                module, _, attr = read.rpartition(".")
                self._add(module, attr, name, line)

    def _add(self, module: str, attr: str, reader: str, line: int) -> None:
        if reader == module:
            return
        lines = self.found.setdefault((module, attr), {})
        lines[reader] = min(line, lines.get(reader, line))

    def of(self, module: str, name: str) -> list[str]:
        return [f"{reader}:{line}" for reader, line in
                self.found.get((module, name), {}).items()]


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
    """The source of `node`, on one line, clipped (ast columns count UTF-8 bytes)."""
    first, last = node.lineno, node.end_lineno or node.lineno
    lines = [line.encode("utf-8") for line in scan.lines[first - 1:last]]
    if not lines:
        return ast.unparse(node)
    if first == last:
        parts = [lines[0][node.col_offset:node.end_col_offset]]
    else:
        parts = [lines[0][node.col_offset:], *lines[1:-1], lines[-1][:node.end_col_offset]]
    text = " ".join(" ".join(p.decode("utf-8", "replace").split()) for p in parts)
    return text if len(text) <= width else text[:width - 3] + "..."


def _advice(statement: ast.stmt, names: set[str], site: ImportSite, module: _Module,
            importers: _Importers) -> str | None:
    scan = module.scan
    library = site.imported.split(".")[0]
    where = f"line {statement.lineno} `{_text(scan, statement)}`"
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        call = statement.value
        if _is_atexit(call, scan) and any(_uses_names(a, names) for a in call.args):
            handler = _text(scan, call.args[0], 60)
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
    if not _calls_into(value, names) or target.startswith("__") or _typing(value, scan):
        return None
    if annotation is None and isinstance(value, ast.Call):
        callee = dotted(value.func) or ""
        annotation = callee if callee.split(".")[-1][:1].isupper() else None
    function = _function_name(target, scan)
    returns = f" -> {annotation}" if annotation else ""
    parts = [(f"{where}: make {target} a function: `@functools.cache` `def {function}()"
             f"{returns}: return {_text(scan, value, 70)}`")]
    reads = module.of(target)
    functions = list(reads.functions)
    if functions:
        shown = ", ".join(f"{f}()" for f in functions[:_SHOWN_USES])
        more = f" and {len(functions) - _SHOWN_USES} more" if len(functions) > _SHOWN_USES \
            else ""
        parts.append(f"and read `{function}()` where {target} is read ({len(functions)} "
                     f"use{'s' if len(functions) != 1 else ''}: {shown}{more})")
    else:
        parts.append(f"(no function of {scan.name} reads it)")
    notes = []
    bound = range(statement.lineno, (statement.end_lineno or statement.lineno) + 1)
    at_exit = {line for line, _handler in reads.atexit}
    for line, handler in reads.atexit:
        call = re.sub(rf"\b{re.escape(target)}\b", f"{function}()", handler)
        notes.append(f"replace the atexit registration at line {line} by one that runs only if "
                     f"{target} was computed: `@atexit.register` `def _at_exit(): if "
                     f"{function}.cache_info().currsize: {call}()`")
    import_time = sorted({line for line in reads.module
                          if line not in at_exit and line not in bound})
    if import_time:
        notes.append(f"{target} is also read at import (line "
                     f"{', '.join(map(str, import_time[:3]))}), which would compute it there: "
                     f"defer that read too, or {library} stays loaded")
    rebound = [text for line, text in reads.stores if line not in bound]
    if rebound:
        notes.append(f"{target} is rebound ({rebound[0]}): shared state that a cached "
                     f"function does not keep; keep a module-level holder instead")
    readers = importers.of(scan.name, target)
    if readers:
        notes.append(f"other modules read {target} ({', '.join(readers[:3])}): a PEP 562 "
                     f"`__getattr__` in {scan.name} returning `{function}()` for "
                     f"\"{target}\" keeps them working, but one that imports it at module "
                     f"level computes it at its own import")
    if scan.all_names and target in scan.all_names:
        notes.append(f"{target} is in __all__: keep the name public with a PEP 562 "
                     f"`__getattr__`")
    notes.append(f"{library} then loads on first use; the value is computed then, not at "
                 f"import")
    return " ".join(parts) + "; " + "; ".join(notes)


def _typing(value: ast.expr, scan: ModuleScan) -> bool:
    """`TypeVar(...)`, `NewType(...)`, ...: a type, which a function cannot stand for."""
    if not isinstance(value, ast.Call):
        return False
    callee = _resolved(value.func, scan)
    return callee.split(".")[0] in ("typing", "typing_extensions")


def _resolved(func: ast.expr, scan: ModuleScan) -> str:
    callee = dotted(func) or ""
    head, _, rest = callee.partition(".")
    return scan.bindings.get(head, head) + (f".{rest}" if rest else "")


def _is_atexit(call: ast.Call, scan: ModuleScan) -> bool:
    """`atexit.register(...)`, also through `from atexit import register` or an alias."""
    return _resolved(call.func, scan) == "atexit.register"


def _function_name(target: str, scan: ModuleScan) -> str:
    base = "_" + target.lower().lstrip("_")
    name = base
    while name in scan.defined or name in scan.bindings:
        name += "_value"
    return name
