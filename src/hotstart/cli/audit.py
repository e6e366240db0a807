"""`hotstart audit`: classify every import site, find hot spots, measure savings."""

import os
import sys

from ._audit_options import add_audit_options, check_audit_options, run_audit
from ._common import make_parser


def run(args: list[str]) -> int:
    parser = make_parser("audit", "Classify every module-level import site of a project as dead, "
                         "side-effect, deferrable, typing-only or needed (and what pins it), show "
                         "which libraries each entrypoint reaches and through which chain, find "
                         "import-time hot spots, and, with --entry or --profile, how many ms and "
                         "MB each site costs on each entrypoint. Imports nothing of the project.")
    add_audit_options(parser)
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("text", "json", "sarif", "markdown"),
                        default="text", help="text (default), json, sarif (code scanning), "
                        "markdown (a PR comment)")
    output.add_argument("-o", "--output", metavar="FILE", help="write the output to FILE")
    output.add_argument("--min-saving", type=float, default=0.0, metavar="MS",
                        help="text: fold sites saving less than this (measured reports)")
    output.add_argument("--hide-needed", action="store_true", help="text: omit needed sites")
    namespace = parser.parse_args(args)
    check_audit_options(namespace)
    if namespace.output:  # before the audit, which may run the entries for minutes
        from ..measure.io import check_writable

        check_writable(namespace.output)
        if namespace.output.endswith(".py") and os.path.isfile(namespace.output):
            from ..errors import BadInput

            raise BadInput(f"-o {namespace.output!r} is Python source; write the report to "
                           f"another file, e.g. audit.txt")
    report = run_audit(namespace)
    if namespace.format == "json":
        import json

        text = json.dumps(report.to_dict(), indent=1) + "\n"
    elif namespace.format == "sarif":
        from ..render.sarif import render_sarif

        text = render_sarif(report)
    elif namespace.format == "markdown":
        from ..render.audit_markdown import render_audit_markdown

        text = render_audit_markdown(report)
    else:
        from ..render.audit import render_audit

        text = render_audit(report, min_saving_ms=namespace.min_saving,
                            show_needed=not namespace.hide_needed)
    if namespace.output:
        from ..measure.io import write_atomic

        write_atomic(namespace.output, text)
    else:
        sys.stdout.write(text)
    return 0
