"""What a pool reports: the template's preload, each task's metrics, each worker's state.

Plain records, built by the pool from the messages of the template and the workers; hooks and
futures hand them to the user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ModuleLoad", "PreloadReport", "TaskInfo", "TaskMetrics", "WorkerInfo"]


@dataclass(frozen=True)
class ModuleLoad:
    """One preload module, as the template imported it.

    seconds: time of the import (including what it imported); rss: resident memory it added
    (bytes; None off Linux); modules: how many modules it added to ``sys.modules``; error:
    ``"Type: message"`` and traceback: the full traceback text when it failed.
    """

    module: str
    ok: bool
    seconds: float
    rss: "int | None"
    modules: int
    error: "str | None" = None
    traceback: "str | None" = None


@dataclass(frozen=True)
class PreloadReport:
    """The template's preload: every module in order, and the template's totals."""

    pid: int
    python: str
    modules: "tuple[ModuleLoad, ...]"
    seconds: float
    rss: "int | None"
    module_count: int
    threads: int  # Python threads alive in the template after the preload (1: only its own)
    native_threads: "int | None" = None  # all threads, native pools (OpenBLAS...) included

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


@dataclass(frozen=True)
class TaskMetrics:
    """What one task cost, measured in its worker (wall, cpu, peak_rss) and in the parent.

    wall: seconds the function ran; cpu: user + system seconds of the worker and the
    processes it waited for; peak_rss: the worker's peak resident memory during this task
    (bytes; ``peak_rss_scope`` is ``"task"`` where Linux lets the peak be reset between tasks,
    else ``"worker"``: the worker's lifetime peak); queue_wait: seconds between submit and
    the moment a worker took the task; result_bytes: size of the pickled result; spilled:
    whether it came back through a spill file; node: the host name.
    """

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


@dataclass(frozen=True)
class TaskInfo:
    """A task as hooks see it: its id, the function's name, and when it was submitted."""

    task_id: int
    name: str
    submitted: float  # time.monotonic()
    timeout: "float | None"


@dataclass
class WorkerInfo:
    """A worker as ``WarmPool.workers()`` shows it."""

    worker_id: str
    pid: "int | None"
    state: str  # "starting", "idle", "busy", "exiting"
    tasks_done: int
    forked: float  # time.monotonic() when the fork was requested
    ready: "float | None" = None  # time.monotonic() when it said it was ready
    extra: dict = field(default_factory=dict)
