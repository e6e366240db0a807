"""Attacks on the version-tag shortcuts of the worker's isolation checks (`_dictversion`,
`_isolation.Guard`, `_worker._environment_snapshot`, commit e2a015a), and on the
``complete`` hooks of cancelled tasks. One worker: what one task leaves, the next sees.
"""

from __future__ import annotations

import builtins
import os
import sys
import threading
import time

import pooltasks
import pytest


@pytest.fixture
def one(make_pool):
    pool = make_pool(preload=["json", "pooltasks"], workers=1)
    assert pool.submit(pooltasks.double, 1).result(timeout=30) == 2
    return pool


def _env(name):
    import subprocess

    c = os.environ.get(name)
    shell = subprocess.run(["sh", "-c", f'printf %s "${{{name}-unset}}"'], capture_output=True,
                           text=True, check=False).stdout
    import ctypes

    libc = ctypes.CDLL(None)
    libc.getenv.restype = ctypes.c_char_p
    raw = libc.getenv(name.encode())
    return c, shell, raw.decode() if raw is not None else None


def _env_update():
    os.environ.update({"ATTACK_A": "1", "HOME": "/nowhere"})
    return os.getpid()


def _env_delete():
    del os.environ["PATH"]
    os.environ.pop("HOME", None)
    return os.getpid()


def _env_putenv_only():
    os.putenv("ATTACK_P", "p")
    os.unsetenv("HOME")
    return os.getpid()


def _env_posix_putenv():
    import posix

    posix.putenv(b"ATTACK_X", b"x")  # not through the os wrapper
    return os.getpid()


def _libc():
    import ctypes

    return ctypes.CDLL(None)


def _env_setenv_from_c():
    libc = _libc()
    libc.setenv(b"ATTACK_C", b"c", 1)  # as a C library would: os.environ never hears of it
    libc.setenv(b"HOME", b"/from-c", 1)
    libc.unsetenv(b"PATH")
    return os.getpid()


def _env_clearenv_from_c():
    libc = _libc()
    libc.clearenv()  # environ is NULL afterwards
    libc.setenv(b"ATTACK_C", b"c", 1)
    return os.getpid()


def _env_same_value_again():
    os.putenv("HOME", os.environ["HOME"])  # a new string in HOME's slot, the same value
    return os.getpid()


def _env_clear_and_restore_same():
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(saved)
    return os.getpid()


def _env_set_in_thread_joined():
    t = threading.Thread(target=lambda: os.environ.__setitem__("ATTACK_T", "t"))
    t.start()
    t.join()
    return os.getpid()


def _env_through_environb():
    os.environb[b"ATTACK_A"] = b"b"
    os.environ.setdefault("ATTACK_T", "s")
    del os.environb[b"HOME"]
    return os.getpid()


def _look():
    return (os.getpid(), {name: _env(name) for name in
                          ("ATTACK_A", "HOME", "PATH", "ATTACK_P", "ATTACK_T", "ATTACK_X",
                           "ATTACK_C")})


@pytest.mark.parametrize("attack", [_env_update, _env_delete, _env_putenv_only,
                                    _env_posix_putenv, _env_setenv_from_c,
                                    _env_clearenv_from_c, _env_same_value_again,
                                    _env_clear_and_restore_same, _env_set_in_thread_joined,
                                    _env_through_environb])
def test_environment_changes_are_put_back(one, attack):
    before = one.submit(_look).result(timeout=30)
    # Several rounds: the cached snapshot (and its version) is reused after the first.
    for _ in range(3):
        assert one.submit(attack).result(timeout=30) == before[0]
        assert one.submit(_look).result(timeout=30) == before
        assert one.submit(pooltasks.double, 2).result(timeout=30) == 4
        assert one.submit(_look).result(timeout=30) == before


def test_environment_after_batched_tasks_in_between(one):
    before = one.submit(_look).result(timeout=30)
    futures = []
    for i in range(200):
        futures.append(one.submit(_env_update if i % 7 == 3 else _look))
    for i, future in enumerate(futures):
        value = future.result(timeout=30)
        if i % 7 != 3:
            assert value == before, i


def _import_then_delete():
    import colorsys  # noqa: F401 - not preloaded

    del sys.modules["colorsys"]
    del sys.modules["json"]
    return "colorsys" in sys.modules, "json" in sys.modules


def _replace_module_same_size():
    import types

    sys.modules["json"] = types.ModuleType("json")
    sys.modules["os.path"] = types.ModuleType("fake")
    return len(sys.modules)


def _modules_view():
    import json

    return json.dumps([1]), sys.modules["os.path"] is os.path, \
        getattr(sys.modules["json"], "dumps", None) is not None


@pytest.mark.parametrize("attack", [_import_then_delete, _replace_module_same_size])
def test_sys_modules_changes_are_put_back(one, attack):
    before = one.submit(_modules_view).result(timeout=30)
    for _ in range(3):
        one.submit(attack).result(timeout=30)
        assert one.submit(_modules_view).result(timeout=30) == before


def _builtins_in_place():
    builtins.abs = lambda value: "not abs"
    builtins.__dict__["min"] = max
    builtins.__dict__.setdefault("attack_name", 1)
    raise RuntimeError("and raised")  # restore(everything=True) path


def _builtins_view():
    return abs(-2), min(1, 2), hasattr(builtins, "attack_name")


def test_builtins_changes_are_put_back_when_the_task_raises(one):
    before = one.submit(_builtins_view).result(timeout=30)
    assert before == (2, 1, False)
    for _ in range(3):
        with pytest.raises(Exception, match="and raised"):
            one.submit(_builtins_in_place).result(timeout=30)
        assert one.submit(_builtins_view).result(timeout=30) == before


def _builtins_via_exec():
    exec("abs = None\nattack_exec = 1", vars(builtins))  # noqa: S102 - the attack
    return "ok"


def test_builtins_changed_by_exec_in_their_namespace(one):
    before = one.submit(_builtins_view).result(timeout=30)
    one.submit(_builtins_via_exec).result(timeout=30)
    assert one.submit(_builtins_view).result(timeout=30) == before
    assert one.submit(eval, "'attack_exec' in dir(__import__('builtins'))").result(
        timeout=30) is False


def test_complete_hooks_fire_once_per_task_with_cancels_and_shutdown(make_pool, tmp_path):
    seen: dict[int, int] = {}
    lock = threading.Lock()

    def hook(info, future, metrics):
        with lock:
            seen[info.task_id] = seen.get(info.task_id, 0) + 1

    pool = make_pool(preload=["pooltasks"], workers=2, on_complete=hook)
    assert pool.submit(pooltasks.double, 1).result(timeout=30) == 2
    futures = [pool.submit(pooltasks.record_call, str(tmp_path / "c"),
                           "exit" if i % 41 == 9 else None) for i in range(400)]
    for future in futures[::3]:
        future.cancel()
    time.sleep(0.03)
    pool.shutdown(wait=True, cancel_futures=True)
    deadline = time.monotonic() + 5
    while not all(f.done() for f in futures) and time.monotonic() < deadline:
        time.sleep(0.01)
    ids = [f.info.task_id for f in futures if f.done()]
    assert all(seen.get(i) == 1 for i in ids), {i: seen.get(i) for i in ids
                                                 if seen.get(i) != 1}


# Found (defect 5, fixed): TaskFuture.cancel holds the future's condition while Future.cancel
# runs the done callbacks (the standard Future runs them after releasing it). Callbacks that
# cancel a sibling ("one fails, cancel the rest"), fired from two threads at once, deadlock:
# each thread holds its own future's lock and waits for the other's.
def test_done_callbacks_cancelling_each_other_from_two_threads_do_not_deadlock():
    from hotstart.pool.records import TaskInfo
    from hotstart.pool.warm import TaskFuture

    a = TaskFuture(TaskInfo(1, "a", time.monotonic(), None), lambda future: None)
    b = TaskFuture(TaskInfo(2, "b", time.monotonic(), None), lambda future: None)
    barrier = threading.Barrier(2, timeout=5)

    def cancel_sibling(sibling):
        def callback(_future):
            try:
                barrier.wait()  # both threads inside their own cancel()
            except threading.BrokenBarrierError:
                pass
            sibling.cancel()
        return callback

    a.add_done_callback(cancel_sibling(b))
    b.add_done_callback(cancel_sibling(a))
    threads = [threading.Thread(target=f.cancel, daemon=True) for f in (a, b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=3)
    assert not any(thread.is_alive() for thread in threads), "deadlocked in cancel()"
