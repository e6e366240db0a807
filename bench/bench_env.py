"""Per-job start-up through each way of starting a command in an environment (issue 15).

The environment is a conda-layout prefix made here: a venv of this interpreter whose
site-packages reach this venv's (where the example worker, jobrunner, and its numpy and
pandas are installed), with a ``conda-meta/state`` that sets a variable and two
``etc/conda/activate.d`` scripts of the kind GDAL and PROJ ship. Two jobs: ``python -c pass``
and the example worker's light request, ``python -m jobrunner interface``. Contenders:

- ``python`` (the floor): the environment's interpreter, started directly;
- ``uv run``: a project (no dependencies, ``package = false``) whose environment is the
  prefix (``UV_PROJECT_ENVIRONMENT``), as ``uv run python ...`` in a container's CMD: uv
  checks the lock and the environment, then runs the command; ``uv run --no-sync`` skips
  the check (neither runs conda's activate.d scripts: uv does not know them);
- ``sh -c '. activate && exec python'``: a hand-written activate script (conda's exports,
  then each activate.d script sourced), the fix case 4 wrote by hand;
- ``hotstart exec SNAPSHOT``: the console script; ``hotstart exec PREFIX``: the activation
  run in memory at each start (what a snapshot saves);
- the shim: ``hotstart env shim``'s ``sh`` entrypoint, ``entrypoint.sh python ...``.

Each round runs every contender once, in an order rotated round by round, timed from
``os.posix_spawn`` to a blocking ``os.waitpid`` (no polling), output to /dev/null. Medians
with min/max, and ratios to the floor (the median of per-round ratios, and the ratio of
medians). Reproduce:

    .venv/bin/python bench/bench_env.py [--rounds 25] [--markdown /tmp/env-results.md]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import site
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from _timing import Series, paired_ratio, table  # noqa: E402


ROOT = pathlib.Path(__file__).resolve().parents[1]
GEO = 'export GDAL_DATA="$CONDA_PREFIX/share/gdal"\nexport PROJ_DATA="$CONDA_PREFIX/share/proj"\n'
LIBS = 'export LD_LIBRARY_PATH="$CONDA_PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"\n'
JOBS = {"python -c pass": ["-c", "pass"],
        "jobrunner interface": ["-m", "jobrunner", "interface"]}


def build(work: pathlib.Path) -> dict[str, pathlib.Path]:
    """The prefix, its snapshot and shim, the hand-written activate script, a uv project."""
    prefix = work / "envs" / "worker"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    packages = next(prefix.glob("lib/python3*/site-packages"))
    # addsitedir, not a bare path: this venv's own .pth files (editable installs) apply too
    (packages / "zz-bench-deps.pth").write_text(
        f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n")
    (prefix / "conda-meta").mkdir()
    (prefix / "conda-meta" / "history").write_text("")
    (prefix / "conda-meta" / "state").write_text('{"env_vars": {"JOB_QUEUE": "default"}}')
    scripts = prefix / "etc" / "conda" / "activate.d"
    scripts.mkdir(parents=True)
    (scripts / "geo.sh").write_text(GEO)
    (scripts / "libs.sh").write_text(LIBS)
    activate = work / "activate"
    activate.write_text(
        f"export PATH='{prefix}/bin':\"$PATH\" CONDA_PREFIX='{prefix}' CONDA_SHLVL=1 "
        f"CONDA_DEFAULT_ENV=worker CONDA_PROMPT_MODIFIER='(worker) ' JOB_QUEUE=default\n"
        f"for script in '{scripts}'/*.sh; do . \"$script\"; done\n")
    snapshot, shim = work / "snapshot.json", work / "entrypoint.sh"
    for args in (["env", "snapshot", str(prefix), "-o", str(snapshot)],
                 ["env", "shim", str(snapshot), "-o", str(shim)]):
        subprocess.run([*hotstart_command(work), *args], check=True, stdout=subprocess.DEVNULL)
    project = work / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "job"\nversion = "0"\nrequires-python = ">=3.11"\n'
        'dependencies = []\n\n[tool.uv]\npackage = false\n')
    return {"prefix": prefix, "activate": activate, "snapshot": snapshot, "shim": shim,
            "project": project}


def hotstart_command(work: pathlib.Path) -> list[str]:
    """The console script, as users run it."""
    return [str(pathlib.Path(sys.executable).with_name("hotstart"))]


def contenders(paths: dict[str, pathlib.Path], job: list[str], work: pathlib.Path,
               uv: str) -> list[Series]:
    caller = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.path.expanduser("~"),
              "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1"}
    uv_env = {**caller, "UV_PROJECT_ENVIRONMENT": str(paths["prefix"])}
    hot = hotstart_command(work)
    series = [
        Series("python (floor)", [str(paths["prefix"] / "bin" / "python"), *job], caller),
        Series("uv run", [uv, "run", "python", *job], uv_env),
        Series("uv run --no-sync", [uv, "run", "--no-sync", "python", *job], uv_env),
        Series("sh -c '. activate && exec python'",
               ["/bin/sh", "-c", f". '{paths['activate']}' && exec python \"$@\"", "sh", *job],
               caller),
        Series("hotstart exec SNAPSHOT", [*hot, "exec", str(paths["snapshot"]), "--", "python",
                                          *job], caller),
        Series("hotstart exec PREFIX", [*hot, "exec", str(paths["prefix"]), "--", "python",
                                        *job], caller),
        Series("shim", [str(paths["shim"]), "python", *job], caller),
    ]
    for s in series:  # uv runs in the project's directory; everyone else there too
        s.cwd = str(paths["project"])
    return series


def spawn_ms(series: Series) -> float:
    """One run: wall ms from posix_spawn to the blocking waitpid; a failure stops the bench."""
    null = os.open(os.devnull, os.O_RDWR)
    try:
        actions = [(os.POSIX_SPAWN_DUP2, null, 0), (os.POSIX_SPAWN_DUP2, null, 1),
                   (os.POSIX_SPAWN_DUP2, null, 2)]
        env = {k.encode(): v.encode() for k, v in series.env.items()}
        here = os.getcwd()
        os.chdir(series.cwd)  # posix_spawn has no cwd; the parent's is inherited
        try:
            start = time.perf_counter_ns()
            pid = os.posix_spawn(series.argv[0], series.argv, env, file_actions=actions)
            _, status = os.waitpid(pid, 0)
            elapsed = (time.perf_counter_ns() - start) / 1e6
        finally:
            os.chdir(here)
    finally:
        os.close(null)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{series.label} failed: {series.argv} -> {status}")
    return elapsed


def run_rounds(series: list[Series], rounds: int, warmup: int = 2) -> None:
    """Each contender once per round; the order rotates by one each round."""
    for _ in range(warmup):
        for s in series:
            spawn_ms(s)
    for index in range(rounds):
        shift = index % len(series)
        for s in series[shift:] + series[:shift]:
            s.samples_ms.append(spawn_ms(s))


def pyc_state() -> str:
    import jobrunner
    import pandas

    def cached(module) -> str:
        folder = pathlib.Path(module.__file__).parent / "__pycache__"
        return "present" if any(folder.glob("*.pyc")) else "absent"

    return (f"`.pyc` state: stdlib and site-packages (pandas: {cached(pandas)}) compiled at "
            f"install; jobrunner's source (editable): {cached(jobrunner)}; "
            f"PYTHONDONTWRITEBYTECODE=1 in every contender's environment, so no run writes any")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--markdown", metavar="FILE", help="also write the section here")
    args = parser.parse_args()
    uv = shutil.which("uv", path=str(pathlib.Path(sys.executable).parent))
    if uv is None:
        raise SystemExit("uv is not installed here: pip install 'hotstart[bench]'")
    version = subprocess.run([uv, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="hotstart-bench-env-") as directory:
        work = pathlib.Path(directory)
        paths = build(work)
        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        load = os.getloadavg()[0]
        sections = []
        for title, job in JOBS.items():
            series = contenders(paths, job, work, uv)
            run_rounds(series, args.rounds)
            sections.append((title, series))
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                capture_output=True, text=True).stdout.strip()
    out = [f"### CPython {sys.version.split()[0]}, {version} (recorded {started} at `{commit}` "
           f"plus the working tree; load average {load:.1f} at the start, on a shared 2-core VM "
           f"with another benchmark running: noisy)", "",
           f"{args.rounds} rounds after 2 warm-up rounds, order rotated each round. "
           f"{pyc_state()}.", ""]
    for title, series in sections:
        floor = series[0]
        out.append("#" + table(series, floor, f"`{title}`"))
        by = {s.label: s for s in series}
        out.append(", ".join(f"{label}: {paired_ratio(by[label], floor):.2f}x"
                             for label in ("hotstart exec SNAPSHOT", "shim", "uv run"))
                   + f" the floor ({floor.median:.1f} ms; goal for hotstart exec and the shim: "
                     f"1.1x). hotstart exec costs "
                     f"{by['hotstart exec SNAPSHOT'].median - floor.median:+.1f} ms per job, "
                     f"the shim {by['shim'].median - floor.median:+.1f} ms, uv run "
                     f"{by['uv run'].median - floor.median:+.1f} ms.\n")
    text = "\n".join(out)
    print(text)
    if args.markdown:
        pathlib.Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
