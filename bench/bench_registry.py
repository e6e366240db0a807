"""Registry: cold index scan vs the I/O floor, warm (cached) build, and get() vs dict.get.

1. Cold scan. `Index.build(package, Matcher(("register",)), cache=False)` over the installed
   sources of pandas, scipy and scikit-learn (located with importlib.util.find_spec, never
   imported), next to the floor: listing the same .py files, reading every one's bytes and
   running the same byte prefilter (`b"register" in data`). Interleaved rounds, after one
   warm-up round: both run with a warm OS page cache (nothing is dropped from it), so the
   ratio is CPU work (parsing and walking the tree) over the unavoidable read.
2. Warm build. `Index.build(...)` with a disk cache that is already filled, plus one lookup:
   what a worker pays to get its index when nothing changed (lists and stats every file).
3. Registry.get on a hit vs dict.get and d[key] (timeit).
4. Start-up: `python -c pass` vs importing the Registry, and the index module.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import timeit

from _timing import Series, interleave, python_info, table

from hotstart.registry import Registry
from hotstart.registry.index import Index, Matcher

PACKAGES = [("pandas", "pandas"), ("scipy", "scipy"), ("scikit-learn", "sklearn")]
MATCHER = Matcher(("register",))


def locate(module: str) -> list[str] | None:
    """The package's source directories, or None when it is not installed (nothing runs)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)


def floor(locations: list[str], needles: tuple[bytes, ...]) -> tuple[int, int]:
    """List the .py files as the scanner does, read each, run the byte prefilter."""
    files = passed = 0
    stack = list(reversed(locations))
    while stack:
        directory = stack.pop()
        try:
            with os.scandir(directory) as listing:
                items = list(listing)
        except OSError:
            continue
        for item in items:
            name = item.name
            if name.startswith(".") or name == "__pycache__":
                continue
            if name.endswith(".py"):
                if item.is_file():
                    files += 1
                    with open(item.path, "rb", buffering=0) as handle:
                        data = handle.read()
                    if any(needle in data for needle in needles):
                        passed += 1
            elif item.is_dir():
                stack.append(item.path)
    return files, passed


def stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    mid = len(ordered) // 2
    median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
    return median, ordered[0], ordered[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f}"


def cold_scan(found: dict[str, list[str]], rounds: int) -> None:
    needles = MATCHER.needles()
    times: dict[str, dict[str, list[float]]] = {m: {"floor": [], "index": []} for m in found}
    info: dict[str, tuple] = {}
    for round_ in range(rounds + 1):  # round 0 warms the page cache and is not recorded
        for module, locations in found.items():
            start = time.perf_counter()
            files, passed = floor(locations, needles)
            floor_s = time.perf_counter() - start
            start = time.perf_counter()
            index = Index.build(module, MATCHER, cache=False)
            index_s = time.perf_counter() - start
            if round_:
                times[module]["floor"].append(floor_s)
                times[module]["index"].append(index_s)
            info[module] = (files, passed, index)
    print(f"### Cold index scan vs reading the files ({rounds} interleaved rounds after 1 "
          f"warm-up round; warm OS page cache for both, nothing dropped)\n")
    print("| package | .py files | pass prefilter | parsed | names | warnings | floor ms "
          "(min-max) | Index.build ms (min-max) | ratio of medians | median per-round ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for module, series in times.items():
        files, passed, index = info[module]
        assert files == index.files_scanned, (files, index.files_scanned)
        f_med, f_min, f_max = stats(series["floor"])
        i_med, i_min, i_max = stats(series["index"])
        per_round, _, _ = stats([i / f for i, f in zip(series["index"], series["floor"])])
        print(f"| {module} | {files} | {passed} | {index.files_parsed} | {len(index)} | "
              f"{len(index.warnings)} | {ms(f_med)} ({ms(f_min)}-{ms(f_max)}) | {ms(i_med)} "
              f"({ms(i_min)}-{ms(i_max)}) | {i_med / f_med:.2f} | {per_round:.2f} |")
    print("\nfloor = list the .py files, read each one's bytes, `b\"register\" in data`; "
          "target: Index.build within 2x of it.\n")


def warm_build(found: dict[str, list[str]], rounds: int) -> None:
    print(f"### Warm Index.build + lookup from the disk cache ({rounds} runs each)\n")
    print("| roots | .py files | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|---:|")
    targets = [[m] for m in found] + ([list(found)] if len(found) > 1 else [])
    with tempfile.TemporaryDirectory() as cache:
        for roots in targets:
            first = Index.build(roots, MATCHER, cache=cache)
            assert not first.from_cache
            samples = []
            for _ in range(rounds):
                start = time.perf_counter()
                index = Index.build(roots, MATCHER, cache=cache)
                index.lookup("register")
                index.modules_for("anything")
                samples.append(time.perf_counter() - start)
                assert index.from_cache
            med, low, high = stats(samples)
            print(f"| {' + '.join(roots)} | {index.files_scanned} | {ms(med)} | {ms(low)} | "
                  f"{ms(high)} |")
    print("\ntarget: < 20 ms for pandas (it lists and stats every candidate file; reads one "
          "JSON file).\n")


def get_vs_dict(repeat: int, number: int) -> None:
    registry = Registry("bench")
    plain: dict[str, object] = {}
    for i in range(300):
        obj = type(f"Plugin{i}", (), {})
        registry.register(f"plugin_{i}", obj)
        plain[f"plugin_{i}"] = obj
    key = "plugin_150"
    rows = []
    for label, stmt, env in (("dict.get(key)", "get(key)", {"get": plain.get}),
                             ("d[key]", "d[key]", {"d": plain}),
                             ("registry.get(key)", "r.get(key)", {"r": registry}),
                             ("dict.get via attribute", "d.get(key)", {"d": plain})):
        timer = timeit.Timer(stmt, globals={**env, "key": key})
        samples = [t / number * 1e9 for t in timer.repeat(repeat, number)]
        rows.append((label, *stats(samples)))
    base = rows[3][1]
    print(f"### Registry.get on a hit vs a plain dict (timeit, {repeat} x {number:,} calls, "
          f"300 names)\n")
    print("| call | median ns | min ns | max ns | ratio to d.get(key) |")
    print("|---|---:|---:|---:|---:|")
    for label, med, low, high in rows:
        print(f"| {label} | {med:.1f} | {low:.1f} | {high:.1f} | {med / base:.2f} |")
    print("\ntarget: registry.get within 2x of d.get (a hit is dict.__getitem__ of the "
          "registry's store, bound per instance).\n")


def startup(rounds: int) -> None:
    exe = sys.executable
    with tempfile.TemporaryDirectory() as prefix:
        # As users run it: hotstart's modules compiled once (into a private pycache prefix, so
        # the source tree is not touched even when PYTHONDONTWRITEBYTECODE is set).
        env = {**os.environ, "PYTHONPYCACHEPREFIX": prefix}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        package = os.path.dirname(os.path.dirname(importlib.util.find_spec(
            "hotstart.registry").origin))
        subprocess.run([exe, "-m", "compileall", "-q", package], env=env, check=True)
        plain = Series("python -c pass", [exe, "-c", "pass"], env)
        registry = Series("from hotstart.registry import Registry",
                          [exe, "-c", "from hotstart.registry import Registry"], env)
        index = Series("import hotstart.registry.index",
                       [exe, "-c", "import hotstart.registry.index"], env)
        interleave([plain, registry, index], rounds)
    print(table([plain, registry, index], plain,
                f"Start-up cost ({rounds} interleaved rounds, wall time of a fresh interpreter, "
                f"hotstart compiled to .pyc)"))
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="cold-scan rounds (default 7)")
    parser.add_argument("--warm-rounds", type=int, default=21)
    parser.add_argument("--number", type=int, default=1_000_000, help="timeit calls per repeat")
    parser.add_argument("--startup-rounds", type=int, default=21)
    args = parser.parse_args()
    print(f"{python_info()}\n")
    found: dict[str, list[str]] = {}
    for distribution, module in PACKAGES:
        locations = locate(module)
        if locations is None:
            print(f"- {distribution} is not installed: skipped (pip install {distribution})")
        else:
            found[module] = locations
    if found:
        print()
        cold_scan(found, args.rounds)
        warm_build(found, args.warm_rounds)
    get_vs_dict(7, args.number)
    startup(args.startup_rounds)


if __name__ == "__main__":
    main()
