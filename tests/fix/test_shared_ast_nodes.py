"""Reading string annotations must not write positions onto the AST's shared singletons.

`ast.Load()`, `ast.Store()` and the operator nodes are process-wide singletons: one
`child.lineno = ...` over every node of a parsed string annotation gave `ast.Load` a
`lineno`, and every later AST walk in the process (the registry index) then took it for a
positioned node and failed with "'Load' object has no attribute 'end_lineno'".
"""

from __future__ import annotations

import ast
import textwrap

from hotstart.fix import fix


def test_fixing_string_annotations_leaves_ast_singletons_alone(tmp_path):
    (tmp_path / "mod.py").write_text(textwrap.dedent("""\
        from collections.abc import Sequence
        from decimal import Decimal


        def total(values: "Sequence[Decimal]") -> "Decimal | None":
            return sum(values) if values else None
    """))
    fix(str(tmp_path / "mod.py"), include_all=True)
    load = ast.parse("x").body[0].value.ctx
    assert not hasattr(load, "lineno")
    assert not hasattr(ast.BitOr(), "lineno")
