"""Shared fixtures: real interpreters, real files, the bundled example project."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).parent))

ROOT = pathlib.Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "jobrunner"
TRACER = ROOT / "src" / "hotstart" / "measure" / "tracer.py"


def write_tree(base: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    """Create files under `base` from {relative path: source}; returns `base`."""
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return base


def run_hotstart(*args: str, cwd: os.PathLike[str] | str | None = None,
                 timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """`python -m hotstart ARGS` in a real subprocess, output captured as text."""
    return subprocess.run([sys.executable, "-m", "hotstart", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def project(tmp_path: pathlib.Path):
    """A factory for small throwaway projects: project({path: source}) -> directory."""

    def make(files: dict[str, str]) -> pathlib.Path:
        return write_tree(tmp_path, files)

    return make


@pytest.fixture(scope="session")
def jobrunner_profile(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The example worker's light `interface` request, profiled once through the CLI."""
    out = tmp_path_factory.mktemp("jobrunner") / "interface.json"
    result = run_hotstart("profile", "-q", "-n", "2", "-o", str(out), "-m", "jobrunner",
                          "interface", cwd=EXAMPLE)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def inject_dir(tmp_path: pathlib.Path) -> pathlib.Path:
    """A PYTHONPATH entry holding the tracer as `sitecustomize`, as the runner makes it."""
    directory = tmp_path / "inject"
    directory.mkdir()
    shutil.copyfile(TRACER, directory / "sitecustomize.py")
    return directory


# -- the warm pool (tests/pool): real templates and workers, always shut down --------------

@pytest.fixture
def spill_path(tmp_path):
    path = tmp_path / "spill"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return str(path)


@pytest.fixture
def make_pool(spill_path):
    """A factory for pools that are always shut down, with a private spill directory."""
    from hotstart.pool import WarmPool

    pools = []

    def make(**options):
        options.setdefault("spill_dir", spill_path)
        pool = WarmPool(**options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def shared_pool(tmp_path_factory):
    """One pool for tests that only run well-behaved tasks (tests/pool: `pooltasks`)."""
    from hotstart.pool import WarmPool

    directory = tmp_path_factory.mktemp("shared") / "spill"
    directory.mkdir(mode=0o700)
    os.chmod(directory, 0o700)
    pool = WarmPool(preload=["json", "pooltasks"], workers=2, spill_dir=str(directory))
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)


# -- the reports: a real headless Chromium, a profile of several processes and threads ----

#: As the machine's notes say: without the background-networking flags Chromium tries to
#: reach Google's hosts at every start, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

MULTI_PROCESS_SCRIPT = """\
import subprocess, sys, threading

def load():
    import email.parser, json

worker = threading.Thread(target=load, name="loader")
worker.start()
worker.join()
subprocess.run([sys.executable, "-c", "import decimal, fractions"], check=True)
import argparse
"""


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by playwright (never a browser playwright downloads); the
    test is skipped, saying what is missing, where either is not installed. Per module: the
    driver's threads must not outlive the browser tests (a multi-threaded pytest process
    makes later tests' forks unsafe)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip("chromium is not installed: 'make test' installs Debian's chromium package "
                    "where it can (as root with apt-get); or install it by hand")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed: pip install -e '.[dev]'")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()
    # The driver's event loop leaves its executor's threads ending on their own: wait for
    # them, so that no later test forks a multi-threaded process.
    import threading

    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("asyncio_"):
            thread.join(timeout=10)


@pytest.fixture(scope="session")
def multi_process_profile(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A real profile of a script that imports in a second thread and starts a second Python
    process: two processes, the first with two threads."""
    directory = tmp_path_factory.mktemp("multi")
    script = directory / "multi.py"
    script.write_text(MULTI_PROCESS_SCRIPT)
    out = directory / "multi.json"
    result = run_hotstart("profile", "-q", "-n", "2", "-o", str(out), "--", sys.executable,
                          str(script), cwd=directory)
    assert result.returncode == 0, result.stderr
    return out
