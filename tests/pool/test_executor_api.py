"""WarmPool as a drop-in `concurrent.futures.Executor` (issue 12).

A task's own exception comes back raised by ``result()`` and ``map()`` (the remote traceback
as its ``__cause__``); what cannot be raised as itself is a `RemoteError`; an exception that
attacks the parent while it is unpickled fails its task only; the pool's broken error is a
`BrokenExecutor` (``submit`` after ``shutdown`` raises `RuntimeError`); a pool dropped
without ``shutdown`` is finalized; a pool used in a forked child refuses, and the parent's
pool stays correct. Real templates, workers and child interpreters.
"""

from __future__ import annotations

import concurrent.futures
import json
import pathlib
import subprocess
import sys
import textwrap
import traceback

import pytest

import executortasks
import pooltasks
from hotstart.pool import BrokenPool, RemoteError, WarmPool

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def run_script(source: str, timeout: float = 60) -> dict:
    """Run `source` in a fresh interpreter (tests/pool and src on its path); its last stdout
    line is JSON, returned."""
    env_path = f"{HERE}:{ROOT / 'src'}"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], text=True,
                            capture_output=True, timeout=timeout,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": env_path,
                                 "PYTHONDONTWRITEBYTECODE": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_result_and_map_raise_the_tasks_own_exception_with_the_remote_traceback(make_pool):
    pool = make_pool(preload=["executortasks"], workers=1)
    future = pool.submit(executortasks.divide, 1, 0)
    with pytest.raises(ZeroDivisionError) as caught:
        future.result(timeout=30)
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteError) and cause.exception is caught.value
    assert cause.type_name == "ZeroDivisionError"
    assert "executortasks.py" in cause.remote_traceback
    assert "return a / b" in cause.remote_traceback
    assert cause.stdout == "dividing 1 by 0\n"  # the task's output travels on the cause
    assert str(cause).splitlines()[0] == (
        f"task 'divide' (#1) raised ZeroDivisionError: division by zero in worker "
        f"{future.worker_id} (pid {future.metrics.pid})")
    # Uncaught, it prints the worker's traceback above the parent's, as ProcessPoolExecutor.
    printed = "".join(traceback.format_exception(caught.value))
    assert "Remote traceback:" in printed and "return a / b" in printed
    assert printed.rstrip().endswith("ZeroDivisionError: division by zero")
    assert isinstance(future.exception(timeout=30), ZeroDivisionError)

    results = pool.map(executortasks.divide, [4, 6, 1], [2, 3, 0])
    assert next(results) == 2.0 and next(results) == 2.0
    with pytest.raises(ZeroDivisionError):
        next(results)


@pytest.mark.parametrize("task, args, type_name, loaded", [
    (executortasks.exit_task, (3,), "SystemExit", SystemExit),
    (executortasks.interrupt_task, (), "KeyboardInterrupt", KeyboardInterrupt),
    (pooltasks.raise_unpicklable, (), "pooltasks.LocalOnly", type(None)),
])
def test_what_cannot_be_raised_as_itself_is_a_remote_error(shared_pool, task, args,
                                                           type_name, loaded):
    """SystemExit or KeyboardInterrupt raised by ``result()`` would end or interrupt the
    parent: they come back as a RemoteError holding them, like an exception that cannot
    be pickled at all."""
    with pytest.raises(RemoteError) as caught:
        shared_pool.submit(task, *args).result(timeout=30)
    assert caught.value.type_name == type_name
    assert type(caught.value.exception) is loaded
    assert caught.value.__cause__ is caught.value.exception
    assert shared_pool.submit(pooltasks.double, 4).result(timeout=30) == 8


@pytest.mark.parametrize("kind", ["SystemExit", "KeyboardInterrupt", "MemoryError"])
def test_an_exception_that_attacks_the_parent_while_unpickled_fails_only_its_task(
        make_pool, kind):
    pool = make_pool(preload=["executortasks"], workers=1)
    with pytest.raises(RemoteError) as caught:
        pool.submit(executortasks.raise_hostile, kind).result(timeout=30)
    assert caught.value.exception is None
    assert caught.value.type_name == "executortasks.HostileOnLoad"
    assert "raise HostileOnLoad(kind)" in caught.value.remote_traceback
    # The manager thread survived the load: the pool is not broken and keeps its worker.
    assert pool.submit(executortasks.divide, 9, 3).result(timeout=30) == 3.0
    assert "running" in repr(pool) and len(pool.worker_pids()) == 1


def test_an_exception_that_loads_as_something_else_is_a_remote_error(make_pool):
    pool = make_pool(preload=["executortasks"], workers=1)
    with pytest.raises(RemoteError) as caught:
        pool.submit(executortasks.raise_loads_as_number).result(timeout=30)
    assert caught.value.exception is None
    assert "an int once loaded" in str(caught.value)


def test_the_broken_pool_error_is_a_broken_executor_and_submit_after_shutdown_a_runtime_error(
        make_pool):
    assert issubclass(BrokenPool, concurrent.futures.BrokenExecutor)
    assert issubclass(BrokenPool, RuntimeError)
    pool = make_pool(preload=["executortasks"], workers=1)
    assert pool.submit(executortasks.divide, 1, 1).result(timeout=30) == 1.0
    pool.shutdown()
    with pytest.raises(RuntimeError, match="shut down"):
        pool.submit(executortasks.divide, 1, 1)
    with pytest.raises(RuntimeError, match="shut down"):
        list(pool.map(executortasks.divide, [1], [1]))
