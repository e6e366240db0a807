"""Warm pool: `hotstart.pool.WarmPool` next to ProcessPoolExecutor, loky, pebble and mp.Pool.

Six measurements, each contender side by side in one run (interleaved rounds where the
contenders are timed, after one unrecorded warm-up round; the round trip and throughput
measure each pool alone):

1. First result of a task that needs pandas (`_pool_tasks.pandas_task`: import pandas, build
   a 3-row DataFrame, return its sum and pandas' version). WarmPool: the constructor returns
   once its template has imported pandas (untimed); timed: `submit(...).result()`, which
   forks the first worker. Floor: `os.fork()` from a lean helper process that imported
   pandas (and, for context, from this process): the child runs the task and writes the
   pickled result to a pipe, the parent reads it and reaps the child. Peers: pool creation
   + first result; forked peers inherit this process's pandas, spawned ones import it in the
   task.
2. A worker replaced after a timeout kill: a task sleeping 10 s scheduled with a 50 ms
   timeout; once its timeout error arrives, the time of a no-op `submit(...).result()`
   (kill, replacement worker, round trip). One worker per pool, so the no-op must run on the
   replacement. WarmPool vs pebble (`ProcessPool.schedule(timeout=)`).
3. No-op round trip: sequential `submit(noop).result()` on warm workers, and
4. throughput: N no-op tasks all in flight (`submit` each, and `map(chunksize=)`), µs per
   task; for both, each pool is created, warmed up, timed and shut down alone, rounds
   rotating the order (`_pool_dispatch`).
5. Large results: a task returning a 200 MB (and 1 GB) float64 array, minus a baseline task
   that builds the same array and returns None ("extra time": the transport). WarmPool
   (spill files in its default directory under /tmp, and in a tmpfs directory) vs
   ProcessPoolExecutor(fork). Each round runs in a fresh parent process (`bench_pool.py
   --one ...`), which receives the array twice ("first" and "repeat") and reports its peak
   RSS growth (VmHWM, reset through /proc/self/clear_refs) while it receives the result,
   untouched and after a full `.sum()` over the array.
6. PSS and USS per idle worker (/proc/PID/smaps_rollup): WarmPool with 4 workers forked from
   a pandas template, vs ProcessPoolExecutor workers (spawn: each imports pandas itself; fork
   and forkserver-with-preload for context). One pool alive at a time.

`--quick` is a smoke run (2 rounds, 50 calls, 500 tasks, 200 MB only); the full run takes
a few minutes. `--only first,timeout,noop,throughput,large,memory` picks sections.

Tasks live in `_pool_tasks.py`; bench/ goes on `sys.path` and in `PYTHONPATH` (for spawned
interpreters) before any pool exists. This module imports only the standard library at top
level, because spawned workers re-import it as `__mp_main__`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _pool_dispatch
import _pool_tasks as tasks
from _pool_table import Row, median, paired, print_table, verdict
from _timing import python_info

MB = 1 << 20
SIZES = {"200MB": 25_000_000, "1GB": 125_000_000}  # float64 elements
PRELOAD = ["pandas"]
# Python 3.12+ warns when a process that has threads forks; the fork-based peers (and pebble,
# which forks from its manager thread) do so here by design. WarmPool forks from its template.
warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks",
                        category=DeprecationWarning)


# --- helpers ----------------------------------------------------------------------------------


def warm_pool_api():
    """(WarmPool, TaskTimeout) from hotstart.pool, or None while it does not exist yet."""
    try:
        from hotstart.pool import TaskTimeout, WarmPool
    except ImportError as exc:
        print(f"**hotstart.pool.WarmPool is not importable ({exc}): its rows are skipped.**\n")
        return None
    return WarmPool, TaskTimeout


def pyc_state(prefixes: tuple[str, ...] = ("pandas", "numpy", "hotstart")) -> str:
    """For the modules loaded here: how many have a .pyc that matches their source (what an
    import would use; this machine sets PYTHONDONTWRITEBYTECODE, so nothing is written)."""
    counts = {p: [0, 0] for p in prefixes}
    for name, module in list(sys.modules.items()):
        top = name.partition(".")[0]
        spec = getattr(module, "__spec__", None)
        if top not in counts or spec is None or not spec.has_location:
            continue
        origin, cached = spec.origin, spec.cached
        if not origin or not origin.endswith(".py"):
            continue
        counts[top][1] += 1
        try:
            with open(cached, "rb") as handle:
                head = handle.read(16)
            st = os.stat(origin)
        except (OSError, TypeError):
            continue
        flags = int.from_bytes(head[4:8], "little")
        if flags != 0 or (int.from_bytes(head[8:12], "little") == int(st.st_mtime) & 0xFFFFFFFF
                          and int.from_bytes(head[12:16], "little") == st.st_size & 0xFFFFFFFF):
            counts[top][0] += 1
    parts = [f"{p} {ok}/{total}" for p, (ok, total) in counts.items() if total]
    return "modules with a valid .pyc: " + ", ".join(parts)


def set_up_paths() -> None:
    """Workers must import `_pool_tasks`: bench/ on sys.path (forked workers, templates fed
    the parent's sys.path) and in PYTHONPATH (spawned interpreters)."""
    current = os.environ.get("PYTHONPATH", "")
    if str(HERE) not in current.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), current]))


def smaps_rollup(pid: int) -> dict[str, int]:
    """Rss, Pss, USS (Private_Clean + Private_Dirty), shared, in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/smaps_rollup") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                values[parts[0].rstrip(":")] = int(parts[1]) * 1024
    values["USS"] = values["Private_Clean"] + values["Private_Dirty"]
    return values


def proc_status(key: str) -> int:
    """A `kB` field of /proc/self/status (VmRSS, VmHWM), in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak() -> int:
    """Reset VmHWM to the current RSS (writing 5 to clear_refs); returns that RSS."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return proc_status("VmRSS")


# --- 1. first result --------------------------------------------------------------------------


def first_result(args: argparse.Namespace, api) -> None:
    import multiprocessing
    import multiprocessing.forkserver as forkserver_module
    from concurrent.futures import ProcessPoolExecutor

    import loky
    import pandas  # noqa: F401  (the floor and the fork-based peers inherit it)
    import pebble

    fork = multiprocessing.get_context("fork")
    spawn = multiprocessing.get_context("spawn")
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    stop_forkserver = getattr(forkserver_module._forkserver, "_stop", None)  # private, 3.9+

    def warm_pool() -> float:
        WarmPool, _ = api
        start = time.perf_counter()
        pool = WarmPool(preload=PRELOAD, workers=2)  # returns with the template warm
        rows["WarmPool"].note("constructor (untimed above)", (time.perf_counter() - start) * 1e3)
        try:
            start = time.perf_counter()
            future = pool.submit(tasks.pandas_task)
            result = future.result()
            elapsed = time.perf_counter() - start
            metrics = getattr(future, "metrics", None)
            for key in ("queue_wait", "wall"):
                value = getattr(metrics, key, None)
                if value is not None:
                    rows["WarmPool"].note(key, value * 1e3)
        finally:
            pool.shutdown(wait=True)
        assert result[1] == 6
        return elapsed

    def executor(context, fresh_server: bool = False):
        def run() -> float:
            if fresh_server:
                stop_forkserver()  # the next pool starts a server, which imports pandas
            elif context is forkserver:
                forkserver_module.ensure_running()  # untimed: reuse the running server
            start = time.perf_counter()
            with ProcessPoolExecutor(2, mp_context=context) as pool:
                result = pool.submit(tasks.pandas_task).result()
                elapsed = time.perf_counter() - start
            assert result[1] == 6
            return elapsed
        return run

    def loky_reusable() -> float:
        start = time.perf_counter()
        pool = loky.get_reusable_executor(max_workers=2)
        result = pool.submit(tasks.pandas_task).result()
        elapsed = time.perf_counter() - start
        pool.shutdown(wait=True)  # the next call creates a new executor
        assert result[1] == 6
        return elapsed

    def pebble_pool() -> float:
        start = time.perf_counter()
        pool = pebble.ProcessPool(max_workers=2)
        result = pool.schedule(tasks.pandas_task).result()
        elapsed = time.perf_counter() - start
        pool.close()
        pool.join()
        assert result[1] == 6
        return elapsed

    def mp_pool_spawn() -> float:
        start = time.perf_counter()
        pool = spawn.Pool(2)
        result = pool.apply(tasks.pandas_task)
        elapsed = time.perf_counter() - start
        pool.terminate()
        pool.join()
        assert result[1] == 6
        return elapsed

    lean = subprocess.Popen(
        [sys.executable, "-c", "import _pool_tasks as t; t.fork_floor_server()"],
        cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    assert lean.stdout.readline() == "ready\n"

    def lean_floor() -> float:
        lean.stdin.write("go\n")
        lean.stdin.flush()
        return float(lean.stdout.readline())

    floor_label = "raw os.fork() floor (lean parent: python + pandas)"
    default_method = multiprocessing.get_start_method()
    contenders = [(floor_label, lean_floor),
                  ("raw os.fork() of this benchmark process", tasks.raw_fork_first)]
    if api is not None:
        contenders.append(("WarmPool", warm_pool))
    contenders += [
        ("PPE fork", executor(fork)),
        ("PPE forkserver, preload pandas, server running", executor(forkserver)),
    ]
    if stop_forkserver is not None:
        contenders.append(("PPE forkserver, preload pandas, server started cold",
                           executor(forkserver, fresh_server=True)))
    contenders += [
        ("PPE spawn", executor(spawn)),
        ("loky get_reusable_executor", loky_reusable),
        (f"pebble ProcessPool ({default_method})", pebble_pool),
        ("mp.Pool spawn", mp_pool_spawn),
    ]
    rows = {label: Row(label) for label, _ in contenders}
    try:
        for round_ in range(args.first_rounds + 1):  # round 0: warm-up, not recorded
            for label, run in contenders:
                elapsed = run()
                if round_:
                    rows[label].samples.append(elapsed * 1e3)
    finally:
        lean.stdin.close()
        lean.wait()
    ordered = [rows[label] for label, _ in contenders]
    floor = rows[floor_label]
    print_table(ordered, floor,
                f"First result of a task that needs pandas ({args.first_rounds} interleaved "
                f"rounds after 1 warm-up round; peers: pool creation + first result)")
    print("Floor: measured inside a lean parent process (a helper that imported only pandas) "
          "that forks, lets the child run the task and pipe back the pickled result, reads "
          "it and reaps the child; the same done by this benchmark process, which holds much "
          "more (loky, pebble, pools' state), for context. "
          "WarmPool: from a pool whose constructor returned (template warm) to the first "
          "result, forking the first worker included. PPE = "
          "concurrent.futures.ProcessPoolExecutor(2); every pool has 2 workers; forked "
          "peers inherit this process's pandas, spawned ones import it in the task. The "
          "forkserver rows share one server per process: 'running' reuses it (the analogue "
          "of a warm template), 'cold' stops it first (private `_forkserver._stop()`).\n")
    if api is None:
        return
    warm = rows["WarmPool"]
    for key, values in warm.notes.items():
        what = key if key.startswith("constructor") else f"`future.metrics.{key}` of the first task"
        print(f"- WarmPool {what}: median {median(values):.1f} ms (min {min(values):.1f}, "
              f"max {max(values):.1f})")
    print()
    to_floor = paired(warm, floor)
    verdict(to_floor <= 3.0, f"WarmPool first result / raw fork floor (lean parent) = "
                             f"{to_floor:.2f}x "
                             f"(median of per-round ratios; target <= 3x)")
    for label in ("PPE spawn", "loky get_reusable_executor", "mp.Pool spawn"):
        speedup = paired(rows[label], warm)
        target = label != "mp.Pool spawn"
        verdict(speedup >= 20 if target else None,
                f"{label} / WarmPool = {speedup:.1f}x (median of per-round ratios; "
                f"{'target >= 20x' if target else 'no target'})")
    print()


# --- 2. replacement after a timeout kill --------------------------------------------------------


def timeout_replacement(args: argparse.Namespace, api) -> None:
    from concurrent.futures import TimeoutError as FuturesTimeout

    import pebble

    deadline = 0.05
    pools = []
    if api is not None:
        WarmPool, TaskTimeout = api
        warm = WarmPool(preload=PRELOAD, workers=1)
        pools.append(("WarmPool", warm, TaskTimeout,
                      lambda: warm.schedule(tasks.sleep_pid, args=(10,), timeout=deadline),
                      lambda fn: warm.submit(fn)))
    peb = pebble.ProcessPool(max_workers=1)
    pools.append(("pebble", peb, FuturesTimeout,
                  lambda: peb.schedule(tasks.sleep_pid, args=(10,), timeout=deadline),
                  lambda fn: peb.schedule(fn)))
    after = {name: Row(f"{name}: no-op after the timeout error") for name, *_ in pools}
    warm_next = {name: Row(f"{name}: next no-op (warm worker)") for name, *_ in pools}
    arrival = {name: Row(f"{name}: timeout error arrival after the {deadline * 1e3:.0f} ms "
                         f"deadline") for name, *_ in pools}
    end_to_end = {name: Row(f"{name}: deadline to the no-op's result (arrival + no-op)")
                  for name, *_ in pools}
    replaced = {name: 0 for name, *_ in pools}
    try:
        last_pid = {}
        for name, _, _, _, submit in pools:  # start each pool's worker
            last_pid[name] = submit(tasks.pid).result()
        for round_ in range(args.timeout_rounds + 1):
            for name, _, expected, doomed, submit in pools:
                start = time.perf_counter()
                future = doomed()
                error = future.exception(timeout=30)
                arrived = time.perf_counter()
                assert isinstance(error, expected), (name, error)
                pid = submit(tasks.pid).result()
                done = time.perf_counter()
                again = submit(tasks.pid).result()
                next_done = time.perf_counter()
                assert again == pid
                if round_:
                    after[name].samples.append((done - arrived) * 1e3)
                    warm_next[name].samples.append((next_done - done) * 1e3)
                    arrival[name].samples.append((arrived - start - deadline) * 1e3)
                    end_to_end[name].samples.append((done - start - deadline) * 1e3)
                    replaced[name] += pid != last_pid[name]
                last_pid[name] = pid
    finally:
        # The peers first: a WarmPool whose parent has forked children still alive waits
        # 10 s in shutdown(): they inherited its control socket, so the template never sees EOF.
        for name, pool, *_ in reversed(pools):
            if name == "pebble":
                pool.stop()
                pool.join()
            else:
                pool.shutdown(wait=True)
    reference = after["pebble"]
    rows = [r for name, *_ in pools for r in (after[name], warm_next[name])]
    print_table(rows, reference,
                f"Worker replaced after a timeout kill ({args.timeout_rounds} interleaved rounds "
                f"after 1 warm-up round; 1 worker per pool)")
    print_table([r for name, *_ in pools for r in (arrival[name], end_to_end[name])],
                arrival["pebble"],
                "Timeout error arrival (time from schedule() to the error, minus the deadline) "
                "and the whole recovery")
    for name, *_ in pools:
        print(f"- {name}: the no-op ran in a new worker process in {replaced[name]} of "
              f"{args.timeout_rounds} rounds")
    print("- pebble checks timeouts and replaces workers from a manager thread that polls "
          "every 0.1 s (pebble CONSTS.sleep_unit).")
    if api is not None:
        value = after["WarmPool"].median
        verdict(value <= 20.0, f"WarmPool no-op after TaskTimeout: median {value:.1f} ms "
                               f"(target <= 20 ms; from the deadline: "
                               f"{end_to_end['WarmPool'].median:.1f} ms, pebble "
                               f"{end_to_end['pebble'].median:.1f} ms)")
    print()


# --- 3 and 4. no-op round trip and throughput, each pool alone: `_pool_dispatch` ----------------


def noop_round_trip(args: argparse.Namespace, api) -> None:
    _pool_dispatch.noop_round_trip(args, api, PRELOAD)


def throughput(args: argparse.Namespace, api) -> None:
    _pool_dispatch.throughput(args, api, PRELOAD)


# --- 5. large results ------------------------------------------------------------------------


def one_large(contender: str, n: int, passes: int = 2) -> list[dict]:
    """In a fresh parent process: receive an n-element float64 array from a warm worker,
    `passes` times (pass 0 is the first large result the processes move; later passes reuse
    memory the kernel has just freed, which on this VM is much cheaper to touch)."""
    import numpy

    if contender.startswith("WarmPool"):
        from hotstart.pool import WarmPool

        spill_dir = TMPFS_SPILL if contender == WARM_TMPFS else None
        pool = WarmPool(preload=["numpy"], workers=1, spill_threshold=1 << 20,
                        spill_dir=spill_dir)
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"))
    submit = pool.submit
    out = []
    try:
        submit(tasks.ones, n, False).result()  # warm: worker started, array built once
        submit(tasks.ones, 1 << 18).result()  # the transport path once (2 MB: spilled)
        local = numpy.ones(n)
        start = time.perf_counter()
        local.sum()
        sum_local = time.perf_counter() - start
        del local
        for _ in range(passes):
            base_rss = reset_peak()
            start = time.perf_counter()
            assert submit(tasks.ones, n, False).result() is None
            base = time.perf_counter() - start
            base_peak = proc_status("VmHWM") - base_rss
            ret_rss = reset_peak()
            start = time.perf_counter()
            array = submit(tasks.ones, n).result()
            ret = time.perf_counter() - start
            untouched_peak = proc_status("VmHWM") - ret_rss
            start = time.perf_counter()
            total = array.sum()
            summed = time.perf_counter() - start
            summed_peak = proc_status("VmHWM") - ret_rss
            assert total == n and array.shape == (n,)
            out.append({"base": base, "ret": ret, "sum": summed, "sum_local": sum_local,
                        "base_peak": max(0, base_peak), "untouched_peak": untouched_peak,
                        "summed_peak": summed_peak,
                        "writeable": bool(array.flags.writeable)})
            del array
        return out
    finally:
        pool.shutdown(wait=True)


WARM_TMPFS = "WarmPool, spill_dir on tmpfs"
TMPFS_SPILL = f"/dev/shm/hotstart-bench-{os.geteuid()}"


def tmpfs_available() -> bool:
    try:
        with open("/proc/self/mounts") as handle:
            return any(line.split()[1:3] == ["/dev/shm", "tmpfs"] for line in handle)
    except OSError:
        return False


def large_results(args: argparse.Namespace, api) -> None:
    contenders = (["WarmPool"] if api is not None else []) + ["PPE fork"]
    if api is not None and tmpfs_available():
        contenders.append(WARM_TMPFS)
    from hotstart.pool import _startup

    defaults = _startup.spill_dirs(None)
    print(f"Spill files: WarmPool's default spill directories, first with room wins: "
          f"{', '.join(defaults)}; the `{WARM_TMPFS}` rows pass spill_dir={TMPFS_SPILL}.\n")
    for size_label in args.sizes:
        n = SIZES[size_label]
        nbytes = n * 8
        rounds = args.gb_rounds if n >= SIZES["1GB"] else args.large_rounds
        results: dict[str, list[list[dict]]] = {c: [] for c in contenders}
        for _ in range(rounds):
            for contender in contenders:
                proc = subprocess.run([sys.executable, __file__, "--one", contender, str(n)],
                                      capture_output=True, text=True, cwd=HERE, check=False)
                if proc.returncode:
                    sys.stderr.write(proc.stderr)
                    raise SystemExit(f"--one {contender} {n} failed ({proc.returncode})")
                results[contender].append(json.loads(proc.stdout.splitlines()[-1]))
        rows: list[Row] = []
        extra: dict[tuple[str, int, str], Row] = {}
        for pass_, when in ((1, "repeat"), (0, "first")):
            for variant in ("untouched", "summed"):
                for c in contenders:
                    what = ("result() - baseline" if variant == "untouched" else
                            "result() + sum() - baseline - sum() of a resident array")
                    row = Row(f"{c}, {when} large result: {what}")
                    for passes in results[c]:
                        r = passes[pass_]
                        value = r["ret"] - r["base"]
                        if variant == "summed":
                            value += r["sum"] - r["sum_local"]
                        row.samples.append(value * 1e3)
                    extra[c, pass_, variant] = row
                    rows.append(row)
        for c in contenders:
            row = Row(f"{c}: baseline (array built, None returned; repeat)")
            row.samples = [passes[1]["base"] * 1e3 for passes in results[c]]
            rows.append(row)
        print_table(rows, extra["PPE fork", 1, "untouched"],
                    f"Large result, {size_label} float64 array ({nbytes / MB:,.0f} MiB; "
                    f"{rounds} interleaved rounds, each in a fresh parent process): extra time "
                    f"of the transport")
        print("| contender | baseline peak MiB | untouched peak MiB (x array) | after sum() "
              "peak MiB (x array) | array writeable |")
        print("|---|---:|---:|---:|---|")
        for c in contenders:
            every = [r for passes in results[c] for r in passes]
            bp = max(r["base_peak"] for r in every) / MB
            up = max(r["untouched_peak"] for r in every)
            sp = max(r["summed_peak"] for r in every)
            print(f"| {c} | {bp:,.0f} | {up / MB:,.0f} ({up / nbytes:.2f}x) | {sp / MB:,.0f} "
                  f"({sp / nbytes:.2f}x) | {every[0]['writeable']} |")
        print(f"\nPeak = the parent's VmHWM growth during the call, the largest of all "
              f"{rounds * 2} calls. Each fresh parent receives the array twice: \"first\" is "
              f"the first large result the processes move, \"repeat\" the second one (pages the "
              f"kernel just freed are reused; on this VM, first-touch of other memory is slow and "
              f"noisy). `sum()` is a full `array.sum()` right after result(), which also faults "
              f"in every page of a memory-mapped result.\n")
        if api is not None:
            for pass_, when in ((1, "repeat"), (0, "first")):
                for variant in ("untouched", "summed"):
                    w = extra["WarmPool", pass_, variant].median
                    p = extra["PPE fork", pass_, variant].median
                    tmpfs = ""
                    if WARM_TMPFS in contenders:
                        t = extra[WARM_TMPFS, pass_, variant].median
                        tmpfs = f"; with spill_dir on tmpfs: {t:.0f} ms = {t / p:.0%}"
                    verdict(w <= 0.25 * p, f"{size_label} extra time ({when}, {variant}): "
                                           f"WarmPool {w:.0f} ms = {w / p:.0%} of PPE fork's "
                                           f"{p:.0f} ms (target <= 25%{tmpfs})")
            every = [r for passes in results["WarmPool"] for r in passes]
            peak = max(r["summed_peak"] for r in every) / nbytes
            verdict(peak <= 1.1, f"{size_label} WarmPool parent peak after sum() = "
                                 f"{peak:.2f}x the array (target <= 1.1x)")
        print()
    try:
        os.rmdir(TMPFS_SPILL)  # empty unless a pool left files behind
    except OSError:
        pass


# --- 6. PSS per idle worker ------------------------------------------------------------------


def idle_memory(args: argparse.Namespace, api) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    import pandas  # noqa: F401  (what the fork-based peer inherits)
    import psutil

    workers = 4
    hold = 0.3
    results: list[tuple[str, list[dict], str]] = []

    def distinct(submit) -> set[int]:
        for _ in range(5):  # a busy task per worker, so that each one lands elsewhere
            pids = {f.result() for f in [submit() for _ in range(workers)]}
            if len(pids) == workers:
                return pids
        raise RuntimeError(f"could not get {workers} distinct workers: {pids}")

    if api is not None:
        pool = api[0](preload=PRELOAD, workers=workers)
        try:
            pids = distinct(lambda: pool.submit(tasks.sleep_pid, hold))
            live = set(pool.worker_pids())
            assert pids <= live, (pids, live)
            time.sleep(0.5)  # idle
            template = psutil.Process(pool.template_pid)
            children = [c.pid for c in template.children()]
            note = (f"template pid {pool.template_pid} has {len(children)} live children "
                    f"({len(live)} workers): {1 + len(children)} processes share the "
                    f"template's pages; template itself: "
                    + fmt_mem(smaps_rollup(pool.template_pid)))
            results.append(("WarmPool (forked from the pandas template)",
                            [smaps_rollup(p) for p in sorted(pids)], note))
        finally:
            pool.shutdown(wait=True)
    forkserver = multiprocessing.get_context("forkserver")
    forkserver.set_forkserver_preload(PRELOAD)
    for label, context, note in [
        ("PPE spawn (each worker imports pandas)", multiprocessing.get_context("spawn"), ""),
        ("PPE fork (this process imported pandas)", multiprocessing.get_context("fork"),
         "shares pages with this benchmark process, which holds much more than pandas"),
        ("PPE forkserver, preload pandas", forkserver,
         "shares pages with the forkserver process"),
    ]:
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            pids = distinct(lambda: pool.submit(tasks.pandas_pid, hold))
            time.sleep(0.5)
            results.append((label, [smaps_rollup(p) for p in sorted(pids)], note))
    reference = median([m["Pss"] for label, mems, _ in results if label.startswith("PPE spawn")
                        for m in mems])
    print(f"### PSS and USS per idle worker, pandas loaded ({workers} workers per pool, each "
          f"ran one task; one pool alive at a time)\n")
    print("| contender | PSS MiB median (min-max) | USS MiB median (min-max) | RSS MiB median | "
          "PSS / spawn's |")
    print("|---|---:|---:|---:|---:|")
    for label, mems, _ in results:
        pss = [m["Pss"] / MB for m in mems]
        uss = [m["USS"] / MB for m in mems]
        rss = [m["Rss"] / MB for m in mems]
        print(f"| {label} | {median(pss):.1f} ({min(pss):.1f}-{max(pss):.1f}) | "
              f"{median(uss):.1f} ({min(uss):.1f}-{max(uss):.1f}) | {median(rss):.1f} | "
              f"{median(pss) * MB / reference:.2f} |")
    print()
    for label, _, note in results:
        if note:
            print(f"- {label}: {note}")
    print("- USS = Private_Clean + Private_Dirty; PSS charges a shared page 1/N to each of the "
          "N processes mapping it (shared libraries count their other mappers too).")
    if api is not None:
        ratio = median([m["Pss"] for m in results[0][1]]) / reference
        verdict(ratio <= 0.40, f"WarmPool worker PSS = {ratio:.0%} of a spawned worker's "
                               f"(target <= 40%)")
    print()


def fmt_mem(m: dict[str, int]) -> str:
    return (f"PSS {m['Pss'] / MB:.1f} MiB, USS {m['USS'] / MB:.1f} MiB, RSS {m['Rss'] / MB:.1f} "
            f"MiB")


# --- main ---------------------------------------------------------------------------------------


SECTIONS = {"first": first_result, "timeout": timeout_replacement, "noop": noop_round_trip,
            "throughput": throughput,
            "large": large_results, "memory": idle_memory}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 rounds, few calls, 200 MB only")
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds of the first-result, timeout, round-trip/throughput "
                             "and 200 MB cases (default 7, 21, 5, 7; 1 GB: min(N, 3))")
    parser.add_argument("--calls", type=int, default=None,
                        help="no-op calls per contender and round (default 200)")
    parser.add_argument("--tasks", type=int, default=None,
                        help="tasks in flight per throughput measurement (default 2000)")
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections, among {','.join(SECTIONS)}")
    parser.add_argument("--one", nargs=2, metavar=("CONTENDER", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    set_up_paths()
    if args.one:
        print(json.dumps(one_large(args.one[0], int(args.one[1]))))
        return
    quick = 2 if args.quick else None
    args.first_rounds = args.rounds or quick or 7
    args.timeout_rounds = args.rounds or quick or 21
    args.large_rounds = args.rounds or (1 if args.quick else 7)
    args.gb_rounds = min(args.rounds or 3, 3)
    args.dispatch_rounds = args.rounds or quick or 5
    args.calls = args.calls or (50 if args.quick else 200)
    args.tasks = args.tasks or (500 if args.quick else 2000)
    args.sizes = ["200MB"] if args.quick else list(SIZES)

    import numpy
    import pandas

    api = warm_pool_api()
    if api is not None:
        import hotstart.pool  # noqa: F401  (for the .pyc report)
    print(f"{python_info()}; {os.cpu_count()} CPUs; pandas {pandas.__version__}, numpy "
          f"{numpy.__version__}; {pyc_state()} (hotstart: run `python -m compileall -q src` "
          f"first; PYTHONDONTWRITEBYTECODE={os.environ.get('PYTHONDONTWRITEBYTECODE', '')})\n")
    started = time.perf_counter()
    for name in args.only.split(","):
        section_start = time.perf_counter()
        SECTIONS[name](args, api)
        print(f"_(section {name}: {time.perf_counter() - section_start:.0f} s)_\n", flush=True)
    print(f"_(total {time.perf_counter() - started:.0f} s)_")


if __name__ == "__main__":
    main()
