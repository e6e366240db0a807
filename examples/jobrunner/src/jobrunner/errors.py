"""Exceptions raised while running a job."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["JobError", "MissingColumnError", "require_columns"]


class JobError(Exception):
    """A job could not be completed (bad data or a step misused)."""


class MissingColumnError(JobError):
    """A step refers to columns that the data does not have."""

    def __init__(self, step: str, missing: list[str], available: list[str]) -> None:
        self.step = step
        self.missing = missing
        self.available = available
        super().__init__(
            f"{step}: no column(s) {', '.join(map(repr, missing))}; "
            f"available: {', '.join(available)}"
        )


def require_columns(frame: Any, columns: Iterable[str], step: str) -> None:
    """Raise :class:`MissingColumnError` unless *frame* has all *columns*."""
    available = [str(c) for c in frame.columns]
    missing = [c for c in columns if c not in available]
    if missing:
        raise MissingColumnError(step, missing, available)
