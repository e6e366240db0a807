"""Text sections shared by the tree and table views: the summary, hot calls, notes."""

from __future__ import annotations

import shlex

from ..measure.model import Profile, ProcessProfile
from ._format import ms, printable, short_site, size, stat_ms


def summary(profile: Profile, process: ProcessProfile) -> list[str]:
    lines = [printable(shlex.join(profile.target))]
    runs = f"{profile.runs} run{'s' if profile.runs != 1 else ''}"
    if profile.warmup:
        runs += f" after {profile.warmup} untimed"
    lines.append(printable(f"  Python {process.python or profile.python} · "
                           f"{process.executable or '?'} · {profile.engine} · {runs}"))
    lines.append(f"  wall      {stat_ms(process.wall_us)}")
    if profile.floor_us is not None and process is profile.main:
        lines.append(f"  floor     {stat_ms(profile.floor_us)}  python -c pass, same runs")
        if process.wall_us is not None:
            cost = process.wall_us.median - profile.floor_us.median
            lines.append(f"  start-up  {ms(cost)} ms  wall minus floor")
    memory = []
    if process.peak_rss is not None:
        memory.append(f"peak RSS {size(process.peak_rss.median)}")
    if process.uss is not None:
        memory.append(f"USS {size(process.uss.median)}")
    if memory:
        lines.append("  memory    " + " · ".join(memory))
    imported = len(process.imported())
    lines.append(f"  modules   {process.module_count} in sys.modules at exit · {imported} imported"
                 f" by the target · {len(process.preloaded)} loaded before it by the interpreter")
    code = process.bytecode
    if code.from_pyc or code.compiled:
        flag = " (PYTHONDONTWRITEBYTECODE is set)" if code.dont_write_bytecode else ""
        lines.append(f"  bytecode  {code.from_pyc} from .pyc · {code.compiled} compiled at "
                     f"start{flag if code.compiled else ''}")
    if len(profile.processes) > 1:
        lines.append(f"  processes {len(profile.processes)} traced:")
        for index, other in enumerate(profile.processes):
            marker = "*" if other is process else " "
            wall = ms(other.wall_us.median) if other.wall_us else "-"
            argv = printable(shlex.join(other.argv)[:70])
            lines.append(f"   {marker}[{index}] pid {other.pid:<7} {wall:>8} ms "
                         f"{len(other.imported()):>5} imports  {argv}")
    if profile.cross_check is not None:
        check = profile.cross_check
        corr = "n/a" if check.pearson is None else f"{check.pearson:.3f}"
        rank = "n/a" if check.spearman is None else f"{check.spearman:.3f}"
        lines.append(f"  check     -X importtime ({check.runs} runs): {check.modules_compared} "
                     f"modules compared, Pearson r {corr}, Spearman {rank}; "
                     f"{len(check.only_tracer)} only traced, {len(check.only_importtime)} only in importtime")
    return lines


def hot_calls(process: ProcessProfile, top: int = 10) -> list[str]:
    if not process.hot_calls:
        return []
    lines = ["", "Hot calls: functions module-level code called during import",
             "  (~ms: what removing the call saves, timed without a profiler; share: of the"
             " timed runs' import time; a call's own imports are not counted)",
             f"  {'share':>6} {'~ms':>7} {'calls':>6}  function, who called it, "
             "where its time went"]
    total = process.import_us
    pad = " " * 25
    for call in process.hot_calls[:top]:
        where = f"  {short_site(f'{call.file}:{call.line}')}" if call.file else ""
        estimate = process.estimate_us(call, total)
        share = f"{estimate / total:.1%}" if total and estimate is not None else "-"
        lines.append(f"  {share:>6} {ms(estimate):>7} {call.calls:>6}  "
                     f"{printable(call.function)}{where}")
        names = [printable(c.function) for c in call.callers]
        shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
        lines.append(f"{pad}called at module level by {len(names)}: {shown}")
        own = call.cumulative_us - call.imports_us - call.overhead_us
        if call.chain:
            part = f"{call.chain[-1].cumulative_us / call.own_us:.0%}" if call.own_us > 0 else "-"
            path = " -> ".join(printable(c.function) for c in [call, *call.chain])
            lines.append(f"{pad}burns it in {printable(call.leaf)} ({part}): {path}")
        in_chain = {c.function for c in call.chain[:1]}
        for callee in [c for c in call.callees if c.function not in in_chain][:2]:
            fraction = callee.cumulative_us / own if own > 0 else 0.0
            if call.chain and fraction < 0.05:
                continue
            lines.append(f"{pad}-> {printable(callee.function)}: {min(fraction, 1.0):.0%} of it, "
                         f"{callee.calls} call{'s' if callee.calls != 1 else ''}")
    return lines


def notes(profile: Profile) -> list[str]:
    out = [f"note: {printable(note)}" for note in profile.notes]
    if profile.failed and profile.stderr_tail:
        out.append("stderr (last lines):")
        out.extend(f"  {printable(line)}" for line in profile.stderr_tail[-8:])
    return ([""] + out) if out else []
