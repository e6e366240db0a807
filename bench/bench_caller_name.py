"""The `hot-calls` codemod alone on the example: `python -m jobrunner interface` before and
after `jobrunner/log.py`'s `get_logger()` names its caller with `sys._getframe(1)` instead of
`inspect.stack()[1]` (nothing else changed).

Two copies of `examples/jobrunner` in a temporary directory, one rewritten by
`hotstart.fix._callername` (plan + rewrite, as `hotstart fix --select hot-calls` does), both
with their `.pyc` compiled first. Each round runs both commands back to back (interleaved,
after 2 warm-up rounds); the table gives medians with min and max, the ratio of the medians
and the median of the per-round ratios. Also `import jobrunner.cli` timed in-process without
the time the process waited for a CPU (as `bench_hot_calls.py` does: the machine is shared),
the `-X importtime` total of `jobrunner.cli`, and the number of `inspect.stack()` calls made
(counted in one run of each), which is deterministic.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import Series, interleave, python_info, table
from bench_hot_calls import CLOCK

from hotstart.audit import audit
from hotstart.fix._callername import plan, rewrite

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jobrunner"
COUNT = ("import inspect, runpy, sys\n"
         "calls = 0\n"
         "real = inspect.stack\n"
         "def counted(*a, **k):\n"
         "    global calls\n"
         "    calls += 1\n"
         "    return real(*a, **k)\n"
         "inspect.stack = counted\n"
         "import jobrunner.cli\n"
         "sys.stderr.write(f'inspect.stack calls: {calls}\\n')\n")


def _copy(base: Path, name: str) -> Path:
    copy = base / name
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


def _rewrite(copy: Path) -> int:
    report = audit(str(copy), run=False)
    changes, _skipped = plan(report, report.paths, str(copy))
    for path in sorted({c.path for c in changes}):
        mine = [c for c in changes if c.path == path]
        text = Path(path).read_text(encoding="utf-8")
        new, failed = rewrite(text, mine)
        if failed:
            raise SystemExit(f"rewrite failed: {failed}")
        Path(path).write_text(new, encoding="utf-8")
    return len(changes)


def _env(copy: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(copy / "src")
    return env


def _importtime_ms(python: str, copy: Path) -> float:
    done = subprocess.run([python, "-X", "importtime", "-c", "import jobrunner.cli"],
                          env=_env(copy), capture_output=True, text=True, check=True)
    found = re.findall(r"\|\s+(\d+) \| +jobrunner\.cli\s*$", done.stderr, re.MULTILINE)
    return int(found[-1]) / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-caller-name-") as tmp:
        before, after = _copy(Path(tmp), "before"), _copy(Path(tmp), "after")
        changes = _rewrite(after)
        for copy in (before, after):
            compileall.compile_dir(str(copy / "src"), quiet=1)
        command = [args.python, "-m", "jobrunner", "interface"]
        series = [Series("before (inspect.stack)", command, _env(before)),
                  Series("after (sys._getframe)", command, _env(after))]
        clock = CLOCK.format(module="jobrunner.cli")
        imports = {"before": [], "after": []}
        for _ in range(args.rounds):  # import jobrunner.cli, in-process, CPU-wait excluded
            for copy, label in ((before, "before"), (after, "after")):
                done = subprocess.run([args.python, "-c", clock], env=_env(copy),
                                      capture_output=True, text=True, check=True)
                imports[label].append(int(done.stdout) / 1e6)
        interleave(series, args.rounds)
        print(f"{python_info()}; {changes} change(s); {args.rounds} rounds, .pyc compiled\n")
        print(table(series, series[0], "`python -m jobrunner interface`, wall ms"))
        ratios = sorted(a / b for a, b in zip(imports["after"], imports["before"]))
        for label, values in imports.items():
            ordered = sorted(values)
            print(f"import jobrunner.cli in-process ({label}): median "
                  f"{ordered[len(ordered) // 2]:.1f} ms ({ordered[0]:.1f}..{ordered[-1]:.1f})")
        print(f"median of per-round ratios after/before: {ratios[len(ratios) // 2]:.3f}\n")
        for copy, label in ((before, "before"), (after, "after")):
            counted = subprocess.run([args.python, "-c", COUNT], env=_env(copy),
                                     capture_output=True, text=True, check=True)
            times = sorted(_importtime_ms(args.python, copy) for _ in range(5))
            print(f"{label}: {counted.stderr.strip()}; -X importtime jobrunner.cli "
                  f"cumulative median of 5: {times[2]:.1f} ms ({times[0]:.1f}..{times[-1]:.1f})")


if __name__ == "__main__":
    main()
