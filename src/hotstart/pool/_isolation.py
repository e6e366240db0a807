"""What one task leaves behind in its worker: put back what is cheap, retire for the rest.

A worker runs many tasks in one process, so whatever a task changes in the process is seen
by the next task on that worker. `Guard` records the worker's state once, when the worker
starts, and after every task (`Guard.restore` and `Guard.settle` before the worker
answers, `Guard.tidy` after):

- puts back, each only when the task changed it (a well-behaved task pays comparisons:
  about 3 µs before the worker answers, 4 µs after; the builtins and ``sys.modules`` are
  compared item by item only when their dict's version tag moved (`_dictversion`; else
  about 15 ns per module); the worker puts back cwd, ``sys.path`` and ``os.environ`` after
  answering too): builtins (a task that replaced ``builtins.len`` would
  also have corrupted the worker's own messages), ``sys.modules`` entries the task deleted or
  replaced (modules it imported stay: that is the warm part), ``sys.meta_path`` and
  ``sys.path_hooks``, the hooks and streams of ``sys`` (``excepthook``, ``displayhook``,
  ``unraisablehook``, ``breakpointhook``, ``stdin``/``stdout``/``stderr``), the recursion
  limit, the switch interval, the trace and profile functions, the garbage collector's
  switch and thresholds, the ``warnings`` filters, the umask, ``threading.excepthook``,
  the default socket timeout, the int-to-str digit limit, a closed ``sys.stdout`` (or
  ``stderr``/``stdin``: a new object on the same descriptor), the C environment, which
  ``os.environ`` does not list, however a task changed it (``os.putenv``, ``setenv`` through
  ctypes or from a C library: `_cenviron` reads the array itself), and, through thin
  wrappers installed in the worker, what a task set with ``signal.signal``/``siginterrupt``,
  ``pthread_sigmask``, ``set_wakeup_fd``, ``alarm``/``setitimer``,
  ``os.sched_setaffinity`` and ``resource.setrlimit``/``prlimit`` (soft limits back
  where the hard limit allows);
- returns the reason to retire the worker when the task left what cannot be put back:
  a Python thread still running, a child it forked (``os.fork`` without exec) still
  alive, a changed session or process group. The parent then delivers the task's result
  and never gives that worker another task.

A process forked by a task (``os.fork``, multiprocessing's fork start method) gets the
worker's memory, including the code that would return into the worker's loop and answer
the parent on its socket: in that child the socket is closed right after the fork, and a
return into the worker's code ends it (`Guard.in_fork_child`), so it can never serve tasks.

Not put back (documented limits): a C extension's own state,
a hard resource limit lowered, a raised nice value, file descriptors a task leaves open
(other than 1 and 2, which `_capture` re-points), module attributes a task patched
(``json.dumps = ...``), module-level state such as ``random``'s generator, ``logging``'s
handlers, ``decimal``'s context or ``locale.setlocale``, and children a task started
with exec (``subprocess``) that it left running.
"""

from __future__ import annotations

import builtins
import gc
import operator
import os
import signal
import sys

from . import _cenviron, _dictversion

TYPE_CHECKING = False
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable

__all__ = ["Guard", "module_names", "snapshot_in_template"]

_SYS_HOOKS = ("excepthook", "displayhook", "unraisablehook", "breakpointhook", "stdin",
              "stdout", "stderr")
_read_hooks = operator.attrgetter(*_SYS_HOOKS)
_STREAMS = {"stdin": 0, "stdout": 1, "stderr": 2}
_STREAM_INDEXES = tuple(_SYS_HOOKS.index(name) for name in _STREAMS)


class Guard:
    """The worker's state when it started, and the means to put it back after a task."""

    def __init__(self, sock: socket.socket, on_fork_child: Callable[[], None]) -> None:
        self.pid = os.getpid()
        self.sock = sock
        self.on_fork_child = on_fork_child
        self.group = os.getpgid(0)  # setsid changes it too: one call tells both
        self.umask = os.umask(0o077)
        os.umask(self.umask)
        self.recursion = sys.getrecursionlimit()
        self.switch = sys.getswitchinterval()
        self.gc_threshold = gc.get_threshold()
        self.hooks = [getattr(sys, name) for name in _SYS_HOOKS]  # in _SYS_HOOKS' order
        getter = getattr(sys, "get_int_max_str_digits", None)  # 3.11.0 and later bugfixes
        self.int_digits = getter() if getter is not None else None
        threading = sys.modules.get("threading")
        self.thread_hook = threading.excepthook if threading is not None else None
        self.affinity: set[int] | None = None
        self.socket_timeout = _socket_timeout()
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        # Unchanged dicts are not compared item by item (`_dictversion`).
        self.builtins, self.builtins_version = self._snapshot("builtins", vars(builtins))
        self.modules, self.modules_version = self._snapshot("modules", sys.modules)
        self.warnings_filters: list | None = None
        warnings = sys.modules.get("warnings")
        if warnings is not None:
            self.warnings_filters = list(warnings.filters)
        self.default_signals = {number: signal.getsignal(number)
                                for number in signal.valid_signals()}
        self.limits: dict[int, tuple[int, int]] = {}
        # Set by the wrappers below: what a task touched that the guard cannot read cheaply.
        self.putenv: set = set()
        # The C environment as the worker started, and a stamp to tell it unchanged
        # (`_cenviron`: whatever changed it, os.putenv, ctypes or a C library's setenv).
        self.c_environ = _cenviron.entries()
        self.c_stamp = _cenviron.stamp() if self.c_environ is not None else None
        self.signals: set[int] = set()
        self.interrupting: set[int] = set()
        self.sigmask = False
        self.wakeup_fd = False
        self.timers = False
        self.forked = False
        self.broken: str | None = None  # why restoring failed: the worker retires
        self._wrap()
        os.register_at_fork(after_in_parent=self._after_fork_parent,
                            after_in_child=self._after_fork_child)

    # -- recording what cannot be compared cheaply ---------------------------------------

    def _wrap(self) -> None:
        import functools
        import resource

        def wrap(module: object, name: str, record: Callable[[tuple], None]) -> None:
            real = getattr(module, name, None)
            if real is None:
                return

            @functools.wraps(real)
            def wrapper(*args, **kwargs):
                try:
                    record(args)
                except Exception:  # noqa: BLE001, S110 - bad arguments: the real call says why
                    pass
                return real(*args, **kwargs)

            setattr(module, name, wrapper)
            self.real[name] = real

        self.real: dict[str, Callable] = {}
        if self.c_environ is None:  # the C environment cannot be read: record the calls
            for name in ("putenv", "unsetenv"):
                wrap(os, name, lambda args: self.putenv.add(args[0]) if args else None)
        else:
            self.real.update(putenv=os.putenv, unsetenv=os.unsetenv)
        wrap(signal, "signal", lambda args: self.signals.add(int(args[0])) if args else None)
        wrap(signal, "siginterrupt",
             lambda args: self.interrupting.add(int(args[0])) if args else None)
        wrap(signal, "pthread_sigmask", lambda args: setattr(self, "sigmask", True))
        wrap(signal, "set_wakeup_fd", lambda args: setattr(self, "wakeup_fd", True))
        wrap(signal, "alarm", lambda args: setattr(self, "timers", True))
        wrap(signal, "setitimer", lambda args: setattr(self, "timers", True))
        wrap(os, "sched_setaffinity", lambda args: self._affinity())
        wrap(resource, "setrlimit", lambda args: self._limit(args[0]) if args else None)
        wrap(resource, "prlimit",
             lambda args: self._limit(args[1]) if len(args) > 2 and args[0] in (0, self.pid)
             else None)
        self.getrlimit = resource.getrlimit

    def _affinity(self) -> None:
        if self.affinity is None:
            self.affinity = os.sched_getaffinity(0)

    def _limit(self, which: int) -> None:
        if which not in self.limits:
            try:
                self.limits[which] = self.getrlimit(which)
            except (OSError, ValueError):
                pass

    def _after_fork_parent(self) -> None:
        self.forked = True

    def _after_fork_child(self) -> None:
        if os.getpid() == self.pid:  # not a child of this worker (cannot happen; be sure)
            return
        try:
            fd = self.sock.detach()  # the child must never speak on the worker's socket
            if fd >= 0:
                os.close(fd)
        except OSError:
            pass
        self.on_fork_child()

    @property
    def in_fork_child(self) -> bool:
        """True in a process that a task forked (it must end instead of serving tasks)."""
        return os.getpid() != self.pid

    # -- after a task ----------------------------------------------------------------------

    def restore(self, everything: bool = False) -> None:
        """Put back, right after a task, what the worker's own work before it answers relies
        on: builtins, signals, timers, limits, the umask; with `everything` (the task raised:
        describing the error imports), what `tidy` puts back too.

        If that fails (a task can leave the process in states no one foresaw), the worker
        asks to be retired rather than dying with the task's result."""
        try:
            self._restore_builtins()
            self._restore_recorded()
            os.umask(self.umask)  # one call, whatever it was
            if everything:
                self._restore_modules()
                self._restore_interpreter()
        except BaseException as exc:  # noqa: BLE001
            self.broken = f"its state could not be put back: {type(exc).__name__}: {exc}"

    def tidy(self) -> None:
        """Put back the rest (``sys.modules``, import hooks, ``sys`` hooks and streams, the C
        environment made to agree with ``os.environ``, which the worker has put back just
        before): called once the answer is sent, so that it costs the round trip nothing.
        What fails here retires the worker after its next task."""
        try:
            self._restore_modules()
            self._restore_interpreter()
            self._restore_c_environment()
        except BaseException as exc:  # noqa: BLE001
            self.broken = f"its state could not be put back: {type(exc).__name__}: {exc}"

    def settle(self) -> str | None:
        """The reason to retire the worker after this task, or None."""
        try:
            return self.broken or self._why_retire()
        except BaseException as exc:  # noqa: BLE001
            return f"its state could not be checked: {type(exc).__name__}: {exc}"

    def _snapshot(self, key: str, namespace: dict) -> tuple[dict, tuple[int, int] | None]:
        """A copy of `namespace` and its version: the template's (`snapshot_in_template`)
        when the dict has not changed since, else a new one."""
        inherited = _from_template.get(key)
        if inherited is not None and _dictversion.unchanged(namespace, inherited[1]):
            return inherited
        return dict(namespace), _dictversion.stamp(namespace)

    def _restore_builtins(self) -> None:
        namespace = vars(builtins)
        if _dictversion.unchanged(namespace, self.builtins_version):
            return
        restore_namespace(namespace, self.builtins)
        self.builtins_version = _dictversion.stamp(namespace)

    def _restore_modules(self) -> None:
        modules = sys.modules
        if _dictversion.unchanged(modules, self.modules_version):
            return
        if modules != self.modules:
            for name, module in self.modules.items():
                if modules.get(name) is not module:
                    modules[name] = module
            if len(modules) != len(self.modules):  # modules the task imported stay
                self.modules = dict(modules)
        self.modules_version = _dictversion.stamp(modules)

    def _restore_interpreter(self) -> None:
        hooks = self.hooks
        try:
            current = _read_hooks(sys)  # one call for all seven
        except AttributeError:  # a task deleted one
            current = None
        if current is None or any(map(operator.is_not, current, hooks)):
            for name, value in zip(_SYS_HOOKS, hooks):
                if getattr(sys, name, None) is not value:
                    setattr(sys, name, value)
        for index in _STREAM_INDEXES:
            value = hooks[index]
            if getattr(value, "closed", False):
                # sys.stdout.close() closes the object, not fd 1 (CPython opens the standard
                # streams with closefd=False): a new object on the same descriptor.
                name = _SYS_HOOKS[index]
                value = _reopen(name, value)
                if value is not None:
                    setattr(sys, name, value)
                    hooks[index] = value
        if sys.meta_path != self.meta_path:
            sys.meta_path[:] = self.meta_path
        if sys.path_hooks != self.path_hooks:
            sys.path_hooks[:] = self.path_hooks
            sys.path_importer_cache.clear()
        if sys.getrecursionlimit() != self.recursion:
            sys.setrecursionlimit(self.recursion)
        if sys.getswitchinterval() != self.switch:
            sys.setswitchinterval(self.switch)
        if sys.gettrace() is not None:
            sys.settrace(None)
        if sys.getprofile() is not None:
            sys.setprofile(None)
        if not gc.isenabled():
            gc.enable()
        if gc.get_threshold() != self.gc_threshold:
            gc.set_threshold(*self.gc_threshold)
        warnings = sys.modules.get("warnings")
        if warnings is not None:
            if self.warnings_filters is None:  # imported by a task: its defaults from now on
                self.warnings_filters = list(warnings.filters)
            elif warnings.filters != self.warnings_filters:
                warnings.filters[:] = self.warnings_filters
                mutated = getattr(warnings, "_filters_mutated", None)
                if mutated is not None:
                    mutated()
        if self.int_digits is not None and sys.get_int_max_str_digits() != self.int_digits:
            sys.set_int_max_str_digits(self.int_digits)
        socket = sys.modules.get("socket")
        if socket is not None and socket.getdefaulttimeout() != self.socket_timeout:
            socket.setdefaulttimeout(self.socket_timeout)
        threading = sys.modules.get("threading")
        if threading is not None:
            if self.thread_hook is None:
                self.thread_hook = threading.excepthook
            elif threading.excepthook is not self.thread_hook:
                threading.excepthook = self.thread_hook

    def _restore_c_environment(self) -> None:
        if self.c_environ is not None:
            if not _cenviron.unchanged(self.c_stamp):
                _cenviron.restore(self.c_environ, self.real["putenv"], self.real["unsetenv"])
                self.c_stamp = _cenviron.stamp()
            return
        if self.putenv:
            # os.environ was put back already; make the C environment agree with it.
            environ = os.environ
            putenv, unsetenv = self.real["putenv"], self.real["unsetenv"]
            for name in self.putenv:
                key = os.fsdecode(name) if isinstance(name, bytes) else name
                try:
                    if key in environ:
                        putenv(key, environ[key])
                    else:
                        unsetenv(key)
                except (OSError, ValueError, TypeError):
                    pass
            self.putenv.clear()

    def _restore_recorded(self) -> None:
        if self.timers:
            self.real["setitimer"](signal.ITIMER_REAL, 0)
            self.real["setitimer"](signal.ITIMER_VIRTUAL, 0)
            self.real["setitimer"](signal.ITIMER_PROF, 0)
            self.timers = False
        if self.signals or self.interrupting:
            restore = self.real["signal"]
            for number in self.signals | self.interrupting:
                try:
                    restore(number, self.default_signals[number])
                except (OSError, ValueError, TypeError, KeyError):
                    pass
            self.signals.clear()
            self.interrupting.clear()
        if self.sigmask:
            self.real["pthread_sigmask"](signal.SIG_SETMASK, [])
            self.sigmask = False
        if self.wakeup_fd:
            self.real["set_wakeup_fd"](-1)
            self.wakeup_fd = False
        if self.affinity is not None:
            try:
                self.real["sched_setaffinity"](0, self.affinity)
            except OSError:
                pass
            self.affinity = None
        if self.limits:
            import resource

            for which, (soft, hard) in self.limits.items():
                try:
                    self.real["setrlimit"](which, (soft, hard))
                except (OSError, ValueError):
                    try:  # the hard limit was lowered: only the soft one can come back
                        now_hard = resource.getrlimit(which)[1]
                        self.real["setrlimit"](which, (_lower(soft, now_hard), now_hard))
                    except (OSError, ValueError):
                        pass
            self.limits.clear()

    def _why_retire(self) -> str | None:
        threading = sys.modules.get("threading")
        if threading is not None and threading.active_count() > 1:
            main = threading.main_thread()
            names = [thread.name for thread in threading.enumerate()
                     if thread is not main and thread.is_alive()]
            if names:
                return f"a thread it started is still running: {', '.join(names)}"
        if self.forked:
            self.forked = False
            child = _live_child()
            if child is not None:
                return f"it forked a child that is still alive (pid {child})"
        if os.getpgid(0) != self.group:
            return "it changed its session"  # or only its process group
        return None


# Copies the template made before forking (`snapshot_in_template`): a worker starts from them
# instead of copying the dicts itself, which in a forked process touches every module object
# and so copies the memory pages it shares with the template (~2 ms with pandas loaded, on
# every worker start). Used only where a version tag proves them still exact.
_from_template: dict[str, tuple] = {}


def snapshot_in_template() -> None:
    """In the template, once its imports are done: copy the builtins and ``sys.modules``
    for the workers it will fork (nothing where `_dictversion` has no reader)."""
    if _dictversion.reader() is None:
        return
    for key, namespace in (("builtins", vars(builtins)), ("modules", sys.modules)):
        _from_template[key] = (dict(namespace), _dictversion.stamp(namespace))
    _from_template["names"] = (set(sys.modules), _from_template["modules"][1])


def module_names() -> set[str]:
    """The names in ``sys.modules``: the template's set while it is still exact (the caller
    must replace it, never change it), else a new one."""
    inherited = _from_template.get("names")
    if inherited is not None and _dictversion.unchanged(sys.modules, inherited[1]):
        return inherited[0]
    return set(sys.modules)


def restore_namespace(namespace: dict, saved: dict) -> None:
    """Make `namespace` (the builtins') equal to `saved` again. Update first, delete after:
    a name is never missing meanwhile (another thread may be running Python code)."""
    if namespace != saved:
        namespace.update(saved)
        for name in [name for name in namespace if name not in saved]:
            del namespace[name]


def _socket_timeout() -> float | None:
    socket = sys.modules.get("socket")
    return socket.getdefaulttimeout() if socket is not None else None


def _reopen(name: str, closed: object) -> object:
    """A new text stream on the descriptor of closed ``sys.<name>``, made like it."""
    try:
        return open(_STREAMS[name], "r" if name == "stdin" else "w",
                    buffering=1 if getattr(closed, "line_buffering", False) else -1,
                    encoding=getattr(closed, "encoding", None),
                    errors=getattr(closed, "errors", None), closefd=False)
    except (OSError, ValueError, LookupError):
        return None


def _lower(soft: int, hard: int) -> int:
    import resource

    if hard == resource.RLIM_INFINITY:
        return soft
    if soft == resource.RLIM_INFINITY:
        return hard
    return min(soft, hard)


def _live_child() -> int | None:
    """A child of this process that is still running (zombies are reaped), or None."""
    pids: list[int] = []
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children", "rb") as children:
                pids.extend(int(pid) for pid in children.read().split())
    except (OSError, ValueError):
        return _any_child()
    for pid in pids:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        if done == 0:
            return pid
    return None


def _any_child() -> int | None:
    # Without /proc/PID/task/TID/children: reap what has exited, and whether any is left.
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return None
        if pid == 0:
            return 0  # alive, pid unknown
