"""How deep `hotstart fix` cuts on real PyPI projects, against the lazy trial's bound.

Issue 11's "Done when": before | fix as it was (per-site plans) | fix with joint plans | fix
with the codemods | the bound a perfect cut of the path reaches, and the ratio of each to the
bound.

For each target of `_cut_targets.py` (hatch, huggingface_hub's `hf`, celery, xarray, faker,
sqlite-utils, and the jobrunner example as the reference), copies are made as
`bench_audit.py` makes them (the installed package directory plus the sdist's tests and
config; `PYTHONPATH=<copy>` shadows the installed package, which is checked), one per variant,
each compiled with compileall (PYTHONDONTWRITEBYTECODE=1 here, so imports write no .pyc):

- `before`: the code as published;
- `sites`: `hotstart fix COPY --entry ENTRY --write --verify TESTS --plan sites --select
  dead,deferrable,typing-only` (fix as it was before issue 11);
- `joint`: the same with `--plan joint` (sites grouped by what leaves the path together);
- `codemods`: `--plan joint --select` every class the build has (with `hot-calls` and `cli`),
  `--runtime hotstart` (lazy subcommands live in `hotstart.lazy.cli`);
- the bounds: `hotstart trial ENTRY` on `before` (every module-scope import lazy; measured
  and predicted); and, as real runs in the timed rounds, the entry under hotstart's run-time
  lazy mode (`hotstart.lazy.enable("all")` with a filter leaving the trial's eager packages
  eager): `lazy-all` (every module-scope import lazy, the trial's bound) and `lazy-project`
  (only the imports the target's own modules execute: the bound of a perfect cut of the
  project, since `fix` never rewrites the dependencies or the standard library); their fixed
  cost (importing runpy and `hotstart.lazy`, installing the hook: `lazy-floor`, the same
  wrapper running `pass`) is taken off them, so a bound is not flattered by it.

Each variant's copy is compiled again after its fix; its tests run once (passed counts must
equal before's: 0 regressions), `--help` of the program and of every subcommand is compared
byte for byte with `before` (CLI targets), and the modules loaded at the entry's exit are
listed. Then every contender runs alone, interleaved: each round runs `python -c pass` (the
floor) and every copy's entry once, in an order that reverses every round, after 2 warm-up
rounds; medians with min/max. Each run records its wall time and the child's own CPU time
(user + system from `wait4` on its pid), which does not count waiting for the other core; the
verdict table shows both and says when the goal is met by CPU time only (on this VM the two
moved together: the noise is in the CPU, not in waiting). Ratio = (before - after) / (before -
bound) within one setup, as shares of the start-up above the floor: the variant's share saved
in these rounds over the bound's share, from the trial's own interleaved eager and lazy runs
(measured and predicted) and from the lazy runs in these rounds (all, project). The fixes of a
target run two at a time (`--jobs`); the timed rounds run alone.

hotstart itself is a `git archive` snapshot of a commit (`--rev`, default HEAD) put first on
PYTHONPATH, so uncommitted work in the tree does not leak in; parts the build lacks (no
`--plan`, no `trial`, no `hot-calls`/`cli` select) are reported as "n/a: not available in this
build".

`--rounds N` (default 21), `--only NAME,...` (package names), `--variants sites,joint,...`,
`--keep`, `--json FILE` (raw results, for GAPS notes). Takes about 25 minutes on a 2-core VM.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _audit_checks import differing, snapshot
from _cut_build import IMPORT_CLASSES, PROGRAM_SELECTS, Build, detect, snapshot_build
from _cut_checks import help_differences, help_paths, help_snapshot, loaded_modules
from _cut_report import report_target, summary_tables, verdicts
from _cut_targets import TARGETS_CUT, CutTarget
from _timing import Series, python_info, run_once_cpu
from bench_audit import (
    PYTEST,
    Copy,
    compile_tree,
    make_copy,
    pyc_valid,
    run_tests,
    shadow_check,
    version_of,
)

VARIANTS = ("sites", "joint", "codemods")
VENV_BIN = str(Path(sys.executable).parent)


# --- environment and commands -------------------------------------------------------------


def copy_env(target: CutTarget, copy: Copy, build: Build) -> dict[str, str]:
    """The environment every run of this copy gets: the copy first on PYTHONPATH, then the
    measured hotstart; the venv's bin on PATH (hatch's tests look up `uv`); the target's own."""
    # the copy first: it must shadow the installed package
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(copy.path), str(build.src)]),
               **dict(target.env))
    env["PATH"] = VENV_BIN + os.pathsep + env.get("PATH", "")
    return env


def test_command(target: CutTarget, copy: Copy, build: Build) -> str:
    env = copy_env(target, copy, build)
    exports = " ".join(f"{name}={shlex.quote(env[name])}"
                       for name in ("PYTHONPATH", "PATH", *dict(target.env)))
    runs = [shlex.join([sys.executable, *PYTEST, *tests])
            for tests in (target.tests, *target.suites)]
    return f"cd {shlex.quote(str(copy.root))} && export {exports} && " + " && ".join(runs)


def new_copy(target: CutTarget, base: Path, name: str) -> Copy:
    copy = make_copy(target, base / name)
    for path in target.touch:
        (copy.root / path).touch()
    compile_tree(copy.root)
    return copy


def tests_dir(target: CutTarget, copy: Copy) -> Path | None:
    """The test directory `fix --tests` reads for patch('mod.Name') pins, outside the package."""
    if target.kind != "sdist":
        return None
    for name in target.sdist:
        if (copy.root / name).is_dir():
            return copy.root / name
    return None


# --- the fix variants -----------------------------------------------------------------------


def fix_argv(variant: str, target: CutTarget, copy: Copy, build: Build) -> list[str] | str:
    """The `hotstart fix` command of a variant, or why the build cannot run it."""
    if variant in ("joint", "codemods") and not build.has_plan:
        return "n/a: not available in this build (no `fix --plan`)"
    select = list(IMPORT_CLASSES)
    if variant == "codemods":
        extra = [s for s in PROGRAM_SELECTS if s in build.selectable]
        if not extra:
            return "n/a: not available in this build (no `hot-calls`/`cli` select)"
        select = [s for s in build.selectable]
    argv = ["fix", str(copy.fix_target), "--write", "-q",
            "--verify", test_command(target, copy, build), "--verify-timeout", "600",
            "--select", ",".join(select),
            "--runtime", "hotstart" if variant == "codemods" else "stdlib"]
    if build.has_plan:
        argv += ["--plan", "sites" if variant == "sites" else "joint"]
    for entry in copy.entries(target):
        argv += ["--entry", entry]
    tests = tests_dir(target, copy)
    if tests is not None:
        argv += ["--tests", str(tests)]
    return build.hotstart(*argv)


def run_fix(variant: str, target: CutTarget, base: Path, build: Build, out_dir: Path) -> dict:
    copy = new_copy(target, base, variant)
    argv = fix_argv(variant, target, copy, build)
    out: dict = {"variant": variant, "copy": copy}
    if isinstance(argv, str):
        out["na"] = argv
        return out
    start = time.perf_counter()
    done = subprocess.run(argv, env=copy_env(target, copy, build), cwd=copy.root,
                          capture_output=True, text=True, check=False, timeout=3600)
    out["seconds"] = time.perf_counter() - start
    out["returncode"] = done.returncode
    log = out_dir / f"{target.package}-{variant}.txt"
    log.write_text(f"$ {shlex.join(argv)}\n\n{done.stdout}\n--- stderr ---\n{done.stderr}")
    out["log"] = str(log)
    out["output"] = done.stdout
    out["stderr_tail"] = done.stderr.strip().splitlines()[-3:]
    compile_tree(copy.root)
    return out


# --- the trial ------------------------------------------------------------------------------


def run_trial(target: CutTarget, copy: Copy, build: Build, out_dir: Path) -> dict:
    if not build.has_trial:
        return {"na": "n/a: not available in this build (no `hotstart trial`)"}
    path = out_dir / f"{target.package}-trial.json"
    argv = build.hotstart("trial", "--runs", "7", "--format", "json", "-o", str(path), "-q",
                          *target.entry)
    start = time.perf_counter()
    done = subprocess.run(argv, env=copy_env(target, copy, build), cwd=copy.root,
                          capture_output=True, text=True, check=False, timeout=1800)
    seconds = time.perf_counter() - start
    if done.returncode != 0 or not path.is_file():
        return {"error": (done.stderr.strip().splitlines() or ["(no output)"])[-1][:300],
                "seconds": seconds}
    return dict(read_trial(path, build), seconds=seconds)


def read_trial(path: Path, build: Build) -> dict:
    """A saved trial report, read by the build's own reader."""
    read = subprocess.run([sys.executable, "-c", READ_TRIAL, str(path)],
                          env=build.env(dict(os.environ)), capture_output=True, text=True,
                          check=False)
    try:
        data = json.loads(read.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"reading {path.name}: {read.stderr.strip()[-300:]}", "seconds": 0.0}
    return dict(data, path=str(path))


# the report read by the build's own reader (its properties, not its JSON layout)
READ_TRIAL = """
import json, sys
from hotstart.trial import load_trial
r = load_trial(sys.argv[1])
profile = getattr(r, "profile_us", None)
print(json.dumps({"before_ms": r.before_ms, "bound_ms": r.bound_ms,
                  "profile_ms": profile / 1e3 if profile else None,
                  "bound_predicted_ms": r.bound_predicted_ms,
                  "project_bound_ms": getattr(r, "project_bound_ms", None),
                  "project_bound_predicted_ms": getattr(r, "project_bound_predicted_ms", None),
                  "unused": sorted(r.unused),
                  "saved": sorted(r.saved), "eager_packages": dict(r.eager_packages),
                  "identical": r.identical}))
"""


# --- timing ---------------------------------------------------------------------------------


LAZY_RUN = """
import runpy, sys
import hotstart.lazy as lazy
eager = set(sys.argv[1].split(",")) - {""}
project = sys.argv[2]
def lazy_here(importing, imported, fromlist):
    if imported.partition(".")[0] in eager:
        return False
    return not project or importing.partition(".")[0] == project
lazy.set_filter(lazy_here)
lazy.enable("all")
kind, what, *args = sys.argv[3:]
if kind == "-m":
    sys.argv[:] = [what, *args]
    runpy.run_module(what, run_name="__main__", alter_sys=True)
else:
    sys.argv[:] = ["-c", *args]
    sys.path.insert(0, "")
    exec(compile(what, "<string>", "exec"), {"__name__": "__main__"})
"""

# the bounds run in the timed rounds: every module-scope import lazy (the trial's bound, as a
# real run), and only those the project's own modules execute (what a perfect cut of the
# project reaches: `fix` rewrites the project's files, never its dependencies' nor the
# standard library's)
LAZY_SCOPES = {"lazy-all": False, "lazy-project": True}


def lazy_contender(name: str, target: CutTarget, before: Copy, build: Build,
                   trial: dict) -> Series | str:
    """A bound as a real run in these rounds: the entry under hotstart's run-time lazy mode
    (`enable("all")`, with the hook's own cost), the packages the trial had to make eager
    excluded by a filter (and, for `lazy-project`, every import that is not executed by a
    module of the target's package); or why there is none. Its exit code and stdout must
    equal the eager run's."""
    if not build.has_launcher:
        return "n/a: no run-time lazy mode in this build"
    if target.entry[0] not in ("-m", "-c"):
        return "n/a: a script entry"
    env = copy_env(target, before, build)
    project = target.package if LAZY_SCOPES[name] else ""
    eager_run = subprocess.run([sys.executable, *target.entry], env=env, cwd=before.root,
                               capture_output=True, check=False, timeout=300)
    trial_eager = set(trial.get("eager_packages") or ())
    # the trial may blame the project itself (the innermost frame of a traceback) beside the
    # dependency its bisection found: first try with the project lazy, then as the trial left it
    tries = [trial_eager - {target.package}, trial_eager] if target.package in trial_eager \
        else [trial_eager]
    for eager in tries:
        series = Series(name, [sys.executable, "-c", LAZY_RUN, ",".join(sorted(eager)),
                               project, *target.entry], env)
        lazy_run = subprocess.run(series.argv, env=env, cwd=before.root, capture_output=True,
                                  check=False, timeout=300)
        if (eager_run.returncode, eager_run.stdout) == (lazy_run.returncode, lazy_run.stdout):
            return series
    last = (lazy_run.stderr.decode(errors="replace").strip().splitlines() or ["-"])[-1]
    return (f"dropped: under the lazy mode the entry exited {lazy_run.returncode} (eager: "
            f"{eager_run.returncode}) or printed other bytes; {last[:160]}")


def contenders(target: CutTarget, copies: dict[str, Copy], lazies: list[Series],
               build: Build) -> list[Series]:
    """The floor, every copy's entry, and the lazy runs of the bounds."""
    series = [Series("floor", [sys.executable, "-c", "pass"],
                     copy_env(target, copies["before"], build))]
    for name, copy in copies.items():
        series.append(Series(name, [sys.executable, *target.entry],
                             copy_env(target, copy, build)))
    if lazies:  # the lazy runs' fixed cost (runpy, hotstart.lazy, the hook), taken off them
        series.append(Series("lazy-floor", [sys.executable, "-c", LAZY_RUN, "", "", "-c",
                                            "pass"], lazies[0].env))
    return series + lazies


def measure(series: list[Series], cwds: dict[str, Path], rounds: int) -> None:
    """Every contender alone, once per round, the order reversed every other round; two
    unrecorded warm-up rounds."""
    for index in range(rounds + 2):
        order = series if index % 2 == 0 else list(reversed(series))
        for s in order:
            wall, cpu = run_once_cpu(s.argv, s.env, cwds.get(s.label, cwds["before"]))
            if index >= 2:
                s.samples_ms.append(wall)
                s.cpu_ms.append(cpu)


# --- one target -----------------------------------------------------------------------------


def run_target(target: CutTarget, base: Path, build: Build, rounds: int, variants: tuple,
               out_dir: Path, jobs: int) -> dict:
    work = base / target.package
    out: dict = {"target": target, "version": version_of(target)}
    before = new_copy(target, work, "before")
    out["shadow"] = shadow_check(target, before)
    out["tests_before"] = run_tests(test_command(target, before, build))
    out["trial"] = run_trial(target, before, build, out_dir)
    # the fixes run side by side (`--jobs`): what a fix changes is decided by module sets, not
    # by its timings; the timed rounds below run alone
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        running = {v: pool.submit(run_fix, v, target, work, build, out_dir) for v in variants}
        fixes = {v: job.result() for v, job in running.items()}
    out["fixes"] = fixes
    copies = {"before": before}
    copies.update({v: f["copy"] for v, f in fixes.items() if "na" not in f})
    old = snapshot(before.root)
    program = [sys.executable, *target.entry[:-1]] if target.entry[-1] == "--help" else None
    env_before = copy_env(target, before, build)
    paths = help_paths(target, program, env_before, before.root) if program else []
    out["help_paths"] = paths
    helps = help_snapshot(program, paths, env_before, before.root) if program else {}
    out["modules"] = {"before": loaded_modules(target.entry, env_before, before.root)}

    def check(variant: str) -> None:
        fix = fixes[variant]
        copy = fix["copy"]
        env = copy_env(target, copy, build)
        fix["changed"] = differing(old, snapshot(copy.root))
        fix["tests"] = run_tests(test_command(target, copy, build))
        fix["pyc"] = pyc_valid(copy.root)
        if program:
            fix["help"] = help_differences(helps, help_snapshot(program, paths, env,
                                                                copy.root))
        out["modules"][variant] = loaded_modules(target.entry, env, copy.root)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(check, [v for v, fix in fixes.items() if "na" not in fix]))
    out["pyc_before"] = pyc_valid(before.root)
    return timed_rounds(out, target, copies, before, build, rounds)


def retime_target(target: CutTarget, base: Path, build: Build, rounds: int,
                  variants: tuple) -> dict:
    """The timed rounds (and the module counts) again, on the copies a `--keep` run left in
    `base` and with the trial report it saved: for a run whose timed rounds were disturbed or
    lost. The fixes, tests and helps are that run's (its per-target section)."""
    work = base / target.package
    if not (work / "before").is_dir():
        raise LookupError(f"no kept copies of {target.package} in {base}")
    copies = {name: Copy(target, work / name) for name in ("before", *variants)
              if (work / name).is_dir()}
    path = base / "logs" / f"{target.package}-trial.json"
    trial = read_trial(path, build) if path.is_file() else {"na": "no saved trial"}
    out: dict = {"target": target, "version": version_of(target), "trial": trial,
                 "fixes": {v: ({} if v in copies else {"na": "no kept copy"})
                           for v in variants},
                 "modules": {name: loaded_modules(target.entry, copy_env(target, c, build),
                                                  c.root) for name, c in copies.items()}}
    return timed_rounds(out, target, copies, copies["before"], build, rounds)


def timed_rounds(out: dict, target: CutTarget, copies: dict, before: Copy, build: Build,
                 rounds: int) -> dict:
    """The lazy runs of the bounds beside the copies' entries, timed interleaved, into
    `out` (which holds the target's trial)."""
    lazies = {name: lazy_contender(name, target, before, build, out["trial"])
              for name in LAZY_SCOPES}
    out["lazy"] = {name: lazy if isinstance(lazy, str) else "measured"
                   for name, lazy in lazies.items()}
    series = contenders(target, copies, [s for s in lazies.values() if isinstance(s, Series)],
                        build)
    measure(series, {name: c.root for name, c in copies.items()}, rounds)
    out["series"] = {s.label: s for s in series}
    return out


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21,
                        help="interleaved timing rounds per target (default 21)")
    parser.add_argument("--only", default=None, help="comma-separated package names (" +
                        ", ".join(t.package for t in TARGETS_CUT) + ")")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated fix variants (default: all)")
    parser.add_argument("--rev", default="HEAD", help="the hotstart commit to measure")
    parser.add_argument("--jobs", type=int, default=2,
                        help="fixes (and their checks) run side by side (default 2); the "
                             "timed rounds always run alone")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument("--json", default=None, help="also write the raw results here")
    parser.add_argument("--retime", default=None, metavar="DIR",
                        help="only the timed rounds again, on the copies a --keep run left "
                             "in DIR (with its hotstart snapshot and saved trials)")
    parser.add_argument("--results-from", default=None, metavar="FILE.json",
                        help="with --retime: the --json of the run that made the copies, "
                             "for its fixes' tests and helps in the verdicts")
    args = parser.parse_args()
    earlier = {}
    if args.results_from:
        earlier = {o["target"]: o for o in json.loads(Path(args.results_from).read_text())}
    only = set(args.only.split(",")) if args.only else None
    variants = tuple(v for v in args.variants.split(",") if v)
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"--variants: unknown {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    if args.retime:
        base = Path(args.retime)
        build = detect(Build(base / "hotstart" / "src", f"the snapshot in {base}"))
        args.keep = True
    else:
        base = Path(tempfile.mkdtemp(prefix="hotstart-bench-cut-"))
        (base / "logs").mkdir()
        build = snapshot_build(REPO, base / "hotstart", args.rev)
    out_dir = base / "logs"
    print(f"{python_info()}; {os.cpu_count()} CPUs; {build.describe()}\n")
    print(f".pyc: PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}: "
          f"every copy is compiled with compileall before and after its fix; hotstart's "
          f"snapshot is compiled; dependencies use the .pyc pip wrote.\n")
    outs = []
    try:
        for target in TARGETS_CUT:
            if only is not None and target.package not in only:
                continue
            step, load = time.perf_counter(), os.getloadavg()[0]
            try:
                if args.retime:
                    out = retime_target(target, base, build, args.rounds, variants)
                    before_run = earlier.get(target.name)
                    if before_run is not None:  # that run's tests and helps, per fix
                        out["fixes"] = {v: {**before_run["fixes"].get(v, {}), **out["fixes"][v]}
                                        for v in variants}
                        for key in ("tests_before", "help_paths"):
                            if key in before_run:
                                out[key] = before_run[key]
                else:
                    out = run_target(target, base, build, args.rounds, variants, out_dir,
                                     args.jobs)
            except LookupError as exc:
                print(f"### {target.name}\n\nskipped: {exc}\n")
                continue
            if not args.retime:
                report_target(out)
            outs.append(out)
            print(f"_({target.name}: {time.perf_counter() - step:.0f} s, "
                  f"{time.strftime('%H:%M', time.gmtime())} UTC; load average "
                  f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end)_\n",
                  flush=True)
        if outs:
            summary_tables(outs, variants, args.rounds)
            verdicts(outs)
        if args.json:
            Path(args.json).write_text(json.dumps([raw(o) for o in outs], indent=1))
    finally:
        if args.keep:
            print(f"(temp dir kept: {base})\n")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(f"_(total {time.perf_counter() - started:.0f} s)_")


def raw(out: dict) -> dict:
    """The results as plain JSON: copies by root, series by samples."""
    def clean(value):
        if isinstance(value, Copy):
            return str(value.root)
        if isinstance(value, Series):
            return {"samples_ms": value.samples_ms, "median": value.median,
                    "cpu_ms": value.cpu_ms, "cpu_median": value.cpu_median}
        if isinstance(value, CutTarget):
            return value.name
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value
    return clean(out)


if __name__ == "__main__":
    main()
