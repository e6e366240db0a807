"""What the codemods write must keep the project working and tidy: `typing.get_type_hints`
gives the same hints before and after a fix (on 3.11 and 3.13), a second fix changes nothing
and breaks nothing, generated stubs hold declarations only, and generated code passes the
project's own import-order and line-length lint."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import run_hotstart

from ._helpers import assert_idempotent, fix_and_write, make, run_python, snapshot

#: The interpreters the get_type_hints comparison runs on: this one, and 3.12 and 3.13 when
#: present (pyenv builds on the project's machines).
INTERPRETERS = [sys.executable] + [
    path for path in ("/root/.pyenv/versions/3.12.1/bin/python",
                      "/root/.pyenv/versions/3.13.0/bin/python") if os.path.exists(path)]

# -- typing-only aliases keep typing.get_type_hints working ----------------------------------

MODELS = '''\
class Model:
    pass


class Other:
    pass


class Third:
    pass
'''

GENERIC = '''\
from typing import Generic, TypeVar

T = TypeVar("T")


class Box(Generic[T]):
    pass


class Tree:
    class Leaf:
        pass
'''

API = '''\
"""Annotations of every shape."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Annotated, Callable, Mapping, Optional

from pkg.generic import Box, Tree
from pkg.models import Model, Other, Third

LIMIT: Model | None = None


def bare(x: Model, t: Third | None = None) -> Model | None:
    return None


def nested(x: dict[str, list[Model | None]], y: Optional[Other] = None,
           z: "tuple[Model, ...]" = ()) -> Callable[[Model], Other]:
    return lambda m: Other()


def extras(x: Annotated[Model, "meta"], y: None | Other = None) -> type[Model]:
    return Model


def subscripted(x: Sequence[int], y: Mapping[str, int]) -> Box[int]:
    return Box()


def attribute(x: Tree.Leaf) -> None:
    return None


class Holder:
    item: Model
    others: list[Other]

    def method(self, other: Other) -> list[Model]:
        return []


@dataclasses.dataclass
class Record:
    model: Model
    extra: Optional[Other] = None
'''

#: Loads `pkg.api` from the original source, then from the fixed one, under its own name,
#: and compares typing.get_type_hints of the module, each function, class and method.
COMPARE = r'''
import importlib.util, inspect, sys, typing

def load(path):
    spec = importlib.util.spec_from_file_location("pkg.api", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["pkg.api"] = module
    spec.loader.exec_module(module)
    return module

def hints(module):
    out = {"<module>": typing.get_type_hints(module)}
    for name, value in vars(module).items():
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if inspect.isfunction(value) or inspect.isclass(value):
            out[name] = typing.get_type_hints(value)
        if inspect.isclass(value):
            for attr, method in vars(value).items():
                if inspect.isfunction(method):
                    out[f"{name}.{attr}"] = typing.get_type_hints(method)
    return out

after = load(sys.argv[2])
assert "pkg.models" not in sys.modules, "the typing-only import ran"
fixed = hints(after)
original = hints(load(sys.argv[1]))
assert fixed == original, (fixed, original)
print(len(original), sum(map(len, original.values())))
'''


def _compare_hints(root: pathlib.Path, original: str, python: str) -> str:
    before = root.parent / "api_before.py"
    before.write_text(original)
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([python, "-c", COMPARE, str(before), str(root / "pkg" / "api.py")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("python", INTERPRETERS, ids=lambda p: os.path.basename(
    os.path.dirname(os.path.dirname(p))) if p != sys.executable else "this")
def test_typing_only_aliases_keep_get_type_hints(tmp_path, python):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                                     "pkg/generic.py": GENERIC, "pkg/api.py": API})
    result = fix_and_write(root, runtime="stdlib", include_all=True)
    after = (root / "pkg" / "api.py").read_text()
    moved = sorted(n.name for c in result.changes for n in c.site.names)
    # bare, `| None`, inside list/dict/Optional/Callable/Annotated/type: a ForwardRef alias
    assert moved == ["Model", "Other", "Third"], moved
    assert sorted(c.action for c in result.changes) == ["move", "move", "type-checking"]
    assert "    Model = ForwardRef(\"__import__('pkg.models', fromlist=['Model']).Model\")\n" \
        in after
    # subscripted (`Sequence[int]`, `Box[int]`, `Optional[...]`...) or an attribute read
    # (`Tree.Leaf`): a ForwardRef cannot stand for them, the import stays, and why is said
    assert "from pkg.models import" not in after.split("if TYPE_CHECKING")[0]
    assert "from pkg.generic import Box, Tree\n" in after
    assert "from collections.abc import Sequence\n" in after
    # the generated typing import joins the project's own
    assert "from typing import TYPE_CHECKING, Annotated, Callable, ForwardRef, Mapping, " \
        "Optional\n" in after
    whys = " | ".join(s.why for s in result.skipped)
    api = root / "pkg" / "api.py"
    assert f"pinned by: subscripted (`Sequence[...]`) in an annotation ({api}:27)" in whys
    assert "pinned by: subscripted (`Box[...]`)" in whys
    assert f"pinned by: `Tree.Leaf` read in an annotation ({api}:31)" in whys
    checked = _compare_hints(root, API, python)
    objects, hints = map(int, checked.split())
    # the module, 5 functions, 2 classes, Holder.method, Record's __init__, __repr__, __eq__
    assert objects >= 12 and hints == 25, checked  # 3.13 adds Record.__replace__


def test_typing_only_alias_reason_is_printed(tmp_path):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                                     "pkg/generic.py": GENERIC, "pkg/api.py": API})
    done = run_hotstart("fix", str(root), "--all", "--runtime", "stdlib")
    assert done.returncode == 0, done.stderr
    where = root / "pkg" / "api.py"
    assert f"pinned by: subscripted (`Box[...]`) in an annotation ({where}:27)" in done.stdout


def test_argument_of_an_unknown_generic_keeps_the_import(tmp_path):
    # `Custom[Model]`: Custom's __class_getitem__ is not typing's, so nothing resolves the
    # ForwardRef inside what it returns; hotstart cannot prove the alias works there
    api = ("from __future__ import annotations\n\nfrom pkg.custom import Custom\n"
           "from pkg.models import Model\n\n\ndef f(x: Custom[Model]) -> None:\n"
           "    return None\n")
    custom = ("class Custom:\n    def __class_getitem__(cls, item):\n"
              "        return (cls, item)\n")
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                                     "pkg/custom.py": custom, "pkg/api.py": api})
    before = snapshot(root)
    result = fix_and_write(root, runtime="stdlib")
    assert result.changes == []
    assert {s.site.imported: s.why for s in result.skipped}["pkg.models"] == (
        "pinned by: an argument of `Custom[...]` (not one of typing's generics) in an "
        f"annotation ({root / 'pkg' / 'api.py'}:7); a ForwardRef alias cannot stand for it "
        "there, so the import stays")
    assert snapshot(root) == before


# -- a second fix changes nothing and breaks nothing -----------------------------------------

HEAVY = '''\
import json


def thing():
    return json.dumps([1])
'''

CLI = '''\
from pkg import thing


def main():
    return thing()
'''

#: The package's own code, as its users run it: imports, `from pkg import name`, calls.
USE = """
    import pkg, pkg.cli, pkg.work, pkg.api, pkg.dead
    from pkg import thing, VERSION
    assert thing() == "[1]" and pkg.thing is thing and VERSION == "1"
    assert pkg.cli.main() == "[1]"
    assert pkg.work.load("a: 1") == {"a": 1}
    assert pkg.dead.CONSTANT == 1
    import typing
    from pkg.models import Model
    assert typing.get_type_hints(pkg.api.one) == {"x": Model, "return": Model | None}
    namespace = {}
    exec("from pkg import *", namespace)
    assert namespace["thing"] is thing
    print("ok")
"""


def _every_kind(root: pathlib.Path, init_all: bool = True) -> pathlib.Path:
    init = '"""The package."""\nfrom .heavy import thing\n' + (
        '\n__all__ = ["thing", "VERSION"]\n' if init_all else "") + '\nVERSION = "1"\n'
    return make(root, {
        "pkg/__init__.py": init,
        "pkg/heavy.py": HEAVY,
        "pkg/cli.py": CLI,
        "pkg/models.py": "class Model:\n    pass\n",
        "pkg/work.py": "import yaml\n\n\ndef load(text):\n    return yaml.safe_load(text)\n",
        "pkg/api.py": ("from __future__ import annotations\n\nfrom pkg.models import Model\n\n\n"
                       "def one(x: Model) -> Model | None:\n    return None\n"),
        "pkg/dead.py": "import yaml\n\nCONSTANT = 1\n",
    })


@pytest.mark.parametrize("options", [
    {"defer": "local", "runtime": "stdlib"},
    {"defer": "local", "runtime": "hotstart"},
    {"defer": "lazy-modules", "runtime": "stdlib"},
    {"defer": "local", "runtime": "stdlib", "select": ("dead",)},
    {"defer": "local", "runtime": "stdlib", "select": ("typing-only",)},
], ids=["local-stdlib", "local-hotstart", "lazy-modules", "dead", "typing-only"])
@pytest.mark.parametrize("init_all", [True, False], ids=["all", "no-all"])
def test_second_fix_changes_nothing_and_breaks_nothing(tmp_path, options, init_all):
    root = _every_kind(tmp_path / "proj", init_all)
    assert run_python(root, USE) == "ok\n"
    first = fix_and_write(root, include_all=True, **options)
    assert first.changes
    assert run_python(root, USE) == "ok\n"
    assert_idempotent(root, include_all=True, **options)
    assert run_python(root, USE) == "ok\n"


def test_second_fix_through_the_cli(tmp_path):
    root = _every_kind(tmp_path / "proj")
    first = run_hotstart("fix", str(root), "--all", "--write")
    assert first.returncode == 0, first.stderr
    assert "made 0 change(s)" not in first.stdout
    assert run_python(root, USE) == "ok\n"
    before = snapshot(root)
    second = run_hotstart("fix", str(root), "--all", "--write")
    assert second.returncode == 0, second.stderr
    assert "made 0 change(s) in 0 file(s)" in second.stdout, second.stdout
    assert snapshot(root) == before
    assert run_python(root, USE) == "ok\n"


def test_second_fix_of_lazy_imports_on_315(tmp_path):
    import libcst

    root = _every_kind(tmp_path / "proj")
    first = fix_and_write(root, target_version="3.15", include_all=True)
    assert "lazy" in {c.action for c in first.changes}
    for path in root.rglob("*.py"):  # 3.15 syntax: this interpreter cannot run it
        libcst.parse_module(path.read_text(),
                            config=libcst.PartialParserConfig(python_version="3.15"))
    assert_idempotent(root, target_version="3.15", include_all=True)


def test_init_name_used_in_a_function_and_imported_elsewhere_stays(tmp_path):
    """A package __init__ name used by its own functions and imported by another module:
    moving it into the function broke `from pkg import helper`."""
    init = ('"""P."""\nfrom .util import helper\n\n\ndef use():\n    return helper()\n')
    root = make(tmp_path / "proj", {"pkg/__init__.py": init,
                                     "pkg/util.py": "def helper():\n    return 2\n",
                                     "pkg/cli.py": "from pkg import helper\n\nX = helper()\n"})
    result = fix_and_write(root, include_all=True)
    assert [c.site.statement for c in result.changes] == []
    assert [s.why for s in result.skipped] == [
        f"pinned by: imported from this module by pkg.cli ({root / 'pkg' / 'cli.py'}:1)"]
    run_python(root, "import pkg.cli; assert pkg.cli.X == 2; import pkg; assert pkg.use() == 2")


def test_generated_all_leaves_out_names_the_fix_moves(tmp_path):
    """Without __all__, the lazy __init__ gets one; a name another change of the same fix
    moves into a function is not bound any more, so listing it broke `from pkg import *`."""
    init = ('"""P."""\nfrom .heavy import thing\nfrom .util import helper\n\nVERSION = "1"\n\n\n'
            'def use():\n    return helper()\n')
    root = make(tmp_path / "proj", {"pkg/__init__.py": init, "pkg/heavy.py": HEAVY,
                                     "pkg/util.py": "def helper():\n    return 2\n"})
    result = fix_and_write(root, include_all=True)
    assert sorted(c.action for c in result.changes) == ["lazy-init", "move", "move"]
    after = (root / "pkg" / "__init__.py").read_text()
    assert '__all__ = ["VERSION", "thing", "use"]\n' in after
    out = run_python(root, """
        import pkg
        namespace = {}
        exec("from pkg import *", namespace)
        assert namespace["thing"]() == "[1]" and namespace["use"]() == 2
        print("ok")
    """)
    assert out == "ok\n"
    assert_idempotent(root, include_all=True)


# -- generated .pyi stubs hold declarations only ----------------------------------------------

STUB_INIT = '''\
"""A package whose __init__ does things at import."""
import logging
from typing import TypeVar

from . import sub
from .heavy import thing
from .heavy import thing as other
from .nested import mod

T = TypeVar("T")
Alias = list[int]
VERSION = "1"
COUNT = 3
LOGGER = logging.getLogger(__name__)
logging.getLogger(__name__).addHandler(logging.NullHandler())
_private = []


def helper(x: int = COUNT, *, y: str = "a") -> int:
    """Doc."""
    return x + len(y)


class Thing:
    """Doc."""
    size: int = 4
    name = "n"

    def method(self) -> str:
        return self.name

    @property
    def double(self) -> int:
        return self.size * 2
'''


def _assert_declarations_only(stub: str) -> ast.Module:
    tree = ast.parse(stub)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert [ast.unparse(s) for s in node.body] == ["..."], ast.unparse(node)
            for default in (*node.args.defaults, *filter(None, node.args.kw_defaults)):
                assert ast.unparse(default) == "...", ast.unparse(node)
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                assert isinstance(item, (ast.FunctionDef, ast.AnnAssign, ast.ClassDef,
                                         ast.Expr)), ast.unparse(item)
                if isinstance(item, ast.Expr):
                    assert ast.unparse(item) == "..."
                if isinstance(item, ast.AnnAssign):
                    assert item.value is None, ast.unparse(item)
    for node in tree.body:  # no statement that runs: imports and declarations
        assert isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef,
                                 ast.AnnAssign, ast.Assign)), ast.unparse(node)
        if isinstance(node, ast.Assign):
            value = node.value
            assert not isinstance(value, ast.Call) or ast.unparse(value.func) == "TypeVar", \
                ast.unparse(node)
    return tree


@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
def test_stub_holds_declarations_only(tmp_path, runtime):
    root = make(tmp_path / "proj", {"pkg/__init__.py": STUB_INIT, "pkg/heavy.py": HEAVY,
                                     "pkg/sub.py": "X = 1\n", "pkg/nested/__init__.py": "",
                                     "pkg/nested/mod.py": "Y = 2\n"})
    result = fix_and_write(root, runtime=runtime)
    assert sorted(n.name for c in result.changes for n in c.site.names) == [
        "mod", "other", "sub", "thing"]
    stub = (root / "pkg" / "__init__.pyi").read_text()
    tree = _assert_declarations_only(stub)
    lines = stub.splitlines()
    for expected in ("from . import sub as sub", "from .heavy import thing as thing",
                     "from .heavy import thing as other", "from .nested import mod as mod",
                     "import logging", "from typing import TypeVar",
                     'T = TypeVar("T")', "Alias = list[int]", "VERSION: str", "COUNT: int",
                     "LOGGER: Incomplete", "from _typeshed import Incomplete",
                     "def helper(x: int=..., *, y: str=...) -> int:", "class Thing:",
                     "    size: int", "    name: str", "    @property"):
        assert expected in lines, (expected, stub)
    assert "_private: list" not in stub and "getLogger(__name__).addHandler" not in stub
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert names == {"helper", "Thing"}
    run_python(root, "import pkg; assert pkg.thing() == '[1]' and pkg.other is pkg.thing "
                     "and pkg.sub.X == 1 and pkg.mod.Y == 2 and pkg.helper() == 4")
    assert_idempotent(root, runtime=runtime)


# -- generated code passes the project's own import-order and line-length lint ---------------

LINT_PROJECT = {
    "pyproject.toml": '[project]\nname = "pkg"\nversion = "1"\n\n[tool.ruff]\nline-length = 79\n',
    "pkg/__init__.py": ('"""The package."""\n\nfrom .heavy import thing\n\n'
                        '__all__ = ["thing", "VERSION"]\n\nVERSION = "1"\n'),
    "pkg/a_rather_long_module_name_for_wrapping.py": "def a_long_function_name():\n"
                                                     "    return 1\n",
    "pkg/models.py": "class Model:\n    pass\n",
    "pkg/heavy.py": '''\
import json
import os

from yaml import safe_dump

from pkg.a_rather_long_module_name_for_wrapping import a_long_function_name


def thing():
    return json.dumps([os.sep])


class Outer:
    class Inner:
        def method(self, data):
            import sys

            return safe_dump(data), a_long_function_name(), sys
''',
    "pkg/api.py": '''\
"""API."""

from __future__ import annotations

import os

from yaml import YAMLObject

from pkg.models import Model

ROOT = os.sep


def one(x: Model) -> Model | None:
    return None


def many(tag: YAMLObject | None = None) -> list[YAMLObject]:
    return []
''',
    "pkg/dead.py": "import json\nimport os\n\nX = os.sep\n",
    # the first-party section's first import moves: its blank line must stay
    "pkg/sections.py": (
        "import os\nimport sys\n\n"
        "from pkg.a_rather_long_module_name_for_wrapping import a_long_function_name\n"
        "from pkg.models import Model\n\nBASE = (os.sep, Model)\n\n\n"
        "def f():\n    return sys.argv, a_long_function_name()\n"),
}


def _ruff(root: pathlib.Path) -> subprocess.CompletedProcess:
    """ruff's import order and line length, configured by the project's pyproject.toml."""
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--quiet",
                           "--select", "I,E501", str(root)],
                          cwd=root, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("options", [
    {"runtime": "stdlib"}, {"runtime": "hotstart"}, {"defer": "lazy-modules"},
    {"target_version": "3.15"},
], ids=["stdlib", "hotstart", "lazy-modules", "lazy-315"])
def test_generated_code_passes_the_projects_lint(tmp_path, options):
    files = dict(LINT_PROJECT)
    if "target_version" in options:
        # ruff sorts `lazy` imports after the eager ones of their section; a `lazy` import is
        # made in place, so a section that keeps eager imports after it stays unsorted
        del files["pkg/sections.py"]
    root = make(tmp_path / "proj", files)
    assert _ruff(root).returncode == 0, _ruff(root).stdout  # clean before
    result = fix_and_write(root, include_all=True, **options)
    assert len(result.changes) >= 4
    after = _ruff(root)
    assert after.returncode == 0, after.stdout + after.stderr
    heavy = (root / "pkg" / "heavy.py").read_text()
    if not ({"defer", "target_version"} & set(options)):
        # the mark on its own line; a long import wrapped to the line length (79)
        assert ("            # deferred by hotstart fix\n            import sys\n\n"
                "            from yaml import safe_dump\n\n"
                "            from pkg.a_rather_long_module_name_for_wrapping import (\n"
                "                a_long_function_name,\n            )\n") in heavy
    assert max(len(line) for path in root.rglob("*.py*")
               for line in path.read_text().splitlines()) <= 79
    if "target_version" not in options:  # 3.15 syntax: this interpreter cannot run it
        run_python(root, "import pkg.heavy, pkg.api; assert pkg.heavy.thing() == '[\"/\"]'")
    assert_idempotent(root, include_all=True, **options)


def test_crlf_file_stays_crlf_with_generated_blocks(tmp_path):
    api = ("from __future__ import annotations\n\nimport os\n\nfrom pkg.models import Model\n\n"
           "ROOT = os.sep\n\n\ndef one(x: Model) -> Model | None:\n    return None\n")
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS})
    (root / "pkg" / "api.py").write_bytes(api.replace("\n", "\r\n").encode())
    result = fix_and_write(root, runtime="stdlib")
    assert [c.action for c in result.changes] == ["type-checking"]
    after = (root / "pkg" / "api.py").read_bytes()
    assert b"if TYPE_CHECKING:\r\n" in after and b"from typing import" in after
    assert after.count(b"\n") == after.count(b"\r\n")
    assert_idempotent(root, runtime="stdlib")
