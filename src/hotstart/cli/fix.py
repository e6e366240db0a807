"""`hotstart fix`: rewrite imports from the audit, verified by the project's tests."""

import sys

from ._audit_options import add_audit_options, check_audit_options, run_audit
from ._common import MAX_SECONDS, check_number, make_parser

#: The default --select (hotstart.fix.plan.SELECTABLE, spelled here: `--help` stays light).
_SELECT = "dead,deferrable,typing-only,hot-calls,cli"


def run(args: list[str]) -> int:
    parser = make_parser("fix", "Rewrite a project's imports from its audit with libcst (the "
                         "tools extra: pip install 'hotstart[tools]'), keeping "
                         "comments and formatting: deferrable imports move into the functions "
                         "that use them (or become `lazy import` on 3.15+, or go in "
                         "__lazy_modules__), typing-only ones go under `if TYPE_CHECKING:` with a "
                         "runtime alias, package re-exports become a lazy __getattr__ plus a .pyi "
                         "stub, dead ones are removed. With --entry or --profile only changes "
                         "that save start-up time on an entrypoint are made.")
    add_audit_options(parser)
    choose = parser.add_argument_group("what to change")
    choose.add_argument("--select", default=_SELECT, metavar="CLASSES",
                        help=f"comma-separated classes to fix (default {_SELECT}): import "
                             f"classes, hot-calls (caller-name helpers called at import) and "
                             f"cli (eager CLI subcommand registrations)")
    choose.add_argument("--plan", choices=("joint", "sites"), default="joint",
                        help="with measured entries: joint (default) groups the import "
                             "changes by what leaves the path together (a library imported "
                             "at three sites leaves only when all three go) and keeps or "
                             "reverts a group whole; sites takes each site on its own saving")
    choose.add_argument("--defer", choices=("auto", "local", "lazy", "lazy-modules"),
                        default="auto", help="how to defer: local (move into functions; "
                        "the default before 3.15), lazy (`lazy import`, 3.15+), lazy-modules "
                        "(__lazy_modules__: lazy on 3.15+; before, lazy only with --runtime "
                        "hotstart, which adds hotstart.lazy.enable(), else no saving is "
                        "claimed)")
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
    parser.add_argument("--no-remeasure", action="store_false", dest="remeasure",
                        help="with --write and measured entries: do not profile the entries "
                             "again on the written code (by default each group's predicted "
                             "modules are checked, and a group that measured nothing is "
                             "reverted)")
    namespace = parser.parse_args(args)
    from ..errors import require_extra

    require_extra("libcst", "hotstart fix", "tools")  # before the audit, which may run the entries
    check_audit_options(namespace)
    select = tuple(s.strip() for s in namespace.select.split(",") if s.strip())
    from ..errors import BadInput
    from ..fix.plan import SELECTABLE

    unknown = [s for s in select if s not in SELECTABLE]
    if unknown:  # as fix() says it, but before the audit, which may run the entries
        raise BadInput(f"--select {','.join(unknown)}: choose from {', '.join(SELECTABLE)}")
    if not select:
        raise BadInput(f"--select {namespace.select!r}: give one or more of "
                       f"{', '.join(SELECTABLE)} (comma-separated)")
    if namespace.verify is not None and not namespace.verify.strip():
        raise BadInput(f"--verify {namespace.verify!r}: give the command that runs the "
                       f"project's tests, e.g. --verify 'python -m pytest -x -q'")
    check_number("--verify-timeout", namespace.verify_timeout, above=0, high=MAX_SECONDS,
                 unit="seconds")
    report = run_audit(namespace)
    from .._progress import Progress
    from ..fix import fix

    with Progress("hotstart fix", enabled=not namespace.quiet) as progress:
        result = fix(namespace.target, select=select, target_version=namespace.target_version,
                     defer=namespace.defer, runtime=namespace.runtime,
                     min_saving_ms=namespace.min_saving, include_all=namespace.include_all,
                     write=namespace.write, verify=namespace.verify,
                     verify_timeout=namespace.verify_timeout, report=report,
                     plan=namespace.plan, remeasure=namespace.remeasure,
                     python=namespace.python, runs=namespace.runs,
                     trial=namespace.trial,
                     progress=lambda message: progress(message, 0, 0))
    from ..render.fix import render_fix

    if not namespace.write:
        sys.stdout.write(result.diff())
    sys.stdout.write(render_fix(result))
    return 0
