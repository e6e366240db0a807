"""Run every benchmark in this directory, one after the other (`make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = 0
    for bench in sorted(HERE.glob("bench_*.py")):
        print(f"## {bench.name}\n", flush=True)
        failed |= subprocess.run([sys.executable, str(bench), *sys.argv[1:]], cwd=HERE).returncode
        print(flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
