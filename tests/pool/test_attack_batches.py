"""Attacks on tasks sent ahead in batches (`hotstart.pool._prefetch`, commit e2a015a).

Each test counts executions in files (`pooltasks.record_call`) and checks that a task
runs exactly once or fails clearly, never twice, never lost, never stuck RUNNING.
Tests marked "Found:" reproduce a defect an attack found in that commit, fixed since (the
comment on each says what it was).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import threading
import time

import pooltasks
import pytest
from poolhelpers import recorded_calls, tasks_waiting, until, warm

from hotstart.pool.errors import BrokenPool, WorkerCrashed


def _hang_then_wait(pool, tmp_path, count, first=None):
    """A hanging task on the only worker, `count` small tasks waiting behind it."""
    hang = tmp_path / "hang"
    marks = tmp_path / "calls"
    hanging = pool.submit(pooltasks.record_call, str(hang), "hang")
    until(lambda: len(recorded_calls(hang)) == 1)
    waiting = []
    if first is not None:
        waiting.append(pool.submit(*first))
    waiting += [pool.submit(pooltasks.record_call, str(marks))
                for _ in range(count - len(waiting))]
    until(lambda: tasks_waiting(pool) == count)
    return hanging, recorded_calls(hang)[0], waiting, marks


def _requeued_after_a_crash(make_pool, tmp_path, count, seconds):
    """One worker killed under its task with `count` tasks waiting behind it (the first a
    `seconds` sleep): that one runs on the replacement, the rest are back in the queue,
    RUNNING."""
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    hanging, pid, waiting, marks = _hang_then_wait(
        pool, tmp_path, count, first=(pooltasks.sleep, seconds, "slow"))
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashed):
        hanging.result(timeout=30)
    until(lambda: waiting[0].running() and pool._manager.workers
          and all(w.task is not None for w in pool._manager.workers.values()))
    return pool, waiting, marks


# Found (defect 1, fixed): requeued tasks are RUNNING futures in `pending`;
# shutdown(cancel_futures=True) clears `pending` and calls future.cancel(), which fails on a
# RUNNING future: the tasks are dropped from the queue and their futures stay RUNNING forever.
def test_shutdown_cancel_futures_after_a_crash_leaves_no_future_running(make_pool, tmp_path):
    pool, waiting, marks = _requeued_after_a_crash(make_pool, tmp_path, 10, 1.5)
    pool.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 5
    while not all(f.done() for f in waiting) and time.monotonic() < deadline:
        time.sleep(0.01)
    stuck = [f.info.task_id for f in waiting if not f.done()]
    assert not stuck, f"futures never completed (stuck RUNNING): {stuck}"
    for future in waiting[1:]:
        assert future.cancelled() or isinstance(future.exception(), (BrokenPool,
                                                                     WorkerCrashed))
    assert len(recorded_calls(marks)) <= 9


# Found (defect 2, fixed): a requeued task cannot be cancelled: its future is RUNNING, and the
# abort finds it neither on a worker nor waiting on one, so the abort is dropped and the
# task runs after its awaiting coroutine was told it was cancelled.
def test_cancelling_a_requeued_task_either_cancels_it_or_it_never_runs(make_pool, tmp_path):
    pool, waiting, marks = _requeued_after_a_crash(make_pool, tmp_path, 3, 1.0)
    target = waiting[2]
    pool._manager.abort(target)  # what asubmit's cancellation does
    try:
        target.result(timeout=30)
        outcome = "ran"
    except BaseException as exc:  # noqa: BLE001
        outcome = type(exc).__name__
    # Cancelled while it sat in the queue: it must not have run.
    assert outcome != "ran", f"the cancelled task ran anyway (calls: {recorded_calls(marks)})"


def test_sigkill_storm_with_batches_waiting_every_task_once(make_pool, tmp_path):
    rng = random.Random(1234)
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    marks = tmp_path / "calls"
    futures = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(600)]
    stop = threading.Event()

    def killer():
        while not stop.is_set():
            time.sleep(rng.uniform(0.002, 0.02))
            with pool._manager.lock:
                pids = [w.pid for w in pool._manager.workers.values()
                        if w.pid and w.queued]
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        ok, crashed = [], 0
        for future in futures:
            try:
                ok.append(future.result(timeout=60))
            except WorkerCrashed:
                crashed += 1
    finally:
        stop.set()
        thread.join()
    calls = recorded_calls(marks)
    # Every successful one ran once; a crashed one ran at most once (killed mid-task).
    assert len(ok) + crashed == 600
    from collections import Counter
    assert len(calls) >= len(ok)
    assert len(calls) <= 600
    # No pid ran a success that is not in the file, and successes match lines one to one.
    counts = Counter(calls)
    for pid, n in Counter(ok).items():
        assert counts[pid] >= n


def test_os_exit_mid_batch_every_task_once(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    marks = tmp_path / "calls"
    n = 400
    exits = {i for i in range(n) if i % 23 == 7}
    futures = [pool.submit(pooltasks.record_call, str(marks), "exit" if i in exits else None)
               for i in range(n)]
    for i, future in enumerate(futures):
        if i in exits:
            with pytest.raises(WorkerCrashed):
                future.result(timeout=60)
        else:
            assert future.result(timeout=60) > 0
    assert len(recorded_calls(marks)) == n


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_max_tasks_per_worker_small_every_task_once(make_pool, tmp_path, limit):
    pool = make_pool(preload=["pooltasks"], workers=2, max_tasks_per_worker=limit)
    marks = tmp_path / "calls"
    futures = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(60)]
    pids = [future.result(timeout=60) for future in futures]
    from collections import Counter
    assert Counter(recorded_calls(marks)) == Counter(pids)
    assert max(Counter(pids).values()) <= limit


def test_fifo_with_timeouts_and_large_payloads_mixed_in(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    big = "x" * (40 << 10)
    futures = []
    rng = random.Random(7)
    kinds = []
    for i in range(150):
        kind = rng.choice(["small"] * 6 + ["timeout", "big"])
        kinds.append(kind)
        if kind == "timeout":
            futures.append(pool.schedule(pooltasks.identity, (i,), timeout=30))
        elif kind == "big":
            futures.append(pool.submit(pooltasks.identity, (i, big)))
        else:
            futures.append(pool.submit(pooltasks.identity, i))
    began = []
    for i, future in enumerate(futures):
        value = future.result(timeout=60)
        assert (value[0] if isinstance(value, tuple) else value) == i
        began.append(future.info.submitted + future.metrics.queue_wait)
    # One worker: FIFO start order.
    assert began == sorted(began)


def test_submit_from_threads_with_crashes_every_task_once(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    marks = tmp_path / "calls"
    results: list = []
    lock = threading.Lock()

    def submitter(seed):
        rng = random.Random(seed)
        mine = []
        for _ in range(100):
            then = "exit" if rng.random() < 0.03 else None
            mine.append((then, pool.submit(pooltasks.record_call, str(marks), then)))
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=submitter, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    crashed = 0
    for then, future in results:
        if then == "exit":
            with pytest.raises(WorkerCrashed):
                future.result(timeout=60)
            crashed += 1
        else:
            future.result(timeout=60)
    assert len(recorded_calls(marks)) == 400


def test_map_chunksize_1_exception_in_the_middle(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    values = list(range(300))
    out = []
    with pytest.raises(ZeroDivisionError):
        for value in pool.map(_inverse, values, chunksize=1):
            out.append(value)  # noqa: PERF402 - until the exception
    assert out == [1 / (v - 150) for v in range(150)]


def _inverse(v):
    return 1 / (v - 150)


# Found again (defect 1, fixed), without an outside kill: tasks behind a worker that os._exit()s
# are requeued RUNNING, and shutdown(wait=True, cancel_futures=True) returns with them never
# completed.
def test_shutdown_cancel_futures_during_batches_nothing_running(make_pool, tmp_path):
    for seed in range(5):
        pool = make_pool(preload=["pooltasks"], workers=2)
        warm(pool)
        marks = tmp_path / f"calls{seed}"
        futures = [pool.submit(pooltasks.record_call, str(marks),
                               "exit" if i % 13 == 3 else None) for i in range(500)]
        time.sleep(random.Random(seed).uniform(0.01, 0.08))
        pool.shutdown(wait=True, cancel_futures=True)
        deadline = time.monotonic() + 10
        while not all(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.01)
        not_done = [f for f in futures if not f.done()]
        assert not not_done, f"{len(not_done)} futures left RUNNING/PENDING"
        ran = sum(1 for f in futures if not f.cancelled() and f.exception() is None)
        assert len(recorded_calls(marks)) >= ran
        assert len(recorded_calls(marks)) <= 500


def test_shutdown_no_wait_during_batches_everything_finishes(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    marks = tmp_path / "calls"
    futures = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(500)]
    time.sleep(0.02)
    pool.shutdown(wait=False)
    for future in futures:
        future.result(timeout=60)
    assert len(recorded_calls(marks)) == 500


# Found (defect 3, fixed): the answers read in the same recv as a corrupt frame are dropped
# (`FrameReader.read` raises `Corrupt` from `_parse` and loses the messages it had
# parsed): with tasks sent ahead, a task that answered fine just before the hostile one is
# failed as the one that "sent a message the pool cannot read", and its result is lost.
# A slow ``complete`` hook (run in the manager thread) lets the answers pile up.
def test_a_corrupt_frame_does_not_blame_the_task_that_answered_before_it(make_pool,
                                                                          tmp_path):
    import attacktasks

    def slow_hook(info, future, metrics):
        if info.name.endswith("sleep"):
            time.sleep(0.4)

    pool = make_pool(preload=["pooltasks", "attacktasks"], workers=1,
                     on_complete=slow_hook)
    warm(pool)
    first = pool.submit(pooltasks.sleep, 0.3, "first")
    until(lambda: first.running() and pool._manager.workers)
    innocent = pool.submit(pooltasks.record_call, str(tmp_path / "innocent"))
    hostile = pool.submit(attacktasks.garbage_frame)
    until(lambda: tasks_waiting(pool) == 2)
    with pytest.raises(WorkerCrashed):
        hostile.result(timeout=30)
    # Seen under load without the hook: `first` itself blamed, its answer and the
    # innocent one's read in the same recv as the garbage.
    assert first.result(timeout=30) == "first"
    assert recorded_calls(tmp_path / "innocent"), "it ran"
    # It ran to the end and answered before the hostile task wrote its garbage.
    assert innocent.result(timeout=30) == recorded_calls(tmp_path / "innocent")[0]


def _per_task_storm(pool, tmp_path, n, seed, abort_share, exit_share=0.0, kill=False):
    from concurrent.futures import CancelledError

    rng = random.Random(seed)
    paths = [tmp_path / f"t{i}" for i in range(n)]
    plan = []
    futures = []
    for i in range(n):
        then = "exit" if rng.random() < exit_share else None
        plan.append(then)
        futures.append(pool.submit(pooltasks.record_call, str(paths[i]), then))
        if rng.random() < abort_share and i > 3:
            victim = futures[rng.randrange(max(0, i - 70), i)]
            pool._manager.abort(victim)
        if kill and rng.random() < 0.02:
            with pool._manager.lock:
                pids = [w.pid for w in pool._manager.workers.values() if w.pid and w.queued]
            if pids:
                try:
                    os.kill(rng.choice(pids), signal.SIGKILL)
                except ProcessLookupError:
                    pass
    deadline = time.monotonic() + 60
    for future in futures:
        try:
            future.result(timeout=max(0.1, deadline - time.monotonic()))
        except (WorkerCrashed, CancelledError, asyncio.CancelledError):
            pass
    stuck = [f.info.task_id for f in futures if not f.done()]
    assert not stuck, f"never completed: {stuck}"
    twice = [i for i, p in enumerate(paths) if len(recorded_calls(p)) > 1]
    assert not twice, f"ran twice: {twice}"
    for i, future in enumerate(futures):
        if not future.cancelled() and future.exception() is None:
            assert recorded_calls(paths[i]) == [future.result()], i
    return futures, plan


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aborting_waiting_tasks_at_random_none_runs_twice(make_pool, tmp_path, seed):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    _per_task_storm(pool, tmp_path, 300, seed, abort_share=0.15)


@pytest.mark.parametrize("seed", [4, 5])
def test_aborts_exits_and_sigkills_together_none_runs_twice(make_pool, tmp_path, seed):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    _per_task_storm(pool, tmp_path, 400, seed, abort_share=0.1, exit_share=0.02, kill=True)


_kept: list = []


def _thread_then_sleep(seconds):
    event = threading.Event()
    _kept.append(event)
    threading.Thread(target=event.wait, name="left-running", daemon=True).start()
    time.sleep(seconds)
    return os.getpid()


# Found (defect 4, fixed): the tasks a retiring worker had waiting go back to the queue RUNNING;
# shut down while the template is stopped, `TemplateWatch.step` calls
# set_running_or_notify_cancel() on them, which raises RuntimeError on a RUNNING future: the
# manager thread dies, and the tasks it had already taken off the queue are never completed
# (stuck RUNNING).
def test_shutdown_with_a_stopped_template_after_a_retire_completes_every_task(make_pool,
                                                                              tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    template = pool._manager.process.pid
    first = pool.submit(_thread_then_sleep, 0.5)
    until(lambda: first.running() and pool._manager.workers)
    marks = tmp_path / "calls"
    waiting = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(5)]
    until(lambda: tasks_waiting(pool) == 5)
    os.kill(template, signal.SIGSTOP)
    try:
        assert first.result(timeout=30) > 0  # delivered; the worker retires
        pool.shutdown(wait=False)
        deadline = time.monotonic() + 8
        while not all(f.done() for f in waiting) and time.monotonic() < deadline:
            time.sleep(0.02)
        stuck = [f.info.task_id for f in waiting if not f.done()]
        errors = {type(f.exception()).__name__ + ": " + str(f.exception())[:80]
                  for f in waiting if f.done()}
    finally:
        try:
            os.kill(template, signal.SIGCONT)
        except ProcessLookupError:  # closing the pool killed the stopped template
            pass
    assert not stuck, f"stuck RUNNING: {stuck}; others: {errors}"
    assert not recorded_calls(marks)
    assert all("manager thread failed" not in e for e in errors), errors
