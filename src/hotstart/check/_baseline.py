"""`--baseline REF`: the project at a git ref, in a temporary checkout, and the check that a
run there imports the project from that checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadInput
from .config import CheckConfig, ConfigError, EntryConfig, project_file

if TYPE_CHECKING:
    from ._engine import Side

__all__ = ["baseline_checkout", "check_sources", "repository_prefix"]


def baseline_checkout(config: CheckConfig, ref: str, workdir: Path) -> Path:
    """`git archive REF` of the project's repository into `workdir`: the project's root
    inside that checkout. `BadInput` when REF is not a commit of it."""
    import tarfile

    git = shutil.which("git")
    if git is None:
        raise BadInput("--baseline REF needs git on PATH (or pass a saved profile, "
                       "--baseline PROFILE.json)")

    def run(*args: str):
        return subprocess.run([git, "-C", str(config.root), *args], capture_output=True,
                              text=True, timeout=300, stdin=subprocess.DEVNULL)

    if not ref or ref.startswith("-") or any(ord(c) < 32 for c in ref):
        raise BadInput(f"--baseline {ref!r}: not a git ref (a branch, tag or commit)")
    top = run("rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise BadInput(f"--baseline {ref}: {config.root} is not in a git repository; pass "
                       f"a saved profile instead (--baseline PROFILE.json)")
    commit = run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    if commit.returncode != 0:
        raise BadInput(f"--baseline {ref}: not a commit of {top.stdout.strip()} (fetch it "
                       f"first: shallow CI clones lack the base branch)")
    prefix = run("rev-parse", "--show-prefix").stdout.strip()
    archive = workdir / "baseline.tar"
    with open(archive, "wb") as out:
        # From the repository's top: run in a subdirectory, `git archive` would archive
        # that subdirectory alone (and a pythonpath of "../lib" would be missing).
        made = subprocess.run([git, "-C", top.stdout.strip(), "archive", "--format=tar",
                               commit.stdout.strip()], stdout=out, stderr=subprocess.PIPE,
                              timeout=600, stdin=subprocess.DEVNULL)
    if made.returncode != 0:
        raise BadInput(f"--baseline {ref}: git archive failed: "
                       f"{made.stderr.decode(errors='replace').strip()[:200]}")
    checkout = workdir / "checkout"
    with tarfile.open(archive) as tar:
        tar.extractall(checkout, filter="data")
    archive.unlink()
    return (checkout / prefix).resolve()


def check_sources(entry: EntryConfig, side: Side, process, other: Path) -> None:
    """A run must import the project from its own tree: the baseline's run, a module of the
    working tree (`other`) means `pythonpath` misses a directory; either run, no file of
    its own tree at all means both import an installed copy, and the comparison would
    compare that copy with itself."""
    files = [(record.name, record.file) for record in process.modules
             if record.file and os.path.isabs(record.file) and record.status == "ok"]
    if process.argv and os.path.isabs(process.argv[0]):  # the script, or -m's module
        files.append(("__main__", process.argv[0]))
    for name, file in files:
        if project_file(file, other) is not None:
            raise ConfigError(
                f"the {side.label} run of {entry.name!r} imported {name} from {file}, the "
                f"working tree, not the baseline's checkout: list the directory that holds "
                f"your package in [tool.hotstart] pythonpath (e.g. pythonpath = [\"src\"])")
    if not any(project_file(file, side.root) is not None for _, file in files):
        shown = next((f"{name} from {file}" for name, file in files
                      if "site-packages" in file), None)
        raise ConfigError(
            f"the {side.label} run of {entry.name!r} imported no file of {side.root}"
            f"{f' (it imported {shown})' if shown else ''}: --baseline would compare an "
            f"installed copy with itself; list the directory that holds your package in "
            f"[tool.hotstart] pythonpath (e.g. pythonpath = [\"src\"])")


def repository_prefix(root: Path) -> str:
    """`root`'s path inside the git repository that holds it ("" at its top, or when it
    is in none), with a trailing slash."""
    for folder in (root, *root.parents):
        if (folder / ".git").exists():
            relative = root.relative_to(folder).as_posix()
            return "" if relative == "." else relative + "/"
    return ""
