"""Warm pool: workers forked from a template process that preloaded what the jobs need.

    >>> from hotstart.pool import WarmPool
    >>> with WarmPool(preload=["pandas"], workers=4, timeout=60) as pool:
    ...     future = pool.submit(summarise, "sales.csv")
    ...     future.result(), future.metrics.wall, future.metrics.peak_rss

How tasks and results flow::

    parent process                       template process               worker processes
    (your code: `warm`, and the          (fresh interpreter,            (forked from the template)
     manager thread: `_manager`)          scrubbed environment)
    submit(fn, *args) --> queue
         |                               boot: import preload,
         | no idle worker?               report each module,
         +-- "fork" + [socket,  ------>  gc.freeze(), then serve:
         |    stdout, stderr files]      os.fork() ---------------->  reset signals, PDEATHSIG,
         |                                                           stdout/err -> capture files
         |<------------------------------------------ "ready" -----  wait for a task
         +-- "task" (pickled fn, args) ------------------------------> run; put back what it
         |                                                           changed (or ask to retire)
         |<--------------- "done": small result inline --------------+
         |                 or the path of a spill file (protocol 5   |
         |                 buffers, mapped back with mmap), or the   |
         |                 task's exception -> raised as itself;     |
         |                 its output and metrics beside it ---------+
         |
         | timeout / abort:
         +-- "kill" worker --------->    SIGKILL the worker's group and
         |                               descendants (unreaped: no reuse)
         |<-- "exited" + wait status --  reap every child, report
         |                               -> future: TaskTimeout / WorkerCrashed
         +-- "fork" a replacement --->   (one failed task never touches another;
         |                               never more workers than workers=)
    parent dies: the template sees its control socket close (or its parent pid change) and
    SIGKILLs the workers; the template dies: the workers get SIGKILL (PR_SET_PDEATHSIG).

When a worker is idle and nothing is queued, `submit` sends "task" from the calling thread
itself (one thread hop less); the manager thread still reads the result. When every worker
is busy and no more may be forked, the manager sends up to two small tasks behind a busy
worker's (it starts them as soon as it answers); a worker's exit report is handled only after
its last answers are read, so a task waiting on it is requeued or failed, never run twice.

Modules: the parent's side is `warm` (`WarmPool`, `TaskFuture`: the API), ``_manager`` (the
manager thread: workers, sockets, dispatch, results, timeouts, crashes) with ``_replies``
(a worker's messages, corrupt frames), ``_prefetch`` (tasks sent ahead), ``_watch`` (a
template that stops answering) and ``_closing`` (how the thread ends), ``_startup``
(starting the template, its preload report, spill directories) and ``_tasks`` (payloads,
captured output, what a task ends with); ``_template`` and ``_worker``
are the other two processes (the worker with ``_isolation``: what a task leaves behind,
``_capture``: its output, ``_chunks``: `map`'s chunks), ``_protocol`` their messages;
`spill` (large results), `env` (the scrubbed environment), `memory` (cgroup-aware limits),
`records` (reports and metrics), `errors`.
Standard library only; cloudpickle is used for lambdas and ``__main__`` functions when
installed. Importing this package loads nothing until a name is used.
"""

import hotstart.lazy

__getattr__, __dir__, __all__ = hotstart.lazy.attach(
    __name__,
    submodules=["env", "errors", "memory", "records", "spill", "warm"],
    attrs={
        "warm": ["WarmPool", "TaskFuture"],
        "errors": ["PoolError", "PreloadError", "BrokenPool", "RemoteError", "TaskTimeout",
                   "WorkerCrashed", "CodeError"],
        "records": ["ModuleLoad", "PreloadReport", "TaskInfo", "TaskMetrics", "WorkerInfo"],
    },
)

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from .errors import (BrokenPool, CodeError, PoolError, PreloadError, RemoteError,
                         TaskTimeout, WorkerCrashed)
    from .records import ModuleLoad, PreloadReport, TaskInfo, TaskMetrics, WorkerInfo
    from .warm import TaskFuture, WarmPool
