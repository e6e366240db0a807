"""Fixtures for the warm pool tests: real template and worker processes, no mocks."""

from __future__ import annotations

import os

import pytest

from hotstart.pool import WarmPool


@pytest.fixture
def spill_path(tmp_path):
    path = tmp_path / "spill"
    path.mkdir(mode=0o700)
    os.chmod(path, 0o700)
    return str(path)


@pytest.fixture
def make_pool(spill_path):
    """A factory for pools that are always shut down, with a private spill directory."""
    pools: list[WarmPool] = []

    def make(**options) -> WarmPool:
        options.setdefault("spill_dir", spill_path)
        pool = WarmPool(**options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def shared_pool(tmp_path_factory):
    """One pool for tests that only run well-behaved tasks."""
    directory = tmp_path_factory.mktemp("shared") / "spill"
    directory.mkdir(mode=0o700)
    os.chmod(directory, 0o700)
    pool = WarmPool(preload=["json", "pooltasks"], workers=2, spill_dir=str(directory))
    yield pool
    pool.shutdown(wait=True, cancel_futures=True)
