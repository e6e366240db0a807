"""Errors hotstart reports to its user: one line saying what went wrong and where.

The CLI prints ``hotstart: error: <message>`` and exits with `exit_code`; it never shows a
traceback of hotstart itself for these. A target that fails is not an exception: `profile()`
returns what it measured, and `failure_message()` says how the target failed.
"""

from __future__ import annotations

__all__ = ["HotstartError", "BadInput", "MissingExtra", "require_extra"]


class HotstartError(Exception):
    """Base class: `str(error)` is the whole one-line message."""

    exit_code = 1


class BadInput(HotstartError):
    """The user asked for something that cannot be done: missing target, unwritable path."""

    exit_code = 2


class MissingExtra(BadInput):
    """A command needs a package of one of hotstart's extras, and it is not installed:
    ``hotstart fix needs libcst: pip install 'hotstart[tools]'``."""


def require_extra(module: str, feature: str, extra: str) -> None:
    """`MissingExtra` naming the extra unless `module` can be imported (found, not loaded)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise MissingExtra(f"{feature} needs {module}: pip install 'hotstart[{extra}]'")
