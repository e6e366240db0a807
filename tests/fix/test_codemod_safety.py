"""What the codemods write must keep the project working and tidy: `typing.get_type_hints`
gives the same hints before and after a fix (on 3.11 and 3.13), a second fix changes nothing
and breaks nothing, generated stubs hold declarations only, and generated code passes the
project's own import-order and line-length lint."""

from __future__ import annotations

import ast
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

from conftest import run_hotstart

from ._helpers import assert_idempotent, fix_and_write, make, run_python, snapshot

PY313 = "/root/.pyenv/versions/3.13.0/bin/python"
#: The interpreters the get_type_hints comparison runs on: this one, and 3.13 when present.
INTERPRETERS = [sys.executable] + [PY313] * os.path.exists(PY313)

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
    assert "pinned by: subscripted (`Sequence[...]`) in an annotation (line 27)" in whys
    assert "pinned by: subscripted (`Box[...]`)" in whys
    assert "pinned by: `Tree.Leaf` read in an annotation (line 31)" in whys
    checked = _compare_hints(root, API, python)
    objects, hints = map(int, checked.split())
    # the module, 5 functions, 2 classes, Holder.method, Record's __init__, __repr__, __eq__
    assert objects >= 12 and hints == 25, checked  # 3.13 adds Record.__replace__


def test_typing_only_alias_reason_is_printed(tmp_path):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                                     "pkg/generic.py": GENERIC, "pkg/api.py": API})
    done = run_hotstart("fix", str(root), "--all", "--runtime", "stdlib")
    assert done.returncode == 0, done.stderr
    assert "pinned by: subscripted (`Box[...]`) in an annotation (line 27)" in done.stdout


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
        "annotation (line 7); a ForwardRef alias cannot stand for it there, so the import "
        "stays")
    assert snapshot(root) == before
