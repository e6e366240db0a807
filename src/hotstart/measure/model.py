"""The one data model: how a Python process spent its start-up.

A `Profile` is what `hotstart profile` measured for one target: the processes it started
(one `ProcessProfile` each), and per process the tree of `ModuleRecord`s it imported, the
`HotCall`s that burned time while importing, and the `ImportEdge`s that say who imports whom.
Every renderer, `diff`, and later the audit and the CI gate read this model; nothing else is
shared between them. It is versioned as JSON (`SCHEMA`) and round-trips through
`to_dict`/`from_dict`.

Units: times in microseconds, memory in bytes, both as `Stat` (median, min, max over the
measured runs) where several runs were merged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Iterable, Iterator

__all__ = [
    "SCHEMA",
    "KINDS",
    "Stat",
    "ModuleRecord",
    "CallLink",
    "HotCall",
    "ImportEdge",
    "Bytecode",
    "ProcessProfile",
    "CrossCheck",
    "Profile",
    "ImportTree",
    "SchemaError",
]

SCHEMA = "hotstart.profile/1"

#: Where a module came from, in the order the tree legend lists them.
KINDS = ("builtin", "frozen", "extension", "stdlib", "third-party", "first-party")


class SchemaError(ValueError):
    """A file is not a hotstart profile this version can read."""


@dataclass(frozen=True, slots=True)
class Stat:
    """One figure over several runs: the median, with the min and max as the noise."""

    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Stat:
        ordered = sorted(values)
        if not ordered:
            raise ValueError("Stat.of() needs at least one value")
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        return cls(median, ordered[0], ordered[-1])

    @classmethod
    def exact(cls, value: float) -> Stat:
        return cls(value, value, value)

    @classmethod
    def from_dict(cls, data: Any) -> Stat | None:
        if data is None:
            return None
        return cls(data["median"], data["min"], data["max"])


@dataclass(slots=True)
class ModuleRecord:
    """One module a process imported, placed in the import tree.

    `importer` is the module whose import was in progress when this one started (its parent in
    the tree; `None` for imports made directly by the entrypoint). `site` is `path:line` of the
    statement that first imported it. Self figures exclude the module's children.
    """

    name: str
    importer: str | None
    depth: int
    order: int
    start_us: float
    thread: str
    self_us: Stat
    cumulative_us: Stat
    self_rss: Stat | None = None
    cumulative_rss: Stat | None = None
    self_blocks: Stat | None = None
    cumulative_blocks: Stat | None = None
    file: str | None = None
    kind: str = "first-party"
    distribution: str | None = None
    site: str | None = None
    #: "ok", "missing" (not found), "error:<ExceptionType>", or "unfinished" (process ended
    #: or was killed while this import was running).
    status: str = "ok"
    #: How many measured runs imported it (fewer than `Profile.runs` means it is not
    #: imported deterministically).
    runs: int = 1
    #: For source modules: "pyc" if a valid cached bytecode file was used, "source" if the
    #: module was compiled at start-up; None for modules without source.
    bytecode: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModuleRecord:
        values = dict(data)
        for name in ("self_us", "cumulative_us", "self_rss", "cumulative_rss", "self_blocks",
                     "cumulative_blocks"):
            values[name] = Stat.from_dict(values.get(name))
        return cls(**_known(cls, values))


@dataclass(slots=True)
class CallLink:
    """One caller or callee of a hot call, with the calls and time that went through it."""

    function: str
    file: str | None
    line: int | None
    calls: int
    cumulative_us: float


@dataclass(slots=True)
class HotCall:
    """A function called by module-level code while imports ran: a cost that is a call.

    Figures come from the profiling run (a deterministic call profiler active only while an
    import is in progress), so compare them with each other, not with module times.
    `callers` are the module bodies (or class statements) that called it, heaviest first;
    `callees` are where its time went. `imports_us` is the part of `cumulative_us` spent in
    imports the function made itself.
    """

    function: str
    file: str | None
    line: int | None
    calls: int
    self_us: float
    cumulative_us: float
    imports_us: float = 0.0
    callers: list[CallLink] = field(default_factory=list)
    callees: list[CallLink] = field(default_factory=list)

    @property
    def own_us(self) -> float:
        """Cumulative time without the imports the function made itself."""
        return self.cumulative_us - self.imports_us

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HotCall:
        values = _known(cls, data)
        for name in ("callers", "callees"):
            values[name] = [CallLink(**_known(CallLink, c)) for c in data.get(name, [])]
        return cls(**values)


@dataclass(frozen=True, slots=True)
class ImportEdge:
    """`importer` executed an import statement (or call) naming `imported`, at `site`."""

    importer: str
    imported: str
    site: str | None = None


@dataclass(slots=True)
class Bytecode:
    """Whether source modules were loaded from `.pyc` files or compiled at every start."""

    from_pyc: int = 0
    compiled: int = 0
    dont_write_bytecode: bool = False


@dataclass(slots=True)
class ProcessProfile:
    """One Python process of the target, merged over the measured runs."""

    argv: list[str]
    python: str
    executable: str
    wall_us: Stat | None
    modules: list[ModuleRecord]
    pid: int = 0
    parent_pid: int | None = None
    #: Offset of this process's tracer start from the start of the target, in microseconds.
    started_us: float = 0.0
    peak_rss: Stat | None = None
    uss: Stat | None = None
    module_count: int = 0
    #: Modules already loaded when the tracer started: the interpreter's own start-up.
    preloaded: list[str] = field(default_factory=list)
    hot_calls: list[HotCall] = field(default_factory=list)
    #: Total import time of the profiling run that measured `hot_calls` (the call profiler
    #: slows Python code down, so hot calls are read as shares of this).
    profiling_import_us: float | None = None
    edges: list[ImportEdge] = field(default_factory=list)
    bytecode: Bytecode = field(default_factory=Bytecode)
    #: False when the process was killed or left through os._exit before reporting.
    complete: bool = True

    def imported(self) -> list[ModuleRecord]:
        """Modules that were really loaded (not the failed or missing lookups)."""
        return [m for m in self.modules if m.status in ("ok", "unfinished")]

    @property
    def import_us(self) -> float:
        """Median time spent importing: the sum of the top-level imports' cumulative times."""
        names = {m.name for m in self.modules}
        return sum(m.cumulative_us.median for m in self.modules
                   if m.importer is None or m.importer not in names)

    def estimate_us(self, call: HotCall) -> float | None:
        """A hot call's own time scaled from the profiling run to the timed runs."""
        if not self.profiling_import_us:
            return None
        return call.own_us / self.profiling_import_us * self.import_us

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessProfile:
        values = _known(cls, data)
        for name in ("wall_us", "peak_rss", "uss"):
            values[name] = Stat.from_dict(data.get(name))
        values["modules"] = [ModuleRecord.from_dict(m) for m in data.get("modules", [])]
        values["hot_calls"] = [HotCall.from_dict(h) for h in data.get("hot_calls", [])]
        values["edges"] = [ImportEdge(**_known(ImportEdge, e)) for e in data.get("edges", [])]
        values["bytecode"] = Bytecode(**_known(Bytecode, data.get("bytecode", {})))
        return cls(**values)


@dataclass(slots=True)
class CrossCheck:
    """Tracer self times compared with `-X importtime` runs of the same target."""

    runs: int
    modules_compared: int
    pearson: float | None
    spearman: float | None
    only_tracer: list[str] = field(default_factory=list)
    only_importtime: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Profile:
    """Everything one `hotstart profile` session measured."""

    target: list[str]
    python: str
    engine: str
    runs: int
    warmup: int
    wall_us: Stat | None
    floor_us: Stat | None
    processes: list[ProcessProfile]
    exit_code: int | None = 0
    timed_out: bool = False
    stderr_tail: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cross_check: CrossCheck | None = None
    created: str = ""
    schema: str = SCHEMA

    @property
    def main(self) -> ProcessProfile:
        """The target's first Python process (the one the tree and tables show by default)."""
        if not self.processes:
            raise LookupError("the target started no traced Python process")
        return self.processes[0]

    @property
    def failed(self) -> bool:
        return self.timed_out or (self.exit_code not in (0, None))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # `schema` first, for humans reading the file.
        return {"schema": data.pop("schema"), **data}

    @classmethod
    def from_dict(cls, data: Any) -> Profile:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(f"expected a {SCHEMA} document, found {found!r}")
        values = _known(cls, data)
        values["wall_us"] = Stat.from_dict(data.get("wall_us"))
        values["floor_us"] = Stat.from_dict(data.get("floor_us"))
        values["processes"] = [ProcessProfile.from_dict(p) for p in data.get("processes", [])]
        if data.get("cross_check"):
            values["cross_check"] = CrossCheck(**_known(CrossCheck, data["cross_check"]))
        return cls(**values)


class ImportTree:
    """Navigation over one process's modules: parents, children, chains, importers.

    Built from a `ProcessProfile` (which holds only measured data); renderers and `--why`
    read the tree through it.
    """

    def __init__(self, process: ProcessProfile) -> None:
        self.process = process
        self._by_name = {m.name: m for m in process.modules}
        self._children: dict[str | None, list[ModuleRecord]] = {}
        for record in sorted(process.modules, key=lambda m: m.order):
            parent = record.importer if record.importer in self._by_name else None
            self._children.setdefault(parent, []).append(record)

    def module(self, name: str) -> ModuleRecord | None:
        return self._by_name.get(name)

    def roots(self) -> list[ModuleRecord]:
        return self._children.get(None, [])

    def children(self, name: str) -> list[ModuleRecord]:
        return self._children.get(name, [])

    def chain(self, name: str) -> list[ModuleRecord]:
        """The first-load chain from the entrypoint down to `name` (inclusive)."""
        out: list[ModuleRecord] = []
        record = self._by_name.get(name)
        while record is not None and len(out) <= len(self._by_name):
            out.append(record)
            record = self._by_name.get(record.importer) if record.importer else None
        return out[::-1]

    def importers(self, name: str) -> list[ImportEdge]:
        """Every recorded import of `name` (the first load and later ones), in order."""
        return [edge for edge in self.process.edges if edge.imported == name]

    def walk(self) -> Iterator[ModuleRecord]:
        """Every module, depth-first in import order."""
        stack = list(reversed(self.roots()))
        while stack:
            record = stack.pop()
            yield record
            stack.extend(reversed(self.children(record.name)))


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The keys of `data` that are fields of `cls` (newer writers may add fields)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
