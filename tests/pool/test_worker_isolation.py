"""Isolation between the tasks of one worker, the worker's own robustness, the secrets filter.

Real pools and real workers: each attack of issue 12 on the worker side is a task in
`isolationtasks`, and what the next task on the same worker sees is asserted. `drive` runs
one real worker without a manager, to read the ``retire`` reason of its ``done`` messages.
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import shutil
import signal
import subprocess
import sys

import isolationtasks
import pytest

from hotstart.pool import WorkerCrashed
from hotstart.pool.env import scrubbed

HERE = pathlib.Path(__file__).parent


@pytest.fixture
def one_worker(make_pool):
    return make_pool(preload=["json", "isolationtasks"], workers=1)


def drive(calls: list, spill_dirs: list | None = None, mounts: str = "") -> list:
    """`isolationtasks.drive(calls, spill_dirs)` in a fresh interpreter; with `mounts` (shell
    commands), in a user and mount namespace where they ran first."""
    command = [sys.executable, str(HERE / "isolationtasks.py"), json.dumps(calls)]
    if spill_dirs:
        command.append(json.dumps(spill_dirs))
    if mounts:
        command = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                   f"{mounts} && exec {subprocess.list2cmdline(command)}"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_state_a_task_changes_is_put_back_for_the_next_task(one_worker):
    before = one_worker.submit(isolationtasks.observe).result(timeout=30)
    assert one_worker.submit(isolationtasks.mess_up).result(timeout=30) == "messed up"
    after = one_worker.submit(isolationtasks.observe)
    seen = after.result(timeout=30)
    assert seen["pid"] == before["pid"]  # the same worker: nothing was retired
    assert seen == before
    assert seen["putenv_in_shell"] == "unset" and seen["umask"] != 0o777
    assert seen["len"] == 6 and seen["json"] and seen["stdout"]
    assert "observed" in after.stdout


def test_entries_replaced_in_place_are_put_back_whatever_the_sizes(one_worker):
    """The worker compares ``sys.modules``, the builtins and the environment item by item
    only when their dicts' version tags moved: a change that keeps every size must still
    be seen, and a change put back by the task itself must leave nothing to restore."""
    before = one_worker.submit(isolationtasks.observe_in_place).result(timeout=30)
    assert before["json"] and before["abs"] == 2
    sizes = one_worker.submit(isolationtasks.replace_in_place).result(timeout=30)
    assert sizes == before["sizes"]  # the task changed no size
    after = one_worker.submit(isolationtasks.observe_in_place).result(timeout=30)
    assert after == before
    assert one_worker.submit(isolationtasks.change_and_change_back).result(timeout=30)
    assert one_worker.submit(isolationtasks.observe_in_place).result(timeout=30) == before
    # Twice more: the snapshots taken after a restore are the ones checked next.
    for _ in range(2):
        one_worker.submit(isolationtasks.replace_in_place).result(timeout=30)
        assert one_worker.submit(isolationtasks.observe_in_place).result(timeout=30) == before


def test_a_task_closing_sys_stdout_and_stderr_does_not_silence_the_next_one(one_worker):
    assert one_worker.submit(isolationtasks.close_std_streams).result(timeout=30) == "closed"
    later = one_worker.submit(isolationtasks.say, "still heard")
    later.result(timeout=30)
    assert "still heard" in later.stdout and "still heard" in later.stderr


def test_what_a_task_printed_before_replacing_sys_stdout_is_captured(one_worker):
    future = one_worker.submit(isolationtasks.print_then_replace_stdout, "printed first")
    assert future.result(timeout=30) == "replaced"
    assert "printed first" in future.stdout


def test_a_task_replacing_builtins_len_still_gets_its_result_back(one_worker):
    # inline (small) and spilled (over the 1 MiB threshold) results
    assert one_worker.submit(isolationtasks.replace_len_and_return, 100).result(
        timeout=30) == "x" * 100
    assert one_worker.submit(isolationtasks.replace_len_and_return, 3 << 20).result(
        timeout=30) == "x" * (3 << 20)
    assert one_worker.submit(isolationtasks.observe).result(timeout=30)["len"] == 6


def test_fds_1_and_2_are_re_pointed_before_every_task(one_worker, tmp_path):
    stolen = tmp_path / "opened-by-a-task"
    assert one_worker.submit(isolationtasks.close_stdout_and_open_a_file,
                             str(stolen)).result(timeout=30) in (1, 2)
    later = one_worker.submit(isolationtasks.say, "after the theft")
    later.result(timeout=30)
    assert "after the theft" in later.stdout and "after the theft" in later.stderr
    assert stolen.read_text() == ""


def test_output_is_capped_on_disk_while_the_task_runs(one_worker):
    future = one_worker.submit(isolationtasks.flood_stdout, 64, "the very end")
    size, on_disk, _pid = future.result(timeout=60)
    assert size > 64 << 20  # every byte counted...
    assert on_disk <= 4 << 20  # ...but only about the last MiB kept, before the task ended
    assert future.stdout.rstrip().endswith("the very end")
    assert future.stdout.startswith("[... ") and " bytes cut ...]" in future.stdout


def test_the_worker_socket_is_not_inherited_by_exec_children(one_worker):
    assert one_worker.submit(isolationtasks.inherited_sockets).result(timeout=30) == 0


def test_a_file_size_limit_fails_the_spill_write_not_the_worker(one_worker):
    worker = one_worker.submit(isolationtasks.pid).result(timeout=30)
    soft, hard = resource.prlimit(worker, resource.RLIMIT_FSIZE)
    resource.prlimit(worker, resource.RLIMIT_FSIZE, (1 << 20, hard))  # as a container might
    try:
        with pytest.raises(Exception) as caught:  # RemoteError, or the OSError itself
            one_worker.submit(isolationtasks.big_result, 4).result(timeout=30)
        assert not isinstance(caught.value, WorkerCrashed)
        assert "File too large" in str(caught.value) or "File too large" in str(
            caught.value.__cause__)
    finally:
        resource.prlimit(worker, resource.RLIMIT_FSIZE, (soft, hard))
    value, pid = one_worker.submit(isolationtasks.big_result, 4).result(timeout=30)
    assert pid == worker and len(value) == 4 << 20


@pytest.mark.skipif(shutil.which("unshare") is None,
                    reason="needs util-linux's unshare to mount a full tmpfs")
def test_a_full_spill_directory_falls_back_to_the_next_one_from_the_worker(tmp_path):
    # A tmpfs with blocks to spare (statvfs says it has room) but no inode left: creating
    # the spill file fails with ENOSPC, as in a tmpfs that filled up meanwhile.
    full, roomy = tmp_path / "full", tmp_path / "roomy"
    full.mkdir()
    roomy.mkdir()
    answers = drive([["big_result", [4]]], [str(full / "spill"), str(roomy / "spill")],
                    f"mount -t tmpfs -o size=256m,nr_inodes=2 none {full} && "
                    f"mkdir -m 700 {full}/spill")
    (kind, directory, retire, _worker), extra = answers
    assert (kind, retire, extra) == ("spill", None, 0)
    assert directory == str(roomy / "spill")


@pytest.mark.parametrize("call, reason", [
    (["start_thread", []], "a thread it started is still running: left-running"),
    (["fork_and_stay", [30]], "it forked a child that is still alive (pid {value})"),
    (["new_session", []], "it changed its session"),
])
def test_the_worker_asks_to_be_retired_when_a_task_leaves_what_cannot_be_put_back(call,
                                                                                  reason):
    answers = drive([["pid", []], call])
    extra = answers.pop()
    (_, _, clean, worker), (kind, value, retire, same) = answers
    try:
        assert clean is None  # a task that leaves nothing behind: no reason
        assert kind == "inline"  # the task's own result is delivered
        assert retire == reason.format(value=value)
        assert extra == 0 and same == worker
    finally:
        if call[0] == "fork_and_stay":
            try:
                os.kill(value, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_forked_child_returning_into_the_worker_ends_and_never_answers():
    answers = drive([["fork_and_return", []], ["pid", []], ["pid", []]])
    extra = answers.pop()
    forked, first, second = answers
    assert forked[:3] == ["inline", 0, None]  # the child exited 0, the task's answer is its own
    assert first[1] == second[1] == forked[3]
    assert extra == 0


def test_a_fork_that_returns_into_the_worker_never_serves_the_pool(one_worker):
    worker = one_worker.submit(isolationtasks.pid).result(timeout=30)
    assert one_worker.submit(isolationtasks.fork_and_return).result(timeout=30) == 0
    pids = [one_worker.submit(isolationtasks.pid) for _ in range(40)]
    assert {future.result(timeout=30) for future in pids} == {worker}


def test_a_retired_worker_is_not_reused(make_pool):
    pool = make_pool(preload=["isolationtasks"], workers=1)
    first = pool.submit(isolationtasks.start_thread).result(timeout=30)
    assert pool.submit(isolationtasks.pid).result(timeout=30) != first


@pytest.mark.parametrize("name", ["HOTSTART_DB_PASS", "LC_PASS", "HOTSTART_DBPASS",
                                  "HOTSTART_DB_PWD", "LC_PW", "HOTSTART_CREDS",
                                  "hotstart_db_pass", "LC_AWS_CREDS_FILE"])
def test_prefixed_names_that_look_secret_are_dropped(name):
    assert name not in scrubbed({name: "hunter2"}, prefixes=["hotstart_"])


@pytest.mark.parametrize("name", ["HOTSTART_PRELOAD", "HOTSTART_EAGER", "LC_TIME",
                                  "HOTSTART_PASSPORT_DIR", "LC_MEASUREMENT"])
def test_prefixed_ordinary_names_still_pass(name):
    assert scrubbed({name: "x"})[name] == "x"
