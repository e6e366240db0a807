"""`hotstart --help` and `import hotstart` next to a bare `python -c pass`, interleaved."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from _timing import Series, interleave, paired_ratio, python_info, table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("hotstart")
    floor = Series("python -c pass", [sys.executable, "-c", "pass"])
    series = [
        floor,
        Series("hotstart --help", [str(script), "--help"]),
        Series("python -m hotstart --help", [sys.executable, "-m", "hotstart", "--help"]),
        Series("python -c 'import hotstart'", [sys.executable, "-c", "import hotstart"]),
    ]
    interleave(series, args.rounds)
    print(f"{python_info()}; {args.rounds} interleaved rounds after 2 warm-up rounds\n")
    print(table(series, floor, "Start-up of hotstart itself"))
    print(f"hotstart --help / python -c pass = {paired_ratio(series[1], floor):.2f}x "
          f"(median of per-round ratios; budget: 1.5x)")


if __name__ == "__main__":
    main()
