"""RayBackend on a real local Ray: one ``ray.init`` for the file (2 CPUs, no dashboard), made
by the file's first backend (which owns it and shuts it down: the last test).

The session starts with ``MY_API_TOKEN`` and ``HOTSTART_X`` in the driver's environment, so
Ray's raylet and every worker it starts inherit both, and with this directory and a temporary
one on ``PYTHONPATH``: the workers import the tasks below by name from this module, and
``hotstart_raygood`` / ``hotstart_raybad`` (whose import raises) from the temporary one.
Backends with the same preload list share Ray's workers (Ray keys them by ``runtime_env``).
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import socket
import subprocess
import sys
import time
import types

import pytest

ray = pytest.importorskip("ray")

from hotstart.pool import env
from hotstart.pool.backends import RayBackend
from hotstart.pool.errors import (
    BrokenPool,
    CodeError,
    PreloadError,
    RemoteError,
    TaskTimeout,
    WorkerCrashed,
)

HERE = pathlib.Path(__file__).resolve().parent
GOOD = "hotstart_raygood"
BAD = "hotstart_raybad"
SECRET = "not-for-workers"
# How long a test waits for something Ray does asynchronously (a killed worker to be gone):
# a bound on a hang, not a measurement.
PATIENCE = 120.0


# -- tasks (module level: the workers import them from this module) ------------------------------

def square(x: int) -> int:
    return x * x


def whoami() -> tuple[int, str]:
    return os.getpid(), ray.get_runtime_context().get_worker_id()


def fail_with(message: str) -> None:
    raise ValueError(message)


def pid_then_sleep(path: str, seconds: float) -> None:
    pathlib.Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)


def count_then_exit(path: str) -> None:
    with open(path, "a") as runs:
        runs.write("ran\n")
    os._exit(7)


def touch(path: str) -> str:
    pathlib.Path(path).write_text("ran")
    return "ran"


class ExitsWhenLoaded:
    """A result whose unpickling raises SystemExit in whoever loads it."""

    def __reduce__(self):
        return (sys.exit, (3,))


def hostile_result() -> ExitsWhenLoaded:
    return ExitsWhenLoaded()


def environment() -> dict:
    return {name: os.environ.get(name) for name in ("MY_API_TOKEN", "HOTSTART_X")}


def loaded(*names: str) -> list[bool]:
    return [name in sys.modules for name in names]


def preloaded_by() -> list[str]:
    return sys.modules[GOOD].CALLERS


# -- fixtures ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ray_session(tmp_path_factory: pytest.TempPathFactory):
    """The file's one local Ray, started by a RayBackend (``owner``) with the secret,
    HOTSTART_X and the module paths in the environment (the driver's own environment is put
    back once Ray has started)."""
    if ray.is_initialized():
        pytest.skip("Ray is already initialized in this process: these tests start their own")
    modules = tmp_path_factory.mktemp("raymodules")
    # It keeps the functions that imported it: Ray's setup hook, not a task.
    (modules / f"{GOOD}.py").write_text("import json\nimport traceback\n"
                                        "CALLERS = [f.name for f in traceback.extract_stack()]\n")
    (modules / f"{BAD}.py").write_text("raise RuntimeError('hotstart_raybad cannot be "
                                       "imported here')\n")
    saved = dict(os.environ)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(modules), *filter(None, [saved.get("PYTHONPATH")])])
    os.environ["MY_API_TOKEN"] = SECRET
    os.environ["HOTSTART_X"] = "for-workers"
    try:
        owner = RayBackend(preload=[GOOD], num_cpus=2, include_dashboard=False,
                           log_to_driver=False)
    finally:
        env.apply(saved)
    yield types.SimpleNamespace(owner=owner)
    owner.shutdown()
    if ray.is_initialized():  # the last test did not run (a -k selection): end Ray anyway
        ray.shutdown()


@pytest.fixture
def backend(ray_session):
    """The backend that started Ray (preload: hotstart_raygood, scrubbed environment)."""
    return ray_session.owner


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a reused pid of another user's process
        return True
    return False


def wait_until(predicate, what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {PATIENCE:g} s for {what}")
        time.sleep(0.05)


# -- results and metrics -------------------------------------------------------------------------

def test_submit_and_map(backend):
    assert backend.submit(square, 7).result(timeout=PATIENCE) == 49
    assert list(backend.map(square, range(6), timeout=PATIENCE)) == [0, 1, 4, 9, 16, 25]


def test_metrics_name_the_ray_worker(backend):
    future = backend.submit(whoami)
    pid, ray_worker = future.result(timeout=PATIENCE)
    metrics = future.metrics
    assert pid != os.getpid()
    assert metrics.pid == pid
    assert metrics.worker_id == future.worker_id == ray_worker
    assert metrics.node == socket.gethostname()
    assert metrics.memory is not None and metrics.memory.source
    assert metrics.peak_rss and metrics.peak_rss > 0
    assert metrics.wall >= 0 and metrics.cpu >= 0
    assert future.stdout == "" and future.stderr == ""  # Ray does not capture per task


def test_exception_raised_as_itself_with_the_remote_traceback(backend):
    future = backend.submit(fail_with, "boom 42")
    with pytest.raises(ValueError, match="boom 42") as raised:
        future.result(timeout=PATIENCE)
    cause = raised.value.__cause__
    assert isinstance(cause, RemoteError)
    assert "in fail_with" in cause.remote_traceback
    assert "ValueError: boom 42" in cause.remote_traceback
    assert future.worker_id is not None


# -- timeouts, cancels and crashes ---------------------------------------------------------------

def test_a_result_that_attacks_the_client_when_loaded_fails_only_its_task(backend):
    # The worker pickles the result and the backend loads it under its guard: in Ray's
    # callback thread, SystemExit left the future pending forever.
    with pytest.raises(RemoteError, match="answer could not be read: SystemExit"):
        backend.submit(hostile_result).result(timeout=60)
    assert backend.submit(square, 4).result(timeout=60) == 16


def test_timeout_kills_the_worker(backend, tmp_path):
    backend.submit(square, 1).result(timeout=PATIENCE)  # a started worker, so the task begins
    marker = tmp_path / "pid"
    future = backend.schedule(pid_then_sleep, (str(marker), 3600), timeout=6)
    with pytest.raises(TaskTimeout, match="timed out after 6 s; its worker was killed"):
        future.result(timeout=PATIENCE)
    assert future.metrics is None
    pid = int(marker.read_text())
    wait_until(lambda: gone(pid), f"the timed-out task's worker (pid {pid}) to be killed")
    assert backend.submit(square, 5).result(timeout=PATIENCE) == 25  # a new worker serves


def test_cancel_kills_the_running_task(backend, tmp_path):
    marker = tmp_path / "pid"
    future = backend.submit(pid_then_sleep, str(marker), 3600)
    wait_until(marker.exists, "the task to start")
    assert future.cancel()
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(timeout=PATIENCE)
    pid = int(marker.read_text())
    wait_until(lambda: gone(pid), f"the cancelled task's worker (pid {pid}) to be killed")


def test_worker_death_is_worker_crashed_and_not_retried(backend, tmp_path):
    runs = tmp_path / "runs"
    future = backend.submit(count_then_exit, str(runs))
    with pytest.raises(WorkerCrashed) as raised:
        future.result(timeout=PATIENCE)
    assert "\n" not in str(raised.value)
    assert "its Ray worker died while running it" in str(raised.value)
    assert runs.read_text().splitlines() == ["ran"]  # ran once: Ray retried nothing
    assert backend.submit(square, 3).result(timeout=PATIENCE) == 9


# -- source-code tasks ---------------------------------------------------------------------------

def test_run_code(backend, tmp_path):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "raycode_helper.py").write_text("VALUE = 42\n")
    adds = backend.run_code("def add(a, b):\n    return a + b\n", "add", (2, 3))
    broken = backend.run_code("x = 1\ndef f(:\n    pass\n", "f")
    missing = backend.run_code("def present():\n    return 1\n", "absent")
    path = backend.run_code("import raycode_helper\ndef f():\n    return raycode_helper.VALUE\n",
                            "f", python_path=[str(helpers)])
    updated = backend.run_code(
        "import os\ndef f():\n    return os.environ.get('HOTSTART_X'), "
        "os.environ.get('HOTSTART_NEW')\n", "f",
        env_updates={"HOTSTART_X": None, "HOTSTART_NEW": "set for the call"})
    assert adds.result(timeout=PATIENCE) == 5
    with pytest.raises(CodeError, match=r"line 2: SyntaxError") as raised:
        broken.result(timeout=PATIENCE)
    assert raised.value.line == 2
    with pytest.raises(CodeError, match=r"defines no 'absent' \(it defines: present\)"):
        missing.result(timeout=PATIENCE)
    assert path.result(timeout=PATIENCE) == 42
    assert updated.result(timeout=PATIENCE) == (None, "set for the call")
    # Put back after the call, in every worker that ran one.
    for future in [backend.submit(environment) for _ in range(4)]:
        assert future.result(timeout=PATIENCE)["HOTSTART_X"] == "for-workers"


# -- preload -------------------------------------------------------------------------------------

def test_preload_report_per_worker(backend):
    futures = [backend.submit(loaded, GOOD, "json") for _ in range(4)]
    assert all(future.result(timeout=PATIENCE) == [True, True] for future in futures)
    reports = backend.preload_reports()
    for future in futures:
        report = reports[future.worker_id]
        assert report.pid == future.metrics.pid
        (load,) = report.modules
        assert (load.module, load.ok, load.error) == (GOOD, True, None)
        assert load.seconds >= 0 and load.rss is not None and load.modules >= 1
        assert GOOD not in future.metrics.imported  # preloaded, not imported by the task
    # Imported by the setup hook when Ray started the worker, before any task ran there.
    callers = backend.submit(preloaded_by).result(timeout=PATIENCE)
    assert "worker_setup" in callers and "hotstart_task" not in callers


def test_failed_preload_is_reported_and_the_worker_runs_nothing(ray_session, tmp_path):
    markers = [tmp_path / f"ran-{n}" for n in range(3)]
    with RayBackend(preload=[GOOD, BAD]) as bad:
        futures = [bad.submit(touch, str(marker)) for marker in markers]
        for future in futures:
            with pytest.raises(PreloadError, match=rf"its preload of '{BAD}' failed: "
                                                   rf"RuntimeError: {BAD} cannot be imported"):
                future.result(timeout=PATIENCE)
        reports = bad.preload_reports()
    assert not any(marker.exists() for marker in markers)
    assert {future.worker_id for future in futures} <= set(reports)
    for report in reports.values():
        good, failed = report.modules
        assert (good.module, good.ok) == (GOOD, True)
        assert (failed.module, failed.ok) == (BAD, False)
        assert failed.error == f"RuntimeError: {BAD} cannot be imported here"
        assert f"{BAD}.py" in failed.traceback
        assert report.failed == [failed]


def test_hotstart_preload_without_preload_argument(ray_session, monkeypatch):
    monkeypatch.setenv("HOTSTART_PRELOAD", f"{GOOD}, json")
    with RayBackend(scrub_env=False) as plain:
        assert plain.preload == [GOOD, "json"]
        future = plain.submit(environment)
        seen = future.result(timeout=PATIENCE)
        modules = [load.module for load in plain.preload_reports()[future.worker_id].modules]
    assert modules == [GOOD, "json"]
    # Unscrubbed, the worker has what Ray's processes inherited: the secret reached them.
    assert seen == {"MY_API_TOKEN": SECRET, "HOTSTART_X": "for-workers"}


def test_environment_is_scrubbed(backend):
    seen = [backend.submit(environment) for _ in range(3)]
    for future in seen:
        assert future.result(timeout=PATIENCE) == {"MY_API_TOKEN": None,
                                                   "HOTSTART_X": "for-workers"}


# -- the backend's life --------------------------------------------------------------------------

def test_hooks_fire_and_shutdown_leaves_the_callers_ray(ray_session):
    events = []
    other = RayBackend(preload=[GOOD],
                       on_submit=lambda info: events.append(("submit", info.task_id)),
                       on_complete=lambda info, future, metrics: events.append(
                           ("complete", info.task_id, metrics.worker_id)),
                       on_shutdown=lambda backend: events.append(("shutdown", backend)))
    future = other.submit(square, 4)
    assert future.result(timeout=PATIENCE) == 16
    other.shutdown()
    assert events == [("submit", 1), ("complete", 1, future.worker_id), ("shutdown", other)]
    assert ray.is_initialized()  # the caller's Ray: left running
    with pytest.raises(BrokenPool, match="was shut down: create a new one"):
        other.submit(square, 1)


def test_ray_init_arguments_need_ray_not_initialized(ray_session):
    with pytest.raises(ValueError, match="Ray is already initialized"):
        RayBackend(num_cpus=1)


def test_owner_ends_ray_and_other_backends_fail_their_tasks(ray_session, tmp_path):
    """Last: it ends the file's Ray. The backend that started Ray shuts it down; another
    backend's task in flight then fails with BrokenPool instead of hanging, and nothing starts
    a new Ray behind the caller's back."""
    other = RayBackend(preload=[GOOD])
    marker = tmp_path / "pid"
    future = other.submit(pid_then_sleep, str(marker), 3600)
    wait_until(marker.exists, "the task to start")
    ray_session.owner.shutdown()
    assert not ray.is_initialized()
    with pytest.raises(BrokenPool, match="Ray was shut down since this RayBackend was created"):
        other.submit(square, 1)
    other.shutdown()
    with pytest.raises(BrokenPool, match="was lost: Ray was shut down while it was in flight"):
        future.result(timeout=PATIENCE)
    assert not ray.is_initialized()
    pid = int(marker.read_text())
    wait_until(lambda: gone(pid), f"the worker of Ray's last task (pid {pid}) to end")


def test_missing_ray_is_one_line():
    script = ("import sys; sys.modules['ray'] = None\n"
              "try:\n    from hotstart.pool.backends import RayBackend\n"
              "except ModuleNotFoundError as exc:\n    print(exc)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=PATIENCE, check=False)
    assert result.stdout == "RayBackend needs Ray: pip install 'hotstart[ray]'\n", result.stderr


def test_hotstart_worker_ray_setup_preloads_your_own_ray_tasks(ray_session):
    """After the file's Ray ended: a Ray of your own, its setup hook named
    ``hotstart.worker.ray_setup`` and HOTSTART_PRELOAD in its env_vars, preloads each worker
    (a task of your own reads the report)."""
    from hotstart.pool.backends import _task

    assert not ray.is_initialized()
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             runtime_env={"worker_process_setup_hook": "hotstart.worker.ray_setup",
                          "env_vars": {"HOTSTART_PRELOAD": "calendar, json"}})
    try:
        report = ray.get(ray.remote(max_retries=0)(_task.preload_report).remote(),
                         timeout=PATIENCE)
    finally:
        ray.shutdown()
    assert report is not None, "the setup hook did not run"
    assert [(entry["module"], entry["ok"]) for entry in report["modules"]] == \
        [("calendar", True), ("json", True)]
