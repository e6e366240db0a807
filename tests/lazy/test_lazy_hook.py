"""The lazy-import hook core (`hotstart.lazy._hook`): PEP 810 potentially lazy imports on a
real interpreter, one child process per test (the hook is process-wide)."""

from __future__ import annotations

from lazyhelpers import ALL_LAZY, lines, run_program

PACKAGE = {
    "pkg/__init__.py": """
        from . import sub
        from .heavy import Thing, make
        import json
        def dump(value):
            return json.dumps(value)
        """,
    "pkg/sub.py": """
        print("load pkg.sub")
        VALUE = 3
        """,
    "pkg/heavy.py": """
        print("load pkg.heavy")
        class Thing:
            pass
        def make():
            return Thing()
        def deco(function):
            function.decorated = True
            return function
        """,
}


def test_nothing_loads_until_first_use_and_reification_is_recorded(tmp_path):
    # (names the module body itself reads are bound at once: the uses are in functions,
    # and an import statement after them -- any -- takes the stand-ins out of globals())
    out = lines(run_program(tmp_path, PACKAGE, ALL_LAZY + """
        import pkg
        def first():
            return pkg.sub.VALUE
        def make():
            return pkg.make()
        import linecache
        print("pkg" in sys.modules, sorted(m for m in HOOK.deferred if m.startswith("pkg")),
              "pkg" in NAMESPACE)
        print(first())
        mine = [(m, user) for m, user in REIFIED if m.startswith("pkg")]
        module, (filename, line, function) = mine[0]
        print([m for m, _ in mine], linecache.getline(filename, line).strip(), function)
        t = make()
        print(type(t).__name__, "json" in sys.modules, NAMESPACE["pkg"] is sys.modules["pkg"])
        """))
    assert out == [
        "False ['pkg'] False",  # nothing bound until the first read
        "load pkg.sub",
        "3",
        "['pkg', 'pkg.sub'] return pkg.sub.VALUE first",  # the first user: that line
        "load pkg.heavy",
        "Thing False True",  # pkg's own `import json` is never used
    ]


def test_missing_module_raises_at_first_use_with_its_own_traceback_and_a_note(tmp_path):
    # a package that is not installed at all raises at the statement, as eagerly (an
    # optional dependency must not look present); a missing module of one that is, at use
    files = {"shipped/__init__.py": "", "optional.py": "import not_installed_xyz\n"}
    result = run_program(tmp_path, files, ALL_LAZY + """
        try:
            import optional
        except ModuleNotFoundError as exc:
            print("at the statement:", exc.name)
        import linecache, traceback
        import shipped.not_a_real_module_xyz
        print("bound")
        def use():
            return shipped.not_a_real_module_xyz.anything
        import sys
        for attempt in (1, 2):
            try:
                use()
            except ModuleNotFoundError as exc:
                text = "".join(traceback.format_exception(exc))
                print(attempt, exc.name,
                      "return shipped.not_a_real_module_xyz.anything" in text)
                where = exc.__notes__[0].rsplit(" at ", 1)[1]
                filename, line = where.rsplit(":", 1)
                print(len(exc.__notes__), linecache.getline(filename, int(line)).strip())
        """)
    assert lines(result) == [
        "at the statement: not_installed_xyz",
        "bound",
        # the real exception; the traceback shows the use
        "1 shipped.not_a_real_module_xyz True",
        "1 import shipped.not_a_real_module_xyz",  # the note names the deferred statement
        # the next use tries again, and fails the same way
        "2 shipped.not_a_real_module_xyz True",
        "1 import shipped.not_a_real_module_xyz",
    ]


def test_module_raising_at_import_raises_its_own_exception_at_first_use(tmp_path):
    files = {"bad.py": "raise ValueError('bad at import')\n",
             "uses_missing.py": "import missing_dependency_xyz\nVALUE = missing_dependency_xyz.x\n"}
    result = run_program(tmp_path, files, ALL_LAZY + """
        from bad import thing
        import uses_missing
        def use():
            thing()
        def value():
            return uses_missing.VALUE
        import sys
        try:
            use()
        except ValueError as exc:
            print(type(exc).__name__, exc, len(exc.__notes__))
        try:
            value()
        except ModuleNotFoundError as exc:
            print(type(exc).__name__, exc.name, len(exc.__notes__))
        """)
    assert lines(result) == ["ValueError bad at import 1",
                             # not installed: eager inside uses_missing, so one note (its
                             # own deferred statement)
                             "ModuleNotFoundError missing_dependency_xyz 1"]


def test_imports_in_try_functions_classes_and_star_stay_eager(tmp_path):
    files = {f"m{i}.py": f"X = {i}\n" for i in range(1, 7)}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        try:
            import m1
        except ImportError:
            m1 = None
        try:
            import missing_module_abc
        except ImportError:
            missing_module_abc = None
        with open(__file__):
            import m2
        def f():
            import m3
            return m3
        f()
        class C:
            import m4
        from m5 import *
        m6 = __import__("m6")
        print([type(m).__name__ for m in (m1, m2, C.m4, m6)], missing_module_abc, X)
        print(sorted(HOOK.deferred))
        """))
    assert out == ["['module', 'module', 'module', 'module'] None 5", "[]"]


def test_loaded_modules_and_circular_imports_bind_real_objects(tmp_path):
    files = {
        "a.py": """
            import b
            def f():
                return "a.f"
            def call_b():
                return b.g()
            """,
        "b.py": """
            import a
            from a import f
            def g():
                return "b.g sees " + a.f() + " and " + f()
            """,
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import os
        import a
        print(type(os).__name__, a.call_b())
        """))
    assert out == ["module b.g sees a.f and a.f"]


def test_module_replacing_itself_in_sys_modules(tmp_path):
    files = {"replacer.py": """
        import sys
        class Replacement:
            answer = 42
        sys.modules[__name__] = Replacement()
        """}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import replacer
        from replacer import answer
        print(replacer.answer, answer + 0, type(NAMESPACE["replacer"]).__name__)
        """))
    assert out == ["42 42 Replacement"]


def test_from_import_as_decorator_base_class_isinstance_call_and_identity(tmp_path):
    out = lines(run_program(tmp_path, PACKAGE, ALL_LAZY + """
        from pkg.heavy import Thing, make, deco
        def later():
            @deco
            def function():
                pass
            class Sub(Thing):
                pass
            thing = make()
            return function.decorated, Sub.__mro__[1].__name__, isinstance(thing, Thing), \\
                issubclass(Sub, Thing)
        def identity():
            import pkg.heavy
            bound = NAMESPACE
            return bound["Thing"] is pkg.heavy.Thing, bound["make"] is pkg.heavy.make
        import sys
        print("Thing" in NAMESPACE, "pkg.heavy" in sys.modules)
        print(*later())
        print(*identity(), type(NAMESPACE["Thing"]).__name__)
        """))
    assert out == [
        "False False",  # nothing bound, nothing imported
        "load pkg.heavy",
        "True Thing True True",
        "True True type",  # the real objects in the importer's globals from the first read
    ]


def test_relative_imports_submodules_and_dotted_imports(tmp_path):
    files = {
        **PACKAGE,
        "deep/__init__.py": "",
        "deep/er/__init__.py": "",
        "deep/er/est.py": "print('load deep.er.est')\nVALUE = 'deepest'\n",
        "deep/index.py": "VALUE = 'index'\n",  # named like an attribute of the chain
        "app/__init__.py": "",
        "app/main.py": """
            from .helpers import helper
            from . import helpers
            def run():
                return helper(), helpers.NAME
            """,
        "app/helpers.py": "print('load app.helpers')\nNAME = 'helpers'\n"
                          "def helper():\n    return 'helped'\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import deep.er.est
        import deep.er.est as est
        import deep.index as index
        from pkg import sub
        import app.main
        def use():
            return deep.er.est.VALUE, est.VALUE, sub.VALUE, index.VALUE
        def run():
            return app.main.run()
        import sys
        print("deep" in NAMESPACE, sorted(HOOK.deferred))
        print(*use())
        print(*run())
        """))
    assert out == [
        "False ['app.main', 'deep.er.est', 'deep.index', 'pkg']",
        "load deep.er.est",
        "load pkg.sub",
        "deepest deepest 3 index",
        "load app.helpers",
        "helped helpers",
    ]


def test_threads_racing_first_use_run_the_module_once(tmp_path):
    files = {"slow.py": """
        import builtins, time
        builtins.slow_loads = getattr(builtins, "slow_loads", 0) + 1
        time.sleep(0.2)
        def value():
            return "ready"
        """}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import threading, builtins
        from slow import value
        import slow
        results = []
        start = threading.Barrier(8)
        def worker(i):
            start.wait()
            results.append(value() if i % 2 else slow.value())
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in threads: t.start()
        for t in threads: t.join()
        print(builtins.slow_loads, sorted(set(results)), len(results),
              [m for m, _ in REIFIED if m == "slow"])
        """))
    assert out == ["1 ['ready'] 8 ['slow']"]


def test_names_the_module_body_reads_are_bound_eagerly(tmp_path):
    # ABC.register is C code that type-checks its argument: a lazy stand-in would break it
    files = {"impl.py": "class Impl:\n    pass\nclass Unused:\n    pass\n"}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import abc
        from impl import Impl
        class Base(abc.ABC):
            pass
        Base.register(Impl)
        print(type(NAMESPACE["Impl"]).__name__, issubclass(Impl, Base))
        """))
    assert out == ["type True"]


def test_names_caught_raised_or_compared_by_identity_and_unread_imports_stay_eager(tmp_path):
    # `except Name`, `raise Name`, `x is Name` get the real objects (nothing is bound until
    # the first read); an `import` whose binding is never read is there for its side effect
    files = {
        "errors.py": "class Oops(Exception):\n    pass\nclass Raised(Exception):\n    pass\n",
        "sentinels.py": "MISSING = object()\nOTHER = object()\n",
        "plugin.py": "import builtins\nbuiltins.plugin_registered = True\n",
        "lazy_one.py": "X = 1\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import builtins
        from errors import Oops
        from errors import Raised as Renamed
        from sentinels import MISSING
        import plugin
        import lazy_one
        def check(value):
            try:
                if value is MISSING:
                    raise Renamed
                raise Oops()
            except (ValueError, Oops):
                return "caught"
            except Renamed:
                return "missing"
        def one():
            return lazy_one.X
        import sentinels
        bound = NAMESPACE
        print(check(sentinels.MISSING), check(1), builtins.plugin_registered)
        print(*[type(bound[n]).__name__ for n in ("Oops", "Renamed", "MISSING", "plugin")],
              "lazy_one" in bound, "lazy_one" in sys.modules, one())
        """))
    # the names read (by a function) are the real objects from their first read; the
    # unread `import plugin` ran at once; lazy_one stays unbound and unloaded until one()
    assert out == ["missing caught True", "type type object module False False 1"]


def test_module_attribute_reads_resolve_lazy_names(tmp_path):
    files = {
        "sentinel.py": "class _NoValueType:\n    pass\nNoValue = _NoValueType()\n",
        "lib.py": """
            from sentinel import NoValue
            def f(x):
                return x == NoValue
            """,
        "lib2.py": "from sentinel import NoValue\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        try:  # eager here (a try block); lib and lib2 defer their own imports
            import lib, lib2, sentinel
        finally:
            pass
        print(type(lib).__name__)    # holds a lazy name: its attribute reads resolve them
        default = lib.NoValue        # an attribute read: resolved, as PEP 810 does
        from lib2 import NoValue     # an eager from-import of a lazy name: resolved too
        print(type(default).__name__, default is sentinel.NoValue, NoValue is default,
              lib.f(default))
        print(type(lib).__name__, type(lib2).__name__)  # none left: plain modules again
        """))
    assert out == ["ModuleWithLazyNames", "_NoValueType True True True", "module module"]


def test_uninstall_restores_the_import_function(tmp_path):
    out = lines(run_program(tmp_path, {"late.py": "X = 1\n"}, ALL_LAZY + """
        import builtins
        wrapped = builtins.__import__
        HOOK.uninstall()
        import late
        print(builtins.__import__ is not wrapped, type(late).__name__, HOOK.active,
              _hook.installed())
        """))
    assert out == ["True module False None"]


def test_unread_imports_can_be_deferred_as_pep810_all_does(tmp_path):
    files = {"plugin.py": "import builtins\nbuiltins.plugin_registered = True\n"}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import builtins
        HOOK.eager_unread_imports = False
        import plugin
        print(getattr(builtins, "plugin_registered", False), sorted(HOOK.deferred))
        """))
    assert out == ["False ['plugin']"]


def test_every_kind_of_first_use_is_forwarded(tmp_path):
    files = {"things.py": """
        import contextlib
        NUMBER = 6
        WORDS = ["a", "b"]
        TABLE = {"k": 1}
        PATH = "some/dir"
        @contextlib.contextmanager
        def managed():
            yield "entered"
        async def coroutine():
            return "awaited"
        def method(self):
            return "bound to " + type(self).__name__
        """}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import asyncio, os
        from things import NUMBER
        from things import WORDS
        from things import TABLE
        from things import PATH
        from things import managed
        from things import coroutine
        from things import method
        class Holder:
            pass
        def uses():
            Holder.method = method  # a class attribute: read through the descriptor protocol
            with managed() as entered:
                pass
            return [NUMBER * 2, 2 ** NUMBER, NUMBER // 4, -NUMBER, NUMBER > 5, len(WORDS),
                    list(WORDS), "b" in WORDS, TABLE["k"], {NUMBER: 1}[6], hash(NUMBER) == 6,
                    str(PATH), repr(PATH), bool(PATH), f"{NUMBER:03d}", os.fspath(PATH),
                    os.path.join(PATH, "x"), entered, asyncio.run(coroutine()),
                    Holder().method()]
        print(*uses(), sep="|")
        print(sorted(n for n in ("NUMBER", "WORDS", "TABLE", "PATH", "managed", "coroutine",
                                 "method") if type(NAMESPACE[n]).__name__ == "LazyValue"))
        """))
    assert out == [("12|64|1|-6|True|2|['a', 'b']|True|1|1|True|some/dir|'some/dir'|True|006|"
                   "some/dir|some/dir/x|entered|awaited|bound to Holder"), "[]"]


def test_two_deferred_submodule_imports_binding_the_same_name(tmp_path):
    files = {"top/__init__.py": "", "top/left.py": "SIDE = 'left'\n",
             "top/right.py": "SIDE = 'right'\n"}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import top.left
        import top.right
        def use():
            return top.right.SIDE, top.left.SIDE  # the first use imports both
        import sys
        print("top" in NAMESPACE, *use(), sorted(m for m, _ in REIFIED))
        """))
    assert out == ["False right left ['top.left', 'top.right']"]


def test_a_name_compared_with_none_stays_eager(tmp_path):
    # `x is None` compiles to a jump on 3.12+, not IS_OP: a stand-in would never be None
    files = {"config.py": "SETTING = None\nOTHER = 1\n"}
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        from config import SETTING
        from config import OTHER
        def configured():
            return SETTING is not None, OTHER + 1
        print(*configured(), type(NAMESPACE["SETTING"]).__name__)
        """))
    assert out == ["False 2 NoneType"]


def test_names_first_read_by_functions_are_the_real_objects(tmp_path):
    # The deferrals really happen here (worker's imports are followed by another import
    # statement, which takes the stand-ins out): each read gets the real object, so C code
    # that checks exact types, identity, pickle, weakref and reload behave as eagerly.
    files = {
        "codes.py": "print('load codes')\nEXIT_USAGE = 3\nNAME = 'abc'\n",
        "shapes.py": "print('load shapes')\nclass Point:\n    pass\ndef handler(x):\n"
                     "    return x * 2\n",
        "mod.py": "print('load mod')\nN = 7\n",
        "worker.py": """
            import sys
            from codes import EXIT_USAGE, NAME
            from shapes import Point, handler
            import mod
            def key():
                return NAME
            def checks():
                import copy, importlib, pickle, types, weakref
                ref = weakref.ref(handler)
                return (",".join([key(), "x"]), type(key()).__name__,
                        pickle.loads(pickle.dumps(Point)) is Point,
                        copy.deepcopy({"c": Point})["c"] is Point, ref() is handler,
                        ref()(2), mod is sys.modules["mod"], type(mod) is types.ModuleType,
                        importlib.reload(mod).N)
            def leave():
                sys.exit(EXIT_USAGE)
            import os  # any import statement: the stand-ins are taken out here
            """,
    }
    result = run_program(tmp_path, files, ALL_LAZY + """
        import worker
        print(sorted(n for n in ("codes", "shapes", "mod") if n in sys.modules),
              [n for n in ("EXIT_USAGE", "NAME", "Point", "handler", "mod")
               if n in vars(worker)])
        print(*worker.checks())
        print(sorted(m for m, _ in REIFIED if m in ("codes", "mod", "shapes")))
        worker.leave()
        """)
    assert result.stdout.splitlines() == [
        "[] []",  # nothing imported, nothing bound
        "load shapes", "load codes", "load mod", "load mod",  # (the reload runs mod again)
        "abc,x str True True True 4 True True 7",
        "['codes', 'mod', 'shapes']",
    ]
    assert (result.returncode, result.stderr) == (3, "")  # sys.exit with the real int


def test_a_finder_using_a_deferred_name_imports_as_of_its_deferral(tmp_path):
    # finder.py's `import matcher` is deferred; the finder it then installs uses matcher:
    # resolving matcher asks only the finders there were at the deferral (the eager program
    # imported matcher before the finder existed), so no recursion into the finder
    files = {
        "matcher.py": "def check(name):\n    return name.startswith('zzz')\n",
        "finder.py": """
            import matcher
            class Finder:
                asked = []
                def find_spec(self, name, path=None, target=None):
                    Finder.asked.append((name, matcher.check(name)))
                    return None
            import sys
            sys.meta_path.insert(0, Finder())
            """,
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import finder
        print("matcher" in sys.modules, HOOK.deferred.get("matcher", "")[-11:])
        import decimal
        print(decimal.Decimal(1), finder.Finder.asked[:1], "matcher" in sys.modules)
        """))
    assert out == ["False finder.py:1", "1 [('decimal', False)] True"]


def test_packages_get_the_submodule_attributes_an_eager_import_sets(tmp_path):
    # `from .utils import echo` in a package __init__ also makes `pkg.utils` an attribute
    # (typer._click.utils); `from .version import version` rebinds pkg.version to the value
    # after the import system set the submodule there (markdown-it); `del helpers` after
    # `from .helpers import helper` (toolz.curried) needs the import at once
    files = {
        "cli/__init__.py": "from .utils import echo\nfrom .version import version\n"
                           "def run():\n    return echo(version)\n",
        "cli/utils.py": "print('load cli.utils')\ndef echo(x):\n    return f'echo {x}'\n",
        "cli/version.py": "version = '1.0'\n",
        "tz/__init__.py": "from .helpers import helper\ndel helpers\n",
        "tz/helpers.py": "def helper():\n    return 'helped'\n",
        "user.py": "import cli\ndef detect():\n    return cli.utils.__name__\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import user, tz
        def show():
            import cli
            return cli.version, cli.version, cli.run()
        import os
        print("cli.utils" in sys.modules, user.detect(), *show(), tz.helper())
        """))
    # (the print's arguments are evaluated first: cli.utils was not loaded before detect())
    assert out == ["load cli.utils", "False cli.utils 1.0 1.0 echo 1.0 helped"]


def test_stand_ins_serve_module_body_reads_at_first_use_for_the_trial(tmp_path):
    # hook.stand_ins = True (the default, with lasting stand-ins): a name the module body
    # reads is deferred until that read, through a stand-in that stays bound; False (the
    # run-time mode): the statement is eager (the trial: see the test of lasting_stand_ins)
    files = {"body.py": "print('load body')\nX = 5\n"}
    program = """
        import body
        print("before the read")
        print(body.X, type(NAMESPACE["body"]).__name__)
        """
    trial = lines(run_program(tmp_path, files, ALL_LAZY.replace(
        "HOOK.stand_ins = False", "HOOK.stand_ins = True") + program))
    assert trial == ["before the read", "load body", "5 module"]
    runtime = lines(run_program(tmp_path, files, ALL_LAZY + program))
    assert runtime == ["load body", "before the read", "5 module"]


def test_namespace_readers_stay_eager_and_missing_attributes_run_pending_imports(tmp_path):
    # httpcore: `for name in __all__: locals()[name]...` reads its own namespace as a dict,
    # where a pending name is absent: its imports stay eager. typer: `typer.core` exists
    # eagerly because typer.main (imported by `from .main import Typer`) imports it; a read
    # of the missing attribute runs the package's pending imports, as eagerly, then looks
    # again (and a true AttributeError stays one).
    files = {
        "dictread.py": "from parts import part\n__all__ = ['part']\n"
                       "for _n in __all__:\n    locals()[_n].tag = 'x'\n",
        "parts.py": "def part():\n    pass\n",
        "ty/__init__.py": "from .main import Typer\n",
        "ty/main.py": "from .core import Group\nclass Typer:\n    group = Group\n",
        "ty/core.py": "print('load ty.core')\nclass Group:\n    pass\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import dictread, ty
        def use():
            return dictread.part.tag, ty.core.Group.__name__, hasattr(ty, "nothing_here")
        import os
        print("dictread" in sys.modules, "ty.core" in sys.modules)
        print(*use())
        """))
    # (a deferred `from parts import part` in dictread would make its loop a KeyError)
    assert out == ["False False", "load ty.core", "x Group False"]


def test_the_trial_lets_no_stand_in_outlive_the_next_import(tmp_path):
    # hook.lasting_stand_ins = False (the lazy trial): a statement whose names the module
    # body reads (click's `formatter_class = HelpFormatter`, contextlib's
    # `classmethod(GenericAlias)`), or any statement of a module that answers attributes
    # itself (click.core's `__getattr__`, whose functions then `except Exit:`), is eager, as
    # PEP 810 reifies at that read; with lasting stand-ins, each would keep a stand-in
    # where the real object is needed later (a class attribute, an `except` clause).
    files = {
        "helper.py": "class Formatter:\n    pass\nclass Unused:\n    pass\n",
        "klass.py": "from helper import Formatter\nclass Context:\n"
                    "    formatter_class = Formatter\n",
        "errs.py": "class Boom(Exception):\n    pass\n",
        "catcher.py": "from errs import Boom\n"
                      "def catch():\n    try:\n        raise Boom()\n"
                      "    except Boom:\n        return 'caught'\n"
                      "def __getattr__(name):\n    raise AttributeError(name)\n",
        # the body reads `Alias` (a class body), a function reads `Later`, and the body
        # reads its own class `A` (`class B(A)`) before any other import statement
        "typ.py": "def Alias(*args):\n    return args\nclass Later:\n    pass\n",
        "order.py": "from typ import Later, Alias\nclass A:\n    get = staticmethod(Alias)\n"
                    "class B(A):\n    pass\ndef later():\n    return Later\n",
    }
    program = """
        import klass, catcher, order
        import os
        from helper import Unused
        print(type(klass.Context.__dict__["formatter_class"]).__name__,
              catcher.catch(), order.B.get is sys.modules["typ"].Alias,
              order.later() is sys.modules["typ"].Later)
        """
    trial = ALL_LAZY.replace("HOOK.stand_ins = False",
                             "HOOK.stand_ins = True; HOOK.lasting_stand_ins = False")
    assert lines(run_program(tmp_path, files, trial + program)) == ["type caught True True"]
    # the default keeps stand-ins that last: `B.get` and what `later()` returns are
    # stand-ins, not the objects (`Alias` was read by a class body while `Later`'s stand-in
    # was bound for the function: one statement)
    lasting = ALL_LAZY.replace("HOOK.stand_ins = False", "HOOK.stand_ins = True")
    assert lines(run_program(tmp_path, files, lasting + program)) == [
        "type caught False False"]


def test_a_missing_attribute_runs_pending_imports_only_if_it_may_be_a_submodule(tmp_path):
    # faker's registry probes `getattr(provider_module, "default_locale", "")` on every
    # provider package: eagerly a plain AttributeError; it must not run the package's
    # deferred imports (hashlib, zipfile, ...). `pkg.core`, a submodule another deferred
    # import would have loaded, still resolves them (see the namespace-readers test).
    files = {
        "prov/__init__.py": "import heavy\ndef make():\n    return heavy.VALUE\n",
        "heavy.py": "print('load heavy')\nVALUE = 1\n",
        "plain.py": "import heavy\ndef make():\n    return heavy.VALUE\n",
    }
    out = lines(run_program(tmp_path, files, ALL_LAZY + """
        import prov, plain
        import os
        print(getattr(prov, "default_locale", "none"), getattr(plain, "other", "none"),
              "heavy" in sys.modules)
        print(prov.make())
        """))
    assert out == ["none none False", "load heavy", "1"]
