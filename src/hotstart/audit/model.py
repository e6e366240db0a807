"""The audit's data model: every import site of a project, classified, with what it costs.

An `AuditReport` is what `hotstart audit` found in one project: its `ImportSite`s (each with
the names it binds, where each name is used, its class and the reason), the static
`HotSpot`s (expensive calls made at import), the side effects of the modules it imports, and
per entrypoint what the entrypoint reaches at module level (`Reach`) and, when measured, what
each site would save (`Saving`). Renderers (`hotstart.render.audit*`) and the codemods
(`hotstart.fix`) read it; it round-trips through JSON (`to_dict`/`from_dict`).

Units: times in microseconds, memory in bytes, as in the profile model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..measure.model import SchemaError, _decode, _load_json, _short

__all__ = [
    "SCHEMA",
    "CLASSES",
    "USE_CONTEXTS",
    "IMPORT_TIME_CONTEXTS",
    "PINNING_CONTEXTS",
    "Use",
    "BoundName",
    "Saving",
    "TrialEvidence",
    "TrialBound",
    "ImportSite",
    "HotSpot",
    "Link",
    "Reach",
    "Entry",
    "AuditReport",
]

SCHEMA = "hotstart.audit/1"

#: The classes of an import site, in the order reports list them.
CLASSES = ("dead", "side-effect", "deferrable", "typing-only", "needed")

#: Where a bound name can be used. Import-time contexts run when the module is imported;
#: the others run later (function bodies, lambdas) or never (annotations, `__all__`).
USE_CONTEXTS = {
    "module": "a module-level statement",
    "call": "a module-level call",
    "class-base": "a base class or class keyword",
    "class-body": "a class-body statement",
    "decorator": "a decorator",
    "default": "a default argument value",
    "annotation-runtime": "an annotation evaluated at definition time",
    "function": "a function body",
    "lambda": "a lambda at module level",
    "annotation": "an annotation",
    "type-checking": "an `if TYPE_CHECKING:` block",
    "all": "`__all__`",
    "reexport": "an import from another module of the project",
    "test-patch": "a test that patches it",
    "namespace": "the module namespace handed to code (exec, eval, globals()[name])",
    "unmovable": "a function an import cannot move into (compiled, a stub, a setter)",
    "annotation-read": "an annotation a library reads at run time (pydantic, attrs, ...)",
    "rebound": "a name the module rebinds (`global name` in a function, a second binding)",
    "changed": "a name its source module's attribute changes after import (a `global` "
               "rebinding there, `mod.Name = ...` elsewhere)",
}
IMPORT_TIME_CONTEXTS = frozenset({"module", "call", "class-base", "class-body", "decorator",
                                  "default", "annotation-runtime"})
#: Uses that pin an import where it is: import-time ones, and those a move would break.
PINNING_CONTEXTS = IMPORT_TIME_CONTEXTS | {"test-patch", "namespace", "unmovable",
                                           "annotation-read", "rebound", "changed"}


@dataclass(slots=True)
class Use:
    """One use of a bound name. `scope` is the enclosing function's qualified name and
    `scope_line` the line of its `def` (function uses); `file` is set for uses in other files
    (re-exports, tests); `detail` is the pin's wording for the safety rules ("module
    namespace handed to exec() at pkg/a.py:12")."""

    context: str
    line: int
    scope: str | None = None
    scope_line: int | None = None
    file: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class BoundName:
    """A name an import statement binds: `pd` for `import pandas as pd`, `a` for `import a.b`.
    `target` is what it refers to (`pandas`, `pandas.DataFrame`); `explicit_reexport` is the
    `import x as x` / `from m import x as x` form."""

    name: str
    target: str
    uses: list[Use] = field(default_factory=list)
    explicit_reexport: bool = False
    #: The name is a module (`import m`, or `from pkg import submodule` of the project).
    is_module: bool = False


@dataclass(slots=True)
class Saving:
    """What removing one site from the import path saves on one entrypoint (measured).

    `modules` are the modules that would no longer load, heaviest first (at most 10 kept);
    `dropped` is how many there are."""

    entry: str
    us: float
    rss: int
    dropped: int
    modules: list[str] = field(default_factory=list)
    #: When nothing is saved because another module loads the same thing: who.
    also_imported_by: list[str] = field(default_factory=list)
    #: Functions using the name that the entrypoint ran: deferring only delays the import.
    used_at_run: list[str] = field(default_factory=list)


@dataclass(slots=True)
class TrialEvidence:
    """What the lazy trial of one entrypoint saw of a site's module (run-time evidence).

    `status`: "used" (the path used it; `where` is the first use, `file:line in function`
    or "" when the interpreter does not say), "imported" (loaded by another, eager import),
    "untouched" (imported, never used; `where` is the deferred import, `file:line`) or
    "eager" (not deferred: loaded before, or kept eager). `candidate`: the static rules keep
    the site (side-effect or needed) but the path never touched its module. The trial never
    changes a site's class: a candidate is reported, not fixed (`audit._evidence`)."""

    entry: str
    status: str
    where: str = ""
    candidate: bool = False


@dataclass(slots=True)
class TrialBound:
    """An entrypoint's lazy trial: its start-up as it is and with every unused import
    deferred (the bound a perfect cut reaches; measured, and predicted from the profile), in
    milliseconds, and the packages that had to stay eager."""

    before_ms: float | None
    bound_ms: float | None
    predicted_ms: float | None = None
    eager_packages: list[str] = field(default_factory=list)
    #: The project bound (only the project's own imports deferred: what `fix` can reach),
    #: measured and predicted; None when the trial found no module of the project.
    project_bound_ms: float | None = None
    project_predicted_ms: float | None = None


@dataclass(slots=True)
class ImportSite:
    """One module-level import statement (or one of its names, when they differ in class)."""

    file: str                  # path as given to the audit (relative to its root)
    module: str                # the module that contains the statement
    line: int
    end_line: int
    statement: str             # the statement's source, on one line
    imported: str              # absolute name of the module it imports
    names: list[BoundName]
    kind: str = "import"       # "import" or "from"
    level: int = 0             # relative import level
    #: None, "TYPE_CHECKING", "try" (inside try/except ImportError), "if", "lazy" (PEP 810)
    guard: str | None = None
    klass: str = "needed"
    reason: str = ""
    #: For needed sites: what pins the import at module level.
    pins: list[str] = field(default_factory=list)
    #: What `hotstart fix` would do, in words ("" when nothing).
    fix: str = ""
    #: For side-effect sites: what importing the module does.
    effects: list[str] = field(default_factory=list)
    #: For side-effect sites of `from m import name`: every effect is of loading `m` (or its
    #: packages), and the names are attributes `m` binds at its top level, used only in
    #: functions. `fix` may move the names into those functions while the statement's other
    #: names, or a bare load of `m`, keep the load where it was (`fix` does it only where
    #: that lets a lazy re-export leave the path).
    load_only: bool = False
    #: For needed sites pinned by a module-level computation: the rewrite by hand, one per
    #: statement (`audit._pinning`).
    advice: list[str] = field(default_factory=list)
    external: bool = False     # imports a module outside the project
    stdlib: bool = False
    package_init: bool = False  # the statement is in a package `__init__`
    noqa: bool = False         # marked `# noqa` (kept on purpose, e.g. for pickle lookups)
    savings: list[Saving] = field(default_factory=list)
    #: Run-time evidence from the lazy trial of each entry (`audit --trial`).
    trial: list[TrialEvidence] = field(default_factory=list)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}:{'/'.join(n.name for n in self.names)}"

    @property
    def best_saving(self) -> Saving | None:
        return max(self.savings, key=lambda s: (s.us, s.rss), default=None)


@dataclass(slots=True)
class HotSpot:
    """An expensive call made while a module is imported (found in the source).

    `call` is the expensive function (`inspect.stack`), `via` the project functions the
    module-level call goes through (`jobrunner.log.get_logger`), `line` the module-level line.
    `measured_us` is the hot call's own time from a profile, when one was given."""

    file: str
    module: str
    line: int
    call: str
    kind: str
    why: str
    advice: str
    via: list[str] = field(default_factory=list)
    context: str = "module"
    #: Every project function on the way that calls an expensive function itself, as
    #: `function:expensive` (`via` names the chain to the first one only).
    callers_of: list[str] = field(default_factory=list)
    measured_us: float | None = None
    measured_calls: int | None = None
    measured_entry: str | None = None


@dataclass(slots=True)
class Link:
    """One step of a chain: `module` imports the next module at `file:line`."""

    module: str
    file: str | None = None
    line: int | None = None
    note: str = ""


@dataclass(slots=True)
class Reach:
    """An external library an entrypoint imports at module level, and through which chain."""

    library: str
    chain: list[Link]
    us: float | None = None     # measured cumulative time of the library, when profiled
    rss: int | None = None


@dataclass(slots=True)
class Entry:
    """An entrypoint: what starts the process (`-m jobrunner interface`), its static roots,
    what it reaches, and (when measured) its import time and memory."""

    name: str
    roots: list[str]
    reach: list[Reach] = field(default_factory=list)
    first_party: int = 0        # project modules it reaches at module level
    measured: bool = False
    import_us: float | None = None
    peak_rss: int | None = None
    #: What fixing every fixable site together saves (measured), and how many sites that is.
    fix_us: float | None = None
    fix_rss: int | None = None
    fix_sites: int = 0
    profile: str | None = None  # the profile file it came from, if any
    bytecode: str | None = None  # "pyc", "compiled at start", ... (what was measured)
    trial: TrialBound | None = None  # its lazy trial (`audit --trial`), when run


@dataclass(slots=True)
class AuditReport:
    """Everything `hotstart audit` found in one project."""

    root: str
    package: str | None
    files: int
    sites: list[ImportSite]
    hotspots: list[HotSpot] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    #: Side effects of the imported modules that have any: module -> descriptions.
    effects: dict[str, list[str]] = field(default_factory=dict)
    target_version: str = "3.11"
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Each audited file as shown -> its absolute path.
    paths: dict[str, str] = field(default_factory=dict)
    schema: str = SCHEMA

    def by_class(self) -> dict[str, list[ImportSite]]:
        out: dict[str, list[ImportSite]] = {k: [] for k in CLASSES}
        for site in self.sites:
            out.setdefault(site.klass, []).append(site)
        return out

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {"schema": data.pop("schema"), **data}

    @classmethod
    def from_dict(cls, data: Any) -> AuditReport:
        """The report `data` (parsed JSON) describes; `SchemaError` naming the first wrong
        value by its JSON path, as for profiles (reports are files anyone can hand over)."""
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise SchemaError(f"expected a {SCHEMA} document, found {_short(found)}")
        return _decode(cls, data)

    @classmethod
    def from_json(cls, text: str) -> AuditReport:
        """Parse and check a report. Syntax errors raise `json.JSONDecodeError`, everything
        else `SchemaError`."""
        return cls.from_dict(_load_json(text, "audit report"))
