"""Audit and fix on real code: `hotstart fix --write --verify` on the jobrunner example and on
real PyPI packages, start-up before vs after side by side, and the static audit's speed.

1. For each target of `_audit_targets.py` (the jobrunner example and PyPI packages whose wheel
   ships its tests: joblib, jsonschema, toolz, networkx), the installed package directory (for
   jobrunner: examples/jobrunner with its tests/) is copied twice into a temp dir, `before/`
   and `after/`; `PYTHONPATH=<copy>` makes a copy shadow the installed package (checked: the
   package's `__file__` must be inside the copy). Both copies are compiled with compileall
   (this machine sets PYTHONDONTWRITEBYTECODE=1, so imports write no .pyc), then
   `hotstart.fix.fix(after/..., entries=[ENTRY], write=True, verify=TESTS, runtime="stdlib")`
   rewrites `after/`, where TESTS is the package's own tests run on that copy (`cd <copy> &&
   PYTHONPATH=<copy> python -m pytest -q -x -p no:cacheprovider ...`); `after/` is compiled
   again (the fix deletes the .pyc of the files it rewrites). The tests also run once on each
   copy for the before/after counts.
   Then ENTRY runs from both copies in interleaved rounds (order alternating per round, after
   two unrecorded warm-up rounds): wall time from spawn to exit; then as many rounds of ENTRY
   run through a wrapper that reports, at exit, the process's peak RSS (VmHWM) and the
   number of modules in `sys.modules` (both sides pay the wrapper).
2. The static audit (`audit(site-packages/pandas, run=False)`), 3 runs, each in a fresh
   interpreter: wall time of the process and the audit's own time (target: under 10 s).

`--rounds N` (default 9), `--only NAME,...` (target names, or `pandas` for part 2),
`--keep` keeps the temp dir. Takes about 6 minutes; most of it is `--verify` runs.
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

from _audit_targets import TARGETS, Target
from _timing import Series, paired_ratio, python_info

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


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def spread(values: list[float], digits: int = 1) -> str:
    return (f"{median(values):.{digits}f} ({min(values):.{digits}f}-"
            f"{max(values):.{digits}f})")


# --- copies ---------------------------------------------------------------------------------


class Copy:
    """One copy of a target: `root` is the cwd for tests and entry, `path` goes on PYTHONPATH,
    `package_dir` is what `fix` gets."""

    def __init__(self, target: Target, base: Path) -> None:
        self.root = base
        if target.example:
            self.path = base / "src"
            self.fix_target = base            # the project directory: src/ and tests/
        else:
            self.path = base
            self.fix_target = base / target.package
        self.package_dir = self.path / target.package

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(self.path))

    def test_command(self, target: Target) -> str:
        words = [sys.executable, *PYTEST, *target.tests]
        return (f"cd {shlex.quote(str(self.root))} && PYTHONPATH={shlex.quote(str(self.path))} "
                f"{shlex.join(words)}")


def make_copy(target: Target, base: Path) -> Copy:
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache")
    copy = Copy(target, base)
    if target.example:
        source = REPO / "examples" / target.package
        shutil.copytree(source, base, ignore=ignore)
        if not (source / "tests").is_dir():
            (base / "tests").mkdir()
            (base / "tests" / "test_smoke.py").write_text(SMOKE_TEST)
    else:
        spec = importlib.util.find_spec(target.package)
        if spec is None or not spec.submodule_search_locations:
            raise LookupError(f"{target.package} is not installed (pip install -e '.[bench]')")
        shutil.copytree(next(iter(spec.submodule_search_locations)), copy.package_dir,
                        ignore=ignore)
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
    """'N passed, N failed[, N errors][, N skipped]' from pytest's closing line."""
    for line in reversed(output.splitlines()):
        if re.search(r"\bin [\d.]+s", line) and _COUNT.search(line):
            counts = Counter()
            for number, word in _COUNT.findall(line):
                counts["error" if word.startswith("error") else word] += int(number)
            text = f"{counts['passed']} passed, {counts['failed']} failed"
            for word in ("error", "skipped", "xfailed", "xpassed"):
                if counts[word]:
                    text += f", {counts[word]} {word}"
            return text
    return "no pytest summary: " + (output.strip().splitlines() or ["(no output)"])[-1][:120]


# --- measurement ----------------------------------------------------------------------------


def run_timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    """Wall ms from spawn to exit; output discarded (like `_timing.run_once`, with a cwd)."""
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter_ns()
        subprocess.run(argv, stdout=sink, stderr=sink, env=env, cwd=cwd, check=True)
        return (time.perf_counter_ns() - start) / 1e6


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
    else:
        body = (f"import runpy\nsys.argv = {[entry[1], *entry[2:]]!r}\n"
                f"runpy.run_module({entry[1]!r}, run_name='__main__', alter_sys=True)")
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


# --- public names -----------------------------------------------------------------------------

API_CODE = r"""
import importlib, json, pkgutil, sys, warnings
warnings.simplefilter("ignore")
package = sys.argv[1]
root = importlib.import_module(package)
names = [package] + [m.name for m in pkgutil.walk_packages(root.__path__, package + ".",
                                                           onerror=lambda name: None)]
out = {}
for name in names:
    parts = name.split(".")[1:]
    if any(p in ("tests", "test", "testing", "conftest", "__main__") or p.startswith("test_")
           for p in parts):
        continue
    try:
        module = importlib.import_module(name)
    except BaseException as exc:
        out[name] = {"error": type(exc).__name__}
        continue
    public = {}
    for attr in dir(module):
        if attr.startswith("_"):
            continue
        try:
            value = getattr(module, attr)
        except BaseException as exc:
            public[attr] = "!" + type(exc).__name__
            continue
        public[attr] = "module" if isinstance(value, type(sys)) else "value"
    out[name] = {"names": public, "all": [str(n) for n in getattr(module, "__all__", ()) or ()],
                 "package": hasattr(module, "__path__")}
sys.stdout.write("\n" + json.dumps(out) + "\n")
"""


def public_api(target: Target, copy: Copy) -> dict:
    """Every non-test module of the copy imported (in one process), with its public names
    (`dir()`, each resolved with getattr, so lazy re-exports are loaded)."""
    done = subprocess.run([sys.executable, "-c", API_CODE, target.package], env=copy.env(),
                          cwd=copy.root, capture_output=True, text=True, timeout=300,
                          check=False)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"public-name scan of {target.package} failed: "
                           f"{done.stderr[-800:]}") from None


def compare_api(before: dict, after: dict) -> dict:
    """Hard breaks: modules that no longer import, names that now raise on access, names
    lost from a package __init__ or from an __all__. Submodules: a package's attribute naming
    its own submodule, which an import in the package bound as a side effect (`import pkg;
    pkg.sub.x` without `import pkg.sub`). Soft: other module attributes that are no longer
    bound (what moving or removing an import does by design)."""
    broken, hard, submodules, soft = [], [], [], []
    for name, old in before.items():
        new = after.get(name, {"error": "missing"})
        if "error" in old:
            continue
        if "error" in new:
            broken.append(f"{name} ({new['error']})")
            continue
        listed = set(old["all"])
        for attr, kind in old["names"].items():
            now = new["names"].get(attr)
            if now is not None and now.startswith("!") and not kind.startswith("!"):
                hard.append(f"{name}.{attr} (now raises {now[1:]})")
            elif now is None and kind == "module" and f"{name}.{attr}" in before:
                submodules.append(f"{name}.{attr}")  # bound as a side effect of an import
            elif now is None and (old["package"] or attr in listed):
                hard.append(f"{name}.{attr}")
            elif now is None:
                soft.append(f"{name}.{attr}")
    return {"modules": sum(1 for v in before.values() if "error" not in v),
            "broken": broken, "hard": hard, "submodules": submodules, "soft": soft}


# --- one target -----------------------------------------------------------------------------


def version_of(target: Target) -> str:
    try:
        return importlib.metadata.version(target.package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def error_line(tail: str) -> str:
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
    pick = errors[-1][1:].strip() if errors else (failed[-1] if failed else lines[-1])
    return pick[:160]


def run_target(target: Target, base: Path, rounds: int) -> dict:
    from hotstart.fix import fix

    out: dict = {"target": target, "version": version_of(target)}
    work = base / target.package
    before = make_copy(target, work / "before")
    after = make_copy(target, work / "after")
    out["shadow"] = shadow_check(target, before)
    shadow_check(target, after)
    compile_tree(before.root)
    compile_tree(after.root)
    out["tests_before"] = run_tests(before.test_command(target))
    entry_text = shlex.join(target.entry)
    start = time.perf_counter()
    try:
        result = fix(str(after.fix_target), entries=[entry_text], write=True,
                     verify=after.test_command(target), runtime="stdlib")
    except Exception as exc:  # noqa: BLE001 (a crash is a result here)
        out["fix_error"] = (f"{type(exc).__name__}: {exc}", traceback.format_exc())
        result = None
    out["fix_seconds"] = time.perf_counter() - start
    out["result"] = result
    compile_tree(after.root)
    out["pyc"] = {"before": pyc_valid(before.root), "after": pyc_valid(after.root)}
    out["tests_after"] = run_tests(after.test_command(target))
    out["api"] = compare_api(public_api(target, before), public_api(target, after))
    out["measure"] = measure(target, before, after, rounds)
    out["command"] = after.test_command(target)
    return out


def report_target(out: dict) -> None:
    target: Target = out["target"]
    print(f"### {target.name} {out['version']}\n")
    print(f"- entry: `python {shlex.join(target.entry)}`; the copy shadows the installed "
          f"package (`{target.package}.__file__` = `{out['shadow']}`)")
    print(f"- verify: `{out['command'].split(' && ', 1)[1]}` in the copy ({target.note})")
    result = out["result"]
    if out.get("fix_error"):
        message, tb = out["fix_error"]
        print(f"- **fix failed** after {out['fix_seconds']:.1f} s: {message}\n")
        print("```\n" + tb.rstrip() + "\n```")
    if result is not None:
        report = result.report
        classes = Counter(s.klass for s in report.sites)
        print(f"- audit: {report.files} files, {len(report.sites)} import sites ("
              + ", ".join(f"{k} {n}" for k, n in sorted(classes.items())) + ")")
        for entry in report.entries:
            if entry.measured:
                fix_ms = (entry.fix_us or 0) / 1e3
                print(f"- audit's measurement of the entry (under the tracer): import "
                      f"{(entry.import_us or 0) / 1e3:.1f} ms, peak RSS "
                      f"{(entry.peak_rss or 0) / MiB:.1f} MiB; fixing all {entry.fix_sites} "
                      f"fixable sites together saves {fix_ms:.1f} ms, "
                      f"{(entry.fix_rss or 0) / MiB:.1f} MiB; bytecode: {entry.bytecode}")
        kept = Counter(c.action for c in result.changes)
        files = {c.path for c in result.changes}
        v = result.verification
        print(f"- fix: {len(result.changes) + len(result.reverted)} changes planned, "
              f"{len(result.changes)} kept in {len(files)} files ("
              + (", ".join(f"{a} {n}" for a, n in kept.most_common()) or "none")
              + f"), {len(result.reverted)} reverted by verify, {len(result.skipped)} sites "
              f"skipped; {v.runs if v else 0} test runs; {out['fix_seconds']:.1f} s")
        reasons = Counter(s.why.split(":")[0] if "entrypoint runs" in s.why else s.why
                          for s in result.skipped)
        print("- skipped because: " + "; ".join(f"{why} ({n})"
                                                for why, n in reasons.most_common(4)))
        for change in result.changes:
            print(f"  - kept: {change.action} `{change.id}`"[:220])
        for change, (_, tail) in zip(result.reverted, v.reverted if v else []):
            print(f"  - **reverted**: {change.action} `{change.id}`"[:200]
                  + f" -- {error_line(tail)}")
    api = out["api"]
    print(f"- public names (every non-test module of both copies imported, each public name "
          f"resolved with getattr): {api['modules']} modules; no longer importable: "
          f"{len(api['broken'])}{listing(api['broken'])}; lost from a package __init__ or an "
          f"__all__, or now raising: {len(api['hard'])}{listing(api['hard'])}; submodule "
          f"attributes no longer bound before `import pkg.sub`: {len(api['submodules'])}"
          f"{listing(api['submodules'])}; other module "
          f"attributes no longer bound (moved or removed imports): {len(api['soft'])}"
          f"{listing(api['soft'], 6)}")
    for side in ("before", "after"):
        text, seconds, _ = out[f"tests_{side}"]
        ok, total = out["pyc"][side]
        print(f"- {side}: tests {text} ({seconds:.1f} s); valid .pyc for {ok}/{total} .py files")
    print()


def estimate(out: dict) -> str:
    """What the audit measured (under its tracer) that fixing every fixable site would save
    on the entry: an upper bound for what the kept changes save."""
    result = out["result"]
    entries = [e for e in result.report.entries if e.measured] if result else []
    return f"{entries[0].fix_us / 1e3:.1f}" if entries and entries[0].fix_us else "-"


def listing(items: list[str], limit: int = 12) -> str:
    if not items:
        return ""
    shown = ", ".join(f"`{i}`" for i in items[:limit])
    return f" ({shown}{', ...' if len(items) > limit else ''})"


def measurement_table(outs: list[dict], rounds: int) -> None:
    print(f"### Entry start-up, before vs after the fix ({rounds} interleaved rounds after 2 "
          f"warm-up rounds, order alternating; wall from spawn to exit; peak RSS (VmHWM) and "
          f"modules at exit from as many rounds of the entry run through a reporting wrapper)\n")
    print("| target | entry | before ms median (min-max) | after ms median (min-max) | "
          "after/before (median of per-round ratios) | saved ms (medians) | audit's estimate "
          "ms | peak RSS MiB before → after | modules before → after |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for out in outs:
        m = out["measure"]
        b, a = m["series"]["before"], m["series"]["after"]
        rb = [x / MiB for x in m["rss"]["before"]]
        ra = [x / MiB for x in m["rss"]["after"]]
        print(f"| {out['target'].name} | `{shlex.join(out['target'].entry)}` | "
              f"{spread(b.samples_ms)} | {spread(a.samples_ms)} | {paired_ratio(a, b):.3f} | "
              f"{b.median - a.median:.1f} | {estimate(out)} | {median(rb):.1f} → {median(ra):.1f} "
              f"({median(ra) - median(rb):+.1f}) | {m['modules']['before']} → "
              f"{m['modules']['after']} ({m['modules']['after'] - m['modules']['before']:+d}) |")
    print()


def fix_table(outs: list[dict]) -> None:
    print("### What the fix did\n")
    print("| target | version | files | import sites | changes kept | reverted by verify | "
          "verify runs | fix s | tests before | tests after | public names lost (hard / "
          "submodule attributes / other) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for out in outs:
        r, api = out["result"], out["api"]
        if r is None:
            cells = ["-", "-", "**crashed**", "-", "-"]
        else:
            cells = [str(r.report.files), str(len(r.report.sites)), str(len(r.changes)),
                     str(len(r.reverted)), str(r.verification.runs if r.verification else 0)]
        print(f"| {out['target'].name} | {out['version']} | " + " | ".join(cells)
              + f" | {out['fix_seconds']:.0f} | {out['tests_before'][0]} | "
                f"{out['tests_after'][0]} | {len(api['broken']) + len(api['hard'])} / "
                f"{len(api['submodules'])} / {len(api['soft'])} |")
    print()


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
    parser.add_argument("--rounds", type=int, default=9,
                        help="interleaved timing rounds per target (default 9)")
    parser.add_argument("--only", default=None,
                        help="comma-separated target names (" + ", ".join(
                            t.package for t in TARGETS) + ") and/or 'pandas'")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    versions = ", ".join(f"{t.package} {version_of(t)}" for t in TARGETS
                         if not t.example)
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
            if only is not None and target.package not in only:
                continue
            step = time.perf_counter()
            try:
                out = run_target(target, base, args.rounds)
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
