"""The hotstart that `bench_cut.py` measures: a snapshot of a commit's `src/` (so that other
work in the tree does not leak in), and which of issue 11's parts that build has, read from
its own `--help` and `SELECTABLE` (a part that is missing is reported as not available)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

IMPORT_CLASSES = ("dead", "deferrable", "typing-only")
PROGRAM_SELECTS = ("hot-calls", "cli")


@dataclass
class Build:
    """hotstart as the benchmark runs it: `python -m hotstart` with `src` first on PYTHONPATH."""

    src: Path
    commit: str
    selectable: tuple[str, ...] = ()
    has_plan: bool = False          # `fix --plan joint|sites`
    has_trial: bool = False         # `hotstart trial`
    has_fix_trial: bool = False     # `fix --trial` ("fix reached N % of the trial's bound")
    has_launcher: bool = False      # `python -m hotstart.lazy` (HOTSTART_LAZY_IMPORTS=all)
    notes: list[str] = field(default_factory=list)

    def env(self, base: dict[str, str]) -> dict[str, str]:
        path = [str(self.src), *filter(None, [base.get("PYTHONPATH")])]
        return dict(base, PYTHONPATH=os.pathsep.join(path))

    def hotstart(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "hotstart", *args]

    def describe(self) -> str:
        return (f"hotstart at {self.commit} (src from `git archive`, first on PYTHONPATH); "
                f"selects {','.join(self.selectable)}; fix --plan: "
                f"{'yes' if self.has_plan else 'n/a'}; trial: "
                f"{'yes' if self.has_trial else 'n/a'}; fix --trial: "
                f"{'yes' if self.has_fix_trial else 'n/a'}; lazy launcher: "
                f"{'yes' if self.has_launcher else 'n/a'}")


def snapshot_build(repo: Path, where: Path, rev: str = "HEAD") -> Build:
    """`git archive REV src` unpacked under `where`, compiled; its parts detected."""
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", rev],
                            capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(repo), "archive", rev, "src"],
                             capture_output=True, check=True).stdout
    if where.exists():
        shutil.rmtree(where)
    where.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(where, filter="data")
    src = where / "src"
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(src)],
                   stdout=subprocess.DEVNULL, check=True)
    return detect(Build(src, commit))


def detect(build: Build) -> Build:
    env = build.env(dict(os.environ))

    def run(*args: str) -> str:
        done = subprocess.run(build.hotstart(*args) if args[0] != "-c" else
                              [sys.executable, *args], env=env, capture_output=True,
                              text=True, check=False)
        return done.stdout + done.stderr

    fix_help = run("fix", "--help")
    main_help = run("--help")
    build.has_plan = "--plan" in fix_help
    build.has_fix_trial = "--trial" in fix_help
    build.has_trial = any(line.split()[:1] == ["trial"] for line in main_help.splitlines())
    build.has_launcher = (build.src / "hotstart" / "lazy" / "__main__.py").is_file()
    out = run("-c", "from hotstart.fix.plan import SELECTABLE; print(','.join(SELECTABLE))")
    build.selectable = tuple(out.strip().splitlines()[-1].split(",")) if out.strip() else ()
    return build
