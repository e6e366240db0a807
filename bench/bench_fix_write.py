"""What all-or-nothing writes cost `hotstart fix`: the old per-file write (a fixed temporary
name, open + chmod + rename, no fsync) next to `Files.apply` (two temporary files per file,
flushed to disk before the renames; and without the flush, as for the states `--verify`
tries), interleaved rounds on the same files, in a directory on the disk of the project."""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from hotstart.fix._write import Files


def old_write(path: str, data: bytes) -> None:
    temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.hotstart-tmp")
    mode = os.stat(path).st_mode & 0o7777
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)),
                        help="where to make the scratch files (default: beside this script)")
    args = parser.parse_args()
    data = b"x = 1\n" * 300
    with tempfile.TemporaryDirectory(prefix="bench-fix-write-", dir=args.dir) as directory:
        paths = [os.path.join(directory, f"m{i}.py") for i in range(args.files)]
        for path in paths:
            with open(path, "wb") as handle:
                handle.write(data)
        files = Files()
        for path in paths:
            files.track(path, data)
        kinds = ["old per-file write", "all or nothing, durable", "all or nothing, verify state"]
        samples: dict[str, list[float]] = {kind: [] for kind in kinds}
        for round_ in range(args.rounds):
            for kind in kinds:
                new = data + f"# {round_} {kind}\n".encode()
                start = time.perf_counter()
                if kind == kinds[0]:
                    for path in paths:
                        old_write(path, new)
                else:
                    files.apply({p: new for p in paths}, durable=kind == kinds[1])
                samples[kind].append((time.perf_counter() - start) * 1e3)
                files.current.update({p: new for p in paths})
    print(f"Python {sys.version.split()[0]}; {args.files} files of {len(data)} bytes; "
          f"{args.rounds} interleaved rounds\n")
    base = statistics.median(samples[kinds[0]])
    print(f"{'write':32} {'median ms':>10} {'min':>8} {'max':>8} {'x old':>7}")
    for kind in kinds:
        times = samples[kind]
        median = statistics.median(times)
        print(f"{kind:32} {median:10.0f} {min(times):8.0f} {max(times):8.0f} "
              f"{median / base:7.1f}")


if __name__ == "__main__":
    main()
