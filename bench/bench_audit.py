"""Audit and fix on real code: `hotstart fix --write --verify` on the jobrunner example, real
PyPI packages and a script-directory fixture, each fixed twice; start-up before vs after side
by side, and the static audit's speed.

1. For each target of `_audit_targets.py` (the jobrunner example; joblib, jsonschema, toolz,
   networkx and patsy, whose wheels ship their tests; numba-stats, pydantic-settings and
   sqlite-utils, whose tests come from their sdist, downloaded with `pip download`; the
   bench/fixtures/workerfleet script directories), the code is copied twice into a temp dir,
   `before/` and `after/`: the installed package directory (plus the sdist's tests/ and
   config), examples/jobrunner, or the fixture. `PYTHONPATH=<copy>` makes a copy shadow the
   installed package (checked: the package's `__file__` must be inside the copy). Both copies
   are compiled with compileall (this machine sets PYTHONDONTWRITEBYTECODE=1, so imports write
   no .pyc), then `hotstart.fix.fix(after/..., entries=[ENTRY...], write=True, verify=TESTS,
   runtime="stdlib")` rewrites `after/`, where TESTS is the target's own tests run on that copy
   (`cd <copy> && PYTHONPATH=<copy> python -m pytest -q -x -p no:cacheprovider ...`); `after/`
   is compiled again (the fix deletes the .pyc of the files it rewrites). The tests also run
   once on each copy for the before/after counts.
   Checks (`--twice`, on by default): `fix` runs a second time, the same way, on the fixed copy:
   it must make 0 changes and leave every file byte-identical, and the tests run again; and for
   every module the fix changed, `typing.get_type_hints(..., include_extras=True)` of the
   module and of each class, function and method defined in it is taken from both copies, each
   in a fresh interpreter, and compared as strings.
   Then ENTRY runs from both copies in interleaved rounds (order alternating per round, after
   two unrecorded warm-up rounds): wall time from spawn to exit; then as many rounds of ENTRY
   run through a wrapper that reports, at exit, the process's peak RSS (VmHWM) and the
   number of modules in `sys.modules` (both sides pay the wrapper).
2. The static audit (`audit(site-packages/pandas, run=False)`), 3 runs, each in a fresh
   interpreter: wall time of the process and the audit's own time (target: under 10 s).

`--rounds N` (default 7), `--only NAME,...` (import names: joblib, numba_stats, ...,
`workerfleet` for the fixture, or `pandas` for part 2), `--no-twice` (one fix, no type-hint
check), `--keep` keeps the temp dir. Takes about 20 minutes on a 2-core machine under load;
most of it is test runs (`--verify`, each fix twice) and numba compiling numba-stats twice.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from _audit_checks import (
    changed_modules,
    compare_api,
    compare_hints,
    differing,
    public_api,
    snapshot,
    type_hints,
)
from _audit_report import fix_table, measurement_table, median, report_target
from _audit_targets import TARGETS, Target
from _timing import Series, python_info, run_once

MiB = 1 << 20
PYTEST = ("-m", "pytest", "-q", "-x", "-p", "no:cacheprovider")
MARK = "HOTSTART_BENCH_MODULES"
AUDIT_TARGET_S = 10.0
SMOKE_TEST = '''"""Smoke test written by bench_audit.py (examples/jobrunner has no tests/)."""
from pathlib import Path

from jobrunner.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_interface():
    assert main(["interface"]) == 0


def test_compute(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["compute", "jobs/clean.json"]) == 0
'''


# --- copies ---------------------------------------------------------------------------------


class Copy:
    """One copy of a target: `root` is the cwd for tests and entry, `path` goes on PYTHONPATH,
    `fix_target` is what `fix` gets."""

    def __init__(self, target: Target, base: Path) -> None:
        self.root = base
        if target.kind == "example":
            self.path = base / "src"
            self.fix_target = base            # the project directory: src/ and tests/
        elif target.kind == "fixture":
            self.path = base
            self.fix_target = base            # script directories: no package
        else:
            self.path = base
            self.fix_target = base / target.package

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(self.path))

    def test_command(self, target: Target) -> str:
        """The target's test runs, `&&`-joined (a fixture's workers each run alone)."""
        runs = [shlex.join([sys.executable, *PYTEST, *tests])
                for tests in (target.tests, *target.suites)]
        return (f"cd {shlex.quote(str(self.root))} && export PYTHONPATH="
                f"{shlex.quote(str(self.path))} && " + " && ".join(runs))

    def entries(self, target: Target) -> list[str]:
        """The entries `fix` measures, as it reads them (a script as an absolute path)."""
        if target.static:
            return []
        out = []
        for entry in target.fix_entries or (target.entry,):
            if not entry[0].startswith("-"):
                entry = (str(self.root / entry[0]), *entry[1:])
            out.append(shlex.join(entry))
        return out


SDISTS = Path(tempfile.gettempdir()) / "hotstart-bench-sdists"


def sdist_root(target: Target) -> Path:
    """The unpacked sdist of the installed version (downloaded with pip once, then cached)."""
    version = importlib.metadata.version(target.distribution)
    stem = f"{target.distribution.replace('-', '_')}-{version}"
    unpacked = SDISTS / stem
    if not unpacked.is_dir():
        SDISTS.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                        "--no-binary", ":all:", "-d", str(SDISTS),
                        f"{target.distribution}=={version}"], check=True)
        archive = SDISTS / f"{stem}.tar.gz"
        shutil.unpack_archive(archive, SDISTS)
    return unpacked


def make_copy(target: Target, base: Path) -> Copy:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
    copy = Copy(target, base)
    if target.kind == "example":
        source = REPO / "examples" / target.package
        shutil.copytree(source, base, ignore=ignore)
        if not (source / "tests").is_dir():
            (base / "tests").mkdir()
            (base / "tests" / "test_smoke.py").write_text(SMOKE_TEST)
        return copy
    if target.kind == "fixture":
        shutil.copytree(HERE / "fixtures" / target.fixture, base, ignore=ignore)
        return copy
    spec = importlib.util.find_spec(target.package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{target.package} is not installed (pip install -e '.[bench]')")
    shutil.copytree(next(iter(spec.submodule_search_locations)), base / target.package,
                    ignore=ignore)
    if target.kind == "sdist":
        root = sdist_root(target)
        for name in target.sdist:
            if (root / name).is_dir():
                shutil.copytree(root / name, base / name, ignore=ignore)
            else:
                shutil.copy2(root / name, base / name)
    return copy


def compile_tree(path: Path) -> None:
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(path)],
                   stdout=subprocess.DEVNULL, check=True)


def pyc_valid(path: Path) -> tuple[int, int]:
    """(.py files whose __pycache__ .pyc matches their mtime and size, .py files)."""
    ok = total = 0
    for source in path.rglob("*.py"):
        if "__pycache__" in source.parts:
            continue
        total += 1
        try:
            with open(importlib.util.cache_from_source(str(source)), "rb") as handle:
                head = handle.read(16)
            st = source.stat()
        except OSError:
            continue
        flags = int.from_bytes(head[4:8], "little")
        if flags or (int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                     and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF):
            ok += 1
    return ok, total


def shadow_check(target: Target, copy: Copy) -> str:
    if not target.package:
        return ""
    code = f"import {target.package} as m; print(m.__file__)"
    done = subprocess.run([sys.executable, "-c", code], env=copy.env(), cwd=copy.root,
                          capture_output=True, text=True, check=True)
    where = done.stdout.strip()
    if not Path(where).resolve().is_relative_to(copy.path.resolve()):
        raise RuntimeError(f"PYTHONPATH={copy.path} does not shadow the installed "
                           f"{target.package}: it imports {where}")
    return where


# --- tests ----------------------------------------------------------------------------------

_COUNT = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)\b")


def run_tests(command: str) -> tuple[str, float, bool]:
    start = time.perf_counter()
    done = subprocess.run(command, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace", timeout=600, check=False)
    return summary(done.stdout), time.perf_counter() - start, done.returncode == 0


def summary(output: str) -> str:
    """'N passed, N failed[, N errors][, N skipped]' summed over pytest's closing lines (one
    per test run of the command)."""
    counts: Counter = Counter()
    runs = 0
    for line in output.splitlines():
        if re.search(r"\bin [\d.]+s\b", line) and _COUNT.search(line):
            runs += 1
            for number, word in _COUNT.findall(line):
                counts["error" if word.startswith("error") else word] += int(number)
    if not runs:
        return ("no pytest summary: "
                + (output.strip().splitlines() or ["(no output)"])[-1][:120])
    text = f"{counts['passed']} passed, {counts['failed']} failed"
    for word in ("error", "skipped", "xfailed", "xpassed"):
        if counts[word]:
            text += f", {counts[word]} {word}"
    return text


# --- measurement ----------------------------------------------------------------------------


def run_timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall ms from spawn to exit; output discarded."""
    return run_once(argv, env, cwd)


def probe_argv(entry: tuple[str, ...]) -> list[str]:
    """The entry run through a wrapper that reports, at exit, the process's peak RSS (VmHWM:
    the high-water mark of this process image only; ru_maxrss from wait4 would not do, since
    Linux carries the parent's peak across fork and exec, and this benchmark process is
    large) and the number of modules in sys.modules. Both sides pay the wrapper."""
    hook = ("import atexit, sys\n"
            "def _report():\n"
            "    with open('/proc/self/status') as f:\n"
            "        hwm = next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
            f"    sys.__stderr__.write('\\n{MARK} %d %d\\n' % (len(sys.modules), hwm))\n"
            "atexit.register(_report)\n")
    if entry[0] == "-c":
        body = f"exec(compile({entry[1]!r}, '<string>', 'exec'), {{'__name__': '__main__'}})"
    elif entry[0] == "-m":
        body = (f"import runpy\nsys.argv = {[entry[1], *entry[2:]]!r}\n"
                f"runpy.run_module({entry[1]!r}, run_name='__main__', alter_sys=True)")
    else:  # a script: its directory first on sys.path, as `python script.py` has it
        body = (f"import os, runpy\nsys.argv = {list(entry)!r}\n"
                f"sys.path[0] = os.path.dirname(os.path.abspath({entry[0]!r}))\n"
                f"runpy.run_path({entry[0]!r}, run_name='__main__')")
    return [sys.executable, "-c", hook + body]


def run_probe(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, int]:
    """(modules in sys.modules at exit, peak RSS in bytes)."""
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    found = re.findall(rf"^{MARK} (\d+) (\d+)$", done.stderr, re.MULTILINE)
    if not found:
        raise RuntimeError(f"probe {argv[-1][-80:]!r} failed: {done.stderr[-500:]}")
    return int(found[-1][0]), int(found[-1][1]) * 1024


def measure(target: Target, before: Copy, after: Copy, rounds: int) -> dict:
    """Interleaved rounds (order alternating, 2 unrecorded warm-up rounds): first the plain
    entry for wall time, then the probe for peak RSS and modules."""
    argv = [sys.executable, *target.entry]
    probe = probe_argv(target.entry)
    copies = {"before": before, "after": after}
    series = {side: Series(side, argv, copy.env()) for side, copy in copies.items()}
    rss: dict[str, list[int]] = {"before": [], "after": []}
    modules: dict[str, list[int]] = {"before": [], "after": []}
    for index in range(rounds + 2):
        order = ("before", "after") if index % 2 == 0 else ("after", "before")
        for side in order:
            ms = run_timed(argv, series[side].env, copies[side].root)
            if index >= 2:
                series[side].samples_ms.append(ms)
    for index in range(rounds):
        order = ("before", "after") if index % 2 == 0 else ("after", "before")
        for side in order:
            count, peak = run_probe(probe, series[side].env, copies[side].root)
            modules[side].append(count)
            rss[side].append(peak)
    return {"series": series, "rss": rss,
            "modules": {side: int(median(v)) for side, v in modules.items()}}


# --- one target -----------------------------------------------------------------------------


def version_of(target: Target) -> str:
    try:
        return importlib.metadata.version(target.distribution) if target.package else "-"
    except importlib.metadata.PackageNotFoundError:
        return "?"


SECOND_FIX = """
import json, sys, traceback
from hotstart.fix import fix
target, verify, *entries = sys.argv[1:]
try:
    r = fix(target, entries=entries, write=True, verify=verify, runtime="stdlib", progress=None)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()}))
else:
    print(json.dumps({"changes": [f"{c.action} {c.id}" for c in r.changes],
                      "reverted": [f"{c.action} {c.id}" for c in r.reverted],
                      "runs": r.verification.runs if r.verification else 0}))
"""


def second_fix(target: Target, copy: Copy) -> dict:
    """`fix` again on the fixed copy, the same way, in a fresh interpreter (as a user runs
    it twice): what it changed, and which files are no longer byte-identical."""
    old = snapshot(copy.root)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SECOND_FIX, str(copy.fix_target),
                           copy.test_command(target), *copy.entries(target)],
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    try:
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        out = {"error": f"exit {done.returncode}: {done.stderr.strip()[-300:]}", "tb": ""}
    out["seconds"] = seconds
    out["files"] = differing(old, snapshot(copy.root))
    return out


def run_target(target: Target, base: Path, rounds: int, twice: bool) -> dict:
    from hotstart.fix import fix

    out: dict = {"target": target, "version": version_of(target)}
    work = base / (target.package or target.fixture)
    before = make_copy(target, work / "before")
    after = make_copy(target, work / "after")
    out["shadow"] = shadow_check(target, before)
    shadow_check(target, after)
    compile_tree(before.root)
    compile_tree(after.root)
    out["tests_before"] = run_tests(before.test_command(target))
    start = time.perf_counter()
    try:
        result = fix(str(after.fix_target), entries=after.entries(target), write=True,
                     verify=after.test_command(target), runtime="stdlib")
    except Exception as exc:  # noqa: BLE001 (a crash is a result here)
        out["fix_error"] = (f"{type(exc).__name__}: {exc}", traceback.format_exc())
        result = None
    out["fix_seconds"] = time.perf_counter() - start
    out["result"] = result
    compile_tree(after.root)
    out["tests_after"] = run_tests(after.test_command(target))
    out["changed"] = differing(snapshot(before.root), snapshot(after.root))
    if twice:
        out["second"] = second_fix(target, after)
        compile_tree(after.root)     # its verify runs delete the .pyc of what they rewrite
        if out["second"]["files"]:   # byte-identical files: the tests above ran on them
            out["tests_second"] = run_tests(after.test_command(target))
        else:
            out["tests_second"] = (out["tests_after"][0] + " (files byte-identical)", 0.0,
                                   out["tests_after"][2])
        modules = changed_modules(target, after, out["changed"])
        out["hints"] = compare_hints(
            type_hints(changed_modules(target, before, out["changed"]), before.env(),
                       before.root),
            type_hints(modules, after.env(), after.root))
    out["pyc"] = {"before": pyc_valid(before.root), "after": pyc_valid(after.root)}
    if target.package:
        out["api"] = compare_api(public_api(target, before), public_api(target, after))
    out["measure"] = measure(target, before, after, rounds)
    out["command"] = after.test_command(target)
    out["after_root"] = str(after.root)
    return out


# --- part 2: static audit of pandas ----------------------------------------------------------

AUDIT_CODE = """
import json, sys, time
from hotstart.audit import audit
start = time.perf_counter()
report = audit(sys.argv[1], run=False)
print(json.dumps({"seconds": time.perf_counter() - start, "audit_seconds": report.seconds,
                  "files": report.files, "sites": len(report.sites),
                  "errors": len(report.errors)}))
"""


def pandas_audit(runs: int = 3) -> None:
    spec = importlib.util.find_spec("pandas")
    if spec is None or not spec.submodule_search_locations:
        print("pandas is not installed: part 2 skipped\n")
        return
    path = next(iter(spec.submodule_search_locations))
    walls, inner, last = [], [], {}
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", AUDIT_CODE, path], capture_output=True,
                              text=True, check=True)
        walls.append(time.perf_counter() - start)
        last = json.loads(done.stdout.splitlines()[-1])
        inner.append(last["audit_seconds"])
    py_files = sum(1 for _ in Path(path).rglob("*.py"))
    print(f"### Static audit of pandas {importlib.metadata.version('pandas')} "
          f"(`audit('{path}', run=False)`, {runs} runs, each in a fresh interpreter)\n")
    print("| what | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    print(f"| process wall (interpreter + imports + audit) | {median(walls):.2f} | "
          f"{min(walls):.2f} | {max(walls):.2f} |")
    print(f"| audit's own time (`report.seconds`) | {median(inner):.2f} | {min(inner):.2f} | "
          f"{max(inner):.2f} |")
    print(f"\n{py_files} .py files under pandas/; the report covers {last['files']} modules "
          f"(test files are read only when they mention `patch`/`setattr`) with "
          f"{last['sites']} import sites; {last['errors']} files could not be parsed.\n")
    met = median(walls) < AUDIT_TARGET_S
    print(f"- {'PASS' if met else 'FAIL'}: static audit of pandas takes {median(walls):.2f} s "
          f"(median process wall; target < {AUDIT_TARGET_S:.0f} s)\n")


# --- main -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7,
                        help="interleaved timing rounds per target (default 7)")
    parser.add_argument("--only", default=None,
                        help="comma-separated target names (" + ", ".join(
                            t.package or t.fixture for t in TARGETS) + ") and/or 'pandas'")
    parser.add_argument("--twice", action=argparse.BooleanOptionalAction, default=True,
                        help="fix each target a second time (0 changes, files byte-identical, "
                             "tests green) and compare get_type_hints of the changed modules "
                             "(default: on)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    versions = ", ".join(f"{t.distribution} {version_of(t)}" for t in TARGETS
                         if t.kind in ("wheel", "sdist"))
    head = subprocess.run(["git", "-C", str(REPO), "describe", "--always", "--dirty"],
                          capture_output=True, text=True, check=False).stdout.strip()
    print(f"{python_info()}; {os.cpu_count()} CPUs; hotstart at {head or '?'}; {versions}; "
          f"site-packages {sysconfig.get_paths()['purelib']}\n")
    print(f".pyc: PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r}, "
          f"so imports write no .pyc: every copy is compiled with `python -m compileall` "
          f"before the fix (the audit's profile runs use it) and the fixed copy again after "
          f"it; dependencies use the .pyc pip wrote at install.\n")
    started = time.perf_counter()
    base = Path(tempfile.mkdtemp(prefix="hotstart-bench-audit-"))
    outs = []
    try:
        for target in TARGETS:
            if only is not None and (target.package or target.fixture) not in only:
                continue
            step = time.perf_counter()
            try:
                out = run_target(target, base, args.rounds, args.twice)
            except LookupError as exc:
                print(f"### {target.name}\n\nskipped: {exc}\n")
                continue
            report_target(out)
            outs.append(out)
            print(f"_({target.name}: {time.perf_counter() - step:.0f} s)_\n", flush=True)
    finally:
        if args.keep:
            print(f"(temp dir kept: {base})\n")
        else:
            shutil.rmtree(base, ignore_errors=True)
    if outs:
        fix_table(outs)
        measurement_table(outs, args.rounds)
    if only is None or "pandas" in only:
        step = time.perf_counter()
        pandas_audit()
        print(f"_(pandas audit: {time.perf_counter() - step:.0f} s)_\n")
    print(f"_(total {time.perf_counter() - started:.0f} s)_")


if __name__ == "__main__":
    main()
