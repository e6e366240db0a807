"""`hotstart index`: a package's registrations, found in its source without importing it."""

import sys

from ._common import make_parser
from ._registry_options import add_matcher_options, build_index


def run(args: list[str]) -> int:
    parser = make_parser("index", "Scan a package's source, without importing it, for "
                         "registration sites (@register(\"name\") and register(\"name\")(obj)); "
                         "print each name, the module that registers it, and what cannot be "
                         "seen statically.")
    parser.add_argument("target", metavar="PACKAGE_OR_PATH",
                        help="an importable top-level package name, a package directory, a "
                             "source root or a .py file")
    parser.add_argument("--json", action="store_true", help="print JSON")
    add_matcher_options(parser)
    namespace = parser.parse_args(args)
    index = build_index(namespace.target, namespace)
    if namespace.json:
        import json

        sys.stdout.write(json.dumps(index.to_dict(), indent=1) + "\n")
    else:
        from ..render.registry import render_index

        sys.stdout.write(render_index(index, namespace.target))
    return 0
