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

__all__ = ["Remeasured", "remeasure_written"]


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

    @property
    def reached(self) -> float | None:
        """The share of the trial's bound the fix reached: (B - A) / (B - T)."""
        if None in (self.trial_before_us, self.trial_after_us, self.bound_us):
            return None
        room = self.trial_before_us - self.bound_us  # type: ignore[operator]
        if room <= 0:
            return None
        return (self.trial_before_us - self.trial_after_us) / room  # type: ignore[operator]


def remeasure_written(result, target: str, tests: Sequence[str], render, disk, *,
                      python: str | None, runs: int,
                      progress: Callable[[str], None] | None = None) -> None:
    """Profile the measured entries of `result.report` on the written code, fill
    `result.remeasured` and each group's `still_loaded`, and revert (write again without)
    the groups that measured nothing."""
    from ..audit._project import find_project
    from ..audit.graph import parse_entry
    from ..measure.runner import Target, failure_message, profile

    say = progress or (lambda message: None)
    project = find_project(target, list(tests))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (*project.search_path, env.get("PYTHONPATH")) if p)
    cwd = project.directory or None
    compiled = False
    measured_entries: list[str] = []
    for entry in result.report.entries:
        if not entry.measured:
            continue
        try:
            spec = parse_entry(entry.name, {}, project.directory, python)
        except BadInput as exc:
            result.remeasure_note = f"{entry.name}: not profiled again ({exc})"
            continue
        if entry.bytecode != "compiled at start (no .pyc)" and not compiled:
            _compile([disk.sources[f.path].real for f in result.files], python)
            compiled = True
        say(f"re-profiling {entry.name} on the written code")
        found = profile(Target(spec.kind, spec.value, spec.args), runs=runs, python=python,
                        env=env, cwd=cwd, timeout=300.0)
        failure = failure_message(found, 300.0)
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
            entry.name, entry.import_us, process.import_us,
            _count(result.report, entry), len(loaded)))
        measured_entries.append(entry.name)
        for group in result.groups:
            predicted = group.leaving.get(entry.name)
            if predicted:
                group.still_loaded[entry.name] = [m for m in predicted if m in loaded]
    nothing = [g for g in result.groups if _measured_nothing(g, measured_entries)]
    if not nothing:
        return
    kept_groups = [g for g in result.groups if all(g is not n for n in nothing)]
    kept = [c for g in kept_groups for c in g.changes]
    files, _ = render(kept)
    disk.write(files)
    say(f"re-profiling: {len(nothing)} group(s) measured nothing, reverted")
    result.remeasure_reverted = nothing
    result.groups, result.changes, result.files = kept_groups, kept, files


def _measured_nothing(group, entries: list[str]) -> bool:
    """A claimed group whose predicted modules all still load on every entry it was
    predicted on (and profiled again)."""
    predicted = [e for e in entries if group.leaving.get(e)]
    if not group.claimed or not predicted:
        return False
    return all(len(group.still_loaded.get(e, ())) == len(group.leaving[e]) for e in predicted)


def _count(report, entry) -> int:
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
