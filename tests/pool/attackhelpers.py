"""Helpers of the pool's attack and stress tests: pools that are always stopped, even when an
attack hung them, and bounded waits (guards that stop a hang, never timing assertions)."""

from __future__ import annotations

import os
import signal
import threading

GUARD = 30  # seconds: how long a wait may take before the pool counts as hung


def shutdown_returns(pool, guard: float = GUARD) -> bool:
    """Whether ``pool.shutdown(wait=True)`` returns within `guard` seconds (it runs in a
    daemon thread, so a hung shutdown fails the test instead of blocking the suite)."""
    done = threading.Event()

    def stop() -> None:
        try:
            pool.shutdown(wait=True)
        finally:
            done.set()

    threading.Thread(target=stop, daemon=True).start()
    return done.wait(guard)


def hostile_pools(spill_path):
    """The ``hostile_pool`` fixture (``hostile_pool = pytest.fixture(hostile_pools)`` in a
    test module): `make_pool` for attacks: a pool whose shutdown hangs is unblocked by killing its
    template (after SIGCONT, in case the test stopped it), and the hang is reported."""
    from hotstart.pool import WarmPool

    pools = []

    def make(**options):
        options.setdefault("spill_dir", spill_path)
        pool = WarmPool(**options)
        pools.append(pool)
        return pool

    yield make
    hung = []
    for pool in pools:
        if shutdown_returns(pool):
            continue
        hung.append(pool.template_pid)
        for signum in (signal.SIGCONT, signal.SIGKILL):
            try:
                os.kill(pool.template_pid, signum)
            except ProcessLookupError:
                pass
        shutdown_returns(pool, 10)
    assert not hung, f"shutdown() hung for the pools of templates {hung}"


def read_pid(path: str) -> int | None:
    """The pid a task wrote to `path` (atomically, through a rename), None until it exists."""
    try:
        with open(path) as handle:
            return int(handle.read())
    except FileNotFoundError:
        return None


def process_state(pid: int) -> str:
    """The state letter of `pid` in /proc (R, S, T, Z...)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]
