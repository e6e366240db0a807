"""The run-time lazy mode: PEP 810's ``__lazy_modules__`` and lazy-imports filter, on 3.11+.

`enable`, `disable` and `set_filter` are re-exported by `hotstart.lazy` (see there and
docs/lazy-mode.md). Before 3.15 they drive one `hotstart.lazy._hook.Hook`; on an interpreter
with PEP 810 (it has ``sys.set_lazy_imports_filter``) they install no hook and forward to
the interpreter instead.
"""

import os
import sys

__all__ = ["ENV_VAR", "MODES", "disable", "enable", "mode_from_environment", "set_filter"]

#: The environment variable that chooses the mode for a whole process (like -X lazy_imports).
ENV_VAR = "HOTSTART_LAZY_IMPORTS"
MODES = ("normal", "all", "none")


class _State:
    """What this module did, so that `enable` is idempotent and `disable` undoes it."""

    hook = None  # the Hook this module installed
    user_filter = None  # set_filter's argument (before 3.15)
    mode = None  # the mode in force, None before enable()
    undo = None  # 3.15+: how to restore the interpreter's mode and filter
    warned = False  # the warning about a bad HOTSTART_LAZY_IMPORTS was given


def _interpreter_has_pep810() -> bool:
    return hasattr(sys, "set_lazy_imports_filter")


def _always(importing_module, imported_module, fromlist=None, /) -> bool:
    return True


def mode_from_environment() -> str | None:
    """``HOTSTART_LAZY_IMPORTS`` (``normal``, ``all`` or ``none``), or None if unset or empty.
    Raises `ValueError` naming the variable for any other value."""
    value = os.environ.get(ENV_VAR, "").strip().lower()
    if not value:
        return None
    if value not in MODES:
        raise ValueError(f"{ENV_VAR}={value!r}: expected one of {', '.join(MODES)}")
    return value


def enable(mode: str = "normal") -> str:
    """`hotstart.lazy.enable` (documented there)."""
    from hotstart.lazy import eager

    if mode not in MODES:
        raise ValueError(f"unknown lazy-imports mode {mode!r}: expected one of "
                         f"{', '.join(MODES)}")
    try:
        mode = mode_from_environment() or mode
    except ValueError as exc:
        # A library calling enable() must not kill the application over the user's typo:
        # say it once and keep the library's choice (`python -m hotstart.lazy` refuses it).
        if not _State.warned:
            _State.warned = True
            import warnings

            warnings.warn(f"hotstart.lazy: ignoring {exc}; using mode {mode!r}",
                          RuntimeWarning, stacklevel=3)
    if eager():  # also makes a PEP 810 interpreter's lazy imports eager
        mode = "none"
    if _interpreter_has_pep810():
        return _enable_interpreter(mode)
    from hotstart.lazy import _hook

    _State.mode = mode
    current = _hook.installed()
    if current is not None and current is not _State.hook:
        return "other hook"
    if mode == "none":
        if _State.hook is not None:
            _State.hook.uninstall()
            _State.hook = None
        return "eager"
    hook = _State.hook
    if hook is None:
        hook = _State.hook = _hook.install(_State.user_filter or _always)
        # The promise of the run-time mode: the program behaves as eagerly or fails loudly,
        # so a statement whose names only a lazy stand-in could serve stays eager.
        hook.stand_ins = False
    hook.lazy_modules_only = mode == "normal"
    return "hook"


def _enable_interpreter(mode: str) -> str:
    """PEP 810 interpreter: pass `mode` on; remember how to undo it."""
    from hotstart.lazy import _never_lazy

    _State.mode = mode
    if _State.undo is None:
        get_mode = getattr(sys, "get_lazy_imports", None)
        get_filter = getattr(sys, "get_lazy_imports_filter", None)
        _State.undo = (get_mode() if get_mode is not None else None,
                       get_filter() if get_filter is not None else None)
    if mode == "none":
        # 3.15.0 removed the "none" mode (gh-149321): a filter refusing every import does it.
        sys.set_lazy_imports_filter(_never_lazy)
        return "eager"
    if mode == "all":
        set_mode = getattr(sys, "set_lazy_imports", None)
        if set_mode is not None:
            set_mode("all")
    return "interpreter"


def disable() -> None:
    """`hotstart.lazy.disable` (documented there)."""
    if _State.hook is not None:
        _State.hook.uninstall()
        _State.hook = None
    if _State.undo is not None:
        old_mode, old_filter = _State.undo
        set_mode = getattr(sys, "set_lazy_imports", None)
        if old_mode is not None and set_mode is not None:
            set_mode(old_mode)
        sys.set_lazy_imports_filter(old_filter)
        _State.undo = None
    _State.mode = None


def set_filter(filter) -> None:
    """`hotstart.lazy.set_filter` (documented there)."""
    if filter is not None and not callable(filter):
        raise TypeError(f"the lazy-imports filter must be callable or None, not "
                        f"{type(filter).__name__}")
    if _interpreter_has_pep810():
        sys.set_lazy_imports_filter(filter)
        return
    _State.user_filter = filter
    if _State.hook is not None:
        _State.hook.filter = filter or _always
