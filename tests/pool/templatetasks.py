"""Task functions for tests/pool/test_spill_template.py: tasks that start processes meant to
outlive them (importable by name in the template and its workers)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import time


def start_sleepers(directory, then="return"):
    """Start three ``sleep`` processes that would outlive the task, write their pids to
    ``directory/pids`` as ``group session daemon``, then return (``then="return"``) or hang:

    - group: a plain child, in the worker's process group;
    - session: a child in a session of its own (``start_new_session``), still the worker's;
    - daemon: a double fork (the middle process calls setsid and exits), orphaned at once.
    """
    group = subprocess.Popen(["sleep", "1000"])
    session = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    read, write = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                os.execvp("sleep", ["sleep", "1000"])
            os.write(write, str(daemon).encode())
        finally:
            os._exit(0)
    os.close(write)
    daemon = int(os.read(read, 64))
    os.close(read)
    os.waitpid(middle, 0)
    directory = pathlib.Path(directory)
    (directory / "pids.tmp").write_text(f"{group.pid} {session.pid} {daemon}")
    os.replace(directory / "pids.tmp", directory / "pids")
    if then == "hang":
        time.sleep(1000)
    return os.getpid()


def process_group():
    """(pid, process group, session) of the worker running this."""
    return os.getpid(), os.getpgid(0), os.getsid(0)
