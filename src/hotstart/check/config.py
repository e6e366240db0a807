"""`[tool.hotstart]`: the entries a project guards, and what each must hold.

Read from ``pyproject.toml`` (the ``[tool.hotstart]`` table) or, when the nearest
``pyproject.toml`` has none, from ``hotstart.toml`` beside it (the same keys at its top
level). Every key is checked: an unknown key or a wrong type is one `ConfigError` naming the
file, the table and the key.

    [tool.hotstart]
    pythonpath = ["src"]                 # prepended to PYTHONPATH for every run
    lock-file = "hotstart.lock"          # the module-set lock (hotstart lock writes it)

    [tool.hotstart.entries]
    import = "-c 'import pkg'"           # a name and the command it runs, or a table:

    [tool.hotstart.entries.cli-help]
    run = "-m pkg.cli --help"
    forbid = ["torch", "pandas"]         # globs of module names: never loaded on this entry
    lock = true                          # its module set must match the lock ("packages":
                                         # only top-level names)
    budget-ms = 150                      # start-up above the bare interpreter, judged
    max-modules = 300                    # modules the entry imports
    max-rss-mb = 60                      # peak RSS above the bare interpreter, judged
    max-regression = "5%"                # against --baseline: start-up and RSS growth
    python-versions = ">=3.11,<3.15"     # where this entry is checked
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import BadInput

__all__ = ["CheckConfig", "ConfigError", "EntryConfig", "find_config", "load_config",
           "is_entry_name", "is_module_glob", "project_file", "resolve_entry"]

#: Directories under a project's root that hold no file of the project: virtual
#: environments and installed packages, build output, and hidden directories.
NOT_PROJECT_DIRS = frozenset({"site-packages", "dist-packages", "node_modules", "build",
                              "dist", "venv", "__pypackages__", "__pycache__"})


def project_file(path: str | os.PathLike[str], root: Path) -> str | None:
    """`path` relative to `root` (POSIX) when it is a file of the project there: under
    `root`, and not inside a virtual environment, installed packages, build output or a
    hidden directory (`.venv`, `.tox`); None otherwise."""
    try:
        relative = Path(path).resolve().relative_to(root)
    except (ValueError, OSError, RuntimeError):
        return None
    if any(part in NOT_PROJECT_DIRS or part.startswith(".") for part in relative.parts[:-1]):
        return None
    return relative.as_posix()

CONFIG_FILES = ("pyproject.toml", "hotstart.toml")
_ENTRY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_MODULE_GLOB = re.compile(r"[A-Za-z0-9_.*?\[\]!-]+")


def is_module_glob(text: object) -> bool:
    """Whether `text` can be a `forbid` rule: a module name or a glob of names."""
    return isinstance(text, str) and _MODULE_GLOB.fullmatch(text) is not None


def is_entry_name(text: object) -> bool:
    """Whether `text` reads as an entry's name (`cli-help`), not a command (`-m pkg`, a
    script `run.py`, several words)."""
    return isinstance(text, str) and _ENTRY_NAME.fullmatch(text) is not None \
        and not text.endswith(".py")
DEFAULT_LOCK_FILE = "hotstart.lock"


class ConfigError(BadInput):
    """The configuration cannot be used: ``pyproject.toml: [tool.hotstart.entries.cli]
    unknown key 'budgetms' (known: ...)``."""


@dataclass(frozen=True)
class VersionRange:
    """`python-versions`: clauses like ``>=3.11`` and ``!=3.13``, or a list of minors."""

    text: str
    clauses: tuple[tuple[str, tuple[int, int]], ...] = ()
    exact: tuple[tuple[int, int], ...] = ()

    def allows(self, version: tuple[int, int]) -> bool:
        if self.exact and version not in self.exact:
            return False
        for op, bound in self.clauses:
            if not _COMPARE[op](version, bound):
                return False
        return True


_COMPARE = {
    ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}
_CLAUSE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\d+)\.(\d+)\s*$")
_MINOR = re.compile(r"^\s*(\d+)\.(\d+)\s*$")


@dataclass(frozen=True)
class EntryConfig:
    """One guarded entry: what runs, and what it must hold."""

    name: str
    run: str
    forbid: tuple[str, ...] = ()
    #: None: no lock; "modules": every module; "packages": top-level names only.
    lock: str | None = None
    budget_ms: float | None = None
    max_modules: int | None = None
    max_rss_mb: float | None = None
    #: The growth over --baseline that fails (a share of the start-up above the floor).
    max_regression: float = 0.05
    python_versions: VersionRange | None = None

    @property
    def timed(self) -> bool:
        """Whether judging this entry needs timed rounds (without --baseline)."""
        return self.budget_ms is not None or self.max_rss_mb is not None


@dataclass(frozen=True)
class CheckConfig:
    """The whole configuration: where it was read, and its entries by name."""

    path: Path | None
    root: Path
    entries: dict[str, EntryConfig] = field(default_factory=dict)
    python: str | None = None
    pythonpath: tuple[str, ...] = ()
    lock_file: Path | None = None
    rounds: int = 18
    max_rounds: int = 90
    confidence: float = 0.95
    timeout: float = 120.0

    @property
    def where(self) -> str:
        """How messages name the configuration: the file, relative when it can be."""
        return "the command line" if self.path is None else shown_path(self.path)

    def entry(self, name: str) -> EntryConfig:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(self.entries) or "none"
            raise ConfigError(f"{self.where}: no entry named {name!r} (entries: {known})"
                              ) from None

    def environment(self, root: Path | None = None) -> dict[str, str]:
        """The environment of a run: PYTHONPATH gets `pythonpath`, resolved under `root`
        (the project, or a baseline's checkout of it)."""
        env = dict(os.environ)
        base = root or self.root
        paths = [str((base / p).resolve()) for p in self.pythonpath]
        if env.get("PYTHONPATH"):
            paths.append(env["PYTHONPATH"])
        if paths:
            env["PYTHONPATH"] = os.pathsep.join(paths)
        return env


# -- reading ---------------------------------------------------------------------------------

_TOP_KEYS = ("entries", "python", "pythonpath", "lock-file", "rounds", "max-rounds",
             "confidence", "timeout")
_ENTRY_KEYS = ("run", "forbid", "lock", "budget-ms", "max-modules", "max-rss-mb",
               "max-regression", "python-versions")


def find_config(start: str | os.PathLike[str]) -> Path | None:
    """The configuration that applies to `start` (a directory): the nearest
    ``pyproject.toml`` with a ``[tool.hotstart]`` table, or ``hotstart.toml``, looking in
    `start` and its parents up to the repository's root (a directory holding ``.git``)."""
    directory = Path(start).resolve()
    if directory.is_file():
        directory = directory.parent
    for folder in (directory, *directory.parents):
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_tool_table(pyproject):
            return pyproject
        own = folder / "hotstart.toml"
        if own.is_file():
            return own
        if (folder / ".git").exists():
            break
    return None


def _has_tool_table(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return re.search(r"^\s*\[+\s*[\"']?tool[\"']?\s*\.\s*[\"']?hotstart\b", text, re.MULTILINE) is not None


def read_toml(file: Path, what: str, limit: int, hint: str = "") -> dict | None:
    """The TOML document at `file` (None when there is none); `ConfigError` naming the file
    for anything else: unreadable, larger than `limit` bytes, not UTF-8, not TOML."""
    import stat
    import tomllib

    shown = shown_path(file)
    try:
        # Opened without blocking and checked before reading: a FIFO would wait for a
        # writer, a device (/dev/zero) never ends.
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{shown}: cannot read the {what}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{shown}: not a regular file; the {what} must be one")
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise ConfigError(f"{shown}: cannot read the {what}: {exc.strerror or exc}"
                              ) from None
    if len(raw) > limit:
        raise ConfigError(f"{shown}: larger than {limit >> 20} MiB; a {what} is at most that")
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{shown}: not UTF-8 text{hint}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{shown}: invalid TOML: {exc}{hint}") from None
    except RecursionError:
        raise ConfigError(f"{shown}: invalid TOML: nested too deeply{hint}") from None


def load_config(path: str | os.PathLike[str]) -> CheckConfig:
    """Read and check the configuration file at `path`; `ConfigError` for anything wrong."""
    file = Path(path)
    shown = shown_path(file)
    data = read_toml(file, "configuration", 4 << 20)
    if data is None:
        raise ConfigError(f"{shown}: no such file")
    if file.name == "pyproject.toml":
        table = data.get("tool", {}).get("hotstart") if isinstance(data.get("tool"), dict) \
            else None
        if table is None:
            raise ConfigError(f"{shown}: no [tool.hotstart] table; add one (see 'hotstart "
                              f"check --help')")
        prefix = "tool.hotstart"
    else:
        table, prefix = data, ""
    return _parse(table, file.resolve(), shown, prefix)


def shown_path(file: Path) -> str:
    """`file` relative to the current directory when it is below it, else absolute."""
    try:
        relative = os.path.relpath(file)
    except ValueError:
        return str(file)
    return str(file.resolve()) if relative.startswith("..") else relative


def _parse(table: Any, file: Path, shown: str, prefix: str) -> CheckConfig:
    where = f"{shown}: [{prefix}]" if prefix else f"{shown}:"
    if not isinstance(table, dict):
        raise ConfigError(f"{shown}: [{prefix}] must be a table")
    _known(table, _TOP_KEYS, where)
    root = file.parent
    entries_table = table.get("entries", {})
    entries_where = f"{shown}: [{prefix + '.' if prefix else ''}entries]"
    if not isinstance(entries_table, dict):
        raise ConfigError(f"{entries_where} must be a table of entries (name = \"-m pkg\")")
    entries = {}
    for name, value in entries_table.items():
        entry_where = f"{shown}: [{prefix + '.' if prefix else ''}entries.{name}]"
        if not _ENTRY_NAME.fullmatch(name):
            raise ConfigError(f"{entry_where} entry names are letters, digits, '_', '-' and "
                              f"'.' (at most 64); rename {name!r}")
        entries[name] = _entry(name, value, entry_where)
    python = _string(table, "python", where)
    if python is not None and not python.strip():
        raise ConfigError(f"{where} python: empty; name an interpreter (\".venv/bin/python\") "
                          f"or leave the key out")
    pythonpath = _strings(table, "pythonpath", where)
    lock_file = _string(table, "lock-file", where)
    confidence = _number(table, "confidence", where, 0.95, low=0.5, high=0.999)
    from .stats import minimum_rounds

    fewest = 2 * minimum_rounds(confidence)  # rounds are judged two by two
    # Multiples of 6: every order of three contenders (floor, entry, baseline) equally often.
    rounds = _integer(table, "rounds", where, max(18, fewest), low=fewest, high=1000)
    max_rounds = _integer(table, "max-rounds", where, max(90, rounds), low=rounds, high=5000)
    timeout = _number(table, "timeout", where, 120.0, low=0.1, high=86400)
    return CheckConfig(
        path=file, root=root, entries=entries,
        python=str((root / python)) if python and os.sep in python else python,
        pythonpath=pythonpath, lock_file=root / (lock_file or DEFAULT_LOCK_FILE),
        rounds=rounds, max_rounds=max_rounds, confidence=confidence, timeout=timeout)


def _entry(name: str, value: Any, where: str) -> EntryConfig:
    if isinstance(value, str):
        value = {"run": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a command (\"-m pkg --help\") or a table with "
                          f"run = \"...\"")
    _known(value, _ENTRY_KEYS, where)
    run = _string(value, "run", where)
    if not run or not run.strip():
        raise ConfigError(f"{where} needs run = \"...\": the command to guard (-m MODULE "
                          f"ARGS, -c CODE, SCRIPT, or -- COMMAND)")
    _check_run(run, where)
    forbid = _strings(value, "forbid", where)
    for pattern in forbid:
        if not is_module_glob(pattern):
            raise ConfigError(f"{where} forbid: {pattern!r} is not a module name or glob "
                              f"(e.g. 'torch', 'pandas.*')")
    lock = value.get("lock", False)
    if lock is True:
        lock = "modules"
    elif lock is False:
        lock = None
    elif lock not in ("modules", "packages"):
        raise ConfigError(f"{where} lock: expected true, false, \"modules\" or "
                          f"\"packages\", got {_show(lock)}")
    return EntryConfig(
        name=name, run=run, forbid=forbid, lock=lock,
        budget_ms=_number(value, "budget-ms", where, None, low=0, high=1e7),
        max_modules=_integer(value, "max-modules", where, None, low=0, high=10**7),
        max_rss_mb=_number(value, "max-rss-mb", where, None, low=0, high=1e7),
        max_regression=_share(value, "max-regression", where, 0.05),
        python_versions=_versions(value, "python-versions", where))


_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


def _check_run(run: str, where: str) -> None:
    """What can be told of an entry's command before it runs."""
    import shlex

    try:
        words = shlex.split(run)
    except ValueError as exc:
        raise ConfigError(f"{where} run: {exc} in {run!r}") from None
    if words[0] in ("-m", "-c", "--") and len(words) < 2:
        raise ConfigError(f"{where} run: {words[0]} needs an argument: \"-m pkg.cli ARGS\", "
                          f"\"-c CODE\" or \"-- COMMAND ARGS\"")
    if words[0] == "-m" and not _MODULE_NAME.match(words[1]):
        raise ConfigError(f"{where} run: {words[1]!r} is not a module name (e.g. pkg.cli)")


def _known(table: dict, keys: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in keys:
            close = [k for k in keys if k.replace("-", "") == str(key).replace("_", "")
                     .replace("-", "")]
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(keys)})"
            raise ConfigError(f"{where} unknown key {str(key)!r}{hint}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _string(table: dict, key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where} {key}: expected a string, got {_show(value)}")
    if value is not None and "\x00" in value:
        raise ConfigError(f"{where} {key}: contains a NUL character")
    return value


def _strings(table: dict, key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v and "\x00" not in v
                                              for v in value):
        raise ConfigError(f"{where} {key}: expected a list of non-empty strings, got "
                          f"{_show(value)}")
    if len(value) > 10_000:
        raise ConfigError(f"{where} {key}: {len(value)} items; at most 10,000")
    return tuple(value)


def _number(table: dict, key: str, where: str, default: Any, *, low: float,
            high: float) -> Any:
    value = table.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{where} {key}: expected a number, got {_show(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{where} {key}: {value:g} is out of range ({low:g} to {high:g})")
    return float(value)


def _integer(table: dict, key: str, where: str, default: Any, *, low: int, high: int) -> Any:
    value = table.get(key, default)
    if value is default:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} {key}: expected a whole number, got {_show(value)}")
    if not low <= value <= high:
        raise ConfigError(f"{where} {key}: {value} is out of range ({low} to {high})")
    return value


def _share(table: dict, key: str, where: str, default: float) -> float:
    value = table.get(key, default)
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if not match:
            raise ConfigError(f"{where} {key}: expected a share like \"5%\" or 0.05, got "
                              f"{_show(value)}")
        value = float(match[1]) / 100
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"{where} {key}: expected a share like \"5%\" or 0.05, got "
                          f"{_show(value)}")
    if not 0 <= value <= 10:
        raise ConfigError(f"{where} {key}: {value:g} is out of range (0 to 10, i.e. 1000%)")
    return float(value)


def _versions(table: dict, key: str, where: str) -> VersionRange | None:
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, list):
        exact = []
        for item in value:
            match = _MINOR.match(item) if isinstance(item, str) else None
            if not match:
                raise ConfigError(f"{where} {key}: expected versions like \"3.12\", got "
                                  f"{_show(item)}")
            exact.append((int(match[1]), int(match[2])))
        return VersionRange(", ".join(value), exact=tuple(exact))
    if not isinstance(value, str):
        raise ConfigError(f"{where} {key}: expected \">=3.11,<3.14\" or a list of "
                          f"versions, got {_show(value)}")
    clauses = []
    for part in value.split(","):
        match = _CLAUSE.match(part)
        if not match:
            minor = _MINOR.match(part)
            if minor:
                clauses.append(("==", (int(minor[1]), int(minor[2]))))
                continue
            raise ConfigError(f"{where} {key}: {part.strip()!r} is not a clause like "
                              f"\">=3.11\" or \"<3.14\"")
        clauses.append((match[1], (int(match[2]), int(match[3]))))
    return VersionRange(value, clauses=tuple(clauses))


def resolve_entry(value: str, start: str | os.PathLike[str] = ".") -> str:
    """An `--entry` value: the command of the configured entry of that name, when `value`
    is a name in the configuration that applies to `start`; else `value` itself.

    A value that reads as a command (``-m pkg``, ``-c ...``, a path, or several words) is
    never looked up, so a project without configuration pays nothing."""
    if not is_entry_name(value):
        return value
    path = find_config(start)
    if path is None:
        return value
    config = load_config(path)
    entry = config.entries.get(value)
    return entry.run if entry is not None else value
