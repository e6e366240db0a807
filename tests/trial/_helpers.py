"""Small real projects for the trial tests, and running a trial on them."""

from __future__ import annotations

import pathlib

from conftest import write_tree

from hotstart.measure.runner import Target
from hotstart.trial import TrialReport, run_trial

#: A package whose path uses some of its imports and never touches others:
#: - `heavylib` (and its submodule) is used only inside a function the path never calls;
#: - `usedlib` is used at module level (line 8);
#: - `from fromused import helper`: `helper` is called by `main()`, which the path runs;
#: - `from fromunused import thing`: never used.
PATHS = {
    "app/__init__.py": """
        import heavylib
        import usedlib
        from fromused import helper
        from fromunused import thing

        def later():
            return heavylib.compute()
        VALUE = usedlib.VALUE
        def main():
            return helper()
        print(VALUE, main())
    """,
    "heavylib/__init__.py": """
        from heavylib import part
        def compute():
            return part.N
    """,
    "heavylib/part.py": "import decimal\nN = decimal.Decimal(1)\n",
    "usedlib.py": "VALUE = 41\n",
    "fromused.py": "def helper():\n    return 1\n",
    "fromunused.py": "import fractions\nthing = fractions.Fraction(1, 2)\n",
}


def trial(base: pathlib.Path, files: dict[str, str], kind: str, value: str,
          *args: str, runs: int = 1) -> TrialReport:
    """Write `files` under `base` and run the trial of the entry there."""
    write_tree(base, files)
    return run_trial(Target(kind, value, args), runs=runs, cwd=str(base), timeout=120)
