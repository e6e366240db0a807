"""What several subcommands share: parser construction, the target split, profile
rendering options."""


TARGET_HELP = """\
target (one of, after the options; everything after it goes to the target):
  -c CODE [ARGS]       python -c CODE
  -m MODULE [ARGS]     python -m MODULE
  SCRIPT [ARGS]        python SCRIPT
  -- COMMAND [ARGS]    any command that starts Python (console scripts, shell scripts);
                       every Python process it starts is traced and reported
"""


def make_parser(command: str, description: str, **kwargs):
    import argparse
    import textwrap

    # Raw, so that epilogs keep their layout; the description is one paragraph to fill.
    return argparse.ArgumentParser(prog=f"hotstart {command}",
                                   description=textwrap.fill(description, 88),
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


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

        if namespace.why_limit < 1:
            raise BadInput(f"--why-limit {namespace.why_limit}: give 1 or more (the first "
                           f"chain is always shown), or use --why-all")
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
