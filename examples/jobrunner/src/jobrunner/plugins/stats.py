"""Statistical steps."""

from __future__ import annotations

import numpy as np
import pandas as pd

from jobrunner.errors import JobError, require_columns
from jobrunner.log import get_logger
from jobrunner.registry import register

log = get_logger()


@register("zscore", summary="Add a column with the standard score of a numeric column.")
class ZScore:
    """Add a column with the standard score of a numeric column."""

    def __init__(self, column: str, suffix: str = "_z", ddof: int = 0) -> None:
        self.column = column
        self.suffix = suffix
        self.ddof = ddof

    def __repr__(self) -> str:
        return f"ZScore({self.column!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, [self.column], "zscore")
        try:
            values = frame[self.column].to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise JobError(f"zscore: column {self.column!r} is not numeric") from exc
        mean = np.nanmean(values)
        std = np.nanstd(values, ddof=self.ddof)
        scores = (values - mean) / std if std > 0 else np.zeros_like(values)
        log.debug("zscore %s: mean=%g std=%g", self.column, mean, std)
        return frame.assign(**{f"{self.column}{self.suffix}": scores})


@register(
    "describe",
    summary="Replace the data with count, mean, std and quantiles of numeric columns.",
)
class Describe:
    """Replace the data with count, mean, std and quantiles of numeric columns."""

    def __init__(
        self,
        columns: list[str] | None = None,
        percentiles: list[float] | None = None,
    ) -> None:
        self.columns = columns
        self.percentiles = percentiles

    def __repr__(self) -> str:
        return f"Describe(columns={self.columns!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.columns:
            require_columns(frame, self.columns, "describe")
            frame = frame.loc[:, self.columns]
        numeric = frame.select_dtypes(include=[np.number])
        if numeric.empty:
            raise JobError("describe: no numeric columns to describe")
        table = numeric.describe(percentiles=self.percentiles).T
        return table.rename_axis("column").reset_index()
