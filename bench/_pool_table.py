"""Tables of `bench_pool.py`: samples per contender, medians with min/max, paired ratios.

Standard library only (spawned workers re-import `bench_pool` and, through it, this module).
"""

from __future__ import annotations


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


class Row:
    """One contender of a table: its samples (ms unless the table says otherwise)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.samples: list[float] = []
        self.notes: dict[str, list[float]] = {}

    def note(self, key: str, value: float) -> None:
        self.notes.setdefault(key, []).append(value)

    @property
    def median(self) -> float:
        return median(self.samples)


def paired(row: Row, reference: Row) -> float | None:
    """Median of the per-round ratios (rows sampled in the same rounds), else None."""
    if len(row.samples) != len(reference.samples) or not row.samples:
        return None
    return median([a / b for a, b in zip(row.samples, reference.samples)])


def print_table(rows: list[Row], reference: Row, title: str, unit: str = "ms",
                digits: int = 1) -> None:
    print(f"### {title}\n")
    print(f"| contender | median {unit} | min {unit} | max {unit} | ratio of medians | median of "
          f"per-round ratios to {reference.label} |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        if not row.samples:
            print(f"| {row.label} | - | - | - | - | - |")
            continue
        ratio = paired(row, reference)
        print(f"| {row.label} | {row.median:.{digits}f} | {min(row.samples):.{digits}f} | "
              f"{max(row.samples):.{digits}f} | {row.median / reference.median:.3f} | "
              f"{'-' if ratio is None else f'{ratio:.3f}'} |")
    print()


def verdict(met: bool | None, text: str) -> None:
    state = "n/a" if met is None else ("met" if met else "NOT met")
    print(f"- target {state}: {text}")
