"""The pre-commit hook of `.pre-commit-hooks.yaml`, run by pre-commit itself.

`pre-commit try-repo` clones this repository, pip-installs it into a hook environment (a
setuptools build: slow the first time) and runs `hotstart-check` on a throwaway git project:
a stdlib-only package with `[tool.hotstart]` (forbid + lock) and its lock file. It passes;
a commit adding a forbidden import fails with exit 1, naming the chain that loaded it.

try-repo carries a local repository's uncommitted changes to *tracked* files (its shadow
clone runs `git add -u`), not new ones: the hook's source is a snapshot commit of the working
tree (tracked and untracked files, minus ignored ones) in a temporary directory. Nothing is written to this
repository, nor to ~/.cache (PRE_COMMIT_HOME and the caches are under tmp_path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pre_commit", reason="pre-commit is in the dev extra")
if shutil.which("git") is None:
    pytest.skip("pre-commit needs git", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}

PROJECT = {
    "src/tiny/__init__.py": "",
    "src/tiny/cli.py": """\
        import argparse
        from tiny import core

        if __name__ == "__main__":
            argparse.ArgumentParser(prog="tiny").parse_args()
        """,
    "src/tiny/core.py": """\
        import json
        """,
    "pyproject.toml": """\
        [project]
        name = "tiny"
        version = "0"

        [tool.hotstart]
        pythonpath = ["src"]

        [tool.hotstart.entries.cli-help]
        run = "-m tiny.cli --help"
        forbid = ["email", "http"]
        lock = true
        """,
}


def git(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                         timeout=120, env=env, check=True, stdin=subprocess.DEVNULL)
    return out.stdout


def write(base: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


def commit(repo: Path, env: dict[str, str], message: str) -> None:
    git("add", "-A", cwd=repo, env=env)
    git("commit", "-q", "--no-gpg-sign", "--no-verify", "-m", message, cwd=repo, env=env)


def hook_source(tmp: Path, env: dict[str, str]) -> Path:
    """This repository as try-repo should see it: a snapshot commit of its working tree
    (try-repo itself would leave out new files, and ones only marked with `git add -N`);
    what is committed, changed or new, minus what git ignores."""
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    snapshot = tmp / "hotstart-snapshot"
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if not source.exists() and not source.is_symlink():      # deleted, not committed
            continue
        target = snapshot / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    git("init", "-q", cwd=snapshot, env=env)
    commit(snapshot, env, "snapshot of the working tree")
    return snapshot


def test_precommit_hook_passes_then_fails_on_a_forbidden_import(tmp_path):
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout of hotstart: try-repo needs one")
    env = {**os.environ, **IDENTITY,
           "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "VIRTUALENV_OVERRIDE_APP_DATA": str(tmp_path / "virtualenv-data"),
           "PRE_COMMIT_COLOR": "never"}
    for name in ("PYTHONPATH", "PRE_COMMIT", "SKIP", "GIT_DIR", "GIT_INDEX_FILE",
                 "GIT_WORK_TREE"):
        env.pop(name, None)
    source = hook_source(tmp_path, env)

    project = tmp_path / "tiny"
    write(project, PROJECT)
    locked = subprocess.run([sys.executable, "-m", "hotstart", "lock"], cwd=project,
                            capture_output=True, text=True, timeout=300, env=env, check=False)
    assert locked.returncode == 0, locked.stdout + locked.stderr
    git("init", "-q", cwd=project, env=env)
    commit(project, env, "tiny, guarded")

    def try_repo() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "try-repo", str(source), "hotstart-check",
             "--all-files", "--verbose"],
            cwd=project, capture_output=True, text=True, timeout=600, env=env,
            stdin=subprocess.DEVNULL, check=False)

    clean = try_repo()
    output = clean.stdout + clean.stderr
    assert clean.returncode == 0, output
    assert "hotstart check" in output and "Passed" in output, output

    write(project, {"src/tiny/core.py": """\
        import json
        import email.parser
        """})
    commit(project, env, "tiny: parse mail")
    dirty = try_repo()
    output = dirty.stdout + dirty.stderr
    assert dirty.returncode == 1, output
    assert "Failed" in output and "exit code: 1" in output, output
    lines = [line.strip() for line in output.splitlines()]
    # The forbidden module, with its chain and the project's line that started it...
    assert any(line.startswith("forbidden email (rule 'email'") and
               "tiny.cli -> tiny.core -> email.parser ->" in line for line in lines), output
    assert "imported at src/tiny/core.py:2" in lines, output
    # ...and the lock's view of the same import.
    assert any(line.startswith("added email") for line in lines), output
    assert "Traceback" not in output, output
