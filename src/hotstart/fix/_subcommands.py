"""`hotstart fix --select cli`: make a CLI's subcommands lazy, so `--help` no longer imports
every command module (action "lazy-subcommand").

The frameworks are read by their own modules, which find eager registrations and rewrite
them: `_subcommands_click` (click groups and typer apps) and `_subcommands_argparse`
(argparse subparsers). Each finding is a `Change` whose `CodeSite.data` holds:

- ``framework``: "click", "typer" or "argparse";
- ``invoke``: Python source that runs the program with the arguments (a JSON list) in the
  environment variable ``HOTSTART_HELP_ARGV``;
- ``help_paths``: the argument lists whose output must not change (``["--help"]``, and
  ``[name, "--help"]`` for every subcommand);
- whatever that framework's rewrite needs.

`HelpCheck` is the net under `--verify`: it runs every help path of the changes in a child
interpreter before the rewrite and after each trial, and fails on any byte of difference in
the exit code, the standard output or the standard error. Each path runs in a fresh
interpreter of its own, as many at a time as the machine has cores for this process (one
interpreter running several paths, or forked after importing the program, would not
provably print the same bytes: the program's imports would see another ``sys.argv`` and
environment, and one path's imports would be done for the next); a state of the project's
files already taken (the files kept at the end are often those of an earlier trial, or the
original ones) is not run again.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import shlex
import stat
import subprocess
from concurrent.futures import ThreadPoolExecutor

from ..audit.model import AuditReport
from ._typehints import _quote
from .plan import Change, Skipped
from .verify import CommandResult, _kill_session

__all__ = ["ACTION", "HELP_ENV", "SELECT", "HelpCheck", "plan", "rewrite"]

ACTION = "lazy-subcommand"
SELECT = "cli"
#: The environment variable an ``invoke`` snippet reads its arguments from (a JSON list).
HELP_ENV = "HOTSTART_HELP_ARGV"
#: The terminal every help is rendered for: fixed, so before and after compare byte for byte.
HELP_TERMINAL = {"COLUMNS": "80", "LINES": "24", "TERM": "dumb", "NO_COLOR": "1",
                 "PYTHONHASHSEED": "0"}
#: Variables that would override the fixed terminal (rich and click honour them).
_UNSET = ("FORCE_COLOR", "CLICOLOR_FORCE", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
          "PY_COLORS", "COLORTERM")
#: How many changed help outputs `compare` shows (then only how many more).
_SHOWN = 8
#: The files `project_digest` knows by content (the ones fix writes), up to a size.
_SOURCES = (".py", ".pyi")
_HASHED_UP_TO = 1 << 20
#: Words in a source that make a file worth reading for each framework.
_MARKERS = {"click": ("click", "typer"), "argparse": ("add_subparsers", "add_parser")}


def _framework(name: str):
    """The module that finds and rewrites registrations of framework `name`."""
    if name == "click":
        from . import _subcommands_click as module
    else:
        from . import _subcommands_argparse as module
    return module


def plan(report: AuditReport, paths: dict[str, str], project: str, *,
         runtime: str = "auto") -> tuple[list[Change], list[Skipped]]:
    """One change per eager subcommand registration that can be made lazy, and one `Skipped`
    (with why) per registration that cannot, in the audited files `paths`.

    The lazy registrations call `hotstart.lazy.cli` at run time: with `runtime` "stdlib",
    or "auto" and a project that does not depend on hotstart (no module of it imports
    hotstart, its pyproject.toml and requirements files do not name it), every one is
    skipped, saying so."""
    from ..audit._project import decode_source, read_source

    modules = {site.file: site.module for site in report.sites}
    changes: list[Change] = []
    skipped: list[Skipped] = []
    for file in sorted(paths):
        module = modules.get(file)
        if module is None:  # no import statement: it registers nothing it imported
            continue
        path = paths[file]
        try:
            source = decode_source(read_source(path))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue  # the audit reported it already
        for name, words in _MARKERS.items():
            if not any(word in source for word in words):
                continue
            found, refused = _framework(name).find(source, module, file, path, report,
                                                   project)
            changes.extend(found)
            skipped.extend(refused)
    if changes and (runtime == "stdlib" or runtime == "auto" and not _depends_on_hotstart(
            report, project)):
        why = ("not made lazy: the lazy registration needs hotstart.lazy.cli at run time, "
               "and the project does not depend on hotstart (add it to the project's "
               "dependencies, or pass --runtime hotstart)")
        skipped.extend(Skipped(change.site, why) for change in changes)
        changes = []
    return changes, skipped


def _depends_on_hotstart(report: AuditReport, project: str) -> bool:
    """Whether the project imports hotstart or names it among its requirements."""
    if any(site.imported.split(".")[0] == "hotstart" for site in report.sites):
        return True
    import re
    import tomllib

    named = re.compile(r"^\s*hotstart\s*(\[|[<>=!~;@ ]|$)", re.IGNORECASE)
    try:
        with open(os.path.join(project, "pyproject.toml"), "rb") as handle:
            declared = tomllib.load(handle).get("project", {}).get("dependencies", [])
    except (OSError, ValueError):
        declared = []
    if isinstance(declared, list) and any(isinstance(d, str) and named.match(d)
                                          for d in declared):
        return True
    for name in sorted(os.listdir(project)) if os.path.isdir(project) else ():
        if name.startswith("requirements") and name.endswith(".txt"):
            try:
                with open(os.path.join(project, name), encoding="utf-8") as handle:
                    if any(named.match(line) for line in handle):
                        return True
            except (OSError, UnicodeDecodeError):
                continue
    return False


def rewrite(source: str, changes: list[Change]) -> tuple[str, list[tuple[Change, str]]]:
    """The new source of one file with `changes` (any subset of its changes) made, and the
    changes that could not be made, each with why."""
    failed: list[tuple[Change, str]] = []
    by_module: dict[str, list[Change]] = {}
    for change in changes:
        framework = change.site.data.get("framework")
        name = "argparse" if framework == "argparse" else "click"
        by_module.setdefault(name, []).append(change)
    for name, group in by_module.items():
        source, not_made = _framework(name).rewrite(source, group)
        failed.extend(not_made)
    return source, failed


#: One help output: (exit code or None when it timed out, stdout, stderr).
Output = tuple[int | None, bytes, bytes]


class HelpCheck:
    """The help output of the program and of every subcommand the changes touch, as the
    project's interpreter prints it: `take` before the rewrite and after each trial,
    `compare` the two byte for byte."""

    def __init__(self, project: str, changes: list[Change], python: list[str],
                 timeout: float | None) -> None:
        self.project = project
        self.python = python
        self.timeout = timeout
        runs: dict[tuple[str, str], None] = {}
        for change in changes:
            data = change.site.data
            invoke = data.get("invoke")
            if not invoke:
                continue
            for argv in data.get("help_paths", []):
                runs[(invoke, json.dumps(list(argv)))] = None
        self.runs = list(runs)
        #: snapshots by the digest of the project's files they were taken on
        self.taken: dict[str, dict[tuple[str, str], Output]] = {}

    def take(self) -> dict[tuple[str, str], Output] | str:
        """{(invoke, argv as JSON): output} for every help path, or why none could be run.
        The project's files as they were at an earlier take give that take's snapshot."""
        if not self.runs:
            return {}
        state = project_digest(self.project)
        if state in self.taken:
            return dict(self.taken[state])
        workers = max(1, min(_cores(), len(self.runs)))
        with ThreadPoolExecutor(workers) as pool:
            outputs = list(pool.map(self._run, self.runs))
        for output in outputs:
            if isinstance(output, str):
                return output
        snapshot = dict(zip(self.runs, outputs, strict=True))
        if project_digest(self.project) == state:  # not changed while it ran
            self.taken[state] = snapshot
        return dict(snapshot)

    def _run(self, run: tuple[str, str]) -> Output | str:
        invoke, argv = run
        env = {k: v for k, v in os.environ.items() if k not in _UNSET}
        env.update(HELP_TERMINAL)
        # the invoke puts the project's import root first on sys.path; the working directory
        # (the project: maybe a package, whose `dataclasses.py` would shadow the standard
        # library's, as huggingface_hub's does) stays off it, as for a console script
        env["PYTHONSAFEPATH"] = "1"
        env[HELP_ENV] = argv
        words = [*self.python, "-c", invoke]
        command = " ".join(_quote(w) if at < len(self.python) - 1 else shlex.quote(w)
                           for at, w in enumerate(words))
        try:
            process = subprocess.Popen(command, shell=True, cwd=self.project, env=env,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            return f"{shlex.join(self.python)} did not start ({exc.strerror or exc})"
        try:
            out, err = process.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_session(process)
            out, err = process.communicate()
            return None, out, err + f"\n(timed out after {self.timeout} s)".encode()
        except BaseException:
            _kill_session(process)
            process.communicate()
            raise
        if process.returncode == 127 and not out:
            return f"{shlex.join(self.python)} did not run ({err.decode(errors='replace')[-200:]})"
        return process.returncode, out, err

    def compare(self, before: dict, after: dict) -> CommandResult:
        """A failing result naming each help whose exit code or bytes changed, with a short
        unified diff of the first difference; a passing one when all are identical."""
        lines: list[str] = []
        changed = 0
        for run, old in before.items():
            new = after.get(run)
            argv = " ".join(json.loads(run[1])) or "(no arguments)"
            if new == old:
                continue
            changed += 1
            if changed > _SHOWN:
                continue
            if new is None:
                lines.append(f"{argv}: not run after the rewrite")
                continue
            lines.append(f"{argv}: output changed")
            if old[0] != new[0]:
                lines.append(f"    exit code {old[0]} -> {new[0]}")
            for stream, at in (("stdout", 1), ("stderr", 2)):
                if old[at] != new[at]:
                    lines.extend("    " + line for line in _diff(old[at], new[at], stream))
        if not lines:
            return CommandResult(True, 0, "")
        if changed > _SHOWN:
            lines.append(f"... and {changed - _SHOWN} more help output(s) changed")
        return CommandResult(False, None, "help output changed (checked by hotstart --verify, "
                             "COLUMNS=80 TERM=dumb NO_COLOR=1):\n"
                             + "\n".join(f"  {line}" for line in lines))


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def project_digest(project: str) -> str:
    """A digest of every file under `project` (not `__pycache__` nor `.git`): the Python
    sources (what fix writes) by content, any other file by size and modification time (so
    any change, or a doubt, is a new state)."""
    digest = hashlib.blake2b(digest_size=20)
    for folder, folders, files in os.walk(project):
        folders[:] = sorted(f for f in folders if f not in ("__pycache__", ".git"))
        for name in sorted(files):
            path = os.path.join(folder, name)
            digest.update(os.path.relpath(path, project).encode("utf-8", "surrogateescape"))
            try:
                status = os.stat(path)
                if not stat.S_ISREG(status.st_mode) or status.st_size > _HASHED_UP_TO or \
                        not name.endswith(_SOURCES):
                    digest.update(f"\0{status.st_mode}:{status.st_size}:"
                                  f"{status.st_mtime_ns}\0".encode())
                    continue
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError:
                content = b"\0unreadable"
            digest.update(f"\0{len(content)}\0".encode())
            digest.update(content)
    return digest.hexdigest()


def _diff(old: bytes, new: bytes, stream: str, limit: int = 12) -> list[str]:
    """A unified diff of two outputs, at most `limit` lines (bytes shown as text)."""
    a = old.decode("utf-8", "backslashreplace").splitlines()
    b = new.decode("utf-8", "backslashreplace").splitlines()
    found = list(difflib.unified_diff(a, b, f"{stream} before", f"{stream} after",
                                      n=1, lineterm=""))
    if not found:  # same lines, other bytes: line endings or a final newline
        return [f"{stream}: {old[-40:]!r} -> {new[-40:]!r}"]
    return found[:limit] + ([f"... ({len(found) - limit} more lines)"]
                            if len(found) > limit else [])
