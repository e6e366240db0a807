"""Tasks that `bench_pool.py` submits to every pool: module-level, importable by workers.

Workers import this module by name, so bench/ must be on their `sys.path` (`bench_pool.py`
puts it on `sys.path` and in `PYTHONPATH` before it creates any pool). It imports only the
standard library at module level: what a task needs (pandas, numpy) is imported by the task,
so that a spawned worker pays for it and a forked one finds it already loaded.
"""

from __future__ import annotations

import os
import time


def noop() -> None:
    return None


def pandas_task() -> tuple[str, int]:
    """The "task that needs pandas": import it, build a tiny DataFrame, return a small result."""
    import pandas

    frame = pandas.DataFrame({"a": [1, 2, 3]})
    return pandas.__version__, int(frame["a"].sum())


def pandas_pid(hold: float = 0.0) -> int:
    """Import pandas (a spawned worker pays for it here), stay busy `hold` seconds (so that
    concurrent calls land on distinct workers), return the worker's pid."""
    import pandas  # noqa: F401

    if hold:
        time.sleep(hold)
    return os.getpid()


def sleep_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def pid() -> int:
    return os.getpid()


def identity(value: object) -> object:
    return value


def ones(n: int, send: bool = True):
    """An array of n float64 ones (8*n bytes, every page written); returned, or dropped in the
    worker when `send` is false (the baseline: same work minus the transport)."""
    import numpy

    array = numpy.ones(n)
    return array if send else None


def raw_fork_first() -> float:
    """The floor of "first result of a task that needs pandas": fork this process (pandas
    already imported), run `pandas_task` in the child, pickle its result through a pipe, read
    it, reap the child. Returns the seconds it took."""
    import pickle

    read_fd, write_fd = os.pipe()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(read_fd)
            view = memoryview(pickle.dumps(pandas_task(), pickle.HIGHEST_PROTOCOL))
            while view:
                view = view[os.write(write_fd, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 1 << 16):
        chunks.append(chunk)
    result = pickle.loads(b"".join(chunks))
    _, status = os.waitpid(pid, 0)
    elapsed = time.perf_counter() - start
    os.close(read_fd)
    if status != 0 or result[1] != 6:
        raise RuntimeError(f"raw fork floor failed: status {status}, result {result!r}")
    return elapsed


def fork_floor_server() -> None:
    """A lean parent (a bare interpreter plus pandas): one `raw_fork_first()` per line read
    on stdin, its seconds written on stdout. `python -c "import _pool_tasks as t;
    t.fork_floor_server()"`."""
    import sys

    import pandas  # noqa: F401

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for _line in sys.stdin:
        sys.stdout.write(f"{raw_fork_first()!r}\n")
        sys.stdout.flush()


def import_pandas() -> None:
    """A hand-written Ray ``worker_process_setup_hook`` (bench_backends.py): import pandas."""
    import pandas  # noqa: F401
