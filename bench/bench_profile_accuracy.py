"""Profile accuracy: does `hotstart profile` report the wall time a target really takes?

The target is `python -c "import time; time.sleep(x)"` for x from 5 to 200 ms. Each round, in
this order, so that all see the same machine state:

  reported   `hotstart.profile(..., runs=1)`: its wall, floor and start-up (wall - floor)
  truth      the same traced command (tracer injected as in a timed run), timed here from
             just before the spawn to `os.wait4` returning, and `python -c pass` the same way;
             each in a session of its own, as the runner starts targets (with the kernel's
             autogroup scheduling a new session gets a CPU share of its own, so on a loaded
             machine a run in the caller's session is slower)
  polling    the same traced command waited for with `Popen.wait(timeout)`, as the runner
             did before (it sleeps 1, 2, 4 ... 50 ms between checks)

Per x: each figure minus x (median, min, max over the rounds), and the per-round difference
reported - truth. Reported tracks the truth when that difference is small next to the spread.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

from hotstart.measure.runner import Target, profile

TRACER = Path(__file__).resolve().parents[1] / "src" / "hotstart" / "measure" / "tracer.py"
SLEEPS_MS = (5, 10, 20, 50, 100, 130, 200)


def wait4_ms(argv: list[str], env: dict[str, str]) -> float:
    """Spawn to exit, with a blocking wait: the true wall time of one run."""
    start = time.perf_counter_ns()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    _, status, _ = os.wait4(proc.pid, 0)
    elapsed = (time.perf_counter_ns() - start) / 1e6
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed


def polling_ms(argv: list[str], env: dict[str, str]) -> float:
    """Spawn to exit as the old runner saw it: Popen.wait(timeout) polls with growing sleeps."""
    start = time.perf_counter_ns()
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    proc.wait(300)
    return (time.perf_counter_ns() - start) / 1e6


def spread(values: list[float]) -> str:
    return f"{median(values):+.1f} ({min(values):+.1f} .. {max(values):+.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    python = args.python
    version = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        inject = Path(work, "inject")
        inject.mkdir()
        shutil.copyfile(TRACER, inject / "sitecustomize.py")
        traces = Path(work, "traces")
        traced_env = {**os.environ, "PYTHONPATH": str(inject), "HOTSTART_TRACE": ""}
        plain_env = dict(os.environ)
        floor = [python, "-c", "pass"]
        for x in SLEEPS_MS:
            code = f"import time; time.sleep({x / 1000})"
            argv = [python, "-c", code]
            reported, reported_floor, truth, truth_floor, polled = [], [], [], [], []
            for n in range(args.rounds + 1):  # the first round warms up (and writes .pyc)
                result = profile(Target("code", code), runs=1, calls=False, python=python,
                                 cwd=work)
                run_dir = traces / f"{x}-{n}"
                run_dir.mkdir(parents=True)
                env = {**traced_env, "HOTSTART_TRACE_DIR": str(run_dir)}
                samples = (result.wall_us.median / 1e3, result.floor_us.median / 1e3,
                           wait4_ms(argv, env), wait4_ms(floor, plain_env),
                           polling_ms(argv, env))
                if n:
                    for series, value in zip((reported, reported_floor, truth, truth_floor,
                                              polled), samples):
                        series.append(value)
            rows.append((x, reported, reported_floor, truth, truth_floor, polled))
            print(f"x = {x} ms done", file=sys.stderr, flush=True)

    print(f"CPython {version} ({python}); {args.rounds} interleaved rounds per x after 1 "
          f"warm-up round; figures in ms, median (min .. max)\n")
    print("#### Wall time minus x\n")
    print("| x ms | reported wall - x | truth (wait4) - x | reported - truth, per round "
          "| old polling wait - x |")
    print("|---:|---:|---:|---:|---:|")
    for x, reported, _, truth, _, polled in rows:
        paired = [r - t for r, t in zip(reported, truth)]
        print(f"| {x} | {spread([r - x for r in reported])} | {spread([t - x for t in truth])} "
              f"| {spread(paired)} | {spread([p - x for p in polled])} |")
    print("\n#### Start-up (wall minus floor, per round) minus x\n")
    print("| x ms | reported start-up - x | truth start-up - x | reported - truth, per round |")
    print("|---:|---:|---:|---:|")
    for x, reported, reported_floor, truth, truth_floor, _ in rows:
        startup = [r - f - x for r, f in zip(reported, reported_floor)]
        true_startup = [t - f - x for t, f in zip(truth, truth_floor)]
        paired = [a - b for a, b in zip(startup, true_startup)]
        print(f"| {x} | {spread(startup)} | {spread(true_startup)} | {spread(paired)} |")


if __name__ == "__main__":
    main()
