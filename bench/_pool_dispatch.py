"""Sections 3 and 4 of `bench_pool.py`: the no-op round trip and throughput, each pool alone.

Every contender is measured with no other pool alive: a round creates one pool (2 workers),
warms it up, times it, shuts it down, then the next contender does the same; rounds rotate
which contender goes first. (A round of all pools alive at once on 2 cores measures their
contention: idle peers' manager threads and workers compete for the cores.)

- Round trip: `calls` sequential ``submit(noop).result()`` per contender and round (µs per
  call).
- Throughput: `tasks` no-op tasks all in flight (submitted, or mapped, in one go, then every
  result awaited), µs per task = elapsed / tasks. ``map`` rows pass ``chunksize=`` where the
  pool has it (WarmPool's ``map`` takes it as `concurrent.futures.Executor.map` does).

Standard library only at import time (spawned workers re-import `bench_pool` and this).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import _pool_tasks as tasks
from _pool_table import Row, paired, print_table, verdict

WORKERS = 2
CHUNK = 64


class Contender:
    """A pool under test: `make` builds it and returns (submit, map, close): submit(fn, *args)
    -> a future, or a callable that waits for the result (mp.Pool's ``AsyncResult.get``);
    map(fn, items, chunksize) -> the list of results; close() stops the pool."""

    def __init__(self, label: str, make: Callable[[], tuple]) -> None:
        self.label = label
        self.make = make


def contenders(api: Any, preload: list[str]) -> list[Contender]:
    """WarmPool (when importable), ProcessPoolExecutor(fork), loky, pebble, mp.Pool: each
    with 2 workers, created by `make` and stopped by its `close`."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    fork = multiprocessing.get_context("fork")
    default_method = multiprocessing.get_start_method()
    out = []
    if api is not None:
        def warm_pool() -> tuple:
            pool = api[0](preload=preload, workers=WORKERS)
            return (pool.submit, lambda fn, items, chunk: list(pool.map(fn, items,
                                                                         chunksize=chunk)),
                    lambda: pool.shutdown(wait=True))
        out.append(Contender("WarmPool", warm_pool))

    def ppe() -> tuple:
        pool = ProcessPoolExecutor(WORKERS, mp_context=fork)
        return (pool.submit, lambda fn, items, chunk: list(pool.map(fn, items, chunksize=chunk)),
                lambda: pool.shutdown(wait=True))

    def loky_pool() -> tuple:
        import loky

        pool = loky.get_reusable_executor(max_workers=WORKERS)
        return (pool.submit, lambda fn, items, chunk: list(pool.map(fn, items, chunksize=chunk)),
                lambda: pool.shutdown(wait=True))

    def pebble_pool() -> tuple:
        import pebble

        pool = pebble.ProcessPool(max_workers=WORKERS)

        def close() -> None:
            pool.close()
            pool.join()
        return (lambda fn, *args: pool.schedule(fn, args=args),
                lambda fn, items, chunk: list(pool.map(fn, items, chunksize=chunk).result()),
                close)

    def mp_pool() -> tuple:
        pool = multiprocessing.Pool(WORKERS)

        def close() -> None:
            pool.terminate()
            pool.join()
        return (lambda fn, *args: pool.apply_async(fn, args).get, lambda fn, items, chunk: pool.map(
            fn, items, chunksize=chunk), close)

    out += [Contender("PPE fork", ppe), Contender("loky", loky_pool),
            Contender(f"pebble ProcessPool ({default_method})", pebble_pool),
            Contender(f"mp.Pool ({default_method})", mp_pool)]
    return out


def _result(handle: Any) -> Any:
    """A future's result, or an mp.Pool AsyncResult's (its bound ``get``)."""
    return handle() if callable(handle) else handle.result()


def _warm_up(submit: Callable, calls: int = 60) -> None:
    """Both workers started and the code paths run: tasks in flight, then one by one."""
    for handle in [submit(tasks.sleep_pid, 0.05) for _ in range(WORKERS)]:
        _result(handle)
    for _ in range(calls):
        _result(submit(tasks.noop))


def _rotated(items: list, round_: int) -> list:
    shift = round_ % len(items)
    return items[shift:] + items[:shift]


def noop_round_trip(args: Any, api: Any, preload: list[str]) -> None:
    pools = contenders(api, preload)
    rows = {c.label: Row(c.label) for c in pools}
    for round_ in range(args.dispatch_rounds):
        for contender in _rotated(pools, round_):
            submit, _map, close = contender.make()
            try:
                _warm_up(submit)
                samples = rows[contender.label].samples
                for _ in range(args.calls):
                    start = time.perf_counter_ns()
                    _result(submit(tasks.noop))
                    samples.append((time.perf_counter_ns() - start) / 1e3)
            finally:
                close()
    reference = rows["PPE fork"]
    print_table([rows[c.label] for c in pools], reference,
                f"No-op round trip on warm workers, each pool alone ({args.dispatch_rounds} "
                f"rounds x {args.calls} sequential calls; a round creates, warms up, times and "
                f"shuts down one pool at a time, rotating the order; per-call ratios pair the "
                f"same round and call index)", unit="µs", digits=0)
    if api is not None:
        value = rows["WarmPool"].median
        peers = {label: row.median for label, row in rows.items() if label != "WarmPool"}
        best = min(peers, key=peers.get)
        verdict(value <= peers[best],
                f"WarmPool round trip {value:.0f} µs vs the fastest peer, {best} "
                f"{peers[best]:.0f} µs (target: ahead of every peer)")
    print()


def throughput(args: Any, api: Any, preload: list[str]) -> None:
    pools = contenders(api, preload)
    ways = [("submit", None), ("map", 1), ("map", CHUNK)]
    rows = {(c.label, way, chunk): Row(f"{c.label}: {way}"
                                        + (f"(chunksize={chunk})" if chunk else ""))
            for c in pools for way, chunk in ways}
    items = list(range(args.tasks))
    for round_ in range(args.dispatch_rounds):
        for contender in _rotated(pools, round_):
            submit, map_, close = contender.make()
            try:
                _warm_up(submit)
                for way, chunk in ways:
                    start = time.perf_counter_ns()
                    if way == "submit":
                        handles = [submit(tasks.noop) for _ in items]
                        results = [_result(handle) for handle in handles]
                    else:
                        results = map_(tasks.identity, items, chunk)
                    elapsed = time.perf_counter_ns() - start
                    if way == "submit":
                        assert results == [None] * len(items)
                    else:
                        assert list(results) == items, contender.label
                    rows[contender.label, way, chunk].samples.append(elapsed / 1e3 / len(items))
            finally:
                close()
    reference = next(row for (label, way, _), row in rows.items()
                     if label.startswith("pebble") and way == "submit")
    print_table(list(rows.values()), reference,
                f"Throughput: {args.tasks} no-op tasks all in flight, each pool alone "
                f"({args.dispatch_rounds} rounds, rotating the order; µs per task = elapsed / "
                f"tasks; `submit`: one submit per task, then every result; `map`: "
                f"`map(identity, range(N), chunksize=)`)", unit="µs/task", digits=1)
    if api is not None:
        warm = rows["WarmPool", "submit", None]
        ratio = paired(warm, reference)
        verdict(warm.median <= reference.median,
                f"WarmPool submit throughput {warm.median:.1f} µs/task vs pebble "
                f"{reference.median:.1f} (median of per-round ratios {ratio:.2f}; target: "
                f"pebble's or better)")
        best_map = min((row for (label, way, _), row in rows.items()
                        if label == "WarmPool" and way == "map"), key=lambda row: row.median)
        print(f"- WarmPool's best map row: {best_map.label}, {best_map.median:.1f} µs/task")
    print()
