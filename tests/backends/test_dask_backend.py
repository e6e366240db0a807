"""DaskBackend on a real Dask cluster: one LocalCluster (processes=True, 2 workers, 1 thread
each) for the whole file, plus one small cluster the backend starts itself for the failing
preload. No mocks, no wall-clock thresholds (timeouts below only bound a wait).

The task functions are module-level functions of this file: workers are spawned processes
that inherit this process's ``sys.path``, so they import this module by name.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

from hotstart.pool.backends import DaskBackend
from hotstart.pool.errors import (
    BrokenPool,
    CodeError,
    PreloadError,
    RemoteError,
    TaskTimeout,
    WorkerCrashed,
)

WAIT = 120  # seconds: only a bound on waiting for the cluster (CPU is shared), never asserted
PRELOAD = ["colorsys", "difflib"]


# -- tasks (run in the workers) ---------------------------------------------------------------

def add(a, b):
    return a + b


def where():
    return os.getpid(), socket.gethostname()


def fail(text):
    raise ValueError(text)


class Unpicklable(Exception):
    def __init__(self, text):
        super().__init__(text)
        self.lock = threading.Lock()  # cannot travel back


def fail_unpicklable(text):
    raise Unpicklable(text)


def die(code):
    os._exit(code)


def wait_for_file(release, done):
    """Block until `release` exists (bounded), then write `done`: shows whether the task
    went on running after its future failed."""
    for _ in range(WAIT * 20):
        if os.path.exists(release):
            break
        time.sleep(0.05)
    with open(done, "w") as out:
        out.write(str(os.getpid()))
    return "finished"


class ExitsWhenLoaded:
    """A result whose unpickling raises SystemExit in whoever loads it."""

    def __reduce__(self):
        import sys

        return (sys.exit, (3,))


def hostile_result():
    return ExitsWhenLoaded()


def patch_builtin():
    import builtins

    builtins.divmod = lambda *args: ("pwned",)
    import sys

    sys.setrecursionlimit(50_000)
    return divmod(7, 2)


def uses_builtin():
    import sys

    return divmod(7, 2), sys.getrecursionlimit()


def getenv(name):
    return os.environ.get(name)


def _module_state(module, directory):
    return module in sys.modules, directory in sys.path


# -- fixtures: one cluster for the file -----------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    # allowed_failures=0: a worker that dies under a task fails it at once (KilledWorker),
    # what the docs tell users to set on their scheduler. env: the workers' environment
    # (the nanny sets it in each worker process).
    with distributed.LocalCluster(
            processes=True, n_workers=2, threads_per_worker=1, dashboard_address=":0",
            scheduler_kwargs={"allowed_failures": 0},
            env={"MY_API_TOKEN": "secret-value", "HOTSTART_X": "visible",
                 "DASK_API_TOKEN": "secret-too",
                 "HOTSTART_GONE": "present"}) as local:
        yield local


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as dask_client:
        dask_client.wait_for_workers(2, timeout=WAIT)
        yield dask_client


@pytest.fixture(scope="module")
def backend(client):
    with DaskBackend(client, preload=PRELOAD, timeout=WAIT) as dask_backend:
        yield dask_backend


def workers(client):
    return set(client.scheduler_info(n_workers=-1)["workers"])


def wait_for_preloaded(backend, client, count):
    """Until the cluster has `count` workers and each has reported its preload."""
    wait_until(lambda: len(workers(client)) == count
               and set(backend.preload_reports()) == workers(client),
               f"{count} workers, all preloaded")


def wait_until(predicate, what):
    deadline = time.monotonic() + WAIT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


# -- results and metrics ----------------------------------------------------------------------

def test_submit_and_map(backend):
    assert backend.engine == "dask"
    assert backend.can_kill is False
    assert backend.submit(add, 2, 3).result() == 5
    assert list(backend.map(add, [1, 2, 3], [10, 20, 30])) == [11, 22, 33]
    assert backend.submit(lambda x: x * 2, 21).result() == 42  # cloudpickled by value


def test_metrics(backend, client):
    future = backend.submit(where)
    pid, node = future.result()
    metrics = future.metrics
    pids = client.run(os.getpid)  # {worker address: its process id}
    assert metrics.worker_id in pids
    assert future.worker_id == metrics.worker_id
    assert metrics.pid == pid == pids[metrics.worker_id]
    assert metrics.pid != os.getpid()
    assert metrics.node == node == socket.gethostname()
    assert metrics.wall >= 0 and metrics.cpu >= 0 and metrics.queue_wait >= 0
    assert metrics.peak_rss and metrics.peak_rss_scope == "worker"
    assert metrics.memory is not None and metrics.memory.source
    assert future.stdout == "" and future.stderr == ""  # Dask does not capture output


# -- failures ---------------------------------------------------------------------------------

def test_task_exception_is_raised_as_itself(backend):
    future = backend.submit(fail, "bad input 42")
    with pytest.raises(ValueError, match="bad input 42") as caught:
        future.result()
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteError)
    assert cause.type_name == "ValueError"
    assert "in fail" in cause.remote_traceback and "bad input 42" in cause.remote_traceback
    assert future.metrics is not None  # it ran: its cost is known


def test_unpicklable_exception_is_a_remote_error(backend):
    with pytest.raises(RemoteError) as caught:
        backend.submit(fail_unpicklable, "with a lock").result()
    assert "Unpicklable" in caught.value.type_name
    assert "with a lock" in str(caught.value)
    assert "fail_unpicklable" in caught.value.remote_traceback


def test_unpicklable_result_is_a_one_line_remote_error(backend):
    with pytest.raises(RemoteError) as caught:
        backend.submit(threading.Lock).result()
    head = str(caught.value).splitlines()[0]
    assert "could not be sent back" in head


def test_timeout_fails_the_future_but_dask_lets_the_task_finish(backend, tmp_path):
    release, done = tmp_path / "release", tmp_path / "done"
    future = backend.schedule(wait_for_file, (str(release), str(done)), timeout=0.5)
    with pytest.raises(TaskTimeout, match="cannot stop a running task") as caught:
        future.result(timeout=WAIT)
    assert caught.value.timeout == 0.5
    release.touch()
    # Dask cannot stop it: the call runs to its end in the worker thread (result dropped).
    wait_until(done.exists, "the timed-out task to finish in its worker")


def test_worker_crash(backend, client):
    before = workers(client)
    future = backend.submit(die, 7)
    with pytest.raises(WorkerCrashed, match="died while running task 'die'") as caught:
        future.result(timeout=WAIT)
    assert any(address in str(caught.value) for address in before)
    assert isinstance(caught.value.__cause__, distributed.KilledWorker)
    # The nanny restarts the worker (a new address): it preloads before it runs a task.
    wait_for_preloaded(backend, client, 2)
    assert backend.submit(add, 1, 1).result(timeout=WAIT) == 2


# -- run_code ---------------------------------------------------------------------------------

def test_run_code_result_and_errors(backend):
    code = "def scale(values, factor=1):\n    return [v * factor for v in values]\n"
    assert backend.run_code(code, "scale", ([1, 2],), {"factor": 3}).result() == [3, 6]

    bad = "x = 1\ny = 2\ndef f(:\n    pass\n"
    with pytest.raises(CodeError, match="line 3: SyntaxError") as caught:
        backend.run_code(bad, "f").result()
    assert caught.value.line == 3

    with pytest.raises(CodeError, match="defines no 'missing'.*scale"):
        backend.run_code(code, "missing").result()


def test_run_code_python_path_does_not_leak(backend, client, tmp_path):
    directory = tmp_path / "extra"
    directory.mkdir()
    (directory / "hs_dask_helper.py").write_text("VALUE = 'from the helper'\n")
    code = "import hs_dask_helper\ndef f():\n    return hs_dask_helper.VALUE\n"
    future = backend.run_code(code, "f", python_path=[str(directory)])
    assert future.result() == "from the helper"
    # On every worker (the call ran on one): the module and the path are gone.
    states = client.run(_module_state, "hs_dask_helper", str(directory))
    assert set(states.values()) == {(False, False)}
    with pytest.raises(CodeError, match="line 1: .*ModuleNotFoundError.*hs_dask_helper"):
        backend.run_code(code, "f").result()  # without the path: not found


def test_run_code_env_updates(backend, client):
    code = ("import os\n"
            "def f():\n"
            "    return os.environ.get('HOTSTART_RC'), os.environ.get('HOTSTART_GONE')\n")
    future = backend.run_code(code, "f", env_updates={"HOTSTART_RC": "set",
                                                      "HOTSTART_GONE": None})
    assert future.result() == ("set", None)
    # Put back after the call, on every worker.
    assert set(client.run(getenv, "HOTSTART_RC").values()) == {None}
    assert set(client.run(getenv, "HOTSTART_GONE").values()) == {"present"}


# -- environment ------------------------------------------------------------------------------

def test_worker_environment_is_scrubbed(backend, client):
    assert backend.submit(getenv, "MY_API_TOKEN").result() is None
    assert backend.submit(getenv, "HOTSTART_X").result() == "visible"
    assert set(client.run(getenv, "MY_API_TOKEN").values()) == {None}  # every worker


# -- preload ----------------------------------------------------------------------------------

def test_preload_report_per_worker(backend, client):
    reports = backend.preload_reports()
    assert set(reports) == workers(client)
    for report in reports.values():
        assert [load.module for load in report.modules] == PRELOAD
        for load in report.modules:
            assert load.ok and load.error is None
            assert load.seconds >= 0 and load.rss is not None
        assert report.pid != os.getpid()


def test_worker_added_later_preloads(backend, cluster, client):
    before = workers(client)
    cluster.scale(3)
    try:
        wait_for_preloaded(backend, client, 3)
        reports = backend.preload_reports()
        new = [address for address in reports if address not in before]
        assert new
        for address in new:
            assert [(load.module, load.ok) for load in reports[address].modules] == \
                [(module, True) for module in PRELOAD]
    finally:
        cluster.scale(2)
        wait_until(lambda: len(workers(client)) == 2, "the cluster to scale back to 2")


def test_hotstart_preload_variable(client, monkeypatch):
    monkeypatch.setenv("HOTSTART_PRELOAD", "calendar, json")
    with DaskBackend(client) as env_backend:
        assert env_backend.preload == ["calendar", "json"]
        reports = env_backend.preload_reports()
        assert set(reports) == workers(client)
        for report in reports.values():
            assert [(load.module, load.ok) for load in report.modules] == \
                [("calendar", True), ("json", True)]
        assert env_backend.submit(add, 1, 2).result() == 3


def test_failing_preload_worker_is_reported_and_never_used_again(tmp_path, monkeypatch):
    # The second (and last) cluster: one a good backend starts and owns. Its workers are
    # spawned with this process's sys.path, so the broken module is found there.
    (tmp_path / "hs_dask_broken.py").write_text(
        "import json\nraise RuntimeError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    owned = DaskBackend(preload=["json"], n_workers=1, threads_per_worker=1,
                        dashboard_address=":0")
    try:
        assert owned.submit(add, 1, 2).result(timeout=WAIT) == 3
        with pytest.warns(RuntimeWarning, match="preload of 'hs_dask_broken' failed"):
            bad = DaskBackend(owned.client, preload=["json", "hs_dask_broken"])
        try:
            reports = bad.preload_reports()
            assert len(reports) == 1
            (address, report), = reports.items()
            assert [(load.module, load.ok) for load in report.modules] == \
                [("json", True), ("hs_dask_broken", False)]
            failed = report.failed[0]
            assert failed.error == "RuntimeError: broken on purpose"
            assert "hs_dask_broken.py" in failed.traceback
            for each in (bad, owned, bad):  # never silently run, whose ever task it is
                future = each.submit(add, 1, 2)
                with pytest.raises(PreloadError, match="hs_dask_broken.*broken on purpose"):
                    future.result(timeout=WAIT)
                assert address in str(future.exception())
        finally:
            bad.shutdown()
        # An import cannot be undone: the worker stays unusable once the backend whose
        # preload failed there is gone.
        with pytest.raises(PreloadError, match="hs_dask_broken"):
            owned.submit(add, 1, 2).result(timeout=WAIT)
        # The cluster it started does not retry a task whose worker died.
        assert owned.client.run_on_scheduler(_allowed_failures) == 0
    finally:
        owned.shutdown()
    assert owned.client.status == "closed"


def _allowed_failures(dask_scheduler):
    return dask_scheduler.allowed_failures


def test_a_result_that_attacks_the_client_when_loaded_fails_only_its_task(backend):
    # Loaded by the backend under its guard (the worker pickles it): not in Dask's comm,
    # where SystemExit closed the connection and the next tasks were never sent.
    with pytest.raises(RemoteError, match="answer could not be read: SystemExit"):
        backend.submit(hostile_result).result(timeout=WAIT)
    assert backend.submit(add, 2, 3).result(timeout=WAIT) == 5


def test_state_a_task_leaves_in_the_worker_does_not_reach_the_next_task(backend):
    assert backend.submit(patch_builtin).result(timeout=WAIT) == ("pwned",)
    # One thread per worker, two workers: each worker's next task finds it put back.
    results = {backend.submit(uses_builtin).result(timeout=WAIT) for _ in range(6)}
    assert len(results) == 1
    (quotient, limit), = results
    assert quotient == (3, 1) and limit < 50_000


def test_engine_settings_that_look_secret_are_scrubbed(backend, client):
    assert set(client.run(getenv, "DASK_API_TOKEN").values()) == {None}


# -- hooks, shutdown, a closed client ---------------------------------------------------------

def test_hooks_and_shutdown(client):
    events = []
    hooked = DaskBackend(client, preload=[],
                         on_submit=lambda info: events.append(("submit", info.name)),
                         on_complete=lambda info, future, metrics:
                             events.append(("complete", info.name, metrics is not None)),
                         on_shutdown=lambda backend: events.append(("shutdown",)))
    assert hooked.submit(add, 1, 2).result() == 3
    hooked.shutdown()
    assert events == [("submit", "add"), ("complete", "add", True), ("shutdown",)]
    with pytest.raises(BrokenPool, match="shut down") as caught:
        hooked.submit(add, 1, 2)
    assert isinstance(caught.value, RuntimeError)
    assert client.status == "running"  # the client passed in is left open
    # Its plugin is unregistered from every worker.
    assert all(hooked._plugin_name not in names for names in client.run(_plugins).values())


def _plugins(dask_worker):
    return list(dask_worker.plugins)


def test_closed_client_fails_tasks_in_flight(cluster, tmp_path):
    # A backend on the scheduler address opens (and owns) its own client.
    release, done = tmp_path / "release", tmp_path / "done"
    remote = DaskBackend(cluster.scheduler_address, preload=[])
    try:
        future = remote.submit(wait_for_file, str(release), str(done))
        remote.client.close()
        with pytest.raises(BrokenPool, match="Dask client is closed"):
            future.result(timeout=WAIT)
        with pytest.raises(BrokenPool, match="client is closed.*new DaskBackend"):
            remote.submit(add, 1, 2)
    finally:
        release.touch()
        remote.shutdown()


def test_missing_distributed_names_the_extra():
    import subprocess

    code = ("import sys; sys.modules['distributed'] = None\n"
            "from hotstart.pool.backends import DaskBackend\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=WAIT, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("ModuleNotFoundError: DaskBackend "
                                                             "needs Dask distributed")
    assert "pip install 'hotstart[dask]'" in result.stderr
