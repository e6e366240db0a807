"""Importing a preload list, measured: what the template does before it forks, and what a
Dask or Ray worker (or ``hotstart worker``) does before it serves.

`load` imports one module and says what it cost: ``{"module", "ok", "seconds", "rss",
"modules", "error", "traceback"}`` (the fields of `records.ModuleLoad`); `report` wraps the
entries with the process's totals (the fields of `records.PreloadReport`). A module that
fails is recorded, never raised: whoever preloads decides what a failure means.

Standard library only.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["load", "report", "rss"]


def load(name: str) -> dict:
    """Import `name`; its time, the resident memory and modules it added, or its error."""
    import importlib

    before_rss = rss()
    before_modules = len(sys.modules)
    started = time.perf_counter()
    entry = {"module": name, "ok": True, "seconds": 0.0, "rss": None, "modules": 0,
             "error": None, "traceback": None}
    try:
        importlib.import_module(name)
    except BaseException as exc:  # noqa: BLE001 - SystemExit from a module included
        import traceback

        entry["ok"] = False
        entry["error"] = f"{type(exc).__name__}: {exc}".rstrip(": ")
        entry["traceback"] = "".join(traceback.format_exception(type(exc), exc,
                                                                exc.__traceback__))
    entry["seconds"] = time.perf_counter() - started
    after_rss = rss()
    if before_rss is not None and after_rss is not None:
        entry["rss"] = after_rss - before_rss
    entry["modules"] = len(sys.modules) - before_modules
    return entry


def report(entries: list[dict], started: float) -> dict:
    """The preload's report: `entries` (from `load`) and this process's totals since
    `started` (a `time.perf_counter()` reading)."""
    return {"pid": os.getpid(), "python": sys.version.split()[0], "modules": entries,
            "seconds": time.perf_counter() - started, "rss": rss(),
            "module_count": len(sys.modules)}


def rss() -> int | None:
    """This process's resident memory in bytes (None off Linux)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
