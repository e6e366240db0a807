"""`audit` and `fix` on a hostile tree: dangling symlinks, symlink loops, symlinks out of the
project, a FIFO named `*.py`, unreadable files. Each is skipped or reported in one line; no
traceback, no hang (every run has a bounded timeout)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys

import pytest
from conftest import run_hotstart, write_tree

FILES = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import json\nimport os\n\n\ndef f():\n    return os.sep\n",
    # Imports of the skipped files: their source is looked up, never opened.
    "pkg/b.py": "import pkg.fifo\nimport pkg.dangling\nimport pkg.loop1\nimport fifomod\n",
}


def hostile_project(base):
    proj = write_tree(base / "proj", FILES)
    outside = write_tree(base / "outside", {"secret.py": "import json\n"})
    pkg = proj / "pkg"
    os.symlink("nowhere.py", pkg / "dangling.py")
    os.symlink("loop2.py", pkg / "loop1.py")
    os.symlink("loop1.py", pkg / "loop2.py")
    os.symlink(outside / "secret.py", pkg / "escape.py")
    os.symlink("..", pkg / "again")            # a directory loop
    os.symlink(outside, pkg / "elsewhere")     # a directory out of the project
    os.mkfifo(pkg / "fifo.py")
    os.mkfifo(proj / "fifomod.py")             # looked up as a library by pkg/b.py
    os.symlink("a.py", pkg / "alias.py")       # inside the project: read once, as a.py
    os.symlink(pkg / "a.py", proj / "top.py")  # to a file inside the project, read once
    return proj


@pytest.mark.parametrize("command", ["audit", "fix"])
def test_hostile_files_are_skipped_in_one_line(tmp_path, command):
    proj = hostile_project(tmp_path)
    done = run_hotstart(command, str(proj), "-q", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # `audit` shows it in its report, `fix` (which prints no report) as one warning line
    out = done.stdout if command == "audit" else done.stderr
    if command == "fix":
        [line] = out.strip().splitlines()
        assert line.startswith("hotstart: warning: skipped 8 file(s)")
    text = " ".join(out.split())  # the renderer wraps long lines
    assert "skipped 8 file(s) that are not regular files" in text
    for shown in ("alias.py (symlink to", "top.py (symlink to", "fifomod.py (a FIFO)", "dangling.py (dangling symlink)", "fifo.py (a FIFO)",
                  "loop1.py (symlink loop)", "loop2.py (symlink loop)",
                  "escape.py (symlink out of the project)"):
        assert shown in text, shown
    assert "secret" not in text and "elsewhere" not in text and "again" not in text
    if command == "audit":
        assert "pkg/a.py" in text


def test_fifo_as_target_or_entry_is_an_error_not_a_hang(tmp_path):
    proj = write_tree(tmp_path / "proj", FILES)
    os.mkfifo(proj / "run.py")
    done = run_hotstart("audit", str(proj / "run.py"), timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"hotstart: error: {proj / 'run.py'}: not a regular file or a directory"]
    done = run_hotstart("audit", str(proj / "pkg"), "--entry", "run.py", "-q", timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("hotstart: error: --entry 'run.py': cannot read ")
    assert "not a regular file" in line


def _without_read_override() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so that root
    cannot read a mode-000 file in the process it executes (as any other user cannot)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_file_is_reported_in_one_line(tmp_path):
    proj = write_tree(tmp_path / "proj", {**FILES, "pkg/locked.py": "import json\n"})
    (proj / "pkg" / "locked.py").chmod(0)
    done = subprocess.run(
        [sys.executable, "-m", "hotstart", "audit", str(proj), "-q"], text=True,
        capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
        preexec_fn=_without_read_override if os.geteuid() == 0 else None, check=False)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    text = " ".join(done.stdout.split())
    assert f"{proj / 'pkg' / 'locked.py'}: cannot read (Permission denied)" in text
    assert "pkg/a.py" in text  # the rest is audited
