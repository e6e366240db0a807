"""Options and index construction shared by `index` and `preload`."""



def add_matcher_options(parser) -> None:
    group = parser.add_argument_group("what counts as a registration")
    group.add_argument("--callable", action="append", dest="callables", metavar="NAME",
                       help="a registering callable: 'register' matches register(...) and "
                            "x.register(...), 'reg.register' only that (repeatable; default "
                            "register)")
    group.add_argument("--key", default="0", metavar="POSITION|KEYWORD",
                       help="where the name is: a positional index or a keyword (default 0)")
    group.add_argument("--keep", action="append", default=[], metavar="KEYWORD",
                       help="keyword arguments to keep as metadata (repeatable)")
    group.add_argument("--no-cache", action="store_true", help="do not read or write the "
                       "index cache")


def build_index(targets, namespace):
    import os

    from ..errors import BadInput
    from ..registry.index import Index, Matcher

    targets = [targets] if isinstance(targets, str) else list(targets)
    for target in targets:
        if not os.path.exists(target):
            import importlib.util

            if not target.isidentifier() or importlib.util.find_spec(target) is None:
                raise BadInput(f"{target!r} is neither a file, a directory nor an importable "
                               f"top-level package")
    key = int(namespace.key) if namespace.key.isdecimal() else namespace.key
    if isinstance(key, str) and not key.isidentifier():
        raise BadInput(f"--key {key!r}: give a position (0, 1, ...) or a keyword name")
    for name in namespace.callables or ():
        if not all(part.isidentifier() for part in name.split(".")):
            raise BadInput(f"--callable {name!r}: give a name or a dotted name, e.g. register "
                           f"or registry.register")
    for name in namespace.keep:
        if not name.isidentifier():
            raise BadInput(f"--keep {name!r}: give a keyword argument's name")
    matcher = Matcher(callables=tuple(namespace.callables or ("register",)), key=key,
                      keep=tuple(namespace.keep))
    try:
        return Index.build(targets, matcher, cache=not namespace.no_cache)
    except (ValueError, OSError) as exc:  # a root that is not Python source (see Index.build)
        raise BadInput(str(exc)) from None
