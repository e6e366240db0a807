"""The lazy trial: run an entry with every module-scope import lazy, and record which
modules its path really used and which it only imported.

    from hotstart.measure.runner import Target
    from hotstart.trial import run_trial

    report = run_trial(Target("module", "jobrunner", ("interface",)), runs=5)
    report.before_ms, report.bound_ms, report.bound_predicted_ms
    report.used["jobrunner.db"].where      # 'src/jobrunner/cli.py:12 in main'
    report.unused["pandas"].where          # where its import was deferred

On 3.11-3.14 laziness is `hotstart.lazy._hook` (PEP 810 semantics, ``from x import y``
included); on 3.15+ the interpreter's own (``-X lazy_imports=all``). Packages that laziness
breaks are found and kept eager (`TrialReport.eager_packages` says which, and why). See
docs/trial.md.
"""

from __future__ import annotations

import os

from ._trial import run_trial
from .model import SCHEMA, Deferred, Saved, TrialReport, Use

__all__ = ["SCHEMA", "Deferred", "Saved", "TrialReport", "Use", "load_trial", "run_trial"]


def load_trial(path: str | os.PathLike[str]) -> TrialReport:
    """A report written by `hotstart trial -o`; `hotstart.errors.BadInput` with the reason
    (one line) if the file is not one: missing, empty, not UTF-8, not JSON, another schema,
    a wrong value (named by its JSON path)."""
    from ..measure.io import load_document

    return load_document(path, "trial report", TrialReport.from_json)
