"""Source-code tasks on the local warm pool (`run_code`), the memory figure every task's
metrics carry, and what the Dask and Ray backends share with the pool (`Backend`).

The same `run_code` is tested on Dask and Ray in tests/backends."""

from __future__ import annotations

import os
import pickle

import pytest

CODE = """\
import os

def add(a, b=1):
    return a + b

def env(name):
    return os.environ.get(name)

def fails():
    value = 1
    return value / 0

def imports_helper():
    import code_helper
    return code_helper.VALUE

NOT_A_FUNCTION = 3
"""


def test_run_code_calls_the_function_with_its_arguments(shared_pool):
    assert shared_pool.run_code(CODE, "add", (2,), {"b": 5}).result(timeout=60) == 7
    future = shared_pool.run_code(CODE, "add", [1])
    assert future.result(timeout=60) == 2
    assert future.info.name == "run_code:add"
    assert future.metrics is not None and future.metrics.wall >= 0


def test_an_exception_of_the_function_is_itself_with_the_codes_lines_in_its_traceback(
        shared_pool):
    from hotstart.pool import RemoteError
    from hotstart.pool._code import code_filename

    with pytest.raises(ZeroDivisionError) as caught:
        shared_pool.run_code(CODE, "fails").result(timeout=60)
    cause = caught.value.__cause__
    assert isinstance(cause, RemoteError)
    # The stable file name, the code's own line and its text.
    assert f'File "{code_filename(CODE)}", line 11, in fails' in cause.remote_traceback
    assert "return value / 0" in cause.remote_traceback


@pytest.mark.parametrize("code, function, expected", [
    ("def f(:\n    pass\n", "f", "line 1: SyntaxError: "),
    ("x = 1\n\ndef f():\n    return (\n", "f", "line 4: SyntaxError: "),
    (CODE, "missing", "the code defines no 'missing' (it defines: add, env, fails, "
                      "imports_helper)"),
    (CODE, "NOT_A_FUNCTION", "'NOT_A_FUNCTION' is a int, not a function"),
    ("import os\nraise ValueError('bad config')\ndef f(): pass\n", "f",
     "line 2: the code raised ValueError while it was being run: bad config"),
    (CODE, "not an identifier", "function must be a function name"),
])
def test_code_that_cannot_run_its_function_is_a_code_error_naming_the_line(
        shared_pool, code, function, expected):
    from hotstart.pool import CodeError, RemoteError

    with pytest.raises(CodeError) as caught:
        shared_pool.run_code(code, function).result(timeout=60)
    assert isinstance(caught.value, RemoteError)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message  # one line
    assert message.startswith(("<hotstart-code-", "run_code:"))


def test_env_updates_and_python_path_hold_for_the_call_only(shared_pool, tmp_path,
                                                             monkeypatch):
    first = tmp_path / "first"
    second = tmp_path / "second"
    for directory, value in ((first, 1), (second, 2)):
        directory.mkdir()
        (directory / "code_helper.py").write_text(f"VALUE = {value}\n")
    pool = shared_pool
    assert pool.run_code(CODE, "env", ("HOTSTART_T_X",),
                         env_updates={"HOTSTART_T_X": "set"}).result(timeout=60) == "set"
    assert pool.run_code(CODE, "env", ("HOTSTART_T_X",)).result(timeout=60) is None
    # None unsets a variable the worker has (HOME passes the scrub).
    assert pool.run_code(CODE, "env", ("HOME",), env_updates={"HOME": None}
                         ).result(timeout=60) is None
    assert pool.run_code(CODE, "env", ("HOME",)).result(timeout=60) is not None
    # Each call imports its own `code_helper`: the first call's does not stay behind.
    results = {pool.run_code(CODE, "imports_helper", python_path=[str(directory)]
                             ).result(timeout=60) for directory in (first, second, first)}
    assert results == {1, 2}
    with pytest.raises(ModuleNotFoundError):
        pool.run_code(CODE, "imports_helper").result(timeout=60)


def test_bad_env_updates_and_python_path_are_refused_before_or_at_the_call(shared_pool):
    from hotstart.pool import CodeError

    with pytest.raises(TypeError, match="python_path= takes a list"):
        shared_pool.run_code(CODE, "add", (1,), python_path="/tmp")
    with pytest.raises(CodeError, match="is not an environment variable name"):
        shared_pool.run_code(CODE, "add", (1,), env_updates={"A=B": "x"}).result(timeout=60)


def test_the_same_code_gets_the_same_file_name_and_other_code_another():
    from hotstart.pool._code import code_filename

    assert code_filename("x = 1\n") == code_filename("x = 1\n")
    assert code_filename("x = 1\n") != code_filename("x = 2\n")


def test_a_code_error_survives_pickling_with_its_line():
    from hotstart.pool import CodeError

    error = pickle.loads(pickle.dumps(CodeError("<hotstart-code-x> line 3: SyntaxError: y",
                                                line=3)))
    assert isinstance(error, CodeError) and error.line == 3
    assert str(error) == "<hotstart-code-x> line 3: SyntaxError: y"


def test_every_tasks_metrics_carry_the_memory_figure_of_where_it_ran(shared_pool):
    from hotstart.pool import memory

    future = shared_pool.submit(os.getpid)
    future.result(timeout=60)
    figure = future.metrics.memory
    assert isinstance(figure, memory.MemoryLimits)
    assert figure.source == memory.read_limits().source
    assert figure.current is None or figure.current > 0


def test_the_warm_pool_is_the_local_backend_of_the_shared_surface(shared_pool):
    from hotstart.pool.backends import Backend

    assert isinstance(shared_pool, Backend)
    assert shared_pool.engine == "local"
    reports = shared_pool.preload_reports()
    assert list(reports) == ["template"]
    assert [load.module for load in reports["template"].modules] == ["json", "pooltasks"]


def test_a_relative_python_path_entry_is_dropped_even_after_the_code_changes_directory(
        make_pool, tmp_path, monkeypatch):
    for name, value in (("first", "A"), ("second", "B")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "code_helper.py").write_text(f"VALUE = {value!r}\n")
    monkeypatch.chdir(tmp_path)  # the pool's workers start here
    pool = make_pool(workers=1)
    moves = "import os, code_helper\nos.chdir('/')\ndef f():\n    return code_helper.VALUE\n"
    plain = "import code_helper\ndef f():\n    return code_helper.VALUE\n"
    assert pool.run_code(moves, "f", python_path=["first"]).result(timeout=60) == "A"
    assert pool.run_code(plain, "f", python_path=[str(tmp_path / "second")]
                         ).result(timeout=60) == "B"


@pytest.mark.parametrize("code, options, expected", [
    ("x = " + "-" * 100_000 + "1\ndef f(): pass\n", {}, "the code nests too deeply"),
    ("import sys\nsys.exit(3)\ndef f(): pass\n", {},
     "line 2: the code raised SystemExit while it was being run"),
    (CODE, {"python_path": [5]}, "python_path: 5 is not a directory path"),
    (CODE, {"python_path": [b"/tmp"]}, "python_path: b'/tmp' is not a directory path"),
    (CODE, {"env_updates": {"X": "\ud800"}}, "env_updates['X'] must be a str"),
])
def test_hostile_inputs_are_one_line_code_errors(shared_pool, code, options, expected):
    from hotstart.pool import CodeError

    with pytest.raises(CodeError) as caught:
        shared_pool.run_code(code, "add" if code is CODE else "f", (1,) if code is CODE
                             else (), **options).result(timeout=60)
    assert expected in str(caught.value) and "\n" not in str(caught.value)
    # The worker serves on, with nothing of it left.
    assert shared_pool.run_code(CODE, "add", (1,)).result(timeout=60) == 2
