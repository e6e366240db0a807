"""`pip install hotstart` without extras: what a worker image gets.

A wheel is built from a copy of this tree (``pip wheel``, build isolation from the package
index as pip is set up) and installed with ``--no-index`` into a fresh virtual environment
made without pip, so the install would fail if hotstart required anything. There, the runtime
and the measuring commands work, the progress bar falls back to plain lines on a terminal
without rich, and `hotstart fix` says in one line which extra it needs. Built once per run.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 300


@pytest.fixture(scope="module")
def lean(tmp_path_factory) -> dict:
    base = tmp_path_factory.mktemp("lean")
    tree = base / "tree"  # a copy: the build writes build/ and *.egg-info beside the source
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src" / "hotstart", tree / "src" / "hotstart",
                    ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))
    wheels = base / "wheels"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                            "--wheel-dir", str(wheels), str(tree)], capture_output=True,
                           text=True, timeout=TIMEOUT)
    assert built.returncode == 0, built.stderr
    (wheel,) = wheels.glob("hotstart-*.whl")
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=TIMEOUT)
    python = venv / "bin" / "python"
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install",
                                "--quiet", "--no-index", str(wheel)], capture_output=True,
                               text=True, timeout=TIMEOUT)
    assert installed.returncode == 0, installed.stderr  # --no-index: no dependency to fetch
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "HOTSTART_PRELOAD", "VIRTUAL_ENV")}
    return {"wheel": wheel, "python": str(python), "hotstart": str(venv / "bin" / "hotstart"),
            "env": env, "base": base}


def run(lean: dict, args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=lean["env"], cwd=lean["base"], capture_output=True,
                          text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL, **kwargs)


def test_the_wheel_requires_nothing_but_offers_the_tools_extra(lean):
    with zipfile.ZipFile(lean["wheel"]) as wheel:
        (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = wheel.read(name).decode()
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    assert requires and all("extra ==" in line for line in requires), requires
    tools = sorted(line.split()[1].split(">")[0] for line in requires
                   if "extra == \"tools\"" in line)
    assert tools == ["libcst", "rich"]
    assert "Provides-Extra: tools" in metadata
    code = ("import importlib.metadata as m; "
            "print(sorted(d.metadata['Name'] for d in m.distributions()))")
    listed = run(lean, [lean["python"], "-c", code])
    assert listed.stdout.strip() == "['hotstart']", listed.stderr


def test_fix_names_the_extra_in_one_line(lean):
    (lean["base"] / "mod.py").write_text("import json\n")
    result = run(lean, [lean["hotstart"], "fix", "mod.py"])
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == ("hotstart: error: hotstart fix needs libcst: "
                             "pip install 'hotstart[tools]'\n")
    assert run(lean, [lean["hotstart"], "fix", "--help"]).returncode == 0
    code = ("from hotstart.fix import fix\n"
            "try:\n    fix('mod.py')\nexcept Exception as exc:\n"
            "    print(type(exc).__name__, exc)")
    api = run(lean, [lean["python"], "-c", code])
    assert api.stdout == ("MissingExtra hotstart fix needs libcst: "
                          "pip install 'hotstart[tools]'\n"), api.stderr


def test_progress_on_a_terminal_falls_back_to_plain_lines(lean):
    """rich draws the bar only on a terminal: give `profile` one (a pty) without rich."""
    import pty

    assert run(lean, [lean["python"], "-c", "import rich"]).returncode == 1
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([lean["hotstart"], "profile", "-n", "1", "--no-calls",
                                    "--format", "table", "--top", "1", "-c", "import json"],
                                   env=lean["env"], cwd=lean["base"], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=follower)
        os.close(follower)
        follower = None
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        stdout, _ = process.communicate(timeout=TIMEOUT)
    finally:
        os.close(leader)
        if follower is not None:
            os.close(follower)
    terminal = b"".join(chunks).decode(errors="replace")
    assert process.returncode == 0, terminal
    assert "Traceback" not in terminal
    assert "hotstart: [1/" in terminal  # the plain progress lines
    assert b"json" in stdout


def test_the_runtime_and_the_master_side_work_without_extras(lean):
    worker = run(lean, [lean["hotstart"], "worker", "--preload", "json", "--", "-c",
                        "import sys; print('json' in sys.modules)"])
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout == "True\n"
    preload = run(lean, [lean["hotstart"], "preload",
                         str(ROOT / "examples" / "jobrunner" / "jobs" / "clean.json"),
                         "--package", str(ROOT / "examples" / "jobrunner" / "src" / "jobrunner"),
                         "--format", "env"])
    assert preload.returncode == 0, preload.stderr
    assert preload.stdout.startswith("HOTSTART_PRELOAD=jobrunner.pipeline,")
