"""`hotstart worker` / `python -m hotstart.worker`: preload, report, then run a Python command
in the same process; and `dask worker --preload hotstart.worker`.

Every test runs the real entrypoint in a subprocess. The commands it runs print what python
set up for them (argv, sys.path[0], __name__) and whether a module of the preload list was
already in sys.modules before their first line ran; the same command run by python itself is
the reference.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
HOTSTART = str(pathlib.Path(sys.executable).with_name("hotstart"))
TIMEOUT = 120

#: Imported by the preload; the commands below look for it in sys.modules.
PRELOADED = "import sys\nVALUE = 42\n"
BROKEN = "raise RuntimeError('broken on purpose')\n"
#: A command: what python set up for it, and whether `hsw_mod` was loaded before it ran.
PROBE = """\
import sys
before = "hsw_mod" in sys.modules
import json
print(json.dumps({"argv": sys.argv, "path0": sys.path[0], "name": __name__,
                  "file": globals().get("__file__"), "preloaded": before}))
if sys.argv[-1].isdigit():
    raise SystemExit(int(sys.argv[-1]))
if sys.argv[-1] == "raise":
    def fail():
        raise ValueError("the command's own error")
    fail()
"""


@pytest.fixture
def project(tmp_path):
    (tmp_path / "hsw_mod.py").write_text(PRELOADED)
    (tmp_path / "hsw_broken.py").write_text(BROKEN)
    (tmp_path / "hsw_probe.py").write_text(PROBE)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "probe.py").write_text(PROBE)
    return tmp_path


def environ(project: pathlib.Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HOTSTART_PRELOAD", "PYTHONPATH")}
    env["PYTHONPATH"] = str(project)
    env.update(extra)
    return env


def run(args: list[str], project: pathlib.Path, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=project, env=environ(project, **extra), capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)


def probe_output(result: subprocess.CompletedProcess) -> dict:
    lines = result.stdout.splitlines()
    assert len(lines) == 1, (result.stdout, result.stderr)
    return json.loads(lines[0])


# -- preload and report -----------------------------------------------------------------------

def test_preloads_the_list_and_writes_the_report(project):
    report = project / "out" / "preload.json"
    report.parent.mkdir()
    result = run([HOTSTART, "worker", "--preload", "json,hsw_mod", "--report", str(report)],
                 project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert [line.split()[2:4] for line in lines[:2]] == [["ok", "json"], ["ok", "hsw_mod"]]
    assert all(line.startswith("hotstart worker: ") and " ms " in line and " MB " in line
               for line in lines[:2]), lines
    assert lines[2].startswith("hotstart worker: preloaded 2 of 2 modules in ")
    assert len(lines) == 3
    data = json.loads(report.read_text())
    assert data["schema"] == "hotstart.worker/1"
    assert data["source"] == "--preload" and data["preload"] == ["json", "hsw_mod"]
    assert data["ok"] is True and data["command"] is None
    assert [(m["module"], m["ok"], m["error"]) for m in data["modules"]] == [
        ("json", True, None), ("hsw_mod", True, None)]
    assert all(m["seconds"] >= 0 and m["modules"] >= 0 for m in data["modules"])
    assert os.listdir(report.parent) == ["preload.json"]  # written by rename: no leftovers


def test_reads_hotstart_preload_and_quiet_prints_nothing(project):
    result = run([HOTSTART, "worker", "-q", "--report", "r.json"], project,
                 HOTSTART_PRELOAD=" hsw_mod , json,,hsw_mod")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads((project / "r.json").read_text())
    assert data["source"] == "HOTSTART_PRELOAD" and data["preload"] == ["hsw_mod", "json"]


def test_nothing_to_preload_says_so(project):
    result = run([sys.executable, "-m", "hotstart.worker"], project)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("hotstart worker: nothing to preload (HOTSTART_PRELOAD is empty "
                             "or not set)\n")


def test_spec_and_package_give_what_hotstart_preload_computes(project):
    spec = str(ROOT / "examples" / "jobrunner" / "jobs" / "clean.json")
    env_line = run([HOTSTART, "preload", spec, "--package", "jobrunner", "--format", "env"],
                   project)
    assert env_line.returncode == 0, env_line.stderr
    expected = env_line.stdout.strip().partition("=")[2].split(",")
    result = run([HOTSTART, "worker", "--spec", spec, "--package", "jobrunner",
                  "--report", "r.json"], project)
    assert result.returncode == 0, result.stderr
    data = json.loads((project / "r.json").read_text())
    assert data["source"] == "--spec" and data["preload"] == expected
    assert [line.split()[3] for line in result.stderr.splitlines()[:-1]] == expected


def test_a_failing_module_stops_the_worker_with_one_line(project):
    result = run([HOTSTART, "worker", "--report", "r.json", "--", "-c", "print('ran')"],
                 project, HOTSTART_PRELOAD="json,hsw_broken,hsw_mod")
    assert result.returncode == 1
    assert result.stdout == ""  # the command never ran
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[1].split()[2:4] == ["FAILED", "hsw_broken"]
    assert lines[1].endswith("RuntimeError: broken on purpose")
    assert lines[-1] == ("hotstart worker: error: preload module 'hsw_broken' failed to import: "
                         "RuntimeError: broken on purpose; fix the image or remove it from "
                         "HOTSTART_PRELOAD, or pass --on-preload-error warn")
    assert sum("error:" in line for line in lines) == 1
    data = json.loads((project / "r.json").read_text())  # written before the exit
    assert data["ok"] is False
    broken = data["modules"][1]
    assert broken["module"] == "hsw_broken" and not broken["ok"]
    assert "broken on purpose" in broken["traceback"]
    assert data["modules"][2]["ok"]  # the rest of the list was still imported


def test_warn_goes_on_without_the_failed_module(project):
    result = run([HOTSTART, "worker", "--preload", "hsw_broken,hsw_mod",
                  "--on-preload-error", "warn", "--", "hsw_probe.py"], project)
    assert result.returncode == 0, result.stderr
    assert probe_output(result)["preloaded"] is True
    assert "hotstart worker: warning: preload module 'hsw_broken' failed to import: " \
           "RuntimeError: broken on purpose; going on without it" in result.stderr


# -- running the command ------------------------------------------------------------------------

@pytest.mark.parametrize("command", [
    ["-m", "hsw_probe", "a", "7"],
    ["scripts/probe.py", "a", "7"],
    ["-c", PROBE, "a", "7"],
], ids=["module", "script", "code"])
def test_the_command_runs_as_python_would_with_the_modules_preloaded(project, command):
    reference = run([sys.executable, *command], project)
    worker = run([HOTSTART, "worker", "-q", "--preload", "hsw_mod", "--", *command], project)
    assert worker.returncode == reference.returncode == 7, worker.stderr
    assert worker.stderr == ""
    expected = probe_output(reference)
    got = probe_output(worker)
    assert expected["preloaded"] is False and got["preloaded"] is True
    del expected["preloaded"], got["preloaded"]
    assert got == expected  # argv, sys.path[0], __name__: as python sets them
    if command[0] == "-m":
        assert got["argv"] == [str(project / "hsw_probe.py"), "a", "7"]
    # the same through `python -m hotstart.worker`, with a leading `python` word
    again = run([sys.executable, "-m", "hotstart.worker", "-q", "--preload", "hsw_mod", "--",
                 "python", *command], project)
    assert again.returncode == 7, again.stderr
    assert probe_output(again) == {**expected, "preloaded": True}


def test_a_console_script_runs_in_the_worker(project):
    result = run([HOTSTART, "worker", "-q", "--preload", "hsw_mod", "--", "hotstart",
                  "--version"], project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("hotstart ")


def test_the_commands_exception_is_shown_as_python_shows_it(project):
    result = run([HOTSTART, "worker", "-q", "--", "scripts/probe.py", "raise"], project)
    assert result.returncode == 1
    reference = run([sys.executable, "scripts/probe.py", "raise"], project)
    assert result.stderr == reference.stderr  # no frame of hotstart's or runpy's
    assert "ValueError: the command's own error" in result.stderr


def test_a_module_that_is_not_there(project):
    result = run([HOTSTART, "worker", "-q", "--", "-m", "hsw_nowhere"], project)
    assert result.returncode == 1
    assert result.stderr == "hotstart worker: error: no module named 'hsw_nowhere'\n"


def test_as_pid_1_sigterm_ends_the_command_cleanly(project):
    """A container without an init: the worker is process 1 of its PID namespace, where the
    kernel ignores SIGTERM unless it is handled (`unshare --pid`, as root)."""
    import shutil

    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--pid", "--fork", "true"],
                                         capture_output=True, timeout=TIMEOUT).returncode:
        pytest.skip("no PID namespace here (unshare --pid needs root)")
    (project / "serve.py").write_text(
        "import atexit, time\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        # 'ready' inside the try: a SIGTERM right after it lands where `finally` holds.
        "try:\n    print('ready', flush=True)\n    time.sleep(600)\n"
        "finally:\n    print('finally ran', flush=True)\n")
    process = subprocess.Popen([unshare, "--pid", "--fork", "--kill-child", HOTSTART, "worker",
                                "-q", "--preload", "hsw_mod", "--", "serve.py"], cwd=project,
                               env=environ(project), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        assert process.stdout.readline() == "ready\n"
        children = pathlib.Path(f"/proc/{process.pid}/task/{process.pid}/children")
        (pid_1,) = children.read_text().split()  # the worker, process 1 inside
        os.kill(int(pid_1), signal.SIGTERM)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 143, err
    assert out == "finally ran\natexit ran\n"
    assert err == ""


# -- bad input: one line, exit 2 ------------------------------------------------------------------

@pytest.mark.parametrize("args, env, message", [
    (["--bogus"], {}, "unrecognized arguments: --bogus; see '"),
    (["--report", "missing-dir/r.json"], {}, "directory"),
    (["--report", "scripts"], {}, "it is a directory"),
    (["--spec", "broken.json", "--package", "jobrunner"], {}, "not valid JSON"),
    (["--spec", "broken.json"], {}, "--spec needs --package"),
    (["--preload", "a b"], {}, "'a b' is not a module name"),
    ([], {"HOTSTART_PRELOAD": "ok,no-dash"}, "HOTSTART_PRELOAD: 'no-dash' is not a module name"),
    (["--"], {}, "no command after '--'"),
    (["--", "hsw-not-a-command"], {}, "is neither a file nor an installed console script"),
    (["--", "missing.py"], {}, "can't open file"),
    (["--", "-u", "hsw_probe.py"], {}, "takes no python options"),
    (["--", "/bin/ls"], {}, "is not a Python script (a program, not source)"),
    (["--report", ""], {}, "cannot write '': give a file name"),
], ids=["option", "report-dir-missing", "report-is-dir", "broken-spec", "spec-no-package",
        "bad-preload", "bad-env", "empty-command", "not-a-command", "missing-script",
        "python-option", "a-program", "empty-report"])
@pytest.mark.parametrize("entry", ["console", "module"])
def test_bad_input_is_one_line_and_exit_2(project, args, env, message, entry):
    (project / "broken.json").write_text('{"@type": ')
    prefix = [HOTSTART, "worker"] if entry == "console" else [sys.executable, "-m",
                                                               "hotstart.worker"]
    result = run([*prefix, "--preload", "hsw_mod", *args] if args[:1] == ["--"]
                 else [*prefix, *args], project, **env)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.startswith("hotstart worker: error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr
    assert "ok " not in result.stderr  # refused before anything was preloaded


def test_importing_the_entrypoint_loads_only_itself():
    """`dask worker --preload hotstart.worker` imports it in the nanny and in each worker:
    the parser, JSON and runpy load only when `main` runs."""
    from hotstart.measure.importtime import parse

    def fresh(code: str) -> set[str]:
        result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], text=True,
                                capture_output=True, timeout=TIMEOUT)
        logs = [log for log in parse(result.stderr) if log.entries]
        return {entry.name for entry in logs[0].fresh()} if logs else set()

    assert fresh("import hotstart.worker") - fresh("pass") == {"hotstart", "hotstart.worker"}


def test_help_names_dask_and_ray(project):
    result = run([sys.executable, "-m", "hotstart.worker", "--help"], project)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: python -m hotstart.worker [options] [-- COMMAND")
    assert "dask worker SCHEDULER --preload hotstart.worker" in result.stdout
    assert "hotstart.worker.ray_setup" in result.stdout


# -- Dask ------------------------------------------------------------------------------------------

def _start(args: list[str], project: pathlib.Path, log: pathlib.Path, env: dict):
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the process's group (the nanny and its worker), SIGKILL what is left at 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 15)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            os.killpg(process.pid, signal.SIGKILL)  # whatever the leader left behind
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def test_dask_worker_preload_hotstart_worker(project):
    """`dask scheduler` and `dask worker --preload hotstart.worker` as real processes: the
    worker preloads HOTSTART_PRELOAD, `_task.preload_report` there says so, and hotstart's
    Dask backend refuses a worker whose preload failed."""
    distributed = pytest.importorskip("distributed")
    from hotstart.pool.backends import DaskBackend
    from hotstart.pool.backends._task import preload_report
    from hotstart.pool.errors import PreloadError

    env = environ(project, HOTSTART_PRELOAD="json,hsw_mod,hsw_broken")
    scheduler_file = project / "scheduler.json"
    processes = []
    try:
        processes.append(_start([sys.executable, "-m", "dask", "scheduler", "--host",
                                 "127.0.0.1", "--port", "0", "--no-dashboard",
                                 "--scheduler-file", str(scheduler_file)], project,
                                project / "scheduler.log", env))
        deadline = time.monotonic() + TIMEOUT
        while not (scheduler_file.exists() and scheduler_file.stat().st_size):
            assert processes[0].poll() is None, (project / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start"
            time.sleep(0.2)
        processes.append(_start([sys.executable, "-m", "dask", "worker", "--scheduler-file",
                                 str(scheduler_file), "--preload", "hotstart.worker",
                                 "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                 "--host", "127.0.0.1"], project, project / "worker.log", env))
        with distributed.Client(scheduler_file=str(scheduler_file), timeout=TIMEOUT,
                                set_as_default=False) as client:
            client.wait_for_workers(1, timeout=TIMEOUT)
            reports = client.run(preload_report)
            assert len(reports) == 1
            (address, report), = reports.items()
            assert [(m["module"], m["ok"]) for m in report["modules"]] == [
                ("json", True), ("hsw_mod", True), ("hsw_broken", False)]
            assert "RuntimeError: broken on purpose" in report["modules"][2]["error"]
            assert client.run(lambda: "hsw_mod" in sys.modules) == {address: True}
            with DaskBackend(client, preload=[]) as backend:
                future = backend.submit(sum, [1, 2])
                with pytest.raises(PreloadError, match="'hsw_broken' failed"):
                    future.result(timeout=TIMEOUT)
    finally:
        for process in reversed(processes):
            _stop(process)
    log = (project / "worker.log").read_text()
    assert f"hotstart worker: dask {address}: ok      json" in log
    assert (f"hotstart worker: dask {address}: error: preload module 'hsw_broken' failed to "
            f"import: RuntimeError: broken on purpose; hotstart's Dask backend will not use "
            f"this worker") in log
    assert "Traceback" not in log and "Failed to start preload" not in log
