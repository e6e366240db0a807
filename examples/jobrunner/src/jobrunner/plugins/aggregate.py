"""Aggregating steps."""

from __future__ import annotations

import pandas as pd

from jobrunner.errors import require_columns
from jobrunner.log import get_logger
from jobrunner.registry import register

log = get_logger()

_FUNCTIONS = frozenset({"sum", "mean", "min", "max", "count", "median"})


@register(
    "groupby",
    summary="Group rows by key columns and aggregate the others (sum, mean, ...).",
)
class GroupBy:
    """Group rows by key columns and aggregate the others (sum, mean, ...)."""

    def __init__(self, by: list[str], aggregate: dict[str, str]) -> None:
        unknown = sorted(set(aggregate.values()) - _FUNCTIONS)
        if unknown:
            raise ValueError(
                f"unknown aggregate(s) {', '.join(unknown)}; "
                f"use one of {', '.join(sorted(_FUNCTIONS))}"
            )
        self.by = list(by)
        self.aggregate = dict(aggregate)

    def __repr__(self) -> str:
        return f"GroupBy({self.by!r}, {self.aggregate!r})"

    def __call__(self, frame: pd.DataFrame) -> pd.DataFrame:
        require_columns(frame, [*self.by, *self.aggregate], "groupby")
        grouped = frame.groupby(self.by, sort=True, as_index=False).agg(self.aggregate)
        log.debug("groupby %s -> %d groups", self.by, len(grouped))
        return grouped
