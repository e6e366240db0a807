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


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux's unshare to mount a small tmpfs")
def test_a_full_tmpfs_falls_back_to_the_next_directory(tmp_path):
    small, big = tmp_path / "shm", tmp_path / "tmp"
    small.mkdir()
    big.mkdir()
    done = _with_tmpfs({str(small): "1m", str(big): "8m"}, f"""
        import os, pickle
        from hotstart.pool.spill import inline_or_spill, read_spill, spill_dir
        small = spill_dir({str(small / 'spill')!r})
        big = spill_dir({str(big / 'spill')!r})
        payload = pickle.PickleBuffer(bytearray(3 << 20))  # 3 MiB: the 1 MiB tmpfs is full
        kind, spilled = inline_or_spill(payload, lambda size: small, 0, prefix="result-t-w1-",
                                        fallbacks=[small, big])
        assert kind == "spill", kind
        print(os.path.dirname(spilled.path) == big, os.listdir(small),
              len(read_spill(spilled.path)))
    """)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "[]", str(3 << 20)]  # no partial file left


@pytest.mark.skipif(UNSHARE is None, reason="needs util-linux's unshare to mount a small tmpfs")
def test_every_directory_full_raises_the_last_error_and_leaves_nothing(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    done = _with_tmpfs({str(first): "1m", str(second): "1m"}, f"""
        import os, pickle
        from hotstart.pool.spill import SpillError, write_spill, spill_dir
        a = spill_dir({str(first / 'spill')!r})
        b = spill_dir({str(second / 'spill')!r})
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
    assert lines[1] == f"spill directories tried, in order: {first / 'spill'}, {second / 'spill'}"
    assert lines[2] == "[] []"


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
