"""Compare the tracer's per-module self times with `-X importtime` runs of the same target.

The interpreter's own clock around the same call the tracer wraps is the reference: if both
agree (high correlation, same module set), the tracer measures what it claims to.
"""

from __future__ import annotations

import math
from typing import Sequence

from .importtime import ImportTimeLog
from .model import CrossCheck, ProcessProfile, Stat

__all__ = ["cross_check", "pearson", "spearman"]


def cross_check(process: ProcessProfile, runs: Sequence[Sequence[ImportTimeLog]]) -> CrossCheck:
    """Correlate `process`'s median self times with the median of each importtime run."""
    samples: dict[str, list[float]] = {}
    for logs in runs:
        if logs:
            for name, self_us in logs[0].self_times().items():
                samples.setdefault(name, []).append(float(self_us))
    # importtime also times the interpreter's own start-up imports, which the tracer reports
    # as preloaded, and failed lookups, which the tracer keeps as "missing"/"error" records.
    preloaded = set(process.preloaded)
    reference = {name: Stat.of(values).median for name, values in samples.items()
                 if name not in preloaded}
    traced = {m.name: m.self_us.median for m in process.modules}
    common = sorted(traced.keys() & reference.keys())
    xs = [traced[name] for name in common]
    ys = [reference[name] for name in common]
    return CrossCheck(
        runs=len(runs),
        modules_compared=len(common),
        pearson=pearson(xs, ys),
        spearman=spearman(xs, ys),
        only_tracer=sorted(traced.keys() - reference.keys()),
        only_importtime=sorted(reference.keys() - traced.keys()),
    )


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    n = len(xs)
    if n < 3:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    return pearson(_ranks(xs), _ranks(ys))


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2
        i = j + 1
    return ranks
