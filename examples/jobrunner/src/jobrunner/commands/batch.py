"""``jobrunner batch SPEC... [--workers N]``: run several jobs on warm workers and print what
each cost (the pool itself is `jobrunner.batch`)."""

from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(requests: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``batch`` request to the ``requests`` subparsers."""
    parser = requests.add_parser(
        "batch", help="run several jobs on warm workers; print what each cost"
    )
    parser.add_argument("specs", metavar="SPEC", nargs="+", help="JSON job specs")
    parser.add_argument("--workers", type=int, default=2, metavar="N",
                        help="warm workers (default 2)")
    parser.add_argument("--repeat", type=int, default=1, metavar="K",
                        help="run each spec K times (default 1)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="limit for each job")
    parser.add_argument("--backend", choices=("local", "dask", "ray"), default="local",
                        help="where the jobs run: a local warm pool (default), a Dask "
                             "LocalCluster or a local Ray; the same preload list on each")
    parser.set_defaults(handler=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handle ``jobrunner batch SPEC...``: the jobs run on a hotstart WarmPool."""
    from jobrunner.batch import run_batch

    return run_batch(args.specs, workers=args.workers, repeat=args.repeat,
                     timeout=args.timeout, backend=args.backend)
