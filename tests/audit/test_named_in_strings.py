"""An unused import of a module that the same file names in a string is kept.

patsy's `eval.py` runs `exec("from patsy.builtins import *", {}, d)` and also has a plain
`import patsy.builtins`, kept "to make the existence of patsy.builtins visible to systems like
py2app". The audit called it dead and `fix` removed it: no test can see what a frozen
application then misses.
"""

from __future__ import annotations

from ._helpers import audit_tree, site


def test_module_named_in_an_exec_string_is_kept(tmp_path):
    report = audit_tree(tmp_path, {
        "pkg/__init__.py": "",
        "pkg/builtins.py": "X = 1\n",
        "pkg/eval.py": ('def ns():\n    d = {}\n    exec("from pkg.builtins import *", {}, d)\n'
                        "    return d\n\n\nimport pkg.builtins\nimport pkg.other\n"),
        "pkg/other.py": "",
    }, "pkg")
    kept = [s for s in report.sites if s.module == "pkg.eval" and s.imported == "pkg.builtins"]
    assert len(kept) == 1 and kept[0].klass == "needed", kept
    assert kept[0].reason.startswith("`pkg.builtins` is named in a string at line 3")
    other = [s for s in report.sites if s.module == "pkg.eval" and s.imported == "pkg.other"]
    assert other[0].klass == "dead"
