"""Hot calls: does the reported time match what removing the call really saves?

For each case, a module whose import makes one known-cost call, and the same module without
that call:

  stack      `inspect.stack()` 15 times (frames, source files, many small calls)
  calls      200,000 calls of a tiny Python function (the call profiler's worst case)
  loop       a pure bytecode loop (no calls: what 3.11 slows down under any profiler)
  sleep      `time.sleep(0.02)` (time outside Python)
  jobrunner  the example's `log = get_logger()` in its modules, importing `jobrunner.cli`
             (without it: `logging.getLogger(__name__)`)

The truth is the saving: `import <module>` timed in-process with and without the call, in
interleaved rounds (median of the per-round differences, with min and max), without the time
the process waited for a CPU (the machine is shared), as hotstart's sampler counts it. The reported
figure is what `hotstart profile` shows for the hot call (`~ms`), one session per round;
next to it the call profiler's raw figure (what hotstart reported before it was corrected)
and the profiler figure with its calibrated per-event overhead taken off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from _timing import python_info

from hotstart.measure.runner import Target, profile

EXAMPLE_SRC = Path(__file__).resolve().parents[1] / "examples" / "jobrunner" / "src"
# The import's time without the time the process waited for a CPU on this shared machine
# (`/proc/thread-self/schedstat`): on an idle machine, its wall time.
CLOCK = ("import os, sys, time\n"
         "fd = os.open('/proc/thread-self/schedstat', os.O_RDONLY)\n"
         "waited = lambda: int(os.pread(fd, 64, 0).split()[1])\n"
         "w0, t0 = waited(), time.perf_counter_ns()\n"
         "import {module}\n"
         "t1, w1 = time.perf_counter_ns(), waited()\n"
         "sys.stdout.write(str(t1 - t0 - (w1 - w0)))")

SYNTHETIC = {
    "stack": ("import inspect\n\n\ndef burn():\n    for _ in range(15):\n"
              "        inspect.stack()\n\n\n", "burn()\n"),
    "calls": ("def tiny(i):\n    return i\n\n\ndef burn():\n    for i in range(200_000):\n"
              "        tiny(i)\n\n\n", "burn()\n"),
    "loop": ("def burn():\n    x = 0\n    for i in range(400_000):\n"
             "        x = x + i * 2 - (i >> 1)\n    return x\n\n\n", "burn()\n"),
    "sleep": ("import time\n\n\ndef burn():\n    time.sleep(0.02)\n\n\n", "burn()\n"),
}


@dataclass
class Case:
    name: str
    module: str
    function: str  # the hot call as hotstart names it
    with_path: Path
    without_path: Path
    saving_ms: list[float] = field(default_factory=list)
    reported_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    calibrated_ms: list[float] = field(default_factory=list)
    leaf: str = ""


def _write_synthetic(root: Path, name: str) -> tuple[Path, Path]:
    body, call = SYNTHETIC[name]
    with_path, without_path = root / "with" / name, root / "without" / name
    for path, text in ((with_path, body + call), (without_path, body + "pass\n")):
        path.mkdir(parents=True)
        (path / f"synth_{name}.py").write_text(text)
    return with_path, without_path


def _write_jobrunner(root: Path) -> tuple[Path, Path]:
    with_path, without_path = root / "with" / "jobrunner", root / "without" / "jobrunner"
    shutil.copytree(EXAMPLE_SRC, with_path, ignore=shutil.ignore_patterns("*.egg-info"))
    shutil.copytree(EXAMPLE_SRC, without_path, ignore=shutil.ignore_patterns("*.egg-info"))
    for path in (without_path / "jobrunner").rglob("*.py"):
        text = path.read_text()
        if "= get_logger()" in text:
            path.write_text(text.replace("= get_logger()",
                                         "= __import__('logging').getLogger(__name__)"))
    return with_path, without_path


def _import_ms(path: Path, module: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(path)}
    out = subprocess.run([sys.executable, "-c", CLOCK.format(module=module)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return int(out) / 1e6


def _round(case: Case) -> None:
    with_ms = _import_ms(case.with_path, case.module)
    without_ms = _import_ms(case.without_path, case.module)
    case.saving_ms.append(with_ms - without_ms)
    result = profile(Target("code", f"import {case.module}"), runs=1,
                     env={**os.environ, "PYTHONPATH": str(case.with_path)})
    process = result.main
    call = next((c for c in process.hot_calls if c.function == case.function), None)
    if call is None:
        raise SystemExit(f"bench_hot_calls: {case.name}: {case.function} is not a hot call; "
                         f"found {[c.function for c in process.hot_calls]}")
    case.reported_ms.append((process.estimate_us(call) or 0.0) / 1e3)
    case.raw_ms.append((call.cumulative_us - call.imports_us) / 1e3)
    case.calibrated_ms.append((call.cumulative_us - call.imports_us - call.overhead_us) / 1e3)
    case.leaf = " -> ".join([call.function, *(c.function for c in call.chain)])


def _stat(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}..{max(values):.1f})"


def _ratio(values: list[float], truth: list[float]) -> str:
    real = statistics.median(truth)
    return f"{statistics.median(values) / real:.2f}" if real > 0 else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--cases", default="stack,calls,loop,sleep,jobrunner")
    args = parser.parse_args()
    names = [n for n in args.cases.split(",") if n]
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        cases = []
        for name in names:
            if name == "jobrunner":
                paths = _write_jobrunner(root)
                cases.append(Case(name, "jobrunner.cli", "jobrunner.log:get_logger", *paths))
            else:
                paths = _write_synthetic(root, name)
                cases.append(Case(name, f"synth_{name}", f"synth_{name}:burn", *paths))
        for case in cases:  # warm-up: page cache, .pyc of the standard library
            _import_ms(case.with_path, case.module)
            _import_ms(case.without_path, case.module)
        for _ in range(args.rounds):
            for case in cases:
                _round(case)
    print(f"{python_info()}; {args.rounds} interleaved rounds (one profile session and one "
          f"timed import with and without the call per round)\n")
    print("| case | real saving ms | reported ~ms | reported / real | profiler raw ms (before) "
          "| raw / real | profiler calibrated ms | calibrated / real |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for case in cases:
        print(f"| {case.name} | {_stat(case.saving_ms)} | {_stat(case.reported_ms)} | "
              f"{_ratio(case.reported_ms, case.saving_ms)} | {_stat(case.raw_ms)} | "
              f"{_ratio(case.raw_ms, case.saving_ms)} | {_stat(case.calibrated_ms)} | "
              f"{_ratio(case.calibrated_ms, case.saving_ms)} |")
    print("\nLeaf chains as reported:\n")
    for case in cases:
        print(f"- {case.name}: `{case.leaf}`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
