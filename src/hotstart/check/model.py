"""What `hotstart check` found: one `CheckReport`, an `EntryResult` per entry.

Pure data: the engine (`_engine.py`) fills it, the renderers (`hotstart.render.check*`)
print it, and `to_dict` is its JSON form (``--format json``, schema ``hotstart.check/1``).

Verdicts: ``pass``; ``fail``; ``inconclusive`` (a statistical judgement whose confidence
interval still straddles its limit after the most rounds allowed: it passes, with a warning);
``skipped`` (the entry does not apply to this Python); ``error`` (the entry did not run).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["SCHEMA", "Step", "ModuleFinding", "Judgement", "EntryResult", "CheckReport",
           "Verdict"]

SCHEMA = "hotstart.check/1"

Verdict = Literal["pass", "fail", "inconclusive", "skipped", "error"]


@dataclass(slots=True)
class Step:
    """One link of a chain: `module` was first imported by the statement at `site`."""

    module: str
    #: ``path:line`` of the import statement, relative to the project's root when inside it.
    site: str | None = None


@dataclass(slots=True)
class ModuleFinding:
    """A module that should not be there: forbidden, or not in the lock (added since it was written)."""

    module: str
    #: The first-load chain, from the entry's first import down to `module`.
    chain: list[Step] = field(default_factory=list)
    #: The `forbid` glob it matched (forbidden modules only).
    rule: str | None = None
    #: How many more modules of the same kind this finding stands for: loaded through it
    #: (its submodules and what it imports: `pandas` and 293 more), so that one import
    #: line is one finding.
    covers: int = 0

    @property
    def origin(self) -> tuple[str, int] | None:
        """The project's import line that added the module: the deepest step of the chain
        whose site is a file of the project (relative path), as (path, line)."""
        for step in reversed(self.chain):
            if step.site and not step.site.startswith(("/", "<", "\\")) \
                    and step.site[1:3] != ":\\":  # absolute (POSIX, UNC, a drive): outside
                path, _, line = step.site.rpartition(":")
                if path and line.isdigit():
                    return path, int(line)
        return None

    def chain_text(self) -> str:
        return " -> ".join(step.module for step in self.chain) or self.module


@dataclass(slots=True)
class Judgement:
    """A budget or a baseline comparison, judged on interleaved rounds.

    `median`, `low` and `high` are the measured value and its confidence interval (the
    median of the per-round values and a distribution-free interval for it), in `unit`;
    `limit` is what fails when the whole interval lies above it."""

    name: str                      # "time", "rss", "time vs baseline", "rss vs baseline"
    unit: str                      # "ms" or "MB"
    median: float
    low: float
    high: float
    limit: float
    verdict: Verdict
    rounds: int
    confidence: float
    #: With a baseline: the baseline's own value (above the floor), for before/after.
    baseline: float | None = None
    #: The entry's own value above the floor, when `median` is a difference.
    value: float | None = None

    def sentence(self) -> str:
        """One line: the figure, its interval, the limit and the verdict."""
        unit = self.unit
        if self.baseline is not None:
            ci = f"[{self.low:+.1f}, {self.high:+.1f}]"
            share = f" ({self.median / self.baseline * 100:+.1f}%)" if self.baseline > 0 else ""
            return (f"{self.name}: {self.median:+.1f} {unit}{share} {ci} over the "
                    f"baseline's {self.baseline:.1f} {unit}, limit {self.limit:+.1f} {unit}: "
                    f"{self.verdict}")
        ci = f"[{self.low:.1f}, {self.high:.1f}]"
        return (f"{self.name}: {self.median:.1f} {unit} above the floor {ci}, budget "
                f"{self.limit:g} {unit}: {self.verdict}")


@dataclass(slots=True)
class EntryResult:
    """Everything checked on one entry."""

    name: str
    run: str
    python: str                    # "3.11"
    verdict: Verdict = "pass"
    #: Modules the entry imported beyond the interpreter's own start-up.
    modules: int = 0
    max_modules: int | None = None
    forbidden: list[ModuleFinding] = field(default_factory=list)
    #: "off", "ok", "changed" (added or removed), "missing" (no lock for this Python),
    #: "updated" (written by --update).
    lock: str = "off"
    added: list[ModuleFinding] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    judgements: list[Judgement] = field(default_factory=list)
    #: With a baseline: its module count; the modules loaded here and not there (with
    #: their chains), and those loaded there and not here. Informational: the lock and
    #: the budgets decide.
    baseline_modules: int | None = None
    new_since_baseline: list[ModuleFinding] = field(default_factory=list)
    gone_since_baseline: list[str] = field(default_factory=list)
    #: Why the entry was skipped, or how it failed to run.
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    def failures(self) -> list[str]:
        """One short phrase per failed check, for the summary line."""
        out = []
        if self.verdict == "error":
            return [self.reason or "did not run"]
        if self.forbidden:
            out.append("forbidden " + ", ".join(f.module for f in self.forbidden))
        if self.lock == "changed" and self.added:
            count = sum(1 + finding.covers for finding in self.added)
            out.append(f"{count} module{'s' if count != 1 else ''} not in the lock")
        if self.lock == "missing":
            out.append(f"no lock for Python {self.python}")
        if self.max_modules is not None and self.modules > self.max_modules:
            out.append(f"{self.modules} modules > {self.max_modules}")
        out.extend(f"{j.name} over its limit" for j in self.judgements if j.verdict == "fail")
        return out


@dataclass(slots=True)
class CheckReport:
    """One `hotstart check` run."""

    config: str                    # the configuration file (or "the command line")
    root: str
    python: str                    # "3.11.7"
    entries: list[EntryResult] = field(default_factory=list)
    baseline: str | None = None
    timing: bool = True
    #: The project's directory inside its git repository ("" at its root, "sub/dir/"):
    #: what turns an `origin` into a repository path (GitHub annotations).
    prefix: str = ""
    schema: str = SCHEMA

    @property
    def verdict(self) -> Verdict:
        verdicts = {e.verdict for e in self.entries}
        for worst in ("error", "fail", "inconclusive"):
            if worst in verdicts:
                return "fail" if worst == "error" else worst
        return "pass"

    @property
    def exit_code(self) -> int:
        """0 pass (inconclusive included: it warns), 1 a failed check or an entry that did
        not run."""
        return 1 if self.verdict == "fail" else 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = self.verdict
        for entry, raw in zip(self.entries, data["entries"]):
            for finding, item in zip(
                    [*entry.forbidden, *entry.added, *entry.new_since_baseline],
                    [*raw["forbidden"], *raw["added"], *raw["new_since_baseline"]]):
                origin = finding.origin
                item["origin"] = None if origin is None else {"path": origin[0],
                                                              "line": origin[1]}
        return {"schema": data.pop("schema"), **data}
