"""WarmPool when things go wrong: each failure hits one task, says why, and cleans up.

Real crashes (os._exit, SIGKILL, a segfault), real timeouts, a real parent SIGKILL, and a
hostile pre-created spill directory.
"""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

import pooltasks
from hotstart.pool import (BrokenPool, RemoteError, TaskTimeout, WarmPool, WorkerCrashed)
from hotstart.pool.spill import SpillError
from poolhelpers import alive, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_an_exception_comes_back_with_the_remote_traceback(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    future = pool.submit(pooltasks.raise_value_error, "bad input 7")
    with pytest.raises(ValueError) as caught:  # the task's own exception, as PPE raises it
        future.result(timeout=30)
    error = caught.value.__cause__  # the remote traceback travels as its cause
    assert isinstance(error, RemoteError) and error.exception is caught.value
    assert error.type_name == "ValueError"
    assert "raise_value_error" in error.remote_traceback
    assert "pooltasks.py" in error.remote_traceback
    first_line = str(error).splitlines()[0]
    assert first_line == (f"task 'raise_value_error' (#1) raised ValueError: bad input 7 in "
                          f"worker {future.worker_id} (pid {future.metrics.pid})")
    assert "Remote traceback:" in str(error)


def test_an_unpicklable_exception_still_says_what_happened(shared_pool):
    with pytest.raises(RemoteError) as caught:
        shared_pool.submit(pooltasks.raise_unpicklable).result(timeout=30)
    assert caught.value.exception is None
    assert caught.value.type_name == "pooltasks.LocalOnly"
    assert "holds a lock" in str(caught.value)


def test_an_unpicklable_result_is_an_error_not_a_hang(shared_pool):
    with pytest.raises(RemoteError, match="could not be sent back"):
        shared_pool.submit(pooltasks.unpicklable_result).result(timeout=30)
    assert shared_pool.submit(pooltasks.double, 5).result(timeout=30) == 10


def test_output_is_attached_to_errors(shared_pool):
    with pytest.raises(RuntimeError) as caught:
        shared_pool.submit(pooltasks.chatter_then_fail, "boom").result(timeout=30)
    assert "py-out boom" in caught.value.__cause__.stdout
    assert "sub-err boom" in caught.value.__cause__.stderr


@pytest.mark.parametrize("how, expected", [
    ("exit", {"exitcode": 3, "signal": None, "text": "it exited with code 3"}),
    ("sigkill", {"exitcode": None, "signal": 9,
                 "text": "killed by SIGKILL (signal 9), not sent by the pool: the kernel's "
                         "OOM killer"}),
    ("segfault", {"exitcode": None, "signal": 11, "text": "killed by SIGSEGV (signal 11)"}),
])
def test_a_crash_fails_that_task_only_and_a_replacement_is_forked(make_pool, how, expected):
    pool = make_pool(preload=["pooltasks"], workers=2)
    bystander = pool.submit(pooltasks.sleep, 1.0, "unaffected")
    wait_until(bystander.running)
    task = {"exit": (pooltasks.exit_with, 3, "last words\n"),
            "sigkill": (pooltasks.kill_self, signal.SIGKILL),
            "segfault": (pooltasks.segfault,)}[how]
    future = pool.submit(*task)
    with pytest.raises(WorkerCrashed) as caught:
        future.result(timeout=30)
    error = caught.value
    assert error.exitcode == expected["exitcode"] and error.signal == expected["signal"]
    assert expected["text"] in str(error).splitlines()[0]
    if how == "exit":
        assert "last words" in error.stderr and "last words" in str(error)
    if how == "segfault":
        assert "Segmentation fault" in error.stderr  # faulthandler's report
        assert "segfault" in error.stderr  # with the Python frame that crashed
    assert future.metrics is None
    assert bystander.result(timeout=30) == "unaffected"
    # the replacement is forked right away, without waiting for new work
    wait_until(lambda: len(pool.workers()) == 2 and all(w.state == "idle"
                                                        for w in pool.workers()))
    assert pool.submit(pooltasks.double, 4).result(timeout=30) == 8


def test_a_crashed_task_is_never_retried(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=2)
    calls = tmp_path / "calls"
    with pytest.raises(WorkerCrashed):
        pool.submit(pooltasks.record_call, str(calls), "exit").result(timeout=30)
    with pytest.raises(TaskTimeout):
        pool.schedule(pooltasks.record_call, (str(calls), "hang"), timeout=0.3).result(
            timeout=30)
    assert len(calls.read_text().split()) == 2


def test_a_timeout_kills_that_worker_only_and_a_fresh_one_replaces_it(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=2)
    bystander = pool.submit(pooltasks.sleep, 1.0, "still fine")
    wait_until(bystander.running)
    slow = pool.schedule(pooltasks.chatter_then_hang, ("late",), timeout=0.3)
    with pytest.raises(TaskTimeout) as caught:
        slow.result(timeout=30)
    error = caught.value
    assert isinstance(error, TimeoutError) and error.timeout == 0.3
    assert "did not finish within its timeout of 0.3 s" in str(error)
    assert "py-out late" in error.stdout  # what it printed before it was killed
    victim = slow.worker_id
    assert bystander.result(timeout=30) == "still fine"
    wait_until(lambda: victim not in {w.worker_id for w in pool.workers()}
               and len(pool.workers()) == 2)
    assert pool.submit(pooltasks.double, 1).result(timeout=30) == 2


def test_the_pool_default_timeout_applies_and_schedule_overrides_it(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1, timeout=0.3)
    with pytest.raises(TaskTimeout):
        pool.submit(pooltasks.sleep, 30).result(timeout=30)
    assert pool.schedule(pooltasks.sleep, (0.5, "ok"), timeout=None).result(timeout=30) == "ok"


def test_parent_sigkill_takes_the_template_and_workers_down(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import sys, time
        sys.path[:0] = [{str(ROOT / 'src')!r}, {str(pathlib.Path(__file__).parent)!r}]
        import pooltasks
        from hotstart.pool import WarmPool
        pool = WarmPool(preload=["pooltasks"], workers=2, spill_dir={str(tmp_path / 's')!r})
        busy = pool.submit(pooltasks.sleep, 120)
        idle = pool.submit(pooltasks.double, 1).result()
        while len(pool.worker_pids()) < 2:
            time.sleep(0.01)
        print(pool.template_pid, *pool.worker_pids(), flush=True)
        time.sleep(120)
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 3 and all(alive(pid) for pid in pids)
        parent.kill()
        parent.wait()
        for pid in pids:
            wait_until(lambda: not alive(pid))
    finally:
        parent.kill()
        parent.stdout.close()


def test_template_death_fails_running_tasks_and_breaks_the_pool(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    running = pool.submit(pooltasks.sleep, 60)
    wait_until(running.running)
    worker = wait_until(pool.worker_pids)[0]
    os.kill(pool.template_pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashed, match="template process .* died"):
        running.result(timeout=30)
    wait_until(lambda: not alive(worker))  # PR_SET_PDEATHSIG
    with pytest.raises(BrokenPool, match="template process"):
        pool.submit(pooltasks.double, 1)


# -- spill files ---------------------------------------------------------------------------

def test_large_results_come_back_mapped_and_leave_no_file(make_pool, spill_path):
    import mmap

    import numpy

    pool = make_pool(preload=["numpy", "pooltasks"], workers=1, spill_threshold=1 << 20)
    future = pool.submit(pooltasks.array, 5_000_000)
    result = future.result(timeout=60)
    assert isinstance(result, numpy.ndarray) and result[-1] == 4_999_999
    assert future.metrics.spilled and future.metrics.result_bytes >= 40_000_000
    owner = result
    while not isinstance(owner, mmap.mmap):
        owner = owner.obj if isinstance(owner, memoryview) else owner.base
        assert owner is not None, "the array owns its memory: it was copied"
    assert isinstance(owner, mmap.mmap)  # mapped from the spill file, not copied
    small = pool.submit(pooltasks.array, 10)
    assert small.result(timeout=30).tolist() == list(range(10))
    assert small.metrics.spilled is False
    assert os.listdir(spill_path) == []


def test_spill_leftovers_are_removed_after_a_timeout_and_at_shutdown(make_pool, spill_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    name = f"result-{pool._token}-w1-planted.spill"
    future = pool.schedule(pooltasks.plant_spill_then_hang, (spill_path, name), timeout=0.5)
    with pytest.raises(TaskTimeout):
        future.result(timeout=30)
    wait_until(lambda: name not in os.listdir(spill_path))
    stray = pathlib.Path(spill_path, f"result-{pool._token}-w9-stray.spill")
    stray.write_bytes(b"x")
    pool.shutdown(wait=True)
    assert not stray.exists()


def test_a_hostile_spill_directory_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(SpillError, match="group or others"):
        WarmPool(workers=1, spill_dir=str(shared))
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o700)
    if os.geteuid() == 0:
        os.chown(planted, 65534, 65534)
        with pytest.raises(SpillError, match="owned by uid 65534"):
            WarmPool(workers=1, spill_dir=str(planted))
    link = tmp_path / "link"
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    link.symlink_to(target)
    with pytest.raises(SpillError, match="symbolic link"):
        WarmPool(workers=1, spill_dir=str(link))


def test_a_pool_left_open_is_shut_down_at_interpreter_exit(tmp_path):
    script = tmp_path / "forgetful.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT / 'src')!r}, {str(pathlib.Path(__file__).parent)!r}]
        import pooltasks
        from hotstart.pool import WarmPool
        pool = WarmPool(preload=["pooltasks"], workers=1, spill_dir={str(tmp_path / 's')!r})
        future = pool.submit(pooltasks.sleep, 0.3, "finished")
        future.add_done_callback(lambda f: print("task:", f.result(), flush=True))
        print(pool.template_pid, flush=True)
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    template_pid = int(done.stdout.split()[0])
    assert "task: finished" in done.stdout  # the running task was waited for
    wait_until(lambda: not alive(template_pid))


def _memory_cgroup_v1() -> "str | None":
    with open("/proc/self/cgroup") as lines:
        for line in lines:
            _number, controllers, path = line.rstrip("\n").split(":", 2)
            if "memory" in controllers.split(","):
                return "/sys/fs/cgroup/memory" + path
    return None


def test_a_real_oom_kill_fails_that_task_with_the_signal(make_pool, tmp_path):
    parent = _memory_cgroup_v1()
    if parent is None or not os.access(parent, os.W_OK):
        pytest.skip("needs a writable cgroup v1 memory hierarchy to impose a memory limit")
    limited = pathlib.Path(parent, f"hotstart-test-{os.getpid()}")
    limited.mkdir()
    try:
        (limited / "memory.limit_in_bytes").write_text(str(64 << 20))
        pool = make_pool(preload=["pooltasks"], workers=1)
        future = pool.submit(pooltasks.join_cgroup_and_allocate,
                             str(limited / "cgroup.procs"), 256)
        with pytest.raises(WorkerCrashed) as caught:
            future.result(timeout=60)
        assert caught.value.signal == signal.SIGKILL
        assert "not sent by the pool: the kernel's OOM killer" in str(caught.value)
        assert pool.submit(pooltasks.double, 2).result(timeout=30) == 4
    finally:
        wait_until(lambda: not (limited / "cgroup.procs").read_text().strip())
        limited.rmdir()


# The scenario is a fork of this multi-threaded process (the pool's manager thread); the
# child only sleeps and exits, so 3.12+'s warning about forking threads does not apply.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_shutdown_does_not_wait_for_children_the_parent_forked(make_pool):
    """A child forked by the parent inherits the pool's sockets; shutdown must still reach
    the template at once (it hangs up the connection, not just its descriptor)."""
    pool = make_pool(preload=["pooltasks"], workers=1)
    pool.submit(pooltasks.double, 1).result(timeout=30)
    child = os.fork()
    if child == 0:
        import time

        time.sleep(30)
        os._exit(0)
    try:
        pool.shutdown(wait=True)
        assert pool._process.returncode == 0  # it left by itself; not killed after a wait
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def test_default_spill_prefers_a_tmpfs_with_room_then_falls_back(tmp_path):
    from hotstart.pool import _startup, _worker

    first, second = str(tmp_path / "a"), str(tmp_path / "b")
    os.mkdir(first)
    os.mkdir(second)
    choose = _worker._spill_target([first, second])
    assert choose(1 << 20) == first  # room enough on the first
    assert choose(10 ** 18) == second  # more than any disk: the fallback
    directories = _startup.spill_dirs(None)
    if _startup.is_tmpfs("/dev/shm"):
        assert directories[0] == f"/dev/shm/hotstart-{os.geteuid()}"
    assert directories[-1].endswith(f"hotstart-{os.geteuid()}")


def test_default_spill_directories_are_cleaned_too():
    pool = WarmPool(preload=["pooltasks"], workers=1)
    try:
        result = pool.submit(pooltasks.array, 500_000).result(timeout=60)
        assert result.shape == (500_000,)
        leftovers = [name for directory in pool._spill_dirs for name in os.listdir(directory)
                     if name.startswith(f"result-{pool._token}-")]
        assert leftovers == []
    finally:
        pool.shutdown()
