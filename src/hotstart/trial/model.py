"""The lazy trial's data model: what one path of a program really used, and its bound.

A `TrialReport` is what `hotstart trial ENTRY` found by running the entry with every
module-scope import lazy: the modules the path really used (`Use`: where it first used
each), the modules it only imported (`Deferred`: where the import was deferred), the modules
an eager run loads and the lazy run never did (`Saved`: what deferring saved), the packages
that had to stay eager because laziness broke them (`eager_packages`: why), and the start-up
timings: `before` (eager), the measured bound (every unused import deferred) and the bound
predicted from the eager profile, and the same two for the project bound (only the imports
the project's own modules execute deferred: what a fix of the project's files can reach).

Units: times in microseconds, memory in bytes, as in the profile model; the `*_ms`
properties are what people and the other commands print. It round-trips through JSON
(`to_json`/`from_json`; schema "hotstart.trial/1").
"""

from __future__ import annotations

import json
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, make_dataclass
from typing import Any

from ..measure.model import SchemaError, Stat, _decode, _load_json, _short

__all__ = ["SCHEMA", "Deferred", "Saved", "TrialReport", "Use"]

SCHEMA = "hotstart.trial/1"


@dataclass(slots=True)
class Use:
    """A module the path really used: its deferred import was resolved at `file:line` in
    `function` (the first frame outside the import machinery). `file` is None where the
    interpreter does not say who used it (PEP 810 on 3.15), or where it was loaded by
    another, eager import (`how`)."""

    module: str
    file: str | None = None
    line: int | None = None
    function: str | None = None
    #: Where its import statement was deferred (`file:line`), when known.
    deferred_at: str | None = None
    #: "used" (a deferred binding was used) or "imported" (loaded by an eager import).
    how: str = "used"

    @property
    def where(self) -> str:
        """`file:line in function`, or "" when unknown."""
        if self.file is None:
            return ""
        place = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{place} in {self.function}" if self.function else place


@dataclass(slots=True)
class Deferred:
    """A module the path imported but never used: its import was deferred at `where`
    (`file:line`, None when unknown) and the lazy run never loaded it. `saved_us` and
    `saved_rss` are the self time and memory of it and of the modules only it would have
    loaded, from the eager profile."""

    module: str
    where: str | None = None
    saved_us: float = 0.0
    saved_rss: int | None = None
    saved_modules: int = 0


@dataclass(slots=True)
class Saved:
    """A module the eager run loads and the lazy run never did: its self time and memory in
    the eager profile, and the unused deferred import that would have loaded it (`via`)."""

    module: str
    self_us: float
    self_rss: int | None = None
    via: str | None = None


@dataclass(slots=True)
class TrialReport:
    """Everything one `hotstart trial` found on one entry."""

    target: list[str]
    python: str
    #: "hook" (hotstart.lazy's import hook, 3.11-3.14) or "pep810" (the interpreter's own).
    engine: str
    runs: int
    #: Wall times of the timed runs (exact, through the supervisor): eager, lazy, and the
    #: bare interpreter (`python -c pass`), interleaved.
    eager_us: Stat | None
    lazy_us: Stat | None
    floor_us: Stat | None
    #: `python -c pass` with the trial's hook installed: the hook's fixed cost (importing and
    #: installing it) on top of the bare interpreter, which the measured bound leaves out.
    hook_floor_us: Stat | None = None
    #: The eager profile's start-up (its median wall minus its floor), and that minus the
    #: self time (in the profile) of every module the lazy run never loaded.
    profile_us: float | None = None
    predicted_us: float | None = None
    used: dict[str, Use] = field(default_factory=dict)
    unused: dict[str, Deferred] = field(default_factory=dict)
    saved: dict[str, Saved] = field(default_factory=dict)
    #: Packages made eager because laziness changed the program's output: package -> why.
    eager_packages: dict[str, str] = field(default_factory=dict)
    #: Modules the lazy run loaded (used, imported eagerly or loaded before the hook).
    loaded: int = 0
    #: Modules the eager run loaded (the path as it is), sorted.
    modules: list[str] = field(default_factory=list)
    #: The lazy run's exit status and stdout were those of the eager run.
    identical: bool = True
    #: Runs made to find the packages laziness breaks (beyond the first eager and lazy ones).
    fallback_runs: int = 0
    exit_code: int | None = 0
    notes: list[str] = field(default_factory=list)
    created: str = ""
    #: The project bound: the entry with only the imports executed by the project's own
    #: modules deferred (libraries' imports inside themselves stay eager), which is what
    #: rewriting the project's files can reach. `project`: the files and directories (ending
    #: in a separator) that were the project; empty: none found, no project bound.
    project: list[str] = field(default_factory=list)
    #: Wall times of those runs (interleaved with the others).
    project_us: Stat | None = None
    #: The eager profile's start-up minus the self time of what the project run never loaded.
    project_predicted_us: float | None = None
    #: Modules the eager run loads and the project run never did, sorted.
    project_saved: list[str] = field(default_factory=list)
    #: Modules the project run loaded.
    project_loaded: int = 0
    #: The project run's exit status and stdout were those of the eager run.
    project_identical: bool = True
    schema: str = SCHEMA

    @property
    def before_ms(self) -> float | None:
        """Start-up of the entry as it is: median eager wall minus the median floor."""
        return _net(self.eager_us, self.floor_us)

    @property
    def bound_ms(self) -> float | None:
        """Measured bound: median lazy wall minus the median lazy floor (`python -c pass`
        with the hook installed: the hook's fixed cost is left out, its cost per import is
        not). None when the final lazy run did not do what the eager run does (`identical`):
        a run that behaves differently bounds nothing (`no_bound` says why)."""
        if not self.identical:
            return None
        return _net(self.lazy_us, self.hook_floor_us or self.floor_us)

    @property
    def bound_predicted_ms(self) -> float | None:
        """Predicted bound: the eager profile's start-up minus what the lazy run never
        loaded; None when the lazy run was not identical (as `bound_ms`)."""
        if not self.identical or self.predicted_us is None:
            return None
        return self.predicted_us / 1e3

    @property
    def no_bound(self) -> str | None:
        """Why the trial withholds its all-lazy bound and ratio; None when it has them."""
        if not self.identical:
            return "the lazy run never did what the eager run does (see the notes)"
        return None

    @property
    def no_ratio(self) -> str | None:
        """Why there is no all-lazy ratio (no bound, or the saving is within the runs'
        noise); None when there is one."""
        return self.no_bound or self._noise(self.lazy_us, bool(self.saved))

    @property
    def ratio(self) -> float | None:
        """before / measured bound (how many times faster a perfect cut starts); None when
        `no_ratio` says why not."""
        return None if self.no_ratio else _ratio(self.before_ms, self.bound_ms)

    @property
    def project_bound_ms(self) -> float | None:
        """Measured project bound: median wall with only the project's imports lazy minus
        the median lazy floor (as `bound_ms`); None without a project, or when the project
        run was not identical."""
        if not self.project_identical:
            return None
        return _net(self.project_us, self.hook_floor_us or self.floor_us)

    @property
    def project_bound_predicted_ms(self) -> float | None:
        """Predicted project bound: the eager profile's start-up minus what the project run
        never loaded (None as `project_bound_ms`)."""
        if not self.project_identical or self.project_predicted_us is None:
            return None
        return self.project_predicted_us / 1e3

    @property
    def no_project_bound(self) -> str | None:
        """Why the trial withholds its project bound; None when it has one (or no project
        run was made)."""
        if not self.project_identical:
            return "the project's lazy run never did what the eager run does (see the notes)"
        return None

    @property
    def no_project_ratio(self) -> str | None:
        """Why there is no project ratio; None when there is one."""
        return self.no_project_bound or self._noise(self.project_us,
                                                    bool(self.project_saved))

    @property
    def project_ratio(self) -> float | None:
        """before / measured project bound (what a perfect cut of the project's own files
        reaches); None when `no_project_ratio` says why not."""
        return None if self.no_project_ratio else _ratio(self.before_ms,
                                                          self.project_bound_ms)

    def _noise(self, lazy: Stat | None, saved: bool) -> str | None:
        """Why before - bound (with the lazy walls `lazy`) is no measured saving: nothing
        was saved, a start-up at or below the bare interpreter's, or a difference inside
        the runs' spread (the eager and lazy ranges overlap, or it is below the floors'
        spread); None when it is a measured saving."""
        floor = self.hook_floor_us or self.floor_us
        before, bound = _net(self.eager_us, self.floor_us), _net(lazy, floor)
        if before is None or bound is None:
            return "no timed runs"
        if not saved:
            return "the lazy run loaded every module the eager run does: nothing to cut"
        if before <= 0 or bound <= 0:
            return "a start-up at or below the bare interpreter's: within the runs' noise"
        assert self.eager_us is not None and lazy is not None
        # Both ranges net of their own floor's median, as before and bound are.
        eager_least = before - (self.eager_us.median - self.eager_us.min) / 1e3
        lazy_most = bound + (lazy.max - lazy.median) / 1e3
        spread = sum(s.max - s.min for s in (self.floor_us, floor) if s is not None) / 1e3
        if lazy_most >= eager_least or before - bound <= spread:
            return (f"before - bound ({before - bound:.1f} ms) is within the runs' noise "
                    f"(eager {self.eager_us.min / 1e3:.1f}-{self.eager_us.max / 1e3:.1f} ms, "
                    f"lazy {lazy.min / 1e3:.1f}-{lazy.max / 1e3:.1f} ms)")
        return None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # Maps keyed by module are lists in the file: each entry names its module.
        for name in ("used", "unused", "saved"):
            data[name] = list(data[name].values())
        return {"schema": data.pop("schema"), **data}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: Any) -> TrialReport:
        """The report `data` (parsed JSON) describes; `SchemaError` naming the first wrong
        value by its JSON path."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(f"expected a {SCHEMA} document, found {_short(found)}")
        document = _decode(_Document, data)
        packages = data.get("eager_packages", {})
        if not isinstance(packages, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in packages.items()):
            raise SchemaError(f"eager_packages: expected an object of strings, found "
                              f"{_short(packages)}")
        values = {name: getattr(document, name) for name in _Document.__dataclass_fields__}
        for name in ("used", "unused", "saved"):
            values[name] = {item.module: item for item in values[name]}
        values["eager_packages"] = dict(packages)
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> TrialReport:
        """Parse and check a trial document. Syntax errors raise `json.JSONDecodeError`,
        everything else `SchemaError`."""
        return cls.from_dict(_load_json(text, "trial report"))


def _document_type() -> type:
    """The typed fields of a trial file, for the profile model's checked reader: those of
    `TrialReport`, with the module maps as the lists they are in the file (`eager_packages`
    is checked by hand)."""
    hints = typing.get_type_hints(TrialReport)
    specs: list[tuple[str, Any, Any]] = []
    for spec in fields(TrialReport):
        if spec.name in ("schema", "eager_packages"):
            continue
        hint = hints[spec.name]
        if typing.get_origin(hint) is dict:
            specs.append((spec.name, list[typing.get_args(hint)[1]], field(default_factory=list)))
        elif spec.default is not MISSING or spec.default_factory is not MISSING:
            specs.append((spec.name, hint, field(default=spec.default,
                                                 default_factory=spec.default_factory)))
        else:
            specs.append((spec.name, hint, field()))
    return make_dataclass("TrialDocument", specs, slots=True)


_Document = _document_type()


def _ratio(before: float | None, bound: float | None) -> float | None:
    if before is None or bound is None or bound <= 0 or before <= 0:
        return None
    return before / bound


def _net(wall: Stat | None, floor: Stat | None) -> float | None:
    if wall is None:
        return None
    return (wall.median - (floor.median if floor is not None else 0.0)) / 1e3
