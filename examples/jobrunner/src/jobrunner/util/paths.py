"""Path helpers."""

from __future__ import annotations

import os
from pathlib import Path

from jobrunner.log import get_logger

__all__ = ["DEFAULT_INPUT", "resolve_input"]

log = get_logger()

#: Input file used when neither the command line nor the spec names one.
DEFAULT_INPUT = "sales.csv"


def resolve_input(
    spec_path: str | os.PathLike[str],
    input_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Return the input file a job should read.

    A relative *input_path* is taken relative to the directory holding the
    spec, so a spec can say ``"path": "sales.csv"`` for a file next to it. An
    absolute path is returned unchanged. Without *input_path*,
    :data:`DEFAULT_INPUT` next to the spec is used.
    """
    candidate = Path(input_path) if input_path is not None else Path(DEFAULT_INPUT)
    if not candidate.is_absolute():
        candidate = Path(spec_path).parent / candidate
    log.debug("input for %s: %s", spec_path, candidate)
    return candidate
