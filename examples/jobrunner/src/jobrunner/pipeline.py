"""The pipeline: read from a source, apply steps, hand the result to a sink."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd

from jobrunner.errors import JobError
from jobrunner.log import get_logger
from jobrunner.registry import register
from jobrunner.util import to_frame

__all__ = ["Pipeline", "RunResult", "Sink", "Source", "Step"]

log = get_logger()

#: A step takes a data frame and returns a new one.
Step = Callable[[pd.DataFrame], pd.DataFrame]


class Source(Protocol):
    """Something that produces the input data frame of a job."""

    def load(self, path: Path | None = None) -> pd.DataFrame: ...


class Sink(Protocol):
    """Something that receives the result of a job."""

    def write(self, result: RunResult) -> None: ...


@dataclass(frozen=True)
class RunResult:
    """The outcome of :meth:`Pipeline.run`."""

    name: str
    rows_in: int
    frame: pd.DataFrame
    seconds: float

    @property
    def rows_out(self) -> int:
        """Number of rows in the final data frame."""
        return len(self.frame)


@register(
    "pipeline",
    kind="pipeline",
    summary="Read from a source, apply steps in order, hand the result to a sink.",
)
class Pipeline:
    """Read from a source, apply steps in order, hand the result to a sink."""

    def __init__(
        self,
        source: Source,
        steps: Sequence[Step] = (),
        sink: Sink | None = None,
        name: str = "job",
    ) -> None:
        self.name = name
        self.source = source
        self.steps = list(steps)
        self.sink = sink

    def __repr__(self) -> str:
        return f"Pipeline(name={self.name!r}, steps={len(self.steps)})"

    def run(self, input_path: Path | None = None) -> RunResult:
        """Run the job on *input_path* (or the source's own input) and return the result."""
        started = time.perf_counter()
        frame = self.source.load(input_path)
        if not isinstance(frame, pd.DataFrame):
            raise JobError(f"{self.name}: source returned {type(frame).__name__}, not a DataFrame")
        rows_in = len(frame)
        log.info("%s: %d rows read", self.name, rows_in)

        for index, step in enumerate(self.steps, start=1):
            frame = to_frame(step(frame))
            log.debug("%s: step %d (%r) -> %d rows", self.name, index, step, len(frame))

        result = RunResult(self.name, rows_in, frame, time.perf_counter() - started)
        if self.sink is not None:
            self.sink.write(result)
        return result
