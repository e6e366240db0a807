"""Run many jobs on warm workers: ``jobrunner batch SPEC... [--workers N]``.

The workers are forked from a hotstart template that imported, once, exactly the plugin
modules the specs name (read from the specs and the plugins' source, without importing
anything), so a job starts in milliseconds instead of paying for pandas and the plugins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["run_batch", "run_one"]


def run_one(spec_path: str) -> dict[str, Any]:
    """Run one job in a worker; return a small summary (the frame itself stays there)."""
    from jobrunner.commands.compute import run_job

    result = run_job(Path(spec_path))
    return {"name": result.name, "rows_in": result.rows_in, "rows_out": result.rows_out,
            "seconds": result.seconds}


def open_backend(backend: str, paths: list[str], workers: int, timeout: float | None):
    """The backend the jobs run on: the same preload list (the plugins the specs name, read
    from the specs and the plugins' source) on a local warm pool, Dask or Ray."""
    preload = ["jobrunner.batch", "jobrunner.commands.compute"]
    options = {"preload": preload, "spec": paths, "package": "jobrunner", "timeout": timeout}
    if backend == "dask":
        import logging

        from hotstart.pool.backends import DaskBackend

        # The scheduler runs in this process: its INFO lines would bury the jobs' table.
        logging.getLogger("distributed").setLevel(logging.WARNING)

        # A LocalCluster of `workers` processes, one thread each (a job per process).
        return DaskBackend(None, n_workers=workers, threads_per_worker=1, **options)
    if backend == "ray":
        from hotstart.pool.backends import RayBackend

        # Workers' prints stay in Ray's logs (`log_to_driver`): the table below says it all.
        return RayBackend(num_cpus=workers, log_to_driver=False, **options)
    from hotstart.pool import WarmPool

    return WarmPool(workers=workers, **options)


def run_batch(specs: list[str], *, workers: int = 2, repeat: int = 1,
              timeout: float | None = None, backend: str = "local") -> int:
    from hotstart.pool import PoolError

    paths = [str(Path(spec).resolve()) for spec in specs]
    try:
        pool = open_backend(backend, paths, workers, timeout)
    except (PoolError, ImportError) as exc:
        print(f"jobrunner: {exc}")
        return 2
    status = 0
    with pool:
        futures = [(spec, pool.submit(run_one, spec)) for _ in range(repeat) for spec in paths]
        rows = []
        imported: set[str] = set()
        for spec, future in futures:
            try:
                summary = future.result()
                outcome = f"{summary['rows_in']} -> {summary['rows_out']} rows"
            except Exception as exc:  # noqa: BLE001 - the job's own exception, or the pool's
                status = 1
                first = (str(exc).splitlines() or [""])[0]
                outcome = (f"FAILED: {first}" if isinstance(exc, PoolError)
                           else f"FAILED: {type(exc).__name__}: {first}")
            metrics = future.metrics
            if metrics is not None:
                imported.update(metrics.imported)
            rows.append((f"#{future.task_id} {Path(spec).name}", metrics, outcome))
        # After the jobs: a Ray worker's report comes back with its first task.
        for where, report in sorted(pool.preload_reports().items()):
            name = "template" if where == "template" else f"{backend} worker {where}"
            print(f"{name} (pid {report.pid}) preloaded {len(report.modules)} modules in "
                  f"{report.seconds * 1e3:.0f} ms, {report.module_count} modules in all:")
            for line in report.summary().splitlines():
                print(f"  {line}")
        print()
        print(f"{'task':<18} {'worker':>6} {'pid':>7} {'queued':>8} {'wall':>8} {'cpu':>8} "
              f"{'peak RSS':>9}  result")
        for label, m, outcome in rows:
            if m is None:
                print(f"{label:<18} {'-':>6} {'-':>7} {'-':>8} {'-':>8} {'-':>8} {'-':>9}  "
                      f"{outcome}")
                continue
            peak = f"{m.peak_rss / 2**20:.0f} MiB" if m.peak_rss else "?"
            worker = m.worker_id if len(m.worker_id) <= 6 else "…" + m.worker_id[-5:]
            print(f"{label:<18} {worker:>6} {m.pid:>7} {m.queue_wait * 1e3:6.1f}ms "
                  f"{m.wall * 1e3:6.1f}ms {m.cpu * 1e3:6.1f}ms {peak:>9}  {outcome}"
                  f"{f'  (imported {len(m.imported)} modules)' if m.imported else ''}")
        if imported:
            roots = sorted({name.split(".")[0] for name in imported})
            print(f"\ntasks imported {len(imported)} modules the workers had not preloaded "
                  f"(from {', '.join(roots)}): each worker paid for them on its first job")
    return status
