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
    project run (recorded, stdout kept) ───────────▶ only the project's own imports lazy
    N x interleaved, timed exactly by the supervisor:
        python -c pass | python -c pass, lazy | the entry, plain | the entry, lazy |
        the entry, project lazy

Two bounds: the all-lazy bound (libraries lazy too) and the project bound (only imports
executed by the project's own modules deferred: what rewriting the project's files reaches).

Every run goes through the measure runner's supervisor (`runner._spawn`): exact wall time to
the exit, the timeout, and the process group and leftovers killed after each run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput
from ..measure.model import Profile, Stat
from ..measure.runner import (
    ProgressCallback,
    Target,
    _spawn,
    prepare_target,
)
from ..measure.runner import profile as profile_target
from ._fallback import (
    Fallback,
    Outcome,
    differs,
    error_line,
    find_eager_packages,
    mark_unstable,
)
from ._record import classify, lazy_argv, lazy_env, read_record
from .model import Deferred, Saved, TrialReport

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["run_trial"]

_CHILD = Path(__file__).with_name("_child.py")
#: The directory holding the `hotstart` package: the child imports the hook from it.
_SOURCE = str(Path(__file__).resolve().parents[2])


def run_trial(target: Target, *, python: str | None = None, runs: int = 5,
              cwd: str | None = None, env: dict[str, str] | None = None,
              timeout: float | None = None, progress: ProgressCallback | None = None,
              profile: Profile | None = None, project: Sequence[str] | None = None
              ) -> TrialReport:
    """Run `target` with every module-scope import lazy and report what its path used.

    `runs` timed runs each of the bare interpreter (plain and with the hook), the entry as it
    is, the entry lazy and the entry with only the project's imports lazy (the project
    bound), interleaved. `profile` is an eager profile of the same entry to take self times
    from (`hotstart profile --trial` passes its own); without one, a profile of
    (runs + 1) // 2 timed runs is made. `project`: the project's files and directories (the
    audit passes its files); without it, the modules the profile calls first-party and the
    package of a `-m` entry (or the script). Raises `BadInput` for a target that cannot be
    started, that fails without the trial too (its own error, one line), or on which the
    trial's hook cannot be installed.
    """
    if runs < 1:
        raise BadInput(f"--runs must be at least 1, got {runs}")
    argv, interpreter, base_env, cwd = prepare_target(target, python=python, cwd=cwd, env=env)
    steps = _Steps(progress, 4 + (0 if profile is not None else 1) + 5 * runs)
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hotstart-trial-") as work:
        runner = _Runs(target, argv, base_env, cwd, timeout, work)
        steps("eager run")
        eager = runner.recorded("eager")
        _check_eager(eager, timeout, runner.started(1), python or argv[0])
        assert eager.record is not None
        runner.version = eager.record.version
        steps("lazy run")
        lazy = runner.recorded("lazy")
        output = _Output(runner, eager, notes, steps)

        def run_lazy(packages: frozenset[str], effects: frozenset[str]) -> Outcome:
            steps(f"lazy run with {len(packages) + len(effects)} package(s) eager",
                  extra=True)
            return runner.recorded("lazy", packages, effects)

        fallback = find_eager_packages(run_lazy, eager, lazy,
                                       settle=output.settle)
        lazy, fallback_runs = fallback.outcome, output.runs + fallback.runs
        difference = differs(eager, lazy, compare_stdout=output.compare)
        if difference is not None:
            notes.append(f"even with every deferred package eager the lazy run differs: "
                         f"{difference}")
        if lazy.record is None:
            raise BadInput("the lazy run left no record (it ended through os._exit or a "
                           "signal, or started no Python process the trial could follow); "
                           f"{error_line(lazy.stderr) or 'no error output'}")
        if profile is None:
            steps("eager profile (self time and memory of each module)")
            profile = profile_target(target, runs=(runs + 1) // 2, calls=False, python=python,
                                     cwd=cwd, env=env, timeout=timeout)
        mine = project_paths(target, profile, cwd) if project is None else list(project)
        project_run = None
        if mine:
            runner.project = os.path.join(work, "project.txt")
            with open(runner.project, "w", encoding="utf-8") as handle:
                handle.write("".join(f"{path}\n" for path in mine))
            steps("lazy run, the project's imports only")
            project_run = _project_fallback(runner, eager, fallback, output, steps)
            # (the output check may have run for the project run only)
            fallback_runs = output.runs + fallback.runs + project_run.runs
        else:
            notes.append("no module of the project was found on this path: no project bound")
            steps.total -= 1 + runs  # no project runs
        walls = runner.timed(runs, interpreter or eager.record.executable or None,
                             frozenset(fallback.eager), frozenset(fallback.effects), steps,
                             project_run)
        steps("done", last=True)
    report = TrialReport(
        target=target.describe(), python=".".join(map(str, runner.version)),
        engine=lazy.record.engine, runs=runs,
        eager_us=_stat(walls["eager"]), lazy_us=_stat(walls["lazy"]),
        floor_us=_stat(walls["floor"]), hook_floor_us=_stat(walls["hook floor"]),
        eager_packages={**{name: f"its side-effect imports only: {why}"
                           for name, why in fallback.effects.items()}, **fallback.eager},
        identical=difference is None, fallback_runs=fallback_runs,
        exit_code=eager.exit_code, notes=notes,
        loaded=len(lazy.record.modules), modules=sorted(eager.record.modules),
        created=datetime.now(UTC).isoformat(timespec="seconds"), project=mine,
        project_us=_stat(walls["project"]))
    report.notes += [f"{name} stayed lazy: {why}" for name, why in fallback.cleared.items()]
    _fill_modules(report, lazy, profile)
    if project_run is not None:
        _fill_project(report, project_run, fallback, profile,
                      differs(eager, project_run.outcome, compare_stdout=output.compare))
    if report.engine == "pep810":
        report.notes.append("PEP 810's interpreter records which modules were imported lazily, "
                            "not who used them: used modules have no first-use frame")
    return report


class _Runs:
    """The runs of one trial, in its scratch directory `work`: recorded ones (the child
    writes its record, stdout is kept) and timed ones (nothing recorded)."""

    def __init__(self, target: Target, argv: list[str], env: dict[str, str], cwd: str,
                 timeout: float | None, work: str) -> None:
        self.target, self.argv, self.base_env, self.cwd = target, argv, env, cwd
        self.timeout, self.work = timeout, work
        #: The target interpreter's version, from the first record (3.15+: PEP 810).
        self.version: tuple[int, ...] = (0, 0, 0)
        #: The file naming the project (see `_child`), for the project-lazy runs.
        self.project: str | None = None
        self.inject = os.path.join(work, "inject")
        os.mkdir(self.inject)
        shutil.copyfile(_CHILD, os.path.join(self.inject, "sitecustomize.py"))
        self.count = 0

    def env(self, mode: str, eager: frozenset[str], out: str | None,
            effects: frozenset[str] = frozenset(), project: bool = False) -> dict[str, str]:
        """The environment of a run with the child: `mode`, `eager` packages, packages whose
        side-effect imports are eager (`effects`), record `out`; `project`: only the
        project's own imports lazy."""
        run_env = dict(self.base_env)
        run_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (self.inject, self.base_env.get("PYTHONPATH")) if p)
        if self.target.kind == "code":  # `-c "import pandas"` asks for pandas: its own
            eager = eager | {"__main__"}  # imports are lazy, not the one of the entry
        run_env.update(HOTSTART_TRIAL_MODE=mode, HOTSTART_TRIAL_EAGER=",".join(sorted(eager)),
                       HOTSTART_TRIAL_EFFECTS=",".join(sorted(effects)),
                       HOTSTART_TRIAL_SRC=_SOURCE)
        if out:
            run_env["HOTSTART_TRIAL_OUT"] = out
        if project and self.project:
            run_env["HOTSTART_TRIAL_PROJECT"] = self.project
        if mode == "lazy":
            run_env.update(lazy_env(self.version, self.target.kind))
        return run_env

    def argv_for(self, mode: str, argv: list[str] | None = None, kind: str | None = None
                 ) -> list[str]:
        argv = self.argv if argv is None else argv
        if mode != "lazy":
            return argv
        return lazy_argv(argv, self.version, kind or self.target.kind)

    def recorded(self, mode: str, eager: frozenset[str] = frozenset(),
                 effects: frozenset[str] = frozenset(), project: bool = False) -> Outcome:
        """One run that writes its record: its exit status, stdout, stderr and record."""
        self.count += 1
        out = self._record_path(self.count)
        stdout = os.path.join(self.work, f"stdout-{self.count}")
        run = _spawn(self.argv_for(mode), self.env(mode, eager, out, effects, project),
                     self.cwd, self.timeout, stdout=stdout)
        try:
            with open(stdout, "rb") as handle:
                printed = handle.read()
        except OSError:
            printed = b""
        record = read_record(out)
        if mode == "lazy" and record is not None and record.error:
            # Every lazy run, not only the first: a run without the hook is an eager run,
            # and would pass the fallback's comparison as "identical".
            raise BadInput(f"the trial's lazy-import hook could not be installed: "
                           f"{record.error}")
        return Outcome(None if run.timed_out else run.exit_code, printed, run.stderr, record)

    def _record_path(self, count: int) -> str:
        return os.path.join(self.work, f"record-{count}.json")

    def started(self, count: int) -> str | None:
        """The interpreter version ("3.11.7") the trial's child of recorded run `count`
        wrote when it started; None if it did not start (the record is written at exit)."""
        try:
            with open(f"{self._record_path(count)}.started", encoding="utf-8") as handle:
                return handle.read(40)
        except OSError:
            return None

    def timed(self, runs: int, floor_python: str | None, eager: frozenset[str],
              effects: frozenset[str], steps: _Steps, project: Fallback | None = None
              ) -> dict[str, list[float]]:
        """`runs` rounds of exact wall times, interleaved: `python -c pass` plain and with
        the hook (its fixed cost is not the path's), the entry plain and lazy, and with
        `project` (the project run's fallback) the entry with the project's imports lazy."""
        walls: dict[str, list[float]] = {"floor": [], "hook floor": [], "eager": [], "lazy": [],
                                         "project": []}
        plain_env, lazy_env_ = self.base_env, self.env("lazy", eager, None, effects)
        project_env = (self.env("lazy", frozenset(project.eager), None,
                                frozenset(project.effects), project=True)
                       if project is not None else None)
        for n in range(runs):
            if floor_python:
                floor = [floor_python, "-c", "pass"]
                steps("interpreter floor")
                walls["floor"].append(self._wall(floor, plain_env))
                steps("interpreter floor, lazy")
                walls["hook floor"].append(self._wall(
                    self.argv_for("lazy", floor, "code"), self.env("lazy", frozenset(), None)))
            steps(f"eager run {n + 1}/{runs}")
            walls["eager"].append(self._wall(self.argv, plain_env))
            steps(f"lazy run {n + 1}/{runs}")
            walls["lazy"].append(self._wall(self.argv_for("lazy"), lazy_env_))
            if project_env is not None:
                steps(f"lazy run, the project's imports only {n + 1}/{runs}")
                walls["project"].append(self._wall(self.argv_for("lazy"), project_env))
        return walls

    def _wall(self, argv: list[str], env: dict[str, str]) -> float:
        run = _spawn(argv, env, self.cwd, self.timeout)
        if run.timed_out:
            limit = f" within {self.timeout:g} s" if self.timeout else ""
            raise BadInput(f"a timed run of the target did not finish{limit}; raise --timeout")
        return run.wall_us


class _Output:
    """Whether the entry's output is the same from run to run, checked once, the first time
    a lazy run differs from the eager one by its output only: what varies between two eager
    runs (timings, addresses) is not compared (`mark_unstable`), and if a lazy run, run
    again, prints other output, the lazy runs are compared by exit status only (`compare`
    False). `runs`: the runs this took."""

    def __init__(self, runner: _Runs, eager: Outcome, notes: list[str], steps: _Steps
                 ) -> None:
        self.runner, self.eager, self.notes, self.steps = runner, eager, notes, steps
        self.compare, self.runs, self.checked = True, 0, False

    def settle(self, lazy: Outcome, again: Callable[[], Outcome]) -> bool:
        """Check the output's stability if the lazy run `lazy` differs by its output only
        and it was not checked yet (`again()`: the same lazy run once more); whether the
        output is to be compared."""
        eager = self.eager
        if self.checked or differs(eager, lazy) is None \
                or differs(eager, lazy, compare_stdout=False) is not None:
            return self.compare
        self.checked = True
        self.steps("eager run again (is its output stable?)", extra=True)
        self.runs += 1
        self.notes += mark_unstable(eager, self.runner.recorded("eager"))
        if differs(eager, lazy) is None:
            return self.compare
        self.runs += 1
        rerun = again()
        if (rerun.stdout, rerun.stderr) != (lazy.stdout, lazy.stderr):
            self.compare = False
            self.notes.append("the entry's output differs between two lazy runs: the lazy "
                              "runs were compared by exit status only")
        return self.compare


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


def _stat(values: list[float]) -> Stat | None:
    return Stat.of(values) if values else None


def _check_eager(eager: Outcome, timeout: float | None, started: str | None,
                 interpreter: str) -> None:
    """`BadInput` with the target's own error if it fails without the trial, or if it runs
    on a Python older than 3.11 (`started`: the version its child wrote at start)."""
    version = tuple(int(part) for part in (started or "").split(".") if part.isdigit())
    if version and version < (3, 11):
        raise BadInput(f"the lazy trial needs Python 3.11 or newer; {interpreter} is "
                       f"{started} (give --python a 3.11+ interpreter)")
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
    if eager.record is None and started:
        raise BadInput("the target ended without running its atexit handlers (os._exit or "
                       "a fatal signal): the trial records what a run loaded at its exit; "
                       "give an entry that returns or calls sys.exit")
    if eager.record is None:
        raise BadInput("the target started no Python process the trial could follow (an "
                       "interpreter run with -I, -E or -S ignores PYTHONPATH and site)")


def project_paths(target: Target, profile: Profile, cwd: str) -> list[str]:
    """The project of an entry when none is given: the file of every module the eager
    profile calls first-party, and the entry's own package (`-m pkg.mod`: the directory of
    `pkg`, wherever it is installed) or script. Directories end in a separator."""
    process = profile.processes[0] if profile.processes else None
    records = {m.name: m for m in process.imported()} if process is not None else {}
    found = {m.file for m in records.values() if m.kind == "first-party" and m.file
             and os.path.isabs(m.file)}
    if target.kind == "module":
        top = records.get(target.value.partition(".")[0])
        if top is not None and top.file and os.path.isabs(top.file):
            found.add(os.path.join(os.path.dirname(top.file), "")
                      if os.path.basename(top.file).startswith("__init__.") else top.file)
    elif target.kind == "script":
        found.add(os.path.abspath(os.path.join(cwd, target.value)))
    return sorted(found)


def _project_fallback(runner: _Runs, eager: Outcome, fallback: Fallback,
                      output: _Output, steps: _Steps) -> Fallback:
    """The recorded run with only the project's imports lazy. Nothing is kept eager first
    (a package the all-lazy fallback keeps eager is often broken by its own deferred imports,
    which stay eager here; keeping it eager would keep the project's imports of it eager
    too); if the output differs, again with the all-lazy fallback's packages eager, and the
    fallback on top of them if it still does. Its `runs` count the runs after the first."""
    def run_first() -> Outcome:
        steps("lazy run, the project's imports only, again", extra=True)
        return runner.recorded("lazy", project=True)

    first = runner.recorded("lazy", project=True)
    compare_stdout = output.settle(first, run_first)
    if differs(eager, first, compare_stdout=compare_stdout) is None \
            or not (fallback.eager or fallback.effects):
        base, base_effects, runs = frozenset(), frozenset(), 0
    else:
        base, base_effects, runs = frozenset(fallback.eager), frozenset(fallback.effects), 1
        steps("lazy run, the project's imports only, with the packages above eager",
              extra=True)
        first = runner.recorded("lazy", base, base_effects, project=True)

    def run_project(packages: frozenset[str], effects: frozenset[str]) -> Outcome:
        steps(f"lazy run, the project's imports only, with "
              f"{len(base | packages) + len(base_effects | effects)} package(s) eager",
              extra=True)
        return runner.recorded("lazy", base | packages, base_effects | effects, project=True)

    found = find_eager_packages(run_project, eager, first, compare_stdout=compare_stdout,
                                settle=output.settle)
    found.runs += runs
    kept = {name: fallback.eager[name] for name in base}
    found.eager = {**kept, **found.eager}
    found.effects = {name: why for name, why in
                     {**{n: fallback.effects[n] for n in base_effects}, **found.effects}.items()
                     if name not in found.eager}
    return found


def _fill_project(report: TrialReport, run: Fallback, fallback: Fallback, profile: Profile,
                  difference: str | None) -> None:
    """The project run's figures: what it never loaded and its predicted bound; notes for
    what its own fallback kept eager."""
    report.project_identical = difference is None
    if difference is not None:
        report.notes.append(f"the project's lazy run still differs: {difference}")
    more = sorted(set(run.eager) - set(fallback.eager))
    report.notes += [f"project bound: {name} kept eager too: {run.eager[name]}"
                     for name in more]
    if fallback.eager and not set(fallback.eager) & set(run.eager):
        their = "its" if len(fallback.eager) == 1 else "their"
        report.notes.append(f"project bound: {', '.join(sorted(fallback.eager))} lazy in the "
                            f"project's imports (only {their} own imports broke laziness, "
                            f"and they stay eager there)")
    report.notes += [f"project bound: {name} stayed lazy: {why}"
                     for name, why in run.cleared.items()]
    record = run.outcome.record
    if record is None:
        report.notes.append("the project's lazy run left no record: no predicted project "
                            "bound")
        return
    report.project_loaded = len(record.modules)
    if not (record.filtered or record.deferred or record.reified):
        report.notes.append("the project's lazy run deferred no import (no module of the "
                            "project executed one on this path): the project bound is the "
                            "start-up as it is")
    never = _never_loaded(profile, set(record.modules) | set(record.preloaded))
    report.project_saved = sorted(never)
    if report.profile_us is not None:
        report.project_predicted_us = report.profile_us - sum(
            m.self_us.median for m in never.values())


def _never_loaded(profile: Profile, loaded: set[str]) -> dict:
    """The eager profile's module records (name -> record) a lazy run never loaded."""
    process = profile.processes[0] if profile.processes else None
    if process is None:
        return {}
    preloaded = set(process.preloaded)
    return {m.name: m for m in process.imported()
            if m.name not in loaded and m.name not in preloaded}


def _fill_modules(report: TrialReport, lazy: Outcome, profile: Profile) -> None:
    """Used, unused and saved modules, and the predicted bound, from the final lazy record
    and the eager profile."""
    assert lazy.record is not None
    used, unused = classify(lazy.record, report.modules)
    report.used = used
    process = profile.processes[0] if profile.processes else None
    records = {m.name: m for m in process.imported()} if process is not None else {}
    for name, record in _never_loaded(profile, set(lazy.record.modules)
                                      | set(lazy.record.preloaded)).items():
        via = _via(name, records, unused)
        report.saved[name] = Saved(name, record.self_us.median,
                                   int(record.self_rss.median) if record.self_rss else None, via)
    for name, where in unused.items():
        mine = [s for s in report.saved.values() if s.via == name]
        rss = [s.self_rss for s in mine if s.self_rss is not None]
        report.unused[name] = Deferred(name, where, sum(s.self_us for s in mine),
                                       sum(rss) if rss else None, len(mine))
    # Start-up and self times from the same (profile) runs: figures from two measurements
    # on a busy machine could disagree by more than the saving.
    if profile.wall_us is not None:
        floor = profile.floor_us.median if profile.floor_us is not None else 0.0
        report.profile_us = profile.wall_us.median - floor
        report.predicted_us = report.profile_us - sum(s.self_us for s in report.saved.values())


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
