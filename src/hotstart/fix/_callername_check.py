"""`--verify`'s check of the `hot-calls` codemod: the names a caller-name helper gives.

In a fresh interpreter of the project's environment (its `python` words, in the project's
directory), every module that calls a rewritten helper at import is imported from its import
root, and for each module-level (or class-body) name bound by such a call the value is
recorded: its `.name` when it has a string one (a logger), else its `repr` when short and
free of addresses, else its type. Taken before the rewrite and after each trial, the two
must be equal: a logger named after the wrong module is a failure that lists each
difference (`jobrunner.cli.log: name 'jobrunner.cli' -> name 'jobrunner'`).
"""

from __future__ import annotations

import ast

from ._typehints import compare_checks, import_root, run_check
from .plan import Change
from .verify import CommandResult

__all__ = ["CallerNameCheck", "bound_targets"]

#: Run by `run_check` after its prelude (`request`, `load`, `ADDRESS`, `answer`).
_CHILD = r'''
def shown(value):
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return "name " + repr(name)
    try:
        text = repr(value)
    except Exception as exc:
        return f"<{type(value).__qualname__}: repr raised {type(exc).__name__}>"
    if len(text) > 200 or ADDRESS.search(text):
        return f"<{type(value).__qualname__}>"
    return text

result = {}
for name, (path, targets) in request["modules"].items():
    out = result[name] = {}
    module = load(name, path)
    if isinstance(module, str):
        out["<import>"] = module
        continue
    for target in targets:
        value = module
        try:
            for part in target.split("."):
                value = getattr(value, part)
        except AttributeError:
            out[target] = "!not bound after import"
            continue
        out[target] = shown(value)
answer(result)
'''


def bound_targets(source: str, lines: list[int]) -> list[str]:
    """The names the statements at `lines` bind at module level or in a class body
    (`log`, `Worker.log`), for calls a hot spot saw at those lines; a call whose result is
    not bound to a name gives none."""
    tree = ast.parse(source)
    found: list[str] = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            end = node.end_lineno or node.lineno
            if not any(node.lineno <= line <= end for line in lines):
                continue
            if isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names = target.elts if isinstance(target, (ast.Tuple, ast.List)) \
                        else [target]
                    found.extend(prefix + n.id for n in names if isinstance(n, ast.Name))
            elif isinstance(node, (ast.If, ast.Try, ast.With)) or \
                    type(node).__name__ == "TryStar":
                for part in ("body", "orelse", "finalbody", "handlers"):
                    for item in getattr(node, part, []):
                        visit(item.body if isinstance(item, ast.ExceptHandler) else [item],
                              prefix)

    visit(tree.body, "")
    return list(dict.fromkeys(found))


class CallerNameCheck:
    """The names that the module-level calls of the changed helpers give, as the project's
    interpreter sees them."""

    def __init__(self, project: str, changes: list[Change], python: list[str],
                 timeout: float | None) -> None:
        self.project = project
        self.prefix = list(python)
        self.timeout = timeout
        calls: dict[str, tuple[str, list[int]]] = {}
        for change in changes:
            for caller in change.site.data.get("callers", []):
                path, lines = calls.setdefault(caller["module"], (caller["path"], []))
                if caller["line"] not in lines:
                    lines.append(caller["line"])
        self.modules: dict[str, tuple[str, list[str]]] = {}
        #: Calls whose result no name keeps: nothing to compare for them.
        self.unbound: list[str] = []
        for module, (path, lines) in calls.items():
            targets = self._targets(path, lines)
            if not targets:
                self.unbound.append(module)
            self.modules[module] = (path, targets)
        self.roots = list(dict.fromkeys(import_root(m, p) for m, (p, _t) in
                                        self.modules.items() if p))

    @staticmethod
    def _targets(path: str, lines: list[int]) -> list[str]:
        from ..audit._project import decode_source, read_source

        try:
            return bound_targets(decode_source(read_source(path)), lines)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            return []

    def take(self) -> dict[str, dict[str, str]] | str:
        """The value of each bound name, per module, or why they could not be taken."""
        return run_check(self.prefix, _CHILD, {"roots": self.roots, "modules": self.modules},
                         self.timeout, cwd=self.project or None)  # type: ignore[return-value]

    def compare(self, before: dict, after: dict) -> CommandResult:
        """A failing result listing every name that changed, or a passing one."""

        def differences(module: str, values: dict, now: dict) -> list[str]:
            return [f"{module}.{target}: {value} -> {now.get(target, 'missing')}"
                    for target, value in values.items() if now.get(target) != value]

        return compare_checks(before, after, differences,
                              "the names that caller-name helpers give changed")
