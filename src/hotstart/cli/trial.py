"""`hotstart trial`: run an entry with every import lazy; what its path really used, and the
bound a perfect cut of that path reaches."""

import sys

from ._common import (
    TARGET_HELP,
    add_entry_option,
    add_running_options,
    check_number,
    check_running_options,
    configured_target,
    make_parser,
    split_target,
)


def run(args: list[str]) -> int:
    parser = make_parser("trial", "Run a target with every module-scope import lazy (PEP 810 "
                         "semantics: hotstart's import hook on 3.11-3.14, -X lazy_imports=all "
                         "on 3.15), and report which modules its path really used (where "
                         "first) and which it only imported (where), and the bound: its "
                         "start-up with every unused import deferred, measured and predicted. "
                         "Packages that laziness breaks are found and kept eager.",
                         usage="hotstart trial [options] (-c CODE | -m MODULE | SCRIPT | "
                               "-- COMMAND) [ARGS ...]\n       hotstart trial --from "
                               "FILE.json [options]",
                         epilog=TARGET_HELP)
    runs = add_running_options(
        parser, runs_help="timed runs of the entry eager and lazy, interleaved with the bare "
                          "interpreter; figures are medians (default 5)",
        timeout_help="kill a run that takes longer (default 300)")
    runs.add_argument("-o", "--output", metavar="FILE.json", help="save the trial as JSON")
    runs.add_argument("--from", dest="source", metavar="FILE.json",
                      help="render a trial saved with -o instead of running one")
    runs.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_entry_option(runs)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json (the whole trial)")
    output.add_argument("--top", type=int, default=25, metavar="N",
                        help="text: rows per list (default 25)")
    output.add_argument("--all", action="store_true",
                        help="text: every row, standard-library modules too")
    from ..errors import BadInput

    try:
        options, target = split_target(parser, args)
    except BadInput:  # no target: only right with --from or --entry
        namespace, target = parser.parse_args(args), None
        if not namespace.source and namespace.entry is None:
            raise
    else:
        namespace = parser.parse_args(options)
        if namespace.source:
            raise BadInput("--from renders a saved trial: give it without a target")
        if namespace.entry is not None:
            raise BadInput("give a target or --entry NAME, not both")
    cwd = env = None
    if namespace.entry is not None:
        if namespace.source:
            raise BadInput("--from renders a saved trial: give it without --entry")
        target, cwd, env, namespace.python = configured_target(namespace.entry,
                                                               namespace.python)
    check_running_options(namespace)
    check_number("--top", namespace.top, low=1)
    if namespace.output:
        from ..measure.io import check_writable

        check_writable(namespace.output)
    if target is None:
        from ..trial import load_trial

        report = load_trial(namespace.source)
    else:
        import shlex

        from .._progress import Progress
        from ..trial import run_trial

        with Progress(f"lazy trial of {shlex.join(target.describe())}",
                      enabled=not namespace.quiet and namespace.format == "text") as progress:
            report = run_trial(target, python=namespace.python, runs=namespace.runs,
                               timeout=namespace.timeout, progress=progress, cwd=cwd, env=env)
    if namespace.output:
        from ..measure.io import write_atomic

        write_atomic(namespace.output, report.to_json())
    if namespace.format == "json":
        sys.stdout.write(report.to_json())
    else:
        import os

        from ..render.trial import render_trial

        sys.stdout.write(render_trial(report, top=namespace.top, every=namespace.all,
                                      root=os.getcwd()))
    return 0
