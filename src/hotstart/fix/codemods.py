"""The libcst codemods: rewrite one file's source for a set of `Change`s.

Every edit keeps the rest of the file byte for byte (comments, blank lines, quotes), and
running the fix again on its output changes nothing: moved imports live in functions, typing
imports under `if TYPE_CHECKING:`, lazy ones are `lazy` or listed, and the audit does not
list any of those. Generated imports are laid out as isort/ruff expect (`_imports`), within
the project's line length.

The parts: `_rewriter` (the libcst pass: drop names, move imports into functions),
`_typing_alias` (runtime aliases for `TYPE_CHECKING` imports and where they hold),
`_reexport` (lazy package `__init__`, its `.pyi` stub, `__lazy_modules__`), `_imports`
(import layout, line length).
"""

from __future__ import annotations

import ast
import os
import re
from collections import defaultdict

import libcst as cst
from libcst.metadata import MetadataWrapper

from ._imports import (
    Sections,
    Statement,
    format_block,
    insertion_key,
    line_length,
    parse_statements,
    sorted_run,
)
from ._reexport import (
    add_lazy_modules,
    bound_in_blocks,
    declared_lazy_modules,
    lazy_init_code,
    stub,
)
from ._rewriter import MARK, Aliases, Rewriter, plain_module, statement_text
from ._typing_alias import alias_problems, runtime_alias
from .plan import Change, CodeSite

__all__ = ["MARK", "PROGRAM_CODEMODS", "FileResult", "program_action", "program_codemod",
           "rewrite"]

#: The codemods of causes that are not imports: select name -> (module, its check class).
#: Each module has `plan(report, paths, project)`, `rewrite(source, changes)`, `ACTION`, and
#: the check class `--verify` takes before the rewrite and after each trial.
PROGRAM_CODEMODS = {"hot-calls": ("_callername", "CallerNameCheck"),
                    "cli": ("_subcommands", "HelpCheck")}


class FileResult:
    def __init__(self, source: str, stub: str | None, skipped: list[tuple[Change, str]]):
        self.source = source
        self.stub = stub
        self.skipped = skipped


def program_codemod(select: str):
    """The module of the program codemod `select` ("hot-calls", "cli")."""
    import importlib

    from ..errors import HotstartError

    name = PROGRAM_CODEMODS[select][0]
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError as exc:
        raise HotstartError(f"--select {select}: its codemod (hotstart.fix.{name}) cannot be "
                            f"loaded ({exc}); leave {select} out of --select") from None


def program_action(change: Change) -> str | None:
    """The select name of the program codemod that makes `change`, or None (an import)."""
    site = change.site
    return site.klass if isinstance(site, CodeSite) and site.klass in PROGRAM_CODEMODS \
        else None


def rewrite(source: str, changes: list[Change], *, runtime: str, package: str | None,
            has_stub: bool = False, enable_lazy: bool = False) -> FileResult:
    """Apply `changes` (all in one file) to `source`. `package`: the package name when the
    file is a package `__init__`. `enable_lazy`: a module that lists imports in
    `__lazy_modules__` also calls `hotstart.lazy.enable()` (lazy before 3.15, where the
    interpreter ignores the list). Import changes are made first (they find their statements
    by line, in the original source), then each program codemod's on the result (they find
    their code by name)."""
    programs: dict[str, list[Change]] = defaultdict(list)
    imports: list[Change] = []
    after: list[Change] = []  # removals of imports whose last use a program change takes
    for change in changes:
        select = program_action(change)
        if select is not None:
            programs[select].append(change)
        elif change.action == "remove" and change.site.klass != "dead":
            after.append(change)
        else:
            imports.append(change)
    result = _rewrite_imports(source, imports, runtime=runtime, package=package,
                              has_stub=has_stub, enable_lazy=enable_lazy) if imports \
        else FileResult(source, None, [])
    for select, group in programs.items():
        code, failed = program_codemod(select).rewrite(result.source, group)
        result = FileResult(code, result.stub, result.skipped + failed)
    if after:  # the program codemods may have moved lines: each statement found again
        made = [c for c in after if not _reads(result.source, {b.name for b in c.site.names})]
        result.skipped.extend((c, "still used after the rewrite: the import stays")
                              for c in after if c not in made)
        pairs = [(_relocate(result.source, c), c) for c in made]
        result.skipped.extend((c, "the statement is not where the audit saw it (re-run)")
                              for m, c in pairs if m is None)
        relocated = [m for m, _ in pairs if m is not None]
        original = {id(m): c for m, c in pairs if m is not None}
        if relocated:
            removed = _rewrite_imports(result.source, relocated, runtime=runtime,
                                       package=package, has_stub=True, enable_lazy=False)
            result = FileResult(removed.source, result.stub, result.skipped + [
                (original[id(c)], why) for c, why in removed.skipped])
    return result


def _relocate(code: str, change: Change) -> Change | None:
    """`change` with its site at the line where `code` now has its statement (the same
    module-level import, binding the same names), or None."""
    import dataclasses

    site = change.site
    names = {b.name for b in site.names}
    for node in parse(code).body:
        if isinstance(node, ast.Import) and site.kind == "import" or \
                isinstance(node, ast.ImportFrom) and site.kind == "from" and \
                node.level == site.level:
            bound = {a.asname or a.name.split(".")[0] for a in node.names}
            if names <= bound and ast.unparse(node) == ast.unparse(parse(site.statement)):
                moved = dataclasses.replace(site, line=node.lineno,
                                            end_line=node.end_lineno or node.lineno)
                return dataclasses.replace(change, site=moved)
    return None


def _reads(code: str, names: set[str]) -> bool:
    """Whether `code` reads any of `names` (a plain name, or the base of an attribute)."""
    try:
        tree = parse(code)
    except SyntaxError:
        return True
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(tree))


def _rewrite_imports(source: str, changes: list[Change], *, runtime: str,
                     package: str | None, has_stub: bool, enable_lazy: bool) -> FileResult:
    skipped: list[tuple[Change, str]] = []
    tree = parse(source)
    top = _top_bindings(tree)
    kept: list[Change] = []
    for change in changes:
        if change.action in ("lazy-init", "move-lazy-init"):
            if "__getattr__" in top:
                skipped.append((change, "the package __init__ already defines __getattr__"))
                continue
            if "__all__" not in top and "*" in top:
                skipped.append((change, "no __all__, and a `from ... import *`: a generated "
                                        "__all__ could not list the names it binds, so "
                                        "`import *` would change; write __all__ first"))
                continue
            if "__all__" not in top and bound_in_blocks(tree):
                skipped.append((change, "no __all__, and names bound inside module-level "
                                        "blocks: `import *` would change; write __all__ "
                                        "first"))
                continue
            if has_stub:
                skipped.append((change, "an __init__.pyi exists already; merge the names by "
                                        "hand"))
                continue
        kept.append(change)
    changes = kept
    if not changes:
        return FileResult(source, None, skipped)

    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module)
    aliases = Aliases()
    wrapper.visit(aliases)

    leaving: dict[int, set[str]] = defaultdict(set)
    lazy_after: dict[int, list[str]] = defaultdict(list)
    # line -> (module, names moved) of each statement there whose load stays in place
    keep_load: dict[int, list[tuple[str, list[str]]]] = defaultdict(list)
    moves: dict[str, list[str]] = defaultdict(list)
    checking: list[str] = []
    runtime_aliases: list[str] = []
    lazy_modules: list[str] = []
    lazy_init: list[tuple[str, str, str | None]] = []  # (name, submodule key, attr or None)
    outside: list[tuple[str, str, str]] = []  # (name, absolute module, attr): moved + lazy
    needs_hotstart = False
    declared: list[str] | str | None = None  # __lazy_modules__ of `source`, or why not

    sections = Sections(_project_root(changes))
    limit = line_length(os.path.dirname(changes[0].path))
    unbound: set[str] = set()  # module-level names the changes take away
    problems = alias_problems(tree, {b.name for c in changes for b in _forward_refs(c)},
                              changes[0].site.file)
    own = _own_generated_names(tree)
    going: dict[tuple[int, str], int] = defaultdict(int)  # aliases each (line, name) loses
    for change in changes:
        if change.action != "lazy-modules":
            for bound in change.site.names:
                going[(change.site.line, bound.name)] += 1
    for change in changes:
        site = change.site
        names = [b.name for b in site.names]
        if own and (change.action == "type-checking" or (
                change.action == "move" and change.annotated)):
            skipped.append((change, f"pinned by: the module binds its own `{sorted(own)[0]}`, "
                                    "a name the generated TYPE_CHECKING block uses"))
            continue
        pinned = [problems[b.name] for b in _forward_refs(change) if b.name in problems]
        if pinned:
            skipped.append((change, f"pinned by: {pinned[0]}; a ForwardRef alias cannot "
                                    f"stand for it there, so the import stays"))
            continue
        twice = [n for n in names if going[(site.line, n)] < aliases.repeated.get(
            (site.line, n), 0)]
        if twice:
            skipped.append((change, f"the line binds `{twice[0]}` twice (`import a.b, a.c`): "
                                    "one of them cannot go alone; split the statement first"))
            continue
        if change.action != "lazy-modules":  # the only change that keeps the statement
            leaving[site.line].update(names)
        found = [aliases.found.get((site.line, n)) for n in names]
        if any(f is None for f in found):
            skipped.append((change, "the statement is not where the audit saw it (re-run)"))
            leaving[site.line].difference_update(names)
            continue
        kind, module_text = found[0][0], found[0][1]  # type: ignore[index]
        texts = [f[2] for f in found]  # type: ignore[index]
        if change.action == "lazy" and _in_try(tree, site.line):
            skipped.append((change, "inside a `try` statement, where `lazy import` is a "
                                    "SyntaxError (PEP 810): use --defer lazy-modules"))
            leaving[site.line].difference_update(names)
            continue
        if change.action == "lazy":
            plain = parse_statements(statement_text(kind, module_text, texts))
            lazy_after[site.line].extend("lazy " + p.text(limit=limit - len("lazy "))
                                         for p in plain)
        elif change.action == "lazy-modules":
            module_name = site.imported
            if declared is None:
                declared = declared_lazy_modules(source)
            if isinstance(declared, str):
                skipped.append((change, declared))
                continue
            if module_name in declared:
                skipped.append((change, f"{module_name} is listed in __lazy_modules__ already"))
                continue
            if module_name not in lazy_modules:
                lazy_modules.append(module_name)
        elif change.action == "move-lazy-init":
            # moved into the functions that use it, and re-exported lazily from where it
            # comes: `from package import name` of other code still gets the same object
            unbound.update(names)
            _into_functions(site, kind, module_text, texts, moves)
            for bound in site.names:
                module_name, _, attr = bound.target.rpartition(".")
                outside.append((bound.name, module_name, attr))
        elif change.action == "move-keep-load":
            clash = sorted({"__import__", "globals"} & _bound_anywhere(tree))
            if clash:
                skipped.append((change, f"the module binds its own `{clash[0]}`, which the "
                                        "load left in place would call"))
                leaving[site.line].difference_update(names)
                continue
            unbound.update(names)
            _into_functions(site, kind, module_text, texts, moves)
            keep_load[site.line].append((plain_module(module_text), names))
        elif change.action == "move":
            unbound.update(n for n in names if n not in change.annotated)  # else: aliased
            _into_functions(site, kind, module_text, texts, moves)
            annotated = [t for b, t in zip(site.names, texts) if b.name in change.annotated]
            if annotated:
                checking.append(statement_text(kind, module_text, annotated))
                for bound in site.names:
                    if bound.name in change.annotated:
                        alias, hot = runtime_alias(site.kind, bound.name, bound.target,
                                                   bound.is_module)
                        runtime_aliases.append(alias)
                        needs_hotstart |= hot
        elif change.action == "type-checking":
            checking.append(statement_text(kind, module_text, texts))
            for bound in site.names:
                alias, hot = runtime_alias(site.kind, bound.name, bound.target,
                                           bound.is_module)
                runtime_aliases.append(alias)
                needs_hotstart |= hot
        elif change.action == "lazy-init":
            for bound in site.names:
                if site.imported == package or bound.is_module:  # a submodule
                    lazy_init.append((bound.name, bound.target[len(package) + 1:], None))
                else:
                    key = site.imported[len(package) + 1:]  # type: ignore[arg-type]
                    attr = bound.target.rsplit(".", 1)[1]
                    lazy_init.append((bound.name, key, attr))
        else:  # "remove": leaving the statement is all
            unbound.update(names)

    # `from .m import go` also bound the submodule `m` in the package: `pkg.m.go()` of code
    # that never imported pkg.m itself must keep working (loaded on access, not in __all__)
    bound_subs = [sub for sub in dict.fromkeys(k.split(".")[0] for _n, k, a in lazy_init if a)
                  if sub not in {name for name, _k, _a in lazy_init} and sub not in top]
    transformer = Rewriter(leaving, lazy_after, moves, sections, limit, keep_load)
    updated = wrapper.visit(transformer)
    blocks: list[str] = []
    top_imports: list[Statement] = []
    if checking:
        wanted = [n for n in ("TYPE_CHECKING",) if n not in top]
        if any("ForwardRef(" in a for a in runtime_aliases) and "ForwardRef" not in top:
            wanted.append("ForwardRef")
        if wanted:
            top_imports.append(Statement("from", "typing", tuple((n, None) for n in wanted)))
        body = format_block(parse_statements("\n".join(checking)), sections, indent="    ",
                            limit=limit)
        block = "\nif TYPE_CHECKING:\n" + "".join(f"{line}\n" for line in body)
        if runtime_aliases:
            block += "else:  # runtime aliases: typing.get_type_hints resolves them on use\n"
            if needs_hotstart:
                block += "    import hotstart.lazy\n\n"
            block += "".join(f"{_fit(a, limit)}\n" for a in dict.fromkeys(runtime_aliases))
        blocks.append(block)
    if lazy_init or outside:
        lazy_code, hot = lazy_init_code(lazy_init, runtime, top - unbound, limit, bound_subs,
                                        outside)
        blocks.append(lazy_code)
        if hot:
            top_imports.append(Statement("import", "hotstart.lazy",
                                         (("hotstart.lazy", None),)))
    code = updated.code
    if blocks:
        code = _insert_after_imports(code, "".join(blocks))
    for statement in top_imports:
        code = _add_top_import(code, statement, sections, limit)
    if lazy_modules:
        code = add_lazy_modules(code, lazy_modules, limit)
        if enable_lazy:
            code = _enable_lazy_modules(code)
    stub_text = None
    if (lazy_init or outside) and package is not None:
        stub_text = stub(source, {(n, k, a) for n, k, a in (*lazy_init, *outside)}, sections)
    if "\r\n" in source and source.count("\r\n") == source.count("\n"):
        # the generated blocks are written with "\n": a CRLF file stays CRLF throughout
        code = re.sub(r"(?<!\r)\n", "\r\n", code)
    return FileResult(code, stub_text, skipped)


def _forward_refs(change: Change):
    """The names of `change` that get a `ForwardRef` runtime alias."""
    site = change.site
    if change.action == "type-checking":
        names = site.names
    elif change.action == "move":
        names = [b for b in site.names if b.name in change.annotated]
    else:
        return []
    return [b for b in names if not (site.kind == "import" or b.is_module)]


def _project_root(changes: list[Change]) -> str:
    """The directory the file's module is imported from (its top package's parent)."""
    site = changes[0].site
    root = os.path.dirname(changes[0].path)
    depth = site.module.count(".") + (1 if site.package_init else 0)
    for _ in range(depth):
        root = os.path.dirname(root)
    return root


def _fit(alias: str, limit: int) -> str:
    """An `else:` alias line (indented once), its call split over lines when too long."""
    line = f"    {alias}"
    if len(line) <= limit or "(" not in alias:
        return line
    head, _, rest = alias.partition("(")
    return f"    {head}(\n        {rest[:-1]}\n    )"


def _add_top_import(code: str, new: Statement, sections: Sections, limit: int) -> str:
    """Add `new` to the module's leading import block where isort would put it: merged into
    a `from` statement of the same module, else before the first statement that sorts after
    it (a new section gets its blank line). A block in another order than isort's default
    (the project configures isort otherwise) gets it at its end."""
    tree = parse(code)
    body = tree.body
    start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(
        getattr(body[0], "value", None), ast.Constant) else 0
    run: list[ast.Import | ast.ImportFrom] = []
    for node in body[start:]:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            break
        run.append(node)
    lines = code.splitlines(keepends=True)
    text = new.text()
    if not run:
        at = body[0].end_lineno if start else 0
        lines[at:at] = [f"{text}\n"]
        return "".join(lines)
    statements = [parse_statements(ast.unparse(node))[0] for node in run]
    for node, old in zip(run, statements):
        if new.kind == "from" and old.kind == "from" and (old.module, old.level) == (
                new.module, new.level) and all(a is None for _n, a in old.names) and \
                "#" not in "".join(lines[node.lineno - 1:node.end_lineno]):
            merged = Statement("from", new.module, old.names + tuple(
                n for n in new.names if n not in old.names), new.level)
            replaced = format_block([merged], sections, limit=limit)[0]
            lines[node.lineno - 1:node.end_lineno] = [f"{replaced}\n"]
            return "".join(lines)
    if not sorted_run(statements, sections):
        at = run[-1].end_lineno or run[-1].lineno
        lines[at:at] = [f"{text}\n"]
        return "".join(lines)
    key = insertion_key(new, sections)
    position = next((i for i, s in enumerate(statements) if insertion_key(s, sections) > key),
                    len(statements))
    section = sections(new)
    before = run[position - 1] if position else None
    after = run[position] if position < len(run) else None
    if before is not None and sections(statements[position - 1]) == section:
        at, insert = before.end_lineno or before.lineno, f"{text}\n"
    elif after is not None and sections(statements[position]) == section:
        at, insert = _above_comments(lines, after.lineno), f"{text}\n"
    elif before is not None:
        at, insert = before.end_lineno or before.lineno, f"\n{text}\n"
    else:
        at, insert = _above_comments(lines, after.lineno), f"{text}\n\n"  # type: ignore
    lines[at:at] = [insert]
    return "".join(lines)


def _above_comments(lines: list[str], lineno: int) -> int:
    """The index of the first line of the comments right above line `lineno` (1-based)."""
    index = lineno - 1
    while index > 0 and lines[index - 1].lstrip().startswith("#"):
        index -= 1
    return index


def _in_try(tree: ast.Module, line: int) -> bool:
    """Whether `line` is inside a module-level `try` statement (any of its blocks)."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Try) or type(node).__name__ == "TryStar") \
                and node.lineno <= line <= (node.end_lineno or node.lineno):
            return True
    return False


def _own_generated_names(tree: ast.Module) -> set[str]:
    """The names generated TYPE_CHECKING blocks use (`TYPE_CHECKING`, `ForwardRef`,
    `hotstart`) that the module binds anywhere other than by importing them from typing (or
    `import hotstart...`): the generated code would read or replace the module's own."""
    wanted = {"TYPE_CHECKING", "ForwardRef", "hotstart"}
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.module in ("typing", "typing_extensions"):
                found.update(a.asname for a in node.names if a.asname in wanted
                             and a.asname != a.name)
            else:
                found.update(a.asname or a.name for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.asname for a in node.names if a.asname)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
    return found & wanted


def _into_functions(site, kind: str, module_text: str, texts: list[str],
                    moves: dict[str, list[str]]) -> None:
    """The import of each of the site's names, put at the top of each function using it."""
    for bound, text in zip(site.names, texts):
        for scope in sorted({u.scope for u in bound.uses
                             if u.scope and u.context == "function"}):
            moves[scope].append(statement_text(kind, module_text, [text]))


def _bound_anywhere(tree: ast.Module) -> set[str]:
    """Every name the module binds anywhere (any block, any function: the safe side for a
    builtin that generated code calls at module level)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(a.asname or a.name.split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
    return names


def _top_bindings(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


#: What a module that lists its lazy imports runs before them, before 3.15 (`enable_lazy`).
_ENABLE = "import hotstart.lazy\n\nhotstart.lazy.enable()\n"
#: The comment `add_lazy_modules` writes above a new `__lazy_modules__`, and what it becomes
#: when `hotstart.lazy.enable()` follows.
_EAGER_BEFORE = "# Imported lazily on Python 3.15+ (PEP 810), eagerly before."
_LAZY_BEFORE = "# Imported lazily: by PEP 810 on 3.15+, by hotstart.lazy.enable() before."


def _enable_lazy_modules(code: str) -> str:
    """`code` calling `hotstart.lazy.enable()` right after its `__lazy_modules__`, before the
    imports it lists (once: a module that calls it already is left as it is)."""
    tree = parse(code)
    declaration = None
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                ast.unparse(node.value.func) == "hotstart.lazy.enable":
            return code
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else []
        if declaration is None and any(isinstance(t, ast.Name) and t.id == "__lazy_modules__"
                                       for t in targets):
            declaration = node
    if declaration is None:
        return code
    lines = code.splitlines(keepends=True)
    at = declaration.end_lineno or declaration.lineno
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    lines[at:at] = [_ENABLE]
    above = declaration.lineno - 2
    if above >= 0 and lines[above].strip() == _EAGER_BEFORE:
        lines[above] = lines[above].replace(_EAGER_BEFORE, _LAZY_BEFORE)
    return "".join(lines)


def _insert_after_imports(code: str, block: str) -> str:
    """Insert `block` after the module's leading imports (docstring, `__future__`, imports,
    and the `if`/`try` blocks among them)."""
    tree = parse(code)
    last = 0
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node.end_lineno or node.lineno
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and last == 0:
            last = node.end_lineno or node.lineno
        elif isinstance(node, (ast.If, ast.Try)) and all(
                isinstance(n, (ast.Import, ast.ImportFrom, ast.Pass, ast.Assign))
                for n in ast.walk(node) if isinstance(n, ast.stmt) and n is not node):
            last = node.end_lineno or node.lineno
        else:
            break
    lines = code.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    insert = block if block.endswith("\n") else block + "\n"
    lines[last:last] = [insert]
    return "".join(lines)


def parse(code: str) -> ast.Module:
    """The module's syntax tree on any supported version (PEP 810 `lazy` read as plain)."""
    from ..lazy import _parse_any_version

    return _parse_any_version(code, "<fix>")[0]
