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

import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any, Callable, Iterable, Iterator

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

#: Where a module came from, in the order the tree legend lists them. "first-party": the
#: target's own project; "external": found on sys.path (PYTHONPATH, a .pth file) outside that
#: project and owned by no installed distribution.
KINDS = ("builtin", "frozen", "extension", "stdlib", "third-party", "external", "first-party")


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
        return None if data is None else _decode(cls, data)


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
    def from_dict(cls, data: Any) -> ModuleRecord:
        return _decode(cls, data)


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
    import is in progress). `callers` are the module bodies (or class statements) that called
    it, heaviest first; `callees` are where its time went; `chain` runs from it down to the
    leaf that burns the time (`inspect.stack` under `get_logger`), each link with its share.
    `imports_us` is the part of `cumulative_us` spent in imports the function made itself;
    `overhead_us` the call profiler's own cost for the `events` calls made under it (measured
    per call event in the profiled process), which the function does not cost unprofiled.
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
    overhead_us: float = 0.0
    events: int = 0
    chain: list[CallLink] = field(default_factory=list)
    #: The call's time sampled in the memory run, with no profiler (None: not sampled), and
    #: how many samples found it.
    sampled_us: float | None = None
    samples: int = 0

    @property
    def own_us(self) -> float:
        """What removing the call saves: its sampled time, else its cumulative time without
        the imports it made itself and without the call profiler's own overhead."""
        if self.sampled_us is not None:
            return self.sampled_us
        return self.cumulative_us - self.imports_us - self.overhead_us

    @property
    def leaf(self) -> str:
        """The function that burns the time: the end of `chain`, or the call itself."""
        return self.chain[-1].function if self.chain else self.function

    @classmethod
    def from_dict(cls, data: Any) -> HotCall:
        return _decode(cls, data)


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
    #: Total import time of the profiling run that measured `hot_calls`, without the call
    #: profiler's own overhead (hot calls are read as shares of this).
    profiling_import_us: float | None = None
    #: The call profiler's cost per call event in the profiling run, in ns: [Python function,
    #: builtin] (None: not measured, and hot calls include the profiler's overhead).
    call_event_ns: list[float] | None = None
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

    def estimate_us(self, call: HotCall, import_us: float | None = None) -> float | None:
        """What removing a hot call saves: its sampled time, else its own time scaled from the
        profiling run to the timed runs. `import_us`: this process's `import_us`, when the
        caller has it (it sums every module: computed per call, a loop over many hot calls
        is quadratic)."""
        if call.sampled_us is not None:
            return call.sampled_us
        if not self.profiling_import_us:
            return None
        total = self.import_us if import_us is None else import_us
        return call.own_us / self.profiling_import_us * total

    @classmethod
    def from_dict(cls, data: Any) -> ProcessProfile:
        process = _decode(cls, data)
        process.check("")
        return process

    def check(self, path: str) -> None:
        """`SchemaError` unless the modules form a tree: unique names, no importer cycle."""
        index_of: dict[str, int] = {}
        for index, record in enumerate(self.modules):
            if index_of.setdefault(record.name, index) != index:
                raise SchemaError(f"{path}modules[{index}].name: module {record.name!r} is "
                                  f"listed twice (also at modules[{index_of[record.name]}])")
        importer = {m.name: m.importer for m in self.modules if m.importer in index_of}
        settled: set[str] = set()
        for start in importer:
            walked: set[str] = set()  # a set: a chain listed deepest first is long
            name: str | None = start
            while name is not None and name not in settled:  # iterative: trees can be deep
                if name in walked:
                    raise SchemaError(f"{path}modules[{index_of[name]}].importer: modules "
                                      f"import each other in a cycle through {name!r}")
                walked.add(name)
                name = importer.get(name)
            settled.update(walked)


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
        """The profile `data` (parsed JSON) describes; `SchemaError` naming the first wrong
        value by its JSON path (`processes[0].modules[3].self_us.median: ...`)."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(f"expected a {SCHEMA} document, found {_short(found)}")
        profile = _decode(cls, data)
        for index, process in enumerate(profile.processes):
            process.check(f"processes[{index}].")
        return profile

    @classmethod
    def from_json(cls, text: str) -> Profile:
        """Parse and check a profile document. Syntax errors raise `json.JSONDecodeError`,
        everything else `SchemaError`."""
        return cls.from_dict(_load_json(text, "profile"))


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


# -- reading untrusted JSON ------------------------------------------------------------------
# Profiles are files anyone can hand to `show` or `diff`: every value is checked against its
# field's type hint, and the first wrong one is named by its JSON path. One reader function is
# built per type, once; the walk follows the model's types, not the data, so its depth is fixed
# however deeply the file nests.

#: Largest number a profile holds: 1e18 us is 30,000 years and 1e18 bytes an exabyte. Larger
#: values are not measurements, and would overflow when rendered.
_MAX_NUMBER = 1e18
_READERS: dict[Any, Callable[[Any], Any]] = {}


class _LongInteger:
    """An integer literal too long to be a profile value, kept unconverted: `int()` refuses
    more than 4,300 digits, and converting long ones costs quadratic time."""

    def __init__(self, digits: int) -> None:
        self.digits = digits


def _load_json(text: str, what: str) -> Any:
    """`text` parsed as untrusted JSON (a hotstart `what`): long integer literals kept
    unconverted (`_parse_int`); syntax errors raise `json.JSONDecodeError`, nesting deeper than
    Python's reader allows `SchemaError`."""
    import json

    try:
        return json.loads(text, parse_int=_parse_int)
    except RecursionError:
        raise SchemaError(f"JSON nested deeper than any {what} (and than Python's JSON "
                          f"reader allows)") from None


def _parse_int(text: str) -> int | _LongInteger:
    return int(text) if len(text) <= 24 else _LongInteger(len(text.lstrip("-")))


class _Wrong(Exception):
    """A value that does not fit; `path` is filled in, innermost part first, on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message, self.path = message, []

    def error(self) -> SchemaError:
        where = "".join(reversed(self.path)).lstrip(".") or "the document"
        return SchemaError(f"{where}: {self.message}")


def _decode(hint: Any, value: Any) -> Any:
    """`value` read as `hint`; `SchemaError` naming the first wrong value by its JSON path."""
    try:
        return _reader(hint)(value)
    except _Wrong as wrong:
        raise wrong.error() from None


def _reader(hint: Any) -> Callable[[Any], Any]:
    reader = _READERS.get(hint)
    if reader is None:
        reader = _READERS[hint] = _make_reader(hint)
    return reader


def _make_reader(hint: Any) -> Callable[[Any], Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is types.UnionType or origin is typing.Union:
        options = [arg for arg in args if arg is not type(None)]
        inner = _reader(options[0])
        if len(options) == len(args):
            return inner
        return lambda value: None if value is None else inner(value)
    if origin is list:
        item = _reader(args[0])

        def read_list(value: Any) -> list[Any]:
            if not isinstance(value, list):
                raise _Wrong(f"expected a list, found {_short(value)}")
            out = []
            for index, element in enumerate(value):
                try:
                    out.append(item(element))
                except _Wrong as wrong:
                    wrong.path.append(f"[{index}]")
                    raise
            return out
        return read_list
    if origin is dict:
        key, item = _reader(args[0]), _reader(args[1])

        def read_dict(value: Any) -> dict[Any, Any]:
            if not isinstance(value, dict):
                raise _Wrong(f"expected an object, found {_short(value)}")
            out = {}
            for name, element in value.items():
                try:
                    out[key(name)] = item(element)
                except _Wrong as wrong:
                    wrong.path.append(f"[{name!r}]")
                    raise
            return out
        return read_dict
    if hint is str or hint is bool:
        expected = "a string" if hint is str else "true or false"

        def read_exact(value: Any) -> Any:
            if type(value) is not hint:
                raise _Wrong(f"expected {expected}, found {_short(value)}")
            return value
        return read_exact
    if hint is int or hint is float:
        kinds = (int,) if hint is int else (int, float)
        expected = "an integer" if hint is int else "a number"

        def read_number(value: Any) -> Any:
            if type(value) not in kinds:  # not bool, not a _LongInteger
                raise _Wrong(f"expected {expected}, found {_short(value)}")
            if not -_MAX_NUMBER <= value <= _MAX_NUMBER:  # NaN fails too
                raise _Wrong(f"expected {expected} between -{_MAX_NUMBER:g} and "
                             f"{_MAX_NUMBER:g}, found {_short(value)}")
            return value
        return read_number
    if is_dataclass(hint):
        return _object_reader(hint)
    return lambda value: value  # Any, and types the model may add: taken as they are


def _object_reader(cls: Any) -> Callable[[Any], Any]:
    """Read an instance of dataclass `cls`. Unknown keys are ignored (newer writers may add
    fields); a missing field takes its default, else `None` if it may be null, else `[]` if
    it is a list, else it is an error."""
    hints = typing.get_type_hints(cls)
    specs = []
    for spec in fields(cls):
        hint = hints[spec.name]
        missing: Any = _REQUIRED
        if spec.default is not MISSING or spec.default_factory is not MISSING:
            missing = _DEFAULT
        elif type(None) in typing.get_args(hint):
            missing = None
        elif typing.get_origin(hint) is list:
            missing = list
        specs.append((spec.name, hint, missing))
    readers: list[tuple[str, Callable[[Any], Any], Any]] = []

    def read_object(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Wrong(f"expected an object, found {_short(data)}")
        if not readers:  # built on first use: the model's types refer to each other
            readers.extend((name, _reader(hint), missing) for name, hint, missing in specs)
        values = {}
        for name, read, missing in readers:
            if name in data:
                try:
                    values[name] = read(data[name])
                except _Wrong as wrong:
                    wrong.path.append(f".{name}")
                    raise
            elif missing is _REQUIRED:
                wrong = _Wrong("missing")
                wrong.path.append(f".{name}")
                raise wrong
            elif missing is not _DEFAULT:
                values[name] = None if missing is None else []
        return cls(**values)
    return read_object


_REQUIRED, _DEFAULT = object(), object()


def _short(value: Any) -> str:
    """`value` described in a few words, safe to print (control characters escaped)."""
    if isinstance(value, _LongInteger):
        return f"an integer of {value.digits} digits"
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, (dict, list)):
        count = f"{len(value)} item{'s' if len(value) != 1 else ''}"
        return f"{'an object' if isinstance(value, dict) else 'a list'} of {count}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _known(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The keys of `data` that are fields of `cls` (newer writers may add fields)."""
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in names}
