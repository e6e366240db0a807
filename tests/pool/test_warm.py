"""WarmPool's normal life: preload, fork, reuse, isolation, capture, metrics, hooks, async.

Every test runs a real template process and real forked workers.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import pathlib
import signal
import subprocess
import sys
import textwrap

import pytest

import pooltasks
from hotstart.pool import BrokenPool, PreloadError, TaskFuture, TaskMetrics
from hotstart.pool import env as pool_env
from hotstart.pool import memory
from poolhelpers import alive, wait_until

ROOT = pathlib.Path(__file__).resolve().parents[2]
JOBRUNNER = ROOT / "examples" / "jobrunner"

# Thirteen well-known secret variables (case 2 of the problem cases tested the same kinds).
SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s3cr3t",
    "AWS_SESSION_TOKEN": "tok", "GOOGLE_APPLICATION_CREDENTIALS": "/keys/gcp.json",
    "AZURE_CLIENT_SECRET": "az", "GITHUB_TOKEN": "ghp_x", "OPENAI_API_KEY": "sk-x",
    "ANTHROPIC_API_KEY": "sk-ant-x", "HF_TOKEN": "hf_x", "DATABASE_URL": "postgres://u:p@h/db",
    "REDIS_URL": "redis://:p@h", "SLACK_BOT_TOKEN": "xoxb", "STRIPE_SECRET_KEY": "sk_live",
}


# -- Executor API -------------------------------------------------------------------------

def test_submit_map_and_context_manager(make_pool):
    with make_pool(preload=["pooltasks"], workers=2) as pool:
        future = pool.submit(pooltasks.double, 21)
        assert isinstance(future, TaskFuture)
        assert future.result(timeout=30) == 42
        assert list(pool.map(pooltasks.double, range(6))) == [0, 2, 4, 6, 8, 10]
        assert isinstance(pool, concurrent.futures.Executor)
    with pytest.raises(BrokenPool, match="shut down"):
        pool.submit(pooltasks.double, 1)
    assert not alive(pool.template_pid)


def test_lambdas_and_main_functions_travel_with_cloudpickle(shared_pool):
    offset = 5
    assert shared_pool.submit(lambda x: x + offset, 1).result(timeout=30) == 6


def test_unpicklable_task_is_refused_at_submit_without_cloudpickle(tmp_path):
    script = tmp_path / "main.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.modules["cloudpickle"] = None   # as if it were not installed
        sys.path.insert(0, {str(ROOT / 'src')!r})
        from hotstart.pool import WarmPool
        def local(x):
            return x
        with WarmPool(workers=1) as pool:
            try:
                pool.submit(local, 1)
            except TypeError as exc:
                print(exc)
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=60)
    assert "cannot send task 'local' to a worker" in out.stdout
    assert "install cloudpickle" in out.stdout


def test_shutdown_cancel_futures_cancels_queued_tasks(make_pool):
    pool = make_pool(workers=1, preload=["pooltasks"])
    running = pool.submit(pooltasks.sleep, 0.5, "done")
    wait_until(running.running)
    queued = [pool.submit(pooltasks.double, i) for i in range(3)]
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.result() == "done"
    assert all(f.cancelled() for f in queued)


def test_shutdown_without_wait_finishes_in_background(make_pool):
    pool = make_pool(workers=1, preload=["pooltasks"])
    future = pool.submit(pooltasks.sleep, 0.3, "late")
    pool.shutdown(wait=False)
    assert future.result(timeout=30) == "late"
    wait_until(lambda: not alive(pool.template_pid))


# -- template and preload -----------------------------------------------------------------

def test_preload_report_lists_each_module(make_pool):
    pool = make_pool(preload=["json", "pooltasks", "numpy"], workers=1)
    report = pool.preload_report
    assert [load.module for load in report.modules] == ["json", "pooltasks", "numpy"]
    assert all(load.ok and load.seconds > 0 and load.error is None for load in report.modules)
    numpy_load = report.modules[2]
    assert numpy_load.modules > 20 and numpy_load.rss > 1_000_000
    assert report.pid == pool.template_pid
    assert "numpy" in report.summary() and "ok" in report.summary()


def test_preloaded_modules_are_imported_once_in_the_template(make_pool, tmp_path):
    marker = tmp_path / "imports.log"
    (tmp_path / "counted.py").write_text(
        f"import os\nwith open({str(marker)!r}, 'a') as f:\n    f.write(str(os.getpid()) + '\\n')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        pool = make_pool(preload=["counted", "pooltasks"], workers=2)
        futures = [pool.submit(pooltasks.modules_loaded, ["counted"]) for _ in range(6)]
        assert all(f.result(timeout=30) == {"counted": True} for f in futures)
        assert marker.read_text().split() == [str(pool.template_pid)]
    finally:
        sys.path.remove(str(tmp_path))


def test_template_is_a_fresh_child_of_the_parent_and_workers_of_the_template(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    family = pool.submit(pooltasks.parents).result(timeout=30)
    assert family["ppid"] == pool.template_pid
    with open(f"/proc/{pool.template_pid}/stat") as stat:
        assert int(stat.read().rsplit(")", 1)[1].split()[1]) == os.getpid()
    cmdline = pathlib.Path(f"/proc/{pool.template_pid}/cmdline").read_bytes().split(b"\0")
    assert b"hotstart.pool._template" in cmdline[2]  # started with -c, not forked from us


def test_heap_is_frozen_in_the_template_and_gc_enabled_in_workers(shared_pool):
    state = shared_pool.submit(pooltasks.gc_state).result(timeout=30)
    assert state["frozen"] > 1000
    assert state["enabled"] is True


def test_failing_preload_fails_the_pool_with_the_traceback(make_pool, tmp_path):
    (tmp_path / "broken_mod.py").write_text("import json\nraise RuntimeError('no config')\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with pytest.raises(PreloadError) as caught:
            make_pool(preload=["json", "broken_mod"], workers=1)
    finally:
        sys.path.remove(str(tmp_path))
    error = caught.value
    assert str(error).startswith("preload module 'broken_mod' failed to import in the "
                                 "template: RuntimeError: no config")
    assert "broken_mod.py" in error.__notes__[0] and "line 2" in error.__notes__[0]
    assert [load.ok for load in error.report.modules] == [True, False]
    assert not alive(error.report.pid)


def test_failing_preload_can_warn_or_be_ignored_but_is_always_reported(make_pool):
    with pytest.warns(RuntimeWarning, match="'no_such_module_xyz' failed to import"):
        pool = make_pool(preload=["no_such_module_xyz", "pooltasks"], workers=1,
                         on_preload_error="warn")
    assert pool.submit(pooltasks.double, 2).result(timeout=30) == 4
    quiet = make_pool(preload=["no_such_module_xyz"], workers=1, on_preload_error="ignore")
    failed = quiet.preload_report.failed
    assert [load.module for load in failed] == ["no_such_module_xyz"]
    assert "ModuleNotFoundError" in failed[0].error
    assert "Traceback" in failed[0].traceback


def test_bad_arguments_are_refused_with_one_line(make_pool, tmp_path):
    with pytest.raises(ValueError, match="not a module name"):
        make_pool(preload=["not a module"])
    with pytest.raises(TypeError, match="expected a list of module names"):
        make_pool(preload="pandas")
    with pytest.raises(ValueError, match="on_preload_error"):
        make_pool(on_preload_error="sometimes")
    with pytest.raises(ValueError, match="workers=0"):
        make_pool(workers=0)
    from hotstart.pool import PoolError

    with pytest.raises(PoolError, match="cannot start the template process with "
                                        "/nonexistent/python"):
        make_pool(python="/nonexistent/python")


def test_several_pools_with_different_preloads_coexist(make_pool, tmp_path):
    (tmp_path / "only_a.py").write_text("A = 1\n")
    (tmp_path / "only_b.py").write_text("B = 2\n")
    sys.path.insert(0, str(tmp_path))
    try:
        a = make_pool(preload=["only_a", "pooltasks"], workers=1)
        b = make_pool(preload=["only_b", "pooltasks"], workers=1)
        names = ["only_a", "only_b"]
        fa = a.submit(pooltasks.modules_loaded, names)
        fb = b.submit(pooltasks.modules_loaded, names)
        assert fa.result(timeout=30) == {"only_a": True, "only_b": False}
        assert fb.result(timeout=30) == {"only_a": False, "only_b": True}
        assert a.template_pid != b.template_pid
    finally:
        sys.path.remove(str(tmp_path))


def test_preload_list_from_a_job_spec(make_pool):
    pool = make_pool(spec=str(JOBRUNNER / "jobs" / "clean.json"), package="jobrunner",
                     workers=1)
    preloaded = pool.preload
    assert preloaded and all(name.startswith("jobrunner.") for name in preloaded)
    assert any("plugins" in name for name in preloaded)
    loaded = pool.submit(pooltasks.modules_loaded, preloaded).result(timeout=30)
    assert all(loaded.values())


def test_a_spec_with_a_typo_is_refused_before_starting(make_pool):
    with pytest.raises(PreloadError, match="did you mean"):
        make_pool(spec=str(JOBRUNNER / "jobs" / "typo.json"), package="jobrunner")


# -- environment ---------------------------------------------------------------------------

def test_secrets_never_reach_the_template_or_workers(make_pool, monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HOTSTART_API_TOKEN", "prefix-matched secret")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    pool = make_pool(preload=["pooltasks"], workers=1)
    seen = pool.submit(pooltasks.environment).result(timeout=30)
    assert not set(SECRETS) & set(seen)
    assert "HOTSTART_API_TOKEN" not in seen
    assert seen["OMP_NUM_THREADS"] == "1" and "PATH" in seen
    template_env = pathlib.Path(f"/proc/{pool.template_pid}/environ").read_bytes()
    names = {item.split(b"=", 1)[0].decode() for item in template_env.split(b"\0") if item}
    assert not set(SECRETS) & names


def test_explicit_environment_replaces_everything(make_pool, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    environment = pool_env.scrubbed(allow=["MY_SETTING"], set={"MY_SETTING": "on"})
    pool = make_pool(preload=["pooltasks"], workers=1, env=environment)
    seen = pool.submit(pooltasks.environment).result(timeout=30)
    assert seen["MY_SETTING"] == "on" and "GITHUB_TOKEN" not in seen


# -- workers -------------------------------------------------------------------------------

def test_workers_are_reused_and_retired_after_max_tasks(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1, max_tasks_per_worker=3)
    pids = [pool.submit(pooltasks.pid).result(timeout=30) for _ in range(7)]
    assert pids[0] == pids[1] == pids[2]
    assert pids[3] == pids[4] == pids[5] != pids[2]
    assert pids[6] not in pids[:6]
    assert len(set(pids)) == 3


def test_idle_workers_are_retired(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=2, idle_timeout=0.2)
    first = pool.submit(pooltasks.pid).result(timeout=30)
    wait_until(lambda: not pool.workers())
    wait_until(lambda: not alive(first))
    assert alive(pool.template_pid)
    assert pool.submit(pooltasks.pid).result(timeout=30) != first


def test_workers_start_lazily_up_to_the_limit(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=3)
    assert pool.workers() == []
    futures = [pool.submit(pooltasks.sleep, 0.3) for _ in range(6)]
    pids = {f.result(timeout=30) for f in futures}
    assert 1 <= len(pids) <= 3
    assert len(pool.workers()) <= 3


def test_signal_dispositions_are_reset_in_workers(shared_pool):
    state = shared_pool.submit(pooltasks.signal_state).result(timeout=30)
    assert state == {"SIGCHLD": True, "SIGTERM": True, "SIGINT": True, "SIGPIPE": True,
                     "blocked": [], "wakeup_fd": -1}


def test_each_task_gets_cwd_sys_path_and_environment_back(make_pool, tmp_path):
    pool = make_pool(preload=["pooltasks"], workers=1)
    before = pool.submit(pooltasks.state).result(timeout=30)
    assert pool.submit(pooltasks.mess_up_state, str(tmp_path)).result(timeout=30) == \
        str(tmp_path)
    after = pool.submit(pooltasks.state).result(timeout=30)
    assert after == before
    assert after["added"] is None and after["has_path"]


def test_parent_cwd_and_sys_path_reach_the_template(make_pool, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pool = make_pool(preload=["pooltasks"], workers=1)
    state = pool.submit(pooltasks.state).result(timeout=30)
    assert state["cwd"] == str(tmp_path)
    assert str(pathlib.Path(pooltasks.__file__).parent) in state["path"]


# -- output capture and metrics ------------------------------------------------------------

def test_stdout_and_stderr_are_captured_per_task(shared_pool):
    first = shared_pool.submit(pooltasks.chatter, "one")
    assert first.result(timeout=30) == "one"
    assert "py-out one" in first.stdout and "c-out one" in first.stdout
    assert "py-err one" in first.stderr and "sub-err one" in first.stderr
    second = shared_pool.submit(pooltasks.chatter, "two")
    second.result(timeout=30)
    assert "one" not in second.stdout + second.stderr


def test_metrics_describe_the_task(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    slow = pool.submit(pooltasks.sleep, 0.2, "x")
    queued = pool.submit(pooltasks.burn, 0.1)
    assert slow.result(timeout=30) == "x"
    queued.result(timeout=30)
    metrics = slow.metrics
    assert isinstance(metrics, TaskMetrics)
    assert metrics.wall >= 0.2 and metrics.cpu < metrics.wall
    assert metrics.pid == pool.worker_pids()[0] and metrics.worker_id == slow.worker_id
    assert queued.metrics.queue_wait >= metrics.wall
    assert queued.metrics.cpu >= 0.1
    assert metrics.spilled is False and metrics.result_bytes > 0
    assert metrics.node == os.uname().nodename


def test_peak_rss_is_per_task_not_a_lifetime_watermark(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    big = pool.submit(pooltasks.allocate, 300)
    big.result(timeout=60)
    small = pool.submit(pooltasks.double, 1)
    small.result(timeout=30)
    assert big.metrics.peak_rss_scope == "task"
    assert big.metrics.peak_rss >= 300 << 20
    assert small.metrics.peak_rss < 200 << 20
    assert small.metrics.pid == big.metrics.pid


def test_memory_figures_come_from_the_cgroup_limit_when_there_is_one(shared_pool):
    shared_pool.submit(pooltasks.double, 1).result(timeout=30)
    report = shared_pool.memory()
    expected = memory.read_limits()
    assert report["source"] == expected.source
    assert report["limit"] == expected.limit
    template = report["processes"]["template"]
    assert template["pss"] > 0 and template["uss"] <= template["rss"]
    workers = [name for name in report["processes"] if name != "template"]
    assert workers


# -- hooks ---------------------------------------------------------------------------------

def test_hooks_fire_on_every_path_and_a_raising_handler_breaks_nothing(make_pool, caplog):
    events = []

    def bad_handler(*args):
        raise RuntimeError("handler bug")

    pool = make_pool(
        preload=["pooltasks"], workers=2,
        on_submit=[bad_handler, lambda info: events.append(("submit", info.name))],
        on_complete=[bad_handler,
                     lambda info, future, metrics: events.append(
                         ("complete", info.name, metrics is not None))],
        on_shutdown=[bad_handler, lambda p: events.append(("shutdown", p is pool))])
    with caplog.at_level(logging.ERROR, logger="hotstart.pool"):
        assert pool.submit(pooltasks.double, 2).result(timeout=30) == 4
        with pytest.raises(Exception):
            pool.submit(pooltasks.raise_value_error, "x").result(timeout=30)
        with pytest.raises(Exception):
            pool.schedule(pooltasks.sleep, (30,), timeout=0.2).result(timeout=30)
        with pytest.raises(Exception):
            pool.submit(pooltasks.exit_with, 4).result(timeout=30)
        blocker = pool.submit(pooltasks.sleep, 0.5)
        blocker2 = pool.submit(pooltasks.sleep, 0.5)
        cancelled = pool.submit(pooltasks.double, 3)
        assert cancelled.cancel()
        blocker.result(timeout=30), blocker2.result(timeout=30)
        pool.shutdown(wait=True)
    completes = [e for e in events if e[0] == "complete"]
    assert ("complete", "double", True) in completes
    assert ("complete", "raise_value_error", True) in completes  # it ran: metrics exist
    assert ("complete", "sleep", False) in completes  # the timeout: no metrics
    assert ("complete", "exit_with", False) in completes  # the crash: no metrics
    assert completes.count(("complete", "double", False)) == 1  # the cancelled one
    assert len(completes) == 7
    assert [e for e in events if e[0] == "submit"] == [
        ("submit", n) for n in ["double", "raise_value_error", "sleep", "exit_with", "sleep",
                                "sleep", "double"]]
    assert events.count(("shutdown", True)) == 1
    assert "handler bug" in caplog.text or "hook" in caplog.text
    assert sum("hook" in r.getMessage() for r in caplog.records) == 7 + 7 + 1


def test_on_complete_runs_before_the_result_is_visible(make_pool):
    seen = []
    pool = make_pool(preload=["pooltasks"], workers=1,
                     on_complete=lambda info, future, metrics: seen.append(future.done()))
    pool.submit(pooltasks.double, 1).result(timeout=30)
    assert seen == [False]


# -- async ---------------------------------------------------------------------------------

def test_async_methods_work_from_successive_event_loops(shared_pool):
    async def one(x):
        return await shared_pool.asubmit(pooltasks.double, x)

    assert asyncio.run(one(1)) == 2
    assert asyncio.run(one(2)) == 4  # a second loop: nothing was bound to the first

    async def many():
        results = [r async for r in shared_pool.amap(pooltasks.double, range(4))]
        gathered = await asyncio.gather(*(shared_pool.asubmit(pooltasks.double, i)
                                          for i in range(4)))
        timed = await shared_pool.ascheduled(pooltasks.double, (5,), timeout=30)
        return results, gathered, timed

    assert asyncio.run(many()) == ([0, 2, 4, 6], [0, 2, 4, 6], 10)


def test_cancelling_an_awaiting_coroutine_kills_its_worker(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)

    async def main():
        task = asyncio.ensure_future(pool.asubmit(pooltasks.sleep, 60))
        await asyncio.sleep(0)
        pid = await asyncio.to_thread(wait_until, lambda: pool.worker_pids())
        await asyncio.to_thread(wait_until, lambda: any(
            w.state == "busy" for w in pool.workers()))
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return pid[0]

    pid = asyncio.run(main())
    wait_until(lambda: not alive(pid))
    assert pool.submit(pooltasks.double, 4).result(timeout=30) == 8


def test_async_context_manager_shuts_down(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)

    async def main():
        async with pool:
            return await pool.asubmit(pooltasks.double, 3)

    assert asyncio.run(main()) == 6
    assert not alive(pool.template_pid)


def test_parent_signal_handlers_do_not_leak_into_the_pool(make_pool):
    previous = signal.signal(signal.SIGTERM, lambda *a: None)
    try:
        pool = make_pool(preload=["pooltasks"], workers=1)
        assert pool.submit(pooltasks.signal_state).result(timeout=30)["SIGTERM"] is True
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_modules_a_task_imports_are_reported_as_preload_candidates(make_pool):
    pool = make_pool(preload=["pooltasks"], workers=1)
    first = pool.submit(pooltasks.modules_loaded, ["decimal"])
    assert first.result(timeout=30) == {"decimal": False}

    def import_decimal():
        import decimal  # noqa: F401

    imported = pool.submit(import_decimal)
    imported.result(timeout=30)
    assert "decimal" in imported.metrics.imported
    again = pool.submit(import_decimal)
    again.result(timeout=30)
    assert "decimal" not in again.metrics.imported  # the worker kept it
    assert pool.imported_by_tasks()["decimal"] == 1
