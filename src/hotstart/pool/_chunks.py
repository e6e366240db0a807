"""What a worker runs for one chunk of `WarmPool.map(..., chunksize=N)`: N calls, one task.

A module of its own, importing nothing, so that unpickling the chunk's function costs a
worker nothing it has not already loaded (``warm`` would bring the parent's machinery).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


def run_chunk(fn: Callable, chunk: tuple[tuple, ...]) -> list:
    """``[fn(*args) for args in chunk]``: the first call that raises fails the whole chunk
    (as in ProcessPoolExecutor, whose ``map`` raises it at that chunk's place)."""
    return [fn(*args) for args in chunk]
