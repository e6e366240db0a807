"""Spill files and the spill directory, on real files (no mocks)."""

from __future__ import annotations

import importlib
import mmap
import os
import pathlib
import pickle
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest

from hotstart.errors import HotstartError
from hotstart.pool.spill import (
    SpillError,
    SpillFile,
    inline_or_spill,
    load_inline,
    read_spill,
    spill_dir,
    sweep,
    write_spill,
)

SRC = pathlib.Path(__file__).resolve().parents[2] / "src"
IS_ROOT = os.geteuid() == 0
OTHER_UID = 65534  # "nobody"


@pytest.fixture
def directory(tmp_path: pathlib.Path) -> str:
    """A fresh, verified spill directory."""
    return spill_dir(str(tmp_path / "spill"))


def entries(directory: str) -> list[str]:
    return sorted(os.listdir(directory))


def rss_bytes() -> int:
    """Resident set size of this process, from /proc/self/statm (pages)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def mapping_behind(array: object) -> object:
    """Follow ``arr.base`` (and a memoryview's ``obj``) to the object that owns the memory."""
    owner = array
    while True:
        if isinstance(owner, memoryview):
            owner = owner.obj
        elif getattr(owner, "base", None) is not None:
            owner = owner.base
        else:
            return owner


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot reduce this on purpose")


class ImportsMissingModule:
    """Pickles fine; unpickling calls importlib.import_module('tests_missing_module')."""

    def __reduce__(self):
        return (importlib.import_module, ("tests_missing_module",))


# --- round trips -------------------------------------------------------------------------------


def test_plain_objects_round_trip_and_the_file_is_removed(directory: str) -> None:
    value = {"a": [1, 2.5, None, True], "b": ("x" * 1000, b"\x00\xff" * 500),
             "c": bytearray(b"mutable"), "d": {3, 4}, "nested": {"deep": [[], {}]}}
    spilled = write_spill(value, directory)
    assert isinstance(spilled, SpillFile)
    assert os.path.basename(spilled.path).startswith("result-")
    assert spilled.path.endswith(".spill")
    assert os.path.dirname(spilled.path) == directory
    assert os.path.getsize(spilled.path) == spilled.size
    assert stat.S_IMODE(os.stat(spilled.path).st_mode) == 0o600
    assert read_spill(spilled.path) == value
    assert entries(directory) == []


def test_picklebuffer_comes_back_out_of_band(directory: str) -> None:
    payload = bytearray(range(256)) * 1000
    spilled = write_spill(pickle.PickleBuffer(payload), directory, prefix="custom-")
    assert os.path.basename(spilled.path).startswith("custom-")
    back = read_spill(spilled)  # a SpillFile is path-like
    assert isinstance(back, memoryview) and bytes(back) == bytes(payload)
    assert isinstance(back.obj, mmap.mmap)  # a slice of the map, not a copy
    assert entries(directory) == []


def test_numpy_array_comes_back_equal_writable_and_mapped_not_copied(directory: str) -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(50 * 2**20 // 8, dtype=np.float64)  # 50 MB
    spilled = write_spill({"array": array, "note": "x"}, directory)
    assert spilled.size > array.nbytes

    before = rss_bytes()
    result = read_spill(spilled.path)
    after = rss_bytes()
    back = result["array"]
    assert not os.path.exists(spilled.path)  # unlinked at once; the map stays valid

    # Not copied, checked two ways before any page of `back` is touched:
    # 1. structurally (deterministic): the array's memory is owned by an mmap, so it cannot be
    #    a private copy;
    # 2. by RSS: a mapping is faulted in lazily, so reading 50 MB must not grow the resident
    #    set by anything near 50 MB (a copy would grow it by the full size). 25 % leaves room
    #    for allocator noise without ever letting a copy pass.
    assert isinstance(mapping_behind(back), mmap.mmap)
    assert after - before < 0.25 * array.nbytes, (before, after)

    assert back.ctypes.data % 64 == 0  # buffers are 64-byte aligned in the file
    assert back.flags.writeable  # copy-on-write map (ACCESS_COPY)
    assert back.dtype == array.dtype and back.shape == array.shape
    assert np.array_equal(back, array)
    back[0] = -1.0
    assert back[0] == -1.0 and array[0] == 0.0


def test_read_only_map_and_copy_on_write_never_changes_the_file(directory: str) -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(1000, dtype=np.int32).reshape(10, 100)
    fortran = np.asfortranarray(array)
    spilled = write_spill([array, fortran], directory)

    writable = read_spill(spilled.path, unlink=False)
    assert os.path.exists(spilled.path)
    writable[0][:] = 7  # changes this process's pages only
    assert writable[1].flags.f_contiguous and np.array_equal(writable[1], array)

    read_only = read_spill(spilled.path, writable=False)
    assert not os.path.exists(spilled.path)
    assert np.array_equal(read_only[0], array)  # the file still holds the original
    assert not read_only[0].flags.writeable
    with pytest.raises(ValueError):
        read_only[0][0, 0] = 1


# --- nothing left behind -----------------------------------------------------------------------


def test_file_is_removed_when_unpickling_fails_and_the_error_propagates(directory: str) -> None:
    spilled = write_spill([1, ImportsMissingModule()], directory)
    assert os.path.exists(spilled.path)
    with pytest.raises(ModuleNotFoundError, match="tests_missing_module"):
        read_spill(spilled.path)
    assert entries(directory) == []


def test_failed_pickling_leaves_no_file(directory: str) -> None:
    with pytest.raises(RuntimeError, match="on purpose"):
        write_spill([b"x" * 10_000, Unpicklable()], directory)
    with pytest.raises(RuntimeError, match="on purpose"):
        inline_or_spill([Unpicklable()], directory, threshold=0)
    assert entries(directory) == []


def test_write_failing_half_way_removes_the_partial_file(directory: str) -> None:
    # A real mid-write failure: a child process whose file size limit (RLIMIT_FSIZE, SIGXFSZ
    # ignored so write() fails with EFBIG) lets the header through but not the 1 MB buffer.
    code = textwrap.dedent(f"""
        import os, pickle, resource, signal, sys
        from hotstart.pool.spill import SpillError, write_spill
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        try:
            write_spill(pickle.PickleBuffer(bytearray(2**20)), {directory!r})
        except SpillError as exc:
            print(exc)
        else:
            sys.exit("write_spill did not fail")
    """)
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith(f"cannot write spill file {directory}{os.sep}result-")
    assert "File too large" in message and "\n" not in message
    assert entries(directory) == []


# --- inline or spill ---------------------------------------------------------------------------


def test_inline_or_spill_keeps_small_results_inline(directory: str) -> None:
    kind, payload = inline_or_spill({"small": [1, 2, 3]}, directory, threshold=1000)
    assert kind == "inline" and isinstance(payload, bytes)
    assert load_inline(payload) == {"small": [1, 2, 3]}
    assert entries(directory) == []


def test_inline_result_with_buffers_is_one_self_contained_pickle(directory: str) -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(100, dtype=np.float64)  # 800 bytes out of band
    kind, payload = inline_or_spill(array, directory, threshold=10_000)
    assert kind == "inline" and isinstance(payload, bytes)
    assert np.array_equal(pickle.loads(payload), array)  # no buffers needed to load it
    assert entries(directory) == []


def test_inline_or_spill_spills_above_the_threshold_counting_buffers(directory: str) -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(1000, dtype=np.float64)  # 8000 bytes out of band, a short stream
    kind, payload = inline_or_spill(array, directory, threshold=4000)
    assert kind == "spill" and isinstance(payload, SpillFile)
    assert entries(directory) == [os.path.basename(payload.path)]
    assert os.path.getsize(payload.path) == payload.size
    back = read_spill(payload.path)
    assert np.array_equal(back, array) and isinstance(mapping_behind(back), mmap.mmap)
    assert entries(directory) == []

    kind, payload = inline_or_spill("y" * 5000, directory, threshold=4999)
    assert kind == "spill" and read_spill(payload.path) == "y" * 5000


def test_spill_file_pickles_and_unlink_is_idempotent(directory: str) -> None:
    spilled = write_spill("data", directory)
    copy = pickle.loads(pickle.dumps(spilled))
    assert copy == spilled and copy.path == spilled.path and copy.size == spilled.size
    assert os.fspath(copy) == spilled.path
    copy.unlink()
    copy.unlink()
    assert entries(directory) == []


# --- read_spill refuses what is not ours or not a spill file -----------------------------------


def test_read_spill_refuses_a_symlink_planted_at_the_path(directory: str,
                                                          tmp_path: pathlib.Path) -> None:
    target = tmp_path / "secret"
    target.write_bytes(b"HSSPILL1" + bytes(100))
    planted = os.path.join(directory, "result-planted.spill")
    os.symlink(target, planted)
    with pytest.raises(SpillError, match="symbolic link") as caught:
        read_spill(planted)
    assert planted in str(caught.value)
    assert os.path.islink(planted) and target.exists()  # neither followed nor removed


def test_read_spill_refuses_bad_magic(directory: str) -> None:
    path = os.path.join(directory, "result-bad.spill")
    pathlib.Path(path).write_bytes(b"NOTSPILL" + bytes(64))
    with pytest.raises(SpillError, match="not a hotstart spill file") as caught:
        read_spill(path)
    assert path in str(caught.value) and "\n" not in str(caught.value)
    assert not os.path.exists(path)  # ours, unreadable: removed like any other


@pytest.mark.parametrize("keep", [10, 24, 100, -1])
def test_read_spill_refuses_a_truncated_file(directory: str, keep: int) -> None:
    spilled = write_spill(pickle.PickleBuffer(bytes(1000)), directory)
    with open(spilled.path, "r+b") as f:
        f.truncate(spilled.size + keep if keep < 0 else keep)
    with pytest.raises(SpillError, match="truncated") as caught:
        read_spill(spilled.path)
    assert spilled.path in str(caught.value)
    assert entries(directory) == []


def test_read_spill_refuses_trailing_bytes_and_a_corrupt_stream(directory: str) -> None:
    spilled = write_spill({"k": "v"}, directory)
    with open(spilled.path, "ab") as f:
        f.write(b"junk")
    with pytest.raises(SpillError, match="trailing bytes"):
        read_spill(spilled.path, unlink=False)
    with open(spilled.path, "r+b") as f:
        f.truncate(spilled.size)
        f.seek(64)  # the pickle stream starts at the first multiple of 64 after the header
        f.write(b"\xff\xff\xff")
    with pytest.raises(SpillError, match="corrupt: cannot unpickle") as caught:
        read_spill(spilled.path)
    assert spilled.path in str(caught.value)
    assert entries(directory) == []


def test_read_spill_refuses_a_fifo_without_blocking(directory: str) -> None:
    path = os.path.join(directory, "result-fifo.spill")
    os.mkfifo(path, 0o600)
    with pytest.raises(SpillError, match="not a regular file"):
        read_spill(path)
    assert os.path.exists(path)  # not ours to remove


def test_read_spill_of_a_missing_file(directory: str) -> None:
    path = os.path.join(directory, "result-gone.spill")
    with pytest.raises(SpillError, match="does not exist") as caught:
        read_spill(path)
    assert path in str(caught.value)


@pytest.mark.skipif(not IS_ROOT, reason="needs root to create a file owned by another uid")
def test_read_spill_refuses_a_file_owned_by_another_uid(directory: str) -> None:
    spilled = write_spill("x", directory)
    os.chown(spilled.path, OTHER_UID, OTHER_UID)
    with pytest.raises(SpillError, match=f"owned by uid {OTHER_UID}, not you"):
        read_spill(spilled.path)
    assert os.path.exists(spilled.path)  # not ours to remove


# --- spill_dir ---------------------------------------------------------------------------------


def test_spill_dir_creates_a_private_directory(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "new")
    assert spill_dir(path) == path
    st = os.lstat(path)
    assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
    assert st.st_uid == os.geteuid()
    assert spill_dir(path, create=False) == path  # verified again, accepted


def test_spill_dir_is_0700_even_under_a_restrictive_umask(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "umask")
    old = os.umask(0o277)
    try:
        spill_dir(path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700


def test_spill_dir_default_is_per_user_under_the_temp_dir(tmp_path: pathlib.Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # tempfile's documented setting
    path = spill_dir()
    assert path == os.path.join(str(tmp_path), f"hotstart-{os.geteuid()}")
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o700


def test_spill_dir_accepts_a_correct_existing_directory(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "existing"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    (path / "kept").write_text("x")
    assert spill_dir(str(path)) == str(path)
    assert (path / "kept").exists()


def test_spill_dir_refuses_a_directory_open_to_others(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "open"
    path.mkdir()
    os.chmod(path, 0o777)
    with pytest.raises(SpillError) as caught:
        spill_dir(str(path))
    message = str(caught.value)
    assert message.startswith(f"spill directory {path} has mode 0o777, open to group or others")
    assert "spill_dir=" in message and "\n" not in message
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o777  # refused, not "fixed"
    os.chmod(path, 0o750)
    with pytest.raises(SpillError, match="mode 0o750"):
        spill_dir(str(path))


def test_spill_dir_refuses_a_symlink_to_a_directory(tmp_path: pathlib.Path) -> None:
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    os.chmod(real, 0o700)
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with pytest.raises(SpillError, match="is a symbolic link") as caught:
        spill_dir(str(link))
    assert str(link) in str(caught.value)


def test_spill_dir_refuses_a_file(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "file"
    path.write_text("")
    with pytest.raises(SpillError, match="not a directory"):
        spill_dir(str(path))


@pytest.mark.skipif(not IS_ROOT, reason="needs root to create a directory owned by another uid")
def test_spill_dir_refuses_a_directory_owned_by_another_uid(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "theirs"
    path.mkdir(mode=0o700)
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(SpillError) as caught:
        spill_dir(str(path))
    assert str(caught.value) == (
        f"spill directory {path} is owned by uid {OTHER_UID}, not you (uid {os.geteuid()}): "
        f"remove it or pass spill_dir=")
    st = os.lstat(path)
    assert st.st_uid == OTHER_UID and stat.S_IMODE(st.st_mode) == 0o700  # untouched


def test_spill_dir_missing_without_create_and_missing_parent(tmp_path: pathlib.Path) -> None:
    with pytest.raises(SpillError, match="does not exist"):
        spill_dir(str(tmp_path / "absent"), create=False)
    assert not (tmp_path / "absent").exists()
    with pytest.raises(SpillError, match="cannot create spill directory"):
        spill_dir(str(tmp_path / "no" / "parent"))


def test_spill_dir_created_concurrently(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "raced")
    start = threading.Barrier(8)
    results: list[object] = []

    def create() -> None:
        start.wait()
        try:
            results.append(spill_dir(path))
        except (SpillError, OSError) as exc:  # collected; anything else leaves a gap
            results.append(exc)

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [path] * 8


def test_spill_error_is_a_hotstart_error() -> None:
    assert issubclass(SpillError, HotstartError)


# --- sweep -------------------------------------------------------------------------------------


def test_sweep_removes_old_spill_files_only(directory: str) -> None:
    old = write_spill("old", directory)
    new = write_spill("new", directory)
    old_other_prefix = write_spill("other", directory, prefix="task-")
    old_not_spill = os.path.join(directory, "result-notes.txt")
    pathlib.Path(old_not_spill).write_text("x")
    old_link = os.path.join(directory, "result-link.spill")
    os.symlink(old.path, old_link)
    two_hours_ago = time.time() - 7200
    for path in (old.path, old_other_prefix.path, old_not_spill):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(old_link, (two_hours_ago, two_hours_ago), follow_symlinks=False)

    assert sweep(directory) == 1
    assert not os.path.exists(old.path)
    assert sorted(entries(directory)) == sorted(os.path.basename(p) for p in (
        new.path, old_other_prefix.path, old_not_spill, old_link))
    assert sweep(directory, prefix="task-") == 1
    assert sweep(directory, older_than=7200 * 2) == 0
    assert sweep(os.path.join(directory, "absent")) == 0
