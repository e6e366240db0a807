"""The static import graph: which modules each module imports at module level, and what an
entrypoint reaches through it, with the chain ("cli -> util (package __init__) -> frames ->
pandas"). Importing `a.b.c` runs `a/__init__` and `a/b/__init__` first; the graph says so."""

from __future__ import annotations

import os
import shlex
import sys
from collections import deque
from dataclasses import dataclass

from ._scan import ModuleScan, parse_source
from .model import Link, Reach

__all__ = ["StaticGraph", "EntrySpec", "parse_entry"]

_STDLIB = frozenset(sys.stdlib_module_names)


def parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def is_stdlib(name: str) -> bool:
    return name.split(".")[0] in _STDLIB


@dataclass(slots=True)
class EntrySpec:
    """An entrypoint as the user wrote it, read into static roots and a runnable target."""

    name: str
    roots: list[tuple[str, str | None, int | None]]   # (module, file, line) it imports first
    kind: str            # "module", "code", "script", "command"
    value: str
    args: tuple[str, ...]
    #: For a command: the Python script it runs (a console script), when known.
    script: str | None = None


def parse_entry(text: str, scans: dict[str, ModuleScan], base: str | None = None,
                python: str | None = None) -> EntrySpec:
    """`-m pkg.mod [ARGS]`, `-c CODE`, `SCRIPT [ARGS]`, `-- COMMAND [ARGS]` or a module name.
    A script's path is relative to `base` (the audited project). A command that is a Python
    console script (or `python ...`) is read for its imports; `python`: the interpreter whose
    `bin/` is searched first."""
    from ..errors import BadInput

    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise BadInput(f"--entry {text!r}: {exc}") from None
    if not words:
        raise BadInput("--entry needs a target: -m MODULE [ARGS], -c CODE, SCRIPT or a module")
    head = words[0]
    if head == "-m" and len(words) >= 2:
        module = words[1]
        roots = [(m, None, None) for m in parents(module)]
        scan = scans.get(module)
        if scan is not None and scan.is_package and f"{module}.__main__" in scans:
            roots.append((f"{module}.__main__", None, None))
        return EntrySpec(text, roots, "module", module, tuple(words[2:]))
    if head == "-c" and len(words) >= 2:
        return EntrySpec(text, _code_roots(words[1], "<-c>"), "code", words[1],
                         tuple(words[2:]))
    if head == "--" and len(words) >= 2:
        return _command_entry(text, words[1:], scans, base, python)
    if head.endswith(".py"):
        path = entry_script(head, base)
        source = _read_script(text, path)
        return EntrySpec(text, _code_roots(source, path), "script", path, tuple(words[1:]))
    if len(words) == 1 and all(p.isidentifier() for p in head.split(".")):
        return EntrySpec(text, [(m, None, None) for m in parents(head)], "code",
                         f"import {head}", ())
    raise BadInput(f"--entry {text!r}: expected -m MODULE [ARGS], -c CODE, SCRIPT.py [ARGS], "
                   f"-- COMMAND [ARGS] or a module name")


def entry_script(head: str, base: str | None) -> str:
    """The path of an entry script: relative to the audited project `base`, else to the
    current directory (an absolute path stays)."""
    if base is not None and not os.path.isabs(head):
        candidate = os.path.normpath(os.path.join(base, head))
        if os.path.lexists(candidate) or not os.path.lexists(head):
            return candidate
    return os.path.abspath(head) if base is not None else head


def _read_script(text: str, path: str) -> str:
    from ..errors import BadInput
    from ._project import decode_source, read_source

    try:
        return decode_source(read_source(path))
    except (SyntaxError, UnicodeDecodeError) as exc:
        raise BadInput(f"--entry {text!r}: cannot decode {path}: {exc}; fix the entry or pass "
                       f"--static") from None
    except OSError as exc:
        raise BadInput(f"--entry {text!r}: cannot read {path}: "
                       f"{exc.strerror or 'not a regular file'}; fix the entry or pass "
                       f"--static") from None
    except UnicodeDecodeError as exc:
        raise BadInput(f"--entry {text!r}: cannot read {path}: {exc}") from None


def _command_entry(text: str, words: list[str], scans: dict[str, ModuleScan],
                   base: str | None, python: str | None) -> EntrySpec:
    """`-- COMMAND ARGS`: `python ...` is read as the entry it runs; a console script (a
    Python file on PATH, or an installed entry point) is read for what it imports."""
    import shutil

    from ..errors import BadInput

    command, args = words[0], tuple(words[1:])
    if os.path.basename(command).startswith("python") and len(words) >= 2:
        inner = parse_entry(shlex.join(words[1:]), scans, base, python)
        script = inner.script or (inner.value if inner.kind == "script" else None)
        return EntrySpec(text, inner.roots, "command", command, args, script)
    search = os.pathsep.join(p for p in (os.path.dirname(python) if python else "",
                                         os.path.dirname(sys.executable),
                                         os.environ.get("PATH", "")) if p)
    found = shutil.which(command, path=search) if os.sep not in command else \
        entry_script(command, base)
    if found is None or not os.path.exists(found):
        raise BadInput(f"--entry {text!r}: {command!r} is not on PATH (nor next to the Python "
                       f"that runs the entries); install it or pass --static")
    try:
        from ._project import read_source

        head = read_source(found)[:4096]
    except OSError:
        head = b""
    if not (head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]):
        return EntrySpec(text, [], "command", found, args)  # not Python itself: measure only
    source = _read_script(text, found)
    return EntrySpec(text, _code_roots(source, found), "command", found, args, found)


def _code_roots(source: str, filename: str) -> list[tuple[str, str | None, int | None]]:
    import ast

    from ..errors import BadInput

    try:
        tree, _lazy = parse_source(source, filename)
    except SyntaxError as exc:
        raise BadInput(f"--entry: {filename} line {exc.lineno}: {exc.msg}") from None
    roots = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                roots.extend((m, filename, node.lineno) for m in parents(alias.name))
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.extend((m, filename, node.lineno) for m in parents(node.module))
            roots.extend((f"{node.module}.{a.name}", filename, node.lineno) for a in node.names)
    return roots


class StaticGraph:
    """Module-level import edges of the project's modules (externals are leaves)."""

    def __init__(self, scans: dict[str, ModuleScan]) -> None:
        self.scans = scans
        #: module -> [(imported module, line, note)]
        self.edges: dict[str, list[tuple[str, int, str]]] = {}
        for name, scan in scans.items():
            out: list[tuple[str, int, str]] = []
            for site in scan.sites:
                if site.guard in ("TYPE_CHECKING", "lazy"):
                    continue
                for target in self._targets(site):
                    out.append((target, site.line, ""))
            self.edges[name] = out

    def _targets(self, site) -> list[str]:
        targets = parents(site.imported)
        if site.kind == "from":
            targets += [b.target for b in site.names if b.target in self.scans]
        return targets

    def reach(self, roots: list[tuple[str, str | None, int | None]]
              ) -> tuple[dict[str, tuple[str | None, int | None]], list[str]]:
        """BFS from `roots`: {module: (who imported it first, line)}, in visiting order."""
        first: dict[str, tuple[str | None, int | None]] = {}
        order: list[str] = []
        queue: deque[tuple[str, str | None, int | None]] = deque()
        for module, _file, line in roots:
            queue.append((module, None, line))
        while queue:
            module, via, line = queue.popleft()
            if module in first:
                continue
            # A module's parent packages are imported before it.
            for parent in parents(module)[:-1]:
                if parent not in first and parent in self.scans:
                    first[parent] = (via, line)
                    order.append(parent)
                    for target, target_line, _note in self.edges.get(parent, ()):
                        queue.append((target, parent, target_line))
            first[module] = (via, line)
            order.append(module)
            for target, target_line, _note in self.edges.get(module, ()):
                queue.append((target, module, target_line))
        return first, order

    def chain(self, first: dict[str, tuple[str | None, int | None]], module: str) -> list[Link]:
        """The first chain from a root to `module`; each link carries the line where it
        imports the next one."""
        path: list[str] = []
        current: str | None = module
        while current is not None and current not in path:
            path.append(current)
            current = first.get(current, (None, None))[0]
        path.reverse()
        links = []
        for index, name in enumerate(path):
            scan = self.scans.get(name)
            line = first[path[index + 1]][1] if index + 1 < len(path) else None
            note = "package __init__" if scan is not None and scan.is_package else ""
            links.append(Link(name, scan.file if scan else None, line, note))
        return links

    def external_reach(self, roots) -> tuple[list[Reach], int]:
        """Libraries outside the project (standard library excluded) the roots reach, each
        with its first chain; and how many project modules they reach."""
        first, order = self.reach(roots)
        reach: list[Reach] = []
        seen: set[str] = set()
        for module in order:
            if module in self.scans:
                continue
            top = module.split(".")[0]
            if top in seen or is_stdlib(top) or top == "__future__":
                continue
            if any(m == top or m.startswith(top + ".") for m in self.scans):
                continue  # part of the project (an unscanned file), not a library
            seen.add(top)
            reach.append(Reach(top, self.chain(first, module)))
        project = sum(1 for m in order if m in self.scans)
        return reach, project
