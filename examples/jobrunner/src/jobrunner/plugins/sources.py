"""Sources: where a job's data comes from."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jobrunner.log import get_logger
from jobrunner.registry import register

log = get_logger()


@register("csv_source", kind="source", summary="Read a CSV file into a data frame.")
class CsvSource:
    """Read a CSV file into a data frame."""

    def __init__(
        self,
        path: str = "sales.csv",
        sep: str = ",",
        columns: list[str] | None = None,
        parse_dates: list[str] | None = None,
    ) -> None:
        self.path = path
        self.sep = sep
        self.columns = columns
        self.parse_dates = parse_dates

    def __repr__(self) -> str:
        return f"CsvSource(path={self.path!r})"

    def load(self, path: Path | None = None) -> pd.DataFrame:
        """Read *path*, or this source's own ``path`` when none is given."""
        target = Path(path) if path is not None else Path(self.path)
        log.info("reading %s", target)
        return pd.read_csv(
            target,
            sep=self.sep,
            usecols=self.columns,
            parse_dates=self.parse_dates or False,
        )
