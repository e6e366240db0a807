"""
hotstart.lazy
=============

Load a package's submodules and attributes on first use, and nothing before.

    # mypkg/__init__.py
    import hotstart.lazy

    __getattr__, __dir__, __all__ = hotstart.lazy.attach(
        __name__, submodules=["plugins"], attrs={"registry": ["register", "get"]})

``import mypkg`` then costs only ``mypkg/__init__.py``; ``mypkg.register`` imports
``mypkg.registry`` on first access and stores the value in the package's globals, so every
later access is a plain global lookup. Lazy names are listed by ``dir(mypkg)``, ``__all__``
and ``from mypkg import *``. Errors stay true: a submodule that fails to import raises its
own exception, and only a name that really does not exist raises ``AttributeError``.

- `attach`: PEP 562 ``__getattr__``/``__dir__``/``__all__`` for a package ``__init__``.
- `attach_stub`: the same, declared by the package's ``__init__.pyi`` (one source of truth
  for type checkers and the runtime).
- `lazy_import`: a module object that imports the real module on first attribute access.
- `caller_module`: the calling module's name, without ``inspect.stack()``.
- `lazy_import_statements`, `lazy_modules_declared`: read PEP 810 (Python 3.15) ``lazy
  import`` statements and ``__lazy_modules__`` from source, on any supported version.
- `enable`, `disable`, `set_filter`: the run-time lazy mode -- PEP 810's ``__lazy_modules__``
  and lazy-imports filter honoured on 3.11-3.14 too (``python -m hotstart.lazy`` runs a
  whole program that way, chosen by ``HOTSTART_LAZY_IMPORTS``); docs/lazy-mode.md.

``HOTSTART_EAGER=1`` in the environment makes `attach`, `attach_stub` and `lazy_import`
import everything at once (tests, debugging), and on Python 3.15+ also asks the interpreter
to make PEP 810 lazy imports eager (see `eager`).

This module is a runtime dependency: it uses only the standard library and imports nothing
at import time (heavier modules are imported inside the functions that need them).
"""

import sys

__all__ = [
    "attach",
    "attach_stub",
    "caller_module",
    "disable",
    "eager",
    "enable",
    "lazy_import",
    "lazy_import_statements",
    "lazy_modules_declared",
    "set_filter",
]

_ModuleType = type(sys)
_EAGER_VAR = "HOTSTART_EAGER"
_FALSE = ("", "0", "false", "no", "off")
#: What `eager` did to the interpreter's own (PEP 810) lazy imports: None until it ran.
_interpreter_switch = None


def eager() -> bool:
    """True when ``HOTSTART_EAGER`` is set (to anything but ``0``/``false``/``no``/``off``).

    The first time it is true in a process, it also asks the interpreter to make PEP 810
    lazy imports eager, where the interpreter has such a switch (Python 3.15+): it installs
    ``sys.set_lazy_imports_filter(f)`` with ``f`` returning False for every import, and if
    that is unavailable calls ``sys.set_lazy_imports("none")`` (early 3.15 alphas). Lazy
    imports executed before that moment stay lazy. Nothing is done where neither exists.
    """
    import os

    if os.environ.get(_EAGER_VAR, "").strip().lower() in _FALSE:
        return False
    global _interpreter_switch
    if _interpreter_switch is None:
        _interpreter_switch = _disable_interpreter_lazy_imports()
    return True


def _never_lazy(importing_module, imported_module, fromlist=None, /):
    return False


def _disable_interpreter_lazy_imports() -> str:
    """Ask a PEP 810 interpreter to make every potentially lazy import eager; say how."""
    set_filter = getattr(sys, "set_lazy_imports_filter", None)
    if set_filter is not None:
        try:
            set_filter(_never_lazy)
            return "sys.set_lazy_imports_filter"
        # the signature differs from PEP 810's: try the mode switch
        except Exception:  # noqa: BLE001, S110
            pass
    set_mode = getattr(sys, "set_lazy_imports", None)
    if set_mode is not None:
        try:
            set_mode("none")
            return "sys.set_lazy_imports('none')"
        except Exception:  # noqa: BLE001, S110 ("none" was removed before 3.15.0)
            pass
    return "unavailable"


def enable(mode: str = "normal") -> str:
    """Make module-scope imports lazy in this process, as PEP 810 does on 3.15; return how.

        # mypkg/__init__.py: opt in; then each module's __lazy_modules__ is honoured
        import hotstart.lazy
        hotstart.lazy.enable()

    `mode`: ``"normal"`` -- an import statement is lazy if the importing module lists the
    imported module (absolute name) in its ``__lazy_modules__``; ``"all"`` -- every
    potentially lazy import is lazy (like ``-X lazy_imports=all``); ``"none"`` -- none is.
    Potentially lazy: at module scope, outside ``try``/``with`` blocks, not ``import *``,
    of a module not loaded yet. ``HOTSTART_LAZY_IMPORTS`` in the environment, if set,
    overrides `mode` (the process's owner decides, not a library); ``HOTSTART_EAGER=1``
    overrides both. A filter set by `set_filter` can make any import eager. Idempotent.

    Before 3.15 a ``builtins.__import__`` wrapper binds lazy objects that import on first
    use (errors surface there, with the real exception and a note naming the import line).
    On an interpreter with PEP 810 no hook is installed: ``all`` is passed on with
    ``sys.set_lazy_imports``, ``none`` as a filter refusing every import, and ``normal`` is
    the interpreter's own default.

    Returns ``"hook"``, ``"interpreter"`` (PEP 810 interpreter), ``"eager"`` (nothing is
    lazy), or ``"other hook"`` (a hook someone else installed, e.g. the lazy trial's, is
    left alone). Raises `ValueError` for an unknown `mode` argument; an unknown
    ``HOTSTART_LAZY_IMPORTS`` value gives one `RuntimeWarning` and leaves `mode` in force.
    """
    from hotstart.lazy import _mode

    return _mode.enable(mode)


def disable() -> None:
    """Undo `enable`: later imports are eager again (lazy objects bound so far still
    resolve on first use); on a PEP 810 interpreter, restore the mode and filter found at
    the first `enable`. Does nothing if `enable` did nothing."""
    from hotstart.lazy import _mode

    _mode.disable()


def set_filter(filter) -> None:
    """Set the lazy-imports filter, as ``sys.set_lazy_imports_filter`` does on 3.15.

    `filter(importing_module, imported_module, fromlist) -> bool` is asked about each import
    the mode would make lazy; False makes it eager. `imported_module` is absolute (relative
    imports resolved); `fromlist` is a tuple of names, or None for ``import x``. None removes
    the filter. On a PEP 810 interpreter this calls ``sys.set_lazy_imports_filter``; before
    3.15 it applies once `enable` has installed the hook (at once if it has). Raises
    `TypeError` if `filter` is neither callable nor None.
    """
    from hotstart.lazy import _mode

    _mode.set_filter(filter)


def _import(name: str):
    """Import `name` (absolute) and return it: ``import_module`` without importing importlib."""
    __import__(name)
    return sys.modules[name]


def _missing(exc: ModuleNotFoundError, full: str, prefix: str) -> bool:
    """True if `exc` says that module `full` (or a subpackage of the package on its way)
    does not exist, rather than that `full` exists and failed to import something else."""
    missing = exc.name
    if not missing:
        return False
    return missing == full or (full.startswith(missing + ".") and missing.startswith(prefix))


def attach(package_name: str, submodules: list[str] | tuple[str, ...] = (),
           attrs: dict[str, list[str]] | None = None, *, seal: bool = False) -> tuple:
    """Lazy submodules and attributes for a package, as PEP 562 hooks.

    Returns ``(__getattr__, __dir__, __all__)`` for the package's ``__init__``:

        __getattr__, __dir__, __all__ = attach(
            __name__, submodules=["plugins"], attrs={"registry": ["register", "get"]})

    `submodules` are names of submodules (``pkg.plugins``); `attrs` maps a submodule
    (dotted below the package, e.g. ``"util.frames"``) to the names it defines. On first
    access a name is imported and stored in the package's globals. A name that is not
    declared falls back to a real submodule of that name, if one exists.

    Errors: a name that is neither declared nor a submodule, a declared submodule that does
    not exist, and a declared name its submodule does not define raise `AttributeError`; a
    submodule that exists but fails to import raises its own exception (also a
    `ModuleNotFoundError` for a missing dependency). With ``HOTSTART_EAGER=1`` everything is
    imported now, and import errors surface at ``import pkg``.

    ``seal=True`` removes the hooks from the package once every declared name has been
    resolved. CPython (3.11-3.13) does not specialize attribute access on a module that has a
    ``__getattr__``, so until then ``pkg.name`` costs about twice a plain module attribute;
    after sealing it costs the same. A sealed package behaves like any package: an undeclared
    submodule is an attribute only once it has been imported.
    """
    attr_module: dict = {}
    for module_name, names in (attrs or {}).items():
        if isinstance(names, str):
            raise TypeError(f"attrs[{module_name!r}] must be a list of names, not a string")
        for name in names:
            other = attr_module.setdefault(name, module_name)
            if other != module_name:
                raise ValueError(f"{package_name}: {name!r} is declared in both "
                                 f"{other!r} and {module_name!r}")
    if isinstance(submodules, str):
        raise TypeError("submodules must be a list of names, not a string")
    submodule_set = frozenset(submodules)
    clash = submodule_set & attr_module.keys()
    if clash:
        raise ValueError(f"{package_name}: {sorted(clash)} declared both as submodules and "
                         f"as attributes")
    lazy_names = sorted(submodule_set | attr_module.keys())
    prefix = package_name + "."
    # The package being initialised: values are cached in *its* globals, also when it is
    # later replaced in sys.modules (a re-import) while old references to it live on.
    home = sys.modules.get(package_name)

    def __getattr__(name: str):
        module_name = attr_module.get(name)
        package = home if home is not None else sys.modules.get(package_name)
        if module_name is not None:
            full = prefix + module_name
            try:
                module = _import(full)
            except ModuleNotFoundError as exc:
                if not _missing(exc, full, prefix):
                    raise  # `full` exists; a module it imports does not
                raise AttributeError(
                    f"module {package_name!r} has no attribute {name!r}: it is declared in "
                    f"submodule {full!r}, which does not exist",
                    name=name, obj=package) from exc
            try:
                value = getattr(module, name)
            except AttributeError as exc:
                raise AttributeError(
                    f"module {full!r} has no attribute {name!r} (declared lazily by "
                    f"package {package_name!r})", name=name, obj=package) from exc
        elif name in submodule_set or not (name.startswith("__") or "." in name):
            # A declared submodule, or the fallback: a real submodule of that name.
            full = prefix + name
            try:
                value = _import(full)
            except ModuleNotFoundError as exc:
                if not _missing(exc, full, prefix):
                    raise
                if name in submodule_set:
                    raise AttributeError(
                        f"module {package_name!r} has no attribute {name!r}: it is declared "
                        f"as submodule {full!r}, which does not exist",
                        name=name, obj=package) from exc
                raise AttributeError(f"module {package_name!r} has no attribute {name!r}",
                                     name=name, obj=package) from None
        else:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}",
                                 name=name, obj=package)
        if package is not None:
            namespace = package.__dict__
            namespace[name] = value
            if seal and namespace.get("__getattr__") is __getattr__ and all(
                    n in namespace for n in lazy_names):
                del namespace["__getattr__"]
                if namespace.get("__dir__") is __dir__:
                    del namespace["__dir__"]
        return value

    def __dir__() -> list[str]:
        package = home if home is not None else sys.modules.get(package_name)
        names = set(package.__dict__) if package is not None else set()
        return sorted(names.union(lazy_names))

    __all__ = list(lazy_names)

    if eager():
        if home is not None:
            # Install the hooks first: a submodule importing a sibling lazy name from the
            # package (`from pkg import other`) must find them while we are still in attach.
            home.__dict__.update(__getattr__=__getattr__, __dir__=__dir__, __all__=__all__)
        for name in lazy_names:
            __getattr__(name)
    return __getattr__, __dir__, __all__


def attach_stub(package_name: str, filename: str) -> tuple:
    """`attach`, with the lazy names declared by the package's ``__init__.pyi``.

        __getattr__, __dir__, __all__ = attach_stub(__name__, __file__)

    The stub next to `filename` (``__init__.py`` -> ``__init__.pyi``) may contain, at module
    level, ``from .sub import a, b`` (lazy attributes of ``pkg.sub``), ``from .sub import a
    as a`` (the stub re-export form; same name only) and ``from . import sub1, sub2`` (lazy
    submodules). Everything that is not an import statement (docstring, ``__all__``,
    definitions) is ignored. Raises `ValueError` naming ``file:line`` for a renaming alias
    (``a as b``), ``import *``, an absolute import, a relative import of level > 1, or an
    import nested in a block; `FileNotFoundError` if there is no stub.
    """
    import ast
    import os

    stub = filename if filename.endswith(".pyi") else os.path.splitext(filename)[0] + ".pyi"
    try:
        with open(stub, encoding="utf-8") as handle:
            source = handle.read()
    except FileNotFoundError:
        raise FileNotFoundError(f"{package_name}: no stub {stub} to read lazy names from") \
            from None
    tree = ast.parse(source, filename=stub)
    submodules: list = []
    attrs: dict = {}
    for node in tree.body:
        where = f"{stub}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            raise ValueError(  # noqa: TRY004 (a bad stub is a bad value, as documented)
                f"{where}: absolute import in a lazy stub; only `from .sub import name` and "
                f"`from . import sub` are supported")
        if not isinstance(node, ast.ImportFrom):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    raise ValueError(  # noqa: TRY004
                        f"{stub}:{inner.lineno}: import inside a block; lazy stubs declare "
                        f"imports at module level only")
            continue
        if node.level == 0:
            raise ValueError(f"{where}: absolute import `from {node.module} import ...` in a "
                             f"lazy stub; only relative imports of the package's own "
                             f"submodules are supported")
        if node.level > 1:
            raise ValueError(f"{where}: relative import of level {node.level} "
                             f"(`from {'.' * node.level}{node.module or ''} import ...`); only "
                             f"`from .sub import name` and `from . import sub` are supported")
        names = []
        for alias in node.names:
            if alias.name == "*":
                raise ValueError(f"{where}: `import *` cannot be made lazy; list the names")
            if alias.asname is not None and alias.asname != alias.name:
                raise ValueError(f"{where}: alias `{alias.name} as {alias.asname}` is not "
                                 f"supported; the lazy name must be the submodule's own name")
            names.append(alias.name)
        if node.module is None:
            submodules.extend(names)
        else:
            attrs.setdefault(node.module, []).extend(names)
    return attach(package_name, submodules=submodules, attrs=attrs)


class _LazyModule(_ModuleType):
    # A module object standing in for `_hs_name` until an attribute is read. Every attribute
    # access goes through __getattribute__ (a Python call, ~0.1 us): a fallback __getattr__
    # would be reached only after the module type raised and formatted an AttributeError,
    # which costs ten times more.
    __slots__ = ("_hs_module", "_hs_name")

    def __init__(self, name: str) -> None:
        _ModuleType.__init__(self, name)
        _set_name(self, name)
        _set_module(self, None)

    def __getattribute__(self, attr: str):
        module = _get_module(self)
        if module is None:
            if attr == "__class__":  # isinstance(proxy, X) reads it: not a reason to load
                return _LazyModule
            module = _load(self)
        return getattr(module, attr)

    def __setattr__(self, attr: str, value) -> None:
        setattr(_get_module(self) or _load(self), attr, value)

    def __delattr__(self, attr: str) -> None:
        delattr(_get_module(self) or _load(self), attr)

    def __dir__(self) -> list:
        return dir(_get_module(self) or _load(self))

    def __repr__(self) -> str:
        module = _get_module(self)
        if module is None:
            return f"<lazy module {_get_name(self)!r} (not loaded)>"
        return f"<lazy module {_get_name(self)!r} (loaded: {module!r})>"


_get_name = _LazyModule._hs_name.__get__
_set_name = _LazyModule._hs_name.__set__
_get_module = _LazyModule._hs_module.__get__
_set_module = _LazyModule._hs_module.__set__


def _load(proxy: _LazyModule):
    # No lock of ours: the import system's per-module lock makes concurrent first accesses
    # run the module body once, and __import__ waits for a module another thread is still
    # initialising (sys.modules alone could hand out a half-initialised module).
    module = _import(_get_name(proxy))
    _set_module(proxy, module)
    return module


def lazy_import(name: str) -> _ModuleType:
    """A module object for `name` that imports the real module on first attribute access.

        np = lazy_import("numpy")   # nothing imported yet
        np.zeros(3)                 # imports numpy here

    If `name` is already in ``sys.modules`` (or ``HOTSTART_EAGER=1``), returns the real
    module. Thread-safe: threads touching it at once import it once. An import error is
    raised at the access that triggered it, and the next access tries again. ``repr`` says
    whether it is loaded; ``dir()`` loads it.

    Cost: after loading, each attribute access is forwarded by a Python-level
    ``__getattribute__`` (about 0.1 us, several times a plain module attribute). Where it
    matters, bind the real module instead: after first use ``sys.modules[name]`` is the
    module, so ``import name`` inside a hot function costs a dictionary lookup.
    """
    if name in sys.modules or eager():
        return _import(name)
    return _LazyModule(name)


_getframemodulename = getattr(sys, "_getframemodulename", None)


def caller_module(depth: int = 1) -> str:
    """The name of the module that called the function that calls `caller_module`.

        def get_logger():
            return logging.getLogger(caller_module())   # the module calling get_logger()

    `depth` counts frames above the function calling `caller_module` (depth=0: that
    function's own module). Costs about a microsecond, where ``inspect.stack()`` builds
    source context for every frame. For code run by ``exec`` with globals lacking
    ``__name__`` it uses ``__spec__.name``, then the module whose ``__file__`` is the code's
    file, then ``"__main__"``. Raises `ValueError` if the stack is not that deep.
    """
    if _getframemodulename is not None:
        name = _getframemodulename(depth + 1)
        if name is not None:
            return name
    frame = sys._getframe(depth + 1)
    namespace = frame.f_globals
    name = namespace.get("__name__")
    if isinstance(name, str):
        return name
    spec_name = getattr(namespace.get("__spec__"), "name", None)
    if isinstance(spec_name, str):
        return spec_name
    filename = frame.f_code.co_filename
    for module_name, module in sys.modules.copy().items():
        if getattr(module, "__file__", None) == filename:
            return module_name
    return "__main__"


def lazy_import_statements(source: str) -> list[tuple[int, str]]:
    """PEP 810 ``lazy import`` statements in `source`, as ``[(line, module), ...]``.

    One entry per module named: ``lazy import a, b.c as d`` gives ``(n, "a")`` and
    ``(n, "b.c")``; ``lazy from .x import y`` gives ``(n, ".x")``. Reads tokens, not a syntax
    tree, so it works on every Python version (``ast`` before 3.15 cannot parse ``lazy``).
    Raises `tokenize.TokenError` if the source cannot be tokenized.
    """
    return [(line, module) for line, module, _col in _lazy_statements(source)]


def _lazy_statements(source: str) -> list:
    """[(line, module, column of `lazy`)] for each PEP 810 lazy import statement."""
    import io
    import tokenize

    NAME, OP = tokenize.NAME, tokenize.OP
    skip = (tokenize.COMMENT, tokenize.NL)
    starts = (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING)
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in skip]
    found = []
    index = 0
    while index < len(tokens) - 1:
        tok = tokens[index]
        previous = tokens[index - 1] if index else None
        at_start = previous is None or previous.type in starts or \
            (previous.type == OP and previous.string == ";")
        nxt = tokens[index + 1]
        if not (at_start and tok.type == NAME and tok.string == "lazy" and nxt.type == NAME
                and nxt.string in ("import", "from")):
            index += 1
            continue
        line, col = tok.start
        index += 2
        if nxt.string == "from":
            module = ""
            while index < len(tokens) and not (tokens[index].type == NAME
                                               and tokens[index].string == "import"):
                module += tokens[index].string
                index += 1
            found.append((line, module, col))
        else:
            module, expect_alias = "", False
            while index < len(tokens) and tokens[index].type not in starts and not (
                    tokens[index].type == OP and tokens[index].string == ";"):
                text = tokens[index].string
                if text == ",":
                    found.append((line, module, col))
                    module, expect_alias = "", False
                elif text == "as":
                    expect_alias = True
                elif not expect_alias:
                    module += text
                index += 1
            if module:
                found.append((line, module, col))
    return found


def _parse_any_version(source: str, filename: str = "<unknown>") -> tuple:
    """`ast.parse(source)`, reading PEP 810 `lazy import` statements as the plain imports they
    are before 3.15; returns ``(tree, {lines of lazy statements})``. `SyntaxError` for source
    that is invalid for another reason."""
    import ast

    try:
        return ast.parse(source, filename), set()
    except SyntaxError:
        try:
            statements = _lazy_statements(source)
        except Exception:  # noqa: BLE001 (any failure: not PEP 810 syntax)
            statements = None
        if not statements:
            raise  # not PEP 810 syntax: the source is invalid
        lines = source.splitlines(keepends=True)
        # right to left, once per statement: two on one line (`;`) keep their columns
        for line, col in sorted({(line, col) for line, _module, col in statements},
                                reverse=True):
            text = lines[line - 1]
            if text[col:col + 4] != "lazy":  # columns counted differently (non-ASCII line)
                col = text.find("lazy")
            # `lazy import x` -> `import x`: the plain import it is before 3.15
            lines[line - 1] = text[:col] + text[col + 4:].lstrip(" \t")
        return ast.parse("".join(lines), filename), {line for line, _m, _c in statements}


def lazy_modules_declared(source: str) -> list[str]:
    """Module names a module-level ``__lazy_modules__`` declares in `source` (PEP 810).

    Accepts ``__lazy_modules__ = [...]`` (also a tuple or set, annotated, or ``+=``) of
    string literals; several assignments give their names in order, each once. ``[]`` if
    there is none. Source that also uses ``lazy import`` is read too: those statements are
    parsed as the plain imports they become before 3.15. Raises `ValueError` naming the
    line if the value is not a literal of strings, `SyntaxError` for invalid source.
    """
    import ast

    tree, _lazy_lines = _parse_any_version(source)
    names: list = []
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "__lazy_modules__" for t in targets):
            continue
        if not (isinstance(value, (ast.List, ast.Tuple, ast.Set)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts)):
            raise ValueError(f"line {node.lineno}: __lazy_modules__ must be a list, tuple or "
                             f"set of string literals")
        for element in value.elts:
            if element.value not in names:
                names.append(element.value)
    return names
