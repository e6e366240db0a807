"""`--verify`'s own get_type_hints check spells unions one way.

A typing-only alias makes `X | None` resolve to `typing.Optional[X]`: equal to the original
(`==`), but its repr differs, so the check reverted every such change although nothing reads
the difference but `get_origin`. The check still catches a hint that really changes.
"""

from __future__ import annotations

import sys
import textwrap

from conftest import run_hotstart, write_tree

FILES = {
    "pkg/__init__.py": "",
    "pkg/models.py": "class Model:\n    pass\n",
    "pkg/api.py": textwrap.dedent("""\
        from __future__ import annotations

        from pkg.models import Model


        def f(x: Model | None, y: list[Model | None]) -> dict[str, Model] | None:
            return None
    """),
    "tests/test_api.py": "def test_f():\n    from pkg.api import f\n    assert f(None, []) is None\n",
}


def test_union_spelling_is_not_a_changed_hint(tmp_path):
    write_tree(tmp_path, FILES)
    verify = f"PYTHONPATH={tmp_path} {sys.executable} -m pytest -q -p no:cacheprovider tests"
    result = run_hotstart("fix", str(tmp_path / "pkg"), "--all", "--write", "--runtime",
                          "stdlib", "--verify", verify, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "made 1 change(s)" in result.stdout, result.stdout
    assert "reverted" not in result.stdout, result.stdout
    assert "if TYPE_CHECKING:" in (tmp_path / "pkg" / "api.py").read_text()
