"""Errors hotstart reports to its user: one line saying what went wrong and where.

The CLI prints ``hotstart: error: <message>`` and exits with `exit_code`; it never shows a
traceback of hotstart itself for these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .measure.model import Profile

__all__ = ["HotstartError", "BadInput", "TargetFailed"]


class HotstartError(Exception):
    """Base class: `str(error)` is the whole one-line message."""

    exit_code = 1


class BadInput(HotstartError):
    """The user asked for something that cannot be done: missing target, unwritable path."""

    exit_code = 2


class TargetFailed(HotstartError):
    """The target exited non-zero, crashed or timed out; `profile` holds what was measured."""

    exit_code = 1

    def __init__(self, message: str, profile: Profile) -> None:
        super().__init__(message)
        self.profile = profile
