"""`--verify` checks `typing.get_type_hints` itself: test suites rarely call it, and a rewrite
that moves an import under `if TYPE_CHECKING:` can break it (pydantic, typer, dataclass
tooling and `singledispatch` call it at run time).

In a fresh interpreter of the project's environment (the one the verify command runs: its
`python`, or the interpreter of its `pytest` script, with its `VAR=value` prefix; else this
one), in the current directory, each changed module is imported from its import root and the
hints of the module and of every class, function and method defined in it are taken, with
`include_extras=True`, as the `repr` of the resolved objects (addresses masked; unions
spelled one way, since a typing-only alias turns `X | None` into the equal
`typing.Optional[X]`), or the exception raised. Before the rewrite and after it, the two must be equal: a changed hint, a
hint that now raises, or a module that no longer imports is a failure of the run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Callable

from .verify import CommandResult, run_command

__all__ = ["HintCheck", "compare_checks", "compare_hints", "interpreter_for", "run_check"]

#: Entry of a module that cannot be checked (it did not import before the rewrite).
IMPORT = "<import>"

#: Run before every check script (`run_check`): `request` (its JSON), the project's import
#: roots first on sys.path, `ADDRESS` (object addresses, which differ from run to run),
#: `load(name, path)` (the module imported from that file, or "!why not") and `answer(result)`.
CHILD_PRELUDE = r'''
import importlib, json, os, re, sys
with open(sys.argv[1], encoding="utf-8") as handle:
    request = json.load(handle)
sys.path[:0] = request["roots"]
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

def load(name, path):
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        return ADDRESS.sub(" at 0x...", f"!{type(exc).__name__}: {exc}")
    where = getattr(module, "__file__", None) or "?"
    if os.path.realpath(where) != os.path.realpath(path):
        return f"!imported from {where}, not from {path}"
    return module

def answer(result):
    with open(sys.argv[2], "w", encoding="utf-8") as handle:
        json.dump(result, handle)
'''

_CHILD = r'''
import inspect, typing

def text(value):
    return ADDRESS.sub(" at 0x...", value)

UNIONS = (typing.Union, getattr(__import__("types"), "UnionType", typing.Union))

def spell(hint):
    """The hint's text, one spelling per union: a typing-only alias makes `X | None` resolve
    to typing.Optional[X] (== the original, but a different object)."""
    if isinstance(hint, list):  # Callable's parameter list
        return "[" + ", ".join(spell(h) for h in hint) + "]"
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in UNIONS:
        return "Union[" + ", ".join(spell(a) for a in args) + "]"
    if origin is not None and args:
        return f"{origin!r}[" + ", ".join(spell(a) for a in args) + "]"
    return repr(hint)

def hints(obj):
    try:
        found = typing.get_type_hints(obj, include_extras=True)
    except Exception as exc:
        return text(f"!{type(exc).__name__}: {exc}")
    out = {}
    for name, value in found.items():
        try:
            out[name] = text(spell(value) if has_union(value) else repr(value))
        except Exception:
            out[name] = text(repr(value))
    return out

def has_union(hint):
    if isinstance(hint, list):
        return any(has_union(h) for h in hint)
    return typing.get_origin(hint) in UNIONS or any(has_union(a) for a in typing.get_args(hint))

def functions(value):
    if isinstance(value, (staticmethod, classmethod)):
        value = value.__func__
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if inspect.isfunction(f)]
    return [value] if inspect.isfunction(value) else []

def walk(name, namespace, out, seen):
    for value in list(namespace.values()):
        if isinstance(value, type):
            if value.__module__ == name and id(value) not in seen:
                seen.add(id(value))
                out[value.__qualname__] = hints(value)
                walk(name, dict(vars(value)), out, seen)
            continue
        for function in functions(value):
            if function.__module__ == name and id(function) not in seen:
                seen.add(id(function))
                out[function.__qualname__] = hints(function)

result = {}
for name, path in request["modules"].items():
    out = result[name] = {}
    module = load(name, path)
    if isinstance(module, str):
        out["<import>"] = module
        continue
    out["<module>"] = hints(module)
    walk(name, dict(vars(module)), out, set())
answer(result)
'''

_PYTHON = re.compile(r"python(\d+(\.\d+)*)?t?w?(\.exe)?")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")


def interpreter_for(command: str) -> list[str]:
    """The words that start the project's interpreter, as `command` starts it: `VAR=value ...
    python` or the interpreter of a `pytest` script (`uv run pytest` -> `uv run python`);
    this interpreter when neither shows."""
    try:
        words = shlex.split(command)
    except ValueError:
        return [sys.executable]
    segment: list[str] = []
    for word in words + [";"]:
        if word not in ("&&", "||", ";", "|"):
            segment.append(word)
            continue
        for at, item in enumerate(segment):
            base = os.path.basename(item)
            if at and segment[at - 1] in ("-m", "-c"):
                break
            if _PYTHON.fullmatch(base):
                return segment[:at + 1]
            if base in ("pytest", "py.test"):
                python = _shebang_python(item) if at == _command_word(segment) else None
                return segment[:at] + [python or "python"]
        segment = []
    return [sys.executable]


def _quote(word: str) -> str:
    """`word` for the shell, an assignment `NAME=value` still one."""
    if _ASSIGNMENT.fullmatch(word):
        name, value = word.split("=", 1)
        return f"{name}={shlex.quote(value)}"
    return shlex.quote(word)


def _command_word(segment: list[str]) -> int:
    at = 0
    while at < len(segment) and (_ASSIGNMENT.fullmatch(segment[at]) or segment[at] == "env"):
        at += 1
    return at


def _shebang_python(script: str) -> str | None:
    path = shutil.which(script)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            head = handle.read(512).decode("utf-8", "replace")
    except OSError:
        return None
    first = head.splitlines()[0] if head else ""
    if first.startswith("#!") and "python" in first:
        words = first[2:].split()
        return next((w for w in words if _PYTHON.fullmatch(os.path.basename(w))), None)
    found = re.search(r"""exec' "([^"]+)" """, head)  # pip's launcher for long paths
    return found.group(1) if found else None


def import_root(module: str, path: str) -> str:
    """The directory `module` is imported from, given its file."""
    root = os.path.dirname(os.path.abspath(path))
    levels = module.count(".") + (1 if os.path.basename(path) == "__init__.py" else 0)
    for _ in range(levels):
        root = os.path.dirname(root)
    return root


class HintCheck:
    """`get_type_hints` of `modules` ({name: file}) as the project's interpreter sees them."""

    def __init__(self, command: str, modules: dict[str, str], timeout: float | None) -> None:
        self.prefix = interpreter_for(command)
        self.modules = modules
        self.timeout = timeout
        self.roots = list(dict.fromkeys(import_root(m, p) for m, p in modules.items()))

    def take(self) -> dict[str, dict[str, object]] | str:
        """The hints, or why they could not be taken at all."""
        return run_check(self.prefix, _CHILD, {"roots": self.roots, "modules": self.modules},
                         self.timeout)


def run_check(prefix: list[str], script: str, request: object, timeout: float | None,
              cwd: str | None = None) -> object | str:
    """Run `script` (after `CHILD_PRELUDE`, with `request` as its JSON) in the interpreter
    `prefix` starts (`VAR=value ... python`), and return what it gave `answer()`, or one line
    of why it gave nothing. The `--verify` checks of the codemods share it."""
    with tempfile.TemporaryDirectory(prefix="hotstart-check-") as directory:
        path = os.path.join(directory, "check.py")
        asked = os.path.join(directory, "request.json")
        answer = os.path.join(directory, "answer.json")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(CHILD_PRELUDE + script)
        with open(asked, "w", encoding="utf-8") as handle:
            json.dump(request, handle)
        words = [*prefix, "-B", path, asked, answer]
        command = " ".join(_quote(w) if at < len(prefix) - 1 else shlex.quote(w)
                           for at, w in enumerate(words))
        # PYTHONHASHSEED: the same set orders in every run
        done = run_command(command, cwd=cwd, timeout=timeout,
                           env={**os.environ, "PYTHONHASHSEED": "0"})
        try:
            with open(answer, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            tail = done.tail(3).strip() or f"exit {done.code}"
            return f"{shlex.join(prefix)} did not run the check ({tail})"


def compare_hints(before: dict, after: dict) -> CommandResult:
    """A failing result listing every difference, or a passing one."""

    def differences(module: str, entries: dict, now: dict) -> list[str]:
        lines = []
        for name, hints in entries.items():
            shown = module if name == "<module>" else f"{module}.{name}"
            if name not in now:
                lines.append(f"{shown}: no longer defined")
            elif now[name] != hints:
                lines.append(f"{shown}: {_short(hints)} -> {_short(now[name])}")
        for name, hints in now.items():
            if name not in entries and isinstance(hints, str):
                lines.append(f"{module}.{name}: new error {_short(hints)}")
        return lines

    return compare_checks(before, after, differences, "typing.get_type_hints changed")


def compare_checks(before: dict, after: dict,
                   differences: Callable[[str, dict, dict], list[str]],
                   title: str) -> CommandResult:
    """Two snapshots of a `run_check` script ({module: {entry: value}}, `IMPORT` when the
    module did not import) compared: a failing result titled `title` listing each difference
    (`differences(module, before, after)` for a module that imports in both), or a passing
    one. A module that did not import before is not checkable and is left out."""
    lines = []
    for module, entries in before.items():
        now = after.get(module, {})
        if IMPORT in entries:
            continue
        if IMPORT in now:
            lines.append(f"{module}: no longer imports: {now[IMPORT][1:]}")
            continue
        lines.extend(differences(module, entries, now))
    if not lines:
        return CommandResult(True, 0, "")
    return CommandResult(False, None, f"{title} (checked by hotstart --verify):\n"
                         + "\n".join(f"  {line}" for line in lines))


def unchecked(before: dict) -> list[str]:
    """`module (why)` for each module whose hints could not be taken before the rewrite."""
    return [f"{module} ({entries[IMPORT][1:]})" for module, entries in before.items()
            if IMPORT in entries]


def _short(hints: object, width: int = 160) -> str:
    text = hints[1:] if isinstance(hints, str) else json.dumps(hints)
    if isinstance(hints, str):
        text = f"raises {text}"
    return text if len(text) <= width else text[: width - 3] + "..."
