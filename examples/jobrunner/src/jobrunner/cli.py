"""Command-line interface: ``jobrunner [-v] REQUEST ...``.

Each request is a subcommand in its own module under `jobrunner.commands`, whose
``register(requests)`` adds its arguments and handler:

``jobrunner interface``
    Describe this worker: its version and the types a job spec can use.
``jobrunner compute SPEC [--input CSV]``
    Build the job described in SPEC, run it and print the result.
``jobrunner batch SPEC... [--workers N]``
    Run several jobs on warm workers and print what each cost.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from jobrunner import __version__
from jobrunner.commands import EXIT_FAILED, PROG, batch, compute, interface
from jobrunner.log import configure, get_logger

__all__ = ["build_parser", "main"]

log = get_logger()


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for the ``jobrunner`` command."""
    parser = argparse.ArgumentParser(prog=PROG, description="Run data jobs described in JSON.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (repeat for debug output)"
    )
    requests = parser.add_subparsers(dest="request", required=True, metavar="REQUEST")
    interface.register(requests)
    compute.register(requests)
    batch.register(requests)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    configure(args.verbose)
    log.debug("request: %s", args.request)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (e.g. `jobrunner interface | head`): stop quietly,
        # and keep the interpreter from complaining again when it flushes stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
