"""``python -m hotstart.lazy [-m MODULE | -c CODE | SCRIPT] [ARGS...]``: run a program with
the run-time lazy mode on, like ``python -X lazy_imports=MODE`` on 3.15.

The mode comes from ``HOTSTART_LAZY_IMPORTS`` (``normal`` -- the default: modules' own
``__lazy_modules__`` --, ``all`` or ``none``); ``HOTSTART_EAGER=1`` wins over it. The program
runs in this interpreter as ``__main__``, with ``sys.argv`` and ``sys.path[0]`` as
``python -m MODULE``/``python -c``/``python SCRIPT`` would set them, and the same exit code.
An uncaught exception prints its traceback without the launcher's frames and exits with 1.
"""

import os
import sys

__all__ = ["main"]

_USAGE = ("usage: python -m hotstart.lazy [-m MODULE | -c CODE | SCRIPT] [ARGS...]\n"
          "Runs the program with lazy imports: HOTSTART_LAZY_IMPORTS=normal (default: each "
          "module's\n__lazy_modules__), all (every module-scope import) or none; "
          "HOTSTART_EAGER=1 wins.\n")


def _fail(message: str, code: int = 2):
    sys.stderr.write(f"hotstart: error: {message}\n")
    return code


def main(argv: list[str]) -> int:
    """Run the program `argv` describes (the launcher's arguments); return its exit code."""
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(_USAGE)
        return 0 if argv else 2
    from hotstart.lazy import _mode

    try:
        mode = _mode.mode_from_environment() or "normal"
    except ValueError as exc:
        return _fail(str(exc))
    first = argv[0]
    if first in ("-m", "-c"):
        if len(argv) < 2:
            return _fail(f"python -m hotstart.lazy: {first} needs an argument")
        target, args = argv[1], argv[2:]
    elif first.startswith("-"):
        return _fail(f"python -m hotstart.lazy: unknown option {first!r}; expected -m "
                     f"MODULE, -c CODE or SCRIPT")
    else:
        target, args = first, argv[1:]
        if not os.path.exists(target):
            return _fail(f"cannot open {target!r}: no such file or directory")
    # On before anything of the program is imported: `-m pkg.sub` imports pkg here.
    _mode.enable(mode)
    if first == "-m":
        import importlib.util

        try:
            found = importlib.util.find_spec(target) is not None
        except (ImportError, ValueError):
            found = False
        except Exception as exc:  # noqa: BLE001 (the parent package's own error, as python)
            return _fail(f"error while finding module specification for {target!r} "
                         f"({type(exc).__name__}: {exc})", 1)
        if not found:
            return _fail(f"no module named {target!r}", 1)
    return _run(first, target, args)


def _run(kind: str, target: str, args: list[str]) -> int:
    import runpy

    try:
        if kind == "-m":
            sys.argv[:] = [target, *args]  # runpy puts the module's file in argv[0]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        elif kind == "-c":
            sys.argv[:] = ["-c", *args]
            sys.path[0] = ""
            main_module = type(sys)("__main__")
            main_module.__builtins__ = __builtins__
            sys.modules["__main__"] = main_module
            exec(compile(target, "<string>", "exec"), main_module.__dict__)  # noqa: S102 (python -c)
        else:
            sys.argv[:] = [target, *args]
            sys.path[0] = os.path.dirname(os.path.realpath(target))
            _run_script(target)
    except SystemExit:
        raise
    except BaseException as exc:  # the program's own error: its traceback, as python shows it
        if isinstance(exc, KeyboardInterrupt):
            raise
        trace = exc.__traceback__
        launcher = (__file__, runpy.__file__)
        while trace is not None and (trace.tb_frame.f_code.co_filename in launcher
                                     or trace.tb_frame.f_code.co_filename == "<frozen runpy>"):
            trace = trace.tb_next
        sys.excepthook(type(exc), exc.with_traceback(trace), trace)
        return 1
    return 0


def _run_script(target: str) -> None:
    """``python SCRIPT``: ``__file__`` absolute (3.9+), ``sys.argv[0]`` as given. A
    directory or zip file with a ``__main__.py`` goes to runpy, as python does."""
    import runpy

    path = os.path.abspath(target)
    if not os.path.isdir(path):
        with open(path, "rb") as file:
            source = file.read()
        if not source.startswith(b"PK\x03\x04"):
            _exec_main(path, source)
            return
    runpy.run_path(target, run_name="__main__")


def _exec_main(path: str, source: bytes) -> None:
    """Run `source` as ``__main__`` from the file `path`, as python runs a script."""
    from importlib.machinery import SourceFileLoader

    main_module = type(sys)("__main__")
    main_module.__file__ = path
    main_module.__cached__ = None
    main_module.__loader__ = SourceFileLoader("__main__", path)
    main_module.__builtins__ = __builtins__
    sys.modules["__main__"] = main_module
    exec(compile(source, path, "exec"), main_module.__dict__)  # noqa: S102 (python SCRIPT)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
