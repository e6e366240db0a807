"""`hotstart report`: a profile as a picture: one self-contained HTML file, or the input of
speedscope, Perfetto / chrome://tracing, or flamegraph.pl / inferno."""

import sys

from ._common import (
    TARGET_HELP,
    add_entry_option,
    add_running_options,
    check_running_options,
    configured_target,
    make_parser,
    split_entry_or_target,
)

FORMATS = ("html", "speedscope", "trace", "folded")

USAGE = """\
hotstart report [options] PROFILE.json [AFTER.json]
       hotstart report [options] (-c CODE | -m MODULE | SCRIPT | -- COMMAND) [ARGS ...]
       hotstart report --entry NAME [options]"""

EPILOG = """\
input: a profile saved with 'hotstart profile -o' (two profiles: the HTML diff view of
BEFORE.json and AFTER.json), or a target, profiled first as 'hotstart profile' would.

formats:
  html        one self-contained page (no network): the import tree as an icicle chart (self,
              cumulative, memory), the module table, every chain that loads a module, the hot
              calls, the audit's classes (--audit) and the diff view (two profiles)
  speedscope  speedscope's file format: import time per process and thread, memory per
              process (open it at speedscope.app or with the speedscope CLI)
  trace       Chrome trace events: one track per process and thread (Perfetto, chrome://tracing)
  folded      folded stacks for flamegraph.pl and inferno, one line per module: self time in
              us, or self RSS in bytes with --metric memory

""" + TARGET_HELP


def run(args: list[str]) -> int:
    parser = make_parser("report", "Draw a profile: an HTML report to open in any browser, or "
                         "the files speedscope, Perfetto and flamegraph.pl read.", usage=USAGE,
                         epilog=EPILOG)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="html",
                        help="html (default), speedscope, trace or folded")
    output.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (default: standard output, but not HTML to a "
                             "terminal)")
    output.add_argument("--audit", metavar="AUDIT.json",
                        help="html: show each import site's class and saving beside its module "
                             "(a report of 'hotstart audit --format json')")
    output.add_argument("--metric", choices=("time", "memory"), default="time",
                        help="folded: the value of each stack, self time in us (default) or "
                             "self RSS in bytes")
    output.add_argument("--title", metavar="TEXT", help="html: the page's title")
    runs = add_running_options(
        parser, runs_help="with a target: timed runs (default 5)",
        timeout_help="with a target: kill a run that takes longer (default 300)")
    runs.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    add_entry_option(runs)
    # Profiles are positional and options may follow them; a target ends the options.
    import argparse  # loaded by make_parser already

    parser.add_argument("profiles", nargs="*", help=argparse.SUPPRESS)
    options, target = split_entry_or_target(parser, args)
    from ..errors import BadInput

    if target is not None and target.kind == "script" and target.value.endswith(".json"):
        namespace, target = parser.parse_args(args), None
    else:
        namespace = parser.parse_args(options)
    check_running_options(namespace)
    files = namespace.profiles
    if len(files) > 2 or any(not path.endswith(".json") for path in files):
        raise BadInput(f"give one profile, or two (BEFORE.json AFTER.json) for the diff view; "
                       f"found {' '.join(files)!r}")
    if namespace.entry is not None and (target is not None or files):
        raise BadInput("give a profile, a target or --entry NAME, not two of them")
    if namespace.format != "html":
        if len(files) > 1:
            raise BadInput(f"--format {namespace.format} draws one profile; the diff of two "
                           f"profiles is a view of the HTML report (--format html)")
        if namespace.audit:
            raise BadInput("--audit adds the audit's findings to the HTML report; use it "
                           "with --format html")
        if namespace.title is not None:
            raise BadInput("--title names the HTML report; use it with --format html")
    if namespace.format != "folded" and namespace.metric != "time":
        raise BadInput("--metric chooses the value of folded stacks; use it with "
                       "--format folded (the HTML report switches metric itself)")
    if namespace.output is None and namespace.format == "html" and sys.stdout.isatty():
        raise BadInput("the HTML report is a file to open in a browser: give -o FILE, e.g. "
                       "-o report.html")
    if namespace.output is not None:  # `-o ''` is a mistake, not standard output
        from .._files import check_writable

        check_writable(namespace.output)
        named = [] if target is None or target.kind in ("code", "module") else [
            target.value, *target.args]  # a script, or the files a command names
        for path, what in [*((path, "profile") for path in files),
                           (namespace.audit, "audit report"),
                           *((path, "target") for path in named)]:
            _refuse_overwriting(namespace.output, path, what)

    audit = _load_audit(namespace.audit) if namespace.audit else None
    if files:
        from ..measure.io import load_profile

        profiles = [load_profile(path) for path in files]
        for path, loaded in zip(files, profiles):
            if not loaded.processes:
                raise BadInput(f"{path}: the profile has no traced process")
    else:
        profiles = [_profile_target(namespace, target)]
    before, after = (profiles[0], profiles[1]) if len(profiles) == 2 else (None, profiles[0])

    text = _render(namespace, after, before=before, audit=audit)
    if namespace.output is not None:
        from .._files import write_atomic
        from .._text import printable
        from ..render._format import size

        write_atomic(namespace.output, text)
        processes = len(after.processes)
        modules = sum(len(p.imported()) for p in after.processes)
        sys.stdout.write(printable(
            f"wrote {namespace.output} ({namespace.format}, {modules:,} modules in "
            f"{processes} process{'es' if processes != 1 else ''}, "
            f"{size(len(text.encode()))})") + "\n")
    else:
        sys.stdout.write(text)
    return 0


def _refuse_overwriting(output: str, path: str | None, what: str) -> None:
    """`BadInput` if writing `output` would replace the input `path` (the same file under
    another name or through a link counts too)."""
    import os

    from ..errors import BadInput

    if path and os.path.exists(path) and os.path.exists(output) and os.path.samefile(output,
                                                                                      path):
        name = {"profile": "the profile being drawn", "target": "a file of the target being "
                "profiled"}.get(what, f"the {what} being read")
        raise BadInput(f"-o {output!r} is {name}; write the report to another file, e.g. "
                       f"report.html")


def _load_audit(path: str):
    from ..audit.model import AuditReport
    from ..measure.io import load_document

    return load_document(path, "audit report", AuditReport.from_json)


def _profile_target(namespace, target):
    """Profile the target (or the configured entry) as `hotstart profile` does; a target
    that fails or starts no traced process is an error, as there."""
    import shlex

    from .._progress import Progress
    from ..errors import BadInput
    from ..measure.runner import failure_message, profile

    cwd = env = None
    if namespace.entry is not None:
        target, cwd, env, namespace.python = configured_target(namespace.entry,
                                                               namespace.python)
    with Progress(f"profiling {shlex.join(target.describe())}",
                  enabled=not namespace.quiet) as progress:
        result = profile(target, runs=namespace.runs, timeout=namespace.timeout,
                         python=namespace.python, progress=progress, cwd=cwd, env=env)
    failure = failure_message(result, namespace.timeout)
    if failure:
        raise BadInput(failure)
    if not result.processes:
        raise BadInput("the target started no Python process that could be traced")
    return result


def _render(namespace, profile, *, before, audit) -> str:
    if namespace.format == "speedscope":
        from ..render.speedscope import render_speedscope

        return render_speedscope(profile)
    if namespace.format == "trace":
        from ..render.trace import render_trace

        return render_trace(profile)
    if namespace.format == "folded":
        from ..render.folded import render_folded

        return render_folded(profile, metric=namespace.metric)
    from ..render.html import render_html

    return render_html(profile, audit=audit, before=before, title=namespace.title)
