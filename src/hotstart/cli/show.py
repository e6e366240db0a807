"""`hotstart show`: render a saved profile again."""

import sys

from ._common import add_render_options, check_render_options, make_parser, render_profile


def run(args: list[str]) -> int:
    parser = make_parser("show", "Render a profile saved with 'hotstart profile -o'.")
    parser.add_argument("profile", metavar="PROFILE.json")
    add_render_options(parser)
    namespace = parser.parse_args(args)
    check_render_options(namespace)
    from ..measure.io import load_profile

    result = load_profile(namespace.profile)
    if not result.processes:
        from ..errors import BadInput

        raise BadInput(f"{namespace.profile}: the profile has no traced process")
    sys.stdout.write(render_profile(result, namespace))
    return 0
