"""The rules that keep `hotstart fix` from breaking working code (`audit/safety.py`): each on a
small real project, audited for real; where the library is in the standard library the project
is also fixed on disk and its code run in a fresh interpreter to show it still works."""

from __future__ import annotations

import pytest
from fix._helpers import fix_and_write, make, run_python

from ._helpers import audit_tree, names, site, sites_in

PKG = {"pkg/__init__.py": ""}


def one(tmp_path, source: str, **options):
    """Audit a package whose module `pkg.a` has `source`."""
    return audit_tree(tmp_path, {**PKG, "pkg/a.py": source}, "pkg", **options)


def classes(report, module: str = "pkg.a") -> dict[str, str]:
    return {name: s.klass for s in sites_in(report, module) for name in names(s)}


# -- namespaces handed to code ---------------------------------------------------------------

EVALUATOR = """
    import json
    import math
    from collections import OrderedDict


    def evaluate(code):
        exec(code, globals())
        return globals()["result"]
    """


def test_a_namespace_handed_to_exec_keeps_every_import_and_fix_keeps_the_code_working(
        tmp_path):
    root = make(tmp_path / "proj", {**PKG, "pkg/evaluator.py": EVALUATOR})
    result = fix_and_write(root, "pkg", include_all=True)
    report = result.report
    for name in ("json", "math", "OrderedDict"):
        s = site(report, "pkg.evaluator", name)
        assert s.klass == "needed"
        assert f"module namespace handed to exec() at {s.file}:7" in s.pins, s.pins
    assert result.changes == [] and result.files == []
    out = run_python(root, """
        from pkg.evaluator import evaluate
        print(evaluate("result = json.dumps(OrderedDict(pi=round(math.pi, 2)))"))
        """)
    assert out.strip() == '{"pi": 3.14}'


@pytest.mark.parametrize("code, pin", [
    ("def run(code):\n    return eval(code)\n", "module namespace read by eval() at "),
    ("def run(code):\n    exec(code)\n", "module namespace read by exec() at "),
    ("NS = vars()\n\ndef run(code):\n    exec(code, NS)\n",
     "module namespace used through vars() at "),
    ("def run(code):\n    exec(code, sys.modules[__name__].__dict__)\n",
     "module object read by name (sys.modules[__name__]) at "),
    ("def run(name):\n    return globals()[name]\n",
     "module namespace read by a computed name from globals() at "),
    ("def run(name):\n    return globals().get(name)\n",
     "module namespace read by a computed name from globals() at "),
    ("def run(text):\n    return string.Template(text).substitute(globals())\n",
     "module namespace handed to string.Template(...).substitute() at "),
    ("def run(path):\n    return runpy.run_path(path, init_globals=globals())\n",
     "module namespace handed to runpy.run_path() at "),
    ("def run(code):\n    return eval(code, {}, locals())\n", None),  # a function's locals
])
def test_every_way_of_handing_the_module_namespace_to_code_pins_every_import(
        tmp_path, code, pin):
    source = "import json\nimport math\nimport runpy\nimport string\nimport sys\n\n" + code
    report = one(tmp_path, source)
    if pin is None:
        assert classes(report)["json"] == "dead"
        return
    for name in ("json", "math"):
        s = site(report, "pkg.a", name)
        assert s.klass == "needed", (name, s.klass, s.reason)
        assert any(p.startswith(pin) for p in s.pins), s.pins


def test_a_constant_name_read_from_globals_pins_only_that_name(tmp_path):
    report = one(tmp_path, """
        import json
        import math

        def run():
            if "math" in globals():
                return globals()["json"]
        """)
    json_site, math_site = site(report, "pkg.a", "json"), site(report, "pkg.a", "math")
    assert json_site.klass == math_site.klass == "needed"
    assert json_site.pins[0].startswith("read by name from globals() at ")
    assert math_site.pins[0].startswith("looked up by name in globals() at ")
    report = one(tmp_path, """
        import json
        import math

        def run():
            return globals()["json"]
        """)
    assert classes(report) == {"json": "needed", "math": "dead"}


def test_writes_to_globals_and_a_constant_exec_pin_only_what_they_read(tmp_path):
    report = one(tmp_path, """
        import json
        import math
        import os

        globals()["alias"] = 1
        globals().update(more=2)
        VALUE = eval("math.pi")
        """)
    assert classes(report) == {"json": "dead", "math": "needed", "os": "dead"}
    assert site(report, "pkg.a", "math").pins[0].startswith("read by eval() at ")


# -- functions an import cannot move into ----------------------------------------------------

@pytest.mark.parametrize("header, compiled, line", [
    ("from numba import njit as nj\n\n@nj(cache=True)\n", "numba.njit", 4),
    ("import numba\n\n@numba.jit\n", "numba.jit", 4),
    ("import numba\n\n@numba.vectorize(['float64(float64)'])\n", "numba.vectorize", 4),
    ("from numba import cfunc\n\n@cfunc('float64(float64)')\n", "numba.cfunc", 4),
    ("import torch\n\n@torch.jit.script\n", "torch.jit.script", 4),
    ("import jax\n\n@jax.jit\n", "jax.jit", 4),
    ("import cython\n\n@cython.cfunc\n", "cython.cfunc", 4),
])
def test_an_import_used_in_a_compiled_function_is_needed(tmp_path, header, compiled, line):
    report = one(tmp_path, "import math\n" + header + "def f(x):\n    return math.sqrt(x)\n")
    s = site(report, "pkg.a", "math")
    assert s.klass == "needed"
    assert s.pins == [f"used inside {compiled}-compiled function f ({s.file}:{line + 1})"]


def test_a_function_compiled_by_a_call_and_its_nested_functions_are_compiled(tmp_path):
    report = one(tmp_path, """
        import cmath
        import math
        import json
        import numba

        def f(x):
            def inner(y):
                return math.floor(y)
            return inner(cmath.sqrt(x).real)

        def plain(x):
            return json.dumps(x)

        fast = numba.njit(cache=True)(f)
        """)
    assert classes(report) == {"cmath": "needed", "math": "needed", "json": "deferrable",
                               "numba": "needed"}
    assert site(report, "pkg.a", "math").pins == [
        f"used inside numba.njit-compiled function f ({site(report, 'pkg.a', 'math').file}:6)"]


def test_a_numba_jitclass_compiles_its_methods(tmp_path):
    report = one(tmp_path, """
        import math
        from numba.experimental import jitclass

        @jitclass([])
        class Point:
            def norm(self):
                return math.hypot(1, 2)
        """)
    assert site(report, "pkg.a", "math").pins[0].startswith(
        "used inside numba.experimental.jitclass-compiled class Point (")


def test_overload_stubs_setters_and_abstract_stubs_are_never_moved_into(tmp_path):
    report = one(tmp_path, '''
        import abc
        import json
        import math
        import pickle
        import shlex
        import textwrap
        from typing import Protocol, overload

        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str:
            return json.dumps(x)
        def f(x):
            return textwrap.dedent(x)

        class C(abc.ABC):
            @property
            def x(self):
                return shlex.quote(self._x)
            @x.setter
            def x(self, value):
                self._x = math.floor(value)
            @abc.abstractmethod
            def run(self):
                raise NotImplementedError(pickle.HIGHEST_PROTOCOL)

        class P(Protocol):
            def go(self) -> None:
                """Go."""
                ...
        ''')
    found = classes(report)
    assert found["json"] == found["math"] == found["pickle"] == "needed"
    # the implementation and the getter take imports (uses there are not in a stub's lines)
    assert found["textwrap"] == found["shlex"] == "deferrable"
    file = site(report, "pkg.a", "json").file
    assert site(report, "pkg.a", "json").pins == [f"used inside @overload stub f ({file}:12)"]
    assert site(report, "pkg.a", "math").pins == [f"used inside property setter C.x ({file}:22)"]
    # `raise NotImplementedError(...)` is a stub's body, but it reads pickle: kept at the top
    assert site(report, "pkg.a", "pickle").pins == [f"used inside abstract stub C.run ({file}:25)"]


# -- annotations read at run time ------------------------------------------------------------

FUTURE = "from __future__ import annotations\n"


def test_a_dataclass_classvar_stays_and_fix_keeps_the_class_what_it_was(tmp_path):
    root = make(tmp_path / "proj", {**PKG, "pkg/config.py": FUTURE + """
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar


@dataclass
class Config:
    registry: ClassVar[dict] = {}
    size: int = 0
    price: Decimal | None = None
"""})
    result = fix_and_write(root, "pkg", include_all=True)
    s = site(result.report, "pkg.config", "ClassVar")
    assert (s.klass, s.pins) == ("needed", [
        f"annotation read at run time by @dataclasses.dataclass (ClassVar/InitVar/KW_ONLY "
        f"lookup) class Config ({s.file}:9)"])
    # a dataclass never evaluates its other string annotations: Decimal still moves
    assert site(result.report, "pkg.config", "Decimal").klass == "typing-only"
    assert [c.site.names[0].name for c in result.changes] == ["Decimal"]
    out = run_python(root, """
        import dataclasses, typing
        from pkg.config import Config
        print([f.name for f in dataclasses.fields(Config)], Config(3).size)
        print(typing.get_type_hints(Config)["price"])
        """)
    assert out.splitlines() == ["['size', 'price'] 3", "typing.Optional[decimal.Decimal]"]


@pytest.mark.parametrize("model, header", [
    ("pydantic.BaseModel subclass", "from pydantic import BaseModel as Base\n"),
    ("msgspec.Struct subclass", "import msgspec\nBase = msgspec.Struct\n"),
    ("typing.NamedTuple subclass", "from typing import NamedTuple as Base\n"),
    ("typing.TypedDict subclass", "from typing import TypedDict as Base\n"),
])
def test_fields_of_models_that_evaluate_annotations_are_needed(tmp_path, model, header):
    if "msgspec" in header:  # a base given by module attribute
        header, base = "import msgspec\n", "msgspec.Struct"
    else:
        base = "Base"
    report = one(tmp_path, FUTURE + header + "from decimal import Decimal\n"
                 "from fractions import Fraction\n\n"
                 f"class Item({base}):\n    price: Decimal\n\n"
                 "def f(x: Fraction) -> None:\n    pass\n")
    s = site(report, "pkg.a", "Decimal")
    assert s.klass == "needed"
    assert s.pins == [f"annotation read at run time by {model} Item ({s.file}:6)"]
    assert site(report, "pkg.a", "Fraction").klass == "typing-only"  # a plain function


def test_subclasses_of_a_project_model_are_followed_across_modules(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/base.py": "from pydantic import BaseModel\n\nclass Base(BaseModel):\n"
                       "    pass\n",
        "pkg/models.py": "from .base import Base\n\nclass Middle(Base):\n    pass\n",
        "pkg/api.py": FUTURE + "from decimal import Decimal\nfrom pkg.models import Middle\n"
                      "\n\nclass Order(Middle):\n    total: Decimal\n",
        "pkg/plain.py": FUTURE + "from decimal import Decimal\n\n\nclass Other:\n"
                        "    total: Decimal\n",
    }, "pkg")
    s = site(report, "pkg.api", "Decimal")
    assert s.pins == [f"annotation read at run time by pydantic.BaseModel subclass Order "
                      f"({s.file}:6)"]
    assert site(report, "pkg.plain", "Decimal").klass == "typing-only"


@pytest.mark.parametrize("code, reader", [
    ("import attrs\n\n@attrs.define\nclass Item:\n    price: Decimal\n", "@attrs.define class"),
    ("from attr import s\n\n@s(auto_attribs=True)\nclass Item:\n    price: Decimal\n",
     "@attr.s class"),
    ("from pydantic.dataclasses import dataclass\n\n@dataclass\nclass Item:\n"
     "    price: Decimal\n", "@pydantic.dataclasses.dataclass class"),
    ("import pydantic\n\n@pydantic.validate_call\ndef Item(price: Decimal) -> None:\n"
     "    pass\n", "@pydantic.validate_call function"),
    ("import functools\n\n@functools.singledispatch\ndef show(x):\n    pass\n\n"
     "@show.register\ndef Item(price: Decimal):\n    pass\n", "singledispatch registration"),
    ("import typer\n\napp = typer.Typer()\n\n@app.command()\ndef Item(price: Decimal):\n"
     "    pass\n", "typer command"),
    ("from fastapi import APIRouter\n\nrouter = APIRouter()\n\n@router.get('/')\n"
     "def Item(price: Decimal):\n    pass\n", "FastAPI route"),
    ("from pydantic import TypeAdapter\n\nclass Item:\n    price: Decimal\n\n"
     "def load(data):\n    return TypeAdapter(list[Item]).validate_python(data)\n",
     "pydantic.TypeAdapter() on"),
])
def test_decorators_and_readers_that_evaluate_annotations_pin_them(tmp_path, code, reader):
    report = one(tmp_path, FUTURE + "from decimal import Decimal\n" + code)
    s = site(report, "pkg.a", "Decimal")
    assert s.klass == "needed", (s.klass, s.reason)
    assert s.pins[0].startswith(f"annotation read at run time by {reader} Item ("), s.pins


def test_a_typer_app_imported_from_another_module_is_followed(tmp_path):
    report = audit_tree(tmp_path, {
        **PKG,
        "pkg/app.py": "import typer\n\napp = typer.Typer()\n",
        "pkg/cmds.py": FUTURE + "from decimal import Decimal\nfrom pkg.app import app\n\n\n"
                       "@app.command()\ndef price(value: Decimal) -> None:\n    pass\n",
        "pkg/clicks.py": FUTURE + "import click\nfrom decimal import Decimal\n\n\n"
                         "@click.command()\ndef price(value: Decimal) -> None:\n    pass\n",
    }, "pkg")
    assert site(report, "pkg.cmds", "Decimal").pins[0].startswith(
        "annotation read at run time by typer command price (")
    # click never reads annotations
    assert site(report, "pkg.clicks", "Decimal").klass == "typing-only"


# -- effects ---------------------------------------------------------------------------------

QUIET = {
    **PKG,
    "pkg/quiet.py": """
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import json
        """,
    "pkg/loud.py": """
        import warnings

        warnings.simplefilter("ignore")
        """,
    "pkg/cli.py": """
        import pkg.quiet
        import pkg.loud

        def run():
            return pkg.quiet, pkg.loud
        """,
}


def test_a_warnings_filter_inside_catch_warnings_is_not_a_side_effect(tmp_path):
    report = audit_tree(tmp_path, QUIET, "pkg")
    quiet = [s for s in sites_in(report, "pkg.cli") if s.imported == "pkg.quiet"][0]
    loud = [s for s in sites_in(report, "pkg.cli") if s.imported == "pkg.loud"][0]
    assert (quiet.klass, quiet.reason) == ("deferrable", "used only inside run()")
    assert loud.klass == "side-effect"
    assert loud.effects == ["pkg.loud: installs a warnings filter at line 3"]


RELAY = {
    **PKG,
    "pkg/exiter.py": "import atexit\n\natexit.register(print)\n",
    "pkg/relay.py": "import pkg.exiter\n\ndef f():\n    return 1\n",
    "pkg/first.py": "import pkg.exiter\nimport pkg.relay\n\ndef g():\n    return pkg.relay.f()\n",
    "pkg/alone.py": "import pkg.relay\n\ndef g():\n    return pkg.relay.f()\n",
    "pkg/cycle.py": "import pkg.back\nimport pkg.exiter as ex\n\ndef g():\n    return ex\n",
    "pkg/back.py": "import pkg.cycle\nimport pkg.exiter\n",
}


def test_an_effect_an_earlier_import_performed_does_not_pin_a_later_one(tmp_path):
    report = audit_tree(tmp_path, RELAY, "pkg")
    first = [s for s in sites_in(report, "pkg.first") if s.imported == "pkg.relay"][0]
    assert (first.klass, first.reason) == ("deferrable", "used only inside g()")
    alone = site(report, "pkg.alone", "pkg")
    assert alone.klass == "side-effect"
    assert alone.effects == ["pkg.relay: imports pkg.exiter, which registers an atexit handler "
                             "at line 3"]
    # pkg.back imports pkg.cycle back: when pkg.back is imported first, pkg.cycle runs while
    # pkg.back is half done, before its `import pkg.exiter`, so that does not count
    assert site(report, "pkg.cycle", "ex").klass == "side-effect"


def test_a_local_eval_is_not_the_builtin(tmp_path):
    report = one(tmp_path, """
        import json

        def run(expr):
            from pandas import eval
            return eval(expr)
        """)
    assert classes(report) == {"json": "dead"}


PRELOADED = {
    **PKG,
    "pkg/reg.py": "import codecs\n\ncodecs.register(lambda name: None)\n",
    "pkg/heavy.py": "import pkg.reg\nimport pkg.big\n\ndef work():\n    return pkg.big.N\n",
    "pkg/big.py": "N = sum(range(1000))\n",
    "pkg/setup.py": "import pkg.reg\n",
    "pkg/cli.py": "import pkg.heavy\n\ndef main():\n    return pkg.heavy.work()\n",
    "pkg/main.py": "import pkg.setup\nimport pkg.cli\n",
    "pkg/alone.py": "import pkg.cli\n",
}


def test_an_effect_the_entry_performed_before_the_site_ran_does_not_pin_it(tmp_path):
    static = audit_tree(tmp_path / "static", PRELOADED, "pkg")
    heavy = site(static, "pkg.cli", "pkg")
    assert heavy.klass == "side-effect"
    assert heavy.effects == ["pkg.heavy: imports pkg.reg, which registers a codec at line 3"]
    # on `-m pkg.main`, pkg.setup loaded pkg.reg before pkg.cli ran `import pkg.heavy`
    measured = audit_tree(tmp_path / "main", PRELOADED, "pkg", entries=["-m pkg.main"],
                          run=True, runs=1)
    heavy = site(measured, "pkg.cli", "pkg")
    assert (heavy.klass, heavy.reason, heavy.effects) == \
        ("deferrable", "used only inside main()", [])
    assert heavy.best_saving is not None and "pkg.big" in heavy.best_saving.modules
    # on `-m pkg.alone` the site itself loads pkg.reg: its effect stays the site's
    alone = audit_tree(tmp_path / "alone", PRELOADED, "pkg", entries=["-m pkg.alone"],
                       run=True, runs=1)
    assert site(alone, "pkg.cli", "pkg").klass == "side-effect"
