"""Command-line interface.

``jobrunner interface``
    Describe this worker: its version and the types a job spec can use.
``jobrunner compute SPEC [--input CSV]``
    Build the job described in SPEC, run it and print the result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jobrunner import __version__, registry
from jobrunner.errors import JobError
from jobrunner.log import configure, get_logger
from jobrunner.spec import SpecError, load_spec
from jobrunner.util.paths import resolve_input

__all__ = ["describe", "main", "run_job"]

log = get_logger()

PROG = "jobrunner"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

REQUESTS = {
    "interface": "describe this worker and the types a job spec can use",
    "compute SPEC [--input CSV]": "run the job described in SPEC and print its result",
    "batch SPEC... [--workers N]": "run several jobs on warm workers; print what each cost",
}

_KINDS = (("pipeline", "pipelines"), ("source", "sources"), ("step", "steps"), ("sink", "sinks"))


class UsageError(Exception):
    """The request cannot be carried out as given (exit status 2)."""


def describe() -> dict[str, Any]:
    """Return what this worker can do, as plain data."""
    return {
        "name": PROG,
        "version": __version__,
        "requests": dict(REQUESTS),
        "types": [
            {"name": entry.name, "kind": entry.kind, "summary": entry.summary}
            for entry in registry.entries()
        ],
    }


def _print_interface(info: dict[str, Any]) -> None:
    print(f"{info['name']} {info['version']}: runs data jobs described in JSON over CSV files")
    print()
    print("requests:")
    width = max(len(request) for request in info["requests"])
    for request, summary in info["requests"].items():
        print(f"  {request:<{width}}  {summary}")

    types = info["types"]
    width = max((len(t["name"]) for t in types), default=0)
    print()
    print(f"types a job spec can use ({len(types)}):")
    for kind, title in _KINDS:
        of_kind = [t for t in types if t["kind"] == kind]
        if not of_kind:
            continue
        print(f"  {title}:")
        for t in of_kind:
            print(f"    {t['name']:<{width}}  {t['summary']}")


def cmd_interface(args: argparse.Namespace) -> int:
    """Handle ``jobrunner interface``."""
    info = describe()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_interface(info)
    return EXIT_OK


def run_job(spec_path: Path, input_override: str | None = None) -> Any:
    """Build the job described in *spec_path*, run it and return its ``RunResult``."""
    spec = load_spec(spec_path)
    type_name = spec.get(registry.TYPE_KEY)
    if not isinstance(type_name, str):
        raise UsageError(f"{spec_path}: the top-level object has no {registry.TYPE_KEY!r}")
    if registry.entry(type_name).kind != "pipeline":
        raise UsageError(f"{spec_path}: the top-level object must be a pipeline, not {type_name!r}")

    job = registry.build(spec)
    if job.sink is None:
        job.sink = registry.get("print_sink")()

    # --input is relative to the current directory; a path in the spec is
    # relative to the spec itself.
    if input_override:
        input_path = resolve_input(spec_path, Path(input_override).absolute())
    else:
        input_path = resolve_input(spec_path, getattr(job.source, "path", None))
    if not input_path.is_file():
        raise UsageError(f"input not found: {input_path}")

    log.info("running %r on %s", job, input_path)
    result = job.run(input_path)
    log.info("%s finished in %.3fs", result.name, result.seconds)
    return result


def cmd_compute(args: argparse.Namespace) -> int:
    """Handle ``jobrunner compute SPEC [--input CSV]``."""
    spec_path = Path(args.spec)
    try:
        run_job(spec_path, args.input)
    except registry.UnknownTypeError as exc:
        return _fail(f"unknown type {exc.name!r} in {args.spec}{exc.hint}", EXIT_USAGE)
    except registry.SpecBuildError as exc:
        return _fail(f"{args.spec}: {exc}", EXIT_USAGE)
    except (SpecError, UsageError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except JobError as exc:
        return _fail(f"job {args.spec} failed: {exc}", EXIT_FAILED)
    return EXIT_OK


def _fail(message: str, status: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return status


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for the ``jobrunner`` command."""
    parser = argparse.ArgumentParser(prog=PROG, description="Run data jobs described in JSON.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (repeat for debug output)"
    )
    requests = parser.add_subparsers(dest="request", required=True, metavar="REQUEST")

    interface = requests.add_parser("interface", help=REQUESTS["interface"])
    interface.add_argument("--json", action="store_true", help="print the description as JSON")
    interface.set_defaults(handler=cmd_interface)

    compute = requests.add_parser("compute", help=REQUESTS["compute SPEC [--input CSV]"])
    compute.add_argument("spec", metavar="SPEC", help="JSON job spec")
    compute.add_argument(
        "--input",
        metavar="CSV",
        help="input file (default: the spec's source path, relative to the spec)",
    )
    compute.set_defaults(handler=cmd_compute)

    batch = requests.add_parser("batch", help=REQUESTS["batch SPEC... [--workers N]"])
    batch.add_argument("specs", metavar="SPEC", nargs="+", help="JSON job specs")
    batch.add_argument("--workers", type=int, default=2, metavar="N",
                       help="warm workers (default 2)")
    batch.add_argument("--repeat", type=int, default=1, metavar="K",
                       help="run each spec K times (default 1)")
    batch.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="limit for each job")
    batch.set_defaults(handler=cmd_batch)
    return parser


def cmd_batch(args: argparse.Namespace) -> int:
    """Handle ``jobrunner batch SPEC...``: the jobs run on a hotstart WarmPool."""
    from jobrunner.batch import run_batch

    return run_batch(args.specs, workers=args.workers, repeat=args.repeat,
                     timeout=args.timeout)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = build_parser().parse_args(argv)
    configure(args.verbose)
    try:
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader went away (e.g. `jobrunner interface | head`): stop quietly,
        # and keep the interpreter from complaining again when it flushes stdout.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED
