"""The lazy trial's side of a target process: every module-scope import made lazy, and what
the path really used written down at exit.

The trial driver (`hotstart.trial._trial`) copies this file as ``sitecustomize.py`` into a
private directory put first on ``PYTHONPATH``, as the profiler does with its tracer. It reads
(and removes from the environment, with its own directory on ``PYTHONPATH``, so that
processes the target starts run untouched, the environment's sitecustomize included):

- ``HOTSTART_TRIAL_MODE``: ``lazy`` (make imports lazy) or ``eager`` (only record);
- ``HOTSTART_TRIAL_OUT``: where to write the record at exit (none: timed runs record
  nothing);
- ``HOTSTART_TRIAL_EAGER``: comma-separated top-level packages kept eager (the per-package
  fallback): an import is eager if the importing or the imported module is in one
  (``__main__`` keeps the entry's own imports eager: `-c "import pandas"` imports pandas);
- ``HOTSTART_TRIAL_EFFECTS``: comma-separated top-level packages whose imports kept for a
  side effect (``import x`` whose name the module never reads) stay eager;
- ``HOTSTART_TRIAL_SRC``: the directory holding the ``hotstart`` package, for the hook;
- ``HOTSTART_TRIAL_PROJECT``: a file naming the project, one path a line (a directory ends
  in a separator; any other line is one file): only imports executed by a module whose file
  is the project's are deferred (the project bound: what rewriting the project's own files
  can reach). Below a directory, a ``site-packages`` or ``dist-packages`` directory (a
  virtual environment inside the project) is not the project's.

On 3.11-3.14 laziness is `hotstart.lazy._hook` (PEP 810 semantics with a ``__import__``
wrapper; `on_reify` names the first user of each deferred module). On 3.15+ it is the
interpreter's own: ``-X lazy_imports=all`` on the command line (``sys.set_lazy_imports("all")``
here too, for commands), ``sys.set_lazy_imports_filter`` for the eager packages, and
``sys.lazy_modules`` read at exit (the interpreter does not say who used a module).

The record is JSON, written atomically (temporary file, then rename) by an ``atexit``
handler registered before the target runs, so it runs last: after ``sys.exit``, an uncaught
exception or the end of the program, not after ``os._exit`` or a fatal signal (a
``<record>.started`` file, the interpreter's version written when the child starts, tells those apart from a target
that never ran this file). Its format is
private to `hotstart.trial._record`.
"""

import sys


def _import_hotstart(source, name):
    """Import `name` from hotstart's own directory `source` without leaving it on the path.
    Its bytecode is cached even under PYTHONDONTWRITEBYTECODE: compiling hotstart's modules
    at every run would count as the hook's cost in the timed runs."""
    sys.path.insert(0, source)
    dont_write, sys.dont_write_bytecode = sys.dont_write_bytecode, False
    try:
        __import__(name)
        return sys.modules[name]
    finally:
        sys.dont_write_bytecode = dont_write
        sys.path.remove(source)


def _top(name):
    return name.partition(".")[0]


def _read_project(path):
    """(files, directories) of the project file `path` (see the module doc), real paths."""
    import os

    files, directories = set(), []
    with open(path, encoding="utf-8") as handle:
        for line in handle.read().splitlines():
            if line.endswith(("/", os.sep)):
                directories.append(os.path.realpath(line) + os.sep)
            elif line:
                files.add(os.path.realpath(line))
    return files, tuple(directories)


def _project_test(path):
    """`in_project(module_name)`: whether that module's file is the project's (cached per
    name: the filter asks once per import statement)."""
    import os

    files, directories = _read_project(path)
    known = {}
    outside = ("site-packages", "dist-packages")

    def in_project(name):
        if name in known:
            return known[name]
        filename = _module_file(sys.modules.get(name))
        found = False
        if filename:
            real = os.path.realpath(filename)
            found = real in files or any(
                real.startswith(d) and not outside_of(real[len(d):]) for d in directories)
        known[name] = found
        return found

    def outside_of(relative):
        return any(part in outside for part in relative.split(os.sep))

    return in_project


def _install(mode, eager, effects, source, project=""):
    """Make imports lazy; return the state the record reads at exit."""
    state = {"engine": "eager", "filtered": {}, "sites": {}, "hook": None, "error": None}
    if mode != "lazy":
        return state
    filtered, sites = state["filtered"], state["sites"]
    in_project = _project_test(project) if project else None

    def keep_eager(importing, imported):
        if _top(imported) in eager or _top(importing or "") in eager:
            return True
        # The project bound: only the project's own import statements are deferred.
        return in_project is not None and not in_project(importing or "")

    set_filter = getattr(sys, "set_lazy_imports_filter", None)
    if set_filter is not None:  # PEP 810's interpreter (3.15+)
        state["engine"] = "pep810"
        set_mode = getattr(sys, "set_lazy_imports", None)
        if set_mode is not None:
            set_mode("all")
        if eager or in_project is not None:
            set_filter(lambda importing, imported, fromlist=None:
                       not keep_eager(importing, imported))
        return state
    state["engine"] = "hook"
    _hook = _import_hotstart(source, "hotstart.lazy._hook")
    user_frame = _hook.user_frame

    def lazy(importing, imported, fromlist):
        if keep_eager(importing, imported):
            return False
        frame = user_frame(sys._getframe(1))  # the importing module, past the hook
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else None
        if imported not in filtered and imported not in sys.modules:
            filtered[imported] = (where, importing)
        # `from pkg import sub` defers `pkg.sub`: where each name's import was deferred.
        for name in fromlist or ():
            sites.setdefault(f"{imported}.{name}", where)
        # The hook reads this right after the filter: whether an `import x` whose name is
        # never read (kept for its side effect) stays eager, for this statement.
        state["hook"].eager_unread_imports = _top(importing or "") in effects
        return True

    # The run-time lazy mode keeps an `import x` whose name is never read eager (it is there
    # for a side effect); PEP 810's "all" mode defers it, and so does the trial, except in
    # the packages of `effects`: an effect the path needed shows as a changed output, which
    # the per-package fallback puts right.
    state["hook"] = _hook.install(lazy)
    # The bound is what a rewrite can reach: a name the module body reads is needed then.
    state["hook"].lasting_stand_ins = False
    return state


_MODULE_DICT = type(sys).__dict__["__dict__"]  # ModuleType's own `__dict__` descriptor


def _module_file(module):
    # The raw namespace, not `getattr`: a lazy module object would load on attribute access.
    if not isinstance(module, type(sys)):
        return None
    value = _MODULE_DICT.__get__(module).get("__file__")
    return value if isinstance(value, str) else None


def _lazy_modules():
    """PEP 810's record as JSON: a set of names (early 3.15), or a mapping of a module to
    the submodules imported lazily (later 3.15)."""
    value = getattr(sys, "lazy_modules", None)
    if value is None:
        return None
    if hasattr(value, "items"):
        return {str(key): sorted(str(v) for v in subs) for key, subs in value.items()}
    return sorted(str(name) for name in value)


def _write(out, state, preloaded):
    import os

    hook = state["hook"]
    if hook is not None:
        hook.uninstall()
    modules = {name: _module_file(module) for name, module in list(sys.modules.items())
               if module is not None and name not in preloaded}
    record = {
        "engine": state["engine"],
        "error": state["error"],
        "version": list(sys.version_info[:3]),
        "executable": sys.executable,
        "modules": modules,
        "preloaded": sorted(preloaded),
        "path": [p for p in sys.path if isinstance(p, str)],
        "filtered": state["filtered"],
        "sites": state["sites"],
        "deferred": dict(hook.deferred) if hook is not None else {},
        "reified": {k: list(v) if v else None for k, v in hook.reified.items()}
        if hook is not None else {},
        "lazy_modules": _lazy_modules() if state["engine"] == "pep810" else None,
    }
    import json

    tmp = f"{out}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(tmp, out)
    _compile_self()


def _compile_self():
    """Leave this file's bytecode beside it: the timed runs that follow then do not compile
    it at start-up (PYTHONDONTWRITEBYTECODE would have every run pay for it)."""
    import os

    cached = getattr(__spec__, "cached", None)
    if cached and not os.path.exists(cached):
        try:
            import py_compile

            py_compile.compile(__spec__.origin, cfile=cached, doraise=True)
        except Exception:  # noqa: BLE001, S110  (only a cost: the next run compiles it)
            pass


def _leave_children_alone(os):
    """Take this file's directory off ``PYTHONPATH`` in the environment: the processes the
    target starts then import the environment's own sitecustomize (if any), not this one,
    and run as they would without the trial (this process has already read its settings)."""
    here = os.path.dirname(os.path.abspath(__file__))
    # The driver puts it first: what follows is the environment's own PYTHONPATH, as it was.
    first, _, rest = os.environ.get("PYTHONPATH", "").partition(os.pathsep)
    if first and os.path.abspath(first) == here:
        if rest:
            os.environ["PYTHONPATH"] = rest
        else:
            del os.environ["PYTHONPATH"]


def _main():
    import os

    if __name__ != "sitecustomize":
        return
    mode = os.environ.pop("HOTSTART_TRIAL_MODE", "")
    out = os.environ.pop("HOTSTART_TRIAL_OUT", "")
    eager = frozenset(filter(None, os.environ.pop("HOTSTART_TRIAL_EAGER", "").split(",")))
    effects = frozenset(filter(None, os.environ.pop("HOTSTART_TRIAL_EFFECTS", "").split(",")))
    source = os.environ.pop("HOTSTART_TRIAL_SRC", "")
    project = os.environ.pop("HOTSTART_TRIAL_PROJECT", "")
    _leave_children_alone(os)
    if out:
        # A mark that the target started, with its version: without a record at exit, it
        # left without running atexit handlers (os._exit, a fatal signal), or is a Python
        # the trial does not support (the driver says which).
        with open(f"{out}.started", "w", encoding="utf-8") as handle:
            handle.write(".".join(map(str, sys.version_info[:3])))
    before = set(sys.modules)
    if source:
        tracer = _import_hotstart(source, "hotstart.measure.tracer")
        # The environment's own sitecustomize runs first, as the profiler's tracer has it.
        tracer._chain_to_real_sitecustomize(os.path.dirname(os.path.abspath(__file__)))
    if not mode:
        return
    try:
        state = _install(mode, eager, effects, source, project)
    except Exception as exc:  # noqa: BLE001  (never break the target: the record says why)
        state = {"engine": "error", "filtered": {}, "sites": {}, "hook": None,
                 "error": f"{type(exc).__name__}: {exc}"}
        sys.stderr.write(f"hotstart: trial hook not installed: {state['error']}\n")
    # What the hook itself loaded is not the target's.
    preloaded = frozenset(sys.modules) - before | {"sitecustomize"}
    if out:
        import atexit

        atexit.register(_write, out, state, preloaded)


_main()
