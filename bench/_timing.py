"""Side-by-side timing of commands: interleaved rounds, medians with min/max, ratios."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Sequence


@dataclass
class Series:
    label: str
    argv: list[str]
    env: dict[str, str] | None = None
    samples_ms: list[float] = field(default_factory=list)
    #: CPU time (user + system) of the child, where the benchmark records it (it does not
    #: count waiting for the other core; on this VM it moved as much as wall time anyway)
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return median_of(self.samples_ms)

    @property
    def cpu_median(self) -> float:
        return median_of(self.cpu_ms)


def median_of(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def run_once(argv: Sequence[str], env: dict[str, str] | None = None,
             cwd: str | os.PathLike | None = None) -> float:
    """Wall time in ms from spawn to exit; output discarded (to a file, not a pipe)."""
    return run_once_cpu(argv, env, cwd)[0]


def run_once_cpu(argv: Sequence[str], env: dict[str, str] | None = None,
                 cwd: str | os.PathLike | None = None) -> tuple[float, float]:
    """Wall ms from spawn to exit, and the child's own CPU ms (user + system, from wait4
    on that one pid: exact, with no other child counted); output discarded."""
    with open(os.devnull, "wb") as sink:
        start = time.perf_counter_ns()
        child = subprocess.Popen(argv, stdout=sink, stderr=sink, env=env, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter_ns() - start) / 1e6
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, list(argv))
    return wall, (usage.ru_utime + usage.ru_stime) * 1e3


def interleave(series: Sequence[Series], rounds: int, warmup: int = 2) -> None:
    """Run every series once per round, in the same order, so all see the same machine."""
    for _ in range(warmup):
        for s in series:
            run_once(s.argv, s.env)
    for _ in range(rounds):
        for s in series:
            s.samples_ms.append(run_once(s.argv, s.env))


def paired_ratio(series: Series, baseline: Series) -> float:
    """Median of the per-round ratios: each round ran both back to back, so slow drift of
    the machine cancels out (more robust than the ratio of the two medians)."""
    return median_of([a / b for a, b in zip(series.samples_ms, baseline.samples_ms)])


def table(series: Sequence[Series], baseline: Series, title: str) -> str:
    lines = [f"### {title}", "",
             f"| command | median ms | min ms | max ms | ratio of medians | median of per-round "
             f"ratios to {baseline.label} |",
             "|---|---:|---:|---:|---:|---:|"]
    for s in series:
        lines.append(f"| {s.label} | {s.median:.1f} | {min(s.samples_ms):.1f} | "
                     f"{max(s.samples_ms):.1f} | {s.median / baseline.median:.3f} | "
                     f"{paired_ratio(s, baseline):.3f} |")
    return "\n".join(lines) + "\n"


def python_info() -> str:
    return f"Python {sys.version.split()[0]} ({sys.executable})"
