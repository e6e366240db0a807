"""
hotstart.lazy.cli
=================

Lazy subcommands: a CLI lists its subcommands in ``--help`` without importing the modules
that define them, and imports a command's module only when that command is used.

click::

    from hotstart.lazy.cli import lazy_command

    @click.group()
    def cli():
        "My tool."

    cli.add_command(lazy_command("mytool.commands.build:build", function="build",
                                 doc="Build the project."))

typer::

    from hotstart.lazy.cli import add_lazy_typer, add_lazy_typer_command

    app = typer.Typer()
    add_lazy_typer(app, "mytool.users:app", name="users", help="Manage users.")
    add_lazy_typer_command(app, "mytool.serve:serve", function="serve", doc="Serve it.")

Each placeholder carries what the parent's help reads of a subcommand (name, help, short
help, hidden, deprecated, epilog, rich help panel), given as the registration's own values:
``help=`` the explicit help argument, ``doc=`` the docstring as written in the source
(processed as the running interpreter's compiler processes docstrings), ``function=`` the
function's name when the command's name derives from it (derived by the installed click's or
typer's own rule). Everything else (parameters, callback, the command's own help, shell
completion of its arguments) is the real command's: the placeholder imports it on first use
(``make_context``, ``main``, ``invoke``, any other method or attribute) and puts it in the
parent group's place.

Errors stay true: a command module that fails to import raises its own exception when that
command is used, never while the parent's ``--help`` is printed. ``HOTSTART_EAGER=1`` (see
`hotstart.lazy.eager`) registers the real commands at once, as the eager code did.

argparse: `add_lazy_parser` and `load_lazy_parsers` (from ``hotstart.lazy._argparse``).

This module imports neither click nor typer at import time: they are imported by the
functions that build their placeholders (`LazyGroup` is made on first access). See
docs/cli-lazy.md.
"""

import sys

from . import eager
from ._argparse import add_lazy_parser, load_lazy_parsers

__all__ = [
    "LazyGroup",  # noqa: F822 (made by the module's __getattr__: it imports click)
    "add_lazy_parser",
    "add_lazy_typer",
    "add_lazy_typer_command",
    "compiled_docstring",
    "lazy_command",
    "load_lazy_parsers",
]

#: What a parent's help reads of a subcommand: the placeholder keeps these; every other
#: attribute is the real command's.
LISTING = ("name", "help", "short_help", "hidden", "deprecated", "epilog", "rich_help_panel")
#: The ways a parent reaches a placeholder without loading it: `get_short_help_str` builds
#: its line in the listing; the rest are Python's own.
_OWN = frozenset({"get_short_help_str"})


def compiled_docstring(text: str) -> str:
    """`text` (a docstring's value as written) as this interpreter's compiler stores it in
    ``__doc__``: unchanged before 3.13; from 3.13 on, tabs expanded, the first line's leading
    spaces dropped and the common indentation of the following non-blank lines removed."""
    if sys.version_info < (3, 13):
        return text
    text = text.expandtabs()
    lines = text.split("\n")
    indents = [len(line) - len(line.lstrip(" ")) for line in lines[1:]]
    margin = min((at for at, line in zip(indents, lines[1:], strict=True)
                  if line.lstrip(" ")), default=0)
    rest = [line[min(margin, at):] for at, line in zip(indents, lines[1:], strict=True)]
    return "\n".join([lines[0].lstrip(" "), *rest])


def _load(target: str):
    """The object `target` ("package.module:attribute.path") names, importing its module."""
    module_name, _, attribute = target.partition(":")
    __import__(module_name)
    found = sys.modules[module_name]
    for part in attribute.split(".") if attribute else ():
        found = getattr(found, part)
    return found


def _named(function: str, doc: str | None):
    """A callable with the name (and docstring) of the function a command derives from."""
    def stand_in():
        return None
    stand_in.__name__ = stand_in.__qualname__ = function
    stand_in.__doc__ = doc
    return stand_in


def _forward(attr: str, base: type):
    def forwarded(self, *args, **kwargs):
        if "_hs_loaded" not in self.__dict__:  # the base class's __init__ is still running
            return getattr(base, attr)(self, *args, **kwargs)
        return getattr(self._hs_real(), attr)(*args, **kwargs)
    forwarded.__name__ = attr
    return forwarded


def _forward_value(attr: str, base: type):
    def get(self):
        own = self.__dict__
        if attr in own:
            return own[attr]
        if "_hs_loaded" not in own:  # the base class's __init__ is still running
            return getattr(base, attr)
        return getattr(self._hs_real(), attr)

    def set_(self, value):
        self.__dict__[attr] = value
    return property(get, set_)


class _Placeholder:
    """The behaviour every placeholder shares; mixed into a click or typer command class.

    Its instances keep only `LISTING`; `_hs_build()` (per framework) makes the real command.
    """

    _hs_target = ""

    def _hs_keep_listing(self) -> None:
        """Drop what the base class's ``__init__`` set beyond the listing facts, so that
        reading it reaches the real command (`__getattr__`)."""
        own = vars(self)
        self._hs_settings = {k: own.pop(k) for k in list(own)
                             if k not in LISTING and not k.startswith("_hs_")}
        self._hs_loaded = None

    def _hs_real(self):
        loaded = self.__dict__.get("_hs_loaded")
        if loaded is None:
            loaded = self._hs_loaded = self._hs_build()
        return loaded

    def __getattr__(self, attr: str):
        if attr.startswith(("_hs_", "__")) or "_hs_loaded" not in vars(self):
            raise AttributeError(attr)
        return getattr(self._hs_real(), attr)

    def make_context(self, info_name, args, parent=None, **extra):
        real = self._hs_real()
        commands = getattr(getattr(parent, "command", None), "commands", None)
        if commands is not None and info_name is not None and \
                commands.get(info_name) is self:
            commands[info_name] = real  # later lookups get the real command directly
        return real.make_context(info_name, args, parent=parent, **extra)

    def __repr__(self) -> str:
        state = "loaded" if self.__dict__.get("_hs_loaded") is not None else "not loaded"
        return f"<lazy command {self.name!r} from {self._hs_target!r} ({state})>"


_classes: dict = {}


def _placeholder_class(base: type) -> type:
    """A subclass of `base` (a click or typer command class) whose methods and class-level
    values are the real command's, except the listing's and `make_context`; built once per
    base. Subclasses give `_hs_build(self)`, which makes the real command."""
    found = _classes.get(base)
    if found is None:
        namespace: dict = {"__module__": __name__, "__call__": _forward("__call__", base)}
        for attr in dir(base):
            if attr.startswith("_") or attr in _OWN or attr in LISTING or \
                    attr == "make_context":
                continue
            value = getattr(base, attr)
            if isinstance(value, type):
                continue
            namespace[attr] = _forward(attr, base) if callable(value) \
                else _forward_value(attr, base)
        found = _classes[base] = type(f"Lazy{base.__name__}", (_Placeholder, base), namespace)
    return found


# -- click ---------------------------------------------------------------------------------

def _click_placeholder() -> type:
    found = _classes.get("click")
    if found is None:
        import click

        found = _classes["click"] = type("LazyCommand", (_placeholder_class(click.Command),),
                                         {"_hs_build": lambda self: _load(self._hs_target),
                                          "__module__": __name__})
    return found


def lazy_command(target: str, *, name: str | None = None, function: str | None = None,
                 doc: str | None = None, help: str | None = None, **facts):
    """A click command that stands for the command object `target` ("pkg.mod:attr") and
    imports it when used.

    `name`: the command's own name, or `function`: the name of the function it derives from
    (click's rule of the installed version: lower case, ``_`` to ``-``, and from click 8.2
    the ``_command``/``_cmd``/``_group``/``_grp`` suffix dropped). `help`: its explicit
    help, else `doc`: the function's docstring as written. `facts`: the other listing values
    given to the real command (``short_help``, ``hidden``, ``deprecated``, ``epilog``).
    """
    import click

    if eager():
        return _load(target)
    if name is None:
        if function is None:
            raise TypeError("lazy_command() needs the command's name= or its function=")
        name = click.command()(_named(function, None)).name
    if help is None and doc is not None:
        help = compiled_docstring(doc)
    unknown = set(facts) - set(LISTING)
    if unknown:
        raise TypeError(f"lazy_command() got values its listing does not read: "
                        f"{', '.join(sorted(unknown))}")
    cls = _click_placeholder()
    placeholder = cls.__new__(cls)
    placeholder._hs_target = target
    click.Command.__init__(placeholder, name, help=help, **facts)
    placeholder._hs_keep_listing()
    return placeholder


def _lazy_group_class():
    found = _classes.get("group")
    if found is None:
        import click

        class LazyGroup(click.Group):
            """A click group whose `lazy_subcommands` ({name: "pkg.mod:attr"}, or {name:
            {"import": "pkg.mod:attr", "help": ..., "short_help": ..., ...}}) are listed
            from the given values and imported when used."""

            def __init__(self, *args, lazy_subcommands: dict | None = None, **kwargs):
                super().__init__(*args, **kwargs)
                for sub_name, spec in (lazy_subcommands or {}).items():
                    values = {"import": spec} if isinstance(spec, str) else dict(spec)
                    target = values.pop("import")
                    self.add_command(lazy_command(target, name=values.pop("name", sub_name),
                                                  **values), sub_name)

        LazyGroup.__module__ = __name__
        found = _classes["group"] = LazyGroup
    return found


def __getattr__(name: str):
    # PEP 562: building `LazyGroup` imports click, which `import hotstart.lazy.cli` must not.
    if name == "LazyGroup":
        return _lazy_group_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- typer ---------------------------------------------------------------------------------

def _typer_placeholder(base: type, target: str, build) -> type:
    """A placeholder class for one registration: typer builds the command itself (`cls=`),
    so what the real one needs is the class's."""
    def __init__(self, *args, **kwargs):
        base.__init__(self, *args, **kwargs)
        self._hs_keep_listing()

    return type(base.__name__, (_placeholder_class(base),),
                {"__init__": __init__, "_hs_build": build, "_hs_target": target,
                 "__module__": __name__})


def add_lazy_typer(app, target: str, *, app_settings: dict | None = None,
                   callback_settings: dict | None = None, **options) -> None:
    """``app.add_typer(<the Typer app `target` names>, **options)``, importing that app only
    when its command is used.

    `options` are `add_typer`'s own. What the parent's help shows of the sub-app when the
    sub-app sets it is given as the sub-app gives it, and typer's own order of priority
    decides as it would for the real one: `app_settings`, the listing arguments of its
    ``Typer(...)`` (``help``, ``short_help``, ``hidden``, ``deprecated``, ``epilog``,
    ``name``, and ``doc``: the docstring of its ``callback=`` function, as written);
    `callback_settings`, those of its ``@app.callback(...)`` and ``doc`` its function's
    docstring (None: it has no callback). ``cls`` cannot be given.
    """
    import copy

    import typer
    from typer.core import TyperGroup
    from typer.main import get_group_from_info

    if "cls" in options:
        raise TypeError("add_lazy_typer() cannot take cls=: the placeholder is the class")
    if eager():
        app.add_typer(_load(target), **options)
        return

    def build(self):
        # the registration add_typer made, for the real app: its values are the ones
        # add_typer gives (some explicit defaults outrank the sub-app's own)
        info = copy.copy(registered)
        info.typer_instance = _load(self._hs_target)
        settings = self._hs_settings
        return get_group_from_info(
            info, pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=settings.get("rich_markup_mode", app.rich_markup_mode),
            suggest_commands=settings.get("suggest_commands", app.suggest_commands))

    cls = _typer_placeholder(TyperGroup, target, build)
    settings = dict(app_settings or {})
    doc = settings.pop("doc", None)
    if doc is not None:
        settings["callback"] = _named("callback", compiled_docstring(doc))
    stand_in = typer.Typer(cls=cls, add_completion=False, **settings)
    if callback_settings is not None:
        settings = dict(callback_settings)
        doc = settings.pop("doc", None)
        stand_in.callback(**settings)(
            _named("callback", None if doc is None else compiled_docstring(doc)))
    app.add_typer(stand_in, **options)
    registered = app.registered_groups[-1]


def add_lazy_typer_command(app, target: str, *, name: str | None = None,
                           function: str | None = None, doc: str | None = None,
                           **options) -> None:
    """``app.command(name, **options)(<the function `target` names>)``, importing that
    function's module only when the command is used.

    `function`: the function's name (typer derives the command's name from it when `name`
    is None); `doc`: its docstring as written (typer's help when ``help`` is not given).
    """
    import copy

    from typer.core import TyperCommand
    from typer.main import get_command_from_info

    if function is None and name is None:
        raise TypeError("add_lazy_typer_command() needs the command's name= or function=")
    if eager():
        app.command(name, **options)(_load(target))
        return
    user_cls = options.pop("cls", None)

    def build(self):
        # the registration app.command() made (with its defaults), for the real function
        info = copy.copy(registered)
        info.callback = _load(self._hs_target)
        info.cls = user_cls
        settings = self._hs_settings
        return get_command_from_info(
            info, pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=settings.get("rich_markup_mode", app.rich_markup_mode))

    cls = _typer_placeholder(user_cls or TyperCommand, target, build)
    stand_in = _named(function or name, None if doc is None else compiled_docstring(doc))
    app.command(name, cls=cls, **options)(stand_in)
    registered = app.registered_commands[-1]
