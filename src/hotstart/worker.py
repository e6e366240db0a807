"""A worker's entrypoint: preload the modules a job needs once, then serve in that process.

``hotstart worker`` and ``python -m hotstart.worker`` (the same code) in a container image::

    ENTRYPOINT ["hotstart", "worker", "--"]
    CMD ["-m", "jobrunner", "compute", "/jobs/clean.json"]

with ``HOTSTART_PRELOAD=jobrunner.pipeline,jobrunner.plugins.sources,...`` in the pod's
environment, computed on the master from the job spec (``hotstart preload SPEC --package PKG
--format env``; ``examples/k8s`` renders a manifest with it).

1. **The list.** ``--preload a,b`` and ``--spec SPEC --package PKG`` (the modules the spec's
   ``@type`` names map to: `hotstart.pool._startup.resolve_preload`, as `WarmPool` and
   ``hotstart preload`` compute it), else ``HOTSTART_PRELOAD``
   (`hotstart.registry.spec.decode_preload`); nothing set: nothing preloaded.
2. **Preload** in this process with `hotstart.pool.backends._task.preload_here`: one line per
   module on stderr (ok, milliseconds, resident memory added; or the module's real error),
   then the total (``-q``: failures only). ``--report FILE`` writes the report as JSON
   (atomically, before the command starts, so a probe can read it): the list, where it came
   from, and per module ``ok``, ``seconds``, ``rss``, ``error`` and ``traceback``.
3. **A module that fails to import** ends the worker before anything runs: one line naming
   the module and exit status 1; ``--on-preload-error warn`` says so and goes on without it.
4. **Serve.** After ``--``, a Python command line, run in this interpreter as ``python`` would
   run it (``sys.argv``, ``sys.path[0]``, a ``__main__`` module of its own, ``__file__`` and
   traceback paths as python sets them; ``-m`` through `runpy`), so the preloaded modules
   are already in ``sys.modules`` and their import is not paid again:

   - ``-m MODULE ARGS...``, ``SCRIPT ARGS...`` (a file, or a directory or zip with
     ``__main__.py``), ``-c CODE ARGS...``; a leading ``python``/``python3`` word is
     accepted and means this interpreter;
   - ``NAME ARGS...``: an installed console script (a ``console_scripts`` entry point, such
     as ``jobrunner``): its function is called as the generated script would call it.

   The exit status is the command's; an exception it raises is printed as python prints it
   (its own traceback, no frames of hotstart's). With no ``--`` the worker preloads, reports
   and exits (0, or 1 when a module failed): a check for an image build or an init container.

Exit status: the command's; 1: a preload module failed (nothing ran); 2: bad input (an
unknown option, an unreadable spec, a --report path that cannot be written, a bad
``HOTSTART_PRELOAD``, a command that is not Python): one line, no traceback. As process 1
of a container (no init), SIGTERM ends it with status 143 after ``finally`` blocks and
atexit handlers ran (the kernel would ignore the signal otherwise), unless the command
handles SIGTERM itself.

**Dask.** ``dask worker SCHEDULER --preload hotstart.worker`` calls `dask_setup` in each
worker process: it preloads ``HOTSTART_PRELOAD`` (with ``_task.preload_here``, run by a
``DaskPreloadPlugin`` it adds on the worker, so that the report combines with the plugins a
`DaskBackend` adds later), prints the same lines on stderr, and the report is what
`hotstart.pool.backends._task.preload_report` returns there. A worker whose preload failed
stays up, says which module in one line, and runs none of the backend's tasks (they fail
with `PreloadError`, naming the module): Dask catches whatever a preload raises and starts
the worker anyway, so raising would only print a traceback. It is configured by the
environment alone: ``dask_setup`` is a plain coroutine function, not a click command, so it
takes no ``--preload-argv``.

**Ray.** Ray starts its worker processes itself (the raylet), never through this entrypoint:
hotstart's Ray backend sends its preload list (``HOTSTART_PRELOAD`` in the ``runtime_env`` of
its tasks) with Ray's worker setup hook, which runs `preload_here` in every worker process
before it takes a task. A Ray pod needs hotstart installed, and nothing set: the list travels
with the backend's tasks. For Ray tasks of your own, `ray_setup` is the same hook:
``ray.init(runtime_env={"worker_process_setup_hook": "hotstart.worker.ray_setup",
"env_vars": {"HOTSTART_PRELOAD": "pandas,jobrunner.pipeline"}})``.

Importing this module loads nothing but ``os`` and ``sys``; the parser, JSON, the registry
and `runpy` load when they are used.
"""

import os
import sys

__all__ = ["dask_setup", "main", "ray_setup"]

PROG = "hotstart worker"

EPILOG = """\
command (after '--', run in this interpreter with the preloaded modules):
  -m MODULE [ARGS]   as python -m MODULE
  SCRIPT [ARGS]      as python SCRIPT (a file, or a directory or zip with __main__.py)
  -c CODE [ARGS]     as python -c CODE
  NAME [ARGS]        an installed console script (entry point), e.g. jobrunner
  a leading 'python' or 'python3' is accepted; with no '--', preload, report and exit.

The list: --preload and --spec/--package, else HOTSTART_PRELOAD (a,b,c).
Exit status: the command's; 1: a preload module failed (nothing ran); 2: bad input.

Dask:  dask worker SCHEDULER --preload hotstart.worker   (HOTSTART_PRELOAD in its environment;
       dask_setup preloads in each worker process and keeps the report for hotstart's backend)
Ray:   Ray starts its workers itself: hotstart's Ray backend runs the same preload in each
       worker process through Ray's setup hook, with the list it sends in its tasks'
       runtime_env (RayBackend(preload=...), or the client's HOTSTART_PRELOAD). The Ray pod
       needs hotstart installed, no entrypoint. For your own Ray tasks, name the hook
       hotstart.worker.ray_setup in ray.init's runtime_env, HOTSTART_PRELOAD in its env_vars.
"""

#: The interpreter names a command may start with (``python -m x``): this interpreter.
_PYTHON_WORDS = ("python", "python3", f"python3.{sys.version_info[1]}")


class _Target:
    """What to run: `kind` is "module", "script", "code" or "entry"; `name` the module, the
    path, the code or the console script's name; `args` what follows it."""

    __slots__ = ("kind", "name", "args", "entry_point")

    def __init__(self, kind: str, name: str, args: list, entry_point: object = None) -> None:
        self.kind, self.name, self.args, self.entry_point = kind, name, args, entry_point


def main(argv: "list[str] | None" = None, prog: str = PROG) -> int:
    """Run the entrypoint with `argv` (default ``sys.argv[1:]``); returns the exit status.
    `prog` names the command in its help (``hotstart worker`` or ``python -m
    hotstart.worker``); errors are always ``hotstart worker: error: ...``."""
    from .errors import HotstartError

    args = sys.argv[1:] if argv is None else list(argv)
    try:
        options, command = _split(args)
        namespace = _parser(prog).parse_args(options)
        target = _target(command) if command is not None else None
        _set_path0(target)  # the list (a spec's package too) is found as the command finds it
        modules, source = _preload_list(namespace)
        if namespace.report is not None:
            from ._files import check_writable

            check_writable(namespace.report)
    except HotstartError as exc:
        return _error(exc)
    _terminate_as_pid_1()
    report = _preload(modules, quiet=namespace.quiet, source=source)
    report = {"schema": "hotstart.worker/1", "source": source, "preload": modules,
              "command": command, **report}
    failed = [entry for entry in report["modules"] if not entry["ok"]]
    report["ok"] = not failed
    if namespace.report is not None:
        import json

        from ._files import write_atomic

        try:
            write_atomic(namespace.report, json.dumps(report, indent=1) + "\n")
        except HotstartError as exc:
            return _error(exc)
    if failed:
        first = failed[0]
        more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
        where = {"HOTSTART_PRELOAD": "HOTSTART_PRELOAD", "--spec": "the spec"}.get(
            source, "--preload")
        text = (f"preload module {first['module']!r} failed to import: {first['error']}"
                f"{more}")
        if namespace.on_preload_error == "fail":
            _say(f"error: {text}; fix the image or remove it from {where}, or pass "
                 f"--on-preload-error warn")
            return 1
        _say(f"warning: {text}; going on without it")
    if target is None:
        return 0
    return _run(target)


# -- options ---------------------------------------------------------------------------------

def _split(args: list) -> tuple:
    """(the worker's options, the command after ``--`` or None)."""
    if "--" not in args:
        return args, None
    index = args.index("--")
    command = args[index + 1:]
    if not command:
        from .errors import BadInput

        raise BadInput("no command after '--': give -m MODULE, SCRIPT, -c CODE or a console "
                       "script, or leave out '--' to preload and exit")
    return args[:index], command


def _parser(prog: str):
    import argparse

    from .errors import BadInput

    class Parser(argparse.ArgumentParser):
        def error(self, message: str):  # one line, not usage + error
            raise BadInput(f"{message}; see '{prog} --help'")

    parser = Parser(prog=prog, usage=f"{prog} [options] [-- COMMAND [ARGS...]]",
                    description="Preload the modules a job needs in this process, report\n"
                    "what each cost, then run COMMAND here with them already imported.",
                    epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preload", action="append", default=[], metavar="A,B",
                        help="modules to preload, comma-separated (repeatable); with --spec "
                             "too, these come first. Default: HOTSTART_PRELOAD")
    parser.add_argument("--spec", action="append", default=[], metavar="SPEC",
                        help="a job spec (JSON, YAML, TOML, CUE): preload the modules its "
                             "@type names map to (repeatable; needs --package)")
    parser.add_argument("--package", action="append", default=[], metavar="PACKAGE_OR_PATH",
                        help="where the spec's types are registered (repeatable)")
    parser.add_argument("--on-preload-error", choices=("fail", "warn"), default="fail",
                        help="fail (default): exit 1 before running anything; warn: say so "
                             "and go on")
    parser.add_argument("--report", metavar="FILE",
                        help="write the preload report as JSON (atomically) before the "
                             "command starts")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only failures, not a line per module")
    return parser


def _preload_list(namespace) -> tuple:
    """(modules, where they came from: "--preload", "--spec" or "HOTSTART_PRELOAD")."""
    from .errors import BadInput
    from .registry.spec import PRELOAD_ENV, decode_preload, encode_preload

    if namespace.package and not namespace.spec:
        raise BadInput("--package is read with --spec only: give the job spec too, or list "
                       "the modules with --preload")
    if not namespace.preload and not namespace.spec:
        try:
            return decode_preload(), PRELOAD_ENV
        except ValueError as exc:
            raise BadInput(f"{exc}; set it to module names separated by commas, e.g. "
                           f"{PRELOAD_ENV}=numpy,pkg.mod") from None
    modules: list = []
    for item in namespace.preload:
        names = [name.strip() for name in item.split(",") if name.strip()]
        try:
            encode_preload(names)
        except ValueError as exc:
            raise BadInput(f"--preload {item!r}: {exc}; give module names separated by "
                           f"commas, e.g. --preload numpy,pkg.mod") from None
        modules += [name for name in names if name not in modules]
    if not namespace.spec:
        return modules, "--preload"
    if not namespace.package:
        raise BadInput("--spec needs --package: the package (or source path) whose "
                       "@register calls name the spec's types")
    from .pool._startup import resolve_preload
    from .pool.errors import PreloadError

    package = namespace.package[0] if len(namespace.package) == 1 else namespace.package
    try:
        return resolve_preload(modules, namespace.spec, package), "--spec"
    except (PreloadError, ValueError, TypeError, ImportError, OSError) as exc:
        raise BadInput(str(exc)) from None


def _target(command: list) -> _Target:
    """The command after ``--``, checked before anything is preloaded."""
    from .errors import BadInput

    first = command[0]
    if os.path.basename(first) in _PYTHON_WORDS or first == sys.executable:
        command = command[1:]
        if not command:
            raise BadInput(f"{first!r} alone: this worker is the interpreter; give -m "
                           f"MODULE, SCRIPT or -c CODE after it")
        first = command[0]
    if first in ("-m", "-c"):
        if len(command) < 2 or not command[1]:
            raise BadInput(f"{first} needs an argument ({'a module' if first == '-m' else 'code'})")
        return _Target("module" if first == "-m" else "code", command[1], command[2:])
    if first.startswith("-"):
        raise BadInput(f"{first!r}: the command runs in this interpreter, which takes no "
                       f"python options; give -m MODULE, SCRIPT, -c CODE or a console script "
                       f"(set PYTHON* variables in the environment instead)")
    if os.path.exists(first) or os.sep in first or first.endswith((".py", ".pyz")):
        if not os.path.exists(first):
            raise BadInput(f"can't open file {os.path.abspath(first)!r}: no such file")
        if not os.path.isdir(first) and not first.endswith(".pyz") and _binary(first):
            raise BadInput(f"{first!r} is not a Python script (a program, not source): the "
                           f"worker runs Python commands in its own interpreter; exec the "
                           f"program directly")
        return _Target("script", first, command[1:])
    from importlib.metadata import entry_points

    found = list(entry_points(group="console_scripts", name=first))
    if not found:
        import shutil

        what = ("is not a console script of this environment" if shutil.which(first)
                else "is neither a file nor an installed console script")
        raise BadInput(f"{first!r} {what}: the worker runs Python commands in its own "
                       f"interpreter (-m MODULE, SCRIPT, -c CODE or a console script)")
    return _Target("entry", first, command[1:], found[0])


def _binary(path: str) -> bool:
    """Whether `path` starts like a compiled program (NUL bytes: ELF, a zip), not source."""
    try:
        with open(path, "rb") as handle:
            return b"\0" in handle.read(4096)
    except OSError:
        return False


# -- preloading ------------------------------------------------------------------------------

def _preload(modules: list, *, quiet: bool, source: str) -> dict:
    """`preload_here(modules)`, with a line per module on stderr and the total."""
    from .pool.backends._task import preload_here

    return _show_report(preload_here(modules), modules, quiet=quiet, source=source)


def _show_report(report: dict, modules: list, *, quiet: bool, source: str,
                 label: str = "") -> dict:
    """A line per module of `report` on stderr (failures only with `quiet`), then the total;
    returns `report`."""
    width = max((len(entry["module"]) for entry in report["modules"]), default=0)
    for entry in report["modules"]:
        if entry["ok"]:
            if not quiet:
                _say(f"{label}ok      {entry['module']:<{width}}  {entry['seconds'] * 1e3:8.1f} ms"
                     f"  {_mb(entry['rss'], sign=True)}  ({_count(entry['modules'])})")
        else:
            _say(f"{label}FAILED  {entry['module']:<{width}}  {entry['error']}")
    if not quiet:
        if modules:
            ok = sum(entry["ok"] for entry in report["modules"])
            _say(f"{label}preloaded {ok} of {len(modules)} modules in "
                 f"{report['seconds'] * 1e3:.1f} ms; resident {_mb(report['rss'])}, "
                 f"{report['module_count']} modules loaded")
        else:
            empty = "is empty or not set" if source == "HOTSTART_PRELOAD" else "is empty"
            _say(f"{label}nothing to preload ({source} {empty})")
    return report


def _count(modules: int) -> str:
    return f"{modules} module{'' if modules == 1 else 's'}"


def _mb(value: "int | None", sign: bool = False) -> str:
    if value is None:
        return "? MB"
    return f"{value / 2**20:{'+' if sign else ''}.1f} MB"


def _say(text: str) -> None:
    from ._text import printable

    try:
        sys.stderr.write(f"{PROG}: {printable(text)}\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):  # no stderr (2>&-): the status still says it
        pass


def _error(exc: BaseException) -> int:
    _say(f"error: {exc}")
    return getattr(exc, "exit_code", 2)


# -- running the command ---------------------------------------------------------------------

def _terminate_as_pid_1() -> None:
    """As process 1 of a container started without an init, SIGTERM (what ``docker stop``
    and Kubernetes send) is ignored by the kernel unless the process handles it, and the
    container is killed at the end of its grace period. Handle it as python handles SIGINT:
    `SystemExit` (status 143, 128 + SIGTERM) in the main thread, so ``finally`` blocks and
    atexit handlers run. A command that sets its own handler replaces this one."""
    if os.getpid() != 1:
        return
    import signal

    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def terminate(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)


def _set_path0(target: "_Target | None") -> None:
    """``sys.path[0]`` as python would set it for `target` (before the preload, so the
    preloaded modules are the ones the command would import): the current directory for
    ``-m``, ``''`` for ``-c``, the script's directory (or the directory or zip itself). Left
    alone with ``-P``/PYTHONSAFEPATH, and with no command."""
    if target is None or sys.flags.safe_path or not sys.path:
        return
    if target.kind == "module":
        sys.path[0] = os.getcwd()
    elif target.kind == "code":
        sys.path[0] = ""
    elif target.kind == "script":
        path = target.name
        sys.path[0] = (os.path.abspath(path) if not os.path.isfile(path) or
                       path.endswith(".pyz") else os.path.dirname(os.path.realpath(path)))


def _run(target: _Target) -> int:
    """Run `target` as python would; its exit status."""
    import runpy

    try:
        if target.kind == "module":
            import importlib.util

            try:
                found = importlib.util.find_spec(target.name)
            except (ImportError, ValueError) as exc:  # a parent package failed to import
                _say(f"error: error while finding module specification for {target.name!r} "
                     f"({type(exc).__name__}: {exc})")
                return 1
            if found is None:
                _say(f"error: no module named {target.name!r}")
                return 1
            sys.argv = ["-m", *target.args]  # runpy puts the module's file in argv[0]
            runpy.run_module(target.name, run_name="__main__", alter_sys=True)
        elif target.kind == "script" and os.path.isfile(target.name) and not \
                target.name.endswith(".pyz"):
            sys.argv = [target.name, *target.args]
            _run_script(target.name)
        elif target.kind == "script":  # a directory or zip with __main__.py
            sys.argv = [target.name, *target.args]
            runpy.run_path(target.name, run_name="__main__")
        elif target.kind == "code":
            sys.argv = ["-c", *target.args]
            _run_main(compile(target.name, "<string>", "exec", dont_inherit=True),
                      __loader__=sys.modules["_frozen_importlib"].BuiltinImporter)
        else:
            import shutil

            sys.argv = [shutil.which(target.name) or target.name, *target.args]
            function = target.entry_point.load()
            raise SystemExit(function())  # as the console script pip writes: sys.exit(main())
    except SystemExit as exc:
        return _exit_status(exc.code)
    except BaseException as exc:  # noqa: BLE001 - the command's own exception, as python shows it
        _show(exc)
        return 130 if isinstance(exc, KeyboardInterrupt) else 1
    return 0


def _run_script(path: str) -> None:
    """``python SCRIPT``: its code compiled with its absolute path (as python names it in
    tracebacks and ``__file__``), run in a fresh ``__main__`` module."""
    import io
    from importlib.machinery import SourceFileLoader

    absolute = os.path.abspath(path)
    with io.open_code(absolute) as handle:
        source = handle.read()
    _run_main(compile(source, absolute, "exec", dont_inherit=True), __file__=absolute,
              __cached__=None, __loader__=SourceFileLoader("__main__", absolute))


def _run_main(code: object, **attributes: object) -> None:
    """Run `code` in a fresh ``__main__`` module (``sys.modules["__main__"]`` while it runs),
    with `attributes` as python sets them for a script or ``-c``."""
    import types

    module = types.ModuleType("__main__")
    module.__dict__.update(__builtins__=sys.modules["builtins"], __spec__=None,
                           __package__=None, **attributes)
    previous = sys.modules.get("__main__")
    sys.modules["__main__"] = module
    try:
        exec(code, module.__dict__)
    finally:
        if previous is not None:
            sys.modules["__main__"] = previous


def _exit_status(code: object) -> int:
    """The status python exits with for ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    try:
        sys.stderr.write(f"{code}\n")
    except (OSError, ValueError, AttributeError):
        pass
    return 1


def _show(exc: BaseException) -> None:
    """Print `exc` through ``sys.excepthook`` without the frames of this module and runpy."""
    ours = {__file__, "<frozen runpy>", getattr(sys.modules.get("runpy"), "__file__", None)}
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    if tb is None and isinstance(exc, ImportError):  # runpy's own (a package without __main__)
        _say(f"error: {exc}")
        return
    exc.__traceback__ = tb  # the default hook prints the exception's own traceback
    try:
        sys.excepthook(type(exc), exc, tb)
    except Exception:  # noqa: BLE001 - a broken hook: python falls back to the default
        sys.__excepthook__(type(exc), exc, tb)


# -- Dask --------------------------------------------------------------------------------------

def ray_setup() -> None:
    """Ray's ``worker_process_setup_hook`` for your own Ray tasks: preload
    ``HOTSTART_PRELOAD`` (from the ``runtime_env``'s ``env_vars``) in each worker process and
    keep the report (`hotstart.pool.backends._task.preload_report()` in a task reads it). The
    hook `RayBackend` itself uses; never raises (a failure is in the report)."""
    from .pool.backends._ray import worker_setup

    worker_setup()


#: The name of the plugin `dask_setup` adds on each worker (see `dask_setup`).
DASK_PLUGIN = "hotstart-worker-preload"


async def dask_setup(worker: object) -> None:
    """Dask's preload hook (``dask worker ... --preload hotstart.worker``): preload
    ``HOTSTART_PRELOAD`` in this worker process and keep the report where hotstart's Dask
    backend reads it.

    The import runs as a `DaskPreloadPlugin` named `DASK_PLUGIN` added on this worker
    (without scrubbing the environment), so the report `run_task` checks combines it with
    the plugins a `DaskBackend` adds later: a failed module keeps the worker refusing the
    backend's tasks whatever list the backend preloads. Never raises (Dask would log a
    traceback and start the worker anyway): a module that fails, or a bad item in the list,
    is one line on stderr and a failed entry in the report."""
    from .registry.spec import PRELOAD_ENV, decode_preload

    name = getattr(worker, "address", None) or getattr(worker, "name", None) or os.getpid()
    label = f"dask {name}: "
    try:
        modules = decode_preload()
    except ValueError as exc:
        _say(f"{label}error: {exc}; each item is imported as given and fails")
        modules = [item.strip() for item in os.environ.get(PRELOAD_ENV, "").split(",")
                   if item.strip()]
    from .pool.backends._dask import DaskPreloadPlugin

    plugin = DaskPreloadPlugin(modules, scrub=False)
    outcome = await worker.plugin_add(plugin, name=DASK_PLUGIN)
    if plugin.report is None:  # its setup raised: Dask caught it
        _say(f"{label}error: the preload did not run: {outcome.get('exception_text', outcome)}")
        return
    report = _show_report(plugin.report, modules, quiet=False, source=PRELOAD_ENV, label=label)
    failed = [entry for entry in report["modules"] if not entry["ok"]]
    if failed:
        _say(f"{label}error: preload module {failed[0]['module']!r} failed to import: "
             f"{failed[0]['error']}; hotstart's Dask backend will not use this worker")


if __name__ == "__main__":
    # Run through the package's module, not this `__main__` copy: a command run here gets a
    # `__main__` of its own, and the preload report lives in one module either way.
    from hotstart.worker import main as _main

    sys.exit(_main(prog="python -m hotstart.worker"))
