"""The `hot-calls` codemod: a project function that names its caller with a stack walk
(`inspect.stack()[1].frame.f_globals["__name__"]`), called at module level, reads the source
of every frame on the stack once per importing module. It is rewritten in place to the same
frame taken directly: `sys._getframe(1).f_globals["__name__"]`.

What is rewritten is an expression whose value is a frame object at a fixed depth from the
frame that evaluates it, built from `inspect` calls:

    inspect.stack(...)[k].frame, inspect.stack(...)[k][0]              -> sys._getframe(k)
    inspect.getouterframes(F, ...)[k].frame / [0], F at depth d         -> sys._getframe(d + k)
    inspect.currentframe()                                              -> sys._getframe(0)
    F.f_back, F at depth d                                              -> sys._getframe(d + 1)

and a local bound once to `inspect.stack()[k]` whose every use is `.frame` or `[0]` (the
binding becomes the frame, its uses drop `.frame`). The depth is the one written AT THAT
PLACE: `inspect.stack()[0]` is the frame that calls `inspect.stack()`, exactly as
`sys._getframe(0)` is the frame that calls `sys._getframe`, so a nested helper keeps its own
index (`_caller()` reached through `get_logger()` keeps 2). The value is the same frame
object, so everything read from it (`f_globals["__name__"]`, `.get("__name__", default)`,
`f_locals`) is unchanged. Two differences remain, both on a stack shallower than the index,
where the original fails anyway: `inspect.stack()[k]` raises IndexError and `.f_back` gives
None, `sys._getframe(k)` raises ValueError; an expression inside a `try` whose handler may
catch any of IndexError, AttributeError or ValueError (a bare `except`, `Exception`,
`LookupError`, or any type that is not a builtin exception class, such as a project class
or a tuple held in a name) is therefore left alone.

Not rewritten, reported with advice: `inspect.getmodule(frame)` (None for a frame whose file
is no module's, such as exec'd code, where `f_globals["__name__"]` gives a name: the stack
walk inside it is still rewritten, `getmodule` stays), and a frame record read for its
`filename`, `lineno`, `function`, `code_context` (source lines), loops and slices over the
stack, `inspect.getframeinfo`, `traceback.extract_stack`.

`import sys` is added when the module lacks it (laid out as isort would). A module-level
`import inspect` is left where it is: `hotstart fix` removes it in the same run when the
rewrite took its last use (the import codemods' checks decide: another module may import it
from here). One in the rewritten function's own body, which nothing else would remove, goes
when the function no longer names `inspect`.

The source is read by `_callername_find`. `CallerNameCheck` (in `_callername_check`) is the
`--verify` check: it imports the modules that call the helpers at module level and compares
the names the calls produced.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import PositionProvider

from ..audit.model import AuditReport, HotSpot, Saving
from ._callername_check import CallerNameCheck
from ._callername_find import Scanned, binding_uses, clip, function_node, scan
from ._imports import Sections, Statement, line_length
from ._rewriter import MARK
from .plan import Change, CodeSite, Skipped

__all__ = ["ACTION", "SELECT", "CallerNameCheck", "plan", "rewrite"]

SELECT = "hot-calls"
ACTION = "caller-name"

#: Hot spots whose expensive call walks or inspects frames: the helpers worth reading.
_FRAME_CALLS = frozenset({"inspect.stack", "inspect.getouterframes", "inspect.getframeinfo",
                          "inspect.getmodule", "inspect.getinnerframes", "inspect.trace",
                          "inspect.currentframe", "traceback.extract_stack",
                          "traceback.format_stack", "traceback.print_stack"})


# -- plan --------------------------------------------------------------------------------

def plan(report: AuditReport, paths: dict[str, str], project: str
         ) -> tuple[list[Change], list[Skipped]]:
    """One change per stack-walking expression of each project function that the audit saw
    called at import (a hot spot reached `via` it) and that can name the same frame with
    `sys._getframe(depth)`; the others skipped with why and what to do instead."""
    from ..audit._project import decode_source, read_source

    helpers: dict[str, list[HotSpot]] = {}
    for spot in report.hotspots:
        # every project function on the way that walks frames itself, not only `via`'s last
        reached = [entry.rpartition(":") for entry in spot.callers_of] or \
            ([(spot.via[-1], ":", spot.call)] if spot.via else [])
        for function in dict.fromkeys(f for f, _sep, call in reached if call in _FRAME_CALLS):
            helpers.setdefault(function, []).append(spot)
    modules = _module_files(report, paths)
    changes: list[Change] = []
    skipped: list[Skipped] = []
    cache: dict[str, Scanned | str] = {}
    for helper, spots in helpers.items():
        module = max((m for m in modules if helper.startswith(m + ".")), key=len, default=None)
        if module is None:
            continue
        shown, path = modules[module]
        qualname = helper[len(module) + 1:]
        if path not in cache:
            try:
                cache[path] = scan(decode_source(read_source(path)))
            except (OSError, SyntaxError, UnicodeDecodeError, cst.ParserSyntaxError,
                    RecursionError) as exc:
                cache[path] = f"cannot read {shown} ({_first_line(exc)})"
        scanned = cache[path]
        site = CodeSite(shown, module, spots[0].line, helper, SELECT)
        if isinstance(scanned, str):
            skipped.append(Skipped(site, scanned))
            continue
        found = scanned.finder.found.get(qualname, [])
        lines = scanned.module.code.splitlines()
        function = function_node(scanned.module, qualname)
        if function is not None:
            position = scanned.wrapper.resolve(PositionProvider)[function].start.line
            site = CodeSite(shown, module, position, lines[position - 1].strip(), SELECT)
        if not found:
            skipped.append(Skipped(site, f"{helper}() calls {spots[0].call} in a way hot-calls "
                                         f"does not rewrite: {spots[0].advice}"))
            continue
        callers = _callers(spots, modules)
        saving = _saving(spots)
        for item in found:
            here = CodeSite(shown, module, item.line, lines[item.line - 1].strip(), SELECT,
                            data={"function": qualname, "key": item.key, "depth": item.depth,
                                  "expression": item.text, "binding": item.binding,
                                  "callers": callers},
                            best_saving=saving)
            if item.depth is not None and item.binding is not None:
                uses = binding_uses(scanned, qualname, item)
                if isinstance(uses, str):
                    item.depth, item.why = None, uses
            if item.depth is None:
                skipped.append(Skipped(here, f"`{clip(item.text)}` in {helper}(): {item.why}"))
                continue
            if scanned.names.sys is None and scanned.names.sys_taken:
                skipped.append(Skipped(here, "the module binds its own `sys`, so "
                                             "`import sys` cannot be added"))
                continue
            was = f"`{clip(item.text, 50)}`"
            changes.append(Change(here, ACTION, path,
                                  f"names the caller with sys._getframe({item.depth}) instead "
                                  f"of {was} (the same frame, no stack walk)"))
    return changes, skipped


def _module_files(report: AuditReport, paths: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each audited module -> (file as shown, absolute path)."""
    out: dict[str, tuple[str, str]] = {}
    for item in (*report.sites, *report.hotspots):
        if item.file in paths:
            out.setdefault(item.module, (item.file, paths[item.file]))
    for shown, path in paths.items():  # modules with neither: named from their path
        parts = re.sub(r"(/__init__)?\.py$", "", shown.replace(os.sep, "/")).split("/")
        for start in range(len(parts)):
            out.setdefault(".".join(parts[start:]), (shown, path))
    return out


def _callers(spots: list[HotSpot], modules: dict[str, tuple[str, str]]) -> list[dict]:
    """The module-level calls that reach the helper: module, file, line, context."""
    out = []
    for spot in spots:
        path = modules.get(spot.module, (spot.file, ""))[1]
        out.append({"module": spot.module, "path": path, "line": spot.line,
                    "context": spot.context})
    return out


def _saving(spots: list[HotSpot]) -> Saving | None:
    """What the change saves: the measured time of its hot calls on the entry where it is
    largest. The spots of one call chain (`inspect.stack` via `get_logger`, from 14 modules)
    share one profile figure, counted once; different chains add up."""
    per_chain: dict[tuple[str, str, tuple[str, ...]], float] = {}
    for spot in spots:
        if spot.measured_us is not None:
            key = (spot.measured_entry or "", spot.call, tuple(spot.via))
            per_chain[key] = max(per_chain.get(key, 0.0), spot.measured_us)
    per_entry: dict[str, float] = {}
    for (entry, _call, _via), us in per_chain.items():
        per_entry[entry] = per_entry.get(entry, 0.0) + us
    if not per_entry:
        return None
    entry, us = max(per_entry.items(), key=lambda item: item[1])
    return Saving(entry=entry, us=us, rss=0, dropped=0)


# -- rewrite -----------------------------------------------------------------------------

class _Replace(cst.CSTTransformer):
    """The frame expressions replaced; in a function that no longer names `inspect`, an
    `import inspect` of its own body dropped (the import codemods may have moved the
    module's import there in this same run, and the audit never lists a function's
    imports, so nothing else would remove it)."""

    def __init__(self, replacements: dict[int, cst.CSTNode], inspect_name: str | None) -> None:
        self.replacements = replacements
        self.inspect_name = inspect_name
        self.touched: list[bool] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.touched.append(False)

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode):
        replaced = self.replacements.get(id(original_node))
        if replaced is not None and self.touched:
            self.touched[-1] = True
        if isinstance(original_node, cst.FunctionDef):
            touched = self.touched.pop()
            if touched and self.inspect_name:
                updated_node = _drop_local_import(updated_node, self.inspect_name)
            if self.touched:
                self.touched[-1] |= touched
        return updated_node if replaced is None else replaced


def _drop_local_import(function: cst.FunctionDef, name: str) -> cst.FunctionDef:
    """`function` without the `import inspect` statements of its own body when nothing in
    it reads `inspect` any more (a comment above one, other than hotstart's own mark, keeps
    it)."""
    body = function.body
    if not isinstance(body, cst.IndentedBlock):
        return function
    imports = [stmt for stmt in body.body if isinstance(stmt, cst.SimpleStatementLine)
               and len(stmt.body) == 1 and isinstance(stmt.body[0], cst.Import)
               and [cst.Module([]).code_for_node(a) for a in stmt.body[0].names] == [name]
               and all(line.comment is None or line.comment.value == MARK
                       for line in stmt.leading_lines)]
    if not imports:
        return function
    kept: list[cst.BaseStatement] = []
    mark: list[cst.EmptyLine] = []
    for stmt in body.body:
        if any(stmt is i for i in imports):
            mark = mark or list(stmt.leading_lines)  # hotstart's mark, for the next import
            continue
        if mark and isinstance(stmt, cst.SimpleStatementLine) and not stmt.leading_lines \
                and isinstance(stmt.body[0], (cst.Import, cst.ImportFrom)):
            stmt = stmt.with_changes(leading_lines=mark)
        mark = []
        kept.append(stmt)
    rest = function.with_changes(body=body.with_changes(body=kept))
    if any(isinstance(n, cst.Name) and n.value == name for n in _walk(rest)):
        return function
    return rest


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    yield node
    for child in node.children:
        yield from _walk(child)


def rewrite(source: str, changes: list[Change]) -> tuple[str, list[tuple[Change, str]]]:
    """`source` (one file) with `changes` made; the changes it could not make, with why."""
    if not changes:
        return source, []
    try:
        scanned = scan(source)
    except (SyntaxError, cst.ParserSyntaxError, RecursionError) as exc:
        why = f"cannot parse the file ({_first_line(exc)})"
        return source, [(change, why) for change in changes]
    sys_name = scanned.names.sys or "sys"
    replacements: dict[int, cst.CSTNode] = {}
    failed: list[tuple[Change, str]] = []
    made = 0
    for change in changes:
        data = change.site.data
        qualname, key = data.get("function", ""), data.get("key", "")
        found = next((f for f in scanned.finder.found.get(qualname, []) if f.key == key), None)
        node = scanned.finder.nodes.get((qualname, key))
        if found is None or node is None or found.depth != data.get("depth") \
                or found.depth is None:
            failed.append((change, "the expression is not where the audit saw it (re-run)"))
            continue
        if scanned.names.sys is None and scanned.names.sys_taken:
            failed.append((change, "the module binds its own `sys`"))
            continue
        frame = cst.parse_expression(f"{sys_name}._getframe({found.depth})")
        if found.binding is not None:
            uses = binding_uses(scanned, qualname, found)
            if isinstance(uses, str):
                failed.append((change, uses))
                continue
            for use in uses:
                replacements[id(use)] = cst.Name(found.binding)
        replacements[id(node)] = frame
        made += 1
    if not made:
        return source, failed
    inspect_name = "inspect" if scanned.names.bound.get("inspect") == "inspect" else None
    code = scanned.unmask(scanned.module.visit(_Replace(replacements, inspect_name)).code)
    if scanned.names.sys is None:
        code = _with_sys(code, changes[0].path)
    return code, failed


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _with_sys(code: str, path: str) -> str:
    from .codemods import _add_top_import

    directory = os.path.dirname(path)
    new = _add_top_import(code.replace("\r\n", "\n"), Statement("import", "sys",
                                                                (("sys", None),)),
                          Sections(directory), line_length(directory))
    if "\r\n" in code and code.count("\r\n") == code.count("\n"):
        new = re.sub(r"(?<!\r)\n", "\r\n", new)
    return new
