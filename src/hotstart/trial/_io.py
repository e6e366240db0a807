"""Read a saved trial report, refusing what is not one in one line."""

from __future__ import annotations

import json
import os

from ..errors import BadInput
from ..measure.io import read_document
from ..measure.model import SchemaError
from .model import TrialReport

__all__ = ["load_trial"]


def load_trial(path: str | os.PathLike[str]) -> TrialReport:
    """A report written by `hotstart trial -o`; `BadInput` with the reason if it is not one."""
    text = read_document(path, "trial report")
    try:
        return TrialReport.from_json(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{os.fspath(path)}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    except SchemaError as exc:
        raise BadInput(f"{os.fspath(path)}: not a hotstart trial report: {exc}") from None
