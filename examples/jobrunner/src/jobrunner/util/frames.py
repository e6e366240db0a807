"""Data-frame helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from jobrunner.log import get_logger

__all__ = ["frame_summary", "to_frame"]

log = get_logger()


def to_frame(data: Any) -> pd.DataFrame:
    """Coerce what a step returned (frame, series, mapping or records) into a DataFrame."""
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame()
    if isinstance(data, Mapping) or (
        isinstance(data, Sequence) and not isinstance(data, (str, bytes))
    ):
        return pd.DataFrame(data)
    raise TypeError(f"cannot turn {type(data).__name__} into a DataFrame")


def frame_summary(frame: pd.DataFrame) -> dict[str, Any]:
    """Summarise *frame*: row count, column names and mean/min/max of numeric columns."""
    numeric = frame.select_dtypes("number")
    stats = {
        str(column): {
            "mean": float(numeric[column].mean()),
            "min": float(numeric[column].min()),
            "max": float(numeric[column].max()),
        }
        for column in numeric.columns
    }
    log.debug("summarised %d rows, %d numeric columns", len(frame), len(stats))
    return {"rows": len(frame), "columns": [str(c) for c in frame.columns], "numeric": stats}
