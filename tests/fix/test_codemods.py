"""The `hotstart fix` codemods on real projects, on every target version where each applies:
the rewritten source is checked as text, the rewritten code is run in a fresh interpreter to
prove what it imports and that it still works, and fixing the output again changes nothing."""

from __future__ import annotations

import ast

import libcst
import pytest

from hotstart.audit import audit
from hotstart.fix import fix
from hotstart.fix.codemods import MARK

from ._helpers import (
    VERSIONS,
    assert_idempotent,
    fix_and_write,
    function_body,
    make,
    run_python,
    snapshot,
    top_level_imports,
)

BEFORE_315 = [v for v in VERSIONS if v != "3.15"]


def by_reason(result, text: str) -> list[str]:
    """The statements of the skipped sites whose reason contains `text`."""
    return [s.site.statement for s in result.skipped if text in s.why]


# -- deferrable: moved into the functions that use it -----------------------------------------

MOVE_SOURCE = '''\
"""Module doc."""
import sys

import yaml
from yaml import safe_dump
import numpy as np  # numpy, for zeros()

# A comment about the constant.
CONSTANT = sys.maxsize  # stays


def load(text):
    """Load it."""
    return yaml.safe_load(text)


def zeros(): return np.zeros(1)


class Box:
    # a comment in the class
    def dump(self, data):
        return safe_dump(data)


def outer():
    def inner():
        return yaml.safe_load("a: 1")  # inner
    return inner()
'''

MOVE_EXPECTED = f'''\
"""Module doc."""
import sys

# A comment about the constant.
CONSTANT = sys.maxsize  # stays


def load(text):
    """Load it."""
    {MARK}
    import yaml
    return yaml.safe_load(text)


def zeros():
    {MARK}
    import numpy as np
    return np.zeros(1)


class Box:
    # a comment in the class
    def dump(self, data):
        {MARK}
        from yaml import safe_dump
        return safe_dump(data)


def outer():
    def inner():
        {MARK}
        import yaml
        return yaml.safe_load("a: 1")  # inner
    return inner()
'''


@pytest.mark.parametrize("version", VERSIONS)
def test_move_into_functions(tmp_path, version):
    root = make(tmp_path / "proj", {"mod.py": MOVE_SOURCE})
    result = fix_and_write(root, target_version=version, defer="local")

    assert sorted(c.action for c in result.changes) == ["move", "move", "move"]
    assert result.written
    after = (root / "mod.py").read_text()
    assert after == MOVE_EXPECTED
    # the module-level imports are gone (only `sys`, used at import, stays)
    assert top_level_imports(after) == ["sys"]
    # after the docstring in load(); first statement elsewhere, incl. a method and a nested
    # function; the one-line body became a block
    for qualname, index in (("load", 1), ("zeros", 0), ("Box.dump", 0), ("outer.inner", 0)):
        statement = function_body(after, qualname)[index]
        assert isinstance(statement, (ast.Import, ast.ImportFrom)), qualname
    assert after.count(MARK) == 4

    out = run_python(root, """
        import sys
        import mod
        assert "yaml" not in sys.modules and "numpy" not in sys.modules
        assert mod.load("a: 1") == {"a": 1}
        assert "yaml" in sys.modules and "numpy" not in sys.modules
        assert mod.zeros().tolist() == [0.0]
        assert mod.Box().dump({"b": 2}) == "b: 2\\n"
        assert mod.outer() == {"a": 1}
        print("ok")
    """)
    assert out == "ok\n"
    # the audit of the output lists no deferrable site any more
    report = audit(str(root), target_version=version)
    assert [s.statement for s in report.sites if s.klass == "deferrable"] == []
    assert_idempotent(root, target_version=version, defer="local")


def test_move_keeps_crlf_line_endings(tmp_path):
    root = make(tmp_path / "proj", {})
    (root / "mod.py").write_bytes(MOVE_SOURCE.replace("\n", "\r\n").encode())
    result = fix_and_write(root, defer="local")
    assert len(result.changes) == 3
    assert (root / "mod.py").read_bytes() == MOVE_EXPECTED.replace("\n", "\r\n").encode()
    assert_idempotent(root, defer="local")


@pytest.mark.parametrize("version", VERSIONS)
def test_move_also_used_in_annotations(tmp_path, version):
    source = ("from __future__ import annotations\n\nfrom yaml import YAMLObject\n\n\n"
              "def make(x: YAMLObject | None = None) -> YAMLObject:\n    return YAMLObject()\n")
    root = make(tmp_path / "proj", {"mod.py": source})
    result = fix_and_write(root, target_version=version, defer="local")
    assert [(c.action, c.annotated) for c in result.changes] == [("move", ["YAMLObject"])]
    after = (root / "mod.py").read_text()
    assert "if TYPE_CHECKING:\n    from yaml import YAMLObject\nelse:" in after
    assert f"    {MARK}\n    from yaml import YAMLObject\n    return YAMLObject()\n" in after
    out = run_python(root, """
        import sys, typing
        import mod
        assert "yaml" not in sys.modules
        hints = typing.get_type_hints(mod.make)
        from yaml import YAMLObject
        assert hints == {"x": YAMLObject | None, "return": YAMLObject}, hints
        assert type(mod.make()) is YAMLObject
        print("ok")
    """)
    assert out == "ok\n"
    assert_idempotent(root, target_version=version, defer="local")


@pytest.mark.parametrize("version", BEFORE_315)
def test_move_is_the_default_before_315(tmp_path, version):
    root = make(tmp_path / "proj", {"mod.py": MOVE_SOURCE})
    result = fix(str(root), target_version=version)
    assert result.files and result.files[0].after == MOVE_EXPECTED
    assert not result.written
    assert (root / "mod.py").read_text() == MOVE_SOURCE  # without write nothing changes


# -- deferrable: PEP 810 `lazy import` (3.15) ---------------------------------------------------

LAZY_SOURCE = '''\
"""Module doc."""
# the heavy ones
import numpy as np  # numpy, for zeros()
from yaml import safe_load


def zeros():
    return np.zeros(1)


def load(text):
    return safe_load(text)
'''

LAZY_EXPECTED = '''\
"""Module doc."""
# the heavy ones
lazy import numpy as np  # numpy, for zeros()
lazy from yaml import safe_load


def zeros():
    return np.zeros(1)


def load(text):
    return safe_load(text)
'''


@pytest.mark.parametrize("defer", ["auto", "lazy"])
def test_lazy_import_on_315(tmp_path, defer):
    root = make(tmp_path / "proj", {"mod.py": LAZY_SOURCE})
    result = fix_and_write(root, target_version="3.15", defer=defer)

    assert [c.action for c in result.changes] == ["lazy", "lazy"]
    after = (root / "mod.py").read_text()
    assert after == LAZY_EXPECTED
    # libcst 1.9 parses PEP 810 syntax with any grammar version up to 3.15, the highest it
    # accepts; the statements are its LazyImport / LazyImportFrom nodes
    module = libcst.parse_module(after, config=libcst.PartialParserConfig(python_version="3.15"))
    kinds = [type(s.body[0]).__name__ for s in module.body
             if isinstance(s, libcst.SimpleStatementLine)]
    assert kinds[1:3] == ["LazyImport", "LazyImportFrom"]
    # the audit of the output lists no site for them: they are lazy already
    report = audit(str(root), target_version="3.15")
    assert [s.statement for s in report.sites if s.imported in ("numpy", "yaml")] == []
    assert_idempotent(root, target_version="3.15", defer=defer)


@pytest.mark.parametrize("version", BEFORE_315)
def test_lazy_import_needs_315(tmp_path, version):
    root = make(tmp_path / "proj", {"mod.py": LAZY_SOURCE})
    before = snapshot(root)
    result = fix_and_write(root, target_version=version, defer="lazy")

    assert result.changes == [] and result.diff() == ""
    assert len(by_reason(result, "needs Python 3.15+")) == 2
    assert snapshot(root) == before


# -- deferrable: __lazy_modules__ ---------------------------------------------------------------

LAZY_MODULES_SOURCE = '''\
"""Module doc."""
from __future__ import annotations

import yaml


def load(text):
    return yaml.safe_load(text)
'''

LAZY_MODULES_BLOCK = ('\n# Imported lazily on Python 3.15+ (PEP 810), eagerly before.\n'
                      '__lazy_modules__ = ["yaml"]\n')


@pytest.mark.parametrize("version", VERSIONS)
def test_lazy_modules(tmp_path, version):
    root = make(tmp_path / "proj", {"mod.py": LAZY_MODULES_SOURCE})
    result = fix_and_write(root, target_version=version, defer="lazy-modules")

    assert [c.action for c in result.changes] == ["lazy-modules"]
    after = (root / "mod.py").read_text()
    # after the docstring and the __future__ import, before the (untouched) imports
    assert after == LAZY_MODULES_SOURCE.replace(
        "annotations\n", "annotations\n" + LAZY_MODULES_BLOCK, 1)
    body = ast.parse(after).body
    assert isinstance(body[1], ast.ImportFrom) and body[1].module == "__future__"
    assert isinstance(body[2], ast.Assign) and body[2].targets[0].id == "__lazy_modules__"
    assert isinstance(body[3], ast.Import)
    # before 3.15 the interpreter ignores it: the import is eager and the code runs
    out = run_python(root, """
        import sys
        import mod
        assert ("yaml" in sys.modules) == (sys.version_info < (3, 15))
        assert mod.__lazy_modules__ == ["yaml"]
        assert mod.load("a: 1") == {"a": 1}
        print("ok")
    """)
    assert out == "ok\n"
    # a second run adds nothing, and says why
    assert_idempotent(root, target_version=version, defer="lazy-modules")
    again = fix(str(root), target_version=version, defer="lazy-modules")
    assert by_reason(again, "listed in __lazy_modules__ already") == ["import yaml"]


@pytest.mark.parametrize("declared, extended", [
    ('__lazy_modules__ = ["json"]\n', '__lazy_modules__ = ["json", "yaml"]\n'),
    ('__lazy_modules__ = []\n', '__lazy_modules__ = ["yaml"]\n'),
    ('__lazy_modules__ = ("json",)  # tuple\n', '__lazy_modules__ = ("json", "yaml",)  # tuple\n'),
    ('__lazy_modules__ = [\n    "json",\n]\n', '__lazy_modules__ = [\n    "json", "yaml",\n]\n'),
    ('__lazy_modules__: list[str] = ["json"]\n',
     '__lazy_modules__: list[str] = ["json", "yaml"]\n'),
], ids=["list", "empty", "tuple", "trailing-comma", "annotated"])
def test_lazy_modules_extends_an_existing_list(tmp_path, declared, extended):
    source = f'"""Doc."""\n{declared}\nimport json\nimport yaml\n\n\ndef load(text):\n' \
             f'    return yaml.safe_load(text), json\n'
    root = make(tmp_path / "proj", {"mod.py": source})
    result = fix_and_write(root, defer="lazy-modules")

    assert [c.site.imported for c in result.changes] == ["yaml"]
    after = (root / "mod.py").read_text()
    assert after == source.replace(declared, extended)
    assert after.count("__lazy_modules__") == 1
    run_python(root, "import mod; assert 'yaml' in mod.__lazy_modules__")
    assert_idempotent(root, defer="lazy-modules")


def test_lazy_modules_not_a_literal_is_skipped(tmp_path):
    source = 'BASE = ["json"]\n__lazy_modules__ = BASE + []\n\nimport yaml\n\n\n' \
             'def load(text):\n    return yaml.safe_load(text)\n'
    root = make(tmp_path / "proj", {"mod.py": source})
    result = fix_and_write(root, defer="lazy-modules")
    assert result.changes == []
    assert by_reason(result, "add it by hand") == ["import yaml"]
    assert (root / "mod.py").read_text() == source


# -- typing-only: under `if TYPE_CHECKING:` with a runtime alias --------------------------------

MODELS = '''\
import numpy


class Model:
    shape = numpy.zeros(2).shape
'''

API = '''\
"""API."""
{future}
from yaml import YAMLObject
from pkg.models import Model


def one(x: Model) -> Model | None:
    return None


def many(items: list[Model], tag: YAMLObject | None = None) -> list[YAMLObject]:
    return []
'''

HINTS_CHECK = """
    import sys, typing
    import pkg.api
    heavy = {"yaml", "numpy", "pkg.models"}
    assert not heavy & set(sys.modules), heavy & set(sys.modules)
    one = typing.get_type_hints(pkg.api.one)
    assert "pkg.models" in sys.modules and "numpy" in sys.modules
    many = typing.get_type_hints(pkg.api.many)
    from pkg.models import Model
    from yaml import YAMLObject
    assert one == {"x": Model, "return": Model | None}, one
    assert many == {"items": list[Model], "tag": YAMLObject | None,
                    "return": list[YAMLObject]}, many
    print("ok")
"""

TYPE_CHECKING_BLOCK = '''\
if TYPE_CHECKING:
    from yaml import YAMLObject

    from pkg.models import Model
else:  # runtime aliases: typing.get_type_hints resolves them on use
    YAMLObject = ForwardRef("__import__('yaml', fromlist=['YAMLObject']).YAMLObject")
    Model = ForwardRef("__import__('pkg.models', fromlist=['Model']).Model")
'''


def _typing_project(base, future: bool):
    return make(base, {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                       "pkg/api.py": API.format(
                           future="from __future__ import annotations\n" if future else "")})


def _check_typing_only(root, version):
    result = fix_and_write(root, target_version=version, runtime="stdlib")
    assert sorted(c.action for c in result.changes) == ["type-checking", "type-checking"]
    after = (root / "pkg" / "api.py").read_text()
    assert "from typing import TYPE_CHECKING, ForwardRef\n" in after
    assert TYPE_CHECKING_BLOCK in after
    assert top_level_imports(after) == [
        *(["annotations"] if "__future__" in after else []), "TYPE_CHECKING", "ForwardRef"]
    # everything from the first function on is untouched
    tail = API[API.index("\ndef one"):]
    assert after.endswith(tail)
    assert run_python(root, HINTS_CHECK) == "ok\n"
    assert_idempotent(root, target_version=version, runtime="stdlib")


@pytest.mark.parametrize("version", VERSIONS)
def test_typing_only_with_future_annotations(tmp_path, version):
    _check_typing_only(_typing_project(tmp_path / "proj", future=True), version)


@pytest.mark.parametrize("version", ["3.14", "3.15"])
def test_typing_only_lazy_annotations_without_future_import(tmp_path, version):
    # 3.14+ evaluates annotations lazily; this interpreter evaluates them at definition time,
    # which the ForwardRef aliases survive too
    _check_typing_only(_typing_project(tmp_path / "proj", future=False), version)


@pytest.mark.parametrize("version", ["3.11", "3.12", "3.13"])
def test_annotations_evaluated_at_definition_are_needed(tmp_path, version):
    root = _typing_project(tmp_path / "proj", future=False)
    before = snapshot(root)
    result = fix_and_write(root, target_version=version)
    assert result.changes == [] and snapshot(root) == before


def test_typing_only_from_imported_module(tmp_path):
    api = ("from __future__ import annotations\n\nfrom pkg import models\n\n\n"
           "def f(x: models.Model) -> None:\n    return None\n")
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/models.py": MODELS,
                                     "pkg/api.py": api})
    skipped = fix_and_write(root, runtime="stdlib")
    assert by_reason(skipped, "needs hotstart.lazy") == ["from pkg import models"]
    fix_and_write(root, runtime="hotstart")
    run_python(root, """
        import sys, typing, pkg.api
        assert "pkg.models" not in sys.modules
        import pkg.models
        assert typing.get_type_hints(pkg.api.f)["x"] is pkg.models.Model
    """)


ALIAS = '''\
from __future__ import annotations

import yaml


def f(x: yaml.YAMLObject) -> yaml.YAMLObject | None:
    return None
'''


@pytest.mark.parametrize("version", VERSIONS)
def test_typing_only_module_alias_with_hotstart_runtime(tmp_path, version):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/alias.py": ALIAS})
    result = fix_and_write(root, target_version=version, runtime="hotstart")

    assert [c.action for c in result.changes] == ["type-checking"]
    after = (root / "pkg" / "alias.py").read_text()
    assert "if TYPE_CHECKING:\n    import yaml\n" in after
    assert "    import hotstart.lazy\n" in after
    assert '    yaml = hotstart.lazy.lazy_import("yaml")\n' in after
    out = run_python(root, """
        import sys, typing
        import pkg.alias
        assert "yaml" not in sys.modules
        hints = typing.get_type_hints(pkg.alias.f)
        import yaml
        assert hints == {"x": yaml.YAMLObject, "return": yaml.YAMLObject | None}, hints
        print("ok")
    """)
    assert out == "ok\n"
    # the output imports hotstart, so runtime="auto" picks hotstart on the second run
    assert_idempotent(root, target_version=version)


@pytest.mark.parametrize("version", VERSIONS)
def test_typing_only_module_alias_needs_hotstart(tmp_path, version):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/alias.py": ALIAS})
    before = snapshot(root)
    result = fix_and_write(root, target_version=version, runtime="stdlib")
    assert result.changes == []
    assert by_reason(result, "--runtime hotstart") == ["import yaml"]
    assert snapshot(root) == before


# -- package __init__ re-exports: lazy __getattr__ and a .pyi stub ------------------------------

HEAVY = '''\
import numpy

ZERO = numpy.zeros(1)


def thing():
    return ZERO.tolist()
'''

INIT = '''\
"""The package."""
from .heavy import thing
{all}
VERSION = "1"
'''

PACKAGE_CHECK = """
    import sys
    import pkg
    assert "pkg.heavy" not in sys.modules and "numpy" not in sys.modules
    assert pkg.VERSION == "1"
    assert "thing" in dir(pkg)
    assert "thing" in pkg.__all__ and "VERSION" in pkg.__all__
    assert "pkg.heavy" not in sys.modules
    namespace = {}
    exec("from pkg import *", namespace)
    assert namespace["thing"]() == [0.0]
    assert namespace["VERSION"] == "1"
    assert pkg.thing is namespace["thing"]
    try:
        pkg.missing
    except AttributeError:
        pass
    else:
        raise AssertionError("pkg.missing exists")
    print("ok")
"""


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
@pytest.mark.parametrize("has_all", [False, True], ids=["no-all", "all"])
def test_package_reexport_made_lazy(tmp_path, version, runtime, has_all):
    init = INIT.format(all='\n__all__ = ["thing", "VERSION"]\n' if has_all else "")
    root = make(tmp_path / "proj", {"pkg/__init__.py": init, "pkg/heavy.py": HEAVY})
    # on 3.15 `auto` would make it a `lazy from` import; `local` asks for the PEP 562 hook
    defer = "local" if version == "3.15" else "auto"
    result = fix_and_write(root, target_version=version, runtime=runtime, defer=defer)

    assert [c.action for c in result.changes] == ["lazy-init"]
    after = (root / "pkg" / "__init__.py").read_text()
    assert "from .heavy import" not in after
    assert after.startswith('"""The package."""\n')
    assert after.endswith('\nVERSION = "1"\n')
    assert after.count("__all__ = ") == 1
    if runtime == "stdlib":
        # `heavy`: the submodule `from .heavy import thing` bound, loaded on access
        assert "_LAZY = {\"thing\": (\".heavy\", 'thing'), \"heavy\": (\".heavy\", None)}\n" \
            in after
        assert "\ndef __getattr__(name):\n" in after and "\ndef __dir__():\n" in after
        assert "hotstart" not in after.replace("hotstart fix", "")
    else:
        assert "import hotstart.lazy\n" in after
        assert 'hotstart.lazy.attach(\n    __name__,\n    submodules=["heavy"],\n' \
            '    attrs={"heavy": ["thing"]},\n)' in after
        assert "_LAZY" not in after
    stub = (root / "pkg" / "__init__.pyi").read_text()
    assert "from .heavy import thing as thing\n" in stub
    # the stub declares what the original __init__ does (declarations only: no docstring,
    # no values), each lazy name written as an explicit re-export
    assert stub.splitlines()[1:] == ["from .heavy import thing as thing", "", *(
        ['__all__ = ["thing", "VERSION"]'] if has_all else []), "VERSION: str"]
    assert run_python(root, PACKAGE_CHECK) == "ok\n"
    assert_idempotent(root, target_version=version, runtime=runtime, defer=defer)


@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
def test_package_reexport_under_another_name(tmp_path, runtime):
    init = '"""P."""\nfrom .heavy import thing as other\nfrom . import sub\n'
    root = make(tmp_path / "proj", {"pkg/__init__.py": init, "pkg/heavy.py": HEAVY,
                                     "pkg/sub.py": "X = 1\n"})
    result = fix_and_write(root, runtime=runtime)
    assert [c.action for c in result.changes] == ["lazy-init", "lazy-init"]
    after = (root / "pkg" / "__init__.py").read_text()
    # hotstart.lazy.attach cannot rename: the PEP 562 code does it for either runtime
    assert "_LAZY = {\"other\": (\".heavy\", 'thing'), \"sub\": (\".sub\", None), " \
        "\"heavy\": (\".heavy\", None)}\n" in after
    stub = (root / "pkg" / "__init__.pyi").read_text()
    assert "from . import sub as sub\nfrom .heavy import thing as other\n" in stub  # sorted
    out = run_python(root, """
        import sys
        import pkg
        assert "pkg.heavy" not in sys.modules and "pkg.sub" not in sys.modules
        assert {"other", "sub"} <= set(dir(pkg)) and "thing" not in dir(pkg)
        namespace = {}
        exec("from pkg import *", namespace)
        assert namespace["other"]() == [0.0] and namespace["sub"].X == 1
        assert not hasattr(pkg, "thing")
        print("ok")
    """)
    assert out == "ok\n"
    assert_idempotent(root, runtime=runtime)


@pytest.mark.parametrize("runtime", ["stdlib", "hotstart"])
def test_package_reexport_of_a_nested_submodule(tmp_path, runtime):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "from .sub import mod\n",
                                     "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "X = 1\n"})
    result = fix_and_write(root, runtime=runtime)
    assert [c.action for c in result.changes] == ["lazy-init"]
    run_python(root, "import pkg; assert pkg.mod.X == 1")


def test_package_reexport_with_existing_getattr_is_skipped(tmp_path):
    init = ('from .heavy import thing\n\n\ndef __getattr__(name):\n'
            '    raise AttributeError(name)\n')
    root = make(tmp_path / "proj", {"pkg/__init__.py": init, "pkg/heavy.py": HEAVY})
    before = snapshot(root)
    result = fix_and_write(root)
    assert result.changes == []
    assert by_reason(result, "already defines __getattr__") == ["from .heavy import thing"]
    assert snapshot(root) == before


def test_package_reexport_with_existing_stub_is_skipped(tmp_path):
    root = make(tmp_path / "proj", {"pkg/__init__.py": INIT.format(all=""),
                                     "pkg/__init__.pyi": "from .heavy import thing as thing\n",
                                     "pkg/heavy.py": HEAVY})
    before = snapshot(root)
    result = fix_and_write(root)
    assert result.changes == []
    assert by_reason(result, "__init__.pyi exists") == ["from .heavy import thing"]
    assert snapshot(root) == before


def test_no_all_and_names_bound_in_blocks_is_skipped(tmp_path):
    """Without __all__, `import *` exports what is bound; a generated __all__ cannot know
    which branch binds what, so the package is left for the user to declare __all__."""
    init = ('from .heavy import thing\n\ntry:\n    from json import loads as fast\n'
            'except ImportError:\n    fast = None\n')
    root = make(tmp_path / "proj", {"pkg/__init__.py": init, "pkg/heavy.py": HEAVY})
    before = snapshot(root)
    result = fix_and_write(root, runtime="stdlib")
    assert by_reason(result, "write __all__ first") == ["from .heavy import thing"]
    assert snapshot(root) == before


# -- dead: removed --------------------------------------------------------------------------------

#: a plugin registering into another module's table: an effect (into its own table it
#: would not be one: tests/audit/test_confined_code.py)
REGISTRY = '''\
REGISTRY = []


def register(fn):
    REGISTRY.append(fn)
    return fn
'''
PLUGINS = '''\
from pkg.registry import register


@register
def plugin():
    return 1
'''

DEAD = '''\
"""Dead imports."""
# A comment that stays.
import sys

import yaml  # never used
from yaml import safe_load, dump
import readline
import pkg.plugins
from yaml import SafeLoader as SafeLoader
from yaml import YAMLError
from yaml import Loader

try:
    import ujson
except ImportError:
    ujson = None

if sys.platform != "nope":
    import json

__all__ = ["YAMLError", "make"]

DUMPED = dump({"a": 1})


# Another comment.
def make():  # keep me
    \'\'\'Docstring.\'\'\'

    return DUMPED  # trailing comment stays


x = 1  # the end
'''


@pytest.mark.parametrize("version", VERSIONS)
def test_dead_imports_removed(tmp_path, version):
    root = make(tmp_path / "proj", {"pkg/__init__.py": "", "pkg/plugins.py": PLUGINS,
                                     "pkg/registry.py": REGISTRY, "pkg/dead.py": DEAD})
    result = fix_and_write(root, target_version=version, select=("dead",))

    assert sorted(c.site.statement for c in result.changes) == [
        "from yaml import Loader", "from yaml import safe_load, dump", "import json",
        "import yaml  # never used"]
    assert all(c.action == "remove" for c in result.changes)
    # byte for byte: only the dead imports changed; the `if` block keeps a `pass`
    expected = (DEAD.replace("import yaml  # never used\n", "")
                .replace("from yaml import safe_load, dump\n", "from yaml import dump\n")
                .replace("from yaml import Loader\n", "")
                .replace("    import json\n", "    pass\n"))
    assert (root / "pkg" / "dead.py").read_text() == expected
    # kept: side effects (readline, a project module with @register), `x as x`, __all__,
    # the try/except ImportError availability check
    for kept in ("import readline\n", "import pkg.plugins\n", "import SafeLoader as SafeLoader",
                 "from yaml import YAMLError\n", "    import ujson\n"):
        assert kept in expected
    out = run_python(root, """
        import sys
        import pkg.dead
        assert "readline" in sys.modules
        assert pkg.dead.pkg.registry.REGISTRY == [pkg.dead.pkg.plugins.plugin]
        assert pkg.dead.make() == "a: 1\\n"
        assert pkg.dead.SafeLoader is not None and pkg.dead.YAMLError is not None
        print("ok")
    """)
    assert out == "ok\n"
    assert_idempotent(root, target_version=version, select=("dead",))


@pytest.mark.parametrize("version", VERSIONS)
def test_every_class_at_once_is_idempotent(tmp_path, version):
    files = {"pkg/__init__.py": INIT.format(all=""), "pkg/heavy.py": HEAVY,
             "pkg/plugins.py": PLUGINS, "pkg/registry.py": REGISTRY, "pkg/dead.py": DEAD,
             "pkg/mod.py": MOVE_SOURCE,
             "pkg/api.py": API.format(future="from __future__ import annotations\n"),
             "pkg/models.py": MODELS, "pkg/alias.py": ALIAS}
    root = make(tmp_path / "proj", files)
    result = fix_and_write(root, target_version=version, runtime="hotstart")
    assert {c.action for c in result.changes} >= {"remove", "type-checking"}
    if version != "3.15":  # 3.15 output uses `lazy import`, which this interpreter cannot run
        run_python(root, """
            import pkg, pkg.dead, pkg.mod, pkg.api, pkg.alias
            assert pkg.mod.load("a: 1") == {"a": 1}
            assert pkg.thing() == [0.0]
        """)
    assert_idempotent(root, target_version=version, runtime="hotstart")
