"""Generated import statements laid out as the project's linters expect.

isort and ruff's `I001` check every import block, also the ones inside functions and under
`if TYPE_CHECKING:`: sections (future, standard library, third party, first party, relative)
apart by one blank line, `import x` before `from x import y` within a section, modules
sorted case-insensitively, one `from` statement per module with its names ordered by type
(CONSTANTS, Classes, functions), wrapped in parentheses when longer than the line length.
These are isort's and ruff's defaults; the line length is the project's own (`line_length`).
"""

from __future__ import annotations

import ast
import configparser
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Statement", "parse_statements", "format_block", "line_length", "sorted_run",
           "Sections"]

#: When no configuration says otherwise: ruff's and black's default.
DEFAULT_LINE_LENGTH = 88
FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)


@dataclass(frozen=True, slots=True)
class Statement:
    """One import statement: `import module [as alias]` (one name) or `from module import
    names` (`level` dots)."""

    kind: str                                  # "import" or "from"
    module: str
    names: tuple[tuple[str, str | None], ...]  # (name, asname)
    level: int = 0

    def text(self, indent: str = "", limit: int = 10**6) -> str:
        if self.kind == "import":
            name, asname = self.names[0]
            return f"{indent}import {name}" + (f" as {asname}" if asname else "")
        members = [n + (f" as {a}" if a else "") for n, a in self.names]
        head = f"{indent}from {'.' * self.level}{self.module} import "
        line = head + ", ".join(members)
        if len(line) <= limit:
            return line
        return head + "(\n" + "".join(f"{indent}    {m},\n" for m in members) + f"{indent})"


class Sections:
    """Which isort section an imported module falls in, for one project root (first party:
    a package or module at the root or under `src/`, as ruff's default `src` finds them)."""

    def __init__(self, root: str | None) -> None:
        self.root = root
        self._seen: dict[str, bool] = {}

    def __call__(self, statement: Statement) -> int:
        from ..audit.graph import is_stdlib

        if statement.level:
            return LOCAL
        top = statement.module.split(".")[0]
        if top == "__future__":
            return FUTURE
        if self._first_party(top):
            return FIRST_PARTY
        return STDLIB if is_stdlib(statement.module) else THIRD_PARTY

    def _first_party(self, top: str) -> bool:
        if top not in self._seen:
            self._seen[top] = self.root is not None and any(
                os.path.isdir(os.path.join(base, top))
                or os.path.isfile(os.path.join(base, top + ".py"))
                for base in (self.root, os.path.join(self.root, "src")))
        return self._seen[top]


def parse_statements(text: str) -> list[Statement]:
    """The statements of `text` (import statements only), one per `import` name."""
    out: list[Statement] = []
    for node in ast.parse(text).body:
        if isinstance(node, ast.Import):
            out.extend(Statement("import", a.name, ((a.name, a.asname),)) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append(Statement("from", node.module or "",
                                 tuple((a.name, a.asname) for a in node.names), node.level))
    return out


def _member_key(name: str) -> tuple:
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


def _key(statement: Statement, section: Callable[[Statement], int]) -> tuple:
    first = statement.names[0]
    return (section(statement), statement.kind == "from", -statement.level,
            statement.module.lower(), statement.module, _member_key(first[0]), first[1] or "")


def format_block(statements: list[Statement], section: Callable[[Statement], int], *,
                 indent: str = "", limit: int = DEFAULT_LINE_LENGTH) -> list[str]:
    """`statements` merged, sorted and laid out as one import block: a list of lines (a
    statement may span several), with "" between sections."""
    merged: dict[tuple, dict[tuple[str, str | None], None]] = {}
    for statement in statements:
        if statement.kind == "import":
            merged.setdefault(("import", statement.module, statement.names, 0), {})
            continue
        for name in statement.names:
            # `from m import a as b` stays a statement of its own (isort's default)
            slot = ("from", statement.module, name if name[1] else None, statement.level)
            merged.setdefault(slot, {})[name] = None
    built = []
    for (kind, module, names, level), members in merged.items():
        if kind == "import":
            built.append(Statement("import", module, names))
        else:
            ordered = tuple(sorted(members, key=lambda n: _member_key(n[0])))
            built.append(Statement("from", module, ordered, level))
    built.sort(key=lambda s: _key(s, section))
    lines: list[str] = []
    previous = None
    for statement in built:
        current = section(statement)
        if previous is not None and current != previous:
            lines.append("")
        lines.append(statement.text(indent, limit))
        previous = current
    return lines


def sorted_run(statements: list[Statement], section: Callable[[Statement], int]) -> bool:
    """Whether `statements` (a module's import block, in order) are already in the order
    `format_block` writes: only then is a generated import inserted among them."""
    keys = [_key(s, section) for s in statements]
    return keys == sorted(keys)


def insertion_key(statement: Statement, section: Callable[[Statement], int]) -> tuple:
    return _key(statement, section)


# -- the project's line length ---------------------------------------------------------------

_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "tox.ini", ".flake8",
            ".isort.cfg")


@functools.lru_cache(maxsize=64)
def line_length(directory: str) -> int:
    """The line length the project containing `directory` is linted with: ruff's, black's,
    isort's or flake8's setting in the nearest configuration files, else 88."""
    current = os.path.abspath(directory)
    while True:
        found = [name for name in _CONFIGS if os.path.isfile(os.path.join(current, name))]
        for name in found:
            value = _configured(os.path.join(current, name))
            if value is not None:
                return value
        if found or os.path.isdir(os.path.join(current, ".git")):
            return DEFAULT_LINE_LENGTH
        parent = os.path.dirname(current)
        if parent == current:
            return DEFAULT_LINE_LENGTH
        current = parent


def _configured(path: str) -> int | None:
    try:
        if path.endswith(".toml"):
            import tomllib

            with open(path, "rb") as handle:
                data = tomllib.load(handle)
            if not path.endswith("pyproject.toml"):
                data = {"tool": {"ruff": data}}
            tool = data.get("tool", {})
            for table, key in (("ruff", "line-length"), ("black", "line-length"),
                               ("isort", "line_length"), ("flake8", "max-line-length")):
                value = tool.get(table, {}).get(key)
                if isinstance(value, int) and value > 0:
                    return value
            return None
        parser = configparser.ConfigParser()
        parser.read(path, encoding="utf-8")
        for section, key in (("flake8", "max-line-length"), ("isort", "line_length"),
                             ("pycodestyle", "max-line-length"), ("tool:isort", "line_length")):
            if parser.has_option(section, key):
                value = parser.get(section, key).strip()
                if re.fullmatch(r"\d+", value):
                    return int(value)
    except (OSError, ValueError, configparser.Error):
        return None
    return None
