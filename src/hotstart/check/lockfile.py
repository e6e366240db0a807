"""The module-set lock: which modules each entry loads, per Python minor version.

A reviewable text file (TOML), sorted and deterministic, so that a pull request that adds a
module shows it as one added line:

    [entries."cli-help"."3.11"]
    scope = "modules"
    modules = [
        "argparse",
        "pkg.cli",
    ]

What varies by platform or by installation, not by the project, is left out before it is
written and before it is compared (`comparable`): modules that exist on some platforms only
(``posix``/``nt``, ``fcntl``, ``_winapi``, ...), the codecs a locale picks (``encodings.*``),
the platform-named ``_sysconfigdata_*``, and what installers and virtual environments put on
the path (``__editable__*`` finders, ``_virtualenv``, ``_distutils_hack``). Interpreter
differences are kept apart by the per-version sections. Modules that one run of ``hotstart
lock`` loaded and another did not are recorded as ``varies`` and never count as added.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config import ConfigError, read_toml, shown_path

__all__ = ["LockFile", "LockedSet", "comparable", "read_lock", "write_lock_file"]

#: Modules that exist, or are imported, on some platforms only.
PLATFORM_MODULES = frozenset({
    "posix", "nt", "posixpath", "ntpath", "_winapi", "msvcrt", "winreg", "winsound",
    "_overlapped", "_msi", "nturl2path", "_wmi", "_winreg", "fcntl", "termios", "grp", "pwd",
    "resource", "syslog", "tty", "pty", "_posixsubprocess", "_posixshmem", "_scproxy",
    "_osx_support", "_aix_support", "_bootsubprocess", "readline", "_curses",
    "_curses_panel", "curses", "spwd", "crypt", "nis", "ossaudiodev", "_ios_support",
    "_android_support", "_apple_support", "_pyrepl.unix_console", "_pyrepl.windows_console",
    "_pyrepl.unix_eventqueue", "_pyrepl.fancy_termios", "_pyrepl._minimal_curses",
    "multiprocessing.popen_fork", "multiprocessing.popen_spawn_posix",
    "multiprocessing.popen_spawn_win32", "asyncio.unix_events", "asyncio.windows_events",
    "asyncio.windows_utils", "_multiprocessing",
    # Standard modules that exist everywhere but that the standard library imports on some
    # platforms only (subprocess: select and selectors off Windows).
    "select", "selectors",
})
#: Globs of what installers, virtual environments and locales decide.
ENVIRONMENT_PATTERNS = ("encodings.*", "_sysconfigdata_*", "__editable__*", "_virtualenv",
                        "_distutils_hack", "_distutils_hack.*", "sitecustomize",
                        "usercustomize", "__main__", "__mp_main__", "_sitebuiltins")


def comparable(modules: set[str] | list[str], scope: str = "modules") -> set[str]:
    """The modules a lock records and compares: without what varies by platform or
    installation; with scope "packages", top-level names only."""
    kept = {name for name in modules if name not in PLATFORM_MODULES
            and not any(fnmatch.fnmatchcase(name, p) for p in ENVIRONMENT_PATTERNS)}
    if scope == "packages":
        return {name.partition(".")[0] for name in kept}
    return kept


@dataclass
class LockedSet:
    """One entry's lock for one Python version."""

    scope: str
    modules: set[str] = field(default_factory=set)
    varies: set[str] = field(default_factory=set)


@dataclass
class LockFile:
    """The whole lock: entry name -> Python version ("3.11") -> `LockedSet`."""

    path: Path
    entries: dict[str, dict[str, LockedSet]] = field(default_factory=dict)

    def get(self, entry: str, version: str) -> LockedSet | None:
        return self.entries.get(entry, {}).get(version)

    def put(self, entry: str, version: str, locked: LockedSet) -> None:
        self.entries.setdefault(entry, {})[version] = locked

    def text(self) -> str:
        """The file's text: sorted entries, versions and modules, one module per line."""
        lines = ["# hotstart module-set lock: the modules each entry loads, per Python version.",
                 "# Written by `hotstart lock`; `hotstart check` fails on a module that is not",
                 "# here. Review changes as you would a dependency lock.", ""]
        for entry in sorted(self.entries):
            for version in sorted(self.entries[entry], key=_version_key):
                locked = self.entries[entry][version]
                lines.append(f"[entries.{_quote(entry)}.{_quote(version)}]")
                lines.append(f"scope = {_quote(locked.scope)}")
                for key, names in (("modules", locked.modules), ("varies", locked.varies)):
                    if key == "varies" and not names:
                        continue
                    lines.append(f"{key} = [")
                    lines.extend(f"    {_quote(name)}," for name in sorted(names))
                    lines.append("]")
                lines.append("")
        return "\n".join(lines)


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _version_key(version: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in version.split("."))


def read_lock(path: Path) -> LockFile:
    """The lock at `path` (empty when there is none); `ConfigError` naming what is wrong."""
    lock = LockFile(path)
    shown = shown_path(path)
    data = read_toml(path, "lock", 64 << 20, hint="; write it again with 'hotstart lock'")
    if data is None:
        return lock
    entries = data.get("entries", {})
    if set(data) - {"entries"} or not isinstance(entries, dict):
        raise ConfigError(f"{shown}: not a hotstart lock (expected only [entries...] "
                          f"tables); write it again with 'hotstart lock'")
    for entry, versions in entries.items():
        if not isinstance(versions, dict):
            raise ConfigError(f"{shown}: [entries.{_quote(entry)}] must hold a table per "
                              f"Python version")
        for version, table in versions.items():
            where = f"{shown}: [entries.{_quote(entry)}.{_quote(version)}]"
            if not isinstance(table, dict) or set(table) - {"scope", "modules", "varies"}:
                raise ConfigError(f"{where} expected scope, modules and varies only")
            scope = table.get("scope", "modules")
            if scope not in ("modules", "packages"):
                raise ConfigError(f"{where} scope: expected \"modules\" or \"packages\"")
            sets = []
            for key in ("modules", "varies"):
                names = table.get(key, [])
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    raise ConfigError(f"{where} {key}: expected a list of module names")
                sets.append(set(names))
            lock.put(entry, version, LockedSet(scope, sets[0], sets[1]))
    return lock


def write_lock_file(lock: LockFile) -> None:
    """Write `lock` atomically (a temporary file beside it, renamed into place)."""
    from .._files import write_atomic

    write_atomic(lock.path, lock.text())
