"""CPython's own `concurrent.futures` executor tests, unchanged, run against WarmPool.

The executor, wait, as-completed and shutdown tests of ``test.test_concurrent_futures``
(the ``ProcessPoolExecutorTest``, ``WaitTests``, ``AsCompletedTests`` and
``ProcessPoolShutdownTest`` suites: 45 tests) run with ``WarmPool`` as the executor type,
``max_workers=`` mapped to ``workers=``. The tests of ProcessPoolExecutor's internals are
listed in `EXCLUDED`, each with the reason it does not apply (and, where the behaviour it
checks has a WarmPool form, where that is tested); everything else must pass.

The tests ship with the interpreter (the ``test`` package): where an interpreter lacks
``test.test_concurrent_futures`` (3.11 and 3.12 builds here ship without it), this module is
skipped, saying so.
"""

from __future__ import annotations

import unittest
from typing import ClassVar

import pytest

from hotstart.pool import WarmPool

try:
    from test.test_concurrent_futures import (
        test_as_completed,
        test_process_pool,
        test_shutdown,
        test_wait,
        util,
    )
except ImportError as exc:  # a Python built or packaged without its test suite
    pytest.skip(f"this interpreter has no test.test_concurrent_futures ({exc}): CPython's "
                f"executor tests run where it is installed (3.13 here)", allow_module_level=True)

_MP = "ProcessPoolExecutor's multiprocessing context (mp_context, get_context())"
_PRIVATE = "ProcessPoolExecutor's private attributes"

# test name -> why it does not apply to WarmPool (and where WarmPool's form is tested).
EXCLUDED = {
    # ProcessPoolExecutorTest
    "test_killed_child": f"reads {_PRIVATE} (_processes) and asserts ProcessPoolExecutor's "
                         "contract that one dead worker breaks the pool: WarmPool's is the "
                         "opposite (that task alone fails with WorkerCrashed; "
                         "test_warm_failures.py)",
    "test_max_workers_too_large": "Windows only (CPython skips it elsewhere)",
    "test_max_workers_negative": "asserts the wording of ProcessPoolExecutor's message about "
                                 "its max_workers= keyword; WarmPool's keyword is workers= and "
                                 "its ValueError names it (test_executor_api.py)",
    "test_traceback": "asserts the remote traceback's class is ProcessPoolExecutor's private "
                      "_RemoteTraceback; WarmPool's is a RemoteError with the same role "
                      "(the task's own exception raised, the worker's traceback its "
                      "__cause__, printed with it: test_executor_api.py)",
    "test_ressources_gced_in_workers": f"needs {_MP} to build a multiprocessing Manager whose "
                                       "proxies only pickle into multiprocessing's children",
    "test_saturation": f"reads {_PRIVATE} (_processes, _max_workers) and {_MP}",
    "test_idle_process_reuse_one": f"reads {_PRIVATE} (_processes, _max_workers) and {_MP}",
    "test_idle_process_reuse_multiple": f"reads {_PRIVATE} (_processes, _max_workers) and "
                                        f"{_MP}",
    "test_max_tasks_per_child": f"ProcessPoolExecutor's max_tasks_per_child= and {_MP}; "
                                "WarmPool's is max_tasks_per_worker= (test_warm.py)",
    "test_max_tasks_per_child_defaults_to_spawn_context": "ProcessPoolExecutor's start-method "
                                                          "default (_mp_context)",
    "test_max_tasks_early_shutdown": f"ProcessPoolExecutor's max_tasks_per_child= and {_MP}",
    "test_python_finalization_error": "patches the thread creation of ProcessPoolExecutor's "
                                      "queue feeder thread (WarmPool has none) and expects "
                                      "BrokenProcessPool, with " + _MP,
    # ProcessPoolShutdownTest
    "test_interpreter_shutdown": "its child script imports the executor by name from "
                                 "concurrent.futures; WarmPool's form: test_executor_api.py "
                                 "(the pool at interpreter exit)",
    "test_submit_after_interpreter_shutdown": "its child script imports the executor by name "
                                              "from concurrent.futures; WarmPool's form: "
                                              "test_executor_api.py",
    "test_hang_gh83386": "its child script imports the executor by name from "
                         "concurrent.futures; WarmPool's form: test_executor_api.py",
    "test_cancel_futures": "asserts that some of 50 tasks submitted to a fresh executor were "
                           "already running when shutdown(cancel_futures=True) came: "
                           "ProcessPoolExecutor pre-spawns fork workers and queues calls ahead "
                           "of them; WarmPool forks its workers on demand, so all 50 are still "
                           "queued and rightly cancelled. The contract (queued cancelled, "
                           "running completed) is tested in test_executor_api.py",
    "test_processes_terminate": f"reads {_PRIVATE} (_processes) and {_MP}",
    "test_context_manager_shutdown": f"builds a ProcessPoolExecutor itself and reads {_PRIVATE}",
    "test_del_shutdown": f"builds a ProcessPoolExecutor itself and reads {_PRIVATE} "
                         "(_executor_manager_thread, _call_queue); WarmPool's form: "
                         "test_executor_api.py (pools dropped without shutdown)",
    "test_shutdown_no_wait": f"builds a ProcessPoolExecutor itself and reads {_PRIVATE}",
}

SUITES = (test_process_pool.ProcessPoolExecutorTest, test_wait.WaitTests,
          test_as_completed.AsCompletedTests, test_shutdown.ProcessPoolShutdownTest)


class WarmPoolMaxWorkers(WarmPool):
    """WarmPool built the way CPython's tests build an executor: ``max_workers=N``."""

    def __init__(self, max_workers: int | None = None, **options) -> None:
        super().__init__(workers=max_workers, **options)


class WarmPoolMixin(util.ExecutorMixin):
    executor_type = WarmPoolMaxWorkers
    executor_kwargs: ClassVar[dict] = {"preload": ["test.test_concurrent_futures.executor"]}


def _warm_pool_case(suite: type) -> type:
    """`suite` as a TestCase on WarmPool, without its excluded tests."""
    excluded = {name: None for name in EXCLUDED if hasattr(suite, name)}
    name = f"WarmPool{suite.__name__}"
    return type(name, (WarmPoolMixin, suite, util.BaseTestCase),
                {"__module__": __name__, "__qualname__": name, **excluded})


WarmPoolProcessPoolExecutorTest = _warm_pool_case(test_process_pool.ProcessPoolExecutorTest)
WarmPoolWaitTests = _warm_pool_case(test_wait.WaitTests)
WarmPoolAsCompletedTests = _warm_pool_case(test_as_completed.AsCompletedTests)
WarmPoolProcessPoolShutdownTest = _warm_pool_case(test_shutdown.ProcessPoolShutdownTest)
CASES = (WarmPoolProcessPoolExecutorTest, WarmPoolWaitTests, WarmPoolAsCompletedTests,
         WarmPoolProcessPoolShutdownTest)


def test_every_excluded_test_exists_and_the_rest_run():
    """The exclusion list names real tests of these suites (a renamed test upstream must
    not silently drop out), and every other test of them runs here."""
    loader = unittest.TestLoader()
    upstream = set()
    for suite in SUITES:
        upstream |= set(loader.getTestCaseNames(type("Probe", (suite, unittest.TestCase), {})))
    ours = set()
    for case in CASES:
        ours |= set(loader.getTestCaseNames(case))
    assert set(EXCLUDED) <= upstream
    assert ours == upstream - set(EXCLUDED)
    assert len(upstream) == 45 and len(ours) == 25
