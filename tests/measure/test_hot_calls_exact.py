"""Hot calls that read what removing the call saves, on real profiled interpreters.

- the call profiler's own overhead is measured per call event and taken off (calibration);
  the time shown comes from sampling a run without the profiler;
- the leaf that burns the time is named, with the chain down to it;
- a time is listed once (a class made inside a function, code a function `exec`s);
- code run as `__main__` is the job, not import-time work (profile and audit).
"""

from __future__ import annotations

import pytest

from hotstart.measure.model import Profile
from hotstart.measure.runner import Target, profile
from hotstart.render.tree import render_tree

K = 100_000  # calls of a no-op, each one call event for the profiler

FILES = {
    "calib.py": f"""
        def noop():
            pass


        def burn():
            for _ in range({K}):
                noop()


        burn()
        """,
    "sleepy.py": """
        import time


        def nap():
            time.sleep(0.05)


        nap()
        """,
    "pkg/__init__.py": "",
    "pkg/log.py": """
        import inspect
        import logging


        def _caller():
            return inspect.stack()[2]


        def get_logger():
            return logging.getLogger(_caller().frame.f_globals["__name__"])
        """,
    "pkg/m1.py": """
        from pkg.log import get_logger

        log = get_logger()
        """,
    "pkg/m2.py": """
        from pkg.log import get_logger

        log = get_logger()
        """,
    "nested.py": """
        import time


        def heavy():
            time.sleep(0.02)
            return 1


        def make():
            class Model:
                size = heavy()
            return Model


        Model = make()
        """,
    "executed.py": """
        import time


        def spin():
            time.sleep(0.02)


        def load():
            exec("spin()", globals())


        load()
        """,
    "job.py": """
        import time


        def work():
            time.sleep(0.02)


        def setup():
            time.sleep(0.01)


        setup()
        if __name__ == "__main__":
            work()
        """,
    "launcher.py": """
        import os
        import runpy

        runpy.run_path(os.path.join(os.path.dirname(__file__), "job.py"), run_name="__main__")
        """,
}

CODE = "import calib, sleepy, pkg.m1, pkg.m2, nested, executed, launcher"


@pytest.fixture(scope="module")
def profiled(tmp_path_factory) -> Profile:
    from conftest import write_tree

    root = write_tree(tmp_path_factory.mktemp("hot"), FILES)
    result = profile(Target("code", CODE), runs=1, cwd=str(root))
    assert result.exit_code == 0, result.stderr_tail
    return result


def calls_of(result: Profile) -> dict:
    return {call.function: call for call in result.main.hot_calls}


def test_profiler_overhead_is_measured_per_event_and_taken_off(profiled):
    process = profiled.main
    assert process.call_event_ns is not None and len(process.call_event_ns) == 2
    python_ns = process.call_event_ns[0]
    assert python_ns > 0
    burn = calls_of(profiled)["calib:burn"]
    assert burn.events == K  # one call event per noop(); range() is a type, not an event
    raw = burn.cumulative_us - burn.imports_us
    # the calibrated cost per event, capped by the time the call took (on a busy machine the
    # calibration can come out above what the calls themselves cost)
    assert burn.overhead_us == pytest.approx(min(K * python_ns / 1e3, raw))
    assert 0 < burn.overhead_us <= raw
    # Round trip keeps the new fields.
    again = Profile.from_dict(profiled.to_dict()).main
    assert again.call_event_ns == process.call_event_ns
    assert calls_of_process(again)["calib:burn"].overhead_us == burn.overhead_us


def calls_of_process(process) -> dict:
    return {call.function: call for call in process.hot_calls}


def test_time_shown_is_sampled_without_the_profiler(profiled):
    process = profiled.main
    nap = calls_of(profiled)["sleepy:nap"]
    assert nap.sampled_us is not None and nap.samples >= 1
    assert process.estimate_us(nap) == nap.sampled_us == nap.own_us
    burn = calls_of(profiled)["calib:burn"]
    assert burn.sampled_us is not None


def test_the_leaf_that_burns_the_time_is_named_with_its_chain(profiled):
    call = calls_of(profiled)["pkg.log:get_logger"]
    assert call.calls == 2
    assert [link.function for link in call.chain] == ["pkg.log:_caller", "inspect:stack"]
    assert call.leaf == "inspect:stack"
    assert calls_of(profiled)["sleepy:nap"].leaf == "<built-in method time.sleep>"
    text = render_tree(profiled)
    assert ("burns it in inspect:stack" in text
            and "pkg.log:get_logger -> pkg.log:_caller -> inspect:stack" in text)


def test_a_class_made_inside_a_function_is_that_functions_time(profiled):
    listed = [name for name in calls_of(profiled) if name.startswith("nested:")]
    assert listed == ["nested:make"]


def test_code_a_function_execs_is_that_functions_time(profiled):
    listed = [name for name in calls_of(profiled) if name.startswith("executed:")]
    assert listed == ["executed:load"]
    load = calls_of(profiled)["executed:load"]
    assert load.imports_us == 0  # exec'd code is not an import


def test_a_scripts_main_block_is_not_import_time_work(profiled):
    names = set(calls_of(profiled))
    assert "job:work" not in names and "job:setup" not in names
    # Running the job at import is the importer's cost: it is listed once, as that call.
    assert "runpy:run_path" in names


def test_audit_leaves_out_the_main_block_and_lists_one_spot_per_call(tmp_path):
    from conftest import write_tree

    from hotstart.audit import audit

    write_tree(tmp_path, {
        "tool/__init__.py": "",
        "tool/helpers.py": """
            import inspect
            import subprocess


            def both():
                subprocess.run(["true"])
                return inspect.stack()
            """,
        "tool/cli.py": """
            import inspect

            from tool.helpers import both

            SNAPSHOT = both()


            def main():
                return inspect.stack()


            if __name__ == "__main__":
                frames = inspect.stack()
                main()
            """,
    })
    report = audit(str(tmp_path / "tool"), run=False)
    spots = [(s.module, s.line, s.call, s.via) for s in report.hotspots]
    assert spots == [("tool.cli", 5, "subprocess.run", ["tool.helpers.both"])]
    assert "also calls inspect.stack" in report.hotspots[0].why
