"""``jobrunner interface [--json]``: describe this worker and the types a job spec can use."""

from __future__ import annotations

import argparse
import json
from typing import Any

from jobrunner import __version__, registry
from jobrunner.commands import EXIT_OK, PROG

__all__ = ["REQUESTS", "describe", "register", "run"]

#: Each request as it is written, and what it does (each request module's help says the same).
REQUESTS = {
    "interface": "describe this worker and the types a job spec can use",
    "compute SPEC [--input CSV]": "run the job described in SPEC and print its result",
    "batch SPEC... [--workers N]": "run several jobs on warm workers; print what each cost",
}

_KINDS = (("pipeline", "pipelines"), ("source", "sources"), ("step", "steps"), ("sink", "sinks"))


def register(requests: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``interface`` request to the ``requests`` subparsers."""
    parser = requests.add_parser(
        "interface", help="describe this worker and the types a job spec can use"
    )
    parser.add_argument("--json", action="store_true", help="print the description as JSON")
    parser.set_defaults(handler=run)
    return parser


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


def run(args: argparse.Namespace) -> int:
    """Handle ``jobrunner interface``."""
    info = describe()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print_interface(info)
    return EXIT_OK
