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


def run_batch(specs: list[str], *, workers: int = 2, repeat: int = 1,
              timeout: float | None = None) -> int:
    from hotstart.pool import PoolError, WarmPool

    paths = [str(Path(spec).resolve()) for spec in specs]
    try:
        pool = WarmPool(preload=["jobrunner.batch", "jobrunner.commands.compute"], spec=paths, package="jobrunner",
                        workers=workers, timeout=timeout)
    except PoolError as exc:
        print(f"jobrunner: {exc}")
        return 2
    status = 0
    with pool:
        report = pool.preload_report
        print(f"template (pid {report.pid}) preloaded {len(report.modules)} modules in "
              f"{report.seconds * 1e3:.0f} ms, {report.module_count} modules in all:")
        for line in report.summary().splitlines():
            print(f"  {line}")
        futures = [(spec, pool.submit(run_one, spec)) for _ in range(repeat) for spec in paths]
        rows = []
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
            rows.append((f"#{future.task_id} {Path(spec).name}", metrics, outcome))
        print()
        print(f"{'task':<18} {'worker':>6} {'pid':>7} {'queued':>8} {'wall':>8} {'cpu':>8} "
              f"{'peak RSS':>9}  result")
        for label, m, outcome in rows:
            if m is None:
                print(f"{label:<18} {'-':>6} {'-':>7} {'-':>8} {'-':>8} {'-':>8} {'-':>9}  "
                      f"{outcome}")
                continue
            peak = f"{m.peak_rss / 2**20:.0f} MiB" if m.peak_rss else "?"
            print(f"{label:<18} {m.worker_id:>6} {m.pid:>7} {m.queue_wait * 1e3:6.1f}ms "
                  f"{m.wall * 1e3:6.1f}ms {m.cpu * 1e3:6.1f}ms {peak:>9}  {outcome}"
                  f"{f'  (imported {len(m.imported)} modules)' if m.imported else ''}")
        imported = pool.imported_by_tasks()
        if imported:
            roots = sorted({name.split(".")[0] for name in imported})
            print(f"\ntasks imported {len(imported)} modules the template had not preloaded "
                  f"(from {', '.join(roots)}): each worker paid for them on its first job")
    return status
