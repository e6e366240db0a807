"""Options shared by `audit` and `fix`, and running the audit they both start from."""

from ._common import FRESH, MAX_RUNS, check_number


def add_audit_options(parser) -> None:
    parser.add_argument("target", metavar="PATH_OR_PACKAGE",
                        help="a package directory, a project directory (src/ and tests/), a "
                             ".py file, or an importable package name")
    measure = parser.add_argument_group("measuring")
    measure.add_argument("--entry", action="append", default=[], metavar="TARGET",
                         help="an entrypoint to reach and measure, run in the project's "
                              "directory: '-m pkg.cli ARGS', '-c CODE', 'script.py ARGS' (a path "
                              "relative to the project), '-- COMMAND ARGS' (a console script or "
                              "any command), a module name, or the name of an entry of the "
                              "project's [tool.hotstart] (repeatable; quote it). One that "
                              "cannot be measured is an error (or pass --static)")
    measure.add_argument("--profile", action="append", default=[], metavar="FILE.json",
                         help="a saved 'hotstart profile -o' file to take savings from "
                              "(repeatable)")
    measure.add_argument("--static", action="store_true",
                         help="do not run the entries: reach and chains only, no savings")
    measure.add_argument("--runs", type=int, default=3, metavar="N",
                         help="timed runs per entry (default 3)")
    measure.add_argument("--python", metavar="PATH", help="interpreter for the entries")
    measure.add_argument("--trial", action="store_true",
                         help="also run each --entry with every import lazy (see 'hotstart "
                              "trial'): each site on its path says whether the path used its "
                              "module, and an import kept as side-effect or needed that the "
                              "path never touched is reported as a candidate (never changed)")
    measure.add_argument("--trial-from", action="append", default=[], metavar="FILE.json",
                         dest="trial_file",
                         help="a saved 'hotstart trial -o' file to take that evidence from "
                              "(repeatable)")
    parser.add_argument("--tests", action="append", default=[], metavar="DIR",
                        help="test files to read for patch('mod.Name') (a project's tests/ "
                             "is read without it)")
    parser.add_argument("--target-version", default="3.11", metavar="3.N[..3.M]",
                        help="the oldest (and newest) Python the code runs on: 3.14+ reads "
                             "annotations lazily; 3.15+ has `lazy import` (default 3.11)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress output")


def check_audit_options(namespace) -> None:
    """The values `audit` and `fix` share, before any work is done. An `--entry` that names
    an entry of the project's [tool.hotstart] configuration becomes its command."""
    if namespace.entry:
        import os

        from ..check.config import resolve_entry

        start = namespace.target if os.path.isdir(namespace.target) else "."
        namespace.entry = [resolve_entry(text, start) for text in namespace.entry]
    check_number("--runs", namespace.runs, low=1, high=MAX_RUNS, why=FRESH)
    check_number("--min-saving", namespace.min_saving, unit="ms")
    if namespace.trial and namespace.static:
        from ..errors import BadInput

        raise BadInput("--trial runs the entries; drop --static, or give a saved trial with "
                       "--trial-from FILE.json")
    if namespace.trial and not namespace.entry:
        from ..errors import BadInput

        raise BadInput("--trial needs an entry to run: add --entry '-m pkg.cli ARGS' (or give "
                       "a saved trial with --trial-from FILE.json)")


def run_audit(namespace):
    from .._progress import Progress
    from ..audit import audit

    saved_trials = []
    if namespace.trial_file:  # read before the audit, which may run entries for minutes
        from ..trial import load_trial

        saved_trials = [load_trial(path) for path in namespace.trial_file]

    with Progress(f"auditing {namespace.target}", enabled=not namespace.quiet and getattr(
            namespace, "format", "text") == "text") as progress:
        report = audit(namespace.target, entries=namespace.entry, profiles=namespace.profile,
                       tests=namespace.tests, target_version=namespace.target_version,
                       run=not namespace.static, runs=namespace.runs, python=namespace.python,
                       progress=lambda message: progress(message, 0, 1), trial=namespace.trial)
    if saved_trials:
        from ..audit._evidence import apply_trial, entry_of_trial

        for trial in saved_trials:
            apply_trial(report, entry_of_trial(report, trial), trial)
    if not hasattr(namespace, "format"):  # `fix` does not print the report: say what it skipped
        import sys

        from .._text import printable

        for error in report.errors:  # file names may hold terminal escapes: show them escaped
            sys.stderr.write(f"hotstart: warning: {printable(error)}\n")
    return report
