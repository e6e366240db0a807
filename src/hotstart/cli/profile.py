"""`hotstart profile`: run a target in fresh interpreters and report where start-up goes."""

import sys

from ._common import (
    TARGET_HELP,
    add_entry_option,
    add_render_options,
    add_running_options,
    check_render_options,
    check_running_options,
    configured_target,
    make_parser,
    render_profile,
    split_entry_or_target,
)


def run(args: list[str]) -> int:
    parser = make_parser("profile", "Run a target in fresh interpreters and report, per module, "
                         "where start-up time and memory went, who imported it, and which calls "
                         "burned time during import.",
                         usage="hotstart profile [options] (-c CODE | -m MODULE | SCRIPT | "
                               "-- COMMAND) [ARGS ...]\n       hotstart profile --entry "
                               "NAME [options]",
                         epilog=TARGET_HELP)
    runs = add_running_options(
        parser, runs_help="timed runs; figures are medians with min/max (default 5)",
        warmup_help="extra untimed runs before the timed ones (default 0); the profiling "
                    "run (hot calls) and the memory run always come first",
        timeout_help="kill a run that takes longer and report where it was (default 300)")
    runs.add_argument("--no-calls", action="store_true",
                      help="skip the profiling run (no hot calls, no --why beyond the first chain)")
    runs.add_argument("--engine", choices=("tracer", "importtime"), default="tracer",
                      help="tracer (default): in-process hooks with memory, sites and hot calls; "
                           "importtime: parse -X importtime output only")
    runs.add_argument("--cross-check", action="store_true",
                      help="also run the target under -X importtime and report how well the "
                           "tracer's self times agree")
    runs.add_argument("-o", "--output", metavar="FILE.json",
                      help="save the profile as JSON (also when the target fails)")
    runs.add_argument("--trial", action="store_true",
                      help="after the profile, run the entry with every import lazy (see "
                           "'hotstart trial'): the bound a perfect cut of this path reaches, "
                           "and the biggest modules it imports and never uses")
    runs.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_entry_option(runs)
    add_render_options(parser)
    options, target = split_entry_or_target(parser, args)
    namespace = parser.parse_args(options)
    cwd = env = None
    if namespace.entry is not None:
        if target is not None:
            from ..errors import BadInput

            raise BadInput("give a target or --entry NAME, not both")
        target, cwd, env, namespace.python = configured_target(namespace.entry,
                                                               namespace.python)
    check_render_options(namespace)
    check_running_options(namespace)
    if namespace.trial and (namespace.format == "json" or namespace.why):
        from ..errors import BadInput

        raise BadInput("--trial prints a text section after the profile; for the trial as "
                       "JSON run 'hotstart trial --format json'")

    import shlex

    from .._progress import Progress
    from ..measure.io import check_writable, save_profile
    from ..measure.runner import failure_message, profile

    if namespace.output:
        check_writable(namespace.output)
        import os

        if target.kind == "script" and os.path.isfile(namespace.output) \
                and os.path.exists(target.value) \
                and os.path.samefile(namespace.output, target.value):
            from ..errors import BadInput

            raise BadInput(f"-o {namespace.output!r} is the script being profiled; give "
                           f"another file, e.g. profile.json")
    with Progress(f"profiling {shlex.join(target.describe())}",
                  enabled=not namespace.quiet and namespace.format != "json") as progress:
        result = profile(target, runs=namespace.runs, warmup=namespace.warmup,
                         timeout=namespace.timeout, python=namespace.python,
                         calls=not namespace.no_calls, engine=namespace.engine,
                         cross_check=namespace.cross_check, progress=progress, cwd=cwd,
                         env=env)
    if namespace.output:
        save_profile(result, namespace.output)
    if result.processes:
        sys.stdout.write(render_profile(result, namespace))
    failure = failure_message(result, namespace.timeout)
    if failure:
        from .._text import printable

        sys.stderr.write(f"hotstart: error: {printable(failure)}\n")  # the target's own words
        return 1
    if not result.processes:
        failed = [note for note in result.notes if note.startswith("tracer not installed")]
        why = f": {failed[0]}" if failed else (" (a Python run with -I ignores PYTHONPATH and "
                                               "PYTHONPROFILEIMPORTTIME)")
        sys.stderr.write(f"hotstart: error: the target started no Python process that could "
                         f"be traced{why}\n")
        return 1
    if namespace.trial:
        import os

        from ..render.trial import render_trial_summary
        from ..trial import run_trial

        with Progress(f"lazy trial of {shlex.join(target.describe())}",
                      enabled=not namespace.quiet) as progress:
            trial = run_trial(target, python=namespace.python, runs=namespace.runs,
                              timeout=namespace.timeout, progress=progress, profile=result,
                              cwd=cwd, env=env)
        sys.stdout.write(render_trial_summary(trial, root=os.getcwd()))
    return 0
