"""Hot calls: ranking functions called by module-level code from the tracer's call rows.

Rows are built the way `tracer._call_stats` writes them: times in seconds, functions as
(file, first line, qualified name), builtins as ("~", 0, label).
"""

from __future__ import annotations

import pytest

from hotstart.measure.calls import hot_calls

TRACER = "/tmp/hotstart-inject-x1/sitecustomize.py"
STDLIB = "/usr/lib/python3.11"
SRC = "/srv/app/src"
SEARCH_PATH = [SRC, STDLIB, f"{STDLIB}/lib-dynload", "/venv/lib/python3.11/site-packages"]

# Functions (keys) as the call profiler names them.
WRAPPER = (TRACER, 120, "_install.<locals>.find_and_load")
FIND_AND_LOAD = ("<frozen importlib._bootstrap>", 1165, "_find_and_load")
FIND_SPEC = ("<frozen importlib._bootstrap>", 921, "_find_spec")
CALL_REMOVED = ("<frozen importlib._bootstrap>", 241, "_call_with_frames_removed")
IMPORT_MODULE = (f"{STDLIB}/importlib/__init__.py", 108, "import_module")
EXEC = ("~", 0, "<built-in method builtins.exec>")
BUILD_CLASS = ("~", 0, "<built-in method builtins.__build_class__>")

CONFIG = (f"{SRC}/app/config.py", 1, "<module>")
JOBS = (f"{SRC}/app/jobs.py", 1, "<module>")
MODELS = (f"{SRC}/app/models.py", 1, "<module>")
MODEL_BODY = (f"{SRC}/app/models.py", 20, "Model")  # a class body run by __build_class__

GET_LOGGER = (f"{SRC}/app/log.py", 10, "get_logger")
INSPECT_STACK = (f"{STDLIB}/inspect.py", 1735, "stack")
INSPECT_FRAMEINFO = (f"{STDLIB}/inspect.py", 1670, "getframeinfo")
RE_COMPILE = (f"{STDLIB}/re/__init__.py", 226, "compile")
RE_INTERNAL = (f"{STDLIB}/re/__init__.py", 272, "_compile")
RE_PARSE = (f"{STDLIB}/re/_parser.py", 509, "_parse")
RE_COMPILER = (f"{STDLIB}/re/_compiler.py", 738, "compile")
JOB_PARSE = (f"{SRC}/app/jobs.py", 40, "Job.parse")
REGISTRY_LOAD = (f"{SRC}/app/registry.py", 30, "Registry.load")  # a function, not module code
FINDER = ("/venv/lib/python3.11/site-packages/_virtualenv.py", 50, "_Finder.find_spec")
FIELD = (f"{SRC}/app/fields.py", 5, "field")
META_NEW = (f"{SRC}/app/meta.py", 8, "ModelMeta.__new__")
TYPE_NEW = ("~", 0, "<built-in method __new__ of type object at 0x7f3a2b1c0d80>")
FROMKEYS = ("~", 0, "<built-in method fromkeys of type object at 0x00007FFA12BC34D0>")
JOIN = ("<frozen posixpath>", 71, "join")
TINY = (f"{SRC}/app/util.py", 3, "tiny")

MODULE_FILES = {
    f"{SRC}/app/config.py": "app.config",
    f"{SRC}/app/jobs.py": "app.jobs",
    f"{SRC}/app/models.py": "app.models",
    f"{SRC}/app/log.py": "app.log",
}


def row(function, calls, self_s, total_s, callers=(), callees=()):
    return {"function": function, "calls": calls, "self": self_s, "total": total_s,
            "callers": list(callers), "callees": list(callees)}


def profile_rows():
    """A profiling run of `import app.config, app.jobs, app.models` (times in seconds)."""
    return [
        # The import machinery and module bodies: accounted for by the module tree.
        row(WRAPPER, 40, 0.001, 0.080, callers=[(FIND_AND_LOAD, 3, 0.02)]),
        row(FIND_AND_LOAD, 40, 0.002, 0.079, callers=[(WRAPPER, 40, 0.079)],
            callees=[(FIND_SPEC, 40, 0.01), (CALL_REMOVED, 40, 0.06)]),
        row(FIND_SPEC, 40, 0.001, 0.01, callers=[(FIND_AND_LOAD, 40, 0.01)],
            callees=[(FINDER, 40, 0.004)]),
        row(CALL_REMOVED, 40, 0.0, 0.06, callers=[(FIND_AND_LOAD, 40, 0.06)],
            callees=[(EXEC, 40, 0.06)]),
        row(EXEC, 40, 0.0, 0.06, callers=[(CALL_REMOVED, 40, 0.06)],
            callees=[(CONFIG, 1, 0.02), (JOBS, 1, 0.02), (MODELS, 1, 0.02)]),
        row(CONFIG, 1, 0.001, 0.02, callers=[(EXEC, 1, 0.02)],
            callees=[(GET_LOGGER, 1, 0.003), (FROMKEYS, 1, 0.0003)]),
        row(JOBS, 1, 0.001, 0.02, callers=[(EXEC, 1, 0.02)], callees=[(GET_LOGGER, 1, 0.003)]),
        row(MODELS, 1, 0.001, 0.02, callers=[(EXEC, 1, 0.02)],
            callees=[(GET_LOGGER, 1, 0.003), (RE_COMPILE, 2, 0.002), (BUILD_CLASS, 1, 0.006)]),
        row(IMPORT_MODULE, 2, 0.0, 0.005, callers=[(JOBS, 2, 0.005)]),
        # A finder on sys.meta_path: called by the machinery only.
        row(FINDER, 40, 0.004, 0.004, callers=[(FIND_SPEC, 40, 0.004)]),
        # The logger factory, called at module level by three modules; it imports a little
        # (through the tracer's wrapper) and spends most of its time in inspect.stack().
        row(GET_LOGGER, 3, 0.0002, 0.009,
            callers=[(CONFIG, 1, 0.0031), (JOBS, 1, 0.0030), (MODELS, 1, 0.0029)],
            callees=[(INSPECT_STACK, 3, 0.0084), (WRAPPER, 1, 0.0004)]),
        row(INSPECT_STACK, 3, 0.0004, 0.0084, callers=[(GET_LOGGER, 3, 0.0084)],
            callees=[(INSPECT_FRAMEINFO, 90, 0.008)]),
        row(INSPECT_FRAMEINFO, 90, 0.008, 0.008, callers=[(INSPECT_STACK, 90, 0.008)]),
        # re.compile: 2 calls from a module body, 5 more from a function at run time.
        row(RE_COMPILE, 7, 0.0001, 0.003,
            callers=[(MODELS, 2, 0.002), (JOB_PARSE, 5, 0.001)],
            callees=[(RE_INTERNAL, 7, 0.0029)]),
        row(RE_INTERNAL, 7, 0.0001, 0.0029, callers=[(RE_COMPILE, 7, 0.0029)],
            callees=[(RE_COMPILER, 2, 0.0028)]),
        row(RE_COMPILER, 2, 0.0005, 0.0028, callers=[(RE_INTERNAL, 2, 0.0028)],
            callees=[(RE_PARSE, 2, 0.002)]),
        row(RE_PARSE, 6, 0.002, 0.002, callers=[(RE_COMPILER, 2, 0.002), (RE_PARSE, 4, 0.0015)]),
        row(JOB_PARSE, 5, 0.0, 0.001, callers=[(REGISTRY_LOAD, 5, 0.001)],
            callees=[(RE_COMPILE, 5, 0.001)]),
        # A class statement: its body calls field() ten times; the metaclass runs too.
        row(BUILD_CLASS, 1, 0.0001, 0.006, callers=[(MODELS, 1, 0.006)],
            callees=[(MODEL_BODY, 1, 0.0015), (META_NEW, 1, 0.0044)]),
        row(MODEL_BODY, 1, 0.0, 0.0015, callers=[(BUILD_CLASS, 1, 0.0015)],
            callees=[(FIELD, 10, 0.0015)]),
        row(FIELD, 10, 0.0015, 0.0015, callers=[(MODEL_BODY, 10, 0.0015)]),
        row(META_NEW, 1, 0.0039, 0.0044, callers=[(BUILD_CLASS, 1, 0.0044)],
            callees=[(TYPE_NEW, 1, 0.0005)]),
        row(TYPE_NEW, 1, 0.0005, 0.0005, callers=[(META_NEW, 1, 0.0005)]),
        # A builtin called at module level, labelled with its address by the profiler.
        row(FROMKEYS, 1, 0.0003, 0.0003, callers=[(CONFIG, 1, 0.0003)]),
        # os.path.join from a frozen module, called at module level.
        row(JOIN, 4, 0.00015, 0.00015, callers=[(JOBS, 4, 0.00015)]),
        # Too cheap to list with the default threshold (50 us < 100 us).
        row(TINY, 1, 0.00005, 0.00005, callers=[(CONFIG, 1, 0.00005)]),
    ]


@pytest.fixture
def calls():
    found = hot_calls(profile_rows(), TRACER, MODULE_FILES, SEARCH_PATH)
    return {call.function: call for call in found}


def test_machinery_module_bodies_and_internal_helpers_are_left_out(calls):
    assert set(calls) == {
        "app.log:get_logger", "re:compile", "app.fields:field", "app.meta:ModelMeta.__new__",
        "<built-in method fromkeys of type object>", "posixpath:join",
    }


def test_functions_called_by_machinery_only_are_left_out(calls):
    assert not any("find_spec" in name or "_Finder" in name for name in calls)
    assert not any("find_and_load" in name for name in calls)
    assert not any("import_module" in name for name in calls)


def test_logger_factory_called_by_three_modules(calls):
    call = calls["app.log:get_logger"]
    assert call.calls == 3
    assert call.file == f"{SRC}/app/log.py" and call.line == 10
    assert [c.function for c in call.callers] == ["app.config", "app.jobs", "app.models"]
    assert [c.calls for c in call.callers] == [1, 1, 1]
    assert [c.file for c in call.callers] == [
        f"{SRC}/app/config.py", f"{SRC}/app/jobs.py", f"{SRC}/app/models.py"]
    # Seconds become microseconds.
    assert call.cumulative_us == pytest.approx(9_000.0)
    assert call.self_us == pytest.approx(200.0)
    assert call.callers[0].cumulative_us == pytest.approx(3_100.0)


def test_where_the_time_went_names_inspect_stack_but_not_the_import_wrapper(calls):
    call = calls["app.log:get_logger"]
    assert [c.function for c in call.callees] == ["inspect:stack"]
    assert call.callees[0].calls == 3
    assert call.callees[0].cumulative_us == pytest.approx(8_400.0)
    assert call.callees[0].file == f"{STDLIB}/inspect.py"
    # inspect.stack itself is not a separate hot call: get_logger is where it comes from.
    assert "inspect:stack" not in calls and "inspect:getframeinfo" not in calls


def test_imports_us_is_the_time_in_the_tracers_import_wrapper(calls):
    call = calls["app.log:get_logger"]
    assert call.imports_us == pytest.approx(400.0)
    assert call.own_us == pytest.approx(8_600.0)


def test_only_the_module_level_share_of_a_function_is_counted(calls):
    # re.compile: 2 of its 7 calls (2 ms of 3 ms) came from a module body.
    call = calls["re:compile"]
    assert call.calls == 2
    assert call.cumulative_us == pytest.approx(2_000.0)
    assert call.self_us == pytest.approx(100.0 * 2 / 3)
    assert [c.function for c in call.callers] == ["app.models"]
    assert call.callees[0].function == "re:_compile"
    assert call.callees[0].cumulative_us == pytest.approx(2_900.0 * 2 / 3)
    # Its internal steps, called by other functions, are not listed on their own.
    assert not {"re:_compile", "re._parser:_parse", "re._compiler:compile"} & set(calls)


def test_calls_from_a_class_body_count_as_module_level(calls):
    call = calls["app.fields:field"]
    assert call.calls == 10
    assert [c.function for c in call.callers] == ["app.models:Model"]
    assert "app.models:Model" not in calls  # the class body itself is module code


def test_metaclass_hooks_called_by_a_class_statement_are_listed(calls):
    call = calls["app.meta:ModelMeta.__new__"]
    assert call.cumulative_us == pytest.approx(4_400.0)
    assert [c.function for c in call.callers] == ["(class statements)"]
    assert call.callers[0].file is None
    # Builtin callees lose their memory address too.
    assert [c.function for c in call.callees] == ["<built-in method __new__ of type object>"]


def test_builtin_labels_lose_their_address(calls):
    call = calls["<built-in method fromkeys of type object>"]
    assert call.file is None and call.line is None
    assert call.callers[0].function == "app.config"


def test_frozen_modules_are_named_from_their_file(calls):
    assert calls["posixpath:join"].calls == 4
    assert calls["posixpath:join"].file == "<frozen posixpath>"


def test_ranked_by_own_time():
    found = hot_calls(profile_rows(), TRACER, MODULE_FILES, SEARCH_PATH)
    own = [call.own_us for call in found]
    assert own == sorted(own, reverse=True)
    assert [call.function for call in found][:3] == [
        "app.log:get_logger", "app.meta:ModelMeta.__new__", "re:compile"]


def test_min_us_and_limit():
    rows = profile_rows()
    everything = hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=0)
    assert "app.util:tiny" in {c.function for c in everything}
    assert len(hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=0, limit=2)) == 2
    expensive = hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=3_000)
    assert [c.function for c in expensive] == ["app.log:get_logger", "app.meta:ModelMeta.__new__"]
    assert hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=1e9) == []


def test_own_us_threshold_applies_after_subtracting_imports():
    # 300 us cumulative, of which 250 us were an import it made: 50 us own, below 100 us.
    rows = [row(GET_LOGGER, 1, 0.00001, 0.0003, callers=[(CONFIG, 1, 0.0003)],
                callees=[(WRAPPER, 1, 0.00025)])]
    assert hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH) == []
    assert hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=40)[0].own_us == \
        pytest.approx(50.0)


def test_module_names_come_from_the_longest_search_path_entry():
    site = "/venv/lib/python3.11/site-packages"
    body = ("/srv/other/script.py", 1, "<module>")
    rows = [row((f"{site}/yaml/constructor.py", 30, "add_constructor"), 40, 0.001, 0.001,
                callers=[(body, 40, 0.001)]),
            row((f"{site}/pkg/__init__.py", 2, "setup"), 1, 0.001, 0.001,
                callers=[(body, 1, 0.001)])]
    # /venv/lib/python3.11 is a prefix of site-packages: the longer entry must win.
    found = hot_calls(rows, None, {}, ["/venv/lib/python3.11", site])
    assert {c.function for c in found} == {"yaml.constructor:add_constructor", "pkg:setup"}
    # A file under no search path entry is named after its file.
    assert found[0].callers[0].function == "script"


def test_rows_with_no_time_or_no_callers_are_skipped():
    rows = [row(GET_LOGGER, 1, 0.0, 0.0, callers=[(CONFIG, 1, 0.0)]),
            row(FIELD, 1, 0.01, 0.01, callers=[])]
    assert hot_calls(rows, TRACER, MODULE_FILES, SEARCH_PATH, min_us=0) == []


def test_rows_may_come_as_lists_after_a_literal_round_trip():
    # The tracer's report is read back with ast.literal_eval: tuples stay tuples, but a JSON
    # detour (or another writer) gives lists; both must work.
    rows = [{"function": list(GET_LOGGER), "calls": 1, "self": 0.001, "total": 0.002,
             "callers": [[list(CONFIG), 1, 0.002]],
             "callees": [[list(INSPECT_STACK), 1, 0.001]]}]
    [call] = hot_calls(iter(rows), TRACER, MODULE_FILES, SEARCH_PATH)
    assert call.function == "app.log:get_logger"
    assert call.callees[0].function == "inspect:stack"
