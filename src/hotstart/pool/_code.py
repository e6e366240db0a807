"""Source-code tasks: what a worker runs for ``run_code(code, function, ...)`` on any backend.

An evaluation service runs generated *source*, not pickled callables: code text, the name of
a function it defines, arguments, and per-call ``python_path`` additions and environment
updates. `run_code_task` is the task every backend sends (a module-level function of a
module that imports only the standard library, so it pickles by name and costs a worker
nothing to load):

1. the code is compiled under a stable file name, ``<hotstart-code-SHA>`` (SHA: the first 12
   hex digits of the code's SHA-256), entered in `linecache`, so a traceback through it shows
   its lines; the same code always gets the same name, different code never shares one;
2. it runs as a fresh module namespace (``__name__`` is ``"__hotstart_code__"``), with the
   call's ``python_path`` entries put in front of ``sys.path`` and its ``env_updates`` applied
   to ``os.environ`` (``None`` unsets a name);
3. `function` is called with the arguments; its result is the task's result;
4. whatever happened, ``sys.path`` and ``os.environ`` are put back, and the modules imported
   from the call's ``python_path`` entries are dropped from ``sys.modules`` (the next call,
   with other paths, must import its own ``helpers``, not this call's).

A syntax error, a module body that raises, and a missing or non-callable function raise
`CodeError`, a `RemoteError` whose one-line message names the line (``<hotstart-code-..>`` line
3: SyntaxError: ...). An exception raised by the function itself is raised as itself, like any
task's, with the remote traceback showing the code's lines.

On the local `WarmPool` every task's state is put back by the worker as well; on Dask, whose
workers run tasks in threads of one process, ``env_updates`` and ``python_path`` are
process-wide for the duration of the call (exact with ``nthreads=1`` workers: see
docs/backends.md).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Any

__all__ = ["code_filename", "run_code_task"]

MODULE_NAME = "__hotstart_code__"


def code_filename(code: str) -> str:
    """The stable file name tracebacks show for `code`."""
    import hashlib

    digest = hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<hotstart-code-{digest[:12]}>"


def run_code_task(code: str, function: str, args: tuple = (), kwargs: Mapping[str, Any] | None
                  = None, python_path: Iterable[str] = (),
                  env_updates: Mapping[str, str | None] | None = None) -> Any:
    """Compile and run `code`, call its `function` (see the module docstring)."""
    from .errors import CodeError

    if not isinstance(code, str):
        raise CodeError(f"run_code: code must be a str, not {type(code).__name__}")
    if not isinstance(function, str) or not function.isidentifier():
        raise CodeError(f"run_code: function must be a function name, not {function!r}")
    paths = []
    for entry in python_path:
        path = os.fspath(entry) if isinstance(entry, (str, os.PathLike)) else entry
        if not isinstance(path, str) or "\0" in path or not _encodable(path):
            raise CodeError(f"run_code: python_path: {entry!r} is not a directory path (a str)")
        # Absolute now: a relative entry must not follow a chdir of the code (the modules
        # imported from it are found by it afterwards, to be dropped).
        paths.append(os.path.abspath(path) if path else path)
    updates = dict(env_updates or {})
    for name, value in updates.items():
        if (not isinstance(name, str) or not name or "=" in name or "\0" in name
                or not _encodable(name)):
            raise CodeError(f"run_code: env_updates: {name!r} is not an environment "
                            f"variable name")
        if value is not None and (not isinstance(value, str) or "\0" in value
                                  or not _encodable(value)):
            raise CodeError(f"run_code: env_updates[{name!r}] must be a str (encodable, "
                            f"without NUL) or None")
    filename = code_filename(code)
    _remember_source(filename, code)
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f"{filename} line {exc.lineno}" if exc.lineno else filename
        raise CodeError(f"{where}: SyntaxError: {exc.msg}", line=exc.lineno) from None
    except (ValueError, TypeError) as exc:  # null bytes in the source
        raise CodeError(f"{filename}: cannot compile: {exc}") from None
    except (RecursionError, MemoryError) as exc:  # nesting deeper than the parser allows
        raise CodeError(f"{filename}: cannot compile: {type(exc).__name__}: the code nests "
                        f"too deeply") from None
    saved_path = list(sys.path)
    saved_env = dict(os.environ) if updates else None
    known = set(sys.modules) if paths else None
    try:
        if paths:
            sys.path[:0] = paths
        if updates:
            for name, value in updates.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        namespace: dict[str, Any] = {"__name__": MODULE_NAME, "__file__": filename,
                                     "__builtins__": __builtins__}
        try:
            exec(compiled, namespace)  # noqa: S102 - running the caller's code is the job
        except BaseException as exc:  # sys.exit() in the module body too
            line = _code_line(exc, filename)
            where = f"{filename} line {line}" if line else filename
            raise CodeError(f"{where}: the code raised {type(exc).__name__} while it was "
                            f"being run: {exc}", line=line) from exc
        target = namespace.get(function)
        if target is None:
            defined = sorted(name for name, value in namespace.items()
                             if callable(value) and not name.startswith("__"))
            listing = ", ".join(defined[:12]) or "no functions"
            raise CodeError(f"{filename}: the code defines no {function!r} (it defines: "
                            f"{listing})")
        if not callable(target):
            raise CodeError(f"{filename}: {function!r} is a {type(target).__name__}, not a "
                            f"function")
        return target(*tuple(args), **dict(kwargs or {}))
    finally:
        sys.path[:] = saved_path
        if saved_env is not None:
            from .env import apply

            apply(saved_env)
        if known is not None:
            _forget_modules_from(paths, known)


def _encodable(text: str) -> bool:
    """Whether `text` can go into the environment or ``sys.path`` (no lone surrogates the
    file system encoding cannot write)."""
    try:
        os.fsencode(text)
    except UnicodeError:
        return False
    return True


def _remember_source(filename: str, code: str) -> None:
    import linecache

    # A `mtime` of None marks an entry linecache.checkcache() keeps (no file to compare).
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def _code_line(exc: BaseException, filename: str) -> int | None:
    """The deepest line of `filename` in the traceback of `exc`."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _forget_modules_from(paths: list[str], known: set[str]) -> None:
    """Drop the modules this call imported from its own `paths` (they would shadow the next
    call's modules of the same name)."""
    roots = tuple(os.path.join(os.path.abspath(p), "") for p in paths if p)
    if not roots:
        return
    for name in [n for n in sys.modules if n not in known]:
        module = sys.modules.get(name)
        where = getattr(module, "__file__", None) or ""
        if where and os.path.abspath(where).startswith(roots):
            del sys.modules[name]
