"""Names read from a package whose re-export goes lazy (issue 11: huggingface_hub, where
`utils/__init__.py` imports `_fixes` (filelock, yaml: 53 modules) for `WeakFileLock`, and
three modules on `hf --help` read `WeakFileLock` or `yaml_dump` at import, each in a
statement whose other names stay, or in the statement that first loads `utils`, whose load
registers an exit handler).

A lazy re-export leaves the path only when no statement on it reads one of its names at
import. So a reading statement's names may go alone, planned jointly with the re-export:
moved into the functions that use them, while the statement's other names, or a bare
`__import__` in its place, keep loading the package where it loaded (its effects keep their
moment). Real projects, real child interpreters; module sets and exit order asserted."""

from __future__ import annotations

import json

from conftest import write_tree

from hotstart.audit import audit
from hotstart.audit.model import AuditReport
from hotstart.fix import fix

from ._helpers import run_python, snapshot

ENTRY = "-c 'import pkg.cli; pkg.cli.main()'"
PACKAGE = {
    "pkg/__init__.py": "",
    # loading the package has an effect: an exit handler registered at its import
    "pkg/utils/__init__.py": "import atexit\n\natexit.register(print, 'utils exit')\n\n"
                             "from ._fixes import Lock, dump\n"
                             "from ._light import LIGHT, light\n\n"
                             "__all__ = ['LIGHT', 'Lock', 'dump', 'light']\n",
    # what the path never uses: it and what it imports leave with the lazy re-export
    "pkg/utils/_fixes.py": "import decimal\nimport fractions\n\nONE = fractions.Fraction(1)\n"
                           "ZERO = decimal.Decimal(0)\n\n\nclass Lock:\n"
                           "    def __enter__(self):\n        return 'locked'\n\n"
                           "    def __exit__(self, *exc):\n        return False\n\n\n"
                           "def dump(x):\n    return str(fractions.Fraction(decimal.Decimal(x)))\n",
    "pkg/utils/_light.py": "LIGHT = 2\n\n\ndef light():\n    return 1\n",
    # the first to load pkg.utils, and it registers its own exit handler after: deferring
    # the load would swap the two handlers
    "pkg/folder.py": "import atexit\n\nfrom .utils import Lock\n\n"
                     "atexit.register(print, 'folder exit')\n\n\n"
                     "def locked():\n    with Lock() as state:\n        return state\n",
    # the other names of the statement are read at import and stay
    "pkg/download.py": "from .folder import locked\nfrom .utils import LIGHT, Lock, dump, light\n"
                       "\nVALUE = LIGHT + light()\n\n\n"
                       "def run(x):\n    with Lock():\n        return dump(x), locked()\n",
    "pkg/cli.py": "import pkg.download\n\n\ndef main():\n    print(pkg.download.VALUE)\n",
}
LOADED = ("import pkg.cli, sys; pkg.cli.main(); print(sorted(m for m in "
          "('pkg.utils._fixes', 'fractions', 'pkg.utils') if m in sys.modules))")
USE = "import pkg.cli, pkg.download; pkg.cli.main(); print(pkg.download.run('0.5'))"


def _project(tmp_path, monkeypatch, files):
    write_tree(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    return tmp_path


def _parts(report, module: str) -> dict[str, tuple[str, bool]]:
    return {b.name: (s.klass, s.load_only) for s in report.sites if s.module == module
            for b in s.names}


def test_the_readers_go_with_the_lazy_re_export_and_the_load_keeps_its_moment(
        tmp_path, monkeypatch):
    root = _project(tmp_path, monkeypatch, PACKAGE)
    before_use = run_python(root, USE)
    assert before_use == "3\n('1/2', 'locked')\nfolder exit\nutils exit\n"
    report = audit("pkg", entries=[ENTRY], runs=1)
    # loading pkg.utils registers an exit handler, so the first statement to load it is
    # side-effect; its name is a plain attribute used in a function: load-only
    assert _parts(report, "pkg.folder")["Lock"] == ("side-effect", True)
    assert _parts(report, "pkg.download") == {
        "locked": ("side-effect", True), "LIGHT": ("needed", False), "light": ("needed", False),
        "Lock": ("deferrable", False), "dump": ("deferrable", False)}
    # the field survives the report's JSON
    again = AuditReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert [s.load_only for s in again.sites] == [s.load_only for s in report.sites]

    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    made = sorted((c.site.module, c.action, tuple(b.name for b in c.site.names))
                  for c in result.changes)
    assert made == [("pkg.download", "move", ("Lock", "dump")),
                    ("pkg.folder", "move-keep-load", ("Lock",)),
                    ("pkg.utils", "lazy-init", ("Lock", "dump"))], made
    [group] = [g for g in result.groups if len(g.changes) == 3]
    assert {"pkg.utils._fixes", "fractions"} <= set(group.leaving[ENTRY])

    folder = (root / "pkg/folder.py").read_text()
    assert '__import__("utils", globals(), level=1)\n' in folder, folder
    assert "from .utils import Lock" not in folder.split("def locked")[0]
    download = (root / "pkg/download.py").read_text()
    assert "from .utils import LIGHT, light\n" in download, download
    # off the path, and what it imports with it; the package itself still loads
    assert run_python(root, LOADED) == "3\n['pkg.utils']\nfolder exit\nutils exit\n"
    # the same behaviour, exit handlers in the same order
    assert run_python(root, USE) == before_use
    [measured] = result.remeasured
    assert measured.modules_before - measured.modules_after >= 2  # _fixes, fractions

    second = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert second.changes == [] and second.files == []  # the fixed point


def test_a_name_read_at_import_elsewhere_keeps_every_reader(tmp_path, monkeypatch):
    """Another module on the path reads `dump` at import: `_fixes` loads there whatever the
    other readers do, so none of them changes (the readers alone save nothing)."""
    files = {**PACKAGE, "pkg/report.py": "from .utils import dump\n\nHALF = dump('0.5')\n",
             "pkg/cli.py": "import pkg.download\nimport pkg.report\n\n\n"
                           "def main():\n    print(pkg.download.VALUE)\n"}
    root = _project(tmp_path, monkeypatch, files)
    before = snapshot(root)
    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert not [c for c in result.changes
                if c.site.module in ("pkg.folder", "pkg.download", "pkg.utils")]
    assert {p: before[p] for p in before if p != "pkg/cli.py"} == \
        {p: v for p, v in snapshot(root).items() if p in before and p != "pkg/cli.py"}
    assert run_python(root, LOADED).splitlines()[:2] == [
        "3", "['fractions', 'pkg.utils', 'pkg.utils._fixes']"]


def test_a_staying_name_of_the_same_module_keeps_the_statement(tmp_path, monkeypatch):
    """`from .utils import Lock, dump` where `dump` is read at import: the statement still
    reads a name of `_fixes`, so moving `Lock` alone would take nothing off the path: it
    stays, and so does the re-export."""
    files = {**PACKAGE, "pkg/download.py": "from .folder import locked\n"
                                           "from .utils import LIGHT, Lock, dump, light\n\n"
                                           "VALUE = LIGHT + light() + len(dump('1'))\n\n\n"
                                           "def run(x):\n    with Lock():\n"
                                           "        return dump(x), locked()\n"}
    root = _project(tmp_path, monkeypatch, files)
    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert not [c for c in result.changes
                if c.site.module in ("pkg.folder", "pkg.download", "pkg.utils")]
    assert (root / "pkg/download.py").read_text() == files["pkg/download.py"]
    assert (root / "pkg/folder.py").read_text() == files["pkg/folder.py"]


def test_a_name_a_module_getattr_provides_is_not_load_only(tmp_path, monkeypatch):
    """`from .plugins import Thing` where `pkg.plugins` gives `Thing` through its own
    `__getattr__` (which may import anything): reading the name may have effects of its
    own, so the side-effect import is not load-only and stays whole."""
    files = {
        "pkg/__init__.py": "",
        "pkg/plugins.py": "import atexit\n\natexit.register(print, 'plugins exit')\n\n\n"
                          "def __getattr__(name):\n    if name == 'Thing':\n"
                          "        from pkg import _thing\n        return _thing.Thing\n"
                          "    raise AttributeError(name)\n",
        "pkg/_thing.py": "import atexit\n\natexit.register(print, 'thing exit')\n\n\n"
                         "class Thing:\n    pass\n",
        "pkg/app.py": "from .plugins import Thing\n\n\ndef make():\n    return Thing()\n",
    }
    _project(tmp_path, monkeypatch, files)
    report = audit("pkg", entries=["-c 'import pkg.app'"], runs=1)
    assert _parts(report, "pkg.app") == {"Thing": ("side-effect", False)}


def test_a_name_other_modules_import_is_not_load_only(tmp_path, monkeypatch):
    """`pkg.other` imports `Lock` from `pkg.folder`: moved into a function, it would be
    gone from `pkg.folder`'s namespace."""
    files = {**PACKAGE, "pkg/other.py": "from pkg.folder import Lock\n"}
    _project(tmp_path, monkeypatch, files)
    report = audit("pkg", entries=[ENTRY], runs=1)
    assert _parts(report, "pkg.folder")["Lock"] == ("needed", False)


def test_the_load_left_in_place_is_the_statement_s_own(tmp_path):
    """What `from m import name` loads before it reads `name`: the same module, absolute or
    relative at the same level, and nothing bound."""
    from hotstart.fix._rewriter import load_statement

    assert load_statement("pkg.utils") == '__import__("pkg.utils")'
    assert load_statement(".utils") == '__import__("utils", globals(), level=1)'
    assert load_statement("..a.b") == '__import__("a.b", globals(), level=2)'
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "",
                          "pkg/a/__init__.py": "", "pkg/a/b.py": "X = 1\n",
                          "pkg/sub/m.py": "before = set(globals())\n"
                                          + load_statement("..a.b") + "\n"
                                          "import sys\nprint('pkg.a.b' in sys.modules, "
                                          "sorted(set(globals()) - before - {'before', "
                                          "'sys'}))\n"})
    assert run_python(tmp_path, "import pkg.sub.m") == "True []\n"


def _loads_kept(tmp_path, monkeypatch, folder: str, extra: dict[str, str] | None = None):
    """The example with `pkg/folder.py` replaced: fixed, it must behave the same."""
    root = _project(tmp_path, monkeypatch, {**PACKAGE, **(extra or {}), "pkg/folder.py": folder})
    before = run_python(root, USE)
    result = fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert run_python(root, USE) == before
    return root, result


def test_two_statements_on_one_line_each_keep_their_load(tmp_path, monkeypatch):
    """A helper's attack: `from .utils import Lock; from .other import Thing`, both loads
    with effects; one `__import__` per line dropped the other module's load."""
    other = {"pkg/other/__init__.py": "import atexit\n\natexit.register(print, 'other exit')\n"
                                      "\nfrom ._heavy import Thing\n",
             "pkg/other/_heavy.py": "import fractions\n\nHALF = fractions.Fraction(1, 2)\n\n\n"
                                    "class Thing:\n    pass\n"}
    folder = ("import atexit\n\nfrom .utils import Lock; from .other import Thing\n\n"
              "atexit.register(print, 'folder exit')\n\n\ndef locked():\n"
              "    with Lock() as state:\n        return state, Thing.__name__\n")
    root, result = _loads_kept(tmp_path, monkeypatch, folder, other)
    text = (root / "pkg/folder.py").read_text()
    assert '__import__("utils", globals(), level=1); __import__("other", globals(), ' \
           'level=1)\n' in text, text
    assert "'locked', 'Thing'" in run_python(root, USE)


def test_a_module_name_written_with_spaces_or_a_continuation(tmp_path, monkeypatch):
    """`from pkg . utils import Lock` and `from pkg.\\` + newline: the load names the module
    without them (it was `__import__("pkg . utils")`, and a libcst error for the comment)."""
    for n, statement in enumerate(("from pkg . utils import Lock\n",
                                   "from pkg.\\\n    utils import Lock\n")):
        folder = (f"import atexit\n\n{statement}\natexit.register(print, 'folder exit')\n\n\n"
                  "def locked():\n    with Lock() as state:\n        return state\n")
        root, result = _loads_kept(tmp_path / str(n), monkeypatch, folder)
        assert '__import__("pkg.utils")\n' in (root / "pkg/folder.py").read_text()
        assert any(c.action == "move-keep-load" for c in result.changes)


def test_a_module_that_binds_globals_in_a_block_keeps_its_statement(tmp_path, monkeypatch):
    """`globals` (or `__import__`) bound anywhere in the module, even inside an `if`: the
    load left in place would call it."""
    folder = ("import atexit\nimport sys\n\nif sys.version_info >= (3,):\n"
              "    def globals():\n        return {}\n\nfrom .utils import Lock\n\n"
              "atexit.register(print, 'folder exit')\n\n\ndef locked():\n"
              "    with Lock() as state:\n        return state\n")
    root, result = _loads_kept(tmp_path, monkeypatch, folder)
    assert (root / "pkg/folder.py").read_text() == folder
    assert not [c for c in result.changes if c.action == "move-keep-load"]
