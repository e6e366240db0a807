"""What one trial run of the target left behind, read back: the child's record (see
`_child.py`), normalised for both engines, and the command line of a lazy run.

The hook's record (3.11-3.14) names every deferred module, who used it first and where each
import was deferred. PEP 810's interpreter (3.15+) keeps only ``sys.lazy_modules``: the
modules imported lazily at some point (a set of names in early 3.15 builds, a mapping of
a module to its lazily imported submodules later); one that is in ``sys.modules`` at exit
was used (by whom, the interpreter does not say), one that is not was never touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .model import Use

if TYPE_CHECKING:
    from collections.abc import Collection

__all__ = ["PEP810", "Record", "classify", "lazy_argv", "lazy_env", "module_of_file",
           "parse_record", "read_record"]

#: The first interpreter with PEP 810's machinery.
PEP810 = (3, 15)
#: A record larger than this is not one (a child writes a few hundred kB at most).
_MAX_RECORD = 64 << 20


@dataclass(slots=True)
class Record:
    """One child's record. `modules`: every module loaded at exit (not the trial's own) ->
    its file; `filtered`: module -> (where, importing module) of the first import the trial
    made lazy; `deferred`: modules still deferred at exit -> where; `reified`: modules used
    through a lazy binding -> (file, line, function) of the first user, or None."""

    engine: str
    version: tuple[int, int, int]
    executable: str
    modules: dict[str, str | None]
    path: list[str] = field(default_factory=list)
    filtered: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    deferred: dict[str, str | None] = field(default_factory=dict)
    reified: dict[str, tuple[str, int, str] | None] = field(default_factory=dict)
    #: `pkg.name` of each `from pkg import name` made lazy -> where (finds where a submodule
    #: imported that way was deferred).
    sites: dict[str, str | None] = field(default_factory=dict)
    error: str | None = None
    #: Modules the trial's own code loaded before the target ran (not the target's).
    preloaded: list[str] = field(default_factory=list)


def read_record(path: str) -> Record | None:
    """The record at `path`; None if the child wrote none (it left through ``os._exit``,
    was killed, or never started Python) or wrote something unreadable."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_RECORD + 1)
    except OSError:
        return None
    if len(data) > _MAX_RECORD:
        return None
    try:
        return parse_record(json.loads(data))
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def parse_record(data: Any) -> Record:
    """A record from its JSON value; `ValueError` if it is not one."""
    if not isinstance(data, dict):
        raise TypeError("a trial record is a JSON object")
    version = tuple(int(v) for v in data["version"][:3])
    if len(version) != 3:
        raise ValueError("version: expected [major, minor, micro]")
    modules = {str(k): (v if isinstance(v, str) else None)
               for k, v in dict(data["modules"]).items()}
    record = Record(engine=str(data["engine"]), version=version,  # type: ignore[arg-type]
                    executable=str(data.get("executable") or ""), modules=modules,
                    path=[str(p) for p in data.get("path") or []],
                    error=data.get("error") if isinstance(data.get("error"), str) else None,
                    preloaded=[str(p) for p in data.get("preloaded") or []])
    for name, value in dict(data.get("filtered") or {}).items():
        where, importing = ((list(value) + [None, None])[:2] if isinstance(value, list)
                            else (value, None))
        record.filtered[str(name)] = (_text(where), _text(importing))
    record.deferred = {str(k): _text(v) for k, v in dict(data.get("deferred") or {}).items()}
    record.sites = {str(k): _text(v) for k, v in dict(data.get("sites") or {}).items()}
    for name, user in dict(data.get("reified") or {}).items():
        record.reified[str(name)] = ((str(user[0]), int(user[1]), str(user[2]))
                                     if isinstance(user, list) and len(user) == 3 else None)
    if record.engine == "pep810":
        _from_lazy_modules(record, data.get("lazy_modules"))
    return record


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _from_lazy_modules(record: Record, value: Any) -> None:
    """Fill `deferred`/`reified` from PEP 810's ``sys.lazy_modules`` (see the module doc)."""
    names: set[str] = set()
    if isinstance(value, list):
        names.update(str(name) for name in value)
    elif isinstance(value, dict):
        for parent, subs in value.items():
            names.add(str(parent))
            for sub in subs or ():
                sub = str(sub)
                names.add(sub if sub.startswith(f"{parent}.") else f"{parent}.{sub}")
    elif value is not None:
        raise ValueError("lazy_modules: expected a list or an object")
    for name in sorted(names):
        if name in record.modules:
            record.reified.setdefault(name, None)
        else:
            record.deferred.setdefault(name, None)
        record.filtered.setdefault(name, (None, None))


def lazy_argv(argv: list[str], version: tuple[int, ...], kind: str) -> list[str]:
    """The command line of a lazy run: on PEP 810's interpreters, ``-X lazy_imports=all``
    right after the interpreter (a command gets `lazy_env` instead); unchanged before."""
    if tuple(version[:2]) < PEP810 or kind == "command":
        return list(argv)
    return [argv[0], "-X", "lazy_imports=all", *argv[1:]]


def lazy_env(version: tuple[int, ...], kind: str) -> dict[str, str]:
    """Environment for a lazy run of a command on PEP 810's interpreters: the variable that
    stands for ``-X lazy_imports`` (the child also calls ``sys.set_lazy_imports``)."""
    if tuple(version[:2]) >= PEP810 and kind == "command":
        return {"PYTHON_LAZY_IMPORTS": "all"}
    return {}


def classify(record: Record, eager_modules: Collection[str] = ()
             ) -> tuple[dict[str, Use], dict[str, str | None]]:
    """The modules the trial deferred, split: used on the path (`Use`: who used it first, or
    loaded by another, eager import) and never touched (module -> where it was deferred).
    `eager_modules`: the modules the eager run loaded."""
    # `pkg.sub` of `from pkg import sub` counts when it is a module: one the lazy run loaded,
    # or one the eager run loaded and the lazy one never did (its statement was deferred and
    # never used, though `pkg` itself was: it is a saving the report must show).
    deferred_names = (set(record.filtered) | set(record.deferred) | set(record.reified)
                      | (set(record.sites) & (set(record.modules) | set(eager_modules))))
    used: dict[str, Use] = {}
    unused: dict[str, str | None] = {}
    for name in sorted(deferred_names):
        where = _deferred_at(record, name)
        if name in record.reified:
            user = record.reified[name]
            used[name] = Use(name, *(user or (None, None, None)), deferred_at=where)
        elif name in record.modules:
            used[name] = Use(name, deferred_at=where, how="imported")
        else:
            unused[name] = where
    return used, unused


def _deferred_at(record: Record, name: str) -> str | None:
    # `from pkg import sub` is deferred as `pkg.sub`; the filter saw `pkg`.
    if record.deferred.get(name):
        return record.deferred[name]
    if record.sites.get(name):
        return record.sites[name]
    parent = name
    while parent:
        where = record.filtered.get(parent, (None, None))[0]
        if where:
            return where
        parent = parent.rpartition(".")[0]
    return None


def module_of_file(record: Record, filename: str) -> str | None:
    """The top-level package (or module) a source file belongs to: by the record's module
    files first, else by the longest `sys.path` entry holding it."""
    real = os.path.realpath(filename)
    for name, path in record.modules.items():
        if path and os.path.realpath(path) == real:
            return name.partition(".")[0]
    best = ""
    for entry in record.path:
        base = os.path.realpath(entry or ".")
        if real.startswith(base + os.sep) and len(base) > len(best):
            best = base
    if not best:
        return None
    first = os.path.relpath(real, best).split(os.sep)[0]
    return first.removesuffix(".py")
