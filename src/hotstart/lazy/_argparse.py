"""Lazy argparse subcommands: the module that defines a subcommand is imported when the
subcommand is used, not when the program's parser is built.

    requests = parser.add_subparsers(dest="request")
    add_lazy_parser(requests, "build", "myapp.commands.build:register",
                    help="build the project", aliases=["b"])

The top-level parser lists ``build`` (its aliases and help) exactly as an eager
``requests.add_parser("build", help=..., aliases=...)`` would, because it is that call: the
subparser is created at once, by the subparsers action's own ``add_parser``, with the name,
aliases, help and any other ``add_parser`` keyword given here. Only its arguments are
missing. The first time the subparser parses (the subcommand was chosen on the command line,
``build --help`` included) or formats its help or usage, ``myapp.commands.build`` is
imported and its registration function fills the subparser; parsing then goes on exactly as
before (defaults, ``set_defaults(func=...)``, errors, exit codes, usage lines).

The registration function is called, as the eager code called it, with either

- the subparsers action (``call_with="subparsers"``, the default): it calls
  ``add_parser(name, ...)`` itself, as in ``def register(subparsers): p =
  subparsers.add_parser("build", help=...); p.add_argument(...)``. It gets a stand-in whose
  ``add_parser`` returns the subparser made earlier, after applying the keywords that can
  still apply (``description``, ``epilog``, ``formatter_class``, ``parents``, ...); a
  ``help``, ``aliases`` or ``deprecated`` other than the lazy registration's (which the
  program's help showed) raises ``ValueError``;
- the subparser itself (``call_with="parser"``), as in ``configure(subparsers.add_parser(
  "build", help=...))``;

and then ``arguments``, the values the eager call passed after it (``register(subparsers,
defaults)``: ``arguments=(defaults,)``), evaluated when the lazy subparser is made.

Errors stay true: a subcommand module that fails to import raises its own exception when
that subcommand is used, and `--help` of the program does not import it. With
``HOTSTART_EAGER=1`` every lazy subparser is filled at once.

Code that reads a subparser's actions directly (completion scripts, man-page generators)
sees an empty subparser until it is filled: call `load_lazy_parsers` on the program's parser
first.

Only the standard library; argparse itself is not imported here (the caller's parser has).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms to import: only type checkers read these
if TYPE_CHECKING:
    from argparse import ArgumentParser, _SubParsersAction
    from typing import Any

__all__ = ["add_lazy_parser", "load_lazy_parsers"]

#: The parser methods that need the subparser filled; replaced on the instance until then.
_NEEDS_FILLING = ("parse_known_args", "parse_known_intermixed_args", "format_help",
                  "format_usage")
#: ``ArgumentParser`` keywords that act only while it is constructed: a registration
#: function that passes a different value than the lazy registration did cannot be honoured.
_CONSTRUCTION_ONLY = ("add_help", "prefix_chars")
#: ``add_parser`` keywords that only the subparsers action reads (the listing): applied when
#: the lazy subparser was made.
_LISTING = ("help", "aliases", "deprecated")
_CALL_WITH = ("subparsers", "parser")


def add_lazy_parser(subparsers: _SubParsersAction, name: str, target: str, *,
                    call_with: str = "subparsers", arguments: tuple = (),
                    **kwargs: Any) -> ArgumentParser:
    """Add subcommand `name` to `subparsers` (what ``parser.add_subparsers()`` returned), to
    be filled by the function `target` (``"package.module:function"``) when it is first
    used, called with the subparsers (or the subparser) and then `arguments`. `kwargs` go
    to ``subparsers.add_parser`` now (``help``, ``aliases``, ``description``, ...). Returns
    the subparser."""
    if call_with not in _CALL_WITH:
        raise ValueError(f"call_with={call_with!r}: use 'subparsers' or 'parser'")
    module, _, function = target.partition(":")
    if not module or not function:
        raise ValueError(f"target {target!r}: write it as 'package.module:function'")
    parser = subparsers.add_parser(name, **kwargs)
    filler = _Filler(subparsers, parser, name, module, function, call_with, kwargs,
                     tuple(arguments))
    for method in _NEEDS_FILLING:
        if hasattr(parser, method):  # parse_known_intermixed_args is 3.7+, always here
            setattr(parser, method, filler.wrap(method))
    parser._hotstart_lazy = filler
    from . import eager

    if eager():
        filler.fill()
    return parser


def load_lazy_parsers(parser: ArgumentParser) -> int:
    """Fill every lazy subparser under `parser`, recursively; return how many were filled."""
    filled = 0
    pending = [parser]
    while pending:
        current = pending.pop()
        filler = current.__dict__.get("_hotstart_lazy")
        if filler is not None and not filler.filled:
            filler.fill()
            filled += 1
        for action in getattr(current, "_actions", ()):
            choices = getattr(action, "_name_parser_map", None)
            if isinstance(choices, dict):
                pending.extend({id(p): p for p in choices.values()}.values())
    return filled


class _Filler:
    """Fills one lazy subparser, once, and puts its own methods back."""

    def __init__(self, subparsers: Any, parser: Any, name: str, module: str, function: str,
                 call_with: str, given: dict[str, Any], arguments: tuple) -> None:
        self.subparsers = subparsers
        self.parser = parser
        self.name = name
        self.module = module
        self.function = function
        self.call_with = call_with
        self.given = given
        self.arguments = arguments
        self.filled = False

    def wrap(self, method: str):
        def filling_first(*args: Any, **kwargs: Any) -> Any:
            self.fill()
            return getattr(self.parser, method)(*args, **kwargs)

        filling_first.__name__ = method
        return filling_first

    def fill(self) -> None:
        if self.filled:
            return
        from . import _import

        # An import error leaves the subparser lazy (and raises it); after that, the
        # function runs once, whatever it raises.
        register = getattr(_import(self.module), self.function)
        for method in _NEEDS_FILLING:  # first: the function may format or parse it
            self.parser.__dict__.pop(method, None)
        self.filled = True
        register(self.parser if self.call_with == "parser" else _Registrar(self),
                 *self.arguments)

    def target(self) -> str:
        return f"{self.module}:{self.function}"


class _Registrar:
    """What a lazily called ``register(subparsers)`` gets: the subparsers action, but its
    ``add_parser`` returns the subparser made by `add_lazy_parser`."""

    def __init__(self, filler: _Filler) -> None:
        self._filler = filler

    def __getattr__(self, name: str) -> Any:
        return getattr(self._filler.subparsers, name)

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        filler = self._filler
        parser = filler.parser
        if name != filler.name:
            raise ValueError(
                f"{filler.target()} added subcommand {name!r}, but it was registered lazily "
                f"as {filler.name!r}: give add_lazy_parser the name the function uses")
        for key in _CONSTRUCTION_ONLY:
            if key in kwargs and kwargs[key] != filler.given.get(key, _default(key)):
                raise ValueError(
                    f"{filler.target()} makes subcommand {name!r} with {key}="
                    f"{kwargs[key]!r}: pass {key}={kwargs[key]!r} to add_lazy_parser too "
                    f"(it applies only when the subparser is made)")
        for key in _LISTING:  # the program's help listed what add_lazy_parser was given
            mine, given = _listed(kwargs, key), _listed(filler.given, key)
            if mine != given:
                raise ValueError(
                    f"{filler.target()} adds subcommand {name!r} with {key}={mine!r}, but it "
                    f"was registered lazily with {key}={given!r}, which the program's help "
                    f"shows: give add_lazy_parser the same {key}")
        for key, value in kwargs.items():
            if key in _LISTING or key in _CONSTRUCTION_ONLY:
                continue
            if key == "parents":
                for parent in value:  # as ArgumentParser.__init__ does
                    parser._add_container_actions(parent)
                    parser._defaults.update(parent._defaults)
            elif hasattr(parser, key):
                setattr(parser, key, value)
            else:
                raise TypeError(f"{filler.target()}: add_parser() got an unexpected keyword "
                                f"argument {key!r}")
        return parser


def _listed(keywords: dict[str, Any], key: str) -> object:
    """What the listing shows of `key` given these add_parser keywords (no help: no line)."""
    value = keywords.get(key, {"aliases": (), "deprecated": False}.get(key))
    return list(value) if key == "aliases" else value


def _default(key: str) -> object:
    return {"add_help": True, "prefix_chars": "-"}[key]
