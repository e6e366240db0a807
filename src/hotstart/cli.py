"""hotstart's command line.

`hotstart --help` prints a fixed text and imports nothing: the CLI must start about as fast
as a bare interpreter. Each subcommand builds its argparse parser and imports the modules it
needs only once it has been chosen.
"""

import sys

HELP = """\
usage: hotstart <command> [options]

Make Python processes and workers start fast and lean.

commands:
  profile   run a target in fresh interpreters; show where start-up time and memory go
  show      render a saved profile again (tree, table, JSON, --why)
  diff      compare two saved profiles
  index     list a package's registrations, found in its source without importing it
  preload   the modules a job spec needs preloaded, and which spec entries need them
  audit     classify every import site (dead, side-effect, deferrable, typing-only,
            needed), find import-time hot spots, measure what each fix saves
  fix       rewrite imports from the audit (move, lazy, TYPE_CHECKING, lazy re-exports,
            remove dead), show a diff or write it, verify with the project's tests

options:
  -h, --help  show this help and exit
  --version   show hotstart's version and exit

Run 'hotstart <command> --help' for the options of a command.
"""

_TARGET_HELP = """\
target (one of, after the options; everything after it goes to the target):
  -c CODE [ARGS]       python -c CODE
  -m MODULE [ARGS]     python -m MODULE
  SCRIPT [ARGS]        python SCRIPT
  -- COMMAND [ARGS]    any command that starts Python (console scripts, shell scripts);
                       every Python process it starts is traced and reported
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return 0
    if args[0] == "--version":
        from . import __version__

        sys.stdout.write(f"hotstart {__version__}\n")
        return 0
    command = _COMMANDS.get(args[0])
    if command is None:
        sys.stderr.write(f"hotstart: error: unknown command {args[0]!r}; "
                         f"commands: {', '.join(_COMMANDS)} (see 'hotstart --help')\n")
        return 2
    from .errors import HotstartError

    try:
        return command(args[1:])
    except HotstartError as exc:
        sys.stderr.write(f"hotstart: error: {exc}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("hotstart: interrupted\n")
        return 130
    except BrokenPipeError:  # `hotstart ... | head`
        return 0


# -- profile ---------------------------------------------------------------------------------

def _profile(args: list[str]) -> int:
    parser = _parser("profile", "Run a target in fresh interpreters and report, per module, "
                     "where start-up time and memory went, who imported it, and which calls "
                     "burned time during import.",
                     usage="hotstart profile [options] (-c CODE | -m MODULE | SCRIPT | "
                           "-- COMMAND) [ARGS ...]",
                     epilog=_TARGET_HELP)
    runs = parser.add_argument_group("running")
    runs.add_argument("-n", "--runs", type=int, default=5, metavar="N",
                      help="timed runs; figures are medians with min/max (default 5)")
    runs.add_argument("--warmup", type=int, default=0, metavar="N",
                      help="extra untimed runs before the timed ones (default 0); the "
                           "profiling run (hot calls) and the memory run always come first")
    runs.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                      help="kill a run that takes longer and report where it was (default 300)")
    runs.add_argument("--python", metavar="PATH",
                      help="interpreter for -c, -m and SCRIPT (default: the one running hotstart)")
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
    runs.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    _add_render_options(parser)
    options, target = _split_target(parser, args)
    namespace = parser.parse_args(options)

    import shlex

    from ._progress import Progress
    from .measure.io import check_writable, save_profile
    from .measure.runner import failure_message, profile

    if namespace.output:
        check_writable(namespace.output)
    with Progress(f"profiling {shlex.join(target.describe())}",
                  enabled=not namespace.quiet and namespace.format != "json") as progress:
        result = profile(target, runs=namespace.runs, warmup=namespace.warmup,
                         timeout=namespace.timeout, python=namespace.python,
                         calls=not namespace.no_calls, engine=namespace.engine,
                         cross_check=namespace.cross_check, progress=progress)
    if namespace.output:
        save_profile(result, namespace.output)
    if result.processes:
        sys.stdout.write(_render(result, namespace))
    failure = failure_message(result, namespace.timeout)
    if failure:
        sys.stderr.write(f"hotstart: error: {failure}\n")
        return 1
    if not result.processes:
        sys.stderr.write("hotstart: error: the target started no Python process that could be "
                         "traced (a Python run with -I ignores PYTHONPATH and "
                         "PYTHONPROFILEIMPORTTIME)\n")
        return 1
    return 0


def _split_target(parser, args: list[str]):
    """Split `[options] TARGET [target args]`: the target ends hotstart's options."""
    from .errors import BadInput
    from .measure.runner import Target

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


# -- show and diff ---------------------------------------------------------------------------

def _show(args: list[str]) -> int:
    parser = _parser("show", "Render a profile saved with 'hotstart profile -o'.")
    parser.add_argument("profile", metavar="PROFILE.json")
    _add_render_options(parser)
    namespace = parser.parse_args(args)
    from .measure.io import load_profile

    result = load_profile(namespace.profile)
    if not result.processes:
        from .errors import BadInput

        raise BadInput(f"{namespace.profile}: the profile has no traced process")
    sys.stdout.write(_render(result, namespace))
    return 0


def _diff(args: list[str]) -> int:
    parser = _parser("diff", "Compare two saved profiles: modules added and removed, and the "
                     "biggest changes in time and memory.")
    parser.add_argument("before", metavar="BEFORE.json")
    parser.add_argument("after", metavar="AFTER.json")
    parser.add_argument("--top", type=int, default=15, metavar="N",
                        help="rows per section (default 15)")
    parser.add_argument("--threshold", type=float, default=0.1, metavar="MS",
                        help="hide changes smaller than this (default 0.1 ms)")
    namespace = parser.parse_args(args)
    from .measure.diff import diff_profiles
    from .measure.io import load_profile
    from .render.diff import render_diff
    from .errors import BadInput

    before, after = load_profile(namespace.before), load_profile(namespace.after)
    for path, loaded in ((namespace.before, before), (namespace.after, after)):
        if not loaded.processes:
            raise BadInput(f"{path}: the profile has no traced process")
    sys.stdout.write(render_diff(diff_profiles(before, after), top=namespace.top,
                                 threshold_ms=namespace.threshold))
    return 0


# -- index and preload -------------------------------------------------------------------------

def _index(args: list[str]) -> int:
    parser = _parser("index", "Scan a package's source, without importing it, for registration "
                     "sites (@register(\"name\") and register(\"name\")(obj)); print each name, "
                     "the module that registers it, and what cannot be seen statically.")
    parser.add_argument("target", metavar="PACKAGE_OR_PATH",
                        help="an importable top-level package name, a package directory, a "
                             "source root or a .py file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    _add_matcher_options(parser)
    namespace = parser.parse_args(args)
    index = _build_index(namespace.target, namespace)
    if namespace.json:
        import json

        sys.stdout.write(json.dumps(index.to_dict(), indent=1) + "\n")
    else:
        from .render.registry import render_index

        sys.stdout.write(render_index(index, namespace.target))
    return 0


def _preload(args: list[str]) -> int:
    parser = _parser("preload", "Read a job spec (JSON, YAML, TOML or CUE) and print the minimal "
                     "list of modules to preload for it, the spec entries that need each, and "
                     "the type names nothing registers.")
    parser.add_argument("spec", metavar="SPEC")
    parser.add_argument("--package", required=True, metavar="PACKAGE_OR_PATH", action="append",
                        help="where the registrations are (repeatable)")
    parser.add_argument("--type-key", default="@type", metavar="KEY",
                        help="the key that names an object's type (default @type)")
    parser.add_argument("--always", action="append", default=[], metavar="MODULE",
                        help="a module every worker needs (repeatable; listed first)")
    parser.add_argument("--alias", action="append", default=[], metavar="NAME=MODULE",
                        help="a library alias used inside expression strings, e.g. np=numpy "
                             "(repeatable)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    _add_matcher_options(parser)
    namespace = parser.parse_args(args)
    from .errors import BadInput
    from .registry.spec import AliasTable, SpecError, compute_preload, load_spec

    aliases = {}
    for item in namespace.alias:
        name, sep, module = item.partition("=")
        if not sep:
            raise BadInput(f"--alias {item!r}: expected NAME=MODULE, e.g. np=numpy")
        aliases[name.strip()] = module.strip()
    try:
        spec = load_spec(namespace.spec)
        table = AliasTable(aliases) if aliases else None
    except (SpecError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    index = _build_index(namespace.package, namespace)
    result = compute_preload(spec, index, type_key=namespace.type_key, always=namespace.always,
                             hints=[table] if table else [])
    packages = ", ".join(namespace.package)
    if namespace.json:
        import json

        sys.stdout.write(json.dumps({"spec": namespace.spec, "packages": namespace.package,
                                     **result.to_dict()}, indent=1) + "\n")
    else:
        from .render.registry import render_preload

        sys.stdout.write(render_preload(result, namespace.spec, packages))
    if result.unknown:
        first = result.unknown[0]
        hint = result.hint(first.name)
        more = f" and {len(result.unknown) - 1} more" if len(result.unknown) > 1 else ""
        sys.stderr.write(f"hotstart: error: unknown type {first.name!r} at {first.path} in "
                         f"{namespace.spec}{hint}{more}\n")
        return 1
    return 0


def _add_matcher_options(parser) -> None:
    group = parser.add_argument_group("what counts as a registration")
    group.add_argument("--callable", action="append", dest="callables", metavar="NAME",
                       help="a registering callable: 'register' matches register(...) and "
                            "x.register(...), 'reg.register' only that (repeatable; default "
                            "register)")
    group.add_argument("--key", default="0", metavar="POSITION|KEYWORD",
                       help="where the name is: a positional index or a keyword (default 0)")
    group.add_argument("--keep", action="append", default=[], metavar="KEYWORD",
                       help="keyword arguments to keep as metadata (repeatable)")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the "
                       "index cache")


def _build_index(targets, namespace):
    import os

    from .errors import BadInput
    from .registry.index import Index, Matcher

    targets = [targets] if isinstance(targets, str) else list(targets)
    for target in targets:
        if not os.path.exists(target):
            import importlib.util

            if not target.isidentifier() or importlib.util.find_spec(target) is None:
                raise BadInput(f"{target!r} is neither a file, a directory nor an importable "
                               f"top-level package")
    key = int(namespace.key) if namespace.key.isdigit() else namespace.key
    matcher = Matcher(callables=tuple(namespace.callables or ("register",)), key=key,
                      keep=tuple(namespace.keep))
    return Index.build(targets, matcher, cache=not namespace.no_cache)


# -- audit and fix ---------------------------------------------------------------------------

def _add_audit_options(parser) -> None:
    parser.add_argument("target", metavar="PATH_OR_PACKAGE",
                        help="a package directory, a project directory (src/ and tests/), a "
                             ".py file, or an importable package name")
    measure = parser.add_argument_group("measuring")
    measure.add_argument("--entry", action="append", default=[], metavar="TARGET",
                         help="an entrypoint to reach and measure: '-m pkg.cli ARGS', "
                              "'-c CODE', 'script.py ARGS' or a module name (repeatable; quote "
                              "it)")
    measure.add_argument("--profile", action="append", default=[], metavar="FILE.json",
                         help="a saved 'hotstart profile -o' file to take savings from "
                              "(repeatable)")
    measure.add_argument("--static", action="store_true",
                         help="do not run the entries: reach and chains only, no savings")
    measure.add_argument("--runs", type=int, default=3, metavar="N",
                         help="timed runs per entry (default 3)")
    measure.add_argument("--python", metavar="PATH", help="interpreter for the entries")
    parser.add_argument("--tests", action="append", default=[], metavar="DIR",
                        help="test files to read for patch('mod.Name') (a project's tests/ "
                             "is read without it)")
    parser.add_argument("--target-version", default="3.11", metavar="3.N[..3.M]",
                        help="the oldest (and newest) Python the code runs on: 3.14+ reads "
                             "annotations lazily; 3.15+ has `lazy import` (default 3.11)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def _run_audit(namespace):
    from ._progress import Progress
    from .audit import audit

    with Progress(f"auditing {namespace.target}", enabled=not namespace.quiet and getattr(
            namespace, "format", "text") == "text") as progress:
        return audit(namespace.target, entries=namespace.entry, profiles=namespace.profile,
                     tests=namespace.tests, target_version=namespace.target_version,
                     run=not namespace.static, runs=namespace.runs, python=namespace.python,
                     progress=lambda message: progress(message, 0, 1))


def _audit(args: list[str]) -> int:
    parser = _parser("audit", "Classify every module-level import site of a project as dead, "
                     "side-effect, deferrable, typing-only or needed (and what pins it), show "
                     "which libraries each entrypoint reaches and through which chain, find "
                     "import-time hot spots, and, with --entry or --profile, how many ms and "
                     "MB each site costs on each entrypoint. Imports nothing of the project.")
    _add_audit_options(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("text", "json", "sarif", "markdown"),
                        default="text", help="text (default), json, sarif (code scanning), "
                        "markdown (a PR comment)")
    output.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE")
    output.add_argument("--min-saving", type=float, default=0.0, metavar="MS",
                        help="text: fold sites saving less than this (measured reports)")
    output.add_argument("--hide-needed", action="store_true", help="text: omit needed sites")
    namespace = parser.parse_args(args)
    report = _run_audit(namespace)
    if namespace.format == "json":
        import json

        text = json.dumps(report.to_dict(), indent=1) + "\n"
    elif namespace.format == "sarif":
        from .render.sarif import render_sarif

        text = render_sarif(report)
    elif namespace.format == "markdown":
        from .render.audit_markdown import render_audit_markdown

        text = render_audit_markdown(report)
    else:
        from .render.audit import render_audit

        text = render_audit(report, min_saving_ms=namespace.min_saving,
                            show_needed=not namespace.hide_needed)
    if namespace.output:
        from .measure.io import write_atomic

        write_atomic(namespace.output, text)
    else:
        sys.stdout.write(text)
    return 0


def _fix(args: list[str]) -> int:
    parser = _parser("fix", "Rewrite a project's imports from its audit with libcst, keeping "
                     "comments and formatting: deferrable imports move into the functions "
                     "that use them (or become `lazy import` on 3.15+, or go in "
                     "__lazy_modules__), typing-only ones go under `if TYPE_CHECKING:` with a "
                     "runtime alias, package re-exports become a lazy __getattr__ plus a .pyi "
                     "stub, dead ones are removed. With --entry or --profile only changes "
                     "that save start-up time on an entrypoint are made.")
    _add_audit_options(parser)
    choose = parser.add_argument_group("what to change")
    choose.add_argument("--select", default="dead,deferrable,typing-only", metavar="CLASSES",
                        help="comma-separated classes to fix (default "
                             "dead,deferrable,typing-only)")
    choose.add_argument("--defer", choices=("auto", "local", "lazy", "lazy-modules"),
                        default="auto", help="how to defer: local (move into functions; "
                        "the default before 3.15), lazy (`lazy import`, 3.15+), lazy-modules "
                        "(__lazy_modules__: lazy on 3.15+, eager before)")
    choose.add_argument("--runtime", choices=("auto", "hotstart", "stdlib"), default="auto",
                        help="generated code may import hotstart.lazy, or only the standard "
                             "library (auto: hotstart if the project imports it)")
    choose.add_argument("--min-saving", type=float, default=None, metavar="MS",
                        help="with measured entries: skip changes saving less (default: any "
                             "module dropped)")
    choose.add_argument("--all", action="store_true", dest="include_all",
                        help="also changes that save nothing measurable (standard library, "
                             "or nothing dropped on the entries)")
    mode = parser.add_argument_group("output").add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true", help="print a unified diff (default)")
    mode.add_argument("--write", action="store_true", help="rewrite the files")
    parser.add_argument("--verify", metavar="COMMAND",
                        help="run COMMAND (the project's tests) on the rewritten code; if it "
                             "fails, bisect to the changes that break it, revert those and "
                             "report them (without --write, files are restored afterwards)")
    parser.add_argument("--verify-timeout", type=float, default=None, metavar="SECONDS",
                        help="limit for one run of the verify command")
    namespace = parser.parse_args(args)
    select = tuple(s.strip() for s in namespace.select.split(",") if s.strip())
    report = _run_audit(namespace)
    from .fix import fix

    result = fix(namespace.target, select=select, target_version=namespace.target_version,
                 defer=namespace.defer, runtime=namespace.runtime,
                 min_saving_ms=namespace.min_saving, include_all=namespace.include_all,
                 write=namespace.write, verify=namespace.verify,
                 verify_timeout=namespace.verify_timeout, report=report)
    from .render.fix import render_fix

    if not namespace.write:
        sys.stdout.write(result.diff())
    sys.stdout.write(render_fix(result))
    return 0


# -- shared ----------------------------------------------------------------------------------

def _parser(command: str, description: str, **kwargs):
    import argparse
    import textwrap

    # Raw, so that epilogs keep their layout; the description is one paragraph to fill.
    return argparse.ArgumentParser(prog=f"hotstart {command}",
                                   description=textwrap.fill(description, 88),
                                   formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)


def _add_render_options(parser) -> None:
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
                       help="print every chain of imports that loads MODULE (repeatable)")
    group.add_argument("--process", type=int, default=0, metavar="N",
                       help="which traced process to show, as numbered in the summary "
                            "(default 0, the first)")


def _render(result, namespace) -> str:
    from .errors import BadInput

    if not 0 <= namespace.process < len(result.processes):
        raise BadInput(f"--process {namespace.process}: the profile has "
                       f"{len(result.processes)} process(es), numbered from 0")
    if namespace.why:
        from .render.why import render_why

        return "\n".join(render_why(result, name, process=namespace.process)
                         for name in namespace.why)
    if namespace.format == "json":
        from .render.json import render_json

        return render_json(result)
    if namespace.format == "table":
        from .render.table import render_table

        return render_table(result, process=namespace.process, top=namespace.top,
                            sort=namespace.sort or "self")
    from .render.tree import render_tree

    return render_tree(result, process=namespace.process, threshold_ms=namespace.threshold,
                       sort=namespace.sort or "order", depth=namespace.depth)


_COMMANDS = {"profile": _profile, "show": _show, "diff": _diff, "index": _index,
             "audit": _audit, "fix": _fix,
             "preload": _preload}
