"""Run a small program in a child interpreter, for the lazy-hook and lazy-mode tests: the hook
replaces ``builtins.__import__`` for a whole process, so every test gets its own."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

#: Installs the hook with every potentially lazy import lazy (as the run-time mode does), and
#: records the reified modules in REIFIED.
ALL_LAZY = """
import atexit, sys
from hotstart.lazy import _hook
HOOK = _hook.install(lambda importing, imported, fromlist: True,
                     on_reify=lambda module, user: REIFIED.append((module, user)))
HOOK.stand_ins = False  # as the run-time lazy mode has it (the trial keeps stand-ins)
REIFIED = []
# the program's globals, read as a dict (a module calling globals() keeps its imports eager)
NAMESPACE = sys.modules[__name__].__dict__
# the program:
"""


def run_program(base: pathlib.Path, files: dict[str, str], main: str, *args: str,
                env: dict[str, str] | None = None, launcher: list[str] | None = None,
                ) -> subprocess.CompletedProcess[str]:
    """Write `files` and ``main.py`` (source `main`) under `base`; run ``python main.py ARGS``
    there (or ``python LAUNCHER... main.py ARGS``) and return the finished process."""
    prelude, marker, program = main.rpartition("# the program:\n")
    main = prelude + marker + textwrap.dedent(program).lstrip("\n")
    for relative, text in {**files, "main.py": main}.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    child_env = {key: value for key, value in os.environ.items()
                 if key not in ("HOTSTART_EAGER", "HOTSTART_LAZY_IMPORTS")}
    child_env.update(env or {})
    command = [sys.executable, *(launcher or []), "main.py", *args]
    return subprocess.run(command, check=False, cwd=base, capture_output=True, text=True,
                          timeout=60, env=child_env, stdin=subprocess.DEVNULL)


def lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The child's stdout lines, after checking that it exited cleanly."""
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()
