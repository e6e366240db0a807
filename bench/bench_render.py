"""`hotstart show` on large profiles: 5,000 to 20,000 sibling modules, and a 20,000-deep chain.

The tree view used to be quadratic in sibling count (20,000 modules took 100 s). Linear work
shows as a 20k/10k ratio near 2 (reading the JSON file is part of every figure).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from _timing import Series, interleave, python_info, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers import make_process, make_profile, module  # noqa: E402  (test builders)


def siblings(count: int) -> dict:
    """A root with `count` children, every other one below the 1 ms cut."""
    modules = [module("root", None, 0, self_ms=1, cum_ms=count)]
    modules += [module(f"s{i}", "root", i + 1, self_ms=1, cum_ms=2 if i % 2 else 0.5)
                for i in range(count)]
    return make_profile(processes=[make_process(modules)]).to_dict()


def chain(count: int) -> dict:
    modules = [module(f"m{i}", f"m{i - 1}" if i else None, i, self_ms=1, cum_ms=count - i)
               for i in range(count)]
    return make_profile(processes=[make_process(modules)]).to_dict()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    script = str(Path(sys.executable).with_name("hotstart"))
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for label, data in [("5k siblings", siblings(5000)), ("10k siblings", siblings(10_000)),
                            ("20k siblings", siblings(20_000)), ("20k-deep chain", chain(20_000))]:
            files[label] = Path(tmp, label.replace(" ", "_") + ".json")
            files[label].write_text(json.dumps(data))
        series = [Series(f"show, {label}", [script, "show", str(path)])
                  for label, path in files.items()]
        series.append(Series("show --threshold 0, 20k-deep chain",
                             [script, "show", str(files["20k-deep chain"]), "--threshold", "0"]))
        series.append(Series("show --why m19999, 20k-deep chain",
                             [script, "show", str(files["20k-deep chain"]), "--why", "m19999"]))
        interleave(series, args.rounds, warmup=1)
    print(f"{python_info()}; {args.rounds} interleaved rounds after 1 warm-up round\n")
    print(table(series, series[0], "hotstart show on large profiles"))
    print(f"20k / 10k siblings: {series[2].median / series[1].median:.2f}x "
          f"(linear: about 2; quadratic: 4)")


if __name__ == "__main__":
    main()
