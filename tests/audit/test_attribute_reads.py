"""Names other modules read as attributes (`mod.Name`) stay in their module.

`hotstart fix --all` on the example moved `from jobrunner.spec import SpecError` out of
`jobrunner.cli` because only a function used it there, while the example's tests read
`cli.SpecError` (and toolz.curried reads `toolz.partial`): the audit linked `from mod import
Name` and `patch("mod.Name")` back to the binding import, but not attribute reads. They are
now pins, from project modules (read by the AST, function-local imports included) and from
tests (read with regular expressions, as patches are).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

from ._helpers import audit_tree, site

FILES = {
    "pkg/__init__.py": "",
    "pkg/errors.py": "class Bad(Exception):\n    pass\n",
    "pkg/core.py": textwrap.dedent("""\
        from json import JSONDecodeError
        from pkg.errors import Bad
        from decimal import Decimal


        def parse(text):
            try:
                return Decimal(text)
            except ArithmeticError:
                raise Bad(text) from None


        def decode_error():
            return JSONDecodeError
    """),
    "pkg/user.py": textwrap.dedent("""\
        def load():
            import pkg.core as core

            return core.JSONDecodeError
    """),
    "tests/test_core.py": textwrap.dedent("""\
        import pytest

        from pkg import core


        def test_bad():
            with pytest.raises(core.Bad):
                core.parse("x")
    """),
}


def test_attribute_reads_pin_the_import(tmp_path):
    report = audit_tree(tmp_path, FILES)
    json_site = site(report, "pkg.core", "JSONDecodeError")
    assert json_site.klass == "needed"
    assert any(p.startswith("read as pkg.core.JSONDecodeError by pkg.user") for p in
               json_site.pins), json_site.pins
    bad = site(report, "pkg.core", "Bad")
    assert bad.klass == "needed"
    assert any("read as pkg.core.Bad by" in p and "tests/test_core.py" in p for p in bad.pins)
    # a name nobody reads from outside still moves
    assert site(report, "pkg.core", "Decimal").klass == "deferrable"


def test_fix_all_keeps_what_tests_read(tmp_path):
    from hotstart.fix import fix

    audit_tree(tmp_path, FILES)
    fix(str(tmp_path), include_all=True, write=True)
    source = (tmp_path / "pkg" / "core.py").read_text()
    assert source.startswith("from json import JSONDecodeError\nfrom pkg.errors import Bad\n")
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "tests"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stdout + result.stderr
