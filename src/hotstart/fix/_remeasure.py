"""After `fix --write`: profile each measured entry again on the written code.

Each entry runs as the audit ran it (the same runner, interpreter, number of runs, search
path and directory; the written files compiled to `.pyc` first when the audit's run loaded
its modules from `.pyc`). Per group, the deterministic part is compared: which of the modules
it was predicted to take off the path still load. A group whose predicted modules all still
load on every entry measured nothing: it is reverted (the files are written again without
it, all or nothing) and the report says so. An entry that fails on the written code, when it
ran in the audit, means the rewrite broke it: every change is reverted.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import BadInput, HotstartError

__all__ = ["Remeasured", "bound_of", "remeasure_written", "trial_bounds"]


@dataclass(slots=True)
class Remeasured:
    """One entry's start-up before the fix (the audit's profile) and after (profiled again)."""
    entry: str
    before_us: float | None
    after_us: float
    modules_before: int
    modules_after: int
    #: The trial's bound and the figures it was measured with, when `fix --trial` ran.
    trial_before_us: float | None = None
    trial_after_us: float | None = None
    bound_us: float | None = None
    #: Which bound `bound_us` is: "project" (only the imports the project's own files run
    #: deferred: what a fix of its files can reach) or "all-lazy" (libraries' imports too,
    #: when the trial found no project module on the path).
    bound_kind: str = "project"
    #: Why the trial gave no bound (its lazy run never did what the eager run does), if so.
    no_bound: str | None = None

    @property
    def reached(self) -> float | None:
        """The share of the trial's bound the fix reached: (B - A) / (B - T)."""
        if None in (self.trial_before_us, self.trial_after_us, self.bound_us):
            return None
        room = self.trial_before_us - self.bound_us  # type: ignore[operator]
        if room <= 0:
            return None
        return (self.trial_before_us - self.trial_after_us) / room  # type: ignore[operator]


@dataclass(slots=True)
class _EntryRun:
    """How to run one measured entry as the audit ran it."""
    entry: object  # the report's Entry
    target: object  # a measure.runner.Target
    env: dict[str, str]
    cwd: str | None


def _entry_runs(report, target: str, tests: Sequence[str], python: str | None
                ) -> tuple[list[_EntryRun], str | None]:
    """Each measured entry with its runner target, environment and directory (the audit's:
    the project's search path first, run in its directory); and why one could not be."""
    from ..audit._project import find_project
    from ..audit.graph import parse_entry
    from ..measure.runner import Target

    project = find_project(target, list(tests))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (*project.search_path, env.get("PYTHONPATH")) if p)
    runs, note = [], None
    for entry in report.entries:
        if not entry.measured:
            continue
        try:
            spec = parse_entry(entry.name, {}, project.directory, python)
        except BadInput as exc:
            note = f"{entry.name}: not profiled again ({exc})"
            continue
        runs.append(_EntryRun(entry, Target(spec.kind, spec.value, spec.args), env,
                              project.directory or None))
    return runs, note


def trial_bounds(report, target: str, tests: Sequence[str], *, python: str | None,
                 runs: int, progress: Callable[[str], None] | None = None) -> dict:
    """The lazy trial of each measured entry on the code as it is now: entry name ->
    `TrialReport` (its `before_ms`, and the bound a perfect cut reaches, `bound_ms`)."""
    from ..trial import run_trial

    say = progress or (lambda message: None)
    found = {}
    for run in _entry_runs(report, target, tests, python)[0]:
        say(f"trial of {run.entry.name}")
        # the audited files are the project: exactly what fix rewrites (the audit's too)
        found[run.entry.name] = run_trial(run.target, python=python, runs=runs, cwd=run.cwd,
                                          env=run.env, timeout=_TIMEOUT,
                                          project=sorted(set(report.paths.values())))
    return found


#: The limit of one run of an entry (the audit's).
_TIMEOUT = 300.0


def remeasure_written(result, target: str, tests: Sequence[str], render, disk, *,
                      python: str | None, runs: int,
                      progress: Callable[[str], None] | None = None,
                      trials: dict | None = None) -> None:
    """Profile the measured entries of `result.report` on the written code, fill
    `result.remeasured` and each group's `still_loaded`, and revert (write again without)
    the groups that measured nothing. `trials`: each entry's trial on the code before the
    write (a `TrialReport`, or the audit's `TrialBound`: `before_ms`, `project_bound_ms`,
    `bound_ms`); the trial runs again on the written code, for "fix reached N % of the
    bound" (the project bound when there is one: `bound_of`)."""
    from ..measure.runner import failure_message, profile

    say = progress or (lambda message: None)
    entry_runs, note = _entry_runs(result.report, target, tests, python)
    result.remeasure_note = note
    compiled = False
    measured_entries: list[str] = []
    for run in entry_runs:
        entry = run.entry
        if entry.bytecode != "compiled at start (no .pyc)" and not compiled:
            _compile([disk.sources[f.path].real for f in result.files], python)
            compiled = True
        say(f"re-profiling {entry.name} on the written code")
        found = profile(run.target, runs=runs, python=python, env=run.env, cwd=run.cwd,
                        timeout=_TIMEOUT)
        failure = failure_message(found, _TIMEOUT)
        if failure or not found.processes:
            files, _ = render([])
            disk.write(files)
            reverted = list(result.changes)
            result.remeasure_reverted = list(result.groups)
            result.changes, result.groups, result.files = [], [], []
            raise HotstartError(
                f"--entry {entry.name!r} fails on the written code "
                f"({failure or 'no Python process traced'}): every one of the "
                f"{len(reverted)} change(s) was reverted; run fix with --verify "
                f"'COMMAND' to find the one that breaks it")
        process = found.main
        loaded = {m.name for m in process.imported()}
        result.remeasured.append(Remeasured(
            entry.name, entry.import_us, process.import_us, _count(entry), len(loaded)))
        measured_entries.append(entry.name)
        for group in result.groups:
            predicted = group.leaving.get(entry.name)
            if predicted:
                group.still_loaded[entry.name] = [m for m in predicted if m in loaded]
    nothing = [g for g in result.groups if _measured_nothing(g, measured_entries)]
    if nothing:
        kept_groups = [g for g in result.groups if all(g is not n for n in nothing)]
        kept = [c for g in kept_groups for c in g.changes]
        files, _ = render(kept)
        disk.write(files)
        say(f"re-profiling: {len(nothing)} group(s) measured nothing, reverted")
        result.remeasure_reverted = nothing
        result.groups, result.changes, result.files = kept_groups, kept, files
    if trials:
        try:
            after = trial_bounds(result.report, target, tests, python=python, runs=runs,
                                 progress=progress)
        except BadInput as exc:  # the files are written: say why the figure is missing
            result.remeasure_note = f"the trial on the written code could not run ({exc})"
            return
        for measured in result.remeasured:
            before, now = trials.get(measured.entry), after.get(measured.entry)
            if before is None or now is None:
                continue
            measured.trial_before_us = _us(before.before_ms)
            measured.bound_us, measured.bound_kind = bound_of(before)
            measured.trial_after_us = _us(now.before_ms)
            if measured.bound_us is None:
                measured.no_bound = (getattr(before, "no_project_bound", None)
                                     or getattr(before, "no_bound", None)
                                     or "the lazy run never did what the eager run does")


def bound_of(trial) -> tuple[float | None, str]:
    """The bound "fix reached N %" is measured against, in us, and which one: the project
    bound when the trial has one, else the all-lazy bound. `trial`: a `TrialReport` or the
    audit's `TrialBound` (both have `bound_ms` and `project_bound_ms`)."""
    project = getattr(trial, "project_bound_ms", None)
    if project is not None:
        return _us(project), "project"
    return _us(trial.bound_ms), "all-lazy"


def _us(ms: float | None) -> float | None:
    return None if ms is None else ms * 1e3


def _measured_nothing(group, entries: list[str]) -> bool:
    """A claimed group whose predicted modules all still load on every entry it was
    predicted on (and profiled again)."""
    predicted = [e for e in entries if group.leaving.get(e)]
    if not group.claimed or not predicted:
        return False
    return all(len(group.still_loaded.get(e, ())) == len(group.leaving[e]) for e in predicted)


def _count(entry) -> int:
    from ..audit.savings import observed_graph

    graph = observed_graph(entry)
    return len(graph.modules) if graph is not None else 0


def _compile(files: list[str], python: str | None) -> None:
    """Compile the written files to `.pyc` with the entries' interpreter, as the audit's run
    had them (a file that does not compile is left to the run to report)."""
    if not files:
        return
    command = [*(shlex.split(python) if python else [sys.executable]), "-m", "compileall",
               "-q", *files]
    subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, timeout=300,
                   check=False)
