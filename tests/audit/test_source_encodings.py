"""Sources are read in the encoding Python reads them in: a UTF-8 BOM or a PEP 263 cookie.

The audit decoded every file as UTF-8, so a file with a BOM "could not be parsed" and a
latin-1 file "could not be read": their imports were never audited nor fixed.
"""

from __future__ import annotations

from ._helpers import site

from hotstart.audit import audit

BODY = "import json\n\n\ndef dump(x):\n    return json.dumps(x)\n"


def test_bom_and_coding_cookie_files_are_audited(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bom.py").write_bytes(b"\xef\xbb\xbf" + BODY.encode())
    (pkg / "latin.py").write_bytes(("# -*- coding: latin-1 -*-\n# caf\xe9\n" + BODY)
                                   .encode("latin-1"))
    report = audit(str(pkg), run=False)
    assert report.errors == [], report.errors
    assert site(report, "pkg.bom", "json").klass == "deferrable"
    assert site(report, "pkg.latin", "json").klass == "deferrable"
    assert site(report, "pkg.latin", "json").line == 3


def test_undecodable_file_is_one_error_line(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bad.py").write_bytes(b"# caf\xe9\n" + BODY.encode())
    report = audit(str(pkg), run=False)
    assert len(report.errors) == 1 and "bad.py" in report.errors[0], report.errors


def test_fix_keeps_the_encoding(tmp_path):
    import subprocess
    import sys

    from hotstart.fix import fix

    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "bom.py").write_bytes(b"\xef\xbb\xbf" + BODY.encode())
    (pkg / "latin.py").write_bytes(("# -*- coding: latin-1 -*-\nCAFE = 'caf\xe9'\n" + BODY)
                                   .encode("latin-1"))
    result = fix(str(pkg), include_all=True, write=True, runtime="stdlib")
    assert len(result.changes) >= 2
    latin = (pkg / "latin.py").read_bytes()
    assert b"caf\xe9" in latin and b"import json" in latin
    assert not latin.startswith(b"import json")
    assert (pkg / "bom.py").read_bytes().startswith(b"\xef\xbb\xbf")
    code = "import pkg.bom, pkg.latin; print(pkg.latin.CAFE, pkg.latin.dump(1), pkg.bom.dump(2))"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, encoding="utf-8", timeout=60)
    assert out.stdout == "caf\xe9 1 2\n", out.stderr
