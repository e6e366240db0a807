"""Run the checks of `[tool.hotstart]` and fill a `CheckReport`.

    hotstart check                                   fresh interpreters
    --------------                                   ------------------
    per entry:
      one traced run (hotstart's tracer)  ─────────▶ the entry: every import, its importer
        -> modules, first-load chains                 and the line that imported it
        forbidden globs, the lock, max-modules   (deterministic: no timings involved)
      [--baseline REF: `git archive REF` into a temporary directory; the same traced run there]
      with a budget or a baseline, rounds of:    ─▶ python -c pass   (the floor)
        (every order of them in turn)            ─▶ the entry         (no tracer)
                                                 ─▶ the entry at REF  (no tracer)
        each timed from spawn to a blocking wait4; CPU time and peak RSS from wait4
      judge the rounds two by two (the better of each two, per contender) with
        confidence intervals (`_rounds.py`, `stats.py`); inconclusive -> more rounds,
        up to max-rounds (a failure before the last look needs 99.9 %)

Nothing here writes outside its temporary directories, which are removed on every path,
except the lock file (`--update`, `hotstart lock`), written atomically.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import BadInput
from ._baseline import baseline_checkout, check_sources, repository_prefix
from ._findings import compare_lock, forbidden, since_baseline
from ._rounds import Progress, Rounds, compile_sources, judgements, time_rounds
from .config import CheckConfig, ConfigError, EntryConfig
from .lockfile import LockedSet, comparable, read_lock, write_lock_file
from .model import CheckReport, EntryResult

__all__ = ["Side", "entry_target", "run_check", "write_lock"]


def entry_target(run: str, root: Path, python: str):
    """The `Target` an entry's command runs: ``-m MODULE ARGS``, ``-c CODE ARGS``,
    ``SCRIPT.py ARGS``, ``-- COMMAND ARGS``, or ``COMMAND ARGS`` (a console script, looked up
    next to the interpreter first, then on PATH)."""
    from ..measure.runner import Target

    try:
        words = shlex.split(run)
    except ValueError as exc:
        raise ConfigError(f"entry {run!r}: {exc}") from None
    if not words:
        raise ConfigError("an entry's run is empty")
    head, rest = words[0], tuple(words[1:])
    if head in ("-m", "-c"):
        if not rest:
            raise ConfigError(f"entry {run!r}: {head} needs an argument")
        return Target("module" if head == "-m" else "code", rest[0], rest[1:])
    if head == "--":
        if not rest:
            raise ConfigError(f"entry {run!r}: no command after '--'")
        head, rest = rest[0], rest[1:]
    elif head.endswith(".py") or (root / head).is_file():
        return Target("script", head, rest)
    if os.sep not in head:
        beside = Path(python).parent / head
        if beside.is_file() and os.access(beside, os.X_OK):
            return Target("command", str(beside), rest)
    return Target("command", head, rest)


@dataclass
class Side:
    """One place an entry runs: the project, or a baseline's checkout of it."""

    label: str
    root: Path
    env: dict[str, str]


def _interpreter(config: CheckConfig, python: str | None) -> tuple[str, str, str]:
    """(path, "3.11", "3.11.7") of the interpreter that runs the entries."""
    from ..measure.runner import interpreter_version

    path, full = interpreter_version(python or config.python, dict(os.environ))
    return path, full.rpartition(".")[0], full


def _trace(entry: EntryConfig, side: Side, python: str, timeout: float):
    """One traced run of `entry` on `side`: ((its main process, its ImportTree), None), or
    (None, the one-line reason it did not run)."""
    from ..measure.model import ImportTree
    from ..measure.runner import failure_message, profile

    target = entry_target(entry.run, side.root, python)
    result = profile(target, runs=1, calls=False, python=python, cwd=str(side.root),
                     env=side.env, timeout=timeout)
    failed = failure_message(result, timeout)
    if failed:
        return None, failed
    if not result.processes:
        return None, "it started no Python process hotstart could trace"
    process = result.main
    return (process, ImportTree(process)), None


def run_check(config: CheckConfig, *, names: Sequence[str] | None = None,
              baseline: str | None = None, timing: bool = True, update: bool = False,
              python: str | None = None, progress: Progress | None = None) -> CheckReport:
    """Check `names` (default: every entry) of `config`; with `baseline` (a git ref, or a
    saved profile's path) compare each with the project at that ref. `timing=False` runs
    only the deterministic checks (forbidden, lock, max-modules). `update` writes the
    lock of every checked entry with its current modules (removals and additions
    accepted)."""
    interpreter, minor, full = _interpreter(config, python)
    chosen = [config.entry(name) for name in (names or list(config.entries))]
    if not chosen:
        raise ConfigError(f"{config.where}: no entries to check; add [tool.hotstart.entries]")
    report = CheckReport(config=config.where, root=str(config.root), python=full,
                         baseline=baseline, timing=timing, prefix=repository_prefix(config.root))
    lock_path = config.lock_file or config.root / "hotstart.lock"
    lock = read_lock(lock_path) if any(e.lock for e in chosen) else None
    with tempfile.TemporaryDirectory(prefix="hotstart-check-") as workdir:
        base_side = base_profile = None
        if baseline is not None:
            if baseline.endswith(".json") and os.path.isfile(baseline):
                from ..measure.io import load_profile

                base_profile = load_profile(baseline)
            else:
                checkout = baseline_checkout(config, baseline, Path(workdir))
                base_side = Side("baseline", checkout, config.environment(checkout))
        head = Side("project", config.root, config.environment())
        for entry in chosen:
            if progress is not None:
                progress(f"{entry.name}: tracing")
            result = _check_entry(entry, config, head, base_side, base_profile, lock,
                                  interpreter, minor, timing, update, progress)
            report.entries.append(result)
    if update and lock is not None and any(e.lock == "updated" for e in report.entries):
        write_lock_file(lock)
    return report


def _main_module(entry: EntryConfig, root: Path, python: str) -> str | None:
    """The module `-m` runs (as __main__, so the tracer records no import of it)."""
    target = entry_target(entry.run, root, python)
    return target.value if target.kind == "module" else None


def _check_entry(entry: EntryConfig, config: CheckConfig, head: Side, base: Side | None,
                 base_profile, lock, interpreter: str, minor: str, timing: bool,
                 update: bool, progress: Progress | None) -> EntryResult:
    result = EntryResult(entry.name, entry.run, minor, max_modules=entry.max_modules)
    version = tuple(int(p) for p in minor.split("."))
    if entry.python_versions is not None and not entry.python_versions.allows(version):
        result.verdict = "skipped"
        result.reason = f"python-versions {entry.python_versions.text!r} excludes {minor}"
        return result
    try:
        traced, failed = _trace(entry, head, interpreter, config.timeout)
    except BadInput as exc:  # a command not found, a script missing: name the entry
        raise type(exc)(f"{config.where}: entry {entry.name!r}: {exc}") from None
    if failed:
        result.verdict, result.reason = "error", f"the entry did not run: {failed}"
        return result
    process, tree = traced
    modules = {m.name for m in process.imported()}
    roots = [config.root.resolve()]
    result.modules = len(modules)
    main = _main_module(entry, config.root, interpreter)
    result.forbidden = forbidden(entry, modules, tree, roots, main)
    if entry.lock is not None and lock is not None:
        locked = lock.get(entry.name, minor)
        if update:
            lock.put(entry.name, minor, LockedSet(entry.lock, comparable(modules, entry.lock),
                                                  locked.varies if locked else set()))
            if locked is not None:
                compare_lock(result, entry, locked, modules, tree, roots, main)
            result.lock = "updated"
        else:
            compare_lock(result, entry, locked, modules, tree, roots, main)
    if base is not None:
        if progress is not None:
            progress(f"{entry.name}: tracing the baseline")
        base_traced, base_failed = _trace(entry, base, interpreter, config.timeout)
        if base_failed:
            result.notes.append(f"the baseline did not run ({base_failed}): compared with "
                                f"nothing")
            base = None
        else:
            check_sources(entry, head, process, base.root)
            check_sources(entry, base, base_traced[0], config.root.resolve())
            since_baseline(result, modules, {m.name for m in base_traced[0].imported()},
                            tree, roots, main)
    elif base_profile is not None and base_profile.processes:
        ran = entry_target(entry.run, config.root, interpreter).describe()
        if list(base_profile.target) != ran:
            result.notes.append(f"the baseline profile is of {' '.join(base_profile.target)}, "
                                f"not of this entry ({' '.join(ran)})")
        since_baseline(result, modules, {m.name for m in base_profile.main.imported()},
                        tree, roots, main)
    wants_time = timing and (entry.timed or base is not None or base_profile is not None)
    if wants_time:
        for side in (head, base):
            if side is not None:
                compile_sources(side, config, interpreter)
        _judge_rounds(result, entry, config, head, base, base_profile, interpreter, progress)
    _settle(result)
    return result


def _judge_rounds(result: EntryResult, entry: EntryConfig, config: CheckConfig, head: Side,
                  base: Side | None, base_profile, interpreter: str,
                  progress: Progress | None) -> None:
    from ..measure.runner import Target, prepare_target

    argvs = {}
    floor_argv, _, floor_env, _ = prepare_target(Target("code", "pass"), python=interpreter,
                                                 cwd=str(head.root), env=head.env)
    argvs["floor"] = (floor_argv, floor_env, str(head.root))
    for who, side in (("entry", head), ("base", base)):
        if side is None:
            continue
        target = entry_target(entry.run, side.root, interpreter)
        argv, _, env, cwd = prepare_target(target, python=interpreter, cwd=str(side.root),
                                           env=side.env)
        argvs[who] = (argv, env, cwd)
    rounds = Rounds()
    wanted = config.rounds
    while True:
        failed = time_rounds(rounds, wanted - len(rounds.floor), argvs, config.timeout,
                              progress, entry.name)
        if failed:
            result.verdict, result.reason = "error", f"a timed run failed: {failed}"
            return
        last = wanted >= config.max_rounds
        result.judgements = judgements(entry, rounds, config.confidence, base_profile,
                                       interim=not last)
        verdicts = {j.verdict for j in result.judgements}
        # Done when nothing is open, or when something failed: the entry fails whatever
        # the open ones would say.
        if last or "inconclusive" not in verdicts or "fail" in verdicts:
            break
        wanted = min(config.max_rounds, wanted + config.rounds)


def _settle(result: EntryResult) -> None:
    """The entry's verdict from its checks."""
    if result.verdict in ("error", "skipped"):
        return
    failed = (result.forbidden or (result.lock == "changed" and result.added)
              or result.lock == "missing"
              or (result.max_modules is not None and result.modules > result.max_modules)
              or any(j.verdict == "fail" for j in result.judgements))
    if failed:
        result.verdict = "fail"
    elif any(j.verdict == "inconclusive" for j in result.judgements):
        result.verdict = "inconclusive"
    else:
        result.verdict = "pass"


def write_lock(config: CheckConfig, *, names: Sequence[str] | None = None,
               python: str | None = None, runs: int = 2,
               progress: Progress | None = None) -> list[tuple[str, str, int, int]]:
    """Record the modules of `names` (default: every entry with `lock` set) in the lock
    file, for this interpreter's version; a module seen in some of `runs` runs only is
    recorded as varying. Returns (entry, version, modules, varying) per entry written."""
    interpreter, minor, _ = _interpreter(config, python)
    chosen = [config.entry(name) for name in names] if names else [
        e for e in config.entries.values() if e.lock]
    if not chosen:
        raise ConfigError(f"{config.where}: no entry has lock = true; set it on the entries "
                          f"to lock (or name them with --entry)")
    lock = read_lock(config.lock_file or config.root / "hotstart.lock")
    head = Side("project", config.root, config.environment())
    written = []
    version = tuple(int(p) for p in minor.split("."))
    for entry in chosen:
        if entry.python_versions is not None and not entry.python_versions.allows(version):
            continue
        scope = entry.lock or "modules"
        seen = []
        for index in range(runs):
            if progress is not None:
                progress(f"{entry.name}: run {index + 1}/{runs}")
            traced, failed = _trace(entry, head, interpreter, config.timeout)
            if failed:
                raise BadInput(f"entry {entry.name!r} did not run: {failed}; fix it before "
                               f"locking it")
            seen.append(comparable({m.name for m in traced[0].imported()}, scope))
        always = set.intersection(*seen)
        varies = set.union(*seen) - always
        lock.put(entry.name, minor, LockedSet(scope, always, varies))
        written.append((entry.name, minor, len(always), len(varies)))
    if written:
        write_lock_file(lock)
    return written
