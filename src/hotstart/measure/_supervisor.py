"""Run one target process: time it to its exit, then end everything it left behind.

Started by `runner._spawn` as ``python -I -S _supervisor.py [--stdout FILE] ARGV...`` (a
file, not an import: it needs nothing but the standard library and must start fast). It

1. makes itself a child subreaper (Linux), so every process the target orphans, a daemon
   that double-forked and called setsid included, becomes its child instead of init's;
2. spawns ARGV in a session of its own (stdin /dev/null, stdout /dev/null or, with
   ``--stdout FILE``, that file, created or truncated; stderr inherited) and
   blocks in ``wait4`` until it exits, reading the monotonic clock just before the spawn and
   just after the wait returns: no polling, so the wall time is exact to the syscall;
3. kills the target's process group and, as subreaper, every descendant still alive, and
   reaps them all;
4. writes its report to stdout, one line each: ``pid N`` once the target runs, then
   ``usage MAXRSS_KB USER_NS SYSTEM_NS`` (the target's own resource use, from ``wait4``), then
   ``exit CODE WALL_NS LEFT`` (CODE as `Popen.returncode`: negative for a signal; LEFT the
   processes it had to kill after the target exited), or ``error ERRNO MESSAGE``.

SIGTERM from the runner (timeout, Ctrl-C) kills the target's group; the rest follows as
above. Without PR_SET_CHILD_SUBREAPER (not Linux), only the target's process group is
killed: a daemon that left it survives.
"""

import os
import signal
import sys
import time

_PR_SET_CHILD_SUBREAPER = 36
_SWEEP_SECONDS = 10.0  # at most this long ending leftovers (a process we cannot kill)
# Back to their defaults in the target, as `subprocess` does (Python ignores SIGPIPE and
# SIGXFSZ; we ignore SIGINT and catch SIGTERM).
_DEFAULT_SIGNALS = tuple(getattr(signal, name) for name in ("SIGPIPE", "SIGXFSZ", "SIGINT",
                                                              "SIGTERM") if hasattr(signal, name))


def _become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children() -> list[int]:
    """Our living children (zombies are only reaped, not counted)."""
    me = os.getpid()
    found = []
    try:
        with open(f"/proc/{me}/task/{me}/children") as listing:
            pids = [int(pid) for pid in listing.read().split()]
    except OSError:
        pids = [int(name) for name in os.listdir("/proc") if name.isdigit()]
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == me and fields[0] != "Z":
            found.append(pid)
    return found


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass


def _end_leftovers(pgid: int, subreaper: bool) -> int:
    """Kill and reap whatever the target left running; how many were still alive."""
    _kill_group(pgid)
    if not subreaper:
        return 0
    killed: set[int] = set()
    deadline = time.monotonic() + _SWEEP_SECONDS
    while time.monotonic() < deadline:
        for pid in _children():
            killed.add(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:  # not ours to kill (setuid): give up on it at the deadline
                pass
        try:
            # one at a time: a killed parent's children come to us next
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.005)
        except ChildProcessError:
            break
    return len(killed)


def main(argv: list[str]) -> int:
    report = sys.stdout.fileno()
    state = {"target": 0, "stop": False}

    def stop(signum, frame):
        state["stop"] = True
        if state["target"]:
            _kill_group(state["target"])

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides, through SIGTERM
    subreaper = _become_subreaper()
    stdout = (os.devnull, os.O_WRONLY, 0)
    if argv[:1] == ["--stdout"]:  # a target's argv[0] is a path or a command name, never this
        stdout = (argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        argv = argv[2:]
    quiet = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
             (os.POSIX_SPAWN_OPEN, 1, *stdout)]
    started = time.perf_counter_ns()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=quiet, setsid=True,
                              setsigdef=_DEFAULT_SIGNALS)
    except OSError as exc:
        os.write(report, f"error {exc.errno or 0} {exc.strerror or exc}\n".encode())
        return 0
    state["target"] = pid
    os.write(report, f"pid {pid}\n".encode())
    if state["stop"]:  # SIGTERM came while spawning
        _kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    wall_ns = time.perf_counter_ns() - started
    state["target"] = 0
    left = _end_leftovers(pid, subreaper)
    os.write(report, f"usage {usage.ru_maxrss} {int(usage.ru_utime * 1e9)} "
                     f"{int(usage.ru_stime * 1e9)}\n".encode())
    os.write(report, f"exit {os.waitstatus_to_exitcode(status)} {wall_ns} {left}\n".encode())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
