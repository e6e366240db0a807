"""Logging helpers."""

from __future__ import annotations

import inspect
import logging

__all__ = ["configure", "get_logger"]

_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def get_logger(name: str | None = None) -> logging.Logger:
    """Return a logger, named after the calling module unless *name* is given.

    This lets every module simply write ``log = get_logger()`` at the top
    instead of repeating ``logging.getLogger(__name__)``.
    """
    if name is None:
        caller = inspect.stack()[1]
        name = caller.frame.f_globals.get("__name__", "jobrunner")
    return logging.getLogger(name)


def configure(verbosity: int = 0) -> None:
    """Send log records to stderr; *verbosity* 0 is warnings, 1 info, 2+ debug."""
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    logging.basicConfig(level=level, format=_FORMAT)
