"""Start a target in fresh interpreters, several times, and build its `Profile`.

    hotstart process                                  target process(es)
    ----------------                                  ------------------
    write tracer.py as <tmp>/inject/sitecustomize.py
    untimed: profiling run (HOTSTART_TRACE=calls), memory run (=memory,sync)
    for each timed run:                PYTHONPATH=<tmp>/inject, HOTSTART_TRACE_DIR=<tmp>/run-N
      spawn `python -c pass` (floor)
      spawn the target  ─────────────────────────────▶ site imports sitecustomize: tracer on
                                                        every import -> <run-N>/<pid>-<t>.trace
      wait (timeout: kill the process group)            subprocess interpreters: same
    read every run's traces ─▶ merge (medians) ─▶ classify ─▶ Profile

Each spawn goes through `_supervisor.py`, which times the run from spawn to a blocking
`wait4` (exact, no polling) and, once the target exits, kills whatever it left running
(its process group and, on Linux as child subreaper, every orphaned descendant).

The untimed runs measure what would distort the timings: the profiling run records the call
profile (hot calls), allocated blocks and every import edge; the memory run reads RSS at
each import. Timed runs record clocks only. The floor runs interleave with the timed runs so
both see the same machine state.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Literal, Sequence

from ..errors import BadInput
from ._records import RawProcess, read_trace_dir
from .crosscheck import cross_check as compare_with_importtime
from .importtime import ImportTimeLog, parse as parse_importtime
from .merge import merge_importtime, merge_processes
from .model import Profile, Stat

__all__ = ["Target", "profile", "prepare_target", "failure_message", "ProgressCallback",
           "RunResult", "run_once", "interpreter_version"]

TargetKind = Literal["code", "module", "script", "command"]

#: Called as progress(what, done, total) before each step; done == total at the end.
ProgressCallback = Callable[[str, int, int], None]

_TRACER = Path(__file__).with_name("tracer.py")
_SUPERVISOR = Path(__file__).with_name("_supervisor.py")
_STOP_GRACE = 10.0  # seconds the supervisor gets to end a target after SIGTERM
# The untimed runs: (progress label, HOTSTART_TRACE features; see tracer.py).
_PROFILING_RUN = ("profiling run", "calls")
_MEMORY_RUN = ("memory run", "memory,sync")
_STDERR_KEEP = 4 << 20


@dataclass(frozen=True)
class Target:
    """What to profile: `-c CODE`, `-m MODULE`, a script, or any command that starts Python."""

    kind: TargetKind
    value: str
    args: tuple[str, ...] = ()

    def argv(self, python: str) -> list[str]:
        if self.kind == "code":
            return [python, "-c", self.value, *self.args]
        if self.kind == "module":
            return [python, "-m", self.value, *self.args]
        if self.kind == "script":
            return [python, self.value, *self.args]
        return [self.value, *self.args]

    def describe(self) -> list[str]:
        """The command line as the user would type it."""
        return self.argv("python")


@dataclass
class RunResult:
    """One run of a command under the supervisor: exact wall time and resource use."""

    exit_code: int | None
    wall_us: float
    timed_out: bool
    stderr: str
    processes: list[RawProcess] = field(default_factory=list)
    #: Processes the target left running after it exited, which the supervisor killed.
    left_running: int = 0
    #: The target process's peak RSS (KiB) and CPU time (us), from wait4; None if unknown.
    max_rss_kb: int | None = None
    cpu_us: float | None = None



def run_once(argv: Sequence[str], env: dict[str, str], cwd: str,
             timeout: float | None) -> RunResult:
    """Run `argv` once, timed from spawn to a blocking wait4 (no polling); whatever it
    leaves running is killed. `BadInput` when it cannot be started."""
    return _spawn(argv, env, cwd, timeout)


def profile(target: Target, *, runs: int = 5, warmup: int = 0, timeout: float | None = None,
            python: str | None = None, calls: bool = True,
            engine: Literal["tracer", "importtime"] = "tracer", cross_check: bool = False,
            cwd: str | None = None, env: dict[str, str] | None = None,
            progress: ProgressCallback | None = None) -> Profile:
    """Profile `target` over `runs` timed runs.

    Untimed runs come first: the profiling run (hot calls and import edges; skipped when
    `calls` is false), the memory run (RSS per import), then `warmup` more. Timed runs record
    clocks only, so that the tracer costs as little as it can.

    Never raises for a target that fails: the returned profile carries its exit status,
    stderr tail and whatever was measured (see `failure_message`). Raises `BadInput` when the
    target cannot be started at all.
    """
    if runs < 1:
        raise BadInput(f"--runs must be at least 1, got {runs}")
    if warmup < 0:
        raise BadInput(f"--warmup must be 0 or more, got {warmup}")
    argv, interpreter, base_env, cwd = prepare_target(target, python=python, cwd=cwd, env=env)
    # Untimed runs, as (label, tracer mode): what would slow the timed runs down.
    plan: list[tuple[str, str]] = []
    if engine == "tracer":
        plan += [_PROFILING_RUN] if calls else []
        plan += [_MEMORY_RUN]
    plan += [("warm-up run", "")] * warmup
    total = len(plan) + runs * (2 + (1 if cross_check else 0))
    step = 0

    def tick(what: str) -> None:
        nonlocal step
        if progress is not None:
            progress(what, step, total)
        step += 1

    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hotstart-") as work:
        inject = os.path.join(work, "inject")
        os.mkdir(inject)
        shutil.copyfile(_TRACER, os.path.join(inject, "sitecustomize.py"))
        runs_started = 0

        def run_traced(mode: str) -> RunResult:
            nonlocal runs_started
            trace_dir = os.path.join(work, f"run-{runs_started}")
            runs_started += 1
            os.mkdir(trace_dir)
            run_env = dict(base_env)
            run_env["PYTHONPATH"] = os.pathsep.join(
                p for p in (inject, base_env.get("PYTHONPATH")) if p)
            run_env["HOTSTART_TRACE_DIR"] = trace_dir
            run_env["HOTSTART_TRACE"] = mode
            run = _spawn(argv, run_env, cwd, timeout)
            run.processes = read_trace_dir(trace_dir)
            return run

        def run_importtime() -> RunResult:
            if target.kind == "command":
                return _spawn(argv, {**base_env, "PYTHONPROFILEIMPORTTIME": "1"}, cwd, timeout)
            return _spawn([argv[0], "-X", "importtime", *argv[1:]], base_env, cwd, timeout)

        untimed: dict[tuple[str, str], RunResult] = {}
        timed_mode = ""  # clocks only, buffered
        for n, (label, mode) in enumerate(plan):
            tick(label)
            if engine == "tracer":
                run = run_traced(mode)
                if n == 0 and not run.processes and not run.timed_out:
                    engine = "importtime"
                    notes += [f"{line[len('hotstart: '):]} (the tracer needs Python "
                              f"{'%d.%d' % MIN_TARGET_PYTHON}+)"
                              for line in run.stderr.splitlines()
                              if line.startswith("hotstart: tracer not installed")][:1]
                    notes.append(
                        "the tracer could not be injected (the interpreter ignores PYTHONPATH "
                        "or site: -I, -E or -S?, or it failed: see above); measured with "
                        "-X importtime instead, so there are no memory figures, import sites "
                        "or hot calls")
                untimed[label, mode] = run
                if any(not p.complete for p in run.processes):
                    # A process crashed or left through os._exit: keep every record on disk.
                    timed_mode = "sync"
            else:
                run = run_importtime()
            if run.timed_out:
                return _build(target, argv, interpreter, engine, [run], [], None, None, notes,
                              warmup=len(plan))

        calls_run = untimed.get(_PROFILING_RUN) if engine == "tracer" else None
        memory_run = untimed.get(_MEMORY_RUN) if engine == "tracer" else None
        floor_python = interpreter or _traced_python(calls_run or memory_run)
        measured: list[RunResult] = []
        floors: list[float] = []
        checks: list[RunResult] = []
        for n in range(runs):
            if floor_python:
                tick("interpreter floor")
                floors.append(_spawn([floor_python, "-c", "pass"], base_env, cwd, timeout).wall_us)
            else:
                tick("interpreter floor (no Python found)")
            tick(f"run {n + 1}/{runs}")
            run = run_traced(timed_mode) if engine == "tracer" else run_importtime()
            measured.append(run)
            if run.timed_out:
                break
            if cross_check:
                tick(f"-X importtime run {n + 1}/{runs}")
                checks.append(run_importtime())
        if progress is not None:
            progress("done", total, total)
        return _build(target, argv, interpreter, engine, measured, floors, calls_run,
                      memory_run, notes, warmup=len(plan), checks=checks)


def prepare_target(target: Target, *, python: str | None = None, cwd: str | None = None,
                   env: dict[str, str] | None = None
                   ) -> tuple[list[str], str | None, dict[str, str], str]:
    """What running `target` needs, checked before any run: ``(argv, interpreter, env,
    cwd)``. `interpreter` is None for a command; `env` is a copy without hotstart's own
    tracer variables. `BadInput` for a target or `python` that cannot be run."""
    base_env = dict(os.environ if env is None else env)
    for name in ("HOTSTART_TRACE_DIR", "HOTSTART_TRACE"):
        base_env.pop(name, None)
    cwd = os.fspath(cwd) if cwd is not None else os.getcwd()
    interpreter = _resolve_python(python, base_env) if target.kind != "command" else None
    if python is not None and interpreter is not None:
        _check_version(python, interpreter, base_env)
    return _target_argv(target, interpreter, base_env, cwd), interpreter, base_env, cwd


def failure_message(profile: Profile, timeout: float | None = None) -> str | None:
    """One line saying how the target failed, or None if it exited 0."""
    if profile.timed_out:
        where = ""
        if profile.processes:
            unfinished = [m.name for m in profile.main.modules if m.status == "unfinished"]
            if unfinished:
                where = f" while importing {unfinished[-1]}"
        limit = f" within {timeout:g} s" if timeout else ""
        return f"target did not finish{limit} and was killed{where}"
    code = profile.exit_code
    if code in (0, None):
        return None
    last = next((line.strip() for line in reversed(profile.stderr_tail) if line.strip()), "")
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        head = f"target was killed by {name}"
    else:
        head = f"target exited with status {code}"
    return f"{head}: {last}" if last else head


# -- helpers ---------------------------------------------------------------------------------

def _resolve_python(python: str | None, env: dict[str, str]) -> str:
    if python is None:
        return sys.executable
    found = shutil.which(python, path=env.get("PATH")) if os.sep not in python else python
    if not found or not os.access(found, os.X_OK) or os.path.isdir(found):
        raise BadInput(f"python interpreter {python!r} not found or not executable")
    return found


#: The oldest target the tracer runs on (it needs time.perf_counter_ns).
MIN_TARGET_PYTHON = (3, 7)
#: A bare `python -E -s -S -c` prints its version in milliseconds, even on a loaded machine.
_VERSION_TIMEOUT = 10
_VERSION_PROBE = "import sys; sys.stdout.write('%d.%d.%d' % tuple(sys.version_info[:3]))"


def interpreter_version(python: str | None, env: dict[str, str]) -> tuple[str, str]:
    """(path, "3.11.7") of `python` (None: the one running hotstart), read by one cheap
    run of it; `BadInput` for what is not Python or is too old for the tracer."""
    path = _resolve_python(python, env)
    return path, _check_version(python or path, path, env)


def _check_version(given: str, interpreter: str, env: dict[str, str]) -> str:
    """One cheap run of --python: refuse what is not Python, or too old for the tracer;
    the version it printed ("3.11.7")."""
    oldest = "%d.%d" % MIN_TARGET_PYTHON
    try:
        # Its own session: what a fake interpreter starts is killed with it, and cannot hold
        # the pipe open after it.
        probe = subprocess.Popen([interpreter, "-E", "-s", "-S", "-c", _VERSION_PROBE],
                                 env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as exc:
        raise BadInput(f"--python {given}: cannot start it: {exc.strerror or exc}") from None
    with probe:
        try:
            stdout, _ = probe.communicate(timeout=_VERSION_TIMEOUT)
        except BaseException as exc:
            try:
                os.killpg(probe.pid, signal.SIGKILL)
            except OSError:
                pass
            probe.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise BadInput(f"--python {given} did not print its version within "
                               f"{_VERSION_TIMEOUT} s; pass a Python {oldest}+ interpreter"
                               ) from None
            raise
    found = re.fullmatch(rb"(\d+)\.(\d+)\.\d+", stdout.strip())
    if probe.returncode != 0 or not found:
        raise BadInput(f"--python {given} is not a Python interpreter (`-c` did not print a "
                       f"version); pass a Python {oldest}+ interpreter")
    version = int(found[1]), int(found[2])
    if version < MIN_TARGET_PYTHON:
        raise BadInput(f"--python {given} is Python {version[0]}.{version[1]}; hotstart "
                       f"profiles Python {oldest}+ targets (its tracer needs "
                       f"time.perf_counter_ns); pass a newer interpreter")
    return stdout.strip().decode()


_MODULE_NAME = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def _target_argv(target: Target, python: str | None, env: dict[str, str], cwd: str) -> list[str]:
    if target.kind == "script":
        path = os.path.join(cwd, target.value)
        if not target.value:
            raise BadInput("the script name is empty; give SCRIPT, -c CODE, -m MODULE or "
                           "-- COMMAND")
        if not os.path.exists(path):
            raise BadInput(f"script {target.value!r} not found (looked in {cwd})")
        if os.path.isdir(path):
            if not os.path.isfile(os.path.join(path, "__main__.py")):
                raise BadInput(f"script {target.value!r} is a directory without a "
                               f"__main__.py; give a .py file, or -m MODULE")
        elif not os.path.isfile(path):  # a FIFO or a device: Python would wait on it
            raise BadInput(f"script {target.value!r} is not a regular file")
    elif target.kind == "module":
        if not _MODULE_NAME.match(target.value):
            raise BadInput(f"{target.value!r} is not a module name (expected e.g. pkg.mod)")
    elif target.kind == "command":
        if not target.value:
            raise BadInput("no command given after '--'")
        found = shutil.which(target.value, path=env.get("PATH"))
        if found is None and os.sep in target.value:  # a path: say what is wrong with it
            path = os.path.join(cwd, target.value)
            problem = ("not found" if not os.path.exists(path) else "is a directory"
                       if os.path.isdir(path) else "is not executable (chmod +x it, or give "
                       "its interpreter first)")
            raise BadInput(f"command {target.value!r} {problem}")
        if found is None:
            raise BadInput(f"command {target.value!r} not found on PATH")
        return [found, *target.args]
    assert python is not None
    return target.argv(python)


def _spawn(argv: Sequence[str], env: dict[str, str], cwd: str, timeout: float | None, *,
           stdout: str | None = None) -> RunResult:
    """Run `argv` once under the supervisor (see `_supervisor.py`): its exact wall time,
    exit status and stderr; the process group and every leftover descendant end with it.
    The target's stdout goes to /dev/null, or to the file `stdout` (created or truncated)."""
    with tempfile.TemporaryFile() as err:
        started = time.perf_counter_ns()
        try:
            supervisor = subprocess.Popen(
                [sys.executable, "-I", "-S", os.fspath(_SUPERVISOR),
                 *(("--stdout", stdout) if stdout is not None else ()), *argv],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env,
                cwd=cwd, start_new_session=True)
        except OSError as exc:
            raise BadInput(f"cannot start {argv[0]!r} in {cwd}: {exc.strerror or exc}") from None
        with supervisor:
            try:
                report, timed_out = _read_report(supervisor, timeout)
            except BaseException:  # Ctrl-C in hotstart: never leave the target running
                _stop(supervisor)
                raise
        if "error" in report:  # "ERRNO MESSAGE"
            raise BadInput(f"cannot start {argv[0]!r}: {report['error'].partition(' ')[2]}")
        if "exit" not in report:  # the supervisor itself failed; its stderr says why
            code, left = supervisor.returncode or 1, 0
            wall_us = (time.perf_counter_ns() - started) / 1e3
        else:
            code_text, wall_ns, left_text = report["exit"].split()[:3]
            code, wall_us, left = int(code_text), int(wall_ns) / 1e3, int(left_text)
        size = err.seek(0, os.SEEK_END)
        err.seek(max(0, size - _STDERR_KEEP))
        stderr = err.read().decode("utf-8", "replace")
    rss_kb = cpu_us = None
    usage = report.get("usage", "").split()
    if len(usage) == 3 and all(part.isdigit() for part in usage):
        rss_kb, cpu_us = int(usage[0]), (int(usage[1]) + int(usage[2])) / 1e3
    return RunResult(None if timed_out else code, wall_us, timed_out, stderr, left_running=left,
                max_rss_kb=rss_kb, cpu_us=cpu_us)


def _read_report(supervisor: subprocess.Popen, timeout: float | None
                 ) -> tuple[dict[str, str], bool]:
    """The supervisor's report lines by keyword, and whether the target ran past `timeout`.

    Blocks until the supervisor writes or exits: no polling. At the timeout, SIGTERM asks
    the supervisor to kill the target; if it has not finished `_STOP_GRACE` later, it is
    killed too."""
    import selectors

    assert supervisor.stdout is not None
    fd = supervisor.stdout.fileno()
    deadline = None if timeout is None else time.monotonic() + timeout
    data = b""
    timed_out = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            if selector.select(wait):
                chunk = os.read(fd, 4096)
                if not chunk:
                    break
                data += chunk
                continue
            if not timed_out and b"\nexit " not in b"\n" + data:
                timed_out = True
                _signal(supervisor, signal.SIGTERM)
                deadline = time.monotonic() + _STOP_GRACE
            else:
                _signal(supervisor, signal.SIGKILL)
                deadline = None
    supervisor.wait()
    report = {}
    for line in data.decode("utf-8", "replace").splitlines():
        keyword, _, rest = line.partition(" ")
        report[keyword] = rest
    return report, timed_out


def _stop(supervisor: subprocess.Popen) -> None:
    _signal(supervisor, signal.SIGTERM)
    try:
        supervisor.wait(_STOP_GRACE)
    except subprocess.TimeoutExpired:
        _signal(supervisor, signal.SIGKILL)
        supervisor.wait()


def _signal(supervisor: subprocess.Popen, signum: int) -> None:
    try:
        supervisor.send_signal(signum)
    except OSError:
        pass


def _traced_python(run: RunResult | None) -> str | None:
    if run is not None and run.processes:
        return str(run.processes[0].header.get("executable") or "") or None
    return None


def _build(target: Target, argv: list[str], python: str | None, engine: str,
           measured: list[RunResult], floors: list[float], calls_run: RunResult | None,
           memory_run: RunResult | None, notes: list[str], *, warmup: int,
           checks: Sequence[RunResult] = ()) -> Profile:
    walls = [run.wall_us for run in measured]
    if engine == "tracer":
        processes = merge_processes([run.processes for run in measured], walls,
                                    calls_run.processes if calls_run else None,
                                    memory_run.processes if memory_run else None)
    else:
        processes = merge_importtime([_importtime_logs(run.stderr) for run in measured], walls)
    last = measured[-1]
    profile = Profile(
        target=target.describe(),
        python=processes[0].python if processes else "",
        engine=engine,
        runs=len(measured),
        warmup=warmup,
        wall_us=Stat.of(walls) if walls else None,
        floor_us=Stat.of(floors) if floors else None,
        processes=processes,
        exit_code=last.exit_code,
        timed_out=last.timed_out,
        stderr_tail=_stderr_tail(last.stderr),
        notes=notes,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    if python and not profile.python:
        profile.python = os.path.basename(python)
    if processes:
        profile.notes.extend(_notes(profile))
    left = max(run.left_running for run in (*measured, calls_run, memory_run, *checks) if run)
    if left:
        they = "it" if left == 1 else "them"
        profile.notes.append(
            f"the target left {left} process{'es' if left != 1 else ''} running after it "
            f"exited (a daemon?); hotstart killed {they} at the end of each run")
    if checks and processes and engine == "tracer":
        profile.cross_check = compare_with_importtime(
            processes[0], [_importtime_logs(c.stderr) for c in checks])
    return profile


def _importtime_logs(stderr: str) -> list[ImportTimeLog]:
    """One log per process that printed importtime lines (not the text before the first)."""
    return [log for log in parse_importtime(stderr) if log.entries]


def _stderr_tail(stderr: str, lines: int = 20) -> list[str]:
    kept = [line for line in stderr.splitlines() if not line.startswith("import time:")]
    return kept[-lines:]


def _notes(profile: Profile) -> list[str]:
    main = profile.main
    notes = []
    code = main.bytecode
    if code.compiled:
        why = " (PYTHONDONTWRITEBYTECODE is set)" if code.dont_write_bytecode else ""
        notes.append(
            f"{code.compiled} of {code.compiled + code.from_pyc} source modules had no valid "
            f".pyc and were compiled at every start{why}: their times include compilation; "
            f"run `python -m compileall <dir>` to measure what users with .pyc see")
    flaky = [m.name for m in main.modules if m.runs < profile.runs]
    if flaky and profile.runs > 1:
        shown = ", ".join(flaky[:5]) + (" ..." if len(flaky) > 5 else "")
        notes.append(f"{len(flaky)} modules were imported in only some runs: {shown}")
    if not main.complete and not profile.timed_out:
        notes.append("the main process did not exit normally (killed, or os._exit): "
                     "memory totals at exit are missing")
    return notes
