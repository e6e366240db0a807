"""`hotstart exec`: the command replaces hotstart (same pid, its own exit status and signals),
in the snapshot's environment over the caller's; and it imports next to nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from envhelpers import (
    GDAL,
    HOTSTART,
    LIBS,
    TIMEOUT,
    caller_env,
    comparable,
    hotstart,
    make_conda,
    snapshot,
    via_exec,
)


@pytest.fixture(scope="module")
def conda(tmp_path_factory):
    base = tmp_path_factory.mktemp("exec")
    prefix = make_conda(base / "p", scripts={"gdal.sh": GDAL, "libs.sh": LIBS},
                        env_vars={"SETTING": "state"})
    return prefix, snapshot(prefix, base / "snap.json")


PID = "import os; print(os.getpid(), os.getppid())"


def test_the_command_is_this_process(conda):
    _, snap = conda
    child = subprocess.Popen([*HOTSTART, "exec", str(snap), "--", "python", "-c", PID],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, _ = child.communicate(timeout=TIMEOUT)
    pid, parent = map(int, out.split())
    assert child.returncode == 0
    assert pid == child.pid                              # no child process: execve
    assert parent == os.getpid()                         # nothing in between


def test_python_is_the_environments(conda):
    prefix, snap = conda
    result = hotstart("exec", str(snap), "--", "python", "-c",
                      "import os, sys; print(sys.prefix); print(os.environ['GDAL_DATA'])")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split("\n")[:2] == [str(prefix), f"{prefix}/share/gdal"]


@pytest.mark.parametrize("code, status", [
    ("import sys; sys.exit(7)", 7),
    ("import os, signal; os.kill(os.getpid(), signal.SIGTERM)", -signal.SIGTERM),
    ("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", -signal.SIGKILL),
])
def test_exit_status_and_death_by_signal_are_the_commands(conda, code, status):
    _, snap = conda
    direct = subprocess.run([sys.executable, "-c", code], timeout=TIMEOUT)
    through = hotstart("exec", str(snap), "--", "python", "-c", code)
    assert direct.returncode == through.returncode == status


def test_a_signal_sent_to_the_job_reaches_the_command(conda):
    _, snap = conda
    child = subprocess.Popen([*HOTSTART, "exec", str(snap), "--", "sleep", "30"],
                             stdin=subprocess.DEVNULL)
    try:
        deadline, execed = time.monotonic() + 20, False
        while not execed and time.monotonic() < deadline:  # until that pid runs sleep
            with open(f"/proc/{child.pid}/cmdline", "rb") as handle:
                execed = handle.read().startswith(b"sleep\0")
            time.sleep(0.01)
        assert execed                                    # the same pid became the command
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=TIMEOUT) == -signal.SIGTERM  # not 143 from a wrapper
    finally:
        child.kill()
        child.wait(timeout=TIMEOUT)


def test_signal_dispositions_are_a_shells(conda):
    """Python ignores SIGPIPE and SIGXFSZ; the command must not inherit that (`cmd | head`
    must end it), and must inherit every other disposition as it is. The reference: the same
    interpreter, started the same way, exec'ing the probe itself (a parent may leave other
    signals ignored: Python 3.13's subprocess does, for 32 and 33 on some paths)."""
    _, snap = conda
    probe = ["/bin/grep", "^SigIgn", "/proc/self/status"]
    plain = subprocess.run([sys.executable, "-c", f"import os; os.execv('/bin/grep', {probe})"],
                           capture_output=True, timeout=TIMEOUT).stdout
    through = hotstart("exec", str(snap), "--", *probe).stdout
    python_own = (1 << (signal.SIGPIPE - 1)) | (1 << (signal.SIGXFSZ - 1))
    plain_mask, mask = int(plain.split()[1], 16), int(through.split()[1], 16)
    assert plain_mask & python_own == python_own         # the probe sees Python's ignores
    assert mask == plain_mask & ~python_own              # hotstart undoes exactly those


def test_streams_and_arguments_pass_untouched(conda):
    _, snap = conda
    result = subprocess.run([*HOTSTART, "exec", str(snap), "--", "sh", "-c",
                             'cat; printf "[%s]" "$@"', "sh", "a b", "", "--", "-x"],
                            input=b"stdin \xff bytes\n", capture_output=True, timeout=TIMEOUT)
    assert result.stdout == b"stdin \xff bytes\n[a b][][--][-x]"


def test_caller_variables_pass_and_keep_wins(conda):
    prefix, snap = conda
    caller = caller_env(JOB_ID="42", GDAL_DATA="/mine", LD_LIBRARY_PATH="/opt/cuda/lib")
    got = via_exec(str(snap), caller)
    assert got[b"JOB_ID"] == b"42" and got[b"GDAL_DATA"] == f"{prefix}/share/gdal".encode()
    assert got[b"LD_LIBRARY_PATH"] == f"{prefix}/lib:/opt/cuda/lib".encode()
    assert got[b"PATH"].endswith(b":/usr/local/bin:/usr/bin:/bin:" + f"{prefix}/fallback/bin"
                                 .encode())
    kept = via_exec(str(snap), caller, "--keep", "GDAL_DATA")
    assert kept[b"GDAL_DATA"] == b"/mine" and kept[b"SETTING"] == b"state"


def test_a_prefix_is_activated_in_memory(conda):
    prefix, snap = conda
    caller = caller_env(LD_LIBRARY_PATH="/x")
    assert comparable(via_exec(str(prefix), caller)) == comparable(via_exec(str(snap), caller))


@pytest.mark.parametrize("args, status, words", [
    (["--", "no-such-command-xyz"], 127, "no-such-command-xyz: command not found in the "
                                         "environment's PATH"),
    (["--", "/nonexistent/tool"], 127, "/nonexistent/tool: command not found"),
    (["--", "{noexec}"], 126, "Permission denied"),
    ([], 2, "no command given"),
    (["--"], 2, "no command given"),
])
def test_commands_that_cannot_run(conda, tmp_path, args, status, words):
    _, snap = conda
    noexec = tmp_path / "tool"
    noexec.write_text("#!/bin/sh\n")
    args = [arg.format(noexec=noexec) for arg in args]
    result = hotstart("exec", str(snap), *args)
    message = result.stderr.decode()
    assert result.returncode == status and words in message and message.count("\n") == 1


@pytest.mark.parametrize("args, words", [
    ([], "no SNAPSHOT or PREFIX given"),
    (["--bogus", "x"], "unknown option '--bogus'"),
    (["--keep"], "--keep needs a value"),
    (["--keep", "PATH", "{snap}", "true"], "--keep 'PATH'"),
    (["--timeout", "-1", "{snap}", "true"], "--timeout -1"),
    (["--", "{snap}", "true"], "give SNAPSHOT or PREFIX before '--'"),
])
def test_bad_arguments_are_one_line(conda, args, words):
    _, snap = conda
    result = hotstart("exec", *(arg.format(snap=snap) for arg in args))
    message = result.stderr.decode()
    assert result.returncode == 2 and words in message and message.count("\n") == 1, message


def test_help():
    result = hotstart("exec", "--help")
    assert result.returncode == 0 and b"usage: hotstart exec" in result.stdout


HEAVY = {"json", "json.decoder", "re", "subprocess", "argparse", "typing", "dataclasses",
         "tempfile", "hashlib", "signal", "enum", "shutil", "textwrap", "collections",
         "hotstart.env.snapshot", "hotstart.env.shim", "hotstart.env.verify", "hotstart.pool",
         "hotstart.lazy", "hotstart.measure"}


def loaded_by(code: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_hotstart_env_loads_only_itself():
    code = ("import sys, json; before = set(sys.modules); import hotstart.env; "
            "print(json.dumps(sorted(set(sys.modules) - before)))")
    assert loaded_by(code) == ["hotstart", "hotstart.env"]


def test_hotstart_exec_loads_nothing_heavy(conda):
    """Everything `hotstart exec SNAPSHOT` imports before its execve, in a fresh interpreter
    (execve replaced by a report of sys.modules)."""
    _, snap = conda
    code = f"""
import sys, os
before = set(sys.modules)
def report(path, argv, env):
    sys.stdout.write(repr(sorted(set(sys.modules) - before)))
    sys.stdout.flush()
    os._exit(0)
os.execve = report
import hotstart.cli as cli
cli.main(["exec", {str(snap)!r}, "--", "true"])
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=TIMEOUT)
    loaded = set(eval(result.stdout))  # noqa: S307 - our own repr of a list of names
    assert not loaded & HEAVY, loaded & HEAVY
    assert {m for m in loaded if m.startswith("hotstart")} == {
        "hotstart", "hotstart.cli", "hotstart.cli.exec", "hotstart.errors", "hotstart.env",
        "hotstart.env.model", "hotstart.env.apply"}
