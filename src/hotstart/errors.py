"""Errors hotstart reports to its user: one line saying what went wrong and where.

The CLI prints ``hotstart: error: <message>`` and exits with `exit_code`; it never shows a
traceback of hotstart itself for these. A target that fails is not an exception: `profile()`
returns what it measured, and `failure_message()` says how the target failed.
"""

from __future__ import annotations

__all__ = ["HotstartError", "BadInput"]


class HotstartError(Exception):
    """Base class: `str(error)` is the whole one-line message."""

    exit_code = 1


class BadInput(HotstartError):
    """The user asked for something that cannot be done: missing target, unwritable path."""

    exit_code = 2
