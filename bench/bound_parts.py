"""What the trial's project bound holds that `fix` left, taken apart by what holds it.

On the copies a `bench_cut.py --keep` run left: the project bound (the modules the trial's
project-lazy run never loaded) priced with the self time of each module in an eager profile
of the `before` copy (median of `--runs`), what the fixed copy still loads of it (`sys.modules`
at the entry's exit), and that rest split by named prefixes (`--held "label=prefix,prefix"`):
what an unsafe deferral holds, say, apart from what the rule does not reach yet.

    .venv/bin/python bench/bound_parts.py /tmp/hotstart-bench-cut-XXXX xarray \\
        --held "the backends chain (an atexit handler)=xarray.backends,xarray.tutorial,..."
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _cut_targets import TARGETS_CUT

_AT_EXIT = "import atexit, json, sys\natexit.register(lambda: json.dump(sorted(sys.modules), " \
           "open({out!r}, 'w')))\n"


def _env(base: Path, copy: Path, target) -> dict[str, str]:
    env = {**os.environ, **dict(target.env)}
    env["PYTHONPATH"] = os.pathsep.join([str(copy), str(base / "hotstart" / "src")])
    return env


def _loaded(base: Path, copy: Path, target) -> set[str]:
    """The modules in `sys.modules` when the entry exits, run on `copy`."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "modules.json"
        argv = list(target.entry)
        code = _AT_EXIT.format(out=str(out))
        if argv[0] == "-c":
            command = [sys.executable, "-c", code + argv[1], *argv[2:]]
        else:  # -m module args: run it after the hook, as runpy would
            command = [sys.executable, "-c", code + "import runpy, sys\nsys.argv = "
                       f"[{argv[1]!r}, *{argv[2:]!r}]\nrunpy.run_module({argv[1]!r}, "
                       "run_name='__main__', alter_sys=True)"]
        subprocess.run(command, cwd=copy, env=_env(base, copy, target), capture_output=True,
                       check=False, timeout=600)
        return set(json.loads(out.read_text()))


def _self_times(base: Path, copy: Path, target, runs: int) -> dict[str, float]:
    """Each module's self time (µs, median of `runs`) in an eager profile of `copy`."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "profile.json"
        subprocess.run([sys.executable, "-m", "hotstart", "profile", "-q", "--no-calls",
                        "-n", str(runs), "-o", str(out), *target.entry], cwd=copy,
                       env=_env(base, copy, target), capture_output=True, check=True,
                       timeout=1800)
        process = json.loads(out.read_text())["processes"][0]
    return {m["name"]: m["self_us"]["median"] for m in process["modules"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="what bench_cut.py --keep left")
    parser.add_argument("package", help="the target (its package name)")
    parser.add_argument("--variant", default="codemods", help="the fixed copy (codemods)")
    parser.add_argument("--runs", type=int, default=9, help="eager profile runs (default 9)")
    parser.add_argument("--held", action="append", default=[],
                        help="'label=prefix,prefix': the kept modules these prefixes name")
    args = parser.parse_args()
    base = Path(args.dir)
    target = next(t for t in TARGETS_CUT if t.package == args.package)
    trial = json.loads((base / "logs" / f"{args.package}-trial.json").read_text())
    bound = set(trial["project_saved"])
    before, fixed = base / args.package / "before", base / args.package / args.variant
    times = _self_times(base, before, target, args.runs)
    left = bound & _loaded(base, fixed, target)

    def ms(modules: set[str]) -> float:
        return sum(times.get(m, 0.0) for m in modules) / 1000

    total = ms(bound)
    print(f"{args.package}: the trial's project bound defers {len(bound)} modules, "
          f"{total:.1f} ms of import self time (eager profile of `before`, median of "
          f"{args.runs}; all modules {sum(times.values()) / 1000:.1f} ms)")
    taken = bound - left
    print(f"  `{args.variant}` takes {len(taken)} of them off the path: {ms(taken):.1f} ms, "
          f"{ms(taken) / total:.0%} of the bound")
    rest, excluded = set(left), 0.0
    for item in args.held:  # cumulative: each label's modules off the bound, then the next
        label, _, prefixes = item.partition("=")
        held = {m for m in rest if m.startswith(tuple(p.strip() for p in prefixes.split(",")))}
        rest -= held
        excluded += ms(held)
        print(f"  still loaded, {label}: {len(held)} modules, {ms(held):.1f} ms "
              f"({ms(held) / total:.0%}); the bound without it (and those above) "
              f"{total - excluded:.1f} ms, of which `{args.variant}` reaches "
              f"{ms(taken) / (total - excluded):.0%}")
    print(f"  still loaded, the rest: {len(rest)} modules, {ms(rest):.1f} ms "
          f"({', '.join(sorted(rest)[:8])}{' ...' if len(rest) > 8 else ''})")


if __name__ == "__main__":
    main()
