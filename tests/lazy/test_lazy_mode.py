"""The run-time lazy mode (`hotstart.lazy.enable`/`disable`/`set_filter`, the
``python -m hotstart.lazy`` launcher), in real child interpreters."""

from __future__ import annotations

from lazyhelpers import lines, run_program
from test_startup_cost import HEAVY, imported_by

MODULES = {
    **{f"heavy{i}.py": f"print('load heavy{i}')\nX = {i}\n" for i in range(1, 5)},
    "declares.py": """
        __lazy_modules__ = ["heavy1", "heavy2"]
        import heavy1
        from heavy2 import X
        import heavy3
        def use():
            return heavy1.X + X + heavy3.X
        """,
    # (an import whose binding is never read stays eager: it is there for its side effects)
    "plain.py": "import heavy4\ndef use():\n    return heavy4.X\n",
    "show.py": """
        import sys
        def loaded():
            print(*[f"heavy{i}" for i in range(1, 5) if f"heavy{i}" in sys.modules])
        """,
}


def test_normal_mode_honours_lazy_modules_only_where_declared(tmp_path):
    out = lines(run_program(tmp_path, MODULES, """
        import hotstart.lazy
        print(hotstart.lazy.enable(), hotstart.lazy.enable())  # idempotent
        import declares, plain, show
        show.loaded()
        print(declares.use())
        show.loaded()
        """))
    assert out == [
        "hook hook",
        "load heavy3",
        "load heavy4",
        "heavy3 heavy4",  # declares.py deferred heavy1 and heavy2 only; plain.py declares none
        "load heavy1",
        "load heavy2",
        "6",
        "heavy1 heavy2 heavy3 heavy4",
    ]


def test_mode_all_defers_everything_and_none_nothing(tmp_path):
    program = """
        import sys, hotstart.lazy
        print(hotstart.lazy.enable(sys.argv[1]))
        import declares, plain, show
        show.loaded()
        """
    assert lines(run_program(tmp_path, MODULES, program, "all")) == ["hook", ""]
    assert lines(run_program(tmp_path, MODULES, program, "none")) == [
        "eager", "load heavy1", "load heavy2", "load heavy3", "load heavy4",
        "heavy1 heavy2 heavy3 heavy4"]


def test_environment_overrides_the_argument_and_hotstart_eager_wins(tmp_path):
    program = """
        import hotstart.lazy
        print(hotstart.lazy.enable("none"))
        import plain, show
        show.loaded()
        """
    assert lines(run_program(tmp_path, MODULES, program,
                             env={"HOTSTART_LAZY_IMPORTS": "all"})) == ["hook", ""]
    assert lines(run_program(tmp_path, MODULES, program,
                             env={"HOTSTART_LAZY_IMPORTS": "all", "HOTSTART_EAGER": "1"})) == [
        "eager", "load heavy4", "heavy4"]
    # a typo must not kill an application whose library calls enable(): one warning, and
    # the library's own mode ("none" here: everything eager)
    twice = program.replace('print(hotstart.lazy.enable("none"))',
                            'print(hotstart.lazy.enable("none"), hotstart.lazy.enable("none"))')
    bad = run_program(tmp_path, MODULES, twice, env={"HOTSTART_LAZY_IMPORTS": "sometimes"})
    assert lines(bad) == ["eager eager", "load heavy4", "heavy4"]
    assert bad.stderr.count("RuntimeWarning: hotstart.lazy: ignoring HOTSTART_LAZY_IMPORTS="
                            "'sometimes': expected one of normal, all, none; using mode "
                            "'none'") == 1, bad.stderr


def test_filter_vetoes_and_sees_absolute_names(tmp_path):
    files = {
        **MODULES,
        "app/__init__.py": "",
        "app/core.py": """
            __lazy_modules__ = ["app.helpers", "heavy1"]
            from .helpers import helper
            import heavy1
            def use():
                return helper()
            """,
        "app/helpers.py": "print('load app.helpers')\ndef helper():\n    return 1\n",
    }
    out = lines(run_program(tmp_path, files, """
        import hotstart.lazy
        asked = []
        def only_helpers(importing, imported, fromlist):
            asked.append((importing, imported, fromlist))
            return imported != "heavy1"
        hotstart.lazy.set_filter(only_helpers)
        hotstart.lazy.enable()
        import app.core
        print(asked)
        hotstart.lazy.set_filter(None)
        hotstart.lazy.disable()
        import heavy2, show
        show.loaded()
        """))
    assert out == [
        "load heavy1",
        "[('app.core', 'app.helpers', ('helper',)), ('app.core', 'heavy1', None)]",
        "load heavy2",
        "heavy1 heavy2",
    ]


def test_launcher_runs_scripts_modules_and_code_as_python_does(tmp_path):
    script = """
        import sys
        __lazy_modules__ = ["heavy1"]
        import heavy1
        def use():
            return heavy1.X
        print(sys.argv, "heavy1" in sys.modules, __name__)
        sys.exit(int(sys.argv[1]))
        """
    launcher = ["-m", "hotstart.lazy"]
    result = run_program(tmp_path, MODULES, script, "3", "x", launcher=launcher)
    assert (result.returncode, result.stdout) == (3, "['main.py', '3', 'x'] False __main__\n")
    # HOTSTART_LAZY_IMPORTS=none: __lazy_modules__ is ignored, as -X lazy_imports=none did
    result = run_program(tmp_path, MODULES, script, "0", launcher=launcher,
                         env={"HOTSTART_LAZY_IMPORTS": "none"})
    assert (result.returncode, result.stdout) == (0, ("load heavy1\n['main.py', '0'] True "
                                                     "__main__\n"))
    result = run_program(tmp_path, {**MODULES, "tool/__init__.py": "",
                                    "tool/__main__.py": "import sys, heavy2\n"
                                                        "print(sys.argv[1:], __name__)\n"
                                                        "def use():\n    return heavy2\n"},
                         "", launcher=[*launcher, "-m", "tool", "a", "--b"],
                         env={"HOTSTART_LAZY_IMPORTS": "all"})
    # (main.py is the module's first argument here)
    assert (result.returncode, result.stdout) == (0, "['a', '--b', 'main.py'] __main__\n")
    crash = run_program(tmp_path, MODULES, "def f():\n    1 / 0\nf()\n", launcher=launcher)
    assert crash.returncode == 1
    assert crash.stderr.startswith("Traceback (most recent call last):\n  File ")
    assert "ZeroDivisionError" in crash.stderr and "hotstart" not in crash.stderr
    assert "runpy" not in crash.stderr


def test_launcher_bad_input_is_one_line(tmp_path):
    cases = [
        ([], {"HOTSTART_LAZY_IMPORTS": "maybe"}, 2,
         "hotstart: error: HOTSTART_LAZY_IMPORTS='maybe': expected one of normal, all, none\n"),
        (["-m", "no_such_module_here"], {}, 1,
         "hotstart: error: no module named 'no_such_module_here'\n"),
        (["missing_script.py"], {}, 2,
         "hotstart: error: cannot open 'missing_script.py': no such file or directory\n"),
        (["--what"], {}, 2, ("hotstart: error: python -m hotstart.lazy: unknown option "
                            "'--what'; expected -m MODULE, -c CODE or SCRIPT\n")),
    ]
    for args, env, code, message in cases:
        # the program written as main.py is not run: the launcher stops first
        result = run_program(tmp_path, {}, "print('ran')\n", env=env,
                             launcher=["-m", "hotstart.lazy", *args])
        assert (result.returncode, result.stdout, result.stderr) == (code, "", message), args


def test_pep810_interpreter_gets_the_mode_and_filter_and_no_hook(tmp_path):
    # No 3.15 here: the interpreter's PEP 810 functions are simulated by recorders set on
    # `sys` in the child before hotstart.lazy looks for them (as 3.15's names and signatures).
    out = lines(run_program(tmp_path, MODULES, """
        import builtins, sys
        calls = []
        sys.set_lazy_imports = lambda mode: calls.append(("set_lazy_imports", mode))
        sys.get_lazy_imports = lambda: "normal"
        sys.set_lazy_imports_filter = lambda f: calls.append(
            ("set_lazy_imports_filter", getattr(f, "__name__", f)))
        sys.get_lazy_imports_filter = lambda: None
        original = builtins.__import__
        import hotstart.lazy
        from hotstart.lazy import _hook
        def mine(importing, imported, fromlist):
            return True
        print(hotstart.lazy.enable("normal"), hotstart.lazy.enable("all"))
        hotstart.lazy.set_filter(mine)
        print(hotstart.lazy.enable("none"))
        hotstart.lazy.disable()
        print(builtins.__import__ is original, _hook.installed())
        print(calls)
        """))
    assert out == [
        "interpreter interpreter",
        "eager",
        "True None",
        ("[('set_lazy_imports', 'all'), ('set_lazy_imports_filter', 'mine'), "
        "('set_lazy_imports_filter', '_never_lazy'), ('set_lazy_imports', 'normal'), "
        "('set_lazy_imports_filter', None)]"),
    ]


def test_import_hotstart_lazy_and_enable_stay_light():
    assert imported_by(["-c", "import hotstart.lazy"]) <= {"hotstart", "hotstart.lazy"}
    loaded = imported_by(["-c", "import hotstart.lazy; hotstart.lazy.enable('all')"])
    assert {"hotstart.lazy._mode", "hotstart.lazy._hook", "hotstart.lazy._objects"} <= loaded
    assert not loaded & HEAVY, loaded & HEAVY
    assert not {name for name in loaded if not name.startswith(("hotstart", "opcode", "_opcode", "_operator"))}


def test_a_package_opts_in_for_its_own_modules(tmp_path):
    files = {
        **MODULES,
        "lib/__init__.py": "import hotstart.lazy\nhotstart.lazy.enable()\nfrom . import core\n"
                           "def run():\n    return core.run()\n",
        "lib/core.py": """
            __lazy_modules__ = ["heavy1"]
            import heavy1
            def run():
                return heavy1.X
            """,
    }
    out = lines(run_program(tmp_path, files, """
        import lib, show
        show.loaded()
        print(lib.run())
        show.loaded()
        """))
    assert out == ["", "load heavy1", "1", "heavy1"]
