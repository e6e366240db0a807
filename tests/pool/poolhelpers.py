"""Helpers for the pool tests: bounded waits on real processes, and what the tasks sent
ahead (`_prefetch`) tests read: executions counted in a file, tasks waiting on workers."""

from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 15.0, interval: float = 0.02):
    """Poll `predicate` until it returns a true value (returned) or fail after `timeout` s.

    Not a timing assertion: the bound only stops a broken pool from hanging the suite.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {predicate}")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """True while `pid` is a running (not zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone (ESRCH: between open and read)
        return False


def recorded_calls(path) -> list[int]:
    """The pids `pooltasks.record_call` wrote to `path`, one per execution."""
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def tasks_waiting(pool) -> int:
    """How many tasks wait on the pool's workers, sent ahead (`_prefetch`)."""
    with pool._manager.lock:
        return sum(len(worker.queued) for worker in pool._manager.workers.values())


# What the tests that count tasks waiting behind a worker need its last task to have measured:
# 10 waiting need a cap (`_prefetch._cap`) of about 18 or more, so a wall under ~0.2 ms.
_WARM_WALL = 0.0002


def warm(pool) -> None:
    """A first, short task: the worker's last task is then known to be short.

    Short as the worker measured it: the manager sizes what it sends ahead behind a worker
    from its last task's wall time (`_prefetch._cap`: 5 ms / (wall + 50 us)), and a worker
    descheduled during this task (a loaded machine) measures it stretched (1 ms: 4 may wait
    behind it, not ~60; 5 ms: none), so that a test waiting for N tasks behind it
    (``until(lambda: tasks_waiting(pool) == N)``) would never see them. Repeated, a bounded
    number of times, until the worker that ran it measured it short (~40 us here).
    """
    import pooltasks

    for _ in range(50):
        future = pool.submit(pooltasks.double, 1)
        assert future.result(timeout=30) == 2
        with pool._manager.lock:
            worker = pool._manager.workers.get(future.worker_id)
            wall = worker.last_wall if worker is not None else None
        if wall is not None and wall < _WARM_WALL:
            return
    raise AssertionError(f"the warm-up task never ran in under {_WARM_WALL * 1e6:.0f} us "
                         f"(last: {wall})")


def until(condition, seconds: float = 10.0) -> None:
    """Wait for state the manager thread sets (a condition, not a timing), polling often:
    the tests of tasks sent ahead catch states that last a fraction of a second."""
    wait_until(condition, timeout=seconds, interval=0.002)
