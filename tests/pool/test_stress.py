"""Crash storm: WarmPool under crashes, timeouts and errors on a busy machine (issue 12).

Two CPU burners compete with the pool for the cores, which makes the manager's races likely
(the crash race of issue 12 broke 10 of 10 pools after 4-163 crashes). A fixed seed picks
the tasks: crashes of every kind (``os._exit``, SIGKILL, SIGSEGV, SIGABRT), timeouts, raised
exceptions, children left running, threads and forks that retire their worker, and
well-behaved tasks, in waves larger than the pool, submitted from two threads at once.
At the end: 0 broken pools, 0 lost or wrong results, 0 processes left behind (none of the
template's session outlives ``shutdown()``), at least `CRASHES` crashes in all.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading

import attacktasks
from poolhelpers import wait_until

from hotstart.pool import BrokenPool, RemoteError, TaskTimeout, WarmPool, WorkerCrashed

SEED = 12
POOLS = 4
WAVES = 14  # per pool
WAVE = 10  # tasks per wave
CRASHES = 300  # at least, over all pools
GUARD = 60  # a hang guard per future, never a timing assertion

# kind -> weight; "child" starts a `sleep` in the worker's process group and returns;
# "thread" and "fork" leave what cannot be restored (a running thread, a forked child that
# returns into the worker's loop): the worker is retired after its result.
MIX = {"exit": 5, "kill": 5, "segv": 3, "abort": 2, "ok": 6, "raise": 1, "timeout": 1,
       "child": 1, "thread": 1, "fork": 1}


def _session_members(sid):
    """Pids of the live processes whose session is `sid`."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[3]) == sid:
            members.append(int(name))
    return members


def _submit(pool, kind, number, tmp_path):
    if kind in ("exit", "kill", "segv", "abort"):
        return pool.submit(attacktasks.crash, kind)
    if kind == "timeout":
        return pool.schedule(attacktasks.crash, ("hang",), timeout=0.3)
    if kind == "raise":
        return pool.submit(attacktasks.reciprocal, 0)
    if kind == "child":
        return pool.submit(attacktasks.start_child, str(tmp_path / f"child-{number}"))
    if kind == "thread":
        return pool.submit(attacktasks.leave, "thread")
    if kind == "fork":
        return pool.submit(attacktasks.leave, "fork", str(tmp_path / f"fork-{number}"))
    return pool.submit(attacktasks.square, number)


def _submit_from_two_threads(pool, plan, tmp_path):
    """Submit `plan` ((number, kind) pairs) from two threads at once, half each (the idle
    worker fast path and the queue race each other); returns (kind, number, future)."""
    futures = {}

    def submit(part):
        for number, kind in part:
            futures[number] = _submit(pool, kind, number, tmp_path)

    threads = [threading.Thread(target=submit, args=(plan[start::2],)) for start in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [(kind, number, futures[number]) for number, kind in plan]


def _check(kind, number, future):
    """None when the future ended as its kind must, else what went wrong."""
    try:
        error = future.exception(timeout=GUARD)
    except Exception as exc:  # noqa: BLE001 - a lost result (a hang) or a cancellation
        return f"#{number} {kind}: no outcome ({type(exc).__name__})"
    if isinstance(error, BrokenPool):
        return f"#{number} {kind}: the pool broke: {error}"
    if kind in ("exit", "kill", "segv", "abort"):
        ok = isinstance(error, WorkerCrashed)
    elif kind == "timeout":
        ok = isinstance(error, TaskTimeout)
    elif kind == "raise":
        ok = isinstance(error, ZeroDivisionError) or (
            isinstance(error, RemoteError) and isinstance(error.exception, ZeroDivisionError))
    elif kind in ("child", "thread"):
        ok = error is None and isinstance(future.result(), int)
    elif kind == "fork":  # the forked copy may write into the worker's socket too
        ok = (error is None and isinstance(future.result(), int)) or isinstance(
            error, WorkerCrashed)
    else:
        ok = error is None and future.result() == number * number
    return None if ok else f"#{number} {kind}: {error!r}"


def test_a_crash_storm_breaks_no_pool_loses_nothing_and_leaves_nothing(tmp_path):
    rng = random.Random(SEED)
    kinds, weights = zip(*MIX.items())
    burners = [subprocess.Popen([sys.executable, "-c",
                                 "import attacktasks; attacktasks.burn_forever()"],
                                env={**os.environ, "PYTHONPATH": os.path.dirname(
                                    attacktasks.__file__)})
               for _ in range(2)]
    problems, crashes, broken, leftovers = [], 0, 0, []
    try:
        for index in range(POOLS):
            spill = tmp_path / f"spill-{index}"
            spill.mkdir(mode=0o700)
            pool = WarmPool(preload=["attacktasks"], workers=3, spill_dir=str(spill))
            sid = pool.template_pid  # the template leads its own session
            try:
                for wave in range(WAVES):
                    plan = [((index * WAVES + wave) * WAVE + slot, rng.choices(kinds, weights)[0])
                            for slot in range(WAVE)]
                    batch = _submit_from_two_threads(pool, plan, tmp_path)
                    for kind, number, future in batch:
                        problem = _check(kind, number, future)
                        if problem:
                            problems.append(problem)
                        crashes += kind in ("exit", "kill", "segv", "abort")
                if "broken" in repr(pool):
                    broken += 1
            finally:
                pool.shutdown(wait=True)
            try:
                wait_until(lambda sid=sid: not _session_members(sid), timeout=10)
            except AssertionError:
                leftovers += _session_members(sid)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert crashes >= CRASHES
    assert (broken, problems[:10], leftovers) == (0, [], [])
