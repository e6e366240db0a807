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


def ones(n: int, send: bool = True):
    """An array of n float64 ones (8*n bytes, every page written); returned, or dropped in the
    worker when `send` is false (the baseline: same work minus the transport)."""
    import numpy

    array = numpy.ones(n)
    return array if send else None
