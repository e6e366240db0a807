"""Reading job specs from disk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from jobrunner.log import get_logger

__all__ = ["SpecError", "load_spec"]

log = get_logger()


class SpecError(Exception):
    """A job spec file is missing, unreadable or not a JSON object."""


def load_spec(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Load the JSON job spec at *path* and return it as a dict."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(f"job spec not found: {path}") from None
    except OSError as exc:
        raise SpecError(f"cannot read job spec {path}: {exc.strerror}") from None

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"invalid JSON in {path} (line {exc.lineno}, column {exc.colno}): {exc.msg}"
        ) from None

    if not isinstance(data, dict):
        raise SpecError(f"{path}: a job spec must be a JSON object, not {type(data).__name__}")
    log.debug("loaded job spec %s (%d keys)", path, len(data))
    return data
