"""The requests of the ``jobrunner`` command, one module each, and what they share.

Each request module has ``register(requests)``, which adds its subcommand to the
``requests`` subparsers of `jobrunner.cli.build_parser`: its help line, its arguments and
a ``handler`` that carries out the request and returns the exit status.
"""

from __future__ import annotations

import sys

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "PROG", "UsageError", "fail"]

PROG = "jobrunner"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """The request cannot be carried out as given (exit status 2)."""


def fail(message: str, status: int) -> int:
    """Print ``jobrunner: MESSAGE`` to stderr and return *status*."""
    print(f"{PROG}: {message}", file=sys.stderr)
    return status
