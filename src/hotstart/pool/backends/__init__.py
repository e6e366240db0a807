"""Backends: one call surface on the local warm pool, Dask distributed and Ray.

    >>> from hotstart.pool.backends import DaskBackend
    >>> with DaskBackend(client, spec="jobs/clean.json", package="jobrunner") as backend:
    ...     future = backend.submit(run_one, "jobs/clean.json")
    ...     future.result(), future.metrics.worker_id, future.metrics.node

Every backend is a `concurrent.futures.Executor` with ``submit``/``schedule``/``map``/
``run_code``/``shutdown``, returns `TaskFuture`s (``metrics``: wall, CPU, peak RSS, worker,
node, the cgroup-aware memory figure) and fails them with ``hotstart.pool.errors``. The
preload list (``preload=``, a job spec with ``spec=``/``package=``, or ``HOTSTART_PRELOAD``)
travels to every worker, current and future, and each worker reports per module what the
import cost or why it failed; a worker whose preload failed runs no task.

How a task flows on a remote engine::

    your process (client)                 engine                   engine worker process
    backend.submit(fn, *args)
      pickle (fn, args, kwargs) --------> client.submit /  ------>  (started once: the Dask
      (as WarmPool: cloudpickle           task.remote()             plugin or the Ray setup
       for lambdas, __main__)                                        hook ran preload_here:
                                                                     import the list, report,
                                                                     scrub the environment)
                                                                    _task.run_task(payload):
                                                                      preload failed? refuse
                                                                      run fn, measure, put
                                                                      back sys.path, env, cwd
      TaskFuture <--- metrics, value <--- engine future done  <----- ("ok"|"error", ..., metrics)
      | or the task's exception raised as itself (RemoteError as its __cause__)
      | timeout: a deadline thread fails the future with TaskTimeout and cancels the call
      |          (Ray kills the worker; Dask cannot stop a running task)

Which engine guarantees what: docs/backends.md. Modules: ``_base`` (the surface; the client
side shared by remote engines), ``_task`` (the worker side), ``_dask`` and ``_ray`` (one
module per engine, importing it only when used). `WarmPool` is the local backend.
"""

import hotstart.lazy

__getattr__, __dir__, __all__ = hotstart.lazy.attach(
    __name__,
    attrs={
        "_base": ["Backend", "RemoteBackend"],
        "_dask": ["DaskBackend", "DaskPreloadPlugin"],
        "_ray": ["RayBackend"],
    },
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._base import Backend, RemoteBackend
    from ._dask import DaskBackend, DaskPreloadPlugin
    from ._ray import RayBackend
