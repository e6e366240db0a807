"""`hotstart diff`: compare two saved profiles."""

import sys

from ._common import check_number, make_parser


def run(args: list[str]) -> int:
    parser = make_parser("diff", "Compare two saved profiles: modules added and removed, and the "
                         "biggest changes in time and memory.")
    parser.add_argument("before", metavar="BEFORE.json")
    parser.add_argument("after", metavar="AFTER.json")
    parser.add_argument("--top", type=int, default=15, metavar="N",
                        help="rows per section (default 15)")
    parser.add_argument("--threshold", type=float, default=0.1, metavar="MS",
                        help="hide changes smaller than this (default 0.1 ms)")
    parser.add_argument("--process", type=int, default=None, metavar="N",
                        help="compare process N of each profile, as numbered in 'hotstart "
                             "show' (default 0, the first)")
    namespace = parser.parse_args(args)
    check_number("--top", namespace.top, low=1)
    check_number("--threshold", namespace.threshold, unit="ms")
    check_number("--process", namespace.process, low=0)
    from ..errors import BadInput
    from ..measure.diff import diff_profiles
    from ..measure.io import load_profile
    from ..render.diff import render_diff

    before, after = load_profile(namespace.before), load_profile(namespace.after)
    process = namespace.process or 0
    for path, loaded in ((namespace.before, before), (namespace.after, after)):
        if not loaded.processes:
            raise BadInput(f"{path}: the profile has no traced process")
        if process >= len(loaded.processes):
            raise BadInput(f"--process {process}: {path} has {len(loaded.processes)} "
                           f"process(es), numbered from 0")
    if namespace.process is None and len(before.processes) != len(after.processes):
        from .._text import printable

        sys.stderr.write(printable(
            f"hotstart: warning: {namespace.before} has {len(before.processes)} traced "
            f"process(es), {namespace.after} has {len(after.processes)}; comparing the first "
            f"of each (choose with --process N)") + "\n")
    sys.stdout.write(render_diff(diff_profiles(before, after, process=process),
                                 top=namespace.top, threshold_ms=namespace.threshold))
    return 0
