"""Issue 12, spill files and the template: exact clean-up, full directories, a task's umask,
processes a task leaves behind, a parent that dies during the preload, the start timeout and
a preload module that crashes the template. Real files, real mounts, real processes."""

from __future__ import annotations

import os
import pathlib
import pickle
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest
import templatetasks
from poolhelpers import alive, wait_until

from hotstart.pool import PoolError, TaskTimeout, WarmPool, _startup, _template
from hotstart.pool.spill import (
    SpillError,
    inline_or_spill,
    read_spill,
    spill_dir,
    sweep,
    write_spill,
)

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
HERE = pathlib.Path(__file__).resolve().parent


def _spill_dir(path: pathlib.Path) -> str:
    return spill_dir(str(path))


def _run(code: str, *, prefix: list[str] = (), timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter (optionally under a command `prefix`); stdout text."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(HERE)])}
    return subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


# --- spill files: named and cleaned exactly ----------------------------------------------------


def test_sweeping_worker_w1_leaves_the_files_of_w10_and_w11(tmp_path):
    directory = _spill_dir(tmp_path / "spill")
    files = {worker: write_spill(worker, directory, prefix=f"result-9p1-{worker}-")
             for worker in ("w1", "w10", "w11", "w1x")}
    other_pool = write_spill("p11", directory, prefix="result-9p11-w1-")
    # The manager's clean-up after w1, with and without the trailing dash.
    assert sweep(directory, older_than=float("-inf"), prefix="result-9p1-w1") == 1
    assert not os.path.exists(files["w1"].path)
    for worker in ("w10", "w11", "w1x"):
        assert read_spill(files[worker].path) == worker
    files = {worker: write_spill(worker, directory, prefix=f"result-9p1-{worker}-")
             for worker in ("w1", "w10")}
    assert sweep(directory, older_than=float("-inf"), prefix="result-9p1-w1-") == 1
    assert os.path.exists(files["w10"].path)
    # The pool-wide clean-up at shutdown takes every worker of that pool, not pool 11's.
    assert sweep(directory, older_than=float("-inf"), prefix="result-9p1") == 1
    assert sorted(os.listdir(directory)) == [os.path.basename(other_pool.path)]


# --- a task's umask ------------------------------------------------------------------------------


def test_a_umask_of_0777_does_not_make_spill_files_unusable(tmp_path):
    directory = _spill_dir(tmp_path / "spill")
    old = os.umask(0o777)
    try:
        spilled = write_spill(b"x" * 1000, directory)
        kind, other = inline_or_spill(pickle.PickleBuffer(bytearray(5000)), directory, 100)
        fresh = spill_dir(str(tmp_path / "created-under-umask"))
    finally:
        os.umask(old)
    assert kind == "spill"
    for path in (spilled.path, other.path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o700
    assert read_spill(spilled.path) == b"x" * 1000
    assert bytes(read_spill(other.path)) == bytes(5000)


# --- a full directory: the next one ------------------------------------------------------------

UNSHARE = shutil.which("unshare")


def _with_tmpfs(sizes: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """Run `code` in a user and mount namespace where each key of `sizes` (a path) is a fresh
    tmpfs of that size (a real full filesystem, seen by this child only)."""
    mounts = " && ".join(f"mount -t tmpfs -o size={size} none {path}"
                         for path, size in sizes.items())
    script = (f"{mounts} && exec {sys.executable} -c "
              f"{subprocess.list2cmdline([textwrap.dedent(code)])}")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run([UNSHARE, "--user", "--map-root-user", "--mount", "sh", "-c", script],
                          env=env, capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def _in_two_tmpfs(tmp_path: pathlib.Path, size_a: str, size_b: str,
                  code: str) -> subprocess.CompletedProcess:
    """Run `code` (with the spill functions imported) where ``a`` and ``b`` are spill
    directories, each on a fresh tmpfs of that size."""
    mounts = {}
    for name, size in (("a", size_a), ("b", size_b)):
        (tmp_path / name).mkdir()
        mounts[str(tmp_path / name)] = size
    return _with_tmpfs(mounts, textwrap.dedent(f"""
        import os, pickle
        from hotstart.pool.spill import (SpillError, inline_or_spill, read_spill, spill_dir,
                                         write_spill)
        a = spill_dir({str(tmp_path / 'a' / 'spill')!r})
        b = spill_dir({str(tmp_path / 'b' / 'spill')!r})
    """) + textwrap.dedent(code))


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux's unshare to mount a small tmpfs")
def test_a_full_tmpfs_falls_back_to_the_next_directory(tmp_path):
    done = _in_two_tmpfs(tmp_path, "1m", "8m", """
        payload = pickle.PickleBuffer(bytearray(3 << 20))  # 3 MiB: the 1 MiB tmpfs is full
        kind, spilled = inline_or_spill(payload, lambda size: a, 0, prefix="result-t-w1-",
                                        fallbacks=[a, b])
        print(kind, os.path.dirname(spilled.path) == b, os.listdir(a),
              len(read_spill(spilled.path)))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["spill", "True", "[]", str(3 << 20)]  # no partial file


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux's unshare to mount a small tmpfs")
def test_every_directory_full_raises_the_last_error_and_leaves_nothing(tmp_path):
    done = _in_two_tmpfs(tmp_path, "1m", "1m", """
        try:
            write_spill(pickle.PickleBuffer(bytearray(3 << 20)), a, fallbacks=[b])
        except SpillError as exc:
            print(str(exc).split(":")[0].startswith("cannot write spill file " + b))
            print(exc.__notes__[-1])
            print(os.listdir(a), os.listdir(b))
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "True"  # the last directory's error
    assert lines[1] == (f"spill directories tried, in order: {tmp_path / 'a' / 'spill'}, "
                        f"{tmp_path / 'b' / 'spill'}")
    assert lines[2] == "[] []"


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux's unshare to mount a small tmpfs")
def test_a_pool_whose_tmpfs_has_no_room_left_spills_to_the_next_directory(tmp_path):
    # /dev/shm, in a private mount namespace, is a tmpfs with space (200 MB: the worker wants
    # the result's size and 64 MB more) but no inode left: the worker's free-space check
    # picks it, and creating the spill file fails with ENOSPC.
    done = _with_tmpfs({"/dev/shm": "200m,nr_inodes=2"}, f"""
        import os, sys
        sys.path.insert(0, {str(HERE)!r})
        import pooltasks
        from hotstart.pool import WarmPool
        pool = WarmPool(preload=["pooltasks"], workers=1, spill_threshold=1 << 10)
        try:
            future = pool.submit(pooltasks.identity, b"x" * (1 << 20))
            print(len(future.result(timeout=30)), future.metrics.spilled,
                  pool._spill_dirs[0], os.listdir(pool._spill_dirs[0]))
        finally:
            pool.shutdown()
    """)
    assert done.returncode == 0, done.stderr
    # (uid 0 in the namespace)
    assert done.stdout.split() == [str(1 << 20), "True", "/dev/shm/hotstart-0", "[]"]


def test_a_file_size_limit_fails_cleanly_in_every_directory(tmp_path):
    first = _spill_dir(tmp_path / "a")
    second = _spill_dir(tmp_path / "b")
    done = _run(f"""
        import os, pickle, resource, signal
        from hotstart.pool.spill import SpillError, inline_or_spill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            inline_or_spill(pickle.PickleBuffer(bytearray(1 << 20)), {first!r}, 0,
                            fallbacks=[{second!r}])
        except SpillError as exc:
            print(exc.__cause__.errno == __import__("errno").EFBIG, len(exc.__notes__))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "1"]
    assert os.listdir(first) == [] and os.listdir(second) == []


def test_an_error_that_is_not_about_room_is_not_retried_elsewhere(tmp_path):
    second = _spill_dir(tmp_path / "b")
    missing = str(tmp_path / "missing")
    with pytest.raises(SpillError, match=f"cannot create a spill file in {missing}: No such"):
        write_spill(b"x", missing, fallbacks=[second])
    assert os.listdir(second) == []


# --- processes started by tasks ----------------------------------------------------------------


def _sleepers(directory: pathlib.Path) -> list[int]:
    """The pids `templatetasks.start_sleepers` wrote: group, session, daemon."""
    path = directory / "pids"
    wait_until(path.exists)
    return [int(pid) for pid in path.read_text().split()]


def test_each_worker_leads_a_process_group_of_its_own_in_the_templates_session(make_pool):
    pool = make_pool(preload=["templatetasks"], workers=1)
    pid, group, session = pool.submit(templatetasks.process_group).result(timeout=30)
    assert group == pid and session == pool.template_pid != os.getsid(0)


def test_kill_descendants_takes_the_whole_tree_below_a_process_and_not_it(tmp_path):
    # A real tree: a Python process with a child in its group and one in a session of its
    # own, which has a child of its own (a grandchild, out of the group too).
    code = textwrap.dedent(f"""
        import os, subprocess, sys
        group = subprocess.Popen(["sleep", "1000"])
        session = subprocess.Popen(["sh", "-c", "sleep 1000 & echo $! > {tmp_path}/g; wait"],
                                   start_new_session=True)
        while not os.path.exists("{tmp_path}/g") or not open("{tmp_path}/g").read():
            pass
        print(group.pid, session.pid, open("{tmp_path}/g").read().strip(), flush=True)
        sys.stdin.read()
    """)
    top = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, text=True)
    try:
        below = [int(pid) for pid in top.stdout.readline().split()]
        assert len(below) == 3 and all(alive(pid) for pid in below)
        assert _template.kill_descendants(top.pid) == 3
        wait_until(lambda: not any(alive(pid) for pid in below))
        assert alive(top.pid)
    finally:
        top.kill()
        top.wait()
        top.stdin.close()
        top.stdout.close()


def test_a_timeout_kills_what_the_task_started_and_shutdown_the_rest(make_pool, tmp_path):
    pool = make_pool(preload=["templatetasks"], workers=1)
    # The deadline leaves the task ample time to start its processes (a loaded machine).
    future = pool.schedule(templatetasks.start_sleepers, (str(tmp_path), "hang"), timeout=4)
    group, session, daemon = _sleepers(tmp_path)
    with pytest.raises(TaskTimeout):
        future.result(timeout=30)
    # Killed with the worker: its process group, and its child in a session of its own.
    wait_until(lambda: not alive(group) and not alive(session))
    assert alive(daemon)  # orphaned before the kill: the template adopted it
    pool.shutdown(wait=True)
    assert not alive(daemon)  # the template killed and reaped it before it exited


def test_a_retired_worker_takes_what_its_task_started_and_shutdown_the_rest(make_pool, tmp_path):
    pool = make_pool(preload=["templatetasks"], workers=1, max_tasks_per_worker=1)
    worker = pool.submit(templatetasks.start_sleepers, str(tmp_path)).result(timeout=30)
    group, session, daemon = _sleepers(tmp_path)
    wait_until(lambda: not alive(worker))  # retired after its one task
    # Its group killed by the template; its child in a session of its own by the worker.
    wait_until(lambda: not alive(group) and not alive(session))
    assert alive(daemon)  # orphaned before: the template adopted it
    pool.shutdown(wait=True)
    assert not alive(daemon)


def test_a_parent_killed_takes_what_tasks_started(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys, time
        sys.path[:0] = [{str(SRC)!r}, {str(HERE)!r}]
        import templatetasks
        from hotstart.pool import WarmPool
        pool = WarmPool(preload=["templatetasks"], workers=1, spill_dir={str(tmp_path / 's')!r})
        running = pool.submit(templatetasks.start_sleepers, {str(tmp_path)!r}, "hang")
        while not os.path.exists({str(tmp_path / 'pids')!r}):
            time.sleep(0.01)
        print(pool.template_pid, *pool.worker_pids(), flush=True)
        sys.stdin.read()
    """))
    parent = subprocess.Popen([sys.executable, str(script)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(pid) for pid in parent.stdout.readline().split()] + _sleepers(tmp_path)
        assert len(pids) == 5 and all(alive(pid) for pid in pids)
        parent.kill()
        parent.wait()
        wait_until(lambda: not any(alive(pid) for pid in pids))
    finally:
        parent.kill()
        parent.stdin.close()
        parent.stdout.close()


# --- starting the template ---------------------------------------------------------------------


def _children_of(pid: int) -> list[int]:
    found = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as listing:
            found += [int(child) for child in listing.read().split()]
    return found


def test_a_parent_killed_while_a_preload_hangs_takes_the_template(tmp_path):
    (tmp_path / "q3_hangs_at_import.py").write_text("import time\ntime.sleep(1000)\n")
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(SRC)!r}, {str(tmp_path)!r}]
        from hotstart.pool import WarmPool
        WarmPool(preload=["q3_hangs_at_import"], spill_dir={str(tmp_path / 's')!r},
                 start_timeout=600)
    """))
    parent = subprocess.Popen([sys.executable, str(script)])
    try:
        template = wait_until(lambda: _children_of(parent.pid))[0]
        parent.kill()
        parent.wait()
        wait_until(lambda: not alive(template))
    finally:
        parent.kill()


HANGS_UNTIL_HUNG_UP = '''
import os, select, socket, subprocess, pathlib, sys
child = subprocess.Popen(["sleep", "1000"])
pathlib.Path({pids!r}).write_text(f"{{os.getpid()}} {{child.pid}}")
# The template's control socket: a template that is hung up on (and not killed) exits 3.
sockets = []
for fd in os.listdir("/proc/self/fd"):
    try:
        if os.readlink(f"/proc/self/fd/{{fd}}").startswith("socket:"):
            sockets.append(int(fd))
    except OSError:  # the directory listing's own descriptor
        pass
select.select(sockets, [], [])
pathlib.Path({pids!r} + ".hung-up").write_text("given time to leave")
os._exit(3)
'''


def test_start_timeout_kills_the_template_at_once_with_what_it_started(tmp_path,
                                                                      monkeypatch):
    (tmp_path / "q3_hangs_until_hung_up.py").write_text(
        HANGS_UNTIL_HUNG_UP.format(pids=str(tmp_path / "pids")))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PoolError) as caught:
        WarmPool(preload=["json", "q3_hangs_until_hung_up"], start_timeout=1,
                 spill_dir=_spill_dir(tmp_path / "s"))
    assert str(caught.value) == (
        "the template process did not finish importing the preload list ['json', "
        "'q3_hangs_until_hung_up'] within start_timeout=1 s (still importing "
        "'q3_hangs_until_hung_up') and was killed: raise start_timeout= or fix that module")
    template, child = (int(pid) for pid in (tmp_path / "pids").read_text().split())
    # Killed at the deadline, not hung up on and given 5 s more to leave (it would have
    # left a mark and exited 3).
    assert not alive(template) and not (tmp_path / "pids.hung-up").exists()
    wait_until(lambda: not alive(child))  # the preload's own child went with it
    assert _startup.DEFAULT_START_TIMEOUT == 60.0


def test_a_preload_module_that_segfaults_is_named(tmp_path, monkeypatch):
    (tmp_path / "q3_segfaults.py").write_text("import ctypes\nctypes.string_at(0)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PoolError) as caught:
        WarmPool(preload=["json", "q3_segfaults"], spill_dir=_spill_dir(tmp_path / "s"))
    assert str(caught.value).startswith(
        "the template process was killed by signal 11 (SIGSEGV) while importing preload "
        "module 'q3_segfaults'")
    assert str(caught.value).endswith(": remove it from the preload list or fix it")
    # The template's faulthandler traceback, in a note: the line of the module that crashed.
    assert f'File "{tmp_path / "q3_segfaults.py"}", line 2 in <module>' in \
        caught.value.__notes__[0]
