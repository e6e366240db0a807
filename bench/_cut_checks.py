"""Checks of a cut copy against the original, for `bench_cut.py`: `--help` of the program and of
every subcommand byte for byte, and the modules an entry leaves loaded."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_audit import probe_argv

# the environment hotstart's own help check uses (fix/_subcommands.HelpCheck): a fixed width,
# no colours, no terminal, one hash seed
HELP_ENV = {"COLUMNS": "80", "LINES": "24", "TERM": "dumb", "NO_COLOR": "1",
            "PYTHONHASHSEED": "0"}
MAX_DEPTH = 4

# --- which help paths -----------------------------------------------------------------------

CLICK_PATHS = r"""
import importlib, json, sys
module, attr = sys.argv[1].split(":")
root = getattr(importlib.import_module(module), attr)
if not hasattr(root, "make_context"):      # a typer app
    import typer.main
    root = typer.main.get_command(root)
paths = []

# duck-typed: recent typer builds its commands on a click of its own, not the installed one
def walk(command, path, ctx):
    paths.append(path)
    if not hasattr(command, "list_commands") or len(path) >= int(sys.argv[2]):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None:       # hidden commands too: their help must not change either
            walk(sub, [*path, name], sub.context_class(sub, info_name=name, parent=ctx))

walk(root, [], root.context_class(root, info_name="prog"))
sys.stdout.write("\n" + json.dumps([[*p, "--help"] for p in paths]) + "\n")
"""

_CHOICES = re.compile(r"\{([\w.,-]+)\}")


def help_paths(target, program: list[str], env: dict[str, str], cwd: Path) -> list[list[str]]:
    """Every `--help` to compare: from the click command or typer app (`target.cli`), walked
    in a child interpreter; else (argparse) from the `{a,b,...}` choices that each help prints,
    recursively."""
    if target.cli:
        done = subprocess.run([sys.executable, "-c", CLICK_PATHS, target.cli, str(MAX_DEPTH)],
                              env=env, cwd=cwd, capture_output=True, text=True, timeout=300,
                              check=False)
        try:
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, json.JSONDecodeError):
            raise RuntimeError(f"listing the commands of {target.cli} failed: "
                               f"{done.stderr[-600:]}") from None
    found: list[list[str]] = []
    todo = [list(p) for p in target.help_paths] or [["--help"]]
    while todo:
        path = todo.pop(0)
        if path in found:
            continue
        found.append(path)
        if len(path) > MAX_DEPTH:
            continue
        done = subprocess.run([*program, *path], env=dict(env, **HELP_ENV), cwd=cwd,
                              capture_output=True, text=True, timeout=120, check=False)
        usage = done.stdout.split("\n\n", 1)[0]
        for group in _CHOICES.findall(usage):
            todo.extend([*path[:-1], name, "--help"] for name in group.split(","))
    return found


def help_snapshot(program: list[str], paths: list[list[str]], env: dict[str, str],
                  cwd: Path) -> dict[str, tuple[int, bytes, bytes]]:
    """(exit code, stdout, stderr) of each help path; the copy's own directory is spelled
    `<copy>` so that copies in different directories compare."""
    out = {}
    marker = str(cwd).encode()
    for path in paths:
        done = subprocess.run([*program, *path], env=dict(env, **HELP_ENV), cwd=cwd,
                              capture_output=True, timeout=120, check=False)
        out[" ".join(path)] = (done.returncode, done.stdout.replace(marker, b"<copy>"),
                               done.stderr.replace(marker, b"<copy>"))
    return out


def help_differences(before: dict, after: dict) -> list[str]:
    """The help paths whose exit code or bytes differ, each with its first differing line."""
    out = []
    for key, old in before.items():
        new = after.get(key)
        if new == old:
            continue
        if new is None:
            out.append(f"{key}: not run")
            continue
        what = "exit code" if new[0] != old[0] else ("stdout" if new[1] != old[1] else "stderr")
        index = 1 if what == "stdout" else 2
        old_lines, new_lines = old[index].splitlines(), new[index].splitlines()
        line = next((i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b),
                    min(len(old_lines), len(new_lines)))
        sample = (new_lines[line] if line < len(new_lines) else b"(ends)").decode(
            "utf-8", "replace")[:100]
        out.append(f"{key}: {what} differs" + ("" if what == "exit code" else
                                               f" at line {line + 1}: {sample!r}"))
    return out


# --- modules loaded -------------------------------------------------------------------------

_DUMP = ("import atexit as _a, os as _o, sys as _s, json as _j\n"
         "_a.register(lambda: open(_o.environ['HOTSTART_BENCH_DUMP'], 'w').write("
         "_j.dumps(sorted(_s.modules))))\n")


def loaded_modules(entry: tuple[str, ...], env: dict[str, str], cwd: Path) -> list[str]:
    """The modules in sys.modules when the entry exits (bench_audit's probe wrapper, with an
    atexit hook of its own registered first, so it runs last)."""
    argv = probe_argv(entry)
    argv[2] = _DUMP + argv[2]
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        dump = handle.name
    try:
        done = subprocess.run(argv, env=dict(env, HOTSTART_BENCH_DUMP=dump), cwd=cwd,
                              capture_output=True, timeout=300, check=False)
        text = Path(dump).read_text()
        if not text:
            raise RuntimeError(f"the entry wrote no module list: {done.stderr[-400:]!r}")
        return json.loads(text)
    finally:
        os.unlink(dump)
