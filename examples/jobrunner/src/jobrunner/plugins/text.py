"""Steps that tidy text columns."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from jobrunner.errors import require_columns
from jobrunner.log import get_logger
from jobrunner.registry import register

if TYPE_CHECKING:
    from pandas import DataFrame

log = get_logger()

TextStep = Callable[["DataFrame"], "DataFrame"]


def _map_text(name: str, columns: list[str], func: Callable[[str], str]) -> TextStep:
    """Build a step that applies *func* to every string value of *columns*."""

    def apply(value: object) -> object:
        return func(value) if isinstance(value, str) else value

    def step(frame: DataFrame) -> DataFrame:
        require_columns(frame, columns, name)
        log.debug("%s: %s", name, ", ".join(columns))
        return frame.assign(**{column: frame[column].map(apply) for column in columns})

    return step


@register("lowercase", summary="Lower-case the text in the given columns.")
def lowercase(columns: list[str]) -> TextStep:
    """Lower-case the text in the given columns."""
    return _map_text("lowercase", columns, str.lower)


@register("strip", summary="Remove leading and trailing whitespace (or the given characters).")
def strip(columns: list[str], chars: str | None = None) -> TextStep:
    """Remove leading and trailing whitespace (or the given characters)."""
    return _map_text("strip", columns, lambda value: value.strip(chars))
