"""What `WarmPool()` settles before its manager thread runs, and stopping a template early.

- `resolve_preload`: the preload list, from ``preload=`` and the job specs' ``@type`` names;
- `spill_dirs` (with `is_tmpfs`): where results spill, a RAM-backed tmpfs first;
- `cpu_count`: the default number of workers (the CPUs this process may use);
- `start_template`: start the template process (``python -c`` with its control socket, never
  a fork of the parent) and send it its ``boot`` message;
- `read_preload`: wait for the template's preload report (until `start_timeout` from the
  start, then the template is killed at once) and apply ``on_preload_error``; a template
  that dies importing a module (a segfault) is reported with that module's name;
- `stop_template`: stop a template the constructor gives up on (the manager stops it
  otherwise); `hang_up`: end a socket's connection even if a child holds a copy of it.

Standard library only at import time (``subprocess`` and the registry load on use).
"""

from __future__ import annotations

import os
import socket
import sys

from . import _protocol, spill
from .errors import PoolError, PreloadError
from .records import PreloadReport

TYPE_CHECKING = False
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable, Mapping
    from typing import IO, Any

# How long `WarmPool()` waits for the template to import its preload list by default: long
# enough for a cold import of the heaviest libraries on a slow disk, short enough that a
# preload that hangs is reported in a minute rather than left waiting.
DEFAULT_START_TIMEOUT = 60.0
_LOG_NOTE_LINES = 40  # of the template's log, in a note of the error when it died starting


def start_template(modules: list[str], env: Mapping[str, str] | None, python: str,
                   start_timeout: float, spill_dirs: list[str], spill_threshold: int,
                   token: str) -> tuple[socket.socket, subprocess.Popen, IO[bytes]]:
    """Start the template and send it its boot message: (its control socket, the process,
    its log file). The socket's timeout is `start_timeout`: `read_preload` waits that long
    in all for the preload report."""
    import subprocess
    import tempfile

    from . import env as envmod

    environment = envmod.scrubbed() if env is None else dict(env)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    boot = (f"import sys; sys.path.insert(0, {root!r}); "
            f"from hotstart.pool._template import main; main()")
    # Not a `with` block: the log outlives this function (the manager closes it at the end).
    log = tempfile.TemporaryFile(dir=spill_dirs[-1], prefix="template-")  # noqa: SIM115
    try:
        process = subprocess.Popen(
            [python, "-c", boot, str(theirs.fileno()), str(os.getpid())],
            pass_fds=[theirs.fileno()],
            env=environment, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True)  # a Ctrl-C in the terminal is the parent's to handle
    except OSError as exc:
        ours.close()
        log.close()
        raise PoolError(f"cannot start the template process with {python}: "
                        f"{exc.strerror or exc}: pass python= an interpreter "
                        f"path") from None
    finally:
        theirs.close()
    try:
        _protocol.send(ours, ("boot", {
            "sys_path": list(sys.path), "cwd": os.getcwd(), "preload": modules,
            "parent_pid": os.getpid(), "spill_dirs": spill_dirs,
            "spill_threshold": spill_threshold,
            "spill_prefix": f"result-{token}-"}))
        ours.settimeout(start_timeout)
    except OSError:
        pass
    return ours, process, log


def read_preload(control: socket.socket, process: subprocess.Popen, log: IO[bytes],
                 modules: list[str], policy: str) -> PreloadReport:
    """The template's preload report; raises `PoolError` (template dead, or not done within
    the start timeout: then it is killed at once, with what it started), or, with
    ``policy="fail"``, `PreloadError` for a module that failed (template stopped).
    Warns (RuntimeWarning, at the constructor's caller) for a failure with ``"warn"`` and
    for a template that has threads after its preload."""
    import time

    timeout = control.gettimeout()
    deadline = None if timeout is None else time.monotonic() + timeout
    importing = None  # the module the template announced last
    while True:
        try:
            message, _fds = _protocol.recv(control)
            if message[0] == "preloaded":
                break
            importing = message[1]
            if deadline is not None:
                control.settimeout(max(deadline - time.monotonic(), 0.001))
        except (_protocol.Closed, OSError) as exc:
            timed_out = isinstance(exc, TimeoutError)
            if timed_out:
                _kill_template(process)
            stop_template(control, process)
            lines = _log_lines(log)
            tail = lines[-1].strip() if lines else ""
            log.close()
            if timed_out:
                where = f" (still importing {importing!r})" if importing else ""
                raise PoolError(f"the template process did not finish importing the preload "
                                f"list {modules} within start_timeout={timeout:g} s{where} "
                                f"and was killed: raise start_timeout="
                                f"{' or fix that module' if importing else ''}") from None
            if importing is not None:
                error = PoolError(f"the template process {_ended(process.returncode)} while "
                                  f"importing preload module {importing!r}: remove it from "
                                  f"the preload list or fix it")
            else:
                error = PoolError(f"the template process exited (status "
                                  f"{process.returncode}) before reporting its preload"
                                  f"{': ' + tail if tail else ''}")
            if lines:  # a crash: the template's faulthandler traceback ends the log
                error.add_note("the template's log ends with:\n"
                               + "\n".join(lines[-_LOG_NOTE_LINES:]))
            raise error from None
    control.settimeout(None)
    report = PreloadReport.from_message(message[1])
    failed = report.failed
    if failed and policy != "ignore":
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        text = (f"preload module {first.module!r} failed to import in the template: "
                f"{first.error}{more}")
        if policy == "fail":
            stop_template(control, process)
            log.close()
            error = PreloadError(f"{text}; fix it, remove it from the preload list, or "
                                 f"pass on_preload_error='warn'", report)
            error.add_note(first.traceback or "")
            raise error
        import warnings

        warnings.warn(f"{text}; the pool starts without it\n{first.traceback}",
                      RuntimeWarning, stacklevel=3)
    if report.threads > 1:
        import warnings

        warnings.warn(f"the template has {report.threads} threads after importing its "
                      f"preload list: a preload module started Python threads, and a lock "
                      f"one of them holds at fork time stays locked in every worker", RuntimeWarning,
                      stacklevel=3)
    return report


def stop_template(control: socket.socket, process: subprocess.Popen) -> None:
    """Hang up on the template and wait for it (5 s), SIGKILL it if it does not leave."""
    hang_up(control)
    try:
        process.wait(timeout=5)
    except Exception:  # noqa: BLE001 - subprocess.TimeoutExpired
        _kill_template(process)
    process.wait()


def _kill_template(process: subprocess.Popen) -> None:
    """SIGKILL a template that is still starting, with every process in its session's group
    (a preload module's children; it has no workers yet)."""
    import signal

    try:
        os.killpg(process.pid, signal.SIGKILL)  # started with start_new_session: pgid == pid
    except OSError:
        process.kill()


def _ended(returncode: int) -> str:
    """'was killed by signal 11 (SIGSEGV)' or 'exited with status 3'."""
    if returncode >= 0:
        return f"exited with status {returncode}"
    import signal

    try:
        name = f" ({signal.Signals(-returncode).name})"
    except ValueError:
        name = ""
    return f"was killed by signal {-returncode}{name}"


def _log_lines(log: IO[bytes]) -> list[str]:
    """The lines the template wrote to its log (its error when it died starting)."""
    try:
        log.seek(0)
        return log.read().decode("utf-8", "replace").strip().splitlines()
    except (OSError, ValueError):
        return []


def spill_dirs(explicit: str | None) -> list[str]:
    """The verified spill directories, in order of preference: `explicit` alone, else the
    per-user directory on /dev/shm when it is a tmpfs, then the one in the temp directory.
    A /dev/shm directory planted by someone else is never used (a RuntimeWarning says so)."""
    if explicit is not None:
        return [spill.spill_dir(explicit)]
    directories = [spill.spill_dir()]
    if is_tmpfs("/dev/shm"):
        try:
            directories.insert(0, spill.spill_dir(f"/dev/shm/hotstart-{os.geteuid()}"))
        except spill.SpillError as exc:  # planted by someone else: never used, said once
            import warnings

            warnings.warn(f"{exc}; spilling to {directories[0]} instead", RuntimeWarning,
                          stacklevel=4)
    return directories


def is_tmpfs(path: str) -> bool:
    """Whether `path` is the mount point of a tmpfs (per /proc/self/mounts)."""
    try:
        with open("/proc/self/mounts") as mounts:
            return any(fields[1] == path and fields[2] == "tmpfs"
                       for fields in (line.split() for line in mounts) if len(fields) > 2)
    except OSError:
        return False


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def resolve_preload(preload: Iterable[str] | None, spec: Any,
                    package: str | list[str] | None, *, environment: bool = False) -> list[str]:
    """The modules the template imports: `preload`, then the modules the spec(s)' ``@type``
    names map to through `package`'s registry index; with `environment` (the remote
    backends), ``HOTSTART_PRELOAD`` when neither is given. Raises `TypeError`/`ValueError`
    for a malformed argument and `PreloadError` for an unreadable spec or an unregistered
    type."""
    if environment and preload is None and spec is None:
        from hotstart.registry.spec import decode_preload

        return decode_preload()
    if isinstance(preload, str):
        raise TypeError(f"preload={preload!r}: expected a list of module names, not a string")
    modules = list(preload or [])
    if spec is not None:
        from hotstart.registry.index import Index
        from hotstart.registry.spec import SpecError, compute_preload, load_spec

        if package is None:
            raise ValueError("spec= needs package=: the package (or source path) whose "
                             "@register sites name the spec's types")
        index = Index.build(package)
        for one in spec if isinstance(spec, (list, tuple)) else [spec]:
            is_path = isinstance(one, (str, os.PathLike))
            where = os.fspath(one) if is_path else "the spec"
            try:
                loaded = load_spec(one) if is_path else one
            except (SpecError, ValueError) as exc:
                raise PreloadError(f"cannot read the job spec: {exc}") from None
            result = compute_preload(loaded, index)
            if result.unknown:
                first = result.unknown[0]
                raise PreloadError(f"{where}: type {first.name!r} at {first.path} is not "
                                   f"registered in {package}{result.hint(first.name)}")
            modules += [m for m in result.modules if m not in modules]
    for name in modules:
        if not isinstance(name, str) or not all(part.isidentifier()
                                                for part in name.split(".")):
            raise ValueError(f"preload module {name!r} is not a module name")
    return modules


def hang_up(sock: socket.socket) -> None:
    """Close our end so that the peer sees EOF now, even if a child this process forked
    holds a copy of the descriptor (``shutdown`` acts on the connection, ``close`` only on
    the descriptor)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
