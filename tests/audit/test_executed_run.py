"""The audit's extra run (which project functions an entry calls) runs under the profiler's
supervisor: a daemon the entry starts does not outlive the audit."""

from __future__ import annotations

import sys

from helpers import DAEMONIZE, wait_gone

from hotstart.audit._executed import executed_functions

# the entry double-forks a daemon that records its pid, then calls a project function
ENTRY = "import app\n" + DAEMONIZE + "app.work()\n"


def test_daemon_of_the_entry_does_not_survive(tmp_path):
    (tmp_path / "app.py").write_text("def work():\n    return 1\n")
    (tmp_path / "entry.py").write_text(ENTRY)
    pids = tmp_path / "pids"
    pids.write_text("")
    ran = executed_functions("script", str(tmp_path / "entry.py"), (str(pids),),
                             [str(tmp_path)], {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin"},
                             python=sys.executable, timeout=60, cwd=str(tmp_path))
    assert ran is not None and (str((tmp_path / "app.py").resolve()), "work") in ran
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 1
    assert wait_gone(started) == []
