"""Steps that keep some rows and drop the others."""

from __future__ import annotations

import pandas as pd

from jobrunner.errors import require_columns
from jobrunner.log import get_logger
from jobrunner.registry import register

log = get_logger()


@register(
    "where",
    summary="Keep rows whose column value equals a value or lies within [min, max].",
)
class Where:
    """Keep rows whose column value equals a value or lies within [min, max]."""

    def __init__(
        self,
        column: str,
        equals: str | float | None = None,
        min: float | None = None,  # noqa: A002 - matches the spec key
        max: float | None = None,  # noqa: A002 - matches the spec key
    ) -> None:
        if equals is None and min is None and max is None:
            raise ValueError("give at least one of equals, min, max")
        self.column = column
        self.equals = equals
        self.min = min
        self.max = max

    def __repr__(self) -> str:
        return f"Where({self.column!r}, equals={self.equals!r}, min={self.min!r}, max={self.max!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, [self.column], "where")
        values = frame[self.column]
        keep = pd.Series(True, index=frame.index)
        if self.equals is not None:
            keep &= values == self.equals
        if self.min is not None:
            keep &= values >= self.min
        if self.max is not None:
            keep &= values <= self.max
        log.debug("where %s kept %d of %d rows", self.column, int(keep.sum()), len(frame))
        return frame.loc[keep].reset_index(drop=True)
