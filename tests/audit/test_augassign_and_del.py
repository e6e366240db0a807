"""Two patterns the benchmark's real packages showed the audit misreading.

- pydantic-settings: `from pkg._config import config_keys` then `config_keys |= {...}` at
  module level. The augmented assignment's target is a Store, so the read was missed and the
  import was called unused (dead, or a lazy re-export): the module then fails at import.
- toolz: `from .sub import f` then `del sub` in a package __init__. The import is what bound
  the submodule attribute `sub`; moved away, `del sub` raises NameError.
"""

from __future__ import annotations

import subprocess
import sys

from ._helpers import audit_tree, site

from hotstart.fix import fix


def test_augmented_assignment_at_module_level_reads_the_import(tmp_path):
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": "from pkg._config import config_keys\nconfig_keys |= {'b'}\n",
        "pkg/_config.py": "config_keys = {'a'}\n",
        "pkg/other.py": "from json import dumps\nx = 1\nx += 1\n",
    }, "pkg")
    keys = site(report, "pkg", "config_keys")
    assert keys.klass == "needed"
    assert any("module-level statement (line 2)" in p for p in keys.pins), keys.pins


def test_deleted_submodule_attribute_pins_the_import(tmp_path):
    files = {
        "pkg/__init__.py": "from .sub import f\ndel sub\n\n\ndef g():\n    return f()\n",
        "pkg/sub.py": "def f():\n    return 1\n",
    }
    report = audit_tree(tmp_path, files, "pkg")
    s = site(report, "pkg", "f")
    assert s.klass == "needed"
    assert s.reason == "binds submodule attribute `sub`, which `del sub` at line 2 removes"
    fix(str(tmp_path / "pkg"), include_all=True, write=True)
    out = subprocess.run([sys.executable, "-c", "import pkg; print(pkg.g())"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "1\n", out.stderr
