"""`hotstart lock`: record which modules each configured entry loads, per Python version,
in the lock file `hotstart check` compares with."""

import sys

from ._common import (
    MAX_RUNS,
    add_config_options,
    check_number,
    load_configured,
    make_parser,
)


def run(args: list[str]) -> int:
    parser = make_parser(
        "lock", "Run each entry with lock = true (or those named with --entry) and record the "
        "modules it loads in the lock file (default hotstart.lock beside the configuration), "
        "under this interpreter's version; other entries and versions are kept. What varies "
        "by platform or installation is left out, and a module only some runs loaded is "
        "recorded as varying.", usage="hotstart lock [PATH] [options]")
    add_config_options(parser, path_help="the project (default: the current directory)",
                       entry_help="lock only this entry (repeat for more)",
                       python_help="the interpreter that runs the entries (its version names "
                                   "the lock's section)")
    parser.add_argument("-n", "--runs", type=int, default=2, metavar="N",
                        help="runs per entry; a module not loaded by all is varying "
                             "(default 2)")
    namespace = parser.parse_args(args)
    check_number("--runs", namespace.runs, low=1, high=MAX_RUNS)

    from .. import check

    config = load_configured(namespace)
    written = check.write_lock(config, names=namespace.entry or None,
                               python=namespace.python, runs=namespace.runs)
    from .._text import printable

    where = config.lock_file
    for name, version, count, varies in written:
        extra = f", {varies} varying" if varies else ""
        sys.stdout.write(printable(f"locked {name} on Python {version}: {count} modules"
                                   f"{extra}") + "\n")
    if not written:
        sys.stdout.write("nothing to lock on this Python (python-versions excludes it)\n")
    else:
        sys.stdout.write(printable(f"wrote {where}") + "\n")
    return 0
