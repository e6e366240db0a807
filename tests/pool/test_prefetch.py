"""Tasks sent to a busy worker behind the one it runs (`hotstart.pool._prefetch`).

With one worker and tasks queued, the manager sends the next small task without a timeout
to the busy worker ahead of time, when that worker's last task was short (each test warms
its worker with one). Whatever then happens to that worker (a crash, a retire,
a cancel), the task waiting on it runs exactly once or fails clearly; it never runs twice
and is never lost. Executions are counted in a file (`pooltasks.record_call`), by pid.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time

import isolationtasks
import pooltasks
import pytest
from poolhelpers import recorded_calls, tasks_waiting, until, warm

from hotstart.pool import _prefetch
from hotstart.pool.errors import TaskTimeout, WorkerCrashed


def test_a_task_is_sent_behind_a_busy_worker_and_runs_once(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"
    first = pool.submit(pooltasks.sleep, 0.5, "first")
    until(lambda: pool._manager.workers and first.running())
    second = pool.submit(pooltasks.record_call, str(marks))
    until(lambda: tasks_waiting(pool) == 1)  # in the worker's socket while `first` runs
    assert first.result(timeout=30) == "first"
    assert second.result(timeout=30) == recorded_calls(marks)[0]
    assert len(recorded_calls(marks)) == 1
    # Its queue wait ends when the worker began it, not when it was sent.
    assert second.metrics.queue_wait >= first.metrics.wall * 0.5


def test_a_crash_of_the_task_before_it_requeues_the_waiting_task(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    crash_marks, marks = tmp_path / "crash", tmp_path / "calls"
    crashing = pool.submit(pooltasks.record_call, str(crash_marks), "hang")
    until(lambda: len(recorded_calls(crash_marks)) == 1)
    waiting = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(2)]
    until(lambda: tasks_waiting(pool) == 2)  # both in the worker's socket
    crashed_pid = recorded_calls(crash_marks)[0]
    os.kill(crashed_pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashed, match="SIGKILL"):
        crashing.result(timeout=30)
    # The waiting tasks never started: each runs once, on the replacement, in order.
    ran_on = [future.result(timeout=30) for future in waiting]
    assert crashed_pid not in ran_on
    assert recorded_calls(marks) == ran_on
    assert waiting[0].info.submitted + waiting[0].metrics.queue_wait <= \
        waiting[1].info.submitted + waiting[1].metrics.queue_wait


def test_a_worker_that_retires_runs_nothing_after_and_its_waiting_task_runs_once(
        make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks", "isolationtasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"
    blocker = pool.submit(pooltasks.sleep, 0.3)
    until(lambda: blocker.running() and pool._manager.workers)
    leaves_thread = pool.submit(isolationtasks.start_thread)  # retires its worker
    after = pool.submit(pooltasks.record_call, str(marks))
    blocker.result(timeout=30)
    retired_pid = leaves_thread.result(timeout=30)
    assert after.result(timeout=30) != retired_pid
    assert recorded_calls(marks) == [after.result()]


def test_cancelling_the_running_task_requeues_the_one_waiting_behind_it(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    started, marks = tmp_path / "started", tmp_path / "calls"

    async def main():
        running = asyncio.ensure_future(pool.asubmit(pooltasks.record_call, str(started),
                                                     "hang"))
        await asyncio.sleep(0)
        while not recorded_calls(started):
            await asyncio.sleep(0.01)
        waiting = pool.submit(pooltasks.record_call, str(marks))
        while tasks_waiting(pool) != 1:
            await asyncio.sleep(0.005)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        return waiting.result(timeout=30)

    ran_on = asyncio.run(main())
    # The killed worker had not answered the cancelled task: the waiting one never started
    # there, and ran once elsewhere.
    assert ran_on != recorded_calls(started)[0]
    assert recorded_calls(marks) == [ran_on]


def test_cancelling_a_waiting_task_kills_its_worker_only_once_it_runs(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"

    async def main():
        first = pool.submit(pooltasks.sleep, 0.4, "first")
        while not first.running():
            await asyncio.sleep(0.005)
        waiting = asyncio.ensure_future(pool.asubmit(pooltasks.record_call, str(marks),
                                                     "hang"))
        while tasks_waiting(pool) != 1:
            await asyncio.sleep(0.005)
        waiting.cancel()  # it cannot be taken back from the socket: it is killed later
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return first.result(timeout=30)

    assert asyncio.run(main()) == "first"  # the task before it is not the one killed
    assert len(recorded_calls(marks)) <= 1
    assert pool.submit(pooltasks.double, 4).result(timeout=30) == 8


def test_tasks_with_a_timeout_are_never_sent_ahead(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"
    first = pool.schedule(pooltasks.record_call, (str(tmp_path / "hang"), "hang"), timeout=1)
    until(lambda: first.running() and pool._manager.workers)
    second = pool.submit(pooltasks.record_call, str(marks))
    timed = pool.schedule(pooltasks.double, (3,), timeout=30)
    with pytest.raises(TaskTimeout):
        first.result(timeout=30)
    # Nothing waited behind a task with a deadline: the kill took only the timed-out task.
    assert second.result(timeout=30) and recorded_calls(marks) == [second.result()]
    assert timed.result(timeout=30) == 6


def test_a_large_task_is_not_sent_ahead(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    first = pool.submit(pooltasks.sleep, 0.3, "first")
    until(lambda: first.running() and pool._manager.workers)
    big = pool.submit(pooltasks.identity, b"x" * (1 << 20))
    small = pool.submit(pooltasks.double, 2)
    assert first.result(timeout=30) == "first"
    # A 1 MiB payload would block the manager's send until `first` ended; it waited in the
    # pool's queue, and the small one behind it kept its place (FIFO).
    assert big.result(timeout=30) == b"x" * (1 << 20)
    assert small.result(timeout=30) == 4
    began = {future: future.info.submitted + future.metrics.queue_wait
             for future in (big, small)}
    assert began[big] <= began[small]
    assert tasks_waiting(pool) == 0


def test_many_small_tasks_all_run_exactly_once_under_crashes(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm(pool)
    marks = tmp_path / "calls"
    futures = []
    for index in range(200):
        then = "exit" if index % 17 == 5 else None
        futures.append(pool.submit(pooltasks.record_call, str(marks), then))
    results = []
    for index, future in enumerate(futures):
        if index % 17 == 5:
            with pytest.raises(WorkerCrashed):
                future.result(timeout=60)
        else:
            results.append(future.result(timeout=60))
    crashes = sum(1 for index in range(200) if index % 17 == 5)
    # Every task ran once: one line per call, crashed ones included (they wrote, then died).
    assert len(recorded_calls(marks)) == 200
    assert len(results) == 200 - crashes


def test_nothing_waits_behind_a_worker_whose_last_task_was_long(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=2)
    warm = [pool.submit(pooltasks.sleep, 0.05) for _ in range(2)]
    [future.result(timeout=30) for future in warm]
    assert {future.worker_id for future in warm} == set(pool._manager.workers)
    long = pool.submit(pooltasks.sleep, 1.0, "long")
    short = pool.submit(pooltasks.sleep, 0.2, "short")
    until(lambda: long.running() and short.running())
    late = pool.submit(pooltasks.double, 5)
    assert late.result(timeout=30) == 10
    # Both workers had just run a 50 ms task: nothing was sent ahead, so the late task
    # went to the first worker to free up, not behind the long task.
    assert late.worker_id == short.worker_id != long.worker_id
    assert long.result(timeout=30) == "long"


def test_a_corrupt_frame_fails_the_waiting_tasks_and_none_runs_twice(make_pool, tmp_path):
    import attacktasks

    pool = make_pool(preload=["pooltasks", "attacktasks"], workers=1)
    warm(pool)
    marks = [tmp_path / "first", tmp_path / "second"]
    hostile = pool.submit(attacktasks.garbage_frame_after, 0.5)
    until(lambda: hostile.running() and pool._manager.workers)
    waiting = [pool.submit(pooltasks.record_call, str(path)) for path in marks]
    until(lambda: tasks_waiting(pool) == 2)
    with pytest.raises(WorkerCrashed, match="cannot read"):
        hostile.result(timeout=30)
    # Its answers cannot be read, and it ran on until the kill landed (this attack found
    # it running both): how far it got is unknown, so both fail rather than run twice.
    for future in waiting:
        with pytest.raises(WorkerCrashed, match="may already have started"):
            future.result(timeout=30)
    assert all(len(recorded_calls(path)) <= 1 for path in marks)
    assert pool.submit(pooltasks.double, 3).result(timeout=30) == 6


def test_a_task_closing_its_workers_socket_requeues_the_waiting_ones(make_pool, tmp_path):
    import attacktasks

    pool = make_pool(preload=["pooltasks", "attacktasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"
    hostile = pool.submit(attacktasks.close_own_socket_after, 0.5)
    until(lambda: hostile.running() and pool._manager.workers)
    waiting = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(2)]
    until(lambda: tasks_waiting(pool) == 2)
    with pytest.raises(WorkerCrashed):
        hostile.result(timeout=30)
    # The worker could not answer, so it ran nothing after: both run once, elsewhere.
    ran_on = [future.result(timeout=30) for future in waiting]
    assert recorded_calls(marks) == ran_on


def test_a_task_replacing_its_workers_socket_ends_the_worker_before_it_answers(make_pool,
                                                                               tmp_path):
    import attacktasks

    pool = make_pool(preload=["pooltasks", "attacktasks"], workers=1)
    warm(pool)
    planted = tmp_path / "planted"
    hostile = pool.submit(attacktasks.replace_own_socket, str(planted))
    with pytest.raises(WorkerCrashed) as raised:
        hostile.result(timeout=30)
    # The answer did not go into the file that took the socket's number, and the worker
    # ran nothing more (it would have taken tasks read ahead with it).
    assert "closed or replaced this worker's connection" in raised.value.stderr
    assert planted.read_bytes() == b""
    assert pool.submit(pooltasks.double, 4).result(timeout=30) == 8


def test_many_small_tasks_wait_behind_a_busy_worker_and_run_once_in_order(make_pool, tmp_path):
    """Behind a worker whose last task was short, the queue is topped up several tasks at a
    time, far past one or two (the throughput of small tasks depends on it); each still runs
    once, in the order submitted."""
    pool = make_pool(preload=["pooltasks"], workers=1)
    warm(pool)
    marks = tmp_path / "calls"
    first = pool.submit(pooltasks.sleep, 0.5, "first")
    until(lambda: first.running() and pool._manager.workers)
    waiting = [pool.submit(pooltasks.record_call, str(marks)) for _ in range(40)]
    (worker,) = pool._manager.workers.values()
    # As many as its last task's run time allows (all 40 after a task of a few µs; fewer
    # when a loaded machine stretched that task), and more than the two of before.
    expected = min(40, _prefetch._cap(worker))
    until(lambda: tasks_waiting(pool) == expected)  # in the worker's socket while `first` runs
    assert expected > 2 or worker.last_wall > 0.001
    assert first.result(timeout=30) == "first"
    ran = [future.result(timeout=30) for future in waiting]
    assert len(recorded_calls(marks)) == 40 and len(set(ran)) == 1  # once each, on that worker
    began = [future.info.submitted + future.metrics.queue_wait for future in waiting]
    assert began == sorted(began)


def test_no_more_waits_behind_a_worker_than_its_last_task_fits_in_5_ms(make_pool):
    """A worker whose last task took 3 ms gets at most one task behind the one it runs
    (two would hold more than 5 ms of work another worker could take)."""
    pool = make_pool(preload=["pooltasks"], workers=1)
    pool.submit(pooltasks.sleep, 0.003).result(timeout=30)
    first = pool.submit(pooltasks.sleep, 0.3, "first")
    until(lambda: first.running() and pool._manager.workers)
    later = [pool.submit(pooltasks.double, index) for index in range(10)]
    most = 0
    while not first.done():
        most = max(most, tasks_waiting(pool))
        time.sleep(0.002)
    assert most <= 1
    assert [future.result(timeout=30) for future in later] == [2 * i for i in range(10)]
