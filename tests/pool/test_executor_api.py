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

import executortasks
import pooltasks
import pytest
from poolhelpers import wait_until

from hotstart.pool import BrokenPool, RemoteError, WarmPool

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def run_script(source: str, timeout: float = 60) -> dict:
    """Run `source` in a fresh interpreter (tests/pool and src on its path); its last stdout
    line is JSON, returned."""
    env_path = f"{HERE}:{ROOT / 'src'}"
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(source)], check=False,
                            text=True, capture_output=True, timeout=timeout,
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


def test_pools_dropped_without_shutdown_are_finalized():
    """``del pool; gc.collect()`` ends its template, workers, manager thread and fds, as
    ProcessPoolExecutor does, and a future still held gets its result first."""
    report = run_script("""
        import gc, json, os, threading, time
        import executortasks
        from hotstart.pool import WarmPool

        def fds():
            return len(os.listdir("/proc/self/fd"))

        def children():
            with open(f"/proc/{os.getpid()}/task/{os.getpid()}/children") as f:
                return [int(pid) for pid in f.read().split()]

        gc.collect()
        before = {"fds": fds(), "threads": threading.active_count()}
        pids, results, hooks = [], [], []
        for number in range(5):
            pool = WarmPool(preload=["executortasks"], workers=2,
                            on_shutdown=lambda owner: hooks.append(repr(owner)))
            pool.submit(executortasks.pid).result(timeout=30)
            held = pool.submit(executortasks.sleep_then, 0.3, number)  # in flight when dropped
            pids += [pool.template_pid, *pool.worker_pids()]
            del pool
            gc.collect()
            results.append(held.result(timeout=30))
        # A pool used in one expression is dropped while its task is queued: it still runs.
        results.append(WarmPool(preload=["executortasks"], workers=1)
                       .submit(executortasks.sleep_then, 0.1, "one expression")
                       .result(timeout=30))
        deadline = time.monotonic() + 20  # a bound for a broken finalizer, not a measure
        while (children() or threading.active_count() > before["threads"]
               or fds() > before["fds"]) and time.monotonic() < deadline:
            time.sleep(0.02)
        alive = [pid for pid in pids if os.path.exists(f"/proc/{pid}")]
        print(json.dumps({"before": before, "fds": fds(), "children": children(),
                          "threads": threading.active_count(), "alive": alive,
                          "results": results, "hooks": hooks}))
    """)
    assert report["results"] == [0, 1, 2, 3, 4, "one expression"]
    assert report["children"] == [] and report["alive"] == []
    assert report["threads"] == report["before"]["threads"]
    assert report["fds"] == report["before"]["fds"]
    assert report["hooks"] == ["None"] * 5  # the shutdown hooks ran, without a pool to hand


def test_the_shutdown_hook_gets_the_pool_when_it_is_shut_down(make_pool):
    seen = []
    pool = make_pool(preload=["executortasks"], workers=1, on_shutdown=seen.append)
    pool.shutdown(wait=True)
    assert seen == [pool]


def test_a_pool_used_in_a_forked_child_refuses_and_the_parents_pool_stays_correct():
    """Before the fix the child's submit sent its task on the parent's worker socket and the
    parent's future got the child's result (5 of 5)."""
    report = run_script("""
        import json, os, warnings
        import executortasks
        from hotstart.pool import WarmPool

        warnings.simplefilter("ignore", DeprecationWarning)  # fork() with threads running
        pool = WarmPool(preload=["executortasks"], workers=1)
        parent_worker = pool.submit(executortasks.pid).result(timeout=30)
        rounds = []
        for number in range(5):
            held = pool.submit(executortasks.sleep_then, 0.2, f"parent {number}")
            read, write = os.pipe()
            child = os.fork()
            if child == 0:
                try:
                    pool.submit(executortasks.sleep_then, 0, f"child {number}")
                except RuntimeError as exc:
                    said = f"{type(exc).__name__}: {exc}"
                else:
                    said = "accepted"
                try:  # the parent's future: its result never comes here
                    held.result(timeout=30)
                except RuntimeError as exc:
                    said += f" | {type(exc).__name__}: {exc}"
                pool.shutdown(wait=True)  # the parent's pool: nothing happens in the child
                os.write(write, said.encode())
                os._exit(0)
            os.close(write)
            said = os.read(read, 4096).decode()
            os.close(read)
            os.waitpid(child, 0)
            rounds.append({"child": said, "child_pid": child,
                           "parent": held.result(timeout=30),
                           "after": pool.submit(executortasks.divide, number, 1)
                                        .result(timeout=30)})
        import multiprocessing

        def child_submits(pipe):
            try:
                pool.submit(executortasks.pid)
            except RuntimeError as exc:
                pipe.send(type(exc).__name__)
            else:
                pipe.send("accepted")

        ours, theirs = multiprocessing.Pipe()
        child = multiprocessing.get_context("fork").Process(target=child_submits,
                                                            args=(theirs,))
        child.start()
        by_multiprocessing = ours.recv()
        child.join()
        pool.shutdown()
        print(json.dumps({"rounds": rounds, "worker": parent_worker, "pid": os.getpid(),
                          "multiprocessing": by_multiprocessing}))
    """)
    assert report["multiprocessing"] == "BrokenPool"
    for number, round_ in enumerate(report["rounds"]):
        assert round_["parent"] == f"parent {number}" and round_["after"] == number
        assert round_["child"].startswith("BrokenPool: this WarmPool was created in process ")
        assert "is a fork of it" in round_["child"]
        assert round_["child"].endswith(f"| BrokenPool: task 'sleep_then' (#{2 * number + 2}) "
                                        f"was submitted in process {report['pid']}, and this "
                                        f"process ({round_['child_pid']}) is a fork of it: "
                                        f"its result goes to process {report['pid']}, never "
                                        f"here")


def test_shutdown_cancel_futures_cancels_the_queued_and_completes_the_running(make_pool):
    """The contract CPython's test_cancel_futures checks, on a pool whose one worker is
    running a task when ``shutdown(cancel_futures=True)`` comes."""
    pool = make_pool(preload=["executortasks"], workers=1)
    running = pool.submit(executortasks.sleep_then, 0.5, "ran")
    wait_until(running.running)
    queued = [pool.submit(executortasks.sleep_then, 0, number) for number in range(20)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.result(timeout=0) == "ran"
    assert all(future.cancelled() for future in queued)


def test_workers_must_be_positive_and_the_error_names_the_keyword():
    for number in (0, -1):
        with pytest.raises(ValueError, match=rf"^workers={number}: expected a positive "
                                             rf"integer or None$"):
            WarmPool(workers=number)


@pytest.mark.parametrize("ending", ["exit", "shutdown(wait=False)"])
def test_a_running_task_completes_when_the_interpreter_exits(tmp_path, ending):
    """CPython's test_interpreter_shutdown and test_hang_gh83386 for WarmPool: the parent
    exits (without shutdown, or right after ``shutdown(wait=False)``), the running task
    still completes, and the exit does not hang."""
    proof = tmp_path / "proof"
    script = f"""
        import executortasks
        from hotstart.pool import WarmPool

        pool = WarmPool(preload=["executortasks"], workers=3)
        pool.submit(executortasks.write_after, 0.5, {str(proof)!r}, "apple")
        {"pool.shutdown(wait=False)" if ending != "exit" else ""}
        print("{{}}")
    """
    run_script(script)
    assert proof.read_text() == "apple"


def test_submit_after_the_interpreter_shut_the_pool_down_raises_runtime_error():
    """CPython's test_submit_after_interpreter_shutdown for WarmPool: an atexit handler
    registered before the pool runs after the pool's own, and its submit raises
    RuntimeError."""
    report = run_script("""
        import atexit, json
        import executortasks
        from hotstart.pool import WarmPool

        @atexit.register
        def run_last():
            try:
                pool.submit(executortasks.pid)
            except RuntimeError as exc:
                print(json.dumps({"raised": type(exc).__name__, "message": str(exc)}))

        pool = WarmPool(preload=["executortasks"], workers=1)
        pool.submit(executortasks.pid).result(timeout=30)
    """)
    assert report["raised"] == "BrokenPool" and "shut down" in report["message"]


def test_map_with_chunksize_sends_chunks_as_tasks_and_keeps_order(make_pool):
    pool = make_pool(preload=["executortasks"], workers=2)
    assert list(pool.map(executortasks.divide, range(10), [1] * 10, chunksize=3)) == \
        [float(number) for number in range(10)]
    # 10 calls in chunks of 3 were 4 tasks: the next task is the fifth.
    assert pool.submit(executortasks.pid).task_id == 5
    results = pool.map(executortasks.divide, [1, 2, 3, 4], [1, 1, 0, 1], chunksize=2)
    assert next(results) == 1.0 and next(results) == 2.0
    with pytest.raises(ZeroDivisionError) as caught:  # the second chunk fails, at its place
        next(results)
    assert "task 'divide (chunk)' (#7) raised ZeroDivisionError" in str(caught.value.__cause__)
    # Chunks of a lambda travel by value (cloudpickle), as the lambda alone would.
    assert list(pool.map(lambda x: x + 1, range(5), chunksize=2)) == [1, 2, 3, 4, 5]
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="chunksize"):
            pool.map(executortasks.divide, [1], [1], chunksize=bad)


def test_the_default_start_timeout_is_the_template_modules_default():
    """600 s was too long to be a default (issue 12): WarmPool's is _startup's constant,
    whose value and behaviour test_spill_template.py checks."""
    import inspect

    from hotstart.pool import _startup

    default = inspect.signature(WarmPool).parameters["start_timeout"].default
    assert default == _startup.DEFAULT_START_TIMEOUT == 60.0


def test_the_example_batch_reports_a_job_that_raised_as_a_failed_row(tmp_path):
    """jobrunner's batch caught PoolError around result(); a job's own exception now comes
    back as itself, and must still be a FAILED row with its type, not a traceback."""
    example = ROOT / "examples" / "jobrunner"
    spec = json.loads((example / "jobs" / "clean.json").read_text())
    spec["source"]["path"] = "missing.csv"
    (tmp_path / "missing.json").write_text(json.dumps(spec))
    result = subprocess.run(
        [sys.executable, "-m", "jobrunner", "batch", str(tmp_path / "missing.json")],
        cwd=example, check=False, text=True, capture_output=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
             "PYTHONPATH": f"{example / 'src'}:{ROOT / 'src'}"})
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert f"FAILED: UsageError: input not found: {tmp_path / 'missing.csv'}" in result.stdout
