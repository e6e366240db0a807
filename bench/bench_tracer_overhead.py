"""Tracer overhead: a profiled run of `import pandas` next to `-X importtime` and a plain run.

Three commands per round, interleaved:
  plain       python -c "import pandas"
  importtime  python -X importtime -c "import pandas"   (stderr to /dev/null)
  traced      the same with hotstart's tracer injected, as in a timed run of `hotstart profile`

Then one `hotstart.profile(..., cross_check=True)` session compares the tracer's per-module
self times with `-X importtime`'s (Pearson and Spearman correlation over common modules).
pandas comes from site-packages with the .pyc files pip compiled; the table says so.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _timing import Series, interleave, paired_ratio, python_info, table

from hotstart.measure.model import ImportTree
from hotstart.measure.runner import Target, profile

TRACER = Path(__file__).resolve().parents[1] / "src" / "hotstart" / "measure" / "tracer.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=31)
    parser.add_argument("--module", default="pandas")
    args = parser.parse_args()
    code = f"import {args.module}"
    with tempfile.TemporaryDirectory() as work:
        inject = Path(work, "inject")
        inject.mkdir()
        shutil.copyfile(TRACER, inject / "sitecustomize.py")
        traces = Path(work, "traces")
        traces.mkdir()
        traced_env = {**os.environ, "PYTHONPATH": str(inject), "HOTSTART_TRACE_DIR": str(traces),
                      "HOTSTART_TRACE": ""}  # as in the timed runs
        plain = Series("plain", [sys.executable, "-c", code])
        importtime = Series("-X importtime", [sys.executable, "-X", "importtime", "-c", code])
        traced = Series("hotstart tracer", [sys.executable, "-c", code], traced_env)
        interleave([plain, importtime, traced], args.rounds)
    print(f"{python_info()}; {args.rounds} interleaved rounds after 2 warm-up rounds\n")
    print(table([plain, importtime, traced], importtime,
                f"Wall time of `python -c \"{code}\"`"))
    print(f"tracer vs -X importtime: {paired_ratio(traced, importtime) - 1:+.1%} "
          f"(median of per-round ratios; budget: within 10 %)\n")

    result = profile(Target("code", code), runs=args.rounds, cross_check=True, calls=False)
    check = result.cross_check
    assert check is not None
    main = result.main
    print(f"### Per-module self time, tracer vs -X importtime ({check.runs} runs each)\n")
    print(f"- modules compared: {check.modules_compared} (only traced: {len(check.only_tracer)}, "
          f"only in importtime: {len(check.only_importtime)})")
    print(f"- Pearson r = {check.pearson:.3f}, Spearman rho = {check.spearman:.3f}")
    code_state = main.bytecode
    print(f"- bytecode: {code_state.from_pyc} modules from .pyc, {code_state.compiled} compiled "
          f"at start")
    record = ImportTree(main).module(args.module)
    if record is not None:
        print(f"- {args.module}: cumulative {record.cumulative_us.median / 1e3:.1f} ms "
              f"(min {record.cumulative_us.min / 1e3:.1f}, max {record.cumulative_us.max / 1e3:.1f})")


if __name__ == "__main__":
    main()
