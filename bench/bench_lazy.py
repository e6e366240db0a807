"""`hotstart.lazy` access costs, in one process: lazy names and proxies vs plain modules.

Throwaway packages are written to a temporary directory:

    plainmod.py            value = 1                       (baseline: a plain module global)
    hookmod.py             value = 1, and a PEP 562 __getattr__ that is never called
    lazypkg/__init__.py    attach(__name__, attrs={"impl": ["value"]})
    lazypkg/impl.py        value = 1
    eagerpkg/__init__.py   from .impl import value          (baseline for the first access)
    eagerpkg/impl.py       value = 1
    target.py              value = 1                       (for lazy_import)

Cases, each timed with timeit.repeat, interleaved round by round so that all see the same
machine state: (1) `lazypkg.value` after its first access vs `plainmod.value` (and vs a
module that merely defines `__getattr__`: CPython 3.11-3.13 do not specialize attribute
loads on such modules); (2) an attribute of a loaded `lazy_import` proxy vs the same
attribute of the real module; (3) the first access: resolving a lazy name whose submodule is
already imported (the cached value is popped before each access), and importing through a
lazy name or a proxy vs a plain import (the modules are removed from sys.modules before
each one, untimed; bytecode comes from a .pyc; single-shot timings include the timer's own
overhead).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
import tempfile
import textwrap
import timeit
from pathlib import Path

from _timing import python_info

import hotstart.lazy

FILES = {
    "plainmod.py": "value = 1\n",
    "hookmod.py": "value = 1\ndef __getattr__(name):\n    raise AttributeError(name)\n",
    "lazypkg/__init__.py": """
        import hotstart.lazy
        __getattr__, __dir__, __all__ = hotstart.lazy.attach(__name__, attrs={"impl": ["value"]})
        """,
    "lazypkg/impl.py": "value = 1\n",
    "sealedpkg/__init__.py": """
        import hotstart.lazy
        __getattr__, __dir__, __all__ = hotstart.lazy.attach(
            __name__, attrs={"impl": ["value"]}, seal=True)
        """,
    "sealedpkg/impl.py": "value = 1\n",
    "eagerpkg/__init__.py": "from .impl import value\n",
    "eagerpkg/impl.py": "value = 1\n",
    "target.py": "value = 1\n",
}


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class Case:
    def __init__(self, label: str, stmt: str, setup: str = "pass", number: int = 1,
                 baseline: Case | None = None) -> None:
        self.label, self.stmt, self.setup, self.number = label, stmt, setup, number
        self.baseline = baseline
        self.samples_ns: list[float] = []  # per operation

    def run(self, namespace: dict) -> None:
        timer = timeit.Timer(self.stmt, self.setup, globals=namespace)
        self.samples_ns.append(timer.timeit(self.number) / self.number * 1e9)


def forget(*names: str) -> None:
    for name in names:
        sys.modules.pop(name, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="repeats per case (default 9)")
    parser.add_argument("--number", type=int, default=200_000,
                        help="accesses per repeat for the steady-state cases (default 200000)")
    args = parser.parse_args()
    os.environ.pop("HOTSTART_EAGER", None)

    with tempfile.TemporaryDirectory(prefix="bench-lazy-") as tmp:
        for relative, text in FILES.items():
            path = Path(tmp, relative)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        import py_compile
        for path in Path(tmp).rglob("*.py"):  # first accesses load .pyc, as users' do
            py_compile.compile(str(path), cfile=importlib.util.cache_from_source(str(path)))
        sys.path.insert(0, tmp)
        importlib.invalidate_caches()

        import hookmod
        import lazypkg
        import plainmod
        import sealedpkg

        lazypkg.value  # resolved once: now a plain global of lazypkg
        assert "value" in lazypkg.__dict__
        sealedpkg.value  # every declared name resolved: the hooks are gone
        assert "__getattr__" not in sealedpkg.__dict__
        proxy = hotstart.lazy.lazy_import("target")
        proxy.value  # loaded; every access is now forwarded
        target = sys.modules["target"]
        ns = {"lazypkg": lazypkg, "sealedpkg": sealedpkg, "plainmod": plainmod, "hookmod": hookmod, "proxy": proxy,
              "target": target, "forget": forget, "lazy_import": hotstart.lazy.lazy_import}
        n, first = args.number, max(1, args.number // 1000)

        plain = Case("`plainmod.value` (plain module global)", "plainmod.value", number=n)
        hook = Case("`hookmod.value` (global of a module with any `__getattr__`)",
                    "hookmod.value", number=n, baseline=plain)
        real = Case("`target.value` (the real module)", "target.value", number=n)
        eager_import = Case(
            "`import eagerpkg; eagerpkg.value` (eager package, cold)",
            "import eagerpkg; eagerpkg.value",
            "forget('eagerpkg', 'eagerpkg.impl')", number=1)
        plain_import = Case(
            "`import target; target.value` (plain import, cold)",
            "import target; target.value", "forget('target')", number=1)
        pop_plain = Case("`pop('x'); plainmod.value` (same dict pop, plain global)",
                         "pop('x', None); plainmod.value", "pop = {}.pop", number=n // 10)
        lazy_steady = Case("`lazypkg.value` after first access", "lazypkg.value", number=n,
                           baseline=plain)
        sealed_steady = Case("`sealedpkg.value` after first access (`attach(..., seal=True)`)",
                             "sealedpkg.value", number=n, baseline=plain)
        cases = [
            plain,
            hook,
            lazy_steady,
            sealed_steady,
            real,
            Case("`proxy.value` (lazy_import, loaded)", "proxy.value", number=n,
                 baseline=real),
            pop_plain,
            Case("`pop('value'); lazypkg.value`: a first access, `lazypkg.impl` imported",
                 "pop('value', None); lazypkg.value", "pop = lazypkg.__dict__.pop",
                 number=n // 10, baseline=pop_plain),
            eager_import,
            Case("`import lazypkg; lazypkg.value` (lazy package, cold)",
                 "import lazypkg; lazypkg.value", "forget('lazypkg', 'lazypkg.impl')",
                 number=1, baseline=eager_import),
            plain_import,
            Case("`p = lazy_import('target'); p.value` (cold)",
                 "p = lazy_import('target'); p.value", "forget('target')", number=1,
                 baseline=plain_import),
        ]
        for case in cases:  # warm-up
            case.run(ns)
            case.samples_ns.clear()
        cold = [c for c in cases if c.number == 1]
        for _ in range(args.rounds):
            for case in cases:
                if case.number == 1:
                    continue
                case.run(ns)
            for _ in range(first):  # single-shot cases: many samples per round
                for case in cold:
                    case.run(ns)
        sys.path.remove(tmp)

    print(f"{python_info()}; {args.rounds} interleaved rounds; per round: {args.number} "
          f"accesses per steady-state case, {args.number // 10} per pop case, {first} cold "
          f"imports per import case (one each, setup untimed)\n")
    print("| case | median ns/op | min | max | ratio of medians to baseline | baseline |")
    print("|---|---:|---:|---:|---:|---|")
    for case in cases:
        m = median(case.samples_ns)
        ratio = f"{m / median(case.baseline.samples_ns):.2f}" if case.baseline else ""
        base = case.baseline.label.split(" (")[0] if case.baseline else "-"
        print(f"| {case.label} | {m:,.1f} | {min(case.samples_ns):,.1f} | "
              f"{max(case.samples_ns):,.1f} | {ratio} | {base} |")
    steady = median(lazy_steady.samples_ns)
    print(f"\nlazy attribute after first access: {steady / median(plain.samples_ns):.2f}x a "
          f"plain module global, {steady / median(hook.samples_ns):.2f}x a global of a module "
          f"that defines __getattr__; sealed: "
          f"{median(sealed_steady.samples_ns) / median(plain.samples_ns):.2f}x (target: ~1.0)")


if __name__ == "__main__":
    main()
