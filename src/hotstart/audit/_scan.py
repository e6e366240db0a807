"""Read one module's source with `ast`: its import sites, where each bound name is used, the
calls it makes at import, its side effects, and what its functions call.

Nothing is imported or executed. One `ModuleScan` per file (`_scan_model`): pass 1 here
collects the import sites, pass 2 (`_uses`) where their names are used; test files are read
by `_testfiles`. The project-wide passes (`graph`, `effects`, `classify`) combine them.
"""

from __future__ import annotations

import ast

from ._scan_model import (FUNCTIONS, Annotated, Effect, FunctionInfo, ModuleScan,
                          catches_import_error, is_type_checking, dotted,
                          parse_source, resolve_relative)
from ._testfiles import (import_aliases, attribute_chains, scan_patches,
                         scan_test_attribute_reads)
from ._uses import UseWalker
from .model import BoundName, ImportSite

__all__ = ["ModuleScan", "FunctionInfo", "Annotated", "Effect", "scan_module", "parse_source",
           "resolve_relative", "dotted", "scan_patches", "scan_test_attribute_reads"]


def scan_module(name: str, file: str, path: str, source: str, *, is_package: bool,
                lazy_annotations: bool = False) -> ModuleScan:
    """Scan one module. `lazy_annotations`: the target Python evaluates annotations lazily
    (3.14+), so annotations never run at definition time."""
    tree, lazy_lines = parse_source(source, path)
    scan = ModuleScan(name, file, path, is_package, source.splitlines(), lazy_lines=lazy_lines)
    scan.future_annotations = any(
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
        and any(a.name == "annotations" for a in node.names) for node in tree.body)
    _Collector(scan).block(tree.body, guard=None)
    UseWalker(scan, lazy_annotations or scan.future_annotations).run(tree)
    if scan.main_blocks:  # `if __name__ == "__main__":` runs when the module is run, not imported
        scan.effects = [e for e in scan.effects
                        if not any(first <= e.line <= last for first, last in scan.main_blocks)]
    scan.attribute_reads = _attribute_reads(source, scan)
    return scan


def _attribute_reads(source: str, scan: ModuleScan) -> list[tuple[str, int]]:
    """`("pkg.mod.Name", line)` for each attribute chain read through an imported name,
    module-level or function-local imports alike. Read with regular expressions, as test
    files are (an AST walk of every module doubled pandas' audit): a chain in a string or a
    comment, or a local name that only looks like an import, adds a pin, never a move."""
    aliases = import_aliases(source, scan)
    aliases.update(scan.bindings)
    return attribute_chains(source, aliases, scan.attribute_writes)


# -- pass 1: module-level import sites and bindings ----------------------------------------

class _Collector:
    def __init__(self, scan: ModuleScan) -> None:
        self.scan = scan

    def block(self, body: list[ast.stmt], guard: str | None) -> None:
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                self.site(node, guard)
            elif isinstance(node, ast.If):
                checking = is_type_checking(node.test)
                self.block(node.body, "TYPE_CHECKING" if checking else (guard or "if"))
                self.block(node.orelse, guard or "if")
            elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
                catches = any(catches_import_error(h) for h in node.handlers)
                self.block(node.body, "try" if catches else guard)
                for handler in node.handlers:
                    self.block(handler.body, "try" if catches else guard)
                self.block(node.orelse, guard)
                self.block(node.finalbody, guard)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                # `with suppress(ImportError):` is a try/except ImportError
                suppress = any(isinstance(item.context_expr, ast.Call)
                               and (dotted(item.context_expr.func) or "").endswith("suppress")
                               and catches_import_error(ast.ExceptHandler(
                                   type=ast.Tuple(elts=list(item.context_expr.args))))
                               for item in node.items)
                self.block(node.body, "try" if suppress else guard)
            elif isinstance(node, (*FUNCTIONS, ast.ClassDef)):
                self.scan.defined.add(node.name)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call) and \
                    isinstance(node.value.func, ast.Attribute) and \
                    isinstance(node.value.func.value, ast.Name) and \
                    node.value.func.value.id == "__all__" and node.value.args:
                # `__all__.append("x")`, `.extend([...])`, `.insert(0, "x")`
                call, method = node.value, node.value.func.attr
                if method == "extend":
                    self.all_names(call.args[0])
                elif method in ("append", "insert"):
                    self.all_names(ast.List(elts=[call.args[-1]], ctx=ast.Load()))
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            self.scan.defined.add(sub.id)
                            if sub.id == "__all__":
                                self.all_names(node.value)

    def all_names(self, value: ast.AST | None) -> None:
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            names = self.scan.all_names if self.scan.all_names is not None else set()
            names.update(e.value for e in value.elts
                         if isinstance(e, ast.Constant) and isinstance(e.value, str))
            self.scan.all_names = names
        elif isinstance(value, ast.BinOp):
            self.all_names(value.left)
            self.all_names(value.right)
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                value.func.id in ("list", "tuple", "set", "sorted") and value.args:
            self.all_names(value.args[0])  # `__all__ = list((...))`

    def site(self, node: ast.Import | ast.ImportFrom, guard: str | None) -> None:
        scan = self.scan
        if node.lineno in scan.lazy_lines:
            guard = "lazy"
        statement = " ".join(line.strip() for line in
                             scan.lines[node.lineno - 1:(node.end_lineno or node.lineno)])
        noqa = "# noqa" in statement
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                target = alias.name if alias.asname else alias.name.split(".")[0]
                scan.bindings[bound] = target
                scan.sites.append(ImportSite(
                    file=scan.file, module=scan.name, line=node.lineno,
                    end_line=node.end_lineno or node.lineno, statement=statement,
                    imported=alias.name, kind="import", guard=guard,
                    names=[BoundName(bound, target,
                                     explicit_reexport=alias.asname == alias.name)],
                    package_init=scan.is_package, noqa=noqa))
            return
        if node.module == "__future__":
            return
        base = resolve_relative(scan.name, scan.is_package, node.level, node.module)
        names = []
        for alias in node.names:
            if alias.name == "*":
                scan.star_imports.append((base, node.lineno))
                continue
            bound = alias.asname or alias.name
            target = f"{base}.{alias.name}"
            scan.bindings[bound] = target
            names.append(BoundName(bound, target, explicit_reexport=alias.asname == alias.name))
            scan.from_imports.append((base, alias.name, node.lineno))
        if names:
            scan.sites.append(ImportSite(
                file=scan.file, module=scan.name, line=node.lineno,
                end_line=node.end_lineno or node.lineno, statement=statement, imported=base,
                kind="from", level=node.level, guard=guard, names=names,
                package_init=scan.is_package, noqa=noqa))
