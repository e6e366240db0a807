"""Timed rounds and what they judge: the floor, the entry and the baseline run back to back
in every order in turn, each timed from spawn to a blocking wait4; budgets and baseline
comparisons judged with intervals (`stats.py`)."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .config import NOT_PROJECT_DIRS, CheckConfig, EntryConfig
from .model import Judgement
from .stats import judge, median, median_interval, shift_interval

if TYPE_CHECKING:
    from ._engine import Side

__all__ = ["Progress", "Rounds", "compile_sources", "judgements", "time_rounds"]

#: Called with a short line saying what runs now.
Progress = Callable[[str], None]


def _not_project(dirs: list[str]) -> str:
    """compileall's exclusion: what `project_file` says is not the project's (hidden
    directories, virtual environments, installed packages, build output) below `dirs`,
    matched under them only, so a project that itself lives below a hidden directory
    (~/.local/src/proj) is still compiled."""
    names = "|".join(re.escape(name) for name in sorted(NOT_PROJECT_DIRS))
    roots = "|".join(re.escape(d.rstrip("/\\")) for d in dirs)
    return rf"^(?:{roots})[/\\](?:.*[/\\])?(?:\.[^/\\]+|{names})[/\\]"


def compile_sources(side: Side, config: CheckConfig, python: str) -> None:
    """Compile the project's sources on `side` to .pyc, as Python writes them on first
    import, so that no side of a comparison pays compilation at every start (a baseline's
    fresh checkout has none; PYTHONDONTWRITEBYTECODE keeps a tree from getting them)."""
    dirs = [str(side.root / p) for p in config.pythonpath] or [str(side.root)]
    try:
        subprocess.run([python, "-m", "compileall", "-q", "-x", _not_project(dirs), *dirs],
                       capture_output=True, timeout=600, stdin=subprocess.DEVNULL,
                       cwd=str(side.root))
    except (OSError, subprocess.TimeoutExpired):
        pass  # a tree that cannot be compiled is timed as it is


@dataclass
class Rounds:
    floor: list = field(default_factory=list)
    entry: list = field(default_factory=list)
    base: list = field(default_factory=list)


def time_rounds(rounds: Rounds, count: int, argvs: dict[str, tuple], timeout: float,
                 progress: Progress | None, name: str) -> str | None:
    """`count` more rounds; each round runs the contenders in the next of their orders
    (every permutation in turn, so that each precedes and follows each other equally: what
    a run leaves in caches favours no one). Returns why an entry run failed, or None."""
    from itertools import permutations

    from ..measure.runner import run_once

    orders = list(permutations(argvs))
    for index in range(count):
        sequence = orders[(len(rounds.floor) + index) % len(orders)]
        results = {}
        for who in sequence:
            argv, env, cwd = argvs[who]
            run = run_once(argv, env, cwd, timeout)
            if run.timed_out or run.exit_code != 0:
                what = "timed out" if run.timed_out else f"exited with status {run.exit_code}"
                tail = next((ln for ln in reversed(run.stderr.splitlines()) if ln.strip()), "")
                return f"{who} run {what}" + (f": {tail.strip()[:200]}" if tail else "")
            results[who] = run
        for who, run in results.items():
            getattr(rounds, who).append(run)
        if progress is not None:
            progress(f"{name}: round {len(rounds.floor)}")
    return None


#: The least growth over a baseline that fails, whatever `max-regression` says: for an
#: entry at the floor (`-c "import small"`), 5 % of nothing would fail on any measurable
#: shift, and less than this is within what a start-up varies by anyway.
MIN_TIME_LIMIT_MS = 2.0
MIN_RSS_LIMIT_MB = 1.0

#: The confidence a failure needs before the last look (Haybittle-Peto): a check that
#: looks again after more rounds must not fail more often, over all its looks, than one
#: look at the stated confidence would.
INTERIM_CONFIDENCE = 0.999


def _judged(name: str, unit: str, values: list[float], limit: float, confidence: float,
            interim: bool, estimator=median_interval, *, shift: float = 0.0,
            baseline: float | None = None, value: float | None = None) -> Judgement:
    """The figure of `values` (minus `shift`), its interval at `confidence`, and the
    verdict: before the last look, a failure needs the stricter interval."""
    mid, low, high = (x - shift for x in estimator(values, confidence))
    verdict = judge(low, high, limit)
    if interim and verdict == "fail":
        strict_low = estimator(values, max(confidence, INTERIM_CONFIDENCE))[1] - shift
        verdict = "fail" if strict_low > limit else "inconclusive"
    return Judgement(name, unit, mid, low, high, limit, verdict, 2 * len(values),
                     confidence, baseline=baseline, value=value)


def _limit(entry: EntryConfig, baseline: float, least: float) -> float:
    """The growth over `baseline` that fails: `max-regression` of it, at least `least`."""
    return max(entry.max_regression * max(baseline, 0.0), least)


def _best_of_two(values: list[float]) -> list[float]:
    """The smaller of each two consecutive rounds' values. What slows a run on a busy
    machine only adds time, so the smaller of two runs carries less of it; for two
    contenders that differ by a shift, their best-of-two values differ by the same shift,
    and their differences stay symmetric about it. Measured here under load: the interval
    of 45 such pairs was half as wide as that of the 90 single rounds they came from."""
    return [min(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def judgements(entry: EntryConfig, rounds: Rounds, confidence: float,
               base_profile=None, *, interim: bool = False) -> list[Judgement]:
    """Every budget and baseline comparison of `entry`, judged on `rounds` taken two by two
    (the best of each two, per contender); `interim`: more rounds may follow (a failure
    then needs `INTERIM_CONFIDENCE`)."""
    out = []

    def series(runs: list, field: str, scale: float = 1e3) -> list[float]:
        return _best_of_two([getattr(run, field) / scale for run in runs])

    floor_ms, entry_ms = series(rounds.floor, "wall_us"), series(rounds.entry, "wall_us")
    net = [e - f for e, f in zip(entry_ms, floor_ms)]
    have_rss = all(r.max_rss_kb is not None for r in (*rounds.floor, *rounds.entry))
    floor_rss = series(rounds.floor, "max_rss_kb", 1024) if have_rss else []
    entry_rss = series(rounds.entry, "max_rss_kb", 1024) if have_rss else []
    rss_net = [e - f for e, f in zip(entry_rss, floor_rss)]
    if entry.budget_ms is not None:
        out.append(_judged("time", "ms", net, entry.budget_ms, confidence, interim))
    if entry.max_rss_mb is not None and rss_net:
        out.append(_judged("rss", "MB", rss_net, entry.max_rss_mb, confidence, interim))
    if rounds.base:
        base_ms = series(rounds.base, "wall_us")
        base_net = median([b - f for b, f in zip(base_ms, floor_ms)])
        out.append(_judged("time vs baseline", "ms", [e - b for e, b in zip(entry_ms, base_ms)],
                           _limit(entry, base_net, MIN_TIME_LIMIT_MS), confidence, interim,
                           shift_interval, baseline=base_net, value=median(net)))
        # CPU time (user + system, from wait4) does not count the waits for a CPU that a
        # busy machine adds. A regression that waits (sleep, network) shows in wall time only.
        timed = (*rounds.floor, *rounds.entry, *rounds.base)
        if all(r.cpu_us is not None for r in timed):
            floor_cpu = series(rounds.floor, "cpu_us")
            entry_cpu, base_cpu = series(rounds.entry, "cpu_us"), series(rounds.base, "cpu_us")
            base_cpu_net = median([b - f for b, f in zip(base_cpu, floor_cpu)])
            out.append(_judged(
                "cpu vs baseline", "ms", [e - b for e, b in zip(entry_cpu, base_cpu)],
                _limit(entry, base_cpu_net, MIN_TIME_LIMIT_MS), confidence, interim,
                shift_interval, baseline=base_cpu_net,
                value=median([e - f for e, f in zip(entry_cpu, floor_cpu)])))
        if have_rss and all(r.max_rss_kb is not None for r in rounds.base):
            base_rss = series(rounds.base, "max_rss_kb", 1024)
            base_rss_net = median([b - f for b, f in zip(base_rss, floor_rss)])
            out.append(_judged(
                "rss vs baseline", "MB", [e - b for e, b in zip(entry_rss, base_rss)],
                _limit(entry, base_rss_net, MIN_RSS_LIMIT_MB), confidence, interim,
                shift_interval, baseline=base_rss_net, value=median(rss_net) if rss_net else None))
    elif base_profile is not None and base_profile.wall_us and base_profile.floor_us:
        # A saved profile: not interleaved with these rounds, so only this side's interval.
        base_net = (base_profile.wall_us.median - base_profile.floor_us.median) / 1e3
        out.append(_judged("time vs baseline", "ms", net,
                           _limit(entry, base_net, MIN_TIME_LIMIT_MS), confidence, interim,
                           shift=base_net, baseline=base_net, value=median(net)))
    return out
