"""Atomic writes never replace what is not a regular file: a device, a FIFO, a socket, or a
system path such as /dev/stdout (a link into /proc that replacing would break)."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys

import pytest

from hotstart._files import check_writable, write_atomic
from hotstart.errors import BadInput


def test_a_fifo_is_refused_and_left_as_it_was(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for write in (check_writable, lambda path: write_atomic(path, "{}")):
        with pytest.raises(BadInput, match="not a regular file"):
            write(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]  # no temporary file left


def test_a_socket_and_a_link_to_one_are_refused(tmp_path):
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        link = tmp_path / "link"
        link.symlink_to(path)
        for target in (path, link):
            with pytest.raises(BadInput, match="not a regular file"):
                write_atomic(target, "x")
        assert link.is_symlink() and stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


@pytest.mark.parametrize("target", ["/dev/stdout", "/dev/null", "/proc/self/fd/1"])
def test_system_paths_are_refused(target):
    with pytest.raises(BadInput, match="system path"):
        check_writable(target)
    with pytest.raises(BadInput, match="system path"):
        write_atomic(target, "x")


def test_a_link_to_a_regular_file_is_replaced_not_written_through(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "out.json"
    link.symlink_to(real)
    write_atomic(link, "new")
    assert not link.is_symlink() and link.read_text() == "new" and real.read_text() == "old"


def test_the_cli_refuses_a_device_in_one_line(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = subprocess.run([sys.executable, "-m", "hotstart", "worker", "--preload", "json",
                           "-q", "--report", str(fifo)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"hotstart worker: error: cannot write {str(fifo)!r}: it is not a regular file (a "
        f"device, a pipe or a socket); give the path of a file"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_a_file_name_of_250_bytes_is_written(tmp_path):
    """The temporary file beside it is named after it, cut to fit: with mkstemp's random part
    and the suffix, a name of 235 bytes or more failed with 'File name too long'."""
    from hotstart._files import write_atomic

    target = tmp_path / ("r" * 246 + ".txt")
    write_atomic(target, "text")
    assert target.read_text() == "text"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
