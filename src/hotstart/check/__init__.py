"""hotstart.check: guard a project's start-up in CI, as reliably as a unit test.

From one configuration (`[tool.hotstart]` in ``pyproject.toml``, or ``hotstart.toml``), per
named entry:

- **forbidden modules**: globs that must never load on the entry; a failure names the chain
  of imports that loaded each (deterministic);
- **a module-set lock**: `write_lock` records which modules the entry loads, per Python
  version; a module added since fails with its chain, one removed is reported as an
  improvement (deterministic);
- **budgets**: start-up time and peak RSS above the bare interpreter, and growth over a
  baseline (a git ref or a saved profile), judged on interleaved rounds with a confidence
  interval: pass, fail, or inconclusive (which runs more rounds, then passes with a warning).

    config = hotstart.check.load("path/to/project")
    report = hotstart.check.run_check(config, baseline="origin/main")
    sys.exit(report.exit_code)

`hotstart check` and `hotstart lock` are the command line; the pytest plugin
(`hotstart.pytest_plugin`) runs the same checks as tests.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._engine import run_check, write_lock
from .config import CheckConfig, ConfigError, EntryConfig, find_config, load_config
from .model import CheckReport, EntryResult, Judgement, ModuleFinding, Step

__all__ = ["CheckConfig", "CheckReport", "ConfigError", "EntryConfig", "EntryResult",
           "Judgement", "ModuleFinding", "Step", "find_config", "load", "load_config",
           "run_check", "write_lock"]


def load(start: str | os.PathLike[str] = ".", *, path: str | os.PathLike[str] | None = None
         ) -> CheckConfig:
    """The configuration at `path`, or the one that applies to the directory `start`;
    `ConfigError` when there is none."""
    if path is not None:
        return load_config(path)
    found = find_config(start)
    if found is None:
        raise ConfigError(f"no [tool.hotstart] in a pyproject.toml (nor a hotstart.toml) in "
                          f"{Path(start).resolve()} or its parents; add one (see 'hotstart "
                          f"check --help')")
    return load_config(found)
