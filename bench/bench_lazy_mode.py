"""The run-time lazy mode's costs: per import statement in one process, and on real programs.

Part 1, in this process (`timeit`-style, interleaved rounds, throwaway modules in a temporary
directory compiled to `.pyc`): each case runs the same compiled statement with the lazy-import
hook installed (every potentially lazy import lazy) and without it, back to back:

- an eager import through the hook: `import json` of a loaded module in a function (the
  wrapper's fast path) and at module scope (module code `exec`'d in a fresh namespace: the
  statement is inspected, then passed on), `from json import dumps` at module scope, and a
  cold import at module scope inside a `try` block (inspected, eager, really imported);
- creating a lazy binding: `import target` / `from target import value` at module scope, the
  module not loaded (with the hook: a lazy object; without: the real import);
- first use: the lazy binding plus its first use (the import happens then) vs the plain
  import plus the same use.

Part 2, reading globals in a module with deferred imports: the module's functions see a
``__builtins__`` of their own (a dict subclass, `hotstart.lazy._objects.LazyBuiltins`), so
CPython reads their globals and builtins through the generic, unspecialised ``LOAD_GLOBAL``
path. A loop reading a builtin and a global per iteration, in a function made with that
``__builtins__`` vs the plain one, interleaved.

Part 3, real programs, each run as a fresh interpreter, interleaved: plain `python ...` vs
`python -m hotstart.lazy ...` with `HOTSTART_LAZY_IMPORTS=all` (every potentially lazy
import lazy) and `=normal` (the hook installed, no module opts in: its cost alone). Wall
time from spawn to exit, medians with min/max, ratios; modules imported (counted with
`-X importtime`, launcher included); stdout compared byte for byte.
"""

from __future__ import annotations

import argparse
import builtins
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _timing import Series, interleave, paired_ratio, python_info

from hotstart.lazy import _hook
from hotstart.measure.importtime import parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jobrunner"

FILES = {
    "target.py": "value = 1\n",
}

#: (label, module source run per sample, names to forget before each sample, use statement)
CASES = [
    ("`import json` in a function (json loaded)", None, (), None),
    ("`import json` at module scope (json loaded)", "import json\n", (), None),
    ("`from json import dumps` at module scope (json loaded)", "from json import dumps\n",
     (), None),
    ("cold `import target` at module scope in a `try` (eager either way)",
     "try:\n    import target\nfinally:\n    pass\n", ("target",), None),
    ("`import target` at module scope (target not loaded): bind",
     "import target\ndef use():\n    return target.value\n", ("target",), None),
    ("`from target import value` at module scope (target not loaded): bind",
     "from target import value\ndef use():\n    return value + 0\n", ("target",), None),
    ("`import target` + first use `target.value` (the import happens at the use)",
     "import target\ndef use():\n    return target.value\n", ("target",), "use()"),
    ("`from target import value` + first use `value + 0`",
     "from target import value\ndef use():\n    return value + 0\n", ("target",), "use()"),
]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _import_json_in_function():
    import json  # noqa: F401 (the statement is what is timed)


def time_case(source: str | None, forget: tuple, use: str | None, number: int) -> float:
    """ns per statement (plus use). The warm function case: the mean of a loop of `number`.
    Module code cases: the median of `number` single samples (module code `exec`'d in a
    fresh namespace; `forget`'s modules removed from sys.modules first, untimed), so that a
    sample the scheduler interrupted does not weigh on the round."""
    if source is None:
        start = time.perf_counter_ns()
        for _ in range(number):
            _import_json_in_function()
        return (time.perf_counter_ns() - start) / number
    code = compile(source, "<bench module>", "exec")
    use_code = compile(use, "<bench use>", "eval") if use else None
    samples = []
    for _ in range(number):
        for name in forget:
            sys.modules.pop(name, None)
        namespace = {"__name__": "bench_module", "__builtins__": builtins}
        start = time.perf_counter_ns()
        exec(code, namespace)  # noqa: S102 (module code, as an import runs it)
        if use_code is not None:
            eval(use_code, namespace)
        samples.append(time.perf_counter_ns() - start)
    return median(samples)


def micro(rounds: int, number: int) -> str:
    with tempfile.TemporaryDirectory(prefix="bench-lazy-mode-") as tmp:
        for relative, text in FILES.items():
            Path(tmp, relative).write_text(text)
        import py_compile
        for path in Path(tmp).glob("*.py"):  # cold imports load .pyc, as users' do
            py_compile.compile(str(path), cfile=importlib.util.cache_from_source(str(path)))
        sys.path.insert(0, tmp)
        importlib.invalidate_caches()
        import json  # noqa: F401 (loaded before the cases that assume it)

        samples: dict = {(label, hooked): [] for label, *_ in CASES for hooked in (0, 1)}
        for round_index in range(rounds + 1):  # the first round is warm-up
            for label, source, forget, use in CASES:
                count = max(1, number // 100) if source is not None else number
                for hooked in (0, 1):
                    hook = _hook.install(lambda importing, imported, fromlist: True) \
                        if hooked else None
                    if hook is not None:
                        hook.stand_ins = False  # as the run-time lazy mode has it
                    try:
                        value = time_case(source, forget, use, count)
                    finally:
                        if hook is not None:
                            hook.uninstall()
                    if round_index:
                        samples[label, hooked].append(value)
        sys.path.remove(tmp)
    lines = [("| case | without hook ns (min-max) | with hook ns (min-max) | difference ns | "
             "ratio of medians |"), "|---|---:|---:|---:|---:|"]
    for label, *_ in CASES:
        plain, hooked = samples[label, 0], samples[label, 1]
        lines.append(f"| {label} | {median(plain):,.0f} ({min(plain):,.0f}-{max(plain):,.0f}) "
                     f"| {median(hooked):,.0f} ({min(hooked):,.0f}-{max(hooked):,.0f}) | "
                     f"{median(hooked) - median(plain):+,.0f} | "
                     f"{median(hooked) / median(plain):.2f} |")
    return "\n".join(lines) + "\n"


LOOP = """
VALUE = 3
def loop(n):
    total = 0
    for item in range(n):
        total += len("ab") + VALUE
    return total
"""


def global_reads(rounds: int, number: int) -> str:
    """ns per loop iteration: plain builtins vs a LazyBuiltins copy (part 2)."""
    from hotstart.lazy import _objects

    code = compile(LOOP, "<loop>", "exec")
    plain: dict = {"__name__": "bench_plain"}
    exec(code, plain)  # noqa: S102 (the benchmark's own loop)
    lazy: dict = {"__name__": "bench_lazy", "__builtins__": builtins.__dict__}
    _objects.lazy_builtins(lazy, code, 0)
    exec(code, lazy)  # noqa: S102
    assert type(lazy["loop"].__builtins__) is _objects.LazyBuiltins
    samples: dict = {"plain": [], "lazy": []}
    for round_index in range(rounds + 1):
        for label, namespace in (("plain", plain), ("lazy", lazy)):
            loop = namespace["loop"]
            start = time.perf_counter_ns()
            loop(number)
            elapsed = (time.perf_counter_ns() - start) / number
            if round_index:
                samples[label].append(elapsed)
    a, b = samples["plain"], samples["lazy"]
    return ("| loop body `total += len(\"ab\") + VALUE` | plain builtins ns (min-max) | "
            "LazyBuiltins ns (min-max) | ratio of medians |\n|---|---:|---:|---:|\n"
            f"| per iteration | {median(a):.1f} ({min(a):.1f}-{max(a):.1f}) | "
            f"{median(b):.1f} ({min(b):.1f}-{max(b):.1f}) | {median(b) / median(a):.2f} |\n")


def modules_imported(argv: list[str], env: dict, cwd: Path) -> int:
    result = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=cwd, env=env,
                            capture_output=True, text=True, check=False)
    logs = [log for log in parse(result.stderr) if log.entries]
    return sum(len(log.fresh()) for log in logs)


def output(argv: list[str], env: dict, cwd: Path) -> tuple:
    result = subprocess.run([sys.executable, *argv], cwd=cwd, env=env, capture_output=True,
                            check=False)
    return result.returncode, result.stdout


def programs(rounds: int) -> str:
    base = {k: v for k, v in os.environ.items()
            if k not in ("HOTSTART_EAGER", "HOTSTART_LAZY_IMPORTS")}
    targets = [
        ("`jobrunner interface` (the example)", ["-m", "jobrunner", "interface"], EXAMPLE),
        ("`python -c 'import pandas'`", ["-c", "import pandas"], ROOT),
        ("`python -m json.tool --help`", ["-m", "json.tool", "--help"], ROOT),
    ]
    text = []
    for title, argv, cwd in targets:
        variants = [
            ("plain", argv, base),
            ("lazy mode all", ["-m", "hotstart.lazy", *argv],
             {**base, "HOTSTART_LAZY_IMPORTS": "all"}),
            ("lazy mode normal (hook only)", ["-m", "hotstart.lazy", *argv],
             {**base, "HOTSTART_LAZY_IMPORTS": "normal"}),
        ]
        reference = output(argv, base, cwd)
        same = [output(a, e, cwd) == reference for _, a, e in variants]
        counts = [modules_imported(a, e, cwd) for _, a, e in variants]
        old = os.getcwd()
        os.chdir(cwd)
        try:
            series = [Series(label, [sys.executable, *a], e) for label, a, e in variants]
            interleave(series, rounds)
        finally:
            os.chdir(old)
        plain = series[0]
        text += [f"#### {title}", "",
                 ("| command | median ms | min ms | max ms | median of per-round ratios to plain "
                 "| modules imported | exit code and stdout as plain |"),
                 "|---|---:|---:|---:|---:|---:|---|"]
        for s, count, equal in zip(series, counts, same):
            text.append(f"| {s.label} | {s.median:.1f} | {min(s.samples_ms):.1f} | "
                        f"{max(s.samples_ms):.1f} | {paired_ratio(s, plain):.3f} | {count} | "
                        f"{'yes' if equal else 'NO'} |")
        text.append("")
    return "\n".join(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=21,
                        help="interleaved rounds (default 21)")
    parser.add_argument("--number", type=int, default=20_000,
                        help="statements per round for the warm cases; cold ones do 1/100")
    args = parser.parse_args()
    print(f"{python_info()}; {args.rounds} interleaved rounds\n")
    print(f"#### Per statement (per round: the mean of {args.number} `import json` in a "
          f"function; the median of {args.number // 100} samples of each module-code case; "
          f"medians over the rounds)\n")
    print(micro(args.rounds, args.number))
    print(f"#### Reading globals and builtins in a function of a module with deferred imports "
          f"({args.number * 10} iterations per round)\n")
    print(global_reads(args.rounds, args.number * 10))
    print(programs(args.rounds))


if __name__ == "__main__":
    main()
