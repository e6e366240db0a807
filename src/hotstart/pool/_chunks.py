"""What a worker runs for one chunk of `WarmPool.map(..., chunksize=N)`: N calls, one task.

A module of its own, importing nothing, so that unpickling a chunk costs a worker nothing it
has not already loaded (``warm`` would bring the parent's machinery).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Chunk"]


class Chunk:
    """`fn` over the argument tuples of one chunk: ``Chunk(fn, name)(chunk)`` is
    ``[fn(*args) for args in chunk]``; the first call that raises fails the whole chunk (as
    in ProcessPoolExecutor, whose ``map`` raises it at that chunk's place).

    ``__qualname__`` (of the instance) is the label its tasks are known by: the function's
    name, marked as a chunk."""

    def __init__(self, fn: Callable, name: str) -> None:
        self.fn = fn
        self.__qualname__ = f"{name} (chunk)"

    def __call__(self, chunk: tuple[tuple, ...]) -> list:
        fn = self.fn
        return [fn(*args) for args in chunk]
