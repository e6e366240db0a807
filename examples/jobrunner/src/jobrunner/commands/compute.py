"""``jobrunner compute SPEC [--input CSV]``: build the job described in SPEC, run it and
print the result."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from jobrunner import registry
from jobrunner.commands import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError, fail
from jobrunner.errors import JobError
from jobrunner.log import get_logger
from jobrunner.spec import SpecError, load_spec
from jobrunner.util.paths import resolve_input

__all__ = ["register", "run", "run_job"]

log = get_logger()


def register(requests: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``compute`` request to the ``requests`` subparsers."""
    parser = requests.add_parser(
        "compute", help="run the job described in SPEC and print its result"
    )
    parser.add_argument("spec", metavar="SPEC", help="JSON job spec")
    parser.add_argument(
        "--input",
        metavar="CSV",
        help="input file (default: the spec's source path, relative to the spec)",
    )
    parser.set_defaults(handler=run)
    return parser


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


def run(args: argparse.Namespace) -> int:
    """Handle ``jobrunner compute SPEC [--input CSV]``."""
    spec_path = Path(args.spec)
    try:
        run_job(spec_path, args.input)
    except registry.UnknownTypeError as exc:
        return fail(f"unknown type {exc.name!r} in {args.spec}{exc.hint}", EXIT_USAGE)
    except registry.SpecBuildError as exc:
        return fail(f"{args.spec}: {exc}", EXIT_USAGE)
    except (SpecError, UsageError) as exc:
        return fail(str(exc), EXIT_USAGE)
    except JobError as exc:
        return fail(f"job {args.spec} failed: {exc}", EXIT_FAILED)
    return EXIT_OK
