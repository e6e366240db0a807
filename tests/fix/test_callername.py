"""The `hot-calls` codemod (`hotstart.fix._callername`): a helper that names its caller with a
stack walk becomes `sys._getframe(depth)` with the depth written at that place, and the
names the helper gives, taken by importing its callers in a real interpreter, stay the same.
"""

from __future__ import annotations

import pathlib
import sys
import textwrap

from conftest import run_hotstart, write_tree

from hotstart.audit import audit
from hotstart.fix._callername import CallerNameCheck, plan, rewrite

#: Modules that call `pkg.log.get_logger()` at import, at module level and in a class body.
CALLERS = {
    "pkg/__init__.py": "",
    "pkg/a.py": """
        from pkg.log import get_logger

        log = get_logger()
        """,
    "pkg/sub/__init__.py": "",
    "pkg/sub/b.py": """
        from pkg import log as logs

        LOG = logs.get_logger()


        class Worker:
            log = logs.get_logger()
        """,
}
NAMES = {"pkg.a": {"log": "name 'pkg.a'"},
         "pkg.sub.b": {"LOG": "name 'pkg.sub.b'", "Worker.log": "name 'pkg.sub.b'"}}


def _project(tmp_path: pathlib.Path, log: str) -> pathlib.Path:
    return write_tree(tmp_path / "proj", {**CALLERS, "pkg/log.py": log})


def _plan(root: pathlib.Path):
    report = audit(str(root), run=False)
    return report, *plan(report, report.paths, str(root))


def _fix(root: pathlib.Path):
    """Plan, rewrite log.py with every change, write it; the changes, skips and the check
    (its snapshot taken before the write)."""
    _report, changes, skipped = _plan(root)
    check = CallerNameCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    path = root / "pkg" / "log.py"
    if changes:
        new, failed = rewrite(path.read_text(), changes)
        assert failed == []
        path.write_text(new)
    return changes, skipped, check, before


def _assert_fixed_point(root: pathlib.Path) -> None:
    """The rewritten project has no stack-walking hot spot left, and planning again gives
    no change."""
    report, changes, _skipped = _plan(root)
    assert [c.id for c in changes] == []
    assert [h.call for h in report.hotspots if h.call == "inspect.stack"] == []


def test_direct_helper_keeps_depth_one_and_the_names(tmp_path):
    root = _project(tmp_path, """
        import inspect
        import logging


        def get_logger():
            return logging.getLogger(inspect.stack()[1].frame.f_globals["__name__"])
        """)
    changes, _skipped, check, before = _fix(root)
    assert before == NAMES
    assert [(c.action, c.site.klass, c.site.data["depth"]) for c in changes] == [
        ("caller-name", "hot-calls", 1)]
    assert sorted(c["module"] for c in changes[0].site.data["callers"]) == [
        "pkg.a", "pkg.sub.b", "pkg.sub.b"]
    source = (root / "pkg" / "log.py").read_text()
    assert 'logging.getLogger(sys._getframe(1).f_globals["__name__"])' in source
    assert "import inspect\nimport logging\nimport sys\n" in source  # isort's place
    assert check.compare(before, check.take()).ok
    _assert_fixed_point(root)


def test_nested_helper_keeps_its_own_index(tmp_path):
    """`get_logger()` -> `_caller()` with `inspect.stack()[2]`: depth 2 there, not the naive 1
    (which names every logger after pkg.log)."""
    log = """
        import inspect
        import logging


        def _caller():
            return inspect.stack()[2][0].f_globals["__name__"]


        def get_logger():
            return logging.getLogger(_caller())
        """
    root = _project(tmp_path, log)
    changes, _skipped, check, before = _fix(root)
    assert [c.site.data["depth"] for c in changes] == [2]
    assert [c.site.data["function"] for c in changes] == ["_caller"]
    assert 'return sys._getframe(2).f_globals["__name__"]' in (root / "pkg/log.py").read_text()
    assert check.compare(before, check.take()).ok
    _assert_fixed_point(root)


def test_check_catches_a_wrong_depth(tmp_path):
    """The naive rewrite `sys._getframe(1)` in the nested helper: the compare fails and names
    each logger that changed."""
    root = _project(tmp_path, """
        import inspect
        import logging


        def _caller():
            return inspect.stack()[2][0].f_globals["__name__"]


        def get_logger():
            return logging.getLogger(_caller())
        """)
    _report, changes, _skipped = _plan(root)
    check = CallerNameCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    path = root / "pkg" / "log.py"
    new, _failed = rewrite(path.read_text(), changes)
    path.write_text(new.replace("_getframe(2)", "_getframe(1)"))
    result = check.compare(before, check.take())
    assert not result.ok
    lines = result.output.splitlines()[1:]
    assert sorted(line.strip() for line in lines) == [
        "pkg.a.log: name 'pkg.a' -> name 'pkg.log'",
        "pkg.sub.b.LOG: name 'pkg.sub.b' -> name 'pkg.log'",
        "pkg.sub.b.Worker.log: name 'pkg.sub.b' -> name 'pkg.log'",
    ]


def test_currentframe_f_back(tmp_path):
    root = _project(tmp_path, """
        import inspect
        import logging


        def get_logger():
            return logging.getLogger(inspect.currentframe().f_back.f_globals["__name__"])
        """)
    changes, _skipped, check, before = _fix(root)
    assert [c.site.data["depth"] for c in changes] == [1]
    source = (root / "pkg/log.py").read_text()
    assert 'logging.getLogger(sys._getframe(1).f_globals["__name__"])' in source
    assert "currentframe" not in source
    assert check.compare(before, check.take()).ok
    report, again, _ = _plan(root)
    assert again == [] and report.hotspots == []


def test_frame_record_bound_to_a_local_with_a_default_name(tmp_path):
    """The example's form: `caller = inspect.stack()[1]` then `caller.frame.f_globals.get(
    "__name__", default)`: the local becomes the frame, its use drops `.frame`, the default
    stays."""
    root = _project(tmp_path, """
        import inspect
        import logging


        def get_logger(name=None):
            if name is None:
                caller = inspect.stack()[1]
                name = caller.frame.f_globals.get("__name__", "pkg")
            return logging.getLogger(name)
        """)
    changes, _skipped, check, before = _fix(root)
    assert [(c.site.data["binding"], c.site.data["depth"]) for c in changes] == [("caller", 1)]
    source = (root / "pkg/log.py").read_text()
    assert "        caller = sys._getframe(1)\n" in source
    assert '        name = caller.f_globals.get("__name__", "pkg")\n' in source
    assert check.compare(before, check.take()).ok
    _assert_fixed_point(root)


def test_getmodule_keeps_getmodule_and_loses_the_stack_walk(tmp_path):
    """`inspect.getmodule(frame)` is None for a frame of no module, where f_globals still
    names one: it stays (skipped with why); the `inspect.stack()` inside it is rewritten."""
    root = _project(tmp_path, """
        import inspect
        import logging


        def get_logger():
            return logging.getLogger(inspect.getmodule(inspect.stack()[1][0]).__name__)
        """)
    changes, skipped, check, before = _fix(root)
    assert [c.site.data["expression"] for c in changes] == ["inspect.stack()[1][0]"]
    assert any("inspect.getmodule(frame) is kept" in s.why for s in skipped)
    source = (root / "pkg/log.py").read_text()
    assert "logging.getLogger(inspect.getmodule(sys._getframe(1)).__name__)" in source
    assert check.compare(before, check.take()).ok
    report, again, skipped_again = _plan(root)
    assert again == []  # a fixed point: getmodule stays, and says why
    assert [h.call for h in report.hotspots] == ["inspect.getmodule"] * 3
    assert all("is kept" in s.why for s in skipped_again)


def test_non_equivalent_forms_are_left_with_why(tmp_path):
    log = """
        import inspect
        import logging


        def get_logger():
            where = inspect.stack()[1].filename
            return logging.getLogger(where)


        def get_named():
            for info in inspect.stack():
                pass
            return logging.getLogger("x")


        def get_guarded():
            try:
                return logging.getLogger(inspect.stack()[1][0].f_globals["__name__"])
            except IndexError:
                return logging.getLogger("root")
        """
    root = write_tree(tmp_path / "proj", {
        "pkg/__init__.py": "", "pkg/log.py": log,
        "pkg/a.py": """
            from pkg.log import get_guarded, get_logger, get_named

            A = get_logger()
            B = get_named()
            C = get_guarded()
            """})
    _report, changes, skipped = _plan(root)
    assert changes == []
    whys = sorted(s.why for s in skipped)
    assert len(whys) == 3
    assert "reads the frame record's `filename`" in whys[0] + whys[1] + whys[2]
    assert any("uses the whole stack" in w for w in whys)
    assert any("may catch IndexError" in w for w in whys)


def test_a_try_that_may_catch_the_new_valueerror_is_left_alone(tmp_path):
    """`sys._getframe(k)` raises ValueError where `stack()[k]` raised IndexError: a handler
    that may catch ValueError (by name, its bases, or an unknown type) would now swallow a
    failure the original let through, so that walk stays; a handler for an unrelated
    builtin error does not stop the rewrite."""
    handlers = ["ValueError", "(KeyError, ValueError)", "Exception", "ERRORS", "app.Oops",
                "ArithmeticError"]
    functions = "".join(f"""

        def f{at}():
            try:
                frame = inspect.stack()[1].frame
            except {kind}:
                return "fallback"
            return frame.f_globals["__name__"]
        """ for at, kind in enumerate(handlers))
    root = write_tree(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/log.py": "import inspect\nERRORS = (ValueError,)\n" + textwrap.dedent(functions),
        "pkg/a.py": "from pkg import log\n\n" + "".join(
            f"N{at} = log.f{at}()\n" for at in range(len(handlers)))})
    _report, changes, skipped = _plan(root)
    assert [c.site.data["function"] for c in changes] == [f"f{len(handlers) - 1}"]
    assert sorted(s.site.data["function"] for s in skipped) == [
        f"f{at}" for at in range(len(handlers) - 1)]
    assert all("may catch IndexError, AttributeError or ValueError" in s.why for s in skipped)


def test_existing_sys_alias_is_reused_and_nothing_is_added(tmp_path):
    root = _project(tmp_path, """
        import inspect
        import logging
        import sys as _sys


        def get_logger():
            return logging.getLogger(inspect.stack()[1][0].f_globals["__name__"])
        """)
    _changes, _skipped, check, before = _fix(root)
    source = (root / "pkg/log.py").read_text()
    assert '_sys._getframe(1).f_globals["__name__"]' in source
    assert source.count("import sys") == 1
    assert check.compare(before, check.take()).ok


def test_any_subset_of_a_files_changes_is_valid_code(tmp_path):
    root = _project(tmp_path, """
        import inspect
        import logging


        def one():
            return inspect.stack()[1][0].f_globals["__name__"]


        def get_logger():
            return logging.getLogger(inspect.currentframe().f_back.f_globals["__name__"])
        """)
    (root / "pkg" / "a.py").write_text("from pkg.log import get_logger, one\n\n"
                                       "X = one()\nY = get_logger()\n")
    _report, changes, _skipped = _plan(root)
    assert sorted(c.site.data["function"] for c in changes) == ["get_logger", "one"]
    source = (root / "pkg/log.py").read_text()
    for subset in ([changes[0]], [changes[1]], changes):
        new, failed = rewrite(source, subset)
        assert failed == []
        compile(new, "log.py", "exec")
        assert new.count("sys._getframe(") == len(subset)


def test_more_forms_keep_the_names_on_this_version(tmp_path):
    """`getouterframes(currentframe())`, `stack(0)`, a comprehension (its own frame on 3.11,
    inlined on 3.12+: the depth written there is right on each), a lambda (depth 2 from
    there), a static method; each called at import, so each names its caller's module."""
    root = write_tree(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/log.py": """
            import inspect


            def outer_frames():
                return inspect.getouterframes(inspect.currentframe())[1][0].f_globals["__name__"]


            def context_zero():
                return inspect.stack(0)[1].frame.f_globals["__name__"]


            def comprehension():
                return [inspect.stack()[1].frame.f_globals["__name__"] for _ in "x"][0]


            def by_lambda():
                return (lambda: inspect.stack()[2].frame.f_globals["__name__"])()


            class Factory:
                @staticmethod
                def make():
                    return inspect.stack()[1].frame.f_globals["__name__"]
            """,
        "pkg/a.py": """
            from pkg.log import Factory, by_lambda, comprehension, context_zero, outer_frames

            A = outer_frames()
            B = context_zero()
            C = comprehension()
            D = by_lambda()
            E = Factory.make()
            """})
    changes, _skipped, check, before = _fix(root)
    assert sorted((c.site.data["function"], c.site.data["depth"]) for c in changes) == [
        ("Factory.make", 1), ("by_lambda", 2), ("comprehension", 1), ("context_zero", 1),
        ("outer_frames", 1)]
    names = before["pkg.a"]
    assert set(names) == {"A", "B", "C", "D", "E"}
    # the comprehension's own frame on 3.11 (pkg.log), the function's on 3.12+ (pkg.a)
    assert [names[k] for k in "ABDE"] == ["'pkg.a'"] * 4
    assert "inspect.stack" not in (root / "pkg/log.py").read_text()
    assert check.compare(before, check.take()).ok


def test_one_call_reaching_two_helpers_rewrites_both(tmp_path):
    """One module-level call is one hot spot (`via` names the first chain); its
    `callers_of` lists every function on the way that walks frames, and each is planned."""
    root = write_tree(tmp_path / "proj", {
        "pkg/__init__.py": "",
        "pkg/log.py": """
            import inspect


            def one():
                return inspect.stack()[2][0].f_globals["__name__"]


            def two():
                return inspect.currentframe().f_back.f_back.f_globals["__name__"]


            def both():
                return one(), two()
            """,
        "pkg/a.py": "from pkg.log import both\n\nX = both()\n"})
    report, changes, _skipped = _plan(root)
    [spot] = report.hotspots
    assert sorted(spot.callers_of) == ["pkg.log.one:inspect.stack",
                                       "pkg.log.two:inspect.currentframe"]
    assert sorted((c.site.data["function"], c.site.data["depth"]) for c in changes) == [
        ("one", 2), ("two", 2)]
    check = CallerNameCheck(str(root), changes, [sys.executable], 60)
    before = check.take()
    assert before == {"pkg.a": {"X": "('pkg.a', 'pkg.a')"}}
    path = root / "pkg" / "log.py"
    new, failed = rewrite(path.read_text(), changes)
    assert failed == []
    path.write_text(new)
    assert check.compare(before, check.take()).ok
    _assert_fixed_point(root)


def test_fix_all_drops_the_import_moved_into_the_rewritten_function(tmp_path):
    """`hotstart fix --all` moves `import inspect` into get_logger() (its only user) and
    rewrites the stack walk in the same run: the moved import, now unused, goes, and hotstart's
    mark moves to the next moved import."""
    root = _project(tmp_path, """
        import inspect
        import logging


        def get_logger():
            return logging.getLogger(inspect.stack()[1].frame.f_globals["__name__"])
        """)
    check = CallerNameCheck(str(root), _plan(root)[1], [sys.executable], 60)
    before = check.take()
    done = run_hotstart("fix", str(root / "pkg"), "--all", "--write")
    assert done.returncode == 0, done.stderr
    assert (root / "pkg" / "log.py").read_text() == (
        "import sys\n\n\ndef get_logger():\n    # deferred by hotstart fix\n    import logging\n"
        '    return logging.getLogger(sys._getframe(1).f_globals["__name__"])\n')
    assert check.compare(before, check.take()).ok


def test_pep810_lazy_imports_in_the_file_are_kept(tmp_path):
    """The import codemods write `lazy import` (PEP 810, 3.15) before this one runs on the
    same file; libcst reads no 3.15 syntax, so those lines are masked and restored as they
    were (the file is checked as text: this interpreter need not read 3.15 syntax)."""
    source = ('"""Logs."""\n\nlazy import json\nimport inspect\nimport logging\n\n\n'
              'def get_logger():\n'
              '    return logging.getLogger(inspect.stack()[1].frame.f_globals["__name__"])\n')
    root = _project(tmp_path, source.replace("lazy import json\n", ""))
    _report, changes, _skipped = _plan(root)
    new, failed = rewrite(source, changes)
    assert failed == []
    assert new == ('"""Logs."""\n\nlazy import json\nimport inspect\nimport logging\n'
                   'import sys\n\n\ndef get_logger():\n    return logging.getLogger('
                   'sys._getframe(1).f_globals["__name__"])\n')
    broken, failed = rewrite("def get_logger(:\n", changes)
    assert broken == "def get_logger(:\n"
    assert len(failed) == 1 and failed[0][1].startswith("cannot parse the file (")


def test_saving_counts_one_profile_figure_per_call_chain():
    """The 14 spots of `inspect.stack` via `get_logger` carry the one figure the profile
    measured for that chain: the change saves it once, not 14 times; another chain adds."""
    from hotstart.audit.model import HotSpot
    from hotstart.fix._callername import _saving

    def spot(module, us, via=("pkg.log.get_logger",), entry="-m pkg"):
        return HotSpot(f"{module}.py", module, 3, "inspect.stack", "frames", "", "",
                       via=list(via), measured_us=us, measured_entry=entry)

    same = [spot(f"pkg.m{i}", 80_000.0) for i in range(14)]
    assert _saving(same).us == 80_000.0
    other = spot("pkg.x", 5_000.0, via=("pkg.log.outer", "pkg.log.get_logger"))
    assert _saving([*same, other]).us == 85_000.0
    assert _saving([spot("pkg.a", None)]) is None
    assert _saving([*same, spot("pkg.y", 90_000.0, entry="-m pkg.other")]).entry == "-m pkg.other"
