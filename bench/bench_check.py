"""The no-flake proof of `hotstart check`'s timing gate, and its catch rate.

A real package, `rich` (pure Python; its source copied from the installed distribution), in
two temporary git repositories with the same `[tool.hotstart]` entry, ``console``:
``-c "import rich.console; rich.console.Console()"`` with the default ``max-regression``
(5 % of the start-up above the bare interpreter), rounds 18, max-rounds 90, 95 % intervals:

- ``unchanged``: HEAD is the published code; the gate is ``hotstart check --baseline HEAD``
  (the same code, from git's checkout, against the working tree);
- ``regressed``: HEAD~1 is the published code, HEAD adds a module-level loop to
  ``rich/console.py`` sized so that the gate's own measure of it is 15 % of the entry's
  start-up above the floor (sized from the loop's cost, then corrected on 108-round gates
  until within 1.5 points of it); the gate is ``hotstart check --baseline HEAD~1``.

The gate judges wall time and CPU time (user + system) against the baseline, each with its
own interval; a gate fails when either fails. Each gate is a real ``hotstart check`` process (its traced runs, the baseline's checkout,
the interleaved rounds). The 50 unchanged and 20 regressed gates run in one shuffled order
(fixed seed), so both see the same machine. Goal (issue 14): 0 failures of 50 unchanged,
at least 19 of 20 regressions caught. ``--burners N`` runs N CPU-burning processes
throughout (a busier machine). Reproduce:

    .venv/bin/python bench/bench_check.py [--unchanged 50] [--regressed 20] [--burners 0]

State: the gate compiles both sides' sources before timing (`.pyc` present on both).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENTRY = "import rich.console; rich.console.Console()"
CONFIG = f"""[project]
name = "richcopy"
version = "0"

[tool.hotstart]
pythonpath = ["."]

[tool.hotstart.entries.console]
run = "-c '{ENTRY}'"
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                    *args], cwd=repo, check=True, capture_output=True)


def make_repo(where: Path, source: Path) -> Path:
    where.mkdir(parents=True)
    shutil.copytree(source, where / "rich", ignore=shutil.ignore_patterns("__pycache__"))
    (where / "pyproject.toml").write_text(CONFIG)
    (where / ".gitignore").write_text("__pycache__/\n")
    git(where, "init", "-q", "-b", "main")
    git(where, "add", "-A")
    git(where, "commit", "-qm", "rich as published")
    return where


def timed(argv: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def loop_cost(where: Path, rounds: int = 21) -> float:
    """Seconds per iteration of a module-level ``for`` loop, as the injection runs it."""
    loop = where / "calibrate_loop.py"
    iterations = 2_000_000
    loop.write_text(f"for _i in range({iterations}):\n    pass\n")
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(loop)], check=True)
    env = dict(os.environ)
    per = []
    for _ in range(rounds):
        floor = timed([sys.executable, "-c", "pass"], where, env)
        per.append((timed([sys.executable, str(loop)], where, env) - floor) / iterations)
    loop.unlink()
    return statistics.median(per)


def inject(repo: Path, iterations: int, share: float) -> None:
    """Append the loop to rich/console.py as the working tree's change (HEAD~1 stays the
    published code)."""
    module = repo / "rich" / "console.py"
    text = module.read_text().split("\n# injected by bench_check.py")[0]
    module.write_text(text + f"\n# injected by bench_check.py: {share:.0%} of the start-up "
                      f"above the floor\nfor _hotstart_i in range({iterations}):\n    pass\n")
    # A rewrite of the same size within the same second leaves the old .pyc valid (it
    # records the source's mtime in seconds and its size): drop it.
    for stale in (repo / "rich" / "__pycache__").glob("console.*.pyc"):
        stale.unlink()


def measured_share(repo: Path, rounds: int) -> tuple[float, float]:
    """The working tree's growth over HEAD as the gate measures it (wall time, a share of
    the baseline's start-up above the floor), from one long gate of `rounds` rounds; and
    the baseline's start-up above the floor (ms)."""
    config = repo / "calibrate.toml"
    config.write_text(CONFIG.split("[tool.hotstart]")[1].replace("\n[tool.hotstart.entries",
                                                                 "\n[entries")
                      .replace('pythonpath = ["."]', f'pythonpath = ["."]\nrounds = '
                                                     f'{rounds}\nmax-rounds = {rounds}'))
    try:
        result = subprocess.run([sys.executable, "-m", "hotstart", "check", "--config",
                                 str(config), "--baseline", "HEAD", "--format", "json",
                                 "-q"], cwd=repo, capture_output=True, text=True)
    finally:
        config.unlink()
    entry = json.loads(result.stdout)["entries"][0]
    [time_vs] = [j for j in entry["judgements"] if j["name"] == "time vs baseline"]
    return time_vs["median"] / time_vs["baseline"], time_vs["baseline"]


def burner() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def gate(repo: Path, baseline: str) -> dict:
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "hotstart", "check", "--entry", "console",
                             "--baseline", baseline, "--format", "json", "-q"], cwd=repo,
                            capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    if result.returncode == 2:
        raise SystemExit(f"bench_check: the gate could not run: {result.stderr.strip()}")
    entry = json.loads(result.stdout)["entries"][0]
    judged = {j["name"]: j for j in entry["judgements"]}
    time_vs, cpu_vs = judged["time vs baseline"], judged["cpu vs baseline"]
    return {"exit": result.returncode, "verdict": entry["verdict"],
            "time": time_vs["verdict"], "median_ms": time_vs["median"],
            "low_ms": time_vs["low"], "high_ms": time_vs["high"],
            "baseline_ms": time_vs["baseline"], "limit_ms": time_vs["limit"],
            "cpu": cpu_vs["verdict"], "cpu_median_ms": cpu_vs["median"],
            "cpu_low_ms": cpu_vs["low"], "cpu_high_ms": cpu_vs["high"],
            "cpu_baseline_ms": cpu_vs["baseline"], "cpu_limit_ms": cpu_vs["limit"],
            "rounds": time_vs["rounds"], "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--unchanged", type=int, default=50)
    parser.add_argument("--regressed", type=int, default=20)
    parser.add_argument("--regression", type=float, default=0.15,
                        help="the injected share of the start-up above the floor")
    parser.add_argument("--burners", type=int, default=0)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", metavar="FILE", help="save every gate's figures")
    options = parser.parse_args()

    import rich

    source = Path(rich.__file__).parent
    version = subprocess.run([sys.executable, "-c", "import importlib.metadata as m; "
                              "print(m.version('rich'))"], capture_output=True,
                             text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="hotstart-bench-check-"))
    burners = []
    try:
        unchanged = make_repo(work / "unchanged", source)
        regressed = make_repo(work / "regressed", source)
        # The injection is sized by the gate's own measure: a loop costing the wanted share
        # of the published code's start-up above the floor, measured on long gates (108
        # interleaved rounds) against HEAD and corrected until within 1.5 points.
        per_iteration = loop_cost(work)
        _, base_ms = measured_share(regressed, 36)
        iterations = int(options.regression * base_ms / 1e3 / per_iteration)
        for _ in range(4):  # until the gate's own measure is within 1.5 points of the target
            inject(regressed, iterations, options.regression)
            share, base_ms = measured_share(regressed, 108)
            if abs(share - options.regression) <= 0.015:
                break
            iterations = max(1, int(iterations * options.regression / max(share, 0.01)))
        else:
            inject(regressed, iterations, options.regression)
            share, base_ms = measured_share(regressed, 108)
        git(regressed, "commit", "-qam", "a regression")
        print(f"# rich {version}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
              f"entry start-up above the floor {base_ms:.1f} ms (the gate's baseline figure); "
              f"injected loop of {iterations:,} iterations, measured {share:+.1%} of it on a "
              f"108-round gate (target {options.regression:.0%})", flush=True)
        for _ in range(options.burners):
            burners.append(burner())
        plan = ["unchanged"] * options.unchanged + ["regressed"] * options.regressed
        random.Random(options.seed).shuffle(plan)
        results: dict[str, list[dict]] = {"unchanged": [], "regressed": []}
        for index, kind in enumerate(plan, 1):
            repo, ref = (unchanged, "HEAD") if kind == "unchanged" else (regressed, "HEAD~1")
            run = gate(repo, ref)
            results[kind].append(run)
            share = run["median_ms"] / run["baseline_ms"] * 100 if run["baseline_ms"] else 0
            cpu_share = (run["cpu_median_ms"] / run["cpu_baseline_ms"] * 100
                         if run["cpu_baseline_ms"] else 0)
            print(f"{index:3d} {kind:9s} exit {run['exit']} {run['verdict']:12s} wall "
                  f"{run['median_ms']:+6.1f} ms ({share:+5.1f}%) [{run['low_ms']:+.1f}, "
                  f"{run['high_ms']:+.1f}] limit {run['limit_ms']:+.1f}: {run['time']}; cpu "
                  f"{run['cpu_median_ms']:+6.1f} ms ({cpu_share:+5.1f}%) "
                  f"[{run['cpu_low_ms']:+.1f}, {run['cpu_high_ms']:+.1f}] limit "
                  f"{run['cpu_limit_ms']:+.1f}: {run['cpu']}; {run['rounds']} rounds, "
                  f"{run['seconds']:.1f} s", flush=True)
    finally:
        for process in burners:
            process.kill()
            process.wait()
        shutil.rmtree(work, ignore_errors=True)

    print()
    for kind, runs in results.items():
        if not runs:
            continue
        counts = {v: sum(r["verdict"] == v for r in runs) for v in ("pass", "inconclusive",
                                                                     "fail", "error")}
        shares = [r["median_ms"] / r["baseline_ms"] * 100 for r in runs if r["baseline_ms"]]
        rounds = [r["rounds"] for r in runs]
        seconds = [r["seconds"] for r in runs]
        by = {what: {v: sum(r[what] == v for r in runs) for v in ("pass", "inconclusive",
                                                                   "fail")}
              for what in ("time", "cpu")}
        print(f"{kind}: wall time judged fail/pass/inconclusive {by['time']['fail']}/"
              f"{by['time']['pass']}/{by['time']['inconclusive']}, CPU time "
              f"{by['cpu']['fail']}/{by['cpu']['pass']}/{by['cpu']['inconclusive']}")
        print(f"{kind}: {len(runs)} gates: {counts['fail']} failed, {counts['pass']} passed, "
              f"{counts['inconclusive']} inconclusive (pass with a warning), "
              f"{counts['error']} errors; measured growth median {statistics.median(shares):+.1f}%"
              f" (min {min(shares):+.1f}, max {max(shares):+.1f}); rounds median "
              f"{statistics.median(rounds):g} (max {max(rounds)}); gate time median "
              f"{statistics.median(seconds):.1f} s (max {max(seconds):.1f})")
    flaked = sum(r["verdict"] == "fail" for r in results["unchanged"])
    caught = sum(r["verdict"] == "fail" for r in results["regressed"])
    print(f"no-flake: {flaked} of {len(results['unchanged'])} unchanged gates failed (goal 0); "
          f"catch rate: {caught} of {len(results['regressed'])} regressions caught "
          f"(goal >= {max(0, len(results['regressed']) - 1)})")
    if options.json:
        Path(options.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
