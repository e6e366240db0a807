"""A helper's attack on the readers planned with a lazy re-export (`test_lazy_reads.py`), kept
as regressions: each project behaves the same after `fix --write` as before. Each broke at
efc0e0d; the ones marked "older" broke the same way before (a plain move), the new plan only
reached them more often. Real child interpreters; outputs compared, never times."""

from __future__ import annotations

import pytest
from conftest import write_tree

from hotstart.fix import fix

from ._helpers import run_python

ENTRY = "-c 'import pkg.cli; pkg.cli.main()'"
BASE = {
    "pkg/__init__.py": "",
    "pkg/utils/__init__.py": "import atexit\natexit.register(print, 'utils exit')\n"
                             "from ._fixes import Lock, dump\nfrom ._light import LIGHT, light\n",
    "pkg/utils/_fixes.py": "import decimal, fractions\nZERO = decimal.Decimal(0)\n"
                           "ONE = fractions.Fraction(1)\nclass Lock:\n"
                           "    def __enter__(self): return 'real'\n"
                           "    def __exit__(self, *a): return False\n"
                           "def dump(x):\n    return str(fractions.Fraction(decimal.Decimal(x)))\n",
    "pkg/utils/_light.py": "LIGHT = 2\ndef light():\n    return 1\n",
    "pkg/folder.py": "import atexit\nfrom .utils import Lock\n"
                     "atexit.register(print, 'folder exit')\n"
                     "def locked():\n    with Lock() as s:\n        return s\n",
    "pkg/cli.py": "import pkg.folder\ndef main():\n    print('main')\n",
}
CHECK = "import pkg.cli, pkg.folder\npkg.cli.main()\nprint(pkg.folder.locked())\n"

CASES = {
    # (older) a function of the source module rebinds the name through `global`
    "rebound_by_global": ({
        "pkg/utils/__init__.py": "import atexit\natexit.register(print, 'utils exit')\n"
                                 "from ._fixes import dump\nclass Lock:\n"
                                 "    def __enter__(self): return 'hard'\n"
                                 "    def __exit__(self, *a): return False\n"
                                 "class SoftLock(Lock):\n"
                                 "    def __enter__(self): return 'soft'\n"
                                 "def use_soft_locks():\n    global Lock\n    Lock = SoftLock\n",
        "pkg/folder.py": "import atexit\nfrom .utils import Lock, dump\n"
                         "atexit.register(print, 'folder exit')\ndef locked():\n"
                         "    with Lock() as s:\n        return s, dump('0.5')\n",
        "pkg/cli.py": "import pkg.folder\nimport pkg.utils\npkg.utils.use_soft_locks()\n"
                      "def main():\n    print('main')\n"}, CHECK),
    # (older) another module assigns the source's attribute after import
    "assigned_elsewhere": ({
        "pkg/debug.py": "import pkg.utils\nclass DebugLock:\n"
                        "    def __enter__(self): return 'debug'\n"
                        "    def __exit__(self, *a): return False\n"
                        "def install():\n    pkg.utils.Lock = DebugLock\n",
        "pkg/cli.py": "import pkg.folder\nimport pkg.debug\npkg.debug.install()\n"
                      "def main():\n    print('main')\n"}, CHECK),
    # (older) a function of another module imports the name from the reader
    "imported_in_a_function": ({
        "pkg/other.py": "def g():\n    from pkg.folder import Lock\n    with Lock() as s:\n"
                        "        return 'other ' + s\n"},
        "import pkg.cli, pkg.other\npkg.cli.main()\nprint(pkg.other.g())\n"),
    # (older) `__all__` extended by a call
    "all_appended": ({
        "pkg/folder.py": BASE["pkg/folder.py"] + "__all__ = ['locked']\n__all__.append('Lock')\n"},
        "import pkg.cli\npkg.cli.main()\nfrom pkg.folder import *\nprint(locked(), Lock)\n"),
    "all_from_a_call": ({
        "pkg/folder.py": BASE["pkg/folder.py"] + "__all__ = list(('locked', 'Lock'))\n"},
        "import pkg.cli\npkg.cli.main()\nfrom pkg.folder import *\nprint(locked(), Lock)\n"),
    # (older) state set on what a call returns, in the re-exported module: an effect
    "state_on_a_call_result": ({
        "pkg/utils/_fixes.py": BASE["pkg/utils/_fixes.py"] + "decimal.getcontext().prec = 5\n"},
        "import pkg.cli, decimal\npkg.cli.main()\nprint(decimal.getcontext().prec)\n"),
    # (older) `import pkg.folder, pkg.utils`: both bind `pkg`, one is dead, one has effects
    "one_name_bound_twice": ({
        "pkg/folder.py": "import atexit\natexit.register(print, 'folder exit')\n"
                         "print('folder loads')\n",
        "pkg/utils/__init__.py": "X = 1\n",
        "pkg/cli.py": "import pkg.folder, pkg.utils\ndef main():\n    print('main')\n"},
        "import pkg.cli\npkg.cli.main()\n"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_fixed_project_behaves_the_same(tmp_path, monkeypatch, case):
    files, check = CASES[case]
    root = write_tree(tmp_path, {**BASE, **files})
    monkeypatch.chdir(root)
    monkeypatch.setenv("PYTHONPATH", str(root))
    before = run_python(root, check)
    fix("pkg", entries=[ENTRY], write=True, runs=1, runtime="stdlib")
    assert run_python(root, check) == before
