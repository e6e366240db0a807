"""What a pool reports: the template's preload, each task's metrics, each worker's state.

Plain records, built by the pool from the messages of the template and the workers; hooks and
futures hand them to the user. They are read-only (`_Record`), not dataclasses: ``dataclasses``
imports ``inspect`` (~10 ms), which a pool's parent should not pay for five small classes.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .memory import MemoryLimits

__all__ = ["ModuleLoad", "PreloadReport", "TaskInfo", "TaskMetrics", "WorkerInfo"]


class _Record:
    """Keyword or positional fields named in ``__slots__``, defaults in ``_defaults``;
    compared, hashed and shown by value, and read-only once built."""

    __slots__ = ()
    _defaults: "dict[str, object]" = {}
    _setters: tuple = ()

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        # The slots' own setters, bypassing the read-only __setattr__: the pool builds two
        # records per task, and this is half the cost of object.__setattr__ by name.
        cls._setters = tuple(getattr(cls, name).__set__ for name in cls.__slots__)

    def __init__(self, *args: object, **kwargs: object) -> None:
        names = self.__slots__
        if not kwargs and len(args) == len(names):  # every field, in order: the pool's own way
            for set_field, value in zip(self._setters, args):
                set_field(self, value)
            return
        if len(args) > len(names):
            raise TypeError(f"{type(self).__name__} takes at most {len(names)} fields")
        values = dict(zip(names, args))
        for name, value in kwargs.items():
            if name not in names or name in values:
                raise TypeError(f"{type(self).__name__}: unexpected or repeated field {name!r}")
            values[name] = value
        for name in names:
            if name not in values:
                if name not in self._defaults:
                    raise TypeError(f"{type(self).__name__}: missing field {name!r}")
                values[name] = self._defaults[name]
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class ModuleLoad(_Record):
    """One preload module, as the template imported it.

    seconds: time of the import (including what it imported); rss: resident memory it added
    (bytes; None off Linux); modules: how many modules it added to ``sys.modules``; error:
    ``"Type: message"`` and traceback: the full traceback text when it failed.
    """

    __slots__ = ("module", "ok", "seconds", "rss", "modules", "error", "traceback")
    _defaults = {"error": None, "traceback": None}
    module: str
    ok: bool
    seconds: float
    rss: "int | None"
    modules: int
    error: "str | None"
    traceback: "str | None"


class PreloadReport(_Record):
    """The template's preload: every module in order, and the template's totals."""

    __slots__ = ("pid", "python", "modules", "seconds", "rss", "module_count", "threads",
                 "native_threads")
    _defaults = {"native_threads": None}

    pid: int
    python: str
    modules: "tuple[ModuleLoad, ...]"
    seconds: float
    rss: "int | None"
    module_count: int
    threads: int  # Python threads alive in the template after the preload (1: only its own)
    native_threads: "int | None"  # all threads, native pools (OpenBLAS...) included

    @property
    def failed(self) -> "list[ModuleLoad]":
        return [load for load in self.modules if not load.ok]

    @classmethod
    def from_message(cls, report: dict) -> "PreloadReport":
        return cls(pid=report["pid"], python=report["python"],
                   modules=tuple(ModuleLoad(**entry) for entry in report["modules"]),
                   seconds=report["seconds"], rss=report["rss"],
                   module_count=report["module_count"], threads=report.get("threads", 1),
                   native_threads=report.get("native_threads"))

    def summary(self) -> str:
        """One line per module: ``pandas  ok  312.4 ms  +61.2 MB  (412 modules)``."""
        lines = []
        width = max((len(load.module) for load in self.modules), default=0)
        for load in self.modules:
            if load.ok:
                memory = f"+{load.rss / 1e6:.1f} MB" if load.rss is not None else "?"
                lines.append(f"{load.module:<{width}}  ok      {load.seconds * 1e3:8.1f} ms  "
                             f"{memory:>10}  ({load.modules} modules)")
            else:
                lines.append(f"{load.module:<{width}}  FAILED  {load.error}")
        return "\n".join(lines)


class TaskMetrics(_Record):
    """What one task cost, measured in its worker (wall, cpu, peak_rss) and in the parent.

    wall: seconds the function ran; cpu: user + system seconds of the worker and the
    processes it waited for; peak_rss: the worker's peak resident memory during this task
    (bytes; ``peak_rss_scope`` is ``"task"`` where Linux lets the peak be reset between tasks,
    else ``"worker"``: the worker's lifetime peak); queue_wait: seconds between submit and
    the moment a worker took the task; result_bytes: size of the pickled result; spilled:
    whether it came back through a spill file; node: the host name; imported: the modules
    the task imported in its worker (not preloaded: candidates for the preload list);
    memory: the memory limit that applies where the task ran and the usage it counts
    (`hotstart.pool.memory.MemoryLimits`: the container's cgroup first), read when the task
    ended (at most a quarter second old).
    """

    __slots__ = ("task_id", "worker_id", "pid", "queue_wait", "wall", "cpu", "peak_rss",
                 "peak_rss_scope", "result_bytes", "spilled", "node", "imported", "memory")
    _defaults = {"imported": (), "memory": None}
    task_id: int
    worker_id: str
    pid: int
    queue_wait: float
    wall: float
    cpu: float
    peak_rss: "int | None"
    peak_rss_scope: str
    result_bytes: "int | None"
    spilled: bool
    node: str
    imported: "tuple[str, ...]"
    memory: "MemoryLimits | None"


class TaskInfo(_Record):
    """A task as hooks see it: its id, the function's name, and when it was submitted."""

    __slots__ = ("task_id", "name", "submitted", "timeout")

    task_id: int
    name: str
    submitted: float  # time.monotonic()
    timeout: "float | None"


class WorkerInfo(_Record):
    """A worker as ``WarmPool.workers()`` shows it."""

    __slots__ = ("worker_id", "pid", "state", "tasks_done", "forked", "ready")
    _defaults = {"ready": None}

    worker_id: str
    pid: "int | None"
    state: str  # "starting", "idle", "busy"; on the way out: "exiting", "lost", "killed"
    tasks_done: int
    forked: float  # time.monotonic() when the fork was requested
    ready: "float | None"  # time.monotonic() when it said it was ready
