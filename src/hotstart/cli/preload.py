"""`hotstart preload`: the modules a job spec needs preloaded (``--format env``: the
``HOTSTART_PRELOAD=a,b`` line a master puts in its workers' environment)."""

import sys

from ._common import make_parser
from ._registry_options import add_matcher_options, build_index


def run(args: list[str]) -> int:
    parser = make_parser("preload", "Read a job spec (JSON, YAML, TOML or CUE) and print the "
                         "minimal list of modules to preload for it, the spec entries that "
                         "need each, and the type names nothing registers.")
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
    parser.add_argument("--format", choices=("text", "json", "env"), default="text",
                        help="text (default): the list and the spec entries that need each "
                             "module; json: all of it, machine-readable; env: the one line "
                             "HOTSTART_PRELOAD=a,b, for an env file, a shell or a manifest "
                             "(nothing, and exit 1, when a type is not registered)")
    parser.add_argument("--json", action="store_const", const="json", dest="format",
                        help="same as --format json")
    add_matcher_options(parser)
    namespace = parser.parse_args(args)
    from ..errors import BadInput
    from ..registry.spec import AliasTable, SpecError, compute_preload, encode_preload, load_spec

    if not namespace.type_key:
        raise BadInput("--type-key '': give the key that names an object's type, e.g. @type")
    for module in namespace.always:
        try:
            encode_preload([module])
        except ValueError:
            raise BadInput(f"--always {module!r}: not a module name (expected e.g. "
                           f"pkg.mod)") from None
    aliases = {}
    for item in namespace.alias:
        name, sep, module = item.partition("=")
        try:
            if not sep:
                raise ValueError
            AliasTable({name.strip(): module.strip()})  # checks the name and the module
        except ValueError:
            raise BadInput(f"--alias {item!r}: expected NAME=MODULE, a name and a module, "
                           f"e.g. np=numpy") from None
        aliases[name.strip()] = module.strip()
    table = AliasTable(aliases) if aliases else None
    try:
        spec = load_spec(namespace.spec)
    except (SpecError, ValueError) as exc:
        raise BadInput(str(exc)) from None
    index = build_index(namespace.package, namespace)
    result = compute_preload(spec, index, type_key=namespace.type_key, always=namespace.always,
                             hints=[table] if table else [])
    packages = ", ".join(namespace.package)
    if namespace.format == "json":
        import json

        sys.stdout.write(json.dumps({"spec": namespace.spec, "packages": namespace.package,
                                     **result.to_dict()}, indent=1) + "\n")
    elif namespace.format == "env":
        from ..registry.spec import PRELOAD_ENV

        # Module names need no quoting in a shell or an env file. With an unknown type the
        # list is incomplete: nothing is printed, so it cannot reach a worker's environment.
        if not result.unknown:
            sys.stdout.write(f"{PRELOAD_ENV}={result.env_value}\n")
    else:
        from ..render.registry import render_preload

        sys.stdout.write(render_preload(result, namespace.spec, packages))
    if result.unknown:
        first = result.unknown[0]
        hint = result.hint(first.name)
        more = f" and {len(result.unknown) - 1} more" if len(result.unknown) > 1 else ""
        from .._text import printable

        sys.stderr.write(printable(f"hotstart: error: unknown type {first.name!r} at "
                                   f"{first.path} in {namespace.spec}{hint}{more}") + "\n")
        return 1
    return 0
