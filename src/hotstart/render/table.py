"""A flat table of the top modules, by self time, cumulative time or memory."""

from __future__ import annotations

from ..measure.model import Profile
from . import _sections
from ._format import ms, printable, short_site, size
from .tree import SORT_KEYS, SortKey

__all__ = ["render_table"]


def render_table(profile: Profile, *, process: int = 0, top: int = 25,
                 sort: SortKey = "self", hot_calls: int = 10) -> str:
    proc = profile.processes[process]
    key = SORT_KEYS[sort if sort != "order" else "self"]
    rows = sorted(proc.modules, key=key)[:top]  # type: ignore[arg-type]
    lines = _sections.summary(profile, proc)
    lines += ["", f"Top {len(rows)} modules by {sort if sort != 'order' else 'self'} "
                  f"(medians of {profile.runs} run{'s' if profile.runs != 1 else ''})",
              f"  {'self ms':>8} {'min':>7} {'max':>7} {'cum ms':>8} {'self mem':>8}  "
              f"{'kind':<24} module  <- imported at"]
    for record in rows:
        memory = size(record.self_rss.median, signed=True) if record.self_rss else "-"
        origin = record.kind + (f" · {record.distribution}" if record.distribution else "")
        lines.append(
            f"  {ms(record.self_us.median):>8} {ms(record.self_us.min):>7} "
            f"{ms(record.self_us.max):>7} {ms(record.cumulative_us.median):>8} {memory:>8}  "
            + printable(f"{origin:<24} {record.name}  <- ")
            + (short_site(record.site) or printable(record.importer or "-")))
    lines += _sections.hot_calls(proc, hot_calls)
    lines += _sections.notes(profile)
    return "\n".join(lines) + "\n"
