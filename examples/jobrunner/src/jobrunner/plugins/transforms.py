"""Steps that reshape a data frame: pick, rename, retype, sort, drop missing values."""

from __future__ import annotations

from typing import Literal

import pandas as pd

from jobrunner.errors import JobError, require_columns
from jobrunner.log import get_logger
from jobrunner.registry import register

log = get_logger()


@register("select", summary="Keep only the given columns, in the given order.")
class Select:
    """Keep only the given columns, in the given order."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = list(columns)

    def __repr__(self) -> str:
        return f"Select({self.columns!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.columns, "select")
        return frame.loc[:, self.columns]


@register("dropna", summary="Drop rows with missing values (in all or only some columns).")
class DropNa:
    """Drop rows with missing values (in all or only some columns)."""

    def __init__(
        self, columns: list[str] | None = None, how: Literal["any", "all"] = "any"
    ) -> None:
        if how not in ("any", "all"):
            raise ValueError(f"how must be 'any' or 'all', not {how!r}")
        self.columns = columns
        self.how = how

    def __repr__(self) -> str:
        return f"DropNa(columns={self.columns!r}, how={self.how!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.columns:
            require_columns(frame, self.columns, "dropna")
        cleaned = frame.dropna(subset=self.columns, how=self.how).reset_index(drop=True)
        log.debug("dropna removed %d rows", len(frame) - len(cleaned))
        return cleaned


@register("rename", summary="Rename columns using an old-name to new-name mapping.")
class Rename:
    """Rename columns using an old-name to new-name mapping."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = dict(columns)

    def __repr__(self) -> str:
        return f"Rename({self.columns!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.columns, "rename")
        return frame.rename(columns=self.columns)


@register("sort", summary="Sort rows by one or more columns.")
class Sort:
    """Sort rows by one or more columns."""

    def __init__(self, by: list[str], descending: bool = False) -> None:
        self.by = list(by)
        self.descending = descending

    def __repr__(self) -> str:
        return f"Sort({self.by!r}, descending={self.descending!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.by, "sort")
        ordered = frame.sort_values(self.by, ascending=not self.descending, kind="stable")
        return ordered.reset_index(drop=True)


@register(
    "astype",
    summary='Convert columns to the given types (e.g. "int64", "float64", "string").',
)
class AsType:
    """Convert columns to the given types (e.g. "int64", "float64", "string")."""

    def __init__(self, columns: dict[str, str]) -> None:
        self.columns = dict(columns)

    def __repr__(self) -> str:
        return f"AsType({self.columns!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, self.columns, "astype")
        try:
            return frame.astype(self.columns)
        except (TypeError, ValueError) as exc:
            raise JobError(f"astype: {exc}") from exc
