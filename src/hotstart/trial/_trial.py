"""Run the lazy trial: the entry eagerly and lazily, the fallback, the eager profile, and the
timed runs, into a `TrialReport`.

    hotstart process                                 target process (fresh each run)
    ----------------                                 -------------------------------
    copy _child.py as <tmp>/inject/sitecustomize.py
    eager run (recorded, stdout kept)   ───────────▶ modules at exit -> record
    lazy run  (recorded, stdout kept)   ───────────▶ every module-scope import lazy; first
                                                     user of each module -> record
    differ? per-package fallback (`_fallback`): more lazy runs, some packages eager
    eager profile (`hotstart.measure.runner.profile`): each module's self time and memory
    N x interleaved, timed exactly by the supervisor:
        python -c pass | python -c pass, lazy | the entry, plain | the entry, lazy

Every run goes through the measure runner's supervisor (`runner._spawn`): exact wall time to
the exit, the timeout, and the process group and leftovers killed after each run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from ..errors import BadInput
from ..measure.model import Profile, Stat
from ..measure.runner import (
    ProgressCallback,
    Target,
    _spawn,
    prepare_target,
)
from ..measure.runner import profile as profile_target
from ._fallback import Outcome, differs, error_line, find_eager_packages
from ._record import classify, lazy_argv, lazy_env, read_record
from .model import Deferred, Saved, TrialReport

__all__ = ["run_trial"]

_CHILD = Path(__file__).with_name("_child.py")
#: The directory holding the `hotstart` package: the child imports the hook from it.
_SOURCE = str(Path(__file__).resolve().parents[2])


def run_trial(target: Target, *, python: str | None = None, runs: int = 5,
              cwd: str | None = None, env: dict[str, str] | None = None,
              timeout: float | None = None, progress: ProgressCallback | None = None,
              profile: Profile | None = None) -> TrialReport:
    """Run `target` with every module-scope import lazy and report what its path used.

    `runs` timed runs each of the bare interpreter, the entry as it is and the entry lazy,
    interleaved. `profile` is an eager profile of the same entry to take self times from
    (`hotstart profile --trial` passes its own); without one, a one-run profile is made.
    Raises `BadInput` for a target that cannot be started, that fails without the trial
    too (its own error, one line), or on which the trial's hook cannot be installed.
    """
    if runs < 1:
        raise BadInput(f"--runs must be at least 1, got {runs}")
    argv, interpreter, base_env, cwd = prepare_target(target, python=python, cwd=cwd, env=env)
    steps = _Steps(progress, 3 + (0 if profile is not None else 1) + 4 * runs)
    with tempfile.TemporaryDirectory(prefix="hotstart-trial-") as work:
        inject = os.path.join(work, "inject")
        os.mkdir(inject)
        shutil.copyfile(_CHILD, os.path.join(inject, "sitecustomize.py"))
        counter = iter(range(1 << 30))

        def trial_env(mode: str, eager: frozenset[str], out: str | None) -> dict[str, str]:
            run_env = dict(base_env)
            run_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (inject, base_env.get("PYTHONPATH")) if p)
            if target.kind == "code":  # `-c "import pandas"` asks for pandas: its own
                eager = eager | {"__main__"}  # imports are lazy, not the one of the entry
            run_env.update(HOTSTART_TRIAL_MODE=mode, HOTSTART_TRIAL_EAGER=",".join(sorted(eager)),
                           HOTSTART_TRIAL_SRC=_SOURCE)
            if out:
                run_env["HOTSTART_TRIAL_OUT"] = out
            if mode == "lazy":
                run_env.update(lazy_env(version, target.kind))
            return run_env

        def recorded(mode: str, eager: frozenset[str] = frozenset()) -> Outcome:
            n = next(counter)
            out = os.path.join(work, f"record-{n}.json")
            stdout = os.path.join(work, f"stdout-{n}")
            run_argv = lazy_argv(argv, version, target.kind) if mode == "lazy" else argv
            run = _spawn(run_argv, trial_env(mode, eager, out), cwd, timeout, stdout=stdout)
            try:
                with open(stdout, "rb") as handle:
                    printed = handle.read()
            except OSError:
                printed = b""
            return Outcome(None if run.timed_out else run.exit_code, printed,
                           "\n".join(run.stderr.splitlines()[-200:]), read_record(out))

        version: tuple[int, ...] = (0, 0, 0)
        steps("eager run")
        eager = recorded("eager")
        _check_eager(eager, timeout)
        assert eager.record is not None
        version = eager.record.version
        steps("lazy run")
        lazy = recorded("lazy")
        if lazy.record is not None and lazy.record.error:
            raise BadInput(f"the trial's lazy-import hook could not be installed: "
                           f"{lazy.record.error}")
        notes: list[str] = []
        compare_stdout = True
        fallback_runs = 0
        only_stdout = (differs(eager, lazy) is not None
                       and differs(eager, lazy, compare_stdout=False) is None)
        if only_stdout:
            steps("eager run again (is its output stable?)")
            again = recorded("eager")
            fallback_runs += 1
            if again.stdout != eager.stdout:
                compare_stdout = False
                notes.append("the entry prints different output on each eager run: the lazy "
                             "run was compared by exit status only")

        def run_lazy(packages: frozenset[str]) -> Outcome:
            steps(f"lazy run with {len(packages)} package(s) eager", extra=True)
            return recorded("lazy", packages)

        chosen, lazy, extra = find_eager_packages(run_lazy, eager, lazy,
                                                  compare_stdout=compare_stdout)
        fallback_runs += extra
        identical = differs(eager, lazy, compare_stdout=compare_stdout) is None
        if not identical:
            notes.append(f"even with every deferred package eager the lazy run differs: "
                         f"{differs(eager, lazy, compare_stdout=compare_stdout)}")
        if lazy.record is None:
            raise BadInput("the lazy run left no record (it ended through os._exit or a "
                           "signal, or started no Python process the trial could follow); "
                           f"{error_line(lazy.stderr) or 'no error output'}")
        if profile is None:
            steps("eager profile (self time and memory of each module)")
            profile = profile_target(target, runs=1, calls=False, python=python, cwd=cwd,
                                     env=env, timeout=timeout)
        eager_walls: list[float] = []
        lazy_walls: list[float] = []
        floors: list[float] = []
        hook_floors: list[float] = []
        floor_python = interpreter or eager.record.executable or None
        lazy_run_argv = lazy_argv(argv, version, target.kind)
        for n in range(runs):
            if floor_python:
                steps("interpreter floor")
                floors.append(_spawn([floor_python, "-c", "pass"], base_env, cwd,
                                     timeout).wall_us)
                # The same with the hook installed: its fixed cost is not the path's.
                steps("interpreter floor, lazy")
                hook_floors.append(_spawn(
                    lazy_argv([floor_python, "-c", "pass"], version, "code"),
                    trial_env("lazy", frozenset(), None), cwd, timeout).wall_us)
            steps(f"eager run {n + 1}/{runs}")
            eager_walls.append(_timed(argv, base_env, cwd, timeout))
            steps(f"lazy run {n + 1}/{runs}")
            lazy_walls.append(_timed(lazy_run_argv, trial_env("lazy", frozenset(chosen), None),
                                     cwd, timeout))
        steps("done", extra=False, last=True)
    report = TrialReport(
        target=target.describe(), python=".".join(map(str, version)),
        engine=lazy.record.engine, runs=runs,
        eager_us=Stat.of(eager_walls), lazy_us=Stat.of(lazy_walls),
        floor_us=Stat.of(floors) if floors else None,
        hook_floor_us=Stat.of(hook_floors) if hook_floors else None,
        eager_packages=chosen, identical=identical, fallback_runs=fallback_runs,
        exit_code=eager.exit_code, notes=notes,
        loaded=len(lazy.record.modules), modules=sorted(eager.record.modules),
        created=datetime.now(UTC).isoformat(timespec="seconds"))
    _fill_modules(report, lazy, profile)
    if report.engine == "pep810":
        report.notes.append("PEP 810's interpreter records which modules were imported lazily, "
                            "not who used them: used modules have no first-use frame")
    return report


class _Steps:
    """Progress as (what, done, total); the fallback's runs extend the total."""

    def __init__(self, progress: ProgressCallback | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, what: str, *, extra: bool = False, last: bool = False) -> None:
        if extra:
            self.total += 1
        if self.progress is not None:
            self.progress(what, self.total if last else self.done, self.total)
        self.done += 1


def _timed(argv: list[str], env: dict[str, str], cwd: str, timeout: float | None) -> float:
    run = _spawn(argv, env, cwd, timeout)
    if run.timed_out:
        limit = f" within {timeout:g} s" if timeout else ""
        raise BadInput(f"a timed run of the target did not finish{limit}; raise --timeout")
    return run.wall_us


def _check_eager(eager: Outcome, timeout: float | None) -> None:
    """`BadInput` with the target's own error if it fails without the trial."""
    if eager.exit_code is None:
        limit = f" within {timeout:g} s" if timeout else ""
        raise BadInput(f"the target did not finish{limit} and was killed; raise --timeout or "
                       f"give an entry that exits")
    if eager.exit_code != 0:
        said = error_line(eager.stderr)
        how = (f"was killed by signal {-eager.exit_code}" if eager.exit_code < 0
               else f"exited with status {eager.exit_code}")
        raise BadInput(f"the target fails without the trial too: it {how}"
                       + (f": {said}" if said else ""))
    if eager.record is None:
        raise BadInput("the target started no Python process the trial could follow (an "
                       "interpreter run with -I, -E or -S ignores PYTHONPATH and site)")


def _fill_modules(report: TrialReport, lazy: Outcome, profile: Profile) -> None:
    """Used, unused and saved modules, and the predicted bound, from the final lazy record
    and the eager profile."""
    assert lazy.record is not None
    used, unused = classify(lazy.record)
    report.used = used
    loaded = set(lazy.record.modules) | set(lazy.record.preloaded)
    process = profile.processes[0] if profile.processes else None
    records = {m.name: m for m in process.imported()} if process is not None else {}
    for name, record in records.items():
        if name in loaded or name in process.preloaded:
            continue
        via = _via(name, records, unused)
        report.saved[name] = Saved(name, record.self_us.median,
                                   int(record.self_rss.median) if record.self_rss else None, via)
    for name, where in unused.items():
        mine = [s for s in report.saved.values() if s.via == name]
        rss = [s.self_rss for s in mine if s.self_rss is not None]
        report.unused[name] = Deferred(name, where, sum(s.self_us for s in mine),
                                       sum(rss) if rss else None, len(mine))
    before = report.before_ms
    if before is not None:
        report.predicted_us = before * 1e3 - sum(s.self_us for s in report.saved.values())


def _via(name: str, records: dict, unused: dict[str, str | None]) -> str | None:
    """The unused deferred module that would have loaded `name`: itself, or the nearest
    ancestor in the eager import tree (or a parent package) that is one."""
    seen = 0
    current: str | None = name
    while current is not None and seen <= len(records):
        if current in unused:
            return current
        parent = current.rpartition(".")[0]
        if parent in unused:
            return parent
        record = records.get(current)
        current = record.importer if record is not None else None
        seen += 1
    return None
