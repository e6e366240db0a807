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


def warm(pool) -> None:
    """A first, short task: the worker's last task is then known to be short."""
    import pooltasks

    assert pool.submit(pooltasks.double, 1).result(timeout=30) == 2


def until(condition, seconds: float = 10.0) -> None:
    """Wait for state the manager thread sets (a condition, not a timing), polling often:
    the tests of tasks sent ahead catch states that last a fraction of a second."""
    wait_until(condition, timeout=seconds, interval=0.002)
