"""`hotstart check`: the start-up guard for CI (forbidden modules, the module-set lock,
budgets judged without flaking). Exit 0 pass, 1 fail, 2 bad input."""

import sys

from ._common import add_config_options, load_configured, make_parser

FORMATS = ("text", "json", "github", "markdown", "junit")

EPILOG = """\
configuration ([tool.hotstart] in pyproject.toml, or hotstart.toml):
  [tool.hotstart]
  pythonpath = ["src"]              # prepended to PYTHONPATH (the baseline's checkout too)
  [tool.hotstart.entries]
  import = "-c 'import pkg'"
  [tool.hotstart.entries.cli-help]
  run = "-m pkg.cli --help"
  forbid = ["torch", "pandas"]      # module globs that must not load
  lock = true                       # module set must match hotstart.lock ('hotstart lock')
  budget-ms = 150                   # start-up above 'python -c pass', judged statistically
  max-modules = 300
  max-rss-mb = 60                   # peak RSS above 'python -c pass'
  max-regression = "5%"             # allowed growth over --baseline
  python-versions = ">=3.11"

verdicts: a budget fails only when its whole confidence interval is above the limit, passes
when the whole interval is at or below it; in between, more rounds run (up to max-rounds),
then it passes with a warning (inconclusive). Exit codes: 0 pass, 1 fail, 2 bad input.
"""


def run(args: list[str]) -> int:
    parser = make_parser(
        "check", "Check each configured entry: forbidden modules (with the chain that loaded "
        "each), the module-set lock (modules added fail, removed ones are reported), module "
        "count, and time and memory budgets judged on rounds interleaved with the bare "
        "interpreter (and with --baseline), with a confidence interval.",
        usage="hotstart check [PATH] [options]", epilog=EPILOG)
    add_config_options(parser, path_help="the project (default: the current directory); its "
                                         "configuration is the nearest pyproject.toml with "
                                         "[tool.hotstart], or hotstart.toml",
                       entry_help="check only this entry (repeat for more)",
                       python_help="the interpreter that runs the entries (default: the "
                                   "configuration's python, else the one running hotstart)")
    parser.add_argument("--baseline", metavar="REF|PROFILE.json",
                        help="compare with the project at a git ref (run interleaved, from "
                             "a temporary checkout) or with a saved 'hotstart profile'")
    parser.add_argument("--no-timing", dest="timing", action="store_false",
                        help="deterministic checks only: forbidden, lock, max-modules (for "
                             "pre-commit)")
    parser.add_argument("--update", action="store_true",
                        help="accept the current module sets into the lock file")
    parser.add_argument("--format", choices=FORMATS, default="text",
                        help="text (default), json, github (workflow annotations), "
                             "markdown (a PR comment), junit (XML)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report to FILE (the summary still goes to stdout)")
    parser.add_argument("--junit-xml", metavar="FILE", help="also write JUnit XML to FILE")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="text: the figures of passing entries too")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    namespace = parser.parse_args(args)

    from .. import check
    from .._files import check_writable, write_atomic

    for path in (namespace.output, namespace.junit_xml):
        if path is not None:
            check_writable(path)
    config = load_configured(namespace)
    progress = None if namespace.quiet or not sys.stderr.isatty() else _progress
    report = check.run_check(config, names=namespace.entry or None,
                             baseline=namespace.baseline, timing=namespace.timing,
                             update=namespace.update, python=namespace.python,
                             progress=progress)
    if progress is not None:
        sys.stderr.write("\r\033[K")
    text = render(report, namespace.format, verbose=namespace.verbose)
    if namespace.output:
        write_atomic(namespace.output, text)
        last = render(report, "text").rstrip().splitlines()[-1:]  # the verdict line
        sys.stdout.write("".join(last) + "\n")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    if namespace.junit_xml:
        write_atomic(namespace.junit_xml, render(report, "junit"))
    return report.exit_code


def render(report, fmt: str, *, verbose: bool = False) -> str:
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), indent=2) + "\n"
    if fmt == "github":
        from ..render.check_github import render_check_github

        return render_check_github(report)
    if fmt == "markdown":
        from ..render.check_markdown import render_check_markdown

        return render_check_markdown(report)
    if fmt == "junit":
        from ..render.check_junit import render_check_junit

        return render_check_junit(report)
    from ..render.check import render_check_text

    return render_check_text(report, verbose=verbose)


def _progress(what: str) -> None:
    from .._text import printable

    sys.stderr.write(f"\r\033[Khotstart check: {printable(what)[:100]}")
    sys.stderr.flush()
