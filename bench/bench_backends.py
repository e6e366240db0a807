"""Beyond one machine: hotstart's Dask and Ray backends against each engine's own ways.

Each contender runs alone, in a fresh interpreter per round (``bench_backends.py --one
NAME``: it starts its own cluster, measures, shuts it down, prints JSON), rounds rotating
the order. Per contender:

- ``ready``: from before the cluster (or pool) is created to the moment it can take tasks,
  with the preload done where there is one;
- ``first``: the first result of a task that needs pandas (`_pool_tasks.pandas_task`: import
  pandas, build a 3-row frame), submitted once ready;
- ``both``: the first results of two such tasks in flight at once (each engine worker pays
  its own import when nothing was preloaded);
- ``total``: ready + both, what a job that starts a cluster and runs two tasks waits;
- ``per task``: 300 no-op tasks in flight after a warm-up, µs per task (the backend's
  overhead over the engine's own submit is the difference of the rows).

Dask, on a fresh ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``:
no preload; Dask's own ``preload=["pandas"]`` (a hand-written list, as ``dask worker
--preload``); hotstart's ``DaskBackend(client, preload=["pandas"])`` (its worker plugin).
Per-task: ``client.submit`` vs ``DaskBackend.submit``. Ray, on a fresh local
``ray.init(num_cpus=2)``: no preload; a ``runtime_env`` with a hand-written
``worker_process_setup_hook`` importing pandas; hotstart's ``RayBackend(preload=["pandas"])``.
Per-task: ``f.remote()`` vs ``RayBackend.submit``. The local ``WarmPool(preload=["pandas"],
workers=2)`` row beside them shows what leaving one machine costs.

``--rounds N`` (default 3), ``--only dask,ray,local``. Reproduce:
``.venv/bin/python bench/bench_backends.py`` (``.pyc`` state: whatever the venv has; run
``python -m compileall -q src`` first for the users' state).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CONTENDERS = {
    "dask": ["dask: no preload", "dask: Dask's preload= (hand list)", "dask: hotstart DaskBackend"],
    "ray": ["ray: no preload", "ray: runtime_env setup hook (hand-written)",
            "ray: hotstart RayBackend"],
    "local": ["local: hotstart WarmPool"],
}
TASKS = 300


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1e3


def _per_task_us(submit, result, noop) -> float:
    for handle in [submit(noop) for _ in range(20)]:
        result(handle)
    start = time.perf_counter()
    handles = [submit(noop) for _ in range(TASKS)]
    for handle in handles:
        result(handle)
    return (time.perf_counter() - start) * 1e6 / TASKS


def _figures(ready: float, first: float, both: float, submit, result, pids: set) -> dict:
    """One run's figures; the per-task overhead is measured here, last."""
    import _pool_tasks as tasks

    return {"ready": ready, "first": first, "both": both, "total": ready + both,
            "per_task_us": _per_task_us(submit, result, tasks.noop),
            "distinct_workers": len(pids)}


def one_dask(name: str) -> dict:
    import _pool_tasks as tasks
    from distributed import Client, LocalCluster

    start = time.perf_counter()
    options = {"n_workers": 2, "threads_per_worker": 1, "processes": True,
               "dashboard_address": None}
    if "preload=" in name:
        options["preload"] = ["pandas"]
    cluster = LocalCluster(**options)
    client = Client(cluster)
    backend = None
    try:
        if "hotstart" in name:
            from hotstart.pool.backends import DaskBackend

            backend = DaskBackend(client, preload=["pandas"], scrub_env=False)
            submit = backend.submit
            result = lambda f: f.result()
        else:
            submit = lambda fn, *a: client.submit(fn, *a, pure=False)
            result = lambda f: f.result()
        ready = _ms(start)
        begin = time.perf_counter()
        result(submit(tasks.pandas_task))
        first = _ms(begin)
        begin = time.perf_counter()
        workers = list(client.scheduler_info()["workers"])
        if backend is None:
            pair = [client.submit(tasks.pandas_pid, 0.2, pure=False, workers=[w])
                    for w in workers[:2]]
        else:
            pair = [backend.submit(tasks.pandas_pid, 0.2) for _ in range(2)]
        pids = {result(f) for f in pair}
        return _figures(ready, first, _ms(begin), submit, result, pids)
    finally:
        if backend is not None:
            backend.shutdown()
        client.close()
        cluster.close()


def one_ray(name: str) -> dict:
    import _pool_tasks as tasks
    import ray

    start = time.perf_counter()
    runtime_env = {"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}}
    if "setup hook" in name:
        runtime_env["worker_process_setup_hook"] = "_pool_tasks.import_pandas"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=runtime_env)
    backend = None
    try:
        if "hotstart" in name:
            from hotstart.pool.backends import RayBackend

            backend = RayBackend(preload=["pandas"], scrub_env=False)
            submit = backend.submit
            result = lambda f: f.result()
            backend.submit(tasks.noop).result()  # a worker is started (and preloads) here
        else:
            remote = {fn: ray.remote(max_retries=0)(fn)
                      for fn in (tasks.pandas_task, tasks.pandas_pid, tasks.noop)}
            submit = lambda fn, *a: remote[fn].remote(*a)
            result = ray.get
            result(submit(tasks.noop))  # the same: one worker up before "ready"
        ready = _ms(start)
        begin = time.perf_counter()
        result(submit(tasks.pandas_task))
        first = _ms(begin)
        begin = time.perf_counter()
        pids = {result(f) for f in [submit(tasks.pandas_pid, 0.2) for _ in range(2)]}
        return _figures(ready, first, _ms(begin), submit, result, pids)
    finally:
        if backend is not None:
            backend.shutdown()
        ray.shutdown()


def one_local(name: str) -> dict:
    import _pool_tasks as tasks

    from hotstart.pool import WarmPool

    start = time.perf_counter()
    pool = WarmPool(preload=["pandas"], workers=2)
    try:
        ready = _ms(start)
        begin = time.perf_counter()
        pool.submit(tasks.pandas_task).result()
        first = _ms(begin)
        begin = time.perf_counter()
        pids = {f.result() for f in [pool.submit(tasks.pandas_pid, 0.2) for _ in range(2)]}
        return _figures(ready, first, _ms(begin), pool.submit, lambda f: f.result(), pids)
    finally:
        pool.shutdown()


def run_one(name: str) -> dict:
    engine = name.split(":")[0]
    return {"dask": one_dask, "ray": one_ray, "local": one_local}[engine](name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default="dask,ray,local")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    from _pool_table import Row, paired

    names = [n for engine in args.only.split(",") for n in CONTENDERS[engine]]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [HERE] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    rows = {(n, k): Row(n) for n in names
            for k in ("ready", "first", "both", "total", "per_task_us")}
    print(f"Python {sys.version.split()[0]} ({sys.executable}); {os.cpu_count()} CPUs; "
          f"{args.rounds} rounds, each contender alone in a fresh interpreter, order rotating")
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            done = subprocess.run([sys.executable, __file__, "--one", name], env=env,
                                  capture_output=True, text=True, timeout=600)
            if done.returncode:
                raise SystemExit(f"{name}: exit {done.returncode}\n{done.stderr[-3000:]}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            for key in ("ready", "first", "both", "total", "per_task_us"):
                rows[name, key].samples.append(figures[key])
    print()
    for key, title, unit in (("ready", "ready to take tasks (preload done)", "ms"),
                             ("first", "first result of a task needing pandas, once ready", "ms"),
                             ("both", "two such tasks in flight: both results", "ms"),
                             ("total", "ready + both: what a fresh job waits", "ms"),
                             ("per_task_us", f"{TASKS} no-op tasks in flight", "µs/task")):
        print(f"#### {title} (median, min-max of {args.rounds} rounds; ratio to the engine's "
              f"no-preload row, median of per-round ratios)\n")
        print(f"| contender | median {unit} | min | max | ratio |")
        print("|---|---:|---:|---:|---:|")
        for name in names:
            row = rows[name, key]
            engine = name.split(":")[0]
            reference = rows[CONTENDERS[engine][0], key]
            ratio = paired(row, reference)
            print(f"| {name} | {row.median:.1f} | {min(row.samples):.1f} | "
                  f"{max(row.samples):.1f} | {'-' if ratio is None else f'{ratio:.2f}'} |")
        print()


if __name__ == "__main__":
    main()
