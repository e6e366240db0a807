"""The manager thread under attack: one worker, one task or one stopped template can end that
worker or that task, never the pool, never hang it, never grow it past ``workers=``.

Real pools, real processes: crashes timed so the template's exit report and the worker's EOF
land in one ``select()`` batch, tasks that write forged frames to their worker's socket,
a SIGSTOPped template, a submit racing a shutdown. Every wait is bounded and awaits an
event (a file, a socket becoming readable, a process ending); nothing asserts on time.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import signal
import threading

import managertasks
import pytest
from poolhelpers import alive, wait_until

from hotstart.pool import BrokenPool, TaskTimeout, WorkerCrashed, _manager


def _readable(sock, limit=10.0):
    """Wait (bounded) until `sock` has something to read (data or EOF)."""
    readable, _, _ = select.select([sock], [], [], limit)
    assert readable, f"{sock} did not become readable within {limit} s"


def _children(pid):
    """The pids of `pid`'s children (its workers, for a template)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except FileNotFoundError:
        return []


# -- the crash race -----------------------------------------------------------------------------

def test_an_exit_report_read_before_the_workers_eof_does_not_break_the_pool(make_pool, tmp_path):
    """Worker B dies while the manager thread is held in a hook; its socket stays open (a
    grandchild holds it) until the template's "exited" report is queued, then closes: both
    come back in one select() batch, the report first. The pool used to die of
    ``AttributeError: 'NoneType' object has no attribute 'recvmsg'``."""
    pool = make_pool(preload=["managertasks"], workers=2)
    manager = pool._manager
    doomed = pool.submit(managertasks.die_after_grandchild_holds_socket, str(tmp_path))
    wait_until(lambda: (tmp_path / "pids").exists())
    worker_pid, grandchild = map(int, (tmp_path / "pids").read_text().split())
    held = []

    def hold_the_manager(info, future, metrics):
        if info.name != "pid_after":
            return
        held.append(True)
        doomed_worker = next(w for w in manager.workers.values() if w.pid == worker_pid)
        (tmp_path / "go").touch()  # B's worker exits; the grandchild keeps its socket open
        _readable(manager.control)  # the template's "exited" report is waiting
        (tmp_path / "release").touch()
        wait_until(lambda: not alive(grandchild))
        _readable(doomed_worker.sock)  # and now the EOF too, in the same batch

    pool.add_hook("complete", hold_the_manager)
    assert pool.submit(managertasks.pid_after, 0).result(timeout=30) != worker_pid
    assert held == [True]
    with pytest.raises(WorkerCrashed, match="exited with code 3"):
        doomed.result(timeout=30)
    assert not manager.broken
    assert pool.submit(managertasks.double_it, 21).result(timeout=30) == 42


# -- one worker cannot break or hang the pool -------------------------------------------------

@pytest.mark.parametrize("length", [1 << 30, 1 << 36, (1 << 64) - 1])
def test_a_fake_length_header_ends_that_worker_not_the_pool(make_pool, length):
    pool = make_pool(preload=["managertasks"], workers=2)
    neighbour = pool.submit(managertasks.pid_after, 0.5)
    forged = pool.submit(managertasks.send_fake_header, length, 5.0)
    with pytest.raises(WorkerCrashed, match=f"announces {length} bytes, more than the limit"):
        forged.result(timeout=30)
    assert neighbour.result(timeout=30) > 0  # the other worker's task was not disturbed
    assert [pool.submit(managertasks.double_it, n).result(timeout=30) for n in range(4)] == \
        [0, 2, 4, 6]
    finished = threading.Event()
    threading.Thread(target=lambda: (pool.shutdown(wait=True), finished.set()),
                     daemon=True).start()
    assert finished.wait(30), "shutdown() hung after a fake length header"


def test_a_frame_that_is_no_pickle_is_that_workers_crash(make_pool):
    pool = make_pool(preload=["managertasks"], workers=1)
    with pytest.raises(WorkerCrashed, match="does not unpickle") as caught:
        pool.submit(managertasks.send_garbage_frame).result(timeout=30)
    assert "was killed" in str(caught.value)
    assert pool.submit(managertasks.double_it, 5).result(timeout=30) == 10
    assert not pool._manager.broken


@pytest.mark.parametrize("kind, raised", [("exit", "SystemExit"),
                                          ("interrupt", "KeyboardInterrupt")])
def test_a_frame_whose_unpickling_raises_systemexit_ends_only_that_worker(make_pool, kind,
                                                                          raised):
    pool = make_pool(preload=["managertasks"], workers=1)
    with pytest.raises(WorkerCrashed, match=f"does not unpickle: {raised}"):
        pool.submit(managertasks.send_frame_that_exits_on_unpickle, kind).result(timeout=30)
    assert pool._manager.thread.is_alive()
    assert pool.submit(managertasks.double_it, 8).result(timeout=30) == 16


def test_a_well_framed_message_of_the_wrong_shape_ends_only_that_worker(make_pool):
    pool = make_pool(preload=["managertasks"], workers=1)
    message = ("done", "not a task id", "not an outcome")
    with pytest.raises(WorkerCrashed, match="a 'done' message the pool cannot use"):
        pool.submit(managertasks.send_message, pickle.dumps(message)).result(timeout=30)
    assert pool.submit(managertasks.double_it, 1).result(timeout=30) == 2


def test_a_task_that_replaces_len_costs_at_most_its_worker(make_pool):
    """``builtins.len`` replaced in the worker: whatever the worker then sends, the pool
    lives on and later tasks get right answers (from that worker or a fresh one)."""
    pool = make_pool(preload=["managertasks"], workers=1)
    assert pool.submit(managertasks.replace_len).result(timeout=30) == "replaced"
    outcomes = []
    for n in range(3):
        try:
            outcomes.append(pool.submit(managertasks.double_it, n).result(timeout=30))
        except WorkerCrashed as exc:  # the worker's own messages are not immune (yet)
            outcomes.append(type(exc).__name__)
    assert not pool._manager.broken
    assert pool.submit(managertasks.pid_after).result(timeout=30) > 0
    assert outcomes[-1] in (4, "WorkerCrashed")


def test_the_worker_socket_is_not_inherited_across_exec(make_pool):
    pool = make_pool(preload=["managertasks"], workers=1)
    assert pool.submit(managertasks.socket_inheritable).result(timeout=30) is False


# -- never more workers than workers= -----------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_crashes_and_timeouts_never_grow_the_pool_past_workers(make_pool, workers):
    """Sampled in the manager thread at every completion (the moment a replacement is
    forked) and, from outside, as the template's children."""
    pool = make_pool(preload=["managertasks"], workers=workers)
    manager = pool._manager
    seen = []
    pool.add_hook("complete", lambda info, future, metrics: seen.append(len(manager.workers)))
    futures = []
    for n in range(12):
        if n % 3 == 0:
            futures.append(pool.schedule(managertasks.pid_after, (30,), timeout=0.3))
        elif n % 3 == 1:
            futures.append(pool.submit(managertasks.crash, 5))
        else:
            futures.append(pool.submit(managertasks.double_it, n))
    outside = []
    for future in futures:
        outside.append(len(_children(pool.template_pid)))
        try:
            future.result(timeout=30)
        except (WorkerCrashed, TaskTimeout):
            pass
    assert len(seen) == 12
    assert max(seen) <= workers, seen
    assert max(outside) <= workers, outside


# -- a stopped template --------------------------------------------------------------------------

def _stop_the_template_with_no_worker_left(pool):
    """Workers=1: one worker, then the template stopped and the worker crashed, so the
    replacement's fork request is never answered."""
    assert pool.submit(managertasks.pid_after).result(timeout=30) > 0
    os.kill(pool.template_pid, signal.SIGSTOP)
    wait_until(lambda: _state(pool.template_pid) == "T")
    with pytest.raises(WorkerCrashed):
        pool.submit(managertasks.crash, 4).result(timeout=30)


def _state(pid):
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_a_queued_tasks_deadline_holds_from_submit_when_the_template_is_stopped(make_pool,
                                                                                caplog):
    caplog.set_level(logging.WARNING, logger="hotstart.pool")
    pool = make_pool(preload=["managertasks"], workers=1)
    template = pool.template_pid
    try:
        _stop_the_template_with_no_worker_left(pool)
        queued = pool.schedule(managertasks.double_it, (3,), timeout=1)
        with pytest.raises(TaskTimeout, match=r"waited its timeout of 1 s in the queue and no "
                           r"worker could be had: the template process \(pid \d+\) has kept "
                           r"the pool waiting for [\d.]+ s \(.*its state: T \(stopped"):
            queued.result(timeout=30)
        # Reported once it is late (2 s), in the log.
        wait_until(lambda: "has kept the pool waiting" in caplog.text)
        assert "its state: T (stopped" in caplog.text
        untimed = pool.submit(managertasks.double_it, 4)
        finished = threading.Event()
        threading.Thread(target=lambda: (pool.shutdown(wait=True), finished.set()),
                         daemon=True).start()
        assert finished.wait(30), "shutdown() hung on a stopped template"
        with pytest.raises(BrokenPool, match="was shut down while the template process"):
            untimed.result(timeout=1)
        wait_until(lambda: not alive(template))
    finally:
        try:
            os.kill(template, signal.SIGCONT)
        except ProcessLookupError:
            pass


def test_a_template_that_resumes_serves_the_queue_again(make_pool):
    pool = make_pool(preload=["managertasks"], workers=1)
    template = pool.template_pid
    try:
        _stop_the_template_with_no_worker_left(pool)
        queued = pool.submit(managertasks.double_it, 6)
        os.kill(template, signal.SIGCONT)
        assert queued.result(timeout=30) == 12
    finally:
        os.kill(template, signal.SIGCONT)


# -- submit racing shutdown -----------------------------------------------------------------------

def test_a_submit_that_claimed_a_worker_keeps_the_manager_until_its_task_ran(make_pool):
    """`submit` claims an idle worker under the lock and sends outside it; a shutdown in that
    gap used to close the manager, and the task went back on a queue nobody read: RUNNING
    forever. The gap is widened here by running the shutdown inside it."""
    pool = make_pool(preload=["managertasks"], workers=1)
    assert pool.submit(managertasks.double_it, 0).result(timeout=30) == 0
    manager = pool._manager
    start = manager.start

    def shutdown_in_the_gap(task, worker):
        pool.shutdown(wait=False)
        manager.thread.join(1)  # the old manager closed here; the fixed one waits for us
        return start(task, worker)

    manager.start = shutdown_in_the_gap
    future = pool.submit(managertasks.double_it, 21)
    manager.start = start
    assert future.result(timeout=30) == 42
    manager.thread.join(30)
    assert not manager.thread.is_alive()


def test_a_task_handed_to_a_closed_manager_fails_instead_of_staying_running(make_pool):
    pool = make_pool(preload=["managertasks"], workers=1)
    assert pool.submit(managertasks.double_it, 0).result(timeout=30) == 0
    manager = pool._manager
    start = manager.start

    def start_after_the_manager_closed(task, worker):
        with manager.lock:
            manager.shutdown_requested = True  # as if shutdown() won the race outright
            worker.state = "idle"
        manager.wake()
        manager.thread.join(30)
        return start(task, worker)

    manager.start = start_after_the_manager_closed
    future = pool.submit(managertasks.double_it, 2)
    with pytest.raises(BrokenPool, match="was not run: the pool was shut down"):
        future.result(timeout=30)


def test_submits_racing_shutdown_all_complete(make_pool):
    for _round in range(15):
        pool = make_pool(preload=["managertasks"], workers=1)
        assert pool.submit(managertasks.double_it, 1).result(timeout=30) == 2
        futures = []
        barrier = threading.Barrier(2)

        def submit_many(pool=pool, futures=futures, barrier=barrier):
            barrier.wait()
            for n in range(20):
                try:
                    futures.append(pool.submit(managertasks.double_it, n))
                except RuntimeError:
                    return

        thread = threading.Thread(target=submit_many)
        thread.start()
        barrier.wait()
        pool.shutdown(wait=True)
        thread.join(30)
        for future in futures:
            try:
                future.result(timeout=30)
            except BrokenPool:
                pass
            assert future.done()


# -- what the worker says -------------------------------------------------------------------------

def test_a_done_message_asking_to_retire_delivers_the_result_then_retires_the_worker(
        make_pool):
    """The manager's end of the "retire" key of a done message (the worker sets it after a
    task that left what it cannot undo); forged here by the task itself, for task #2."""
    pool = make_pool(preload=["managertasks"], workers=1)
    first = pool.submit(managertasks.pid_after).result(timeout=30)
    assert pool.submit(managertasks.send_done_with_retire, 2, "forged result").result(
        timeout=30) == "forged result"
    assert pool.submit(managertasks.pid_after).result(timeout=30) != first
    wait_until(lambda: not alive(first))
    assert len(pool.workers()) == 1


def test_cleaning_up_after_w1_leaves_w10s_spill_files(make_pool, spill_path):
    pool = make_pool(preload=["managertasks"], workers=1)
    prefix = f"result-{pool._token}-"
    for name in ("w10-a.spill", "w11-b.spill", "w1-c.spill"):
        with open(os.path.join(spill_path, prefix + name), "wb") as handle:
            handle.write(b"x")
    with pytest.raises(WorkerCrashed):
        pool.submit(managertasks.crash, 2).result(timeout=30)  # w1 dies: its files go
    assert pool.submit(managertasks.pid_after).result(timeout=30) > 0
    left = sorted(name[len(prefix):] for name in os.listdir(spill_path)
                  if name.startswith(prefix))
    assert left == ["w10-a.spill", "w11-b.spill"]


def test_the_message_limit_leaves_room_for_any_inline_result(make_pool):
    """A result up to spill_threshold travels inline: the frame limit is above it, whatever
    the threshold (a corrupt-frame verdict must never hit a result the pool promised)."""
    pool = make_pool(preload=["managertasks"], workers=1, spill_threshold=1 << 30)
    assert pool._manager.message_limit > 1 << 30
    assert pool.submit(managertasks.double_it, b"x" * (4 << 20)).result(timeout=30) == \
        b"x" * (8 << 20)


def test_a_task_that_closes_its_workers_socket_and_runs_on_is_ended(make_pool):
    """Its EOF looks like a crash, but no exit report comes: the worker still runs. It is
    killed and the task fails, instead of waiting forever for the report."""
    pool = make_pool(preload=["managertasks"], workers=1)
    future = pool.submit(managertasks.close_socket_and_run_on, 30)
    with pytest.raises(WorkerCrashed, match="closed its connection to the pool but kept "
                       "running, and was killed"):
        future.result(timeout=20)
    assert pool.submit(managertasks.double_it, 3).result(timeout=30) == 6


def test_a_wake_up_sent_while_the_manager_drains_is_not_lost(make_pool, monkeypatch):
    """A submit sends no wake-up while one is on its way. A wake-up whose byte the manager's
    drain takes must not leave that flag set with no byte behind it, or every later
    wake-up is skipped and shutdown() waits forever (it did, 2 runs in 3 of a benchmark's
    bursts). The race is made certain: the first drain starts with a wake-up from inside."""
    pool = make_pool(preload=["managertasks"], workers=1)
    assert pool.submit(managertasks.double_it, 1).result(timeout=30) == 2
    manager = pool._manager
    drain = _manager._drain
    raced = threading.Event()

    def drain_with_a_wake_up_inside(sock):
        if not raced.is_set():
            manager.wake()  # a submitter's wake-up landing as the manager drains
            raced.set()
        drain(sock)

    monkeypatch.setattr(_manager, "_drain", drain_with_a_wake_up_inside)
    manager.wake()
    assert raced.wait(10)
    finished = threading.Event()
    threading.Thread(target=lambda: (pool.shutdown(wait=True), finished.set()),
                     daemon=True).start()
    assert finished.wait(10), "shutdown() waited for a wake-up that was lost"


def test_the_next_queued_task_is_sent_before_the_previous_result_is_delivered(make_pool):
    """Throughput: a freed worker gets the next queued task before the manager loads the
    finished task's result and completes its future (the worker runs meanwhile)."""
    pool = make_pool(preload=["managertasks"], workers=1)
    manager = pool._manager
    on_worker_at_completion = []

    def look(info, future, metrics):
        if info.name == "pid_after":
            on_worker_at_completion.append([w.task.info.name for w in manager.workers.values()
                                             if w.task is not None])

    pool.add_hook("complete", look)
    first = pool.submit(managertasks.pid_after, 0.2)
    second = pool.submit(managertasks.double_it, 4)
    assert first.result(timeout=30) > 0 and second.result(timeout=30) == 8
    assert on_worker_at_completion == [["double_it"]]
