"""Compare two profiles of the same target: what was added, removed, and what changed most.

A module added or removed adds or takes away its own (self) time and memory: its cumulative
figures also count the modules it imported, which are listed (added or removed) themselves.
Self figures therefore add up to the change; cumulative ones overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import ModuleRecord, Profile

__all__ = ["ModuleChange", "ProfileDiff", "diff_profiles"]


@dataclass(slots=True)
class ModuleChange:
    name: str
    before: ModuleRecord | None
    after: ModuleRecord | None

    @property
    def self_us(self) -> float:
        return _median_self(self.after) - _median_self(self.before)

    @property
    def cumulative_us(self) -> float:
        return _median_cum(self.after) - _median_cum(self.before)

    @property
    def rss(self) -> float:
        """Change in cumulative RSS growth (the module and what it imported)."""
        return _rss(self.after) - _rss(self.before)

    @property
    def self_rss(self) -> float:
        """Change in the module's own RSS growth."""
        return _self_rss(self.after) - _self_rss(self.before)


@dataclass(slots=True)
class ProfileDiff:
    before: Profile
    after: Profile
    process: int = 0
    added: list[ModuleChange] = field(default_factory=list)
    removed: list[ModuleChange] = field(default_factory=list)
    changed: list[ModuleChange] = field(default_factory=list)

    def totals(self) -> list[tuple[str, float | None, float | None, str]]:
        """(figure, before, after, unit) for the process-level figures."""
        a, b = self.before.processes[self.process], self.after.processes[self.process]
        rows: list[tuple[str, float | None, float | None, str]] = [
            ("wall", _m(a.wall_us), _m(b.wall_us), "us"),
            ("floor", _m(self.before.floor_us), _m(self.after.floor_us), "us"),
            ("imported modules", len(a.imported()), len(b.imported()), "count"),
            ("peak RSS", _m(a.peak_rss), _m(b.peak_rss), "bytes"),
            ("USS", _m(a.uss), _m(b.uss), "bytes"),
        ]
        return rows


def diff_profiles(before: Profile, after: Profile, *, process: int = 0) -> ProfileDiff:
    """Modules added and removed, and the biggest changes in self time among modules in both:
    each sorted by its change in self time, largest first."""
    a = {m.name: m for m in before.processes[process].imported()} if before.processes else {}
    b = {m.name: m for m in after.processes[process].imported()} if after.processes else {}
    result = ProfileDiff(before, after, process)
    result.added = sorted((ModuleChange(n, None, b[n]) for n in b.keys() - a.keys()),
                          key=lambda c: (-c.self_us, c.name))
    result.removed = sorted((ModuleChange(n, a[n], None) for n in a.keys() - b.keys()),
                            key=lambda c: (c.self_us, c.name))
    result.changed = sorted((ModuleChange(n, a[n], b[n]) for n in a.keys() & b.keys()),
                            key=lambda c: (-abs(c.self_us), c.name))
    return result


def _m(stat) -> float | None:
    return None if stat is None else stat.median


def _median_self(record: ModuleRecord | None) -> float:
    return record.self_us.median if record else 0.0


def _median_cum(record: ModuleRecord | None) -> float:
    return record.cumulative_us.median if record else 0.0


def _rss(record: ModuleRecord | None) -> float:
    return record.cumulative_rss.median if record and record.cumulative_rss else 0.0


def _self_rss(record: ModuleRecord | None) -> float:
    return record.self_rss.median if record and record.self_rss else 0.0
