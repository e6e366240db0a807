"""What several subcommands share: parser construction, the target split, the running
options (runs, timeout, interpreter), profile rendering options."""


import sys

TARGET_HELP = """\
target (one of, after the options; everything after it goes to the target):
  -c CODE [ARGS]       python -c CODE
  -m MODULE [ARGS]     python -m MODULE
  SCRIPT [ARGS]        python SCRIPT
  -- COMMAND [ARGS]    any command that starts Python (console scripts, shell scripts);
                       every Python process it starts is traced and reported
"""

#: More runs than this is a mistake, not a measurement.
MAX_RUNS = 1000
FRESH = " (each run starts a fresh interpreter)"
#: Longer limits overflow the clocks and selectors that enforce them (11.6 days).
MAX_SECONDS = 1_000_000


def make_parser(command: str, description: str, **kwargs):
    import argparse
    import textwrap

    from ..errors import BadInput

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line `hotstart: error: ...`, not usage + error
            raise BadInput(f"{message}; see 'hotstart {command} --help'")

    # Raw, so that epilogs keep their layout; the description is one paragraph to fill.
    return Parser(prog=f"hotstart {command}", description=textwrap.fill(description, 88),
                  formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def add_running_options(parser, *, runs_help: str, timeout_help: str,
                        warmup_help: str | None = None):
    """The "running" group `profile` and `trial` share: `-n/--runs` (default 5),
    `--warmup` (untimed runs, default 0; only with `warmup_help`), `--timeout` (seconds,
    default 300) and `--python`, with each command's own words for what a run is; returns
    the group for the command's other options. Check the values with
    `check_running_options`."""
    group = parser.add_argument_group("running")
    group.add_argument("-n", "--runs", type=int, default=5, metavar="N", help=runs_help)
    if warmup_help is not None:
        group.add_argument("--warmup", type=int, default=0, metavar="N", help=warmup_help)
    group.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                       help=timeout_help)
    group.add_argument("--python", metavar="PATH",
                       help="interpreter for -c, -m and SCRIPT (default: the one running "
                            "hotstart)")
    return group


def check_running_options(namespace) -> None:
    """The values of `add_running_options`, before anything runs."""
    check_number("--runs", namespace.runs, low=1, high=MAX_RUNS, why=FRESH)
    check_number("--warmup", getattr(namespace, "warmup", None), low=0, high=MAX_RUNS,
                 why=FRESH)
    check_number("--timeout", namespace.timeout, above=0, high=MAX_SECONDS, unit="seconds")


def check_number(option: str, value: float | None, *, low: float | None = None,
                 high: float | None = None, above: float | None = None, unit: str = "",
                 why: str = "") -> None:
    """`BadInput` unless an option's number is finite and within bounds (None: not given).

    Checked right after parsing, so that a bad value is refused before any work is done."""
    from ..errors import BadInput

    if value is None:
        return
    import math

    shown = f"{option} {value:g}" if isinstance(value, float) else f"{option} {value}"
    of, unit = (f" of {unit}", f" {unit}") if unit else ("", "")
    if not math.isfinite(value):
        raise BadInput(f"{shown}: give a finite number{of}")
    if above is not None and value <= above:
        raise BadInput(f"{shown}: give a number{of} above {above:,}{why}")
    if low is not None and value < low:
        raise BadInput(f"{shown}: give {low:,}{unit} or more{why}")
    if high is not None and value > high:
        raise BadInput(f"{shown}: give at most {high:,}{unit}{why}")


def check_render_options(namespace) -> None:
    """The values of `add_render_options`, before a profile is run or read."""
    from ..errors import BadInput

    check_number("--threshold", namespace.threshold, unit="ms")
    check_number("--depth", namespace.depth, low=1)
    check_number("--top", namespace.top, low=1)
    check_number("--process", namespace.process, low=0)
    if namespace.why_limit < 1:
        raise BadInput(f"--why-limit {namespace.why_limit}: give 1 or more (the first "
                       f"chain is always shown), or use --why-all")


def add_render_options(parser) -> None:
    group = parser.add_argument_group("output")
    group.add_argument("--format", choices=("tree", "table", "json"), default="tree",
                       help="tree (default): the import tree; table: top modules; json: the "
                            "whole profile")
    group.add_argument("--sort", choices=("order", "self", "cumulative", "memory"),
                       help="tree: order of siblings (default: import order); "
                            "table: ranking (default: self)")
    group.add_argument("--threshold", type=float, default=1.0, metavar="MS",
                       help="tree: fold subtrees below this cumulative time (default 1.0)")
    group.add_argument("--depth", type=int, metavar="N", help="tree: show N levels at most")
    group.add_argument("--top", type=int, default=25, metavar="N",
                       help="table: rows to show (default 25)")
    group.add_argument("--why", action="append", metavar="MODULE", default=[],
                       help="print the chains of imports that load MODULE (repeatable): the "
                            "one that loaded it first, then other real ones, shortest first")
    group.add_argument("--why-limit", type=int, default=3, metavar="N",
                       help="--why: chains to print per module (default 3)")
    group.add_argument("--why-all", action="store_true",
                       help="--why: print every real chain")
    group.add_argument("--process", type=int, default=0, metavar="N",
                       help="which traced process to show, as numbered in the summary "
                            "(default 0, the first)")


def render_profile(result, namespace) -> str:
    from ..errors import BadInput

    if not 0 <= namespace.process < len(result.processes):
        raise BadInput(f"--process {namespace.process}: the profile has "
                       f"{len(result.processes)} process(es), numbered from 0")
    if namespace.why:
        from ..render.why import render_why

        limit = None if namespace.why_all else namespace.why_limit
        return "\n".join(render_why(result, name, process=namespace.process, limit=limit)
                         for name in namespace.why)
    if namespace.format == "json":
        from ..render.json import render_json

        return render_json(result)
    if namespace.format == "table":
        from ..render.table import render_table

        return render_table(result, process=namespace.process, top=namespace.top,
                            sort=namespace.sort or "self")
    from ..render.tree import render_tree

    return render_tree(result, process=namespace.process, threshold_ms=namespace.threshold,
                       sort=namespace.sort or "order", depth=namespace.depth)


def add_config_options(parser, *, path_help: str, entry_help: str, python_help: str) -> None:
    """What `check` and `lock` take to find the configuration and its entries: PATH (the
    project) or --config FILE, --entry NAME (repeatable), --python. Load it with
    `load_configured`."""
    parser.add_argument("path", nargs="?", metavar="PATH", help=path_help)
    parser.add_argument("--config", metavar="FILE", help="read this configuration file")
    parser.add_argument("--entry", action="append", default=[], metavar="NAME", help=entry_help)
    parser.add_argument("--python", metavar="PATH", help=python_help)


def load_configured(namespace):
    """The configuration `add_config_options` named: --config FILE, or the one that applies
    to PATH (default: the current directory)."""
    from ..check import load
    from ..errors import BadInput

    if namespace.config is not None and namespace.path is not None:
        raise BadInput("give the project's PATH or --config FILE, not both")
    return load(namespace.path or ".", path=namespace.config)


def add_entry_option(group) -> None:
    group.add_argument("--entry", metavar="NAME",
                       help="run an entry of the [tool.hotstart] configuration (see 'hotstart "
                            "check --help') instead of a target given here")


def configured_target(name: str, python: str | None):
    """(Target, cwd, env, python) of the configured entry `name` (the configuration that
    applies to the current directory): its command, run in the project's root with its
    `pythonpath`."""
    from ..check import load
    from ..check._engine import entry_target

    config = load(".")
    entry = config.entry(name)
    interpreter = python or config.python
    target = entry_target(entry.run, config.root, interpreter or sys.executable)
    return target, str(config.root), config.environment(), interpreter


def split_entry_or_target(parser, args: list[str]):
    """`split_target`, or no target when the options name a configured `--entry`:
    (options, target or None)."""
    from ..errors import BadInput

    try:
        return split_target(parser, args)
    except BadInput:
        if not any(arg == "--entry" or arg.startswith("--entry=") for arg in args):
            raise
        namespace = parser.parse_args(args)
        if getattr(namespace, "entry", None) is None:
            raise
        return args, None


def split_target(parser, args: list[str]):
    """Split `[options] TARGET [target args]`: the target ends hotstart's options."""
    from ..errors import BadInput
    from ..measure.runner import Target

    takes_value = {s for a in parser._actions if a.nargs != 0 for s in a.option_strings}
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-c", "-m"):
            if index + 1 >= len(args):
                raise BadInput(f"{arg} needs an argument ({'code' if arg == '-c' else 'a module'})")
            kind = "code" if arg == "-c" else "module"
            return args[:index], Target(kind, args[index + 1], tuple(args[index + 2:]))
        if arg == "--":
            if index + 1 >= len(args):
                raise BadInput("no command given after '--'")
            return args[:index], Target("command", args[index + 1], tuple(args[index + 2:]))
        if arg in ("-h", "--help"):
            parser.parse_args([arg])  # prints help and exits
        if arg.startswith("-"):
            index += 2 if (arg in takes_value and "=" not in arg) else 1
            continue
        return args[:index], Target("script", arg, tuple(args[index + 1:]))
    parser.parse_args(args)  # reports unknown options first, if any
    raise BadInput("no target given: use -c CODE, -m MODULE, SCRIPT or -- COMMAND "
                   "(see 'hotstart profile --help')")
